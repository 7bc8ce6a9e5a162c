#!/usr/bin/env bash
# The suite's main job on the local default set-up: real PostgreSQL and
# Kafka on loopback, then the five services, then their health.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
scripts/infra/infra.sh up
eval "$(scripts/infra/infra.sh env)"
export SQLX_OFFLINE=true
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
