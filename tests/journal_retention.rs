//! Journal retention with a real ArcadeDB server and small segments: a sealed segment
//! leaves the journal directory only when it is older than the retention, not needed for
//! a point-in-time restore from the oldest kept snapshot, and applied by every mirror and
//! the audit sink. After a prune the chain verifies from the anchor (and from LSN 1 with
//! the archive), archived segments are still queried, and boltward restarts on the
//! pruned journal.

mod common;

use boltward_protocol::Map;
use common::{Boltward, Server, PASSWORD};
use serde_json::Value;
use std::path::Path;

const TOKEN: &str = "retention-test-token";

/// The environment of a boltward keeping its journal, snapshots and state under `dir`,
/// with 4 KiB segments and retention run by hand.
fn env(dir: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let path = |p: &str| dir.join(p).display().to_string();
    let mut env: Vec<(String, String)> = [
        ("BOLTWARD_CONTROL_TOKEN", TOKEN.to_owned()),
        ("BOLTWARD_SNAPSHOT_USER", "root".into()),
        ("BOLTWARD_SNAPSHOT_PASSWORD", PASSWORD.into()),
        ("BOLTWARD_SNAPSHOT_DIR", path("snapshots")),
        ("BOLTWARD_JOURNAL_DIR", path("journal")),
        ("BOLTWARD_RESTORE_STATE_FILE", path("restore.json")),
        ("BOLTWARD_JOURNAL_SEGMENT_BYTES", "4096".into()),
        ("BOLTWARD_JOURNAL_RETENTION_CHECK_SECS", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn start(server: &Server, dir: &Path, extra: &[(&str, &str)]) -> Boltward {
    let env = env(dir, extra);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Boltward::start(&server.addr(), &[], &env)
}

/// `n` auto-commit writes through boltward, each naming `tag`.
fn writes(bw: &Boltward, tag: &str, n: i64) {
    common::with_client(&bw.addr, async |client| {
        for i in 0..n {
            let mut p = Map::new();
            p.insert("i", i);
            p.insert("tag", tag);
            client
                .query("CREATE (:Row {i: $i, tag: $tag})", p, Map::new())
                .await
                .unwrap();
        }
    });
}

fn prune(bw: &Boltward, dry_run: bool) -> Value {
    let mut args = vec!["audit", "prune", "--json"];
    if dry_run {
        args.push("--dry-run");
    }
    serde_json::from_str(&bw.cli_ok(&args)).unwrap()
}

fn segments(dir: &Path) -> usize {
    boltward::journal::read::list_segments(dir).unwrap().len()
}

#[test]
fn segments_no_one_needs_are_archived_and_the_chain_still_verifies() {
    let server = common::shared_server();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let archive = dir.path().join("archive");
    let archive_s = archive.display().to_string();
    let extra = [
        ("BOLTWARD_JOURNAL_RETENTION_DAYS", "0"),
        ("BOLTWARD_JOURNAL_ARCHIVE_DIR", archive_s.as_str()),
    ];
    let bw = start(server, dir.path(), &extra);
    writes(&bw, "early", 40);
    let snap: Value = serde_json::from_str(&bw.cli_ok(&["snapshot", "create", "--json"])).unwrap();
    let snap_lsn = snap["journal_lsn"].as_u64().unwrap();
    writes(&bw, "late", 20);
    let before = segments(&journal);
    assert!(before >= 4, "small segments: {before}");

    let dry = prune(&bw, true);
    assert!(!dry["pruned"].as_array().unwrap().is_empty(), "{dry}");
    assert_eq!(segments(&journal), before, "a dry run removes nothing");

    let report = prune(&bw, false);
    let pruned = report["pruned"].as_array().unwrap();
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&report["pruned"]), names(&dry["pruned"]));
    // Everything before the snapshot may go; nothing at or after what its replay reads.
    let last_pruned = pruned.last().unwrap()["last_lsn"].as_u64().unwrap();
    assert!(last_pruned <= snap_lsn, "{report}");
    assert_eq!(report["kept"]["reason"], "pitr", "{report}");
    assert_eq!(segments(&journal), before - pruned.len());
    for p in pruned {
        assert!(Path::new(p["archived"].as_str().unwrap()).exists(), "{p}");
    }
    let metrics = bw.metrics();
    assert_eq!(
        common::metric_value(
            &metrics,
            "boltward_journal_segments_pruned_total{action=\"archived\"}"
        ),
        pruned.len() as f64
    );
    assert_eq!(
        common::metric_value(&metrics, "boltward_journal_oldest_lsn"),
        (last_pruned + 1) as f64
    );

    // What remains verifies from the anchor; with the archive, from LSN 1.
    let out = common::boltward_ok(&[
        "audit",
        "verify",
        "--journal",
        &journal.display().to_string(),
    ]);
    assert!(
        out.contains(&format!("verified from LSN {}", last_pruned + 1)),
        "{out}"
    );
    let out = common::boltward_ok(&[
        "audit",
        "verify",
        "--journal",
        &journal.display().to_string(),
        "--archive",
        &archive_s,
    ]);
    assert!(
        out.starts_with("journal intact") && !out.contains("verified from"),
        "{out}"
    );
    let v: Value = serde_json::from_str(&bw.cli_ok(&["status", "--json"])).unwrap();
    assert!(v.is_object());

    // The archived writes are still answered, offline and through the control port.
    let early = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--json");
        let (_, out, err) = bw.cli(&args);
        let rows: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
        rows.as_array().map_or(0, |r| r.len())
    };
    let offline = early(&[
        "audit",
        "query",
        "--journal",
        &journal.display().to_string(),
        "--archive",
        &archive_s,
        "--limit",
        "500",
    ]);
    let live_only = early(&[
        "audit",
        "query",
        "--journal",
        &journal.display().to_string(),
        "--limit",
        "500",
    ]);
    let through_control = early(&["audit", "query", "--limit", "500"]);
    assert!(offline > live_only, "{offline} > {live_only}");
    assert_eq!(through_control, offline);

    // boltward starts again on the pruned journal and keeps writing to it.
    drop(bw);
    let bw = start(server, dir.path(), &extra);
    writes(&bw, "after", 5);
    let out = common::boltward_ok(&[
        "audit",
        "verify",
        "--journal",
        &journal.display().to_string(),
    ]);
    assert!(out.contains("journal intact"), "{out}");

    // A forged anchor is caught: the hash no longer matches the chain.
    drop(bw);
    let anchor = journal.join("ANCHOR.json");
    let text = std::fs::read_to_string(&anchor).unwrap();
    let mut a: Value = serde_json::from_str(&text).unwrap();
    for b in a["boundaries"].as_array_mut().unwrap() {
        b["prev_hash"] = Value::String("00".repeat(32));
    }
    std::fs::write(&anchor, a.to_string()).unwrap();
    let (code, out, err) = common::boltward_cli(
        &[
            "audit",
            "verify",
            "--journal",
            &journal.display().to_string(),
        ],
        &[],
    );
    assert_ne!(code, 0, "{out}{err}");
}

#[test]
fn each_condition_keeps_segments() {
    let server = common::shared_server();
    // Young: the default retention keeps a month.
    let dir = tempfile::tempdir().unwrap();
    let bw = start(server, dir.path(), &[]);
    writes(&bw, "young", 30);
    bw.cli_ok(&["snapshot", "create"]);
    writes(&bw, "young", 10);
    let r = prune(&bw, false);
    assert_eq!(r["pruned"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["kept"]["reason"], "young", "{r}");
    drop(bw);

    // No snapshot: a point-in-time restore would need everything.
    let dir = tempfile::tempdir().unwrap();
    let bw = start(
        server,
        dir.path(),
        &[("BOLTWARD_JOURNAL_RETENTION_DAYS", "0")],
    );
    writes(&bw, "unsnapped", 40);
    let r = prune(&bw, false);
    assert_eq!(r["pruned"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["kept"]["reason"], "pitr", "{r}");
    assert!(r["kept"]["needed_from"].is_null(), "{r}");
    drop(bw);

    // A mirror that has applied nothing (unreachable) keeps everything.
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let config = dir.path().join("boltward.toml");
    std::fs::write(
        &config,
        format!("[replication]\nbackoff_ms = 50\nmax_backoff_ms = 200\n\n[[replication.remote]]\nname = \"vps\"\naddr = \"{nowhere}\"\nuser = \"root\"\n"),
    )
    .unwrap();
    let mut env = env(dir.path(), &[("BOLTWARD_JOURNAL_RETENTION_DAYS", "0")]);
    env.push(("BOLTWARD_REPLICATION_VPS_PASSWORD".into(), PASSWORD.into()));
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config_s = config.display().to_string();
    let bw = Boltward::start(&server.addr(), &["--config", &config_s], &env_ref);
    writes(&bw, "mirrored", 30);
    bw.cli_ok(&["snapshot", "create"]);
    writes(&bw, "mirrored", 10);
    let r = prune(&bw, false);
    assert_eq!(r["pruned"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["kept"]["reason"], "mirror", "{r}");
    assert_eq!(r["kept"]["name"], "vps", "{r}");
    drop(bw);

    // The audit sink has written nothing (its server is unreachable).
    let dir = tempfile::tempdir().unwrap();
    let bw = start(
        server,
        dir.path(),
        &[
            ("BOLTWARD_JOURNAL_RETENTION_DAYS", "0"),
            ("BOLTWARD_JOURNAL_SINK_ENABLED", "true"),
            ("BOLTWARD_JOURNAL_SINK_ADDR", &nowhere),
            ("BOLTWARD_JOURNAL_SINK_USER", "root"),
            ("BOLTWARD_JOURNAL_SINK_PASSWORD", PASSWORD),
        ],
    );
    writes(&bw, "sunk", 30);
    bw.cli_ok(&["snapshot", "create"]);
    writes(&bw, "sunk", 10);
    let r = prune(&bw, false);
    assert_eq!(r["pruned"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["kept"]["reason"], "sink", "{r}");
}
