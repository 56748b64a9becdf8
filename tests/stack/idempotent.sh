#!/usr/bin/env bash
# stack-up.sh on a running stack is a no-op: it succeeds, keeps the same
# processes and the same access key (moto was not restarted, so every client
# holding the env keeps working).
set -euo pipefail
. "$(dirname "$0")/common.sh"
sd="${BTPIPE_STACK_DIR:-$root/.stack}"
before_pids="$(cut -d' ' -f1 "$sd/kafka.pid") $(cut -d' ' -f1 "$sd/moto.pid")"
before_key=$(grep AWS_ACCESS_KEY_ID "$sd/env")
"$root/deploy/local/stack-up.sh" 2>/dev/null || fail "stack-up.sh on a running stack exited $?"
after_pids="$(cut -d' ' -f1 "$sd/kafka.pid") $(cut -d' ' -f1 "$sd/moto.pid")"
after_key=$(grep AWS_ACCESS_KEY_ID "$sd/env")
[ "$before_pids" = "$after_pids" ] || fail "pids changed: $before_pids -> $after_pids"
[ "$before_key" = "$after_key" ] || fail "access key changed: $before_key -> $after_key"
for p in $after_pids; do kill -0 "$p" || fail "process $p is gone"; done
echo "ok: second stack-up kept pids $after_pids and the key"
echo "1 passed, 0 failed"
