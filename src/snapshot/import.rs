//! Loading a snapshot into a server: the schema first, then nodes and relationships in
//! large UNWIND batches (one transaction each), then the temporary restore id removed.
//!
//! Nodes are created with the temporary label `__BoltwardRestore` and property `__bw_id`
//! (their element id on the source), indexed, so relationships find their endpoints with
//! one index lookup each. Labels cannot be parameters in Cypher, so rows are grouped by
//! label set (nodes) and by type (relationships).

use super::format::{FormatError, Reader, Record};
use super::schema::{ident, RESTORE_ID, RESTORE_LABEL};
use crate::upstream::{BoltClient, ClientError};
use boltward_protocol::{Map, Value};
use std::collections::HashMap;
use std::io::Read;
use thiserror::Error;

/// Loading failed.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The target failed a statement or went away.
    #[error("target server: {0}")]
    Client(#[from] ClientError),
    /// The snapshot does not decode.
    #[error("snapshot data: {0}")]
    Format(#[from] FormatError),
    /// The target did not do what a batch asked.
    #[error("{0}")]
    Mismatch(String),
    /// Stopped by the progress callback (cancel).
    #[error(transparent)]
    Stopped(#[from] Stop),
}

/// Why a progress callback stopped a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Stop {
    /// `restore cancel`.
    #[error("cancelled by the operator")]
    Cancelled,
}

/// Where to load and how.
#[derive(Debug, Clone)]
pub struct Load {
    /// Database (None: the server's default).
    pub database: Option<String>,
    /// Rows per UNWIND batch.
    pub batch: usize,
}

impl Load {
    fn extra(&self) -> Map {
        let mut m = Map::new();
        if let Some(db) = &self.database {
            m.insert("db", db.as_str());
        }
        m
    }

    /// Runs one statement in its own transaction, retrying transient failures (lock
    /// conflicts, optimistic-concurrency aborts) a few times.
    async fn run(
        &self,
        client: &mut BoltClient,
        query: &str,
        params: Map,
    ) -> Result<boltward_protocol::message::Success, ClientError> {
        let mut attempt = 0;
        loop {
            let result = async {
                client.begin(self.extra()).await?;
                let r = client.query(query, params.clone(), Map::new()).await?;
                client.commit().await?;
                Ok::<_, ClientError>(r.summary)
            }
            .await;
            match result {
                Ok(s) => return Ok(s),
                Err(e) => {
                    let _ = client.reset().await;
                    let transient = e
                        .code()
                        .is_some_and(|c| c.starts_with("Neo.TransientError"));
                    attempt += 1;
                    if !transient || attempt >= 5 {
                        return Err(e);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
        }
    }
}

const RESTORE_INDEX: &str = "boltward_restore_id";

/// Rows waiting for their batch, by label set or type.
struct Pending {
    groups: HashMap<Vec<String>, Vec<Value>>,
    batch: usize,
}

impl Pending {
    fn push(&mut self, key: Vec<String>, row: Value) -> Option<(Vec<String>, Vec<Value>)> {
        let rows = self.groups.entry(key.clone()).or_default();
        rows.push(row);
        (rows.len() >= self.batch).then(|| (key.clone(), std::mem::take(rows)))
    }

    fn drain(&mut self) -> Vec<(Vec<String>, Vec<Value>)> {
        let mut all: Vec<_> = self.groups.drain().filter(|(_, r)| !r.is_empty()).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

fn node_query(labels: &[String]) -> String {
    let mut l = format!(":{}", ident(RESTORE_LABEL));
    for label in labels {
        l.push(':');
        l.push_str(&ident(label));
    }
    format!(
        "UNWIND $rows AS row CREATE (n{l} {{{}: row.i}}) SET n += row.p",
        ident(RESTORE_ID)
    )
}

fn rel_query(rel_type: &str) -> String {
    let (label, id) = (ident(RESTORE_LABEL), ident(RESTORE_ID));
    format!(
        "UNWIND $rows AS row MATCH (a:{label} {{{id}: row.s}}) MATCH (b:{label} {{{id}: row.e}}) \
         CREATE (a)-[r:{}]->(b) SET r += row.p",
        ident(rel_type)
    )
}

/// Loads every record of `reader` into the target. `progress(done)` is called after each
/// batch with the entities loaded so far; an `Err` from it stops the load.
pub async fn load<R: Read>(
    client: &mut BoltClient,
    reader: &mut Reader<R>,
    how: &Load,
    mut progress: impl FnMut(u64) -> Result<(), Stop>,
) -> Result<(), ImportError> {
    let mut done = 0u64;
    let mut pending = Pending {
        groups: HashMap::new(),
        batch: how.batch.max(1),
    };
    let mut index_ready = false;
    let mut in_relationships = false;
    while let Some(record) = reader.next_record()? {
        let full = match record {
            Record::Schema(statement) => {
                how.run(client, &statement, Map::new()).await?;
                None
            }
            Record::Node(n) => {
                if !index_ready {
                    create_restore_index(client, how).await?;
                    index_ready = true;
                }
                let mut row = Map::with_capacity(2);
                row.insert("i", n.id);
                row.insert("p", Value::Map(n.properties));
                let mut labels = n.labels;
                labels.sort();
                pending.push(labels, Value::Map(row))
            }
            Record::Relationship(r) => {
                if !in_relationships {
                    in_relationships = true;
                    for (labels, rows) in pending.drain() {
                        done += flush_nodes(client, how, &labels, rows).await?;
                        progress(done)?;
                    }
                }
                let mut row = Map::with_capacity(3);
                row.insert("s", r.start);
                row.insert("e", r.end);
                row.insert("p", Value::Map(r.properties));
                pending.push(vec![r.rel_type], Value::Map(row))
            }
            Record::End(_) => None,
        };
        if let Some((key, rows)) = full {
            done += if in_relationships {
                flush_rels(client, how, &key[0], rows).await?
            } else {
                flush_nodes(client, how, &key, rows).await?
            };
            progress(done)?;
        }
    }
    for (key, rows) in pending.drain() {
        done += if in_relationships {
            flush_rels(client, how, &key[0], rows).await?
        } else {
            flush_nodes(client, how, &key, rows).await?
        };
        progress(done)?;
    }
    remove_restore_ids(client, how).await
}

async fn create_restore_index(client: &mut BoltClient, how: &Load) -> Result<(), ClientError> {
    let q = format!(
        "CREATE INDEX {RESTORE_INDEX} IF NOT EXISTS FOR (n:{}) ON (n.{})",
        ident(RESTORE_LABEL),
        ident(RESTORE_ID)
    );
    how.run(client, &q, Map::new()).await.map(|_| ())
}

async fn flush_nodes(
    client: &mut BoltClient,
    how: &Load,
    labels: &[String],
    rows: Vec<Value>,
) -> Result<u64, ImportError> {
    flush(
        client,
        how,
        &node_query(labels),
        rows,
        |s| s.nodes_created,
        "nodes",
    )
    .await
}

async fn flush_rels(
    client: &mut BoltClient,
    how: &Load,
    rel_type: &str,
    rows: Vec<Value>,
) -> Result<u64, ImportError> {
    let what = format!(":{rel_type} relationships (an endpoint is missing)");
    flush(
        client,
        how,
        &rel_query(rel_type),
        rows,
        |s| s.relationships_created,
        &what,
    )
    .await
}

/// Runs one UNWIND batch and checks the server created one entity per row.
async fn flush(
    client: &mut BoltClient,
    how: &Load,
    query: &str,
    rows: Vec<Value>,
    created: fn(&boltward_protocol::message::Stats) -> i64,
    what: &str,
) -> Result<u64, ImportError> {
    let n = rows.len() as u64;
    let summary = how
        .run(client, query, Map::from([("rows", Value::List(rows))]))
        .await?;
    let made = summary.stats().map(|s| created(&s)).unwrap_or(n as i64);
    if made as u64 != n {
        return Err(ImportError::Mismatch(format!(
            "a batch of {n} {what} created {made}"
        )));
    }
    Ok(n)
}

/// Removes the temporary label, property and index (and any constraint the server made
/// on the property by itself).
async fn remove_restore_ids(client: &mut BoltClient, how: &Load) -> Result<(), ImportError> {
    let (label, id) = (ident(RESTORE_LABEL), ident(RESTORE_ID));
    let tagged = client
        .query(
            &format!("MATCH (n:{label}) RETURN count(n) AS c"),
            Map::new(),
            how.extra(),
        )
        .await?
        .first_int()
        .unwrap_or(0);
    // Two passes, and `SET … = null` rather than `REMOVE n.prop`: ArcadeDB silently keeps
    // a property removed with REMOVE on multi-label nodes, or together with a label change.
    for (what, q) in [
        ("property", format!("MATCH (n:{label}) WHERE n.{id} IS NOT NULL WITH n LIMIT $batch SET n.{id} = null RETURN count(n) AS c")),
        ("label", format!("MATCH (n:{label}) WITH n LIMIT $batch REMOVE n:{label} RETURN count(n) AS c")),
    ] {
        let mut rounds = tagged as u64 / how.batch as u64 + 2;
        loop {
            client.begin(how.extra()).await?;
            let r = client
                .query(&q, Map::from([("batch", how.batch as i64)]), Map::new())
                .await?;
            client.commit().await?;
            let c = r.first_int()
                .unwrap_or(0);
            if c == 0 {
                break;
            }
            rounds -= 1;
            if rounds == 0 {
                return Err(ImportError::Mismatch(format!(
                    "the target does not remove the temporary restore {what} ({RESTORE_LABEL} / {RESTORE_ID}) from {tagged} nodes"
                )));
            }
        }
    }
    how.run(
        client,
        &format!("DROP INDEX {RESTORE_INDEX} IF EXISTS"),
        Map::new(),
    )
    .await?;
    let constraints = client
        .query(
            "SHOW CONSTRAINTS YIELD name, properties RETURN name, properties",
            Map::new(),
            how.extra(),
        )
        .await?;
    for row in constraints.records {
        let on_restore_id = row
            .get(1)
            .and_then(Value::as_list)
            .is_some_and(|l| l.iter().any(|p| p.as_str() == Some(RESTORE_ID)));
        if let (true, Some(name)) = (on_restore_id, row.first().and_then(Value::as_str)) {
            how.run(
                client,
                &format!("DROP CONSTRAINT {} IF EXISTS", ident(name)),
                Map::new(),
            )
            .await?;
        }
    }
    Ok(())
}

/// Empties the target: constraints, indexes, then every node with its relationships, in
/// batches. Used by forced and in-place restores (after the safety snapshot).
pub async fn wipe(client: &mut BoltClient, how: &Load) -> Result<(), ClientError> {
    for (show, drop) in [
        ("SHOW CONSTRAINTS YIELD name RETURN name", "DROP CONSTRAINT"),
        (
            "SHOW INDEXES YIELD name, type, owningConstraint WHERE type <> 'LOOKUP' AND owningConstraint IS NULL RETURN name",
            "DROP INDEX",
        ),
    ] {
        let rows = client.query(show, Map::new(), how.extra()).await?.records;
        for name in rows.iter().filter_map(|r| r.first().and_then(Value::as_str)) {
            how.run(
                client,
                &format!("{drop} {} IF EXISTS", ident(name)),
                Map::new(),
            )
            .await?;
        }
    }
    loop {
        let deleted = how
            .run(
                client,
                "MATCH (n) WITH n LIMIT $batch DETACH DELETE n",
                Map::from([("batch", how.batch as i64)]),
            )
            .await?
            .stats()
            .map_or(0, |s| s.nodes_deleted);
        let left = client
            .query("MATCH (n) RETURN count(n) AS c", Map::new(), how.extra())
            .await?
            .first_int()
            .unwrap_or(-1);
        if left == 0 {
            return Ok(());
        }
        if deleted == 0 {
            return Err(ClientError::Protocol(format!(
                "emptying the target: {left} nodes remain and a delete batch removed none"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_quote_every_name() {
        assert_eq!(
            node_query(&["A".into(), "We`ird".into()]),
            "UNWIND $rows AS row CREATE (n:`__BoltwardRestore`:`A`:`We``ird` {`__bw_id`: row.i}) SET n += row.p"
        );
        assert!(rel_query("T x").contains("CREATE (a)-[r:`T x`]->(b)"));
    }

    #[test]
    fn pending_flushes_full_groups_and_drains_the_rest() {
        let mut p = Pending {
            groups: HashMap::new(),
            batch: 2,
        };
        assert!(p.push(vec!["A".into()], Value::Null).is_none());
        assert!(p.push(vec!["B".into()], Value::Null).is_none());
        let (k, rows) = p.push(vec!["A".into()], Value::Null).unwrap();
        assert_eq!((k, rows.len()), (vec!["A".to_owned()], 2));
        let rest = p.drain();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].0, vec!["B".to_owned()]);
    }
}
