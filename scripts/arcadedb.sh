#!/usr/bin/env bash
# Shell entry point for the ArcadeDB (Bolt) test backend: runs scripts/arcadedb.py
# with the .testenv/py6 venv made by scripts/setup-testenv.sh.
#
#   scripts/arcadedb.sh start --dir DIR [--port 0] [--http-port 0] [--password PW]
#                             [--database a --database b | --database a,b] [--heap 1g]
#   scripts/arcadedb.sh stop --dir DIR [--timeout 30]
#   scripts/arcadedb.sh status --dir DIR
#
# `start` prints KEY=VALUE lines (BOLT_PORT, HTTP_PORT, PID, BOLT_URI, ...) on
# stdout and writes them to DIR/server.env; everything binds 127.0.0.1 only.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TESTENV="${BOLTWARD_TESTENV:-$REPO_ROOT/.testenv}"
PY="$TESTENV/py6/bin/python"
if [ ! -x "$PY" ]; then
    echo "arcadedb: $PY not found; run scripts/setup-testenv.sh first" >&2
    exit 1
fi
exec "$PY" "$SCRIPT_DIR/arcadedb.py" "$@"
