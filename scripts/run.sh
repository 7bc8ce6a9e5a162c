#!/usr/bin/env bash
# The suite's main job on the local default set-up: real PostgreSQL and
# Kafka on loopback, then the five services and their health, then the
# simulator driving a business through them (OTC_SIMULATE=0 skips it;
# OTC_SIMULATOR_ARGS passes options, e.g. "--customers 1000").
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
scripts/infra/infra.sh up
eval "$(scripts/infra/infra.sh env)"
export SQLX_OFFLINE=true
# The simulator runs dunning on simulated days ahead of today; collections
# refuses that unless told it is a simulation (never set it in production).
export OTC_COLLECTIONS__DUNNING__ALLOW_FUTURE_AS_OF=true
scripts/services.sh up
cat >&2 <<TEXT

The suite is running:
  gRPC      order :50051  billing :50052  payments :50053  collections :50054  reporting :50055
            (health and reflection on each; grpcurl -plaintext 127.0.0.1:50051 list)
  metrics   http://127.0.0.1:9101/metrics … :9105/metrics
  logs      .cache/logs/<service>.log
  a token   make token TENANT=acme ROLES=tenant_admin
  stop      make stop
TEXT

if [[ "${OTC_SIMULATE:-1}" != 0 ]]; then
  echo >&2
  echo "==> simulating a business through the suite (otc-simulator; make simulate runs it again)" >&2
  # shellcheck disable=SC2086 # the arguments are words on purpose
  "${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/otc-simulator" ${OTC_SIMULATOR_ARGS:-}
fi
