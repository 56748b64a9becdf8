/* run_many.c -- many factor x strategy pairs over one panel and one
 * expression program (shared subexpressions evaluated once), and one sort
 * per (factor, date) shared by every pair over that factor. Factors are
 * independent of each other once evaluated, so each factor's pairs are one
 * task on the engine's worker threads.
 *
 * Expressions are evaluated as a stream, a few factors at a time: their
 * pairs run, their buffers go back to the evaluator's pool, and the next
 * factors are computed into the same memory. Evaluating all of them first
 * kept fifty factor panels alive at once, and clearing that much fresh
 * memory cost more than some operators. */
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
    int *lead;             /* per pair: the first pair with its factor text */
    const double **factor; /* per lead: its factor panel, while its chunk runs */
    int *chunk;            /* the leads whose factors are ready, one task each */
};

/* One factor: its orders, then every pair over it in pair order. */
static void factor_task(void *vctx, int t, int worker) {
    struct many *m = vctx;
    const struct panel *p = m->p;
    int l = m->chunk[t];
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
    if (m->done)
        for (int i = l; i < m->n; i++)
            if (m->lead[i] == l) m->done(m->ctx, i);
}

/* Factors evaluated per chunk: enough to keep every thread busy between
 * two evaluations (a chunk ends when its slowest factor does), few enough
 * that their panels stay a small part of the batch's memory. */
static int chunk_size(void) {
    return 8 * par_threads();
}

int run_many_each(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
                  int32_t to, struct run_output *outs, struct bt_err *errs, run_done_fn done,
                  void *ctx, struct bt_err *err) {
    struct expr_prog *prog = expr_prog_new();
    struct expr_stream *stream = NULL;
    struct run_order ret_order = {0};
    size_t sz = n > 0 ? (size_t)n : 1;
    int *idx = calloc(sz, sizeof *idx), *root_lead = calloc(sz, sizeof *root_lead);
    int *ready = calloc(sz, sizeof *ready), rc = 0;
    struct many m = {p, specs, n, from, to, outs, errs, done, ctx, &ret_order, NULL, NULL, NULL};
    m.lead = calloc(sz, sizeof *m.lead);
    m.factor = calloc(sz, sizeof *m.factor);
    m.chunk = calloc(sz, sizeof *m.chunk);
    if (!prog || !idx || !root_lead || !ready || !m.lead || !m.factor || !m.chunk) abort();
    /* Each distinct factor text enters the program once: pairs over the
     * same factor share its result buffer and its orders. */
    for (int i = 0; i < n; i++) {
        memset(&outs[i], 0, sizeof outs[i]);
        m.lead[i] = first_same_factor(specs, i);
        if (m.lead[i] == i) {
            bt_err_clear(&errs[i]);
            idx[i] = expr_prog_add(prog, specs[i].factor, &errs[i]);
            if (idx[i] >= 0) root_lead[idx[i]] = i;
        } else {
            idx[i] = idx[m.lead[i]];
            errs[i] = errs[m.lead[i]];
        }
    }
    if ((rc = expr_stream_begin(prog, p, &stream, err))) goto fail;
    if (p->ndates > 0) run_order_returns(&ret_order, p, 0, p->ndates - 1);
    /* pairs whose expression failed are done already */
    if (done)
        for (int i = 0; i < n; i++)
            if (idx[i] < 0) done(ctx, i);
    int k, max = chunk_size();
    while ((k = expr_stream_next(stream, ready, max < n ? max : n)) > 0) {
        for (int t = 0; t < k; t++) {
            m.chunk[t] = root_lead[ready[t]];
            m.factor[m.chunk[t]] = expr_stream_result(stream, ready[t]);
        }
        par_run(k, factor_task, &m);
        for (int t = 0; t < k; t++) {
            m.factor[m.chunk[t]] = NULL;
            expr_stream_release(stream, ready[t]);
        }
    }
fail:
    expr_stream_end(stream);
    run_order_free(&ret_order);
    expr_prog_free(prog);
    free(idx);
    free(root_lead);
    free(ready);
    free(m.lead);
    free(m.factor);
    free(m.chunk);
    return rc;
}

int run_many(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
             int32_t to, struct run_output *outs, struct bt_err *errs, struct bt_err *err) {
    return run_many_each(p, specs, n, from, to, outs, errs, NULL, NULL, err);
}
