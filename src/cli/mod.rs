//! The `boltward` command line: `serve` runs the proxy; every other command is an
//! operator tool (`config check` now; the control-port clients join as they land).

use crate::config::{Config, ConfigError};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// boltward: a Bolt sidecar that governs, journals and protects writes to Neo4j.
#[derive(Debug, Parser)]
#[command(name = "boltward", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy in front of a Bolt server.
    Serve(ServeArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `boltward config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration (file, BOLTWARD_* variables, flags) without
    /// binding anything; exits non-zero naming the bad key.
    Check(ConfigArgs),
}

/// Where the configuration comes from.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Configuration file (TOML). Optional: flags and BOLTWARD_* variables suffice.
    #[arg(long, short, env = "BOLTWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as JSON-like debug output.
    #[arg(long)]
    pub json: bool,
}

/// `boltward serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Configuration file (TOML).
    #[arg(long, short, env = "BOLTWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Bolt listen address (overrides listen.addr), e.g. 127.0.0.1:7687.
    #[arg(long)]
    pub listen: Option<String>,
    /// Upstream Bolt server (overrides upstream.addr), e.g. 127.0.0.1:7688.
    #[arg(long)]
    pub upstream: Option<String>,
    /// Address written into routing tables (overrides listen.advertised_address).
    #[arg(long)]
    pub advertised_address: Option<String>,
}

impl ServeArgs {
    /// The effective configuration: file < environment < flags.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut overrides = Vec::new();
        if let Some(v) = &self.listen {
            overrides.push(("listen.addr", quote(v)));
        }
        if let Some(v) = &self.upstream {
            overrides.push(("upstream.addr", quote(v)));
        }
        if let Some(v) = &self.advertised_address {
            overrides.push(("listen.advertised_address", quote(v)));
        }
        Config::load(self.config.as_deref(), std::env::vars(), &overrides)
    }
}

/// Flag values are strings even when they look like numbers.
fn quote(v: &str) -> String {
    format!("{v:?}")
}
