/* test_http_client.c -- retry rules, and the retry loop against a local
 * server that fails on purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_http.h"
#include "http_client.h"

static const struct http_retry_policy fast = {.max_attempts = 4, .base_ms = 1, .cap_ms = 5};

static void test_rules(void **state) {
    (void)state;
    assert_true(http_retryable(1, 0, NULL, NULL));
    assert_true(http_retryable(0, 500, "", NULL));
    assert_true(http_retryable(0, 503, "<Error><Code>SlowDown</Code></Error>", NULL));
    assert_true(http_retryable(0, 429, "", NULL));
    assert_true(
        http_retryable(0, 400, "{\"__type\":\"ThrottlingException\",\"message\":\"x\"}", NULL));
    assert_true(http_retryable(0, 400, "", "ThrottlingException:http://x"));
    assert_false(http_retryable(0, 400, "{\"__type\":\"ClientException\"}", NULL));
    assert_false(http_retryable(0, 403, "<Code>SignatureDoesNotMatch</Code>", NULL));
    assert_false(http_retryable(0, 404, "<Code>NoSuchKey</Code>", NULL));
    assert_false(http_retryable(0, 200, "", NULL));
    assert_false(http_retryable(0, 301, "", NULL));
}

static void test_backoff(void **state) {
    (void)state;
    /* Full jitter: never above min(cap, base*2^(n-1)), reaches it for some rnd. */
    assert_int_equal(http_backoff_ms(1, 100, 20000, 100), 100);
    assert_int_equal(http_backoff_ms(1, 100, 20000, 101), 0);
    assert_int_equal(http_backoff_ms(3, 100, 20000, 400), 400);
    assert_int_equal(http_backoff_ms(3, 100, 20000, 401), 0);
    assert_int_equal(http_backoff_ms(30, 100, 20000, 20000), 20000);
    for (uint64_t r = 0; r < 5000; r += 7)
        assert_true(http_backoff_ms(20, 100, 1000, r * 2654435761u) <= 1000);
    assert_int_equal(http_backoff_ms(2, 0, 0, 12345), 0);
}

/* The server's script: one entry per request, the last one repeats. */
struct script {
    int statuses[8];
    const char *bodies[8];
    int n;
};

static void scripted(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    (void)req;
    struct script *s = ud;
    int i = n <= s->n ? n - 1 : s->n - 1;
    resp->status = s->statuses[i];
    if (s->bodies[i]) buf_puts(&resp->body, s->bodies[i]);
}

struct build_ctx {
    const char *url;
    http_sink_fn sink;
    void *sink_ud;
};

static int build_get(void *ud, int attempt, struct http_request *req, struct bt_err *err) {
    (void)attempt;
    (void)err;
    struct build_ctx *b = ud;
    strcpy(req->method, "GET");
    buf_printf(&req->url, "%s/thing", b->url);
    http_request_header(req, "X-Test", "1");
    req->sink = b->sink;
    req->sink_ud = b->sink_ud;
    return 0;
}

static int run(struct script *s, struct http_response *resp, int *attempts, struct bt_err *err,
               struct fake_http **srv_out) {
    struct fake_http *srv = fake_http_start(scripted, s);
    struct build_ctx b = {fake_http_url(srv), NULL, NULL};
    int rc = http_send(&fast, build_get, &b, resp, attempts, err);
    *srv_out = srv;
    return rc;
}

static void test_503_twice_then_200(void **state) {
    (void)state;
    struct script s = {{503, 503, 200}, {"<Error><Code>SlowDown</Code></Error>", NULL, "ok"}, 3};
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    struct fake_http *srv;
    int attempts = 0;
    assert_int_equal(run(&s, &resp, &attempts, &err, &srv), 0);
    assert_int_equal(attempts, 3);
    assert_int_equal(fake_http_count(srv), 3);
    assert_int_equal(resp.status, 200);
    assert_string_equal(buf_cstr(&resp.body), "ok");
    fake_http_stop(srv);
    http_response_free(&resp);
}

static void test_403_not_retried(void **state) {
    (void)state;
    struct script s = {{403, 200}, {"<Error><Code>AccessDenied</Code></Error>", "ok"}, 2};
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    struct fake_http *srv;
    int attempts = 0;
    assert_int_equal(run(&s, &resp, &attempts, &err, &srv), 0);
    assert_int_equal(attempts, 1);
    assert_int_equal(fake_http_count(srv), 1);
    assert_int_equal(resp.status, 403);
    assert_non_null(strstr(buf_cstr(&resp.body), "AccessDenied"));
    fake_http_stop(srv);
    http_response_free(&resp);
}

static void test_closed_connection_retried(void **state) {
    (void)state;
    struct script s = {{0, 200}, {NULL, "after"}, 2}; /* 0: close without answer */
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    struct fake_http *srv;
    int attempts = 0;
    assert_int_equal(run(&s, &resp, &attempts, &err, &srv), 0);
    assert_int_equal(attempts, 2);
    assert_int_equal(resp.status, 200);
    assert_string_equal(buf_cstr(&resp.body), "after");
    fake_http_stop(srv);
    http_response_free(&resp);
}

static void test_attempts_bounded(void **state) {
    (void)state;
    struct script s = {{500}, {"boom"}, 1};
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    struct fake_http *srv;
    int attempts = 0;
    assert_int_equal(run(&s, &resp, &attempts, &err, &srv), 0);
    assert_int_equal(attempts, fast.max_attempts);
    assert_int_equal(fake_http_count(srv), fast.max_attempts);
    assert_int_equal(resp.status, 500);
    fake_http_stop(srv);

    /* Always closing: BT_ENET after max attempts, the message says so. */
    struct script c = {{0}, {NULL}, 1};
    assert_int_equal(run(&c, &resp, &attempts, &err, &srv), BT_ENET);
    assert_int_equal(attempts, fast.max_attempts);
    assert_non_null(strstr(err.msg, "after 4 attempts"));
    fake_http_stop(srv);
    http_response_free(&resp);
}

static void test_throttle_json_retried(void **state) {
    (void)state;
    struct script s = {
        {400, 200}, {"{\"__type\":\"ThrottlingException\",\"message\":\"slow\"}", "{}"}, 2};
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    struct fake_http *srv;
    int attempts = 0;
    assert_int_equal(run(&s, &resp, &attempts, &err, &srv), 0);
    assert_int_equal(attempts, 2);
    assert_int_equal(resp.status, 200);
    fake_http_stop(srv);
    http_response_free(&resp);
}

static int collect(const void *p, size_t n, void *ud) {
    buf_append(ud, p, n);
    return 0;
}

static int refuse(const void *p, size_t n, void *ud) {
    (void)p;
    (void)n;
    (void)ud;
    return 1;
}

static void test_sink(void **state) {
    (void)state;
    struct script s = {{404, 200}, {"<Error><Code>NoSuchKey</Code></Error>", "streamed body"}, 2};
    struct fake_http *srv = fake_http_start(scripted, &s);
    struct buf got = BUF_INIT;
    struct build_ctx b = {fake_http_url(srv), collect, &got};
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    /* Error bodies stay out of the sink and in resp.body. */
    assert_int_equal(http_send(&fast, build_get, &b, &resp, NULL, &err), 0);
    assert_int_equal(resp.status, 404);
    assert_int_equal(got.len, 0);
    assert_non_null(strstr(buf_cstr(&resp.body), "NoSuchKey"));
    assert_int_equal(http_send(&fast, build_get, &b, &resp, NULL, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(buf_cstr(&got), "streamed body");
    assert_int_equal(resp.sink_bytes, 13);
    /* A sink that says stop ends the transfer with BT_EIO and no retry. */
    b.sink = refuse;
    int attempts = 0;
    assert_int_equal(http_send(&fast, build_get, &b, &resp, &attempts, &err), BT_EIO);
    assert_int_equal(attempts, 1);
    fake_http_stop(srv);
    buf_free(&got);
    http_response_free(&resp);
}

static void echo(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    (void)n;
    (void)ud;
    resp->status = 201;
    buf_printf(&resp->headers, "X-Amzn-ErrorType: none\r\nETag: \"abc\"\r\n");
    buf_printf(&resp->body, "%s %s %s", req->method, req->target, buf_cstr(&req->body));
}

static int build_put(void *ud, int attempt, struct http_request *req, struct bt_err *err) {
    (void)attempt;
    (void)err;
    strcpy(req->method, "PUT");
    buf_printf(&req->url, "%s/a/b?x=1", (const char *)ud);
    req->body = "payload";
    req->body_len = 7;
    return 0;
}

static void test_put_and_headers(void **state) {
    (void)state;
    struct fake_http *srv = fake_http_start(echo, NULL);
    struct http_response resp;
    http_response_init(&resp);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(http_send(&fast, build_put, (void *)fake_http_url(srv), &resp, NULL, &err), 0);
    assert_int_equal(resp.status, 201);
    assert_string_equal(buf_cstr(&resp.body), "PUT /a/b?x=1 payload");
    struct buf v = BUF_INIT;
    assert_string_equal(http_response_header(&resp, "etag", &v), "\"abc\"");
    assert_null(http_response_header(&resp, "x-missing", &v));
    buf_free(&v);
    fake_http_stop(srv);
    http_response_free(&resp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_503_twice_then_200),
        cmocka_unit_test(test_403_not_retried),
        cmocka_unit_test(test_closed_connection_retried),
        cmocka_unit_test(test_attempts_bounded),
        cmocka_unit_test(test_throttle_json_retried),
        cmocka_unit_test(test_sink),
        cmocka_unit_test(test_put_and_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
