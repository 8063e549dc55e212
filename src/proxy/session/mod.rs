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

//! The session's logic is the I/O-free [`machine::Machine`]; [`io`] holds the two loops
//! and their buffers; [`harness`] drives the machine without sockets (table tests, fuzzing).

#[cfg(any(test, fuzzing))]
mod harness;
mod io;
mod machine;
#[cfg(test)]
mod tests;

#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub use harness::fuzz;

use super::error::SessionError;
use super::handshake::{read_client_hello, relay, Negotiated};
use super::Context;
use crate::policy::Actor;
use crate::upstream::BoxStream;
use boltward_protocol::handshake::{NO_VERSION, PARSED_VERSIONS};
use bytes::BytesMut;
use machine::{Held, Machine, Unfinished};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tracing::{debug, info, warn, Span};

/// Buffers larger than this are released once empty, so idle connections stay small.
const KEEP_BUFFER: usize = 64 * 1024;
/// How long to wait for the server to close after GOODBYE.
const GOODBYE_GRACE: Duration = Duration::from_secs(2);

/// What both loops of a session share: the machine, and how each loop wakes the other.
struct Shared {
    machine: Mutex<Machine>,
    /// boltward's own answers queued (the server loop writes them at the head).
    synthetic: AtomicUsize,
    wake: Notify,
    /// Signalled whenever an upstream answer completes a slot.
    answered: Notify,
    /// The upstream generation this session is connected to.
    generation: u64,
    /// The upstream was switched (promotion): finish the work in flight, then close.
    retired: AtomicBool,
    /// RECORDs may have to be held (a wrapped write is running); cleared lazily.
    holding: AtomicBool,
}

impl Shared {
    fn new(machine: Machine, generation: u64) -> Self {
        Shared {
            machine: Mutex::new(machine),
            synthetic: AtomicUsize::new(0),
            wake: Notify::new(),
            answered: Notify::new(),
            generation,
            retired: AtomicBool::new(false),
            holding: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // A poisoned lock means a panic in a loop that already ended the session.
        self.machine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues boltward's own answer to the next request (a FAILURE, or IGNORED when the
    /// server failed first) and wakes the server loop, which writes it at the head.
    fn answer(&self, wire: bytes::Bytes, close: bool) {
        self.lock().answer(wire, close);
        self.synthetic_queued();
    }

    /// Counts a synthetic answer the machine queued and wakes the server loop.
    fn synthetic_queued(&self) {
        self.synthetic.fetch_add(1, Ordering::Release);
        self.wake.notify_one();
    }

    /// Runs `f` on the machine and then makes the loops see what it queued: synthetic
    /// answers to write, RECORDs to hold.
    fn with<T>(&self, f: impl FnOnce(&mut Machine) -> T) -> T {
        let mut m = self.lock();
        let before = m.synthetic_queued();
        let out = f(&mut m);
        let added = m.synthetic_queued().saturating_sub(before);
        if m.holds_records() {
            self.holding.store(true, Ordering::Release);
        }
        drop(m);
        for _ in 0..added {
            self.synthetic_queued();
        }
        out
    }

    /// No request in flight and no transaction or stream open.
    fn is_idle(&self) -> bool {
        self.lock().is_idle()
    }

    fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Waits until every forwarded request has its answer.
    async fn upstream_caught_up(&self) {
        loop {
            let answered = self.answered.notified();
            if !self.lock().awaiting_upstream() {
                return;
            }
            answered.await;
        }
    }

    /// Holds a RECORD of a wrapped write (see [`Machine::hold_record`]).
    fn hold_record(&self, record: &[u8]) -> Held {
        if !self.holding.load(Ordering::Acquire) {
            return Held::No;
        }
        let mut m = self.lock();
        let held = m.hold_record(record);
        if !m.holds_records() {
            self.holding.store(false, Ordering::Release);
        }
        held
    }

    fn touch(&self) {
        self.lock().last_activity = std::time::Instant::now();
    }
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
    // Replay safety matters only where writes are replayed: on mirrors.
    let unsafe_replay = if ctx.config.replication.remote.is_empty() {
        crate::config::UnsafeReplay::Allow
    } else {
        ctx.config.replication.unsafe_replay
    };
    let machine = Machine::new(version, actor, conn, ctx.journal.is_some(), unsafe_replay);
    let shared = Shared::new(machine, current.generation);
    let (client_r, client_w) = tokio::io::split(client);
    let (upstream_r, upstream_w) = tokio::io::split(upstream);
    let result = {
        let c2s = io::client_to_server(&ctx, &shared, client_r, client_buf, upstream_w);
        let s2c = io::server_to_client(&ctx, &shared, upstream_r, upstream_buf, client_w);
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
    let unfinished = shared.lock().unfinished();
    for write in unfinished {
        let Some(journal) = &ctx.journal else { break };
        match write {
            Unfinished::RolledBack(lsn) => {
                // boltward never sent its COMMIT: the server rolls it back with the connection.
                let result = boltward_journal::TxResult::RolledBack {
                    reason: "the connection ended before the statement committed".into(),
                };
                if let Err(e) = journal.ticket(lsn).resolve(result).await {
                    warn!(error = %e, lsn, "the outcome of a write that did not commit could not be journaled; it stays in doubt");
                }
            }
            Unfinished::InDoubt(lsn) => journal.in_doubt(
                lsn,
                "the connection ended before the auto-commit result arrived",
            ),
        }
    }
    result
}
