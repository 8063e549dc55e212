//! The transparent Bolt proxy: listener, per-connection sessions, handshake relay,
//! routing rewrite, client-facing TLS.
//!
//! - [`listener`]: accept loop, connection limit, TLS detection, graceful shutdown.
//! - [`session`]: one connection's two loops and the response FIFO.
//! - [`handshake`]: the narrowed handshake relay.
//! - [`error`]: why a session ended.

mod error;
mod handshake;
mod listener;
mod session;

pub use error::SessionError;
pub use listener::{Proxy, ProxyError};

use crate::config::Config;
use crate::upstream::Connector;
use std::sync::Arc;
use tokio::sync::watch;

/// What every session needs.
pub(crate) struct Context {
    pub(crate) config: Arc<Config>,
    pub(crate) connector: Connector,
    /// `host:port` written into routing tables.
    pub(crate) advertised: String,
    /// Becomes `true` when shutdown starts.
    pub(crate) draining: watch::Receiver<bool>,
}
