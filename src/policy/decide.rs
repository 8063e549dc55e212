//! The decision itself.

use super::matcher::glob;
use super::model::{Mode, Policy, Rule};
use crate::cypher::Classification;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Who sent a statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// Authenticated principal (HELLO ≤ 5.0 or LOGON).
    pub principal: Option<String>,
    /// Auth scheme.
    pub scheme: Option<String>,
    /// Client address.
    pub address: Option<IpAddr>,
    /// TLS client certificate subject (mutual TLS).
    pub cert_subject: Option<String>,
    /// Driver user agent.
    pub user_agent: Option<String>,
    /// Actor named in tx_metadata (trusted only from trusted gateways).
    pub claimed: Option<String>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Runs.
    Allow,
    /// Refused.
    Deny,
}

impl Decision {
    /// `allow` or `deny`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// The outcome for one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// What happens (in audit mode a deny is an allow with `would_deny`).
    pub verdict: Decision,
    /// The policy said deny but runs in audit mode.
    pub would_deny: bool,
    /// The deciding rule (`default` when none matched; `guard:…` for guards).
    pub rule: String,
    /// Why, in words an operator can act on.
    pub reason: String,
    /// Deletion budget of the deciding rule.
    #[serde(skip)]
    pub max_deletes_per_tx: Option<u64>,
    /// Delete-rate breaker of the deciding rule.
    #[serde(skip)]
    pub delete_rate: Option<(u64, Duration)>,
}

impl Verdict {
    /// A refusal that no policy or mode overrides: a resource limit of boltward's own.
    pub fn limit(rule: &str, reason: String) -> Verdict {
        Verdict {
            verdict: Decision::Deny,
            would_deny: false,
            rule: rule.into(),
            reason,
            max_deletes_per_tx: None,
            delete_rate: None,
        }
    }

    /// Whether the statement is refused.
    pub fn denied(&self) -> bool {
        self.verdict == Decision::Deny
    }

    /// What happened, as recorded in the journal and metrics.
    pub fn outcome(&self) -> Outcome {
        if self.denied() {
            Outcome::Deny
        } else if self.would_deny {
            Outcome::WouldDeny
        } else {
            Outcome::Allow
        }
    }
}

/// What became of a statement: the verdict as the journal and the metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran.
    Allow,
    /// Ran in audit mode; enforce mode would have refused it.
    WouldDeny,
    /// Refused.
    Deny,
}

impl Outcome {
    /// `allow`, `would-deny` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::WouldDeny => "would-deny",
            Outcome::Deny => "deny",
        }
    }
}

fn any_glob(patterns: &[String], value: Option<&str>) -> bool {
    patterns.is_empty() || value.is_some_and(|v| patterns.iter().any(|p| glob(p, v)))
}

impl Actor {
    /// The claimed actor, if the principal is a trusted gateway.
    pub fn trusted_claim<'a>(&'a self, policy: &Policy) -> Option<&'a str> {
        let gateway = self
            .principal
            .as_deref()
            .is_some_and(|p| policy.trusted_gateways.iter().any(|g| glob(g, p)));
        if gateway {
            self.claimed.as_deref()
        } else {
            None
        }
    }
}

fn applies(rule: &Rule, policy: &Policy, actor: &Actor, database: Option<&str>) -> bool {
    let a = &rule.actors;
    any_glob(&a.principals, actor.principal.as_deref())
        && any_glob(&a.schemes, actor.scheme.as_deref())
        && any_glob(&a.user_agents, actor.user_agent.as_deref())
        && any_glob(&a.cert_subjects, actor.cert_subject.as_deref())
        && any_glob(&a.claimed, actor.trusted_claim(policy))
        && (rule.addresses.is_empty()
            || actor
                .address
                .is_some_and(|ip| rule.addresses.iter().any(|c| c.contains(ip))))
        && any_glob(&rule.databases, database)
}

/// Decides one statement.
pub fn decide(
    policy: &Policy,
    actor: &Actor,
    c: &Classification,
    database: Option<&str>,
) -> Verdict {
    if c.too_large.is_some() {
        return Verdict::limit(
            "limit:max-statement-bytes",
            c.note.clone().unwrap_or_default(),
        );
    }
    let (deny, rule, reason, budget, rate) = match policy
        .rules
        .iter()
        .find(|r| applies(r, policy, actor, database))
    {
        Some(r) => {
            let outcome = rule_outcome(r, c);
            let (deny, rule, reason) = match outcome {
                Some((rule, reason)) => (true, rule, reason),
                None => (false, r.name.clone(), "allowed".to_owned()),
            };
            (deny, rule, reason, r.max_deletes_per_tx, r.delete_rate)
        }
        None => match super::guards::statement(
            c,
            policy.allow_unbounded_delete,
            policy.allow_schema_drop,
        ) {
            Some((g, why)) => (true, g.to_owned(), why, None, None),
            None if policy.default_allow => (
                false,
                "default".into(),
                "no rule matched; default allow".into(),
                None,
                None,
            ),
            None => (
                true,
                "default".into(),
                "no rule matched; default deny".into(),
                None,
                None,
            ),
        },
    };
    let audit = policy.mode == Mode::Audit;
    Verdict {
        verdict: if deny && !audit {
            Decision::Deny
        } else {
            Decision::Allow
        },
        would_deny: deny && audit,
        rule,
        reason,
        max_deletes_per_tx: budget,
        delete_rate: rate,
    }
}

/// `Some((rule, reason))` if the rule denies the statement.
/// Why the classifier chose its classes, when that is not plain from the statement.
fn because(c: &Classification) -> String {
    match &c.note {
        Some(note) if c.unparsed || c.has(crate::cypher::Class::Dynamic) => format!(" ({note})"),
        _ => String::new(),
    }
}

fn rule_outcome(r: &Rule, c: &Classification) -> Option<(String, String)> {
    if let Some(class) = c.classes.iter().find(|cl| r.deny.contains(cl)) {
        return Some((
            r.name.clone(),
            format!("{class} statements are denied{}", because(c)),
        ));
    }
    if let Some(class) = c.classes.iter().find(|cl| !r.allow.contains(cl)) {
        return Some((
            r.name.clone(),
            format!("{class} statements are not allowed{}", because(c)),
        ));
    }
    if !r.labels.is_empty() && c.classes.iter().any(|cl| cl.mutates()) {
        if !c.labels_complete {
            return Some((
                r.name.clone(),
                "labels or types computed at run time cannot be checked against the rule's label scope".into(),
            ));
        }
        if let Some(l) = c.labels.iter().find(|l| !r.labels.contains(*l)) {
            return Some((
                r.name.clone(),
                format!("label or type {l:?} is outside the rule's scope"),
            ));
        }
    }
    if let Some((g, why)) =
        super::guards::statement(c, r.allow_unbounded_delete, r.allow_schema_drop)
    {
        return Some((g.to_owned(), why));
    }
    None
}
