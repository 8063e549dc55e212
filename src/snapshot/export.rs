//! Reading a whole graph through boltward's Bolt client as snapshot records: the schema,
//! then every node, then every relationship, streamed in PULL batches. Values are never
//! converted; element ids identify endpoints (legacy numeric ids before Bolt 5).

use super::format::{NodeRecord, Record, RelRecord};
use super::schema::{self, Unexported};
use crate::upstream::{BoltClient, ClientError};
use boltward_protocol::{Map, Value};
use std::io;
use thiserror::Error;

/// Reading the graph failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// The server failed or went away.
    #[error("reading the graph: {0}")]
    Client(#[from] ClientError),
    /// The server answered something that is not a node or relationship.
    #[error("reading the graph: {0}")]
    Shape(String),
    /// Writing a record failed.
    #[error("writing the snapshot: {0}")]
    Sink(#[from] io::Error),
}

/// Where and how much to read.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Database (None: the server's default).
    pub database: Option<String>,
    /// Records per PULL.
    pub batch: i64,
}

impl Scope {
    /// RUN extra: read mode on the database.
    pub fn extra(&self) -> Map {
        let mut m = Map::from([("mode", "r")]);
        if let Some(db) = &self.database {
            m.insert("db", db.as_str());
        }
        m
    }
}

/// Schema statements, and the indexes/constraints that could not be expressed as one.
pub async fn read_schema(
    client: &mut BoltClient,
    scope: &Scope,
) -> Result<(Vec<String>, Vec<String>), ClientError> {
    let mut statements = Vec::new();
    let mut skipped = Vec::new();
    for (query, convert) in [
        (
            "SHOW CONSTRAINTS YIELD *",
            schema::constraint_statement as fn(&Map) -> Result<Option<String>, Unexported>,
        ),
        ("SHOW INDEXES YIELD *", schema::index_statement),
    ] {
        let result = client.query(query, Map::new(), scope.extra()).await?;
        for row in result.records {
            let map: Map = result.fields.iter().cloned().zip(row).collect();
            match convert(&map) {
                Ok(Some(s)) => statements.push(s),
                Ok(None) => {}
                Err(why) => skipped.push(why.to_string()),
            }
        }
    }
    Ok((statements, skipped))
}

fn node_id(id: i64, element_id: &Option<String>) -> String {
    element_id.clone().unwrap_or_else(|| id.to_string())
}

/// Streams the schema statements, every node and every relationship to `each`, in that
/// order (the caller writes the end record).
pub async fn read_graph(
    client: &mut BoltClient,
    scope: &Scope,
    schema: &[String],
    mut each: impl FnMut(Record) -> io::Result<()>,
) -> Result<(), ExportError> {
    for s in schema {
        each(Record::Schema(s.clone()))?;
    }
    let mut shape = None;
    let mut sink_error = None;
    let streamed = client
        .stream(
            // A mirror's position marker is boltward's, not the graph's.
            "MATCH (n) WHERE NOT n:__BoltwardMirror RETURN n",
            Map::new(),
            scope.extra(),
            scope.batch,
            |mut row| {
                let Some(Value::Node(n)) = row.pop() else {
                    shape = Some("MATCH (n) RETURN n did not return a node".to_owned());
                    return Err(());
                };
                let n = *n;
                let record = Record::Node(NodeRecord {
                    id: node_id(n.id, &n.element_id),
                    labels: n.labels,
                    properties: n.properties,
                });
                each(record).map_err(|e| sink_error = Some(e))
            },
        )
        .await?;
    finish(streamed, &mut shape, &mut sink_error)?;
    let streamed = client
        .stream(
            "MATCH ()-[r]->() RETURN r",
            Map::new(),
            scope.extra(),
            scope.batch,
            |mut row| {
                let Some(Value::Relationship(r)) = row.pop() else {
                    shape = Some("MATCH ()-[r]->() RETURN r did not return a relationship".into());
                    return Err(());
                };
                let r = *r;
                let record = Record::Relationship(RelRecord {
                    id: node_id(r.id, &r.element_id),
                    rel_type: r.rel_type,
                    start: node_id(r.start_node_id, &r.start_node_element_id),
                    end: node_id(r.end_node_id, &r.end_node_element_id),
                    properties: r.properties,
                });
                each(record).map_err(|e| sink_error = Some(e))
            },
        )
        .await?;
    finish(streamed, &mut shape, &mut sink_error)
}

fn finish<T>(
    streamed: Result<T, ()>,
    shape: &mut Option<String>,
    sink: &mut Option<io::Error>,
) -> Result<(), ExportError> {
    if streamed.is_ok() {
        return Ok(());
    }
    if let Some(e) = sink.take() {
        return Err(ExportError::Sink(e));
    }
    Err(ExportError::Shape(
        shape.take().unwrap_or_else(|| "unexpected row".into()),
    ))
}
