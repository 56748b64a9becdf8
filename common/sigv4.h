/* sigv4.h -- AWS Signature Version 4 (Authorization-header signing).
 *
 * Pure functions over a request description: no I/O, no clock (the caller
 * passes the time), so every step is tested byte for byte against the
 * published suite (tests/aws/test_sigv4.c). The signer returns the canonical
 * URI and query it signed; the HTTP layer must send exactly those, which is
 * why paths and query parameters come in raw (not percent-encoded) and the
 * signer does the one encoding. S3 wants the path encoded once and not
 * normalized (keys may contain "//" or ".."); other services normalize. */
#ifndef BTPIPE_SIGV4_H
#define BTPIPE_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

struct sigv4_header {
    const char *name;  /* any case; lower-cased for signing */
    const char *value; /* trimmed and inner spaces collapsed for signing */
};

struct sigv4_param {
    const char *key;   /* raw bytes, encoded by the signer */
    const char *value; /* raw bytes; "" for "?a" or "?a=" */
};

struct sigv4_request {
    const char *method;
    const char *path; /* raw path, starting with '/' */
    const struct sigv4_param *query;
    size_t nquery;
    const struct sigv4_header *headers; /* must include Host */
    size_t nheaders;
    const void *body; /* hashed unless payload_hash is given */
    size_t body_len;
    /* Hex SHA-256 of the body or SIGV4_UNSIGNED_PAYLOAD; NULL = hash body. */
    const char *payload_hash;
};

struct sigv4_params {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL or "" for long-term keys */
    const char *region;
    const char *service;
    time_t now;
    int normalize_path;     /* RFC 3986 dot-segment removal; 0 for S3 */
    int add_content_sha256; /* sign x-amz-content-sha256 (S3 requires it) */
    /* Sign without the token and send it unsigned afterwards (an STS quirk
     * some services expect; the suite tests it). */
    int omit_session_token;
};

/* The signed request: headers to add and what was signed (for tests and
 * for debugging a SignatureDoesNotMatch, never for logs: no secret here,
 * but the token appears in canonical_request). */
struct sigv4_result {
    char amz_date[17];     /* YYYYMMDDTHHMMSSZ -> X-Amz-Date */
    char payload_hash[65]; /* -> x-amz-content-sha256 when asked */
    char signature[65];
    struct buf canonical_uri;   /* path to put on the wire */
    struct buf canonical_query; /* query string to put on the wire */
    struct buf canonical_request;
    struct buf string_to_sign;
    struct buf authorization; /* -> Authorization */
};

void sigv4_result_init(struct sigv4_result *r);
void sigv4_result_free(struct sigv4_result *r);

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
               struct sigv4_result *out, struct bt_err *err);

/* RFC 3986 percent-encoding of everything but unreserved characters;
 * keep_slash leaves '/' alone (paths). */
void sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash);
/* Dot-segment removal and empty-segment collapse for normalize_path. */
void sigv4_normalize_path(struct buf *out, const char *path);
/* Lower-case hex of n bytes into out[2n+1], NUL-terminated (also msg.c's
 * ids, so that btpipe has one hex encoder). */
void sigv4_hex(const void *in, size_t n, char *out);
/* Lower-case hex SHA-256 of data into hex[65]. */
void sigv4_sha256_hex(const void *data, size_t n, char hex[65]);
/* YYYYMMDDTHHMMSSZ for t (UTC). */
void sigv4_amz_date(time_t t, char out[17]);

#endif
