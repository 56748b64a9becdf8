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

/* A fresh book: value = cash; signal gives each symbol cash / nsyms. */
void book_init(struct run_book *b, enum run_kind kind, int nsyms, const struct run_params *prm);
void book_free(struct run_book *b);

/* Advance the book through panel date d (see run.h for the order of events
 * within a date). factor is the whole date-major factor array. */
void strategy_signal_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                          const struct run_params *prm, struct run_day *out);
void strategy_lsq_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                       const struct run_params *prm, double *scratch, int *iscratch,
                       struct run_day *out);
void strategy_topk_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                        const struct run_params *prm, int *iscratch, struct run_day *out);

/* Moves every position (a currency amount) by its symbol's close-to-close
 * return, a day without a bar counting as unchanged, and records the closes;
 * returns the day's profit. Shared by long_short_quantile and topk_dropout. */
double strategy_mark(struct run_book *b, const struct panel *p, int d);

/* alphalens/pandas.qcut bucket (0-based, 0 = lowest) of each of the n values
 * x (all finite) into q quantiles: edges are numpy's linear quantiles at
 * i/q, a value goes to the first bucket whose upper edge is >= it. sorted is
 * scratch of n doubles. */
void quantile_buckets(const double *x, int n, int q, double *sorted, int *bucket);
/* Same, given sorted = x in ascending order already. */
void quantile_buckets_sorted(const double *x, int n, int q, const double *sorted, int *bucket);

/* run_pair, except that when stats_from is non-NULL (a finished run over
 * the same panel rows with the same factor and quantiles) its ic, rank_ic
 * and quantile returns are copied instead of recomputed: run_many shares
 * them between pairs with the same factor. */
int run_pair_shared(const struct panel *p, const double *factor, const char *kind,
                    const struct run_params *params, int32_t from, int32_t to, const void *state_in,
                    size_t state_in_len, const struct run_output *stats_from,
                    struct run_output *out, struct bt_err *err);

#endif
