//! Point-in-time restore: which snapshot to start from and which journaled transactions
//! to replay after it, up to a transaction (LSN) or a commit time.
//!
//! The target is inclusive. `Until::Lsn(n)` replays every committed transaction whose
//! outcome LSN is at most `n`. `Until::Time(t)` replays, in commit order, every committed
//! transaction up to the first one boltward journaled as committed after `t` (the commit
//! time is the time of the outcome record: boltward's clock when the server's answer to
//! the COMMIT arrived). The snapshot is the newest complete one of the journaled server
//! whose LSN is at or before that point. Planning only reads files: it is the same for
//! `--dry-run` and for the restore itself.

use crate::journal::committed::Committed;
use crate::journal::read::{list_segments, ReadError};
use crate::snapshot::store::Manifest;
use boltward_journal::entry::Result as TxResult;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How far a point-in-time restore goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// Up to and including the transaction whose outcome LSN this is.
    Lsn(u64),
    /// Up to and including the last transaction committed at or before this time (RFC 3339).
    Time(String),
}

impl Until {
    /// `--until`: a number is an LSN, anything else must be an RFC 3339 time.
    pub fn parse(s: &str) -> Result<Until, PlanError> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse()
                .map(Until::Lsn)
                .map_err(|_| PlanError::Until(format!("{s:?} is too large for an LSN")));
        }
        micros(s)?;
        Ok(Until::Time(s.to_owned()))
    }
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Until::Lsn(n) => write!(f, "LSN {n}"),
            Until::Time(t) => write!(f, "{t}"),
        }
    }
}

fn micros(t: &str) -> Result<i64, PlanError> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
        .map_err(|_| {
            PlanError::Until(format!(
                "{t:?} is neither an LSN nor an RFC 3339 time (2026-11-22T10:00:00Z)"
            ))
        })
}

/// Why no point-in-time restore can be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// `--until` does not parse or lies beyond the journal.
    #[error("--until: {0}")]
    Until(String),
    /// No complete snapshot of the journaled server at or before the target.
    #[error("no complete snapshot at or before {0}: a point-in-time restore starts from a snapshot taken before the target")]
    NoSnapshot(String),
    /// The snapshot named does not fit the target.
    #[error("{0}")]
    Snapshot(String),
    /// The journal was pruned past the snapshot.
    #[error("the journal no longer reaches back to snapshot {snapshot} (LSN {lsn}): it starts at LSN {first}; pick a newer snapshot or a later target")]
    Pruned {
        /// The snapshot.
        snapshot: String,
        /// Its LSN.
        lsn: u64,
        /// The oldest LSN the journal holds.
        first: u64,
    },
    /// The journal cannot be read or its hash chain is broken.
    #[error("reading the journal: {0}")]
    Journal(#[from] ReadError),
}

/// A statement in the range that may replay differently (see [`crate::cypher::replay`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnsafeStatement {
    /// The transaction's outcome LSN.
    pub lsn: u64,
    /// What makes it unsafe to replay.
    pub hazards: Vec<String>,
    /// The statement (its first 200 characters).
    pub statement: String,
}

/// What a point-in-time restore will do (`restore start --until … --dry-run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The snapshot loaded first.
    pub snapshot: String,
    /// Its journal LSN: every transaction committed at or before it is in it.
    pub snapshot_lsn: u64,
    /// When it was taken, RFC 3339.
    pub snapshot_created: String,
    /// The target asked for.
    pub until: Until,
    /// Transactions with an outcome LSN in (`snapshot_lsn`, `end_lsn`] are replayed.
    pub end_lsn: u64,
    /// How many.
    pub transactions: u64,
    /// The outcome LSN of the last one replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_lsn: Option<u64>,
    /// Commit time of the first one replayed, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_commit: Option<String>,
    /// Commit time of the last one replayed, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<String>,
    /// Statements in the range that may replay differently (at most 100 listed).
    pub unsafe_statements: Vec<UnsafeStatement>,
    /// How many such statements there are.
    pub unsafe_total: u64,
    /// The oldest LSN the journal holds.
    pub journal_first_lsn: u64,
    /// The newest LSN the journal holds.
    pub journal_last_lsn: u64,
}

/// What planning reads.
pub struct Inputs<'a> {
    /// The journal directory.
    pub journal: &'a Path,
    /// The journal's newest LSN.
    pub journal_lsn: u64,
    /// Complete snapshots of the server the journal records.
    pub snapshots: &'a [Manifest],
    /// The snapshot asked for, if one was.
    pub snapshot: Option<&'a str>,
    /// The database the journal's writes are filtered on (`snapshot.database`).
    pub database: Option<&'a str>,
}

/// Unsafe statements listed in a plan at most.
const MAX_LISTED: usize = 100;

/// Plans a restore to `until` (see the module for what the target means).
pub fn plan(inputs: &Inputs<'_>, until: &Until) -> Result<Plan, PlanError> {
    let end = match until {
        Until::Lsn(n) if *n > inputs.journal_lsn => {
            return Err(PlanError::Until(format!(
                "LSN {n} is beyond the journal, which ends at LSN {}",
                inputs.journal_lsn
            )))
        }
        Until::Lsn(n) => *n,
        Until::Time(t) => end_at_time(inputs, micros(t)?)?,
    };
    let manifest = choose(inputs, end, until)?;
    let snapshot_lsn = manifest.journal_lsn.unwrap_or(0);
    let first = list_segments(inputs.journal)
        .map_err(|e| ReadError::Io(format!("{}: {e}", inputs.journal.display())))?
        .first()
        .map_or(inputs.journal_lsn + 1, |s| s.first_lsn);
    if first > snapshot_lsn + 1 {
        return Err(PlanError::Pruned {
            snapshot: manifest.id.clone(),
            lsn: snapshot_lsn,
            first,
        });
    }
    let mut plan = Plan {
        snapshot: manifest.id.clone(),
        snapshot_lsn,
        snapshot_created: manifest.created.clone(),
        until: until.clone(),
        end_lsn: end,
        transactions: 0,
        last_lsn: None,
        first_commit: None,
        last_commit: None,
        unsafe_statements: Vec::new(),
        unsafe_total: 0,
        journal_first_lsn: first,
        journal_last_lsn: inputs.journal_lsn,
    };
    for tx in replayed(inputs.journal, snapshot_lsn, end, inputs.database)? {
        let tx = tx?;
        let at = crate::journal::query::rfc3339(tx.ts_micros);
        plan.first_commit.get_or_insert_with(|| at.clone());
        plan.last_commit = Some(at);
        plan.last_lsn = Some(tx.lsn);
        plan.transactions += 1;
        for run in crate::journal::replay::runs(&tx.intent).unwrap_or_default() {
            let c = crate::cypher::classify(&run.query);
            if c.replay.is_empty() {
                continue;
            }
            plan.unsafe_total += 1;
            if plan.unsafe_statements.len() < MAX_LISTED {
                plan.unsafe_statements.push(UnsafeStatement {
                    lsn: tx.lsn,
                    hazards: c.replay.iter().map(|h| h.as_str().to_owned()).collect(),
                    statement: run.query.chars().take(200).collect(),
                });
            }
        }
    }
    Ok(plan)
}

/// The committed transactions a plan replays, in commit order: outcome LSN in
/// (`after`, `end`], written to `database` (or to the default when either is unnamed).
pub fn replayed(
    journal: &Path,
    after: u64,
    end: u64,
    database: Option<&str>,
) -> Result<
    impl Iterator<Item = Result<crate::journal::committed::CommittedTx, ReadError>>,
    ReadError,
> {
    let database = database.map(str::to_owned);
    Ok(Committed::open(journal, Some(after))?
        .upto(Some(end))
        .filter(move |tx| match tx {
            Ok(t) => crate::journal::replay::in_database(&t.intent, database.as_deref()),
            Err(_) => true,
        }))
}

/// The journaled update counters of a committed transaction.
pub fn journaled_stats(result: &TxResult) -> Option<&boltward_protocol::Map> {
    match result {
        TxResult::Committed { stats, .. } => Some(stats),
        _ => None,
    }
}

/// The last LSN before the first transaction committed after `t`: replaying up to it
/// replays every transaction committed at or before `t`.
fn end_at_time(inputs: &Inputs<'_>, t: i64) -> Result<u64, PlanError> {
    for tx in Committed::open(inputs.journal, None)? {
        let tx = tx?;
        if tx.ts_micros > t {
            return Ok(tx.lsn.saturating_sub(1));
        }
    }
    Ok(inputs.journal_lsn)
}

/// The snapshot to start from: the one asked for, or the newest at or before `end`.
fn choose<'a>(inputs: &Inputs<'a>, end: u64, until: &Until) -> Result<&'a Manifest, PlanError> {
    // A mirror's snapshot holds the primary's database under the mirror's own name.
    let usable = |m: &&Manifest| {
        m.kind != "safety"
            && m.journal_lsn.is_some()
            && (m.source.remote.is_some() || m.source.database.as_deref() == inputs.database)
    };
    if let Some(id) = inputs.snapshot {
        let m = inputs
            .snapshots
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| PlanError::Snapshot(format!("no complete snapshot {id:?}")))?;
        return match m.journal_lsn {
            Some(l) if usable(&m) && l <= end => Ok(m),
            Some(l) if l > end => Err(PlanError::Snapshot(format!(
                "snapshot {id} (LSN {l}) was taken after {until} (LSN {end}): a restore cannot go back from it"
            ))),
            _ => Err(PlanError::Snapshot(format!(
                "snapshot {id} is not a snapshot of the journaled database (no journal LSN, a safety snapshot, or another database)"
            ))),
        };
    }
    inputs
        .snapshots
        .iter()
        .filter(usable)
        .filter(|m| m.journal_lsn.is_some_and(|l| l <= end))
        .max_by_key(|m| (m.journal_lsn, m.created_unix))
        .ok_or_else(|| PlanError::NoSnapshot(format!("{until} (LSN {end})")))
}
