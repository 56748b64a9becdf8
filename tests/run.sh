#!/usr/bin/env bash
# Runs every btpipe test; the one command the README names (and .ci/run calls).
#   1. installs what is missing (deploy/install-deps.sh);
#   2. builds build/ (normal) and build-asan/ (ASan+UBSan) with Ninja;
#   3. runs the unit tests under ASan+UBSan;
#   4. builds the libFuzzer targets with clang (build-fuzz/) and runs each
#      briefly over its seed corpus;
#   5. starts the local stack, runs all tests of the normal build (unit,
#      integration, e2e) against it, and always stops the stack.
# Progress goes to stderr; ctest's own summary is the last thing printed.
# Environment: BTPIPE_JOBS (build parallelism, default 2), BTPIPE_FUZZ_SECONDS
# (per target, default 10), BTPIPE_CTEST_ARGS (extra ctest arguments),
# BTPIPE_SKIP_FUZZ=1 / BTPIPE_SKIP_ASAN=1 to skip those stages locally.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs="${BTPIPE_JOBS:-2}"
fuzz_secs="${BTPIPE_FUZZ_SECONDS:-10}"
t0=$(date +%s)
step() { echo "== run.sh [$(($(date +%s) - t0)) s] $*" >&2; }
die() {
  echo "== run.sh: FAILED: $*" >&2
  exit 1
}

step "installing dependencies"
bash deploy/install-deps.sh

# configure DIR ARGS...: (re)configure DIR, so changed options reach its cache.
configure() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cmake -S "$root" -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log" >&2
    die "cmake configure of $dir"
  }
}

step "building build/ (normal)"
configure build
ninja -C build -j "$jobs" >&2 || die "build of build/"

if [ "${BTPIPE_SKIP_ASAN:-0}" != 1 ]; then
  step "building build-asan/ (ASan+UBSan)"
  configure build-asan -DBTPIPE_SANITIZE=ON
  ninja -C build-asan -j "$jobs" >&2 || die "build of build-asan/"
  step "unit tests under ASan+UBSan"
  (
    cd build-asan
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    ctest -L unit --output-on-failure -j "$jobs" >&2
  ) || die "unit tests under ASan+UBSan"
fi

if [ "${BTPIPE_SKIP_FUZZ:-0}" != 1 ]; then
  step "building fuzz targets (clang, build-fuzz/)"
  # The top-level CMakeLists instruments the libraries too under BTPIPE_FUZZ,
  # so libFuzzer sees coverage inside the parsers, not only the harnesses.
  configure build-fuzz -DBTPIPE_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-fno-omit-frame-pointer
  targets=()
  for src in fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    targets+=("$(basename "$src" .c)")
  done
  if [ ${#targets[@]} -gt 0 ]; then
    ninja -C build-fuzz -j "$jobs" "${targets[@]}" >&2 || die "build of fuzz targets"
    mkdir -p build-fuzz/artifacts
    for t in "${targets[@]}"; do
      name=${t#fuzz_}
      # New inputs go to a scratch folder: the committed corpus only changes
      # when someone means it to.
      scratch="build-fuzz/corpus-new/$name"
      mkdir -p "$scratch"
      seeds=()
      for d in "fuzz/corpus/$name" "fuzz/corpus/$t"; do
        [ -d "$d" ] && seeds+=("$d")
      done
      step "fuzzing $t for ${fuzz_secs} s (seeds: ${seeds[*]:-none})"
      "build-fuzz/fuzz/$t" -max_total_time="$fuzz_secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
        "$scratch" "${seeds[@]}" >"build-fuzz/$t.log" 2>&1 ||
        {
          tail -n 60 "build-fuzz/$t.log" >&2
          die "fuzz target $t found a failure (log build-fuzz/$t.log, artifacts build-fuzz/artifacts/)"
        }
      grep -E '^stat::number_of_executed_units' "build-fuzz/$t.log" | sed "s/^/  $t /" >&2 || true
    done
  else
    step "no fuzz targets in fuzz/"
  fi
fi

step "starting the local stack"
stop_stack() {
  # Quietly: the last lines of the run belong to ctest.
  "$root/deploy/local/stack-down.sh" >>"${BTPIPE_STACK_DIR:-$root/.stack}/stack-down.log" 2>&1 || true
}
trap stop_stack EXIT
deploy/local/stack-up.sh || die "local stack did not come up (logs in .stack/logs)"
# shellcheck disable=SC1091
. "${BTPIPE_STACK_DIR:-$root/.stack}/env"

step "all tests of build/ (unit, integration, e2e) against the local stack"
cd build
# shellcheck disable=SC2086
ctest --output-on-failure ${BTPIPE_CTEST_ARGS:-}
