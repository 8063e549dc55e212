//! The guards: refusals that protect the data whatever a rule allows. Pure functions of
//! what was classified, counted or decided; the session applies them at the right moment
//! (before forwarding, on a summary, at COMMIT).
//!
//! | guard | input | when |
//! |---|---|---|
//! | `guard:unbounded-delete` | the classification | before forwarding |
//! | `guard:schema-drop` | the classification | before forwarding |
//! | `guard:delete-rate` | the actor's deletions in the window (server counters) | before forwarding a delete |
//! | `guard:deletion-budget` | the transaction's deletions (server counters) | at COMMIT (ROLLBACK instead) |
//! | `guard:predicted-read` | the server reports a write for a statement classified read | on the summary; at COMMIT |

use super::{decide, Actor, Decision, Policy, Verdict};
use crate::cypher::{Class, Classification};
use std::time::Duration;

/// A guard's refusal: the rule and the reason, in words an operator can act on.
pub type Refusal = (&'static str, String);

/// `guard:unbounded-delete` and `guard:schema-drop`, unless allowed.
pub fn statement(c: &Classification, unbounded_ok: bool, drop_ok: bool) -> Option<Refusal> {
    if c.unbounded_delete && !unbounded_ok {
        return Some((
            "guard:unbounded-delete",
            "DELETE over a MATCH with no WHERE, property filter or LIMIT would remove every matching entity".into(),
        ));
    }
    if c.schema_drop && !drop_ok {
        return Some((
            "guard:schema-drop",
            "dropping indexes or constraints is not allowed".into(),
        ));
    }
    None
}

/// `guard:delete-rate`: the actor deleted `used` entities in the last `window`, `max` are
/// allowed.
pub fn delete_rate(used: u64, max: u64, window: Duration) -> Option<Refusal> {
    (used >= max).then(|| {
        (
            "guard:delete-rate",
            format!(
                "{used} entities deleted in the last {}s, the limit is {max}; try again later",
                window.as_secs()
            ),
        )
    })
}

/// Applies [`delete_rate`] to an allowing verdict of a statement that deletes.
pub fn apply_delete_rate(verdict: &mut Verdict, deletes: bool, used: impl FnOnce(Duration) -> u64) {
    if verdict.denied() || !deletes {
        return;
    }
    let Some((max, window)) = verdict.delete_rate else {
        return;
    };
    if let Some((rule, reason)) = delete_rate(used(window), max, window) {
        verdict.verdict = Decision::Deny;
        verdict.rule = rule.into();
        verdict.reason = reason;
    }
}

/// `replication:unsafe`: a write whose replay on a mirror can differ from what the primary
/// wrote (see [`crate::cypher::replay`]). With `refuse` an allowing verdict becomes a
/// refusal that says what to do; with `warn` and `refuse` the hazards are returned (to log
/// and count).
pub fn replay_unsafe(
    verdict: &mut Verdict,
    c: &crate::cypher::Classification,
    mode: crate::config::UnsafeReplay,
) -> Vec<&'static str> {
    use crate::config::UnsafeReplay;
    if mode == UnsafeReplay::Allow || c.is_read() || c.replay.is_empty() {
        return Vec::new();
    }
    let hazards: Vec<&'static str> = c.replay.iter().map(|h| h.as_str()).collect();
    if mode == UnsafeReplay::Refuse && !verdict.denied() {
        verdict.verdict = Decision::Deny;
        verdict.rule = "replication:unsafe".into();
        verdict.reason = format!(
            "this write would replay differently on a mirror ({}): compute the value in the application and pass it as a parameter (e.g. `SET n.id = $id`, `SET n.at = $now`), order rows before SKIP/LIMIT, or set replication.unsafe = \"warn\"",
            hazards.join(", ")
        );
    }
    hazards
}

/// `guard:deletion-budget`: the transaction deleted `deleted` entities, `budget` allowed.
pub fn deletion_budget(deleted: i64, budget: Option<u64>) -> Option<Refusal> {
    let max = budget?;
    (deleted > max as i64).then(|| {
        (
            "guard:deletion-budget",
            format!("the transaction deleted {deleted} entities, the budget is {max}"),
        )
    })
}

/// `guard:predicted-read`: a statement classified read that the server reports as a write
/// is decided again with the server's answer (`write`) as its class.
///
/// | policy for that write | enforce                              | audit                     |
/// |-----------------------|--------------------------------------|---------------------------|
/// | allows it             | committed, warned                    | committed, warned         |
/// | forbids it            | COMMIT becomes ROLLBACK (in a tx)    | committed, would-deny log |
///
/// An auto-commit statement has committed by the time its summary arrives; a forbidden
/// one is logged as refused too late, and journaled like any write.
pub fn predicted_read_wrote(
    policy: &Policy,
    actor: &Actor,
    c: &Classification,
    db: Option<&str>,
) -> Verdict {
    let mut c = c.clone();
    c.classes.remove(&Class::Read);
    c.classes.insert(Class::Write);
    c.certain.insert(Class::Write);
    decide(policy, actor, &c, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_rate_refuses_at_the_limit() {
        let w = Duration::from_secs(60);
        assert!(delete_rate(99, 100, w).is_none());
        let (rule, why) = delete_rate(100, 100, w).unwrap();
        assert_eq!(rule, "guard:delete-rate");
        assert!(
            why.contains("100 entities deleted in the last 60s"),
            "{why}"
        );
    }

    #[test]
    fn deletion_budget_refuses_beyond_it() {
        assert!(deletion_budget(10, None).is_none());
        assert!(deletion_budget(10, Some(10)).is_none());
        let (rule, why) = deletion_budget(11, Some(10)).unwrap();
        assert_eq!(rule, "guard:deletion-budget");
        assert!(why.contains("deleted 11"), "{why}");
    }

    #[test]
    fn statement_guards() {
        let c = crate::cypher::classify("MATCH (n) DETACH DELETE n");
        assert_eq!(
            statement(&c, false, false).unwrap().0,
            "guard:unbounded-delete"
        );
        assert!(statement(&c, true, false).is_none());
        let c = crate::cypher::classify("DROP INDEX i");
        assert_eq!(statement(&c, false, false).unwrap().0, "guard:schema-drop");
        assert!(statement(&c, false, true).is_none());
    }
}
