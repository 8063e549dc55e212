#!/usr/bin/env bash
# Journaled commits vs the same commits with the journal off, through boltward, against
# the same local Bolt server, in one run: explicit write transactions (BEGIN+RUN+PULL,
# COMMIT) with 1 and 32 concurrent writers, p50/p99 per transaction, fsyncs per commit
# under load and the journal's disk use. Prints a markdown table.
#
#   scripts/bench-journal.sh [TX_PER_WRITER_1] [TX_PER_WRITER_32] [ROUNDS]
#
# The journal directory is on the same disk as the repository (BENCH_JOURNAL_DIR
# overrides it), because fsync cost is the point.
set -euo pipefail
cd "$(dirname "$0")/.."

n1="${1:-2000}"
n32="${2:-200}"
rounds="${3:-2}"
password="bench-password"
work="$(mktemp -d)"
jdir="${BENCH_JOURNAL_DIR:-$PWD/target/bench-journal}"
rm -rf "$jdir"

scripts/setup-testenv.sh >&2
cargo build --release --locked --bin boltward --example loadgen >&2
loadgen=target/release/examples/loadgen

pids=()
export BOLTWARD_CONTROL_ADDR=127.0.0.1:0
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    scripts/arcadedb.sh stop --dir "$work/db" >/dev/null 2>&1 || true
    rm -rf "$work" "$jdir"
}
trap cleanup EXIT

scripts/arcadedb.sh start --dir "$work/db" --port 0 --password "$password" --database neo4j \
    --heap 2g --full-jit --watch-pid $$ > "$work/db.env"
# shellcheck disable=SC1091
. "$work/db.env"
server="127.0.0.1:$BOLT_PORT"

start() { # name, extra env...
    local name=$1
    shift
    env "$@" BOLTWARD_LOG=warn target/release/boltward serve --listen 127.0.0.1:0 \
        --upstream "$server" > "$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    for _ in $(seq 100); do grep -q BOLTWARD_LISTEN "$work/$name.out" && break; sleep 0.1; done
}
start on BOLTWARD_JOURNAL_DIR="$jdir/commit"
start interval BOLTWARD_JOURNAL_DIR="$jdir/interval" BOLTWARD_JOURNAL_SYNC=interval BOLTWARD_JOURNAL_SYNC_INTERVAL_MS=10
start off BOLTWARD_JOURNAL_ENABLED=false BOLTWARD_JOURNAL_DIR="$work/unused"
declare -A addr control
for t in on interval off; do
    addr[$t]="$(sed -n 's/BOLTWARD_LISTEN=//p' "$work/$t.out")"
    control[$t]="$(sed -n 's/BOLTWARD_CONTROL=//p' "$work/$t.out")"
done
outcome='boltward_journal_records_total{kind="outcome"}'

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
metric() { # name, control address; 0 when absent
    curl -fsS "http://$2/metrics" | awk -v m="$1" '$1 == m {v = $2} END {print v + 0}'
}

declare -A p50 p99 tps fsync_per
targets=(off on interval)
for w in 1 32; do
    n=$n1
    [ "$w" = 32 ] && n=$n32
    for target in "${targets[@]}"; do
        p50[$target$w]=999999999
        p99[$target$w]=999999999
        tps[$target$w]=0
    done
    for r in $(seq "$rounds"); do
        for target in "${targets[@]}"; do
            f0=$(metric boltward_journal_fsyncs_total "${control[$target]}")
            c0=$(metric "$outcome" "${control[$target]}")
            out=$("$loadgen" commits "${addr[$target]}" "$password" "$n" "$w")
            echo "round $r $target writers=$w: $out" >&2
            a=$(echo "$out" | field p50_us); b=$(echo "$out" | field p99_us); t=$(echo "$out" | field tx_per_s)
            # Best of the rounds: the least disturbed run on a shared machine.
            if awk "BEGIN {exit !($a < ${p50[$target$w]})}"; then p50[$target$w]=$a; fi
            if awk "BEGIN {exit !($b < ${p99[$target$w]})}"; then p99[$target$w]=$b; fi
            if awk "BEGIN {exit !($t > ${tps[$target$w]})}"; then tps[$target$w]=$t; fi
            f1=$(metric boltward_journal_fsyncs_total "${control[$target]}")
            c1=$(metric "$outcome" "${control[$target]}")
            fsync_per[$target$w]=$(awk "BEGIN {d = $c1 - $c0; if (d > 0) printf \"%.2f\", ($f1 - $f0) / d; else print \"-\"}")
        done
    done
done

commits=$(metric "$outcome" "${control[on]}")
bytes=$(metric boltward_journal_bytes_total "${control[on]}")
allocated=$(du -sb "$jdir/commit" | cut -f1)
echo
echo "| writers | journal | tx/s | p50 µs | p99 µs | added p50 µs | added p99 µs | fsyncs per commit |"
echo "|--------:|---------|-----:|-------:|-------:|-------------:|-------------:|------------------:|"
for w in 1 32; do
    for target in "${targets[@]}"; do
        if [ "$target" = off ]; then
            echo "| $w | off | ${tps[off$w]} | ${p50[off$w]} | ${p99[off$w]} | | | |"
        else
            echo "| $w | $target | ${tps[$target$w]} | ${p50[$target$w]} | ${p99[$target$w]} | $(awk "BEGIN {printf \"%.1f\", ${p50[$target$w]} - ${p50[off$w]}}") | $(awk "BEGIN {printf \"%.1f\", ${p99[$target$w]} - ${p99[off$w]}}") | ${fsync_per[$target$w]} |"
        fi
    done
done
echo
echo "journal (sync = commit): $commits committed writes, $bytes bytes of records ($(awk "BEGIN {printf \"%.0f\", $bytes / $commits}") bytes per journaled transaction, intent + outcome); $allocated bytes on disk with the preallocated tail"
