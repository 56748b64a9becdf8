/* strategy.h -- the book a run carries from day to day, and the three
 * strategies that advance it one date at a time (engine-internal).
 *
 * Everything a later run needs to continue exactly where an earlier one
 * stopped lives in struct run_book and nothing else: that is what makes the
 * state file sufficient for bit-identical incremental runs. The factor's own
 * history is not state: it is recomputed from the warm-up rows. */
#ifndef BTPIPE_STRATEGY_H
#define BTPIPE_STRATEGY_H

#include <stdint.h>

#include "panel.h"
#include "run.h"

/* Per-symbol fields, all arrays of nsyms in panel symbol order. Their
 * meaning depends on the kind:
 *   signal   pos = shares held, cash = the symbol's sleeve of cash,
 *            pend = shares of the order waiting for the next open
 *            (+ buy, - sell, 0 none), entry = average price of the position
 *   long_short_quantile  pos = signed exposure in currency
 *   topk_dropout         pos = value held in currency (> 0 = held)
 * last_close is the symbol's last close seen (NaN before its first bar): it
 * marks positions across days without a bar. */
struct run_book {
    enum run_kind kind;
    int32_t date; /* last date applied; 0 = fresh */
    double value; /* portfolio value at that close */
    double cash;  /* topk_dropout: uninvested cash; unused otherwise */
    int nsyms;
    double *last_close, *pos, *cash_s, *pend, *entry;
};

/* What one date did: the row's numbers. */
struct run_day {
    double value;
    double traded; /* notional traded this date, currency */
};

/* Per date d in [d0, d1], the symbols whose value x[d*nsyms + s] is not NaN,
 * in ascending order of (value, symbol): the one sort each (factor, date)
 * needs. The IC, the quantile buckets and the strategies each want the
 * same cross-section sorted, only filtered differently, so one order per
 * factor serves them all and every pair over that factor (run_many). */
struct run_order {
    int d0, d1, nsyms;
    int *cnt;     /* per date (d - d0): how many symbols it lists */
    int *sym;     /* date d's list at sym + (d - d0) * nsyms */
    double *val;  /* run_order_returns only: the returns, laid out as sym */
    double *rank; /* run_order_returns only: per date, the average ranks of
                     the cnt valid returns, in symbol order (laid out as sym):
                     the rank IC's y side whenever a factor covers them all */
};

/* Orders of x over dates d0..d1 (d1 < d0: empty). Aborts on OOM. */
void run_order_build(struct run_order *o, const double *x, int nsyms, int d0, int d1);
/* Orders of the close-to-close returns close d-1 -> close d (NaN without
 * both closes or with close d-1 == 0; date 0 has none): the IC's y side.
 * Keeps the returns in val, so every factor's IC reuses them too. */
void run_order_returns(struct run_order *o, const struct panel *p, int d0, int d1);
void run_order_free(struct run_order *o);

/* Date d's values of a run_order_returns order (nsyms, NaN = none). */
static inline const double *run_order_val(const struct run_order *o, int d) {
    return o->val + (size_t)(d - o->d0) * (size_t)(o->nsyms > 0 ? o->nsyms : 1);
}

/* Date d's ranks of a run_order_returns order. */
static inline const double *run_order_rank(const struct run_order *o, int d) {
    return o->rank + (size_t)(d - o->d0) * (size_t)(o->nsyms > 0 ? o->nsyms : 1);
}

/* Date d's list (n symbols), or NULL when o does not cover d. */
static inline const int *run_order_at(const struct run_order *o, int d, int *n) {
    if (!o || d < o->d0 || d > o->d1) return NULL;
    *n = o->cnt[d - o->d0];
    return o->sym + (size_t)(d - o->d0) * (size_t)(o->nsyms > 0 ? o->nsyms : 1);
}

/* A fresh book: value = cash; signal gives each symbol cash / nsyms. */
void book_init(struct run_book *b, enum run_kind kind, int nsyms, const struct run_params *prm);
void book_free(struct run_book *b);

/* Advance the book through panel date d (see run.h for the order of events
 * within a date). factor is the whole date-major factor array. */
void strategy_signal_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                          const struct run_params *prm, struct run_day *out);
/* The per-symbol loops of the three strategies run on AVX-512 where
 * cpu_level() allows (cpu.h), else as portable C, always with the same
 * double operations, so the same bits. */
/* The cross-sectional ones also take `order`, the factor's run_order (it
 * must cover d); scratch is 2*nsyms doubles, iscratch 5*nsyms ints. */
void strategy_lsq_step(struct run_book *b, const struct panel *p, const double *factor,
                       const struct run_order *order, int d, const struct run_params *prm,
                       double *scratch, int *iscratch, struct run_day *out);
void strategy_topk_step(struct run_book *b, const struct panel *p, const double *factor,
                        const struct run_order *order, int d, const struct run_params *prm,
                        int *iscratch, struct run_day *out);

/* Moves the positions (currency amounts) of the n listed symbols (in symbol
 * order; at least every one with a position) by their close-to-close
 * return, a day without a bar counting as unchanged, and records their
 * closes; returns the day's profit, the same bits as a walk over every
 * symbol. The closes of the names not listed are the caller's to record
 * (strategy_sync_last_close). Shared by long_short_quantile and
 * topk_dropout. */
double strategy_mark_list(struct run_book *b, const struct panel *p, int d, const int *list, int n);
/* The symbols with a position (pos != 0), ascending, into list; returns
 * how many. */
int strategy_held(const struct run_book *b, int *list);
/* cash + the sum of every position in symbol order, bit for bit, from the
 * n names strategy_held listed. */
double strategy_book_sum(const struct run_book *b, const int *list, int n);
/* Each symbol's last close as a walk over dates d0..d1 would have left it:
 * its last finite close there, else what the book held. */
void strategy_sync_last_close(struct run_book *b, const struct panel *p, int d0, int d1);

/* alphalens/pandas.qcut bucket (0-based, 0 = lowest) of each of the n values
 * x (all finite) into q quantiles: edges are numpy's linear quantiles at
 * i/q, a value goes to the first bucket whose upper edge is >= it. sorted is
 * scratch of n doubles. */
void quantile_buckets(const double *x, int n, int q, double *sorted, int *bucket);
/* Same, given ord = 0..n-1 in ascending order of x (no sort needed). */
void quantile_buckets_order(const double *x, const int *ord, int n, int q, int *bucket);

/* The edges that bound the lowest and the highest of quantile_buckets_order's
 * buckets: with ascending inner edges (returns 1), a value is in bucket 0
 * iff <= *lo and in bucket q-1 iff > *hi. Returns 0 (edges out of order, a
 * rounding case) when only the bucket scan can tell. */
int quantile_ends(const double *x, const int *ord, int n, int q, double *lo, double *hi);

/* What pairs over one panel can share (every field may be NULL):
 *   stats_from    a finished run over the same panel rows with the same
 *                 factor and quantiles: its ic, rank_ic and quantile returns
 *                 are copied instead of recomputed
 *   factor_order  the factor's run_order; used when it covers the dates
 *                 the run needs (the day before the first one on), built
 *                 for the run otherwise
 *   ret_order     run_order_returns of the panel, same coverage rule */
struct run_shared {
    const struct run_output *stats_from;
    const struct run_order *factor_order, *ret_order;
};

/* run_pair with what other pairs already computed (sh may be NULL). */
int run_pair_shared(const struct panel *p, const double *factor, const char *kind,
                    const struct run_params *params, int32_t from, int32_t to, const void *state_in,
                    size_t state_in_len, const struct run_shared *sh, struct run_output *out,
                    struct bt_err *err);

#endif
