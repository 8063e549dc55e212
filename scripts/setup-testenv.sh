#!/usr/bin/env bash
# Install everything boltward's integration tests need into ./.testenv/
# (gitignored, under the repo root). Idempotent: a stamp file keyed by the
# pinned versions (and this script's own content) makes a rerun a no-op.
#
#   .testenv/py6/    venv: neo4j (Python driver 6.x) + arcadedb-embedded
#                    (ArcadeDB server with Bolt plugin and its own JRE)
#   .testenv/py528/  venv: neo4j (Python driver 5.28.x)
#   .testenv/node/   npm project: neo4j-driver 5.28.x and 6.x side by side,
#                    as the aliases neo4j-driver-5 and neo4j-driver-6
#   prometheus       Debian's package (system-wide), for the real scrape test
#   oracle/node_modules  npm ci of oracle/ (Neo4j's Cypher front end, the classifier's
#                    independent judge; see oracle/README.md)
#
# Usage: scripts/setup-testenv.sh [--force]
# Env:   BOLTWARD_TESTENV  (default: <repo>/.testenv)
set -euo pipefail

# ---- pinned versions (change here; the stamp follows) ----------------------
NEO4J_PY6_VERSION="6.4.1"
NEO4J_PY528_VERSION="5.28.8"
ARCADEDB_VERSION="26.10.2.post1"
NEO4J_JS5_VERSION="5.28.3"
NEO4J_JS6_VERSION="6.3.0"
# -----------------------------------------------------------------------------

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TESTENV="${BOLTWARD_TESTENV:-$REPO_ROOT/.testenv}"

FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "setup-testenv: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "setup-testenv: $*" >&2; }

script_sum() { sha256sum "$SCRIPT_DIR/setup-testenv.sh" | cut -c1-16; }
oracle_sum() { sha256sum "$REPO_ROOT/oracle/package-lock.json" | cut -c1-16; }
STAMP_KEY="py6=neo4j-$NEO4J_PY6_VERSION,arcadedb-embedded-$ARCADEDB_VERSION;py528=neo4j-$NEO4J_PY528_VERSION;js=neo4j-driver-$NEO4J_JS5_VERSION,neo4j-driver-$NEO4J_JS6_VERSION;oracle=$(oracle_sum);script=$(script_sum)"
STAMP_FILE="$TESTENV/.stamp"

# Fast path: already installed with exactly these pins, and the key entry
# points are still there.
if [ "$FORCE" = 0 ] && [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$STAMP_KEY" ] \
    && [ -x "$TESTENV/py6/bin/python" ] && [ -x "$TESTENV/py528/bin/python" ] \
    && [ -d "$TESTENV/node/node_modules/neo4j-driver-5" ] \
    && [ -d "$TESTENV/node/node_modules/neo4j-driver-6" ] \
    && [ -d "$REPO_ROOT/oracle/node_modules/@neo4j-cypher/language-support" ] \
    && command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    log "up to date ($TESTENV)"
    exit 0
fi

# ---- system prerequisites (only installed when missing) --------------------
APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing $*, and no apt-get to install it with"; exit 1
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            log "missing $*; run as root or install it: apt-get install $*"; exit 1
        fi
    fi
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    apt_install python3 python3-venv python3-pip
fi
# Drivers and arcadedb-embedded need Python >= 3.10.
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    log "$PYTHON is older than 3.10; set PYTHON=/path/to/python3.10+"; exit 1
fi
# python3 -m venv needs ensurepip (Debian splits it into python3-venv).
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt_install "python${pyver}-venv" || apt_install python3-venv
fi
# A real Prometheus server scrapes boltward in tests/prometheus.rs (Debian's package;
# its service is not started: the test runs its own on a free port).
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    apt_install prometheus
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
    log "node $(node --version) is too old: neo4j-driver 6 needs node >= 18"; exit 1
fi

mkdir -p "$TESTENV"
rm -f "$STAMP_FILE"

# ---- Python venvs -----------------------------------------------------------
make_venv() { # dir, pip requirements...
    local dir="$1"; shift
    if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import sys' >/dev/null 2>&1; then
        rm -rf "$dir"
        log "creating venv $dir"
        "$PYTHON" -m venv "$dir"
    fi
    log "pip install into $dir: $*"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/python" -m pip install -q --no-input "$@"
}

make_venv "$TESTENV/py6" "neo4j==$NEO4J_PY6_VERSION" "arcadedb-embedded==$ARCADEDB_VERSION"
make_venv "$TESTENV/py528" "neo4j==$NEO4J_PY528_VERSION"

# Sanity: the bundled JRE and jars are where scripts/arcadedb.sh expects them.
ARCADE_PKG="$("$TESTENV/py6/bin/python" - <<'EOF'
import importlib.util, os
spec = importlib.util.find_spec("arcadedb_embedded")
print(os.path.dirname(spec.origin))
EOF
)"
if [ ! -x "$ARCADE_PKG/jre/bin/java" ] || ! ls "$ARCADE_PKG"/jars/arcadedb-bolt-*.jar >/dev/null 2>&1; then
    log "arcadedb-embedded has no jre/bin/java or bolt jar under $ARCADE_PKG"; exit 1
fi
"$ARCADE_PKG/jre/bin/java" -version >/dev/null 2>&1 || { log "bundled JRE does not run"; exit 1; }

# ---- Node project -----------------------------------------------------------
NODE_DIR="$TESTENV/node"
mkdir -p "$NODE_DIR"
cat > "$NODE_DIR/package.json" <<EOF
{
  "name": "boltward-testenv-node",
  "private": true,
  "description": "JS Bolt drivers for boltward integration tests (generated by scripts/setup-testenv.sh)",
  "dependencies": {
    "neo4j-driver-5": "npm:neo4j-driver@$NEO4J_JS5_VERSION",
    "neo4j-driver-6": "npm:neo4j-driver@$NEO4J_JS6_VERSION"
  }
}
EOF
log "npm install in $NODE_DIR (neo4j-driver $NEO4J_JS5_VERSION, $NEO4J_JS6_VERSION)"
(cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error >/dev/null)

check_js() { # alias, expected version
    local got
    got="$(cd "$NODE_DIR" && node -p "require('$1/package.json').version")"
    [ "$got" = "$2" ] || { log "$1 is $got, expected $2"; exit 1; }
    (cd "$NODE_DIR" && node -e "const n=require('$1'); if (typeof n.driver!=='function') process.exit(1)") \
        || { log "$1 does not load under node $(node --version)"; exit 1; }
}
check_js neo4j-driver-5 "$NEO4J_JS5_VERSION"
check_js neo4j-driver-6 "$NEO4J_JS6_VERSION"

log "npm ci in oracle/ (@neo4j-cypher/language-support, the classifier's judge)"
(cd "$REPO_ROOT/oracle" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

check_py() { # venv, expected neo4j version
    local got
    got="$("$1/bin/python" -c 'import neo4j; print(neo4j.__version__)')"
    [ "$got" = "$2" ] || { log "$1: neo4j is $got, expected $2"; exit 1; }
}
check_py "$TESTENV/py6" "$NEO4J_PY6_VERSION"
check_py "$TESTENV/py528" "$NEO4J_PY528_VERSION"

printf '%s' "$STAMP_KEY" > "$STAMP_FILE"
log "done: $TESTENV"
