/* test_executor_batch.c -- the aws-batch executor.
 *
 * Unit part: the SubmitJob request a plan becomes (through the Batch
 * client's own JSON builder) and the mapping from described jobs to
 * executor events. Integration part (label integration, exit 77 without the
 * local stack): a plan submitted to moto's Batch is reconciled to
 * SUCCEEDED through DescribeJobs (moto's Docker-free Batch runs nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "executor_batch.h"

static void test_request(void **state) {
    (void)state;
    struct executor_batch_config cfg = {"q1", "def1", NULL, 2, 30, 0};
    struct executor_batch_req r;
    executor_batch_request(&cfg, "0123abcd", "s3://res/manifests/0123abcd", &r);
    char *json = NULL;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(batch_submit_json(&r.submit, &json, &err), 0);
    assert_non_null(strstr(json, "\"jobName\":\"btpipe-0123abcd\""));
    assert_non_null(strstr(json, "\"jobQueue\":\"q1\""));
    assert_non_null(strstr(json, "\"jobDefinition\":\"def1\""));
    assert_non_null(
        strstr(json, "\"btpipe-runner\",\"job\",\"--manifest\",\"s3://res/manifests/0123abcd\""));
    assert_non_null(strstr(json, "\"attempts\":3"));
    assert_non_null(strstr(json, "\"onExitCode\":\"2\""));
    assert_non_null(strstr(json, "\"action\":\"EXIT\""));
    assert_non_null(strstr(json, "\"attemptDurationSeconds\":60")); /* raised to Batch's minimum */
    assert_non_null(strstr(json, "\"btpipe:plan_id\":\"0123abcd\""));
    free(json);
    cfg.retries = 50;
    executor_batch_request(&cfg, "x", "u", &r);
    assert_int_equal(r.submit.retry_attempts, 10);
}

static void test_events(void **state) {
    (void)state;
    struct batch_job j = {0};
    struct executor_event ev;
    int started = 0;
    j.job_id = "job-1";
    j.attempts = 1;
    j.status = "RUNNABLE";
    assert_int_equal(executor_batch_event_of(&j, "p", &started, &ev), 0);
    j.status = "RUNNING";
    assert_int_equal(executor_batch_event_of(&j, "p", &started, &ev), 1);
    assert_int_equal(ev.kind, EXEC_STARTED);
    assert_string_equal(ev.external_id, "job-1");
    assert_int_equal(executor_batch_event_of(&j, "p", &started, &ev), 0); /* once */
    j.status = "SUCCEEDED";
    assert_int_equal(executor_batch_event_of(&j, "p", &started, &ev), 1);
    assert_int_equal(ev.kind, EXEC_SUCCEEDED);
    j.status = "FAILED";
    j.has_exit_code = 1;
    j.exit_code = 2;
    assert_int_equal(executor_batch_event_of(&j, "p", &started, &ev), 1);
    assert_int_equal(ev.kind, EXEC_FAILED);
    assert_int_equal(ev.permanent, 1);
    j.exit_code = 137;
    j.attempts = 3;
    j.status_reason = "OutOfMemoryError";
    assert_int_equal(executor_batch_event_of(&j, "p", &started, &ev), 1);
    assert_int_equal(ev.permanent, 0);
    assert_int_equal(ev.attempt, 3);
    assert_non_null(strstr(ev.error, "exit 137"));
    assert_non_null(strstr(ev.error, "OutOfMemoryError"));
}

static void test_against_moto(void **state) {
    (void)state;
    const char *q = getenv("BTPIPE_BATCH_JOB_QUEUE"), *d = getenv("BTPIPE_BATCH_JOB_DEFINITION");
    if (!q || !d || !getenv("AWS_ENDPOINT_URL")) {
        skip();
        return;
    }
    struct config cfg = {0};
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(config_load(&cfg, &err), 0);
    struct executor_batch_config bc = {q, d, NULL, 1, 60, 200};
    struct executor *ex = NULL;
    if (executor_batch_new(&cfg, &bc, &ex, &err)) fail_msg("batch client: %s", err.msg);
    assert_int_equal(ex->ops->submit(ex, "it0123", "s3://r/manifests/it0123", &err), 0);
    int done = 0;
    for (int i = 0; i < 150 && !done; i++) {
        struct executor_event ev[8];
        size_t n = ex->ops->poll(ex, 0, ev, 8);
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(ev[k].plan_id, "it0123");
            if (ev[k].kind == EXEC_FAILED) fail_msg("batch: %s", ev[k].error);
            if (ev[k].kind == EXEC_SUCCEEDED) done = 1;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(done);
    assert_int_equal(ex->ops->inflight(ex), 0);
    ex->ops->free(ex, 0);
    config_free(&cfg);
}

int main(void) {
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_events),
    };
    const struct CMUnitTest integ[] = {cmocka_unit_test(test_against_moto)};
    if (getenv("BTPIPE_TEST_INTEGRATION")) return cmocka_run_group_tests(integ, NULL, NULL);
    return cmocka_run_group_tests(unit, NULL, NULL);
}
