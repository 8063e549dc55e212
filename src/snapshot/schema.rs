//! The schema as statements: `SHOW INDEXES` / `SHOW CONSTRAINTS` rows turned into the
//! `CREATE … IF NOT EXISTS` statements that recreate them. Indexes owned by a constraint
//! are created by the constraint; token lookup indexes exist on every database; anything
//! on boltward's temporary restore property is left out.

use boltward_protocol::{Map, Value};
use thiserror::Error;

/// The property restores use to match relationships to their nodes.
pub const RESTORE_ID: &str = "__bw_id";
/// The label restores put on loaded nodes until relationships are in.
pub const RESTORE_LABEL: &str = "__BoltwardRestore";

/// An index or constraint that cannot be written as a statement; the snapshot lists it
/// in the manifest's `schema_skipped` for the operator to recreate by hand.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Unexported {
    /// An index type boltward does not know how to recreate.
    #[error("index {name}: type {kind} is not exported")]
    Index {
        /// The index name, quoted.
        name: String,
        /// Its type.
        kind: String,
    },
    /// A constraint type boltward does not know how to recreate.
    #[error("constraint {name}: type {kind} is not exported")]
    Constraint {
        /// The constraint name, quoted.
        name: String,
        /// Its type.
        kind: String,
    },
    /// A property type constraint without its type.
    #[error("constraint {0}: no propertyType")]
    NoPropertyType(String),
}

/// A Cypher identifier, backtick-quoted.
pub fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn strings(row: &Map, key: &str) -> Vec<String> {
    row.get(key)
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(row: &'a Map, key: &str) -> Option<&'a str> {
    row.get(key).and_then(Value::as_str)
}

/// `(n:`A`)` or `()-[n:`T`]-()` and the property list `n.`a`, n.`b``.
fn target(row: &Map) -> Option<(String, String, Vec<String>)> {
    let labels = strings(row, "labelsOrTypes");
    let props = strings(row, "properties");
    if labels.is_empty() || props.iter().any(|p| p == RESTORE_ID) {
        return None;
    }
    let names = labels
        .iter()
        .map(|l| ident(l))
        .collect::<Vec<_>>()
        .join("|");
    let pattern = if text(row, "entityType") == Some("RELATIONSHIP") {
        format!("()-[n:{names}]-()")
    } else {
        format!("(n:{names})")
    };
    let props = props.iter().map(|p| format!("n.{}", ident(p))).collect();
    Some((pattern, labels.join(","), props))
}

/// The statement recreating an index row (`SHOW INDEXES YIELD *`), or why not.
pub fn index_statement(row: &Map) -> Result<Option<String>, Unexported> {
    let name = text(row, "name").unwrap_or_default();
    let kind = text(row, "type").unwrap_or("RANGE").to_ascii_uppercase();
    if row
        .get("owningConstraint")
        .is_some_and(|v| !matches!(v, Value::Null))
        || kind == "LOOKUP"
    {
        return Ok(None);
    }
    let Some((pattern, _, props)) = target(row) else {
        return Ok(None);
    };
    let name = ident(name);
    Ok(Some(match kind.as_str() {
        "FULLTEXT" => format!(
            "CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR {pattern} ON EACH [{}]",
            props.join(", ")
        ),
        "RANGE" | "BTREE" | "TEXT" | "POINT" => {
            let prefix = match kind.as_str() {
                "TEXT" => "TEXT ",
                "POINT" => "POINT ",
                _ => "",
            };
            format!(
                "CREATE {prefix}INDEX {name} IF NOT EXISTS FOR {pattern} ON ({})",
                props.join(", ")
            )
        }
        other => {
            return Err(Unexported::Index {
                name,
                kind: other.to_owned(),
            })
        }
    }))
}

/// The statement recreating a constraint row (`SHOW CONSTRAINTS YIELD *`), or why not.
pub fn constraint_statement(row: &Map) -> Result<Option<String>, Unexported> {
    let name = ident(text(row, "name").unwrap_or_default());
    let kind = text(row, "type").unwrap_or_default().to_ascii_uppercase();
    let Some((pattern, _, props)) = target(row) else {
        return Ok(None);
    };
    let tuple = if props.len() == 1 {
        props[0].clone()
    } else {
        format!("({})", props.join(", "))
    };
    let rule = if kind.ends_with("UNIQUENESS") {
        "IS UNIQUE".to_owned()
    } else if kind == "NODE_KEY" {
        "IS NODE KEY".to_owned()
    } else if kind == "RELATIONSHIP_KEY" {
        "IS RELATIONSHIP KEY".to_owned()
    } else if kind.ends_with("PROPERTY_EXISTENCE") {
        "IS NOT NULL".to_owned()
    } else if kind.ends_with("PROPERTY_TYPE") {
        let t =
            text(row, "propertyType").ok_or_else(|| Unexported::NoPropertyType(name.clone()))?;
        format!("IS :: {t}")
    } else {
        return Err(Unexported::Constraint { name, kind });
    };
    Ok(Some(format!(
        "CREATE CONSTRAINT {name} IF NOT EXISTS FOR {pattern} REQUIRE {tuple} {rule}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kv: &[(&str, Value)]) -> Map {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn list(v: &[&str]) -> Value {
        Value::List(v.iter().map(|s| Value::String((*s).into())).collect())
    }

    #[test]
    fn indexes_become_statements() {
        let r = row(&[
            ("name", "by_name".into()),
            ("type", "RANGE".into()),
            ("entityType", "NODE".into()),
            ("labelsOrTypes", list(&["Person"])),
            ("properties", list(&["name", "born"])),
            ("owningConstraint", Value::Null),
        ]);
        assert_eq!(
            index_statement(&r).unwrap().unwrap(),
            "CREATE INDEX `by_name` IF NOT EXISTS FOR (n:`Person`) ON (n.`name`, n.`born`)"
        );
        let mut owned = r.clone();
        owned.insert("owningConstraint", "c1");
        assert_eq!(index_statement(&owned).unwrap(), None);
        let mut rel = r.clone();
        rel.insert("entityType", "RELATIONSHIP");
        rel.insert("type", "TEXT");
        assert!(index_statement(&rel)
            .unwrap()
            .unwrap()
            .starts_with("CREATE TEXT INDEX `by_name` IF NOT EXISTS FOR ()-[n:`Person`]-()"));
        let mut lookup = r.clone();
        lookup.insert("type", "LOOKUP");
        assert_eq!(index_statement(&lookup).unwrap(), None);
        let mut temp = r;
        temp.insert("properties", list(&[RESTORE_ID]));
        assert_eq!(index_statement(&temp).unwrap(), None);
    }

    #[test]
    fn constraints_become_statements() {
        let r = row(&[
            ("name", "c1".into()),
            ("type", "UNIQUENESS".into()),
            ("entityType", "NODE".into()),
            ("labelsOrTypes", list(&["P"])),
            ("properties", list(&["k"])),
        ]);
        assert_eq!(
            constraint_statement(&r).unwrap().unwrap(),
            "CREATE CONSTRAINT `c1` IF NOT EXISTS FOR (n:`P`) REQUIRE n.`k` IS UNIQUE"
        );
        let mut typed = r.clone();
        typed.insert("type", "NODE_PROPERTY_TYPE");
        typed.insert("propertyType", "STRING");
        assert!(constraint_statement(&typed)
            .unwrap()
            .unwrap()
            .ends_with("REQUIRE n.`k` IS :: STRING"));
        let mut key = r.clone();
        key.insert("type", "NODE_KEY");
        key.insert("properties", list(&["a", "b"]));
        assert!(constraint_statement(&key)
            .unwrap()
            .unwrap()
            .ends_with("REQUIRE (n.`a`, n.`b`) IS NODE KEY"));
        let mut odd = r;
        odd.insert("type", "SOMETHING_NEW");
        let why = constraint_statement(&odd).unwrap_err();
        assert!(
            why.to_string()
                .ends_with(": type SOMETHING_NEW is not exported"),
            "{why}"
        );
    }
}
