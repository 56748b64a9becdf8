/* run_many.c -- many factor x strategy pairs over one panel and one
 * expression program (shared subexpressions evaluated once), and one sort
 * per (factor, date) shared by every pair over that factor. Factors are
 * independent of each other once evaluated, so each factor's pairs are one
 * task on the engine's worker threads. */
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "par.h"
#include "run.h"
#include "strategy.h"

/* The first pair whose factor text is pair i's (itself when none before). */
static int first_same_factor(const struct run_pair_spec *specs, int i) {
    for (int j = 0; j < i; j++)
        if (strcmp(specs[j].factor, specs[i].factor) == 0) return j;
    return i;
}

struct many {
    const struct panel *p;
    const struct run_pair_spec *specs;
    int n;
    int32_t from, to;
    struct run_output *outs;
    struct bt_err *errs;
    run_done_fn done;
    void *ctx;
    const struct run_order *ret_order;
    int *lead;       /* per pair: the first pair with its factor text */
    int *group;      /* the leads of parsed factors, in pair order */
    double **factor; /* per lead: its factor panel, owned until its task ends */
};

/* One factor: its orders, then every pair over it in pair order. */
static void factor_task(void *vctx, int g, int worker) {
    struct many *m = vctx;
    const struct panel *p = m->p;
    int l = m->group[g];
    const double *factor = m->factor[l];
    struct run_order order = {0};
    (void)worker;
    if (p->ndates > 0) run_order_build(&order, factor, p->nsyms, 0, p->ndates - 1);
    for (int i = l; i < m->n; i++) {
        if (m->lead[i] != l) continue;
        /* an earlier pair with the same factor and quantiles already has
         * the factor's ic, rank_ic and quantile returns */
        const struct run_output *same = NULL;
        for (int j = l; j < i && !same; j++)
            if (m->lead[j] == l && m->errs[j].code == 0 && m->outs[j].series.n > 0 &&
                m->specs[j].params.quantiles == m->specs[i].params.quantiles)
                same = &m->outs[j];
        struct run_shared sh = {same, &order, m->ret_order};
        const struct run_pair_spec *s = &m->specs[i];
        run_pair_shared(p, factor, s->kind, &s->params, m->from, m->to, s->state_in,
                        s->state_in_len, &sh, &m->outs[i], &m->errs[i]);
    }
    run_order_free(&order);
    free(m->factor[l]);
    m->factor[l] = NULL;
    if (m->done)
        for (int i = l; i < m->n; i++)
            if (m->lead[i] == l) m->done(m->ctx, i);
}

int run_many_each(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
                  int32_t to, struct run_output *outs, struct bt_err *errs, run_done_fn done,
                  void *ctx, struct bt_err *err) {
    struct expr_prog *prog = expr_prog_new();
    struct run_order ret_order = {0};
    size_t sz = n > 0 ? (size_t)n : 1;
    int *idx = calloc(sz, sizeof *idx), ngroups = 0, rc = 0;
    struct many m = {p, specs, n, from, to, outs, errs, done, ctx, &ret_order, NULL, NULL, NULL};
    m.lead = calloc(sz, sizeof *m.lead);
    m.group = calloc(sz, sizeof *m.group);
    m.factor = calloc(sz, sizeof *m.factor);
    if (!prog || !idx || !m.lead || !m.group || !m.factor) abort();
    /* Each distinct factor text enters the program once: pairs over the
     * same factor share its result buffer (a program root per pair would
     * hold a panel-sized copy per pair) and its orders. */
    for (int i = 0; i < n; i++) {
        memset(&outs[i], 0, sizeof outs[i]);
        m.lead[i] = first_same_factor(specs, i);
        if (m.lead[i] == i) {
            bt_err_clear(&errs[i]);
            idx[i] = expr_prog_add(prog, specs[i].factor, &errs[i]);
            if (idx[i] >= 0) m.group[ngroups++] = i;
        } else {
            idx[i] = idx[m.lead[i]];
            errs[i] = errs[m.lead[i]];
        }
    }
    if ((rc = expr_prog_eval(prog, p, err))) goto fail;
    for (int g = 0; g < ngroups; g++)
        m.factor[m.group[g]] = expr_prog_take_result(prog, idx[m.group[g]]);
    expr_prog_free(prog); /* its pooled buffers go back before the pairs run */
    prog = NULL;
    if (p->ndates > 0) run_order_returns(&ret_order, p, 0, p->ndates - 1);
    /* pairs whose expression failed are done already */
    if (done)
        for (int i = 0; i < n; i++)
            if (idx[i] < 0) done(ctx, i);
    par_run(ngroups, factor_task, &m);
fail:
    for (int i = 0; i < n; i++)
        free(m.factor[i]);
    run_order_free(&ret_order);
    expr_prog_free(prog);
    free(idx);
    free(m.lead);
    free(m.group);
    free(m.factor);
    return rc;
}

int run_many(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
             int32_t to, struct run_output *outs, struct bt_err *errs, struct bt_err *err) {
    return run_many_each(p, specs, n, from, to, outs, errs, NULL, NULL, err);
}
