/* test_executor_local.c -- the local pool with stub runners (shell scripts).
 *
 * The executor is real; the runner is a script whose exit code and run time
 * the test chooses, so retries, the exit-2 rule, timeouts, the worker bound
 * and the backoff are observed on real processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "executor.h"

static char dir[64], script[128];

/* The stub: behaviour from the manifest "URI": "<exit codes per attempt>:<sleep s>",
 * e.g. "1,1,0:0" fails twice then succeeds. Attempt from BTPIPE_ATTEMPT. It
 * also appends "<manifest> <attempt>" to a log and records concurrency. */
static const char stub[] =
    "#!/bin/sh\n"
    "m=\"$3\"; codes=${m%%:*}; sl=${m##*:}\n"
    "echo \"$m $BTPIPE_ATTEMPT $2 $4 $5\" >> \"$(dirname \"$0\")/log\"\n"
    "mkdir \"$(dirname \"$0\")/busy.$$\"; n=$(ls -d \"$(dirname \"$0\")\"/busy.* | wc -l)\n"
    "echo $n >> \"$(dirname \"$0\")/conc\"\n"
    "sleep $sl\n"
    "rmdir \"$(dirname \"$0\")/busy.$$\"\n"
    "code=$(echo \"$codes\" | cut -d, -f\"$BTPIPE_ATTEMPT\")\n"
    "exit ${code:-1}\n";

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/btpipe-exec-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(script, sizeof script, "%s/runner.sh", dir);
    FILE *f = fopen(script, "w");
    if (!f) return -1;
    fputs(stub, f);
    fclose(f);
    return chmod(script, 0755);
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void nap_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct outcome {
    char plan[64];
    enum executor_event_kind kind;
    int permanent;
    uint32_t attempt;
    int starts, retries;
};

/* Polls until every plan ended (or 20 s); collects the final events. */
static size_t drive(struct executor *ex, struct outcome *o, size_t n) {
    size_t done = 0;
    for (int it = 0; it < 2000 && ex->ops->inflight(ex); it++) {
        struct executor_event ev[16];
        size_t k = ex->ops->poll(ex, 0, ev, 16);
        for (size_t i = 0; i < k; i++) {
            struct outcome *x = NULL;
            for (size_t j = 0; j < n; j++)
                if (strcmp(o[j].plan, ev[i].plan_id) == 0) x = &o[j];
            assert_non_null(x);
            if (ev[i].kind == EXEC_STARTED) {
                x->starts++;
                assert_int_equal(ev[i].attempt, (uint32_t)x->starts);
                assert_true(strncmp(ev[i].external_id, "pid:", 4) == 0);
            } else if (ev[i].kind == EXEC_RETRYING) {
                x->retries++;
            } else {
                x->kind = ev[i].kind;
                x->permanent = ev[i].permanent;
                x->attempt = ev[i].attempt;
                done++;
            }
        }
        nap_ms(10);
    }
    return done;
}

static void test_exit_codes_and_retries(void **state) {
    (void)state;
    struct executor *ex = NULL;
    struct bt_err err = BT_ERR_INIT;
    struct executor_local_config cfg = {script, 2, 30, 2, 50};
    assert_int_equal(executor_local_new(&cfg, &ex, &err), 0);
    struct outcome o[] = {
        {.plan = "ok"},
        {.plan = "flaky"},
        {.plan = "bad"},
        {.plan = "broken"},
    };
    const char *uris[] = {"0:0", "1,1,0:0", "2:0", "1,1,1,0:0"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ex->ops->submit(ex, o[i].plan, uris[i], &err), 0);
    assert_int_not_equal(ex->ops->submit(ex, "ok", "0:0", &err), 0); /* already queued */
    assert_int_equal(drive(ex, o, 4), 4);
    assert_int_equal(o[0].kind, EXEC_SUCCEEDED);
    assert_int_equal(o[0].starts, 1);
    assert_int_equal(o[1].kind, EXEC_SUCCEEDED); /* third attempt */
    assert_int_equal(o[1].starts, 3);
    assert_int_equal(o[1].retries, 2);
    assert_int_equal(o[2].kind, EXEC_FAILED); /* exit 2: never retried */
    assert_int_equal(o[2].permanent, 1);
    assert_int_equal(o[2].starts, 1);
    assert_int_equal(o[3].kind, EXEC_FAILED); /* 1 + 2 retries, then give up */
    assert_int_equal(o[3].permanent, 0);
    assert_int_equal(o[3].starts, 3);
    assert_int_equal(o[3].attempt, 3);
    ex->ops->free(ex, 100);
    /* the runner got `job --manifest URI --index 0` */
    char path[128], line[256];
    snprintf(path, sizeof path, "%s/log", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, " --manifest --index 0"));
    fclose(f);
}

static void test_worker_bound_and_timeout(void **state) {
    (void)state;
    struct executor *ex = NULL;
    struct bt_err err = BT_ERR_INIT;
    char path[128];
    snprintf(path, sizeof path, "%s/conc", dir);
    unlink(path);
    struct executor_local_config cfg = {script, 2, 1, 0, 10};
    assert_int_equal(executor_local_new(&cfg, &ex, &err), 0);
    struct outcome o[5] = {
        {.plan = "a"}, {.plan = "b"}, {.plan = "c"}, {.plan = "d"}, {.plan = "slow"}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(ex->ops->submit(ex, o[i].plan, "0:0.3", &err), 0);
    assert_int_equal(ex->ops->submit(ex, "slow", "0:5", &err), 0);
    assert_int_equal(drive(ex, o, 5), 5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o[i].kind, EXEC_SUCCEEDED);
    assert_int_equal(o[4].kind, EXEC_FAILED); /* killed at the 1 s timeout, no retries */
    assert_int_equal(o[4].permanent, 0);
    ex->ops->free(ex, 100);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n, max = 0;
    while (fscanf(f, "%d", &n) == 1)
        if (n > max) max = n;
    fclose(f);
    assert_true(max >= 1 && max <= 2);
}

static void test_exit_action(void **state) {
    (void)state;
    int64_t d;
    char why[128];
    assert_int_equal(executor_exit_action(0, 0, 1, 3, 1000, &d, why, sizeof why), EXIT_DONE);
    assert_int_equal(executor_exit_action(2 << 8, 0, 1, 3, 1000, &d, why, sizeof why),
                     EXIT_REJECTED);
    assert_int_equal(executor_exit_action(1 << 8, 0, 1, 3, 1000, &d, why, sizeof why), EXIT_RETRY);
    assert_int_equal(d, 1000);
    assert_int_equal(executor_exit_action(1 << 8, 0, 2, 3, 1000, &d, why, sizeof why), EXIT_RETRY);
    assert_int_equal(d, 2000);
    assert_int_equal(executor_exit_action(1 << 8, 0, 3, 3, 1000, &d, why, sizeof why),
                     EXIT_GIVE_UP);
    assert_non_null(strstr(why, "exit 1"));
    assert_int_equal(executor_exit_action(9, 0, 1, 9, 40000, &d, why, sizeof why), EXIT_RETRY);
    assert_non_null(strstr(why, "signal 9"));
    assert_int_equal(executor_exit_action(9, 0, 5, 9, 40000, &d, why, sizeof why), EXIT_RETRY);
    assert_int_equal(d, 60000); /* capped */
    /* a timed-out exit 0 or 2 is still a timeout */
    assert_int_equal(executor_exit_action(2 << 8, 1, 1, 2, 10, &d, why, sizeof why), EXIT_RETRY);
    assert_non_null(strstr(why, "timed out"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_action),
        cmocka_unit_test(test_exit_codes_and_retries),
        cmocka_unit_test(test_worker_bound_and_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
