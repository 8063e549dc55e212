//! Cypher, as far as governance needs it: a lexer and a sound write classifier.
//!
//! - [`lexer`]: tokens (strings, comments, backticks, parameters handled exactly).
//! - [`classify`](mod@classify): statement → classes (`read`, `write`, `schema`, `admin`,
//!   `procedure`, `external`, `db-switch`), labels and types named, delete guards.
//!
//! Sound means: a statement may be classified as a write when it is a read, never the
//! other way round. What the lexer cannot decide is flagged for EXPLAIN verification.

pub mod classify;
pub mod lexer;

pub use classify::{classify, Class, Classification};
