#!/usr/bin/env bash
# The classifier against another revision (default: the last commit before the parser,
# 8e44755), side by side: both builds of examples/classify_time run in turn, A B A B …,
# and the medians of the rounds are printed per shape.
#
#   scripts/bench-classify.sh [BASE_REV] [SIZE_BYTES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-8e44755}"
size="${2:-65536}"
rounds="${3:-5}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach "$work/base" "$base" >/dev/null 2>&1
mkdir -p "$work/base/examples" "$work/base/src/cypher"
cp examples/classify_time.rs "$work/base/examples/"
cp src/cypher/shapes.rs "$work/base/src/cypher/shapes.rs"
cargo build --release --quiet --example classify_time
cp target/release/examples/classify_time "$work/new"
(cd "$work/base" && CARGO_TARGET_DIR="$PWD/../target-base" cargo build --release --quiet --example classify_time)
cp "$work/target-base/release/examples/classify_time" "$work/old"

for r in $(seq "$rounds"); do
    "$work/old" "$size" 1 | sed "s/^/old /" >>"$work/runs"
    "$work/new" "$size" 1 | sed "s/^/new /" >>"$work/runs"
done
python3 - "$work/runs" "$base" "$size" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    who, shape, ns = line.split()
    runs[(shape, who)].append(int(ns))
shapes = list(dict.fromkeys(s for s, _ in runs))
print(f"| shape ({sys.argv[3]} bytes; statement: 200 bytes) | {sys.argv[2]} | this tree |")
print("|---|---:|---:|")
def fmt(ns):
    return f"{ns/1e3:.2f} µs" if ns < 1e6 else f"{ns/1e6:.2f} ms"
for s in shapes:
    print(f"| {s} | {fmt(statistics.median(runs[(s, 'old')]))} | {fmt(statistics.median(runs[(s, 'new')]))} |")
PY
