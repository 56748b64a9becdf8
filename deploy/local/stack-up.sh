#!/usr/bin/env bash
# Starts btpipe's local stack on 127.0.0.1 and waits until each part is healthy:
#   - Apache Kafka 4.x, one KRaft node (broker+controller), from cached jars;
#   - moto's server: S3 that verifies SigV4 signatures, and AWS Batch without
#     Docker, provisioned with an access key, the buckets and a job queue.
# Idempotent: parts already running are left alone. Everything lives under
# .stack/ (logs/, pids, Kafka data) and the settings clients need are written
# to .stack/env (source it). Needs deploy/install-deps.sh to have run.
set -euo pipefail
. "$(dirname "$0")/stack-lib.sh"

usage() {
  cat <<EOF
usage: $0
Starts the local stack (Kafka on $STACK_HOST:$KAFKA_PORT, moto S3+Batch on
$STACK_HOST:$MOTO_PORT) and writes $STACK_DIR/env.
Environment: BTPIPE_KAFKA_PORT, BTPIPE_KAFKA_CONTROLLER_PORT, BTPIPE_MOTO_PORT,
BTPIPE_STACK_DIR, BTPIPE_KAFKA_HEAP, BTPIPE_VENV, BTPIPE_KAFKA_LIBS.
EOF
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

command -v java >/dev/null || stack_die "java not found: run deploy/install-deps.sh"
compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
  stack_die "no Kafka jars in $KAFKA_LIBS: run deploy/install-deps.sh"
[ -x "$STACK_VENV/bin/python" ] ||
  stack_die "no Python venv at $STACK_VENV: run deploy/install-deps.sh"
mkdir -p "$STACK_LOGS"
t0=$(date +%s)

# wait_for WHAT SECONDS CMD...: poll CMD every 0.25 s until it succeeds.
wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for i in $(seq 1 $((secs * 4))); do
    if "$@"; then return 0; fi
    sleep 0.25
  done
  stack_die "$what not healthy after ${secs} s (logs in $STACK_LOGS)"
}

# A port held by a process that is not ours means another stack (or anything
# else) is there; starting a second one would only fail obscurely later.
claim_port() {
  if stack_port_open "$1"; then
    stack_die "port $1 ($2) is already in use by another process; set $3 to use another"
  fi
}

# ---------------------------------------------------------------- Kafka
kafka_dir="$STACK_DIR/kafka"
kafka_props="$kafka_dir/server.properties"

kafka_healthy() {
  # A full metadata round trip, not just an open port: the broker must be
  # registered with the controller and unfenced.
  stack_kafka_java org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "$STACK_HOST:$KAFKA_PORT" 2>>"$STACK_LOGS/kafka-tools.log" |
    grep -q 'isFenced: false'
}

kafka_start() {
  claim_port "$KAFKA_PORT" "Kafka" BTPIPE_KAFKA_PORT
  claim_port "$KAFKA_CONTROLLER_PORT" "Kafka controller" BTPIPE_KAFKA_CONTROLLER_PORT
  mkdir -p "$kafka_dir/data"
  sed -e "s|@BROKER_PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$kafka_dir/data|g" \
    "$stack_here/server.properties.in" >"$kafka_props"
  if [ ! -f "$kafka_dir/data/meta.properties" ]; then
    local id
    # A Kafka cluster id is 16 random bytes in URL-safe base64 without
    # padding; one not starting with '-' (as Kafka's own random-uuid does) so
    # no CLI mistakes it for an option. Saves a JVM start over random-uuid.
    id=-
    while [ "${id:0:1}" = - ]; do
      id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    stack_log "formatting Kafka storage (cluster $id)"
    stack_kafka_java kafka.tools.StorageTool format -t "$id" -c "$kafka_props" \
      >>"$STACK_LOGS/kafka-tools.log"
  fi
  stack_log "starting Kafka on $STACK_HOST:$KAFKA_PORT"
  # setsid + closed stdin/stdout: the broker outlives this script and holds no
  # pipe of its caller open (ctest or CI would otherwise wait on it).
  # shellcheck disable=SC2086
  setsid java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$stack_here/log4j2.properties" \
    -Dbtpipe.log.file="$STACK_LOGS/kafka.log" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$kafka_props" \
    </dev/null >>"$STACK_LOGS/kafka.out" 2>&1 &
  echo "$! kafka.Kafka $kafka_props" >"$STACK_DIR/kafka.pid"
  wait_for "Kafka port $KAFKA_PORT" 90 stack_port_open "$KAFKA_PORT"
  wait_for "Kafka metadata" 60 kafka_healthy
}

if stack_pid_alive kafka; then
  wait_for "Kafka (already running)" 60 kafka_healthy
  stack_log "Kafka already running (pid $(stack_pid kafka))"
else
  rm -f "$STACK_DIR/kafka.pid"
  kafka_start
fi
stack_log "Kafka healthy on $STACK_HOST:$KAFKA_PORT"

# ---------------------------------------------------------------- moto
moto_url="http://$STACK_HOST:$MOTO_PORT"
moto_healthy() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$moto_url/moto-api/")" = 200 ]
}

moto_start() {
  claim_port "$MOTO_PORT" "moto S3/Batch" BTPIPE_MOTO_PORT
  stack_log "starting moto (S3 + Batch) on $moto_url"
  # Through moto_raw_uri.py: plain moto checks signatures against a URL that
  # werkzeug has already percent-decoded, and so refuses correctly signed
  # requests whose path or query holds an escaped character.
  setsid "$STACK_VENV/bin/python" "$stack_here/moto_raw_uri.py" -H "$STACK_HOST" -p "$MOTO_PORT" \
    </dev/null >>"$STACK_LOGS/moto.log" 2>&1 &
  echo "$! moto_raw_uri.py -H $STACK_HOST -p $MOTO_PORT" >"$STACK_DIR/moto.pid"
  wait_for "moto" 60 moto_healthy
  # moto keeps its state in memory, so a new moto always needs provisioning;
  # the access key it makes is new each time and lands in .stack/aws.env.
  stack_log "provisioning moto: IAM key, SigV4 checks on, buckets, Batch queue"
  "$STACK_VENV/bin/python" "$stack_here/moto_setup.py" --endpoint "$moto_url" \
    --region "$STACK_REGION" >"$STACK_DIR/aws.env.tmp" 2>>"$STACK_LOGS/moto-setup.log" ||
    stack_die "moto provisioning failed (see $STACK_LOGS/moto-setup.log)"
  mv "$STACK_DIR/aws.env.tmp" "$STACK_DIR/aws.env"
}

if stack_pid_alive moto && [ -s "$STACK_DIR/aws.env" ]; then
  wait_for "moto (already running)" 30 moto_healthy
  stack_log "moto already running (pid $(stack_pid moto))"
else
  # Running without its provisioning record means a half-done start: redo it.
  stack_stop moto
  rm -f "$STACK_DIR/aws.env"
  moto_start
fi
stack_log "moto healthy on $moto_url"

# ---------------------------------------------------------------- env
{
  echo "# btpipe local stack: source this file. Written by deploy/local/stack-up.sh."
  echo "export BTPIPE_STACK_DIR=$STACK_DIR"
  echo "export BTPIPE_KAFKA_BROKERS=$STACK_HOST:$KAFKA_PORT"
  echo "export BTPIPE_KAFKA_LIBS=$KAFKA_LIBS"
  echo "export AWS_ENDPOINT_URL=$moto_url"
  echo "export AWS_REGION=$STACK_REGION"
  echo "export AWS_DEFAULT_REGION=$STACK_REGION"
  echo "export AWS_EC2_METADATA_DISABLED=true"
  echo "export BTPIPE_S3_PATH_STYLE=1"
  cat "$STACK_DIR/aws.env"
} >"$STACK_DIR/env.tmp"
mv "$STACK_DIR/env.tmp" "$STACK_DIR/env"
stack_log "up in $(($(date +%s) - t0)) s; settings in $STACK_DIR/env, logs in $STACK_LOGS"
