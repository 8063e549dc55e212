//! Loads tests/cypher/corpus.txt: `codes | statement`, continuation lines allowed.

use boltward::cypher::Class;
use std::collections::BTreeSet;

pub fn corpus() -> Vec<(BTreeSet<Class>, String)> {
    let text = include_str!("corpus.txt");
    let mut out: Vec<(BTreeSet<Class>, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let head = line
            .split_once(" | ")
            .filter(|(c, _)| c.chars().all(|ch| "rwsapxud,".contains(ch)));
        match head {
            Some((codes, stmt)) => {
                let classes = codes
                    .split(',')
                    .map(|c| match c {
                        "r" => Class::Read,
                        "w" => Class::Write,
                        "s" => Class::Schema,
                        "a" => Class::Admin,
                        "p" => Class::Procedure,
                        "x" => Class::External,
                        "u" => Class::DbSwitch,
                        "d" => Class::Dynamic,
                        other => panic!("unknown class code {other}"),
                    })
                    .collect();
                out.push((classes, stmt.to_owned()));
            }
            None => {
                let last = out.last_mut().expect("continuation line after a statement");
                last.1.push('\n');
                last.1.push_str(line);
            }
        }
    }
    out
}

pub fn variants(stmt: &str) -> Vec<String> {
    vec![
        stmt.to_owned(),
        stmt.to_lowercase(),
        format!("/* DETACH DELETE n; CREATE (x) */ {stmt} // MERGE (y) SET y.x = 1"),
    ]
}
