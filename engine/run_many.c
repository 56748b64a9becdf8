/* run_many.c -- many factor x strategy pairs over one panel and one
 * expression program (shared subexpressions evaluated once). */
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "run.h"
#include "strategy.h"

int run_many(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
             int32_t to, struct run_output *outs, struct bt_err *errs, struct bt_err *err) {
    struct expr_prog *prog = expr_prog_new();
    int *idx = calloc(n > 0 ? (size_t)n : 1, sizeof *idx), rc = 0;
    if (!prog || !idx) abort();
    for (int i = 0; i < n; i++) {
        memset(&outs[i], 0, sizeof outs[i]);
        bt_err_clear(&errs[i]);
        idx[i] = expr_prog_add(prog, specs[i].factor, &errs[i]);
    }
    if ((rc = expr_prog_eval(prog, p, err))) goto fail;
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0) continue;
        /* an earlier pair with the same factor text and quantiles already
         * has the factor's ic, rank_ic and quantile returns */
        const struct run_output *same = NULL;
        for (int j = 0; j < i && !same; j++)
            if (errs[j].code == 0 && outs[j].series.n > 0 &&
                specs[j].params.quantiles == specs[i].params.quantiles &&
                strcmp(specs[j].factor, specs[i].factor) == 0)
                same = &outs[j];
        run_pair_shared(p, expr_prog_result(prog, idx[i]), specs[i].kind, &specs[i].params, from,
                        to, specs[i].state_in, specs[i].state_in_len, same, &outs[i], &errs[i]);
    }
fail:
    expr_prog_free(prog);
    free(idx);
    return rc;
}
