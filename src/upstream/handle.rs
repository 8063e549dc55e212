//! The upstream in force, swappable: promotion replaces it, and everything that connects
//! upstream (sessions, EXPLAIN verification, probes, readiness) asks the handle each time.

use super::Connector;
use std::sync::Arc;
use tokio::sync::watch;

/// The upstream now, and how many times it has been switched.
#[derive(Clone)]
pub struct Current {
    /// 0 at start, +1 per switch.
    pub generation: u64,
    /// How to reach it.
    pub connector: Connector,
}

/// Shared handle to the upstream in force.
#[derive(Clone)]
pub struct UpstreamHandle(Arc<watch::Sender<Current>>);

impl UpstreamHandle {
    /// A handle on `connector`, generation 0.
    pub fn new(connector: Connector) -> Self {
        UpstreamHandle(Arc::new(watch::Sender::new(Current {
            generation: 0,
            connector,
        })))
    }

    /// The upstream in force.
    pub fn current(&self) -> Current {
        self.0.borrow().clone()
    }

    /// Its connector.
    pub fn connector(&self) -> Connector {
        self.0.borrow().connector.clone()
    }

    /// Its generation.
    pub fn generation(&self) -> u64 {
        self.0.borrow().generation
    }

    /// Its `host:port`.
    pub fn addr(&self) -> String {
        self.0.borrow().connector.addr().to_owned()
    }

    /// Makes `connector` the upstream; returns the new generation.
    pub fn switch(&self, connector: Connector) -> u64 {
        let mut generation = 0;
        self.0.send_modify(|c| {
            c.generation += 1;
            c.connector = connector;
            generation = c.generation;
        });
        generation
    }

    /// Notified on every switch.
    pub fn subscribe(&self) -> watch::Receiver<Current> {
        self.0.subscribe()
    }
}
