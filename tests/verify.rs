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
use common::{py, Boltward};
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

const POLICY: &str = "[policy]\ndefault = \"deny\"\n[[policy.rules]]\nname = \"readers\"\nactors = { principals = [\"reader\"] }\nallow = [\"read\"]\n";

const CALLS: &str = r#"
import os, neo4j
from neo4j.exceptions import ClientError
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("reader", "pw"))
for q in ["CALL custom.read()", "CALL custom.read()", "CALL custom.write()"]:
    with d.session(database="neo4j") as s:
        try:
            s.run(q).consume()
            print("allowed")
        except ClientError as e:
            print(e.code.rsplit(".", 1)[-1])
"#;

fn start(verify: bool) -> (Boltward, Arc<AtomicUsize>, tempfile::TempDir) {
    let (addr, explains) = stub();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    let mut text = POLICY.to_owned();
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
    let out = py("py6", CALLS, &[("URI", &format!("bolt://{}", bw.addr))]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["allowed", "allowed", "Forbidden"]
    );
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
    let out = py("py6", CALLS, &[("URI", &format!("bolt://{}", bw.addr))]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["Forbidden", "Forbidden", "Forbidden"]
    );
    assert_eq!(explains.load(Ordering::SeqCst), 0);
}

/// A statement classified read that the server reports as a write: logged, and inside an
/// explicit transaction its COMMIT becomes a ROLLBACK.
#[test]
fn predicted_read_that_wrote_is_rolled_back() {
    let (bw, _explains, _dir) = start(false);
    let code = r#"
import os, neo4j
from neo4j.exceptions import ClientError
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("reader", "pw"))
with d.session(database="neo4j") as s:
    tx = s.begin_transaction()
    tx.run("RETURN 'sneaky' AS x").consume()
    try:
        tx.commit()
        print("committed")
    except ClientError as e:
        print(e.code, e.message)
    print(s.run("RETURN 1 AS x").single()["x"])
"#;
    let out = py("py6", code, &[("URI", &format!("bolt://{}", bw.addr))]);
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
    assert!(bw.logs().contains("COMMIT turned into ROLLBACK"));
}
