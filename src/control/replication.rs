//! Mirrors: `GET /v1/replication`, `POST /v1/replication/{remote}/pause|resume|reseed|verify`
//! and `POST /v1/replication/resolve` (a transaction in doubt).

use super::api::{Replication, ReplicationRemote, ReplicationVerify, ResolveRequest, Resolved};
use super::{ApiError, Shared};
use crate::replicate::ReplicationError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

fn error(e: ReplicationError) -> ApiError {
    match e {
        ReplicationError::Unknown(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        ReplicationError::Resolve(_) | ReplicationError::JournalDisabled => {
            ApiError::new(StatusCode::CONFLICT, "not_resolvable", e.to_string())
        }
        _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

pub(super) async fn status(State(s): State<Shared>) -> Json<Replication> {
    Json(Replication {
        remotes: s.replication.status(),
    })
}

pub(super) async fn pause(
    State(s): State<Shared>,
    Path(remote): Path<String>,
) -> Result<Json<ReplicationRemote>, ApiError> {
    tracing::info!(remote = %remote, "mirror paused through the control port");
    s.replication.pause(&remote).map(Json).map_err(error)
}

pub(super) async fn resume(
    State(s): State<Shared>,
    Path(remote): Path<String>,
) -> Result<Json<ReplicationRemote>, ApiError> {
    tracing::info!(remote = %remote, "mirror resumed through the control port");
    s.replication.resume(&remote).map(Json).map_err(error)
}

pub(super) async fn reseed(
    State(s): State<Shared>,
    Path(remote): Path<String>,
) -> Result<Json<ReplicationRemote>, ApiError> {
    tracing::info!(remote = %remote, "mirror reseed requested through the control port");
    s.replication.reseed(&remote).map(Json).map_err(error)
}

pub(super) async fn verify(
    State(s): State<Shared>,
    Path(remote): Path<String>,
) -> Result<Json<ReplicationVerify>, ApiError> {
    let (snapshot, lsn) = s.replication.verify(&remote).await.map_err(error)?;
    Ok(Json(ReplicationVerify {
        remote,
        snapshot,
        lsn,
    }))
}

pub(super) async fn resolve(
    State(s): State<Shared>,
    Json(req): Json<ResolveRequest>,
) -> Result<Json<Resolved>, ApiError> {
    let intent_lsn = s
        .replication
        .resolve(req.lsn, req.resolution)
        .await
        .map_err(error)?;
    Ok(Json(Resolved {
        lsn: req.lsn,
        intent_lsn,
        resolution: req.resolution,
    }))
}
