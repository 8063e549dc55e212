//! EXPLAIN verification: for statements the lexer cannot decide (procedures off the
//! known-read list, unknown functions), boltward asks the server to plan the statement on
//! its own connection and trusts the server's query type. Answers are cached per
//! (database, statement text) in a bounded cache; failures are not cached and leave the
//! classifier's pessimistic answer in place.

use crate::config::Verify;
use crate::cypher::{Class, Classification};
use crate::upstream::{BoltClient, UpstreamHandle};
use boltward_protocol::message::QueryType;
use boltward_protocol::Map;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tracing::{debug, warn};

type Key = (Option<String>, String);

/// A bounded map with first-in-first-out eviction.
struct Cache {
    map: HashMap<Key, QueryType>,
    order: VecDeque<Key>,
    cap: usize,
}

impl Cache {
    fn get(&self, k: &Key) -> Option<QueryType> {
        self.map.get(k).copied()
    }

    fn put(&mut self, k: Key, v: QueryType) {
        if self.cap == 0 || self.map.contains_key(&k) {
            return;
        }
        while self.map.len() >= self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(k.clone());
        self.map.insert(k, v);
    }
}

/// Asks the server what a statement does.
pub(crate) struct Verifier {
    upstream: UpstreamHandle,
    user: String,
    password: String,
    cache: Mutex<Cache>,
    /// The connection, with the upstream generation it was made to.
    client: tokio::sync::Mutex<Option<(u64, BoltClient)>>,
}

impl Verifier {
    pub(crate) fn new(upstream: UpstreamHandle, cfg: &Verify, password: String) -> Self {
        Verifier {
            upstream,
            user: cfg.user.clone(),
            password,
            cache: Mutex::new(Cache {
                map: HashMap::new(),
                order: VecDeque::new(),
                cap: cfg.cache_size,
            }),
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// The server's query type for `query` on `db`, from the cache or an EXPLAIN.
    pub(crate) async fn query_type(
        &self,
        db: Option<&str>,
        query: &str,
        params: &Map,
    ) -> Option<QueryType> {
        let key = (db.map(str::to_owned), query.to_owned());
        if let Some(t) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            debug!(query_type = t.as_str(), "EXPLAIN verification (cached)");
            return Some(t);
        }
        let mut slot = self.client.lock().await;
        let current = self.upstream.current();
        if slot.as_ref().is_some_and(|(g, _)| *g != current.generation) {
            *slot = None; // promoted: ask the new upstream
        }
        if slot.is_none() {
            match BoltClient::connect(
                &current.connector,
                &self.user,
                &self.password,
                "boltward-verify",
            )
            .await
            {
                Ok(c) => *slot = Some((current.generation, c)),
                Err(e) => {
                    warn!(error = %e, "EXPLAIN verification unavailable: cannot connect");
                    return None;
                }
            }
        }
        let (_, client) = slot.as_mut()?;
        let mut extra = Map::new();
        if let Some(db) = db {
            extra.insert("db", db);
        }
        match client
            .query(&format!("EXPLAIN {query}"), params.clone(), extra)
            .await
        {
            Ok(r) => {
                let t = r.summary.query_type()?;
                debug!(query_type = t.as_str(), "EXPLAIN verification");
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .put(key, t);
                Some(t)
            }
            Err(e) => {
                debug!(error = %e, "EXPLAIN verification failed; keeping the lexer's classes");
                if e.code().is_none() {
                    *slot = None; // connection trouble: reconnect next time
                }
                None
            }
        }
    }
}

/// Applies the server's answer: a read keeps the classes the statement's structure proves
/// and those the server's query type says nothing about (external access, database
/// switches, administration, dynamic Cypher); a write adds its class.
pub(crate) fn apply(c: &mut Classification, t: QueryType) {
    match t {
        QueryType::Read => {
            let certain = &c.certain;
            c.classes.retain(|cl| {
                certain.contains(cl)
                    || matches!(
                        cl,
                        Class::External | Class::DbSwitch | Class::Admin | Class::Dynamic
                    )
            });
            if c.classes.is_empty() {
                c.classes.insert(Class::Read);
            }
            // A read is never replayed.
            if c.is_read() {
                c.replay.clear();
            }
        }
        QueryType::Write | QueryType::ReadWrite => {
            c.classes.remove(&Class::Read);
            c.classes.insert(Class::Write);
        }
        QueryType::Schema => {
            c.classes.remove(&Class::Read);
            c.classes.insert(Class::Schema);
        }
    }
    c.verify = false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cypher::classify;

    #[test]
    fn a_read_answer_settles_only_unknown_procedures() {
        // An unknown procedure alone: the server's `r` makes it a read.
        let mut c = classify("CALL my.proc()");
        assert!(c.verify);
        assert!(
            !c.replay.is_empty(),
            "an unknown procedure is a replay hazard"
        );
        apply(&mut c, QueryType::Read);
        assert!(c.is_read(), "{:?}", c.classes);
        assert!(
            c.replay.is_empty(),
            "a read is never replayed: {:?}",
            c.replay
        );

        // What the structure proves stays, whatever the server says: a literal write inside
        // a dynamic function (READ mode to the server) next to an unknown procedure.
        let mut c = classify(
            "CALL my.proc() YIELD x RETURN apoc.cypher.runFirstColumnSingle('CREATE (n) RETURN n', {}) AS n",
        );
        assert!(c.verify && c.has(Class::Write));
        apply(&mut c, QueryType::Read);
        assert!(c.has(Class::Write), "{:?}", c.classes);

        // Dynamic Cypher is never downgraded.
        let mut c =
            classify("CALL my.proc() YIELD q CALL apoc.cypher.run(q, {}) YIELD value RETURN value");
        apply(&mut c, QueryType::Read);
        assert!(c.has(Class::Dynamic), "{:?}", c.classes);
    }
}
