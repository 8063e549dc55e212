//! The write gate: `writes pause` holds new write work (reads flow, work already inside a
//! transaction finishes), `writes resume` releases it. A held request that waits longer
//! than the configured bound gets a transient error so drivers retry.
//!
//! Snapshots and promotions use the same gate as a **barrier**: [`WriteGate::barrier`]
//! holds new writes and waits until every write already admitted has finished. Sessions
//! announce their write work with [`WriteGate::enter`] (a [`WriteSlot`] lives from a
//! write-mode BEGIN or a write auto-commit RUN until the session is idle again). An
//! operator's pause and barriers are independent: a snapshot ending never resumes writes
//! an operator paused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Closed {
    /// `writes pause` is in force.
    manual: bool,
    /// Barriers holding the gate.
    barriers: usize,
}

impl Closed {
    fn paused(&self) -> bool {
        self.manual || self.barriers > 0
    }
}

/// Open or paused, shared by every session and the control port.
#[derive(Debug)]
pub struct WriteGate {
    state: watch::Sender<Closed>,
    held: AtomicUsize,
    /// Write work admitted and not finished.
    active: AtomicUsize,
    finished: Notify,
}

impl Default for WriteGate {
    fn default() -> Self {
        WriteGate {
            state: watch::Sender::new(Closed::default()),
            held: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            finished: Notify::new(),
        }
    }
}

/// Write work admitted through the gate; dropping it marks the work finished.
#[derive(Debug)]
pub struct WriteSlot(Arc<WriteGate>);

impl Drop for WriteSlot {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.finished.notify_waiters();
        }
    }
}

/// A barrier holding the gate; dropping it releases its hold.
#[derive(Debug)]
pub struct Barrier {
    gate: Arc<WriteGate>,
    since: Instant,
}

impl Barrier {
    /// How long writes have been held by this barrier.
    pub fn held_for(&self) -> Duration {
        self.since.elapsed()
    }
}

impl Drop for Barrier {
    fn drop(&mut self) {
        self.gate.state.send_modify(|s| s.barriers -= 1);
    }
}

/// The barrier could not drain the write work in time.
#[derive(Debug, thiserror::Error)]
#[error("{open} write transaction(s) were still open after {waited:?}; writes resumed")]
pub struct BarrierTimeout {
    /// Write work still open.
    pub open: usize,
    /// How long the barrier waited.
    pub waited: Duration,
}

impl WriteGate {
    /// Holds new writes from now on (`writes pause`).
    pub fn pause(&self) {
        self.state.send_modify(|s| s.manual = true);
    }

    /// Releases an operator's pause (barriers keep holding until they end).
    pub fn resume(&self) {
        self.state.send_modify(|s| s.manual = false);
    }

    /// Whether writes are held (by an operator or a barrier).
    pub fn is_paused(&self) -> bool {
        self.state.borrow().paused()
    }

    /// Whether an operator paused writes.
    pub fn is_paused_by_operator(&self) -> bool {
        self.state.borrow().manual
    }

    /// Requests waiting at the gate now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Write work admitted and not finished.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Waits until the gate is open; `false` if `limit` passed first.
    pub async fn pass(&self, limit: Duration) -> bool {
        let mut rx = self.state.subscribe();
        if !rx.borrow_and_update().paused() {
            return true;
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        let opened = tokio::time::timeout(limit, rx.wait_for(|s| !s.paused())).await;
        self.held.fetch_sub(1, Ordering::Relaxed);
        matches!(opened, Ok(Ok(_)))
    }

    /// Admits write work: waits while the gate is closed (up to `limit`), then returns the
    /// slot that keeps barriers waiting until the work is done. `None` if `limit` passed.
    pub async fn enter(self: &Arc<Self>, limit: Duration) -> Option<WriteSlot> {
        let deadline = Instant::now() + limit;
        loop {
            // Announce first, then look: a barrier that closes the gate after this load
            // sees the announcement and waits for it (both sides are SeqCst).
            self.active.fetch_add(1, Ordering::SeqCst);
            let slot = WriteSlot(self.clone());
            if !self.is_paused() {
                return Some(slot);
            }
            drop(slot);
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.pass(left).await {
                return None;
            }
        }
    }

    /// Closes the gate and waits until no admitted write work is open, at most `limit`.
    /// On timeout the gate is released again and the error says how much was still open.
    pub async fn barrier(self: &Arc<Self>, limit: Duration) -> Result<Barrier, BarrierTimeout> {
        self.state.send_modify(|s| s.barriers += 1);
        let barrier = Barrier {
            gate: self.clone(),
            since: Instant::now(),
        };
        let drained = tokio::time::timeout(limit, async {
            loop {
                let finished = self.finished.notified();
                if self.active() == 0 {
                    return;
                }
                finished.await;
            }
        })
        .await;
        match drained {
            Ok(()) => Ok(barrier),
            Err(_) => Err(BarrierTimeout {
                open: self.active(),
                waited: limit,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_until_resumed_or_times_out() {
        let gate = Arc::new(WriteGate::default());
        assert!(
            gate.pass(Duration::from_millis(1)).await,
            "open gate passes at once"
        );
        gate.pause();
        assert!(
            !gate.pass(Duration::from_millis(20)).await,
            "times out while paused"
        );
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.pass(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.held(), 1);
        gate.resume();
        assert!(waiter.await.unwrap());
        assert_eq!(gate.held(), 0);
    }

    #[tokio::test]
    async fn barrier_waits_for_open_writes_and_holds_new_ones() {
        let gate = Arc::new(WriteGate::default());
        let open = gate.enter(Duration::from_secs(1)).await.unwrap();
        let g = gate.clone();
        let barrier = tokio::spawn(async move { g.barrier(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!barrier.is_finished(), "barrier waits for the open write");
        assert!(gate.is_paused());
        assert!(
            gate.enter(Duration::from_millis(20)).await.is_none(),
            "new writes are held"
        );
        drop(open);
        let barrier = barrier.await.unwrap().unwrap();
        assert_eq!(gate.active(), 0);
        let g = gate.clone();
        let writer = tokio::spawn(async move { g.enter(Duration::from_secs(5)).await.is_some() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!writer.is_finished());
        drop(barrier);
        assert!(writer.await.unwrap(), "released writes pass");
        assert!(!gate.is_paused());
    }

    #[tokio::test]
    async fn barrier_times_out_and_never_undoes_an_operator_pause() {
        let gate = Arc::new(WriteGate::default());
        let _open = gate.enter(Duration::from_secs(1)).await.unwrap();
        let err = gate.barrier(Duration::from_millis(20)).await.unwrap_err();
        assert_eq!(err.open, 1);
        assert!(!gate.is_paused(), "a failed barrier releases the gate");
        drop(_open);
        gate.pause();
        drop(gate.barrier(Duration::from_secs(1)).await.unwrap());
        assert!(
            gate.is_paused(),
            "the operator's pause outlives the barrier"
        );
        gate.resume();
        assert!(!gate.is_paused());
    }
}
