/* metrics.c -- return metrics (empyrical's definitions) and factor metrics
 * (alphalens' definitions) over a run's daily series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_calc.h"
#include "run.h"
#include "strategy.h"
#include "strategy_sort.h"

#define ANN_FACTOR 252.0

void run_series_alloc(struct run_series *s, int n) {
    size_t m = n > 0 ? (size_t)n : 1;
    s->n = n;
    s->date = calloc(m, sizeof *s->date);
    s->ret = calloc(m, sizeof *s->ret);
    s->value = calloc(m, sizeof *s->value);
    s->turnover = calloc(m, sizeof *s->turnover);
    s->ic = calloc(m, sizeof *s->ic);
    s->rank_ic = calloc(m, sizeof *s->rank_ic);
    if (!s->date || !s->ret || !s->value || !s->turnover || !s->ic || !s->rank_ic) abort();
}

void run_series_free(struct run_series *s) {
    free(s->date);
    free(s->ret);
    free(s->value);
    free(s->turnover);
    free(s->ic);
    free(s->rank_ic);
    memset(s, 0, sizeof *s);
}

/* numpy nanmean / nanstd(ddof) over the finite values of x. */
static void nan_mean_std(const double *x, int n, int ddof, double *mean, double *std) {
    double sum = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            sum += x[i];
            m++;
        }
    *mean = m ? sum / m : NAN;
    if (m - ddof <= 0) {
        *std = NAN;
        return;
    }
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            double d = x[i] - *mean;
            ss += d * d;
        }
    *std = sqrt(ss / (m - ddof));
}

/* empyrical.max_drawdown: wealth from 100, running peak, worst relative dip. */
static double max_drawdown(const double *r, int n) {
    if (n < 1) return NAN;
    double cum = 100.0, peak = 100.0, worst = 0.0, acc = 1.0;
    for (int i = 0; i < n; i++) {
        acc *= 1.0 + (isnan(r[i]) ? 0.0 : r[i]);
        cum = acc * 100.0;
        if (cum > peak) peak = cum;
        double dd = (cum - peak) / peak;
        if (dd < worst) worst = dd;
    }
    return worst;
}

void metrics_from_series(const struct run_series *s, double initial_value,
                         struct run_summary *out) {
    int n = s->n;
    memset(out, 0, sizeof *out);
    out->days = n;
    out->final_value = n > 0 ? s->value[n - 1] : initial_value;
    double prod = 1.0;
    for (int i = 0; i < n; i++)
        prod *= 1.0 + (isnan(s->ret[i]) ? 0.0 : s->ret[i]);
    out->total_return = prod - 1.0;
    out->annual_return = n < 1 ? NAN : pow(prod, 1.0 / ((double)n / ANN_FACTOR)) - 1.0;
    double mean, std;
    nan_mean_std(s->ret, n, 1, &mean, &std);
    out->annual_volatility = std * sqrt(ANN_FACTOR);
    out->sharpe = n < 2 ? NAN : mean / std * sqrt(ANN_FACTOR);
    if (n < 2) {
        out->sortino = NAN;
    } else {
        double dsum = 0;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!isnan(s->ret[i])) {
                double d = s->ret[i] < 0 ? s->ret[i] : 0.0;
                dsum += d * d;
                m++;
            }
        double downside = sqrt(dsum / m) * sqrt(ANN_FACTOR);
        out->sortino = mean * ANN_FACTOR / downside;
    }
    out->max_drawdown = max_drawdown(s->ret, n);
    if (out->max_drawdown < 0) {
        out->calmar = out->annual_return / fabs(out->max_drawdown);
        if (isinf(out->calmar)) out->calmar = NAN;
    } else {
        out->calmar = NAN;
    }
    int pos = 0, nz = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(s->ret[i]) || s->ret[i] == 0) continue;
        nz++;
        pos += s->ret[i] > 0;
    }
    out->win_rate = nz ? (double)pos / nz : NAN;
    double tstd;
    nan_mean_std(s->turnover, n, 1, &out->turnover, &tstd);
    nan_mean_std(s->ic, n, 1, &out->ic_mean, &out->ic_std);
    out->ic_ir = out->ic_mean / out->ic_std;
    nan_mean_std(s->rank_ic, n, 1, &out->rank_ic_mean, &out->rank_ic_std);
    out->rank_ic_ir = out->rank_ic_mean / out->rank_ic_std;
}

double metrics_pearson(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx == 0 || syy == 0) return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

/* Index i orders before j: by value, then by index (a total order, so the
 * result never depends on the algorithm). */
static inline int idx_less(const double *x, int i, int j) {
    return x[i] < x[j] || (x[i] == x[j] && i < j);
}

STRATEGY_SORT_DEFINE(sort_idx, idx_less)

void metrics_rank_avg(const double *x, int n, double *r, int *idx) {
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sort_idx(idx, n, x);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && x[idx[j + 1]] == x[idx[i]])
            j++;
        double avg = (i + 1 + j + 1) / 2.0;
        for (int k = i; k <= j; k++)
            r[idx[k]] = avg;
        i = j + 1;
    }
}

void metrics_ic_scratch(const struct panel *p, const double *factor, int d, double *scratch,
                        int *iscratch, double *ic, double *rank_ic, int *n_out) {
    int ns = p->nsyms, n = 0;
    double *x = scratch, *y = scratch + ns, *rx = scratch + 2 * ns, *ry = scratch + 3 * ns;
    *ic = *rank_ic = NAN;
    if (n_out) *n_out = 0;
    if (d < 1) return;
    const double *c = p->f[PF_CLOSE];
    for (int s = 0; s < ns; s++) {
        double f = factor[panel_idx(p, d - 1, s)];
        double c0 = c[panel_idx(p, d - 1, s)], c1 = c[panel_idx(p, d, s)];
        if (!isfinite(f) || !isfinite(c0) || !isfinite(c1) || c0 == 0) continue;
        x[n] = f;
        y[n] = c1 / c0 - 1.0;
        n++;
    }
    if (n_out) *n_out = n;
    if (n < 2) return;
    *ic = metrics_pearson(x, y, n);
    /* y first, so that iscratch ends up holding x's order for the caller */
    metrics_rank_avg(y, n, ry, iscratch);
    metrics_rank_avg(x, n, rx, iscratch);
    *rank_ic = metrics_pearson(rx, ry, n);
}

void metrics_ic_at(const struct panel *p, const double *factor, int d, double *ic,
                   double *rank_ic) {
    size_t ns = p->nsyms > 0 ? (size_t)p->nsyms : 1;
    double *scratch = malloc(4 * ns * sizeof *scratch);
    int *iscratch = malloc(ns * sizeof *iscratch);
    if (!scratch || !iscratch) abort();
    metrics_ic_scratch(p, factor, d, scratch, iscratch, ic, rank_ic, NULL);
    free(scratch);
    free(iscratch);
}

/* Sorts finite doubles ascending (same quicksort as sort_idx, on values). */
static void sort_dbl(double *v, int n) {
    while (n > 16) {
        int m = n / 2;
        double t;
        if (v[m] < v[0]) t = v[m], v[m] = v[0], v[0] = t;
        if (v[n - 1] < v[0]) t = v[n - 1], v[n - 1] = v[0], v[0] = t;
        if (v[n - 1] < v[m]) t = v[n - 1], v[n - 1] = v[m], v[m] = t;
        double pivot = v[m];
        int i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (pivot < v[j])
                j--;
            if (i >= j) break;
            t = v[i], v[i] = v[j], v[j] = t;
            i++;
            j--;
        }
        if (j + 1 < n - j - 1) {
            sort_dbl(v, j + 1);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_dbl(v + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int i = 1; i < n; i++) {
        double x = v[i];
        int k = i;
        for (; k > 0 && x < v[k - 1]; k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

/* numpy.quantile(method="linear") of sorted v at probability q. */
static double np_quantile(const double *v, int n, double q) {
    /* numpy's virtual index for "linear" (alpha = beta = 1), term for term */
    double h = n * q + (1.0 + q * (1.0 - 1.0 - 1.0)) - 1.0;
    int lo = (int)floor(h);
    if (lo >= n - 1) return v[n - 1];
    double t = h - lo, a = v[lo], b = v[lo + 1], diff = b - a;
    /* numpy's _lerp: the form that is exact at the nearer end */
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

void quantile_buckets(const double *x, int n, int q, double *sorted, int *bucket) {
    memcpy(sorted, x, (size_t)n * sizeof *x);
    sort_dbl(sorted, n);
    quantile_buckets_sorted(x, n, q, sorted, bucket);
}

void quantile_buckets_sorted(const double *x, int n, int q, const double *sorted, int *bucket) {
    double edges[RUN_MAX_QUANTILES + 1];
    /* pandas.qcut: np.linspace(0, 1, q + 1), then Series.quantile goes
     * through percent (x 100) and back, each step rounding */
    double step = 1.0 / q;
    for (int i = 0; i <= q; i++) {
        double pq = i == q ? 1.0 : i * step;
        edges[i] = np_quantile(sorted, n, pq * 100.0 / 100.0);
    }
    for (int k = 0; k < n; k++) {
        int b = 0;
        while (b < q - 1 && x[k] > edges[b + 1])
            b++;
        bucket[k] = b;
    }
}
