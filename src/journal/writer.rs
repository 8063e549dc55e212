//! The journal writer: one thread owns the open segment; sessions send it records and
//! await durability.
//!
//! Group commit: the thread takes every request that is waiting, writes them with one
//! `write`, makes them durable with one `fdatasync`, then answers them all. Under load
//! many commits share one fsync; alone, a commit pays one.
//!
//! Order: outcomes carry a *ticket*, taken when a COMMIT is sent to the server (explicit
//! transactions, and auto-commit writes, which the session runs as transactions it
//! commits itself), or when the result arrives (statements that must stay auto-commit).
//! Outcomes are appended in
//! ticket order, so the journal's order of committed writes is the order boltward sent
//! their commits (docs/journal-format.md explains why that is the server's commit order
//! for conflicting transactions). A ticket dropped without an outcome (the connection
//! died with the commit in flight) appends an in-doubt outcome.

use super::JournalError;
use crate::config::SyncMode;
use crate::metrics::JournalMetrics;
use boltward_journal::entry::Result as TxResult;
use boltward_journal::record::{Hash, Kind, Record};
use boltward_journal::segment::{file_name, SegmentHeader};
use boltward_journal::{Entry, Outcome, FORMAT_VERSION};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tracing::{error, info, warn};

/// Requests taken into one batch at most.
const MAX_BATCH: usize = 4096;
/// Segments grow by this much zero-filled space at a time, so that appends overwrite
/// allocated blocks and `fdatasync` does not have to commit a new file size.
const PREALLOCATE: u64 = 4 * 1024 * 1024;

type Reply = oneshot::Sender<Result<u64, JournalError>>;

pub(super) enum Cmd {
    Append {
        entry: Box<Entry>,
        ticket: Option<u64>,
        reply: Option<Reply>,
    },
    /// Flush and stop.
    Close(std::sync::mpsc::Sender<()>),
}

/// What sessions and the control port can read without asking the thread.
#[derive(Debug, Default)]
pub struct Status {
    /// LSN of the newest durable record.
    pub lsn: AtomicU64,
    /// Whether the last append succeeded.
    pub writable: AtomicBool,
    /// Writes whose outcome is unknown.
    pub in_doubt: AtomicU64,
    /// The last append error, if the journal is not writable.
    pub last_error: Mutex<Option<String>>,
    /// The head hash (hex).
    pub head: Mutex<String>,
    /// Bytes of records in the open segment (its file is larger: preallocated).
    pub open_segment_bytes: AtomicU64,
}

/// The open segment and the chain's head.
pub(super) struct Writer {
    pub(super) dir: PathBuf,
    pub(super) file: File,
    /// End of the last record in the open segment.
    pub(super) segment_len: u64,
    /// Size of the open segment file (records + zero-filled preallocated space).
    pub(super) allocated: u64,
    pub(super) segment_records: u64,
    pub(super) next_lsn: u64,
    pub(super) head: Hash,
    pub(super) sync: SyncMode,
    pub(super) interval: Duration,
    pub(super) segment_bytes: u64,
    pub(super) segments: u64,
    pub(super) metrics: JournalMetrics,
    pub(super) status: Arc<Status>,
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Writer {
    /// Appends and makes durable (per the sync mode) `entries`; returns their LSNs. On
    /// error nothing of the batch stays in the file and the chain does not move.
    pub(super) fn write(
        &mut self,
        entries: &[&Entry],
        force_sync: bool,
    ) -> Result<Vec<u64>, JournalError> {
        if self.segment_len >= self.segment_bytes && self.segment_records > 0 {
            self.roll()?;
        }
        let mut buf = Vec::with_capacity(256 * entries.len());
        let mut lsn = self.next_lsn;
        let mut head = self.head;
        let ts = now_micros();
        let mut lsns = Vec::with_capacity(entries.len());
        for e in entries {
            head = Record::encode(e.kind(), lsn, ts, &head, &e.encode(), &mut buf);
            lsns.push(lsn);
            lsn += 1;
        }
        self.append_bytes(&buf, force_sync || self.sync == SyncMode::Commit)?;
        for e in entries {
            self.metrics
                .records
                .with_label_values(&[e.kind().name()])
                .inc();
        }
        self.metrics.batch_records.observe(entries.len() as f64);
        self.next_lsn = lsn;
        self.head = head;
        self.segment_records += entries.len() as u64;
        self.published();
        Ok(lsns)
    }

    /// Makes the file at least `needed` bytes long, zero-filled, durable: by a
    /// [`PREALLOCATE`] step if the disk has room, else exactly.
    fn reserve(&mut self, needed: u64) -> std::io::Result<()> {
        if needed <= self.allocated {
            return Ok(());
        }
        let from = self.allocated;
        let step = (needed - from).max(PREALLOCATE);
        self.zero_fill(from, step)
            .or_else(|_| self.zero_fill(from, needed - from))
    }

    fn zero_fill(&mut self, from: u64, len: u64) -> std::io::Result<()> {
        const BLOCK: usize = 64 * 1024;
        let zeros = [0u8; BLOCK];
        let end = from + len;
        let mut at = from;
        let mut written = Ok(());
        while at < end && written.is_ok() {
            let n = ((end - at) as usize).min(BLOCK);
            written = self.file.write_all_at(&zeros[..n], at);
            at += n as u64;
        }
        match written.and_then(|_| self.file.sync_all()) {
            Ok(()) => {
                self.allocated = end;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(from);
                Err(e)
            }
        }
    }

    fn append_bytes(&mut self, buf: &[u8], sync: bool) -> Result<(), JournalError> {
        let end = self.segment_len + buf.len() as u64;
        let result = self
            .reserve(end)
            .and_then(|_| self.file.write_all_at(buf, self.segment_len))
            .and_then(|_| if sync { self.fsync() } else { Ok(()) });
        match result {
            Ok(()) => {
                self.segment_len += buf.len() as u64;
                self.metrics.bytes.inc_by(buf.len() as u64);
                Ok(())
            }
            Err(e) => {
                // Cut whatever part of the batch reached the file and the preallocated
                // space after it (this frees space on a full disk), so the segment ends at
                // the last good record and no stale bytes follow it.
                let _ = self.file.set_len(self.segment_len);
                self.allocated = self.segment_len;
                let _ = self.file.sync_all();
                self.metrics.append_errors.inc();
                let err = JournalError::Unavailable(e.to_string());
                self.set_writable(false, Some(err.to_string()));
                Err(err)
            }
        }
    }

    fn fsync(&mut self) -> std::io::Result<()> {
        let t = Instant::now();
        self.file.sync_data()?;
        self.metrics.fsyncs.inc();
        self.metrics
            .fsync_seconds
            .observe(t.elapsed().as_secs_f64());
        Ok(())
    }

    /// Seals the open segment with a rollover record and starts the next one.
    fn roll(&mut self) -> Result<(), JournalError> {
        let next = self.next_lsn + 1;
        let mut buf = Vec::new();
        let head = Record::encode(
            Kind::Rollover,
            self.next_lsn,
            now_micros(),
            &self.head,
            &Entry::Rollover { next_lsn: next }.encode(),
            &mut buf,
        );
        let path = self.dir.join(file_name(next));
        let file = create_segment(&self.dir, &path, next)
            .map_err(|e| JournalError::Unavailable(format!("creating {}: {e}", path.display())))?;
        if let Err(e) = self.append_bytes(&buf, true) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        // A sealed segment keeps no preallocated space.
        let _ = self.file.set_len(self.segment_len);
        let _ = self.file.sync_all();
        self.metrics.records.with_label_values(&["rollover"]).inc();
        self.next_lsn = next;
        self.head = head;
        self.file = file;
        self.segment_len = boltward_journal::segment::SEGMENT_HEADER_LEN as u64;
        self.allocated = self.segment_len;
        self.segment_records = 0;
        // Counted from the directory: retention removes segments behind the writer.
        self.segments = super::read::list_segments(&self.dir)
            .map(|l| l.len() as u64)
            .unwrap_or(self.segments + 1);
        self.metrics.segments.set(self.segments as i64);
        info!(segment = %path.display(), first_lsn = next, "journal segment rolled over");
        Ok(())
    }

    fn published(&self) {
        let lsn = self.next_lsn.saturating_sub(1);
        self.status.lsn.store(lsn, Ordering::Release);
        self.status
            .open_segment_bytes
            .store(self.segment_len, Ordering::Release);
        self.metrics.lsn.set(lsn as i64);
        *self.status.head.lock().unwrap_or_else(|p| p.into_inner()) =
            boltward_journal::record::hex(&self.head);
        self.set_writable(true, None);
    }

    fn set_writable(&self, ok: bool, err: Option<String>) {
        let was = self.status.writable.swap(ok, Ordering::AcqRel);
        self.metrics.writable.set(ok as i64);
        if was != ok {
            if ok {
                info!("journal writable again: writes resume");
            } else {
                error!(
                    error = err.as_deref().unwrap_or(""),
                    "journal cannot write: writes are refused until it can"
                );
            }
        }
        *self
            .status
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = err;
    }

    fn sync_now(&mut self) {
        if let Err(e) = self.fsync() {
            warn!(error = %e, "journal interval fsync failed");
            self.set_writable(false, Some(e.to_string()));
        }
    }
}

/// Creates a segment file with its header, durable (file and directory).
pub(super) fn create_segment(
    dir: &std::path::Path,
    path: &std::path::Path,
    first_lsn: u64,
) -> std::io::Result<File> {
    let mut f = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(path)?;
    let header = SegmentHeader {
        version: FORMAT_VERSION,
        first_lsn,
    };
    let written = f.write_all(&header.encode()).and_then(|_| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    File::open(dir)?.sync_all()?;
    Ok(f)
}

struct Pending {
    entry: Entry,
    reply: Option<Reply>,
}

/// The writer thread's loop: batch, order by ticket, write, answer.
pub(super) fn run(mut w: Writer, rx: Receiver<Cmd>, first_ticket: u64) {
    let mut next_ticket = first_ticket;
    let mut parked: BTreeMap<u64, Pending> = BTreeMap::new();
    let mut dirty_since: Option<Instant> = None;
    loop {
        let first = match dirty_since {
            Some(t) => match rx.recv_timeout(w.interval.saturating_sub(t.elapsed())) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(c) => Some(c),
                Err(_) => break,
            },
        };
        let mut ready: Vec<Pending> = Vec::new();
        let mut close: Option<std::sync::mpsc::Sender<()>> = None;
        let mut take =
            |cmd: Cmd, ready: &mut Vec<Pending>, parked: &mut BTreeMap<u64, Pending>| match cmd {
                Cmd::Append {
                    entry,
                    ticket: Some(t),
                    reply,
                } => {
                    parked.insert(
                        t,
                        Pending {
                            entry: *entry,
                            reply,
                        },
                    );
                }
                Cmd::Append {
                    entry,
                    ticket: None,
                    reply,
                } => ready.push(Pending {
                    entry: *entry,
                    reply,
                }),
                Cmd::Close(done) => close = Some(done),
            };
        if let Some(c) = first {
            take(c, &mut ready, &mut parked);
            while ready.len() + parked.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(c) => take(c, &mut ready, &mut parked),
                    Err(_) => break,
                }
            }
        }
        while let Some(p) = parked.remove(&next_ticket) {
            ready.push(p);
            next_ticket += 1;
        }
        if !ready.is_empty() {
            let entries: Vec<&Entry> = ready.iter().map(|p| &p.entry).collect();
            let result = w.write(&entries, false);
            for (i, p) in ready.into_iter().enumerate() {
                if let Some(reply) = p.reply {
                    let _ = reply.send(match &result {
                        Ok(lsns) => Ok(lsns[i]),
                        Err(e) => Err(e.clone()),
                    });
                } else if let Err(e) = &result {
                    warn!(error = %e, kind = p.entry.kind().name(), "journal record lost: the journal cannot write");
                }
            }
            if result.is_ok() && w.sync == SyncMode::Interval {
                dirty_since.get_or_insert_with(Instant::now);
            }
        }
        if dirty_since.is_some_and(|t| t.elapsed() >= w.interval) {
            w.sync_now();
            dirty_since = None;
        }
        if let Some(done) = close {
            finish(&mut w, &mut parked);
            let _ = done.send(());
            return;
        }
    }
    finish(&mut w, &mut parked);
}

/// Writes what is still parked (their earlier tickets will never come) and syncs.
fn finish(w: &mut Writer, parked: &mut BTreeMap<u64, Pending>) {
    let rest: Vec<Pending> = std::mem::take(parked).into_values().collect();
    if !rest.is_empty() {
        let entries: Vec<&Entry> = rest.iter().map(|p| &p.entry).collect();
        let result = w.write(&entries, true);
        for (i, p) in rest.into_iter().enumerate() {
            if let Some(reply) = p.reply {
                let _ = reply.send(result.as_ref().map(|l| l[i]).map_err(Clone::clone));
            }
        }
    }
    w.sync_now();
}

/// The sending side, shared by every [`super::Journal`] clone.
pub(super) struct Handle {
    pub(super) tx: Mutex<Option<Sender<Cmd>>>,
    pub(super) next_ticket: AtomicU64,
    pub(super) status: Arc<Status>,
    pub(super) metrics: JournalMetrics,
    pub(super) thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Handle {
    /// Queues the outcome of `intent` at ticket `seq`, counting it if it is in doubt.
    pub(super) fn outcome(
        &self,
        seq: u64,
        intent: u64,
        result: TxResult,
        reply: Option<Reply>,
    ) -> Result<(), JournalError> {
        if matches!(result, TxResult::InDoubt { .. }) {
            self.status.in_doubt.fetch_add(1, Ordering::Relaxed);
            self.metrics.in_doubt.inc();
        }
        self.send(Cmd::Append {
            entry: Box::new(Entry::Outcome(Outcome { intent, result })),
            ticket: Some(seq),
            reply,
        })
    }

    pub(super) fn send(&self, cmd: Cmd) -> Result<(), JournalError> {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match tx.as_ref() {
            Some(tx) => tx
                .send(cmd)
                .map_err(|_| JournalError::Unavailable("the journal writer stopped".into())),
            None => Err(JournalError::Unavailable("the journal is closed".into())),
        }
    }
}

/// A place in the order of outcomes; see the module docs.
pub struct Ticket {
    pub(super) handle: Arc<Handle>,
    pub(super) seq: u64,
    pub(super) intent: u64,
    pub(super) done: bool,
}

impl Ticket {
    /// Appends the outcome of the ticket's intent in ticket order and waits until it is
    /// durable.
    pub async fn resolve(mut self, result: TxResult) -> Result<u64, JournalError> {
        self.done = true;
        let (reply, rx) = oneshot::channel();
        self.handle
            .outcome(self.seq, self.intent, result, Some(reply))?;
        rx.await.unwrap_or_else(|_| {
            Err(JournalError::Unavailable(
                "the journal writer stopped".into(),
            ))
        })
    }

    /// The intent this ticket belongs to.
    pub fn intent(&self) -> u64 {
        self.intent
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        warn!(intent = self.intent, "commit outcome unknown (connection lost with the commit in flight): recorded as in-doubt");
        let reason = "the connection ended before the commit's answer arrived".into();
        let _ = self
            .handle
            .outcome(self.seq, self.intent, TxResult::InDoubt { reason }, None);
    }
}
