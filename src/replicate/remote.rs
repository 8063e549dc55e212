//! One remote's task: connect, read the marker, apply what the journal holds after it,
//! wait for more; on any failure back off and start again from the marker (which decides
//! every unknown outcome). Commands (pause, resume, reseed) wake it.

use super::apply::{self, ApplyError};
use super::marker::{self, Marker};
use super::source;
use crate::config::{self, ReplicationMode};
use crate::journal::Journal;
use crate::metrics::ReplicationMetrics;
use crate::snapshot::service::{SnapshotEvent, Snapshots};
use crate::upstream::{BoltClient, Connector};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::{info, warn};

/// Where a remote stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteState {
    /// Connecting and reading the marker.
    Connecting,
    /// Applying, or caught up and waiting for the next commit.
    Streaming,
    /// A failure: retrying with backoff (`last_error` says what failed).
    Retrying,
    /// Paused by an operator; the journal keeps what it needs.
    Paused,
    /// Never streamed into before a reseed: empty, or another database (`reason`).
    NeedsReseed,
    /// Being overwritten with a snapshot of the primary.
    Reseeding,
    /// Stopped until an operator acts (`reason`: a transaction in doubt, a marker ahead
    /// of the journal, a journal entry that does not decode).
    Stopped,
    /// Fell further behind than its retention budget (`replication.max_retained_bytes`,
    /// `max_retained_age_secs`), or the journal no longer holds what it needs: it no
    /// longer holds segments back and needs a reseed.
    Lost,
}

impl RemoteState {
    /// The name in the status (its JSON form).
    pub fn name(self) -> &'static str {
        match self {
            RemoteState::Connecting => "connecting",
            RemoteState::Streaming => "streaming",
            RemoteState::Retrying => "retrying",
            RemoteState::Paused => "paused",
            RemoteState::NeedsReseed => "needs-reseed",
            RemoteState::Reseeding => "reseeding",
            RemoteState::Stopped => "stopped",
            RemoteState::Lost => "lost",
        }
    }

    /// The value of `boltward_replication_state`.
    pub fn gauge(self) -> i64 {
        match self {
            RemoteState::Connecting => 0,
            RemoteState::Streaming => 1,
            RemoteState::Retrying => 2,
            RemoteState::Paused => 3,
            RemoteState::NeedsReseed => 4,
            RemoteState::Reseeding => 5,
            RemoteState::Stopped => 6,
            RemoteState::Lost => 7,
        }
    }
}

/// A remote's status (`GET /v1/replication`, `boltward replication status`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteStatus {
    /// Its name.
    pub name: String,
    /// Its Bolt address.
    pub addr: String,
    /// `async`.
    pub mode: ReplicationMode,
    /// Where it stands.
    pub state: RemoteState,
    /// Why it is stopped or needs a reseed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The outcome LSN of the last transaction applied (its marker).
    pub applied_lsn: u64,
    /// The newest LSN of the journal when it last looked.
    pub journal_lsn: u64,
    /// Committed transactions waiting for it (counted up to one batch; `lag_more` when
    /// there are more).
    pub lag_transactions: u64,
    /// More than `lag_transactions` wait.
    pub lag_more: bool,
    /// Transactions applied since boltward started.
    pub applied_total: u64,
    /// Transactions whose update counters differed on the remote since boltward started.
    pub drift_total: u64,
    /// `mode = "sync"` only: the remote missed `sync_timeout_ms` and COMMITs no longer
    /// wait for it until it has caught up again.
    pub degraded: bool,
    /// The seed it descends from (a snapshot id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// The last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The last comparison with a snapshot of the primary, made at the snapshot's LSN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_verify: Option<Verification>,
}

/// A remote compared with a snapshot of the primary at the snapshot's LSN.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    /// The snapshot.
    pub snapshot: String,
    /// The journal LSN both were at.
    pub lsn: u64,
    /// The fingerprints are equal.
    pub equal: bool,
    /// The primary's fingerprint (the snapshot's).
    pub primary: String,
    /// The remote's fingerprint (its marker excluded).
    pub remote: String,
    /// Nodes and relationships on the remote.
    pub nodes: u64,
    /// Relationships on the remote.
    pub relationships: u64,
}

/// A snapshot the remote stops at to compare itself with.
struct VerifyPoint {
    id: String,
    lsn: u64,
    manifest: Option<Box<crate::snapshot::store::Manifest>>,
}

/// What a remote works with.
pub struct Deps {
    pub(crate) connector: Connector,
    pub(crate) password: String,
    pub(crate) journal: Journal,
    pub(crate) snapshots: Arc<Snapshots>,
    pub(crate) metrics: ReplicationMetrics,
    pub(crate) batch: usize,
    pub(crate) backoff: Duration,
    pub(crate) max_backoff: Duration,
    /// Longest wait for one step on the remote.
    pub(crate) timeout: Duration,
    /// What a drift does.
    pub(crate) on_drift: apply::OnDrift,
    /// The most journal it may hold back (bytes; 0: no limit).
    pub(crate) max_retained_bytes: u64,
    /// The oldest write it may lack (0: no limit).
    pub(crate) max_retained_age: Duration,
}

/// One remote.
pub struct Remote {
    cfg: config::Remote,
    deps: Deps,
    status: Mutex<RemoteStatus>,
    paused: AtomicBool,
    /// Holds taken by readers of the remote (snapshots, bootstraps): applying stops
    /// between transactions while any is held.
    holds: AtomicUsize,
    /// The state, for holders waiting until applying has stopped.
    state_tx: tokio::sync::watch::Sender<RemoteState>,
    reseed: AtomicBool,
    wake: Notify,
    /// The primary's snapshots, which the remote verifies itself against.
    events: Mutex<tokio::sync::broadcast::Receiver<SnapshotEvent>>,
    /// The marker's LSN, for COMMITs waiting in sync mode.
    applied: tokio::sync::watch::Sender<u64>,
    /// Sync mode: missed a deadline, COMMITs do not wait until it catches up.
    degraded: AtomicBool,
    /// Past its retention budget, or the journal lost what it needs: until a reseed.
    lost: AtomicBool,
    /// The commit time (µs) of the oldest write it is known to lack; `None` when caught up.
    oldest_unapplied: Mutex<Option<i64>>,
    /// The primary's last divergence: a marker below its LSN needs a reseed.
    generation: Mutex<Option<super::Generation>>,
}

/// Why a pass over the remote ended.
enum Pass {
    /// Wait for a command (the state says why).
    Wait,
    /// Start again at once (a reseed finished, a command arrived).
    Again,
}

/// How long a caught-up remote waits before it looks at the journal again.
const POLL: Duration = Duration::from_millis(50);

/// How often a remote measures what it holds back from retention.
const BUDGET_CHECK: Duration = Duration::from_secs(1);

impl Remote {
    pub(crate) fn new(cfg: config::Remote, deps: Deps) -> Self {
        let status = RemoteStatus {
            name: cfg.name.clone(),
            addr: cfg.addr.clone(),
            mode: cfg.mode,
            state: RemoteState::Connecting,
            reason: None,
            applied_lsn: 0,
            journal_lsn: 0,
            lag_transactions: 0,
            lag_more: false,
            applied_total: 0,
            drift_total: 0,
            degraded: false,
            generation: None,
            last_error: None,
            last_verify: None,
        };
        let events = Mutex::new(deps.snapshots.subscribe());
        Remote {
            cfg,
            deps,
            status: Mutex::new(status),
            paused: AtomicBool::new(false),
            holds: AtomicUsize::new(0),
            state_tx: tokio::sync::watch::channel(RemoteState::Connecting).0,
            reseed: AtomicBool::new(false),
            wake: Notify::new(),
            events,
            applied: tokio::sync::watch::channel(0).0,
            degraded: AtomicBool::new(false),
            lost: AtomicBool::new(false),
            oldest_unapplied: Mutex::new(None),
            generation: Mutex::new(None),
        }
    }

    /// Whether the primary diverged after the remote's marker at `lsn`.
    fn diverged_after(&self, lsn: u64) -> Option<super::Generation> {
        self.generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|g| lsn < g.lsn)
    }

    /// The primary diverged from what the journal built up to `g.lsn`.
    pub(crate) fn diverged(&self, g: &super::Generation) {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner()) = Some(g.clone());
        self.wake.notify_one();
    }

    /// Sync mode: waits until the remote applied `lsn` (a committed write's outcome), at
    /// most `sync_timeout_ms`; past it the remote degrades to async (metric, log, status)
    /// until it catches up. Async remotes and degraded ones return at once.
    pub(crate) async fn synced(&self, lsn: u64) {
        if self.cfg.mode != ReplicationMode::Sync || self.degraded.load(Ordering::Acquire) {
            return;
        }
        let mut rx = self.applied.subscribe();
        self.wake.notify_one();
        let limit = Duration::from_millis(self.cfg.sync_timeout_ms);
        if tokio::time::timeout(limit, rx.wait_for(|a| *a >= lsn))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            return;
        }
        if !self.degraded.swap(true, Ordering::AcqRel) {
            warn!(remote = %self.cfg.name, lsn, timeout_ms = self.cfg.sync_timeout_ms, "mirror: sync remote did not apply a commit in time: degraded to async until it catches up");
            self.deps
                .metrics
                .degraded
                .with_label_values(&[self.cfg.name.as_str()])
                .set(1);
            self.set(|s| s.degraded = true);
        }
    }

    /// A degraded sync remote that reached the journal's end is sync again.
    fn caught_up(&self, applied: u64) {
        let newest = self.deps.journal.status().lsn.load(Ordering::Acquire);
        if applied >= newest && self.degraded.swap(false, Ordering::AcqRel) {
            info!(remote = %self.cfg.name, "mirror: sync remote caught up: COMMITs wait for it again");
            self.deps
                .metrics
                .degraded
                .with_label_values(&[self.cfg.name.as_str()])
                .set(0);
            self.set(|s| s.degraded = false);
        }
    }

    pub(crate) fn snapshots(&self) -> &Arc<Snapshots> {
        &self.deps.snapshots
    }

    pub(crate) fn is_sync(&self) -> bool {
        self.cfg.mode == ReplicationMode::Sync
    }

    pub(crate) fn name(&self) -> &str {
        &self.cfg.name
    }

    pub(crate) fn status(&self) -> RemoteStatus {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RemoteStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, f: impl FnOnce(&mut RemoteStatus)) {
        let mut s = self.lock();
        f(&mut s);
        let name = self.cfg.name.as_str();
        let m = &self.deps.metrics;
        m.state.with_label_values(&[name]).set(s.state.gauge());
        self.state_tx.send_if_modified(|st| {
            let changed = *st != s.state;
            *st = s.state;
            changed
        });
        m.applied_lsn
            .with_label_values(&[name])
            .set(s.applied_lsn as i64);
        self.applied.send_if_modified(|a| {
            let changed = *a != s.applied_lsn;
            *a = s.applied_lsn;
            changed
        });
        m.lag_transactions
            .with_label_values(&[name])
            .set(s.lag_transactions as i64);
    }

    fn state(&self, state: RemoteState, reason: Option<String>) {
        self.set(|s| {
            s.state = state;
            s.reason = reason;
        });
    }

    pub(crate) fn pause(&self) {
        self.paused.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub(crate) fn resume(&self) {
        self.paused.store(false, Ordering::Release);
        self.wake.notify_one();
    }

    fn unapplied(&self) -> std::sync::MutexGuard<'_, Option<i64>> {
        self.oldest_unapplied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The journal's oldest LSN on disk (after retention), if it has segments.
    fn journal_first_lsn(&self) -> Option<u64> {
        crate::journal::read::list_segments(self.deps.journal.dir())
            .ok()?
            .first()
            .map(|s| s.first_lsn)
    }

    /// Stops the remote for good (until a reseed): it no longer holds the journal back.
    fn go_lost(&self, reason: String) {
        warn!(remote = %self.cfg.name, %reason, "mirror: lost: reseed it (boltward replication reseed NAME)");
        self.lost.store(true, Ordering::Release);
        self.state(RemoteState::Lost, Some(reason));
    }

    /// A budget check while not streaming (waiting, retrying): a remote that holds the
    /// journal back goes lost past its budget.
    fn check_budget_idle(&self) {
        let s = self.status();
        if matches!(
            s.state,
            RemoteState::NeedsReseed | RemoteState::Reseeding | RemoteState::Lost
        ) {
            return;
        }
        let newest = self.deps.journal.status().lsn.load(Ordering::Acquire);
        if newest > s.applied_lsn {
            // It lacks writes made while it waits: at the latest, since now.
            self.unapplied()
                .get_or_insert_with(crate::journal::now_micros);
        }
        if let Some(reason) = self.budget(s.applied_lsn) {
            self.go_lost(reason);
        }
    }

    /// Measures what the remote holds back from retention (metrics) and whether that
    /// passes its budget (why, if so).
    fn budget(&self, applied: u64) -> Option<String> {
        let status = self.deps.journal.status();
        let newest = status.lsn.load(Ordering::Acquire);
        let open_bytes = status.open_segment_bytes.load(Ordering::Acquire);
        let segments = crate::journal::read::list_segments(self.deps.journal.dir()).ok()?;
        let mut retained = 0u64;
        let mut lag = 0u64;
        for (i, seg) in segments.iter().enumerate() {
            let next_first = segments.get(i + 1).map_or(newest + 1, |n| n.first_lsn);
            if next_first <= applied + 1 {
                continue; // applied entirely
            }
            let size = if i + 1 == segments.len() {
                open_bytes
            } else {
                std::fs::metadata(&seg.path).map_or(0, |m| m.len())
            };
            retained += size;
            let records = next_first.saturating_sub(seg.first_lsn).max(1);
            let unapplied = next_first.saturating_sub((applied + 1).max(seg.first_lsn));
            lag += (size as u128 * unapplied as u128 / records as u128) as u64;
        }
        let name = self.cfg.name.as_str();
        let m = &self.deps.metrics;
        m.retained_bytes
            .with_label_values(&[name])
            .set(retained as i64);
        m.lag_bytes.with_label_values(&[name]).set(lag as i64);
        let age = self
            .unapplied()
            .map(|ts| crate::journal::now_micros().saturating_sub(ts).max(0) as u64)
            .unwrap_or(0);
        let max_bytes = self.deps.max_retained_bytes;
        let max_age = self.deps.max_retained_age.as_micros() as u64;
        let share = |v: u64, max: u64| if max == 0 { 0.0 } else { v as f64 / max as f64 };
        let used = share(retained, max_bytes).max(share(age, max_age));
        m.budget_used.with_label_values(&[name]).set(used);
        if max_bytes > 0 && retained > max_bytes {
            return Some(format!(
                "it holds back {retained} bytes of journal, more than replication.max_retained_bytes ({max_bytes})"
            ));
        }
        if max_age > 0 && age > max_age {
            return Some(format!(
                "it lacks writes {} s old, older than replication.max_retained_age_secs ({})",
                age / 1_000_000,
                max_age / 1_000_000
            ));
        }
        None
    }

    /// Whether applying must stop (paused by an operator, or held by a reader).
    fn stopped_applying(&self) -> bool {
        self.paused.load(Ordering::Acquire) || self.holds.load(Ordering::Acquire) > 0
    }

    /// Stops applying between transactions, so the remote can be read at the LSN its
    /// marker holds; applying resumes when the returned [`Hold`] is dropped (unless an
    /// operator paused it too). Refused when the remote does not mirror the primary
    /// (needs a reseed, is being reseeded, or stopped on drift or doubt).
    pub(crate) async fn hold(self: &Arc<Self>) -> Result<Hold, HoldError> {
        let now = self.status();
        if matches!(
            now.state,
            RemoteState::NeedsReseed
                | RemoteState::Reseeding
                | RemoteState::Stopped
                | RemoteState::Lost
        ) {
            return Err(HoldError::NotMirroring {
                name: self.cfg.name.clone(),
                state: now.state.name(),
                reason: now.reason.map(|r| format!(" ({r})")).unwrap_or_default(),
            });
        }
        self.holds.fetch_add(1, Ordering::AcqRel);
        let hold = Hold {
            remote: self.clone(),
        };
        self.wake.notify_one();
        let mut rx = self.state_tx.subscribe();
        // An apply in flight finishes first; each of its steps is bounded.
        let limit = self.deps.timeout * 4 + Duration::from_secs(5);
        let stopped = tokio::time::timeout(limit, rx.wait_for(|s| *s == RemoteState::Paused))
            .await
            .is_ok_and(|r| r.is_ok());
        if !stopped {
            return Err(HoldError::StillApplying {
                name: self.cfg.name.clone(),
                ms: limit.as_millis(),
            });
        }
        Ok(hold)
    }

    /// Looks again (an in-doubt transaction was resolved).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn request_reseed(&self) {
        self.reseed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn db(&self) -> Option<&str> {
        self.cfg.database.as_deref()
    }

    /// The task: passes over the remote until the process ends.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut backoff = self.deps.backoff;
        loop {
            match self.pass().await {
                Ok(Pass::Again) => backoff = self.deps.backoff,
                Ok(Pass::Wait) => {
                    backoff = self.deps.backoff;
                    // Waiting (paused, stopped, held) still holds the journal back.
                    while tokio::time::timeout(BUDGET_CHECK, self.wake.notified())
                        .await
                        .is_err()
                    {
                        self.check_budget_idle();
                    }
                }
                Err(e) => {
                    let e = e.to_string();
                    warn!(remote = %self.cfg.name, error = %e, retry_in_ms = backoff.as_millis() as u64, "mirror: apply failed; retrying from the remote's marker");
                    self.deps
                        .metrics
                        .errors
                        .with_label_values(&[self.cfg.name.as_str()])
                        .inc();
                    self.set(|s| {
                        s.state = RemoteState::Retrying;
                        s.last_error = Some(e);
                    });
                    self.unapplied()
                        .get_or_insert_with(crate::journal::now_micros);
                    self.check_budget_idle();
                    let _ = tokio::time::timeout(backoff, self.wake.notified()).await;
                    backoff = (backoff * 2).min(self.deps.max_backoff);
                }
            }
        }
    }

    /// Runs one step on the remote, bounded by `replication.apply_timeout_ms`.
    async fn step<T, E: std::fmt::Display>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, PassError> {
        match tokio::time::timeout(self.deps.timeout, f).await {
            Ok(r) => r.map_err(|e| PassError::Remote(format!("{what}: {e}"))),
            Err(_) => Err(PassError::Remote(format!(
                "{what}: no answer within {} ms (the connection is dropped; the marker decides what committed)",
                self.deps.timeout.as_millis()
            ))),
        }
    }

    async fn connect(&self) -> Result<BoltClient, PassError> {
        let what = format!("connecting to {}", self.cfg.addr);
        self.step(
            &what,
            BoltClient::connect(
                &self.deps.connector,
                &self.cfg.user,
                &self.deps.password,
                "boltward-mirror",
            ),
        )
        .await
    }

    /// Connects, reads the marker and applies until caught up, paused or failed.
    async fn pass(&self) -> Result<Pass, PassError> {
        if self.lost.load(Ordering::Acquire) && !self.reseed.load(Ordering::Acquire) {
            return Ok(Pass::Wait);
        }
        if self.stopped_applying() && !self.reseed.load(Ordering::Acquire) {
            let why = (self.holds.load(Ordering::Acquire) > 0)
                .then(|| "held while it is read (a snapshot or a bootstrap)".to_owned());
            self.state(RemoteState::Paused, why);
            return Ok(Pass::Wait);
        }
        self.state(RemoteState::Connecting, None);
        let mut client = self.connect().await?;
        if self.reseed.swap(false, Ordering::AcqRel) {
            self.lost.store(false, Ordering::Release);
            *self.unapplied() = None;
            self.reseed_into(&mut client).await?;
            return Ok(Pass::Again);
        }
        let read = self
            .step("reading the marker", marker::read(&mut client, self.db()))
            .await?;
        let Some(mut at) = read else {
            let nodes = self
                .step("counting nodes", marker::data_nodes(&mut client, self.db()))
                .await?;
            let reason = if nodes == 0 {
                "the remote is empty: seed it with `boltward replication reseed NAME`".to_owned()
            } else {
                format!("the remote holds {nodes} nodes and no boltward marker (another database): `boltward replication reseed NAME` overwrites it")
            };
            warn!(remote = %self.cfg.name, %reason, "mirror: not streaming into this remote");
            self.state(RemoteState::NeedsReseed, Some(reason));
            return Ok(Pass::Wait);
        };
        self.set(|s| {
            s.applied_lsn = at.lsn;
            s.generation = Some(at.generation.clone());
        });
        let journal_lsn = self.deps.journal.status().lsn.load(Ordering::Acquire);
        if at.lsn > journal_lsn {
            let reason = format!(
                "the remote's marker (LSN {}) is ahead of the journal (LSN {journal_lsn}): it was fed by another journal; reseed it",
                at.lsn
            );
            warn!(remote = %self.cfg.name, %reason, "mirror: stopped");
            self.state(RemoteState::Stopped, Some(reason));
            return Ok(Pass::Wait);
        }
        if let Some(g) = self.diverged_after(at.lsn) {
            let reason = format!(
                "a new generation began at LSN {}: {}; the remote (marker at LSN {}) holds the primary's previous state: reseed it",
                g.lsn, g.reason, at.lsn
            );
            warn!(remote = %self.cfg.name, %reason, "mirror: not streaming into this remote");
            self.state(RemoteState::NeedsReseed, Some(reason));
            return Ok(Pass::Wait);
        }
        if let Some(first) = self.journal_first_lsn().filter(|f| *f > at.lsn + 1) {
            let reason = format!(
                "the journal starts at LSN {first} but the remote's marker is at LSN {}: the writes between were pruned; reseed it",
                at.lsn
            );
            self.go_lost(reason);
            return Ok(Pass::Wait);
        }
        self.state(RemoteState::Streaming, None);
        let mut checked = Instant::now();
        // The journal's newest LSN when it last held nothing more for this remote.
        let mut seen = u64::MAX;
        let mut point: Option<VerifyPoint> = None;
        let mut tail = Some(source::Tail::new(self.deps.journal.dir(), at.lsn));
        loop {
            if self.stopped_applying()
                || self.reseed.load(Ordering::Acquire)
                || self.diverged_after(at.lsn).is_some()
            {
                let _ = client.close().await;
                return Ok(Pass::Again);
            }
            self.follow_snapshots(&mut point);
            let newest = self.deps.journal.status().lsn.load(Ordering::Acquire);
            let Some(mut t) = tail.take() else {
                return Err(PassError::Journal("the journal reader was lost".into()));
            };
            if t.pending.is_empty() && newest == seen && point.is_none() {
                // Nothing new since the last read: no need to read the journal again.
                tail = Some(t);
                let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
                continue;
            }
            let limit = self.deps.batch;
            let (mut t, read) = tokio::task::spawn_blocking(move || {
                let r = t.fill(limit);
                (t, r)
            })
            .await
            .map_err(|e| PassError::Journal(e.to_string()))?;
            read.map_err(|e| PassError::Journal(e.to_string()))?;
            // Stop exactly at a snapshot's LSN until it is compared.
            let stop = point.as_ref().map_or(u64::MAX, |p| p.lsn);
            let due = t.pending.iter().take_while(|tx| tx.lsn <= stop).count();
            let in_doubt = t.in_doubt.filter(|l| *l <= stop);
            if t.pending.is_empty() && in_doubt.is_none() && point.is_none() {
                seen = newest;
                // Everything read is applied: records after the last transaction (events,
                // rollovers) count as caught up too.
                self.caught_up(t.last_lsn.max(at.lsn));
            }
            *self.unapplied() = t.pending.front().map(|p| p.ts_micros);
            if checked.elapsed() >= BUDGET_CHECK {
                checked = Instant::now();
                if let Some(reason) = self.budget(at.lsn) {
                    let _ = client.close().await;
                    self.go_lost(reason);
                    return Ok(Pass::Wait);
                }
            }
            self.set(|s| {
                s.journal_lsn = t.last_lsn;
                s.lag_transactions = t.pending.len() as u64;
                s.lag_more = t.more;
            });
            let batch: Vec<source::Pending> = t.pending.drain(..due).collect();
            tail = Some(t);
            if batch.is_empty() {
                if let Some(lsn) = in_doubt {
                    let reason = format!("the transaction at LSN {lsn} is in doubt (boltward lost track of its commit); the mirror stops before it: check the primary, then `boltward replication resolve --lsn {lsn} --committed` or `--rolled-back` (or reseed the remote)");
                    warn!(remote = %self.cfg.name, lsn, "mirror: stopped before a transaction in doubt");
                    self.state(RemoteState::Stopped, Some(reason));
                    return Ok(Pass::Wait);
                }
                if let Some(p) = point.take_if(|p| p.manifest.is_some()) {
                    if !self.verify_at(&mut client, p).await? {
                        return Ok(Pass::Wait);
                    }
                    continue;
                }
                let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
                continue;
            }
            let mirrored = self.deps.snapshots.config().snapshot.database.as_deref();
            for group in groups(batch, self.db(), mirrored)? {
                let (group, meta) = match group {
                    Ok(g) => g,
                    Err(e) => {
                        self.state(RemoteState::Stopped, Some(e.to_string()));
                        return Ok(Pass::Wait);
                    }
                };
                let last = group.last().map_or(at.lsn, |t| t.lsn);
                let n = group.len();
                let started = Instant::now();
                let applied = apply::apply(
                    &mut client,
                    group,
                    at.lsn,
                    self.deps.on_drift,
                    self.deps.timeout,
                )
                .await;
                let drifts = match applied {
                    Ok(drifts) => drifts,
                    Err(ApplyError::Drift(d)) => {
                        self.drifted(&d);
                        let reason = format!("{d}; the transaction was rolled back on the remote (replication.on_drift = \"halt\"): check the remote, then reseed it");
                        self.state(RemoteState::Stopped, Some(reason));
                        return Ok(Pass::Wait);
                    }
                    Err(e) => return Err(PassError::Apply(e)),
                };
                for d in &drifts {
                    self.drifted(d);
                }
                let name = self.cfg.name.as_str();
                let per_tx = started.elapsed().as_secs_f64() / n as f64;
                let now = crate::journal::now_micros();
                for ts in meta {
                    self.deps
                        .metrics
                        .apply_seconds
                        .with_label_values(&[name])
                        .observe(per_tx);
                    self.deps
                        .metrics
                        .lag_seconds
                        .with_label_values(&[name])
                        .observe(now.saturating_sub(ts).max(0) as f64 / 1e6);
                }
                at.lsn = last;
                self.set(|s| {
                    s.applied_lsn = last;
                    s.applied_total += n as u64;
                    s.lag_transactions = s.lag_transactions.saturating_sub(n as u64);
                    s.last_error = None;
                });
            }
        }
    }

    /// Takes in the primary's snapshot events: a snapshot marked at LSN L becomes the
    /// point this remote stops at; its manifest (fingerprint) arrives when it is written.
    fn follow_snapshots(&self, point: &mut Option<VerifyPoint>) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match events.try_recv() {
                Ok(SnapshotEvent::Marked { id, lsn }) => {
                    *point = Some(VerifyPoint {
                        id,
                        lsn,
                        manifest: None,
                    });
                }
                Ok(SnapshotEvent::Taken(m)) => {
                    if let Some(p) = point.as_mut().filter(|p| p.id == m.id) {
                        p.manifest = Some(m);
                    }
                }
                Ok(SnapshotEvent::Failed { .. }) => *point = None,
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    }

    /// Compares the remote, stopped at the snapshot's LSN, with the snapshot; `false` when
    /// it differs and `replication.on_drift` halts the remote.
    async fn verify_at(&self, client: &mut BoltClient, p: VerifyPoint) -> Result<bool, PassError> {
        let Some(manifest) = p.manifest else {
            return Ok(true);
        };
        let scope = crate::snapshot::export::Scope {
            database: self.cfg.database.clone(),
            batch: self.deps.snapshots.config().snapshot.batch as i64,
        };
        let digest = crate::recovery::digest_of(client, &scope)
            .await
            .map_err(|e| PassError::Remote(format!("fingerprinting the remote: {e}")))?;
        let remote = digest.fingerprint.hex();
        let v = Verification {
            snapshot: manifest.id.clone(),
            lsn: p.lsn,
            equal: remote == manifest.fingerprint,
            primary: manifest.fingerprint.clone(),
            remote,
            nodes: digest.fingerprint.nodes(),
            relationships: digest.fingerprint.relationships(),
        };
        let equal = v.equal;
        if equal {
            info!(remote = %self.cfg.name, snapshot = %v.snapshot, lsn = v.lsn, "mirror: verified: the remote equals the primary's snapshot at its LSN");
        } else {
            warn!(remote = %self.cfg.name, snapshot = %v.snapshot, lsn = v.lsn, primary = %v.primary, remote_fingerprint = %v.remote, "mirror: drift: the remote differs from the primary's snapshot at its LSN");
            self.deps
                .metrics
                .drift
                .with_label_values(&[self.cfg.name.as_str()])
                .inc();
        }
        let reason = format!(
            "drift: the remote's fingerprint differs from snapshot {} at LSN {}: check the remote, then reseed it",
            v.snapshot, v.lsn
        );
        self.set(|s| {
            s.drift_total += u64::from(!equal);
            s.last_verify = Some(v);
        });
        if !equal && self.deps.on_drift == apply::OnDrift::Halt {
            self.state(RemoteState::Stopped, Some(reason));
            return Ok(false);
        }
        Ok(true)
    }

    /// Counts and logs a drift.
    fn drifted(&self, d: &apply::Drift) {
        warn!(remote = %self.cfg.name, lsn = d.lsn, statement = %d.statement, differences = %d.differences.join(", "), "mirror: drift: the remote's update counters differ from the primary's");
        self.deps
            .metrics
            .drift
            .with_label_values(&[self.cfg.name.as_str()])
            .inc();
        self.set(|s| s.drift_total += 1);
    }

    /// Overwrites the remote with a fresh snapshot of the primary and seeds the marker at
    /// the snapshot's LSN.
    async fn reseed_into(&self, client: &mut BoltClient) -> Result<(), PassError> {
        self.state(RemoteState::Reseeding, None);
        info!(remote = %self.cfg.name, "mirror: reseeding from a snapshot of the primary");
        let manifest = self
            .deps
            .snapshots
            .create_of_primary("seed")
            .await
            .map_err(|e| PassError::Seed(format!("snapshot of the primary: {e}")))?;
        let Some(lsn) = manifest.journal_lsn else {
            return Err(PassError::Seed(
                "the snapshot has no journal LSN (is the journal enabled?)".into(),
            ));
        };
        let remote = |e: crate::upstream::ClientError| PassError::Remote(e.to_string());
        marker::wipe(client, self.db()).await.map_err(remote)?;
        let dir = self.deps.snapshots.dir().to_owned();
        let mut reader = crate::snapshot::store::open_data(&dir, &manifest)
            .map_err(|e| PassError::Seed(e.to_string()))?;
        let how = crate::snapshot::import::Load {
            database: self.cfg.database.clone(),
            batch: self.deps.snapshots.config().snapshot.batch,
        };
        crate::snapshot::import::load(client, &mut reader, &how, |_| Ok(()))
            .await
            .map_err(|e| PassError::Seed(format!("loading the snapshot: {e}")))?;
        let seed = Marker {
            lsn,
            generation: manifest.id.clone(),
        };
        marker::seed(client, self.db(), &seed)
            .await
            .map_err(remote)?;
        info!(remote = %self.cfg.name, snapshot = %manifest.id, lsn, "mirror: reseeded; streaming from the snapshot's LSN");
        self.set(|s| {
            s.applied_lsn = lsn;
            s.generation = Some(manifest.id);
            s.reason = None;
        });
        Ok(())
    }
}

/// Transactions applied in one remote transaction at most.
const MAX_GROUP: usize = 256;

/// A group ready to apply, with each transaction's commit time; or why the journal cannot
/// be applied.
type Group = Result<(Vec<apply::Prepared>, Vec<i64>), ApplyError>;

/// Splits committed transactions into groups that share one remote transaction:
/// consecutive, under the same BEGIN extra, at most [`MAX_GROUP`]; a transaction that
/// must run alone is a group of its own. Stops at the first that does not decode.
fn groups(
    batch: Vec<source::Pending>,
    db: Option<&str>,
    mirrored: Option<&str>,
) -> Result<Vec<Group>, PassError> {
    let mut out: Vec<Group> = Vec::new();
    let mut current: Vec<apply::Prepared> = Vec::new();
    let mut times: Vec<i64> = Vec::new();
    let flush = |out: &mut Vec<Group>, current: &mut Vec<apply::Prepared>, times: &mut Vec<i64>| {
        if !current.is_empty() {
            out.push(Ok((std::mem::take(current), std::mem::take(times))));
        }
    };
    for tx in batch {
        let p = match apply::prepare(&tx.intent, tx.lsn, tx.stats.as_ref(), db, mirrored) {
            Ok(p) => p,
            Err(e) => {
                flush(&mut out, &mut current, &mut times);
                out.push(Err(e));
                return Ok(out);
            }
        };
        let fits = !p.alone
            && current.len() < MAX_GROUP
            && current
                .first()
                .is_none_or(|f| !f.alone && f.extra == p.extra);
        if !fits {
            flush(&mut out, &mut current, &mut times);
        }
        current.push(p);
        times.push(tx.ts_micros);
        if current.last().is_some_and(|p| p.alone) {
            flush(&mut out, &mut current, &mut times);
        }
    }
    flush(&mut out, &mut current, &mut times);
    Ok(out)
}

/// Why a pass failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error("{0}")]
    Remote(String),
    #[error("reading the journal: {0}")]
    Journal(String),
    #[error(transparent)]
    Apply(ApplyError),
    #[error("reseed: {0}")]
    Seed(String),
}

/// Why a remote cannot be held still to be read as a mirror of the primary.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// It does not mirror the primary now (needs a reseed, is being reseeded, stopped on
    /// drift or doubt, or lost).
    #[error("remote {name} cannot be read as a mirror of the primary: it is {state}{reason}")]
    NotMirroring {
        /// The remote.
        name: String,
        /// Its state.
        state: &'static str,
        /// Why it is in that state (` (…)`, or empty).
        reason: String,
    },
    /// A transaction in flight did not finish in time.
    #[error("remote {name} did not stop applying within {ms} ms")]
    StillApplying {
        /// The remote.
        name: String,
        /// How long it was given.
        ms: u128,
    },
}

/// Applying to a remote is stopped while this lives (see [`Remote::hold`]).
pub struct Hold {
    remote: Arc<Remote>,
}

impl Hold {
    /// The remote's name.
    pub fn name(&self) -> &str {
        &self.remote.cfg.name
    }

    /// Its connector.
    pub fn connector(&self) -> &Connector {
        &self.remote.deps.connector
    }

    /// The account boltward writes to it with.
    pub fn login(&self) -> (&str, &str) {
        (&self.remote.cfg.user, &self.remote.deps.password)
    }

    /// The database it mirrors into (None: its default).
    pub fn database(&self) -> Option<&str> {
        self.remote.cfg.database.as_deref()
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.remote.holds.fetch_sub(1, Ordering::AcqRel);
        self.remote.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::RemoteState;

    #[test]
    fn state_names_are_the_status_json() {
        for s in [
            RemoteState::Connecting,
            RemoteState::Streaming,
            RemoteState::Retrying,
            RemoteState::Paused,
            RemoteState::NeedsReseed,
            RemoteState::Reseeding,
            RemoteState::Stopped,
            RemoteState::Lost,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }
}
