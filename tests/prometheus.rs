//! A real Prometheus server (Debian's package) scrapes boltward's control port; PromQL
//! through Prometheus' HTTP API returns boltward metrics with the values the test caused.
//! The alert rules in docs/monitoring load into that server, and promtool accepts them
//! and the docker Prometheus configuration.

mod common;

use common::{shared_server, statements, Boltward};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Prometheus {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(target: &str) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let rules = common::repo().join("docs/monitoring/boltward-alerts.yml");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: boltward\n    static_configs:\n      - targets: [\"{target}\"]\n",
            rules.display()
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus is installed by scripts/setup-testenv.sh");
    let p = Prometheus {
        child,
        addr,
        _dir: dir,
    };
    let ready = || {
        ureq::get(&format!("http://{}/-/ready", p.addr))
            .call()
            .is_ok_and(|r| r.status() == 200)
    };
    common::wait_until("prometheus is ready", Duration::from_secs(30), ready);
    p
}

fn promql(p: &Prometheus, q: &str) -> Vec<Value> {
    let mut r = ureq::get(&format!("http://{}/api/v1/query", p.addr))
        .query("query", q)
        .call()
        .unwrap();
    let v: Value = r.body_mut().read_json().unwrap();
    assert_eq!(v["status"], "success", "{v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// Polls `q` until its single sample equals `want` (scrapes happen every second).
fn wait_value(p: &Prometheus, q: &str, want: &str) -> Value {
    let mut last = Vec::new();
    let found = common::within(Duration::from_secs(30), || {
        last = promql(p, q);
        last.len() == 1 && last[0]["value"][1] == want
    });
    assert!(found, "{q}: wanted {want}, Prometheus says {last:?}");
    last[0].clone()
}

#[test]
fn prometheus_scrapes_boltward_and_answers_promql() {
    let rules = common::repo().join("docs/monitoring/boltward-alerts.yml");
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new("promtool")
        .args(["check", "config", "--syntax-only"])
        .arg(common::repo().join("docker/prometheus.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bw = Boltward::start(&shared_server().addr(), &[], &[]);
    let prom = start_prometheus(&bw.control);
    let up = wait_value(&prom, "up{job=\"boltward\"}", "1");
    assert_eq!(up["metric"]["instance"], bw.control.as_str());
    let build = wait_value(&prom, "boltward_build_info", "1");
    assert_eq!(build["metric"]["version"], env!("CARGO_PKG_VERSION"));

    // One managed write transaction through boltward: exactly one RUN, one intent.
    let uri = format!("bolt://{}", bw.addr);
    let args = ["--uri", &uri, "--db", "other", "--mode", "execute_query"];
    statements("py6", &args, &["CREATE (:Scraped {at: timestamp()})"]);
    wait_value(&prom, "boltward_messages_total{type=\"RUN\"}", "1");
    wait_value(
        &prom,
        "boltward_journal_records_total{kind=\"intent\"}",
        "1",
    );
    wait_value(
        &prom,
        "sum(boltward_statements_total{class=\"write\",verdict=\"allow\"})",
        "1",
    );
    // The scrape that showed the values above may predate the COMMIT: wait for a later one.
    wait_value(
        &prom,
        "boltward_journal_records_total{kind=\"outcome\"}",
        "1",
    );
    // boltward's own added latency is measured per request and per summary.
    for direction in ["request", "response"] {
        let q = format!("boltward_added_latency_seconds_count{{direction=\"{direction}\"}}");
        common::wait_until(
            &format!("{q} >= 4: HELLO/LOGON, BEGIN, RUN, PULL, COMMIT were relayed"),
            Duration::from_secs(30),
            || {
                promql(&prom, &q)
                    .first()
                    .and_then(|s| s["value"][1].as_str()?.parse::<f64>().ok())
                    .is_some_and(|n| n >= 4.0)
            },
        );
    }

    // The alert rules are loaded and evaluated by the real server.
    let mut r = ureq::get(&format!("http://{}/api/v1/rules", prom.addr))
        .call()
        .unwrap();
    let rules: Value = r.body_mut().read_json().unwrap();
    let names: Vec<&str> = rules["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"BoltwardJournalInDoubt"), "{names:?}");
    assert!(names.contains(&"BoltwardGraphUnhealthy"), "{names:?}");
}
