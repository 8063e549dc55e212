//! One connection's logic without sockets or a journal on disk: requests and answers go
//! in, what to forward, what to answer and what the journal must make durable come out.
//! The clock is read only to stamp a request's send time (the round-trip histogram) and
//! the session's last activity (which the loop's idle check reads); no decision here
//! depends on it. [`super::io`] moves the bytes and does the waiting; [`super::harness`]
//! drives this machine the same way from tests and the fuzzer.
//!
//! A request goes through [`Machine::on_request`] (governance, journal bookkeeping) and,
//! when the journal must record something first, [`Machine::journaled`] with the
//! journal's answer; a server summary goes through [`Machine::on_summary`]. The journal's
//! order is taken here (tickets), its writes are done by the caller.
//!
//! Why steps instead of one `Vec<Effect>`: each step has exactly one thing the caller must
//! do before the next decision (append an intent and come back with its LSN; make an
//! outcome durable before relaying), so a typed step per call says that in the types. An
//! admitted request's bytes are reachable only through [`Machine::journaled`], which treats
//! a write whose intent the caller did not append as a journal failure (never forwarded);
//! the steps are `#[must_use]`. What the types cannot hold (the caller relays a summary
//! only after its outcome is durable) the harness checks from outside, on every step.

use super::super::audit::{self, Await, CommitLog, Step, TxLog};
use super::super::error::{BadResponse, SessionError};
use super::super::fifo::{Fifo, Slot as FifoSlot};
use super::super::govern::{wire, Action, DeleteRates, Governor, Statement};
use super::super::members::Members;
use crate::cypher::{Class, Classification};
use crate::journal::{JournalError, Tickets};
use crate::metrics::ProxyMetrics;
use crate::policy::{Actor, Policy};
use boltward_journal::{Intent, TxResult};
use boltward_protocol::message::{split_auto_commit_run, Response, Success};
use boltward_protocol::state::{ServerState, Summary, Tracker};
use boltward_protocol::{Dialect, Map, Request, RequestKind, Version};
use bytes::{Bytes, BytesMut};
use std::time::Instant;
use tracing::{debug, warn};

/// RECORDs of a wrapped write held at most (beyond, they are shown and a failed COMMIT
/// is the client's to retry).
pub(crate) const MAX_HELD_RECORDS: usize = 256 * 1024;
/// Times a wrapped write whose COMMIT failed with a transient error is run again.
pub(crate) const MAX_WRAP_ATTEMPTS: u32 = 3;

/// What the machine reads but does not own: shared by every session.
pub(crate) struct Env<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) rates: &'a DeleteRates,
    pub(crate) metrics: &'a ProxyMetrics,
    pub(crate) members: &'a Members,
    /// `host:port` drivers reach this listener at.
    pub(crate) advertised: &'a str,
    /// The journal's order, when journaling.
    pub(crate) tickets: Option<&'a Tickets>,
}

/// Who asked for a request the upstream answers. boltward runs an auto-commit write as an
/// explicit transaction it opens and commits itself (see [`Wrapped`]); the client never
/// sees the answers to the requests boltward added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The client's own request.
    Client,
    /// A request of boltward's own (the BEGIN before a wrapped RUN; RESET, BEGIN and RUN of
    /// a retry): its SUCCESS is not shown; its FAILURE answers the client's next request
    /// instead.
    Hidden,
    /// A wrapped auto-commit RUN: its SUCCESS loses the `qid` an auto-commit RUN never has.
    WrappedRun,
    /// The COMMIT boltward sent after a wrapped statement's final summary.
    WrapCommit,
    /// An answer the client must not see (the RUN behind a wrapping BEGIN that failed).
    Swallow,
}

/// An auto-commit write run as an explicit transaction: its commit is then a COMMIT that
/// boltward forwards after taking the write's place in the journal, which makes the
/// journal's order the server's commit order for every pair of conflicting writes
/// (docs/journal-format.md, "Order").
struct Wrapped {
    /// The intent of the current attempt.
    lsn: u64,
    /// The final summary, held until the COMMIT answers (then given the bookmark).
    done: Option<Success>,
    /// The COMMIT was sent.
    committing: bool,
    /// The result's RECORDs, held with the final summary while they are few, so that a
    /// COMMIT that fails transiently can be retried unseen; `None` once they were shown.
    records: Option<BytesMut>,
    /// What a retry journals and sends again: the intent, BEGIN and RUN, and the
    /// client's own PULL or DISCARD (a retry fetches the result the way the client asked
    /// for it: never RECORDs for a DISCARD).
    intent: Intent,
    again: Bytes,
    fetch: Option<(RequestKind, Bytes)>,
    attempts: u32,
    /// A retry is due; the failure to show if it cannot be made.
    retry: Option<Bytes>,
}

/// A request the upstream answers.
pub(crate) struct Pending {
    kind: RequestKind,
    role: Role,
    /// The statement a RUN, PULL or DISCARD belongs to (checked against the summary).
    statement: Option<Statement>,
    /// Answer the client with these bytes instead of the upstream's SUCCESS.
    answer_with: Option<Bytes>,
    /// When it was queued (round-trip histogram).
    sent: Instant,
    /// A journaled COMMIT: its place in the journal's order.
    commit: Option<CommitLog>,
}

impl Pending {
    fn new(kind: RequestKind, role: Role) -> Self {
        Pending {
            kind,
            role,
            statement: None,
            answer_with: None,
            sent: Instant::now(),
            commit: None,
        }
    }
}

/// What answers a request (see [`super::super::fifo`]).
pub(crate) type Slot = FifoSlot<Pending>;

/// A request after governance: what to forward, the slot that answers it (queued by
/// [`Machine::journaled`] once the journal has what it needs), and the journal's step.
#[must_use]
pub(crate) struct Admitted {
    forward: Option<Bytes>,
    slot: Option<Slot>,
    /// What the journal must do before anything is forwarded.
    pub(crate) step: Step,
    /// An auto-commit write to run in a transaction of boltward's: BEGIN and RUN to
    /// forward instead of the client's RUN, once its intent is durable.
    wrap: Option<(Bytes, Bytes)>,
}

/// What the journal said about an [`Admitted`] step.
pub(crate) enum Journaled {
    /// The step asked for no append (or was done without an answer).
    Nothing,
    /// The intent was appended at this LSN, or could not be.
    Appended(Result<u64, JournalError>),
}

/// What a wrapped write needs next, once every answer is in.
#[must_use]
pub(crate) enum WrapStep {
    /// Nothing is due (the stream has more, the write is over, or the COMMIT is in flight).
    Idle,
    /// Forward these bytes (boltward's COMMIT, its ticket taken).
    Send(Bytes),
    /// The COMMIT failed transiently: journal this intent, then [`Machine::retried`].
    Retry(Box<Intent>),
}

/// What becomes of a summary: bytes to show instead of the server's (`Some(empty)`: show
/// nothing), and what must be durable before the client sees it.
pub(crate) type SummaryStep = (Option<Bytes>, Option<Await>);

/// What became of a RECORD offered to [`Machine::hold_record`].
#[must_use]
pub(crate) enum Held {
    /// Relay it.
    No,
    /// Held.
    Yes,
    /// Too many: write these held ones, then relay it (and the rest).
    Overflow(Bytes),
}

/// A write the journal has no outcome for when the connection ends.
pub(crate) enum Unfinished {
    /// boltward never sent its COMMIT: the server rolls it back with the connection.
    RolledBack(u64),
    /// The server may have committed it.
    InDoubt(u64),
}

/// One connection's state: the server's state, governance, the answer queue and the
/// journal's bookkeeping.
pub(crate) struct Machine {
    version: Version,
    /// This connection's id in the journal.
    conn: u64,
    tracker: Tracker,
    pub(crate) governor: Governor,
    dialect: Dialect,
    queue: Fifo<Pending>,
    pub(crate) last_activity: Instant,
    /// The explicit transaction being recorded for the journal.
    jtx: Option<TxLog>,
    /// Auto-commit writes whose intents are journaled and whose outcomes are not yet
    /// (more than one only when a client pipelines auto-commit statements).
    unresolved: Vec<u64>,
    /// The auto-commit write running in a transaction boltward opened.
    wrapped: Option<Wrapped>,
    /// Write work admitted through the gate, released when the session is idle again
    /// (write barriers wait for it).
    write_slot: Option<crate::gate::WriteSlot>,
}

impl Machine {
    /// A session that negotiated `version`; `journaling` when a journal records its writes.
    pub(crate) fn new(
        version: Version,
        actor: Actor,
        conn: u64,
        journaling: bool,
        unsafe_replay: crate::config::UnsafeReplay,
    ) -> Self {
        let mut m = Machine {
            version,
            conn,
            tracker: Tracker::new(version),
            governor: Governor::new(version, actor, journaling),
            dialect: Dialect::new(version),
            queue: Fifo::default(),
            last_activity: Instant::now(),
            jtx: None,
            unresolved: Vec::new(),
            wrapped: None,
            write_slot: None,
        };
        m.governor.set_unsafe_replay(unsafe_replay);
        m
    }

    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// How requests and answers decode on this connection.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// No request in flight and no transaction or stream open.
    pub(crate) fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && matches!(
                self.tracker.state(),
                ServerState::Negotiation
                    | ServerState::Authentication
                    | ServerState::Ready
                    | ServerState::Failed
            )
    }

    /// A forwarded request still waits for the server's answer.
    pub(crate) fn awaiting_upstream(&self) -> bool {
        self.queue.awaiting_upstream()
    }

    /// A wrapped write is running (its COMMIT may still be due).
    pub(crate) fn is_wrapping(&self) -> bool {
        self.wrapped.is_some()
    }

    /// RECORDs may have to be held (a wrapped write's result is streaming).
    pub(crate) fn holds_records(&self) -> bool {
        self.wrapped
            .as_ref()
            .is_some_and(|w| !w.committing && w.records.is_some())
    }

    /// How many of boltward's own answers wait in the queue.
    pub(crate) fn synthetic_queued(&self) -> usize {
        self.queue.synthetic()
    }

    /// Queues a FAILURE (or IGNORED, when the server failed first) of boltward's own.
    pub(crate) fn answer(&mut self, wire: Bytes, close: bool) {
        self.queue.push(Slot::Synthetic {
            wire,
            close,
            failure: true,
        });
    }

    /// boltward's answer at the head of the queue, if every answer before it is written.
    pub(crate) fn pop_synthetic(&mut self) -> Option<(Bytes, bool)> {
        let failed = matches!(
            self.tracker.state(),
            ServerState::Failed | ServerState::Interrupted
        );
        self.queue.pop_synthetic(failed)
    }

    /// Keeps `slot` until the session is idle again (at once if it already is).
    pub(crate) fn hold_write(&mut self, slot: crate::gate::WriteSlot) {
        if !self.is_idle() {
            self.write_slot = Some(slot);
        }
    }

    /// Ends the admitted write work once its transaction or auto-commit is over.
    pub(crate) fn release_write_if_idle(&mut self) {
        if self.write_slot.is_some() && self.is_idle() {
            self.write_slot = None;
        }
    }

    /// The answer to a request a server refuses while an auto-commit result it runs as
    /// its own transaction is open (what a server answers in STREAMING): everything but
    /// PULL, DISCARD, RESET and GOODBYE.
    pub(crate) fn refuse_while_wrapped(&mut self, kind: RequestKind) -> Option<Bytes> {
        let open = self.wrapped.as_ref().is_some_and(|w| w.done.is_none());
        if !open
            || matches!(
                kind,
                RequestKind::Pull
                    | RequestKind::Discard
                    | RequestKind::Reset
                    | RequestKind::Goodbye
            )
        {
            return None;
        }
        Some(self.governor.invalid(&format!(
            "boltward: {} cannot be sent while the result of an auto-commit query is open; consume or discard it first",
            kind.name()
        )))
    }

    /// Whether the write gate applies: a BEGIN in write mode, or an auto-commit RUN that may
    /// change data. Work inside an open transaction is never held (it finishes).
    pub(crate) fn holds_writes(
        &self,
        request: &Request,
        classified: Option<&Classification>,
    ) -> bool {
        use boltward_protocol::message::{AccessMode, Extra};
        let candidate = match request {
            Request::Begin(b) => b.mode() == AccessMode::Write,
            Request::Run(_) => classified.is_some_and(|c| !c.is_read()),
            _ => false,
        };
        candidate
            && !self.governor.is_failed()
            && (matches!(request, Request::Begin(_)) || !self.governor.in_tx())
    }

    /// Runs governance on one request (`raw`: its chunked bytes, `body`: its message body
    /// for a RUN or BEGIN); see [`Admitted`]. `wrappable`: an auto-commit write may run in
    /// a transaction of boltward's ([`may_run_in_boltwards_transaction`]).
    pub(crate) fn on_request(
        &mut self,
        env: &Env,
        request: &Request,
        raw: Bytes,
        body: Bytes,
        classified: Option<Classification>,
        wrappable: bool,
    ) -> Admitted {
        let kind = request.kind();
        let decision =
            self.governor
                .on_request(request, env.policy, env.rates, classified, env.metrics);
        self.last_activity = Instant::now();
        let decided = decision.decided.map(|mut d| {
            d.body = body.clone();
            d
        });
        let journaling = env.tickets.is_some();
        let version = self.version;
        let utc = self.dialect.utc_datetime();
        match decision.action {
            Action::Answer { wire, failure } => {
                let step = match decided {
                    Some(d) if journaling && d.verdict == crate::policy::Outcome::Deny => {
                        Step::Refusal(audit::refusal(&d, self.conn, &self.governor.actor, version))
                    }
                    _ => Step::None,
                };
                Admitted {
                    forward: None,
                    slot: Some(Slot::Synthetic {
                        wire,
                        close: false,
                        failure,
                    }),
                    step,
                    wrap: None,
                }
            }
            Action::RollbackInstead(failure) => {
                let jtx = self.jtx.take();
                let step = match (jtx, decision.rolled_back) {
                    (Some(tx), Some((rule, reason))) if journaling && tx.wrote => {
                        Step::Refusal(boltward_journal::Refusal {
                            conn: self.conn,
                            actor: audit::actor(&self.governor.actor, tx.claimed.clone()),
                            db: tx.db.clone(),
                            bolt: version.to_string(),
                            statement: Vec::new(),
                            classes: Vec::new(),
                            labels: tx.labels.iter().cloned().collect(),
                            types: tx.types.iter().cloned().collect(),
                            rule,
                            reason,
                        })
                    }
                    _ => Step::None,
                };
                let (forward, slot) = rollback_instead(failure);
                Admitted {
                    forward: Some(forward),
                    slot: Some(slot),
                    step,
                    wrap: None,
                }
            }
            Action::Forward => {
                let mut step = Step::None;
                let mut wrap = None;
                let mut statement = decision.statement;
                match kind {
                    RequestKind::Reset => {
                        self.tracker.reset_sent();
                        self.jtx = None;
                        // A wrapped write reset before its COMMIT was sent never commits.
                        if let Some(w) = self.wrapped.take_if(|w| !w.committing) {
                            if self.settle(w.lsn) {
                                step = Step::Outcome(
                                    w.lsn,
                                    TxResult::RolledBack {
                                        reason: "reset before its result was consumed".into(),
                                    },
                                );
                            }
                        }
                    }
                    RequestKind::Rollback => self.jtx = None,
                    RequestKind::Pull | RequestKind::Discard => {
                        if let Some(w) = self.wrapped.as_mut().filter(|w| !w.committing) {
                            w.fetch = Some((kind, raw.clone()));
                        }
                    }
                    RequestKind::Begin if journaling => {
                        self.jtx = Some(TxLog {
                            begin: Some(body),
                            ..TxLog::default()
                        });
                    }
                    RequestKind::Run if journaling => {
                        if let (Some(d), Some(stmt)) = (decided, statement.as_mut()) {
                            if let Some(tx) = self.jtx.as_mut().filter(|_| stmt.in_tx) {
                                tx.add(&d, version);
                            } else if !d.read {
                                wrap = wrappable
                                    .then(|| split_auto_commit_run(&body, self.dialect).ok())
                                    .flatten();
                                step = Step::AutoIntent(audit::auto_intent(
                                    &d,
                                    self.conn,
                                    &self.governor.actor,
                                    version,
                                    utc,
                                ));
                            } else {
                                stmt.audit = Some(std::sync::Arc::new(d));
                            }
                        }
                    }
                    RequestKind::Commit if journaling => {
                        if let Some(tx) = self.jtx.take().filter(|t| t.wrote) {
                            let intent = tx.intent(self.conn, &self.governor.actor, version, utc);
                            step = Step::CommitIntent(intent, tx.stats, tx.query_type);
                        }
                    }
                    _ => {}
                }
                let slot = (kind != RequestKind::Goodbye).then(|| {
                    let role = if wrap.is_some() {
                        Role::WrappedRun
                    } else {
                        Role::Client
                    };
                    Slot::Upstream(Pending {
                        statement,
                        ..Pending::new(kind, role)
                    })
                });
                Admitted {
                    forward: Some(raw),
                    slot,
                    step,
                    wrap,
                }
            }
        }
    }

    /// Finishes an admitted request once the journal did its step: queues the slot that
    /// answers it and returns the bytes to forward. When the journal could not write, a
    /// write is refused with a transient error (a COMMIT becomes a ROLLBACK).
    #[must_use]
    pub(crate) fn journaled(
        &mut self,
        env: &Env,
        admitted: Admitted,
        journaled: Journaled,
    ) -> Option<Bytes> {
        let Admitted {
            mut forward,
            mut slot,
            step,
            wrap,
        } = admitted;
        // A write's intent must be appended before it is forwarded: a caller that says it
        // appended nothing is a journal that could not record it.
        let journaled = match (&step, journaled) {
            (Step::AutoIntent(_) | Step::CommitIntent(..), Journaled::Nothing) => {
                Journaled::Appended(Err(JournalError::Unavailable(
                    "no intent was appended for this write".into(),
                )))
            }
            (_, journaled) => journaled,
        };
        match (step, journaled) {
            (Step::AutoIntent(intent), Journaled::Appended(Ok(lsn))) => {
                self.governor.set_last_intent(lsn);
                self.unresolved.push(lsn);
                if let Some(Slot::Upstream(p)) = &mut slot {
                    if let Some(st) = &mut p.statement {
                        st.intent = Some(lsn);
                    }
                }
                if let Some((begin, run)) = wrap {
                    let again: Bytes = [begin, run].concat().into();
                    self.wrapped = Some(Wrapped {
                        lsn,
                        done: None,
                        committing: false,
                        records: Some(BytesMut::new()),
                        intent,
                        again: again.clone(),
                        fetch: None,
                        attempts: 1,
                        retry: None,
                    });
                    self.queue
                        .push_upstream(Pending::new(RequestKind::Begin, Role::Hidden));
                    forward = Some(again);
                }
            }
            (Step::AutoIntent(_), Journaled::Appended(Err(e))) => {
                let answer = self.governor.transient(&format!(
                    "boltward: the write was not run because the journal cannot record it ({e}); retry later"
                ));
                forward = None;
                slot = Some(Slot::Synthetic {
                    wire: answer,
                    close: false,
                    failure: true,
                });
            }
            (Step::CommitIntent(_, stats, query_type), Journaled::Appended(Ok(lsn))) => {
                if let (Some(Slot::Upstream(p)), Some(tickets)) = (&mut slot, env.tickets) {
                    p.commit = Some(CommitLog {
                        ticket: tickets.ticket(lsn),
                        stats,
                        query_type,
                    });
                }
            }
            (Step::CommitIntent(..), Journaled::Appended(Err(e))) => {
                env.metrics
                    .commits_rolled_back
                    .with_label_values(&["journal:unavailable"])
                    .inc();
                let answer = self.governor.transient(&format!(
                    "boltward: the transaction was rolled back because the journal cannot record it ({e}); retry later"
                ));
                let (rollback, instead) = rollback_instead(answer);
                forward = Some(rollback);
                slot = Some(instead);
            }
            _ => {}
        }
        if let Some(slot) = slot {
            self.queue.push(slot);
        }
        forward
    }

    /// What a wrapped write needs sent next, once every answer is in: its COMMIT (its
    /// ticket, its place in the journal's order, taken first), or, after a COMMIT that
    /// failed transiently, the same statement again under a new intent.
    pub(crate) fn wrap_step(&mut self, env: &Env) -> WrapStep {
        let Some(tickets) = env.tickets else {
            return WrapStep::Idle;
        };
        let Some(w) = self.wrapped.as_mut() else {
            return WrapStep::Idle;
        };
        if w.retry.is_some() {
            return WrapStep::Retry(Box::new(w.intent.clone()));
        }
        let Some(done) = w.done.as_ref().filter(|_| !w.committing) else {
            return WrapStep::Idle;
        };
        let commit = Bytes::from_static(fixed::COMMIT);
        let mut stats = Map::new();
        audit::add_stats(&mut stats, done);
        let query_type = done.query_type().map(|t| t.as_str().to_owned());
        w.committing = true;
        let lsn = w.lsn;
        self.settle(lsn);
        self.queue.push_upstream(Pending {
            commit: Some(CommitLog {
                ticket: tickets.ticket(lsn),
                stats,
                query_type,
            }),
            ..Pending::new(RequestKind::Commit, Role::WrapCommit)
        });
        WrapStep::Send(commit)
    }

    /// Runs a wrapped write again once its new intent was appended (RESET, BEGIN, RUN,
    /// PULL all): the bytes to forward. If the journal cannot record it, the failure of the
    /// COMMIT answers the client's PULL instead.
    #[must_use]
    pub(crate) fn retried(&mut self, appended: Result<u64, JournalError>) -> Option<Bytes> {
        let failure = self.wrapped.as_mut().and_then(|w| w.retry.take())?;
        let lsn = match appended {
            Ok(lsn) => lsn,
            Err(e) => {
                warn!(error = %e, "a wrapped write cannot run again: the journal cannot record it");
                self.wrapped = None;
                // The answer to the client's PULL (the server failed first: shown as is).
                self.queue.push(Slot::Synthetic {
                    wire: failure,
                    close: false,
                    failure: false,
                });
                return None;
            }
        };
        let statement = self.governor.last_statement().map(|mut st| {
            st.intent = Some(lsn);
            st
        });
        let w = self.wrapped.as_mut()?;
        w.lsn = lsn;
        w.attempts += 1;
        let again = w.again.clone();
        let (fetch_kind, fetch) = w
            .fetch
            .clone()
            .unwrap_or((RequestKind::Pull, Bytes::from_static(fixed::PULL_ALL)));
        self.unresolved.push(lsn);
        self.tracker.reset_sent();
        for kind in [RequestKind::Reset, RequestKind::Begin, RequestKind::Run] {
            self.queue.push_upstream(Pending::new(kind, Role::Hidden));
        }
        self.queue.push_upstream(Pending {
            statement,
            ..Pending::new(fetch_kind, Role::Client)
        });
        Some([fixed::RESET, &again, &fetch].concat().into())
    }

    /// Holds a RECORD of a wrapped write (see [`Wrapped::records`]).
    pub(crate) fn hold_record(&mut self, record: &[u8]) -> Held {
        let Some(w) = self.wrapped.as_mut().filter(|w| !w.committing) else {
            return Held::No;
        };
        let Some(records) = w.records.as_mut() else {
            return Held::No;
        };
        if records.len() + record.len() > MAX_HELD_RECORDS {
            return Held::Overflow(w.records.take().unwrap_or_default().freeze());
        }
        records.extend_from_slice(record);
        Held::Yes
    }

    /// The writes without an outcome when the connection ends.
    pub(crate) fn unfinished(&mut self) -> Vec<Unfinished> {
        let wrapped = self.wrapped.take();
        let never_committed = wrapped.filter(|w| !w.committing).map(|w| w.lsn);
        std::mem::take(&mut self.unresolved)
            .into_iter()
            .map(|lsn| {
                if never_committed == Some(lsn) {
                    Unfinished::RolledBack(lsn)
                } else {
                    Unfinished::InDoubt(lsn)
                }
            })
            .collect()
    }

    /// Takes `lsn` off the unresolved writes; whether it was one.
    fn settle(&mut self, lsn: u64) -> bool {
        let before = self.unresolved.len();
        self.unresolved.retain(|l| *l != lsn);
        self.unresolved.len() < before
    }

    /// Moves the state for one summary (`body`: its message body); see [`SummaryStep`].
    pub(crate) fn on_summary(
        &mut self,
        env: &Env,
        body: &[u8],
    ) -> Result<SummaryStep, SessionError> {
        let response = Response::decode(body, self.dialect)
            .map_err(|e| SessionError::from(BadResponse::from(e)))?;
        let Some(summary) = Summary::of(&response) else {
            return Ok((None, None));
        };
        let pending = self
            .queue
            .answered()
            .map_err(|_| SessionError::from(BadResponse::Unrequested))?;
        let kind = pending.kind;
        env.metrics
            .upstream_round_trip
            .with_label_values(&[kind.name()])
            .observe(pending.sent.elapsed().as_secs_f64());
        self.tracker.apply(kind, summary);
        let role = pending.role;
        if role == Role::Swallow {
            return Ok((Some(Bytes::new()), None));
        }
        let auto_intent = pending
            .statement
            .as_ref()
            .and_then(|s| s.intent)
            .filter(|lsn| self.unresolved.contains(lsn));
        let success = match response {
            Response::Success(s) => s,
            Response::Failure(f) => {
                return Ok(self.on_failure(env, pending, auto_intent, f));
            }
            _ if role == Role::Hidden => {
                // IGNORED (the server failed before boltward's own request): the client's
                // request behind it is IGNORED too, and that is its one answer.
                return Ok((Some(Bytes::new()), None));
            }
            _ => {
                // IGNORED: the auto-commit was interrupted (RESET) or never ran.
                let wrapped = self.wrapped.take_if(|w| !w.committing);
                if let (Some(lsn), Some(t)) = (auto_intent, env.tickets) {
                    self.settle(lsn);
                    let reason = "interrupted before its result arrived".into();
                    let result = if wrapped.is_some() {
                        // boltward never sent its COMMIT.
                        TxResult::RolledBack { reason }
                    } else {
                        TxResult::InDoubt { reason }
                    };
                    return Ok((None, Some(Await::Outcome(t.ticket(lsn), result))));
                }
                return Ok((None, None));
            }
        };
        if let Some(answer) = pending.answer_with {
            return Ok((Some(answer), None));
        }
        match role {
            Role::Hidden => return Ok((Some(Bytes::new()), None)),
            Role::WrappedRun => {
                let mut s = success;
                let qid = s.metadata.remove("qid");
                return Ok((qid.map(|_| wire(&Response::Success(s))), None));
            }
            Role::WrapCommit => {
                let (held, records) = match self.wrapped.take() {
                    Some(w) => (w.done, w.records.unwrap_or_default()),
                    None => (None, BytesMut::new()),
                };
                let mut answer = held.unwrap_or_else(|| Success::new(Map::new()));
                if let Some(b) = success.bookmark() {
                    answer.metadata.insert("bookmark", b.to_owned());
                }
                let wait = pending.commit.map(|c| {
                    Await::Outcome(c.ticket, audit::committed(&answer, c.stats, c.query_type))
                });
                let mut out = records;
                out.extend_from_slice(&wire(&Response::Success(answer)));
                return Ok((Some(out.freeze()), wait));
            }
            Role::Client | Role::Swallow => {}
        }
        Ok(self.on_success(env, kind, pending, auto_intent, success))
    }

    fn on_failure(
        &mut self,
        env: &Env,
        pending: Pending,
        auto_intent: Option<u64>,
        f: boltward_protocol::message::Failure,
    ) -> SummaryStep {
        let (kind, role) = (pending.kind, pending.role);
        debug!(request = kind.name(), code = f.code(), "upstream FAILURE");
        self.governor.on_upstream_failure();
        let failed = || TxResult::Failed {
            code: f.code().unwrap_or("").to_owned(),
            message: f.message().unwrap_or("").to_owned(),
        };
        if role == Role::WrapCommit
            && f.code()
                .is_some_and(|c| c.starts_with("Neo.TransientError."))
        {
            // Not committed, and nothing of the result was shown: run it again unseen
            // (see `wrap_step`).
            if let Some(w) = self
                .wrapped
                .as_mut()
                .filter(|w| w.records.is_some() && w.attempts < MAX_WRAP_ATTEMPTS)
            {
                debug!(
                    code = f.code(),
                    attempt = w.attempts,
                    "wrapped auto-commit write: COMMIT failed transiently; running it again"
                );
                env.metrics.autocommit_retries.inc();
                w.retry = Some(wire(&Response::Failure(f.clone())));
                w.done = None;
                w.committing = false;
                w.records = Some(BytesMut::new());
                let wait = pending.commit.map(|c| Await::Outcome(c.ticket, failed()));
                return (Some(Bytes::new()), wait);
            }
        }
        // A wrapped transaction the failure belongs to is over without committing (the
        // failure of an earlier statement leaves it to be IGNORED).
        let wrapped = self
            .wrapped
            .take_if(|w| role != Role::Client || auto_intent == Some(w.lsn));
        if role == Role::Hidden {
            // The client sees this FAILURE as the answer to its next request; the answers
            // up to that one (IGNORED) are not shown.
            for next in self.queue.upstream_mut() {
                let last = next.role != Role::Hidden;
                next.role = Role::Swallow;
                if last {
                    break;
                }
            }
            let lsn = wrapped
                .map(|w| w.lsn)
                .filter(|l| self.unresolved.contains(l));
            if let (Some(lsn), Some(t)) = (lsn, env.tickets) {
                self.settle(lsn);
                return (None, Some(Await::Outcome(t.ticket(lsn), failed())));
            }
            return (None, None);
        }
        if let Some(c) = pending.commit {
            return (None, Some(Await::Outcome(c.ticket, failed())));
        }
        if let (Some(lsn), Some(t)) = (auto_intent, env.tickets) {
            self.settle(lsn);
            return (None, Some(Await::Outcome(t.ticket(lsn), failed())));
        }
        (None, None)
    }

    fn on_success(
        &mut self,
        env: &Env,
        kind: RequestKind,
        pending: Pending,
        auto_intent: Option<u64>,
        success: Success,
    ) -> SummaryStep {
        match kind {
            RequestKind::Hello if !success.metadata.contains_key("advertised_address") => {
                let utc = success.accepts_utc_patch();
                self.dialect = self.dialect.with_utc_patch(utc);
                (None, None)
            }
            RequestKind::Commit => (
                None,
                pending.commit.map(|c| {
                    let result = audit::committed(&success, c.stats, c.query_type);
                    Await::Outcome(c.ticket, result)
                }),
            ),
            RequestKind::Pull | RequestKind::Discard if success.has_more() => {
                // More to come: what was held is shown now, and a failed COMMIT is the
                // client's to retry.
                let held = self
                    .wrapped
                    .as_mut()
                    .filter(|w| auto_intent == Some(w.lsn))
                    .and_then(|w| w.records.take())
                    .filter(|r| !r.is_empty());
                (
                    held.map(|mut r| {
                        r.extend_from_slice(&wire(&Response::Success(success)));
                        r.freeze()
                    }),
                    None,
                )
            }
            RequestKind::Pull | RequestKind::Discard => {
                let Some(stmt) = &pending.statement else {
                    return (None, None);
                };
                let stats = success.stats();
                let wrote = success.query_type().is_some_and(|t| t.writes())
                    || stats.is_some_and(|s| s.contains_updates);
                if stmt.predicted_read && wrote {
                    env.metrics.predicted_read_wrote.inc();
                }
                self.governor
                    .on_outcome(stmt, wrote, stats, env.rates, env.policy, env.metrics);
                if let Some(w) = self.wrapped.as_mut().filter(|w| auto_intent == Some(w.lsn)) {
                    // Held until boltward's COMMIT answers (`wrap_step`).
                    w.done = Some(success);
                    return (Some(Bytes::new()), None);
                }
                (
                    None,
                    self.journal_summary(env, stmt, &success, wrote, auto_intent),
                )
            }
            RequestKind::Route => {
                let mut s = success;
                match env.members.route(&mut s, env.advertised) {
                    Ok(n) => {
                        debug!(rewritten = n, to = %env.advertised, "rewrote routing table");
                        ((n > 0).then(|| wire(&Response::Success(s))), None)
                    }
                    Err(unknown) => {
                        warn!(address = %unknown.0, "routing table refused: it names an address boltward does not front");
                        env.metrics
                            .refusals
                            .with_label_values(&["routing:unknown-member"])
                            .inc();
                        (Some(self.governor.forbidden(&unknown.to_string())), None)
                    }
                }
            }
            RequestKind::Logon | RequestKind::Hello
                if success.metadata.contains_key("advertised_address") =>
            {
                if kind == RequestKind::Hello {
                    let utc = success.accepts_utc_patch();
                    self.dialect = self.dialect.with_utc_patch(utc);
                }
                let mut s = success;
                let own = s
                    .metadata
                    .get("advertised_address")
                    .and_then(boltward_protocol::Value::as_str)
                    .map(str::to_owned);
                let to = env.members.advertised(own.as_deref(), env.advertised);
                s.rewrite_advertised_address(&to);
                (Some(wire(&Response::Success(s))), None)
            }
            _ => (None, None),
        }
    }

    /// The journal's part of a statement's final summary: fold it into the transaction, or
    /// resolve an auto-commit write.
    fn journal_summary(
        &mut self,
        env: &Env,
        stmt: &Statement,
        success: &Success,
        wrote: bool,
        auto_intent: Option<u64>,
    ) -> Option<Await> {
        let tickets = env.tickets?;
        if stmt.in_tx {
            if let Some(tx) = self.jtx.as_mut() {
                tx.summary(success, wrote);
            }
            return None;
        }
        let mut stats = Map::new();
        audit::add_stats(&mut stats, success);
        let result = audit::committed(success, stats, None);
        if let Some(lsn) = auto_intent {
            self.settle(lsn);
            return Some(Await::Outcome(tickets.ticket(lsn), result));
        }
        let info = stmt.audit.as_ref().filter(|_| wrote)?;
        let intent = audit::auto_intent(
            info,
            self.conn,
            &self.governor.actor,
            self.version,
            self.dialect.utc_datetime(),
        );
        Some(Await::Late(Box::new(intent), result))
    }
}

/// Whether an auto-commit write may run in an explicit transaction boltward opens and
/// commits (so that its commit takes its place in the journal's order like any COMMIT):
/// data writes only. Commands, `USE` and statements that commit transactions of their own
/// keep their auto-commit transaction, as Neo4j requires for some of them.
pub(crate) fn may_run_in_boltwards_transaction(c: &Classification) -> bool {
    !c.own_transactions
        && !c.explain
        && c.too_large.is_none()
        && c.classes.iter().all(|k| {
            matches!(
                k,
                Class::Read | Class::Write | Class::Procedure | Class::External | Class::Dynamic
            )
        })
}

/// A client's COMMIT that must not commit: a ROLLBACK to forward in its place, and the slot
/// that answers the client's COMMIT with `failure` once the ROLLBACK is answered.
fn rollback_instead(failure: Bytes) -> (Bytes, Slot) {
    let slot = Slot::Upstream(Pending {
        answer_with: Some(failure),
        ..Pending::new(RequestKind::Rollback, Role::Client)
    });
    (Bytes::from_static(fixed::ROLLBACK), slot)
}

/// The requests boltward sends on its own, as chunked messages. Their bytes are the same
/// in every version boltward parses (see the test), so sending one cannot fail to encode
/// and never leaves a client's request without its answer.
mod fixed {
    pub(super) const COMMIT: &[u8] = b"\x00\x02\xB0\x12\x00\x00";
    pub(super) const ROLLBACK: &[u8] = b"\x00\x02\xB0\x13\x00\x00";
    pub(super) const RESET: &[u8] = b"\x00\x02\xB0\x0F\x00\x00";
    /// PULL `{n: -1}`.
    pub(super) const PULL_ALL: &[u8] = b"\x00\x06\xB1\x3F\xA1\x81\x6E\xFF\x00\x00";
}

#[cfg(test)]
mod tests {
    use super::*;
    use boltward_protocol::handshake::PARSED_VERSIONS;
    use boltward_protocol::message::Pull;

    #[test]
    fn the_rollback_put_in_a_commits_place_is_a_rollback_in_every_version() {
        let (bytes, _) = rollback_instead(Bytes::new());
        for v in PARSED_VERSIONS {
            assert_eq!(bytes, Request::Rollback.to_wire(*v).unwrap(), "{v}");
        }
    }

    #[test]
    fn boltwards_own_requests_have_the_same_bytes_in_every_version() {
        for v in PARSED_VERSIONS {
            let wire = |r: Request| r.to_wire(*v).unwrap();
            assert_eq!(fixed::COMMIT, wire(Request::Commit), "{v}");
            assert_eq!(fixed::ROLLBACK, wire(Request::Rollback), "{v}");
            assert_eq!(fixed::RESET, wire(Request::Reset), "{v}");
            assert_eq!(fixed::PULL_ALL, wire(Request::Pull(Pull::new(-1))), "{v}");
        }
    }
}
