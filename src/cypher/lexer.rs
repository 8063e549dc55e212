//! A Cypher lexer: just enough structure for a sound write classifier.
//!
//! Strings (both quote styles, backslash escapes), `//` and `/* */` comments, backtick
//! identifiers (with ` `` ` escapes), parameters (`$name`, `` $`name` ``, `$0`), numbers,
//! words (keywords and identifiers alike: the classifier decides by context) and single
//! punctuation characters. Comments and whitespace are dropped. Unterminated strings,
//! comments or quoted identifiers are errors: the classifier then assumes the worst.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{anychar, char};
use nom::combinator::{map, recognize, value};
use nom::sequence::{delimited, pair, preceded};
use nom::IResult;

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// A keyword or an unquoted identifier, as written.
    Word(&'a str),
    /// A backtick-quoted identifier, unescaped.
    Quoted(String),
    /// A string literal (its contents never matter for classification).
    Str,
    /// A number literal.
    Number,
    /// A parameter, without the `$`.
    Param(String),
    /// Any other single character.
    Punct(char),
}

/// The statement could not be lexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    /// A string, comment or quoted identifier runs to the end of the text.
    #[error("unterminated {0} at byte {1}")]
    Unterminated(&'static str, usize),
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn word(i: &str) -> IResult<&str, &str> {
    recognize(pair(take_while1(is_word_start), take_while(is_word_char)))(i)
}

fn number(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        take_while1(|c: char| c.is_ascii_digit()),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
    ))(i)
}

/// The body of a quoted run up to `close`, honouring backslash escapes.
fn quoted_body(close: char) -> impl Fn(&str) -> IResult<&str, ()> {
    move |i: &str| {
        let mut chars = i.char_indices();
        while let Some((at, c)) = chars.next() {
            if c == '\\' {
                chars.next();
            } else if c == close {
                return Ok((&i[at..], ()));
            }
        }
        Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Char,
        )))
    }
}

fn string(i: &str) -> IResult<&str, Token<'_>> {
    alt((
        value(
            Token::Str,
            delimited(char('\''), quoted_body('\''), char('\'')),
        ),
        value(
            Token::Str,
            delimited(char('"'), quoted_body('"'), char('"')),
        ),
    ))(i)
}

/// A backtick identifier; two backticks inside stand for one.
fn backtick(i: &str) -> IResult<&str, String> {
    let (mut rest, _) = char('`')(i)?;
    let mut out = String::new();
    loop {
        let Some(end) = rest.find('`') else {
            return Err(nom::Err::Error(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Char,
            )));
        };
        out.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix('`') {
            out.push('`');
            rest = r;
        } else {
            return Ok((rest, out));
        }
    }
}

fn param(i: &str) -> IResult<&str, Token<'_>> {
    preceded(
        char('$'),
        alt((
            map(backtick, Token::Param),
            map(alt((word, number)), |w: &str| Token::Param(w.to_owned())),
        )),
    )(i)
}

fn skip(i: &str) -> IResult<&str, ()> {
    let mut rest = i;
    loop {
        let trimmed = rest.trim_start();
        if trimmed.starts_with("//") {
            rest = trimmed.find('\n').map_or("", |n| &trimmed[n..]);
        } else if trimmed.starts_with("/*") {
            match delimited(
                tag::<_, _, nom::error::Error<&str>>("/*"),
                take_until("*/"),
                tag("*/"),
            )(trimmed)
            {
                Ok((r, _)) => rest = r,
                Err(_) => return Ok((trimmed, ())),
            }
        } else {
            return Ok((trimmed, ()));
        }
    }
}

/// One token, dispatched on its first character (one parser tried per token).
fn token(i: &str) -> IResult<&str, Token<'_>> {
    match i.chars().next() {
        Some('\'' | '"') => string(i),
        Some('`') => map(backtick, Token::Quoted)(i),
        Some('$') => alt((param, map(anychar, Token::Punct)))(i),
        Some(c) if is_word_start(c) => map(word, Token::Word)(i),
        Some(c) if c.is_ascii_digit() => value(Token::Number, number)(i),
        _ => map(anychar, Token::Punct)(i),
    }
}

/// Splits `text` into tokens.
pub fn lex(text: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut out = Vec::with_capacity(text.len() / 4);
    let mut rest = text;
    loop {
        let (r, ()) = skip(rest).unwrap_or((rest, ()));
        rest = r;
        if rest.is_empty() {
            return Ok(out);
        }
        let at = text.len() - rest.len();
        match token(rest) {
            // A quote that no string or identifier parser accepted never closes.
            Ok((_, Token::Punct(q @ ('\'' | '"' | '`')))) => {
                let what = if q == '`' {
                    "quoted identifier"
                } else {
                    "string"
                };
                return Err(LexError::Unterminated(what, at));
            }
            Ok((r, t)) => {
                out.push(t);
                rest = r;
            }
            Err(_) => {
                let what = match rest.chars().next() {
                    Some('\'') | Some('"') => "string",
                    Some('`') => "quoted identifier",
                    Some('/') => "comment",
                    _ => "token",
                };
                return Err(LexError::Unterminated(what, at));
            }
        }
        // "/*" that skip() could not close is an unterminated comment, not two Puncts.
        if let [.., Token::Punct('/'), Token::Punct('*')] = out.as_slice() {
            return Err(LexError::Unterminated("comment", at.saturating_sub(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Token::*;

    #[test]
    fn strings_comments_backticks_params() {
        let t = lex("MATCH (n:`Per``son` {name: 'it\\'s // not a comment'}) /* DELETE */ // DELETE\nRETURN n.delete, $p, $`x y`, $0, \"DETACH\"").unwrap();
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
                Str,
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
                Str,
            ]
        );
    }

    #[test]
    fn unterminated_is_an_error() {
        assert!(matches!(
            lex("RETURN 'abc"),
            Err(LexError::Unterminated("string", 7))
        ));
        assert!(lex("RETURN 1 /* DELETE").is_err());
        assert!(lex("MATCH (`n").is_err());
    }

    #[test]
    fn numbers_and_unicode() {
        assert_eq!(
            lex("RETURN 1.5e3, 0x1F, näme").unwrap(),
            vec![
                Word("RETURN"),
                Number,
                Punct(','),
                Number,
                Punct(','),
                Word("näme")
            ]
        );
    }
}
