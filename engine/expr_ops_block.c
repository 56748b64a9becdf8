/* expr_ops_block.c -- window sums in O(1) per cell that still depend only
 * on the window's own cells.
 *
 * Running sums would carry rounding from wherever the panel starts, so a run
 * that starts later (with its warm-up) would differ in the last bits. Here
 * the dates are cut into blocks of d calendar days (block = day number / d,
 * a function of the date alone, so every panel holding a date agrees on its
 * block), each holding at most d rows. A window of d rows then never lies
 * strictly inside one block: it is a suffix of its first block, whole blocks,
 * and a prefix of its last block (or exactly one whole block). Prefix sums
 * run forward from each block's first row and suffix sums backward from its
 * last row, so each part - and their sum, added in a fixed order - is a
 * function of the window's cells only. A panel that starts mid-block only
 * truncates a block no full window of it needs. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=off") /* see expr_ops_ts.c */
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"

/* Days since 0000-03-01 of a YYYYMMDD date (Hinnant's days_from_civil),
 * or -1 when it is not a plausible date. */
static long day_number(int32_t ymd) {
    long y = ymd / 10000, m = (ymd / 100) % 100, d = ymd % 100;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
    y -= m <= 2;
    long era = y / 400, yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe;
}

int expr_blocks_make(const int32_t *dates, int ndates, int win, int *bstart, int *bend) {
    long prev_day = -1, prev_blk = -1;
    if (!dates) return -1;
    for (int t = 0; t < ndates; t++) {
        long day = day_number(dates[t]);
        if (day < 0 || day <= prev_day) return -1; /* not strictly ascending dates */
        long blk = day / win;
        bstart[t] = (t > 0 && blk == prev_blk) ? bstart[t - 1] : t;
        prev_day = day;
        prev_blk = blk;
    }
    for (int t = ndates - 1; t >= 0; t--)
        bend[t] = (t + 1 < ndates && bstart[t + 1] == bstart[t]) ? bend[t + 1] : t;
    return 0;
}

EXPR_SIMD void expr_blocks_prefix_suffix_cols(const double *x, int ndates, int nsyms, int s0,
                                              int s1, const int *bstart, const int *bend,
                                              int square, double *pre, double *suf) {
    size_t n = (size_t)nsyms, lo = (size_t)s0, hi = (size_t)s1;
    for (int t = 0; t < ndates; t++) {
        const double *r = x + (size_t)t * n;
        double *o = pre + (size_t)t * n;
        if (bstart[t] == t) {
            for (size_t s = lo; s < hi; s++)
                o[s] = square ? r[s] * r[s] : r[s];
        } else {
            const double *p = o - n;
            for (size_t s = lo; s < hi; s++)
                o[s] = p[s] + (square ? r[s] * r[s] : r[s]);
        }
    }
    for (int t = ndates - 1; t >= 0; t--) {
        const double *r = x + (size_t)t * n;
        double *o = suf + (size_t)t * n;
        if (bend[t] == t) {
            for (size_t s = lo; s < hi; s++)
                o[s] = square ? r[s] * r[s] : r[s];
        } else {
            const double *q = o + n;
            for (size_t s = lo; s < hi; s++)
                o[s] = (square ? r[s] * r[s] : r[s]) + q[s];
        }
    }
}

void expr_blocks_prefix_suffix(const double *x, int ndates, int nsyms, const int *bstart,
                               const int *bend, int square, double *pre, double *suf) {
    expr_blocks_prefix_suffix_cols(x, ndates, nsyms, 0, nsyms, bstart, bend, square, pre, suf);
}

EXPR_SIMD void expr_blocks_window_sum(const double *pre, const double *suf, int t, int win,
                                      int nsyms, const int *bstart, const int *bend, double *out) {
    size_t n = (size_t)nsyms;
    int w = t - win + 1;
    const double *pt = pre + (size_t)t * n;
    if (bstart[t] == w) { /* the window is exactly one block */
        memcpy(out, pt, n * sizeof *out);
        return;
    }
    const double *sw = suf + (size_t)w * n;
    memcpy(out, sw, n * sizeof *out);
    for (int r = bend[w] + 1; r < bstart[t]; r = bend[r] + 1) {
        const double *whole = pre + (size_t)bend[r] * n;
        for (size_t s = 0; s < n; s++)
            out[s] += whole[s];
    }
    for (size_t s = 0; s < n; s++)
        out[s] += pt[s];
}
