//! boltward: a Bolt sidecar in front of Neo4j.
#![forbid(unsafe_code)]

pub use boltward_protocol as protocol;
