#!/usr/bin/env bash
# What mirroring costs and how fast it is (docs/PERFORMANCE.md, "Mirror"). One primary and
# two remote ArcadeDB servers on this machine; three boltwards in front of the primary:
#   plain   journal on, no remote
#   async   journal on, one async remote
#   sync    journal on, one sync remote
#
# 1. Sync-mode added commit latency: auto-commit writes (1 writer), rounds interleaved
#    plain/sync, medians of the rounds' p50/p99.
# 2. Lag under sustained load (journal commit → remote commit, from
#    boltward_replication_lag_seconds) with WRITERS writers on the async boltward, and its
#    resident memory before and after.
# 3. Catch-up after an outage: the async remote paused for OUTAGE_SECS of writes, then
#    resumed; catch-up rate as a multiple of the write rate.
#
#   scripts/bench-replication.sh [PER_WRITER] [WRITERS] [ROUNDS] [OUTAGE_SECS]
set -euo pipefail
cd "$(dirname "$0")/.."

per_writer="${1:-500}"
writers="${2:-4}"
rounds="${3:-5}"
outage="${4:-20}"
password="bench-password"
token="bench-token"
work="$(mktemp -d)"

scripts/setup-testenv.sh >&2
cargo build --release --locked --bin boltward --example loadgen >&2
bw=target/release/boltward
loadgen=target/release/examples/loadgen

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for d in primary r-async r-sync; do
        scripts/arcadedb.sh stop --dir "$work/$d" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

declare -A port
for d in primary r-async r-sync; do
    scripts/arcadedb.sh start --dir "$work/$d" --port 0 --password "$password" \
        --database neo4j --heap 1g --watch-pid $$ > "$work/$d.env"
    port[$d]="$(sed -n 's/^BOLT_PORT=//p' "$work/$d.env")"
done

start() { # name, remote dir or "", mode
    local name=$1 remote=$2 mode=$3
    {
        echo "[replication]"
        if [ -n "$remote" ]; then
            printf '[[replication.remote]]\nname = "r"\naddr = "127.0.0.1:%s"\nuser = "root"\nmode = "%s"\n' \
                "${port[$remote]}" "$mode"
        fi
    } > "$work/$name.toml"
    env BOLTWARD_LOG=warn BOLTWARD_CONTROL_TOKEN="$token" BOLTWARD_CONTROL_ADDR=127.0.0.1:0 \
        BOLTWARD_JOURNAL_DIR="$work/$name-journal" BOLTWARD_SNAPSHOT_DIR="$work/$name-snapshots" \
        BOLTWARD_RESTORE_STATE_FILE="$work/$name-restore.json" \
        BOLTWARD_SNAPSHOT_USER=root BOLTWARD_SNAPSHOT_PASSWORD="$password" \
        BOLTWARD_REPLICATION_R_PASSWORD="$password" \
        "$bw" serve --config "$work/$name.toml" --listen 127.0.0.1:0 \
        --upstream "127.0.0.1:${port[primary]}" > "$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    eval "pid_$name=$!"
    for _ in $(seq 200); do grep -q BOLTWARD_LISTEN "$work/$name.out" && break; sleep 0.1; done
}
start plain "" async
start async r-async async
start sync r-sync sync
listen() { sed -n 's/BOLTWARD_LISTEN=//p' "$work/$1.out"; }
control() { sed -n 's/BOLTWARD_CONTROL=//p' "$work/$1.out"; }
cli() { # name, args...
    local name=$1
    shift
    BOLTWARD_CONTROL_TOKEN="$token" "$bw" replication "$@" --control "$(control "$name")"
}
remote_field() { # name, field
    cli "$1" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['remotes'][0]['$2'])"
}
journal_lsn() {
    curl -s "http://$(control "$1")/metrics" | sed -n 's/^boltward_journal_lsn //p'
}
wait_caught_up() { # name
    for _ in $(seq 3000); do
        [ "$(remote_field "$1" state)" = streaming ] \
            && [ "$(remote_field "$1" applied_lsn)" = "$(journal_lsn "$1")" ] && return 0
        sleep 0.1
    done
    echo "bench: $1 did not catch up" >&2
    return 1
}
for n in async sync; do
    cli "$n" reseed r > /dev/null
    for _ in $(seq 600); do
        [ "$(remote_field "$n" state)" = streaming ] && break
        sleep 0.1
    done
done

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "== 1. sync-mode commit latency (1 writer, $per_writer auto-commit writes, $rounds rounds)"
declare -A p50s p99s
for r in $(seq "$rounds"); do
    for t in plain sync; do
        out=$("$loadgen" autocommits "$(listen "$t")" "$password" "$per_writer" 1)
        echo "round $r $t: $out" >&2
        p50s[$t]+="$(echo "$out" | field p50_us) "
        p99s[$t]+="$(echo "$out" | field p99_us) "
    done
done
for t in plain sync; do
    printf '%-6s p50 %8.0f us  p99 %8.0f us\n' "$t" \
        "$(echo "${p50s[$t]}" | tr ' ' '\n' | grep . | median)" \
        "$(echo "${p99s[$t]}" | tr ' ' '\n' | grep . | median)"
done

echo "== 2. lag under sustained load ($writers writers x $per_writer writes, async remote)"
rss() { ps -o rss= -p "$1" | tr -d ' '; }
rss_before=$(rss "$pid_async")
out=$("$loadgen" autocommits "$(listen async)" "$password" "$per_writer" "$writers")
echo "load: $out"
wait_caught_up async
rss_after=$(rss "$pid_async")
curl -s "http://$(control async)/metrics" | python3 -c '
import sys
buckets = []
total = 0
for line in sys.stdin:
    if line.startswith("boltward_replication_lag_seconds_bucket"):
        le = line.split("le=\"")[1].split("\"")[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    if line.startswith("boltward_replication_lag_seconds_count"):
        total = float(line.split()[-1])
def q(p):
    want, prev_le, prev_n = p * total, 0.0, 0.0
    for le, n in buckets:
        if n >= want:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((want - prev_n) / max(n - prev_n, 1e-9))
        prev_le, prev_n = le, n
    return prev_le
print(f"lag over {total:.0f} transactions: p50 {q(0.5) * 1e3:.1f} ms  p99 {q(0.99) * 1e3:.1f} ms (interpolated within histogram buckets)")
'
echo "boltward RSS: ${rss_before} KiB before, ${rss_after} KiB after"

echo "== 3. catch-up after a ${outage}s outage"
cli async pause r > /dev/null
start_lsn=$(remote_field async applied_lsn)
rate_out=$("$loadgen" autocommits "$(listen async)" "$password" 200 "$writers")
rate=$(echo "$rate_out" | field tx_per_s)
n=$(python3 -c "print(max(1, int($rate * $outage / $writers)))")
t0=$(date +%s.%N)
out=$("$loadgen" autocommits "$(listen async)" "$password" "$n" "$writers")
t1=$(date +%s.%N)
echo "outage writes: $out"
written=$((n * writers + 200 * writers))
cli async resume r > /dev/null
c0=$(date +%s.%N)
wait_caught_up async
c1=$(date +%s.%N)
python3 -c "
w = $written / ($t1 - $t0 + 200 * $writers / $rate)
c = $written / ($c1 - $c0)
print(f'write rate {w:.0f} tx/s; {$written} transactions applied in {$c1 - $c0:.1f} s after resume: {c:.0f} tx/s = {c / w:.1f}x the write rate')
"
echo "(from LSN $start_lsn to $(journal_lsn async))"
