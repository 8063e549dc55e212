//! The control port: every endpoint with and without the token, the JSON error shape,
//! readiness following the upstream, metrics counting real traffic, policy endpoints.

mod common;

use common::{shared_server, statements, Boltward};
use std::io::{Read, Write};
use std::net::TcpStream;

const TOKEN: &str = "test-token-4f1c";

/// A minimal HTTP/1.1 exchange: (status, body).
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn boltward(upstream: &str, extra_env: &[(&str, &str)]) -> (Boltward, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(
        &cfg,
        "[policy]\ndefault = \"allow\"\n[[policy.rules]]\nname = \"agents\"\nactors = { user_agents = [\"agent/*\"] }\nallow = [\"read\"]\n",
    )
    .unwrap();
    let mut env = vec![("BOLTWARD_CONTROL_TOKEN", TOKEN)];
    env.extend_from_slice(extra_env);
    (
        Boltward::start(upstream, &["--config", cfg.to_str().unwrap()], &env),
        dir,
    )
}

#[test]
fn endpoints_and_tokens() {
    let (bw, _dir) = boltward(&shared_server().addr(), &[]);
    let c = bw.control.as_str();
    assert!(c.starts_with("127.0.0.1:"), "loopback: {c}");
    let (s, b) = http(c, "GET", "/healthz", None, "");
    assert_eq!((s, json(&b)["status"].as_str()), (200, Some("ok")));
    let (s, b) = http(c, "GET", "/readyz", None, "");
    assert_eq!(s, 200, "{b}");
    assert_eq!(json(&b)["status"], "ready");
    assert_eq!(
        http(c, "GET", "/metrics", None, "").0,
        200,
        "metrics need no token by default"
    );
    for (method, path, body) in [
        ("GET", "/v1/status", ""),
        ("GET", "/v1/policy", ""),
        ("POST", "/v1/policy/reload", ""),
        ("POST", "/v1/policy/check", r#"{"query": "RETURN 1"}"#),
        ("GET", "/v1/audit", ""),
        ("GET", "/v1/audit?principal=root&limit=5", ""),
        ("GET", "/v1/audit/verify", ""),
        ("POST", "/v1/writes/pause", ""),
        ("POST", "/v1/writes/resume", ""),
    ] {
        let (s, b) = http(c, method, path, None, body);
        assert_eq!(s, 401, "{path} without a token");
        assert_eq!(
            json(&b)["error"]["code"],
            "unauthorized",
            "{path}: stable error shape"
        );
        assert_eq!(
            http(c, method, path, Some("wrong"), body).0,
            401,
            "{path} with a wrong token"
        );
        let (s, b) = http(c, method, path, Some(TOKEN), body);
        assert_eq!(s, 200, "{path} with the token: {b}");
    }
    let (_, b) = http(c, "GET", "/v1/status", Some(TOKEN), "");
    let st = json(&b);
    assert_eq!(st["upstream"], shared_server().addr());
    assert_eq!(st["policy"]["rules"], serde_json::json!(["agents"]));
    let (_, b) = http(
        c,
        "POST",
        "/v1/policy/check",
        Some(TOKEN),
        r#"{"query": "CREATE (n)", "user_agent": "agent/2"}"#,
    );
    let v = json(&b);
    assert_eq!(
        (v["verdict"].as_str(), v["rule"].as_str()),
        (Some("deny"), Some("agents"))
    );
    assert_eq!(v["classes"], serde_json::json!(["write"]));
    let (s, b) = http(c, "GET", "/nope", Some(TOKEN), "");
    assert_eq!(
        (s, json(&b)["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[test]
fn metrics_count_real_traffic() {
    let (bw, _dir) = boltward(&shared_server().addr(), &[]);
    let uri = format!("bolt://{}", bw.addr);
    let args = ["--uri", &uri, "--agent", "agent/1", "--db", "neo4j"];
    statements("py6", &args, &["RETURN 1", "CREATE (:Metric)"]);
    // Every counter of a connection is final once boltward has ended its session.
    common::wait_until(
        "boltward has ended the driver's connections",
        std::time::Duration::from_secs(30),
        || common::metric_value(&bw.metrics(), "boltward_connections_active") == 0.0,
    );
    let (_, m) = http(&bw.control, "GET", "/metrics", None, "");
    let value = |needle: &str| {
        m.lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{needle} missing:\n{m}"))
    };
    assert!(value("boltward_messages_total{type=\"RUN\"}") >= 2.0);
    assert_eq!(
        value("boltward_statements_total{class=\"write\",verdict=\"deny\"}"),
        1.0
    );
    assert_eq!(value("boltward_refusals_total{rule=\"agents\"}"), 1.0);
    assert!(value("boltward_connections_total") >= 1.0);
    assert!(value("boltward_bytes_in_total") > 0.0);
    assert!(value("boltward_bytes_out_total") > 0.0);
    assert!(m.contains("boltward_upstream_round_trip_seconds_bucket"));
}

#[test]
fn readiness_follows_the_upstream() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (bw, _dir) = boltward(&addr, &[]);
    let (s, b) = http(&bw.control, "GET", "/readyz", None, "");
    assert_eq!(s, 503, "{b}");
    assert_eq!(json(&b)["status"], "not_ready");
    assert_eq!(
        http(&bw.control, "GET", "/healthz", None, "").0,
        200,
        "the process itself is up"
    );
}

#[test]
fn metrics_token_can_be_required() {
    let (bw, _dir) = boltward(
        &shared_server().addr(),
        &[("BOLTWARD_CONTROL_METRICS_TOKEN", "true")],
    );
    assert_eq!(http(&bw.control, "GET", "/metrics", None, "").0, 401);
    assert_eq!(http(&bw.control, "GET", "/metrics", Some(TOKEN), "").0, 200);
}

#[test]
fn policy_reload_endpoint() {
    let (bw, dir) = boltward(&shared_server().addr(), &[]);
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(&cfg, "[policy]\ndefault = \"deny\"\n").unwrap();
    let (s, b) = http(&bw.control, "POST", "/v1/policy/reload", Some(TOKEN), "");
    assert_eq!(s, 200, "{b}");
    assert_eq!(json(&b)["policy"]["default"], "deny");
    std::fs::write(&cfg, "[policy]\nmode = \"loud\"\n").unwrap();
    let (s, b) = http(&bw.control, "POST", "/v1/policy/reload", Some(TOKEN), "");
    assert_eq!(s, 422, "{b}");
    assert_eq!(json(&b)["error"]["code"], "invalid_policy");
    let (_, b) = http(&bw.control, "GET", "/v1/policy", Some(TOKEN), "");
    assert_eq!(json(&b)["default"], "deny", "the previous policy stays");
}

/// Without a configuration file there is nothing to reload, and the control port and
/// SIGHUP say so alike (one reload path): the policy in force stays, the refusal is counted.
#[test]
fn policy_reload_without_a_file_is_refused_alike() {
    let bw = Boltward::start(
        &shared_server().addr(),
        &[],
        &[
            ("BOLTWARD_CONTROL_TOKEN", TOKEN),
            ("BOLTWARD_POLICY_DEFAULT", "deny"),
        ],
    );
    let refused = || {
        bw.metrics()
            .lines()
            .find_map(|l| {
                l.strip_prefix("boltward_policy_reloads_total{outcome=\"error\"} ")?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(0.0)
    };
    let (s, b) = http(&bw.control, "POST", "/v1/policy/reload", Some(TOKEN), "");
    assert_eq!(s, 422, "{b}");
    assert!(b.contains("without a configuration file"), "{b}");
    assert_eq!(refused(), 1.0);
    bw.signal("HUP");
    common::wait_until(
        "SIGHUP's reload refused",
        std::time::Duration::from_secs(30),
        || refused() == 2.0,
    );
    let (_, b) = http(&bw.control, "GET", "/v1/policy", Some(TOKEN), "");
    assert_eq!(
        json(&b)["default"],
        "deny",
        "the policy from the start stays"
    );
}
