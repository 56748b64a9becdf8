#!/usr/bin/env bash
# The local Kafka answers the protocol, is a single unfenced KRaft node, and
# creates, lists, writes, reads and deletes a topic, using the Kafka project's
# own CLI classes from the cached jars (an implementation independent of ours).
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$root/deploy/local/stack-lib.sh"
mkdir -p "$STACK_LOGS"
b="$BTPIPE_KAFKA_BROKERS"
topic="btpipe.test.stack.$$.$(date +%s)"
k() { stack_kafka_java "$@"; }

out=$(k org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$b")
echo "$out" | grep -q 'isFenced: false' || fail "broker at $b not registered/unfenced: $out"
echo "$out" | grep -q 'Produce(0)' || fail "broker at $b lists no Produce API: $out"
echo "ok: broker $b answers ApiVersions and is unfenced"

# auto.create.topics.enable=false: services must create their own topics.
cfg=$(k kafka.admin.ConfigCommand --bootstrap-server "$b" \
  --entity-type brokers --entity-name 1 --describe --all)
echo "$cfg" | grep -q 'auto.create.topics.enable=false' ||
  fail "auto.create.topics.enable is not false on the broker"
echo "ok: auto topic creation is off"

cleanup() { k org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --delete --topic "$topic" >/dev/null 2>&1 || true; }
trap cleanup EXIT

k org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --create \
  --topic "$topic" --partitions 3 --replication-factor 1 >/dev/null
desc=$(k org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --describe --topic "$topic")
echo "$desc" | grep -q 'PartitionCount: 3' || fail "created topic $topic has not 3 partitions: $desc"
echo "ok: created $topic with 3 partitions"

printf 'alpha\nbeta\ngamma\n' | k org.apache.kafka.tools.ConsoleProducer \
  --bootstrap-server "$b" --topic "$topic" --producer-property acks=all >/dev/null
got=$(k org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$b" \
  --topic "$topic" --from-beginning --max-messages 3 --timeout-ms 30000 2>/dev/null | sort | tr '\n' ' ')
[ "$got" = "alpha beta gamma " ] || fail "read back '$got' from $topic, wanted 'alpha beta gamma '"
echo "ok: wrote and read back 3 records"

k org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --delete --topic "$topic" >/dev/null
for i in $(seq 1 40); do
  k org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --list | grep -qxF "$topic" || break
  [ "$i" -lt 40 ] || fail "topic $topic still listed after delete"
  sleep 0.5
done
trap - EXIT
echo "ok: deleted $topic"
echo "1 passed, 0 failed"
