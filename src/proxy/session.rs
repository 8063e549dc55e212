//! One proxied connection: handshake relay, then two loops sharing one state.
//!
//! - client → server: decode every request, track it, forward the original bytes.
//! - server → client: scan the stream, relay RECORDs and unchanged summaries as the
//!   original bytes, decode each summary to move the server state, and rewrite only what
//!   must change (routing tables, advertised addresses).
//!
//! Requests and their answers are matched through one FIFO of slots. A slot is either
//! "answered by the upstream" or a synthetic answer boltward wrote itself; synthetic
//! answers are written only when they reach the head, so the client always sees answers
//! in request order. Backpressure is end to end: each loop awaits its writes before it
//! reads again, so a slow reader slows the writer behind it instead of growing a buffer.

use super::audit::{self, Await, CommitLog, Step, TxLog};
use super::error::SessionError;
use super::govern::{wire, Action, Governor, Statement};
use super::handshake::{read_client_hello, relay, Negotiated};
use super::Context;
use crate::cypher::{classify_limited, Classification};
use crate::policy::Actor;
use crate::upstream::BoxStream;
use boltward_protocol::chunk::{body_of, scan, ChunkDecoder, Frame};
use boltward_protocol::handshake::{NO_VERSION, PARSED_VERSIONS};
use boltward_protocol::message::{
    split_auto_commit_run, Extra, Failure, Response, ResponseKind, Success,
};
use boltward_protocol::state::{ServerState, Summary, Tracker};
use boltward_protocol::{Dialect, Request, RequestKind, Version};
use bytes::{Buf, Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;
use tracing::{debug, info, warn, Span};

/// Buffers larger than this are released once empty, so idle connections stay small.
const KEEP_BUFFER: usize = 64 * 1024;
/// How long to wait for the server to close after GOODBYE.
const GOODBYE_GRACE: Duration = Duration::from_secs(2);

/// Who asked for a request the upstream answers. boltward runs an auto-commit write as an
/// explicit transaction it opens and commits itself (see [`Wrapped`]); the client never
/// sees the answers to the requests boltward added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
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
    /// What a retry journals and sends again.
    intent: boltward_journal::Intent,
    again: Bytes,
    attempts: u32,
    /// A retry is due; the failure to show if it cannot be made.
    retry: Option<Bytes>,
}

/// RECORDs of a wrapped write held at most (beyond, they are shown and a failed COMMIT
/// is the client's to retry).
const MAX_HELD_RECORDS: usize = 256 * 1024;
/// Times a wrapped write whose COMMIT failed with a transient error is run again.
const MAX_WRAP_ATTEMPTS: u32 = 3;

/// A request the upstream answers.
struct Pending {
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

/// What answers a request (see [`super::fifo`]).
type Slot = super::fifo::Slot<Pending>;

struct Inner {
    tracker: Tracker,
    governor: Governor,
    dialect: Dialect,
    queue: super::fifo::Fifo<Pending>,
    last_activity: Instant,
    /// The explicit transaction being recorded for the journal.
    jtx: Option<TxLog>,
    /// An auto-commit write whose intent is journaled and whose outcome is not yet.
    unresolved: Option<u64>,
    /// The auto-commit write running in a transaction boltward opened.
    wrapped: Option<Wrapped>,
    /// Write work admitted through the gate, released when the session is idle again
    /// (write barriers wait for it).
    write_slot: Option<crate::gate::WriteSlot>,
}

impl Inner {
    /// No request in flight and no transaction or stream open.
    fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && matches!(
                self.tracker.state(),
                ServerState::Negotiation
                    | ServerState::Authentication
                    | ServerState::Ready
                    | ServerState::Failed
            )
    }
}

/// State both loops of a session share.
struct Shared {
    inner: Mutex<Inner>,
    synthetic: AtomicUsize,
    wake: Notify,
    /// Signalled whenever an upstream answer completes a slot.
    answered: Notify,
    version: Version,
    /// This connection's id in the journal.
    conn: u64,
    /// The upstream generation this session is connected to.
    generation: u64,
    /// The upstream was switched (promotion): finish the work in flight, then close.
    retired: std::sync::atomic::AtomicBool,
    /// RECORDs may have to be held (a wrapped write is running); cleared lazily.
    holding: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn new(version: Version, actor: Actor, conn: u64, journaling: bool, generation: u64) -> Self {
        Shared {
            inner: Mutex::new(Inner {
                tracker: Tracker::new(version),
                governor: Governor::new(version, actor, journaling),
                dialect: Dialect::new(version),
                queue: Default::default(),
                last_activity: Instant::now(),
                jtx: None,
                unresolved: None,
                wrapped: None,
                write_slot: None,
            }),
            synthetic: AtomicUsize::new(0),
            wake: Notify::new(),
            answered: Notify::new(),
            version,
            conn,
            generation,
            retired: std::sync::atomic::AtomicBool::new(false),
            holding: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock means a panic in a loop that already ended the session.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push_synthetic(&self, wire: Bytes, close: bool, failure: bool) {
        self.push(Slot::Synthetic {
            wire,
            close,
            failure,
        });
    }

    /// Queues the slot that answers the next forwarded (or refused) request; a synthetic
    /// answer wakes the server loop, which writes it once it reaches the head.
    fn push(&self, slot: Slot) {
        let synthetic = matches!(slot, Slot::Synthetic { .. });
        self.lock().queue.push(slot);
        if synthetic {
            self.synthetic.fetch_add(1, Ordering::Release);
            self.wake.notify_one();
        }
    }

    /// No request in flight and no transaction or stream open.
    fn is_idle(&self) -> bool {
        self.lock().is_idle()
    }

    /// Keeps `slot` until the session is idle again (at once if it already is).
    fn hold_write(&self, slot: crate::gate::WriteSlot) {
        let mut inner = self.lock();
        if !inner.is_idle() {
            inner.write_slot = Some(slot);
        }
    }

    /// Ends the admitted write work once its transaction or auto-commit is over.
    fn release_write_if_idle(&self) {
        let mut inner = self.lock();
        if inner.write_slot.is_some() && inner.is_idle() {
            inner.write_slot = None;
        }
    }

    fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Waits until every forwarded request has its answer.
    async fn upstream_caught_up(&self) {
        loop {
            let answered = self.answered.notified();
            if !self.lock().queue.awaiting_upstream() {
                return;
            }
            answered.await;
        }
    }

    /// Holds a RECORD of a wrapped write (see [`Wrapped::records`]).
    fn hold_record(&self, record: &[u8]) -> Held {
        if !self.holding.load(Ordering::Acquire) {
            return Held::No;
        }
        let mut inner = self.lock();
        let Some(w) = inner.wrapped.as_mut().filter(|w| !w.committing) else {
            self.holding.store(false, Ordering::Release);
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

    fn touch(&self) {
        self.lock().last_activity = Instant::now();
    }
}

/// What became of a RECORD offered to [`Shared::hold_record`].
enum Held {
    /// Relay it.
    No,
    /// Held.
    Yes,
    /// Too many: write these held ones, then relay it (and the rest).
    Overflow(Bytes),
}

/// How the client loop ended.
enum ClientEnd {
    /// The client closed its side (or was closed for idleness / shutdown).
    Closed,
    /// Let the server loop finish writing, bounded.
    Drain(Duration),
}

/// Serves one accepted client connection to completion.
pub(crate) async fn run(
    ctx: Arc<Context>,
    mut client: BoxStream,
    peer: SocketAddr,
    cert_subject: Option<String>,
    conn: u64,
) -> Result<(), SessionError> {
    let limits = &ctx.config.limits;
    let handshake_timeout = Duration::from_millis(limits.handshake_timeout_ms);
    let mut client_buf = BytesMut::new();
    let hello = tokio::time::timeout(
        handshake_timeout,
        read_client_hello(&mut client, &mut client_buf),
    )
    .await
    .map_err(|_| SessionError::HandshakeTimeout(handshake_timeout))??;
    if hello.common_versions(PARSED_VERSIONS).is_empty() {
        info!(proposals = ?hello.proposals, "client proposes no Bolt version boltward supports (4.4, 5.0-5.8, 6.0); answered 00 00 00 00");
        client
            .write_all(&NO_VERSION)
            .await
            .map_err(SessionError::client)?;
        return Ok(());
    }
    let current = ctx.upstream.current();
    let mut upstream = match current.connector.connect().await {
        Ok(u) => u,
        Err(e) => {
            let kind = match &e {
                crate::upstream::ConnectError::Timeout { .. } => "timeout",
                crate::upstream::ConnectError::Tls { .. } => "tls",
                _ => "connect",
            };
            ctx.metrics.upstream_errors.with_label_values(&[kind]).inc();
            return Err(e.into());
        }
    };
    let mut upstream_buf = BytesMut::new();
    let negotiated = tokio::time::timeout(
        handshake_timeout,
        relay(
            &hello,
            &mut client,
            &mut client_buf,
            &mut upstream,
            &mut upstream_buf,
        ),
    )
    .await
    .map_err(|_| SessionError::HandshakeTimeout(handshake_timeout))??;
    let version = match negotiated {
        Negotiated::Version(v) => v,
        Negotiated::None => {
            info!("client and upstream share no Bolt version");
            return Ok(());
        }
    };
    Span::current().record("bolt", tracing::field::display(version));
    debug!("handshake complete");

    let actor = Actor {
        address: Some(peer.ip()),
        cert_subject,
        ..Actor::default()
    };
    let shared = Shared::new(
        version,
        actor,
        conn,
        ctx.journal.is_some(),
        current.generation,
    );
    let (client_r, client_w) = tokio::io::split(client);
    let (upstream_r, upstream_w) = tokio::io::split(upstream);
    let result = {
        let c2s = client_to_server(&ctx, &shared, client_r, client_buf, upstream_w);
        let s2c = server_to_client(&ctx, &shared, upstream_r, upstream_buf, client_w);
        tokio::pin!(s2c);
        let end = tokio::select! {
            end = c2s => end,
            r = &mut s2c => r.map(|_| ClientEnd::Closed),
        };
        match end {
            Ok(ClientEnd::Drain(limit)) => tokio::time::timeout(limit, s2c).await.unwrap_or(Ok(())),
            Ok(ClientEnd::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    };
    let (unresolved, wrapped) = {
        let mut inner = shared.lock();
        (inner.unresolved.take(), inner.wrapped.take())
    };
    if let (Some(lsn), Some(journal)) = (unresolved, &ctx.journal) {
        if wrapped.is_some_and(|w| w.lsn == lsn && !w.committing) {
            // boltward never sent its COMMIT: the server rolls it back with the connection.
            let result = boltward_journal::TxResult::RolledBack {
                reason: "the connection ended before the statement committed".into(),
            };
            if let Err(e) = journal.ticket(lsn).resolve(result).await {
                warn!(error = %e, lsn, "the outcome of a write that did not commit could not be journaled; it stays in doubt");
            }
        } else {
            journal.in_doubt(
                lsn,
                "the connection ended before the auto-commit result arrived",
            );
        }
    }
    result
}

/// Reads requests from the client, tracks them and forwards their original bytes.
async fn client_to_server(
    ctx: &Context,
    shared: &Shared,
    mut client: ReadHalf<BoxStream>,
    mut buf: BytesMut,
    mut upstream: WriteHalf<BoxStream>,
) -> Result<ClientEnd, SessionError> {
    let limits = &ctx.config.limits;
    let mut decoder = ChunkDecoder::new(limits.max_message_size);
    let idle =
        (limits.idle_timeout_secs > 0).then(|| Duration::from_secs(limits.idle_timeout_secs));
    let mut draining = ctx.draining.clone();
    let mut switched = ctx.upstream.subscribe();
    // After a promotion: when this connection is closed even if still busy.
    let mut retire_by: Option<tokio::time::Instant> = None;
    let mut out = BytesMut::new();
    // When the buffered requests arrived, and how many of them are in `out` (the
    // added-latency histogram: arrival to forwarded).
    let mut read_at = Instant::now();
    let mut unobserved = 0usize;
    let added = ctx.metrics.added_latency.with_label_values(&["request"]);
    let observe = |n: &mut usize, since: Instant| {
        let secs = since.elapsed().as_secs_f64();
        for _ in 0..std::mem::take(n) {
            added.observe(secs);
        }
    };
    loop {
        // Forward every complete request already buffered in one write.
        loop {
            let frame = match decoder.decode(&mut buf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(source) => {
                    warn!(error = %source, "closing: invalid framing from client");
                    return refuse_and_close(
                        shared,
                        &mut upstream,
                        &out,
                        format!("boltward: {source}"),
                    )
                    .await;
                }
            };
            let Frame::Message(msg) = frame else {
                out.extend_from_slice(&[0, 0]); // NOOP keep-alive: pass it on
                continue;
            };
            let dialect = shared.lock().dialect;
            let request = match Request::decode(&msg.body(), dialect) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "closing: invalid request from client");
                    let message = format!("boltward: invalid request: {e}");
                    return refuse_and_close(shared, &mut upstream, &out, message).await;
                }
            };
            let kind = request.kind();
            ctx.metrics.messages.with_label_values(&[kind.name()]).inc();
            if kind == RequestKind::Commit {
                // Budgets and predictions need every summary of the transaction first.
                let caught_up = async {
                    send(&mut upstream, &mut out).await?;
                    shared.upstream_caught_up().await;
                    Ok(())
                };
                if watching_client(caught_up, &mut client, &mut buf, &ctx.metrics.bytes_in)
                    .await?
                    .is_none()
                {
                    return Ok(ClientEnd::Closed);
                }
                observe(&mut unobserved, read_at);
            }
            if !matches!(
                kind,
                RequestKind::Pull
                    | RequestKind::Discard
                    | RequestKind::Reset
                    | RequestKind::Goodbye
            ) && shared
                .lock()
                .wrapped
                .as_ref()
                .is_some_and(|w| w.done.is_none())
            {
                // What a server answers in an auto-commit transaction's STREAMING state.
                let answer = shared.lock().governor.invalid(&format!(
                    "boltward: {} cannot be sent while the result of an auto-commit query is open; consume or discard it first",
                    kind.name()
                ));
                shared.push_synthetic(answer, false, true);
                continue;
            }
            let policy = ctx.policy();
            let classified = verified_classification(ctx, shared, &request).await;
            let wrappable = ctx.journal.is_some()
                && classified
                    .as_ref()
                    .is_some_and(may_run_in_boltwards_transaction);
            let mut write_slot = None;
            if holds_writes(shared, &request, classified.as_ref()) {
                let limit = Duration::from_secs(ctx.config.writes.pause_timeout_secs);
                if ctx.gate.is_paused() {
                    debug!("write held: writes are paused");
                }
                let Some(entered) = watching_client(
                    async { Ok(ctx.gate.enter(limit).await) },
                    &mut client,
                    &mut buf,
                    &ctx.metrics.bytes_in,
                )
                .await?
                else {
                    return Ok(ClientEnd::Closed);
                };
                let Some(slot) = entered else {
                    let answer = shared.lock().governor.transient(&format!(
                        "boltward: writes are paused for maintenance and were not resumed within {}s; retry",
                        limit.as_secs()
                    ));
                    shared.push_synthetic(answer, false, true);
                    continue;
                };
                if ctx.upstream.generation() != shared.generation {
                    // Promoted while this connection points at the old server: no write
                    // may land there. Drivers retry transient errors on a new connection.
                    info!("write refused on a connection to the previous upstream; closing it");
                    upstream
                        .write_all(&out)
                        .await
                        .map_err(SessionError::upstream)?;
                    let answer = shared.lock().governor.transient(
                        "boltward: the upstream was switched (restore promoted); reconnect and retry",
                    );
                    shared.push_synthetic(answer, true, true);
                    return Ok(ClientEnd::Drain(GOODBYE_GRACE));
                }
                write_slot = Some(slot);
            }
            let body = if kind == RequestKind::Run || kind == RequestKind::Begin {
                msg.body()
            } else {
                Bytes::new()
            };
            let admitted = admit(
                ctx,
                shared,
                &policy,
                &request,
                kind,
                msg.into_raw(),
                body,
                classified,
                wrappable,
            );
            if matches!(
                kind,
                RequestKind::Hello | RequestKind::Logon | RequestKind::Begin
            ) {
                note_identity(&request, &shared.lock().governor.actor);
            }
            let Some(forward) = journal_step(ctx, shared, admitted).await else {
                continue;
            };
            if let Some(slot) = write_slot {
                shared.hold_write(slot);
            }
            out.extend_from_slice(&forward);
            unobserved += 1;
            if matches!(kind, RequestKind::Pull | RequestKind::Discard)
                && shared.lock().wrapped.is_some()
            {
                // A wrapped write: once its final summary is in, commit it (and run it
                // again if the COMMIT fails transiently) before anything the client
                // sends next.
                let wrap = async {
                    send(&mut upstream, &mut out).await?;
                    loop {
                        shared.upstream_caught_up().await;
                        let Some(next) = next_wrap_step(ctx, shared).await else {
                            return Ok(());
                        };
                        upstream
                            .write_all(&next)
                            .await
                            .map_err(SessionError::upstream)?;
                    }
                };
                if watching_client(wrap, &mut client, &mut buf, &ctx.metrics.bytes_in)
                    .await?
                    .is_none()
                {
                    return Ok(ClientEnd::Closed);
                }
                observe(&mut unobserved, read_at);
            }
            if kind == RequestKind::Goodbye {
                upstream
                    .write_all(&out)
                    .await
                    .map_err(SessionError::upstream)?;
                let _ = upstream.shutdown().await;
                debug!("client said GOODBYE");
                return Ok(ClientEnd::Drain(GOODBYE_GRACE));
            }
        }
        if !out.is_empty() {
            let buffered = buf.len();
            let sent = send(&mut upstream, &mut out);
            if watching_client(sent, &mut client, &mut buf, &ctx.metrics.bytes_in)
                .await?
                .is_none()
            {
                return Ok(ClientEnd::Closed);
            }
            observe(&mut unobserved, read_at);
            if buf.len() > buffered {
                // The client sent more while this was forwarded: decode it before waiting
                // for the client again (it may be waiting for the answer to it).
                read_at = Instant::now();
                continue;
            }
        }
        if buf.is_empty() && buf.capacity() > KEEP_BUFFER {
            buf = BytesMut::new();
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(8192);
        }
        let idle_sleep = async {
            match idle {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let retire_sleep = async {
            match retire_by {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            n = client.read_buf(&mut buf) => {
                let n = n.map_err(SessionError::client)?;
                read_at = Instant::now();
                ctx.metrics.bytes_in.inc_by(n as u64);
                if n == 0 {
                    debug!("client closed the connection");
                    return Ok(ClientEnd::Closed);
                }
            }
            changed = draining.changed(), if !*draining.borrow() => {
                if changed.is_err() || shared.is_idle() {
                    debug!("closing idle connection for shutdown");
                    return Ok(ClientEnd::Closed);
                }
            }
            changed = switched.changed(), if retire_by.is_none() => {
                if changed.is_ok() && switched.borrow_and_update().generation != shared.generation {
                    if shared.is_idle() {
                        debug!("closing idle connection to the previous upstream");
                        return Ok(ClientEnd::Closed);
                    }
                    shared.retired.store(true, Ordering::Release);
                    shared.wake.notify_one();
                    let drain = Duration::from_secs(ctx.config.restore.drain_secs);
                    retire_by = Some(tokio::time::Instant::now() + drain);
                }
            }
            _ = retire_sleep => {
                warn!("closing busy connection to the previous upstream: drain time is over");
                return Ok(ClientEnd::Closed);
            }
            _ = idle_sleep => {
                let quiet = shared.lock().last_activity.elapsed();
                if idle.is_some_and(|d| quiet >= d) && shared.is_idle() {
                    info!(idle_secs = quiet.as_secs(), "closing idle connection");
                    return Ok(ClientEnd::Closed);
                }
            }
        }
    }
}

/// Client bytes buffered while the client loop waits on something else, at most (the
/// client is then slowed by TCP, as when boltward does not read).
const MAX_BUFFERED_WHILE_WAITING: usize = 1024 * 1024;

/// Runs `work` (forwarding to a server that may not read, waiting for answers, waiting at
/// the write gate) while still reading the client: what it sends meanwhile is kept in
/// `buf` for later, and if it hangs up the wait ends at once (`None`) instead of leaving
/// the upstream connection open behind a client that is gone.
async fn watching_client<T>(
    work: impl std::future::Future<Output = Result<T, SessionError>>,
    client: &mut ReadHalf<BoxStream>,
    buf: &mut BytesMut,
    bytes_in: &prometheus::IntCounter,
) -> Result<Option<T>, SessionError> {
    tokio::pin!(work);
    let mut open = true;
    loop {
        tokio::select! {
            done = &mut work => return done.map(Some),
            n = client.read_buf(buf), if open && buf.len() < MAX_BUFFERED_WHILE_WAITING => {
                match n {
                    Ok(0) => {
                        debug!("client closed the connection while boltward was waiting");
                        return Ok(None);
                    }
                    Ok(n) => bytes_in.inc_by(n as u64),
                    // Reported when the client loop reads again.
                    Err(_) => open = false,
                }
            }
        }
    }
}

/// Forwards what `out` holds, and empties it.
async fn send(upstream: &mut WriteHalf<BoxStream>, out: &mut BytesMut) -> Result<(), SessionError> {
    upstream
        .write_all(out)
        .await
        .map_err(SessionError::upstream)?;
    out.clear();
    Ok(())
}

/// Whether an auto-commit write may run in an explicit transaction boltward opens and
/// commits (so that its commit takes its place in the journal's order like any COMMIT):
/// data writes only. Commands, `USE` and statements that commit transactions of their own
/// keep their auto-commit transaction, as Neo4j requires for some of them.
fn may_run_in_boltwards_transaction(c: &Classification) -> bool {
    use crate::cypher::Class;
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

/// What a wrapped write needs sent next, once every answer is in: its COMMIT, or, after a
/// COMMIT that failed transiently, the same statement again (RESET, BEGIN, RUN, PULL all,
/// under a new intent). `None` when nothing is due (the stream has more, the write is
/// over, or the COMMIT is in flight).
async fn next_wrap_step(ctx: &Context, shared: &Shared) -> Option<Bytes> {
    let journal = ctx.journal.as_ref()?;
    let retry = {
        let mut inner = shared.lock();
        let w = inner.wrapped.as_mut()?;
        w.retry
            .take()
            .map(|failure| (failure, w.intent.clone(), w.again.clone()))
    };
    let Some((failure, intent, again)) = retry else {
        return commit_wrapped(journal, shared);
    };
    let reset = Request::Reset.to_wire(shared.version).ok()?;
    let pull = Request::Pull(boltward_protocol::message::Pull::new(-1))
        .to_wire(shared.version)
        .ok()?;
    let lsn = match journal
        .append(boltward_journal::Entry::Intent(intent))
        .await
    {
        Ok(lsn) => lsn,
        Err(e) => {
            warn!(error = %e, "a wrapped write cannot run again: the journal cannot record it");
            let mut inner = shared.lock();
            inner.wrapped = None;
            drop(inner);
            // The answer to the client's PULL (the server failed first: shown as is).
            shared.push_synthetic(failure, false, false);
            return None;
        }
    };
    let mut inner = shared.lock();
    let statement = inner.governor.last_statement().map(|mut st| {
        st.intent = Some(lsn);
        st
    });
    let w = inner.wrapped.as_mut()?;
    w.lsn = lsn;
    w.attempts += 1;
    inner.unresolved = Some(lsn);
    let hidden = |kind| Pending {
        kind,
        role: Role::Hidden,
        statement: None,
        answer_with: None,
        sent: Instant::now(),
        commit: None,
    };
    inner.tracker.reset_sent();
    inner.queue.push_upstream(hidden(RequestKind::Reset));
    inner.queue.push_upstream(hidden(RequestKind::Begin));
    inner.queue.push_upstream(hidden(RequestKind::Run));
    inner.queue.push_upstream(Pending {
        kind: RequestKind::Pull,
        role: Role::Client,
        statement,
        answer_with: None,
        sent: Instant::now(),
        commit: None,
    });
    Some([reset, again, pull].concat().into())
}

/// The COMMIT of a wrapped write whose final summary arrived: its ticket (its place in
/// the journal's order) is taken first.
fn commit_wrapped(journal: &crate::journal::Journal, shared: &Shared) -> Option<Bytes> {
    let commit = Request::Commit.to_wire(shared.version).ok()?;
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let w = inner.wrapped.as_mut().filter(|w| !w.committing)?;
    let done = w.done.as_ref()?;
    let mut stats = boltward_protocol::Map::new();
    audit::add_stats(&mut stats, done);
    let query_type = done.query_type().map(|t| t.as_str().to_owned());
    w.committing = true;
    let lsn = w.lsn;
    inner.unresolved = None;
    inner.queue.push_upstream(Pending {
        kind: RequestKind::Commit,
        role: Role::WrapCommit,
        statement: None,
        answer_with: None,
        sent: Instant::now(),
        commit: Some(CommitLog {
            ticket: journal.ticket(lsn),
            stats,
            query_type,
        }),
    });
    Some(commit)
}

/// Whether the write gate applies: a BEGIN in write mode, or an auto-commit RUN that may
/// change data. Work inside an open transaction is never held (it finishes).
fn holds_writes(shared: &Shared, request: &Request, classified: Option<&Classification>) -> bool {
    use boltward_protocol::message::AccessMode;
    let candidate = match request {
        Request::Begin(b) => b.mode() == AccessMode::Write,
        Request::Run(_) => classified.is_some_and(|c| !c.is_read()),
        _ => false,
    };
    if !candidate {
        return false; // most requests: no lock taken
    }
    let inner = shared.lock();
    !inner.governor.is_failed() && (matches!(request, Request::Begin(_)) || !inner.governor.in_tx())
}

/// Classifies a RUN and, when the classifier cannot decide and verification is on, asks
/// the server (EXPLAIN) on boltward's own connection.
async fn verified_classification(
    ctx: &Context,
    shared: &Shared,
    request: &Request,
) -> Option<Classification> {
    let Request::Run(run) = request else {
        return None;
    };
    let mut c = classify_limited(&run.query, ctx.config.limits.max_statement_bytes);
    let Some(verifier) = ctx.verifier.as_ref().filter(|_| c.verify) else {
        return Some(c);
    };
    let db = {
        let inner = shared.lock();
        if inner.governor.is_failed() {
            return Some(c);
        }
        inner.governor.target_db(run)
    };
    if let Some(t) = verifier
        .query_type(db.as_deref(), &run.query, &run.parameters)
        .await
    {
        super::verify::apply(&mut c, t);
    }
    Some(c)
}

/// A request after governance: what to forward, the slot that answers it (queued by
/// [`journal_step`] once the journal has what it needs), and the journal's step.
struct Admitted {
    forward: Option<Bytes>,
    slot: Option<Slot>,
    step: Step,
    /// An auto-commit write to run in a transaction of boltward's: BEGIN and RUN to
    /// forward instead of the client's RUN, once its intent is durable.
    wrap: Option<(Bytes, Bytes)>,
}

/// Runs governance on one request; see [`Admitted`].
#[allow(clippy::too_many_arguments)]
fn admit(
    ctx: &Context,
    shared: &Shared,
    policy: &crate::policy::Policy,
    request: &Request,
    kind: RequestKind,
    raw: Bytes,
    body: Bytes,
    classified: Option<Classification>,
    wrappable: bool,
) -> Admitted {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let (action, statement) =
        inner
            .governor
            .on_request(request, policy, &ctx.rates, classified, &ctx.metrics);
    inner.last_activity = Instant::now();
    let decided = inner.governor.decided.take().map(|mut d| {
        d.body = body.clone();
        d
    });
    let journaling = ctx.journal.is_some();
    let version = shared.version;
    let utc = inner.dialect.utc_datetime();
    match action {
        Action::Answer { wire, failure } => {
            let step = match decided {
                Some(d) if journaling && d.verdict == crate::policy::Outcome::Deny => {
                    Step::Refusal(audit::refusal(
                        &d,
                        shared.conn,
                        &inner.governor.actor,
                        version,
                    ))
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
            let jtx = inner.jtx.take();
            let rolled_back = inner.governor.rolled_back.take();
            let step = match (jtx, rolled_back) {
                (Some(tx), Some((rule, reason))) if journaling && tx.wrote => {
                    Step::Refusal(boltward_journal::Refusal {
                        conn: shared.conn,
                        actor: audit::actor(&inner.governor.actor, tx.claimed.clone()),
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
            let mut statement = statement;
            match kind {
                RequestKind::Reset => {
                    inner.tracker.reset_sent();
                    inner.jtx = None;
                    // A wrapped write reset before its COMMIT was sent never commits.
                    if let Some(w) = inner.wrapped.take_if(|w| !w.committing) {
                        if inner.unresolved == Some(w.lsn) {
                            inner.unresolved = None;
                            step = Step::Outcome(
                                w.lsn,
                                boltward_journal::TxResult::RolledBack {
                                    reason: "reset before its result was consumed".into(),
                                },
                            );
                        }
                    }
                }
                RequestKind::Rollback => inner.jtx = None,
                RequestKind::Begin if journaling => {
                    inner.jtx = Some(TxLog {
                        begin: Some(body),
                        ..TxLog::default()
                    });
                }
                RequestKind::Run if journaling => {
                    if let (Some(d), Some(stmt)) = (decided, statement.as_mut()) {
                        if let Some(tx) = inner.jtx.as_mut().filter(|_| stmt.in_tx) {
                            tx.add(&d, version);
                        } else if !d.read {
                            wrap = wrappable
                                .then(|| split_auto_commit_run(&body, inner.dialect).ok())
                                .flatten();
                            step = Step::AutoIntent(audit::auto_intent(
                                &d,
                                shared.conn,
                                &inner.governor.actor,
                                version,
                                utc,
                            ));
                        } else {
                            stmt.audit = Some(std::sync::Arc::new(d));
                        }
                    }
                }
                RequestKind::Commit if journaling => {
                    if let Some(tx) = inner.jtx.take().filter(|t| t.wrote) {
                        let intent = tx.intent(shared.conn, &inner.governor.actor, version, utc);
                        step = Step::CommitIntent(intent, tx.stats, tx.query_type);
                    }
                }
                _ => {}
            }
            let slot = (kind != RequestKind::Goodbye).then(|| {
                Slot::Upstream(Pending {
                    kind,
                    role: if wrap.is_some() {
                        Role::WrappedRun
                    } else {
                        Role::Client
                    },
                    statement,
                    answer_with: None,
                    sent: Instant::now(),
                    commit: None,
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

/// A client's COMMIT that must not commit: a ROLLBACK to forward in its place, and the slot
/// that answers the client's COMMIT with `failure` once the ROLLBACK is answered.
fn rollback_instead(failure: Bytes) -> (Bytes, Slot) {
    // ROLLBACK has no fields: the same bytes in every version.
    const ROLLBACK: &[u8] = b"\x00\x02\xB0\x13\x00\x00";
    let slot = Slot::Upstream(Pending {
        kind: RequestKind::Rollback,
        role: Role::Client,
        statement: None,
        answer_with: Some(failure),
        sent: Instant::now(),
        commit: None,
    });
    (Bytes::from_static(ROLLBACK), slot)
}

/// Journals what must be durable before `admitted` is forwarded, queues its slot, and
/// returns the bytes to forward. When the journal cannot write, a write is refused with a
/// transient error (a COMMIT becomes a ROLLBACK) and reads are untouched.
async fn journal_step(ctx: &Context, shared: &Shared, admitted: Admitted) -> Option<Bytes> {
    let Admitted {
        mut forward,
        mut slot,
        step,
        wrap,
    } = admitted;
    let journal = ctx.journal.as_ref();
    match (step, journal) {
        (Step::None, _) | (_, None) => {}
        (Step::Refusal(r), Some(j)) => j.record(boltward_journal::Entry::Refusal(r)),
        (Step::Outcome(lsn, result), Some(j)) => {
            if let Err(e) = j.ticket(lsn).resolve(result).await {
                warn!(error = %e, lsn, "the outcome of a write that did not commit could not be journaled; it stays in doubt");
            }
        }
        (Step::AutoIntent(intent), Some(j)) => {
            let again = wrap.as_ref().map(|_| intent.clone());
            match j.append(boltward_journal::Entry::Intent(intent)).await {
                Ok(lsn) => {
                    let mut inner = shared.lock();
                    inner.governor.set_last_intent(lsn);
                    inner.unresolved = Some(lsn);
                    if let Some(Slot::Upstream(p)) = &mut slot {
                        if let Some(st) = &mut p.statement {
                            st.intent = Some(lsn);
                        }
                    }
                    if let (Some((begin, run)), Some(intent)) = (wrap, again) {
                        let again: Bytes = [begin, run].concat().into();
                        inner.wrapped = Some(Wrapped {
                            lsn,
                            done: None,
                            committing: false,
                            records: Some(BytesMut::new()),
                            intent,
                            again: again.clone(),
                            attempts: 1,
                            retry: None,
                        });
                        shared.holding.store(true, Ordering::Release);
                        inner.queue.push_upstream(Pending {
                            kind: RequestKind::Begin,
                            role: Role::Hidden,
                            statement: None,
                            answer_with: None,
                            sent: Instant::now(),
                            commit: None,
                        });
                        forward = Some(again);
                    }
                }
                Err(e) => {
                    let answer = shared.lock().governor.transient(&format!(
                        "boltward: the write was not run because the journal cannot record it ({e}); retry later"
                    ));
                    forward = None;
                    slot = Some(Slot::Synthetic {
                        wire: answer,
                        close: false,
                        failure: true,
                    });
                }
            }
        }
        (Step::CommitIntent(intent, stats, query_type), Some(j)) => {
            match j.append(boltward_journal::Entry::Intent(intent)).await {
                Ok(lsn) => {
                    if let Some(Slot::Upstream(p)) = &mut slot {
                        p.commit = Some(CommitLog {
                            ticket: j.ticket(lsn),
                            stats,
                            query_type,
                        });
                    }
                }
                Err(e) => {
                    let answer = shared.lock().governor.transient(&format!(
                        "boltward: the transaction was rolled back because the journal cannot record it ({e}); retry later"
                    ));
                    let (rollback, instead) = rollback_instead(answer);
                    forward = Some(rollback);
                    slot = Some(instead);
                }
            }
        }
    }
    if let Some(slot) = slot {
        shared.push(slot);
    }
    forward
}

/// Forwards what was already accepted, then answers `Request.Invalid` (in request order)
/// and ends the session once that answer is written.
async fn refuse_and_close(
    shared: &Shared,
    upstream: &mut WriteHalf<BoxStream>,
    accepted: &[u8],
    message: String,
) -> Result<ClientEnd, SessionError> {
    upstream
        .write_all(accepted)
        .await
        .map_err(SessionError::upstream)?;
    let failure = Failure::invalid_request(shared.version, &message);
    shared.push_synthetic(wire(&Response::Failure(failure)), true, true);
    Ok(ClientEnd::Drain(GOODBYE_GRACE))
}

/// Records who is connecting in the connection's span, as governance read it from
/// HELLO/LOGON (never the credentials).
fn note_identity(request: &Request, actor: &Actor) {
    let span = Span::current();
    match request {
        Request::Hello(_) | Request::Logon(_) => {
            if let (Request::Hello(_), Some(ua)) = (request, &actor.user_agent) {
                span.record("user_agent", ua.as_str());
            }
            if let Some(p) = &actor.principal {
                span.record("principal", p.as_str());
            }
            if matches!(request, Request::Hello(h) if h.routing().is_some()) {
                debug!("routing client (neo4j://)");
            }
        }
        Request::Begin(b) => debug!(db = b.db(), "BEGIN"),
        _ => {}
    }
}

/// Reads the server stream and relays it, decoding only summaries.
async fn server_to_client(
    ctx: &Context,
    shared: &Shared,
    mut upstream: ReadHalf<BoxStream>,
    mut buf: BytesMut,
    mut client: WriteHalf<BoxStream>,
) -> Result<(), SessionError> {
    let max = ctx.config.limits.max_message_size;
    let draining = ctx.draining.clone();
    loop {
        if relay_buffered(ctx, shared, &mut buf, &mut client, max).await? {
            let _ = client.shutdown().await;
            return Ok(());
        }
        shared.release_write_if_idle();
        if (*draining.borrow() || shared.is_retired()) && shared.is_idle() {
            debug!("closing connection for shutdown or promotion: work finished");
            let _ = client.shutdown().await;
            return Ok(());
        }
        if buf.is_empty() && buf.capacity() > KEEP_BUFFER {
            buf = BytesMut::new();
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(16 * 1024);
        }
        tokio::select! {
            n = upstream.read_buf(&mut buf) => {
                if n.map_err(SessionError::upstream)? == 0 {
                    relay_buffered(ctx, shared, &mut buf, &mut client, max).await?;
                    debug!("upstream closed the connection");
                    let _ = client.shutdown().await;
                    return Ok(());
                }
                shared.touch();
            }
            _ = shared.wake.notified() => {}
        }
    }
}

/// Writes every synthetic answer at the head of the queue; `true` if one closes the session.
async fn flush_synthetic(
    shared: &Shared,
    client: &mut WriteHalf<BoxStream>,
    metrics: &crate::metrics::ProxyMetrics,
) -> Result<bool, SessionError> {
    loop {
        let next = {
            let mut inner = shared.lock();
            let failed = matches!(
                inner.tracker.state(),
                ServerState::Failed | ServerState::Interrupted
            );
            inner.queue.pop_synthetic(failed)
        };
        let Some((wire, close)) = next else {
            return Ok(false);
        };
        shared.synthetic.fetch_sub(1, Ordering::AcqRel);
        to_client(client, &wire, metrics).await?;
        if close {
            return Ok(true);
        }
    }
}

/// Writes to the client, counting the bytes.
async fn to_client(
    client: &mut WriteHalf<BoxStream>,
    bytes: &[u8],
    metrics: &crate::metrics::ProxyMetrics,
) -> Result<(), SessionError> {
    if bytes.is_empty() {
        return Ok(());
    }
    client
        .write_all(bytes)
        .await
        .map_err(SessionError::client)?;
    metrics.bytes_out.inc_by(bytes.len() as u64);
    Ok(())
}

/// Relays every complete message in `buf`; `true` if the session must close.
async fn relay_buffered(
    ctx: &Context,
    shared: &Shared,
    buf: &mut BytesMut,
    client: &mut WriteHalf<BoxStream>,
    max: usize,
) -> Result<bool, SessionError> {
    let metrics = &ctx.metrics;
    let started = Instant::now();
    let mut summaries = 0usize;
    let mut at = 0;
    let mut flushed = 0;
    loop {
        if shared.synthetic.load(Ordering::Acquire) > 0 {
            to_client(client, &buf[flushed..at], metrics).await?;
            flushed = at;
            if flush_synthetic(shared, client, metrics).await? {
                return Ok(true);
            }
        }
        let Some(s) = scan(&buf[at..], max).map_err(|source| SessionError::Framing {
            side: "upstream",
            source,
        })?
        else {
            break;
        };
        let end = at + s.len;
        match s.tag.and_then(ResponseKind::from_tag) {
            Some(ResponseKind::Record) => match shared.hold_record(&buf[at..end]) {
                Held::No => {}
                Held::Yes => {
                    to_client(client, &buf[flushed..at], metrics).await?;
                    flushed = end;
                }
                Held::Overflow(held) => {
                    to_client(client, &buf[flushed..at], metrics).await?;
                    to_client(client, &held, metrics).await?;
                    flushed = at;
                }
            },
            None if s.body_len == 0 => {} // NOOP: relay it
            None => return Err(super::error::BadResponse::NotAResponse(s.tag).into()),
            Some(_) => {
                summaries += 1;
                let body = body_of(&buf[at..end]);
                let (replacement, wait) = on_summary(ctx, shared, &body)?;
                if let Some(wait) = wait {
                    // The outcome is durable before the client sees the answer.
                    to_client(client, &buf[flushed..at], metrics).await?;
                    flushed = at;
                    journal_outcome(ctx, wait).await?;
                }
                if let Some(replacement) = replacement {
                    to_client(client, &buf[flushed..at], metrics).await?;
                    to_client(client, &replacement, metrics).await?;
                    flushed = end;
                }
            }
        }
        at = end;
    }
    to_client(client, &buf[flushed..at], metrics).await?;
    buf.advance(at);
    if summaries > 0 {
        let secs = started.elapsed().as_secs_f64();
        let h = metrics.added_latency.with_label_values(&["response"]);
        for _ in 0..summaries {
            h.observe(secs);
        }
    }
    Ok(false)
}

/// Makes a write's outcome durable; if it cannot, the session ends without the answer
/// (the client sees a lost connection, the write stays in doubt).
async fn journal_outcome(ctx: &Context, wait: Await) -> Result<(), SessionError> {
    let Some(journal) = ctx.journal.as_ref() else {
        return Ok(());
    };
    let result = match wait {
        Await::Outcome(ticket, result) => ticket.resolve(result).await,
        Await::Late(intent, result) => {
            match journal
                .append(boltward_journal::Entry::Intent(*intent))
                .await
            {
                Ok(lsn) => journal.ticket(lsn).resolve(result).await,
                Err(e) => Err(e),
            }
        }
    };
    result.map(|_| ()).map_err(|e| {
        warn!(error = %e, "closing: the outcome of a committed write could not be journaled");
        SessionError::Journal(e)
    })
}

type SummaryStep = (Option<Bytes>, Option<Await>);

/// Moves the state for one summary; returns replacement bytes when it must be rewritten
/// and what the journal must record before the client sees it.
fn on_summary(ctx: &Context, shared: &Shared, body: &[u8]) -> Result<SummaryStep, SessionError> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let response = Response::decode(body, inner.dialect)
        .map_err(|e| SessionError::from(super::error::BadResponse::from(e)))?;
    let Some(summary) = Summary::of(&response) else {
        return Ok((None, None));
    };
    let pending = inner
        .queue
        .answered()
        .map_err(|_| SessionError::from(super::error::BadResponse::Unrequested))?;
    shared.answered.notify_waiters();
    let kind = pending.kind;
    ctx.metrics
        .upstream_round_trip
        .with_label_values(&[kind.name()])
        .observe(pending.sent.elapsed().as_secs_f64());
    inner.tracker.apply(kind, summary);
    let role = pending.role;
    if role == Role::Swallow {
        return Ok((Some(Bytes::new()), None));
    }
    let auto_intent = pending
        .statement
        .as_ref()
        .and_then(|s| s.intent)
        .filter(|lsn| inner.unresolved == Some(*lsn));
    let success = match response {
        Response::Success(s) => s,
        Response::Failure(f) => {
            debug!(request = kind.name(), code = f.code(), "upstream FAILURE");
            inner.governor.on_upstream_failure();
            let failed = || boltward_journal::TxResult::Failed {
                code: f.code().unwrap_or("").to_owned(),
                message: f.message().unwrap_or("").to_owned(),
            };
            if role == Role::WrapCommit
                && f.code()
                    .is_some_and(|c| c.starts_with("Neo.TransientError."))
            {
                // Not committed, and nothing of the result was shown: run it again
                // unseen (the client loop does, see `next_wrap_step`).
                if let Some(w) = inner
                    .wrapped
                    .as_mut()
                    .filter(|w| w.records.is_some() && w.attempts < MAX_WRAP_ATTEMPTS)
                {
                    debug!(
                        code = f.code(),
                        attempt = w.attempts,
                        "wrapped auto-commit write: COMMIT failed transiently; running it again"
                    );
                    ctx.metrics.autocommit_retries.inc();
                    w.retry = Some(wire(&Response::Failure(f.clone())));
                    w.done = None;
                    w.committing = false;
                    w.records = Some(BytesMut::new());
                    shared.holding.store(true, Ordering::Release);
                    let wait = pending.commit.map(|c| Await::Outcome(c.ticket, failed()));
                    return Ok((Some(Bytes::new()), wait));
                }
            }
            // Whatever failed, a wrapped transaction is over without committing.
            let wrapped = inner.wrapped.take();
            if role == Role::Hidden {
                // The client sees this FAILURE as the answer to its next request; the
                // answers up to that one (IGNORED) are not shown.
                for next in inner.queue.upstream_mut() {
                    let last = next.role != Role::Hidden;
                    next.role = Role::Swallow;
                    if last {
                        break;
                    }
                }
                let lsn = wrapped
                    .map(|w| w.lsn)
                    .filter(|l| inner.unresolved == Some(*l));
                if let (Some(lsn), Some(j)) = (lsn, &ctx.journal) {
                    inner.unresolved = None;
                    return Ok((None, Some(Await::Outcome(j.ticket(lsn), failed()))));
                }
                return Ok((None, None));
            }
            if let Some(c) = pending.commit {
                return Ok((None, Some(Await::Outcome(c.ticket, failed()))));
            }
            if let (Some(lsn), Some(j)) = (auto_intent, &ctx.journal) {
                inner.unresolved = None;
                return Ok((None, Some(Await::Outcome(j.ticket(lsn), failed()))));
            }
            return Ok((None, None));
        }
        _ => {
            // IGNORED: the auto-commit was interrupted (RESET) or never ran.
            let wrapped = inner.wrapped.take_if(|w| !w.committing);
            if let (Some(lsn), Some(j)) = (auto_intent, &ctx.journal) {
                inner.unresolved = None;
                let reason = if wrapped.is_some() {
                    // boltward never sent its COMMIT.
                    boltward_journal::TxResult::RolledBack {
                        reason: "interrupted before its result arrived".into(),
                    }
                } else {
                    boltward_journal::TxResult::InDoubt {
                        reason: "interrupted before its result arrived".into(),
                    }
                };
                return Ok((None, Some(Await::Outcome(j.ticket(lsn), reason))));
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
            let (held, records) = match inner.wrapped.take() {
                Some(w) => (w.done, w.records.unwrap_or_default()),
                None => (None, BytesMut::new()),
            };
            let mut answer = held.unwrap_or_else(|| Success::new(boltward_protocol::Map::new()));
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
    match kind {
        RequestKind::Hello if !success.metadata.contains_key("advertised_address") => {
            let utc = success.accepts_utc_patch();
            inner.dialect = inner.dialect.with_utc_patch(utc);
            Ok((None, None))
        }
        RequestKind::Commit => Ok((
            None,
            pending.commit.map(|c| {
                let result = audit::committed(&success, c.stats, c.query_type);
                Await::Outcome(c.ticket, result)
            }),
        )),
        RequestKind::Pull | RequestKind::Discard if success.has_more() => {
            // More to come: what was held is shown now, and a failed COMMIT is the
            // client's to retry.
            let held = inner
                .wrapped
                .as_mut()
                .filter(|w| auto_intent == Some(w.lsn))
                .and_then(|w| w.records.take())
                .filter(|r| !r.is_empty());
            Ok((
                held.map(|mut r| {
                    r.extend_from_slice(&wire(&Response::Success(success)));
                    r.freeze()
                }),
                None,
            ))
        }
        RequestKind::Pull | RequestKind::Discard => {
            let mut wait = None;
            if let Some(stmt) = &pending.statement {
                let stats = success.stats();
                let wrote = success.query_type().is_some_and(|t| t.writes())
                    || stats.is_some_and(|s| s.contains_updates);
                if stmt.predicted_read && wrote {
                    ctx.metrics.predicted_read_wrote.inc();
                }
                let policy = ctx.policy();
                inner
                    .governor
                    .on_outcome(stmt, wrote, stats, &ctx.rates, &policy, &ctx.metrics);
                if let Some(w) = inner
                    .wrapped
                    .as_mut()
                    .filter(|w| auto_intent == Some(w.lsn))
                {
                    // Held until boltward's COMMIT answers (`commit_wrapped`).
                    w.done = Some(success);
                    return Ok((Some(Bytes::new()), None));
                }
                wait = journal_summary(ctx, inner, shared, stmt, &success, wrote, auto_intent);
            }
            Ok((None, wait))
        }
        RequestKind::Route => {
            let mut s = success;
            match ctx.members.route(&mut s, &ctx.advertised) {
                Ok(n) => {
                    debug!(rewritten = n, to = %ctx.advertised, "rewrote routing table");
                    Ok(((n > 0).then(|| wire(&Response::Success(s))), None))
                }
                Err(unknown) => {
                    warn!(address = %unknown.0, "routing table refused: it names an address boltward does not front");
                    ctx.metrics
                        .refusals
                        .with_label_values(&["routing:unknown-member"])
                        .inc();
                    Ok((Some(inner.governor.forbidden(&unknown.to_string())), None))
                }
            }
        }
        RequestKind::Logon | RequestKind::Hello
            if success.metadata.contains_key("advertised_address") =>
        {
            if kind == RequestKind::Hello {
                let utc = success.accepts_utc_patch();
                inner.dialect = inner.dialect.with_utc_patch(utc);
            }
            let mut s = success;
            let own = s
                .metadata
                .get("advertised_address")
                .and_then(boltward_protocol::Value::as_str)
                .map(str::to_owned);
            let to = ctx.members.advertised(own.as_deref(), &ctx.advertised);
            s.rewrite_advertised_address(&to);
            Ok((Some(wire(&Response::Success(s))), None))
        }
        _ => Ok((None, None)),
    }
}

/// The journal's part of a statement's final summary: fold it into the transaction, or
/// resolve an auto-commit write.
fn journal_summary(
    ctx: &Context,
    inner: &mut Inner,
    shared: &Shared,
    stmt: &Statement,
    success: &boltward_protocol::message::Success,
    wrote: bool,
    auto_intent: Option<u64>,
) -> Option<Await> {
    let journal = ctx.journal.as_ref()?;
    if stmt.in_tx {
        if let Some(tx) = inner.jtx.as_mut() {
            tx.summary(success, wrote);
        }
        return None;
    }
    let mut stats = boltward_protocol::Map::new();
    audit::add_stats(&mut stats, success);
    let result = audit::committed(success, stats, None);
    if let Some(lsn) = auto_intent {
        inner.unresolved = None;
        return Some(Await::Outcome(journal.ticket(lsn), result));
    }
    let info = stmt.audit.as_ref().filter(|_| wrote)?;
    let intent = audit::auto_intent(
        info,
        shared.conn,
        &inner.governor.actor,
        shared.version,
        inner.dialect.utc_datetime(),
    );
    Some(Await::Late(Box::new(intent), result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rollback_put_in_a_commits_place_is_a_rollback_in_every_version() {
        let (bytes, _) = rollback_instead(Bytes::new());
        for v in PARSED_VERSIONS {
            assert_eq!(bytes, Request::Rollback.to_wire(*v).unwrap(), "{v}");
        }
    }
}
