/* strategy_lsq.c -- long_short_quantile: each close, long the top factor
 * quantile and short the bottom one, equal weights, each leg half of the
 * portfolio value (gross 1, dollar-neutral); cost_bps on traded notional.
 * Positions are signed currency exposures that drift with their prices. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "strategy.h"

/* cond ? a : b through bit masks, so that the compiler cannot turn it
 * back into a branch. */
static inline double select_bits(int cond, double a, double b) {
    uint64_t ua, ub, m = (uint64_t)0 - (uint64_t)(cond != 0);
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

double strategy_mark_list(struct run_book *b, const struct panel *p, int d, const int *list,
                          int n) {
    const double *close = p->f[PF_CLOSE] + panel_idx(p, d, 0);
    double pnl = 0;
    for (int i = 0; i < n; i++) {
        int s = list[i];
        double c = close[s], lc = b->last_close[s], pos = b->pos[s];
        if (!isfinite(c)) continue;
        /* Whether a listed name can be marked (a last close to mark from) is
         * a coin flip the branch predictor would lose, so every name goes
         * through the same arithmetic and one that cannot gains -0.0: adding
         * -0.0 is the exact identity (x + -0.0 == x bit for bit, zeros
         * included), so pnl and pos are untouched. The division of such a
         * name may give inf or NaN: it is dropped. */
        int held = (pos != 0) & (isfinite(lc) != 0) & (lc != 0);
        double r = c / lc - 1.0;
        double gain = select_bits(held, pos * r, -0.0);
        pnl += gain;
        b->pos[s] = pos + gain;
        b->last_close[s] = c;
    }
    return pnl;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LSQ_AVX512 1

/* isfinite of 8 doubles: fpclass 0x99 is a NaN (quiet, signalling) or an
 * infinity. */
__attribute__((target("avx512f,avx512dq"))) static inline __mmask8 finite8(__m512d x) {
    return (__mmask8)~_mm512_fpclass_pd_mask(x, 0x99);
}

/* Lanes i < n of a block of 8 starting at 0. */
__attribute__((target("avx512f"))) static inline __mmask8 tail8(int n) {
    return n >= 8 ? 0xff : (__mmask8)((1u << n) - 1);
}

/* strategy_held, 8 symbols at a time: the held ones' numbers compressed
 * into list (no branch per symbol, no store per symbol). */
__attribute__((target("avx512f,avx512dq,avx512vl"))) static int
held_avx512(const struct run_book *b, int *list) {
    int n = 0;
    const __m256i step = _mm256_set1_epi32(8);
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int s = 0; s < b->nsyms; s += 8) {
        __mmask8 k = tail8(b->nsyms - s);
        __m512d ps = _mm512_maskz_loadu_pd(k, b->pos + s);
        __mmask8 h = k & _mm512_cmp_pd_mask(ps, _mm512_setzero_pd(), _CMP_NEQ_UQ);
        /* before the last block a full store of the compressed lanes fits
         * (n + 8 <= s + 8 <= nsyms) and, unlike a compress to memory, lets
         * the reads that follow take the values straight from the store */
        if (k == 0xff)
            _mm256_storeu_si256((__m256i *)(list + n), _mm256_maskz_compress_epi32(h, idx));
        else
            _mm256_mask_compressstoreu_epi32(list + n, h, idx);
        n += __builtin_popcount(h);
        idx = _mm256_add_epi32(idx, step);
    }
    return n;
}

/* long_short_quantile's mark, 8 symbols at a time: for every symbol with
 * a bar, what strategy_mark_list does to a held one (a name without a
 * position would only gain -0.0, which changes nothing, so it is left as
 * it is) and the bar recorded as its last close. The gains of the names
 * marked go, in symbol order, into gain (nsyms doubles); returns how many,
 * and *ntrade the symbols with a bar and a finite factor value. */
__attribute__((target("avx512f,avx512dq,avx512vl"))) static int
lsq_mark_avx512(struct run_book *b, const double *crow, const double *frow, double *gain,
                int *ntrade) {
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    int n = 0, nt = 0;
    for (int s = 0; s < b->nsyms; s += 8) {
        __mmask8 k = tail8(b->nsyms - s);
        __m512d c = _mm512_maskz_loadu_pd(k, crow + s), f = _mm512_maskz_loadu_pd(k, frow + s),
                lc = _mm512_maskz_loadu_pd(k, b->last_close + s),
                ps = _mm512_maskz_loadu_pd(k, b->pos + s);
        __mmask8 bar = k & finite8(c);
        __mmask8 held = bar & _mm512_cmp_pd_mask(ps, zero, _CMP_NEQ_UQ) & finite8(lc) &
                        _mm512_cmp_pd_mask(lc, zero, _CMP_NEQ_UQ);
        __m512d g = _mm512_mul_pd(ps, _mm512_sub_pd(_mm512_div_pd(c, lc), one));
        _mm512_mask_storeu_pd(b->pos + s, held, _mm512_add_pd(ps, g));
        _mm512_mask_storeu_pd(b->last_close + s, bar, c);
        if (k == 0xff) /* as in held_avx512 */
            _mm512_storeu_pd(gain + n, _mm512_maskz_compress_pd(held, g));
        else
            _mm512_mask_compressstoreu_pd(gain + n, held, g);
        n += __builtin_popcount(held);
        nt += __builtin_popcount(bar & finite8(f));
    }
    *ntrade = nt;
    return n;
}

/* The trades of long_short_quantile when the two end buckets are value
 * ranges (at or below lo, above hi), 8 symbols at a time: each tradable
 * name's new exposure, and each |target - pos| that is not +0.0 (adding
 * +0.0 to the traded sum, which is never -0.0, changes nothing) into dist
 * in symbol order; returns how many. */
__attribute__((target("avx512f,avx512dq,avx512vl"))) static int
lsq_trade_avx512(struct run_book *b, const double *crow, const double *frow, double lo, double hi,
                 double tlong, double tshort, double *dist) {
    const __m512d zero = _mm512_setzero_pd(), vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi),
                  vl = _mm512_set1_pd(tlong), vs = _mm512_set1_pd(tshort);
    int n = 0;
    for (int s = 0; s < b->nsyms; s += 8) {
        __mmask8 k = tail8(b->nsyms - s);
        __m512d c = _mm512_maskz_loadu_pd(k, crow + s), f = _mm512_maskz_loadu_pd(k, frow + s),
                ps = _mm512_maskz_loadu_pd(k, b->pos + s);
        __mmask8 tr = k & finite8(c) & finite8(f);
        __mmask8 top = _mm512_cmp_pd_mask(f, vhi, _CMP_GT_OQ),
                 bottom = _mm512_cmp_pd_mask(f, vlo, _CMP_LE_OQ);
        __m512d target = _mm512_mask_mov_pd(_mm512_mask_mov_pd(zero, bottom, vs), top, vl);
        __m512d dd = _mm512_abs_pd(_mm512_sub_pd(target, ps));
        _mm512_mask_storeu_pd(b->pos + s, tr, target);
        __mmask8 keep = tr & _mm512_cmp_pd_mask(dd, zero, _CMP_NEQ_UQ);
        if (k == 0xff) /* as in held_avx512 */
            _mm512_storeu_pd(dist + n, _mm512_maskz_compress_pd(keep, dd));
        else
            _mm512_mask_compressstoreu_pd(dist + n, keep, dd);
        n += __builtin_popcount(keep);
    }
    return n;
}
#endif

int strategy_held(const struct run_book *b, int *list) {
#ifdef LSQ_AVX512
    if (cpu_level() >= CPU_AVX512) return held_avx512(b, list);
#endif
    int n = 0;
    for (int s = 0; s < b->nsyms; s++) {
        list[n] = s;
        n += b->pos[s] != 0;
    }
    return n;
}

double strategy_book_sum(const struct run_book *b, const int *list, int n) {
    double v = b->cash;
    for (int i = 0; i < n; i++)
        v += b->pos[list[i]];
    /* the names left out hold +-0.0, whose sum changes nothing unless v
     * is -0.0: then add them the long way */
    if (v == 0 && signbit(v)) {
        v = b->cash;
        for (int s = 0; s < b->nsyms; s++)
            v += b->pos[s];
    }
    return v;
}

/* How many of the n values frow[list[0..n)], ascending and none NaN, are
 * <= v: the length of the run a walk from the bottom would count, found
 * by bisection since the test only turns from true to false once. */
static int count_le(const double *frow, const int *list, int n, double v) {
    int lo = 0, hi = n; /* the first index whose value is > v lies in [lo, hi] */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (frow[list[mid]] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void strategy_lsq_step(struct run_book *b, const struct panel *p, const double *factor,
                       const struct run_order *order, int d, const struct run_params *prm,
                       double *scratch, int *iscratch, struct run_day *out) {
    int ns = p->nsyms, n = 0, q = prm->quantiles, nlist = 0;
    double *x = scratch, *spill = scratch + ns;
    int *sym = iscratch, *bucket = iscratch + ns, *pos = iscratch + 2 * ns,
        *ord = iscratch + 3 * ns, *held = iscratch + 4 * ns;
    const double *frow = factor + panel_idx(p, d, 0), *crow = p->f[PF_CLOSE] + panel_idx(p, d, 0);
    int nlong = 0, nshort = 0, ends = 0, vec = 0;
    double elo = 0, ehi = 0;
#ifdef LSQ_AVX512
    vec = cpu_level() >= CPU_AVX512;
#endif
    (void)spill; /* the AVX-512 path's sums wait there */
    /* only the names with a position move; every bar is the name's last
     * close, held or not */
    if (vec) {
#ifdef LSQ_AVX512
        double pnl = 0;
        int ng = lsq_mark_avx512(b, crow, frow, spill, &n);
        for (int i = 0; i < ng; i++)
            pnl += spill[i];
        b->value += pnl;
#endif
    } else {
        b->value += strategy_mark_list(b, p, d, held, strategy_held(b, held));
    }
    /* the common case, every name the order lists tradable today (a bar
     * and a finite value): the order is itself the values ascending, and
     * the end buckets are two value ranges (vec: n counted the tradable) */
    const int *list = n >= 2 ? run_order_at(order, d, &nlist) : NULL;
    if (vec && list && nlist == n && quantile_ends(frow, list, n, q, &elo, &ehi)) {
        ends = 1;
        nshort = count_le(frow, list, n, elo);
        nlong = n - count_le(frow, list, n, ehi);
    } else {
        vec = 0;
        n = 0;
        /* tradable today: a bar and a factor value */
        for (int s = 0; s < ns; s++) {
            pos[s] = -1;
            if (isfinite(crow[s])) {
                b->last_close[s] = crow[s];
                if (isfinite(frow[s])) {
                    x[n] = frow[s];
                    sym[n] = s;
                    pos[s] = n++;
                }
            }
        }
    }
    if (!vec && n >= 2) {
        /* the same values ascending: the factor's order, filtered alike */
        list = run_order_at(order, d, &nlist);
        int m = 0;
        for (int i = 0; i < nlist; i++)
            if (pos[list[i]] >= 0) ord[m++] = pos[list[i]];
        if (m != n) abort(); /* the order must be this factor's, covering d */
        if (quantile_ends(x, ord, n, q, &elo, &ehi)) {
            /* the two end buckets are the ends of the sorted values */
            ends = 1;
            while (nshort < n && x[ord[nshort]] <= elo)
                nshort++;
            while (nlong < n && x[ord[n - 1 - nlong]] > ehi)
                nlong++;
        } else {
            quantile_buckets_order(x, ord, n, q, bucket);
            for (int k = 0; k < n; k++) {
                nlong += bucket[k] == q - 1;
                nshort += bucket[k] == 0;
            }
        }
    }
    double v = b->value, traded = 0;
    /* the two targets, divided once (the same expressions, so the same bits) */
    int trade = nlong > 0 && nshort > 0;
    double tlong = trade ? 0.5 * v / nlong : 0, tshort = trade ? -0.5 * v / nshort : 0;
    if (vec) {
#ifdef LSQ_AVX512
        int nd = lsq_trade_avx512(b, crow, frow, elo, ehi, tlong, tshort, spill);
        for (int i = 0; i < nd; i++)
            traded += spill[i];
#endif
    } else {
        /* the buckets fall in no pattern by symbol: the target is picked,
         * not branched on (without a trade both targets are 0) */
        for (int k = 0; k < n; k++) {
            int s = sym[k];
            int top = ends ? x[k] > ehi : bucket[k] == q - 1,
                bottom = ends ? x[k] <= elo : bucket[k] == 0;
            double target = select_bits(top, tlong, select_bits(bottom, tshort, 0.0));
            traded += fabs(target - b->pos[s]);
            b->pos[s] = target;
        }
    }
    /* names without a bar today cannot trade: they keep their exposure */
    b->value -= traded * prm->cost_bps * 1e-4;
    out->value = b->value;
    out->traded = traded;
}
