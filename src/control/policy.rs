//! The policy in force: `/v1/policy`, `/v1/policy/reload` and `/v1/policy/check`.
//!
//! A reload goes through [`crate::policy::reload`], the same path as SIGHUP.

use super::api::{CheckRequest, CheckResponse, PolicyReload, PolicySummary};
use super::{ApiError, Shared};
use crate::cypher::classify_limited;
use crate::policy::{decide, Actor, Policy};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

pub(super) async fn summary(State(s): State<Shared>) -> Json<PolicySummary> {
    Json(PolicySummary::of(&s.policy.get()))
}

pub(super) async fn reload(State(s): State<Shared>) -> Result<Json<PolicyReload>, ApiError> {
    match crate::policy::reload(
        &s.policy,
        s.config_path.as_deref(),
        &s.metrics.proxy,
        "control port",
    ) {
        Ok(p) => Ok(Json(PolicyReload {
            policy: PolicySummary::of(&p),
            reloaded: true,
        })),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            format!("{e}; the previous policy stays in force"),
        )),
    }
}

/// Classifies `req.query` and decides it under `policy`, as the proxy would
/// (`max_statement_bytes`: the proxy's `limits.max_statement_bytes`). Serves
/// `POST /v1/policy/check` and `boltward policy check`.
pub fn check(policy: &Policy, req: &CheckRequest, max_statement_bytes: usize) -> CheckResponse {
    let actor = Actor {
        principal: req.actor.clone(),
        scheme: req.scheme.clone().or(Some("basic".into())),
        address: req.address,
        cert_subject: req.cert_subject.clone(),
        user_agent: req.user_agent.clone(),
        claimed: req.claimed.clone(),
    };
    let c = classify_limited(&req.query, max_statement_bytes);
    let v = decide(policy, &actor, &c, req.database.as_deref());
    CheckResponse::new(c, v)
}

pub(super) async fn check_handler(
    State(s): State<Shared>,
    Json(req): Json<CheckRequest>,
) -> Json<CheckResponse> {
    Json(check(
        &s.policy.get(),
        &req,
        s.config.limits.max_statement_bytes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed answer has the bytes of the `json!` value it replaced.
    #[test]
    fn check_answer_keeps_its_bytes() {
        let policy = Policy::default();
        let req = CheckRequest {
            query: "MATCH (n:Person) DETACH DELETE n".into(),
            actor: Some("alice".into()),
            ..Default::default()
        };
        let typed = check(&policy, &req, 1 << 20);
        let actor = Actor {
            principal: Some("alice".into()),
            scheme: Some("basic".into()),
            ..Default::default()
        };
        let c = classify_limited(&req.query, 1 << 20);
        let v = decide(&policy, &actor, &c, None);
        let old = json!({
            "classes": c.classes,
            "verdict": v.verdict,
            "rule": v.rule,
            "reason": v.reason,
            "would_deny": v.would_deny,
            "labels": c.labels,
            "unbounded_delete": c.unbounded_delete,
            "schema_drop": c.schema_drop,
            "verify_with_explain": c.verify,
            "unparsed": c.unparsed,
            "note": c.note,
        });
        assert_eq!(serde_json::to_string(&typed).unwrap(), old.to_string());
        let back: CheckResponse = serde_json::from_value(old).unwrap();
        assert_eq!(back, typed);
    }
}
