//! The proxy at the wire level, against a real ArcadeDB server: bad input of every kind
//! (each closes only its own connection, with a logged reason), limits, graceful shutdown,
//! backpressure, credentials never logged, and boltward's own lossless client.

mod common;

use boltward::upstream::{BoltClient, ClientError, Connector};
use boltward_protocol::chunk::{write_chunked, ChunkDecoder, Frame};
use boltward_protocol::handshake::{ClientHello, Proposal, VersionRange};
use boltward_protocol::message::{Hello, Logon, Pull, Run};
use boltward_protocol::packstream::{self, structs::*};
use boltward_protocol::{Dialect, Map, Request, Response, Value, Version};
use bytes::BytesMut;
use common::{shared_server, Boltward, PASSWORD};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PY_OPENING: [u8; 20] = [
    0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 0xFF, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 3,
];

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn client(addr: &str) -> Result<BoltClient, ClientError> {
    BoltClient::connect(
        &Connector::plain(addr, Duration::from_secs(5)),
        "root",
        PASSWORD,
        "boltward-tests/1.0",
    )
    .await
}

/// A good client still gets served.
fn assert_serving(addr: &str) {
    rt().block_on(async {
        let mut c = client(addr).await.expect("a good client connects");
        let r = c
            .query(
                "RETURN 41 + 1 AS x",
                Map::new(),
                Map::from([("db", "neo4j")]),
            )
            .await
            .unwrap();
        assert_eq!(r.records, vec![vec![Value::Integer(42)]]);
    });
}

/// A blocking raw Bolt client for hostile input.
struct Raw {
    s: TcpStream,
    buf: BytesMut,
    dec: ChunkDecoder,
}

impl Raw {
    fn connect(addr: &str) -> Raw {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Raw {
            s,
            buf: BytesMut::new(),
            dec: ChunkDecoder::default(),
        }
    }

    /// Handshake plus HELLO/LOGON as the Python driver does; returns the version.
    fn login(addr: &str) -> (Raw, Version) {
        let mut r = Raw::connect(addr);
        r.s.write_all(&PY_OPENING).unwrap();
        let mut reply = [0u8; 4];
        r.s.read_exact(&mut reply).unwrap();
        let v = Version::new(reply[3], reply[2]);
        assert!(v.major >= 5, "ArcadeDB negotiates 5.x: {reply:?}");
        r.send(
            &Request::Hello(Hello {
                extra: Map::from([("user_agent", "raw/1.0")]),
            }),
            v,
        );
        r.send(
            &Request::Logon(Logon {
                auth: Map::from([
                    ("scheme", "basic"),
                    ("principal", "root"),
                    ("credentials", PASSWORD),
                ]),
            }),
            v,
        );
        assert!(matches!(r.recv(v), Some(Response::Success(_))));
        assert!(matches!(r.recv(v), Some(Response::Success(_))));
        (r, v)
    }

    fn send(&mut self, req: &Request, v: Version) {
        self.s.write_all(&req.to_wire(v).unwrap()).unwrap();
    }

    /// Next response, or `None` once the connection is closed.
    fn recv(&mut self, v: Version) -> Option<Response> {
        loop {
            if let Some(Frame::Message(m)) = self.dec.decode(&mut self.buf).unwrap() {
                return Some(Response::decode(&m.body(), Dialect::new(v)).unwrap());
            }
            let mut tmp = [0u8; 65536];
            match self.s.read(&mut tmp) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// True once the peer has closed (EOF or reset) without sending more bytes.
    fn closed_silently(&mut self) -> bool {
        let mut tmp = [0u8; 64];
        matches!(self.s.read(&mut tmp), Ok(0) | Err(_))
    }
}

fn boltward(env: &[(&str, &str)]) -> Boltward {
    Boltward::start(&shared_server().addr(), &[], env)
}

/// Waits until boltward has accepted `total` connections and ended every one of them. A
/// connection logs why it closed before it stops counting as active, so its log lines
/// are all written once this returns.
fn wait_connections_ended(bw: &Boltward, total: u64) {
    common::wait_until(
        &format!("boltward has accepted {total} connection(s) and ended them all"),
        Duration::from_secs(30),
        || {
            let m = bw.metrics();
            common::metric_value(&m, "boltward_connections_total") == total as f64
                && common::metric_value(&m, "boltward_connections_active") == 0.0
        },
    );
}

/// Asserts that boltward's log explains why it closed a connection. Call it only once
/// the connection has ended ([`wait_connections_ended`]): the explanation is logged
/// before that, so this does not race the log.
fn assert_logged(bw: &Boltward, reason: &str) {
    let logs = bw.logs();
    assert!(
        logs.contains(reason),
        "{reason:?} is not in the log:\n{logs}"
    );
}

/// A labelled metric's value, `series` being its name and labels as exposed (0 when
/// absent).
fn series_value(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[test]
fn wrong_magic_is_closed_and_logged() {
    let bw = boltward(&[]);
    let mut r = Raw::connect(&bw.addr);
    r.s.write_all(&[1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    assert!(r.closed_silently());
    // No metric tells a bad magic apart: the log is its only explanation.
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "bad magic");
    assert_serving(&bw.addr);
}

#[test]
fn http_on_the_bolt_port_is_explained() {
    let bw = boltward(&[]);
    let mut r = Raw::connect(&bw.addr);
    r.s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    assert!(r.closed_silently());
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "HTTP request on the Bolt port");
    assert_serving(&bw.addr);
}

#[test]
fn only_unsupported_versions_get_zero_reply() {
    let bw = boltward(&[]);
    let mut r = Raw::connect(&bw.addr);
    // neo4rs 0.8.0: 4.1 and 4.0 only
    r.s.write_all(&[
        0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
    ])
    .unwrap();
    let mut reply = [9u8; 4];
    r.s.read_exact(&mut reply).unwrap();
    assert_eq!(reply, [0, 0, 0, 0]);
    assert!(r.closed_silently());
}

#[test]
fn narrowed_handshake_reaches_a_version_boltward_parses() {
    let bw = boltward(&[]);
    let mut r = Raw::connect(&bw.addr);
    let opening = ClientHello {
        proposals: [
            Proposal::Range(VersionRange {
                major: 6,
                minor: 1,
                range: 1,
            }),
            Proposal::Range(VersionRange {
                major: 5,
                minor: 5,
                range: 1,
            }),
            Proposal::Empty,
            Proposal::Empty,
        ],
    };
    r.s.write_all(&opening.to_bytes()).unwrap();
    let mut reply = [0u8; 4];
    r.s.read_exact(&mut reply).unwrap();
    // 6.1 and 5.5 are not parsed: narrowed to 6.0 and 5.4; ArcadeDB speaks 5.4.
    assert_eq!(reply, [0, 0, 4, 5]);
}

#[test]
fn truncated_chunk_then_eof_closes_cleanly() {
    let bw = boltward(&[]);
    let (mut r, _) = Raw::login(&bw.addr);
    r.s.write_all(&[0x00, 0x64, 0xB3, 0x10, 0x85]).unwrap(); // announces 100 bytes, sends 3
    r.s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(r.closed_silently());
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "client closed the connection");
    assert_serving(&bw.addr);
}

#[test]
fn oversized_message_gets_failure_and_close() {
    let bw = boltward(&[("BOLTWARD_LIMITS_MAX_MESSAGE_SIZE", "4096")]);
    let (mut r, v) = Raw::login(&bw.addr);
    let mut run = Run::new("RETURN $p");
    run.parameters.insert("p", "x".repeat(10_000));
    run.extra.insert("db", "neo4j");
    r.send(&Request::Run(run), v);
    match r.recv(v) {
        Some(Response::Failure(f)) => {
            assert_eq!(f.code(), Some("Neo.ClientError.Request.Invalid"));
            assert!(
                f.message().unwrap().contains("maximum message size"),
                "{:?}",
                f.message()
            );
        }
        other => panic!("expected FAILURE, got {other:?}"),
    }
    assert!(r.recv(v).is_none(), "connection closes after the FAILURE");
    assert_serving(&bw.addr);
}

#[test]
fn malformed_packstream_from_client_gets_failure_and_close() {
    let bw = boltward(&[]);
    let (mut r, v) = Raw::login(&bw.addr);
    let mut wire = BytesMut::new();
    write_chunked(&[0xB3, 0x10, 0x81, b'x', 0xC4, 0xA0], 100, &mut wire); // reserved marker C4
    r.s.write_all(&wire).unwrap();
    match r.recv(v) {
        Some(Response::Failure(f)) => assert!(
            f.message().unwrap().contains("invalid marker"),
            "{:?}",
            f.message()
        ),
        other => panic!("expected FAILURE, got {other:?}"),
    }
    assert!(r.recv(v).is_none());
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "invalid request from client");
    assert_serving(&bw.addr);
}

#[test]
fn garbage_from_the_server_closes_that_connection_only() {
    use std::net::TcpListener;
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let fake_addr = fake.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for (i, conn) in fake.incoming().enumerate() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || {
                let mut opening = [0u8; 20];
                if s.read_exact(&mut opening).is_err() {
                    return;
                }
                s.write_all(&[0, 0, 4, 5]).unwrap();
                if i == 0 {
                    // a chunk holding a structure with a request tag: not a response
                    s.write_all(&[0x00, 0x02, 0xB0, 0x10, 0x00, 0x00]).unwrap();
                }
                // Keep the connection open until boltward closes it: a close the client
                // sees is boltward's doing, never this server's.
                let mut sink = [0u8; 1024];
                while let Ok(1..) = s.read(&mut sink) {}
            });
        }
    });
    let bw = Boltward::start(&fake_addr, &[], &[]);
    let mut r = Raw::connect(&bw.addr);
    r.s.write_all(&PY_OPENING).unwrap();
    let mut reply = [0u8; 4];
    r.s.read_exact(&mut reply).unwrap();
    assert_eq!(reply, [0, 0, 4, 5]);
    assert!(r.closed_silently(), "the client sees the connection close");
    // boltward_upstream_errors_total counts failures to connect only: the log is the
    // only explanation of a bad response.
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "upstream sent an invalid response");
    // the next connection is served (handshake relayed) by the same process
    let mut r2 = Raw::connect(&bw.addr);
    r2.s.write_all(&PY_OPENING).unwrap();
    r2.s.read_exact(&mut reply).unwrap();
    assert_eq!(reply, [0, 0, 4, 5]);
}

#[test]
fn max_connections_refuses_the_extra_one() {
    let bw = boltward(&[("BOLTWARD_LIMITS_MAX_CONNECTIONS", "2")]);
    rt().block_on(async {
        let a = client(&bw.addr).await.unwrap();
        let _b = client(&bw.addr).await.unwrap();
        assert!(
            client(&bw.addr).await.is_err(),
            "third connection is refused"
        );
        common::wait_until(
            "boltward has counted the refused connection",
            Duration::from_secs(30),
            || series_value(&bw.metrics(), REFUSED) == 1.0,
        );
        a.close().await.unwrap();
        common::wait_until(
            "boltward has ended the closed connection",
            Duration::from_secs(30),
            || common::metric_value(&bw.metrics(), "boltward_connections_active") == 1.0,
        );
        client(&bw.addr)
            .await
            .expect("a freed slot is usable again");
    });
    let m = bw.metrics();
    assert_eq!(series_value(&m, REFUSED), 1.0, "only the third was refused");
    assert_eq!(
        common::metric_value(&m, "boltward_connections_total"),
        4.0,
        "{m}"
    );
    // The refusal is logged before the refused connection is dropped, and boltward
    // accepted the later connection only after that: the explanation is in the log.
    assert_logged(&bw, "limits.max_connections reached");
}

const REFUSED: &str = "boltward_connections_refused_total{reason=\"max_connections\"}";

#[test]
fn handshake_timeout_closes_silent_clients() {
    let bw = boltward(&[("BOLTWARD_LIMITS_HANDSHAKE_TIMEOUT_MS", "300")]);
    let mut r = Raw::connect(&bw.addr);
    assert!(r.closed_silently());
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "did not complete the Bolt handshake");
}

#[test]
fn idle_timeout_closes_quiet_connections() {
    let bw = boltward(&[("BOLTWARD_LIMITS_IDLE_TIMEOUT_SECS", "1")]);
    let (mut r, v) = Raw::login(&bw.addr);
    assert!(r.recv(v).is_none(), "closed after the idle timeout");
    wait_connections_ended(&bw, 1);
    assert_logged(&bw, "closing idle connection");
}

#[test]
fn graceful_shutdown_lets_a_transaction_finish() {
    let mut bw = boltward(&[("BOLTWARD_LIMITS_SHUTDOWN_GRACE_SECS", "20")]);
    rt().block_on(async {
        let mut busy = client(&bw.addr).await.unwrap();
        let mut idle = client(&bw.addr).await.unwrap();
        let db = Map::from([("db", "neo4j")]);
        busy.begin(db.clone()).await.unwrap();
        busy.query("CREATE (:Shutdown {k: 1})", Map::new(), Map::new())
            .await
            .unwrap();
        bw.signal("TERM");
        // Idle connections are closed at once and new ones are not accepted: wait for
        // those conditions themselves (the log line may come before the closes land).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while idle.query("RETURN 1", Map::new(), db.clone()).await.is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "the idle connection is still served 10 s after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while client(&bw.addr).await.is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "new connections are still accepted 10 s after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // the open transaction still commits, then its connection closes
        busy.query("RETURN 1", Map::new(), Map::new())
            .await
            .unwrap();
        busy.commit()
            .await
            .expect("in-flight transaction commits during shutdown");
    });
    let status = bw
        .wait_exit(Duration::from_secs(15))
        .expect("boltward exits after draining");
    assert!(status.success());
    assert!(bw.logs().contains("shutdown complete"));
    rt().block_on(async {
        let mut c = client(&shared_server().addr()).await.unwrap();
        let r = c
            .query(
                "MATCH (n:Shutdown) RETURN count(n)",
                Map::new(),
                Map::from([("db", "neo4j")]),
            )
            .await
            .unwrap();
        assert!(matches!(r.records[0][0], Value::Integer(n) if n >= 1));
    });
}

/// A TCP forwarder to `target` that counts the bytes the server sent through it.
fn counting_forwarder(target: &str) -> (String, Arc<AtomicU64>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let from_server = Arc::new(AtomicU64::new(0));
    let (target, counter) = (target.to_owned(), from_server.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = TcpStream::connect(&target) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(std::net::Shutdown::Write);
            });
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n @ 1..) = server.read(&mut buf) {
                    if client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                }
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, from_server)
}

#[test]
fn slow_reader_does_not_make_boltward_buffer_the_result() {
    // The server's bytes are counted on their way to boltward.
    let (upstream, from_server) = counting_forwarder(&shared_server().addr());
    let bw = Boltward::start(&upstream, &[], &[]);
    let (mut r, v) = Raw::login(&bw.addr);
    let mut run = Run::new(
        "UNWIND range(1, 600000) AS i RETURN i, 'padding padding padding padding padding' AS s",
    );
    run.extra.insert("db", "neo4j");
    r.send(&Request::Run(run), v);
    r.send(&Request::Pull(Pull::new(-1)), v);
    // Do not read: the server has ~40 MB of records to send. Wait until records reach
    // this client and the server has stopped sending, because it is held back or because
    // boltward took everything (the bug this test is for): either way boltward now holds
    // all it ever will.
    let mut peek = vec![0u8; 32 * 1024];
    common::wait_until(
        "32 KiB of the result wait unread at the client",
        Duration::from_secs(60),
        || r.s.peek(&mut peek).unwrap() >= peek.len(),
    );
    let (mut last, mut since) = (from_server.load(Ordering::Relaxed), Instant::now());
    common::wait_until(
        "the server has sent nothing more for 1 s",
        Duration::from_secs(120),
        || {
            let now = from_server.load(Ordering::Relaxed);
            if now != last {
                (last, since) = (now, Instant::now());
            }
            since.elapsed() >= Duration::from_secs(1)
        },
    );
    let rss_kib = std::fs::read_to_string(format!("/proc/{}/status", bw.pid()))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().unwrap())
        })
        .unwrap();
    assert!(
        rss_kib < 32 * 1024,
        "boltward RSS {rss_kib} KiB while the client is not reading ({last} bytes came from the server)"
    );
    eprintln!("slow reader: boltward RSS {rss_kib} KiB, {last} bytes came from the server");
    let mut records = 0;
    loop {
        match r.recv(v).expect("stream continues") {
            Response::Record(_) => records += 1,
            Response::Success(s) if s.fields().is_some() => {}
            Response::Success(_) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(records, 600_000);
}

#[test]
fn credentials_never_reach_the_log() {
    let bw = Boltward::start(&shared_server().addr(), &[], &[]);
    let (mut r, v) = Raw::login(&bw.addr);
    r.send(&Request::Goodbye, v);
    // a failed login too
    rt().block_on(async {
        let err = BoltClient::connect(
            &Connector::plain(bw.addr.as_str(), Duration::from_secs(5)),
            "root",
            "wrong-secret-pw",
            "t",
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("Unauthorized") || err.code().is_some(),
            "{err}"
        );
    });
    // Both sessions have logged all they will once boltward has ended them.
    common::wait_until(
        "boltward has ended both connections",
        Duration::from_secs(30),
        || {
            let m = bw.metrics();
            common::metric_value(&m, "boltward_connections_total") == 2.0
                && common::metric_value(&m, "boltward_connections_active") == 0.0
        },
    );
    let logs = bw.logs();
    assert!(
        logs.contains("principal"),
        "the principal is logged: {logs}"
    );
    assert!(
        !logs.contains(PASSWORD) && !logs.contains("wrong-secret-pw"),
        "credentials leaked into the log"
    );
}

/// Every value type goes through boltward's own client and boltward byte-for-byte as it
/// goes directly: parameters and results stay PackStream.
#[test]
fn own_client_is_lossless_through_the_proxy() {
    let bw = boltward(&[]);
    let values: Vec<(&str, Value)> = vec![
        ("int_max", Value::Integer(i64::MAX)),
        ("int_min", Value::Integer(i64::MIN)),
        ("nan", Value::Float(f64::NAN)),
        ("inf", Value::Float(f64::INFINITY)),
        ("bytes", Value::Bytes(vec![0, 1, 254, 255])),
        ("unicode", Value::from("é€😀")),
        ("list", Value::List(vec![1.into(), "a".into(), Value::Null])),
        ("map", Value::Map(Map::from([("a", 1)]))),
        ("date", Value::Date(Date { days: 19724 })),
        (
            "time",
            Value::Time(Time {
                nanoseconds: 3_600_000_000_123,
                tz_offset_seconds: 3600,
            }),
        ),
        ("local_time", Value::LocalTime(LocalTime { nanoseconds: 1 })),
        (
            "datetime",
            Value::DateTime(DateTime {
                seconds: 1_704_164_645,
                nanoseconds: 5,
                tz_offset_seconds: -7200,
            }),
        ),
        (
            "datetime_zone",
            Value::DateTimeZoneId(Box::new(DateTimeZoneId {
                seconds: 1_704_164_645,
                nanoseconds: 0,
                tz_id: "Europe/Berlin".into(),
            })),
        ),
        (
            "local_datetime",
            Value::LocalDateTime(LocalDateTime {
                seconds: 1_704_164_645,
                nanoseconds: 9,
            }),
        ),
        (
            "duration",
            Value::Duration(Box::new(Duration2 {
                months: 14,
                days: 3,
                seconds: 7,
                nanoseconds: 11,
            })),
        ),
        (
            "point2d",
            Value::Point2D(Point2D {
                srid: 7203,
                x: 1.5,
                y: -2.0,
            }),
        ),
        (
            "point3d",
            Value::Point3D(Box::new(Point3D {
                srid: 9157,
                x: 1.0,
                y: 2.0,
                z: 3.0,
            })),
        ),
    ];
    rt().block_on(async {
        let mut direct = client(&shared_server().addr()).await.unwrap();
        let mut proxied = client(&bw.addr).await.unwrap();
        let db = Map::from([("db", "neo4j")]);
        let mut compared = 0;
        for (name, v) in &values {
            let params = Map::from([("v", v.clone())]);
            let a = direct
                .query("RETURN $v AS v", params.clone(), db.clone())
                .await;
            let b = proxied.query("RETURN $v AS v", params, db.clone()).await;
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    let enc = |r: &boltward::upstream::QueryResult| {
                        packstream::to_vec(&Value::List(r.records[0].clone())).unwrap()
                    };
                    assert_eq!(enc(&a), enc(&b), "{name}: different bytes through boltward");
                    compared += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "{name}: different errors"),
                (a, b) => panic!("{name}: direct {a:?} vs proxied {b:?}"),
            }
        }
        assert!(compared >= 10, "only {compared} value types round-tripped");
    });
}

type Duration2 = boltward_protocol::packstream::structs::Duration;
