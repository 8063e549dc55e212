#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need, checks style,
# validates the packaging, fuzzes every parser briefly, then runs every Rust test
# (unit, golden, captures, property, Python differential, integration with real servers
# and drivers).
#
#   scripts/test.sh            # full suite
#   FUZZ_SECONDS=0 scripts/test.sh   # skip the fuzz step
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test environment (drivers, ArcadeDB Bolt server)"
scripts/setup-testenv.sh

step "formatting and lints"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)
cargo clippy --workspace --all-targets --locked -- -D warnings

step "packaging (docker files, no daemon)"
scripts/check-docker.sh

if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
    step "fuzzing every target for ${FUZZ_SECONDS:-20}s"
    scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi

step "oracle self-test (Neo4j's Cypher front end)"
node --test oracle/test/

step "cargo test"
cargo test --workspace --locked
