/* sigv4.c -- AWS Signature Version 4 on OpenSSL's HMAC and SHA-256.
 *
 * Follows the published algorithm step by step (canonical request, string to
 * sign, derived key, signature) so that each step can be compared with the
 * suite's expected text. */
#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* One header after canonicalization: lower-cased name, cleaned value. */
struct canon_header {
    char *name;
    struct buf value;
};

/* One query parameter after encoding, sorted by key then value. */
struct canon_param {
    char *key;
    char *value;
};

void sigv4_result_init(struct sigv4_result *r) {
    memset(r, 0, sizeof(*r));
    buf_init(&r->canonical_uri);
    buf_init(&r->canonical_query);
    buf_init(&r->canonical_request);
    buf_init(&r->string_to_sign);
    buf_init(&r->authorization);
}

void sigv4_result_free(struct sigv4_result *r) {
    buf_free(&r->canonical_uri);
    buf_free(&r->canonical_query);
    buf_free(&r->canonical_request);
    buf_free(&r->string_to_sign);
    buf_free(&r->authorization);
}

static const char hexdig[] = "0123456789abcdef";

void sigv4_hex(const void *in, size_t n, char *out) {
    const unsigned char *b = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t n, char hex[65]) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data ? data : (const void *)"", n, md);
    sigv4_hex(md, sizeof(md), hex);
}

/* HMAC-SHA256(key, msg) into out[32]. */
static void hmac256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[32]) {
    unsigned int olen = 32;
    unsigned char tmp[32]; /* key and out may alias in the derivation chain */
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, tmp, &olen);
    memcpy(out, tmp, 32);
}

void sigv4_amz_date(time_t t, char out[17]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int is_unreserved(unsigned char c) {
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

void sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            buf_putc(out, (char)c);
        } else {
            char e[4] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15], 0};
            buf_append(out, e, 3);
        }
    }
}

void sigv4_normalize_path(struct buf *out, const char *path) {
    /* Segments are kept as (start, len) pairs so ".." can pop without copying. */
    size_t plen = strlen(path);
    size_t cap = plen / 2 + 2, nseg = 0;
    const char **seg = malloc(cap * sizeof(*seg));
    size_t *slen = malloc(cap * sizeof(*slen));
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.')) continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (nseg > 0) nseg--;
            continue;
        }
        seg[nseg] = s;
        slen[nseg++] = n;
    }
    buf_putc(out, '/');
    for (size_t i = 0; i < nseg; i++) {
        if (i > 0) buf_putc(out, '/');
        buf_append(out, seg[i], slen[i]);
    }
    if (nseg > 0 && plen > 0 && path[plen - 1] == '/') buf_putc(out, '/');
    free(seg);
    free(slen);
}

/* Trims both ends and collapses runs of spaces/tabs/newlines into one space. */
static void clean_value(struct buf *out, const char *v) {
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    int pending_space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
            pending_space = 1;
            continue;
        }
        if (pending_space && out->len > 0) buf_putc(out, ' ');
        pending_space = 0;
        buf_putc(out, *v);
    }
    if (out->len == 0) buf_puts(out, ""); /* a NUL-terminated empty value */
}

static int cmp_header(const void *a, const void *b) {
    return strcmp(((const struct canon_header *)a)->name, ((const struct canon_header *)b)->name);
}

static int cmp_param(const void *a, const void *b) {
    const struct canon_param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static char *lower_dup(const char *s) {
    char *d = strdup(s);
    for (char *q = d; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return d;
}

/* Adds a header, joining repeats with ',' in the order they came. */
static void add_header(struct canon_header *h, size_t *n, const char *name, const char *value) {
    char *lname = lower_dup(name);
    struct buf v = BUF_INIT;
    clean_value(&v, value);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(h[i].name, lname) == 0) {
            buf_putc(&h[i].value, ',');
            buf_append(&h[i].value, v.p, v.len);
            free(lname);
            buf_free(&v);
            return;
        }
    }
    h[*n].name = lname;
    h[*n].value = v;
    (*n)++;
}

static int has_header(const struct sigv4_request *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0) return 1;
    return 0;
}

/* Builds the sorted canonical query string from raw parameters. */
static void build_query(struct buf *out, const struct sigv4_param *q, size_t n) {
    if (n == 0) {
        buf_puts(out, "");
        return;
    }
    struct canon_param *cp = calloc(n, sizeof(*cp));
    for (size_t i = 0; i < n; i++) {
        struct buf k = BUF_INIT, v = BUF_INIT;
        sigv4_uri_encode(&k, q[i].key, strlen(q[i].key), 0);
        sigv4_uri_encode(&v, q[i].value ? q[i].value : "", q[i].value ? strlen(q[i].value) : 0, 0);
        cp[i].key = buf_detach(&k);
        cp[i].value = buf_detach(&v);
        if (!cp[i].key) cp[i].key = strdup("");
        if (!cp[i].value) cp[i].value = strdup("");
    }
    qsort(cp, n, sizeof(*cp), cmp_param);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) buf_putc(out, '&');
        buf_printf(out, "%s=%s", cp[i].key, cp[i].value);
        free(cp[i].key);
        free(cp[i].value);
    }
    free(cp);
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
               struct sigv4_result *out, struct bt_err *err) {
    int rc = BT_OK;
    size_t nh = 0;
    struct canon_header *h = NULL;
    struct buf signed_headers = BUF_INIT;
    struct buf scope = BUF_INIT;
    struct buf norm = BUF_INIT;

    if (!req->method || !req->path || req->path[0] != '/') {
        rc = bt_err_set(err, BT_EINPUT, NULL,
                        "sigv4: request needs a method and a path "
                        "starting with '/'");
        goto fail;
    }
    if (!p->access_key || !*p->access_key || !p->secret_key || !*p->secret_key) {
        rc = bt_err_set(err, BT_EAUTH, NULL, "sigv4: no credentials to sign with");
        goto fail;
    }
    if (!p->region || !*p->region || !p->service || !*p->service) {
        rc = bt_err_set(err, BT_ECONFIG, NULL, "sigv4: region and service are required");
        goto fail;
    }
    if (!has_header(req, "host")) {
        rc = bt_err_set(err, BT_EINPUT, NULL, "sigv4: the Host header is required");
        goto fail;
    }

    sigv4_amz_date(p->now, out->amz_date);
    if (req->payload_hash)
        snprintf(out->payload_hash, sizeof(out->payload_hash), "%s", req->payload_hash);
    else
        sigv4_sha256_hex(req->body, req->body_len, out->payload_hash);

    /* Canonical URI. */
    buf_reset(&out->canonical_uri);
    if (p->normalize_path) {
        sigv4_normalize_path(&norm, req->path);
        sigv4_uri_encode(&out->canonical_uri, norm.p, norm.len, 1);
    } else {
        sigv4_uri_encode(&out->canonical_uri, req->path, strlen(req->path), 1);
    }

    buf_reset(&out->canonical_query);
    build_query(&out->canonical_query, req->query, req->nquery);

    /* Canonical headers: the caller's plus the ones we add. */
    h = calloc(req->nheaders + 3, sizeof(*h));
    for (size_t i = 0; i < req->nheaders; i++)
        add_header(h, &nh, req->headers[i].name, req->headers[i].value);
    if (!has_header(req, "x-amz-date")) add_header(h, &nh, "x-amz-date", out->amz_date);
    if (p->add_content_sha256 && !has_header(req, "x-amz-content-sha256"))
        add_header(h, &nh, "x-amz-content-sha256", out->payload_hash);
    if (p->session_token && *p->session_token && !p->omit_session_token &&
        !has_header(req, "x-amz-security-token"))
        add_header(h, &nh, "x-amz-security-token", p->session_token);
    qsort(h, nh, sizeof(*h), cmp_header);

    struct buf *cr = &out->canonical_request;
    buf_reset(cr);
    buf_printf(cr, "%s\n%s\n%s\n", req->method, buf_cstr(&out->canonical_uri),
               buf_cstr(&out->canonical_query));
    for (size_t i = 0; i < nh; i++) {
        buf_printf(cr, "%s:%s\n", h[i].name, buf_cstr(&h[i].value));
        if (i > 0) buf_putc(&signed_headers, ';');
        buf_puts(&signed_headers, h[i].name);
    }
    buf_printf(cr, "\n%s\n%s", buf_cstr(&signed_headers), out->payload_hash);

    /* String to sign. */
    char date[9];
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    buf_printf(&scope, "%s/%s/%s/aws4_request", date, p->region, p->service);
    char crhash[65];
    sigv4_sha256_hex(cr->p, cr->len, crhash);
    buf_reset(&out->string_to_sign);
    buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date,
               buf_cstr(&scope), crhash);

    /* Derived key: HMAC chain over date, region, service, "aws4_request". */
    unsigned char k[32];
    struct buf secret = BUF_INIT;
    buf_printf(&secret, "AWS4%s", p->secret_key);
    hmac256(secret.p, secret.len, date, 8, k);
    OPENSSL_cleanse(secret.p, secret.len);
    buf_free(&secret);
    hmac256(k, 32, p->region, strlen(p->region), k);
    hmac256(k, 32, p->service, strlen(p->service), k);
    hmac256(k, 32, "aws4_request", 12, k);
    unsigned char sig[32];
    hmac256(k, 32, out->string_to_sign.p, out->string_to_sign.len, sig);
    OPENSSL_cleanse(k, sizeof(k));
    sigv4_hex(sig, 32, out->signature);

    buf_reset(&out->authorization);
    buf_printf(&out->authorization,
               "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", p->access_key,
               buf_cstr(&scope), buf_cstr(&signed_headers), out->signature);

fail:
    for (size_t i = 0; i < nh; i++) {
        free(h[i].name);
        buf_free(&h[i].value);
    }
    free(h);
    buf_free(&signed_headers);
    buf_free(&scope);
    buf_free(&norm);
    return rc;
}
