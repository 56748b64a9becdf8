/* metrics_ic.c -- the information coefficient of a factor on one date:
 * Pearson (IC) and Spearman (rank IC, what alphalens calls IC) across
 * symbols (contract in metrics_calc.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_calc.h"
#include "run.h"
#include "strategy.h"
#include "strategy_sort.h"

/* The correlation from the sums of products of the deviations. */
static double pearson_r(double sxy, double sxx, double syy) {
    if (sxx == 0 || syy == 0) return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

/* metrics_pearson given the sums of x and of y (in index order). */
static double pearson_sums(const double *x, const double *y, int n, double mx, double my) {
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return pearson_r(sxy, sxx, syy);
}

double metrics_pearson(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    return pearson_sums(x, y, n, mx, my);
}

void metrics_rank_from_order(const double *x, const int *ord, int n, double *r) {
    for (int i = 0; i < n;) {
        double v = x[ord[i]];
        int j = i + 1;
        while (j < n && x[ord[j]] == v)
            j++;
        /* ranks i+1..j; halving is exact, so * 0.5 is / 2 */
        double avg = (i + 1 + j) * 0.5;
        for (int k = i; k < j; k++)
            r[ord[k]] = avg;
        i = j;
    }
}

void metrics_rank_avg(const double *x, int n, double *r, int *idx) {
    size_t m = n > 0 ? (size_t)n : 1;
    uint32_t *key = malloc(2 * m * sizeof *key);
    int *tmp = malloc(m * sizeof *tmp);
    if (!key || !tmp) abort();
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sort_order_doubles(x, idx, n, key, tmp);
    metrics_rank_from_order(x, idx, n, r);
    free(key);
    free(tmp);
}

/* The positions k (into the pair list, pos[s] = k or -1) of the listed
 * symbols that are in the pair list, in list order: a sorted cross-section
 * filtered down to the pairs, in O(nsyms) instead of a sort. */
static int order_filter(const int *list, int nlist, const int *pos, int *out) {
    int m = 0;
    for (int i = 0; i < nlist; i++) {
        int k = pos[list[i]];
        if (k >= 0) out[m++] = k;
    }
    return m;
}

/* The rank IC is the Pearson correlation of average ranks. Ranks are
 * multiples of 1/2, so every sum metrics_pearson would form over them --
 * the rank sums, the deviations from the mean rank (n + 1) / 2 and their
 * products -- is exact in any order: done in integers over doubled ranks,
 * the result is metrics_pearson's bit for bit (below 100,000 pairs, where
 * n^3 < 2^53 keeps the double sums exact too). rank_scatter puts x's
 * doubled, centred ranks in pair order (ax, from ox: 0..n-1 in ascending
 * order of x) and returns the sum of their squares; one read of each x: a
 * run of equal values ends where the next differs (x is finite, so the NaN
 * past the end differs from every value). */
static int64_t rank_scatter(const double *x, const int *ox, int n, int *ax) {
    int64_t sxx = 0, n1 = (int64_t)n + 1;
    double v = x[ox[0]];
    for (int i = 0, j = 1; j <= n; j++) {
        double u = j < n ? x[ox[j]] : NAN;
        if (u == v) continue;
        /* ranks i+1..j share (i + 1 + j) / 2: doubled and centred */
        int64_t a = (int64_t)i + 1 + j - n1;
        for (int k = i; k < j; k++)
            ax[ox[k]] = (int)a;
        sxx += a * a * (j - i);
        i = j;
        v = u;
    }
    return sxx;
}

void metrics_ic_day(const struct panel *p, const double *factor, int d, const int *xord, int nx,
                    const struct run_order *ro, double *scratch, int *iscratch, double *ic,
                    double *rank_ic, int *n_out) {
    int ns = p->nsyms, n = 0, ny = 0;
    double sx = 0, sy = 0;
    double *x = scratch, *y = scratch + ns, *ry = scratch + 3 * ns;
    int *ox = iscratch, *oy = iscratch + ns, *pos = iscratch + 2 * ns;
    *ic = *rank_ic = NAN;
    if (n_out) *n_out = 0;
    if (d < 1) return;
    const double *f = factor + panel_idx(p, d - 1, 0), *ret = run_order_val(ro, d);
    const int *yord = run_order_at(ro, d, &ny);
    /* a pair: a finite factor and a return (both closes, close d-1 != 0) */
    for (int s = 0; s < ns; s++) {
        pos[s] = -1;
        if (!isfinite(f[s]) || isnan(ret[s])) continue;
        x[n] = f[s];
        y[n] = ret[s];
        /* the sums metrics_pearson starts with, in its order */
        sx += f[s];
        sy += ret[s];
        pos[s] = n++;
    }
    if (n_out) *n_out = n;
    if (n < 2) return;
    /* every pair's symbol is in both lists (finite factor, valid return) */
    if (order_filter(xord, nx, pos, ox) != n) abort();
    if (n == ny && ro->rank) {
        /* the pairs are every valid return of the date, in symbol order:
         * their ranks are the ones run_order_returns computed once */
        ry = (double *)run_order_rank(ro, d);
    } else {
        if (order_filter(yord, ny, pos, oy) != n) abort();
        metrics_rank_from_order(y, oy, n, ry);
    }
    /* from about 2^17 pairs on the double sums would round: do them */
    if (n >= 100000) {
        double *rx = scratch + 2 * ns;
        *ic = pearson_sums(x, y, n, sx, sy);
        metrics_rank_from_order(x, ox, n, rx);
        *rank_ic = metrics_pearson(rx, ry, n);
        return;
    }
    int *ax = oy;
    int64_t rxx = rank_scatter(x, ox, n, ax), rxy = 0, ryy = 0, n1 = (int64_t)n + 1;
    double mx = sx / n, my = sy / n, sxy = 0, sxx = 0, syy = 0;
    /* pearson_sums' loop (the same sums in the same order) with the rank
     * sums beside it: the integer work fills the wait on each double add */
    for (int k = 0; k < n; k++) {
        double a = x[k] - mx, b = y[k] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
        int64_t rb = (int64_t)(2 * ry[k]) - n1;
        rxy += ax[k] * rb;
        ryy += rb * rb;
    }
    *ic = pearson_r(sxy, sxx, syy);
    if (rxx == 0 || ryy == 0) return;
    double r = ((double)rxy / 4) / sqrt(((double)rxx / 4) * ((double)ryy / 4));
    *rank_ic = r > 1 ? 1 : r < -1 ? -1 : r;
}

void metrics_ic_at(const struct panel *p, const double *factor, int d, double *ic,
                   double *rank_ic) {
    size_t ns = p->nsyms > 0 ? (size_t)p->nsyms : 1;
    struct run_order xo = {0}, yo = {0};
    double *scratch = malloc(4 * ns * sizeof *scratch);
    int *iscratch = malloc(3 * ns * sizeof *iscratch), nx = 0;
    if (!scratch || !iscratch) abort();
    *ic = *rank_ic = NAN;
    if (d >= 1 && d < p->ndates) {
        run_order_build(&xo, factor, p->nsyms, d - 1, d - 1);
        run_order_returns(&yo, p, d, d);
        const int *xl = run_order_at(&xo, d - 1, &nx);
        metrics_ic_day(p, factor, d, xl, nx, &yo, scratch, iscratch, ic, rank_ic, NULL);
    }
    run_order_free(&xo);
    run_order_free(&yo);
    free(scratch);
    free(iscratch);
}
