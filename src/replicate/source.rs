//! What a remote still needs from the journal: the committed transactions after its
//! marker, in commit order (the order outcomes were journaled), with their outcome LSNs.
//! Memory holds only the intents whose outcome is not yet read and at most `limit`
//! transactions; a transaction in doubt stops the batch (it is resolved, never guessed).

use crate::journal::read::{list_segments, scan, ReadError};
use boltward_journal::entry::Result as TxResult;
use boltward_journal::{Entry, Intent};
use std::collections::HashMap;
use std::path::Path;

/// One committed transaction a remote has not applied.
#[derive(Debug)]
pub struct Pending {
    /// Its outcome LSN (its place in commit order).
    pub lsn: u64,
    /// What was written.
    pub intent: Intent,
    /// The primary's update counters, summed over its statements.
    pub stats: boltward_protocol::Map,
    /// When its outcome was journaled (µs since the Unix epoch).
    pub ts_micros: i64,
}

/// The next transactions a remote applies.
#[derive(Debug, Default)]
pub struct Batch {
    /// Committed transactions after the marker, oldest first.
    pub committed: Vec<Pending>,
    /// The outcome LSN of a transaction in doubt the remote has reached: nothing after it
    /// is applied until it is resolved.
    pub in_doubt: Option<u64>,
    /// More committed transactions follow (the batch is full).
    pub more: bool,
    /// The newest LSN in the journal.
    pub last_lsn: u64,
}

/// Reads up to `limit` committed transactions whose outcome LSN is after `after`.
pub fn committed_after(dir: &Path, after: u64, limit: usize) -> Result<Batch, ReadError> {
    let segments =
        list_segments(dir).map_err(|e| ReadError::Io(format!("{}: {e}", dir.display())))?;
    let mut open: HashMap<u64, Intent> = HashMap::new();
    let mut batch = Batch::default();
    let mut stopped = false;
    scan(&segments, |lsn, ts_micros, entry| {
        batch.last_lsn = lsn;
        match entry {
            Entry::Intent(i) => {
                open.insert(lsn, i);
            }
            Entry::Outcome(o) => {
                let Some(intent) = open.remove(&o.intent) else {
                    return;
                };
                if lsn <= after || stopped {
                    return;
                }
                match o.result {
                    TxResult::Committed { stats, .. } if batch.committed.len() < limit => {
                        batch.committed.push(Pending {
                            lsn,
                            intent,
                            stats,
                            ts_micros,
                        });
                    }
                    TxResult::Committed { .. } => {
                        batch.more = true;
                        stopped = true;
                    }
                    TxResult::InDoubt { .. } => {
                        batch.in_doubt = Some(lsn);
                        stopped = true;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    })?;
    Ok(batch)
}
