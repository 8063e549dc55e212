//! Write governance end to end, with real drivers through boltward to a real server:
//! a denied write raises the driver's normal error naming the rule, the data is unchanged
//! (checked directly on the server), and the same session then runs a permitted query —
//! for auto-commit, explicit transactions and fully pipelined execute_query. Audit mode
//! refuses nothing and logs what it would have refused. The deletion budget rolls a
//! transaction back at COMMIT, proven by reading the server.
//!
//! ArcadeDB has only the `root` user, so rules match actors by user agent here.

mod common;

use common::{script, Boltward, Server, PASSWORD};
use std::sync::OnceLock;

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| Server::start(&["alpha", "beta"]))
}

const POLICY: &str = r#"
[policy]
mode = "MODE"
default = "allow"

[[policy.rules]]
name = "agents-read-only"
actors = { user_agents = ["agent/*", "neo4rs*"] }
allow = ["read"]

[[policy.rules]]
name = "cleaner"
actors = { user_agents = ["cleaner/*"] }
allow = ["read", "write"]
max_deletes_per_tx = 2
"#;

fn boltward(mode: &str) -> (Boltward, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boltward.toml");
    std::fs::write(&path, POLICY.replace("MODE", mode)).unwrap();
    let bw = Boltward::start(&server().addr(), &["--config", path.to_str().unwrap()], &[]);
    (bw, dir)
}

const PY_AGENT: &str = "governance/agent.py";

const PY_BUDGET: &str = "governance/budget.py";

fn py_json(which: &str, path: &str, bw: &Boltward, run_id: &str) -> serde_json::Value {
    let out = script(
        which,
        path,
        &[],
        &[
            ("RUN", run_id),
            ("PW", PASSWORD),
            ("DIRECT", &format!("bolt://{}", server().addr())),
            ("PROXY", &format!("bolt://{}", bw.addr)),
        ],
    );
    serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
}

fn assert_forbidden(v: &serde_json::Value, what: &str) {
    assert_eq!(v[0], "Neo.ClientError.Security.Forbidden", "{what}: {v}");
    assert!(
        v[1].as_str().unwrap().contains("agents-read-only"),
        "{what}: the message names the rule: {v}"
    );
}

#[test]
fn python_denied_writes_leave_data_unchanged_and_sessions_usable() {
    let (bw, _dir) = boltward("enforce");
    for which in ["py6", "py528"] {
        let r = py_json(which, PY_AGENT, &bw, &format!("gov-{which}"));
        assert_forbidden(&r["auto"], "auto-commit");
        assert_forbidden(&r["tx"], "explicit transaction");
        assert_forbidden(&r["execute_query"], "execute_query");
        assert_eq!(
            r["after_auto"], 1,
            "{which}: session usable after a refusal"
        );
        assert_eq!(
            r["after_tx"], 2,
            "{which}: session usable after a refused transaction"
        );
        assert_eq!(r["read_via_execute_query"], 3);
        assert_eq!(r["count"], 0, "{which}: nothing was written: {r}");
    }
    let refused = common::metric_sum(&bw.metrics(), "boltward_refusals_total");
    assert!(refused >= 1.0, "refusals are counted: {refused}");
}

/// Writes disguised as Neo4j's lexer allows (an escaped keyword, a comment ended by a bare
/// carriage return or by an escaped newline) and dynamic Cypher (a literal write inside
/// an APOC call, and a query passed as a parameter) from a read-only actor: each is
/// refused with the rule named, the session stays usable and the server's data is
/// unchanged. ArcadeDB has no APOC and its own lexer: what matters here is that boltward
/// refuses before the server sees anything, so the assertions are boltward's FAILUREs
/// and the server's data.
const PY_DISGUISED: &str = "governance/disguised.py";

#[test]
fn disguised_and_dynamic_writes_from_a_reader_are_refused() {
    let (bw, _dir) = boltward("enforce");
    let r = py_json("py6", PY_DISGUISED, &bw, "gov-disguised");
    for name in [
        "escaped_create",
        "cr_comment",
        "escaped_newline_comment",
        "apoc_literal_write",
        "apoc_dynamic",
        "malformed_escape",
    ] {
        assert_forbidden(&r[name], name);
        assert_eq!(r[format!("{name}_after")], 1, "{name}: session usable: {r}");
    }
    let dynamic = r["apoc_dynamic"][1].as_str().unwrap();
    assert!(
        dynamic.contains("dynamic"),
        "the refusal names the class: {dynamic}"
    );
    assert_eq!(r["count"], 0, "nothing was written: {r}");
    let metrics = bw.metrics();
    assert!(
        metrics.contains("boltward_statements_unparsed_total 1"),
        "the malformed escape was counted as unparsed:\n{metrics}"
    );
}

#[test]
fn audit_mode_refuses_nothing_and_records() {
    let (bw, _dir) = boltward("audit");
    let r = py_json("py6", PY_AGENT, &bw, "gov-audit");
    assert_eq!(r["auto"], "allowed");
    assert_eq!(r["tx"], "allowed");
    assert_eq!(r["execute_query"], "allowed");
    // auto-commit and execute_query ran; the explicit transaction is rolled back by the script
    assert_eq!(r["count"], 2, "the writes ran: {r}");
    assert!(
        bw.logs()
            .matches("audit: statement would be refused")
            .count()
            >= 3,
        "{}",
        bw.logs()
    );
}

#[test]
fn deletion_budget_rolls_back_at_commit() {
    let (bw, _dir) = boltward("enforce");
    for which in ["py6", "py528"] {
        let r = py_json(which, PY_BUDGET, &bw, &format!("budget-{which}"));
        assert_eq!(
            r["commit"][0], "Neo.ClientError.Security.Forbidden",
            "{which}: {r}"
        );
        assert!(
            r["commit"][1]
                .as_str()
                .unwrap()
                .contains("guard:deletion-budget"),
            "{r}"
        );
        assert_eq!(r["after"], 4);
        assert_eq!(
            r["left"], 2,
            "{which}: the over-budget delete was rolled back, the small one committed: {r}"
        );
    }
    let rolled_back = common::metric_value(
        &bw.metrics(),
        "boltward_commits_rolled_back_total{rule=\"guard:deletion-budget\"}",
    );
    assert!(
        rolled_back >= 1.0,
        "the COMMIT turned into ROLLBACK is counted: {rolled_back}"
    );
}

#[test]
fn javascript_denied_writes() {
    let (bw, _dir) = boltward("enforce");
    for pkg in ["neo4j-driver-5", "neo4j-driver-6"] {
        let out = script(
            pkg,
            "governance/agent.mjs",
            &["--driver", pkg],
            &[
                ("RUN", &format!("gov-{pkg}")),
                ("PW", PASSWORD),
                ("DIRECT", &format!("bolt://{}", server().addr())),
                ("PROXY", &format!("bolt://{}", bw.addr)),
            ],
        );
        let r: serde_json::Value =
            serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
        assert_forbidden(&r["auto"], &format!("{pkg} auto-commit"));
        assert_forbidden(&r["tx"], &format!("{pkg} explicit transaction"));
        assert_forbidden(&r["eq"], &format!("{pkg} executeQuery"));
        assert_eq!(r["after"], 1);
        assert_eq!(r["after_tx"], 2);
        assert_eq!(r["count"], 0, "{pkg}: {r}");
    }
}

#[test]
fn neo4rs_denied_write() {
    use neo4rs::{query, ConfigBuilder, Graph};
    let (bw, _dir) = boltward("enforce");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = bw.addr.clone();
    rt.block_on(async move {
        let cfg = |a: &str| {
            ConfigBuilder::default()
                .uri(a)
                .user("root")
                .password(PASSWORD)
                .db("alpha")
                .build()
                .unwrap()
        };
        let g = Graph::connect(cfg(&addr)).unwrap();
        let err = g
            .run(query("CREATE (:Gov {run: 'neo4rs'})"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("Forbidden") || err.to_string().contains("agents-read-only"),
            "{err}"
        );
        let mut rows = g.execute(query("RETURN 5 AS x")).await.unwrap();
        assert_eq!(
            rows.next().await.unwrap().unwrap().get::<i64>("x").unwrap(),
            5
        );
        let direct = Graph::connect(cfg(&server().addr())).unwrap();
        let mut rows = direct
            .execute(query("MATCH (n:Gov {run: 'neo4rs'}) RETURN count(n) AS c"))
            .await
            .unwrap();
        assert_eq!(
            rows.next().await.unwrap().unwrap().get::<i64>("c").unwrap(),
            0
        );
    });
}

#[test]
fn delete_rate_breaker_trips_per_actor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boltward.toml");
    std::fs::write(
        &path,
        "[policy]\ndefault = \"allow\"\n[[policy.rules]]\nname = \"janitor\"\nactors = { user_agents = [\"janitor/*\"] }\nallow = [\"read\", \"write\"]\ndelete_rate = { max = 3, window_secs = 600 }\n",
    )
    .unwrap();
    let bw = Boltward::start(&server().addr(), &["--config", path.to_str().unwrap()], &[]);
    let r = py_json("py6", "governance/delete_rate.py", &bw, "rate-1");
    let out: Vec<&str> = r["out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(&out[..3], &["deleted", "deleted", "deleted"], "{r}");
    for refused in &out[3..] {
        assert!(refused.contains("guard:delete-rate"), "{r}");
    }
    assert_eq!(r["left"], 3, "three deletions, then the breaker held: {r}");
}
