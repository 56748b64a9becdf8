/* strategy_lsq.c -- long_short_quantile: each close, long the top factor
 * quantile and short the bottom one, equal weights, each leg half of the
 * portfolio value (gross 1, dollar-neutral); cost_bps on traded notional.
 * Positions are signed currency exposures that drift with their prices. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int strategy_held(const struct run_book *b, int *list) {
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

void strategy_lsq_step(struct run_book *b, const struct panel *p, const double *factor,
                       const struct run_order *order, int d, const struct run_params *prm,
                       double *scratch, int *iscratch, struct run_day *out) {
    int ns = p->nsyms, n = 0, q = prm->quantiles, nlist = 0;
    double *x = scratch;
    int *sym = iscratch, *bucket = iscratch + ns, *pos = iscratch + 2 * ns,
        *ord = iscratch + 3 * ns, *held = iscratch + 4 * ns;
    const double *frow = factor + panel_idx(p, d, 0), *crow = p->f[PF_CLOSE] + panel_idx(p, d, 0);
    /* only the names with a position move */
    b->value += strategy_mark_list(b, p, d, held, strategy_held(b, held));
    /* tradable today: a bar and a factor value; every bar is the name's
     * last close, held or not (the mark above kept the held ones') */
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
    int nlong = 0, nshort = 0, ends = 0;
    double elo = 0, ehi = 0;
    if (n >= 2) {
        /* the same values ascending: the factor's order, filtered alike */
        const int *list = run_order_at(order, d, &nlist);
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
    /* the buckets fall in no pattern by symbol: the target is picked, not
     * branched on (without a trade both targets are 0) */
    for (int k = 0; k < n; k++) {
        int s = sym[k];
        int top = ends ? x[k] > ehi : bucket[k] == q - 1,
            bottom = ends ? x[k] <= elo : bucket[k] == 0;
        double target = select_bits(top, tlong, select_bits(bottom, tshort, 0.0));
        traded += fabs(target - b->pos[s]);
        b->pos[s] = target;
    }
    /* names without a bar today cannot trade: they keep their exposure */
    b->value -= traded * prm->cost_bps * 1e-4;
    out->value = b->value;
    out->traded = traded;
}
