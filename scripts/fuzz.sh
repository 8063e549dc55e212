#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 30 s each).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Installs cargo-fuzz from crates.io if missing. Uses the nightly toolchain when rustup
# has one; otherwise the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs a few
# unstable rustc flags). Exits non-zero if any target finds a crash; the crashing input
# is left in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-30}"
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...] (SECONDS must be a number, got '$secs')" >&2
    exit 2
fi
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(handshake_client handshake_server chunk packstream message roundtrip cypher journal snapshot session)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet
fi

toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

cd fuzz
cargo "${toolchain[@]}" fuzz build -O
passed=0
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log="$(mktemp)"
    if cargo "${toolchain[@]}" fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
        runs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
        echo "fuzz: $t ok, $runs executions in ${secs}s"
        passed=$((passed + 1))
    else
        echo "fuzz: $t FAILED"
        tail -40 "$log"
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
