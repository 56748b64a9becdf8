/* job.h -- the runner's S3/Kafka job mode: one task of a manifest, end to end.
 *
 * job_main.c is the shell (arguments, configuration, the manifest, Kafka);
 * job_task.c runs one Task against storage (s3:// or file://) and builds
 * the JobCompletion, so that it is testable without a broker. */
#ifndef BTPIPE_RUNNER_JOB_H
#define BTPIPE_RUNNER_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "storage.h"

#include "btpipe/v1/job_completion.pb-c.h"
#include "btpipe/v1/job_record.pb-c.h"

int runner_job_main(int argc, char **argv);

/* Which listed objects hold the dates [from, to] (YYYYMMDD): names
 * YYYY-MM-DD.csv or .csv.gz, anything else skipped. Fills idx (capacity n)
 * with the chosen indexes in order and returns how many. */
size_t job_pick_objects(const struct storage_entry *e, size_t n, int32_t from, int32_t to,
                        size_t *idx);

/* Runs one task: data in, series and state out. On success *out is a
 * SUCCEEDED completion (free with job_completion_free). On failure err says
 * what; bt code BT_EINPUT/ENOTFOUND/ELIMIT means bad input (publish
 * REJECTED_INPUT, exit 2), anything else is transient (exit 1). */
int job_run_task(struct storage *st, const Btpipe__V1__Task *t, const char *plan_id,
                 uint32_t attempt, const char *producer, Btpipe__V1__JobCompletion **out,
                 struct bt_err *err);
/* A completion without results (REJECTED_INPUT, FAILED) for t. */
Btpipe__V1__JobCompletion *job_completion_error(const Btpipe__V1__Task *t, const char *plan_id,
                                                uint32_t attempt, int status, const char *error,
                                                const char *producer, int64_t started_ms);
void job_completion_free(Btpipe__V1__JobCompletion *c);
/* BT code -> is the caller's input at fault (never worth a retry)? */
int job_is_input_error(int code);

#endif
