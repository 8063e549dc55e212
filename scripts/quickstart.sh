#!/usr/bin/env bash
# One command from a fresh checkout to a working proxy: installs the test server
# (ArcadeDB's Bolt server from PyPI, with its own JRE), starts it on a free loopback port,
# builds boltward, and runs it in front of the server on 127.0.0.1:7687 (or $BOLTWARD_PORT).
# Ctrl-C stops both.
#
#   scripts/quickstart.sh
#
# Then connect any Neo4j driver to bolt://127.0.0.1:7687 (or neo4j://) with user "root"
# and password "boltward-quickstart" (database "neo4j").
set -euo pipefail
cd "$(dirname "$0")/.."

port="${BOLTWARD_PORT:-7687}"
password="${QUICKSTART_PASSWORD:-boltward-quickstart}"
data="${QUICKSTART_DIR:-.testenv/quickstart}"

scripts/setup-testenv.sh
cargo build --release --locked --bin boltward

mkdir -p "$data"
scripts/arcadedb.sh stop --dir "$data" >/dev/null 2>&1 || true
scripts/arcadedb.sh start --dir "$data" --port 0 --password "$password" \
    --database neo4j --watch-pid $$ > "$data/server.env"
# shellcheck disable=SC1091
. "$data/server.env"

cleanup() {
    [ -n "${bw_pid:-}" ] && kill "$bw_pid" 2>/dev/null && wait "$bw_pid" 2>/dev/null
    scripts/arcadedb.sh stop --dir "$data" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

target/release/boltward serve --listen "127.0.0.1:$port" --upstream "127.0.0.1:$BOLT_PORT" &
bw_pid=$!
sleep 0.5
kill -0 "$bw_pid" 2>/dev/null || { echo "boltward did not start (is port $port free? set BOLTWARD_PORT)" >&2; exit 1; }
cat <<MSG

  boltward is running in front of a local Bolt server (ArcadeDB on 127.0.0.1:$BOLT_PORT).

    connect to:  bolt://127.0.0.1:$port   (or neo4j://127.0.0.1:$port)
    user:        root
    password:    $password
    database:    neo4j

  Ctrl-C stops both.
MSG
wait "$bw_pid"
