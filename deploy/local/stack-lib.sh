# Shared settings and helpers for stack-up.sh, stack-down.sh and the stack
# tests; sourced, never run. Every value can be overridden from the
# environment so two checkouts can run side by side on other ports.

stack_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stack_root=$(cd "$stack_here/../.." && pwd)

STACK_DIR="${BTPIPE_STACK_DIR:-$stack_root/.stack}"
STACK_LOGS="$STACK_DIR/logs"
STACK_HOST=127.0.0.1
KAFKA_PORT="${BTPIPE_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${BTPIPE_KAFKA_CONTROLLER_PORT:-19093}"
MOTO_PORT="${BTPIPE_MOTO_PORT:-15000}"
KAFKA_HEAP="${BTPIPE_KAFKA_HEAP:--Xmx512m -Xms128m}"
KAFKA_LIBS="${BTPIPE_KAFKA_LIBS:-${BTPIPE_CACHE_DIR:-$stack_here/.cache}/kafka/libs}"
STACK_VENV="${BTPIPE_VENV:-$stack_root/.venv}"
STACK_REGION="${BTPIPE_STACK_REGION:-us-east-1}"

stack_log() { echo "stack: $*" >&2; }
stack_die() {
  echo "stack: error: $*" >&2
  exit 1
}

# stack_pid_alive NAME: true when NAME's pid file names a live process that is
# still ours (the pid file also holds a marker from its command line, so a
# recycled pid is not mistaken for the service).
stack_pid_alive() {
  local f="$STACK_DIR/$1.pid" pid marker
  [ -f "$f" ] || return 1
  read -r pid marker <"$f" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -z "$marker" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

stack_pid() { cut -d' ' -f1 "$STACK_DIR/$1.pid"; }

# stack_port_open PORT: a TCP connect succeeds (bash's /dev/tcp, no tools).
stack_port_open() {
  (exec 3<>"/dev/tcp/$STACK_HOST/$1") 2>/dev/null
}

# stack_kafka_java CLASS ARGS...: run a Kafka class from the cached jars with
# its log going to the stack's log folder instead of the terminal.
stack_kafka_java() {
  local cls=$1
  shift
  java -Xmx256m -cp "$KAFKA_LIBS/*" \
    -Dlog4j2.configurationFile="$stack_here/log4j2.properties" \
    -Dbtpipe.log.file="$STACK_LOGS/kafka-tools.log" \
    "$cls" "$@"
}

# stack_stop NAME: SIGTERM, wait up to 30 s for a clean exit, then SIGKILL.
stack_stop() {
  local name=$1 pid i
  if stack_pid_alive "$name"; then
    pid=$(stack_pid "$name")
    stack_log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      stack_log "$name did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$STACK_DIR/$name.pid"
}
