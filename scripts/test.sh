#!/usr/bin/env bash
# Runs every check and test of PolicyVault against throwaway Redis and PostgreSQL servers
# on project ports (Redis 6391, PostgreSQL 5441, data under var/test/). Installs what is
# missing on Debian, stops what it started (also on failure or Ctrl-C), exits non-zero on
# any failure. Re-runnable.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PV_ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/policyvault-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REDIS_PORT="${PV_TEST_REDIS_PORT:-6391}"
PG_PORT="${PV_TEST_PG_PORT:-5441}"
VAR="$PV_ROOT/var/test"

trap stop_all EXIT
trap 'exit 130' INT TERM

ensure_rust
ensure_redis
ensure_postgres

log "starting Redis on 127.0.0.1:$REDIS_PORT"
start_redis "$REDIS_PORT" "$VAR/redis"
log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
start_postgres "$PG_PORT" "$VAR/pg"

export PV_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PV_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test (unit, store, integration)"
cargo test --workspace --quiet 2>&1 | tee "$VAR/cargo-test.log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || die "tests failed (see $VAR/cargo-test.log)"
log "all checks passed"
