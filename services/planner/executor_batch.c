/* executor_batch.c -- plans as AWS Batch jobs (common/batch.h).
 *
 * One plan = one SubmitJob of the configured job definition with the
 * container command `<runner> job --manifest <uri>` (the planner packs one
 * task per plan today; an array job per plan is what packing will use).
 * Retries are Batch's: retryStrategy.attempts = retries + 1 with
 * evaluateOnExit "exit code 2 -> EXIT" so bad input is never retried.
 * poll() submits what is queued (with backoff when SubmitJob fails) and,
 * every poll interval, reconciles with DescribeJobs: RUNNING -> started,
 * SUCCEEDED -> done, FAILED -> gave up (permanent when the exit code was 2),
 * a job Batch no longer knows -> gave up. On planner shutdown the jobs keep
 * running in Batch: they need no planner. A restarted planner submits the
 * plans without a completion again (a duplicate Batch job is harmless:
 * tasks are idempotent); finding them by name instead is roadmap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "executor.h"
#include "executor_batch.h"

struct batch_entry {
    char plan_id[64];
    char *manifest_uri;
    char job_id[128]; /* empty until submitted */
    int started;      /* EXEC_STARTED reported */
    int submit_failures;
    int64_t not_before_ms;
};

struct batch_exec {
    struct executor base;
    struct executor_batch_config cfg;
    struct batch_client *client;
    struct batch_entry *e;
    size_t n, cap;
    int64_t next_describe_ms;
};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void executor_batch_request(const struct executor_batch_config *cfg, const char *plan_id,
                            const char *manifest_uri, struct executor_batch_req *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "btpipe-%.100s", plan_id);
    r->command[0] =
        cfg->runner_command && *cfg->runner_command ? cfg->runner_command : "btpipe-runner";
    r->command[1] = "job";
    r->command[2] = "--manifest";
    r->command[3] = manifest_uri;
    r->rules[0] = (struct batch_exit_rule){"EXIT", "2", NULL, NULL};
    r->rules[1] = (struct batch_exit_rule){"RETRY", "*", NULL, NULL};
    r->tags[0] = (struct batch_kv){"btpipe:plan_id", plan_id};
    struct batch_submit *s = &r->submit;
    s->job_name = r->name;
    s->job_queue = cfg->job_queue;
    s->job_definition = cfg->job_definition;
    int attempts = cfg->retries + 1;
    s->retry_attempts = attempts < 1 ? 1 : attempts > 10 ? 10 : attempts;
    s->evaluate_on_exit = r->rules;
    s->nevaluate_on_exit = 2;
    s->timeout_seconds = cfg->timeout_s < 60 ? 60 : cfg->timeout_s;
    s->tags = r->tags;
    s->ntags = 1;
    s->command = r->command;
    s->ncommand = 4;
}

int executor_batch_event_of(const struct batch_job *j, const char *plan_id, int *started,
                            struct executor_event *ev) {
    memset(ev, 0, sizeof *ev);
    snprintf(ev->plan_id, sizeof ev->plan_id, "%s", plan_id);
    snprintf(ev->external_id, sizeof ev->external_id, "%s", j->job_id ? j->job_id : "");
    ev->attempt = j->attempts > 0 ? (uint32_t)j->attempts : 1;
    const char *st = j->status ? j->status : "";
    if (strcmp(st, "SUCCEEDED") == 0) {
        ev->kind = EXEC_SUCCEEDED;
        return 1;
    }
    if (strcmp(st, "FAILED") == 0) {
        ev->kind = EXEC_FAILED;
        ev->permanent = j->has_exit_code && j->exit_code == 2;
        if (j->has_exit_code)
            snprintf(ev->error, sizeof ev->error,
                     "batch job %s failed: exit %d after %d attempt(s)%s%s", ev->external_id,
                     j->exit_code, j->attempts, j->status_reason ? ": " : "",
                     j->status_reason ? j->status_reason : "");
        else
            snprintf(ev->error, sizeof ev->error, "batch job %s failed after %d attempt(s): %s",
                     ev->external_id, j->attempts, j->status_reason ? j->status_reason : "");
        return 1;
    }
    if ((strcmp(st, "STARTING") == 0 || strcmp(st, "RUNNING") == 0) && !*started) {
        *started = 1;
        ev->kind = EXEC_STARTED;
        return 1;
    }
    return 0;
}

static int batch_submit(struct executor *ex, const char *plan_id, const char *manifest_uri,
                        struct bt_err *err) {
    struct batch_exec *x = (struct batch_exec *)ex;
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->e[i].plan_id, plan_id) == 0)
            return bt_err_set(err, BT_EINTERNAL, plan_id, "plan %s is already queued", plan_id);
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->e = realloc(x->e, x->cap * sizeof *x->e);
        if (!x->e) abort();
    }
    struct batch_entry *b = &x->e[x->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->plan_id, sizeof b->plan_id, "%s", plan_id);
    b->manifest_uri = strdup(manifest_uri);
    if (!b->manifest_uri) abort();
    return 0;
}

static void drop(struct batch_exec *x, size_t i) {
    free(x->e[i].manifest_uri);
    memmove(x->e + i, x->e + i + 1, (x->n - i - 1) * sizeof *x->e);
    x->n--;
}

static size_t batch_poll(struct executor *ex, int64_t wall_ms, struct executor_event *ev,
                         size_t cap) {
    (void)wall_ms;
    struct batch_exec *x = (struct batch_exec *)ex;
    int64_t now = mono_ms();
    size_t n = 0;
    /* submit what waits; a failure backs off that plan only */
    for (size_t i = 0; i < x->n; i++) {
        struct batch_entry *b = &x->e[i];
        if (b->job_id[0] || b->not_before_ms > now) continue;
        struct executor_batch_req r;
        struct bt_err err = BT_ERR_INIT;
        executor_batch_request(&x->cfg, b->plan_id, b->manifest_uri, &r);
        if (batch_submit_job(x->client, &r.submit, b->job_id, sizeof b->job_id, &err) != 0) {
            b->job_id[0] = 0;
            b->submit_failures++;
            int64_t d = 1000;
            for (int k = 1; k < b->submit_failures && d < 60000; k++)
                d *= 2;
            b->not_before_ms = now + (d > 60000 ? 60000 : d);
            if (n < cap && err.code == BT_EINPUT) { /* the request itself is wrong: give up */
                struct executor_event *e = &ev[n++];
                memset(e, 0, sizeof *e);
                e->kind = EXEC_FAILED;
                snprintf(e->plan_id, sizeof e->plan_id, "%s", b->plan_id);
                snprintf(e->error, sizeof e->error, "SubmitJob: %s", err.msg);
                drop(x, i--);
            }
        }
    }
    if (now < x->next_describe_ms) return n;
    x->next_describe_ms = now + x->cfg.poll_ms;
    const char **ids = calloc(x->n ? x->n : 1, sizeof *ids);
    if (!ids) abort();
    size_t nids = 0;
    for (size_t i = 0; i < x->n; i++)
        if (x->e[i].job_id[0]) ids[nids++] = x->e[i].job_id;
    struct batch_job *jobs = NULL;
    size_t njobs = 0;
    struct bt_err err = BT_ERR_INIT;
    if (nids && batch_describe_jobs(x->client, ids, nids, &jobs, &njobs, &err) == 0) {
        for (size_t i = 0; i < x->n && n < cap;) {
            struct batch_entry *b = &x->e[i];
            const struct batch_job *j = NULL;
            for (size_t k = 0; b->job_id[0] && k < njobs; k++)
                if (jobs[k].job_id && strcmp(jobs[k].job_id, b->job_id) == 0) j = &jobs[k];
            if (!b->job_id[0]) {
                i++;
                continue;
            }
            if (!j) { /* Batch forgot it (or never had it): nothing will report */
                struct executor_event *e = &ev[n++];
                memset(e, 0, sizeof *e);
                e->kind = EXEC_FAILED;
                snprintf(e->plan_id, sizeof e->plan_id, "%s", b->plan_id);
                snprintf(e->external_id, sizeof e->external_id, "%s", b->job_id);
                snprintf(e->error, sizeof e->error, "batch job %s is unknown to Batch", b->job_id);
                drop(x, i);
                continue;
            }
            if (executor_batch_event_of(j, b->plan_id, &b->started, &ev[n])) {
                enum executor_event_kind k = ev[n++].kind;
                if (k == EXEC_SUCCEEDED || k == EXEC_FAILED) {
                    drop(x, i);
                    continue;
                }
            }
            i++;
        }
    }
    batch_jobs_free(jobs, njobs);
    free(ids);
    return n;
}

static size_t batch_inflight(const struct executor *ex) {
    return ((const struct batch_exec *)ex)->n;
}

static void batch_free(struct executor *ex, int grace_ms) {
    (void)grace_ms; /* Batch jobs run on without the planner */
    struct batch_exec *x = (struct batch_exec *)ex;
    if (!x) return;
    for (size_t i = 0; i < x->n; i++)
        free(x->e[i].manifest_uri);
    free(x->e);
    batch_client_free(x->client);
    free(x);
}

static const struct executor_ops batch_ops = {
    .name = "aws-batch",
    .submit = batch_submit,
    .poll = batch_poll,
    .inflight = batch_inflight,
    .free = batch_free,
};

int executor_batch_new(const struct config *cfg, const struct executor_batch_config *bc,
                       struct executor **out, struct bt_err *err) {
    *out = NULL;
    if (!bc->job_queue || !*bc->job_queue)
        return bt_err_set(err, BT_ECONFIG, "BTPIPE_BATCH_JOB_QUEUE",
                          "BTPIPE_BATCH_JOB_QUEUE is required for the aws-batch executor");
    if (!bc->job_definition || !*bc->job_definition)
        return bt_err_set(err, BT_ECONFIG, "BTPIPE_BATCH_JOB_DEFINITION",
                          "BTPIPE_BATCH_JOB_DEFINITION is required for the aws-batch executor");
    struct batch_exec *x = calloc(1, sizeof *x);
    if (!x) abort();
    int rc = batch_client_new(cfg, &x->client, err);
    if (rc) {
        free(x);
        return rc;
    }
    x->base.ops = &batch_ops;
    x->cfg = *bc;
    if (x->cfg.poll_ms <= 0) x->cfg.poll_ms = 5000;
    *out = &x->base;
    return 0;
}
