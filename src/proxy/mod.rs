//! The transparent Bolt proxy: listener, per-connection sessions, handshake relay,
//! routing rewrite, client-facing TLS.
//!
//! - [`listener`]: accept loop, connection limit, TLS detection, graceful shutdown.
//! - [`session`]: one connection's two loops and the response FIFO.
//! - [`handshake`]: the narrowed handshake relay.
//! - [`error`]: why a session ended.

mod audit;
mod error;
mod fifo;
mod govern;
mod handshake;
mod listener;
mod members;
pub mod session;
mod verify;

pub use crate::policy::PolicyHandle;
pub use error::SessionError;
pub use listener::{Prepared, Proxy, ProxyError};

use crate::config::Config;
use crate::policy::Policy;
use crate::upstream::UpstreamHandle;
use std::sync::Arc;
use tokio::sync::watch;

/// What every session needs.
pub(crate) struct Context {
    pub(crate) config: Arc<Config>,
    /// The upstream in force (promotion switches it).
    pub(crate) upstream: UpstreamHandle,
    /// `host:port` drivers reach this listener at (routing tables, `advertised_address`).
    pub(crate) advertised: String,
    /// The cluster members and their listeners (shared by every listener).
    pub(crate) members: Arc<members::Members>,
    /// Becomes `true` when shutdown starts.
    pub(crate) draining: watch::Receiver<bool>,
    /// The policy in force (replaced whole on reload).
    pub(crate) policy: PolicyHandle,
    /// Delete-rate windows per actor.
    pub(crate) rates: Arc<govern::DeleteRates>,
    /// EXPLAIN verification, when enabled.
    pub(crate) verifier: Option<Arc<verify::Verifier>>,
    /// Proxy metrics.
    pub(crate) metrics: crate::metrics::ProxyMetrics,
    /// The write gate.
    pub(crate) gate: Arc<crate::gate::WriteGate>,
    /// The write journal (off only when `journal.enabled = false`).
    pub(crate) journal: Option<crate::journal::Journal>,
    /// The journal's order of outcomes (with the journal).
    pub(crate) tickets: Option<crate::journal::Tickets>,
    /// Mirrors a COMMIT waits for (`mode = "sync"`), when any.
    pub(crate) sync: Option<Arc<crate::replicate::Replication>>,
}

impl Context {
    pub(crate) fn policy(&self) -> Arc<Policy> {
        self.policy.get()
    }

    /// The same context for a listener fronting another member.
    fn for_member(&self, upstream: UpstreamHandle, advertised: String) -> Context {
        Context {
            config: self.config.clone(),
            upstream,
            advertised,
            members: self.members.clone(),
            draining: self.draining.clone(),
            policy: self.policy.clone(),
            rates: self.rates.clone(),
            verifier: self.verifier.clone(),
            metrics: self.metrics.clone(),
            gate: self.gate.clone(),
            journal: self.journal.clone(),
            tickets: self.tickets.clone(),
            sync: self.sync.clone(),
        }
    }
}
