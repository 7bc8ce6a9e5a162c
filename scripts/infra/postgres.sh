#!/usr/bin/env bash
# Local PostgreSQL for development and tests, without Docker.
#
#   scripts/infra/postgres.sh up|down|status|reset
#
# Runs a private cluster (not the Debian system cluster) from the Debian
# postgresql packages (installed with apt-get when missing):
#   data    $OTC_CACHE_DIR/postgres/data
#   socket  $OTC_CACHE_DIR/postgres/run      (mode 0700, trust auth for the owner)
#   log     $OTC_CACHE_DIR/logs/postgres.log
#   TCP     127.0.0.1:$OTC_PG_PORT (55432), scram-sha-256
# and makes sure login role otc/otc (CREATEDB) and the databases
# otc_order, otc_billing, otc_payments, otc_collections, otc_reporting exist.
# PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` system user. With OTC_EXTERNAL_PG=1 nothing is started: `up` and
# `status` only check that $OTC_PG_ADMIN_URL answers.
# When sourced (by infra.sh) it only defines the pg_* functions.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_ROOT="$OTC_CACHE_DIR/postgres"
PG_DATA="$PG_ROOT/data"
PG_SOCK_DIR="$PG_ROOT/run"
PG_LOG="$OTC_LOG_DIR/postgres.log"
PG_INITDB_LOG="$OTC_LOG_DIR/postgres-initdb.log"
PG_BIN=""   # set by pg_ensure_installed

# ---------------------------------------------------------------- helpers

# Newest /usr/lib/postgresql/<major>/bin that has the server binaries.
pg_find_bin() {
  if [[ -n "${OTC_PG_BIN_DIR:-}" ]]; then
    [[ -x "$OTC_PG_BIN_DIR/postgres" ]] && { echo "$OTC_PG_BIN_DIR"; return 0; }
    return 1
  fi
  local d
  while read -r d; do
    if [[ -x "$d/postgres" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/psql" ]]; then
      echo "$d"; return 0
    fi
  done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r)
  return 1
}

pg_ensure_installed() {
  [[ -n "$PG_BIN" ]] && return 0
  if ! PG_BIN=$(pg_find_bin); then
    info "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
    apt_install postgresql
    PG_BIN=$(pg_find_bin) || die "postgresql was installed but no postgres/initdb found under /usr/lib/postgresql/*/bin"
  fi
}

# The OS user the server runs as.
pg_os_user() { if is_root; then echo postgres; else id -un; fi; }

pg_ensure_os_user() {
  is_root || return 0
  id -u postgres >/dev/null 2>&1 && return 0
  info "creating system user 'postgres' (PostgreSQL refuses to run as root)"
  useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
    --shell /bin/bash postgres || die "could not create the postgres system user (useradd failed)"
}

# Run a command as the server's OS user, from / (cwd may be unreadable to it).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Superuser psql over the private unix socket (trust auth, owner only).
pg_admin_psql() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK_DIR" -p "$OTC_PG_PORT" -U postgres -d postgres "$@"
}

# URL of database $1 on the same server as $OTC_PG_ADMIN_URL (query string kept).
pg_db_url() { # dbname
  local base=${OTC_PG_ADMIN_URL%%\?*}
  local query=${OTC_PG_ADMIN_URL:${#base}}
  if [[ "$base" =~ ^[a-z]+://[^/]+/ ]]; then base=${base%/*}; fi
  echo "$base/$1$query"
}

# For messages: hide the password in a URL.
pg_mask_url() { sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"; }

pg_pid() { [[ -f "$PG_DATA/postmaster.pid" ]] && head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

pg_is_running() {
  local pid; pid=$(pg_pid)
  [[ -n "$pid" ]] && pid_matches "$pid" "$PG_DATA"
}

# After a reboot/crash postmaster.pid can name a pid now used by something
# else, which makes PostgreSQL refuse to start. Remove it when not ours.
pg_clear_stale_pid() {
  if [[ -f "$PG_DATA/postmaster.pid" ]] && ! pg_is_running; then
    info "removing stale $PG_DATA/postmaster.pid (pid $(pg_pid) is not our postmaster)"
    rm -f "$PG_DATA/postmaster.pid"
  fi
}

pg_prepare_dirs() {
  local user; user=$(pg_os_user)
  mkdir -p "$PG_ROOT" "$PG_SOCK_DIR" "$OTC_LOG_DIR"
  touch "$PG_LOG"
  if is_root; then
    chown postgres:postgres "$PG_ROOT" "$PG_SOCK_DIR" "$PG_LOG"
  fi
  chmod 0700 "$PG_SOCK_DIR"
  if ! as_pg test -w "$PG_ROOT" -a -w "$PG_LOG"; then
    die "user '$user' cannot write $PG_ROOT (a parent directory is probably not traversable by it).
       Fix: chmod o+x on the parent directories, or use another cache, e.g. OTC_CACHE_DIR=/var/tmp/otc-cache"
  fi
  if [[ -d "$PG_DATA" ]]; then
    local owner; owner=$(stat -c %U "$PG_DATA")
    [[ "$owner" == "$user" ]] || die "$PG_DATA belongs to '$owner' but the server would run as '$user'
       (created by a run as a different user). Run 'scripts/infra/postgres.sh reset' as that user, or use another OTC_CACHE_DIR."
  fi
  # Unix socket paths are limited to 107 bytes.
  local sock="$PG_SOCK_DIR/.s.PGSQL.$OTC_PG_PORT"
  ((${#sock} <= 100)) || die "socket path too long (${#sock} chars): $sock — set OTC_CACHE_DIR to a shorter path"
}

pg_init_cluster() {
  if [[ -s "$PG_DATA/PG_VERSION" ]]; then
    local have want
    have=$(cat "$PG_DATA/PG_VERSION"); want=$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+).*/\1/')
    [[ "$have" == "$want" ]] || die "$PG_DATA was created by PostgreSQL $have but the binaries are $want ($PG_BIN).
       Run 'scripts/infra/postgres.sh reset' (deletes the local data) or set OTC_PG_BIN_DIR."
    return 0
  fi
  [[ -e "$PG_DATA" ]] && rm -rf "$PG_DATA"   # leftover of an interrupted initdb
  info "initialising PostgreSQL cluster in $PG_DATA ($("$PG_BIN/postgres" --version))"
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
       --encoding=UTF8 --no-locale --no-instructions >"$PG_INITDB_LOG" 2>&1; then
    show_log_tail "$PG_INITDB_LOG" 30
    die "initdb failed (log: $PG_INITDB_LOG)"
  fi
}

# (Re)written on every `up`, so changing OTC_PG_PORT takes effect.
pg_write_config() {
  as_pg tee "$PG_DATA/otc.conf" >/dev/null <<EOF
# Written by scripts/infra/postgres.sh on every 'up' — edits will be lost.
listen_addresses = '127.0.0.1'
port = $OTC_PG_PORT
unix_socket_directories = '$PG_SOCK_DIR'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
max_connections = 300
shared_buffers = 1GB
# Fewer checkpoints under the benchmarks' write bursts (a backlog folded,
# a million open items dunned): less full-page-write traffic.
max_wal_size = 4GB
checkpoint_timeout = 15min
fsync = on
# synchronous_commit stays on: the inbox and outbox rely on a commit being durable
# before a Kafka offset is stored, including across a database crash in fault tests.
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off         # stderr goes to \$OTC_CACHE_DIR/logs/postgres.log via pg_ctl -l
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = -1
EOF
  if ! grep -q "^include 'otc.conf'" "$PG_DATA/postgresql.conf"; then
    printf "\n# local dev/test settings\ninclude 'otc.conf'\n" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
  fi
  as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/infra/postgres.sh on every 'up' — edits will be lost.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust          # socket dir is 0700: owner only
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
EOF
}

pg_start() {
  if port_open 127.0.0.1 "$OTC_PG_PORT"; then
    die "port $OTC_PG_PORT is already in use by another process (see: ss -ltnp 'sport = :$OTC_PG_PORT'); set OTC_PG_PORT to another port"
  fi
  info "starting PostgreSQL on 127.0.0.1:$OTC_PG_PORT (log: $PG_LOG)"
  printf '\n===== %s: start (scripts/infra/postgres.sh) =====\n' "$(date -Is)" >>"$PG_LOG"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start 9>&-; then
    show_log_tail "$PG_LOG" 30
    die "PostgreSQL failed to start (log: $PG_LOG)"
  fi
}

# Idempotent: role otc (LOGIN, CREATEDB, password) and the service databases.
pg_bootstrap() {
  local dbs="" s
  for s in "${OTC_PG_SERVICES[@]}"; do dbs+="${dbs:+,}otc_$s"; done
  if ! pg_admin_psql -v user="$OTC_PG_USER" -v pw="$OTC_PG_PASSWORD" -v dbs="$dbs" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', d, :'user')
  FROM unnest(string_to_array(:'dbs', ',')) AS d
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
SQL
  then
    die "creating role '$OTC_PG_USER' / databases failed (server log: $PG_LOG)"
  fi
  # Check the path the services use: TCP + password.
  if ! PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -tA "$(pg_db_url "otc_${OTC_PG_SERVICES[0]}")" -c 'select 1' >/dev/null; then
    die "PostgreSQL runs but login as $(pg_mask_url "$OTC_PG_ADMIN_URL") over TCP failed (log: $PG_LOG)"
  fi
}

pg_check_external() {
  local url; url=$(pg_mask_url "$OTC_PG_ADMIN_URL")
  info "OTC_EXTERNAL_PG=1: checking external PostgreSQL at $url"
  local psql; psql=$(command -v psql || true)
  [[ -z "$psql" ]] && psql=$(pg_find_bin 2>/dev/null || true) && [[ -n "$psql" ]] && psql="$psql/psql"
  if [[ -n "$psql" && -x "$psql" ]]; then
    PGCONNECT_TIMEOUT=5 "$psql" -X -q -tA "$OTC_PG_ADMIN_URL" -c 'select 1' >/dev/null \
      || { echo "postgres: external, NOT reachable ($url)" >&2; return 1; }
  else
    local hostport host port
    hostport=$(sed -E 's#^[a-z]+://([^@/]*@)?([^/?]+).*#\2#' <<<"$OTC_PG_ADMIN_URL")
    host=${hostport%:*}; port=${hostport##*:}; [[ "$hostport" == *:* ]] || port=5432
    port_open "$host" "$port" || { echo "postgres: external, NOT reachable ($url)" >&2; return 1; }
  fi
  echo "postgres: external, reachable ($url)" >&2
}

# ---------------------------------------------------------------- commands

pg_up() {
  if [[ "$OTC_EXTERNAL_PG" == 1 ]]; then
    pg_check_external || die "external PostgreSQL at $(pg_mask_url "$OTC_PG_ADMIN_URL") is not reachable"
    return 0
  fi
  pg_ensure_installed
  pg_ensure_os_user
  pg_prepare_dirs
  pg_init_cluster
  pg_clear_stale_pid
  pg_write_config
  if pg_is_running; then
    ok "PostgreSQL already running (pid $(pg_pid), 127.0.0.1:$OTC_PG_PORT)"
    # Pick up pg_hba/otc.conf changes without a restart (port changes need down/up).
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -s reload >/dev/null || true
  else
    pg_start
  fi
  pg_bootstrap
  ok "PostgreSQL ready: $OTC_PG_ADMIN_URL (databases: ${OTC_PG_SERVICES[*]/#/otc_})"
}

pg_down() {
  if [[ "$OTC_EXTERNAL_PG" == 1 ]]; then info "OTC_EXTERNAL_PG=1: not stopping external PostgreSQL"; return 0; fi
  if ! pg_is_running; then
    [[ -d "$PG_DATA" ]] && pg_clear_stale_pid
    ok "PostgreSQL already stopped"
    return 0
  fi
  pg_ensure_installed
  local pid; pid=$(pg_pid)
  info "stopping PostgreSQL (pid $pid)"
  # 'fast' = SIGINT: disconnects clients (SIGTERM/'smart' would wait for them).
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -t "$OTC_STOP_TIMEOUT" -s stop; then
    warn "PostgreSQL did not stop within ${OTC_STOP_TIMEOUT}s, trying immediate shutdown"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -t 10 -s stop || true
    if pg_is_running; then
      warn "sending SIGKILL to postmaster $pid"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
    fi
  fi
  pg_is_running && die "could not stop PostgreSQL (pid $pid, log: $PG_LOG)"
  ok "PostgreSQL stopped"
}

pg_status() {
  if [[ "$OTC_EXTERNAL_PG" == 1 ]]; then pg_check_external 2>&1; return; fi
  if pg_is_running; then
    if port_open 127.0.0.1 "$OTC_PG_PORT"; then
      echo "postgres: running  (pid $(pg_pid), 127.0.0.1:$OTC_PG_PORT, data $PG_DATA, log $PG_LOG)"
    else
      echo "postgres: running but NOT listening on 127.0.0.1:$OTC_PG_PORT (pid $(pg_pid), log $PG_LOG)"
      return 1
    fi
  else
    echo "postgres: stopped  (port $OTC_PG_PORT, data $PG_DATA)"
    return 1
  fi
}

pg_reset() {
  if [[ "$OTC_EXTERNAL_PG" == 1 ]]; then info "OTC_EXTERNAL_PG=1: not resetting external PostgreSQL"; return 0; fi
  pg_down
  info "deleting $PG_ROOT"
  rm -rf "$PG_ROOT" || die "could not delete $PG_ROOT (created by another user? try as root)"
  ok "PostgreSQL data deleted"
}

pg_main() {
  local cmd=${1:-}
  case "$cmd" in
    up)     take_lock; pg_up ;;
    down)   take_lock; pg_down ;;
    status) pg_status ;;
    reset)  take_lock; pg_reset ;;
    *) echo "usage: $0 up|down|status|reset" >&2; exit 2 ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  pg_main "$@"
fi
