#!/usr/bin/env bash
# Regenerates (or with --check, verifies) the committed sqlx offline query
# data (`<crate>/.sqlx/`), so that builds need no database. Each crate with
# queries is prepared against a scratch database holding exactly its schema:
# the shared migrations, then the crate's own.
#   scripts/sqlx-prepare.sh [--check]
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=infra/lib.sh
source "$REPO_ROOT/scripts/infra/lib.sh"

CHECK=()
[[ "${1:-}" == "--check" ]] && CHECK=(--check)
# Crates that run compile-time checked queries.
CRATES=(shared)
for service in order billing payments collections reporting; do
  if grep -rqsE 'sqlx::query(_as|_scalar)?!' "$REPO_ROOT/services/$service/src"; then CRATES+=("services/$service"); fi
done

if ! cargo sqlx --version >/dev/null 2>&1; then
  info "installing sqlx-cli 0.9.0 (once; cargo install)"
  cargo install sqlx-cli --version 0.9.0 --no-default-features --features postgres,rustls --locked --quiet
fi
command -v psql >/dev/null || apt_install postgresql-client

base_url=${OTC_PG_ADMIN_URL%/*}
for crate in "${CRATES[@]}"; do
  database="otc_sqlx_$(basename "$crate")"
  info "preparing $crate against scratch database $database"
  psql "$OTC_PG_ADMIN_URL" -qX -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database" >/dev/null
  migrations=("$REPO_ROOT"/shared/migrations/*.sql)
  if [[ "$crate" != shared && -d "$REPO_ROOT/$crate/migrations" ]]; then
    migrations+=("$REPO_ROOT/$crate"/migrations/*.sql)
  fi
  for migration in "${migrations[@]}"; do
    psql "$base_url/$database" -qX -v ON_ERROR_STOP=1 -f "$migration" >/dev/null
  done
  (cd "$REPO_ROOT/$crate" && DATABASE_URL="$base_url/$database" SQLX_OFFLINE=false \
    cargo sqlx prepare "${CHECK[@]}" -- --all-targets --quiet)
  ok "$crate: .sqlx ${CHECK[*]:-written}"
done
