/* batch.h -- an AWS Batch client (REST-JSON, SigV4 service "batch").
 *
 * The calls the aws-batch executor needs: SubmitJob (array jobs, dependsOn,
 * retryStrategy with evaluateOnExit, timeout, tags, container overrides),
 * DescribeJobs to reconcile, TerminateJob, ListJobs, DescribeJobQueues to
 * check the queue at start. Endpoint: AWS_ENDPOINT_URL_BATCH, else
 * AWS_ENDPOINT_URL, else https://batch.<region>.amazonaws.com. Retries as
 * in http_client.h. The JSON builders and parsers are pure functions so
 * that tests and the fuzzer reach them without a network. */
#ifndef BTPIPE_BATCH_H
#define BTPIPE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct aws_creds_provider;
struct batch_client;

struct batch_kv {
    const char *name;
    const char *value;
};

/* One evaluateOnExit rule; patterns may end in '*'. NULL fields are left out. */
struct batch_exit_rule {
    const char *action; /* "RETRY" or "EXIT" */
    const char *on_exit_code;
    const char *on_status_reason;
    const char *on_reason;
};

struct batch_submit {
    const char *job_name;          /* letters, digits, '-' and '_', up to 128 */
    const char *job_queue;         /* name or ARN */
    const char *job_definition;    /* name, name:revision or ARN */
    int array_size;                /* 0: a single job; else 2..10000 children */
    const char *const *depends_on; /* job ids */
    size_t ndepends_on;
    const char *depends_on_type; /* NULL, "N_TO_N" or "SEQUENTIAL" (array jobs) */
    int retry_attempts;          /* 0: not set; else 1..10 */
    const struct batch_exit_rule *evaluate_on_exit;
    size_t nevaluate_on_exit;
    int timeout_seconds; /* 0: not set; else >= 60 */
    const struct batch_kv *tags;
    size_t ntags;
    const struct batch_kv *parameters;
    size_t nparameters;
    const struct batch_kv *env; /* containerOverrides.environment */
    size_t nenv;
    const char *const *command; /* containerOverrides.command; NULL: the definition's */
    size_t ncommand;
    int propagate_tags;
};

struct batch_job {
    char *job_id;
    char *job_name;
    char *job_queue;
    char *status; /* SUBMITTED PENDING RUNNABLE STARTING RUNNING SUCCEEDED FAILED */
    char *status_reason;
    int64_t created_at_ms, started_at_ms, stopped_at_ms; /* 0 when unknown */
    int has_exit_code;
    int exit_code;
    int attempts;    /* attempts made so far */
    int array_size;  /* 0 unless an array parent */
    int array_index; /* -1 unless an array child */
    /* arrayProperties.statusSummary of a parent */
    int n_succeeded, n_failed, n_running, n_pending;
};

struct batch_queue {
    char *name;
    char *arn;
    char *state;  /* ENABLED / DISABLED */
    char *status; /* VALID / INVALID / CREATING ... */
    int priority;
};

int batch_client_new(const struct config *cfg, struct batch_client **out, struct bt_err *err);
/* Signing with a given provider (borrowed). */
int batch_client_new_with_creds(const struct config *cfg, struct aws_creds_provider *creds,
                                struct batch_client **out, struct bt_err *err);
void batch_client_free(struct batch_client *c);
int batch_client_last_attempts(const struct batch_client *c);

/* SubmitJob; the new job's id into job_id (NUL-terminated). */
int batch_submit_job(struct batch_client *c, const struct batch_submit *s, char *job_id,
                     size_t job_id_cap, struct bt_err *err);
/* DescribeJobs for any number of ids (chunked by 100); unknown ids are
 * simply absent from the result, as in the API. */
int batch_describe_jobs(struct batch_client *c, const char *const *ids, size_t nids,
                        struct batch_job **out, size_t *nout, struct bt_err *err);
int batch_terminate_job(struct batch_client *c, const char *job_id, const char *reason,
                        struct bt_err *err);
/* ListJobs in a queue with a status (NULL: RUNNING, as the API does), or the
 * children of an array job when array_job_id is set; follows nextToken. */
int batch_list_jobs(struct batch_client *c, const char *queue, const char *status,
                    const char *array_job_id, struct batch_job **out, size_t *nout,
                    struct bt_err *err);
/* DescribeJobQueues; names may be empty for every queue. */
int batch_describe_job_queues(struct batch_client *c, const char *const *names, size_t nnames,
                              struct batch_queue **out, size_t *nout, struct bt_err *err);

void batch_jobs_free(struct batch_job *j, size_t n);
void batch_queues_free(struct batch_queue *q, size_t n);

/* ---- pure JSON (no network) ---- */

/* The SubmitJob request body; BT_EINPUT naming the field when s is invalid. */
int batch_submit_json(const struct batch_submit *s, char **json_out, struct bt_err *err);
/* {"jobs":[...]} from DescribeJobs, or {"jobSummaryList":[...]} from ListJobs
 * (whichever is present); next_token (may be NULL) gets ListJobs' nextToken. */
int batch_parse_jobs_json(const char *json, size_t len, struct batch_job **out, size_t *nout,
                          char **next_token, struct bt_err *err);
int batch_parse_queues_json(const char *json, size_t len, struct batch_queue **out, size_t *nout,
                            struct bt_err *err);
/* Error code and message of a failed call: JSON __type/message, the
 * x-amzn-ErrorType header, or an XML <Code>/<Message> (what moto sends for
 * authentication failures). */
void batch_parse_error(const char *body, size_t len, const char *error_type_header, char *code,
                       size_t code_cap, char *msg, size_t msg_cap);

#endif
