/* test_runner_job.c -- the runner's job mode on real data, through file:// storage.
 *
 * Real bars from ../shared/data/sp500-5y are imported into daily partitions
 * in a temporary folder. Tasks built the way the planner builds them (a
 * backfill, then an increment reading the backfill's state, with
 * warmup_from = lookback + 1 trading days back) must give exactly, bit for
 * bit, the daily points of one task over the whole range: this pins the
 * planner's warm-up rule against the engine. Bad input must come back as
 * an input error (exit 2), a missing state as a transient one (exit 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "data.h"
#include "expr.h"
#include "job.h"
#include "storage.h"

static char root[256];
static struct config cfg;
static struct storage *st;
static char **dates; /* the imported trading dates, YYYY-MM-DD */
static size_t ndates;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int setup(void **state) {
    (void)state;
    snprintf(root, sizeof root, "/tmp/btpipe-runner-job-XXXXXX");
    if (!mkdtemp(root)) return -1;
    const char *syms[] = {"AAPL", "AAL", "AAP", "ABBV", "ABC", "ABT", "ACN", "ADBE"};
    char paths[8][512];
    const char *pp[8];
    for (int i = 0; i < 8; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/data/sp500-5y/%s_data.csv.gz", BTPIPE_SHARED_DIR,
                 syms[i]);
        pp[i] = paths[i];
    }
    char out[512];
    snprintf(out, sizeof out, "%s/data/sp/daily", root);
    struct data_import_opts io = {0};
    io.from = 20170101;
    io.to = 20170331;
    struct bt_err err = BT_ERR_INIT;
    if (data_import(pp, 8, DATA_LAYOUT_YAHOO, &io, out, &err) != 0) {
        fprintf(stderr, "import: %s\n", err.msg);
        return -1;
    }
    if (config_load(&cfg, &err) || storage_new(&cfg, &st, &err)) return -1;
    struct storage_entry *e = NULL;
    size_t n = 0;
    char uri[600];
    snprintf(uri, sizeof uri, "file://%s/", out);
    if (storage_list(st, uri, &e, &n, &err) != 0) return -1;
    dates = calloc(n, sizeof *dates);
    for (size_t i = 0; i < n; i++) {
        const char *b = strrchr(e[i].uri, '/') + 1;
        dates[ndates++] = strndup(b, 10);
    }
    qsort(dates, ndates, sizeof *dates, cmp_str);
    storage_entries_free(e, n);
    return ndates > 40 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) return -1;
    for (size_t i = 0; i < ndates; i++)
        free(dates[i]);
    free(dates);
    storage_free(st);
    config_free(&cfg);
    return 0;
}

struct task_buf {
    Btpipe__V1__Task t;
    char key[256], data[600], state_in[600], state_out[600], series[600];
    Btpipe__V1__Param p[2], *pp[2];
};

/* A task as the planner makes it over dates[from..to] for expr/kind. */
static void make_task(struct task_buf *b, const char *expr, int kind, size_t from, size_t to,
                      int lookback, const char *state_in, const char *tag) {
    btpipe__v1__task__init(&b->t);
    size_t w = (size_t)lookback + 1 > from ? 0 : from - ((size_t)lookback + 1);
    snprintf(b->key, sizeof b->key, "s@1/f@1/sp/%s..%s", dates[from], dates[to]);
    snprintf(b->data, sizeof b->data, "file://%s/data/sp/daily", root);
    snprintf(b->state_in, sizeof b->state_in, "%s", state_in ? state_in : "");
    snprintf(b->state_out, sizeof b->state_out, "file://%s/res/state/%s/%s", root, tag, dates[to]);
    snprintf(b->series, sizeof b->series, "file://%s/res/series/%s/%s_%s.csv", root, tag,
             dates[from], dates[to]);
    b->t.task_key = b->key;
    b->t.strategy_id = "s";
    b->t.factor_id = "f";
    b->t.dataset = "sp";
    b->t.from_date = dates[from];
    b->t.to_date = dates[to];
    b->t.warmup_from = dates[w];
    b->t.data_version = "dv";
    b->t.expr = (char *)expr;
    b->t.kind = kind;
    b->t.data_uri = b->data;
    b->t.state_in_uri = b->state_in;
    b->t.state_out_uri = b->state_out;
    b->t.series_uri = b->series;
    b->t.layout = "daily";
    btpipe__v1__param__init(&b->p[0]);
    btpipe__v1__param__init(&b->p[1]);
    b->p[0].key = "k";
    b->p[0].value = "3";
    b->p[1].key = "n";
    b->p[1].value = "1";
    b->pp[0] = &b->p[0];
    b->pp[1] = &b->p[1];
    b->t.params = b->pp;
    b->t.n_params = kind == BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT ? 2 : 0;
}

static Btpipe__V1__JobCompletion *run_ok(const Btpipe__V1__Task *t) {
    Btpipe__V1__JobCompletion *c = NULL;
    struct bt_err err = BT_ERR_INIT;
    int rc = job_run_task(st, t, "plan", 1, "test", &c, &err);
    if (rc) fail_msg("task %s: %s (%s)", t->task_key, err.msg, err.where);
    assert_non_null(c);
    assert_int_equal(c->status, BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED);
    return c;
}

/* Backfill + increment == one run over everything, for each strategy kind. */
static void test_chain_equals_full_run(void **state) {
    (void)state;
    const char *expr = "ts_delta(close, 5) / ts_std(close, 10)";
    int lookback = 0;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(expr_lookback_text(expr, &lookback, &err), 0);
    int kinds[] = {BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL,
                   BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_LONG_SHORT_QUANTILE,
                   BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT};
    size_t last = ndates - 1;
    for (int k = 0; k < 3; k++) {
        char tag[32];
        struct task_buf full, a, b, c;
        snprintf(tag, sizeof tag, "full%d", k);
        make_task(&full, expr, kinds[k], 0, last, lookback, NULL, tag);
        Btpipe__V1__JobCompletion *cf = run_ok(&full.t);
        assert_int_equal(cf->n_points, ndates);
        assert_string_equal(cf->meta->id, "s@1/f@1/sp/2017-01-03..2017-03-31/dv");
        assert_int_equal(cf->metrics->days, ndates);
        /* the series file is there and has a header plus one row per date */
        struct buf csv = BUF_INIT;
        assert_int_equal(storage_read(st, full.series, &csv, &err), 0);
        assert_true(strncmp(csv.p, "date,return,value,turnover,ic,rank_ic\n", 38) == 0);
        size_t lines = 0;
        for (size_t i = 0; i < csv.len; i++)
            lines += csv.p[i] == '\n';
        assert_int_equal(lines, ndates + 1);
        buf_free(&csv);

        /* backfill [0..19], one day [20..20], then [21..last] */
        snprintf(tag, sizeof tag, "chain%d", k);
        make_task(&a, expr, kinds[k], 0, 19, lookback, NULL, tag);
        Btpipe__V1__JobCompletion *ca = run_ok(&a.t);
        make_task(&b, expr, kinds[k], 20, 20, lookback, a.state_out, tag);
        Btpipe__V1__JobCompletion *cb = run_ok(&b.t);
        make_task(&c, expr, kinds[k], 21, last, lookback, b.state_out, tag);
        Btpipe__V1__JobCompletion *cc = run_ok(&c.t);
        assert_int_equal(ca->n_points + cb->n_points + cc->n_points, ndates);
        Btpipe__V1__JobCompletion *parts[] = {ca, cb, cc};
        size_t at = 0;
        for (int p = 0; p < 3; p++)
            for (size_t i = 0; i < parts[p]->n_points; i++, at++) {
                const Btpipe__V1__DailyPoint *x = parts[p]->points[i], *y = cf->points[at];
                assert_string_equal(x->date, y->date);
                /* bit for bit: memcmp so that NaN == NaN */
                if (memcmp(&x->ret, &y->ret, sizeof x->ret) != 0 ||
                    memcmp(&x->value, &y->value, sizeof x->value) != 0 ||
                    memcmp(&x->ic, &y->ic, sizeof x->ic) != 0 ||
                    memcmp(&x->rank_ic, &y->rank_ic, sizeof x->rank_ic) != 0)
                    fail_msg("kind %d date %s: chained %.17g/%.17g/%.17g vs full %.17g/%.17g/%.17g",
                             kinds[k], x->date, x->ret, x->value, x->ic, y->ret, y->value, y->ic);
            }
        job_completion_free(ca);
        job_completion_free(cb);
        job_completion_free(cc);
        job_completion_free(cf);
    }
}

static void test_bad_input(void **state) {
    (void)state;
    struct task_buf t;
    Btpipe__V1__JobCompletion *c = NULL;
    struct bt_err err = BT_ERR_INIT;
    make_task(&t, "nosuchop(close)", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL, 0, 5, 0, NULL,
              "bad");
    int rc = job_run_task(st, &t.t, "plan", 1, "test", &c, &err);
    assert_true(job_is_input_error(rc));
    assert_null(c);

    make_task(&t, "close", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_CONTAINER, 0, 5, 0, NULL,
              "bad");
    assert_true(job_is_input_error(job_run_task(st, &t.t, "plan", 1, "test", &c, &err)));

    make_task(&t, "close", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL, 0, 5, 0, NULL, "bad");
    snprintf(t.data, sizeof t.data, "file://%s/data/nothing/daily", root);
    rc = job_run_task(st, &t.t, "plan", 1, "test", &c, &err);
    assert_true(job_is_input_error(rc));

    /* a state that is not there yet: transient */
    make_task(&t, "close", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL, 3, 5, 0,
              "file:///nonexistent/state", "bad");
    rc = job_run_task(st, &t.t, "plan", 1, "test", &c, &err);
    assert_int_not_equal(rc, 0);
    assert_false(job_is_input_error(rc));

    c = job_completion_error(&t.t, "plan", 2,
                             BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT,
                             "bad expression", "test", 1);
    assert_int_equal(c->status, BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT);
    assert_string_equal(c->error, "bad expression");
    assert_int_equal(c->attempt, 2);
    assert_string_equal(c->task_key, t.key);
    job_completion_free(c);
}

static void test_pick_objects(void **state) {
    (void)state;
    struct storage_entry e[] = {
        {"s3://b/sp/daily/2024/2024-01-02.csv.gz", "", 1},
        {"s3://b/sp/daily/2024/2024-01-03.csv", "", 1},
        {"s3://b/sp/daily/2024/_SUCCESS", "", 1},
        {"s3://b/sp/daily/2024/2024-01-04.csv.bak", "", 1},
        {"s3://b/sp/daily/2024/2024-01-05.csv", "", 1},
        {"s3://b/sp/daily/2024/2024-02-30.csv", "", 1},
    };
    size_t idx[6];
    assert_int_equal(job_pick_objects(e, 6, 20240103, 20240105, idx), 2);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 4);
    assert_int_equal(job_pick_objects(e, 6, 20240101, 20241231, idx), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_objects),
        cmocka_unit_test(test_chain_equals_full_run),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
