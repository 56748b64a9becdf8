/* executor_batch.h -- the aws-batch executor (executor.h over common/batch.h). */
#ifndef BTPIPE_EXECUTOR_BATCH_H
#define BTPIPE_EXECUTOR_BATCH_H

#include "batch.h"
#include "executor.h"

struct config;

struct executor_batch_config {
    const char *job_queue;      /* BTPIPE_BATCH_JOB_QUEUE */
    const char *job_definition; /* BTPIPE_BATCH_JOB_DEFINITION: image with btpipe-runner */
    const char *runner_command; /* first word of the container command (btpipe-runner) */
    int retries;                /* Batch attempts = retries + 1 (1..10) */
    int timeout_s;              /* per attempt, at least 60 (Batch's minimum) */
    int poll_ms;                /* DescribeJobs interval (default 5000) */
};

int executor_batch_new(const struct config *cfg, const struct executor_batch_config *bc,
                       struct executor **out, struct bt_err *err);

/* The SubmitJob request for one plan; pure, so tests check it field by field.
 * Every pointer in submit points into r or the arguments. */
struct executor_batch_req {
    struct batch_submit submit;
    char name[128];
    const char *command[4];
    struct batch_exit_rule rules[2];
    struct batch_kv tags[1];
};
void executor_batch_request(const struct executor_batch_config *cfg, const char *plan_id,
                            const char *manifest_uri, struct executor_batch_req *r);
/* A described job -> the event to report (1) or nothing new (0). *started
 * remembers that EXEC_STARTED was reported once. */
int executor_batch_event_of(const struct batch_job *j, const char *plan_id, int *started,
                            struct executor_event *ev);

#endif
