//! The durable, hash-chained write journal (format: the `boltward-journal` crate and
//! docs/journal-format.md).
//!
//! - [`Journal`]: open (with recovery), append intents and refusals, tickets for
//!   outcomes in commit order, status.
//! - `writer`: the thread that owns the open segment (group commit, rollover, fail-closed).
//! - [`read`]: offline reading: segment listing, time index, verification.
//! - [`query`]: audit queries over the journal.
//! - [`committed`]: committed transactions streamed in commit order, chain verified.
//! - [`replay`]: committed writes in commit order, replayed into a server.
//! - [`sink`]: the optional `:AuditLogEntry` sink.

pub mod committed;
pub mod query;
pub mod read;
pub mod replay;
pub mod resolve;
pub mod retention;
pub mod sink;
mod writer;

pub use writer::{now_micros, Status, Ticket};

use crate::config;
use crate::metrics::JournalMetrics;
use boltward_journal::entry::Result as TxResult;
use boltward_journal::record::ZERO_HASH;
use boltward_journal::segment::{file_name, SEGMENT_HEADER_LEN};
use boltward_journal::{ChainError, Checkpoint, Entry, Outcome};
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::oneshot;
use tracing::{info, warn};
use writer::{Cmd, Handle, Writer};

/// Why the journal cannot be opened or written.
#[derive(Debug, Clone, Error)]
pub enum JournalError {
    /// The directory cannot be used.
    #[error("journal directory {path}: {reason}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another process has the journal open.
    #[error("journal directory {0} is in use by another boltward (lock held)")]
    Locked(PathBuf),
    /// The journal is corrupt beyond a torn tail; boltward will not append to it.
    #[error("journal is corrupt: {0}; run `boltward audit verify --journal DIR` and move the damaged journal aside")]
    Corrupt(ChainError),
    /// An append failed (disk full, permission, I/O error); writes are refused.
    #[error("journal unavailable: {0}")]
    Unavailable(String),
}

/// What recovery found when the journal was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recovery {
    /// Segment files.
    pub segments: u64,
    /// Records verified.
    pub records: u64,
    /// Bytes of a torn tail that were cut.
    pub torn_bytes: u64,
    /// Intents without outcome (now recorded as in-doubt).
    pub in_doubt: Vec<u64>,
    /// The LSN of the newest record after recovery.
    pub last_lsn: u64,
}

/// Hands out tickets (places in the order of outcomes, see [`Ticket`]): cheap to clone,
/// no I/O until a ticket is resolved.
#[derive(Clone)]
pub struct Tickets(Arc<Handle>);

impl Tickets {
    /// Takes the next place in the order of outcomes for the write `intent`.
    pub fn ticket(&self, intent: u64) -> Ticket {
        Ticket {
            handle: self.0.clone(),
            seq: self.0.next_ticket.fetch_add(1, Ordering::AcqRel),
            intent,
            done: false,
        }
    }

    /// Tickets of no journal: resolving one fails with [`JournalError::Unavailable`]. For
    /// driving a session's state machine without a journal on disk (tests, fuzzing).
    #[doc(hidden)]
    pub fn detached() -> Tickets {
        Tickets(Arc::new(Handle {
            tx: Mutex::new(None),
            next_ticket: Default::default(),
            status: Default::default(),
            metrics: crate::metrics::Metrics::new().journal,
            thread: Mutex::new(None),
        }))
    }
}

/// The journal: cheap to clone, shared by every session.
#[derive(Clone)]
pub struct Journal {
    handle: Arc<Handle>,
    dir: PathBuf,
    recovery: Arc<Recovery>,
}

impl Journal {
    /// Opens (creating if needed) the journal in `cfg.dir`: takes the directory lock,
    /// verifies the chain, cuts a torn tail, records intents without outcome as in-doubt,
    /// writes a checkpoint and starts the writer thread.
    pub fn open(cfg: &config::Journal, metrics: JournalMetrics) -> Result<Journal, JournalError> {
        let dir = cfg.dir.clone();
        let dir_err = |reason: String| JournalError::Dir {
            path: dir.clone(),
            reason,
        };
        std::fs::create_dir_all(&dir).map_err(|e| dir_err(e.to_string()))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(|e| dir_err(format!("LOCK: {e}")))?;
        if lock.try_lock().is_err() {
            return Err(JournalError::Locked(dir));
        }
        let segments = read::list_segments(&dir).map_err(|e| dir_err(e.to_string()))?;
        // After a prune the chain continues from the anchor's hash.
        let (mut chain, _) =
            retention::chain_for(&dir, &segments).map_err(|e| dir_err(e.to_string()))?;
        let mut open_intents = BTreeSet::new();
        let mut torn_bytes = 0u64;
        // Where the records of the newest segment end (appends continue there).
        let mut records_end = SEGMENT_HEADER_LEN;
        let n = segments.len();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == n;
            let bytes =
                std::fs::read(&seg.path).map_err(|e| dir_err(format!("{}: {e}", seg.name)))?;
            let before = (chain.clone(), open_intents.clone());
            let verified = chain.segment(&seg.name, &bytes, last, true, |lsn, _, e| {
                track(&mut open_intents, lsn, e)
            });
            let cut_at = match verified {
                Ok(end) => {
                    records_end = end.records_end;
                    (end.tail > 0).then_some((end.records_end, String::new()))
                }
                Err(e) if last && torn(&bytes, e.offset) => {
                    // Verify exactly what stays, so the chain state is exact.
                    (chain, open_intents) = before;
                    let end = chain
                        .segment(&seg.name, &bytes[..e.offset], true, false, |lsn, _, e| {
                            track(&mut open_intents, lsn, e)
                        })
                        .map_err(JournalError::Corrupt)?;
                    records_end = end.records_end;
                    Some((e.offset, e.problem))
                }
                Err(e) => return Err(JournalError::Corrupt(e)),
            };
            if let Some((offset, problem)) = cut_at {
                torn_bytes = written(&bytes[offset..]);
                warn!(segment = %seg.name, offset, bytes = torn_bytes, problem = %problem, "journal: cut a torn tail (a record that was being written when boltward stopped)");
                cut(&seg.path, offset as u64).map_err(|e| dir_err(e.to_string()))?;
            }
        }
        let status = Arc::new(Status::default());
        let mut writer = if let Some(seg) = segments.last() {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&seg.path)
                .map_err(|e| dir_err(format!("{}: {e}", seg.name)))?;
            let allocated = file.metadata().map_err(|e| dir_err(e.to_string()))?.len();
            Writer {
                dir: dir.clone(),
                file,
                segment_len: records_end as u64,
                allocated,
                segment_records: chain.next_lsn() - seg.first_lsn,
                next_lsn: chain.next_lsn(),
                head: chain.head(),
                sync: cfg.sync,
                interval: Duration::from_millis(cfg.sync_interval_ms),
                segment_bytes: cfg.segment_bytes,
                segments: n as u64,
                metrics: metrics.clone(),
                status: status.clone(),
            }
        } else {
            let path = dir.join(file_name(1));
            let file =
                writer::create_segment(&dir, &path, 1).map_err(|e| dir_err(e.to_string()))?;
            Writer {
                dir: dir.clone(),
                file,
                segment_len: SEGMENT_HEADER_LEN as u64,
                allocated: SEGMENT_HEADER_LEN as u64,
                segment_records: 0,
                next_lsn: 1,
                head: ZERO_HASH,
                sync: cfg.sync,
                interval: Duration::from_millis(cfg.sync_interval_ms),
                segment_bytes: cfg.segment_bytes,
                segments: 1,
                metrics: metrics.clone(),
                status: status.clone(),
            }
        };
        metrics.segments.set(writer.segments as i64);
        let in_doubt: Vec<u64> = open_intents.into_iter().collect();
        let mut startup: Vec<Entry> = in_doubt
            .iter()
            .map(|&intent| {
                Entry::Outcome(Outcome {
                    intent,
                    result: TxResult::InDoubt {
                        reason: "no outcome was recorded before boltward stopped".into(),
                    },
                })
            })
            .collect();
        startup.push(Entry::Checkpoint(Checkpoint {
            tool: env!("CARGO_PKG_VERSION").into(),
            torn_bytes,
            in_doubt: in_doubt.clone(),
        }));
        writer.write(&startup.iter().collect::<Vec<_>>(), true)?;
        if !in_doubt.is_empty() {
            warn!(count = in_doubt.len(), intents = ?in_doubt, "journal: writes without a recorded outcome are in doubt (check them on the server)");
        }
        status
            .in_doubt
            .store(in_doubt.len() as u64, Ordering::Relaxed);
        metrics.in_doubt.set(in_doubt.len() as i64);
        let recovery = Recovery {
            segments: writer.segments,
            records: chain.records(),
            torn_bytes,
            in_doubt,
            last_lsn: writer.next_lsn - 1,
        };
        info!(dir = %dir.display(), segments = recovery.segments, records = recovery.records, last_lsn = recovery.last_lsn, "journal open");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("boltward-journal".into())
            .spawn(move || {
                let _lock = lock;
                writer::run(writer, rx, 0)
            })
            .map_err(|e| dir_err(format!("starting the writer thread: {e}")))?;
        Ok(Journal {
            handle: Arc::new(Handle {
                tx: Mutex::new(Some(tx)),
                next_ticket: Default::default(),
                status,
                metrics,
                thread: Mutex::new(Some(thread)),
            }),
            dir,
            recovery: Arc::new(recovery),
        })
    }

    /// Appends `entry` and waits until it is durable (per the sync mode); its LSN.
    pub async fn append(&self, entry: Entry) -> Result<u64, JournalError> {
        let (reply, rx) = oneshot::channel();
        self.handle.send(Cmd::Append {
            entry: Box::new(entry),
            ticket: None,
            reply: Some(reply),
        })?;
        rx.await.unwrap_or_else(|_| {
            Err(JournalError::Unavailable(
                "the journal writer stopped".into(),
            ))
        })
    }

    /// Appends `entry` without waiting (refusals, events); a failure is logged.
    pub fn record(&self, entry: Entry) {
        if let Err(e) = self.handle.send(Cmd::Append {
            entry: Box::new(entry),
            ticket: None,
            reply: None,
        }) {
            warn!(error = %e, "journal record lost");
        }
    }

    /// Takes the next place in the order of outcomes for the write `intent`.
    pub fn ticket(&self, intent: u64) -> Ticket {
        self.tickets().ticket(intent)
    }

    /// Where places in the order of outcomes are taken (no I/O: sessions' state machines
    /// hold this).
    pub fn tickets(&self) -> Tickets {
        Tickets(self.handle.clone())
    }

    /// Records a write whose outcome is unknown without a ticket (e.g. an auto-commit
    /// interrupted by RESET).
    pub fn in_doubt(&self, intent: u64, reason: &str) {
        let seq = self.handle.next_ticket.fetch_add(1, Ordering::AcqRel);
        let reason = reason.to_owned();
        let _ = self
            .handle
            .outcome(seq, intent, TxResult::InDoubt { reason }, None);
    }

    /// Live status.
    pub fn status(&self) -> &Status {
        &self.handle.status
    }

    /// What recovery found at start-up.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the last append succeeded.
    pub fn is_writable(&self) -> bool {
        self.handle.status.writable.load(Ordering::Acquire)
    }

    /// Writes what is queued, syncs, and stops the writer (idempotent).
    pub fn close(&self) {
        let tx = self
            .handle
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(tx) = tx {
            let (done, wait) = std::sync::mpsc::channel();
            if tx.send(Cmd::Close(done)).is_ok() {
                let _ = wait.recv_timeout(Duration::from_secs(10));
            }
        }
        if let Some(t) = self
            .handle
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = t.join();
        }
    }
}

/// Whether a bad record at `offset` of the newest segment is a torn write rather than
/// corruption: nothing but zeros from there, or a record followed by nothing but zeros
/// (preallocated space) or by the end of the file — its last bytes never landed.
fn torn(bytes: &[u8], offset: usize) -> bool {
    let rest = &bytes[offset.min(bytes.len())..];
    if rest.iter().all(|b| *b == 0) {
        return true;
    }
    rest.get(..4)
        .map(|l| {
            let end = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize + 4;
            rest.len() <= end || rest[end..].iter().all(|b| *b == 0)
        })
        .unwrap_or(true)
}

/// Follows which intents still lack an outcome.
pub(crate) fn track(open: &mut BTreeSet<u64>, lsn: u64, e: &Entry) {
    match e {
        Entry::Intent(_) => {
            open.insert(lsn);
        }
        Entry::Outcome(o) => {
            open.remove(&o.intent);
        }
        _ => {}
    }
}

/// Bytes of `rest` up to its last non-zero byte (what was written of a torn record).
fn written(rest: &[u8]) -> u64 {
    rest.iter()
        .rposition(|b| *b != 0)
        .map_or(0, |p| p as u64 + 1)
}

fn cut(path: &Path, len: u64) -> std::io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}
