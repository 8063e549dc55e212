//! What a remote still needs from the journal: the committed transactions after its
//! marker, in commit order (the order outcomes were journaled), read incrementally.
//!
//! A [`Tail`] follows the journal files as they grow: it remembers the segment and byte
//! offset it reached, so each record is read once (segments are preallocated with zeros;
//! only written records are read). Memory holds the intents whose outcome is not yet read
//! and at most `limit` transactions waiting to be applied. A transaction in doubt stops
//! the reading before it: it is resolved, never guessed.

use crate::journal::read::{list_segments, ReadError};
use boltward_journal::entry::Result as TxResult;
use boltward_journal::record::{Record, MAX_PAYLOAD};
use boltward_journal::segment::SEGMENT_HEADER_LEN;
use boltward_journal::{Entry, Intent};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One committed transaction a remote has not applied.
#[derive(Debug)]
pub struct Pending {
    /// Its outcome LSN (its place in commit order).
    pub lsn: u64,
    /// What was written.
    pub intent: Intent,
    /// The primary's update counters, summed over its statements (`None`: a transaction
    /// in doubt resolved as committed, whose counters were never known).
    pub stats: Option<boltward_protocol::Map>,
    /// When its outcome was journaled (µs since the Unix epoch).
    pub ts_micros: i64,
}

/// Bytes read from a segment at a time (grown for a larger record).
const CHUNK: usize = 1 << 20;

/// The journal followed from a remote's marker.
pub struct Tail {
    dir: PathBuf,
    /// Outcomes at or before this LSN were applied already.
    after: u64,
    /// The segment being read (its first LSN) and the offset of its next record.
    segment: Option<u64>,
    pos: u64,
    /// Intents without an outcome yet, by LSN.
    open: HashMap<u64, Intent>,
    /// Committed transactions read and not yet taken.
    pub pending: VecDeque<Pending>,
    /// The outcome LSN of a transaction in doubt reached (reading stops before it).
    pub in_doubt: Option<u64>,
    /// The LSN of the last record read.
    pub last_lsn: u64,
    /// Reading stopped because `pending` is full (more may follow).
    pub more: bool,
    /// Operators' decisions on transactions in doubt (re-read while stopped at one).
    resolutions: crate::journal::resolve::Resolutions,
}

impl Tail {
    /// Follows the journal in `dir`, yielding outcomes after `after`. The first read goes
    /// through the journal from its start (an intent journaled before `after` may commit
    /// after it); later reads continue where the last one stopped.
    pub fn new(dir: &Path, after: u64) -> Tail {
        Tail {
            dir: dir.to_owned(),
            after,
            segment: None,
            pos: SEGMENT_HEADER_LEN as u64,
            open: HashMap::new(),
            pending: VecDeque::new(),
            in_doubt: None,
            last_lsn: 0,
            more: false,
            resolutions: crate::journal::resolve::load(dir).unwrap_or_default(),
        }
    }

    /// Reads until `limit` transactions wait, the journal's written end, or a transaction
    /// in doubt.
    pub fn fill(&mut self, limit: usize) -> Result<(), ReadError> {
        self.more = false;
        if self.in_doubt.take().is_some() {
            // Stopped at one: has an operator decided it since?
            self.resolutions = crate::journal::resolve::load(&self.dir)?;
        }
        let dir = self.dir.clone();
        let io = |e: std::io::Error| ReadError::Io(format!("{}: {e}", dir.display()));
        loop {
            if self.pending.len() >= limit {
                self.more = true;
                return Ok(());
            }
            let segments = list_segments(&self.dir).map_err(io)?;
            let current = match self.segment {
                Some(first) => segments.iter().find(|s| s.first_lsn == first),
                None => segments.first(),
            };
            let Some(current) = current else {
                return Ok(()); // no journal yet (or it was replaced: the marker check says so)
            };
            self.segment = Some(current.first_lsn);
            let path = current.path.clone();
            let next = segments
                .iter()
                .find(|s| s.first_lsn > current.first_lsn)
                .map(|s| s.path.clone());
            let progressed = self.read_segment(&path, limit)?;
            if self.in_doubt.is_some() || self.pending.len() >= limit {
                self.more = self.pending.len() >= limit;
                return Ok(());
            }
            // The written end of this segment: move on once the next one has records (the
            // writer only writes there after it is done with this one).
            match next {
                Some(next) if has_records(&next) => {
                    self.segment = segments
                        .iter()
                        .find(|s| s.path == next)
                        .map(|s| s.first_lsn);
                    self.pos = SEGMENT_HEADER_LEN as u64;
                }
                _ if progressed => continue,
                _ => return Ok(()),
            }
        }
    }

    /// Reads the records of `path` from `self.pos`; whether any was read.
    fn read_segment(&mut self, path: &Path, limit: usize) -> Result<bool, ReadError> {
        let err = |e: String| ReadError::Io(format!("{}: {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut chunk = CHUNK;
        let mut progressed = false;
        loop {
            file.seek(SeekFrom::Start(self.pos))
                .map_err(|e| err(e.to_string()))?;
            let mut buf = Vec::with_capacity(chunk);
            (&mut file)
                .take(chunk as u64)
                .read_to_end(&mut buf)
                .map_err(|e| err(e.to_string()))?;
            let mut at = 0;
            let mut whole = false;
            while self.pending.len() < limit {
                match Record::decode(&buf[at..]) {
                    Ok(Some((r, n))) => {
                        let entry = Entry::decode(r.kind, r.payload)
                            .map_err(|e| err(format!("LSN {}: {e}", r.lsn)))?;
                        if !self.take(r.lsn, r.ts_micros, entry) {
                            return Ok(progressed); // in doubt: stop before it
                        }
                        self.last_lsn = r.lsn;
                        at += n;
                        self.pos += n as u64;
                        progressed = true;
                    }
                    // The chunk ends inside a record: read on from it.
                    Ok(None) if buf.len() == chunk && at == 0 => {
                        whole = true;
                        break;
                    }
                    Ok(None) if buf.len() == chunk => break,
                    // Zeros (preallocated space), a record still being written, or the
                    // file's end: the written end for now.
                    Ok(None) | Err(_) => return Ok(progressed),
                }
            }
            if self.pending.len() >= limit {
                return Ok(progressed);
            }
            if whole {
                if chunk >= MAX_PAYLOAD + 1024 {
                    return Ok(progressed);
                }
                chunk *= 4;
            }
        }
    }

    /// Takes one record in; `false` for an outcome in doubt (not consumed).
    fn take(&mut self, lsn: u64, ts_micros: i64, entry: Entry) -> bool {
        match entry {
            Entry::Intent(i) => {
                self.open.insert(lsn, i);
            }
            Entry::Outcome(o) => {
                if lsn > self.after && matches!(o.result, TxResult::InDoubt { .. }) {
                    use crate::journal::resolve::Resolution;
                    match self.resolutions.get(&lsn) {
                        _ if !self.open.contains_key(&o.intent) => {}
                        None => {
                            self.in_doubt = Some(lsn);
                            return false;
                        }
                        Some(Resolution::RolledBack) => {
                            self.open.remove(&o.intent);
                        }
                        Some(Resolution::Committed) => {
                            if let Some(intent) = self.open.remove(&o.intent) {
                                self.pending.push_back(Pending {
                                    lsn,
                                    intent,
                                    stats: None,
                                    ts_micros,
                                });
                            }
                        }
                    }
                    return true;
                }
                let Some(intent) = self.open.remove(&o.intent) else {
                    return true;
                };
                if let (TxResult::Committed { stats, .. }, true) = (o.result, lsn > self.after) {
                    self.pending.push_back(Pending {
                        lsn,
                        intent,
                        stats: Some(stats),
                        ts_micros,
                    });
                }
            }
            _ => {}
        }
        true
    }
}

/// Whether a segment file holds at least one record.
fn has_records(path: &Path) -> bool {
    matches!(crate::journal::read::first_timestamp(path), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::committed::tests::{committed, Builder};

    fn in_doubt() -> TxResult {
        TxResult::InDoubt {
            reason: "crash".into(),
        }
    }

    fn lsns(t: &mut Tail) -> Vec<u64> {
        t.pending.drain(..).map(|p| p.lsn).collect()
    }

    /// Zero bytes after the written records, as the writer preallocates them.
    fn pad(dir: &Path) {
        use std::io::Write;
        for s in list_segments(dir).unwrap() {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&s.path)
                .unwrap();
            f.write_all(&[0u8; 4096]).unwrap();
        }
    }

    #[test]
    fn committed_outcomes_come_in_commit_order_across_segments_a_batch_at_a_time() {
        let mut b = Builder::new();
        let i1 = b.intent(1);
        let i2 = b.intent(2);
        let a = b.outcome(i2, committed());
        b.roll();
        let c = b.outcome(i1, committed()); // its intent is in the first segment
        let i3 = b.intent(3);
        b.outcome(
            i3,
            TxResult::RolledBack {
                reason: "client".into(),
            },
        );
        let i4 = b.intent(4);
        b.roll();
        let d = b.outcome(i4, committed());
        let dir = b.finish().to_owned();
        pad(&dir);

        let mut t = Tail::new(&dir, 0);
        t.fill(2).unwrap();
        assert!(t.more, "the batch is full");
        assert_eq!(lsns(&mut t), [a, c]);
        t.fill(2).unwrap();
        assert!(!t.more);
        assert_eq!(lsns(&mut t), [d], "rolled-back transactions are skipped");
        t.fill(2).unwrap();
        assert!(t.pending.is_empty(), "nothing is read twice");

        // After a marker: an intent journaled before it that committed after it counts.
        let mut t = Tail::new(&dir, a);
        t.fill(10).unwrap();
        assert_eq!(lsns(&mut t), [c, d]);
        assert_eq!(t.last_lsn, d);
    }

    #[test]
    fn reading_stops_before_a_transaction_in_doubt() {
        let mut b = Builder::new();
        let i1 = b.intent(1);
        let a = b.outcome(i1, committed());
        let i2 = b.intent(2);
        let doubt = b.outcome(i2, in_doubt());
        let i3 = b.intent(3);
        b.outcome(i3, committed());
        let dir = b.finish().to_owned();
        let mut t = Tail::new(&dir, 0);
        t.fill(10).unwrap();
        assert_eq!(lsns(&mut t), [a]);
        assert_eq!(t.in_doubt, Some(doubt));
        t.fill(10).unwrap();
        assert_eq!(t.in_doubt, Some(doubt), "it stays stopped there");
        assert!(t.pending.is_empty());
    }

    #[test]
    fn a_resolved_transaction_in_doubt_is_applied_or_skipped_as_decided() {
        use crate::journal::resolve::{save, Resolution, Resolutions};
        let mut b = Builder::new();
        let i1 = b.intent(1);
        let doubt1 = b.outcome(i1, in_doubt());
        let i2 = b.intent(2);
        let doubt2 = b.outcome(i2, in_doubt());
        let i3 = b.intent(3);
        let c = b.outcome(i3, committed());
        let dir = b.finish().to_owned();
        let mut t = Tail::new(&dir, 0);
        t.fill(10).unwrap();
        assert_eq!(t.in_doubt, Some(doubt1));

        // The first committed on the primary: it comes, without counters to compare.
        save(&dir, &Resolutions::from([(doubt1, Resolution::Committed)])).unwrap();
        t.fill(10).unwrap();
        assert_eq!(t.in_doubt, Some(doubt2), "the next one stops it again");
        let p = t.pending.pop_front().unwrap();
        assert_eq!((p.lsn, p.stats.is_none()), (doubt1, true));

        // The second did not: it is skipped, and reading goes on.
        save(
            &dir,
            &Resolutions::from([
                (doubt1, Resolution::Committed),
                (doubt2, Resolution::RolledBack),
            ]),
        )
        .unwrap();
        t.fill(10).unwrap();
        assert_eq!(t.in_doubt, None);
        assert_eq!(lsns(&mut t), [c]);
    }

    #[test]
    fn a_growing_journal_is_followed_from_where_reading_stopped() {
        let mut b = Builder::new();
        let i1 = b.intent(1);
        let a = b.outcome(i1, committed());
        let dir = b.finish().to_owned();
        pad(&dir);
        let mut t = Tail::new(&dir, 0);
        t.fill(10).unwrap();
        assert_eq!(lsns(&mut t), [a]);

        // The writer appends over the preallocated zeros, then rolls to a new segment.
        let i2 = b.intent(2);
        let c = b.outcome(i2, committed());
        b.finish();
        pad(&dir);
        t.fill(10).unwrap();
        assert_eq!(lsns(&mut t), [c]);
        let i3 = b.intent(3);
        b.roll();
        let d = b.outcome(i3, committed());
        b.finish();
        pad(&dir);
        t.fill(10).unwrap();
        assert_eq!(lsns(&mut t), [d]);
        assert_eq!(t.last_lsn, d);
    }
}
