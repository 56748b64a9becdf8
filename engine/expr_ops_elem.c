/* expr_ops_elem.c -- elementwise operators: a cell's value from its args'
 * values in the same cell.
 *
 * Every result is finite or NaN: an infinity (x/0, log(0), overflow) becomes
 * NaN, so "NaN means no value" stays the one rule downstream code checks.
 * Comparisons and logic give 1.0 or 0.0, NaN when an operand is NaN. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=off") /* see expr_ops_ts.c */
#endif
#include <math.h>

#include "expr_int.h"

/* Keeps the panel invariant: finite or NaN. */
static inline double fin(double v) {
    return isfinite(v) ? v : NAN;
}

static inline double sgn(double x) {
    return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : NAN;
}

static inline double cmp_res(double x, double y, int r) {
    return isnan(x) || isnan(y) ? NAN : (r ? 1.0 : 0.0);
}

static inline double ew_min(double x, double y) {
    return isnan(x) || isnan(y) ? NAN : (y < x ? y : x);
}

static inline double ew_max(double x, double y) {
    return isnan(x) || isnan(y) ? NAN : (y > x ? y : x);
}

static inline double ew_log(double x) {
    return x > 0 ? fin(log(x)) : NAN;
}

static inline double ew_sqrt(double x) {
    return x >= 0 ? sqrt(x) : NAN;
}

static inline double ew_pow(double x, double y) {
    return isnan(x) || isnan(y) ? NAN : fin(pow(x, y));
}

static inline double ew_signedpow(double x, double y) {
    return isnan(x) || isnan(y) ? NAN : fin(sgn(x) * pow(fabs(x), y));
}

static inline double ew_not(double x) {
    return isnan(x) ? NAN : (x == 0 ? 1.0 : 0.0);
}

static inline double ew_and(double x, double y) {
    return isnan(x) || isnan(y) ? NAN : (x != 0 && y != 0 ? 1.0 : 0.0);
}

static inline double ew_or(double x, double y) {
    return isnan(x) || isnan(y) ? NAN : (x != 0 || y != 0 ? 1.0 : 0.0);
}

static inline double ew_cond(double c, double a, double b) {
    return isnan(c) ? NAN : (c != 0 ? a : b);
}

double expr_elem_scalar(int op, double x, double y, double z) {
    switch (op) {
    case EOP_NEG: return -x;
    case EOP_NOT: return ew_not(x);
    case EOP_ABS: return fabs(x);
    case EOP_LOG: return ew_log(x);
    case EOP_SIGN: return sgn(x);
    case EOP_SQRT: return ew_sqrt(x);
    case EOP_ADD: return fin(x + y);
    case EOP_SUB: return fin(x - y);
    case EOP_MUL: return fin(x * y);
    case EOP_DIV: return fin(x / y);
    case EOP_POW: return ew_pow(x, y);
    case EOP_SIGNEDPOW: return ew_signedpow(x, y);
    case EOP_MIN: return ew_min(x, y);
    case EOP_MAX: return ew_max(x, y);
    case EOP_LT: return cmp_res(x, y, x < y);
    case EOP_LE: return cmp_res(x, y, x <= y);
    case EOP_GT: return cmp_res(x, y, x > y);
    case EOP_GE: return cmp_res(x, y, x >= y);
    case EOP_EQ: return cmp_res(x, y, x == y);
    case EOP_NE: return cmp_res(x, y, x != y);
    case EOP_AND: return ew_and(x, y);
    case EOP_OR: return ew_or(x, y);
    case EOP_COND: return ew_cond(x, y, z);
    default: return NAN;
    }
}

/* Loops with a stride of 0 for scalar operands, 1 for arrays, so one loop
 * per operator serves every mix of scalars and arrays. */
#define LOOP1(E)                                                                                   \
    for (size_t i = 0; i < cells; i++) {                                                           \
        double x = xp[i * xs];                                                                     \
        out[i] = (E);                                                                              \
    }                                                                                              \
    break
#define LOOP2(E)                                                                                   \
    for (size_t i = 0; i < cells; i++) {                                                           \
        double x = xp[i * xs], y = yp[i * ys];                                                     \
        out[i] = (E);                                                                              \
    }                                                                                              \
    break

/* Cells 0..cells-1 of xp/yp/zp, read with strides xs/ys/zs, into out.
 * Inlined with the strides as constants where elem_range knows them. */
EXPR_INLINE void elem_loop(int op, const double *xp, size_t xs, const double *yp, size_t ys,
                           const double *zp, size_t zs, size_t cells, double *out) {
    switch (op) {
    case EOP_NEG: LOOP1(-x);
    case EOP_NOT: LOOP1(ew_not(x));
    case EOP_ABS: LOOP1(fabs(x));
    case EOP_LOG: LOOP1(ew_log(x));
    case EOP_SIGN: LOOP1(sgn(x));
    case EOP_SQRT: LOOP1(ew_sqrt(x));
    case EOP_ADD: LOOP2(fin(x + y));
    case EOP_SUB: LOOP2(fin(x - y));
    case EOP_MUL: LOOP2(fin(x * y));
    case EOP_DIV: LOOP2(fin(x / y));
    case EOP_POW: LOOP2(ew_pow(x, y));
    case EOP_SIGNEDPOW: LOOP2(ew_signedpow(x, y));
    case EOP_MIN: LOOP2(ew_min(x, y));
    case EOP_MAX: LOOP2(ew_max(x, y));
    case EOP_LT: LOOP2(cmp_res(x, y, x < y));
    case EOP_LE: LOOP2(cmp_res(x, y, x <= y));
    case EOP_GT: LOOP2(cmp_res(x, y, x > y));
    case EOP_GE: LOOP2(cmp_res(x, y, x >= y));
    case EOP_EQ: LOOP2(cmp_res(x, y, x == y));
    case EOP_NE: LOOP2(cmp_res(x, y, x != y));
    case EOP_AND: LOOP2(ew_and(x, y));
    case EOP_OR: LOOP2(ew_or(x, y));
    case EOP_COND:
        for (size_t i = 0; i < cells; i++)
            out[i] = ew_cond(xp[i * xs], yp[i * ys], zp[i * zs]);
        break;
    default:
        for (size_t i = 0; i < cells; i++)
            out[i] = NAN;
        break;
    }
}

/* Cells 0..cells-1 of the args (each advanced to the chunk) into out. The
 * usual stride mixes get loops of their own: with a stride only known at
 * run time the loads were vectorized as pairs of scalar loads. */
EXPR_SIMD static void elem_range(int op, const struct expr_val *args, size_t cells, double *out) {
    const double *xp = args[0].p ? args[0].p : &args[0].s;
    size_t xs = args[0].p ? 1 : 0;
    const double *yp = xp, *zp = xp;
    size_t ys = xs, zs = xs;
    if (op >= EOP_ADD) {
        yp = args[1].p ? args[1].p : &args[1].s;
        ys = args[1].p ? 1 : 0;
    }
    if (op == EOP_COND) {
        zp = args[2].p ? args[2].p : &args[2].s;
        zs = args[2].p ? 1 : 0;
    }
    if (xs == 1 && ys == 1 && zs == 1)
        elem_loop(op, xp, 1, yp, 1, zp, 1, cells, out);
    else if (xs == 1 && ys == 0 && zs == 1)
        elem_loop(op, xp, 1, yp, 0, zp, 1, cells, out);
    else if (xs == 0 && ys == 1 && zs == 0)
        elem_loop(op, xp, 0, yp, 1, zp, 0, cells, out);
    else
        elem_loop(op, xp, xs, yp, ys, zp, zs, cells, out);
}

/* One chunk of cells per task: every cell gets the same operations whatever
 * the chunking, so the split cannot change a bit. */
struct elem_job {
    int op;
    const struct expr_val *args;
    size_t cells;
    int ntasks;
    double *out;
};

static void elem_task(void *ctx, int task, int worker) {
    const struct elem_job *j = ctx;
    size_t lo = expr_split(j->cells, j->ntasks, task),
           hi = expr_split(j->cells, j->ntasks, task + 1);
    struct expr_val a[3];
    (void)worker;
    for (int k = 0; k < 3; k++) {
        a[k] = j->args[k];
        if (a[k].p) a[k].p += lo;
    }
    elem_range(j->op, a, hi - lo, j->out + lo);
}

void expr_eval_elem(int op, const struct expr_val *args, size_t cells, double *out) {
    struct expr_val a[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    int nargs = op == EOP_COND ? 3 : op >= EOP_ADD && op < EOP_COND ? 2 : 1;
    for (int k = 0; k < nargs; k++)
        a[k] = args[k]; /* callers may pass fewer than three */
    struct elem_job j = {op, a, cells, expr_par_tasks(cells), out};
    par_run(j.ntasks, elem_task, &j);
}
