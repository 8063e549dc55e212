//! The two loops of a session and their buffers: client → server decodes every request,
//! lets the [`Machine`] decide, does the waiting it asks for (write gate, journal,
//! verification, answers) and forwards; server → client relays the server's bytes,
//! decoding only summaries, and writes boltward's own answers in request order.
//! Backpressure is end to end: each loop awaits its writes before it reads again.

use super::machine::{may_run_in_boltwards_transaction, Admitted, Env, Held, Journaled, WrapStep};
use super::{ClientEnd, Shared, GOODBYE_GRACE, KEEP_BUFFER};
use crate::cypher::{classify_limited, Classification};
use crate::policy::{Actor, Policy};
use crate::proxy::audit::{Await, Step};
use crate::proxy::error::SessionError;
use crate::proxy::govern::wire;
use crate::proxy::Context;
use crate::upstream::BoxStream;
use boltward_protocol::chunk::{body_of, scan, ChunkDecoder, Frame};
use boltward_protocol::message::{Extra, Failure, Response, ResponseKind};
use boltward_protocol::{Request, RequestKind};
use bytes::{Buf, Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tracing::{debug, info, warn, Span};

/// The machine's view of what every session shares.
fn env<'a>(ctx: &'a Context, policy: &'a Policy) -> Env<'a> {
    Env {
        policy,
        rates: &ctx.rates,
        metrics: &ctx.metrics,
        members: &ctx.members,
        advertised: &ctx.advertised,
        tickets: ctx.tickets.as_ref(),
    }
}

/// Reads requests from the client, tracks them and forwards their original bytes.
pub(super) async fn client_to_server(
    ctx: &Context,
    shared: &Shared,
    mut client: ReadHalf<BoxStream>,
    mut buf: BytesMut,
    mut upstream: WriteHalf<BoxStream>,
) -> Result<ClientEnd, SessionError> {
    let limits = &ctx.config.limits;
    let mut decoder = ChunkDecoder::new(limits.max_message_size);
    let mut waiting = Waiting::new(ctx);
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
            let dialect = shared.lock().dialect();
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
            if let Some(answer) = shared.lock().refuse_while_wrapped(kind) {
                shared.answer(answer, false);
                continue;
            }
            let policy = ctx.policy();
            let classified = verified_classification(ctx, shared, &request).await;
            let wrappable = ctx.tickets.is_some()
                && classified
                    .as_ref()
                    .is_some_and(may_run_in_boltwards_transaction);
            let mut write_slot = None;
            if shared.lock().holds_writes(&request, classified.as_ref()) {
                match at_the_gate(ctx, shared, &mut client, &mut buf, &mut upstream, &out).await? {
                    Gate::Entered(slot) => write_slot = Some(slot),
                    Gate::TimedOut => continue,
                    Gate::ClientGone => return Ok(ClientEnd::Closed),
                    Gate::Switched => return Ok(ClientEnd::Drain(GOODBYE_GRACE)),
                }
            }
            let body = if kind == RequestKind::Run || kind == RequestKind::Begin {
                msg.body()
            } else {
                Bytes::new()
            };
            let admitted = shared.lock().on_request(
                &env(ctx, &policy),
                &request,
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
            let Some(forward) = journal_step(ctx, shared, &policy, admitted).await else {
                continue;
            };
            if let Some(slot) = write_slot {
                shared.lock().hold_write(slot);
            }
            out.extend_from_slice(&forward);
            unobserved += 1;
            if matches!(kind, RequestKind::Pull | RequestKind::Discard)
                && shared.lock().is_wrapping()
            {
                // A wrapped write: once its final summary is in, commit it (and run it
                // again if the COMMIT fails transiently) before anything the client
                // sends next.
                let wrap = finish_wrapped(ctx, shared, &policy, &mut upstream, &mut out);
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
        if let Some(end) = waiting.wait(ctx, shared, &mut client, &mut buf).await? {
            return Ok(end);
        }
        read_at = Instant::now();
    }
}

/// The client loop's wait for more requests: the client's bytes, a shutdown, a promotion
/// that retires this connection, or the idle timeout.
struct Waiting {
    idle: Option<Duration>,
    draining: tokio::sync::watch::Receiver<bool>,
    switched: tokio::sync::watch::Receiver<crate::upstream::handle::Current>,
    /// After a promotion: when this connection is closed even if still busy.
    retire_by: Option<tokio::time::Instant>,
}

impl Waiting {
    fn new(ctx: &Context) -> Self {
        let secs = ctx.config.limits.idle_timeout_secs;
        Waiting {
            idle: (secs > 0).then(|| Duration::from_secs(secs)),
            draining: ctx.draining.clone(),
            switched: ctx.upstream.subscribe(),
            retire_by: None,
        }
    }

    /// Waits until the client sent bytes (`None`: they are in `buf`) or the connection is
    /// to end (how).
    async fn wait(
        &mut self,
        ctx: &Context,
        shared: &Shared,
        client: &mut ReadHalf<BoxStream>,
        buf: &mut BytesMut,
    ) -> Result<Option<ClientEnd>, SessionError> {
        loop {
            let idle = self.idle;
            let retire_by = self.retire_by;
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
                n = client.read_buf(buf) => {
                    let n = n.map_err(SessionError::client)?;
                    ctx.metrics.bytes_in.inc_by(n as u64);
                    if n == 0 {
                        debug!("client closed the connection");
                        return Ok(Some(ClientEnd::Closed));
                    }
                    return Ok(None);
                }
                changed = self.draining.changed(), if !*self.draining.borrow() => {
                    if changed.is_err() || shared.is_idle() {
                        debug!("closing idle connection for shutdown");
                        return Ok(Some(ClientEnd::Closed));
                    }
                }
                changed = self.switched.changed(), if retire_by.is_none() => {
                    if changed.is_ok()
                        && self.switched.borrow_and_update().generation != shared.generation
                    {
                        if shared.is_idle() {
                            debug!("closing idle connection to the previous upstream");
                            return Ok(Some(ClientEnd::Closed));
                        }
                        shared.retired.store(true, Ordering::Release);
                        shared.wake.notify_one();
                        let drain = Duration::from_secs(ctx.config.restore.drain_secs);
                        self.retire_by = Some(tokio::time::Instant::now() + drain);
                    }
                }
                _ = retire_sleep => {
                    warn!("closing busy connection to the previous upstream: drain time is over");
                    return Ok(Some(ClientEnd::Closed));
                }
                _ = idle_sleep => {
                    let quiet = shared.lock().last_activity.elapsed();
                    if idle.is_some_and(|d| quiet >= d) && shared.is_idle() {
                        info!(idle_secs = quiet.as_secs(), "closing idle connection");
                        return Ok(Some(ClientEnd::Closed));
                    }
                }
            }
        }
    }
}

/// What waiting at the write gate came to.
enum Gate {
    /// Let through: the slot the write holds until its transaction ends.
    Entered(crate::gate::WriteSlot),
    /// Writes were not resumed in time: the request is answered with a transient FAILURE.
    TimedOut,
    /// The client hung up while it waited.
    ClientGone,
    /// The upstream was switched while it waited: answered, and the connection closes.
    Switched,
}

/// Waits at the write gate (writes paused for maintenance, or a snapshot's barrier) while
/// still reading the client. A write let through after a promotion is refused: this
/// connection points at the previous upstream, and no write may land there.
async fn at_the_gate(
    ctx: &Context,
    shared: &Shared,
    client: &mut ReadHalf<BoxStream>,
    buf: &mut BytesMut,
    upstream: &mut WriteHalf<BoxStream>,
    out: &BytesMut,
) -> Result<Gate, SessionError> {
    let limit = Duration::from_secs(ctx.config.writes.pause_timeout_secs);
    if ctx.gate.is_paused() {
        debug!("write held: writes are paused");
    }
    let entering = async { Ok(ctx.gate.enter(limit).await) };
    let Some(entered) = watching_client(entering, client, buf, &ctx.metrics.bytes_in).await? else {
        return Ok(Gate::ClientGone);
    };
    let Some(slot) = entered else {
        let answer = shared.lock().governor.transient(&format!(
            "boltward: writes are paused for maintenance and were not resumed within {}s; retry",
            limit.as_secs()
        ));
        shared.answer(answer, false);
        return Ok(Gate::TimedOut);
    };
    if ctx.upstream.generation() != shared.generation {
        // Drivers retry transient errors on a new connection, which reaches the new one.
        info!("write refused on a connection to the previous upstream; closing it");
        upstream
            .write_all(out)
            .await
            .map_err(SessionError::upstream)?;
        let answer = shared.lock().governor.transient(
            "boltward: the upstream was switched (restore promoted); reconnect and retry",
        );
        shared.answer(answer, true);
        return Ok(Gate::Switched);
    }
    Ok(Gate::Entered(slot))
}

/// Sends what is buffered, then commits a wrapped write once its final summary is in (and
/// runs it again while its COMMIT fails transiently).
async fn finish_wrapped(
    ctx: &Context,
    shared: &Shared,
    policy: &Policy,
    upstream: &mut WriteHalf<BoxStream>,
    out: &mut BytesMut,
) -> Result<(), SessionError> {
    send(upstream, out).await?;
    loop {
        shared.upstream_caught_up().await;
        let Some(next) = next_wrap_step(ctx, shared, policy).await else {
            return Ok(());
        };
        upstream
            .write_all(&next)
            .await
            .map_err(SessionError::upstream)?;
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
        crate::proxy::verify::apply(&mut c, t);
    }
    Some(c)
}

/// Does the journal's step for `admitted` (appends an intent, records a refusal or an
/// outcome), then lets the machine queue its answer; the bytes to forward.
async fn journal_step(
    ctx: &Context,
    shared: &Shared,
    policy: &Policy,
    admitted: Admitted,
) -> Option<Bytes> {
    let journaled = match (&admitted.step, ctx.journal.as_ref()) {
        (Step::None, _) | (_, None) => Journaled::Nothing,
        (Step::Refusal(r), Some(j)) => {
            j.record(boltward_journal::Entry::Refusal(r.clone()));
            Journaled::Nothing
        }
        (Step::Outcome(lsn, result), Some(j)) => {
            if let Err(e) = j.ticket(*lsn).resolve(result.clone()).await {
                warn!(error = %e, lsn, "the outcome of a write that did not commit could not be journaled; it stays in doubt");
            }
            Journaled::Nothing
        }
        (Step::AutoIntent(intent) | Step::CommitIntent(intent, ..), Some(j)) => {
            let entry = boltward_journal::Entry::Intent(intent.clone());
            Journaled::Appended(j.append(entry).await)
        }
    };
    shared.with(|m| m.journaled(&env(ctx, policy), admitted, journaled))
}

/// What a wrapped write needs sent next, once every answer is in (see
/// [`super::machine::Machine::wrap_step`]); `None` when nothing is due.
async fn next_wrap_step(ctx: &Context, shared: &Shared, policy: &Policy) -> Option<Bytes> {
    let step = shared.with(|m| m.wrap_step(&env(ctx, policy)));
    match step {
        WrapStep::Idle => None,
        WrapStep::Send(bytes) => Some(bytes),
        WrapStep::Retry(intent) => {
            let journal = ctx.journal.as_ref()?;
            let appended = journal
                .append(boltward_journal::Entry::Intent(*intent))
                .await;
            shared.with(|m| m.retried(appended))
        }
    }
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
    let version = shared.lock().version();
    let failure = Failure::invalid_request(version, &message);
    shared.answer(wire(&Response::Failure(failure)), true);
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
pub(super) async fn server_to_client(
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
        shared.lock().release_write_if_idle();
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
        let next = shared.lock().pop_synthetic();
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
            None => return Err(crate::proxy::error::BadResponse::NotAResponse(s.tag).into()),
            Some(_) => {
                summaries += 1;
                let body = body_of(&buf[at..end]);
                let policy = ctx.policy();
                let (replacement, wait) =
                    shared.with(|m| m.on_summary(&env(ctx, &policy), &body))?;
                shared.answered.notify_waiters();
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
    let committed = matches!(
        &wait,
        Await::Outcome(_, boltward_journal::TxResult::Committed { .. })
            | Await::Late(_, boltward_journal::TxResult::Committed { .. })
    );
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
    let lsn = result.map_err(|e| {
        warn!(error = %e, "closing: the outcome of a committed write could not be journaled");
        SessionError::Journal(e)
    })?;
    if let (true, Some(sync)) = (committed, &ctx.sync) {
        // Sync mirrors apply it before the client hears it committed (bounded).
        sync.synced(lsn).await;
    }
    Ok(())
}
