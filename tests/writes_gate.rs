//! The maintenance switch: `POST /v1/writes/pause` holds new write work while reads flow;
//! a driver's managed transaction waits and succeeds after `resume`; a write held past the
//! bound gets a transient error and the session stays usable.

mod common;

use common::{script, shared_server, Boltward, PASSWORD};

const TOKEN: &str = "gate-token";

const SCRIPT: &str = "gate/pause.py";

fn run(mode: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec![("BOLTWARD_CONTROL_TOKEN", TOKEN)];
    all.extend_from_slice(env);
    let bw = Boltward::start(&shared_server().addr(), &[], &all);
    let out = script(
        "py6",
        SCRIPT,
        &[],
        &[
            ("URI", &format!("bolt://{}", bw.addr)),
            ("PW", PASSWORD),
            ("CONTROL", &bw.control),
            ("TOKEN", TOKEN),
            ("RUN", &format!("gate-{mode}")),
            ("MODE", mode),
        ],
    );
    serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
}

#[test]
fn paused_writes_wait_and_succeed_after_resume() {
    let r = run("resume", &[]);
    assert_eq!(
        r["read_while_paused"], 7,
        "reads flow while writes are paused: {r}"
    );
    assert_eq!(r["held"], 1, "the managed transaction is held: {r}");
    assert_eq!(r["writer_done_before_resume"], false);
    assert_eq!(r["writer_done"], true, "{r}");
    assert_eq!(r["count"], 1, "the write landed once, after resume: {r}");
}

#[test]
fn writes_held_too_long_get_a_transient_error() {
    let r = run("timeout", &[("BOLTWARD_WRITES_PAUSE_TIMEOUT_SECS", "1")]);
    assert_eq!(
        r["write"], "Neo.TransientError.General.DatabaseUnavailable",
        "{r}"
    );
    assert_eq!(r["after"], 1, "the session is usable afterwards: {r}");
}
