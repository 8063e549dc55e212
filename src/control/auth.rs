//! Bearer tokens: where they come from and how they are compared.

use crate::config::Control;
use std::path::PathBuf;

/// `control.token_file` cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("control.token_file {}: {source}", path.display())]
pub struct TokenFileError {
    /// The file.
    pub path: PathBuf,
    /// Cause.
    pub source: std::io::Error,
}

/// Equal in time independent of where the inputs differ (length still shows).
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token: `BOLTWARD_CONTROL_TOKEN`, else the first line of `control.token_file`.
pub fn token_from(control: &Control) -> Result<Option<String>, TokenFileError> {
    if let Ok(t) = std::env::var("BOLTWARD_CONTROL_TOKEN") {
        if !t.trim().is_empty() {
            return Ok(Some(t.trim().to_owned()));
        }
    }
    match &control.token_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|t| {
                t.lines()
                    .next()
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty())
            })
            .map_err(|source| TokenFileError {
                path: path.clone(),
                source,
            }),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_equality() {
        assert!(super::equal(b"secret", b"secret"));
        assert!(!super::equal(b"secret", b"secreT"));
        assert!(!super::equal(b"secret", b"secret2"));
    }
}
