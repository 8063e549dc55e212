//! The position marker a remote holds: one `__BoltwardMirror {stream, lsn, generation}`
//! node, advanced in the same remote transaction as each applied write, and only if it
//! still holds the previous LSN. After any unknown outcome the replicator reads it and
//! resumes exactly after it: every write is applied once.
//!
//! The label is excluded from fingerprints taken on a remote (`verify`) and from the
//! remote's emptiness check; the primary never holds it.

use crate::upstream::{BoltClient, ClientError};
use boltward_protocol::{Map, Value};

/// The marker's label.
pub const LABEL: &str = "__BoltwardMirror";
/// The stream a primary's writes are mirrored under.
pub const STREAM: &str = "primary";

/// Where a remote stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The outcome LSN of the last transaction applied.
    pub lsn: u64,
    /// The seed it descends from (the snapshot id the remote was seeded from).
    pub generation: String,
}

fn params(pairs: &[(&str, Value)]) -> Map {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(*k, v.clone());
    }
    m
}

fn extra(db: Option<&str>) -> Map {
    let mut m = Map::new();
    if let Some(db) = db {
        m.insert("db", db);
    }
    m
}

/// Reads the marker (`None`: the remote was never seeded).
pub async fn read(
    client: &mut BoltClient,
    db: Option<&str>,
) -> Result<Option<Marker>, ClientError> {
    let r = client
        .query(
            &format!("MATCH (m:{LABEL} {{stream: $stream}}) RETURN m.lsn, m.generation"),
            params(&[("stream", STREAM.into())]),
            extra(db),
        )
        .await?;
    let mut rows = r.records.into_iter();
    let Some(row) = rows.next() else {
        return Ok(None);
    };
    if rows.next().is_some() {
        return Err(ClientError::Protocol(format!(
            "the remote holds more than one {LABEL} marker for stream '{STREAM}'"
        )));
    }
    let lsn = row.first().and_then(Value::as_int).unwrap_or(-1);
    let generation = row
        .get(1)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if lsn < 0 {
        return Err(ClientError::Protocol(format!(
            "the {LABEL} marker has no valid lsn"
        )));
    }
    Ok(Some(Marker {
        lsn: lsn as u64,
        generation,
    }))
}

/// Advances the marker from `prev` to `next` inside the open transaction; `false` when it
/// no longer held `prev` (another writer moved it: the transaction must not commit).
pub async fn advance(client: &mut BoltClient, prev: u64, next: u64) -> Result<bool, ClientError> {
    let r = client
        .query(
            &format!(
                "MATCH (m:{LABEL} {{stream: $stream}}) WHERE m.lsn = $prev SET m.lsn = $next RETURN count(m)"
            ),
            params(&[
                ("stream", STREAM.into()),
                ("prev", Value::Integer(prev as i64)),
                ("next", Value::Integer(next as i64)),
            ]),
            Map::new(),
        )
        .await?;
    Ok(r.first_int() == Some(1))
}

/// Nodes on the remote other than the marker.
pub async fn data_nodes(client: &mut BoltClient, db: Option<&str>) -> Result<i64, ClientError> {
    let r = client
        .query(
            &format!("MATCH (n) WHERE NOT n:{LABEL} RETURN count(n)"),
            Map::new(),
            extra(db),
        )
        .await?;
    Ok(r.first_int().unwrap_or(0))
}

/// Removes everything on the remote (a reseed overwrites it).
pub async fn wipe(client: &mut BoltClient, db: Option<&str>) -> Result<(), ClientError> {
    client
        .query("MATCH (n) DETACH DELETE n", Map::new(), extra(db))
        .await
        .map(|_| ())
}

/// Writes the marker of a fresh seed.
pub async fn seed(
    client: &mut BoltClient,
    db: Option<&str>,
    m: &Marker,
) -> Result<(), ClientError> {
    client
        .query(
            &format!("MATCH (m:{LABEL}) DETACH DELETE m"),
            Map::new(),
            extra(db),
        )
        .await?;
    client
        .query(
            &format!("CREATE (:{LABEL} {{stream: $stream, lsn: $lsn, generation: $generation}})"),
            params(&[
                ("stream", STREAM.into()),
                ("lsn", Value::Integer(m.lsn as i64)),
                ("generation", m.generation.as_str().into()),
            ]),
            extra(db),
        )
        .await
        .map(|_| ())
}
