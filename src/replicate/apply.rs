//! Applies one committed transaction to a remote as one remote transaction, with the
//! original statements and parameters (lossless PackStream), and advances the marker in
//! that same transaction.
//!
//! A statement that must commit transactions of its own (`CALL { … } IN TRANSACTIONS`)
//! cannot run inside one: it runs auto-commit and the marker is advanced right after, in a
//! transaction of its own. Between the two, a crash would apply it twice; such statements
//! are reported as not exactly-once (docs/operations.md, "Mirror").

use super::marker;
use crate::journal::replay::{add_counters, differences, Counters};
use crate::upstream::client::bounded as within;
use crate::upstream::{BoltClient, ClientError};
use boltward_journal::{Intent, TxMode};
use boltward_protocol::message::Run;
use boltward_protocol::{Map, Value};

/// Why a transaction could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A journaled message does not decode (the journal is damaged or from a newer boltward).
    #[error("LSN {lsn}: the journaled statement does not decode: {reason}")]
    Decode {
        /// Outcome LSN.
        lsn: u64,
        /// Why.
        reason: crate::journal::replay::DecodeError,
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
    /// The remote's update counters differ from the primary's: it does not hold what the
    /// primary held (a write made directly on it, or a statement whose replay differs).
    /// The remote transaction was rolled back.
    #[error("{0}")]
    Drift(Drift),
    /// The marker no longer held the previous LSN: another writer moved it.
    #[error("LSN {lsn}: the remote's marker is no longer at LSN {prev}; another boltward or an operator moved it")]
    MarkerMoved {
        /// Outcome LSN.
        lsn: u64,
        /// The LSN the marker should have held.
        prev: u64,
    },
}

/// Update counters that differ between the primary and a remote for one transaction.
#[derive(Debug, Clone)]
pub struct Drift {
    /// Outcome LSN.
    pub lsn: u64,
    /// The transaction's first statement (for the log and the status).
    pub statement: String,
    /// `counter: primary → remote` for each counter that differs.
    pub differences: Vec<String>,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "drift at LSN {}: update counters differ ({}) for `{}`",
            self.lsn,
            self.differences.join(", "),
            self.statement
        )
    }
}

/// What to do when a transaction's counters differ on a remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDrift {
    /// Roll it back and stop the remote there.
    Halt,
    /// Commit it, count it, and go on.
    Continue,
}

/// The statements of `intent` and its BEGIN's extra, decoded, targeted at `db` (or the
/// database it was written to); bookmarks of the primary are dropped.
pub fn decode(intent: &Intent, lsn: u64, db: Option<&str>) -> Result<(Vec<Run>, Map), ApplyError> {
    use crate::journal::replay;
    let bad = |reason| ApplyError::Decode { lsn, reason };
    let runs = replay::runs(intent).map_err(bad)?;
    let mut extra = match replay::begin_extra(intent).map_err(bad)? {
        Some(extra) => extra,
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

/// A committed transaction, decoded and ready to apply.
pub struct Prepared {
    /// Its outcome LSN.
    pub lsn: u64,
    runs: Vec<Run>,
    /// The BEGIN extra it runs under (transactions with equal extras can share one remote
    /// transaction).
    pub extra: Map,
    /// The primary's update counters (`None`: unknown, not compared).
    expected: Option<Map>,
    /// It must run alone, auto-commit (`CALL { … } IN TRANSACTIONS`).
    pub alone: bool,
}

/// Decodes one committed transaction (`expected`: the primary's update counters). A write
/// to a database other than the mirrored one (`mirrored`: `snapshot.database`; both named
/// and different) is not part of the mirror: it comes back with no statements, so only
/// the marker moves past it.
pub fn prepare(
    intent: &Intent,
    lsn: u64,
    expected: Option<&Map>,
    db: Option<&str>,
    mirrored: Option<&str>,
) -> Result<Prepared, ApplyError> {
    if !crate::journal::replay::in_database(intent, mirrored) {
        return Ok(Prepared {
            lsn,
            runs: Vec::new(),
            extra: db.map(|d| Map::from([("db", d)])).unwrap_or_default(),
            expected: None,
            alone: false,
        });
    }
    let (runs, extra) = decode(intent, lsn, db)?;
    let alone = intent.mode == TxMode::Auto && runs.iter().any(own_transactions);
    Ok(Prepared {
        lsn,
        runs,
        extra,
        expected: expected.cloned(),
        alone,
    })
}

/// Applies consecutive committed transactions as one remote transaction (one BEGIN, their
/// statements in order, the marker moved from `prev` to the last one's LSN, one COMMIT):
/// all of them or none. A transaction that must run `alone` comes as a group of one.
/// Returns the drifts committed anyway (`OnDrift::Continue`).
///
/// Every round trip is bounded by `limit` (`replication.apply_timeout_ms`): a step with no
/// answer fails the group with a timeout and the caller drops the connection. Bounding each
/// step rather than the whole group keeps a long backlog progressing on a slow remote.
pub async fn apply(
    client: &mut BoltClient,
    group: Vec<Prepared>,
    prev: u64,
    on_drift: OnDrift,
    limit: std::time::Duration,
) -> Result<Vec<Drift>, ApplyError> {
    let Some(last) = group.last().map(|t| t.lsn) else {
        return Ok(Vec::new());
    };
    let first_lsn = group[0].lsn;
    let remote = move |source| ApplyError::Remote {
        lsn: first_lsn,
        source,
    };
    let mut drifts = Vec::new();
    if group.len() == 1 && group[0].alone {
        let Some(tx) = group.into_iter().next() else {
            return Ok(Vec::new());
        };
        let mut counters = Counters::new();
        let first = tx.runs.first().map(|r| r.query.clone()).unwrap_or_default();
        for r in tx.runs {
            let result = within(
                limit,
                client.query(&r.query, r.parameters, tx.extra.clone()),
            )
            .await
            .map_err(remote)?;
            if let Some(Value::Map(stats)) = result.summary.metadata.get("stats") {
                add_counters(&mut counters, stats);
            }
        }
        // Committed already: a drift can only be reported.
        drifts.extend(drift(tx.lsn, &first, tx.expected.as_ref(), &counters));
        within(limit, client.begin(tx.extra))
            .await
            .map_err(remote)?;
        advance_and_commit(client, last, prev, limit).await?;
        return Ok(drifts);
    }
    // Every statement of the group in one pipeline after the BEGIN: one round trip per
    // chunk instead of one per statement.
    let extra = group[0].extra.clone();
    let mut owner = Vec::new();
    let mut runs = Vec::new();
    let mut txs = Vec::with_capacity(group.len());
    for (t, tx) in group.into_iter().enumerate() {
        for r in tx.runs {
            owner.push(t);
            runs.push(Run {
                query: r.query,
                parameters: r.parameters,
                extra: Map::new(),
            });
        }
        txs.push((tx.lsn, tx.expected));
    }
    let first: Vec<Option<String>> = {
        let mut seen = vec![None; txs.len()];
        for (i, t) in owner.iter().enumerate() {
            if seen[*t].is_none() {
                seen[*t] = Some(runs[i].query.clone());
            }
        }
        seen
    };
    let results = match client.run_pipelined(Some(extra), runs, limit).await {
        Ok(r) => r,
        Err((at, source)) => {
            let lsn = at
                .and_then(|i| owner.get(i))
                .map_or(first_lsn, |t| txs[*t].0);
            return Err(ApplyError::Remote { lsn, source });
        }
    };
    let mut counters = vec![Counters::new(); txs.len()];
    for (i, result) in results.iter().enumerate() {
        if let Some(Value::Map(stats)) = result.summary.metadata.get("stats") {
            add_counters(&mut counters[owner[i]], stats);
        }
    }
    for (t, (lsn, expected)) in txs.iter().enumerate() {
        let statement = first[t].as_deref().unwrap_or_default();
        if let Some(d) = drift(*lsn, statement, expected.as_ref(), &counters[t]) {
            if on_drift == OnDrift::Halt {
                let _ = within(limit, client.rollback()).await;
                return Err(ApplyError::Drift(d));
            }
            drifts.push(d);
        }
    }
    advance_and_commit(client, last, prev, limit).await?;
    Ok(drifts)
}

/// The drift of one transaction, if its counters differ.
fn drift(lsn: u64, statement: &str, expected: Option<&Map>, counters: &Counters) -> Option<Drift> {
    let expected = expected?;
    let differences = differences(expected, counters);
    (!differences.is_empty()).then(|| Drift {
        lsn,
        statement: statement.chars().take(200).collect(),
        differences,
    })
}

async fn advance_and_commit(
    client: &mut BoltClient,
    lsn: u64,
    prev: u64,
    limit: std::time::Duration,
) -> Result<(), ApplyError> {
    let remote = |source| ApplyError::Remote { lsn, source };
    match within(limit, marker::advance(client, prev, lsn)).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = within(limit, client.rollback()).await;
            return Err(ApplyError::MarkerMoved { lsn, prev });
        }
        Err(e) => {
            let _ = within(limit, client.reset()).await;
            return Err(remote(e));
        }
    }
    within(limit, client.commit()).await.map_err(remote)?;
    Ok(())
}
