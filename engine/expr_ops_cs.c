/* expr_ops_cs.c -- cross-sectional operators: each date's row on its own,
 * over the symbols whose value is not NaN that day (NaN cells stay NaN).
 * Rows being independent, ranges of dates go to engine/par.h's threads. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "expr_int.h"
#include "sort_key.h"
#include "strategy_sort.h"

/* LSD radix sort of it[0..m) by key, 8 bits a pass: all eight histograms
 * in one read, passes where every key has the same digit skipped, and the
 * two buffers swapped rather than copied. No comparator calls, which
 * dominated rank with qsort. tmp holds m items; the result may end in
 * either buffer and is returned. */
static struct expr_cs_item *radix_sort(struct expr_cs_item *it, struct expr_cs_item *tmp, int m) {
    static const int digits = 8;
    uint32_t count[8][256];
    memset(count, 0, sizeof count);
    for (int i = 0; i < m; i++) {
        uint64_t k = it[i].k;
        for (int d = 0; d < digits; d++)
            count[d][(k >> (8 * d)) & 0xff]++;
    }
    for (int d = 0; d < digits && m > 0; d++) {
        uint32_t *c = count[d];
        if (c[(it[0].k >> (8 * d)) & 0xff] == (uint32_t)m) continue;
        uint32_t pos = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t n = c[b];
            c[b] = pos;
            pos += n;
        }
        for (int i = 0; i < m; i++)
            tmp[c[(it[i].k >> (8 * d)) & 0xff]++] = it[i];
        struct expr_cs_item *sw = it;
        it = tmp;
        tmp = sw;
    }
    return it;
}

/* Bits of a packed item below the key: the symbol. Keys then keep their top
 * 24 bits (sign, exponent, 12 mantissa bits: 2.4e-4 relative), so that
 * three byte passes sort them - usually two, the top byte being mostly
 * constant; runs of items whose truncated keys collide are then put in full
 * order (short runs by insertion, long ones by a radix sort of the run). */
enum { PACK_BITS = 40, RUN_INSERTION = 16 };

/* Scratch of rank for rows of up to n symbols. */
struct rank_scratch {
    uint64_t *full;          /* n full keys, by symbol */
    uint64_t *a, *b;         /* n packed items each */
    struct expr_cs_item *it; /* 2n items for long runs */
    double *pct;             /* pct[g+1+h]: the rank of ties g..h-1 of pct_m */
    int pct_m;               /* count pct was built for, -1 before */
    int *sym;                /* AVX-512 way: n sorted symbols */
    double *vals;            /* and n + 1 values in sorted order */
};

/* The percentile of a tie group at sorted positions g..h-1 of m values is
 * pct[g+1+h] = (g+1+h)/2/m: built once per distinct m (most rows of a panel
 * share it) so the per-item work is a lookup, not a division. The same
 * expression gives the same bits. */
static const double *rank_pct(struct rank_scratch *sc, int m) {
    if (sc->pct_m != m) {
        for (int k = 0; k <= 2 * m; k++)
            sc->pct[k] = k / 2.0 / m;
        sc->pct_m = m;
    }
    return sc->pct;
}

/* LSD radix sort of m packed items by their bits PACK_BITS..63, a byte a
 * pass, passes with one digit for all skipped. 8-byte items and two or
 * three passes instead of 24-byte items and eight: rank is the evaluator's
 * hottest kernel. The items are cut in two halves, each with its own
 * counts and write positions, walked side by side: a bucket counter
 * incremented twice in a row waits on its own store, and neighbouring keys
 * share buckets often, so two independent chains run about twice as fast.
 * The sort stays stable (the first half's items go first in each bucket),
 * so the order is the same. varying has the bits set in which some keys
 * differ: a top digit equal for all (the usual case) is not even counted.
 * The result ends in either buffer and is returned. */
static uint64_t *radix_sort_packed(uint64_t *a, uint64_t *tmp, int m, uint64_t varying) {
    enum { LO = PACK_BITS / 8, NDIG = 8 - PACK_BITS / 8 };
    int nd = NDIG;
    uint32_t count[2][NDIG][256], first[4][256], c1[256];
    _Static_assert(NDIG == 3, "histogram loops below are unrolled for three digits");
    int h = m / 2;
    if (!(varying >> 56)) { /* top digit the same for all (usual): skip it */
        memset(count[0], 0, 2 * sizeof count[0][0]);
        memset(count[1], 0, 2 * sizeof count[1][0]);
        for (int i = 0; i < h; i++) {
            uint64_t k = a[i] >> (8 * LO), q = a[h + i] >> (8 * LO);
            count[0][0][k & 0xff]++;
            count[1][0][q & 0xff]++;
            count[0][1][(k >> 8) & 0xff]++;
            count[1][1][(q >> 8) & 0xff]++;
        }
        if (m & 1) {
            uint64_t q = a[m - 1] >> (8 * LO);
            count[1][0][q & 0xff]++;
            count[1][1][(q >> 8) & 0xff]++;
        }
        nd = 2;
    } else
        memset(count, 0, sizeof count);
    for (int i = 0; i < h && nd == NDIG; i++) { /* two tables, summed below: two chains */
        uint64_t k = a[i] >> (8 * LO), q = a[h + i] >> (8 * LO);
        count[0][0][k & 0xff]++;
        count[1][0][q & 0xff]++;
        count[0][1][(k >> 8) & 0xff]++;
        count[1][1][(q >> 8) & 0xff]++;
        count[0][2][(k >> 16) & 0xff]++;
        count[1][2][(q >> 16) & 0xff]++;
    }
    if ((m & 1) && nd == NDIG) {
        uint64_t q = a[m - 1] >> (8 * LO);
        count[1][0][q & 0xff]++;
        count[1][1][(q >> 8) & 0xff]++;
        count[1][2][(q >> 16) & 0xff]++;
    }
    for (int d = 0; d < nd && m > 0; d++) {
        uint32_t *c0 = count[0][d], *other = count[1][d];
        int sh = 8 * (d + LO);
        if (!((varying >> sh) & 0xff)) continue;
        unsigned b0 = (unsigned)((a[0] >> sh) & 0xff);
        if (c0[b0] + other[b0] == (uint32_t)m) continue;
        /* the halves' members change every pass: count the first's now, in
         * four tables (four chains: neighbours often share a bucket) */
        memset(first, 0, sizeof first);
        int q = h / 4;
        for (int i = 0; i < q; i++) {
            first[0][(a[i] >> sh) & 0xff]++;
            first[1][(a[q + i] >> sh) & 0xff]++;
            first[2][(a[2 * q + i] >> sh) & 0xff]++;
            first[3][(a[3 * q + i] >> sh) & 0xff]++;
        }
        for (int i = 4 * q; i < h; i++)
            first[0][(a[i] >> sh) & 0xff]++;
        uint32_t pos = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t total = c0[b] + other[b];
            c0[b] = pos;
            c1[b] = pos + first[0][b] + first[1][b] + first[2][b] + first[3][b];
            pos += total;
        }
        for (int i = 0; i < h; i++) {
            uint64_t k = a[i], q = a[h + i];
            tmp[c0[(k >> sh) & 0xff]++] = k;
            tmp[c1[(q >> sh) & 0xff]++] = q;
        }
        if (m & 1) {
            uint64_t q = a[m - 1];
            tmp[c1[(q >> sh) & 0xff]++] = q;
        }
        uint64_t *sw = a;
        a = tmp;
        tmp = sw;
    }
    return a;
}

/* Puts a run of n packed items whose truncated keys are equal in full-key
 * order: insertion sort when short (or exact ties, already in order), else
 * a radix sort of the run's full keys, so the worst case stays linear. */
static void sort_run_full(const uint64_t *full, uint64_t *a, int n, struct expr_cs_item *it) {
    const uint64_t idx_mask = ((uint64_t)1 << PACK_BITS) - 1;
    if (n > RUN_INSERTION) {
        for (int k = 0; k < n; k++) {
            it[k].i = (int)(a[k] & idx_mask);
            it[k].k = full[it[k].i];
            it[k].v = 0; /* unused: equal keys are equal values */
        }
        struct expr_cs_item *r = radix_sort(it, it + n, n);
        for (int k = 0; k < n; k++)
            a[k] = (uint64_t)r[k].i;
        return;
    }
    for (int i = 1; i < n; i++) {
        uint64_t v = a[i], k = full[v & idx_mask];
        int j = i - 1;
        while (j >= 0 && full[a[j] & idx_mask] > k) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* Keys of row x: full[s] for every symbol, o[] all NaN, and a[0..m) the
 * packed items of the non-NaN values in symbol order; *varying gets the
 * bits in which the packed keys differ. Returns m. */
static int rank_keys(const double *x, int n, double *o, uint64_t *full, uint64_t *a,
                     uint64_t *varying) {
    const uint64_t idx_mask = ((uint64_t)1 << PACK_BITS) - 1;
    uint64_t any = 0, all = ~(uint64_t)0;
    int m = 0;
    for (int s = 0; s < n; s++) {
        double v = x[s];
        uint64_t k = sort_key(v), item = (k & ~idx_mask) | (uint64_t)s;
        full[s] = k;
        o[s] = NAN;
        a[m] = item;
        if (v == v) any |= item, all &= item;
        m += v == v;
    }
    *varying = (any ^ all) & ~idx_mask;
    return m;
}

/* Sorted items a[i..j) share their truncated key (j > i+1): puts them in
 * full-key order and writes their ranks, ties averaged. */
static void rank_run(const uint64_t *full, uint64_t *a, int i, int j, const double *pct, double *o,
                     struct expr_cs_item *it) {
    const uint64_t idx_mask = ((uint64_t)1 << PACK_BITS) - 1;
    uint64_t k0 = full[a[i] & idx_mask];
    int all_eq = 1;
    for (int k = i + 1; k < j && all_eq; k++)
        all_eq = full[a[k] & idx_mask] == k0;
    if (!all_eq) sort_run_full(full, a + i, j - i, it);
    for (int g = i; g < j;) { /* average ranks of exact ties */
        int h = g + 1;
        uint64_t kg = full[a[g] & idx_mask];
        while (h < j && full[a[h] & idx_mask] == kg)
            h++;
        double r = pct[g + 1 + h]; /* mean of ranks g+1..h, over m */
        for (int k = g; k < h; k++)
            o[a[k] & idx_mask] = r;
        g = h;
    }
}

/* Ranks of the sorted items a[0..m) into o. */
static void rank_walk(const uint64_t *full, uint64_t *a, int m, const double *pct, double *o,
                      struct expr_cs_item *it) {
    const uint64_t idx_mask = ((uint64_t)1 << PACK_BITS) - 1;
    for (int i = 0; i < m;) {
        int j = i + 1;
        while (j < m && (a[j] >> PACK_BITS) == (a[i] >> PACK_BITS))
            j++;
        if (j == i + 1) /* the common case: a value alone in its bin */
            o[a[i] & idx_mask] = pct[i + 1 + j];
        else
            rank_run(full, a, i, j, pct, o, it);
        i = j;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CS_AVX512 __attribute__((target("avx512f")))

/* Ranks of the sorted symbols sym[0..m) of row x into o, runs of equal
 * values averaged. Values are gathered in sorted order first (vals: m + 1,
 * a NaN after the last so no run reaches past it); then eight positions a
 * step, from the start of a run: those before the first value equal to its
 * successor are alone in their runs and get pct[2k + 2] (the mean of rank
 * k + 1 alone) by one scatter; a run of ties goes the scalar way. */
CS_AVX512 static void rank_walk_sorted(const double *x, const int *sym, int m, const double *pct,
                                       double *o, double *vals) {
    int i = 0;
    for (; i + 8 <= m; i += 8)
        _mm512_storeu_pd(vals + i,
                         _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(sym + i)), x, 8));
    for (; i < m; i++)
        vals[i] = x[sym[i]];
    vals[m] = NAN;
    const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    for (i = 0; i < m;) {
        if (i + 8 <= m) {
            __mmask8 eq = _mm512_cmp_pd_mask(_mm512_loadu_pd(vals + i),
                                             _mm512_loadu_pd(vals + i + 1), _CMP_EQ_OQ);
            /* pct[2i + 2], pct[2i + 4], ...: the even entries of 16 */
            __m512d r = _mm512_permutex2var_pd(_mm512_loadu_pd(pct + 2 * i + 2), even,
                                               _mm512_loadu_pd(pct + 2 * i + 10));
            __m256i s = _mm256_loadu_si256((const __m256i *)(sym + i));
            if (!eq) {
                _mm512_i32scatter_pd(o, s, r, 8);
                i += 8;
                continue;
            }
            int t = __builtin_ctz(eq);
            _mm512_mask_i32scatter_pd(o, (__mmask8)((1u << t) - 1), s, r, 8);
            i += t;
        }
        int j = i + 1;
        while (vals[j] == vals[i])
            j++;
        double r = pct[i + 1 + j]; /* mean of ranks i+1..j, over m */
        for (int k = i; k < j; k++)
            o[sym[k]] = r;
        i = j;
    }
}

/* rank_row with AVX-512: strategy_sort.c's bitonic sort orders the row's
 * non-NaN symbols by (sort_key, symbol) in about half the radix way's
 * time. Equal values are exactly equal keys (-0 == 0, and sort_key folds
 * -0), so runs of equal values are the radix way's tie groups and the
 * ranks come out the same, bit for bit. */
static void rank_row_sorted(const double *x, int n, double *o, struct rank_scratch *sc) {
    for (int s = 0; s < n; s++)
        o[s] = NAN;
    int m = sort_order_row_avx512(x, n, sc->sym, sc->a);
    if (m == 0) return;
    rank_walk_sorted(x, sc->sym, m, rank_pct(sc, m), o, sc->vals);
}
#define CS_HAVE_SORTED 1
#endif

/* pandas rank(pct=True): average rank of ties (1-based) / count. Keys are
 * equal exactly when values are (-0 folded), so ties are found on keys. */
static void rank_row(const double *x, int n, double *o, struct rank_scratch *sc) {
#ifdef CS_HAVE_SORTED
    if (cpu_level() >= CPU_AVX512) {
        rank_row_sorted(x, n, o, sc);
        return;
    }
#endif
    uint64_t varying;
    int m = rank_keys(x, n, o, sc->full, sc->a, &varying);
    if (m == 0) return;
    uint64_t *a = radix_sort_packed(sc->a, sc->b, m, varying);
    const double *pct = rank_pct(sc, m);
    rank_walk(sc->full, a, m, pct, o, sc->it);
}

/* Mean and sample std (ddof 1) of the non-NaN values; count in *cnt. */
static void row_moments(const double *x, int n, double *mean, double *sd, int *cnt) {
    double sum = 0;
    int c = 0;
    for (int s = 0; s < n; s++)
        if (x[s] == x[s]) sum += x[s], c++;
    *cnt = c;
    *mean = c ? sum / c : NAN;
    double ss = 0;
    for (int s = 0; s < n; s++)
        if (x[s] == x[s]) ss += (x[s] - *mean) * (x[s] - *mean);
    *sd = c > 1 ? sqrt(ss / (c - 1)) : NAN;
}

static void cs_row(int op, double arg, const double *x, int n, double *o, struct rank_scratch *sc) {
    double mean, sd, sum = 0;
    int cnt;
    switch (op) {
    case EOP_RANK: rank_row(x, n, o, sc); return;
    case EOP_ZSCORE:
        row_moments(x, n, &mean, &sd, &cnt);
        for (int s = 0; s < n; s++)
            o[s] = sd > 0 ? (x[s] - mean) / sd : NAN;
        return;
    case EOP_DEMEAN:
        row_moments(x, n, &mean, &sd, &cnt);
        for (int s = 0; s < n; s++)
            o[s] = x[s] - mean;
        return;
    case EOP_SCALE:
        for (int s = 0; s < n; s++)
            if (x[s] == x[s]) sum += fabs(x[s]);
        for (int s = 0; s < n; s++) {
            double v = sum > 0 ? x[s] * arg / sum : NAN;
            o[s] = isfinite(v) ? v : NAN;
        }
        return;
    default:
        for (int s = 0; s < n; s++)
            o[s] = NAN;
        return;
    }
}

/* Rows 0..ndates-1 of x into out, with scratch of its own. */
static void cs_rows(int op, double arg, const double *x, int ndates, int nsyms, double *out) {
    size_t n = (size_t)nsyms + 1;
    struct rank_scratch sc;
    sc.full = malloc(3 * n * sizeof *sc.full);
    sc.it = malloc(2 * n * sizeof *sc.it);
    sc.pct = calloc(2 * n + 16, sizeof *sc.pct); /* + 16: rank_walk_sorted reads ahead */
    sc.sym = malloc(n * sizeof *sc.sym);
    sc.vals = malloc(n * sizeof *sc.vals);
    sc.pct_m = -1;
    if (!sc.full || !sc.it || !sc.pct || !sc.sym || !sc.vals) abort();
    sc.a = sc.full + n;
    sc.b = sc.a + n;
    for (int t = 0; t < ndates; t++) {
        size_t off = (size_t)t * (size_t)nsyms;
        cs_row(op, arg, x + off, nsyms, out + off, &sc);
    }
    free(sc.full);
    free(sc.it);
    free(sc.pct);
    free(sc.sym);
    free(sc.vals);
}

/* Rows are independent: one contiguous range of dates per task. */
struct cs_job {
    int op, ndates, nsyms, ntasks;
    double arg;
    const double *x;
    double *out;
};

static void cs_task(void *ctx, int task, int worker) {
    const struct cs_job *j = ctx;
    size_t lo = expr_split((size_t)j->ndates, j->ntasks, task);
    size_t hi = expr_split((size_t)j->ndates, j->ntasks, task + 1), off = lo * (size_t)j->nsyms;
    (void)worker;
    cs_rows(j->op, j->arg, j->x + off, (int)(hi - lo), j->nsyms, j->out + off);
}

void expr_eval_cs(int op, double arg, const double *x, int ndates, int nsyms, double *out) {
    struct cs_job j = {op, ndates, nsyms, 1, arg, x, out};
    if (ndates > 0 && nsyms > 0) j.ntasks = expr_par_tasks((size_t)ndates * (size_t)nsyms);
    if (j.ntasks > ndates) j.ntasks = ndates;
    if (j.ntasks < 1) j.ntasks = 1;
    par_run(j.ntasks, cs_task, &j);
}
