//! `boltward snapshot …` and `boltward restore …`.
//!
//! `create` and every `restore` command go through the control port (the running boltward
//! holds the write barrier and the recovery state). `list`, `show` and `delete` use the
//! control port too, or the directory given with `--dir`; `verify` always works offline on
//! the files. Exit codes: 0 success, 1 failure or corruption, 2 unreadable input, 3 the
//! control port could not be reached.

use super::client::{call, call_with, Answer, Failed};
use super::ControlArgs;
use crate::control::api::{
    CreateSnapshot, RecoveryState, RestorePlan, SnapshotDeleted, SnapshotList, StartRequest, Until,
};
use crate::recovery::state::Phase;
use crate::snapshot::store::{self, Manifest};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `boltward snapshot …`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot now (writes are held while the graph is read).
    Create(CreateArgs),
    /// List snapshots, newest first.
    List(DirArgs),
    /// Show one snapshot's manifest.
    Show(IdArgs),
    /// Verify a snapshot offline: checksum, every record, counts, fingerprint.
    Verify(VerifyArgs),
    /// Delete a snapshot.
    Delete(IdArgs),
}

/// Control port, or a snapshot directory to read directly.
#[derive(Debug, Args, Clone)]
pub struct DirArgs {
    /// Read this snapshot directory instead of asking the control port.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub control: ControlArgs,
}

/// A snapshot id.
#[derive(Debug, Args, Clone)]
pub struct IdArgs {
    /// Snapshot id.
    pub id: String,
    #[command(flatten)]
    pub at: DirArgs,
}

/// `snapshot verify`.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// Snapshot id (in --dir), or the path of a `.bwsnap.gz` or `.manifest.json` file.
    pub snapshot: String,
    /// Snapshot directory.
    #[arg(
        long,
        env = "BOLTWARD_SNAPSHOT_DIR",
        default_value = "boltward-data/snapshots"
    )]
    pub dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `snapshot create`.
#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// What to read: `primary` (writes held while it is read) or `remote:NAME` (a mirror,
    /// its apply held; the primary's writes are not). Default: `snapshot.source`.
    #[arg(long)]
    pub source: Option<String>,
    #[command(flatten)]
    pub control: ControlArgs,
}

/// `boltward restore …`.
#[derive(Debug, Subcommand)]
pub enum RestoreCommand {
    /// Restore a snapshot into a target server and validate it.
    Start(StartArgs),
    /// The recovery state.
    Status(ControlArgs),
    /// Switch boltward's upstream to the validated target.
    Promote(ControlArgs),
    /// Stop a running restore, or acknowledge a finished one.
    Cancel(ControlArgs),
}

/// `restore start`.
#[derive(Debug, Args, Clone)]
pub struct StartArgs {
    /// Snapshot id (with --until: the newest snapshot at or before the target when omitted).
    #[arg(required_unless_present_any = ["until", "from_remote"])]
    pub snapshot: Option<String>,
    /// Bootstrap from this mirror: read it with its apply held, load it into the target,
    /// replay the local journal after its marker, validate, promote like any restore.
    #[arg(long, conflicts_with_all = ["snapshot", "until"])]
    pub from_remote: Option<String>,
    /// Point-in-time restore: replay the journal after the snapshot up to this LSN or
    /// RFC 3339 commit time (inclusive).
    #[arg(long)]
    pub until: Option<String>,
    /// Print what a point-in-time restore would do (snapshot, transactions, time range,
    /// statements unsafe to replay) and change nothing.
    #[arg(long, requires = "until")]
    pub dry_run: bool,
    /// Target server: bolt://host:port.
    #[arg(long)]
    pub target: String,
    /// Target database (default: the target's default).
    #[arg(long)]
    pub database: Option<String>,
    /// Replace a non-empty target (a safety snapshot of it is taken first).
    #[arg(long)]
    pub force: bool,
    /// Wait until the restore is validated or has failed, showing progress.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub control: ControlArgs,
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn done(r: Result<(), Failed>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed(code)) => code,
    }
}

/// `null` when a snapshot was taken without a journal, as it always printed.
fn lsn(m: &Manifest) -> String {
    m.journal_lsn
        .map_or_else(|| "null".to_owned(), |l| l.to_string())
}

/// One line of `snapshot list`. The counts are not padded: they never were (they used to
/// be JSON values, whose `Display` ignores widths) and scripts may split on spaces.
fn summary(m: &Manifest) -> String {
    format!(
        "{id}  {created}  {kind:<9} nodes {n}  rels {r}  {mb:>9.1} MiB  lsn {lsn}",
        id = m.id,
        created = m.created,
        kind = m.kind,
        n = m.counts.nodes,
        r = m.counts.relationships,
        mb = m.data.bytes as f64 / 1_048_576.0,
        lsn = lsn(m),
    )
}

/// Runs a `snapshot` command.
pub fn run_snapshot(cmd: &SnapshotCommand) -> ExitCode {
    match cmd {
        SnapshotCommand::Create(a) => done((|| {
            let c = &a.control;
            let body = CreateSnapshot {
                source: a.source.clone(),
            };
            let Answer { body: m, json } =
                call_with::<Manifest>(c, "POST", "/v1/snapshots", Some(&body))?;
            if c.json {
                print_json(&json);
            } else {
                println!(
                    "snapshot {} taken: {} nodes, {} relationships, {} bytes, writes held {:.1} ms, journal LSN {}",
                    m.id,
                    m.counts.nodes,
                    m.counts.relationships,
                    m.data.bytes,
                    m.timings.write_pause_ms,
                    lsn(&m)
                );
            }
            Ok(())
        })()),
        SnapshotCommand::List(a) => done((|| {
            let Answer { body: v, json } = match &a.dir {
                Some(dir) => {
                    let (snapshots, incomplete) = store::list(dir).map_err(unreadable)?;
                    let v = SnapshotList {
                        incomplete,
                        snapshots,
                    };
                    let json = serde_json::to_value(&v).unwrap_or_default();
                    Answer { body: v, json }
                }
                None => call(&a.control, "GET", "/v1/snapshots")?,
            };
            if a.control.json {
                print_json(&json);
                return Ok(());
            }
            if v.snapshots.is_empty() {
                println!("no snapshots");
            }
            for l in &v.snapshots {
                let flag = if l.complete {
                    ""
                } else {
                    "  DATA FILE MISSING OR WRONG SIZE"
                };
                println!("{}{flag}", summary(&l.manifest));
            }
            for name in &v.incomplete {
                println!("incomplete (no manifest): {name}");
            }
            Ok(())
        })()),
        SnapshotCommand::Show(a) => done((|| {
            // Printed as it came (`--dir`: through `Value`, whose maps sort their keys, as
            // always); decoding checks it is a manifest.
            let json = match &a.at.dir {
                Some(dir) => serde_json::to_value(store::manifest(dir, &a.id).map_err(unreadable)?)
                    .unwrap_or_default(),
                None => {
                    call::<Manifest>(&a.at.control, "GET", &format!("/v1/snapshots/{}", a.id))?.json
                }
            };
            print_json(&json);
            Ok(())
        })()),
        SnapshotCommand::Delete(a) => done((|| {
            match &a.at.dir {
                Some(dir) => store::delete(dir, &a.id).map_err(unreadable)?,
                None => {
                    call::<SnapshotDeleted>(
                        &a.at.control,
                        "DELETE",
                        &format!("/v1/snapshots/{}", a.id),
                    )?;
                }
            }
            println!("snapshot {} deleted", a.id);
            Ok(())
        })()),
        SnapshotCommand::Verify(a) => verify(a),
    }
}

fn unreadable(e: store::StoreError) -> Failed {
    eprintln!("boltward: {e}");
    Failed(ExitCode::from(2))
}

fn verify(a: &VerifyArgs) -> ExitCode {
    let result = store::locate(&a.dir, &a.snapshot).and_then(|p| store::verify(&p));
    match result {
        Err(e) => {
            eprintln!("boltward: {e}");
            ExitCode::from(2)
        }
        Ok(v) => {
            if a.json {
                print_json(&v);
            } else if v.ok {
                println!(
                    "snapshot {} is intact: checksum, {} nodes, {} relationships, fingerprint match the manifest",
                    v.id, v.nodes, v.relationships
                );
            } else {
                println!("snapshot {} is CORRUPT:", v.id);
                for p in &v.problems {
                    println!("  - {p}");
                }
            }
            if v.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn state_line(s: &RecoveryState) -> String {
    let mut out = format!(
        "state {}  {:.0}%  {}",
        s.state.name(),
        s.progress,
        s.message
    );
    if let Some(r) = &s.restore {
        out.push_str(&format!(
            "\n  snapshot {}  target {}  database {}  safety snapshot {}",
            r.snapshot,
            r.target,
            r.database.as_deref().unwrap_or("(default)"),
            r.safety_snapshot.as_deref().unwrap_or("-"),
        ));
        if let Some(remote) = &r.remote {
            out.push_str(&format!("\n  bootstrapped from mirror {remote}"));
        }
        if let Some(until) = &r.until {
            out.push_str(&format!(
                "\n  point in time {until} (LSN {}): {}/{} transaction(s) replayed",
                r.end_lsn.unwrap_or(0),
                r.replayed,
                r.replay_total
            ));
        }
    }
    for e in &s.errors {
        out.push_str(&format!("\n  error: {e}"));
    }
    out.push('\n');
    out
}

/// `restore start --until … --dry-run`, for people.
fn plan_text(p: &RestorePlan) -> String {
    let mut out = format!(
        "plan: restore snapshot {} (LSN {}, taken {}), then replay {} transaction(s) up to {} (LSN {})\n",
        p.snapshot, p.snapshot_lsn, p.snapshot_created, p.transactions, p.until, p.end_lsn
    );
    if let (Some(first), Some(last)) = (&p.first_commit, &p.last_commit) {
        out.push_str(&format!(
            "  commits from {first} to {last}; the last replayed is LSN {}\n",
            p.last_lsn.unwrap_or(p.snapshot_lsn)
        ));
    }
    out.push_str(&format!(
        "  journal holds LSN {} to {}\n",
        p.journal_first_lsn, p.journal_last_lsn
    ));
    if p.unsafe_total == 0 {
        out.push_str("  no statement in the range is unsafe to replay\n");
    } else {
        out.push_str(&format!(
            "  {} statement(s) may replay differently (update counters are checked for each transaction):\n",
            p.unsafe_total
        ));
        for u in &p.unsafe_statements {
            out.push_str(&format!(
                "    LSN {} [{}] {}\n",
                u.lsn,
                u.hazards.join(", "),
                u.statement
            ));
        }
    }
    out
}

/// Runs a `restore` command.
pub fn run_restore(cmd: &RestoreCommand) -> ExitCode {
    let show = |c: &ControlArgs, a: &Answer<RecoveryState>| {
        if c.json {
            print_json(&a.json);
        } else {
            print!("{}", state_line(&a.body));
        }
    };
    match cmd {
        RestoreCommand::Start(a) => done((|| {
            let until = match a.until.as_deref().map(Until::parse).transpose() {
                Ok(u) => u,
                Err(e) => {
                    eprintln!("boltward: {e}");
                    return Err(Failed(ExitCode::from(2)));
                }
            };
            let body = StartRequest {
                snapshot: a.snapshot.clone(),
                until,
                from_remote: a.from_remote.clone(),
                target: a.target.clone(),
                database: a.database.clone(),
                force: a.force,
            };
            if a.dry_run {
                let p: Answer<RestorePlan> =
                    call_with(&a.control, "POST", "/v1/restores/plan", Some(&body))?;
                if a.control.json {
                    print_json(&p.json);
                } else {
                    print!("{}", plan_text(&p.body));
                }
                return Ok(());
            }
            let mut v: Answer<RecoveryState> =
                call_with(&a.control, "POST", "/v1/restores", Some(&body))?;
            if a.wait {
                let mut last = -1.0;
                loop {
                    let state = v.body.state;
                    if !matches!(state, Phase::Recovering | Phase::Validating) {
                        break;
                    }
                    let pct = v.body.progress;
                    if !a.control.json && (pct - last >= 5.0 || state == Phase::Validating) {
                        eprintln!("{} {pct:.0}%", state.name());
                        last = pct;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                    v = call(&a.control, "GET", "/v1/restores")?;
                }
            }
            show(&a.control, &v);
            match v.body.state {
                Phase::Failed | Phase::NotRecovering if a.wait => Err(Failed(ExitCode::from(1))),
                _ => Ok(()),
            }
        })()),
        RestoreCommand::Status(c) => done((|| {
            show(c, &call(c, "GET", "/v1/restores")?);
            Ok(())
        })()),
        RestoreCommand::Promote(c) => done((|| {
            show(c, &call(c, "POST", "/v1/restores/promote")?);
            Ok(())
        })()),
        RestoreCommand::Cancel(c) => done((|| {
            show(c, &call(c, "POST", "/v1/restores/cancel")?);
            Ok(())
        })()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::store::{DataFile, ManifestCounts, Source, Timings};
    use serde_json::Value;

    fn manifest(journal_lsn: Option<u64>) -> Manifest {
        Manifest {
            format: 1,
            id: "20261122-100000".into(),
            kind: "manual".into(),
            tool: "boltward".into(),
            created: "2026-11-22T10:00:00Z".into(),
            created_unix: 1_795_000_000,
            source: Source {
                server: "db:7687".into(),
                agent: "Neo4j/5".into(),
                database: None,
                bolt: "5.4".into(),
                remote: None,
            },
            journal_lsn,
            counts: ManifestCounts {
                nodes: 300,
                relationships: 299,
                ..Default::default()
            },
            schema: vec![],
            schema_skipped: vec![],
            data: DataFile {
                file: "x.bwsnap.gz".into(),
                bytes: 3_000_000,
                sha256: "ab".into(),
            },
            fingerprint: "cd".into(),
            timings: Timings::default(),
        }
    }

    /// The line as it was printed from the JSON answer before the CLI read it typed.
    fn summary_from_json(m: &Value) -> String {
        format!(
            "{id}  {created}  {kind:<9} nodes {n:>10}  rels {r:>10}  {mb:>9.1} MiB  lsn {lsn}",
            id = m["id"].as_str().unwrap_or("?"),
            created = m["created"].as_str().unwrap_or("?"),
            kind = m["kind"].as_str().unwrap_or("?"),
            n = m["counts"]["nodes"],
            r = m["counts"]["relationships"],
            mb = m["data"]["bytes"].as_f64().unwrap_or(0.0) / 1_048_576.0,
            lsn = m["journal_lsn"],
        )
    }

    #[test]
    fn list_lines_are_unchanged() {
        for lsn in [Some(42), None] {
            let m = manifest(lsn);
            let json = serde_json::to_value(&m).unwrap();
            assert_eq!(summary(&m), summary_from_json(&json));
        }
    }
}
