/* run_many.c -- many factor x strategy pairs over one panel and one
 * expression program (shared subexpressions evaluated once), and one sort
 * per (factor, date) shared by every pair over that factor. */
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "run.h"
#include "strategy.h"

/* The first pair whose factor text is pair i's (itself when none before). */
static int first_same_factor(const struct run_pair_spec *specs, int i) {
    for (int j = 0; j < i; j++)
        if (strcmp(specs[j].factor, specs[i].factor) == 0) return j;
    return i;
}

int run_many(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
             int32_t to, struct run_output *outs, struct bt_err *errs, struct bt_err *err) {
    struct expr_prog *prog = expr_prog_new();
    struct run_order ret_order = {0};
    size_t m = n > 0 ? (size_t)n : 1;
    int *idx = calloc(m, sizeof *idx), *lead = calloc(m, sizeof *lead);
    int *last = calloc(m, sizeof *last), rc = 0;
    struct run_order *orders = calloc(m, sizeof *orders);
    if (!prog || !idx || !lead || !last || !orders) abort();
    /* Each distinct factor text enters the program once: pairs over the
     * same factor share its result buffer (a program root per pair would
     * hold a panel-sized copy per pair) and its orders; both are freed
     * after the last such pair. */
    for (int i = 0; i < n; i++) {
        memset(&outs[i], 0, sizeof outs[i]);
        lead[i] = first_same_factor(specs, i);
        last[lead[i]] = i;
        if (lead[i] == i) {
            bt_err_clear(&errs[i]);
            idx[i] = expr_prog_add(prog, specs[i].factor, &errs[i]);
        } else {
            idx[i] = idx[lead[i]];
            errs[i] = errs[lead[i]];
        }
    }
    if ((rc = expr_prog_eval(prog, p, err))) goto fail;
    if (p->ndates > 0) run_order_returns(&ret_order, p, 0, p->ndates - 1);
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0) continue;
        int l = lead[i];
        const double *factor = expr_prog_result(prog, idx[l]);
        if (l == i && p->ndates > 0)
            run_order_build(&orders[l], factor, p->nsyms, 0, p->ndates - 1);
        /* an earlier pair with the same factor and quantiles already has
         * the factor's ic, rank_ic and quantile returns */
        const struct run_output *same = NULL;
        for (int j = l; j < i && !same; j++)
            if (lead[j] == l && errs[j].code == 0 && outs[j].series.n > 0 &&
                specs[j].params.quantiles == specs[i].params.quantiles)
                same = &outs[j];
        struct run_shared sh = {same, &orders[l], &ret_order};
        run_pair_shared(p, factor, specs[i].kind, &specs[i].params, from, to, specs[i].state_in,
                        specs[i].state_in_len, &sh, &outs[i], &errs[i]);
        if (last[l] == i) {
            run_order_free(&orders[l]);
            free(expr_prog_take_result(prog, idx[l]));
        }
    }
fail:
    for (int i = 0; i < n; i++)
        run_order_free(&orders[i]);
    run_order_free(&ret_order);
    expr_prog_free(prog);
    free(idx);
    free(lead);
    free(last);
    free(orders);
    return rc;
}
