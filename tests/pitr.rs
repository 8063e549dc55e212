//! Point-in-time restore, end to end with a real ArcadeDB server: a snapshot, then writes
//! in three phases through boltward. At the end of each phase, with writes paused, the
//! test records the graph's fingerprint, the journal's LSN and the time. Restoring
//! `--until` each boundary, by LSN and by time, into an empty database gives exactly that
//! phase's fingerprint; `--dry-run` says what would happen and refuses what cannot.

mod common;

use boltward::snapshot::export::Scope;
use boltward_protocol::Map;
use common::{Boltward, Server, PASSWORD};
use serde_json::Value;

const TOKEN: &str = "pitr-test-token";

/// The fingerprint of database `db` (the default when `None`) at `addr`, read directly.
fn fingerprint(addr: &str, db: Option<&str>) -> String {
    common::rt().block_on(async {
        let mut client = common::bolt(addr).await;
        let scope = Scope {
            database: db.map(str::to_owned),
            batch: 1000,
        };
        boltward::recovery::digest_of(&mut client, &scope)
            .await
            .unwrap()
            .fingerprint
            .hex()
    })
}

/// Runs `boltward ARGS` against `bw`'s control port: exit code, stdout, stderr.
/// Writes through boltward: auto-commit and explicit transactions, creates, order-sensitive
/// updates and deletes; `phase` makes each phase's writes different.
fn phase(bw: &Boltward, phase: i64) {
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        for i in 0..8i64 {
            let mut p = Map::new();
            p.insert("k", i % 4);
            p.insert("w", phase * 100 + i);
            if i % 3 == 0 {
                c.begin(Map::new()).await.unwrap();
                c.query(
                    "MATCH (n:Acc {k: $k}) SET n.v = (n.v * 7 + $w) % 1000003",
                    p.clone(),
                    Map::new(),
                )
                .await
                .unwrap();
                c.query("CREATE (:Event {w: $w})", p, Map::new())
                    .await
                    .unwrap();
                c.commit().await.unwrap();
            } else {
                c.query(
                    "MATCH (n:Acc {k: $k}) SET n.v = (n.v * 7 + $w) % 1000003",
                    p,
                    Map::new(),
                )
                .await
                .unwrap();
            }
        }
        let mut p = Map::new();
        p.insert("w", phase * 100 + 3);
        c.query("MATCH (e:Event {w: $w}) DETACH DELETE e", p, Map::new())
            .await
            .unwrap();
        if phase == 3 {
            // Flagged as unsafe to replay (it draws a random number), with an effect that
            // does not depend on it.
            c.query(
                "MATCH (n:Acc) WITH n, rand() AS r SET n.touched = true",
                Map::new(),
                Map::new(),
            )
            .await
            .unwrap();
        }
    });
}

/// Where a phase ended: fingerprint, journal LSN and time, taken with writes paused.
struct Boundary {
    fingerprint: String,
    lsn: u64,
    time: String,
}

fn boundary(bw: &Boltward, server: &Server) -> Boundary {
    bw.cli_ok(&["writes", "pause"]);
    let b = Boundary {
        fingerprint: fingerprint(&server.addr(), None),
        lsn: common::metric_value(&bw.metrics(), "boltward_journal_lsn") as u64,
        time: boltward::journal::query::rfc3339(boltward::journal::now_micros()),
    };
    bw.cli_ok(&["writes", "resume"]);
    b
}

/// `restore start --until … --target … --database db --wait --json`, then `restore
/// cancel` so the next can start; the final state.
fn restore_until(bw: &Boltward, server: &Server, until: &str, db: &str) -> Value {
    let target = format!("bolt://{}", server.addr());
    let (_, out, err) = bw.cli(&[
        "restore",
        "start",
        "--until",
        until,
        "--target",
        &target,
        "--database",
        db,
        "--wait",
        "--json",
    ]);
    let state: Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("restore: {out}{err}\n{}", bw.logs()));
    bw.cli_ok(&["restore", "cancel"]);
    state
}

#[test]
fn restoring_to_each_phase_boundary_by_lsn_and_by_time_gives_that_phases_graph() {
    let dbs = ["neo4j", "l1", "t1", "l2", "t2", "l3", "t3"];
    let server = Server::start(&dbs);
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).display().to_string();
    let bw = Boltward::start(
        &server.addr(),
        &[],
        &[
            ("BOLTWARD_CONTROL_TOKEN", TOKEN),
            ("BOLTWARD_SNAPSHOT_USER", "root"),
            ("BOLTWARD_SNAPSHOT_PASSWORD", PASSWORD),
            ("BOLTWARD_SNAPSHOT_DIR", &path("snapshots")),
            ("BOLTWARD_JOURNAL_DIR", &path("journal")),
            ("BOLTWARD_RESTORE_STATE_FILE", &path("restore.json")),
        ],
    );
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        for k in 0..4i64 {
            let mut p = Map::new();
            p.insert("k", k);
            c.query("CREATE (:Acc {k: $k, v: 1})", p, Map::new())
                .await
                .unwrap();
        }
    });
    let before = boundary(&bw, &server);
    let snap: Value = serde_json::from_str(&bw.cli_ok(&["snapshot", "create", "--json"])).unwrap();
    let snap_id = snap["id"].as_str().unwrap().to_owned();
    assert_eq!(snap["fingerprint"], before.fingerprint.as_str());

    // Before the snapshot there is nothing to start from.
    let (code, _, err) = bw.cli(&[
        "restore",
        "start",
        "--until",
        &before.lsn.saturating_sub(1).to_string(),
        "--target",
        "bolt://127.0.0.1:1",
        "--dry-run",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no complete snapshot at or before"), "{err}");

    let mut boundaries = Vec::new();
    for p in 1..=3 {
        phase(&bw, p);
        boundaries.push(boundary(&bw, &server));
    }
    let fps: std::collections::BTreeSet<&str> =
        boundaries.iter().map(|b| b.fingerprint.as_str()).collect();
    assert_eq!(fps.len(), 3, "each phase changed the graph");

    // Beyond the journal: refused, with where it ends.
    let beyond = (boundaries[2].lsn + 1000).to_string();
    let (code, _, err) = bw.cli(&[
        "restore",
        "start",
        "--until",
        &beyond,
        "--target",
        "bolt://127.0.0.1:1",
        "--dry-run",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("beyond the journal"), "{err}");

    // The plan for phase 3 names the snapshot, the range and the unsafe statement.
    let target = format!("bolt://{}", server.addr());
    let plan: Value = serde_json::from_str(&bw.cli_ok(&[
        "restore",
        "start",
        "--until",
        &boundaries[2].time,
        "--target",
        &target,
        "--dry-run",
        "--json",
    ]))
    .unwrap();
    assert_eq!(plan["snapshot"], snap_id.as_str());
    assert_eq!(plan["snapshot_lsn"], snap["journal_lsn"]);
    // Each phase: 8 writes and a delete; phase 3 adds the unsafe one.
    assert_eq!(plan["transactions"], 28, "{plan}");
    assert_eq!(plan["unsafe_total"], 1, "{plan}");
    assert_eq!(plan["unsafe_statements"][0]["hazards"][0], "random");
    let text = bw.cli_ok(&[
        "restore",
        "start",
        "--until",
        &boundaries[0].lsn.to_string(),
        "--target",
        &target,
        "--dry-run",
    ]);
    assert!(
        text.contains(&format!("restore snapshot {snap_id}"))
            && text.contains("replay 9 transaction(s)")
            && text.contains("no statement in the range is unsafe to replay"),
        "{text}"
    );

    for (i, b) in boundaries.iter().enumerate() {
        for (how, until) in [("l", b.lsn.to_string()), ("t", b.time.clone())] {
            let db = format!("{how}{}", i + 1);
            let state = restore_until(&bw, &server, &until, &db);
            assert_eq!(state["state"], "SUCCEEDED", "until {until}: {state}");
            let validation = &state["restore"]["validation"];
            assert_eq!(validation["replay"]["counters_equal"], true);
            assert_eq!(
                validation["replay"]["transactions"],
                9 * (i as u64 + 1) + u64::from(i == 2),
                "{validation}"
            );
            assert_eq!(
                validation["replay"]["loaded_fingerprint"],
                before.fingerprint.as_str()
            );
            assert_eq!(
                fingerprint(&server.addr(), Some(&db)),
                b.fingerprint,
                "restored until {until} (phase {})",
                i + 1
            );
            assert_eq!(validation["fingerprint"], b.fingerprint.as_str());
        }
    }
}
