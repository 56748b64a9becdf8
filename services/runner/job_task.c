/* job_task.c -- one task of job mode: load, evaluate, run, write, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "data.h"
#include "expr.h"
#include "job.h"
#include "run.h"

int job_is_input_error(int code) {
    return code == BT_EINPUT || code == BT_ENOTFOUND || code == BT_ELIMIT;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* YYYY-MM-DD.csv[.gz] at the end of a URI -> YYYYMMDD, or 0. */
static int32_t object_date(const char *uri) {
    const char *base = strrchr(uri, '/');
    base = base ? base + 1 : uri;
    if (strlen(base) < 14 || (strcmp(base + 10, ".csv") != 0 && strcmp(base + 10, ".csv.gz") != 0))
        return 0;
    char d[11];
    memcpy(d, base, 10);
    d[10] = 0;
    int32_t out = 0;
    struct bt_err err = BT_ERR_INIT;
    if (data_parse_date(d, &out, &err) != 0) return 0;
    return out;
}

size_t job_pick_objects(const struct storage_entry *e, size_t n, int32_t from, int32_t to,
                        size_t *idx) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t d = object_date(e[i].uri);
        if (d && d >= from && d <= to) idx[k++] = i;
    }
    return k;
}

/* StrategyKind -> the engine's kind name, NULL when the runner has none. */
static const char *kind_name(int kind) {
    switch (kind) {
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL: return "signal";
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_LONG_SHORT_QUANTILE: return "long_short_quantile";
    case BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT: return "topk_dropout";
    default: return NULL;
    }
}

/* Deep copy via pack+unpack: the completion is built from borrowed pieces. */
static Btpipe__V1__JobCompletion *clone_completion(const Btpipe__V1__JobCompletion *c) {
    size_t n = btpipe__v1__job_completion__get_packed_size(c);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) abort();
    btpipe__v1__job_completion__pack(c, b);
    Btpipe__V1__JobCompletion *r = btpipe__v1__job_completion__unpack(NULL, n, b);
    free(b);
    if (!r) abort();
    return r;
}

void job_completion_free(Btpipe__V1__JobCompletion *c) {
    if (c) btpipe__v1__job_completion__free_unpacked(c, NULL);
}

/* The fields every completion of t carries. */
static void completion_base(Btpipe__V1__JobCompletion *c, Btpipe__V1__Meta *meta, char *id,
                            size_t idcap, const Btpipe__V1__Task *t, const char *plan_id,
                            uint32_t attempt, const char *producer) {
    snprintf(id, idcap, "%s/%s", t->task_key, t->data_version);
    btpipe__v1__meta__init(meta);
    meta->id = id;
    meta->produced_at_ms = wall_ms();
    meta->producer = (char *)producer;
    meta->schema = 1;
    c->meta = meta;
    c->task_key = t->task_key;
    c->plan_id = (char *)plan_id;
    c->attempt = attempt;
    c->data_version = t->data_version;
    c->strategy_id = t->strategy_id;
    c->factor_id = t->factor_id;
    c->dataset = t->dataset;
    c->from_date = t->from_date;
    c->to_date = t->to_date;
    c->strategy_version = t->strategy_version;
    c->factor_version = t->factor_version;
}

Btpipe__V1__JobCompletion *job_completion_error(const Btpipe__V1__Task *t, const char *plan_id,
                                                uint32_t attempt, int status, const char *error,
                                                const char *producer, int64_t started_ms) {
    Btpipe__V1__JobCompletion c = BTPIPE__V1__JOB_COMPLETION__INIT;
    Btpipe__V1__Meta meta;
    char id[1024];
    completion_base(&c, &meta, id, sizeof id, t, plan_id, attempt, producer);
    c.status = status;
    c.error = (char *)error;
    c.started_at_ms = started_ms;
    c.finished_at_ms = wall_ms();
    return clone_completion(&c);
}

/* Lists data_uri and loads the daily objects of [from, to] into p. */
static int load_panel(struct storage *st, const char *data_uri, int32_t from, int32_t to,
                      struct panel *p, struct bt_err *err) {
    struct storage_entry *ents = NULL;
    size_t nents = 0, *idx = NULL, nidx = 0;
    struct buf *bodies = NULL;
    struct data_source *srcs = NULL;
    struct buf prefix = BUF_INIT;
    int rc;
    buf_puts(&prefix, data_uri);
    if (prefix.len && prefix.p[prefix.len - 1] != '/') buf_putc(&prefix, '/');
    if ((rc = storage_list(st, prefix.p, &ents, &nents, err))) goto fail;
    idx = calloc(nents ? nents : 1, sizeof *idx);
    if (!idx) abort();
    nidx = job_pick_objects(ents, nents, from, to, idx);
    if (!nidx) {
        rc = bt_err_set(err, BT_ENOTFOUND, data_uri,
                        "no daily objects (YYYY-MM-DD.csv[.gz]) for %d..%d under %s", from, to,
                        data_uri);
        goto fail;
    }
    bodies = calloc(nidx, sizeof *bodies);
    srcs = calloc(nidx, sizeof *srcs);
    if (!bodies || !srcs) abort();
    for (size_t i = 0; i < nidx; i++) {
        const struct storage_entry *e = &ents[idx[i]];
        if ((rc = storage_read(st, e->uri, &bodies[i], err))) {
            /* listed a moment ago: a missing object now is a race, not bad input */
            if (rc == BT_ENOTFOUND) rc = err->code = BT_ENET;
            goto fail;
        }
        srcs[i].name = e->uri;
        srcs[i].bytes = bodies[i].p ? bodies[i].p : "";
        srcs[i].len = bodies[i].len;
    }
    struct data_opts opts = {from, to, NULL};
    rc = data_load_sources(srcs, nidx, DATA_LAYOUT_DAILY, &opts, p, err);
fail:
    if (bodies)
        for (size_t i = 0; i < nidx; i++)
            buf_free(&bodies[i]);
    free(bodies);
    free(srcs);
    free(idx);
    storage_entries_free(ents, nents);
    buf_free(&prefix);
    return rc;
}

/* Parses a task date field, naming it on error. */
static int task_date(const char *s, const char *field, int32_t *out, struct bt_err *err) {
    if (data_parse_date(s ? s : "", out, err) == 0) return 0;
    return bt_err_set(err, BT_EINPUT, field, "task %s \"%s\" is not a date", field, s ? s : "");
}

int job_run_task(struct storage *st, const Btpipe__V1__Task *t, const char *plan_id,
                 uint32_t attempt, const char *producer, Btpipe__V1__JobCompletion **out,
                 struct bt_err *err) {
    struct panel p = {0};
    struct run_output ro = {0};
    struct run_params prm;
    struct buf state = BUF_INIT, csv = BUF_INIT;
    double *factor = NULL;
    Btpipe__V1__DailyPoint *pts = NULL, **ptp = NULL;
    char(*dates)[11] = NULL;
    int32_t from, to, warm;
    int rc, lookback;
    int64_t started = wall_ms();
    *out = NULL;
    const char *kind = kind_name(t->kind);
    if (!kind) {
        rc = bt_err_set(err, BT_EINPUT, "kind", "task %s: strategy kind %d cannot run here",
                        t->task_key, (int)t->kind);
        goto fail;
    }
    if ((rc = task_date(t->from_date, "from_date", &from, err)) ||
        (rc = task_date(t->to_date, "to_date", &to, err)))
        goto fail;
    if (!t->warmup_from || !*t->warmup_from)
        warm = from;
    else if ((rc = task_date(t->warmup_from, "warmup_from", &warm, err)))
        goto fail;
    if (warm > from || from > to) {
        rc = bt_err_set(err, BT_EINPUT, "from_date", "task %s: dates out of order", t->task_key);
        goto fail;
    }
    if (!t->data_uri || !*t->data_uri || !t->series_uri || !*t->series_uri) {
        rc = bt_err_set(err, BT_EINPUT, "data_uri", "task %s: data_uri and series_uri are required",
                        t->task_key);
        goto fail;
    }
    if (t->layout && *t->layout && strcmp(t->layout, "daily") != 0) {
        rc = bt_err_set(err, BT_EINPUT, "layout", "task %s: layout %s is not supported",
                        t->task_key, t->layout);
        goto fail;
    }
    run_params_default(&prm);
    for (size_t i = 0; i < t->n_params; i++)
        if ((rc = strategy_params_parse(&prm, t->params[i]->key, t->params[i]->value, err)))
            goto fail;
    if ((rc = expr_lookback_text(t->expr ? t->expr : "", &lookback, err))) goto fail;
    if (t->state_in_uri && *t->state_in_uri &&
        (rc = storage_read(st, t->state_in_uri, &state, err))) {
        /* The planner releases a task only after its predecessor succeeded,
         * so a missing state is a lagging store: worth a retry. */
        if (rc == BT_ENOTFOUND) rc = err->code = BT_ENET;
        goto fail;
    }
    if ((rc = load_panel(st, t->data_uri, warm, to, &p, err))) goto fail;
    if ((rc = expr_eval_text(t->expr, &p, &factor, err))) goto fail;
    if ((rc = run_pair(&p, factor, kind, &prm, from, to, state.len ? state.p : NULL, state.len, &ro,
                       err)))
        goto fail;
    cli_series_csv(&ro.series, &csv);
    if ((rc = storage_write(st, t->series_uri, csv.p, csv.len, err))) goto fail;
    if (t->state_out_uri && *t->state_out_uri &&
        (rc = storage_write(st, t->state_out_uri, ro.state, ro.state_len, err)))
        goto fail;

    Btpipe__V1__JobCompletion c = BTPIPE__V1__JOB_COMPLETION__INIT;
    Btpipe__V1__Meta meta;
    Btpipe__V1__Metrics m = BTPIPE__V1__METRICS__INIT;
    char id[1024];
    completion_base(&c, &meta, id, sizeof id, t, plan_id, attempt, producer);
    const struct run_summary *s = &ro.summary;
    m.final_value = s->final_value;
    m.total_return = s->total_return;
    m.annual_return = s->annual_return;
    m.annual_volatility = s->annual_volatility;
    m.sharpe = s->sharpe;
    m.sortino = s->sortino;
    m.max_drawdown = s->max_drawdown;
    m.calmar = s->calmar;
    m.win_rate = s->win_rate;
    m.turnover = s->turnover;
    m.ic_mean = s->ic_mean;
    m.ic_std = s->ic_std;
    m.ic_ir = s->ic_ir;
    m.rank_ic_mean = s->rank_ic_mean;
    m.rank_ic_std = s->rank_ic_std;
    m.rank_ic_ir = s->rank_ic_ir;
    m.days = (uint32_t)s->days;
    int n = ro.series.n;
    pts = calloc(n ? (size_t)n : 1, sizeof *pts);
    ptp = calloc(n ? (size_t)n : 1, sizeof *ptp);
    dates = calloc(n ? (size_t)n : 1, sizeof *dates);
    if (!pts || !ptp || !dates) abort();
    for (int i = 0; i < n; i++) {
        int d = ro.series.date[i];
        btpipe__v1__daily_point__init(&pts[i]);
        snprintf(dates[i], sizeof dates[i], "%04d-%02d-%02d", d / 10000, d / 100 % 100, d % 100);
        pts[i].date = dates[i];
        pts[i].ret = ro.series.ret[i];
        pts[i].value = ro.series.value[i];
        pts[i].turnover = ro.series.turnover[i];
        pts[i].ic = ro.series.ic[i];
        pts[i].rank_ic = ro.series.rank_ic[i];
        ptp[i] = &pts[i];
    }
    c.status = BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED;
    c.error = "";
    c.series_uri = t->series_uri;
    c.metrics = &m;
    c.started_at_ms = started;
    c.finished_at_ms = wall_ms();
    c.n_points = (size_t)n;
    c.points = ptp;
    *out = clone_completion(&c);
    rc = 0;
fail:
    free(pts);
    free(ptp);
    free(dates);
    free(factor);
    run_output_free(&ro);
    panel_free(&p);
    buf_free(&state);
    buf_free(&csv);
    return rc;
}
