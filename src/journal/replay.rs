//! Replaying committed writes, in journal order, into a Bolt server: the order test,
//! point-in-time restore and the mirror all use this. The writes come from
//! [`Committed`](super::committed::Committed), which streams them.

use super::committed::Committed;
use super::read::ReadError;
use crate::upstream::client::{BoltClient, ClientError};
use boltward_journal::{Intent, TxMode};
use boltward_protocol::message::Begin;
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

/// Runs one committed write against `client`, into `db` (or the database it was written
/// to). Bookmarks of the source server are dropped.
pub async fn apply(
    client: &mut BoltClient,
    intent: &Intent,
    db: Option<&str>,
) -> Result<(), ReplayError> {
    let dialect = intent.dialect();
    let target = |mut extra: Map| {
        extra.remove("bookmarks");
        extra.remove("db");
        if let Some(d) = db.or(intent.db.as_deref()) {
            extra.insert("db", d);
        }
        extra
    };
    let mut runs = Vec::with_capacity(intent.statements.len());
    for s in &intent.statements {
        match Request::decode(&s.run, dialect) {
            Ok(Request::Run(r)) => runs.push(r),
            Ok(other) => {
                return Err(ReplayError::Decode(format!(
                    "{:?} is not RUN",
                    other.kind()
                )))
            }
            Err(e) => return Err(ReplayError::Decode(e.to_string())),
        }
    }
    match intent.mode {
        TxMode::Auto => {
            for r in runs {
                client
                    .query(&r.query, r.parameters, target(r.extra))
                    .await?;
            }
        }
        TxMode::Explicit => {
            let extra = match intent.begin.as_deref().map(|b| Request::decode(b, dialect)) {
                Some(Ok(Request::Begin(Begin { extra }))) => extra,
                Some(Err(e)) => return Err(ReplayError::Decode(e.to_string())),
                _ => Map::new(),
            };
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
