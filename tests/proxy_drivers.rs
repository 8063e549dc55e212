//! Every official driver, every scenario, through boltward and directly, compared.
//!
//! Drivers: Python `neo4j` 5.28 and 6.x, JavaScript `neo4j-driver` 5.x and 6.x, over
//! bolt:// and neo4j://. Scenarios (tests/drivers/README.md): auto-commit, explicit
//! transactions, execute_query, managed transactions with retries, 100,000 records,
//! a >1 MB parameter, every value type, a syntax error then a good query, bookmarks,
//! two databases, 50 concurrent sessions, routing. The outputs, normalized, must be
//! identical, and every scenario must succeed.

mod common;

use common::{python, repo, run, Boltward, Server, PASSWORD};
use std::process::Command;
use std::sync::OnceLock;

/// Databases are not called `neo4j`: ArcadeDB treats that name as "no database".
fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| Server::start(&["alpha", "beta"]))
}

fn scenarios(driver: &str, uri: &str, run_id: &str) -> String {
    let common = [
        "--uri",
        uri,
        "--password",
        PASSWORD,
        "--db",
        "alpha",
        "--db2",
        "beta",
        "--run-id",
        run_id,
    ];
    let mut cmd = match driver {
        "py6" | "py528" => {
            let mut c = Command::new(python(driver));
            c.arg(repo().join("tests/drivers/scenarios.py"));
            c
        }
        js => {
            let mut c = Command::new("node");
            c.arg(repo().join("tests/drivers/scenarios.mjs"))
                .args(["--driver", js]);
            c
        }
    };
    run(cmd.args(common))
}

fn compare(driver: &str) {
    let server = server();
    let bw = Boltward::start(&server.addr(), &[], &[]);
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["bolt", "neo4j"] {
        let direct = scenarios(
            driver,
            &format!("{scheme}://{}", server.addr()),
            &format!("direct-{driver}-{scheme}"),
        );
        let proxied = scenarios(
            driver,
            &format!("{scheme}://{}", bw.addr),
            &format!("proxied-{driver}-{scheme}"),
        );
        let (a, b) = (
            dir.path().join("direct.jsonl"),
            dir.path().join("proxied.jsonl"),
        );
        std::fs::write(&a, &direct).unwrap();
        std::fs::write(&b, &proxied).unwrap();
        let out = Command::new("python3")
            .arg(repo().join("tests/drivers/compare.py"))
            .arg(&a)
            .arg(&b)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{driver} {scheme}://: boltward differs from a direct connection:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines: Vec<serde_json::Value> = proxied
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            12,
            "{driver} {scheme}: every scenario reported"
        );
        for l in &lines {
            assert_eq!(
                l["ok"], true,
                "{driver} {scheme}://: scenario failed through boltward: {l}"
            );
        }
        if scheme == "neo4j" {
            let routing = lines.iter().find(|l| l["scenario"] == "routing").unwrap();
            for mode in ["read", "write"] {
                assert_eq!(
                    routing["result"][mode]["server_port_is_uri_port"], true,
                    "{driver}: {mode} routed back to boltward: {routing}"
                );
            }
        }
    }
    if driver.starts_with("py") || driver.ends_with('6') {
        let routes = common::metric_value(&bw.metrics(), "boltward_messages_total{type=\"ROUTE\"}");
        assert!(
            routes >= 1.0,
            "{driver}: ROUTE went through boltward ({routes})"
        );
    }
}

#[test]
fn python_6() {
    compare("py6");
}

#[test]
fn python_5_28() {
    compare("py528");
}

#[test]
fn javascript_5() {
    compare("neo4j-driver-5");
}

#[test]
fn javascript_6() {
    compare("neo4j-driver-6");
}
