# Shared helpers for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Services are started on project ports with data under a project directory and are
# stopped by the pid they wrote, also on failure or Ctrl-C.

PV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
}

pg_bin_dir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_postgres() {
  pg_bin_dir >/dev/null || apt_install postgresql
  pg_bin_dir >/dev/null || die "PostgreSQL binaries not found after install"
}

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
}

# Headless Chromium and its WebDriver server, for the browser tests (tests/api/webdriver.rs).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || apt_install chromium chromium-driver
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
    || die "/usr/bin/chromium or /usr/bin/chromedriver not found after install"
}

# The openssl command line: the certificate-credential tests make their keys with it.
ensure_openssl() {
  command -v openssl >/dev/null || apt_install openssl
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # PORT SECONDS WHAT
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    port_free "$1" || return 0
    sleep 0.1
  done
  die "$3 did not start listening on port $1 within $2 s"
}

# stop_pidfile FILE: stops the process whose pid FILE holds, if it is still ours and alive.
stop_pidfile() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(head -n1 "$file" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    # Up to 15 s: a server drains its connections and cleans up before it exits.
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

start_redis() { # PORT DIR
  local port=$1 dir=$2
  mkdir -p "$dir"
  stop_pidfile "$dir/redis.pid"
  port_free "$port" || die "port $port is taken: another Redis? stop it or pick another port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null \
    || die "redis-server failed to start (see $dir/redis.log)"
  wait_for_port "$port" 10 "Redis"
  PV_PIDFILES+=("$dir/redis.pid")
}

start_postgres() { # PORT DIR
  local port=$1 dir=$2 bin
  bin=$(pg_bin_dir)
  mkdir -p "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    chown -R postgres "$dir" 2>/dev/null || true
    if [ "$(id -u)" -eq 0 ]; then
      runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 \
        || die "initdb failed (see $dir/initdb.log)"
    else
      "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 \
        || die "initdb failed (see $dir/initdb.log)"
    fi
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    local old; old=$(head -n1 "$dir/data/postmaster.pid")
    if kill -0 "$old" 2>/dev/null; then kill "$old"; sleep 2; fi
    rm -f "$dir/data/postmaster.pid"
  fi
  port_free "$port" || die "port $port is taken: another PostgreSQL? stop it or pick another port"
  local run=(env)
  [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/postgres.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null || die "PostgreSQL failed to start (see $dir/postgres.log)"
  head -n1 "$dir/data/postmaster.pid" >"$dir/postgres.pid"
  PV_PIDFILES+=("$dir/postgres.pid")
}

PV_PIDFILES=()
stop_all() {
  local f
  for f in "${PV_PIDFILES[@]}"; do stop_pidfile "$f"; done
  PV_PIDFILES=()
}
