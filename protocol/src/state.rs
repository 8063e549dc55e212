//! The Bolt server state machine as data, so a proxy can track each connection.
//!
//! Requests are pipelined, so the state moves when each request's *summary* arrives, in
//! request order: [`Tracker::apply`] takes the request kind and its summary. A RESET
//! interrupts the server as soon as it is sent, which [`Tracker::reset_sent`] records.
//! [`expect`] says what the server does with a request in a state, which is what a proxy
//! needs to answer for the server (IGNORED in FAILED) or to spot a protocol violation.

use crate::message::{RequestKind, Response};
use crate::version::Version;

/// Server states (Bolt 5.1+ names; CONNECTED ≤ 5.0 is [`ServerState::Negotiation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Handshake done, waiting for HELLO.
    Negotiation,
    /// HELLO or LOGOFF accepted, waiting for LOGON (5.1+).
    Authentication,
    /// Idle.
    Ready,
    /// Auto-commit result open.
    Streaming,
    /// Explicit transaction open, no result open.
    TxReady,
    /// Explicit transaction with at least one open result.
    TxStreaming,
    /// A request failed; everything but RESET / GOODBYE is IGNORED.
    Failed,
    /// A RESET was sent and is not processed yet; everything before it is IGNORED.
    Interrupted,
    /// Closed for good.
    Defunct,
}

impl ServerState {
    /// Upper-case name as in the Bolt docs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Negotiation => "NEGOTIATION",
            Self::Authentication => "AUTHENTICATION",
            Self::Ready => "READY",
            Self::Streaming => "STREAMING",
            Self::TxReady => "TX_READY",
            Self::TxStreaming => "TX_STREAMING",
            Self::Failed => "FAILED",
            Self::Interrupted => "INTERRUPTED",
            Self::Defunct => "DEFUNCT",
        }
    }

    /// Whether an explicit transaction is open.
    pub fn in_transaction(self) -> bool {
        matches!(self, Self::TxReady | Self::TxStreaming)
    }
}

/// The summary that ended a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Summary {
    /// SUCCESS; `has_more` for PULL / DISCARD.
    Success {
        /// More records remain.
        has_more: bool,
    },
    /// FAILURE.
    Failure,
    /// IGNORED.
    Ignored,
}

impl Summary {
    /// The summary of a response; `None` for RECORD.
    pub fn of(response: &Response) -> Option<Self> {
        match response {
            Response::Success(s) => Some(Summary::Success {
                has_more: s.has_more(),
            }),
            Response::Failure(_) => Some(Summary::Failure),
            Response::Ignored => Some(Summary::Ignored),
            Response::Record(_) => None,
        }
    }
}

/// What the server does with a request in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Processed: answers SUCCESS or FAILURE.
    Process,
    /// Answered IGNORED without effect.
    Ignore,
    /// Closes the connection without an answer (GOODBYE).
    Close,
    /// Not valid here: a protocol violation the server answers with FAILURE or a close.
    Violation,
}

/// What the server does with `request` in `state`.
pub fn expect(state: ServerState, version: Version, request: RequestKind) -> Expect {
    use RequestKind as R;
    use ServerState as S;
    if request == R::Goodbye {
        return Expect::Close;
    }
    let ok = match state {
        S::Negotiation => request == R::Hello,
        S::Authentication => request == R::Logon,
        S::Failed | S::Interrupted => {
            return if request == R::Reset {
                Expect::Process
            } else if matches!(request, R::Hello | R::Logon) {
                Expect::Violation
            } else {
                Expect::Ignore
            }
        }
        S::Defunct => false,
        S::Ready => {
            matches!(
                request,
                R::Run | R::Begin | R::Route | R::Telemetry | R::Reset
            ) || (request == R::Logoff && version.has_logon())
        }
        S::Streaming => matches!(request, R::Pull | R::Discard | R::Reset),
        S::TxReady => matches!(request, R::Run | R::Commit | R::Rollback | R::Reset),
        S::TxStreaming => matches!(
            request,
            R::Run | R::Pull | R::Discard | R::Commit | R::Rollback | R::Reset
        ),
    };
    if ok {
        Expect::Process
    } else {
        Expect::Violation
    }
}

/// Tracks one connection's server state from requests and their summaries.
#[derive(Debug, Clone)]
pub struct Tracker {
    version: Version,
    state: ServerState,
    open_streams: u32,
    resets_in_flight: u32,
}

impl Tracker {
    /// A connection that just finished the handshake.
    pub fn new(version: Version) -> Self {
        Tracker {
            version,
            state: ServerState::Negotiation,
            open_streams: 0,
            resets_in_flight: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// Open result streams inside the current transaction.
    pub fn open_streams(&self) -> u32 {
        self.open_streams
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Records that a RESET was sent: the server interrupts at once.
    pub fn reset_sent(&mut self) {
        self.resets_in_flight += 1;
        if !matches!(
            self.state,
            ServerState::Negotiation | ServerState::Authentication | ServerState::Defunct
        ) {
            self.state = ServerState::Interrupted;
        }
    }

    /// Moves the state for `request` answered by `summary`; returns the new state.
    pub fn apply(&mut self, request: RequestKind, summary: Summary) -> ServerState {
        self.state = self.next(request, summary);
        if !self.state.in_transaction() {
            self.open_streams = 0;
        }
        self.state
    }

    fn next(&mut self, request: RequestKind, summary: Summary) -> ServerState {
        use RequestKind as R;
        use ServerState as S;
        let state = self.state;
        if request == R::Goodbye {
            return S::Defunct;
        }
        if request == R::Reset {
            self.resets_in_flight = self.resets_in_flight.saturating_sub(1);
            return match summary {
                Summary::Success { .. } if self.resets_in_flight > 0 => S::Interrupted,
                Summary::Success { .. } => S::Ready,
                _ => S::Defunct,
            };
        }
        let has_more = match summary {
            Summary::Ignored => return state,
            Summary::Failure => {
                return match (state, request) {
                    (S::Negotiation, _) | (S::Authentication, _) | (_, R::Hello | R::Logon) => {
                        S::Defunct
                    }
                    (S::Interrupted, _) => S::Interrupted,
                    _ => S::Failed,
                }
            }
            Summary::Success { has_more } => has_more,
        };
        if state == S::Interrupted {
            return S::Interrupted;
        }
        match (state, request) {
            (S::Negotiation, R::Hello) if self.version.has_logon() => S::Authentication,
            (S::Negotiation, R::Hello) => S::Ready,
            (S::Authentication, R::Logon) => S::Ready,
            (S::Ready, R::Run) => S::Streaming,
            (S::Ready, R::Begin) => S::TxReady,
            (S::Ready, R::Route | R::Telemetry) => S::Ready,
            (S::Ready, R::Logoff) => S::Authentication,
            (S::Streaming, R::Pull | R::Discard) if has_more => S::Streaming,
            (S::Streaming, R::Pull | R::Discard) => S::Ready,
            (S::TxReady | S::TxStreaming, R::Run) => {
                self.open_streams += 1;
                S::TxStreaming
            }
            (S::TxStreaming, R::Pull | R::Discard) if has_more => S::TxStreaming,
            (S::TxStreaming, R::Pull | R::Discard) => {
                self.open_streams = self.open_streams.saturating_sub(1);
                if self.open_streams == 0 {
                    S::TxReady
                } else {
                    S::TxStreaming
                }
            }
            (S::TxReady | S::TxStreaming, R::Commit | R::Rollback) => S::Ready,
            // The server said SUCCESS to something the table does not expect: follow it
            // rather than guess; the proxy decides separately whether to allow it.
            (s, _) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestKind as R;
    use ServerState as S;

    const OK: Summary = Summary::Success { has_more: false };
    const MORE: Summary = Summary::Success { has_more: true };

    fn walk(version: Version, steps: &[(RequestKind, Summary, ServerState)]) {
        let mut t = Tracker::new(version);
        for (i, (req, sum, want)) in steps.iter().enumerate() {
            assert_eq!(t.apply(*req, *sum), *want, "step {i}: {req:?} {sum:?}");
        }
    }

    #[test]
    fn auto_commit_and_explicit_tx_on_5x() {
        walk(
            Version::V5_4,
            &[
                (R::Hello, OK, S::Authentication),
                (R::Logon, OK, S::Ready),
                (R::Telemetry, OK, S::Ready),
                (R::Run, OK, S::Streaming),
                (R::Pull, MORE, S::Streaming),
                (R::Pull, OK, S::Ready),
                (R::Begin, OK, S::TxReady),
                (R::Run, OK, S::TxStreaming),
                (R::Run, OK, S::TxStreaming),
                (R::Pull, OK, S::TxStreaming),
                (R::Discard, OK, S::TxReady),
                (R::Commit, OK, S::Ready),
                (R::Logoff, OK, S::Authentication),
                (R::Logon, OK, S::Ready),
                (R::Goodbye, OK, S::Defunct),
            ],
        );
    }

    #[test]
    fn hello_goes_straight_to_ready_on_4_4() {
        walk(
            Version::V4_4,
            &[(R::Hello, OK, S::Ready), (R::Route, OK, S::Ready)],
        );
    }

    #[test]
    fn failure_ignores_until_reset() {
        let mut t = Tracker::new(Version::V5_8);
        t.apply(R::Hello, OK);
        t.apply(R::Logon, OK);
        t.apply(R::Begin, OK);
        assert_eq!(t.apply(R::Run, Summary::Failure), S::Failed);
        assert_eq!(expect(t.state(), Version::V5_8, R::Pull), Expect::Ignore);
        assert_eq!(expect(t.state(), Version::V5_8, R::Commit), Expect::Ignore);
        assert_eq!(expect(t.state(), Version::V5_8, R::Reset), Expect::Process);
        assert_eq!(t.apply(R::Pull, Summary::Ignored), S::Failed);
        t.reset_sent();
        assert_eq!(t.state(), S::Interrupted);
        assert_eq!(t.apply(R::Commit, Summary::Ignored), S::Interrupted);
        assert_eq!(t.apply(R::Reset, OK), S::Ready);
        assert_eq!(t.open_streams(), 0);
    }

    #[test]
    fn reset_interrupts_a_stream() {
        let mut t = Tracker::new(Version::V5_4);
        t.apply(R::Hello, OK);
        t.apply(R::Logon, OK);
        t.apply(R::Run, OK);
        t.reset_sent();
        assert_eq!(t.apply(R::Pull, Summary::Ignored), S::Interrupted);
        assert_eq!(t.apply(R::Reset, OK), S::Ready);
    }

    #[test]
    fn auth_failures_are_fatal() {
        walk(
            Version::V5_4,
            &[
                (R::Hello, OK, S::Authentication),
                (R::Logon, Summary::Failure, S::Defunct),
            ],
        );
        walk(Version::V4_4, &[(R::Hello, Summary::Failure, S::Defunct)]);
    }

    #[test]
    fn expectations_table() {
        let v = Version::V5_4;
        assert_eq!(expect(S::Negotiation, v, R::Run), Expect::Violation);
        assert_eq!(expect(S::Ready, v, R::Commit), Expect::Violation);
        assert_eq!(expect(S::Ready, v, R::Begin), Expect::Process);
        assert_eq!(expect(S::TxReady, v, R::Begin), Expect::Violation);
        assert_eq!(expect(S::Streaming, v, R::Run), Expect::Violation);
        assert_eq!(
            expect(S::Ready, Version::V4_4, R::Logoff),
            Expect::Violation
        );
        assert_eq!(expect(S::Failed, v, R::Goodbye), Expect::Close);
    }
}
