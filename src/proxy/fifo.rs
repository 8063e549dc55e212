//! The order of answers: one slot per request, in request order, each answered either by
//! the upstream or by boltward itself (a refusal, a transient error). I/O-free.
//!
//! A client must see exactly one answer per request, in order. So boltward's own answers
//! wait in the queue until every request before them has its answer, and a server answer
//! always belongs to the oldest request the server still owes. A synthetic FAILURE written
//! after the server itself failed becomes IGNORED, since a server never sends two FAILUREs
//! without a RESET between them.

use bytes::Bytes;
use std::collections::VecDeque;

/// What answers one request.
pub(crate) enum Slot<P> {
    /// The upstream answers it; `P` is what the session keeps about the request.
    Upstream(P),
    /// boltward answers it with these bytes; `close` ends the connection after them.
    Synthetic {
        wire: Bytes,
        close: bool,
        /// The bytes are a FAILURE (IGNORED instead when the server failed first).
        failure: bool,
    },
}

/// A server answer arrived when no request is waiting for one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unexpected;

/// The queue of slots.
pub(crate) struct Fifo<P> {
    slots: VecDeque<Slot<P>>,
    /// How many of the slots are boltward's own answers.
    synthetic: usize,
}

impl<P> Default for Fifo<P> {
    fn default() -> Self {
        Fifo {
            slots: VecDeque::new(),
            synthetic: 0,
        }
    }
}

impl<P> Fifo<P> {
    /// The next forwarded request, answered by the upstream.
    pub(crate) fn push_upstream(&mut self, p: P) {
        self.slots.push_back(Slot::Upstream(p));
    }

    /// Queues `slot`.
    pub(crate) fn push(&mut self, slot: Slot<P>) {
        self.synthetic += usize::from(matches!(slot, Slot::Synthetic { .. }));
        self.slots.push_back(slot);
    }

    /// boltward's own answer, if one is at the head (every answer before it is written):
    /// its bytes, and whether the connection closes after them. `upstream_failed`: the
    /// server is in its FAILED (or interrupted) state.
    pub(crate) fn pop_synthetic(&mut self, upstream_failed: bool) -> Option<(Bytes, bool)> {
        if !matches!(self.slots.front(), Some(Slot::Synthetic { .. })) {
            return None;
        }
        let Some(Slot::Synthetic {
            wire,
            close,
            failure,
        }) = self.slots.pop_front()
        else {
            return None;
        };
        self.synthetic -= 1;
        if failure && upstream_failed && !close {
            return Some((Bytes::from_static(IGNORED), false));
        }
        Some((wire, close))
    }

    /// The request a server answer belongs to: the oldest one the upstream owes, which must
    /// be at the head (boltward's own answers before it were written first).
    pub(crate) fn answered(&mut self) -> Result<P, Unexpected> {
        match self.slots.front() {
            Some(Slot::Upstream(_)) => match self.slots.pop_front() {
                Some(Slot::Upstream(p)) => Ok(p),
                _ => Err(Unexpected),
            },
            _ => Err(Unexpected),
        }
    }

    /// The upstream still owes an answer.
    pub(crate) fn awaiting_upstream(&self) -> bool {
        self.slots.iter().any(|s| matches!(s, Slot::Upstream(_)))
    }

    /// How many of boltward's own answers wait in the queue.
    pub(crate) fn synthetic(&self) -> usize {
        self.synthetic
    }

    /// No answer is owed.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The requests the upstream answers, oldest first, up to the first of boltward's own.
    pub(crate) fn upstream_mut(&mut self) -> impl Iterator<Item = &mut P> {
        self.slots.iter_mut().map_while(|s| match s {
            Slot::Upstream(p) => Some(p),
            Slot::Synthetic { .. } => None,
        })
    }
}

/// IGNORED, chunked.
const IGNORED: &[u8] = b"\x00\x02\xB0\x7E\x00\x00";

#[cfg(test)]
mod tests {
    use super::*;

    impl<P> Fifo<P> {
        fn push_synthetic(&mut self, wire: Bytes, close: bool, failure: bool) {
            self.push(Slot::Synthetic {
                wire,
                close,
                failure,
            });
        }
    }

    fn failure() -> Bytes {
        Bytes::from_static(b"F")
    }

    #[test]
    fn own_answers_wait_for_the_server_answers_before_them() {
        let mut f = Fifo::default();
        f.push_upstream(1);
        f.push_synthetic(failure(), false, true);
        f.push_upstream(2);
        assert_eq!(
            f.pop_synthetic(false),
            None,
            "request 1 is not answered yet"
        );
        assert_eq!(f.answered(), Ok(1));
        assert_eq!(f.pop_synthetic(false), Some((failure(), false)));
        assert_eq!(f.answered(), Ok(2));
        assert!(f.is_empty());
    }

    #[test]
    fn a_server_answer_for_nothing_outstanding_is_an_error() {
        let mut f: Fifo<u32> = Fifo::default();
        assert_eq!(f.answered(), Err(Unexpected));
        f.push_synthetic(failure(), false, true);
        assert_eq!(
            f.answered(),
            Err(Unexpected),
            "boltward's own answer is first"
        );
    }

    #[test]
    fn a_failure_after_the_server_failed_becomes_ignored_unless_it_closes() {
        let mut f: Fifo<u32> = Fifo::default();
        f.push_synthetic(failure(), false, true);
        f.push_synthetic(failure(), true, true);
        f.push_synthetic(Bytes::from_static(b"S"), false, false);
        assert_eq!(
            f.pop_synthetic(true),
            Some((Bytes::from_static(IGNORED), false))
        );
        assert_eq!(f.pop_synthetic(true), Some((failure(), true)));
        assert_eq!(
            f.pop_synthetic(true),
            Some((Bytes::from_static(b"S"), false))
        );
    }

    #[test]
    fn upstream_slots_are_visited_up_to_the_first_own_answer() {
        let mut f = Fifo::default();
        f.push_upstream(1);
        f.push_upstream(2);
        f.push_synthetic(failure(), false, true);
        f.push_upstream(3);
        for p in f.upstream_mut() {
            *p *= 10;
        }
        assert!(f.awaiting_upstream());
        assert_eq!(f.answered(), Ok(10));
        assert_eq!(f.answered(), Ok(20));
        assert!(f.pop_synthetic(false).is_some());
        assert_eq!(f.answered(), Ok(3), "past boltward's own answer: untouched");
        assert!(!f.awaiting_upstream());
    }

    #[test]
    fn the_ignored_bytes_are_an_ignored_message() {
        let mut buf = bytes::BytesMut::from(IGNORED);
        let mut dec = boltward_protocol::chunk::ChunkDecoder::default();
        let Some(boltward_protocol::chunk::Frame::Message(m)) = dec.decode(&mut buf).unwrap()
        else {
            panic!("one message")
        };
        let r = boltward_protocol::Response::decode(
            &m.body(),
            boltward_protocol::Dialect::new(boltward_protocol::Version::V5_4),
        );
        assert!(matches!(r, Ok(boltward_protocol::Response::Ignored)));
    }
}
