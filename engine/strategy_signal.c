/* strategy_signal.c -- the per-symbol signal strategy, cent-for-cent the
 * backtrader set-up of the workshop (BackBroker defaults: checksubmit on,
 * market orders fill at the next bar's open, stock-like percentage
 * commission). Each symbol trades its own sleeve, so one symbol is exactly
 * one backtrader run; the cash arithmetic below mirrors BackBroker._execute
 * term for term because the comparison is to the cent over hundreds of
 * trades. */
#include <math.h>

#include "strategy.h"

/* BackBroker._execute for a market buy filling at price o: cash for the
 * shares, then the commission; refused (Margin) when cash would go negative. */
static double fill_buy(struct run_book *b, int s, double o, double comm) {
    double size = b->pend[s], cash = b->cash_s[s];
    cash -= size * o;
    cash -= size * comm * o;
    if (cash < 0.0) return 0.0;
    b->cash_s[s] = cash;
    b->pos[s] = size;
    b->entry[s] = o;
    return size * o;
}

/* BackBroker._execute closing the long at price o: the position's cost back
 * plus the profit and loss, less the commission at the fill price. */
static double fill_sell(struct run_book *b, int s, double o, double comm) {
    double size = b->pos[s];
    double pnl = size * (o - b->entry[s]) * 1.0;
    double closedvalue = size * b->entry[s];
    b->cash_s[s] += closedvalue + pnl * 1;
    b->cash_s[s] -= size * comm * o;
    b->pos[s] = 0;
    b->entry[s] = 0;
    return size * o;
}

void strategy_signal_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                          const struct run_params *prm, struct run_day *out) {
    const double *open = p->f[PF_OPEN], *close = p->f[PF_CLOSE];
    double comm = prm->commission, traded = 0, value = 0;
    for (int s = 0; s < p->nsyms; s++) {
        size_t i = panel_idx(p, d, s);
        double o = open[i], c = close[i];
        /* no bar: the symbol's feed has no such day; its order waits */
        if (isfinite(o) && isfinite(c)) {
            if (b->pend[s] > 0)
                traded += fill_buy(b, s, o, comm);
            else if (b->pend[s] < 0)
                traded += fill_sell(b, s, o, comm);
            b->pend[s] = 0;
            b->last_close[s] = c;
            double f = factor[i];
            if (b->pos[s] == 0 && f > 0) {
                double size = trunc(b->cash_s[s] / c);
                /* checksubmit pseudo-executes at the order's creation price
                 * (this close) and refuses what cash would not cover */
                double left = b->cash_s[s] - size * c - size * comm * c;
                if (size > 0 && left >= 0.0) b->pend[s] = size;
            } else if (b->pos[s] != 0 && f < 0) {
                b->pend[s] = -b->pos[s];
            }
        }
        double v = b->cash_s[s];
        if (b->pos[s] != 0) v += b->pos[s] * b->last_close[s];
        value += v;
    }
    out->value = value;
    out->traded = traded;
}
