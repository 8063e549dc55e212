//! What a session tells the journal: statement records, the transaction being built,
//! and the steps the two loops take around forwarding (intent before the commit is sent,
//! outcome before the client sees the answer).

use crate::cypher::{Class, Classification};
use crate::journal::Ticket;
use crate::policy::{Actor, Verdict};
use boltward_journal as j;
use boltward_protocol::message::{Run, Success};
use boltward_protocol::{Map, Request, Value, Version};
use bytes::Bytes;
use std::collections::BTreeSet;

/// The query text journaled and logged in place of a statement that sets a password.
pub(crate) const REDACTED_QUERY: &str =
    "/* redacted by boltward: the statement carries a password */";

/// Whether a statement may carry a credential (user administration naming a password).
pub(crate) fn carries_password(c: &Classification, query: &str) -> bool {
    c.has(Class::Admin) && query.to_ascii_uppercase().contains("PASSWORD")
}

/// What was decided about one RUN.
#[derive(Debug, Clone)]
pub(crate) struct StmtInfo {
    pub(crate) classes: Vec<String>,
    pub(crate) read: bool,
    pub(crate) verdict: crate::policy::Outcome,
    pub(crate) rule: String,
    pub(crate) reason: String,
    pub(crate) db: Option<String>,
    pub(crate) claimed: Option<String>,
    pub(crate) node_labels: Vec<String>,
    pub(crate) types: Vec<String>,
    pub(crate) redact: bool,
    /// The RUN message body as sent (set by the session).
    pub(crate) body: Bytes,
}

impl StmtInfo {
    pub(crate) fn new(
        c: &Classification,
        v: &Verdict,
        db: Option<String>,
        claimed: Option<String>,
        query: &str,
    ) -> Self {
        StmtInfo {
            classes: c.classes.iter().map(|c| c.as_str().to_owned()).collect(),
            read: c.is_read(),
            verdict: v.outcome(),
            rule: v.rule.clone(),
            reason: v.reason.clone(),
            db,
            claimed,
            node_labels: c.node_labels.iter().cloned().collect(),
            types: c.types.iter().cloned().collect(),
            redact: carries_password(c, query),
            body: Bytes::new(),
        }
    }

    /// The RUN bytes to journal: the original, or a redacted RUN.
    fn run_bytes(&self, version: Version) -> Vec<u8> {
        if !self.redact {
            return self.body.to_vec();
        }
        let wire = Request::Run(Run::new(REDACTED_QUERY))
            .to_wire(version)
            .unwrap_or_default();
        boltward_protocol::chunk::body_of(&wire).into_owned()
    }

    pub(crate) fn statement(&self, version: Version) -> j::Statement {
        j::Statement {
            run: self.run_bytes(version),
            classes: self.classes.clone(),
            verdict: self.verdict.as_str().into(),
            rule: self.rule.clone(),
        }
    }
}

/// The journal's view of an actor (never credentials).
pub(crate) fn actor(a: &Actor, claimed: Option<String>) -> j::Actor {
    j::Actor {
        principal: a.principal.clone(),
        scheme: a.scheme.clone(),
        address: a.address.map(|ip| ip.to_string()),
        cert_subject: a.cert_subject.clone(),
        user_agent: a.user_agent.clone(),
        claimed,
    }
}

/// An explicit transaction as the journal will record it at COMMIT.
#[derive(Debug, Default)]
pub(crate) struct TxLog {
    pub(crate) begin: Option<Bytes>,
    pub(crate) db: Option<String>,
    pub(crate) claimed: Option<String>,
    pub(crate) statements: Vec<j::Statement>,
    pub(crate) labels: BTreeSet<String>,
    pub(crate) types: BTreeSet<String>,
    /// A statement was classified as a write, or the server reported one.
    pub(crate) wrote: bool,
    pub(crate) stats: Map,
    pub(crate) query_type: Option<String>,
}

impl TxLog {
    pub(crate) fn add(&mut self, info: &StmtInfo, version: Version) {
        self.statements.push(info.statement(version));
        self.labels.extend(info.node_labels.iter().cloned());
        self.types.extend(info.types.iter().cloned());
        self.wrote |= !info.read;
        if self.db.is_none() {
            self.db = info.db.clone();
        }
        if self.claimed.is_none() {
            self.claimed = info.claimed.clone();
        }
    }

    /// Folds a final PULL/DISCARD summary in.
    pub(crate) fn summary(&mut self, s: &Success, wrote: bool) {
        self.wrote |= wrote;
        add_stats(&mut self.stats, s);
        if let Some(t) = s.query_type() {
            self.query_type = Some(t.as_str().to_owned());
        }
    }

    pub(crate) fn intent(&self, conn: u64, a: &Actor, version: Version, utc: bool) -> j::Intent {
        j::Intent {
            conn,
            actor: actor(a, self.claimed.clone()),
            db: self.db.clone(),
            bolt: version.to_string(),
            utc,
            mode: j::TxMode::Explicit,
            begin: self.begin.as_ref().map(|b| b.to_vec()),
            statements: self.statements.clone(),
            labels: self.labels.iter().cloned().collect(),
            types: self.types.iter().cloned().collect(),
        }
    }
}

/// The intent of one auto-commit write.
pub(crate) fn auto_intent(
    info: &StmtInfo,
    conn: u64,
    a: &Actor,
    version: Version,
    utc: bool,
) -> j::Intent {
    j::Intent {
        conn,
        actor: actor(a, info.claimed.clone()),
        db: info.db.clone(),
        bolt: version.to_string(),
        utc,
        mode: j::TxMode::Auto,
        begin: None,
        statements: vec![info.statement(version)],
        labels: info.node_labels.clone(),
        types: info.types.clone(),
    }
}

/// A refusal record for a refused RUN.
pub(crate) fn refusal(info: &StmtInfo, conn: u64, a: &Actor, version: Version) -> j::Refusal {
    j::Refusal {
        conn,
        actor: actor(a, info.claimed.clone()),
        db: info.db.clone(),
        bolt: version.to_string(),
        statement: info.run_bytes(version),
        classes: info.classes.clone(),
        labels: info.node_labels.clone(),
        types: info.types.clone(),
        rule: info.rule.clone(),
        reason: info.reason.clone(),
    }
}

/// Sums the integer update counters of a summary into `acc`.
pub(crate) fn add_stats(acc: &mut Map, s: &Success) {
    let Some(Value::Map(stats)) = s.metadata.get("stats") else {
        return;
    };
    for (k, v) in stats.iter() {
        match v {
            Value::Integer(n) => {
                let sum = acc.get(k).and_then(Value::as_int).unwrap_or(0) + n;
                acc.insert(k, sum);
            }
            Value::Boolean(b) => {
                let any = acc.get(k).and_then(Value::as_bool).unwrap_or(false) || *b;
                acc.insert(k, any);
            }
            _ => {}
        }
    }
}

/// The committed result of a summary.
pub(crate) fn committed(s: &Success, stats: Map, query_type: Option<String>) -> j::TxResult {
    j::TxResult::Committed {
        bookmark: s.bookmark().map(str::to_owned),
        query_type: query_type.or_else(|| s.query_type().map(|t| t.as_str().to_owned())),
        stats,
    }
}

/// What the client loop must journal before it forwards a request.
pub(crate) enum Step {
    /// Nothing.
    None,
    /// A refusal (not waited for).
    Refusal(j::Refusal),
    /// An auto-commit write: durable before the RUN is forwarded.
    AutoIntent(j::Intent),
    /// An explicit write transaction: durable before the COMMIT is forwarded.
    CommitIntent(j::Intent, Map, Option<String>),
    /// The outcome of a write that cannot commit any more (a wrapped auto-commit write
    /// reset before boltward sent its COMMIT).
    Outcome(u64, j::TxResult),
}

/// What the server loop must make durable before the client sees a summary.
pub(crate) enum Await {
    /// The outcome of a journaled write.
    Outcome(Ticket, j::TxResult),
    /// An auto-commit statement predicted read that wrote: intent and outcome now.
    Late(Box<j::Intent>, j::TxResult),
}

/// A COMMIT's place in the journal, carried by its pending answer.
pub(crate) struct CommitLog {
    pub(crate) ticket: Ticket,
    pub(crate) stats: Map,
    pub(crate) query_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cypher::classify;
    use crate::policy::Decision;

    const V: Version = Version::V5_4;

    fn allowed() -> Verdict {
        Verdict {
            verdict: Decision::Allow,
            ..Verdict::limit("writers", "allowed".into())
        }
    }

    /// A RUN of `query` as the session journals it (its body as sent).
    fn info(query: &str, db: Option<&str>, claimed: Option<&str>) -> StmtInfo {
        let mut info = StmtInfo::new(
            &classify(query),
            &allowed(),
            db.map(str::to_owned),
            claimed.map(str::to_owned),
            query,
        );
        let wire = Request::Run(Run::new(query)).to_wire(V).unwrap();
        info.body = Bytes::from(boltward_protocol::chunk::body_of(&wire).into_owned());
        info
    }

    fn query_of(run: &[u8]) -> String {
        match Request::decode(run, boltward_protocol::Dialect::new(V)).unwrap() {
            Request::Run(r) => r.query,
            other => panic!("not a RUN: {other:?}"),
        }
    }

    #[test]
    fn a_statement_that_sets_a_password_is_journaled_redacted() {
        let query = "CREATE USER bob SET PASSWORD 'hunter2'";
        let i = info(query, None, None);
        assert!(i.redact);
        let statement = i.statement(V);
        assert_eq!(query_of(&statement.run), REDACTED_QUERY);
        let refused = refusal(&i, 1, &Actor::default(), V);
        assert_eq!(query_of(&refused.statement), REDACTED_QUERY);
        // Anything else is journaled as sent.
        let plain = info("CREATE (:A {password: 1})", None, None);
        assert!(!plain.redact);
        assert_eq!(
            query_of(&plain.statement(V).run),
            "CREATE (:A {password: 1})"
        );
    }

    #[test]
    fn stats_sum_integers_and_or_flags() {
        let summary = |n: i64, flag: bool| {
            let stats = Map::from([
                ("nodes-created", Value::Integer(n)),
                ("contains-updates", Value::Boolean(flag)),
                ("note", Value::from("ignored")),
            ]);
            Success::new(Map::from([("stats", Value::Map(stats))]))
        };
        let mut acc = Map::new();
        add_stats(&mut acc, &summary(2, false));
        add_stats(&mut acc, &summary(3, true));
        add_stats(&mut acc, &Success::new(Map::new()));
        assert_eq!(acc.get("nodes-created").and_then(Value::as_int), Some(5));
        assert_eq!(
            acc.get("contains-updates").and_then(Value::as_bool),
            Some(true)
        );
        assert!(acc.get("note").is_none());
    }

    #[test]
    fn a_transaction_keeps_its_first_database_and_claim_and_every_statement() {
        let mut tx = TxLog {
            begin: Some(Bytes::from_static(b"begin")),
            ..TxLog::default()
        };
        tx.add(&info("MATCH (n:A) RETURN n", Some("alpha"), Some("ann")), V);
        assert!(!tx.wrote, "a read does not make it a write");
        tx.add(
            &info("CREATE (:B)-[:R]->(:C)", Some("beta"), Some("bob")),
            V,
        );
        assert!(tx.wrote);
        let intent = tx.intent(7, &Actor::default(), V, true);
        assert_eq!(intent.db.as_deref(), Some("alpha"));
        assert_eq!(intent.actor.claimed.as_deref(), Some("ann"));
        assert_eq!(intent.mode, j::TxMode::Explicit);
        assert_eq!(intent.begin.as_deref(), Some(&b"begin"[..]));
        assert_eq!(intent.statements.len(), 2);
        assert_eq!(intent.labels, ["A", "B", "C"]);
        assert_eq!(intent.types, ["R"]);
        assert_eq!((intent.conn, intent.utc), (7, true));
    }

    #[test]
    fn a_commit_records_its_bookmark_and_falls_back_to_the_summarys_type() {
        let s = Success::new(Map::from([
            ("bookmark", Value::from("FB:9")),
            ("type", Value::from("w")),
        ]));
        match committed(&s, Map::new(), None) {
            j::TxResult::Committed {
                bookmark,
                query_type,
                ..
            } => {
                assert_eq!(bookmark.as_deref(), Some("FB:9"));
                assert_eq!(query_type.as_deref(), Some("w"));
            }
            other => panic!("{other:?}"),
        }
    }
}
