//! The Cypher lexer and classifier: no panic, and soundness on a shape the fuzzer cannot
//! escape — whatever follows a leading `CREATE (n)`, the statement is never a read.
#![no_main]
use boltward::cypher::{classify, lexer::lex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = lex(text);
    let c = classify(text);
    assert!(!c.classes.is_empty());
    let prefixed = format!("CREATE (n) {text}");
    assert!(
        !classify(&prefixed).is_read(),
        "{prefixed:?} classified read"
    );
});
