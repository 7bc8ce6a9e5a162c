#!/usr/bin/env bash
# The test command: starts the real PostgreSQL and Kafka (installing what is
# missing), builds the service binaries, and runs every test of the
# workspace against them.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
started=$(date +%s)

scripts/infra/infra.sh up
# The dashboard test drives a real headless Chromium.
scripts/infra/browser.sh
eval "$(scripts/infra/infra.sh env)"
# Queries are checked at compile time against the committed .sqlx data.
export SQLX_OFFLINE=true

echo "==> building the workspace and the service binaries" >&2
cargo build --workspace --bins --tests
echo "==> validating the Helm chart offline" >&2
scripts/deploy/validate.sh
export OTC_HELM="$(scripts/deploy/install-tools.sh)/helm"
echo "==> running the tests" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line over every test binary (doc-test runs close on "0 passed").
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
echo "==> tests finished in $(( $(date +%s) - started ))s" >&2
exit "$status"
