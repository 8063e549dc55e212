#!/usr/bin/env bash
# Direct vs HAProxy (TCP mode) vs boltward against the same local Bolt server, in one run:
#   (a) one query streaming 1,000,000 small records: throughput
#   (b) 10,000 sequential RETURN 1 round trips: p50 / p99 latency
#   (c) memory per idle authenticated connection with 1,000 and 10,000 connections
# Prints a markdown table. Needs root for apt (haproxy) and a raised fd limit.
#
#   scripts/bench-proxy.sh [RECORDS] [ITERATIONS] [IDLE_COUNTS]
set -euo pipefail
cd "$(dirname "$0")/.."

records="${1:-1000000}"
iterations="${2:-10000}"
# A proxy holds two descriptors per connection: with a hard limit of 20,000 open files
# (containers often cannot raise it), 9,000 is the largest round count that fits.
idle_counts="${3:-1000 9000}"
password="bench-password"
work="$(mktemp -d)"
ulimit -n "$(ulimit -Hn)"

scripts/setup-testenv.sh >&2
if ! command -v haproxy >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq haproxy >&2
fi
cargo build --release --locked --bin boltward --example loadgen >&2
loadgen=target/release/examples/loadgen

pids=()
# Several boltwards run at once: their control ports take free ports.
export BOLTWARD_CONTROL_ADDR=127.0.0.1:0
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    scripts/arcadedb.sh stop --dir "$work/db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

scripts/arcadedb.sh start --dir "$work/db" --port 0 --password "$password" --database neo4j \
    --heap 2g --full-jit --watch-pid $$ > "$work/db.env"
# shellcheck disable=SC1091
. "$work/db.env"
server="127.0.0.1:$BOLT_PORT"

BOLTWARD_JOURNAL_DIR="$work/journal-plain" BOLTWARD_LOG=warn target/release/boltward serve --listen 127.0.0.1:0 --upstream "$server" > "$work/bw.out" 2>"$work/bw.err" &
pids+=($!)
bw_pid=$!
for _ in $(seq 50); do grep -q BOLTWARD_LISTEN "$work/bw.out" && break; sleep 0.1; done
boltward="$(sed -n 's/BOLTWARD_LISTEN=//p' "$work/bw.out")"

# The same proxy with a policy in force (every RUN classified and decided).
cat > "$work/policy.toml" <<'TOML'
[policy]
default = "deny"
[[policy.rules]]
name = "bench"
actors = { principals = ["root"] }
allow = ["read", "write"]
TOML
BOLTWARD_JOURNAL_DIR="$work/journal-governed" BOLTWARD_LOG=warn target/release/boltward serve --listen 127.0.0.1:0 --upstream "$server" --config "$work/policy.toml" > "$work/bwp.out" 2>"$work/bwp.err" &
pids+=($!)
for _ in $(seq 50); do grep -q BOLTWARD_LISTEN "$work/bwp.out" && break; sleep 0.1; done
governed="$(sed -n 's/BOLTWARD_LISTEN=//p' "$work/bwp.out")"

hp_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/haproxy.cfg" <<CFG
global
    maxconn 9800
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
frontend bolt
    bind 127.0.0.1:$hp_port
    maxconn 9800
    default_backend neo
backend neo
    server s1 $server maxconn 9800
CFG
haproxy -f "$work/haproxy.cfg" -db >&2 &
pids+=($!)
hp_pid=$!
haproxy="127.0.0.1:$hp_port"
sleep 0.5

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

declare -A thr p50 p99
for target in direct haproxy boltward governed; do
    case $target in direct) addr=$server ;; haproxy) addr=$haproxy ;; boltward) addr=$boltward ;; governed) addr=$governed ;; esac
    best=0
    for _ in 1 2 3; do
        r=$("$loadgen" stream "$addr" "$password" "$records" | field records_per_s)
        best=$(python3 -c "print(max($best, $r))")
    done
    thr[$target]=$best
    out=$("$loadgen" latency "$addr" "$password" "$iterations")
    p50[$target]=$(echo "$out" | field p50_us)
    p99[$target]=$(echo "$out" | field p99_us)
done

echo "## Proxy benchmark ($(date -u +%F), $(nproc) cores)"
echo
echo "| target | stream $records records (records/s) | vs direct | RETURN 1 p50 (µs) | p99 (µs) | added p50 (µs) |"
echo "|---|---|---|---|---|---|"
for target in direct haproxy boltward governed; do
    ratio=$(python3 -c "print(f'{${thr[$target]}/${thr[direct]}*100:.1f}%')")
    added=$(python3 -c "print(f'{${p50[$target]}-${p50[direct]}:.1f}')")
    echo "| $target | ${thr[$target]} | $ratio | ${p50[$target]} | ${p99[$target]} | $added |"
done
echo
echo "| proxy | idle connections | RSS before (KiB) | RSS after (KiB) | per connection (KiB) |"
echo "|---|---|---|---|---|"
for n in $idle_counts; do
    for target in haproxy boltward; do
        case $target in haproxy) addr=$haproxy pid=$hp_pid ;; boltward) addr=$boltward pid=$bw_pid ;; esac
        before=$(rss_kib "$pid")
        fifo="$work/hold.$target.$n"
        mkfifo "$fifo"
        "$loadgen" idle "$addr" "$password" "$n" < "$fifo" > "$work/idle.out" &
        holder=$!
        exec 9>"$fifo"
        for _ in $(seq 600); do grep -q "open=" "$work/idle.out" 2>/dev/null && break; sleep 0.2; done
        sleep 1
        after=$(rss_kib "$pid")
        exec 9>&-
        wait "$holder" || true
        per=$(python3 -c "print(f'{($after-$before)/$n:.1f}')")
        echo "| $target | $n | $before | $after | $per |"
        sleep 2
    done
done
