/* aws_config.h -- where AWS requests go: region and service endpoints.
 *
 * Names follow the AWS SDKs so the same environment drives the CLI, boto3
 * and us: AWS_REGION (else AWS_DEFAULT_REGION); AWS_ENDPOINT_URL_<SERVICE>
 * (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_BATCH) over AWS_ENDPOINT_URL over
 * the public https://<service>.<region>.amazonaws.com. */
#ifndef BTPIPE_AWS_CONFIG_H
#define BTPIPE_AWS_CONFIG_H

#include "buf.h"
#include "err.h"
#include "http_client.h"

struct config;
struct aws_creds_provider;

/* An endpoint split for request building and signing. */
struct aws_url {
    char scheme[8]; /* "http" or "https" */
    char host[256]; /* host[:port], what goes into the Host header */
    char path[512]; /* base path without trailing '/', often "" */
};

/* BT_ECONFIG naming AWS_REGION when neither variable is set. */
int aws_region(const struct config *cfg, const char **out, struct bt_err *err);
/* Endpoint URL for a service ("s3", "batch") into out, no trailing '/'. */
int aws_endpoint(const struct config *cfg, const char *service, const char *region, struct buf *out,
                 struct bt_err *err);
/* Splits scheme://host[:port][/path]; BT_ECONFIG naming the URL when malformed. */
int aws_url_parse(const char *url, struct aws_url *out, struct bt_err *err);

/* What every AWS service client (S3, Batch) holds: where requests go, how
 * they are retried and whose credentials sign them. */
struct aws_client_base {
    char region[64];
    struct aws_url ep;
    struct http_retry_policy pol;
    struct aws_creds_provider *creds;
    int own_creds; /* made by aws_client_base_init: freed by aws_client_base_free */
    int last_attempts;
};

/* Region, the endpoint of service ("s3", "batch") and the retry policy from
 * cfg; creds NULL: a provider from cfg, owned by b. On error b holds what
 * was set (aws_client_base_free releases it). */
int aws_client_base_init(struct aws_client_base *b, const struct config *cfg, const char *service,
                         struct aws_creds_provider *creds, struct bt_err *err);
void aws_client_base_free(struct aws_client_base *b);

#endif
