//! The classifier corpus against a real server. Each statement runs inside an explicit
//! transaction that is rolled back; the server's own summary (`type` and update counters)
//! says whether it wrote. Zero statements may be classified read that the server reports
//! as w / rw / s or with updates; the false-positive rate (reads classified as more) is
//! printed.
//!
//! ArcadeDB differs from Neo4j here: its EXPLAIN reports type `w` for every statement, so
//! the executed (and rolled back) type is used instead of EXPLAIN; EXPLAIN statements are
//! therefore left out (they execute nothing), and so are PROFILE statements (ArcadeDB
//! types every PROFILE `w`). ArcadeDB also types some procedures that are READ in Neo4j's
//! own catalog (`gds.graph.list`, `apoc.trigger.list`) `w`: for CALL statements only its
//! update counters count. ArcadeDB does not apply Neo4j's `\uXXXX` escape pass, so
//! statements with escapes are left to the oracle test (tests/oracle.rs), which judges
//! them with Neo4j's own front end. Statements the server rejects (admin commands, USE,
//! IN TRANSACTIONS inside a transaction, …) are counted as unsupported.

mod common;

#[allow(dead_code)]
mod cypher;

use boltward::cypher::classify;
use boltward::upstream::{BoltClient, Connector};
use boltward_protocol::{Map, Value};
use common::{Server, PASSWORD};
use std::time::Duration;

#[test]
fn no_statement_the_server_says_writes_is_classified_read() {
    let server = Server::start(&["alpha"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let connector = Connector::plain(server.addr(), Duration::from_secs(5));
        let mut c = BoltClient::connect(&connector, "root", PASSWORD, "boltward-corpus").await.unwrap();
        let db = Map::from([("db", "alpha")]);
        c.query("CREATE (:Person {name: 'Alice', id: 1, age: 40})-[:KNOWS]->(:Person {name: 'Bob', id: 2})", Map::new(), db.clone())
            .await
            .unwrap();
        let params = Map::from([
            ("param", Value::Integer(1)),
            ("create", Value::Integer(1)),
            ("rows", Value::List(vec![Value::Map(Map::from([("id", 1)]))])),
            ("names", Value::List(vec!["Alice".into()])),
            ("label", Value::from("X")),
        ]);
        let (mut supported, mut unsupported, mut reads, mut false_positives) = (0, 0, 0, 0);
        let mut unsound = Vec::new();
        let statements: Vec<String> = cypher::corpus().iter().flat_map(|(_, s)| cypher::variants(s)).collect();
        for stmt in statements {
            let upper = stmt.to_ascii_uppercase();
            if upper.contains("EXPLAIN ") || upper.contains("PROFILE ") || stmt.contains("\\u") {
                continue;
            }
            if c.begin(db.clone()).await.is_err() {
                c.reset().await.unwrap();
                unsupported += 1;
                continue;
            }
            let result = c.query(&stmt, params.clone(), Map::new()).await;
            let _ = c.reset().await; // rolls back whatever ran
            let Ok(r) = result else {
                unsupported += 1;
                continue;
            };
            supported += 1;
            let typed_write = r.summary.query_type().is_some_and(|t| t.writes()) && !upper.contains("CALL ");
            let wrote = typed_write || r.summary.stats().is_some_and(|s| s.contains_updates);
            let got = classify(&stmt);
            if wrote && got.is_read() {
                unsound.push(format!("{stmt:?}: server type {:?}, classified read", r.summary.query_type()));
            }
            if !wrote {
                reads += 1;
                if !got.is_read() {
                    false_positives += 1;
                    eprintln!("false positive: {stmt:?} classified {:?}", got.classes);
                }
            }
        }
        eprintln!(
            "corpus vs server: {supported} statements ran, {unsupported} unsupported by the server; \
             {reads} reads, {false_positives} classified as more than read ({:.1}% false positives)",
            100.0 * false_positives as f64 / reads.max(1) as f64
        );
        assert!(supported >= 300, "only {supported} statements ran on the server");
        assert!(unsound.is_empty(), "UNSOUND:\n{}", unsound.join("\n"));
    });
}
