#!/usr/bin/env bash
# ctest entry for the kill -9 test: runs it with the project's venv Python
# (boto3 comes from there; deploy/install-deps.sh makes it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py="${BTPIPE_VENV:-$root/.venv}/bin/python"
[ -x "$py" ] || { echo "chaos: no venv python at $py: run deploy/install-deps.sh" >&2; exit 1; }
exec "$py" "$here/chaos_kill9.py" "$@"
