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

struct config;

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

#endif
