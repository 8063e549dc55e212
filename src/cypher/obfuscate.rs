//! Rewrites a statement the way an attacker would, without changing what Neo4j reads:
//! other separators and comments between tokens (CR, CRLF, Unicode spaces and line
//! separators, `//` comments ended by CR or LF, block comments full of decoy keywords),
//! keyword case, `CYPHER`/`PROFILE` prefixes, and `\uXXXX` escapes of any character.
//!
//! The fuzz target and the differential tests use it to check that the classifier reads
//! through every such disguise: a statement that is not a read never becomes one.

use super::{escape, lexer};

/// Separators Neo4j's lexer skips (Cypher 5 and 25 alike).
const SEPARATORS: &[&str] = &[
    " ", "\t", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1F}", "\u{A0}", "\u{1680}",
    "\u{2000}", "\u{2005}", "\u{200A}", "\u{2028}", "\u{2029}", "\u{202F}", "\u{205F}", "\u{3000}",
];

/// Comments between tokens, with decoys a keyword scanner would trip over.
const COMMENTS: &[&str] = &[
    "/* CREATE (x) */",
    "/**/",
    "/* ' \" ` // */",
    "// DETACH DELETE n\r",
    "// MERGE (m)\n",
    "// x\r\n",
    "/* RETURN 1 */",
];

const PREFIXES: &[&str] = &["CYPHER 5 ", "CYPHER 25 ", "PROFILE ", "cypher 25 profile "];

/// Where the random choices come from (a fuzzer's bytes, a seeded generator).
pub trait Choices {
    /// A number in `0..n` (`n > 0`).
    fn pick(&mut self, n: usize) -> usize;
}

/// Choices read from bytes; zeros once they run out.
pub struct Bytes<'a>(pub &'a [u8]);

impl Choices for Bytes<'_> {
    fn pick(&mut self, n: usize) -> usize {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b as usize % n
            }
            None => 0,
        }
    }
}

/// Choices from a seed (a linear congruential generator): the same seed, the same disguise.
pub struct Seeded(pub u64);

impl Choices for Seeded {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize % n
    }
}

/// Which disguises to use.
#[derive(Debug, Clone, Copy)]
pub struct Transforms {
    /// Replace separators between tokens and add comments.
    pub separators: bool,
    /// Change the case of keywords and names.
    pub case: bool,
    /// Add a `CYPHER`/`PROFILE` prefix.
    pub prefix: bool,
    /// Escape characters as `\uXXXX`.
    pub escapes: bool,
}

impl Transforms {
    /// All of them.
    pub const ALL: Transforms = Transforms {
        separators: true,
        case: true,
        prefix: true,
        escapes: true,
    };
}

/// `stmt` in disguise; `None` when it cannot be lexed (there is nothing to preserve).
pub fn obfuscate(stmt: &str, t: Transforms, ch: &mut impl Choices) -> Option<String> {
    let text = escape::unescape(stmt).ok()?;
    let tokens = lexer::lex(&text).ok()?;
    let mut plain = String::with_capacity(text.len() * 2);
    if t.prefix && ch.pick(4) == 0 {
        plain.push_str(PREFIXES[ch.pick(PREFIXES.len())]);
    }
    let mut last = 0;
    for tok in &tokens {
        let (at, end) = (tok.at as usize, tok.end as usize);
        let gap = &text[last..at];
        if t.separators && ch.pick(2) == 0 {
            // Spaces around: `/` then `/* … */` must not become `//`.
            plain.push(' ');
            plain.push_str(if ch.pick(3) == 0 {
                COMMENTS[ch.pick(COMMENTS.len())]
            } else {
                SEPARATORS[ch.pick(SEPARATORS.len())]
            });
            plain.push(' ');
        } else {
            plain.push_str(gap);
        }
        let body = &text[at..end];
        if t.case && tok.tok == lexer::Tok::Word && ch.pick(2) == 0 {
            for c in body.chars() {
                plain.push(if ch.pick(2) == 0 {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                });
            }
        } else {
            plain.push_str(body);
        }
        last = end;
    }
    plain.push_str(&text[last..]);
    Some(if t.escapes {
        escape_some(&plain, ch)
    } else {
        reescape(&plain)
    })
}

/// Text that the escape pass turns back into `plain`, with random characters escaped.
fn escape_some(plain: &str, ch: &mut impl Choices) -> String {
    encode(plain, |_| ch.pick(4) == 0)
}

/// Text that the escape pass turns back into `plain` (backslash-`u` pairs protected).
fn reescape(plain: &str) -> String {
    encode(plain, |_| false)
}

fn encode(plain: &str, mut escape_this: impl FnMut(char) -> bool) -> String {
    let mut out = String::with_capacity(plain.len() * 2);
    // Whether the escape pass, reading `out`, holds an unescaped backslash.
    let mut pending = false;
    let mut chars = plain.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_escape = c == '\\' && chars.peek() == Some(&'u');
        if !pending && (starts_escape || escape_this(c)) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04X}"));
            }
            continue;
        }
        out.push(c);
        pending = !pending && c == '\\';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_exactly() {
        for plain in [
            "MATCH (n) RETURN '\\\\u0041', \"\\\\\", n // é😀",
            "\\u0041",
            "a\\\\u0041",
        ] {
            for seed in 0..50 {
                let e = escape_some(plain, &mut Seeded(seed));
                assert_eq!(escape::unescape(&e).unwrap(), plain, "{e:?}");
            }
        }
    }

    #[test]
    fn disguises_keep_the_statement() {
        let stmt = "MATCH (n:Person {name: 'x'}) WHERE n.age > 1 DETACH DELETE n";
        for seed in 0..200 {
            let t = Transforms {
                prefix: false,
                ..Transforms::ALL
            };
            let o = obfuscate(stmt, t, &mut Seeded(seed)).unwrap();
            let plain = escape::unescape(&o).unwrap();
            let a = lexer::lex(&plain).unwrap();
            let b = lexer::lex(stmt).unwrap();
            assert_eq!(a.len(), b.len(), "{o:?}");
        }
    }
}
