/* s3.c -- the S3 operations over http_client, signed per attempt. */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_config.h"
#include "aws_creds.h"
#include "config.h"
#include "http_client.h"
#include "sigv4.h"

struct s3_client {
    struct aws_client_base aws;
    int path_style;
    int unsigned_payload; /* sign PUT bodies as UNSIGNED-PAYLOAD (saves a hash) */
    long max_keys;        /* 0: the server's default page size */
};

static int client_new(const struct config *cfg, struct aws_creds_provider *creds,
                      struct s3_client **out, struct bt_err *err) {
    struct s3_client *c = calloc(1, sizeof(*c));
    long v;
    if (!c) abort();
    int rc = aws_client_base_init(&c->aws, cfg, "s3", creds, err);
    if (rc) goto fail;
    if ((rc = config_bool(cfg, "BTPIPE_S3_PATH_STYLE", 0, &c->path_style, err))) goto fail;
    if ((rc = config_bool(cfg, "BTPIPE_S3_UNSIGNED_PAYLOAD", 0, &c->unsigned_payload, err)))
        goto fail;
    if ((rc = config_int(cfg, "BTPIPE_S3_LIST_MAX_KEYS", 0, 0, 1000, &v, err))) goto fail;
    c->max_keys = v;
    *out = c;
    c = NULL;
fail:
    s3_client_free(c);
    return rc;
}

int s3_client_new(const struct config *cfg, struct s3_client **out, struct bt_err *err) {
    return client_new(cfg, NULL, out, err);
}

int s3_client_new_with_creds(const struct config *cfg, struct aws_creds_provider *creds,
                             struct s3_client **out, struct bt_err *err) {
    return client_new(cfg, creds, out, err);
}

void s3_client_free(struct s3_client *c) {
    if (!c) return;
    aws_client_base_free(&c->aws);
    free(c);
}

int s3_client_last_attempts(const struct s3_client *c) {
    return c->aws.last_attempts;
}

void s3_listing_free(struct s3_listing *l) {
    for (size_t i = 0; i < l->n; i++)
        s3_object_info_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void s3_object_info_free(struct s3_object_info *o) {
    free(o->key);
    free(o->etag);
    free(o->version_id);
    memset(o, 0, sizeof(*o));
}

void s3_object_location(const struct s3_client *c, const char *bucket, const char *key,
                        struct buf *host, struct buf *raw_path) {
    buf_reset(host);
    buf_reset(raw_path);
    if (c->path_style) {
        buf_puts(host, c->aws.ep.host);
        buf_printf(raw_path, "%s/%s", c->aws.ep.path, bucket);
        if (key) buf_printf(raw_path, "/%s", key);
    } else {
        buf_printf(host, "%s.%s", bucket, c->aws.ep.host);
        buf_printf(raw_path, "%s/%s", c->aws.ep.path, key ? key : "");
    }
}

/* Everything one S3 call needs to (re)build its request each attempt. */
struct s3_call {
    struct s3_client *c;
    const char *op; /* "GetObject", for errors */
    const char *method;
    const char *bucket, *key;
    const struct sigv4_param *query;
    size_t nquery;
    const void *body;
    size_t body_len;
    const char *content_type;
    s3_sink_fn sink;
    void *sink_ud;
    char body_hash[65];
};

static int s3_build(void *ud, int attempt, struct http_request *req, struct bt_err *err) {
    (void)attempt;
    struct s3_call *k = ud;
    struct buf host = BUF_INIT, path = BUF_INIT;
    struct aws_creds cr;
    struct sigv4_result res;
    int rc;
    memset(&cr, 0, sizeof(cr));
    sigv4_result_init(&res);
    if ((rc = aws_creds_provider_get(k->c->aws.creds, &cr, err))) goto fail;
    s3_object_location(k->c, k->bucket, k->key, &host, &path);

    struct sigv4_header hdrs[2] = {{"Host", host.p}, {"Content-Type", k->content_type}};
    struct sigv4_request sr = {.method = k->method,
                               .path = path.p,
                               .query = k->query,
                               .nquery = k->nquery,
                               .headers = hdrs,
                               .nheaders = k->content_type ? 2 : 1,
                               .payload_hash = k->body_hash};
    struct sigv4_params sp = {.access_key = cr.access_key_id,
                              .secret_key = cr.secret_access_key,
                              .session_token = cr.session_token,
                              .region = k->c->aws.region,
                              .service = "s3",
                              .now = time(NULL),
                              .normalize_path = 0,
                              .add_content_sha256 = 1};
    if ((rc = sigv4_sign(&sr, &sp, &res, err))) goto fail;

    snprintf(req->method, sizeof(req->method), "%s", k->method);
    buf_printf(&req->url, "%s://%s%s", k->c->aws.ep.scheme, host.p, res.canonical_uri.p);
    if (res.canonical_query.len) buf_printf(&req->url, "?%s", res.canonical_query.p);
    http_request_header(req, "Host", host.p);
    http_request_header(req, "X-Amz-Date", res.amz_date);
    http_request_header(req, "X-Amz-Content-Sha256", res.payload_hash);
    if (cr.session_token) http_request_header(req, "X-Amz-Security-Token", cr.session_token);
    if (k->content_type) http_request_header(req, "Content-Type", k->content_type);
    http_request_header(req, "Authorization", res.authorization.p);
    req->body = k->body;
    req->body_len = k->body_len;
    req->sink = k->sink;
    req->sink_ud = k->sink_ud;
    req->timeout_ms = k->sink ? 0 : k->c->aws.pol.timeout_ms;
fail:
    aws_creds_free(&cr);
    sigv4_result_free(&res);
    buf_free(&host);
    buf_free(&path);
    return rc;
}

/* Maps a non-2xx answer to our error: code from the status, text naming
 * the operation, the object, the status and S3's own error code. */
static int s3_http_error(const struct s3_call *k, const struct http_response *resp,
                         struct bt_err *err) {
    char code[128], msg[256], where[256];
    s3_parse_error_xml(resp->body.p, resp->body.len, code, sizeof(code), msg, sizeof(msg));
    if (!code[0]) /* HEAD answers carry no body */
        snprintf(code, sizeof(code), "%s",
                 resp->status == 404   ? "NotFound"
                 : resp->status == 403 ? "Forbidden"
                                       : "Error");
    snprintf(where, sizeof(where), "s3://%s/%s", k->bucket, k->key ? k->key : "");
    int bc = resp->status == 404                          ? BT_ENOTFOUND
             : resp->status == 401 || resp->status == 403 ? BT_EAUTH
             : resp->status >= 500 || resp->status == 429 ||
                     http_is_throttle(resp->status, resp->body.p, NULL)
                 ? BT_ENET
                 : BT_EINPUT;
    return bt_err_set(err, bc, where, "s3 %s %s: HTTP %ld %s%s%s", k->op, where, resp->status, code,
                      msg[0] ? ": " : "", msg);
}

/* Runs a call; 0 on 2xx with the response in resp. */
static int s3_run(struct s3_call *k, struct http_response *resp, struct bt_err *err) {
    if (k->c->unsigned_payload && k->body)
        snprintf(k->body_hash, sizeof(k->body_hash), "%s", SIGV4_UNSIGNED_PAYLOAD);
    else
        sigv4_sha256_hex(k->body, k->body_len, k->body_hash);
    int rc = http_send(&k->c->aws.pol, s3_build, k, resp, &k->c->aws.last_attempts, err);
    if (rc) {
        char where[256];
        snprintf(where, sizeof(where), "s3://%s/%s", k->bucket, k->key ? k->key : "");
        bt_err_prefix(err, "s3 %s %s: ", k->op, where);
        snprintf(err->where, sizeof(err->where), "%s", where);
        return rc;
    }
    if (resp->status < 200 || resp->status >= 300) return s3_http_error(k, resp, err);
    return 0;
}

/* s3_run for calls whose answer is only success or error (a GET's body
 * goes to its sink). */
static int s3_run_only(struct s3_call *k, struct bt_err *err) {
    struct http_response resp;
    http_response_init(&resp);
    int rc = s3_run(k, &resp, err);
    http_response_free(&resp);
    return rc;
}

int s3_get_object(struct s3_client *c, const char *bucket, const char *key, s3_sink_fn sink,
                  void *ud, struct bt_err *err) {
    struct s3_call k = {.c = c,
                        .op = "GetObject",
                        .method = "GET",
                        .bucket = bucket,
                        .key = key,
                        .sink = sink,
                        .sink_ud = ud};
    return s3_run_only(&k, err);
}

/* Appends streamed bytes to the caller's buffer. */
static int buf_sink(const void *data, size_t n, void *ud) {
    buf_append(ud, data, n);
    return 0;
}

int s3_get_object_buf(struct s3_client *c, const char *bucket, const char *key, struct buf *out,
                      struct bt_err *err) {
    return s3_get_object(c, bucket, key, buf_sink, out, err);
}

int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *data,
                  size_t n, const char *content_type, struct bt_err *err) {
    struct s3_call k = {.c = c,
                        .op = "PutObject",
                        .method = "PUT",
                        .bucket = bucket,
                        .key = key,
                        .body = data ? data : "",
                        .body_len = n,
                        .content_type = content_type ? content_type : "application/octet-stream"};
    return s3_run_only(&k, err);
}

/* "Wed, 12 Oct 2009 17:50:00 GMT" to unix milliseconds; 0 when unreadable. */
static int64_t http_date_ms(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!s || !strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) return 0;
    return (int64_t)timegm(&tm) * 1000;
}

int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
                   struct s3_object_info *out, struct bt_err *err) {
    struct http_response resp;
    struct buf v = BUF_INIT;
    http_response_init(&resp);
    memset(out, 0, sizeof(*out));
    struct s3_call k = {.c = c, .op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key};
    int rc = s3_run(&k, &resp, err);
    if (rc) goto fail;
    out->key = strdup(key);
    const char *et = http_response_header(&resp, "ETag", &v);
    if (et) {
        size_t n = strlen(et);
        out->etag = n >= 2 && et[0] == '"' ? strndup(et + 1, n - 2) : strdup(et);
    }
    const char *cl = http_response_header(&resp, "Content-Length", &v);
    out->size = cl ? strtoll(cl, NULL, 10) : 0;
    out->last_modified_ms = http_date_ms(http_response_header(&resp, "Last-Modified", &v));
    const char *ver = http_response_header(&resp, "x-amz-version-id", &v);
    if (ver && strcmp(ver, "null") != 0) out->version_id = strdup(ver);
fail:
    buf_free(&v);
    http_response_free(&resp);
    return rc;
}

int s3_create_bucket(struct s3_client *c, const char *bucket, struct bt_err *err) {
    struct http_response resp;
    struct buf body = BUF_INIT;
    http_response_init(&resp);
    /* us-east-1 is the one region that refuses an explicit constraint. */
    if (strcmp(c->aws.region, "us-east-1") != 0)
        buf_printf(&body,
                   "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                   "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
                   c->aws.region);
    struct s3_call k = {.c = c,
                        .op = "CreateBucket",
                        .method = "PUT",
                        .bucket = bucket,
                        .key = NULL,
                        .body = buf_cstr(&body),
                        .body_len = body.len};
    int rc = s3_run(&k, &resp, err);
    /* Creating what we already own is what a restart does: not an error. */
    if (rc && resp.status == 409 && strstr(buf_cstr(&resp.body), "BucketAlreadyOwnedByYou")) {
        bt_err_clear(err);
        rc = 0;
    }
    buf_free(&body);
    http_response_free(&resp);
    return rc;
}

int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
                    struct s3_listing *out, struct bt_err *err) {
    int rc = 0;
    size_t cap = 0;
    char *token = NULL;
    char maxk[24];
    struct http_response resp;
    http_response_init(&resp);
    memset(out, 0, sizeof(*out));
    snprintf(maxk, sizeof(maxk), "%ld", c->max_keys);

    for (int page_no = 1;; page_no++) {
        struct sigv4_param q[4];
        size_t nq = 0;
        q[nq++] = (struct sigv4_param){"list-type", "2"};
        if (prefix && *prefix) q[nq++] = (struct sigv4_param){"prefix", prefix};
        if (token) q[nq++] = (struct sigv4_param){"continuation-token", token};
        if (c->max_keys > 0) q[nq++] = (struct sigv4_param){"max-keys", maxk};
        struct s3_call k = {.c = c,
                            .op = "ListObjectsV2",
                            .method = "GET",
                            .bucket = bucket,
                            .key = NULL,
                            .query = q,
                            .nquery = nq};
        if ((rc = s3_run(&k, &resp, err))) {
            if (rc != BT_ENOTFOUND || !strstr(err->msg, "NoSuchBucket"))
                snprintf(err->where, sizeof(err->where), "s3://%s/%s", bucket,
                         prefix ? prefix : "");
            goto fail;
        }
        struct s3_list_page page;
        if ((rc = s3_parse_list_xml(resp.body.p, resp.body.len, &page, err))) {
            bt_err_prefix(err, "s3 ListObjectsV2 s3://%s/%s page %d: ", bucket,
                          prefix ? prefix : "", page_no);
            goto fail;
        }
        if (out->n + page.items.n > cap) {
            cap = (out->n + page.items.n) * 2;
            out->items = realloc(out->items, cap * sizeof(*out->items));
            if (!out->items) abort();
        }
        if (page.items.n) /* an empty page may carry a NULL array */
            memcpy(out->items + out->n, page.items.items, page.items.n * sizeof(*out->items));
        out->n += page.items.n;
        free(page.items.items);
        /* A server that hands back the token we sent would loop us forever. */
        if (page.truncated && token && strcmp(token, page.next_token) == 0) {
            free(page.next_token);
            rc = bt_err_set(err, BT_EINPUT, NULL,
                            "s3 ListObjectsV2 s3://%s/%s page %d: the same continuation token "
                            "came back",
                            bucket, prefix ? prefix : "", page_no);
            goto fail;
        }
        free(token);
        token = page.next_token;
        if (!page.truncated) break;
    }
fail:
    if (rc) s3_listing_free(out);
    free(token);
    http_response_free(&resp);
    return rc;
}
