/* expr_prog.h -- the shared expression graph, between the file that builds
 * it (expr_prog.c) and the one that evaluates it (expr_eval.c). Internal to
 * the engine; callers use expr.h. */
#ifndef BTPIPE_EXPR_PROG_H
#define BTPIPE_EXPR_PROG_H

#include <stddef.h>

#include "expr_int.h"

enum { PROG_MAX_NODES = 1 << 20 };

struct expr_prog {
    struct expr_node *nodes; /* the shared graph, children first */
    int n, cap;
    int *slots; /* open-addressing hash: node index or -1 */
    int nslots; /* power of two, > 2n */
    int *roots; /* graph node of each added expression */
    int nroots, rcap;
    double **results; /* per added expression, after expr_prog_eval */
    int evaluated;    /* operator nodes computed by the last evaluation */
    size_t peak;      /* peak bytes of buffers alive at once in it */
};

/* Frees the results of the last expr_prog_eval, if any. */
void expr_prog_free_results(struct expr_prog *pg);

#endif
