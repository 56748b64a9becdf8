/* aws_creds.c -- the credentials chain and its cache, see aws_creds.h. */
#include "aws_creds.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "config.h"
#include "http_client.h"
#include "log.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_HOST "http://169.254.169.254"

/* Overwrites a secret before its memory goes back to the allocator. */
static void free_secret(char *s) {
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void aws_creds_free(struct aws_creds *c) {
    if (!c) return;
    free(c->access_key_id);
    free_secret(c->secret_access_key);
    free_secret(c->session_token);
    memset(c, 0, sizeof(*c));
}

void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src) {
    memset(dst, 0, sizeof(*dst));
    dst->access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
    dst->secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
    dst->session_token = src->session_token ? strdup(src->session_token) : NULL;
    dst->expires_at = src->expires_at;
    memcpy(dst->source, src->source, sizeof(dst->source));
}

/* Fills out from three strings (the token may be NULL or ""). */
static void set_creds(struct aws_creds *out, const char *ak, const char *sk, const char *tok,
                      int64_t exp, const char *source) {
    memset(out, 0, sizeof(*out));
    out->access_key_id = strdup(ak);
    out->secret_access_key = strdup(sk);
    out->session_token = tok && *tok ? strdup(tok) : NULL;
    out->expires_at = exp;
    snprintf(out->source, sizeof(out->source), "%s", source);
}

int aws_creds_from_env(const struct config *cfg, struct aws_creds *out, struct bt_err *err) {
    const char *ak = config_get(cfg, "AWS_ACCESS_KEY_ID");
    const char *sk = config_get(cfg, "AWS_SECRET_ACCESS_KEY");
    if (!ak && !sk) return BT_ENOTFOUND;
    if (!ak || !sk)
        return bt_err_set(err, BT_ECONFIG, ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID",
                          "%s is set but %s is not: set both or neither",
                          ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    set_creds(out, ak, sk, config_get(cfg, "AWS_SESSION_TOKEN"), 0, "environment");
    return 0;
}

/* Trims spaces and tabs from both ends of [*s, *e). */
static void trim(const char **s, const char **e) {
    while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

int aws_creds_parse_ini(const char *text, size_t len, const char *profile, const char *origin,
                        struct aws_creds *out, struct bt_err *err) {
    int rc = 0, in_profile = 0, found = 0, line = 0;
    char *ak = NULL, *sk = NULL, *tok = NULL;
    const char *p = text, *end = text + len;
    char where[300];

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p, *e = le;
        line++;
        p = nl ? nl + 1 : end;
        trim(&s, &e);
        if (s == e || *s == '#' || *s == ';') continue;
        snprintf(where, sizeof(where), "%s:%d", origin, line);
        if (*s == '[') {
            if (e[-1] != ']') {
                rc = bt_err_set(err, BT_ECONFIG, where, "%s: section header without ']'", where);
                goto fail;
            }
            const char *ns = s + 1, *ne = e - 1;
            trim(&ns, &ne);
            if ((size_t)(ne - ns) > 8 && strncmp(ns, "profile ", 8) == 0) {
                ns += 8;
                trim(&ns, &ne);
            }
            in_profile = strlen(profile) == (size_t)(ne - ns) &&
                         strncmp(ns, profile, (size_t)(ne - ns)) == 0;
            found |= in_profile;
            continue;
        }
        if (!in_profile) continue;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq) {
            rc = bt_err_set(err, BT_ECONFIG, where, "%s: expected 'name = value'", where);
            goto fail;
        }
        const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        char **slot = NULL;
        size_t kl = (size_t)(ke - ks);
        if (kl == 17 && strncasecmp(ks, "aws_access_key_id", kl) == 0)
            slot = &ak;
        else if (kl == 21 && strncasecmp(ks, "aws_secret_access_key", kl) == 0)
            slot = &sk;
        else if (kl == 17 && strncasecmp(ks, "aws_session_token", kl) == 0)
            slot = &tok;
        if (slot) {
            free_secret(*slot);
            *slot = strndup(vs, (size_t)(ve - vs));
        }
    }
    if (!found) {
        rc = bt_err_set(err, BT_ENOTFOUND, origin, "%s: no profile [%s]", origin, profile);
        goto fail;
    }
    if (!ak || !*ak || !sk || !*sk) {
        rc = bt_err_set(err, BT_ECONFIG, origin,
                        "%s: profile [%s] lacks aws_access_key_id or aws_secret_access_key", origin,
                        profile);
        goto fail;
    }
    char src[64];
    snprintf(src, sizeof(src), "shared-file:%s", profile);
    set_creds(out, ak, sk, tok, 0, src);
fail:
    free(ak);
    free_secret(sk);
    free_secret(tok);
    return rc;
}

/* Reads a whole small file; BT_ENOTFOUND when it does not exist. */
static int read_file(const char *path, struct buf *out, struct bt_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return BT_ENOTFOUND;
        return bt_err_set(err, BT_EIO, path, "%s: %s", path, strerror(errno));
    }
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        buf_append(out, tmp, n);
        if (out->len > (1u << 20)) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) return bt_err_set(err, BT_EIO, path, "%s: read error", path);
    if (out->len > (1u << 20))
        return bt_err_set(err, BT_ELIMIT, path, "%s: larger than 1 MiB", path);
    buf_puts(out, "");
    return 0;
}

int aws_creds_from_file(const struct config *cfg, struct aws_creds *out, struct bt_err *err) {
    struct buf path = BUF_INIT, text = BUF_INIT;
    const char *f = config_get(cfg, "AWS_SHARED_CREDENTIALS_FILE");
    const char *explicit_profile = config_get(cfg, "AWS_PROFILE");
    const char *profile = explicit_profile ? explicit_profile : "default";
    int rc;
    if (f) {
        buf_puts(&path, f);
    } else {
        const char *home = getenv("HOME");
        if (!home) {
            rc = BT_ENOTFOUND;
            goto fail;
        }
        buf_printf(&path, "%s/.aws/credentials", home);
    }
    rc = read_file(path.p, &text, err);
    if (rc == BT_ENOTFOUND && explicit_profile && f)
        rc = bt_err_set(err, BT_ECONFIG, path.p, "AWS_SHARED_CREDENTIALS_FILE %s does not exist",
                        path.p);
    if (rc) goto fail;
    rc = aws_creds_parse_ini(buf_cstr(&text), text.len, profile, path.p, out, err);
    /* A profile asked for by name must exist; the implicit default may not. */
    if (rc == BT_ENOTFOUND && explicit_profile)
        rc = bt_err_set(err, BT_ECONFIG, path.p, "AWS_PROFILE=%s: no such profile in %s", profile,
                        path.p);
fail:
    if (text.p) OPENSSL_cleanse(text.p, text.len);
    buf_free(&text);
    buf_free(&path);
    return rc;
}

int aws_parse_iso8601(const char *s, int64_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
        off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

int aws_creds_parse_json(const char *text, size_t len, const char *origin, struct aws_creds *out,
                         struct bt_err *err) {
    json_error_t je;
    int rc = 0;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j || !json_is_object(j)) {
        rc = bt_err_set(err, BT_EAUTH, origin, "%s: credentials response is not a JSON object",
                        origin);
        goto fail;
    }
    const char *code = json_string_value(json_object_get(j, "Code"));
    if (code && strcmp(code, "Success") != 0) {
        rc = bt_err_set(err, BT_EAUTH, origin, "%s: credentials response Code=%.64s", origin, code);
        goto fail;
    }
    const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(j, "Token"));
    const char *exp = json_string_value(json_object_get(j, "Expiration"));
    if (!ak || !*ak || !sk || !*sk) {
        rc = bt_err_set(err, BT_EAUTH, origin,
                        "%s: credentials response lacks AccessKeyId or SecretAccessKey", origin);
        goto fail;
    }
    int64_t at = 0;
    if (exp && aws_parse_iso8601(exp, &at) != 0) {
        rc = bt_err_set(err, BT_EAUTH, origin, "%s: bad Expiration '%.40s'", origin, exp);
        goto fail;
    }
    set_creds(out, ak, sk, tok, at, origin);
fail:
    json_decref(j);
    return rc;
}

/* One small GET/PUT to a metadata endpoint: short timeouts, two attempts. */
struct meta_req {
    const char *method;
    const char *url;
    const char *hname, *hvalue; /* one optional header */
};

static int meta_build(void *ud, int attempt, struct http_request *req, struct bt_err *err) {
    (void)attempt;
    (void)err;
    const struct meta_req *m = ud;
    snprintf(req->method, sizeof(req->method), "%s", m->method);
    buf_puts(&req->url, m->url);
    if (m->hname) http_request_header(req, m->hname, m->hvalue);
    req->timeout_ms = 3000;
    return 0;
}

/* Fetches url; 0 with the body in out on 200, else an error naming what. */
static int meta_fetch(const char *what, const struct meta_req *m, struct buf *out,
                      struct bt_err *err) {
    static const struct http_retry_policy pol = {2, 100, 500, 3000};
    struct http_response resp;
    http_response_init(&resp);
    int rc = http_send(&pol, meta_build, (void *)m, &resp, NULL, err);
    if (rc) {
        bt_err_prefix(err, "%s: ", what);
        goto fail;
    }
    if (resp.status != 200) {
        rc = bt_err_set(err, resp.status == 401 || resp.status == 403 ? BT_EAUTH : BT_ENET, m->url,
                        "%s: %s %s: HTTP %ld", what, m->method, m->url, resp.status);
        goto fail;
    }
    buf_reset(out);
    buf_append(out, resp.body.p, resp.body.len);
    buf_puts(out, "");
fail:
    if (resp.body.p) OPENSSL_cleanse(resp.body.p, resp.body.len);
    http_response_free(&resp);
    return rc;
}

int aws_creds_from_container(const struct config *cfg, struct aws_creds *out, struct bt_err *err) {
    struct buf url = BUF_INIT, tok = BUF_INIT, body = BUF_INIT;
    int rc = 0;
    const char *rel = config_get(cfg, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = config_get(cfg, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (rel) {
        /* The host is fixed by ECS/Batch; the override exists for tests. */
        buf_printf(&url, "%s%s%s",
                   config_get_default(cfg, "BTPIPE_AWS_CONTAINER_HOST", CONTAINER_HOST),
                   rel[0] == '/' ? "" : "/", rel);
    } else if (full) {
        buf_puts(&url, full);
    } else {
        rc = BT_ENOTFOUND;
        goto fail;
    }
    const char *tfile = config_get(cfg, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tval = config_get(cfg, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (tfile) {
        rc = read_file(tfile, &tok, err);
        if (rc == BT_ENOTFOUND)
            rc = bt_err_set(err, BT_ECONFIG, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s does not exist", tfile);
        if (rc) goto fail;
        while (tok.len > 0 && isspace((unsigned char)tok.p[tok.len - 1]))
            tok.p[--tok.len] = '\0';
    } else if (tval) {
        buf_puts(&tok, tval);
    }
    struct meta_req m = {"GET", url.p, tok.len ? "Authorization" : NULL, buf_cstr(&tok)};
    if ((rc = meta_fetch("container credentials", &m, &body, err))) goto fail;
    rc = aws_creds_parse_json(body.p, body.len, "container", out, err);
fail:
    if (tok.p) OPENSSL_cleanse(tok.p, tok.len);
    buf_free(&tok);
    buf_free(&url);
    if (body.p) OPENSSL_cleanse(body.p, body.len);
    buf_free(&body);
    return rc;
}

int aws_creds_from_imds(const struct config *cfg, struct aws_creds *out, struct bt_err *err) {
    struct buf url = BUF_INIT, token = BUF_INIT, role = BUF_INIT, body = BUF_INIT;
    int rc = 0;
    const char *dis = config_get(cfg, "AWS_EC2_METADATA_DISABLED");
    if (dis && strcasecmp(dis, "true") == 0) {
        rc = BT_ENOTFOUND;
        goto fail;
    }
    const char *base = config_get_default(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT", IMDS_HOST);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;

    buf_printf(&url, "%.*s/latest/api/token", (int)bl, base);
    struct meta_req put = {"PUT", url.p, "X-aws-ec2-metadata-token-ttl-seconds", "21600"};
    if ((rc = meta_fetch("IMDS token", &put, &token, err))) {
        /* No metadata service answering: not on EC2, the chain ends here. */
        if (rc == BT_ENET) rc = BT_ENOTFOUND;
        goto fail;
    }
    buf_reset(&url);
    buf_printf(&url, "%.*s/latest/meta-data/iam/security-credentials/", (int)bl, base);
    struct meta_req get_role = {"GET", url.p, "X-aws-ec2-metadata-token", token.p};
    if ((rc = meta_fetch("IMDS role", &get_role, &role, err))) goto fail;
    size_t rl = strcspn(role.p, "\r\n");
    role.p[rl] = '\0';
    if (rl == 0) {
        rc = bt_err_set(err, BT_EAUTH, "imds", "IMDS: the instance has no IAM role attached");
        goto fail;
    }
    buf_reset(&url);
    buf_printf(&url, "%.*s/latest/meta-data/iam/security-credentials/%s", (int)bl, base, role.p);
    struct meta_req get_creds = {"GET", url.p, "X-aws-ec2-metadata-token", token.p};
    if ((rc = meta_fetch("IMDS credentials", &get_creds, &body, err))) goto fail;
    rc = aws_creds_parse_json(body.p, body.len, "imds", out, err);
fail:
    if (token.p) OPENSSL_cleanse(token.p, token.len);
    if (body.p) OPENSSL_cleanse(body.p, body.len);
    buf_free(&url);
    buf_free(&token);
    buf_free(&role);
    buf_free(&body);
    return rc;
}

int aws_creds_resolve(const struct config *cfg, struct aws_creds *out, struct bt_err *err) {
    typedef int (*source_fn)(const struct config *, struct aws_creds *, struct bt_err *);
    static const source_fn chain[] = {aws_creds_from_env, aws_creds_from_file,
                                      aws_creds_from_container, aws_creds_from_imds};
    for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
        int rc = chain[i](cfg, out, err);
        if (rc != BT_ENOTFOUND) return rc;
    }
    return bt_err_set(err, BT_EAUTH, NULL,
                      "no AWS credentials found: tried AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                      "the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), "
                      "the container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI) "
                      "and EC2 instance metadata");
}

struct aws_creds_provider {
    const struct config *cfg; /* NULL: static credentials */
    pthread_mutex_t mu;
    struct aws_creds cur;
    int have;
    int fetches;
    aws_clock_fn clock;
    void *clock_ud;
};

static int64_t wall_clock(void *ud) {
    (void)ud;
    return (int64_t)time(NULL);
}

int aws_creds_provider_new(const struct config *cfg, struct aws_creds_provider **out,
                           struct bt_err *err) {
    (void)err;
    struct aws_creds_provider *p = calloc(1, sizeof(*p));
    p->cfg = cfg;
    p->clock = wall_clock;
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return 0;
}

struct aws_creds_provider *aws_creds_provider_static(const char *access_key_id,
                                                     const char *secret_access_key,
                                                     const char *session_token) {
    struct aws_creds_provider *p = calloc(1, sizeof(*p));
    p->clock = wall_clock;
    pthread_mutex_init(&p->mu, NULL);
    set_creds(&p->cur, access_key_id, secret_access_key, session_token, 0, "static");
    p->have = 1;
    return p;
}

void aws_creds_provider_free(struct aws_creds_provider *p) {
    if (!p) return;
    aws_creds_free(&p->cur);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void aws_creds_provider_set_clock(struct aws_creds_provider *p, aws_clock_fn fn, void *ud) {
    p->clock = fn ? fn : wall_clock;
    p->clock_ud = ud;
}

int aws_creds_provider_fetches(struct aws_creds_provider *p) {
    pthread_mutex_lock(&p->mu);
    int n = p->fetches;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Fresh enough to sign with: non-expiring or outside the refresh margin. */
static int still_fresh(const struct aws_creds *c, int64_t now) {
    return c->expires_at == 0 || now < c->expires_at - AWS_CREDS_REFRESH_MARGIN_S;
}

int aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds *out,
                           struct bt_err *err) {
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    int64_t now = p->clock(p->clock_ud);
    if (p->have && (still_fresh(&p->cur, now) || !p->cfg)) {
        aws_creds_copy(out, &p->cur);
        goto done;
    }
    struct aws_creds fresh;
    memset(&fresh, 0, sizeof(fresh));
    p->fetches++;
    rc = aws_creds_resolve(p->cfg, &fresh, err);
    if (rc) {
        /* Refresh failed but the old ones still work: use them, say so. */
        if (p->have && now < p->cur.expires_at) {
            log_event(LOG_WARN, "aws credentials refresh failed, using current ones", "source",
                      p->cur.source, "error", err ? err->msg : "", NULL);
            aws_creds_copy(out, &p->cur);
            rc = 0;
        }
        goto done;
    }
    char akid[8] = {0}, exp[24] = "never";
    snprintf(akid, sizeof(akid), "%.4s", fresh.access_key_id); /* enough to tell keys apart */
    if (fresh.expires_at) snprintf(exp, sizeof(exp), "%lld", (long long)fresh.expires_at);
    log_event(LOG_INFO, "aws credentials loaded", "source", fresh.source, "access_key_id_prefix",
              akid, "expires_at", exp, NULL);
    aws_creds_free(&p->cur);
    p->cur = fresh;
    p->have = 1;
    aws_creds_copy(out, &p->cur);
done:
    pthread_mutex_unlock(&p->mu);
    return rc;
}
