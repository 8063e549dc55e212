//! Resolving transactions in doubt: boltward forwarded a COMMIT and never learned its
//! outcome (it died, or the answer never came). The journal records them as in doubt; a
//! mirror stops before one rather than guess. An operator who checked the primary says
//! which way it went (`boltward replication resolve --lsn N --committed|--rolled-back`):
//! the decision is journaled as an `in_doubt_resolved` event (who, when, which way) and
//! kept in `resolutions.json` beside the segments, where mirrors read it.

use super::read::{list_segments, scan, ReadError};
use boltward_journal::entry::Result as TxResult;
use boltward_journal::Entry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file of decisions, in the journal directory.
pub const RESOLUTIONS_FILE: &str = "resolutions.json";

/// The name of the journaled event that records a decision.
pub const RESOLVED_EVENT: &str = "in_doubt_resolved";

/// Which way a transaction in doubt went on the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// It committed: mirrors apply it (its update counters are unknown, so not compared).
    Committed,
    /// It did not: mirrors skip it.
    RolledBack,
}

impl Resolution {
    /// The name used in the event, the file and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Committed => "committed",
            Resolution::RolledBack => "rolled_back",
        }
    }
}

/// Decisions by the LSN of the in-doubt outcome record.
pub type Resolutions = BTreeMap<u64, Resolution>;

/// Reads the decisions (none yet: empty).
pub fn load(dir: &Path) -> Result<Resolutions, ReadError> {
    super::read::load_json(dir, RESOLUTIONS_FILE)
}

/// Writes the decisions atomically.
pub fn save(dir: &Path, r: &Resolutions) -> std::io::Result<()> {
    super::read::save_json(dir, RESOLUTIONS_FILE, r)
}

/// Why a decision is refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The LSN is not an in-doubt outcome of this journal.
    #[error("LSN {0} is not a transaction in doubt in this journal (see `boltward audit query --outcome in_doubt`)")]
    NotInDoubt(u64),
    /// It was decided already, the other way.
    #[error("LSN {lsn} was already resolved as {was}")]
    Decided {
        /// The outcome LSN.
        lsn: u64,
        /// The earlier decision.
        was: &'static str,
    },
    /// The journal cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// The intent LSN of the in-doubt outcome at `lsn`, if that is what the record is.
pub fn in_doubt_intent(dir: &Path, lsn: u64) -> Result<u64, ResolveError> {
    let segments = list_segments(dir).map_err(|e| ReadError::Io(e.to_string()))?;
    let holding: Vec<_> = segments
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            s.first_lsn <= lsn && segments.get(i + 1).is_none_or(|n| n.first_lsn > lsn)
        })
        .map(|(_, s)| s.clone())
        .collect();
    let mut found = None;
    scan(&holding, |l, _, e| {
        if let (true, Entry::Outcome(o)) = (l == lsn, e) {
            if matches!(o.result, TxResult::InDoubt { .. }) {
                found = Some(o.intent);
            }
        }
    })?;
    found.ok_or(ResolveError::NotInDoubt(lsn))
}
