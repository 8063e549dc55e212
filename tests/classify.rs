//! The write classifier against a hand-checked corpus (tests/cypher/corpus.txt), each
//! statement also lower-cased and behind comment decoys full of write keywords: classes
//! must match exactly, and no statement that writes may ever come out as a read.
//! tests/classify_server.rs checks the same corpus against a real server.

mod cypher;

use boltward::cypher::{classify, Class};
use cypher::{corpus, variants};

#[test]
fn corpus_classes_are_exact_and_sound() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 150,
        "corpus has {} statements",
        corpus.len()
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for (expected, stmt) in &corpus {
        for v in variants(stmt) {
            let got = classify(&v);
            checked += 1;
            let writes = expected.iter().any(|c| c.mutates());
            if writes && got.is_read() {
                failures.push(format!(
                    "UNSOUND: {v:?} classified read, expected {expected:?}"
                ));
            } else if &got.classes != expected {
                failures.push(format!(
                    "{v:?}: expected {expected:?}, got {:?}",
                    got.classes
                ));
            }
        }
    }
    assert!(checked >= 300, "only {checked} statements checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn guards_and_details() {
    let c = classify("MATCH (n) DETACH DELETE n");
    assert!(c.deletes && c.unbounded_delete);
    assert!(
        classify("MATCH (n:Temp) DELETE n").unbounded_delete,
        "a label alone does not bound a delete"
    );
    assert!(!classify("MATCH (n) WHERE n.id = 1 DELETE n").unbounded_delete);
    assert!(!classify("MATCH (n {id: 1}) DELETE n").unbounded_delete);
    assert!(!classify("MATCH (n) WITH n LIMIT 10 DELETE n").unbounded_delete);
    assert!(classify("MATCH (a {id: 1}) MATCH (b) DETACH DELETE b").unbounded_delete);
    assert!(classify("DROP INDEX i").schema_drop);
    assert!(!classify("CREATE INDEX FOR (n:P) ON (n.x)").schema_drop);

    let c = classify(
        "MATCH (a:Person)-[r:KNOWS|LIKES]->(b:`Big Co`) SET a:Admin RETURN {name: a.name}",
    );
    let labels: Vec<&str> = c.labels.iter().map(String::as_str).collect();
    assert_eq!(labels, vec!["Admin", "Big Co", "KNOWS", "LIKES", "Person"]);
    let types: Vec<&str> = c.types.iter().map(String::as_str).collect();
    assert_eq!(types, vec!["KNOWS", "LIKES"]);
    let nodes: Vec<&str> = c.node_labels.iter().map(String::as_str).collect();
    assert_eq!(nodes, vec!["Admin", "Big Co", "Person"]);
    let c = classify("MATCH (a)-[:R]->(b) WHERE b:Q CREATE (a)-[:`S T`]->(:N)");
    assert_eq!(c.types.iter().collect::<Vec<_>>(), ["R", "S T"]);
    assert_eq!(c.node_labels.iter().collect::<Vec<_>>(), ["N", "Q"]);
    assert!(c.labels_complete);
    assert!(!classify("MATCH (n {id: 1}) SET n:$($label)").labels_complete);

    let c = classify("EXPLAIN MATCH (n) DETACH DELETE n");
    assert!(c.explain && c.is_read());
    assert!(c.explained.contains(&Class::Write));
    let c = classify("USE other.db MATCH (n) RETURN n");
    assert_eq!(c.databases, vec!["other.db".to_string()]);
    let c = classify("CALL my.proc()");
    assert!(c.verify && c.procedures == vec!["my.proc".to_string()]);
    assert!(!classify("CALL db.labels()").verify);
    let c = classify("RETURN custom.fn(1)");
    assert!(
        c.has(Class::Procedure) && !c.verify,
        "an unknown function is a procedure; EXPLAIN cannot see what a function does"
    );

    let c = classify("RETURN 'unterminated");
    assert!(
        c.has(Class::Write) && c.note.is_some(),
        "what cannot be lexed is a write"
    );
    assert!(classify("").is_read());
}

/// Every corpus statement in 40 disguises (escapes of any character, CR/CRLF/Unicode
/// separators, comments ended by CR or LF, case, prefixes): what is not a read never
/// becomes one, and escapes plus case alone change nothing (classes or replay hazards).
#[test]
fn obfuscated_corpus_is_sound() {
    use boltward::cypher::obfuscate::{obfuscate, Seeded, Transforms};
    let mut checked = 0;
    let mut failures = Vec::new();
    for (_, stmt) in corpus() {
        let original = classify(&stmt);
        for seed in 0..40u64 {
            let all = seed % 2 == 0;
            let t = if all {
                Transforms::ALL
            } else {
                Transforms {
                    separators: false,
                    prefix: false,
                    ..Transforms::ALL
                }
            };
            let Some(d) = obfuscate(&stmt, t, &mut Seeded(seed)) else {
                continue;
            };
            checked += 1;
            let c = classify(&d);
            if !original.is_read() && c.is_read() {
                failures.push(format!("UNSOUND: {stmt:?} → {d:?} read"));
            } else if !all && c.classes != original.classes {
                failures.push(format!(
                    "{stmt:?} → {d:?}: {:?} became {:?}",
                    original.classes, c.classes
                ));
            } else if !all && c.replay != original.replay {
                failures.push(format!(
                    "{stmt:?} → {d:?}: replay hazards {:?} became {:?}",
                    original.replay, c.replay
                ));
            }
        }
    }
    assert!(checked > 30_000, "only {checked} disguises");
    assert!(
        failures.is_empty(),
        "{} of {checked}:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}
