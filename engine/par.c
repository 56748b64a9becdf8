/* par.c -- a small persistent thread pool for the engine (contract in
 * par.h). Threads are started on the first parallel run and live until
 * the process ends: a batch makes hundreds of parallel runs, and thread
 * start-up would cost more than the short ones save. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "par.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* one par_run at a time */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_start = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_done = PTHREAD_COND_INITIALIZER;

static int fixed_threads;        /* par_set_threads' value, 0 = default */
static int started;              /* pool threads running (workers 1..started) */
static unsigned long generation; /* bumped per job so sleepers see a new one */
static int job_threads;          /* workers taking part in the current job */
static int busy;                 /* pool threads still inside the current job */
static par_fn job_fn;
static void *job_ctx;
static int job_ntasks;
static atomic_int job_next;

static _Thread_local int in_task; /* nested par_run runs serially */

int par_threads(void) {
    int n = fixed_threads;
    if (n <= 0) {
        const char *e = getenv("BTPIPE_THREADS");
        char *end;
        long v = e ? strtol(e, &end, 10) : 0;
        if (e && *e && !*end && v >= 1) n = (int)(v > PAR_MAX_THREADS ? PAR_MAX_THREADS : v);
    }
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > PAR_MAX_THREADS ? PAR_MAX_THREADS : (int)c;
    }
    return n;
}

void par_set_threads(int n) {
    fixed_threads = n < 0 ? 0 : n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n;
}

/* Takes tasks until none is left. */
static void drain(par_fn fn, void *ctx, int ntasks, int worker) {
    int t;
    in_task = 1;
    while ((t = atomic_fetch_add(&job_next, 1)) < ntasks)
        fn(ctx, t, worker);
    in_task = 0;
}

static void *pool_main(void *arg) {
    int worker = (int)(long)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&job_lock);
    for (;;) {
        while (generation == seen)
            pthread_cond_wait(&job_start, &job_lock);
        seen = generation;
        if (worker >= job_threads) continue; /* this job wants fewer threads */
        par_fn fn = job_fn;
        void *ctx = job_ctx;
        int ntasks = job_ntasks;
        pthread_mutex_unlock(&job_lock);
        drain(fn, ctx, ntasks, worker);
        pthread_mutex_lock(&job_lock);
        if (--busy == 0) pthread_cond_signal(&job_done);
    }
    return NULL;
}

/* Starts pool threads up to want - 1 of them; returns how many run. */
static int pool_grow(int want) {
    while (started < want - 1) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &at, pool_main, (void *)(long)(started + 1));
        pthread_attr_destroy(&at);
        if (rc) break; /* fewer threads is slower, not wrong */
        started++;
    }
    return started;
}

void par_run(int ntasks, par_fn fn, void *ctx) {
    if (ntasks <= 0) return;
    int threads = par_threads();
    if (threads > ntasks) threads = ntasks;
    if (threads < 2 || in_task || pthread_mutex_trylock(&pool_lock)) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&job_lock);
    threads = pool_grow(threads) + 1 < threads ? started + 1 : threads;
    job_fn = fn;
    job_ctx = ctx;
    job_ntasks = ntasks;
    job_threads = threads;
    busy = threads - 1;
    atomic_store(&job_next, 0);
    generation++;
    pthread_cond_broadcast(&job_start);
    pthread_mutex_unlock(&job_lock);
    drain(fn, ctx, ntasks, 0);
    pthread_mutex_lock(&job_lock);
    while (busy > 0)
        pthread_cond_wait(&job_done, &job_lock);
    pthread_mutex_unlock(&job_lock);
    pthread_mutex_unlock(&pool_lock);
}
