#!/usr/bin/env bash
# Fetches the Apache Kafka broker jars (and their runtime dependencies) from
# Maven Central into deploy/local/.cache/kafka/libs. Idempotent: a stamp that
# holds the pom's checksum skips the work when the jars are already there.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache="${BTPIPE_CACHE_DIR:-$here/.cache}"
pom="$here/kafka-pom.xml"
libs="$cache/kafka/libs"
stamp="$cache/kafka/.stamp"
want=$(sha256sum "$pom" | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
  exit 0
fi

echo "fetch-kafka: resolving Kafka jars from Maven Central into $libs" >&2
mkdir -p "$cache/m2" "$cache/kafka"
rm -rf "$libs.tmp"
# A private local repository keeps the download beside the jars it feeds and
# away from whatever ~/.m2 holds; -B and -ntp keep CI logs readable.
log="$cache/kafka/mvn.log"
if ! mvn -B -ntp -Dstyle.color=never -f "$pom" \
  -Dmaven.repo.local="$cache/m2" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "fetch-kafka: mvn failed (full log: $log)" >&2
  exit 1
fi
rm -rf "$libs"
mv "$libs.tmp" "$libs"
echo "$want" >"$stamp"
echo "fetch-kafka: $(ls "$libs" | wc -l) jars" >&2
