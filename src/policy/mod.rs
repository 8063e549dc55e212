//! Write governance policy: a pure decision.
//!
//! `decide(policy, actor, classification, database) → Verdict`, no I/O, no clock. Rules
//! are tried in order; the first whose actor and database match decides. A rule denies
//! a class it lists in `deny`, allows a statement whose classes are all in `allow`, and
//! denies anything else. Guards (unbounded deletes, schema drops, label scope) apply to
//! the deciding rule. With no matching rule the default verdict applies, guards included.
//! In `audit` mode a deny is returned as an allow that records what would have happened.
//!
//! - [`model`]: the TOML model (`[policy]` in `boltward.toml`, or a file of its own).
//! - [`matcher`]: glob and CIDR matching.
//! - [`decide`](mod@decide): the decision.
//! - [`guards`]: refusals that protect the data whatever a rule allows.
//! - [`reload`](mod@reload): replacing the policy in force (SIGHUP, control port).

pub mod decide;
pub mod guards;
pub mod matcher;
pub mod model;
pub mod reload;

pub use decide::{decide, Actor, Decision, Outcome, Verdict};
pub use model::{Mode, Policy, PolicyError, Rule};
pub use reload::{reload, PolicyHandle, ReloadError};
