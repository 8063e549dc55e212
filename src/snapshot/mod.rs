//! Snapshots (in progress): so far the retention rules and the graph fingerprint.
//!
//! - [`retention`]: which snapshots a keep-days / grandfather–father–son policy deletes.
//! - [`fingerprint`]: the order- and id-independent content hash of a graph.

pub mod fingerprint;
pub mod retention;
