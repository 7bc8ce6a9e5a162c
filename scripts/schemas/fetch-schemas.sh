#!/usr/bin/env bash
# Regenerates the JSON schemas under deploy/schemas/ that kubeconform uses to validate
# rendered manifests offline (see deploy/schemas/SOURCES.md for the command line).
#
# Everything comes from package registries through their ordinary clients:
#   - Kubernetes kinds: api/openapi-spec/swagger.json of the Go module k8s.io/kubernetes;
#   - Strimzi KafkaTopic/KafkaUser: CRDs generated here by io.strimzi:crd-generator from the
#     model classes of io.strimzi:api (Maven Central; the api jar carries no CRD YAML);
#   - other CRDs: YAML files inside Go modules (prometheus-operator, cloudnative-pg).
# scripts/schemas/openapi2jsonschema.py turns them into stand-alone strict schemas.
#
# Needs: go, mvn, a JDK >= 21 (for the Strimzi CRD generator; found on PATH, in JAVA_HOME,
# STRIMZI_JAVA or /usr/lib/jvm/*), python3 with PyYAML. Optional: kubeconform, to check
# that every written schema compiles.
#
# Usage: scripts/schemas/fetch-schemas.sh          (writes into deploy/schemas/)
#        OUT_DIR=/tmp/x scripts/schemas/fetch-schemas.sh
set -euo pipefail

# ---------------------------------------------------------------------------------------
# What is generated. Extend these lists; nothing else needs to change.

# Kubernetes release whose OpenAPI document is used (Go module k8s.io/kubernetes).
K8S_VERSION=1.34.4

# Kubernetes kinds: GROUP/VERSION/KIND, or VERSION/KIND for the core group.
K8S_KINDS=(
  apps/v1/Deployment
  v1/Service
  v1/ServiceAccount
  v1/ConfigMap
  v1/Secret
  batch/v1/Job
  autoscaling/v2/HorizontalPodAutoscaler
  policy/v1/PodDisruptionBudget
  networking.k8s.io/v1/NetworkPolicy
  networking.k8s.io/v1/Ingress
  rbac.authorization.k8s.io/v1/Role
  rbac.authorization.k8s.io/v1/RoleBinding
)

# Strimzi: model classes of io.strimzi:api, run through io.strimzi:crd-generator with the
# arguments Strimzi's own api/pom.xml uses for the topic and user CRDs. 0.51.0 is the last
# release that still serves v1beta2 (1.x serves only v1). crd-generator is not published
# for every release; 1.2.0 reads the 0.51 annotations (same v1beta2 output as 0.45.0).
STRIMZI_API_VERSION=0.51.0
STRIMZI_CRD_GENERATOR_VERSION=1.2.0
STRIMZI_CLASSES=(
  io.strimzi.api.kafka.model.topic.KafkaTopic
  io.strimzi.api.kafka.model.user.KafkaUser
)
STRIMZI_GENERATOR_API_VERSIONS=v1alpha1,v1beta1,v1beta2,v1
STRIMZI_STORAGE_VERSION=v1beta2
STRIMZI_SCHEMA_VERSIONS=v1beta2   # versions written out as JSON schemas

# CRD YAML shipped inside Go modules: MODULE@VERSION:PATH_IN_MODULE[:VERSIONS]
# (VERSIONS: comma-separated CRD versions to convert; default all served).
GO_MODULE_CRDS=(
  github.com/prometheus-operator/prometheus-operator@v0.85.0:example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml:v1
  github.com/cloudnative-pg/cloudnative-pg@v1.28.0:config/crd/bases/postgresql.cnpg.io_clusters.yaml:v1
)

MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
# ---------------------------------------------------------------------------------------

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out_dir="${OUT_DIR:-$repo/deploy/schemas}"
converter="$here/openapi2jsonschema.py"
core_dir_name="v${K8S_VERSION}-standalone-strict"

die() { echo "fetch-schemas: $*" >&2; exit 1; }
log() { echo "fetch-schemas: $*" >&2; }

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH="$PATH:/usr/local/go/bin"
fi
command -v go >/dev/null 2>&1 || die "go is needed (Go module proxy downloads)"
command -v mvn >/dev/null 2>&1 || die "mvn is needed (Maven Central downloads)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed"
python3 -c 'import yaml' 2>/dev/null || die "python3 needs PyYAML: python3 -m pip install pyyaml"

java_major() { # prints the major version of the java binary $1, or nothing
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n1
}
find_java21() {
  local c m
  for c in "${STRIMZI_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
    m="$(java_major "$c")"
    if [ -n "$m" ] && [ "$m" -ge 21 ]; then echo "$c"; return 0; fi
  done
  return 1
}
java21="$(find_java21)" || die "a JDK >= 21 is needed to run io.strimzi:crd-generator:$STRIMZI_CRD_GENERATOR_VERSION (set STRIMZI_JAVA=/path/to/bin/java)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# go mod download MODULE@VERSION -> prints "DIR<TAB>SUM"
go_module() {
  (cd "$work" && GO111MODULE=on go mod download -json "$1") >"$work/mod.json" \
    || { cat "$work/mod.json" >&2; die "go mod download $1 failed"; }
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["Dir"] + "\t" + d.get("Sum", ""))' "$work/mod.json"
}

# mvn dependency:copy GROUP:ARTIFACT:VERSION -> prints the jar path
maven_jar() {
  local gav="$1" dest="$work/jars"
  mkdir -p "$dest"
  mvn -B -q "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="$gav" -DoutputDirectory="$dest" >"$work/mvn.log" 2>&1 \
    || { cat "$work/mvn.log" >&2; die "mvn could not fetch $gav"; }
  local a v
  a="$(echo "$gav" | cut -d: -f2)"; v="$(echo "$gav" | cut -d: -f3)"
  echo "$dest/$a-$v.jar"
}

# "Kind apiVersion" of a written schema
schema_id() {
  python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["properties"]; print(p["kind"]["enum"][0], p["apiVersion"]["enum"][0])' "$1"
}

stage="$work/out"
mkdir -p "$stage/$core_dir_name" "$stage/crds"
sources="$work/sources.md"
: >"$sources"

# --- Kubernetes kinds ---------------------------------------------------------------------
log "k8s.io/kubernetes@v$K8S_VERSION"
IFS=$'\t' read -r k8s_dir k8s_sum < <(go_module "k8s.io/kubernetes@v$K8S_VERSION")
swagger="$k8s_dir/api/openapi-spec/swagger.json"
[ -f "$swagger" ] || die "$swagger not found in the module"
python3 "$converter" k8s --spec "$swagger" --out "$stage/$core_dir_name" --kind "${K8S_KINDS[*]}" >"$work/k8s.log"
cat "$work/k8s.log" >&2
sed -n 's|^wrote '"$stage"'/\([^ ]*\) (\(.*\))$|\1 \2|p' "$work/k8s.log" | while read -r written definition; do
  echo "| \`$written\` | $(schema_id "$stage/$written") | Go module \`k8s.io/kubernetes@v$K8S_VERSION\` (\`$k8s_sum\`), file \`api/openapi-spec/swagger.json\`, definition \`$definition\` |" >>"$sources"
done

# --- Strimzi -------------------------------------------------------------------------------
log "io.strimzi:api:$STRIMZI_API_VERSION + io.strimzi:crd-generator:$STRIMZI_CRD_GENERATOR_VERSION ($java21)"
api_jar="$(maven_jar "io.strimzi:api:$STRIMZI_API_VERSION")"
gen_jar="$(maven_jar "io.strimzi:crd-generator:$STRIMZI_CRD_GENERATOR_VERSION")"
gen_args=()
strimzi_yaml=()
for cls in "${STRIMZI_CLASSES[@]}"; do
  f="$work/strimzi/$(echo "${cls##*.}" | tr '[:upper:]' '[:lower:]').yaml"
  gen_args+=("$cls=$f")
  strimzi_yaml+=("$f")
done
# api jar first: the generator jar bundles model classes of its own release.
"$java21" -cp "$api_jar:$gen_jar" io.strimzi.crdgenerator.CrdGenerator \
  --label app:strimzi --label strimzi.io/crd-install:true \
  --target-kube 1.16+ --crd-api-version v1 \
  --api-versions "$STRIMZI_GENERATOR_API_VERSIONS" --storage-version "$STRIMZI_STORAGE_VERSION" \
  --yaml "${gen_args[@]}" >"$work/crdgen.log" 2>&1 \
  || { cat "$work/crdgen.log" >&2; die "the Strimzi CRD generator failed"; }
python3 "$converter" crd --out "$stage/crds" --k8s-spec "$swagger" --version "$STRIMZI_SCHEMA_VERSIONS" "${strimzi_yaml[@]}" >&2
api_sha="$(sha256sum "$api_jar" | cut -d' ' -f1)"
gen_sha="$(sha256sum "$gen_jar" | cut -d' ' -f1)"
for cls in "${STRIMZI_CLASSES[@]}"; do
  kind="${cls##*.}"
  for v in ${STRIMZI_SCHEMA_VERSIONS//,/ }; do
    echo "| \`crds/kafka.strimzi.io/$(echo "$kind" | tr '[:upper:]' '[:lower:]')_$v.json\` | $kind kafka.strimzi.io/$v | Maven \`io.strimzi:api:$STRIMZI_API_VERSION\` (jar sha256 \`$api_sha\`), class \`$cls\`, CRD generated by Maven \`io.strimzi:crd-generator:$STRIMZI_CRD_GENERATOR_VERSION\` (jar sha256 \`$gen_sha\`) |" >>"$sources"
  done
done

# --- CRDs from Go modules --------------------------------------------------------------------
for entry in "${GO_MODULE_CRDS[@]}"; do
  IFS=: read -r modver path versions <<<"$entry"
  log "$modver $path"
  IFS=$'\t' read -r mod_dir mod_sum < <(go_module "$modver")
  [ -f "$mod_dir/$path" ] || die "$path not found in $modver"
  vargs=()
  [ -n "$versions" ] && vargs=(--version "$versions")
  python3 "$converter" crd --out "$stage/crds" --k8s-spec "$swagger" "${vargs[@]}" "$mod_dir/$path" >"$work/crd.log"
  cat "$work/crd.log" >&2
  sed -n 's|^wrote '"$stage"'/\([^ ]*\) .*|\1|p' "$work/crd.log" | while read -r written; do
    echo "| \`$written\` | $(schema_id "$stage/$written") | Go module \`$modver\` (\`$mod_sum\`), file \`$path\` |" >>"$sources"
  done
done

# --- Check that every schema compiles (kubeconform skips one that does not) -----------------
kubeconform_bin="$(command -v kubeconform || true)"
[ -z "$kubeconform_bin" ] && [ -x "$(go env GOPATH)/bin/kubeconform" ] && kubeconform_bin="$(go env GOPATH)/bin/kubeconform"
if [ -n "$kubeconform_bin" ]; then
  python3 - "$stage" >"$work/probe.yaml" <<'EOF'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.json")):
    props = json.loads(path.read_text())["properties"]
    print("---\napiVersion: %s\nkind: %s\nmetadata:\n  name: probe" % (props["apiVersion"]["enum"][0], props["kind"]["enum"][0]))
EOF
  "$kubeconform_bin" -strict -kubernetes-version "$K8S_VERSION" -output json \
    -schema-location "$stage/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$stage/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$work/probe.yaml" >"$work/probe.json" || true
  python3 - "$work/probe.json" <<'EOF' || die "kubeconform could not load some schemas (see above)"
import json, sys
bad = [r for r in json.load(open(sys.argv[1])).get("resources", []) if r.get("status") == "statusError"]
for r in bad:
    print("fetch-schemas: %s: %s" % (r.get("kind"), r.get("msg")), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
  log "every schema loads in kubeconform ($kubeconform_bin)"
else
  log "kubeconform not found: skipped the check that the schemas load"
fi

# --- Put the result in place ------------------------------------------------------------------
cat >"$stage/SOURCES.md" <<EOF
# Schemas for offline kubeconform validation

Generated by \`scripts/schemas/fetch-schemas.sh\` (converter:
\`scripts/schemas/openapi2jsonschema.py\`); do not edit by hand. To change the
Kubernetes version, the kinds or the CRDs, edit the lists at the top of the script
and run it again:

\`\`\`sh
scripts/schemas/fetch-schemas.sh
\`\`\`

It needs \`go\` (Go module proxy), \`mvn\` (Maven Central), a JDK >= 21 (the Strimzi
CRD generator), \`python3\` with PyYAML, and optionally \`kubeconform\` (checks that
every schema loads). Nothing is taken from anywhere but those registries.

## Validating

\`\`\`sh
kubeconform -strict -summary -kubernetes-version $K8S_VERSION \\
  -schema-location 'deploy/schemas/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json' \\
  -schema-location 'deploy/schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json' \\
  MANIFESTS...
\`\`\`

Only local locations are given, so kubeconform never goes to the network; a kind with
no schema here is reported as an error ("could not find schema"), never skipped,
unless \`-ignore-missing-schemas\` or \`-skip KIND\` is added.

## What the schemas accept

- Stand-alone (no \$ref) JSON Schema draft-04, strict: an object that declares
  properties rejects any other (\`additionalProperties: false\`), except where the
  source says \`x-kubernetes-preserve-unknown-fields\`.
- int-or-string fields take a string or an integer; resource quantities a string or
  a number.
- Object fields and map values may be null (the API server drops them); array items
  may not.
- \`apiVersion\` and \`kind\` must be the file's own; custom resources' \`metadata\` is
  checked against the Kubernetes ObjectMeta schema.
- Descriptions and \`x-kubernetes-*\` extensions (CEL rules included) are dropped:
  what the API server checks beyond the schema is not checked here.

## Sources

| schema | kinds | from |
| --- | --- | --- |
$(cat "$sources")
EOF

mkdir -p "$out_dir"
# Replace only what this script owns: the versioned core folder(s), crds/ and SOURCES.md.
find "$out_dir" -mindepth 1 -maxdepth 1 -type d -name 'v*-standalone-strict' -exec rm -rf {} +
rm -rf "$out_dir/crds"
cp -R "$stage/$core_dir_name" "$stage/crds" "$stage/SOURCES.md" "$out_dir/"
log "wrote $out_dir ($(du -sh "$out_dir" | cut -f1))"
