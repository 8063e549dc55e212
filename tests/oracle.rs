//! The classifier against an independent judge: Neo4j's own query front end and Cypher 25
//! ANTLR grammar, from npm `@neo4j-cypher/language-support` (`oracle/`, see its README).
//!
//! For every statement the oracle reports whether its parse holds an updating clause, a
//! schema or administration command, LOAD CSV or procedure calls (after Neo4j's escape
//! pass). A statement it flags must never be classified as a read — except procedures that
//! boltward's catalog lists as read-only, which are checked against Neo4j's own procedure
//! catalog instead. Statements whose Cypher 25 parse has syntax errors (the server refuses
//! them, and the flags come from ANTLR's error recovery) and EXPLAIN statements (planned,
//! not run) are counted but not judged. The false-positive rate is reported: statements the
//! oracle does not flag that boltward classifies as more than a read.
//!
//! Runs (a) the corpus, fully analysed, plus 20 disguises of each corpus statement, and
//! (b) `BOLTWARD_ORACLE_COUNT` (default 100,000) generated, obfuscated statements from a
//! seed that changes every day (`BOLTWARD_ORACLE_SEED` to replay one). Needs `npm ci` in
//! `oracle/` (scripts/setup-testenv.sh does it).

#[allow(dead_code)]
mod cypher;

use boltward::cypher::catalog::{self, Kind, RoutineClass};
use boltward::cypher::obfuscate::{obfuscate, Seeded, Transforms};
use boltward::cypher::{classify, Class};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn oracle_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle");
    assert!(
        dir.join("node_modules/@neo4j-cypher/language-support")
            .is_dir(),
        "the oracle is not installed: run scripts/setup-testenv.sh (or `npm ci` in oracle/)"
    );
    dir
}

/// Runs a node script of the oracle; its standard output as JSON lines.
fn node(args: &[&str], input: Option<String>) -> Vec<Value> {
    let dir = oracle_dir();
    let mut child = Command::new("node")
        .args(args)
        .current_dir(&dir)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node (Node.js 20) is installed");
    if let Some(text) = input {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node {args:?} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn judge(statements: &[String], analyze: &str) -> Vec<Value> {
    let input: String = statements
        .iter()
        .map(|q| serde_json::json!({ "q": q }).to_string() + "\n")
        .collect();
    let v = node(
        &["judge-cli.mjs", "--analyze", analyze, "--workers", "2"],
        Some(input),
    );
    assert_eq!(v.len(), statements.len(), "one verdict per statement");
    v
}

/// A procedure that runs Cypher given as a string: the oracle cannot see inside the
/// string; boltward classifies a literal one recursively (and the oracle judges the same
/// classifier on statements of their own), anything else is `dynamic`.
fn catalog_dynamic(name: &str) -> bool {
    catalog::lookup(name, Kind::Procedure).is_some_and(|e| e.class == RoutineClass::Dynamic)
}

/// A procedure boltward's catalog calls read-only.
fn catalog_read(name: &str) -> bool {
    catalog::lookup(name, Kind::Procedure).is_some_and(|e| e.class == RoutineClass::Read)
}

/// Classes boltward gives on purpose where the oracle sees no write: SHOW USERS / ROLES /
/// PRIVILEGES / ALIASES / SERVERS are `admin` (they disclose security configuration), and
/// functions the catalog does not call read-only (external access such as `apoc.load.*` or
/// `genai.*`, dynamic Cypher, unknown functions) are never reads, and dynamic procedures
/// have the classes of the literal Cypher they run, which the oracle cannot see.
fn by_design(v: &Value, c: &boltward::cypher::Classification) -> bool {
    let rules = v["rules"].as_array().unwrap();
    let admin_show = rules.iter().any(|r| r == "showAdminCommand");
    let function = v["functions"].as_array().unwrap().iter().any(|f| {
        let name = f.as_str().unwrap_or("");
        name.contains('.')
            && !catalog::lookup(name, Kind::Function).is_some_and(|e| e.class == RoutineClass::Read)
    });
    let dynamic = v["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| catalog_dynamic(p.as_str().unwrap_or("")));
    (admin_show && c.has(Class::Admin)) || function || dynamic
}

#[derive(Default, Debug)]
struct Tally {
    checked: usize,
    flagged: usize,
    clean: usize,
    false_positives: usize,
    by_design: usize,
    unjudged_syntax: usize,
    unjudged_explain: usize,
    misses: Vec<String>,
    fp_examples: Vec<String>,
}

impl Tally {
    fn add(&mut self, v: &Value) {
        let q = v["q"].as_str().unwrap();
        self.checked += 1;
        if v["explain"] == true {
            self.unjudged_explain += 1;
            return;
        }
        if v["structure_reliable"] != true
            || v["escape_multi_u"] == true
            || v["escape_malformed"] == true
        {
            // Neo4j refuses these: syntax errors, or an escape its reader cannot read
            // (malformed, or `u` repeated).
            self.unjudged_syntax += 1;
            return;
        }
        let procs: Vec<&str> = v["procedures"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let flagged = v["update"] == true
            || v["schema"] == true
            || v["admin"] == true
            || v["load_csv"] == true
            || procs
                .iter()
                .any(|p| !catalog_read(p) && !catalog_dynamic(p));
        let c = classify(q);
        let writes = c.classes.iter().any(|k| k.mutates());
        if flagged {
            self.flagged += 1;
            if !writes {
                self.misses.push(format!(
                    "MISSED: {q:?}: oracle {} but classified {:?}",
                    v["rules"], c.classes
                ));
            }
        } else {
            self.clean += 1;
            if writes && by_design(v, &c) {
                self.by_design += 1;
            } else if writes {
                self.false_positives += 1;
                if self.fp_examples.len() < 15 {
                    self.fp_examples
                        .push(format!("{q:?} → {:?} ({:?})", c.classes, c.note));
                }
            }
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "oracle, {what}: {} statements; {} flagged by the oracle, missed {}; {} not flagged, \
             of which {} classified as more than read ({:.2}% false positives) and {} by design \
             (admin SHOW commands, external/dynamic/unknown functions); not judged: {} refused \
             by Neo4j's Cypher 25 grammar or escape reader, {} EXPLAIN",
            self.checked,
            self.flagged,
            self.misses.len(),
            self.clean,
            self.false_positives,
            100.0 * self.false_positives as f64 / self.clean.max(1) as f64,
            self.by_design,
            self.unjudged_syntax,
            self.unjudged_explain,
        );
        for e in &self.fp_examples {
            eprintln!("  false positive: {e}");
        }
        assert!(
            self.misses.is_empty(),
            "{} writes classified read:\n{}",
            self.misses.len(),
            self.misses[..self.misses.len().min(40)].join("\n")
        );
    }
}

/// The corpus as written, fully analysed by Neo4j's front end (the corpus is meant to be
/// valid Cypher: what the front end refuses is listed), and 20 disguises of each statement.
#[test]
fn corpus_against_neo4js_front_end() {
    let corpus: Vec<String> = cypher::corpus().into_iter().map(|(_, s)| s).collect();
    let verdicts = judge(&corpus, "full");
    let mut tally = Tally::default();
    let mut refused = 0;
    for v in &verdicts {
        tally.add(v);
        if v["validity"] == "rejected" && v["valid25"] != "accepted" && v["valid5"] != "accepted" {
            refused += 1;
        }
    }
    eprintln!("corpus: {refused} statements refused by Neo4j's front end under both versions");
    tally.report("corpus");

    let mut disguised = Vec::new();
    for (i, stmt) in corpus.iter().enumerate() {
        for k in 0..20u64 {
            if let Some(d) = obfuscate(stmt, Transforms::ALL, &mut Seeded(i as u64 * 31 + k)) {
                disguised.push(d);
            }
        }
    }
    let mut tally = Tally::default();
    for v in judge(&disguised, "none") {
        tally.add(&v);
    }
    tally.report("corpus disguises");
}

/// Generated, obfuscated statements: a new seed every day.
#[test]
fn generated_statements_against_neo4js_grammar() {
    let count = std::env::var("BOLTWARD_ORACLE_COUNT").unwrap_or_else(|_| "100000".into());
    let seed = std::env::var("BOLTWARD_ORACLE_SEED").unwrap_or_else(|_| {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 86_400;
        days.to_string()
    });
    eprintln!(
        "generating {count} statements, seed {seed} (BOLTWARD_ORACLE_SEED={seed} replays them)"
    );
    let verdicts = node(
        &[
            "generate.mjs",
            "--count",
            &count,
            "--seed",
            &seed,
            "--workers",
            "2",
            "--quiet",
        ],
        None,
    );
    assert_eq!(verdicts.len().to_string(), count);
    let mut tally = Tally::default();
    let (mut analysed, mut agree, mut disagree) = (0, 0, 0);
    for v in &verdicts {
        tally.add(v);
        if !v["valid"].is_null() {
            analysed += 1;
        }
        match v["escape_agrees"].as_bool() {
            Some(true) => agree += 1,
            Some(false) => disagree += 1,
            None => {}
        }
    }
    eprintln!(
        "escape pass vs Neo4j's front end on {analysed} fully analysed statements: {agree} agree, \
         {disagree} differ (the front end's lost diagnostics, see oracle/README.md)"
    );
    tally.report(&format!("generated (seed {seed})"));
}

/// Every procedure boltward's catalog calls read-only runs read-only in Neo4j's own
/// procedure catalog (a `dbms.procedures()` dump of a server with APOC and GDS): mode READ
/// or DEFAULT (which the kernel runs as READ). A DBMS- or SCHEMA-mode procedure may only be
/// called read with a note in the catalog saying why (it lists, and changes nothing).
#[test]
fn catalog_reads_are_read_mode_in_neo4js_catalog() {
    let dump = node(&["catalog-dump.mjs"], None);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for p in dump[0]["CYPHER 25"]["procedures"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let mode = p["mode"].as_str().unwrap_or("");
        let Some(e) = catalog::lookup(name, Kind::Procedure) else {
            continue;
        };
        if e.class == RoutineClass::Read {
            checked += 1;
            let explained = matches!(mode, "DBMS" | "SCHEMA") && e.note.is_some();
            if !matches!(mode, "READ" | "DEFAULT") && !explained {
                wrong.push(format!("{name}: boltward says read, Neo4j says {mode}"));
            }
        }
    }
    eprintln!("catalog: {checked} read-only procedures checked against Neo4j's modes");
    assert!(checked > 100, "only {checked}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // And the classifier agrees with the catalog on a call of each.
    assert!(classify("CALL db.labels()").is_read());
    assert!(classify("CALL apoc.create.node(['A'], {})").has(Class::Procedure));
}
