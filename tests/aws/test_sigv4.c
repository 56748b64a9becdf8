/* test_sigv4.c -- the published SigV4 suite, every case, three checks each.
 *
 * Reads the cases straight from BTPIPE_SHARED_DIR/testdata/aws-sigv4-suite:
 * parses request.txt as raw HTTP and context.json for the keys and clock,
 * signs, and compares the canonical request, string to sign and signature
 * with the header-*.txt files byte for byte. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "sigv4.h"

#define SUITE BTPIPE_SHARED_DIR "/testdata/aws-sigv4-suite"

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", SUITE, dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct buf b = BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    if (len) *len = b.len;
    return b.p ? buf_detach(&b) : strdup("");
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string (the signer re-encodes). */
static char *pct_decode(const char *s, size_t n) {
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            buf_putc(&b, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            buf_putc(&b, s[i]);
        }
    }
    buf_puts(&b, "");
    return buf_detach(&b);
}

struct parsed_req {
    char *method, *path;
    struct sigv4_param q[16];
    size_t nq;
    struct sigv4_header h[16];
    struct buf hv[16];
    char *hn[16];
    size_t nh;
    const char *body;
    size_t body_len;
    char *raw;
};

/* Raw HTTP: request line (the URI may hold spaces), headers with folded
 * continuation lines, blank line, body. */
static void parse_req(char *raw, size_t len, struct parsed_req *r) {
    memset(r, 0, sizeof(*r));
    r->raw = raw;
    char *end = raw + len;
    char *eol = strchr(raw, '\n');
    if (!eol) eol = end;
    char *sp1 = memchr(raw, ' ', (size_t)(eol - raw));
    char *sp2 = eol;
    while (sp2 > sp1 && *sp2 != ' ')
        sp2--;
    r->method = strndup(raw, (size_t)(sp1 - raw));
    char *uri = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    char *qm = strchr(uri, '?');
    if (qm) {
        *qm = '\0';
        char *qs = qm + 1;
        while (*qs && r->nq < 16) {
            char *amp = strchr(qs, '&');
            size_t n = amp ? (size_t)(amp - qs) : strlen(qs);
            char *eq = memchr(qs, '=', n);
            size_t kn = eq ? (size_t)(eq - qs) : n;
            r->q[r->nq].key = pct_decode(qs, kn);
            r->q[r->nq].value = eq ? pct_decode(eq + 1, n - kn - 1) : strdup("");
            r->nq++;
            qs += n + (amp ? 1 : 0);
        }
    }
    r->path = strdup(uri);
    free(uri);
    char *p = eol < end ? eol + 1 : end;
    while (p < end) {
        char *e = memchr(p, '\n', (size_t)(end - p));
        char *le = e ? e : end;
        if (le == p) { /* blank line: body follows */
            p = le + 1;
            r->body = p;
            r->body_len = (size_t)(end - p);
            break;
        }
        if ((*p == ' ' || *p == '\t') && r->nh > 0) {
            buf_putc(&r->hv[r->nh - 1], '\n');
            buf_append(&r->hv[r->nh - 1], p, (size_t)(le - p));
        } else {
            char *colon = memchr(p, ':', (size_t)(le - p));
            r->hn[r->nh] = strndup(p, (size_t)(colon - p));
            buf_init(&r->hv[r->nh]);
            buf_append(&r->hv[r->nh], colon + 1, (size_t)(le - colon - 1));
            r->nh++;
        }
        p = le + 1;
    }
    for (size_t i = 0; i < r->nh; i++) {
        r->h[i].name = r->hn[i];
        r->h[i].value = buf_cstr(&r->hv[i]);
    }
}

static void free_req(struct parsed_req *r) {
    free(r->method);
    free(r->path);
    for (size_t i = 0; i < r->nq; i++) {
        free((char *)r->q[i].key);
        free((char *)r->q[i].value);
    }
    for (size_t i = 0; i < r->nh; i++) {
        free(r->hn[i]);
        buf_free(&r->hv[i]);
    }
    free(r->raw);
}

/* Signs one case; returns the number of the three checks that failed. */
static int run_case(const char *name, int verbose) {
    size_t len = 0;
    char *raw = slurp(name, "request.txt", &len);
    char *ctx_text = slurp(name, "context.json", NULL);
    char *want_creq = slurp(name, "header-canonical-request.txt", NULL);
    char *want_sts = slurp(name, "header-string-to-sign.txt", NULL);
    char *want_sig = slurp(name, "header-signature.txt", NULL);
    assert_non_null(raw);
    assert_non_null(ctx_text);
    assert_non_null(want_creq);
    assert_non_null(want_sts);
    assert_non_null(want_sig);

    json_error_t jerr;
    json_t *ctx = json_loads(ctx_text, 0, &jerr);
    assert_non_null(ctx);
    json_t *cred = json_object_get(ctx, "credentials");
    struct tm tm = {0};
    assert_non_null(
        strptime(json_string_value(json_object_get(ctx, "timestamp")), "%Y-%m-%dT%H:%M:%SZ", &tm));

    struct sigv4_params p = {
        .access_key = json_string_value(json_object_get(cred, "access_key_id")),
        .secret_key = json_string_value(json_object_get(cred, "secret_access_key")),
        .session_token = json_string_value(json_object_get(cred, "token")),
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .now = timegm(&tm),
        .normalize_path = json_is_true(json_object_get(ctx, "normalize")),
        .add_content_sha256 = json_is_true(json_object_get(ctx, "sign_body")),
        .omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
    };

    struct parsed_req r;
    parse_req(raw, len, &r);
    struct sigv4_request req = {
        .method = r.method,
        .path = r.path,
        .query = r.q,
        .nquery = r.nq,
        .headers = r.h,
        .nheaders = r.nh,
        .body = r.body,
        .body_len = r.body_len,
    };
    struct sigv4_result res;
    sigv4_result_init(&res);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(sigv4_sign(&req, &p, &res, &err), 0);

    int bad = 0;
    if (strcmp(buf_cstr(&res.canonical_request), want_creq) != 0) {
        bad++;
        if (verbose)
            printf("%s: canonical request differs:\n--- want\n%s\n--- got\n%s\n", name, want_creq,
                   buf_cstr(&res.canonical_request));
    }
    if (strcmp(buf_cstr(&res.string_to_sign), want_sts) != 0) {
        bad++;
        if (verbose)
            printf("%s: string to sign differs:\n--- want\n%s\n--- got\n%s\n", name, want_sts,
                   buf_cstr(&res.string_to_sign));
    }
    if (strcmp(res.signature, want_sig) != 0) {
        bad++;
        if (verbose)
            printf("%s: signature differs: want %s got %s\n", name, want_sig, res.signature);
    }

    sigv4_result_free(&res);
    free_req(&r);
    json_decref(ctx);
    free(ctx_text);
    free(want_creq);
    free(want_sts);
    free(want_sig);
    return bad;
}

static int case_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every case folder in the suite, sorted. */
static size_t list_cases(char ***out) {
    DIR *d = opendir(SUITE);
    assert_non_null(d);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.') || strcmp(e->d_name, "LICENSE") == 0)
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), case_cmp);
    *out = names;
    return n;
}

/* The cases the brief singles out (header-*): each must pass all three checks. */
static void test_header_cases(void **state) {
    (void)state;
    char **names;
    size_t n = list_cases(&names), ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (strstr(names[i], "header")) {
            assert_int_equal(run_case(names[i], 1), 0);
            ran++;
        }
        free(names[i]);
    }
    free(names);
    assert_true(ran >= 7);
}

/* Every case in the suite, counted and required. */
static void test_all_cases(void **state) {
    (void)state;
    char **names;
    size_t n = list_cases(&names), pass = 0;
    for (size_t i = 0; i < n; i++) {
        if (run_case(names[i], 1) == 0) pass++;
        free(names[i]);
    }
    free(names);
    printf("sigv4 suite: %zu of %zu cases pass (canonical request, string to sign, signature)\n",
           pass, n);
    assert_int_equal(n, 38);
    assert_int_equal(pass, n);
}

/* S3 shape: no normalization, one encoding, UNSIGNED-PAYLOAD signed in. */
static void test_s3_shape(void **state) {
    (void)state;
    struct sigv4_header h[] = {{"Host", "b.s3.amazonaws.com"}};
    struct sigv4_param q[] = {{"prefix", "a b/c"}, {"list-type", "2"}};
    struct sigv4_request req = {.method = "GET",
                                .path = "/dir//a+b%/../x y",
                                .query = q,
                                .nquery = 2,
                                .headers = h,
                                .nheaders = 1,
                                .payload_hash = SIGV4_UNSIGNED_PAYLOAD};
    struct sigv4_params p = {.access_key = "AK",
                             .secret_key = "SECRET",
                             .session_token = "TOK",
                             .region = "us-east-1",
                             .service = "s3",
                             .now = 0,
                             .add_content_sha256 = 1};
    struct sigv4_result res;
    sigv4_result_init(&res);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(sigv4_sign(&req, &p, &res, &err), 0);
    assert_string_equal(buf_cstr(&res.canonical_uri), "/dir//a%2Bb%25/../x%20y");
    assert_string_equal(buf_cstr(&res.canonical_query), "list-type=2&prefix=a%20b%2Fc");
    assert_non_null(
        strstr(buf_cstr(&res.canonical_request), "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    assert_non_null(strstr(buf_cstr(&res.canonical_request), "x-amz-security-token:TOK\n"));
    assert_non_null(strstr(buf_cstr(&res.authorization),
                           "SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                           "x-amz-security-token, Signature="));
    assert_string_equal(res.amz_date, "19700101T000000Z");
    sigv4_result_free(&res);
}

/* Missing pieces are errors, not signatures over garbage. */
static void test_errors(void **state) {
    (void)state;
    struct sigv4_header h[] = {{"Host", "x"}};
    struct sigv4_request req = {.method = "GET", .path = "/", .headers = h, .nheaders = 1};
    struct sigv4_params p = {.access_key = "AK", .secret_key = "", .region = "r", .service = "s"};
    struct sigv4_result res;
    sigv4_result_init(&res);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(sigv4_sign(&req, &p, &res, &err), BT_EAUTH);
    p.secret_key = "S";
    req.nheaders = 0;
    assert_int_equal(sigv4_sign(&req, &p, &res, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "Host"));
    sigv4_result_free(&res);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_cases),
        cmocka_unit_test(test_all_cases),
        cmocka_unit_test(test_s3_shape),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
