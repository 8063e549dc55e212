//! Snapshots and restores end to end, with real ArcadeDB servers and the real Python
//! driver:
//!
//! - a snapshot under a concurrent write load: writes only pause, none fail, and the
//!   snapshot equals the graph at its journal LSN (journal replayed up to it);
//! - every value type, the schema and the graph survive a restore into a second database
//!   and into a second server (fingerprints equal); corruption is detected offline;
//!   an in-place restore of a corrupt snapshot rolls back to its safety snapshot;
//! - a crash during a snapshot leaves no complete-looking file, and the next start removes
//!   the leftovers; the recovery state survives a restart in the middle of a restore;
//! - the cron schedule fires and retention prunes;
//! - promotion with a driver writing through boltward: no acknowledged write is lost or
//!   lands on the old server after the switch, and the driver sees the target's data.

mod common;

use boltward::snapshot::export::Scope;
use boltward_protocol::Map;
use common::{script, Boltward, Server, PASSWORD};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const TOKEN: &str = "snapshot-test-token";

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::start(&[
            "neo4j", "load", "replay", "types", "copy", "crash", "sm", "inplace", "sched",
            "backups",
        ])
    })
}

/// Everything a restartable boltward keeps: snapshots, journal, recovery state.
struct Data {
    dir: tempfile::TempDir,
}

impl Data {
    fn new() -> Data {
        Data {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn snapshots(&self) -> PathBuf {
        self.dir.path().join("snapshots")
    }
    fn journal(&self) -> PathBuf {
        self.dir.path().join("journal")
    }
    fn env(&self, db: Option<&str>) -> Vec<(String, String)> {
        let mut env = vec![
            ("BOLTWARD_SNAPSHOT_USER".into(), "root".into()),
            ("BOLTWARD_SNAPSHOT_PASSWORD".into(), PASSWORD.into()),
            ("BOLTWARD_CONTROL_TOKEN".into(), TOKEN.into()),
            (
                "BOLTWARD_SNAPSHOT_DIR".into(),
                self.snapshots().display().to_string(),
            ),
            (
                "BOLTWARD_JOURNAL_DIR".into(),
                self.journal().display().to_string(),
            ),
            (
                "BOLTWARD_RESTORE_STATE_FILE".into(),
                self.dir.path().join("restore.json").display().to_string(),
            ),
            ("BOLTWARD_RESTORE_DRAIN_SECS".into(), "5".into()),
        ];
        if let Some(db) = db {
            env.push(("BOLTWARD_SNAPSHOT_DATABASE".into(), db.into()));
        }
        env
    }
    fn start(&self, upstream: &str, db: Option<&str>, extra: &[(&str, &str)]) -> Boltward {
        let mut env = self.env(db);
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Boltward::start(upstream, &[], &env)
    }
}

/// Runs the CLI against `bw`'s control port: exit code, stdout, stderr.
/// `snapshot create --json`: the manifest.
fn snapshot(bw: &Boltward) -> Value {
    serde_json::from_str(&bw.cli_ok(&["snapshot", "create", "--json", "--timeout", "300"])).unwrap()
}

/// `restore start … --wait --json`: the final state.
fn restore(bw: &Boltward, id: &str, target: &str, db: Option<&str>, force: bool) -> Value {
    let target = format!("bolt://{target}");
    let mut args = vec![
        "restore", "start", id, "--target", &target, "--wait", "--json",
    ];
    if let Some(db) = db {
        args.extend(["--database", db]);
    }
    if force {
        args.push("--force");
    }
    let (_, out, err) = bw.cli(&args);
    serde_json::from_str(&out).unwrap_or_else(|_| panic!("restore: {out}{err}\n{}", bw.logs()))
}

/// The fingerprint, node and relationship count of a live database, read directly.
fn digest(addr: &str, db: Option<&str>) -> (String, u64, u64) {
    common::with_client(addr, async |client| {
        let scope = Scope {
            database: db.map(str::to_owned),
            batch: 1000,
        };
        let d = boltward::recovery::digest_of(client, &scope).await.unwrap();
        (
            d.fingerprint.hex(),
            d.fingerprint.nodes(),
            d.fingerprint.relationships(),
        )
    })
}

fn uri(addr: &str) -> String {
    format!("bolt://{addr}")
}

/// A Python write load against `addr` (URI in `$URI`, password in `$PW`) that runs until
/// `stop` closes its stdin. It prints `ACK …` for each acknowledged write, then its
/// summary. Dropping it (a failed test) closes its stdin too, which ends the script.
struct Load {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    stderr: tempfile::NamedTempFile,
}

fn acks(lines: &Mutex<Vec<String>>) -> usize {
    let lines = lines.lock().unwrap();
    lines.iter().filter(|l| l.starts_with("ACK ")).count()
}

impl Load {
    fn start(script: &str, addr: &str) -> Load {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = common::driver("py6", script)
            .envs([("URI", uri(addr).as_str()), ("PW", PASSWORD)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    lines.lock().unwrap().push(line);
                }
            })
        };
        Load {
            child,
            lines,
            reader: Some(reader),
            stderr,
        }
    }

    /// Writes acknowledged so far.
    fn acked(&self) -> usize {
        acks(&self.lines)
    }

    /// Waits until at least `n` writes are acknowledged; panics if the load ends first.
    fn wait_acked(&mut self, n: usize) {
        let (child, lines, stderr) = (&mut self.child, &self.lines, self.stderr.path());
        common::wait_until(
            &format!("the load has {n} acknowledged writes"),
            Duration::from_secs(120),
            || {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "the load ended ({status}) after {} acknowledged writes: {}",
                        acks(lines),
                        std::fs::read_to_string(stderr).unwrap_or_default()
                    );
                }
                acks(lines) >= n
            },
        );
    }

    /// Stops the load; its output lines.
    fn stop(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        assert!(
            status.success(),
            "the load failed ({status}): {}",
            std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
        );
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

/// Runs a driver script to its end against `addr` (URI in `$URI`, password in `$PW`).
fn python(addr: &str, path: &str) -> String {
    script("py6", path, &[], &[("URI", &uri(addr)), ("PW", PASSWORD)])
}

const LOAD: &str = "snapshot/load.py";

#[test]
fn snapshot_under_write_load_equals_the_graph_at_its_lsn() {
    let server = server();
    let data = Data::new();
    let bw = data.start(&server.addr(), Some("load"), &[]);
    // Both snapshots are taken while the load writes.
    let mut load = Load::start(LOAD, &bw.addr);
    load.wait_acked(15);
    let first = snapshot(&bw);
    // Six workers have at most six writes in flight, so fifteen more acknowledgements
    // include writes committed after the first snapshot: the second one differs.
    let n = load.acked();
    load.wait_acked(n + 15);
    let second = snapshot(&bw);
    let lines = load.stop();
    let out = lines.last().unwrap();
    let mut parts = out.split_whitespace();
    let acked: u64 = parts.next().unwrap().parse().unwrap();
    let errors: u64 = parts.next().unwrap().parse().unwrap();
    assert_eq!(errors, 0, "writes failed during snapshots: {out}");
    assert!(acked > 20, "the load wrote too little: {out}");
    for m in [&first, &second] {
        let id = m["id"].as_str().unwrap();
        let lsn = m["journal_lsn"].as_u64().expect("journal LSN recorded");
        assert!(m["counts"]["nodes"].as_u64().unwrap() > 6, "{m}");
        // Replay every write committed up to the snapshot's LSN into an empty database.
        let writes = boltward::journal::replay::committed(&data.journal(), Some(lsn)).unwrap();
        common::with_client(&server.addr(), async |client| {
            client
                .query(
                    "MATCH (n) DETACH DELETE n",
                    Default::default(),
                    boltward::protocol::Map::from([("db", "replay")]),
                )
                .await
                .unwrap();
            for w in &writes {
                boltward::journal::replay::apply(client, w, Some("replay"))
                    .await
                    .unwrap();
            }
        });
        let (fp, nodes, _) = digest(&server.addr(), Some("replay"));
        assert_eq!(
            (fp.as_str(), nodes),
            (
                m["fingerprint"].as_str().unwrap(),
                m["counts"]["nodes"].as_u64().unwrap()
            ),
            "snapshot {id} (LSN {lsn}) differs from the journal replayed up to its LSN ({} writes)",
            writes.len()
        );
        let pause = m["timings"]["write_pause_ms"].as_f64().unwrap();
        eprintln!("snapshot {id}: LSN {lsn}, writes held {pause:.1} ms");
    }
    assert_ne!(first["fingerprint"], second["fingerprint"]);
    let metrics = bw.metrics();
    assert!(
        metrics.contains("boltward_snapshot_write_pause_seconds_count 2"),
        "{metrics}"
    );
    assert!(metrics.contains("boltward_snapshots_total{kind=\"manual\"} 2"));
}

const TYPES: &str = "snapshot/value_types.py";

const DUMP: &str = "snapshot/dump.py";

fn dump(addr: &str, db: Option<&str>) -> Vec<String> {
    let mut lines: Vec<String> = script(
        "py6",
        DUMP,
        &[],
        &[
            ("URI", &uri(addr)),
            ("PW", PASSWORD),
            ("DB", db.unwrap_or("")),
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect();
    lines.sort();
    lines
}

#[test]
fn every_value_type_survives_a_restore_into_a_second_database_and_a_second_server() {
    let server = server();
    python(&server.addr(), TYPES);
    let data = Data::new();
    let bw = data.start(&server.addr(), Some("types"), &[]);
    let m = snapshot(&bw);
    let id = m["id"].as_str().unwrap();
    assert_eq!(m["counts"]["nodes"], 4);
    assert_eq!(m["counts"]["relationships"], 4);
    assert_eq!(m["counts"]["labels"]["Person"], 2);
    assert_eq!(m["counts"]["types"]["LIVES_IN"], 2);
    let schema = m["schema"].to_string();
    assert!(
        schema.contains("person_name") && schema.contains("city_name"),
        "{schema}"
    );
    let source = dump(&server.addr(), Some("types"));
    assert!(source
        .iter()
        .any(|l| l.contains("'Europe/Berlin'") || l.contains("Berlin")));

    // A second database on the same server.
    let state = restore(&bw, id, &server.addr(), Some("copy"), false);
    assert_eq!(state["state"], "SUCCEEDED", "{state}");
    assert_eq!(state["progress"], 100.0);
    let (fp, nodes, rels) = digest(&server.addr(), Some("copy"));
    assert_eq!(
        (fp.as_str(), nodes, rels),
        (m["fingerprint"].as_str().unwrap(), 4, 4)
    );
    assert_eq!(
        dump(&server.addr(), Some("copy")),
        source,
        "values, schema differ"
    );
    // A second restore into the now non-empty database needs --force.
    bw.cli_ok(&["restore", "cancel"]);
    let (code, _, err) = bw.cli(&[
        "restore",
        "start",
        id,
        "--target",
        &uri(&server.addr()),
        "--database",
        "copy",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("holds 4 nodes") && err.contains("--force"),
        "{err}"
    );

    // A second server instance, into its default database.
    let other = Server::start(&["main"]);
    let state = restore(&bw, id, &other.addr(), None, false);
    assert_eq!(state["state"], "SUCCEEDED", "{state}");
    assert_eq!(
        digest(&other.addr(), None).0,
        m["fingerprint"].as_str().unwrap()
    );
    assert_eq!(dump(&other.addr(), None), source);
    // Promotion switches servers, not databases: refused with the reason.
    let (code, _, err) = bw.cli(&["restore", "promote"]);
    assert_eq!(code, 1);
    assert!(err.contains("switches servers, not databases"), "{err}");
    let status: Value = serde_json::from_str(&bw.cli_ok(&["restore", "status", "--json"])).unwrap();
    assert_eq!(status["state"], "SUCCEEDED");
}

#[test]
fn corruption_is_detected_and_an_in_place_restore_rolls_back() {
    let server = server();
    common::execute(
        &server.addr(),
        Some("inplace"),
        &[
            "UNWIND range(1, 300) AS i CREATE (:Item {i: i, s: 'item ' + toString(i)})",
            "MATCH (a:Item), (b:Item) WHERE b.i = a.i + 1 CREATE (a)-[:NEXT]->(b)",
        ],
    );
    let data = Data::new();
    let bw = data.start(&server.addr(), Some("inplace"), &[]);
    let m = snapshot(&bw);
    let id = m["id"].as_str().unwrap().to_owned();
    let dir = data.snapshots();
    let verify = |dir: &Path, what: &str| {
        let dir = dir.display().to_string();
        let (code, out, err) =
            common::boltward_cli(&["snapshot", "verify", what, "--dir", &dir], &[]);
        (code, out + &err)
    };
    let (code, out) = verify(&dir, &id);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("300 nodes, 299 relationships"), "{out}");
    let data_file = dir.join(format!("{id}.bwsnap.gz"));
    let manifest_file = dir.join(format!("{id}.manifest.json"));
    let original = std::fs::read(&data_file).unwrap();
    let manifest = std::fs::read_to_string(&manifest_file).unwrap();
    let copy = |name: &str, data: &[u8], manifest: &str| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(format!("{id}.bwsnap.gz")), data).unwrap();
        std::fs::write(d.path().join(format!("{id}.manifest.json")), manifest).unwrap();
        let (code, out) = verify(d.path(), &id);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(out.contains("CORRUPT"), "{name}: {out}");
        out
    };
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let out = copy("flipped byte", &flipped, &manifest);
    assert!(out.contains("SHA-256"), "{out}");
    let out = copy("truncated", &original[..original.len() - 20], &manifest);
    assert!(out.contains("bytes, the manifest says"), "{out}");
    let wrong = manifest.replacen("\"nodes\": 300", "\"nodes\": 301", 1);
    let out = copy("wrong manifest", &original, &wrong);
    assert!(out.contains("differ from the manifest"), "{out}");
    let (code, out) = verify(&dir, "no-such-snapshot");
    assert_eq!(code, 2, "{out}");

    // In place, from a corrupt data file: the safety snapshot is put back.
    let (before, _, _) = digest(&server.addr(), Some("inplace"));
    common::execute(&server.addr(), Some("inplace"), &["CREATE (:Late)"]);
    let (live, _, _) = digest(&server.addr(), Some("inplace"));
    assert_ne!(live, before);
    std::fs::write(&data_file, &flipped).unwrap();
    let state = restore(&bw, &id, &server.addr(), Some("inplace"), true);
    assert_eq!(state["state"], "FAILED", "{state}");
    let errors = state["errors"].to_string();
    assert!(errors.contains("rolled back"), "{errors}");
    assert_eq!(digest(&server.addr(), Some("inplace")).0, live);
    // Restore the good file in place: it goes live at once.
    std::fs::write(&data_file, &original).unwrap();
    bw.cli_ok(&["restore", "cancel"]);
    let state = restore(&bw, &id, &server.addr(), Some("inplace"), true);
    assert_eq!(state["state"], "PROMOTED", "{state}");
    assert_eq!(digest(&server.addr(), Some("inplace")).0, before);
    assert!(state["restore"]["safety_snapshot"].is_string());
}

#[test]
fn crash_mid_snapshot_and_restart_mid_restore() {
    let server = server();
    let bulk: Vec<String> = (0..6)
        .map(|k| format!("UNWIND range(1, 10000) AS i CREATE (:Bulk {{k: {k}, i: i, s: 'some text to store ' + toString(i)}})"))
        .collect();
    let bulk: Vec<&str> = bulk.iter().map(String::as_str).collect();
    common::execute(&server.addr(), Some("crash"), &bulk);
    let data = Data::new();
    let mut bw = data.start(&server.addr(), Some("crash"), &[]);
    let control = bw.control.clone();
    std::thread::spawn(move || {
        let _ = ureq::post(&format!("http://{control}/v1/snapshots"))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .send_empty();
    });
    let dir = data.snapshots();
    let tmp_seen = common::within(Duration::from_secs(60), || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .unwrap_or(false)
    });
    assert!(tmp_seen, "the snapshot never started writing");
    bw.signal("KILL");
    bw.wait_exit(Duration::from_secs(10)).unwrap();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with(".manifest.json")),
        "a killed snapshot left a manifest: {names:?}"
    );
    let listed = common::boltward_ok(&["snapshot", "list", "--dir", &dir.display().to_string()]);
    assert!(listed.contains("incomplete (no manifest)"), "{listed}");

    // Without a manifest, every snapshot file the kill left is a leftover.
    let leftovers: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".bwsnap.gz"))
        .collect();
    assert!(!leftovers.is_empty(), "no leftovers to remove: {names:?}");

    // The next start removes the leftovers; a full snapshot then works.
    let mut bw = data.start(&server.addr(), Some("crash"), &[]);
    common::wait_until(
        &format!("the restarted boltward has removed the leftovers {leftovers:?}"),
        Duration::from_secs(30),
        || {
            let listed: Value =
                serde_json::from_str(&bw.cli_ok(&["snapshot", "list", "--json"])).unwrap();
            listed["incomplete"].as_array().is_some_and(Vec::is_empty)
                && leftovers.iter().all(|n| !dir.join(n).exists())
        },
    );
    let m = snapshot(&bw);
    assert_eq!(m["counts"]["nodes"], 60_000);
    let id = m["id"].as_str().unwrap().to_owned();

    // Restart in the middle of a restore: FAILED, promote refused, cancel, start again.
    let target = uri(&server.addr());
    bw.cli_ok(&[
        "restore",
        "start",
        &id,
        "--target",
        &target,
        "--database",
        "sm",
        "--json",
    ]);
    let mut s = Value::Null;
    let progressed = common::within(Duration::from_secs(60), || {
        s = serde_json::from_str(&bw.cli_ok(&["restore", "status", "--json"])).unwrap();
        s["progress"].as_f64().unwrap() > 0.0
    });
    assert!(progressed, "the restore made no progress: {s}");
    assert_eq!(s["state"], "RECOVERING", "{s}");
    bw.signal("KILL");
    bw.wait_exit(Duration::from_secs(10)).unwrap();
    let bw = data.start(&server.addr(), Some("crash"), &[]);
    let s: Value = serde_json::from_str(&bw.cli_ok(&["restore", "status", "--json"])).unwrap();
    assert_eq!(s["state"], "FAILED", "{s}");
    assert!(
        s["errors"]
            .to_string()
            .contains("interrupted by a restart while RECOVERING"),
        "{s}"
    );
    let (code, _, err) = bw.cli(&["restore", "promote"]);
    assert_eq!(code, 1);
    assert!(err.contains("only a restore that SUCCEEDED"), "{err}");
    let (code, _, err) = bw.cli(&[
        "restore",
        "start",
        &id,
        "--target",
        &uri(&server.addr()),
        "--database",
        "sm",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("restore cancel"), "{err}");
    let s: Value = serde_json::from_str(&bw.cli_ok(&["restore", "cancel", "--json"])).unwrap();
    assert_eq!(s["state"], "NOT_RECOVERING");
    assert!(
        !s["errors"].as_array().unwrap().is_empty(),
        "errors are kept"
    );
    let state = restore(&bw, &id, &server.addr(), Some("sm"), true);
    assert_eq!(state["state"], "SUCCEEDED", "{state}");
    assert_eq!(
        digest(&server.addr(), Some("sm")).0,
        m["fingerprint"].as_str().unwrap()
    );
    let transitions: Vec<String> = state["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}>{}",
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        transitions.ends_with(&[
            "RECOVERING>FAILED".into(),
            "FAILED>NOT_RECOVERING".into(),
            "NOT_RECOVERING>RECOVERING".into(),
            "RECOVERING>VALIDATING".into(),
            "VALIDATING>SUCCEEDED".into(),
        ]),
        "{transitions:?}"
    );
}

#[test]
fn the_schedule_fires_and_retention_prunes() {
    let server = server();
    common::execute(&server.addr(), Some("sched"), &["CREATE (:Tick)"]);
    let data = Data::new();
    let bw = data.start(
        &server.addr(),
        Some("sched"),
        &[
            ("BOLTWARD_SNAPSHOT_SCHEDULE", "*/2 * * * * *"),
            ("BOLTWARD_SNAPSHOT_KEEP_DAYS", "0"),
            ("BOLTWARD_SNAPSHOT_DAILY", "1"),
            ("BOLTWARD_SNAPSHOT_WEEKLY", "0"),
            ("BOLTWARD_SNAPSHOT_MONTHLY", "0"),
        ],
    );
    let mut metrics = String::new();
    let pruned = common::within(Duration::from_secs(30), || {
        metrics = bw.metrics();
        common::metric_value(&metrics, "boltward_snapshots_pruned_total") >= 1.0
    });
    assert!(pruned, "retention pruned nothing: {metrics}");
    assert!(
        metrics.contains("boltward_snapshots_total{kind=\"scheduled\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("boltward_snapshot_last_success_timestamp_seconds 0"));
    assert_eq!(
        common::metric_value(&metrics, "boltward_snapshot_schedule_interval_seconds"),
        2.0
    );
    assert!(metrics.contains("boltward_snapshot_entities{kind=\"node\"} 1"));
    let list: Value = serde_json::from_str(&bw.cli_ok(&["snapshot", "list", "--json"])).unwrap();
    let snaps = list["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 1, "retention keeps one per day: {list}");
    assert_eq!(snaps[0]["kind"], "scheduled");
}

const WRITER: &str = "snapshot/writer.py";

#[test]
fn promotion_moves_clients_to_the_target_without_losing_writes() {
    let old = Server::start(&["main"]);
    let new = Server::start(&["main"]);
    let data = Data::new();
    let bw = data.start(&old.addr(), None, &[]);
    common::execute(
        &bw.addr,
        None,
        &["UNWIND range(1, 50) AS i CREATE (:Seed {i: i})"],
    );
    let m = snapshot(&bw);
    let id = m["id"].as_str().unwrap();
    common::execute(
        &bw.addr,
        None,
        &["UNWIND range(1, 10) AS i CREATE (:AfterSnapshot {i: i})"],
    );
    let state = restore(&bw, id, &new.addr(), None, false);
    assert_eq!(state["state"], "SUCCEEDED", "{state}");
    // Data only the target has: the driver must see it once promoted.
    common::execute(&new.addr(), None, &["CREATE (:OnlyOnTarget)"]);
    // The driver writes through boltward before, during and after the promotion.
    let mut writer = Load::start(WRITER, &bw.addr);
    writer.wait_acked(15);
    let promoted: Value =
        serde_json::from_str(&bw.cli_ok(&["restore", "promote", "--json"])).unwrap();
    assert_eq!(promoted["state"], "PROMOTED", "{promoted}");
    assert!(
        promoted["message"].as_str().unwrap().contains("replayed"),
        "{promoted}"
    );
    // One write at a time: fifteen more acknowledgements include writes made after the
    // switch.
    let n = writer.acked();
    writer.wait_acked(n + 15);
    let out = writer.stop().join("\n");
    let mut lines = out.lines().filter(|l| !l.starts_with("ACK "));
    let acked: Vec<i64> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let seen_target: i64 = lines.next().unwrap().trim().parse().unwrap();
    assert!(acked.len() > 20, "{out}");
    assert_eq!(seen_target, 1, "the driver does not see the target's data");
    // The :Live ids on the server at `addr`, sorted, then minus the :AfterSnapshot count.
    let live = |addr: &str| -> Vec<i64> {
        common::with_client(addr, async |c| {
            let q = "MATCH (n:Live) RETURN n.i AS i ORDER BY i";
            let r = c.query(q, Map::new(), Map::new()).await.unwrap();
            let mut ids: Vec<i64> = r.records.iter().filter_map(|row| row[0].as_int()).collect();
            ids.sort();
            let q = "MATCH (n:AfterSnapshot) RETURN count(n) AS c";
            let r = c.query(q, Map::new(), Map::new()).await.unwrap();
            ids.push(-r.first_int().unwrap());
            ids
        })
    };
    let on_new = live(&new.addr());
    let (after_snapshot, on_new) = on_new.split_last().unwrap();
    assert_eq!(
        *after_snapshot, -10,
        "writes made after the snapshot were not carried over"
    );
    assert_eq!(
        on_new,
        &acked[..],
        "every acknowledged write is on the new server, once"
    );
    let on_old = live(&old.addr());
    let (_, on_old) = on_old.split_last().unwrap();
    assert!(
        on_old.len() < acked.len() && on_old == &acked[..on_old.len()],
        "writes after the promotion landed on the old server: old {} of {} acked",
        on_old.len(),
        acked.len()
    );
    // The switch is journaled (an event record naming it, in the chained journal).
    let journaled = std::fs::read_dir(data.journal())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap_or_default())
        .any(|bytes| bytes.windows(8).any(|w| w == b"replayed"));
    assert!(journaled, "no promote event in the journal");
}

#[test]
fn each_snapshot_is_recorded_as_backup_metadata_and_failures_are_counted() {
    let server = server();
    let data = Data::new();
    let sink = [
        ("BOLTWARD_JOURNAL_SINK_ENABLED", "true"),
        ("BOLTWARD_JOURNAL_SINK_DATABASE", "backups"),
        ("BOLTWARD_JOURNAL_SINK_USER", "root"),
        ("BOLTWARD_JOURNAL_SINK_PASSWORD", PASSWORD),
        ("BOLTWARD_JOURNAL_SINK_BACKUP_METADATA", "true"),
    ];
    let bw = data.start(&server.addr(), Some("sched"), &sink);
    let m = snapshot(&bw);
    let id = m["id"].as_str().unwrap().to_owned();
    let node = |id: &str| {
        common::with_client(&server.addr(), async |c| {
            let mut p = boltward::protocol::Map::new();
            p.insert("id", id);
            let r = c
                .query(
                    "MATCH (b:BackupMetadata {id: $id}) RETURN b.status, b.lsn, b.checksum, b.nodes, b.source",
                    p,
                    boltward::protocol::Map::from([("db", "backups")]),
                )
                .await
                .unwrap();
            r.records.first().map(|row| format!("{row:?}"))
        })
    };
    // Written by the audit sink, asynchronously: wait for the node with its properties.
    let mut row = None;
    common::within(Duration::from_secs(30), || {
        row = node(&id);
        row.as_ref().is_some_and(|r| r.contains("complete"))
    });
    let row = row.unwrap_or_else(|| panic!("no :BackupMetadata for {id}\n{}", bw.logs()));
    for want in [
        "complete".to_owned(),
        m["journal_lsn"].to_string(),
        m["data"]["sha256"].as_str().unwrap().to_owned(),
        "primary".to_owned(),
    ] {
        assert!(row.contains(&want), "{want} in {row}");
    }
    drop(bw);

    // Snapshots of a database that does not exist fail: each is counted, recorded, and
    // the run of failures is what the alert rule watches.
    let bw = data.start(&server.addr(), Some("no_such_database"), &sink);
    for _ in 0..3 {
        let (code, _, _) = bw.cli(&["snapshot", "create"]);
        assert_ne!(code, 0);
    }
    let metrics = bw.metrics();
    assert_eq!(
        common::metric_value(&metrics, "boltward_snapshot_consecutive_failures"),
        3.0
    );
    let failed = || {
        common::with_client(&server.addr(), async |c| {
            c.query(
                "MATCH (b:BackupMetadata {status: 'failed'}) RETURN count(b)",
                Default::default(),
                boltward::protocol::Map::from([("db", "backups")]),
            )
            .await
            .unwrap()
            .first_int()
        })
    };
    common::wait_until(
        "three failed backups recorded",
        Duration::from_secs(30),
        || failed() == Some(3),
    );
    // The last success survives the restart (it is read from the snapshot directory).
    assert_eq!(
        common::metric_value(&metrics, "boltward_snapshot_last_success_timestamp_seconds"),
        m["created_unix"].as_f64().unwrap()
    );
}
