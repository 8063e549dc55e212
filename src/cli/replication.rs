//! `boltward replication …`: status (one line per remote), pause, resume, reseed, verify
//! and resolve, through the control port.

use super::client::{call, call_with, show, Failed};
use super::{RemoteArgs, ReplicationCommand, ResolveArgs};
use crate::control::api;
use crate::replicate::RemoteStatus;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `boltward replication …`.
pub fn run(cmd: ReplicationCommand) -> ExitCode {
    let (args, verb, remote) = match cmd {
        ReplicationCommand::Status(args) => {
            return show(&args, "GET", "/v1/replication", |v: &api::Replication| {
                table(&v.remotes)
            })
        }
        ReplicationCommand::Pause(a) => (a.control, "pause", a.remote),
        ReplicationCommand::Resume(a) => (a.control, "resume", a.remote),
        ReplicationCommand::Reseed(a) => (a.control, "reseed", a.remote),
        ReplicationCommand::Verify(a) => return verify(&a),
        ReplicationCommand::Resolve(a) => return resolve(&a),
    };
    let path = format!("/v1/replication/{remote}/{verb}");
    show(&args, "POST", &path, |r: &api::ReplicationRemote| {
        table(std::slice::from_ref(r))
    })
}

/// The remotes as a table: name, state, applied LSN, lag, then why it waits if it does.
pub fn table(remotes: &[RemoteStatus]) -> String {
    if remotes.is_empty() {
        return "no remotes configured ([[replication.remote]])\n".to_owned();
    }
    let mut out = format!(
        "{:<16} {:<13} {:>12} {:>12} {:>8}  {}\n",
        "REMOTE", "STATE", "APPLIED_LSN", "JOURNAL_LSN", "LAG", "NOTE"
    );
    for r in remotes {
        let state = r.state.name();
        let lag = format!(
            "{}{}",
            r.lag_transactions,
            if r.lag_more { "+" } else { "" }
        );
        let note = r
            .reason
            .as_deref()
            .or(r.last_error.as_deref())
            .unwrap_or("");
        out.push_str(&format!(
            "{:<16} {:<13} {:>12} {:>12} {:>8}  {}\n",
            r.name, state, r.applied_lsn, r.journal_lsn, lag, note
        ));
    }
    out
}

/// `boltward replication verify NAME`: takes the snapshot, then waits for the remote's
/// comparison with it.
pub fn verify(args: &RemoteArgs) -> ExitCode {
    let path = format!("/v1/replication/{}/verify", args.remote);
    let started = match call::<api::ReplicationVerify>(&args.control, "POST", &path) {
        Ok(a) => a.body,
        Err(Failed(code)) => return code,
    };
    let deadline = Instant::now() + Duration::from_secs(args.control.timeout_secs);
    loop {
        let status = match call::<api::Replication>(&args.control, "GET", "/v1/replication") {
            Ok(a) => a,
            Err(Failed(code)) => return code,
        };
        let remote = status.body.remotes.iter().find(|r| r.name == args.remote);
        if let Some(v) = remote
            .and_then(|r| r.last_verify.as_ref())
            .filter(|v| v.snapshot == started.snapshot)
        {
            if args.control.json {
                println!("{}", serde_json::to_string(v).unwrap_or_default());
            } else if v.equal {
                println!(
                    "{}: equal to snapshot {} at LSN {} ({} nodes, {} relationships; fingerprint {})",
                    args.remote, v.snapshot, v.lsn, v.nodes, v.relationships, v.remote
                );
            } else {
                println!(
                    "{}: DIFFERS from snapshot {} at LSN {}: primary {} remote {}",
                    args.remote, v.snapshot, v.lsn, v.primary, v.remote
                );
            }
            return if v.equal {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
        }
        if Instant::now() >= deadline {
            let state = remote.map(|r| format!("{:?}", r.state)).unwrap_or_default();
            eprintln!(
                "boltward: {} has not compared itself with snapshot {} within {}s (state {state}); see `boltward replication status`",
                args.remote, started.snapshot, args.control.timeout_secs
            );
            return ExitCode::from(3);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `boltward replication resolve --lsn N --committed|--rolled-back`.
pub fn resolve(args: &ResolveArgs) -> ExitCode {
    let body = api::ResolveRequest {
        lsn: args.lsn,
        resolution: if args.committed {
            crate::journal::resolve::Resolution::Committed
        } else {
            crate::journal::resolve::Resolution::RolledBack
        },
    };
    match call_with::<api::Resolved>(
        &args.control,
        "POST",
        "/v1/replication/resolve",
        Some(&body),
    ) {
        Ok(a) => {
            println!(
                "LSN {} (intent LSN {}) resolved as {}; mirrors stopped before it go on",
                a.body.lsn,
                a.body.intent_lsn,
                a.body.resolution.as_str()
            );
            ExitCode::SUCCESS
        }
        Err(Failed(code)) => code,
    }
}
