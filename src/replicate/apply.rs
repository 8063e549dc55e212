//! Applies one committed transaction to a remote as one remote transaction, with the
//! original statements and parameters (lossless PackStream), and advances the marker in
//! that same transaction.
//!
//! A statement that must commit transactions of its own (`CALL { … } IN TRANSACTIONS`)
//! cannot run inside one: it runs auto-commit and the marker is advanced right after, in a
//! transaction of its own. Between the two, a crash would apply it twice; such statements
//! are reported as not exactly-once (docs/operations.md, "Mirror").

use super::marker;
use crate::upstream::{BoltClient, ClientError};
use boltward_journal::{Intent, TxMode};
use boltward_protocol::message::{Begin, Run};
use boltward_protocol::{Map, Request};

/// Why a transaction could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A journaled message does not decode (the journal is damaged or from a newer boltward).
    #[error("LSN {lsn}: the journaled statement does not decode: {reason}")]
    Decode {
        /// Outcome LSN.
        lsn: u64,
        /// Why.
        reason: String,
    },
    /// The remote refused it or the connection failed (the outcome may be unknown: the
    /// marker decides).
    #[error("LSN {lsn}: {source}")]
    Remote {
        /// Outcome LSN.
        lsn: u64,
        /// Cause.
        source: ClientError,
    },
    /// The marker no longer held the previous LSN: another writer moved it.
    #[error("LSN {lsn}: the remote's marker is no longer at LSN {prev}; another boltward or an operator moved it")]
    MarkerMoved {
        /// Outcome LSN.
        lsn: u64,
        /// The LSN the marker should have held.
        prev: u64,
    },
}

/// The statements of `intent` and its BEGIN's extra, decoded, targeted at `db` (or the
/// database it was written to); bookmarks of the primary are dropped.
pub fn decode(intent: &Intent, lsn: u64, db: Option<&str>) -> Result<(Vec<Run>, Map), ApplyError> {
    let dialect = intent.dialect();
    let bad = |reason: String| ApplyError::Decode { lsn, reason };
    let mut runs = Vec::with_capacity(intent.statements.len());
    for s in &intent.statements {
        match Request::decode(&s.run, dialect) {
            Ok(Request::Run(r)) => runs.push(r),
            Ok(other) => return Err(bad(format!("{} is not RUN", other.kind().name()))),
            Err(e) => return Err(bad(e.to_string())),
        }
    }
    let mut extra = match intent.begin.as_deref().map(|b| Request::decode(b, dialect)) {
        Some(Ok(Request::Begin(Begin { extra }))) => extra,
        Some(Ok(other)) => return Err(bad(format!("{} is not BEGIN", other.kind().name()))),
        Some(Err(e)) => return Err(bad(e.to_string())),
        None => runs.first().map(|r| r.extra.clone()).unwrap_or_default(),
    };
    for key in ["bookmarks", "db", "imp_user", "tx_timeout"] {
        extra.remove(key);
    }
    if let Some(d) = db.or(intent.db.as_deref()) {
        extra.insert("db", d);
    }
    Ok((runs, extra))
}

/// Whether a statement commits transactions of its own (and so cannot run in one).
fn own_transactions(run: &Run) -> bool {
    crate::cypher::classify(&run.query).own_transactions
}

/// Applies the committed transaction at outcome LSN `lsn`, moving the marker from `prev`.
pub async fn apply(
    client: &mut BoltClient,
    intent: &Intent,
    lsn: u64,
    prev: u64,
    db: Option<&str>,
) -> Result<(), ApplyError> {
    let (runs, extra) = decode(intent, lsn, db)?;
    let remote = |source| ApplyError::Remote { lsn, source };
    if intent.mode == TxMode::Auto && runs.iter().any(own_transactions) {
        for r in runs {
            client
                .query(&r.query, r.parameters, extra.clone())
                .await
                .map_err(remote)?;
        }
        client.begin(extra).await.map_err(remote)?;
        return advance_and_commit(client, lsn, prev).await;
    }
    client.begin(extra).await.map_err(remote)?;
    for r in runs {
        if let Err(e) = client.query(&r.query, r.parameters, Map::new()).await {
            let _ = client.reset().await;
            return Err(remote(e));
        }
    }
    advance_and_commit(client, lsn, prev).await
}

async fn advance_and_commit(
    client: &mut BoltClient,
    lsn: u64,
    prev: u64,
) -> Result<(), ApplyError> {
    let remote = |source| ApplyError::Remote { lsn, source };
    match marker::advance(client, prev, lsn).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = client.rollback().await;
            return Err(ApplyError::MarkerMoved { lsn, prev });
        }
        Err(e) => {
            let _ = client.reset().await;
            return Err(remote(e));
        }
    }
    client.commit().await.map_err(remote)?;
    Ok(())
}
