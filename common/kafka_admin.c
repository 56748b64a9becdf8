/* kafka_admin.c -- creates btpipe's topics at start-up (idempotently) and
 * returns once each can be read: a topic whose leader is not elected yet
 * answers "Not leader for partition" to the first reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"

/* How long to wait for the brokers to answer an admin request. */
#define ADMIN_TIMEOUT_MS 30000
/* How long every topic may take to get leaders that answer. */
#define READY_TIMEOUT_MS 30000

/* Compacted topics are the system's memory; the dead-letter topic is a log. */
static const char *cleanup_policy(enum topic_id t) {
    return t == TOPIC_DEADLETTER ? "delete" : "compact";
}

int kafka_ensure_topics(const struct config *cfg, struct bt_err *err) {
    char errstr[512];
    long partitions = 1, replication = 1;
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_NewTopic_t *nt[TOPIC_COUNT] = {0};
    int rc = 0;
    if ((rc = kafka_topic_prefix_check(cfg, err))) goto fail;
    if ((rc = config_int(cfg, "BTPIPE_TOPIC_PARTITIONS", 1, 1, 10000, &partitions, err))) goto fail;
    if ((rc = config_int(cfg, "BTPIPE_TOPIC_REPLICATION", 1, 1, 100, &replication, err))) goto fail;
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, KAFKA_ADMIN, err);
    if (!conf) {
        rc = err ? err->code : BT_ECONFIG;
        goto fail;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rc = bt_err_set(err, BT_ECONFIG, "BTPIPE_KAFKA_BROKERS", "kafka admin: %s", errstr);
        goto fail;
    }
    for (int t = 0; t < TOPIC_COUNT; t++) {
        const char *name = kafka_topic_name(cfg, (enum topic_id)t);
        nt[t] =
            rd_kafka_NewTopic_new(name, (int)partitions, (int)replication, errstr, sizeof errstr);
        if (!nt[t]) {
            rc = bt_err_set(err, BT_ECONFIG, name, "topic %s: %s", name, errstr);
            goto fail;
        }
        rd_kafka_NewTopic_set_config(nt[t], "cleanup.policy", cleanup_policy((enum topic_id)t));
    }
    q = rd_kafka_queue_new(rk);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, nt, TOPIC_COUNT, opts, q);
    ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
    if (!ev) {
        rc = bt_err_set(err, BT_ENET, NULL, "kafka: no answer to CreateTopics within %d ms",
                        ADMIN_TIMEOUT_MS + 5000);
        goto fail;
    }
    if (rd_kafka_event_error(ev)) {
        rc = bt_err_set(err, BT_ENET, NULL, "kafka CreateTopics: %s",
                        rd_kafka_event_error_string(ev));
        goto fail;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        const char *name = rd_kafka_topic_result_name(tr[i]);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_event(LOG_INFO, "kafka topic created", "topic", name, NULL);
        } else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char *es = rd_kafka_topic_result_error_string(tr[i]);
            rc = bt_err_set(err, BT_ENET, name, "kafka: creating topic %s: %s", name,
                            es ? es : rd_kafka_err2str(e));
            goto fail;
        }
    }
    /* Every topic, not only those created here: another service may have
     * created them a moment ago (TOPIC_ALREADY_EXISTS) without leaders yet. */
    int64_t deadline = kafka_mono_ms() + READY_TIMEOUT_MS;
    for (int t = 0; t < TOPIC_COUNT; t++) {
        struct kafka_part_offsets *po = NULL;
        int np = 0;
        rc = kafka_topic_offsets(rk, kafka_topic_name(cfg, (enum topic_id)t), deadline, 1, &po, &np,
                                 err);
        free(po);
        if (rc) goto fail;
    }
fail:
    if (ev) rd_kafka_event_destroy(ev);
    if (opts) rd_kafka_AdminOptions_destroy(opts);
    if (q) rd_kafka_queue_destroy(q);
    for (int t = 0; t < TOPIC_COUNT; t++)
        if (nt[t]) rd_kafka_NewTopic_destroy(nt[t]);
    if (rk) rd_kafka_destroy(rk);
    return rc;
}
