/* executor.h -- where the planner's plans run: one interface, several backends.
 *
 * The planner hands a plan (its id and manifest URI) to an executor and
 * learns what became of it through events. It never asks which backend it
 * has. Retries of transient failures happen inside the executor; the
 * planner only hears the final word (succeeded, failed, rejected input).
 *
 * Exit-code contract of `btpipe-runner job`: 0 ok; 2 permanent bad input,
 * never retried; anything else (or a signal, or a timeout) transient. */
#ifndef BTPIPE_EXECUTOR_H
#define BTPIPE_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum executor_event_kind {
    EXEC_STARTED,   /* an attempt started: external_id, attempt */
    EXEC_RETRYING,  /* an attempt failed transiently; another one is scheduled */
    EXEC_SUCCEEDED, /* exit 0: the runner published its completion */
    EXEC_FAILED,    /* gave up: permanent (exit 2) or retries exhausted */
};

struct executor_event {
    enum executor_event_kind kind;
    char plan_id[64];
    char external_id[64];
    uint32_t attempt;
    int permanent; /* EXEC_FAILED: 1 = bad input, 0 = retries exhausted */
    char error[256];
};

struct executor;

struct executor_ops {
    const char *name;
    /* Queues a plan; returns at once. */
    int (*submit)(struct executor *ex, const char *plan_id, const char *manifest_uri,
                  struct bt_err *err);
    /* Advances the backend (start, reap, time out, retry) without blocking
     * and returns up to cap events. */
    size_t (*poll)(struct executor *ex, int64_t now_ms, struct executor_event *ev, size_t cap);
    /* Plans queued or running. */
    size_t (*inflight)(const struct executor *ex);
    /* Stops everything it started (grace_ms before forcing) and frees. */
    void (*free)(struct executor *ex, int grace_ms);
};

struct executor {
    const struct executor_ops *ops;
};

struct executor_local_config {
    const char *runner_path;
    int workers;    /* processes at once */
    int timeout_s;  /* per attempt */
    int retries;    /* after the first attempt */
    int backoff_ms; /* before the first retry; doubles, capped at 60 s */
};

int executor_local_new(const struct executor_local_config *cfg, struct executor **out,
                       struct bt_err *err);

/* What to do after an attempt ended: the pure half of the local executor. */
enum exit_action { EXIT_DONE, EXIT_RETRY, EXIT_GIVE_UP, EXIT_REJECTED };
/* wstatus as from waitpid; timed_out when the executor killed it. Fills
 * why (for logs and the FAILED completion) and, for EXIT_RETRY, the delay. */
enum exit_action executor_exit_action(int wstatus, int timed_out, uint32_t attempt,
                                      uint32_t max_attempts, int backoff_ms, int64_t *delay_ms,
                                      char *why, size_t why_cap);

#endif
