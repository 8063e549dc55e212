//! Server responses: SUCCESS, RECORD, IGNORED, FAILURE and what their metadata means.

use super::route::{map_routing_table, rewrite_routing_table, RoutingTable};
use crate::packstream::{Map, Value};
use crate::version::Version;

/// SUCCESS `{metadata}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Success {
    /// The metadata as sent.
    pub metadata: Map,
}

/// The server's statement type in a final summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
    /// `"r"`.
    Read,
    /// `"w"`.
    Write,
    /// `"rw"`.
    ReadWrite,
    /// `"s"`: schema.
    Schema,
}

impl QueryType {
    /// Parses the wire string.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "r" => Self::Read,
            "w" => Self::Write,
            "rw" => Self::ReadWrite,
            "s" => Self::Schema,
            _ => return None,
        })
    }

    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "r",
            Self::Write => "w",
            Self::ReadWrite => "rw",
            Self::Schema => "s",
        }
    }

    /// Whether the statement may have changed data or schema.
    pub fn writes(self) -> bool {
        self != Self::Read
    }
}

/// Update counters of a final summary (`stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// nodes-created.
    pub nodes_created: i64,
    /// nodes-deleted.
    pub nodes_deleted: i64,
    /// relationships-created.
    pub relationships_created: i64,
    /// relationships-deleted.
    pub relationships_deleted: i64,
    /// properties-set.
    pub properties_set: i64,
    /// labels-added.
    pub labels_added: i64,
    /// labels-removed.
    pub labels_removed: i64,
    /// indexes-added.
    pub indexes_added: i64,
    /// indexes-removed.
    pub indexes_removed: i64,
    /// constraints-added.
    pub constraints_added: i64,
    /// constraints-removed.
    pub constraints_removed: i64,
    /// system-updates.
    pub system_updates: i64,
    /// contains-updates (or any counter above non-zero).
    pub contains_updates: bool,
}

impl Stats {
    /// Reads the counters; unknown keys are ignored.
    pub fn from_map(m: &Map) -> Self {
        let i = |k: &str| m.get(k).and_then(Value::as_int).unwrap_or(0);
        let mut s = Stats {
            nodes_created: i("nodes-created"),
            nodes_deleted: i("nodes-deleted"),
            relationships_created: i("relationships-created"),
            relationships_deleted: i("relationships-deleted"),
            properties_set: i("properties-set"),
            labels_added: i("labels-added"),
            labels_removed: i("labels-removed"),
            indexes_added: i("indexes-added"),
            indexes_removed: i("indexes-removed"),
            constraints_added: i("constraints-added"),
            constraints_removed: i("constraints-removed"),
            system_updates: i("system-updates"),
            contains_updates: m
                .get("contains-updates")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        s.contains_updates |= [
            s.nodes_created,
            s.nodes_deleted,
            s.relationships_created,
            s.relationships_deleted,
            s.properties_set,
            s.labels_added,
            s.labels_removed,
            s.indexes_added,
            s.indexes_removed,
            s.constraints_added,
            s.constraints_removed,
        ]
        .iter()
        .any(|c| *c != 0);
        s
    }

    /// Nodes plus relationships deleted.
    pub fn deletions(&self) -> i64 {
        self.nodes_deleted
            .saturating_add(self.relationships_deleted)
    }
}

impl Success {
    /// A SUCCESS with the given metadata.
    pub fn new(metadata: Map) -> Self {
        Success { metadata }
    }

    /// `has_more`: more records remain in the stream (absent = false).
    pub fn has_more(&self) -> bool {
        self.metadata
            .get("has_more")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `fields` of a RUN SUCCESS.
    pub fn fields(&self) -> Option<Vec<&str>> {
        self.metadata
            .get("fields")
            .and_then(Value::as_list)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
    }

    /// `qid` of a RUN SUCCESS inside an explicit transaction.
    pub fn qid(&self) -> Option<i64> {
        self.metadata.get("qid").and_then(Value::as_int)
    }

    /// `bookmark` of a COMMIT or auto-commit summary.
    pub fn bookmark(&self) -> Option<&str> {
        self.metadata.get("bookmark").and_then(Value::as_str)
    }

    /// `db`.
    pub fn db(&self) -> Option<&str> {
        self.metadata.get("db").and_then(Value::as_str)
    }

    /// `type` of a final summary.
    pub fn query_type(&self) -> Option<QueryType> {
        self.metadata
            .get("type")
            .and_then(Value::as_str)
            .and_then(QueryType::parse)
    }

    /// `stats` of a final summary.
    pub fn stats(&self) -> Option<Stats> {
        self.metadata
            .get("stats")
            .and_then(Value::as_map)
            .map(Stats::from_map)
    }

    /// `server` agent of a HELLO SUCCESS.
    pub fn server(&self) -> Option<&str> {
        self.metadata.get("server").and_then(Value::as_str)
    }

    /// `connection_id` of a HELLO SUCCESS.
    pub fn connection_id(&self) -> Option<&str> {
        self.metadata.get("connection_id").and_then(Value::as_str)
    }

    /// `hints` of a HELLO SUCCESS.
    pub fn hints(&self) -> Option<&Map> {
        self.metadata.get("hints").and_then(Value::as_map)
    }

    /// Whether a HELLO SUCCESS accepted the `utc` patch.
    pub fn accepts_utc_patch(&self) -> bool {
        self.metadata
            .get("patch_bolt")
            .and_then(Value::as_list)
            .is_some_and(|l| l.iter().any(|p| p.as_str() == Some("utc")))
    }

    /// The routing table of a ROUTE SUCCESS.
    pub fn routing_table(&self) -> Option<RoutingTable> {
        self.metadata
            .get("rt")
            .and_then(Value::as_map)
            .and_then(RoutingTable::from_map)
    }

    /// Points every routing table address at `address`; returns how many were replaced.
    pub fn rewrite_routing_table(&mut self, address: &str) -> usize {
        match self.metadata.get_mut("rt") {
            Some(Value::Map(rt)) => rewrite_routing_table(rt, address),
            _ => 0,
        }
    }

    /// Maps every routing table address through `map` (see
    /// [`super::route::map_routing_table`]); `Err` names an address it has no answer for.
    pub fn map_routing_table(
        &mut self,
        map: impl FnMut(&str) -> Option<String>,
    ) -> Result<usize, super::route::Unmapped> {
        match self.metadata.get_mut("rt") {
            Some(Value::Map(rt)) => map_routing_table(rt, map),
            _ => Ok(0),
        }
    }

    /// Rewrites a LOGON SUCCESS `advertised_address` (5.8+); returns whether one was there.
    pub fn rewrite_advertised_address(&mut self, address: &str) -> bool {
        match self.metadata.get_mut("advertised_address") {
            Some(v) => {
                *v = Value::from(address);
                true
            }
            None => false,
        }
    }
}

/// RECORD `[values]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// One value per field.
    pub fields: Vec<Value>,
}

/// FAILURE `{metadata}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The metadata as sent.
    pub metadata: Map,
}

/// Standard classification of a status code, from its `Neo.<Classification>.` part.
fn classification(code: &str) -> &'static str {
    if code.starts_with("Neo.TransientError.") {
        "TRANSIENT_ERROR"
    } else if code.starts_with("Neo.DatabaseError.") {
        "DATABASE_ERROR"
    } else {
        "CLIENT_ERROR"
    }
}

impl Failure {
    /// A FAILURE shaped for `version`: `{code, message}` before 5.7, and from 5.7
    /// `{neo4j_code, message, gql_status, description, diagnostic_record}`.
    /// `condition` is the GQL status text, e.g. "syntax error or access rule violation -
    /// permission/access denied".
    pub fn new(
        version: Version,
        code: &str,
        message: &str,
        gql_status: &str,
        condition: &str,
    ) -> Self {
        let mut m = Map::new();
        if version.has_gql_errors() {
            m.insert("neo4j_code", code);
            m.insert("message", message);
            m.insert("gql_status", gql_status);
            m.insert("description", format!("error: {condition}. {message}"));
            m.insert(
                "diagnostic_record",
                Map::from([
                    ("OPERATION", ""),
                    ("OPERATION_CODE", "0"),
                    ("CURRENT_SCHEMA", "/"),
                    ("_classification", classification(code)),
                ]),
            );
        } else {
            m.insert("code", code);
            m.insert("message", message);
        }
        Failure { metadata: m }
    }

    /// A policy refusal: `Neo.ClientError.Security.Forbidden`, GQL `42NFF`.
    pub fn forbidden(version: Version, message: &str) -> Self {
        Self::new(
            version,
            "Neo.ClientError.Security.Forbidden",
            message,
            "42NFF",
            "syntax error or access rule violation - permission/access denied",
        )
    }

    /// A "try again" refusal with a `Neo.TransientError.*` code, GQL `50N00`-style.
    pub fn transient(version: Version, code: &str, message: &str) -> Self {
        Self::new(
            version,
            code,
            message,
            "50N00",
            "general processing exception - internal error",
        )
    }

    /// A malformed request: `Neo.ClientError.Request.Invalid`, GQL `08N06`.
    pub fn invalid_request(version: Version, message: &str) -> Self {
        Self::new(
            version,
            "Neo.ClientError.Request.Invalid",
            message,
            "08N06",
            "connection exception - protocol error",
        )
    }

    /// The status code (`neo4j_code` on 5.7+, else `code`).
    pub fn code(&self) -> Option<&str> {
        self.metadata
            .get("neo4j_code")
            .or_else(|| self.metadata.get("code"))
            .and_then(Value::as_str)
    }

    /// `message`.
    pub fn message(&self) -> Option<&str> {
        self.metadata.get("message").and_then(Value::as_str)
    }

    /// `gql_status` (5.7+).
    pub fn gql_status(&self) -> Option<&str> {
        self.metadata.get("gql_status").and_then(Value::as_str)
    }

    /// `description` (5.7+).
    pub fn description(&self) -> Option<&str> {
        self.metadata.get("description").and_then(Value::as_str)
    }

    /// Whether drivers retry this failure (`Neo.TransientError.*`).
    pub fn is_transient(&self) -> bool {
        self.code()
            .is_some_and(|c| c.starts_with("Neo.TransientError."))
    }
}
