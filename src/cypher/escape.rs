//! The unicode-escape pass Neo4j applies to the whole query text before it lexes.
//!
//! Neo4j reads a query through a replacement reader: a backslash that is preceded by an
//! even number of backslashes (so it is not itself escaped), followed by `u` and four hex
//! digits, stands for that UTF-16 code unit, everywhere — in keywords, strings, comments
//! and quoted names alike. So `\u0043REATE` is the keyword CREATE and
//! `// x\u000aDELETE n` ends the comment. The pass is single: a character produced by an
//! escape never starts another escape, and never escapes the backslash after it.
//!
//! Escapes of surrogate halves pair up (`\uD83D\uDE00` is one character); an unpaired
//! half cannot be represented here and, like a malformed escape, is an error: the
//! classifier then fails closed.

use std::borrow::Cow;

/// The escape pass failed: the server would refuse or misread the text, so the
/// classifier must assume the worst.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// `\u` without four hex digits after it.
    #[error("malformed unicode escape at byte {0}")]
    Malformed(usize),
    /// An escaped UTF-16 surrogate half without its other half.
    #[error("unpaired surrogate in a unicode escape at byte {0}")]
    Surrogate(usize),
}

/// A hex digit as Java's `Character.digit(c, 16)` reads it, for the ASCII and fullwidth
/// forms. Other Unicode decimal digits (which Java accepts too) are refused: the escape is
/// then malformed here, the statement a write — stricter than the server, never looser.
fn hex_digit(c: char) -> Option<i32> {
    match c {
        '0'..='9' | 'a'..='f' | 'A'..='F' => c.to_digit(16).map(|d| d as i32),
        '\u{FF10}'..='\u{FF19}' => Some(c as i32 - 0xFF10),
        '\u{FF21}'..='\u{FF26}' => Some(c as i32 - 0xFF21 + 10),
        '\u{FF41}'..='\u{FF46}' => Some(c as i32 - 0xFF41 + 10),
        _ => None,
    }
}

/// `Integer.parseInt(window, 16)` truncated to a UTF-16 unit, as `(char)` does in Java.
fn parse_window(window: &str, at: usize) -> Result<u16, EscapeError> {
    let (negative, digits) = match window.as_bytes().first() {
        Some(b'-') => (true, &window[1..]),
        Some(b'+') => (false, &window[1..]),
        _ => (false, window),
    };
    if digits.is_empty() {
        return Err(EscapeError::Malformed(at));
    }
    let mut v: i32 = 0;
    for c in digits.chars() {
        v = v * 16 + hex_digit(c).ok_or(EscapeError::Malformed(at))?;
    }
    if negative {
        v = -v;
    }
    Ok((v as u32 & 0xFFFF) as u16)
}

/// Replaces every unicode escape in `text`; borrows when there is none (the common case).
///
/// Neo4j's rules (its `UnicodeEscapeReplacementReader`): a backslash not itself escaped by
/// the backslash before it, followed by exactly one `u`, stands for the UTF-16 unit that the
/// next four characters (fewer at the end of the text) give when read as a hex number, a
/// leading sign included. Anything else there is an error for the whole statement, even
/// in a comment. Linear in the length of `text`.
pub fn unescape(text: &str) -> Result<Cow<'_, str>, EscapeError> {
    if !text.contains("\\u") {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut escaped = false;
    let mut pending_high: Option<(u16, usize)> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let at = text.len() - rest.len();
        if !escaped && rest.starts_with("\\u") {
            let body = &rest[2..];
            let end = body.char_indices().nth(4).map_or(body.len(), |(i, _)| i);
            let unit = parse_window(&body[..end], at)?;
            match (pending_high.take(), unit) {
                (None, 0xD800..=0xDBFF) => pending_high = Some((unit, at)),
                (Some((hi, _)), 0xDC00..=0xDFFF) => {
                    let code =
                        0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                    out.push(char::from_u32(code).ok_or(EscapeError::Surrogate(at))?);
                }
                (Some((_, hi_at)), _) => return Err(EscapeError::Surrogate(hi_at)),
                (None, _) => {
                    out.push(char::from_u32(u32::from(unit)).ok_or(EscapeError::Surrogate(at))?)
                }
            }
            rest = &body[end..];
            escaped = false;
            continue;
        }
        if let Some((_, hi_at)) = pending_high {
            return Err(EscapeError::Surrogate(hi_at));
        }
        out.push(c);
        escaped = !escaped && c == '\\';
        rest = &rest[c.len_utf8()..];
    }
    if let Some((_, at)) = pending_high {
        return Err(EscapeError::Surrogate(at));
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(s: &str) -> String {
        unescape(s).unwrap().into_owned()
    }

    #[test]
    fn escapes_are_replaced_everywhere() {
        assert_eq!(un(r"\u0043REATE (n)"), "CREATE (n)");
        assert_eq!(un(r"\u+043REATE"), "CREATE");
        assert_eq!(un(r"\u00411"), "A1");
        assert_eq!(un(r"x\u41"), "xA", "a shorter window at the end");
        assert_eq!(
            un("\\u\u{FF10}\u{FF10}\u{FF14}\u{FF13}"),
            "C",
            "fullwidth digits"
        );
        assert_eq!(un(r"\u-001"), "\u{FFFF}");
        assert_eq!(
            un(r"MATCH (n) // ok\u000aDETACH DELETE n"),
            "MATCH (n) // ok\nDETACH DELETE n"
        );
        assert_eq!(un(r"RETURN '\u0027"), "RETURN ''");
        assert_eq!(un(r"\u00e9\u00E9"), "éé");
        assert_eq!(un(r"\uD83D\uDE00"), "😀");
    }

    #[test]
    fn even_runs_are_not_escapes() {
        assert_eq!(un(r"'\\u0043'"), r"'\\u0043'");
        assert_eq!(un(r"'\\\u0043'"), r"'\\C'");
        assert_eq!(un(r"\q \n"), r"\q \n");
        // A produced backslash does not start another escape.
        assert_eq!(un(r"\u005cu0043"), r"\u0043");
        assert_eq!(
            un(r"\u005c\u0043"),
            r"\C",
            "a produced backslash escapes nothing"
        );
        assert!(matches!(unescape("plain"), Ok(Cow::Borrowed("plain"))));
    }

    #[test]
    fn malformed_escapes_fail() {
        assert_eq!(unescape(r"\u00zz"), Err(EscapeError::Malformed(0)));
        assert_eq!(unescape(r"x \u12 y"), Err(EscapeError::Malformed(2)));
        assert_eq!(un(r"x \u12"), "x \u{12}", "a shorter window at the end");
        assert_eq!(unescape(r"\uu0043"), Err(EscapeError::Malformed(0)));
        assert_eq!(unescape(r"// C:\users"), Err(EscapeError::Malformed(5)));
        assert_eq!(unescape(r"\u"), Err(EscapeError::Malformed(0)));
        assert!(unescape(r"\uD800 x").is_err());
        assert!(unescape(r"\uDC00").is_err());
    }
}
