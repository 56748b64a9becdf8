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

#include "cpu.h"
#include "metrics_calc.h"
#include "run.h"
#include "panel.h"
#include "strategy.h"

#include "test_rng.h"

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

/* The portable loops give what the AVX-512 ones give (on a CPU without
 * AVX-512 both runs take the portable path). */
static void test_ic_portable(void **st) {
    cpu_force_portable(1);
    test_ic_matches_definition(st);
    cpu_force_portable(0);
}

/* metrics_factor_stats over dates d0..d1 against the definitions: each
 * date's IC as metrics_ic_at gives it, and each quantile's mean over the
 * dates of the mean return of the pairs quantile_buckets (its own sort)
 * puts there, summed in symbol order. */
static void check_factor_stats(const struct panel *p, const double *fac, int d0, int d1, int q,
                               const char *what) {
    int ns = p->nsyms, nd = d1 - d0 + 1;
    size_t m = ns > 0 ? (size_t)ns : 1;
    double *x = malloc(m * sizeof *x), *y = malloc(m * sizeof *y),
           *sorted = malloc(m * sizeof *sorted);
    int *bucket = malloc(m * sizeof *bucket);
    double *scratch = calloc(4 * m, sizeof *scratch), *ic = malloc((size_t)nd * sizeof *ic);
    double *ric = malloc((size_t)nd * sizeof *ric);
    int *iscratch = calloc(5 * m, sizeof *iscratch);
    double qsum[RUN_MAX_QUANTILES] = {0}, qret[RUN_MAX_QUANTILES], want[RUN_MAX_QUANTILES];
    int qcnt[RUN_MAX_QUANTILES] = {0};
    struct run_order fo = {0}, ro = {0};
    run_order_build(&fo, fac, ns, d0 > 0 ? d0 - 1 : 0, d1 - 1);
    run_order_returns(&ro, p, d0, d1);
    metrics_factor_stats(p, fac, &fo, &ro, d0, d1, q, scratch, iscratch, ic, ric, qret);
    const double *c = p->f[PF_CLOSE];
    for (int d = d0; d <= d1; d++) {
        double want_ic, want_ric;
        metrics_ic_at(p, fac, d, &want_ic, &want_ric);
        if (!same(ic[d - d0], want_ic) || !same(ric[d - d0], want_ric))
            fail_msg("%s date %d: ic %.17g rank ic %.17g, want %.17g %.17g", what, d, ic[d - d0],
                     ric[d - d0], want_ic, want_ric);
        int n = 0;
        for (int s = 0; s < ns && d > 0; s++) {
            double f = fac[panel_idx(p, d - 1, s)];
            double c0 = c[panel_idx(p, d - 1, s)], c1 = c[panel_idx(p, d, s)];
            if (!isfinite(f) || !isfinite(c0) || !isfinite(c1) || c0 == 0) continue;
            x[n] = f;
            y[n++] = c1 / c0 - 1.0;
        }
        if (n < q || n < 2) continue;
        double dsum[RUN_MAX_QUANTILES] = {0};
        int dcnt[RUN_MAX_QUANTILES] = {0};
        quantile_buckets(x, n, q, sorted, bucket);
        for (int k = 0; k < n; k++) {
            dsum[bucket[k]] += y[k];
            dcnt[bucket[k]]++;
        }
        for (int k = 0; k < q; k++)
            if (dcnt[k]) {
                qsum[k] += dsum[k] / dcnt[k];
                qcnt[k]++;
            }
    }
    for (int k = 0; k < q; k++) {
        want[k] = qcnt[k] ? qsum[k] / qcnt[k] : NAN;
        if (!same(qret[k], want[k]))
            fail_msg("%s quantile %d of %d: %.17g, want %.17g", what, k, q, qret[k], want[k]);
    }
    run_order_free(&fo);
    run_order_free(&ro);
    free(x);
    free(y);
    free(sorted);
    free(bucket);
    free(scratch);
    free(iscratch);
    free(ic);
    free(ric);
}

/* The quantile means beside the IC, on every flavour of factor, sizes
 * around the vector widths, both code paths and several quantile counts
 * (more quantiles than pairs on the small ones: no bucket then). */
static void test_factor_stats(void **st) {
    (void)st;
    const int sizes[] = {1, 3, 7, 8, 9, 16, 17, 33, 482};
    const int qs[] = {2, 5, 10, 20};
    for (int simd = 0; simd <= 1; simd++) {
        cpu_force_portable(!simd);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (int flavour = 0; flavour < 5; flavour++) {
                int ns = sizes[si], nd = 8;
                struct panel p;
                assert_int_equal(panel_alloc(&p, nd, ns), 0);
                double *fac = malloc((size_t)nd * (size_t)ns * sizeof *fac);
                for (int d = 0; d < nd; d++)
                    for (int s = 0; s < ns; s++) {
                        uint64_t r = rng();
                        double cl = r % 19 == 0 ? NAN : r % 23 == 0 ? 0.0 : 10.0 + (double)(r % 9);
                        p.f[PF_CLOSE][panel_idx(&p, d, s)] = cl;
                        /* flavour 4: every pair valid, distinct values */
                        if (flavour == 4)
                            p.f[PF_CLOSE][panel_idx(&p, d, s)] = 10.0 + (double)(r % 97);
                        fac[panel_idx(&p, d, s)] =
                            flavour == 4 ? (double)(int64_t)(r >> 11) : draw_factor(flavour);
                    }
                for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
                    char what[64];
                    snprintf(what, sizeof what, "simd %d nsyms %d flavour %d", simd, ns, flavour);
                    check_factor_stats(&p, fac, 1, nd - 1, qs[qi], what);
                    check_factor_stats(&p, fac, 3, nd - 2, qs[qi], what);
                }
                free(fac);
                panel_free(&p);
            }
    }
    cpu_force_portable(0);
}

/* No date's figures leak into another's: every range of dates (odd and
 * even counts, single dates) over a panel where dates with fewer than 2
 * pairs, or fewer than q, sit next to full ones and to dates whose pair
 * counts differ. */
static void test_factor_stats_date_pairs(void **st) {
    (void)st;
    const int sizes[] = {2, 9, 40, 482};
    for (int simd = 0; simd <= 1; simd++) {
        cpu_force_portable(!simd);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (int flavour = 0; flavour < 4; flavour++) {
                int ns = sizes[si], nd = 10;
                struct panel p;
                assert_int_equal(panel_alloc(&p, nd, ns), 0);
                double *fac = malloc((size_t)nd * (size_t)ns * sizeof *fac);
                for (int d = 0; d < nd; d++)
                    for (int s = 0; s < ns; s++) {
                        uint64_t r = rng();
                        double cl = r % 19 == 0 ? NAN : 10.0 + (double)(r % 9);
                        /* date 3: no return at all; date 5: one pair;
                         * date 7: 3 pairs (below q = 5); date 8: a third */
                        if (d == 3 || (d == 5 && s > 0) || (d == 7 && s > 2) || (d == 8 && s % 3))
                            cl = NAN;
                        p.f[PF_CLOSE][panel_idx(&p, d, s)] = cl;
                        fac[panel_idx(&p, d, s)] = draw_factor(flavour);
                    }
                for (int d0 = 1; d0 < nd; d0++)
                    for (int d1 = d0; d1 < nd; d1++) {
                        char what[80];
                        snprintf(what, sizeof what, "simd %d nsyms %d flavour %d dates %d..%d",
                                 simd, ns, flavour, d0, d1);
                        check_factor_stats(&p, fac, d0, d1, 5, what);
                    }
                free(fac);
                panel_free(&p);
            }
    }
    cpu_force_portable(0);
}

/* A date on the double path (100,000 pairs and more) beside dates on the
 * integer path and one with no pair: each keeps its own path. */
static void test_factor_stats_long_beside_short(void **st) {
    (void)st;
    int ns = 100003, nd = 5;
    struct panel p;
    assert_int_equal(panel_alloc(&p, nd, ns), 0);
    double *fac = malloc((size_t)nd * (size_t)ns * sizeof *fac);
    for (int d = 0; d < nd; d++)
        for (int s = 0; s < ns; s++) {
            uint64_t r = rng();
            double cl = 10.0 + (double)(r % 97);
            /* date 1: every pair; 2: a few hundred; 3: none; 4: every pair */
            if ((d == 2 && s % 300) || d == 3) cl = NAN;
            p.f[PF_CLOSE][panel_idx(&p, d, s)] = cl;
            fac[panel_idx(&p, d, s)] = (double)(r >> 8 & 1023);
        }
    for (int d0 = 1; d0 <= 2; d0++)
        check_factor_stats(&p, fac, d0, nd - 1, 5, "long beside short");
    free(fac);
    panel_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ic_matches_definition),
        cmocka_unit_test(test_ic_many_pairs),
        cmocka_unit_test(test_ic_portable),
        cmocka_unit_test(test_factor_stats),
        cmocka_unit_test(test_factor_stats_date_pairs),
        cmocka_unit_test(test_factor_stats_long_beside_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
