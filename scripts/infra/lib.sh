# shellcheck shell=bash
# Shared variables and helpers for the local (Docker-free) infrastructure
# scripts: postgres.sh, kafka.sh and the front door infra.sh.
# Sourced, never executed. Everything lives under $OTC_CACHE_DIR
# (default: <repo root>/.cache), which is git-ignored.

# ---------------------------------------------------------------- settings
OTC_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OTC_REPO_ROOT="$(cd "$OTC_INFRA_DIR/../.." && pwd)"

: "${OTC_CACHE_DIR:=$OTC_REPO_ROOT/.cache}"
mkdir -p "$OTC_CACHE_DIR"
OTC_CACHE_DIR="$(cd "$OTC_CACHE_DIR" && pwd)"   # absolute, so cwd never matters
OTC_LOG_DIR="$OTC_CACHE_DIR/logs"
OTC_RUN_DIR="$OTC_CACHE_DIR/run"

# PostgreSQL
: "${OTC_PG_PORT:=55432}"
: "${OTC_PG_USER:=otc}"
: "${OTC_PG_PASSWORD:=otc}"
: "${OTC_EXTERNAL_PG:=0}"
OTC_PG_HOST=127.0.0.1
# shellcheck disable=SC2034  # used by postgres.sh / infra.sh
OTC_PG_SERVICES=(order billing payments collections reporting)  # database otc_<service>

# Kafka
: "${OTC_KAFKA_VERSION:=4.3.1}"
: "${OTC_KAFKA_PORT:=59092}"
: "${OTC_KAFKA_CONTROLLER_PORT:=59093}"
: "${OTC_KAFKA_START_TIMEOUT:=90}"
: "${OTC_EXTERNAL_KAFKA:=0}"

# How long `down` waits after SIGTERM before it uses SIGKILL.
: "${OTC_STOP_TIMEOUT:=30}"

# Connection strings. Local mode: derived from the ports above. External mode:
# taken from the environment (and required there).
if [[ "$OTC_EXTERNAL_PG" == 1 ]]; then
  : "${OTC_PG_ADMIN_URL:?OTC_EXTERNAL_PG=1 needs OTC_PG_ADMIN_URL, e.g. postgres://otc:otc@host:5432/postgres}"
else
  OTC_PG_ADMIN_URL="postgres://$OTC_PG_USER:$OTC_PG_PASSWORD@$OTC_PG_HOST:$OTC_PG_PORT/postgres"
fi
if [[ "$OTC_EXTERNAL_KAFKA" == 1 ]]; then
  : "${OTC_KAFKA_BROKERS:?OTC_EXTERNAL_KAFKA=1 needs OTC_KAFKA_BROKERS, e.g. host:9092}"
else
  OTC_KAFKA_BROKERS="127.0.0.1:$OTC_KAFKA_PORT"
fi

# ---------------------------------------------------------------- output
if [[ -t 2 ]]; then
  _c_info=$'\e[1;34m' _c_ok=$'\e[1;32m' _c_warn=$'\e[1;33m' _c_err=$'\e[1;31m' _c_off=$'\e[0m'
else
  _c_info='' _c_ok='' _c_warn='' _c_err='' _c_off=''
fi
# All human-readable output goes to stderr so `infra.sh env` stays clean.
info() { printf '%s==>%s %s\n' "$_c_info" "$_c_off" "$*" >&2; }
ok()   { printf '%s ok%s %s\n' "$_c_ok" "$_c_off" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_c_warn" "$_c_off" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$_c_err" "$_c_off" "$*" >&2; exit 1; }

# Print the last N lines of a log file (to stderr), framed.
show_log_tail() { # file [lines]
  local file=$1 n=${2:-30}
  if [[ -s "$file" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$n" "$file" >&2
    tail -n "$n" "$file" | sed 's/\x1b\[[0-9;]*m//g' >&2   # strip colour codes
    printf -- '----- end of %s -----\n' "$file" >&2
  fi
}

# ---------------------------------------------------------------- system helpers
is_root() { [[ "$(id -u)" == 0 ]]; }

# Install Debian packages (root: directly; otherwise via password-less sudo).
apt_install() { # pkg...
  local sudo=()
  if ! is_root; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      die "missing packages: $* — please run: sudo apt-get update && sudo apt-get install -y $*"
    fi
  fi
  info "installing Debian packages: $* (apt-get, this can take a minute)"
  local log="$OTC_LOG_DIR/apt.log"
  mkdir -p "$OTC_LOG_DIR"
  if ! { "${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@"; } >"$log" 2>&1; then
    show_log_tail "$log" 20
    die "apt-get install $* failed (full log: $log)"
  fi
  ok "installed $*"
}

# True when something accepts TCP connections on host:port.
port_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# True when pid is a live process whose command line contains pattern.
# (Guards against stale pid files after a reboot, where the pid was reused.)
pid_matches() { # pid pattern
  local pid=$1 pattern=$2 cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || [[ -d "/proc/$pid" ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$pattern"* ]]
}

# Send SIGTERM, wait up to $OTC_STOP_TIMEOUT s, then SIGKILL.
stop_pid() { # pid name
  local pid=$1 name=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  printf '    waiting for %s (pid %s) to stop ' "$name" "$pid" >&2
  for ((i = 0; i < OTC_STOP_TIMEOUT * 4; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then printf ' done\n' >&2; return 0; fi
    ((i % 4 == 0)) && printf '.' >&2
    sleep 0.25
  done
  printf ' timeout\n' >&2
  warn "$name (pid $pid) did not stop within ${OTC_STOP_TIMEOUT}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  die "could not kill $name (pid $pid)"
}

# Serialise up/down/reset between concurrent invocations (e.g. two test
# runners calling `infra.sh up` at once). fd 9 must not leak into daemons:
# every daemon launch closes it with `9>&-`.
take_lock() {
  mkdir -p "$OTC_RUN_DIR"
  exec 9>"$OTC_RUN_DIR/infra.lock"
  if ! flock -w 600 9; then die "timed out waiting for $OTC_RUN_DIR/infra.lock (another infra.sh running?)"; fi
}
