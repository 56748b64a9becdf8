/* test_batch.c -- Batch client: the SubmitJob body field by field, response
 * parsing, error text, and the request shape seen by an in-process server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "batch.h"
#include "config.h"
#include "fake_http.h"

static struct config cfg = CONFIG_INIT;

static const struct batch_exit_rule rules[] = {
    {"EXIT", "65", NULL, NULL}, /* bad input: never retried */
    {"RETRY", "*", NULL, NULL},
    {"RETRY", NULL, "Host EC2*", NULL},
};
static const struct batch_kv tags[] = {{"btpipe:plan", "p1"}, {"team", "quant"}};
static const struct batch_kv env[] = {{"BTPIPE_MANIFEST", "s3://r/manifests/p1"},
                                      {"AWS_REGION", "us-east-1"}};
static const char *const cmd[] = {"btpipe-runner", "job", "--manifest", "s3://r/m"};
static const char *const deps[] = {"job-a", "job-b"};

static struct batch_submit full_submit(void) {
    struct batch_submit s = {
        .job_name = "plan-p1_chunk-0",
        .job_queue = "btpipe-jobs",
        .job_definition = "btpipe-runner:3",
        .array_size = 250,
        .depends_on = deps,
        .ndepends_on = 2,
        .depends_on_type = "N_TO_N",
        .retry_attempts = 3,
        .evaluate_on_exit = rules,
        .nevaluate_on_exit = 3,
        .timeout_seconds = 3600,
        .tags = tags,
        .ntags = 2,
        .env = env,
        .nenv = 2,
        .command = cmd,
        .ncommand = 4,
        .propagate_tags = 1,
    };
    return s;
}

static void test_submit_json(void **state) {
    (void)state;
    struct batch_submit s = full_submit();
    char *body;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(batch_submit_json(&s, &body, &err), 0);
    json_error_t je;
    json_t *o = json_loads(body, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "jobName")), "plan-p1_chunk-0");
    assert_string_equal(json_string_value(json_object_get(o, "jobQueue")), "btpipe-jobs");
    assert_string_equal(json_string_value(json_object_get(o, "jobDefinition")), "btpipe-runner:3");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(o, "arrayProperties"), "size")), 250);
    json_t *d = json_object_get(o, "dependsOn");
    assert_int_equal(json_array_size(d), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "jobId")), "job-b");
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "type")), "N_TO_N");
    json_t *r = json_object_get(o, "retryStrategy");
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 3);
    json_t *eoe = json_object_get(r, "evaluateOnExit");
    assert_int_equal(json_array_size(eoe), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(eoe, 0), "action")),
                        "EXIT");
    assert_string_equal(json_string_value(json_object_get(json_array_get(eoe, 0), "onExitCode")),
                        "65");
    assert_null(json_object_get(json_array_get(eoe, 0), "onStatusReason"));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(eoe, 2), "onStatusReason")), "Host EC2*");
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(o, "timeout"), "attemptDurationSeconds")),
                     3600);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "tags"), "team")),
                        "quant");
    assert_true(json_is_true(json_object_get(o, "propagateTags")));
    json_t *co = json_object_get(o, "containerOverrides");
    json_t *e = json_object_get(co, "environment");
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "name")),
                        "BTPIPE_MANIFEST");
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "value")),
                        "s3://r/manifests/p1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(co, "command"), 3)),
                        "s3://r/m");
    json_decref(o);
    free(body);

    /* A minimal job leaves every optional block out. */
    struct batch_submit m = {.job_name = "j", .job_queue = "q", .job_definition = "d"};
    assert_int_equal(batch_submit_json(&m, &body, &err), 0);
    assert_string_equal(body, "{\"jobDefinition\":\"d\",\"jobName\":\"j\",\"jobQueue\":\"q\"}");
    free(body);
}

static void test_submit_validation(void **state) {
    (void)state;
    char *body;
    struct bt_err err = BT_ERR_INIT;
    struct batch_submit s = full_submit();
    s.job_name = "has space";
    assert_int_equal(batch_submit_json(&s, &body, &err), BT_EINPUT);
    assert_string_equal(err.where, "jobName");
    s = full_submit();
    s.array_size = 1;
    assert_int_equal(batch_submit_json(&s, &body, &err), BT_EINPUT);
    assert_string_equal(err.where, "arrayProperties.size");
    s = full_submit();
    s.timeout_seconds = 30;
    assert_int_equal(batch_submit_json(&s, &body, &err), BT_EINPUT);
    assert_string_equal(err.where, "timeout.attemptDurationSeconds");
    s = full_submit();
    struct batch_exit_rule bad = {"MAYBE", "1", NULL, NULL};
    s.evaluate_on_exit = &bad;
    s.nevaluate_on_exit = 1;
    assert_int_equal(batch_submit_json(&s, &body, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "RETRY or EXIT"));
}

static const char describe_resp[] =
    "{\"jobs\":[{\"jobArn\":\"arn:aws:batch:us-east-1:1:job/j1\",\"jobName\":\"plan-p1\","
    "\"jobId\":\"j1\",\"jobQueue\":\"arn:q\",\"status\":\"FAILED\","
    "\"statusReason\":\"Essential container in task exited\",\"createdAt\":1700000000000,"
    "\"startedAt\":1700000001000,\"stoppedAt\":1700000002000,"
    "\"attempts\":[{\"container\":{\"exitCode\":1}},{\"container\":{\"exitCode\":65}}],"
    "\"container\":{\"exitCode\":65},\"dependsOn\":[],\"jobDefinition\":\"arn:d\"},"
    "{\"jobId\":\"j2\",\"jobName\":\"arr\",\"status\":\"RUNNING\","
    "\"arrayProperties\":{\"size\":4,\"statusSummary\":{\"SUCCEEDED\":1,\"FAILED\":1,"
    "\"RUNNING\":1,\"RUNNABLE\":1}}},"
    "{\"jobId\":\"j2:3\",\"status\":\"SUCCEEDED\",\"arrayProperties\":{\"index\":3}}]}";

static void test_parse_jobs(void **state) {
    (void)state;
    struct batch_job *j;
    size_t n;
    char *tok;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(
        batch_parse_jobs_json(describe_resp, strlen(describe_resp), &j, &n, &tok, &err), 0);
    assert_int_equal(n, 3);
    assert_null(tok);
    assert_string_equal(j[0].job_id, "j1");
    assert_string_equal(j[0].status, "FAILED");
    assert_string_equal(j[0].status_reason, "Essential container in task exited");
    assert_true(j[0].has_exit_code);
    assert_int_equal(j[0].exit_code, 65);
    assert_int_equal(j[0].attempts, 2);
    assert_int_equal(j[0].stopped_at_ms, 1700000002000LL);
    assert_int_equal(j[1].array_size, 4);
    assert_int_equal(j[1].n_succeeded, 1);
    assert_int_equal(j[1].n_failed, 1);
    assert_int_equal(j[1].n_running, 1);
    assert_int_equal(j[1].n_pending, 1);
    assert_false(j[1].has_exit_code);
    assert_int_equal(j[2].array_index, 3);
    assert_int_equal(j[1].array_index, -1);
    batch_jobs_free(j, n);

    const char *list = "{\"jobSummaryList\":[{\"jobId\":\"a\",\"jobName\":\"x\",\"status\":"
                       "\"RUNNING\"}],\"nextToken\":\"NT\"}";
    assert_int_equal(batch_parse_jobs_json(list, strlen(list), &j, &n, &tok, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(tok, "NT");
    free(tok);
    batch_jobs_free(j, n);

    const char *bad[] = {"", "[]", "{\"jobs\":{}}", "{\"jobs\":[{\"status\":\"X\"}]}", "{\"jo"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(batch_parse_jobs_json(bad[i], strlen(bad[i]), &j, &n, NULL, &err),
                         BT_EINPUT);
}

static void test_parse_error(void **state) {
    (void)state;
    char code[64], msg[256];
    const char *j = "{\"__type\":\"ClientException\",\"message\":\"Job queue does not exist\"}";
    batch_parse_error(j, strlen(j), NULL, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "ClientException");
    assert_string_equal(msg, "Job queue does not exist");
    const char *x =
        "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>"
        "<![CDATA[ The request signature ]]></Message></Error></Errors></ErrorResponse>";
    batch_parse_error(x, strlen(x), NULL, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "SignatureDoesNotMatch");
    assert_string_equal(msg, "The request signature");
    batch_parse_error("", 0, "ThrottlingException:http://internal", code, sizeof(code), msg,
                      sizeof(msg));
    assert_string_equal(code, "ThrottlingException");
}

/* Batch stand-in: records the last request, answers by path. */
struct batch_fake {
    char method[16];
    char path[256];
    char ctype[128];
    char auth[512];
    struct buf body;
    int throttle_first;
};

static void batch_handler(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    struct batch_fake *f = ud;
    snprintf(f->method, sizeof(f->method), "%s", req->method);
    snprintf(f->path, sizeof(f->path), "%s", req->target);
    fake_req_header(req, "Content-Type", f->ctype, sizeof(f->ctype));
    fake_req_header(req, "Authorization", f->auth, sizeof(f->auth));
    buf_reset(&f->body);
    buf_append(&f->body, req->body.p, req->body.len);
    buf_puts(&f->body, "");
    if (f->throttle_first && n == 1) {
        resp->status = 429;
        buf_puts(&resp->body, "{\"__type\":\"TooManyRequestsException\",\"message\":\"slow\"}");
        return;
    }
    if (strcmp(req->target, "/v1/submitjob") == 0) {
        buf_puts(&resp->body, "{\"jobArn\":\"arn:j\",\"jobName\":\"x\",\"jobId\":\"new-id-1\"}");
    } else if (strcmp(req->target, "/v1/describejobs") == 0) {
        buf_puts(&resp->body, describe_resp);
    } else if (strcmp(req->target, "/v1/describejobqueues") == 0) {
        buf_puts(&resp->body, "{\"jobQueues\":[{\"jobQueueName\":\"btpipe-jobs\",\"jobQueueArn\":"
                              "\"arn:q\",\"state\":\"ENABLED\",\"status\":\"VALID\","
                              "\"priority\":1}]}");
    } else if (strcmp(req->target, "/v1/listjobs") == 0) {
        if (strstr(req->body.p, "nextToken"))
            buf_puts(&resp->body, "{\"jobSummaryList\":[{\"jobId\":\"b\"}]}");
        else
            buf_puts(&resp->body, "{\"jobSummaryList\":[{\"jobId\":\"a\"}],\"nextToken\":\"t\"}");
    } else if (strcmp(req->target, "/v1/terminatejob") == 0) {
        resp->status = 400;
        buf_puts(&resp->headers, "x-amzn-ErrorType: ClientException\r\n");
        buf_puts(&resp->body, "{\"message\":\"Job nope not found\"}");
    } else {
        resp->status = 404;
    }
}

static void test_client(void **state) {
    (void)state;
    struct batch_fake f;
    memset(&f, 0, sizeof(f));
    buf_init(&f.body);
    f.throttle_first = 1;
    struct fake_http *srv = fake_http_start(batch_handler, &f);
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_ENDPOINT_URL_BATCH", fake_http_url(srv), 1);
    setenv("AWS_REGION", "eu-central-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDBATCH", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "batchsecret", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("BTPIPE_AWS_RETRY_BASE_MS", "1", 1);
    struct batch_client *c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(batch_client_new(&cfg, &c, &err), 0);

    struct batch_submit s = full_submit();
    char id[128];
    assert_int_equal(batch_submit_job(c, &s, id, sizeof(id), &err), 0);
    assert_string_equal(id, "new-id-1");
    assert_int_equal(batch_client_last_attempts(c), 2); /* 429 first, retried */
    assert_string_equal(f.method, "POST");
    assert_string_equal(f.path, "/v1/submitjob");
    assert_string_equal(f.ctype, "application/json");
    assert_non_null(strstr(f.auth, "/eu-central-1/batch/aws4_request"));
    assert_non_null(strstr(f.auth, "SignedHeaders=content-type;host;x-amz-date"));
    json_error_t je;
    json_t *o = json_loads(f.body.p, 0, &je);
    assert_string_equal(json_string_value(json_object_get(o, "jobQueue")), "btpipe-jobs");
    assert_non_null(json_object_get(o, "retryStrategy"));
    json_decref(o);

    const char *ids[] = {"j1", "j2"};
    struct batch_job *j;
    size_t n;
    assert_int_equal(batch_describe_jobs(c, ids, 2, &j, &n, &err), 0);
    assert_string_equal(f.path, "/v1/describejobs");
    assert_string_equal(f.body.p, "{\"jobs\":[\"j1\",\"j2\"]}");
    assert_int_equal(n, 3);
    batch_jobs_free(j, n);

    assert_int_equal(batch_list_jobs(c, "btpipe-jobs", "RUNNING", NULL, &j, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(j[1].job_id, "b");
    assert_string_equal(f.body.p,
                        "{\"jobQueue\":\"btpipe-jobs\",\"jobStatus\":\"RUNNING\",\"nextToken\":"
                        "\"t\"}");
    batch_jobs_free(j, n);

    const char *qn[] = {"btpipe-jobs"};
    struct batch_queue *q;
    assert_int_equal(batch_describe_job_queues(c, qn, 1, &q, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(q[0].state, "ENABLED");
    assert_string_equal(q[0].status, "VALID");
    assert_string_equal(f.body.p, "{\"jobQueues\":[\"btpipe-jobs\"]}");
    batch_queues_free(q, n);

    assert_int_equal(batch_terminate_job(c, "nope", "test", &err), BT_EINPUT);
    assert_string_equal(err.msg, "batch TerminateJob: HTTP 400 ClientException: Job nope not "
                                 "found");
    assert_int_equal(batch_client_last_attempts(c), 1);

    batch_client_free(c);
    fake_http_stop(srv);
    buf_free(&f.body);
    unsetenv("AWS_ENDPOINT_URL_BATCH");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_json), cmocka_unit_test(test_submit_validation),
        cmocka_unit_test(test_parse_jobs),  cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
