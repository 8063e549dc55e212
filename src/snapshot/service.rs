//! Taking snapshots: one at a time, behind the write barrier, recorded in the journal,
//! measured, followed by retention; and the cron schedule with retries.

use super::export::{self, ExportError, Scope};
use super::format::Header;
use super::retention::{self, Candidate, Retention};
use super::store::{self, DataWriter, Manifest, ManifestCounts, Source, StoreError, Timings};
use crate::config::{Config, ConfigError};
use crate::gate::{BarrierTimeout, WriteGate};
use crate::journal::Journal;
use crate::metrics::SnapshotMetrics;
use crate::upstream::{BoltClient, ClientError, Connector, UpstreamHandle};
use boltward_journal::entry::{Entry, Event as JournalEvent};
use boltward_protocol::Map;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

/// The journaled event of a snapshot written (its manifest's summary).
pub const TAKEN_EVENT: &str = "snapshot_taken";

/// The journaled event of a snapshot that failed.
pub const FAILED_EVENT: &str = "snapshot_failed";

/// A snapshot failed.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// No credentials configured (the configuration error says which key to set).
    #[error(transparent)]
    Credentials(Arc<ConfigError>),
    /// The server could not be reached or refused the login.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// Server.
        addr: String,
        /// Cause.
        source: ClientError,
    },
    /// Open write transactions did not finish in time.
    #[error("write barrier: {0}")]
    Barrier(#[from] BarrierTimeout),
    /// Reading the graph failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Writing the files failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No mirror is configured, so none can be read.
    #[error("snapshot of a remote: no remote named {0:?}: no mirror is configured")]
    NoMirrors(String),
    /// A mirror cannot be read (unknown, not mirroring, or not holding still).
    #[error("snapshot of a remote: {0}")]
    Mirror(Box<crate::replicate::ReplicationError>),
    /// The remote holds no boltward marker: it is not a mirror.
    #[error("snapshot of a remote: {0} holds no boltward marker: it is not a mirror (seed it with `boltward replication reseed {0}`)")]
    NotAMirror(String),
    /// The remote's marker cannot be read.
    #[error("snapshot of a remote: reading {name}'s marker: {source}")]
    Marker {
        /// The remote.
        name: String,
        /// Cause.
        source: ClientError,
    },
}

/// What to snapshot.
#[derive(Clone)]
pub struct Target {
    /// The server.
    pub connector: Connector,
    /// The database (None: the server's default).
    pub database: Option<String>,
    /// Hold boltward's writes while reading (the upstream in force); a restore target
    /// nobody writes to needs no barrier.
    pub barrier: bool,
    /// Log in with this account rather than the snapshot account (a mirror).
    pub login: Option<(String, String)>,
    /// A mirror held still: the snapshot's LSN is its marker's, read with the graph.
    pub remote: Option<String>,
}

/// The mirrors snapshots can be read from: the replication service, given to
/// [`Snapshots`] once both exist (it holds the snapshots, so this link is weak).
pub trait Mirrors: Send + Sync {
    /// The primary no longer holds what the journal up to `lsn` built (a point-in-time
    /// or in-place restore went live): every mirror streamed from before it needs a reseed.
    fn diverged(&self, lsn: u64, reason: &str);

    /// Stops applying to mirror `name` until the hold is dropped.
    fn hold<'a>(
        &'a self,
        name: &'a str,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        crate::replicate::remote::Hold,
                        crate::replicate::ReplicationError,
                    >,
                > + Send
                + 'a,
        >,
    >;
}

/// Takes snapshots (control port, schedule, restores' safety snapshots).
pub struct Snapshots {
    config: Arc<Config>,
    /// Read once at start; a missing password fails each snapshot, not the start.
    password: Result<String, Arc<ConfigError>>,
    upstream: UpstreamHandle,
    gate: Arc<WriteGate>,
    journal: Option<Journal>,
    metrics: SnapshotMetrics,
    one_at_a_time: tokio::sync::Mutex<()>,
    /// What mirrors follow: each snapshot's LSN while writes are held, then its outcome.
    events: tokio::sync::broadcast::Sender<SnapshotEvent>,
    /// The mirrors, for `snapshot.source = "remote:NAME"` and bootstraps.
    mirrors: std::sync::OnceLock<std::sync::Weak<dyn Mirrors>>,
}

/// A snapshot's progress, for mirrors that verify themselves against it.
#[derive(Debug, Clone)]
pub enum SnapshotEvent {
    /// Writes are held and the journal is at `lsn`: the snapshot holds exactly the
    /// transactions committed up to it.
    Marked {
        /// Snapshot id.
        id: String,
        /// Journal LSN.
        lsn: u64,
    },
    /// The snapshot was written.
    Taken(Box<Manifest>),
    /// The snapshot failed.
    Failed {
        /// Snapshot id, when it got one.
        id: Option<String>,
    },
}

impl Snapshots {
    /// The service; removes leftovers of snapshots a crash interrupted.
    pub fn new(
        config: Arc<Config>,
        upstream: UpstreamHandle,
        gate: Arc<WriteGate>,
        journal: Option<Journal>,
        metrics: SnapshotMetrics,
    ) -> Self {
        match store::clean_leftovers(&config.snapshot.dir) {
            Ok(l) if !l.is_empty() => {
                warn!(files = ?l, "removed leftovers of an interrupted snapshot")
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "cannot look for snapshot leftovers"),
        }
        let password = config.snapshot.password(&config.health).map_err(Arc::new);
        // The last success survives restarts: it is the newest complete snapshot on disk.
        if let Ok((listed, _)) = store::list(&config.snapshot.dir) {
            if let Some(newest) = listed
                .iter()
                .filter(|l| l.complete && l.manifest.kind != "safety")
                .map(|l| l.manifest.created_unix)
                .max()
            {
                metrics.last_success.set(newest);
            }
        }
        if let Some(s) = schedule_of(&config) {
            metrics.schedule_interval.set(schedule_interval(&s));
        }
        Snapshots {
            config,
            password,
            upstream,
            gate,
            journal,
            metrics,
            one_at_a_time: tokio::sync::Mutex::new(()),
            events: tokio::sync::broadcast::channel(16).0,
            mirrors: std::sync::OnceLock::new(),
        }
    }

    /// The mirrors, when replication is configured and running.
    pub fn mirrors(&self) -> Option<Arc<dyn Mirrors>> {
        self.mirrors.get().and_then(std::sync::Weak::upgrade)
    }

    /// Gives the service the mirrors it can read from.
    pub fn set_mirrors(&self, mirrors: std::sync::Weak<dyn Mirrors>) {
        let _ = self.mirrors.set(mirrors);
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.config.snapshot.dir
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The journal, when enabled.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// The write gate.
    pub fn gate(&self) -> &Arc<WriteGate> {
        &self.gate
    }

    /// The upstream in force.
    pub fn upstream(&self) -> &UpstreamHandle {
        &self.upstream
    }

    /// The metrics.
    pub fn metrics(&self) -> &SnapshotMetrics {
        &self.metrics
    }

    /// Logs in to `connector` with the snapshot account.
    pub async fn connect(&self, connector: &Connector) -> Result<BoltClient, SnapshotError> {
        let password = self.password.clone().map_err(SnapshotError::Credentials)?;
        BoltClient::connect(
            connector,
            &self.config.snapshot.user,
            &password,
            "boltward-snapshot",
        )
        .await
        .map_err(|source| SnapshotError::Connect {
            addr: connector.addr().to_owned(),
            source,
        })
    }

    /// Follows the snapshots taken from now on (see [`SnapshotEvent`]).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SnapshotEvent> {
        self.events.subscribe()
    }

    /// Snapshots what `snapshot.source` names: the upstream in force (writes held while
    /// it reads) or a mirror (its apply held; the primary's writes are not).
    pub async fn create(&self, kind: &str) -> Result<Manifest, SnapshotError> {
        match self.config.snapshot.remote_source() {
            Some(name) => self.create_from_remote(name, kind).await,
            None => self.create_of_primary(kind).await,
        }
    }

    /// Snapshots the upstream in force, holding writes while it reads (seeds, verifies).
    pub async fn create_of_primary(&self, kind: &str) -> Result<Manifest, SnapshotError> {
        let target = Target {
            connector: self.upstream.connector(),
            database: self.config.snapshot.database.clone(),
            barrier: true,
            login: None,
            remote: None,
        };
        self.take(&target, kind).await
    }

    /// Snapshots mirror `name`: its apply stops between transactions, the graph and its
    /// marker are read, and it applies again. The manifest's LSN is the marker's: the
    /// snapshot holds exactly the primary's transactions committed up to it.
    pub async fn create_from_remote(
        &self,
        name: &str,
        kind: &str,
    ) -> Result<Manifest, SnapshotError> {
        let mirrors = self
            .mirrors
            .get()
            .and_then(std::sync::Weak::upgrade)
            .ok_or_else(|| SnapshotError::NoMirrors(name.to_owned()))?;
        let hold = mirrors
            .hold(name)
            .await
            .map_err(|e| SnapshotError::Mirror(Box::new(e)))?;
        let (user, password) = hold.login();
        let target = Target {
            connector: hold.connector().clone(),
            database: hold.database().map(str::to_owned),
            barrier: false,
            login: Some((user.to_owned(), password.to_owned())),
            remote: Some(hold.name().to_owned()),
        };
        let manifest = self.take(&target, kind).await;
        drop(hold);
        manifest
    }

    /// Snapshots `target`; on success applies retention. One snapshot runs at a time.
    pub async fn take(&self, target: &Target, kind: &str) -> Result<Manifest, SnapshotError> {
        let _one = self.one_at_a_time.lock().await;
        let started = Instant::now();
        let result = self.take_once(target, kind, started).await;
        match &result {
            Ok(m) => {
                let m_ = &self.metrics;
                m_.last_success.set(m.created_unix);
                m_.duration.set(started.elapsed().as_secs_f64());
                m_.size.set(m.data.bytes as i64);
                m_.entities
                    .with_label_values(&["node"])
                    .set(m.counts.nodes as i64);
                m_.entities
                    .with_label_values(&["relationship"])
                    .set(m.counts.relationships as i64);
                m_.taken.with_label_values(&[kind]).inc();
                m_.consecutive_failures.set(0);
                self.journal_outcome(TAKEN_EVENT, taken_details(m));
                info!(
                    id = %m.id,
                    nodes = m.counts.nodes,
                    relationships = m.counts.relationships,
                    bytes = m.data.bytes,
                    write_pause_ms = m.timings.write_pause_ms,
                    duration_ms = m.timings.duration_ms,
                    lsn = ?m.journal_lsn,
                    "snapshot taken"
                );
                let _ = self.events.send(SnapshotEvent::Taken(Box::new(m.clone())));
                if let Err(e) = self.prune() {
                    warn!(error = %e, "retention failed");
                }
            }
            Err(e) => {
                let _ = self.events.send(SnapshotEvent::Failed { id: None });
                self.metrics.failures.inc();
                self.metrics.consecutive_failures.inc();
                let id = format!("failed-{}", crate::journal::now_micros());
                self.journal_outcome(
                    FAILED_EVENT,
                    Map::from([
                        ("id", id),
                        ("kind", kind.to_owned()),
                        ("error", e.to_string()),
                        ("time", crate::recovery::state::now()),
                    ]),
                );
                warn!(error = %e, kind, "snapshot failed");
            }
        }
        result
    }

    async fn take_once(
        &self,
        target: &Target,
        kind: &str,
        started: Instant,
    ) -> Result<Manifest, SnapshotError> {
        let mut client = match &target.login {
            None => self.connect(&target.connector).await?,
            Some((user, password)) => {
                BoltClient::connect(&target.connector, user, password, "boltward-snapshot")
                    .await
                    .map_err(|source| SnapshotError::Connect {
                        addr: target.connector.addr().to_owned(),
                        source,
                    })?
            }
        };
        let scope = Scope {
            database: target.database.clone(),
            batch: self.config.snapshot.batch as i64,
        };
        let dir = self.dir().to_owned();
        let created = time::OffsetDateTime::now_utc();
        let id = store::new_id(&dir, created.unix_timestamp());
        let barrier = if target.barrier {
            Some(
                self.gate
                    .barrier(Duration::from_secs(
                        self.config.snapshot.barrier_timeout_secs,
                    ))
                    .await?,
            )
        } else {
            None
        };
        let journal_lsn = match (&self.journal, target.barrier, &target.remote) {
            (Some(j), true, _) => Some(self.mark(j, &id).await),
            (_, _, Some(name)) => {
                let marker =
                    crate::replicate::marker::read(&mut client, target.database.as_deref())
                        .await
                        .map_err(|source| SnapshotError::Marker {
                            name: name.clone(),
                            source,
                        })?
                        .ok_or_else(|| SnapshotError::NotAMirror(name.clone()))?;
                Some(marker.lsn)
            }
            _ => None,
        };
        if let Some(lsn) = journal_lsn {
            let _ = self.events.send(SnapshotEvent::Marked {
                id: id.clone(),
                lsn,
            });
        }
        let (schema, schema_skipped) = export::read_schema(&mut client, &scope)
            .await
            .map_err(ExportError::from)?;
        let mut writer = DataWriter::create(&dir, &id, Header::of(client.dialect()))?;
        export::read_graph(&mut client, &scope, &schema, |r| writer.add(&r)).await?;
        let write_pause = barrier.map(|b| b.held_for()).unwrap_or_default();
        self.metrics.write_pause.observe(write_pause.as_secs_f64());
        let agent = client.server_agent().to_owned();
        let bolt = client.version().to_string();
        let _ = client.close().await;
        let (data, digest) = writer.finish()?;
        let manifest = Manifest {
            format: super::format::FORMAT_VERSION,
            id,
            kind: kind.to_owned(),
            tool: format!("boltward {}", env!("CARGO_PKG_VERSION")),
            created: created
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            created_unix: created.unix_timestamp(),
            source: Source {
                server: target.connector.addr().to_owned(),
                agent,
                database: target.database.clone(),
                bolt,
                remote: target.remote.clone(),
            },
            journal_lsn,
            counts: ManifestCounts::of(&digest),
            schema,
            schema_skipped,
            data,
            fingerprint: digest.fingerprint.hex(),
            timings: Timings {
                write_pause_ms: write_pause.as_secs_f64() * 1e3,
                duration_ms: started.elapsed().as_secs_f64() * 1e3,
            },
        };
        store::write_manifest(&dir, &manifest)?;
        Ok(manifest)
    }

    /// Journals a snapshot's outcome (the audit sink turns it into `:BackupMetadata`).
    fn journal_outcome(&self, name: &str, details: Map) {
        if let Some(j) = &self.journal {
            j.record(Entry::Event(JournalEvent {
                name: name.into(),
                details,
            }));
        }
    }

    /// Records the snapshot in the journal while writes are held; its LSN is the point
    /// the snapshot's contents correspond to.
    async fn mark(&self, journal: &Journal, id: &str) -> u64 {
        let event = Entry::Event(JournalEvent {
            name: "snapshot".into(),
            details: Map::from([("id", id)]),
        });
        match journal.append(event).await {
            Ok(lsn) => lsn,
            Err(e) => {
                let lsn = journal
                    .status()
                    .lsn
                    .load(std::sync::atomic::Ordering::Acquire);
                warn!(error = %e, lsn, "cannot journal the snapshot mark; using the last LSN");
                lsn
            }
        }
    }

    /// Applies retention to the snapshot directory; returns the ids deleted.
    pub fn prune(&self) -> Result<Vec<String>, StoreError> {
        let s = &self.config.snapshot;
        let rules = Retention {
            keep_days: s.keep_days,
            daily: s.daily,
            weekly: s.weekly,
            monthly: s.monthly,
        };
        let (listed, _) = store::list(self.dir())?;
        let candidates: Vec<Candidate> = listed
            .iter()
            .map(|l| Candidate {
                id: l.manifest.id.clone(),
                created: l.manifest.created_unix,
                valid: l.complete,
            })
            .collect();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let doomed = retention::select(&candidates, &rules, now);
        for id in &doomed {
            store::delete(self.dir(), id)?;
            self.metrics.pruned.inc();
            info!(id, "snapshot deleted by retention");
        }
        Ok(doomed)
    }

    /// Runs the cron schedule until the process ends. A failed run is retried with
    /// exponential backoff (`retries`, `retry_backoff_secs`); the next run is planned after
    /// the last attempt.
    pub async fn run_schedule(self: Arc<Self>, schedule: cron::Schedule) {
        let s = &self.config.snapshot;
        info!(schedule = %s.schedule, "snapshot schedule active");
        loop {
            let Some(next) = schedule.upcoming(chrono::Utc).next() else {
                warn!("snapshot schedule has no future run; stopping it");
                return;
            };
            let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            let mut backoff = Duration::from_secs(s.retry_backoff_secs);
            for attempt in 0..=s.retries {
                if self.create("scheduled").await.is_ok() {
                    break;
                }
                if attempt == s.retries {
                    warn!(
                        attempts = attempt + 1,
                        "scheduled snapshot failed; giving up until the next run"
                    );
                    break;
                }
                warn!(retry_in = ?backoff, "scheduled snapshot failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
    }
}

/// The schedule in `[snapshot]`, if any (validated by `Config::validate`).
pub fn schedule_of(config: &Config) -> Option<cron::Schedule> {
    let s = config.snapshot.schedule.trim();
    (!s.is_empty()).then(|| s.parse().ok()).flatten()
}

/// What a `snapshot_taken` event records: the manifest's summary.
fn taken_details(m: &Manifest) -> Map {
    let mut d = Map::new();
    d.insert("id", m.id.as_str());
    d.insert("kind", m.kind.as_str());
    d.insert("time", m.created.as_str());
    if let Some(lsn) = m.journal_lsn {
        d.insert("lsn", lsn as i64);
    }
    d.insert("nodes", m.counts.nodes as i64);
    d.insert("relationships", m.counts.relationships as i64);
    d.insert("bytes", m.data.bytes as i64);
    d.insert("checksum", m.data.sha256.as_str());
    d.insert("fingerprint", m.fingerprint.as_str());
    d.insert(
        "source",
        m.source
            .remote
            .as_ref()
            .map_or_else(|| "primary".to_owned(), |r| format!("remote:{r}")),
    );
    d.insert("write_pause_ms", m.timings.write_pause_ms);
    d
}

/// The seconds between two runs of `schedule` (0 when it has fewer than two).
pub fn schedule_interval(schedule: &cron::Schedule) -> i64 {
    let mut next = schedule.upcoming(chrono::Utc);
    match (next.next(), next.next()) {
        (Some(a), Some(b)) => (b - a).num_seconds(),
        _ => 0,
    }
}
