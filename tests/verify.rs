//! EXPLAIN verification: statements the classifier cannot decide (procedures off the
//! known-read list) are planned by the server on boltward's own connection, and the
//! server's query type decides; answers are cached.
//!
//! ArcadeDB's EXPLAIN reports `w` for everything, so the upstream here is a small scripted
//! server whose EXPLAIN says `r` for `custom.read` and `w` for `custom.write`.

mod common;

use boltward_protocol::chunk::{ChunkDecoder, Frame};
use boltward_protocol::message::{Record, Success};
use boltward_protocol::{Dialect, Map, Request, Response, Value, Version};
use bytes::BytesMut;
use common::{script, statements, Boltward};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn serve(mut s: TcpStream, explains: Arc<AtomicUsize>) {
    let mut opening = [0u8; 20];
    if s.read_exact(&mut opening).is_err() {
        return;
    }
    let v = Version::V5_4;
    s.write_all(&[0, 0, 4, 5]).unwrap();
    let (mut buf, mut dec, mut tmp) = (BytesMut::new(), ChunkDecoder::default(), [0u8; 8192]);
    let mut last_type = "r";
    let send = |s: &mut TcpStream, r: Response| s.write_all(&r.to_wire().unwrap()).unwrap();
    loop {
        while let Some(f) = dec.decode(&mut buf).unwrap() {
            let Frame::Message(m) = f else { continue };
            match Request::decode(&m.body(), Dialect::new(v)).unwrap() {
                Request::Run(r) => {
                    let explain = r.query.starts_with("EXPLAIN ");
                    if explain {
                        explains.fetch_add(1, Ordering::SeqCst);
                    }
                    // "sneaky" marks a statement that looks like a read but writes.
                    last_type = if r.query.contains("custom.write") || r.query.contains("sneaky") {
                        "w"
                    } else {
                        "r"
                    };
                    let fields = if explain {
                        vec![]
                    } else {
                        vec![Value::from("x")]
                    };
                    send(
                        &mut s,
                        Response::Success(Success::new(Map::from([(
                            "fields",
                            Value::List(fields),
                        )]))),
                    );
                }
                Request::Pull(_) => {
                    send(
                        &mut s,
                        Response::Record(Record {
                            fields: vec![Value::Integer(1)],
                        }),
                    );
                    send(
                        &mut s,
                        Response::Success(Success::new(Map::from([("type", last_type)]))),
                    );
                }
                Request::Goodbye => return,
                _ => send(&mut s, Response::Success(Success::default())),
            }
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

fn stub() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let explains = Arc::new(AtomicUsize::new(0));
    let e = explains.clone();
    std::thread::spawn(move || {
        for c in l.incoming().take(64) {
            let Ok(c) = c else { return };
            let e = e.clone();
            std::thread::spawn(move || serve(c, e));
        }
    });
    (addr, explains)
}

const POLICY: &str = "[policy]\ndefault = \"deny\"\n[[policy.rules]]\nname = \"readers\"\nactors = { principals = [\"reader\"] }\nallow = [\"read\"]\n[[policy.rules]]\nname = \"writers\"\nactors = { principals = [\"writer\"] }\nallow = [\"read\", \"write\"]\n";

/// Two reads and a write procedure, called by `reader` through `bw`: "allowed" or the
/// last part of the error's code, for each.
fn calls(bw: &Boltward) -> Vec<String> {
    let uri = format!("bolt://{}", bw.addr);
    let args = [
        "--uri",
        &uri,
        "--user",
        "reader",
        "--password",
        "pw",
        "--db",
        "neo4j",
    ];
    let calls = [
        "CALL custom.read()",
        "CALL custom.read()",
        "CALL custom.write()",
    ];
    statements("py6", &args, &calls)
        .iter()
        .map(|a| common::outcome(a).rsplit('.').next().unwrap().to_owned())
        .collect()
}

fn start(verify: bool) -> (Boltward, Arc<AtomicUsize>, tempfile::TempDir) {
    start_with(verify, POLICY)
}

fn start_with(verify: bool, policy: &str) -> (Boltward, Arc<AtomicUsize>, tempfile::TempDir) {
    let (addr, explains) = stub();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    let mut text = policy.to_owned();
    if verify {
        text = format!("[verify]\nenabled = true\nuser = \"boltward\"\n\n{text}");
    }
    std::fs::write(&cfg, text).unwrap();
    let bw = Boltward::start(
        &addr,
        &["--config", cfg.to_str().unwrap()],
        &[("BOLTWARD_VERIFY_PASSWORD", "secret")],
    );
    (bw, explains, dir)
}

#[test]
fn the_server_decides_what_the_lexer_cannot() {
    let (bw, explains, _dir) = start(true);
    assert_eq!(calls(&bw), vec!["allowed", "allowed", "Forbidden"]);
    assert_eq!(
        explains.load(Ordering::SeqCst),
        2,
        "custom.read planned once (then cached), custom.write once"
    );
    assert!(bw.logs().contains("EXPLAIN verification (cached)"));
    assert!(
        !bw.logs().contains("secret"),
        "the verification password is never logged"
    );
}

#[test]
fn without_verification_procedures_stay_pessimistic() {
    let (bw, explains, _dir) = start(false);
    assert_eq!(calls(&bw), vec!["Forbidden", "Forbidden", "Forbidden"]);
    assert_eq!(explains.load(Ordering::SeqCst), 0);
}

/// A statement classified read that the server reports as a write: logged, and inside an
/// explicit transaction its COMMIT becomes a ROLLBACK.
#[test]
fn predicted_read_that_wrote_is_rolled_back() {
    let (bw, _explains, _dir) = start(false);
    let (out, _, _) = predicted_read_guard(&bw, "reader");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Neo.ClientError.Security.Forbidden"),
        "{out}\n{}",
        bw.logs()
    );
    assert!(lines[0].contains("guard:predicted-read"), "{out}");
    assert_eq!(lines[1], "1", "the session is usable afterwards");
    assert!(bw
        .logs()
        .contains("statement classified read was reported as a write by the server"));
    let rolled_back = common::metric_value(
        &bw.metrics(),
        "boltward_commits_rolled_back_total{rule=\"guard:predicted-read\"}",
    );
    assert_eq!(
        rolled_back, 1.0,
        "the COMMIT turned into ROLLBACK is counted"
    );
}

/// A transaction whose statement the server reports as a write, run by `principal`:
/// what the COMMIT answered, and the session afterwards.
const SNEAKY_TX: &str = "verify/sneaky_tx.py";

fn predicted_read_guard(bw: &Boltward, who: &str) -> (String, f64, f64) {
    let out = script(
        "py6",
        SNEAKY_TX,
        &[],
        &[("URI", &format!("bolt://{}", bw.addr)), ("WHO", who)],
    );
    let metrics = bw.metrics();
    let counted = common::metric_value(&metrics, "boltward_predicted_read_wrote_total");
    let refused = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("boltward_refusals_total{rule=\"guard:predicted-read\"} ")?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    (out, counted, refused)
}

/// An actor allowed to write: the server's answer (a write) is allowed, so the
/// transaction commits; the misprediction is counted, nothing is refused.
#[test]
fn predicted_read_that_wrote_commits_when_the_actor_may_write() {
    let (bw, _explains, _dir) = start(false);
    let (out, counted, refused) = predicted_read_guard(&bw, "writer");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["committed", "1"], "{out}");
    assert_eq!((counted, refused), (1.0, 0.0));
    let committed = boltward::journal::replay::committed(&bw.journal_dir(), None).unwrap();
    assert_eq!(
        committed.len(),
        1,
        "journaled like any write (intent before the COMMIT)"
    );
}

/// Audit mode refuses nothing: a reader's transaction that wrote commits, and the would-be
/// refusal is counted.
#[test]
fn audit_mode_commits_a_predicted_read_that_wrote() {
    let policy = POLICY.replace("[policy]\n", "[policy]\nmode = \"audit\"\n");
    let (bw, _explains, _dir) = start_with(false, &policy);
    let (out, counted, refused) = predicted_read_guard(&bw, "reader");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["committed", "1"], "{out}");
    assert_eq!((counted, refused), (1.0, 1.0));
}

/// Audit mode, an actor allowed to write: committed, nothing would have been refused.
#[test]
fn audit_mode_commits_a_writers_predicted_read_that_wrote() {
    let policy = POLICY.replace("[policy]\n", "[policy]\nmode = \"audit\"\n");
    let (bw, _explains, _dir) = start_with(false, &policy);
    let (out, counted, refused) = predicted_read_guard(&bw, "writer");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["committed", "1"], "{out}");
    assert_eq!((counted, refused), (1.0, 0.0));
}
