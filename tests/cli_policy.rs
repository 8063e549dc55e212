//! `boltward policy check` (JSON and text, exit codes) and policy hot reload on SIGHUP
//! (a bad policy keeps the previous one).

mod common;

use common::{shared_server, statements, Boltward};
use std::process::Command;
use std::time::Duration;

const POLICY: &str = r#"
[policy]
default = "deny"
[[policy.rules]]
name = "agents-read-only"
actors = { principals = ["agent-*"] }
allow = ["read"]
[[policy.rules]]
name = "ops"
actors = { principals = ["ops"] }
allow = ["read", "write", "schema"]
"#;

fn check(policy: &str, args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    let mut all = vec!["policy", "check", "--config", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, out, err) = common::boltward_cli(&all, &[]);
    (code, out + &err)
}

#[test]
fn policy_check_json() {
    let (code, out) = check(
        POLICY,
        &[
            "--actor",
            "agent-1",
            "--query",
            "MATCH (n:Person) SET n.x = 1",
            "--json",
        ],
    );
    assert_eq!(code, 1, "deny exits 1: {out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["classes"], serde_json::json!(["write"]));
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["rule"], "agents-read-only");
    let (code, out) = check(
        POLICY,
        &[
            "--actor",
            "ops",
            "--query",
            "CREATE INDEX FOR (n:P) ON (n.x)",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["rule"].as_str()),
        (Some("allow"), Some("ops"))
    );
    assert_eq!(v["classes"], serde_json::json!(["schema"]));
}

#[test]
fn policy_check_text_and_errors() {
    let (code, out) = check(
        POLICY,
        &["--actor", "agent-1", "--query", "MATCH (n) RETURN n"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out, "classes:  read\nverdict:  allow\nrule:     agents-read-only\nreason:   allowed\n",
        "human output"
    );
    let (code, out) = check("[policy]\nmode = \"loud\"", &["--query", "RETURN 1"]);
    assert_eq!(code, 2);
    assert!(out.contains("mode"), "{out}");
}

/// `--query-file FILE|-`: statements of any size up to the classifier's limit, the
/// obfuscations a shell would mangle, and exit 3 for input that cannot be read.
#[test]
fn policy_check_reads_statements_from_files_and_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.cypher");
    // A CR-terminated comment and an escaped keyword: writes, refused for a reader.
    std::fs::write(&file, "MATCH (n) // note\rDETACH DELETE n").unwrap();
    let f = file.to_str().unwrap();
    let (code, out) = check(POLICY, &["--actor", "agent-1", "--query-file", f, "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["classes"], serde_json::json!(["write"]));

    // Standard input, and a statement larger than Linux lets one argument be (128 KiB).
    let big = format!(
        "MATCH (n) WHERE n.x IN [{}] RETURN n",
        vec!["1"; 100_000].join(",")
    );
    assert!(big.len() > 128 * 1024);
    let dir2 = tempfile::tempdir().unwrap();
    let path = dir2.path().join("policy.toml");
    std::fs::write(&path, POLICY).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_boltward"))
        .args(["policy", "check", "--config", path.to_str().unwrap()])
        .args(["--actor", "agent-1", "--query-file", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(big.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["classes"], serde_json::json!(["read"]));

    // A missing file and bad UTF-8: exit 3.
    let (code, out) = check(POLICY, &["--query-file", "/nonexistent/q.cypher"]);
    assert_eq!(code, 3, "{out}");
    std::fs::write(&file, b"RETURN '\xff'").unwrap();
    let (code, out) = check(POLICY, &["--query-file", f]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("UTF-8"), "{out}");

    // Over limits.max_statement_bytes: refused unread, whoever asks.
    std::fs::write(&file, format!("RETURN '{}'", "a".repeat(1024 * 1024))).unwrap();
    let (code, out) = check(POLICY, &["--actor", "ops", "--query-file", f, "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["rule"], "limit:max-statement-bytes");
}

#[test]
fn sighup_reloads_and_keeps_the_old_policy_when_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boltward.toml");
    let deny = "[policy]\ndefault = \"allow\"\n[[policy.rules]]\nname = \"lockdown\"\nactors = { user_agents = [\"agent/*\"] }\nallow = [\"read\"]\n";
    std::fs::write(&path, deny).unwrap();
    let bw = Boltward::start(
        &shared_server().addr(),
        &["--config", path.to_str().unwrap()],
        &[],
    );
    let uri = format!("bolt://{}", bw.addr);
    let args = [
        "--uri",
        &uri,
        "--agent",
        "agent/1",
        "--db",
        "neo4j",
        "--mode",
        "execute_query",
    ];
    let attempt = || common::outcome(&statements("py6", &args, &["CREATE (:Reload)"])[0]);
    assert_eq!(attempt(), "Neo.ClientError.Security.Forbidden");
    std::fs::write(
        &path,
        deny.replace("allow = [\"read\"]", "allow = [\"read\", \"write\"]"),
    )
    .unwrap();
    let reloads = |outcome: &str| {
        let line = format!("boltward_policy_reloads_total{{outcome=\"{outcome}\"}} ");
        bw.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(line.as_str())?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    bw.signal("HUP");
    common::wait_until("the policy reloaded", Duration::from_secs(30), || {
        reloads("ok") == 1.0
    });
    assert_eq!(attempt(), "allowed");
    std::fs::write(&path, "[policy]\nmode = \"loud\"\n").unwrap();
    bw.signal("HUP");
    common::wait_until("the reload refused", Duration::from_secs(30), || {
        reloads("error") == 1.0
    });
    assert_eq!(
        attempt(),
        "allowed",
        "the previous (valid) policy stays in force"
    );
}
