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

/// What a token is. The text of a token is its span of the lexed text: tokens carry no
/// strings, so a statement of a million tokens costs 16 MB, not 48, and no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// A keyword or an unquoted identifier.
    Word,
    /// A backtick-quoted identifier ([`unquote`] gives its name). Never a keyword.
    Quoted,
    /// A string literal ([`string_value`] gives its value).
    Str,
    /// A number literal.
    Number,
    /// A parameter (`$name`, `` $`name` ``, `$0`).
    Param,
    /// Punctuation, one ASCII character; Unicode dashes and angle brackets are given as
    /// their ASCII forms.
    Punct(u8),
}

/// One token and its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Byte offset in the lexed text.
    pub at: u32,
    /// Byte offset just past the token.
    pub end: u32,
}

impl Token {
    /// The token as written in `text` (the text it was lexed from).
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.at as usize..self.end as usize).unwrap_or("")
    }
}

/// The name a backtick identifier stands for (` `` ` is one backtick); `raw` includes the
/// backticks.
pub fn unquote(raw: &str) -> std::borrow::Cow<'_, str> {
    let inner = raw
        .strip_prefix('`')
        .and_then(|r| r.strip_suffix('`'))
        .unwrap_or(raw);
    if inner.contains("``") {
        std::borrow::Cow::Owned(inner.replace("``", "`"))
    } else {
        std::borrow::Cow::Borrowed(inner)
    }
}

/// The value of a string literal (`raw` includes the quotes): a backslash takes the next
/// character, whatever it is; `\t \b \n \r \f \' \" \\` are decoded, any other pair stays
/// as written (Neo4j's LiteralBuilder).
pub fn string_value(raw: &str) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | '\'' | '"')) => out.push(e),
            Some('b') => out.push('\u{08}'),
            Some('f') => out.push('\u{0C}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The name of a parameter token (`raw` includes the `$`).
pub fn param_name(raw: &str) -> std::borrow::Cow<'_, str> {
    let name = raw.strip_prefix('$').unwrap_or(raw);
    if name.starts_with('`') {
        unquote(name)
    } else {
        std::borrow::Cow::Borrowed(name)
    }
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
    /// A number immediately followed by letters (`1DELETE`).
    #[error("malformed number at byte {0}")]
    BadNumber(usize),
    /// More than 4 GiB of text.
    #[error("the statement is too long to lex")]
    TooLong,
}

/// Whitespace in Neo4j's lexer (rule `SPACE`): the ASCII separators, the information
/// separators U+001C–U+001F, and the Unicode space and line separators it lists. U+0085 is
/// whitespace in Cypher 25 but part of a name in Cypher 5: [`lex`] refuses it, [`lex_25`]
/// skips it.
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
fn punct(c: char) -> Option<u8> {
    Some(match c {
        '(' | ')' | '[' | ']' | '{' | '}' | ',' | '.' | ':' | ';' | '=' | '<' | '>' | '+' | '-'
        | '*' | '/' | '%' | '^' | '|' | '&' | '!' | '$' | '~' => c as u8,
        // Hyphens and dashes of arrows (U+00AD is refused: part of a name in Cypher 5).
        '\u{2010}'..='\u{2015}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => b'-',
        '\u{27E8}' | '\u{3008}' | '\u{FE64}' | '\u{FF1C}' => b'<',
        '\u{27E9}' | '\u{3009}' | '\u{FE65}' | '\u{FF1E}' => b'>',
        _ => return None,
    })
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    /// Lexing for Cypher 25 only: U+0085 is whitespace.
    cypher25: bool,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        match self.text.as_bytes().get(self.pos) {
            Some(&b) if b < 0x80 => Some(b as char),
            Some(_) => self.text[self.pos..].chars().next(),
            None => None,
        }
    }

    fn peek2(&self) -> Option<char> {
        let b = self.text.as_bytes();
        match (b.get(self.pos), b.get(self.pos + 1)) {
            (Some(&c), Some(&d)) if c < 0x80 && d < 0x80 => Some(d as char),
            (Some(_), _) => {
                let mut it = self.text[self.pos..].chars();
                it.next();
                it.next()
            }
            (None, _) => None,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Result<(), LexError> {
        let b = self.text.as_bytes();
        loop {
            // ASCII spaces, the common case, without decoding.
            while matches!(b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.pos += 1;
            }
            match self.peek() {
                Some(c) if is_whitespace(c) || (self.cypher25 && c == '\u{85}') => {
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

    fn word(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        self.bump();
        let b = self.text.as_bytes();
        loop {
            match b.get(self.pos) {
                Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => self.pos += 1,
                Some(c) if *c >= 0x80 && self.peek().is_some_and(is_ident_part) => {
                    self.bump();
                }
                _ => break,
            }
        }
        let w = &self.text[start..self.pos];
        match self.peek() {
            // `a$b` is one name in Cypher 5 and `a`, `$b` in Cypher 25.
            Some('$') => Err(LexError::Unexpected('$', self.pos)),
            // `s'…{expr}…'` is an interpolated string in Cypher 25: code inside a string.
            Some('\'' | '"') if w.eq_ignore_ascii_case("s") => {
                Err(LexError::Unexpected('\'', self.pos))
            }
            _ => Ok(()),
        }
    }

    /// A backtick name; the opening backtick is next.
    fn backtick(&mut self) -> Result<(), LexError> {
        let at = self.pos;
        self.bump();
        loop {
            let rest = &self.text[self.pos..];
            let end = rest
                .find('`')
                .ok_or(LexError::Unterminated("quoted identifier", at))?;
            self.pos += end + 1;
            if self.peek() == Some('`') {
                self.bump();
            } else {
                return Ok(());
            }
        }
    }

    /// A string literal; the opening quote is next. A backslash takes the next character.
    fn string(&mut self) -> Result<(), LexError> {
        let at = self.pos;
        let quote = if self.bump() == Some('"') {
            b'"'
        } else {
            b'\''
        };
        let b = self.text.as_bytes();
        let mut i = self.pos;
        loop {
            match b.get(i) {
                None => return Err(LexError::Unterminated("string", at)),
                Some(&c) if c == quote => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    // Skip the backslash and the whole character after it.
                    i += 1;
                    let next = self.text.get(i..).and_then(|r| r.chars().next());
                    i += next.map_or(1, char::len_utf8);
                }
                Some(_) => i += 1,
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

    fn param(&mut self) -> Result<Tok, LexError> {
        let at = self.pos;
        self.bump(); // '$'
        match self.peek() {
            Some('`') => self.backtick()?,
            Some(c) if is_ident_start(c) => self.word()?,
            Some(c) if c.is_ascii_digit() => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
                if self.peek().is_some_and(is_ident_part) {
                    return Err(LexError::BadNumber(at));
                }
            }
            // `$(…)`, `$any(…)`: dynamic labels and properties; the parser decides.
            _ => return Ok(Tok::Punct(b'$')),
        }
        Ok(Tok::Param)
    }

    /// The next token's kind; it spans from where [`Lexer::skip`] left `pos` to `pos`.
    fn token(&mut self) -> Result<Tok, LexError> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Err(LexError::Unterminated("token", at));
        };
        let tok = match c {
            '\'' | '"' => {
                self.string()?;
                Tok::Str
            }
            '`' => {
                self.backtick()?;
                Tok::Quoted
            }
            '$' => self.param()?,
            c if c.is_ascii_digit() => {
                self.number()?;
                Tok::Number
            }
            // `..` is one token: `1..2` is a range, not `1.` and `.2`.
            '.' if self.peek2() == Some('.') => {
                self.pos += 2;
                Tok::Punct(b'.') // the second dot is pushed by `lex`
            }
            '.' if self.peek2().is_some_and(|d| d.is_ascii_digit()) => {
                self.number_after_dot()?;
                Tok::Number
            }
            c if is_ident_start(c) => {
                self.word()?;
                Tok::Word
            }
            c => {
                let p = punct(c).ok_or(LexError::Unexpected(c, at))?;
                self.bump();
                Tok::Punct(p)
            }
        };
        Ok(tok)
    }

    /// `.5`, `.5e3`: a number that starts with its decimal point.
    fn number_after_dot(&mut self) -> Result<(), LexError> {
        self.pos += 1;
        self.number()
    }
}

/// Splits `text` (already unescaped) into tokens, as both Cypher 5 and Cypher 25 would:
/// where they differ, it refuses.
pub fn lex(text: &str) -> Result<Vec<Token>, LexError> {
    lex_mode(text, false)
}

/// [`lex`] for a statement known to run as Cypher 25 (its `CYPHER 25` prefix says so):
/// U+0085 is whitespace.
pub fn lex_25(text: &str) -> Result<Vec<Token>, LexError> {
    lex_mode(text, true)
}

fn lex_mode(text: &str, cypher25: bool) -> Result<Vec<Token>, LexError> {
    if u32::try_from(text.len()).is_err() {
        return Err(LexError::TooLong);
    }
    let mut lx = Lexer {
        text,
        pos: 0,
        cypher25,
    };
    let mut out = Vec::with_capacity(text.len() / 2);
    loop {
        lx.skip()?;
        if lx.pos >= text.len() {
            return Ok(out);
        }
        let at = lx.pos as u32;
        let tok = lx.token()?;
        let t = Token {
            tok,
            at,
            end: lx.pos as u32,
        };
        if t.tok == Tok::Punct(b'.') && t.end == t.at + 2 {
            // `..` reaches the parser as two dots, each with its own span.
            out.push(Token { end: t.at + 1, ..t });
            out.push(Token { at: t.at + 1, ..t });
        } else {
            out.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Tok::*;

    /// Tokens as `kind` or `kind:value`, values decoded.
    fn toks(s: &str) -> Vec<String> {
        lex(s)
            .unwrap()
            .into_iter()
            .map(|t| {
                let raw = t.text(s);
                match t.tok {
                    Word => format!("W:{raw}"),
                    Quoted => format!("Q:{}", unquote(raw)),
                    Str => format!("S:{}", string_value(raw)),
                    Number => "N".into(),
                    Param => format!("$:{}", param_name(raw)),
                    Punct(c) => format!("{}", char::from(c)),
                }
            })
            .collect()
    }

    #[test]
    fn strings_comments_backticks_params() {
        let t = toks("MATCH (n:`Per``son` {name: 'it\\'s // not a comment'}) /* DELETE */ // DELETE\nRETURN n.delete, $p, $`x y`, $0, \"DETACH\"");
        assert_eq!(
            t,
            vec![
                "W:MATCH",
                "(",
                "W:n",
                ":",
                "Q:Per`son",
                "{",
                "W:name",
                ":",
                "S:it's // not a comment",
                "}",
                ")",
                "W:RETURN",
                "W:n",
                ".",
                "W:delete",
                ",",
                "$:p",
                ",",
                "$:x y",
                ",",
                "$:0",
                ",",
                "S:DETACH",
            ]
        );
    }

    #[test]
    fn every_line_terminator_ends_a_line_comment() {
        for sep in ["\n", "\r", "\r\n"] {
            let q = format!("MATCH (n) // note{sep}DETACH DELETE n");
            assert!(toks(&q).contains(&"W:DETACH".to_string()), "{q:?}");
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
            vec!["W:MATCH", "(", "W:a", ")", "-", ">", "(", "W:b", ")"]
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
        assert_eq!(toks("RETURN '\\q\\u'"), vec!["W:RETURN", "S:\\q\\u"]);
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
            vec!["W:RETURN", "N", ",", "N", ",", "N", ",", "N", ",", "W:näme"]
        );
        assert_eq!(toks("1..2"), vec!["N", ".", ".", "N"]);
    }
}
