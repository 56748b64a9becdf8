# Sourced by the stack's shell tests: loads the stack's settings unless the
# caller already did, and gives a fail helper that names the check.
root="${BTPIPE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
if [ -z "${BTPIPE_KAFKA_BROKERS:-}" ] || [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  env_file="${BTPIPE_STACK_DIR:-$root/.stack}/env"
  [ -f "$env_file" ] || {
    echo "FAIL: no $env_file: start the stack with deploy/local/stack-up.sh" >&2
    exit 1
  }
  # shellcheck disable=SC1090
  . "$env_file"
fi
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
