//! `boltward policy check` (a statement against a policy file, offline) and `boltward
//! policy reload` (through the control port).

use super::client::show;
use super::{ControlArgs, PolicyCheckArgs};
use crate::control::api;
use std::process::ExitCode;

/// `boltward policy reload`: the running boltward reads `[policy]` again.
pub fn reload(args: &ControlArgs) -> ExitCode {
    show(
        args,
        "POST",
        "/v1/policy/reload",
        |v: &api::PolicyReload| {
            let rules = serde_json::to_string(&v.policy.rules).unwrap_or_default();
            format!("policy reloaded: {rules}\n")
        },
    )
}

/// `boltward policy check`: exit 0 allowed, 1 denied, 2 a bad policy, 3 no statement.
pub fn check(args: &PolicyCheckArgs) -> ExitCode {
    use crate::policy::Policy;
    let policy = match Policy::load(&args.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("boltward: {e}");
            return ExitCode::from(2);
        }
    };
    let query = match read_statement(args) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("boltward: {e}");
            return ExitCode::from(3);
        }
    };
    let req = crate::control::CheckRequest {
        query,
        actor: args.actor.clone(),
        scheme: Some(args.scheme.clone()),
        user_agent: args.user_agent.clone(),
        address: args.address,
        cert_subject: args.cert_subject.clone(),
        claimed: args.claimed.clone(),
        database: args.database.clone(),
    };
    let limit = crate::config::Limits::default().max_statement_bytes;
    let out = crate::control::check(&policy, &req, limit);
    let denied = out.verdict == crate::policy::Decision::Deny;
    if args.json {
        println!("{}", serde_json::to_string(&out).unwrap_or_default());
    } else {
        let would = if out.would_deny {
            " (audit mode: would deny)"
        } else {
            ""
        };
        let classes: Vec<&str> = out.classes.iter().map(|c| c.as_str()).collect();
        println!("classes:  {}", classes.join(", "));
        println!("verdict:  {}{would}", out.verdict.as_str());
        println!("rule:     {}", out.rule);
        println!("reason:   {}", out.reason);
        if !out.labels.is_empty() {
            let labels: Vec<&str> = out.labels.iter().map(String::as_str).collect();
            println!("labels:   {}", labels.join(", "));
        }
    }
    if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Why `policy check` has no statement to check.
#[derive(Debug, thiserror::Error)]
enum StatementError {
    #[error("cannot read the statement from {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the statement in {path} is not UTF-8 (byte {at})")]
    NotUtf8 { path: std::path::PathBuf, at: usize },
}

/// The statement of `policy check`: from `--query`, a file or standard input, read up to
/// one byte past the classifier's limit (a larger statement is then refused by it).
fn read_statement(args: &PolicyCheckArgs) -> Result<String, StatementError> {
    use std::io::Read;
    if let Some(q) = &args.query {
        return Ok(q.clone());
    }
    let path = args
        .query_file
        .as_deref()
        .unwrap_or(std::path::Path::new("-"));
    let cap = crate::config::Limits::default().max_statement_bytes as u64 + 1;
    let mut bytes = Vec::new();
    let read = if path == std::path::Path::new("-") {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut bytes))
    };
    read.map_err(|source| StatementError::Read {
        path: path.to_owned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| StatementError::NotUtf8 {
        path: path.to_owned(),
        at: e.utf8_error().valid_up_to(),
    })
}
