/* metrics_ic.c -- the information coefficient of a factor on one date:
 * Pearson (IC) and Spearman (rank IC, what alphalens calls IC) across
 * symbols, and beside it the quantile means of a run's factor statistics
 * (contract in metrics_calc.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
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

/* The pairs of a date: each symbol with a finite factor and a valid
 * return, in symbol order, into x/y; pos[s] = its index or -1. Branch-free
 * (every slot is written, the count moves by the validity), so a gap in
 * the data costs no misprediction. The portable loops; the AVX-512 ones
 * below do the same, eight or sixteen at a time. */
static int pairs_gather_c(const double *f, const double *ret, int s, int ns, int n, double *x,
                          double *y, int *pos) {
    for (; s < ns; s++) {
        double a = f[s], b = ret[s];
        int ok = (fabs(a) <= DBL_MAX) & (b == b);
        x[n] = a;
        y[n] = b;
        pos[s] = ok ? n : -1;
        n += ok;
    }
    return n;
}

/* The positions k (into the pair list, pos[s] = k or -1) of the listed
 * symbols that are in the pair list, in list order: a sorted cross-section
 * filtered down to the pairs, in O(nsyms) instead of a sort. */
static int order_filter_c(const int *list, int i, int nlist, const int *pos, int *out, int m) {
    for (; i < nlist; i++) {
        int k = pos[list[i]];
        out[m] = k;
        m += k >= 0;
    }
    return m;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define IC_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw")))

/* pairs_gather_c eight symbols a step: compress the valid lanes into x and
 * y (a full vector store: the slots past the pairs are scratch, and n <= s
 * keeps it inside the arrays), expand n, n+1, .. into the valid lanes of
 * pos. The rows are date-major and read date after date, so it fetches
 * the next date's line of each (a row is about a page: the hardware
 * prefetcher barely gets going on one); a prefetch never faults, even
 * past the end. */
IC_AVX512 static int pairs_gather_avx512(const double *f, const double *ret, int ns, double *x,
                                         double *y, int *pos) {
    const __m512d lim = _mm512_set1_pd(DBL_MAX);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), none = _mm256_set1_epi32(-1);
    int n = 0, s = 0;
    for (; s + 8 <= ns; s += 8) {
        _mm_prefetch((const char *)(f + s + ns), _MM_HINT_T0);
        _mm_prefetch((const char *)(ret + s + ns), _MM_HINT_T0);
        __m512d a = _mm512_loadu_pd(f + s), b = _mm512_loadu_pd(ret + s);
        __mmask8 ok = _mm512_cmp_pd_mask(_mm512_abs_pd(a), lim, _CMP_LE_OQ);
        ok = _mm512_mask_cmp_pd_mask(ok, b, b, _CMP_ORD_Q);
        _mm512_storeu_pd(x + n, _mm512_maskz_compress_pd(ok, a));
        _mm512_storeu_pd(y + n, _mm512_maskz_compress_pd(ok, b));
        __m256i k = _mm256_add_epi32(_mm256_set1_epi32(n), iota);
        _mm256_storeu_si256((__m256i *)(pos + s), _mm256_mask_expand_epi32(none, ok, k));
        n += __builtin_popcount(ok);
    }
    return pairs_gather_c(f, ret, s, ns, n, x, y, pos);
}

/* order_filter_c sixteen list entries a step: gather their positions,
 * compress the ones >= 0 (a full store, m <= i keeps it inside out). The
 * lists of a run_order are rows nsyms apart: the next date's is fetched
 * ahead, as in pairs_gather_avx512. */
IC_AVX512 static int order_filter_avx512(const int *list, int nlist, const int *pos, int *out,
                                         int ns) {
    int m = 0, i = 0;
    for (; i + 16 <= nlist; i += 16) {
        _mm_prefetch((const char *)(list + i + ns), _MM_HINT_T0);
        __m512i k = _mm512_i32gather_epi32(_mm512_loadu_si512(list + i), pos, 4);
        __mmask16 ok = _mm512_cmpge_epi32_mask(k, _mm512_setzero_si512());
        _mm512_storeu_si512(out + m, _mm512_maskz_compress_epi32(ok, k));
        m += __builtin_popcount(ok);
    }
    return order_filter_c(list, i, nlist, pos, out, m);
}

#endif

/* The rank sums of the pairs: sum ax[k] * rb and sum rb * rb over the
 * doubled, centred y ranks rb = 2 ry[k] - n1. Integers, exact in any
 * order, so apart from the double chains of the Pearson sums: those then
 * wait on nothing else, and these go eight at a time on AVX-512. */
static void rank_sums_c(const int *ax, const double *ry, int k, int n, int64_t n1, int64_t *rxy,
                        int64_t *ryy) {
    int64_t xy = *rxy, yy = *ryy;
    for (; k < n; k++) {
        int64_t rb = (int64_t)(2 * ry[k]) - n1;
        xy += ax[k] * rb;
        yy += rb * rb;
    }
    *rxy = xy;
    *ryy = yy;
}

#ifdef IC_AVX512
/* rank_sums_c eight pairs a step (2 ry is a small integer: exact). */
IC_AVX512 static void rank_sums_avx512(const int *ax, const double *ry, int n, int64_t n1,
                                       int64_t *rxy, int64_t *ryy) {
    __m512i xy = _mm512_setzero_si512(), yy = _mm512_setzero_si512();
    const __m512i vn1 = _mm512_set1_epi64(n1);
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        __m512d r = _mm512_loadu_pd(ry + k);
        __m512i rb = _mm512_sub_epi64(_mm512_cvttpd_epi64(_mm512_add_pd(r, r)), vn1);
        __m512i a = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(ax + k)));
        xy = _mm512_add_epi64(xy, _mm512_mullo_epi64(a, rb));
        yy = _mm512_add_epi64(yy, _mm512_mullo_epi64(rb, rb));
    }
    *rxy = _mm512_reduce_add_epi64(xy);
    *ryy = _mm512_reduce_add_epi64(yy);
    rank_sums_c(ax, ry, k, n, n1, rxy, ryy);
}
#endif

static void rank_sums(const int *ax, const double *ry, int n, int64_t n1, int64_t *rxy,
                      int64_t *ryy) {
    *rxy = *ryy = 0;
#ifdef IC_AVX512
    if (cpu_level() >= CPU_AVX512) {
        rank_sums_avx512(ax, ry, n, n1, rxy, ryy);
        return;
    }
#endif
    rank_sums_c(ax, ry, 0, n, n1, rxy, ryy);
}

static int pairs_gather(const double *f, const double *ret, int ns, double *x, double *y,
                        int *pos) {
#ifdef IC_AVX512
    if (cpu_level() >= CPU_AVX512) return pairs_gather_avx512(f, ret, ns, x, y, pos);
#endif
    return pairs_gather_c(f, ret, 0, ns, 0, x, y, pos);
}

static int order_filter(const int *list, int nlist, const int *pos, int *out, int ns) {
#ifdef IC_AVX512
    if (cpu_level() >= CPU_AVX512) return order_filter_avx512(list, nlist, pos, out, ns);
#endif
    (void)ns;
    return order_filter_c(list, 0, nlist, pos, out, 0);
}

/* What one date's quantile means need: the bucket of each pair (when the
 * edges ascend, placed by the walk in value order) and its counts. */
struct day_buckets {
    int q, walk; /* walk: edges ascend, the rank walk places the buckets */
    double edges[RUN_MAX_QUANTILES + 1];
    int start[RUN_MAX_QUANTILES + 1]; /* the walk's first position of each bucket */
    int *bucket;
};

/* The rank IC is the Pearson correlation of average ranks. Ranks are
 * multiples of 1/2, so every sum metrics_pearson would form over them --
 * the rank sums, the deviations from the mean rank (n + 1) / 2 and their
 * products -- is exact in any order: done in integers over doubled ranks,
 * the result is metrics_pearson's bit for bit (below 100,000 pairs, where
 * n^3 < 2^53 keeps the double sums exact too).
 *
 * rank_scatter walks the pairs in ascending order of x (ox) once: it puts
 * x's doubled, centred ranks in pair order (ax) and returns the sum of
 * their squares; a run of equal values ends where the next differs (x is
 * finite, so the NaN past the end differs from every value). Beside it, in
 * pair order, the sums of x and of y metrics_pearson starts with: two
 * chains of double adds whose latency the walk fills. The walk also places
 * the quantile buckets when qb asks (qcut's rule: through ascending edges
 * the bucket only moves up, and a run of equal values shares one). */
static inline __attribute__((always_inline)) int64_t
rank_scatter_q(const double *x, const double *y, const int *ox, int n, int *ax, double *sx_out,
               double *sy_out, struct day_buckets *qb, const int with_q) {
    int64_t sxx = 0, n1 = (int64_t)n + 1;
    double v = x[ox[0]], sx = 0, sy = 0;
    const double *edges = with_q ? qb->edges : NULL;
    int b = 0, q1 = with_q ? qb->q - 1 : 0, *bucket = with_q ? qb->bucket : NULL;
    if (with_q) qb->start[0] = 0;
    for (int i = 0, j = 1; j <= n; j++) {
        sx += x[j - 1];
        sy += y[j - 1];
        double u = j < n ? x[ox[j]] : NAN;
        if (u == v) continue;
        /* ranks i+1..j share (i + 1 + j) / 2: doubled and centred */
        int64_t a = (int64_t)i + 1 + j - n1;
        if (with_q)
            while (b < q1 && v > edges[b + 1])
                qb->start[++b] = i;
        if (j == i + 1) {
            /* most runs are one value long */
            int o = ox[i];
            ax[o] = (int)a;
            if (with_q) bucket[o] = b;
            sxx += a * a;
        } else {
            for (int k = i; k < j; k++) {
                ax[ox[k]] = (int)a;
                if (with_q) bucket[ox[k]] = b;
            }
            sxx += a * a * (j - i);
        }
        i = j;
        v = u;
    }
    if (with_q)
        while (b < q1)
            qb->start[++b] = n;
    *sx_out = sx;
    *sy_out = sy;
    return sxx;
}

/* rank_scatter_q with and without the buckets, each its own loop. */
static int64_t rank_scatter(const double *x, const double *y, const int *ox, int n, int *ax,
                            double *sx_out, double *sy_out, struct day_buckets *qb) {
    if (qb) return rank_scatter_q(x, y, ox, n, ax, sx_out, sy_out, qb, 1);
    return rank_scatter_q(x, y, ox, n, ax, sx_out, sy_out, NULL, 0);
}

/* metrics_ic_day, plus, when qb is non-NULL and there are at least q pairs,
 * each bucket's sum and count of returns (dsum/dcnt, sums in pair order);
 * returns the number of pairs. */
static int ic_day(const struct panel *p, const double *factor, int d, const int *xord, int nx,
                  const struct run_order *ro, double *scratch, int *iscratch, double *ic,
                  double *rank_ic, struct day_buckets *qb, double *dsum, int *dcnt) {
    int ns = p->nsyms, ny = 0;
    double *x = scratch, *y = scratch + ns, *ry = scratch + 3 * ns;
    int *ox = iscratch, *oy = iscratch + ns, *pos = iscratch + 2 * ns;
    *ic = *rank_ic = NAN;
    if (d < 1) return 0;
    const double *f = factor + panel_idx(p, d - 1, 0), *ret = run_order_val(ro, d);
    const int *yord = run_order_at(ro, d, &ny);
    /* a pair: a finite factor and a return (both closes, close d-1 != 0) */
    int n = pairs_gather(f, ret, ns, x, y, pos);
    if (n < 2) return n;
    /* every pair's symbol is in both lists (finite factor, valid return) */
    if (order_filter(xord, nx, pos, ox, ns) != n) abort();
    if (n == ny && ro->rank) {
        /* the pairs are every valid return of the date, in symbol order:
         * their ranks are the ones run_order_returns computed once */
        ry = (double *)run_order_rank(ro, d);
    } else {
        if (order_filter(yord, ny, pos, oy, ns) != n) abort();
        metrics_rank_from_order(y, oy, n, ry);
    }
    if (qb && n < qb->q) qb = NULL;
    if (qb) qb->walk = quantile_edges_order(x, ox, n, qb->q, qb->edges);
    /* from about 2^17 pairs on the double sums would round: do them */
    if (n >= 100000) {
        double *rx = scratch + 2 * ns;
        *ic = metrics_pearson(x, y, n);
        metrics_rank_from_order(x, ox, n, rx);
        *rank_ic = metrics_pearson(rx, ry, n);
        if (qb) qb->walk = 0;
    } else {
        double sx, sy;
        int *ax = oy;
        int64_t rxx = rank_scatter(x, y, ox, n, ax, &sx, &sy, qb && qb->walk ? qb : NULL);
        int64_t rxy, ryy, n1 = (int64_t)n + 1;
        double mx = sx / n, my = sy / n, sxy = 0, sxx = 0, syy = 0;
        /* pearson_sums' loop (the same sums in the same order) and each
         * bucket's returns summed in pair order */
        if (qb && qb->walk) {
            const int *bk = qb->bucket;
            for (int k = 0; k < n; k++) {
                double a = x[k] - mx, b = y[k] - my;
                sxy += a * b;
                sxx += a * a;
                syy += b * b;
                dsum[bk[k]] += y[k];
            }
            for (int k = 0; k < qb->q; k++)
                dcnt[k] = (k + 1 < qb->q ? qb->start[k + 1] : n) - qb->start[k];
        } else {
            for (int k = 0; k < n; k++) {
                double a = x[k] - mx, b = y[k] - my;
                sxy += a * b;
                sxx += a * a;
                syy += b * b;
            }
        }
        rank_sums(ax, ry, n, n1, &rxy, &ryy);
        *ic = pearson_r(sxy, sxx, syy);
        if (rxx != 0 && ryy != 0) {
            double r = ((double)rxy / 4) / sqrt(((double)rxx / 4) * ((double)ryy / 4));
            *rank_ic = r > 1 ? 1 : r < -1 ? -1 : r;
        }
    }
    if (qb && !qb->walk) {
        /* edges out of order (or the long path): the bucket scan decides */
        quantile_buckets_order(x, ox, n, qb->q, qb->bucket);
        for (int k = 0; k < n; k++) {
            dsum[qb->bucket[k]] += y[k];
            dcnt[qb->bucket[k]]++;
        }
    }
    return n;
}

void metrics_ic_day(const struct panel *p, const double *factor, int d, const int *xord, int nx,
                    const struct run_order *ro, double *scratch, int *iscratch, double *ic,
                    double *rank_ic, int *n_out) {
    int n = ic_day(p, factor, d, xord, nx, ro, scratch, iscratch, ic, rank_ic, NULL, NULL, NULL);
    if (n_out) *n_out = n;
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

void metrics_factor_stats(const struct panel *p, const double *factor, const struct run_order *fo,
                          const struct run_order *ro, int d0, int d1, int q, double *scratch,
                          int *iscratch, double *ic, double *rank_ic, double *qret) {
    size_t ns = p->nsyms > 0 ? (size_t)p->nsyms : 1;
    double qsum[RUN_MAX_QUANTILES] = {0};
    int qcnt[RUN_MAX_QUANTILES] = {0}, nx = 0;
    struct day_buckets qb;
    qb.q = q;
    qb.bucket = iscratch + 3 * ns;
    for (int d = d0; d <= d1; d++) {
        const int *xl = run_order_at(fo, d - 1, &nx);
        /* mean return per factor quantile over the same (factor, return)
         * pairs, placed by the rank IC's walk in factor order */
        int dcnt[RUN_MAX_QUANTILES] = {0};
        double dsum[RUN_MAX_QUANTILES] = {0};
        int n = ic_day(p, factor, d, xl, nx, ro, scratch, iscratch, &ic[d - d0], &rank_ic[d - d0],
                       &qb, dsum, dcnt);
        if (n < q || n < 2) continue;
        /* alphalens: the mean of each date's bucket mean */
        for (int k = 0; k < q; k++)
            if (dcnt[k]) {
                qsum[k] += dsum[k] / dcnt[k];
                qcnt[k]++;
            }
    }
    for (int k = 0; k < q; k++)
        qret[k] = qcnt[k] ? qsum[k] / qcnt[k] : NAN;
}
