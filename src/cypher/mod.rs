//! Cypher, as far as governance needs it: read exactly as Neo4j reads it, then classified.
//!
//! - [`escape`]: the `\uXXXX` replacement Neo4j applies to the whole text first.
//! - [`lexer`]: tokens per Neo4j's lexer grammar (whitespace, comments, names, strings).
//! - [`parse`]: the statement's structure (clauses, subqueries, patterns, expressions,
//!   commands), by recursive descent; nothing is skipped by guessing.
//! - [`catalog`]: what known procedures and functions do (`catalog.toml`).
//! - [`obfuscate`]: disguises that do not change what Neo4j reads (for fuzzing and tests).
//! - [`replay`]: why replaying a write elsewhere could give another result.
//! - [`shapes`]: worst-case statements for benchmarks and bounded-work tests.
//! - [`classify`](mod@classify): statement → classes (`read`, `write`, `schema`, `admin`,
//!   `procedure`, `external`, `db-switch`, `dynamic`), labels and types named, guards.
//!
//! Sound means: a statement may be classified as a write when it is a read, never the
//! other way round. Anything that cannot be escaped, lexed or parsed is a write.

pub mod catalog;
pub mod classify;
pub mod escape;
pub mod lexer;
pub mod obfuscate;
pub mod parse;
pub mod replay;
pub mod shapes;

pub use classify::{classify, classify_limited, Class, Classification};
pub use replay::ReplayHazard;
