#!/usr/bin/env bash
# btpipe's main job, on this machine: brings up the local stack (Kafka + moto
# S3/Batch), starts ingest, planner and collector, lands real daily bars from
# ../shared/data into the S3 data bucket one trading date at a time, registers
# factors and strategies with btctl, and prints the aggregated results from
# <prefix>.results as they arrive, ending with the final table.
#
# Services log to .stack/logs/{ingest,planner,collector}.log. At the end (or
# on Ctrl-C) the services are stopped; the stack is stopped too (and wiped,
# so that the next demo starts clean; the service logs are copied to
# build/demo-logs first) when this script started it, and left alone when it
# was already running. BTPIPE_DEMO_KEEP_STACK=1 keeps it up.
#
# Knobs (environment): BTPIPE_DEMO_SYMBOLS (sp500 symbols, default 40),
# BTPIPE_DEMO_FROM / BTPIPE_DEMO_TO (default 2019-09-03 .. 2019-11-29),
# BTPIPE_DEMO_TIMEOUT (seconds to wait for the last results, default 300),
# BTPIPE_BUILD_DIR (default build/).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared="${BTPIPE_SHARED_DIR:-$(cd "$root/.." && pwd)/shared}"
build="${BTPIPE_BUILD_DIR:-$root/build}"
nsym="${BTPIPE_DEMO_SYMBOLS:-40}"
from="${BTPIPE_DEMO_FROM:-2019-09-03}"
to="${BTPIPE_DEMO_TO:-2019-11-29}"
wait_s="${BTPIPE_DEMO_TIMEOUT:-300}"

case "${1:-}" in
  -h | --help)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  "") ;;
  *)
    echo "usage: $0 [--help]" >&2
    exit 2
    ;;
esac

say() { printf '\n\033[1mdemo: %s\033[0m\n' "$*" >&2; }
die() {
  echo "demo: error: $*" >&2
  exit 1
}
[ -d "$shared/data/sp500-5y" ] || die "no shared data at $shared/data (set BTPIPE_SHARED_DIR)"

# ------------------------------------------------------------ dependencies
say "installing what is missing (deploy/install-deps.sh)"
"$root/deploy/install-deps.sh"
py="${BTPIPE_VENV:-$root/.venv}/bin/python"

# ------------------------------------------------------------ build
say "building into $build"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$build" btpipe-ingest btpipe-planner btpipe-collector btpipe-runner btctl
bin_ingest="$build/services/ingest/btpipe-ingest"
bin_planner="$build/services/planner/btpipe-planner"
bin_collector="$build/services/collector/btpipe-collector"
bin_runner="$build/services/runner/btpipe-runner"
btctl="$build/tools/btctl/btctl"

# ------------------------------------------------------------ stack
. "$here/stack-lib.sh"
started_stack=0
if stack_pid_alive kafka && stack_pid_alive moto && [ -s "$STACK_DIR/env" ]; then
  say "reusing the local stack that is already running"
else
  say "starting the local stack (deploy/local/stack-up.sh)"
  "$here/stack-up.sh"
  started_stack=1
fi
set -a
. "$STACK_DIR/env"
set +a
# On a stack someone else started, topics and objects of earlier runs may
# exist: a prefix and dataset names of this run's own keep the demo fresh.
tag=""
if [ "$started_stack" = 0 ] && [ -z "${BTPIPE_TOPIC_PREFIX:-}" ]; then
  tag="-$(date +%s)"
  export BTPIPE_TOPIC_PREFIX="btpipe-demo$tag"
fi
export BTPIPE_TOPIC_PREFIX="${BTPIPE_TOPIC_PREFIX:-btpipe}"
ds_us="sp500$tag"
ds_cn="ashare$tag"
export BTPIPE_DATASETS="$ds_us,$ds_cn"
export BTPIPE_INGEST_POLL_MS="${BTPIPE_INGEST_POLL_MS:-1000}"
export BTPIPE_RUNNER_PATH="$bin_runner"
logs="$STACK_DIR/logs"
mkdir -p "$logs"

# ------------------------------------------------------------ services
pids=()
names=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "${watch_pid:-}" ] && kill -TERM "$watch_pid" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" 2>/dev/null || true
  done
  [ ${#pids[@]} -gt 0 ] && echo "demo: stopped ${names[*]}" >&2
  if [ "$started_stack" = 1 ] && [ "${BTPIPE_DEMO_KEEP_STACK:-0}" != 1 ]; then
    # The wipe takes .stack/logs along: keep the services' logs.
    mkdir -p "$build/demo-logs"
    cp "$logs"/{ingest,planner,collector}.log "$build/demo-logs/" 2>/dev/null &&
      echo "demo: service logs kept in $build/demo-logs" >&2
    "$here/stack-down.sh" --wipe || true
  elif [ "$started_stack" = 1 ]; then
    echo "demo: the stack stays up (BTPIPE_DEMO_KEEP_STACK=1); deploy/local/stack-down.sh stops it" >&2
  fi
  rm -rf "${work:-}"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {
  local name=$1
  shift
  "$@" >>"$logs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  echo "demo: $name running (pid $!, log $logs/$name.log)" >&2
}
# ------------------------------------------------------------ registry
say "registering factors and strategies (this also creates the topics)"
"$btctl" factor register --id mom5 --expr 'rank(ts_delta(close, 5))' --universe "$ds_us" \
  --description '5-day momentum, cross-sectional rank'
"$btctl" factor register --id sma15 --expr 'close - ts_mean(close, 15)' --universe "$ds_cn" \
  --description 'close above its 15-day moving average (the workshop strategy)'
"$btctl" strategy register --id lsq5 --kind long_short_quantile --param quantiles=5 \
  --param cost_bps=5 --description 'dollar-neutral top/bottom quintile'
"$btctl" strategy register --id sma_signal --kind signal --param cash=100000 \
  --param commission=0.0002 --description 'long while the factor is positive'

# Fresh topics need their partition leaders before a service reads them
# from the beginning; wait until they answer.
for i in $(seq 1 60); do
  "$btctl" factor list >/dev/null 2>&1 && "$btctl" results list >/dev/null 2>&1 && break
  sleep 0.5
done
sleep 1

say "starting ingest, planner and collector (prefix $BTPIPE_TOPIC_PREFIX)"
start ingest "$bin_ingest"
start planner "$bin_planner"
start collector "$bin_collector"

# ------------------------------------------------------------ data
work=$(mktemp -d "${TMPDIR:-/tmp}/btpipe-demo.XXXXXX")
say "importing $nsym sp500 stocks and the A-share set, $from .. $to, into daily partitions"
mapfile -t us_files < <(ls "$shared"/data/sp500-5y/*_data.csv.gz | head -n "$nsym")
"$btctl" data import --layout yahoo --from "$from" --to "$to" --out "$work/$ds_us" "${us_files[@]}"
"$btctl" data import --layout ashare --from "$from" --to "$to" --out "$work/$ds_cn" \
  "$shared"/data/seed-ashare/*.csv

# ------------------------------------------------------------ watch + land
say "aggregated results as they arrive on $BTPIPE_TOPIC_PREFIX.results"
"$btctl" results watch &
watch_pid=$!

say "landing the daily files in s3://$BTPIPE_DATA_BUCKET one date at a time"
"$py" - "$work" "$ds_us" "$ds_cn" <<'EOF'
import os, sys, time
import boto3
from botocore.config import Config
work, datasets = sys.argv[1], sys.argv[2:]
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ["AWS_ENDPOINT_URL"],
                  region_name=os.environ.get("AWS_REGION", "us-east-1"),
                  config=Config(s3={"addressing_style": "path"}))
bucket = os.environ["BTPIPE_DATA_BUCKET"]
try:  # ingest lists "<dataset>/daily/": the endpoint must verify that right
    s3.list_objects_v2(Bucket=bucket, Prefix=f"{datasets[0]}/daily/")
except Exception as e:
    sys.exit(f"demo: the S3 endpoint refuses a signed listing with a '/' prefix ({e}); "
             "start moto through deploy/local/moto_raw_uri.py (deploy/local/stack-up.sh)")
files = {}
for ds in datasets:
    for dirpath, _, names in os.walk(os.path.join(work, ds)):
        for n in names:
            files.setdefault(n.split(".")[0], []).append((ds, os.path.join(dirpath, n), n))
for i, date in enumerate(sorted(files)):
    for ds, path, name in files[date]:
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=f"{ds}/daily/{date[:4]}/{name}", Body=f.read())
    if i % 10 == 0 or i == len(files) - 1:
        print(f"demo: landed {date} ({i + 1}/{len(files)} dates)", file=sys.stderr, flush=True)
    time.sleep(0.3)
EOF

# ------------------------------------------------------------ wait for the end
lasts=""
for ds in "$ds_us" "$ds_cn"; do
  lasts="$lasts $ds=$(find "$work/$ds" -name '*.csv*' | sed 's|.*/||; s|\..*||' | sort | tail -n 1)"
done
say "waiting (up to ${wait_s} s) until every pair's result reaches its dataset's last date:$lasts"
deadline=$(($(date +%s) + wait_s))
while :; do
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || die "${names[$i]} died; see $logs/${names[$i]}.log"
  done
  if "$btctl" results list --json 2>/dev/null | "$py" -c '
import json, sys
last = dict(a.split("=") for a in sys.argv[1:])
rs = [json.loads(l) for l in sys.stdin if l.strip()]
# four pairs: each strategy with each factor, on the dataset of the factor
done = [r for r in rs if r["status"] == "failing" or r["last_date"] >= last.get(r["dataset"], "9")]
sys.exit(0 if len(rs) >= 4 and len(done) == len(rs) else 1)
' $lasts; then
    break
  fi
  [ "$(date +%s)" -lt "$deadline" ] || {
    echo "demo: not every pair reached its last date within ${wait_s} s" >&2
    break
  }
  sleep 2
done
kill -TERM "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=""

say "final aggregated results (from $BTPIPE_TOPIC_PREFIX.results)"
"$btctl" results list
