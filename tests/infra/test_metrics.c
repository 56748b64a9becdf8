/* Metrics: counters and gauges rendered in the Prometheus text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void test_render(void **state) {
    (void)state;
    struct metric *a = metrics_counter("btt_msgs_total{topic=\"a\"}", "Messages read.\nBy topic");
    struct metric *g = metrics_gauge("btt_lag", "Lag in messages");
    struct metric *b = metrics_counter("btt_msgs_total{topic=\"b\"}", "Messages read.\nBy topic");
    assert_ptr_equal(metrics_counter("btt_msgs_total{topic=\"a\"}", "x"), a); /* same series */
    metric_add(a, 2);
    metric_add(a, 1.5);
    metric_add(b, 1);
    metric_set(g, -7);
    assert_true(metric_value(a) == 3.5);
    struct buf out = BUF_INIT;
    metrics_render(&out);
    const char *want = "# HELP btt_msgs_total Messages read.\\nBy topic\n"
                       "# TYPE btt_msgs_total counter\n"
                       "btt_msgs_total{topic=\"a\"} 3.5\n"
                       "btt_msgs_total{topic=\"b\"} 1\n"
                       "# HELP btt_lag Lag in messages\n"
                       "# TYPE btt_lag gauge\n"
                       "btt_lag -7\n";
    assert_non_null(strstr(out.p, want));
    metric_set(g, INFINITY);
    buf_reset(&out);
    metrics_render(&out);
    assert_non_null(strstr(out.p, "btt_lag +Inf\n"));
    buf_free(&out);
}

static void *adder(void *arg) {
    for (int i = 0; i < 100000; i++)
        metric_add(arg, 1);
    return NULL;
}

static void test_concurrent_adds(void **state) {
    (void)state;
    struct metric *m = metrics_counter("btt_concurrent_total", "adds from threads");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(metric_value(m) == 400000.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_concurrent_adds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
