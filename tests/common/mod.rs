//! Integration-test harness: a real ArcadeDB Bolt server and the real `boltward` binary,
//! both started on port 0 and stopped by PID.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "playwithdata";

/// A current-thread runtime for a test's async steps.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// boltward's own Bolt client, logged in to `addr` as `root`.
pub async fn bolt(addr: &str) -> boltward::upstream::BoltClient {
    let up = boltward::config::Upstream {
        addr: addr.into(),
        ..Default::default()
    };
    let c = boltward::upstream::Connector::new(&up, None).unwrap();
    boltward::upstream::BoltClient::connect(&c, "root", PASSWORD, "test")
        .await
        .unwrap()
}

/// Runs `f` with a client logged in to `addr` ([`bolt`]).
pub fn with_client<T>(
    addr: &str,
    f: impl AsyncFnOnce(&mut boltward::upstream::BoltClient) -> T,
) -> T {
    rt().block_on(async {
        let mut client = bolt(addr).await;
        f(&mut client).await
    })
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn testenv(rel: &str) -> PathBuf {
    let p = repo().join(".testenv").join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-testenv.sh",
        p.display()
    );
    p
}

pub fn python(which: &str) -> PathBuf {
    testenv(&format!("{which}/bin/python"))
}

/// Starts ArcadeDB on `port` (0: a free one) with its files in `dir`; its port and PID.
/// A watchdog stops it if this test process dies first.
fn launch(dir: &Path, port: u16, databases: &[&str]) -> (u16, u32) {
    let mut cmd = Command::new(repo().join("scripts/arcadedb.sh"));
    cmd.args(["start", "--port", &port.to_string(), "--password", PASSWORD])
        .args(["--heap", "768m"])
        .arg("--dir")
        .arg(dir)
        .args(["--watch-pid", &std::process::id().to_string()]);
    for db in databases {
        cmd.args(["--database", db]);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/arcadedb.sh");
    assert!(out.status.success(), "ArcadeDB did not start");
    let env = String::from_utf8(out.stdout).unwrap();
    let get = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing in {env}"))
            .to_owned()
    };
    (
        get("BOLT_PORT").parse().unwrap(),
        get("PID").parse().unwrap(),
    )
}

/// A real ArcadeDB Bolt server on a free loopback port.
pub struct Server {
    pub port: u16,
    pub pid: u32,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server with the given databases (the first is the default). A watchdog
    /// stops it if this test process dies before `Drop` runs.
    pub fn start(databases: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (port, pid) = launch(dir.path(), 0, databases);
        Server { port, pid, dir }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// SIGKILLs the server process (its files stay: `restart` brings it back).
    pub fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
    }

    /// Starts the server again on the same port and files (after `kill`).
    pub fn restart(&mut self, databases: &[&str]) {
        self.pid = launch(self.dir.path(), self.port, databases).1;
    }

    pub fn stop(&self) {
        let _ = Command::new(repo().join("scripts/arcadedb.sh"))
            .arg("stop")
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .status();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One server shared by the tests of a binary (databases `neo4j` and `other`); the
/// watchdog stops it when the test binary exits.
pub fn shared_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&["neo4j", "other"]))
}

/// A running `boltward serve`.
pub struct Boltward {
    child: Child,
    pub addr: String,
    /// Cluster members' listeners: (member address, listen address, advertised address).
    pub members: Vec<(String, String, String)>,
    /// The control port's address.
    pub control: String,
    /// The control token it was started with (`BOLTWARD_CONTROL_TOKEN`), if any.
    token: Option<String>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Boltward {
    /// `boltward serve --listen 127.0.0.1:0 --upstream UPSTREAM` plus `extra` args and
    /// `env` variables.
    pub fn start(upstream: &str, extra: &[&str], env: &[(&str, &str)]) -> Boltward {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("boltward.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_boltward"))
            .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(extra)
            .env("BOLTWARD_JOURNAL_DIR", dir.path().join("journal"))
            .envs(env.iter().copied())
            .env(
                "BOLTWARD_LOG",
                std::env::var("BOLTWARD_TEST_LOG").unwrap_or_else(|_| "debug".into()),
            )
            .env("NO_COLOR", "1")
            .env("BOLTWARD_CONTROL_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn boltward");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut line, mut control, mut members) = (String::new(), String::new(), Vec::new());
        loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(m) = line.trim().strip_prefix("BOLTWARD_MEMBER=") {
                let f: Vec<&str> = m.split(' ').collect();
                members.push((f[0].to_owned(), f[1].to_owned(), f[2].to_owned()));
                continue;
            }
            let Some(c) = line.trim().strip_prefix("BOLTWARD_CONTROL=") else {
                break;
            };
            control = c.to_owned();
        }
        let addr = line
            .trim()
            .strip_prefix("BOLTWARD_LISTEN=")
            .unwrap_or_else(|| {
                panic!(
                    "boltward did not start: {line:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_owned();
        let token = env
            .iter()
            .find(|(k, _)| *k == "BOLTWARD_CONTROL_TOKEN")
            .map(|(_, v)| (*v).to_owned());
        Boltward {
            child,
            addr,
            members,
            control,
            token,
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs a `boltward` command against this instance's control port, with the token it
    /// was started with: exit code, stdout, stderr.
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut env = vec![("BOLTWARD_CONTROL_ADDR", self.control.as_str())];
        if let Some(token) = &self.token {
            env.push(("BOLTWARD_CONTROL_TOKEN", token));
        }
        boltward_cli(args, &env)
    }

    /// [`Boltward::cli`], failing the test unless the command exits 0: its stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.cli(args);
        assert_eq!(code, 0, "boltward {args:?}: {out}{err}\n{}", self.logs());
        out
    }

    /// The journal directory this boltward writes (unless the test set its own).
    pub fn journal_dir(&self) -> PathBuf {
        self._dir.path().join("journal")
    }

    /// The Prometheus text from this boltward's control port.
    pub fn metrics(&self) -> String {
        ureq::get(&format!("http://{}/metrics", self.control))
            .call()
            .expect("GET /metrics")
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    /// The status of `GET path` on the control port (no token).
    pub fn status_of(&self, path: &str) -> u16 {
        ureq::get(&format!("http://{}{path}", self.control))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("control port answers")
            .status()
            .as_u16()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Sends a signal by PID.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the process to exit; `None` on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }
}

impl Drop for Boltward {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the `boltward` binary with `args` and `env` (the control port's address and token
/// come only from `env`, never from the test's own environment): exit code (-1 when
/// killed by a signal), stdout, stderr.
pub fn boltward_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_boltward"))
        .args(args)
        .env_remove("BOLTWARD_CONTROL_ADDR")
        .env_remove("BOLTWARD_CONTROL_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("spawn boltward");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`boltward_cli`] without a control port (offline commands such as `audit verify`),
/// failing the test unless it exits 0: its stdout.
pub fn boltward_ok(args: &[&str]) -> String {
    let (code, out, err) = boltward_cli(args, &[]);
    assert_eq!(code, 0, "boltward {args:?}: {out}{err}");
    out
}

/// Runs a command, returning stdout; panics with stderr on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.stderr(Stdio::piped()).output().expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {err}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A driver script under `tests/drivers/` (`.py`: run with the venv `which`, `py6` or
/// `py528`; `.mjs`: run with Node), ready for its arguments and environment.
pub fn driver(which: &str, script: &str) -> Command {
    let path = repo().join("tests/drivers").join(script);
    assert!(path.exists(), "{} is missing", path.display());
    let mut cmd = if script.ends_with(".mjs") {
        Command::new("node")
    } else {
        Command::new(python(which))
    };
    cmd.arg(path);
    cmd
}

/// Runs a driver script ([`driver`]) to its end: its standard output.
pub fn script(which: &str, script: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    run(driver(which, script).args(args).envs(env.iter().copied()))
}

/// What `tests/drivers/statements.py` (or `.mjs` with `which` a Node package such as
/// `neo4j-driver-6`) reports for each statement: `{"ok", "records"}` or
/// `{"ok": false, "code", "message", ...}`. `args` are its options (`--uri` first).
pub fn statements(which: &str, args: &[&str], statements: &[&str]) -> Vec<serde_json::Value> {
    answers(
        statements.len(),
        &run(&mut statements_cmd(which, args, statements)),
    )
}

/// The command [`statements`] runs, for a test that adds to its environment or expects
/// it to fail.
pub fn statements_cmd(which: &str, args: &[&str], statements: &[&str]) -> Command {
    let mut cmd = if which.starts_with("neo4j-driver") {
        let mut cmd = driver(which, "statements.mjs");
        cmd.args(["--driver", which]);
        cmd
    } else {
        driver(which, "statements.py")
    };
    cmd.args(args).args(statements).env("PW", PASSWORD);
    cmd
}

/// The JSON lines of a [`statements_cmd`]'s output, `n` of them.
pub fn answers(n: usize, out: &str) -> Vec<serde_json::Value> {
    let answers: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(answers.len(), n, "one answer per statement: {out}");
    answers
}

/// The error code of a [`statements`] answer, or `"allowed"` when it succeeded.
pub fn outcome(answer: &serde_json::Value) -> String {
    if answer["ok"] == true {
        "allowed".into()
    } else {
        answer["code"].as_str().unwrap_or("?").to_owned()
    }
}

/// Runs `queries` in database `db` (the server's default when `None`) of the server at
/// `addr`, directly with boltward's own client: test data, not driver behaviour.
pub fn execute(addr: &str, db: Option<&str>, queries: &[&str]) {
    with_client(addr, async |c| {
        let extra = match db {
            Some(db) => boltward_protocol::Map::from([("db", db)]),
            None => boltward_protocol::Map::new(),
        };
        for q in queries {
            c.query(q, boltward_protocol::Map::new(), extra.clone())
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    })
}

pub fn read_file(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// A TCP relay in front of `target` whose server-to-client direction can be held per
/// connection: a network path that stalls on demand. Connections are numbered in the
/// order they were accepted.
pub struct Relay {
    pub addr: String,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::sync::Arc<RelayConn>>>>,
}

#[derive(Default)]
pub struct RelayConn {
    hold: std::sync::atomic::AtomicBool,
    /// Start holding once the client sends a COMMIT (which still reaches the server).
    trap_commit: std::sync::atomic::AtomicBool,
    /// What the server sent while held.
    held: std::sync::Mutex<Vec<u8>>,
}

impl Relay {
    pub fn start(target: &str) -> Relay {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let conns: Arc<Mutex<Vec<Arc<RelayConn>>>> = Arc::default();
        let target = target.to_owned();
        let list = conns.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let conn = Arc::new(RelayConn::default());
                list.lock().unwrap().push(conn.clone());
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let trap = conn.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    // A COMMIT: a one-chunk message, an empty struct tagged 0x12.
                    const COMMIT: [u8; 6] = [0x00, 0x02, 0xB0, 0x12, 0x00, 0x00];
                    while let Ok(n @ 1..) = c_read.read(&mut buf) {
                        if trap.trap_commit.load(Ordering::Acquire)
                            && buf[..n].windows(COMMIT.len()).any(|w| w == COMMIT)
                        {
                            trap.hold.store(true, Ordering::Release);
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write) = (server, client);
                // A short read timeout lets a released connection flush what it held.
                s_read
                    .set_read_timeout(Some(Duration::from_millis(10)))
                    .unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => n,
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) =>
                            {
                                0
                            }
                            Err(_) => break,
                        };
                        let mut held = conn.held.lock().unwrap();
                        held.extend_from_slice(&buf[..n]);
                        if !conn.hold.load(Ordering::Acquire) && !held.is_empty() {
                            if c_write.write_all(&held).is_err() {
                                break;
                            }
                            held.clear();
                        }
                    }
                    let held = std::mem::take(&mut *conn.held.lock().unwrap());
                    let _ = c_write.write_all(&held);
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Relay { addr, conns }
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    /// Holds (or releases) what the server sends on connection `i`.
    pub fn hold(&self, i: usize, hold: bool) {
        let conns = self.conns.lock().unwrap();
        conns[i]
            .hold
            .store(hold, std::sync::atomic::Ordering::Release);
    }

    /// Holds what the server sends on connection `i` from the first COMMIT its client
    /// sends on: the server commits, and the client never hears.
    pub fn hold_from_commit(&self, i: usize) {
        let conns = self.conns.lock().unwrap();
        conns[i]
            .trap_commit
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// What the server sent on connection `i` that is being held.
    pub fn held(&self, i: usize) -> Vec<u8> {
        let conn = self.conns.lock().unwrap()[i].clone();
        let held = conn.held.lock().unwrap().clone();
        held
    }
}

/// The value of a metric series (`name` or `name{labels}` as exposed) in a Prometheus
/// exposition (0 when absent).
pub fn metric_value(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The sum of every series of metric `name` (labelled or not) in an exposition.
pub fn metric_sum(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.strip_prefix('{') {
                Some(labelled) => labelled.split_once("} ")?.1,
                None => rest.strip_prefix(' ')?,
            };
            value.trim().parse::<f64>().ok()
        })
        .sum()
}

pub mod scripted;

/// Polls `cond` every 10 ms until it holds or `timeout` passes; whether it held.
pub fn within(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Polls `cond` until it holds; panics naming `what` once `timeout` has passed without it
/// holding.
pub fn wait_until(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    assert!(
        within(timeout, cond),
        "timed out after {timeout:?} waiting until {what}"
    );
}
