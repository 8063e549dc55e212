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

/// Why a write could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A journaled message does not decode.
    #[error("journaled statement does not decode: {0}")]
    Decode(String),
    /// The target refused it.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The RUN messages of a journaled write, decoded (why not, when one does not decode).
pub fn runs(intent: &Intent) -> Result<Vec<Run>, String> {
    let dialect = intent.dialect();
    intent
        .statements
        .iter()
        .map(|s| match Request::decode(&s.run, dialect) {
            Ok(Request::Run(r)) => Ok(r),
            Ok(other) => Err(format!("{} is not RUN", other.kind().name())),
            Err(e) => Err(e.to_string()),
        })
        .collect()
}

/// The extra of a journaled write's BEGIN (`None` for an auto-commit write, or a BEGIN
/// body that decodes as another message, which replays without one as it always did).
pub fn begin_extra(intent: &Intent) -> Result<Option<Map>, String> {
    match intent
        .begin
        .as_deref()
        .map(|b| Request::decode(b, intent.dialect()))
    {
        None => Ok(None),
        Some(Ok(Request::Begin(Begin { extra }))) => Ok(Some(extra)),
        Some(Ok(_)) => Ok(None),
        Some(Err(e)) => Err(e.to_string()),
    }
}

/// Runs one committed write against `client`, into `db` (or the database it was written
/// to). Bookmarks of the source server are dropped.
pub async fn apply(
    client: &mut BoltClient,
    intent: &Intent,
    db: Option<&str>,
) -> Result<(), ReplayError> {
    let target = |mut extra: Map| {
        extra.remove("bookmarks");
        extra.remove("db");
        if let Some(d) = db.or(intent.db.as_deref()) {
            extra.insert("db", d);
        }
        extra
    };
    let runs = runs(intent).map_err(ReplayError::Decode)?;
    match intent.mode {
        TxMode::Auto => {
            for r in runs {
                client
                    .query(&r.query, r.parameters, target(r.extra))
                    .await?;
            }
        }
        TxMode::Explicit => {
            let extra = begin_extra(intent)
                .map_err(ReplayError::Decode)?
                .unwrap_or_default();
            client.begin(target(extra)).await?;
            for r in runs {
                if let Err(e) = client.query(&r.query, r.parameters, Map::new()).await {
                    let _ = client.reset().await;
                    return Err(e.into());
                }
            }
            client.commit().await?;
        }
    }
    Ok(())
}
