#!/usr/bin/env bash
# What committing auto-commit writes through boltward costs (docs/journal-format.md,
# "Order"): auto-commit writes (RUN CREATE + PULL) against one ArcadeDB, interleaved
# rounds (A B C D A B C D …), medians of the rounds' p50/p99:
#   direct      the server itself
#   off         boltward, journal off (auto-commit writes forwarded as they are)
#   on          boltward, journal on (auto-commit writes run in a transaction boltward
#               commits after taking their ticket)
#   before      boltward at BEFORE_REV (default 8b9eba0, before that change), journal on
#
#   scripts/bench-autocommit.sh [PER_WRITER_1] [PER_WRITER_16] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."

n1="${1:-1000}"
n16="${2:-100}"
rounds="${3:-5}"
before_rev="${BEFORE_REV:-8b9eba0}"
password="bench-password"
work="$(mktemp -d)"

scripts/setup-testenv.sh >&2
cargo build --release --locked --bin boltward --example loadgen >&2
loadgen=target/release/examples/loadgen
before_dir="target/bench-before-$before_rev"
if [ ! -x "$before_dir/target/release/boltward" ]; then
    rm -rf "$before_dir"
    git worktree add --detach "$before_dir" "$before_rev" >&2
    (cd "$before_dir" && CARGO_TARGET_DIR="$PWD/target" cargo build --release --locked --bin boltward >&2)
fi

pids=()
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

start() { # name, binary, extra env...
    local name=$1 bin=$2
    shift 2
    env "$@" BOLTWARD_LOG=warn "$bin" serve --listen 127.0.0.1:0 \
        --upstream "$server" > "$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    for _ in $(seq 100); do grep -q BOLTWARD_LISTEN "$work/$name.out" && break; sleep 0.1; done
}
start on target/release/boltward BOLTWARD_JOURNAL_DIR="$work/j-on"
start off target/release/boltward BOLTWARD_JOURNAL_ENABLED=false BOLTWARD_JOURNAL_DIR="$work/unused"
start before "$before_dir/target/release/boltward" BOLTWARD_JOURNAL_DIR="$work/j-before"
declare -A addr
addr[direct]="$server"
for t in on off before; do addr[$t]="$(sed -n 's/BOLTWARD_LISTEN=//p' "$work/$t.out")"; done

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

targets=(direct off on before)
declare -A p50s p99s tpss
for w in 1 16; do
    n=$n1
    [ "$w" = 16 ] && n=$n16
    for r in $(seq "$rounds"); do
        for t in "${targets[@]}"; do
            out=$("$loadgen" autocommits "${addr[$t]}" "$password" "$n" "$w")
            echo "round $r $t writers=$w: $out" >&2
            p50s[$t$w]+="$(echo "$out" | field p50_us) "
            p99s[$t$w]+="$(echo "$out" | field p99_us) "
            tpss[$t$w]+="$(echo "$out" | field tx_per_s) "
        done
    done
done

echo
echo "| writers | target | writes/s | p50 µs | p99 µs |"
echo "|--------:|--------|---------:|-------:|-------:|"
for w in 1 16; do
    for t in "${targets[@]}"; do
        m() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
        echo "| $w | $t | $(m "${tpss[$t$w]}") | $(m "${p50s[$t$w]}") | $(m "${p99s[$t$w]}") |"
    done
done
echo
echo "medians of $rounds interleaved rounds; $n1 writes for 1 writer, 16 × $n16 for 16"
