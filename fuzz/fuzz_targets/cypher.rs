//! The Cypher classifier: no panic on any text, and soundness through every disguise —
//! for any statement of the corpus (or any text) and any obfuscating transform (escapes
//! of any character, other separators and comments, case, prefixes), a statement that is
//! not a read never comes out as one; escapes and case alone change nothing at all (not
//! the classes, not the replay hazards).
#![no_main]
use boltward::cypher::obfuscate::{obfuscate, Bytes, Transforms};
use boltward::cypher::{classify, lexer::lex};
use libfuzzer_sys::fuzz_target;

const CORPUS: &str = include_str!("../../tests/cypher/corpus.txt");

fn statements() -> &'static [String] {
    static S: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        CORPUS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" | ").map(|(_, s)| s.to_owned()))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (stmt, choices) = if mode & 1 == 0 {
        // Raw text: no panic, never empty, and a write prefix keeps it a write.
        let text = String::from_utf8_lossy(rest).into_owned();
        let _ = lex(&text);
        assert!(!classify(&text).classes.is_empty());
        let prefixed = format!("CREATE (n) {text}");
        assert!(
            !classify(&prefixed).is_read(),
            "{prefixed:?} classified read"
        );
        (text, &[][..])
    } else {
        let all = statements();
        let i = usize::from(u16::from_le_bytes([
            rest.first().copied().unwrap_or(0),
            rest.get(1).copied().unwrap_or(0),
        ]));
        (all[i % all.len()].clone(), rest.get(2..).unwrap_or(&[]))
    };
    let original = classify(&stmt);
    let transforms = Transforms {
        separators: mode & 2 != 0,
        case: mode & 4 != 0,
        prefix: mode & 8 != 0,
        escapes: mode & 16 != 0,
    };
    let Some(disguised) = obfuscate(&stmt, transforms, &mut Bytes(choices)) else {
        return;
    };
    let c = classify(&disguised);
    if !original.is_read() {
        assert!(
            !c.is_read(),
            "{stmt:?} is {:?} but {disguised:?} came out read",
            original.classes
        );
    }
    if !transforms.separators && !transforms.prefix {
        assert_eq!(original.classes, c.classes, "{stmt:?} vs {disguised:?}");
        // Replay hazards are read from resolved names: a disguise cannot hide one.
        assert_eq!(original.replay, c.replay, "{stmt:?} vs {disguised:?}");
    }
});
