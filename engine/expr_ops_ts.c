/* expr_ops_ts.c -- time-series operators over date-major panels.
 *
 * Each output row t is computed from input rows t-win+1..t only, in a fixed
 * order, with the inner loops over symbols so they run over contiguous memory
 * and vectorize. No running sum is carried from the panel's first row: its
 * rounding would depend on where the panel starts, and a run started later
 * (with its warm-up) must match a run over everything bit for bit. Short
 * windows are summed directly (O(win) per cell); long sums and moments use
 * the date-anchored block sums of expr_ops_block.c (O(1) per cell). A window
 * with any NaN gives NaN (a window of d needs all d observations). */
/* The window loops run over symbols with unknown trip counts, which GCC's
 * -O2 cost model refuses to vectorize, and compare doubles, which it will not
 * vectorize while comparisons may trap; these kernels are the engine's hot
 * loops and never read FP exception flags, so they get O3 without trapping
 * math here (clang vectorizes them at -O2 already). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"

/* Keeps the panel invariant: finite or NaN. */
static inline double fin(double v) {
    return isfinite(v) ? v : NAN;
}

static double *scratch(size_t n) {
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    return p;
}

static void nan_row(double *o, int n) {
    for (int s = 0; s < n; s++)
        o[s] = NAN;
}

/* Sum of rows t-win+1..t into acc, today first. */
EXPR_INLINE void window_sum(const double *x, int t, int win, int n, double *acc) {
    const double *r = x + (size_t)t * n;
    memcpy(acc, r, (size_t)n * sizeof *acc);
    for (int k = 1; k < win; k++) {
        r -= n;
        for (int s = 0; s < n; s++)
            acc[s] += r[s];
    }
}

/* Mean into m, and in diff[s] how many values differ from today's (a
 * constant window has variance exactly 0, which two-pass arithmetic can
 * miss by an ulp). One fused pass, branch-free. */
EXPR_INLINE void window_mean_diff(const double *x, int t, int win, int n, double *m, double *diff) {
    const double *today = x + (size_t)t * n, *r = today;
    for (int s = 0; s < n; s++) {
        m[s] = today[s];
        diff[s] = today[s] != today[s];
    }
    for (int k = 1; k < win; k++) {
        r -= n;
        for (int s = 0; s < n; s++) {
            m[s] += r[s];
            diff[s] += r[s] != today[s];
        }
    }
    for (int s = 0; s < n; s++)
        m[s] /= win;
}

/* window_mean_diff of x and of y in one pass (ts_cov, ts_corr): the same
 * operations per symbol in the same order, so the same bits. */
EXPR_INLINE void window_mean_diff2(const double *x, const double *y, int t, int win, int n,
                                   double *mx, double *dx, double *my, double *dy) {
    const double *tx = x + (size_t)t * n, *ty = y + (size_t)t * n, *rx = tx, *ry = ty;
    for (int s = 0; s < n; s++) {
        mx[s] = tx[s];
        dx[s] = tx[s] != tx[s];
        my[s] = ty[s];
        dy[s] = ty[s] != ty[s];
    }
    for (int k = 1; k < win; k++) {
        rx -= n;
        ry -= n;
        for (int s = 0; s < n; s++) {
            mx[s] += rx[s];
            dx[s] += rx[s] != tx[s];
            my[s] += ry[s];
            dy[s] += ry[s] != ty[s];
        }
    }
    for (int s = 0; s < n; s++) {
        mx[s] /= win;
        my[s] /= win;
    }
}

/* Sum of squared deviations from m. */
EXPR_INLINE void window_ss(const double *x, int t, int win, int n, const double *m, double *ss) {
    const double *r = x + (size_t)t * n;
    for (int s = 0; s < n; s++)
        ss[s] = 0;
    for (int k = 0; k < win; k++, r -= n)
        for (int s = 0; s < n; s++) {
            double d = r[s] - m[s];
            ss[s] += d * d;
        }
}

/* Co-deviation sums of x and y about their means, in one pass. */
EXPR_INLINE void window_co(const double *x, const double *y, int t, int win, int n,
                           const double *mx, const double *my, double *sxx, double *syy,
                           double *sxy) {
    const double *rx = x + (size_t)t * n, *ry = y + (size_t)t * n;
    for (int s = 0; s < n; s++)
        sxx[s] = syy[s] = sxy[s] = 0;
    for (int k = 0; k < win; k++, rx -= n, ry -= n)
        for (int s = 0; s < n; s++) {
            double dx = rx[s] - mx[s], dy = ry[s] - my[s];
            sxx[s] += dx * dx;
            syy[s] += dy * dy;
            sxy[s] += dx * dy;
        }
}

/* min or max of the window, NaN when any value is NaN. The NaN test is kept
 * apart from the comparison so the loop stays branch-free (vectorizes). */
EXPR_INLINE void window_extreme(const double *x, int t, int win, int n, int want_max, double *o,
                                double *bad) {
    const double *r = x + (size_t)t * n;
    for (int s = 0; s < n; s++) {
        o[s] = r[s];
        bad[s] = r[s] != r[s];
    }
    for (int k = 1; k < win; k++) {
        r -= n;
        if (want_max)
            for (int s = 0; s < n; s++) {
                double v = r[s];
                o[s] = v > o[s] ? v : o[s];
                bad[s] += v != v;
            }
        else
            for (int s = 0; s < n; s++) {
                double v = r[s];
                o[s] = v < o[s] ? v : o[s];
                bad[s] += v != v;
            }
    }
    for (int s = 0; s < n; s++)
        o[s] = bad[s] != 0 ? NAN : o[s];
}

/* Position (1 = oldest .. win = today) of the window's max or min; ties go
 * to the oldest, as numpy's argmax over the window + 1. Selects instead of
 * branches, NaNs counted apart (a NaN never compares better), so the loop
 * vectorizes: it was the slowest kernel of the benchmark set. "The best
 * changed" is tested as nb != b because GCC will not if-convert two selects
 * on one comparison. */
EXPR_INLINE void window_argext(const double *x, int t, int win, int n, int want_max, double *o,
                               double *best, double *bad) {
    const double *r = x + (size_t)(t - win + 1) * n;
    for (int s = 0; s < n; s++) {
        best[s] = r[s];
        bad[s] = r[s] != r[s];
        o[s] = 1;
    }
    for (int k = 1; k < win; k++) {
        r += n;
        double pos = k + 1;
        if (want_max)
            for (int s = 0; s < n; s++) {
                double v = r[s], b = best[s], nb = v > b ? v : b;
                o[s] = nb != b ? pos : o[s]; /* NaN b: already bad */
                best[s] = nb;
                bad[s] += v != v;
            }
        else
            for (int s = 0; s < n; s++) {
                double v = r[s], b = best[s], nb = v < b ? v : b;
                o[s] = nb != b ? pos : o[s]; /* NaN b: already bad */
                best[s] = nb;
                bad[s] += v != v;
            }
    }
    for (int s = 0; s < n; s++)
        o[s] = bad[s] != 0 ? NAN : o[s];
}

/* Percentile rank of today's value in its window, ties averaged; bad
 * counts NaNs apart from the comparisons so the loop stays branch-free. */
EXPR_INLINE void window_rank(const double *x, int t, int win, int n, double *o, double *less,
                             double *eq, double *bad) {
    const double *today = x + (size_t)t * n, *r = today;
    for (int s = 0; s < n; s++)
        less[s] = eq[s] = bad[s] = 0;
    for (int k = 0; k < win; k++, r -= n)
        for (int s = 0; s < n; s++) {
            double v = r[s], c = today[s];
            less[s] += v < c;
            eq[s] += v == c;
            bad[s] += v != v;
        }
    for (int s = 0; s < n; s++)
        o[s] = bad[s] != 0 ? NAN : (less[s] + (eq[s] + 1) / 2) / win;
}

/* Weighted sum with weights w[k] for the value k rows back, divided by wsum. */
EXPR_INLINE void window_weighted(const double *x, int t, int win, int n, const double *w,
                                 double wsum, double *o) {
    const double *r = x + (size_t)t * n;
    for (int s = 0; s < n; s++)
        o[s] = w[0] * r[s];
    for (int k = 1; k < win; k++) {
        r -= n;
        for (int s = 0; s < n; s++)
            o[s] += w[k] * r[s];
    }
    for (int s = 0; s < n; s++)
        o[s] /= wsum;
}

EXPR_INLINE void window_product(const double *x, int t, int win, int n, double *o) {
    const double *r = x + (size_t)t * n;
    memcpy(o, r, (size_t)n * sizeof *o);
    for (int k = 1; k < win; k++) {
        r -= n;
        for (int s = 0; s < n; s++)
            o[s] *= r[s];
    }
}

/* Weights for decay_linear (win..1) and ewm (span win: (1-a)^k, a=2/(win+1)). */
static double make_weights(int op, int win, double *w) {
    double sum = 0;
    if (op == EOP_DECAY_LINEAR) {
        for (int k = 0; k < win; k++)
            w[k] = win - k;
        return (double)win * (win + 1) / 2;
    }
    double r = 1 - 2.0 / (win + 1), v = 1;
    for (int k = 0; k < win; k++) {
        w[k] = v;
        sum += v;
        v *= r;
    }
    return sum;
}

/* One output row of a windowed statistic (t >= win-1). */
EXPR_INLINE void ts_row(int op, const double *x, const double *y, int t, int win, int n, double *o,
                        double *m, double *m2, double *m3, double *m4, double *m5, double *m6,
                        const double *w, double wsum) {
    switch (op) {
    case EOP_TS_SUM: window_sum(x, t, win, n, o); break;
    case EOP_TS_MEAN:
        window_sum(x, t, win, n, o);
        for (int s = 0; s < n; s++)
            o[s] /= win;
        break;
    case EOP_TS_STD:
    case EOP_TS_ZSCORE: {
        if (win < 2) {
            nan_row(o, n);
            break;
        }
        const double *today = x + (size_t)t * n;
        window_mean_diff(x, t, win, n, m, m3);
        window_ss(x, t, win, n, m, m2);
        for (int s = 0; s < n; s++) {
            double sd = m3[s] == 0 ? 0.0 : sqrt(m2[s] / (win - 1));
            o[s] = op == EOP_TS_STD ? sd : (sd > 0 ? (today[s] - m[s]) / sd : NAN);
        }
        break;
    }
    case EOP_TS_COV:
    case EOP_TS_CORR:
        if (win < 2) {
            nan_row(o, n);
            break;
        }
        window_mean_diff2(x, y, t, win, n, m, m3, m2, m4);
        window_co(x, y, t, win, n, m, m2, m5, m6, o);
        if (op == EOP_TS_COV) {
            for (int s = 0; s < n; s++)
                o[s] /= win - 1;
            break;
        }
        for (int s = 0; s < n; s++) {
            double d = (m3[s] == 0 ? 0.0 : m5[s]) * (m4[s] == 0 ? 0.0 : m6[s]);
            o[s] = d > 0 ? o[s] / sqrt(d) : NAN;
        }
        break;
    case EOP_TS_MIN: window_extreme(x, t, win, n, 0, o, m); break;
    case EOP_TS_MAX: window_extreme(x, t, win, n, 1, o, m); break;
    case EOP_TS_ARGMIN: window_argext(x, t, win, n, 0, o, m, m2); break;
    case EOP_TS_ARGMAX: window_argext(x, t, win, n, 1, o, m, m2); break;
    case EOP_TS_RANK: window_rank(x, t, win, n, o, m, m2, m3); break;
    case EOP_TS_PRODUCT: window_product(x, t, win, n, o); break;
    case EOP_DECAY_LINEAR:
    case EOP_EWM: window_weighted(x, t, win, n, w, wsum, o); break;
    default: nan_row(o, n); break;
    }
    for (int s = 0; s < n; s++)
        o[s] = fin(o[s]);
}

/* Two-pass sample variance of one symbol's window, with the exact
 * constant-window check: the slow path of block_moments. */
EXPR_INLINE double window_var_exact(const double *x, int t, int win, int n, int s, double *mean) {
    const double *r = x + (size_t)t * n + s;
    double sum = 0, today = *r, ss = 0;
    int diff = 0;
    for (int k = 0; k < win; k++)
        sum += r[-(long)k * n], diff |= r[-(long)k * n] != today;
    *mean = sum / win;
    if (!diff) return 0;
    for (int k = 0; k < win; k++) {
        double d = r[-(long)k * n] - *mean;
        ss += d * d;
    }
    return ss / (win - 1);
}

/* ts_sum, ts_mean, ts_std, ts_zscore from block sums (expr_ops_block.c).
 * Variance from sums of squares cancels badly when the mean is large next to
 * the spread, so such cells (cv below 1%, constant windows) are recomputed
 * two-pass; which path a cell takes depends on its window only. */
EXPR_INLINE void block_moments(int op, const double *x, int win, int ndates, int nsyms,
                               const int *bstart, const int *bend, double *out) {
    size_t n = (size_t)nsyms, cells = (size_t)ndates * n;
    int need_sq = op == EOP_TS_STD || op == EOP_TS_ZSCORE;
    double *pre = scratch(cells), *suf = scratch(cells), *s1 = scratch(n), *s2 = scratch(n);
    double *pre2 = need_sq ? scratch(cells) : NULL, *suf2 = need_sq ? scratch(cells) : NULL;
    expr_blocks_prefix_suffix(x, ndates, nsyms, bstart, bend, 0, pre, suf);
    if (need_sq) expr_blocks_prefix_suffix(x, ndates, nsyms, bstart, bend, 1, pre2, suf2);
    for (int t = 0; t < ndates; t++) {
        double *o = out + (size_t)t * n;
        if (t < win - 1 || (need_sq && win < 2)) {
            nan_row(o, nsyms);
            continue;
        }
        expr_blocks_window_sum(pre, suf, t, win, nsyms, bstart, bend, s1);
        if (op == EOP_TS_SUM || op == EOP_TS_MEAN) {
            for (size_t s = 0; s < n; s++)
                o[s] = fin(op == EOP_TS_SUM ? s1[s] : s1[s] / win);
            continue;
        }
        expr_blocks_window_sum(pre2, suf2, t, win, nsyms, bstart, bend, s2);
        const double *today = x + (size_t)t * n;
        for (size_t s = 0; s < n; s++) {
            if (isnan(s1[s])) {
                o[s] = NAN;
                continue;
            }
            double mean = s1[s] / win, var = (s2[s] - s1[s] * mean) / (win - 1);
            if (!(var > 0 && mean * mean <= 1e4 * var))
                var = window_var_exact(x, t, win, nsyms, (int)s, &mean);
            double sd = sqrt(var);
            o[s] = fin(op == EOP_TS_STD ? sd : (sd > 0 ? (today[s] - mean) / sd : NAN));
        }
    }
    free(pre);
    free(suf);
    free(pre2);
    free(suf2);
    free(s1);
    free(s2);
}

/* ts_cov and ts_corr with the window means from block sums, then one fused
 * pass for the co-deviations and the constant-window checks. */
EXPR_INLINE void block_comoments(int op, const double *x, const double *y, int win, int ndates,
                                 int nsyms, const int *bstart, const int *bend, double *out) {
    size_t n = (size_t)nsyms, cells = (size_t)ndates * n;
    double *px = scratch(cells), *sx = scratch(cells), *py = scratch(cells), *sy = scratch(cells);
    double *mx = scratch(n), *my = scratch(n), *cxx = scratch(n), *cyy = scratch(n),
           *dx = scratch(n), *dy = scratch(n);
    expr_blocks_prefix_suffix(x, ndates, nsyms, bstart, bend, 0, px, sx);
    expr_blocks_prefix_suffix(y, ndates, nsyms, bstart, bend, 0, py, sy);
    for (int t = 0; t < ndates; t++) {
        double *o = out + (size_t)t * n;
        if (t < win - 1) {
            nan_row(o, nsyms);
            continue;
        }
        expr_blocks_window_sum(px, sx, t, win, nsyms, bstart, bend, mx);
        expr_blocks_window_sum(py, sy, t, win, nsyms, bstart, bend, my);
        const double *tx = x + (size_t)t * n, *ty = y + (size_t)t * n, *rx = tx, *ry = ty;
        for (size_t s = 0; s < n; s++) {
            mx[s] /= win;
            my[s] /= win;
            cxx[s] = cyy[s] = o[s] = dx[s] = dy[s] = 0;
        }
        for (int k = 0; k < win; k++, rx -= n, ry -= n)
            for (size_t s = 0; s < n; s++) {
                double ex = rx[s] - mx[s], ey = ry[s] - my[s];
                cxx[s] += ex * ex;
                cyy[s] += ey * ey;
                o[s] += ex * ey;
                dx[s] += rx[s] != tx[s];
                dy[s] += ry[s] != ty[s];
            }
        for (size_t s = 0; s < n; s++) {
            if (op == EOP_TS_COV) {
                o[s] = fin(o[s] / (win - 1));
                continue;
            }
            double d = (dx[s] == 0 ? 0.0 : cxx[s]) * (dy[s] == 0 ? 0.0 : cyy[s]);
            o[s] = d > 0 ? fin(o[s] / sqrt(d)) : NAN;
        }
    }
    free(px);
    free(sx);
    free(py);
    free(sy);
    free(mx);
    free(my);
    free(cxx);
    free(cyy);
    free(dx);
    free(dy);
}

/* Windows at least this long use block sums; shorter ones are as fast
 * direct. The choice depends on the operator and window only. */
enum { BLOCK_MIN_WIN = 32 };

static int uses_blocks(int op, int win) {
    return win >= BLOCK_MIN_WIN && (op == EOP_TS_SUM || op == EOP_TS_MEAN || op == EOP_TS_STD ||
                                    op == EOP_TS_ZSCORE || op == EOP_TS_COV || op == EOP_TS_CORR);
}

EXPR_SIMD void expr_eval_ts(int op, const double *x, const double *y, int win, const int32_t *dates,
                            int ndates, int nsyms, double *out) {
    size_t n = (size_t)nsyms;
    if (uses_blocks(op, win) && ndates > 0) {
        int *bstart = malloc((size_t)ndates * sizeof *bstart);
        int *bend = malloc((size_t)ndates * sizeof *bend);
        if (!bstart || !bend) abort();
        int ok = expr_blocks_make(dates, ndates, win, bstart, bend) == 0;
        if (ok && (op == EOP_TS_COV || op == EOP_TS_CORR))
            block_comoments(op, x, y, win, ndates, nsyms, bstart, bend, out);
        else if (ok)
            block_moments(op, x, win, ndates, nsyms, bstart, bend, out);
        free(bstart);
        free(bend);
        if (ok) return;
    }
    if (op == EOP_DELAY || op == EOP_DELTA) {
        for (int t = 0; t < ndates; t++) {
            double *o = out + (size_t)t * n;
            if (t < win) {
                nan_row(o, nsyms);
                continue;
            }
            const double *now = x + (size_t)t * n, *then = x + (size_t)(t - win) * n;
            if (op == EOP_DELAY)
                memcpy(o, then, n * sizeof *o);
            else
                for (size_t s = 0; s < n; s++)
                    o[s] = fin(now[s] - then[s]);
        }
        return;
    }
    double *m = scratch(n), *m2 = scratch(n), *m3 = scratch(n), *m4 = scratch(n),
           *w = scratch((size_t)win);
    double *m5 = scratch(n), *m6 = scratch(n);
    double wsum = 0;
    if (op == EOP_DECAY_LINEAR || op == EOP_EWM) wsum = make_weights(op, win, w);
    for (int t = 0; t < ndates; t++) {
        double *o = out + (size_t)t * n;
        if (t < win - 1)
            nan_row(o, nsyms);
        else
            ts_row(op, x, y, t, win, nsyms, o, m, m2, m3, m4, m5, m6, w, wsum);
    }
    free(m);
    free(m2);
    free(m3);
    free(m4);
    free(w);
    free(m5);
    free(m6);
}
