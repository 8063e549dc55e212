//! Accepting clients: connection limit, TLS or plain (or both, by the first byte), one
//! task and one tracing span per connection, and graceful shutdown.

use super::{session, Context, PolicyHandle};
use crate::config::{Config, TlsMode};
use crate::tls::{self, TlsError};
use crate::upstream::{BoxStream, ConnectError, Connector, UpstreamHandle};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, info_span, warn, Instrument};

/// The proxy could not start.
#[derive(Debug, Error)]
pub enum ProxyError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Upstream settings are unusable.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The policy is invalid.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// Another configuration problem found at start.
    #[error("{0}")]
    Config(String),
    /// The journal cannot be opened.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

/// A bound proxy, ready to serve.
pub struct Proxy {
    listener: TcpListener,
    ctx: Arc<Context>,
    /// One listener per cluster member (`[[upstream.members]]`), each with its context.
    members: Vec<(TcpListener, Arc<Context>)>,
    tls: Option<TlsAcceptor>,
    draining: watch::Sender<bool>,
}

/// A cluster member's listener, as bound.
#[derive(Debug, Clone)]
pub struct MemberListener {
    /// The member's address.
    pub member: String,
    /// Where boltward listens for it.
    pub listen: SocketAddr,
    /// What drivers are given for it.
    pub advertised: String,
}

/// Everything the proxy serves with, resolved before anything binds: TLS, the upstream
/// connectors, the policy, EXPLAIN verification (and its password), the journal.
pub struct Prepared {
    config: Arc<Config>,
    tls: Option<TlsAcceptor>,
    upstream: UpstreamHandle,
    /// One connector per cluster member, in `upstream.members` order.
    member_upstreams: Vec<UpstreamHandle>,
    policy: PolicyHandle,
    verifier: Option<Arc<super::verify::Verifier>>,
    journal: Option<crate::journal::Journal>,
    gate: Arc<crate::gate::WriteGate>,
    metrics: crate::metrics::ProxyMetrics,
    sync: Option<Arc<crate::replicate::Replication>>,
}

impl Prepared {
    /// COMMITs wait for the sync remotes of `replication` (if it has any).
    pub fn with_replication(mut self, replication: Arc<crate::replicate::Replication>) -> Self {
        self.sync = replication.has_sync().then_some(replication);
        self
    }

    /// Resolves what the proxy needs from `config` without binding anything; `gate` is the
    /// write gate shared with snapshots and restores.
    pub fn new(
        config: Arc<Config>,
        metrics: &crate::metrics::Metrics,
        gate: Arc<crate::gate::WriteGate>,
    ) -> Result<Self, ProxyError> {
        let tls = match config.listen.tls.mode {
            TlsMode::Off => None,
            _ => Some(TlsAcceptor::from(tls::server_config(&config.listen.tls)?)),
        };
        let upstream_tls = if config.upstream.tls.enabled {
            Some(tls::client_config(&config.upstream.tls)?)
        } else {
            None
        };
        let upstream = UpstreamHandle::new(Connector::new(&config.upstream, upstream_tls.clone())?);
        let member_upstreams = config
            .upstream
            .members
            .iter()
            .map(|m| {
                let up = crate::config::Upstream {
                    addr: m.addr.clone(),
                    ..config.upstream.clone()
                };
                Ok(UpstreamHandle::new(Connector::new(
                    &up,
                    upstream_tls.clone(),
                )?))
            })
            .collect::<Result<Vec<_>, ProxyError>>()?;
        let policy = PolicyHandle::new(config.policy()?);
        let verifier = if config.verify.enabled {
            let password = config
                .verify
                .password()
                .map_err(|e| ProxyError::Config(e.to_string()))?;
            Some(Arc::new(super::verify::Verifier::new(
                upstream.clone(),
                &config.verify,
                password,
            )))
        } else {
            None
        };
        let journal = if config.journal.enabled {
            Some(crate::journal::Journal::open(
                &config.journal,
                metrics.journal.clone(),
            )?)
        } else {
            None
        };
        Ok(Prepared {
            config,
            tls,
            upstream,
            member_upstreams,
            policy,
            verifier,
            journal,
            gate,
            metrics: metrics.proxy.clone(),
            sync: None,
        })
    }

    /// The policy handle, for reloads (SIGHUP, control port).
    pub fn policy(&self) -> PolicyHandle {
        self.policy.clone()
    }

    /// The journal, when enabled.
    pub fn journal(&self) -> Option<crate::journal::Journal> {
        self.journal.clone()
    }

    /// The upstream in force (readiness probes, promotion).
    pub fn upstream(&self) -> UpstreamHandle {
        self.upstream.clone()
    }
}

impl Proxy {
    /// Binds the main listener and one per cluster member.
    pub async fn bind(p: Prepared) -> Result<Self, ProxyError> {
        let config = p.config;
        let mut member_listeners = Vec::with_capacity(config.upstream.members.len());
        for (m, handle) in config.upstream.members.iter().zip(p.member_upstreams) {
            let bound = TcpListener::bind(&m.listen)
                .await
                .map_err(|source| ProxyError::Bind {
                    addr: m.listen.clone(),
                    source,
                })?;
            let local = bound.local_addr().map_err(|source| ProxyError::Bind {
                addr: m.listen.clone(),
                source,
            })?;
            let advertised = m.advertised.clone().unwrap_or_else(|| local.to_string());
            member_listeners.push((bound, handle, advertised));
        }
        let members = Arc::new(super::members::Members::new(
            config
                .upstream
                .members
                .iter()
                .zip(&member_listeners)
                .map(|(m, (_, _, advertised))| (m.addr.clone(), advertised.clone())),
            config.upstream.unknown_members,
        ));
        let listener = TcpListener::bind(&config.listen.addr)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: config.listen.addr.clone(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: config.listen.addr.clone(),
            source,
        })?;
        let advertised = config
            .listen
            .advertised_address
            .clone()
            .unwrap_or_else(|| local.to_string());
        let (draining, draining_rx) = watch::channel(false);
        let ctx = Arc::new(Context {
            config,
            upstream: p.upstream,
            advertised,
            members,
            draining: draining_rx,
            policy: p.policy,
            rates: Default::default(),
            verifier: p.verifier,
            metrics: p.metrics,
            gate: p.gate,
            tickets: p.journal.as_ref().map(|j| j.tickets()),
            journal: p.journal,
            sync: p.sync,
        });
        let members = member_listeners
            .into_iter()
            .map(|(l, handle, advertised)| (l, Arc::new(ctx.for_member(handle, advertised))))
            .collect();
        Ok(Proxy {
            listener,
            ctx,
            members,
            tls: p.tls,
            draining,
        })
    }

    /// The policy handle, for reloads (SIGHUP, control port).
    pub fn policy(&self) -> PolicyHandle {
        self.ctx.policy.clone()
    }

    /// The write gate (maintenance switch).
    pub fn write_gate(&self) -> Arc<crate::gate::WriteGate> {
        self.ctx.gate.clone()
    }

    /// The journal, when enabled.
    pub fn journal(&self) -> Option<crate::journal::Journal> {
        self.ctx.journal.clone()
    }

    /// The upstream in force (readiness probes, promotion).
    pub fn upstream(&self) -> UpstreamHandle {
        self.ctx.upstream.clone()
    }

    /// The cluster members' listeners, as bound.
    pub fn member_listeners(&self) -> Vec<MemberListener> {
        self.ctx
            .config
            .upstream
            .members
            .iter()
            .zip(&self.members)
            .filter_map(|(m, (l, ctx))| {
                Some(MemberListener {
                    member: m.addr.clone(),
                    listen: l.local_addr().ok()?,
                    advertised: ctx.advertised.clone(),
                })
            })
            .collect()
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets busy sessions finish
    /// up to `limits.shutdown_grace_secs`, and closes the rest.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>) {
        let Proxy {
            listener,
            ctx,
            members,
            tls,
            draining,
        } = self;
        // Members' listeners hand their connections to this loop, with their context.
        let (member_tx, mut member_rx) = tokio::sync::mpsc::channel(64);
        let mut member_accepts = JoinSet::new();
        for (l, mctx) in members {
            let tx = member_tx.clone();
            info!(listen = %l.local_addr().map(|a| a.to_string()).unwrap_or_default(), member = mctx.upstream.addr(), advertised = %mctx.advertised, "fronting cluster member");
            member_accepts.spawn(async move {
                loop {
                    match l.accept().await {
                        Ok((tcp, peer)) => {
                            if tx.send((tcp, peer, mctx.clone())).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        drop(member_tx);
        let limits = &ctx.config.limits;
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let next_id = AtomicU64::new(1);
        let mut sessions = JoinSet::new();
        tokio::pin!(shutdown);
        info!(
            listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            upstream = ctx.upstream.addr(),
            advertised = %ctx.advertised,
            tls = ?ctx.config.listen.tls.mode,
            "boltward proxy serving"
        );
        loop {
            let (tcp, peer, ctx) = tokio::select! {
                _ = &mut shutdown => break,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
                Some(member) = member_rx.recv() => member,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => (tcp, peer, ctx.clone()),
                    Err(e) => {
                        // Out of file descriptors and similar: back off instead of spinning.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            ctx.metrics.connections_total.inc();
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                ctx.metrics
                    .connections_refused
                    .with_label_values(&["max_connections"])
                    .inc();
                warn!(client = %peer, max = limits.max_connections, "refusing connection: limits.max_connections reached");
                drop(tcp);
                continue;
            };
            let span = info_span!(
                "conn",
                id,
                client = %peer,
                principal = tracing::field::Empty,
                user_agent = tracing::field::Empty,
                bolt = tracing::field::Empty,
                cert_subject = tracing::field::Empty,
            );
            let ctx = ctx.clone();
            let tls = tls.clone();
            sessions.spawn(
                async move {
                    // Dropped in reverse order: the slot is free before the gauge says so.
                    let _active = ActiveGuard::new(&ctx.metrics.connections_active);
                    let _permit = permit;
                    debug!("accepted");
                    match accept(&ctx, tls, tcp).await {
                        Ok((stream, cert_subject)) => {
                            match session::run(ctx, stream, peer, cert_subject, id).await {
                                Ok(()) => debug!("closed"),
                                Err(e) => info!(error = %e, "connection closed"),
                            }
                        }
                        Err(e) => info!(error = %e, "connection closed before the Bolt handshake"),
                    }
                }
                .instrument(span),
            );
        }
        drop(listener);
        member_accepts.shutdown().await;
        drop(member_rx);
        let grace = Duration::from_secs(limits.shutdown_grace_secs);
        info!(
            active = sessions.len(),
            grace_secs = grace.as_secs(),
            "shutting down: no longer accepting"
        );
        let _ = draining.send(true);
        let drained = tokio::time::timeout(grace, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                closing = sessions.len(),
                "shutdown grace period over: closing busy connections"
            );
            sessions.shutdown().await;
        }
        if let Some(journal) = ctx.journal.clone() {
            let _ = tokio::task::spawn_blocking(move || journal.close()).await;
        }
        info!("shutdown complete");
    }
}

/// Counts a connection as active for as long as it lives.
struct ActiveGuard(prometheus::IntGauge);

impl ActiveGuard {
    fn new(g: &prometheus::IntGauge) -> Self {
        g.inc();
        ActiveGuard(g.clone())
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The subject of a DER certificate, RFC 4514 style (`CN=agent-7, O=Example`).
fn subject(der: &[u8]) -> Option<String> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, cert)| cert.subject().to_string())
}

/// TLS or plain, as configured; `optional` looks at the first byte (0x16 = TLS record).
/// Also returns the client certificate's subject under mutual TLS.
async fn accept(
    ctx: &Context,
    tls: Option<TlsAcceptor>,
    tcp: TcpStream,
) -> Result<(BoxStream, Option<String>), super::SessionError> {
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = tls else {
        return Ok((Box::new(tcp), None));
    };
    let use_tls = match ctx.config.listen.tls.mode {
        TlsMode::Required => true,
        TlsMode::Optional => {
            let mut first = [0u8; 1];
            let timeout = Duration::from_millis(ctx.config.limits.handshake_timeout_ms);
            let n = tokio::time::timeout(timeout, tcp.peek(&mut first))
                .await
                .map_err(|_| super::SessionError::HandshakeTimeout(timeout))?
                .map_err(super::SessionError::client)?;
            n == 1 && first[0] == 0x16
        }
        TlsMode::Off => false,
    };
    if !use_tls {
        return Ok((Box::new(tcp), None));
    }
    let stream = acceptor
        .accept(tcp)
        .await
        .map_err(super::SessionError::ClientTls)?;
    let cert_subject = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|c| subject(c));
    if let Some(s) = &cert_subject {
        tracing::Span::current().record("cert_subject", s.as_str());
    }
    Ok((Box::new(stream), cert_subject))
}
