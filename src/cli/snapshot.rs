//! `boltward snapshot …` and `boltward restore …`.
//!
//! `create` and every `restore` command go through the control port (the running boltward
//! holds the write barrier and the recovery state). `list`, `show` and `delete` use the
//! control port too, or the directory given with `--dir`; `verify` always works offline on
//! the files. Exit codes: 0 success, 1 failure or corruption, 2 unreadable input, 3 the
//! control port could not be reached.

use super::client::{call_with, Failed};
use super::ControlArgs;
use crate::snapshot::store;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `boltward snapshot …`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot now (writes are held while the graph is read).
    Create(ControlArgs),
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
    /// Snapshot id.
    pub snapshot: String,
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

fn summary(m: &Value) -> String {
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

/// Runs a `snapshot` command.
pub fn run_snapshot(cmd: &SnapshotCommand) -> ExitCode {
    match cmd {
        SnapshotCommand::Create(c) => done((|| {
            let m = call_with(c, "POST", "/v1/snapshots", None)?;
            if c.json {
                print_json(&m);
            } else {
                println!(
                    "snapshot {} taken: {} nodes, {} relationships, {} bytes, writes held {:.1} ms, journal LSN {}",
                    m["id"].as_str().unwrap_or("?"),
                    m["counts"]["nodes"],
                    m["counts"]["relationships"],
                    m["data"]["bytes"],
                    m["timings"]["write_pause_ms"].as_f64().unwrap_or(0.0),
                    m["journal_lsn"]
                );
            }
            Ok(())
        })()),
        SnapshotCommand::List(a) => done((|| {
            let v = match &a.dir {
                Some(dir) => {
                    let (listed, incomplete) = store::list(dir).map_err(unreadable)?;
                    json!({"snapshots": listed, "incomplete": incomplete})
                }
                None => call_with(&a.control, "GET", "/v1/snapshots", None)?,
            };
            if a.control.json {
                print_json(&v);
                return Ok(());
            }
            let list = v["snapshots"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no snapshots");
            }
            for m in &list {
                let flag = if m["complete"].as_bool() == Some(false) {
                    "  DATA FILE MISSING OR WRONG SIZE"
                } else {
                    ""
                };
                println!("{}{flag}", summary(m));
            }
            for name in v["incomplete"].as_array().into_iter().flatten() {
                println!("incomplete (no manifest): {}", name.as_str().unwrap_or("?"));
            }
            Ok(())
        })()),
        SnapshotCommand::Show(a) => done((|| {
            let m = match &a.at.dir {
                Some(dir) => json!(store::manifest(dir, &a.id).map_err(unreadable)?),
                None => call_with(
                    &a.at.control,
                    "GET",
                    &format!("/v1/snapshots/{}", a.id),
                    None,
                )?,
            };
            print_json(&m);
            Ok(())
        })()),
        SnapshotCommand::Delete(a) => done((|| {
            match &a.at.dir {
                Some(dir) => store::delete(dir, &a.id).map_err(unreadable)?,
                None => {
                    call_with(
                        &a.at.control,
                        "DELETE",
                        &format!("/v1/snapshots/{}", a.id),
                        None,
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

fn state_line(s: &Value) -> String {
    let mut out = format!(
        "state {}  {:.0}%  {}",
        s["state"].as_str().unwrap_or("?"),
        s["progress"].as_f64().unwrap_or(0.0),
        s["message"].as_str().unwrap_or("")
    );
    if let Some(r) = s["restore"].as_object() {
        out.push_str(&format!(
            "\n  snapshot {}  target {}  database {}  safety snapshot {}",
            r.get("snapshot").and_then(Value::as_str).unwrap_or("?"),
            r.get("target").and_then(Value::as_str).unwrap_or("?"),
            r.get("database")
                .and_then(Value::as_str)
                .unwrap_or("(default)"),
            r.get("safety_snapshot")
                .and_then(Value::as_str)
                .unwrap_or("-"),
        ));
    }
    for e in s["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n  error: {}", e.as_str().unwrap_or("?")));
    }
    out.push('\n');
    out
}

/// Runs a `restore` command.
pub fn run_restore(cmd: &RestoreCommand) -> ExitCode {
    let show = |c: &ControlArgs, v: &Value| {
        if c.json {
            print_json(v);
        } else {
            print!("{}", state_line(v));
        }
    };
    match cmd {
        RestoreCommand::Start(a) => done((|| {
            let body = json!({
                "snapshot": a.snapshot,
                "target": a.target,
                "database": a.database,
                "force": a.force,
            });
            let mut v = call_with(&a.control, "POST", "/v1/restores", Some(&body))?;
            if a.wait {
                let mut last = -1.0;
                loop {
                    let state = v["state"].as_str().unwrap_or("");
                    if !matches!(state, "RECOVERING" | "VALIDATING") {
                        break;
                    }
                    let pct = v["progress"].as_f64().unwrap_or(0.0);
                    if !a.control.json && (pct - last >= 5.0 || state == "VALIDATING") {
                        eprintln!("{state} {pct:.0}%");
                        last = pct;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                    v = call_with(&a.control, "GET", "/v1/restores", None)?;
                }
            }
            show(&a.control, &v);
            match v["state"].as_str() {
                Some("FAILED" | "NOT_RECOVERING") if a.wait => Err(Failed(ExitCode::from(1))),
                _ => Ok(()),
            }
        })()),
        RestoreCommand::Status(c) => done((|| {
            show(c, &call_with(c, "GET", "/v1/restores", None)?);
            Ok(())
        })()),
        RestoreCommand::Promote(c) => done((|| {
            show(c, &call_with(c, "POST", "/v1/restores/promote", None)?);
            Ok(())
        })()),
        RestoreCommand::Cancel(c) => done((|| {
            show(c, &call_with(c, "POST", "/v1/restores/cancel", None)?);
            Ok(())
        })()),
    }
}
