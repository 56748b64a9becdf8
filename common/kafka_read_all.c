/* kafka_read_all.c -- one topic from its beginning to the end it had when we
 * started, with a fresh consumer that joins no group and commits nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"

/* One partition to read and the offset it must reach (high watermark). */
struct read_target {
    int32_t partition;
    int64_t high;
    int done;
};

static struct read_target *target_find(struct read_target *t, int n, int32_t part) {
    for (int i = 0; i < n; i++)
        if (t[i].partition == part) return &t[i];
    return NULL;
}

int kafka_read_all(const struct config *cfg, const char *topic,
                   int (*fn)(const struct kafka_msg *m, void *ud), void *ud, int timeout_ms,
                   struct bt_err *err) {
    char errstr[512], group[96];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *assign = NULL;
    struct kafka_part_offsets *po = NULL;
    struct read_target *targets = NULL;
    int ntargets = 0, remaining = 0, rc = 0, np = 0;
    int64_t deadline = kafka_mono_ms() + timeout_ms;

    rd_kafka_conf_t *conf = kafka_conf_new(cfg, KAFKA_CONSUMER, err);
    if (!conf) return err ? err->code : BT_ECONFIG;
    /* A group id is required by the consumer API; it is never joined or committed. */
    snprintf(group, sizeof group, "btpipe-read-all-%ld-%lld", (long)getpid(),
             (long long)kafka_mono_ms());
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return bt_err_set(err, BT_ECONFIG, "BTPIPE_KAFKA_BROKERS", "kafka read_all: %s", errstr);
    }
    rd_kafka_poll_set_consumer(rk);
    /* Retries "no leader yet" for a topic created a moment ago (by us or by
     * another service), within this call's own deadline. */
    if ((rc = kafka_topic_offsets(rk, topic, deadline, 0, &po, &np, err))) goto fail;
    targets = calloc((size_t)np + 1, sizeof *targets);
    if (!targets) abort();
    assign = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++) {
        if (po[i].high <= po[i].low) continue; /* empty (or fully deleted) partition */
        targets[ntargets++] = (struct read_target){po[i].partition, po[i].high, 0};
        rd_kafka_topic_partition_list_add(assign, topic, po[i].partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    remaining = ntargets;
    if (remaining == 0) goto fail; /* nothing to read: rc is 0 */
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, assign);
    if (e) {
        rc = bt_err_set(err, BT_ENET, topic, "kafka read_all %s: assign: %s", topic,
                        rd_kafka_err2str(e));
        goto fail;
    }
    while (remaining > 0) {
        int64_t left = deadline - kafka_mono_ms();
        if (left <= 0) {
            rc = bt_err_set(err, BT_ENET, topic,
                            "kafka read_all %s: %d partition(s) not read to the end within %d ms",
                            topic, remaining, timeout_ms);
            goto fail;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, left > 200 ? 200 : (int)left);
        if (!m) continue;
        struct read_target *t = target_find(targets, ntargets, m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (t && !t->done && m->offset >= t->high) t->done = 1, remaining--;
        } else if (m->err) {
            log_event(LOG_WARN, "kafka read_all error", "topic", topic, "error",
                      rd_kafka_err2name(m->err), NULL);
        } else if (t && !t->done && m->offset < t->high) {
            struct kafka_msg km = {topic,
                                   m->partition,
                                   m->offset,
                                   m->key,
                                   m->key_len,
                                   m->payload,
                                   m->payload ? m->len : 0,
                                   0};
            rd_kafka_timestamp_type_t tstype;
            km.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
            int stop = fn(&km, ud);
            if (m->offset >= t->high - 1) t->done = 1, remaining--;
            if (stop) {
                rd_kafka_message_destroy(m);
                goto fail;
            }
        }
        rd_kafka_message_destroy(m);
    }
fail:
    if (assign) rd_kafka_topic_partition_list_destroy(assign);
    free(targets);
    free(po);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}
