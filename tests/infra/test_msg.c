/* Message helpers, dead-letter building, Kafka property names and topics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "btpipe/v1/dead_letter.pb-c.h"
#include "config.h"
#include "deadletter.h"
#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"
#include "msg.h"

static void test_hashes(void **state) {
    (void)state;
    char h[65];
    msg_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char a[65], b[65], c[65];
    msg_hash_hex(a, "ab", "c", NULL);
    msg_hash_hex(b, "a", "bc", NULL);
    msg_hash_hex(c, "ab", "c", NULL);
    assert_string_not_equal(a, b);
    assert_string_equal(a, c);
    assert_int_equal(strlen(a), 64);
}

static void test_meta_and_pack(void **state) {
    (void)state;
    Btpipe__V1__Meta m;
    int64_t before = msg_now_ms();
    msg_meta_fill(&m, "id-1", "planner");
    assert_string_equal(m.id, "id-1");
    assert_string_equal(m.producer, "planner");
    assert_int_equal(m.schema, 1);
    assert_true(m.produced_at_ms >= before && m.produced_at_ms <= msg_now_ms());
    struct buf b = BUF_INIT;
    buf_puts(&b, "x");
    msg_pack(&m.base, &b); /* appends */
    Btpipe__V1__Meta *u = btpipe__v1__meta__unpack(NULL, b.len - 1, (uint8_t *)b.p + 1);
    assert_non_null(u);
    assert_string_equal(u->id, "id-1");
    assert_int_equal(u->produced_at_ms, m.produced_at_ms);
    btpipe__v1__meta__free_unpacked(u, NULL);
    buf_free(&b);
}

static void test_deadletter_build(void **state) {
    (void)state;
    const unsigned char junk[] = {0xff, 0x00, 0x13, 0x37};
    struct kafka_msg src = {"btpipe.factors", 3, 1234, "f1", 2, junk, sizeof junk, 0};
    struct buf key = BUF_INIT, value = BUF_INIT;
    deadletter_build("planner", &src, "does not decode as FactorSpec", "byte 0", &key, &value);
    assert_int_equal(key.len, strlen("btpipe.factors/f1"));
    assert_memory_equal(key.p, "btpipe.factors/f1", key.len);
    Btpipe__V1__DeadLetter *dl =
        btpipe__v1__dead_letter__unpack(NULL, value.len, (uint8_t *)value.p);
    assert_non_null(dl);
    assert_string_equal(dl->meta->id, "btpipe.factors/3/1234");
    assert_string_equal(dl->meta->producer, "planner");
    assert_int_equal(dl->meta->schema, 1);
    assert_string_equal(dl->source_topic, "btpipe.factors");
    assert_int_equal(dl->partition, 3);
    assert_int_equal(dl->offset, 1234);
    assert_int_equal(dl->key.len, 2);
    assert_memory_equal(dl->key.data, "f1", 2);
    assert_int_equal(dl->value.len, sizeof junk);
    assert_memory_equal(dl->value.data, junk, sizeof junk);
    assert_string_equal(dl->reason, "does not decode as FactorSpec");
    assert_string_equal(dl->where, "byte 0");
    assert_string_equal(dl->service, "planner");
    btpipe__v1__dead_letter__free_unpacked(dl, NULL);
    buf_free(&key);
    buf_free(&value);
}

static void test_prop_names(void **state) {
    (void)state;
    char out[64];
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(kafka_prop_name("security_protocol", out, sizeof out, &err), 0);
    assert_string_equal(out, "security.protocol");
    assert_int_equal(kafka_prop_name("sasl_oauthbearer_client_id", out, sizeof out, &err), 0);
    assert_string_equal(out, "sasl.oauthbearer.client.id");
    assert_int_equal(kafka_prop_name("plugin__x_y", out, sizeof out, &err), 0);
    assert_string_equal(out, "plugin_x.y");
    assert_int_equal(kafka_prop_name("", out, sizeof out, &err), BT_ECONFIG);
    assert_true(kafka_prop_secret("sasl.password"));
    assert_true(kafka_prop_secret("ssl.key.password"));
    assert_false(kafka_prop_secret("security.protocol"));
}

static void test_conf_errors_name_variable(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    unsetenv("BTPIPE_KAFKA_BROKERS");
    assert_null(kafka_conf_new(NULL, KAFKA_PRODUCER, &err));
    assert_string_equal(err.where, "BTPIPE_KAFKA_BROKERS");
    setenv("BTPIPE_KAFKA_BROKERS", "127.0.0.1:1", 1);
    setenv("BTPIPE_KAFKA_PROP_no_such_property", "1", 1);
    assert_null(kafka_conf_new(NULL, KAFKA_CONSUMER, &err));
    assert_non_null(strstr(err.msg, "BTPIPE_KAFKA_PROP_no_such_property"));
    assert_non_null(strstr(err.msg, "no.such.property"));
    unsetenv("BTPIPE_KAFKA_PROP_no_such_property");
    /* A bad value names the variable and the property it maps to. */
    setenv("BTPIPE_KAFKA_PROP_linger_ms", "soon", 1);
    assert_null(kafka_conf_new(NULL, KAFKA_PRODUCER, &err));
    assert_non_null(strstr(err.msg, "BTPIPE_KAFKA_PROP_linger_ms (librdkafka property linger.ms)"));
    unsetenv("BTPIPE_KAFKA_PROP_linger_ms");
    /* A pass-through can set ordinary properties but not undo the guarantees. */
    setenv("BTPIPE_KAFKA_PROP_enable_idempotence", "false", 1);
    setenv("BTPIPE_KAFKA_PROP_linger_ms", "42", 1);
    rd_kafka_conf_t *conf = kafka_conf_new(NULL, KAFKA_PRODUCER, &err);
    assert_non_null(conf);
    char v[64];
    size_t n = sizeof v;
    assert_int_equal(rd_kafka_conf_get(conf, "enable.idempotence", v, &n), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "true");
    n = sizeof v;
    assert_int_equal(rd_kafka_conf_get(conf, "acks", v, &n), RD_KAFKA_CONF_OK);
    assert_true(strcmp(v, "-1") == 0 || strcmp(v, "all") == 0);
    n = sizeof v;
    assert_int_equal(rd_kafka_conf_get(conf, "linger.ms", v, &n), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "42");
    rd_kafka_conf_destroy(conf);
    unsetenv("BTPIPE_KAFKA_PROP_enable_idempotence");
    unsetenv("BTPIPE_KAFKA_PROP_linger_ms");
    conf = kafka_conf_new(NULL, KAFKA_CONSUMER, &err);
    assert_non_null(conf);
    const char *want[][2] = {{"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"enable.partition.eof", "true"},
                             {"auto.offset.reset", "smallest"}};
    for (size_t i = 0; i < 4; i++) {
        n = sizeof v;
        assert_int_equal(rd_kafka_conf_get(conf, want[i][0], v, &n), RD_KAFKA_CONF_OK);
        if (strcmp(v, want[i][1]) != 0 && !(i == 3 && strcmp(v, "earliest") == 0))
            fail_msg("%s = %s, want %s", want[i][0], v, want[i][1]);
    }
    rd_kafka_conf_destroy(conf);
    unsetenv("BTPIPE_KAFKA_BROKERS");
}

static void test_topic_names(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    unsetenv("BTPIPE_TOPIC_PREFIX");
    assert_string_equal(kafka_topic_name(NULL, TOPIC_DATA_LANDED), "btpipe.data.landed");
    assert_string_equal(kafka_topic_name(NULL, TOPIC_DEADLETTER), "btpipe.deadletter");
    const char *want[] = {"btpipe.data.landed", "btpipe.factors",     "btpipe.strategies",
                          "btpipe.jobs",        "btpipe.completions", "btpipe.results",
                          "btpipe.deadletter"};
    for (int t = 0; t < TOPIC_COUNT; t++)
        assert_string_equal(kafka_topic_name(NULL, (enum topic_id)t), want[t]);
    setenv("BTPIPE_TOPIC_PREFIX", "test-1", 1);
    assert_string_equal(kafka_topic_name(NULL, TOPIC_RESULTS), "test-1.results");
    assert_int_equal(kafka_topic_prefix_check(NULL, &err), 0);
    setenv("BTPIPE_TOPIC_PREFIX", "a/b", 1);
    assert_int_equal(kafka_topic_prefix_check(NULL, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTPIPE_TOPIC_PREFIX"));
    unsetenv("BTPIPE_TOPIC_PREFIX");
}

int main(void) {
    log_set_stream(fopen("/dev/null", "w"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_meta_and_pack),
        cmocka_unit_test(test_deadletter_build),
        cmocka_unit_test(test_prop_names),
        cmocka_unit_test(test_conf_errors_name_variable),
        cmocka_unit_test(test_topic_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
