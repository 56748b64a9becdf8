/* strategy_topk.c -- topk_dropout, Qlib's TopkDropoutStrategy rule
 * (method_sell "bottom", method_buy "top", hold_thresh 1, risk_degree 1),
 * deciding and trading at the close:
 *   last  = held names by score, best first (no score = worst)
 *   today = the best (n + k - |last|) scored names not held
 *   comb  = last + today by score; sell = held names among comb's last n
 *   buy   = the first (|sell| + k - |last|) of today
 * Sales turn into cash less cost; the cash is then split equally among the
 * buys (each buy's notional plus its cost uses its share). Held names keep
 * their drifting value (no rebalance). Ties in score break by symbol order. */
#include <math.h>
#include <stdlib.h>

#include "cpu.h"
#include "strategy.h"

/* i before j: best score first, NaN last, then symbol order (a total
 * order). */
static inline int topk_before(const double *score, int i, int j) {
    int in = isnan(score[i]), jn = isnan(score[j]);
    if (in != jn) return jn;
    if (!in && score[i] != score[j]) return score[i] > score[j];
    return i < j;
}

/* Turns each run of equal scores in v[0..n) back to ascending symbols: a
 * walk down the ascending (score, symbol) order lists them descending. */
static void reverse_ties(const double *score, int *v, int n) {
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && score[v[j]] == score[v[i]])
            j++;
        for (int a = i, z = j - 1; a < z; a++, z--) {
            int t = v[a];
            v[a] = v[z];
            v[z] = t;
        }
        i = j;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TOPK_AVX512 1

/* The walk for the held names alone, 16 names of the order at a time
 * (down from *i, while nl < nheld): their positions gathered, the held
 * ones' symbols compressed into last[nl..] in walk order. A block past the
 * last held name adds nothing, so it may overrun; it leaves *i at the
 * first name not looked at and returns nl. */
__attribute__((target("avx512f"))) static int
held_walk_avx512(const double *pos, const int *list, int *i, int nl, int nheld, int *last) {
    const __m512i rev = _mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512d zero = _mm512_setzero_pd();
    int j = *i;
    for (; j >= 15 && nl < nheld; j -= 16) {
        __m512i ridx = _mm512_permutexvar_epi32(rev, _mm512_loadu_si512(list + j - 15));
        __m512d lo = _mm512_i32gather_pd(_mm512_castsi512_si256(ridx), pos, 8),
                hi = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(ridx, 1), pos, 8);
        __mmask16 h = (__mmask16)(_mm512_cmp_pd_mask(lo, zero, _CMP_GT_OQ) |
                                  (unsigned)_mm512_cmp_pd_mask(hi, zero, _CMP_GT_OQ) << 8);
        /* a full store of the compressed lanes: last has room (nl + 16 <=
         * nlist), and a masked compress to memory would stall the reads */
        _mm512_storeu_si512(last + nl, _mm512_maskz_compress_epi32(h, ridx));
        nl += __builtin_popcount(h);
    }
    *i = j;
    return nl;
}
#endif

/* The held names with a score (nheld of them) into last and the best `want`
 * candidates (not held, a bar today, a finite score) into cand, each in
 * topk_before's order: the factor's ascending (score, symbol) order read
 * backwards, each run of equal scores then turned back to ascending
 * symbols. One walk instead of a sort of the held names; it stops once it
 * has both, though not inside the run of the last candidate's score,
 * since the lowest symbols of that run are the ones wanted. cand needs
 * room for nlist names. Returns how many candidates (fewer than want when
 * the date has fewer). */
static int topk_walk(const struct run_book *b, const double *score, const double *crow,
                     const int *list, int nlist, int nheld, int *last, int want, int *cand) {
    int nc = 0, nl = 0, i = nlist - 1;
    /* Whether a name is held is a coin flip by rank, so each name is
     * written to both lists and kept by a count that only moves when it
     * belongs (both lists have room: at most nlist names are visited).
     * While candidates are wanted, any unheld tradable name is one. */
    for (; i >= 0 && nc < want; i--) {
        int s = list[i], h = b->pos[s] > 0;
        last[nl] = s;
        nl += h;
        cand[nc] = s;
        nc += (h == 0) & (isfinite(crow[s]) != 0) & (isfinite(score[s]) != 0);
    }
    /* past want, candidates still come while the score is the want-th's:
     * the run of equal scores goes on right here (the order is by value) */
    if (want > 0 && nc >= want) {
        double ref = score[cand[want - 1]];
        for (; i >= 0 && score[list[i]] == ref; i--) {
            int s = list[i], h = b->pos[s] > 0;
            last[nl] = s;
            nl += h;
            if (!h && isfinite(crow[s]) && isfinite(score[s])) cand[nc++] = s;
        }
    }
    /* then on until every held name is found: only them now */
#ifdef TOPK_AVX512
    if (cpu_level() >= CPU_AVX512) nl = held_walk_avx512(b->pos, list, &i, nl, nheld, last);
#endif
    for (; i >= 0 && nl < nheld; i--) {
        int s = list[i];
        last[nl] = s;
        nl += b->pos[s] > 0;
    }
    reverse_ties(score, last, nl);
    reverse_ties(score, cand, nc);
    return nc < want ? nc : want;
}

void strategy_topk_step(struct run_book *b, const struct panel *p, const double *factor,
                        const struct run_order *order, int d, const struct run_params *prm,
                        int *iscratch, struct run_day *out) {
    const double *close = p->f[PF_CLOSE];
    const double *score = factor + panel_idx(p, d, 0), *crow = close + panel_idx(p, d, 0);
    int ns = p->nsyms, nlast = 0, ncand = 0, k = prm->k, ndrop = prm->n, nlist = 0, nheld = 0;
    int *last = iscratch, *cand = iscratch + ns, *comb = iscratch + 2 * ns;
    double c = prm->cost_bps * 1e-4, traded = 0;
    /* the names with a position, in symbol order (comb is free until the
     * merge): only they move when marked */
    nheld = strategy_held(b, comb);
    strategy_mark_list(b, p, d, comb, nheld);
    /* held names: about k of them, their scores possibly NaN or infinite */
    int nscored = 0;
    for (int i = 0; i < nheld; i++) {
        int s = comb[i];
        nlast += b->pos[s] > 0;
        nscored += b->pos[s] > 0 && !isnan(score[s]);
    }
    const int *list = run_order_at(order, d, &nlist);
    if (!list) abort(); /* run_pair_shared always passes an order covering d */
    int want = ndrop + k - nlast;
    ncand = topk_walk(b, score, crow, list, nlist, nscored, last, want < 0 ? 0 : want, cand);
    /* then the held names without a score, in symbol order */
    for (int i = 0, m = nscored; i < nheld; i++) {
        int s = comb[i];
        if (b->pos[s] > 0 && isnan(score[s])) last[m++] = s;
    }
    int ntoday = ndrop + k - nlast;
    ntoday = ntoday < 0 ? 0 : ntoday > ncand ? ncand : ntoday;
    /* last and today are each sorted and disjoint: merging them is sorting
     * their union under the same total order */
    int ncomb = 0, il = 0, it = 0;
    while (il < nlast || it < ntoday) {
        if (it == ntoday || (il < nlast && topk_before(score, last[il], cand[it])))
            comb[ncomb++] = last[il++];
        else
            comb[ncomb++] = cand[it++];
    }
    /* sell: held names in the last ndrop of comb (Qlib counts them as sold
     * even when they cannot trade today; they are then simply kept) */
    int nsell = 0;
    for (int i = ncomb - ndrop < 0 ? 0 : ncomb - ndrop; i < ncomb; i++) {
        int s = comb[i];
        if (b->pos[s] <= 0) continue;
        nsell++;
        if (!isfinite(close[panel_idx(p, d, s)])) continue;
        traded += b->pos[s];
        b->cash += b->pos[s] - b->pos[s] * c;
        b->pos[s] = 0;
    }
    int nbuy = nsell + k - nlast;
    nbuy = nbuy < 0 ? 0 : nbuy > ntoday ? ntoday : nbuy;
    if (nbuy > 0 && b->cash > 0) {
        double share = b->cash / nbuy, notional = share / (1.0 + c);
        for (int i = 0; i < nbuy; i++) {
            b->pos[cand[i]] = notional;
            /* bought at this close, which is what a mark would have kept */
            b->last_close[cand[i]] = crow[cand[i]];
            traded += notional;
        }
        b->cash -= share * nbuy;
        if (b->cash < 0) b->cash = 0; /* rounding dust, never a real debt */
    }
    b->value = strategy_book_sum(b, comb, strategy_held(b, comb));
    out->value = b->value;
    out->traded = traded;
}
