//! neo4rs (Bolt 4.4) through boltward, each scenario compared with a direct connection:
//! auto-commit, explicit transactions (commit and rollback), a 100,000-record result, a
//! parameter over 1 MB, value types, a syntax error followed by a good query, two
//! databases, and 50 concurrent sessions.

mod common;

use common::{shared_server, Boltward, PASSWORD};
use neo4rs::{query, BoltType, ConfigBuilder, Graph};
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn graph(addr: &str, db: &str) -> Graph {
    let config = ConfigBuilder::default()
        .uri(addr)
        .user("root")
        .password(PASSWORD)
        .db(db)
        .max_connections(64)
        .build()
        .unwrap();
    Graph::connect(config).unwrap()
}

/// Everything one run observes, for comparing direct with proxied.
async fn scenarios(addr: &str, run: &str) -> Vec<(String, String)> {
    let g = graph(addr, "neo4j").await;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut note = |k: &str, v: String| out.push((k.to_owned(), v));

    // auto-commit
    g.run(query("CREATE (:R4 {run: $run, k: 1})").param("run", run))
        .await
        .unwrap();
    let mut rows = g
        .execute(query("MATCH (n:R4 {run: $run}) RETURN n.k AS k").param("run", run))
        .await
        .unwrap();
    let row = rows.next().await.unwrap().unwrap();
    note("auto_commit", format!("{:?}", row.get::<i64>("k").unwrap()));

    // explicit transactions
    let mut tx = g.start_txn().await.unwrap();
    tx.run(query("CREATE (:R4Tx {run: $run})").param("run", run))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = g.start_txn().await.unwrap();
    tx.run(query("CREATE (:R4Tx {run: $run})").param("run", run))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut rows = g
        .execute(query("MATCH (n:R4Tx {run: $run}) RETURN count(n) AS c").param("run", run))
        .await
        .unwrap();
    note(
        "explicit_tx",
        format!(
            "{:?}",
            rows.next().await.unwrap().unwrap().get::<i64>("c").unwrap()
        ),
    );

    // large result
    let mut rows = g
        .execute(query("UNWIND range(1, 100000) AS i RETURN i"))
        .await
        .unwrap();
    let (mut n, mut sum) = (0i64, 0i64);
    while let Some(row) = rows.next().await.unwrap() {
        n += 1;
        sum += row.get::<i64>("i").unwrap();
    }
    note("large_result", format!("{n} {sum}"));

    // large parameter (multi-chunk)
    let big = "x".repeat(1_100_000);
    let mut rows = g
        .execute(query("RETURN size($p) AS s").param("p", big))
        .await
        .unwrap();
    note(
        "large_param",
        format!(
            "{:?}",
            rows.next().await.unwrap().unwrap().get::<i64>("s").unwrap()
        ),
    );

    // value types
    for (name, v) in [
        ("int", BoltType::from(i64::MIN)),
        ("float", BoltType::from(1.5f64)),
        ("string", BoltType::from("é€😀")),
        ("list", BoltType::from(vec![1i64, 2, 3])),
        ("bytes", BoltType::from(vec![0u8, 1, 255].as_slice())),
    ] {
        let r = g.execute(query("RETURN $v AS v").param("v", v)).await;
        let shown = match r {
            Ok(mut rows) => match rows.next().await {
                Ok(Some(row)) => format!("{:?}", row.get::<BoltType>("v")),
                other => format!("{other:?}"),
            },
            Err(e) => format!("error {e}"),
        };
        note(&format!("value_{name}"), shown);
    }
    for (name, expr) in [
        ("date", "date('2024-01-02')"),
        ("local_time", "localtime('12:34:56.789')"),
        ("local_datetime", "localdatetime('2024-01-02T03:04:05')"),
        ("datetime", "datetime('2024-01-02T03:04:05+02:00')"),
        ("duration", "duration('P1Y2M3DT4H')"),
        ("point", "point({x: 1.5, y: 2.5})"),
    ] {
        let shown = match g.execute(query(&format!("RETURN {expr} AS v"))).await {
            Ok(mut rows) => format!(
                "{:?}",
                rows.next().await.map(|r| r.map(|r| r.get::<BoltType>("v")))
            ),
            Err(e) => format!("error {e}"),
        };
        note(&format!("temporal_{name}"), shown);
    }
    let mut rows = g
        .execute(
            query(
                "CREATE (a:R4P {run: $run})-[r:KNOWS {w: 2}]->(b:R4P {run: $run}) RETURN a, r, b",
            )
            .param("run", run),
        )
        .await
        .unwrap();
    let row = rows.next().await.unwrap().unwrap();
    let a: neo4rs::Node = row.get("a").unwrap();
    let r: neo4rs::Relation = row.get("r").unwrap();
    note(
        "graph",
        format!("{:?} {} {:?}", a.labels(), r.typ(), r.get::<i64>("w")),
    );

    // syntax error, then a good query
    let err = g.run(query("THIS IS NOT CYPHER")).await.unwrap_err();
    note(
        "syntax_error",
        err.to_string().contains("SyntaxError").to_string(),
    );
    let mut rows = g.execute(query("RETURN 7 AS x")).await.unwrap();
    note(
        "after_error",
        format!("{:?}", rows.next().await.unwrap().unwrap().get::<i64>("x")),
    );

    // a second database
    let other = graph(addr, "other").await;
    other
        .run(query("CREATE (:R4Other {run: $run})").param("run", run))
        .await
        .unwrap();
    let count = |g: Graph| async move {
        let mut rows = g
            .execute(query("MATCH (n:R4Other {run: $run}) RETURN count(n) AS c").param("run", run))
            .await
            .unwrap();
        rows.next().await.unwrap().unwrap().get::<i64>("c").unwrap()
    };
    note(
        "two_databases",
        format!("{} {}", count(other.clone()).await, count(g.clone()).await),
    );

    // 50 concurrent sessions
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let g = g.clone();
            let run = run.to_owned();
            tokio::spawn(async move {
                g.run(
                    query("CREATE (:R4C {run: $run, i: $i})")
                        .param("run", run.clone())
                        .param("i", i),
                )
                .await
                .unwrap();
                let mut rows = g
                    .execute(query("RETURN $i AS i").param("i", i))
                    .await
                    .unwrap();
                rows.next().await.unwrap().unwrap().get::<i64>("i").unwrap() == i
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap() as usize;
    }
    note("concurrent_sessions", ok.to_string());
    out
}

#[test]
fn neo4rs_sees_the_same_through_boltward() {
    let server = shared_server();
    let bw = Boltward::start(&server.addr(), &[], &[]);
    let rt = rt();
    let run = |addr: String, id: &'static str| {
        rt.block_on(async move {
            tokio::time::timeout(Duration::from_secs(120), scenarios(&addr, id)).await
        })
        .expect("scenarios finish")
    };
    let direct = run(server.addr(), "direct");
    let proxied = run(bw.addr.clone(), "proxied");
    assert_eq!(direct.len(), proxied.len());
    for ((k, d), (_, p)) in direct.iter().zip(&proxied) {
        assert_eq!(d, p, "{k}: direct {d} vs boltward {p}");
    }
    let get = |k: &str| &proxied.iter().find(|(n, _)| n == k).unwrap().1;
    assert_eq!(get("auto_commit"), "1");
    assert_eq!(get("explicit_tx"), "1", "committed once, rolled back once");
    assert_eq!(get("large_result"), "100000 5000050000");
    assert_eq!(get("large_param"), "1100000");
    assert_eq!(get("syntax_error"), "true");
    assert_eq!(get("after_error"), "Ok(7)");
    assert_eq!(get("two_databases"), "1 0");
    assert_eq!(get("concurrent_sessions"), "50");
    assert!(
        bw.logs().contains("bolt=4.4"),
        "neo4rs negotiated Bolt 4.4 through boltward"
    );
}
