//! One Prometheus registry; each subsystem registers its metrics into it at start-up.
//! Every name starts with `boltward_`. docs/metrics.md lists them with their labels.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The graph health probes' metrics.
#[derive(Clone)]
pub struct HealthMetrics {
    /// Per check: 1 pass, 0 fail, -1 skipped (last run).
    pub status: IntGaugeVec,
    /// Per check: seconds the last run took.
    pub duration: prometheus::GaugeVec,
}

/// Snapshot and restore metrics.
#[derive(Clone)]
pub struct SnapshotMetrics {
    /// Unix time of the last successful snapshot.
    pub last_success: IntGauge,
    /// Seconds the last successful snapshot took.
    pub duration: prometheus::Gauge,
    /// Data file size of the last successful snapshot.
    pub size: IntGauge,
    /// Entities in the last successful snapshot, by kind (node, relationship).
    pub entities: IntGaugeVec,
    /// Snapshots taken, by kind (manual, scheduled, safety).
    pub taken: IntCounterVec,
    /// Failed snapshot attempts.
    pub failures: IntCounter,
    /// Snapshot attempts that failed since the last success.
    pub consecutive_failures: IntGauge,
    /// Seconds between two scheduled snapshots (0: no schedule).
    pub schedule_interval: IntGauge,
    /// How long each snapshot held writes.
    pub write_pause: Histogram,
    /// Snapshots deleted by retention.
    pub pruned: IntCounter,
    /// Recovery state: 0 not recovering, 1 recovering, 2 validating, 3 succeeded,
    /// 4 failed, 5 promoted.
    pub restore_state: IntGauge,
    /// Progress of the running restore, 0..1.
    pub restore_progress: prometheus::Gauge,
}

/// The journal's metrics.
#[derive(Clone)]
pub struct JournalMetrics {
    /// The LSN of the newest durable record.
    pub lsn: IntGauge,
    /// 1 while the journal can write, 0 while writes are refused because it cannot.
    pub writable: IntGauge,
    /// Records appended, by kind.
    pub records: IntCounterVec,
    /// Bytes appended.
    pub bytes: IntCounter,
    /// fsync calls.
    pub fsyncs: IntCounter,
    /// fsync latency.
    pub fsync_seconds: Histogram,
    /// Records made durable by one fsync (group commit).
    pub batch_records: Histogram,
    /// Failed appends (disk full, permissions, I/O errors).
    pub append_errors: IntCounter,
    /// Writes whose outcome is unknown (found at recovery or during this run).
    pub in_doubt: IntGauge,
    /// Segments in the journal.
    pub segments: IntGauge,
    /// Bytes of the journal directory's segments (after the last retention pass).
    pub disk_bytes: IntGauge,
    /// The oldest LSN the journal directory holds.
    pub oldest_lsn: IntGauge,
    /// When the oldest snapshot a point-in-time restore can start from was taken (Unix s).
    pub pitr_window_start: IntGauge,
    /// Segments removed by retention, by action (archived, deleted).
    pub pruned: IntCounterVec,
    /// The last LSN the audit sink wrote.
    pub sink_lsn: IntGauge,
    /// Audit sink connection or write failures.
    pub sink_errors: IntCounter,
}

/// The proxy's metrics.
#[derive(Clone)]
pub struct ProxyMetrics {
    /// Client connections open now.
    pub connections_active: IntGauge,
    /// Client connections accepted.
    pub connections_total: IntCounter,
    /// Client connections refused, by reason.
    pub connections_refused: IntCounterVec,
    /// Client requests by Bolt message type.
    pub messages: IntCounterVec,
    /// Statements by class and verdict.
    pub statements: IntCounterVec,
    /// Refusals by rule.
    pub refusals: IntCounterVec,
    /// Bytes received from clients.
    pub bytes_in: IntCounter,
    /// Bytes sent to clients.
    pub bytes_out: IntCounter,
    /// Upstream connection failures by kind.
    pub upstream_errors: IntCounterVec,
    /// Time from forwarding a request to its summary, by message type.
    pub upstream_round_trip: HistogramVec,
    /// Time boltward holds a message: a request from arrival to forwarded upstream, a
    /// summary from arrival to written to the client (journal waits and held writes
    /// included).
    pub added_latency: HistogramVec,
    /// Statements classified read that the server reported as writes.
    pub predicted_read_wrote: IntCounter,
    /// Auto-commit writes run again because boltward's COMMIT of them failed transiently.
    pub autocommit_retries: IntCounter,
    /// Client COMMITs boltward replaced by a ROLLBACK, by rule.
    pub commits_rolled_back: IntCounterVec,
    /// Writes whose replay on a mirror can differ, by hazard.
    pub replay_unsafe: IntCounterVec,
    /// Statements the classifier could not escape, lex or parse (classed as writes).
    pub statements_unparsed: IntCounter,
    /// Policy reloads by outcome.
    pub policy_reloads: IntCounterVec,
}

/// The registry and every subsystem's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Proxy metrics.
    pub proxy: ProxyMetrics,
    /// Journal metrics.
    pub journal: JournalMetrics,
    /// Health probe metrics.
    pub health: HealthMetrics,
    /// Snapshots and restores.
    pub snapshot: SnapshotMetrics,
    /// Mirrors.
    pub replication: ReplicationMetrics,
}

/// Mirrors' metrics, labelled by remote.
#[derive(Clone)]
pub struct ReplicationMetrics {
    /// The outcome LSN of the last transaction applied.
    pub applied_lsn: IntGaugeVec,
    /// Committed transactions waiting (counted up to one batch).
    pub lag_transactions: IntGaugeVec,
    /// The remote's state (see docs/metrics.md for the codes).
    pub state: IntGaugeVec,
    /// Time to apply one transaction.
    pub apply_seconds: HistogramVec,
    /// From a transaction's commit on the primary (its journaled outcome) to its commit on
    /// the remote.
    pub lag_seconds: HistogramVec,
    /// Failed passes (each retried from the marker).
    pub errors: IntCounterVec,
    /// Transactions whose update counters differed on the remote.
    pub drift: IntCounterVec,
    /// 1 while a sync remote is degraded to async.
    pub degraded: IntGaugeVec,
    /// Bytes of journal after a remote's position (estimated within its segment).
    pub lag_bytes: IntGaugeVec,
    /// Bytes of journal segments a remote holds back from retention.
    pub retained_bytes: IntGaugeVec,
    /// The share of its retention budget a remote uses (bytes or age, whichever is more).
    pub budget_used: prometheus::GaugeVec,
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl ReplicationMetrics {
    fn new(r: &Registry) -> Self {
        let apply_seconds = HistogramVec::new(
            HistogramOpts::new(
                "boltward_replication_apply_seconds",
                "Time to apply one committed transaction to a remote, marker included",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
            &["remote"],
        )
        .expect("valid metric");
        r.register(Box::new(apply_seconds.clone()))
            .expect("unique metric");
        let lag_seconds = HistogramVec::new(
            HistogramOpts::new(
                "boltward_replication_lag_seconds",
                "From a transaction's commit on the primary (its journaled outcome) to its commit on a remote",
            )
            .buckets(vec![
                0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
                60.0, 300.0,
            ]),
            &["remote"],
        )
        .expect("valid metric");
        r.register(Box::new(lag_seconds.clone()))
            .expect("unique metric");
        ReplicationMetrics {
            applied_lsn: gauge_vec(
                r,
                "boltward_replication_applied_lsn",
                "The journal LSN of the last transaction a remote applied (its marker)",
                &["remote"],
            ),
            lag_transactions: gauge_vec(
                r,
                "boltward_replication_lag_transactions",
                "Committed transactions a remote has not applied yet (counted up to replication.batch)",
                &["remote"],
            ),
            state: gauge_vec(
                r,
                "boltward_replication_state",
                "A remote's state: 0 connecting, 1 streaming, 2 retrying, 3 paused, 4 needs-reseed, 5 reseeding, 6 stopped, 7 lost",
                &["remote"],
            ),
            lag_bytes: gauge_vec(
                r,
                "boltward_replication_lag_bytes",
                "Bytes of journal after a remote's position (estimated within the segment holding it)",
                &["remote"],
            ),
            retained_bytes: gauge_vec(
                r,
                "boltward_replication_retained_bytes",
                "Bytes of journal segments a remote holds back from retention",
                &["remote"],
            ),
            budget_used: {
                let g = prometheus::GaugeVec::new(
                    Opts::new(
                        "boltward_replication_budget_used_ratio",
                        "The share of replication.max_retained_bytes or max_retained_age_secs a remote uses (the larger); at 1 it is lost",
                    ),
                    &["remote"],
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            apply_seconds,
            lag_seconds,
            degraded: gauge_vec(
                r,
                "boltward_replication_degraded",
                "1 while a sync remote is degraded to async (it missed sync_timeout_ms; COMMITs do not wait for it until it catches up)",
                &["remote"],
            ),
            drift: counter_vec(
                r,
                "boltward_replication_drift_total",
                "Transactions whose update counters on a remote differed from the primary's (replication.on_drift decides what follows)",
                &["remote"],
            ),
            errors: counter_vec(
                r,
                "boltward_replication_errors_total",
                "Failed passes over a remote (each is retried from its marker)",
                &["remote"],
            ),
        }
    }
}

fn float_gauge(r: &Registry, name: &str, help: &str) -> prometheus::Gauge {
    let g = prometheus::Gauge::new(name, help).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("valid metric");
    r.register(Box::new(h.clone())).expect("unique metric");
    h
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

impl Metrics {
    /// A registry with every metric registered (names are static, so registration cannot
    /// fail at run time; a clash would be a programming error caught by the tests).
    pub fn new() -> Self {
        let r = Registry::new();
        let build = IntGaugeVec::new(
            Opts::new("boltward_build_info", "Build information; always 1"),
            &["version"],
        )
        .expect("valid metric");
        r.register(Box::new(build.clone())).expect("unique metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let active = IntGauge::new("boltward_connections_active", "Client connections open now")
            .expect("valid metric");
        r.register(Box::new(active.clone())).expect("unique metric");
        let rt = HistogramVec::new(
            HistogramOpts::new(
                "boltward_upstream_round_trip_seconds",
                "From forwarding a request to the upstream's summary",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0,
            ]),
            &["message"],
        )
        .expect("valid metric");
        r.register(Box::new(rt.clone())).expect("unique metric");
        let added = HistogramVec::new(
            HistogramOpts::new(
                "boltward_added_latency_seconds",
                "Time boltward holds a message: request arrival to forwarded, summary arrival to relayed",
            )
            .buckets(vec![
                0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                0.01, 0.1, 1.0,
            ]),
            &["direction"],
        )
        .expect("valid metric");
        r.register(Box::new(added.clone())).expect("unique metric");
        let proxy = ProxyMetrics {
            added_latency: added,
            connections_active: active,
            connections_total: counter(
                &r,
                "boltward_connections_total",
                "Client connections accepted",
            ),
            connections_refused: counter_vec(
                &r,
                "boltward_connections_refused_total",
                "Client connections refused",
                &["reason"],
            ),
            messages: counter_vec(
                &r,
                "boltward_messages_total",
                "Client requests by Bolt message type",
                &["type"],
            ),
            statements: counter_vec(
                &r,
                "boltward_statements_total",
                "Statements by class and verdict",
                &["class", "verdict"],
            ),
            refusals: counter_vec(
                &r,
                "boltward_refusals_total",
                "Statements refused, by rule",
                &["rule"],
            ),
            bytes_in: counter(&r, "boltward_bytes_in_total", "Bytes received from clients"),
            bytes_out: counter(&r, "boltward_bytes_out_total", "Bytes sent to clients"),
            upstream_errors: counter_vec(
                &r,
                "boltward_upstream_errors_total",
                "Upstream connection failures",
                &["kind"],
            ),
            upstream_round_trip: rt,
            autocommit_retries: counter(
                &r,
                "boltward_autocommit_retries_total",
                "Auto-commit writes run again after boltward's COMMIT of them failed with a transient error (nothing of their result had been shown)",
            ),
            replay_unsafe: counter_vec(
                &r,
                "boltward_statements_replay_unsafe_total",
                "Writes whose replay on a mirror can differ (rand(), datetime(), id(), unordered LIMIT, …), by hazard; counted with replication.unsafe = warn or refuse",
                &["hazard"],
            ),
            commits_rolled_back: counter_vec(
                &r,
                "boltward_commits_rolled_back_total",
                "Client COMMITs boltward replaced by a ROLLBACK (a policy rule or guard poisoned the transaction, or the journal could not record it), by rule",
                &["rule"],
            ),
            predicted_read_wrote: counter(
                &r,
                "boltward_predicted_read_wrote_total",
                "Statements classified read that the server reported as writes",
            ),
            statements_unparsed: counter(
                &r,
                "boltward_statements_unparsed_total",
                "Statements the classifier could not read (escape, lex or parse error), classed as writes",
            ),
            policy_reloads: counter_vec(
                &r,
                "boltward_policy_reloads_total",
                "Policy reloads",
                &["outcome"],
            ),
        };
        let journal = JournalMetrics {
            lsn: gauge(
                &r,
                "boltward_journal_lsn",
                "LSN of the newest durable journal record",
            ),
            writable: gauge(
                &r,
                "boltward_journal_writable",
                "1 while the journal can write; 0 while writes are refused because it cannot",
            ),
            records: counter_vec(
                &r,
                "boltward_journal_records_total",
                "Journal records appended, by kind",
                &["kind"],
            ),
            bytes: counter(
                &r,
                "boltward_journal_bytes_total",
                "Bytes appended to the journal",
            ),
            fsyncs: counter(&r, "boltward_journal_fsyncs_total", "Journal fsync calls"),
            fsync_seconds: histogram(
                &r,
                "boltward_journal_fsync_seconds",
                "Journal fsync latency",
                vec![
                    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0,
                ],
            ),
            batch_records: histogram(
                &r,
                "boltward_journal_batch_records",
                "Records made durable by one journal write (group commit)",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
            ),
            append_errors: counter(
                &r,
                "boltward_journal_append_errors_total",
                "Journal appends that failed (disk full, permissions, I/O)",
            ),
            in_doubt: gauge(
                &r,
                "boltward_journal_in_doubt",
                "Journaled writes whose outcome is unknown (recovery and this run)",
            ),
            segments: gauge(&r, "boltward_journal_segments", "Journal segment files"),
            disk_bytes: gauge(
                &r,
                "boltward_journal_disk_bytes",
                "Bytes of the journal directory's segments, after the last retention pass",
            ),
            oldest_lsn: gauge(
                &r,
                "boltward_journal_oldest_lsn",
                "The oldest LSN the journal directory holds",
            ),
            pitr_window_start: gauge(
                &r,
                "boltward_journal_pitr_window_start_seconds",
                "When the oldest snapshot a point-in-time restore can start from was taken",
            ),
            pruned: counter_vec(
                &r,
                "boltward_journal_segments_pruned_total",
                "Journal segments removed by retention",
                &["action"],
            ),
            sink_lsn: gauge(
                &r,
                "boltward_journal_sink_lsn",
                "Last journal LSN written to the audit sink",
            ),
            sink_errors: counter(
                &r,
                "boltward_journal_sink_errors_total",
                "Audit sink connection or write failures",
            ),
        };
        let status = IntGaugeVec::new(
            Opts::new(
                "boltward_health_check_status",
                "Graph health check result of the last run: 1 pass, 0 fail, -1 skipped",
            ),
            &["check"],
        )
        .expect("valid metric");
        r.register(Box::new(status.clone())).expect("unique metric");
        let duration = prometheus::GaugeVec::new(
            Opts::new(
                "boltward_health_check_duration_seconds",
                "How long the last run of each graph health check took",
            ),
            &["check"],
        )
        .expect("valid metric");
        r.register(Box::new(duration.clone()))
            .expect("unique metric");
        let snapshot = SnapshotMetrics::new(&r);
        let replication = ReplicationMetrics::new(&r);
        Metrics {
            registry: r,
            proxy,
            journal,
            health: HealthMetrics { status, duration },
            snapshot,
            replication,
        }
    }

    /// The registry, for subsystems that register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl SnapshotMetrics {
    fn new(r: &Registry) -> Self {
        let entities = IntGaugeVec::new(
            Opts::new(
                "boltward_snapshot_entities",
                "Entities in the last successful snapshot",
            ),
            &["kind"],
        )
        .expect("valid metric");
        r.register(Box::new(entities.clone()))
            .expect("unique metric");
        SnapshotMetrics {
            last_success: gauge(
                r,
                "boltward_snapshot_last_success_timestamp_seconds",
                "Unix time of the last successful snapshot",
            ),
            duration: float_gauge(
                r,
                "boltward_snapshot_duration_seconds",
                "Seconds the last successful snapshot took",
            ),
            size: gauge(
                r,
                "boltward_snapshot_size_bytes",
                "Data file size of the last successful snapshot",
            ),
            entities,
            taken: counter_vec(
                r,
                "boltward_snapshots_total",
                "Snapshots taken, by kind",
                &["kind"],
            ),
            failures: counter(
                r,
                "boltward_snapshot_failures_total",
                "Failed snapshot attempts",
            ),
            consecutive_failures: gauge(
                r,
                "boltward_snapshot_consecutive_failures",
                "Snapshot attempts that failed since the last success",
            ),
            schedule_interval: gauge(
                r,
                "boltward_snapshot_schedule_interval_seconds",
                "Seconds between two scheduled snapshots (0: no schedule)",
            ),
            write_pause: histogram(
                r,
                "boltward_snapshot_write_pause_seconds",
                "How long a snapshot held writes",
                vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0],
            ),
            pruned: counter(
                r,
                "boltward_snapshots_pruned_total",
                "Snapshots deleted by retention",
            ),
            restore_state: gauge(
                r,
                "boltward_restore_state",
                "Recovery state: 0 not recovering, 1 recovering, 2 validating, 3 succeeded, 4 failed, 5 promoted",
            ),
            restore_progress: float_gauge(
                r,
                "boltward_restore_progress_ratio",
                "Progress of the running restore, 0 to 1",
            ),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_prefixed_and_rendered() {
        let m = Metrics::new();
        m.proxy.messages.with_label_values(&["RUN"]).inc();
        m.proxy
            .statements
            .with_label_values(&["write", "deny"])
            .inc();
        m.proxy
            .upstream_round_trip
            .with_label_values(&["RUN"])
            .observe(0.001);
        let text = m.render();
        assert!(text.contains("boltward_messages_total{type=\"RUN\"} 1"));
        assert!(text.contains("boltward_build_info{version="));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("boltward_"), "{line}");
        }
    }
}
