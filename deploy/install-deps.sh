#!/usr/bin/env bash
# Installs every dependency btpipe needs on a fresh Debian 12 machine.
# Idempotent: each step checks before it acts, so running it twice is cheap.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

apt_pkgs=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  librdkafka-dev libcurl4-openssl-dev libssl-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libevent-dev libjansson-dev libexpat1-dev zlib1g-dev libcmocka-dev
  clang llvm clang-format libclang-rt-14-dev valgrind
  openjdk-17-jre-headless maven python3 python3-venv python3-pip
)

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python test infrastructure lives in its own venv so it never fights the
# system interpreter; the version pins keep reference numbers reproducible.
venv="${BTPIPE_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.btpipe-reqs"
reqs="$here/requirements-test.txt"
if [ ! -f "$stamp" ] || ! cmp -s "$reqs" "$stamp"; then
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$reqs"
  cp "$reqs" "$stamp"
fi

# Kafka jars come from Maven Central and are cached under deploy/local/.cache.
"$here/local/fetch-kafka.sh"
echo "install-deps: ok" >&2
