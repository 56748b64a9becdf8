/* expr_names.c -- the names the language knows: functions (with the 101
 * Formulaic Alphas paper's aliases) and inputs, plus facts about each op. */
#include <string.h>
#include <strings.h>

#include "expr_int.h"
#include "panel.h"

static const struct expr_fn fns[] = {
    {"abs", EOP_ABS, EFN_ELEM, 1},
    {"log", EOP_LOG, EFN_ELEM, 1},
    {"sign", EOP_SIGN, EFN_ELEM, 1},
    {"sqrt", EOP_SQRT, EFN_ELEM, 1},
    {"power", EOP_POW, EFN_ELEM, 2},
    {"pow", EOP_POW, EFN_ELEM, 2},
    {"signedpower", EOP_SIGNEDPOW, EFN_ELEM, 2},
    {"min", EOP_MIN, EFN_MINMAX, 2},
    {"max", EOP_MAX, EFN_MINMAX, 2},
    {"delay", EOP_DELAY, EFN_TS, 1},
    {"ts_delay", EOP_DELAY, EFN_TS, 1},
    {"ts_lag", EOP_DELAY, EFN_TS, 1},
    {"delta", EOP_DELTA, EFN_TS, 1},
    {"ts_delta", EOP_DELTA, EFN_TS, 1},
    {"ts_sum", EOP_TS_SUM, EFN_TS, 1},
    {"sum", EOP_TS_SUM, EFN_TS, 1},
    {"ts_mean", EOP_TS_MEAN, EFN_TS, 1},
    {"mean", EOP_TS_MEAN, EFN_TS, 1},
    {"sma", EOP_TS_MEAN, EFN_TS, 1},
    {"ts_std", EOP_TS_STD, EFN_TS, 1},
    {"ts_stddev", EOP_TS_STD, EFN_TS, 1},
    {"stddev", EOP_TS_STD, EFN_TS, 1},
    {"ts_min", EOP_TS_MIN, EFN_TS, 1},
    {"ts_max", EOP_TS_MAX, EFN_TS, 1},
    {"ts_argmin", EOP_TS_ARGMIN, EFN_TS, 1},
    {"ts_argmax", EOP_TS_ARGMAX, EFN_TS, 1},
    {"ts_rank", EOP_TS_RANK, EFN_TS, 1},
    {"ts_product", EOP_TS_PRODUCT, EFN_TS, 1},
    {"product", EOP_TS_PRODUCT, EFN_TS, 1},
    {"decay_linear", EOP_DECAY_LINEAR, EFN_TS, 1},
    {"ts_decay_linear", EOP_DECAY_LINEAR, EFN_TS, 1},
    {"ts_zscore", EOP_TS_ZSCORE, EFN_TS, 1},
    {"ewm", EOP_EWM, EFN_TS, 1},
    {"ts_corr", EOP_TS_CORR, EFN_TS, 2},
    {"ts_correlation", EOP_TS_CORR, EFN_TS, 2},
    {"correlation", EOP_TS_CORR, EFN_TS, 2},
    {"ts_cov", EOP_TS_COV, EFN_TS, 2},
    {"ts_covariance", EOP_TS_COV, EFN_TS, 2},
    {"covariance", EOP_TS_COV, EFN_TS, 2},
    {"rank", EOP_RANK, EFN_CS, 1},
    {"zscore", EOP_ZSCORE, EFN_CS, 1},
    {"demean", EOP_DEMEAN, EFN_CS, 1},
    {"scale", EOP_SCALE, EFN_SCALE, 1},
};

static const char *const inputs[PF_COUNT] = {
    [PF_OPEN] = "open",   [PF_HIGH] = "high",     [PF_LOW] = "low",
    [PF_CLOSE] = "close", [PF_VOLUME] = "volume", [PF_VWAP] = "vwap",
};

/* Case-insensitive equality of the len bytes at s with the C string name. */
static int name_is(const char *s, size_t len, const char *name) {
    return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

const struct expr_fn *expr_fn_find(const char *s, size_t len) {
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (name_is(s, len, fns[i].name)) return &fns[i];
    return NULL;
}

int expr_input_find(const char *s, size_t len) {
    for (int f = 0; f < PF_COUNT; f++)
        if (name_is(s, len, inputs[f])) return f;
    return -1;
}

int expr_op_is_elem(int op) {
    return op >= EOP_NEG && op <= EOP_COND;
}

int expr_op_is_ts(int op) {
    return op >= EOP_DELAY && op <= EOP_TS_COV;
}

int expr_op_is_cs(int op) {
    return op >= EOP_RANK && op <= EOP_SCALE;
}

int expr_op_commutes(int op) {
    switch (op) {
    case EOP_ADD:
    case EOP_MUL:
    case EOP_MIN:
    case EOP_MAX:
    case EOP_EQ:
    case EOP_NE:
    case EOP_AND:
    case EOP_OR: return 1;
    default: return 0;
    }
}

const char *expr_op_name(int op) {
    static const char *const names[EOP_COUNT] = {
        [EOP_CONST] = "const",
        [EOP_INPUT] = "input",
        [EOP_NEG] = "neg",
        [EOP_NOT] = "!",
        [EOP_ABS] = "abs",
        [EOP_LOG] = "log",
        [EOP_SIGN] = "sign",
        [EOP_SQRT] = "sqrt",
        [EOP_ADD] = "+",
        [EOP_SUB] = "-",
        [EOP_MUL] = "*",
        [EOP_DIV] = "/",
        [EOP_POW] = "power",
        [EOP_SIGNEDPOW] = "signedpower",
        [EOP_MIN] = "min",
        [EOP_MAX] = "max",
        [EOP_LT] = "<",
        [EOP_LE] = "<=",
        [EOP_GT] = ">",
        [EOP_GE] = ">=",
        [EOP_EQ] = "==",
        [EOP_NE] = "!=",
        [EOP_AND] = "&&",
        [EOP_OR] = "||",
        [EOP_COND] = "?:",
        [EOP_DELAY] = "delay",
        [EOP_DELTA] = "delta",
        [EOP_TS_SUM] = "ts_sum",
        [EOP_TS_MEAN] = "ts_mean",
        [EOP_TS_STD] = "ts_std",
        [EOP_TS_MIN] = "ts_min",
        [EOP_TS_MAX] = "ts_max",
        [EOP_TS_ARGMIN] = "ts_argmin",
        [EOP_TS_ARGMAX] = "ts_argmax",
        [EOP_TS_RANK] = "ts_rank",
        [EOP_TS_PRODUCT] = "ts_product",
        [EOP_DECAY_LINEAR] = "decay_linear",
        [EOP_TS_ZSCORE] = "ts_zscore",
        [EOP_EWM] = "ewm",
        [EOP_TS_CORR] = "ts_corr",
        [EOP_TS_COV] = "ts_cov",
        [EOP_RANK] = "rank",
        [EOP_ZSCORE] = "zscore",
        [EOP_DEMEAN] = "demean",
        [EOP_SCALE] = "scale",
    };
    return op >= 0 && op < EOP_COUNT && names[op] ? names[op] : "?";
}
