#!/usr/bin/env bash
# End-to-end check of the test environment: starts an ArcadeDB Bolt backend on a
# free loopback port (two databases), runs the Python drivers 6.x and 5.28.x and
# the JS drivers 5.x and 6.x against it, then stops it and checks it is gone.
# Needs scripts/setup-testenv.sh to have run.
#
# Usage: scripts/smoke-testenv.sh
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TESTENV="${BOLTWARD_TESTENV:-$REPO_ROOT/.testenv}"
PW="smoke-test-pw"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/boltward-smoke.XXXXXX")"

cleanup() {
    "$SCRIPT_DIR/arcadedb.sh" stop --dir "$DIR" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

"$SCRIPT_DIR/arcadedb.sh" start --dir "$DIR" --password "$PW" --database smoke_a,smoke_b > "$DIR/start.out"
cat "$DIR/start.out"
PORT="$(sed -n 's/^BOLT_PORT=//p' "$DIR/start.out")"
PID="$(sed -n 's/^PID=//p' "$DIR/start.out")"

"$TESTENV/py6/bin/python" "$SCRIPT_DIR/testenv_smoke.py" "$PORT" "$PW" smoke_a smoke_b
"$TESTENV/py528/bin/python" "$SCRIPT_DIR/testenv_smoke.py" "$PORT" "$PW" smoke_a smoke_b

(cd "$TESTENV/node" && node - "$PORT" "$PW" <<'EOF'
const [port, pw] = process.argv.slice(2);
(async () => {
  for (const name of ['neo4j-driver-5', 'neo4j-driver-6']) {
    const neo4j = require(name);
    const version = require(`${name}/package.json`).version;
    for (const scheme of ['bolt', 'neo4j']) {
      const d = neo4j.driver(`${scheme}://127.0.0.1:${port}`, neo4j.auth.basic('root', pw));
      try {
        const { records } = await d.executeQuery('RETURN 1 AS one', {}, { database: 'smoke_a' });
        if (records[0].get('one').toNumber() !== 1) throw new Error('RETURN 1 gave ' + records[0].get('one'));
        console.log(`ok: js ${name} ${version}: ${scheme}:// RETURN 1`);
      } finally {
        await d.close();
      }
    }
  }
})().catch((e) => { console.error('FAIL:', e); process.exit(1); });
EOF
)

"$SCRIPT_DIR/arcadedb.sh" stop --dir "$DIR"
# A zombie awaiting init's reaping has exited (kill -0 still succeeds on it).
state="$(ps -o stat= -p "$PID" 2>/dev/null || true)"
if [ -n "$state" ] && [ "${state#Z}" = "$state" ]; then
    echo "FAIL: server pid $PID still running after stop" >&2
    exit 1
fi
echo "ok: server pid $PID gone"
echo "smoke-testenv: all checks passed"
