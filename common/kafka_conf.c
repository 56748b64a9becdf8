/* kafka_conf.c -- from BTPIPE_* settings to an rd_kafka_conf_t, and topic names. */
#include "kafka_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kafka.h"
#include "log.h"

static const char *const topic_suffix[TOPIC_COUNT] = {
    "data.landed", "factors", "strategies", "jobs", "completions", "results", "deadletter",
};

const char *kafka_topic_name(const struct config *cfg, enum topic_id t) {
    /* One slot per topic: concurrent callers write the same bytes. */
    static _Thread_local char names[TOPIC_COUNT][256];
    if ((unsigned)t >= TOPIC_COUNT) return "";
    snprintf(names[t], sizeof names[t], "%s.%s",
             config_get_default(cfg, "BTPIPE_TOPIC_PREFIX", "btpipe"), topic_suffix[t]);
    return names[t];
}

int kafka_topic_prefix_check(const struct config *cfg, struct bt_err *err) {
    const char *p = config_get_default(cfg, "BTPIPE_TOPIC_PREFIX", "btpipe");
    size_t n = strlen(p);
    /* Kafka allows [a-zA-Z0-9._-] and 249 chars; the longest suffix is 11 + ".". */
    if (n > 249 - 12)
        return bt_err_set(err, BT_ECONFIG, "BTPIPE_TOPIC_PREFIX",
                          "BTPIPE_TOPIC_PREFIX is %zu characters; at most 237 fit a topic name", n);
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return bt_err_set(err, BT_ECONFIG, "BTPIPE_TOPIC_PREFIX",
                              "BTPIPE_TOPIC_PREFIX='%.64s': character %zu ('%c') is not allowed in "
                              "a Kafka topic name (a-z A-Z 0-9 . _ -)",
                              p, i + 1, c);
    }
    return 0;
}

int kafka_prop_name(const char *suffix, char *out, size_t outsz, struct bt_err *err) {
    size_t o = 0;
    for (size_t i = 0; suffix[i]; i++) {
        char c = suffix[i];
        if (c == '_') {
            if (suffix[i + 1] == '_')
                i++;
            else
                c = '.';
        }
        if (o + 1 >= outsz) goto bad;
        out[o++] = c;
    }
    if (o == 0) goto bad;
    out[o] = '\0';
    return 0;
bad:
    return bt_err_set(err, BT_ECONFIG, KAFKA_PROP_PREFIX,
                      "%s%.100s does not name a librdkafka property", KAFKA_PROP_PREFIX, suffix);
}

int kafka_prop_secret(const char *prop) {
    static const char *const words[] = {"password",    "secret",  "sasl.oauthbearer.config",
                                        "ssl.key.pem", "ssl_key", "ssl.keystore",
                                        "token"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(prop, words[i])) return 1;
    return 0;
}

/* Sets one property; on failure the message names the variable it came from
 * and hides librdkafka's text (which quotes the value) for secrets. */
static int conf_set(rd_kafka_conf_t *conf, const char *var, const char *prop, const char *value,
                    struct bt_err *err) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, prop, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK) return 0;
    if (kafka_prop_secret(prop))
        snprintf(errstr, sizeof errstr, "invalid value (not shown: secret)");
    return bt_err_set(err, BT_ECONFIG, var, "%s (librdkafka property %s): %s", var, prop, errstr);
}

struct passthrough {
    rd_kafka_conf_t *conf;
    struct bt_err *err;
    int rc;
};

static void apply_prop(const char *name, const char *value, void *ud) {
    struct passthrough *pt = ud;
    char prop[256];
    if (pt->rc) return;
    pt->rc = kafka_prop_name(name + strlen(KAFKA_PROP_PREFIX), prop, sizeof prop, pt->err);
    if (!pt->rc) pt->rc = conf_set(pt->conf, name, prop, value, pt->err);
}

/* librdkafka's own log lines, as JSON lines; secrets are redacted by
 * librdkafka in config dumps, and we never enable debug=conf by default. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    enum log_level l = level <= 3   ? LOG_ERROR
                       : level <= 4 ? LOG_WARN
                       : level <= 6 ? LOG_INFO
                                    : LOG_DEBUG;
    log_event(l, "librdkafka", "client", rk ? rd_kafka_name(rk) : "", "facility", fac, "detail",
              buf, NULL);
}

/* Transport errors are retried by librdkafka itself; they are logged so an
 * operator sees a broker that is down. */
static void on_error(rd_kafka_t *rk, int errcode, const char *reason, void *opaque) {
    (void)opaque;
    log_event(errcode == RD_KAFKA_RESP_ERR__FATAL ? LOG_ERROR : LOG_WARN, "kafka error", "client",
              rd_kafka_name(rk), "error", rd_kafka_err2name((rd_kafka_resp_err_t)errcode), "reason",
              reason, NULL);
}

rd_kafka_conf_t *kafka_conf_new(const struct config *cfg, enum kafka_client_kind kind,
                                struct bt_err *err) {
    const char *brokers = NULL;
    rd_kafka_conf_t *conf = NULL;
    if (config_require(cfg, "BTPIPE_KAFKA_BROKERS", &brokers, err)) goto fail;
    conf = rd_kafka_conf_new();
    if (conf_set(conf, "BTPIPE_KAFKA_BROKERS", "bootstrap.servers", brokers, err)) goto fail;
    if (conf_set(conf, "client.id", "client.id", log_service(), err)) goto fail;
    /* Defaults a user may override through BTPIPE_KAFKA_PROP_*. */
    if (kind == KAFKA_PRODUCER) {
        if (conf_set(conf, "linger.ms", "linger.ms", "5", err)) goto fail;
        if (conf_set(conf, "message.max.bytes", "message.max.bytes", "8388608", err)) goto fail;
    }
    if (kind == KAFKA_CONSUMER) {
        if (conf_set(conf, "auto.offset.reset", "auto.offset.reset", "earliest", err)) goto fail;
        if (conf_set(conf, "fetch.max.bytes", "fetch.max.bytes", "67108864", err)) goto fail;
        /* A killed member holds its partitions until its session expires:
         * 10 s instead of librdkafka's 45 s bounds how long its work waits
         * for a new owner (and how long a new member's join can hang). */
        if (conf_set(conf, "session.timeout.ms", "session.timeout.ms", "10000", err)) goto fail;
        if (conf_set(conf, "heartbeat.interval.ms", "heartbeat.interval.ms", "1000", err))
            goto fail;
    }
    struct passthrough pt = {conf, err, 0};
    config_each_prefixed(cfg, KAFKA_PROP_PREFIX, apply_prop, &pt);
    if (pt.rc) goto fail;
    /* What btpipe's guarantees rest on: applied last so nothing overrides them. */
    if (kind == KAFKA_PRODUCER) {
        if (conf_set(conf, "enable.idempotence", "enable.idempotence", "true", err)) goto fail;
        if (conf_set(conf, "acks", "acks", "all", err)) goto fail;
    }
    if (kind == KAFKA_CONSUMER) {
        if (conf_set(conf, "enable.auto.commit", "enable.auto.commit", "false", err)) goto fail;
        if (conf_set(conf, "enable.auto.offset.store", "enable.auto.offset.store", "false", err))
            goto fail;
        if (conf_set(conf, "enable.partition.eof", "enable.partition.eof", "true", err)) goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    return conf;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    return NULL;
}
