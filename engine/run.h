/* run.h -- run a factor x strategy pair over a panel: series, metrics, state.
 *
 * A run walks the panel's dates in [from, to] once, in order. On each date it
 * first applies what was decided at the previous close (signal: fills at this
 * bar's open), then marks the book to this close (the row's return and value),
 * then decides with the factor at this close (signal: orders for tomorrow's
 * open; long_short_quantile and topk_dropout: rebalance at this close, so the
 * new book earns close t -> close t+1). Nothing on a row depends on a later
 * date, so a row is final the day it is written.
 *
 * Incremental runs: the state written at the end of a run over [.., D-1] and
 * a panel that holds D-1 plus the factor's warm-up days let a run over
 * [D, ..] produce exactly (bit for bit) the rows one run over everything
 * would. The state is a small versioned text file (see docs/engine.md;
 * doubles are written as C99 hex floats so they round-trip exactly).
 *
 * Dates are YYYYMMDD ints. The factor is an ndates*nsyms array laid out like
 * the panel (date-major), NaN where undefined. */
#ifndef BTPIPE_RUN_H
#define BTPIPE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "panel.h"

enum run_kind {
    /* Per symbol, backtrader semantics: factor > 0 enters or holds long,
     * < 0 exits, 0/NaN keeps the state; orders decided at close fill at the
     * symbol's next bar's open; buy = int(cash / close) shares. Each symbol
     * trades its own sleeve of cash / nsyms (one symbol = the whole cash). */
    RUN_SIGNAL,
    /* Cross-sectional, daily rebalance at the close: equal weights in the top
     * quantile (long) and the bottom one (short), gross exposure 1 (each leg
     * 0.5), dollar-neutral; cost_bps on traded notional. */
    RUN_LONG_SHORT_QUANTILE,
    /* Long-only, Qlib TopkDropoutStrategy: hold k names, sell at most n of the
     * held names that fall into the bottom n of (held + best new candidates),
     * buy as many best-ranked new names, cash from sales split equally among
     * the buys; cost_bps on traded notional. */
    RUN_TOPK_DROPOUT,
};

/* "signal" | "long_short_quantile" | "topk_dropout" -> kind. BT_EINPUT
 * naming the accepted values otherwise. */
int run_kind_parse(const char *s, enum run_kind *out, struct bt_err *err);
const char *run_kind_name(enum run_kind kind);

#define RUN_MAX_QUANTILES 20

/* Strategy parameters. Defaults (run_params_default):
 *   cash        100000   starting cash (all kinds)
 *   commission  0.0002   signal: fraction of traded value per fill
 *   quantiles   5        long_short_quantile: number of quantile buckets (2..20)
 *   cost_bps    10       long_short_quantile, topk_dropout: cost per traded
 *                        notional, basis points
 *   k           50       topk_dropout: names held
 *   n           5        topk_dropout: most names replaced per day
 * A parameter a kind does not use is accepted and ignored, so one params map
 * can drive every kind. */
struct run_params {
    double cash;
    double commission;
    int quantiles;
    double cost_bps;
    int k;
    int n;
};

void run_params_default(struct run_params *p);
/* Sets one parameter from its text form ("cash", "100000"). BT_EINPUT with
 * the key named for an unknown key, an unparsable or out-of-range value. */
int strategy_params_parse(struct run_params *p, const char *key, const char *value,
                          struct bt_err *err);
/* Same for "KEY=VALUE" (the --param form). */
int strategy_params_parse_kv(struct run_params *p, const char *kv, struct bt_err *err);

/* One row per date of the run, all arrays of n values, owned by the series.
 *   ret       value / previous value - 1 (the first row: against the value
 *             carried in, i.e. cash for a fresh run)
 *   value     portfolio value at the close, after that close's trades/costs
 *   turnover  traded notional on that date / portfolio value
 *   ic        Pearson correlation, across symbols, between the factor at the
 *             previous close (t-1) and each symbol's return close t-1 ->
 *             close t; i.e. the IC of the factor dated t-1, known at close t.
 *             NaN when fewer than 2 symbols have both or either side is
 *             constant (and on a fresh run's first row when no date precedes)
 *   rank_ic   same with average ranks (Spearman; what alphalens calls IC) */
struct run_series {
    int n;
    int32_t *date;
    double *ret, *value, *turnover, *ic, *rank_ic;
};

void run_series_alloc(struct run_series *s, int n); /* zeroed arrays; aborts on OOM */
void run_series_free(struct run_series *s);

/* Metrics over a series. Return metrics follow empyrical, factor metrics
 * alphalens (std with ddof 1; NaN rows skipped). Non-finite results (e.g.
 * Sharpe of a constant series) are NaN or +-inf as empyrical gives them. */
struct run_summary {
    double final_value;       /* value on the last row (initial value when n == 0) */
    double total_return;      /* prod(1 + ret) - 1 */
    double annual_return;     /* (1 + total)^(252 / n) - 1 */
    double annual_volatility; /* std(ret, ddof 1) * sqrt(252) */
    double sharpe;            /* mean / std(ddof 1) * sqrt(252), rf 0 */
    double sortino;           /* mean * 252 / (sqrt(mean(min(ret,0)^2)) * sqrt(252)) */
    double max_drawdown;      /* <= 0, as empyrical */
    double calmar;            /* annual_return / -max_drawdown; NaN when no drawdown */
    double win_rate;          /* #ret > 0 / #ret != 0; NaN when none != 0 */
    double turnover;          /* mean of the turnover column */
    double ic_mean, ic_std, ic_ir;
    double rank_ic_mean, rank_ic_std, rank_ic_ir;
    int days; /* n */
    /* Mean next-day return per factor quantile, as alphalens
     * mean_return_by_quantile(by_date=False, demeaned=False): per date the
     * mean over the bucket's symbols, then the mean over dates; buckets as
     * pandas.qcut per date (dates with fewer valid symbols than quantiles
     * are skipped). Filled by run_pair only; nq = 0 otherwise. */
    int nq;
    double quantile_ret[RUN_MAX_QUANTILES];
};

/* Fills every field but the quantile ones from s (nq = 0). initial_value is
 * the value before the first row (for final_value when n == 0). */
void metrics_from_series(const struct run_series *s, double initial_value, struct run_summary *out);

struct run_output {
    struct run_series series;
    struct run_summary summary;
    unsigned char *state; /* the state after the last row: pass to the next run */
    size_t state_len;
};

void run_output_free(struct run_output *out);

/* Runs one pair over the panel dates in [from, to] (0 = open end). The panel
 * may hold earlier dates (warm-up): they feed the factor and the first row's
 * IC but are not traded. state_in (NULL/0 for a fresh start with cash) must
 * be the state written by a run of the same kind whose last date is the
 * panel date just before the first date of this run. Errors:
 *   BT_EINPUT  unknown kind, bad params, a state that does not parse, is of
 *              another kind, or does not end the day before `from`, or
 *              names a held symbol the panel lacks; from > to
 *   BT_ENOTFOUND no panel date in [from, to] */
int run_pair(const struct panel *p, const double *factor, const char *kind,
             const struct run_params *params, int32_t from, int32_t to, const void *state_in,
             size_t state_in_len, struct run_output *out, struct bt_err *err);

/* Many pairs over one panel: every factor goes into one expr_prog, so
 * subexpressions shared between pairs are computed once; then each pair
 * runs as run_pair would. A pair's own failure (bad expression, kind,
 * params or state) goes to errs[i] (code != 0) with outs[i] left empty and
 * does not stop the others; the return value is 0 unless something shared
 * failed (then err says what). outs and errs hold n entries each. */
struct run_pair_spec {
    const char *id;     /* caller's name for the pair (not interpreted) */
    const char *factor; /* expression text */
    const char *kind;   /* strategy kind */
    struct run_params params;
    const void *state_in; /* NULL = fresh */
    size_t state_in_len;
};

int run_many(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
             int32_t to, struct run_output *outs, struct bt_err *errs, struct bt_err *err);

/* run_many that hands each pair to done(ctx, i) as soon as its factor's
 * pairs are finished, so that a caller can write and free outs[i] while
 * other factors still run (done may run outs[i] through run_output_free).
 * The factors run on the engine's worker threads (par.h), pairs over one
 * factor in order on one thread; done is called from those threads, once
 * per pair, failed or not (errs[i] says), and never twice at once for
 * pairs of the same factor. Results do not
 * depend on the thread count. */
typedef void (*run_done_fn)(void *ctx, int i);
int run_many_each(const struct panel *p, const struct run_pair_spec *specs, int n, int32_t from,
                  int32_t to, struct run_output *outs, struct bt_err *errs, run_done_fn done,
                  void *ctx, struct bt_err *err);

/* The per-date IC and rank IC of factor (dated d-1) against returns
 * close d-1 -> close d, as in run_series; NaN for d == 0. Exposed for tests
 * and the factor command. */
void metrics_ic_at(const struct panel *p, const double *factor, int d, double *ic, double *rank_ic);

#endif
