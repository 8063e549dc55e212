//! The control port's wire types: every request and response body, shared by the
//! server (the handlers in this module's siblings) and the CLI (`src/cli`), so the two
//! cannot disagree on a field name.
//!
//! Bodies that already have a domain type are that type: snapshot manifests
//! ([`Manifest`]), verification results ([`store::Verified`]), the recovery state
//! ([`RecoveryState`]), the graph health report ([`crate::health::Report`]) and audit rows
//! ([`Row`]). The types here cover what the control port adds around them.
//!
//! Fields are declared in alphabetical order on purpose: these bodies used to be built
//! with `serde_json::json!`, whose maps sort their keys, and declaring the fields in that
//! order keeps the answers byte-for-byte what operators' scripts have seen so far.
//! Optional fields that were absent stay absent (`skip_serializing_if`); fields that were
//! `null` stay `null`.

use crate::cypher::{Class, Classification};
use crate::journal::query::Row;
use crate::policy::{Decision, Mode, Policy, Verdict};
use crate::snapshot::store::{self, Manifest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;

pub use crate::recovery::pitr::{Plan as RestorePlan, Until};
pub use crate::recovery::state::State as RecoveryState;
pub use crate::recovery::StartRequest;
pub use crate::retention::PruneReport;

/// `POST /v1/snapshots` (the body is optional).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CreateSnapshot {
    /// `primary` or `remote:NAME`; absent: `snapshot.source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// `POST /v1/replication/resolve`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResolveRequest {
    /// The LSN of the in-doubt outcome record.
    pub lsn: u64,
    /// Which way it went on the primary.
    pub resolution: crate::journal::resolve::Resolution,
}

/// The answer to `POST /v1/replication/resolve`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Resolved {
    /// The outcome LSN.
    pub lsn: u64,
    /// Its intent's LSN.
    pub intent_lsn: u64,
    /// The decision.
    pub resolution: crate::journal::resolve::Resolution,
}

/// `POST /v1/journal/prune`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PruneRequest {
    /// Say what would go, remove nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Every error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable, machine-readable (`unauthorized`, `not_found`, `invalid_policy`, …).
    pub code: String,
    /// For people: what happened and what to do.
    pub message: String,
}

/// `GET /healthz`: the process is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Healthz {
    /// Always `ok`.
    pub status: Alive,
}

/// The only answer of `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alive {
    /// Alive.
    Ok,
}

/// `GET /readyz`: 200 `ready`, or 503 `not_ready` with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readyz {
    /// `not_writable` when the journal is what keeps boltward from being ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// Why not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ready or not.
    pub status: Readiness,
    /// The upstream probed (absent when the journal was the reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

/// `ready` or `not_ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Serving.
    Ready,
    /// Not serving yet, or no longer.
    NotReady,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Client connections open now.
    pub connections_active: i64,
    /// Client connections since start.
    pub connections_total: u64,
    /// The journal.
    pub journal: JournalState,
    /// The Bolt listen address.
    pub listen: String,
    /// The policy in force.
    pub policy: PolicySummary,
    /// The upstream configured (`upstream.addr`).
    pub upstream: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// boltward's version.
    pub version: String,
    /// The write gate.
    pub writes: Writes,
}

/// The journal as `/v1/status` shows it: `{"enabled": false}`, or everything about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JournalState {
    /// Journaling is on.
    Enabled(JournalOn),
    /// `journal.enabled = false`.
    Disabled {
        /// Always `false`.
        enabled: bool,
    },
}

/// An enabled journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalOn {
    /// The journal directory.
    pub dir: PathBuf,
    /// Always `true`.
    pub enabled: bool,
    /// The head of the hash chain (hex).
    pub head: String,
    /// Writes whose outcome is unknown.
    pub in_doubt: u64,
    /// The last append error (`null` while writable).
    pub last_error: Option<String>,
    /// The newest durable LSN.
    pub lsn: u64,
    /// What recovery found when the journal was opened.
    pub recovery: crate::journal::Recovery,
    /// Whether the last append succeeded.
    pub writable: bool,
}

/// The write gate: `POST /v1/writes/pause`, `/v1/writes/resume`, and in `/v1/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writes {
    /// Write work waiting for the gate to open.
    pub held: u64,
    /// Whether new write work is held.
    pub paused: bool,
}

/// `GET /v1/policy`, and the policy in `/v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySummary {
    /// The verdict when no rule matches.
    pub default: Decision,
    /// `enforce` or `audit`.
    pub mode: Mode,
    /// Rule names, in the order they are tried.
    pub rules: Vec<String>,
}

impl PolicySummary {
    /// The summary of `p`.
    pub fn of(p: &Policy) -> Self {
        PolicySummary {
            default: if p.default_allow {
                Decision::Allow
            } else {
                Decision::Deny
            },
            mode: p.mode,
            rules: p.rules.iter().map(|r| r.name.clone()).collect(),
        }
    }
}

/// `POST /v1/policy/reload` (a refused reload is an [`ErrorBody`], `invalid_policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReload {
    /// The policy now in force.
    pub policy: PolicySummary,
    /// Always `true`.
    pub reloaded: bool,
}

/// `POST /v1/policy/check`, and `boltward policy check` offline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRequest {
    /// The statement.
    pub query: String,
    /// Principal.
    #[serde(default)]
    pub actor: Option<String>,
    /// Auth scheme (`basic` when absent).
    #[serde(default)]
    pub scheme: Option<String>,
    /// User agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Client address.
    #[serde(default)]
    pub address: Option<std::net::IpAddr>,
    /// Certificate subject.
    #[serde(default)]
    pub cert_subject: Option<String>,
    /// Claimed actor.
    #[serde(default)]
    pub claimed: Option<String>,
    /// Database.
    #[serde(default)]
    pub database: Option<String>,
}

/// The answer of a policy check (also printed by `boltward policy check --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResponse {
    /// Statement classes.
    pub classes: BTreeSet<Class>,
    /// Node labels named.
    pub labels: BTreeSet<String>,
    /// What the classifier could not decide by itself (`null` when nothing).
    pub note: Option<String>,
    /// Why, in words an operator can act on.
    pub reason: String,
    /// The deciding rule (`default` when none matched; `guard:…` for guards).
    pub rule: String,
    /// The statement drops schema.
    pub schema_drop: bool,
    /// The statement deletes without a bound.
    pub unbounded_delete: bool,
    /// The classifier could not parse the statement.
    pub unparsed: bool,
    /// Allow or deny (in audit mode a deny is an allow with `would_deny`).
    pub verdict: Decision,
    /// The proxy would confirm the classes with `EXPLAIN`.
    pub verify_with_explain: bool,
    /// The policy said deny but runs in audit mode.
    pub would_deny: bool,
}

impl CheckResponse {
    /// The answer for classification `c` decided as `v`.
    pub fn new(c: Classification, v: Verdict) -> Self {
        CheckResponse {
            classes: c.classes,
            labels: c.labels,
            note: c.note,
            reason: v.reason,
            rule: v.rule,
            schema_drop: c.schema_drop,
            unbounded_delete: c.unbounded_delete,
            unparsed: c.unparsed,
            verdict: v.verdict,
            verify_with_explain: c.verify,
            would_deny: v.would_deny,
        }
    }
}

/// `GET /v1/audit`: journaled writes and refusals, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRows {
    /// The rows.
    pub rows: Vec<Row>,
}

/// `GET|POST /v1/audit/verify`, and `boltward audit verify --json` when intact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditIntact {
    /// Always `true` (a damaged journal is a `journal_corrupt` error on the control port).
    pub intact: bool,
    /// What was verified.
    pub verified: crate::journal::read::Verified,
}

/// `boltward audit verify --json` on a damaged journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDamaged {
    /// The first LSN that cannot be trusted.
    pub first_bad_lsn: u64,
    /// Always `false`.
    pub intact: bool,
    /// Byte offset in that segment.
    pub offset: usize,
    /// What is wrong.
    pub problem: String,
    /// The segment it is in.
    pub segment: String,
}

/// `GET /v1/snapshots` (and `boltward snapshot list --dir`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotList {
    /// Names of leftovers without a manifest.
    pub incomplete: Vec<String>,
    /// Snapshots, newest first.
    pub snapshots: Vec<store::Listed>,
}

/// `POST /v1/snapshots` (201) and `GET /v1/snapshots/{id}`.
pub type SnapshotCreated = Manifest;

/// `POST /v1/snapshots/{id}/verify` (200 intact, 409 corrupt).
pub type SnapshotVerified = store::Verified;

/// `DELETE /v1/snapshots/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDeleted {
    /// The id deleted.
    pub deleted: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The bodies that used to be `json!` values serialize to exactly the same bytes.
    #[test]
    fn bodies_keep_their_bytes() {
        let same = |typed: String, old: serde_json::Value| assert_eq!(typed, old.to_string());
        same(
            serde_json::to_string(&Readyz {
                journal: None,
                reason: Some("upstream did not answer within 2s".into()),
                status: Readiness::NotReady,
                upstream: Some("127.0.0.1:7688".into()),
            })
            .unwrap(),
            json!({"status": "not_ready", "upstream": "127.0.0.1:7688", "reason": "upstream did not answer within 2s"}),
        );
        same(
            serde_json::to_string(&Writes {
                held: 2,
                paused: true,
            })
            .unwrap(),
            json!({"paused": true, "held": 2}),
        );
        same(
            serde_json::to_string(&PolicyReload {
                policy: PolicySummary {
                    default: Decision::Deny,
                    mode: Mode::Audit,
                    rules: vec!["agents".into()],
                },
                reloaded: true,
            })
            .unwrap(),
            json!({"reloaded": true, "policy": {"mode": "audit", "default": "deny", "rules": ["agents"]}}),
        );
        same(
            serde_json::to_string(&JournalState::Disabled { enabled: false }).unwrap(),
            json!({"enabled": false}),
        );
        same(
            serde_json::to_string(&ErrorBody {
                error: ErrorDetail {
                    code: "not_found".into(),
                    message: "no such endpoint".into(),
                },
            })
            .unwrap(),
            json!({"error": {"code": "not_found", "message": "no such endpoint"}}),
        );
        same(
            serde_json::to_string(&Healthz { status: Alive::Ok }).unwrap(),
            json!({"status": "ok"}),
        );
    }

    /// What the server writes, the CLI reads back.
    #[test]
    fn journal_state_round_trips() {
        let on = JournalState::Enabled(JournalOn {
            dir: "j".into(),
            enabled: true,
            head: "ab".into(),
            in_doubt: 0,
            last_error: None,
            lsn: 7,
            recovery: Default::default(),
            writable: true,
        });
        let text = serde_json::to_string(&on).unwrap();
        assert!(text.contains(r#""last_error":null"#), "{text}");
        assert_eq!(serde_json::from_str::<JournalState>(&text).unwrap(), on);
        let off: JournalState = serde_json::from_str(r#"{"enabled":false}"#).unwrap();
        assert_eq!(off, JournalState::Disabled { enabled: false });
    }
}

/// `GET /v1/replication`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replication {
    /// Every configured remote, in configuration order.
    pub remotes: Vec<ReplicationRemote>,
}

/// One remote (the answer to `POST /v1/replication/{remote}/…` too).
pub type ReplicationRemote = crate::replicate::RemoteStatus;

/// `POST /v1/replication/{remote}/verify`: the snapshot every remote compares itself with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicationVerify {
    /// The remote asked about.
    pub remote: String,
    /// The snapshot taken.
    pub snapshot: String,
    /// Its journal LSN.
    pub lsn: u64,
}
