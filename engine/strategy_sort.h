/* strategy_sort.h -- an index sort with the comparison inlined
 * (engine-internal).
 *
 * STRATEGY_SORT_DEFINE(name, less) defines
 *     static void name(int *idx, int n, const double *x)
 * which sorts idx so that less(x, idx[a], idx[b]) holds for a < b whenever
 * it holds for either. `less` must be a total order (break ties by index),
 * so the result never depends on the algorithm. A run sorts a symbol
 * cross-section several times per date; qsort's callback per comparison was
 * most of a run's time, hence a quicksort (median of three, insertion sort
 * below 16, recursing on the smaller side) the compiler can inline into. */
#ifndef BTPIPE_STRATEGY_SORT_H
#define BTPIPE_STRATEGY_SORT_H

#define STRATEGY_SORT_DEFINE(name, less)                                                           \
    static void name(int *idx, int n, const double *x) {                                           \
        while (n > 16) {                                                                           \
            int m = n / 2, t;                                                                      \
            if (less(x, idx[m], idx[0])) t = idx[m], idx[m] = idx[0], idx[0] = t;                  \
            if (less(x, idx[n - 1], idx[0])) t = idx[n - 1], idx[n - 1] = idx[0], idx[0] = t;      \
            if (less(x, idx[n - 1], idx[m])) t = idx[n - 1], idx[n - 1] = idx[m], idx[m] = t;      \
            int pivot = idx[m], i = 0, j = n - 1;                                                  \
            for (;;) {                                                                             \
                while (less(x, idx[i], pivot))                                                     \
                    i++;                                                                           \
                while (less(x, pivot, idx[j]))                                                     \
                    j--;                                                                           \
                if (i >= j) break;                                                                 \
                t = idx[i], idx[i] = idx[j], idx[j] = t;                                           \
                i++;                                                                               \
                j--;                                                                               \
            }                                                                                      \
            /* [0, j] before the pivot's place, [j + 1, n) after */                                \
            if (j + 1 < n - j - 1) {                                                               \
                name(idx, j + 1, x);                                                               \
                idx += j + 1;                                                                      \
                n -= j + 1;                                                                        \
            } else {                                                                               \
                name(idx + j + 1, n - j - 1, x);                                                   \
                n = j + 1;                                                                         \
            }                                                                                      \
        }                                                                                          \
        for (int i = 1; i < n; i++) {                                                              \
            int v = idx[i], k = i;                                                                 \
            for (; k > 0 && less(x, v, idx[k - 1]); k--)                                           \
                idx[k] = idx[k - 1];                                                               \
            idx[k] = v;                                                                            \
        }                                                                                          \
    }

#endif
