/* run_order.c -- per date, the symbols in ascending order of a value: the
 * one sort each (factor, date) needs, shared by the IC, the quantiles and
 * the strategies (contract in strategy.h). */
#include <math.h>
#include <stdlib.h>

#include "metrics_calc.h"
#include "strategy.h"
#include "strategy_sort.h"

void run_order_build(struct run_order *o, const double *x, int nsyms, int d0, int d1) {
    size_t ns = nsyms > 0 ? (size_t)nsyms : 1;
    int nd = d1 >= d0 ? d1 - d0 + 1 : 0;
    o->d0 = d0;
    o->d1 = d1;
    o->nsyms = nsyms;
    o->val = NULL;
    o->rank = NULL;
    o->cnt = calloc(nd > 0 ? (size_t)nd : 1, sizeof *o->cnt);
    o->sym = malloc((nd > 0 ? (size_t)nd : 1) * ns * sizeof *o->sym);
    uint64_t *scratch = malloc(2 * ns * sizeof *scratch);
    if (!o->cnt || !o->sym || !scratch) abort();
    for (int d = d0; d <= d1; d++)
        o->cnt[d - d0] =
            sort_order_row(x + (size_t)d * ns, nsyms, o->sym + (size_t)(d - d0) * ns, scratch);
    free(scratch);
}

void run_order_returns(struct run_order *o, const struct panel *p, int d0, int d1) {
    size_t ns = p->nsyms > 0 ? (size_t)p->nsyms : 1;
    int nd = d1 >= d0 ? d1 - d0 + 1 : 0;
    /* calloc: with no date the array is never written, yet still read */
    double *ret = calloc((nd > 0 ? (size_t)nd : 1) * ns, sizeof *ret);
    if (!ret) abort();
    const double *c = p->f[PF_CLOSE];
    for (int d = d0; d <= d1; d++)
        for (int s = 0; s < p->nsyms; s++) {
            double r = NAN;
            if (d > 0) {
                double c0 = c[panel_idx(p, d - 1, s)], c1 = c[panel_idx(p, d, s)];
                if (isfinite(c0) && isfinite(c1) && c0 != 0) r = c1 / c0 - 1.0;
            }
            ret[(size_t)(d - d0) * ns + (size_t)s] = r;
        }
    /* ret holds dates d0..d1 from its start: order it as dates 0..nd-1 */
    run_order_build(o, ret, p->nsyms, 0, nd - 1);
    o->d0 = d0;
    o->d1 = d1;
    o->val = ret;
    o->rank = malloc((nd > 0 ? (size_t)nd : 1) * ns * sizeof *o->rank);
    double *y = malloc(ns * sizeof *y);
    int *pos = malloc(ns * sizeof *pos), *ord = malloc(ns * sizeof *ord);
    if (!o->rank || !y || !pos || !ord) abort();
    for (int i = 0; i < nd; i++) {
        const double *row = ret + (size_t)i * ns;
        const int *sym = o->sym + (size_t)i * ns;
        int n = 0;
        /* the valid returns in symbol order, as metrics_ic_day lists pairs */
        for (int s = 0; s < p->nsyms; s++)
            if (!isnan(row[s])) {
                y[n] = row[s];
                pos[s] = n++;
            }
        for (int k = 0; k < o->cnt[i]; k++)
            ord[k] = pos[sym[k]];
        metrics_rank_from_order(y, ord, n, o->rank + (size_t)i * ns);
    }
    free(y);
    free(pos);
    free(ord);
}

void run_order_free(struct run_order *o) {
    free(o->cnt);
    free(o->sym);
    free(o->val);
    free(o->rank);
    o->cnt = NULL;
    o->sym = NULL;
    o->val = NULL;
    o->rank = NULL;
    o->d0 = 0;
    o->d1 = -1;
}
