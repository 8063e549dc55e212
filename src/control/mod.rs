//! The control HTTP port: health, readiness, metrics, status, policy, audit, snapshots
//! and restores.
//!
//! Everything except `/healthz`, `/readyz` and (unless `control.metrics_token`) `/metrics`
//! needs `Authorization: Bearer <token>`, compared in constant time. Errors are JSON:
//! `{"error": {"code": "...", "message": "..."}}`.
//!
//! - [`api`]: every request and response body, shared with the CLI.
//! - `status`: `/healthz`, `/readyz`, `/metrics`, `/v1/status`, `/health/graph`.
//! - `policy`: `/v1/policy`, `/v1/policy/reload`, `/v1/policy/check`.
//! - `writes`: `/v1/writes/pause`, `/v1/writes/resume`.
//! - `audit`: `/v1/audit`, `/v1/audit/verify`.
//! - `snapshots`: `/v1/snapshots…`.
//! - `restores`: `/v1/restores…`.
//! - this file: the router, the bearer-token check, [`ApiError`] and [`ControlState`].

pub mod api;
mod audit;
mod auth;
mod policy;
mod replication;
mod restores;
mod snapshots;
mod status;
mod writes;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::policy::PolicyHandle;
use crate::upstream::UpstreamHandle;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use api::CheckRequest;
pub use auth::{token_from, TokenFileError};
pub use policy::check;

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
    /// Mirrors.
    pub replication: Arc<crate::replicate::Replication>,
    /// Journal retention, when the journal is enabled.
    pub retention: Option<Arc<crate::retention::JournalRetention>>,
}

impl ControlState {
    /// The journal directory, or `journal_disabled`.
    fn journal_dir(&self) -> Result<PathBuf, ApiError> {
        self.journal
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
}

type Shared = Arc<ControlState>;

/// A JSON error with a stable shape.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
            Json(api::ErrorBody {
                error: api::ErrorDetail {
                    code: self.code.to_owned(),
                    message: self.message,
                },
            }),
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
        .route("/v1/status", get(status::status))
        .route("/v1/policy", get(policy::summary))
        .route("/v1/policy/reload", post(policy::reload))
        .route("/v1/policy/check", post(policy::check_handler))
        .route("/v1/writes/pause", post(writes::pause))
        .route("/v1/writes/resume", post(writes::resume))
        .route("/v1/replication", get(replication::status))
        .route("/v1/replication/resolve", post(replication::resolve))
        .route("/v1/replication/{remote}/pause", post(replication::pause))
        .route("/v1/replication/{remote}/resume", post(replication::resume))
        .route("/v1/replication/{remote}/reseed", post(replication::reseed))
        .route("/v1/replication/{remote}/verify", post(replication::verify))
        .route("/health/graph", get(status::health_graph))
        .route("/v1/audit", get(audit::query))
        .route("/v1/audit/verify", get(audit::verify).post(audit::verify))
        .route("/v1/journal/prune", post(audit::prune))
        .route(
            "/v1/snapshots",
            get(snapshots::list).post(snapshots::create),
        )
        .route(
            "/v1/snapshots/{id}",
            get(snapshots::show).delete(snapshots::delete),
        )
        .route("/v1/snapshots/{id}/verify", post(snapshots::verify))
        .route("/v1/restores", get(restores::status).post(restores::start))
        .route("/v1/restores/plan", post(restores::plan))
        .route("/v1/restores/promote", post(restores::promote))
        .route("/v1/restores/cancel", post(restores::cancel));
    let metrics_route = Router::new().route("/metrics", get(status::metrics));
    let metrics_route = if state.config.control.metrics_token {
        metrics_route.route_layer(middleware::from_fn_with_state(state.clone(), require_token))
    } else {
        metrics_route
    };
    Router::new()
        .route("/healthz", get(status::healthz))
        .route("/readyz", get(status::readyz))
        .merge(metrics_route)
        .merge(protected.route_layer(middleware::from_fn_with_state(state.clone(), require_token)))
        .fallback(not_found)
        .with_state(state)
}
