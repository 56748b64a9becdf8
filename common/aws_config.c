/* aws_config.c -- region and endpoint resolution, see aws_config.h. */
#include "aws_config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "aws_creds.h"
#include "config.h"

int aws_region(const struct config *cfg, const char **out, struct bt_err *err) {
    const char *r = config_get(cfg, "AWS_REGION");
    if (!r) r = config_get(cfg, "AWS_DEFAULT_REGION");
    if (!r)
        return bt_err_set(err, BT_ECONFIG, "AWS_REGION",
                          "AWS_REGION is not set (nor AWS_DEFAULT_REGION): set it to the "
                          "region of your buckets and job queues, e.g. us-east-1");
    for (const char *p = r; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-'))
            return bt_err_set(err, BT_ECONFIG, "AWS_REGION", "AWS_REGION '%s' is not a region name",
                              r);
    *out = r;
    return 0;
}

int aws_endpoint(const struct config *cfg, const char *service, const char *region, struct buf *out,
                 struct bt_err *err) {
    char name[64];
    snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", service);
    for (char *p = name; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    const char *v = config_get(cfg, name);
    const char *src = name;
    if (!v) {
        v = config_get(cfg, "AWS_ENDPOINT_URL");
        src = "AWS_ENDPOINT_URL";
    }
    buf_reset(out);
    if (v) {
        struct aws_url u;
        int rc = aws_url_parse(v, &u, err);
        if (rc) {
            bt_err_prefix(err, "%s: ", src);
            return rc;
        }
        buf_puts(out, v);
        while (out->len > 0 && out->p[out->len - 1] == '/')
            out->p[--out->len] = '\0';
        return 0;
    }
    buf_printf(out, "https://%s.%s.amazonaws.com", service, region);
    return 0;
}

int aws_url_parse(const char *url, struct aws_url *out, struct bt_err *err) {
    memset(out, 0, sizeof(*out));
    const char *p = strstr(url, "://");
    if (!p || (p - url != 4 && p - url != 5) ||
        (strncmp(url, "http", 4) != 0 || (p - url == 5 && url[4] != 's')))
        return bt_err_set(err, BT_ECONFIG, url, "endpoint '%s' is not an http:// or https:// URL",
                          url);
    snprintf(out->scheme, sizeof(out->scheme), "%.*s", (int)(p - url), url);
    const char *h = p + 3;
    size_t hn = strcspn(h, "/?#");
    if (hn == 0 || hn >= sizeof(out->host))
        return bt_err_set(err, BT_ECONFIG, url, "endpoint '%s' has no host", url);
    memcpy(out->host, h, hn);
    const char *path = h + hn;
    size_t pn = strcspn(path, "?#");
    while (pn > 0 && path[pn - 1] == '/')
        pn--;
    if (pn >= sizeof(out->path))
        return bt_err_set(err, BT_ECONFIG, url, "endpoint '%s': path too long", url);
    memcpy(out->path, path, pn);
    return 0;
}

int aws_client_base_init(struct aws_client_base *b, const struct config *cfg, const char *service,
                         struct aws_creds_provider *creds, struct bt_err *err) {
    int rc;
    const char *region;
    struct buf ep = BUF_INIT;
    b->creds = creds;
    if ((rc = aws_region(cfg, &region, err))) goto fail;
    snprintf(b->region, sizeof(b->region), "%s", region);
    if ((rc = aws_endpoint(cfg, service, region, &ep, err)) ||
        (rc = aws_url_parse(ep.p, &b->ep, err)) ||
        (rc = http_retry_policy_from_config(cfg, &b->pol, err)))
        goto fail;
    if (!b->creds) {
        if ((rc = aws_creds_provider_new(cfg, &b->creds, err))) goto fail;
        b->own_creds = 1;
    }
fail:
    buf_free(&ep);
    return rc;
}

void aws_client_base_free(struct aws_client_base *b) {
    if (b->own_creds) aws_creds_provider_free(b->creds);
    b->creds = NULL;
    b->own_creds = 0;
}
