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

#include "strategy.h"
#include "strategy_sort.h"

/* i before j: best score first, NaN last, then symbol order (a total
 * order). */
static inline int topk_before(const double *score, int i, int j) {
    int in = isnan(score[i]), jn = isnan(score[j]);
    if (in != jn) return jn;
    if (!in && score[i] != score[j]) return score[i] > score[j];
    return i < j;
}

STRATEGY_SORT_DEFINE(topk_sort, topk_before)

/* The best `want` candidates (not held, a bar today, a finite score), best
 * first, from the factor's ascending (score, symbol) order read backwards
 * with each run of equal scores turned back to ascending symbols
 * (topk_before's order). Only the few best are ever bought, so the walk
 * stops there instead of ordering the whole cross-section. Returns how
 * many (fewer than want when the date has fewer). */
static int topk_candidates(const struct run_book *b, const double *score, const double *crow,
                           const int *list, int nlist, int want, int *cand) {
    int nc = 0;
    for (int i = nlist - 1; i >= 0 && nc < want;) {
        int j = i;
        while (j > 0 && score[list[j - 1]] == score[list[i]])
            j--;
        for (int k = j; k <= i && nc < want; k++) {
            int s = list[k];
            if (b->pos[s] <= 0 && isfinite(crow[s]) && isfinite(score[s])) cand[nc++] = s;
        }
        i = j - 1;
    }
    return nc;
}

void strategy_topk_step(struct run_book *b, const struct panel *p, const double *factor,
                        const struct run_order *order, int d, const struct run_params *prm,
                        int *iscratch, struct run_day *out) {
    const double *close = p->f[PF_CLOSE];
    const double *score = factor + panel_idx(p, d, 0), *crow = close + panel_idx(p, d, 0);
    int ns = p->nsyms, nlast = 0, ncand = 0, k = prm->k, ndrop = prm->n, nlist = 0;
    int *last = iscratch, *cand = iscratch + ns, *comb = iscratch + 2 * ns;
    double c = prm->cost_bps * 1e-4, traded = 0;
    strategy_mark(b, p, d);
    /* held names: about k of them, their scores possibly NaN or infinite */
    for (int s = 0; s < ns; s++)
        if (b->pos[s] > 0) last[nlast++] = s;
    topk_sort(last, nlast, score);
    const int *list = run_order_at(order, d, &nlist);
    if (!list) abort(); /* run_pair_shared always passes an order covering d */
    int want = ndrop + k - nlast;
    ncand = topk_candidates(b, score, crow, list, nlist, want < 0 ? 0 : want, cand);
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
            traded += notional;
        }
        b->cash -= share * nbuy;
        if (b->cash < 0) b->cash = 0; /* rounding dust, never a real debt */
    }
    double value = b->cash;
    for (int s = 0; s < ns; s++)
        value += b->pos[s];
    b->value = value;
    out->value = value;
    out->traded = traded;
}
