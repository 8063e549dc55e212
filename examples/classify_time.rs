//! Times the classifier on the 200-byte benchmark statement and on every adversarial shape
//! at SIZE bytes: `cargo run --release --example classify_time -- SIZE ROUNDS`. Prints one
//! line per shape with the median of ROUNDS runs, for `scripts/bench-classify.sh`, which
//! runs it against another revision of boltward, interleaved.

#[path = "../src/cypher/shapes.rs"]
mod shapes;

use std::time::Instant;

const STATEMENT: &str = "MATCH (p:Person {name: $name})-[:KNOWS*1..2]->(f:Person) \
WHERE f.age > $min AND NOT f.name STARTS WITH 'DELETE' // a comment with CREATE\n\
WITH f, count(*) AS c ORDER BY c DESC LIMIT 10 SET f.popular = true RETURN f.name, c";

fn median_ns(rounds: usize, iters: u32, f: impl Fn()) -> u128 {
    let mut times: Vec<u128> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() / u128::from(iters)
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let size: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(64 * 1024);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let ns = median_ns(rounds, 20_000, || {
        std::hint::black_box(boltward::cypher::classify(std::hint::black_box(STATEMENT)));
    });
    println!("statement-200B {ns}");
    for (name, q) in shapes::adversarial(size) {
        let ns = median_ns(rounds, 1, || {
            std::hint::black_box(boltward::cypher::classify(std::hint::black_box(&q)));
        });
        println!("{name} {ns}");
    }
}
