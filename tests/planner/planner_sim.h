/* planner_sim.h -- a deterministic harness around the planner core.
 *
 * It plays the topics and the executor: every message fed to the core is
 * logged as it would sit on its topic (so a "crash" can rebuild a new core
 * from the log, as the real planner rebuilds from Kafka), every decision is
 * carried out (JobRecords appended to the jobs log, submissions put in a
 * running set), and completions are written as the runner would write them.
 * It checks two invariants on every submission: a plan is never handed out
 * while it is still running, and a task that reads state is only handed out
 * after the task that writes that state succeeded. */
#ifndef BTPIPE_PLANNER_SIM_H
#define BTPIPE_PLANNER_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "planner_core.h"

enum sim_topic { SIM_FACTORS, SIM_STRATEGIES, SIM_DATA, SIM_JOBS, SIM_COMPLETIONS };

struct sim_msg {
    enum sim_topic topic;
    char *key;
    void *msg; /* owned protobuf-c message; NULL = tombstone */
};

struct sim {
    struct planner_core *core;
    struct sim_msg *log;
    size_t nlog;
    char **running; /* plan ids handed to the "executor", not completed */
    size_t nrunning;
    Btpipe__V1__JobRecord **subs; /* every submission ever, in order */
    size_t nsubs;
    size_t last_subs; /* submissions made by the last sim_decide */
    size_t last_jobs; /* job records published by the last sim_decide */
    int violations;   /* invariant breaches seen */
    char violation[512];
    int64_t now;
};

void sim_init(struct sim *s);
void sim_free(struct sim *s);
int sim_factor(struct sim *s, const char *id, uint32_t ver, const char *expr, const char *universe);
int sim_factor_tombstone(struct sim *s, const char *id);
/* params: "key=value" strings, NULL-terminated (may be NULL) */
int sim_strategy(struct sim *s, const char *id, uint32_t ver, int kind, const char *const *params);
int sim_increment(struct sim *s, const char *ds, const char *date, const char *version,
                  int64_t detected);
/* Runs decide and carries the decisions out; returns submissions made. */
size_t sim_decide(struct sim *s);
/* The n-th submission of the last decide. */
const Btpipe__V1__Task *sim_sub(const struct sim *s, size_t i);
/* Completes a running plan as the runner would (status: CompletionStatus). */
void sim_complete(struct sim *s, const char *plan_id, int status);
/* Completes every running plan successfully; returns how many. */
size_t sim_complete_all(struct sim *s);
/* Feeds the log to a fresh core in topic order (rotated by `rot`), forgets
 * the running set (the processes died with the planner). Does not decide. */
void sim_crash(struct sim *s, unsigned rot);
/* Re-feeds log entry i (a duplicate delivery). */
void sim_redeliver(struct sim *s, size_t i);

#endif
