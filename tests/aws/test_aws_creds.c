/* test_aws_creds.c -- every source of the chain, its order, refresh before
 * expiry, and that secrets never reach the log. Remote endpoints (container,
 * IMDS) are played by an in-process server on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws_config.h"
#include "aws_creds.h"
#include "config.h"
#include "fake_http.h"
#include "log.h"

static const char *const all_vars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "BTPIPE_AWS_CONTAINER_HOST",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "BTPIPE_CONFIG_FILE",
};

/* Every test starts from an environment with no AWS settings at all, the
 * shared file pointing nowhere and IMDS off (never the real 169.254.x). */
static int clean_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
        unsetenv(all_vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/btpipe-test-credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return 0;
}

static struct config cfg = CONFIG_INIT;

static void test_env(void **state) {
    (void)state;
    struct aws_creds c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(aws_creds_from_env(&cfg, &c, &err), BT_ENOTFOUND);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    assert_int_equal(aws_creds_from_env(&cfg, &c, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    assert_int_equal(aws_creds_from_env(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIAENV");
    assert_string_equal(c.secret_access_key, "envsecret");
    assert_string_equal(c.session_token, "envtoken");
    assert_string_equal(c.source, "environment");
    assert_int_equal(c.expires_at, 0);
    aws_creds_free(&c);
}

static char tmpfile_path[64];

static void write_tmp(const char *text) {
    strcpy(tmpfile_path, "/tmp/btpipe-creds-XXXXXX");
    int fd = mkstemp(tmpfile_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_file_profiles(void **state) {
    (void)state;
    write_tmp("# comment\n"
              "[default]\n"
              "aws_access_key_id = AKIADEFAULT\n"
              "aws_secret_access_key=defsecret\n"
              "\n"
              "[profile dev]\r\n"
              "  aws_access_key_id = AKIADEV  \r\n"
              "aws_secret_access_key = devsecret\r\n"
              "aws_session_token = devtoken\r\n"
              "region = eu-west-1\r\n"
              "[broken]\n"
              "aws_access_key_id = AKIABROKEN\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmpfile_path, 1);
    struct aws_creds c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(aws_creds_from_file(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIADEFAULT");
    assert_string_equal(c.secret_access_key, "defsecret");
    assert_null(c.session_token);
    assert_string_equal(c.source, "shared-file:default");
    aws_creds_free(&c);

    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(aws_creds_from_file(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIADEV");
    assert_string_equal(c.secret_access_key, "devsecret");
    assert_string_equal(c.session_token, "devtoken");
    aws_creds_free(&c);

    setenv("AWS_PROFILE", "nosuch", 1);
    assert_int_equal(aws_creds_from_file(&cfg, &c, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "nosuch"));

    setenv("AWS_PROFILE", "broken", 1);
    assert_int_equal(aws_creds_from_file(&cfg, &c, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "aws_secret_access_key"));
    unlink(tmpfile_path);

    /* Malformed line: the error names file:line. */
    struct bt_err e2 = BT_ERR_INIT;
    const char *bad = "[default]\naws_access_key_id\n";
    assert_int_equal(aws_creds_parse_ini(bad, strlen(bad), "default", "f.ini", &c, &e2),
                     BT_ECONFIG);
    assert_string_equal(e2.where, "f.ini:2");

    /* A missing default file is not an error: the chain moves on. */
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x", 1);
    assert_int_equal(aws_creds_from_file(&cfg, &c, &err), BT_ENOTFOUND);
}

static void test_iso8601(void **state) {
    (void)state;
    int64_t t;
    assert_int_equal(aws_parse_iso8601("2015-08-30T12:36:00Z", &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(aws_parse_iso8601("2015-08-30T12:36:00.123Z", &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(aws_parse_iso8601("2015-08-30T14:36:00+02:00", &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_not_equal(aws_parse_iso8601("2015-08-30", &t), 0);
    assert_int_not_equal(aws_parse_iso8601("2015-08-30T12:36:00Zjunk", &t), 0);
}

/* Container endpoint stand-in: checks path and token, serves credentials
 * that expire at *expires (unix seconds). */
struct container_srv {
    const char *want_path;
    const char *want_token;
    int64_t expires;
    int bad_auth;
};

static void iso(int64_t t, char *out, size_t cap) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void container_handler(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    struct container_srv *s = ud;
    char auth[256];
    if (strcmp(req->target, s->want_path) != 0) {
        resp->status = 404;
        return;
    }
    if (s->want_token && (!fake_req_header(req, "Authorization", auth, sizeof(auth)) ||
                          strcmp(auth, s->want_token) != 0)) {
        s->bad_auth++;
        resp->status = 403;
        return;
    }
    char exp[32];
    iso(s->expires, exp, sizeof(exp));
    buf_printf(&resp->body,
               "{\"AccessKeyId\":\"ASIACONT%d\",\"SecretAccessKey\":\"contsecret%d\","
               "\"Token\":\"conttoken%d\",\"Expiration\":\"%s\",\"RoleArn\":\"arn:x\"}",
               n, n, n, exp);
}

static void test_container_relative(void **state) {
    (void)state;
    struct container_srv s = {"/v2/credentials/abc", "tok-123", 2000000000, 0};
    struct fake_http *srv = fake_http_start(container_handler, &s);
    setenv("BTPIPE_AWS_CONTAINER_HOST", fake_http_url(srv), 1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok-123", 1);
    struct aws_creds c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(aws_creds_from_container(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "ASIACONT1");
    assert_string_equal(c.secret_access_key, "contsecret1");
    assert_string_equal(c.session_token, "conttoken1");
    assert_int_equal(c.expires_at, 2000000000);
    aws_creds_free(&c);

    /* Wrong token: refused, an auth error, no credentials. */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    assert_int_equal(aws_creds_from_container(&cfg, &c, &err), BT_EAUTH);
    assert_int_equal(s.bad_auth, 1);
    fake_http_stop(srv);
}

static void test_container_full_uri_token_file(void **state) {
    (void)state;
    struct container_srv s = {"/creds", "file-token", 2000000000, 0};
    struct fake_http *srv = fake_http_start(container_handler, &s);
    char url[128];
    snprintf(url, sizeof(url), "%s/creds", fake_http_url(srv));
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    write_tmp("file-token\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmpfile_path, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-set", 1);
    struct aws_creds c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(aws_creds_from_container(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "ASIACONT1");
    aws_creds_free(&c);
    unlink(tmpfile_path);
    fake_http_stop(srv);
}

/* IMDSv2 stand-in: token first, then role, then credentials; each step
 * checks the previous step's product. */
static void imds_handler(const struct fake_req *req, struct fake_resp *resp, int n, void *ud) {
    (void)n;
    (void)ud;
    char h[128];
    if (strcmp(req->method, "PUT") == 0 && strcmp(req->target, "/latest/api/token") == 0) {
        if (!fake_req_header(req, "X-aws-ec2-metadata-token-ttl-seconds", h, sizeof(h))) {
            resp->status = 400;
            return;
        }
        buf_puts(&resp->body, "IMDSTOKEN");
        return;
    }
    if (!fake_req_header(req, "X-aws-ec2-metadata-token", h, sizeof(h)) ||
        strcmp(h, "IMDSTOKEN") != 0) {
        resp->status = 401;
        return;
    }
    if (strcmp(req->target, "/latest/meta-data/iam/security-credentials/") == 0) {
        buf_puts(&resp->body, "my-role\n");
    } else if (strcmp(req->target, "/latest/meta-data/iam/security-credentials/my-role") == 0) {
        buf_puts(&resp->body, "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\","
                              "\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"imdssecret\","
                              "\"Token\":\"imdstoken\",\"Expiration\":\"2033-05-18T03:33:20Z\"}");
    } else {
        resp->status = 404;
    }
}

static void test_imds(void **state) {
    (void)state;
    struct fake_http *srv = fake_http_start(imds_handler, NULL);
    struct aws_creds c;
    struct bt_err err = BT_ERR_INIT;
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_http_url(srv), 1);
    /* Disabled: the server is never contacted. */
    assert_int_equal(aws_creds_from_imds(&cfg, &c, &err), BT_ENOTFOUND);
    assert_int_equal(fake_http_count(srv), 0);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    assert_int_equal(aws_creds_from_imds(&cfg, &c, &err), 0);
    assert_int_equal(fake_http_count(srv), 3);
    assert_string_equal(c.access_key_id, "ASIAIMDS");
    assert_string_equal(c.secret_access_key, "imdssecret");
    assert_string_equal(c.session_token, "imdstoken");
    assert_int_equal(c.expires_at, 2000000000);
    assert_string_equal(c.source, "imds");
    aws_creds_free(&c);
    fake_http_stop(srv);
}

static void test_chain_order(void **state) {
    (void)state;
    struct aws_creds c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(aws_creds_resolve(&cfg, &c, &err), BT_EAUTH);
    assert_non_null(strstr(err.msg, "no AWS credentials"));

    struct container_srv s = {"/c", NULL, 2000000000, 0};
    struct fake_http *srv = fake_http_start(container_handler, &s);
    setenv("BTPIPE_AWS_CONTAINER_HOST", fake_http_url(srv), 1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c", 1);
    assert_int_equal(aws_creds_resolve(&cfg, &c, &err), 0);
    assert_string_equal(c.source, "container");
    aws_creds_free(&c);

    write_tmp("[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=filesecret\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmpfile_path, 1);
    assert_int_equal(aws_creds_resolve(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIAFILE"); /* file before container */
    aws_creds_free(&c);

    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    assert_int_equal(aws_creds_resolve(&cfg, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIAENV"); /* environment first */
    aws_creds_free(&c);
    unlink(tmpfile_path);
    assert_int_equal(fake_http_count(srv), 1);
    fake_http_stop(srv);
}

static int64_t fake_now;
static int64_t fake_clock(void *ud) {
    (void)ud;
    return fake_now;
}

static void test_refresh_before_expiry(void **state) {
    (void)state;
    fake_now = 1700000000;
    struct container_srv s = {"/c", NULL, fake_now + 3600, 0};
    struct fake_http *srv = fake_http_start(container_handler, &s);
    setenv("BTPIPE_AWS_CONTAINER_HOST", fake_http_url(srv), 1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c", 1);
    struct aws_creds_provider *p;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(aws_creds_provider_new(&cfg, &p, &err), 0);
    aws_creds_provider_set_clock(p, fake_clock, NULL);
    struct aws_creds c;
    assert_int_equal(aws_creds_provider_get(p, &c, &err), 0);
    assert_string_equal(c.access_key_id, "ASIACONT1");
    aws_creds_free(&c);

    /* 55 minutes in: more than 5 minutes left, cached. */
    fake_now += 3300 - 1;
    assert_int_equal(aws_creds_provider_get(p, &c, &err), 0);
    assert_string_equal(c.access_key_id, "ASIACONT1");
    assert_int_equal(aws_creds_provider_fetches(p), 1);
    aws_creds_free(&c);

    /* Inside the 5-minute margin: fetched again, new keys. */
    s.expires = fake_now + 1 + 3600;
    fake_now += 1;
    assert_int_equal(aws_creds_provider_get(p, &c, &err), 0);
    assert_string_equal(c.access_key_id, "ASIACONT2");
    assert_int_equal(aws_creds_provider_fetches(p), 2);
    assert_int_equal(fake_http_count(srv), 2);
    aws_creds_free(&c);
    aws_creds_provider_free(p);
    fake_http_stop(srv);
}

static void test_secrets_not_logged(void **state) {
    (void)state;
    char *logtext = NULL;
    size_t loglen = 0;
    FILE *mem = open_memstream(&logtext, &loglen);
    log_init("test", LOG_DEBUG);
    log_set_stream(mem);

    write_tmp("[default]\naws_access_key_id=AKIAFILEKEY\n"
              "aws_secret_access_key=S3CR3T-FILE-VALUE\naws_session_token=T0KEN-FILE\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmpfile_path, 1);
    struct aws_creds_provider *p;
    struct bt_err err = BT_ERR_INIT;
    struct aws_creds c;
    assert_int_equal(aws_creds_provider_new(&cfg, &p, &err), 0);
    assert_int_equal(aws_creds_provider_get(p, &c, &err), 0);
    aws_creds_free(&c);
    aws_creds_provider_free(p);
    unlink(tmpfile_path);

    /* An error path too: the broken profile's message must not echo the secret. */
    write_tmp("[default]\naws_secret_access_key=S3CR3T-FILE-VALUE\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmpfile_path, 1);
    assert_int_equal(aws_creds_resolve(&cfg, &c, &err), BT_ECONFIG);
    unlink(tmpfile_path);
    fflush(mem);
    log_set_stream(NULL);
    fclose(mem);

    assert_non_null(strstr(logtext, "aws credentials loaded")); /* something was logged */
    assert_non_null(strstr(logtext, "AKIA"));
    assert_null(strstr(logtext, "S3CR3T"));
    assert_null(strstr(logtext, "T0KEN"));
    assert_null(strstr(logtext, "AKIAFILEKEY")); /* only a prefix of the key id */
    assert_null(strstr(err.msg, "S3CR3T"));
    free(logtext);
}

static void test_region_endpoint(void **state) {
    (void)state;
    const char *r;
    struct bt_err err = BT_ERR_INIT;
    struct buf ep = BUF_INIT;
    assert_int_equal(aws_region(&cfg, &r, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "AWS_REGION"));
    setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
    assert_int_equal(aws_region(&cfg, &r, &err), 0);
    assert_string_equal(r, "eu-west-2");
    setenv("AWS_REGION", "us-west-1", 1);
    assert_int_equal(aws_region(&cfg, &r, &err), 0);
    assert_string_equal(r, "us-west-1");

    assert_int_equal(aws_endpoint(&cfg, "s3", r, &ep, &err), 0);
    assert_string_equal(ep.p, "https://s3.us-west-1.amazonaws.com");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/", 1);
    assert_int_equal(aws_endpoint(&cfg, "s3", r, &ep, &err), 0);
    assert_string_equal(ep.p, "http://127.0.0.1:9");
    setenv("AWS_ENDPOINT_URL_S3", "http://s3.local:8000/base/", 1);
    assert_int_equal(aws_endpoint(&cfg, "s3", r, &ep, &err), 0);
    assert_string_equal(ep.p, "http://s3.local:8000/base");
    assert_int_equal(aws_endpoint(&cfg, "batch", r, &ep, &err), 0);
    assert_string_equal(ep.p, "http://127.0.0.1:9");
    setenv("AWS_ENDPOINT_URL_S3", "ftp://x", 1);
    assert_int_equal(aws_endpoint(&cfg, "s3", r, &ep, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "AWS_ENDPOINT_URL_S3"));

    struct aws_url u;
    assert_int_equal(aws_url_parse("https://h.example:443/p/q/", &u, &err), 0);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "h.example:443");
    assert_string_equal(u.path, "/p/q");
    buf_free(&ep);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_env, clean_env),
        cmocka_unit_test_setup(test_file_profiles, clean_env),
        cmocka_unit_test_setup(test_iso8601, clean_env),
        cmocka_unit_test_setup(test_container_relative, clean_env),
        cmocka_unit_test_setup(test_container_full_uri_token_file, clean_env),
        cmocka_unit_test_setup(test_imds, clean_env),
        cmocka_unit_test_setup(test_chain_order, clean_env),
        cmocka_unit_test_setup(test_refresh_before_expiry, clean_env),
        cmocka_unit_test_setup(test_secrets_not_logged, clean_env),
        cmocka_unit_test_setup(test_region_endpoint, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
