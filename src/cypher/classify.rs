//! The write classifier: the escape pass, the lexer and the parser, in that order, as
//! Neo4j reads a statement; then what the catalog knows about the routines called, with
//! literal Cypher handed to dynamic routines classified recursively.
//!
//! Sound means: a statement may be classified as a write when it is a read, never the
//! other way round. What cannot be escaped, lexed or parsed is a write (`unparsed`).

use super::parse::{self, Facts};
use super::replay::ReplayHazard;
use super::{escape, lexer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// What a statement may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Reads only.
    Read,
    /// Creates, changes or deletes data.
    Write,
    /// Index or constraint DDL.
    Schema,
    /// Databases, aliases, users, roles, privileges, servers, transactions of others.
    Admin,
    /// Calls a procedure that is not known to be read-only.
    Procedure,
    /// Touches files or URLs (LOAD CSV, apoc.load/import/export).
    External,
    /// Targets another database (USE, or a `db` outside the connection's database).
    DbSwitch,
    /// Runs Cypher that is not known until run time (`apoc.cypher.run($q, …)`).
    Dynamic,
}

impl Class {
    /// All classes.
    pub const ALL: [Class; 8] = [
        Class::Read,
        Class::Write,
        Class::Schema,
        Class::Admin,
        Class::Procedure,
        Class::External,
        Class::DbSwitch,
        Class::Dynamic,
    ];

    /// The name used in policies and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::Schema => "schema",
            Class::Admin => "admin",
            Class::Procedure => "procedure",
            Class::External => "external",
            Class::DbSwitch => "db-switch",
            Class::Dynamic => "dynamic",
        }
    }

    /// Parses a policy name.
    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether this class can change anything.
    pub fn mutates(self) -> bool {
        !matches!(self, Class::Read | Class::DbSwitch)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The classifier's verdict on one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// Classes (never empty; `read` alone for a pure read).
    pub classes: BTreeSet<Class>,
    /// Labels and relationship types the statement names.
    pub labels: BTreeSet<String>,
    /// The names of `labels` written in node patterns or label predicates.
    pub node_labels: BTreeSet<String>,
    /// The names of `labels` written in relationship patterns (`-[:TYPE]->`).
    pub types: BTreeSet<String>,
    /// False when labels or types are computed at run time (`:$(expr)`), so `labels` may
    /// be incomplete.
    pub labels_complete: bool,
    /// Procedures called.
    pub procedures: Vec<String>,
    /// Databases named in USE clauses.
    pub databases: Vec<String>,
    /// EXPLAIN: planned, not executed. `classes` is then `read`; `explained` holds what
    /// the statement would have been.
    pub explain: bool,
    /// Classes of an EXPLAINed statement.
    pub explained: BTreeSet<Class>,
    /// Deletes nodes or relationships.
    pub deletes: bool,
    /// DELETE / DETACH DELETE over a MATCH without WHERE, property map or LIMIT.
    pub unbounded_delete: bool,
    /// DROP INDEX / DROP CONSTRAINT.
    pub schema_drop: bool,
    /// The lexer could not decide (procedures or functions it does not know): the
    /// server's EXPLAIN is authoritative.
    pub verify: bool,
    /// Why the classification is pessimistic, when it is.
    pub note: Option<String>,
    /// The statement could not be escaped, lexed or parsed: it is classed as a write
    /// (plus every class whose keywords it contains).
    pub unparsed: bool,
    /// The statement's size in bytes when it is larger than the limit it was classified
    /// under (it was not read at all).
    pub too_large: Option<usize>,
    /// Why replaying this write on another server could give another result (empty for
    /// reads, which are never replayed). See [`ReplayHazard`].
    pub replay: BTreeSet<ReplayHazard>,
    /// The classes the statement's structure proves; EXPLAIN verification only ever
    /// settles the others.
    #[serde(skip)]
    pub certain: BTreeSet<Class>,
    /// The statement commits transactions of its own (`CALL { … } IN TRANSACTIONS`, or an
    /// unparsed text naming `TRANSACTIONS` or `PERIODIC`): Neo4j runs it only as an
    /// auto-commit transaction.
    #[serde(skip)]
    pub own_transactions: bool,
}

impl Classification {
    fn empty() -> Self {
        Classification {
            classes: BTreeSet::new(),
            labels: BTreeSet::new(),
            node_labels: BTreeSet::new(),
            types: BTreeSet::new(),
            labels_complete: true,
            procedures: Vec::new(),
            databases: Vec::new(),
            explain: false,
            explained: BTreeSet::new(),
            deletes: false,
            unbounded_delete: false,
            schema_drop: false,
            verify: false,
            note: None,
            unparsed: false,
            too_large: None,
            replay: BTreeSet::new(),
            certain: BTreeSet::new(),
            own_transactions: false,
        }
    }

    /// Only reads.
    pub fn is_read(&self) -> bool {
        self.classes.iter().all(|c| *c == Class::Read)
    }

    /// Whether it has `class`.
    pub fn has(&self, class: Class) -> bool {
        self.classes.contains(&class)
    }
}

/// Literal Cypher nested deeper than this in dynamic routines is classed `dynamic`.
const MAX_NESTING: usize = 4;

/// Classifies a statement of at most `max_bytes` bytes; a larger one is not read at all
/// and comes back as a write with [`Classification::too_large`] set.
pub fn classify_limited(query: &str, max_bytes: usize) -> Classification {
    if query.len() <= max_bytes {
        return classify(query);
    }
    let mut c = Classification::empty();
    c.classes.insert(Class::Write);
    c.certain.insert(Class::Write);
    c.labels_complete = false;
    c.too_large = Some(query.len());
    c.replay.insert(ReplayHazard::Unknown);
    c.note = Some(format!(
        "the statement is {} bytes, more than limits.max_statement_bytes ({max_bytes})",
        query.len()
    ));
    c
}

/// Classifies one statement (or several separated by `;`).
///
/// Linear in the length of `query` (bounded nesting of dynamic Cypher multiplies it by
/// at most [`MAX_NESTING`]).
pub fn classify(query: &str) -> Classification {
    let mut c = classify_at(query, 0);
    if c.is_read() {
        c.replay.clear();
    }
    c
}

fn classify_at(query: &str, nesting: usize) -> Classification {
    let mut c = Classification::empty();
    let text = match escape::unescape(query) {
        Ok(t) => t,
        Err(e) => return unparsed(c, query, e.to_string()),
    };
    let tokens = match lexer::lex(&text) {
        Ok(t) => t,
        Err(e @ lexer::LexError::Unexpected('\u{85}', _)) => match cypher25_tokens(&text) {
            Some(t) => t,
            None => return unparsed(c, &text, e.to_string()),
        },
        Err(e) => return unparsed(c, &text, e.to_string()),
    };
    let mut f = Facts::default();
    if let Err(e) = parse::parse(&text, &tokens, &mut f) {
        return unparsed(c, &text, e.to_string());
    }
    for class in &f.certain {
        c.classes.insert(*class);
        c.certain.insert(*class);
    }
    for class in &f.uncertain {
        c.classes.insert(*class);
        c.verify = true;
    }
    for q in std::mem::take(&mut f.nested) {
        if nesting >= MAX_NESTING {
            c.classes.insert(Class::Dynamic);
            c.certain.insert(Class::Dynamic);
            f.notes
                .push("Cypher nested too deep in dynamic routines: dynamic".into());
            continue;
        }
        merge_nested(&mut c, &mut f, classify_at(&q, nesting + 1));
    }
    c.labels_complete = f.labels_complete;
    c.node_labels.extend(f.node_labels);
    c.types.extend(f.types);
    c.labels.extend(c.node_labels.iter().cloned());
    c.labels.extend(c.types.iter().cloned());
    c.procedures = f.procedures;
    c.databases = f.databases;
    c.deletes = f.deletes;
    c.unbounded_delete = f.deletes && f.unfiltered_match && !f.has_limit;
    c.schema_drop = f.schema_drop;
    c.own_transactions = f.own_transactions;
    c.replay.extend(f.replay);
    if c.classes.contains(&Class::External) {
        c.replay.insert(ReplayHazard::External);
    }
    if c.classes.contains(&Class::Dynamic) {
        c.replay.insert(ReplayHazard::Unknown);
    }
    if !f.notes.is_empty() {
        c.note = Some(f.notes.join("; "));
    }
    if c.classes.is_empty() {
        c.classes.insert(Class::Read);
    }
    // EXPLAIN plans a query without running it; commands are never downgraded.
    if f.explain && !f.command {
        c.explain = true;
        c.explained = std::mem::take(&mut c.classes);
        c.certain.clear();
        c.verify = false;
        c.classes.insert(Class::Read);
    }
    c
}

/// The tokens of a statement that says it is Cypher 25 (`CYPHER 25 …`, and no other
/// version anywhere), where U+0085 is whitespace; `None` otherwise.
fn cypher25_tokens(text: &str) -> Option<Vec<lexer::Token>> {
    let tokens = lexer::lex_25(text).ok()?;
    let version = |i: usize| -> Option<&str> {
        let (w, n) = (tokens.get(i)?, tokens.get(i + 1)?);
        (w.tok == lexer::Tok::Word
            && w.text(text).eq_ignore_ascii_case("CYPHER")
            && n.tok == lexer::Tok::Number)
            .then(|| n.text(text))
    };
    let versions = (0..tokens.len()).filter_map(version).collect::<Vec<_>>();
    // The one version, in the prefix (`[EXPLAIN|PROFILE] CYPHER 25 …`).
    let first = (0..3).find_map(version);
    (first == Some("25") && versions.len() == 1).then_some(tokens)
}

/// Adds what literal Cypher inside a dynamic routine does: all of it is certain (the
/// server's EXPLAIN of the outer statement never sees inside the string).
fn merge_nested(c: &mut Classification, f: &mut Facts, n: Classification) {
    let classes = if n.explain { &n.explained } else { &n.classes };
    for class in classes.iter().filter(|k| **k != Class::Read) {
        c.classes.insert(*class);
        c.certain.insert(*class);
    }
    if n.unparsed {
        c.unparsed = true;
    }
    f.replay.extend(n.replay);
    f.labels_complete &= n.labels_complete;
    f.node_labels.extend(n.node_labels);
    f.types.extend(n.types);
    f.procedures.extend(n.procedures);
    f.databases.extend(n.databases);
    f.deletes |= n.deletes;
    f.unfiltered_match |= n.unbounded_delete;
    f.schema_drop |= n.schema_drop;
    if let Some(note) = n.note {
        f.notes.push(note);
    }
}

/// What cannot be read is a write, plus every class whose keywords appear in it.
fn unparsed(mut c: Classification, text: &str, why: String) -> Classification {
    c.classes.insert(Class::Write);
    const WORDS: &[(&str, Class)] = &[
        ("INDEX", Class::Schema),
        ("CONSTRAINT", Class::Schema),
        ("GRANT", Class::Admin),
        ("DENY", Class::Admin),
        ("REVOKE", Class::Admin),
        ("USER", Class::Admin),
        ("ROLE", Class::Admin),
        ("DATABASE", Class::Admin),
        ("ALIAS", Class::Admin),
        ("SERVER", Class::Admin),
        ("PRIVILEGE", Class::Admin),
        ("PRIVILEGES", Class::Admin),
        ("PASSWORD", Class::Admin),
        ("USERS", Class::Admin),
        ("ROLES", Class::Admin),
        ("ALIASES", Class::Admin),
        ("SERVERS", Class::Admin),
        ("TERMINATE", Class::Admin),
        ("AUTH", Class::Admin),
        ("CALL", Class::Procedure),
        ("LOAD", Class::External),
        ("CSV", Class::External),
    ];
    let words = text
        .split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_')
        .filter(|w| (3..=10).contains(&w.len()));
    for word in words {
        if let Some((_, class)) = WORDS.iter().find(|(k, _)| word.eq_ignore_ascii_case(k)) {
            c.classes.insert(*class);
        }
    }
    c.own_transactions = text
        .split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_')
        .any(|w| w.eq_ignore_ascii_case("TRANSACTIONS") || w.eq_ignore_ascii_case("PERIODIC"));
    c.certain = c.classes.clone();
    c.unparsed = true;
    c.replay.insert(ReplayHazard::Unknown);
    c.labels_complete = false;
    c.note = Some(format!("{why}; treated as a write"));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statements that commit transactions of their own must stay auto-commit.
    #[test]
    fn own_transactions_are_recognised() {
        for (q, own) in [
            ("CALL { CREATE (:A) } IN TRANSACTIONS", true),
            (
                "MATCH (n) CALL (n) { SET n.x = 1 } IN 4 CONCURRENT TRANSACTIONS OF 10 ROWS",
                true,
            ),
            ("CALL { CREATE (:A) }", false),
            ("CREATE (:A {name: 'IN TRANSACTIONS'})", false),
            ("CALL { CREATE (:A) } IN TRANSACTIONS ON ERROR FAIL )", true), // unparsed
            (
                "USING PERIODIC COMMIT LOAD CSV FROM 'x' AS r CREATE ()",
                true,
            ), // unparsed
            ("CREATE (:A", false),                                          // unparsed
        ] {
            assert_eq!(classify(q).own_transactions, own, "{q}");
        }
    }

    /// Every adversarial shape at 1 MiB classifies on a 2 MiB stack (a tokio worker's),
    /// in a debug build, and none of them is mistaken for something it is not.
    #[test]
    fn adversarial_shapes_are_bounded() {
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                for (name, q) in super::super::shapes::adversarial(1024 * 1024) {
                    let c = classify(&q);
                    let expect_read = !matches!(name, "deep-nesting" | "deep-lists" | "unbalanced");
                    assert_eq!(c.is_read(), expect_read, "{name}: {:?}", c.note);
                }
            })
            .unwrap();
        handle.join().expect("no stack overflow");
    }

    /// Dynamic Cypher nested as deep as allowed, each level nested as deep as allowed.
    #[test]
    fn nested_dynamic_cypher_is_bounded() {
        let depth = parse::MAX_DEPTH - 8;
        let mut q = format!("RETURN {}1{}", "(".repeat(depth), ")".repeat(depth));
        for _ in 0..=MAX_NESTING {
            let quoted = q.replace('\\', "\\\\").replace('\'', "\\'");
            q = format!(
                "RETURN {}apoc.cypher.runFirstColumnSingle('{quoted}', {{}}){}",
                "(".repeat(depth / 2),
                ")".repeat(depth / 2)
            );
        }
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || classify(&q))
            .unwrap();
        let c = handle.join().expect("no stack overflow");
        assert!(
            c.has(Class::Dynamic),
            "too deep is dynamic: {:?}",
            c.classes
        );
    }
}
