#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single combined broker+controller) for
# development and tests, without Docker and without the Kafka tarball.
#
#   scripts/infra/kafka.sh up|down|status|reset
#   scripts/infra/kafka.sh topics <TopicCommand args>   e.g. topics --list
#
# The real broker jars (org.apache.kafka:kafka_2.13 + kafka-tools, version
# $OTC_KAFKA_VERSION, default 4.3.1) are resolved once from Maven Central with
# `mvn dependency:copy-dependencies` (kafka-pom.xml) into
#   $OTC_CACHE_DIR/kafka/<version>/libs
# and run as `java -cp "libs/*" kafka.Kafka server.properties`:
#   PLAINTEXT 127.0.0.1:$OTC_KAFKA_PORT (59092), CONTROLLER 127.0.0.1:$OTC_KAFKA_CONTROLLER_PORT (59093)
#   data   $OTC_CACHE_DIR/kafka/data     (formatted once, cluster id in kafka/cluster.id)
#   config $OTC_CACHE_DIR/kafka/config   (regenerated on every `up`)
#   logs   $OTC_CACHE_DIR/logs/kafka.log (log4j2), kafka.out (JVM stdout/stderr)
# With OTC_EXTERNAL_KAFKA=1 nothing is started: `up`/`status` only check that
# $OTC_KAFKA_BROKERS answers. When sourced (by infra.sh) it only defines functions.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K_ROOT="$OTC_CACHE_DIR/kafka"
# OTC_KAFKA_HOME: jars of another cache (a private broker for a test reuses them).
K_HOME="${OTC_KAFKA_HOME:-$K_ROOT/$OTC_KAFKA_VERSION}"
K_LIBS="$K_HOME/libs"
K_DATA="$K_ROOT/data"
K_CONF_DIR="$K_ROOT/config"
K_CONF="$K_CONF_DIR/server.properties"
K_CLUSTER_ID_FILE="$K_ROOT/cluster.id"
K_PID_FILE="$OTC_RUN_DIR/kafka.pid"
K_LOG="$OTC_LOG_DIR/kafka.log"
K_OUT="$OTC_LOG_DIR/kafka.out"
K_MVN_LOG="$OTC_LOG_DIR/kafka-maven.log"
K_TOOL_LOG="$OTC_LOG_DIR/kafka-tools.log"

# Broker JVM: small heap, as in Kafka's own kafka-server-start.sh otherwise.
read -r -a K_HEAP_OPTS <<<"${OTC_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
K_JVM_OPTS=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Dkafka.logs.dir=$OTC_LOG_DIR" "-Dlog4j2.configurationFile=$K_CONF_DIR/log4j2.xml")
# Short-lived tool JVMs: optimise for start-up time.
K_TOOL_JVM_OPTS=(-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$K_CONF_DIR/tools-log4j2.xml")

# ---------------------------------------------------------------- installation

kafka_ensure_java() {
  if ! command -v java >/dev/null; then
    info "java not found"
    apt_install openjdk-17-jre-headless
  fi
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | sed -n -E 's/^ *java\.specification\.version = ([0-9.]+).*/\1/p')
  [[ "${v%%.*}" =~ ^[0-9]+$ ]] && ((${v%%.*} >= 17)) \
    || die "Kafka $OTC_KAFKA_VERSION needs Java 17+, but 'java' ($(command -v java)) is version '${v:-unknown}'. Install openjdk-17-jre-headless."
}

# Run a command in the background (output to logfile), printing a dot every
# 2 s until it ends.
with_dots() { # msg logfile cmd...
  local msg=$1 logfile=$2; shift 2
  printf '    %s ' "$msg" >&2
  "$@" >"$logfile" 2>&1 9>&- & local pid=$!
  while kill -0 "$pid" 2>/dev/null; do printf '.' >&2; sleep 2; done
  if wait "$pid"; then printf ' done\n' >&2; return 0; else printf ' FAILED\n' >&2; return 1; fi
}

kafka_ensure_jars() {
  [[ -f "$K_LIBS/.complete" ]] && return 0
  if ! command -v mvn >/dev/null; then
    info "mvn (Maven) not found"
    apt_install maven
  fi
  info "downloading Apache Kafka $OTC_KAFKA_VERSION jars + dependencies from Maven Central (one-time)"
  mkdir -p "$K_HOME" "$OTC_LOG_DIR"
  cp "$OTC_INFRA_DIR/kafka-pom.xml" "$K_HOME/pom.xml"
  local tmp="$K_HOME/libs.tmp.$$"
  rm -rf "$tmp"
  local mvn=(mvn -B -q -f "$K_HOME/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies
    -DincludeScope=runtime "-DoutputDirectory=$tmp" "-Dkafka.version=$OTC_KAFKA_VERSION")
  [[ -n "${OTC_LOG4J_VERSION:-}" ]] && mvn+=("-Dlog4j.version=$OTC_LOG4J_VERSION")
  if ! with_dots "mvn dependency:copy-dependencies (log: $K_MVN_LOG)" "$K_MVN_LOG" "${mvn[@]}"; then
    rm -rf "$tmp"
    show_log_tail "$K_MVN_LOG" 15
    if grep -q "Could not find artifact org.apache.kafka" "$K_MVN_LOG"; then
      die "Kafka version $OTC_KAFKA_VERSION does not exist on Maven Central (check OTC_KAFKA_VERSION). Log: $K_MVN_LOG"
    elif grep -qiE 'Could not transfer|could not be resolved|No plugin found|UnknownHost|Connect(ion)? (refused|timed out)|Network is unreachable|PKIX|offline' "$K_MVN_LOG"; then
      die "cannot reach Maven Central (https://repo.maven.apache.org/maven2) to download the Kafka jars.
       Check network/proxy (~/.m2/settings.xml mirrors are honoured). Log: $K_MVN_LOG"
    else
      die "Maven failed to resolve the Kafka $OTC_KAFKA_VERSION jars (log: $K_MVN_LOG)"
    fi
  fi
  local jar
  for jar in "kafka_2.13-$OTC_KAFKA_VERSION.jar" "kafka-tools-$OTC_KAFKA_VERSION.jar"; do
    [[ -f "$tmp/$jar" ]] || { rm -rf "$tmp"; die "Maven finished but $jar is missing (log: $K_MVN_LOG)"; }
  done
  rm -rf "$K_LIBS"
  mv "$tmp" "$K_LIBS"
  touch "$K_LIBS/.complete"
  ok "$(find "$K_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$K_LIBS" | cut -f1)) in $K_LIBS"
}

# ---------------------------------------------------------------- configuration

# (Re)written on every `up`, so port changes take effect on the next start.
kafka_write_config() {
  mkdir -p "$K_CONF_DIR" "$K_DATA" "$OTC_LOG_DIR" "$OTC_RUN_DIR"
  cat >"$K_CONF" <<EOF
# Written by scripts/infra/kafka.sh on every 'up' — edits will be lost.
# Single-node KRaft cluster for local development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$OTC_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$OTC_KAFKA_PORT,CONTROLLER://127.0.0.1:$OTC_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$OTC_KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=$K_DATA
num.partitions=3
auto.create.topics.enable=false
delete.topic.enable=true
default.replication.factor=1
min.insync.replicas=1

# Internal topics: one replica. Fewer partitions than the defaults (50) so the
# first consumer group / transaction in a test does not wait for 50 leaders.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests: no 3 s wait before the first rebalance.
group.initial.rebalance.delay.ms=0

# Small machine (2 cores).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF

  cat >"$K_CONF_DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/infra/kafka.sh: broker logging to $K_LOG -->
<Configuration status="warn" name="otc-kafka-broker">
  <Appenders>
    <RollingFile name="file" fileName="$K_LOG" filePattern="$K_LOG.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
EOF

  cat >"$K_CONF_DIR/tools-log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/infra/kafka.sh: command-line tools log warnings to stderr -->
<Configuration status="warn" name="otc-kafka-tools">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF

  # Client settings for the readiness probe: fail fast instead of retrying for a minute.
  cat >"$K_CONF_DIR/tools.properties" <<'EOF'
request.timeout.ms=5000
default.api.timeout.ms=8000
EOF
}

# Run a Kafka main class from the resolved jars (with quiet logging).
kafka_java_tool() { # class args...
  java "${K_TOOL_JVM_OPTS[@]}" -cp "$K_LIBS/*" "$@"
}

kafka_format_storage() {
  [[ -f "$K_DATA/meta.properties" ]] && return 0
  if [[ ! -s "$K_CLUSTER_ID_FILE" ]]; then
    local id
    id=$(kafka_java_tool kafka.tools.StorageTool random-uuid 2>>"$K_TOOL_LOG" | tail -n 1) \
      || die "could not generate a cluster id (kafka.tools.StorageTool random-uuid; log: $K_TOOL_LOG)"
    [[ "$id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "unexpected cluster id '$id' from kafka.tools.StorageTool random-uuid"
    echo "$id" >"$K_CLUSTER_ID_FILE"
  fi
  info "formatting Kafka storage in $K_DATA (cluster id $(cat "$K_CLUSTER_ID_FILE"))"
  if ! kafka_java_tool kafka.tools.StorageTool format --config "$K_CONF" \
       --cluster-id "$(cat "$K_CLUSTER_ID_FILE")" >>"$K_TOOL_LOG" 2>&1; then
    show_log_tail "$K_TOOL_LOG" 20
    die "formatting Kafka storage failed (kafka.tools.StorageTool format; log: $K_TOOL_LOG)"
  fi
}

# ---------------------------------------------------------------- process

# Pid of our broker: from the pid file if it is still our process, otherwise
# by command line (pid file lost). Empty when not running.
kafka_pid() {
  local pid pattern="kafka.Kafka $K_CONF"
  pid=$(cat "$K_PID_FILE" 2>/dev/null || true)
  if [[ -n "$pid" ]] && pid_matches "$pid" "$pattern"; then echo "$pid"; return 0; fi
  pgrep -f -- "kafka\.Kafka $K_CONF\$" 2>/dev/null | head -n 1 || true
}

kafka_is_running() { [[ -n "$(kafka_pid)" ]]; }

kafka_start() {
  local p
  for p in "$OTC_KAFKA_PORT" "$OTC_KAFKA_CONTROLLER_PORT"; do
    port_open 127.0.0.1 "$p" && die "port $p is already in use by another process (see: ss -ltnp 'sport = :$p');
       set OTC_KAFKA_PORT / OTC_KAFKA_CONTROLLER_PORT to free ports"
  done
  rm -f "$K_PID_FILE"
  info "starting Kafka $OTC_KAFKA_VERSION (KRaft broker+controller) on 127.0.0.1:$OTC_KAFKA_PORT (log: $K_LOG)"
  printf '\n===== %s: start (scripts/infra/kafka.sh) =====\n' "$(date -Is)" >>"$K_OUT"
  # Background subshell that *becomes* the JVM (exec all the way down), so no
  # shell lingers as its parent. setsid: own session, so closing the terminal
  # or Ctrl-C does not kill it. The inner bash writes its pid, then execs java.
  # 9>&-: the JVM must not inherit the infra.lock descriptor.
  (
    cd "$K_ROOT"
    # shellcheck disable=SC2016  # $$ / $1 are for the inner bash
    exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$K_PID_FILE" \
      java "${K_HEAP_OPTS[@]}" "${K_JVM_OPTS[@]}" -cp "$K_LIBS/*" kafka.Kafka "$K_CONF"
  ) </dev/null >>"$K_OUT" 2>&1 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$K_PID_FILE" ]] && break; sleep 0.1; done
  [[ -s "$K_PID_FILE" ]] || die "Kafka did not start (no pid file $K_PID_FILE; see $K_OUT)"
}

kafka_failure_logs() {
  show_log_tail "$K_LOG" 30
  show_log_tail "$K_OUT" 10
}

# Wait until the broker answers a real admin request (topic listing).
kafka_wait_ready() {
  local timeout=$OTC_KAFKA_START_TIMEOUT start=$SECONDS probe_log="$OTC_LOG_DIR/kafka-probe.log"
  printf '    waiting for Kafka to answer on %s (timeout %ss) ' "$OTC_KAFKA_BROKERS" "$timeout" >&2
  while ((SECONDS - start < timeout)); do
    if ! kafka_is_running; then
      printf ' FAILED\n' >&2
      kafka_failure_logs
      die "Kafka exited during start-up (logs: $K_LOG, $K_OUT)"
    fi
    if port_open 127.0.0.1 "$OTC_KAFKA_PORT" &&
       timeout 20 java "${K_TOOL_JVM_OPTS[@]}" -cp "$K_LIBS/*" org.apache.kafka.tools.TopicCommand \
         --bootstrap-server "$OTC_KAFKA_BROKERS" --command-config "$K_CONF_DIR/tools.properties" --list \
         >/dev/null 2>"$probe_log"; then
      printf ' ready (%ss)\n' "$((SECONDS - start))" >&2
      return 0
    fi
    printf '.' >&2
    sleep 1
  done
  printf ' TIMEOUT\n' >&2
  kafka_failure_logs
  show_log_tail "$probe_log" 10
  die "Kafka did not answer on $OTC_KAFKA_BROKERS within ${timeout}s (OTC_KAFKA_START_TIMEOUT); logs: $K_LOG, $K_OUT"
}

kafka_check_external() {
  local b host port reachable=""
  IFS=',' read -r -a brokers <<<"$OTC_KAFKA_BROKERS"
  for b in "${brokers[@]}"; do
    b=${b#*://}; host=${b%:*}; port=${b##*:}
    if port_open "$host" "$port"; then reachable=$b; break; fi
  done
  if [[ -z "$reachable" ]]; then echo "kafka: external, NOT reachable ($OTC_KAFKA_BROKERS)" >&2; return 1; fi
  # A real admin request, when the tools are already here (no download for this).
  if [[ -f "$K_LIBS/.complete" ]] && command -v java >/dev/null; then
    [[ -f "$K_CONF_DIR/tools.properties" ]] || kafka_write_config
    if ! timeout 30 java "${K_TOOL_JVM_OPTS[@]}" -cp "$K_LIBS/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$OTC_KAFKA_BROKERS" \
         --command-config "$K_CONF_DIR/tools.properties" --list >/dev/null 2>>"$K_TOOL_LOG"; then
      echo "kafka: external, port open but the broker does not answer ($OTC_KAFKA_BROKERS; log $K_TOOL_LOG)" >&2
      return 1
    fi
  fi
  echo "kafka: external, reachable ($OTC_KAFKA_BROKERS)" >&2
}

# ---------------------------------------------------------------- commands

kafka_up() {
  if [[ "$OTC_EXTERNAL_KAFKA" == 1 ]]; then
    info "OTC_EXTERNAL_KAFKA=1: checking external Kafka at $OTC_KAFKA_BROKERS"
    kafka_check_external || die "external Kafka at $OTC_KAFKA_BROKERS is not reachable"
    return 0
  fi
  kafka_ensure_java
  kafka_ensure_jars
  if kafka_is_running; then
    ok "Kafka already running (pid $(kafka_pid), 127.0.0.1:$OTC_KAFKA_PORT)"
  else
    kafka_write_config
    kafka_format_storage
    kafka_start
  fi
  kafka_wait_ready
  ok "Kafka ready: $OTC_KAFKA_BROKERS"
}

kafka_down() {
  if [[ "$OTC_EXTERNAL_KAFKA" == 1 ]]; then info "OTC_EXTERNAL_KAFKA=1: not stopping external Kafka"; return 0; fi
  local pid; pid=$(kafka_pid)
  if [[ -z "$pid" ]]; then
    rm -f "$K_PID_FILE"
    ok "Kafka already stopped"
    return 0
  fi
  info "stopping Kafka (pid $pid)"
  stop_pid "$pid" "Kafka"
  rm -f "$K_PID_FILE"
  ok "Kafka stopped"
}

kafka_status() {
  if [[ "$OTC_EXTERNAL_KAFKA" == 1 ]]; then kafka_check_external 2>&1; return; fi
  local pid; pid=$(kafka_pid)
  if [[ -z "$pid" ]]; then
    echo "kafka:    stopped  (port $OTC_KAFKA_PORT, data $K_DATA)"
    return 1
  fi
  if port_open 127.0.0.1 "$OTC_KAFKA_PORT"; then
    echo "kafka:    running  (pid $pid, 127.0.0.1:$OTC_KAFKA_PORT, controller :$OTC_KAFKA_CONTROLLER_PORT, version $OTC_KAFKA_VERSION, log $K_LOG)"
  else
    echo "kafka:    running but NOT listening on 127.0.0.1:$OTC_KAFKA_PORT (pid $pid, starting or broken? log $K_LOG)"
    return 1
  fi
}

kafka_reset() {
  if [[ "$OTC_EXTERNAL_KAFKA" == 1 ]]; then info "OTC_EXTERNAL_KAFKA=1: not resetting external Kafka"; return 0; fi
  kafka_down
  info "deleting $K_DATA (downloaded jars in $K_ROOT/<version>/libs are kept)"
  rm -rf "$K_DATA" "$K_CONF_DIR"
  ok "Kafka data deleted"
}

kafka_main() {
  local cmd=${1:-}
  case "$cmd" in
    up)     take_lock; kafka_up ;;
    down)   take_lock; kafka_down ;;
    status) kafka_status ;;
    reset)  take_lock; kafka_reset ;;
    topics)
      shift
      [[ -f "$K_LIBS/.complete" ]] || die "Kafka jars not downloaded yet; run: $0 up"
      [[ -f "$K_CONF_DIR/tools-log4j2.xml" ]] || kafka_write_config
      kafka_java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$OTC_KAFKA_BROKERS" "$@" ;;
    *) echo "usage: $0 up|down|status|reset|topics <kafka-topics args>" >&2; exit 2 ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  kafka_main "$@"
fi
