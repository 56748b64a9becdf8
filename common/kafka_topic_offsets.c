/* kafka_topic_offsets.c -- a topic's partitions and watermarks, asked again
 * while the brokers answer "not yet" (no leader elected for a topic created
 * a moment ago, leadership moving), up to the caller's deadline. */
#include <stdio.h>
#include <stdlib.h>

#include "kafka_conf.h"
#include "log.h"

/* Longest single metadata or ListOffsets request: a broker that does not
 * answer is asked again rather than waited for until the whole deadline. */
#define REQUEST_MS 5000

/* One pass: 0 and *out filled, else the broker error (transient or not). */
static rd_kafka_resp_err_t offsets_once(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const char *topic,
                                        int timeout_ms, struct kafka_part_offsets **out, int *n) {
    const struct rd_kafka_metadata *md = NULL;
    struct kafka_part_offsets *po = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (e) goto fail;
    if (md->topic_cnt != 1) {
        e = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        goto fail;
    }
    const struct rd_kafka_metadata_topic *t = &md->topics[0];
    if ((e = t->err)) goto fail;
    if (t->partition_cnt <= 0) {
        e = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
        goto fail;
    }
    po = calloc((size_t)t->partition_cnt, sizeof *po);
    if (!po) abort();
    for (int i = 0; i < t->partition_cnt; i++) {
        if ((e = t->partitions[i].err)) goto fail;
        if (t->partitions[i].leader < 0) {
            e = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
            goto fail;
        }
    }
    for (int i = 0; i < t->partition_cnt; i++) {
        po[i].partition = t->partitions[i].id;
        e = rd_kafka_query_watermark_offsets(rk, topic, po[i].partition, &po[i].low, &po[i].high,
                                             timeout_ms);
        if (e) goto fail;
    }
    *out = po;
    *n = t->partition_cnt;
    po = NULL;
fail:
    free(po);
    if (md) rd_kafka_metadata_destroy(md);
    return e;
}

int kafka_topic_offsets(rd_kafka_t *rk, const char *topic, int64_t deadline_ms,
                        int unknown_transient, struct kafka_part_offsets **out, int *n,
                        struct bt_err *err) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    int rc = 0, attempt = 0;
    *out = NULL;
    *n = 0;
    if (!rkt) {
        rc = bt_err_set(err, BT_ECONFIG, topic, "kafka topic %s: %s", topic,
                        rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    for (;; attempt++) {
        int64_t left = deadline_ms - kafka_mono_ms();
        if (left <= 0) break;
        e = offsets_once(rk, rkt, topic, left < REQUEST_MS ? (int)left : REQUEST_MS, out, n);
        if (!e) goto fail; /* done: rc is 0 */
        if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && !unknown_transient) {
            rc = bt_err_set(err, BT_ENOTFOUND, topic, "kafka topic %s: %s", topic,
                            rd_kafka_err2str(e));
            goto fail;
        }
        if (e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && !kafka_err_transient(e)) {
            rc = bt_err_set(err, BT_ENET, topic, "kafka topic %s: %s", topic, rd_kafka_err2str(e));
            goto fail;
        }
        if (attempt == 3) /* a few quick retries are routine; more is worth a line */
            log_event(LOG_INFO, "kafka topic not ready yet, retrying", "topic", topic, "error",
                      rd_kafka_err2name(e), NULL);
        int wait = kafka_backoff_ms(attempt);
        left = deadline_ms - kafka_mono_ms();
        kafka_sleep_ms(wait < left ? wait : (int)left);
    }
    rc = bt_err_set(err, BT_ENET, topic, "kafka topic %s: not ready after %d attempt(s): %s", topic,
                    attempt, rd_kafka_err2str(e));
fail:
    if (rkt) rd_kafka_topic_destroy(rkt);
    return rc;
}
