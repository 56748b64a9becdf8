/* expr_ops_cs.c -- cross-sectional operators: each date's row on its own,
 * over the symbols whose value is not NaN that day (NaN cells stay NaN). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"

/* Order-preserving map of a double to an unsigned key (-0 folded into +0
 * first, so equal values get equal keys). */
static inline uint64_t sort_key(double v) {
    uint64_t b;
    v += 0.0;
    memcpy(&b, &v, sizeof b);
    return (b >> 63) ? ~b : b ^ 0x8000000000000000ULL;
}

/* LSD radix sort of it[0..m) by key, 8 bits a pass: all eight histograms
 * in one read, passes where every key has the same digit skipped, and the
 * two buffers swapped rather than copied. No comparator calls, which
 * dominated rank with qsort. tmp holds m items; the result may end in
 * either buffer and is returned. */
static struct expr_cs_item *radix_sort(struct expr_cs_item *it, struct expr_cs_item *tmp, int m) {
    static const int digits = 8;
    uint32_t count[8][256];
    memset(count, 0, sizeof count);
    for (int i = 0; i < m; i++) {
        uint64_t k = it[i].k;
        for (int d = 0; d < digits; d++)
            count[d][(k >> (8 * d)) & 0xff]++;
    }
    for (int d = 0; d < digits && m > 0; d++) {
        uint32_t *c = count[d];
        if (c[(it[0].k >> (8 * d)) & 0xff] == (uint32_t)m) continue;
        uint32_t pos = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t n = c[b];
            c[b] = pos;
            pos += n;
        }
        for (int i = 0; i < m; i++)
            tmp[c[(it[i].k >> (8 * d)) & 0xff]++] = it[i];
        struct expr_cs_item *sw = it;
        it = tmp;
        tmp = sw;
    }
    return it;
}

/* pandas rank(pct=True): average rank of ties (1-based) / count. */
static void rank_row(const double *x, int n, double *o, struct expr_cs_item *it,
                     struct expr_cs_item *tmp) {
    int m = 0;
    for (int s = 0; s < n; s++) {
        o[s] = NAN;
        if (x[s] == x[s]) {
            it[m].v = x[s];
            it[m].k = sort_key(x[s]);
            it[m++].i = s;
        }
    }
    it = radix_sort(it, tmp, m);
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

static void cs_row(int op, double arg, const double *x, int n, double *o, struct expr_cs_item *it,
                   struct expr_cs_item *tmp) {
    double mean, sd, sum = 0;
    int cnt;
    switch (op) {
    case EOP_RANK: rank_row(x, n, o, it, tmp); return;
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

void expr_eval_cs(int op, double arg, const double *x, int ndates, int nsyms, double *out) {
    size_t n = (size_t)nsyms + 1;
    struct expr_cs_item *it = malloc(2 * n * sizeof *it);
    if (!it) abort();
    for (int t = 0; t < ndates; t++) {
        size_t off = (size_t)t * (size_t)nsyms;
        cs_row(op, arg, x + off, nsyms, out + off, it, it + n);
    }
    free(it);
}
