//! The policy as written in TOML, validated into a ready-to-use [`Policy`].

use super::matcher::Cidr;
use crate::cypher::Class;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// The policy could not be loaded.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML or schema error.
    #[error("invalid policy: {0}")]
    Parse(String),
    /// A value that cannot work.
    #[error("policy {at}: {reason}")]
    Invalid {
        /// Where (rule name and key).
        at: String,
        /// What is wrong.
        reason: String,
    },
}

/// Enforce refusals, or only record them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny means the statement is refused.
    #[default]
    Enforce,
    /// Deny is recorded as "would deny" and the statement runs.
    Audit,
}

impl Mode {
    /// `enforce` or `audit`, as configured and as the control port shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        }
    }
}

/// Allow or deny, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultVerdict {
    /// Allow what no rule covers (guards still apply).
    Allow,
    /// Deny what no rule covers.
    #[default]
    Deny,
}

/// Who a rule is for; every listed field must match (an empty list matches anyone).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorMatch {
    /// Globs on the authenticated principal.
    pub principals: Vec<String>,
    /// Globs on the driver's user agent.
    pub user_agents: Vec<String>,
    /// CIDR blocks of the client address.
    pub addresses: Vec<String>,
    /// Globs on the TLS client certificate subject.
    pub cert_subjects: Vec<String>,
    /// Globs on the actor claimed in tx_metadata (honoured from trusted gateways only).
    pub claimed: Vec<String>,
    /// Globs on the auth scheme (basic, bearer, …).
    pub schemes: Vec<String>,
}

/// A sliding-window delete limit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRate {
    /// Nodes + relationships deleted allowed per window.
    pub max: u64,
    /// Window length in seconds.
    pub window_secs: u64,
}

/// One rule as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name shown in refusals and audit records.
    pub name: String,
    /// Who the rule is for.
    #[serde(default)]
    pub actors: ActorMatch,
    /// Databases the rule covers (globs; empty = all).
    #[serde(default)]
    pub databases: Vec<String>,
    /// Classes allowed.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Classes denied outright.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Labels and relationship types that mutating statements may name (empty = any).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Allow DELETE over an unfiltered MATCH.
    #[serde(default)]
    pub allow_unbounded_delete: bool,
    /// Allow DROP INDEX / DROP CONSTRAINT.
    #[serde(default)]
    pub allow_schema_drop: bool,
    /// Nodes + relationships one explicit transaction may delete.
    pub max_deletes_per_tx: Option<u64>,
    /// Per-actor delete-rate circuit breaker.
    pub delete_rate: Option<DeleteRate>,
}

/// `[policy]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySpec {
    /// enforce | audit.
    pub mode: Mode,
    /// allow | deny when no rule matches.
    pub default: DefaultVerdict,
    /// Principals whose tx_metadata may name the real actor.
    pub trusted_gateways: Vec<String>,
    /// The tx_metadata key holding the claimed actor.
    pub claimed_actor_key: Option<String>,
    /// Guards for the default verdict.
    pub allow_unbounded_delete: bool,
    /// Guards for the default verdict.
    pub allow_schema_drop: bool,
    /// Rules, in order.
    pub rules: Vec<RuleSpec>,
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Actor globs and CIDRs.
    pub actors: ActorMatch,
    pub(crate) addresses: Vec<Cidr>,
    /// Database globs.
    pub databases: Vec<String>,
    /// Allowed classes.
    pub allow: BTreeSet<Class>,
    /// Denied classes.
    pub deny: BTreeSet<Class>,
    /// Label scope for mutations.
    pub labels: BTreeSet<String>,
    /// Guard switch.
    pub allow_unbounded_delete: bool,
    /// Guard switch.
    pub allow_schema_drop: bool,
    /// Per-transaction deletion budget.
    pub max_deletes_per_tx: Option<u64>,
    /// Delete-rate breaker: (max, window).
    pub delete_rate: Option<(u64, Duration)>,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// enforce | audit.
    pub mode: Mode,
    /// Default verdict.
    pub default_allow: bool,
    /// Trusted gateway principals (globs).
    pub trusted_gateways: Vec<String>,
    /// tx_metadata key of the claimed actor.
    pub claimed_actor_key: String,
    /// Default guards.
    pub allow_unbounded_delete: bool,
    /// Default guards.
    pub allow_schema_drop: bool,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

impl Default for Policy {
    /// The policy of a boltward without one: allow everything except the guards.
    fn default() -> Self {
        Policy {
            mode: Mode::Enforce,
            default_allow: true,
            trusted_gateways: Vec::new(),
            claimed_actor_key: "actor".into(),
            allow_unbounded_delete: false,
            allow_schema_drop: false,
            rules: Vec::new(),
        }
    }
}

fn classes(rule: &str, key: &str, names: &[String]) -> Result<BTreeSet<Class>, PolicyError> {
    names
        .iter()
        .map(|n| {
            Class::parse(n).ok_or_else(|| PolicyError::Invalid {
                at: format!("rule {rule:?} {key}"),
                reason: format!(
                    "unknown class {n:?}; classes are read, write, schema, admin, procedure, external, db-switch, dynamic"
                ),
            })
        })
        .collect()
}

impl PolicySpec {
    /// Validates into a [`Policy`].
    pub fn build(self) -> Result<Policy, PolicyError> {
        let mut names = BTreeSet::new();
        let rules = self
            .rules
            .into_iter()
            .map(|r| {
                if r.name.trim().is_empty() {
                    return Err(PolicyError::Invalid {
                        at: "rules".into(),
                        reason: "every rule needs a name".into(),
                    });
                }
                if !names.insert(r.name.clone()) {
                    return Err(PolicyError::Invalid {
                        at: format!("rule {:?}", r.name),
                        reason: "rule names must be unique".into(),
                    });
                }
                let addresses = r
                    .actors
                    .addresses
                    .iter()
                    .map(|a| {
                        Cidr::parse(a).ok_or_else(|| PolicyError::Invalid {
                            at: format!("rule {:?} actors.addresses", r.name),
                            reason: format!("{a:?} is not an address or CIDR block"),
                        })
                    })
                    .collect::<Result<_, _>>()?;
                let delete_rate = match r.delete_rate {
                    Some(d) if d.window_secs == 0 => {
                        return Err(PolicyError::Invalid {
                            at: format!("rule {:?} delete_rate.window_secs", r.name),
                            reason: "must be at least 1".into(),
                        })
                    }
                    Some(d) => Some((d.max, Duration::from_secs(d.window_secs))),
                    None => None,
                };
                Ok(Rule {
                    allow: classes(&r.name, "allow", &r.allow)?,
                    deny: classes(&r.name, "deny", &r.deny)?,
                    labels: r.labels.into_iter().collect(),
                    name: r.name,
                    actors: r.actors,
                    addresses,
                    databases: r.databases,
                    allow_unbounded_delete: r.allow_unbounded_delete,
                    allow_schema_drop: r.allow_schema_drop,
                    max_deletes_per_tx: r.max_deletes_per_tx,
                    delete_rate,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            mode: self.mode,
            default_allow: self.default == DefaultVerdict::Allow,
            trusted_gateways: self.trusted_gateways,
            claimed_actor_key: self.claimed_actor_key.unwrap_or_else(|| "actor".into()),
            allow_unbounded_delete: self.allow_unbounded_delete,
            allow_schema_drop: self.allow_schema_drop,
            rules,
        })
    }
}

impl Policy {
    /// Parses a policy from TOML text: either a `[policy]` table (as in boltward.toml) or
    /// the policy keys at the top level.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        #[derive(Deserialize)]
        struct Wrapped {
            policy: PolicySpec,
        }
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| PolicyError::Parse(e.to_string()))?;
        // Parse from the text (not the table) so errors point at the line.
        let spec = if table.contains_key("policy") {
            toml::from_str::<Wrapped>(text).map(|w| w.policy)
        } else {
            toml::from_str::<PolicySpec>(text)
        }
        .map_err(|e| PolicyError::Parse(e.to_string()))?;
        spec.build()
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }
}
