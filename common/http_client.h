/* http_client.h -- libcurl wrapper with the AWS retry rules.
 *
 * One attempt is http_perform(). http_send() runs attempts under a retry
 * policy: 5xx, throttling (429, 503 SlowDown, ThrottlingException and its
 * cousins) and connection errors are retried with exponential backoff and
 * full jitter, any other 4xx is returned at once. The request is rebuilt by
 * a callback before every attempt because a SigV4 signature carries the
 * time and may use credentials that were refreshed in between. A streamed
 * body that has already reached the sink is never retried (the sink cannot
 * take the bytes back). */
#ifndef BTPIPE_HTTP_CLIENT_H
#define BTPIPE_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct config;

/* Receives a 2xx body in pieces; non-zero aborts the transfer. */
typedef int (*http_sink_fn)(const void *data, size_t n, void *ud);

struct http_request {
    char method[8];
    struct buf url;
    struct buf headers; /* "Name: value\n" lines */
    const void *body;   /* not owned; NULL for none */
    size_t body_len;
    http_sink_fn sink; /* NULL: the body is collected in the response */
    void *sink_ud;
    long timeout_ms; /* whole transfer; 0: none (a stall limit still applies) */
};

struct http_response {
    long status;         /* 0 when no response arrived */
    struct buf body;     /* collected body (always for non-2xx, for errors) */
    struct buf headers;  /* raw header lines of the final response */
    uint64_t sink_bytes; /* bytes handed to the sink */
};

struct http_retry_policy {
    int max_attempts; /* >= 1 */
    long base_ms;     /* first backoff cap */
    long cap_ms;      /* largest backoff */
    long timeout_ms;  /* default per-request timeout for callers that want one */
};

void http_request_init(struct http_request *r);
void http_request_free(struct http_request *r);
void http_request_reset(struct http_request *r);
void http_request_header(struct http_request *r, const char *name, const char *value);
void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);
void http_response_reset(struct http_response *r);
/* Value of a response header (case-insensitive) into out; NULL when absent. */
const char *http_response_header(const struct http_response *r, const char *name, struct buf *out);

/* Reads BTPIPE_AWS_MAX_ATTEMPTS (default 5), BTPIPE_AWS_RETRY_BASE_MS (100),
 * BTPIPE_AWS_RETRY_MAX_MS (20000), BTPIPE_AWS_TIMEOUT_MS (60000). */
int http_retry_policy_from_config(const struct config *cfg, struct http_retry_policy *p,
                                  struct bt_err *err);

/* One attempt. 0 with resp->status set when a response arrived (any
 * status); BT_ENET when the connection failed; BT_EIO when the sink aborted. */
int http_perform(const struct http_request *req, struct http_response *resp, struct bt_err *err);

/* Fills req for the given attempt (1-based); non-zero stops the loop. */
typedef int (*http_build_fn)(void *ud, int attempt, struct http_request *req, struct bt_err *err);

/* Attempts until a final answer or the policy runs out. Returns 0 with the
 * last response in resp (whatever its status: the caller turns non-2xx into
 * its own error), BT_ENET when no response ever came. *attempts (may be
 * NULL) says how many were made. */
int http_send(const struct http_retry_policy *pol, http_build_fn build, void *ud,
              struct http_response *resp, int *attempts, struct bt_err *err);

/* Pure retry rules, exposed for tests. conn_failed: no response arrived. */
int http_is_throttle(long status, const char *body, const char *error_type);
int http_retryable(int conn_failed, long status, const char *body, const char *error_type);
/* Full jitter: a value in [0, min(cap, base * 2^(attempt-1))] from rnd. */
long http_backoff_ms(int attempt, long base_ms, long cap_ms, uint64_t rnd);

#endif
