//! Decodes every real driver transcript in `protocol/tests/captures/`, message by message:
//! the handshake is parsed and re-encoded, each message is reassembled from its wire bytes,
//! decoded under the negotiated version, rendered back into the annotation's Python repr
//! (which asserts every field), and re-encoded to identical body bytes. The `.raw.txt`
//! twins replay the real `read()` splits through the chunk decoder.

mod support;

use boltward_protocol::chunk::{ChunkDecoder, Frame};
use boltward_protocol::handshake::{ClientHello, ManifestChoice, ManifestOffer, ServerReply};
use boltward_protocol::message::{Extra, Request, Response};
use boltward_protocol::state::{ServerState, Summary, Tracker};
use boltward_protocol::{Dialect, RequestKind, Version};
use bytes::BytesMut;
use std::path::PathBuf;
use support::{py, py_map, unhex};

fn captures_dir() -> PathBuf {
    let dir = std::env::var_os("BOLTWARD_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/captures"));
    assert!(
        dir.is_dir(),
        "bolt captures not found at {} (set BOLTWARD_CAPTURES)",
        dir.display()
    );
    dir
}

struct Msg {
    from_client: bool,
    name: String,
    annotation: String,
    wire: Vec<u8>,
}

struct Transcript {
    client_handshake: Vec<u8>,
    server_handshake: Vec<u8>,
    messages: Vec<Msg>,
}

fn parse(text: &str) -> Transcript {
    let mut t = Transcript {
        client_handshake: vec![],
        server_handshake: vec![],
        messages: vec![],
    };
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((dir, rest)) = line.split_once(": ") else {
            continue;
        };
        let from_client = match dir {
            "C" => true,
            "S" => false,
            _ => continue,
        };
        if rest.starts_with(|c: char| c.is_ascii_uppercase()) && rest.contains("(0x") {
            let name = rest.split('(').next().unwrap().to_owned();
            let hex_line = lines.next().expect("hex line after a message");
            let hex = hex_line.trim().strip_prefix("hex: ").expect("hex: prefix");
            t.messages.push(Msg {
                from_client,
                name,
                annotation: rest.to_owned(),
                wire: unhex(hex),
            });
        } else {
            let bytes = unhex(rest.split('#').next().unwrap());
            if from_client {
                t.client_handshake.extend(bytes);
            } else {
                t.server_handshake.extend(bytes);
            }
        }
    }
    t
}

/// Parses and re-encodes the handshake; returns the negotiated version and the number of
/// handshake bytes each side sent.
fn handshake(t: &Transcript) -> (Version, usize, usize) {
    let hello = ClientHello::parse(&t.client_handshake)
        .unwrap()
        .expect("20 bytes");
    assert_eq!(hello.to_bytes().as_slice(), &t.client_handshake[..20]);
    match ServerReply::parse(&t.server_handshake)
        .unwrap()
        .expect("reply")
    {
        ServerReply::Version(v) => {
            assert_eq!(t.client_handshake.len(), 20);
            assert_eq!(t.server_handshake.len(), 4);
            (v, 20, 4)
        }
        ServerReply::Manifest(1) => {
            assert!(hello.offers_manifest_v1());
            let (offer, n) = ManifestOffer::parse(&t.server_handshake[4..])
                .unwrap()
                .expect("offer");
            let mut again = Vec::new();
            offer.encode(&mut again);
            assert_eq!(again, t.server_handshake[4..4 + n]);
            let (choice, m) = ManifestChoice::parse(&t.client_handshake[20..])
                .unwrap()
                .expect("choice");
            assert!(offer.versions.iter().any(|r| r.contains(choice.version)));
            (choice.version, 20 + m, 4 + n)
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

fn render_request(r: &Request) -> String {
    match r {
        Request::Hello(h) => py_map(&h.extra),
        Request::Logon(l) => py_map(&l.auth),
        Request::Run(r) => format!(
            "{} {} {}",
            py(&r.query.clone().into()),
            py_map(&r.parameters),
            py_map(&r.extra)
        ),
        Request::Begin(b) => py_map(&b.extra),
        Request::Pull(p) | Request::Discard(p) => py_map(&p.extra),
        Request::Telemetry(t) => t.api.to_string(),
        Request::Route(r) => format!(
            "{} [{}] {}",
            py_map(&r.routing),
            r.bookmarks
                .iter()
                .map(|b| py(&b.as_str().into()))
                .collect::<Vec<_>>()
                .join(", "),
            py_map(&r.extra)
        ),
        Request::Logoff
        | Request::Goodbye
        | Request::Reset
        | Request::Commit
        | Request::Rollback => String::new(),
    }
}

fn render_response(r: &Response) -> String {
    match r {
        Response::Success(s) => py_map(&s.metadata),
        Response::Failure(f) => py_map(&f.metadata),
        Response::Record(r) => py(&r.fields.clone().into()),
        Response::Ignored => String::new(),
    }
}

struct Outcome {
    version: Version,
    requests: Vec<Request>,
    responses: Vec<Response>,
    final_state: ServerState,
}

fn check_transcript(name: &str, text: &str) -> Outcome {
    let t = parse(text);
    assert!(!t.messages.is_empty(), "{name}: no messages");
    let (version, _, _) = handshake(&t);
    let mut dialect = Dialect::new(version);
    let mut tracker = Tracker::new(version);
    let mut pending: std::collections::VecDeque<RequestKind> = Default::default();
    let mut out = Outcome {
        version,
        requests: vec![],
        responses: vec![],
        final_state: ServerState::Negotiation,
    };
    for (i, m) in t.messages.iter().enumerate() {
        let ctx = format!("{name} message {i} ({})", m.name);
        let mut dec = ChunkDecoder::default();
        let mut buf = BytesMut::from(m.wire.as_slice());
        let Some(Frame::Message(raw)) = dec.decode(&mut buf).unwrap() else {
            panic!("{ctx}: no message in wire bytes");
        };
        assert!(buf.is_empty(), "{ctx}: bytes left after the message");
        assert_eq!(raw.raw().as_ref(), m.wire.as_slice());
        let body = raw.body();
        let fields = body[0] & 0x0F;
        let tag = body[1];
        let mut again = Vec::new();
        let rendered = if m.from_client {
            let req = Request::decode(&body, dialect).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(req.kind().name(), m.name, "{ctx}");
            req.encode(version, &mut again).unwrap();
            if req.kind() == RequestKind::Reset {
                tracker.reset_sent();
            }
            if req.kind() == RequestKind::Goodbye {
                tracker.apply(RequestKind::Goodbye, Summary::Success { has_more: false });
            } else {
                pending.push_back(req.kind());
            }
            let r = render_request(&req);
            out.requests.push(req);
            r
        } else {
            let resp = Response::decode(&body, dialect).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            resp.encode(&mut again).unwrap();
            if let Some(summary) = Summary::of(&resp) {
                let req = pending
                    .pop_front()
                    .unwrap_or_else(|| panic!("{ctx}: summary without request"));
                if let (RequestKind::Hello, Response::Success(s)) = (req, &resp) {
                    dialect = dialect.with_utc_patch(s.accepts_utc_patch());
                }
                tracker.apply(req, summary);
            }
            let r = render_response(&resp);
            out.responses.push(resp);
            r
        };
        assert_eq!(again, body.as_ref(), "{ctx}: re-encoding differs");
        let expected = format!("{}(0x{:02X}, {} fields) {}", m.name, tag, fields, rendered);
        assert_eq!(expected, m.annotation, "{ctx}");
    }
    out.final_state = tracker.state();
    out
}

fn transcripts() -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(captures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".txt") && !n.ends_with(".raw.txt") && n != "constructed-examples.txt"
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_capture_decodes_message_by_message() {
    let all = transcripts();
    assert!(
        all.len() >= 20,
        "expected the full capture set, found {}",
        all.len()
    );
    let mut messages = 0;
    for (name, text) in &all {
        let o = check_transcript(name, text);
        messages += o.requests.len() + o.responses.len();
    }
    assert!(messages > 400, "only {messages} messages decoded");
}

fn capture(name: &str) -> Outcome {
    let text = std::fs::read_to_string(captures_dir().join(name)).unwrap();
    check_transcript(name, &text)
}

#[test]
fn arcadedb_python_session_fields() {
    let o = capture("arcadedb-py6-1.txt");
    assert_eq!(o.version, Version::new(5, 4));
    let Request::Hello(h) = &o.requests[0] else {
        panic!()
    };
    assert_eq!(
        h.user_agent(),
        Some("neo4j-python/6.4.1 Python/3.11.7-final-0 (linux)")
    );
    assert!(h.routing().is_none());
    let Request::Logon(l) = &o.requests[1] else {
        panic!()
    };
    assert_eq!(l.auth().scheme(), Some("basic"));
    assert_eq!(l.auth().principal(), Some("root"));
    assert!(l.auth().has_credentials());
    assert!(
        !format!("{l:?}").contains("playwithdata"),
        "Debug must redact credentials"
    );
    let Request::Run(r) = &o.requests[2] else {
        panic!()
    };
    assert_eq!(r.query, "RETURN 1 AS n, 'hi' AS s");
    assert_eq!(r.db(), Some("graph"));
    let Request::Pull(p) = &o.requests[3] else {
        panic!()
    };
    assert_eq!((p.n(), p.qid()), (1000, -1));
    let Response::Success(s) = &o.responses[0] else {
        panic!()
    };
    assert_eq!(
        s.server(),
        Some("Neo4j/5.26.0 compatible (ArcadeDB 26.11.1-SNAPSHOT)")
    );
    let Response::Success(s) = &o.responses[2] else {
        panic!()
    };
    assert_eq!(s.fields(), Some(vec!["n", "s"]));
    let Response::Record(rec) = &o.responses[3] else {
        panic!()
    };
    assert_eq!(rec.fields, vec![1.into(), "hi".into()]);
    let Response::Success(s) = &o.responses[4] else {
        panic!()
    };
    assert_eq!(s.query_type().map(|t| t.as_str()), Some("r"));
    assert!(!s.has_more());
    assert_eq!(o.final_state, ServerState::Defunct);
}

#[test]
fn manifest_refusals_and_routing() {
    let o = capture("stub-manifest-raw-pipelined-commit-1.txt");
    assert_eq!(o.version, Version::V5_8);
    let kinds: Vec<_> = o.requests.iter().map(|r| r.kind().name()).collect();
    assert!(
        kinds
            .windows(4)
            .any(|w| w == ["BEGIN", "RUN", "PULL", "COMMIT"]),
        "{kinds:?}"
    );
    let f = o
        .responses
        .iter()
        .find_map(|r| match r {
            Response::Failure(f) => Some(f),
            _ => None,
        })
        .expect("a FAILURE");
    assert_eq!(f.code(), Some("Neo.ClientError.Security.Forbidden"));
    assert_eq!(f.gql_status(), Some("42NFF"));

    let o = capture("stub-manifest-py6-routing-1.txt");
    assert_eq!(o.version, Version::V6_0);
    let Request::Hello(h) = &o.requests[0] else {
        panic!()
    };
    let routing = h.routing().expect("neo4j:// sends routing");
    assert_eq!(routing.get("region").and_then(|v| v.as_str()), Some("eu"));
    let route = o.requests.iter().find_map(|r| match r {
        Request::Route(r) => Some(r),
        _ => None,
    });
    assert!(route.is_some());
    let rt = o
        .responses
        .iter()
        .find_map(|r| match r {
            Response::Success(s) => s.routing_table(),
            _ => None,
        })
        .expect("a routing table");
    assert_eq!(rt.servers.len(), 3);
}

#[test]
fn legacy_44_python_accepts_utc_patch() {
    let o = capture("stub-legacy44-py6-1.txt");
    assert_eq!(o.version, Version::V4_4);
    let Request::Hello(h) = &o.requests[0] else {
        panic!()
    };
    assert_eq!(h.patch_bolt(), vec!["utc"]);
    assert_eq!(h.auth().and_then(|a| a.principal()), Some("neo4j"));
    assert!(!format!("{h:?}").contains("credentials\": \"pw"));
}

#[test]
fn neo4rs_repeats_db_and_mode_in_tx() {
    let o = capture("arcadedb-neo4rs-2.txt");
    assert_eq!(o.version, Version::V4_4);
    assert!(o
        .requests
        .iter()
        .any(|r| matches!(r, Request::Discard(p) if p.n() == -1)));
}

/// Replays the real read() splits of each `.raw.txt` through the chunk decoder.
#[test]
fn raw_reads_reassemble_to_the_same_messages() {
    let dir = captures_dir();
    let mut checked = 0;
    for (name, text) in transcripts() {
        let t = parse(&text);
        let (_, client_hs, server_hs) = handshake(&t);
        let raw_name = name.replace(".txt", ".raw.txt");
        let Ok(raw) = std::fs::read_to_string(dir.join(&raw_name)) else {
            continue;
        };
        for (dir_char, skip, from_client) in [("C", client_hs, true), ("S", server_hs, false)] {
            let mut stream = Vec::new();
            let mut reads = Vec::new();
            for line in raw.lines() {
                let parts: Vec<_> = line.split_whitespace().collect();
                if parts.len() == 3 && parts[1] == dir_char {
                    let b = hex::decode(parts[2]).unwrap();
                    reads.push(b.len());
                    stream.extend(b);
                }
            }
            let expected: Vec<&[u8]> = t
                .messages
                .iter()
                .filter(|m| m.from_client == from_client)
                .map(|m| m.wire.as_slice())
                .collect();
            let mut dec = ChunkDecoder::default();
            let mut buf = BytesMut::new();
            let mut got: Vec<Vec<u8>> = Vec::new();
            let mut at = 0;
            for n in reads {
                buf.extend_from_slice(&stream[at..at + n]);
                at += n;
                if at <= skip {
                    buf.clear();
                    continue;
                }
                if at - n < skip {
                    let _ = buf.split_to(skip - (at - n));
                }
                while let Some(f) = dec.decode(&mut buf).unwrap() {
                    if let Frame::Message(m) = f {
                        got.push(m.raw().to_vec());
                    }
                }
            }
            assert!(buf.is_empty(), "{raw_name} {dir_char}: trailing bytes");
            assert_eq!(
                got.len(),
                expected.len(),
                "{raw_name} {dir_char}: message count"
            );
            for (g, e) in got.iter().zip(expected) {
                assert_eq!(g.as_slice(), e, "{raw_name} {dir_char}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} raw streams checked");
}
