/* run_order.c -- per date, the symbols in ascending order of a value: the
 * one sort each (factor, date) needs, shared by the IC, the quantiles and
 * the strategies (contract in strategy.h).
 *
 * Dates are independent, so blocks of them are tasks on the engine's pool:
 * the returns' orders, built once before the factors run, no longer hold
 * the other threads up. Inside a factor's task the same calls run serially
 * (a nested par_run does). */
#include <math.h>
#include <stdlib.h>

#include "metrics_calc.h"
#include "par.h"
#include "strategy.h"
#include "strategy_sort.h"

enum { ORDER_BLOCK = 32 }; /* dates per task: ~40 tasks for five years */

struct order_job {
    struct run_order *o;
    const double *x; /* row i of the order is row d0 + i of x */
    const struct panel *p;
    int d0, nd;
    size_t ns;
    void *scratch[PAR_MAX_THREADS]; /* per worker, made on its first task */
};

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static void *worker_scratch(struct order_job *j, int worker, size_t bytes) {
    if (!j->scratch[worker]) j->scratch[worker] = xmalloc(bytes);
    return j->scratch[worker];
}

static void job_free(struct order_job *j) {
    for (int w = 0; w < PAR_MAX_THREADS; w++)
        free(j->scratch[w]);
}

static void sort_task(void *ctx, int t, int worker) {
    struct order_job *j = ctx;
    uint64_t *scratch = worker_scratch(j, worker, 2 * j->ns * sizeof *scratch);
    int end = (t + 1) * ORDER_BLOCK < j->nd ? (t + 1) * ORDER_BLOCK : j->nd;
    for (int i = t * ORDER_BLOCK; i < end; i++)
        j->o->cnt[i] = sort_order_row(j->x + (size_t)(j->d0 + i) * j->ns, j->o->nsyms,
                                      j->o->sym + (size_t)i * j->ns, scratch);
}

static int ntasks(int nd) {
    return (nd + ORDER_BLOCK - 1) / ORDER_BLOCK;
}

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
    if (!o->cnt || !o->sym) abort();
    struct order_job j = {o, x, NULL, d0, nd, ns, {0}};
    par_run(ntasks(nd), sort_task, &j);
    job_free(&j);
}

/* Dates' next-day returns (close over the previous close, less one). */
static void returns_task(void *ctx, int t, int worker) {
    struct order_job *j = ctx;
    const struct panel *p = j->p;
    const double *c = p->f[PF_CLOSE];
    double *ret = (double *)j->x;
    int end = (t + 1) * ORDER_BLOCK < j->nd ? (t + 1) * ORDER_BLOCK : j->nd;
    (void)worker;
    for (int i = t * ORDER_BLOCK; i < end; i++) {
        int d = j->d0 + i;
        for (int s = 0; s < p->nsyms; s++) {
            double r = NAN;
            if (d > 0) {
                double c0 = c[panel_idx(p, d - 1, s)], c1 = c[panel_idx(p, d, s)];
                if (isfinite(c0) && isfinite(c1) && c0 != 0) r = c1 / c0 - 1.0;
            }
            ret[(size_t)i * j->ns + (size_t)s] = r;
        }
    }
}

/* Dates' return ranks, ties averaged, from their orders. */
static void ranks_task(void *ctx, int t, int worker) {
    struct order_job *j = ctx;
    struct run_order *o = j->o;
    int nsyms = j->p->nsyms;
    char *sc = worker_scratch(j, worker, j->ns * (sizeof(double) + 2 * sizeof(int)));
    double *y = (double *)sc;
    int *pos = (int *)(sc + j->ns * sizeof(double)), *ord = pos + j->ns;
    int end = (t + 1) * ORDER_BLOCK < j->nd ? (t + 1) * ORDER_BLOCK : j->nd;
    for (int i = t * ORDER_BLOCK; i < end; i++) {
        const double *row = o->val + (size_t)i * j->ns;
        const int *sym = o->sym + (size_t)i * j->ns;
        int n = 0;
        /* the valid returns in symbol order, as metrics_ic_day lists pairs */
        for (int s = 0; s < nsyms; s++)
            if (!isnan(row[s])) {
                y[n] = row[s];
                pos[s] = n++;
            }
        for (int k = 0; k < o->cnt[i]; k++)
            ord[k] = pos[sym[k]];
        metrics_rank_from_order(y, ord, n, o->rank + (size_t)i * j->ns);
    }
}

void run_order_returns(struct run_order *o, const struct panel *p, int d0, int d1) {
    size_t ns = p->nsyms > 0 ? (size_t)p->nsyms : 1;
    int nd = d1 >= d0 ? d1 - d0 + 1 : 0;
    /* calloc: with no date the array is never written, yet still read */
    double *ret = calloc((nd > 0 ? (size_t)nd : 1) * ns, sizeof *ret);
    if (!ret) abort();
    struct order_job rj = {NULL, ret, p, d0, nd, ns, {0}};
    par_run(ntasks(nd), returns_task, &rj);
    /* ret holds dates d0..d1 from its start: order it as dates 0..nd-1 */
    run_order_build(o, ret, p->nsyms, 0, nd - 1);
    o->d0 = d0;
    o->d1 = d1;
    o->val = ret;
    o->rank = xmalloc((nd > 0 ? (size_t)nd : 1) * ns * sizeof *o->rank);
    struct order_job kj = {o, ret, p, 0, nd, ns, {0}};
    par_run(ntasks(nd), ranks_task, &kj);
    job_free(&kj);
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
