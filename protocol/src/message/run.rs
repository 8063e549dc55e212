//! RUN, BEGIN, PULL / DISCARD and TELEMETRY.

use super::extra::Extra;
use crate::packstream::{Map, Value};

/// RUN `query parameters extra`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Cypher text.
    pub query: String,
    /// Query parameters.
    pub parameters: Map,
    /// `bookmarks`, `tx_timeout`, `tx_metadata`, `mode`, `db`, `imp_user`, notification filters.
    pub extra: Map,
}

impl Run {
    /// An auto-commit or in-transaction RUN with empty parameters and extra.
    pub fn new(query: impl Into<String>) -> Self {
        Run {
            query: query.into(),
            parameters: Map::new(),
            extra: Map::new(),
        }
    }
}

impl Extra for Run {
    fn extra(&self) -> &Map {
        &self.extra
    }
}

/// BEGIN `extra`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Begin {
    /// Same keys as RUN's extra.
    pub extra: Map,
}

impl Extra for Begin {
    fn extra(&self) -> &Map {
        &self.extra
    }
}

/// PULL or DISCARD `{n, qid}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pull {
    /// The dictionary; `n` is required.
    pub extra: Map,
}

impl Pull {
    /// PULL/DISCARD of `n` records (-1 = all) from the last query.
    pub fn new(n: i64) -> Self {
        Pull {
            extra: Map::from([("n", n)]),
        }
    }

    /// PULL/DISCARD of `n` records from statement `qid`.
    pub fn with_qid(n: i64, qid: i64) -> Self {
        Pull {
            extra: Map::from([("n", n), ("qid", qid)]),
        }
    }

    /// `n`: how many records (-1 = all).
    pub fn n(&self) -> i64 {
        self.extra.get("n").and_then(Value::as_int).unwrap_or(-1)
    }

    /// `qid`: which statement (-1 = the last one).
    pub fn qid(&self) -> i64 {
        self.extra.get("qid").and_then(Value::as_int).unwrap_or(-1)
    }
}

/// TELEMETRY `api` (5.4+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Telemetry {
    /// 0 managed tx, 1 explicit tx, 2 implicit, 3 execute_query.
    pub api: i64,
}
