#!/usr/bin/env bash
# Local stand-ins for the outside world that billing talks to, without Docker:
# a real SMTP server that files every message in a Maildir (aiosmtpd) and an
# S3-compatible endpoint (moto's server) for the document store.
#
#   scripts/infra/sinks.sh up|down|status|reset
#
# Both run from one Python venv, created once with pip (PyPI):
#   venv     $OTC_CACHE_DIR/sinks/venv          (kept by `reset`)
#   SMTP     127.0.0.1:$OTC_SMTP_PORT (51025), no TLS, no auth,
#            mail in $OTC_CACHE_DIR/smtp/maildir (new/ holds one file per message)
#   S3       http://127.0.0.1:$OTC_S3_PORT (59000), any credentials, state in memory
#   logs     $OTC_CACHE_DIR/logs/smtp.log, s3.log, sinks-pip.log
# Neither is PostgreSQL: running them as root is fine. When sourced (by
# infra.sh) it only defines the sinks_* functions.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${OTC_SMTP_PORT:=51025}"
: "${OTC_S3_PORT:=59000}"
: "${OTC_SINKS_START_TIMEOUT:=60}"

SINKS_ROOT="$OTC_CACHE_DIR/sinks"
SINKS_VENV="$SINKS_ROOT/venv"
SINKS_PIP_LOG="$OTC_LOG_DIR/sinks-pip.log"
# Major versions pinned: the CLI flags used below are those of these majors.
SINKS_REQUIREMENTS=('aiosmtpd>=1.4,<2' 'moto[server]>=5,<6')
SMTP_MAILDIR="$OTC_CACHE_DIR/smtp/maildir"
SMTP_PID_FILE="$OTC_RUN_DIR/smtp.pid"
SMTP_LOG="$OTC_LOG_DIR/smtp.log"
S3_PID_FILE="$OTC_RUN_DIR/s3.pid"
S3_LOG="$OTC_LOG_DIR/s3.log"

# ---------------------------------------------------------------- installation

# A python3 that can create venvs (Debian splits `venv`/`ensurepip` off).
sinks_find_python() {
  local py
  py=$(command -v python3 || true)
  if [[ -z "$py" ]]; then
    info "python3 not found"
    apt_install python3 python3-venv
    py=$(command -v python3) || die "python3 was installed but is not on PATH"
  fi
  if ! "$py" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
      || die "$py is $("$py" --version 2>&1); the SMTP/S3 sinks need Python 3.9+"
    info "$py cannot create virtual environments (module venv/ensurepip missing)"
    apt_install python3-venv
  fi
  echo "$py"
}

# The venv is reused while it works and was made for the same requirements;
# a stamp file records them, so changing SINKS_REQUIREMENTS reinstalls.
sinks_ensure_venv() {
  local stamp="$SINKS_VENV/.otc-requirements" want="${SINKS_REQUIREMENTS[*]}"
  if [[ -x "$SINKS_VENV/bin/python" ]] && "$SINKS_VENV/bin/python" -c '' 2>/dev/null \
     && [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  local py; py=$(sinks_find_python)
  mkdir -p "$SINKS_ROOT" "$OTC_LOG_DIR"
  rm -rf "$SINKS_VENV"   # broken or outdated: start clean
  info "creating Python venv for the SMTP/S3 sinks in $SINKS_VENV ($("$py" --version 2>&1))"
  "$py" -m venv "$SINKS_VENV" >"$SINKS_PIP_LOG" 2>&1 || { show_log_tail "$SINKS_PIP_LOG" 15; die "python3 -m venv $SINKS_VENV failed (log: $SINKS_PIP_LOG)"; }
  info "pip install ${SINKS_REQUIREMENTS[*]} (one-time, about a minute; log: $SINKS_PIP_LOG)"
  printf '    pip ' >&2
  "$SINKS_VENV/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
    "${SINKS_REQUIREMENTS[@]}" >>"$SINKS_PIP_LOG" 2>&1 9>&- &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do printf '.' >&2; sleep 2; done
  if ! wait "$pid"; then
    printf ' FAILED\n' >&2
    show_log_tail "$SINKS_PIP_LOG" 20
    rm -rf "$SINKS_VENV"   # a half-installed venv would be reused next time
    if grep -qiE 'Could not fetch|NewConnectionError|Max retries|Name or service not known|Temporary failure in name resolution|SSLError' "$SINKS_PIP_LOG"; then
      die "cannot reach PyPI to install the sinks (pip proxy/index settings are honoured). Log: $SINKS_PIP_LOG"
    fi
    die "pip install ${SINKS_REQUIREMENTS[*]} failed (log: $SINKS_PIP_LOG)"
  fi
  printf ' done\n' >&2
  echo "$want" >"$stamp"
  ok "sinks venv ready: $("$SINKS_VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | awk 'tolower($1) ~ /^(aiosmtpd|moto)$/ {printf "%s%s %s", sep, $1, $2; sep=", "}')"
}

# ---------------------------------------------------------------- processes

# Command-line fragments that identify our processes (pid files can be stale).
smtp_pattern() { printf '%s\n' "-m aiosmtpd -n -l 127.0.0.1:$OTC_SMTP_PORT"; }
s3_pattern() { printf '%s\n' "$SINKS_VENV/bin/moto_server -H 127.0.0.1 -p $OTC_S3_PORT"; }

# From the pid file while it names our process, else by command line (pid
# file lost); empty when not running.
sink_pid() { # pid_file pattern
  local pid; pid=$(cat "$1" 2>/dev/null || true)
  if [[ -n "$pid" ]] && pid_matches "$pid" "$2"; then echo "$pid"; return 0; fi
  pgrep -f -- "$2" 2>/dev/null | head -n 1 || true
}
smtp_pid() { sink_pid "$SMTP_PID_FILE" "$(smtp_pattern)"; }
s3_pid() { sink_pid "$S3_PID_FILE" "$(s3_pattern)"; }

# Start a daemon in its own session that *becomes* the command (no lingering
# shell), then wait until its port answers. 9>&-: it must not inherit the lock.
sink_start() { # name port pid_file log cmd...
  local name=$1 port=$2 pid_file=$3 log=$4; shift 4
  port_open 127.0.0.1 "$port" && die "port $port (for $name) is already in use by another process (see: ss -ltnp 'sport = :$port')"
  rm -f "$pid_file"
  mkdir -p "$OTC_RUN_DIR" "$OTC_LOG_DIR"
  info "starting $name on 127.0.0.1:$port (log: $log)"
  printf '\n===== %s: start (scripts/infra/sinks.sh) =====\n' "$(date -Is)" >>"$log"
  (
    cd "$SINKS_ROOT"
    # shellcheck disable=SC2016  # $$ / $1 are for the inner bash
    exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pid_file" "$@"
  ) </dev/null >>"$log" 2>&1 9>&- &
  local start=$SECONDS pid=""
  printf '    waiting for %s to answer on 127.0.0.1:%s (timeout %ss) ' "$name" "$port" "$OTC_SINKS_START_TIMEOUT" >&2
  while ((SECONDS - start < OTC_SINKS_START_TIMEOUT)); do
    pid=$(cat "$pid_file" 2>/dev/null || true)
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      printf ' FAILED\n' >&2
      show_log_tail "$log" 20
      die "$name exited during start-up (log: $log)"
    fi
    if port_open 127.0.0.1 "$port"; then printf ' ready (%ss)\n' "$((SECONDS - start))" >&2; return 0; fi
    printf '.' >&2
    sleep 0.5
  done
  printf ' TIMEOUT\n' >&2
  show_log_tail "$log" 20
  die "$name did not answer on 127.0.0.1:$port within ${OTC_SINKS_START_TIMEOUT}s (OTC_SINKS_START_TIMEOUT; log: $log)"
}

smtp_up() {
  local pid; pid=$(smtp_pid)
  if [[ -n "$pid" ]]; then
    echo "$pid" >"$SMTP_PID_FILE"   # repairs a lost or stale pid file
    ok "SMTP sink already running (pid $pid, 127.0.0.1:$OTC_SMTP_PORT)"
    return 0
  fi
  mkdir -p "$SMTP_MAILDIR"/{new,cur,tmp}
  # Mailbox(mail_dir) files each message as one Maildir file, with the
  # envelope added as X-MailFrom / X-RcptTo headers.
  sink_start "SMTP sink" "$OTC_SMTP_PORT" "$SMTP_PID_FILE" "$SMTP_LOG" \
    "$SINKS_VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$OTC_SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$SMTP_MAILDIR"
  ok "SMTP sink ready: 127.0.0.1:$OTC_SMTP_PORT -> $SMTP_MAILDIR"
}

s3_up() {
  local pid; pid=$(s3_pid)
  if [[ -n "$pid" ]]; then
    echo "$pid" >"$S3_PID_FILE"
    ok "S3 endpoint already running (pid $pid, http://127.0.0.1:$OTC_S3_PORT)"
    return 0
  fi
  sink_start "S3 endpoint (moto)" "$OTC_S3_PORT" "$S3_PID_FILE" "$S3_LOG" \
    "$SINKS_VENV/bin/python" "$SINKS_VENV/bin/moto_server" -H 127.0.0.1 -p "$OTC_S3_PORT"
  ok "S3 endpoint ready: http://127.0.0.1:$OTC_S3_PORT"
}

sink_stop() { # name pid pid_file
  local name=$1 pid=$2 pid_file=$3
  if [[ -z "$pid" ]]; then rm -f "$pid_file"; ok "$name already stopped"; return 0; fi
  info "stopping $name (pid $pid)"
  stop_pid "$pid" "$name"
  rm -f "$pid_file"
  ok "$name stopped"
}

sink_status() { # label pid port detail
  local label=$1 pid=$2 port=$3 detail=$4
  if [[ -z "$pid" ]]; then echo "$label stopped  (port $port)"; return 1; fi
  if port_open 127.0.0.1 "$port"; then
    echo "$label running  (pid $pid, 127.0.0.1:$port, $detail)"
  else
    echo "$label running but NOT listening on 127.0.0.1:$port (pid $pid, $detail)"
    return 1
  fi
}

# ---------------------------------------------------------------- commands

sinks_up() {
  sinks_ensure_venv
  smtp_up
  s3_up
}

sinks_down() {
  local rc=0
  (sink_stop "SMTP sink" "$(smtp_pid)" "$SMTP_PID_FILE") || rc=1
  (sink_stop "S3 endpoint" "$(s3_pid)" "$S3_PID_FILE") || rc=1
  return $rc
}

sinks_status() {
  local rc=0
  sink_status "smtp:    " "$(smtp_pid)" "$OTC_SMTP_PORT" "maildir $SMTP_MAILDIR, log $SMTP_LOG" || rc=1
  sink_status "s3:      " "$(s3_pid)" "$OTC_S3_PORT" "moto, in memory, log $S3_LOG" || rc=1
  return $rc
}

sinks_reset() {
  sinks_down
  info "deleting $SMTP_MAILDIR (the venv in $SINKS_VENV is kept)"
  rm -rf "$OTC_CACHE_DIR/smtp"
  ok "SMTP sink mail deleted (S3 state lives in memory and went with the process)"
}

# `export` lines for the tests (infra.sh env prints them).
sinks_env_vars() {
  echo "OTC_TEST_SMTP_MAILDIR=$SMTP_MAILDIR"
  echo "OTC_TEST_SMTP_PORT=$OTC_SMTP_PORT"
  echo "OTC_TEST_S3_ENDPOINT=http://127.0.0.1:$OTC_S3_PORT"
}

sinks_main() {
  local cmd=${1:-}
  case "$cmd" in
    up)     take_lock; sinks_up ;;
    down)   take_lock; sinks_down ;;
    status) sinks_status ;;
    reset)  take_lock; sinks_reset ;;
    *) echo "usage: $0 up|down|status|reset" >&2; exit 2 ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  sinks_main "$@"
fi
