//! What the classifier knows about procedures and functions: `catalog.toml`, compiled in.
//!
//! An exact name beats a namespace prefix (`apoc.load.*`), and the longest prefix wins.
//! Names are matched case-insensitively, as Neo4j resolves them. See `docs/policy.md`.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A procedure or a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Called with `CALL`.
    Procedure,
    /// Called in an expression.
    Function,
    /// Either (only in the file).
    Any,
}

/// What calling a routine does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutineClass {
    /// Reads the graph only.
    Read,
    /// Changes data.
    Write,
    /// Changes indexes or constraints.
    Schema,
    /// Security, configuration, databases.
    Admin,
    /// Reaches files, URLs or other systems.
    External,
    /// Runs Cypher given as a string.
    Dynamic,
}

/// One routine (or namespace) of the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Lower-case qualified name, or a namespace ending in `.*`.
    pub name: String,
    /// Procedure, function or either.
    pub kind: Kind,
    /// What a call does.
    pub class: RoutineClass,
    /// For `dynamic`: argument positions that hold Cypher text.
    #[serde(default)]
    pub cypher_args: Vec<usize>,
    /// For `dynamic`: `(list of condition/query pairs, else query)` as in `apoc.case`.
    #[serde(default)]
    pub cypher_args_all: bool,
    /// The call installs something that outlives the statement.
    #[serde(default)]
    pub persists: bool,
    /// The result differs between calls with the same arguments (random values, the
    /// clock, the server's settings): a replay hazard.
    #[serde(default)]
    pub nondeterministic: bool,
    /// The routine takes or gives internal ids, which differ between servers: a replay
    /// hazard.
    #[serde(default)]
    pub internal_id: bool,
    /// Why, for readers of the file.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    routine: Vec<Entry>,
}

struct Catalog {
    exact: HashMap<(String, bool), Entry>,
    prefix: HashMap<(String, bool), Entry>,
}

/// The catalog file, as shipped.
pub const SOURCE: &str = include_str!("catalog.toml");

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The file is compiled in and checked by a unit test; a broken one is a build
        // defect, and an empty catalog only makes the classifier stricter.
        let file: File = toml::from_str(SOURCE).unwrap_or(File {
            routine: Vec::new(),
        });
        let mut c = Catalog {
            exact: HashMap::new(),
            prefix: HashMap::new(),
        };
        for e in file.routine {
            let kinds: &[bool] = match e.kind {
                Kind::Procedure => &[true],
                Kind::Function => &[false],
                Kind::Any => &[true, false],
            };
            for &proc in kinds {
                match e.name.strip_suffix(".*") {
                    Some(ns) => c.prefix.insert((ns.to_owned(), proc), e.clone()),
                    None => c.exact.insert((e.name.clone(), proc), e.clone()),
                };
            }
        }
        c
    })
}

/// What the catalog says about `name` called as `kind`.
pub fn lookup(name: &str, kind: Kind) -> Option<&'static Entry> {
    let proc = kind == Kind::Procedure;
    let lower = name.to_lowercase();
    let c = catalog();
    if let Some(e) = c.exact.get(&(lower.clone(), proc)) {
        return Some(e);
    }
    let mut ns = lower.as_str();
    while let Some((head, _)) = ns.rsplit_once('.') {
        if let Some(e) = c.prefix.get(&(head.to_owned(), proc)) {
            return Some(e);
        }
        ns = head;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_parses_and_is_consistent() {
        let file: File = toml::from_str(SOURCE).expect("catalog.toml parses");
        assert!(file.routine.len() > 100);
        let mut seen = std::collections::HashSet::new();
        for e in &file.routine {
            assert_eq!(
                e.name,
                e.name.to_lowercase(),
                "{} is not lower case",
                e.name
            );
            assert!(
                !e.name.trim_end_matches(".*").contains('*'),
                "{}: only a trailing .* is allowed",
                e.name
            );
            assert!(
                seen.insert((e.name.clone(), format!("{:?}", e.kind))),
                "{} twice",
                e.name
            );
            let dynamic = e.class == RoutineClass::Dynamic;
            assert_eq!(
                dynamic,
                !e.cypher_args.is_empty() || e.cypher_args_all,
                "{}: dynamic routines, and only they, name their Cypher arguments",
                e.name
            );
        }
    }

    #[test]
    fn exact_beats_prefix_and_longest_prefix_wins() {
        assert_eq!(
            lookup("db.labels", Kind::Procedure).map(|e| e.class),
            Some(RoutineClass::Read)
        );
        assert_eq!(
            lookup("APOC.LOAD.JSON", Kind::Procedure).map(|e| e.class),
            Some(RoutineClass::External)
        );
        assert_eq!(
            lookup("apoc.cypher.run", Kind::Procedure).map(|e| e.class),
            Some(RoutineClass::Dynamic)
        );
        assert!(lookup("no.such.thing", Kind::Function).is_none());
    }
}
