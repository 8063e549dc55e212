//! Connection lifecycle, in the fast tier (a scripted server, a raw client, no JVM): at
//! every protocol state, a close, reset or hang-up on either side closes or answers the
//! other side at once, and nothing is left open behind it.
//!
//! "At once" means well before any of boltward's timeouts (idle 300 s by default, no
//! answer timeout at all): each check waits on the condition for at most 10 s and fails
//! otherwise. Every scenario ends with the connections open on both sides counted: the
//! scripted server's and boltward's `boltward_connections_active`, both 0.

mod common;

use boltward_protocol::message::{Begin, Pull, Route, Run};
use boltward_protocol::{Map, Request, Response, Value};
use common::scripted::{self, RawClient, Reply, Scripted};
use common::{metric_value, Boltward};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const AT_ONCE: Duration = Duration::from_secs(10);

/// Where a connection is when something happens.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The client sent its handshake; nothing else.
    Handshake,
    /// HELLO and LOGON answered.
    Authenticated,
    /// A query ran to the end.
    Idle,
    /// A result is open (`has_more`).
    Streaming,
    /// Inside a transaction.
    InTransaction,
    /// The server answered FAILURE (and IGNORED); no RESET yet.
    AfterFailure,
    /// A routing table was fetched.
    AfterRoute,
}

const ALL: [At; 7] = [
    At::Handshake,
    At::Authenticated,
    At::Idle,
    At::Streaming,
    At::InTransaction,
    At::AfterFailure,
    At::AfterRoute,
];

fn run(q: &str) -> Request {
    Request::Run(Run::new(q))
}

/// A fresh connection through boltward, brought to `at`.
fn reach(addr: &str, at: At) -> RawClient {
    if let At::Handshake = at {
        return RawClient::open(addr);
    }
    let mut c = RawClient::connect(addr);
    let expect = |c: &mut RawClient, n: usize| {
        for _ in 0..n {
            assert!(c.recv().is_some(), "{at:?}: an answer");
        }
    };
    match at {
        At::Handshake | At::Authenticated => {}
        At::Idle => {
            c.send(&[run("RETURN 1"), Request::Pull(Pull::new(-1))]);
            expect(&mut c, 3);
        }
        At::Streaming => {
            c.send(&[run("RETURN 1"), Request::Pull(Pull::new(1))]);
            expect(&mut c, 3);
        }
        At::InTransaction => {
            c.send(&[
                Request::Begin(Begin::default()),
                run("RETURN 1"),
                Request::Pull(Pull::new(-1)),
            ]);
            expect(&mut c, 4);
        }
        At::AfterFailure => {
            c.send(&[run("FAIL"), Request::Pull(Pull::new(-1))]);
            assert!(matches!(c.recv(), Some(Response::Failure(_))));
            assert!(matches!(c.recv(), Some(Response::Ignored)));
        }
        At::AfterRoute => {
            c.send(&[Request::Route(Route {
                routing: Map::from([("address", addr)]),
                bookmarks: vec![],
                extra: Map::new(),
            })]);
            assert!(
                matches!(c.recv(), Some(Response::Success(_))),
                "{at:?}: a routing table"
            );
        }
    }
    c
}

/// A scripted single server whose routing table names itself.
fn server() -> Scripted {
    let me: Arc<OnceLock<String>> = Arc::default();
    let addr = me.clone();
    let s = Scripted::start(Arc::new(move |conn, r| match r {
        Request::Route(_) => {
            let a = addr.get().cloned().unwrap_or_default();
            let servers = ["WRITE", "READ", "ROUTE"]
                .iter()
                .map(|role| {
                    Value::Map(Map::from([
                        ("role", Value::from(*role)),
                        ("addresses", Value::List(vec![a.as_str().into()])),
                    ]))
                })
                .collect();
            Reply::Answer(vec![scripted::success(&[(
                "rt",
                Value::Map(Map::from([
                    ("ttl", Value::Integer(300)),
                    ("db", Value::from("neo4j")),
                    ("servers", Value::List(servers)),
                ])),
            )])])
        }
        _ => scripted::single_server(conn, r),
    }));
    me.set(s.addr.clone()).unwrap();
    s
}

/// Both sides hold no connection any more.
fn nothing_left_open(s: &Scripted, bw: &Boltward, at: At, event: &str) {
    assert!(
        common::within(AT_ONCE, || s.open() == 0),
        "{event} at {at:?}: boltward left {} upstream connection(s) open",
        s.open()
    );
    assert!(
        common::within(AT_ONCE, || metric_value(
            &bw.metrics(),
            "boltward_connections_active"
        ) == 0.0),
        "{event} at {at:?}: boltward still counts client connections"
    );
    eprintln!("{event} at {at:?}: upstream open 0, boltward active 0");
}

/// The client hangs up: boltward closes its upstream connection at once.
#[test]
fn a_client_hang_up_closes_the_upstream_connection() {
    let s = server();
    let bw = Boltward::start(&s.addr, &[], &[]);
    for at in ALL {
        let c = reach(&bw.addr, at);
        assert!(
            common::within(AT_ONCE, || s.open() == 1),
            "{at:?}: boltward connected upstream"
        );
        c.close();
        nothing_left_open(&s, &bw, at, "client hang-up");
    }
}

/// The server goes away: boltward closes the client's connection at once.
#[test]
fn a_server_hang_up_closes_the_client_connection() {
    let s = server();
    let bw = Boltward::start(&s.addr, &[], &[]);
    for at in ALL {
        let mut c = reach(&bw.addr, at);
        assert!(common::within(AT_ONCE, || s.open() == 1));
        s.close_all();
        assert!(
            c.closed_within(AT_ONCE),
            "server hang-up at {at:?}: the client's connection stays open"
        );
        nothing_left_open(&s, &bw, at, "server hang-up");
    }
}

/// RESET is answered at every state after authentication, and the connection is usable.
#[test]
fn reset_is_answered_in_every_state() {
    let s = server();
    let bw = Boltward::start(&s.addr, &[], &[]);
    for at in ALL.into_iter().skip(1) {
        let mut c = reach(&bw.addr, at);
        c.send(&[Request::Reset]);
        assert!(
            matches!(c.recv(), Some(Response::Success(_))),
            "RESET at {at:?}"
        );
        c.send(&[run("RETURN 1"), Request::Pull(Pull::new(-1))]);
        assert!(matches!(c.recv(), Some(Response::Success(_))), "{at:?}");
        c.close();
        nothing_left_open(&s, &bw, at, "reset");
    }
}

/// The server stops answering (but keeps the connection), the client gives up and hangs
/// up: boltward must not keep the silent upstream connection open — whatever it was
/// waiting for (an answer, a COMMIT's turn, an auto-commit write's summary).
#[test]
fn a_client_leaving_a_silent_server_closes_the_upstream_connection() {
    let s = server();
    let bw = Boltward::start(&s.addr, &[], &[]);
    let waits: [(&str, Vec<Request>); 4] = [
        (
            "a query",
            vec![run("RETURN 1"), Request::Pull(Pull::new(-1))],
        ),
        (
            "a COMMIT",
            vec![Request::Begin(Begin::default()), Request::Commit],
        ),
        (
            "an auto-commit write",
            vec![
                run("CREATE (n) RETURN 1 AS WRITE"),
                Request::Pull(Pull::new(-1)),
            ],
        ),
        (
            "a transaction's write and COMMIT",
            vec![
                Request::Begin(Begin::default()),
                run("CREATE (n) RETURN 1 AS WRITE"),
                Request::Pull(Pull::new(-1)),
                Request::Commit,
            ],
        ),
    ];
    for (what, requests) in waits {
        let mut c = reach(&bw.addr, At::Idle);
        s.hang(true);
        let before = s.requests().len();
        c.send(&requests);
        // What boltward forwarded reached the server (and was not answered).
        assert!(
            common::within(AT_ONCE, || s.requests().len() > before),
            "{what}: forwarded"
        );
        c.close();
        nothing_left_open(
            &s,
            &bw,
            At::Idle,
            &format!("client leaving a silent server during {what}"),
        );
        s.hang(false);
    }
}

/// A request the client sends while boltward is still forwarding the previous ones to a
/// server that does not read is answered once the server reads again: it is not left in
/// boltward's buffer until the client sends something else.
#[test]
fn a_request_sent_while_boltward_forwards_is_not_forgotten() {
    let s = server();
    let bw = Boltward::start(&s.addr, &[], &[]);
    let mut c = RawClient::connect(&bw.addr);
    let bytes_in = || metric_value(&bw.metrics(), "boltward_bytes_in_total");
    s.pause_reading(true);
    // Larger than what the sockets between boltward and the server hold.
    let mut big = Run::new("RETURN $x AS x");
    big.parameters.insert("x", "x".repeat(32 << 20));
    let before = bytes_in();
    c.send(&[Request::Run(big), Request::Pull(Pull::new(-1))]);
    assert!(
        common::within(AT_ONCE * 3, || bytes_in() >= before + (32 << 20) as f64),
        "boltward read the large request"
    );
    let before = bytes_in();
    c.send(&[Request::Reset]);
    assert!(
        common::within(AT_ONCE, || bytes_in() > before),
        "boltward read the RESET while it was forwarding"
    );
    s.pause_reading(false);
    assert!(matches!(c.recv(), Some(Response::Success(_))), "RUN");
    assert!(matches!(c.recv(), Some(Response::Record(_))), "RECORD");
    assert!(matches!(c.recv(), Some(Response::Success(_))), "PULL");
    assert!(
        matches!(c.recv(), Some(Response::Success(_))),
        "the RESET sent meanwhile is answered"
    );
    c.close();
    nothing_left_open(&s, &bw, At::Idle, "request during a forward");
}
