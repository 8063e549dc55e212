//! The maintenance switch: `POST /v1/writes/pause` holds new write work while reads flow;
//! a driver's managed transaction waits and succeeds after `resume`; a write held past the
//! bound gets a transient error and the session stays usable.

mod common;

use common::{py, shared_server, Boltward, PASSWORD};

const TOKEN: &str = "gate-token";

const SCRIPT: &str = r#"
import os, json, threading, time, urllib.request, neo4j
from neo4j.exceptions import Neo4jError
ctl, tok, run = os.environ["CONTROL"], os.environ["TOKEN"], os.environ["RUN"]
def control(path):
    req = urllib.request.Request(f"http://{ctl}{path}", method="POST" if "writes" in path else "GET",
                                 headers={"Authorization": f"Bearer {tok}"})
    return json.loads(urllib.request.urlopen(req).read())
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
res = {}
if os.environ["MODE"] == "resume":
    control("/v1/writes/pause")
    done = {}
    def writer():
        t0 = time.time()
        d.execute_query("CREATE (:Gate {run: $run})", run=run, database_="neo4j")
        done["waited"] = time.time() - t0
    t = threading.Thread(target=writer); t.start()
    # Wait until boltward holds the write (or the writer got through, which the asserts catch).
    deadline = time.time() + 60
    while control("/v1/status")["writes"]["held"] < 1 and "waited" not in done and time.time() < deadline:
        time.sleep(0.02)
    res["read_while_paused"] = d.execute_query("RETURN 7 AS x", database_="neo4j", routing_="r").records[0]["x"]
    res["held"] = control("/v1/status")["writes"]["held"]
    res["writer_done_before_resume"] = "waited" in done
    control("/v1/writes/resume")
    t.join(30)
    res["writer_done"] = "waited" in done
    res["count"] = d.execute_query("MATCH (n:Gate {run: $run}) RETURN count(n) AS c", run=run, database_="neo4j").records[0]["c"]
else:
    control("/v1/writes/pause")
    with d.session(database="neo4j") as s:
        try:
            s.run("CREATE (:Gate {run: $run})", run=run).consume()
            res["write"] = "ran"
        except Neo4jError as e:
            res["write"] = e.code
        res["after"] = s.run("RETURN 1 AS x").single()["x"]
    control("/v1/writes/resume")
print(json.dumps(res))
"#;

fn run(mode: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec![("BOLTWARD_CONTROL_TOKEN", TOKEN)];
    all.extend_from_slice(env);
    let bw = Boltward::start(&shared_server().addr(), &[], &all);
    let out = py(
        "py6",
        SCRIPT,
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("PW", PASSWORD),
            ("CONTROL", &bw.control),
            ("TOKEN", TOKEN),
            ("RUN", &format!("gate-{mode}")),
            ("MODE", mode),
        ],
    );
    serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
}

#[test]
fn paused_writes_wait_and_succeed_after_resume() {
    let r = run("resume", &[]);
    assert_eq!(
        r["read_while_paused"], 7,
        "reads flow while writes are paused: {r}"
    );
    assert_eq!(r["held"], 1, "the managed transaction is held: {r}");
    assert_eq!(r["writer_done_before_resume"], false);
    assert_eq!(r["writer_done"], true, "{r}");
    assert_eq!(r["count"], 1, "the write landed once, after resume: {r}");
}

#[test]
fn writes_held_too_long_get_a_transient_error() {
    let r = run("timeout", &[("BOLTWARD_WRITES_PAUSE_TIMEOUT_SECS", "1")]);
    assert_eq!(
        r["write"], "Neo.TransientError.General.DatabaseUnavailable",
        "{r}"
    );
    assert_eq!(r["after"], 1, "the session is usable afterwards: {r}");
}
