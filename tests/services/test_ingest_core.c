/* test_ingest_core.c -- what ingest announces, from listings alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "ingest_core.h"
#include "ingest_msg.h"
#include "btpipe/v1/data_increment.pb-c.h"

#define OBJ(k, e)                                                                                  \
    { (k), (e), 100, 0 }

static void observe(struct ingest_state *s, const struct ingest_object *l, size_t n,
                    struct ingest_result *r) {
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(ingest_core_observe(s, "sp500", l, n, r, &err), 0);
}

/* Marks everything in r announced, as main.c does after the produce. */
static void announce_all(struct ingest_state *s, const struct ingest_result *r) {
    for (size_t i = 0; i < r->ninc; i++) {
        struct bt_err err = BT_ERR_INIT;
        assert_int_equal(ingest_core_mark_announced(s, r->incs[i].dataset, r->incs[i].date,
                                                    r->incs[i].data_version, &err),
                         0);
    }
}

static void test_new_dates_in_date_order(void **st) {
    (void)st;
    struct ingest_state *s = ingest_state_new();
    /* Unsorted listing, two objects on one date, two years. */
    struct ingest_object l[] = {
        OBJ("sp500/daily/2020/2020-01-03.csv.gz", "e3"),
        OBJ("sp500/daily/2019/2019-12-31.csv", "e1"),
        OBJ("sp500/daily/2020/2020-01-02.csv.gz", "e2b"),
        OBJ("sp500/daily/2020/2020-01-02.csv", "e2a"),
        OBJ("sp500/daily/2020/_SUCCESS", "x"),
    };
    struct ingest_result r;
    observe(s, l, 5, &r);
    assert_int_equal(r.ninc, 3);
    assert_int_equal(r.njunk, 0);
    assert_string_equal(r.incs[0].date, "2019-12-31");
    assert_string_equal(r.incs[1].date, "2020-01-02");
    assert_string_equal(r.incs[2].date, "2020-01-03");
    assert_int_equal(r.incs[1].nobjects, 2);
    /* objects sorted by key within the date */
    assert_string_equal(r.incs[1].objects[0].key, "sp500/daily/2020/2020-01-02.csv");
    assert_string_equal(r.incs[1].objects[1].key, "sp500/daily/2020/2020-01-02.csv.gz");
    assert_int_equal(strlen(r.incs[0].data_version), 64);
    /* Nothing is announced until the caller says so. */
    assert_null(ingest_core_announced(s, "sp500", "2019-12-31"));
    ingest_result_free(&r);
    ingest_state_free(s);
}

static void test_same_etags_announce_nothing(void **st) {
    (void)st;
    struct ingest_state *s = ingest_state_new();
    struct ingest_object l[] = {OBJ("sp500/daily/2020/2020-01-02.csv", "a"),
                                OBJ("sp500/daily/2020/2020-01-03.csv", "b")};
    struct ingest_result r;
    observe(s, l, 2, &r);
    assert_int_equal(r.ninc, 2);
    announce_all(s, &r);
    ingest_result_free(&r);
    /* Same listing again, in another order, with other sizes and times. */
    struct ingest_object l2[] = {{"sp500/daily/2020/2020-01-03.csv", "b", 7, 99},
                                 {"sp500/daily/2020/2020-01-02.csv", "a", 9, 98}};
    observe(s, l2, 2, &r);
    assert_int_equal(r.ninc, 0);
    ingest_result_free(&r);
    /* One new date appears: only it is announced. */
    struct ingest_object l3[] = {OBJ("sp500/daily/2020/2020-01-03.csv", "b"),
                                 OBJ("sp500/daily/2020/2020-01-06.csv", "c"),
                                 OBJ("sp500/daily/2020/2020-01-02.csv", "a")};
    observe(s, l3, 3, &r);
    assert_int_equal(r.ninc, 1);
    assert_string_equal(r.incs[0].date, "2020-01-06");
    ingest_result_free(&r);
    ingest_state_free(s);
}

static void test_corrected_etag_is_new_version(void **st) {
    (void)st;
    struct ingest_state *s = ingest_state_new();
    struct ingest_object l[] = {OBJ("sp500/daily/2020/2020-01-02.csv", "a")};
    struct ingest_result r;
    observe(s, l, 1, &r);
    char v1[65];
    strcpy(v1, r.incs[0].data_version);
    announce_all(s, &r);
    ingest_result_free(&r);
    struct ingest_object l2[] = {OBJ("sp500/daily/2020/2020-01-02.csv", "a2")};
    observe(s, l2, 1, &r);
    assert_int_equal(r.ninc, 1);
    assert_string_not_equal(r.incs[0].data_version, v1);
    announce_all(s, &r);
    assert_string_equal(ingest_core_announced(s, "sp500", "2020-01-02"), r.incs[0].data_version);
    ingest_result_free(&r);
    /* An added object on the same date is a correction too. */
    struct ingest_object l3[] = {OBJ("sp500/daily/2020/2020-01-02.csv", "a2"),
                                 OBJ("sp500/daily/2020/2020-01-02.csv.gz", "z")};
    observe(s, l3, 2, &r);
    assert_int_equal(r.ninc, 1);
    ingest_result_free(&r);
    ingest_state_free(s);
}

static void test_data_version_is_sha256_of_sorted_keys(void **st) {
    (void)st;
    /* sha256("k1\ne1\nk2\ne2\n"), computed with sha256sum. */
    struct ingest_object a[] = {OBJ("k2", "e2"), OBJ("k1", "e1")};
    char v[65];
    ingest_data_version(a, 2, v);
    assert_string_equal(v, "0dc7c5a9e59bc408495b1285193de56f5ebd13d83d3cc7ceedb826bb1c76aa41");
}

static void test_junk_keys_reported_once(void **st) {
    (void)st;
    struct ingest_state *s = ingest_state_new();
    struct ingest_object l[] = {
        OBJ("sp500/daily/2020/2020-01-02.csv", "a"),      OBJ("sp500/daily/2020/notes.txt", "j1"),
        OBJ("sp500/daily/2021/2020-01-03.csv", "j2"), /* wrong folder year */
        OBJ("sp500/daily/2020-01-03.csv", "j3"),      /* no year folder */
        OBJ("sp500/daily/2020/2020-13-03.csv", "j4"), /* month 13 */
        OBJ("sp500/daily/2020/2020-01-03.parquet", "j5"),
    };
    struct ingest_result r;
    observe(s, l, 6, &r);
    assert_int_equal(r.ninc, 1);
    assert_int_equal(r.njunk, 5);
    assert_string_equal(r.junk[0].key, "sp500/daily/2020/notes.txt");
    assert_non_null(strstr(r.junk[1].reason, "year"));
    ingest_result_free(&r);
    observe(s, l, 6, &r);
    assert_int_equal(r.njunk, 0); /* reported already */
    ingest_result_free(&r);
    /* A new ETag on a junk key is news again. */
    struct ingest_object l2[] = {OBJ("sp500/daily/2020/notes.txt", "j1b")};
    observe(s, l2, 1, &r);
    assert_int_equal(r.njunk, 1);
    ingest_result_free(&r);
    ingest_state_free(s);
}

static void test_restart_from_announced_messages(void **st) {
    (void)st;
    struct ingest_state *s = ingest_state_new();
    struct ingest_object l[] = {OBJ("sp500/daily/2020/2020-01-03.csv", "b"),
                                OBJ("sp500/daily/2020/2020-01-02.csv", "a")};
    struct ingest_result r;
    observe(s, l, 2, &r);
    assert_int_equal(r.ninc, 2);
    /* The "topic": the encoded messages, produced in order. */
    struct buf msgs[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
    struct buf key = BUF_INIT;
    ingest_msg_encode(&r.incs[0], "s3://b/sp500/daily", "test", 1000, &msgs[0], &key);
    assert_string_equal(key.p, "sp500/2020-01-02");
    ingest_msg_encode(&r.incs[1], "s3://b/sp500/daily", "test", 1000, &msgs[1], &key);
    /* The message carries the ids the contract promises. */
    Btpipe__V1__DataIncrement *m =
        btpipe__v1__data_increment__unpack(NULL, msgs[0].len, (const uint8_t *)msgs[0].p);
    assert_non_null(m);
    char id[200];
    snprintf(id, sizeof id, "sp500/2020-01-02/%s", r.incs[0].data_version);
    assert_string_equal(m->meta->id, id);
    assert_int_equal(m->n_objects, 1);
    assert_string_equal(m->objects[0]->etag, "a");
    assert_string_equal(m->layout, "daily");
    btpipe__v1__data_increment__free_unpacked(m, NULL);
    ingest_result_free(&r);

    /* Crash before the second produce was acked: the new process rebuilds
     * from the first message only and announces the second date again. */
    struct ingest_state *s2 = ingest_state_new();
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(ingest_msg_apply(s2, msgs[0].p, msgs[0].len, &err), 0);
    observe(s2, l, 2, &r);
    assert_int_equal(r.ninc, 1);
    assert_string_equal(r.incs[0].date, "2020-01-03");
    ingest_result_free(&r);

    /* From both messages (and a tombstone): nothing to announce. */
    struct ingest_state *s3 = ingest_state_new();
    assert_int_equal(ingest_msg_apply(s3, msgs[0].p, msgs[0].len, &err), 0);
    assert_int_equal(ingest_msg_apply(s3, msgs[1].p, msgs[1].len, &err), 0);
    assert_int_equal(ingest_msg_apply(s3, NULL, 0, &err), 0);
    assert_int_equal(ingest_core_announced_count(s3), 2);
    observe(s3, l, 2, &r);
    assert_int_equal(r.ninc, 0);
    ingest_result_free(&r);

    /* Garbage on the topic is refused, and changes nothing. */
    assert_int_equal(ingest_msg_apply(s3, "\xff\xff\xff", 3, &err), BT_EINPUT);
    assert_int_equal(ingest_core_announced_count(s3), 2);

    for (int i = 0; i < 3; i++)
        buf_free(&msgs[i]);
    buf_free(&key);
    ingest_state_free(s);
    ingest_state_free(s2);
    ingest_state_free(s3);
}

static void test_parse_key(void **st) {
    (void)st;
    char d[11];
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(ingest_parse_key("sp500", "sp500/daily/2020/2020-02-29.csv.gz", d, &err), 0);
    assert_string_equal(d, "2020-02-29");
    assert_int_equal(ingest_parse_key("sp500", "sp500/daily/2020/_SUCCESS", d, &err), 0);
    assert_string_equal(d, "");
    assert_int_equal(ingest_parse_key("sp500", "sp5000/daily/2020/2020-02-29.csv", d, &err),
                     BT_EINPUT);
    assert_int_equal(ingest_parse_key("sp500", "sp500/daily/2020/2020-02-29.csv.bak", d, &err),
                     BT_EINPUT);
    assert_int_equal(ingest_parse_key("sp500", "sp500/daily/2020/2020-02-2", d, &err), BT_EINPUT);
    struct ingest_state *s = ingest_state_new();
    struct ingest_result r;
    assert_int_equal(ingest_core_observe(s, "a/b", NULL, 0, &r, &err), BT_EINPUT);
    ingest_state_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_dates_in_date_order),
        cmocka_unit_test(test_same_etags_announce_nothing),
        cmocka_unit_test(test_corrected_etag_is_new_version),
        cmocka_unit_test(test_data_version_is_sha256_of_sorted_keys),
        cmocka_unit_test(test_junk_keys_reported_once),
        cmocka_unit_test(test_restart_from_announced_messages),
        cmocka_unit_test(test_parse_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
