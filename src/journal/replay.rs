//! Replaying committed writes, in journal order, into a Bolt server: the order test,
//! point-in-time restore and the mirror all use this. The writes come from
//! [`Committed`](super::committed::Committed), which streams them.

use super::committed::Committed;
use super::read::ReadError;
use crate::upstream::client::{BoltClient, ClientError};
use boltward_journal::{Intent, TxMode};
use boltward_protocol::message::{Begin, Run};
use boltward_protocol::{Map, Request};
use std::path::Path;

/// The committed writes of the journal in `dir`, in the order their outcomes were
/// journaled (the commit order), up to and including outcome LSN `upto`.
pub fn committed(dir: &Path, upto: Option<u64>) -> Result<Vec<Intent>, ReadError> {
    committed_between(dir, None, upto)
}

/// The committed writes whose outcome LSN is after `after` (exclusive) and up to `upto`
/// (inclusive), in commit order: what happened since a snapshot. Collects [`Committed`],
/// which streams the same one transaction at a time.
pub fn committed_between(
    dir: &Path,
    after: Option<u64>,
    upto: Option<u64>,
) -> Result<Vec<Intent>, ReadError> {
    Committed::open(dir, after)?
        .upto(upto)
        .map(|tx| tx.map(|t| t.intent))
        .collect()
}

/// Whether a journaled write belongs to `database` (the journaled one,
/// `snapshot.database`): it names no database, none is named, or both name the same. The
/// rule restores, promotions and mirrors share.
pub fn in_database(intent: &Intent, database: Option<&str>) -> bool {
    match (intent.db.as_deref(), database) {
        (Some(wrote), Some(db)) => wrote == db,
        _ => true,
    }
}

/// A journaled message that does not decode as what it was journaled as (the journal is
/// damaged, or was written by a newer boltward).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A statement's message is another kind of message.
    #[error("a journaled statement is a {0} message, not RUN")]
    NotRun(&'static str),
    /// A message's bytes do not decode.
    #[error(transparent)]
    Message(#[from] boltward_protocol::MessageError),
}

/// Why a write could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A journaled message does not decode.
    #[error("journaled statement does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// The target refused it.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The RUN messages of a journaled write, decoded (why not, when one does not decode).
pub fn runs(intent: &Intent) -> Result<Vec<Run>, DecodeError> {
    let dialect = intent.dialect();
    intent
        .statements
        .iter()
        .map(|s| match Request::decode(&s.run, dialect) {
            Ok(Request::Run(r)) => Ok(r),
            Ok(other) => Err(DecodeError::NotRun(other.kind().name())),
            Err(e) => Err(e.into()),
        })
        .collect()
}

/// The extra of a journaled write's BEGIN (`None` for an auto-commit write, or a BEGIN
/// body that decodes as another message, which replays without one as it always did).
pub fn begin_extra(intent: &Intent) -> Result<Option<Map>, DecodeError> {
    match intent
        .begin
        .as_deref()
        .map(|b| Request::decode(b, intent.dialect()))
    {
        None => Ok(None),
        Some(Ok(Request::Begin(Begin { extra }))) => Ok(Some(extra)),
        Some(Ok(_)) => Ok(None),
        Some(Err(e)) => Err(e.into()),
    }
}

/// Update counters summed over statements (integer counters only: booleans such as
/// `contains-updates` are not counters).
pub type Counters = std::collections::BTreeMap<String, i64>;

/// Adds the integer counters of a summary's `stats` into `acc`.
pub fn add_counters(acc: &mut Counters, stats: &Map) {
    for (k, v) in stats.iter() {
        if let Some(n) = v.as_int() {
            *acc.entry(k.to_owned()).or_default() += n;
        }
    }
}

/// The counters that differ between what the journal recorded (`journaled`, a summary's
/// `stats`) and a replay (`replayed`), as `counter: journaled → replayed` (absent is 0).
pub fn differences(journaled: &Map, replayed: &Counters) -> Vec<String> {
    let mut expected = Counters::new();
    add_counters(&mut expected, journaled);
    let keys: std::collections::BTreeSet<&String> =
        expected.keys().chain(replayed.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (
                expected.get(k).copied().unwrap_or(0),
                replayed.get(k).copied().unwrap_or(0),
            );
            (a != b).then(|| format!("{k}: {a} → {b}"))
        })
        .collect()
}

/// Runs one committed write against `client`, into `db` (or the database it was written
/// to); the update counters the target reported, summed. Bookmarks of the source server
/// are dropped.
pub async fn apply(
    client: &mut BoltClient,
    intent: &Intent,
    db: Option<&str>,
) -> Result<Counters, ReplayError> {
    let mut counters = Counters::new();
    let mut count = |r: &crate::upstream::client::QueryResult| {
        if let Some(boltward_protocol::Value::Map(stats)) = r.summary.metadata.get("stats") {
            add_counters(&mut counters, stats);
        }
    };
    let target = |mut extra: Map| {
        extra.remove("bookmarks");
        extra.remove("db");
        if let Some(d) = db.or(intent.db.as_deref()) {
            extra.insert("db", d);
        }
        extra
    };
    let runs = runs(intent)?;
    match intent.mode {
        TxMode::Auto => {
            for r in runs {
                count(
                    &client
                        .query(&r.query, r.parameters, target(r.extra))
                        .await?,
                );
            }
        }
        TxMode::Explicit => {
            let extra = begin_extra(intent)?.unwrap_or_default();
            client.begin(target(extra)).await?;
            for r in runs {
                match client.query(&r.query, r.parameters, Map::new()).await {
                    Ok(result) => count(&result),
                    Err(e) => {
                        let _ = client.reset().await;
                        return Err(e.into());
                    }
                }
            }
            client.commit().await?;
        }
    }
    Ok(counters)
}
