//! The composition root: [`App::build`] resolves every secret, the policy, TLS, the
//! journal, snapshots and recovery before anything binds, then binds the listeners;
//! [`App::run`] serves until shutdown. `main.rs` only parses arguments.
//!
//! Everything long-lived is in one [`Runtime`], shared by the proxy, the control port and
//! the background tasks (snapshot schedule, health probes, audit sink), so a subsystem
//! gets what it needs from here instead of from another subsystem.

use crate::config::{Config, ConfigError};
use crate::control::{ControlState, TokenFileError};
use crate::gate::WriteGate;
use crate::health::Prober;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::policy::PolicyHandle;
use crate::proxy::{Prepared, Proxy, ProxyError};
use crate::recovery::{Recovery, RecoveryError};
use crate::snapshot::service::Snapshots;
use crate::tls::TlsError;
use crate::upstream::{ConnectError, UpstreamHandle};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::net::TcpListener;
use tracing::warn;

/// boltward could not start.
#[derive(Debug, Error)]
pub enum AppError {
    /// `control.token_file` is unusable.
    #[error(transparent)]
    Token(#[from] TokenFileError),
    /// The recovery state file (which upstream a restore promoted) is unreadable.
    #[error("recovery state: {0}")]
    Promoted(String),
    /// The proxy's configuration (TLS, upstream, policy, verification, journal) or its
    /// listeners.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// A setting or secret is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Mirrors cannot start (a remote's password or TLS).
    #[error(transparent)]
    Replication(#[from] crate::replicate::ReplicationError),
    /// Restores cannot start (their state directory).
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    /// `control.tls` is unusable.
    #[error("control.tls: {0}")]
    ControlTls(TlsError),
    /// The audit sink's upstream settings are unusable.
    #[error("journal.sink: {0}")]
    SinkTls(TlsError),
    /// The audit sink cannot reach its server with these settings.
    #[error("journal.sink: {0}")]
    SinkConnect(#[from] ConnectError),
    /// An address could not be bound.
    #[error("cannot listen on {what} {addr}: {source}")]
    Bind {
        /// Which setting.
        what: &'static str,
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A signal handler could not be installed.
    #[error("installing the {0} handler: {1}")]
    Signal(&'static str, std::io::Error),
}

/// What every part of a running boltward shares.
pub struct Runtime {
    /// The effective configuration (the promoted upstream in place of the configured one).
    pub config: Arc<Config>,
    /// The file the configuration came from (policy reloads).
    pub config_path: Option<PathBuf>,
    /// The Prometheus registry.
    pub metrics: Metrics,
    /// The policy in force.
    pub policy: PolicyHandle,
    /// The upstream in force (promotion switches it).
    pub upstream: UpstreamHandle,
    /// The write gate (maintenance pause, snapshot barrier).
    pub gate: Arc<WriteGate>,
    /// The journal, when enabled.
    pub journal: Option<Journal>,
    /// Snapshots.
    pub snapshots: Arc<Snapshots>,
    /// Restores and promotion.
    pub recovery: Arc<Recovery>,
    /// The graph health probes.
    pub prober: Arc<Prober>,
    /// Mirrors.
    pub replication: Arc<crate::replicate::Replication>,
    /// Journal retention, when the journal is enabled.
    pub retention: Option<Arc<crate::retention::JournalRetention>>,
    /// When this process started.
    pub started: Instant,
}

/// The control port, resolved and bound.
struct Control {
    listener: TcpListener,
    token: Option<String>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// A built boltward: everything resolved, every listener bound, nothing served yet.
pub struct App {
    runtime: Arc<Runtime>,
    proxy: Proxy,
    control: Option<Control>,
    sink: Option<crate::journal::sink::SinkConfig>,
    /// Run the graph health probes on `health.interval_secs`.
    periodic_health: bool,
}

impl App {
    /// Resolves everything `config` names (secrets, policy, TLS, journal, snapshot and
    /// recovery state), then binds the Bolt and control listeners. Nothing is bound if
    /// anything is wrong.
    pub async fn build(config: Config, config_path: Option<PathBuf>) -> Result<App, AppError> {
        let metrics = Metrics::new();
        let token = crate::control::token_from(&config.control)?;
        let config = Arc::new(with_promoted_upstream(config)?);
        let gate = Arc::new(WriteGate::default());
        let prepared = Prepared::new(config.clone(), &metrics, gate.clone())?;
        let upstream = prepared.upstream();
        let journal = prepared.journal();
        let prober = Arc::new(Prober::new(upstream.clone(), &config.health)?);
        // Periodic probes need their password; read once, here.
        let periodic_health =
            config.health.interval_secs > 0 && config.health.password()?.is_some();
        let sink = sink_config(&config)?;
        let control_tls = control_tls(&config)?;
        let snapshots = Arc::new(Snapshots::new(
            config.clone(),
            upstream.clone(),
            gate.clone(),
            journal.clone(),
            metrics.snapshot.clone(),
        ));
        let recovery = Recovery::open(crate::recovery::Services {
            config: config.clone(),
            upstream: upstream.clone(),
            gate: gate.clone(),
            journal: journal.clone(),
            metrics: metrics.snapshot.clone(),
            snapshots: snapshots.clone(),
        })?;
        let replication = Arc::new(crate::replicate::Replication::new(
            &config,
            journal.clone(),
            snapshots.clone(),
            metrics.replication.clone(),
        )?);
        let mirrors: Arc<dyn crate::snapshot::service::Mirrors> = replication.clone();
        snapshots.set_mirrors(Arc::downgrade(&mirrors));
        let retention = journal.clone().map(|j| {
            Arc::new(crate::retention::JournalRetention::new(
                config.clone(),
                j,
                snapshots.clone(),
                replication.clone(),
                metrics.journal.clone(),
            ))
        });
        let runtime = Arc::new(Runtime {
            policy: prepared.policy(),
            config: config.clone(),
            config_path,
            metrics,
            upstream,
            gate,
            journal,
            snapshots,
            recovery,
            prober,
            replication,
            retention,
            started: Instant::now(),
        });
        // Everything is resolved: bind.
        let prepared = prepared.with_replication(runtime.replication.clone());
        let proxy = Proxy::bind(prepared).await?;
        let control = if config.control.enabled {
            let listener = TcpListener::bind(&config.control.addr)
                .await
                .map_err(|source| AppError::Bind {
                    what: "control.addr",
                    addr: config.control.addr.clone(),
                    source,
                })?;
            Some(Control {
                listener,
                token,
                tls: control_tls,
            })
        } else {
            None
        };
        Ok(App {
            runtime,
            proxy,
            control,
            sink,
            periodic_health,
        })
    }

    /// What every part shares.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The control port's address, when enabled (port 0 resolved).
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control.as_ref()?.listener.local_addr().ok()
    }

    /// The Bolt listener's address (port 0 resolved).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.proxy.local_addr()
    }

    /// Serves until `shutdown` resolves. Prints the machine-readable lines scripts and
    /// tests wait for (`BOLTWARD_CONTROL=`, `BOLTWARD_MEMBER=`, then `BOLTWARD_LISTEN=`
    /// once SIGHUP reloads the policy).
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AppError> {
        let App {
            runtime: rt,
            proxy,
            control,
            sink,
            periodic_health,
        } = self;
        let listen = proxy.local_addr().map_err(|source| AppError::Bind {
            what: "listen.addr",
            addr: rt.config.listen.addr.clone(),
            source,
        })?;
        if let Some(schedule) = crate::snapshot::service::schedule_of(&rt.config) {
            tokio::spawn(rt.snapshots.clone().run_schedule(schedule));
        }
        if periodic_health {
            tokio::spawn(crate::health::periodic(
                rt.prober.clone(),
                Duration::from_secs(rt.config.health.interval_secs),
                rt.metrics.health.clone(),
            ));
        }
        rt.replication.start();
        if let Some(r) = &rt.retention {
            tokio::spawn(r.clone().run());
        }
        let control = control.map(|c| serve_control(&rt, c, listen));
        // Machine-readable lines for scripts and tests: each cluster member's listener,
        // then the main listener (once SIGHUP is handled).
        for m in proxy.member_listeners() {
            println!("BOLTWARD_MEMBER={} {} {}", m.member, m.listen, m.advertised);
        }
        let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| AppError::Signal("SIGHUP", e))?;
        tokio::spawn(reload_on_sighup(hup, rt.clone()));
        println!("BOLTWARD_LISTEN={listen}");
        if let (Some(cfg), Some(journal)) = (sink, rt.journal.as_ref()) {
            tokio::spawn(crate::journal::sink::run(
                journal.dir().to_owned(),
                cfg,
                rt.metrics.journal.sink_errors.clone(),
                rt.metrics.journal.sink_lsn.clone(),
            ));
        }
        proxy.serve(shutdown).await;
        if let Some(c) = control {
            c.abort();
        }
        Ok(())
    }
}

/// `config` with the upstream a restore promoted, if one was.
fn with_promoted_upstream(config: Config) -> Result<Config, AppError> {
    let promoted = crate::recovery::promoted_upstream(&config)
        .map_err(|e| AppError::Promoted(e.to_string()))?;
    match promoted {
        Some(addr) if addr != config.upstream.addr => {
            warn!(
                configured = %config.upstream.addr,
                promoted = %addr,
                "a restore was promoted: serving the promoted upstream; set upstream.addr to it"
            );
            let mut c = config;
            c.upstream.addr = addr;
            Ok(c)
        }
        _ => Ok(config),
    }
}

/// The audit sink's settings, secrets resolved (`None` when it is off or there is no
/// journal).
fn sink_config(config: &Config) -> Result<Option<crate::journal::sink::SinkConfig>, AppError> {
    let sink = &config.journal.sink;
    if !sink.enabled || !config.journal.enabled {
        return Ok(None);
    }
    let mut up = config.upstream.clone();
    if let Some(a) = &sink.addr {
        up.addr = a.clone();
    }
    let tls = if up.tls.enabled {
        Some(crate::tls::client_config(&up.tls).map_err(AppError::SinkTls)?)
    } else {
        None
    };
    Ok(Some(crate::journal::sink::SinkConfig {
        connector: crate::upstream::Connector::new(&up, tls)?,
        database: sink.database.clone(),
        user: sink.user.clone(),
        password: sink.password()?,
        batch: sink.batch.max(1),
        backup_metadata: sink.backup_metadata,
    }))
}

/// The control port's TLS, when configured.
fn control_tls(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, AppError> {
    let tls = &config.control.tls;
    if !config.control.enabled || !tls.enabled() {
        return Ok(None);
    }
    crate::tls::server_config(&crate::config::ListenTls {
        mode: crate::config::TlsMode::Required,
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        client_ca: None,
    })
    .map(Some)
    .map_err(AppError::ControlTls)
}

/// Starts the control port's server; prints `BOLTWARD_CONTROL=`.
fn serve_control(rt: &Arc<Runtime>, c: Control, listen: SocketAddr) -> tokio::task::JoinHandle<()> {
    if c.token.is_none() {
        warn!("no control token configured: only /healthz, /readyz and /metrics answer");
    }
    let addr = c
        .listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let router = crate::control::router(ControlState {
        config: rt.config.clone(),
        listen: listen.to_string(),
        config_path: rt.config_path.clone(),
        token: c.token,
        metrics: rt.metrics.clone(),
        policy: rt.policy.clone(),
        upstream: rt.upstream.clone(),
        started: rt.started,
        gate: rt.gate.clone(),
        journal: rt.journal.clone(),
        prober: rt.prober.clone(),
        snapshots: rt.snapshots.clone(),
        recovery: rt.recovery.clone(),
        replication: rt.replication.clone(),
        retention: rt.retention.clone(),
    });
    let listener = c.listener;
    match c.tls {
        Some(server) => {
            println!("BOLTWARD_CONTROL=https://{addr}");
            tokio::spawn(crate::control::serve_tls(listener, router, server))
        }
        None => {
            println!("BOLTWARD_CONTROL={addr}");
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    warn!(error = %e, "the control port stopped");
                }
            })
        }
    }
}

/// Reloads the policy on every SIGHUP (the same [`crate::policy::reload`] the control
/// port's `POST /v1/policy/reload` runs).
async fn reload_on_sighup(mut hup: tokio::signal::unix::Signal, rt: Arc<Runtime>) {
    while hup.recv().await.is_some() {
        // Logged and counted by `reload`; an invalid policy leaves the previous one.
        let _ = crate::policy::reload(
            &rt.policy,
            rt.config_path.as_deref(),
            &rt.metrics.proxy,
            "SIGHUP",
        );
    }
}
