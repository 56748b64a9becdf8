/* planner_core.h -- what the planner decides, as a pure function of what it has seen.
 *
 * The core holds the registry (factors, strategies), the landed dates of
 * every dataset, the tasks it (or an earlier incarnation) released, and the
 * completions it learned of. It never touches Kafka, S3 or processes: main.c
 * feeds it decoded messages and carries out the decisions it returns.
 *
 * Planning is a walk, per active pair (strategy x factor x dataset), along
 * the dataset's landed dates. Starting at the first date, the walk follows
 * the chain of *current* tasks (same spec versions, and a data_version equal
 * to what the landed data gives today, see below), each one starting the
 * landed date after its predecessor ended. Where the chain stops:
 *   - no current task starts here, and the predecessor succeeded (or there is
 *     none): release ONE new task from here to the last landed date. With no
 *     predecessor it is the pair's backfill (no state_in); otherwise it reads
 *     the state the predecessor wrote at its last date.
 *   - the task here is still running: wait. This is the per-pair queue: the
 *     dates that land meanwhile go into the one task released when the
 *     completion arrives, so stateful pairs never run out of order.
 *   - the task here failed or was rejected: the pair is stuck until its
 *     inputs change (a corrected date, a new spec version).
 *
 * A task's data_version is a hash over every landed (date, data_version) up
 * to its last date plus its first date. So a corrected date, or a date that
 * lands late inside history, makes every task from there on stale and the
 * walk re-plans that date and every later one (from the start of the task
 * covering it); a replayed increment, a duplicate spec, a duplicate
 * completion change nothing. plan_id = hash(task_key "/" data_version), one
 * task per plan (packing into array jobs is roadmap).
 *
 * Restart: replay the compacted topics (factors, strategies, data.landed,
 * jobs, completions) in any order through the planner_core_on_* calls, then
 * call planner_core_decide: it re-submits the released tasks that have no
 * completion and plans what is missing. Nothing is submitted twice by one
 * core: a task handed out is remembered until its completion. */
#ifndef BTPIPE_PLANNER_CORE_H
#define BTPIPE_PLANNER_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#include "btpipe/v1/data_increment.pb-c.h"
#include "btpipe/v1/factor_spec.pb-c.h"
#include "btpipe/v1/job_completion.pb-c.h"
#include "btpipe/v1/job_record.pb-c.h"
#include "btpipe/v1/strategy_spec.pb-c.h"

struct planner_core;

/* The engine's static analysis, passed in so that the core's tests can run
 * without the engine and main.c can plug the real one (planner_engine.c). */
struct planner_hooks {
    /* Parses expr and gives its lookback; BT_EINPUT with where/msg otherwise. */
    int (*expr_lookback)(const char *expr, int *lookback, struct bt_err *err);
    /* Checks one strategy parameter; BT_EINPUT naming the key otherwise. */
    int (*param_check)(const char *key, const char *value, struct bt_err *err);
};

struct planner_config {
    const char *results_uri; /* "s3://bucket" or "file:///dir": series, state, manifests */
    const char *data_uri;    /* default data root when an increment has no uri: "s3://bucket" */
    const char *executor;    /* "local" | "aws-batch", written into JobRecords */
    const char *producer;    /* meta.producer of what the core authors */
    struct planner_hooks hooks;
};

/* What main.c must do, in this order: for each job, write its manifest (when
 * submit is set) and publish it on btpipe.jobs; publish each completion on
 * btpipe.completions; flush; then hand each job with submit set to the
 * executor. Everything here is owned by the decisions. */
struct planner_job_out {
    Btpipe__V1__JobRecord *rec; /* unpacked-style message (free with planner_decisions_free) */
    int submit;                 /* 1: hand to the executor; 0: a state update only */
};

struct planner_decisions {
    struct planner_job_out *jobs;
    size_t njobs;
    Btpipe__V1__JobCompletion **completions; /* authored by the planner: retries exhausted */
    size_t ncompletions;
};

int planner_core_new(const struct planner_config *cfg, struct planner_core **out,
                     struct bt_err *err);
void planner_core_free(struct planner_core *c);

/* Registry input. spec NULL is a tombstone for key. BT_EINPUT (err says what
 * and where) means: dead-letter the message; the core kept its old state. */
int planner_core_on_factor(struct planner_core *c, const char *key,
                           const Btpipe__V1__FactorSpec *spec, struct bt_err *err);
int planner_core_on_strategy(struct planner_core *c, const char *key,
                             const Btpipe__V1__StrategySpec *spec, struct bt_err *err);
/* A landed date. The latest detected_at_ms wins per (dataset, date); NULL
 * (a tombstone) is ignored. */
int planner_core_on_increment(struct planner_core *c, const Btpipe__V1__DataIncrement *inc,
                              struct bt_err *err);
/* The planner's own memory (btpipe.jobs): which tasks exist. */
int planner_core_on_job(struct planner_core *c, const Btpipe__V1__JobRecord *rec,
                        struct bt_err *err);
/* Which tasks are done (btpipe.completions). */
int planner_core_on_completion(struct planner_core *c, const Btpipe__V1__JobCompletion *comp,
                               struct bt_err *err);

/* The executor gave up on a plan (retries exhausted: permanent = 0; the
 * runner said bad input: permanent = 1). Adds a FAILED / REJECTED_INPUT
 * completion and the final JobRecord to out, and records the completion so
 * that nothing is re-submitted. BT_ENOTFOUND for an unknown plan. */
int planner_core_on_exec_failed(struct planner_core *c, const char *plan_id, uint32_t attempts,
                                int permanent, const char *error, int64_t now_ms,
                                struct planner_decisions *out, struct bt_err *err);
/* The executor started a plan: external id (pid, Batch jobId) for the record. */
int planner_core_on_exec_started(struct planner_core *c, const char *plan_id,
                                 const char *external_id, uint32_t attempt, int64_t now_ms,
                                 struct planner_decisions *out, struct bt_err *err);

/* Plans: appends to out what to publish and submit now. Idempotent: calling
 * it again with no new input adds nothing. */
int planner_core_decide(struct planner_core *c, int64_t now_ms, struct planner_decisions *out,
                        struct bt_err *err);

void planner_decisions_free(struct planner_decisions *d);

/* Read-only views for /metrics, /readyz and tests. */
struct planner_stats {
    size_t factors, strategies, datasets, dates; /* active registrations, landed dates */
    size_t pairs;                                /* active pairs */
    size_t pairs_current, pairs_waiting, pairs_stuck;
    size_t tasks_known, tasks_inflight, tasks_succeeded, tasks_failed;
};
void planner_core_stats(const struct planner_core *c, struct planner_stats *out);
/* The lookback the core computed for a factor, or -1 when not registered. */
int planner_core_factor_lookback(const struct planner_core *c, const char *factor_id);
/* The task of a plan (owned by the core), NULL when unknown. */
const Btpipe__V1__Task *planner_core_task(const struct planner_core *c, const char *plan_id);

/* plan_id for (task_key, data_version): 32 lowercase hex chars + NUL. */
void planner_plan_id(const char *task_key, const char *data_version, char out[33]);

#endif
