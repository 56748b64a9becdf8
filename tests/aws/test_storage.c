/* test_storage.c -- one interface over files and S3: files for real in a
 * temp dir, s3:// against the in-process server (path and verb checked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fake_http.h"
#include "storage.h"

static struct config cfg = CONFIG_INIT;

static void test_split(void **state) {
    (void)state;
    char b[64];
    const char *k;
    assert_int_equal(storage_split_s3("s3://bkt/a/b.csv", b, sizeof(b), &k), 0);
    assert_string_equal(b, "bkt");
    assert_string_equal(k, "a/b.csv");
    assert_int_equal(storage_split_s3("s3://bkt", b, sizeof(b), &k), 0);
    assert_string_equal(k, "");
    assert_int_equal(storage_split_s3("s3:///x", b, sizeof(b), &k), BT_EINPUT);
    assert_int_equal(storage_split_s3("file:///x", b, sizeof(b), &k), BT_EINPUT);
    assert_int_equal(storage_split_s3("s3://bkt/x", b, 3, &k), BT_EINPUT);
}

static void test_files(void **state) {
    (void)state;
    char dir[] = "/tmp/btpipe-storage-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct storage *st;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(storage_new(&cfg, &st, &err), 0);
    char uri[256], p2[256], p3[256];
    snprintf(uri, sizeof(uri), "file://%s/series/s1/f1/part-a", dir);
    snprintf(p2, sizeof(p2), "%s/series/s1/f2/part-b", dir); /* bare path */
    snprintf(p3, sizeof(p3), "file://%s/other/x", dir);

    assert_int_equal(storage_exists(st, uri, &err), BT_ENOTFOUND);
    struct buf b = BUF_INIT;
    assert_int_equal(storage_read(st, uri, &b, &err), BT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "part-a"));
    assert_int_equal(storage_write(st, uri, "hello", 5, &err), 0);
    assert_int_equal(storage_write(st, uri, "hello world", 11, &err), 0); /* replace */
    assert_int_equal(storage_write(st, p2, "x", 1, &err), 0);
    assert_int_equal(storage_write(st, p3, "", 0, &err), 0);
    assert_int_equal(storage_exists(st, uri, &err), 0);
    assert_int_equal(storage_read(st, uri, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "hello world");

    struct storage_entry *e;
    size_t n;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "file://%s/series/s1/", dir);
    assert_int_equal(storage_list(st, prefix, &e, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].uri, uri);
    assert_int_equal(e[0].size, 11);
    assert_non_null(e[0].etag);
    char want[256];
    snprintf(want, sizeof(want), "file://%s", p2);
    assert_string_equal(e[1].uri, want);
    storage_entries_free(e, n);

    /* A prefix that ends mid-name, as a bare path. */
    snprintf(prefix, sizeof(prefix), "%s/series/s1/f", dir);
    assert_int_equal(storage_list(st, prefix, &e, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[1].uri, p2);
    storage_entries_free(e, n);

    snprintf(prefix, sizeof(prefix), "%s/nothing-here/", dir);
    assert_int_equal(storage_list(st, prefix, &e, &n, &err), 0);
    assert_int_equal(n, 0);

    assert_int_equal(storage_read(st, "ftp://x/y", &b, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "ftp://x/y"));
    buf_free(&b);
    storage_free(st);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void s3_echo(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    (void)n;
    (void)ud;
    if (strcmp(req->method, "PUT") == 0) {
        resp->status = 200;
    } else if (strcmp(req->target, "/bkt/dir/obj.txt") == 0) {
        buf_puts(&resp->body, "from s3");
    } else if (strncmp(req->target, "/bkt?list-type=2&prefix=dir%2F", 30) == 0) {
        buf_puts(&resp->body,
                 "<ListBucketResult><IsTruncated>false</IsTruncated>"
                 "<Contents><Key>dir/z</Key><Size>2</Size><ETag>\"b\"</ETag></Contents>"
                 "<Contents><Key>dir/a</Key><Size>1</Size><ETag>\"a\"</ETag></Contents>"
                 "</ListBucketResult>");
    } else {
        resp->status = 404;
        buf_puts(&resp->body, "<Error><Code>NoSuchKey</Code></Error>");
    }
}

static void test_s3_uris(void **state) {
    (void)state;
    struct fake_http *srv = fake_http_start(s3_echo, NULL);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("BTPIPE_S3_PATH_STYLE", "1", 1);
    setenv("AWS_ENDPOINT_URL_S3", fake_http_url(srv), 1);
    struct storage *st;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(storage_new(&cfg, &st, &err), 0);
    struct buf b = BUF_INIT;
    assert_int_equal(storage_read(st, "s3://bkt/dir/obj.txt", &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "from s3");
    assert_int_equal(storage_write(st, "s3://bkt/dir/new", "x", 1, &err), 0);
    assert_int_equal(storage_exists(st, "s3://bkt/dir/missing", &err), BT_ENOTFOUND);
    assert_int_equal(storage_read(st, "s3://bkt", &b, &err), BT_EINPUT);
    struct storage_entry *e;
    size_t n;
    assert_int_equal(storage_list(st, "s3://bkt/dir/", &e, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].uri, "s3://bkt/dir/a"); /* sorted by URI */
    assert_string_equal(e[0].etag, "a");
    assert_int_equal(e[1].size, 2);
    storage_entries_free(e, n);
    buf_free(&b);
    storage_free(st);
    fake_http_stop(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_s3_uris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
