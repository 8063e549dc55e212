//! Unit-level tests of the chunk codec and the handshake, through the public API.

use boltward_protocol::chunk::*;
use boltward_protocol::handshake::*;
use boltward_protocol::{ChunkError, HandshakeError, Version};
use bytes::{BufMut, BytesMut};

// ---- chunk ----

fn frames(stream: &[u8], split: usize) -> Vec<Frame> {
    let mut dec = ChunkDecoder::new(1 << 20);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in stream.chunks(split.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(f) = dec.decode(&mut buf).unwrap() {
            out.push(f);
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn reassembles_any_split() {
    let body: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let mut stream = BytesMut::new();
    stream.put_slice(&[0, 0]); // NOOP
    write_chunked(&body, 1398, &mut stream);
    write_chunked(&[0xB0, 0x0F], 1, &mut stream); // RESET split into 1-byte chunks
    for split in [1, 2, 3, 7, 1400, 100_000] {
        let f = frames(&stream, split);
        assert_eq!(f.len(), 3, "split {split}");
        assert_eq!(f[0], Frame::Noop);
        let Frame::Message(m) = &f[1] else { panic!() };
        assert_eq!(m.body().as_ref(), body.as_slice());
        assert_eq!(m.raw().len(), 5000 + 2 * 4 + 2);
        let Frame::Message(m) = &f[2] else { panic!() };
        assert_eq!(m.tag(), Some(0x0F));
        assert_eq!(m.body().as_ref(), &[0xB0, 0x0F]);
    }
}

#[test]
fn refuses_oversized_before_it_arrives() {
    let mut dec = ChunkDecoder::new(100);
    let mut buf = BytesMut::from(&[0x00, 0x65][..]); // announces 101 bytes
    assert_eq!(
        dec.decode(&mut buf),
        Err(ChunkError::MessageTooLarge {
            size: 101,
            max: 100
        })
    );
}

#[test]
fn scan_sees_kind_without_copy() {
    let rec = [0x00, 0x04, 0xB1, 0x71, 0x91, 0x01, 0x00, 0x00];
    assert_eq!(
        scan(&rec, 1 << 20).unwrap(),
        Some(Scanned {
            len: 8,
            body_len: 4,
            tag: Some(0x71)
        })
    );
    assert_eq!(scan(&rec[..7], 1 << 20).unwrap(), None);
}

// ---- handshake ----

const PY6: [u8; 20] = [
    0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 0xFF, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 3,
];

#[test]
fn narrowing_splits_around_5_5_and_drops_3_0() {
    let hello = ClientHello::parse(&PY6).unwrap().unwrap();
    let n = hello.narrowed(PARSED_VERSIONS, true);
    assert_eq!(
        n.proposals,
        [
            Proposal::Manifest(1),
            Proposal::Range(VersionRange {
                major: 5,
                minor: 8,
                range: 2
            }),
            Proposal::Range(VersionRange {
                major: 5,
                minor: 4,
                range: 4
            }),
            Proposal::Range(VersionRange {
                major: 4,
                minor: 4,
                range: 0
            }),
        ]
    );
    // a legacy server that only speaks 5.4 (ArcadeDB) still finds it
    assert_eq!(n.negotiate(&[Version::V5_4]), Some(Version::V5_4));
    assert_eq!(hello.negotiate(PARSED_VERSIONS), Some(Version::V5_8));
}

#[test]
fn only_unsupported_versions_narrow_to_nothing() {
    let neo4rs080 = [
        0x60, 0x60, 0xB0, 0x17, 0, 0, 1, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let hello = ClientHello::parse(&neo4rs080).unwrap().unwrap();
    assert_eq!(hello.narrowed(PARSED_VERSIONS, true).ranges().count(), 0);
    assert!(hello.common_versions(PARSED_VERSIONS).is_empty());
}

#[test]
fn http_and_bad_magic() {
    assert_eq!(
        ClientHello::parse(b"GET / HTTP/1.1\r\n"),
        Err(HandshakeError::Http)
    );
    assert_eq!(ClientHello::parse(b"GE"), Ok(None));
    assert!(matches!(
        ClientHello::parse(&[1, 2, 3, 4]),
        Err(HandshakeError::BadMagic(_))
    ));
    assert_eq!(
        ServerReply::parse(b"HTTP/1.1 400"),
        Err(HandshakeError::HttpReply)
    );
}

#[test]
fn manifest_offer_roundtrip_and_restriction() {
    // shared/BOLT.md §1.2: N=3, 6.0, 5.8..5.0, 4.4, caps 0
    let wire = [0x03, 0, 0, 0, 6, 0, 8, 8, 5, 0, 0, 4, 4, 0x00];
    let (offer, n) = ManifestOffer::parse(&wire).unwrap().unwrap();
    assert_eq!(n, wire.len());
    assert_eq!(ManifestOffer::parse(&wire[..5]).unwrap(), None);
    let mut out = Vec::new();
    offer.encode(&mut out);
    assert_eq!(out, wire);
    let r = offer.restricted(PARSED_VERSIONS);
    assert!(r.offers(Version::V6_0) && r.offers(Version::V5_4) && !r.offers(Version::new(5, 5)));
    assert_eq!(offer.choose(PARSED_VERSIONS), Some(Version::V6_0));
    let (choice, used) = ManifestChoice::parse(&[0, 0, 0, 6, 0, 0xB1])
        .unwrap()
        .unwrap();
    assert_eq!((choice.version, used), (Version::V6_0, 5));
}

#[test]
fn varints() {
    for (v, bytes) in [
        (1u64, vec![0x01]),
        (127, vec![0x7F]),
        (300, vec![0xAC, 0x02]),
        (1_851_775, vec![0xFF, 0x82, 0x71]),
    ] {
        let mut out = Vec::new();
        write_varint(v, &mut out);
        assert_eq!(out, bytes);
        assert_eq!(read_varint(&bytes).unwrap(), Some((v, bytes.len())));
    }
    let mut max = Vec::new();
    write_varint(u64::MAX, &mut max);
    assert_eq!(read_varint(&max).unwrap(), Some((u64::MAX, 10)));
    assert_eq!(
        read_varint(&[0xFF; 11]),
        Err(HandshakeError::VarintOverflow)
    );
    assert_eq!(read_varint(&[0x80]).unwrap(), None);
}

// ---- auto-commit RUN split into BEGIN + RUN ----

#[test]
fn auto_commit_run_splits_into_begin_and_run_losslessly() {
    use boltward_protocol::message::{split_auto_commit_run, Run};
    use boltward_protocol::{Dialect, Map, Request, Value};
    let v = Version::new(5, 4);
    let dialect = Dialect::new(v);
    let mut extra = Map::new();
    extra.insert("db", "alpha");
    extra.insert("tx_timeout", 5000i64);
    extra.insert("bookmarks", Value::List(vec![Value::from("FB:1")]));
    let mut parameters = Map::new();
    parameters.insert("w", 7i64);
    parameters.insert("f", 1.5f64);
    let run = Run {
        query: "MATCH (n {k: $w}) SET n.v = $f".into(),
        parameters: parameters.clone(),
        extra: extra.clone(),
    };
    let wire = Request::Run(run).to_wire(v).unwrap();
    let body = body_of(&wire);
    let (begin, run) = split_auto_commit_run(&body, dialect).unwrap();
    let Request::Begin(b) = Request::decode(&body_of(&begin), dialect).unwrap() else {
        panic!("BEGIN first")
    };
    assert_eq!(b.extra, extra, "the RUN's extra moves to BEGIN");
    let Request::Run(r) = Request::decode(&body_of(&run), dialect).unwrap() else {
        panic!("then RUN")
    };
    assert_eq!(r.query, "MATCH (n {k: $w}) SET n.v = $f");
    assert_eq!(r.parameters, parameters);
    assert!(r.extra.is_empty());
    // The query and parameters are the client's bytes, not a re-encoding.
    let run_body = body_of(&run);
    assert_eq!(&run_body[..run_body.len() - 1], &body[..run_body.len() - 1]);

    // Anything but a well-formed RUN is refused, never guessed at.
    for bad in [
        &body[..body.len() - 1],
        &[0xB0, 0x11][..],
        &[0xB3, 0x10, 0x80, 0xA0, 0x01][..],
    ] {
        assert!(split_auto_commit_run(bad, dialect).is_err(), "{bad:02X?}");
    }
}
