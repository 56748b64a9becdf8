/* planner_engine.h -- planner_hooks backed by the engine (expr.h, run.h). */
#ifndef BTPIPE_PLANNER_ENGINE_H
#define BTPIPE_PLANNER_ENGINE_H

#include "planner_core.h"

int planner_engine_expr_lookback(const char *expr, int *lookback, struct bt_err *err);
int planner_engine_param_check(const char *key, const char *value, struct bt_err *err);
void planner_engine_hooks(struct planner_hooks *h);

#endif
