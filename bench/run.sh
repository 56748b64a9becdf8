#!/usr/bin/env bash
# Runs the benchmark: installs the peers (pandas, vectorbt) in their own
# venv, builds btpipe optimised, then bench/run.py side by side.
# Usage: bench/run.sh [run.py options, e.g. --repeat 5]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/install-deps.sh"
venv="$root/.venv-bench"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! cmp -s "$root/bench/requirements.txt" "$venv/.btpipe-reqs" 2>/dev/null; then
  "$venv/bin/pip" install -q -r "$root/bench/requirements.txt"
  cp "$root/bench/requirements.txt" "$venv/.btpipe-reqs"
fi
build="$root/build-bench"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" btpipe-runner bench_load >/dev/null
exec "$venv/bin/python" "$root/bench/run.py" --build "$build" --python "$venv/bin/python" "$@"
