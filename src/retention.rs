//! Journal retention as a service: asks the snapshots (the oldest kept one bounds
//! point-in-time restore), the mirrors (what each applied) and the audit sink (what it
//! wrote) what they still need, then prunes the oldest sealed segments that nobody needs
//! and that are older than `journal.retention_days` (see [`crate::journal::retention`]).
//! Runs every `journal.retention_check_secs` and on `boltward audit prune`.

use crate::config::Config;
use crate::journal::read::{list_segments, ReadError};
use crate::journal::retention::{self as rules, Kept, Needs, Pruned};
use crate::journal::Journal;
use crate::metrics::JournalMetrics;
use crate::replicate::{RemoteState, Replication};
use crate::snapshot::service::Snapshots;
use crate::snapshot::store::{self, Manifest};
use boltward_journal::entry::{Entry, Event};
use boltward_protocol::Map;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// What a retention pass did (`POST /v1/journal/prune`, `boltward audit prune`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneReport {
    /// Nothing was removed: this is what would have been.
    pub dry_run: bool,
    /// The segments that left the directory (or would have), oldest first.
    pub pruned: Vec<Pruned>,
    /// Why the oldest remaining segment stays.
    pub kept: Kept,
    /// The oldest LSN the journal directory holds after the pass.
    pub oldest_lsn: u64,
    /// Bytes of the journal directory's segments after the pass.
    pub journal_bytes: u64,
    /// The oldest kept snapshot a point-in-time restore can start from (checksum verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitr_snapshot: Option<String>,
}

/// A retention pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The journal or the snapshot directory cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The prune could not be journaled (nothing was removed).
    #[error("journaling the prune: {0}")]
    Journal(String),
    /// Archiving, anchoring or deleting failed (what was removed before stays removed;
    /// the anchor covers it).
    #[error("{0}")]
    Io(String),
}

/// The journal's retention.
pub struct JournalRetention {
    config: Arc<Config>,
    journal: Journal,
    snapshots: Arc<Snapshots>,
    replication: Arc<Replication>,
    metrics: JournalMetrics,
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// What a pass decided, before anything is removed.
struct Decision {
    sealed: Vec<rules::Segment>,
    doomed: usize,
    kept: Kept,
    pitr: Option<Manifest>,
    live_bytes: u64,
    live_first: u64,
}

impl JournalRetention {
    /// The service (nothing runs until [`JournalRetention::run`]).
    pub fn new(
        config: Arc<Config>,
        journal: Journal,
        snapshots: Arc<Snapshots>,
        replication: Arc<Replication>,
        metrics: JournalMetrics,
    ) -> Self {
        JournalRetention {
            config,
            journal,
            snapshots,
            replication,
            metrics,
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs a pass every `journal.retention_check_secs` until the process ends.
    pub async fn run(self: Arc<Self>) {
        let every = self.config.journal.retention_check_secs;
        if every == 0 {
            return;
        }
        loop {
            match self.pass(false).await {
                Ok(r) if !r.pruned.is_empty() => {
                    info!(
                        segments = r.pruned.len(),
                        oldest_lsn = r.oldest_lsn,
                        "journal retention pruned segments"
                    )
                }
                Ok(_) => {}
                Err(e) => warn!(error = %e, "journal retention failed"),
            }
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    }

    /// What the mirrors and the audit sink still need.
    fn needs(&self) -> Needs {
        let mirrors = self
            .replication
            .status()
            .into_iter()
            // A remote that needs a reseed (or is lost) is seeded from a snapshot, not from
            // the journal.
            .filter(|r| !matches!(r.state, RemoteState::NeedsReseed | RemoteState::Lost))
            .map(|r| (r.name, r.applied_lsn))
            .collect();
        let sink = self.config.journal.sink.enabled.then(|| {
            std::fs::read_to_string(self.journal.dir().join("sink.lsn"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        });
        Needs {
            pitr: None,
            mirrors,
            sink,
        }
    }

    /// Decides on the blocking pool: reads segments and snapshots.
    fn decide(&self, mut needs: Needs) -> Result<Decision, RetentionError> {
        let dir = self.journal.dir();
        let segments =
            list_segments(dir).map_err(|e| ReadError::Io(format!("{}: {e}", dir.display())))?;
        let live_bytes = segments
            .iter()
            .filter_map(|s| std::fs::metadata(&s.path).ok())
            .map(|m| m.len())
            .sum();
        let live_first = segments.first().map_or(1, |s| s.first_lsn);
        let pitr = oldest_verified_snapshot(self.snapshots.dir(), &self.config)?;
        if let Some(s) = pitr.as_ref().and_then(|m| m.journal_lsn) {
            needs.pitr = Some(rules::pitr_floor(&segments, s)?);
        }
        let mut sealed = Vec::with_capacity(segments.len().saturating_sub(1));
        let now = crate::journal::now_micros();
        let retention = i64::from(self.config.journal.retention_days) * 86_400_000_000;
        for pair in segments.windows(2) {
            let Some(seg) = rules::inspect(&pair[0], &pair[1])? else {
                break; // the next segment has no record yet: this one stays
            };
            // Stop reading once a segment is young: nothing after it can go.
            let young = seg.last_ts >= now - retention;
            sealed.push(seg);
            if young {
                break;
            }
        }
        let (doomed, kept) = rules::select(&sealed, now, retention, &needs);
        let kept = if doomed == 0 && segments.len() <= 1 {
            Kept::OnlyTheLiveSegment
        } else {
            kept
        };
        Ok(Decision {
            sealed,
            doomed,
            kept,
            pitr,
            live_bytes,
            live_first,
        })
    }

    /// One pass: decides, and unless `dry_run` journals the prune, anchors the chain and
    /// archives or deletes the segments that go.
    pub async fn pass(self: &Arc<Self>, dry_run: bool) -> Result<PruneReport, RetentionError> {
        let _one = self.one_at_a_time.lock().await;
        let needs = self.needs();
        let me = self.clone();
        let d = tokio::task::spawn_blocking(move || me.decide(needs))
            .await
            .map_err(|e| RetentionError::Io(e.to_string()))??;
        let archive = self.config.journal.archive_dir.clone();
        let mut pruned: Vec<Pruned> = d.sealed[..d.doomed]
            .iter()
            .map(|s| Pruned {
                name: s.file.name.clone(),
                first_lsn: s.file.first_lsn,
                last_lsn: s.last_lsn,
                bytes: s.bytes,
                archived: None,
            })
            .collect();
        let removed: u64 = pruned.iter().map(|p| p.bytes).sum();
        let oldest_lsn = pruned.last().map_or(d.live_first, |p| p.last_lsn + 1);
        if !dry_run && d.doomed > 0 {
            let boundaries = rules::boundaries(&d.sealed, d.doomed);
            let tokens: Vec<String> = boundaries.iter().map(|b| b.token()).collect();
            self.journal
                .append(Entry::Event(Event {
                    name: rules::PRUNED_EVENT.into(),
                    details: Map::from([
                        ("boundaries", tokens.join(";")),
                        ("through_lsn", (oldest_lsn - 1).to_string()),
                        ("segments", d.doomed.to_string()),
                        (
                            "archived",
                            archive
                                .as_ref()
                                .map_or_else(String::new, |a| a.display().to_string()),
                        ),
                    ]),
                }))
                .await
                .map_err(|e| RetentionError::Journal(e.to_string()))?;
            let dir = self.journal.dir().to_owned();
            let doomed: Vec<rules::Segment> = d.sealed[..d.doomed].to_vec();
            let metrics = self.metrics.clone();
            let archived = tokio::task::spawn_blocking(move || {
                remove(&dir, archive.as_deref(), &doomed, boundaries, &metrics)
            })
            .await
            .map_err(|e| RetentionError::Io(e.to_string()))??;
            for (p, a) in pruned.iter_mut().zip(archived) {
                p.archived = a;
            }
            info!(
                segments = pruned.len(),
                bytes = removed,
                oldest_lsn,
                "journal retention: segments pruned"
            );
        }
        let journal_bytes = if dry_run {
            d.live_bytes
        } else {
            d.live_bytes - removed
        };
        if !dry_run {
            self.metrics.disk_bytes.set(journal_bytes as i64);
            self.metrics.oldest_lsn.set(oldest_lsn as i64);
            if let Some(m) = &d.pitr {
                self.metrics.pitr_window_start.set(m.created_unix);
            }
        }
        Ok(PruneReport {
            dry_run,
            pruned,
            kept: d.kept,
            oldest_lsn,
            journal_bytes,
            pitr_snapshot: d.pitr.map(|m| m.id),
        })
    }

    /// The newest LSN the journal holds (for reports).
    pub fn journal_lsn(&self) -> u64 {
        self.journal.status().lsn.load(Ordering::Acquire)
    }
}

/// Anchors the chain past `doomed`, then archives (or deletes) each, oldest first: at
/// every step the directory is a verifiable suffix of the journal.
fn remove(
    dir: &std::path::Path,
    archive: Option<&std::path::Path>,
    doomed: &[rules::Segment],
    boundaries: Vec<rules::Boundary>,
    metrics: &JournalMetrics,
) -> Result<Vec<Option<std::path::PathBuf>>, RetentionError> {
    let io = |e: std::io::Error| RetentionError::Io(e.to_string());
    // Keep the boundary of the segment that is the oldest now (a pass that stopped
    // half-way may have left it), and add one for each segment that may become the oldest.
    let mut anchor = rules::load_anchor(dir)?;
    let oldest = doomed.first().map_or(0, |s| s.file.first_lsn);
    anchor.boundaries.retain(|b| b.first_lsn >= oldest);
    anchor.boundaries.extend(boundaries);
    anchor.boundaries.sort_by_key(|b| b.first_lsn);
    anchor.boundaries.dedup_by_key(|b| b.first_lsn);
    rules::save_anchor(dir, &anchor).map_err(io)?;
    let mut out = Vec::with_capacity(doomed.len());
    for seg in doomed {
        let archived = match archive {
            Some(a) => Some(
                rules::archive(&seg.file, a)
                    .map_err(|e| RetentionError::Io(format!("archiving {}: {e}", seg.file.name)))?,
            ),
            None => None,
        };
        std::fs::remove_file(&seg.file.path)
            .map_err(|e| RetentionError::Io(format!("removing {}: {e}", seg.file.name)))?;
        let action = if archived.is_some() {
            "archived"
        } else {
            "deleted"
        };
        metrics.pruned.with_label_values(&[action]).inc();
        out.push(archived);
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    let left = list_segments(dir).map(|l| l.len()).unwrap_or(0);
    metrics.segments.set(left as i64);
    Ok(out)
}

/// The oldest complete snapshot a point-in-time restore can start from whose data file
/// matches its checksum (a corrupt one is skipped: it cannot be restored from).
fn oldest_verified_snapshot(
    dir: &std::path::Path,
    config: &Config,
) -> Result<Option<Manifest>, RetentionError> {
    let (listed, _) = match store::list(dir) {
        Ok(l) => l,
        Err(e) => {
            if !dir.exists() {
                return Ok(None);
            }
            return Err(RetentionError::Io(e.to_string()));
        }
    };
    let mut usable: Vec<Manifest> = listed
        .into_iter()
        .filter(|l| l.complete)
        .map(|l| l.manifest)
        .filter(|m| {
            m.kind != "safety"
                && m.journal_lsn.is_some()
                && (m.source.remote.is_some() || m.source.database == config.snapshot.database)
        })
        .collect();
    usable.sort_by_key(|m| m.journal_lsn);
    for m in usable {
        match store::checksum_matches(dir, &m) {
            Ok(()) => return Ok(Some(m)),
            Err(e) => {
                warn!(snapshot = %m.id, error = %e, "journal retention: snapshot fails its checksum; not counted for point-in-time restore")
            }
        }
    }
    Ok(None)
}
