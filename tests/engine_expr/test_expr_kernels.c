/* test_expr_kernels.c -- the kernels' code paths give the same bits.
 *
 * The library's kernels run as the CPU's target clone (AVX-512, AVX2) and,
 * for the time-series windows, in vector tiles of eight symbols. Here they
 * are compared, bit for bit (memcmp: NaNs and signed zeros included), with
 * second copies of the kernel files built into this test (kern_base_*.c):
 * the baseline x86-64 code a machine without AVX2 runs, and the plain row
 * code without tiles (kern_scalar_ts.c). Inputs: a corner of the real sp500
 * panel (an odd symbol count, so tiles and tails both run) and a panel
 * derived from it with NaNs, constant windows, ties, signed zeros and
 * values near overflow. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu.h"
#include "expr_int.h"
#include "expr_testdata.h"

/* the copies' entry points (kern_base.h names them) */
void base_eval_ts_scratch(int op, const double *x, const double *y, int win, const int32_t *dates,
                          int ndates, int nsyms, double *out, double *const *scratch);
void scalar_eval_ts_scratch(int op, const double *x, const double *y, int win, const int32_t *dates,
                            int ndates, int nsyms, double *out, double *const *scratch);
void base_eval_elem(int op, const struct expr_val *args, size_t cells, double *out);
void base_eval_cs(int op, double arg, const double *x, int ndates, int nsyms, double *out);

enum { ND = 260, NS = 61, NIN = 5 };

static struct panel sp;
static int32_t dates[ND];
static double *in[NIN]; /* close, volume, returns, odd x, odd y: ND x NS */
static const char *in_name[NIN] = {"close", "volume", "returns", "odd", "odd2"};

/* The value of the odd panel at (d, s), from a real value v. */
static double odd_value(double v, int d, int s) {
    if ((d * NS + s) % 97 == 0) return NAN;
    if (s % 7 == 0 && d % 50 < 12) return 5.0; /* constant windows */
    if (s % 11 == 0) return round(v / 10);     /* ties */
    if (s % 13 == 0 && d % 3 == 0) return d % 2 ? -0.0 : 0.0;
    if (s % 17 == 0) return (d % 2 ? -1 : 1) * 1e300; /* sums overflow */
    if (s % 19 == 0) return v * 1e-300;
    return v;
}

static int setup(void **state) {
    (void)state;
    if (td_load_sp500(td_sp500_dir(), NULL, 0, &sp)) return -1;
    if (sp.ndates < ND + 1 || sp.nsyms < NS) return -1;
    for (int k = 0; k < NIN; k++)
        in[k] = malloc((size_t)ND * NS * sizeof(double));
    for (int d = 0; d < ND; d++) {
        dates[d] = sp.dates[d + 1];
        for (int s = 0; s < NS; s++) {
            size_t i = (size_t)d * NS + (size_t)s;
            double c = sp.f[PF_CLOSE][panel_idx(&sp, d + 1, s)];
            double c0 = sp.f[PF_CLOSE][panel_idx(&sp, d, s)];
            double v = sp.f[PF_VOLUME][panel_idx(&sp, d + 1, s)];
            in[0][i] = c;
            in[1][i] = v;
            in[2][i] = c / c0 - 1;
            in[3][i] = odd_value(c, d, s);
            in[4][i] = odd_value(v, d, (s + 3) % NS);
        }
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int k = 0; k < NIN; k++)
        free(in[k]);
    panel_free(&sp);
    return 0;
}

/* memcmp of two panels, naming the first differing cell. */
static void same_bits(const double *a, const double *b, const char *what, const char *path) {
    for (size_t i = 0; i < (size_t)ND * NS; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            fail_msg("%s (%s) row %d sym %d: %.17g vs %.17g", what, path, (int)(i / NS),
                     (int)(i % NS), a[i], b[i]);
}

static void test_ts_paths(void **state) {
    (void)state;
    static const struct {
        int op, wins[6];
    } ops[] = {
        {EOP_DELAY, {1, 5}},
        {EOP_DELTA, {1, 5}},
        {EOP_TS_SUM, {1, 2, 5, 10, 20, 40}},
        {EOP_TS_MEAN, {1, 3, 8, 15, 32, 60}},
        {EOP_TS_STD, {1, 2, 5, 10, 20, 40}},
        {EOP_TS_ZSCORE, {2, 5, 20, 40}},
        {EOP_TS_MIN, {1, 3, 10, 30}},
        {EOP_TS_MAX, {1, 3, 10, 30}},
        {EOP_TS_ARGMIN, {1, 3, 10, 30}},
        {EOP_TS_ARGMAX, {1, 3, 10, 30}},
        {EOP_TS_RANK, {1, 5, 10, 20}},
        {EOP_TS_PRODUCT, {3, 10}},
        {EOP_DECAY_LINEAR, {1, 5, 10}},
        {EOP_EWM, {5, 10}},
        {EOP_TS_CORR, {1, 2, 5, 10, 20, 40}},
        {EOP_TS_COV, {1, 2, 5, 15, 40}},
    };
    size_t cells = (size_t)ND * NS;
    double *lib = malloc(cells * sizeof *lib), *base = malloc(cells * sizeof *base),
           *scalar = malloc(cells * sizeof *scalar);
    int checked = 0, tiled_cells = 0;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (int w = 0; w < 6 && ops[o].wins[w]; w++)
            for (int k = 0; k < NIN; k++) {
                int op = ops[o].op, win = ops[o].wins[w];
                const double *x = in[k], *y = in[(k + 1) % NIN];
                char what[96];
                snprintf(what, sizeof what, "%s(%s, %d)", expr_op_name(op), in_name[k], win);
                expr_eval_ts(op, x, y, win, dates, ND, NS, lib);
                base_eval_ts_scratch(op, x, y, win, dates, ND, NS, base, NULL);
                scalar_eval_ts_scratch(op, x, y, win, dates, ND, NS, scalar, NULL);
                same_bits(lib, base, what, "dispatched vs baseline");
                same_bits(lib, scalar, what, "tiles vs rows");
                for (size_t i = (size_t)win * NS; i < cells; i++)
                    tiled_cells += !isnan(lib[i]);
                checked++;
            }
    assert_true(checked > 200);
    assert_true(tiled_cells > 100000); /* the comparisons saw real values */
    free(lib);
    free(base);
    free(scalar);
}

static void test_elem_paths(void **state) {
    (void)state;
    size_t cells = (size_t)ND * NS;
    double *lib = malloc(cells * sizeof *lib), *base = malloc(cells * sizeof *base);
    for (int op = EOP_NEG; op <= EOP_COND; op++)
        for (int k = 0; k < NIN; k++) {
            struct expr_val a[3] = {{in[k], 0}, {in[(k + 3) % NIN], 0}, {in[(k + 1) % NIN], 0}};
            char what[64];
            snprintf(what, sizeof what, "%s on %s", expr_op_name(op), in_name[k]);
            expr_eval_elem(op, a, cells, lib);
            base_eval_elem(op, a, cells, base);
            same_bits(lib, base, what, "dispatched vs baseline");
            a[1].p = NULL; /* a scalar operand */
            a[1].s = k - 1.5;
            expr_eval_elem(op, a, cells, lib);
            base_eval_elem(op, a, cells, base);
            same_bits(lib, base, what, "dispatched vs baseline, scalar arg");
            a[1] = a[0]; /* the scalar first */
            a[0].p = NULL;
            a[0].s = k - 2.0;
            expr_eval_elem(op, a, cells, lib);
            base_eval_elem(op, a, cells, base);
            same_bits(lib, base, what, "dispatched vs baseline, scalar first arg");
        }
    free(lib);
    free(base);
}

static void test_cs_paths(void **state) {
    (void)state;
    static const int ops[] = {EOP_RANK, EOP_ZSCORE, EOP_DEMEAN, EOP_SCALE};
    size_t cells = (size_t)ND * NS;
    double *lib = malloc(cells * sizeof *lib), *base = malloc(cells * sizeof *base);
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (int k = 0; k < NIN; k++) {
            char what[64];
            snprintf(what, sizeof what, "%s(%s)", expr_op_name(ops[o]), in_name[k]);
            expr_eval_cs(ops[o], 1.0, in[k], ND, NS, lib);
            base_eval_cs(ops[o], 1.0, in[k], ND, NS, base);
            same_bits(lib, base, what, "dispatched vs baseline");
        }
    free(lib);
    free(base);
}

/* A row for the rank test: mostly signed zeros and NaNs (ties of -0 with
 * +0 must rank as one group), with rows all NaN, one value only, all one
 * value, and real values mixed in. */
static double zero_value(const double *real, int d, int s) {
    switch (d % 6) {
    case 0: return NAN;                      /* nothing to rank */
    case 1: return s == d % NS ? -0.0 : NAN; /* one value */
    case 2: return (s + d) % 3 ? -0.0 : 0.0; /* one tie group, both zeros */
    case 3: return s % 5 == 0 ? NAN : (s % 2 ? -0.0 : 0.0) + (s % 3 == 0 ? real[s] : 0);
    case 4: return s % 4 == 0 ? -real[s] : (s % 4 == 1 ? 0.0 : (s % 4 == 2 ? -0.0 : real[s]));
    default: return round(real[s]) * (s % 2 ? 1 : -1); /* many small tie groups */
    }
}

/* rank through strategy_sort.c's AVX-512 row sort against the portable
 * radix way (the baseline copy, pinned portable): the same bits, on the
 * inputs above and on rows of signed zeros, NaNs and ties. */
static void test_rank_sort_paths(void **state) {
    (void)state;
    if (cpu_hw_level() < CPU_AVX512) skip();
    size_t cells = (size_t)ND * NS;
    double *lib = malloc(cells * sizeof *lib), *base = malloc(cells * sizeof *base);
    double *zeros = malloc(cells * sizeof *zeros);
    for (int d = 0; d < ND; d++)
        for (int s = 0; s < NS; s++)
            zeros[(size_t)d * NS + s] = zero_value(in[0] + (size_t)d * NS, d, s);
    for (int k = 0; k <= NIN; k++) {
        const double *x = k < NIN ? in[k] : zeros;
        char what[64];
        snprintf(what, sizeof what, "rank(%s)", k < NIN ? in_name[k] : "zeros");
        cpu_force_portable(0);
        expr_eval_cs(EOP_RANK, 1.0, x, ND, NS, lib);
        cpu_force_portable(1);
        base_eval_cs(EOP_RANK, 1.0, x, ND, NS, base);
        cpu_force_portable(0);
        same_bits(lib, base, what, "AVX-512 sort vs portable radix");
    }
    /* the zero rows really rank -0 and +0 together */
    assert_true(lib[2 * NS] == lib[2 * NS + 1] && lib[2 * NS] == (NS + 1) / 2.0 / NS);
    free(zeros);
    free(lib);
    free(base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_paths),
        cmocka_unit_test(test_elem_paths),
        cmocka_unit_test(test_cs_paths),
        cmocka_unit_test(test_rank_sort_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
