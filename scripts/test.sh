#!/usr/bin/env bash
# Runs every check and test of PolicyVault against throwaway Redis and PostgreSQL servers
# on project ports (Redis 6391, PostgreSQL 5441, data under var/test/) and headless
# Chromium. Installs what is missing on Debian, stops what it started (also on failure or
# Ctrl-C), exits non-zero on any failure. Re-runnable.
#
# Last, a bounded property-based run against the OpenAPI document: schemathesis (from PyPI,
# into a venv under var/test/) generates bodies, path ids and query values for every
# operation, authenticated as a tenant admin, against `cargo run --example serve_for_fuzz`,
# and fails on any 5xx answer or any answer that violates its documented schema (every
# operation but the endless event stream).
# PV_FUZZ_MAX_EXAMPLES (default 20 per operation) and PV_FUZZ_TIMEOUT_SECS (default 600)
# bound it; PV_FUZZ=0 skips it.
#
# Then the fault drill's short version (scripts/chaos.sh --short: Redis stopped and flushed,
# PostgreSQL restarted, workers killed, Graph errors, with runs in flight); PV_CHAOS=0 skips it.
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
ensure_chromium
ensure_openssl

log "starting Redis on 127.0.0.1:$REDIS_PORT"
start_redis "$REDIS_PORT" "$VAR/redis"
log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
start_postgres "$PG_PORT" "$VAR/pg"

export PV_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PV_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# The browser tests start one chromedriver per test binary, driving headless Chromium.
export PV_CHROMEDRIVER=/usr/bin/chromedriver
export PV_CHROMIUM=/usr/bin/chromium

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test (unit, store, integration)"
cargo test --workspace --quiet 2>&1 | tee "$VAR/cargo-test.log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || die "tests failed (see $VAR/cargo-test.log)"

if [ "${PV_FUZZ:-1}" != 0 ]; then
  FUZZ_EXAMPLES="${PV_FUZZ_MAX_EXAMPLES:-20}"
  FUZZ_TIMEOUT="${PV_FUZZ_TIMEOUT_SECS:-600}"
  VENV="$VAR/venv"
  if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
    log "installing schemathesis into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed"
    "$VENV/bin/pip" install -q 'schemathesis>=4,<5' || die "pip install schemathesis failed"
  fi

  log "starting the API with data for the fuzz run (examples/serve_for_fuzz.rs)"
  cargo build --quiet --example serve_for_fuzz
  FUZZ_PIDFILE="$VAR/fuzz-server.pid"
  stop_pidfile "$FUZZ_PIDFILE"
  PV_BENCH_DATABASE_URL="$PV_TEST_DATABASE_URL" PV_BENCH_REDIS_URL="$PV_TEST_REDIS_URL" \
    "$CARGO_TARGET_DIR/debug/examples/serve_for_fuzz" >"$VAR/fuzz-server.out" 2>"$VAR/fuzz-server.log" &
  echo $! >"$FUZZ_PIDFILE"
  # Stopped before the databases it uses (it drops its own database on SIGTERM).
  PV_PIDFILES=("$FUZZ_PIDFILE" "${PV_PIDFILES[@]}")
  ready=""
  for _ in $(seq 1 1800); do
    ready=$(grep -m1 '^READY ' "$VAR/fuzz-server.out" 2>/dev/null || true)
    [ -n "$ready" ] && break
    kill -0 "$(cat "$FUZZ_PIDFILE")" 2>/dev/null || die "serve_for_fuzz exited (see $VAR/fuzz-server.log)"
    sleep 0.1
  done
  [ -n "$ready" ] || die "serve_for_fuzz was not ready within 180 s (see $VAR/fuzz-server.log)"
  read -r _ FUZZ_URL FUZZ_TOKEN FUZZ_TENANT FUZZ_SNAPSHOT FUZZ_SET FUZZ_SPARE_TOKEN <<<"$ready"
  # The admin's token and the seeded ids, so operations reach handlers with real rows
  # (other path ids, bodies and queries are generated).
  cat >"$VAR/schemathesis.toml" <<TOML
headers = { Authorization = "Bearer $FUZZ_TOKEN" }

[parameters]
"path.tenant" = "$FUZZ_TENANT"

[[operations]]
include-tag = "snapshots"
parameters = { "path.id" = "$FUZZ_SNAPSHOT" }

[[operations]]
include-tag = "backup-sets"
parameters = { "path.id" = "$FUZZ_SET" }

# Token routes revoke a spare token, never the one the fuzzer signs in with.
[[operations]]
include-path = "/api/v1/tokens/{id}"
parameters = { "path.id" = "$FUZZ_SPARE_TOKEN" }

# The event stream never ends and, with no run changing, carries only keep-alives: a
# generated request would wait forever. tests/api/auth/ and openapi.rs cover it.
[[operations]]
include-path = "/api/v1/events"
enabled = false
TOML
  log "schemathesis: $FUZZ_EXAMPLES examples per operation, at most $FUZZ_TIMEOUT s"
  set +e
  # Run from var/test/: schemathesis keeps a cache in its working directory.
  (cd "$VAR" && timeout "$FUZZ_TIMEOUT" "$VENV/bin/schemathesis" --config-file schemathesis.toml \
    run "$FUZZ_URL/api/v1/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$FUZZ_EXAMPLES" --request-timeout 30 --no-color --generation-database none \
    --report junit --report-dir schemathesis-report) 2>&1 | tee "$VAR/schemathesis.log"
  status=${PIPESTATUS[0]}
  set -e
  stop_pidfile "$FUZZ_PIDFILE"
  [ "$status" -eq 0 ] || die "the fuzz run failed or timed out (status $status; see $VAR/schemathesis.log)"
fi
if [ "${PV_CHAOS:-1}" != 0 ]; then
  # The fault drill's short version, on Redis and PostgreSQL servers of its own.
  log "fault drill (scripts/chaos.sh --short)"
  bash "$PV_ROOT/scripts/chaos.sh" --short || die "the fault drill failed (see var/chaos/)"
fi
log "all checks passed"
