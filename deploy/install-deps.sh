#!/usr/bin/env bash
# Installs every dependency btpipe needs on a fresh Debian 12 machine (as root):
# the Debian packages, a Python venv at <repo>/.venv with the test tools of
# deploy/requirements-test.txt, and the Kafka jars in deploy/local/.cache.
# Idempotent: each step checks before it acts, so a second run takes seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
t0=$(date +%s)

apt_pkgs=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  librdkafka-dev libcurl4-openssl-dev libssl-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libevent-dev libjansson-dev libexpat1-dev zlib1g-dev libdeflate-dev libcmocka-dev
  clang llvm clang-format libclang-rt-14-dev valgrind
  openjdk-17-jre-headless maven python3 python3-venv python3-pip
)

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  echo "install-deps: apt installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Python test tools live in their own venv so they never fight the system
# interpreter. Debian's python3 (not whatever python3 is first on PATH) makes
# the venv the same on every machine; the pins keep reference numbers stable.
venv="${BTPIPE_VENV:-$root/.venv}"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1 || [ ! -x "$venv/bin/pip" ]; then
  echo "install-deps: creating Python venv at $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi
stamp="$venv/.btpipe-reqs"
reqs="$here/requirements-test.txt"
if [ ! -f "$stamp" ] || ! cmp -s "$reqs" "$stamp"; then
  echo "install-deps: pip installing $reqs" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" >&2
  cp "$reqs" "$stamp"
fi

# Kafka jars come from Maven Central and are cached under deploy/local/.cache.
"$here/local/fetch-kafka.sh"
echo "install-deps: ok ($(($(date +%s) - t0)) s)" >&2
