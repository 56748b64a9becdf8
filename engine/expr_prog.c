/* expr_prog.c -- many expressions as one graph with shared subexpressions.
 *
 * Each added AST is interned node by node into a hash-consed graph: a node
 * is identified by (op, children, window, literal), children already being
 * graph indices, so identical subtrees anywhere in any expression become
 * one node. Commutative operators order their children first, and
 * elementwise operators over literals fold into a literal.
 *
 * Evaluation walks the graph in index order (children were interned before
 * parents) and frees an intermediate buffer as soon as its last consumer has
 * run, so memory is bounded by the graph's widest "live" cut rather than by
 * its size. Nodes run one after another; each kernel splits its own work
 * over engine/par.h's threads (expr_int.h), bit-identically. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "expr_int.h"

enum { PROG_MAX_NODES = 1 << 20 };

struct expr_prog {
    struct expr_node *nodes; /* the shared graph, children first */
    int n, cap;
    int *slots; /* open-addressing hash: node index or -1 */
    int nslots; /* power of two, > 2n */
    int *roots; /* graph node of each added expression */
    int nroots, rcap;
    double **results; /* per added expression, after eval */
    int evaluated;
    size_t peak;
};

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

double *expr_panel_alloc(size_t cells) {
    size_t bytes = (cells ? cells : 1) * sizeof(double);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    enum { HUGE_PAGE = 2 << 20 };
    if (bytes >= HUGE_PAGE) {
        double *p = aligned_alloc(HUGE_PAGE, (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
        if (!p) abort();
        /* only whole huge pages inside the buffer: the tail stays small */
        (void)madvise(p, bytes / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
        return p;
    }
#endif
    return xmalloc(bytes);
}

static uint64_t node_hash(const struct expr_node *nd) {
    uint64_t h = 1469598103934665603ULL, bits;
    memcpy(&bits, &nd->num, sizeof bits);
    uint64_t parts[7] = {(uint64_t)nd->op,
                         (uint64_t)nd->nargs,
                         (uint64_t)(unsigned)nd->a[0],
                         (uint64_t)(unsigned)nd->a[1],
                         (uint64_t)(unsigned)nd->a[2],
                         (uint64_t)nd->win,
                         bits};
    for (int i = 0; i < 7; i++) {
        h ^= parts[i];
        h *= 1099511628211ULL;
        h ^= h >> 29;
    }
    return h;
}

static int node_same(const struct expr_node *x, const struct expr_node *y) {
    return x->op == y->op && x->nargs == y->nargs && x->a[0] == y->a[0] && x->a[1] == y->a[1] &&
           x->a[2] == y->a[2] && x->win == y->win && memcmp(&x->num, &y->num, sizeof x->num) == 0;
}

/* Doubles the hash table and reinserts every node. */
static void rehash(struct expr_prog *pg) {
    int ns = pg->nslots ? pg->nslots * 2 : 256;
    free(pg->slots);
    pg->slots = xmalloc((size_t)ns * sizeof *pg->slots);
    pg->nslots = ns;
    for (int i = 0; i < ns; i++)
        pg->slots[i] = -1;
    for (int i = 0; i < pg->n; i++) {
        size_t h = node_hash(&pg->nodes[i]) & (size_t)(ns - 1);
        while (pg->slots[h] >= 0)
            h = (h + 1) & (size_t)(ns - 1);
        pg->slots[h] = i;
    }
}

/* Returns the graph index of nd, adding it when new (-1 when full). */
static int intern(struct expr_prog *pg, struct expr_node nd) {
    const struct expr_node *a = pg->nodes;
    if (expr_op_is_elem(nd.op)) {
        int all_const = 1;
        for (int i = 0; i < nd.nargs; i++)
            all_const &= a[nd.a[i]].op == EOP_CONST;
        if (all_const) {
            double v[3] = {0, 0, 0};
            for (int i = 0; i < nd.nargs; i++)
                v[i] = a[nd.a[i]].num;
            double r = expr_elem_scalar(nd.op, v[0], v[1], v[2]);
            memset(&nd, 0, sizeof nd);
            nd.op = EOP_CONST;
            nd.num = r;
        }
    }
    if (expr_op_commutes(nd.op) && nd.a[0] > nd.a[1]) {
        int t = nd.a[0];
        nd.a[0] = nd.a[1];
        nd.a[1] = t;
    }
    for (int i = nd.nargs; i < 3; i++)
        nd.a[i] = 0;
    int lb = 0;
    for (int i = 0; i < nd.nargs; i++)
        if (a[nd.a[i]].lookback > lb) lb = a[nd.a[i]].lookback;
    if (nd.op == EOP_DELAY || nd.op == EOP_DELTA)
        lb += nd.win;
    else if (expr_op_is_ts(nd.op))
        lb += nd.win - 1;
    nd.lookback = lb;
    if (2 * (pg->n + 1) > pg->nslots) rehash(pg);
    size_t mask = (size_t)pg->nslots - 1, h = node_hash(&nd) & mask;
    while (pg->slots[h] >= 0) {
        if (node_same(&pg->nodes[pg->slots[h]], &nd)) return pg->slots[h];
        h = (h + 1) & mask;
    }
    if (pg->n >= PROG_MAX_NODES) return -1;
    if (pg->n == pg->cap) {
        pg->cap = pg->cap ? pg->cap * 2 : 64;
        pg->nodes = realloc(pg->nodes, (size_t)pg->cap * sizeof *pg->nodes);
        if (!pg->nodes) abort();
    }
    pg->nodes[pg->n] = nd;
    pg->slots[h] = pg->n;
    return pg->n++;
}

struct expr_prog *expr_prog_new(void) {
    struct expr_prog *pg = xmalloc(sizeof *pg);
    memset(pg, 0, sizeof *pg);
    return pg;
}

static void free_results(struct expr_prog *pg) {
    if (!pg->results) return;
    for (int i = 0; i < pg->nroots; i++)
        free(pg->results[i]);
    free(pg->results);
    pg->results = NULL;
}

void expr_prog_free(struct expr_prog *pg) {
    if (!pg) return;
    free_results(pg);
    free(pg->nodes);
    free(pg->slots);
    free(pg->roots);
    free(pg);
}

int expr_prog_add(struct expr_prog *pg, const char *text, struct bt_err *err) {
    struct expr_ast *ast = NULL;
    int *map = NULL, idx = -1;
    if (expr_parse(text, &ast, err)) goto done;
    map = xmalloc((size_t)ast->n * sizeof *map);
    for (int i = 0; i < ast->n; i++) {
        struct expr_node nd = ast->nodes[i];
        for (int k = 0; k < nd.nargs; k++)
            nd.a[k] = map[nd.a[k]];
        map[i] = intern(pg, nd);
        if (map[i] < 0) {
            bt_err_set(err, BT_ELIMIT, "expr", "program has more than %d nodes", PROG_MAX_NODES);
            goto done;
        }
    }
    free_results(pg); /* results no longer line up with the roots */
    if (pg->nroots == pg->rcap) {
        pg->rcap = pg->rcap ? pg->rcap * 2 : 16;
        pg->roots = realloc(pg->roots, (size_t)pg->rcap * sizeof *pg->roots);
        if (!pg->roots) abort();
    }
    pg->roots[pg->nroots] = map[ast->root];
    idx = pg->nroots++;
done:
    free(map);
    expr_free(ast);
    return idx;
}

int expr_prog_count(const struct expr_prog *pg) {
    return pg->nroots;
}

int expr_prog_lookback(const struct expr_prog *pg, int idx) {
    if (idx < 0 || idx >= pg->nroots) return -1;
    return pg->nodes[pg->roots[idx]].lookback;
}

int expr_prog_node_count(const struct expr_prog *pg) {
    int c = 0;
    for (int i = 0; i < pg->n; i++)
        c += pg->nodes[i].op != EOP_CONST && pg->nodes[i].op != EOP_INPUT;
    return c;
}

int expr_prog_evaluated(const struct expr_prog *pg) {
    return pg->evaluated;
}

size_t expr_prog_peak_bytes(const struct expr_prog *pg) {
    return pg->peak;
}

const double *expr_prog_result(const struct expr_prog *pg, int idx) {
    if (!pg->results || idx < 0 || idx >= pg->nroots) return NULL;
    return pg->results[idx];
}

double *expr_prog_take_result(struct expr_prog *pg, int idx) {
    if (!pg->results || idx < 0 || idx >= pg->nroots) return NULL;
    double *r = pg->results[idx];
    pg->results[idx] = NULL;
    return r;
}

/* State of one evaluation: each node's value, who owns its buffer, and how
 * many consumers have yet to read it. Released buffers go to a pool that
 * the next allocation takes from: a fresh multi-megabyte malloc is a fresh
 * mmap whose every page faults and is zeroed, which cost more than the
 * cheap operators themselves. The pool never holds more than the peak. */
struct eval_state {
    struct expr_val *vals;
    unsigned char *owned;
    int *remaining;
    size_t cells, live;
    double **pool; /* released buffers of cells doubles */
    int npool;
};

static double *alloc_cells(struct expr_prog *pg, struct eval_state *st) {
    double *p = st->npool ? st->pool[--st->npool] : expr_panel_alloc(st->cells);
    st->live += st->cells * sizeof *p;
    if (st->live > pg->peak) pg->peak = st->live;
    return p;
}

/* Returns buffer p (of cells doubles) to the pool. */
static void pool_put(struct eval_state *st, double *p) {
    st->pool[st->npool++] = p;
    st->live -= st->cells * sizeof(double);
}

static void release(struct eval_state *st, int i) {
    if (!st->owned[i]) return;
    pool_put(st, (double *)st->vals[i].p);
    st->vals[i].p = NULL;
    st->owned[i] = 0;
}

/* A full array for v (a temporary broadcast when v is a scalar). */
static const double *as_array(struct expr_prog *pg, struct eval_state *st, const struct expr_val *v,
                              double **tmp) {
    *tmp = NULL;
    if (v->p) return v->p;
    *tmp = alloc_cells(pg, st);
    for (size_t i = 0; i < st->cells; i++)
        (*tmp)[i] = v->s;
    return *tmp;
}

static void free_tmp(struct eval_state *st, double *tmp) {
    if (tmp) pool_put(st, tmp);
}

/* Computes node i from its (already computed) children. */
static void eval_node(struct expr_prog *pg, struct eval_state *st, const struct panel *p, int i) {
    const struct expr_node *nd = &pg->nodes[i];
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
    double *buf = alloc_cells(pg, st), *t0 = NULL, *t1 = NULL;
    if (expr_op_is_elem(nd->op)) {
        expr_eval_elem(nd->op, args, st->cells, buf);
    } else if (expr_op_is_ts(nd->op)) {
        const double *x = as_array(pg, st, &args[0], &t0);
        const double *y = nd->nargs > 1 ? as_array(pg, st, &args[1], &t1) : NULL;
        double *sc[EXPR_TS_MAX_SCRATCH];
        int nsc = expr_ts_scratch_count(nd->op, nd->win);
        for (int k = 0; k < nsc; k++)
            sc[k] = alloc_cells(pg, st);
        expr_eval_ts_scratch(nd->op, x, y, nd->win, p->dates, p->ndates, p->nsyms, buf, sc);
        for (int k = 0; k < nsc; k++)
            pool_put(st, sc[k]);
    } else {
        const double *x = as_array(pg, st, &args[0], &t0);
        expr_eval_cs(nd->op, nd->num, x, p->ndates, p->nsyms, buf);
    }
    free_tmp(st, t0);
    free_tmp(st, t1);
    out->p = buf;
    st->owned[i] = 1;
    pg->evaluated++;
}

int expr_prog_eval(struct expr_prog *pg, const struct panel *p, struct bt_err *err) {
    struct eval_state st;
    int rc = 0;
    memset(&st, 0, sizeof st);
    free_results(pg);
    pg->evaluated = 0;
    pg->peak = 0;
    if (p->ndates < 0 || p->nsyms < 0)
        return bt_err_set(err, BT_EINPUT, "panel", "panel has negative dimensions");
    st.cells = (size_t)p->ndates * (size_t)p->nsyms;
    if (p->ndates && st.cells / (size_t)p->ndates != (size_t)p->nsyms)
        return bt_err_set(err, BT_ELIMIT, "panel", "panel too large");
    if (st.cells > ((size_t)1 << 31))
        return bt_err_set(err, BT_ELIMIT, "panel", "panel has more than 2^31 cells");
    for (int i = 0; i < pg->n; i++)
        if (pg->nodes[i].op == EOP_INPUT && !p->f[pg->nodes[i].win] && st.cells)
            return bt_err_set(err, BT_EINPUT, "panel", "panel has no field %d for input",
                              pg->nodes[i].win);
    st.vals = xmalloc(((size_t)pg->n + 1) * sizeof *st.vals);
    st.owned = xmalloc((size_t)pg->n + 1);
    st.remaining = xmalloc(((size_t)pg->n + 1) * sizeof *st.remaining);
    memset(st.vals, 0, ((size_t)pg->n + 1) * sizeof *st.vals);
    memset(st.owned, 0, (size_t)pg->n + 1);
    memset(st.remaining, 0, ((size_t)pg->n + 1) * sizeof *st.remaining);
    /* every node's buffer, two broadcast temporaries and a kernel's scratch
     * can be pooled */
    st.pool = xmalloc(((size_t)pg->n + 3 + EXPR_TS_MAX_SCRATCH) * sizeof *st.pool);
    for (int i = 0; i < pg->n; i++)
        for (int k = 0; k < pg->nodes[i].nargs; k++)
            st.remaining[pg->nodes[i].a[k]]++;
    for (int r = 0; r < pg->nroots; r++)
        st.remaining[pg->roots[r]]++;
    for (int i = 0; i < pg->n; i++) {
        if (!st.remaining[i]) continue; /* orphan left behind by folding */
        eval_node(pg, &st, p, i);
        const struct expr_node *nd = &pg->nodes[i];
        for (int k = 0; k < nd->nargs; k++)
            if (--st.remaining[nd->a[k]] == 0) release(&st, nd->a[k]);
    }
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
    for (int i = 0; i < pg->n; i++)
        release(&st, i);
    while (st.npool)
        free(st.pool[--st.npool]);
    free(st.pool);
    free(st.vals);
    free(st.owned);
    free(st.remaining);
    return rc;
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
