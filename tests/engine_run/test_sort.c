/* test_sort -- the per-date orders behind the IC, the quantiles and the
 * strategies: the radix sort must give exactly the (value, symbol) order a
 * comparison sort gives, on ties, signed zeros, infinities and neighbours
 * that share the sorted upper half of their keys; the quantile walk must
 * place every value where pandas.qcut's scan does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "strategy.h"
#include "strategy_sort.h"

#define TEST_RNG_SEED 0x2545F4914F6CDD1DULL
#include "test_rng.h"

static const double *cmp_x;
/* The reference order: by value, then by index. */
static int cmp_value_index(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (cmp_x[i] < cmp_x[j]) return -1;
    if (cmp_x[i] > cmp_x[j]) return 1;
    return (i > j) - (i < j);
}

/* One random value of the given flavour. */
static double draw(int flavour) {
    uint64_t r = rng();
    switch (flavour) {
    case 0: return (double)(r % 7) - 3; /* heavy ties */
    case 1: return (r & 1) ? 0.0 : -0.0;
    case 2: { /* share the upper 32 key bits, differ below */
        return 1.0 + ldexp((double)(r % 64), -40);
    }
    case 3: {
        static const double sp[] = {INFINITY, -INFINITY, 0.0, -0.0, 1e-310, -1e-310, 1e308};
        return sp[r % 7];
    }
    default: return ((double)(int64_t)r) * 1e-12;
    }
}

static void test_sort_matches_comparison_sort(void **st) {
    (void)st;
    const int sizes[] = {0, 1, 2, 5, 23, 24, 25, 100, 482, 1000};
    enum { MAXN = 1000 };
    double *x = malloc(MAXN * sizeof *x);
    int *got = malloc(MAXN * sizeof *got), *want = malloc(MAXN * sizeof *want),
        *tmp = malloc(MAXN * sizeof *tmp);
    uint32_t *key = malloc(2 * MAXN * sizeof *key);
    for (int rep = 0; rep < 200; rep++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            int n = sizes[si], mix = rep % 6;
            for (int i = 0; i < n; i++)
                x[i] = draw(mix == 5 ? (int)(rng() % 5) : mix);
            for (int i = 0; i < n; i++)
                got[i] = want[i] = i;
            cmp_x = x;
            qsort(want, (size_t)n, sizeof *want, cmp_value_index);
            sort_order_doubles(x, got, n, key, tmp);
            for (int i = 0; i < n; i++)
                if (got[i] != want[i])
                    fail_msg("n=%d mix=%d: position %d holds %d, want %d", n, mix, i, got[i],
                             want[i]);
        }
    free(x);
    free(got);
    free(want);
    free(tmp);
    free(key);
}

/* Every way to sort a row: the dispatching one, the portable radix sort
 * and the AVX-512 one (where this CPU can run it), so that each is held
 * against the comparison sort and hence against the others. */
typedef int (*sort_row_fn)(const double *, int, int *, uint64_t *);
enum { N_WAYS = 3 };
static const sort_row_fn sort_ways[N_WAYS] = {sort_order_row, sort_order_row_radix,
                                              sort_order_row_avx512};
static const char *const way_names[N_WAYS] = {"sort_order_row", "radix", "avx512"};

/* Whether this machine can run sort_ways[way]. */
static int way_runs(int way) {
    return way != 2 || cpu_hw_level() >= CPU_AVX512;
}

/* sort_order_row filters the NaNs and sorts in one go: the same order as
 * the comparison sort over the non-NaN values, for every flavour of value
 * and clusters that only the lower halves of the keys tell apart. */
static void test_sort_row_matches_comparison_sort(void **st) {
    (void)st;
    const int sizes[] = {0, 1, 2, 5, 23, 100, 482, 1000};
    enum { MAXN = 1000 };
    double *x = malloc(MAXN * sizeof *x);
    int *got = malloc(MAXN * sizeof *got), *want = malloc(MAXN * sizeof *want);
    uint64_t *scratch = malloc(2 * MAXN * sizeof *scratch);
    for (int rep = 0; rep < 200; rep++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            int n = sizes[si], mix = rep % 6, m = 0;
            for (int i = 0; i < n; i++)
                x[i] = rng() % 4 == 0 ? NAN : draw(mix == 5 ? (int)(rng() % 5) : mix);
            for (int i = 0; i < n; i++)
                if (!isnan(x[i])) want[m++] = i;
            cmp_x = x;
            qsort(want, (size_t)m, sizeof *want, cmp_value_index);
            for (int way = 0; way < N_WAYS; way++) {
                if (!way_runs(way)) continue;
                memset(got, 0xff, MAXN * sizeof *got);
                assert_int_equal(sort_ways[way](x, n, got, scratch), m);
                for (int i = 0; i < m; i++)
                    if (got[i] != want[i])
                        fail_msg("%s n=%d mix=%d: position %d holds %d, want %d", way_names[way], n,
                                 mix, i, got[i], want[i]);
            }
        }
    free(x);
    free(got);
    free(want);
    free(scratch);
}

/* sort_order_row of x[0..n) against the comparison sort of its non-NaN
 * values; what names the row in a failure. */
static void check_row(const double *x, int n, const char *what) {
    size_t m0 = n > 0 ? (size_t)n : 1;
    int *got = malloc(m0 * sizeof *got), *want = malloc(m0 * sizeof *want), m = 0;
    uint64_t *scratch = malloc(2 * m0 * sizeof *scratch);
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) want[m++] = i;
    cmp_x = x;
    qsort(want, (size_t)m, sizeof *want, cmp_value_index);
    for (int way = 0; way < N_WAYS; way++) {
        if (!way_runs(way)) continue;
        int k = sort_ways[way](x, n, got, scratch);
        if (k != m)
            fail_msg("%s %s n=%d: %d values sorted, want %d", way_names[way], what, n, k, m);
        for (int i = 0; i < m; i++)
            if (got[i] != want[i])
                fail_msg("%s %s n=%d: position %d holds %d, want %d", way_names[way], what, n, i,
                         got[i], want[i]);
    }
    free(got);
    free(want);
    free(scratch);
}

/* A double of the given bits (NaN payloads, subnormals, any exponent). */
static double from_bits(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* The rows a radix sort on compressed, truncated keys could get wrong:
 * every value the same, two values, signed zeros, infinities next to NaNs
 * whose payloads only the low key bits tell apart, subnormals, exponents
 * all over the range (more distinct exponents than any code width
 * assumes), neighbours that differ in the last mantissa bit only, the
 * smallest sizes and rows beyond a thousand symbols. */
static void test_sort_row_adversarial(void **st) {
    (void)st;
    enum { MAXN = 5000 };
    double *x = malloc(MAXN * sizeof *x);
    const int sizes[] = {0,   1,   2,    3,    4,    7,    8,    9,    15,  16,  17,
                         63,  64,  65,   127,  128,  129,  255,  256,  257, 482, 511,
                         512, 513, 1000, 1025, 2047, 3001, 4095, 4096, 4097};
    static const double special[] = {INFINITY,
                                     -INFINITY,
                                     0.0,
                                     -0.0,
                                     4.9e-324,
                                     -4.9e-324,
                                     2.2250738585072014e-308,
                                     -2.2250738585072009e-308,
                                     1.7976931348623157e308,
                                     -1.7976931348623157e308};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int n = sizes[si];
        for (int flavour = 0; flavour < 16; flavour++) {
            for (int rep = 0; rep < 4; rep++) {
                for (int i = 0; i < n; i++) {
                    uint64_t r = rng();
                    switch (flavour) {
                    case 0: x[i] = 42.5; break; /* all equal */
                    case 1: x[i] = (r & 1) ? -1.25 : 3.0; break;
                    case 2: x[i] = (r & 1) ? 0.0 : -0.0; break;
                    case 3: x[i] = special[r % 10]; break;
                    case 4: /* subnormals of both signs */
                        x[i] = from_bits((r & 0x800FFFFFFFFFFFFFULL) | (r >> 63 ? 0 : 1));
                        break;
                    case 5: /* any bit pattern: every exponent, NaN payloads */
                        x[i] = from_bits(r);
                        break;
                    case 6: /* +-inf next to NaNs of tiny payloads, both signs */
                        x[i] = r % 3 ? ((r >> 8 & 1) ? INFINITY : -INFINITY)
                                     : from_bits(0x7FF0000000000000ULL | (r >> 9 & 1) << 63 |
                                                 (1 + (r >> 10 & 3)));
                        break;
                    case 7: /* differ in the last mantissa bits only */
                        x[i] = from_bits(0x3FF0000000000000ULL | (r & 7));
                        break;
                    case 8: /* last bits, both signs, one value per exponent */
                        x[i] = ldexp((r & 1) ? -1.0 : 1.0, (int)(r >> 1 & 2047) - 1074) *
                               (1 + ldexp((double)(r >> 20 & 3), -52));
                        break;
                    case 9: /* ties on a full mantissa, many exponents */
                        x[i] = ldexp(1.0 + ldexp((double)(r % 5), -52), (int)((r >> 8) % 97) - 48);
                        break;
                    case 10: x[i] = (r & 3) ? NAN : (double)(r >> 2 & 1); break;
                    case 11: x[i] = NAN; break;
                    case 13: /* differ in the bits a symbol index overwrites */
                        x[i] = from_bits(
                            ((r >> 40 & 1) ? 0xBFF0000000000000ULL : 0x3FF0000000000000ULL) |
                            (r & 0xFFF));
                        break;
                    case 14: /* all the same but one NaN, +-0 and +-inf at the ends */
                        x[i] = i == 0       ? NAN
                               : i == n - 1 ? (r & 1 ? INFINITY : -INFINITY)
                               : i == n / 2 ? -0.0
                                            : 0.0;
                        break;
                    case 15: /* quiet and signalling NaNs of any payload among values */
                        x[i] = r % 3 ? from_bits(0x7FF0000000000001ULL | (r >> 3 & 1) << 63 |
                                                 (r >> 4 & 0xFFFFFFFFFFFFULL))
                                     : (double)(r >> 5 & 3);
                        break;
                    default: /* a factor-like cross-section with ties and NaNs */
                        x[i] = r % 17 == 0  ? NAN
                               : r % 5 == 0 ? (double)(r >> 5 & 3)
                                            : ((double)(int64_t)r) * 1e-19;
                        break;
                    }
                }
                char what[32];
                snprintf(what, sizeof what, "flavour %d", flavour);
                check_row(x, n, what);
            }
        }
    }
    free(x);
}

static void test_run_order_skips_nan(void **st) {
    (void)st;
    /* 2 dates x 4 symbols */
    double x[8] = {3, NAN, 1, 3, NAN, NAN, -0.0, 0.0};
    struct run_order o;
    int n = -1;
    run_order_build(&o, x, 4, 0, 1);
    const int *l = run_order_at(&o, 0, &n);
    assert_int_equal(n, 3);
    assert_int_equal(l[0], 2);
    assert_int_equal(l[1], 0); /* a tie: symbol order */
    assert_int_equal(l[2], 3);
    l = run_order_at(&o, 1, &n);
    assert_int_equal(n, 2);
    assert_int_equal(l[0], 2); /* -0.0 == 0.0: a tie too */
    assert_int_equal(l[1], 3);
    assert_null(run_order_at(&o, 2, &n));
    run_order_free(&o);
}

static void test_quantile_walk_matches_scan(void **st) {
    (void)st;
    enum { MAXN = 600 };
    double x[MAXN], sorted[MAXN];
    int ord[MAXN], want[MAXN], got[MAXN], tmp[MAXN];
    uint32_t key[2 * MAXN];
    for (int rep = 0; rep < 3000; rep++) {
        int n = 2 + (int)(rng() % (MAXN - 2)), q = 2 + (int)(rng() % (RUN_MAX_QUANTILES - 1));
        int flavour = rep % 3;
        for (int i = 0; i < n; i++)
            x[i] = flavour == 0 ? (double)(rng() % 5) : flavour == 1 ? draw(4) : draw(2);
        for (int i = 0; i < n; i++)
            ord[i] = i;
        sort_order_doubles(x, ord, n, key, tmp);
        quantile_buckets(x, n, q, sorted, want);
        quantile_buckets_order(x, ord, n, q, got);
        for (int i = 0; i < n; i++)
            if (got[i] != want[i])
                fail_msg("n=%d q=%d: value %d in bucket %d, want %d", n, q, i, got[i], want[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_matches_comparison_sort),
        cmocka_unit_test(test_sort_row_matches_comparison_sort),
        cmocka_unit_test(test_sort_row_adversarial),
        cmocka_unit_test(test_run_order_skips_nan),
        cmocka_unit_test(test_quantile_walk_matches_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
