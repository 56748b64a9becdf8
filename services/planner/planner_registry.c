/* planner_registry.c -- factors, strategies and landed dates: validate, then keep.
 *
 * A registration that fails validation is refused with BT_EINPUT (what and
 * where, for the dead letter) and the previous registration stays: a bad
 * update must not retire a good factor. Versions only move forward; a lower
 * version is ignored silently because at-least-once delivery replays old
 * messages after newer ones, and that is not an operator's mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "planner_internal.h"

static char *xstrdup(const char *s) {
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

int pl_valid_id(const char *s) {
    if (!s || !*s || strlen(s) > 128) return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (; *s; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || ch == '.';
        if (!ok) return 0;
    }
    return 1;
}

int pl_valid_date(const char *s) {
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    return y >= 1800 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

void pl_factor_free(struct pl_factor *f) {
    if (!f) return;
    free(f->id);
    free(f->expr);
    free(f->universe);
    free(f);
}

void pl_strategy_free(struct pl_strategy *s) {
    if (!s) return;
    free(s->id);
    pl_free_msg(s->spec);
    free(s);
}

void pl_dataset_free(struct pl_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++)
        free(d->d[i].version);
    free(d->d);
    free(d->name);
    free(d->uri);
    free(d);
}

/* A spec's id (field names it) must be plain, and equal the message key
 * when there is one. */
static int check_spec_id(const char *field, const char *id, const char *key, struct bt_err *err) {
    if (!pl_valid_id(id))
        return bt_err_set(err, BT_EINPUT, field, "%s \"%s\" is empty or not [A-Za-z0-9_.-]{1,128}",
                          field, id ? id : "");
    if (key && *key && strcmp(key, id) != 0)
        return bt_err_set(err, BT_EINPUT, "key", "message key \"%s\" differs from %s \"%s\"", key,
                          field, id);
    return 0;
}

int planner_core_on_factor(struct planner_core *c, const char *key,
                           const Btpipe__V1__FactorSpec *spec, struct bt_err *err) {
    if (!spec) {
        if (!key || !*key)
            return bt_err_set(err, BT_EINPUT, "key", "factor tombstone without a key");
        pl_factor_free(pmap_put(&c->factors, key, NULL));
        return 0;
    }
    int rc = check_spec_id("factor_id", spec->factor_id, key, err);
    if (rc) return rc;
    if (!spec->expr || !*spec->expr)
        return bt_err_set(err, BT_EINPUT, "expr", "factor %s: empty expression", spec->factor_id);
    if (spec->universe && *spec->universe && !pl_valid_id(spec->universe))
        return bt_err_set(err, BT_EINPUT, "universe",
                          "factor %s: universe \"%s\" is not a dataset name", spec->factor_id,
                          spec->universe);
    struct pl_factor *cur = pmap_get(&c->factors, spec->factor_id);
    if (cur && spec->version < cur->version) return 0;
    if (cur && spec->version == cur->version) {
        if (strcmp(cur->expr, spec->expr) == 0 &&
            strcmp(cur->universe, spec->universe ? spec->universe : "") == 0)
            return 0; /* duplicate */
        return bt_err_set(err, BT_EINPUT, "version",
                          "factor %s version %u is already registered with another expression or "
                          "universe; bump the version",
                          spec->factor_id, spec->version);
    }
    int lookback = 0;
    struct bt_err e2 = BT_ERR_INIT;
    if (!c->hooks.expr_lookback)
        return bt_err_set(err, BT_EINTERNAL, NULL, "no expression analyser configured");
    if (c->hooks.expr_lookback(spec->expr, &lookback, &e2) != 0) {
        bt_err_set(err, BT_EINPUT, e2.where[0] ? e2.where : "expr", "factor %s: bad expression: %s",
                   spec->factor_id, e2.msg);
        return BT_EINPUT;
    }
    if (lookback < 0) lookback = 0;
    struct pl_factor *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->id = xstrdup(spec->factor_id);
    f->version = spec->version;
    f->expr = xstrdup(spec->expr);
    f->universe = xstrdup(spec->universe);
    f->lookback = lookback;
    pl_factor_free(pmap_put(&c->factors, f->id, f));
    return 0;
}

/* Same registration twice: same kind and same params in the same order. */
static int strategy_same(const Btpipe__V1__StrategySpec *a, const Btpipe__V1__StrategySpec *b) {
    if (a->kind != b->kind || a->n_params != b->n_params) return 0;
    for (size_t i = 0; i < a->n_params; i++)
        if (strcmp(a->params[i]->key, b->params[i]->key) != 0 ||
            strcmp(a->params[i]->value, b->params[i]->value) != 0)
            return 0;
    return 1;
}

int planner_core_on_strategy(struct planner_core *c, const char *key,
                             const Btpipe__V1__StrategySpec *spec, struct bt_err *err) {
    if (!spec) {
        if (!key || !*key)
            return bt_err_set(err, BT_EINPUT, "key", "strategy tombstone without a key");
        pl_strategy_free(pmap_put(&c->strategies, key, NULL));
        return 0;
    }
    int rc = check_spec_id("strategy_id", spec->strategy_id, key, err);
    if (rc) return rc;
    switch (spec->kind) {
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL:
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_LONG_SHORT_QUANTILE:
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT: break;
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_CONTAINER:
        return bt_err_set(err, BT_EINPUT, "kind",
                          "strategy %s: container strategies are not supported by this planner yet",
                          spec->strategy_id);
    default:
        return bt_err_set(err, BT_EINPUT, "kind", "strategy %s: unknown strategy kind %d",
                          spec->strategy_id, (int)spec->kind);
    }
    for (size_t i = 0; i < spec->n_params; i++) {
        const Btpipe__V1__Param *p = spec->params[i];
        char where[64];
        snprintf(where, sizeof where, "params[%zu]", i);
        if (!p->key || !*p->key)
            return bt_err_set(err, BT_EINPUT, where, "strategy %s: parameter without a key",
                              spec->strategy_id);
        struct bt_err e2 = BT_ERR_INIT;
        if (c->hooks.param_check && c->hooks.param_check(p->key, p->value, &e2) != 0) {
            snprintf(where, sizeof where, "params[%zu] (%s)", i, p->key);
            return bt_err_set(err, BT_EINPUT, where, "strategy %s: bad parameter: %s",
                              spec->strategy_id, e2.msg);
        }
    }
    struct pl_strategy *cur = pmap_get(&c->strategies, spec->strategy_id);
    if (cur && spec->version < cur->version) return 0;
    if (cur && spec->version == cur->version) {
        if (strategy_same(cur->spec, spec)) return 0;
        return bt_err_set(err, BT_EINPUT, "version",
                          "strategy %s version %u is already registered with another kind or "
                          "parameters; bump the version",
                          spec->strategy_id, spec->version);
    }
    struct pl_strategy *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->id = xstrdup(spec->strategy_id);
    s->version = spec->version;
    s->spec = pl_clone(spec);
    pl_strategy_free(pmap_put(&c->strategies, s->id, s));
    return 0;
}

long pl_date_index(const struct pl_dataset *ds, const char *date) {
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcmp(ds->d[mid].date, date);
        if (r == 0) return (long)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Recomputes the history chain from index i on (after an insert or a change). */
static void rechain(struct pl_dataset *ds, size_t i) {
    struct buf b = BUF_INIT;
    for (; i < ds->n; i++) {
        buf_reset(&b);
        buf_printf(&b, "%s\n%s=%s", i ? ds->d[i - 1].chain : "", ds->d[i].date, ds->d[i].version);
        pl_hex_sha256(b.p, b.len, ds->d[i].chain, 64);
    }
    buf_free(&b);
}

int planner_core_on_increment(struct planner_core *c, const Btpipe__V1__DataIncrement *inc,
                              struct bt_err *err) {
    if (!inc) return 0;
    if (!pl_valid_id(inc->dataset))
        return bt_err_set(err, BT_EINPUT, "dataset",
                          "dataset \"%s\" is empty or not [A-Za-z0-9_.-]",
                          inc->dataset ? inc->dataset : "");
    if (!pl_valid_date(inc->trading_date))
        return bt_err_set(err, BT_EINPUT, "trading_date", "trading_date \"%s\" is not YYYY-MM-DD",
                          inc->trading_date ? inc->trading_date : "");
    if (!inc->data_version || !*inc->data_version || strlen(inc->data_version) > 128)
        return bt_err_set(err, BT_EINPUT, "data_version",
                          "%s/%s: data_version is empty or too long", inc->dataset,
                          inc->trading_date);
    if (inc->layout && *inc->layout && strcmp(inc->layout, "daily") != 0)
        return bt_err_set(err, BT_EINPUT, "layout", "%s/%s: layout \"%s\" is not supported (daily)",
                          inc->dataset, inc->trading_date, inc->layout);
    if (inc->uri && *inc->uri && strncmp(inc->uri, "s3://", 5) != 0 &&
        strncmp(inc->uri, "file://", 7) != 0)
        return bt_err_set(err, BT_EINPUT, "uri", "%s/%s: uri \"%s\" is neither s3:// nor file://",
                          inc->dataset, inc->trading_date, inc->uri);
    struct pl_dataset *ds = pmap_get(&c->datasets, inc->dataset);
    if (!ds) {
        ds = calloc(1, sizeof *ds);
        if (!ds) abort();
        ds->name = xstrdup(inc->dataset);
        ds->uri = xstrdup("");
        pmap_put(&c->datasets, ds->name, ds);
    }
    if (inc->uri && *inc->uri && inc->detected_at_ms >= ds->uri_at_ms) {
        free(ds->uri);
        ds->uri = xstrdup(inc->uri);
        ds->uri_at_ms = inc->detected_at_ms;
    }
    long at = pl_date_index(ds, inc->trading_date);
    if (at >= 0) {
        struct pl_date *d = &ds->d[at];
        if (strcmp(d->version, inc->data_version) == 0) return 0; /* replay */
        /* The later detection wins; a tie goes to the larger version so that
         * any order of the same messages gives the same state. */
        if (inc->detected_at_ms < d->detected_at_ms ||
            (inc->detected_at_ms == d->detected_at_ms && strcmp(inc->data_version, d->version) < 0))
            return 0;
        free(d->version);
        d->version = xstrdup(inc->data_version);
        d->detected_at_ms = inc->detected_at_ms;
        rechain(ds, (size_t)at);
        return 0;
    }
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? ds->cap * 2 : 64;
        ds->d = realloc(ds->d, ds->cap * sizeof *ds->d);
        if (!ds->d) abort();
    }
    size_t pos = 0;
    while (pos < ds->n && strcmp(ds->d[pos].date, inc->trading_date) < 0)
        pos++;
    memmove(ds->d + pos + 1, ds->d + pos, (ds->n - pos) * sizeof *ds->d);
    memset(&ds->d[pos], 0, sizeof ds->d[pos]);
    memcpy(ds->d[pos].date, inc->trading_date, 11);
    ds->d[pos].version = xstrdup(inc->data_version);
    ds->d[pos].detected_at_ms = inc->detected_at_ms;
    ds->n++;
    rechain(ds, pos);
    return 0;
}
