//! Mirrors, end to end with real servers: a primary ArcadeDB and a remote database,
//! boltward in front of the primary with `[[replication.remote]]`. The remote is the
//! database `mirror` on the primary's own server (one JVM per test) unless the test kills
//! the remote, which then is a server of its own. A remote without a marker is
//! refused until `boltward replication reseed`; then every committed write (auto-commit and
//! explicit, order-sensitive updates) reaches it once, and its fingerprint equals the
//! primary's. Writes go through boltward with boltward's own Bolt client (the drivers'
//! behaviour through boltward is tested in proxy_drivers.rs).

mod common;

use boltward::snapshot::export::Scope;
use boltward_protocol::Map;
use common::{Boltward, Server, PASSWORD};
use std::time::Duration;

const TOKEN: &str = "replication-test-token";

/// A database on a server, read and written directly (not through boltward).
#[derive(Clone)]
struct At {
    addr: String,
    /// `None`: the server's default database.
    db: Option<&'static str>,
}

impl At {
    /// The server's default database (the primary's).
    fn default_of(server: &Server) -> At {
        At {
            addr: server.addr(),
            db: None,
        }
    }

    /// The database `mirror` on `server` (started with it, see [`with_mirror`]).
    fn mirror_on(server: &Server) -> At {
        At {
            addr: server.addr(),
            db: Some("mirror"),
        }
    }

    /// The `db` field of a RUN or BEGIN that addresses this database.
    fn extra(&self) -> Map {
        match self.db {
            Some(db) => Map::from([("db", db)]),
            None => Map::new(),
        }
    }
}

/// A primary whose server also holds the remote's database `mirror`.
fn with_mirror() -> (Server, At) {
    let server = Server::start(&["neo4j", "mirror"]);
    let mirror = At::mirror_on(&server);
    (server, mirror)
}

/// The fingerprint and counts of a live database (a mirror's marker is not part of it).
fn digest(at: &At) -> (String, u64, u64) {
    common::rt().block_on(async {
        let mut client = common::bolt(&at.addr).await;
        let scope = Scope {
            database: at.db.map(Into::into),
            batch: 1000,
        };
        let d = boltward::recovery::digest_of(&mut client, &scope)
            .await
            .unwrap();
        (
            d.fingerprint.hex(),
            d.fingerprint.nodes(),
            d.fingerprint.relationships(),
        )
    })
}

/// `boltward replication …` against `bw`'s control port; stdout.
fn cli(bw: &Boltward, args: &[&str]) -> String {
    bw.cli_ok(&[&["replication"], args].concat())
}

fn status(bw: &Boltward) -> serde_json::Value {
    let out = cli(bw, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["remotes"][0].clone()
}

fn start(primary: &Server, remote: &At, dir: &std::path::Path) -> Boltward {
    start_with(primary, remote, dir, "")
}

/// boltward in front of `primary`, mirroring to `remote` ("vps") with `extra` lines in its
/// `[[replication.remote]]` table.
fn start_with(primary: &Server, remote: &At, dir: &std::path::Path, extra: &str) -> Boltward {
    write_config(dir, FAST, &[("vps", remote, extra)]);
    start_with_config(&primary.addr(), dir)
}

/// Short timeouts and backoffs, so failures are retried within a test's patience.
const FAST: &str = "apply_timeout_ms = 1000\nbackoff_ms = 50\nmax_backoff_ms = 500";

/// Writes `dir/boltward.toml`: `[replication]` with `settings`, then one
/// `[[replication.remote]]` per (name, database, extra lines), logging in as `root`.
fn write_config(dir: &std::path::Path, settings: &str, remotes: &[(&str, &At, &str)]) {
    let mut toml = format!("[replication]\n{settings}\n");
    for (name, at, extra) in remotes {
        let addr = &at.addr;
        toml.push_str(&format!(
            "\n[[replication.remote]]\nname = \"{name}\"\naddr = \"{addr}\"\nuser = \"root\"\n"
        ));
        if let Some(db) = at.db {
            toml.push_str(&format!("database = \"{db}\"\n"));
        }
        toml.push_str(extra);
        toml.push('\n');
    }
    std::fs::write(dir.join("boltward.toml"), toml).unwrap();
}

/// boltward in front of `upstream` with the configuration in `dir/boltward.toml`.
fn start_with_config(upstream: &str, dir: &std::path::Path) -> Boltward {
    let config = dir.join("boltward.toml");
    let snapshots = dir.join("snapshots").display().to_string();
    let journal = dir.join("journal").display().to_string();
    let state = dir.join("restore.json").display().to_string();
    Boltward::start(
        upstream,
        &["--config", &config.display().to_string()],
        &[
            ("BOLTWARD_CONTROL_TOKEN", TOKEN),
            ("BOLTWARD_REPLICATION_VPS_PASSWORD", PASSWORD),
            ("BOLTWARD_REPLICATION_BACKUP_PASSWORD", PASSWORD),
            ("BOLTWARD_SNAPSHOT_USER", "root"),
            ("BOLTWARD_SNAPSHOT_PASSWORD", PASSWORD),
            ("BOLTWARD_SNAPSHOT_DIR", &snapshots),
            ("BOLTWARD_JOURNAL_DIR", &journal),
            ("BOLTWARD_RESTORE_STATE_FILE", &state),
        ],
    )
}

/// Auto-commit and explicit writes through boltward: creates, then order-sensitive updates
/// (`v = v * 7 + w` gives a different result in any other order).
fn write_load(bw: &Boltward, rounds: i64) {
    write_load_on(bw, rounds, "Acc");
}

/// [`write_load`] on nodes labelled `label` (writers on different labels never touch the
/// same node).
fn write_load_on(bw: &Boltward, rounds: i64, label: &str) {
    let merge = format!("MERGE (n:{label} {{k: $k}}) ON CREATE SET n.v = 1");
    let update = format!("MATCH (n:{label} {{k: $k}}) SET n.v = (n.v * 7 + $w) % 1000003");
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        for k in 0..4i64 {
            let mut p = Map::new();
            p.insert("k", k);
            c.query(&merge, p, Map::new()).await.unwrap();
        }
        for w in 0..rounds {
            let mut p = Map::new();
            p.insert("k", w % 4);
            p.insert("w", w);
            if w % 3 == 0 {
                c.begin(Map::new()).await.unwrap();
                c.query(&update, p.clone(), Map::new()).await.unwrap();
                c.query("CREATE (:Event {w: $w})", p, Map::new())
                    .await
                    .unwrap();
                c.commit().await.unwrap();
            } else {
                c.query(&update, p, Map::new()).await.unwrap();
            }
        }
    });
}

/// Writes through boltward, as a client does.
fn through(bw: &Boltward) -> At {
    At {
        addr: bw.addr.clone(),
        db: None,
    }
}

/// The first column of the first row of `q` on `at`.
fn scalar(at: &At, q: &str) -> Option<i64> {
    rows(at, q)
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_int())
}

/// The rows `q` returns on `at`.
fn rows(at: &At, q: &str) -> Vec<Vec<boltward_protocol::Value>> {
    common::with_client(&at.addr, async |c| {
        c.query(q, Map::new(), at.extra()).await.unwrap().records
    })
}

/// Runs `q` on `at` (directly, not through boltward).
fn execute(at: &At, q: &str) {
    rows(at, q);
}

/// `boltward replication reseed vps`, then waits until the remote streams and has compared
/// itself with the snapshot it was seeded from.
fn reseed(bw: &Boltward) {
    cli(bw, &["reseed", "vps"]);
    common::wait_until("seeded and verified", Duration::from_secs(60), || {
        let s = status(bw);
        s["state"] == "streaming" && s["last_verify"]["equal"] == true
    });
}

fn journal_lsn(bw: &Boltward) -> u64 {
    common::metric_value(&bw.metrics(), "boltward_journal_lsn") as u64
}

/// Whether a remote (its status `s`) streams and has applied every transaction of the
/// journal, which ends at `end`: it read up to there and nothing waits. (Its applied LSN
/// is its last transaction's; the journal may end in other records, such as events.)
fn is_caught_up(s: &serde_json::Value, end: u64) -> bool {
    s["state"] == "streaming"
        && s["lag_transactions"] == 0
        && s["journal_lsn"].as_u64() == Some(end)
}

/// Waits until the remote streams and has applied everything the journal holds.
fn wait_caught_up(bw: &Boltward, what: &str) {
    common::wait_until(what, Duration::from_secs(60), || {
        is_caught_up(&status(bw), journal_lsn(bw))
    });
}

fn applied(bw: &Boltward) -> u64 {
    status(bw)["applied_lsn"].as_u64().unwrap_or(0)
}

#[test]
fn a_remote_is_seeded_then_mirrors_every_committed_write_once() {
    let (primary, remote) = with_mirror();
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&primary, &remote, dir.path());

    // Writes before the remote is seeded: it is empty, so it is not streamed into.
    write_load(&bw, 12);
    common::wait_until(
        "the empty remote needs a reseed",
        Duration::from_secs(30),
        || status(&bw)["state"] == "needs-reseed",
    );
    assert_eq!(digest(&remote).1, 0, "nothing was written to it");
    assert!(status(&bw)["reason"].as_str().unwrap().contains("empty"));

    // Reseed: a snapshot of the primary, then the journal from its LSN.
    let out = cli(&bw, &["reseed", "vps"]);
    assert!(out.contains("vps"), "{out}");
    common::wait_until("the remote is seeded", Duration::from_secs(60), || {
        let s = status(&bw);
        s["state"] == "streaming" && s["generation"].is_string()
    });
    write_load(&bw, 60);
    // The journal's last record is the outcome of the last write.
    wait_caught_up(&bw, "the remote applied everything the journal holds");
    let (p, r) = (digest(&At::default_of(&primary)), digest(&remote));
    assert_eq!(p, r, "the remote equals the primary (marker excluded)");
    assert!(p.1 > 20, "the graph has the load's nodes: {p:?}");

    // The order-sensitive values prove order and exactly-once: any duplicate or swap
    // changes them.
    let values = |at: &At| rows(at, "MATCH (n:Acc) RETURN n.k, n.v ORDER BY n.k");
    assert_eq!(values(&At::default_of(&primary)), values(&remote));

    // An on-demand comparison at a snapshot's LSN (the remote stops there; the primary's
    // writes are held only for the snapshot itself).
    let out = cli(&bw, &["verify", "vps"]);
    assert!(out.contains("vps: equal to snapshot"), "{out}");
    assert_eq!(status(&bw)["last_verify"]["equal"], true);

    // The marker holds the LSN of the last committed transaction.
    let marker = scalar(&remote, "MATCH (m:__BoltwardMirror) RETURN m.lsn");
    assert_eq!(marker, Some(applied(&bw) as i64));
    assert!(applied(&bw) <= journal_lsn(&bw));
    let metrics = bw.metrics();
    assert_eq!(
        common::metric_value(&metrics, "boltward_replication_applied_lsn{remote=\"vps\"}") as u64,
        applied(&bw)
    );
    assert_eq!(
        common::metric_value(&metrics, "boltward_replication_state{remote=\"vps\"}"),
        1.0,
        "streaming"
    );
}

#[test]
fn a_remote_holding_another_database_is_never_streamed_into() {
    let (primary, remote) = with_mirror();
    execute(&remote, "CREATE (:Foreign {x: 1})");
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&primary, &remote, dir.path());
    write_load(&bw, 6);
    common::wait_until(
        "the foreign remote needs a reseed",
        Duration::from_secs(30),
        || status(&bw)["state"] == "needs-reseed",
    );
    let s = status(&bw);
    assert!(
        s["reason"].as_str().unwrap().contains("another database"),
        "{s}"
    );
    let foreign = scalar(&remote, "MATCH (n) RETURN count(n)");
    assert_eq!(foreign, Some(1), "untouched");
    // Pause and resume answer with the remote; an unknown remote is a 404 named.
    assert!(cli(&bw, &["pause", "vps"]).contains("vps"));
    common::wait_until("paused", Duration::from_secs(10), || {
        status(&bw)["state"] == "paused"
    });
    assert!(cli(&bw, &["resume", "vps"]).contains("vps"));
    let (code, _, err) = bw.cli(&["replication", "pause", "nope"]);
    assert_ne!(code, 0);
    assert!(err.contains("no remote named 'nope'"), "{err}");
    // Only a transaction in doubt can be resolved (the journal's first record is not).
    let (code, _, err) = bw.cli(&["replication", "resolve", "--lsn", "1", "--committed"]);
    assert_ne!(code, 0);
    assert!(err.contains("LSN 1 is not a transaction in doubt"), "{err}");
}

#[test]
fn a_remote_that_stops_answering_mid_apply_loses_nothing_and_duplicates_nothing() {
    let (primary, remote) = with_mirror();
    // A relay that turns into a black hole at the replicator's first COMMIT: the remote
    // receives it and commits, but no answer comes back, so the outcome is unknown to
    // boltward.
    let relay = common::Relay::start(&remote.addr);
    let dir = tempfile::tempdir().unwrap();
    let black_hole = At {
        addr: relay.addr.clone(),
        db: remote.db,
    };
    let bw = start(&primary, &black_hole, dir.path());
    reseed(&bw);
    let before = relay.connections();
    for i in 0..before {
        relay.hold_from_commit(i);
    }
    // The trapped transaction is not idempotent: applied twice, it shows.
    execute(&through(&bw), "CREATE (:Event {w: -1})");
    write_load(&bw, 30);
    // The held connection times out; the replicator reconnects (not held) and resumes
    // after the marker, which says which of the unanswered transactions committed.
    let caught_up = common::within(Duration::from_secs(60), || {
        let s = status(&bw);
        is_caught_up(&s, journal_lsn(&bw))
    });
    assert!(
        caught_up,
        "not caught up after the black hole: {} (journal at {})",
        status(&bw),
        journal_lsn(&bw)
    );
    assert!(relay.connections() > before, "the replicator reconnected");
    let errors = common::metric_value(
        &bw.metrics(),
        "boltward_replication_errors_total{remote=\"vps\"}",
    );
    assert!(errors >= 1.0, "the timeout was counted: {errors}");
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
    let events = scalar(&remote, "MATCH (e:Event) RETURN count(e)");
    assert_eq!(events, Some(11), "each event exactly once");
}

#[test]
fn a_write_made_directly_on_a_remote_is_caught_as_drift() {
    let (primary, remote) = with_mirror();
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&primary, &remote, dir.path());
    write_load(&bw, 3);
    // A reseed verifies the remote against the snapshot it was seeded from.
    reseed(&bw);

    // Someone writes on the remote, not through boltward: `verify` sees it.
    execute(&remote, "CREATE (:Stray)");
    let (code, text, _) = bw.cli(&["replication", "verify", "vps"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("DIFFERS"), "{text}");
    let s = status(&bw);
    assert_eq!(s["state"], "stopped", "{s}");
    let reason = s["reason"].as_str().unwrap();
    assert!(reason.contains("fingerprint differs"), "{reason}");
    assert_eq!(s["drift_total"], 1);

    // Reseeded, it is equal again; then a deletion on the remote is caught by the update
    // counters of the next write that touches it.
    reseed(&bw);
    execute(&remote, "MATCH (n:Acc {k: 1}) DETACH DELETE n");
    let applied_before = applied(&bw);
    // The update sets a property on the primary and none on the remote.
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        let mut p = Map::new();
        p.insert("k", 1);
        c.query("MATCH (n:Acc {k: $k}) SET n.v = n.v + 1", p, Map::new())
            .await
            .unwrap();
    });
    common::wait_until("the remote stops on drift", Duration::from_secs(30), || {
        status(&bw)["state"] == "stopped"
    });
    let s = status(&bw);
    let reason = s["reason"].as_str().unwrap();
    assert!(reason.contains("drift at LSN"), "{reason}");
    assert!(
        reason.contains("SET n.v = n.v + 1"),
        "names the statement: {reason}"
    );
    assert_eq!(s["drift_total"], 2);
    assert_eq!(
        applied(&bw),
        applied_before,
        "the drifting transaction was not committed"
    );
    let metrics = bw.metrics();
    let drift = common::metric_value(&metrics, "boltward_replication_drift_total{remote=\"vps\"}");
    assert_eq!(drift, 2.0);
}

#[test]
fn a_remote_killed_under_load_catches_up_with_every_write_exactly_once() {
    let primary = Server::start(&["neo4j"]);
    let mut remote_server = Server::start(&["neo4j"]);
    let remote = At::default_of(&remote_server);
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&primary, &remote, dir.path());
    reseed(&bw);
    let seeded = applied(&bw);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_load(&bw, 150));
        common::wait_until("the remote is applying", Duration::from_secs(60), || {
            applied(&bw) > seeded + 10
        });
        remote_server.kill();
        common::wait_until(
            "the remote is being retried",
            Duration::from_secs(30),
            || status(&bw)["state"] == "retrying",
        );
        writer.join().unwrap();
    });
    let while_down = applied(&bw);
    assert!(
        while_down < journal_lsn(&bw),
        "writes went on while the remote was down"
    );
    remote_server.restart(&["neo4j"]);
    wait_caught_up(&bw, "caught up after the restart");
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
    // 150 rounds: every third is a transaction that creates one event; none lost, none
    // applied twice.
    assert_eq!(scalar(&remote, "MATCH (e:Event) RETURN count(e)"), Some(50));
    let marker = scalar(&remote, "MATCH (m:__BoltwardMirror) RETURN m.lsn");
    assert_eq!(
        marker,
        Some(journal_lsn(&bw) as i64),
        "the marker is at the journal's end"
    );
}

#[test]
fn in_sync_mode_every_acknowledged_commit_is_on_the_remote_and_a_dead_remote_degrades() {
    let primary = Server::start(&["neo4j"]);
    let mut remote_server = Server::start(&["neo4j"]);
    let remote = At::default_of(&remote_server);
    let dir = tempfile::tempdir().unwrap();
    let bw = start_with(
        &primary,
        &remote,
        dir.path(),
        "mode = \"sync\"\nsync_timeout_ms = 2000",
    );
    reseed(&bw);
    let count = |at: &At| scalar(at, "MATCH (s:S) RETURN count(s)");
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        let mut r = common::bolt(&remote.addr).await;
        for i in 0..20i64 {
            let mut p = Map::new();
            p.insert("i", i);
            if i % 2 == 0 {
                c.query("CREATE (:S {i: $i})", p, Map::new()).await.unwrap();
            } else {
                c.begin(Map::new()).await.unwrap();
                c.query("CREATE (:S {i: $i})", p, Map::new()).await.unwrap();
                c.commit().await.unwrap();
            }
            // Acknowledged: already on the remote.
            let on_remote = r
                .query("MATCH (s:S) RETURN count(s)", Map::new(), remote.extra())
                .await
                .unwrap()
                .first_int();
            assert_eq!(
                on_remote,
                Some(i + 1),
                "commit {i} acknowledged before the remote had it"
            );
        }
    });
    assert_eq!(status(&bw)["degraded"], false);

    // The remote dies: clients are still served, after at most sync_timeout_ms once, and
    // the remote is degraded to async.
    remote_server.kill();
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        for i in 20..25i64 {
            let started = std::time::Instant::now();
            let mut p = Map::new();
            p.insert("i", i);
            c.query("CREATE (:S {i: $i})", p, Map::new()).await.unwrap();
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "a client is never hung by a remote"
            );
        }
    });
    let s = status(&bw);
    assert_eq!(s["degraded"], true, "{s}");
    assert_eq!(
        common::metric_value(
            &bw.metrics(),
            "boltward_replication_degraded{remote=\"vps\"}"
        ),
        1.0
    );
    assert_eq!(count(&At::default_of(&primary)), Some(25));

    // Back: it catches up and is sync again.
    remote_server.restart(&["neo4j"]);
    common::wait_until("caught up and sync again", Duration::from_secs(60), || {
        let s = status(&bw);
        s["degraded"] == false && is_caught_up(&s, journal_lsn(&bw))
    });
    assert_eq!(count(&remote), Some(25));
}

#[test]
fn boltward_killed_mid_apply_resumes_from_the_marker_exactly_once() {
    let (primary, remote) = with_mirror();
    let dir = tempfile::tempdir().unwrap();
    let mut bw = start(&primary, &remote, dir.path());
    reseed(&bw);
    // A backlog: the remote is paused while the writes happen (none in flight at the kill,
    // so nothing on the primary is in doubt).
    cli(&bw, &["pause", "vps"]);
    common::wait_until("paused", Duration::from_secs(10), || {
        status(&bw)["state"] == "paused"
    });
    let seeded = applied(&bw);
    write_load(&bw, 300);
    cli(&bw, &["resume", "vps"]);
    common::wait_until("applying the backlog", Duration::from_secs(30), || {
        applied(&bw) > seeded
    });
    bw.signal("KILL");
    bw.wait_exit(Duration::from_secs(10))
        .expect("boltward exits on SIGKILL");
    let at_kill = scalar(&remote, "MATCH (m:__BoltwardMirror) RETURN m.lsn");
    eprintln!("marker at the kill: {at_kill:?}");

    // Restarted on the same journal: the remote resumes after its marker.
    let bw = start(&primary, &remote, dir.path());
    let events = |at: &At| scalar(at, "MATCH (e:Event) RETURN count(e)");
    common::wait_until(
        "caught up after the restart",
        Duration::from_secs(60),
        || {
            let s = status(&bw);
            s["state"] == "streaming" && s["lag_transactions"] == 0 && events(&remote) == Some(100)
        },
    );
    assert_eq!(events(&At::default_of(&primary)), Some(100));
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
    let out = cli(&bw, &["verify", "vps"]);
    assert!(out.contains("vps: equal to snapshot"), "{out}");
}

/// The fingerprint of database `db` at `addr`.
fn fingerprint_of(addr: &str, db: &str) -> String {
    common::rt().block_on(async {
        let mut client = common::bolt(addr).await;
        let scope = Scope {
            database: Some(db.into()),
            batch: 1000,
        };
        boltward::recovery::digest_of(&mut client, &scope)
            .await
            .unwrap()
            .fingerprint
            .hex()
    })
}

/// Replays every write the journal committed up to `lsn` into the empty database `db` at
/// `addr`; how many.
fn replay_into(journal: &std::path::Path, lsn: u64, addr: &str, db: &str) -> usize {
    let writes = boltward::journal::replay::committed(journal, Some(lsn)).unwrap();
    common::rt().block_on(async {
        let mut client = common::bolt(addr).await;
        for w in &writes {
            boltward::journal::replay::apply(&mut client, w, Some(db))
                .await
                .unwrap();
        }
    });
    writes.len()
}

#[test]
fn a_snapshot_read_from_the_mirror_never_holds_the_primarys_writes() {
    let primary = Server::start(&["neo4j", "mirror", "replay"]);
    let remote = At::mirror_on(&primary);
    let dir = tempfile::tempdir().unwrap();
    let bw = start_with(
        &primary,
        &remote,
        dir.path(),
        "\n[snapshot]\nsource = \"remote:vps\"",
    );
    reseed(&bw);
    let paused = |bw: &common::Boltward| {
        common::metric_value(&bw.metrics(), "boltward_snapshot_write_pause_seconds_sum")
    };
    let paused_before = paused(&bw);
    let manifest = std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_load(&bw, 120));
        common::wait_until("the mirror is applying", Duration::from_secs(60), || {
            applied(&bw) > 20
        });
        let out = bw.cli_ok(&["snapshot", "create", "--json"]);
        let m: serde_json::Value = serde_json::from_str(&out).unwrap();
        writer.join().unwrap();
        m
    });
    assert_eq!(manifest["source"]["remote"], "vps", "{manifest}");
    assert_eq!(manifest["timings"]["write_pause_ms"], 0.0, "{manifest}");
    let lsn = manifest["journal_lsn"].as_u64().unwrap();
    assert!(
        lsn > 0 && lsn < journal_lsn(&bw),
        "read mid-load at LSN {lsn}"
    );
    // The primary's writes were not held: the pause it reports is 0 and the total pause
    // did not grow.
    assert_eq!(paused(&bw), paused_before);
    // The mirror applies again, and the snapshot is the primary at its LSN.
    wait_caught_up(&bw, "the mirror applies again");
    let replayed = replay_into(&dir.path().join("journal"), lsn, &primary.addr(), "replay");
    assert_eq!(
        fingerprint_of(&primary.addr(), "replay"),
        manifest["fingerprint"].as_str().unwrap(),
        "the snapshot differs from the journal replayed up to its LSN ({replayed} writes)"
    );
}

#[test]
fn a_destroyed_primary_is_rebuilt_from_its_mirror_and_the_journal() {
    let (primary, remote) = with_mirror();
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&primary, &remote, dir.path());
    reseed(&bw);
    write_load(&bw, 30);
    common::wait_until("the mirror caught up", Duration::from_secs(60), || {
        is_caught_up(&status(&bw), journal_lsn(&bw))
    });
    // The mirror falls behind: what it lacks comes from the local journal.
    cli(&bw, &["pause", "vps"]);
    common::wait_until("paused", Duration::from_secs(30), || {
        status(&bw)["state"] == "paused"
    });
    let behind_at = applied(&bw);
    common::rt().block_on(async {
        let mut c = common::bolt(&bw.addr).await;
        for i in 0..12i64 {
            let mut p = Map::new();
            p.insert("i", i);
            c.query("CREATE (:Late {i: $i})", p, Map::new())
                .await
                .unwrap();
        }
    });
    assert!(behind_at < journal_lsn(&bw));
    let before = digest(&At::default_of(&primary));

    // The disaster: the primary's graph is destroyed on the server, not through boltward.
    execute(&At::default_of(&primary), "MATCH (n) DETACH DELETE n");
    assert_eq!(
        scalar(&At::default_of(&primary), "MATCH (n) RETURN count(n)"),
        Some(0)
    );

    let target = format!("bolt://{}", primary.addr());
    let out = bw.cli_ok(&[
        "restore",
        "start",
        "--from-remote",
        "vps",
        "--target",
        &target,
        "--force",
        "--wait",
        "--json",
        "--timeout",
        "120",
    ]);
    let state: serde_json::Value = serde_json::from_str(&out).unwrap();
    // In place: validated, then live at once.
    assert_eq!(state["state"], "PROMOTED", "{state}");
    let restore = &state["restore"];
    assert_eq!(restore["remote"], "vps");
    let replay = &restore["validation"]["replay"];
    assert_eq!(replay["counters_equal"], true);
    assert_eq!(
        replay["transactions"], 12,
        "the writes the mirror lacked: {state}"
    );
    assert_eq!(
        digest(&At::default_of(&primary)),
        before,
        "the pre-disaster graph"
    );

    // Writes through boltward work again and reach the mirror, which went on from its
    // marker.
    cli(&bw, &["resume", "vps"]);
    write_load(&bw, 3);
    wait_caught_up(&bw, "the mirror caught up");
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
    assert_eq!(scalar(&remote, "MATCH (n:Late) RETURN count(n)"), Some(12));
}

#[test]
fn a_remote_past_its_retention_budget_is_lost_until_reseeded() {
    let (primary, remote) = with_mirror();
    let dir = tempfile::tempdir().unwrap();
    // A two-second budget: the writes it lacks may be at most that old.
    write_config(
        dir.path(),
        "max_retained_age_secs = 2\nbackoff_ms = 50",
        &[("vps", &remote, "")],
    );
    let bw = start_with_config(&primary.addr(), dir.path());
    reseed(&bw);
    cli(&bw, &["pause", "vps"]);
    write_load(&bw, 6);
    common::wait_until("the remote is lost", Duration::from_secs(30), || {
        status(&bw)["state"] == "lost"
    });
    let s = status(&bw);
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .contains("max_retained_age_secs"),
        "{s}"
    );
    let metrics = bw.metrics();
    assert_eq!(
        common::metric_value(&metrics, "boltward_replication_state{remote=\"vps\"}"),
        7.0
    );
    assert!(
        common::metric_value(
            &metrics,
            "boltward_replication_budget_used_ratio{remote=\"vps\"}"
        ) > 1.0
    );
    // Resuming does not bring it back: only a reseed does.
    cli(&bw, &["resume", "vps"]);
    assert!(!common::within(Duration::from_secs(2), || status(&bw)
        ["state"]
        == "streaming"));
    reseed(&bw);
    write_load(&bw, 3);
    wait_caught_up(&bw, "caught up after the reseed");
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
}

#[test]
fn an_in_place_restore_starts_a_new_generation_that_needs_a_reseed() {
    let (primary, remote) = with_mirror();
    let dir = tempfile::tempdir().unwrap();
    let bw = start(&primary, &remote, dir.path());
    reseed(&bw);
    write_load(&bw, 6);
    let out = bw.cli_ok(&["snapshot", "create", "--json"]);
    let snap: serde_json::Value = serde_json::from_str(&out).unwrap();
    write_load(&bw, 6);
    common::wait_until("the mirror caught up", Duration::from_secs(60), || {
        is_caught_up(&status(&bw), journal_lsn(&bw))
    });
    // The primary goes back to the snapshot: the mirror holds writes it no longer has.
    let target = format!("bolt://{}", primary.addr());
    let out = bw.cli_ok(&[
        "restore",
        "start",
        snap["id"].as_str().unwrap(),
        "--target",
        &target,
        "--force",
        "--wait",
        "--json",
    ]);
    let state: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(state["state"], "PROMOTED", "{state}");
    let needs_reseed = |bw: &Boltward| {
        let s = status(bw);
        s["state"] == "needs-reseed"
            && s["reason"]
                .as_str()
                .is_some_and(|r| r.contains("new generation"))
    };
    common::wait_until("the mirror needs a reseed", Duration::from_secs(30), || {
        needs_reseed(&bw)
    });
    // It is remembered across a restart.
    drop(bw);
    let bw = start(&primary, &remote, dir.path());
    common::wait_until(
        "the mirror still needs a reseed",
        Duration::from_secs(30),
        || needs_reseed(&bw),
    );
    reseed(&bw);
    write_load(&bw, 3);
    wait_caught_up(&bw, "caught up after the reseed");
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
}

#[test]
fn a_transaction_in_doubt_stops_the_mirror_until_an_operator_resolves_it() {
    let (primary, remote) = with_mirror();
    // boltward reaches the primary through a relay that can swallow a COMMIT's answer.
    let relay = common::Relay::start(&primary.addr());
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "backoff_ms = 50\nmax_backoff_ms = 500",
        &[("vps", &remote, "")],
    );
    let mut bw = start_with_config(&relay.addr, dir.path());
    reseed(&bw);
    write_load(&bw, 3);

    // A client's COMMIT reaches the primary, which commits; its answer never comes back,
    // and boltward dies waiting for it.
    let addr = bw.addr.clone();
    let (began, wait_began) = std::sync::mpsc::channel();
    let (go, wait_go) = std::sync::mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        common::rt().block_on(async {
            let mut c = common::bolt(&addr).await;
            c.begin(Map::new()).await.unwrap();
            c.query("CREATE (:Doubt {k: 1})", Map::new(), Map::new())
                .await
                .unwrap();
            began.send(()).unwrap();
            wait_go.recv().unwrap();
            c.commit().await
        })
    });
    // Its session's connection to the primary exists now: trap every COMMIT from here on.
    wait_began.recv().unwrap();
    for i in 0..relay.connections() {
        relay.hold_from_commit(i);
    }
    go.send(()).unwrap();
    common::wait_until("the primary committed", Duration::from_secs(30), || {
        scalar(&At::default_of(&primary), "MATCH (n:Doubt) RETURN count(n)") == Some(1)
    });
    bw.signal("KILL");
    bw.wait_exit(Duration::from_secs(10))
        .expect("boltward exits on SIGKILL");
    assert!(client.join().unwrap().is_err(), "the client never heard");

    // Restarted: the journal records the transaction in doubt, and the mirror stops
    // before it rather than guess.
    let bw = start_with_config(&relay.addr, dir.path());
    common::wait_until("stopped before the doubt", Duration::from_secs(30), || {
        status(&bw)["state"] == "stopped"
    });
    let reason = status(&bw)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("in doubt"), "{reason}");
    let lsn: u64 = reason
        .split("LSN ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no LSN in {reason}"));
    assert_eq!(scalar(&remote, "MATCH (n:Doubt) RETURN count(n)"), Some(0));

    // The operator checked the primary: it committed.
    let out = cli(&bw, &["resolve", "--lsn", &lsn.to_string(), "--committed"]);
    assert!(out.contains("resolved as committed"), "{out}");
    write_load(&bw, 3);
    wait_caught_up(&bw, "caught up after the decision");
    assert_eq!(scalar(&remote, "MATCH (n:Doubt) RETURN count(n)"), Some(1));
    assert_eq!(digest(&At::default_of(&primary)), digest(&remote));
    // The decision is in the journal.
    let rows = common::boltward_ok(&[
        "audit",
        "verify",
        "--journal",
        &dir.path().join("journal").display().to_string(),
    ]);
    assert!(rows.contains("journal intact"), "{rows}");
}

#[test]
fn two_remotes_under_concurrent_load_both_equal_the_primary() {
    let primary = Server::start(&["neo4j", "vps", "backup"]);
    let vps = At {
        addr: primary.addr(),
        db: Some("vps"),
    };
    let backup = At {
        addr: primary.addr(),
        db: Some("backup"),
    };
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        FAST,
        &[("vps", &vps, ""), ("backup", &backup, "mode = \"sync\"")],
    );
    let bw = start_with_config(&primary.addr(), dir.path());
    let remotes = |bw: &Boltward| -> Vec<serde_json::Value> {
        let out = cli(bw, &["status", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["remotes"].as_array().unwrap().clone()
    };
    cli(&bw, &["reseed", "vps"]);
    cli(&bw, &["reseed", "backup"]);
    common::wait_until("both seeded", Duration::from_secs(90), || {
        remotes(&bw)
            .iter()
            .all(|r| r["state"] == "streaming" && r["last_verify"]["equal"] == true)
    });
    // Two writers at once: auto-commit and explicit transactions, order-sensitive updates.
    std::thread::scope(|scope| {
        let a = scope.spawn(|| write_load_on(&bw, 45, "Acc"));
        let b = scope.spawn(|| write_load_on(&bw, 45, "Ledger"));
        a.join().unwrap();
        b.join().unwrap();
    });
    common::wait_until("both caught up", Duration::from_secs(60), || {
        let end = journal_lsn(&bw);
        remotes(&bw).iter().all(|r| is_caught_up(r, end))
    });
    let want = digest(&At::default_of(&primary));
    assert_eq!(digest(&vps), want, "vps");
    assert_eq!(digest(&backup), want, "backup");
    for (name, at) in [("vps", &vps), ("backup", &backup)] {
        assert_eq!(
            scalar(at, "MATCH (e:Event) RETURN count(e)"),
            Some(30),
            "each event exactly once on {name}"
        );
    }
}
