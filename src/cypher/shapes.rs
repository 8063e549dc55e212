//! Worst-case statement shapes, for the classifier's benchmarks and bounded-work tests:
//! each one grows a single feature (nesting, label expressions, comments, strings,
//! escapes, operator chains, lists, clauses, dynamic Cypher) to about `bytes` bytes.

/// `(name, statement)` pairs of about `bytes` bytes each.
pub fn adversarial(bytes: usize) -> Vec<(&'static str, String)> {
    let rep = |unit: &str, n: usize| unit.repeat(n / unit.len().max(1));
    let half = bytes / 2;
    vec![
        (
            "deep-nesting",
            format!("RETURN {}1{}", rep("(", half), rep(")", half)),
        ),
        (
            "deep-lists",
            format!("RETURN {}1{}", rep("[", half), rep("]", half)),
        ),
        (
            "label-negations",
            format!("MATCH (n:{}A) RETURN n", rep("!", bytes)),
        ),
        (
            "label-alternatives",
            format!("MATCH (n:A{}) RETURN n", rep("|A", bytes)),
        ),
        (
            "comments",
            format!("MATCH (n){} RETURN n", rep(" /* CREATE */", bytes)),
        ),
        (
            "line-comments",
            format!("MATCH (n){}\nRETURN n", rep(" // DELETE\r", bytes)),
        ),
        ("long-string", format!("RETURN '{}'", rep("a", bytes))),
        ("escapes", format!("RETURN '{}'", rep("\\u0041", bytes))),
        ("operator-chain", format!("RETURN 1{}", rep(" + 1", bytes))),
        ("not-chain", format!("RETURN {}true", rep("NOT ", bytes))),
        ("list-elements", format!("RETURN [1{}]", rep(", 1", bytes))),
        (
            "clauses",
            format!("MATCH (n){} RETURN n", rep(" WITH n", bytes)),
        ),
        (
            "pattern-chain",
            format!("MATCH (a){} RETURN a", rep("-->()", bytes)),
        ),
        (
            "dynamic-cypher",
            format!(
                "CALL apoc.cypher.run('MATCH (n) RETURN n{}', {{}}) YIELD value RETURN value",
                rep(", n", bytes)
            ),
        ),
        ("unbalanced", format!("RETURN {}", rep("(", bytes))),
    ]
}
