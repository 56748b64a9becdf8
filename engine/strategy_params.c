/* strategy_params.c -- strategy kinds and parameters from their text forms. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static const char *const kind_names[] = {"signal", "long_short_quantile", "topk_dropout"};

int run_kind_parse(const char *s, enum run_kind *out, struct bt_err *err) {
    for (int i = 0; i < 3; i++) {
        if (s && strcmp(s, kind_names[i]) == 0) {
            *out = (enum run_kind)i;
            return 0;
        }
    }
    return bt_err_set(
        err, BT_EINPUT, "strategy",
        "unknown strategy '%s' (expected signal, long_short_quantile or topk_dropout)", s ? s : "");
}

const char *run_kind_name(enum run_kind kind) {
    return (unsigned)kind < 3 ? kind_names[kind] : "?";
}

void run_params_default(struct run_params *p) {
    p->cash = 100000.0;
    p->commission = 0.0002;
    p->quantiles = 5;
    p->cost_bps = 10.0;
    p->k = 50;
    p->n = 5;
}

/* Whole-string strtod: trailing junk, empty text and non-finite values fail. */
static int parse_double(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

/* Whole-string base-10 int within [lo, hi]. */
static int parse_int(const char *v, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE || x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

int strategy_params_parse(struct run_params *p, const char *key, const char *value,
                          struct bt_err *err) {
    double x;
    if (strcmp(key, "cash") == 0) {
        if (parse_double(value, &x) || x <= 0 || x > 1e15) goto bad;
        p->cash = x;
    } else if (strcmp(key, "commission") == 0) {
        if (parse_double(value, &x) || x < 0 || x >= 1) goto bad;
        p->commission = x;
    } else if (strcmp(key, "cost_bps") == 0) {
        if (parse_double(value, &x) || x < 0 || x >= 10000) goto bad;
        p->cost_bps = x;
    } else if (strcmp(key, "quantiles") == 0) {
        if (parse_int(value, 2, RUN_MAX_QUANTILES, &p->quantiles)) goto bad;
    } else if (strcmp(key, "k") == 0) {
        if (parse_int(value, 1, 100000, &p->k)) goto bad;
    } else if (strcmp(key, "n") == 0) {
        if (parse_int(value, 0, 100000, &p->n)) goto bad;
    } else {
        return bt_err_set(err, BT_EINPUT, key,
                          "unknown parameter '%s' (expected cash, commission, quantiles, "
                          "cost_bps, k or n)",
                          key);
    }
    return 0;
bad:
    return bt_err_set(err, BT_EINPUT, key,
                      "parameter %s: bad value '%s' (cash > 0, 0 <= commission < 1, "
                      "0 <= cost_bps < 10000, quantiles 2..%d, k >= 1, n >= 0)",
                      key, value, RUN_MAX_QUANTILES);
}

int strategy_params_parse_kv(struct run_params *p, const char *kv, struct bt_err *err) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return bt_err_set(err, BT_EINPUT, kv, "parameter '%s' is not KEY=VALUE", kv);
    char key[64];
    size_t kl = (size_t)(eq - kv);
    if (kl >= sizeof key)
        return bt_err_set(err, BT_EINPUT, kv, "parameter name too long in '%s'", kv);
    memcpy(key, kv, kl);
    key[kl] = '\0';
    return strategy_params_parse(p, key, eq + 1, err);
}
