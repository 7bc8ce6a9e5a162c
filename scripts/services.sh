#!/usr/bin/env bash
# Starts, stops and reports the five service binaries locally, against the
# PostgreSQL and Kafka of scripts/infra (or external ones via OTC_* URLs).
#   scripts/services.sh up|down|status
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=infra/lib.sh
source "$REPO_ROOT/scripts/infra/lib.sh"

SERVICES=(order billing payments collections reporting)
declare -A GRPC_PORT=([order]=50051 [billing]=50052 [payments]=50053 [collections]=50054 [reporting]=50055)
declare -A HTTP_PORT=([order]=9101 [billing]=9102 [payments]=9103 [collections]=9104 [reporting]=9105)
: "${CARGO_TARGET_DIR:=$REPO_ROOT/target}"
BIN_DIR="$CARGO_TARGET_DIR/debug"
# The local development signing secret (never use it anywhere else).
: "${OTC_AUTH__HS256_SECRET:=$(grep -o 'LOCAL_DEV_HS256_SECRET: &str = "[^"]*"' "$REPO_ROOT"/shared/src/auth/*.rs | head -n1 | sed -E 's/.*= "(.*)"/\1/')}"
export OTC_AUTH__HS256_SECRET

pid_file() { echo "$OTC_RUN_DIR/$1.pid"; }

service_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -f "$file" ]] || return 0
  pid=$(cat "$file")
  if pid_matches "$pid" "otc-$1"; then echo "$pid"; fi
}

database_url() {
  local base=${OTC_PG_ADMIN_URL%/*}
  local variable="OTC_${1^^}_DATABASE_URL"
  echo "${!variable:-$base/otc_$1}"
}

up() {
  mkdir -p "$OTC_RUN_DIR" "$OTC_LOG_DIR"
  info "building the service binaries (cargo build --bins)"
  (cd "$REPO_ROOT" && cargo build --bins --quiet)
  for service in "${SERVICES[@]}"; do
    if [[ -n "$(service_pid "$service")" ]]; then
      ok "otc-$service already running (pid $(service_pid "$service"))"
      continue
    fi
    info "starting otc-$service (gRPC :${GRPC_PORT[$service]}, HTTP :${HTTP_PORT[$service]})"
    OTC_DATABASE__URL="$(database_url "$service")" \
    OTC_KAFKA__BROKERS="$OTC_KAFKA_BROKERS" \
    OTC_GRPC__PORT="${GRPC_PORT[$service]}" \
    OTC_HTTP__PORT="${HTTP_PORT[$service]}" \
      nohup "$BIN_DIR/otc-$service" >>"$OTC_LOG_DIR/$service.log" 2>&1 9>&- &
    echo $! >"$(pid_file "$service")"
  done
  wait_healthy
}

wait_healthy() {
  local endpoints=() service
  for service in "${SERVICES[@]}"; do endpoints+=("$service=http://127.0.0.1:${GRPC_PORT[$service]}"); done
  if ! "$BIN_DIR/otc-health" --wait 90 "${endpoints[@]}"; then
    for service in "${SERVICES[@]}"; do show_log_tail "$OTC_LOG_DIR/$service.log" 15; done
    die "not every service became healthy (logs in $OTC_LOG_DIR)"
  fi
}

down() {
  local service pid
  for service in "${SERVICES[@]}"; do
    pid=$(service_pid "$service")
    if [[ -n "$pid" ]]; then
      stop_pid "$pid" "otc-$service"
      ok "otc-$service stopped"
    fi
    rm -f "$(pid_file "$service")"
  done
}

status() {
  local endpoints=() service
  for service in "${SERVICES[@]}"; do endpoints+=("$service=http://127.0.0.1:${GRPC_PORT[$service]}"); done
  "$BIN_DIR/otc-health" "${endpoints[@]}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
