/* aws_creds.h -- AWS credentials: the SDKs' default chain, cached.
 *
 * Order: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN); shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
 * default ~/.aws/credentials, profile AWS_PROFILE, default "default");
 * container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on
 * http://169.254.170.2, or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 * AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]) -- what Batch and ECS jobs get;
 * EC2 instance metadata, IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * AWS_EC2_METADATA_DISABLED=true turns it off). Temporary credentials are
 * fetched again five minutes before they expire.
 *
 * Secrets never reach the log or an error message: only the source and the
 * access key id's first four characters are ever printed. */
#ifndef BTPIPE_AWS_CREDS_H
#define BTPIPE_AWS_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;

/* Refresh this long before Expiration, so no request is signed with
 * credentials that die in flight. */
#define AWS_CREDS_REFRESH_MARGIN_S 300

struct aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    int64_t expires_at;  /* unix seconds; 0 = does not expire */
    char source[64];     /* "environment", "shared-file:<profile>", "container", "imds" */
};

void aws_creds_free(struct aws_creds *c);
void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);

/* Each source: 0 and *out filled, BT_ENOTFOUND when it does not apply here
 * (the chain moves on), anything else is a real error (the chain stops:
 * a broken credentials file should not silently fall through to IMDS). */
int aws_creds_from_env(const struct config *cfg, struct aws_creds *out, struct bt_err *err);
int aws_creds_from_file(const struct config *cfg, struct aws_creds *out, struct bt_err *err);
int aws_creds_from_container(const struct config *cfg, struct aws_creds *out, struct bt_err *err);
int aws_creds_from_imds(const struct config *cfg, struct aws_creds *out, struct bt_err *err);
/* The chain in order. */
int aws_creds_resolve(const struct config *cfg, struct aws_creds *out, struct bt_err *err);

/* Pure parsers, exposed for tests and fuzzing. The INI parser accepts
 * "[name]" and "[profile name]"; origin names the text in errors. */
int aws_creds_parse_ini(const char *text, size_t len, const char *profile, const char *origin,
                        struct aws_creds *out, struct bt_err *err);
/* {"AccessKeyId","SecretAccessKey","Token","Expiration"} as served by the
 * container endpoint and IMDS. */
int aws_creds_parse_json(const char *text, size_t len, const char *origin, struct aws_creds *out,
                         struct bt_err *err);
/* "2026-11-29T15:00:00Z" (fractions and offsets allowed) to unix seconds. */
int aws_parse_iso8601(const char *s, int64_t *out);

/* A cached, thread-safe source of valid credentials. */
struct aws_creds_provider;
typedef int64_t (*aws_clock_fn)(void *ud);

/* The default chain over cfg (which must outlive the provider). */
int aws_creds_provider_new(const struct config *cfg, struct aws_creds_provider **out,
                           struct bt_err *err);
/* Fixed keys: tests, and callers that already hold credentials. */
struct aws_creds_provider *aws_creds_provider_static(const char *access_key_id,
                                                     const char *secret_access_key,
                                                     const char *session_token);
void aws_creds_provider_free(struct aws_creds_provider *p);
/* A copy of credentials valid for at least the refresh margin (or
 * non-expiring); the caller frees it with aws_creds_free. */
int aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds *out, struct bt_err *err);
/* Tests: replace the clock (unix seconds). */
void aws_creds_provider_set_clock(struct aws_creds_provider *p, aws_clock_fn fn, void *ud);
/* How many times the chain was walked (tests check refresh). */
int aws_creds_provider_fetches(struct aws_creds_provider *p);

#endif
