//! Golden vectors: every marker and size class, every value structure under each dialect
//! that defines it, and every message, each decoded from bytes built by hand and encoded
//! back to the same bytes.

mod support;

use boltward_protocol::message::{Begin, Extra, Failure, Pull, Run, Telemetry};
use boltward_protocol::packstream::{self, structs::*, Decoder, Limits};
use boltward_protocol::{
    Dialect, Map, MessageError, PackError, Request, RequestKind, Response, Value, Version,
};
use support::B;

const V5: Dialect = Dialect::new(Version::V5_4);
const V4: Dialect = Dialect::new(Version::V4_4);
const V6: Dialect = Dialect::new(Version::V6_0);
const V61: Dialect = Dialect::new(Version::V6_1);

#[track_caller]
fn golden(bytes: &[u8], value: Value, dialect: Dialect) {
    assert_eq!(packstream::decode(bytes, dialect).unwrap(), value, "decode");
    assert_eq!(packstream::to_vec(&value).unwrap(), bytes, "encode");
}

#[test]
fn scalars_every_marker() {
    golden(&[0xC0], Value::Null, V5);
    golden(&[0xC3], true.into(), V5);
    golden(&[0xC2], false.into(), V5);
    golden(&[0xC1, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0], 1.5.into(), V5);
    // integers: tiny, 8, 16, 32, 64 and every boundary
    let ints: &[(i64, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7F]),
        (-1, &[0xFF]),
        (-16, &[0xF0]),
        (-17, &[0xC8, 0xEF]),
        (-128, &[0xC8, 0x80]),
        (128, &[0xC9, 0x00, 0x80]),
        (-129, &[0xC9, 0xFF, 0x7F]),
        (32767, &[0xC9, 0x7F, 0xFF]),
        (-32768, &[0xC9, 0x80, 0x00]),
        (32768, &[0xCA, 0x00, 0x00, 0x80, 0x00]),
        (-32769, &[0xCA, 0xFF, 0xFF, 0x7F, 0xFF]),
        (i32::MAX as i64, &[0xCA, 0x7F, 0xFF, 0xFF, 0xFF]),
        (1 << 31, &[0xCB, 0, 0, 0, 0, 0x80, 0, 0, 0]),
        (i64::MIN, &[0xCB, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        (
            i64::MAX,
            &[0xCB, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
    ];
    for (i, bytes) in ints {
        golden(bytes, (*i).into(), V5);
    }
    // non-minimal forms decode too
    assert_eq!(
        packstream::decode(&[0xCB, 0, 0, 0, 0, 0, 0, 0, 1], V5).unwrap(),
        1.into()
    );
    assert_eq!(packstream::decode(&[0xC8, 0x05], V5).unwrap(), 5.into());
}

#[test]
fn sized_classes_of_strings_bytes_lists_maps() {
    for (len, header) in [
        (0usize, vec![0x80]),
        (15, vec![0x8F]),
        (16, vec![0xD0, 16]),
        (255, vec![0xD0, 0xFF]),
        (256, vec![0xD1, 0x01, 0x00]),
        (65535, vec![0xD1, 0xFF, 0xFF]),
        (65536, vec![0xD2, 0x00, 0x01, 0x00, 0x00]),
    ] {
        let s = "x".repeat(len);
        golden(
            &B::new().raw(&header).raw(s.as_bytes()).done(),
            s.into(),
            V5,
        );
    }
    for (len, header) in [
        (0usize, vec![0xCC, 0]),
        (255, vec![0xCC, 0xFF]),
        (256, vec![0xCD, 0x01, 0x00]),
        (65536, vec![0xCE, 0x00, 0x01, 0x00, 0x00]),
    ] {
        let b = vec![7u8; len];
        golden(&B::new().raw(&header).raw(&b).done(), Value::Bytes(b), V5);
    }
    for (len, header) in [
        (0usize, vec![0x90]),
        (15, vec![0x9F]),
        (16, vec![0xD4, 16]),
        (256, vec![0xD5, 0x01, 0x00]),
        (65536, vec![0xD6, 0x00, 0x01, 0x00, 0x00]),
    ] {
        let mut bytes = header.clone();
        bytes.extend(std::iter::repeat_n(0x01u8, len));
        golden(&bytes, Value::List(vec![1.into(); len]), V5);
    }
    for (len, header) in [
        (0usize, vec![0xA0]),
        (15, vec![0xAF]),
        (16, vec![0xD8, 16]),
        (256, vec![0xD9, 0x01, 0x00]),
        (65536, vec![0xDA, 0x00, 0x01, 0x00, 0x00]),
    ] {
        let mut bytes = header.clone();
        let mut map = Map::new();
        for i in 0..len {
            let k = format!("{i:05}");
            bytes.extend(B::new().u8(0x85).raw(k.as_bytes()).u8(0x01).done());
            map.push(k, 1.into());
        }
        golden(&bytes, Value::Map(map), V5);
    }
    // unicode: 2-, 3- and 4-byte sequences
    let s = "é€😀";
    golden(&B::new().u8(0x89).raw(s.as_bytes()).done(), s.into(), V5);
}

fn node(id: i64, element: Option<&str>) -> Node {
    Node {
        id,
        labels: vec!["Person".into()],
        properties: Map::from([("name", "A")]),
        element_id: element.map(Into::into),
    }
}

fn node_bytes(id: u8, element: Option<&str>) -> Vec<u8> {
    let b = B::new()
        .structure(if element.is_some() { 4 } else { 3 }, 0x4E)
        .u8(id)
        .tiny_list(1)
        .tiny_str("Person")
        .tiny_map(1)
        .entry("name", &[0x81, b'A']);
    match element {
        Some(e) => b.tiny_str(e).done(),
        None => b.done(),
    }
}

#[test]
fn graph_structures_per_version() {
    // Node: the constructed example from protocol/tests/captures/constructed-examples.txt
    golden(
        &node_bytes(3, Some("4:abc:3")),
        Value::Node(Box::new(node(3, Some("4:abc:3")))),
        V5,
    );
    golden(
        &node_bytes(3, None),
        Value::Node(Box::new(node(3, None))),
        V4,
    );
    // A 4.4-shaped node on a 5.x connection is invalid, and vice versa.
    assert!(matches!(
        packstream::decode(&node_bytes(3, None), V5),
        Err(PackError::StructArity {
            name: "Node",
            got: 3,
            expected: 4,
            ..
        })
    ));
    assert!(packstream::decode(&node_bytes(3, Some("e")), V4).is_err());

    let rel5 = Relationship {
        id: 9,
        start_node_id: 1,
        end_node_id: 2,
        rel_type: "KNOWS".into(),
        properties: Map::new(),
        element_id: Some("r9".into()),
        start_node_element_id: Some("n1".into()),
        end_node_element_id: Some("n2".into()),
    };
    let base = B::new().u8(9).u8(1).u8(2).tiny_str("KNOWS").tiny_map(0);
    golden(
        &B::new()
            .structure(8, 0x52)
            .raw(&base.0)
            .tiny_str("r9")
            .tiny_str("n1")
            .tiny_str("n2")
            .done(),
        Value::Relationship(Box::new(rel5.clone())),
        V5,
    );
    let rel4 = Relationship {
        element_id: None,
        start_node_element_id: None,
        end_node_element_id: None,
        ..rel5
    };
    golden(
        &B::new().structure(5, 0x52).raw(&base.0).done(),
        Value::Relationship(Box::new(rel4)),
        V4,
    );

    let unbound = |e: Option<&str>| UnboundRelationship {
        id: 9,
        rel_type: "KNOWS".into(),
        properties: Map::new(),
        element_id: e.map(Into::into),
    };
    let ub = |e: Option<&str>| {
        let b = B::new()
            .structure(if e.is_some() { 4 } else { 3 }, 0x72)
            .u8(9)
            .tiny_str("KNOWS")
            .tiny_map(0);
        match e {
            Some(e) => b.tiny_str(e).done(),
            None => b.done(),
        }
    };
    golden(
        &ub(Some("r9")),
        Value::UnboundRelationship(Box::new(unbound(Some("r9")))),
        V5,
    );
    golden(
        &ub(None),
        Value::UnboundRelationship(Box::new(unbound(None))),
        V4,
    );

    for (dialect, e_n0, e_n1, e_r) in [
        (V5, Some("n0"), Some("n1"), Some("r9")),
        (V4, None, None, None),
    ] {
        let path = Path {
            nodes: vec![node(0, e_n0), node(1, e_n1)],
            relationships: vec![unbound(e_r)],
            indices: vec![1, 1],
        };
        let bytes = B::new()
            .structure(3, 0x50)
            .tiny_list(2)
            .raw(&node_bytes(0, e_n0))
            .raw(&node_bytes(1, e_n1))
            .tiny_list(1)
            .raw(&ub(e_r))
            .tiny_list(2)
            .u8(1)
            .u8(1)
            .done();
        golden(&bytes, Value::Path(Box::new(path)), dialect);
    }
    // a path whose node list holds something else is invalid
    let bad = B::new()
        .structure(3, 0x50)
        .tiny_list(1)
        .u8(1)
        .tiny_list(0)
        .tiny_list(0)
        .done();
    assert!(matches!(
        packstream::decode(&bad, V5),
        Err(PackError::StructField { name: "Path", .. })
    ));
}

#[test]
fn temporal_and_spatial_structures() {
    golden(
        &[0xB1, 0x44, 0xC9, 0x4D, 0x0C],
        Value::Date(Date { days: 19724 }),
        V5,
    );
    golden(
        &[0xB2, 0x54, 0xCA, 0x00, 0x98, 0x96, 0x80, 0xC9, 0x0E, 0x10],
        Value::Time(Time {
            nanoseconds: 10_000_000,
            tz_offset_seconds: 3600,
        }),
        V5,
    );
    golden(
        &[0xB1, 0x74, 0x05],
        Value::LocalTime(LocalTime { nanoseconds: 5 }),
        V5,
    );
    let dt = [0xB3, 0x49, 0xCA, 0x65, 0x94, 0x30, 0x25, 0x00, 0x00];
    let utc = DateTime {
        seconds: 1_704_210_469,
        nanoseconds: 0,
        tz_offset_seconds: 0,
    };
    golden(&dt, Value::DateTime(utc), V5);
    golden(&dt, Value::DateTime(utc), V4.with_utc_patch(true));
    // On 4.4 without the patch, 'I' is not a DateTime: kept as a generic structure.
    assert!(matches!(packstream::decode(&dt, V4).unwrap(), Value::Structure(s) if s.tag == 0x49));
    let legacy = [0xB3, 0x46, 0x10, 0x00, 0xC9, 0x0E, 0x10];
    let l = LegacyDateTime {
        seconds: 16,
        nanoseconds: 0,
        tz_offset_seconds: 3600,
    };
    golden(&legacy, Value::LegacyDateTime(l), V4);
    assert_eq!(l.to_utc().seconds, 16 - 3600);
    assert!(
        matches!(packstream::decode(&legacy, V5).unwrap(), Value::Structure(s) if s.tag == 0x46)
    );
    let zid = |tag| {
        B::new()
            .structure(3, tag)
            .u8(1)
            .u8(2)
            .tiny_str("Europe/Paris")
            .done()
    };
    golden(
        &zid(0x69),
        Value::DateTimeZoneId(Box::new(DateTimeZoneId {
            seconds: 1,
            nanoseconds: 2,
            tz_id: "Europe/Paris".into(),
        })),
        V5,
    );
    golden(
        &zid(0x66),
        Value::LegacyDateTimeZoneId(Box::new(LegacyDateTimeZoneId {
            seconds: 1,
            nanoseconds: 2,
            tz_id: "Europe/Paris".into(),
        })),
        V4,
    );
    golden(
        &[0xB2, 0x64, 0x01, 0x02],
        Value::LocalDateTime(LocalDateTime {
            seconds: 1,
            nanoseconds: 2,
        }),
        V5,
    );
    golden(
        &[0xB4, 0x45, 0x0C, 0x1E, 0xFF, 0x00],
        Value::Duration(Box::new(Duration {
            months: 12,
            days: 30,
            seconds: -1,
            nanoseconds: 0,
        })),
        V5,
    );
    let f = |x: f64| B::new().u8(0xC1).raw(&x.to_be_bytes()).done();
    golden(
        &B::new()
            .structure(3, 0x58)
            .raw(&[0xC9, 0x10, 0xE6])
            .raw(&f(1.5))
            .raw(&f(-2.0))
            .done(),
        Value::Point2D(Point2D {
            srid: 4326,
            x: 1.5,
            y: -2.0,
        }),
        V5,
    );
    golden(
        &B::new()
            .structure(4, 0x59)
            .raw(&[0xC9, 0x13, 0x73])
            .raw(&f(1.0))
            .raw(&f(2.0))
            .raw(&f(3.0))
            .done(),
        Value::Point3D(Box::new(Point3D {
            srid: 4979,
            x: 1.0,
            y: 2.0,
            z: 3.0,
        })),
        V5,
    );
    // wrong field type
    assert!(matches!(
        packstream::decode(&[0xB1, 0x44, 0x81, b'x'], V5),
        Err(PackError::StructField {
            name: "Date",
            field: "days",
            ..
        })
    ));
}

#[test]
fn bolt6_vector_unsupported_and_uuid() {
    let v = B::new()
        .structure(2, 0x56)
        .raw(&[0xCC, 1, 0xC9])
        .raw(&[0xCC, 4, 0, 1, 0xFF, 0xFE])
        .done();
    golden(
        &v,
        Value::Vector(Box::new(Vector {
            element: VectorType::Int16,
            data: vec![0, 1, 0xFF, 0xFE],
        })),
        V6,
    );
    // before 6.0 'V' is an unknown structure, kept generic
    assert!(
        matches!(packstream::decode(&v, V5).unwrap(), Value::Structure(s) if s.tag == 0x56 && s.fields.len() == 2)
    );
    let odd = B::new()
        .structure(2, 0x56)
        .raw(&[0xCC, 1, 0xC1])
        .raw(&[0xCC, 3, 0, 0, 0])
        .done();
    assert!(
        packstream::decode(&odd, V6).is_err(),
        "3 bytes are no whole float64"
    );
    let u = B::new()
        .structure(4, 0x3F)
        .tiny_str("VECTOR")
        .u8(6)
        .u8(0)
        .tiny_map(1)
        .entry("message", &[0x82, b'n', b'o'])
        .done();
    golden(
        &u,
        Value::Unsupported(Box::new(UnsupportedType {
            name: "VECTOR".into(),
            min_major: 6,
            min_minor: 0,
            extra: Map::from([("message", "no")]),
        })),
        V6,
    );
    let uuid = B::new().u8(0xE0).raw(&[0xAB; 16]).done();
    golden(&uuid, Value::Uuid([0xAB; 16]), V61);
    assert!(matches!(
        packstream::decode(&uuid, V6),
        Err(PackError::InvalidMarker { marker: 0xE0, .. })
    ));
}

#[test]
fn unknown_structures_are_kept() {
    let b = B::new().structure(2, 0x01).u8(1).tiny_str("x").done();
    golden(
        &b,
        Value::Structure(Box::new(Structure {
            tag: 0x01,
            fields: vec![1.into(), "x".into()],
        })),
        V5,
    );
    golden(
        &[0xB0, 0x7A],
        Value::Structure(Box::new(Structure {
            tag: 0x7A,
            fields: vec![],
        })),
        V5,
    );
    let too_many = Value::Structure(Box::new(Structure {
        tag: 1,
        fields: vec![Value::Null; 16],
    }));
    assert!(packstream::to_vec(&too_many).is_err());
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let cases: &[&[u8]] = &[
        &[],
        &[0xC4],                         // reserved
        &[0xDC, 0x01],                   // legacy STRUCT_8: not accepted
        &[0xC9, 0x01],                   // truncated int16
        &[0xD2, 0xFF, 0xFF, 0xFF, 0xFF], // 4 GiB string announced in 5 bytes
        &[0xD6, 0x7F, 0xFF, 0xFF, 0xFF], // 2^31 list announced
        &[0x82, 0xC3, 0x28],             // invalid UTF-8
        &[0xA1, 0x01, 0x01],             // non-string key
        &[0x01, 0x02],                   // trailing byte
        &[0xB1],                         // struct without tag
    ];
    for c in cases {
        assert!(packstream::decode(c, V5).is_err(), "{c:02X?}");
    }
    let deep: Vec<u8> = std::iter::repeat_n(0x91u8, 10_000).chain([0x01]).collect();
    assert!(matches!(
        packstream::decode(&deep, V5),
        Err(PackError::TooDeep { .. })
    ));
    let limited = Decoder::new(&[0x83, b'a', b'b', b'c'], V5)
        .with_limits(Limits {
            max_depth: 8,
            max_len: 2,
        })
        .value();
    assert!(matches!(
        limited,
        Err(PackError::TooLong { what: "string", .. })
    ));
}

#[track_caller]
fn request_golden(bytes: &[u8], req: Request, version: Version) {
    assert_eq!(
        Request::decode(bytes, Dialect::new(version)).unwrap(),
        req,
        "decode"
    );
    let mut out = Vec::new();
    req.encode(version, &mut out).unwrap();
    assert_eq!(out, bytes, "encode");
}

#[test]
fn every_request_message() {
    let v = Version::V5_8;
    // HELLO: shared/BOLT.md §4.4
    let hello = B::new()
        .structure(1, 0x01)
        .tiny_map(2)
        .entry("user_agent", &B::new().tiny_str("demo/1.0").done())
        .entry(
            "bolt_agent",
            &B::new()
                .tiny_map(1)
                .entry("product", &B::new().tiny_str("demo/1.0").done())
                .done(),
        )
        .done();
    let mut extra = Map::new();
    extra.insert("user_agent", "demo/1.0");
    extra.insert("bolt_agent", Map::from([("product", "demo/1.0")]));
    request_golden(
        &hello,
        Request::Hello(boltward_protocol::message::Hello { extra }),
        v,
    );

    let logon = B::new()
        .structure(1, 0x6A)
        .tiny_map(3)
        .entry("scheme", &B::new().tiny_str("basic").done())
        .entry("principal", &B::new().tiny_str("neo4j").done())
        .entry("credentials", &B::new().tiny_str("pw").done())
        .done();
    let auth = Map::from([
        ("scheme", "basic"),
        ("principal", "neo4j"),
        ("credentials", "pw"),
    ]);
    let logon_req = Request::Logon(boltward_protocol::message::Logon { auth });
    request_golden(&logon, logon_req.clone(), v);
    assert!(
        !format!("{logon_req:?}").contains("\"pw\""),
        "credentials must not reach Debug"
    );

    for (tag, req) in [
        (0x6B, Request::Logoff),
        (0x02, Request::Goodbye),
        (0x0F, Request::Reset),
        (0x12, Request::Commit),
        (0x13, Request::Rollback),
    ] {
        request_golden(&[0xB0, tag], req, v);
    }

    // RUN: protocol/tests/captures/constructed-examples.txt
    let run = B::new()
        .structure(3, 0x10)
        .tiny_str("RETURN $x AS x")
        .tiny_map(1)
        .entry("x", &[0x01])
        .tiny_map(2)
        .entry("db", &B::new().tiny_str("neo4j").done())
        .entry("mode", &B::new().tiny_str("r").done())
        .done();
    let mut r = Run::new("RETURN $x AS x");
    r.parameters.insert("x", 1);
    r.extra.insert("db", "neo4j");
    r.extra.insert("mode", "r");
    request_golden(&run, Request::Run(r.clone()), v);
    assert_eq!(r.mode(), boltward_protocol::message::AccessMode::Read);
    assert_eq!(r.db(), Some("neo4j"));

    // BEGIN with every transaction key
    let begin = B::new()
        .structure(1, 0x11)
        .tiny_map(7)
        .entry("db", &B::new().tiny_str("neo4j").done())
        .entry("mode", &B::new().tiny_str("r").done())
        .entry(
            "bookmarks",
            &B::new().tiny_list(1).tiny_str("FB:kcwQ").done(),
        )
        .entry("tx_timeout", &[0xC9, 0x13, 0x88])
        .entry(
            "tx_metadata",
            &B::new().tiny_map(1).entry("app", &[0x81, b'x']).done(),
        )
        .entry("imp_user", &B::new().tiny_str("bob").done())
        .raw(
            &B::new()
                .u8(0xD0)
                .u8(30)
                .raw(b"notifications_minimum_severity")
                .tiny_str("WARNING")
                .done(),
        )
        .done();
    let b = match Request::decode(&begin, Dialect::new(v)).unwrap() {
        Request::Begin(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(b.db(), Some("neo4j"));
    assert_eq!(b.bookmarks(), vec!["FB:kcwQ"]);
    assert_eq!(b.tx_timeout(), Some(5000));
    assert_eq!(
        b.tx_metadata().and_then(|m| m.get("app")),
        Some(&"x".into())
    );
    assert_eq!(b.imp_user(), Some("bob"));
    assert_eq!(b.notification_filter().minimum_severity, Some("WARNING"));
    request_golden(
        &begin,
        Request::Begin(Begin {
            extra: b.extra.clone(),
        }),
        v,
    );

    let pull = [0xB1, 0x3F, 0xA1, 0x81, b'n', 0xC9, 0x03, 0xE8];
    request_golden(&pull, Request::Pull(Pull::new(1000)), v);
    let discard = [
        0xB1, 0x2F, 0xA2, 0x81, b'n', 0xFF, 0x83, b'q', b'i', b'd', 0xFF,
    ];
    request_golden(&discard, Request::Discard(Pull::with_qid(-1, -1)), v);
    request_golden(
        &[0xB1, 0x54, 0x03],
        Request::Telemetry(Telemetry { api: 3 }),
        v,
    );

    // ROUTE 4.4+ (constructed example) and 4.3
    let route44 = B::new()
        .structure(3, 0x66)
        .tiny_map(1)
        .entry("address", &B::new().tiny_str("proxy:7687").done())
        .tiny_list(0)
        .tiny_map(1)
        .entry("db", &B::new().tiny_str("neo4j").done())
        .done();
    let route = boltward_protocol::message::Route {
        routing: Map::from([("address", "proxy:7687")]),
        bookmarks: vec![],
        extra: Map::from([("db", "neo4j")]),
    };
    request_golden(&route44, Request::Route(route.clone()), v);
    let route43 = B::new()
        .structure(3, 0x66)
        .tiny_map(1)
        .entry("address", &B::new().tiny_str("proxy:7687").done())
        .tiny_list(0)
        .tiny_str("neo4j")
        .done();
    request_golden(&route43, Request::Route(route), Version::V4_3);
}

#[test]
fn requests_are_checked_against_the_version() {
    let d = |v| Dialect::new(v);
    assert!(matches!(
        Request::decode(&[0xB1, 0x6A, 0xA0], d(Version::V4_4)),
        Err(MessageError::NotInVersion { name: "LOGON", .. })
    ));
    assert!(matches!(
        Request::decode(&[0xB1, 0x54, 0x01], d(Version::new(5, 3))),
        Err(MessageError::NotInVersion {
            name: "TELEMETRY",
            ..
        })
    ));
    assert!(matches!(
        Request::decode(&[0xB0, 0x0E], d(Version::V5_0)),
        Err(MessageError::NotInVersion { .. })
    ));
    assert!(matches!(
        Request::decode(&[0xB0, 0x55], d(Version::V5_0)),
        Err(MessageError::UnknownTag(0x55))
    ));
    assert!(matches!(
        Request::decode(&[0xB1, 0x0F, 0xA0], d(Version::V5_0)),
        Err(MessageError::Arity { .. })
    ));
    assert!(matches!(
        Request::decode(&[0x01], d(Version::V5_0)),
        Err(MessageError::NotAStructure)
    ));
    // RUN whose db is an integer
    let bad = B::new()
        .structure(3, 0x10)
        .tiny_str("x")
        .tiny_map(0)
        .tiny_map(1)
        .entry("db", &[0x01])
        .done();
    assert!(matches!(
        Request::decode(&bad, d(Version::V5_0)),
        Err(MessageError::Field {
            field: "extra.db",
            ..
        })
    ));
    // kinds and names line up
    assert_eq!(
        RequestKind::from_tag(0x10, Version::V4_4).unwrap().name(),
        "RUN"
    );
}

#[test]
fn every_response_message() {
    let d = Dialect::new(Version::V5_4);
    // constructed-examples.txt SUCCESS_RUN / RECORD / SUCCESS_PULL / IGNORED
    let success =
        support::unhex("B1 70 A2 86 66 69 65 6C 64 73 91 81 78 87 74 5F 66 69 72 73 74 02");
    let Response::Success(s) = Response::decode(&success, d).unwrap() else {
        panic!()
    };
    assert_eq!(s.fields(), Some(vec!["x"]));
    let pull = support::unhex(
        "B1 70 A4 88 62 6F 6F 6B 6D 61 72 6B 87 46 42 3A 6B 63 77 51 84 74 79 70 65 81 72 86 74 5F 6C 61 73 74 00 82 64 62 85 6E 65 6F 34 6A",
    );
    let Response::Success(s) = Response::decode(&pull, d).unwrap() else {
        panic!()
    };
    assert_eq!(
        (s.bookmark(), s.db(), s.has_more()),
        (Some("FB:kcwQ"), Some("neo4j"), false)
    );
    let mut out = Vec::new();
    Response::Success(s).encode(&mut out).unwrap();
    assert_eq!(out, pull);
    assert_eq!(
        Response::decode(&[0xB1, 0x71, 0x91, 0x01], d).unwrap(),
        Response::Record(boltward_protocol::message::Record {
            fields: vec![1.into()]
        })
    );
    assert_eq!(
        Response::decode(&[0xB0, 0x7E], d).unwrap(),
        Response::Ignored
    );
    assert_eq!(
        Response::Ignored.to_wire().unwrap().as_ref(),
        &[0x00, 0x02, 0xB0, 0x7E, 0x00, 0x00]
    );
    assert!(
        Response::decode(&[0xB1, 0x71, 0x01], d).is_err(),
        "RECORD data must be a list"
    );
}

#[test]
fn failure_shapes_match_the_version() {
    // constructed-examples.txt FAILURE_OLD and the 5.7+ refusal from BOLT.md §8.2
    let old = Failure::new(
        Version::V5_4,
        "Neo.ClientError.Security.Forbidden",
        "denied",
        "42NFF",
        "x",
    );
    let wire = Response::Failure(old).to_wire().unwrap();
    assert_eq!(
        support::hex_spaced(&wire),
        "00 3B B1 7F A2 84 63 6F 64 65 D0 22 4E 65 6F 2E 43 6C 69 65 6E 74 45 72 72 6F 72 2E 53 65 63 75 72 69 74 79 2E 46 6F 72 62 69 64 64 65 6E 87 6D 65 73 73 61 67 65 86 64 65 6E 69 65 64 00 00"
    );
    let new = Failure::forbidden(Version::V5_7, "denied");
    assert_eq!(new.code(), Some("Neo.ClientError.Security.Forbidden"));
    assert_eq!(new.gql_status(), Some("42NFF"));
    assert_eq!(
        new.description(),
        Some("error: syntax error or access rule violation - permission/access denied. denied")
    );
    assert!(new.metadata.get("diagnostic_record").is_some());
    assert!(new.metadata.get("code").is_none());
    let t = Failure::transient(
        Version::V5_8,
        "Neo.TransientError.General.DatabaseUnavailable",
        "paused",
    );
    assert!(t.is_transient());
    let rt = Failure::invalid_request(Version::V4_4, "bad");
    assert_eq!(rt.code(), Some("Neo.ClientError.Request.Invalid"));
}

#[test]
fn routing_table_rewrite() {
    use boltward_protocol::message::{RoutingTable, Success};
    let rt = RoutingTable {
        ttl: 300,
        db: Some("graph".into()),
        servers: ["WRITE", "READ", "ROUTE"]
            .iter()
            .map(|r| boltward_protocol::message::ServerEntry {
                role: r.to_string(),
                addresses: vec!["localhost:7787".into(), "other:7687".into()],
            })
            .collect(),
    };
    let mut s = Success::new(Map::from([("rt", Value::Map(rt.to_map()))]));
    assert_eq!(s.rewrite_routing_table("127.0.0.1:7687"), 6);
    let after = s.routing_table().unwrap();
    assert_eq!(after.ttl, 300);
    assert_eq!(after.db.as_deref(), Some("graph"));
    for e in &after.servers {
        assert_eq!(e.addresses, vec!["127.0.0.1:7687".to_string()]);
    }
    assert_eq!(RoutingTable::single("a:1", 10, None).servers.len(), 3);
}
