/* batch_json.c -- AWS Batch request bodies and response parsing (jansson).
 * Pure: the client in batch.c does the I/O. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "s3.h"

/* A page of DescribeJobs holds at most 100 jobs, ListJobs 1000; far above
 * that the input is not from Batch. */
#define JOBS_MAX 100000

static int name_ok(const char *s) {
    size_t n = 0;
    if (!s || !*s || !isalnum((unsigned char)*s)) return 0;
    for (; s[n]; n++)
        if (!(isalnum((unsigned char)s[n]) || s[n] == '-' || s[n] == '_')) return 0;
    return n <= 128;
}

/* Builds [{"name":..,"value":..}] or {"name":"value"} from pairs. */
static json_t *kv_list(const struct batch_kv *kv, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s}", "name", kv[i].name, "value", kv[i].value ? kv[i].value : ""));
    return a;
}

static json_t *kv_map(const struct batch_kv *kv, size_t n) {
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].name, json_string(kv[i].value ? kv[i].value : ""));
    return o;
}

int batch_submit_json(const struct batch_submit *s, char **json_out, struct bt_err *err) {
    int rc = 0;
    json_t *o = NULL;
    *json_out = NULL;
    if (!name_ok(s->job_name))
        return bt_err_set(err, BT_EINPUT, "jobName",
                          "SubmitJob jobName '%s': 1-128 letters, digits, '-' or '_', starting "
                          "with a letter or digit",
                          s->job_name ? s->job_name : "");
    if (!s->job_queue || !*s->job_queue)
        return bt_err_set(err, BT_EINPUT, "jobQueue", "SubmitJob: jobQueue is required");
    if (!s->job_definition || !*s->job_definition)
        return bt_err_set(err, BT_EINPUT, "jobDefinition", "SubmitJob: jobDefinition is required");
    if (s->array_size != 0 && (s->array_size < 2 || s->array_size > 10000))
        return bt_err_set(err, BT_EINPUT, "arrayProperties.size",
                          "SubmitJob: array size %d is outside 2..10000", s->array_size);
    if (s->retry_attempts < 0 || s->retry_attempts > 10)
        return bt_err_set(err, BT_EINPUT, "retryStrategy.attempts",
                          "SubmitJob: retry attempts %d is outside 1..10", s->retry_attempts);
    if (s->nevaluate_on_exit > 5)
        return bt_err_set(err, BT_EINPUT, "retryStrategy.evaluateOnExit",
                          "SubmitJob: at most 5 evaluateOnExit rules, got %zu",
                          s->nevaluate_on_exit);
    if (s->timeout_seconds != 0 && s->timeout_seconds < 60)
        return bt_err_set(err, BT_EINPUT, "timeout.attemptDurationSeconds",
                          "SubmitJob: timeout %d s is under the 60 s minimum", s->timeout_seconds);
    if (s->ndepends_on > 20)
        return bt_err_set(err, BT_EINPUT, "dependsOn",
                          "SubmitJob: at most 20 dependencies, got %zu", s->ndepends_on);

    o = json_pack("{s:s,s:s,s:s}", "jobName", s->job_name, "jobQueue", s->job_queue,
                  "jobDefinition", s->job_definition);
    if (s->array_size)
        json_object_set_new(o, "arrayProperties", json_pack("{s:i}", "size", s->array_size));
    if (s->ndepends_on) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->ndepends_on; i++) {
            json_t *d = json_pack("{s:s}", "jobId", s->depends_on[i]);
            if (s->depends_on_type) json_object_set_new(d, "type", json_string(s->depends_on_type));
            json_array_append_new(a, d);
        }
        json_object_set_new(o, "dependsOn", a);
    }
    if (s->retry_attempts || s->nevaluate_on_exit) {
        json_t *r = json_object();
        if (s->retry_attempts) json_object_set_new(r, "attempts", json_integer(s->retry_attempts));
        if (s->nevaluate_on_exit) {
            json_t *a = json_array();
            for (size_t i = 0; i < s->nevaluate_on_exit; i++) {
                const struct batch_exit_rule *e = &s->evaluate_on_exit[i];
                if (!e->action || (strcmp(e->action, "RETRY") && strcmp(e->action, "EXIT"))) {
                    json_decref(a);
                    json_decref(r);
                    rc = bt_err_set(err, BT_EINPUT, "retryStrategy.evaluateOnExit.action",
                                    "SubmitJob: evaluateOnExit[%zu].action must be RETRY or EXIT",
                                    i);
                    goto fail;
                }
                json_t *j = json_pack("{s:s}", "action", e->action);
                if (e->on_exit_code)
                    json_object_set_new(j, "onExitCode", json_string(e->on_exit_code));
                if (e->on_status_reason)
                    json_object_set_new(j, "onStatusReason", json_string(e->on_status_reason));
                if (e->on_reason) json_object_set_new(j, "onReason", json_string(e->on_reason));
                json_array_append_new(a, j);
            }
            json_object_set_new(r, "evaluateOnExit", a);
        }
        json_object_set_new(o, "retryStrategy", r);
    }
    if (s->timeout_seconds)
        json_object_set_new(o, "timeout",
                            json_pack("{s:i}", "attemptDurationSeconds", s->timeout_seconds));
    if (s->ntags) json_object_set_new(o, "tags", kv_map(s->tags, s->ntags));
    if (s->propagate_tags) json_object_set_new(o, "propagateTags", json_true());
    if (s->nparameters) json_object_set_new(o, "parameters", kv_map(s->parameters, s->nparameters));
    if (s->nenv || s->command) {
        json_t *co = json_object();
        if (s->nenv) json_object_set_new(co, "environment", kv_list(s->env, s->nenv));
        if (s->command) {
            json_t *a = json_array();
            for (size_t i = 0; i < s->ncommand; i++)
                json_array_append_new(a, json_string(s->command[i]));
            json_object_set_new(co, "command", a);
        }
        json_object_set_new(o, "containerOverrides", co);
    }
    *json_out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!*json_out)
        rc = bt_err_set(err, BT_EINPUT, NULL,
                        "SubmitJob: a string is not valid UTF-8 (job name, env, command?)");
fail:
    json_decref(o);
    return rc;
}

/* strdup of a JSON string member, NULL when absent or not a string. */
static char *jstr(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? strdup(s) : NULL;
}

static int64_t jint(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static void job_from_json(json_t *j, struct batch_job *b) {
    memset(b, 0, sizeof(*b));
    b->job_id = jstr(j, "jobId");
    b->job_name = jstr(j, "jobName");
    b->job_queue = jstr(j, "jobQueue");
    b->status = jstr(j, "status");
    b->status_reason = jstr(j, "statusReason");
    b->created_at_ms = jint(j, "createdAt");
    b->started_at_ms = jint(j, "startedAt");
    b->stopped_at_ms = jint(j, "stoppedAt");
    b->array_index = -1;
    json_t *attempts = json_object_get(j, "attempts");
    if (json_is_array(attempts)) b->attempts = (int)json_array_size(attempts);
    /* Exit code: container.exitCode (DescribeJobs) or container.exitCode in
     * the summary (ListJobs). */
    json_t *ec = json_object_get(json_object_get(j, "container"), "exitCode");
    if (json_is_integer(ec)) {
        b->has_exit_code = 1;
        b->exit_code = (int)json_integer_value(ec);
    }
    json_t *ap = json_object_get(j, "arrayProperties");
    if (json_is_object(ap)) {
        json_t *sz = json_object_get(ap, "size");
        json_t *ix = json_object_get(ap, "index");
        if (json_is_integer(sz)) b->array_size = (int)json_integer_value(sz);
        if (json_is_integer(ix)) b->array_index = (int)json_integer_value(ix);
        json_t *sum = json_object_get(ap, "statusSummary");
        b->n_succeeded = (int)jint(sum, "SUCCEEDED");
        b->n_failed = (int)jint(sum, "FAILED");
        b->n_running = (int)jint(sum, "RUNNING") + (int)jint(sum, "STARTING");
        b->n_pending =
            (int)jint(sum, "SUBMITTED") + (int)jint(sum, "PENDING") + (int)jint(sum, "RUNNABLE");
    }
}

int batch_parse_jobs_json(const char *json, size_t len, struct batch_job **out, size_t *nout,
                          char **next_token, struct bt_err *err) {
    int rc = 0;
    json_error_t je;
    *out = NULL;
    *nout = 0;
    if (next_token) *next_token = NULL;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root || !json_is_object(root)) {
        rc = bt_err_set(err, BT_EINPUT, NULL,
                        "Batch response: not a JSON object (%s, line %d "
                        "column %d)",
                        root ? "another type" : je.text, je.line, je.column);
        goto fail;
    }
    json_t *arr = json_object_get(root, "jobs");
    if (!arr) arr = json_object_get(root, "jobSummaryList");
    if (!json_is_array(arr)) {
        rc = bt_err_set(err, BT_EINPUT, NULL,
                        "Batch response: no \"jobs\" or \"jobSummaryList\" array");
        goto fail;
    }
    size_t n = json_array_size(arr);
    if (n > JOBS_MAX) {
        rc =
            bt_err_set(err, BT_ELIMIT, NULL, "Batch response: %zu jobs, more than %d", n, JOBS_MAX);
        goto fail;
    }
    struct batch_job *jobs = n ? calloc(n, sizeof(*jobs)) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(arr, i);
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "jobId"))) {
            batch_jobs_free(jobs, k);
            rc = bt_err_set(err, BT_EINPUT, NULL, "Batch response: job %zu has no jobId", i);
            goto fail;
        }
        job_from_json(j, &jobs[k++]);
    }
    *out = jobs;
    *nout = k;
    if (next_token) {
        const char *t = json_string_value(json_object_get(root, "nextToken"));
        *next_token = t && *t ? strdup(t) : NULL;
    }
fail:
    json_decref(root);
    return rc;
}

int batch_parse_queues_json(const char *json, size_t len, struct batch_queue **out, size_t *nout,
                            struct bt_err *err) {
    int rc = 0;
    json_error_t je;
    *out = NULL;
    *nout = 0;
    json_t *root = json_loadb(json, len, 0, &je);
    json_t *arr = json_object_get(root, "jobQueues");
    if (!json_is_array(arr)) {
        rc = bt_err_set(err, BT_EINPUT, NULL, "DescribeJobQueues response: no \"jobQueues\" array");
        goto fail;
    }
    size_t n = json_array_size(arr);
    struct batch_queue *q = n ? calloc(n, sizeof(*q)) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(arr, i);
        q[i].name = jstr(j, "jobQueueName");
        q[i].arn = jstr(j, "jobQueueArn");
        q[i].state = jstr(j, "state");
        q[i].status = jstr(j, "status");
        q[i].priority = (int)jint(j, "priority");
    }
    *out = q;
    *nout = n;
fail:
    json_decref(root);
    return rc;
}

void batch_parse_error(const char *body, size_t len, const char *error_type_header, char *code,
                       size_t code_cap, char *msg, size_t msg_cap) {
    code[0] = '\0';
    msg[0] = '\0';
    json_error_t je;
    json_t *root = body && len ? json_loadb(body, len, 0, &je) : NULL;
    if (json_is_object(root)) {
        const char *t = json_string_value(json_object_get(root, "__type"));
        const char *m = json_string_value(json_object_get(root, "message"));
        if (!m) m = json_string_value(json_object_get(root, "Message"));
        if (t) {
            /* "com.amazonaws...#ClientException" -> "ClientException" */
            const char *h = strrchr(t, '#');
            snprintf(code, code_cap, "%s", h ? h + 1 : t);
        }
        if (m) snprintf(msg, msg_cap, "%s", m);
    } else if (body && len && body[0] == '<') {
        s3_parse_error_xml(body, len, code, code_cap, msg, msg_cap);
    }
    json_decref(root);
    if (!code[0] && error_type_header) {
        size_t n = strcspn(error_type_header, ":");
        snprintf(code, code_cap, "%.*s", (int)n, error_type_header);
    }
    /* Trim what XML CDATA and pretty-printing leave around the message. */
    size_t ml = strlen(msg), st = 0;
    while (st < ml && isspace((unsigned char)msg[st]))
        st++;
    while (ml > st && isspace((unsigned char)msg[ml - 1]))
        ml--;
    memmove(msg, msg + st, ml - st);
    msg[ml - st] = '\0';
}

void batch_jobs_free(struct batch_job *j, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(j[i].job_id);
        free(j[i].job_name);
        free(j[i].job_queue);
        free(j[i].status);
        free(j[i].status_reason);
    }
    free(j);
}

void batch_queues_free(struct batch_queue *q, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(q[i].name);
        free(q[i].arn);
        free(q[i].state);
        free(q[i].status);
    }
    free(q);
}
