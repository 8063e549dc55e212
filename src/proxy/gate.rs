//! The write gate: `writes pause` holds new write work (reads flow, work already inside a
//! transaction finishes), `writes resume` releases it. A held request that waits longer
//! than the configured bound gets a transient error so drivers retry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Open or paused, shared by every session and the control port.
#[derive(Debug)]
pub struct WriteGate {
    paused: watch::Sender<bool>,
    held: AtomicUsize,
}

impl Default for WriteGate {
    fn default() -> Self {
        WriteGate {
            paused: watch::Sender::new(false),
            held: AtomicUsize::new(0),
        }
    }
}

impl WriteGate {
    /// Holds new writes from now on.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Releases held writes.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Whether writes are held.
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Requests waiting at the gate now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Waits until the gate is open; `false` if `limit` passed first.
    pub async fn pass(&self, limit: Duration) -> bool {
        let mut rx = self.paused.subscribe();
        if !*rx.borrow_and_update() {
            return true;
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        let opened = tokio::time::timeout(limit, rx.wait_for(|paused| !*paused)).await;
        self.held.fetch_sub(1, Ordering::Relaxed);
        matches!(opened, Ok(Ok(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_until_resumed_or_times_out() {
        let gate = std::sync::Arc::new(WriteGate::default());
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
}
