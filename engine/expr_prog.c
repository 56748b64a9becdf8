/* expr_prog.c -- many expressions as one graph with shared subexpressions.
 *
 * Each added AST is interned node by node into a hash-consed graph: a node
 * is identified by (op, children, window, literal), children already being
 * graph indices, so identical subtrees anywhere in any expression become
 * one node. Commutative operators order their children first, and
 * elementwise operators over literals fold into a literal.
 *
 * Evaluation is expr_eval.c's. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "expr_int.h"
#include "expr_prog.h"

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

void expr_prog_free_results(struct expr_prog *pg) {
    if (!pg->results) return;
    for (int i = 0; i < pg->nroots; i++)
        free(pg->results[i]);
    free(pg->results);
    pg->results = NULL;
}

void expr_prog_free(struct expr_prog *pg) {
    if (!pg) return;
    expr_prog_free_results(pg);
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
    expr_prog_free_results(pg); /* results no longer line up with the roots */
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
