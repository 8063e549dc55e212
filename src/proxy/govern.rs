//! Governance inside a session: who is asking, what each statement does, what the policy
//! says, and the guards that need the server's own counters.
//!
//! Refusals follow shared/BOLT.md §5.3: the refused request is not forwarded, its answer
//! is a FAILURE (`Neo.ClientError.Security.Forbidden`, naming the rule), every later
//! request but RESET/GOODBYE is answered IGNORED without being forwarded, and RESET is
//! forwarded so the server rolls back whatever was open.

use crate::cypher::{classify, Classification};
use crate::policy::{decide, Actor, Policy, Verdict};
use boltward_protocol::message::{Extra, Failure, Response, Stats};
use boltward_protocol::{Request, Version};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// What the session does with a request.
pub(crate) enum Action {
    /// Forward it.
    Forward,
    /// Answer with these bytes instead (FAILURE or IGNORED); do not forward.
    Answer {
        /// The answer.
        wire: Bytes,
        /// It is a FAILURE (becomes IGNORED if the upstream failed first).
        failure: bool,
    },
    /// Forward a ROLLBACK instead of the client's COMMIT and answer its SUCCESS with
    /// this FAILURE.
    RollbackInstead(Bytes),
}

/// What boltward predicted about a statement, checked against the server's summary.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) predicted_read: bool,
    pub(crate) in_tx: bool,
    /// The journal intent of an auto-commit write (its outcome follows the summary).
    pub(crate) intent: Option<u64>,
    /// What the journal needs if this statement turns out to write (auto-commit reads
    /// the server reports as writes are journaled after the fact).
    pub(crate) audit: Option<std::sync::Arc<super::audit::StmtInfo>>,
    /// For a statement predicted to read: what the policy is asked again if the server
    /// reports that it wrote.
    pub(crate) predicted: Option<std::sync::Arc<Predicted>>,
}

/// The policy inputs of a statement predicted to read.
#[derive(Debug)]
pub(crate) struct Predicted {
    pub(crate) actor: Actor,
    pub(crate) classification: Classification,
    pub(crate) db: Option<String>,
}

/// The predicted-read guard for `p` (see [`crate::policy::guards::predicted_read_wrote`]).
pub(crate) fn predicted_read_wrote(policy: &Policy, p: &Predicted) -> Verdict {
    crate::policy::guards::predicted_read_wrote(
        policy,
        &p.actor,
        &p.classification,
        p.db.as_deref(),
    )
}

#[derive(Debug, Default)]
struct Tx {
    db: Option<String>,
    claimed: Option<String>,
    deletes: i64,
    budget: Option<u64>,
    /// Why this transaction must not commit.
    poisoned: Option<(String, String)>,
}

/// Per-actor sliding windows of deletions (the delete-rate circuit breaker).
#[derive(Debug, Default)]
pub(crate) struct DeleteRates {
    windows: Mutex<HashMap<String, VecDeque<(Instant, u64)>>>,
}

impl DeleteRates {
    fn key(actor: &Actor) -> String {
        actor.principal.clone().unwrap_or_default()
    }

    fn record(&self, actor: &Actor, n: u64, window: Duration) {
        if n == 0 {
            return;
        }
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let q = w.entry(Self::key(actor)).or_default();
        q.push_back((Instant::now(), n));
        while q.front().is_some_and(|(t, _)| t.elapsed() > window) {
            q.pop_front();
        }
    }

    fn used(&self, actor: &Actor, window: Duration) -> u64 {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = w.get_mut(&Self::key(actor)) else {
            return 0;
        };
        while q.front().is_some_and(|(t, _)| t.elapsed() > window) {
            q.pop_front();
        }
        q.iter().map(|(_, n)| n).sum()
    }
}

/// One session's governance state.
#[derive(Debug)]
pub(crate) struct Governor {
    pub(crate) actor: Actor,
    version: Version,
    /// A refusal happened; everything but RESET/GOODBYE is IGNORED until RESET.
    failed: bool,
    tx: Option<Tx>,
    /// The most recent RUN, which PULL/DISCARD with qid -1 refer to.
    last: Option<Statement>,
    /// Delete-rate window of the rule that allowed the last deleting statement.
    rate: Option<(u64, Duration)>,
    /// Whether the session journals (only then is [`Decision::decided`] filled).
    journaling: bool,
    /// What happens to writes whose replay on a mirror can differ.
    unsafe_replay: crate::config::UnsafeReplay,
}

/// What governance decided about one request, by value.
pub(crate) struct Decision {
    /// What the session does with the request.
    pub(crate) action: Action,
    /// The statement a RUN, PULL or DISCARD belongs to (checked against the summary).
    pub(crate) statement: Option<Statement>,
    /// What was decided about a RUN, for the journal (when journaling).
    pub(crate) decided: Option<super::audit::StmtInfo>,
    /// The rule and reason of a COMMIT turned into ROLLBACK.
    pub(crate) rolled_back: Option<(String, String)>,
}

impl Decision {
    fn of(action: Action) -> Self {
        Decision {
            action,
            statement: None,
            decided: None,
            rolled_back: None,
        }
    }
}

/// The wire bytes of a response boltward builds itself (these always encode).
/// An answer on the wire. Every request gets exactly one answer, so an answer that cannot
/// be encoded (a value beyond PackStream's limits) is replaced by a FAILURE that always
/// can be, instead of by nothing.
pub(crate) fn wire(r: &Response) -> Bytes {
    r.to_wire().unwrap_or_else(|e| {
        warn!(error = %e, "an answer could not be encoded; a FAILURE takes its place");
        Bytes::from_static(UNENCODABLE)
    })
}

/// `FAILURE {code: "Neo.DatabaseError.General.UnknownError", message: "boltward could not
/// encode this answer"}`, chunked (written out so that it needs no encoder).
const UNENCODABLE: &[u8] = b"\x00\x5F\xB1\x7F\xA2\x84code\xD0\x26Neo.DatabaseError.General.UnknownError\x87message\xD0\x25boltward could not encode this answer\x00\x00";

impl Governor {
    /// `journaling`: keep what was decided about each RUN for the journal.
    pub(crate) fn new(version: Version, actor: Actor, journaling: bool) -> Self {
        Governor {
            actor,
            version,
            journaling,
            unsafe_replay: crate::config::UnsafeReplay::Allow,
            failed: false,
            tx: None,
            last: None,
            rate: None,
        }
    }

    /// What happens to writes whose replay on a mirror can differ (`allow` without mirrors).
    pub(crate) fn set_unsafe_replay(&mut self, mode: crate::config::UnsafeReplay) {
        self.unsafe_replay = mode;
    }

    fn refuse(&mut self, verdict: &Verdict) -> Action {
        self.failed = true;
        let msg = format!(
            "boltward: refused by policy rule '{}': {}",
            verdict.rule, verdict.reason
        );
        Action::Answer {
            wire: wire(&Response::Failure(Failure::forbidden(self.version, &msg))),
            failure: true,
        }
    }

    fn claimed(&self, extra: &impl Extra, policy: &Policy) -> Option<String> {
        extra
            .tx_metadata()
            .and_then(|m| m.get(&policy.claimed_actor_key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    /// Decides what to do with `request`; `Some(statement)` for statements to follow.
    /// Whether an explicit transaction is open.
    pub(crate) fn in_tx(&self) -> bool {
        self.tx.is_some()
    }

    /// Answers a request with a transient FAILURE (drivers retry) and ignores what follows
    /// until RESET, like a refusal.
    pub(crate) fn transient(&mut self, message: &str) -> Bytes {
        self.failed = true;
        let f = Failure::transient(
            self.version,
            "Neo.TransientError.General.DatabaseUnavailable",
            message,
        );
        wire(&Response::Failure(f))
    }

    /// Answers with a `Security.Forbidden` FAILURE carrying `message` and ignores what
    /// follows until RESET.
    pub(crate) fn forbidden(&mut self, message: &str) -> Bytes {
        self.failed = true;
        wire(&Response::Failure(Failure::forbidden(
            self.version,
            message,
        )))
    }

    /// Answers a request the protocol does not allow here with `Request.Invalid` and
    /// ignores what follows until RESET, as a server does.
    pub(crate) fn invalid(&mut self, message: &str) -> Bytes {
        self.failed = true;
        wire(&Response::Failure(Failure::invalid_request(
            self.version,
            message,
        )))
    }

    /// Whether a refusal is pending RESET.
    pub(crate) fn is_failed(&self) -> bool {
        self.failed
    }

    /// The statement PULL and DISCARD follow.
    pub(crate) fn last_statement(&self) -> Option<Statement> {
        self.last.clone()
    }

    /// Sets the journal intent of the last auto-commit RUN (PULL/DISCARD follow it).
    pub(crate) fn set_last_intent(&mut self, lsn: u64) {
        if let Some(last) = &mut self.last {
            last.intent = Some(lsn);
        }
    }

    /// The database a RUN targets (its own `db`, or its transaction's).
    pub(crate) fn target_db(&self, run: &boltward_protocol::message::Run) -> Option<String> {
        match &self.tx {
            Some(tx) => tx.db.clone(),
            None => run.db().map(str::to_owned),
        }
    }

    /// Decides what to do with `request`; `classified` is the RUN's classification when the
    /// caller already made it (after EXPLAIN verification). Returns the statement to
    /// follow, if any.
    pub(crate) fn on_request(
        &mut self,
        request: &Request,
        policy: &Policy,
        rates: &DeleteRates,
        classified: Option<Classification>,
        metrics: &crate::metrics::ProxyMetrics,
    ) -> Decision {
        if self.failed {
            return match request {
                Request::Reset => {
                    self.failed = false;
                    self.tx = None;
                    Decision::of(Action::Forward)
                }
                Request::Goodbye => Decision::of(Action::Forward),
                _ => Decision::of(Action::Answer {
                    wire: wire(&Response::Ignored),
                    failure: false,
                }),
            };
        }
        match request {
            Request::Hello(h) => {
                self.actor.user_agent = h.user_agent().map(str::to_owned);
                if let Some(a) = h.auth() {
                    self.actor.principal = a.principal().map(str::to_owned);
                    self.actor.scheme = a.scheme().map(str::to_owned);
                }
                Decision::of(Action::Forward)
            }
            Request::Logon(l) => {
                self.actor.principal = l.auth().principal().map(str::to_owned);
                self.actor.scheme = l.auth().scheme().map(str::to_owned);
                Decision::of(Action::Forward)
            }
            Request::Reset | Request::Rollback => {
                self.tx = None;
                Decision::of(Action::Forward)
            }
            Request::Begin(b) => {
                self.tx = Some(Tx {
                    db: b.db().map(str::to_owned),
                    claimed: self.claimed(b, policy),
                    ..Tx::default()
                });
                Decision::of(Action::Forward)
            }
            Request::Commit => match self.tx.take() {
                Some(Tx {
                    poisoned: Some((rule, why)),
                    ..
                }) => {
                    self.failed = true;
                    warn!(rule = %rule, reason = %why, "COMMIT turned into ROLLBACK");
                    metrics
                        .commits_rolled_back
                        .with_label_values(&[rule.as_str()])
                        .inc();
                    let msg =
                        format!("boltward: transaction rolled back by policy rule '{rule}': {why}");
                    let failure = Failure::forbidden(self.version, &msg);
                    Decision {
                        rolled_back: Some((rule, why)),
                        ..Decision::of(Action::RollbackInstead(wire(&Response::Failure(failure))))
                    }
                }
                _ => Decision::of(Action::Forward),
            },
            Request::Pull(_) | Request::Discard(_) => Decision {
                statement: self.last.clone(),
                ..Decision::of(Action::Forward)
            },
            Request::Run(run) => {
                let in_tx = self.tx.is_some();
                let mut actor = self.actor.clone();
                actor.claimed = match &self.tx {
                    Some(tx) => tx.claimed.clone(),
                    None => self.claimed(run, policy),
                };
                let db = self.target_db(run);
                let c = classified.unwrap_or_else(|| classify(&run.query));
                if c.unparsed {
                    metrics.statements_unparsed.inc();
                    warn!(
                        reason = c.note.as_deref().unwrap_or(""),
                        "statement not understood; classed as a write"
                    );
                }
                let mut verdict = decide(policy, &actor, &c, db.as_deref());
                crate::policy::guards::apply_delete_rate(&mut verdict, c.deletes, |window| {
                    rates.used(&actor, window)
                });
                for hazard in
                    crate::policy::guards::replay_unsafe(&mut verdict, &c, self.unsafe_replay)
                {
                    metrics.replay_unsafe.with_label_values(&[hazard]).inc();
                    if !verdict.denied() {
                        warn!(hazard, "a write whose replay on a mirror can differ (replication.unsafe = \"warn\"); pass such values as parameters");
                    }
                }
                log_verdict(&actor, &c, &verdict, &run.query);
                let decided = self.journaling.then(|| {
                    super::audit::StmtInfo::new(
                        &c,
                        &verdict,
                        db.clone(),
                        actor.claimed.clone(),
                        &run.query,
                    )
                });
                let outcome = verdict.outcome().as_str();
                for class in &c.classes {
                    metrics
                        .statements
                        .with_label_values(&[class.as_str(), outcome])
                        .inc();
                }
                if verdict.denied() || verdict.would_deny {
                    metrics
                        .refusals
                        .with_label_values(&[verdict.rule.as_str()])
                        .inc();
                }
                if verdict.denied() {
                    return Decision {
                        decided,
                        ..Decision::of(self.refuse(&verdict))
                    };
                }
                if let Some(tx) = &mut self.tx {
                    tx.budget = tx.budget.or(verdict.max_deletes_per_tx);
                }
                self.rate = verdict.delete_rate.or(self.rate);
                let predicted_read = c.is_read();
                let stmt = Statement {
                    predicted_read,
                    in_tx,
                    intent: None,
                    audit: None,
                    predicted: predicted_read.then(|| {
                        std::sync::Arc::new(Predicted {
                            actor,
                            classification: c,
                            db,
                        })
                    }),
                };
                self.last = Some(stmt.clone());
                Decision {
                    statement: Some(stmt),
                    decided,
                    ..Decision::of(Action::Forward)
                }
            }
            _ => Decision::of(Action::Forward),
        }
    }

    /// Checks a final PULL/DISCARD summary against the prediction and the budgets.
    pub(crate) fn on_outcome(
        &mut self,
        stmt: &Statement,
        wrote: bool,
        stats: Option<Stats>,
        rates: &DeleteRates,
        policy: &Policy,
        metrics: &crate::metrics::ProxyMetrics,
    ) {
        tracing::debug!(
            predicted_read = stmt.predicted_read,
            in_tx = stmt.in_tx,
            wrote,
            tx = self.tx.is_some(),
            "statement outcome"
        );
        let deletes = stats.map(|s| s.deletions()).unwrap_or(0);
        if let Some((_, window)) = self.rate {
            rates.record(&self.actor, deletes.max(0) as u64, window);
        }
        if let Some(p) = stmt.predicted.as_ref().filter(|_| wrote) {
            let v = predicted_read_wrote(policy, p);
            let principal = self.actor.principal.as_deref().unwrap_or("");
            if v.denied() || v.would_deny {
                metrics
                    .refusals
                    .with_label_values(&["guard:predicted-read"])
                    .inc();
            }
            if v.denied() {
                warn!(principal, rule = %v.rule, reason = %v.reason, in_tx = stmt.in_tx, "guard:predicted-read: a statement classified read was reported as a write by the server, and the policy forbids that write");
                if let Some(tx) = self.tx.as_mut().filter(|_| stmt.in_tx) {
                    tx.poisoned.get_or_insert((
                        "guard:predicted-read".into(),
                        format!(
                            "a statement classified as read changed data, and rule '{}' forbids that write: {}",
                            v.rule, v.reason
                        ),
                    ));
                }
            } else if v.would_deny {
                warn!(principal, rule = %v.rule, reason = %v.reason, "guard:predicted-read: a statement classified read was reported as a write by the server; the policy would deny that write (audit mode: committed)");
            } else {
                warn!(principal, rule = %v.rule, "guard:predicted-read: a statement classified read was reported as a write by the server; the policy allows that write");
            }
        }
        if let Some(tx) = self.tx.as_mut().filter(|_| stmt.in_tx) {
            tx.deletes += deletes;
            if let Some((rule, why)) = crate::policy::guards::deletion_budget(tx.deletes, tx.budget)
            {
                tx.poisoned.get_or_insert((rule.into(), why));
            }
        }
    }

    /// A FAILURE from the server ends the transaction as far as commits go.
    pub(crate) fn on_upstream_failure(&mut self) {
        if let Some(tx) = &mut self.tx {
            tx.poisoned
                .get_or_insert(("server".into(), "a statement failed".into()));
        }
    }
}

fn log_verdict(actor: &Actor, c: &Classification, v: &Verdict, query: &str) {
    if !v.denied() && !v.would_deny {
        return;
    }
    let classes: Vec<&str> = c.classes.iter().map(|c| c.as_str()).collect();
    let short: String = if super::audit::carries_password(c, query) {
        super::audit::REDACTED_QUERY.into()
    } else {
        query.chars().take(120).collect()
    };
    if v.denied() {
        info!(principal = actor.principal.as_deref().unwrap_or(""), rule = %v.rule, reason = %v.reason, classes = ?classes, query = %short, "statement refused");
    } else if v.would_deny {
        info!(principal = actor.principal.as_deref().unwrap_or(""), rule = %v.rule, reason = %v.reason, classes = ?classes, query = %short, "audit: statement would be refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boltward_protocol::message::{Begin, Run};

    const WRITERS_AND_READERS: &str = r#"
[policy]
mode = "MODE"
default = "deny"
[[policy.rules]]
name = "writers"
actors = { principals = ["writer"] }
allow = ["read", "write"]
[[policy.rules]]
name = "readers"
actors = { principals = ["reader"] }
allow = ["read"]
"#;

    fn policy(mode: &str) -> Policy {
        Policy::from_toml(&WRITERS_AND_READERS.replace("MODE", mode)).unwrap()
    }

    fn actor(principal: &str) -> Actor {
        Actor {
            principal: Some(principal.into()),
            ..Actor::default()
        }
    }

    /// What becomes of an explicit transaction whose statement, classified read, the
    /// server reports as a write: the COMMIT is forwarded, or replaced by a ROLLBACK.
    fn commit_after_predicted_read_wrote(mode: &str, principal: &str) -> (bool, u64) {
        let policy = policy(mode);
        let metrics = crate::metrics::Metrics::new();
        let rates = DeleteRates::default();
        let mut g = Governor::new(Version::new(5, 4), actor(principal), false);
        let a = g.on_request(
            &Request::Begin(Begin::default()),
            &policy,
            &rates,
            None,
            &metrics.proxy,
        );
        assert!(matches!(a.action, Action::Forward));
        let d = g.on_request(
            &Request::Run(Run::new("CALL custom.sneaky()")),
            &policy,
            &rates,
            Some(classify("RETURN 1")), // what a verified read looks like
            &metrics.proxy,
        );
        assert!(
            matches!(d.action, Action::Forward),
            "a read is allowed to both"
        );
        let stmt = d.statement.unwrap();
        assert!(stmt.predicted_read);
        g.on_outcome(&stmt, true, None, &rates, &policy, &metrics.proxy);
        let a = g.on_request(&Request::Commit, &policy, &rates, None, &metrics.proxy);
        let refusals = metrics
            .proxy
            .refusals
            .with_label_values(&["guard:predicted-read"])
            .get();
        (matches!(a.action, Action::Forward), refusals)
    }

    /// The stand-in for an answer that cannot be encoded is one well-formed FAILURE.
    #[test]
    fn the_unencodable_stand_in_is_a_failure() {
        let mut buf = bytes::BytesMut::from(UNENCODABLE);
        let mut dec = boltward_protocol::chunk::ChunkDecoder::default();
        let Some(boltward_protocol::chunk::Frame::Message(m)) = dec.decode(&mut buf).unwrap()
        else {
            panic!("one message")
        };
        assert!(buf.is_empty());
        let r = Response::decode(&m.body(), boltward_protocol::Dialect::new(Version::V5_4));
        let Ok(Response::Failure(f)) = r else {
            panic!("a FAILURE: {r:?}")
        };
        assert_eq!(f.code(), Some("Neo.DatabaseError.General.UnknownError"));
        assert_eq!(f.message(), Some("boltward could not encode this answer"));
    }

    /// The guard's decision table (see [`predicted_read_wrote`]).
    #[test]
    fn predicted_read_guard_decides_with_the_servers_answer() {
        for (mode, principal, commits, counted) in [
            ("enforce", "writer", true, 0),
            ("enforce", "reader", false, 1),
            ("audit", "writer", true, 0),
            ("audit", "reader", true, 1),
        ] {
            assert_eq!(
                commit_after_predicted_read_wrote(mode, principal),
                (commits, counted),
                "{mode} / {principal}"
            );
        }
    }

    #[test]
    fn a_statement_the_server_reports_as_read_is_not_rechecked() {
        let policy = policy("enforce");
        let metrics = crate::metrics::Metrics::new();
        let rates = DeleteRates::default();
        let mut g = Governor::new(Version::new(5, 4), actor("reader"), false);
        g.on_request(
            &Request::Begin(Begin::default()),
            &policy,
            &rates,
            None,
            &metrics.proxy,
        );
        let d = g.on_request(
            &Request::Run(Run::new("RETURN 1")),
            &policy,
            &rates,
            None,
            &metrics.proxy,
        );
        let stmt = d.statement.unwrap();
        g.on_outcome(&stmt, false, None, &rates, &policy, &metrics.proxy);
        let a = g.on_request(&Request::Commit, &policy, &rates, None, &metrics.proxy);
        assert!(matches!(a.action, Action::Forward));
    }
}
