/* test_expr_stream.c -- streamed evaluation: each expression handed out
 * once, in completion order, with expr_prog_eval's values bit for bit,
 * whatever the chunk size; released results recycled, so memory stays that
 * of a few results rather than of all. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expr.h"
#include "expr_testdata.h"

static int add(struct expr_prog *pg, const char *text) {
    struct bt_err err = BT_ERR_INIT;
    int idx = expr_prog_add(pg, text, &err);
    if (idx < 0) fail_msg("'%s': %s", text, err.msg);
    return idx;
}

/* Roots of every kind: shared with a later expression, two texts that are
 * one node, a literal, an input, and plain ones. */
static const char *const texts[] = {
    "ts_mean(close, 5)",
    "rank(ts_mean(close, 5))",
    "close + open",
    "open + close",
    "2 * 3",
    "close",
    "ts_corr(close, volume, 4) - ts_mean(close, 5)",
    "decay_linear(returns, 3)",
    "-rank(ts_delta(close, 2))",
    "ts_mean(close, 5) * 2",
};
enum { NTEXTS = sizeof texts / sizeof texts[0] };

static struct expr_prog *program(void) {
    struct expr_prog *pg = expr_prog_new();
    for (int i = 0; i < NTEXTS; i++)
        assert_int_equal(add(pg, texts[i]), i);
    return pg;
}

static void test_same_values_any_chunk(void **state) {
    (void)state;
    struct panel p;
    td_synth(&p, 60, 7);
    size_t bytes = (size_t)p.ndates * p.nsyms * sizeof(double);
    struct bt_err err = BT_ERR_INIT;
    struct expr_prog *ref = program();
    assert_int_equal(expr_prog_eval(ref, &p, &err), 0);
    int ref_evaluated = expr_prog_evaluated(ref);
    for (int max = 1; max <= NTEXTS + 1; max++) {
        struct expr_prog *pg = program();
        struct expr_stream *s = NULL;
        assert_int_equal(expr_stream_begin(pg, &p, &s, &err), 0);
        int seen[NTEXTS] = {0}, out[NTEXTS + 1], k, total = 0;
        while ((k = expr_stream_next(s, out, max)) > 0) {
            assert_true(k <= max);
            for (int t = 0; t < k; t++) {
                int r = out[t];
                assert_true(r >= 0 && r < NTEXTS);
                assert_int_equal(seen[r]++, 0);
                const double *v = expr_stream_result(s, r);
                assert_non_null(v);
                assert_memory_equal(v, expr_prog_result(ref, r), bytes);
            }
            for (int t = 0; t < k; t++) {
                expr_stream_release(s, out[t]);
                assert_null(expr_stream_result(s, out[t]));
                expr_stream_release(s, out[t]); /* twice: harmless */
            }
            total += k;
        }
        assert_int_equal(total, NTEXTS);
        assert_int_equal(expr_stream_next(s, out, max), 0);
        /* every node once, as in one expr_prog_eval */
        assert_int_equal(expr_prog_evaluated(pg), ref_evaluated);
        expr_stream_end(s);
        expr_prog_free(pg);
    }
    expr_prog_free(ref);
    panel_free(&p);
}

static void test_completion_order(void **state) {
    (void)state;
    struct panel p;
    td_synth(&p, 20, 3);
    struct bt_err err = BT_ERR_INIT;
    struct expr_prog *pg = expr_prog_new();
    int late = add(pg, "ts_std(ts_mean(high, 3), 4)");
    int early = add(pg, "ts_mean(high, 3)"); /* computed on the way to late */
    struct expr_stream *s = NULL;
    assert_int_equal(expr_stream_begin(pg, &p, &s, &err), 0);
    int out[2];
    assert_int_equal(expr_stream_next(s, out, 1), 1);
    assert_int_equal(out[0], early);
    /* not handed out yet: no result */
    assert_null(expr_stream_result(s, late));
    assert_int_equal(expr_stream_next(s, out, 1), 1);
    assert_int_equal(out[0], late);
    /* ending with results still out frees them (ASan checks) */
    expr_stream_end(s);
    expr_prog_free(pg);
    panel_free(&p);
}

static void test_memory_recycled(void **state) {
    (void)state;
    /* 30 independent factors: all at once hold 30 results; streamed one at
     * a time and released, a handful of buffers */
    struct expr_prog *all = expr_prog_new(), *one = expr_prog_new();
    char text[64];
    for (int i = 0; i < 30; i++) {
        snprintf(text, sizeof text, "abs(close - %d)", i);
        add(all, text);
        add(one, text);
    }
    struct panel p;
    td_synth(&p, 50, 4);
    size_t bytes = (size_t)p.ndates * p.nsyms * sizeof(double);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(expr_prog_eval(all, &p, &err), 0);
    assert_true(expr_prog_peak_bytes(all) >= 30 * bytes);
    struct expr_stream *s = NULL;
    assert_int_equal(expr_stream_begin(one, &p, &s, &err), 0);
    int out[1], n = 0;
    while (expr_stream_next(s, out, 1) == 1) {
        assert_memory_equal(expr_stream_result(s, out[0]), expr_prog_result(all, out[0]), bytes);
        expr_stream_release(s, out[0]);
        n++;
    }
    assert_int_equal(n, 30);
    assert_true(expr_prog_peak_bytes(one) <= 3 * bytes);
    expr_stream_end(s);
    expr_prog_free(all);
    expr_prog_free(one);
    panel_free(&p);
}

static void test_bad_panel(void **state) {
    (void)state;
    struct expr_prog *pg = expr_prog_new();
    add(pg, "close");
    struct panel p;
    memset(&p, 0, sizeof p);
    p.ndates = -1;
    struct bt_err err = BT_ERR_INIT;
    struct expr_stream *s = (struct expr_stream *)&p;
    assert_int_equal(expr_stream_begin(pg, &p, &s, &err), BT_EINPUT);
    assert_null(s);
    assert_non_null(strstr(err.msg, "negative"));
    expr_stream_end(NULL);
    expr_prog_free(pg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_values_any_chunk),
        cmocka_unit_test(test_completion_order),
        cmocka_unit_test(test_memory_recycled),
        cmocka_unit_test(test_bad_panel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
