/* test_collector_core.c -- merging completions: duplicates, order, replays,
 * corrections and failures, all through the same code the service runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "buf.h"
#include "collector_core.h"

#define PAIR "ls/mom5/sp500"

/* A completion under construction: storage for its points. */
struct comp {
    Btpipe__V1__JobCompletion c;
    Btpipe__V1__Meta meta;
    Btpipe__V1__DailyPoint pts[8];
    Btpipe__V1__DailyPoint *ptrs[8];
    char dates[8][11];
    char id[128];
};

/* Completion id/task/finished with points dates[i] -> rets[i]. */
static void comp_init(struct comp *x, const char *task, int64_t finished, int n,
                      const char *const *dates, const double *rets) {
    memset(x, 0, sizeof *x);
    btpipe__v1__job_completion__init(&x->c);
    btpipe__v1__meta__init(&x->meta);
    snprintf(x->id, sizeof x->id, "%s/v%lld", task, (long long)finished);
    x->meta.id = x->id;
    x->c.meta = &x->meta;
    x->c.task_key = (char *)task;
    x->c.status = BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED;
    x->c.strategy_id = "ls";
    x->c.factor_id = "mom5";
    x->c.dataset = "sp500";
    x->c.strategy_version = 1;
    x->c.factor_version = 1;
    x->c.finished_at_ms = finished;
    x->c.n_points = (size_t)n;
    x->c.points = x->ptrs;
    double v = 100000;
    for (int i = 0; i < n; i++) {
        btpipe__v1__daily_point__init(&x->pts[i]);
        strcpy(x->dates[i], dates[i]);
        x->pts[i].date = x->dates[i];
        x->pts[i].ret = rets[i];
        v *= 1 + rets[i];
        x->pts[i].value = v;
        x->pts[i].turnover = 0.5;
        x->pts[i].ic = 0.1 * (i + 1);
        x->pts[i].rank_ic = NAN;
        x->ptrs[i] = &x->pts[i];
    }
}

static void apply(struct collector_state *s, const struct comp *x, int expect_changed) {
    const char *pid = NULL;
    int changed = -1;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(collector_apply(s, &x->c, &pid, &changed, &err), 0);
    assert_string_equal(pid, PAIR);
    if (expect_changed >= 0) assert_int_equal(changed, expect_changed);
}

/* Result of PAIR, decoded (caller frees). */
static Btpipe__V1__AggregatedResult *result(struct collector_state *s, struct buf *id) {
    struct buf v = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(collector_result(s, PAIR, 1234, "test", &v, id, &err), 0);
    Btpipe__V1__AggregatedResult *r =
        btpipe__v1__aggregated_result__unpack(NULL, v.len, (const uint8_t *)v.p);
    assert_non_null(r);
    assert_string_equal(r->meta->id, id->p);
    buf_free(&v);
    return r;
}

static const char *D[] = {"2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"};

static void test_single_completion(void **st) {
    (void)st;
    struct collector_state *s = collector_new();
    struct comp a;
    double rets[] = {0.01, -0.02, 0.03};
    comp_init(&a, "t1", 100, 3, D, rets);
    apply(s, &a, 1);
    struct buf id = BUF_INIT;
    Btpipe__V1__AggregatedResult *r = result(s, &id);
    assert_string_equal(r->pair_id, PAIR);
    assert_string_equal(r->strategy_id, "ls");
    assert_string_equal(r->factor_id, "mom5");
    assert_string_equal(r->dataset, "sp500");
    assert_string_equal(r->first_date, "2020-01-02");
    assert_string_equal(r->last_date, "2020-01-06");
    assert_int_equal(r->days, 3);
    assert_int_equal(r->metrics->days, 3);
    assert_int_equal(r->completions, 1);
    assert_int_equal(r->status, BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_CURRENT);
    assert_int_equal(r->updated_at_ms, 100);
    double tr = 1.01 * 0.98 * 1.03 - 1;
    assert_true(fabs(r->metrics->total_return - tr) < 1e-12);
    assert_true(fabs(r->metrics->final_value - 100000 * (1 + tr)) < 1e-6);
    assert_true(fabs(r->metrics->ic_mean - 0.2) < 1e-12);
    assert_true(fabs(r->metrics->turnover - 0.5) < 1e-12);
    assert_true(r->metrics->max_drawdown < 0);
    assert_non_null(strstr(id.p, PAIR "/2020-01-06/"));
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    buf_free(&id);
    collector_free(s);
}

static void test_duplicates_change_nothing(void **st) {
    (void)st;
    struct collector_state *s = collector_new();
    struct comp a;
    double rets[] = {0.01, -0.02};
    comp_init(&a, "t1", 100, 2, D, rets);
    apply(s, &a, 1);
    struct buf id1 = BUF_INIT, id2 = BUF_INIT, v = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(collector_result(s, PAIR, 1, "test", &v, &id1, &err), 0);
    collector_note_published(s, PAIR, id1.p);
    assert_int_equal(collector_needs_publish(s, PAIR), 0);
    apply(s, &a, 0);
    apply(s, &a, 0);
    assert_int_equal(collector_result(s, PAIR, 1, "test", &v, &id2, &err), 0);
    assert_string_equal(id1.p, id2.p);
    Btpipe__V1__AggregatedResult *r = result(s, &id2);
    assert_int_equal(r->completions, 1);
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    buf_free(&id1);
    buf_free(&id2);
    buf_free(&v);
    collector_free(s);
}

/* Three completions in every order give byte-identical results. */
static void test_reordering_is_deterministic(void **st) {
    (void)st;
    struct comp c[3];
    double r0[] = {0.01, 0.02}, r1[] = {0.03}, r2[] = {-0.01, 0.05};
    comp_init(&c[0], "t-backfill", 100, 2, D, r0);
    comp_init(&c[1], "t-day3", 200, 1, D + 2, r1);
    comp_init(&c[2], "t-fix", 300, 2, D + 1, r2); /* overlaps day 2 and 3, newest */
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    struct buf first = BUF_INIT, firstid = BUF_INIT;
    for (int p = 0; p < 6; p++) {
        struct collector_state *s = collector_new();
        for (int i = 0; i < 3; i++)
            apply(s, &c[perms[p][i]], -1);
        struct buf v = BUF_INIT, id = BUF_INIT;
        struct bt_err err = BT_ERR_INIT;
        assert_int_equal(collector_result(s, PAIR, 1, "test", &v, &id, &err), 0);
        if (p == 0) {
            buf_append(&first, v.p, v.len);
            buf_puts(&firstid, id.p);
            Btpipe__V1__AggregatedResult *r = result(s, &id);
            assert_int_equal(r->days, 3);
            /* day 1 from the backfill, days 2-3 from the newest fix */
            double tr = 1.01 * 0.99 * 1.05 - 1;
            assert_true(fabs(r->metrics->total_return - tr) < 1e-12);
            assert_int_equal(r->completions, 3);
            assert_int_equal(r->updated_at_ms, 300);
            btpipe__v1__aggregated_result__free_unpacked(r, NULL);
        } else {
            assert_int_equal(v.len, first.len);
            assert_memory_equal(v.p, first.p, v.len);
            assert_string_equal(id.p, firstid.p);
        }
        buf_free(&v);
        buf_free(&id);
        collector_free(s);
    }
    buf_free(&first);
    buf_free(&firstid);
}

/* A restart replays the topic: same ids, and nothing left to publish once
 * the published results are read back. */
static void test_replay_after_restart(void **st) {
    (void)st;
    struct comp c[2];
    double r0[] = {0.01, 0.02, 0.03}, r1[] = {0.04};
    comp_init(&c[0], "t1", 100, 3, D, r0);
    comp_init(&c[1], "t2", 200, 1, D + 3, r1);
    struct buf bytes[2] = {BUF_INIT, BUF_INIT};
    for (int i = 0; i < 2; i++) {
        size_t n = btpipe__v1__job_completion__get_packed_size(&c[i].c);
        buf_reserve(&bytes[i], n + 1);
        btpipe__v1__job_completion__pack(&c[i].c, (uint8_t *)bytes[i].p);
        bytes[i].len = n;
    }
    struct collector_state *s = collector_new();
    const char *pid;
    int changed;
    struct bt_err err = BT_ERR_INIT;
    struct buf v = BUF_INIT, id = BUF_INIT, v2 = BUF_INIT, id2 = BUF_INIT;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(collector_apply_bytes(s, bytes[i].p, bytes[i].len, &pid, &changed, &err),
                         0);
        assert_int_equal(changed, 1);
        assert_int_equal(collector_result(s, PAIR, 1, "test", &v, &id, &err), 0);
        collector_note_published(s, PAIR, id.p);
    }
    /* New process: reads the results topic (last value), then completions. */
    struct collector_state *s2 = collector_new();
    assert_int_equal(collector_note_published_bytes(s2, v.p, v.len, &err), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(collector_apply_bytes(s2, bytes[i].p, bytes[i].len, &pid, &changed, &err),
                         0);
    assert_int_equal(changed, 0);
    assert_int_equal(collector_needs_publish(s2, PAIR), 0);
    assert_int_equal(collector_result(s2, PAIR, 1, "test", &v2, &id2, &err), 0);
    assert_string_equal(id.p, id2.p);
    assert_int_equal(v.len, v2.len);
    assert_memory_equal(v.p, v2.p, v.len);
    /* Had the old process died before publishing the second result, the
     * new one sees its result is stale. */
    struct collector_state *s3 = collector_new();
    struct buf v1 = BUF_INIT, id1 = BUF_INIT;
    assert_int_equal(collector_apply_bytes(s3, bytes[0].p, bytes[0].len, &pid, &changed, &err), 0);
    assert_int_equal(collector_result(s3, PAIR, 1, "test", &v1, &id1, &err), 0);
    collector_free(s3);
    s3 = collector_new();
    assert_int_equal(collector_note_published_bytes(s3, v1.p, v1.len, &err), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(collector_apply_bytes(s3, bytes[i].p, bytes[i].len, &pid, &changed, &err),
                         0);
    assert_int_equal(collector_needs_publish(s3, PAIR), 1);
    /* Tombstones and garbage. */
    assert_int_equal(collector_apply_bytes(s3, NULL, 0, &pid, &changed, &err), 0);
    assert_null(pid);
    assert_int_equal(collector_apply_bytes(s3, "\x0a\xff", 2, &pid, &changed, &err), BT_EINPUT);
    assert_int_equal(collector_note_published_bytes(s3, "\x0a\xff", 2, &err), BT_EINPUT);
    for (int i = 0; i < 2; i++)
        buf_free(&bytes[i]);
    buf_free(&v);
    buf_free(&id);
    buf_free(&v1);
    buf_free(&id1);
    buf_free(&v2);
    buf_free(&id2);
    collector_free(s);
    collector_free(s2);
    collector_free(s3);
}

static void test_corrections_win(void **st) {
    (void)st;
    struct collector_state *s = collector_new();
    struct comp orig, fix, stale;
    double r0[] = {0.01, 0.02}, r1[] = {0.05}, r2[] = {-0.5};
    comp_init(&orig, "t1", 100, 2, D, r0);
    comp_init(&fix, "t1fix", 200, 1, D + 1, r1);  /* corrected day 2 */
    comp_init(&stale, "t1old", 50, 1, D + 1, r2); /* older, arrives last */
    apply(s, &orig, 1);
    apply(s, &fix, 1);
    struct buf id = BUF_INIT;
    struct buf v = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(collector_result(s, PAIR, 1, "test", &v, &id, &err), 0);
    collector_note_published(s, PAIR, id.p);
    apply(s, &stale, 0);
    Btpipe__V1__AggregatedResult *r = result(s, &id);
    assert_true(fabs(r->metrics->total_return - (1.01 * 1.05 - 1)) < 1e-12);
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    /* A new factor version starts a new history; old versions are ignored. */
    struct comp v2c, v1late;
    double r3[] = {0.1};
    comp_init(&v2c, "t-v2", 10, 1, D + 3, r3);
    v2c.c.factor_version = 2;
    comp_init(&v1late, "t-v1late", 999, 1, D + 2, r3);
    apply(s, &v2c, 1);
    apply(s, &v1late, -1);
    r = result(s, &id);
    assert_int_equal(r->days, 1);
    assert_string_equal(r->first_date, "2020-01-07");
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    buf_free(&id);
    buf_free(&v);
    collector_free(s);
}

static void test_failure_status(void **st) {
    (void)st;
    struct collector_state *s = collector_new();
    struct comp ok, bad, retry;
    double r0[] = {0.01};
    comp_init(&ok, "t1", 100, 1, D, r0);
    comp_init(&bad, "t2", 200, 0, D, r0);
    bad.c.status = BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT;
    bad.c.error = "data.csv:3:4: column close: not a number";
    apply(s, &ok, 1);
    apply(s, &bad, 1);
    struct buf id = BUF_INIT;
    Btpipe__V1__AggregatedResult *r = result(s, &id);
    assert_int_equal(r->status, BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_FAILING);
    assert_string_equal(r->status_reason, "task t2: data.csv:3:4: column close: not a number");
    assert_int_equal(r->days, 1); /* the good history stays */
    char failing_id[256];
    strcpy(failing_id, id.p);
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    /* The same task succeeds later: current again, with a different id. */
    double r1[] = {0.02};
    comp_init(&retry, "t2", 300, 1, D + 1, r1);
    apply(s, &retry, 1);
    r = result(s, &id);
    assert_int_equal(r->status, BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_CURRENT);
    assert_string_equal(r->status_reason, "");
    assert_int_equal(r->days, 2);
    assert_string_not_equal(id.p, failing_id);
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    buf_free(&id);
    collector_free(s);
}

static void test_lagging_until_the_landed_date_is_covered(void **st) {
    (void)st;
    struct collector_state *s = collector_new();
    struct comp a, b;
    double r0[] = {0.01, 0.02, 0.03}, r1[] = {0.04};
    comp_init(&a, "t1", 100, 3, D, r0);
    apply(s, &a, 1);
    struct buf v = BUF_INIT, id = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(collector_result(s, PAIR, 1, "t", &v, &id, &err), 0);
    collector_note_published(s, PAIR, id.p);
    /* A date lands: the pair lags and must be published again. */
    assert_int_equal(collector_note_landed(s, "sp500", "2020-01-07"), 1);
    assert_int_equal(collector_note_landed(s, "sp500", "2020-01-06"), 0); /* not later */
    assert_int_equal(collector_note_landed(s, "other", "2020-02-01"), 1);
    assert_int_equal(collector_needs_publish(s, PAIR), 1);
    Btpipe__V1__AggregatedResult *r = result(s, &id);
    assert_int_equal(r->status, BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_LAGGING);
    assert_string_equal(r->status_reason, "data landed up to 2020-01-07; series ends 2020-01-06");
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    /* Its completion arrives: current again. */
    comp_init(&b, "t2", 200, 1, D + 3, r1);
    apply(s, &b, 1);
    r = result(s, &id);
    assert_int_equal(r->status, BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_CURRENT);
    assert_int_equal(r->days, 4);
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    /* From bytes, as main.c reads data.landed. */
    Btpipe__V1__DataIncrement inc = BTPIPE__V1__DATA_INCREMENT__INIT;
    inc.dataset = "sp500";
    inc.trading_date = "2020-01-08";
    uint8_t bytes[128];
    size_t n = btpipe__v1__data_increment__pack(&inc, bytes);
    const char *ds = NULL;
    assert_int_equal(collector_note_landed_bytes(s, bytes, n, &ds, &err), 0);
    assert_string_equal(ds, "sp500");
    assert_int_equal(collector_note_landed_bytes(s, bytes, n, &ds, &err), 0);
    assert_null(ds); /* the same date again moves nothing */
    assert_int_equal(collector_note_landed_bytes(s, "\x0a\x7f", 2, &ds, &err), BT_EINPUT);
    assert_string_equal(collector_pair_dataset(s, 0), "sp500");
    buf_free(&v);
    buf_free(&id);
    collector_free(s);
}

static void test_bad_completions_refused(void **st) {
    (void)st;
    struct collector_state *s = collector_new();
    struct comp a;
    double r0[] = {0.01};
    comp_init(&a, "t1", 100, 1, D, r0);
    const char *pid;
    int changed;
    struct bt_err err = BT_ERR_INIT;
    a.c.strategy_id = "";
    assert_int_equal(collector_apply(s, &a.c, &pid, &changed, &err), BT_EINPUT);
    assert_string_equal(err.where, "JobCompletion.strategy_id");
    a.c.strategy_id = "ls";
    a.c.dataset = "a/b";
    assert_int_equal(collector_apply(s, &a.c, &pid, &changed, &err), BT_EINPUT);
    a.c.dataset = "sp500";
    a.pts[0].date = "2020-1-2";
    assert_int_equal(collector_apply(s, &a.c, &pid, &changed, &err), BT_EINPUT);
    assert_string_equal(err.where, "JobCompletion.points[0].date");
    assert_int_equal(collector_pair_count(s), 0);
    struct buf v = BUF_INIT, id = BUF_INIT;
    assert_int_equal(collector_result(s, PAIR, 1, "t", &v, &id, &err), BT_ENOTFOUND);
    buf_free(&v);
    buf_free(&id);
    collector_free(s);
}

/* Deterministic simulation: 12 overlapping completions (some failing, two
 * factor versions) delivered 300 times in seeded random orders with random
 * duplicates must always give the result of the sorted delivery. */
static void test_random_orders_and_duplicates(void **st) {
    (void)st;
    enum { N = 12 };
    static const char *dates[] = {"2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07",
                                  "2020-01-08", "2020-01-09", "2020-01-10", "2020-01-13"};
    struct comp c[N];
    char tasks[N][32];
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        double rets[4];
        for (int k = 0; k < 4; k++)
            rets[k] = ((int)(rand_r(&seed) % 200) - 100) / 1e4;
        snprintf(tasks[i], sizeof tasks[i], "t%d", i % 5); /* tasks repeat: retries */
        comp_init(&c[i], tasks[i], 100 + (int64_t)(rand_r(&seed) % 50), 4,
                  dates + rand_r(&seed) % 5, rets);
        if (i % 7 == 3) c[i].c.status = BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_FAILED;
        if (i >= 6) c[i].c.factor_version = 2; /* v1 points must all vanish */
    }
    struct buf want = BUF_INIT, wantid = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    struct collector_state *s = collector_new();
    for (int i = 0; i < N; i++)
        apply(s, &c[i], -1);
    assert_int_equal(collector_result(s, PAIR, 1, "t", &want, &wantid, &err), 0);
    collector_free(s);
    for (int round = 0; round < 300; round++) {
        unsigned rs = (unsigned)round * 2654435761u;
        int order[3 * N], n = 0;
        for (int i = 0; i < N; i++) {
            order[n++] = i;
            if (rand_r(&rs) % 3 == 0) order[n++] = i; /* duplicate */
        }
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(rand_r(&rs) % (unsigned)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        s = collector_new();
        for (int i = 0; i < n; i++)
            apply(s, &c[order[i]], -1);
        struct buf v = BUF_INIT, id = BUF_INIT;
        assert_int_equal(collector_result(s, PAIR, 1, "t", &v, &id, &err), 0);
        if (v.len != want.len || memcmp(v.p, want.p, v.len) != 0)
            fail_msg("round %d (seed %u): result differs: %s vs %s", round,
                     (unsigned)round * 2654435761u, id.p, wantid.p);
        buf_free(&v);
        buf_free(&id);
        collector_free(s);
    }
    buf_free(&want);
    buf_free(&wantid);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_completion),
        cmocka_unit_test(test_duplicates_change_nothing),
        cmocka_unit_test(test_reordering_is_deterministic),
        cmocka_unit_test(test_replay_after_restart),
        cmocka_unit_test(test_corrections_win),
        cmocka_unit_test(test_failure_status),
        cmocka_unit_test(test_bad_completions_refused),
        cmocka_unit_test(test_random_orders_and_duplicates),
        cmocka_unit_test(test_lagging_until_the_landed_date_is_covered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
