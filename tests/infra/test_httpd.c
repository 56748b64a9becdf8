/* HTTP endpoint and service runtime: real sockets, fetched with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "shutdown.h"

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    buf_append(ud, p, sz * n);
    return sz * n;
}

/* GET http://127.0.0.1:port/path; returns the status, body in out. */
static long fetch(int port, const char *path, struct buf *out, char *ctype, size_t ctsz) {
    char url[256];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    buf_reset(out);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (ctype) {
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(ctype, ctsz, "%s", ct ? ct : "");
    }
    curl_easy_cleanup(c);
    return status;
}

static int echo_route(const char *path, const char *query, struct buf *body,
                      const char **content_type, void *ud) {
    buf_printf(body, "{\"path\":\"%s\",\"query\":\"%s\",\"ud\":\"%s\"}", path, query ? query : "",
               (const char *)ud);
    *content_type = "application/json";
    return 200;
}

/* Port as logged in the "http listening" line's http_port field. */
static int logged_port(FILE *f) {
    char line[4096];
    int port = -1;
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        const char *p = json_string_value(json_object_get(o, "http_port"));
        if (p) port = atoi(p);
        json_decref(o);
    }
    return port;
}

static void test_endpoints(void **state) {
    (void)state;
    struct config cfg = CONFIG_INIT;
    struct bt_err err = BT_ERR_INIT;
    struct httpd *h = NULL;
    struct buf body = BUF_INIT;
    char ct[128];
    FILE *logf = tmpfile();
    log_set_stream(logf);
    setenv("BTPIPE_HTTP_ADDR", "127.0.0.1:0", 1);
    assert_int_equal(httpd_start(&cfg, "test", &h, &err), 0);
    log_set_stream(NULL);
    int port = httpd_port(h);
    assert_true(port > 0);
    assert_int_equal(logged_port(logf), port);
    fclose(logf);

    assert_int_equal(fetch(port, "/healthz", &body, NULL, 0), 200);
    assert_string_equal(body.p, "ok\n");
    assert_int_equal(fetch(port, "/readyz", &body, NULL, 0), 503);
    httpd_set_ready(h, 1);
    assert_int_equal(fetch(port, "/readyz", &body, NULL, 0), 200);
    httpd_set_ready(h, 0);
    assert_int_equal(fetch(port, "/readyz", &body, NULL, 0), 503);

    metric_add(metrics_counter("btt_http_test_total", "A test counter"), 5);
    assert_int_equal(fetch(port, "/metrics", &body, ct, sizeof ct), 200);
    assert_non_null(strstr(ct, "text/plain; version=0.0.4"));
    assert_non_null(strstr(body.p, "# HELP btt_http_test_total A test counter\n"
                                   "# TYPE btt_http_test_total counter\n"
                                   "btt_http_test_total 5\n"));

    assert_int_equal(fetch(port, "/results", &body, NULL, 0), 404);
    httpd_route(h, "/results", echo_route, "u1");
    assert_int_equal(fetch(port, "/results?pair=a%2Fb", &body, ct, sizeof ct), 200);
    assert_string_equal(body.p, "{\"path\":\"/results\",\"query\":\"pair=a%2Fb\",\"ud\":\"u1\"}");
    assert_string_equal(ct, "application/json");
    httpd_stop(h);
    buf_free(&body);
    unsetenv("BTPIPE_HTTP_ADDR");
}

static void test_bad_addr(void **state) {
    (void)state;
    char host[64];
    int port = -1;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(httpd_parse_addr("127.0.0.1:8080", host, sizeof host, &port, &err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(httpd_parse_addr("[::1]:0", host, sizeof host, &port, &err), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(httpd_parse_addr(":9100", host, sizeof host, &port, &err), 0);
    assert_string_equal(host, "0.0.0.0");
    const char *bad[] = {"", "localhost", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:70000", "::1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(httpd_parse_addr(bad[i], host, sizeof host, &port, &err), BT_ECONFIG);
        assert_non_null(strstr(err.msg, "BTPIPE_HTTP_ADDR"));
    }
    /* A port that is taken is an error naming the variable, not a crash. */
    struct config cfg = CONFIG_INIT;
    struct httpd *a = NULL, *b = NULL;
    setenv("BTPIPE_HTTP_ADDR", "127.0.0.1:0", 1);
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    assert_int_equal(httpd_start(&cfg, "t", &a, &err), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", httpd_port(a));
    setenv("BTPIPE_HTTP_ADDR", addr, 1);
    assert_int_equal(httpd_start(&cfg, "t", &b, &err), BT_ECONFIG);
    assert_null(b);
    assert_non_null(strstr(err.msg, "BTPIPE_HTTP_ADDR"));
    httpd_stop(a);
    log_set_stream(NULL);
    fclose(devnull);
    unsetenv("BTPIPE_HTTP_ADDR");
}

static void test_service_runtime(void **state) {
    (void)state;
    struct service s;
    struct bt_err err = BT_ERR_INIT;
    struct buf body = BUF_INIT;
    char *help_argv[] = {"svc", "--help", NULL};
    char *argv[] = {"svc", NULL};
    assert_int_equal(service_start(&s, "svc", 2, help_argv, "usage: svc\n", &err), SERVICE_EXIT_OK);
    setenv("BTPIPE_LOG_LEVEL", "chatty", 1);
    assert_int_equal(service_start(&s, "svc", 1, argv, "", &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTPIPE_LOG_LEVEL"));
    setenv("BTPIPE_LOG_LEVEL", "warn", 1);
    setenv("BTPIPE_TOPIC_PREFIX", "bad prefix", 1);
    assert_int_equal(service_start(&s, "svc", 1, argv, "", &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTPIPE_TOPIC_PREFIX"));
    unsetenv("BTPIPE_TOPIC_PREFIX");
    assert_int_equal(service_start(&s, "svc", 1, argv, "", &err), 0);
    assert_int_equal(log_min_level(), LOG_WARN);
    int port = httpd_port(s.httpd);
    assert_int_equal(fetch(port, "/readyz", &body, NULL, 0), 503);
    service_set_ready(&s, 1);
    assert_int_equal(fetch(port, "/readyz", &body, NULL, 0), 200);
    assert_false(shutdown_requested());
    raise(SIGTERM); /* the handler sets the flag; the process lives on */
    assert_true(shutdown_requested());
    service_stop(&s);
    unsetenv("BTPIPE_LOG_LEVEL");
    buf_free(&body);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_bad_addr),
        cmocka_unit_test(test_service_runtime),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
