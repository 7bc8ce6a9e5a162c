#!/usr/bin/env bash
# Front door for the local infrastructure (PostgreSQL + Kafka + the SMTP and
# S3 sinks, no Docker).
#
#   scripts/infra/infra.sh up       install what is missing, start all, wait until ready
#   scripts/infra/infra.sh down     stop all (SIGTERM, then SIGKILL after $OTC_STOP_TIMEOUT s)
#   scripts/infra/infra.sh status   state of each; exit code != 0 if any is down
#   scripts/infra/infra.sh reset    down + delete data (Kafka jars and the sinks' venv are kept)
#   scripts/infra/infra.sh env      print `export` lines; use: eval "$(scripts/infra/infra.sh env)"
#
# Details in postgres.sh / kafka.sh / sinks.sh and README.md. Set OTC_EXTERNAL_PG=1 /
# OTC_EXTERNAL_KAFKA=1 (with OTC_PG_ADMIN_URL / OTC_KAFKA_BROKERS) to use
# existing servers instead; then only reachability is checked.
set -euo pipefail
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=postgres.sh
source "$INFRA_DIR/postgres.sh"
# shellcheck source=kafka.sh
source "$INFRA_DIR/kafka.sh"
# shellcheck source=sinks.sh
source "$INFRA_DIR/sinks.sh"

# export NAME=value, single-quoted only when the value needs it.
print_export() { # name value
  local v=$2
  if [[ ! "$v" =~ ^[A-Za-z0-9_@%+=:,./-]*$ ]]; then v="'${v//\'/\'\\\'\'}'"; fi
  printf 'export %s=%s\n' "$1" "$v"
}

infra_env() {
  print_export OTC_PG_ADMIN_URL "$OTC_PG_ADMIN_URL"
  print_export OTC_KAFKA_BROKERS "$OTC_KAFKA_BROKERS"
  local s
  for s in "${OTC_PG_SERVICES[@]}"; do
    print_export "OTC_${s^^}_DATABASE_URL" "$(pg_db_url "otc_$s")"
  done
  local name value
  while IFS='=' read -r name value; do print_export "$name" "$value"; done < <(sinks_env_vars)
}

cmd=${1:-}
case "$cmd" in
  up)
    take_lock
    start=$SECONDS
    pg_up
    kafka_up
    sinks_up
    ok "infrastructure up in $((SECONDS - start))s — load the settings with: eval \"\$($0 env)\""
    ;;
  down)
    take_lock
    rc=0
    (sinks_down) || rc=1   # subshells: a failure in one still lets the others stop
    (kafka_down) || rc=1
    (pg_down) || rc=1
    exit $rc
    ;;
  status)
    rc=0
    pg_status || rc=1
    kafka_status || rc=1
    sinks_status || rc=1
    exit $rc
    ;;
  reset)
    take_lock
    rc=0
    (sinks_reset) || rc=1
    (kafka_reset) || rc=1
    (pg_reset) || rc=1
    exit $rc
    ;;
  env)
    infra_env
    ;;
  *)
    echo "usage: $0 up|down|status|reset|env" >&2
    exit 2
    ;;
esac
