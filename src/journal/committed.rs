//! The committed transactions of a journal directory, streamed in commit order.
//!
//! [`Committed`] walks the segments oldest first, one segment in memory at a time,
//! verifying the hash chain as [`read::verify`](super::read::verify) does (a live
//! journal's newest segment may end in a record being written). An intent is kept until
//! its outcome arrives — later in the same segment or in a later one — so what stays in
//! memory is the intents in flight, not the journal. Transactions come out in the order
//! of their outcome records, which is the journal's (and the server's) commit order;
//! rolled-back, failed and in-doubt transactions are skipped.

use super::read::{first_timestamp, list_segments, ReadError, SegmentFile};
use boltward_journal::entry::Result as TxResult;
use boltward_journal::{Chain, Entry, Intent};
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// One committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedTx {
    /// The LSN of its intent record.
    pub intent_lsn: u64,
    /// The LSN of its outcome record: its place in commit order.
    pub lsn: u64,
    /// When the outcome was journaled (µs since the Unix epoch).
    pub ts_micros: i64,
    /// What was written.
    pub intent: Intent,
    /// The server's answer ([`TxResult::Committed`]: bookmark, query type, counters).
    pub result: TxResult,
}

/// An iterator over the committed transactions of a journal directory (see the module).
///
/// After an error (unreadable file, broken chain) it ends; the transactions before the
/// bad record have been yielded.
pub struct Committed {
    segments: std::vec::IntoIter<SegmentFile>,
    chain: Chain,
    /// Intents without an outcome yet, by LSN.
    open: HashMap<u64, Intent>,
    /// The most intents that were open at once.
    max_open: usize,
    /// Committed transactions of the segment read last, not yet yielded.
    ready: VecDeque<CommittedTx>,
    /// Yielded after `ready` is drained; then the iterator ends.
    failed: Option<ReadError>,
    after: Option<u64>,
    upto: Option<u64>,
    done: bool,
}

impl Committed {
    /// The committed transactions of the journal in `dir` whose outcome LSN is after
    /// `after` (all when `None`). The whole journal is still read: an intent journaled
    /// before `after` may commit after it.
    pub fn open(dir: &Path, after: Option<u64>) -> Result<Committed, ReadError> {
        let mut segments =
            list_segments(dir).map_err(|e| ReadError::Io(format!("{}: {e}", dir.display())))?;
        // The writer creates the next segment before it seals the current one: a live
        // journal can show a newest segment without records after one without its
        // rollover. The empty one has nothing to read; the one before it is then the tail.
        if segments.len() > 1 {
            let newest = segments.last().map(|s| first_timestamp(&s.path));
            if let Some(Ok(None)) = newest {
                segments.pop();
            }
        }
        let (chain, _) = super::retention::chain_for(dir, &segments)?;
        Ok(Committed {
            segments: segments.into_iter(),
            chain,
            open: HashMap::new(),
            max_open: 0,
            ready: VecDeque::new(),
            failed: None,
            after,
            upto: None,
            done: false,
        })
    }

    /// Stops at LSN `upto` (inclusive): records after it are not looked at.
    pub fn upto(mut self, upto: Option<u64>) -> Committed {
        self.upto = upto;
        self
    }

    /// Intents read whose outcome has not been read yet.
    pub fn open_intents(&self) -> usize {
        self.open.len()
    }

    /// The most intents that were open at once so far: the transactions in flight.
    pub fn max_open_intents(&self) -> usize {
        self.max_open
    }

    /// Reads and verifies the next segment into `ready`; false when there is none.
    fn next_segment(&mut self) -> bool {
        let Some(seg) = self.segments.next() else {
            return false;
        };
        if self.upto.is_some_and(|u| seg.first_lsn > u) {
            return false;
        }
        let bytes = match std::fs::read(&seg.path) {
            Ok(b) => b,
            Err(e) => {
                self.failed = Some(ReadError::Io(format!("{}: {e}", seg.name)));
                return true;
            }
        };
        let last = self.segments.len() == 0;
        let Committed {
            chain,
            open,
            max_open,
            ready,
            after,
            upto,
            ..
        } = self;
        let verified = chain.segment_entries(&seg.name, &bytes, last, true, |lsn, ts, e| {
            if upto.is_some_and(|u| lsn > u) {
                return;
            }
            match e {
                Entry::Intent(i) => {
                    open.insert(lsn, i);
                    *max_open = (*max_open).max(open.len());
                }
                Entry::Outcome(o) => {
                    let Some(intent) = open.remove(&o.intent) else {
                        return;
                    };
                    if matches!(o.result, TxResult::Committed { .. })
                        && after.is_none_or(|a| lsn > a)
                    {
                        ready.push_back(CommittedTx {
                            intent_lsn: o.intent,
                            lsn,
                            ts_micros: ts,
                            intent,
                            result: o.result,
                        });
                    }
                }
                _ => {}
            }
        });
        if let Err(e) = verified {
            self.failed = Some(e.into());
        }
        true
    }
}

impl Iterator for Committed {
    type Item = Result<CommittedTx, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(tx) = self.ready.pop_front() {
                return Some(Ok(tx));
            }
            if self.done {
                return None;
            }
            if let Some(e) = self.failed.take() {
                self.done = true;
                return Some(Err(e));
            }
            if !self.next_segment() {
                self.done = true;
            }
        }
    }
}

#[cfg(test)]
#[path = "committed_tests.rs"]
pub(crate) mod tests;
