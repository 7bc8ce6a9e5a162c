#!/usr/bin/env bash
# Offline validation of the Helm chart: helm lint and helm template with the
# default and the production-like values, then kubeconform in strict mode
# against the schemas kept in deploy/schemas (no network needed).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
KUBE_VERSION=1.34.4   # the version deploy/schemas was generated for
bin="$(scripts/deploy/install-tools.sh)"
chart=deploy/helm/otc
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

kubeconform() {
  "$bin/kubeconform" -strict -summary -kubernetes-version "$KUBE_VERSION" \
    -schema-location 'deploy/schemas/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
    -schema-location 'deploy/schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json' \
    "$@"
}

for values in default "$chart"/ci/*.yaml; do
  args=()
  [[ "$values" != default ]] && args=(-f "$values")
  name=$(basename "$values" .yaml)
  echo "==> helm lint ($name values)" >&2
  "$bin/helm" lint --strict "$chart" --kube-version "$KUBE_VERSION" "${args[@]}" >&2
  echo "==> helm template ($name values)" >&2
  "$bin/helm" template otc "$chart" --kube-version "$KUBE_VERSION" "${args[@]}" >"$out/$name.yaml"
  echo "==> kubeconform -strict ($name values)" >&2
  kubeconform "$out/$name.yaml"
done

# The schemas really are applied: a misspelt field must be refused.
sed 's/^  partitions:/  partitionz:/' "$out/default.yaml" >"$out/broken.yaml"
if kubeconform "$out/broken.yaml" >"$out/broken.log" 2>&1; then
  echo "error: kubeconform accepted a KafkaTopic with 'partitionz'; are the schemas being loaded?" >&2
  exit 1
fi
echo "==> a misspelt field is refused, as it should be" >&2
