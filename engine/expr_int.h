/* expr_int.h -- what the expr_*.c files share and nobody else needs.
 *
 * One node layout serves both the AST of a single expression (nodes in an
 * array, children before parents) and the shared graph of an expr_prog
 * (same layout, children are indices into the graph). Sugar (returns,
 * adv{d}, the paper's aliases) is expanded by the parser, so everything
 * past it sees only the operators below. */
#ifndef BTPIPE_EXPR_INT_H
#define BTPIPE_EXPR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "expr.h"
#include "par.h"

enum expr_op {
    /* leaves */
    EOP_CONST,
    EOP_INPUT, /* win holds the enum panel_field */
    /* elementwise, 1 arg */
    EOP_NEG,
    EOP_NOT,
    EOP_ABS,
    EOP_LOG,
    EOP_SIGN,
    EOP_SQRT,
    /* elementwise, 2 args */
    EOP_ADD,
    EOP_SUB,
    EOP_MUL,
    EOP_DIV,
    EOP_POW,
    EOP_SIGNEDPOW,
    EOP_MIN,
    EOP_MAX,
    EOP_LT,
    EOP_LE,
    EOP_GT,
    EOP_GE,
    EOP_EQ,
    EOP_NE,
    EOP_AND,
    EOP_OR,
    /* elementwise, 3 args */
    EOP_COND,
    /* time series, (x, d) */
    EOP_DELAY,
    EOP_DELTA,
    EOP_TS_SUM,
    EOP_TS_MEAN,
    EOP_TS_STD,
    EOP_TS_MIN,
    EOP_TS_MAX,
    EOP_TS_ARGMIN,
    EOP_TS_ARGMAX,
    EOP_TS_RANK,
    EOP_TS_PRODUCT,
    EOP_DECAY_LINEAR,
    EOP_TS_ZSCORE,
    EOP_EWM,
    /* time series, (x, y, d) */
    EOP_TS_CORR,
    EOP_TS_COV,
    /* cross-sectional */
    EOP_RANK,
    EOP_ZSCORE,
    EOP_DEMEAN,
    EOP_SCALE, /* num holds the target sum of |x| */
    EOP_COUNT
};

struct expr_node {
    int op;       /* enum expr_op */
    int nargs;    /* children used in a[] */
    int a[3];     /* children: indices into the same node array */
    int win;      /* window of a time-series op; panel field of EOP_INPUT */
    double num;   /* value of EOP_CONST; target of EOP_SCALE */
    int lookback; /* rows before t this node's value at t depends on */
};

struct expr_ast {
    struct expr_node *nodes; /* children before parents */
    int n;
    int root;
};

/* Is op elementwise (its value at a cell depends only on its args there)? */
int expr_op_is_elem(int op);
int expr_op_is_ts(int op);
int expr_op_is_cs(int op);
int expr_op_commutes(int op);
const char *expr_op_name(int op);

/* Lexer ----------------------------------------------------------------- */

enum expr_tok {
    ET_END,
    ET_NUM,
    ET_IDENT,
    ET_LPAREN,
    ET_RPAREN,
    ET_COMMA,
    ET_QUEST,
    ET_COLON,
    ET_PLUS,
    ET_MINUS,
    ET_STAR,
    ET_SLASH,
    ET_CARET,
    ET_LT,
    ET_LE,
    ET_GT,
    ET_GE,
    ET_EQ,
    ET_NE,
    ET_AND,
    ET_OR,
    ET_NOT
};

struct expr_token {
    int kind;   /* enum expr_tok */
    size_t off; /* byte offset of the first character in the text */
    size_t len; /* bytes */
    double num; /* ET_NUM: value */
    int is_int; /* ET_NUM: written as plain digits (no '.', no exponent) */
};

struct expr_lexer {
    const char *text;
    size_t len;
    size_t pos;
};

/* Reads the next token; BT_EINPUT with a positioned message on a bad char. */
int expr_lex_next(struct expr_lexer *lx, struct expr_token *tok, struct bt_err *err);
/* Fills err with "LINE:COL: <msg>" and where "expr:LINE:COL" for offset off. */
int expr_err_at(struct bt_err *err, int code, const char *text, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Names ----------------------------------------------------------------- */

enum expr_fn_kind {
    EFN_ELEM,   /* op over expression args */
    EFN_TS,     /* op(x, d) or op(x, y, d): last arg a window literal */
    EFN_CS,     /* op(x) */
    EFN_SCALE,  /* scale(x [, a literal]) */
    EFN_MINMAX, /* min/max: elementwise, or ts_min/ts_max with a window */
};

struct expr_fn {
    const char *name;
    int op;    /* enum expr_op */
    int kind;  /* enum expr_fn_kind */
    int nargs; /* expression arguments (windows excluded) */
};

/* Function named by the len bytes at s (case-insensitive), or NULL. */
const struct expr_fn *expr_fn_find(const char *s, size_t len);
/* Panel field of an input name (open ... vwap), or -1. */
int expr_input_find(const char *s, size_t len);

/* Kernels --------------------------------------------------------------- */

/* The window and elementwise loops run across symbols, one lane a symbol,
 * so wider vectors change no result (each lane does the same operations in
 * the same order; the kernel files turn FP contraction off, so AVX-512's FMA
 * is never used). Their entry points are compiled three times, for AVX-512F,
 * AVX2 and the baseline, and the loader picks one (GCC on x86-64 Linux;
 * others get the baseline only; EXPR_NO_CLONES forces the baseline, which a
 * test compiles to compare it with the clones). EXPR_INLINE pulls a helper
 * into each clone of its caller. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&       \
    !defined(EXPR_NO_CLONES)
#define EXPR_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#define EXPR_INLINE static inline __attribute__((always_inline))
#elif defined(__GNUC__)
#define EXPR_SIMD
#define EXPR_INLINE static inline __attribute__((always_inline))
#else
#define EXPR_SIMD
#define EXPR_INLINE static inline
#endif

/* A node's value during evaluation: a full ndates*nsyms array, or a scalar
 * broadcast to every cell (literals and what folds from them). */
struct expr_val {
    const double *p; /* NULL when scalar */
    double s;
};

/* Parallel split of a kernel's work (engine/par.h): the kernels cut their
 * output into contiguous ranges of cells, rows or columns, one a task, and
 * compute each output cell with exactly the serial arithmetic, so results
 * are bit-identical for any thread or task count. */
enum { EXPR_PAR_MIN_CELLS = 1 << 15 }; /* below this a split costs more than it saves */
/* Tasks to cut work of `cells` cells into: one when small or single-threaded,
 * else a few per thread so a thread slowed by other load takes fewer. */
static inline int expr_par_tasks(size_t cells) {
    int th = par_threads();
    if (th < 2 || cells < 2 * (size_t)EXPR_PAR_MIN_CELLS) return 1;
    size_t t = cells / EXPR_PAR_MIN_CELLS, want = (size_t)th * 4;
    return (int)(t < want ? t : want);
}
/* Start of range k of n ranges splitting 0..total (k == n gives total). */
static inline size_t expr_split(size_t total, int n, int k) {
    return total / (size_t)n * (size_t)k + total % (size_t)n * (size_t)k / (size_t)n;
}

/* A panel-sized buffer of cells doubles (free() it). Backed by transparent
 * huge pages where the kernel offers them on request: a fresh buffer of
 * 4 KiB pages costs a fault per page (about a tenth of the evaluation's
 * time in perf, the results alone being fifty such buffers). Aborts when out of memory. */
double *expr_panel_alloc(size_t cells);

double expr_elem_scalar(int op, double x, double y, double z);
void expr_eval_elem(int op, const struct expr_val *args, size_t cells, double *out);
/* x is ndates*nsyms; out likewise. win >= 1 (delay/delta >= 1 too). */
void expr_eval_ts(int op, const double *x, const double *y, int win, const int32_t *dates,
                  int ndates, int nsyms, double *out);
/* Panel-sized scratch buffers expr_eval_ts_scratch can use for op and win
 * (the block sums of long windows), 0 when it needs none. */
enum { EXPR_TS_MAX_SCRATCH = 4 };
int expr_ts_scratch_count(int op, int win);
/* expr_eval_ts with that scratch supplied (NULL: allocated inside): each
 * ndates*nsyms doubles, contents ignored and clobbered. expr_prog passes
 * buffers from its pool, fresh pages costing a fault and zeroing each. */
void expr_eval_ts_scratch(int op, const double *x, const double *y, int win, const int32_t *dates,
                          int ndates, int nsyms, double *out, double *const *scratch);

/* Date blocks for window sums (expr_ops_block.c): row t's block spans rows
 * bstart[t]..bend[t]. Returns -1 when dates are missing or not strictly
 * ascending real dates (callers then sum each window directly). */
int expr_blocks_make(const int32_t *dates, int ndates, int win, int *bstart, int *bend);
/* Per-block prefix and suffix sums of x (or x*x when square). */
void expr_blocks_prefix_suffix(const double *x, int ndates, int nsyms, const int *bstart,
                               const int *bend, int square, double *pre, double *suf);
/* The same for symbols s0..s1-1 only (each column's sums are its own). */
void expr_blocks_prefix_suffix_cols(const double *x, int ndates, int nsyms, int s0, int s1,
                                    const int *bstart, const int *bend, int square, double *pre,
                                    double *suf);
/* Sum of rows t-win+1..t of each symbol into out (t >= win-1). */
void expr_blocks_window_sum(const double *pre, const double *suf, int t, int win, int nsyms,
                            const int *bstart, const int *bend, double *out);
/* An item of a cross-sectional sort. */
struct expr_cs_item {
    uint64_t k; /* order-preserving key of v */
    double v;
    int i; /* symbol */
};
void expr_eval_cs(int op, double arg, const double *x, int ndates, int nsyms, double *out);

#endif
