/* fuzz_expr.c -- libFuzzer target for the factor language: each input line
 * is an expression; all are parsed into one program (exercising the shared
 * graph) and evaluated on a tiny fixed panel. Checks the invariants a caller
 * relies on: errors are positioned, results are finite or NaN, and lookback
 * is within the bounds. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "panel.h"

enum { ND = 40, NS = 5 };

static struct panel panel;

/* A fixed panel with trends, ties, zeros, negatives and NaN holes. */
static void build_panel(void) {
    if (panel_alloc(&panel, ND, NS)) abort();
    for (int d = 0; d < ND; d++) /* real dates, so long windows take the block-sum path */
        panel.dates[d] = d < 31 ? 20200101 + d : 20200201 + (d - 31);
    for (int s = 0; s < NS; s++) {
        char name[8];
        snprintf(name, sizeof name, "S%d", s);
        panel_set_sym(&panel, s, name);
    }
    for (int f = 0; f < PF_COUNT; f++)
        for (int d = 0; d < ND; d++)
            for (int s = 0; s < NS; s++) {
                double v = 10 + f + s * 0.5 + ((d * 7 + s * 3 + f) % 11) - 5 * (s == 3);
                if (s == 2) v = 3;               /* constant series: ties, zero variance */
                if ((d + s) % 13 == 0) v = NAN;  /* holes */
                if (s == 4 && d % 5 == 0) v = 0; /* zeros: division, log */
                panel.f[f][panel_idx(&panel, d, s)] = v;
            }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!panel.f[0]) build_panel();
    if (size > EXPR_MAX_TEXT + 16) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct expr_prog *pg = expr_prog_new(), *streamed = expr_prog_new();
    int added = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct bt_err err = BT_ERR_INIT;
        struct expr_ast *ast = NULL;
        int rc = expr_parse(line, &ast, &err);
        if (rc) {
            /* every error names a position */
            if (strncmp(err.where, "expr", 4) != 0 || !err.msg[0]) abort();
            if (ast) abort();
            continue;
        }
        int lb = expr_lookback(ast);
        if (lb < 0 || lb > EXPR_MAX_NODES * EXPR_MAX_WINDOW) abort();
        expr_free(ast);
        int idx = expr_prog_add(pg, line, &err);
        if (idx != added) abort();
        if (expr_prog_lookback(pg, idx) != lb) abort();
        if (expr_prog_add(streamed, line, &err) != idx) abort();
        added++;
    }
    struct bt_err err = BT_ERR_INIT;
    if (added) {
        if (expr_prog_eval(pg, &panel, &err)) abort();
        for (int i = 0; i < added; i++) {
            const double *v = expr_prog_result(pg, i);
            for (int c = 0; c < ND * NS; c++)
                if (isinf(v[c])) abort();
        }
        if (expr_prog_evaluated(pg) != expr_prog_node_count(pg)) abort();
        /* streamed two at a time: each once, the same bits */
        struct expr_stream *s = NULL;
        int out[2], k, total = 0;
        if (expr_stream_begin(streamed, &panel, &s, &err)) abort();
        while ((k = expr_stream_next(s, out, 2)) > 0)
            for (int t = 0; t < k; t++, total++) {
                const double *v = expr_stream_result(s, out[t]);
                if (!v || memcmp(v, expr_prog_result(pg, out[t]), sizeof(double) * ND * NS))
                    abort();
                expr_stream_release(s, out[t]);
            }
        if (total != added) abort();
        expr_stream_end(s);
    }
    expr_prog_free(pg);
    expr_prog_free(streamed);
    free(text);
    return 0;
}
