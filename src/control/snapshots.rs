//! Snapshots: `/v1/snapshots` (list, create), `/v1/snapshots/{id}` (show, delete) and
//! `/v1/snapshots/{id}/verify`.

use super::api::{
    CreateSnapshot, SnapshotCreated, SnapshotDeleted, SnapshotList, SnapshotVerified,
};
use super::{ApiError, Shared};
use crate::snapshot::service::SnapshotError;
use crate::snapshot::store::{self, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

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

/// Runs a snapshot-directory operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(store_error)
}

pub(super) async fn list(State(s): State<Shared>) -> Result<Json<SnapshotList>, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let (snapshots, incomplete) = blocking(move || store::list(&dir)).await?;
    Ok(Json(SnapshotList {
        incomplete,
        snapshots,
    }))
}

/// 201 with the manifest.
pub(super) async fn create(
    State(s): State<Shared>,
    body: Option<Json<CreateSnapshot>>,
) -> Result<(StatusCode, Json<SnapshotCreated>), ApiError> {
    let source = body.and_then(|b| b.0.source);
    let taken = match source.as_deref() {
        None => s.snapshots.create("manual").await,
        Some("primary") => s.snapshots.create_of_primary("manual").await,
        Some(other) => match other.strip_prefix("remote:") {
            Some(name) => s.snapshots.create_from_remote(name, "manual").await,
            None => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("source {other:?}: must be \"primary\" or \"remote:NAME\""),
                ))
            }
        },
    };
    match taken {
        Ok(m) => Ok((StatusCode::CREATED, Json(m))),
        Err(e) => {
            let (status, code) = match &e {
                SnapshotError::Barrier(_) => (StatusCode::SERVICE_UNAVAILABLE, "barrier_timeout"),
                SnapshotError::Credentials(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "not_configured")
                }
                SnapshotError::Connect { .. } => (StatusCode::BAD_GATEWAY, "upstream"),
                SnapshotError::NoMirrors(_)
                | SnapshotError::Mirror(_)
                | SnapshotError::NotAMirror(_)
                | SnapshotError::Marker { .. } => (StatusCode::CONFLICT, "remote"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "snapshot_failed"),
            };
            Err(ApiError::new(status, code, e.to_string()))
        }
    }
}

pub(super) async fn show(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<SnapshotCreated>, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    Ok(Json(blocking(move || store::manifest(&dir, &id)).await?))
}

/// 200 intact, 409 corrupt; the body says what failed either way.
pub(super) async fn verify(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SnapshotVerified>), ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let v = blocking(move || store::verify(&store::locate(&dir, &id)?)).await?;
    let status = if v.ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    Ok((status, Json(v)))
}

pub(super) async fn delete(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<SnapshotDeleted>, ApiError> {
    let dir = s.snapshots.dir().to_owned();
    let deleted = id.clone();
    blocking(move || store::delete(&dir, &id)).await?;
    tracing::info!(id = %deleted, "snapshot deleted through the control port");
    Ok(Json(SnapshotDeleted { deleted }))
}
