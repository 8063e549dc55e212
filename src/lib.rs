//! boltward: a Bolt sidecar in front of Neo4j.
//!
//! - [`app`]: the composition root: builds everything, then binds and serves.
//! - [`cypher`]: Cypher lexer and the sound write classifier.
//! - [`policy`]: the pure policy decision (actor + classified statement → verdict).
//! - [`journal`]: the durable, hash-chained write journal and audit queries.
//! - [`health`]: the three-tier graph health probes.
//! - [`config`]: `boltward.toml`, `BOLTWARD_*` overrides, validation before binding.
//! - [`proxy`]: the transparent Bolt proxy (listener, sessions, routing rewrite, TLS).
//! - [`gate`]: the write gate (pause, barrier) the proxy, snapshots and restores share.
//! - [`upstream`]: connecting to the server and boltward's own lossless Bolt client.
//! - [`snapshot`]: online snapshots: export, files, verify, retention, schedule.
//! - [`replicate`]: mirrors: every committed write replayed into remote servers.
//! - [`recovery`]: restores, validation, the recovery state machine and promotion.
//! - [`tls`]: rustls configuration for both sides.
//! - [`control`]: the control HTTP port (health, readiness, metrics, status, policy, audit,
//!   snapshots, restores); its request and response bodies, [`control::api`], are the
//!   types the CLI reads.
//! - [`metrics`]: the Prometheus registry subsystems register into.
//! - [`cli`]: the `boltward` command line.
//!
//! The wire format lives in the I/O-free [`protocol`] crate.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod control;
pub mod cypher;
pub mod gate;
pub mod health;
pub mod journal;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod recovery;
pub mod replicate;
pub mod retention;
pub mod snapshot;
pub mod tls;
pub mod upstream;

pub use boltward_protocol as protocol;
