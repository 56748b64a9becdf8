#!/usr/bin/env bash
# valgrind_check.sh RUNNER SHARED_DIR -- the engine is valgrind-clean on the
# shared data: runner commands covering the engine (both vendor layouts,
# gzip and plain, unsorted rows and suspensions, expressions, the three
# strategies, state in and out, many pairs on worker threads, a bad pair)
# run under memcheck, and any error or definite leak fails the test. Threads stay on (2) so the
# pool's hand-over is checked too.
set -euo pipefail
runner=$1 shared=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BTPIPE_THREADS=2
vg() {
  valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$@"
}
ash=$shared/data/seed-ashare
sp=$shared/data/sp500-5y
mkdir "$work/sp"
files=("$sp"/*.csv.gz)
for f in "${files[@]:0:40}"; do ln -s "$f" "$work/sp/"; done

echo "valgrind: ashare backtest with state out, then the incremental rest"
vg "$runner" backtest --data "$ash/600519.csv" --layout ashare --factor 'close - ts_mean(close, 15)' \
  --strategy signal --to 2019-12-31 --state-out "$work/s1" --out "$work/o1"
vg "$runner" backtest --data "$ash/600519.csv" --layout ashare --factor 'close - ts_mean(close, 15)' \
  --strategy signal --from 2020-01-01 --state-in "$work/s1" --out "$work/o2"

echo "valgrind: sp500 (40 gzip files) batch, three kinds, shared factors"
cat >"$work/pairs.json" <<'JSON'
[{"id": "a", "factor": "rank(ts_delta(close, 5))", "strategy": "signal", "params": {}},
 {"id": "b", "factor": "rank(ts_delta(close, 5))", "strategy": "long_short_quantile", "params": {}},
 {"id": "c", "factor": "-ts_corr(rank(open), rank(volume), 10)", "strategy": "topk_dropout",
  "params": {"k": 10, "n": 2}},
 {"id": "d", "factor": "ts_mean(close, 40) / ts_mean(close, 5) - 1", "strategy": "long_short_quantile",
  "params": {"quantiles": 4}},
 {"id": "e", "factor": "no_such(close)", "strategy": "signal", "params": {}}]
JSON
set +e
vg "$runner" batch --data "$work/sp" --layout yahoo --pairs "$work/pairs.json" --out "$work/b"
rc=$?
set -e
# pair e is bad input (exit 2); anything else, valgrind's 99 included, fails
[ "$rc" = 2 ] || { echo "valgrind: batch exit $rc, want 2"; exit 1; }
[ -s "$work/b/d/series.csv" ] || { echo "valgrind: batch wrote no series"; exit 1; }

echo "valgrind: factor panel of the .SH files (unsorted rows, suspensions)"
vg "$runner" factor --data "$ash/600419.SH.csv" "$ash/600446.SH.csv" --layout ashare \
  --expr 'decay_linear(returns, 10)' --out "$work/f.csv"
echo "valgrind: clean"
