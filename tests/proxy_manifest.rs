//! The manifest-v1 handshake through boltward. ArcadeDB only answers with legacy replies,
//! so the upstream here is a small scripted server that offers 6.1, 6.0, 5.8..5.0 and 4.4
//! the way Neo4j 2025.x does (shared/BOLT.md §1.2) and answers HELLO, LOGON, RUN, PULL,
//! RESET and GOODBYE. boltward must restrict the offer to versions it parses (no 6.1), let
//! real drivers choose, relay the choice, and then proxy messages of that version.

mod common;

use boltward_protocol::chunk::{ChunkDecoder, Frame};
use boltward_protocol::handshake::{ManifestChoice, ManifestOffer, VersionRange, MANIFEST_V1};
use boltward_protocol::message::{Record, Success};
use boltward_protocol::{Dialect, Map, Request, Response, Value, Version};
use bytes::BytesMut;
use common::{statements, Boltward};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

/// Serves one connection; reports the version the client chose.
fn serve(mut s: TcpStream, chosen: mpsc::Sender<Version>) {
    let mut opening = [0u8; 20];
    if s.read_exact(&mut opening).is_err() {
        return;
    }
    let offer = ManifestOffer {
        versions: vec![
            VersionRange {
                major: 6,
                minor: 1,
                range: 1,
            },
            VersionRange {
                major: 5,
                minor: 8,
                range: 8,
            },
            VersionRange::exact(Version::V4_4),
        ],
        capabilities: 0,
    };
    let mut out = BytesMut::from(&MANIFEST_V1[..]);
    offer.encode(&mut out);
    s.write_all(&out).unwrap();
    let mut buf = BytesMut::new();
    let mut tmp = [0u8; 8192];
    let choice = loop {
        if let Some((c, n)) = ManifestChoice::parse(&buf).unwrap() {
            let _ = buf.split_to(n);
            break c;
        }
        let n = s.read(&mut tmp).unwrap();
        buf.extend_from_slice(&tmp[..n]);
    };
    let v = choice.version;
    let _ = chosen.send(v);
    let mut dec = ChunkDecoder::default();
    let send = |s: &mut TcpStream, r: Response| s.write_all(&r.to_wire().unwrap()).unwrap();
    loop {
        while let Some(f) = dec.decode(&mut buf).unwrap() {
            let Frame::Message(m) = f else { continue };
            match Request::decode(&m.body(), Dialect::new(v)).unwrap() {
                Request::Hello(_) => send(
                    &mut s,
                    Response::Success(Success::new(Map::from([
                        ("server", Value::from("Neo4j/2025.10.0")),
                        ("connection_id", Value::from("bolt-1")),
                        ("protocol_version", Value::from(v.to_string())),
                    ]))),
                ),
                Request::Run(r) => {
                    let field = r.query.split_whitespace().last().unwrap_or("x").to_owned();
                    send(
                        &mut s,
                        Response::Success(Success::new(Map::from([(
                            "fields",
                            Value::List(vec![field.into()]),
                        )]))),
                    );
                }
                Request::Pull(_) => {
                    send(
                        &mut s,
                        Response::Record(Record {
                            fields: vec![Value::Integer(v.major as i64 * 10 + v.minor as i64)],
                        }),
                    );
                    send(
                        &mut s,
                        Response::Success(Success::new(Map::from([
                            ("type", "r"),
                            ("db", "neo4j"),
                            ("bookmark", "FB:stub"),
                        ]))),
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

fn stub() -> (String, mpsc::Receiver<Version>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for c in l.incoming().take(64) {
            let Ok(c) = c else { return };
            let tx = tx.clone();
            std::thread::spawn(move || serve(c, tx));
        }
    });
    (addr, rx)
}

/// What `statements` answers for `RETURN 1 AS v` through `bw` (the stub returns the
/// negotiated version as `v`).
fn version_seen(which: &str, bw: &Boltward) -> serde_json::Value {
    let uri = format!("bolt://{}", bw.addr);
    let answers = statements(which, &login(&uri), &["RETURN 1 AS v"]);
    answers[0]["records"][0][0].clone()
}

fn login(uri: &str) -> [&str; 8] {
    [
        "--uri",
        uri,
        "--user",
        "neo4j",
        "--password",
        "pw",
        "--db",
        "neo4j",
    ]
}

#[test]
fn python_drivers_negotiate_through_a_manifest_upstream() {
    let (addr, chosen) = stub();
    let bw = Boltward::start(&addr, &[], &[]);
    // Python 6.x implements 6.1 but boltward's restricted offer stops at 6.0.
    assert_eq!(version_seen("py6", &bw), 60);
    assert_eq!(chosen.recv().unwrap(), Version::V6_0);
    // Python 5.28 picks 5.8.
    assert_eq!(version_seen("py528", &bw), 58);
    assert_eq!(chosen.recv().unwrap(), Version::V5_8);
    assert!(bw.logs().contains("bolt=6.0") && bw.logs().contains("bolt=5.8"));
}

#[test]
fn javascript_driver_negotiates_through_a_manifest_upstream() {
    let (addr, chosen) = stub();
    let bw = Boltward::start(&addr, &[], &[]);
    assert_eq!(version_seen("neo4j-driver-6", &bw), "60");
    assert_eq!(chosen.recv().unwrap(), Version::V6_0);
}

/// On Bolt 5.7+ a refusal carries the GQL status fields drivers need
/// (`neo4j_code`, `gql_status` 42NFF, `description`), not the legacy `code`.
#[test]
fn refusals_on_6_0_carry_gql_status() {
    let (addr, chosen) = stub();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(
        &cfg,
        "[policy]\ndefault = \"allow\"\n[[policy.rules]]\nname = \"ro\"\nallow = [\"read\"]\n",
    )
    .unwrap();
    let bw = Boltward::start(&addr, &["--config", cfg.to_str().unwrap()], &[]);
    let uri = format!("bolt://{}", bw.addr);
    let answers = statements("py6", &login(&uri), &["CREATE (n)", "RETURN 1 AS v"]);
    let refused = &answers[0];
    assert_eq!(
        (&refused["type"], &refused["code"], &refused["gql_status"]),
        (
            &"Forbidden".into(),
            &"Neo.ClientError.Security.Forbidden".into(),
            &"42NFF".into()
        ),
        "{refused}"
    );
    assert_eq!(answers[1]["records"][0][0], 60, "the session still answers");
    assert_eq!(chosen.recv().unwrap(), Version::V6_0);
}
