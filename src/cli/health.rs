//! `boltward health`: the graph health report for people.

use super::client::{decode, refused, request, Failed};
use super::HealthArgs;
use crate::health::Report;
use std::process::ExitCode;

/// Runs `boltward health`: exit 0 healthy, 1 unhealthy or refused, 3 unreachable.
pub fn run(args: &HealthArgs) -> ExitCode {
    let path = if args.detailed {
        "/health/graph?detailed=true"
    } else {
        "/health/graph"
    };
    let (status, json) = match request(&args.control, "GET", path) {
        Ok(answer) => answer,
        Err(Failed(code)) => return code,
    };
    if status != 200 && status != 503 {
        refused("/health/graph", status, &json);
        return ExitCode::from(1);
    }
    if args.control.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        match decode::<Report>(path, &json) {
            Ok(report) => print!("{}", text(&report)),
            Err(Failed(code)) => return code,
        }
    }
    if status == 200 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The human rendering of a report (`boltward health`).
pub fn text(r: &Report) -> String {
    let mut out = format!(
        "graph: {}\n",
        if r.healthy() { "healthy" } else { "unhealthy" }
    );
    for c in &r.checks {
        let ms = c
            .duration_ms
            .map(|d| format!("{d:>8.1} ms"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<13} {:<8}{}  {}\n",
            c.name,
            c.status.as_str(),
            ms,
            c.message
        ));
        for p in &c.problems {
            out.push_str(&format!("      - {p}\n"));
        }
    }
    if let Some(s) = &r.stats {
        out.push_str(&format!(
            "nodes {}, relationships {}\n",
            s.nodes, s.relationships
        ));
        for (kind, map) in [("label", &s.labels), ("type", &s.types)] {
            for (k, v) in map {
                out.push_str(&format!("  {kind:<5} {k:<20} {v}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Check, Health, Stats, Status};

    #[test]
    fn text_reads_like_tests_snapshots_health_healthy() {
        let check = |name: &'static str, message: &str| Check {
            name: name.into(),
            status: Status::Pass,
            message: message.into(),
            problems: vec![],
            duration_ms: Some(1.25),
        };
        let report = Report {
            status: Health::Healthy,
            checks: vec![
                check("connectivity", "db:7687 answered RETURN 1"),
                check("orphans", "3 check(s) found nothing"),
            ],
            stats: Some(Stats {
                nodes: 4,
                relationships: 2,
                labels: [("HPerson".to_owned(), 2)].into(),
                types: [("OWNS".to_owned(), 2)].into(),
            }),
        };
        assert_eq!(
            text(&report),
            "graph: healthy\n\
             \x20 connectivity  pass         1.2 ms  db:7687 answered RETURN 1\n\
             \x20 orphans       pass         1.2 ms  3 check(s) found nothing\n\
             nodes 4, relationships 2\n\
             \x20 label HPerson              2\n\
             \x20 type  OWNS                 2\n"
        );
    }
}
