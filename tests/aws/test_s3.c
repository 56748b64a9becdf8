/* test_s3.c -- S3 client: XML parsers, addressing and key encoding, error
 * text, pagination and the retry policy, against an in-process server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "fake_http.h"
#include "s3.h"

static struct config cfg = CONFIG_INIT;

static void set_env(const char *endpoint) {
    unsetenv("BTPIPE_CONFIG_FILE");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("BTPIPE_S3_LIST_MAX_KEYS");
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "testsecret", 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("BTPIPE_S3_PATH_STYLE", "1", 1);
    setenv("BTPIPE_AWS_RETRY_BASE_MS", "1", 1);
    setenv("BTPIPE_AWS_RETRY_MAX_MS", "5", 1);
    setenv("BTPIPE_AWS_MAX_ATTEMPTS", "4", 1);
    if (endpoint)
        setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
    else
        unsetenv("AWS_ENDPOINT_URL_S3");
}

static const char page1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bkt</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/2+=</NextContinuationToken>"
    "<Contents><Key>p/a &amp; b.csv</Key><LastModified>2026-01-02T03:04:05.678Z</LastModified>"
    "<ETag>&quot;abc123&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass>"
    "</Contents>"
    "<Contents><Key>p/b.csv</Key><LastModified>2026-01-02T03:04:06.000Z</LastModified>"
    "<ETag>\"def\"</ETag><Size>0</Size></Contents>"
    "</ListBucketResult>";

static const char page2[] =
    "<ListBucketResult><IsTruncated>false</IsTruncated>"
    "<Contents><Key>p/c.csv</Key><ETag>\"ghi\"</ETag><Size>7</Size></Contents>"
    "</ListBucketResult>";

static void test_parse_list(void **state) {
    (void)state;
    struct s3_list_page p;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_parse_list_xml(page1, strlen(page1), &p, &err), 0);
    assert_int_equal(p.items.n, 2);
    assert_true(p.truncated);
    assert_string_equal(p.next_token, "tok/2+=");
    assert_string_equal(p.items.items[0].key, "p/a & b.csv");
    assert_string_equal(p.items.items[0].etag, "abc123");
    assert_int_equal(p.items.items[0].size, 42);
    assert_int_equal(p.items.items[0].last_modified_ms, 1767323045678LL);
    assert_string_equal(p.items.items[1].etag, "def");
    s3_list_page_free(&p);

    const char *bad[] = {
        "<ListBucketResult><Contents><Key>x</Key>", /* truncated XML */
        "<Error><Code>x</Code></Error>",            /* wrong root */
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", /* no key */
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", /* no token */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(s3_parse_list_xml(bad[i], strlen(bad[i]), &p, &err), BT_EINPUT);
        assert_non_null(strstr(err.msg, "ListObjectsV2"));
    }
}

static void test_parse_error(void **state) {
    (void)state;
    const char *x = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>"
                    "<Message>The specified key does not exist.</Message><Key>k</Key></Error>";
    char code[64], msg[128];
    s3_parse_error_xml(x, strlen(x), code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "NoSuchKey");
    assert_string_equal(msg, "The specified key does not exist.");
    s3_parse_error_xml("garbage", 7, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "");
}

static void test_location(void **state) {
    (void)state;
    set_env("http://s3.local:9000");
    struct s3_client *c;
    struct bt_err err = BT_ERR_INIT;
    struct buf host = BUF_INIT, path = BUF_INIT;
    assert_int_equal(s3_client_new(&cfg, &c, &err), 0);
    s3_object_location(c, "bkt", "a/b c", &host, &path);
    assert_string_equal(host.p, "s3.local:9000");
    assert_string_equal(path.p, "/bkt/a/b c");
    s3_client_free(c);

    setenv("BTPIPE_S3_PATH_STYLE", "0", 1);
    unsetenv("AWS_ENDPOINT_URL_S3");
    setenv("AWS_REGION", "eu-west-1", 1);
    assert_int_equal(s3_client_new(&cfg, &c, &err), 0);
    s3_object_location(c, "bkt", "a/b c", &host, &path);
    assert_string_equal(host.p, "bkt.s3.eu-west-1.amazonaws.com");
    assert_string_equal(path.p, "/a/b c");
    s3_client_free(c);

    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    assert_int_equal(s3_client_new(&cfg, &c, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "AWS_REGION"));
    buf_free(&host);
    buf_free(&path);
}

/* A scripted S3: records what it was asked, answers from a table. */
struct s3_fake {
    int statuses[8];
    const char *bodies[8];
    int n;
    char targets[8][512];
    char auth[512];
    char sha[128];
    char host[128];
};

static void s3_handler(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    struct s3_fake *f = ud;
    int i = n <= f->n ? n - 1 : f->n - 1;
    if (n <= 8) snprintf(f->targets[n - 1], sizeof(f->targets[0]), "%s", req->target);
    fake_req_header(req, "Authorization", f->auth, sizeof(f->auth));
    fake_req_header(req, "X-Amz-Content-Sha256", f->sha, sizeof(f->sha));
    fake_req_header(req, "Host", f->host, sizeof(f->host));
    resp->status = f->statuses[i];
    if (f->bodies[i]) buf_puts(&resp->body, f->bodies[i]);
    buf_puts(&resp->headers, "ETag: \"e1\"\r\nLast-Modified: Wed, 12 Oct 2009 17:50:00 GMT\r\n");
}

static struct s3_client *client_for(struct fake_http *srv) {
    set_env(fake_http_url(srv));
    struct s3_client *c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_client_new(&cfg, &c, &err), 0);
    return c;
}

static void test_get_retries_503(void **state) {
    (void)state;
    struct s3_fake f = {.statuses = {503, 503, 200},
                        {"<Error><Code>SlowDown</Code></Error>",
                         "<Error><Code>InternalError</Code></Error>", "the body"},
                        .n = 3};
    struct fake_http *srv = fake_http_start(s3_handler, &f);
    struct s3_client *c = client_for(srv);
    struct buf out = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_get_object_buf(c, "bkt", "dir/a b+c%.csv", &out, &err), 0);
    assert_int_equal(s3_client_last_attempts(c), 3);
    assert_int_equal(fake_http_count(srv), 3);
    assert_string_equal(buf_cstr(&out), "the body");
    /* Key encoded once, '/' kept, path-style. */
    assert_string_equal(f.targets[2], "/bkt/dir/a%20b%2Bc%25.csv");
    assert_non_null(strstr(f.auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
    assert_non_null(strstr(f.auth, "/us-east-1/s3/aws4_request"));
    assert_string_equal(f.sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    buf_free(&out);
    s3_client_free(c);
    fake_http_stop(srv);
}

static void test_403_once_named_error(void **state) {
    (void)state;
    struct s3_fake f = {.statuses = {403, 200},
                        {"<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
                         "signature we calculated does not match</Message></Error>",
                         "x"},
                        .n = 2};
    struct fake_http *srv = fake_http_start(s3_handler, &f);
    struct s3_client *c = client_for(srv);
    struct buf out = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_get_object_buf(c, "b", "k", &out, &err), BT_EAUTH);
    assert_int_equal(s3_client_last_attempts(c), 1);
    assert_int_equal(fake_http_count(srv), 1);
    assert_string_equal(err.msg, "s3 GetObject s3://b/k: HTTP 403 SignatureDoesNotMatch: The "
                                 "request signature we calculated does not match");
    assert_string_equal(err.where, "s3://b/k");
    buf_free(&out);
    s3_client_free(c);
    fake_http_stop(srv);
}

static void test_closed_connection_retried(void **state) {
    (void)state;
    struct s3_fake f = {.statuses = {0, 0, 200}, .bodies = {NULL, NULL, ""}, .n = 3};
    struct fake_http *srv = fake_http_start(s3_handler, &f);
    struct s3_client *c = client_for(srv);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_put_object(c, "b", "k", "hello", 5, "text/plain", &err), 0);
    assert_int_equal(s3_client_last_attempts(c), 3);
    /* The body's real hash is signed. */
    assert_string_equal(f.sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    s3_client_free(c);
    fake_http_stop(srv);
}

static void test_not_found_and_head(void **state) {
    (void)state;
    struct s3_fake f = {
        .statuses = {404, 404, 200},
        {"<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>", NULL, NULL},
        .n = 3};
    struct fake_http *srv = fake_http_start(s3_handler, &f);
    struct s3_client *c = client_for(srv);
    struct buf out = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_get_object_buf(c, "b", "missing/key", &out, &err), BT_ENOTFOUND);
    assert_string_equal(err.msg, "s3 GetObject s3://b/missing/key: HTTP 404 NoSuchKey: gone");
    struct s3_object_info info;
    assert_int_equal(s3_head_object(c, "b", "missing/key", &info, &err), BT_ENOTFOUND);
    assert_string_equal(err.msg, "s3 HeadObject s3://b/missing/key: HTTP 404 NotFound");
    assert_int_equal(s3_head_object(c, "b", "there", &info, &err), 0);
    assert_string_equal(info.etag, "e1");
    assert_string_equal(info.key, "there");
    assert_int_equal(info.last_modified_ms, 1255369800000LL);
    s3_object_info_free(&info);
    buf_free(&out);
    s3_client_free(c);
    fake_http_stop(srv);
}

static void test_list_pages(void **state) {
    (void)state;
    struct s3_fake f = {.statuses = {200, 200}, .bodies = {page1, page2}, .n = 2};
    struct fake_http *srv = fake_http_start(s3_handler, &f);
    struct s3_client *c = client_for(srv);
    struct s3_listing l;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_list_objects(c, "bkt", "p/", &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[2].key, "p/c.csv");
    assert_int_equal(fake_http_count(srv), 2);
    assert_string_equal(f.targets[0], "/bkt?list-type=2&prefix=p%2F");
    assert_string_equal(f.targets[1],
                        "/bkt?continuation-token=tok%2F2%2B%3D&list-type=2&prefix=p%2F");
    s3_listing_free(&l);
    s3_client_free(c);
    fake_http_stop(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_get_retries_503),
        cmocka_unit_test(test_403_once_named_error),
        cmocka_unit_test(test_closed_connection_retried),
        cmocka_unit_test(test_not_found_and_head),
        cmocka_unit_test(test_list_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
