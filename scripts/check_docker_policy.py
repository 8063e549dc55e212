#!/usr/bin/env python3
"""Project rules for the container packaging, checked without a Docker daemon.

Run by scripts/check-docker.sh (inside its tool venv), after `docker-compose config`
has rendered docker-compose.yml with every profile enabled:

    check_docker_policy.py --root ROOT --compose-json RENDERED.json

Syntax and schema are the job of docker-compose and hadolint; this checks what they
cannot know: the shape DESIGN.md asks for (multi-stage build, fixed non-root UID, Neo4j
reachable only through boltward, control port on loopback) and that the Dockerfile,
.dockerignore, docker-compose.yml, docker/boltward.toml and docker/prometheus.yml agree
with each other. Prints every problem found; exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

import dockerfile  # BuildKit's Dockerfile parser (PyPI `dockerfile`)
import yaml

BOLT_PORT = 7687
CONTROL_PORT = 7475
CONFIG_PATH = "/etc/boltward/boltward.toml"
STATE_DIR = "/var/lib/boltward"
# Keys of boltward.toml that the example config must carry (DESIGN.md / issue).
REQUIRED_CONFIG_KEYS = [
    ("listen", "addr"),
    ("listen", "advertised_address"),
    ("upstream", "addr"),
    ("control", "addr"),
    ("control", "token_file"),
    ("journal", "dir"),
    ("snapshot", "dir"),
]
# Must never reach the build context / must always reach it.
MUST_IGNORE = [".git", "target", "protocol/target", "fuzz", ".testenv", ".env"]
MUST_KEEP = ["Cargo.toml", "src/main.rs", "protocol/Cargo.toml", "protocol/src/lib.rs",
             "docker/boltward.toml"]
OCI_LABELS = ["org.opencontainers.image.title", "org.opencontainers.image.licenses",
              "org.opencontainers.image.version"]


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    def warn(self, where: str, msg: str) -> None:
        self.warnings.append(f"{where}: {msg}")


# ----------------------------------------------------------------------------- helpers

def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """'repo/name:tag@sha256:..' -> (name, tag, digest); a registry port is not a tag."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
        return name, tag, digest
    return ref, None, digest


def check_image_pinned(rep: Report, where: str, ref: str) -> None:
    if "$" in ref:
        rep.error(where, f"image {ref!r} uses a variable; write the pinned tag literally")
        return
    _, tag, digest = split_image(ref)
    if tag is None and digest is None:
        rep.error(where, f"image {ref!r} has no tag; pin one (never implicit latest)")
    elif tag == "latest":
        rep.error(where, f"image {ref!r} uses the 'latest' tag; pin a version")


def host_port(addr: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"\[?([^\]]*)\]?:(\d+)", addr)
    return (m.group(1), int(m.group(2))) if m else None


class DockerIgnore:
    """Matcher with the semantics of Docker's .dockerignore (moby/patternmatcher):
    patterns are cleaned and anchored at the context root, `*` and `?` stay within one
    path element, `**` spans any number, `!` re-includes, the last match wins, and a path
    is excluded when it or one of its parent directories is."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            pattern = re.sub(r"/+", "/", line).strip("/")
            pattern = "/".join(p for p in pattern.split("/") if p not in ("", "."))
            if pattern:
                self.rules.append((negate, re.compile(self._regex(pattern))))

    @staticmethod
    def _regex(pattern: str) -> str:
        out, i = "^", 0
        while i < len(pattern):
            c = pattern[i]
            if pattern.startswith("**/", i):
                out += "(?:.*/)?"
                i += 3
                continue
            if pattern.startswith("**", i):
                out += ".*"
                i += 2
                continue
            if c == "*":
                out += "[^/]*"
            elif c == "?":
                out += "[^/]"
            elif c == "[":
                j = pattern.find("]", i)
                if j == -1:
                    out += re.escape(c)
                else:
                    out += "[" + pattern[i + 1:j] + "]"
                    i = j
            elif c == "\\" and i + 1 < len(pattern):
                out += re.escape(pattern[i + 1])
                i += 1
            else:
                out += re.escape(c)
            i += 1
        return out + "$"

    def excluded(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negate, rx in self.rules:
            if any(rx.match(c) for c in candidates):
                result = not negate
        return result


# ---------------------------------------------------------------------------- Dockerfile

def check_dockerfile(rep: Report, root: Path, ignore: DockerIgnore) -> dict:
    """Returns facts the compose checks compare against."""
    where = "docker/Dockerfile"
    path = root / where
    facts: dict = {"cmd": None, "exposed": set()}
    try:
        commands = dockerfile.parse_file(str(path))
    except (OSError, dockerfile.GoIOError, dockerfile.GoParseError) as e:
        rep.error(where, f"cannot parse: {e}")
        return facts

    stages: list[dict] = []
    for c in commands:
        if c.cmd == "FROM":
            image = c.value[0]
            name = c.value[2] if len(c.value) >= 3 and c.value[1].upper() == "AS" else None
            stages.append({"image": image, "name": name, "cmds": [], "line": c.start_line})
        elif stages:
            stages[-1]["cmds"].append(c)
        elif c.cmd != "ARG":
            rep.error(where, f"line {c.start_line}: {c.cmd} before the first FROM")
    if len(stages) < 2:
        rep.error(where, f"must be a multi-stage build (builder + runtime), found {len(stages)} stage(s)")
        return facts

    stage_names = {s["name"] for s in stages if s["name"]}
    for s in stages:
        if s["image"] in stage_names or s["image"] == "scratch":
            continue
        check_image_pinned(rep, f"{where}:{s['line']}", s["image"])

    # Builder: some stage before the last builds the binary the way the issue asks.
    builds = [c for s in stages[:-1] for c in s["cmds"]
              if c.cmd == "RUN" and "cargo build" in " ".join(c.value)]
    if not builds:
        rep.error(where, "no builder stage runs `cargo build`")
    for c in builds:
        text = " ".join(c.value)
        for flag in ("--release", "--locked", "--bin boltward"):
            if flag not in text:
                rep.error(where, f"line {c.start_line}: cargo build lacks {flag}")

    final = stages[-1]
    cmds = final["cmds"]
    by = lambda name: [c for c in cmds if c.cmd == name]  # noqa: E731

    if not any(f.startswith("--from=") for c in by("COPY") for f in c.flags):
        rep.error(where, "runtime stage copies nothing from the builder stage (COPY --from=...)")

    users = by("USER")
    if not users:
        rep.error(where, "runtime stage has no USER: the container would run as root")
    else:
        user = users[-1].value[0]
        m = re.fullmatch(r"(\d+)(?::(\d+))?", user)
        if not m:
            rep.error(where, f"USER {user!r}: use a numeric UID[:GID] so runtimes can verify non-root")
        elif int(m.group(1)) == 0 or (m.group(2) is not None and int(m.group(2)) == 0):
            rep.error(where, f"USER {user!r} is root")
        elif int(m.group(1)) < 1000:
            rep.warn(where, f"USER {user!r}: a UID >= 1000 avoids clashing with system users")

    entry = by("ENTRYPOINT")
    if not entry:
        rep.error(where, "runtime stage has no ENTRYPOINT")
    else:
        e = entry[-1]
        if not e.json:
            rep.error(where, f"line {e.start_line}: ENTRYPOINT must use the exec (JSON) form")
        elif Path(e.value[0]).name != "boltward":
            rep.error(where, f"line {e.start_line}: ENTRYPOINT runs {e.value[0]!r}, not boltward")
    cmd = by("CMD")
    if cmd:
        if not cmd[-1].json:
            rep.error(where, f"line {cmd[-1].start_line}: CMD must use the exec (JSON) form")
        facts["cmd"] = list(cmd[-1].value)

    for c in by("EXPOSE"):
        for v in c.value:
            try:
                facts["exposed"].add(int(v.split("/")[0]))
            except ValueError:
                rep.error(where, f"line {c.start_line}: EXPOSE {v!r} is not a port")
    for port in (BOLT_PORT, CONTROL_PORT):
        if port not in facts["exposed"]:
            rep.error(where, f"runtime stage does not EXPOSE {port}")

    labels: set[str] = set()
    for c in by("LABEL"):
        labels.update(c.value[0::2])
    for label in OCI_LABELS:
        if label not in labels:
            rep.error(where, f"missing label {label}")

    # Every file COPY takes from the context must exist there and not be ignored.
    for s in stages:
        for c in s["cmds"]:
            if c.cmd not in ("COPY", "ADD") or any(f.startswith("--from=") for f in c.flags):
                continue
            for src in c.value[:-1]:
                if src in (".", "./") or any(ch in src for ch in "*?[$"):
                    continue
                rel = src[2:] if src.startswith("./") else src.lstrip("/")
                if not (root / rel).exists():
                    rep.error(where, f"line {c.start_line}: COPY source {src!r} does not exist")
                elif ignore.excluded(rel):
                    rep.error(where, f"line {c.start_line}: COPY source {src!r} is excluded by .dockerignore")
    return facts


# --------------------------------------------------------------------------- .dockerignore

def check_context(rep: Report, root: Path, ignore: DockerIgnore) -> None:
    where = ".dockerignore"
    if not (root / where).is_file():
        rep.error(where, "missing: the whole repository (target/, .git, fuzz/) would be sent to the builder")
    for p in MUST_IGNORE:
        if not ignore.excluded(p):
            rep.error(where, f"does not exclude {p}")
    for p in MUST_KEEP:
        if ignore.excluded(p):
            rep.error(where, f"excludes {p}, which the build needs")

    try:
        manifest = tomllib.loads((root / "Cargo.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        rep.error("Cargo.toml", f"cannot read: {e}")
        return
    members = manifest.get("workspace", {}).get("members", [])
    for m in members:
        if ignore.excluded(m):
            rep.error(where, f"excludes workspace member {m}/")
    if any(m.rstrip("/") == "fuzz" for m in members):
        rep.error("Cargo.toml", "fuzz is a workspace member; it must stay a separate workspace")
    if manifest.get("package", {}).get("name") != "boltward":
        rep.error("Cargo.toml", "root package is not `boltward` (the Dockerfile builds --bin boltward)")

    # Files pulled into the build by include_str!/include_bytes! must reach the builder.
    include = re.compile(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)')
    for member in ["."] + members:
        base = root / member
        for d in ("src", "benches", "tests", "examples", "build.rs"):
            top = base / d
            files = [top] if top.is_file() else sorted(top.rglob("*.rs")) if top.is_dir() else []
            for rs in files:
                for target in include.findall(rs.read_text(errors="replace")):
                    dest = (rs.parent / target).resolve()
                    try:
                        rel = dest.relative_to(root).as_posix()
                    except ValueError:
                        continue
                    if ignore.excluded(rel):
                        rep.error(where, f"excludes {rel}, which {rs.relative_to(root)} includes at compile time")

    if ignore.excluded("Cargo.lock"):
        rep.error(where, "excludes Cargo.lock, which `cargo build --locked` needs")
    elif not (root / "Cargo.lock").is_file():
        rep.warn("Cargo.lock", "not present: `docker build` (cargo build --locked) fails until it is committed")


# ------------------------------------------------------------------------- boltward.toml

def check_config(rep: Report, root: Path) -> dict:
    where = "docker/boltward.toml"
    try:
        cfg = tomllib.loads((root / where).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        rep.error(where, f"cannot parse: {e}")
        return {}
    for section, key in REQUIRED_CONFIG_KEYS:
        value = cfg.get(section, {}).get(key) if isinstance(cfg.get(section), dict) else None
        if not isinstance(value, str) or not value:
            rep.error(where, f"missing [{section}] {key}")
    for section, key in (("listen", "addr"), ("upstream", "addr"), ("control", "addr"),
                         ("listen", "advertised_address")):
        value = cfg.get(section, {}).get(key)
        if isinstance(value, str) and host_port(value) is None:
            rep.error(where, f"[{section}] {key} = {value!r} is not HOST:PORT")
    for section in ("journal", "snapshot"):
        d = cfg.get(section, {}).get("dir")
        if isinstance(d, str) and not d.startswith(STATE_DIR + "/"):
            rep.error(where, f"[{section}] dir = {d!r} is outside the state volume {STATE_DIR}")
    listen = host_port(cfg.get("listen", {}).get("addr", "") or "")
    control = host_port(cfg.get("control", {}).get("addr", "") or "")
    for name, hp in (("listen", listen), ("control", control)):
        if hp and hp[0] in ("127.0.0.1", "localhost", "::1"):
            rep.error(where, f"[{name}] addr binds loopback: unreachable from outside the container")
    return cfg


# ------------------------------------------------------------------------ compose model

def ports_of(svc: dict) -> list[dict]:
    return svc.get("ports") or []


def check_compose(rep: Report, root: Path, model: dict, df: dict, cfg: dict) -> None:
    where = "docker-compose.yml"
    services: dict = model.get("services", {})
    networks: dict = model.get("networks", {}) or {}
    internal_nets = {n for n, spec in networks.items() if (spec or {}).get("internal")}
    if not internal_nets:
        rep.error(where, "no network with `internal: true`")

    for name, svc in services.items():
        if "image" in svc and "build" not in svc:
            check_image_pinned(rep, f"{where} service {name}", svc["image"])

    # Every Neo4j: no published port, only internal networks, named volumes, healthcheck.
    neo4js = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("neo4j")}
    if "neo4j" not in neo4js:
        rep.error(where, "no service `neo4j` running a neo4j image")
    for name, svc in neo4js.items():
        w = f"{where} service {name}"
        if not str(svc.get("image", "")).startswith("neo4j:5"):
            rep.error(w, f"image {svc.get('image')!r} is not Neo4j 5")
        if ports_of(svc):
            rep.error(w, "publishes ports: Neo4j must be reachable only through boltward")
        nets = set((svc.get("networks") or {}).keys())
        if not nets:
            rep.error(w, "is on the default network; put it on the internal network only")
        elif nets - internal_nets:
            rep.error(w, f"is on non-internal network(s) {sorted(nets - internal_nets)}")
        if svc.get("network_mode"):
            rep.error(w, f"network_mode {svc['network_mode']!r}: use the internal network")
        mounts = {v.get("target"): v for v in svc.get("volumes") or []}
        for target in ("/data", "/logs"):
            v = mounts.get(target)
            if not v or v.get("type") != "volume" or not v.get("source"):
                rep.error(w, f"{target} is not on a named volume")
        hc = svc.get("healthcheck") or {}
        if not hc.get("test") or hc.get("disable"):
            rep.error(w, "has no healthcheck (boltward waits for service_healthy)")
        if not (svc.get("environment") or {}).get("NEO4J_AUTH"):
            rep.error(w, "NEO4J_AUTH is not set")

    b = services.get("boltward")
    if not b:
        rep.error(where, "no service `boltward`")
        return
    w = f"{where} service boltward"
    build = b.get("build") or {}
    if not build:
        rep.error(w, "is not built from docker/Dockerfile")
    else:
        if Path(build.get("context", "")).resolve() != root.resolve():
            rep.error(w, f"build context {build.get('context')!r} is not the repository root")
        if build.get("dockerfile") != "docker/Dockerfile":
            rep.error(w, f"build dockerfile {build.get('dockerfile')!r} is not docker/Dockerfile")
    dep = (b.get("depends_on") or {}).get("neo4j") or {}
    if dep.get("condition") != "service_healthy":
        rep.error(w, "does not wait for neo4j to be healthy (depends_on condition: service_healthy)")
    nets = set((b.get("networks") or {}).keys())
    if not nets & internal_nets:
        rep.error(w, "is not on the internal network, so it cannot reach Neo4j")
    if not nets - internal_nets:
        rep.error(w, "is on internal networks only, so nothing can reach it")

    published: dict[int, dict] = {}
    for p in ports_of(b):
        published[int(p.get("target"))] = p
    if set(published) != {BOLT_PORT, CONTROL_PORT}:
        rep.error(w, f"publishes container ports {sorted(published)}; expected exactly "
                     f"{BOLT_PORT} (Bolt) and {CONTROL_PORT} (control)")
    ctl = published.get(CONTROL_PORT)
    if ctl and ctl.get("host_ip") != "127.0.0.1":
        rep.error(w, f"control port {CONTROL_PORT} is published on {ctl.get('host_ip') or 'all interfaces'}; "
                     "bind it to 127.0.0.1")
    for port in published:
        if port not in df.get("exposed", set()):
            rep.error(w, f"publishes {port}, which the Dockerfile does not EXPOSE")

    # Other services may publish only on loopback.
    for name, svc in services.items():
        if name == "boltward":
            continue
        for p in ports_of(svc):
            if p.get("host_ip") != "127.0.0.1" and name not in neo4js:
                rep.error(f"{where} service {name}",
                          f"publishes {p.get('target')} on {p.get('host_ip') or 'all interfaces'}; "
                          "only boltward's Bolt port may be public")

    mounts = {v.get("target"): v for v in b.get("volumes") or []}
    conf = mounts.get(CONFIG_PATH)
    expected_src = (root / "docker" / "boltward.toml").resolve()
    if not conf:
        rep.error(w, f"does not mount its config at {CONFIG_PATH}")
    else:
        if conf.get("type") != "bind" or Path(conf.get("source", "")).resolve() != expected_src:
            rep.error(w, f"{CONFIG_PATH} is not a bind mount of ./docker/boltward.toml")
        if not conf.get("read_only"):
            rep.error(w, f"{CONFIG_PATH} is mounted read-write; mount it read-only")
    state = mounts.get(STATE_DIR)
    if not state or state.get("type") != "volume" or not state.get("source"):
        rep.error(w, f"{STATE_DIR} (journal + snapshots) is not on a named volume")

    command = b.get("command") or df.get("cmd") or []
    if "--config" in command:
        i = command.index("--config")
        if i + 1 >= len(command) or command[i + 1] != CONFIG_PATH:
            rep.error(w, f"`--config` does not point at the mounted {CONFIG_PATH}")
    else:
        rep.error(w, "command does not pass --config")
    if "BOLTWARD_CONTROL_TOKEN" not in (b.get("environment") or {}):
        rep.error(w, "BOLTWARD_CONTROL_TOKEN is not passed from the host environment")

    # The example config must agree with the compose wiring.
    if cfg:
        listen = host_port(cfg.get("listen", {}).get("addr", "") or "")
        control = host_port(cfg.get("control", {}).get("addr", "") or "")
        upstream = host_port(cfg.get("upstream", {}).get("addr", "") or "")
        if listen and listen[1] != BOLT_PORT:
            rep.error("docker/boltward.toml", f"[listen] addr port {listen[1]} != published target {BOLT_PORT}")
        if control and control[1] != CONTROL_PORT:
            rep.error("docker/boltward.toml", f"[control] addr port {control[1]} != published target {CONTROL_PORT}")
        if upstream and upstream[0] not in neo4js:
            rep.error("docker/boltward.toml",
                      f"[upstream] addr host {upstream[0]!r} is not a Neo4j service of the compose file")
        for section in ("journal", "snapshot"):
            d = cfg.get(section, {}).get("dir")
            if isinstance(d, str) and state and not d.startswith(state.get("target", "") + "/"):
                rep.error("docker/boltward.toml", f"[{section}] dir {d!r} is not on the state volume")

    prom = services.get("prometheus")
    if prom is None:
        rep.warn(where, "no prometheus service (profile monitoring)")
    else:
        w = f"{where} service prometheus"
        if "monitoring" not in (prom.get("profiles") or []):
            rep.error(w, "is not in the `monitoring` profile")
        pm = {v.get("target"): v for v in prom.get("volumes") or []}
        pc = pm.get("/etc/prometheus/prometheus.yml")
        if not pc or Path(pc.get("source", "")).resolve() != (root / "docker/prometheus.yml").resolve():
            rep.error(w, "does not mount ./docker/prometheus.yml at /etc/prometheus/prometheus.yml")
        if not set((prom.get("networks") or {}).keys()) & set((b.get("networks") or {}).keys()):
            rep.error(w, "shares no network with boltward, so it cannot scrape it")
    mirror = [n for n, s in neo4js.items() if "mirror" in (s.get("profiles") or [])]
    if not mirror:
        rep.warn(where, "no Neo4j service in the `mirror` profile")
    if "profiles" in services.get("neo4j", {}) or "profiles" in b:
        rep.error(where, "neo4j and boltward must run without selecting a profile")


def check_prometheus(rep: Report, root: Path) -> None:
    where = "docker/prometheus.yml"
    try:
        conf = yaml.safe_load((root / where).read_text())
    except (OSError, yaml.YAMLError) as e:
        rep.error(where, f"cannot parse: {e}")
        return
    if not isinstance(conf, dict):
        rep.error(where, "is not a mapping")
        return
    for job in conf.get("scrape_configs") or []:
        targets = [t for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
        if f"boltward:{CONTROL_PORT}" in targets:
            if job.get("metrics_path", "/metrics") != "/metrics":
                rep.error(where, f"job {job.get('job_name')!r} scrapes {job.get('metrics_path')!r}, not /metrics")
            return
    rep.error(where, f"no scrape job targets boltward:{CONTROL_PORT}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--compose-json", type=Path, required=True,
                    help="output of `docker-compose config --format json` with all profiles")
    args = ap.parse_args()
    root = args.root.resolve()
    rep = Report()

    ignore_path = root / ".dockerignore"
    ignore = DockerIgnore(ignore_path.read_text() if ignore_path.is_file() else "")
    df = check_dockerfile(rep, root, ignore)
    check_context(rep, root, ignore)
    cfg = check_config(rep, root)
    try:
        model = json.loads(args.compose_json.read_text())
    except (OSError, json.JSONDecodeError) as e:
        rep.error("docker-compose.yml", f"rendered model unreadable: {e}")
        model = {}
    if model:
        check_compose(rep, root, model, df, cfg)
    check_prometheus(rep, root)

    for w in rep.warnings:
        print(f"  warning: {w}")
    for e in rep.errors:
        print(f"  error: {e}")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main())
