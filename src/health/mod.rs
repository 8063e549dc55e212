//! Graph health probes, three tiers, as operators know them:
//!
//! 1. **connectivity** (5 s): connect, authenticate, `RETURN 1`;
//! 2. **schema** (10 s): the indexes and constraints of the schema file exist and indexes
//!    are `ONLINE` (missing or failed ones are listed);
//! 3. **orphans** (30 s): configured Cypher counts — relationships whose endpoints lack
//!    required labels, isolated nodes of configured labels, and custom checks.
//!
//! Fast-fail: when connectivity fails, the rest are `skipped`. `detailed` adds durations
//! and graph statistics (node and relationship counts, per label and type).

use crate::config::{self, ConfigError};
use crate::upstream::client::{BoltClient, ClientError};
use crate::upstream::UpstreamHandle;
use boltward_protocol::{Map, Value};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Connectivity budget.
pub const CONNECTIVITY_TIMEOUT: Duration = Duration::from_secs(5);
/// Schema budget.
pub const SCHEMA_TIMEOUT: Duration = Duration::from_secs(10);
/// Orphan checks budget (all of them).
pub const ORPHANS_TIMEOUT: Duration = Duration::from_secs(30);

/// The expected schema (TOML).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schema {
    /// Expected indexes.
    pub index: Vec<Expected>,
    /// Expected constraints.
    pub constraint: Vec<Expected>,
}

/// One expected index or constraint: by name, or by label/type and properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Expected {
    /// Name.
    pub name: Option<String>,
    /// Label or relationship type.
    pub label: Option<String>,
    /// Properties, in order.
    pub properties: Vec<String>,
}

impl Expected {
    fn describe(&self) -> String {
        match (&self.name, &self.label) {
            (Some(n), _) => n.clone(),
            (None, Some(l)) => format!(":{l}({})", self.properties.join(", ")),
            (None, None) => "(unnamed)".into(),
        }
    }

    fn matches(&self, row: &Row) -> bool {
        if let Some(n) = &self.name {
            return row.name == *n;
        }
        self.label.as_ref().is_some_and(|l| row.labels.contains(l))
            && row.properties == self.properties
    }
}

impl Schema {
    /// Reads a schema file.
    pub fn load(path: &Path) -> Result<Schema, ProbeError> {
        let schema = |reason: String| ProbeError::Schema {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| schema(e.to_string()))?;
        toml::from_str(&text).map_err(|e| schema(e.message().to_owned()))
    }
}

/// Why a probe could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The schema file cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    Schema {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No password for the probes' user.
    #[error("no credentials for the probes: set health.password_file or BOLTWARD_HEALTH_PASSWORD")]
    NoCredentials,
    /// The server refused or failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A count query returned no count.
    #[error("the query did not return a count")]
    NoCount,
    /// The connectivity probe answered something else than 1.
    #[error("RETURN 1 answered {0}")]
    NotOne(i64),
    /// No answer in time.
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
}

/// pass / fail / skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
    /// Not run (an earlier tier failed, or nothing is configured for it).
    Skipped,
}

impl Status {
    /// `pass`, `fail` or `skipped`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }

    /// The metric value: 1 pass, 0 fail, -1 skipped.
    pub fn gauge(self) -> i64 {
        match self {
            Status::Pass => 1,
            Status::Fail => 0,
            Status::Skipped => -1,
        }
    }
}

/// One tier's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// `connectivity`, `schema` or `orphans`.
    pub name: Cow<'static, str>,
    /// Result.
    pub status: Status,
    /// Why, in one line.
    pub message: String,
    /// Every problem found (missing indexes, failing orphan checks …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Milliseconds (detailed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

/// Node and relationship counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Nodes.
    pub nodes: i64,
    /// Relationships.
    pub relationships: i64,
    /// Nodes per label.
    pub labels: BTreeMap<String, i64>,
    /// Relationships per type.
    pub types: BTreeMap<String, i64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// `healthy` or `unhealthy`.
    pub status: Health,
    /// The tiers in order.
    pub checks: Vec<Check>,
    /// Graph statistics (detailed, when connected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
}

/// The verdict of a whole report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Every check passed or was skipped for lack of configuration.
    Healthy,
    /// A check failed.
    Unhealthy,
}

impl Report {
    /// Whether every check passed or was skipped for lack of configuration.
    pub fn healthy(&self) -> bool {
        self.status == Health::Healthy
    }
}

/// Runs the probes with boltward's own account.
pub struct Prober {
    upstream: UpstreamHandle,
    user: String,
    password: Option<String>,
    database: Option<String>,
    schema_file: Option<std::path::PathBuf>,
    orphans: Vec<(String, String)>,
}

struct Row {
    name: String,
    state: String,
    labels: Vec<String>,
    properties: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

impl Prober {
    /// The prober for `[health]`.
    pub fn new(upstream: UpstreamHandle, cfg: &config::Health) -> Result<Prober, ConfigError> {
        Ok(Self::with_login(upstream, cfg, &cfg.user, cfg.password()?))
    }

    /// The prober for `[health]`'s checks, logging in as `user` (restore validation probes
    /// a target with the snapshot account).
    pub fn with_login(
        upstream: UpstreamHandle,
        cfg: &config::Health,
        user: &str,
        password: Option<String>,
    ) -> Prober {
        let mut orphans = Vec::new();
        for e in &cfg.relationship_endpoints {
            let t = ident(&e.rel_type);
            let mut conds = Vec::new();
            if let Some(f) = &e.from {
                conds.push(format!("NOT a:{}", ident(f)));
            }
            if let Some(to) = &e.to {
                conds.push(format!("NOT b:{}", ident(to)));
            }
            if conds.is_empty() {
                continue;
            }
            orphans.push((
                format!("endpoints of :{}", e.rel_type),
                format!(
                    "MATCH (a)-[r:{t}]->(b) WHERE {} RETURN count(r) AS c",
                    conds.join(" OR ")
                ),
            ));
        }
        for l in &cfg.isolated_labels {
            orphans.push((
                format!("isolated :{l}"),
                format!(
                    "MATCH (n:{}) WHERE NOT (n)--() RETURN count(n) AS c",
                    ident(l)
                ),
            ));
        }
        for c in &cfg.orphan_checks {
            orphans.push((c.name.clone(), c.query.clone()));
        }
        Prober {
            upstream,
            user: user.to_owned(),
            password,
            database: cfg.database.clone(),
            schema_file: cfg.schema_file.clone(),
            orphans,
        }
    }

    fn extra(&self) -> Map {
        let mut m = Map::new();
        if let Some(db) = &self.database {
            m.insert("db", db.as_str());
        }
        m
    }

    async fn query(&self, c: &mut BoltClient, q: &str) -> Result<Vec<Vec<Value>>, ClientError> {
        Ok(c.query(q, Map::new(), self.extra()).await?.records)
    }

    async fn count(&self, c: &mut BoltClient, q: &str) -> Result<i64, ProbeError> {
        let rows = self.query(c, q).await?;
        rows.first()
            .and_then(|r| r.first())
            .and_then(Value::as_int)
            .ok_or(ProbeError::NoCount)
    }

    /// Runs the three tiers (fast-fail) and, if `detailed`, graph statistics.
    pub async fn run(&self, detailed: bool) -> Report {
        let mut checks = Vec::new();
        let t = Instant::now();
        let connected = tokio::time::timeout(CONNECTIVITY_TIMEOUT, self.connect()).await;
        let mut client = match connected {
            Ok(Ok(c)) => {
                checks.push(check(
                    "connectivity",
                    Status::Pass,
                    format!("{} answered RETURN 1", self.upstream.addr()),
                    vec![],
                    t,
                    detailed,
                ));
                Some(c)
            }
            Ok(Err(e)) => {
                checks.push(check(
                    "connectivity",
                    Status::Fail,
                    e.to_string(),
                    vec![],
                    t,
                    detailed,
                ));
                None
            }
            Err(_) => {
                checks.push(check(
                    "connectivity",
                    Status::Fail,
                    format!("no answer within {}s", CONNECTIVITY_TIMEOUT.as_secs()),
                    vec![],
                    t,
                    detailed,
                ));
                None
            }
        };
        let Some(c) = client.as_mut() else {
            for name in ["schema", "orphans"] {
                checks.push(Check {
                    name: name.into(),
                    status: Status::Skipped,
                    message: "skipped: connectivity failed".into(),
                    problems: vec![],
                    duration_ms: None,
                });
            }
            return Report {
                status: Health::Unhealthy,
                checks,
                stats: None,
            };
        };
        let t = Instant::now();
        let schema = match tokio::time::timeout(SCHEMA_TIMEOUT, self.schema(c)).await {
            Ok(r) => r,
            Err(_) => Err(ProbeError::Timeout(SCHEMA_TIMEOUT)),
        };
        checks.push(match schema {
            Ok(None) => check(
                "schema",
                Status::Skipped,
                "no health.schema_file configured".into(),
                vec![],
                t,
                detailed,
            ),
            Ok(Some((n, problems))) if problems.is_empty() => check(
                "schema",
                Status::Pass,
                format!("{n} expected indexes and constraints present and online"),
                vec![],
                t,
                detailed,
            ),
            Ok(Some((_, problems))) => check(
                "schema",
                Status::Fail,
                format!("{} problem(s) with the expected schema", problems.len()),
                problems,
                t,
                detailed,
            ),
            Err(e) => check("schema", Status::Fail, e.to_string(), vec![], t, detailed),
        });
        let t = Instant::now();
        checks.push(if self.orphans.is_empty() {
            check(
                "orphans",
                Status::Skipped,
                "no orphan checks configured".into(),
                vec![],
                t,
                detailed,
            )
        } else {
            match tokio::time::timeout(ORPHANS_TIMEOUT, self.orphans(c)).await {
                Ok(problems) if problems.is_empty() => check(
                    "orphans",
                    Status::Pass,
                    format!("{} check(s) found nothing", self.orphans.len()),
                    vec![],
                    t,
                    detailed,
                ),
                Ok(problems) => check(
                    "orphans",
                    Status::Fail,
                    format!(
                        "{} of {} check(s) found orphans",
                        problems.len(),
                        self.orphans.len()
                    ),
                    problems,
                    t,
                    detailed,
                ),
                Err(_) => check(
                    "orphans",
                    Status::Fail,
                    format!("no answer within {}s", ORPHANS_TIMEOUT.as_secs()),
                    vec![],
                    t,
                    detailed,
                ),
            }
        });
        let stats = if detailed {
            self.stats(c).await.ok()
        } else {
            None
        };
        if let Some(c) = client {
            let _ = c.close().await;
        }
        let healthy = checks.iter().all(|c| c.status != Status::Fail);
        Report {
            status: if healthy {
                Health::Healthy
            } else {
                Health::Unhealthy
            },
            checks,
            stats,
        }
    }

    async fn connect(&self) -> Result<BoltClient, ProbeError> {
        let password = self.password.as_deref().ok_or(ProbeError::NoCredentials)?;
        let mut c = BoltClient::connect(
            &self.upstream.connector(),
            &self.user,
            password,
            "boltward-health",
        )
        .await?;
        let one = self.count(&mut c, "RETURN 1 AS c").await?;
        if one != 1 {
            return Err(ProbeError::NotOne(one));
        }
        Ok(c)
    }

    /// `None` when no schema file is configured; else (expected, problems).
    async fn schema(&self, c: &mut BoltClient) -> Result<Option<(usize, Vec<String>)>, ProbeError> {
        let Some(path) = &self.schema_file else {
            return Ok(None);
        };
        let schema = Schema::load(path)?;
        let mut problems = Vec::new();
        if !schema.index.is_empty() {
            let rows = self
                .rows(c, "SHOW INDEXES YIELD name, state, labelsOrTypes, properties RETURN name, state, labelsOrTypes, properties")
                .await?;
            for e in &schema.index {
                match rows.iter().find(|r| e.matches(r)) {
                    None => problems.push(format!("index {} is missing", e.describe())),
                    Some(r) if !r.state.eq_ignore_ascii_case("ONLINE") => {
                        problems.push(format!("index {} is {}", e.describe(), r.state))
                    }
                    Some(_) => {}
                }
            }
        }
        if !schema.constraint.is_empty() {
            let rows = self
                .rows(c, "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties RETURN name, 'ONLINE' AS state, labelsOrTypes, properties")
                .await?;
            for e in &schema.constraint {
                if !rows.iter().any(|r| e.matches(r)) {
                    problems.push(format!("constraint {} is missing", e.describe()));
                }
            }
        }
        Ok(Some((
            schema.index.len() + schema.constraint.len(),
            problems,
        )))
    }

    async fn rows(&self, c: &mut BoltClient, q: &str) -> Result<Vec<Row>, ProbeError> {
        let rows = self.query(c, q).await?;
        Ok(rows
            .into_iter()
            .map(|r| Row {
                name: r.first().and_then(Value::as_str).unwrap_or("").to_owned(),
                state: r.get(1).and_then(Value::as_str).unwrap_or("").to_owned(),
                labels: strings(r.get(2)),
                properties: strings(r.get(3)),
            })
            .collect())
    }

    async fn orphans(&self, c: &mut BoltClient) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, q) in &self.orphans {
            match self.count(c, q).await {
                Ok(0) => {}
                Ok(n) => problems.push(format!("{name}: {n}")),
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
        problems
    }

    async fn stats(&self, c: &mut BoltClient) -> Result<Stats, ProbeError> {
        let mut s = Stats {
            nodes: self.count(c, "MATCH (n) RETURN count(n) AS c").await?,
            relationships: self
                .count(c, "MATCH ()-[r]->() RETURN count(r) AS c")
                .await?,
            ..Stats::default()
        };
        for (q, into) in [
            (
                "MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) AS c",
                &mut s.labels,
            ),
            (
                "MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c",
                &mut s.types,
            ),
        ] {
            for r in self.query(c, q).await? {
                if let (Some(k), Some(n)) = (
                    r.first().and_then(Value::as_str),
                    r.get(1).and_then(Value::as_int),
                ) {
                    into.insert(k.to_owned(), n);
                }
            }
        }
        Ok(s)
    }
}

fn check(
    name: &'static str,
    status: Status,
    message: String,
    problems: Vec<String>,
    started: Instant,
    detailed: bool,
) -> Check {
    Check {
        name: name.into(),
        status,
        message,
        problems,
        duration_ms: detailed.then(|| (started.elapsed().as_secs_f64() * 1e4).round() / 10.0),
    }
}

/// Sets the per-check metrics from a report.
pub fn record(report: &Report, m: &crate::metrics::HealthMetrics) {
    for c in &report.checks {
        m.status
            .with_label_values(&[&*c.name])
            .set(c.status.gauge());
        if let Some(ms) = c.duration_ms {
            m.duration.with_label_values(&[&*c.name]).set(ms / 1000.0);
        }
    }
}

/// Runs the probes every `every` (with durations) so the metrics stay current for alerts.
pub async fn periodic(
    prober: std::sync::Arc<Prober>,
    every: Duration,
    m: crate::metrics::HealthMetrics,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let report = prober.run(true).await;
        if !report.healthy() {
            tracing::warn!(checks = ?report.checks.iter().map(|c| (&*c.name, c.status)).collect::<Vec<_>>(), "graph health: unhealthy");
        }
        record(&report, &m);
    }
}
