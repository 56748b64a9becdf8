/* test_expr_ops.c -- every operator against hand-computed values, and the
 * NaN, tie and division rules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu.h"
#include "expr.h"
#include "expr_testdata.h"

#define N NAN

/* Evaluates text on p and checks symbol s's column against want[0..n). */
static void check_col(const struct panel *p, const char *text, int s, const double *want, int n) {
    double *out = NULL;
    struct bt_err err = BT_ERR_INIT;
    if (expr_eval_text(text, p, &out, &err)) fail_msg("'%s': %s", text, err.msg);
    for (int d = 0; d < n; d++) {
        double got = out[panel_idx(p, d, s)], w = want[d];
        int ok = isnan(w) ? isnan(got) : (!isnan(got) && fabs(got - w) <= 1e-12 * (1 + fabs(w)));
        if (!ok) {
            free(out);
            fail_msg("'%s' row %d sym %d: got %.17g want %.17g", text, d, s, got, w);
        }
    }
    free(out);
}

/* Same for one row d across all symbols. */
static void check_row(const struct panel *p, const char *text, int d, const double *want) {
    double *out = NULL;
    struct bt_err err = BT_ERR_INIT;
    if (expr_eval_text(text, p, &out, &err)) fail_msg("'%s': %s", text, err.msg);
    for (int s = 0; s < p->nsyms; s++) {
        double got = out[panel_idx(p, d, s)], w = want[s];
        int ok = isnan(w) ? isnan(got) : (!isnan(got) && fabs(got - w) <= 1e-12 * (1 + fabs(w)));
        if (!ok) {
            free(out);
            fail_msg("'%s' row %d sym %d: got %.17g want %.17g", text, d, s, got, w);
        }
    }
    free(out);
}

/* One symbol, close = x. */
static void one(struct panel *p, const double *x, int n) {
    td_panel(p, n, 1);
    td_set(p, PF_CLOSE, 0, x, n);
}

static void test_elementwise(void **state) {
    (void)state;
    struct panel p;
    td_panel(&p, 1, 6);
    double c[] = {2, -2, 0, N, 4, 1};
    double o[] = {1, 0, 0, 1, N, 1};
    for (int s = 0; s < 6; s++) {
        td_set(&p, PF_CLOSE, s, &c[s], 1);
        td_set(&p, PF_OPEN, s, &o[s], 1);
    }
    check_row(&p, "close + open", 0, (double[]){3, -2, 0, N, N, 2});
    check_row(&p, "close - open", 0, (double[]){1, -2, 0, N, N, 0});
    check_row(&p, "close * open", 0, (double[]){2, -0.0, 0, N, N, 1});
    check_row(&p, "close / open", 0, (double[]){2, N, N, N, N, 1}); /* x/0 -> NaN */
    check_row(&p, "-close", 0, (double[]){-2, 2, 0, N, -4, -1});
    check_row(&p, "abs(close)", 0, (double[]){2, 2, 0, N, 4, 1});
    check_row(&p, "log(close)", 0, (double[]){log(2), N, N, N, log(4), 0});
    check_row(&p, "sign(close)", 0, (double[]){1, -1, 0, N, 1, 1});
    check_row(&p, "sqrt(close)", 0, (double[]){sqrt(2), N, 0, N, 2, 1});
    check_row(&p, "power(close, 3)", 0, (double[]){8, -8, 0, N, 64, 1});
    check_row(&p, "close ^ 0.5", 0, (double[]){sqrt(2), N, 0, N, 2, 1});
    check_row(&p, "signedpower(close, 2)", 0, (double[]){4, -4, 0, N, 16, 1});
    check_row(&p, "SignedPower(close, 0.5)", 0, (double[]){sqrt(2), -sqrt(2), 0, N, 2, 1});
    check_row(&p, "min(close, open)", 0, (double[]){1, -2, 0, N, N, 1});
    check_row(&p, "max(close, open)", 0, (double[]){2, 0, 0, N, N, 1});
    check_row(&p, "max(close, 1)", 0, (double[]){2, 1, 1, N, 4, 1}); /* 1: elementwise */
    check_row(&p, "min(close, 0)", 0, (double[]){0, -2, 0, N, 0, 0});
    check_row(&p, "close < open", 0, (double[]){0, 1, 0, N, N, 0});
    check_row(&p, "close <= open", 0, (double[]){0, 1, 1, N, N, 1});
    check_row(&p, "close > open", 0, (double[]){1, 0, 0, N, N, 0});
    check_row(&p, "close >= open", 0, (double[]){1, 0, 1, N, N, 1});
    check_row(&p, "close == open", 0, (double[]){0, 0, 1, N, N, 1});
    check_row(&p, "close != open", 0, (double[]){1, 1, 0, N, N, 0});
    check_row(&p, "close && open", 0, (double[]){1, 0, 0, N, N, 1});
    check_row(&p, "close || open", 0, (double[]){1, 1, 0, N, N, 1});
    check_row(&p, "!close", 0, (double[]){0, 0, 1, N, 0, 0});
    check_row(&p, "close > 1 ? close : open", 0, (double[]){2, 0, 0, N, 4, 1});
    check_row(&p, "open ? 10 : 20", 0, (double[]){10, 20, 20, 10, N, 10});
    /* precedence: ^ binds tighter than unary minus, and is right-associative */
    check_row(&p, "-close^2", 0, (double[]){-4, -4, -0.0, N, -16, -1});
    check_row(&p, "2^3^2 + 0 * close", 0, (double[]){512, 512, 512, N, 512, 512});
    check_row(&p, "1 + 2 * 3 - 4 / 2 + close * 0", 0, (double[]){5, 5, 5, N, 5, 5});
    check_row(&p, "1 < 2 == 1", 0, (double[]){1, 1, 1, 1, 1, 1}); /* constant broadcast */
    check_row(&p, "close > 0 && open > 0 || close < 0", 0, (double[]){1, 1, 0, N, N, 1});
    panel_free(&p);
}

static void test_inputs(void **state) {
    (void)state;
    struct panel p;
    td_panel(&p, 4, 1);
    td_set(&p, PF_CLOSE, 0, (double[]){1, 2, 3, 6}, 4);
    td_set(&p, PF_VOLUME, 0, (double[]){10, 20, 30, 40}, 4);
    td_set(&p, PF_VWAP, 0, (double[]){7, 8, 9, 10}, 4);
    td_set(&p, PF_OPEN, 0, (double[]){1, 1, 1, 1}, 4);
    td_set(&p, PF_HIGH, 0, (double[]){2, 2, 2, 2}, 4);
    td_set(&p, PF_LOW, 0, (double[]){0, 0, 0, 0}, 4);
    check_col(&p, "returns", 0, (double[]){N, 1, 0.5, 1}, 4);
    check_col(&p, "adv2", 0, (double[]){N, 15, 25, 35}, 4);
    check_col(&p, "vwap", 0, (double[]){7, 8, 9, 10}, 4);
    check_col(&p, "high - low + open", 0, (double[]){3, 3, 3, 3}, 4);
    check_col(&p, "VOLUME / Adv3", 0, (double[]){N, N, 1.5, 40.0 / 30}, 4);
    panel_free(&p);
}

static void test_time_series(void **state) {
    (void)state;
    struct panel p;
    one(&p, (double[]){1, 2, 3, 4, 5}, 5);
    check_col(&p, "delay(close, 2)", 0, (double[]){N, N, 1, 2, 3}, 5);
    check_col(&p, "delta(close, 1)", 0, (double[]){N, 1, 1, 1, 1}, 5);
    check_col(&p, "ts_sum(close, 3)", 0, (double[]){N, N, 6, 9, 12}, 5);
    check_col(&p, "sum(close, 3.9)", 0, (double[]){N, N, 6, 9, 12}, 5); /* floor */
    check_col(&p, "ts_mean(close, 3)", 0, (double[]){N, N, 2, 3, 4}, 5);
    check_col(&p, "ts_std(close, 3)", 0, (double[]){N, N, 1, 1, 1}, 5);
    check_col(&p, "stddev(close, 2)", 0, (double[]){N, sqrt(0.5), sqrt(0.5), sqrt(0.5), sqrt(0.5)},
              5);
    check_col(&p, "ts_std(close, 1)", 0, (double[]){N, N, N, N, N}, 5); /* ddof 1 */
    check_col(&p, "ts_zscore(close, 3)", 0, (double[]){N, N, 1, 1, 1}, 5);
    check_col(&p, "ts_product(close, 2)", 0, (double[]){N, 2, 6, 12, 20}, 5);
    check_col(&p, "product(close, 1)", 0, (double[]){1, 2, 3, 4, 5}, 5);
    check_col(&p, "decay_linear(close, 3)", 0, (double[]){N, N, 14.0 / 6, 20.0 / 6, 26.0 / 6}, 5);
    /* ewm span 2: alpha 2/3, weights 1, 1/3 */
    check_col(&p, "ewm(close, 2)", 0, (double[]){N, 1.75, 2.75, 3.75, 4.75}, 5);
    check_col(&p, "ts_cov(close, close * 2, 3)", 0, (double[]){N, N, 2, 2, 2}, 5);
    check_col(&p, "covariance(close, close, 3)", 0, (double[]){N, N, 1, 1, 1}, 5);
    check_col(&p, "ts_corr(close, close * 2, 3)", 0, (double[]){N, N, 1, 1, 1}, 5);
    check_col(&p, "correlation(close, -close, 4)", 0, (double[]){N, N, N, -1, -1}, 5);
    /* zero variance -> NaN (not +-1, not a division artefact) */
    check_col(&p, "ts_corr(close, close * 0 + 0.1, 3)", 0, (double[]){N, N, N, N, N}, 5);
    panel_free(&p);

    /* min/max/argmin/argmax/rank with ties: 3 1 4 1 5 */
    one(&p, (double[]){3, 1, 4, 1, 5}, 5);
    check_col(&p, "ts_min(close, 3)", 0, (double[]){N, N, 1, 1, 1}, 5);
    check_col(&p, "ts_max(close, 3)", 0, (double[]){N, N, 4, 4, 5}, 5);
    check_col(&p, "min(close, 2)", 0, (double[]){N, 1, 1, 1, 1}, 5);
    check_col(&p, "max(close, 2)", 0, (double[]){N, 3, 4, 4, 5}, 5);
    /* position in window, 1 = oldest, ties -> oldest */
    check_col(&p, "ts_argmin(close, 3)", 0, (double[]){N, N, 2, 1, 2}, 5);
    check_col(&p, "ts_argmax(close, 3)", 0, (double[]){N, N, 3, 2, 3}, 5);
    check_col(&p, "ts_rank(close, 3)", 0, (double[]){N, N, 1, 0.5, 1}, 5);
    check_col(&p, "ts_rank(close, 2)", 0, (double[]){N, 0.5, 1, 0.5, 1}, 5);
    check_col(&p, "ts_rank(close, 1)", 0, (double[]){1, 1, 1, 1, 1}, 5);
    /* a constant window has std exactly 0 -> zscore NaN */
    panel_free(&p);
    one(&p, (double[]){0.1, 0.1, 0.1, 0.2}, 4);
    check_col(&p, "ts_std(close, 3)", 0, (double[]){N, N, 0, sqrt(1.0 / 300)}, 4);
    check_col(&p, "ts_zscore(close, 3)", 0, (double[]){N, N, N, (0.2 - 0.4 / 3) / sqrt(1.0 / 300)},
              4);
    check_col(&p, "ts_rank(close, 3)", 0, (double[]){N, N, 2.0 / 3, 1}, 4);
    panel_free(&p);
}

static void test_nan_windows(void **state) {
    (void)state;
    struct panel p;
    one(&p, (double[]){1, N, 3, 4, 5, 6}, 6);
    check_col(&p, "ts_sum(close, 3)", 0, (double[]){N, N, N, N, 12, 15}, 6);
    check_col(&p, "ts_min(close, 3)", 0, (double[]){N, N, N, N, 3, 4}, 6);
    check_col(&p, "ts_max(close, 2)", 0, (double[]){N, N, N, 4, 5, 6}, 6);
    check_col(&p, "ts_argmax(close, 3)", 0, (double[]){N, N, N, N, 3, 3}, 6);
    check_col(&p, "ts_argmin(close, 2)", 0, (double[]){N, N, N, 1, 1, 1}, 6);
    check_col(&p, "ts_rank(close, 3)", 0, (double[]){N, N, N, N, 1, 1}, 6);
    check_col(&p, "ts_std(close, 3)", 0, (double[]){N, N, N, N, 1, 1}, 6);
    check_col(&p, "ts_corr(close, open, 2)", 0, (double[]){N, N, N, N, N, N}, 6);
    check_col(&p, "delay(close, 1)", 0, (double[]){N, 1, N, 3, 4, 5}, 6);
    check_col(&p, "delta(close, 2)", 0, (double[]){N, N, 2, N, 2, 2}, 6);
    check_col(&p, "decay_linear(close, 2)", 0, (double[]){N, N, N, 11.0 / 3, 14.0 / 3, 17.0 / 3},
              6);
    check_col(&p, "ewm(close, 3)", 0,
              (double[]){N, N, N, N, (5 + 2 + 0.75) / 1.75, (6 + 2.5 + 1) / 1.75}, 6);
    panel_free(&p);
}

static void test_cross_section(void **state) {
    (void)state;
    struct panel p;
    td_panel(&p, 2, 5);
    double row0[] = {10, 20, 20, N, 5};
    double row1[] = {1, -3, N, N, 2};
    for (int s = 0; s < 5; s++) {
        td_set(&p, PF_CLOSE, s, (double[]){row0[s], row1[s]}, 2);
    }
    /* pandas rank(pct=True): average ranks of ties, divided by the count */
    check_row(&p, "rank(close)", 0, (double[]){0.5, 0.875, 0.875, N, 0.25});
    check_row(&p, "rank(close)", 1, (double[]){2.0 / 3, 1.0 / 3, N, N, 1});
    check_row(&p, "demean(close)", 0, (double[]){-3.75, 6.25, 6.25, N, -8.75});
    double sd = sqrt((3.75 * 3.75 + 2 * 6.25 * 6.25 + 8.75 * 8.75) / 3);
    check_row(&p, "zscore(close)", 0, (double[]){-3.75 / sd, 6.25 / sd, 6.25 / sd, N, -8.75 / sd});
    check_row(&p, "scale(close)", 1, (double[]){1.0 / 6, -3.0 / 6, N, N, 2.0 / 6});
    check_row(&p, "scale(close, 2)", 1, (double[]){2.0 / 6, -6.0 / 6, N, N, 4.0 / 6});
    check_row(&p, "scale(close * 0)", 1, (double[]){N, N, N, N, N}); /* sum |x| = 0 */
    check_row(&p, "rank(close * 0 + 1)", 0, (double[]){0.625, 0.625, 0.625, N, 0.625});
    check_row(&p, "rank(3)", 0, (double[]){0.6, 0.6, 0.6, 0.6, 0.6}); /* broadcast */
    panel_free(&p);
    /* a single valid symbol: zscore undefined, rank 1 */
    td_panel(&p, 1, 2);
    td_set(&p, PF_CLOSE, 0, (double[]){5}, 1);
    check_row(&p, "zscore(close)", 0, (double[]){N, N});
    check_row(&p, "rank(close)", 0, (double[]){1, N});
    panel_free(&p);
}

/* Percentile rank of x[s] among the non-NaN x, ties averaged, by counting:
 * the definition itself, O(n^2), for checking the sort-based kernel. */
static double naive_rank(const double *x, int n, int s) {
    if (isnan(x[s])) return NAN;
    double less = 0, eq = 0, m = 0;
    for (int k = 0; k < n; k++) {
        if (isnan(x[k])) continue;
        m++;
        less += x[k] < x[s];
        eq += x[k] == x[s];
    }
    return (less + (eq + 1) / 2) / m;
}

/* rank sorts on truncated keys and repairs collisions: rows built to hit
 * every path - values a few ulps apart (short and long colliding runs),
 * exact ties inside colliding runs, -0 and +0, NaN, both signs, huge and
 * tiny magnitudes - must match the counting definition exactly. */
static void test_rank_paths(void **state) {
    (void)state;
    enum { NS = 300, ND = 6 };
    struct panel p;
    td_panel(&p, ND, NS);
    unsigned seed = 12345;
    double col[ND];
    static double rows[ND][NS];
    for (int d = 0; d < ND; d++)
        for (int s = 0; s < NS; s++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 8) % 1000;
            double v;
            switch (d) {
            case 0: v = 1.0 + (double)(r % 40) * 0x1p-52; break; /* one long run, ties */
            case 1: v = (s % 7 == 0) ? NAN : ldexp(1.0 + r * 1e-7, (int)(r % 5)); break;
            case 2: v = (r % 3 == 0) ? -0.0 : (r % 3 == 1 ? 0.0 : -1e-300 * r); break;
            case 3: v = (double)(r % 10) - 4.5 + (r % 2) * 0x1p-40; break; /* short runs */
            case 4: v = (r % 2 ? 1 : -1) * ldexp((double)r, (int)(r % 600) - 300); break;
            default: v = 1.0 + (double)s * 0x1p-52 * ((s % 2) ? 1 : -1); break;
            }
            rows[d][s] = v;
        }
    for (int s = 0; s < NS; s++) {
        for (int d = 0; d < ND; d++)
            col[d] = rows[d][s];
        td_set(&p, PF_CLOSE, s, col, ND);
    }
    /* both ways of sorting: AVX-512 (where the CPU has it) and portable */
    for (int portable = 0; portable < 2; portable++) {
        double *out = NULL;
        struct bt_err err = BT_ERR_INIT;
        cpu_force_portable(portable);
        assert_int_equal(expr_eval_text("rank(close)", &p, &out, &err), 0);
        cpu_force_portable(0);
        for (int d = 0; d < ND; d++)
            for (int s = 0; s < NS; s++) {
                double want = naive_rank(rows[d], NS, s), got = out[panel_idx(&p, d, s)];
                if (isnan(want) ? !isnan(got) : memcmp(&got, &want, sizeof got) != 0) {
                    free(out);
                    fail_msg("rank row %d sym %d (%.17g): got %.17g want %.17g (portable %d)", d, s,
                             rows[d][s], got, want, portable);
                }
            }
        free(out);
    }
    panel_free(&p);
}

static void test_empty_panel(void **state) {
    (void)state;
    struct panel p;
    td_panel(&p, 0, 0);
    double *out = NULL;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(expr_eval_text("rank(ts_corr(close, open, 5))", &p, &out, &err), 0);
    free(out);
    panel_free(&p);
    /* window longer than the data: all NaN, no crash */
    one(&p, (double[]){1, 2}, 2);
    check_col(&p, "ts_corr(close, open, 50) + delay(close, 9)", 0, (double[]){N, N}, 2);
    panel_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elementwise),   cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_time_series),   cmocka_unit_test(test_nan_windows),
        cmocka_unit_test(test_cross_section), cmocka_unit_test(test_empty_panel),
        cmocka_unit_test(test_rank_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
