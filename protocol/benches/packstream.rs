//! Throughput of the forwarding scan (RECORD vs summary, no decode), chunk reassembly,
//! and full decoding of record-shaped data.

use boltward_protocol::chunk::{
    scan, write_chunked, ChunkDecoder, Frame, DEFAULT_MAX_MESSAGE_SIZE,
};
use boltward_protocol::message::{Record, ResponseKind};
use boltward_protocol::packstream::structs::Node;
use boltward_protocol::{Dialect, Map, Response, Value, Version};
use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const RECORDS: usize = 10_000;

/// A result stream of RECORDs shaped like a typical graph query row:
/// `[id, name, score, node{3 props}, [5 ints]]`, then a final SUCCESS.
fn stream() -> Vec<u8> {
    let mut out = BytesMut::new();
    for i in 0..RECORDS as i64 {
        let node = Node {
            id: i,
            labels: vec!["Person".into()],
            properties: Map::from([
                ("name", Value::from(format!("person-{i}"))),
                ("age", Value::from(20 + i % 60)),
                ("score", Value::from(i as f64 * 0.5)),
            ]),
            element_id: Some(format!("4:db:{i}")),
        };
        let rec = Response::Record(Record {
            fields: vec![
                i.into(),
                format!("name number {i}").into(),
                (i as f64 / 3.0).into(),
                Value::Node(Box::new(node)),
                Value::List((0..5).map(|k| Value::from(i * k)).collect()),
            ],
        });
        let mut body = Vec::new();
        rec.encode(&mut body).unwrap();
        write_chunked(&body, 16_384, &mut out);
    }
    let mut body = Vec::new();
    Response::Success(Default::default())
        .encode(&mut body)
        .unwrap();
    write_chunked(&body, 16_384, &mut out);
    out.to_vec()
}

fn benches(c: &mut Criterion) {
    let data = stream();
    let mut g = c.benchmark_group("result_stream");
    g.throughput(Throughput::Bytes(data.len() as u64));

    g.bench_function("scan_record_vs_summary", |b| {
        b.iter(|| {
            let buf = black_box(data.as_slice());
            let (mut at, mut records) = (0, 0usize);
            while let Some(s) = scan(&buf[at..], DEFAULT_MAX_MESSAGE_SIZE).unwrap() {
                if s.tag.and_then(ResponseKind::from_tag) == Some(ResponseKind::Record) {
                    records += 1;
                }
                at += s.len;
            }
            assert_eq!(records, RECORDS);
        })
    });

    g.bench_function("chunk_decoder_frames", |b| {
        b.iter_batched(
            || BytesMut::from(data.as_slice()),
            |mut buf| {
                let mut dec = ChunkDecoder::default();
                let mut n = 0;
                while let Some(Frame::Message(m)) = dec.decode(&mut buf).unwrap() {
                    black_box(m.tag());
                    n += 1;
                }
                assert_eq!(n, RECORDS + 1);
            },
            BatchSize::LargeInput,
        )
    });

    let dialect = Dialect::new(Version::V5_4);
    let bodies: Vec<_> = {
        let mut buf = BytesMut::from(data.as_slice());
        let mut dec = ChunkDecoder::default();
        std::iter::from_fn(|| match dec.decode(&mut buf).unwrap() {
            Some(Frame::Message(m)) => Some(m.body()),
            _ => None,
        })
        .collect()
    };
    g.bench_function("full_decode", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(Response::decode(black_box(body), dialect).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
