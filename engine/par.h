/* par.h -- the engine's worker threads: n independent tasks spread over up
 * to par_threads() threads, the calling thread being one of them.
 *
 * Every parallel piece of the engine splits its work so that each output
 * cell is computed by exactly one task with exactly the arithmetic the
 * serial code uses: results are bit-identical whatever the thread count
 * (tests run with 1 and with several threads and compare). */
#ifndef BTPIPE_PAR_H
#define BTPIPE_PAR_H

/* Threads par_run may use: par_set_threads' value when set, else
 * BTPIPE_THREADS from the environment when it is a number >= 1, else the
 * online CPUs; at most PAR_MAX_THREADS. */
#define PAR_MAX_THREADS 64
int par_threads(void);
/* n >= 1 fixes the thread count; 0 goes back to the default. Call it
 * before the first par_run or between runs, never during one. */
void par_set_threads(int n);

/* Runs fn(ctx, task, worker) for every task in 0..ntasks-1 and returns when
 * all are done. Tasks are handed out in ascending order, each to whichever
 * thread is free; worker (0..par_threads()-1) names the thread running the
 * task, so that per-worker scratch can be indexed by it, and no two tasks
 * run on the same worker at once. A par_run from inside a task, or while
 * another thread's par_run holds the pool, runs its tasks serially on the
 * calling thread (as worker 0 of its own). */
typedef void (*par_fn)(void *ctx, int task, int worker);
void par_run(int ntasks, par_fn fn, void *ctx);

#endif
