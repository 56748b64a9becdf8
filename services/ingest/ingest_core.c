/* ingest_core.c -- listing in, increments out; see ingest_core.h. */
#include "ingest_core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"

/* A sorted set of strings with an optional value, for "dataset/date" ->
 * version and for junk already reported. Sorted so lookups are O(log n). */
struct strmap {
    char **keys;
    char **vals;
    size_t n, cap;
};

struct ingest_state {
    struct strmap announced; /* "dataset/date" -> data_version */
    struct strmap junk_seen; /* "key\netag" -> NULL */
};

/* Binary search: index of key, or -(insertion point)-1. */
static long strmap_find(const struct strmap *m, const char *key) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->keys[mid], key);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) abort(); /* as buf.h: no OOM path to test */
    memcpy(p, s, n);
    return p;
}

/* Inserts or replaces key's value. */
static void strmap_put(struct strmap *m, const char *key, const char *val) {
    long i = strmap_find(m, key);
    if (i >= 0) {
        free(m->vals[i]);
        m->vals[i] = val ? xstrdup(val) : NULL;
        return;
    }
    size_t at = (size_t)(-i - 1);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->keys = realloc(m->keys, m->cap * sizeof *m->keys);
        m->vals = realloc(m->vals, m->cap * sizeof *m->vals);
        if (!m->keys || !m->vals) abort();
    }
    memmove(m->keys + at + 1, m->keys + at, (m->n - at) * sizeof *m->keys);
    memmove(m->vals + at + 1, m->vals + at, (m->n - at) * sizeof *m->vals);
    m->keys[at] = xstrdup(key);
    m->vals[at] = val ? xstrdup(val) : NULL;
    m->n++;
}

static void strmap_free(struct strmap *m) {
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

struct ingest_state *ingest_state_new(void) {
    struct ingest_state *s = calloc(1, sizeof *s);
    if (!s) abort();
    return s;
}

void ingest_state_free(struct ingest_state *s) {
    if (!s) return;
    strmap_free(&s->announced);
    strmap_free(&s->junk_seen);
    free(s);
}

/* "dataset/date" into b: the map key, and the Kafka key of the topic. */
static void date_key(struct buf *b, const char *dataset, const char *date) {
    buf_reset(b);
    buf_printf(b, "%s/%s", dataset, date);
}

/* YYYY-MM-DD with a plausible month and day; calendar validity beyond that
 * is the data's business, not the key's. */
static int is_date(const char *s) {
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') return 0;
        } else if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    int mon = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31;
}

int ingest_parse_key(const char *dataset, const char *key, char date[11], struct bt_err *err) {
    size_t dl = strlen(dataset);
    if (strncmp(key, dataset, dl) != 0 || strncmp(key + dl, "/daily/", 7) != 0)
        return bt_err_set(err, BT_EINPUT, key, "key is not under %s/daily/", dataset);
    const char *rest = key + dl + 7; /* YYYY/YYYY-MM-DD.csv[.gz] */
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)rest[i]))
            return bt_err_set(err, BT_EINPUT, key, "expected a YYYY folder after %s/daily/",
                              dataset);
    if (rest[4] != '/')
        return bt_err_set(err, BT_EINPUT, key, "expected a YYYY folder after %s/daily/", dataset);
    const char *name = rest + 5;
    if (!strcmp(name, "_SUCCESS")) {
        date[0] = '\0';
        return 0;
    }
    if (strlen(name) < 14 || !is_date(name))
        return bt_err_set(err, BT_EINPUT, key, "file name is not YYYY-MM-DD.csv or .csv.gz");
    if (strcmp(name + 10, ".csv") != 0 && strcmp(name + 10, ".csv.gz") != 0)
        return bt_err_set(err, BT_EINPUT, key, "file name is not YYYY-MM-DD.csv or .csv.gz");
    if (strncmp(rest, name, 4) != 0)
        return bt_err_set(err, BT_EINPUT, key, "folder year %.4s differs from the date's year",
                          rest);
    memcpy(date, name, 10);
    date[10] = '\0';
    return 0;
}

static int cmp_obj_key(const void *a, const void *b) {
    return strcmp(((const struct ingest_object *)a)->key, ((const struct ingest_object *)b)->key);
}

void ingest_data_version(const struct ingest_object *objs, size_t n, char out[65]) {
    struct ingest_object *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) abort();
    memcpy(sorted, objs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_obj_key);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) abort();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < n; i++) {
        EVP_DigestUpdate(ctx, sorted[i].key, strlen(sorted[i].key));
        EVP_DigestUpdate(ctx, "\n", 1);
        EVP_DigestUpdate(ctx, sorted[i].etag, strlen(sorted[i].etag));
        EVP_DigestUpdate(ctx, "\n", 1);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    free(sorted);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int ingest_core_mark_announced(struct ingest_state *s, const char *dataset, const char *date,
                               const char *data_version, struct bt_err *err) {
    if (!dataset || !*dataset || !date || !is_date(date) || strlen(date) != 10 || !data_version ||
        !*data_version)
        return bt_err_set(err, BT_EINPUT, dataset && date ? date : "",
                          "announcement needs a dataset, a YYYY-MM-DD date and a data version");
    struct buf k = BUF_INIT;
    date_key(&k, dataset, date);
    strmap_put(&s->announced, k.p, data_version);
    buf_free(&k);
    return 0;
}

const char *ingest_core_announced(const struct ingest_state *s, const char *dataset,
                                  const char *date) {
    struct buf k = BUF_INIT;
    date_key(&k, dataset, date);
    long i = strmap_find(&s->announced, k.p);
    buf_free(&k);
    return i >= 0 ? s->announced.vals[i] : NULL;
}

size_t ingest_core_announced_count(const struct ingest_state *s) {
    return s->announced.n;
}

/* A listed object with its parsed date, for grouping. */
struct dated {
    char date[11];
    const struct ingest_object *obj;
};

/* Orders by date, then key: groups a date's objects together, sorted. */
static int cmp_dated(const void *a, const void *b) {
    const struct dated *x = a, *y = b;
    int c = strcmp(x->date, y->date);
    return c ? c : strcmp(x->obj->key, y->obj->key);
}

/* Appends the increment for objects d[0..n) (one date) to out. */
static void push_increment(struct ingest_result *out, const char *dataset, const struct dated *d,
                           size_t n, const char *version) {
    out->incs = realloc(out->incs, (out->ninc + 1) * sizeof *out->incs);
    if (!out->incs) abort();
    struct ingest_increment *inc = &out->incs[out->ninc++];
    inc->dataset = xstrdup(dataset);
    inc->date = xstrdup(d[0].date);
    inc->data_version = xstrdup(version);
    inc->nobjects = n;
    inc->objects = calloc(n, sizeof *inc->objects);
    if (!inc->objects) abort();
    for (size_t i = 0; i < n; i++) {
        inc->objects[i] = *d[i].obj;
        inc->objects[i].key = xstrdup(d[i].obj->key);
        inc->objects[i].etag = xstrdup(d[i].obj->etag ? d[i].obj->etag : "");
    }
}

/* Reports a junk key unless it was reported before with the same ETag. */
static void push_junk(struct ingest_state *s, struct ingest_result *out,
                      const struct ingest_object *o, const char *reason) {
    struct buf k = BUF_INIT;
    buf_printf(&k, "%s\n%s", o->key, o->etag ? o->etag : "");
    int seen = strmap_find(&s->junk_seen, k.p) >= 0;
    if (!seen) strmap_put(&s->junk_seen, k.p, NULL);
    buf_free(&k);
    if (seen) return;
    out->junk = realloc(out->junk, (out->njunk + 1) * sizeof *out->junk);
    if (!out->junk) abort();
    out->junk[out->njunk].key = xstrdup(o->key);
    out->junk[out->njunk].etag = xstrdup(o->etag ? o->etag : "");
    out->junk[out->njunk].reason = xstrdup(reason);
    out->njunk++;
}

int ingest_core_observe(struct ingest_state *s, const char *dataset,
                        const struct ingest_object *listing, size_t n, struct ingest_result *out,
                        struct bt_err *err) {
    memset(out, 0, sizeof *out);
    if (!dataset || !*dataset || strchr(dataset, '/'))
        return bt_err_set(err, BT_EINPUT, NULL, "dataset name '%s' is empty or has a '/'",
                          dataset ? dataset : "");
    struct dated *d = malloc((n ? n : 1) * sizeof *d);
    if (!d) abort();
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        struct bt_err kerr = BT_ERR_INIT;
        if (!listing[i].key) continue;
        int rc = ingest_parse_key(dataset, listing[i].key, d[nd].date, &kerr);
        if (rc != 0) {
            push_junk(s, out, &listing[i], kerr.msg);
            continue;
        }
        if (!d[nd].date[0]) continue; /* _SUCCESS marker */
        d[nd++].obj = &listing[i];
    }
    qsort(d, nd, sizeof *d, cmp_dated);
    struct ingest_object *tmp = malloc((nd ? nd : 1) * sizeof *tmp);
    if (!tmp) abort();
    for (size_t i = 0; i < nd;) {
        size_t j = i;
        while (j < nd && !strcmp(d[j].date, d[i].date))
            j++;
        for (size_t k = i; k < j; k++) {
            tmp[k - i] = *d[k].obj;
            if (!tmp[k - i].etag) tmp[k - i].etag = "";
        }
        char version[65];
        ingest_data_version(tmp, j - i, version);
        const char *had = ingest_core_announced(s, dataset, d[i].date);
        if (!had || strcmp(had, version) != 0) push_increment(out, dataset, d + i, j - i, version);
        i = j;
    }
    free(tmp);
    free(d);
    return 0;
}

void ingest_result_free(struct ingest_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->ninc; i++) {
        struct ingest_increment *inc = &r->incs[i];
        for (size_t k = 0; k < inc->nobjects; k++) {
            free((char *)inc->objects[k].key);
            free((char *)inc->objects[k].etag);
        }
        free(inc->objects);
        free(inc->dataset);
        free(inc->date);
        free(inc->data_version);
    }
    free(r->incs);
    for (size_t i = 0; i < r->njunk; i++) {
        free(r->junk[i].key);
        free(r->junk[i].etag);
        free(r->junk[i].reason);
    }
    free(r->junk);
    memset(r, 0, sizeof *r);
}
