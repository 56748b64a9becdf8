/* metrics_quantile.c -- pandas.qcut-style quantile buckets over one
 * cross-section (contract in strategy.h). */
#include <math.h>
#include <string.h>

#include "metrics_calc.h"
#include "strategy.h"

/* Sorts finite doubles ascending: quantile_buckets' own sort, for callers
 * without a run_order (median-of-three quicksort, insertion below 16). */
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

/* The j-th smallest value: x[ord[j]], or x[j] when x is sorted itself. */
static inline double nth(const double *x, const int *ord, int j) {
    return ord ? x[ord[j]] : x[j];
}

/* numpy.quantile(method="linear") at probability q of the n values that
 * x/ord list in ascending order. */
static double np_quantile(const double *x, const int *ord, int n, double q) {
    /* numpy's virtual index for "linear" (alpha = beta = 1), term for term */
    double h = n * q + (1.0 + q * (1.0 - 1.0 - 1.0)) - 1.0;
    int lo = (int)floor(h);
    if (lo >= n - 1) return nth(x, ord, n - 1);
    double t = h - lo, a = nth(x, ord, lo), b = nth(x, ord, lo + 1), diff = b - a;
    /* numpy's _lerp: the form that is exact at the nearer end */
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/* pandas.qcut's edges: np.linspace(0, 1, q + 1), then Series.quantile goes
 * through percent (x 100) and back, each step rounding. Returns whether
 * the inner edges ascend (rounding could, in principle, break that). */
static int qcut_edges(const double *x, const int *ord, int n, int q, double *edges) {
    double step = 1.0 / q;
    for (int i = 0; i <= q; i++) {
        double pq = i == q ? 1.0 : i * step;
        edges[i] = np_quantile(x, ord, n, pq * 100.0 / 100.0);
    }
    int ascending = 1;
    for (int i = 1; i + 1 < q; i++)
        ascending &= edges[i] <= edges[i + 1];
    return ascending;
}

/* The first bucket whose upper edge is >= v: qcut's rule, edges in any
 * order. */
static inline int bucket_scan(double v, int q, const double *edges) {
    int b = 0;
    while (b < q - 1 && v > edges[b + 1])
        b++;
    return b;
}

void quantile_buckets(const double *x, int n, int q, double *sorted, int *bucket) {
    double edges[RUN_MAX_QUANTILES + 1];
    memcpy(sorted, x, (size_t)n * sizeof *x);
    sort_dbl(sorted, n);
    qcut_edges(sorted, NULL, n, q, edges);
    for (int k = 0; k < n; k++)
        bucket[k] = bucket_scan(x[k], q, edges);
}

void quantile_buckets_order(const double *x, const int *ord, int n, int q, int *bucket) {
    double edges[RUN_MAX_QUANTILES + 1];
    if (!qcut_edges(x, ord, n, q, edges)) {
        for (int k = 0; k < n; k++)
            bucket[k] = bucket_scan(x[k], q, edges);
        return;
    }
    /* ascending edges and values: the bucket only moves up, so one walk in
     * value order places everything (and its branch is predictable, where
     * scanning each value's edges mispredicted on every other value) */
    int b = 0;
    for (int j = 0; j < n; j++) {
        double v = x[ord[j]];
        while (b < q - 1 && v > edges[b + 1])
            b++;
        bucket[ord[j]] = b;
    }
}

int quantile_edges_order(const double *x, const int *ord, int n, int q, double *edges) {
    return qcut_edges(x, ord, n, q, edges);
}

int quantile_ends(const double *x, const int *ord, int n, int q, double *lo, double *hi) {
    double edges[RUN_MAX_QUANTILES + 1];
    if (!qcut_edges(x, ord, n, q, edges)) return 0;
    *lo = edges[1];
    *hi = edges[q - 1];
    return 1;
}
