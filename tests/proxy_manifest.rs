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
use common::{py, Boltward};
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

const QUERY: &str = r#"
import os, neo4j
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("neo4j", "pw"))
with d.session(database="neo4j") as s:
    print(s.run("RETURN 1 AS v").single()["v"])
d.close()
"#;

#[test]
fn python_drivers_negotiate_through_a_manifest_upstream() {
    let (addr, chosen) = stub();
    let bw = Boltward::start(&addr, &[], &[]);
    let uri = format!("bolt://{}", bw.addr);
    // Python 6.x implements 6.1 but boltward's restricted offer stops at 6.0.
    assert_eq!(py("py6", QUERY, &[("URI", &uri)]).trim(), "60");
    assert_eq!(chosen.recv().unwrap(), Version::V6_0);
    // Python 5.28 picks 5.8.
    assert_eq!(py("py528", QUERY, &[("URI", &uri)]).trim(), "58");
    assert_eq!(chosen.recv().unwrap(), Version::V5_8);
    assert!(bw.logs().contains("bolt=6.0") && bw.logs().contains("bolt=5.8"));
}

#[test]
fn javascript_driver_negotiates_through_a_manifest_upstream() {
    let (addr, chosen) = stub();
    let bw = Boltward::start(&addr, &[], &[]);
    let script = format!(
        r#"
const {{ createRequire }} = require('module');
const req = createRequire('{}/.testenv/node/');
const neo4j = req('neo4j-driver-6');
(async () => {{
  const d = neo4j.driver('bolt://{}', neo4j.auth.basic('neo4j', 'pw'));
  const s = d.session({{ database: 'neo4j' }});
  const r = await s.run('RETURN 1 AS v');
  console.log(r.records[0].get('v').toString());
  await s.close(); await d.close();
}})().catch(e => {{ console.error(e); process.exit(1); }});
"#,
        common::repo().display(),
        bw.addr
    );
    let out = common::run(std::process::Command::new("node").arg("-e").arg(script));
    assert_eq!(out.trim(), "60");
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
    let code = r#"
import os, neo4j
from neo4j.exceptions import ClientError
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("neo4j", "pw"))
with d.session(database="neo4j") as s:
    try:
        s.run("CREATE (n)").consume()
    except ClientError as e:
        print(type(e).__name__, e.code, e.gql_status)
    print(s.run("RETURN 1 AS v").single()["v"])
"#;
    let out = py("py6", code, &[("URI", &format!("bolt://{}", bw.addr))]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec!["Forbidden Neo.ClientError.Security.Forbidden 42NFF", "60"]
    );
    assert_eq!(chosen.recv().unwrap(), Version::V6_0);
}
