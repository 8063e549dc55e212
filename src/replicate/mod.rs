//! Mirrors: every committed write, replayed from the journal into remote servers in commit
//! order, exactly once (a position marker moves in the same remote transaction), nothing
//! lost while a remote is unreachable (the journal is the queue; retries back off).
//!
//! - [`source`]: what a remote still needs from the journal.
//! - [`apply`]: one committed transaction as one remote transaction, with the marker.
//! - [`marker`]: the marker node and the remote's seed.
//! - [`remote`]: one remote's task and its states.
//!
//! A remote starts from a snapshot of the primary (`boltward replication reseed NAME`):
//! a remote without a marker (empty, or another database) is never streamed into.

pub mod apply;
pub mod marker;
pub mod remote;
pub mod source;

use crate::config::{Config, ConfigError};
use crate::journal::Journal;
use crate::metrics::ReplicationMetrics;
use crate::snapshot::service::Snapshots;
use crate::upstream::{ConnectError, Connector};
pub use remote::{RemoteState, RemoteStatus, Verification};
use std::sync::Arc;
use thiserror::Error;

/// Mirrors cannot start, or a command names no remote.
#[derive(Debug, Error)]
pub enum ReplicationError {
    /// A remote's password is missing or unreadable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A remote's TLS settings are unusable.
    #[error("replication.remote '{name}': tls: {source}")]
    Tls {
        /// The remote.
        name: String,
        /// Cause.
        source: crate::tls::TlsError,
    },
    /// A remote's address is unusable.
    #[error("replication.remote '{name}': {source}")]
    Connect {
        /// The remote.
        name: String,
        /// Cause.
        source: ConnectError,
    },
    /// The snapshot a verification compares against could not be taken.
    #[error("verify: {0}")]
    Snapshot(Box<crate::snapshot::service::SnapshotError>),
    /// An in-doubt decision was refused.
    #[error("resolve: {0}")]
    Resolve(#[from] crate::journal::resolve::ResolveError),
    /// Decisions are journaled, and the journal is disabled.
    #[error("resolve: decisions are journaled, and the journal is disabled")]
    JournalDisabled,
    /// The decision could not be recorded (journaled, or kept in `resolutions.json`).
    #[error("resolve: recording the decision: {0}")]
    Record(String),
    /// The remote cannot be held still to be read.
    #[error(transparent)]
    Hold(#[from] remote::HoldError),
    /// No remote has this name.
    #[error("no remote named '{0}' (see `boltward replication status`)")]
    Unknown(String),
}

/// Every configured remote and its task.
pub struct Replication {
    remotes: Vec<Arc<remote::Remote>>,
    /// Where the generation file lives (the journal directory).
    journal_dir: Option<std::path::PathBuf>,
    /// The journal (decisions on in-doubt transactions are journaled).
    journal: Option<Journal>,
}

impl Replication {
    /// Resolves every remote's password and TLS (before anything binds); nothing runs
    /// until [`Replication::start`].
    pub fn new(
        config: &Config,
        journal: Option<Journal>,
        snapshots: Arc<Snapshots>,
        metrics: ReplicationMetrics,
    ) -> Result<Self, ReplicationError> {
        let mut remotes = Vec::new();
        let journal_dir = journal.as_ref().map(|j| j.dir().to_owned());
        let journal_handle = journal.clone();
        let generation: Option<Generation> = journal_dir
            .as_ref()
            .and_then(|d| crate::journal::read::load_json(d, GENERATION_FILE).ok())
            .filter(|g: &Generation| g.lsn > 0);
        for r in &config.replication.remote {
            let Some(journal) = journal.clone() else {
                break; // validated: remotes need the journal
            };
            let password = r.password()?;
            let up = r.upstream();
            let tls = if up.tls.enabled {
                Some(crate::tls::client_config(&up.tls).map_err(|source| {
                    ReplicationError::Tls {
                        name: r.name.clone(),
                        source,
                    }
                })?)
            } else {
                None
            };
            let connector =
                Connector::new(&up, tls).map_err(|source| ReplicationError::Connect {
                    name: r.name.clone(),
                    source,
                })?;
            remotes.push(Arc::new(remote::Remote::new(
                r.clone(),
                remote::Deps {
                    connector,
                    password,
                    journal,
                    snapshots: snapshots.clone(),
                    metrics: metrics.clone(),
                    batch: config.replication.batch,
                    backoff: std::time::Duration::from_millis(config.replication.backoff_ms),
                    max_backoff: std::time::Duration::from_millis(
                        config.replication.max_backoff_ms,
                    ),
                    timeout: std::time::Duration::from_millis(config.replication.apply_timeout_ms),
                    on_drift: match config.replication.on_drift {
                        crate::config::OnDrift::Halt => apply::OnDrift::Halt,
                        crate::config::OnDrift::Continue => apply::OnDrift::Continue,
                    },
                    max_retained_bytes: config.replication.max_retained_bytes,
                    max_retained_age: std::time::Duration::from_secs(
                        config.replication.max_retained_age_secs,
                    ),
                },
            )));
        }
        if let Some(g) = &generation {
            for r in &remotes {
                r.diverged(g);
            }
        }
        Ok(Replication {
            remotes,
            journal_dir,
            journal: journal_handle,
        })
    }

    /// Starts one task per remote.
    pub fn start(&self) {
        for r in &self.remotes {
            tokio::spawn(r.clone().run());
        }
    }

    /// Whether a COMMIT may wait for a remote (`mode = "sync"`).
    pub fn has_sync(&self) -> bool {
        self.remotes.iter().any(|r| r.is_sync())
    }

    /// Waits until every sync remote applied the committed write whose outcome is at
    /// `lsn`, each at most its `sync_timeout_ms` (then it degrades to async).
    pub async fn synced(&self, lsn: u64) {
        for r in self.remotes.iter().filter(|r| r.is_sync()) {
            r.synced(lsn).await;
        }
    }

    /// Every remote's status, in configuration order.
    pub fn status(&self) -> Vec<RemoteStatus> {
        self.remotes.iter().map(|r| r.status()).collect()
    }

    fn remote(&self, name: &str) -> Result<&Arc<remote::Remote>, ReplicationError> {
        self.remotes
            .iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| ReplicationError::Unknown(name.to_owned()))
    }

    /// Stops applying to `name` (its position is kept; the journal keeps what it needs).
    pub fn pause(&self, name: &str) -> Result<RemoteStatus, ReplicationError> {
        let r = self.remote(name)?;
        r.pause();
        Ok(r.status())
    }

    /// Applies to `name` again.
    pub fn resume(&self, name: &str) -> Result<RemoteStatus, ReplicationError> {
        let r = self.remote(name)?;
        r.resume();
        Ok(r.status())
    }

    /// Stops applying to `name` until the hold is dropped (see [`remote::Remote::hold`]).
    pub async fn hold(&self, name: &str) -> Result<remote::Hold, ReplicationError> {
        Ok(self.remote(name)?.hold().await?)
    }

    /// Takes a snapshot of the primary; every remote stops at its LSN and compares its
    /// fingerprint with it (the result is in the remote's `last_verify`). The snapshot id
    /// and LSN.
    pub async fn verify(&self, name: &str) -> Result<(String, u64), ReplicationError> {
        let r = self.remote(name)?;
        let m = r
            .snapshots()
            .create_of_primary("verify")
            .await
            .map_err(|e| ReplicationError::Snapshot(Box::new(e)))?;
        Ok((m.id, m.journal_lsn.unwrap_or(0)))
    }

    /// Records an operator's decision on the in-doubt transaction whose outcome is at
    /// `lsn` (journaled, and kept for mirrors), then wakes every remote.
    pub async fn resolve(
        &self,
        lsn: u64,
        how: crate::journal::resolve::Resolution,
    ) -> Result<u64, ReplicationError> {
        use crate::journal::resolve;
        let (Some(dir), Some(journal)) = (self.journal_dir.clone(), self.journal.clone()) else {
            return Err(ReplicationError::JournalDisabled);
        };
        let d = dir.clone();
        let intent = tokio::task::spawn_blocking(move || -> Result<u64, resolve::ResolveError> {
            let intent = resolve::in_doubt_intent(&d, lsn)?;
            match resolve::load(&d)?.get(&lsn) {
                Some(was) if *was != how => Err(resolve::ResolveError::Decided {
                    lsn,
                    was: was.as_str(),
                }),
                _ => Ok(intent),
            }
        })
        .await
        .map_err(|e| ReplicationError::Record(e.to_string()))??;
        journal
            .append(boltward_journal::Entry::Event(
                boltward_journal::entry::Event {
                    name: resolve::RESOLVED_EVENT.into(),
                    details: boltward_protocol::Map::from([
                        ("outcome_lsn", lsn.to_string()),
                        ("intent_lsn", intent.to_string()),
                        ("as", how.as_str().to_owned()),
                        ("by", "operator (control port)".to_owned()),
                    ]),
                },
            ))
            .await
            .map_err(|e| ReplicationError::Record(format!("journaling it: {e}")))?;
        let mut all = resolve::load(&dir).map_err(resolve::ResolveError::from)?;
        all.insert(lsn, how);
        resolve::save(&dir, &all)
            .map_err(|e| ReplicationError::Record(format!("{}: {e}", dir.display())))?;
        tracing::info!(
            lsn,
            intent,
            resolution = how.as_str(),
            "in-doubt transaction resolved"
        );
        for r in &self.remotes {
            r.wake();
        }
        Ok(intent)
    }

    /// Overwrites `name` with a fresh snapshot of the primary and streams from its LSN.
    pub fn reseed(&self, name: &str) -> Result<RemoteStatus, ReplicationError> {
        let r = self.remote(name)?;
        r.request_reseed();
        Ok(r.status())
    }
}

/// The file (in the journal directory) that records the last divergence of the primary.
pub const GENERATION_FILE: &str = "generation.json";

/// The last time the primary stopped matching the journal (see [`Replication::diverged`]).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Generation {
    /// Markers below this LSN belong to the primary's previous life.
    pub lsn: u64,
    /// What happened.
    pub reason: String,
}

impl crate::snapshot::service::Mirrors for Replication {
    fn diverged(&self, lsn: u64, reason: &str) {
        let g = Generation {
            lsn,
            reason: reason.to_owned(),
        };
        if let Some(dir) = &self.journal_dir {
            if let Err(e) = crate::journal::read::save_json(dir, GENERATION_FILE, &g) {
                tracing::warn!(error = %e, "cannot record the new generation; mirrors will still be stopped until boltward restarts");
            }
        }
        for r in &self.remotes {
            r.diverged(&g);
        }
    }

    fn hold<'a>(
        &'a self,
        name: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<remote::Hold, ReplicationError>> + Send + 'a>,
    > {
        Box::pin(Replication::hold(self, name))
    }
}
