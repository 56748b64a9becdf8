#!/usr/bin/env bash
# same_paths.sh RUNNER SHARED_DIR EXPRESSIONS -- the engine's code paths give
# the same bits on real data: the benchmark's 150 pairs (every expression x
# the three strategies) over all of sp500-5y, run with the default vector
# code and threads, with BTPIPE_SIMD=portable (what a CPU without AVX-512
# runs) and with one thread, must write byte-identical outputs.
set -euo pipefail
runner=$1 shared=$2 exprs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$exprs" >"$work/pairs.json" <<'PY'
import json, sys
exprs = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
pairs = [{"id": f"e{i:02d}_{k}", "factor": e, "strategy": k, "params": {}}
         for i, e in enumerate(exprs)
         for k in ("signal", "long_short_quantile", "topk_dropout")]
json.dump(pairs, sys.stdout)
PY
run() {
  local out=$1
  shift
  env "$@" "$runner" batch --data "$shared/data/sp500-5y" --layout yahoo \
    --pairs "$work/pairs.json" --out "$work/$out" >"$work/$out.log" 2>&1 || {
    cat "$work/$out.log" >&2
    echo "same_paths: the $out run failed" >&2
    exit 1
  }
}
run default BTPIPE_THREADS=2
run portable BTPIPE_THREADS=2 BTPIPE_SIMD=portable
run one_thread BTPIPE_THREADS=1
n=$(find "$work/default" -name series.csv | wc -l)
[ "$n" -eq 150 ] || { echo "same_paths: expected 150 pairs, got $n" >&2; exit 1; }
diff -r "$work/default" "$work/portable" >&2 || { echo "same_paths: portable differs" >&2; exit 1; }
diff -r "$work/default" "$work/one_thread" >&2 || { echo "same_paths: 1 thread differs" >&2; exit 1; }
echo "same_paths: 150 pairs identical with AVX-512/portable and 2/1 threads"
