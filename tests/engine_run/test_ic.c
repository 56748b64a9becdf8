/* test_ic -- metrics_ic_day's IC and rank IC, computed in one fused pass
 * from the per-date orders, must equal bit for bit the definitions they
 * stand for: metrics_pearson over the (finite factor, valid return) pairs
 * in symbol order, and metrics_pearson over their metrics_rank_avg ranks --
 * on heavy ties, NaNs, infinities, constant sides and both rank paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_calc.h"
#include "run.h"
#include "panel.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* Whether two doubles are the same bits (NaN equal to NaN). */
static int same(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* One factor value of the given flavour. */
static double draw_factor(int flavour) {
    uint64_t r = rng();
    switch (flavour) {
    case 0: return (double)(r % 5); /* heavy ties */
    case 1: return r % 7 == 0 ? NAN : r % 11 == 0 ? INFINITY : ((double)(int64_t)r) * 1e-18;
    case 2: return 1.5; /* constant: no IC */
    default: return r % 13 == 0 ? -INFINITY : (r & 1) ? -0.0 : ((double)(r % 1000)) / 7;
    }
}

/* The IC of date d by definition, against metrics_ic_at's. */
static void check_date(const struct panel *p, const double *fac, int d, const char *what) {
    int ns = p->nsyms, n = 0;
    double *x = malloc((size_t)ns * sizeof *x), *y = malloc((size_t)ns * sizeof *y);
    double *rx = malloc((size_t)ns * sizeof *rx), *ry = malloc((size_t)ns * sizeof *ry);
    int *idx = malloc((size_t)ns * sizeof *idx);
    const double *c = p->f[PF_CLOSE];
    /* date 0 has no return, so no pair */
    for (int s = 0; s < ns && d > 0; s++) {
        double f = fac[panel_idx(p, d - 1, s)];
        double c0 = c[panel_idx(p, d - 1, s)], c1 = c[panel_idx(p, d, s)];
        if (!isfinite(f) || !isfinite(c0) || !isfinite(c1) || c0 == 0) continue;
        x[n] = f;
        y[n++] = c1 / c0 - 1.0;
    }
    double want_ic = NAN, want_ric = NAN, ic, ric;
    if (n >= 2) {
        want_ic = metrics_pearson(x, y, n);
        metrics_rank_avg(x, n, rx, idx);
        metrics_rank_avg(y, n, ry, idx);
        want_ric = metrics_pearson(rx, ry, n);
    }
    metrics_ic_at(p, fac, d, &ic, &ric);
    if (!same(ic, want_ic) || !same(ric, want_ric))
        fail_msg("%s date %d (%d pairs): ic %.17g rank ic %.17g, want %.17g %.17g", what, d, n, ic,
                 ric, want_ic, want_ric);
    free(x);
    free(y);
    free(rx);
    free(ry);
    free(idx);
}

static void test_ic_matches_definition(void **st) {
    (void)st;
    const int sizes[] = {1, 2, 3, 17, 482, 1000};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int flavour = 0; flavour < 4; flavour++) {
            int ns = sizes[si], nd = 6;
            struct panel p;
            assert_int_equal(panel_alloc(&p, nd, ns), 0);
            double *fac = malloc((size_t)nd * (size_t)ns * sizeof *fac);
            for (int d = 0; d < nd; d++)
                for (int s = 0; s < ns; s++) {
                    uint64_t r = rng();
                    /* closes with repeats (zero returns tie), gaps and zeros */
                    double cl = r % 19 == 0 ? NAN : r % 23 == 0 ? 0.0 : 10.0 + (double)(r % 9);
                    p.f[PF_CLOSE][panel_idx(&p, d, s)] = d == 3 ? 10.0 : cl;
                    fac[panel_idx(&p, d, s)] = draw_factor(flavour);
                }
            char what[48];
            snprintf(what, sizeof what, "nsyms %d flavour %d", ns, flavour);
            for (int d = 0; d < nd; d++)
                check_date(&p, fac, d, what);
            free(fac);
            panel_free(&p);
        }
}

/* From 100,000 pairs on the rank IC takes the double path: the same
 * definition holds there. */
static void test_ic_many_pairs(void **st) {
    (void)st;
    int ns = 100003, nd = 2;
    struct panel p;
    assert_int_equal(panel_alloc(&p, nd, ns), 0);
    double *fac = malloc((size_t)nd * (size_t)ns * sizeof *fac);
    for (int d = 0; d < nd; d++)
        for (int s = 0; s < ns; s++) {
            uint64_t r = rng();
            p.f[PF_CLOSE][panel_idx(&p, d, s)] = 10.0 + (double)(r % 97);
            fac[panel_idx(&p, d, s)] = (double)(r >> 8 & 1023);
        }
    check_date(&p, fac, 1, "many pairs");
    free(fac);
    panel_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ic_matches_definition),
        cmocka_unit_test(test_ic_many_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
