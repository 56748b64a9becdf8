#!/usr/bin/env bash
# Stops btpipe's local stack (moto, then Kafka). Idempotent: stopping a stack
# that is not running is fine. --wipe also deletes its data (Kafka logs, the
# stack's log folder and settings) so the next stack-up.sh starts clean.
set -euo pipefail
. "$(dirname "$0")/stack-lib.sh"

wipe=0
case "${1:-}" in
  --wipe) wipe=1 ;;
  "") ;;
  -h | --help)
    echo "usage: $0 [--wipe]   (stack folder: $STACK_DIR)"
    exit 0
    ;;
  *)
    echo "usage: $0 [--wipe]" >&2
    exit 2
    ;;
esac

[ -d "$STACK_DIR" ] || exit 0
stack_stop moto
stack_stop kafka
# moto's state died with it, so its key and the env built on it are stale.
rm -f "$STACK_DIR/aws.env" "$STACK_DIR/env"
if [ "$wipe" = 1 ]; then
  stack_log "wiping $STACK_DIR"
  rm -rf "$STACK_DIR"
fi
stack_log "down"
