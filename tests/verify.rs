//! EXPLAIN verification: statements the classifier cannot decide (procedures off the
//! known-read list) are planned by the server on boltward's own connection, and the
//! server's query type decides; answers are cached.
//!
//! ArcadeDB's EXPLAIN reports `w` for everything, so the upstream here is a small scripted
//! server whose EXPLAIN says `r` for `custom.read` and `w` for `custom.write`.

mod common;

use boltward_protocol::message::Record;
use boltward_protocol::{Request, Response, Value};
use common::scripted::{self, Reply, Scripted};
use common::{script, statements, Boltward};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A scripted server that counts the EXPLAINs it is sent and reports a statement as a
/// write when it calls `custom.write` or says "sneaky" (a statement that looks like a
/// read but writes).
fn stub() -> (String, Arc<AtomicUsize>) {
    let explains = Arc::new(AtomicUsize::new(0));
    let counted = explains.clone();
    let writes: Arc<Mutex<HashMap<usize, bool>>> = Arc::default();
    let server = Scripted::start(Arc::new(move |conn, r| match r {
        Request::Run(run) => {
            let explain = run.query.starts_with("EXPLAIN ");
            if explain {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            let write = run.query.contains("custom.write") || run.query.contains("sneaky");
            writes.lock().unwrap().insert(conn, write);
            let fields = if explain { vec![] } else { vec!["x".into()] };
            Reply::Answer(vec![scripted::success(&[("fields", Value::List(fields))])])
        }
        Request::Pull(_) => {
            let write = writes.lock().unwrap().get(&conn).copied().unwrap_or(false);
            let ty = if write { "w" } else { "r" };
            Reply::Answer(vec![
                Response::Record(Record {
                    fields: vec![Value::Integer(1)],
                }),
                scripted::success(&[("type", ty.into())]),
            ])
        }
        _ => scripted::single_server(conn, r),
    }));
    (server.addr, explains)
}

const POLICY: &str = "[policy]\ndefault = \"deny\"\n[[policy.rules]]\nname = \"readers\"\nactors = { principals = [\"reader\"] }\nallow = [\"read\"]\n[[policy.rules]]\nname = \"writers\"\nactors = { principals = [\"writer\"] }\nallow = [\"read\", \"write\"]\n";

/// Two reads and a write procedure, called by `reader` through `bw`: "allowed" or the
/// last part of the error's code, for each.
fn calls(bw: &Boltward) -> Vec<String> {
    let uri = format!("bolt://{}", bw.addr);
    let args = [
        "--uri",
        &uri,
        "--user",
        "reader",
        "--password",
        "pw",
        "--db",
        "neo4j",
    ];
    let calls = [
        "CALL custom.read()",
        "CALL custom.read()",
        "CALL custom.write()",
    ];
    statements("py6", &args, &calls)
        .iter()
        .map(|a| common::outcome(a).rsplit('.').next().unwrap().to_owned())
        .collect()
}

fn start(verify: bool) -> (Boltward, Arc<AtomicUsize>, tempfile::TempDir) {
    start_with(verify, POLICY)
}

fn start_with(verify: bool, policy: &str) -> (Boltward, Arc<AtomicUsize>, tempfile::TempDir) {
    let (addr, explains) = stub();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    let mut text = policy.to_owned();
    if verify {
        text = format!("[verify]\nenabled = true\nuser = \"boltward\"\n\n{text}");
    }
    std::fs::write(&cfg, text).unwrap();
    let bw = Boltward::start(
        &addr,
        &["--config", cfg.to_str().unwrap()],
        &[("BOLTWARD_VERIFY_PASSWORD", "secret")],
    );
    (bw, explains, dir)
}

#[test]
fn the_server_decides_what_the_lexer_cannot() {
    let (bw, explains, _dir) = start(true);
    assert_eq!(calls(&bw), vec!["allowed", "allowed", "Forbidden"]);
    assert_eq!(
        explains.load(Ordering::SeqCst),
        2,
        "custom.read planned once (then cached), custom.write once"
    );
    assert!(bw.logs().contains("EXPLAIN verification (cached)"));
    assert!(
        !bw.logs().contains("secret"),
        "the verification password is never logged"
    );
}

#[test]
fn without_verification_procedures_stay_pessimistic() {
    let (bw, explains, _dir) = start(false);
    assert_eq!(calls(&bw), vec!["Forbidden", "Forbidden", "Forbidden"]);
    assert_eq!(explains.load(Ordering::SeqCst), 0);
}

/// A statement classified read that the server reports as a write: logged, and inside an
/// explicit transaction its COMMIT becomes a ROLLBACK.
#[test]
fn predicted_read_that_wrote_is_rolled_back() {
    let (bw, _explains, _dir) = start(false);
    let (out, _, _) = predicted_read_guard(&bw, "reader");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Neo.ClientError.Security.Forbidden"),
        "{out}\n{}",
        bw.logs()
    );
    assert!(lines[0].contains("guard:predicted-read"), "{out}");
    assert_eq!(lines[1], "1", "the session is usable afterwards");
    assert!(bw
        .logs()
        .contains("statement classified read was reported as a write by the server"));
    let rolled_back = common::metric_value(
        &bw.metrics(),
        "boltward_commits_rolled_back_total{rule=\"guard:predicted-read\"}",
    );
    assert_eq!(
        rolled_back, 1.0,
        "the COMMIT turned into ROLLBACK is counted"
    );
}

/// A transaction whose statement the server reports as a write, run by `principal`:
/// what the COMMIT answered, and the session afterwards.
const SNEAKY_TX: &str = "verify/sneaky_tx.py";

fn predicted_read_guard(bw: &Boltward, who: &str) -> (String, f64, f64) {
    let out = script(
        "py6",
        SNEAKY_TX,
        &[],
        &[("URI", &format!("bolt://{}", bw.addr)), ("WHO", who)],
    );
    let metrics = bw.metrics();
    let counted = common::metric_value(&metrics, "boltward_predicted_read_wrote_total");
    let refused = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("boltward_refusals_total{rule=\"guard:predicted-read\"} ")?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    (out, counted, refused)
}

/// An actor allowed to write: the server's answer (a write) is allowed, so the
/// transaction commits; the misprediction is counted, nothing is refused.
#[test]
fn predicted_read_that_wrote_commits_when_the_actor_may_write() {
    let (bw, _explains, _dir) = start(false);
    let (out, counted, refused) = predicted_read_guard(&bw, "writer");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["committed", "1"], "{out}");
    assert_eq!((counted, refused), (1.0, 0.0));
    let committed = boltward::journal::replay::committed(&bw.journal_dir(), None).unwrap();
    assert_eq!(
        committed.len(),
        1,
        "journaled like any write (intent before the COMMIT)"
    );
}

/// Audit mode refuses nothing: a reader's transaction that wrote commits, and the would-be
/// refusal is counted.
#[test]
fn audit_mode_commits_a_predicted_read_that_wrote() {
    let policy = POLICY.replace("[policy]\n", "[policy]\nmode = \"audit\"\n");
    let (bw, _explains, _dir) = start_with(false, &policy);
    let (out, counted, refused) = predicted_read_guard(&bw, "reader");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["committed", "1"], "{out}");
    assert_eq!((counted, refused), (1.0, 1.0));
}

/// Audit mode, an actor allowed to write: committed, nothing would have been refused.
#[test]
fn audit_mode_commits_a_writers_predicted_read_that_wrote() {
    let policy = POLICY.replace("[policy]\n", "[policy]\nmode = \"audit\"\n");
    let (bw, _explains, _dir) = start_with(false, &policy);
    let (out, counted, refused) = predicted_read_guard(&bw, "writer");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["committed", "1"], "{out}");
    assert_eq!((counted, refused), (1.0, 0.0));
}
