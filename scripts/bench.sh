#!/usr/bin/env bash
# Runs PolicyVault's benchmarks (release build) against throwaway Redis and PostgreSQL
# servers on project ports (Redis 6392, PostgreSQL 5442, data under var/bench/), prints their
# figures (also saved to var/bench/results-*.txt) and stops what it started, also on failure
# or Ctrl-C. Re-runnable. Benchmarks print figures; they assert nothing about speed.
#
#   scripts/bench.sh                   # all seven: starts, pipeline, intune, round_trips,
#                                      # memory, compare, overview
#   scripts/bench.sh starts intune     # a selection
#   scripts/bench.sh overview          # only the tenants overview of one user with 500 tenants
#   scripts/bench.sh estate            # one scheduled tick over 1,000 tenants (~5+ min;
#                                      # not in the default set)
#
# Sizes come from the examples' defaults or PV_BENCH_* variables, e.g. PV_BENCH_CLIENTS,
# PV_BENCH_SECONDS, PV_BENCH_TENANTS, PV_BENCH_RUNS, PV_BENCH_WORKERS, PV_BENCH_CONCURRENCY,
# PV_BENCH_OBJECTS, PV_BENCH_TIME_SCALE, PV_BENCH_SPREAD_SECS, PV_BENCH_POLICY_TYPES (see `cargo run --release --example bench_X -- --help`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PV_ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/policyvault-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REDIS_PORT="${PV_BENCH_REDIS_PORT:-6392}"
PG_PORT="${PV_BENCH_PG_PORT:-5442}"
VAR="$PV_ROOT/var/bench"

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(starts pipeline intune round_trips memory compare overview)
for b in "${benches[@]}"; do
  case "$b" in
    starts | pipeline | intune | round_trips | memory | compare | estate | overview) ;;
    *) die "unknown benchmark '$b' (choose from: starts pipeline intune round_trips memory compare estate overview)" ;;
  esac
done

trap stop_all EXIT
trap 'exit 130' INT TERM

ensure_rust
ensure_redis
ensure_postgres

examples=()
for b in "${benches[@]}"; do examples+=(--example "bench_$b"); done
# The estate and memory benchmarks run `policyvault worker` processes.
log "cargo build --release --bin policyvault ${examples[*]}"
cargo build --release --quiet --bin policyvault "${examples[@]}"

log "starting Redis on 127.0.0.1:$REDIS_PORT"
start_redis "$REDIS_PORT" "$VAR/redis"
log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
start_postgres "$PG_PORT" "$VAR/pg"

export PV_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PV_BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

results="$VAR/results-$(date +%Y%m%d-%H%M%S).txt"
: >"$results"
run_bench() { # NAME [ARGS...]
  local b=$1
  shift
  log "bench_$b $*"
  if ! cargo run --release --quiet --example "bench_$b" -- "$@" 2>&1 | tee -a "$results"; then
    die "bench_$b failed (see $results)"
  fi
}
for b in "${benches[@]}"; do
  run_bench "$b"
  # The pipeline's 1-2-object captures, then the same tenants captured over every type.
  if [ "$b" = pipeline ] && [ -z "${PV_BENCH_POLICY_TYPES:-}" ]; then
    run_bench pipeline --policy-types all
  fi
done
log "figures saved to $results"
