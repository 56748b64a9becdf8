/* kafka.h -- thin wrappers over librdkafka for btpipe's services.
 *
 * Producer: idempotent (enable.idempotence=true, acks=all). A produce call
 * returns once the message is queued; kafka_producer_flush() returns once
 * every queued message is acknowledged by the brokers, and a service
 * commits consumer offsets only after that flush succeeded: that is what
 * "offsets are committed only after the effect is durable" means here.
 *
 * Consumer: manual offset commits (enable.auto.commit=false), starts from
 * the earliest offset when the group has none. kafka_consumer_commit()
 * commits the offsets of messages the caller has marked done.
 *
 * Brokers from BTPIPE_KAFKA_BROKERS; any librdkafka property passes
 * through as BTPIPE_KAFKA_PROP_<name with dots as underscores>, e.g.
 * BTPIPE_KAFKA_PROP_security_protocol=SASL_SSL ("__" stands for a literal
 * underscore; docs/configuration.md). Pass-through cannot switch off
 * idempotence, acks=all or manual commits. Topic names are
 * "<BTPIPE_TOPIC_PREFIX>.<name>" (prefix "btpipe"). */
#ifndef BTPIPE_KAFKA_H
#define BTPIPE_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct kafka_producer;
struct kafka_consumer;

enum topic_id {
    TOPIC_DATA_LANDED,
    TOPIC_FACTORS,
    TOPIC_STRATEGIES,
    TOPIC_JOBS,
    TOPIC_COMPLETIONS,
    TOPIC_RESULTS,
    TOPIC_DEADLETTER,
    TOPIC_COUNT
};

/* "<prefix>.<name>" for a topic, from configuration; static storage. */
const char *kafka_topic_name(const struct config *cfg, enum topic_id t);
/* Creates every btpipe topic that does not exist yet, with its partitions
 * (BTPIPE_TOPIC_PARTITIONS, default 1), replication (BTPIPE_TOPIC_REPLICATION,
 * default 1) and cleanup policy (compact; delete for deadletter); a topic that
 * already exists counts as created. */
int kafka_ensure_topics(const struct config *cfg, struct bt_err *err);

struct kafka_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL for none */
    size_t key_len;
    const void *value; /* NULL for a tombstone */
    size_t value_len;
    int64_t timestamp_ms;
};

int kafka_producer_new(const struct config *cfg, struct kafka_producer **out, struct bt_err *err);
/* value NULL produces a tombstone. */
int kafka_produce(struct kafka_producer *p, const char *topic, const void *key, size_t key_len,
                  const void *value, size_t value_len, struct bt_err *err);
/* Waits until every queued message is acknowledged or timeout_ms passes. */
int kafka_producer_flush(struct kafka_producer *p, int timeout_ms, struct bt_err *err);
void kafka_producer_free(struct kafka_producer *p); /* flushes first, at most 5 s */

int kafka_consumer_new(const struct config *cfg, const char *group_id, const char *const *topics,
                       size_t ntopics, struct kafka_consumer **out, struct bt_err *err);
/* Waits up to timeout_ms: 1 and *msg filled, 0 on timeout, <0 on error.
 * *msg stays valid until the next poll. Partition EOF is reported through
 * kafka_consumer_at_end(), not as a message. */
int kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms, struct kafka_msg *msg,
                        struct bt_err *err);
/* True once every assigned partition has been read to its end at least once:
 * how a service knows it has rebuilt its state from a compacted topic. */
int kafka_consumer_at_end(struct kafka_consumer *c);
/* Marks msg processed; its offset+1 is committed by the next commit. */
void kafka_consumer_mark(struct kafka_consumer *c, const struct kafka_msg *msg);
/* Synchronously commits marked offsets. */
int kafka_consumer_commit(struct kafka_consumer *c, struct bt_err *err);
/* Commits, leaves the group, frees. */
void kafka_consumer_close(struct kafka_consumer *c);

/* Reads a whole topic from the beginning to its current end, independent of
 * any group (for rebuilding state and for tests). fn returns non-zero to stop. */
int kafka_read_all(const struct config *cfg, const char *topic,
                   int (*fn)(const struct kafka_msg *m, void *ud), void *ud, int timeout_ms,
                   struct bt_err *err);

#endif
