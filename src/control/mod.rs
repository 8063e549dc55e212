//! The control HTTP port: health, readiness, metrics, status, policy, audit, snapshots
//! and restores.
//!
//! Everything except `/healthz`, `/readyz` and (unless `control.metrics_token`) `/metrics`
//! needs `Authorization: Bearer <token>`, compared in constant time. Errors are JSON:
//! `{"error": {"code": "...", "message": "..."}}`.

mod auth;
mod snapshots;

use crate::config::Config;
use crate::cypher::classify_limited;
use crate::metrics::Metrics;
use crate::policy::{decide, Actor, Policy};
use crate::proxy::PolicyHandle;
use crate::upstream::UpstreamHandle;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use auth::token_from;

/// What the control handlers need.
pub struct ControlState {
    /// The effective configuration.
    pub config: Arc<Config>,
    /// The address the Bolt listener is bound to.
    pub listen: String,
    /// The file the configuration came from (for policy reloads).
    pub config_path: Option<PathBuf>,
    /// Bearer token; `None` means protected endpoints refuse everyone.
    pub token: Option<String>,
    /// Metrics registry.
    pub metrics: Metrics,
    /// The policy in force.
    pub policy: PolicyHandle,
    /// How to reach the upstream (readiness).
    pub upstream: UpstreamHandle,
    /// Process start.
    pub started: Instant,
    /// The write gate.
    pub gate: Arc<crate::gate::WriteGate>,
    /// The journal, when enabled.
    pub journal: Option<crate::journal::Journal>,
    /// The graph health probes.
    pub prober: Arc<crate::health::Prober>,
    /// Snapshots.
    pub snapshots: Arc<crate::snapshot::service::Snapshots>,
    /// Restores and promotion.
    pub recovery: Arc<crate::recovery::Recovery>,
}

type Shared = Arc<ControlState>;

/// A JSON error with a stable shape.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

async fn require_token(
    State(s): State<Shared>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (&s.token, given) {
        (None, _) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "no control token is configured: set BOLTWARD_CONTROL_TOKEN or control.token_file",
        )),
        (Some(t), Some(g)) if auth::equal(t.as_bytes(), g.as_bytes()) => Ok(next.run(req).await),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (Authorization: Bearer <token>)",
        )),
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(s): State<Shared>) -> Response {
    if let Some(j) = s.journal.as_ref().filter(|j| !j.is_writable()) {
        let reason = j
            .status()
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "journal": "not_writable", "reason": format!("journal cannot write: {reason}")})),
        )
            .into_response();
    }
    let probe =
        tokio::time::timeout(Duration::from_secs(2), s.upstream.connector().connect()).await;
    match probe {
        Ok(Ok(_)) => Json(json!({"status": "ready", "upstream": s.upstream.addr()})).into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "upstream": s.upstream.addr(), "reason": e.to_string()})),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "upstream": s.upstream.addr(), "reason": "upstream did not answer within 2s"})),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

async fn status(State(s): State<Shared>) -> Json<serde_json::Value> {
    let p = s.policy.get();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": s.started.elapsed().as_secs(),
        "listen": s.listen,
        "upstream": s.config.upstream.addr,
        "connections_active": s.metrics.proxy.connections_active.get(),
        "connections_total": s.metrics.proxy.connections_total.get(),
        "policy": policy_summary(&p),
        "writes": writes_state(&s),
        "journal": journal_state(&s),
    }))
}

fn journal_state(s: &ControlState) -> serde_json::Value {
    let Some(j) = &s.journal else {
        return json!({"enabled": false});
    };
    let st = j.status();
    use std::sync::atomic::Ordering;
    json!({
        "enabled": true,
        "dir": j.dir(),
        "lsn": st.lsn.load(Ordering::Acquire),
        "head": st.head.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        "writable": j.is_writable(),
        "last_error": st.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        "in_doubt": st.in_doubt.load(Ordering::Relaxed),
        "recovery": j.recovery(),
    })
}

fn journal_dir(s: &ControlState) -> Result<PathBuf, ApiError> {
    s.journal
        .as_ref()
        .map(|j| j.dir().to_owned())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "journal_disabled",
                "the journal is disabled (journal.enabled = false)",
            )
        })
}

/// `?detailed=true`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HealthParams {
    detailed: bool,
}

async fn health_graph(
    State(s): State<Shared>,
    axum::extract::Query(p): axum::extract::Query<HealthParams>,
) -> Response {
    let report = s.prober.run(p.detailed).await;
    crate::health::record(&report, &s.metrics.health);
    let code = if report.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(report)).into_response()
}

async fn audit_query(
    State(s): State<Shared>,
    axum::extract::Query(filter): axum::extract::Query<crate::journal::query::Filter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = journal_dir(&s)?;
    let rows = tokio::task::spawn_blocking(move || crate::journal::query::query(&dir, &filter))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "journal_read",
                e.to_string(),
            )
        })?;
    Ok(Json(json!({"rows": rows})))
}

async fn audit_verify(State(s): State<Shared>) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = journal_dir(&s)?;
    let result =
        tokio::task::spawn_blocking(move || crate::journal::read::verify(&dir, true, |_, _| {}))
            .await
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
    match result {
        Ok(v) => Ok(Json(json!({"intact": true, "verified": v}))),
        Err(crate::journal::read::ReadError::Chain(e)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "journal_corrupt",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "journal_read",
            e.to_string(),
        )),
    }
}

fn writes_state(s: &ControlState) -> serde_json::Value {
    json!({"paused": s.gate.is_paused(), "held": s.gate.held()})
}

async fn writes_pause(State(s): State<Shared>) -> Json<serde_json::Value> {
    s.gate.pause();
    tracing::info!("writes paused through the control port");
    Json(writes_state(&s))
}

async fn writes_resume(State(s): State<Shared>) -> Json<serde_json::Value> {
    s.gate.resume();
    tracing::info!("writes resumed through the control port");
    Json(writes_state(&s))
}

fn policy_summary(p: &Policy) -> serde_json::Value {
    json!({
        "mode": match p.mode { crate::policy::Mode::Enforce => "enforce", crate::policy::Mode::Audit => "audit" },
        "default": if p.default_allow { "allow" } else { "deny" },
        "rules": p.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
    })
}

async fn policy(State(s): State<Shared>) -> Json<serde_json::Value> {
    Json(policy_summary(&s.policy.get()))
}

async fn policy_reload(State(s): State<Shared>) -> Result<Json<serde_json::Value>, ApiError> {
    match crate::policy::reload(
        &s.policy,
        s.config_path.as_deref(),
        &s.metrics.proxy,
        "control port",
    ) {
        Ok(p) => Ok(Json(
            json!({"reloaded": true, "policy": policy_summary(&p)}),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            format!("{e}; the previous policy stays in force"),
        )),
    }
}

/// Body of `POST /v1/policy/check`.
#[derive(Debug, Deserialize)]
pub struct CheckRequest {
    /// The statement.
    pub query: String,
    /// Principal.
    pub actor: Option<String>,
    /// Auth scheme.
    pub scheme: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Client address.
    pub address: Option<std::net::IpAddr>,
    /// Certificate subject.
    pub cert_subject: Option<String>,
    /// Claimed actor.
    pub claimed: Option<String>,
    /// Database.
    pub database: Option<String>,
}

/// The JSON answer of a policy check (also printed by `boltward policy check --json`).
/// `max_statement_bytes` is the limit the proxy applies (`limits.max_statement_bytes`).
pub fn check_json(
    policy: &Policy,
    req: &CheckRequest,
    max_statement_bytes: usize,
) -> serde_json::Value {
    let actor = Actor {
        principal: req.actor.clone(),
        scheme: req.scheme.clone().or(Some("basic".into())),
        address: req.address,
        cert_subject: req.cert_subject.clone(),
        user_agent: req.user_agent.clone(),
        claimed: req.claimed.clone(),
    };
    let c = classify_limited(&req.query, max_statement_bytes);
    let v = decide(policy, &actor, &c, req.database.as_deref());
    json!({
        "classes": c.classes,
        "verdict": v.verdict,
        "rule": v.rule,
        "reason": v.reason,
        "would_deny": v.would_deny,
        "labels": c.labels,
        "unbounded_delete": c.unbounded_delete,
        "schema_drop": c.schema_drop,
        "verify_with_explain": c.verify,
        "unparsed": c.unparsed,
        "note": c.note,
    })
}

async fn policy_check(
    State(s): State<Shared>,
    Json(req): Json<CheckRequest>,
) -> Json<serde_json::Value> {
    Json(check_json(
        &s.policy.get(),
        &req,
        s.config.limits.max_statement_bytes,
    ))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see docs/operations.md",
    )
}

/// Serves `router` over HTTPS on `listener` (rustls), one task per connection; a failed
/// handshake closes that connection only.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Arc<rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "control port: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(client = %peer, error = %e, "control port: TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The control router.
pub fn router(state: ControlState) -> Router {
    let state: Shared = Arc::new(state);
    let protected = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/policy", get(policy))
        .route("/v1/policy/reload", post(policy_reload))
        .route("/v1/policy/check", post(policy_check))
        .route("/v1/writes/pause", post(writes_pause))
        .route("/v1/writes/resume", post(writes_resume))
        .route("/health/graph", get(health_graph))
        .route("/v1/audit", get(audit_query))
        .route("/v1/audit/verify", get(audit_verify).post(audit_verify))
        .route(
            "/v1/snapshots",
            get(snapshots::list).post(snapshots::create),
        )
        .route(
            "/v1/snapshots/{id}",
            get(snapshots::show).delete(snapshots::delete),
        )
        .route("/v1/snapshots/{id}/verify", post(snapshots::verify))
        .route(
            "/v1/restores",
            get(snapshots::restore_status).post(snapshots::restore_start),
        )
        .route("/v1/restores/promote", post(snapshots::restore_promote))
        .route("/v1/restores/cancel", post(snapshots::restore_cancel));
    let metrics_route = Router::new().route("/metrics", get(metrics));
    let metrics_route = if state.config.control.metrics_token {
        metrics_route.route_layer(middleware::from_fn_with_state(state.clone(), require_token))
    } else {
        metrics_route
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(metrics_route)
        .merge(protected.route_layer(middleware::from_fn_with_state(state.clone(), require_token)))
        .fallback(not_found)
        .with_state(state)
}
