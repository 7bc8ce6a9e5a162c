{{/* Names and labels. */}}
{{- define "otc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "otc.serviceName" -}}
{{- printf "%s-%s" (include "otc.fullname" .root) .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "otc.labels" -}}
app.kubernetes.io/name: otc
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "otc.selectorLabels" -}}
app.kubernetes.io/name: otc
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "otc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "otc.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{- include "otc.serviceName" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/*
Flattens a settings map into `OTC_<SECTION>__<FIELD>: "value"` lines.
Input: dict "prefix" (list of path parts) "value" (map).
*/}}
{{- define "otc.flattenConfig" -}}
{{- $prefix := .prefix -}}
{{- range $key, $value := .value -}}
{{- $path := append $prefix $key -}}
{{- if kindIs "map" $value -}}
{{- include "otc.flattenConfig" (dict "prefix" $path "value" $value) -}}
{{- else if not (kindIs "invalid" $value) }}
{{ printf "OTC_%s" (join "__" $path) | upper }}: {{ if kindIs "slice" $value }}{{ toJson $value | quote }}{{ else }}{{ toString $value | quote }}{{ end }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The non-secret settings of one service as `NAME: "value"` lines (its
ConfigMap's data; the migration Job inlines them).
Input: dict "root" $ "service" name "spec" service values.
*/}}
{{- define "otc.configData" -}}
{{- $values := .root.Values -}}
{{- $config := mergeOverwrite (deepCopy $values.config) (deepCopy (default dict .spec.config)) -}}
{{- if $values.kafka.tls.enabled -}}
{{- $_ := set $config "kafka" (mergeOverwrite (default dict $config.kafka) (dict "ssl_ca_location" "/etc/otc/kafka-ca/ca.crt")) -}}
{{- end -}}
{{- if $values.auth.jwksSecret.name -}}
{{- $_ := set $config "auth" (mergeOverwrite (default dict $config.auth) (dict "jwks_file" "/etc/otc/auth/jwks.json")) -}}
{{- end -}}
{{- $protocol := toString (dig "kafka" "security_protocol" "plaintext" $config) -}}
{{- if and $values.strimzi.users.enabled (eq $values.strimzi.users.authentication "tls") -}}
{{- /* mTLS: the KafkaUser's certificate and key, mounted by the Deployment. */ -}}
{{- $_ := set $config "kafka" (mergeOverwrite (default dict $config.kafka) (dict "ssl_certificate_location" "/etc/otc/kafka-user/user.crt" "ssl_key_location" "/etc/otc/kafka-user/user.key")) -}}
{{- end -}}
{{- if and $values.strimzi.users.enabled (eq $values.strimzi.users.authentication "scram-sha-512") (hasPrefix "sasl" $protocol) (not (dig "kafka" "sasl_username" "" $config)) -}}
{{- /* Strimzi's KafkaUser of this service: the user name is the resource name. */ -}}
{{- $_ := set $config "kafka" (mergeOverwrite (default dict $config.kafka) (dict "sasl_username" (include "otc.serviceName" .))) -}}
{{- end }}
OTC_GRPC__HOST: {{ $values.listenHost | quote }}
OTC_GRPC__PORT: {{ .spec.grpcPort | quote }}
OTC_HTTP__HOST: {{ $values.listenHost | quote }}
OTC_HTTP__PORT: {{ .spec.httpPort | quote }}
{{- /* The services this one calls over gRPC (topology `calls`), by their Service names. */ -}}
{{- $topology := index $values.topology.services .service | default dict }}
{{- range $callee := (default list $topology.calls) }}
{{- $calleeSpec := index $values.services $callee }}
OTC_PEERS__{{ upper $callee }}__URL: {{ printf "http://%s:%v" (include "otc.serviceName" (dict "root" $.root "service" $callee)) $calleeSpec.grpcPort | quote }}
{{- end }}
{{- if $values.configFile }}
OTC_CONFIG_FILE: "/etc/otc/config/config.toml"
{{- end }}
{{- include "otc.flattenConfig" (dict "prefix" (list) "value" $config) }}
{{- end -}}

{{/*
Settings read from Secrets, as container `env` entries.
Input: dict "root" $ "service" name "spec" service values.
*/}}
{{- define "otc.secretEnv" -}}
{{- $values := .root.Values -}}
{{- $config := mergeOverwrite (deepCopy $values.config) (deepCopy (default dict .spec.config)) -}}
{{- $secretEnv := mergeOverwrite (deepCopy $values.secretEnv) (deepCopy (default dict .spec.secretEnv)) -}}
{{- if $values.cloudnativepg.enabled -}}
{{- $_ := set $secretEnv "database.url" (dict "name" (printf "%s-db-app" (include "otc.serviceName" .)) "key" "uri") -}}
{{- end -}}
{{- $protocol := toString (dig "kafka" "security_protocol" "plaintext" $config) -}}
{{- if and $values.strimzi.users.enabled (eq $values.strimzi.users.authentication "scram-sha-512") (hasPrefix "sasl" $protocol) (not (hasKey $secretEnv "kafka.sasl_password")) -}}
{{- $_ := set $secretEnv "kafka.sasl_password" (dict "name" (include "otc.serviceName" .) "key" "password") -}}
{{- end -}}
{{- range $path, $ref := $secretEnv }}
{{- if $ref }}
- name: {{ printf "OTC_%s" (replace "." "__" $path) | upper }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Input: dict "root" $ "service" name. */}}
{{- define "otc.volumeMounts" -}}
{{- $values := .root.Values -}}
{{- if and $values.strimzi.users.enabled (eq $values.strimzi.users.authentication "tls") }}
- name: kafka-user
  mountPath: /etc/otc/kafka-user
  readOnly: true
{{- end }}
{{- if $values.configFile }}
- name: config
  mountPath: /etc/otc/config
  readOnly: true
{{- end }}
{{- if $values.kafka.tls.enabled }}
- name: kafka-ca
  mountPath: /etc/otc/kafka-ca
  readOnly: true
{{- end }}
{{- if $values.auth.jwksSecret.name }}
- name: auth-keys
  mountPath: /etc/otc/auth
  readOnly: true
{{- end }}
{{- $scratch := dig "scratchVolume" dict (index $values.services .service | default dict) }}
{{- if $scratch.enabled }}
- name: scratch
  mountPath: {{ $scratch.mountPath }}
{{- end }}
{{- end -}}

{{/* Input: dict "root" $ "service" name "configMap" name-of-the-config-file-ConfigMap. */}}
{{- define "otc.volumes" -}}
{{- $values := .root.Values -}}
{{- $scratch := dig "scratchVolume" dict (index $values.services .service | default dict) }}
{{- if $scratch.enabled }}
- name: scratch
  # The root filesystem is read-only; what a service writes locally (billing's
  # documents with the local store) lives here, and goes with the pod.
  emptyDir:
    sizeLimit: {{ $scratch.sizeLimit | default "1Gi" }}
{{- end }}
{{- if and $values.strimzi.users.enabled (eq $values.strimzi.users.authentication "tls") }}
- name: kafka-user
  secret:
    # Written by Strimzi for the KafkaUser of this service.
    secretName: {{ include "otc.serviceName" . }}
    items:
      - key: user.crt
        path: user.crt
      - key: user.key
        path: user.key
{{- end }}
{{- if $values.configFile }}
- name: config
  configMap:
    name: {{ .configMap }}
{{- end }}
{{- if $values.kafka.tls.enabled }}
- name: kafka-ca
  secret:
    secretName: {{ $values.kafka.tls.caSecret.name }}
    items:
      - key: {{ $values.kafka.tls.caSecret.key }}
        path: ca.crt
{{- end }}
{{- if $values.auth.jwksSecret.name }}
- name: auth-keys
  secret:
    secretName: {{ $values.auth.jwksSecret.name }}
    items:
      - key: {{ $values.auth.jwksSecret.key }}
        path: jwks.json
{{- end }}
{{- end -}}
