//! The journal in-process, without a server: encoding a typical intent, and durable
//! appends (sync = commit, real fsyncs on the disk under `target/`) by 1 and 32 concurrent
//! writers. `scripts/bench-journal.sh` measures the same through boltward with a server.

use boltward::config::{Journal as JournalConfig, SyncMode};
use boltward::journal::Journal;
use boltward::metrics::Metrics;
use boltward_journal::record::{Record, ZERO_HASH};
use boltward_journal::{Actor, Entry, Intent, Statement, TxMode};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};

fn intent() -> Entry {
    let run = boltward_protocol::Request::Run(boltward_protocol::message::Run::new(
        "MATCH (a:Person {id: $id}) CREATE (a)-[:KNOWS]->(:Person {id: $other, name: $name})",
    ))
    .to_wire(boltward_protocol::Version::V5_4)
    .unwrap();
    Entry::Intent(Intent {
        conn: 42,
        actor: Actor {
            principal: Some("alice".into()),
            scheme: Some("basic".into()),
            address: Some("10.0.0.7".into()),
            user_agent: Some("neo4j-python/6.0".into()),
            ..Actor::default()
        },
        db: Some("neo4j".into()),
        bolt: "5.4".into(),
        utc: true,
        mode: TxMode::Explicit,
        begin: Some(vec![0xB1, 0x11, 0xA0]),
        statements: vec![Statement {
            run: boltward_protocol::chunk::body_of(&run).into_owned(),
            classes: vec!["write".into()],
            verdict: "allow".into(),
            rule: "default".into(),
        }],
        labels: vec!["Person".into()],
        types: vec!["KNOWS".into()],
    })
}

fn encode(c: &mut Criterion) {
    let e = intent();
    let mut out = Vec::with_capacity(1024);
    c.bench_function("journal/encode_intent", |b| {
        b.iter(|| {
            out.clear();
            let payload = e.encode();
            Record::encode(e.kind(), 1, 0, &ZERO_HASH, &payload, &mut out)
        })
    });
}

fn durable(c: &mut Criterion) {
    let dir = tempfile::Builder::new()
        .prefix("bench-journal")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let metrics = Metrics::new();
    let j = Journal::open(
        &JournalConfig {
            dir: dir.path().to_owned(),
            sync: SyncMode::Commit,
            ..JournalConfig::default()
        },
        metrics.journal.clone(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("journal/durable_append");
    g.measurement_time(Duration::from_secs(5));
    for writers in [1usize, 32] {
        g.throughput(Throughput::Elements(writers as u64));
        g.bench_with_input(BenchmarkId::from_parameter(writers), &writers, |b, &w| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        let tasks: Vec<_> = (0..w)
                            .map(|_| {
                                let j = j.clone();
                                tokio::spawn(async move { j.append(intent()).await.unwrap() })
                            })
                            .collect();
                        for t in tasks {
                            t.await.unwrap();
                        }
                    }
                    t.elapsed()
                })
            })
        });
    }
    g.finish();
    j.close();
    let f = &metrics.journal.fsync_seconds;
    let batches = &metrics.journal.batch_records;
    println!(
        "journal/durable_append: {} fsyncs, mean fdatasync {:.1} µs, mean {:.2} records per fsync",
        f.get_sample_count(),
        f.get_sample_sum() / f.get_sample_count().max(1) as f64 * 1e6,
        batches.get_sample_sum() / batches.get_sample_count().max(1) as f64
    );
}

criterion_group!(benches, encode, durable);
criterion_main!(benches);
