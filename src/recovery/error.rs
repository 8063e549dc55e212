//! What can go wrong in recovery: a request the control port refuses ([`RecoveryError`]),
//! and a step of a running restore that fails ([`StepError`], recorded as text in the
//! state's `errors`).

use super::state::{Refused, StateFileError};
use crate::config::AddrError;
use crate::snapshot::export::ExportError;
use crate::snapshot::fingerprint::DigestError;
use crate::snapshot::import::ImportError;
use crate::snapshot::service::SnapshotError;
use crate::snapshot::store::StoreError;
use crate::upstream::ClientError;
use thiserror::Error;

/// A recovery request could not be carried out.
#[derive(Debug, Error)]
pub enum RecoveryError {
    /// The state machine does not allow it.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The request names something that does not exist or does not parse.
    #[error("{0}")]
    BadRequest(String),
    /// The target address does not parse.
    #[error("target: {0}")]
    BadTarget(#[from] AddrError),
    /// The target holds data and `force` was not given, or cannot be used.
    #[error("{0}")]
    Target(String),
    /// Writes did not drain for a promotion.
    #[error("{0}")]
    Unavailable(String),
    /// The state file cannot be read or written.
    #[error("recovery state: {0}")]
    Persist(#[from] StateFileError),
}

/// A step of a restore, its validation or its rollback failed.
#[derive(Debug, Error)]
pub enum StepError {
    /// A blocking task died.
    #[error(transparent)]
    Join(#[from] tokio::task::JoinError),
    /// The snapshot's data file is not what its manifest describes.
    #[error("snapshot {id}: {source}")]
    Snapshot {
        /// Snapshot id.
        id: String,
        /// What is wrong.
        source: StoreError,
    },
    /// A snapshot file cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Connecting to the target failed.
    #[error(transparent)]
    Connect(#[from] SnapshotError),
    /// Loading into the target failed.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The target failed a statement.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The count query answered no row.
    #[error("MATCH (n) RETURN count(n) returned no count")]
    NoCount,
    /// Reading the target back failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// What the target holds is not a graph a snapshot could have come from.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// Reading the mirror a bootstrap starts from failed.
    #[error("reading mirror {name}: {source}")]
    Mirror {
        /// The remote.
        name: String,
        /// Cause.
        source: SnapshotError,
    },
    /// Planning the replay of the journal after the mirror's marker failed.
    #[error(transparent)]
    Plan(#[from] RecoveryError),
    /// Replaying the journal for a point-in-time restore failed.
    #[error("replaying the journal: {0}")]
    Replay(String),
    /// A rollback did not bring back the safety snapshot's contents.
    #[error("after rollback the fingerprint is {actual}, the safety snapshot's is {expected}")]
    RollbackFingerprint {
        /// The target's fingerprint after the rollback.
        actual: String,
        /// The safety snapshot's.
        expected: String,
    },
}
