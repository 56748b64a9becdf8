/* test_expr_par.c -- evaluation splits its work over engine/par.h's threads
 * and must give the same bits whatever the thread count: every Alpha101
 * alpha and every benchmark expression, evaluated together as one program
 * on the real sp500 panel with 1, 2 and 3 threads, compared with memcmp
 * (NaN payloads and signed zeros included). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expr.h"
#include "expr_testdata.h"
#include "par.h"

enum { MAX_EXPRS = 256 };

static char *texts[MAX_EXPRS];
static int ntexts;
static struct panel sp;
static struct expr_prog *ref; /* everything on one thread */

/* Appends the expressions of path: "expr" or "name<TAB>expr" lines, '#'
 * lines skipped. Returns how many were read or -1. */
static int read_exprs(const char *path) {
    FILE *f = fopen(path, "r");
    int n = 0;
    if (!f) return -1;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        if (ntexts == MAX_EXPRS) break;
        char *tab = strchr(line, '\t');
        texts[ntexts++] = strdup(tab ? tab + 1 : line);
        n++;
    }
    fclose(f);
    return n;
}

static int setup(void **state) {
    (void)state;
    if (read_exprs(ALPHA101_FILE) < 50 || read_exprs(BENCH_EXPR_FILE) < 50) return -1;
    return td_load_sp500(td_sp500_dir(), NULL, 0, &sp);
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < ntexts; i++)
        free(texts[i]);
    panel_free(&sp);
    par_set_threads(0);
    expr_prog_free(ref);
    return 0;
}

/* Evaluates every text as one program with `threads` threads; returns the
 * program (results inside). */
static struct expr_prog *eval_with(int threads) {
    struct expr_prog *pg = expr_prog_new();
    struct bt_err err = BT_ERR_INIT;
    for (int i = 0; i < ntexts; i++)
        assert_int_equal(expr_prog_add(pg, texts[i], &err), i);
    par_set_threads(threads);
    assert_int_equal(par_threads(), threads);
    assert_int_equal(expr_prog_eval(pg, &sp, &err), 0);
    par_set_threads(0);
    return pg;
}

static void test_threads_bit_identical(void **state) {
    (void)state;
    size_t bytes = (size_t)sp.ndates * (size_t)sp.nsyms * sizeof(double);
    assert_true(sp.ndates > 1000 && sp.nsyms > 400); /* big enough to be split */
    ref = eval_with(1);
    static const int counts[] = {2, 3};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        struct expr_prog *pg = eval_with(counts[c]);
        assert_int_equal(expr_prog_evaluated(pg), expr_prog_evaluated(ref));
        for (int i = 0; i < ntexts; i++) {
            const double *a = expr_prog_result(ref, i), *b = expr_prog_result(pg, i);
            assert_non_null(a);
            assert_non_null(b);
            if (memcmp(a, b, bytes) != 0)
                fail_msg("%d threads: expression %d differs: %s", counts[c], i, texts[i]);
        }
        expr_prog_free(pg);
    }
}

/* The same with each expression alone through expr_eval_text: a one-node
 * program is split the same way and must match the shared-graph result. */
static void test_alone_matches_shared(void **state) {
    (void)state;
    size_t bytes = (size_t)sp.ndates * (size_t)sp.nsyms * sizeof(double);
    struct bt_err err = BT_ERR_INIT;
    assert_non_null(ref); /* from the test above */
    par_set_threads(2);
    for (int i = 0; i < ntexts; i += 11) {
        double *v = NULL;
        assert_int_equal(expr_eval_text(texts[i], &sp, &v, &err), 0);
        if (memcmp(v, expr_prog_result(ref, i), bytes) != 0)
            fail_msg("expression %d alone on 2 threads differs: %s", i, texts[i]);
        free(v);
    }
    par_set_threads(0);
}

/* rank over rows with many ties, NaNs, signed zeros and odd counts, on a
 * panel big enough to be split: equal to a brute-force count of the values
 * below and equal to each (the same expression, so the same bits), and the
 * same on 1 and 3 threads. */
static void test_rank_ties_split(void **state) {
    (void)state;
    enum { ND = 300, NS = 301 };
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    static double col[ND];
    uint64_t r = 88172645463325252ULL;
    td_panel(&p, ND, NS);
    for (int s = 0; s < NS; s++) {
        for (int t = 0; t < ND; t++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            int u = (int)(r % 1000);
            col[t] = u < 50 ? NAN : u < 70 ? -0.0 : u < 90 ? 0.0 : (double)(u % 37 - 18) * 1e-3;
            if (u > 990) col[t] = (u & 1 ? 1e300 : -1e-300);
            if (u % 97 == 5) col[t] += (double)s * 1e-12; /* near ties, not exact */
        }
        td_set(&p, PF_CLOSE, s, col, ND);
    }
    double *one = NULL, *three = NULL;
    par_set_threads(1);
    assert_int_equal(expr_eval_text("rank(close)", &p, &one, &err), 0);
    par_set_threads(3);
    assert_int_equal(expr_eval_text("rank(close)", &p, &three, &err), 0);
    par_set_threads(0);
    assert_memory_equal(one, three, sizeof(double) * ND * NS);
    for (int t = 0; t < ND; t++) {
        const double *x = p.f[PF_CLOSE] + (size_t)t * NS, *o = one + (size_t)t * NS;
        int m = 0;
        for (int s = 0; s < NS; s++)
            m += x[s] == x[s];
        for (int s = 0; s < NS; s++) {
            if (x[s] != x[s]) {
                assert_true(o[s] != o[s]);
                continue;
            }
            int less = 0, eq = 0;
            for (int k = 0; k < NS; k++)
                less += x[k] < x[s], eq += x[k] == x[s];
            double want = (2 * less + eq + 1) / 2.0 / m;
            if (memcmp(&want, &o[s], sizeof want) != 0)
                fail_msg("row %d symbol %d: rank %.17g, want %.17g", t, s, o[s], want);
        }
    }
    free(one);
    free(three);
    panel_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_alone_matches_shared),
        cmocka_unit_test(test_rank_ties_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
