/* test_run_many.c -- many pairs over one load on the engine's worker
 * threads: every pair's series, summary and state are bit-identical for
 * 1, 2 and 3 threads, and each pair reaches the done callback exactly once
 * (failed ones too). Real data: 60 symbols of sp500-5y. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data.h"
#include "par.h"
#include "run.h"

enum { NSYM_FILES = 60, NPAIRS = 3 * 14 + 2 };

static const char *const exprs[] = {
    "rank(ts_delta(close, 5))",
    "-ts_corr(rank(open), rank(volume), 10)",
    "rank(ts_delta(log(volume), 2)) * -rank((close - open) / open)",
    "decay_linear(returns, 10)",
    "zscore(ts_mean(returns, 60))",
    "(close - ts_min(low, 20)) / (ts_max(high, 20) - ts_min(low, 20))",
    "rank(ts_argmax(close, 30))",
    "-ts_rank(ts_std(returns, 10), 20)",
    "scale(-ts_delta(close, 3))",
    "sign(ts_delta(close, 1)) * volume / adv20",
    "demean(returns)",
    "rank(ts_corr(close, ts_mean(volume, 20), 15))",
    "rank(ts_delta(close, 5))", /* a repeat: shares the first factor */
    "ts_mean(close, 10) / ts_mean(close, 50) - 1",
};
static const char *const kinds[] = {"signal", "long_short_quantile", "topk_dropout"};

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first NSYM_FILES files of the folder in name order. */
static void load_panel(struct panel *p) {
    char dir[512], *names[600];
    int n = 0;
    snprintf(dir, sizeof dir, "%s/data/sp500-5y", BTPIPE_SHARED_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) && n < 600)
        if (strstr(e->d_name, ".csv")) {
            names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
            sprintf(names[n], "%s/%s", dir, e->d_name);
            n++;
        }
    closedir(d);
    assert_true(n >= NSYM_FILES);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(
        data_load_files((const char *const *)names, NSYM_FILES, DATA_LAYOUT_YAHOO, NULL, p, &err),
        0);
    for (int i = 0; i < n; i++)
        free(names[i]);
}

static void make_specs(struct run_pair_spec *specs) {
    int k = 0;
    for (size_t e = 0; e < sizeof exprs / sizeof *exprs; e++)
        for (int s = 0; s < 3; s++, k++) {
            memset(&specs[k], 0, sizeof specs[k]);
            specs[k].factor = exprs[e];
            specs[k].kind = kinds[s];
            run_params_default(&specs[k].params);
            specs[k].params.k = 10;
            specs[k].params.n = 2;
        }
    /* a factor that does not parse, and a kind that does not exist */
    memset(&specs[k], 0, sizeof specs[k]);
    specs[k].factor = "ts_mean(close, )";
    specs[k].kind = "signal";
    run_params_default(&specs[k++].params);
    memset(&specs[k], 0, sizeof specs[k]);
    specs[k].factor = exprs[1];
    specs[k].kind = "no_such_kind";
    run_params_default(&specs[k++].params);
    assert_int_equal(k, NPAIRS);
}

struct done_count {
    atomic_int calls[NPAIRS];
};

static void count_done(void *ctx, int i) {
    struct done_count *c = ctx;
    atomic_fetch_add(&c->calls[i], 1);
}

static int same_bits(const double *a, const double *b, int n) {
    return memcmp(a, b, sizeof(double) * (size_t)n) == 0;
}

static void test_threads_bit_identical(void **state) {
    (void)state;
    struct panel p;
    struct run_pair_spec specs[NPAIRS];
    static struct run_output outs[4][NPAIRS];
    static struct bt_err errs[4][NPAIRS];
    struct bt_err err = BT_ERR_INIT;
    load_panel(&p);
    make_specs(specs);
    for (int t = 1; t <= 3; t++) {
        struct done_count dc;
        memset(&dc, 0, sizeof dc);
        par_set_threads(t);
        assert_int_equal(
            run_many_each(&p, specs, NPAIRS, 0, 0, outs[t], errs[t], count_done, &dc, &err), 0);
        for (int i = 0; i < NPAIRS; i++)
            assert_int_equal(atomic_load(&dc.calls[i]), 1);
    }
    par_set_threads(0);
    assert_int_equal(run_many(&p, specs, NPAIRS, 0, 0, outs[0], errs[0], &err), 0);
    assert_int_equal(errs[1][NPAIRS - 2].code, BT_EINPUT);
    assert_int_equal(errs[1][NPAIRS - 1].code, BT_EINPUT);
    for (int i = 0; i < NPAIRS - 2; i++) {
        const struct run_output *a = &outs[1][i];
        assert_int_equal(errs[1][i].code, 0);
        assert_true(a->series.n > 1000);
        for (int t = 0; t <= 3; t++) {
            const struct run_output *b = &outs[t][i];
            assert_int_equal(errs[t][i].code, errs[1][i].code);
            assert_int_equal(b->series.n, a->series.n);
            int n = a->series.n;
            assert_true(same_bits(a->series.ret, b->series.ret, n));
            assert_true(same_bits(a->series.value, b->series.value, n));
            assert_true(same_bits(a->series.turnover, b->series.turnover, n));
            assert_true(same_bits(a->series.ic, b->series.ic, n));
            assert_true(same_bits(a->series.rank_ic, b->series.rank_ic, n));
            assert_memory_equal(&a->summary, &b->summary, sizeof a->summary);
            assert_int_equal(a->state_len, b->state_len);
            assert_memory_equal(a->state, b->state, a->state_len);
        }
    }
    /* the repeated factor shares the first one's results */
    assert_memory_equal(&outs[1][0].summary, &outs[1][36].summary, sizeof outs[1][0].summary);
    for (int t = 0; t <= 3; t++)
        for (int i = 0; i < NPAIRS; i++)
            run_output_free(&outs[t][i]);
    panel_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
