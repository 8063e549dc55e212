//! `boltward audit query|verify|prune`.

use super::client::call_with;
use super::client::{call, Failed};
use super::{AuditPruneArgs, AuditQueryArgs, AuditVerifyArgs};
use crate::control::api::{AuditDamaged, AuditIntact, AuditRows, PruneReport, PruneRequest};
use crate::journal::query::{parse_time, query_with_archive, Filter, Row, RowKind, TimeError};
use crate::journal::read::{verify_with_archive, ReadError};
use std::process::ExitCode;

impl AuditQueryArgs {
    /// The filter these flags describe (times resolved against `now`, µs).
    pub fn filter(&self, now: i64) -> Result<Filter, TimeError> {
        let time = |s: &Option<String>| s.as_deref().map(|t| parse_time(t, now)).transpose();
        Ok(Filter {
            principal: self.principal.clone(),
            actor: self.actor.clone(),
            since: time(&self.since)?,
            until: time(&self.until)?,
            database: self.database.clone(),
            label: self.label.clone(),
            rel_type: self.rel_type.clone(),
            class: self.class.clone(),
            verdict: self.verdict.clone(),
            outcome: self.outcome.clone(),
            kind: self.kind.clone(),
            limit: Some(self.limit),
        })
    }
}

/// Runs `boltward audit query`.
pub fn run_query(args: &AuditQueryArgs) -> ExitCode {
    let filter = match args.filter(crate::journal::now_micros()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("boltward: {e}");
            return ExitCode::from(2);
        }
    };
    let rows: Vec<Row> = match &args.journal {
        Some(dir) => match query_with_archive(dir, args.archive.as_deref(), &filter) {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("boltward: {e}");
                return ExitCode::from(1);
            }
        },
        None => {
            let qs = serde_urlencoded(&filter);
            match call::<AuditRows>(&args.control, "GET", &format!("/v1/audit?{qs}")) {
                Ok(answer) => answer.body.rows,
                Err(Failed(code)) => return code,
            }
        }
    };
    if args.control.json {
        // Through `Value`, whose maps sort their keys: the output stays what it was.
        let json = serde_json::to_value(&rows).unwrap_or_default();
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        print!("{}", table(&rows));
    }
    if rows.is_empty() {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    }
}

/// The query string of a filter (only the fields that are set).
fn serde_urlencoded(f: &Filter) -> String {
    let v = serde_json::to_value(f).unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            let s = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{k}={}", percent(&s)));
        }
    }
    parts.join("&")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The human table of audit rows.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:>6}  {:<20}  {:<8}  {:<12}  {:<8}  {:<12}  {}\n",
        "LSN", "TIME", "KIND", "PRINCIPAL", "DATABASE", "RESULT", "STATEMENT"
    );
    for r in rows {
        let time: String = r.time.chars().take(19).collect();
        let result = match r.kind {
            RowKind::Refusal => format!("denied:{}", r.rule.as_deref().unwrap_or("")),
            RowKind::Write => r
                .outcome
                .as_ref()
                .map_or("pending", |o| o.result.as_str())
                .to_owned(),
        };
        let first = r
            .statements
            .first()
            .map(|s| s.query.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let mut stmt: String = first.chars().take(60).collect();
        if first.chars().count() > 60 {
            stmt.push('…');
        }
        if r.statements.len() > 1 {
            stmt.push_str(&format!(" (+{} more)", r.statements.len() - 1));
        }
        out.push_str(&format!(
            "{:>6}  {:<20}  {:<8}  {:<12}  {:<8}  {:<12}  {}\n",
            r.lsn,
            time,
            r.kind.as_str(),
            r.actor.principal.as_deref().unwrap_or("-"),
            r.database.as_deref().unwrap_or("(default)"),
            result,
            stmt
        ));
    }
    out.push_str(&format!("{} row(s)\n", rows.len()));
    out
}

/// Runs `boltward audit verify`.
pub fn run_verify(args: &AuditVerifyArgs) -> ExitCode {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("verifying {bar:30} {pos}/{len} segments")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = verify_with_archive(
        &args.journal,
        args.archive.as_deref(),
        false,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    match result {
        Ok(v) => {
            if args.json {
                let intact = AuditIntact {
                    intact: true,
                    verified: v,
                };
                // Through `Value`, whose maps sort their keys: the output stays what it was.
                println!("{}", serde_json::to_value(&intact).unwrap_or_default());
            } else {
                println!(
                    "journal intact: {} segment(s), {} record(s), last LSN {}, head {}",
                    v.segments, v.records, v.last_lsn, v.head
                );
                if v.first_lsn > 1 {
                    println!(
                        "verified from LSN {} (older segments were pruned; the anchor is confirmed by a journaled journal_pruned event)",
                        v.first_lsn
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(ReadError::Chain(e)) => {
            if args.json {
                let damaged = AuditDamaged {
                    first_bad_lsn: e.lsn,
                    intact: false,
                    offset: e.offset,
                    problem: e.problem,
                    segment: e.segment,
                };
                println!("{}", serde_json::to_value(&damaged).unwrap_or_default());
            } else {
                eprintln!("journal damaged: {e}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("boltward: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs `boltward audit prune`.
pub fn run_prune(args: &AuditPruneArgs) -> ExitCode {
    let body = PruneRequest {
        dry_run: args.dry_run,
    };
    let answer =
        match call_with::<PruneReport>(&args.control, "POST", "/v1/journal/prune", Some(&body)) {
            Ok(a) => a,
            Err(Failed(code)) => return code,
        };
    if args.control.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer.json).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    let r = &answer.body;
    let verb = if r.dry_run { "would prune" } else { "pruned" };
    println!("{verb} {} segment(s)", r.pruned.len());
    for p in &r.pruned {
        let to = p.archived.as_ref().map_or_else(
            || "deleted".to_owned(),
            |a| format!("archived to {}", a.display()),
        );
        println!(
            "  {} (LSN {}-{}, {} bytes): {to}",
            p.name, p.first_lsn, p.last_lsn, p.bytes
        );
    }
    println!(
        "journal now starts at LSN {} ({} bytes); the oldest remaining segment stays: {}",
        r.oldest_lsn,
        r.journal_bytes,
        serde_json::to_string(&r.kept).unwrap_or_default()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::query::{ShownActor, ShownStatement};

    #[test]
    fn table_reads_like_tests_snapshots_audit_refusals() {
        let row = Row {
            lsn: 7,
            time: "2026-11-22T10:00:00.123456Z".into(),
            kind: RowKind::Refusal,
            actor: ShownActor {
                principal: Some("root".into()),
                ..Default::default()
            },
            database: Some("alpha".into()),
            mode: None,
            statements: vec![ShownStatement {
                query: "MATCH (p:JPerson {run: $run})\n  DETACH DELETE p".into(),
                parameters: serde_json::Value::Null,
                classes: vec!["write".into()],
                verdict: "deny".into(),
                rule: "agents-read-only".into(),
            }],
            labels: vec![],
            types: vec![],
            outcome: None,
            rule: Some("agents-read-only".into()),
            reason: None,
        };
        let out = table(&[row]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1],
            "     7  2026-11-22T10:00:00   refusal   root          alpha     denied:agents-read-only  MATCH (p:JPerson {run: $run}) DETACH DELETE p"
        );
        assert_eq!(lines[2], "1 row(s)");
    }
}
