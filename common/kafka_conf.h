/* kafka_conf.h -- librdkafka configuration built from btpipe's settings.
 * Internal to common/kafka*.c and their tests; services use kafka.h. */
#ifndef BTPIPE_KAFKA_CONF_H
#define BTPIPE_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;

enum kafka_client_kind { KAFKA_PRODUCER, KAFKA_CONSUMER, KAFKA_ADMIN };

#define KAFKA_PROP_PREFIX "BTPIPE_KAFKA_PROP_"

/* Turns the part of a variable name after BTPIPE_KAFKA_PROP_ into a librdkafka
 * property: "_" becomes ".", and "__" becomes a literal "_" (the escape for
 * the one name shape the plain rule cannot express). 0, or BT_ECONFIG when
 * the result is empty or does not fit. */
int kafka_prop_name(const char *suffix, char *out, size_t outsz, struct bt_err *err);
/* True for properties whose values are secrets and must never be logged. */
int kafka_prop_secret(const char *prop);
/* A conf with bootstrap.servers, btpipe's defaults for the kind, every
 * BTPIPE_KAFKA_PROP_* pass-through, then the settings btpipe's delivery
 * guarantees rest on (idempotence, acks, manual commits), and the log and
 * error callbacks. NULL with err filled (naming the variable) on failure. */
rd_kafka_conf_t *kafka_conf_new(const struct config *cfg, enum kafka_client_kind kind,
                                struct bt_err *err);
/* True for broker answers that pass by themselves (no leader yet for a fresh
 * topic, coordinator loading, timeouts): the caller asks again after
 * kafka_backoff_ms(attempt), within its own deadline. */
int kafka_err_transient(rd_kafka_resp_err_t e);
/* Wait before retry number attempt (0-based): 50 ms doubling, at most 1 s. */
int kafka_backoff_ms(int attempt);
int64_t kafka_mono_ms(void);
void kafka_sleep_ms(int ms);
/* One partition of a topic and its low and high watermarks. */
struct kafka_part_offsets {
    int32_t partition;
    int64_t low, high;
};
/* The partitions of topic with their watermarks, once every partition has a
 * leader that answers ListOffsets (what a reader asks first): transient
 * answers are retried with backoff until deadline_ms (kafka_mono_ms clock).
 * An unknown topic is BT_ENOTFOUND at once, unless unknown_transient (the
 * caller just created it). *out is malloc'd (free it); BT_ENET naming the last
 * error when the deadline passes. */
int kafka_topic_offsets(rd_kafka_t *rk, const char *topic, int64_t deadline_ms,
                        int unknown_transient, struct kafka_part_offsets **out, int *n,
                        struct bt_err *err);
/* Validates BTPIPE_TOPIC_PREFIX: Kafka topic characters only. */
int kafka_topic_prefix_check(const struct config *cfg, struct bt_err *err);

#endif
