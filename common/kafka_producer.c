/* kafka_producer.c -- idempotent producer; delivery failures surface at flush. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"

struct kafka_producer {
    rd_kafka_t *rk;
    pthread_mutex_t lock; /* delivery reports may run on any thread that polls */
    long failed;          /* deliveries that failed since the last flush */
    char first_error[256];
};

/* Records a failed delivery so that the next flush reports it: a message the
 * brokers never acknowledged must not let a consumer commit past its cause. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    struct kafka_producer *p = opaque;
    (void)rk;
    if (!m->err) return;
    pthread_mutex_lock(&p->lock);
    if (p->failed++ == 0)
        snprintf(p->first_error, sizeof p->first_error, "%s [%d]: %s",
                 m->rkt ? rd_kafka_topic_name(m->rkt) : "?", (int)m->partition,
                 rd_kafka_err2str(m->err));
    pthread_mutex_unlock(&p->lock);
    log_event(LOG_ERROR, "kafka delivery failed", "topic",
              m->rkt ? rd_kafka_topic_name(m->rkt) : "", "error", rd_kafka_err2name(m->err), NULL);
}

int kafka_producer_new(const struct config *cfg, struct kafka_producer **out, struct bt_err *err) {
    char errstr[512];
    struct kafka_producer *p = calloc(1, sizeof *p);
    if (!p) abort();
    pthread_mutex_init(&p->lock, NULL);
    *out = NULL;
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, KAFKA_PRODUCER, err);
    if (!conf) goto fail;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        bt_err_set(err, BT_ECONFIG, "BTPIPE_KAFKA_BROKERS", "kafka producer: %s", errstr);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    pthread_mutex_destroy(&p->lock);
    free(p);
    return err ? err->code : BT_ECONFIG;
}

int kafka_produce(struct kafka_producer *p, const char *topic, const void *key, size_t key_len,
                  const void *value, size_t value_len, struct bt_err *err) {
    /* A full local queue is back-pressure, not failure: serve reports and retry
     * for a bounded time (librdkafka's own message.timeout.ms bounds the rest). */
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY((void *)key, key ? key_len : 0),
            RD_KAFKA_V_VALUE((void *)value, value ? value_len : 0), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && tries < 300) {
            rd_kafka_poll(p->rk, 100);
            continue;
        }
        return bt_err_set(err, BT_ENET, topic, "kafka produce to %s: %s", topic,
                          rd_kafka_err2str(e));
    }
    rd_kafka_poll(p->rk, 0);
    return 0;
}

int kafka_producer_flush(struct kafka_producer *p, int timeout_ms, struct bt_err *err) {
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    int rc = 0;
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        rc = bt_err_set(err, BT_ENET, NULL, "kafka flush: %d message(s) unacknowledged after %d ms",
                        rd_kafka_outq_len(p->rk), timeout_ms);
    pthread_mutex_lock(&p->lock);
    if (!rc && p->failed)
        rc = bt_err_set(err, BT_ENET, NULL, "kafka: %ld message(s) failed delivery, first: %s",
                        p->failed, p->first_error);
    p->failed = 0;
    p->first_error[0] = '\0';
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void kafka_producer_free(struct kafka_producer *p) {
    if (!p) return;
    struct bt_err err = BT_ERR_INIT;
    if (kafka_producer_flush(p, 5000, &err)) /* bounded: shutdown must stay quick */
        log_event(LOG_ERROR, "kafka producer closed with undelivered messages", "error", err.msg,
                  NULL);
    rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
