#!/usr/bin/env bash
# Sets up and runs the whole product locally on its embedded defaults: Redis on
# 127.0.0.1:6380 (data under var/), SQLite at var/policyvault.sqlite (or PostgreSQL when
# PV__DATABASE__URL=postgres://... is set), graph-sim --demo on 127.0.0.1:8090 and
# `policyvault all` on 127.0.0.1:8080. Prints the URL and the demo credentials.
# Ctrl-C stops everything it started. Re-runnable: a second run reuses the database.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PV_ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/policyvault-target}"
VAR="$PV_ROOT/var"
SIM_ADDR="127.0.0.1:8090"
mkdir -p "$VAR"

start_background() { # NAME PIDFILE LOG CMD...
  local name=$1 pidfile=$2 logfile=$3; shift 3
  stop_pidfile "$pidfile"
  "$@" >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  PV_PIDFILES+=("$pidfile")
  log "$name started (pid $(cat "$pidfile"), log $logfile)"
}

STOP=0
trap stop_all EXIT
trap 'STOP=1' INT TERM

ensure_rust
ensure_redis

log "building policyvault and graph-sim"
cargo build --quiet --bin policyvault --bin graph-sim
BIN="$CARGO_TARGET_DIR/debug"

log "starting Redis on 127.0.0.1:6380"
start_redis 6380 "$VAR/redis"

port_free 8090 || die "port 8090 is taken (graph-sim)"
port_free 8080 || die "port 8080 is taken (policyvault)"
start_background graph-sim "$VAR/graph-sim.pid" "$VAR/graph-sim.log" \
  "$BIN/graph-sim" --demo --listen "$SIM_ADDR"
wait_for_port 8090 30 "graph-sim"

"$BIN/policyvault" migrate
"$BIN/policyvault" demo --graph-sim-url "http://$SIM_ADDR"

start_background policyvault "$VAR/policyvault.pid" "$VAR/policyvault.log" \
  "$BIN/policyvault" all
wait_for_port 8080 60 "policyvault"

log "PolicyVault is running at http://127.0.0.1:8080 (graph-sim at http://$SIM_ADDR)"
log "press Ctrl-C to stop"
while [ "$STOP" = 0 ] && kill -0 "$(cat "$VAR/policyvault.pid")" 2>/dev/null \
  && kill -0 "$(cat "$VAR/graph-sim.pid")" 2>/dev/null; do
  sleep 1
done
# A Ctrl-C reaches our children too; give our own trap the moment to land.
sleep 0.5
if [ "$STOP" = 1 ]; then
  echo
  log "stopping"
  exit 0
fi
die "a process stopped unexpectedly; see $VAR/policyvault.log and $VAR/graph-sim.log"
