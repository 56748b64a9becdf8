/* s3_xml.c -- the two S3 response documents we read: ListBucketResult and
 * Error. Expat, streaming, with bounds on text and item counts because the
 * input comes off the network (and from the fuzzer). */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_creds.h"
#include "s3.h"

#define XML_TEXT_MAX 8192    /* S3 keys are at most 1024 bytes */
#define XML_ITEMS_MAX 100000 /* a page holds at most 1000; leave room */
#define XML_DEPTH_MAX 16

struct list_ctx {
    XML_Parser xp;
    struct s3_list_page *page;
    size_t cap;
    int depth;
    int in_contents;
    struct s3_object_info cur;
    struct buf text;
    int err_code; /* BT_ELIMIT / BT_EINPUT once a bound or rule was broken */
    char err_msg[128];
};

void s3_list_page_free(struct s3_list_page *p) {
    s3_listing_free(&p->items);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}

/* Parses ISO 8601 with optional millis into unix milliseconds; 0 when bad. */
static int64_t iso_ms(const char *s) {
    int64_t sec;
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%s", s);
    long ms = 0;
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *q = dot + 1;
        int digits = 0;
        while (*q >= '0' && *q <= '9') {
            if (digits < 3) {
                ms = ms * 10 + (*q - '0');
                digits++;
            }
            q++;
        }
        while (digits++ < 3)
            ms *= 10;
    }
    if (aws_parse_iso8601(s, &sec) != 0) return 0;
    return sec * 1000 + ms;
}

/* Strips the quotes S3 puts around ETags. */
static char *unquote(const char *s) {
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') return strndup(s + 1, n - 2);
    return strdup(s);
}

/* Aborts the parse with a code and message. */
static void list_fail(struct list_ctx *c, int code, const char *msg) {
    if (!c->err_code) {
        c->err_code = code;
        snprintf(c->err_msg, sizeof(c->err_msg), "%s", msg);
    }
    XML_StopParser(c->xp, XML_FALSE);
}

static void XMLCALL list_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    (void)attrs;
    struct list_ctx *c = ud;
    c->depth++;
    if (c->depth > XML_DEPTH_MAX) {
        list_fail(c, BT_ELIMIT, "XML nested too deeply");
        return;
    }
    buf_reset(&c->text);
    if (c->depth == 1 && strcmp(name, "ListBucketResult") != 0) {
        list_fail(c, BT_EINPUT, "root element is not ListBucketResult");
        return;
    }
    if (c->depth == 2 && strcmp(name, "Contents") == 0) {
        c->in_contents = 1;
        memset(&c->cur, 0, sizeof(c->cur));
    }
}

static void XMLCALL list_end(void *ud, const XML_Char *name) {
    struct list_ctx *c = ud;
    const char *t = buf_cstr(&c->text);
    if (c->depth == 3 && c->in_contents) {
        if (strcmp(name, "Key") == 0) {
            free(c->cur.key);
            c->cur.key = strdup(t);
        } else if (strcmp(name, "ETag") == 0) {
            free(c->cur.etag);
            c->cur.etag = unquote(t);
        } else if (strcmp(name, "Size") == 0) {
            char *end;
            long long v = strtoll(t, &end, 10);
            if (*t == '\0' || *end != '\0' || v < 0)
                list_fail(c, BT_EINPUT, "Size is not a non-negative integer");
            c->cur.size = v;
        } else if (strcmp(name, "LastModified") == 0) {
            c->cur.last_modified_ms = iso_ms(t);
        } else if (strcmp(name, "VersionId") == 0) {
            free(c->cur.version_id);
            c->cur.version_id = strdup(t);
        }
    } else if (c->depth == 2 && c->in_contents && strcmp(name, "Contents") == 0) {
        c->in_contents = 0;
        if (!c->cur.key) {
            s3_object_info_free(&c->cur);
            list_fail(c, BT_EINPUT, "Contents without Key");
        } else if (c->page->items.n >= XML_ITEMS_MAX) {
            s3_object_info_free(&c->cur);
            list_fail(c, BT_ELIMIT, "too many Contents in one page");
        } else {
            if (c->page->items.n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->page->items.items =
                    realloc(c->page->items.items, c->cap * sizeof(*c->page->items.items));
                if (!c->page->items.items) abort();
            }
            c->page->items.items[c->page->items.n++] = c->cur;
        }
        memset(&c->cur, 0, sizeof(c->cur));
    } else if (c->depth == 2 && strcmp(name, "IsTruncated") == 0) {
        c->page->truncated = strcmp(t, "true") == 0;
    } else if (c->depth == 2 && strcmp(name, "NextContinuationToken") == 0) {
        free(c->page->next_token);
        c->page->next_token = strdup(t);
    }
    buf_reset(&c->text);
    c->depth--;
}

static void XMLCALL list_text(void *ud, const XML_Char *s, int len) {
    struct list_ctx *c = ud;
    if (c->text.len + (size_t)len > XML_TEXT_MAX) {
        list_fail(c, BT_ELIMIT, "element text longer than 8 KiB");
        return;
    }
    buf_append(&c->text, s, (size_t)len);
}

int s3_parse_list_xml(const char *xml, size_t len, struct s3_list_page *out, struct bt_err *err) {
    int rc = 0;
    struct list_ctx c;
    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    buf_init(&c.text);
    c.page = out;
    c.xp = XML_ParserCreate(NULL);
    if (!c.xp) abort();
    XML_SetUserData(c.xp, &c);
    XML_SetElementHandler(c.xp, list_start, list_end);
    XML_SetCharacterDataHandler(c.xp, list_text);
    if (len > INT32_MAX) {
        rc = bt_err_set(err, BT_ELIMIT, NULL, "ListObjectsV2 response larger than 2 GiB");
        goto fail;
    }
    enum XML_Status st = XML_Parse(c.xp, xml, (int)len, XML_TRUE);
    if (c.err_code) {
        rc = bt_err_set(err, c.err_code, NULL, "ListObjectsV2 response: %s (line %lu)", c.err_msg,
                        (unsigned long)XML_GetCurrentLineNumber(c.xp));
        goto fail;
    }
    if (st != XML_STATUS_OK) {
        rc = bt_err_set(err, BT_EINPUT, NULL, "ListObjectsV2 response: %s at line %lu column %lu",
                        XML_ErrorString(XML_GetErrorCode(c.xp)),
                        (unsigned long)XML_GetCurrentLineNumber(c.xp),
                        (unsigned long)XML_GetCurrentColumnNumber(c.xp));
        goto fail;
    }
    if (out->truncated && (!out->next_token || !*out->next_token)) {
        rc = bt_err_set(err, BT_EINPUT, NULL,
                        "ListObjectsV2 response: IsTruncated without NextContinuationToken");
        goto fail;
    }
fail:
    if (c.in_contents) s3_object_info_free(&c.cur);
    if (rc) s3_list_page_free(out);
    buf_free(&c.text);
    XML_ParserFree(c.xp);
    return rc;
}

/* Error document: <Error><Code>..</Code><Message>..</Message></Error>, possibly nested. */
struct err_ctx {
    int depth;
    struct buf text;
    char *code, *msg;
    size_t code_cap, msg_cap;
};

static void XMLCALL err_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    (void)name;
    (void)attrs;
    struct err_ctx *c = ud;
    c->depth++;
    buf_reset(&c->text);
}

static void XMLCALL err_end(void *ud, const XML_Char *name) {
    struct err_ctx *c = ud;
    /* First Code/Message at any depth: S3 puts them under <Error>, other
     * XML services (and moto's auth layer) under <ErrorResponse><Errors><Error>. */
    if (strcmp(name, "Code") == 0 && !c->code[0])
        snprintf(c->code, c->code_cap, "%s", buf_cstr(&c->text));
    else if (strcmp(name, "Message") == 0 && !c->msg[0])
        snprintf(c->msg, c->msg_cap, "%s", buf_cstr(&c->text));
    buf_reset(&c->text);
    c->depth--;
}

static void XMLCALL err_text(void *ud, const XML_Char *s, int len) {
    struct err_ctx *c = ud;
    if (c->text.len < 4096) buf_append(&c->text, s, (size_t)len);
}

void s3_parse_error_xml(const char *xml, size_t len, char *code, size_t code_cap, char *msg,
                        size_t msg_cap) {
    struct err_ctx c = {0, BUF_INIT, code, msg, code_cap, msg_cap};
    code[0] = '\0';
    msg[0] = '\0';
    if (!xml || len == 0 || len > INT32_MAX) return;
    XML_Parser xp = XML_ParserCreate(NULL);
    if (!xp) abort();
    XML_SetUserData(xp, &c);
    XML_SetElementHandler(xp, err_start, err_end);
    XML_SetCharacterDataHandler(xp, err_text);
    XML_Parse(xp, xml, (int)len, XML_TRUE); /* partial results are still useful */
    XML_ParserFree(xp);
    buf_free(&c.text);
}
