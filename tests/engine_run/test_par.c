/* test_par.c -- the engine's thread pool: every task runs exactly once,
 * workers never overlap, nested and concurrent runs fall back to serial. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "par.h"

enum { NTASK = 1000 };

struct count_ctx {
    atomic_int hits[NTASK];
    atomic_int active[PAR_MAX_THREADS];
    atomic_int overlap, bad_worker, nested_ok;
    int nthreads;
};

static void count_task(void *vctx, int task, int worker) {
    struct count_ctx *c = vctx;
    if (worker < 0 || worker >= c->nthreads) {
        atomic_fetch_add(&c->bad_worker, 1);
        return;
    }
    if (atomic_fetch_add(&c->active[worker], 1) != 0) atomic_fetch_add(&c->overlap, 1);
    atomic_fetch_add(&c->hits[task], 1);
    atomic_fetch_sub(&c->active[worker], 1);
}

static void check_counts(struct count_ctx *c, int ntasks) {
    for (int i = 0; i < ntasks; i++)
        assert_int_equal(atomic_load(&c->hits[i]), 1);
    for (int i = ntasks; i < NTASK; i++)
        assert_int_equal(atomic_load(&c->hits[i]), 0);
    assert_int_equal(atomic_load(&c->overlap), 0);
    assert_int_equal(atomic_load(&c->bad_worker), 0);
}

static void test_every_task_once(void **state) {
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        par_set_threads(threads);
        assert_int_equal(par_threads(), threads);
        /* many runs in a row: the pool must hand each job over cleanly */
        for (int round = 0; round < 200; round++) {
            static struct count_ctx c;
            memset(&c, 0, sizeof c);
            c.nthreads = threads;
            int n = 1 + (round * 37) % NTASK;
            par_run(n, count_task, &c);
            check_counts(&c, n);
        }
    }
    par_set_threads(0);
}

static void nested_task(void *vctx, int task, int worker) {
    struct count_ctx *c = vctx;
    (void)worker;
    static _Thread_local struct count_ctx inner;
    memset(&inner, 0, sizeof inner);
    inner.nthreads = 1; /* nested: serial, as worker 0 */
    par_run(10, count_task, &inner);
    int ok = 1;
    for (int i = 0; i < 10; i++)
        ok &= atomic_load(&inner.hits[i]) == 1;
    ok &= atomic_load(&inner.bad_worker) == 0;
    if (ok) atomic_fetch_add(&c->nested_ok, 1);
    atomic_fetch_add(&c->hits[task], 1);
}

static void test_nested_runs_serially(void **state) {
    (void)state;
    par_set_threads(3);
    static struct count_ctx c;
    memset(&c, 0, sizeof c);
    par_run(50, nested_task, &c);
    for (int i = 0; i < 50; i++)
        assert_int_equal(atomic_load(&c.hits[i]), 1);
    assert_int_equal(atomic_load(&c.nested_ok), 50);
    par_set_threads(0);
}

static void *concurrent_caller(void *arg) {
    struct count_ctx *c = arg;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 100; i++)
            atomic_store(&c->hits[i], 0);
        par_run(100, count_task, c);
        for (int i = 0; i < 100; i++)
            if (atomic_load(&c->hits[i]) != 1) atomic_fetch_add(&c->bad_worker, 1000);
    }
    return NULL;
}

static void test_concurrent_callers(void **state) {
    (void)state;
    par_set_threads(2);
    static struct count_ctx a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.nthreads = b.nthreads = 2;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, concurrent_caller, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, concurrent_caller, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(atomic_load(&a.bad_worker), 0);
    assert_int_equal(atomic_load(&b.bad_worker), 0);
    par_set_threads(0);
}

static void test_thread_count_from_env(void **state) {
    (void)state;
    par_set_threads(0);
    setenv("BTPIPE_THREADS", "3", 1);
    assert_int_equal(par_threads(), 3);
    setenv("BTPIPE_THREADS", "junk", 1);
    assert_true(par_threads() >= 1);
    setenv("BTPIPE_THREADS", "100000", 1);
    assert_int_equal(par_threads(), PAR_MAX_THREADS);
    unsetenv("BTPIPE_THREADS");
    assert_true(par_threads() >= 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_task_once),
        cmocka_unit_test(test_nested_runs_serially),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_thread_count_from_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
