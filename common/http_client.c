/* http_client.c -- libcurl easy interface, one handle per attempt, plus the
 * retry loop. A handle per attempt keeps failure handling simple (no state
 * carried from a broken connection); the cost is a new connection per
 * request, which is small next to S3 object sizes. */
#include "http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe; run it once for the process. */
static void curl_init_once(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_request_init(struct http_request *r) {
    memset(r, 0, sizeof(*r));
    buf_init(&r->url);
    buf_init(&r->headers);
}

void http_request_free(struct http_request *r) {
    buf_free(&r->url);
    buf_free(&r->headers);
}

void http_request_reset(struct http_request *r) {
    r->method[0] = '\0';
    buf_reset(&r->url);
    buf_reset(&r->headers);
    r->body = NULL;
    r->body_len = 0;
    r->sink = NULL;
    r->sink_ud = NULL;
    r->timeout_ms = 0;
}

void http_request_header(struct http_request *r, const char *name, const char *value) {
    buf_printf(&r->headers, "%s: %s\n", name, value);
}

void http_response_init(struct http_response *r) {
    memset(r, 0, sizeof(*r));
    buf_init(&r->body);
    buf_init(&r->headers);
}

void http_response_free(struct http_response *r) {
    buf_free(&r->body);
    buf_free(&r->headers);
}

void http_response_reset(struct http_response *r) {
    r->status = 0;
    r->sink_bytes = 0;
    buf_reset(&r->body);
    buf_reset(&r->headers);
}

const char *http_response_header(const struct http_response *r, const char *name, struct buf *out) {
    const char *p = buf_cstr(&r->headers);
    size_t nl = strlen(name);
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            const char *ve = e;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            buf_reset(out);
            buf_append(out, v, (size_t)(ve - v));
            buf_puts(out, "");
            return out->p;
        }
        p = *e ? e + 1 : e;
    }
    return NULL;
}

int http_retry_policy_from_config(const struct config *cfg, struct http_retry_policy *p,
                                  struct bt_err *err) {
    long v;
    int rc;
    if ((rc = config_int(cfg, "BTPIPE_AWS_MAX_ATTEMPTS", 5, 1, 50, &v, err))) return rc;
    p->max_attempts = (int)v;
    if ((rc = config_int(cfg, "BTPIPE_AWS_RETRY_BASE_MS", 100, 0, 600000, &v, err))) return rc;
    p->base_ms = v;
    if ((rc = config_int(cfg, "BTPIPE_AWS_RETRY_MAX_MS", 20000, 0, 3600000, &v, err))) return rc;
    p->cap_ms = v;
    if ((rc = config_int(cfg, "BTPIPE_AWS_TIMEOUT_MS", 60000, 0, 86400000, &v, err))) return rc;
    p->timeout_ms = v;
    return 0;
}

int http_is_throttle(long status, const char *body, const char *error_type) {
    static const char *const codes[] = {"Throttling",
                                        "ThrottlingException",
                                        "ThrottledException",
                                        "RequestThrottled",
                                        "TooManyRequestsException",
                                        "RequestLimitExceeded",
                                        "SlowDown",
                                        "ProvisionedThroughputExceededException",
                                        "RequestThrottledException",
                                        "BandwidthLimitExceeded"};
    if (status == 429) return 1;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (error_type && strncmp(error_type, codes[i], strlen(codes[i])) == 0) return 1;
        /* S3 says <Code>SlowDown</Code>; JSON services "__type":"...#Throttling...". */
        if (body) {
            char xml[64], json[64];
            snprintf(xml, sizeof(xml), "<Code>%s</Code>", codes[i]);
            snprintf(json, sizeof(json), "%s\"", codes[i]);
            if (strstr(body, xml) || (strstr(body, "__type") && strstr(body, json))) return 1;
        }
    }
    return 0;
}

int http_retryable(int conn_failed, long status, const char *body, const char *error_type) {
    if (conn_failed) return 1;
    if (status >= 500) return 1;
    if (status >= 400) return http_is_throttle(status, body, error_type);
    return 0;
}

long http_backoff_ms(int attempt, long base_ms, long cap_ms, uint64_t rnd) {
    if (attempt < 1) attempt = 1;
    long ceil = base_ms;
    for (int i = 1; i < attempt && ceil < cap_ms; i++)
        ceil *= 2;
    if (ceil > cap_ms) ceil = cap_ms;
    if (ceil <= 0) return 0;
    return (long)(rnd % (uint64_t)(ceil + 1));
}

/* Shared state of one transfer, seen by the curl callbacks. */
struct xfer {
    const struct http_request *req;
    struct http_response *resp;
    CURL *h;
    int sink_failed;
};

/* Body bytes: 2xx to the sink when there is one, anything else collected. */
static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    struct xfer *x = ud;
    size_t len = sz * n;
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (x->req->sink && code >= 200 && code < 300) {
        if (x->req->sink(p, len, x->req->sink_ud) != 0) {
            x->sink_failed = 1;
            return 0;
        }
        x->resp->sink_bytes += len;
        return len;
    }
    buf_append(&x->resp->body, p, len);
    return len;
}

/* Header lines; a new status line (after 100 Continue) starts over. */
static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    struct xfer *x = ud;
    size_t len = sz * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) buf_reset(&x->resp->headers);
    buf_append(&x->resp->headers, p, len);
    return len;
}

int http_perform(const struct http_request *req, struct http_response *resp, struct bt_err *err) {
    int rc = 0;
    struct curl_slist *hl = NULL;
    struct xfer x = {req, resp, NULL, 0};
    pthread_once(&curl_once, curl_init_once);
    http_response_reset(resp);

    x.h = curl_easy_init();
    if (!x.h) {
        rc = bt_err_set(err, BT_EINTERNAL, NULL, "curl_easy_init failed");
        goto fail;
    }
    const char *line = buf_cstr(&req->headers);
    while (*line) {
        const char *e = strchr(line, '\n');
        size_t n = e ? (size_t)(e - line) : strlen(line);
        char *one = strndup(line, n);
        hl = curl_slist_append(hl, one);
        free(one);
        line += n + (e ? 1 : 0);
    }
    /* No "Expect: 100-continue" round trip: our bodies are in memory. */
    hl = curl_slist_append(hl, "Expect:");

    curl_easy_setopt(x.h, CURLOPT_URL, buf_cstr(&req->url));
    curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* A stalled transfer (under 1 byte/s for 60 s) is a connection error. */
    curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_TIME, 60L);
    if (req->timeout_ms > 0) curl_easy_setopt(x.h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    /* Proxies from the environment would reroute 127.0.0.1 and IMDS. */
    curl_easy_setopt(x.h, CURLOPT_NOPROXY, "127.0.0.1,localhost,169.254.169.254,169.254.170.2");

    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(x.h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(x.h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, req->method);
    }

    CURLcode cc = curl_easy_perform(x.h);
    curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &resp->status);
    buf_puts(&resp->body, "");
    if (x.sink_failed) {
        rc = bt_err_set(err, BT_EIO, NULL, "%s %s: the receiver stopped the transfer", req->method,
                        buf_cstr(&req->url));
        goto fail;
    }
    if (cc != CURLE_OK) {
        rc = bt_err_set(err, BT_ENET, NULL, "%s %s: %s", req->method, buf_cstr(&req->url),
                        curl_easy_strerror(cc));
        goto fail;
    }
fail:
    curl_slist_free_all(hl);
    if (x.h) curl_easy_cleanup(x.h);
    return rc;
}

/* Sleeps ms milliseconds, resuming after signals. */
static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static uint64_t rand64(void) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)time(NULL) * 6364136223846793005ULL;
    return r;
}

int http_send(const struct http_retry_policy *pol, http_build_fn build, void *ud,
              struct http_response *resp, int *attempts, struct bt_err *errp) {
    int rc = 0, attempt = 0;
    struct bt_err e = BT_ERR_INIT, *err = &e;
    struct http_request req;
    struct buf etype = BUF_INIT;
    http_request_init(&req);
    int max = pol && pol->max_attempts > 0 ? pol->max_attempts : 1;

    for (;;) {
        attempt++;
        http_request_reset(&req);
        if ((rc = build(ud, attempt, &req, err)) != 0) break;
        rc = http_perform(&req, resp, err);
        if (rc == BT_EIO) break;
        int conn_failed = rc == BT_ENET;
        /* Bytes already in the sink cannot be taken back: no retry. */
        if (resp->sink_bytes > 0) break;
        const char *et = http_response_header(resp, "x-amzn-ErrorType", &etype);
        if (!http_retryable(conn_failed, resp->status, buf_cstr(&resp->body), et)) break;
        if (attempt >= max) break;
        long wait = http_backoff_ms(attempt, pol->base_ms, pol->cap_ms, rand64());
        char st[24], at[16], wt[24];
        snprintf(st, sizeof(st), "%ld", resp->status);
        snprintf(at, sizeof(at), "%d", attempt);
        snprintf(wt, sizeof(wt), "%ld", wait);
        /* The URL carries no secrets (we sign headers, never the query). */
        log_event(LOG_WARN, "http retry", "method", req.method, "url", buf_cstr(&req.url), "status",
                  st, "attempt", at, "backoff_ms", wt, "error", conn_failed ? err->msg : "", NULL);
        sleep_ms(wait);
    }
    if (rc == BT_ENET && attempt > 1) bt_err_prefix(err, "after %d attempts: ", attempt);
    if (attempts) *attempts = attempt;
    if (rc && errp) *errp = e;
    buf_free(&etype);
    http_request_free(&req);
    return rc;
}
