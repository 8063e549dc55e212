//! Graph health probes against the real server: each tier passes, then fails for a real
//! reason (an index the schema file expects is dropped; orphans are created; the server is
//! stopped — and then the later tiers are skipped), through `/health/graph` (token
//! required) and `boltward health` (exit codes, JSON, and the human format compared with a
//! snapshot).

mod common;

use common::{Boltward, Server, PASSWORD};
use serde_json::Value;

const TOKEN: &str = "health-token";

fn cypher(server: &Server, queries: &[&str]) {
    common::execute(&server.addr(), Some("health"), queries);
}

const SCHEMA: &str = r#"
[[index]]
name = "hp_id"

[[index]]
label = "HPerson"
properties = ["email"]

[[constraint]]
name = "hp_uq"
"#;

const CONFIG: &str = r#"
[health]
user = "root"
database = "health"
schema_file = "SCHEMA"
isolated_labels = ["HPerson"]
relationship_endpoints = [{ type = "OWNS", from = "HPerson", to = "HPet" }]

[[health.orphan_checks]]
name = "pets without owner"
query = "MATCH (p:HPet) WHERE NOT ()-[:OWNS]->(p) RETURN count(p)"
"#;

fn start(server: &Server, dir: &std::path::Path) -> Boltward {
    let schema = dir.join("schema.toml");
    std::fs::write(&schema, SCHEMA).unwrap();
    let cfg = dir.join("boltward.toml");
    std::fs::write(&cfg, CONFIG.replace("SCHEMA", schema.to_str().unwrap())).unwrap();
    Boltward::start(
        &server.addr(),
        &["--config", cfg.to_str().unwrap()],
        &[
            ("BOLTWARD_CONTROL_TOKEN", TOKEN),
            ("BOLTWARD_HEALTH_PASSWORD", PASSWORD),
            ("BOLTWARD_HEALTH_INTERVAL_SECS", "1"),
        ],
    )
}

fn health(bw: &Boltward, extra: &[&str]) -> (i32, String) {
    let (code, out, _) = bw.cli(&[&["health", "--token", TOKEN], extra].concat());
    (code, out)
}

fn json(bw: &Boltward) -> (i32, Value) {
    let (code, out) = health(bw, &["--json", "--detailed"]);
    (code, serde_json::from_str(&out).unwrap())
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The human format with durations and the server address masked.
fn masked(text: &str, server: &Server) -> String {
    text.replace(&server.addr(), "<server>")
        .lines()
        .map(|l| match l.find(" ms  ") {
            Some(i) => {
                let head = l[..i]
                    .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
                    .trim_end();
                format!("{head} <ms>{}", &l[i + 3..])
            }
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn probes_pass_then_fail_for_real_reasons() {
    let server = Server::start(&["health"]);
    cypher(
        &server,
        &[
            "CREATE INDEX hp_id IF NOT EXISTS FOR (n:HPerson) ON (n.id)",
            "CREATE CONSTRAINT hp_uq IF NOT EXISTS FOR (n:HPerson) REQUIRE n.email IS UNIQUE",
            "CREATE (:HPerson {id: 1, email: 'a@x'})-[:OWNS]->(:HPet {name: 'rex'})",
            "CREATE (:HPerson {id: 2, email: 'b@x'})-[:OWNS]->(:HPet {name: 'tom'})",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&server, dir.path());

    // The background probes keep the metrics current without anyone asking.
    let mut metrics = String::new();
    common::within(std::time::Duration::from_secs(15), || {
        metrics = bw.metrics();
        // A run sets the checks' metrics one after the other: wait for the last one too.
        metrics.contains("boltward_health_check_status{check=\"schema\"} 1")
            && metrics.contains("boltward_health_check_duration_seconds{check=\"orphans\"}")
    });
    assert!(
        metrics.contains("boltward_health_check_status{check=\"schema\"} 1")
            && metrics.contains("boltward_health_check_duration_seconds{check=\"orphans\"}"),
        "{metrics}"
    );

    // No token: 401 with the stable error shape.
    let resp = bw.status_of("/health/graph");
    assert_eq!(resp, 401);

    // Healthy.
    let (code, v) = json(&bw);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["status"], "healthy");
    assert_eq!(
        statuses(&v),
        pairs(&[
            ("connectivity", "pass"),
            ("schema", "pass"),
            ("orphans", "pass")
        ])
    );
    assert_eq!(v["stats"]["nodes"], 4);
    assert_eq!(v["stats"]["relationships"], 2);
    assert_eq!(v["stats"]["labels"]["HPerson"], 2);
    assert_eq!(v["stats"]["types"]["OWNS"], 2);
    assert!(v["checks"][0]["duration_ms"].as_f64().is_some());
    let (code, text) = health(&bw, &["--detailed"]);
    assert_eq!(code, 0);
    let expected =
        std::fs::read_to_string(common::repo().join("tests/snapshots/health-healthy.txt")).unwrap();
    assert_eq!(
        masked(&text, &server),
        expected.trim_end(),
        "human format:\n{text}"
    );
    let (_, plain) = json_plain(&bw);
    assert!(plain.get("stats").is_none(), "stats only with detailed");

    // Schema: an index the schema file expects is dropped.
    cypher(&server, &["DROP INDEX hp_id"]);
    let (code, v) = json(&bw);
    assert_eq!(code, 1);
    assert_eq!(
        statuses(&v),
        pairs(&[
            ("connectivity", "pass"),
            ("schema", "fail"),
            ("orphans", "pass")
        ])
    );
    assert_eq!(
        v["checks"][1]["problems"],
        serde_json::json!(["index hp_id is missing"])
    );
    let (_, text) = health(&bw, &[]);
    let expected =
        std::fs::read_to_string(common::repo().join("tests/snapshots/health-schema.txt")).unwrap();
    assert_eq!(
        masked(&text, &server),
        expected.trim_end(),
        "human format:\n{text}"
    );
    cypher(
        &server,
        &["CREATE INDEX hp_id IF NOT EXISTS FOR (n:HPerson) ON (n.id)"],
    );
    assert_eq!(json(&bw).0, 0, "index back: healthy again");

    // Orphans: an isolated person, an OWNS from a node without the label, a lost pet.
    cypher(
        &server,
        &[
            "CREATE (:HPerson {id: 3, email: 'c@x'})",
            "CREATE (:HRobot)-[:OWNS]->(:HPet {name: 'bolt'})",
            "CREATE (:HPet {name: 'stray'})",
        ],
    );
    let (code, v) = json(&bw);
    assert_eq!(code, 1);
    assert_eq!(
        statuses(&v),
        pairs(&[
            ("connectivity", "pass"),
            ("schema", "pass"),
            ("orphans", "fail")
        ])
    );
    assert_eq!(
        v["checks"][2]["problems"],
        serde_json::json!([
            "endpoints of :OWNS: 1",
            "isolated :HPerson: 1",
            "pets without owner: 1"
        ])
    );
    let metrics = bw.metrics();
    assert!(
        metrics.contains("boltward_health_check_status{check=\"orphans\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("boltward_health_check_status{check=\"connectivity\"} 1"));

    // Connectivity: the server is gone; the other tiers are skipped (fast-fail).
    server.stop();
    let (code, v) = json(&bw);
    assert_eq!(code, 1);
    assert_eq!(
        statuses(&v),
        pairs(&[
            ("connectivity", "fail"),
            ("schema", "skipped"),
            ("orphans", "skipped")
        ])
    );
    assert!(v.get("stats").is_none());
    let (_, text) = health(&bw, &[]);
    assert!(
        text.starts_with("graph: unhealthy\n  connectivity  fail"),
        "{text}"
    );
    assert!(
        text.contains("schema        skipped   skipped: connectivity failed"),
        "{text}"
    );
}

fn json_plain(bw: &Boltward) -> (i32, Value) {
    let (code, out) = health(bw, &["--json"]);
    (code, serde_json::from_str(&out).unwrap())
}
