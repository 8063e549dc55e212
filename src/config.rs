//! `boltward.toml`: typed, defaulted, overridable by `BOLTWARD_*` environment variables and
//! command-line flags, and validated before any port is bound.
//!
//! Precedence: defaults < file < environment < flags. Every key of the file has an
//! environment variable: `listen.tls.mode` is `BOLTWARD_LISTEN_TLS_MODE`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// A configuration problem, naming the key.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file (or an override) is not valid TOML for the schema.
    #[error("{0}")]
    Parse(String),
    /// A key has a value that cannot work.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key, as written in the file.
        key: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Client-facing Bolt listener.
    pub listen: Listen,
    /// The Bolt server behind boltward.
    pub upstream: Upstream,
    /// Connection limits and timeouts.
    pub limits: Limits,
    /// Control port.
    pub control: Control,
    /// Write journal.
    pub journal: Journal,
    /// Snapshots.
    pub snapshot: Snapshot,
    /// Restores and promotion.
    pub restore: Restore,
    /// Logging.
    pub log: Log,
    /// Write governance policy (see docs/policy.md); absent = allow all but the guards.
    pub policy: Option<toml::Table>,
    /// `BOLTWARD_*` environment variables that name no setting (reported at start).
    #[serde(skip)]
    pub unknown_env: Vec<String>,
    /// EXPLAIN verification of statements the classifier cannot decide.
    pub verify: Verify,
    /// The write gate (maintenance switch).
    pub writes: Writes,
    /// Graph health probes.
    pub health: Health,
    /// Mirrors of every committed write (see docs/operations.md, "Mirror").
    pub replication: Replication,
}

/// `[replication]`: remote servers every committed write is mirrored to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Replication {
    /// `[[replication.remote]]`, one per mirror.
    pub remote: Vec<Remote>,
    /// Committed transactions applied per read of the journal.
    pub batch: usize,
    /// First wait after a failure, in milliseconds (doubled up to `max_backoff_ms`).
    pub backoff_ms: u64,
    /// Longest wait between attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// A remote that does not answer a step (connect, marker, one transaction) within this
    /// many milliseconds is disconnected and retried (a black hole never stalls a mirror).
    pub apply_timeout_ms: u64,
    /// When a remote's update counters differ from the primary's: `halt` (roll the
    /// transaction back and stop that remote) or `continue` (commit, count, log).
    pub on_drift: OnDrift,
    /// Writes whose replay on a mirror can differ (`rand()`, `datetime()`, `id()`, …; see
    /// docs/policy.md, "Replay safety"): `allow`, `warn` (log and count) or `refuse`
    /// (a FAILURE telling the writer to pass the value as a parameter). Only with remotes.
    #[serde(rename = "unsafe")]
    pub unsafe_replay: UnsafeReplay,
    /// The most journal a remote that falls behind may hold back from retention (bytes
    /// of the segments after its position); past it, or past `max_retained_age_secs`, the
    /// remote is `lost` and needs a reseed. 0: no limit.
    pub max_retained_bytes: u64,
    /// The oldest write a remote may lack (seconds) before it is `lost`. 0: no limit.
    pub max_retained_age_secs: u64,
}

/// `replication.unsafe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnsafeReplay {
    /// Run them as sent.
    Allow,
    /// Run them; log and count each.
    #[default]
    Warn,
    /// Refuse them with a FAILURE that says what to do.
    Refuse,
}

/// `replication.on_drift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDrift {
    /// Roll back and stop the remote.
    #[default]
    Halt,
    /// Commit, count and log.
    Continue,
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            remote: Vec::new(),
            batch: 256,
            backoff_ms: 200,
            max_backoff_ms: 10_000,
            apply_timeout_ms: 10_000,
            on_drift: OnDrift::Halt,
            unsafe_replay: UnsafeReplay::Warn,
            max_retained_bytes: 10 * 1024 * 1024 * 1024,
            max_retained_age_secs: 7 * 86_400,
        }
    }
}

/// How a remote's writes relate to clients' commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplicationMode {
    /// Clients never wait for the remote.
    #[default]
    Async,
    /// A client's COMMIT is answered once the remote applied it, or after
    /// `sync_timeout_ms`, when the remote degrades to async until it catches up.
    Sync,
}

/// `[[replication.remote]]`: one mirror.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// Its name in status, metrics and commands (`[a-z0-9_-]`, unique).
    pub name: String,
    /// `host:port` of its Bolt server.
    pub addr: String,
    /// TLS to it (the same options as `[upstream.tls]`).
    #[serde(default)]
    pub tls: UpstreamTls,
    /// User boltward logs in as.
    #[serde(default = "neo4j_user")]
    pub user: String,
    /// File holding the password (or `BOLTWARD_REPLICATION_<NAME>_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// Database every write is applied to (default: the database it was written to).
    pub database: Option<String>,
    /// `async` (clients never wait for the remote).
    #[serde(default)]
    pub mode: ReplicationMode,
    /// Connect timeout, in milliseconds.
    #[serde(default = "remote_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// `mode = "sync"`: longest wait for the remote before a COMMIT is answered anyway.
    #[serde(default = "sync_timeout_ms")]
    pub sync_timeout_ms: u64,
}

fn sync_timeout_ms() -> u64 {
    2_000
}

fn neo4j_user() -> String {
    "neo4j".into()
}

fn remote_connect_timeout_ms() -> u64 {
    5_000
}

impl Remote {
    /// The environment variable that holds this remote's password.
    pub fn password_env(&self) -> String {
        format!(
            "BOLTWARD_REPLICATION_{}_PASSWORD",
            self.name.to_ascii_uppercase().replace('-', "_")
        )
    }

    /// The password: its variable, else the file's first line.
    pub fn password(&self) -> Result<String, ConfigError> {
        let env = self.password_env();
        required(
            secret(
                &env,
                "replication.remote.password_file",
                self.password_file.as_deref(),
            )?,
            "replication.remote.password_file",
            &format!("remote '{}': set password_file or {env}", self.name),
        )
    }

    /// The upstream settings that reach it.
    pub fn upstream(&self) -> Upstream {
        Upstream {
            addr: self.addr.clone(),
            connect_timeout_ms: self.connect_timeout_ms,
            tls: self.tls.clone(),
            ..Upstream::default()
        }
    }
}

impl Replication {
    fn validate(&self) -> Result<(), ConfigError> {
        let key = "replication.remote";
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.remote.iter().enumerate() {
            let valid_name = !r.name.is_empty()
                && r.name.len() <= 64
                && r.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid_name {
                return Err(invalid(
                    key,
                    format!(
                        "remote {i}: name {:?} must be 1-64 characters of a-z, 0-9, '-' and '_'",
                        r.name
                    ),
                ));
            }
            if !seen.insert(r.name.as_str()) {
                return Err(invalid(
                    key,
                    format!("remote name {:?} is used twice", r.name),
                ));
            }
            host_port(&r.addr)
                .map_err(|e| invalid(key, format!("remote '{}': addr: {e}", r.name)))?;
        }
        if self.batch == 0 {
            return Err(invalid("replication.batch", "must be at least 1"));
        }
        if self.apply_timeout_ms == 0 {
            return Err(invalid(
                "replication.apply_timeout_ms",
                "must be at least 1",
            ));
        }
        if self.backoff_ms == 0 || self.max_backoff_ms < self.backoff_ms {
            return Err(invalid(
                "replication.backoff_ms",
                "must be at least 1 and at most replication.max_backoff_ms",
            ));
        }
        Ok(())
    }
}

/// `[health]`: the three-tier graph health check (`/health/graph`, `boltward health`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    /// The account boltward probes with.
    pub user: String,
    /// File holding its password (or `BOLTWARD_HEALTH_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// Database to probe (default: the server's default).
    pub database: Option<String>,
    /// Expected indexes and constraints (TOML: `[[index]]`, `[[constraint]]`).
    pub schema_file: Option<PathBuf>,
    /// Labels whose nodes must have at least one relationship.
    pub isolated_labels: Vec<String>,
    /// Relationship types whose endpoints must carry labels.
    pub relationship_endpoints: Vec<Endpoints>,
    /// Extra orphan checks: each query returns one count; non-zero fails.
    pub orphan_checks: Vec<OrphanCheck>,
    /// Run the probes in the background this often (seconds) to keep the health metrics
    /// current; 0 turns it off. Only when credentials are configured.
    pub interval_secs: u64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            user: "neo4j".into(),
            password_file: None,
            database: None,
            schema_file: None,
            isolated_labels: Vec::new(),
            relationship_endpoints: Vec::new(),
            orphan_checks: Vec::new(),
            interval_secs: 60,
        }
    }
}

impl Health {
    /// The password: `BOLTWARD_HEALTH_PASSWORD`, else the file's first line, else `None`
    /// (the probes then report that they are not configured).
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        secret(
            "BOLTWARD_HEALTH_PASSWORD",
            "health.password_file",
            self.password_file.as_deref(),
        )
    }
}

/// A relationship type and the labels its endpoints must have.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// Relationship type.
    #[serde(rename = "type")]
    pub rel_type: String,
    /// Label the start node must have.
    pub from: Option<String>,
    /// Label the end node must have.
    pub to: Option<String>,
}

/// A named orphan check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrphanCheck {
    /// Name in reports.
    pub name: String,
    /// Cypher returning one integer: the number of offending entities.
    pub query: String,
}

/// `[writes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Writes {
    /// How long a write waits at a paused gate before it gets a transient error.
    pub pause_timeout_secs: u64,
}

impl Default for Writes {
    fn default() -> Self {
        Writes {
            pause_timeout_secs: 30,
        }
    }
}

/// `[verify]`: boltward's own connection for EXPLAIN verification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Verify {
    /// Ask the server EXPLAIN for procedures and unknown functions.
    pub enabled: bool,
    /// User boltward logs in as (read access is enough).
    pub user: String,
    /// File holding that user's password (`BOLTWARD_VERIFY_PASSWORD` takes precedence).
    pub password_file: Option<PathBuf>,
    /// Statements whose answer is cached, per database.
    pub cache_size: usize,
}

impl Default for Verify {
    fn default() -> Self {
        Verify {
            enabled: false,
            user: "neo4j".into(),
            password_file: None,
            cache_size: 10_000,
        }
    }
}

impl Verify {
    /// The password: `BOLTWARD_VERIFY_PASSWORD`, else the file's first line.
    pub fn password(&self) -> Result<String, ConfigError> {
        required(
            secret(
                "BOLTWARD_VERIFY_PASSWORD",
                "verify.password_file",
                self.password_file.as_deref(),
            )?,
            "verify.password_file",
            "set it or BOLTWARD_VERIFY_PASSWORD when verify.enabled is true",
        )
    }
}

/// `[listen]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// Address to bind.
    pub addr: String,
    /// `host:port` drivers are told to use in routing tables (default: the bound address).
    pub advertised_address: Option<String>,
    /// Client-facing TLS.
    pub tls: ListenTls,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            addr: "127.0.0.1:7687".into(),
            advertised_address: None,
            tls: ListenTls::default(),
        }
    }
}

/// Whether clients must, may or must not use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain Bolt only.
    #[default]
    Off,
    /// TLS only (bolt+s, neo4j+s, bolt+ssc).
    Required,
    /// Both: the first byte tells a TLS ClientHello from the Bolt magic.
    Optional,
}

/// `[listen.tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenTls {
    /// off | required | optional.
    pub mode: TlsMode,
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// `[upstream]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Upstream {
    /// `host:port` of the Bolt server (in front of a cluster: the member the main listener
    /// fronts, usually a router).
    pub addr: String,
    /// TCP connect timeout in milliseconds.
    pub connect_timeout_ms: u64,
    /// Upstream TLS.
    pub tls: UpstreamTls,
    /// The members of a cluster, each fronted by a listener of its own.
    pub members: Vec<Member>,
    /// What a routing table naming an address no member has becomes (with members only).
    pub unknown_members: UnknownMembers,
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream {
            addr: "127.0.0.1:7688".into(),
            connect_timeout_ms: 5_000,
            tls: UpstreamTls::default(),
            members: Vec::new(),
            unknown_members: UnknownMembers::Refuse,
        }
    }
}

/// `[[upstream.members]]`: one member of a cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The member's Bolt address exactly as the cluster's routing tables name it.
    pub addr: String,
    /// The boltward listener that fronts it (`IP:port`; port 0 picks one).
    pub listen: String,
    /// The address drivers are given for it (default: the listener's bound address).
    pub advertised: Option<String>,
}

/// `upstream.unknown_members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownMembers {
    /// The ROUTE is answered with a FAILURE naming the address (no driver is ever given
    /// an address boltward does not front).
    Refuse,
    /// Every address becomes the listener's own (one server, or several behind a load
    /// balancer that boltward reaches through one address).
    Collapse,
}

/// `[upstream.tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamTls {
    /// Use TLS to the server.
    pub enabled: bool,
    /// PEM CA bundle to trust instead of the system roots.
    pub ca: Option<PathBuf>,
    /// Name to verify (default: the host of `upstream.addr`).
    pub server_name: Option<String>,
    /// PEM client certificate (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// PEM client key (mutual TLS).
    pub client_key: Option<PathBuf>,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Client connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// Time a client has to finish the Bolt handshake, in milliseconds.
    pub handshake_timeout_ms: u64,
    /// Close a connection with no traffic and no work in flight after this many seconds (0 = never).
    pub idle_timeout_secs: u64,
    /// Largest message body accepted in either direction, in bytes.
    pub max_message_size: usize,
    /// On SIGTERM/SIGINT, how long busy sessions may take to finish, in seconds.
    pub shutdown_grace_secs: u64,
    /// Largest statement text classified, in bytes; a larger one is refused unread.
    pub max_statement_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            handshake_timeout_ms: 10_000,
            idle_timeout_secs: 0,
            max_message_size: 64 * 1024 * 1024,
            shutdown_grace_secs: 30,
            max_statement_bytes: 1024 * 1024,
        }
    }
}

/// `[control]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Control {
    /// Address of the control HTTP port.
    pub addr: String,
    /// File holding the bearer token (`BOLTWARD_CONTROL_TOKEN` takes precedence).
    pub token_file: Option<PathBuf>,
    /// Require the token for `/metrics` too.
    pub metrics_token: bool,
    /// Serve the control port at all.
    pub enabled: bool,
    /// HTTPS for the control port (on when `cert` and `key` are set).
    pub tls: ControlTls,
}

/// `[control.tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlTls {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

impl ControlTls {
    /// Whether the control port serves HTTPS.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some()
    }
}

impl Default for Control {
    fn default() -> Self {
        Control {
            addr: "127.0.0.1:7475".into(),
            token_file: None,
            metrics_token: false,
            enabled: true,
            tls: ControlTls::default(),
        }
    }
}

/// `[journal]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Journal {
    /// Journal writes (on by default; off only for benchmarks and throwaway setups).
    pub enabled: bool,
    /// Directory of the journal segments.
    pub dir: PathBuf,
    /// `commit`: every acknowledged write is fsynced first (group commit shares fsyncs).
    /// `interval`: fsync at most every `sync_interval_ms`; a crash can lose that window.
    pub sync: SyncMode,
    /// The bound of `sync = "interval"`.
    pub sync_interval_ms: u64,
    /// A segment is sealed once it is larger than this.
    pub segment_bytes: u64,
    /// Audit history to keep: a sealed segment whose records are all older may leave the
    /// directory, once no restore or mirror needs it (docs/operations.md, "Journal
    /// retention").
    pub retention_days: u32,
    /// Where pruned segments go, gzip-compressed (still read by `audit query` and `audit
    /// verify`); unset: they are deleted.
    pub archive_dir: Option<PathBuf>,
    /// How often retention runs (seconds); 0: only on `boltward audit prune`.
    pub retention_check_secs: u64,
    /// Optional `:AuditLogEntry` sink.
    pub sink: Sink,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            enabled: true,
            dir: "boltward-data/journal".into(),
            sync: SyncMode::Commit,
            sync_interval_ms: 10,
            segment_bytes: 64 * 1024 * 1024,
            retention_days: 30,
            archive_dir: None,
            retention_check_secs: 600,
            sink: Sink::default(),
        }
    }
}

/// When journal appends reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// fsync before acknowledging.
    Commit,
    /// fsync on a timer.
    Interval,
}

/// `[journal.sink]`: audit entries written as `:AuditLogEntry` nodes, asynchronously.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sink {
    /// Write entries to the sink.
    pub enabled: bool,
    /// Bolt address of the sink server (default: the upstream).
    pub addr: Option<String>,
    /// Database for the entries (default: the server's default).
    pub database: Option<String>,
    /// User boltward logs in as.
    pub user: String,
    /// File holding the password (or `BOLTWARD_JOURNAL_SINK_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// Entries per write.
    pub batch: usize,
    /// Also write a `:BackupMetadata` node per snapshot (id, time, LSN, counts, checksum,
    /// status), from the journaled `snapshot_taken` / `snapshot_failed` events.
    pub backup_metadata: bool,
}

impl Sink {
    /// The password: `BOLTWARD_JOURNAL_SINK_PASSWORD`, else the file's first line.
    pub fn password(&self) -> Result<String, ConfigError> {
        required(
            secret(
                "BOLTWARD_JOURNAL_SINK_PASSWORD",
                "journal.sink.password_file",
                self.password_file.as_deref(),
            )?,
            "journal.sink.password_file",
            "set it or BOLTWARD_JOURNAL_SINK_PASSWORD when journal.sink.enabled is true",
        )
    }
}

impl Default for Sink {
    fn default() -> Self {
        Sink {
            enabled: false,
            addr: None,
            database: None,
            user: "neo4j".into(),
            password_file: None,
            batch: 256,
            backup_metadata: false,
        }
    }
}

/// `[snapshot]`: online snapshots, their schedule and retention (docs/operations.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Snapshot {
    /// Directory of snapshot files.
    pub dir: PathBuf,
    /// The account snapshots read with (and restores write with).
    pub user: String,
    /// File holding its password (or `BOLTWARD_SNAPSHOT_PASSWORD`; falls back to the health
    /// probe password).
    pub password_file: Option<PathBuf>,
    /// Database to snapshot (default: the server's default).
    pub database: Option<String>,
    /// What scheduled and `snapshot create` snapshots read: `"primary"` (the upstream,
    /// with writes held for the read) or `"remote:NAME"` (a mirror, its apply held at a
    /// known LSN; the primary's writes are never held).
    pub source: String,
    /// Cron expression (seconds minutes hours day-of-month month day-of-week [year], UTC);
    /// empty: no schedule.
    pub schedule: String,
    /// Retries of a failed scheduled snapshot, with exponential backoff.
    pub retries: u32,
    /// First retry delay in seconds (doubles each retry).
    pub retry_backoff_secs: u64,
    /// How long the write barrier waits for open write transactions to finish.
    pub barrier_timeout_secs: u64,
    /// Records per PULL when reading and rows per UNWIND batch when restoring.
    pub batch: usize,
    /// Keep every snapshot younger than this many days (0: no age rule).
    pub keep_days: u32,
    /// Keep the newest snapshot of each of this many recent days.
    pub daily: usize,
    /// … of each of this many recent ISO weeks.
    pub weekly: usize,
    /// … of each of this many recent months.
    pub monthly: usize,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            dir: "boltward-data/snapshots".into(),
            user: "neo4j".into(),
            password_file: None,
            database: None,
            source: "primary".into(),
            schedule: String::new(),
            retries: 3,
            retry_backoff_secs: 30,
            barrier_timeout_secs: 30,
            batch: 10_000,
            keep_days: 7,
            daily: 7,
            weekly: 4,
            monthly: 12,
        }
    }
}

impl Snapshot {
    /// The mirror snapshots are read from (`snapshot.source = "remote:NAME"`), if any.
    pub fn remote_source(&self) -> Option<&str> {
        self.source.strip_prefix("remote:")
    }

    /// The password: `BOLTWARD_SNAPSHOT_PASSWORD`, else the file's first line, else the
    /// health probe password.
    pub fn password(&self, health: &Health) -> Result<String, ConfigError> {
        let own = secret(
            "BOLTWARD_SNAPSHOT_PASSWORD",
            "snapshot.password_file",
            self.password_file.as_deref(),
        )?;
        let own = match own {
            Some(p) => Some(p),
            None => health.password()?,
        };
        required(
            own,
            "snapshot.password_file",
            "snapshots and restores need credentials: set it or BOLTWARD_SNAPSHOT_PASSWORD",
        )
    }
}

/// `[restore]`: restores, validation and promotion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Restore {
    /// Where the recovery state machine is persisted.
    pub state_file: PathBuf,
    /// On promotion, how long busy connections to the old upstream may take to finish.
    pub drain_secs: u64,
}

impl Default for Restore {
    fn default() -> Self {
        Restore {
            state_file: "boltward-data/restore-state.json".into(),
            drain_secs: 30,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// tracing filter, e.g. `info` or `boltward=debug`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// Every key, for `BOLTWARD_*` overrides.
pub const KEYS: &[&str] = &[
    "listen.addr",
    "listen.advertised_address",
    "listen.tls.mode",
    "listen.tls.cert",
    "listen.tls.key",
    "listen.tls.client_ca",
    "upstream.addr",
    "upstream.connect_timeout_ms",
    "upstream.tls.enabled",
    "upstream.tls.ca",
    "upstream.tls.server_name",
    "upstream.tls.client_cert",
    "upstream.tls.client_key",
    "upstream.unknown_members",
    "limits.max_connections",
    "limits.handshake_timeout_ms",
    "limits.idle_timeout_secs",
    "limits.max_message_size",
    "limits.shutdown_grace_secs",
    "limits.max_statement_bytes",
    "control.addr",
    "control.token_file",
    "control.metrics_token",
    "control.enabled",
    "control.tls.cert",
    "control.tls.key",
    "journal.enabled",
    "journal.dir",
    "journal.sync",
    "journal.sync_interval_ms",
    "journal.segment_bytes",
    "journal.retention_days",
    "journal.archive_dir",
    "journal.retention_check_secs",
    "journal.sink.enabled",
    "journal.sink.addr",
    "journal.sink.database",
    "journal.sink.user",
    "journal.sink.password_file",
    "journal.sink.batch",
    "journal.sink.backup_metadata",
    "snapshot.dir",
    "snapshot.user",
    "snapshot.password_file",
    "snapshot.database",
    "snapshot.source",
    "snapshot.schedule",
    "snapshot.retries",
    "snapshot.retry_backoff_secs",
    "snapshot.barrier_timeout_secs",
    "snapshot.batch",
    "snapshot.keep_days",
    "snapshot.daily",
    "snapshot.weekly",
    "snapshot.monthly",
    "restore.state_file",
    "restore.drain_secs",
    "log.level",
    "log.format",
    "writes.pause_timeout_secs",
    "health.user",
    "health.password_file",
    "health.database",
    "health.schema_file",
    "health.interval_secs",
    "replication.batch",
    "replication.backoff_ms",
    "replication.max_backoff_ms",
    "replication.apply_timeout_ms",
    "replication.on_drift",
    "replication.unsafe",
    "replication.max_retained_bytes",
    "replication.max_retained_age_secs",
    "verify.enabled",
    "verify.user",
    "verify.password_file",
    "verify.cache_size",
    "policy.mode",
    "policy.default",
    "policy.claimed_actor_key",
    "policy.allow_unbounded_delete",
    "policy.allow_schema_drop",
];

/// `BOLTWARD_*` variables that are not settings: secrets, logging, the CLI's own options,
/// and the project's test and CI scripts.
pub const OTHER_VARIABLES: &[&str] = &[
    "BOLTWARD_LOG",
    "BOLTWARD_CONFIG",
    "BOLTWARD_CONTROL",
    "BOLTWARD_CONTROL_TOKEN",
    "BOLTWARD_CONTROL_CACERT",
    "BOLTWARD_HEALTH_PASSWORD",
    "BOLTWARD_VERIFY_PASSWORD",
    "BOLTWARD_JOURNAL_SINK_PASSWORD",
    "BOLTWARD_SNAPSHOT_PASSWORD",
    "BOLTWARD_TEST_LOG",
    "BOLTWARD_TESTENV",
    "BOLTWARD_ORACLE_SEED",
    "BOLTWARD_ORACLE_COUNT",
    "BOLTWARD_DOCKER_TOOLS",
    "BOLTWARD_PORT",
];

/// The `BOLTWARD_*` names in `names` that are neither a setting nor another variable
/// boltward knows (a typo, or a setting that does not exist).
pub fn unknown_env<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut unknown: Vec<String> = names
        .filter(|n| n.starts_with("BOLTWARD_"))
        .filter(|n| !OTHER_VARIABLES.contains(n) && !KEYS.iter().any(|k| env_name(k) == *n))
        .filter(|n| !is_remote_password(n))
        .map(str::to_owned)
        .collect();
    unknown.sort();
    unknown
}

/// `BOLTWARD_REPLICATION_<NAME>_PASSWORD` (a remote's password; which names exist is
/// only known from the file, so any such name is accepted).
fn is_remote_password(name: &str) -> bool {
    name.strip_prefix("BOLTWARD_REPLICATION_")
        .and_then(|r| r.strip_suffix("_PASSWORD"))
        .is_some_and(|n| !n.is_empty())
}

/// The dotted key a deserialisation error is about: parsing the table again from text
/// gives the error a position, and the text says which table and key are there.
fn located(table: &toml::Table) -> Option<String> {
    let text = toml::to_string(table).ok()?;
    let span = toml::from_str::<Config>(&text).err()?.span()?;
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split('=').next()?.trim().trim_matches('"');
    let header = text[..line_start]
        .lines()
        .rev()
        .find(|l| l.starts_with('['))
        .map(|h| h.trim_matches(|c| c == '[' || c == ']').to_owned());
    Some(match header {
        Some(h) if !key.is_empty() && !line.starts_with('[') => format!("{h}.{key}"),
        Some(h) => h,
        None => key.to_owned(),
    })
}

/// The environment variable of a key.
pub fn env_name(key: &str) -> String {
    format!("BOLTWARD_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Sets `key` (dotted) in a TOML table, parsing `raw` as a TOML value where it is one
/// (numbers, booleans) and as a string otherwise.
fn set(table: &mut toml::Table, key: &str, raw: &str) {
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !matches!(v, toml::Value::Table(_) | toml::Value::Array(_)))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let mut parts = key.split('.').peekable();
    let mut t = table;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            t.insert(p.to_owned(), value);
            return;
        }
        let entry = t
            .entry(p.to_owned())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        if !entry.is_table() {
            *entry = toml::Value::Table(Default::default());
        }
        t = entry.as_table_mut().expect("just made a table");
    }
}

impl Config {
    /// Loads the file (if any), applies `BOLTWARD_*` variables from `env`, then `overrides`
    /// (dotted key, raw value) from flags, and validates.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[(&str, String)],
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?,
            None => toml::Table::new(),
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        for key in KEYS {
            let name = env_name(key);
            if let Some((_, v)) = env.iter().find(|(k, _)| *k == name) {
                set(&mut table, key, v);
            }
        }
        for (key, v) in overrides {
            set(&mut table, key, v);
        }
        let mut config: Config = table.clone().try_into().map_err(|e: toml::de::Error| {
            ConfigError::Parse(match located(&table) {
                Some(at) => format!("{at}: {}", e.message()),
                None => e.message().to_owned(),
            })
        })?;
        config.validate()?;
        config.unknown_env = unknown_env(env.iter().map(|(k, _)| k.as_str()));
        Ok(config)
    }

    /// Checks every value that could only fail later, at bind or connect time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen.addr.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "listen.addr",
                format!("{:?} is not an IP:port address", self.listen.addr),
            )
        })?;
        if let Some(a) = &self.listen.advertised_address {
            host_port(a).map_err(|r| invalid("listen.advertised_address", r.to_string()))?;
        }
        host_port(&self.upstream.addr).map_err(|r| invalid("upstream.addr", r.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.upstream.members.iter().enumerate() {
            let at = |field: &str, reason: String| {
                invalid("upstream.members", format!("[{i}].{field}: {reason}"))
            };
            host_port(&m.addr).map_err(|r| at("addr", r.to_string()))?;
            m.listen.parse::<SocketAddr>().map_err(|_| {
                at(
                    "listen",
                    format!("{:?} is not an IP:port address", m.listen),
                )
            })?;
            if let Some(a) = &m.advertised {
                host_port(a).map_err(|r| at("advertised", r.to_string()))?;
            }
            if !seen.insert(m.addr.to_ascii_lowercase()) {
                return Err(at("addr", format!("{} is named by two members", m.addr)));
            }
        }
        self.control.addr.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "control.addr",
                format!("{:?} is not an IP:port address", self.control.addr),
            )
        })?;
        if self.journal.sync == SyncMode::Interval
            && !(1..=10_000).contains(&self.journal.sync_interval_ms)
        {
            return Err(invalid(
                "journal.sync_interval_ms",
                "must be between 1 and 10000 when journal.sync = \"interval\"",
            ));
        }
        let schedule = self.snapshot.schedule.trim();
        if !schedule.is_empty() {
            schedule.parse::<cron::Schedule>().map_err(|e| {
                invalid(
                    "snapshot.schedule",
                    format!("{schedule:?} is not a cron expression (sec min hour dom month dow [year]): {e}"),
                )
            })?;
        }
        if self.snapshot.batch == 0 {
            return Err(invalid("snapshot.batch", "must be at least 1"));
        }
        if self.journal.segment_bytes < 4096 {
            return Err(invalid("journal.segment_bytes", "must be at least 4096"));
        }
        let ctls = &self.control.tls;
        if ctls.enabled() {
            for (key, path) in [
                ("control.tls.cert", &ctls.cert),
                ("control.tls.key", &ctls.key),
            ] {
                readable(
                    key,
                    path.as_deref(),
                    "an HTTPS control port needs a PEM certificate chain and key",
                )?;
            }
        }
        let tls = &self.listen.tls;
        if tls.mode != TlsMode::Off {
            for (key, path) in [("listen.tls.cert", &tls.cert), ("listen.tls.key", &tls.key)] {
                readable(
                    key,
                    path.as_deref(),
                    "client-facing TLS needs a PEM certificate chain and key",
                )?;
            }
        }
        let up = &self.upstream.tls;
        if let Some(ca) = &up.ca {
            readable("upstream.tls.ca", Some(ca), "")?;
        }
        match (&up.client_cert, &up.client_key) {
            (Some(c), Some(k)) => {
                readable("upstream.tls.client_cert", Some(c), "")?;
                readable("upstream.tls.client_key", Some(k), "")?;
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "upstream.tls.client_cert",
                    "client_cert and client_key must be given together",
                ))
            }
        }
        if self.upstream.connect_timeout_ms == 0 {
            return Err(invalid(
                "upstream.connect_timeout_ms",
                "must be greater than 0",
            ));
        }
        let l = &self.limits;
        if l.max_connections == 0 {
            return Err(invalid("limits.max_connections", "must be at least 1"));
        }
        if l.handshake_timeout_ms == 0 {
            return Err(invalid(
                "limits.handshake_timeout_ms",
                "must be greater than 0",
            ));
        }
        if !(1024..=(1 << 31)).contains(&l.max_message_size) {
            return Err(invalid(
                "limits.max_message_size",
                "must be between 1024 and 2147483648 bytes",
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be \"text\" or \"json\""));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        self.policy()
            .map_err(|e| invalid("policy", e.to_string()))?;
        self.replication.validate()?;
        if self.snapshot.source != "primary" {
            let name = self.snapshot.remote_source().ok_or_else(|| {
                invalid("snapshot.source", "must be \"primary\" or \"remote:NAME\"")
            })?;
            if !self.replication.remote.iter().any(|r| r.name == name) {
                return Err(invalid(
                    "snapshot.source",
                    format!("no [[replication.remote]] is named {name:?}"),
                ));
            }
        }
        if !self.replication.remote.is_empty() && !self.journal.enabled {
            return Err(invalid(
                "replication.remote",
                "mirrors replay the journal: set journal.enabled = true",
            ));
        }
        Ok(())
    }

    /// The validated policy of `[policy]` (the default policy when there is none).
    pub fn policy(&self) -> Result<crate::policy::Policy, crate::policy::PolicyError> {
        match &self.policy {
            None => Ok(crate::policy::Policy::default()),
            Some(table) => {
                let mut wrapped = toml::Table::new();
                wrapped.insert("policy".into(), toml::Value::Table(table.clone()));
                crate::policy::Policy::from_toml(&toml::to_string(&wrapped).unwrap_or_default())
            }
        }
    }

    /// The upstream connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream.connect_timeout_ms)
    }
}

/// Why a `host:port` address is not one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddrError {
    /// No `:port`.
    #[error("{0:?} has no port; write host:port (Bolt usually listens on 7687)")]
    NoPort(String),
    /// Nothing before the `:`.
    #[error("{0:?} has no host")]
    NoHost(String),
    /// The port is not a number from 0 to 65535.
    #[error("{addr:?}: {port:?} is not a port number")]
    BadPort {
        /// The address as written.
        addr: String,
        /// What follows the last `:`.
        port: String,
    },
}

/// Checks `host:port`.
pub fn host_port(s: &str) -> Result<(), AddrError> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| AddrError::NoPort(s.to_owned()))?;
    if host.is_empty() {
        return Err(AddrError::NoHost(s.to_owned()));
    }
    port.parse::<u16>().map_err(|_| AddrError::BadPort {
        addr: s.to_owned(),
        port: port.to_owned(),
    })?;
    Ok(())
}

/// A secret from the environment variable `env`, else the first line of `file`.
fn secret(
    env: &str,
    key: &'static str,
    file: Option<&Path>,
) -> Result<Option<String>, ConfigError> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Some(p));
    }
    let Some(path) = file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
}

fn required(secret: Option<String>, key: &'static str, why: &str) -> Result<String, ConfigError> {
    secret.ok_or_else(|| invalid(key, why))
}

fn readable(key: &'static str, path: Option<&Path>, why: &str) -> Result<(), ConfigError> {
    let path = path.ok_or_else(|| invalid(key, format!("missing; {why}")))?;
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {

    /// The messages say what to write instead.
    #[test]
    fn host_port_says_what_is_wrong() {
        assert_eq!(host_port("db:7687"), Ok(()));
        assert_eq!(
            host_port("db").unwrap_err().to_string(),
            r#""db" has no port; write host:port (Bolt usually listens on 7687)"#
        );
        assert_eq!(
            host_port(":7687").unwrap_err().to_string(),
            r#"":7687" has no host"#
        );
        assert_eq!(
            host_port("db:bolt").unwrap_err().to_string(),
            r#""db:bolt": "bolt" is not a port number"#
        );
    }
    use super::*;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("boltward.toml");
        std::fs::write(&path, toml).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::load(Some(&path), env, &[])
    }

    /// The cluster example shipped with the compose file loads, and member mistakes are
    /// named with their place.
    #[test]
    fn cluster_members_load_and_are_validated() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/boltward-cluster.toml");
        let c = Config::load(Some(&path), [], &[]).unwrap();
        assert_eq!(c.upstream.members.len(), 3);
        assert_eq!(c.upstream.unknown_members, UnknownMembers::Refuse);
        assert_eq!(
            c.upstream.members[2].advertised.as_deref(),
            Some("localhost:7703")
        );
        let member = |addr: &str, listen: &str| {
            format!("[[upstream.members]]\naddr = \"{addr}\"\nlisten = \"{listen}\"\n")
        };
        let twice = member("a:1", "127.0.0.1:0") + &member("A:1", "127.0.0.1:0");
        let e = load(&twice, &[]).unwrap_err().to_string();
        assert!(
            e.contains("upstream.members") && e.contains("[1].addr"),
            "{e}"
        );
        let e = load(&member("a:1", "nowhere"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[0].listen"), "{e}");
        let e = load("[upstream]\nunknown_members = \"ignore\"\n", &[]).unwrap_err();
        assert!(
            e.to_string().contains("unknown_members") || e.to_string().contains("ignore"),
            "{e}"
        );
    }

    #[test]
    fn policy_keys_have_variables_and_unknown_variables_are_reported() {
        let c = load(
            "",
            &[
                ("BOLTWARD_POLICY_MODE", "audit"),
                ("BOLTWARD_POLICY_DEFAULT", "deny"),
                ("BOLTWARD_POLCY_MODE", "audit"),
                ("BOLTWARD_LOG", "debug"),
                ("BOLTWARD_VERIFY_PASSWORD", "x"),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        let p = c.policy().unwrap();
        assert_eq!(p.mode, crate::policy::Mode::Audit);
        assert!(!p.default_allow);
        assert_eq!(c.unknown_env, ["BOLTWARD_POLCY_MODE"]);
    }

    #[test]
    fn a_bad_value_names_its_key_once() {
        let e = load("[journal]\nsync = \"sometimes\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("journal.sync: "), "{e}");
        assert!(e.contains("unknown variant"), "{e}");
        assert!(!e.contains("invalid configuration"), "{e}");
        let e = load("", &[("BOLTWARD_LIMITS_MAX_CONNECTIONS", "many")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("limits.max_connections: "), "{e}");
    }

    #[test]
    fn defaults_are_valid_and_loopback() {
        let c = Config::load(None, [], &[]).unwrap();
        assert_eq!(c.listen.addr, "127.0.0.1:7687");
        assert_eq!(c.control.addr, "127.0.0.1:7475");
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let c = load(
            "[upstream]\naddr = \"db:7687\"\n[limits]\nmax_connections = 5\n",
            &[
                ("BOLTWARD_LIMITS_MAX_CONNECTIONS", "7"),
                ("BOLTWARD_UPSTREAM_TLS_ENABLED", "true"),
            ],
        )
        .unwrap();
        assert_eq!(c.upstream.addr, "db:7687");
        assert_eq!(c.limits.max_connections, 7);
        assert!(c.upstream.tls.enabled);
        let c = Config::load(
            None,
            [(
                "BOLTWARD_LISTEN_ADDR".to_string(),
                "127.0.0.1:1".to_string(),
            )],
            &[("listen.addr", "127.0.0.1:2".into())],
        )
        .unwrap();
        assert_eq!(c.listen.addr, "127.0.0.1:2");
    }

    #[test]
    fn every_key_has_a_working_env_variable() {
        for key in KEYS {
            let mut t = toml::Table::new();
            set(&mut t, key, "x");
            let parsed: Result<Config, _> = t.try_into();
            // A string is the wrong type for numeric keys, but the key itself must exist:
            // an unknown key would be reported as such.
            if let Err(e) = parsed {
                assert!(!e.message().contains("unknown field"), "{key}: {e}");
            }
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[listen]\naddr = \"localhost\"", "listen.addr"),
            ("[upstream]\naddr = \"db\"", "upstream.addr"),
            ("[limits]\nmax_connections = 0", "limits.max_connections"),
            ("[limits]\nmax_message_size = 10", "limits.max_message_size"),
            ("[listen.tls]\nmode = \"required\"", "listen.tls.cert"),
            ("[log]\nformat = \"xml\"", "log.format"),
        ];
        for (toml, key) in cases {
            let err = load(toml, &[]).unwrap_err().to_string();
            assert!(err.starts_with(key), "{toml}: {err}");
        }
        let err = load("[listen]\nadress = \"x\"", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("adress"), "{err}");
    }
}
