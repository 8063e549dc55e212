//! The journal under stress, with the real server and driver:
//!
//! - crash: SIGKILL boltward during a concurrent write load, restart it on the same
//!   journal, verify the chain, and find every commit a client saw acknowledged recorded
//!   as committed;
//! - order: concurrent writers on overlapping nodes, then the journal's committed writes
//!   replayed in order into an empty database give the same graph;
//! - disk full: on a real, small tmpfs the journal cannot write, writes are refused with a
//!   transient error while reads work, and writes resume once space is freed.

mod common;

use common::{script, Boltward, Server, PASSWORD};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&["alpha", "replay", "full"]))
}

/// An offline `boltward` command: exit code, stdout, stderr.
fn cli(args: &[&str]) -> (i32, String, String) {
    common::boltward_cli(args, &[])
}

const CRASH_LOAD: &str = "durability/crash_load.py";

#[test]
fn sigkill_during_load_loses_no_acknowledged_commit() {
    let server = server();
    let journal = tempfile::tempdir().unwrap();
    let jdir = journal.path().to_str().unwrap().to_owned();
    let env = [("BOLTWARD_JOURNAL_DIR", jdir.as_str())];
    let mut bw = Boltward::start(&server.addr(), &[], &env);
    let run = format!("crash{}", std::process::id());
    let mut load = common::driver("py6", CRASH_LOAD)
        .envs([
            ("URI", format!("bolt://{}", bw.addr)),
            ("PW", PASSWORD.into()),
            ("RUN", run.clone()),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Dropping `load` (also on a panic) closes its stdin, which stops the script.
    let stdout = load.stdout.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(stdout).lines() {
                lines.lock().unwrap().push(l.unwrap());
            }
        })
    };
    // Let acknowledged commits accumulate, then kill boltward mid-load.
    common::wait_until(
        "the load has 40 acknowledged commits",
        Duration::from_secs(120),
        || {
            let l = lines.lock().unwrap();
            assert!(
                !l.iter().any(|l| l == "DONE"),
                "the load ended before the kill: {l:?}"
            );
            l.iter().filter(|l| l.starts_with("ACK ")).count() >= 40
        },
    );
    bw.signal("KILL");
    assert!(bw.wait_exit(Duration::from_secs(10)).is_some());
    drop(load.stdin.take());
    let status = load.wait().unwrap();
    reader.join().unwrap();
    let text = lines.lock().unwrap().join("\n");
    assert!(
        status.success() && text.contains("DONE"),
        "load script ended: {text}"
    );
    let acked: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ACK "))
        .map(str::to_owned)
        .collect();
    assert!(
        acked.len() >= 20,
        "the load ran before the kill: {}",
        acked.len()
    );

    // Restart on the same journal: recovery runs, then the chain verifies offline.
    // Recovery has run once this start has written its checkpoint record after the
    // previous run's records (at least one per acknowledged commit) and the journal
    // can write: boltward reports itself ready.
    let bw = Boltward::start(&server.addr(), &[], &env);
    common::wait_until(
        "the restarted boltward has recovered the journal and is ready",
        Duration::from_secs(30),
        || {
            let m = bw.metrics();
            let checkpoints: f64 = m
                .lines()
                .find_map(|l| {
                    l.strip_prefix("boltward_journal_records_total{kind=\"checkpoint\"} ")?
                        .trim()
                        .parse()
                        .ok()
                })
                .unwrap_or(0.0);
            checkpoints >= 1.0
                && common::metric_value(&m, "boltward_journal_writable") == 1.0
                && common::metric_value(&m, "boltward_journal_lsn") > acked.len() as f64
                && bw.status_of("/readyz") == 200
        },
    );
    drop(bw);
    let (code, out, err) = cli(&["audit", "verify", "--journal", &jdir]);
    assert_eq!(code, 0, "journal verifies after the crash: {out}{err}");

    let (code, out, err) = cli(&[
        "audit",
        "query",
        "--journal",
        &jdir,
        "--json",
        "--outcome",
        "committed",
        "--limit",
        "1000000",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    let committed: BTreeSet<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["statements"].as_array().unwrap().clone())
        .filter_map(|s| s["parameters"]["id"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<&String> = acked.difference(&committed).collect();
    let (_, doubt, _) = cli(&[
        "audit",
        "query",
        "--journal",
        &jdir,
        "--json",
        "--outcome",
        "in_doubt",
        "--limit",
        "1000000",
    ]);
    let in_doubt = serde_json::from_str::<Value>(&doubt)
        .map(|v| v.as_array().map(Vec::len).unwrap_or(0))
        .unwrap_or(0);
    eprintln!(
        "crash test: {} acknowledged, {} found committed, {} in doubt, {} journaled committed",
        acked.len(),
        acked.len() - missing.len(),
        in_doubt,
        committed.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged but not journaled as committed: {missing:?}"
    );
}

const ORDER_LOAD: &str = "durability/order_load.py";

const GRAPH: &str = "durability/graph.py";

/// Applies journaled writes, in order, to database `db` of the server at `addr`.
fn replay(addr: &str, intents: &[boltward_journal::Intent], db: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let upstream = boltward::config::Upstream {
            addr: addr.to_owned(),
            ..Default::default()
        };
        let connector = boltward::upstream::Connector::new(&upstream, None).unwrap();
        let mut client = boltward::upstream::client::BoltClient::connect(
            &connector, "root", PASSWORD, "replay/1",
        )
        .await
        .unwrap();
        for i in intents {
            boltward::journal::replay::apply(&mut client, i, Some(db))
                .await
                .unwrap();
        }
    });
}

fn graph(uri: &str, db: &str, run: &str) -> Value {
    let out = script(
        "py6",
        GRAPH,
        &[],
        &[("URI", uri), ("PW", PASSWORD), ("DB", db), ("RUN", run)],
    );
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn replaying_the_journal_in_order_rebuilds_the_same_graph() {
    let server = server();
    let bw = Boltward::start(&server.addr(), &[], &[]);
    let run = format!("ord{}", std::process::id());
    let out = script(
        "py6",
        ORDER_LOAD,
        &[],
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("PW", PASSWORD),
            ("RUN", &run),
        ],
    );
    assert!(
        out.contains("ERRORS 0"),
        "every transaction committed: {out}"
    );
    let original = graph(&format!("bolt://{}", server.addr()), "alpha", &run);
    assert_eq!(original["rows"], 4);
    assert_eq!(
        original["updates"], 200,
        "8 writers × 25 updates: {original}"
    );

    let intents = boltward::journal::replay::committed(&bw.journal_dir(), None).unwrap();
    assert_eq!(intents.len(), 201, "the create and 200 updates");
    replay(&server.addr(), &intents, "replay");
    let replayed = graph(&format!("bolt://{}", server.addr()), "replay", &run);
    assert_eq!(
        replayed, original,
        "replay in journal order gives the same graph"
    );
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount(8)");
        assert!(
            st.success(),
            "mounting a tmpfs needs root (CI runs as root); cannot run the disk-full test"
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

const UNTIL_REFUSED: &str = "durability/until_refused.py";

#[test]
fn a_full_disk_refuses_writes_keeps_reads_and_recovers() {
    let server = server();
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("mnt");
    let fs = Tmpfs::mount(&mnt, "1m");
    let jdir = mnt.join("journal");
    let jdir_s = jdir.to_str().unwrap().to_owned();
    let token = "full-token";
    let bw = Boltward::start(
        &server.addr(),
        &[],
        &[
            ("BOLTWARD_JOURNAL_DIR", jdir_s.as_str()),
            ("BOLTWARD_CONTROL_TOKEN", token),
        ],
    );
    let uri = format!("bolt://{}", bw.addr);
    let env = |n: &'static str| {
        [
            ("URI", uri.clone()),
            ("PW", PASSWORD.into()),
            ("N", n.into()),
        ]
    };
    let run = |n: &'static str| -> Value {
        let e = env(n);
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        serde_json::from_str(script("py6", UNTIL_REFUSED, &[], &e).trim()).unwrap()
    };
    assert_eq!(run("3")["ok"], 3, "writes work while there is space");

    // Fill the file system to the last byte.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
        let _ = f.sync_all();
    }
    let full = run("200");
    assert_eq!(
        full["code"], "Neo.TransientError.General.DatabaseUnavailable",
        "a write is refused with a transient error: {full}"
    );
    assert!(
        full["message"].as_str().unwrap().contains("journal"),
        "{full}"
    );
    assert_eq!(full["read"], 42, "reads keep working");
    assert_eq!(
        bw.status_of("/readyz"),
        503,
        "not ready while the journal cannot write"
    );

    // Free the space: writes resume.
    std::fs::remove_file(&filler).unwrap();
    let after = run("3");
    assert_eq!(after["ok"], 3, "writes resume: {after}");
    let ready = bw.status_of("/readyz");
    assert_eq!(ready, 200);
    let metrics = bw.metrics();
    assert!(metrics.contains("boltward_journal_writable 1"));
    let errors_line = metrics
        .lines()
        .find(|l| l.starts_with("boltward_journal_append_errors_total "))
        .unwrap();
    assert_ne!(errors_line, "boltward_journal_append_errors_total 0");
    drop(bw);
    // Nothing half-written stayed behind.
    let (code, out, err) = cli(&["audit", "verify", "--journal", &jdir_s]);
    assert_eq!(code, 0, "{out}{err}");
    drop(fs);
}

/// Polls `cond` until it holds (bounded: a hang is a failure, not a wait forever).
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What no proxy can see from answers alone: the answer of an auto-commit write stalls on
/// the network while a conflicting transaction on another connection runs and commits.
/// boltward commits auto-commit writes itself, after taking their place in the journal
/// (docs/journal-format.md, "Order"), so the journal still holds the server's commit
/// order: replaying it gives the value the server has. (ArcadeDB lets the second writer
/// commit first and fails the stalled one's COMMIT transiently, which boltward then runs
/// again unseen; Neo4j would make the second wait for the first's lock. Either way the
/// journal must agree with the server.)
#[test]
fn a_stalled_auto_commit_answer_does_not_reorder_the_journal() {
    use boltward::upstream::client::BoltClient;
    use boltward_protocol::Map;
    let server = server();
    let relay = common::Relay::start(&server.addr());
    let bw = Boltward::start(&relay.addr, &[], &[]);
    let run = format!("stall{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (a_result, b_result, b_first) = rt.block_on(async {
        let upstream = boltward::config::Upstream {
            addr: bw.addr.clone(),
            ..Default::default()
        };
        let connector = boltward::upstream::Connector::new(&upstream, None).unwrap();
        fn alpha() -> Map {
            Map::from([("db", "alpha")])
        }
        let params = |w: i64| -> Map {
            Map::from([
                ("run", boltward_protocol::Value::from(run.as_str())),
                ("w", w.into()),
            ])
        };
        let mut setup = BoltClient::connect(&connector, "root", PASSWORD, "setup/1")
            .await
            .unwrap();
        setup
            .query("CREATE (:Stall {run: $run, v: 1})", params(0), alpha())
            .await
            .unwrap();
        let mut a = BoltClient::connect(&connector, "root", PASSWORD, "a/1")
            .await
            .unwrap();
        let a_conn = relay.connections() - 1;
        let mut b = BoltClient::connect(&connector, "root", PASSWORD, "b/1")
            .await
            .unwrap();
        const UPDATE: &str = "MATCH (n:Stall {run: $run}) SET n.v = n.v * 7 + $w";
        relay.hold(a_conn, true);
        let (pa, pb) = (params(1), params(2));
        let a_task = tokio::spawn(async move { a.query(UPDATE, pa, alpha()).await });
        // The server answered A's statement in full (its final summary carries t_last);
        // boltward has not seen it.
        until("the server's answer to A", || {
            relay.held(a_conn).windows(6).any(|w| w == b"t_last")
        })
        .await;
        let b_task = tokio::spawn(async move {
            b.begin(alpha()).await?;
            b.query(UPDATE, pb, Map::new()).await?;
            b.commit().await
        });
        // B either commits (ArcadeDB) or waits for A's lock (Neo4j); give it the chance
        // to commit before A's answer moves on.
        let b_done = async {
            while !b_task.is_finished() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), b_done).await;
        let b_first = b_task.is_finished();
        relay.hold(a_conn, false);
        (
            a_task.await.unwrap().map(|r| r.summary),
            b_task.await.unwrap(),
            b_first,
        )
    });
    eprintln!("A: {a_result:?}\nB: {b_result:?}\nB committed first: {b_first}");
    assert!(b_result.is_ok(), "B commits: {b_result:?}");
    let retries = common::metric_value(&bw.metrics(), "boltward_autocommit_retries_total");
    if b_first {
        // ArcadeDB: A's COMMIT fails on B's change (a transient error). Nothing of A's
        // result was shown, so boltward ran it again, after B: the client never knew.
        assert!(a_result.is_ok(), "A was run again unseen: {a_result:?}");
        assert_eq!(retries, 1.0, "one retry");
    }

    // The :Stall node's value in database `db`, read directly from the server.
    let value = |db: &str| -> Vec<i64> {
        let q = format!("MATCH (n:Stall {{run: '{run}'}}) RETURN n.v AS v");
        common::with_client(&server.addr(), async |c| {
            let r = c.query(&q, Map::new(), Map::from([("db", db)])).await;
            r.unwrap()
                .records
                .iter()
                .filter_map(|row| row[0].as_int())
                .collect()
        })
    };
    let on_server = value("alpha");
    let intents = boltward::journal::replay::committed(&bw.journal_dir(), None).unwrap();
    replay(&server.addr(), &intents, "replay");
    assert_eq!(
        value("replay"),
        on_server,
        "the journal's order is the server's commit order ({} committed writes journaled)",
        intents.len()
    );
    if b_first {
        assert_eq!(on_server, vec![64], "B (×7+2) then A (×7+1)");
        assert_eq!(intents.len(), 3, "the create, B and A's second attempt");
    }
}

const BUSY_LOAD: &str = "durability/busy_load.py";

/// Concurrent auto-commit creates: boltward commits them itself, and on a server with
/// optimistic concurrency (ArcadeDB fails concurrent commits on one page) a COMMIT can
/// fail transiently where the server's own auto-commit would have retried. boltward runs
/// such a write again, unseen, when nothing of its result was shown: no client sees an
/// error, every node exists once, and the journal holds each create committed exactly
/// once (a failed attempt is journaled as failed, the retry under a new intent).
#[test]
fn concurrent_auto_commit_writes_commit_once_each() {
    let server = server();
    let bw = Boltward::start(&server.addr(), &[], &[]);
    let run = format!("busy{}", std::process::id());
    let out = script(
        "py6",
        BUSY_LOAD,
        &[],
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("PW", PASSWORD),
            ("RUN", &run),
        ],
    );
    let retries = common::metric_value(&bw.metrics(), "boltward_autocommit_retries_total");
    eprintln!("{out}boltward retried {retries} auto-commit writes");
    assert!(out.contains("ERRORS 0 "), "no client saw an error: {out}");
    assert!(out.contains("NODES 480"), "every node once: {out}");
    let intents = boltward::journal::replay::committed(&bw.journal_dir(), None).unwrap();
    assert_eq!(intents.len(), 480, "each create journaled committed once");
}
