//! Write governance end to end, with real drivers through boltward to a real server:
//! a denied write raises the driver's normal error naming the rule, the data is unchanged
//! (checked directly on the server), and the same session then runs a permitted query —
//! for auto-commit, explicit transactions and fully pipelined execute_query. Audit mode
//! refuses nothing and logs what it would have refused. The deletion budget rolls a
//! transaction back at COMMIT, proven by reading the server.
//!
//! ArcadeDB has only the `root` user, so rules match actors by user agent here.

mod common;

use common::{py, repo, run, Boltward, Server, PASSWORD};
use std::process::Command;
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

const PY_AGENT: &str = r#"
import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
agent = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="agent/1.0")
res = {}
def code(e):
    return [e.code, e.message]
with agent.session(database="alpha") as s:
    try:
        s.run("CREATE (:Gov {run: $run})", run=run).consume()
        res["auto"] = "allowed"
    except ClientError as e:
        res["auto"] = code(e)
    res["after_auto"] = s.run("RETURN 1 AS x").single()["x"]
    tx = s.begin_transaction()
    tx.run("MATCH (n:Gov) RETURN count(n)").consume()
    try:
        tx.run("MERGE (:Gov {run: $run})", run=run).consume()
        res["tx"] = "allowed"
    except ClientError as e:
        res["tx"] = code(e)
    tx.close()
    res["after_tx"] = s.run("RETURN 2 AS x").single()["x"]
try:
    agent.execute_query("CREATE (:Gov {run: $run}) RETURN 1", run=run, database_="alpha")
    res["execute_query"] = "allowed"
except ClientError as e:
    res["execute_query"] = code(e)
res["read_via_execute_query"] = agent.execute_query("RETURN 3 AS x", database_="alpha").records[0]["x"]
res["count"] = admin.execute_query("MATCH (n:Gov {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps(res))
"#;

const PY_BUDGET: &str = r#"
import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
cleaner = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="cleaner/1.0")
admin.execute_query("UNWIND range(1, 3) AS k CREATE (:Bud {run: $run, k: k})", run=run, database_="alpha")
res = {}
with cleaner.session(database="alpha") as s:
    tx = s.begin_transaction()
    tx.run("MATCH (n:Bud {run: $run}) WHERE n.k >= 0 DETACH DELETE n", run=run).consume()
    try:
        tx.commit()
        res["commit"] = "committed"
    except ClientError as e:
        res["commit"] = [e.code, e.message]
    res["after"] = s.run("RETURN 4 AS x").single()["x"]
    tx = s.begin_transaction()
    tx.run("MATCH (n:Bud {run: $run}) WHERE n.k = 1 DETACH DELETE n", run=run).consume()
    tx.commit()
res["left"] = admin.execute_query("MATCH (n:Bud {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps(res))
"#;

fn py_json(which: &str, code: &str, bw: &Boltward, run_id: &str) -> serde_json::Value {
    let out = py(
        which,
        code,
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
const PY_DISGUISED: &str = r#"
import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
agent = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="agent/1.0")
statements = {
    "escaped_create": "\\u0043REATE (:Obf {run: $run})",
    "cr_comment": "WITH 1 AS x // note\rCREATE (:Obf {run: $run})",
    "escaped_newline_comment": "WITH 1 AS x // ok\\u000aCREATE (:Obf {run: $run})",
    "apoc_literal_write": "RETURN apoc.cypher.runFirstColumnSingle('CREATE (n:Obf {run: $run}) RETURN n', {run: $run}) AS n",
    "apoc_dynamic": "CALL apoc.cypher.run($q, {run: $run}) YIELD value RETURN value",
    "malformed_escape": "RETURN '\\u00zz' AS x",
}
res = {}
with agent.session(database="alpha") as s:
    for name, q in statements.items():
        try:
            s.run(q, run=run, q="CREATE (:Obf {run: $run})").consume()
            res[name] = "allowed"
        except ClientError as e:
            res[name] = [e.code, e.message]
        res[name + "_after"] = s.run("RETURN 1 AS x").single()["x"]
res["count"] = admin.execute_query("MATCH (n:Obf {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps(res))
"#;

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
        let script = format!(
            r#"
const {{ createRequire }} = require('module');
const neo4j = createRequire('{repo}/.testenv/node/')('{pkg}');
(async () => {{
  const auth = neo4j.auth.basic('root', '{PASSWORD}');
  const agent = neo4j.driver('bolt://{proxy}', auth, {{ userAgent: 'agent/1.0' }});
  const admin = neo4j.driver('bolt://{direct}', auth);
  const res = {{}};
  const s = agent.session({{ database: 'alpha' }});
  try {{ await s.run('CREATE (:Gov {{run: $run}})', {{ run: '{run}' }}); res.auto = 'allowed'; }}
  catch (e) {{ res.auto = [e.code, e.message]; }}
  res.after = (await s.run('RETURN 1 AS x')).records[0].get('x').toNumber();
  const tx = s.beginTransaction();
  try {{ await tx.run('CREATE (:Gov {{run: $run}})', {{ run: '{run}' }}); res.tx = 'allowed'; }}
  catch (e) {{ res.tx = [e.code, e.message]; }}
  try {{ await tx.rollback(); }} catch (e) {{}}
  try {{ await agent.executeQuery('CREATE (:Gov {{run: $run}})', {{ run: '{run}' }}, {{ database: 'alpha' }}); res.eq = 'allowed'; }}
  catch (e) {{ res.eq = [e.code, e.message]; }}
  res.after_tx = (await s.run('RETURN 2 AS x')).records[0].get('x').toNumber();
  const c = await admin.executeQuery('MATCH (n:Gov {{run: $run}}) RETURN count(n) AS c', {{ run: '{run}' }}, {{ database: 'alpha' }});
  res.count = c.records[0].get('c').toNumber();
  console.log(JSON.stringify(res));
  await s.close(); await agent.close(); await admin.close();
}})().catch(e => {{ console.error(e); process.exit(1); }});
"#,
            repo = repo().display(),
            proxy = bw.addr,
            direct = server().addr(),
            run = format!("gov-{pkg}"),
        );
        let out = run(Command::new("node").arg("-e").arg(script));
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
    let code = r#"
import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
j = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="janitor/1")
admin.execute_query("UNWIND range(1, 6) AS k CREATE (:Rate {run: $run, k: k})", run=run, database_="alpha")
out = []
for k in range(1, 7):
    try:
        j.execute_query("MATCH (n:Rate {run: $run, k: $k}) DELETE n", run=run, k=k, database_="alpha")
        out.append("deleted")
    except ClientError as e:
        out.append(e.message)
left = admin.execute_query("MATCH (n:Rate {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps({"out": out, "left": left}))
"#;
    let r = py_json("py6", code, &bw, "rate-1");
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
