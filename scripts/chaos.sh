#!/usr/bin/env bash
# The fault drill: runs an operator's bad night against the `policyvault worker` binary (2–3
# worker processes, a large live restore and other runs in flight) and prints a table per
# scenario: runs started, runs terminal, their statuses, duplicated Graph objects, duplicated
# item rows, time to recover, whether the workers stayed healthy (examples/chaos.rs).
#
#   scripts/chaos.sh            # full drill, release build (about 20 minutes on 2 cores)
#   scripts/chaos.sh --short    # five short scenarios, debug build (what scripts/test.sh runs)
#   PV_CHAOS_SCENARIOS=redis_down,worker_pause scripts/chaos.sh
#
# Scenarios: redis_down (stopped 30 s, restarted empty), redis_flushall, postgres_restart
# (pg_ctl restart -m fast), worker_kills (a worker SIGKILLed every 5 s for a minute, replaced),
# worker_pause (the worker holding the restore SIGSTOPped 40 s; it must consume again
# afterwards), graph_outage (60 s of 503), graph_errors (30 % HTTP 500 + 30 % 503 for 60 s),
# drop_after_commit (20 % of writes applied without an answer for 60 s).
#
# Bounded and local: its own Redis (port 6393) and PostgreSQL (port 5443) under var/chaos/,
# stopped by pid at the end, also on failure or Ctrl-C. Exits non-zero when a scenario
# misses the bar (every run terminal within 3 minutes of the fault clearing, the restore
# succeeded, nothing duplicated, every worker healthy without a restart).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PV_ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/policyvault-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REDIS_PORT="${PV_CHAOS_REDIS_PORT:-6393}"
PG_PORT="${PV_CHAOS_PG_PORT:-5443}"
VAR="$PV_ROOT/var/chaos"

profile=release
case "${1:-}" in
  --short) profile=debug; export PV_CHAOS_SHORT=1 ;;
  "") ;;
  -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option '$1' (use --short or nothing)" ;;
esac

trap stop_all EXIT
trap 'exit 130' INT TERM

ensure_rust
ensure_redis
ensure_postgres

flags=()
[ "$profile" = release ] && flags=(--release)
log "building policyvault and the drill ($profile)"
cargo build --quiet "${flags[@]}" --bin policyvault --example chaos

mkdir -p "$VAR/logs"
rm -f "$VAR"/logs/*.log
log "starting Redis on 127.0.0.1:$REDIS_PORT"
start_redis "$REDIS_PORT" "$VAR/redis"
log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
start_postgres "$PG_PORT" "$VAR/pg"

export PV_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PV_BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export PV_CHAOS_BIN="$CARGO_TARGET_DIR/$profile/policyvault"
export PV_CHAOS_REDIS_DIR="$VAR/redis"
export PV_CHAOS_PG_DIR="$VAR/pg"
export PV_CHAOS_PG_BIN="$(pg_bin_dir)"
export PV_CHAOS_LOG_DIR="$VAR/logs"

results="$VAR/results-$(date +%Y%m%d-%H%M%S).txt"
log "running the drill (worker logs in $VAR/logs)"
if ! "$CARGO_TARGET_DIR/$profile/examples/chaos" 2>&1 | tee "$results"; then
  die "the fault drill failed (see $results and $VAR/logs)"
fi
log "figures saved to $results"
