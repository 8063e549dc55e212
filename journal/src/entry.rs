//! The typed payloads of records, each one PackStream map.
//!
//! Field names are short and stable; unknown keys are ignored on decode so later format
//! versions can add fields. Statements stay the original PackStream bytes of each RUN
//! message body (query, parameters, extra), decoded with the connection's Bolt dialect
//! (`bolt`, `utc`) when they are replayed or shown.

use crate::record::Kind;
use boltward_protocol::packstream::{decode, encode};
use boltward_protocol::{Dialect, Map, PackError, Value, Version};
use thiserror::Error;

/// Why a payload is not the entry its kind says.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// The payload is not one PackStream value.
    #[error("payload is not PackStream: {0}")]
    Pack(#[from] PackError),
    /// The payload is not a map.
    #[error("payload is not a map")]
    NotAMap,
    /// A required field is missing or has the wrong type.
    #[error("field '{0}' is missing or has the wrong type")]
    Field(&'static str),
    /// A field has a value this version does not know.
    #[error("field '{field}' has an unknown value '{value}'")]
    Unknown {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

/// Who did it (never credentials).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The authenticated principal.
    pub principal: Option<String>,
    /// The auth scheme (`basic`, `bearer`, …).
    pub scheme: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    /// The client certificate's subject (mutual TLS).
    pub cert_subject: Option<String>,
    /// The driver's user agent.
    pub user_agent: Option<String>,
    /// The actor the client claimed in transaction metadata.
    pub claimed: Option<String>,
}

/// Auto-commit or explicit transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// One RUN that commits by itself.
    Auto,
    /// BEGIN … COMMIT.
    Explicit,
}

/// One statement of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The RUN message body exactly as the client sent it (tag 0x10 structure).
    pub run: Vec<u8>,
    /// The classifier's classes (`read`, `create`, `delete`, …).
    pub classes: Vec<String>,
    /// `allow` or `would-deny`.
    pub verdict: String,
    /// The policy rule that decided.
    pub rule: String,
}

/// A write about to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The connection's id (unique within one boltward process run).
    pub conn: u64,
    /// Who.
    pub actor: Actor,
    /// The target database (`None`: the server's default).
    pub db: Option<String>,
    /// The Bolt version of the connection (decodes `run` and `begin`).
    pub bolt: String,
    /// Whether the 4.x utc patch was on.
    pub utc: bool,
    /// Auto-commit or explicit.
    pub mode: TxMode,
    /// The BEGIN message body as sent (explicit transactions).
    pub begin: Option<Vec<u8>>,
    /// Every RUN of the transaction, in order.
    pub statements: Vec<Statement>,
    /// Node labels the statements name.
    pub labels: Vec<String>,
    /// Relationship types the statements name.
    pub types: Vec<String>,
}

/// How a write ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Result {
    /// The server committed it.
    Committed {
        /// The bookmark the server returned, if any.
        bookmark: Option<String>,
        /// The server's query type of the last statement (`w`, `rw`, `s` …).
        query_type: Option<String>,
        /// Update counters summed over the statements.
        stats: Map,
    },
    /// Rolled back (by boltward's guards or the client).
    RolledBack {
        /// Why.
        reason: String,
    },
    /// The server answered FAILURE.
    Failed {
        /// The Neo4j status code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The commit was sent but its answer never arrived (or could not be recorded).
    InDoubt {
        /// Why.
        reason: String,
    },
}

impl Result {
    /// `committed`, `rolled_back`, `failed` or `in_doubt`.
    pub fn name(&self) -> &'static str {
        match self {
            Result::Committed { .. } => "committed",
            Result::RolledBack { .. } => "rolled_back",
            Result::Failed { .. } => "failed",
            Result::InDoubt { .. } => "in_doubt",
        }
    }
}

/// How the write of intent `intent` ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The LSN of the intent.
    pub intent: u64,
    /// The result.
    pub result: Result,
}

/// A statement boltward refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The connection's id.
    pub conn: u64,
    /// Who.
    pub actor: Actor,
    /// The target database.
    pub db: Option<String>,
    /// The Bolt version of the connection.
    pub bolt: String,
    /// The refused RUN message body (empty when a COMMIT was refused).
    pub statement: Vec<u8>,
    /// The classifier's classes.
    pub classes: Vec<String>,
    /// Node labels the refused statement(s) name.
    pub labels: Vec<String>,
    /// Relationship types the refused statement(s) name.
    pub types: Vec<String>,
    /// The rule.
    pub rule: String,
    /// The reason given to the client.
    pub reason: String,
}

/// What recovery found at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// boltward's version.
    pub tool: String,
    /// Bytes of a torn tail that recovery cut.
    pub torn_bytes: u64,
    /// Intents that had no outcome (each also got an in-doubt outcome).
    pub in_doubt: Vec<u64>,
}

/// An operator event (promotion, restore …).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened (`promote`, `restore`, …).
    pub name: String,
    /// Details.
    pub details: Map,
}

/// A record's typed payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// See [`Intent`].
    Intent(Intent),
    /// See [`Outcome`].
    Outcome(Outcome),
    /// See [`Refusal`].
    Refusal(Refusal),
    /// See [`Checkpoint`].
    Checkpoint(Checkpoint),
    /// The first LSN of the next segment.
    Rollover {
        /// The next record's LSN.
        next_lsn: u64,
    },
    /// See [`Event`].
    Event(Event),
}

/// The dialect payloads are written in (they hold only basic values).
const PAYLOAD_DIALECT: Dialect = Dialect::new(Version::V5_4);

impl Entry {
    /// The record kind for this entry.
    pub fn kind(&self) -> Kind {
        match self {
            Entry::Intent(_) => Kind::Intent,
            Entry::Outcome(_) => Kind::Outcome,
            Entry::Refusal(_) => Kind::Refusal,
            Entry::Checkpoint(_) => Kind::Checkpoint,
            Entry::Rollover { .. } => Kind::Rollover,
            Entry::Event(_) => Kind::Event,
        }
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut m = Map::new();
        match self {
            Entry::Intent(i) => {
                m.insert("conn", i.conn as i64);
                put_actor(&mut m, &i.actor);
                put_opt(&mut m, "db", &i.db);
                m.insert("bolt", i.bolt.as_str());
                m.insert("utc", i.utc);
                let mode = match i.mode {
                    TxMode::Auto => "auto",
                    TxMode::Explicit => "explicit",
                };
                m.insert("mode", mode);
                if let Some(b) = &i.begin {
                    m.insert("begin", Value::Bytes(b.clone()));
                }
                let stmts = i
                    .statements
                    .iter()
                    .map(|s| {
                        let mut sm = Map::new();
                        sm.insert("run", Value::Bytes(s.run.clone()));
                        sm.insert("classes", strings(&s.classes));
                        sm.insert("verdict", s.verdict.as_str());
                        sm.insert("rule", s.rule.as_str());
                        Value::Map(sm)
                    })
                    .collect::<Vec<_>>();
                m.insert("statements", stmts);
                m.insert("labels", strings(&i.labels));
                m.insert("types", strings(&i.types));
            }
            Entry::Outcome(o) => {
                m.insert("intent", o.intent as i64);
                m.insert("result", o.result.name());
                match &o.result {
                    Result::Committed {
                        bookmark,
                        query_type,
                        stats,
                    } => {
                        put_opt(&mut m, "bookmark", bookmark);
                        put_opt(&mut m, "query_type", query_type);
                        m.insert("stats", stats.clone());
                    }
                    Result::RolledBack { reason } | Result::InDoubt { reason } => {
                        m.insert("reason", reason.as_str());
                    }
                    Result::Failed { code, message } => {
                        m.insert("code", code.as_str());
                        m.insert("message", message.as_str());
                    }
                }
            }
            Entry::Refusal(r) => {
                m.insert("conn", r.conn as i64);
                put_actor(&mut m, &r.actor);
                put_opt(&mut m, "db", &r.db);
                m.insert("bolt", r.bolt.as_str());
                m.insert("statement", Value::Bytes(r.statement.clone()));
                m.insert("classes", strings(&r.classes));
                m.insert("rule", r.rule.as_str());
                m.insert("reason", r.reason.as_str());
                m.insert("labels", strings(&r.labels));
                m.insert("types", strings(&r.types));
            }
            Entry::Checkpoint(c) => {
                m.insert("tool", c.tool.as_str());
                m.insert("torn_bytes", c.torn_bytes as i64);
                let ids = c
                    .in_doubt
                    .iter()
                    .map(|l| Value::Integer(*l as i64))
                    .collect::<Vec<_>>();
                m.insert("in_doubt", ids);
            }
            Entry::Rollover { next_lsn } => m.insert("next_lsn", *next_lsn as i64),
            Entry::Event(e) => {
                m.insert("name", e.name.as_str());
                m.insert("details", e.details.clone());
            }
        }
        // Basic values always encode; a failure would be a bug in this function.
        encode::to_vec(&Value::Map(m)).unwrap_or_default()
    }

    /// Decodes the payload of a record of `kind`.
    pub fn decode(kind: Kind, payload: &[u8]) -> std::result::Result<Entry, EntryError> {
        let Value::Map(m) = decode::decode(payload, PAYLOAD_DIALECT)? else {
            return Err(EntryError::NotAMap);
        };
        let f = Fields(&m);
        Ok(match kind {
            Kind::Intent => Entry::Intent(Intent {
                conn: f.u64("conn")?,
                actor: f.actor(),
                db: f.opt_str("db"),
                bolt: f.str("bolt")?,
                utc: f.0.get("utc").and_then(Value::as_bool).unwrap_or(false),
                mode: match f.str("mode")?.as_str() {
                    "auto" => TxMode::Auto,
                    "explicit" => TxMode::Explicit,
                    other => {
                        return Err(EntryError::Unknown {
                            field: "mode",
                            value: other.into(),
                        })
                    }
                },
                begin: f.opt_bytes("begin"),
                statements: f
                    .list("statements")?
                    .iter()
                    .map(|v| {
                        let sm = v.as_map().ok_or(EntryError::Field("statements"))?;
                        let s = Fields(sm);
                        Ok(Statement {
                            run: s.bytes("run")?,
                            classes: s.strings("classes")?,
                            verdict: s.str("verdict")?,
                            rule: s.str("rule")?,
                        })
                    })
                    .collect::<std::result::Result<_, EntryError>>()?,
                labels: f.strings("labels")?,
                types: f.strings("types")?,
            }),
            Kind::Outcome => Entry::Outcome(Outcome {
                intent: f.u64("intent")?,
                result: match f.str("result")?.as_str() {
                    "committed" => Result::Committed {
                        bookmark: f.opt_str("bookmark"),
                        query_type: f.opt_str("query_type"),
                        stats: f
                            .0
                            .get("stats")
                            .and_then(Value::as_map)
                            .cloned()
                            .unwrap_or_default(),
                    },
                    "rolled_back" => Result::RolledBack {
                        reason: f.str("reason")?,
                    },
                    "failed" => Result::Failed {
                        code: f.str("code")?,
                        message: f.str("message")?,
                    },
                    "in_doubt" => Result::InDoubt {
                        reason: f.str("reason")?,
                    },
                    other => {
                        return Err(EntryError::Unknown {
                            field: "result",
                            value: other.into(),
                        })
                    }
                },
            }),
            Kind::Refusal => Entry::Refusal(Refusal {
                conn: f.u64("conn")?,
                actor: f.actor(),
                db: f.opt_str("db"),
                bolt: f.str("bolt")?,
                statement: f.bytes("statement")?,
                classes: f.strings("classes")?,
                labels: f.strings("labels")?,
                types: f.strings("types")?,
                rule: f.str("rule")?,
                reason: f.str("reason")?,
            }),
            Kind::Checkpoint => Entry::Checkpoint(Checkpoint {
                tool: f.str("tool")?,
                torn_bytes: f.u64("torn_bytes")?,
                in_doubt: f
                    .list("in_doubt")?
                    .iter()
                    .map(|v| {
                        v.as_int()
                            .map(|i| i as u64)
                            .ok_or(EntryError::Field("in_doubt"))
                    })
                    .collect::<std::result::Result<_, _>>()?,
            }),
            Kind::Rollover => Entry::Rollover {
                next_lsn: f.u64("next_lsn")?,
            },
            Kind::Event => Entry::Event(Event {
                name: f.str("name")?,
                details: f
                    .0
                    .get("details")
                    .and_then(Value::as_map)
                    .cloned()
                    .unwrap_or_default(),
            }),
        })
    }
}

impl Intent {
    /// The dialect its statements were sent in.
    pub fn dialect(&self) -> Dialect {
        dialect_of(&self.bolt, self.utc)
    }
}

/// The dialect of a `major.minor` version string (5.4 when unparsable).
pub fn dialect_of(bolt: &str, utc: bool) -> Dialect {
    let v = bolt
        .split_once('.')
        .and_then(|(a, b)| Some(Version::new(a.parse().ok()?, b.parse().ok()?)))
        .unwrap_or(Version::V5_4);
    Dialect::new(v).with_utc_patch(utc)
}

fn strings(v: &[String]) -> Vec<Value> {
    v.iter().map(|s| Value::String(s.clone())).collect()
}

fn put_opt(m: &mut Map, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key, v.as_str());
    }
}

fn put_actor(m: &mut Map, a: &Actor) {
    put_opt(m, "principal", &a.principal);
    put_opt(m, "scheme", &a.scheme);
    put_opt(m, "address", &a.address);
    put_opt(m, "cert_subject", &a.cert_subject);
    put_opt(m, "user_agent", &a.user_agent);
    put_opt(m, "claimed", &a.claimed);
}

struct Fields<'a>(&'a Map);

impl Fields<'_> {
    fn str(&self, k: &'static str) -> std::result::Result<String, EntryError> {
        self.opt_str(k).ok_or(EntryError::Field(k))
    }

    fn opt_str(&self, k: &str) -> Option<String> {
        self.0.get(k).and_then(Value::as_str).map(str::to_owned)
    }

    fn u64(&self, k: &'static str) -> std::result::Result<u64, EntryError> {
        self.0
            .get(k)
            .and_then(Value::as_int)
            .filter(|i| *i >= 0)
            .map(|i| i as u64)
            .ok_or(EntryError::Field(k))
    }

    fn list(&self, k: &'static str) -> std::result::Result<&[Value], EntryError> {
        self.0
            .get(k)
            .and_then(Value::as_list)
            .ok_or(EntryError::Field(k))
    }

    fn strings(&self, k: &'static str) -> std::result::Result<Vec<String>, EntryError> {
        self.list(k)?
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(EntryError::Field(k)))
            .collect()
    }

    fn opt_bytes(&self, k: &str) -> Option<Vec<u8>> {
        match self.0.get(k) {
            Some(Value::Bytes(b)) => Some(b.clone()),
            _ => None,
        }
    }

    fn bytes(&self, k: &'static str) -> std::result::Result<Vec<u8>, EntryError> {
        self.opt_bytes(k).ok_or(EntryError::Field(k))
    }

    fn actor(&self) -> Actor {
        Actor {
            principal: self.opt_str("principal"),
            scheme: self.opt_str("scheme"),
            address: self.opt_str("address"),
            cert_subject: self.opt_str("cert_subject"),
            user_agent: self.opt_str("user_agent"),
            claimed: self.opt_str("claimed"),
        }
    }
}
