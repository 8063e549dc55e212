//! Is boltward alive, ready, and how is it doing: `/healthz`, `/readyz`, `/metrics`,
//! `/v1/status` and `/health/graph`.

use super::api::{self, JournalOn, JournalState, PolicySummary, Readiness, Readyz};
use super::{ControlState, Shared};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long `/readyz` waits for the upstream.
const READY_PROBE: Duration = Duration::from_secs(2);

pub(super) async fn healthz() -> Json<api::Healthz> {
    Json(api::Healthz {
        status: api::Alive::Ok,
    })
}

pub(super) async fn readyz(State(s): State<Shared>) -> (StatusCode, Json<Readyz>) {
    let not_ready = |upstream: Option<String>, journal: Option<&str>, reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readyz {
                journal: journal.map(str::to_owned),
                reason: Some(reason),
                status: Readiness::NotReady,
                upstream,
            }),
        )
    };
    if let Some(j) = s.journal.as_ref().filter(|j| !j.is_writable()) {
        let reason = j
            .status()
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        return not_ready(
            None,
            Some("not_writable"),
            format!("journal cannot write: {reason}"),
        );
    }
    let upstream = s.upstream.addr();
    match tokio::time::timeout(READY_PROBE, s.upstream.connector().connect()).await {
        Ok(Ok(_)) => (
            StatusCode::OK,
            Json(Readyz {
                journal: None,
                reason: None,
                status: Readiness::Ready,
                upstream: Some(upstream),
            }),
        ),
        Ok(Err(e)) => not_ready(Some(upstream), None, e.to_string()),
        Err(_) => not_ready(
            Some(upstream),
            None,
            format!("upstream did not answer within {}s", READY_PROBE.as_secs()),
        ),
    }
}

pub(super) async fn metrics(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

pub(super) async fn status(State(s): State<Shared>) -> Json<api::Status> {
    Json(api::Status {
        connections_active: s.metrics.proxy.connections_active.get(),
        connections_total: s.metrics.proxy.connections_total.get(),
        journal: journal_state(&s),
        listen: s.listen.clone(),
        policy: PolicySummary::of(&s.policy.get()),
        upstream: s.config.upstream.addr.clone(),
        uptime_seconds: s.started.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        writes: super::writes::state(&s),
    })
}

fn journal_state(s: &ControlState) -> JournalState {
    let Some(j) = &s.journal else {
        return JournalState::Disabled { enabled: false };
    };
    let st = j.status();
    JournalState::Enabled(JournalOn {
        dir: j.dir().to_owned(),
        enabled: true,
        head: st.head.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        in_doubt: st.in_doubt.load(Ordering::Relaxed),
        last_error: st
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        lsn: st.lsn.load(Ordering::Acquire),
        recovery: j.recovery().clone(),
        writable: j.is_writable(),
    })
}

/// `?detailed=true`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct HealthParams {
    detailed: bool,
}

/// 200 healthy, 503 unhealthy; the body is the report either way.
pub(super) async fn health_graph(
    State(s): State<Shared>,
    Query(p): Query<HealthParams>,
) -> (StatusCode, Json<crate::health::Report>) {
    let report = s.prober.run(p.detailed).await;
    crate::health::record(&report, &s.metrics.health);
    let code = if report.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(report))
}
