//! Restores and promotion: `/v1/restores` (status, start), `/v1/restores/plan` (what a
//! point-in-time restore would do), `/v1/restores/promote` and `/v1/restores/cancel`.
//! Every answer but the plan is the recovery state.

use super::api::{RecoveryState, RestorePlan, StartRequest};
use super::{ApiError, Shared};
use crate::recovery::RecoveryError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

fn recovery_error(e: RecoveryError) -> ApiError {
    let (status, code) = match &e {
        RecoveryError::Refused(_) => (StatusCode::CONFLICT, "invalid_transition"),
        RecoveryError::BadRequest(_) | RecoveryError::BadTarget(_) => {
            (StatusCode::BAD_REQUEST, "bad_request")
        }
        RecoveryError::Target(_) => (StatusCode::CONFLICT, "target"),
        RecoveryError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        RecoveryError::Persist(_) => (StatusCode::INTERNAL_SERVER_ERROR, "persist"),
    };
    ApiError::new(status, code, e.to_string())
}

pub(super) async fn status(State(s): State<Shared>) -> Json<RecoveryState> {
    Json(s.recovery.status())
}

/// 202: the restore runs in the background; poll `GET /v1/restores`.
pub(super) async fn start(
    State(s): State<Shared>,
    Json(req): Json<StartRequest>,
) -> Result<(StatusCode, Json<RecoveryState>), ApiError> {
    let state = s.recovery.start(req).await.map_err(recovery_error)?;
    Ok((StatusCode::ACCEPTED, Json(state)))
}

/// What `start` would do with the same request (`restore start --until … --dry-run`).
pub(super) async fn plan(
    State(s): State<Shared>,
    Json(req): Json<StartRequest>,
) -> Result<Json<RestorePlan>, ApiError> {
    Ok(Json(s.recovery.plan(&req).await.map_err(recovery_error)?))
}

pub(super) async fn promote(State(s): State<Shared>) -> Result<Json<RecoveryState>, ApiError> {
    Ok(Json(s.recovery.promote().await.map_err(recovery_error)?))
}

pub(super) async fn cancel(State(s): State<Shared>) -> Result<Json<RecoveryState>, ApiError> {
    Ok(Json(s.recovery.cancel().map_err(recovery_error)?))
}
