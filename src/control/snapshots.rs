//! `/v1/snapshots` and `/v1/restores`.

use super::{ApiError, Shared};
use crate::recovery::{RecoveryError, StartRequest};
use crate::snapshot::service::SnapshotError;
use crate::snapshot::store::{self, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

fn internal(e: impl ToString) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(..) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        StoreError::BadId(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_id", e.to_string()),
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "snapshot_store",
            other.to_string(),
        ),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(store_error)
}

pub(super) async fn list(State(s): State<Shared>) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let (listed, incomplete) = blocking(move || store::list(&dir)).await?;
    Ok(Json(json!({"snapshots": listed, "incomplete": incomplete})))
}

pub(super) async fn create(State(s): State<Shared>) -> Result<Response, ApiError> {
    match s.snapshots.create("manual").await {
        Ok(m) => Ok((StatusCode::CREATED, Json(m)).into_response()),
        Err(e) => {
            let (status, code) = match &e {
                SnapshotError::Barrier(_) => (StatusCode::SERVICE_UNAVAILABLE, "barrier_timeout"),
                SnapshotError::Credentials(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "not_configured")
                }
                SnapshotError::Connect { .. } => (StatusCode::BAD_GATEWAY, "upstream"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "snapshot_failed"),
            };
            Err(ApiError::new(status, code, e.to_string()))
        }
    }
}

pub(super) async fn show(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let m = blocking(move || store::manifest(&dir, &id)).await?;
    Ok(Json(json!(m)))
}

pub(super) async fn verify(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let v = blocking(move || store::verify(&store::locate(&dir, &id)?)).await?;
    let status = if v.ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    Ok((status, Json(v)).into_response())
}

pub(super) async fn delete(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let gone = id.clone();
    blocking(move || store::delete(&dir, &id)).await?;
    tracing::info!(id = %gone, "snapshot deleted through the control port");
    Ok(Json(json!({"deleted": gone})))
}

fn recovery_error(e: RecoveryError) -> ApiError {
    let (status, code) = match &e {
        RecoveryError::Refused(_) => (StatusCode::CONFLICT, "invalid_transition"),
        RecoveryError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        RecoveryError::Target(_) => (StatusCode::CONFLICT, "target"),
        RecoveryError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        RecoveryError::Persist(_) => (StatusCode::INTERNAL_SERVER_ERROR, "persist"),
    };
    ApiError::new(status, code, e.to_string())
}

pub(super) async fn restore_status(State(s): State<Shared>) -> Json<serde_json::Value> {
    Json(json!(s.recovery.status()))
}

pub(super) async fn restore_start(
    State(s): State<Shared>,
    Json(req): Json<StartRequest>,
) -> Result<Response, ApiError> {
    let state = s.recovery.start(req).await.map_err(recovery_error)?;
    Ok((StatusCode::ACCEPTED, Json(state)).into_response())
}

pub(super) async fn restore_promote(
    State(s): State<Shared>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let state = s.recovery.promote().await.map_err(recovery_error)?;
    Ok(Json(json!(state)))
}

pub(super) async fn restore_cancel(
    State(s): State<Shared>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let state = s.recovery.cancel().map_err(recovery_error)?;
    Ok(Json(json!(state)))
}
