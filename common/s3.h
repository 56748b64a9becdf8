/* s3.h -- a small S3 client: ListObjectsV2, GetObject, PutObject, HeadObject.
 *
 * Requests are signed with SigV4 (sigv4.h) using credentials from the chain
 * in aws_creds.h. Endpoint: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else
 * https://s3.<region>.amazonaws.com. Path-style addressing when
 * BTPIPE_S3_PATH_STYLE=1 (needed for most local endpoints), virtual-hosted
 * otherwise. 5xx, throttling and connection errors are retried with
 * exponential backoff and full jitter; other 4xx are not. Errors name the
 * bucket, key, HTTP status and the AWS error code. */
#ifndef BTPIPE_S3_H
#define BTPIPE_S3_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct config;
struct s3_client;
struct aws_creds_provider;

struct s3_object_info {
    char *key;
    char *etag; /* without quotes */
    int64_t size;
    int64_t last_modified_ms;
    char *version_id; /* NULL unless the bucket is versioned */
};

struct s3_listing {
    struct s3_object_info *items;
    size_t n;
};

/* Builds a client from configuration (region, endpoint, addressing, retries). */
int s3_client_new(const struct config *cfg, struct s3_client **out, struct bt_err *err);
void s3_client_free(struct s3_client *c);

/* Every object under prefix, following continuation tokens. */
int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
                    struct s3_listing *out, struct bt_err *err);
void s3_listing_free(struct s3_listing *l);

/* Streams the body to sink (return non-zero from sink to abort). */
typedef int (*s3_sink_fn)(const void *data, size_t n, void *ud);
int s3_get_object(struct s3_client *c, const char *bucket, const char *key, s3_sink_fn sink,
                  void *ud, struct bt_err *err);
/* Convenience: whole body into a buffer. */
int s3_get_object_buf(struct s3_client *c, const char *bucket, const char *key, struct buf *out,
                      struct bt_err *err);
int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *data,
                  size_t n, const char *content_type, struct bt_err *err);
/* BT_ENOTFOUND when absent. */
int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
                   struct s3_object_info *out, struct bt_err *err);
int s3_create_bucket(struct s3_client *c, const char *bucket, struct bt_err *err);
void s3_object_info_free(struct s3_object_info *o);

/* ---- extensions (AWS side owner) ---- */

/* Like s3_client_new but signing with a given provider (borrowed: it must
 * outlive the client). Tests use it to sign with a wrong secret. */
int s3_client_new_with_creds(const struct config *cfg, struct aws_creds_provider *creds,
                             struct s3_client **out, struct bt_err *err);
/* Attempts the last request took (tests assert the retry policy). */
int s3_client_last_attempts(const struct s3_client *c);

/* One ListObjectsV2 page as parsed from the response XML. */
struct s3_list_page {
    struct s3_listing items;
    int truncated;
    char *next_token; /* NextContinuationToken, NULL when none */
};
void s3_list_page_free(struct s3_list_page *p);
/* Parses a ListBucketResult document (no network; the fuzzer calls it).
 * BT_EINPUT on malformed XML, BT_ELIMIT past the size bounds. */
int s3_parse_list_xml(const char *xml, size_t len, struct s3_list_page *out, struct bt_err *err);
/* Code and Message from an S3 <Error> document; empty strings when absent. */
void s3_parse_error_xml(const char *xml, size_t len, char *code, size_t code_cap, char *msg,
                        size_t msg_cap);

/* The request line and Host for an object: path-style or virtual-hosted,
 * the key URI-encoded once ('/' kept). Pure, for tests. */
void s3_object_location(const struct s3_client *c, const char *bucket, const char *key,
                        struct buf *host, struct buf *raw_path);

#endif
