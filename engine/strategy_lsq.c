/* strategy_lsq.c -- long_short_quantile: each close, long the top factor
 * quantile and short the bottom one, equal weights, each leg half of the
 * portfolio value (gross 1, dollar-neutral); cost_bps on traded notional.
 * Positions are signed currency exposures that drift with their prices. */
#include <math.h>

#include "strategy.h"

double strategy_mark(struct run_book *b, const struct panel *p, int d) {
    const double *close = p->f[PF_CLOSE];
    double pnl = 0;
    for (int s = 0; s < p->nsyms; s++) {
        double c = close[panel_idx(p, d, s)];
        if (!isfinite(c)) continue;
        if (b->pos[s] != 0 && isfinite(b->last_close[s]) && b->last_close[s] != 0) {
            double r = c / b->last_close[s] - 1.0;
            double gain = b->pos[s] * r;
            pnl += gain;
            b->pos[s] += gain;
        }
        b->last_close[s] = c;
    }
    return pnl;
}

void strategy_lsq_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                       const struct run_params *prm, double *scratch, int *iscratch,
                       struct run_day *out) {
    const double *close = p->f[PF_CLOSE];
    int ns = p->nsyms, n = 0, q = prm->quantiles;
    double *x = scratch, *sorted = scratch + ns;
    int *sym = iscratch, *bucket = iscratch + ns;
    b->value += strategy_mark(b, p, d);
    /* tradable today: a bar and a factor value */
    for (int s = 0; s < ns; s++) {
        size_t i = panel_idx(p, d, s);
        if (isfinite(close[i]) && isfinite(factor[i])) {
            x[n] = factor[i];
            sym[n++] = s;
        }
    }
    int nlong = 0, nshort = 0;
    if (n >= 2) {
        quantile_buckets(x, n, q, sorted, bucket);
        for (int k = 0; k < n; k++) {
            nlong += bucket[k] == q - 1;
            nshort += bucket[k] == 0;
        }
    }
    double v = b->value, traded = 0;
    for (int k = 0; k < n; k++) {
        int s = sym[k];
        double target = 0;
        if (nlong > 0 && nshort > 0 && bucket[k] == q - 1)
            target = 0.5 * v / nlong;
        else if (nlong > 0 && nshort > 0 && bucket[k] == 0)
            target = -0.5 * v / nshort;
        traded += fabs(target - b->pos[s]);
        b->pos[s] = target;
    }
    /* names without a bar today cannot trade: they keep their exposure */
    b->value -= traded * prm->cost_bps * 1e-4;
    out->value = b->value;
    out->traded = traded;
}
