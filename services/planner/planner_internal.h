/* planner_internal.h -- the core's state, shared by its files (not an API).
 *
 * planner_registry.c  factors, strategies, landed dates: validation + storage
 * planner_expand.c    the per-pair walk that turns state into tasks
 * planner_core.c      jobs/completions intake, decisions, ids */
#ifndef BTPIPE_PLANNER_INTERNAL_H
#define BTPIPE_PLANNER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "planner_core.h"
#include "planner_map.h"

struct pl_factor {
    char *id;
    uint32_t version;
    char *expr;
    char *universe; /* "" = every dataset */
    int lookback;   /* from the engine's static analysis, never from the sender */
};

struct pl_strategy {
    char *id;
    uint32_t version;
    Btpipe__V1__StrategySpec *spec; /* owned copy: kind and params go into tasks */
};

/* One landed date. chain hashes every (date, version) up to and including
 * this one, so comparing two chains says "same history up to here". */
struct pl_date {
    char date[11]; /* YYYY-MM-DD */
    char *version;
    int64_t detected_at_ms;
    char chain[65];
};

struct pl_dataset {
    char *name;
    struct pl_date *d; /* ascending by date */
    size_t n, cap;
    char *uri; /* of the latest increment; "" = derive from the data root */
    int64_t uri_at_ms;
};

/* A task the core knows of: released by this core, read back from the jobs
 * topic, or only heard of through a completion (task NULL until its record). */
struct pl_task {
    char plan_id[33];
    Btpipe__V1__Task *task; /* owned copy */
    int job_state;          /* Btpipe__V1__JobState last published/seen */
    uint32_t attempts;
    int completion; /* Btpipe__V1__CompletionStatus, 0 = none yet */
    int submitted;  /* handed to this process's executor already */
    int64_t planned_at_ms;
    int64_t submitted_at_ms;
    char *external_id;
};

/* The tasks of one versioned pair "<sid>@<sv>/<fid>@<fv>/<dataset>". */
struct pl_pair {
    struct pl_task **t;
    size_t n, cap;
    int sorted; /* by (from asc, to desc) */
};

struct planner_core {
    char *results_uri, *data_uri, *executor, *producer;
    struct planner_hooks hooks;
    struct pmap factors;    /* id -> pl_factor (NULL once retired) */
    struct pmap strategies; /* id -> pl_strategy */
    struct pmap datasets;   /* name -> pl_dataset */
    struct pmap tasks;      /* plan_id -> pl_task */
    struct pmap pairs;      /* pair key -> pl_pair */
    /* Result of the last decide, for stats. */
    size_t pairs_active, pairs_current, pairs_waiting, pairs_stuck;
};

/* planner_registry.c */
void pl_factor_free(struct pl_factor *f);
void pl_strategy_free(struct pl_strategy *s);
void pl_dataset_free(struct pl_dataset *d);
/* Index of date in ds, or -1. */
long pl_date_index(const struct pl_dataset *ds, const char *date);
/* Ids go into S3 keys and task keys: letters, digits, '_', '-', '.'. */
int pl_valid_id(const char *s);
int pl_valid_date(const char *s);

/* planner_expand.c */
int pl_expand(struct planner_core *c, int64_t now_ms, struct planner_decisions *out,
              struct bt_err *err);
/* data_version a task over [ds.d[from], ds.d[to]] has when it is current. */
void pl_task_version(const struct pl_dataset *ds, size_t from, size_t to, char out[33]);

/* planner_core.c */
struct pl_task *pl_task_get(struct planner_core *c, const char *plan_id);
void pl_pair_add(struct planner_core *c, struct pl_task *t);
void pl_emit_job(struct planner_core *c, struct pl_task *t, int state, int submit, int64_t now_ms,
                 const char *error, struct planner_decisions *out);
void *pl_clone(const void *msg); /* deep copy of a protobuf-c message via pack+unpack */
void pl_free_msg(void *msg);
void pl_hex_sha256(const void *data, size_t n, char *out, size_t nhex);

#endif
