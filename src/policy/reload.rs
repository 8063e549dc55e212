//! Replacing the policy in force: one path for SIGHUP and `POST /v1/policy/reload`.
//!
//! The policy is read as at start — the configuration file and the `BOLTWARD_*` variables
//! — and replaces the one in force only when it is valid; otherwise the previous policy
//! stays. Without a configuration file there is nothing new to read (a process's
//! environment does not change), so a reload is refused. Every attempt is counted in
//! `boltward_policy_reloads_total{outcome}` and logged.

use super::{Policy, PolicyError};
use crate::config::{Config, ConfigError};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// Shared, swappable policy: sessions read it per statement, reloads replace it whole.
#[derive(Clone, Default)]
pub struct PolicyHandle(Arc<RwLock<Arc<Policy>>>);

impl PolicyHandle {
    /// A handle holding `policy`.
    pub fn new(policy: Policy) -> Self {
        PolicyHandle(Arc::new(RwLock::new(Arc::new(policy))))
    }

    /// The policy in force.
    pub fn get(&self) -> Arc<Policy> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the policy.
    pub fn set(&self, policy: Policy) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    }
}

/// Why a reload kept the previous policy.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// boltward was started without a configuration file.
    #[error("boltward was started without a configuration file; nothing to reload")]
    NoFile,
    /// The configuration does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `[policy]` table is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Reads the policy from `config` (the file boltward was started with) and the
/// environment, and puts it in force in `handle`; `via` names who asked (logs). On error
/// the previous policy stays.
pub fn reload(
    handle: &PolicyHandle,
    config: Option<&Path>,
    metrics: &crate::metrics::ProxyMetrics,
    via: &str,
) -> Result<Arc<Policy>, ReloadError> {
    let loaded = config.ok_or(ReloadError::NoFile).and_then(|path| {
        Config::load(Some(path), std::env::vars(), &[])
            .map_err(ReloadError::from)
            .and_then(|c| c.policy().map_err(ReloadError::from))
    });
    match loaded {
        Ok(p) => {
            let rules = p.rules.len();
            handle.set(p);
            metrics.policy_reloads.with_label_values(&["ok"]).inc();
            tracing::info!(via, rules, "policy reloaded");
            Ok(handle.get())
        }
        Err(e) => {
            metrics.policy_reloads.with_label_values(&["error"]).inc();
            tracing::warn!(via, error = %e, "policy reload failed; keeping the previous policy");
            Err(e)
        }
    }
}
