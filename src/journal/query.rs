//! Audit queries: who changed what, when — over a journal directory.
//!
//! A time window reads only the segments whose time range overlaps it (each segment's
//! first record's timestamp is the index), plus the segment after the last one, where
//! outcomes of late writes land. Results are newest first.

use super::read::{first_timestamp, scan, ReadError, SegmentFile};
use boltward_journal::entry::{dialect_of, Result as TxResult};
use boltward_journal::{Actor, Entry, Intent, Refusal, TxMode};
use boltward_protocol::{Request, Value};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Filters; every one that is set must match.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Filter {
    /// The authenticated principal, exactly.
    pub principal: Option<String>,
    /// The principal or the claimed actor, exactly.
    pub actor: Option<String>,
    /// Not before (µs since the epoch).
    pub since: Option<i64>,
    /// Not after (µs since the epoch).
    pub until: Option<i64>,
    /// The target database (`""`: the default database).
    pub database: Option<String>,
    /// A node label the statements name.
    pub label: Option<String>,
    /// A relationship type the statements name.
    pub rel_type: Option<String>,
    /// A statement class (`create`, `delete`, `schema`, …).
    pub class: Option<String>,
    /// `allow`, `would-deny` (journaled writes) or `deny` (refusals).
    pub verdict: Option<String>,
    /// `committed`, `rolled_back`, `failed`, `in_doubt` or `pending`.
    pub outcome: Option<String>,
    /// `write` or `refusal`.
    pub kind: Option<String>,
    /// At most this many rows (default 100).
    pub limit: Option<usize>,
}

/// One statement as shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShownStatement {
    /// Cypher text.
    pub query: String,
    /// Parameters as JSON (non-JSON values as `{"$type": …}`).
    pub parameters: serde_json::Value,
    /// Classes.
    pub classes: Vec<String>,
    /// Verdict.
    pub verdict: String,
    /// Rule.
    pub rule: String,
}

/// How a journaled write ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShownOutcome {
    /// `committed`, `rolled_back`, `failed`, `in_doubt`.
    pub result: String,
    /// LSN of the outcome record.
    pub lsn: u64,
    /// When.
    pub time: String,
    /// Bookmark (committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmark: Option<String>,
    /// Update counters (committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<serde_json::Value>,
    /// Status code (failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Message or reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One audit row: a journaled write (intent + outcome) or a refusal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// LSN of the intent or refusal.
    pub lsn: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// `write` or `refusal`.
    pub kind: RowKind,
    /// Who.
    pub actor: ShownActor,
    /// Target database (`null`: default).
    pub database: Option<String>,
    /// `auto` or `explicit` (writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RowMode>,
    /// Statements.
    pub statements: Vec<ShownStatement>,
    /// Node labels named.
    pub labels: Vec<String>,
    /// Relationship types named.
    pub types: Vec<String>,
    /// The outcome (writes; `null` while pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ShownOutcome>,
    /// The rule (refusals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The reason (refusals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What an audit row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// A journaled write (intent and outcome).
    Write,
    /// A statement the policy refused.
    Refusal,
}

impl RowKind {
    /// `write` or `refusal`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Write => "write",
            RowKind::Refusal => "refusal",
        }
    }
}

/// How a journaled write ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowMode {
    /// Auto-commit (`RUN` outside a transaction).
    Auto,
    /// An explicit transaction (`BEGIN` … `COMMIT`).
    Explicit,
}

/// The actor as shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShownActor {
    /// Principal.
    pub principal: Option<String>,
    /// Auth scheme.
    pub scheme: Option<String>,
    /// Client address.
    pub address: Option<String>,
    /// Client certificate subject.
    pub cert_subject: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Claimed actor.
    pub claimed: Option<String>,
}

impl From<&Actor> for ShownActor {
    fn from(a: &Actor) -> Self {
        ShownActor {
            principal: a.principal.clone(),
            scheme: a.scheme.clone(),
            address: a.address.clone(),
            cert_subject: a.cert_subject.clone(),
            user_agent: a.user_agent.clone(),
            claimed: a.claimed.clone(),
        }
    }
}

/// Runs `filter` over the journal in `dir`.
pub fn query(dir: &Path, filter: &Filter) -> Result<Vec<Row>, ReadError> {
    query_with_archive(dir, None, filter)
}

/// [`query`] over the archived segments of `archive` too (`journal.archive_dir`).
pub fn query_with_archive(
    dir: &Path,
    archive: Option<&Path>,
    filter: &Filter,
) -> Result<Vec<Row>, ReadError> {
    let all = super::retention::with_archive(dir, archive)
        .map_err(|e| ReadError::Io(format!("{}: {e}", dir.display())))?;
    let segments = select(&all, filter.since, filter.until)?;
    let mut intents: Vec<(u64, i64, Intent)> = Vec::new();
    let mut refusals: Vec<(u64, i64, Refusal)> = Vec::new();
    let mut outcomes: HashMap<u64, (u64, i64, TxResult)> = HashMap::new();
    let in_window =
        |ts: i64| filter.since.is_none_or(|s| ts >= s) && filter.until.is_none_or(|u| ts <= u);
    scan(&segments, |lsn, ts, e| match e {
        Entry::Intent(i) if in_window(ts) => intents.push((lsn, ts, i)),
        Entry::Refusal(r) if in_window(ts) => refusals.push((lsn, ts, r)),
        Entry::Outcome(o) => {
            outcomes.insert(o.intent, (lsn, ts, o.result));
        }
        _ => {}
    })?;
    let limit = filter.limit.unwrap_or(100);
    let mut rows = Vec::new();
    let want_writes = filter.kind.as_deref().is_none_or(|k| k == "write");
    let want_refusals = filter.kind.as_deref().is_none_or(|k| k == "refusal");
    if want_writes && filter.verdict.as_deref() != Some("deny") {
        for (lsn, ts, i) in intents.iter().rev() {
            let outcome = outcomes.get(lsn);
            if matches_intent(filter, i, outcome.map(|o| &o.2)) {
                rows.push(show_intent(*lsn, *ts, i, outcome));
            }
        }
    }
    if want_refusals
        && filter.outcome.is_none()
        && filter.verdict.as_deref().is_none_or(|v| v == "deny")
    {
        for (lsn, ts, r) in refusals.iter().rev() {
            if matches_refusal(filter, r) {
                rows.push(show_refusal(*lsn, *ts, r));
            }
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.lsn));
    rows.truncate(limit);
    Ok(rows)
}

/// The segments a time window needs: those overlapping it, and the one after them.
fn select(
    all: &[SegmentFile],
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<SegmentFile>, ReadError> {
    if since.is_none() && until.is_none() {
        return Ok(all.to_vec());
    }
    let mut starts = Vec::with_capacity(all.len());
    for s in all {
        let ts = first_timestamp(&s.path).map_err(|e| ReadError::Io(format!("{}: {e}", s.name)))?;
        starts.push(ts.unwrap_or(i64::MAX));
    }
    let mut out = Vec::new();
    let mut last_taken = None;
    for (i, s) in all.iter().enumerate() {
        let start = starts[i];
        let end = starts.get(i + 1).copied().unwrap_or(i64::MAX);
        let overlaps = until.is_none_or(|u| start <= u) && since.is_none_or(|s| end >= s);
        if overlaps {
            out.push(s.clone());
            last_taken = Some(i);
        }
    }
    if let Some(next) = last_taken.and_then(|i| all.get(i + 1)) {
        out.push(next.clone());
    }
    Ok(out)
}

fn actor_matches(filter: &Filter, a: &Actor) -> bool {
    filter
        .principal
        .as_ref()
        .is_none_or(|p| a.principal.as_ref() == Some(p))
        && filter
            .actor
            .as_ref()
            .is_none_or(|x| a.principal.as_ref() == Some(x) || a.claimed.as_ref() == Some(x))
}

fn db_matches(filter: &Filter, db: &Option<String>) -> bool {
    filter
        .database
        .as_ref()
        .is_none_or(|d| db.as_deref().unwrap_or("") == d)
}

fn matches_intent(filter: &Filter, i: &Intent, outcome: Option<&TxResult>) -> bool {
    actor_matches(filter, &i.actor)
        && db_matches(filter, &i.db)
        && names_match(filter, &i.labels, &i.types)
        && filter
            .class
            .as_ref()
            .is_none_or(|c| i.statements.iter().any(|s| s.classes.contains(c)))
        && filter
            .verdict
            .as_ref()
            .is_none_or(|v| i.statements.iter().any(|s| &s.verdict == v))
        && filter
            .outcome
            .as_ref()
            .is_none_or(|o| outcome.map(|r| r.name()).unwrap_or("pending") == o)
}

fn matches_refusal(filter: &Filter, r: &Refusal) -> bool {
    actor_matches(filter, &r.actor)
        && db_matches(filter, &r.db)
        && filter.class.as_ref().is_none_or(|c| r.classes.contains(c))
        && names_match(filter, &r.labels, &r.types)
}

fn names_match(filter: &Filter, labels: &[String], types: &[String]) -> bool {
    filter.label.as_ref().is_none_or(|l| labels.contains(l))
        && filter.rel_type.as_ref().is_none_or(|t| types.contains(t))
}

fn shown_run(body: &[u8], bolt: &str, utc: bool) -> Option<ShownStatement> {
    match Request::decode(body, dialect_of(bolt, utc)) {
        Ok(Request::Run(run)) => Some(ShownStatement {
            query: run.query,
            parameters: json(&Value::Map(run.parameters)),
            classes: Vec::new(),
            verdict: String::new(),
            rule: String::new(),
        }),
        _ => None,
    }
}

fn show_intent(lsn: u64, ts: i64, i: &Intent, outcome: Option<&(u64, i64, TxResult)>) -> Row {
    let statements = i
        .statements
        .iter()
        .map(|s| {
            let mut shown = shown_run(&s.run, &i.bolt, i.utc).unwrap_or(ShownStatement {
                query: "<undecodable RUN>".into(),
                parameters: serde_json::Value::Null,
                classes: Vec::new(),
                verdict: String::new(),
                rule: String::new(),
            });
            shown.classes = s.classes.clone();
            shown.verdict = s.verdict.clone();
            shown.rule = s.rule.clone();
            shown
        })
        .collect();
    Row {
        lsn,
        time: rfc3339(ts),
        kind: RowKind::Write,
        actor: (&i.actor).into(),
        database: i.db.clone(),
        mode: Some(match i.mode {
            TxMode::Auto => RowMode::Auto,
            TxMode::Explicit => RowMode::Explicit,
        }),
        statements,
        labels: i.labels.clone(),
        types: i.types.clone(),
        outcome: outcome.map(|(olsn, ots, r)| show_outcome(*olsn, *ots, r)),
        rule: None,
        reason: None,
    }
}

fn show_outcome(lsn: u64, ts: i64, r: &TxResult) -> ShownOutcome {
    let mut o = ShownOutcome {
        result: r.name().into(),
        lsn,
        time: rfc3339(ts),
        bookmark: None,
        stats: None,
        code: None,
        message: None,
    };
    match r {
        TxResult::Committed {
            bookmark, stats, ..
        } => {
            o.bookmark = bookmark.clone();
            o.stats = Some(json(&Value::Map(stats.clone())));
        }
        TxResult::Failed { code, message } => {
            o.code = Some(code.clone());
            o.message = Some(message.clone());
        }
        TxResult::RolledBack { reason } | TxResult::InDoubt { reason } => {
            o.message = Some(reason.clone())
        }
    }
    o
}

fn show_refusal(lsn: u64, ts: i64, r: &Refusal) -> Row {
    let statements = shown_run(&r.statement, &r.bolt, false)
        .map(|mut s| {
            s.classes = r.classes.clone();
            s.verdict = "deny".into();
            s.rule = r.rule.clone();
            vec![s]
        })
        .unwrap_or_default();
    Row {
        lsn,
        time: rfc3339(ts),
        kind: RowKind::Refusal,
        actor: (&r.actor).into(),
        database: r.db.clone(),
        mode: None,
        statements,
        labels: Vec::new(),
        types: Vec::new(),
        outcome: None,
        rule: Some(r.rule.clone()),
        reason: Some(r.reason.clone()),
    }
}

/// A PackStream value as JSON; values JSON has no type for become `{"$type": …}`.
pub fn json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or_else(|| serde_json::json!({"$type": "Float", "value": f.to_string()})),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => serde_json::json!({
            "$type": "Bytes",
            "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        }),
        Value::List(l) => J::Array(l.iter().map(json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.to_owned(), json(v))).collect()),
        other => serde_json::json!({"$type": type_name(other), "value": format!("{other:?}")}),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Date(_) => "Date",
        Value::Time(_) => "Time",
        Value::LocalTime(_) => "LocalTime",
        Value::DateTime(_) | Value::LegacyDateTime(_) => "DateTime",
        Value::DateTimeZoneId(_) | Value::LegacyDateTimeZoneId(_) => "DateTimeZoneId",
        Value::LocalDateTime(_) => "LocalDateTime",
        Value::Duration(_) => "Duration",
        Value::Point2D(_) | Value::Point3D(_) => "Point",
        Value::Vector(_) => "Vector",
        _ => "Structure",
    }
}

/// RFC 3339 (UTC, microseconds) of a timestamp in µs since the epoch.
pub fn rfc3339(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| micros.to_string())
}

/// A `--since`/`--until` value that is no time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Neither RFC 3339 nor a number with a unit.
    #[error("{0:?} is neither RFC 3339 nor an age like 15m")]
    Unreadable(String),
    /// An age with a unit other than s, m, h, d.
    #[error("{0:?}: the unit must be s, m, h or d")]
    Unit(String),
}

/// Parses `--since`/`--until`: RFC 3339 (`2026-11-22T10:00:00Z`) or an age (`90s`,
/// `15m`, `2h`, `7d`) before `now` (µs).
pub fn parse_time(s: &str, now: i64) -> Result<i64, TimeError> {
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1000) as i64);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| TimeError::Unreadable(s.to_owned()))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(TimeError::Unit(s.to_owned())),
    };
    Ok(now.saturating_sub(n.saturating_mul(secs).saturating_mul(1_000_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = 1_800_000_000_000_000;
        assert_eq!(parse_time("15m", now), Ok(now - 900_000_000));
        assert_eq!(
            parse_time("2026-11-22T10:00:00Z", 0),
            Ok(1_795_341_600_000_000)
        );
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("5w", now).is_err());
        assert_eq!(rfc3339(1_795_341_600_000_000), "2026-11-22T10:00:00Z");
    }
}
