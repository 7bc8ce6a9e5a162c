#!/usr/bin/env bash
# Installs the deployment tools at pinned versions with `go install` (into
# $(go env GOPATH)/bin) when they are missing: helm and kubeconform.
set -euo pipefail
HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0

command -v go >/dev/null || { echo "error: Go is needed to install helm and kubeconform (apt-get install golang, or go.dev)" >&2; exit 1; }
bin="$(go env GOPATH)/bin"
if [[ ! -x "$bin/helm" ]] || ! "$bin/helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION%.*}"; then
  echo "==> installing helm $HELM_VERSION (go install, a few minutes the first time)" >&2
  go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
if [[ ! -x "$bin/kubeconform" ]] || [[ "$("$bin/kubeconform" -v 2>/dev/null)" != "$KUBECONFORM_VERSION" ]]; then
  echo "==> installing kubeconform $KUBECONFORM_VERSION (go install)" >&2
  go install -ldflags "-X main.version=$KUBECONFORM_VERSION" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi
echo "$bin"
