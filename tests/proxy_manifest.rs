//! The manifest-v1 handshake through boltward. ArcadeDB only answers with legacy replies,
//! so the upstream here is a small scripted server that offers 6.1, 6.0, 5.8..5.0 and 4.4
//! the way Neo4j 2025.x does (shared/BOLT.md §1.2) and answers HELLO, LOGON, RUN, PULL,
//! RESET and GOODBYE. boltward must restrict the offer to versions it parses (no 6.1), let
//! real drivers choose, relay the choice, and then proxy messages of that version.

mod common;

use boltward_protocol::handshake::{ManifestOffer, VersionRange};
use boltward_protocol::message::Record;
use boltward_protocol::{Request, Response, Value, Version};
use common::scripted::{self, Handshake, Reply, Scripted};
use common::{statements, Boltward};
use std::sync::Arc;

/// A scripted server that offers 6.1, 6.0, 5.8..5.0 and 4.4 with the manifest handshake,
/// as Neo4j 2025.x does. It answers `RETURN … AS v` with one record holding the version
/// the connection agreed to (`major * 10 + minor`).
fn stub() -> Scripted {
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
    Scripted::start_with(
        Handshake::Manifest(offer),
        Arc::new(|conn, r| {
            let v = scripted::version();
            match r {
                Request::Hello(_) => Reply::Answer(vec![scripted::success(&[
                    ("server", "Neo4j/2025.10.0".into()),
                    ("connection_id", "bolt-1".into()),
                    ("protocol_version", v.to_string().into()),
                ])]),
                Request::Run(run) => {
                    let field = run.query.split_whitespace().last().unwrap_or("x");
                    let fields = Value::List(vec![field.into()]);
                    Reply::Answer(vec![scripted::success(&[("fields", fields)])])
                }
                Request::Pull(_) => Reply::Answer(vec![
                    Response::Record(Record {
                        fields: vec![Value::Integer(v.major as i64 * 10 + v.minor as i64)],
                    }),
                    scripted::success(&[
                        ("type", "r".into()),
                        ("db", "neo4j".into()),
                        ("bookmark", "FB:stub".into()),
                    ]),
                ]),
                _ => scripted::single_server(conn, r),
            }
        }),
    )
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
    let server = stub();
    let bw = Boltward::start(&server.addr, &[], &[]);
    // Python 6.x implements 6.1 but boltward's restricted offer stops at 6.0.
    assert_eq!(version_seen("py6", &bw), 60);
    assert_eq!(server.versions().first(), Some(&Version::V6_0));
    // Python 5.28 picks 5.8.
    assert_eq!(version_seen("py528", &bw), 58);
    assert_eq!(server.versions().get(1), Some(&Version::V5_8));
    assert!(bw.logs().contains("bolt=6.0") && bw.logs().contains("bolt=5.8"));
}

#[test]
fn javascript_driver_negotiates_through_a_manifest_upstream() {
    let server = stub();
    let bw = Boltward::start(&server.addr, &[], &[]);
    assert_eq!(version_seen("neo4j-driver-6", &bw), "60");
    assert_eq!(server.versions().first(), Some(&Version::V6_0));
}

/// On Bolt 5.7+ a refusal carries the GQL status fields drivers need
/// (`neo4j_code`, `gql_status` 42NFF, `description`), not the legacy `code`.
#[test]
fn refusals_on_6_0_carry_gql_status() {
    let server = stub();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(
        &cfg,
        "[policy]\ndefault = \"allow\"\n[[policy.rules]]\nname = \"ro\"\nallow = [\"read\"]\n",
    )
    .unwrap();
    let bw = Boltward::start(&server.addr, &["--config", cfg.to_str().unwrap()], &[]);
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
    assert_eq!(server.versions().first(), Some(&Version::V6_0));
}
