//! The operator CLI as a client of the control port: human and JSON output, exit codes
//! (0 ok, 1 refused by the control port, 3 unreachable).

mod common;

use common::{shared_server, Boltward};

const TOKEN: &str = "cli-token";

/// A `boltward` command against the control port at `control`, with `token` if any.
fn cli(control: &str, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut env = vec![("BOLTWARD_CONTROL_ADDR", control)];
    if let Some(token) = token {
        env.push(("BOLTWARD_CONTROL_TOKEN", token));
    }
    common::boltward_cli(args, &env)
}

#[test]
fn status_writes_and_exit_codes() {
    let server = shared_server();
    let bw = Boltward::start(&server.addr(), &[], &[("BOLTWARD_CONTROL_TOKEN", TOKEN)]);
    let c = bw.control.as_str();

    let (code, out, err) = cli(c, Some(TOKEN), &["status"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    assert_eq!(
        lines[0],
        format!("version      {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(lines[1].starts_with("uptime       ") && lines[1].ends_with('s'));
    assert_eq!(lines[2], format!("listen       {}", bw.addr));
    assert_eq!(lines[3], format!("upstream     {}", server.addr()));
    assert!(lines[4].starts_with("connections  ") && lines[4].contains(" active, "));
    assert_eq!(lines[5], "policy       enforce, default allow, rules: none");
    assert_eq!(lines[6], "writes       open");
    assert_eq!(lines[7], "journal      lsn 1, writable, 0 in doubt");

    let (code, out, _) = cli(c, Some(TOKEN), &["writes", "pause"]);
    assert_eq!((code, out.as_str()), (0, "writes paused (0 held)\n"));
    let (_, out, _) = cli(c, Some(TOKEN), &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["writes"]["paused"], true);
    let (code, out, _) = cli(c, Some(TOKEN), &["writes", "resume"]);
    assert_eq!((code, out.as_str()), (0, "writes resumed\n"));

    let (code, _, err) = cli(c, Some("wrong"), &["status"]);
    assert_eq!(code, 1);
    assert!(err.contains("401") && err.contains("bearer token"), "{err}");
    let (code, _, err) = cli(c, Some(TOKEN), &["policy", "reload"]);
    assert_eq!(code, 1, "no configuration file to reload from");
    assert!(err.contains("without a configuration file"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (code, _, err) = cli(&nowhere, Some(TOKEN), &["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot reach the control port"), "{err}");
}

#[test]
fn shell_completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_boltward"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in [
            "serve", "status", "health", "audit", "verify", "writes", "policy",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}
