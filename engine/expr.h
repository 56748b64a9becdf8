/* expr.h -- the factor expression language: text -> values over a panel.
 *
 * An expression such as "rank(ts_delta(close, 5)) * -1" is parsed into an
 * AST, analysed statically (its lookback: the warm-up days it needs before
 * its first meaningful value) and evaluated over a struct panel into one
 * double per (date, symbol), date-major like the panel, NaN where there is
 * no value. The language, every operator and every convention are in
 * docs/factor-language.md.
 *
 * Many expressions are evaluated together through an expr_prog: identical
 * subtrees across all of them are recognised structurally and computed
 * once, and intermediate buffers are freed as soon as their last consumer
 * has run. This is how one runner packs many factor x strategy pairs over
 * one loaded panel.
 *
 * Determinism: every output cell is a fixed function of the input cells in
 * its window, computed in a fixed order, so a run that starts later (with
 * its warm-up) gives bit-identical values on the days both runs cover.
 *
 * Hostile input is bounded (EXPR_MAX_*); no operator does I/O and the
 * language has no loops. Errors are BT_EINPUT (or BT_ELIMIT for a bound),
 * with err->msg "LINE:COL: reason" and err->where "expr:LINE:COL", both
 * 1-based. */
#ifndef BTPIPE_EXPR_H
#define BTPIPE_EXPR_H

#include <stddef.h>

#include "err.h"
#include "panel.h"

enum {
    EXPR_MAX_TEXT = 16384,  /* bytes of expression text */
    EXPR_MAX_DEPTH = 96,    /* nesting of parentheses, calls and operators */
    EXPR_MAX_NODES = 4096,  /* AST nodes of one expression, after sugar expansion */
    EXPR_MAX_WINDOW = 10000 /* days in one window argument */
};

struct expr_ast;  /* one parsed expression (opaque) */
struct expr_prog;   /* many expressions sharing subexpressions (opaque) */
struct expr_stream; /* one streamed evaluation of an expr_prog (opaque) */

/* Parses text into *out (free with expr_free). On error *out is NULL. */
int expr_parse(const char *text, struct expr_ast **out, struct bt_err *err);
void expr_free(struct expr_ast *ast);
/* Warm-up days the expression needs: the value at date index t depends on
 * rows t-lookback..t only. lookback(rank(ts_delta(close,5))) = 5. */
int expr_lookback(const struct expr_ast *ast);
/* Number of AST nodes (after expansion of returns, adv{d}, ...). */
int expr_node_count(const struct expr_ast *ast);
/* Convenience for the planner: parse + lookback. Returns 0 or the parse error. */
int expr_lookback_text(const char *text, int *lookback, struct bt_err *err);

struct expr_prog *expr_prog_new(void);
void expr_prog_free(struct expr_prog *prog);
/* Parses text and adds it to the program. Returns its index (>= 0, in the
 * order of addition) or -1 with err filled. */
int expr_prog_add(struct expr_prog *prog, const char *text, struct bt_err *err);
int expr_prog_count(const struct expr_prog *prog);
int expr_prog_lookback(const struct expr_prog *prog, int idx);
/* Evaluates every added expression over p. Results replace those of any
 * previous evaluation. Returns 0, or an error (BT_ELIMIT if the panel is
 * too large to allocate a buffer for). */
int expr_prog_eval(struct expr_prog *prog, const struct panel *p, struct bt_err *err);
/* The ndates*nsyms values of expression idx (date-major), owned by prog and
 * valid until the next expr_prog_eval or expr_prog_free; NULL before eval. */
const double *expr_prog_result(const struct expr_prog *prog, int idx);
/* Hands the result buffer to the caller (free() it); the program forgets
 * it. NULL if not evaluated or already taken. */
double *expr_prog_take_result(struct expr_prog *prog, int idx);
/* Distinct operator nodes in the shared graph (inputs and literals
 * excluded): what CSE saved shows as fewer nodes than the ASTs hold. */
int expr_prog_node_count(const struct expr_prog *prog);
/* Operator nodes the last expr_prog_eval actually computed. */
int expr_prog_evaluated(const struct expr_prog *prog);
/* Peak bytes of intermediate buffers alive at once in the last eval. */
size_t expr_prog_peak_bytes(const struct expr_prog *prog);

/* Streamed evaluation, for a caller that consumes each result and lets it
 * go: memory stays bounded by the graph's live cut plus the results not yet
 * released, instead of holding every result at once. Values are those of
 * expr_prog_eval, bit for bit. The program must not change meanwhile. */
int expr_stream_begin(struct expr_prog *prog, const struct panel *p, struct expr_stream **out,
                      struct bt_err *err);
/* Evaluates on until max expressions not yet handed out are complete (or
 * every one is), hands out up to max of them in completion order -- their
 * indices in out -- and returns how many: 0 once all were handed out. */
int expr_stream_next(struct expr_stream *s, int *out, int max);
/* The values of handed-out expression idx until it is released; NULL for
 * one not handed out or already released. */
const double *expr_stream_result(const struct expr_stream *s, int idx);
/* The caller is done with expression idx: its buffer may be reused. */
void expr_stream_release(struct expr_stream *s, int idx);
/* Frees the stream and every buffer it still holds. */
void expr_stream_end(struct expr_stream *s);

/* One-shot: parse text and evaluate over p; *out is malloc'd ndates*nsyms
 * doubles the caller frees. */
int expr_eval_text(const char *text, const struct panel *p, double **out, struct bt_err *err);

#endif
