/* test_expr_prog.c -- shared subexpressions: fewer nodes, each computed
 * once, same values as evaluating alone, bounded intermediate memory, and
 * values that do not depend on where the panel starts. */
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

static void same_bits(const double *a, const double *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0 && !(isnan(a[i]) && isnan(b[i])))
            fail_msg("cell %zu: %.17g vs %.17g", i, a[i], b[i]);
}

static void test_cse_counts(void **state) {
    (void)state;
    struct expr_prog *pg = expr_prog_new();
    int a = add(pg, "rank(ts_mean(close, 5))");
    int b = add(pg, "ts_mean(close, 5) * 2");
    assert_int_equal(expr_prog_node_count(pg), 3); /* ts_mean, rank, * */
    int c = add(pg, "ts_mean(close, 5)");          /* nothing new */
    assert_int_equal(expr_prog_node_count(pg), 3);
    add(pg, "close + open");
    add(pg, "open + close"); /* commutes: same node */
    assert_int_equal(expr_prog_node_count(pg), 4);
    add(pg, "close - open");
    add(pg, "open - close"); /* does not commute */
    assert_int_equal(expr_prog_node_count(pg), 6);
    add(pg, "returns * 2 + returns"); /* returns expands once: delay, /, -, *, + */
    assert_int_equal(expr_prog_node_count(pg), 11);
    add(pg, "(1 - 0.5) * close"); /* literals fold: one node */
    assert_int_equal(expr_prog_node_count(pg), 12);
    add(pg, "0.5 * close");
    assert_int_equal(expr_prog_node_count(pg), 12);
    assert_int_equal(expr_prog_count(pg), 10);
    assert_int_equal(expr_prog_lookback(pg, a), 4);
    assert_int_equal(expr_prog_lookback(pg, b), 4);

    struct panel p;
    td_synth(&p, 60, 7);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(expr_prog_eval(pg, &p, &err), 0);
    assert_int_equal(expr_prog_evaluated(pg), 12); /* each node once */
    size_t cells = (size_t)p.ndates * p.nsyms;
    /* every result equals evaluating its text alone */
    const char *texts[] = {"rank(ts_mean(close, 5))", "ts_mean(close, 5) * 2", "ts_mean(close, 5)"};
    int idx[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        double *alone;
        assert_int_equal(expr_eval_text(texts[i], &p, &alone, &err), 0);
        same_bits(expr_prog_result(pg, idx[i]), alone, cells);
        free(alone);
    }
    same_bits(expr_prog_result(pg, 3), expr_prog_result(pg, 4), cells);
    /* take_result hands the buffer over once */
    double *taken = expr_prog_take_result(pg, c);
    assert_non_null(taken);
    assert_null(expr_prog_take_result(pg, c));
    free(taken);
    /* a second eval recomputes everything */
    assert_int_equal(expr_prog_eval(pg, &p, &err), 0);
    assert_int_equal(expr_prog_evaluated(pg), 12);
    assert_non_null(expr_prog_result(pg, c));
    expr_prog_free(pg);
    panel_free(&p);
}

static void test_memory_bounded(void **state) {
    (void)state;
    /* a chain of 40 operators keeps ~2 intermediates alive, not 40 */
    char text[4096], *w = text;
    for (int i = 0; i < 40; i++)
        w += sprintf(w, "abs(");
    w += sprintf(w, "close");
    for (int i = 0; i < 40; i++)
        *w++ = ')';
    *w = '\0';
    struct expr_prog *pg = expr_prog_new();
    add(pg, text);
    struct panel p;
    td_synth(&p, 100, 10);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(expr_prog_eval(pg, &p, &err), 0);
    assert_int_equal(expr_prog_evaluated(pg), 40);
    size_t bytes = (size_t)p.ndates * p.nsyms * sizeof(double);
    assert_true(expr_prog_peak_bytes(pg) <= 2 * bytes);
    expr_prog_free(pg);
    panel_free(&p);
}

/* A panel holding rows [from, ndates) of src, dates included. */
static void tail_panel(const struct panel *src, int from, struct panel *dst) {
    td_panel(dst, src->ndates - from, src->nsyms);
    memcpy(dst->dates, src->dates + from, (size_t)dst->ndates * sizeof *dst->dates);
    for (int f = 0; f < PF_COUNT; f++)
        memcpy(dst->f[f], src->f[f] + (size_t)from * src->nsyms,
               (size_t)(src->ndates - from) * src->nsyms * sizeof(double));
}

static void test_start_independent(void **state) {
    (void)state;
    const char *texts[] = {
        "ts_std(close, 10) + ts_mean(volume, 7)",
        "ts_sum(close, 32) + ts_mean(volume, 45) + ts_std(open, 33) + ts_zscore(low, 50)",
        "ts_std(close * 0 + 7, 39) + ts_std(close / 1000 + 100, 40) + ts_sum(returns, 60)",
        "ts_corr(close, volume, 12) * decay_linear(returns, 9)",
        "rank(ts_cov(high, low, 5)) + ts_zscore(open, 6) + ewm(close, 8)",
        "ts_rank(ts_sum(close, 5), 6) + ts_argmax(low, 4) + ts_product(returns + 1, 3)",
    };
    struct panel p, q;
    td_synth(&p, 160, 9);
    for (int start = 1; start < 70; start += 6) {
        tail_panel(&p, start, &q);
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            double *full, *part;
            int lb;
            struct bt_err err = BT_ERR_INIT;
            assert_int_equal(expr_lookback_text(texts[i], &lb, &err), 0);
            assert_int_equal(expr_eval_text(texts[i], &p, &full, &err), 0);
            assert_int_equal(expr_eval_text(texts[i], &q, &part, &err), 0);
            /* from row lb of the shorter panel on, bit for bit */
            size_t off = (size_t)start * p.nsyms;
            size_t n = (size_t)(q.ndates - lb) * q.nsyms;
            same_bits(full + off + (size_t)lb * p.nsyms, part + (size_t)lb * q.nsyms, n);
            free(full);
            free(part);
        }
        panel_free(&q);
    }
    panel_free(&p);
}

/* Windows of 32+ days take the block-sum path; check it against sums taken
 * directly (via shorter windows combined: ts_sum(x, 32) = ts_sum(x, 16) +
 * delay(ts_sum(x, 16), 16)) and against hand formulas, NaN holes included. */
static void test_block_sums(void **state) {
    (void)state;
    struct panel p;
    td_synth(&p, 200, 6);
    struct {
        const char *block, *direct;
    } pairs[] = {
        {"ts_sum(close, 32)", "ts_sum(close, 16) + delay(ts_sum(close, 16), 16)"},
        {"ts_mean(volume, 40)", "(ts_sum(volume, 20) + delay(ts_sum(volume, 20), 20)) / 40"},
        {"ts_sum(returns, 60)", "ts_sum(returns, 12) + delay(ts_sum(returns, 12), 12) + "
                                "delay(ts_sum(returns, 12), 24) + delay(ts_sum(returns, 12), 36) + "
                                "delay(ts_sum(returns, 12), 48)"},
        {"ts_std(close, 33)", "sqrt(ts_cov(close, close, 33))"},
        {"ts_std(close / 100 + 1000, 16)",
         "sqrt(ts_cov(close / 100 + 1000, close / 100 + 1000, 16))"},
        {"ts_zscore(open, 36)",
         "(open - ts_sum(open, 12) / 36 - delay(ts_sum(open, 12), 12) / 36 - "
         "delay(ts_sum(open, 12), 24) / 36) / sqrt(ts_cov(open, open, 36))"},
    };
    size_t cells = (size_t)p.ndates * p.nsyms;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        double *a, *b;
        struct bt_err err = BT_ERR_INIT;
        assert_int_equal(expr_eval_text(pairs[i].block, &p, &a, &err), 0);
        assert_int_equal(expr_eval_text(pairs[i].direct, &p, &b, &err), 0);
        size_t finite = 0;
        for (size_t c = 0; c < cells; c++) {
            if (isnan(a[c]) != isnan(b[c]))
                fail_msg("%s cell %zu: %g vs %g", pairs[i].block, c, a[c], b[c]);
            if (isnan(a[c])) continue;
            finite++;
            if (fabs(a[c] - b[c]) > 1e-9 * fabs(b[c]) + 1e-12)
                fail_msg("%s cell %zu: %.17g vs %.17g", pairs[i].block, c, a[c], b[c]);
        }
        assert_true(finite > cells / 10);
        free(a);
        free(b);
    }
    /* a constant window has std exactly 0 on the block path too */
    double *z;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(expr_eval_text("ts_std(close * 0 + 0.1, 40)", &p, &z, &err), 0);
    for (size_t c = 0; c < cells; c++)
        assert_true(isnan(z[c]) || z[c] == 0.0);
    free(z);
    panel_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cse_counts),
        cmocka_unit_test(test_memory_bounded),
        cmocka_unit_test(test_start_independent),
        cmocka_unit_test(test_block_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
