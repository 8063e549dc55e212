//! Drives a [`Machine`] without sockets: a scripted client, a model server and an
//! in-memory journal, stepped the way [`super::io`] steps them (boltward's own answers are
//! written when they reach the head; a COMMIT waits for every earlier answer; a wrapped
//! write is committed before the client's next request). Used by the table tests and the
//! `session` fuzz target, which check the session's rules on every step:
//!
//! - one answer per request, in request order;
//! - nothing but RESET and GOODBYE is forwarded after a refusal until RESET;
//! - no write is forwarded (auto-commit RUN, COMMIT) without a durable intent first.

use super::machine::{may_run_in_boltwards_transaction, Env, Held, Journaled, Machine, WrapStep};
use crate::cypher::classify_limited;
use crate::journal::{JournalError, Tickets};
use crate::metrics::Metrics;
use crate::policy::{Actor, Policy};
use crate::proxy::audit::{Await, Step};
use crate::proxy::govern::DeleteRates;
use crate::proxy::members::Members;
use boltward_journal::{Entry, TxResult};
use boltward_protocol::chunk::{body_of, ChunkDecoder, Frame};
use boltward_protocol::message::{Failure, Record, Response, Success};
use boltward_protocol::{Map, Request, RequestKind, Value, Version};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;

/// The machine's environment, borrowed from the harness's fields.
macro_rules! env {
    ($h:expr) => {
        Env {
            policy: $h.policy,
            rates: &$h.rates,
            metrics: &$h.metrics.proxy,
            members: &$h.members,
            advertised: "boltward:7687",
            tickets: $h.tickets.as_ref(),
        }
    };
}

/// A policy with a writer, a reader, and a cleaner whose deletions are limited: two per
/// transaction, three per ten minutes.
pub(crate) const POLICY: &str = r#"
[policy]
mode = "enforce"
default = "deny"
[[policy.rules]]
name = "writers"
actors = { principals = ["writer"] }
allow = ["read", "write", "procedure"]
[[policy.rules]]
name = "readers"
actors = { principals = ["reader"] }
allow = ["read"]
[[policy.rules]]
name = "cleaners"
actors = { principals = ["cleaner"] }
allow = ["read", "write"]
max_deletes_per_tx = 2
delete_rate = { max = 3, window_secs = 600 }
"#;

/// The policy, metrics and tickets every harness shares (built once: the fuzzer makes
/// many harnesses).
fn fixed() -> &'static (Policy, Metrics, Tickets) {
    static FIXED: std::sync::OnceLock<(Policy, Metrics, Tickets)> = std::sync::OnceLock::new();
    FIXED.get_or_init(|| {
        let policy = Policy::from_toml(POLICY).expect("the harness policy is valid");
        (policy, Metrics::new(), Tickets::detached())
    })
}

/// How the model server answers the oldest request it owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// SUCCESS (final, for PULL/DISCARD), with `n` RECORDs before it for a PULL.
    Success { records: u8 },
    /// SUCCESS `has_more` (PULL/DISCARD with a bounded `n` only; a final SUCCESS otherwise).
    More { records: u8 },
    /// FAILURE with a transient code.
    Transient,
    /// FAILURE with a client error code.
    ClientError,
}

/// What the loop waits for before it reads the next client request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// A wrapped write's COMMIT (or retry) is due once every answer is in.
    Wrap,
}

/// A session, its client, a model server and an in-memory journal.
pub(crate) struct Harness {
    machine: Machine,
    policy: &'static Policy,
    rates: DeleteRates,
    metrics: &'static Metrics,
    members: Members,
    tickets: Option<Tickets>,
    version: Version,
    /// Journal appends fail (disk full, writer stopped).
    pub(crate) journal_down: bool,
    /// The loop "forgets" to append a write's intent and tells the machine it appended
    /// nothing (a caller bug the machine must not turn into an unjournaled write).
    pub(crate) forget_intents: bool,
    /// Entries appended, in order; the LSN of entry `i` is `i + 1`.
    pub(crate) journal: Vec<Entry>,
    /// Outcomes made durable: the intent's LSN and its result.
    pub(crate) outcomes: Vec<(u64, TxResult)>,
    /// Everything forwarded to the server, in order.
    pub(crate) forwarded: Vec<Request>,
    /// Requests the server owes an answer to, oldest first.
    owed: VecDeque<Request>,
    /// The model server failed and ignores everything until RESET.
    server_failed: bool,
    /// Everything the client received, in order.
    pub(crate) received: Vec<Response>,
    /// Client requests sent, not yet read by the loop (it is waiting).
    backlog: VecDeque<Request>,
    waiting: Option<Wait>,
    /// Requests the loop read (GOODBYE excluded): each is owed exactly one answer.
    pub(crate) requests: usize,
    /// What each of those requests was ([`tag`]), in order.
    read_tags: Vec<String>,
    /// Whether anything was forwarded while the loop handled each of them.
    forwarded_for: Vec<bool>,
    /// The answer (1-based) that was boltward's own FAILURE, until a RESET is read.
    refused_at: Option<usize>,
    /// The test made the server send an answer nobody asked for.
    unasked: bool,
    /// The session ended (an invalid answer, a closing answer, GOODBYE).
    pub(crate) closed: bool,
    /// Model of the server's transaction: open, a write ran in it, an intent was
    /// appended since it began.
    tx_open: bool,
    /// The statement of the last RUN the model server answered (a PULL's counters follow
    /// it: a DELETE deletes one node, anything else creates one).
    last_query: String,
    tx_wrote: bool,
    tx_intent: bool,
    /// An intent was appended while handling the current request.
    step_appended: bool,
}

impl Harness {
    /// A session on Bolt 5.4; `journaling` when a journal records its writes.
    pub(crate) fn new(journaling: bool) -> Self {
        let version = Version::new(5, 4);
        Harness {
            machine: Machine::new(
                version,
                Actor::default(),
                1,
                journaling,
                crate::config::UnsafeReplay::Allow,
            ),
            policy: &fixed().0,
            rates: DeleteRates::default(),
            metrics: &fixed().1,
            members: Members::new([], crate::config::UnknownMembers::Refuse),
            tickets: journaling.then(|| fixed().2.clone()),
            version,
            journal_down: false,
            forget_intents: false,
            journal: Vec::new(),
            outcomes: Vec::new(),
            forwarded: Vec::new(),
            owed: VecDeque::new(),
            server_failed: false,
            received: Vec::new(),
            backlog: VecDeque::new(),
            waiting: None,
            requests: 0,
            read_tags: Vec::new(),
            forwarded_for: Vec::new(),
            refused_at: None,
            unasked: false,
            closed: false,
            tx_open: false,
            last_query: String::new(),
            tx_wrote: false,
            tx_intent: false,
            step_appended: false,
        }
    }

    /// HELLO and LOGON as `principal`, both answered.
    pub(crate) fn logged_in(journaling: bool, principal: &str) -> Self {
        let mut h = Harness::new(journaling);
        h.client(hello());
        h.client(logon(principal));
        h.server(Answer::Success { records: 0 });
        h.server(Answer::Success { records: 0 });
        h
    }

    /// Sets `replication.unsafe` for this session.
    #[cfg(test)]
    pub(crate) fn set_unsafe_replay(&mut self, mode: crate::config::UnsafeReplay) {
        self.machine.governor.set_unsafe_replay(mode);
    }

    /// The machine, to ask it directly.
    #[cfg(test)]
    pub(crate) fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The server sends a SUCCESS nobody asked for: the session must end.
    #[cfg(test)]
    pub(crate) fn server_unasked(&mut self) {
        self.unasked = true;
        self.relay(Response::Success(Success::new(Map::new())));
    }

    /// The number of server answers still owed.
    pub(crate) fn owed(&self) -> usize {
        self.owed.len()
    }

    /// The client sends `request`.
    pub(crate) fn client(&mut self, request: Request) {
        if self.closed {
            return;
        }
        self.backlog.push_back(request);
        self.pump();
    }

    /// The server answers the oldest request it owes (nothing if it owes none).
    pub(crate) fn server(&mut self, answer: Answer) {
        if self.closed {
            return;
        }
        self.flush();
        let Some(request) = self.owed.pop_front() else {
            return;
        };
        for message in self.model_answer(&request, answer) {
            if self.closed {
                return;
            }
            self.relay(message);
        }
        self.flush();
        self.pump();
    }

    /// Reads client requests until the loop has to wait.
    fn pump(&mut self) {
        while !self.closed {
            if self.waiting == Some(Wait::Wrap) {
                if self.machine.awaiting_upstream() {
                    return;
                }
                self.step_appended = false;
                let env = env!(self);
                match self.machine.wrap_step(&env) {
                    WrapStep::Idle => self.waiting = None,
                    WrapStep::Send(bytes) => {
                        self.forward(&bytes);
                        return;
                    }
                    WrapStep::Retry(intent) => {
                        let appended = self.append(Entry::Intent(*intent));
                        match self.machine.retried(appended) {
                            Some(bytes) => {
                                self.forward(&bytes);
                                return;
                            }
                            None => self.waiting = None,
                        }
                    }
                }
                self.flush();
                continue;
            }
            let Some(request) = self.backlog.front() else {
                return;
            };
            if matches!(request, Request::Commit) && self.machine.awaiting_upstream() {
                return; // a COMMIT waits for every earlier answer
            }
            let request = self.backlog.pop_front().expect("peeked");
            self.read(request);
            self.flush();
        }
    }

    /// What the client loop does with one request (the write gate and EXPLAIN
    /// verification aside: they only wait).
    fn read(&mut self, request: Request) {
        let kind = request.kind();
        self.step_appended = false;
        if kind != RequestKind::Goodbye {
            self.requests += 1;
            self.read_tags.push(tag(&request));
            self.forwarded_for.push(false);
        }
        if let Some(answer) = self.machine.refuse_while_wrapped(kind) {
            self.machine.answer(answer, false);
            return;
        }
        let raw = request
            .to_wire(self.version)
            .expect("scripted requests encode");
        let body = match kind {
            RequestKind::Run | RequestKind::Begin => Bytes::from(body_of(&raw).into_owned()),
            _ => Bytes::new(),
        };
        let classified = match &request {
            Request::Run(run) => Some(classify_limited(&run.query, 1 << 20)),
            _ => None,
        };
        let wrappable = self.tickets.is_some()
            && classified
                .as_ref()
                .is_some_and(may_run_in_boltwards_transaction);
        let env = env!(self);
        let admitted = self
            .machine
            .on_request(&env, &request, raw, body, classified, wrappable);
        let journaled = match &admitted.step {
            Step::AutoIntent(intent) | Step::CommitIntent(intent, ..)
                if self.tickets.is_some() && !self.forget_intents =>
            {
                let entry = Entry::Intent(intent.clone());
                Journaled::Appended(self.append(entry))
            }
            Step::Refusal(r) => {
                self.journal.push(Entry::Refusal(r.clone()));
                Journaled::Nothing
            }
            Step::Outcome(lsn, result) => {
                self.outcomes.push((*lsn, result.clone()));
                Journaled::Nothing
            }
            _ => Journaled::Nothing,
        };
        let env = env!(self);
        let forward = self.machine.journaled(&env, admitted, journaled);
        if let Some(bytes) = forward {
            self.forward(&bytes);
        }
        match kind {
            RequestKind::Pull | RequestKind::Discard if self.machine.is_wrapping() => {
                self.waiting = Some(Wait::Wrap);
            }
            RequestKind::Goodbye => self.closed = true,
            _ => {}
        }
    }

    /// Appends to the in-memory journal (fails while `journal_down`).
    fn append(&mut self, entry: Entry) -> Result<u64, JournalError> {
        if self.journal_down {
            return Err(JournalError::Unavailable("the test journal is down".into()));
        }
        self.journal.push(entry);
        self.step_appended = true;
        Ok(self.journal.len() as u64)
    }

    /// Sends bytes to the model server, checking that every write has its intent first
    /// and that nothing goes after a refusal before RESET.
    fn forward(&mut self, bytes: &[u8]) {
        let requests: Vec<Request> = bodies(bytes)
            .iter()
            .map(|body| {
                Request::decode(body, self.machine.dialect())
                    .expect("boltward forwards requests that decode")
            })
            .collect();
        // GOODBYE is never answered, so it is no request of the count (and may always go).
        if requests.iter().any(|r| r.kind() != RequestKind::Goodbye) {
            if let Some(seen) = self.forwarded_for.last_mut() {
                *seen = true;
            }
        }
        self.check_refusal();
        for request in requests {
            self.check_intent(&request);
            if request.kind() != RequestKind::Goodbye {
                self.owed.push_back(request.clone());
            }
            self.forwarded.push(request);
        }
    }

    /// No write reaches the server before its intent is durable.
    fn check_intent(&mut self, request: &Request) {
        let journaling = self.tickets.is_some();
        match request {
            Request::Begin(_) => {
                self.tx_open = true;
                self.tx_wrote = false;
                self.tx_intent = self.step_appended;
            }
            Request::Run(run) => {
                let writes = !classify_limited(&run.query, 1 << 20).is_read();
                if self.tx_open {
                    self.tx_wrote |= writes;
                } else if writes && journaling {
                    assert!(
                        self.step_appended,
                        "auto-commit write forwarded without an intent: {}",
                        run.query
                    );
                }
            }
            Request::Commit => {
                if journaling && self.tx_open && self.tx_wrote {
                    assert!(
                        self.tx_intent || self.step_appended,
                        "COMMIT of a write transaction forwarded without an intent"
                    );
                }
                self.tx_open = false;
            }
            Request::Rollback | Request::Reset => self.tx_open = false,
            _ => {}
        }
    }

    /// What a Neo4j server answers to `request` (IGNORED after a failure until RESET).
    fn model_answer(&mut self, request: &Request, answer: Answer) -> Vec<Response> {
        if matches!(request, Request::Reset) {
            self.server_failed = false;
            return vec![Response::Success(Success::new(Map::from([(
                TAG,
                tag(request),
            )])))];
        }
        if self.server_failed {
            return vec![Response::Ignored];
        }
        let failure = |code: &str| {
            Response::Failure(Failure::transient(self.version, code, "scripted failure"))
        };
        match answer {
            Answer::Transient => {
                self.server_failed = true;
                return vec![failure("Neo.TransientError.Transaction.Outdated")];
            }
            Answer::ClientError => {
                self.server_failed = true;
                return vec![failure("Neo.ClientError.Statement.SyntaxError")];
            }
            Answer::Success { .. } | Answer::More { .. } => {}
        }
        let mut out = Vec::new();
        let mut meta = Map::from([(TAG, tag(request))]);
        match request {
            Request::Hello(_) => {
                meta.insert("server", "Neo4j/5.26.0");
                meta.insert("connection_id", "bolt-1");
            }
            Request::Run(run) => {
                meta.insert("fields", Value::List(vec!["n".into()]));
                if self.tx_open {
                    meta.insert("qid", 0);
                }
                self.last_query = run.query.clone();
            }
            Request::Commit => meta.insert("bookmark", "FB:1"),
            Request::Pull(p) | Request::Discard(p) => {
                let (Answer::Success { records } | Answer::More { records }) = answer else {
                    unreachable!("failures returned above")
                };
                if matches!(request, Request::Pull(_)) {
                    for i in 0..records {
                        out.push(Response::Record(Record {
                            fields: vec![Value::Integer(i64::from(i))],
                        }));
                    }
                }
                if matches!(answer, Answer::More { .. }) && p.n() != -1 {
                    meta.insert("has_more", true);
                } else {
                    let mut stats = Map::new();
                    if self.last_query.contains("DELETE") {
                        stats.insert("nodes-deleted", 1);
                    } else {
                        stats.insert("nodes-created", 1);
                    }
                    meta.insert("stats", stats);
                    meta.insert("type", "w");
                    if !self.tx_open {
                        meta.insert("bookmark", "FB:2");
                    }
                }
            }
            _ => {}
        }
        out.push(Response::Success(Success::new(meta)));
        out
    }

    /// What the server loop does with one server message.
    fn relay(&mut self, message: Response) {
        let raw = message.to_wire().expect("scripted answers encode");
        if let Response::Record(_) = message {
            match self.machine.hold_record(&raw) {
                Held::No => self.receive(&raw),
                Held::Yes => {}
                Held::Overflow(held) => {
                    self.receive(&held);
                    self.receive(&raw);
                }
            }
            return;
        }
        self.flush();
        let env = env!(self);
        let step = self.machine.on_summary(&env, &body_of(&raw));
        let (replacement, wait) = match step {
            Ok(step) => step,
            Err(e) => {
                // The model server answers only what it owes, in order: the machine may
                // reject an answer only when the test sent one nobody asked for.
                assert!(self.unasked, "the machine rejected an owed answer: {e}");
                self.closed = true;
                return;
            }
        };
        match wait {
            Some(Await::Outcome(ticket, result)) => self.outcomes.push((ticket.intent(), result)),
            Some(Await::Late(intent, result)) => {
                let lsn = self.append(Entry::Intent(*intent));
                if let Ok(lsn) = lsn {
                    self.outcomes.push((lsn, result));
                }
            }
            None => {}
        }
        match replacement {
            Some(bytes) => self.receive(&bytes),
            None => self.receive(&raw),
        }
    }

    /// Writes boltward's own answers at the head of the queue.
    fn flush(&mut self) {
        while let Some((wire, close)) = self.machine.pop_synthetic() {
            self.receive(&wire);
            if close {
                self.closed = true;
                return;
            }
        }
    }

    /// The client receives these bytes: at most one answer per request read, each the
    /// answer to the oldest request not yet answered.
    fn receive(&mut self, bytes: &[u8]) {
        for body in bodies(bytes) {
            let response = Response::decode(&body, self.machine.dialect())
                .expect("the client receives answers that decode");
            let summary = !matches!(response, Response::Record(_));
            self.received.push(response);
            if !summary {
                continue;
            }
            let n = self.answers();
            assert!(
                n <= self.requests,
                "more answers ({n}) than requests ({})",
                self.requests
            );
            match &self.received[self.received.len() - 1] {
                // The model server says which request a SUCCESS answers.
                Response::Success(s) => {
                    if let Some(Value::String(answers)) = s.metadata.get(TAG) {
                        assert_eq!(
                            answers,
                            &self.read_tags[n - 1],
                            "answer {n} is not the answer to request {n} (requests {:?}, received {:?}, forwarded {:?})",
                            self.read_tags,
                            self.received,
                            self.forwarded
                        );
                    }
                }
                Response::Failure(f) if f.message().is_some_and(|m| m.starts_with("boltward:")) => {
                    self.refused_at = Some(n);
                }
                _ => {}
            }
        }
        self.check_refusal();
    }

    /// After boltward's own FAILURE, no request read after the one it answers is forwarded
    /// until a RESET is read (judged from what the client saw and what reached the
    /// server, not from the machine's own flags).
    fn check_refusal(&mut self) {
        let Some(refused) = self.refused_at else {
            return;
        };
        for j in refused..self.requests {
            if self.read_tags[j] == "RESET" {
                return;
            }
            assert!(
                !self.forwarded_for[j],
                "request {} ({}) was forwarded after boltward refused request {refused}, before RESET (requests {:?}, answers {}, forwarded {:?}, received {:?})",
                j + 1,
                self.read_tags[j],
                self.read_tags,
                self.summaries(),
                self.forwarded.iter().map(|r| r.kind().name()).collect::<Vec<_>>(),
                self.received
            );
        }
    }

    /// Summaries the client received (RECORDs excluded).
    pub(crate) fn answers(&self) -> usize {
        self.received
            .iter()
            .filter(|r| !matches!(r, Response::Record(_)))
            .count()
    }

    /// The summaries the client received, as short names (`S`, `F`, `I`).
    pub(crate) fn summaries(&self) -> String {
        self.received
            .iter()
            .filter_map(|r| match r {
                Response::Success(_) => Some('S'),
                Response::Failure(_) => Some('F'),
                Response::Ignored => Some('I'),
                Response::Record(_) => None,
            })
            .collect()
    }

    /// The kinds of what was forwarded, as names.
    #[cfg(test)]
    pub(crate) fn forwarded_kinds(&self) -> Vec<&'static str> {
        self.forwarded.iter().map(|r| r.kind().name()).collect()
    }

    /// Once nothing is owed and nothing waits, every request has exactly one answer.
    pub(crate) fn check_quiescent(&self) {
        if self.closed
            || !self.owed.is_empty()
            || !self.backlog.is_empty()
            || self.waiting.is_some()
        {
            return;
        }
        assert_eq!(
            self.answers(),
            self.requests,
            "every request answered once: {}",
            self.summaries()
        );
    }
}

/// The message bodies in `bytes`, which must be whole, well-framed messages (NOOPs
/// skipped).
fn bodies(bytes: &[u8]) -> Vec<Bytes> {
    let mut buf = BytesMut::from(bytes);
    let mut decoder = ChunkDecoder::new(usize::MAX);
    let mut out = Vec::new();
    while let Some(frame) = decoder
        .decode(&mut buf)
        .expect("boltward writes valid framing")
    {
        if let Frame::Message(msg) = frame {
            out.push(msg.body());
        }
    }
    assert!(buf.is_empty(), "boltward writes whole messages");
    out
}

/// HELLO from a driver.
/// The metadata key in which the model server names the request a SUCCESS answers.
const TAG: &str = "answers";

/// A request as the model server names it: its kind, and a RUN's statement.
fn tag(request: &Request) -> String {
    match request {
        Request::Run(run) => format!("RUN {}", run.query),
        other => other.kind().name().to_owned(),
    }
}

pub(crate) fn hello() -> Request {
    let mut extra = Map::new();
    extra.insert("user_agent", "harness/1");
    Request::Hello(boltward_protocol::message::Hello { extra })
}

/// LOGON as `principal`.
pub(crate) fn logon(principal: &str) -> Request {
    let mut auth = Map::new();
    auth.insert("scheme", "basic");
    auth.insert("principal", principal);
    auth.insert("credentials", "secret");
    Request::Logon(boltward_protocol::message::Logon { auth })
}

/// RUN `query`.
pub(crate) fn run(query: &str) -> Request {
    Request::Run(boltward_protocol::message::Run::new(query))
}

/// PULL `n`.
pub(crate) fn pull(n: i64) -> Request {
    Request::Pull(boltward_protocol::message::Pull::new(n))
}

/// BEGIN (write mode unless `read`).
pub(crate) fn begin(read: bool) -> Request {
    let mut b = boltward_protocol::message::Begin::default();
    if read {
        b.extra.insert("mode", "r");
    }
    Request::Begin(b)
}

/// The `session` fuzz target: arbitrary interleavings of client requests, server answers
/// and journal outages; panics if a rule above is broken.
pub fn fuzz(data: &[u8]) {
    const QUERIES: &[&str] = &[
        "MATCH (n) RETURN n",
        "CREATE (n:A {v: 1})",
        "MATCH (n:A) SET n.v = n.v * 7 + 1",
        "MATCH (n) DETACH DELETE n",
        "CALL { CREATE (:B) } IN TRANSACTIONS",
        "CREATE INDEX i FOR (n:A) ON (n.v)",
        "RETURN 1",
        "CALL custom.thing()",
    ];
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let principal = ["writer", "reader", "nobody"][usize::from(first % 3)];
    let mut h = Harness::logged_in(first & 4 == 0, principal);
    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        match op % 16 {
            0..=5 => {
                let answer = match arg % 6 {
                    0 | 1 => Answer::Success { records: arg >> 4 },
                    2 => Answer::More { records: arg >> 4 },
                    3 => Answer::Transient,
                    4 => Answer::ClientError,
                    _ => Answer::Success { records: 0 },
                };
                h.server(answer);
            }
            6 | 7 => h.client(run(QUERIES[usize::from(arg) % QUERIES.len()])),
            8 => h.client(pull(if arg & 1 == 0 {
                -1
            } else {
                i64::from(arg >> 1)
            })),
            9 => h.client(Request::Discard(boltward_protocol::message::Pull::new(-1))),
            10 => h.client(begin(arg & 1 == 1)),
            11 => h.client(Request::Commit),
            12 => h.client(Request::Rollback),
            13 => h.client(Request::Reset),
            14 => h.journal_down = arg & 1 == 1,
            _ if arg == 0xFF => h.client(Request::Goodbye),
            _ => {}
        }
        h.check_quiescent();
    }
    // Let the server answer everything: every request gets its one answer.
    for _ in 0..64 {
        if h.closed || h.owed() == 0 {
            break;
        }
        h.server(Answer::Success { records: 1 });
    }
    h.check_quiescent();
}
