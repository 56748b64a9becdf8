/* expr_ops_cs.c -- cross-sectional operators: each date's row on its own,
 * over the symbols whose value is not NaN that day (NaN cells stay NaN). */
#include <math.h>
#include <stdlib.h>

#include "expr_int.h"

/* Orders by value, then by symbol index so the sort is deterministic. */
static int item_cmp(const void *a, const void *b) {
    const struct expr_cs_item *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* pandas rank(pct=True): average rank of ties (1-based) / count. */
static void rank_row(const double *x, int n, double *o, struct expr_cs_item *it) {
    int m = 0;
    for (int s = 0; s < n; s++) {
        o[s] = NAN;
        if (x[s] == x[s]) it[m++] = (struct expr_cs_item){x[s], s};
    }
    qsort(it, (size_t)m, sizeof *it, item_cmp);
    for (int i = 0; i < m;) {
        int j = i + 1;
        while (j < m && it[j].v == it[i].v)
            j++;
        double r = (i + 1 + j) / 2.0 / m; /* mean of ranks i+1..j */
        for (int k = i; k < j; k++)
            o[it[k].i] = r;
        i = j;
    }
}

/* Mean and sample std (ddof 1) of the non-NaN values; count in *cnt. */
static void row_moments(const double *x, int n, double *mean, double *sd, int *cnt) {
    double sum = 0;
    int c = 0;
    for (int s = 0; s < n; s++)
        if (x[s] == x[s]) sum += x[s], c++;
    *cnt = c;
    *mean = c ? sum / c : NAN;
    double ss = 0;
    for (int s = 0; s < n; s++)
        if (x[s] == x[s]) ss += (x[s] - *mean) * (x[s] - *mean);
    *sd = c > 1 ? sqrt(ss / (c - 1)) : NAN;
}

static void cs_row(int op, double arg, const double *x, int n, double *o, struct expr_cs_item *it) {
    double mean, sd, sum = 0;
    int cnt;
    switch (op) {
    case EOP_RANK: rank_row(x, n, o, it); return;
    case EOP_ZSCORE:
        row_moments(x, n, &mean, &sd, &cnt);
        for (int s = 0; s < n; s++)
            o[s] = sd > 0 ? (x[s] - mean) / sd : NAN;
        return;
    case EOP_DEMEAN:
        row_moments(x, n, &mean, &sd, &cnt);
        for (int s = 0; s < n; s++)
            o[s] = x[s] - mean;
        return;
    case EOP_SCALE:
        for (int s = 0; s < n; s++)
            if (x[s] == x[s]) sum += fabs(x[s]);
        for (int s = 0; s < n; s++) {
            double v = sum > 0 ? x[s] * arg / sum : NAN;
            o[s] = isfinite(v) ? v : NAN;
        }
        return;
    default:
        for (int s = 0; s < n; s++)
            o[s] = NAN;
        return;
    }
}

void expr_eval_cs(int op, double arg, const double *x, int ndates, int nsyms, double *out,
                  struct expr_cs_item *scratch) {
    for (int t = 0; t < ndates; t++) {
        size_t off = (size_t)t * (size_t)nsyms;
        cs_row(op, arg, x + off, nsyms, out + off, scratch);
    }
}
