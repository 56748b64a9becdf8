/* expr_eval.c -- evaluation of an expr_prog over a panel: all at once
 * (expr_prog_eval) or streamed (expr_stream_*).
 *
 * Evaluation walks the graph in index order (children were interned before
 * parents) and frees an intermediate buffer as soon as its last consumer has
 * run, so memory is bounded by the graph's widest "live" cut rather than by
 * its size. Nodes run one after another; each kernel splits its own work
 * over engine/par.h's threads (expr_int.h), bit-identically.
 *
 * A stream pauses as soon as enough expressions are complete, so that the
 * caller can consume them before it goes on; a released result goes back to
 * the buffer pool like any intermediate. A batch over fifty factors then
 * touches the memory of a few of them, not of all fifty: fresh memory costs
 * a page fault and a page clearing per 4 KiB, more than cheap operators. */
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "expr_prog.h"

enum { ROOT_PENDING, ROOT_OUT, ROOT_RELEASED };

/* One evaluation: each node's value, who owns its buffer, and how many
 * consumers (operators and roots) have yet to read it. Released buffers go
 * to a pool that the next allocation takes from. The pool never holds more
 * than the peak. */
struct expr_stream {
    struct expr_prog *pg;
    const struct panel *p;
    struct expr_val *vals;
    unsigned char *owned;
    int *remaining;
    size_t cells, live;
    double **pool; /* released buffers of cells doubles */
    int npool;
    int next_node;        /* the next graph node to evaluate */
    int *first_root;      /* per node: the first root on it, or -1 */
    int *next_root;       /* per root: the next root on the same node, or -1 */
    int *ready;           /* complete roots in completion order ... */
    int nready, handed;   /* ... of which the first `handed` went out */
    unsigned char *state; /* per root: ROOT_* */
    double **bcast;       /* per root: its broadcast when its value is a literal */
};

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static double *alloc_cells(struct expr_stream *st) {
    double *p = st->npool ? st->pool[--st->npool] : expr_panel_alloc(st->cells);
    st->live += st->cells * sizeof *p;
    if (st->live > st->pg->peak) st->pg->peak = st->live;
    return p;
}

/* Returns buffer p (of cells doubles) to the pool. */
static void pool_put(struct expr_stream *st, double *p) {
    st->pool[st->npool++] = p;
    st->live -= st->cells * sizeof(double);
}

static void release(struct expr_stream *st, int i) {
    if (!st->owned[i]) return;
    pool_put(st, (double *)st->vals[i].p);
    st->vals[i].p = NULL;
    st->owned[i] = 0;
}

/* A full array for v (a temporary broadcast when v is a scalar). */
static const double *as_array(struct expr_stream *st, const struct expr_val *v, double **tmp) {
    *tmp = NULL;
    if (v->p) return v->p;
    *tmp = alloc_cells(st);
    for (size_t i = 0; i < st->cells; i++)
        (*tmp)[i] = v->s;
    return *tmp;
}

static void free_tmp(struct expr_stream *st, double *tmp) {
    if (tmp) pool_put(st, tmp);
}

/* Computes node i from its (already computed) children. */
static void eval_node(struct expr_stream *st, int i) {
    const struct expr_node *nd = &st->pg->nodes[i];
    const struct panel *p = st->p;
    struct expr_val args[3];
    for (int k = 0; k < nd->nargs; k++)
        args[k] = st->vals[nd->a[k]];
    struct expr_val *out = &st->vals[i];
    if (nd->op == EOP_CONST) {
        out->p = NULL;
        out->s = nd->num;
        return;
    }
    if (nd->op == EOP_INPUT) {
        out->p = p->f[nd->win];
        return;
    }
    double *buf = alloc_cells(st), *t0 = NULL, *t1 = NULL;
    if (expr_op_is_elem(nd->op)) {
        expr_eval_elem(nd->op, args, st->cells, buf);
    } else if (expr_op_is_ts(nd->op)) {
        const double *x = as_array(st, &args[0], &t0);
        const double *y = nd->nargs > 1 ? as_array(st, &args[1], &t1) : NULL;
        double *sc[EXPR_TS_MAX_SCRATCH];
        int nsc = expr_ts_scratch_count(nd->op, nd->win);
        for (int k = 0; k < nsc; k++)
            sc[k] = alloc_cells(st);
        expr_eval_ts_scratch(nd->op, x, y, nd->win, p->dates, p->ndates, p->nsyms, buf, sc);
        for (int k = 0; k < nsc; k++)
            pool_put(st, sc[k]);
    } else {
        const double *x = as_array(st, &args[0], &t0);
        expr_eval_cs(nd->op, nd->num, x, p->ndates, p->nsyms, buf);
    }
    free_tmp(st, t0);
    free_tmp(st, t1);
    out->p = buf;
    st->owned[i] = 1;
    st->pg->evaluated++;
}

/* Evaluates the next graph node; the roots on it become ready. */
static void step(struct expr_stream *st) {
    int i = st->next_node++;
    if (!st->remaining[i]) return; /* orphan left behind by folding */
    eval_node(st, i);
    const struct expr_node *nd = &st->pg->nodes[i];
    for (int k = 0; k < nd->nargs; k++)
        if (--st->remaining[nd->a[k]] == 0) release(st, nd->a[k]);
    for (int r = st->first_root[i]; r >= 0; r = st->next_root[r])
        st->ready[st->nready++] = r;
}

static int stream_open(struct expr_prog *pg, const struct panel *p, struct expr_stream *st,
                       struct bt_err *err) {
    memset(st, 0, sizeof *st);
    expr_prog_free_results(pg);
    pg->evaluated = 0;
    pg->peak = 0;
    if (p->ndates < 0 || p->nsyms < 0)
        return bt_err_set(err, BT_EINPUT, "panel", "panel has negative dimensions");
    st->cells = (size_t)p->ndates * (size_t)p->nsyms;
    if (p->ndates && st->cells / (size_t)p->ndates != (size_t)p->nsyms)
        return bt_err_set(err, BT_ELIMIT, "panel", "panel too large");
    if (st->cells > ((size_t)1 << 31))
        return bt_err_set(err, BT_ELIMIT, "panel", "panel has more than 2^31 cells");
    for (int i = 0; i < pg->n; i++)
        if (pg->nodes[i].op == EOP_INPUT && !p->f[pg->nodes[i].win] && st->cells)
            return bt_err_set(err, BT_EINPUT, "panel", "panel has no field %d for input",
                              pg->nodes[i].win);
    size_t n = (size_t)pg->n + 1, nr = (size_t)pg->nroots + 1;
    st->pg = pg;
    st->p = p;
    st->vals = xcalloc(n, sizeof *st->vals);
    st->owned = xcalloc(n, 1);
    st->remaining = xcalloc(n, sizeof *st->remaining);
    st->first_root = xmalloc(n * sizeof *st->first_root);
    st->next_root = xmalloc(nr * sizeof *st->next_root);
    st->ready = xmalloc(nr * sizeof *st->ready);
    st->state = xcalloc(nr, 1);
    st->bcast = xcalloc(nr, sizeof *st->bcast);
    /* every node's buffer, every root's broadcast, two broadcast
     * temporaries and a kernel's scratch can be pooled */
    st->pool = xmalloc((n + nr + 2 + EXPR_TS_MAX_SCRATCH) * sizeof *st->pool);
    for (int i = 0; i < pg->n; i++) {
        st->first_root[i] = -1;
        for (int k = 0; k < pg->nodes[i].nargs; k++)
            st->remaining[pg->nodes[i].a[k]]++;
    }
    /* backwards, so that each node's list of roots is in root order */
    for (int r = pg->nroots - 1; r >= 0; r--) {
        st->remaining[pg->roots[r]]++;
        st->next_root[r] = st->first_root[pg->roots[r]];
        st->first_root[pg->roots[r]] = r;
    }
    return 0;
}

static void stream_close(struct expr_stream *st) {
    if (!st->pg) return;
    for (int r = 0; r < st->pg->nroots; r++)
        if (st->bcast[r]) pool_put(st, st->bcast[r]);
    for (int i = 0; i < st->pg->n; i++)
        release(st, i);
    while (st->npool)
        free(st->pool[--st->npool]);
    free(st->pool);
    free(st->vals);
    free(st->owned);
    free(st->remaining);
    free(st->first_root);
    free(st->next_root);
    free(st->ready);
    free(st->state);
    free(st->bcast);
    memset(st, 0, sizeof *st);
}

int expr_prog_eval(struct expr_prog *pg, const struct panel *p, struct bt_err *err) {
    struct expr_stream st;
    int rc = stream_open(pg, p, &st, err);
    if (rc) return rc;
    while (st.next_node < pg->n)
        step(&st);
    pg->results = xmalloc(((size_t)pg->nroots + 1) * sizeof *pg->results);
    for (int r = 0; r < pg->nroots; r++) {
        int i = pg->roots[r];
        if (st.owned[i] && st.remaining[i] == 1) {
            pg->results[r] = (double *)st.vals[i].p; /* last reader takes the buffer */
            st.owned[i] = 0;
            st.live -= st.cells * sizeof(double);
        } else {
            double *c = expr_panel_alloc(st.cells);
            for (size_t k = 0; k < st.cells; k++)
                c[k] = st.vals[i].p ? st.vals[i].p[k] : st.vals[i].s;
            pg->results[r] = c;
        }
        st.remaining[i]--;
    }
    stream_close(&st);
    return 0;
}

int expr_stream_begin(struct expr_prog *pg, const struct panel *p, struct expr_stream **out,
                      struct bt_err *err) {
    struct expr_stream *st = xmalloc(sizeof *st);
    int rc = stream_open(pg, p, st, err);
    if (rc) {
        free(st);
        st = NULL;
    }
    *out = st;
    return rc;
}

int expr_stream_next(struct expr_stream *st, int *out, int max) {
    while (st->nready - st->handed < max && st->next_node < st->pg->n)
        step(st);
    int k = 0;
    for (; k < max && st->handed < st->nready; k++) {
        int r = st->ready[st->handed++], i = st->pg->roots[r];
        if (!st->vals[i].p) { /* a literal: its broadcast */
            double *b = alloc_cells(st);
            for (size_t c = 0; c < st->cells; c++)
                b[c] = st->vals[i].s;
            st->bcast[r] = b;
        }
        st->state[r] = ROOT_OUT;
        out[k] = r;
    }
    return k;
}

const double *expr_stream_result(const struct expr_stream *st, int idx) {
    if (idx < 0 || idx >= st->pg->nroots || st->state[idx] != ROOT_OUT) return NULL;
    return st->bcast[idx] ? st->bcast[idx] : st->vals[st->pg->roots[idx]].p;
}

void expr_stream_release(struct expr_stream *st, int idx) {
    if (idx < 0 || idx >= st->pg->nroots || st->state[idx] != ROOT_OUT) return;
    st->state[idx] = ROOT_RELEASED;
    if (st->bcast[idx]) pool_put(st, st->bcast[idx]);
    st->bcast[idx] = NULL;
    int i = st->pg->roots[idx];
    if (--st->remaining[i] == 0) release(st, i);
}

void expr_stream_end(struct expr_stream *st) {
    if (!st) return;
    stream_close(st);
    free(st);
}

int expr_eval_text(const char *text, const struct panel *p, double **out, struct bt_err *err) {
    struct expr_prog *pg = expr_prog_new();
    int rc, idx;
    *out = NULL;
    idx = expr_prog_add(pg, text, err);
    if (idx < 0) {
        rc = err ? err->code : BT_EINPUT;
        if (!rc) rc = BT_EINPUT;
        goto done;
    }
    if ((rc = expr_prog_eval(pg, p, err))) goto done;
    *out = expr_prog_take_result(pg, idx);
done:
    expr_prog_free(pg);
    return rc;
}
