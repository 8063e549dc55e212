//! A recursive-descent parser for the structure of Cypher 5 and Cypher 25 statements.
//!
//! It does not build a tree: it walks the statement as Neo4j's grammar does and reports
//! what it meets into [`Facts`] — updating clauses, schema and administration commands,
//! procedure and function calls, labels and types, USE targets. Clause boundaries come
//! from the grammar: a word is a clause keyword only where a clause can start, and a name
//! only where a name can stand, exactly as in Neo4j's parser.
//!
//! Soundness rests on one rule: **every token is consumed by a specific grammar rule**.
//! Nothing is skipped by balancing brackets or by guessing; what the parser does not know
//! is an error, and the classifier treats an error as a write. Schema and administration
//! commands are recognised by their leading keywords and are never reads, so their bodies
//! are not parsed further (except the read-only SHOW commands, which are).
//!
//! Bounded work: decisions need at most a fixed lookahead plus a precomputed table of
//! matching brackets (no backtracking), unary operator runs and operator chains are
//! loops, and nesting deeper than [`MAX_DEPTH`] is an error. So parsing is linear in the
//! number of tokens.

use super::catalog::{self, Entry, Kind, RoutineClass};
use super::lexer::{self, Tok, Token};
use super::replay::{self, CallArgs, ReplayHazard};
use super::Class;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Brackets nested deeper than this are refused (the classifier then says write).
pub const MAX_DEPTH: usize = 256;

/// List literals longer than this are not looked into for literal Cypher.
const MAX_LIST_SHAPES: usize = 64;

/// What the parser found.
#[derive(Debug, Default)]
pub struct Facts {
    /// Classes the structure proves (EXPLAIN verification never removes these).
    pub certain: Vec<Class>,
    /// Classes from procedures the catalog does not know: the server's EXPLAIN may
    /// settle them.
    pub uncertain: Vec<Class>,
    /// Labels in node patterns and label predicates.
    pub node_labels: BTreeSet<String>,
    /// Relationship types.
    pub types: BTreeSet<String>,
    /// False when a label or type is computed at run time.
    pub labels_complete: bool,
    /// Procedures called, as written (qualified).
    pub procedures: Vec<String>,
    /// USE targets (`<dynamic>` for a computed one).
    pub databases: Vec<String>,
    /// The statement starts with EXPLAIN.
    pub explain: bool,
    /// A DELETE of any kind.
    pub deletes: bool,
    /// A MATCH without WHERE, inline properties or inline WHERE.
    pub unfiltered_match: bool,
    /// A LIMIT anywhere.
    pub has_limit: bool,
    /// DROP INDEX / DROP CONSTRAINT.
    pub schema_drop: bool,
    /// The statement is a schema or administration command.
    pub command: bool,
    /// `CALL { … } IN TRANSACTIONS`: the statement commits transactions of its own, which
    /// Neo4j allows only in an auto-commit transaction.
    pub own_transactions: bool,
    /// Cypher text given to a dynamic routine as a literal, to classify recursively.
    pub nested: Vec<String>,
    /// Why a class was added that a reader might not expect.
    pub notes: Vec<String>,
    /// Why replaying the statement elsewhere could give another result (whether or not
    /// it writes; the classifier keeps them for writes).
    pub replay: BTreeSet<ReplayHazard>,
}

/// The statement does not fit the grammar this parser knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse at byte {at}: expected {expected}")]
pub struct ParseError {
    /// Byte offset of the token the parser stopped at (the text's length at its end).
    pub at: usize,
    /// What the grammar allows there.
    pub expected: &'static str,
}

/// The parse stopped; the parser keeps the [`ParseError`] (a zero-sized error keeps every
/// `Result` small enough to travel in registers).
#[derive(Debug)]
struct Stop;

type PResult<T> = Result<T, Stop>;

/// The shape of a parsed expression, as far as dynamic routines need it.
enum Shape {
    /// A string literal: the index of its token.
    Str(u32),
    /// A short list literal: the index of its element shapes in `Parser::lists`.
    List(u32),
    /// A map literal; `clock`: it names no key but `timezone` (see [`CallArgs`]).
    Map {
        clock: bool,
    },
    /// A number literal.
    Number,
    Other,
}

/// The arguments of a call: their shapes and the tokens between the parentheses.
struct Args {
    shapes: Vec<Shape>,
    tokens: std::ops::Range<usize>,
}

/// A word upper-cased on the stack, for keyword dispatch without allocating; a word too
/// long or not ASCII is no keyword and comes out empty.
struct Up {
    b: [u8; 24],
    n: usize,
}

impl Up {
    fn new(w: &str) -> Up {
        let mut b = [0u8; 24];
        if w.len() > b.len() || !w.is_ascii() {
            return Up { b, n: 0 };
        }
        for (d, s) in b.iter_mut().zip(w.bytes()) {
            *d = s.to_ascii_uppercase();
        }
        Up { b, n: w.len() }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.b[..self.n]).unwrap_or("")
    }
}

/// Where a label expression stands.
#[derive(Clone, Copy, PartialEq)]
enum LabelSite {
    Node,
    Relationship,
}

/// Words that start a clause of a query.
const CLAUSE_STARTS: &[&str] = &[
    "MATCH",
    "OPTIONAL",
    "WITH",
    "RETURN",
    "UNWIND",
    "CALL",
    "CREATE",
    "MERGE",
    "SET",
    "REMOVE",
    "DELETE",
    "DETACH",
    "NODETACH",
    "FOREACH",
    "LOAD",
    "USE",
    "FINISH",
    "FILTER",
    "LET",
    "INSERT",
    "ORDER",
    "SKIP",
    "OFFSET",
    "LIMIT",
    "SEARCH",
    "SHOW",
    "TERMINATE",
    "FOR",
];

/// Words of a SHOW command before its noun.
const SHOW_MODIFIERS: &[&str] = &[
    "ALL",
    "BTREE",
    "FULLTEXT",
    "LOOKUP",
    "POINT",
    "RANGE",
    "TEXT",
    "VECTOR",
    "UNIQUE",
    "UNIQUENESS",
    "KEY",
    "EXIST",
    "EXISTS",
    "EXISTENCE",
    "NODE",
    "RELATIONSHIP",
    "REL",
    "PROPERTY",
    "PROP",
    "TYPE",
    "BUILT",
    "IN",
    "USER",
    "DEFINED",
    "DEFAULT",
    "HOME",
];

/// Nouns of the SHOW commands that only read.
const SHOW_READ_NOUNS: &[&str] = &[
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

/// Words that end a query part without being a clause.
const QUERY_ENDS: &[&str] = &["UNION", "NEXT", "WHEN", "ELSE"];

/// Parses `tokens` (one or more statements separated by `;`) into `facts`.
pub fn parse(text: &str, tokens: &[Token], facts: &mut Facts) -> Result<(), ParseError> {
    let close = match_brackets(tokens)?;
    let mut p = Parser {
        src: text,
        t: tokens,
        i: 0,
        close,
        depth: 0,
        inline_filter: false,
        lists: Vec::new(),
        error: None,
        f: facts,
    };
    p.f.labels_complete = true;
    p.statements().map_err(|Stop| {
        p.error.take().unwrap_or(ParseError {
            at: 0,
            expected: "a statement",
        })
    })
}

/// For each opening bracket, the index of its closing one; brackets that do not match
/// are an error (Neo4j refuses them too).
fn match_brackets(t: &[Token]) -> Result<Vec<u32>, ParseError> {
    let mut close = vec![u32::MAX; t.len()];
    let mut open: Vec<u32> = Vec::new();
    for (i, tok) in t.iter().enumerate() {
        let Tok::Punct(c) = tok.tok else { continue };
        let want = match c {
            b'(' | b'[' | b'{' => {
                open.push(i as u32);
                continue;
            }
            b')' => b'(',
            b']' => b'[',
            b'}' => b'{',
            _ => continue,
        };
        match open.pop() {
            Some(o) if t[o as usize].tok == Tok::Punct(want) => close[o as usize] = i as u32,
            _ => {
                return Err(ParseError {
                    at: tok.at as usize,
                    expected: "balanced brackets",
                })
            }
        }
    }
    if let Some(o) = open.pop() {
        return Err(ParseError {
            at: t[o as usize].at as usize,
            expected: "a closing bracket",
        });
    }
    Ok(close)
}

struct Parser<'t, 'a, 'f> {
    src: &'a str,
    t: &'t [Token],
    i: usize,
    close: Vec<u32>,
    depth: usize,
    /// The current MATCH has inline properties or an inline WHERE.
    inline_filter: bool,
    /// Element shapes of short list literals ([`Shape::List`]).
    lists: Vec<Vec<Shape>>,
    /// Why the parse stopped.
    error: Option<ParseError>,
    f: &'f mut Facts,
}

impl<'a> Parser<'_, 'a, '_> {
    // ---- token helpers -------------------------------------------------------------

    fn tok(&self, i: usize) -> Option<Tok> {
        self.t.get(i).map(|t| t.tok)
    }

    fn text(&self, i: usize) -> &'a str {
        self.t.get(i).map_or("", |t| t.text(self.src))
    }

    #[cold]
    fn err<T>(&mut self, expected: &'static str) -> PResult<T> {
        self.error = Some(ParseError {
            at: self.t.get(self.i).map_or(self.src.len(), |t| t.at as usize),
            expected,
        });
        Err(Stop)
    }

    fn word_at(&self, i: usize) -> Option<&'a str> {
        match self.tok(i) {
            Some(Tok::Word) => Some(self.text(i)),
            _ => None,
        }
    }

    /// Whether the token at `i` is the keyword `k` (ASCII, any case). The length is
    /// compared first: most checks end there, without touching the text.
    fn kw_at(&self, i: usize, k: &str) -> bool {
        self.word_bytes(i)
            .is_some_and(|w| w.len() == k.len() && w.eq_ignore_ascii_case(k.as_bytes()))
    }

    fn kws_at(&self, i: usize, ks: &[&str]) -> bool {
        self.word_bytes(i).is_some_and(|w| {
            ks.iter()
                .any(|k| w.len() == k.len() && w.eq_ignore_ascii_case(k.as_bytes()))
        })
    }

    fn word_bytes(&self, i: usize) -> Option<&'a [u8]> {
        let t = self.t.get(i)?;
        if t.tok != Tok::Word {
            return None;
        }
        self.src.as_bytes().get(t.at as usize..t.end as usize)
    }

    fn at_kw(&self, k: &str) -> bool {
        self.kw_at(self.i, k)
    }

    fn at_kws(&self, ks: &[&str]) -> bool {
        self.kws_at(self.i, ks)
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        let hit = self.at_kw(k);
        self.i += usize::from(hit);
        hit
    }

    fn eat_kws(&mut self, ks: &[&str]) -> bool {
        let hit = self.at_kws(ks);
        self.i += usize::from(hit);
        hit
    }

    fn expect_kw(&mut self, k: &'static str) -> PResult<()> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            self.err(k)
        }
    }

    fn p_at(&self, i: usize, c: char) -> bool {
        matches!(self.tok(i), Some(Tok::Punct(p)) if char::from(p) == c)
    }

    fn at_p(&self, c: char) -> bool {
        self.p_at(self.i, c)
    }

    fn eat_p(&mut self, c: char) -> bool {
        let hit = self.at_p(c);
        self.i += usize::from(hit);
        hit
    }

    fn expect_p(&mut self, c: char, what: &'static str) -> PResult<()> {
        if self.eat_p(c) {
            Ok(())
        } else {
            self.err(what)
        }
    }

    fn at_end(&self) -> bool {
        self.i >= self.t.len()
    }

    fn is_name_at(&self, i: usize) -> bool {
        matches!(self.tok(i), Some(Tok::Word | Tok::Quoted))
    }

    /// A symbolic name: any word (Neo4j lets keywords be names) or a backtick name.
    fn name(&mut self) -> PResult<()> {
        self.take_name().map(|_| ())
    }

    /// A symbolic name, with the name it stands for.
    fn take_name(&mut self) -> PResult<Cow<'a, str>> {
        let n = match self.tok(self.i) {
            Some(Tok::Word) => Cow::Borrowed(self.text(self.i)),
            Some(Tok::Quoted) => lexer::unquote(self.text(self.i)),
            _ => return self.err("a name"),
        };
        self.i += 1;
        Ok(n)
    }

    /// How many tokens make the parameter at `i`: `$name` is one, `$ name` (a space or a
    /// comment between, as Neo4j's grammar allows) two; zero when there is none.
    fn param_len(&self, i: usize) -> usize {
        match self.tok(i) {
            Some(Tok::Param) => 1,
            Some(Tok::Punct(b'$'))
                if matches!(self.tok(i + 1), Some(Tok::Word | Tok::Quoted | Tok::Number)) =>
            {
                2
            }
            _ => 0,
        }
    }

    /// `item, item, …` (at least one).
    fn comma_list(&mut self, mut item: impl FnMut(&mut Self) -> PResult<()>) -> PResult<()> {
        loop {
            item(self)?;
            if !self.eat_p(',') {
                return Ok(());
            }
        }
    }

    /// `open item, item, … close` (possibly empty), one nesting level deeper.
    fn delimited(
        &mut self,
        open: char,
        close: char,
        mut item: impl FnMut(&mut Self) -> PResult<()>,
    ) -> PResult<()> {
        self.enter()?;
        if !self.eat_p(open) {
            return self.err("an opening bracket");
        }
        if !self.at_p(close) {
            self.comma_list(&mut item)?;
        }
        if !self.eat_p(close) {
            return self.err("a closing bracket");
        }
        self.leave();
        Ok(())
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("less nesting");
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn certain(&mut self, c: Class) {
        self.f.certain.push(c);
    }

    /// Whether a relationship pattern starts at `i`: `-[`, `--`, `->`, `<-`.
    fn rel_starts_at(&self, i: usize) -> bool {
        (self.p_at(i, '-')
            && (self.p_at(i + 1, '[') || self.p_at(i + 1, '-') || self.p_at(i + 1, '>')))
            || (self.p_at(i, '<') && self.p_at(i + 1, '-'))
    }

    /// Whether the `(` at `i` starts a pattern rather than a parenthesised expression:
    /// its `)` is followed by a relationship.
    fn paren_starts_pattern(&self, i: usize) -> bool {
        let c = self.close[i];
        c != u32::MAX && self.rel_starts_at(c as usize + 1)
    }

    // ---- statements ----------------------------------------------------------------

    fn statements(&mut self) -> PResult<()> {
        if self.t.is_empty() {
            return Ok(()); // only whitespace and comments: nothing runs
        }
        let mut count = 0;
        loop {
            self.statement()?;
            count += 1;
            // EXPLAIN plans one statement; with several, it does not cover the others.
            if count > 1 {
                self.f.explain = false;
            }
            if self.eat_p(';') {
                if self.at_end() {
                    return Ok(());
                }
                continue;
            }
            if self.at_end() {
                return Ok(());
            }
            return self.err("the end of the statement");
        }
    }

    fn statement(&mut self) -> PResult<()> {
        loop {
            if self.eat_kw("CYPHER") {
                if matches!(self.tok(self.i), Some(Tok::Number)) {
                    self.i += 1;
                }
                // Options: `name = value`.
                while self.is_name_at(self.i) && self.p_at(self.i + 1, '=') {
                    self.i += 2;
                    match self.tok(self.i) {
                        Some(Tok::Word | Tok::Number | Tok::Str) => self.i += 1,
                        _ => return self.err("an option value"),
                    }
                }
            } else if self.eat_kw("EXPLAIN") {
                self.f.explain = true;
            } else if self.eat_kw("PROFILE") {
            } else {
                break;
            }
        }
        // A USE clause may precede a command as well as a query.
        let save = (self.i, self.f.certain.len(), self.f.databases.len());
        while self.at_kw("USE") {
            self.use_clause()?;
        }
        if self.command()? {
            return Ok(());
        }
        // Not a command: the USE clauses are the query's own; parse them again there.
        self.i = save.0;
        self.f.certain.truncate(save.1);
        self.f.databases.truncate(save.2);
        self.query()
    }

    /// A schema or administration command, when one starts here.
    fn command(&mut self) -> PResult<bool> {
        const SCHEMA_KINDS: &[&str] = &[
            "FULLTEXT", "TEXT", "RANGE", "POINT", "LOOKUP", "VECTOR", "BTREE",
        ];
        const ADMIN_NOUNS: &[&str] = &[
            "DATABASE",
            "COMPOSITE",
            "ALIAS",
            "USER",
            "ROLE",
            "SERVER",
            "ROLES",
            "USERS",
        ];
        let Some(w) = self.word_at(self.i) else {
            return Ok(false);
        };
        let up = Up::new(w);
        let class = match up.as_str() {
            "SHOW" if self.show_reads(self.i) => return Ok(false),
            "SHOW" => Class::Admin,
            "CREATE" => {
                let mut j = self.i + 1;
                if self.kw_at(j, "OR") && self.kw_at(j + 1, "REPLACE") {
                    j += 2;
                }
                while self.kws_at(j, SCHEMA_KINDS) {
                    j += 1;
                }
                if self.kws_at(j, &["INDEX", "CONSTRAINT"]) {
                    Class::Schema
                } else if j > self.i + 1 || self.kws_at(j, ADMIN_NOUNS) {
                    Class::Admin
                } else {
                    return Ok(false);
                }
            }
            "DROP" => {
                if self.kws_at(self.i + 1, &["INDEX", "CONSTRAINT"]) {
                    self.f.schema_drop = true;
                    Class::Schema
                } else {
                    Class::Admin
                }
            }
            "ALTER" | "RENAME" | "GRANT" | "DENY" | "REVOKE" | "START" | "STOP" | "ENABLE"
            | "DEALLOCATE" | "REALLOCATE" | "DRYRUN" => Class::Admin,
            _ => return Ok(false),
        };
        self.certain(class);
        self.f.command = true;
        self.skip_command();
        Ok(true)
    }

    /// The body of a command that is not a read: consumed up to the statement's end.
    fn skip_command(&mut self) {
        while !self.at_end() && !self.at_p(';') {
            self.i += 1;
        }
    }

    /// Whether the `SHOW` at `i` starts a command that only reads (indexes, constraints,
    /// procedures, functions, transactions, settings, databases, the current user or graph
    /// type); the others (users, roles, privileges, aliases, servers) are administration.
    fn show_reads(&self, i: usize) -> bool {
        if self.kw_at(i + 1, "CURRENT") {
            return self.kws_at(i + 2, &["USER", "GRAPH"]);
        }
        let mut j = i + 1;
        while self.kws_at(j, SHOW_MODIFIERS) && !self.kws_at(j, SHOW_READ_NOUNS) {
            // `SHOW USER bob PRIVILEGES` is administration; `SHOW USER DEFINED FUNCTIONS` reads.
            if self.kw_at(j, "USER") && !self.kw_at(j + 1, "DEFINED") {
                return false;
            }
            j += 1;
        }
        self.kws_at(j, SHOW_READ_NOUNS)
    }

    /// A SHOW command that reads, as a clause (they compose with other clauses): its
    /// words, names or ids, then `YIELD …` or `WHERE …`.
    fn show_clause(&mut self) -> PResult<()> {
        self.expect_kw("SHOW")?;
        if self.eat_kw("CURRENT") {
            if !self.eat_kw("USER") {
                self.expect_kw("GRAPH")?;
                self.expect_kw("TYPE")?;
            }
        } else {
            while self.at_kws(SHOW_MODIFIERS) && !self.at_kws(SHOW_READ_NOUNS) {
                if self.at_kw("USER") && !self.kw_at(self.i + 1, "DEFINED") {
                    return self.err("a SHOW command that reads");
                }
                self.i += 1;
            }
            if !self.eat_kws(SHOW_READ_NOUNS) {
                return self.err("a SHOW command that reads");
            }
            if self.eat_kw("EXECUTABLE") && self.eat_kw("BY") {
                if self.kw_at(self.i, "CURRENT") && self.kw_at(self.i + 1, "USER") {
                    self.i += 2;
                } else {
                    self.name()?;
                }
            }
            // Names or ids: `SHOW TRANSACTIONS 'a', 'b'`, `SHOW DATABASE x`, `SHOW SETTINGS
            // $names` — unless a clause follows, which Neo4j's grammar prefers:
            // `SHOW SETTINGS WITH * CREATE (n)` is SHOW, then WITH, then CREATE.
            self.names_or_expression()?;
        }
        self.show_yield_or_where()
    }

    /// `stringList | expression` of SHOW/TERMINATE, when one is there (not a clause).
    fn names_or_expression(&mut self) -> PResult<()> {
        let clause_next = self.at_kws(CLAUSE_STARTS)
            || self.at_kws(&["YIELD", "WHERE"])
            || self.at_kws(QUERY_ENDS);
        if self.at_end() || self.at_p(';') || self.at_p('}') || clause_next {
            return Ok(());
        }
        if let Shape::Str(_) = self.expr()? {
            while self.eat_p(',') {
                if self.tok(self.i) != Some(Tok::Str) {
                    return self.err("a string");
                }
                self.i += 1;
            }
        }
        Ok(())
    }

    /// `YIELD * | items [ORDER BY …] [SKIP n] [LIMIT n] [WHERE …]`, or `WHERE …`.
    fn show_yield_or_where(&mut self) -> PResult<()> {
        if self.eat_kw("YIELD") {
            self.projection_items()?;
            self.order_skip_limit()?;
            if self.eat_kw("WHERE") {
                self.expr()?;
            }
        } else if self.eat_kw("WHERE") {
            self.expr()?;
        }
        Ok(())
    }

    /// `TERMINATE TRANSACTION(S) ids [YIELD …|WHERE …]`: administration, as a clause.
    fn terminate_clause(&mut self) -> PResult<()> {
        self.expect_kw("TERMINATE")?;
        self.certain(Class::Admin);
        self.f.command = true;
        if !self.eat_kws(&["TRANSACTION", "TRANSACTIONS"]) {
            return self.err("TRANSACTIONS");
        }
        self.expr()?;
        if self.at_p(',') {
            while self.eat_p(',') {
                self.expr()?;
            }
        }
        self.show_yield_or_where()
    }

    // ---- queries -------------------------------------------------------------------

    fn query(&mut self) -> PResult<()> {
        self.enter()?;
        while self.at_kw("DEFINE") {
            self.local_definition()?;
        }
        loop {
            if self.at_kw("WHEN") {
                self.conditional()?;
            } else {
                self.union_query()?;
            }
            if !self.eat_kw("NEXT") {
                break;
            }
        }
        self.leave();
        Ok(())
    }

    /// `DEFINE FUNCTION f(params) [:: type] = expr | { query }` and `DEFINE PROCEDURE
    /// p(params) [:: (outputs)] { query }` (Cypher 25): the bodies are parsed like any query.
    fn local_definition(&mut self) -> PResult<()> {
        self.expect_kw("DEFINE")?;
        let function = self.eat_kw("FUNCTION");
        if !function {
            self.expect_kw("PROCEDURE")?;
        }
        self.qualified_name()?;
        self.signature(true)?;
        let typed = (self.at_p(':') && self.p_at(self.i + 1, ':')) || self.at_kw("TYPED");
        if typed {
            self.i += if self.at_kw("TYPED") { 1 } else { 2 };
            if function {
                self.type_name()?;
            } else {
                self.signature(false)?;
            }
        }
        if function && self.eat_p('=') {
            self.expr()?;
            return Ok(());
        }
        self.expect_p('{', "{")?;
        self.query()?;
        self.expect_p('}', "}")
    }

    /// `( name [:: type] [= default], … )` of a local definition.
    fn signature(&mut self, defaults: bool) -> PResult<()> {
        self.delimited('(', ')', |p| {
            p.name()?;
            if p.at_p(':') && p.p_at(p.i + 1, ':') {
                p.i += 2;
                p.type_name()?;
            } else if p.eat_kw("TYPED") {
                p.type_name()?;
            }
            if defaults && p.eat_p('=') {
                p.expr()?;
            }
            Ok(())
        })
    }

    fn conditional(&mut self) -> PResult<()> {
        while self.eat_kw("WHEN") {
            self.expr()?;
            self.expect_kw("THEN")?;
            self.union_query()?;
        }
        if self.eat_kw("ELSE") {
            self.union_query()?;
        }
        Ok(())
    }

    fn union_query(&mut self) -> PResult<()> {
        self.single_query()?;
        while self.eat_kw("UNION") {
            self.eat_kws(&["ALL", "DISTINCT"]);
            self.single_query()?;
        }
        Ok(())
    }

    fn single_query(&mut self) -> PResult<()> {
        // `[USE g] { query }`: a whole query in braces.
        let braced = if self.at_kw("USE") && !self.at_p('{') {
            let save = (self.i, self.f.certain.len(), self.f.databases.len());
            self.use_clause()?;
            let braced = self.at_p('{');
            if !braced {
                self.i = save.0;
                self.f.certain.truncate(save.1);
                self.f.databases.truncate(save.2);
            }
            braced
        } else {
            self.at_p('{')
        };
        if braced {
            self.i += 1;
            self.query()?;
            return self.expect_p('}', "}");
        }
        if !self.at_kws(CLAUSE_STARTS) {
            return self.err("a clause");
        }
        while self.at_kws(CLAUSE_STARTS) {
            self.clause()?;
        }
        if self.at_end()
            || self.at_p(';')
            || self.at_p('}')
            || self.at_p(')')
            || self.at_kws(QUERY_ENDS)
        {
            Ok(())
        } else {
            self.err("a clause")
        }
    }

    fn clause(&mut self) -> PResult<()> {
        let Some(w) = self.word_at(self.i) else {
            return self.err("a clause");
        };
        let up = Up::new(w);
        self.i += 1;
        match up.as_str() {
            "USE" => {
                self.i -= 1;
                self.use_clause()?;
            }
            "MATCH" => self.match_clause()?,
            "OPTIONAL" => {
                if self.eat_kw("MATCH") {
                    self.match_clause()?;
                } else if self.eat_kw("CALL") {
                    self.call_clause()?;
                } else {
                    return self.err("MATCH or CALL");
                }
            }
            "WITH" => {
                self.projection()?;
                if self.eat_kw("WHERE") {
                    self.expr()?;
                }
            }
            "RETURN" => self.projection()?,
            "UNWIND" => {
                self.expr()?;
                self.expect_kw("AS")?;
                self.name()?;
            }
            "CALL" => self.call_clause()?,
            "CREATE" | "INSERT" => {
                self.certain(Class::Write);
                self.pattern_list()?;
            }
            "MERGE" => {
                self.certain(Class::Write);
                self.pattern_part()?;
                while self.at_kw("ON") {
                    self.i += 1;
                    if !self.eat_kws(&["CREATE", "MATCH"]) {
                        return self.err("CREATE or MATCH");
                    }
                    self.expect_kw("SET")?;
                    self.set_items()?;
                }
            }
            "SET" => {
                self.certain(Class::Write);
                self.set_items()?;
            }
            "REMOVE" => {
                self.certain(Class::Write);
                self.remove_items()?;
            }
            "DETACH" | "NODETACH" | "DELETE" => {
                if up.as_str() != "DELETE" {
                    self.expect_kw("DELETE")?;
                }
                self.certain(Class::Write);
                self.f.deletes = true;
                self.expr_list()?;
            }
            "FOREACH" => {
                self.certain(Class::Write);
                self.enter()?;
                self.expect_p('(', "(")?;
                self.name()?;
                self.expect_kw("IN")?;
                self.expr()?;
                self.expect_p('|', "|")?;
                if !self.at_kws(CLAUSE_STARTS) {
                    return self.err("a clause");
                }
                while self.at_kws(CLAUSE_STARTS) {
                    self.clause()?;
                }
                self.expect_p(')', ")")?;
                self.leave();
            }
            "LOAD" => {
                self.expect_kw("CSV")?;
                self.certain(Class::External);
                if self.eat_kw("WITH") {
                    self.expect_kw("HEADERS")?;
                }
                self.expect_kw("FROM")?;
                self.expr()?;
                self.expect_kw("AS")?;
                self.name()?;
                if self.eat_kw("FIELDTERMINATOR") {
                    match self.tok(self.i) {
                        Some(Tok::Str) => self.i += 1,
                        _ => return self.err("a string"),
                    }
                }
            }
            "FINISH" => {}
            "SHOW" => {
                self.i -= 1;
                self.show_clause()?;
            }
            "TERMINATE" => {
                self.i -= 1;
                self.terminate_clause()?;
            }
            "FOR" => {
                // `FOR x IN list` (Cypher 25): UNWIND by another name.
                self.name()?;
                self.expect_kw("IN")?;
                self.expr()?;
            }
            "SEARCH" => {
                // `SEARCH v IN (VECTOR INDEX i FOR expr [WHERE expr] LIMIT n) [SCORE AS s]`
                self.name()?;
                self.expect_kw("IN")?;
                self.enter()?;
                self.expect_p('(', "(")?;
                self.expect_kw("VECTOR")?;
                self.expect_kw("INDEX")?;
                self.name()?;
                self.expect_kw("FOR")?;
                self.expr()?;
                if self.eat_kw("WHERE") {
                    self.expr()?;
                }
                self.expect_kw("LIMIT")?;
                // Approximate nearest neighbours: the k found depend on the index.
                self.f.replay.insert(ReplayHazard::UnorderedLimit);
                self.expr()?;
                self.expect_p(')', ")")?;
                self.leave();
                if self.eat_kw("SCORE") {
                    self.expect_kw("AS")?;
                    self.name()?;
                }
                if self.eat_kw("WHERE") {
                    self.expr()?;
                }
            }
            "FILTER" => {
                self.eat_kw("WHERE");
                self.expr()?;
            }
            "LET" => loop {
                self.name()?;
                self.expect_p('=', "=")?;
                self.expr()?;
                if !self.eat_p(',') {
                    break;
                }
            },
            "ORDER" | "SKIP" | "OFFSET" | "LIMIT" => {
                self.i -= 1;
                self.order_skip_limit()?;
            }
            _ => {
                self.i -= 1;
                return self.err("a clause");
            }
        }
        Ok(())
    }

    fn use_clause(&mut self) -> PResult<()> {
        self.expect_kw("USE")?;
        self.certain(Class::DbSwitch);
        // `USE GRAPH name`: GRAPH is a keyword unless it starts a dotted name or a call.
        if self.at_kw("GRAPH") && self.is_name_at(self.i + 1) {
            self.i += 1;
        }
        let start = self.i;
        // A plain (dotted) name is recorded; anything else is computed at run time.
        let mut j = start;
        let mut plain = self.is_name_at(j);
        j += 1;
        while plain && self.p_at(j, '.') {
            plain = self.is_name_at(j + 1);
            j += 2;
        }
        if plain && !self.p_at(j, '(') {
            let mut parts = Vec::new();
            while self.i < j {
                parts.push(self.take_name()?);
                self.eat_p('.');
            }
            self.f.databases.push(parts.join("."));
            return Ok(());
        }
        self.f.databases.push("<dynamic>".into());
        self.expr()?;
        Ok(())
    }

    /// `REPEATABLE ELEMENT [BINDINGS] | ELEMENTS`, `DIFFERENT RELATIONSHIP [BINDINGS] |
    /// RELATIONSHIPS`, when there.
    fn match_mode(&mut self) -> PResult<()> {
        if self.eat_kw("REPEATABLE") {
            if self.eat_kw("ELEMENT") {
                self.eat_kw("BINDINGS");
            } else if !self.eat_kw("ELEMENTS") {
                return self.err("ELEMENTS");
            }
        } else if self.kw_at(self.i, "DIFFERENT")
            && self.kws_at(self.i + 1, &["RELATIONSHIP", "RELATIONSHIPS"])
        {
            self.i += 2;
            self.eat_kw("BINDINGS");
        }
        Ok(())
    }

    fn match_clause(&mut self) -> PResult<()> {
        self.match_mode()?;
        let outer = std::mem::replace(&mut self.inline_filter, false);
        self.pattern_list()?;
        let mut filtered = std::mem::replace(&mut self.inline_filter, outer);
        while self.eat_kw("USING") {
            self.hint()?;
        }
        if self.eat_kw("WHERE") {
            filtered = true;
            self.expr()?;
        }
        if !filtered {
            self.f.unfiltered_match = true;
        }
        Ok(())
    }

    fn hint(&mut self) -> PResult<()> {
        if self.eat_kw("JOIN") {
            self.expect_kw("ON")?;
            self.name()?;
            while self.eat_p(',') {
                self.name()?;
            }
            return Ok(());
        }
        if !self.eat_kw("SCAN") {
            self.eat_kws(&["TEXT", "RANGE", "POINT", "BTREE"]);
            self.expect_kw("INDEX")?;
            self.eat_kw("SEEK");
            self.name()?;
            self.expect_p(':', ":")?;
            self.name()?;
            self.expect_p('(', "(")?;
            self.name()?;
            while self.eat_p(',') {
                self.name()?;
            }
            return self.expect_p(')', ")");
        }
        self.name()?;
        self.expect_p(':', ":")?;
        self.name()?;
        Ok(())
    }

    fn call_clause(&mut self) -> PResult<()> {
        if self.at_p('{') || self.at_p('(') {
            // A subquery, with an optional variable scope.
            if self.eat_p('(') {
                if !self.eat_p('*') && !self.at_p(')') {
                    self.name()?;
                    while self.eat_p(',') {
                        self.name()?;
                    }
                }
                self.expect_p(')', ")")?;
            }
            self.expect_p('{', "{")?;
            self.query()?;
            self.expect_p('}', "}")?;
            if self.at_kw("IN") {
                self.in_transactions()?;
            }
            return Ok(());
        }
        let (name, _) = self.qualified_name()?;
        self.f.procedures.push(name.clone());
        let args = if self.at_p('(') {
            Some(self.arguments()?)
        } else {
            None
        };
        self.routine(&name, Kind::Procedure, args.as_ref());
        if self.eat_kw("YIELD") {
            if !self.eat_p('*') {
                loop {
                    self.name()?;
                    if self.eat_kw("AS") {
                        self.name()?;
                    }
                    if !self.eat_p(',') {
                        break;
                    }
                }
            }
            if self.eat_kw("WHERE") {
                self.expr()?;
            }
        }
        Ok(())
    }

    fn in_transactions(&mut self) -> PResult<()> {
        self.expect_kw("IN")?;
        self.certain(Class::Write);
        self.f.own_transactions = true;
        if !self.at_kw("TRANSACTIONS") && !self.at_kw("CONCURRENT") {
            self.expr()?;
        }
        self.eat_kw("CONCURRENT");
        self.expect_kw("TRANSACTIONS")?;
        loop {
            if self.eat_kw("OF") {
                self.expr()?;
                if !self.eat_kws(&["ROW", "ROWS"]) {
                    return self.err("ROWS");
                }
            } else if self.eat_kw("ON") {
                self.expect_kw("ERROR")?;
                if self.eat_kw("RETRY") {
                    // `[FOR] duration SECONDS`, optional.
                    let duration = self.eat_kw("FOR")
                        || !(self.at_kws(&["THEN", "ON", "OF", "REPORT"])
                            || self.at_kws(CLAUSE_STARTS)
                            || self.at_end()
                            || self.at_p(';')
                            || self.at_p('}'));
                    if duration {
                        self.expr()?;
                        if !self.eat_kws(&["SEC", "SECOND", "SECONDS"]) {
                            return self.err("SECONDS");
                        }
                    }
                    if self.eat_kw("THEN") && !self.eat_kws(&["CONTINUE", "BREAK", "FAIL"]) {
                        return self.err("CONTINUE, BREAK or FAIL");
                    }
                } else if !self.eat_kws(&["CONTINUE", "BREAK", "FAIL"]) {
                    return self.err("CONTINUE, BREAK, FAIL or RETRY");
                }
            } else if self.eat_kw("REPORT") {
                self.expect_kw("STATUS")?;
                self.expect_kw("AS")?;
                self.name()?;
            } else {
                return Ok(());
            }
        }
    }

    /// `[DISTINCT] items [ORDER BY …] [SKIP …] [LIMIT …]` of WITH and RETURN.
    fn projection(&mut self) -> PResult<()> {
        if !self.eat_kw("DISTINCT") && self.at_kw("ALL") && !self.p_at(self.i + 1, '(') {
            self.i += 1;
        }
        self.projection_items()?;
        if self.kw_at(self.i, "GROUP") && self.kw_at(self.i + 1, "BY") {
            self.i += 2;
            if self.at_p('(') && self.p_at(self.i + 1, ')') {
                self.i += 2;
            } else if !self.eat_kw("ALL") {
                self.expr_list()?;
            }
        }
        self.order_skip_limit()
    }

    fn projection_items(&mut self) -> PResult<()> {
        if self.eat_p('*') && !self.eat_p(',') {
            return Ok(());
        }
        loop {
            self.expr()?;
            if self.eat_kw("AS") {
                self.name()?;
            }
            if !self.eat_p(',') {
                return Ok(());
            }
        }
    }

    /// `[ORDER BY …] [SKIP n] [LIMIT n]`. SKIP or LIMIT without the ORDER BY right before
    /// them is a replay hazard: whether an earlier ORDER BY still orders the rows (or
    /// orders them totally) is not decided here, so only this one counts.
    fn order_skip_limit(&mut self) -> PResult<()> {
        let ordered = self.eat_kw("ORDER");
        if ordered {
            self.expect_kw("BY")?;
            loop {
                self.expr()?;
                self.eat_kws(&["ASC", "ASCENDING", "DESC", "DESCENDING"]);
                if !self.eat_p(',') {
                    break;
                }
            }
        }
        let mut cut = false;
        if self.eat_kws(&["SKIP", "OFFSET"]) {
            cut = true;
            self.expr()?;
        }
        if self.eat_kw("LIMIT") {
            cut = true;
            self.f.has_limit = true;
            self.expr()?;
        }
        if cut && !ordered {
            self.f.replay.insert(ReplayHazard::UnorderedLimit);
        }
        Ok(())
    }

    fn set_items(&mut self) -> PResult<()> {
        self.comma_list(|p| p.set_item().map(|_| ()))
    }

    fn set_item(&mut self) -> PResult<()> {
        self.postfix_target()?;
        if self.eat_p('=') {
            self.expr()?;
        } else if self.at_p('+') && self.p_at(self.i + 1, '=') {
            self.i += 2;
            self.expr()?;
        } else if self.eat_p(':') || self.eat_kw("IS") {
            self.label_expr(LabelSite::Node)?;
        } else {
            return self.err("=, += or a label");
        }
        Ok(())
    }

    fn remove_items(&mut self) -> PResult<()> {
        loop {
            self.postfix_target()?;
            if self.eat_p(':') || self.eat_kw("IS") {
                self.label_expr(LabelSite::Node)?;
            }
            if !self.eat_p(',') {
                return Ok(());
            }
        }
    }

    /// The target of SET / REMOVE: an atom with property and index accesses (no label
    /// predicates, which would swallow the `:Label` being set).
    fn postfix_target(&mut self) -> PResult<()> {
        self.atom()?;
        loop {
            if self.at_p('.') && self.is_name_at(self.i + 1) {
                self.i += 2;
            } else if self.at_p('[') {
                self.index_or_slice()?;
            } else {
                return Ok(());
            }
        }
    }

    // ---- patterns ------------------------------------------------------------------

    fn pattern_list(&mut self) -> PResult<()> {
        self.comma_list(|p| p.pattern_part().map(|_| ()))
    }

    fn pattern_part(&mut self) -> PResult<()> {
        if self.is_name_at(self.i) && self.p_at(self.i + 1, '=') {
            self.i += 2;
        }
        self.selector()?;
        self.path()
    }

    /// Path selectors: `ANY [k]`, `ALL`, `ANY SHORTEST`, `ALL SHORTEST`, `SHORTEST k
    /// [GROUPS]`, each with an optional `PATH` / `PATHS`.
    fn selector(&mut self) -> PResult<()> {
        const MODES: &[&str] = &["WALK", "TRAIL", "ACYCLIC"];
        let mut hit = false;
        let mut shortest = false;
        if self.eat_kw("ANY") || self.eat_kw("ALL") {
            hit = true;
            if !self.eat_kw("SHORTEST")
                && matches!(self.tok(self.i), Some(Tok::Number | Tok::Param))
            {
                self.i += 1;
            }
        } else if self.eat_kw("SHORTEST") {
            hit = true;
            shortest = true;
            if matches!(self.tok(self.i), Some(Tok::Number | Tok::Param)) {
                self.i += 1;
            }
        }
        // A path mode stands alone only before the pattern or PATH(S).
        let mode_next = self.at_kws(MODES)
            && (hit || self.p_at(self.i + 1, '(') || self.kws_at(self.i + 1, &["PATH", "PATHS"]));
        if mode_next {
            self.i += 1;
            hit = true;
        }
        if hit {
            self.eat_kws(&["PATH", "PATHS"]);
        }
        if shortest {
            self.eat_kws(&["GROUP", "GROUPS"]);
        }
        Ok(())
    }

    fn path(&mut self) -> PResult<()> {
        if self.at_kws(&["shortestPath", "allShortestPaths"]) && self.p_at(self.i + 1, '(') {
            self.i += 2;
            self.enter()?;
            self.path()?;
            self.expect_p(')', ")")?;
            self.leave();
            return Ok(());
        }
        self.path_element()?;
        loop {
            if self.rel_starts_at(self.i) {
                self.relationship()?;
                self.path_element()?;
            } else if self.at_p('(') {
                // Juxtaposed quantified path patterns: `(a) ((b)-->(c)){1,3} (d)`.
                self.path_element()?;
            } else {
                return Ok(());
            }
        }
    }

    /// A node pattern, or a parenthesised path pattern with its quantifier.
    fn path_element(&mut self) -> PResult<()> {
        if !self.at_p('(') {
            return self.err("(");
        }
        let nested = self.p_at(self.i + 1, '(')
            || (self.is_name_at(self.i + 1) && self.p_at(self.i + 2, '='));
        if !nested {
            return self.node();
        }
        self.enter()?;
        self.i += 1;
        if self.is_name_at(self.i) && self.p_at(self.i + 1, '=') {
            self.i += 2;
        }
        self.selector()?;
        self.path()?;
        if self.eat_kw("WHERE") {
            self.inline_filter = true;
            self.expr()?;
        }
        self.expect_p(')', ")")?;
        self.leave();
        self.quantifier()
    }

    fn node(&mut self) -> PResult<()> {
        self.expect_p('(', "(")?;
        if self.is_name_at(self.i) && !self.at_kw("WHERE") {
            self.i += 1;
        } else if self.at_kw("WHERE")
            && (self.p_at(self.i + 1, ':')
                || self.p_at(self.i + 1, ')')
                || self.p_at(self.i + 1, '{'))
        {
            self.i += 1; // a variable called `where`
        }
        if self.eat_p(':') || self.eat_kw("IS") {
            self.label_expr(LabelSite::Node)?;
        }
        self.properties()?;
        if self.eat_kw("WHERE") {
            self.inline_filter = true;
            self.expr()?;
        }
        self.expect_p(')', ")")
    }

    fn properties(&mut self) -> PResult<()> {
        if self.at_p('{') {
            self.inline_filter = true;
            self.atom()?;
        } else if self.param_len(self.i) > 0 {
            self.inline_filter = true;
            self.i += self.param_len(self.i);
        }
        Ok(())
    }

    fn relationship(&mut self) -> PResult<()> {
        self.eat_p('<');
        self.expect_p('-', "-")?;
        if self.eat_p('[') {
            self.enter()?;
            if self.is_name_at(self.i) && !self.at_kw("WHERE") {
                self.i += 1;
            }
            if self.eat_p(':') || self.eat_kw("IS") {
                self.label_expr(LabelSite::Relationship)?;
            }
            if self.eat_p('*') {
                // `*`, `*2`, `*1..3`, `*..3`, `*2..`
                if matches!(self.tok(self.i), Some(Tok::Number)) {
                    self.i += 1;
                }
                if self.at_p('.') && self.p_at(self.i + 1, '.') {
                    self.i += 2;
                    if matches!(self.tok(self.i), Some(Tok::Number)) {
                        self.i += 1;
                    }
                }
            }
            self.properties()?;
            if self.eat_kw("WHERE") {
                self.inline_filter = true;
                self.expr()?;
            }
            self.expect_p(']', "]")?;
            self.leave();
        }
        self.expect_p('-', "-")?;
        self.eat_p('>');
        self.quantifier()
    }

    /// `+`, `*` or `{m,n}` after a parenthesised path or a relationship.
    fn quantifier(&mut self) -> PResult<()> {
        if self.at_p('+') || (self.at_p('*') && !self.rel_starts_at(self.i + 1)) {
            // `*` followed by an operand would be multiplication, which patterns lack.
            self.i += 1;
        } else if self.at_p('{')
            && matches!(self.tok(self.i + 1), Some(Tok::Number | Tok::Punct(b',')))
        {
            self.i += 1;
            if matches!(self.tok(self.i), Some(Tok::Number)) {
                self.i += 1;
            }
            if self.eat_p(',') && matches!(self.tok(self.i), Some(Tok::Number)) {
                self.i += 1;
            }
            self.expect_p('}', "}")?;
        }
        Ok(())
    }

    /// A label expression after `:` or `IS`: `A`, `A|B`, `A&!B`, `%`, `(A|B)&C`, `A:B`,
    /// `$(expr)`, `$any(expr)`.
    fn label_expr(&mut self, site: LabelSite) -> PResult<()> {
        loop {
            // Negations, iteratively.
            while self.eat_p('!') {}
            if self.eat_p('%') {
            } else if self.at_p('(') {
                self.enter()?;
                self.i += 1;
                self.label_expr(site)?;
                self.expect_p(')', ")")?;
                self.leave();
            } else if self.eat_p('$') {
                self.f.labels_complete = false;
                if self.at_kws(&["any", "all"]) && self.p_at(self.i + 1, '(') {
                    self.i += 1;
                }
                self.enter()?;
                self.expect_p('(', "(")?;
                self.expr()?;
                self.expect_p(')', ")")?;
                self.leave();
            } else if self.tok(self.i) == Some(Tok::Param)
                && matches!(&*lexer::param_name(self.text(self.i)), n if n.eq_ignore_ascii_case("any") || n.eq_ignore_ascii_case("all"))
                && self.p_at(self.i + 1, '(')
            {
                // `:$any(expr)`, `:$all(expr)` (the lexer read `$any` as a parameter).
                self.f.labels_complete = false;
                self.i += 1;
                self.enter()?;
                self.expect_p('(', "(")?;
                self.expr()?;
                self.expect_p(')', ")")?;
                self.leave();
            } else if self.tok(self.i) == Some(Tok::Param) {
                // `:$label` (Cypher 25 shorthand for `:$($label)`).
                self.f.labels_complete = false;
                self.i += 1;
            } else {
                let n = self.take_name()?;
                let set = match site {
                    LabelSite::Node => &mut self.f.node_labels,
                    LabelSite::Relationship => &mut self.f.types,
                };
                if !set.contains(&*n) {
                    set.insert(n.into_owned());
                }
            }
            // `|` continues the label expression unless what follows cannot be a label
            // (a name then `.`, `(` or `[`): then it is a comprehension's `|`, as Neo4j
            // reads `[(a)-->(b) WHERE b:User | b.name]`.
            let mut next = self.i + 1;
            if self.p_at(next, ':') {
                next += 1;
            }
            let not_a_label = self.is_name_at(next)
                && (self.p_at(next + 1, '.')
                    || self.p_at(next + 1, '(')
                    || self.p_at(next + 1, '['));
            if (self.at_p('|') && !not_a_label) || self.at_p('&') {
                self.i += 1;
                self.eat_p(':');
                continue;
            }
            if self.at_p(':') && !self.p_at(self.i + 1, ':') {
                self.i += 1;
                continue;
            }
            return Ok(());
        }
    }

    // ---- expressions ---------------------------------------------------------------

    fn expr_list(&mut self) -> PResult<()> {
        self.comma_list(|p| p.expr().map(|_| ()))
    }

    /// An expression: prefix operators, operands and infix/postfix operators in a loop
    /// (precedence does not change which tokens belong to the expression).
    fn expr(&mut self) -> PResult<Shape> {
        self.enter()?;
        let mut shape;
        let mut operands = 0;
        loop {
            // Prefix operators.
            while self.at_kw("NOT") || self.at_p('-') || self.at_p('+') {
                // `NOT` followed by an infix position would be a name, but `NOT` can only be
                // a name where an operand is expected, which is here: Neo4j reads it as NOT.
                self.i += 1;
            }
            shape = self.postfix()?;
            operands += 1;
            // Postfix predicates.
            loop {
                if self.at_kw("IS") {
                    self.is_predicate()?;
                } else if self.at_p(':') && self.p_at(self.i + 1, ':') {
                    self.i += 2;
                    self.type_name()?;
                } else {
                    break;
                }
            }
            if !self.infix()? {
                break;
            }
        }
        self.leave();
        Ok(if operands == 1 { shape } else { Shape::Other })
    }

    /// Consumes an infix operator, if one is next.
    fn infix(&mut self) -> PResult<bool> {
        let Some(tok) = self.tok(self.i) else {
            return Ok(false);
        };
        let n = match tok {
            Tok::Punct(b'=') => {
                if self.p_at(self.i + 1, '~') {
                    2
                } else {
                    1
                }
            }
            Tok::Punct(b'<') => {
                if self.p_at(self.i + 1, '>') || self.p_at(self.i + 1, '=') {
                    2
                } else {
                    1
                }
            }
            Tok::Punct(b'>') => {
                if self.p_at(self.i + 1, '=') {
                    2
                } else {
                    1
                }
            }
            Tok::Punct(b'!') if self.p_at(self.i + 1, '=') => 2,
            Tok::Punct(b'|') if self.p_at(self.i + 1, '|') => 2,
            // After an operand a `-` is subtraction (`1 - -3`): a pattern in an expression
            // is read whole by `atom`, from its first node.
            Tok::Punct(b'+' | b'-' | b'*' | b'/' | b'%' | b'^') => 1,
            Tok::Word => {
                if self.at_kws(&["AND", "OR", "XOR", "CONTAINS", "IN"]) {
                    1
                } else if self.at_kws(&["STARTS", "ENDS"]) && self.kw_at(self.i + 1, "WITH") {
                    2
                } else {
                    return Ok(false);
                }
            }
            _ => return Ok(false),
        };
        self.i += n;
        Ok(true)
    }

    /// `IS [NOT] NULL`, `IS [NOT] [NFC…] NORMALIZED`, `IS [NOT] :: TYPE`,
    /// `IS [NOT] TYPED TYPE`, `IS [NOT] [LABELED] Label`.
    fn is_predicate(&mut self) -> PResult<()> {
        self.expect_kw("IS")?;
        self.eat_kw("NOT");
        if self.eat_kw("NULL") {
            return Ok(());
        }
        if self.eat_kws(&["NFC", "NFD", "NFKC", "NFKD"]) {
            return self.expect_kw("NORMALIZED");
        }
        if self.eat_kw("NORMALIZED") {
            return Ok(());
        }
        if self.at_p(':') && self.p_at(self.i + 1, ':') {
            self.i += 2;
            return self.type_name();
        }
        if self.eat_kw("TYPED") {
            return self.type_name();
        }
        self.eat_kw("LABELED");
        self.label_expr(LabelSite::Node)
    }

    /// A value type: only the words of Neo4j's type grammar, never other names.
    fn type_name(&mut self) -> PResult<()> {
        const SIMPLE: &[&str] = &[
            "VARCHAR",
            "UUID",
            "INT8",
            "INT16",
            "INT32",
            "INT64",
            "NOTHING",
            "NULL",
            "BOOL",
            "BOOLEAN",
            "STRING",
            "INT",
            "INTEGER",
            "FLOAT",
            "DATE",
            "DURATION",
            "POINT",
            "NODE",
            "VERTEX",
            "RELATIONSHIP",
            "EDGE",
            "MAP",
            "PATH",
            "PATHS",
            "ANY",
            "VALUE",
            "PROPERTY",
            "SIGNED",
            "LOCAL",
            "ZONED",
            "TIME",
            "DATETIME",
            "TIMESTAMP",
            "LIST",
            "ARRAY",
            "VECTOR",
            "INTEGER8",
            "INTEGER16",
            "INTEGER32",
            "INTEGER64",
            "FLOAT32",
            "FLOAT64",
        ];
        self.enter()?;
        loop {
            let mut any = false;
            while self.at_kws(SIMPLE) {
                // `ANY` followed by `<` opens a union; `LIST<…>`/`VECTOR<…>` an inner type.
                let time = self.at_kws(&["TIME", "TIMESTAMP"]);
                self.i += 1;
                any = true;
                // `TIME WITH TIMEZONE`, `TIMESTAMP WITHOUT TIME ZONE`: WITH only here.
                if time && self.at_kws(&["WITH", "WITHOUT"]) {
                    if self.kw_at(self.i + 1, "TIMEZONE") {
                        self.i += 2;
                    } else if self.kw_at(self.i + 1, "TIME") && self.kw_at(self.i + 2, "ZONE") {
                        self.i += 3;
                    }
                }
                if self.eat_p('<') {
                    self.type_name()?;
                    while self.eat_p(',') {
                        if matches!(self.tok(self.i), Some(Tok::Number)) {
                            self.i += 1;
                        } else {
                            self.type_name()?;
                        }
                    }
                    self.expect_p('>', ">")?;
                }
                if self.at_p('(')
                    && matches!(self.tok(self.i + 1), Some(Tok::Number))
                    && self.p_at(self.i + 2, ')')
                {
                    self.i += 3;
                }
            }
            if !any {
                return self.err("a type");
            }
            if self.kw_at(self.i, "NOT") && self.kw_at(self.i + 1, "NULL") {
                self.i += 2;
            } else if self.at_p('!') {
                self.i += 1;
            }
            if !self.eat_p('|') {
                break;
            }
        }
        self.leave();
        Ok(())
    }

    /// An operand with its postfix operators: property access, index/slice, label test.
    fn postfix(&mut self) -> PResult<Shape> {
        let mut shape = self.atom()?;
        loop {
            if self.at_p('.') && self.is_name_at(self.i + 1) {
                self.i += 2;
            } else if self.at_p('[') {
                self.index_or_slice()?;
            } else if self.at_p(':') && !self.p_at(self.i + 1, ':') {
                self.i += 1;
                self.label_expr(LabelSite::Node)?;
            } else {
                return Ok(shape);
            }
            shape = Shape::Other;
        }
    }

    fn index_or_slice(&mut self) -> PResult<()> {
        self.enter()?;
        self.expect_p('[', "[")?;
        let range = |p: &Self| p.at_p('.') && p.p_at(p.i + 1, '.');
        if !range(self) {
            self.expr()?;
        }
        if range(self) {
            self.i += 2;
            if !self.at_p(']') {
                self.expr()?;
            }
        }
        self.expect_p(']', "]")?;
        self.leave();
        Ok(())
    }

    fn atom(&mut self) -> PResult<Shape> {
        let Some(tok) = self.tok(self.i) else {
            return self.err("an expression");
        };
        match tok {
            Tok::Str => {
                self.i += 1;
                Ok(Shape::Str(self.i as u32 - 1))
            }
            Tok::Number => {
                self.i += 1;
                Ok(Shape::Number)
            }
            Tok::Param => {
                self.i += 1;
                Ok(Shape::Other)
            }
            Tok::Punct(b'$') if self.param_len(self.i) == 2 => {
                self.i += 2;
                Ok(Shape::Other)
            }
            Tok::Punct(b'(') => {
                if self.paren_starts_pattern(self.i) {
                    self.path()?;
                    return Ok(Shape::Other);
                }
                self.enter()?;
                self.i += 1;
                self.expr()?;
                self.expect_p(')', ")")?;
                self.leave();
                Ok(Shape::Other)
            }
            Tok::Punct(b'[') => self.list(),
            Tok::Punct(b'{') => {
                let clock = self.map()?;
                Ok(Shape::Map { clock })
            }
            Tok::Word | Tok::Quoted => self.word_atom(),
            _ => self.err("an expression"),
        }
    }

    /// A map literal; whether it names no key but `timezone` (any case, as a temporal
    /// constructor would read it).
    fn map(&mut self) -> PResult<bool> {
        let mut only_timezone = true;
        self.delimited('{', '}', |p| {
            only_timezone &= p.take_name()?.eq_ignore_ascii_case("timezone");
            p.expect_p(':', ":")?;
            p.expr().map(|_| ())
        })?;
        Ok(only_timezone)
    }

    /// `[…]`: a list, a list comprehension or a pattern comprehension.
    fn list(&mut self) -> PResult<Shape> {
        self.enter()?;
        self.expect_p('[', "[")?;
        let pattern = (self.at_p('(') && self.paren_starts_pattern(self.i))
            || (self.is_name_at(self.i)
                && self.p_at(self.i + 1, '=')
                && self.p_at(self.i + 2, '('));
        let shape = if pattern {
            if self.is_name_at(self.i) {
                self.i += 2;
            }
            self.path()?;
            if self.eat_kw("WHERE") {
                self.expr()?;
            }
            self.expect_p('|', "|")?;
            self.expr()?;
            Shape::Other
        } else if self.is_name_at(self.i) && self.kw_at(self.i + 1, "IN") {
            // A comprehension; `[x IN list, y]` is a list whose first element is `x IN list`.
            self.i += 2;
            self.expr()?;
            if self.at_p(',') {
                while self.eat_p(',') {
                    self.expr()?;
                }
            } else {
                if self.eat_kw("WHERE") {
                    self.expr()?;
                }
                if self.eat_p('|') {
                    self.expr()?;
                }
            }
            Shape::Other
        } else {
            // Element shapes matter only for short lists of literal Cypher (`apoc.case`);
            // a longer list is kept as `Other`, which a dynamic routine takes as dynamic.
            let mut items = Vec::new();
            let mut literal = true;
            if !self.at_p(']') {
                loop {
                    let shape = self.expr()?;
                    if literal && items.len() < MAX_LIST_SHAPES {
                        items.push(shape);
                    } else {
                        literal = false;
                    }
                    if !self.eat_p(',') {
                        break;
                    }
                }
            }
            if literal {
                self.lists.push(items);
                Shape::List(self.lists.len() as u32 - 1)
            } else {
                Shape::Other
            }
        };
        self.expect_p(']', "]")?;
        self.leave();
        Ok(shape)
    }

    fn word_atom(&mut self) -> PResult<Shape> {
        let i = self.i;
        let quoted = self.tok(i) == Some(Tok::Quoted);
        let next_brace = self.p_at(i + 1, '{');
        let next_paren = self.p_at(i + 1, '(');
        if !quoted {
            let w = Up::new(self.word_at(i).unwrap_or(""));
            match w.as_str() {
                "CASE" => return self.case().map(|()| Shape::Other),
                "EXISTS" | "COUNT" | "COLLECT" if next_brace => {
                    self.i += 2;
                    self.enter()?;
                    // A query when a clause (or a braced query) starts it, else a pattern.
                    if self.at_kws(CLAUSE_STARTS) || self.at_p('{') || self.at_kw("WHEN") {
                        self.query()?;
                    } else {
                        self.match_mode()?;
                        self.pattern_list()?;
                        if self.eat_kw("WHERE") {
                            self.expr()?;
                        }
                    }
                    self.expect_p('}', "}")?;
                    self.leave();
                    return Ok(Shape::Other);
                }
                "ALL" | "ANY" | "NONE" | "SINGLE"
                    if next_paren && self.is_name_at(i + 2) && self.kw_at(i + 3, "IN") =>
                {
                    self.i += 4;
                    self.enter()?;
                    self.expr()?;
                    if self.eat_kw("WHERE") {
                        self.expr()?;
                    }
                    self.expect_p(')', ")")?;
                    self.leave();
                    return Ok(Shape::Other);
                }
                "REDUCE" | "ALLREDUCE"
                    if next_paren && self.is_name_at(i + 2) && self.p_at(i + 3, '=') =>
                {
                    self.i += 2;
                    self.enter()?;
                    self.name()?;
                    self.expect_p('=', "=")?;
                    self.expr()?;
                    self.expect_p(',', ",")?;
                    self.name()?;
                    self.expect_kw("IN")?;
                    self.expr()?;
                    self.expect_p('|', "|")?;
                    self.expr()?;
                    // ALLREDUCE(acc = init, x IN list | step, predicate)
                    if w.as_str() == "ALLREDUCE" {
                        self.expect_p(',', ",")?;
                        self.expr()?;
                    }
                    self.expect_p(')', ")")?;
                    self.leave();
                    return Ok(Shape::Other);
                }
                "SHORTESTPATH" | "ALLSHORTESTPATHS" if next_paren => {
                    self.path()?;
                    return Ok(Shape::Other);
                }
                "TRIM" if next_paren => {
                    self.i += 2;
                    self.enter()?;
                    self.eat_kws(&["BOTH", "LEADING", "TRAILING"]);
                    if !self.at_kw("FROM") {
                        self.expr()?;
                    }
                    if self.eat_kw("FROM") {
                        self.expr()?;
                    }
                    self.expect_p(')', ")")?;
                    self.leave();
                    return Ok(Shape::Other);
                }
                "NORMALIZE" if next_paren => {
                    self.i += 2;
                    self.enter()?;
                    self.expr()?;
                    if self.eat_p(',') && !self.eat_kws(&["NFC", "NFD", "NFKC", "NFKD"]) {
                        return self.err("a normal form");
                    }
                    self.expect_p(')', ")")?;
                    self.leave();
                    return Ok(Shape::Other);
                }
                _ => {}
            }
        }
        // A function call: `name(…)` or `a.b.c(…)`.
        let mut j = i + 1;
        while self.p_at(j, '.') && self.is_name_at(j + 1) {
            j += 2;
        }
        if self.p_at(j, '(') {
            let (name, dotted) = self.qualified_name()?;
            let args = self.arguments()?;
            let call = CallArgs {
                count: args.shapes.len(),
                clock_map: matches!(args.shapes.as_slice(), [Shape::Map { clock: true }]),
            };
            if let Some(h) = replay::builtin(&name.to_lowercase(), call) {
                self.f.replay.insert(h);
            }
            // `` `apoc.cypher.run`(…) `` names a namespaced function too.
            if dotted || name.contains('.') {
                self.routine(&name, Kind::Function, Some(&args));
            }
            return Ok(Shape::Other);
        }
        self.i += 1;
        if self.at_p('{') {
            self.map_projection()?;
        }
        Ok(Shape::Other)
    }

    /// `a.b.c` as written (backticks removed) and whether it has a namespace.
    fn qualified_name(&mut self) -> PResult<(String, bool)> {
        let mut name = self.take_name()?.into_owned();
        let mut dotted = false;
        while self.at_p('.') && self.is_name_at(self.i + 1) {
            self.i += 1;
            name.push('.');
            name.push_str(&self.take_name()?);
            dotted = true;
        }
        Ok((name, dotted))
    }

    /// `( [DISTINCT] [* | expr, …] )`, with the shape of each argument.
    fn arguments(&mut self) -> PResult<Args> {
        self.enter()?;
        self.expect_p('(', "(")?;
        let from = self.i;
        let mut args = Vec::new();
        self.eat_kws(&["DISTINCT", "ALL"]);
        if self.eat_p('*') {
        } else if !self.at_p(')') {
            loop {
                args.push(self.expr()?);
                if !self.eat_p(',') {
                    break;
                }
            }
        }
        let to = self.i;
        self.expect_p(')', ")")?;
        self.leave();
        Ok(Args {
            shapes: args,
            tokens: from..to,
        })
    }

    fn map_projection(&mut self) -> PResult<()> {
        self.delimited('{', '}', |p| {
            if p.eat_p('.') {
                if !p.eat_p('*') {
                    p.name()?;
                }
            } else if p.is_name_at(p.i) && p.p_at(p.i + 1, ':') {
                p.i += 2;
                p.expr()?;
            } else {
                p.name()?;
            }
            Ok(())
        })
    }

    fn case(&mut self) -> PResult<()> {
        self.expect_kw("CASE")?;
        self.enter()?;
        let simple = !self.at_kw("WHEN");
        if simple {
            self.expr()?;
        }
        if !self.at_kw("WHEN") {
            return self.err("WHEN");
        }
        while self.eat_kw("WHEN") {
            loop {
                if simple {
                    self.when_operand()?;
                } else {
                    self.expr()?;
                }
                if !simple || !self.eat_p(',') {
                    break;
                }
            }
            self.expect_kw("THEN")?;
            self.expr()?;
        }
        if self.eat_kw("ELSE") {
            self.expr()?;
        }
        self.expect_kw("END")?;
        self.leave();
        Ok(())
    }

    /// A simple CASE alternative: a value, or a comparison with the operand left out
    /// (`WHEN > 5`, `WHEN IS NULL`, `WHEN STARTS WITH 'a'`).
    fn when_operand(&mut self) -> PResult<()> {
        if self.at_kw("IS") {
            return self.is_predicate();
        }
        let comparison = matches!(self.tok(self.i), Some(Tok::Punct(b'=' | b'<' | b'>')))
            || (self.at_p('!') && self.p_at(self.i + 1, '='))
            || self.at_kws(&["STARTS", "ENDS", "CONTAINS", "IN"]);
        if comparison {
            self.infix()?;
        }
        self.expr().map(|_| ())
    }

    // ---- routines ------------------------------------------------------------------

    /// Applies what the catalog says about a procedure or namespaced function call.
    fn routine(&mut self, name: &str, kind: Kind, args: Option<&Args>) {
        let entry = catalog::lookup(name, kind);
        match entry {
            None if kind == Kind::Procedure => {
                self.f.replay.insert(ReplayHazard::Unknown);
                self.f.uncertain.push(Class::Procedure);
                self.f.notes.push(format!("unknown procedure {name}"));
            }
            None => {
                self.f.replay.insert(ReplayHazard::Unknown);
                self.certain(Class::Procedure);
                self.f
                    .notes
                    .push(format!("unknown function {name}: classed as procedure"));
            }
            Some(e) => self.known_routine(name, kind, e, args),
        }
    }

    fn known_routine(&mut self, name: &str, kind: Kind, e: &Entry, args: Option<&Args>) {
        let proc = kind == Kind::Procedure;
        match e.class {
            RoutineClass::Read => {}
            RoutineClass::Write => self.certain(if proc { Class::Procedure } else { Class::Write }),
            RoutineClass::Schema => self.certain(Class::Schema),
            RoutineClass::Admin => self.certain(Class::Admin),
            RoutineClass::External => self.certain(Class::External),
            RoutineClass::Dynamic => self.dynamic(name, e, args),
        }
        if proc
            && matches!(
                e.class,
                RoutineClass::Schema | RoutineClass::Admin | RoutineClass::External
            )
        {
            self.certain(Class::Procedure);
        }
        if e.persists {
            self.certain(Class::Procedure);
        }
        if e.nondeterministic {
            self.f
                .replay
                .insert(ReplayHazard::NondeterministicProcedure);
        }
        if e.internal_id {
            self.f.replay.insert(ReplayHazard::InternalId);
        }
    }

    /// A routine that runs Cypher given as a string: literal arguments are classified
    /// like any statement; anything else is `dynamic`.
    fn dynamic(&mut self, name: &str, e: &Entry, args: Option<&Args>) {
        // Without parentheses a procedure takes its arguments from the query's parameters.
        let Some(args) = args else {
            return self.dynamic_because(
                name,
                "is called without arguments (they come from the parameters)",
            );
        };
        // APOC puts the names of the parameters it is given into the Cypher it runs
        // (`WITH $`k` AS `k` …` + the statement): a backtick name anywhere in the arguments,
        // or parameters that are not a map literal, can inject Cypher.
        // (The literal Cypher is still classified: its classes come on top of `dynamic`.)
        if self.t[args.tokens.clone()]
            .iter()
            .any(|t| t.tok == Tok::Quoted)
        {
            self.dynamic_because(name, "has a backtick name in its arguments");
        }
        let last = args.shapes.len().saturating_sub(1);
        let cypher_at = |k: usize| e.cypher_args.contains(&k) || (e.cypher_args_all && k < 2);
        if args.shapes.len() > 1
            && !cypher_at(last)
            && !matches!(
                args.shapes[last],
                Shape::Map { .. } | Shape::Str(_) | Shape::Number
            )
        {
            self.dynamic_because(name, "is given parameters that are not a map literal");
        }
        let args = &args.shapes[..];
        let mut literal = true;
        let mut texts = Vec::new();
        if e.cypher_args_all {
            // `apoc.case([cond, query, …], elseQuery, params)`.
            match args.first() {
                Some(Shape::List(l)) => {
                    let items = self.lists.get(*l as usize).map_or(&[][..], Vec::as_slice);
                    for q in items.iter().skip(1).step_by(2) {
                        match q {
                            Shape::Str(s) => {
                                texts.push(lexer::string_value(self.text(*s as usize)))
                            }
                            _ => literal = false,
                        }
                    }
                }
                _ => literal = false,
            }
            match args.get(1) {
                Some(Shape::Str(s)) => texts.push(lexer::string_value(self.text(*s as usize))),
                None => {}
                Some(_) => literal = false,
            }
        } else {
            for &k in &e.cypher_args {
                match args.get(k) {
                    Some(Shape::Str(s)) => texts.push(lexer::string_value(self.text(*s as usize))),
                    // A missing optional query argument (apoc.when without else) runs nothing.
                    None if k > 0 => {}
                    _ => literal = false,
                }
            }
        }
        if !literal {
            self.dynamic_because(name, "runs Cypher that is not a literal");
        }
        // APOC also splices column names of the Cypher it runs into further Cypher
        // (`apoc.periodic.iterate`'s `WITH _batch.`col` AS …`): a backtick name inside the
        // literal could inject, so it makes the call dynamic too.
        if texts.iter().any(|t| t.contains('`')) {
            self.dynamic_because(name, "runs Cypher with backtick names");
        }
        self.f.nested.extend(texts);
    }

    fn dynamic_because(&mut self, name: &str, why: &str) {
        self.certain(Class::Dynamic);
        self.f.notes.push(format!("{name} {why}: dynamic"));
    }
}
