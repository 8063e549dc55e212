//! Who changed what: `/v1/audit` and `/v1/audit/verify` over the journal directory (and
//! `journal.archive_dir`), and `/v1/journal/prune` (retention now).

use super::api::{AuditIntact, AuditRows, PruneReport, PruneRequest};
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
    let archive = s.config.journal.archive_dir.clone();
    let rows = tokio::task::spawn_blocking(move || {
        crate::journal::query::query_with_archive(&dir, archive.as_deref(), &filter)
    })
    .await
    .map_err(internal)?
    .map_err(unreadable)?;
    Ok(Json(AuditRows { rows }))
}

/// 200 intact; 409 `journal_corrupt` naming the first bad LSN.
pub(super) async fn verify(State(s): State<Shared>) -> Result<Json<AuditIntact>, ApiError> {
    let dir = s.journal_dir()?;
    let archive = s.config.journal.archive_dir.clone();
    let result = tokio::task::spawn_blocking(move || {
        crate::journal::read::verify_with_archive(&dir, archive.as_deref(), true, |_, _| {})
    })
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

/// Runs journal retention now (`boltward audit prune`); `dry_run` removes nothing.
pub(super) async fn prune(
    State(s): State<Shared>,
    body: Option<Json<PruneRequest>>,
) -> Result<Json<PruneReport>, ApiError> {
    s.journal_dir()?;
    let Some(retention) = s.retention.as_ref() else {
        return Err(internal("journal retention is not running"));
    };
    let dry_run = body.is_some_and(|b| b.dry_run);
    retention.pass(dry_run).await.map(Json).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "retention",
            e.to_string(),
        )
    })
}
