//! Consistent online snapshots: export through boltward's own Bolt client behind the write
//! barrier, a versioned gzip file with a manifest, offline verification, retention and a
//! cron schedule. Restores and promotion live in [`crate::recovery`].
//!
//! - [`format`]: the record format inside `<id>.bwsnap.gz` (pure, fuzzed).
//! - [`fingerprint`]: the order- and id-independent content hash of a graph.
//! - [`export`]: reading a whole graph (schema, nodes, relationships) as records.
//! - [`import`]: loading a snapshot into a server (UNWIND batches), and emptying one.
//! - [`schema`]: indexes and constraints as re-runnable statements.
//! - [`store`]: snapshot files: atomic write, manifest, list, verify, delete.
//! - [`retention`]: which snapshots a keep-days / grandfather–father–son policy deletes.
//! - [`service`]: taking a snapshot (barrier, LSN, metrics, retention) and the schedule.

pub mod export;
pub mod fingerprint;
pub mod format;
pub mod import;
pub mod retention;
pub mod schema;
pub mod service;
pub mod store;
