//! The write journal end to end, through boltward with the real Python driver and
//! ArcadeDB: every committed write has an intent and an outcome, refusals are recorded,
//! reads are not, each audit filter selects what it should (CLI offline and the control
//! port), the chain verifies, and no credential appears in any file, log or output.

mod common;

use common::{boltward_cli, script, Boltward, Server, PASSWORD};
use serde_json::Value;
use std::sync::OnceLock;

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&["alpha", "beta", "audit"]))
}

const TOKEN: &str = "journal-token";

const LOAD: &str = "journal/load.py";

const CONFIG: &str = r#"
[policy]
default = "allow"
[[policy.rules]]
name = "agents-read-only"
actors = { user_agents = ["agent/*"] }
allow = ["read"]
"#;

fn query(journal: &str, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "query", "--journal", journal, "--json"];
    args.extend_from_slice(filters);
    let (code, out, err) = boltward_cli(&args, &[]);
    assert!(
        code == 0 || code == 4,
        "audit query {filters:?} exited {code}: {err}"
    );
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn lsns(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|r| r["lsn"].as_u64().unwrap()).collect()
}

#[test]
fn journal_records_writes_refusals_and_answers_audit_queries() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let bw = Boltward::start(
        &server.addr(),
        &["--config", cfg.to_str().unwrap()],
        &[("BOLTWARD_CONTROL_TOKEN", TOKEN)],
    );
    let run = format!("j{}", std::process::id());
    let started = boltward::journal::now_micros();
    let out = script(
        "py6",
        LOAD,
        &[],
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("PW", PASSWORD),
            ("RUN", &run),
        ],
    );
    let out: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(out["refused"], "Neo.ClientError.Security.Forbidden");
    let journal = bw.journal_dir();
    let j = journal.to_str().unwrap();

    let all = query(j, &[]);
    let writes: Vec<&Value> = all.iter().filter(|r| r["kind"] == "write").collect();
    let refusals: Vec<&Value> = all.iter().filter(|r| r["kind"] == "refusal").collect();
    assert_eq!(writes.len(), 3, "three writes, no reads: {all:#?}");
    assert_eq!(refusals.len(), 1, "{all:#?}");
    // Newest first.
    assert!(lsns(&all).windows(2).all(|w| w[0] > w[1]));

    let beta = writes[0];
    assert_eq!(beta["database"], "beta");
    let explicit = writes[1];
    assert_eq!(explicit["mode"], "explicit");
    assert_eq!(explicit["statements"].as_array().unwrap().len(), 2);
    assert_eq!(explicit["statements"][0]["parameters"]["run"], run.as_str());
    assert_eq!(explicit["outcome"]["result"], "committed");
    assert_eq!(explicit["types"], serde_json::json!(["KNOWS"]));
    let auto = writes[2];
    assert_eq!(auto["mode"], "auto");
    assert_eq!(
        auto["statements"][0]["query"],
        "CREATE (:JPerson {run: $run, name: 'ada'})"
    );
    assert_eq!(auto["outcome"]["result"], "committed");
    assert_eq!(auto["outcome"]["stats"]["nodes-created"], 1);
    assert_eq!(auto["actor"]["principal"], "root");
    assert_eq!(auto["actor"]["user_agent"], "app/1");
    assert_eq!(auto["actor"]["address"], "127.0.0.1");
    let refusal = refusals[0];
    assert_eq!(refusal["rule"], "agents-read-only");
    assert_eq!(refusal["actor"]["user_agent"], "agent/1");
    assert!(refusal["statements"][0]["query"]
        .as_str()
        .unwrap()
        .contains("DETACH DELETE"));

    // Each filter selects exactly what it should.
    let l = |rows: Vec<Value>| lsns(&rows);
    let (bl, el, al, rl) = (
        beta["lsn"].as_u64().unwrap(),
        explicit["lsn"].as_u64().unwrap(),
        auto["lsn"].as_u64().unwrap(),
        refusal["lsn"].as_u64().unwrap(),
    );
    assert_eq!(l(query(j, &["--database", "beta"])), [bl]);
    assert_eq!(l(query(j, &["--kind", "refusal"])), [rl]);
    assert_eq!(l(query(j, &["--verdict", "deny"])), [rl]);
    assert_eq!(l(query(j, &["--label", "JPet"])), [el]);
    assert_eq!(l(query(j, &["--type", "KNOWS"])), [el]);
    assert_eq!(
        l(query(
            j,
            &["--class", "write", "--database", "alpha", "--kind", "write"]
        )),
        [el, al]
    );
    assert_eq!(l(query(j, &["--outcome", "committed"])), [bl, el, al]);
    assert!(query(j, &["--outcome", "failed"]).is_empty());
    assert_eq!(
        l(query(j, &["--principal", "root", "--limit", "2"])),
        [bl, rl]
    );
    assert!(query(j, &["--principal", "nobody"]).is_empty());
    assert!(query(j, &["--actor", "nobody"]).is_empty());
    let since = boltward::journal::query::rfc3339(started);
    assert_eq!(query(j, &["--since", &since]).len(), 4);
    assert!(query(j, &["--until", &since]).is_empty());
    assert!(query(j, &["--since", "0s"]).is_empty());

    // The same through the control port (token required).
    let (code, _, err) = boltward_cli(&["audit", "query", "--control", &bw.control, "--json"], &[]);
    assert_eq!(code, 1, "no token: {err}");
    let (code, out, err) = boltward_cli(
        &[
            "audit",
            "query",
            "--control",
            &bw.control,
            "--token",
            TOKEN,
            "--json",
            "--label",
            "JPet",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let live: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(lsns(live.as_array().unwrap()), [el]);
    let (code, table, _) = boltward_cli(
        &[
            "audit",
            "query",
            "--control",
            &bw.control,
            "--token",
            TOKEN,
            "--kind",
            "refusal",
        ],
        &[],
    );
    assert_eq!(code, 0);
    // The human format, LSN and time masked (snapshot).
    let masked: Vec<String> = table
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 || l.ends_with("row(s)") {
                l.to_owned()
            } else {
                format!("<lsn> <time>{}", &l[28..])
            }
        })
        .collect();
    let expected =
        std::fs::read_to_string(common::repo().join("tests/snapshots/audit-refusals.txt")).unwrap();
    assert_eq!(masked.join("\n"), expected.trim_end(), "{table}");

    // The chain verifies, offline and live.
    let (code, out, err) = boltward_cli(&["audit", "verify", "--journal", j], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("journal intact:"), "{out}");
    let (code, out, _) = boltward_cli(
        &[
            "status",
            "--control",
            &bw.control,
            "--token",
            TOKEN,
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["journal"]["writable"], true);
    assert!(status["journal"]["lsn"].as_u64().unwrap() >= rl);

    // No credential anywhere: journal files, log, audit output.
    let mut haystack = Vec::new();
    for e in std::fs::read_dir(&journal).unwrap() {
        haystack.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    haystack.extend(bw.logs().into_bytes());
    haystack.extend(serde_json::to_vec(&all).unwrap());
    let needle = PASSWORD.as_bytes();
    assert!(
        !haystack.windows(needle.len()).any(|w| w == needle),
        "the password appears in the journal, the log or the audit output"
    );
    assert!(
        haystack.windows(4).any(|w| w == b"root"),
        "the scan reads real content"
    );
}

const SINK_CHECK: &str = "journal/sink_check.py";

#[test]
fn the_audit_sink_writes_entries_asynchronously() {
    let server = server();
    let run = format!("sink{}", std::process::id());
    let sink_env = [
        ("BOLTWARD_JOURNAL_SINK_ENABLED", "true"),
        ("BOLTWARD_JOURNAL_SINK_DATABASE", "audit"),
        ("BOLTWARD_JOURNAL_SINK_USER", "root"),
        ("BOLTWARD_JOURNAL_SINK_PASSWORD", PASSWORD),
    ];
    let bw = Boltward::start(&server.addr(), &[], &sink_env);
    let out = script(
        "py6",
        SINK_CHECK,
        &[],
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("DIRECT", &format!("bolt://{}", server.addr())),
            ("PW", PASSWORD),
            ("RUN", &run),
            ("WAIT", "1"),
        ],
    );
    let out: Value = serde_json::from_str(out.trim()).unwrap();
    let rows = out["rows"].as_array().unwrap();
    let intent = rows
        .iter()
        .find(|r| r["kind"] == "intent")
        .unwrap_or_else(|| panic!("no intent entry in the sink: {out}"));
    assert_eq!(intent["principal"], "root");
    assert!(intent["statements"][0].as_str().unwrap().contains("JSink"));
    let outcome = rows
        .iter()
        .find(|r| r["kind"] == "outcome" && r["intent"] == intent["lsn"])
        .unwrap_or_else(|| panic!("no outcome entry for the intent: {out}"));
    assert_eq!(outcome["result"], "committed");
    drop(bw);

    // A sink that cannot be reached never holds up a client.
    let mut env = sink_env.to_vec();
    env.push(("BOLTWARD_JOURNAL_SINK_ADDR", "127.0.0.1:1"));
    let bw = Boltward::start(&server.addr(), &[], &env);
    script(
        "py6",
        SINK_CHECK,
        &[],
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("DIRECT", &format!("bolt://{}", server.addr())),
            ("PW", PASSWORD),
            ("RUN", &run),
        ],
    );
    // The sink has entries to write and keeps failing to connect: its error counter
    // rises, and it has written nothing.
    common::wait_until(
        "the audit sink has counted a failure to reach 127.0.0.1:1",
        std::time::Duration::from_secs(30),
        || common::metric_value(&bw.metrics(), "boltward_journal_sink_errors_total") >= 1.0,
    );
    assert_eq!(
        common::metric_value(&bw.metrics(), "boltward_journal_sink_lsn"),
        0.0,
        "nothing reached an unreachable sink: {}",
        bw.logs()
    );
}
