//! The whole app in-process (no server needed: nothing here reaches the upstream):
//! `App::build` resolves everything before it binds, `App::run` serves until shutdown.

use boltward::app::{App, AppError};
use boltward::config::Config;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A loopback port nothing listens on now (the upstream nobody answers at).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dir: &std::path::Path, listen: &str, extra: &[(&str, String)]) -> Config {
    let mut overrides = vec![
        ("listen.addr", listen.to_owned()),
        ("upstream.addr", format!("127.0.0.1:{}", free_port())),
        ("control.addr", "127.0.0.1:0".to_owned()),
        ("journal.dir", dir.join("journal").display().to_string()),
        ("snapshot.dir", dir.join("snapshots").display().to_string()),
    ];
    overrides.extend(extra.iter().cloned());
    Config::load(None, Vec::new(), &overrides).expect("a valid configuration")
}

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn a_bad_secret_fails_the_build_before_anything_binds() {
    let dir = tempfile::tempdir().unwrap();
    // The listen port is taken: a build that bound before resolving its secrets would fail
    // on the port instead of on the secret.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let missing = dir.path().join("no-such-token");
    let cfg = config(
        dir.path(),
        &listen,
        &[("control.token_file", missing.display().to_string())],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(App::build(cfg, None))
        .err()
        .expect("a missing token file is an error");
    assert!(matches!(err, AppError::Token(_)), "{err}");
    assert!(
        err.to_string().contains("no-such-token"),
        "names the file: {err}"
    );
    // With the secret in place, the taken port is what fails.
    std::fs::write(&missing, "t0ken").unwrap();
    let cfg = config(
        dir.path(),
        &listen,
        &[("control.token_file", missing.display().to_string())],
    );
    let err = rt
        .block_on(App::build(cfg, None))
        .err()
        .expect("the port is taken");
    assert!(matches!(err, AppError::Proxy(_)), "{err}");
    drop(taken);
}

#[test]
fn the_app_builds_serves_its_control_port_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:0", &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(App::build(cfg, None)).expect("builds");
    let bolt = app.local_addr().unwrap();
    assert_ne!(bolt.port(), 0, "port 0 resolved");
    assert!(app.runtime().journal.is_some(), "the journal is open");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let control = app
        .control_addr()
        .expect("the control port is on")
        .to_string();
    let served = rt.spawn(app.run(async {
        let _ = stopped.await;
    }));
    let healthz = get(&control, "/healthz");
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    let status = get(&control, "/v1/status");
    assert!(
        status.starts_with("HTTP/1.1 401"),
        "protected without a token: {status}"
    );
    TcpStream::connect(bolt).expect("the Bolt listener accepts");
    stop.send(()).unwrap();
    let result = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), served).await })
        .expect("run returns after shutdown")
        .expect("the task did not panic");
    assert!(result.is_ok(), "{result:?}");
    // Shut down: the port is free again.
    TcpListener::bind(bolt).expect("the listener was closed");
}
