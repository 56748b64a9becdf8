/* strategy_sort.h -- the engine's cross-section sorts (engine-internal).
 *
 * sort_order_row is the one sort per (factor, date) behind run_order;
 * sort_order_doubles orders a given list of symbols the same way.
 *
 * STRATEGY_SORT_DEFINE(name, less) defines
 *     static void name(int *idx, int n, const double *x)
 * which sorts idx so that less(x, idx[a], idx[b]) holds for a < b whenever
 * it holds for either. `less` must be a total order (break ties by index),
 * so the result never depends on the algorithm: a quicksort (median of
 * three, insertion sort below 16, recursing on the smaller side) with the
 * comparison inlined, for short lists and orders a double key cannot
 * express. */
#ifndef BTPIPE_STRATEGY_SORT_H
#define BTPIPE_STRATEGY_SORT_H

#include <stdint.h>
#include <string.h>

#include "sort_key.h"

/* Sorts sym[0..n) (ascending symbols, x[sym[i]] never NaN) into ascending
 * (x, symbol) order: the total order the index sorts use. A stable LSD
 * radix sort, since a cross-section of ~500 doubles sorts in a few linear
 * passes instead of ~4,500 unpredictable comparisons. Radix passes over
 * the upper half of each key only (sign, exponent and 20 bits of mantissa:
 * four byte passes instead of eight), then an insertion pass orders the rare neighbours that share
 * those bits by the whole key. key: 2n scratch, tmp: n ints. */
void sort_order_doubles(const double *x, int *sym, int n, uint32_t *key, int *tmp);
/* The same order of one row's non-NaN values: sym gets the symbols s in
 * [0, nsyms) with row[s] not NaN, in ascending (value, symbol) order;
 * returns how many. scratch: 2*nsyms words. Two ways to get there, with
 * the same result, bit for bit:
 *
 * sort_order_row_avx512 (taken where cpu_level() allows AVX-512,
 * cpu.h): one word per non-NaN value, its whole key
 * with the symbol over the key's low bits (so all words differ), built and
 * NaN-filtered eight at a time; a branch-free bitonic sort of the words,
 * eight compare-exchanges to a min/max pair (~1,440 pairs for 512 words);
 * then neighbours equal above the symbol bits ordered by the whole key.
 * Rows beyond 4,096 symbols go to the radix way.
 *
 * sort_order_row_radix (everywhere else): each symbol gets one word: the
 * order-preserving code of its key's sign and exponent among the row's
 * distinct ones (a few bits where the raw exponent takes twelve), the
 * mantissa below it and the symbol in the low bits; two byte passes over
 * the word's top 16 bits, an insertion pass by the whole word and, when
 * the word had to drop low mantissa bits, one by the whole key over
 * neighbours equal in the rest. NaNs are sorted too (their keys lie beyond
 * the infinities) and cut off the ends. */
int sort_order_row(const double *row, int nsyms, int *sym, uint64_t *scratch);
/* Both ways, for the tests to hold against each other; call
 * sort_order_row_avx512 only where cpu_hw_level() >= CPU_AVX512 (off x86-64
 * GCC/Clang it is the radix way). */
int sort_order_row_radix(const double *row, int nsyms, int *sym, uint64_t *scratch);
int sort_order_row_avx512(const double *row, int nsyms, int *sym, uint64_t *scratch);

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
