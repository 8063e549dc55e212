//! The recovery state machine, persisted so it survives restarts.
//!
//! ```text
//! NOT_RECOVERING ─start─▶ RECOVERING (progress %) ─validate─▶ VALIDATING ─succeed─▶ SUCCEEDED ─promote─▶ PROMOTED
//!        ▲                    │ fail                          │ fail                  │
//!        │                    ▼                               ▼                       │
//!        └──── cancel ──── FAILED ◀───────────────────────────┘                       │
//!        └──── cancel ─── (RECOVERING, VALIDATING, SUCCEEDED) ◀──────────────────────┘
//! ```
//!
//! A new restore starts from NOT_RECOVERING or PROMOTED. FAILED is left with `cancel`
//! (the errors stay in the state for the operator). A restart while RECOVERING or
//! VALIDATING turns the restore FAILED: its task died with the process.

use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where recovery stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    /// No restore in progress.
    #[default]
    NotRecovering,
    /// Loading the snapshot into the target.
    Recovering,
    /// Comparing the target with the snapshot and probing it.
    Validating,
    /// Validated; waiting for promotion.
    Succeeded,
    /// The restore or its validation failed.
    Failed,
    /// The target is boltward's upstream.
    Promoted,
}

impl Phase {
    /// The name operators see.
    pub fn name(self) -> &'static str {
        match self {
            Phase::NotRecovering => "NOT_RECOVERING",
            Phase::Recovering => "RECOVERING",
            Phase::Validating => "VALIDATING",
            Phase::Succeeded => "SUCCEEDED",
            Phase::Failed => "FAILED",
            Phase::Promoted => "PROMOTED",
        }
    }

    /// The `boltward_restore_state` gauge value.
    pub fn gauge(self) -> i64 {
        match self {
            Phase::NotRecovering => 0,
            Phase::Recovering => 1,
            Phase::Validating => 2,
            Phase::Succeeded => 3,
            Phase::Failed => 4,
            Phase::Promoted => 5,
        }
    }
}

/// What moves the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `restore start`.
    Start,
    /// Loading finished; validation begins.
    Validate,
    /// Validation passed.
    Succeed,
    /// Loading or validation failed.
    Fail,
    /// `restore promote`.
    Promote,
    /// `restore cancel` (also acknowledges a failure).
    Cancel,
    /// boltward restarted while a restore was running.
    Interrupted,
}

/// An action the current phase does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// The phase the machine is in.
    pub phase: Phase,
    /// Why, and what to do instead.
    pub message: String,
}

/// The phase `action` leads to from `from`, or why it is refused.
pub fn next(from: Phase, action: Action) -> Result<Phase, Refused> {
    use Action::*;
    use Phase::*;
    let to = match (from, action) {
        (NotRecovering | Promoted, Start) => Recovering,
        (Recovering, Validate) => Validating,
        (Validating, Succeed) => Succeeded,
        (Recovering | Validating, Fail | Interrupted) => Failed,
        (Succeeded, Promote) => Promoted,
        (Recovering | Validating | Succeeded | Failed, Cancel) => NotRecovering,
        _ => {
            let why = match (from, action) {
                (Recovering | Validating, Start) => {
                    "a restore is already running; wait for it or cancel it (restore cancel)"
                }
                (Succeeded, Start) => {
                    "a validated restore awaits promotion; promote it (restore promote) or cancel it first"
                }
                (Failed, Start) => {
                    "the last restore failed; acknowledge it with restore cancel (its errors stay visible), then start again"
                }
                (_, Promote) => "only a restore that SUCCEEDED validation can be promoted",
                (_, Cancel) => "there is no restore to cancel",
                _ => "not allowed in this state",
            };
            return Err(Refused {
                phase: from,
                message: format!("{}: {why} (state is {})", action_name(action), from.name()),
            });
        }
    };
    Ok(to)
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Start => "start",
        Action::Validate => "validate",
        Action::Succeed => "succeed",
        Action::Fail => "fail",
        Action::Promote => "promote",
        Action::Cancel => "cancel",
        Action::Interrupted => "interrupted",
    }
}

/// One restore's details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Restore {
    /// Snapshot id.
    pub snapshot: String,
    /// Target `host:port`.
    pub target: String,
    /// Target database (null: its default).
    pub database: Option<String>,
    /// The target is the upstream in force (writes are held throughout).
    pub in_place: bool,
    /// The target was not empty and `--force` was given.
    pub forced: bool,
    /// The safety snapshot taken of the target before it was emptied.
    pub safety_snapshot: Option<String>,
    /// Entities to load.
    pub total: u64,
    /// Entities loaded.
    pub loaded: u64,
    /// Validation outcome, once validated.
    pub validation: Option<Validation>,
    /// Started, RFC 3339.
    pub started: String,
    /// Finished, RFC 3339.
    pub finished: Option<String>,
    /// A point-in-time restore: how far it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<super::pitr::Until>,
    /// A point-in-time restore: the last LSN it replays up to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_lsn: Option<u64>,
    /// Transactions to replay after the snapshot.
    #[serde(default)]
    pub replay_total: u64,
    /// Transactions replayed so far.
    #[serde(default)]
    pub replayed: u64,
    /// A bootstrap: the mirror it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

impl Restore {
    /// The snapshot it loads and, for a point-in-time restore, what it replays after it.
    pub fn set_source(
        &mut self,
        manifest: &crate::snapshot::store::Manifest,
        plan: Option<&super::pitr::Plan>,
    ) {
        self.snapshot = manifest.id.clone();
        self.replay_total = plan.map_or(0, |p| p.transactions);
        self.total = manifest.counts.nodes + manifest.counts.relationships + self.replay_total;
        self.until = plan.map(|p| p.until.clone());
        self.end_lsn = plan.map(|p| p.end_lsn);
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replayed {
    /// Transactions replayed, each with the journaled update counters.
    pub transactions: u64,
    /// The outcome LSN of the last one.
    pub last_lsn: Option<u64>,
    /// The LSN the replay went up to.
    pub end_lsn: u64,
    /// How long the replay took.
    pub seconds: f64,
}

impl Replayed {
    /// The check it amounts to (the fingerprint after loading is the caller's).
    pub fn check(&self) -> ReplayCheck {
        ReplayCheck {
            counters_equal: true,
            end_lsn: self.end_lsn,
            last_lsn: self.last_lsn,
            loaded_fingerprint: String::new(),
            seconds: self.seconds,
            transactions: self.transactions,
        }
    }
}

/// A point-in-time restore's replay, as validated (`restore.validation.replay`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayCheck {
    /// Every replayed transaction's update counters equal the journaled ones.
    pub counters_equal: bool,
    /// The LSN the replay went up to.
    pub end_lsn: u64,
    /// The outcome LSN of the last transaction replayed.
    pub last_lsn: Option<u64>,
    /// The target's fingerprint after the snapshot was loaded (equal to the snapshot's).
    pub loaded_fingerprint: String,
    /// How long the replay took (seconds).
    #[serde(default)]
    pub seconds: f64,
    /// Transactions replayed.
    pub transactions: u64,
}

/// What validating a restored target found (`restore.validation`). Fields in
/// alphabetical order: the order this object has always been written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Nodes and relationships per label and type equal the snapshot's.
    pub counts_equal: bool,
    /// The snapshot's fingerprint.
    pub expected_fingerprint: String,
    /// What did not match (empty: the restore is valid).
    pub failures: Vec<String>,
    /// The target's fingerprint.
    pub fingerprint: String,
    /// The health probes on the target.
    pub health: crate::health::Health,
    /// Nodes on the target.
    pub nodes: u64,
    /// Relationships on the target.
    pub relationships: u64,
    /// A point-in-time restore's replay (`fingerprint` is then the target's after it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayCheck>,
}

/// A transition as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// From.
    pub from: Phase,
    /// To.
    pub to: Phase,
    /// When, RFC 3339.
    pub at: String,
}

/// The persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The phase.
    pub state: Phase,
    /// Progress of loading, 0–100.
    pub progress: f64,
    /// What is happening (or happened last).
    pub message: String,
    /// The restore in progress, or the last one.
    pub restore: Option<Restore>,
    /// Errors of the last failed or cancelled restore (kept until the next start).
    pub errors: Vec<String>,
    /// The latest transitions, oldest first (at most 50).
    pub history: Vec<Transition>,
    /// The upstream a promotion switched to: boltward keeps using it after a restart
    /// (and says so) until `upstream.addr` is updated to match.
    #[serde(default)]
    pub promoted_upstream: Option<String>,
}

const HISTORY: usize = 50;

/// The state file (`restore.state_file`) cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The state file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not JSON of a recovery state (edited by hand, or another file).
    #[error("{}: not a recovery state file: {source}", path.display())]
    Parse {
        /// The state file.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
}

/// RFC 3339 now.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl State {
    /// Applies `action`, recording the transition.
    pub fn apply(&mut self, action: Action) -> Result<(), Refused> {
        let to = next(self.state, action)?;
        self.history.push(Transition {
            from: self.state,
            to,
            at: now(),
        });
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
        self.state = to;
        Ok(())
    }

    /// Loads the state file (a missing file is NOT_RECOVERING).
    pub fn load(path: &Path) -> Result<State, StateFileError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateFileError::Parse {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StateFileError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the state file atomically (temp file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), StateFileError> {
        let err = |source: std::io::Error| StateFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut f = File::create(&tmp).map_err(err)?;
        f.write_all(&serde_json::to_vec_pretty(self).expect("state serializes"))
            .map_err(err)?;
        f.sync_all().map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Phase::*;

    #[test]
    fn transition_table() {
        let all_phases = [
            NotRecovering,
            Recovering,
            Validating,
            Succeeded,
            Failed,
            Promoted,
        ];
        let all_actions = [Start, Validate, Succeed, Fail, Promote, Cancel, Interrupted];
        let allowed = [
            (NotRecovering, Start, Recovering),
            (Promoted, Start, Recovering),
            (Recovering, Validate, Validating),
            (Validating, Succeed, Succeeded),
            (Recovering, Fail, Failed),
            (Validating, Fail, Failed),
            (Recovering, Interrupted, Failed),
            (Validating, Interrupted, Failed),
            (Succeeded, Promote, Promoted),
            (Recovering, Cancel, NotRecovering),
            (Validating, Cancel, NotRecovering),
            (Succeeded, Cancel, NotRecovering),
            (Failed, Cancel, NotRecovering),
        ];
        for from in all_phases {
            for action in all_actions {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (next(from, action), expected) {
                    (Ok(to), Some(e)) => assert_eq!(to, e, "{from:?} {action:?}"),
                    (Err(r), None) => {
                        assert_eq!(r.phase, from);
                        assert!(r.message.contains(from.name()), "{}", r.message);
                    }
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        let e = next(Succeeded, Start).unwrap_err().message;
        assert!(
            e.contains("restore promote") && e.contains("SUCCEEDED"),
            "{e}"
        );
        let e = next(NotRecovering, Promote).unwrap_err().message;
        assert!(e.contains("SUCCEEDED validation"), "{e}");
    }

    #[test]
    fn persists_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/restore-state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let mut s = State::default();
        s.apply(Start).unwrap();
        s.progress = 42.0;
        s.save(&path).unwrap();
        let back = State::load(&path).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.history.len(), 1);
        assert!(!path.with_extension("json.tmp").exists());
        std::fs::write(&path, b"{").unwrap();
        assert!(State::load(&path).is_err());
    }

    /// State files written before the validation was typed still load, and write back
    /// the same object.
    #[test]
    fn validation_reads_what_was_written() {
        let old = serde_json::json!({
            "counts_equal": true,
            "nodes": 300,
            "relationships": 299,
            "fingerprint": "ab",
            "expected_fingerprint": "ab",
            "health": "healthy",
            "failures": [],
        });
        let v: Validation = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(v.health, crate::health::Health::Healthy);
        assert_eq!(serde_json::to_string(&v).unwrap(), old.to_string());
    }
}
