//! Cypher tokens, exactly as Neo4j's lexer makes them (Cypher5Lexer.g4 / Cypher25Lexer.g4).
//!
//! The lexer runs on text that has already been through [`super::escape::unescape`], as
//! Neo4j's does. It knows Neo4j's whitespace set, the line terminators that end a `//`
//! comment, identifier characters, string escapes, backtick names (` `` ` inside stands for
//! one), parameters and numbers, and the Unicode dashes and angle brackets Neo4j accepts
//! in arrows. Every character it does not know is an error, never a guess: a character the
//! server would read as a separator must never be read here as part of a name.
//!
//! Linear: each byte is looked at a bounded number of times.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok<'a> {
    /// A keyword or an unquoted identifier, as written.
    Word(&'a str),
    /// A backtick-quoted identifier, unescaped. Never a keyword.
    Quoted(String),
    /// A string literal's value, with its escapes decoded.
    Str(String),
    /// A number literal.
    Number,
    /// A parameter, without the `$`.
    Param(String),
    /// Punctuation, one character; Unicode dashes and angle brackets are given as their
    /// ASCII forms.
    Punct(char),
}

/// One token and the byte offset it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token.
    pub tok: Tok<'a>,
    /// Byte offset in the lexed text.
    pub at: usize,
    /// Byte offset just past the token.
    pub end: usize,
}

/// The text cannot be lexed; the server would refuse it, or read it in a way this lexer
/// does not know, so the classifier assumes the worst.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    /// A string, comment or quoted identifier runs to the end of the text.
    #[error("unterminated {0} at byte {1}")]
    Unterminated(&'static str, usize),
    /// A character Neo4j's lexer has no token for (or one this lexer does not trust).
    #[error("unexpected character {0:?} at byte {1}")]
    Unexpected(char, usize),
    /// A backslash escape a string literal does not allow.
    #[error("invalid escape in a string literal at byte {0}")]
    BadEscape(usize),
    /// A number immediately followed by letters (`1DELETE`).
    #[error("malformed number at byte {0}")]
    BadNumber(usize),
}

/// Whitespace in Neo4j's lexer (rule `SPACE`): the ASCII separators, the information
/// separators U+001C–U+001F, and the Unicode space and line separators it lists. U+0085 is
/// whitespace in Cypher 25 but part of a name in Cypher 5: it is refused (see [`lex`]).
pub fn is_whitespace(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}' | ' ' | '\u{A0}'
        | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}'
        | '\u{205F}' | '\u{3000}')
}

/// Characters that end a `//` comment: line feed and carriage return, nothing else
/// (U+2028, U+2029 and U+0085 do not).
pub fn ends_line_comment(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// A character that may start an unquoted identifier.
fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// A character that may continue an unquoted identifier.
fn is_ident_part(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Punctuation Neo4j's lexer knows, with the Unicode forms of `-`, `<` and `>` it accepts
/// in arrows mapped to ASCII.
fn punct(c: char) -> Option<char> {
    Some(match c {
        '(' | ')' | '[' | ']' | '{' | '}' | ',' | '.' | ':' | ';' | '=' | '<' | '>' | '+' | '-'
        | '*' | '/' | '%' | '^' | '|' | '&' | '!' | '$' | '~' => c,
        // Hyphens and dashes of arrows (U+00AD is refused: part of a name in Cypher 5).
        '\u{2010}'..='\u{2015}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
        '\u{27E8}' | '\u{3008}' | '\u{FE64}' | '\u{FF1C}' => '<',
        '\u{27E9}' | '\u{3009}' | '\u{FE65}' | '\u{FF1E}' => '>',
        _ => return None,
    })
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.text[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Result<(), LexError> {
        loop {
            match self.peek() {
                Some(c) if is_whitespace(c) => {
                    self.bump();
                }
                Some('/') if self.peek2() == Some('/') => {
                    let rest = &self.text[self.pos..];
                    self.pos += rest.find(ends_line_comment).unwrap_or(rest.len());
                }
                Some('/') if self.peek2() == Some('*') => {
                    let at = self.pos;
                    let rest = &self.text[self.pos + 2..];
                    let end = rest
                        .find("*/")
                        .ok_or(LexError::Unterminated("comment", at))?;
                    self.pos += 2 + end + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn word(&mut self) -> Result<&'a str, LexError> {
        let start = self.pos;
        self.bump();
        while self.peek().is_some_and(is_ident_part) {
            self.bump();
        }
        let w = &self.text[start..self.pos];
        match self.peek() {
            // `a$b` is one name in Cypher 5 and `a`, `$b` in Cypher 25.
            Some('$') => Err(LexError::Unexpected('$', self.pos)),
            // `s'…{expr}…'` is an interpolated string in Cypher 25: code inside a string.
            Some('\'' | '"') if w.eq_ignore_ascii_case("s") => {
                Err(LexError::Unexpected('\'', self.pos))
            }
            _ => Ok(w),
        }
    }

    /// A backtick name; the opening backtick is next.
    fn backtick(&mut self) -> Result<String, LexError> {
        let at = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let end = rest
                .find('`')
                .ok_or(LexError::Unterminated("quoted identifier", at))?;
            out.push_str(&rest[..end]);
            self.pos += end + 1;
            if self.peek() == Some('`') {
                out.push('`');
                self.bump();
            } else {
                return Ok(out);
            }
        }
    }

    /// A string literal; the opening quote is next.
    fn string(&mut self) -> Result<String, LexError> {
        let at = self.pos;
        let quote = self.bump().unwrap_or('\'');
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let end = rest
                .find([quote, '\\'])
                .ok_or(LexError::Unterminated("string", at))?;
            out.push_str(&rest[..end]);
            self.pos += end;
            let esc_at = self.pos;
            if self.bump() == Some(quote) {
                return Ok(out);
            }
            // A backslash takes the next character, whatever it is; the known pairs are
            // decoded, any other pair stays as written (Neo4j's LiteralBuilder).
            let e = self.bump().ok_or(LexError::Unterminated("string", at))?;
            let _ = esc_at;
            match e {
                '\\' | '\'' | '"' => out.push(e),
                'b' => out.push('\u{08}'),
                'f' => out.push('\u{0C}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
        }
    }

    /// A number literal; a digit, or a `.` followed by a digit, is next.
    fn number(&mut self) -> Result<(), LexError> {
        let at = self.pos;
        let rest = &self.text.as_bytes()[self.pos..];
        let digits_from = |b: &[u8], mut i: usize, ok: fn(u8) -> bool| {
            while i < b.len() && (ok(b[i]) || b[i] == b'_') {
                i += 1;
            }
            i
        };
        let mut i;
        if rest.len() > 2 && rest[0] == b'0' && matches!(rest[1], b'x' | b'X' | b'o' | b'O') {
            let hex = matches!(rest[1], b'x' | b'X');
            i = digits_from(
                rest,
                2,
                if hex {
                    |b: u8| b.is_ascii_hexdigit()
                } else {
                    |b: u8| (b'0'..=b'7').contains(&b)
                },
            );
        } else {
            i = digits_from(rest, 0, |b: u8| b.is_ascii_digit());
            if rest.get(i) == Some(&b'.') && rest.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i = digits_from(rest, i + 1, |b: u8| b.is_ascii_digit());
            }
            if matches!(rest.get(i), Some(b'e' | b'E')) {
                let mut j = i + 1;
                if matches!(rest.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                if rest.get(j).is_some_and(u8::is_ascii_digit) {
                    i = digits_from(rest, j, |b: u8| b.is_ascii_digit());
                }
            }
        }
        // `0123` is an octal number in Cypher 5 and a name in Cypher 25; `0X1F` is hex in
        // Cypher 5 and a name in Cypher 25: refused, as is a number running into letters.
        let leading_zero = i > 1 && rest[0] == b'0' && rest[1].is_ascii_digit();
        let upper_radix = rest.len() > 1 && rest[0] == b'0' && matches!(rest[1], b'X' | b'O');
        self.pos += i;
        if leading_zero || upper_radix || self.peek().is_some_and(|c| is_ident_part(c) || c == '$')
        {
            return Err(LexError::BadNumber(at));
        }
        Ok(())
    }

    fn param(&mut self) -> Result<Tok<'a>, LexError> {
        let at = self.pos;
        self.bump(); // '$'
        match self.peek() {
            Some('`') => Ok(Tok::Param(self.backtick()?)),
            Some(c) if is_ident_start(c) => Ok(Tok::Param(self.word()?.to_owned())),
            Some(c) if c.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
                if self.peek().is_some_and(is_ident_part) {
                    return Err(LexError::BadNumber(at));
                }
                Ok(Tok::Param(self.text[start..self.pos].to_owned()))
            }
            // `$(…)`, `$any(…)`: dynamic labels and properties; the parser decides.
            _ => Ok(Tok::Punct('$')),
        }
    }

    fn token(&mut self) -> Result<Option<Token<'a>>, LexError> {
        self.skip()?;
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let tok = match c {
            '\'' | '"' => Tok::Str(self.string()?),
            '`' => Tok::Quoted(self.backtick()?),
            '$' => self.param()?,
            c if c.is_ascii_digit() => {
                self.number()?;
                Tok::Number
            }
            // `..` is one token: `1..2` is a range, not `1.` and `.2`.
            '.' if self.peek2() == Some('.') => {
                self.pos += 2;
                Tok::Punct('.') // the second dot is pushed by `lex`
            }
            '.' if self.peek2().is_some_and(|d| d.is_ascii_digit()) => {
                self.number_after_dot()?;
                Tok::Number
            }
            c if is_ident_start(c) => Tok::Word(self.word()?),
            c => {
                let p = punct(c).ok_or(LexError::Unexpected(c, at))?;
                self.bump();
                Tok::Punct(p)
            }
        };
        Ok(Some(Token {
            tok,
            at,
            end: self.pos,
        }))
    }

    /// `.5`, `.5e3`: a number that starts with its decimal point.
    fn number_after_dot(&mut self) -> Result<(), LexError> {
        self.pos += 1;
        self.number()
    }
}

/// Splits `text` (already unescaped) into tokens.
pub fn lex(text: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut lx = Lexer { text, pos: 0 };
    let mut out = Vec::with_capacity(text.len() / 4);
    while let Some(t) = lx.token()? {
        let dotdot = t.tok == Tok::Punct('.') && t.end == t.at + 2;
        let at = t.at;
        out.push(t);
        if dotdot {
            // `..` reaches the parser as two dots; each keeps its own span.
            if let Some(first) = out.last_mut() {
                first.end = at + 1;
            }
            out.push(Token {
                tok: Tok::Punct('.'),
                at: at + 1,
                end: at + 2,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Tok::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_comments_backticks_params() {
        let t = toks("MATCH (n:`Per``son` {name: 'it\\'s // not a comment'}) /* DELETE */ // DELETE\nRETURN n.delete, $p, $`x y`, $0, \"DETACH\"");
        assert_eq!(
            t,
            vec![
                Word("MATCH"),
                Punct('('),
                Word("n"),
                Punct(':'),
                Quoted("Per`son".into()),
                Punct('{'),
                Word("name"),
                Punct(':'),
                Str("it's // not a comment".into()),
                Punct('}'),
                Punct(')'),
                Word("RETURN"),
                Word("n"),
                Punct('.'),
                Word("delete"),
                Punct(','),
                Param("p".into()),
                Punct(','),
                Param("x y".into()),
                Punct(','),
                Param("0".into()),
                Punct(','),
                Str("DETACH".into()),
            ]
        );
    }

    #[test]
    fn every_line_terminator_ends_a_line_comment() {
        for sep in ["\n", "\r", "\r\n"] {
            let q = format!("MATCH (n) // note{sep}DETACH DELETE n");
            assert!(toks(&q).contains(&Word("DETACH")), "{q:?}");
        }
        for sep in ["\u{2028}", "\u{2029}"] {
            let q = format!("MATCH (n) // note{sep}DETACH DELETE n");
            assert_eq!(toks(&q).len(), 4, "{q:?}: the comment runs on");
        }
    }

    #[test]
    fn unicode_whitespace_and_dashes() {
        assert_eq!(
            toks("MATCH\u{3000}(a)\u{2014}\u{FF1E}(b)"),
            vec![
                Word("MATCH"),
                Punct('('),
                Word("a"),
                Punct(')'),
                Punct('-'),
                Punct('>'),
                Punct('('),
                Word("b"),
                Punct(')')
            ]
        );
        assert!(lex("RETURN a\u{2192}").is_err(), "unknown characters fail");
    }

    #[test]
    fn unterminated_is_an_error() {
        assert!(matches!(
            lex("RETURN 'abc"),
            Err(LexError::Unterminated("string", 7))
        ));
        assert!(lex("RETURN 1 /* DELETE").is_err());
        assert!(lex("MATCH (`n").is_err());
        assert_eq!(
            toks("RETURN '\\q\\u'"),
            vec![Word("RETURN"), Str("\\q\\u".into())]
        );
        assert!(lex("RETURN 1DELETE").is_err());
        assert!(lex("RETURN 0123").is_err());
        assert!(lex("RETURN a$b").is_err());
        assert!(lex("RETURN s'{x}'").is_err());
        assert!(lex("RETURN a\u{85}b").is_err());
    }

    #[test]
    fn numbers_and_unicode() {
        assert_eq!(
            toks("RETURN 1.5e3, 0x1F, .5, 1_000, näme"),
            vec![
                Word("RETURN"),
                Number,
                Punct(','),
                Number,
                Punct(','),
                Number,
                Punct(','),
                Number,
                Punct(','),
                Word("näme")
            ]
        );
        assert_eq!(toks("1..2"), vec![Number, Punct('.'), Punct('.'), Number]);
    }
}
