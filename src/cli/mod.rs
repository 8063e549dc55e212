//! The `boltward` command line: `serve` runs the proxy (in the binary, which owns the
//! process: logging, runtime, signals); every other command is an operator tool, run by
//! [`run`].

pub mod audit;
pub mod client;
pub mod health;
pub mod policy;
pub mod replication;
pub mod snapshot;

use crate::config::{Config, ConfigError};
use crate::control::api;
use clap::{Args, Parser, Subcommand};
use client::{show, status_table};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs an operator command; `serve` is handed back to the caller.
pub fn run(command: Command) -> Result<ExitCode, ServeArgs> {
    Ok(match command {
        Command::Serve(args) => return Err(args),
        Command::Audit(AuditCommand::Query(args)) => audit::run_query(&args),
        Command::Audit(AuditCommand::Prune(args)) => audit::run_prune(&args),
        Command::Audit(AuditCommand::Verify(args)) => audit::run_verify(&args),
        Command::Snapshot(cmd) => snapshot::run_snapshot(&cmd),
        Command::Restore(cmd) => snapshot::run_restore(&cmd),
        Command::Health(args) => health::run(&args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "boltward", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Check(args)) => config_check(&args),
        Command::Policy(PolicyCommand::Check(args)) => policy::check(&args),
        Command::Policy(PolicyCommand::Reload(args)) => policy::reload(&args),
        Command::Status(args) => show(&args, "GET", "/v1/status", status_table),
        Command::Replication(cmd) => replication::run(cmd),
        Command::Writes(WritesCommand::Pause(args)) => {
            show(&args, "POST", "/v1/writes/pause", |v: &api::Writes| {
                format!("writes paused ({} held)\n", v.held)
            })
        }
        Command::Writes(WritesCommand::Resume(args)) => {
            show(&args, "POST", "/v1/writes/resume", |_: &api::Writes| {
                "writes resumed\n".to_owned()
            })
        }
    })
}

/// `boltward config check`: exit 0 valid (unknown `BOLTWARD_*` variables are warned
/// about), 2 invalid.
fn config_check(args: &ConfigArgs) -> ExitCode {
    match Config::load(args.config.as_deref(), std::env::vars(), &[]) {
        Ok(config) => {
            for name in &config.unknown_env {
                eprintln!("boltward: warning: {name} is set but names no setting; it is ignored (see docs/configuration.md)");
            }
            if args.json {
                println!("{config:#?}");
            } else {
                println!("configuration OK");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("boltward: invalid configuration: {e}");
            ExitCode::from(2)
        }
    }
}

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
    /// Policy tools.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Show the running boltward's status (control port).
    Status(ControlArgs),
    /// Graph health: connectivity, schema consistency, orphans (control port). Exit 0
    /// healthy, 1 unhealthy, 3 unreachable.
    Health(HealthArgs),
    /// Mirrors: status, pause, resume, reseed (control port).
    #[command(subcommand)]
    Replication(ReplicationCommand),
    /// Hold or release writes (control port).
    #[command(subcommand)]
    Writes(WritesCommand),
    /// Who changed what, when: query and verify the write journal.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Online snapshots: create (control port), list, show, verify (offline), delete.
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// Restores: start, status, promote, cancel (control port).
    #[command(subcommand)]
    Restore(snapshot::RestoreCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `boltward health`.
#[derive(Debug, Args, Clone)]
pub struct HealthArgs {
    /// Control port.
    #[command(flatten)]
    pub control: ControlArgs,
    /// Add durations and graph statistics.
    #[arg(long)]
    pub detailed: bool,
}

/// `boltward audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Journaled writes and refusals, newest first (control port, or `--journal DIR`
    /// offline). Exit 0 with rows, 4 with none.
    Query(Box<AuditQueryArgs>),
    /// Verify the journal offline: checksums, LSN order, the hash chain across segments.
    /// Exit 0 if intact; 1 naming the first bad LSN.
    Verify(AuditVerifyArgs),
    /// Apply journal retention now (control port): sealed segments older than
    /// journal.retention_days that no restore, mirror or sink needs are archived or deleted.
    Prune(AuditPruneArgs),
}

/// `boltward audit prune`.
#[derive(Debug, Args, Clone)]
pub struct AuditPruneArgs {
    /// Say what would go and why the rest stays; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Control port.
    #[command(flatten)]
    pub control: ControlArgs,
}

/// `boltward audit query`.
#[derive(Debug, Args, Clone)]
pub struct AuditQueryArgs {
    /// Read this journal directory directly instead of asking the control port.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// With `--journal`: also read the archived segments of this directory.
    #[arg(long, requires = "journal")]
    pub archive: Option<PathBuf>,
    /// Control port (when `--journal` is not given).
    #[command(flatten)]
    pub control: ControlArgs,
    /// Authenticated principal.
    #[arg(long)]
    pub principal: Option<String>,
    /// Principal or claimed actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// From: RFC 3339 (2026-11-22T10:00:00Z) or an age (15m, 2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// Until: RFC 3339 or an age.
    #[arg(long)]
    pub until: Option<String>,
    /// Database ("" for the default database).
    #[arg(long)]
    pub database: Option<String>,
    /// Node label named by the statements.
    #[arg(long)]
    pub label: Option<String>,
    /// Relationship type named by the statements.
    #[arg(long = "type")]
    pub rel_type: Option<String>,
    /// Statement class (read, write, schema, admin, procedure, external, db-switch).
    #[arg(long)]
    pub class: Option<String>,
    /// allow, would-deny or deny.
    #[arg(long)]
    pub verdict: Option<String>,
    /// committed, rolled_back, failed, in_doubt or pending.
    #[arg(long)]
    pub outcome: Option<String>,
    /// write or refusal.
    #[arg(long)]
    pub kind: Option<String>,
    /// At most this many rows.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// `boltward audit verify`.
#[derive(Debug, Args, Clone)]
pub struct AuditVerifyArgs {
    /// The journal directory.
    #[arg(
        long,
        env = "BOLTWARD_JOURNAL_DIR",
        default_value = "boltward-data/journal"
    )]
    pub journal: PathBuf,
    /// Also read the archived segments of this directory (`journal.archive_dir`): the
    /// chain is then verified from LSN 1.
    #[arg(long, env = "BOLTWARD_JOURNAL_ARCHIVE_DIR")]
    pub archive: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// How to reach a running boltward's control port.
#[derive(Debug, Args, Clone)]
pub struct ControlArgs {
    /// Control port address (`https://HOST:PORT` when the control port serves TLS).
    #[arg(long, env = "BOLTWARD_CONTROL_ADDR", default_value = "127.0.0.1:7475")]
    pub control: String,
    /// PEM CA certificate(s) to trust for an HTTPS control port (default: the system's).
    #[arg(long, env = "BOLTWARD_CONTROL_CACERT")]
    pub cacert: Option<PathBuf>,
    /// Bearer token.
    #[arg(long, env = "BOLTWARD_CONTROL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the control port's answer (snapshots of large graphs take a while).
    #[arg(long = "timeout", default_value_t = 30)]
    pub timeout_secs: u64,
}

/// `boltward replication …`.
#[derive(Debug, Subcommand)]
pub enum ReplicationCommand {
    /// Every remote: state, applied LSN, lag.
    Status(ControlArgs),
    /// Stop applying to a remote (its position is kept).
    Pause(RemoteArgs),
    /// Apply to a remote again.
    Resume(RemoteArgs),
    /// Overwrite a remote with a fresh snapshot of the primary and stream from its LSN.
    Reseed(RemoteArgs),
    /// Take a snapshot of the primary and compare the remote with it at its LSN. Exit 0
    /// equal, 1 different, 3 no answer in time.
    Verify(RemoteArgs),
    /// Say which way a transaction in doubt went on the primary (after checking it), so
    /// mirrors stopped before it go on: `--committed` applies it, `--rolled-back` skips it.
    /// The decision is journaled.
    Resolve(ResolveArgs),
}

/// `boltward replication resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The LSN of the in-doubt outcome (the mirror's status names it).
    #[arg(long)]
    pub lsn: u64,
    /// It committed on the primary.
    #[arg(
        long,
        conflicts_with = "rolled_back",
        required_unless_present = "rolled_back"
    )]
    pub committed: bool,
    /// It did not commit on the primary.
    #[arg(long)]
    pub rolled_back: bool,
    #[command(flatten)]
    pub control: ControlArgs,
}

/// A command about one remote.
#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    /// The remote's name (`[[replication.remote]] name`).
    pub remote: String,
    #[command(flatten)]
    pub control: ControlArgs,
}

/// `boltward writes …`.
#[derive(Debug, Subcommand)]
pub enum WritesCommand {
    /// Hold new write work; reads keep flowing.
    Pause(ControlArgs),
    /// Release held writes.
    Resume(ControlArgs),
}

/// `boltward policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Reload the running boltward's policy from its configuration file (control port).
    Reload(ControlArgs),
    /// Classify a statement and decide it for an actor, offline. Exit status: 0 allow,
    /// 1 deny, 2 invalid policy, 3 statement that cannot be read (file, UTF-8, size).
    Check(PolicyCheckArgs),
}

/// `boltward policy check`.
#[derive(Debug, Args, Clone)]
pub struct PolicyCheckArgs {
    /// boltward.toml with a [policy] table, or a policy file.
    #[arg(long, short, env = "BOLTWARD_CONFIG")]
    pub config: std::path::PathBuf,
    /// The principal (user name) the statement comes from.
    #[arg(long)]
    pub actor: Option<String>,
    /// Auth scheme.
    #[arg(long, default_value = "basic")]
    pub scheme: String,
    /// Driver user agent.
    #[arg(long)]
    pub user_agent: Option<String>,
    /// Client IP address.
    #[arg(long)]
    pub address: Option<std::net::IpAddr>,
    /// TLS client certificate subject.
    #[arg(long)]
    pub cert_subject: Option<String>,
    /// Actor claimed in tx_metadata.
    #[arg(long)]
    pub claimed: Option<String>,
    /// Target database.
    #[arg(long)]
    pub database: Option<String>,
    /// The Cypher statement (Linux caps one argument at 128 KiB: use --query-file for more).
    #[arg(
        long,
        short,
        required_unless_present = "query_file",
        conflicts_with = "query_file"
    )]
    pub query: Option<String>,
    /// Read the statement from FILE, or from standard input with `-`.
    #[arg(long, value_name = "FILE|-")]
    pub query_file: Option<std::path::PathBuf>,
    /// Print JSON: {"classes", "verdict", "rule", …}.
    #[arg(long)]
    pub json: bool,
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
