/* run.c -- one factor x strategy pair over a panel: the daily loop, the
 * series, the metrics and the state carried out (contract in run.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics_calc.h"
#include "run.h"
#include "state.h"
#include "strategy.h"

/* calloc that aborts, as buf.h does: a run that cannot allocate is over. */
static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

void book_init(struct run_book *b, enum run_kind kind, int nsyms, const struct run_params *prm) {
    size_t n = nsyms > 0 ? (size_t)nsyms : 1;
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->nsyms = nsyms;
    b->value = prm->cash;
    b->cash = kind == RUN_TOPK_DROPOUT ? prm->cash : 0;
    b->last_close = xcalloc(n, sizeof(double));
    b->pos = xcalloc(n, sizeof(double));
    b->cash_s = xcalloc(n, sizeof(double));
    b->pend = xcalloc(n, sizeof(double));
    b->entry = xcalloc(n, sizeof(double));
    for (int s = 0; s < nsyms; s++) {
        b->last_close[s] = NAN;
        if (kind == RUN_SIGNAL) b->cash_s[s] = prm->cash / nsyms;
    }
}

void book_free(struct run_book *b) {
    free(b->last_close);
    free(b->pos);
    free(b->cash_s);
    free(b->pend);
    free(b->entry);
    memset(b, 0, sizeof *b);
}

void strategy_sync_last_close(struct run_book *b, const struct panel *p, int d0, int d1) {
    const double *close = p->f[PF_CLOSE];
    for (int s = 0; s < b->nsyms; s++)
        for (int d = d1; d >= d0; d--) {
            double c = close[panel_idx(p, d, s)];
            if (isfinite(c)) {
                b->last_close[s] = c;
                break;
            }
        }
}

void run_output_free(struct run_output *out) {
    run_series_free(&out->series);
    free(out->state);
    memset(out, 0, sizeof *out);
}

/* Parameters a caller built by hand get the same checks as parsed ones. */
static int params_check(const struct run_params *prm, struct bt_err *err) {
    if (!(prm->cash > 0) || !isfinite(prm->cash))
        return bt_err_set(err, BT_EINPUT, "cash", "parameter cash must be > 0");
    if (!(prm->commission >= 0 && prm->commission < 1))
        return bt_err_set(err, BT_EINPUT, "commission", "parameter commission must be in [0, 1)");
    if (!(prm->cost_bps >= 0 && prm->cost_bps < 10000))
        return bt_err_set(err, BT_EINPUT, "cost_bps", "parameter cost_bps must be in [0, 10000)");
    if (prm->quantiles < 2 || prm->quantiles > RUN_MAX_QUANTILES)
        return bt_err_set(err, BT_EINPUT, "quantiles", "parameter quantiles must be in 2..%d",
                          RUN_MAX_QUANTILES);
    if (prm->k < 1 || prm->n < 0)
        return bt_err_set(err, BT_EINPUT, "k", "parameters k >= 1 and n >= 0 are required");
    return 0;
}

/* Panel row range [*d0, *d1] of the dates in [from, to] (0 = open). */
static int run_range(const struct panel *p, int32_t from, int32_t to, int *d0, int *d1,
                     struct bt_err *err) {
    if (from && to && from > to)
        return bt_err_set(err, BT_EINPUT, "from", "--from %d is after --to %d", (int)from, (int)to);
    *d0 = from ? panel_lower_date(p, from) : 0;
    *d1 = p->ndates - 1;
    if (to) *d1 = panel_lower_date(p, to + 1) - 1; /* YYYYMMDD + 1 orders after every date <= to */
    if (p->ndates == 0 || *d0 > *d1)
        return bt_err_set(err, BT_ENOTFOUND, NULL, "no data date in the range %d..%d", (int)from,
                          (int)to);
    return 0;
}

/* The factor columns of the series over rows d0..d1 (ic, rank_ic) and the
 * mean next-day return per quantile into qret: metrics_factor_stats. */
static void factor_stats(const struct panel *p, const double *factor, const struct run_order *fo,
                         const struct run_order *ro, int d0, int d1, int q, double *scratch,
                         int *iscratch, struct run_series *s, double *qret) {
    metrics_factor_stats(p, factor, fo, ro, d0, d1, q, scratch, iscratch, s->ic, s->rank_ic, qret);
}

/* o if it covers dates lo..hi, else *own built from x over them. */
static const struct run_order *order_for(const struct run_order *o, struct run_order *own,
                                         const struct panel *p, const double *x, int lo, int hi) {
    if (o && o->d0 <= lo && o->d1 >= hi && o->nsyms == p->nsyms) return o;
    if (x)
        run_order_build(own, x, p->nsyms, lo, hi);
    else
        run_order_returns(own, p, lo, hi);
    return own;
}

int run_pair(const struct panel *p, const double *factor, const char *kind_s,
             const struct run_params *params, int32_t from, int32_t to, const void *state_in,
             size_t state_in_len, struct run_output *out, struct bt_err *err) {
    return run_pair_shared(p, factor, kind_s, params, from, to, state_in, state_in_len, NULL, out,
                           err);
}

int run_pair_shared(const struct panel *p, const double *factor, const char *kind_s,
                    const struct run_params *params, int32_t from, int32_t to, const void *state_in,
                    size_t state_in_len, const struct run_shared *sh, struct run_output *out,
                    struct bt_err *err) {
    static const struct run_shared none = {NULL, NULL, NULL};
    struct run_order own_fo = {0}, own_ro = {0};
    struct run_book b;
    struct run_params prm;
    struct buf st = BUF_INIT;
    enum run_kind kind;
    int d0 = 0, d1 = -1, rc;
    double *scratch = NULL;
    int *iscratch = NULL;
    memset(out, 0, sizeof *out);
    memset(&b, 0, sizeof b);
    if ((rc = run_kind_parse(kind_s, &kind, err))) return rc;
    if (params)
        prm = *params;
    else
        run_params_default(&prm);
    if ((rc = params_check(&prm, err)) || (rc = run_range(p, from, to, &d0, &d1, err))) return rc;
    book_init(&b, kind, p->nsyms, &prm);
    double initial = prm.cash;
    if (state_in) {
        if ((rc = state_read(state_in, state_in_len, p, &b, err))) goto fail;
        if (d0 == 0 || b.date != p->dates[d0 - 1]) {
            rc = bt_err_set(err, BT_EINPUT, "state",
                            "the state ends on %d but the run starts on %d: it must end on the "
                            "data date just before (%d)",
                            (int)b.date, (int)p->dates[d0], d0 > 0 ? (int)p->dates[d0 - 1] : 0);
            goto fail;
        }
        initial = b.value;
    }
    size_t ns = p->nsyms > 0 ? (size_t)p->nsyms : 1;
    if (!sh) sh = &none;
    const struct run_output *stats_from = sh->stats_from;
    int q = prm.quantiles;
    int share_stats = stats_from && stats_from->series.n == d1 - d0 + 1 &&
                      stats_from->summary.nq == q && d1 >= d0 &&
                      stats_from->series.date[0] == p->dates[d0];
    /* the factor's orders: strategies read dates d0..d1, the IC d0-1.. */
    const struct run_order *fo = NULL, *ro = NULL;
    if (kind != RUN_SIGNAL || !share_stats)
        fo = order_for(sh->factor_order, &own_fo, p, factor, d0 > 0 ? d0 - 1 : 0, d1);
    if (!share_stats) ro = order_for(sh->ret_order, &own_ro, p, NULL, d0, d1);
    scratch = xcalloc(4 * ns, sizeof *scratch);
    iscratch = xcalloc(5 * ns, sizeof *iscratch);
    run_series_alloc(&out->series, d1 - d0 + 1);
    double prev = initial;
    for (int d = d0; d <= d1; d++) {
        struct run_day day = {0, 0};
        int row = d - d0;
        if (kind == RUN_SIGNAL)
            strategy_signal_step(&b, p, factor, d, &prm, &day);
        else if (kind == RUN_LONG_SHORT_QUANTILE)
            strategy_lsq_step(&b, p, factor, fo, d, &prm, scratch, iscratch, &day);
        else
            strategy_topk_step(&b, p, factor, fo, d, &prm, iscratch, &day);
        b.value = day.value;
        out->series.date[row] = p->dates[d];
        out->series.value[row] = day.value;
        out->series.ret[row] = day.value / prev - 1.0;
        out->series.turnover[row] = day.value != 0 ? day.traded / day.value : NAN;
        prev = day.value;
    }
    double qret[RUN_MAX_QUANTILES] = {0};
    if (share_stats) {
        size_t bytes = sizeof(double) * (size_t)out->series.n;
        memcpy(out->series.ic, stats_from->series.ic, bytes);
        memcpy(out->series.rank_ic, stats_from->series.rank_ic, bytes);
        memcpy(qret, stats_from->summary.quantile_ret, sizeof qret);
    } else {
        factor_stats(p, factor, fo, ro, d0, d1, q, scratch, iscratch, &out->series, qret);
    }
    /* topk_dropout marks only the names it holds */
    if (kind == RUN_TOPK_DROPOUT) strategy_sync_last_close(&b, p, d0, d1);
    b.date = p->dates[d1];
    if ((rc = state_write(&b, p, &st, err))) goto fail;
    out->state_len = st.len;
    out->state = (unsigned char *)buf_detach(&st);
    metrics_from_series(&out->series, initial, &out->summary);
    out->summary.nq = q;
    memcpy(out->summary.quantile_ret, qret, sizeof qret);
    rc = 0;
fail:
    if (rc) run_output_free(out);
    buf_free(&st);
    book_free(&b);
    run_order_free(&own_fo);
    run_order_free(&own_ro);
    free(scratch);
    free(iscratch);
    return rc;
}
