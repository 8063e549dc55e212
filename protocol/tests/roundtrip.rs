//! Round-trip properties: decode(encode(v)) == v for arbitrary values (every typed
//! structure included) and messages, and chunk reassembly from arbitrary splits.

mod support;

use boltward_protocol::chunk::{write_chunked, ChunkDecoder, Frame};
use boltward_protocol::message::{Begin, Hello, Logon, Pull, Route, Run, Telemetry};
use boltward_protocol::packstream;
use boltward_protocol::{Dialect, Map, Request, Value, Version};
use bytes::BytesMut;
use proptest::prelude::*;
use support::canon;
use support::strategies::{map_of, scalar, value};

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
            if let Some(db) = db {
                m.insert("db", db);
            }
            if let Some(mode) = mode {
                m.insert("mode", mode);
            }
            if let Some(b) = bookmarks {
                m.insert(
                    "bookmarks",
                    Value::List(b.into_iter().map(Value::from).collect()),
                );
            }
            if let Some(t) = timeout {
                m.insert("tx_timeout", t);
            }
            if let Some(meta) = meta {
                m.insert("tx_metadata", meta);
            }
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
        (".{0,200}", map_of(value()), extra()).prop_map(|(query, parameters, extra)| Request::Run(
            Run {
                query,
                parameters,
                extra
            }
        )),
        extra().prop_map(|extra| Request::Begin(Begin { extra })),
        (any::<i64>(), any::<i64>()).prop_map(|(n, q)| Request::Pull(Pull::with_qid(n, q))),
        any::<i64>().prop_map(|n| Request::Discard(Pull::new(n))),
        any::<i64>().prop_map(|api| Request::Telemetry(Telemetry { api })),
        (
            map_of(scalar()),
            prop::collection::vec("[a-z0-9]{1,8}", 0..3),
            extra()
        )
            .prop_map(|(routing, bookmarks, extra)| Request::Route(Route {
                routing,
                bookmarks,
                extra
            })),
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
