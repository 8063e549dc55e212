//! Snapshots (in progress): so far the retention rules.
//!
//! - [`retention`]: which snapshots a keep-days / grandfather–father–son policy deletes.

pub mod retention;
