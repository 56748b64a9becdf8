/* test_run.c -- strategies, state, incremental runs and lookahead over
 * hand-built panels (no files), so each rule is pinned on its own. */
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
#include "metrics_calc.h"
#include "run.h"
#include "state.h"
#include "strategy.h"

static const char *const kinds[] = {"signal", "long_short_quantile", "topk_dropout"};

/* Deterministic pseudo-random numbers in [0, 1), so failures reproduce. */
static double rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static int32_t date_of(int d) {
    /* 28 days a month keeps dates valid and ascending */
    return 20200101 + (d / 28) * 100 + d % 28 + (d / 336) * 8800;
}

/* A random-walk panel with late listings and suspensions, plus a factor
 * with holes; seed picks the draw. */
static void make_panel(struct panel *p, double **factor, int nd, int ns, uint64_t seed) {
    assert_int_equal(panel_alloc(p, nd, ns), 0);
    *factor = malloc(sizeof(double) * (size_t)nd * (size_t)ns);
    for (int s = 0; s < ns; s++) {
        char name[16];
        snprintf(name, sizeof name, "S%03d", s);
        panel_set_sym(p, s, name);
    }
    for (int d = 0; d < nd; d++)
        p->dates[d] = date_of(d);
    for (int s = 0; s < ns; s++) {
        double px = 10 + 90 * rnd(&seed);
        int listed = s % 5 == 4 ? nd / 4 : 0;
        for (int d = 0; d < nd; d++) {
            size_t i = panel_idx(p, d, s);
            double o = px * (1 + 0.02 * (rnd(&seed) - 0.5));
            px = o * (1 + 0.04 * (rnd(&seed) - 0.5));
            (*factor)[i] = rnd(&seed) - 0.5;
            if (rnd(&seed) < 0.05) (*factor)[i] = NAN;
            if (d < listed || rnd(&seed) < 0.03) continue; /* no bar */
            p->f[PF_OPEN][i] = o;
            p->f[PF_CLOSE][i] = px;
            p->f[PF_HIGH][i] = fmax(o, px);
            p->f[PF_LOW][i] = fmin(o, px);
            p->f[PF_VOLUME][i] = 1000;
            p->f[PF_VWAP][i] = (o + px) / 2;
        }
    }
}

static void params_for(struct run_params *prm) {
    run_params_default(prm);
    prm->k = 4;
    prm->n = 2;
    prm->quantiles = 4;
}

static void test_params(void **st) {
    (void)st;
    struct run_params p;
    struct bt_err err = BT_ERR_INIT;
    run_params_default(&p);
    assert_true(p.cash == 100000 && p.commission == 0.0002 && p.quantiles == 5 &&
                p.cost_bps == 10 && p.k == 50 && p.n == 5);
    assert_int_equal(strategy_params_parse_kv(&p, "cash=5000.5", &err), 0);
    assert_true(p.cash == 5000.5);
    assert_int_equal(strategy_params_parse_kv(&p, "k=7", &err), 0);
    assert_int_equal(p.k, 7);
    assert_int_equal(strategy_params_parse_kv(&p, "bogus=1", &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "bogus"));
    assert_int_equal(strategy_params_parse_kv(&p, "quantiles=1", &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "quantiles"));
    assert_int_equal(strategy_params_parse_kv(&p, "commission=abc", &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "commission"));
    assert_int_equal(strategy_params_parse_kv(&p, "cash", &err), BT_EINPUT);
    assert_int_equal(strategy_params_parse_kv(&p, "cash=-1", &err), BT_EINPUT);
    enum run_kind k;
    assert_int_equal(run_kind_parse("topk_dropout", &k, &err), 0);
    assert_int_equal(k, RUN_TOPK_DROPOUT);
    assert_int_equal(run_kind_parse("momentum", &k, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "momentum"));
}

/* One symbol, prices chosen so every number can be checked by hand. */
static void one_sym(struct panel *p, int nd, const double *o, const double *c) {
    assert_int_equal(panel_alloc(p, nd, 1), 0);
    panel_set_sym(p, 0, "X");
    for (int d = 0; d < nd; d++) {
        p->dates[d] = 20210101 + d;
        p->f[PF_OPEN][d] = o[d];
        p->f[PF_CLOSE][d] = c[d];
    }
}

static void test_signal_by_hand(void **st) {
    (void)st;
    /* day0: factor>0 -> buy int(1000/30)=33 at day1 open 31 (1023 + comm) */
    double o[] = {29, 31, 32, 35, 33}, c[] = {30, 31.5, 34, 34, 36};
    double f[] = {1, NAN, 0, -1, 1};
    struct panel p;
    struct run_params prm;
    struct run_output out;
    struct bt_err err = BT_ERR_INIT;
    one_sym(&p, 5, o, c);
    run_params_default(&prm);
    prm.cash = 1000;
    prm.commission = 0.001;
    assert_int_equal(run_pair(&p, f, "signal", &prm, 0, 0, NULL, 0, &out, &err), 0);
    /* 33 * 30 = 990 + 0.99 comm <= 1000: accepted at submit; fill at open 31:
     * 33 * 31 = 1023 > 1000: refused at the fill, as backtrader does */
    assert_true(out.series.value[4] == 1000);
    assert_true(out.series.turnover[1] == 0);
    run_output_free(&out);
    /* refused at submit: int(1200/30) = 40 shares, 1200 + 1.2 commission at
     * the decision close, even though the open would have been cheaper */
    p.f[PF_OPEN][1] = 29.5;
    prm.cash = 1200;
    assert_int_equal(run_pair(&p, f, "signal", &prm, 0, 0, NULL, 0, &out, &err), 0);
    assert_true(out.series.value[4] == 1200 && out.series.turnover[1] == 0);
    run_output_free(&out);
    /* a cheaper open lets int(1100/30) = 36 shares fill at 29.5 on day1 */
    prm.cash = 1100;
    double cash1 = 1100 - 36 * 29.5 - 36 * 0.001 * 29.5;
    assert_int_equal(run_pair(&p, f, "signal", &prm, 0, 0, NULL, 0, &out, &err), 0);
    assert_true(out.series.value[0] == 1100);
    assert_true(fabs(out.series.value[1] - (cash1 + 36 * 31.5)) < 1e-9);
    assert_true(fabs(out.series.turnover[1] - 36 * 29.5 / out.series.value[1]) < 1e-12);
    /* day3 factor < 0: sell at day4 open 33 */
    double cash4 = cash1 + 36 * 33.0 - 36 * 0.001 * 33.0;
    assert_true(fabs(out.series.value[4] - cash4) < 1e-9);
    assert_true(fabs(out.series.ret[2] - (out.series.value[2] / out.series.value[1] - 1)) < 1e-15);
    run_output_free(&out);
    panel_free(&p);
}

static void test_signal_suspension(void **st) {
    (void)st;
    /* an order decided on day0 waits through the day1 suspension and fills
     * at day2's open */
    double o[] = {10, NAN, 12, 13}, c[] = {10, NAN, 12.5, 13};
    double f[] = {1, NAN, NAN, NAN};
    struct panel p;
    struct run_params prm;
    struct run_output out;
    struct bt_err err = BT_ERR_INIT;
    one_sym(&p, 4, o, c);
    run_params_default(&prm);
    prm.cash = 1000;
    prm.commission = 0;
    assert_int_equal(run_pair(&p, f, "signal", &prm, 0, 0, NULL, 0, &out, &err), 0);
    assert_true(out.series.value[1] == 1000 && out.series.turnover[1] == 0);
    assert_true(fabs(out.series.value[2] - (1000 - 100 * 12 + 100 * 12.5)) < 1e-9 ||
                out.series.value[2] == 1000);
    /* 100 shares at 12 = 1200 > 1000: refused at the fill; try with 99 cash */
    run_output_free(&out);
    c[0] = 12.5; /* int(1000/12.5) = 80 shares, 960 at the day2 open */
    panel_free(&p);
    one_sym(&p, 4, o, c);
    assert_int_equal(run_pair(&p, f, "signal", &prm, 0, 0, NULL, 0, &out, &err), 0);
    assert_true(out.series.value[1] == 1000);
    assert_true(fabs(out.series.value[2] - (1000 - 80 * 12 + 80 * 12.5)) < 1e-9);
    assert_true(fabs(out.series.value[3] - (1000 - 80 * 12 + 80 * 13)) < 1e-9);
    run_output_free(&out);
    panel_free(&p);
}

static int series_equal(const struct run_series *a, int ao, const struct run_series *b, int bo,
                        int n) {
    return memcmp(a->date + ao, b->date + bo, sizeof(int32_t) * (size_t)n) == 0 &&
           memcmp(a->ret + ao, b->ret + bo, sizeof(double) * (size_t)n) == 0 &&
           memcmp(a->value + ao, b->value + bo, sizeof(double) * (size_t)n) == 0 &&
           memcmp(a->turnover + ao, b->turnover + bo, sizeof(double) * (size_t)n) == 0 &&
           memcmp(a->ic + ao, b->ic + bo, sizeof(double) * (size_t)n) == 0 &&
           memcmp(a->rank_ic + ao, b->rank_ic + bo, sizeof(double) * (size_t)n) == 0;
}

static void test_no_lookahead(void **st) {
    (void)st;
    const int nd = 90, ns = 13;
    for (int k = 0; k < 3; k++) {
        for (int D = 10; D < nd - 1; D += 17) {
            struct panel a, b;
            double *fa, *fb;
            struct run_params prm;
            struct run_output oa, ob;
            struct bt_err err = BT_ERR_INIT;
            make_panel(&a, &fa, nd, ns, 7);
            make_panel(&b, &fb, nd, ns, 7);
            /* everything after D changes: prices, bars appearing/vanishing, factor */
            uint64_t seed = 99;
            for (int d = D + 1; d < nd; d++)
                for (int s = 0; s < ns; s++) {
                    size_t i = panel_idx(&b, d, s);
                    for (int f = 0; f < PF_COUNT; f++)
                        b.f[f][i] = rnd(&seed) < 0.1 ? NAN : 5 + 100 * rnd(&seed);
                    fb[i] = rnd(&seed) - 0.5;
                }
            params_for(&prm);
            assert_int_equal(run_pair(&a, fa, kinds[k], &prm, 0, 0, NULL, 0, &oa, &err), 0);
            assert_int_equal(run_pair(&b, fb, kinds[k], &prm, 0, 0, NULL, 0, &ob, &err), 0);
            assert_true(series_equal(&oa.series, 0, &ob.series, 0, D + 1));
            /* and the perturbation did reach the later rows */
            assert_false(series_equal(&oa.series, 0, &ob.series, 0, nd));
            run_output_free(&oa);
            run_output_free(&ob);
            panel_free(&a);
            panel_free(&b);
            free(fa);
            free(fb);
        }
    }
}

static void test_incremental(void **st) {
    (void)st;
    const int nd = 120, ns = 17;
    struct panel p;
    double *f;
    make_panel(&p, &f, nd, ns, 3);
    for (int k = 0; k < 3; k++) {
        struct run_params prm;
        struct run_output full;
        struct bt_err err = BT_ERR_INIT;
        params_for(&prm);
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, 0, NULL, 0, &full, &err), 0);
        assert_int_equal(full.series.n, nd);
        int splits[] = {1, 2, 29, 30, 61, 118, 119};
        for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
            int D = splits[i];
            struct run_output a, b;
            assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, p.dates[D - 1], NULL, 0, &a, &err),
                             0);
            assert_int_equal(a.series.n, D);
            assert_int_equal(
                run_pair(&p, f, kinds[k], &prm, p.dates[D], 0, a.state, a.state_len, &b, &err), 0);
            assert_int_equal(b.series.n, nd - D);
            assert_true(series_equal(&full.series, 0, &a.series, 0, D));
            assert_true(series_equal(&full.series, D, &b.series, 0, nd - D));
            assert_int_equal(b.state_len, full.state_len);
            assert_memory_equal(b.state, full.state, full.state_len);
            run_output_free(&a);
            run_output_free(&b);
        }
        /* three chained pieces too */
        struct run_output a, b, c;
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, p.dates[39], NULL, 0, &a, &err), 0);
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, p.dates[40], p.dates[79], a.state,
                                  a.state_len, &b, &err),
                         0);
        assert_int_equal(
            run_pair(&p, f, kinds[k], &prm, p.dates[80], 0, b.state, b.state_len, &c, &err), 0);
        assert_true(series_equal(&full.series, 40, &b.series, 0, 40));
        assert_true(series_equal(&full.series, 80, &c.series, 0, 40));
        run_output_free(&a);
        run_output_free(&b);
        run_output_free(&c);
        run_output_free(&full);
    }
    panel_free(&p);
    free(f);
}

static void test_state_errors(void **st) {
    (void)st;
    struct panel p;
    double *f;
    struct run_params prm;
    struct run_output a, b;
    struct bt_err err = BT_ERR_INIT;
    make_panel(&p, &f, 40, 6, 11);
    params_for(&prm);
    assert_int_equal(run_pair(&p, f, "signal", &prm, 0, p.dates[19], NULL, 0, &a, &err), 0);
    assert_non_null(strstr((char *)a.state, "btpipe-run-state 1\nkind signal\n"));
    /* another kind */
    assert_int_equal(
        run_pair(&p, f, "topk_dropout", &prm, p.dates[20], 0, a.state, a.state_len, &b, &err),
        BT_EINPUT);
    assert_non_null(strstr(err.msg, "signal"));
    /* not the day before */
    assert_int_equal(
        run_pair(&p, f, "signal", &prm, p.dates[21], 0, a.state, a.state_len, &b, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "must end"));
    /* truncated */
    assert_int_equal(
        run_pair(&p, f, "signal", &prm, p.dates[20], 0, a.state, a.state_len - 4, &b, &err),
        BT_EINPUT);
    /* unknown version */
    char *v2 = strdup((char *)a.state);
    v2[17] = '2';
    assert_int_equal(run_pair(&p, f, "signal", &prm, p.dates[20], 0, v2, strlen(v2), &b, &err),
                     BT_EINPUT);
    assert_non_null(strstr(err.msg, "version"));
    assert_string_equal(err.where, "state:1");
    free(v2);
    /* a symbol the data lacks */
    const char *bad = "btpipe-run-state 1\nkind signal\ndate 20200120\nvalue 0x1p+10\ncash 0x0p+0\n"
                      "sym NOPE nan 0x1p+1 0x0p+0 0x0p+0 0x0p+0\nend\n";
    assert_int_equal(run_pair(&p, f, "signal", &prm, p.dates[20], 0, bad, strlen(bad), &b, &err),
                     BT_EINPUT);
    assert_non_null(strstr(err.msg, "NOPE"));
    assert_string_equal(err.where, "state:6");
    /* from after to; no dates in range */
    assert_int_equal(run_pair(&p, f, "signal", &prm, 20210101, 20200101, NULL, 0, &b, &err),
                     BT_EINPUT);
    assert_int_equal(run_pair(&p, f, "signal", &prm, 20300101, 0, NULL, 0, &b, &err), BT_ENOTFOUND);
    run_output_free(&a);
    panel_free(&p);
    free(f);
}

/* Hostile state bytes (the state comes back from storage): every mutation
 * either parses or is refused as bad input; never a crash (run under ASan). */
/* The state's own %a formatter writes exactly what printf writes: random
 * bit patterns (every exponent, subnormals, NaNs), round numbers and the
 * special values. */
static void test_state_hexfloat(void **st) {
    (void)st;
    static const double sp[] = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                0.5,
                                100000.0,
                                1e-300,
                                4.9e-324,
                                2.2250738585072014e-308,
                                1.7976931348623157e308,
                                INFINITY,
                                -INFINITY,
                                NAN,
                                -NAN,
                                0.1,
                                3.0,
                                1.0 / 3};
    uint64_t r = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        double x;
        if (i < (int)(sizeof sp / sizeof sp[0])) {
            x = sp[i];
        } else {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            uint64_t u = i % 3 ? r : r & ~(((uint64_t)1 << (4 * (i % 13))) - 1);
            memcpy(&x, &u, sizeof x);
        }
        char got[32], want[64];
        int n = state_hexfloat(x, got);
        snprintf(want, sizeof want, "%a", x);
        assert_string_equal(got, want);
        assert_int_equal(n, (int)strlen(want));
    }
}

static void test_state_mutations(void **st) {
    (void)st;
    struct panel p;
    double *f;
    struct run_params prm;
    struct run_output a, b;
    struct bt_err err = BT_ERR_INIT;
    uint64_t seed = 5;
    make_panel(&p, &f, 30, 5, 13);
    params_for(&prm);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, p.dates[14], NULL, 0, &a, &err), 0);
        char *m = malloc(a.state_len + 1);
        for (int it = 0; it < 3000; it++) {
            memcpy(m, a.state, a.state_len);
            size_t len = a.state_len;
            int edits = 1 + (int)(rnd(&seed) * 4);
            for (int e = 0; e < edits; e++) {
                size_t at = (size_t)(rnd(&seed) * (double)len);
                const char pool[] = "0123456789abcdefpx+-. \nnaninfsymend\0";
                m[at] = pool[(int)(rnd(&seed) * (sizeof pool - 1))];
            }
            if (rnd(&seed) < 0.2) len = (size_t)(rnd(&seed) * (double)len);
            int rc = run_pair(&p, f, kinds[k], &prm, p.dates[15], 0, m, len, &b, &err);
            assert_true(rc == 0 || rc == BT_EINPUT);
            if (rc == 0) run_output_free(&b);
        }
        free(m);
        run_output_free(&a);
    }
    panel_free(&p);
    free(f);
}

static void test_lsq_book(void **st) {
    (void)st;
    /* rows alternate cost-free: dollar-neutral, gross = value, names in the
     * top and bottom quantile only */
    struct panel p;
    double *f;
    struct run_params prm;
    struct run_output o;
    struct bt_err err = BT_ERR_INIT;
    make_panel(&p, &f, 30, 20, 5);
    for (size_t i = 0; i < 30 * 20; i++)
        if (isfinite(p.f[PF_CLOSE][i]))
            continue;
        else
            p.f[PF_CLOSE][i] = p.f[PF_OPEN][i] = 50; /* every name tradable */
    params_for(&prm);
    prm.cost_bps = 0;
    assert_int_equal(run_pair(&p, f, "long_short_quantile", &prm, 0, 0, NULL, 0, &o, &err), 0);
    /* day 0: no position yet, return 0; afterwards returns are the spread */
    assert_true(o.series.ret[0] == 0);
    /* recompute day 1 by hand: weights from factor at day 0 */
    double x[20], sorted[20], v0 = prm.cash, pnl = 0;
    int bucket[20], n = 0, syms[20], nl = 0, nsh = 0;
    for (int s = 0; s < 20; s++)
        if (isfinite(f[s])) {
            x[n] = f[s];
            syms[n++] = s;
        }
    quantile_buckets(x, n, 4, sorted, bucket);
    for (int i = 0; i < n; i++) {
        nl += bucket[i] == 3;
        nsh += bucket[i] == 0;
    }
    for (int i = 0; i < n; i++) {
        int s = syms[i];
        double r = p.f[PF_CLOSE][20 + s] / p.f[PF_CLOSE][s] - 1;
        if (bucket[i] == 3) pnl += 0.5 * v0 / nl * r;
        if (bucket[i] == 0) pnl -= 0.5 * v0 / nsh * r;
    }
    assert_true(fabs(o.series.value[1] - (v0 + pnl)) < 1e-7);
    assert_true(fabs(o.series.turnover[0] - 1.0) < 1e-12); /* gross 1 from flat */
    run_output_free(&o);
    /* a cost of 10 bps takes exactly traded * 0.001 on day 0 */
    prm.cost_bps = 10;
    assert_int_equal(run_pair(&p, f, "long_short_quantile", &prm, 0, 0, NULL, 0, &o, &err), 0);
    assert_true(fabs(o.series.ret[0] - -0.001) < 1e-12);
    run_output_free(&o);
    panel_free(&p);
    free(f);
}

static void test_topk_rule(void **st) {
    (void)st;
    /* 6 names, k = 3, n = 1; scores make the rule visible */
    struct panel p;
    struct run_params prm;
    struct run_output o;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(panel_alloc(&p, 3, 6), 0);
    double f[18] = {
        6, 5, 4, 3, 2, 1, /* day0: buy S0 S1 S2 */
        1, 5, 4, 6, 3, 2, /* day1: S0 dropped (worst of comb), S3 bought */
        1, 2, 3, 4, 5, 6, /* day2: only 1 swap a day: S2 out? comb = held + best new */
    };
    for (int s = 0; s < 6; s++) {
        char name[4] = {'S', (char)('0' + s), 0};
        panel_set_sym(&p, s, name);
    }
    for (int d = 0; d < 3; d++) {
        p.dates[d] = 20200101 + d;
        for (int s = 0; s < 6; s++)
            p.f[PF_OPEN][panel_idx(&p, d, s)] = p.f[PF_CLOSE][panel_idx(&p, d, s)] = 10;
    }
    run_params_default(&prm);
    prm.k = 3;
    prm.n = 1;
    prm.cost_bps = 0;
    prm.cash = 300;
    assert_int_equal(run_pair(&p, f, "topk_dropout", &prm, 0, p.dates[0], NULL, 0, &o, &err), 0);
    assert_non_null(strstr((char *)o.state, "sym S0 "));
    assert_non_null(strstr((char *)o.state, "sym S1 "));
    assert_non_null(strstr((char *)o.state, "sym S2 "));
    assert_null(strstr((char *)o.state, "sym S3 "));
    assert_true(fabs(o.series.turnover[0] - 1) < 1e-12);
    struct run_output o2;
    assert_int_equal(run_pair(&p, f, "topk_dropout", &prm, p.dates[1], p.dates[1], o.state,
                              o.state_len, &o2, &err),
                     0);
    assert_null(strstr((char *)o2.state, "sym S0 "));
    assert_non_null(strstr((char *)o2.state, "sym S3 "));
    assert_true(fabs(o2.series.turnover[0] - 200.0 / 300.0) < 1e-12); /* sold 100, bought 100 */
    struct run_output o3;
    /* day2: held S1 S2 S3 (2,3,4); best new S5 (6), S4 (5); comb bottom 1 = S1 */
    assert_int_equal(
        run_pair(&p, f, "topk_dropout", &prm, p.dates[2], 0, o2.state, o2.state_len, &o3, &err), 0);
    assert_null(strstr((char *)o3.state, "sym S1 "));
    assert_non_null(strstr((char *)o3.state, "sym S5 "));
    assert_non_null(strstr((char *)o3.state, "sym S2 "));
    assert_null(strstr((char *)o3.state, "sym S4 "));
    run_output_free(&o);
    run_output_free(&o2);
    run_output_free(&o3);
    panel_free(&p);
}

static void test_metrics_by_hand(void **st) {
    (void)st;
    struct run_series s;
    struct run_summary m;
    double r[] = {0.01, -0.02, 0.03, 0, -0.01, 0.02};
    run_series_alloc(&s, 6);
    double v = 100;
    for (int i = 0; i < 6; i++) {
        s.ret[i] = r[i];
        v *= 1 + r[i];
        s.value[i] = v;
        s.turnover[i] = i;
        s.ic[i] = i < 2 ? NAN : 0.1 * i;
        s.rank_ic[i] = NAN;
    }
    metrics_from_series(&s, 100, &m);
    double prod = 1.01 * 0.98 * 1.03 * 1 * 0.99 * 1.02;
    assert_true(fabs(m.total_return - (prod - 1)) < 1e-15);
    assert_true(fabs(m.annual_return - (pow(prod, 252.0 / 6) - 1)) < 1e-12);
    double mean = 0.03 / 6, ss = 0, ds = 0;
    for (int i = 0; i < 6; i++) {
        ss += (r[i] - mean) * (r[i] - mean);
        ds += r[i] < 0 ? r[i] * r[i] : 0;
    }
    double sd = sqrt(ss / 5);
    assert_true(fabs(m.annual_volatility - sd * sqrt(252)) < 1e-15);
    assert_true(fabs(m.sharpe - mean / sd * sqrt(252)) < 1e-12);
    assert_true(fabs(m.sortino - mean * 252 / (sqrt(ds / 6) * sqrt(252))) < 1e-12);
    /* worst peak-to-trough by brute force: after day0 peak 1.01 down to 0.9898 */
    assert_true(fabs(m.max_drawdown - (1.01 * 0.98 / 1.01 - 1)) < 1e-15);
    assert_true(fabs(m.calmar - m.annual_return / 0.02) < 1e-9);
    assert_true(fabs(m.win_rate - 3.0 / 5.0) < 1e-15);
    assert_true(fabs(m.turnover - 2.5) < 1e-15);
    assert_true(fabs(m.ic_mean - 0.35) < 1e-15);
    assert_true(fabs(m.ic_std - sqrt((0.0225 + 0.0025 + 0.0025 + 0.0225) / 3)) < 1e-15);
    assert_true(isnan(m.rank_ic_mean));
    assert_int_equal(m.days, 6);
    assert_true(m.final_value == v);
    run_series_free(&s);
    /* empty series */
    run_series_alloc(&s, 0);
    metrics_from_series(&s, 42, &m);
    assert_true(m.final_value == 42 && isnan(m.sharpe) && m.days == 0);
    run_series_free(&s);
}

static void test_ic_and_buckets(void **st) {
    (void)st;
    double x[] = {1, 2, 3, 4}, y[] = {2, 4, 6, 8.5}, r[4];
    int idx[4], b[10];
    assert_true(fabs(metrics_pearson(x, y, 4) - 1) < 1e-2);
    assert_true(isnan(metrics_pearson(x, x, 1)));
    double t[] = {3, 1, 3, 2};
    metrics_rank_avg(t, 4, r, idx);
    assert_true(r[0] == 3.5 && r[1] == 1 && r[2] == 3.5 && r[3] == 2);
    /* pandas.qcut(range(1, 11), 5, labels=False) = 0 0 1 1 2 2 3 3 4 4 */
    double v[10], sorted[10];
    for (int i = 0; i < 10; i++)
        v[9 - i] = i + 1;
    quantile_buckets(v, 10, 5, sorted, b);
    for (int i = 0; i < 10; i++)
        assert_int_equal(b[9 - i], i / 2);
    /* IC on a panel: returns ranked exactly like the factor */
    struct panel p;
    assert_int_equal(panel_alloc(&p, 2, 3), 0);
    double fac[6] = {1, 2, 3, NAN, NAN, NAN};
    double c0[3] = {10, 10, 10}, c1[3] = {10.1, 10.5, 12};
    for (int s = 0; s < 3; s++) {
        p.f[PF_CLOSE][s] = c0[s];
        p.f[PF_CLOSE][3 + s] = c1[s];
    }
    double ic, ric;
    metrics_ic_at(&p, fac, 1, &ic, &ric);
    assert_true(ric == 1.0);
    assert_true(ic > 0.9 && ic < 1.0);
    metrics_ic_at(&p, fac, 0, &ic, &ric);
    assert_true(isnan(ic) && isnan(ric));
    panel_free(&p);
}

static void test_run_many_matches_run_pair(void **st) {
    (void)st;
    struct panel p;
    double *unused;
    struct bt_err err = BT_ERR_INIT;
    make_panel(&p, &unused, 80, 9, 21);
    struct run_pair_spec specs[4];
    const char *fx[] = {"close - ts_mean(close, 5)", "rank(close - ts_mean(close, 5))",
                        "close - ts_mean(close, 5)", "no_such_function(close)"};
    for (int i = 0; i < 4; i++) {
        memset(&specs[i], 0, sizeof specs[i]);
        specs[i].factor = fx[i];
        specs[i].kind = kinds[i % 3];
        params_for(&specs[i].params);
    }
    struct run_output outs[4];
    struct bt_err errs[4];
    assert_int_equal(run_many(&p, specs, 4, 0, 0, outs, errs, &err), 0);
    assert_int_not_equal(errs[3].code, 0);
    for (int i = 0; i < 3; i++) {
        double *f;
        struct run_output one;
        assert_int_equal(errs[i].code, 0);
        assert_int_equal(expr_eval_text(fx[i], &p, &f, &err), 0);
        assert_int_equal(run_pair(&p, f, kinds[i], &specs[i].params, 0, 0, NULL, 0, &one, &err), 0);
        assert_true(series_equal(&one.series, 0, &outs[i].series, 0, one.series.n));
        run_output_free(&one);
        free(f);
    }
    for (int i = 0; i < 4; i++)
        run_output_free(&outs[i]);
    panel_free(&p);
    free(unused);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_signal_by_hand),
        cmocka_unit_test(test_signal_suspension),
        cmocka_unit_test(test_no_lookahead),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_state_errors),
        cmocka_unit_test(test_state_hexfloat),
        cmocka_unit_test(test_state_mutations),
        cmocka_unit_test(test_lsq_book),
        cmocka_unit_test(test_topk_rule),
        cmocka_unit_test(test_metrics_by_hand),
        cmocka_unit_test(test_ic_and_buckets),
        cmocka_unit_test(test_run_many_matches_run_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
