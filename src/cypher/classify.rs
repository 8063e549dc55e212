//! The write classifier.
//!
//! A word is treated as a keyword unless its position says it is a name: after `.`
//! (property), after `:` (label, type, map value), before `:` (map key or variable with a
//! label) or after `AS` (alias). Everything else errs towards "write": a variable called
//! `create` makes a read look like a write, which is safe; nothing can make a write look
//! like a read except a keyword the lexer never sees, and strings and comments are the only
//! places keywords can hide.

use super::lexer::{lex, Token};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// What a statement may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
}

impl Class {
    /// All classes.
    pub const ALL: [Class; 7] = [
        Class::Read,
        Class::Write,
        Class::Schema,
        Class::Admin,
        Class::Procedure,
        Class::External,
        Class::DbSwitch,
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

/// Procedures known to be read-only.
const READ_PROCEDURES: &[&str] = &[
    "db.labels",
    "db.relationshiptypes",
    "db.propertykeys",
    "db.schema.visualization",
    "db.schema.nodetypeproperties",
    "db.schema.reltypeproperties",
    "db.indexes",
    "db.constraints",
    "db.info",
    "db.ping",
    "db.index.fulltext.querynodes",
    "db.index.fulltext.queryrelationships",
    "db.index.vector.querynodes",
    "db.index.vector.queryrelationships",
    "dbms.components",
    "dbms.procedures",
    "dbms.functions",
    "dbms.showcurrentuser",
    "dbms.routing.getroutingtable",
    "dbms.cluster.routing.getroutingtable",
    "apoc.help",
    "apoc.meta.schema",
    "apoc.meta.data",
    "apoc.meta.stats",
    "apoc.meta.graph",
];

/// Namespaces of functions that are known not to touch anything outside the query.
const SAFE_FUNCTION_NAMESPACES: &[&str] = &[
    "point",
    "date",
    "datetime",
    "localdatetime",
    "localtime",
    "time",
    "duration",
    "vector",
    "apoc.coll",
    "apoc.text",
    "apoc.map",
    "apoc.convert",
    "apoc.date",
    "apoc.math",
    "apoc.number",
    "apoc.agg",
    "apoc.util.md5",
    "apoc.util.sha1",
    "apoc.util.sha256",
];

const EXTERNAL_PREFIXES: &[&str] = &[
    "apoc.load.",
    "apoc.import.",
    "apoc.export.",
    "apoc.systemdb.",
];

/// Words that start a clause (used to delimit MATCH segments).
const CLAUSES: &[&str] = &[
    "MATCH", "OPTIONAL", "WITH", "RETURN", "DELETE", "DETACH", "SET", "REMOVE", "CREATE", "MERGE",
    "UNWIND", "CALL", "FOREACH", "UNION", "ORDER", "SKIP", "LIMIT", "USE", "LOAD", "FINISH",
    "INSERT", "FILTER", "LET",
];

/// Braces are either map literals or subquery bodies; a `:` inside a map literal after a
/// key is not a label.
#[derive(Clone, Copy, PartialEq)]
enum Brace {
    Map,
    Block,
}

/// An upper-cased ASCII word of at most 16 bytes, on the stack: keyword checks allocate
/// nothing (no Cypher keyword is longer).
#[derive(Clone, Copy)]
struct Up {
    b: [u8; 16],
    n: usize,
}

impl Up {
    fn new(w: &str) -> Option<Up> {
        if w.len() > 16 || !w.is_ascii() {
            return None;
        }
        let mut b = [0u8; 16];
        for (d, s) in b.iter_mut().zip(w.bytes()) {
            *d = s.to_ascii_uppercase();
        }
        Some(Up { b, n: w.len() })
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.b[..self.n]).unwrap_or("")
    }
}

struct Walk<'t, 'a> {
    t: &'t [Token<'a>],
}

impl<'a> Walk<'_, 'a> {
    fn punct(&self, i: usize, c: char) -> bool {
        matches!(self.t.get(i), Some(Token::Punct(p)) if *p == c)
    }

    /// Whether the word at `i` is one of `words` (upper case), ignoring case.
    fn is(&self, i: usize, words: &[&str]) -> bool {
        matches!(self.t.get(i), Some(Token::Word(w)) if words.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    /// The upper-cased keyword at `i`, if the word there is in keyword position.
    fn kw(&self, i: usize) -> Option<Up> {
        let Some(Token::Word(w)) = self.t.get(i) else {
            return None;
        };
        if i > 0 && (self.punct(i - 1, '.') || self.punct(i - 1, ':')) {
            return None;
        }
        if self.punct(i + 1, ':') {
            return None;
        }
        if i > 0
            && matches!(self.t.get(i - 1), Some(Token::Word(p)) if p.eq_ignore_ascii_case("AS"))
        {
            return None;
        }
        if i > 0
            && matches!(self.t.get(i - 1), Some(Token::Punct('|' | '&' | '!')))
            && label_context(self, i - 1)
        {
            return None;
        }
        Up::new(w)
    }

    fn name_at(&self, i: usize) -> Option<String> {
        match self.t.get(i) {
            Some(Token::Word(w)) => Some((*w).to_owned()),
            Some(Token::Quoted(q)) => Some(q.clone()),
            _ => None,
        }
    }

    /// A dotted name starting at `i`: `(name, index after it)`.
    /// Where a dotted name starting at `i` ends (no allocation).
    fn dotted_end(&self, mut i: usize) -> usize {
        i += 1;
        while self.punct(i, '.')
            && matches!(self.t.get(i + 1), Some(Token::Word(_) | Token::Quoted(_)))
        {
            i += 2;
        }
        i
    }

    fn dotted(&self, mut i: usize) -> Option<(String, usize)> {
        let mut name = self.name_at(i)?;
        i += 1;
        while self.punct(i, '.') {
            let Some(part) = self.name_at(i + 1) else {
                break;
            };
            name.push('.');
            name.push_str(&part);
            i += 2;
        }
        Some((name, i))
    }
}

/// Classifies one statement.
pub fn classify(query: &str) -> Classification {
    let mut c = Classification::empty();
    let tokens = match lex(query) {
        Ok(t) => t,
        Err(e) => {
            c.classes.insert(Class::Write);
            c.verify = true;
            c.labels_complete = false;
            c.note = Some(format!(
                "could not lex the statement ({e}); treated as a write"
            ));
            return c;
        }
    };
    let w = Walk { t: &tokens };
    let mut braces: Vec<Brace> = Vec::new();
    let mut state = State::default();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{') => {
                let block = i > 0
                    && (w.punct(i - 1, ')')
                        || w.is(
                            i - 1,
                            &["CALL", "EXISTS", "COUNT", "COLLECT", "THEN", "ELSE"],
                        ));
                braces.push(if block { Brace::Block } else { Brace::Map });
            }
            Token::Punct('}') => {
                braces.pop();
            }
            Token::Punct(':') => {
                let map_key = braces.last() == Some(&Brace::Map)
                    && i >= 2
                    && w.name_at(i - 1).is_some()
                    && (w.punct(i - 2, '{') || w.punct(i - 2, ','));
                if !map_key {
                    collect_labels(&w, i + 1, &mut c);
                }
            }
            Token::Punct('|' | '&' | '!') if i > 0 && label_context(&w, i) => {
                collect_labels(&w, i + 1, &mut c);
            }
            Token::Punct(';') => state.admin = false,
            Token::Word(_) => {
                // `a.b.c(` is a function call and `n.prop` a property: neither is a keyword.
                if w.punct(i + 1, '.') {
                    let after = w.dotted_end(i);
                    if w.punct(after, '(') {
                        if let Some((name, _)) = w.dotted(i) {
                            function(&name, &mut c);
                        }
                    }
                    i = after;
                    continue;
                }
                if let Some(k) = w.kw(i) {
                    i = keyword(&w, i, k.as_str(), &mut c, &mut state);
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if c.deletes && state.unfiltered_match && !state.has_limit {
        c.unbounded_delete = true;
    }
    if c.classes.is_empty() {
        c.classes.insert(Class::Read);
    }
    if c.explain {
        c.explained = std::mem::take(&mut c.classes);
        c.classes.insert(Class::Read);
    }
    c
}

/// Whether a `|`, `&` or `!` continues a label expression (`:A|B`, `:A&!B`).
fn label_context(w: &Walk<'_, '_>, i: usize) -> bool {
    let mut j = i;
    while j > 0 {
        j -= 1;
        match w.t.get(j) {
            Some(Token::Punct(':')) => return true,
            Some(Token::Word(_) | Token::Quoted(_)) | Some(Token::Punct('|' | '&' | '!' | '%')) => {
                continue
            }
            _ => return false,
        }
    }
    false
}

fn collect_labels(w: &Walk<'_, '_>, mut i: usize, c: &mut Classification) {
    while w.punct(i, '!') {
        i += 1;
    }
    let name = match w.t.get(i) {
        Some(Token::Word(l)) => (*l).to_owned(),
        Some(Token::Quoted(l)) => l.clone(),
        Some(Token::Param(_)) | Some(Token::Punct('$')) => {
            c.labels_complete = false;
            return;
        }
        _ => return,
    };
    if in_relationship_pattern(w, i) {
        c.types.insert(name.clone());
    } else {
        c.node_labels.insert(name.clone());
    }
    c.labels.insert(name);
}

/// Whether the label expression around token `i` sits in `[...]` (a relationship type).
fn in_relationship_pattern(w: &Walk<'_, '_>, i: usize) -> bool {
    let mut j = i;
    while j > 0 {
        j -= 1;
        match w.t.get(j) {
            Some(Token::Punct('[')) => return true,
            Some(Token::Word(_) | Token::Quoted(_))
            | Some(Token::Punct(':' | '|' | '&' | '!' | '%')) => continue,
            _ => return false,
        }
    }
    false
}

fn function(name: &str, c: &mut Classification) {
    let lower = name.to_ascii_lowercase();
    if EXTERNAL_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        c.classes.insert(Class::External);
        c.verify = true;
    } else if !SAFE_FUNCTION_NAMESPACES
        .iter()
        .any(|ns| lower.starts_with(&format!("{ns}.")) || lower == *ns)
    {
        // Unknown namespaced function (or a property access followed by a call, which is
        // not valid Cypher): functions cannot write, but they might touch files or URLs.
        c.verify = true;
    }
}

/// What the walk has seen so far.
#[derive(Default)]
struct State {
    seen_clause: bool,
    has_limit: bool,
    unfiltered_match: bool,
    /// The statement is an administration command: its `SET` / `REMOVE` words are part of
    /// that command's syntax (`ALTER USER bob SET PASSWORD …`), not data writes.
    admin: bool,
}

fn keyword(
    w: &Walk<'_, '_>,
    i: usize,
    k: &str,
    c: &mut Classification,
    state: &mut State,
) -> usize {
    let next = |n: usize, words: &[&str]| w.is(i + n, words);
    let first = !state.seen_clause;
    state.seen_clause |= !matches!(k, "CYPHER" | "EXPLAIN" | "PROFILE");
    if state.admin && matches!(k, "SET" | "REMOVE") {
        return i + 1;
    }
    match k {
        "EXPLAIN" if first => c.explain = true,
        "CREATE" => {
            let mut j = 1;
            if next(1, &["OR"]) && next(2, &["REPLACE"]) {
                j = 3;
            }
            while next(
                j,
                &[
                    "FULLTEXT", "TEXT", "RANGE", "POINT", "LOOKUP", "VECTOR", "BTREE",
                ],
            ) {
                j += 1;
            }
            if next(j, &["INDEX", "CONSTRAINT"]) {
                c.classes.insert(Class::Schema);
            } else if next(j, &["DATABASE", "ALIAS", "USER", "ROLE", "COMPOSITE"]) {
                state.admin |= first;
                c.classes.insert(Class::Admin);
            } else {
                c.classes.insert(Class::Write);
            }
        }
        "DROP" => {
            if next(1, &["INDEX", "CONSTRAINT"]) {
                c.classes.insert(Class::Schema);
                c.schema_drop = true;
            } else {
                state.admin |= first;
                c.classes.insert(Class::Admin);
            }
        }
        "MERGE" | "SET" | "REMOVE" | "INSERT" | "FOREACH" => {
            c.classes.insert(Class::Write);
        }
        "DELETE" | "DETACH" => {
            c.classes.insert(Class::Write);
            c.deletes = true;
        }
        "IN" if next(1, &["TRANSACTIONS"]) => {
            c.classes.insert(Class::Write);
        }
        "LIMIT" => state.has_limit = true,
        "MATCH" if !match_is_filtered(w, i + 1) => state.unfiltered_match = true,
        "LOAD" if next(1, &["CSV"]) => {
            c.classes.insert(Class::External);
        }
        "USE" => {
            c.classes.insert(Class::DbSwitch);
            if let Some((db, after)) = w.dotted(i + 1) {
                c.databases.push(db);
                return after;
            }
            c.databases.push("<dynamic>".into());
        }
        "SHOW" => {
            const READ: &[&str] = &[
                "INDEX",
                "INDEXES",
                "CONSTRAINT",
                "CONSTRAINTS",
                "PROCEDURE",
                "PROCEDURES",
                "FUNCTION",
                "FUNCTIONS",
                "TRANSACTION",
                "TRANSACTIONS",
                "SETTING",
                "SETTINGS",
                "DATABASE",
                "DATABASES",
            ];
            const ADMIN: &[&str] = &[
                "USER",
                "USERS",
                "ROLE",
                "ROLES",
                "PRIVILEGE",
                "PRIVILEGES",
                "ALIAS",
                "ALIASES",
                "SERVER",
                "SERVERS",
            ];
            let mut read = false;
            for j in 1..=4 {
                if !matches!(w.t.get(i + j), Some(Token::Word(_))) || next(j, ADMIN) {
                    break;
                }
                if next(j, READ) {
                    read = true;
                    break;
                }
            }
            if !read {
                c.classes.insert(Class::Admin);
            }
        }
        "GRANT" | "DENY" | "REVOKE" | "ALTER" | "RENAME" | "TERMINATE" | "ENABLE"
        | "DEALLOCATE" | "REALLOCATE" | "DRYRUN" | "START" | "STOP" => {
            state.admin |= first;
            c.classes.insert(Class::Admin);
        }
        "CALL" => {
            if let Some((name, after)) = w.dotted(i + 1) {
                procedure(&name, c);
                return after;
            }
        }
        _ => {}
    }
    i + 1
}

fn procedure(name: &str, c: &mut Classification) {
    let lower = name.to_ascii_lowercase();
    c.procedures.push(name.to_owned());
    if EXTERNAL_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        c.classes.insert(Class::External);
        c.classes.insert(Class::Procedure);
        c.verify = true;
    } else if lower.starts_with("dbms.security.") || lower.starts_with("dbms.setconfigvalue") {
        c.classes.insert(Class::Admin);
        c.classes.insert(Class::Procedure);
    } else if !READ_PROCEDURES.contains(&lower.as_str()) {
        c.classes.insert(Class::Procedure);
        c.verify = true;
    }
}

/// Whether the MATCH starting at `i` is narrowed by WHERE or an inline property map.
fn match_is_filtered(w: &Walk<'_, '_>, mut i: usize) -> bool {
    let mut depth = 0i32;
    while let Some(t) = w.t.get(i) {
        match t {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            Token::Punct('{') if depth > 0 => return true,
            Token::Word(_) if depth <= 0 => {
                if let Some(k) = w.kw(i) {
                    if k.as_str() == "WHERE" {
                        return true;
                    }
                    if CLAUSES.contains(&k.as_str()) {
                        return false;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}
