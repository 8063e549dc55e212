//! The session's rules as table tests: scripted client requests and server answers
//! through the I/O-free machine (see [`super::harness`]), no sockets, no server.

use super::harness::{begin, pull, run, Answer, Harness};
use boltward_journal::{Entry, TxResult};
use boltward_protocol::message::Response;
use boltward_protocol::Request;

const OK: Answer = Answer::Success { records: 0 };

fn answer_all(h: &mut Harness) {
    while h.owed() > 0 {
        h.server(OK);
    }
    h.check_quiescent();
}

fn after_login(h: &Harness) -> Vec<&'static str> {
    h.forwarded_kinds()[2..].to_vec()
}

fn failure_code(r: &Response) -> String {
    match r {
        Response::Failure(f) => f.code().unwrap_or("").to_owned(),
        other => panic!("expected a FAILURE, got {other:?}"),
    }
}

#[test]
fn a_refusal_then_ignored_until_reset() {
    for journaling in [false, true] {
        let mut h = Harness::logged_in(journaling, "reader");
        h.client(run("CREATE (n:A)"));
        h.client(pull(-1));
        h.client(run("RETURN 1"));
        h.client(Request::Commit);
        h.client(Request::Reset);
        answer_all(&mut h);
        assert_eq!(h.summaries(), "SSFIIIS", "journaling {journaling}");
        assert_eq!(after_login(&h), ["RESET"], "nothing else forwarded");
        assert!(failure_code(&h.received[2]).contains("Forbidden"));
        let refusals = h
            .journal
            .iter()
            .filter(|e| matches!(e, Entry::Refusal(_)))
            .count();
        assert_eq!(
            refusals,
            usize::from(journaling),
            "the refusal is journaled"
        );
        // After RESET the session works again.
        h.client(run("RETURN 1"));
        h.client(pull(-1));
        answer_all(&mut h);
        assert_eq!(&h.summaries()[7..], "SS");
    }
}

#[test]
fn a_refusal_queued_behind_a_server_failure_is_shown_as_ignored() {
    let mut h = Harness::logged_in(false, "reader");
    h.client(run("RETURN 1"));
    h.client(pull(-1));
    h.client(run("CREATE (n:A)")); // refused, queued behind the two forwarded requests
    h.server(Answer::ClientError); // the RUN fails: the server ignores the PULL
    h.server(OK);
    h.check_quiescent();
    // A server never sends two FAILUREs without a RESET between them.
    assert_eq!(h.summaries(), "SSFII");
    assert_eq!(after_login(&h), ["RUN", "PULL"]);
}

#[test]
fn a_poisoned_transaction_commits_as_a_rollback() {
    // The model server reports every statement as a write: for the reader, a statement
    // classified read that wrote poisons the transaction (the predicted-read guard).
    for journaling in [false, true] {
        let mut h = Harness::logged_in(journaling, "reader");
        h.client(begin(false));
        h.client(run("MATCH (n) RETURN n"));
        h.client(pull(-1));
        h.client(Request::Commit);
        answer_all(&mut h);
        assert_eq!(after_login(&h), ["BEGIN", "RUN", "PULL", "ROLLBACK"]);
        assert_eq!(
            h.summaries(),
            "SSSSSF",
            "the COMMIT is answered with a FAILURE"
        );
        assert!(failure_code(h.received.last().unwrap()).contains("Forbidden"));
        assert!(
            h.outcomes.is_empty(),
            "nothing committed, nothing to resolve"
        );
    }
}

#[test]
fn an_explicit_write_transaction_is_journaled_before_its_commit() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(begin(false));
    h.client(run("CREATE (n:A)"));
    h.client(pull(-1));
    h.client(Request::Commit);
    assert!(
        h.journal.is_empty(),
        "the COMMIT waits for every earlier answer"
    );
    answer_all(&mut h);
    assert_eq!(after_login(&h), ["BEGIN", "RUN", "PULL", "COMMIT"]);
    assert!(matches!(h.journal[0], Entry::Intent(_)));
    assert!(matches!(h.outcomes[..], [(1, TxResult::Committed { .. })]));
    assert_eq!(h.summaries(), "SSSSSS");
}

#[test]
fn an_auto_commit_write_runs_in_boltwards_transaction_and_commits_in_journal_order() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CREATE (n:A)"));
    h.client(pull(-1));
    assert!(matches!(h.journal[..], [Entry::Intent(_)]), "intent first");
    answer_all(&mut h);
    assert_eq!(after_login(&h), ["BEGIN", "RUN", "PULL", "COMMIT"]);
    assert_eq!(
        h.summaries(),
        "SSSS",
        "the client sees an auto-commit: RUN, PULL"
    );
    match &h.received[3] {
        Response::Success(s) => assert_eq!(s.bookmark(), Some("FB:1"), "COMMIT's bookmark"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(h.outcomes[..], [(1, TxResult::Committed { .. })]));
}

#[test]
fn a_transient_commit_failure_of_a_wrapped_write_is_retried_unseen() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CREATE (n:A)"));
    h.client(pull(-1));
    h.server(OK); // BEGIN
    h.server(OK); // RUN
    h.server(Answer::Success { records: 2 }); // PULL: held
    h.server(Answer::Transient); // COMMIT fails: run again under a new intent
    for _ in 0..3 {
        h.server(OK); // RESET, BEGIN, RUN
    }
    h.server(Answer::Success { records: 1 }); // PULL
    answer_all(&mut h);
    assert_eq!(
        after_login(&h),
        ["BEGIN", "RUN", "PULL", "COMMIT", "RESET", "BEGIN", "RUN", "PULL", "COMMIT"]
    );
    assert_eq!(
        h.summaries(),
        "SSSS",
        "the client saw nothing of the failed attempt"
    );
    let records = h
        .received
        .iter()
        .filter(|r| matches!(r, Response::Record(_)))
        .count();
    assert_eq!(
        records, 1,
        "only the successful attempt's RECORDs are shown"
    );
    assert!(matches!(
        h.outcomes[..],
        [
            (1, TxResult::Failed { .. }),
            (2, TxResult::Committed { .. })
        ]
    ));
}

/// Found by the session fuzz target: a retry fetched the result with PULL although the
/// client had sent DISCARD, so the client got RECORDs it had discarded. A retry sends the
/// client's own PULL or DISCARD.
#[test]
fn a_retried_wrapped_write_fetches_its_result_the_way_the_client_asked() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CREATE (n:A)"));
    h.client(Request::Discard(boltward_protocol::message::Pull::new(-1)));
    h.server(OK); // BEGIN
    h.server(OK); // RUN
    h.server(OK); // DISCARD
    h.server(Answer::Transient); // COMMIT fails: run again under a new intent
    for _ in 0..3 {
        h.server(OK); // RESET, BEGIN, RUN
    }
    answer_all(&mut h);
    assert_eq!(
        after_login(&h),
        ["BEGIN", "RUN", "DISCARD", "COMMIT", "RESET", "BEGIN", "RUN", "DISCARD", "COMMIT"]
    );
    assert_eq!(h.summaries(), "SSSS");
    assert!(
        !h.received.iter().any(|r| matches!(r, Response::Record(_))),
        "a DISCARD is never answered with RECORDs"
    );
}

#[test]
fn a_wrapped_write_reset_before_its_commit_is_rolled_back() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CREATE (n:A)"));
    h.server(OK); // BEGIN
    h.server(OK); // RUN
    h.client(Request::Reset);
    answer_all(&mut h);
    assert!(matches!(h.outcomes[..], [(1, TxResult::RolledBack { .. })]));
    assert_eq!(after_login(&h), ["BEGIN", "RUN", "RESET"]);
    assert_eq!(h.summaries(), "SSSS");
}

#[test]
fn only_pull_discard_reset_and_goodbye_may_follow_an_open_wrapped_result() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CREATE (n:A)"));
    h.client(begin(false));
    answer_all(&mut h);
    assert_eq!(after_login(&h), ["BEGIN", "RUN"]);
    assert_eq!(h.summaries(), "SSSF");
    assert!(failure_code(&h.received[3]).contains("Request.Invalid"));
}

#[test]
fn without_a_journal_writes_are_forwarded_as_sent() {
    let mut h = Harness::logged_in(false, "writer");
    h.client(run("CREATE (n:A)"));
    h.client(pull(-1));
    answer_all(&mut h);
    assert_eq!(after_login(&h), ["RUN", "PULL"]);
    assert!(h.journal.is_empty() && h.outcomes.is_empty());
}

#[test]
fn when_the_journal_cannot_record_a_write_it_is_not_run() {
    // The journal fails, or the loop appended nothing and says so: the same refusal.
    let fail = |h: &mut Harness, forget: bool| {
        if forget {
            h.forget_intents = true;
        } else {
            h.journal_down = true;
        }
    };
    for forget in [false, true] {
        // Auto-commit: a transient FAILURE, nothing forwarded.
        let mut h = Harness::logged_in(true, "writer");
        fail(&mut h, forget);
        h.client(run("CREATE (n:A)"));
        h.client(pull(-1));
        h.client(Request::Reset);
        answer_all(&mut h);
        assert_eq!(after_login(&h), ["RESET"], "forget {forget}");
        assert_eq!(h.summaries(), "SSFIS", "forget {forget}");
        assert!(failure_code(&h.received[2]).starts_with("Neo.TransientError."));
        // Reads still run.
        h.client(run("RETURN 1"));
        h.client(pull(-1));
        answer_all(&mut h);
        assert_eq!(&h.summaries()[5..], "SS", "forget {forget}");

        // Explicit: the COMMIT becomes a ROLLBACK, answered with a transient FAILURE.
        let mut h = Harness::logged_in(true, "writer");
        h.client(begin(false));
        h.client(run("CREATE (n:A)"));
        h.client(pull(-1));
        answer_all(&mut h);
        fail(&mut h, forget);
        h.client(Request::Commit);
        answer_all(&mut h);
        assert_eq!(
            after_login(&h),
            ["BEGIN", "RUN", "PULL", "ROLLBACK"],
            "forget {forget}"
        );
        assert!(failure_code(h.received.last().unwrap()).starts_with("Neo.TransientError."));
    }
}

#[test]
fn statements_that_commit_their_own_transactions_are_not_wrapped() {
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CALL { CREATE (:B) } IN TRANSACTIONS"));
    h.client(pull(-1));
    answer_all(&mut h);
    assert_eq!(after_login(&h), ["RUN", "PULL"]);
    assert!(matches!(h.journal[..], [Entry::Intent(_)]));
    assert!(matches!(h.outcomes[..], [(1, TxResult::Committed { .. })]));
}

#[test]
fn an_answer_nobody_asked_for_ends_the_session() {
    let mut h = Harness::logged_in(false, "writer");
    assert_eq!(h.owed(), 0);
    h.server_unasked();
    assert!(
        h.closed,
        "an unrequested answer is a broken server: the session ends"
    );
    assert_eq!(h.summaries(), "SS", "and the client is not shown it");
}

#[test]
fn the_write_gate_holds_write_transactions_and_auto_commit_writes_only() {
    use crate::cypher::classify;
    let h = Harness::logged_in(false, "writer");
    let m = h.machine();
    let write = classify("CREATE (n)");
    let read = classify("RETURN 1");
    assert!(m.holds_writes(&begin(false), None));
    assert!(
        !m.holds_writes(&begin(true), None),
        "read transactions are not held"
    );
    assert!(m.holds_writes(&run("CREATE (n)"), Some(&write)));
    assert!(!m.holds_writes(&run("RETURN 1"), Some(&read)));
    assert!(
        !m.holds_writes(&Request::Commit, None),
        "work in flight finishes"
    );
    let mut h = Harness::logged_in(false, "writer");
    h.client(begin(false));
    h.server(OK);
    assert!(
        !h.machine().holds_writes(&run("CREATE (n)"), Some(&write)),
        "statements inside an open transaction are never held"
    );
}

#[test]
fn the_fuzz_entry_runs_a_long_mixed_script() {
    // A smoke run of the fuzz target's decoder over every op.
    let mut data = vec![0u8];
    for op in 0..16u8 {
        for arg in [0u8, 1, 2, 3, 4, 5, 0x21, 0xFF] {
            data.extend([op, arg]);
        }
    }
    super::harness::fuzz(&data);
    data[0] = 4; // without a journal
    super::harness::fuzz(&data);
}

#[test]
fn an_ignored_request_of_boltwards_own_is_not_shown() {
    // Found by the session fuzzer: a write pipelined behind a statement that fails. The
    // server ignores the BEGIN boltward added and the client's RUN: the client must see
    // one IGNORED (for its RUN), and the write is journaled as rolled back.
    let mut h = Harness::logged_in(true, "writer");
    h.client(run("CALL { CREATE (:B) } IN TRANSACTIONS"));
    h.client(run("CREATE (n:A)"));
    assert_eq!(after_login(&h), ["RUN", "BEGIN", "RUN"]);
    h.server(Answer::Transient);
    answer_all(&mut h);
    assert_eq!(h.summaries(), "SSFI");
    assert!(matches!(
        h.outcomes[..],
        [
            (1, TxResult::Failed { .. }),
            (2, TxResult::RolledBack { .. })
        ]
    ));
}

#[test]
fn writes_that_replay_differently_are_refused_warned_or_allowed() {
    use crate::config::UnsafeReplay;
    for (mode, forwarded, answers) in [
        (UnsafeReplay::Refuse, vec!["RESET"], "SSFIS"),
        (
            UnsafeReplay::Warn,
            vec!["BEGIN", "RUN", "PULL", "COMMIT", "RESET"],
            "SSSSS",
        ),
        (
            UnsafeReplay::Allow,
            vec!["BEGIN", "RUN", "PULL", "COMMIT", "RESET"],
            "SSSSS",
        ),
    ] {
        let mut h = Harness::logged_in(true, "writer");
        h.set_unsafe_replay(mode);
        h.client(run("CREATE (:A {id: randomUUID(), at: datetime()})"));
        h.client(pull(-1));
        h.client(Request::Reset);
        answer_all(&mut h);
        assert_eq!(after_login(&h), forwarded, "{mode:?}");
        assert_eq!(h.summaries(), answers, "{mode:?}");
        if mode == UnsafeReplay::Refuse {
            let Response::Failure(f) = &h.received[2] else {
                panic!("{:?}", h.received[2])
            };
            let message = f.message().unwrap_or("");
            assert!(message.contains("replication:unsafe"), "{message}");
            assert!(message.contains("random, clock"), "{message}");
            assert!(message.contains("pass it as a parameter"), "{message}");
        }
    }
    // A write with its values as parameters is never flagged.
    let mut h = Harness::logged_in(true, "writer");
    h.set_unsafe_replay(UnsafeReplay::Refuse);
    h.client(run("CREATE (:A {id: $id, at: $now})"));
    h.client(pull(-1));
    answer_all(&mut h);
    assert_eq!(h.summaries(), "SSSS");
}

/// Governance as a table: who runs what, auto-commit and in an explicit transaction, and
/// whether the statement reaches the server. The harness's policy lets `writer` read,
/// write and call procedures, `reader` only read, and nobody else anything; the guards
/// (an unbounded delete) apply to everyone.
#[test]
fn governance_by_principal_statement_and_transaction() {
    const ALLOWED: bool = true;
    const REFUSED: bool = false;
    let table: &[(&str, &str, bool)] = &[
        ("writer", "MATCH (n) RETURN n", ALLOWED),
        ("writer", "CREATE (n:A)", ALLOWED),
        ("writer", "MATCH (n:A {k: 1}) DETACH DELETE n", ALLOWED),
        // A delete with nothing to bound it is a destructive pattern, whoever runs it.
        ("writer", "MATCH (n) DETACH DELETE n", REFUSED),
        ("writer", "CALL db.labels()", ALLOWED),
        ("writer", "CREATE INDEX i FOR (n:A) ON (n.x)", REFUSED),
        ("writer", "CREATE USER bob SET PASSWORD 'pw'", REFUSED),
        ("reader", "MATCH (n) RETURN n", ALLOWED),
        ("reader", "RETURN 1", ALLOWED),
        ("reader", "CREATE (n:A)", REFUSED),
        ("reader", "MERGE (n:A {k: 1})", REFUSED),
        ("reader", "MATCH (n) SET n.x = 1", REFUSED),
        ("reader", "MATCH (n) DETACH DELETE n", REFUSED),
        ("reader", "\\u0043REATE (n:A)", REFUSED),
        ("reader", "WITH 1 AS x // note\rCREATE (n:A)", REFUSED),
        ("reader", "CALL apoc.cypher.run($q, {})", REFUSED),
        ("reader", "DROP INDEX i", REFUSED),
        ("nobody", "RETURN 1", REFUSED),
    ];
    for &(principal, query, allowed) in table {
        for explicit in [false, true] {
            for journaling in [false, true] {
                let what =
                    format!("{principal} {query:?} explicit {explicit} journaling {journaling}");
                let mut h = Harness::logged_in(journaling, principal);
                if explicit {
                    h.client(begin(false));
                }
                h.client(run(query));
                h.client(pull(-1));
                answer_all(&mut h);
                let at = 2 + usize::from(explicit);
                let forwarded = after_login(&h).contains(&"RUN");
                if allowed {
                    assert!(
                        matches!(h.received[at], Response::Success(_)),
                        "{what}: {:?}",
                        h.received[at]
                    );
                    assert!(forwarded, "{what}: the statement reaches the server");
                } else {
                    assert!(
                        failure_code(&h.received[at]).contains("Forbidden"),
                        "{what}"
                    );
                    assert!(
                        matches!(h.received[at + 1], Response::Ignored),
                        "{what}: the PULL after a refusal is IGNORED"
                    );
                    assert!(!forwarded, "{what}: the server never sees it");
                    let journaled = h.journal.iter().any(|e| matches!(e, Entry::Refusal(_)));
                    assert_eq!(journaled, journaling, "{what}: the refusal is journaled");
                }
            }
        }
    }
}

/// The deletion budget (two per transaction for `cleaner`): a transaction that deleted
/// more commits as a ROLLBACK answered with a FAILURE; one within it commits.
#[test]
fn a_transaction_over_its_deletion_budget_commits_as_a_rollback() {
    for (deletes, commits) in [(1, true), (2, true), (3, false)] {
        for journaling in [false, true] {
            let what = format!("{deletes} deletes, journaling {journaling}");
            let mut h = Harness::logged_in(journaling, "cleaner");
            h.client(begin(false));
            for k in 0..deletes {
                h.client(run(&format!("MATCH (n:A {{k: {k}}}) DELETE n")));
                h.client(pull(-1));
            }
            h.client(Request::Commit);
            answer_all(&mut h);
            let last = after_login(&h).last().copied();
            if commits {
                assert_eq!(last, Some("COMMIT"), "{what}");
                assert!(
                    matches!(h.received.last(), Some(Response::Success(_))),
                    "{what}"
                );
            } else {
                assert_eq!(last, Some("ROLLBACK"), "{what}: COMMIT never sent");
                let failure = h.received.last().unwrap();
                assert!(failure_code(failure).contains("Forbidden"), "{what}");
                assert!(
                    format!("{failure:?}").contains("guard:deletion-budget"),
                    "{what}"
                );
            }
            if journaling {
                let committed = h
                    .outcomes
                    .iter()
                    .filter(|(_, r)| matches!(r, TxResult::Committed { .. }))
                    .count();
                assert_eq!(committed, usize::from(commits), "{what}: journal outcome");
            }
        }
    }
}

/// The delete-rate breaker (three deletions per ten minutes for `cleaner`): the fourth
/// delete is refused before it reaches the server; other statements still run.
#[test]
fn the_delete_rate_breaker_refuses_deletes_past_the_rate() {
    let mut h = Harness::logged_in(false, "cleaner");
    for k in 0..4 {
        h.client(run(&format!("MATCH (n:A {{k: {k}}}) DELETE n")));
        h.client(pull(-1));
        answer_all(&mut h);
        if k == 3 {
            let refused = &h.received[h.received.len() - 2];
            assert!(failure_code(refused).contains("Forbidden"), "delete {k}");
            assert!(format!("{refused:?}").contains("guard:delete-rate"));
            h.client(Request::Reset);
            answer_all(&mut h);
        } else {
            assert!(
                h.summaries().ends_with("SS"),
                "delete {k}: {}",
                h.summaries()
            );
        }
    }
    let runs = h.forwarded_kinds().iter().filter(|k| **k == "RUN").count();
    assert_eq!(runs, 3, "the fourth delete never reached the server");
    h.client(run("CREATE (n:A)"));
    h.client(pull(-1));
    answer_all(&mut h);
    assert!(h.summaries().ends_with("SS"), "a create still runs");
}

/// Found by the session fuzz target (a harness bug, kept as a regression test): as
/// `nobody`, COMMIT, a refused RUN, COMMIT, GOODBYE. The GOODBYE goes to the server after
/// the refusal, as it may; it is no request of the count.
#[test]
fn fuzz_a_goodbye_after_a_refusal() {
    super::harness::fuzz(&[116, 235, 1, 102, 0, 123, 255, 255, 255, 255, 255]);
}
