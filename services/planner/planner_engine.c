/* planner_engine.c -- the engine's static analysis as the core's hooks.
 *
 * Kept out of planner_core.c so that the core's logic does not depend on the
 * engine being built; main.c and the tests plug these in. */
#include "planner_engine.h"

#include "expr.h"
#include "run.h"

int planner_engine_expr_lookback(const char *expr, int *lookback, struct bt_err *err) {
    return expr_lookback_text(expr, lookback, err);
}

int planner_engine_param_check(const char *key, const char *value, struct bt_err *err) {
    struct run_params p;
    run_params_default(&p);
    return strategy_params_parse(&p, key, value ? value : "", err);
}

void planner_engine_hooks(struct planner_hooks *h) {
    h->expr_lookback = planner_engine_expr_lookback;
    h->param_check = planner_engine_param_check;
}
