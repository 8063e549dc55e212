//! Classification of a ~200-byte statement, of 1 MiB statements of every adversarial
//! shape (`boltward::cypher::shapes`), and a policy decision.

use boltward::cypher::{classify, shapes};
use boltward::policy::{decide, Actor, Policy};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const STATEMENT: &str = "MATCH (p:Person {name: $name})-[:KNOWS*1..2]->(f:Person) \
WHERE f.age > $min AND NOT f.name STARTS WITH 'DELETE' // a comment with CREATE\n\
WITH f, count(*) AS c ORDER BY c DESC LIMIT 10 SET f.popular = true RETURN f.name, c";

const POLICY: &str = r#"
[policy]
default = "deny"
[[policy.rules]]
name = "ops"
actors = { principals = ["ops-*"], addresses = ["10.0.0.0/8"] }
allow = ["read", "write", "schema"]
[[policy.rules]]
name = "agents"
actors = { principals = ["agent-*"], user_agents = ["*langchain*"] }
allow = ["read", "write"]
labels = ["Person", "KNOWS"]
max_deletes_per_tx = 100
"#;

fn benches(c: &mut Criterion) {
    assert!(
        (180..=240).contains(&STATEMENT.len()),
        "{}",
        STATEMENT.len()
    );
    c.bench_function("classify_200_byte_statement", |b| {
        b.iter(|| classify(black_box(STATEMENT)))
    });
    let mut group = c.benchmark_group("classify_1MiB");
    group.sample_size(10);
    for (name, q) in shapes::adversarial(1024 * 1024) {
        group.bench_function(name, |b| b.iter(|| classify(black_box(&q))));
    }
    group.finish();
    let policy = Policy::from_toml(POLICY).unwrap();
    let actor = Actor {
        principal: Some("agent-42".into()),
        user_agent: Some("python-langchain/0.3".into()),
        address: Some("10.2.3.4".parse().unwrap()),
        ..Actor::default()
    };
    let classified = classify(STATEMENT);
    c.bench_function("policy_decision", |b| {
        b.iter(|| {
            decide(
                black_box(&policy),
                black_box(&actor),
                black_box(&classified),
                Some("neo4j"),
            )
        })
    });
}

criterion_group!(g, benches);
criterion_main!(g);
