//! Round-trip properties: decode(encode(v)) == v for arbitrary values (every typed
//! structure included) and messages, and chunk reassembly from arbitrary splits.

mod support;

use boltward_protocol::chunk::{write_chunked, ChunkDecoder, Frame};
use boltward_protocol::message::{Begin, Hello, Logon, Pull, Route, Run, Telemetry};
use boltward_protocol::packstream::{self, structs::*};
use boltward_protocol::{Dialect, Map, Request, Value, Version};
use bytes::BytesMut;
use proptest::prelude::*;
use support::canon;

fn map_of(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Map> {
    prop::collection::vec(("[a-z_]{0,12}", v), 0..20).prop_map(|entries| {
        let mut m = Map::new();
        for (k, v) in entries {
            m.insert(k, v);
        }
        m
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Integer),
        (-200i64..70_000).prop_map(Value::Integer),
        any::<u64>().prop_map(|b| Value::Float(f64::from_bits(b))),
        ".{0,40}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
    ]
}

fn node(ids: bool) -> impl Strategy<Value = Node> {
    (any::<i64>(), prop::collection::vec("[A-Za-z]{1,8}", 0..4), map_of(scalar()), "[a-z0-9:]{1,10}").prop_map(
        move |(id, labels, properties, e)| Node { id, labels, properties, element_id: ids.then_some(e) },
    )
}

fn unbound(ids: bool) -> impl Strategy<Value = UnboundRelationship> {
    (any::<i64>(), "[A-Z_]{1,8}", map_of(scalar()), "[a-z0-9:]{1,10}").prop_map(move |(id, t, properties, e)| {
        UnboundRelationship { id, rel_type: t, properties, element_id: ids.then_some(e) }
    })
}

/// Typed structures valid on Bolt 6.0 (element ids, UTC DateTime, vectors).
fn structure() -> impl Strategy<Value = Value> {
    let i = any::<i64>;
    let vector = (0usize..6, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(t, mut data)| {
        let element = [VectorType::Int8, VectorType::Int16, VectorType::Int32, VectorType::Int64, VectorType::Float32, VectorType::Float64][t];
        data.truncate(data.len() / element.width() * element.width());
        Value::Vector(Box::new(Vector { element, data }))
    });
    prop_oneof![
        node(true).prop_map(|n| Value::Node(Box::new(n))),
        unbound(true).prop_map(|r| Value::UnboundRelationship(Box::new(r))),
        (i(), i(), i(), "[A-Z]{1,6}", map_of(scalar()), "[a-z0-9]{1,4}", "[a-z0-9]{1,4}", "[a-z0-9]{1,4}").prop_map(
            |(id, s, e, t, p, a, b, c)| Value::Relationship(Box::new(Relationship {
                id,
                start_node_id: s,
                end_node_id: e,
                rel_type: t,
                properties: p,
                element_id: Some(a),
                start_node_element_id: Some(b),
                end_node_element_id: Some(c),
            }))
        ),
        (prop::collection::vec(node(true), 0..3), prop::collection::vec(unbound(true), 0..3), prop::collection::vec(-5i64..5, 0..6))
            .prop_map(|(nodes, relationships, indices)| Value::Path(Box::new(Path { nodes, relationships, indices }))),
        i().prop_map(|days| Value::Date(Date { days })),
        (i(), i()).prop_map(|(n, o)| Value::Time(Time { nanoseconds: n, tz_offset_seconds: o })),
        i().prop_map(|n| Value::LocalTime(LocalTime { nanoseconds: n })),
        (i(), i(), i()).prop_map(|(s, n, o)| Value::DateTime(DateTime { seconds: s, nanoseconds: n, tz_offset_seconds: o })),
        (i(), i(), "[A-Za-z/_]{1,20}").prop_map(|(s, n, z)| Value::DateTimeZoneId(Box::new(DateTimeZoneId { seconds: s, nanoseconds: n, tz_id: z }))),
        (i(), i()).prop_map(|(s, n)| Value::LocalDateTime(LocalDateTime { seconds: s, nanoseconds: n })),
        (i(), i(), i(), i()).prop_map(|(m, d, s, n)| Value::Duration(Box::new(Duration { months: m, days: d, seconds: s, nanoseconds: n }))),
        (i(), any::<f64>(), any::<f64>()).prop_map(|(srid, x, y)| Value::Point2D(Point2D { srid, x, y })),
        (i(), any::<f64>(), any::<f64>(), any::<f64>()).prop_map(|(srid, x, y, z)| Value::Point3D(Box::new(Point3D { srid, x, y, z }))),
        vector,
        ("[A-Z]{1,8}", i(), i(), map_of(scalar())).prop_map(|(name, a, b, extra)| Value::Unsupported(Box::new(UnsupportedType { name, min_major: a, min_minor: b, extra }))),
        (1u8..0x30, prop::collection::vec(scalar(), 0..15))
            .prop_filter("not a typed tag", |(t, _)| ![0x3F].contains(t))
            .prop_map(|(tag, fields)| Value::Structure(Box::new(Structure { tag, fields }))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![4 => scalar(), 1 => structure()];
    leaf.prop_recursive(5, 256, 20, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Value::List),
            map_of(inner).prop_map(Value::Map),
        ]
    })
}

const D6: Dialect = Dialect::new(Version::V6_0);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn value_roundtrip(v in value()) {
        let bytes = packstream::to_vec(&v).unwrap();
        let back = packstream::decode(&bytes, D6).unwrap();
        // canon compares floats by bit pattern, so NaN round-trips count as equal
        prop_assert_eq!(canon(&back), canon(&v));
        prop_assert_eq!(packstream::to_vec(&back).unwrap(), bytes);
    }

    #[test]
    fn chunking_roundtrip(body in prop::collection::vec(any::<u8>(), 1..5000), max_chunk in 1usize..2000, split in 1usize..700) {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&[0, 0]);
        write_chunked(&body, max_chunk, &mut wire);
        let mut dec = ChunkDecoder::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut got = vec![];
        for piece in wire.chunks(split) {
            buf.extend_from_slice(piece);
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        prop_assert_eq!(got.len(), 2);
        prop_assert_eq!(&got[0], &Frame::Noop);
        let Frame::Message(m) = &got[1] else { panic!() };
        let got_body = m.body();
        prop_assert_eq!(got_body.as_ref(), body.as_slice());
    }

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = packstream::decode(&bytes, D6);
        let _ = Request::decode(&bytes, D6);
        let _ = boltward_protocol::Response::decode(&bytes, D6);
    }
}

fn extra() -> impl Strategy<Value = Map> {
    (
        prop::option::of("[a-z]{1,8}"),
        prop::option::of(prop_oneof![Just("r"), Just("w")]),
        prop::option::of(prop::collection::vec("[A-Z:0-9]{1,10}", 0..3)),
        prop::option::of(any::<i64>()),
        prop::option::of(map_of(scalar())),
    )
        .prop_map(|(db, mode, bookmarks, timeout, meta)| {
            let mut m = Map::new();
            if let Some(db) = db { m.insert("db", db); }
            if let Some(mode) = mode { m.insert("mode", mode); }
            if let Some(b) = bookmarks { m.insert("bookmarks", Value::List(b.into_iter().map(Value::from).collect())); }
            if let Some(t) = timeout { m.insert("tx_timeout", t); }
            if let Some(meta) = meta { m.insert("tx_metadata", meta); }
            m
        })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        map_of(scalar()).prop_map(|extra| Request::Hello(Hello { extra })),
        map_of(scalar()).prop_map(|auth| Request::Logon(Logon { auth })),
        Just(Request::Logoff),
        Just(Request::Goodbye),
        Just(Request::Reset),
        Just(Request::Commit),
        Just(Request::Rollback),
        (".{0,200}", map_of(value()), extra()).prop_map(|(query, parameters, extra)| Request::Run(Run { query, parameters, extra })),
        extra().prop_map(|extra| Request::Begin(Begin { extra })),
        (any::<i64>(), any::<i64>()).prop_map(|(n, q)| Request::Pull(Pull::with_qid(n, q))),
        any::<i64>().prop_map(|n| Request::Discard(Pull::new(n))),
        any::<i64>().prop_map(|api| Request::Telemetry(Telemetry { api })),
        (map_of(scalar()), prop::collection::vec("[a-z0-9]{1,8}", 0..3), extra())
            .prop_map(|(routing, bookmarks, extra)| Request::Route(Route { routing, bookmarks, extra })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn request_roundtrip(req in request()) {
        let mut body = Vec::new();
        req.encode(Version::V6_0, &mut body).unwrap();
        let back = Request::decode(&body, D6).unwrap();
        let mut again = Vec::new();
        back.encode(Version::V6_0, &mut again).unwrap();
        prop_assert_eq!(again, body);
        prop_assert_eq!(back.kind(), req.kind());
    }
}
