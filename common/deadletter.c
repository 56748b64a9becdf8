/* deadletter.c -- DeadLetter messages for input a service gave up on. */
#include "deadletter.h"

#include <inttypes.h>
#include <stdio.h>

#include "btpipe/v1/dead_letter.pb-c.h"
#include "kafka.h"
#include "log.h"
#include "msg.h"

void deadletter_build(const char *service, const struct kafka_msg *src, const char *reason,
                      const char *where, struct buf *key, struct buf *value) {
    struct buf id = BUF_INIT;
    const char *topic = src->topic ? src->topic : "";
    Btpipe__V1__DeadLetter dl = BTPIPE__V1__DEAD_LETTER__INIT;
    Btpipe__V1__Meta meta;
    buf_printf(&id, "%s/%" PRId32 "/%" PRId64, topic, src->partition, src->offset);
    msg_meta_fill(&meta, buf_cstr(&id), service);
    dl.meta = &meta;
    dl.source_topic = (char *)topic;
    dl.partition = src->partition;
    dl.offset = src->offset;
    dl.key.data = (uint8_t *)src->key;
    dl.key.len = src->key ? src->key_len : 0;
    dl.value.data = (uint8_t *)src->value;
    dl.value.len = src->value ? src->value_len : 0;
    dl.reason = (char *)(reason ? reason : "");
    dl.where = (char *)(where ? where : "");
    dl.service = (char *)(service ? service : "");
    msg_pack(&dl.base, value);
    buf_puts(key, topic);
    buf_putc(key, '/');
    if (src->key) buf_append(key, src->key, src->key_len);
    buf_free(&id);
}

int deadletter_send(struct kafka_producer *p, const struct config *cfg, const char *service,
                    const struct kafka_msg *src, const char *reason, const char *where,
                    struct bt_err *err) {
    struct buf key = BUF_INIT, value = BUF_INIT;
    char part[16], off[24];
    deadletter_build(service, src, reason, where, &key, &value);
    snprintf(part, sizeof part, "%" PRId32, src->partition);
    snprintf(off, sizeof off, "%" PRId64, src->offset);
    log_event(LOG_WARN, "dead-lettered", "topic", src->topic ? src->topic : "", "partition", part,
              "offset", off, "reason", reason ? reason : "", "where", where ? where : "", NULL);
    int rc = kafka_produce(p, kafka_topic_name(cfg, TOPIC_DEADLETTER), key.p, key.len, value.p,
                           value.len, err);
    buf_free(&key);
    buf_free(&value);
    return rc;
}
