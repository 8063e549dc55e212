//! `boltward policy check` (JSON and text, exit codes) and policy hot reload on SIGHUP
//! (a bad policy keeps the previous one).

mod common;

use common::{py, shared_server, Boltward, PASSWORD};
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
    let out = Command::new(env!("CARGO_BIN_EXE_boltward"))
        .args(["policy", "check", "--config", path.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
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
    let code = r#"
import os, neo4j
from neo4j.exceptions import ClientError
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]), user_agent="agent/1")
try:
    d.execute_query("CREATE (:Reload)", database_="neo4j")
    print("allowed")
except ClientError as e:
    print(e.code)
"#;
    let uri = format!("bolt://{}", bw.addr);
    let attempt = || {
        py("py6", code, &[("URI", &uri), ("PW", PASSWORD)])
            .trim()
            .to_owned()
    };
    assert_eq!(attempt(), "Neo.ClientError.Security.Forbidden");
    std::fs::write(
        &path,
        deny.replace("allow = [\"read\"]", "allow = [\"read\", \"write\"]"),
    )
    .unwrap();
    bw.signal("HUP");
    assert!(bw.wait_log("policy reloaded", Duration::from_secs(5)));
    assert_eq!(attempt(), "allowed");
    std::fs::write(&path, "[policy]\nmode = \"loud\"\n").unwrap();
    bw.signal("HUP");
    assert!(
        bw.wait_log("keeping the previous policy", Duration::from_secs(5)),
        "{}",
        bw.logs()
    );
    assert_eq!(
        attempt(),
        "allowed",
        "the previous (valid) policy stays in force"
    );
}
