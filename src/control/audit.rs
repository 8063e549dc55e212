//! Who changed what: `/v1/audit` and `/v1/audit/verify` over the journal directory.

use super::api::{AuditIntact, AuditRows};
use super::{ApiError, Shared};
use crate::journal::query::Filter;
use crate::journal::read::ReadError;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;

fn internal(e: impl ToString) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn unreadable(e: ReadError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "journal_read",
        e.to_string(),
    )
}

pub(super) async fn query(
    State(s): State<Shared>,
    Query(filter): Query<Filter>,
) -> Result<Json<AuditRows>, ApiError> {
    let dir = s.journal_dir()?;
    let rows = tokio::task::spawn_blocking(move || crate::journal::query::query(&dir, &filter))
        .await
        .map_err(internal)?
        .map_err(unreadable)?;
    Ok(Json(AuditRows { rows }))
}

/// 200 intact; 409 `journal_corrupt` naming the first bad LSN.
pub(super) async fn verify(State(s): State<Shared>) -> Result<Json<AuditIntact>, ApiError> {
    let dir = s.journal_dir()?;
    let result =
        tokio::task::spawn_blocking(move || crate::journal::read::verify(&dir, true, |_, _| {}))
            .await
            .map_err(internal)?;
    match result {
        Ok(verified) => Ok(Json(AuditIntact {
            intact: true,
            verified,
        })),
        Err(ReadError::Chain(e)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "journal_corrupt",
            e.to_string(),
        )),
        Err(e) => Err(unreadable(e)),
    }
}
