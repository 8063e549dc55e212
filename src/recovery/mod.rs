//! Restores, their validation and promotion, driven by the persisted state machine in
//! [`state`].
//!
//! A restore loads a snapshot into a target server (which must be empty, or is emptied
//! after a safety snapshot with `force`), then validates it: counts per label and type and
//! the graph fingerprint must equal the manifest's, and the health probes must pass on the
//! target. Promotion switches boltward's upstream to the target with writes held, so no
//! write lands on the old server afterwards. An in-place restore (the target is the
//! upstream in force) holds writes for the whole operation and rolls back to the safety
//! snapshot when anything fails.

mod error;
pub mod pitr;
pub mod state;

pub use error::{RecoveryError, StepError};

use crate::config::{AddrError, Config};
use crate::health::Prober;
use crate::snapshot::export::{self, Scope};
use crate::snapshot::fingerprint::GraphDigest;
use crate::snapshot::import::{self, Load, Stop};
use crate::snapshot::service::{Snapshots, Target};
use crate::snapshot::store::{self, Manifest, ManifestCounts};
use crate::upstream::{BoltClient, Connector, UpstreamHandle};
use boltward_journal::entry::{Entry, Event};
use boltward_protocol::Map;
use serde::{Deserialize, Serialize};
use state::{Action, Phase, Refused, State, StateFileError, Validation};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{info, warn};

/// `restore start` (`POST /v1/restores`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartRequest {
    /// Snapshot id (with `until`: optional, the newest at or before the target by default).
    #[serde(default)]
    pub snapshot: Option<String>,
    /// Point in time: replay the journal after the snapshot up to here (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<pitr::Until>,
    /// Bootstrap from this mirror: read it with its apply held, load it, replay the local
    /// journal after its marker (no snapshot is named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_remote: Option<String>,
    /// Target: `bolt://host:port`, `neo4j://host:port` or `host:port`.
    pub target: String,
    /// Target database (default: the target's default).
    #[serde(default)]
    pub database: Option<String>,
    /// Replace a non-empty target after taking a safety snapshot of it.
    #[serde(default)]
    pub force: bool,
}

struct Running {
    cancel: Arc<AtomicBool>,
}

/// The recovery manager.
pub struct Recovery {
    config: Arc<Config>,
    /// The upstream in force (promotion switches it).
    upstream: UpstreamHandle,
    /// Held shut while a restore in place reads the graph back.
    gate: Arc<crate::gate::WriteGate>,
    journal: Option<crate::journal::Journal>,
    metrics: crate::metrics::SnapshotMetrics,
    /// The snapshots restored from (their files and credentials).
    snapshots: Arc<Snapshots>,
    path: PathBuf,
    state: Mutex<State>,
    running: Mutex<Option<Running>>,
}

/// What restores work with, given by the app (not looked up through another service).
pub struct Services {
    /// The effective configuration.
    pub config: Arc<Config>,
    /// The upstream in force.
    pub upstream: UpstreamHandle,
    /// The write gate.
    pub gate: Arc<crate::gate::WriteGate>,
    /// The journal, when enabled.
    pub journal: Option<crate::journal::Journal>,
    /// Restore and snapshot gauges.
    pub metrics: crate::metrics::SnapshotMetrics,
    /// The snapshots restored from.
    pub snapshots: Arc<Snapshots>,
}

/// `bolt://host:port` → `host:port`.
pub fn target_addr(target: &str) -> Result<String, AddrError> {
    let addr = [
        "bolt://",
        "neo4j://",
        "bolt+s://",
        "neo4j+s://",
        "bolt+ssc://",
    ]
    .iter()
    .find_map(|p| target.strip_prefix(p))
    .unwrap_or(target)
    .trim_end_matches('/');
    crate::config::host_port(addr)?;
    Ok(addr.to_owned())
}

/// The persisted promoted upstream, if a promotion happened (read before the proxy binds).
pub fn promoted_upstream(config: &Config) -> Result<Option<String>, StateFileError> {
    Ok(State::load(&config.restore.state_file)?.promoted_upstream)
}

impl Recovery {
    /// Loads the persisted state; a restore that was running when boltward stopped is
    /// marked FAILED.
    pub fn open(services: Services) -> Result<Arc<Recovery>, RecoveryError> {
        let path = services.config.restore.state_file.clone();
        let mut state = State::load(&path)?;
        if matches!(state.state, Phase::Recovering | Phase::Validating) {
            let at = format!(
                "interrupted by a restart while {} at {:.0}%",
                state.state.name(),
                state.progress
            );
            warn!("{at}: the restore is marked FAILED; run restore cancel, then start it again");
            state.apply(Action::Interrupted)?;
            state.errors.push(at.clone());
            state.message = at;
            state.save(&path)?;
        }
        services.metrics.restore_state.set(state.state.gauge());
        Ok(Arc::new(Recovery {
            config: services.config,
            upstream: services.upstream,
            gate: services.gate,
            journal: services.journal,
            metrics: services.metrics,
            snapshots: services.snapshots,
            path,
            state: Mutex::new(state),
            running: Mutex::new(None),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state now.
    pub fn status(&self) -> State {
        self.lock().clone()
    }

    /// Changes the state under the lock and persists it.
    fn update(
        &self,
        f: impl FnOnce(&mut State) -> Result<(), Refused>,
    ) -> Result<State, RecoveryError> {
        let mut s = self.lock();
        let mut next = s.clone();
        f(&mut next)?;
        next.save(&self.path)?;
        self.metrics.restore_state.set(next.state.gauge());
        self.metrics.restore_progress.set(next.progress / 100.0);
        *s = next.clone();
        Ok(next)
    }

    fn connector(&self, addr: &str) -> Result<Connector, RecoveryError> {
        let config = &*self.config;
        let mut up = config.upstream.clone();
        up.addr = addr.to_owned();
        let tls = if up.tls.enabled {
            Some(
                crate::tls::client_config(&up.tls)
                    .map_err(|e| RecoveryError::Target(e.to_string()))?,
            )
        } else {
            None
        };
        Connector::new(&up, tls).map_err(|e| RecoveryError::Target(e.to_string()))
    }

    /// Starts a restore; returns once it is running (follow it with [`Recovery::status`]).
    pub async fn start(self: &Arc<Self>, req: StartRequest) -> Result<State, RecoveryError> {
        state::next(self.lock().state, Action::Start)?;
        let dir = self.snapshots.dir().to_owned();
        let (manifest, plan) = match (&req.until, &req.from_remote) {
            (_, Some(name)) => {
                if req.snapshot.is_some() || req.until.is_some() {
                    return Err(RecoveryError::BadRequest(
                        "a bootstrap reads its snapshot from the mirror and replays the journal to its end: name no snapshot and no --until".into(),
                    ));
                }
                if !self
                    .config
                    .replication
                    .remote
                    .iter()
                    .any(|r| &r.name == name)
                {
                    return Err(RecoveryError::BadRequest(format!(
                        "no remote named {name:?} (see `boltward replication status`)"
                    )));
                }
                // Read when the restore runs, after writes are held for an in-place one.
                (Manifest::default(), None)
            }
            (Some(_), None) => {
                let plan = self.plan(&req).await?;
                let m = store::manifest(&dir, &plan.snapshot)
                    .map_err(|e| RecoveryError::BadRequest(e.to_string()))?;
                (m, Some(plan))
            }
            (None, None) => {
                let id = req.snapshot.as_deref().ok_or_else(|| {
                    RecoveryError::BadRequest(
                        "name a snapshot, or give --until for a point-in-time restore".into(),
                    )
                })?;
                let m = store::manifest(&dir, id)
                    .map_err(|e| RecoveryError::BadRequest(e.to_string()))?;
                (m, None)
            }
        };
        let addr = target_addr(&req.target)?;
        let connector = self.connector(&addr)?;
        let config = &*self.config;
        let in_place = addr == self.upstream.addr() && req.database == config.snapshot.database;
        let mut client = self
            .snapshots
            .connect(&connector)
            .await
            .map_err(|e| RecoveryError::Target(e.to_string()))?;
        let nodes = count_nodes(&mut client, req.database.as_deref())
            .await
            .map_err(|e| RecoveryError::Target(format!("target {addr}: {e}")))?;
        let _ = client.close().await;
        if (nodes > 0 || in_place) && !req.force {
            let what = if in_place {
                "the target is the upstream boltward serves".to_owned()
            } else {
                format!("the target database holds {nodes} nodes")
            };
            return Err(RecoveryError::Target(format!(
                "{what}; a restore goes into an empty database. Pass --force to take a safety snapshot of the target and replace its contents"
            )));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let started = self.update(|s| {
            s.apply(Action::Start)?;
            s.progress = 0.0;
            s.errors.clear();
            s.message = match (&plan, &req.from_remote) {
                (_, Some(name)) => format!(
                    "bootstrapping {addr} from mirror {name}: reading it with its apply held"
                ),
                (Some(p), None) => format!(
                    "restoring snapshot {} into {addr}, then replaying {} transaction(s) up to {}",
                    manifest.id, p.transactions, p.until
                ),
                (None, None) => format!("restoring snapshot {} into {addr}", manifest.id),
            };
            let mut restore = state::Restore {
                target: addr.clone(),
                database: req.database.clone(),
                in_place,
                forced: nodes > 0 || in_place,
                started: state::now(),
                remote: req.from_remote.clone(),
                ..Default::default()
            };
            restore.set_source(&manifest, plan.as_ref());
            s.restore = Some(restore);
            Ok(())
        })?;
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(Running {
            cancel: cancel.clone(),
        });
        info!(snapshot = %manifest.id, target = %addr, in_place, "restore started");
        let me = self.clone();
        let job = Job {
            manifest,
            connector,
            database: req.database,
            wipe: nodes > 0 || in_place,
            in_place,
            cancel,
            plan,
            remote: req.from_remote,
        };
        tokio::spawn(async move { me.run(job).await });
        Ok(started)
    }

    async fn run(self: Arc<Self>, mut job: Job) {
        // In place: no client write may land while the graph is replaced.
        let barrier = if job.in_place {
            let limit = Duration::from_secs(self.config.snapshot.barrier_timeout_secs);
            match self.gate.barrier(limit).await {
                Ok(b) => Some(b),
                Err(e) => {
                    self.finish(&job, Err(vec![format!("write barrier: {e}")]));
                    return;
                }
            }
        } else {
            None
        };
        if let Some(name) = job.remote.clone() {
            if let Err(e) = self.read_mirror(&name, &mut job).await {
                self.finish(&job, Err(vec![e.to_string()]));
                return;
            }
        }
        let result = self.restore(&job).await;
        let result = match result {
            Ok(validation) => Ok(validation),
            Err(mut errors) => {
                let safety = self
                    .lock()
                    .restore
                    .as_ref()
                    .and_then(|r| r.safety_snapshot.clone())
                    .filter(|_| job.in_place);
                if let Some(safety) = safety {
                    match self.roll_back(&job, &safety).await {
                        Ok(()) => errors.push(format!(
                            "rolled back: the upstream holds safety snapshot {safety} again (fingerprint verified)"
                        )),
                        Err(e) => errors.push(format!(
                            "ROLLBACK FAILED: restoring safety snapshot {safety}: {e}; restore it by hand"
                        )),
                    }
                }
                Err(errors)
            }
        };
        self.finish(&job, result);
        drop(barrier);
    }

    /// A bootstrap: snapshots mirror `name` (its apply held) and plans the replay of the
    /// local journal after its marker, up to the journal's end.
    async fn read_mirror(&self, name: &str, job: &mut Job) -> Result<(), StepError> {
        let manifest = self
            .snapshots
            .create_from_remote(name, "bootstrap")
            .await
            .map_err(|source| StepError::Mirror {
                name: name.to_owned(),
                source,
            })?;
        let marker = manifest.journal_lsn.unwrap_or(0);
        let journal_lsn = self
            .journal
            .as_ref()
            .map(|j| j.status().lsn.load(Ordering::Acquire));
        let plan = match journal_lsn {
            Some(end) if end >= marker => Some(
                self.plan_for(Some(manifest.id.clone()), pitr::Until::Lsn(end))
                    .await?,
            ),
            _ => {
                warn!(remote = name, marker, journal_lsn = ?journal_lsn, "bootstrap: the local journal does not reach the mirror's marker; nothing is replayed after it");
                None
            }
        };
        info!(remote = name, snapshot = %manifest.id, marker, replay = plan.as_ref().map_or(0, |p| p.transactions), "bootstrap: mirror read");
        let _ = self.update(|s| {
            if let Some(r) = s.restore.as_mut() {
                r.set_source(&manifest, plan.as_ref());
            }
            s.message = format!(
                "bootstrapping from mirror {name}: loading its snapshot {} (LSN {marker}), then replaying {} journaled transaction(s) after it",
                manifest.id,
                plan.as_ref().map_or(0, |p| p.transactions)
            );
            Ok(())
        });
        job.manifest = manifest;
        job.plan = plan;
        Ok(())
    }

    /// Loads and validates; the errors say what failed.
    async fn restore(&self, job: &Job) -> Result<Validation, Vec<String>> {
        let one = |e: String| vec![e];
        let config = &*self.config;
        if job.wipe {
            let target = Target {
                connector: job.connector.clone(),
                database: job.database.clone(),
                barrier: false,
                login: None,
                remote: None,
            };
            let safety = self
                .snapshots
                .take(&target, "safety")
                .await
                .map_err(|e| one(format!("safety snapshot of the target: {e}")))?;
            let _ = self.update(|s| {
                if let Some(r) = s.restore.as_mut() {
                    r.safety_snapshot = Some(safety.id.clone());
                }
                s.message = format!("safety snapshot {} taken; emptying the target", safety.id);
                Ok(())
            });
        }
        let mut client = self
            .snapshots
            .connect(&job.connector)
            .await
            .map_err(|e| one(e.to_string()))?;
        let how = Load {
            database: job.database.clone(),
            batch: config.snapshot.batch,
        };
        if job.wipe {
            import::wipe(&mut client, &how)
                .await
                .map_err(|e| one(format!("emptying the target: {e}")))?;
        }
        self.load_into(&mut client, &job.manifest, &how, Some(&job.cancel))
            .await
            .map_err(|e| one(e.to_string()))?;
        // A point-in-time restore checks the snapshot as loaded, then replays the journal
        // after it, checking each transaction's update counters.
        let loaded = match &job.plan {
            Some(plan) => {
                let loaded = self
                    .compare(&mut client, job)
                    .await
                    .map_err(|e| one(format!("validation of the loaded snapshot: {e}")))?;
                if !loaded.failures.is_empty() {
                    return Err(loaded.failures);
                }
                let replayed = self
                    .replay(&mut client, job, plan)
                    .await
                    .map_err(|e| one(e.to_string()))?;
                Some((loaded, replayed))
            }
            None => None,
        };
        self.update(|s| {
            s.apply(Action::Validate)?;
            s.message = match loaded {
                Some(_) => "validating: health probes, fingerprint after the replay".into(),
                None => "validating: counts, fingerprint, health probes".into(),
            };
            Ok(())
        })
        .map_err(|e| one(e.to_string()))?;
        let validation = match loaded {
            Some((loaded, replayed)) => {
                self.validate_replayed(&mut client, job, loaded, replayed)
                    .await
            }
            None => self.validate(&mut client, job).await,
        }
        .map_err(|e| one(format!("validation: {e}")))?;
        let _ = client.close().await;
        if job.cancel.load(Ordering::Acquire) {
            return Err(one("cancelled by the operator".into()));
        }
        if validation.failures.is_empty() {
            Ok(validation)
        } else {
            let _ = self.update(|s| {
                if let Some(r) = s.restore.as_mut() {
                    r.validation = Some(validation.clone());
                }
                Ok(())
            });
            Err(validation.failures)
        }
    }

    async fn load_into(
        &self,
        client: &mut BoltClient,
        manifest: &Manifest,
        how: &Load,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), StepError> {
        let dir = self.snapshots.dir().to_owned();
        let m = manifest.clone();
        tokio::task::spawn_blocking(move || store::checksum_matches(&dir, &m))
            .await?
            .map_err(|source| StepError::Snapshot {
                id: manifest.id.clone(),
                source,
            })?;
        let mut reader = store::open_data(self.snapshots.dir(), manifest)?;
        let total = (manifest.counts.nodes + manifest.counts.relationships).max(1);
        let mut saved = 0.0;
        import::load(client, &mut reader, how, |done| {
            if cancel.is_some_and(|c| c.load(Ordering::Acquire)) {
                return Err(Stop::Cancelled);
            }
            if cancel.is_some() {
                let pct = done as f64 * 100.0 / total as f64;
                let persist = pct - saved >= 1.0 || done >= total;
                let mut s = self.lock();
                s.progress = pct;
                if let Some(r) = s.restore.as_mut() {
                    r.loaded = done;
                }
                self.metrics.restore_progress.set(pct / 100.0);
                if persist {
                    saved = pct;
                    let _ = s.save(&self.path);
                }
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Reads the target back and compares it with the manifest; probes its health.
    async fn validate(&self, client: &mut BoltClient, job: &Job) -> Result<Validation, StepError> {
        let mut v = self.compare(client, job).await?;
        let report = self.probe(job).await;
        if !report.healthy() {
            v.failures.push(probe_failure(&report));
        }
        v.health = report.status;
        Ok(v)
    }

    /// After a replay: the target's fingerprint now, and its health probes.
    async fn validate_replayed(
        &self,
        client: &mut BoltClient,
        job: &Job,
        loaded: Validation,
        replayed: state::Replayed,
    ) -> Result<Validation, StepError> {
        let digest = digest_of(client, &self.scope(job)).await?;
        let report = self.probe(job).await;
        let mut failures = Vec::new();
        if !report.healthy() {
            failures.push(probe_failure(&report));
        }
        Ok(Validation {
            failures,
            health: report.status,
            fingerprint: digest.fingerprint.hex(),
            nodes: digest.fingerprint.nodes(),
            relationships: digest.fingerprint.relationships(),
            replay: Some(state::ReplayCheck {
                loaded_fingerprint: loaded.fingerprint,
                ..replayed.check()
            }),
            ..loaded
        })
    }

    fn scope(&self, job: &Job) -> Scope {
        Scope {
            database: job.database.clone(),
            batch: self.config.snapshot.batch as i64,
        }
    }

    /// The health probes on the target.
    async fn probe(&self, job: &Job) -> crate::health::Report {
        let config = &*self.config;
        let mut health_cfg = config.health.clone();
        health_cfg.database = job.database.clone();
        let password = config.snapshot.password(&config.health).ok();
        let prober = Prober::with_login(
            UpstreamHandle::new(job.connector.clone()),
            &health_cfg,
            &config.snapshot.user,
            password,
        );
        prober.run(false).await
    }

    /// Reads the target back and compares its counts and fingerprint with the manifest's
    /// (health not probed yet).
    async fn compare(&self, client: &mut BoltClient, job: &Job) -> Result<Validation, StepError> {
        let digest = digest_of(client, &self.scope(job)).await?;
        let mut failures = Vec::new();
        let actual = ManifestCounts::of(&digest);
        let expected = &job.manifest.counts;
        if (
            actual.nodes,
            actual.relationships,
            &actual.labels,
            &actual.types,
        ) != (
            expected.nodes,
            expected.relationships,
            &expected.labels,
            &expected.types,
        ) {
            failures.push(format!(
                "counts differ: target has {} nodes, {} relationships (labels {:?}, types {:?}); the snapshot has {} nodes, {} relationships (labels {:?}, types {:?})",
                actual.nodes, actual.relationships, actual.labels, actual.types,
                expected.nodes, expected.relationships, expected.labels, expected.types
            ));
        }
        let fingerprint = digest.fingerprint.hex();
        if fingerprint != job.manifest.fingerprint {
            failures.push(format!(
                "fingerprint differs: target {fingerprint}, snapshot {}",
                job.manifest.fingerprint
            ));
        }
        Ok(Validation {
            counts_equal: failures.iter().all(|f| !f.starts_with("counts")),
            expected_fingerprint: job.manifest.fingerprint.clone(),
            failures,
            fingerprint,
            // The probes run after this comparison and set it.
            health: crate::health::Health::Unhealthy,
            nodes: actual.nodes,
            relationships: actual.relationships,
            replay: None,
        })
    }

    /// Puts the safety snapshot back after a failed in-place restore.
    async fn roll_back(&self, job: &Job, safety: &str) -> Result<(), StepError> {
        let manifest = store::manifest(self.snapshots.dir(), safety)?;
        let mut client = self.snapshots.connect(&job.connector).await?;
        let how = Load {
            database: job.database.clone(),
            batch: self.config.snapshot.batch,
        };
        import::wipe(&mut client, &how).await?;
        self.load_into(&mut client, &manifest, &how, None).await?;
        let scope = Scope {
            database: job.database.clone(),
            batch: how.batch as i64,
        };
        let fp = digest_of(&mut client, &scope).await?.fingerprint.hex();
        if fp != manifest.fingerprint {
            return Err(StepError::RollbackFingerprint {
                actual: fp,
                expected: manifest.fingerprint,
            });
        }
        warn!(
            safety,
            "in-place restore failed; rolled back to the safety snapshot"
        );
        Ok(())
    }

    fn finish(&self, job: &Job, result: Result<Validation, Vec<String>>) {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let cancelled = job.cancel.load(Ordering::Acquire);
        let outcome = self.update(|s| {
            if let Some(r) = s.restore.as_mut() {
                r.finished = Some(state::now());
            }
            match &result {
                Ok(validation) => {
                    if let Some(r) = s.restore.as_mut() {
                        r.validation = Some(validation.clone());
                    }
                    s.apply(Action::Succeed)?;
                    s.progress = 100.0;
                    s.message = match &validation.replay {
                        Some(r) => format!(
                            "validated: snapshot {} loaded with counts and fingerprint equal to its manifest, {} transaction(s) replayed up to LSN {} with the journaled update counters (fingerprint now {}), health probes pass",
                            job.manifest.id, r.transactions, r.end_lsn, validation.fingerprint
                        ),
                        None => format!(
                            "validated: counts and fingerprint {} match, health probes pass",
                            job.manifest.fingerprint
                        ),
                    };
                    if job.in_place {
                        s.apply(Action::Promote)?;
                        s.message.push_str("; in place, so it is live (PROMOTED)");
                    }
                }
                Err(errors) => {
                    s.errors = errors.clone();
                    if cancelled {
                        s.apply(Action::Cancel)?;
                        s.message = "cancelled by the operator".into();
                    } else {
                        s.apply(Action::Fail)?;
                        s.message = errors.first().cloned().unwrap_or_default();
                    }
                }
            }
            Ok(())
        });
        match (&result, outcome) {
            (_, Err(e)) => warn!(error = %e, "cannot record the restore's end"),
            (Ok(_), Ok(s)) => {
                info!(state = s.state.name(), snapshot = %job.manifest.id, "restore validated")
            }
            (Err(errors), Ok(s)) => {
                warn!(state = s.state.name(), ?errors, "restore did not succeed")
            }
        }
        if let (Some(remote), true) = (&job.remote, result.is_ok()) {
            self.journal_event(
                "bootstrap",
                &job.manifest.id,
                format!("remote:{remote}"),
                job.connector.addr().to_owned(),
            );
        }
        if job.in_place && result.is_ok() && job.remote.is_none() {
            let what = match &job.plan {
                Some(p) => format!("an in-place point-in-time restore to {}", p.until),
                None => format!("an in-place restore of snapshot {}", job.manifest.id),
            };
            self.new_generation(&what);
        }
        if job.in_place && result.is_ok() {
            self.journal_event(
                "restore_in_place",
                &job.manifest.id,
                self.upstream.addr(),
                self.upstream.addr(),
            );
        }
    }

    fn journal_event(&self, name: &str, snapshot: &str, from: String, to: String) {
        if let Some(j) = self.journal.as_ref() {
            j.record(Entry::Event(Event {
                name: name.into(),
                details: Map::from([
                    ("snapshot", snapshot.to_owned()),
                    ("from", from),
                    ("to", to),
                ]),
            }));
        }
    }

    /// Cancels a running restore (it stops at the next batch; an in-place one rolls
    /// back), or acknowledges a SUCCEEDED or FAILED one.
    pub fn cancel(&self) -> Result<State, RecoveryError> {
        let phase = self.lock().state;
        state::next(phase, Action::Cancel)?;
        if matches!(phase, Phase::Recovering | Phase::Validating) {
            if let Some(r) = self
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                r.cancel.store(true, Ordering::Release);
                let mut s = self.lock();
                s.message = "cancel requested; stopping after the current batch".into();
                return Ok(s.clone());
            }
        }
        self.update(|s| {
            s.apply(Action::Cancel)?;
            s.message = format!("{} acknowledged and cleared", phase.name());
            Ok(())
        })
    }

    /// Switches boltward's upstream to the validated target: writes are held and drained,
    /// the switch is journaled, new connections go to the target, and connections to the
    /// old upstream finish their work (bounded by `restore.drain_secs`) and close.
    pub async fn promote(&self) -> Result<State, RecoveryError> {
        let s = self.status();
        state::next(s.state, Action::Promote)?;
        let restore = s.restore.clone().unwrap_or_default();
        let config = &*self.config;
        if restore.database != config.snapshot.database {
            return Err(RecoveryError::Target(format!(
                "promotion switches servers, not databases: the restore went into database {:?} but clients use {:?}; restore into that database on the target to promote it",
                restore.database.as_deref().unwrap_or("(default)"),
                config.snapshot.database.as_deref().unwrap_or("(default)")
            )));
        }
        let connector = self.connector(&restore.target)?;
        let limit = Duration::from_secs(config.snapshot.barrier_timeout_secs);
        let barrier = self
            .snapshots
            .gate()
            .barrier(limit)
            .await
            .map_err(|e| RecoveryError::Unavailable(format!("promotion aborted: {e}")))?;
        let from = self.upstream.addr();
        let caught_up = self.catch_up(&restore, &connector).await?;
        if let Some(j) = self.journal.as_ref() {
            j.append(Entry::Event(Event {
                name: "promote".into(),
                details: Map::from([
                    ("snapshot", restore.snapshot.clone()),
                    ("from", from.clone()),
                    ("to", restore.target.clone()),
                    ("replayed", caught_up.to_string()),
                ]),
            }))
            .await
            .map_err(|e| {
                RecoveryError::Unavailable(format!("promotion aborted: cannot journal it: {e}"))
            })?;
        }
        if restore.until.is_some() && restore.remote.is_none() {
            self.new_generation(&format!(
                "the promotion of a point-in-time restore to {}",
                restore
                    .until
                    .as_ref()
                    .map(|u| u.to_string())
                    .unwrap_or_default()
            ));
        }
        let generation = self.upstream.switch(connector);
        let result = self.update(|s| {
            s.apply(Action::Promote)?;
            s.promoted_upstream = Some(restore.target.clone());
            s.message = format!(
                "promoted: new connections go to {} (was {from}); {caught_up} write(s) committed since the snapshot were replayed first; update upstream.addr to match",
                restore.target
            );
            Ok(())
        });
        info!(from = %from, to = %restore.target, generation, held_ms = barrier.held_for().as_millis() as u64, "upstream switched by promotion");
        drop(barrier);
        result
    }
}

impl Recovery {
    /// The primary no longer holds what the journal built: journals it, and every mirror
    /// streamed from before now needs a reseed (a new generation).
    fn new_generation(&self, what: &str) {
        let Some(journal) = self.journal.as_ref() else {
            return;
        };
        let lsn = journal.status().lsn.load(Ordering::Acquire) + 1;
        journal.record(Entry::Event(Event {
            name: "new_generation".into(),
            details: Map::from([("reason", what.to_owned()), ("from_lsn", lsn.to_string())]),
        }));
        if let Some(mirrors) = self.snapshots.mirrors() {
            mirrors.diverged(lsn, what);
        }
        warn!(
            reason = what,
            lsn, "a new generation: mirrors need a reseed"
        );
    }
}

fn probe_failure(report: &crate::health::Report) -> String {
    format!(
        "health probes on the target: {}",
        serde_json::to_string(&report.checks).unwrap_or_default()
    )
}

impl Recovery {
    /// Plans a point-in-time restore (`restore start --until`, `--dry-run`): reads the
    /// snapshot directory and the journal, changes nothing.
    pub async fn plan(&self, req: &StartRequest) -> Result<pitr::Plan, RecoveryError> {
        let Some(until) = req.until.clone() else {
            return Err(RecoveryError::BadRequest(
                "a plan is for a point-in-time restore: give --until".into(),
            ));
        };
        self.plan_for(req.snapshot.clone(), until).await
    }

    /// Plans the replay up to `until` from `snapshot` (or the newest one before it).
    async fn plan_for(
        &self,
        snapshot: Option<String>,
        until: pitr::Until,
    ) -> Result<pitr::Plan, RecoveryError> {
        let Some(journal) = self.journal.as_ref() else {
            return Err(RecoveryError::BadRequest(
                "a point-in-time restore replays the journal, and the journal is disabled".into(),
            ));
        };
        let journal_dir = journal.dir().to_owned();
        let journal_lsn = journal.status().lsn.load(Ordering::Acquire);
        let snapshots_dir = self.snapshots.dir().to_owned();
        let database = self.config.snapshot.database.clone();
        tokio::task::spawn_blocking(move || {
            let (listed, _) = store::list(&snapshots_dir)
                .map_err(|e| RecoveryError::BadRequest(e.to_string()))?;
            let complete: Vec<Manifest> = listed
                .into_iter()
                .filter(|l| l.complete)
                .map(|l| l.manifest)
                .collect();
            let inputs = pitr::Inputs {
                journal: &journal_dir,
                journal_lsn,
                snapshots: &complete,
                snapshot: snapshot.as_deref(),
                database: database.as_deref(),
            };
            pitr::plan(&inputs, &until).map_err(|e| RecoveryError::BadRequest(e.to_string()))
        })
        .await
        .map_err(|e| RecoveryError::Unavailable(e.to_string()))?
    }

    /// Replays the plan's transactions onto the target in commit order; each one's update
    /// counters must equal the journaled ones.
    async fn replay(
        &self,
        client: &mut BoltClient,
        job: &Job,
        plan: &pitr::Plan,
    ) -> Result<state::Replayed, StepError> {
        let Some(journal) = self.journal.as_ref() else {
            return Err(StepError::Replay("the journal is disabled".into()));
        };
        let (tx_send, mut rx) = tokio::sync::mpsc::channel(64);
        let dir = journal.dir().to_owned();
        let (after, end) = (plan.snapshot_lsn, plan.end_lsn);
        let database = self.config.snapshot.database.clone();
        // The journal is read on a blocking thread, a bounded channel ahead of the replay.
        let reader = tokio::task::spawn_blocking(move || {
            let txs = match pitr::replayed(&dir, after, end, database.as_deref()) {
                Ok(t) => t,
                Err(e) => {
                    let _ = tx_send.blocking_send(Err(e));
                    return;
                }
            };
            for tx in txs {
                if tx_send.blocking_send(tx).is_err() {
                    return;
                }
            }
        });
        let started = std::time::Instant::now();
        let mut done = state::Replayed::default();
        let loaded = job.manifest.counts.nodes + job.manifest.counts.relationships;
        let total = (loaded + plan.transactions).max(1);
        while let Some(tx) = rx.recv().await {
            if job.cancel.load(Ordering::Acquire) {
                return Err(StepError::Replay("cancelled by the operator".into()));
            }
            let tx = tx.map_err(|e| StepError::Replay(format!("reading the journal: {e}")))?;
            let counters =
                crate::journal::replay::apply(client, &tx.intent, job.database.as_deref())
                    .await
                    .map_err(|e| StepError::Replay(format!("LSN {}: {e}", tx.lsn)))?;
            let none = Map::new();
            let journaled = pitr::journaled_stats(&tx.result).unwrap_or(&none);
            let differences = crate::journal::replay::differences(journaled, &counters);
            if !differences.is_empty() {
                let statement = crate::journal::replay::runs(&tx.intent)
                    .ok()
                    .and_then(|r| r.into_iter().next())
                    .map(|r| r.query.chars().take(200).collect::<String>())
                    .unwrap_or_default();
                return Err(StepError::Replay(format!(
                    "LSN {}: the target's update counters differ from the journaled ones ({}) for `{statement}`: the replay does not reproduce the primary",
                    tx.lsn,
                    differences.join(", ")
                )));
            }
            done.transactions += 1;
            done.last_lsn = Some(tx.lsn);
            let pct = (loaded + done.transactions) as f64 * 100.0 / total as f64;
            let mut s = self.lock();
            s.progress = pct;
            if let Some(r) = s.restore.as_mut() {
                r.replayed = done.transactions;
            }
            self.metrics.restore_progress.set(pct / 100.0);
            if done.transactions % 100 == 0 {
                let _ = s.save(&self.path);
            }
        }
        reader.await?;
        if done.transactions != plan.transactions {
            return Err(StepError::Replay(format!(
                "replayed {} transaction(s), the plan had {}: the journal changed under the restore",
                done.transactions, plan.transactions
            )));
        }
        info!(
            transactions = done.transactions,
            after_lsn = after,
            end_lsn = end,
            "point-in-time restore: journal replayed"
        );
        done.end_lsn = end;
        done.seconds = started.elapsed().as_secs_f64();
        Ok(done)
    }

    /// With writes held: replays onto the target every write the journal committed after
    /// the snapshot's LSN (when the snapshot was taken of this upstream), so promotion
    /// loses nothing written since. Returns how many writes were replayed.
    async fn catch_up(
        &self,
        restore: &state::Restore,
        target: &Connector,
    ) -> Result<usize, RecoveryError> {
        if restore.until.is_some() && restore.remote.is_none() {
            // A point-in-time restore stops where it was asked to.
            return Ok(0);
        }
        let manifest = store::manifest(self.snapshots.dir(), &restore.snapshot)
            .map_err(|e| RecoveryError::BadRequest(e.to_string()))?;
        // A bootstrap replayed the journal up to `end_lsn` already.
        let after = restore.end_lsn.filter(|_| restore.remote.is_some());
        let (Some(journal), Some(lsn)) = (self.journal.as_ref(), after.or(manifest.journal_lsn))
        else {
            return Ok(0);
        };
        // A snapshot of another server is not a past state of this journal; one read from
        // a mirror is (its LSN is the mirror's marker).
        if manifest.source.server != self.upstream.addr() && manifest.source.remote.is_none() {
            return Ok(0);
        }
        let dir = journal.dir().to_owned();
        let source_db = manifest.source.database.clone();
        let writes = tokio::task::spawn_blocking(move || {
            pitr::replayed(&dir, lsn, u64::MAX, source_db.as_deref())?
                .map(|tx| tx.map(|t| t.intent))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| RecoveryError::Unavailable(e.to_string()))?
        .map_err(|e| {
            RecoveryError::Unavailable(format!("promotion aborted: reading the journal: {e}"))
        })?;
        if writes.is_empty() {
            return Ok(0);
        }
        let fail = |e: String| {
            RecoveryError::Unavailable(format!(
                "promotion aborted while replaying writes made since the snapshot: {e}; the upstream is unchanged"
            ))
        };
        let mut client = self
            .snapshots
            .connect(target)
            .await
            .map_err(|e| fail(e.to_string()))?;
        for intent in &writes {
            crate::journal::replay::apply(&mut client, intent, restore.database.as_deref())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let _ = client.close().await;
        info!(
            writes = writes.len(),
            after_lsn = lsn,
            "replayed writes made since the snapshot onto the promoted target"
        );
        Ok(writes.len())
    }
}

struct Job {
    manifest: Manifest,
    connector: Connector,
    database: Option<String>,
    wipe: bool,
    in_place: bool,
    cancel: Arc<AtomicBool>,
    /// A point-in-time restore: what to replay after the snapshot.
    plan: Option<pitr::Plan>,
    /// A bootstrap: the mirror to read (the manifest and plan are filled in when read).
    remote: Option<String>,
}

async fn count_nodes(client: &mut BoltClient, database: Option<&str>) -> Result<i64, StepError> {
    let mut extra = Map::from([("mode", "r")]);
    if let Some(db) = database {
        extra.insert("db", db);
    }
    client
        .query("MATCH (n) RETURN count(n) AS c", Map::new(), extra)
        .await?
        .first_int()
        .ok_or(StepError::NoCount)
}

/// The digest of a live graph (validation, tests, mirrors).
pub async fn digest_of(client: &mut BoltClient, scope: &Scope) -> Result<GraphDigest, StepError> {
    let mut digest = GraphDigest::default();
    let mut problem = None;
    export::read_graph(client, scope, &[], |r| {
        if let Err(e) = digest.add(&r) {
            problem.get_or_insert(e);
        }
        Ok(())
    })
    .await?;
    match problem {
        Some(p) => Err(p.into()),
        None => Ok(digest),
    }
}
