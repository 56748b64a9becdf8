/* expr_ops_ts.c -- time-series operators over date-major panels.
 *
 * Each output row t is computed from input rows t-win+1..t only, in a fixed
 * order, with the inner loops over symbols so they run over contiguous memory
 * and vectorize. No running sum is carried from the panel's first row: its
 * rounding would depend on where the panel starts, and a run started later
 * (with its warm-up) must match a run over everything bit for bit. Short
 * windows are summed directly (O(win) per cell); long sums and moments use
 * the date-anchored block sums of expr_ops_block.c (O(1) per cell). A window
 * with any NaN gives NaN (a window of d needs all d observations). Output
 * rows (block sums: symbols) are split over engine/par.h's threads; a row
 * reads input rows only, so the split changes no bit. */
/* The window loops run over symbols with unknown trip counts, which GCC's
 * -O2 cost model refuses to vectorize, and compare doubles, which it will not
 * vectorize while comparisons may trap; these kernels are the engine's hot
 * loops and never read FP exception flags, so they get O3 without trapping
 * math here (clang vectorizes them at -O2 already), and no FP contraction
 * whatever the C mode: an FMA in the AVX-512 clone would change bits. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=off")
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
EXPR_INLINE void window_sum(const double *x, int t, int win, size_t st, int n, double *acc) {
    const double *r = x + (size_t)t * st;
    memcpy(acc, r, (size_t)n * sizeof *acc);
    for (int k = 1; k < win; k++) {
        r -= st;
        for (int s = 0; s < n; s++)
            acc[s] += r[s];
    }
}

/* Mean into m, and in diff[s] how many values differ from today's (a
 * constant window has variance exactly 0, which two-pass arithmetic can
 * miss by an ulp). One fused pass, branch-free. */
EXPR_INLINE void window_mean_diff(const double *x, int t, int win, size_t st, int n, double *m,
                                  double *diff) {
    const double *today = x + (size_t)t * st, *r = today;
    for (int s = 0; s < n; s++) {
        m[s] = today[s];
        diff[s] = today[s] != today[s];
    }
    for (int k = 1; k < win; k++) {
        r -= st;
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
EXPR_INLINE void window_mean_diff2(const double *x, const double *y, int t, int win, size_t st,
                                   int n, double *mx, double *dx, double *my, double *dy) {
    const double *tx = x + (size_t)t * st, *ty = y + (size_t)t * st, *rx = tx, *ry = ty;
    for (int s = 0; s < n; s++) {
        mx[s] = tx[s];
        dx[s] = tx[s] != tx[s];
        my[s] = ty[s];
        dy[s] = ty[s] != ty[s];
    }
    for (int k = 1; k < win; k++) {
        rx -= st;
        ry -= st;
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
EXPR_INLINE void window_ss(const double *x, int t, int win, size_t st, int n, const double *m,
                           double *ss) {
    const double *r = x + (size_t)t * st;
    for (int s = 0; s < n; s++)
        ss[s] = 0;
    for (int k = 0; k < win; k++, r -= st)
        for (int s = 0; s < n; s++) {
            double d = r[s] - m[s];
            ss[s] += d * d;
        }
}

/* Co-deviation sums of x and y about their means, in one pass. */
EXPR_INLINE void window_co(const double *x, const double *y, int t, int win, size_t st, int n,
                           const double *mx, const double *my, double *sxx, double *syy,
                           double *sxy) {
    const double *rx = x + (size_t)t * st, *ry = y + (size_t)t * st;
    for (int s = 0; s < n; s++)
        sxx[s] = syy[s] = sxy[s] = 0;
    for (int k = 0; k < win; k++, rx -= st, ry -= st)
        for (int s = 0; s < n; s++) {
            double dx = rx[s] - mx[s], dy = ry[s] - my[s];
            sxx[s] += dx * dx;
            syy[s] += dy * dy;
            sxy[s] += dx * dy;
        }
}

/* min or max of the window, NaN when any value is NaN. The NaN test is kept
 * apart from the comparison so the loop stays branch-free (vectorizes). */
EXPR_INLINE void window_extreme(const double *x, int t, int win, size_t st, int n, int want_max,
                                double *o, double *bad) {
    const double *r = x + (size_t)t * st;
    for (int s = 0; s < n; s++) {
        o[s] = r[s];
        bad[s] = r[s] != r[s];
    }
    for (int k = 1; k < win; k++) {
        r -= st;
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
EXPR_INLINE void window_argext(const double *x, int t, int win, size_t st, int n, int want_max,
                               double *o, double *best, double *bad) {
    const double *r = x + (size_t)(t - win + 1) * st;
    for (int s = 0; s < n; s++) {
        best[s] = r[s];
        bad[s] = r[s] != r[s];
        o[s] = 1;
    }
    for (int k = 1; k < win; k++) {
        r += st;
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
EXPR_INLINE void window_rank(const double *x, int t, int win, size_t st, int n, double *o,
                             double *less, double *eq, double *bad) {
    const double *today = x + (size_t)t * st, *r = today;
    for (int s = 0; s < n; s++)
        less[s] = eq[s] = bad[s] = 0;
    for (int k = 0; k < win; k++, r -= st)
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
EXPR_INLINE void window_weighted(const double *x, int t, int win, size_t st, int n, const double *w,
                                 double wsum, double *o) {
    const double *r = x + (size_t)t * st;
    for (int s = 0; s < n; s++)
        o[s] = w[0] * r[s];
    for (int k = 1; k < win; k++) {
        r -= st;
        for (int s = 0; s < n; s++)
            o[s] += w[k] * r[s];
    }
    for (int s = 0; s < n; s++)
        o[s] /= wsum;
}

EXPR_INLINE void window_product(const double *x, int t, int win, size_t st, int n, double *o) {
    const double *r = x + (size_t)t * st;
    memcpy(o, r, (size_t)n * sizeof *o);
    for (int k = 1; k < win; k++) {
        r -= st;
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
EXPR_INLINE void ts_row(int op, const double *x, const double *y, int t, int win, size_t st, int n,
                        double *o, double *m, double *m2, double *m3, double *m4, double *m5,
                        double *m6, const double *w, double wsum) {
    switch (op) {
    case EOP_TS_SUM: window_sum(x, t, win, st, n, o); break;
    case EOP_TS_MEAN:
        window_sum(x, t, win, st, n, o);
        for (int s = 0; s < n; s++)
            o[s] /= win;
        break;
    case EOP_TS_STD:
    case EOP_TS_ZSCORE: {
        if (win < 2) {
            nan_row(o, n);
            break;
        }
        const double *today = x + (size_t)t * st;
        window_mean_diff(x, t, win, st, n, m, m3);
        window_ss(x, t, win, st, n, m, m2);
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
        window_mean_diff2(x, y, t, win, st, n, m, m3, m2, m4);
        window_co(x, y, t, win, st, n, m, m2, m5, m6, o);
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
    case EOP_TS_MIN: window_extreme(x, t, win, st, n, 0, o, m); break;
    case EOP_TS_MAX: window_extreme(x, t, win, st, n, 1, o, m); break;
    case EOP_TS_ARGMIN: window_argext(x, t, win, st, n, 0, o, m, m2); break;
    case EOP_TS_ARGMAX: window_argext(x, t, win, st, n, 1, o, m, m2); break;
    case EOP_TS_RANK: window_rank(x, t, win, st, n, o, m, m2, m3); break;
    case EOP_TS_PRODUCT: window_product(x, t, win, st, n, o); break;
    case EOP_DECAY_LINEAR:
    case EOP_EWM: window_weighted(x, t, win, st, n, w, wsum, o); break;
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

/* One evaluation of a time-series operator, shared by its tasks. Rows are
 * split by date (row t reads input rows only, never output rows), the block
 * sums by symbol (each symbol's sums run down its own column). */
struct ts_job {
    int op, win, ndates, nsyms, ntasks;
    const double *x, *y;
    double *out;
    const double *w; /* decay_linear / ewm weights */
    double wsum;
    const int *bstart, *bend;        /* block path: date blocks */
    double *pre, *suf, *pre2, *suf2; /* block sums of x, and of x*x or y */
};

/* The dates task `task` computes: one of j->ntasks contiguous ranges. */
static void task_rows(const struct ts_job *j, int task, int *lo, int *hi) {
    *lo = (int)expr_split((size_t)j->ndates, j->ntasks, task);
    *hi = (int)expr_split((size_t)j->ndates, j->ntasks, task + 1);
}

/* ts_sum, ts_mean, ts_std, ts_zscore from block sums (expr_ops_block.c).
 * Variance from sums of squares cancels badly when the mean is large next to
 * the spread, so such cells (cv below 1%, constant windows) are recomputed
 * two-pass; which path a cell takes depends on its window only. */
EXPR_INLINE void block_moments(const struct ts_job *j, int t0, int t1) {
    int op = j->op, win = j->win, nsyms = j->nsyms;
    size_t n = (size_t)nsyms;
    const double *x = j->x;
    int need_sq = op == EOP_TS_STD || op == EOP_TS_ZSCORE;
    double *s1 = scratch(n), *s2 = scratch(n);
    for (int t = t0; t < t1; t++) {
        double *o = j->out + (size_t)t * n;
        if (t < win - 1 || (need_sq && win < 2)) {
            nan_row(o, nsyms);
            continue;
        }
        expr_blocks_window_sum(j->pre, j->suf, t, win, nsyms, j->bstart, j->bend, s1);
        if (op == EOP_TS_SUM || op == EOP_TS_MEAN) {
            for (size_t s = 0; s < n; s++)
                o[s] = fin(op == EOP_TS_SUM ? s1[s] : s1[s] / win);
            continue;
        }
        expr_blocks_window_sum(j->pre2, j->suf2, t, win, nsyms, j->bstart, j->bend, s2);
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
    free(s1);
    free(s2);
}

/* ts_cov and ts_corr with the window means from block sums, then one fused
 * pass for the co-deviations and the constant-window checks. */
EXPR_INLINE void block_comoments(const struct ts_job *j, int t0, int t1) {
    int op = j->op, win = j->win, nsyms = j->nsyms;
    size_t n = (size_t)nsyms;
    const double *x = j->x, *y = j->y;
    double *mx = scratch(n), *my = scratch(n), *cxx = scratch(n), *cyy = scratch(n),
           *dx = scratch(n), *dy = scratch(n);
    for (int t = t0; t < t1; t++) {
        double *o = j->out + (size_t)t * n;
        if (t < win - 1) {
            nan_row(o, nsyms);
            continue;
        }
        expr_blocks_window_sum(j->pre, j->suf, t, win, nsyms, j->bstart, j->bend, mx);
        expr_blocks_window_sum(j->pre2, j->suf2, t, win, nsyms, j->bstart, j->bend, my);
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
    free(mx);
    free(my);
    free(cxx);
    free(cyy);
    free(dx);
    free(dy);
}

/* Block sums of a range of symbols (a column split: each column's sums are
 * its own, whatever range it falls in). */
static void block_sums_task(void *ctx, int task, int worker) {
    const struct ts_job *j = ctx;
    int s0 = (int)expr_split((size_t)j->nsyms, j->ntasks, task);
    int s1 = (int)expr_split((size_t)j->nsyms, j->ntasks, task + 1);
    int cov = j->op == EOP_TS_COV || j->op == EOP_TS_CORR;
    (void)worker;
    expr_blocks_prefix_suffix_cols(j->x, j->ndates, j->nsyms, s0, s1, j->bstart, j->bend, 0, j->pre,
                                   j->suf);
    if (cov)
        expr_blocks_prefix_suffix_cols(j->y, j->ndates, j->nsyms, s0, s1, j->bstart, j->bend, 0,
                                       j->pre2, j->suf2);
    else if (j->pre2)
        expr_blocks_prefix_suffix_cols(j->x, j->ndates, j->nsyms, s0, s1, j->bstart, j->bend, 1,
                                       j->pre2, j->suf2);
}

/* Rows of the block path, once block_sums_task has run for every column. */
EXPR_SIMD static void block_rows_task(void *ctx, int task, int worker) {
    const struct ts_job *j = ctx;
    int lo, hi;
    (void)worker;
    task_rows(j, task, &lo, &hi);
    if (j->op == EOP_TS_COV || j->op == EOP_TS_CORR)
        block_comoments(j, lo, hi);
    else
        block_moments(j, lo, hi);
}

/* Eight symbols of a direct window row at once, in GCC's generic vectors:
 * the window's accumulators stay in registers instead of row-long scratch
 * that every step of the window loads and stores again (GCC would not keep
 * them there on its own). Each lane does its symbol's operations in the
 * order of the row functions above (no FMA: contraction is off here);
 * comparisons become 1.0/0.0 by masking the bits of 1.0, selects are bit
 * masks, and the last steps per cell are the row functions' own scalar
 * code, so the bits are the same. The target clones of the caller compile
 * the vectors to AVX-512, AVX2 or SSE2. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(EXPR_TS_NO_VEC) /* a test sets it */
#define TS_VEC 1
/* the helpers below are always inlined: no vector crosses a call */
#pragma GCC diagnostic ignored "-Wpsabi"
enum { VL = 8 };
typedef double vd __attribute__((vector_size(8 * VL)));
typedef long long vm __attribute__((vector_size(8 * VL)));
typedef double vdu __attribute__((vector_size(8 * VL), aligned(8))); /* unaligned access */

EXPR_INLINE vd vld(const double *p) {
    return *(const vdu *)p;
}
EXPR_INLINE void vst(double *p, vd v) {
    *(vdu *)p = v;
}
/* 1.0 where mask, else 0.0 */
EXPR_INLINE vd vone(vm mask) {
    const vd one = (vd){0} + 1.0;
    return (vd)(mask & (vm)one);
}
EXPR_INLINE vd vsel(vm mask, vd a, vd b) {
    return (vd)((mask & (vm)a) | (~mask & (vm)b));
}

/* Symbols s0..s0+VL-1 of row t (t >= win-1) into o; 0 when op has no
 * vector form here (the caller then takes the row path). */
EXPR_INLINE int ts_tile_vec(const struct ts_job *j, int t, size_t s0, double *o) {
    const int op = j->op, win = j->win;
    const size_t st = (size_t)j->nsyms;
    const double *xt = j->x + (size_t)t * st + s0, *r = xt;
    double a1[VL], a2[VL], a3[VL], a4[VL], a5[VL], a6[VL];
    const vd zero = {0}, nan = zero + NAN;
    switch (op) {
    case EOP_TS_SUM:
    case EOP_TS_MEAN: { /* window_sum */
        vd acc = vld(r);
        for (int k = 1; k < win; k++)
            r -= st, acc += vld(r);
        if (op == EOP_TS_MEAN) acc /= win;
        vst(a1, acc);
        for (int s = 0; s < VL; s++)
            o[s] = fin(a1[s]);
        return 1;
    }
    case EOP_DECAY_LINEAR:
    case EOP_EWM: { /* window_weighted */
        const double *w = j->w;
        vd acc = w[0] * vld(r);
        for (int k = 1; k < win; k++)
            r -= st, acc += w[k] * vld(r);
        acc /= j->wsum;
        vst(a1, acc);
        for (int s = 0; s < VL; s++)
            o[s] = fin(a1[s]);
        return 1;
    }
    case EOP_TS_MIN:
    case EOP_TS_MAX: { /* window_extreme */
        vd e = vld(r), bad = vone(e != e);
        for (int k = 1; k < win; k++) {
            r -= st;
            vd v = vld(r);
            e = vsel(op == EOP_TS_MAX ? v > e : v < e, v, e);
            bad += vone(v != v);
        }
        vst(a1, vsel(bad != zero, nan, e));
        for (int s = 0; s < VL; s++)
            o[s] = fin(a1[s]);
        return 1;
    }
    case EOP_TS_ARGMIN:
    case EOP_TS_ARGMAX: { /* window_argext */
        r = xt - (size_t)(win - 1) * st;
        vd best = vld(r), bad = vone(best != best), pos = zero + 1;
        for (int k = 1; k < win; k++) {
            r += st;
            vd v = vld(r), nb = vsel(op == EOP_TS_ARGMAX ? v > best : v < best, v, best);
            pos = vsel(nb != best, zero + (double)(k + 1), pos);
            best = nb;
            bad += vone(v != v);
        }
        vst(a1, vsel(bad != zero, nan, pos));
        for (int s = 0; s < VL; s++)
            o[s] = fin(a1[s]);
        return 1;
    }
    case EOP_TS_RANK: { /* window_rank */
        vd c = vld(xt), less = zero, eq = zero, bad = zero;
        for (int k = 0; k < win; k++, r -= st) {
            vd v = vld(r);
            less += vone(v < c);
            eq += vone(v == c);
            bad += vone(v != v);
        }
        vst(a1, vsel(bad != zero, nan, (less + (eq + 1) / 2) / win));
        for (int s = 0; s < VL; s++)
            o[s] = fin(a1[s]);
        return 1;
    }
    case EOP_TS_STD:
    case EOP_TS_ZSCORE: { /* window_mean_diff, window_ss */
        if (win < 2) return 0;
        vd today = vld(xt), m = today, diff = vone(today != today), ss = zero;
        for (int k = 1; k < win; k++) {
            r -= st;
            vd v = vld(r);
            m += v;
            diff += vone(v != today);
        }
        m /= win;
        r = xt;
        for (int k = 0; k < win; k++, r -= st) {
            vd d = vld(r) - m;
            ss += d * d;
        }
        vst(a1, m);
        vst(a2, ss);
        vst(a3, diff);
        for (int s = 0; s < VL; s++) {
            double sd = a3[s] == 0 ? 0.0 : sqrt(a2[s] / (win - 1));
            o[s] = fin(op == EOP_TS_STD ? sd : (sd > 0 ? (xt[s] - a1[s]) / sd : NAN));
        }
        return 1;
    }
    case EOP_TS_COV:
    case EOP_TS_CORR: { /* window_mean_diff2, window_co */
        if (win < 2) return 0;
        const double *yt = j->y + (size_t)t * st + s0, *q = yt;
        vd tx = vld(xt), ty = vld(yt), mx = tx, my = ty, dx = vone(tx != tx), dy = vone(ty != ty);
        for (int k = 1; k < win; k++) {
            r -= st;
            q -= st;
            vd vx = vld(r), vy = vld(q);
            mx += vx;
            dx += vone(vx != tx);
            my += vy;
            dy += vone(vy != ty);
        }
        mx /= win;
        my /= win;
        vd sxx = zero, syy = zero, sxy = zero;
        r = xt;
        q = yt;
        for (int k = 0; k < win; k++, r -= st, q -= st) {
            vd ex = vld(r) - mx, ey = vld(q) - my;
            sxx += ex * ex;
            syy += ey * ey;
            sxy += ex * ey;
        }
        vst(a1, sxy);
        if (op == EOP_TS_COV) {
            for (int s = 0; s < VL; s++)
                o[s] = fin(a1[s] / (win - 1));
            return 1;
        }
        vst(a2, sxx);
        vst(a3, syy);
        vst(a4, dx);
        vst(a5, dy);
        for (int s = 0; s < VL; s++) {
            double d = (a4[s] == 0 ? 0.0 : a2[s]) * (a5[s] == 0 ? 0.0 : a3[s]);
            o[s] = fin(d > 0 ? a1[s] / sqrt(d) : NAN);
        }
        (void)a6;
        return 1;
    }
    default: return 0;
    }
}
#endif

/* Rows lo..hi-1 of delay, delta and the directly summed windows. */
EXPR_SIMD static void direct_rows_task(void *ctx, int task, int worker) {
    const struct ts_job *j = ctx;
    int op = j->op, win = j->win, nsyms = j->nsyms, lo, hi;
    size_t n = (size_t)nsyms;
    const double *x = j->x;
    (void)worker;
    task_rows(j, task, &lo, &hi);
    if (op == EOP_DELAY || op == EOP_DELTA) {
        for (int t = lo; t < hi; t++) {
            double *o = j->out + (size_t)t * n;
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
    /* apart, not slices of one block: GCC then vectorizes the window loops
     * with plain alias checks (slices cost a tenth more instructions) */
    double *m = scratch(n), *m2 = scratch(n), *m3 = scratch(n), *m4 = scratch(n), *m5 = scratch(n),
           *m6 = scratch(n);
    for (int t = lo; t < hi; t++) {
        double *o = j->out + (size_t)t * n;
        if (t < win - 1) {
            nan_row(o, nsyms);
            continue;
        }
        size_t s0 = 0;
#ifdef TS_VEC
        while (s0 + VL <= n && ts_tile_vec(j, t, s0, o + s0))
            s0 += VL;
#endif
        if (s0 < n)
            ts_row(op, x + s0, j->y ? j->y + s0 : NULL, t, win, n, (int)(n - s0), o + s0, m, m2, m3,
                   m4, m5, m6, j->w, j->wsum);
    }
    free(m);
    free(m2);
    free(m3);
    free(m4);
    free(m5);
    free(m6);
}

/* Windows at least this long use block sums; shorter ones are as fast
 * direct. The choice depends on the operator and window only. */
enum { BLOCK_MIN_WIN = 32 };

static int uses_blocks(int op, int win) {
    return win >= BLOCK_MIN_WIN && (op == EOP_TS_SUM || op == EOP_TS_MEAN || op == EOP_TS_STD ||
                                    op == EOP_TS_ZSCORE || op == EOP_TS_COV || op == EOP_TS_CORR);
}

/* Tasks for a split of `parts` rows or columns of a panel of `cells`. */
static int split_tasks(size_t cells, int parts) {
    int k = expr_par_tasks(cells);
    return parts < 1 ? 1 : k > parts ? parts : k;
}

int expr_ts_scratch_count(int op, int win) {
    if (!uses_blocks(op, win)) return 0;
    return op == EOP_TS_SUM || op == EOP_TS_MEAN ? 2 : 4;
}

/* The block path: 0, or -1 when the dates do not allow blocks. panels:
 * expr_ts_scratch_count buffers, or NULL to allocate them here. */
static int eval_blocks(struct ts_job *j, const int32_t *dates, double *const *panels) {
    size_t n = (size_t)j->nsyms, cells = (size_t)j->ndates * n;
    int cov = j->op == EOP_TS_COV || j->op == EOP_TS_CORR;
    int need2 = cov || j->op == EOP_TS_STD || j->op == EOP_TS_ZSCORE, rc = -1;
    double *own[4] = {NULL, NULL, NULL, NULL};
    int *bstart = malloc((size_t)j->ndates * sizeof *bstart);
    int *bend = malloc((size_t)j->ndates * sizeof *bend);
    if (!bstart || !bend) abort();
    if (expr_blocks_make(dates, j->ndates, j->win, bstart, bend) != 0) goto done;
    j->bstart = bstart;
    j->bend = bend;
    for (int k = 0; k < 2 + 2 * need2; k++)
        own[k] = panels ? panels[k] : expr_panel_alloc(cells);
    j->pre = own[0];
    j->suf = own[1];
    j->pre2 = own[2];
    j->suf2 = own[3];
    j->ntasks = split_tasks(cells, j->nsyms);
    par_run(j->ntasks, block_sums_task, j);
    j->ntasks = split_tasks(cells, j->ndates);
    par_run(j->ntasks, block_rows_task, j);
    for (int k = 0; k < 4 && !panels; k++)
        free(own[k]);
    rc = 0;
done:
    free(bstart);
    free(bend);
    return rc;
}

void expr_eval_ts(int op, const double *x, const double *y, int win, const int32_t *dates,
                  int ndates, int nsyms, double *out) {
    expr_eval_ts_scratch(op, x, y, win, dates, ndates, nsyms, out, NULL);
}

void expr_eval_ts_scratch(int op, const double *x, const double *y, int win, const int32_t *dates,
                          int ndates, int nsyms, double *out, double *const *panels) {
    struct ts_job j;
    memset(&j, 0, sizeof j);
    j.op = op;
    j.win = win;
    j.ndates = ndates;
    j.nsyms = nsyms;
    j.x = x;
    j.y = y;
    j.out = out;
    if (ndates <= 0) return;
    if (uses_blocks(op, win) && eval_blocks(&j, dates, panels) == 0) return;
    double *w = scratch((size_t)win);
    if (op == EOP_DECAY_LINEAR || op == EOP_EWM) j.wsum = make_weights(op, win, w);
    j.w = w;
    j.ntasks = split_tasks((size_t)ndates * (size_t)nsyms, ndates);
    par_run(j.ntasks, direct_rows_task, &j);
    free(w);
}
