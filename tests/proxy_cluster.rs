//! boltward in front of a cluster (fast tier: scripted servers, no JVM): three scripted
//! members play router, readers and writer; boltward fronts each with a listener of its
//! own (`[[upstream.members]]`) and the Python and JavaScript drivers route over
//! `neo4j://` through it. Reads land on readers, writes on the writer, the leader moving
//! keeps working and keeps journaling, and a routing table naming an address boltward
//! does not front is refused.

mod common;

use boltward_protocol::message::{Pull, Route, Run};
use boltward_protocol::{Map, Request, Response, Value};
use common::scripted::{self, RawClient, Reply, Scripted};
use common::{python, repo, run, Boltward};
use serde_json::Value as Json;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A three-member cluster's shared state: who leads, what each member served.
#[derive(Default)]
struct Cluster {
    addrs: OnceLock<Vec<String>>,
    leader: AtomicUsize,
    /// Writes each member accepted.
    writes: [AtomicUsize; 3],
    /// Reads each member served.
    reads: [AtomicUsize; 3],
    /// Reads the first leader (member 0) was asked to serve while it led. (After the
    /// leader moves, a driver may still read from the new leader until it refreshes its
    /// table: a former follower serves reads too.)
    reads_on_leader: AtomicUsize,
    /// The leader moves from member 0 to member 1 after this many writes (0 = never).
    move_after: usize,
}

fn routing_table(servers: &[(&str, Vec<String>)]) -> Response {
    let servers = servers
        .iter()
        .map(|(role, addrs)| {
            Value::Map(Map::from([
                ("role", Value::from(*role)),
                (
                    "addresses",
                    Value::List(addrs.iter().map(|a| a.as_str().into()).collect()),
                ),
            ]))
        })
        .collect();
    scripted::success(&[(
        "rt",
        Value::Map(Map::from([
            ("ttl", Value::Integer(300)),
            ("db", Value::from("neo4j")),
            ("servers", Value::List(servers)),
        ])),
    )])
}

impl Cluster {
    fn member(self: &Arc<Self>, me: usize) -> Scripted {
        let c = self.clone();
        Scripted::start(Arc::new(move |conn, r| {
            let leader = c.leader.load(Ordering::SeqCst);
            match r {
                Request::Route(_) => {
                    let addrs = c.addrs.get().unwrap();
                    let readers = (0..3).filter(|i| *i != leader).map(|i| addrs[i].clone());
                    Reply::Answer(vec![routing_table(&[
                        ("WRITE", vec![addrs[leader].clone()]),
                        ("READ", readers.collect()),
                        ("ROUTE", addrs.clone()),
                    ])])
                }
                Request::Run(run) if run.query.contains("WRITE") => {
                    if me != leader {
                        return scripted::fail(
                            "Neo.ClientError.Cluster.NotALeader",
                            "No write operations are allowed on this database. This is a read only Neo4j instance.",
                        );
                    }
                    let n = c.writes[me].fetch_add(1, Ordering::SeqCst) + 1;
                    if c.move_after > 0 && me == 0 && n == c.move_after {
                        c.leader.store(1, Ordering::SeqCst);
                    }
                    scripted::single_server(conn, r)
                }
                Request::Run(_) => {
                    c.reads[me].fetch_add(1, Ordering::SeqCst);
                    if me == 0 && leader == 0 {
                        c.reads_on_leader.fetch_add(1, Ordering::SeqCst);
                    }
                    scripted::single_server(conn, r)
                }
                _ => scripted::single_server(conn, r),
            }
        }))
    }
}

/// Three members, and boltward fronting each; the main listener fronts member 0.
fn cluster(move_after: usize) -> (Arc<Cluster>, Vec<Scripted>, Boltward, tempfile::TempDir) {
    let c = Arc::new(Cluster {
        move_after,
        ..Cluster::default()
    });
    let members: Vec<Scripted> = (0..3).map(|i| c.member(i)).collect();
    c.addrs
        .set(members.iter().map(|m| m.addr.clone()).collect())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    let mut text = String::new();
    for m in &members {
        text += &format!(
            "[[upstream.members]]\naddr = \"{}\"\nlisten = \"127.0.0.1:0\"\n\n",
            m.addr
        );
    }
    std::fs::write(&cfg, text).unwrap();
    let bw = Boltward::start(&members[0].addr, &["--config", cfg.to_str().unwrap()], &[]);
    assert_eq!(bw.members.len(), 3, "a listener per member");
    (c, members, bw, dir)
}

fn drive(driver: &str, uri: &str, mode: &str) -> Json {
    let out = match driver {
        "py6" | "py528" => run(Command::new(python(driver))
            .arg(repo().join("tests/drivers/cluster.py"))
            .args([uri, mode])),
        js => run(Command::new("node")
            .arg(repo().join("tests/drivers/cluster.mjs"))
            .args([js, uri, mode])),
    };
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn routes_reads_and_writes(driver: &str) {
    let (c, _members, bw, _dir) = cluster(5);
    let out = drive(driver, &format!("neo4j://{}", bw.addr), "cluster");
    assert_eq!(out["errors"], serde_json::json!([]), "{driver}: {out}");
    assert_eq!(
        (out["writes"].as_u64(), out["reads"].as_u64()),
        (Some(10), Some(10))
    );
    let writes: Vec<usize> = c.writes.iter().map(|w| w.load(Ordering::SeqCst)).collect();
    let reads: Vec<usize> = c.reads.iter().map(|r| r.load(Ordering::SeqCst)).collect();
    eprintln!("{driver}: writes per member {writes:?}, reads per member {reads:?}");
    assert_eq!(
        writes,
        [5, 5, 0],
        "writes on the leader of the moment (member 0, then 1)"
    );
    assert_eq!(
        c.reads_on_leader.load(Ordering::SeqCst),
        0,
        "no read on the writer"
    );
    assert_eq!(reads.iter().sum::<usize>(), 10);
    let committed = boltward::journal::replay::committed(&bw.journal_dir(), None).unwrap();
    assert_eq!(
        committed.len(),
        10,
        "every write journaled, on both leaders"
    );
}

#[test]
fn python_6_routes_through_every_member() {
    routes_reads_and_writes("py6");
}

#[test]
fn python_5_28_routes_through_every_member() {
    routes_reads_and_writes("py528");
}

#[test]
fn javascript_6_routes_through_every_member() {
    routes_reads_and_writes("neo4j-driver-6");
}

#[test]
fn javascript_5_routes_through_every_member() {
    routes_reads_and_writes("neo4j-driver-5");
}

/// Each member's routing table comes back naming boltward's listeners only.
#[test]
fn routing_tables_name_only_boltwards_listeners() {
    let (c, members, bw, _dir) = cluster(0);
    let listeners: Vec<String> = bw.members.iter().map(|m| m.2.clone()).collect();
    for (i, (_, listen, _)) in bw.members.iter().enumerate() {
        assert_eq!(bw.members[i].0, members[i].addr);
        let mut client = RawClient::connect(listen);
        client.send(&[Request::Route(Route {
            routing: Map::from([("address", listen.as_str())]),
            bookmarks: vec![],
            extra: Map::new(),
        })]);
        let Some(Response::Success(s)) = client.recv() else {
            panic!("a routing table")
        };
        let rt = s.routing_table().unwrap();
        let role = |r: &str| {
            rt.servers
                .iter()
                .find(|e| e.role == r)
                .map(|e| e.addresses.clone())
                .unwrap()
        };
        assert_eq!(role("WRITE"), [listeners[0].clone()]);
        assert_eq!(role("READ"), [listeners[1].clone(), listeners[2].clone()]);
        assert_eq!(role("ROUTE"), listeners);
        client.close();
    }
    assert_eq!(c.leader.load(Ordering::SeqCst), 0);
}

/// A routing table naming an address boltward does not front is never handed on: the
/// ROUTE is answered with a FAILURE naming the address and the setting.
#[test]
fn a_routing_table_naming_an_unknown_address_is_refused() {
    let stranger = "10.9.9.9:7687";
    let router = Scripted::start(Arc::new(move |conn, r| match r {
        Request::Route(_) => Reply::Answer(vec![routing_table(&[
            ("WRITE", vec![stranger.into()]),
            ("READ", vec![stranger.into()]),
            ("ROUTE", vec![stranger.into()]),
        ])]),
        _ => scripted::single_server(conn, r),
    }));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[upstream.members]]\naddr = \"{}\"\nlisten = \"127.0.0.1:0\"\n",
            router.addr
        ),
    )
    .unwrap();
    let bw = Boltward::start(&router.addr, &["--config", cfg.to_str().unwrap()], &[]);

    let mut client = RawClient::connect(&bw.addr);
    client.send(&[Request::Route(Route {
        routing: Map::from([("address", bw.addr.as_str())]),
        bookmarks: vec![],
        extra: Map::new(),
    })]);
    let Some(Response::Failure(f)) = client.recv() else {
        panic!("ROUTE refused")
    };
    let message = f.message().unwrap_or("");
    assert_eq!(f.code(), Some("Neo.ClientError.Security.Forbidden"));
    assert!(
        message.contains(stranger) && message.contains("upstream.unknown_members"),
        "{message}"
    );
    // Ignored until RESET, then usable.
    client.send(&[
        Request::Run(Run::new("RETURN 1")),
        Request::Pull(Pull::new(-1)),
    ]);
    assert!(matches!(client.recv(), Some(Response::Ignored)));
    assert!(matches!(client.recv(), Some(Response::Ignored)));
    client.send(&[Request::Reset]);
    assert!(matches!(client.recv(), Some(Response::Success(_))));
    client.close();

    for driver in ["py6", "neo4j-driver-6"] {
        let out = drive(driver, &format!("neo4j://{}", bw.addr), "connect");
        assert_eq!(out["reads"], 0, "{driver}: nothing ran: {out}");
        let error = out["errors"][0].to_string();
        assert!(
            error.contains("upstream.unknown_members"),
            "{driver}: the driver reports boltward's reason: {out}"
        );
    }
    let refused = bw
        .metrics()
        .lines()
        .find_map(|l| {
            l.strip_prefix("boltward_refusals_total{rule=\"routing:unknown-member\"} ")?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0);
    assert!(refused >= 3.0, "every refusal counted ({refused})");
}
