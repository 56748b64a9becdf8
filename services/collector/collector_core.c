/* collector_core.c -- merge completions into per-pair series; see collector_core.h. */
#include "collector_core.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "run.h"

/* The order key of a completion: the greatest wins a date. */
struct order_key {
    uint32_t sv, fv;
    int64_t finished_at_ms;
    char *id; /* meta.id (or a stand-in when the sender left it empty) */
};

struct point {
    char date[11];
    double ret, value, turnover, ic, rank_ic;
    struct order_key key; /* of the completion it came from (key.id owned) */
};

/* The latest completion of one task: decides failing or not. */
struct task {
    char *task_key;
    struct order_key key;
    int failed;  /* FAILED or REJECTED_INPUT */
    char *error; /* when failed */
};

struct pair {
    char *id, *strategy_id, *factor_id, *dataset;
    uint32_t sv, fv;   /* the version the series belongs to */
    struct point *pts; /* ascending date */
    size_t npts, cappts;
    struct task *tasks; /* ascending task_key */
    size_t ntasks;
    char **seen; /* completion ids merged (current version), sorted */
    size_t nseen;
    int64_t updated_at_ms;
    char *published; /* meta.id last published, or NULL */
};

/* The last trading date landed for a dataset (from data.landed). */
struct landed {
    char *dataset;
    char date[11];
};

struct collector_state {
    struct pair *pairs; /* ascending id */
    size_t npairs;
    struct landed *landed; /* ascending dataset */
    size_t nlanded;
};

static char *xstrdup(const char *s) {
    size_t n = strlen(s ? s : "") + 1;
    char *p = malloc(n);
    if (!p) abort(); /* as buf.h: no OOM path to test */
    memcpy(p, s ? s : "", n);
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

/* strcmp for possibly-NULL strings (protobuf-c gives "" but be safe). */
static int scmp(const char *a, const char *b) {
    return strcmp(a ? a : "", b ? b : "");
}

static int key_cmp(const struct order_key *a, const struct order_key *b) {
    if (a->sv != b->sv) return a->sv < b->sv ? -1 : 1;
    if (a->fv != b->fv) return a->fv < b->fv ? -1 : 1;
    if (a->finished_at_ms != b->finished_at_ms)
        return a->finished_at_ms < b->finished_at_ms ? -1 : 1;
    return scmp(a->id, b->id);
}

struct collector_state *collector_new(void) {
    struct collector_state *s = calloc(1, sizeof *s);
    if (!s) abort();
    return s;
}

static void pair_clear_series(struct pair *p) {
    for (size_t i = 0; i < p->npts; i++)
        free(p->pts[i].key.id);
    p->npts = 0;
    for (size_t i = 0; i < p->ntasks; i++) {
        free(p->tasks[i].task_key);
        free(p->tasks[i].key.id);
        free(p->tasks[i].error);
    }
    p->ntasks = 0;
    for (size_t i = 0; i < p->nseen; i++)
        free(p->seen[i]);
    p->nseen = 0;
    p->updated_at_ms = 0;
}

void collector_free(struct collector_state *s) {
    if (!s) return;
    for (size_t i = 0; i < s->npairs; i++) {
        struct pair *p = &s->pairs[i];
        pair_clear_series(p);
        free(p->pts);
        free(p->tasks);
        free(p->seen);
        free(p->id);
        free(p->strategy_id);
        free(p->factor_id);
        free(p->dataset);
        free(p->published);
    }
    free(s->pairs);
    for (size_t i = 0; i < s->nlanded; i++)
        free(s->landed[i].dataset);
    free(s->landed);
    free(s);
}

/* Binary search of n elements of size bytes sorted by the string key_of
 * gives: index of key, or -(insertion point)-1. One search for the pairs,
 * a pair's points and its seen completion ids. */
static long sorted_find(const void *base, size_t n, size_t size,
                        const char *(*key_of)(const void *elem), const char *key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key_of((const char *)base + mid * size), key);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/* sorted_find keys: a pair's id, a point's date, a seen id. */
static const char *pair_key(const void *e) {
    return ((const struct pair *)e)->id;
}
static const char *point_key(const void *e) {
    return ((const struct point *)e)->date;
}
static const char *str_key(const void *e) {
    return *(char *const *)e;
}

/* Index of the pair, or -(insertion point)-1. */
static long pair_find(const struct collector_state *s, const char *id) {
    return sorted_find(s->pairs, s->npairs, sizeof *s->pairs, pair_key, id);
}

static struct pair *pair_get(struct collector_state *s, const char *id, const char *sid,
                             const char *fid, const char *ds) {
    long i = pair_find(s, id);
    if (i >= 0) return &s->pairs[i];
    size_t at = (size_t)(-i - 1);
    s->pairs = xrealloc(s->pairs, (s->npairs + 1) * sizeof *s->pairs);
    memmove(s->pairs + at + 1, s->pairs + at, (s->npairs - at) * sizeof *s->pairs);
    s->npairs++;
    struct pair *p = &s->pairs[at];
    memset(p, 0, sizeof *p);
    p->id = xstrdup(id);
    p->strategy_id = xstrdup(sid);
    p->factor_id = xstrdup(fid);
    p->dataset = xstrdup(ds);
    return p;
}

static int is_date(const char *s) {
    if (!s || strlen(s) != 10) return 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') return 0;
        } else if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Index of the point on date, or -(insertion point)-1. */
static long point_find(const struct pair *p, const char *date) {
    return sorted_find(p->pts, p->npts, sizeof *p->pts, point_key, date);
}

/* Puts one point unless the date holds one with a greater key. */
static void merge_point(struct pair *p, const Btpipe__V1__DailyPoint *dp,
                        const struct order_key *k) {
    long i = point_find(p, dp->date);
    struct point *pt;
    if (i >= 0) {
        pt = &p->pts[i];
        if (key_cmp(&pt->key, k) >= 0) return;
        free(pt->key.id);
    } else {
        size_t at = (size_t)(-i - 1);
        if (p->npts == p->cappts) {
            p->cappts = p->cappts ? p->cappts * 2 : 64;
            p->pts = xrealloc(p->pts, p->cappts * sizeof *p->pts);
        }
        memmove(p->pts + at + 1, p->pts + at, (p->npts - at) * sizeof *p->pts);
        p->npts++;
        pt = &p->pts[at];
    }
    memcpy(pt->date, dp->date, 11);
    pt->ret = dp->ret;
    pt->value = dp->value;
    pt->turnover = dp->turnover;
    pt->ic = dp->ic;
    pt->rank_ic = dp->rank_ic;
    pt->key = *k;
    pt->key.id = xstrdup(k->id);
}

/* Records the completion as its task's latest if its key is greater. */
static void merge_task(struct pair *p, const Btpipe__V1__JobCompletion *c,
                       const struct order_key *k) {
    const char *tk = c->task_key && *c->task_key ? c->task_key : k->id;
    size_t i = 0;
    while (i < p->ntasks && strcmp(p->tasks[i].task_key, tk) < 0)
        i++;
    struct task *t;
    if (i < p->ntasks && !strcmp(p->tasks[i].task_key, tk)) {
        t = &p->tasks[i];
        if (key_cmp(&t->key, k) >= 0) return;
        free(t->key.id);
        free(t->error);
    } else {
        p->tasks = xrealloc(p->tasks, (p->ntasks + 1) * sizeof *p->tasks);
        memmove(p->tasks + i + 1, p->tasks + i, (p->ntasks - i) * sizeof *p->tasks);
        p->ntasks++;
        t = &p->tasks[i];
        t->task_key = xstrdup(tk);
    }
    t->key = *k;
    t->key.id = xstrdup(k->id);
    t->failed = c->status == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_FAILED ||
                c->status == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT;
    t->error = xstrdup(c->error && *c->error ? c->error : "no error text");
}

/* Adds id to the sorted set of merged completion ids. */
static void note_seen(struct pair *p, const char *id) {
    long i = sorted_find(p->seen, p->nseen, sizeof *p->seen, str_key, id);
    if (i >= 0) return;
    size_t at = (size_t)(-i - 1);
    p->seen = xrealloc(p->seen, (p->nseen + 1) * sizeof *p->seen);
    memmove(p->seen + at + 1, p->seen + at, (p->nseen - at) * sizeof *p->seen);
    p->seen[at] = xstrdup(id);
    p->nseen++;
}

/* The first failing task of the pair, or NULL. */
static const struct task *first_failing(const struct pair *p) {
    for (size_t i = 0; i < p->ntasks; i++)
        if (p->tasks[i].failed) return &p->tasks[i];
    return NULL;
}

/* The last landed date of dataset, or NULL when none was seen. */
static const char *landed_max(const struct collector_state *s, const char *dataset) {
    for (size_t i = 0; i < s->nlanded; i++)
        if (!strcmp(s->landed[i].dataset, dataset)) return s->landed[i].date;
    return NULL;
}

/* The pair's status, and its reason into b ("" when current). */
static Btpipe__V1__ResultStatus pair_status(const struct collector_state *s, const struct pair *p,
                                            struct buf *b) {
    buf_reset(b);
    buf_puts(b, "");
    const struct task *t = first_failing(p);
    if (t) {
        buf_printf(b, "task %s: %s", t->task_key, t->error);
        return BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_FAILING;
    }
    const char *landed = landed_max(s, p->dataset);
    const char *last = p->npts ? p->pts[p->npts - 1].date : NULL;
    if (landed && (!last || strcmp(last, landed) < 0)) {
        buf_printf(b, "data landed up to %s; series ends %s", landed, last ? last : "nowhere yet");
        return BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_LAGGING;
    }
    return BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_CURRENT;
}

/* meta.id of the pair's current result into b. */
static void result_id(const struct collector_state *s, const struct pair *p, struct buf *b) {
    struct buf reason = BUF_INIT, txt = BUF_INIT;
    int status = (int)pair_status(s, p, &reason);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) abort();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < p->npts; i++) {
        const struct point *pt = &p->pts[i];
        buf_reset(&txt);
        /* Hex floats: exact, so equal ids mean equal numbers. */
        buf_printf(&txt, "%s %a %a %a %a %a\n", pt->date, pt->ret, pt->value, pt->turnover, pt->ic,
                   pt->rank_ic);
        EVP_DigestUpdate(ctx, txt.p, txt.len);
    }
    buf_reset(&txt);
    buf_printf(&txt, "status %d\n%s\n", status, buf_cstr(&reason));
    EVP_DigestUpdate(ctx, txt.p, txt.len);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    buf_reset(b);
    buf_printf(b, "%s/%s/", p->id, p->npts ? p->pts[p->npts - 1].date : "none");
    for (int i = 0; i < 8; i++)
        buf_printf(b, "%02x", md[i]);
    buf_free(&reason);
    buf_free(&txt);
}

/* 1 when a pair part is usable inside "a/b/c" ids. */
static int id_part_ok(const char *s) {
    return s && *s && !strchr(s, '/');
}

int collector_apply(struct collector_state *s, const Btpipe__V1__JobCompletion *c,
                    const char **pair_id, int *changed, struct bt_err *err) {
    *pair_id = NULL;
    *changed = 0;
    if (!id_part_ok(c->strategy_id))
        return bt_err_set(err, BT_EINPUT, "JobCompletion.strategy_id",
                          "strategy_id is empty or has a '/'");
    if (!id_part_ok(c->factor_id))
        return bt_err_set(err, BT_EINPUT, "JobCompletion.factor_id",
                          "factor_id is empty or has a '/'");
    if (!id_part_ok(c->dataset))
        return bt_err_set(err, BT_EINPUT, "JobCompletion.dataset", "dataset is empty or has a '/'");
    for (size_t i = 0; i < c->n_points; i++) {
        if (!c->points[i] || !is_date(c->points[i]->date)) {
            char where[64];
            snprintf(where, sizeof where, "JobCompletion.points[%zu].date", i);
            return bt_err_set(err, BT_EINPUT, where, "point date '%s' is not YYYY-MM-DD",
                              c->points[i] && c->points[i]->date ? c->points[i]->date : "");
        }
    }
    struct buf id = BUF_INIT, after = BUF_INIT, cid = BUF_INIT;
    buf_printf(&id, "%s/%s/%s", c->strategy_id, c->factor_id, c->dataset);
    struct pair *p = pair_get(s, id.p, c->strategy_id, c->factor_id, c->dataset);
    if (c->meta && c->meta->id && *c->meta->id)
        buf_puts(&cid, c->meta->id);
    else /* a sender that left the id empty still gets a stable one */
        buf_printf(&cid, "%s/%s/%u", c->task_key ? c->task_key : "",
                   c->data_version ? c->data_version : "", c->attempt);
    struct order_key k = {c->strategy_version, c->factor_version, c->finished_at_ms, cid.p};
    int newer_version = k.sv > p->sv || (k.sv == p->sv && k.fv > p->fv);
    int older_version = k.sv < p->sv || (k.sv == p->sv && k.fv < p->fv);
    if (newer_version) {
        pair_clear_series(p);
        p->sv = k.sv;
        p->fv = k.fv;
    }
    if (!older_version) {
        if (c->status == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED)
            for (size_t i = 0; i < c->n_points; i++)
                merge_point(p, c->points[i], &k);
        merge_task(p, c, &k);
        note_seen(p, cid.p);
        if (c->finished_at_ms > p->updated_at_ms) p->updated_at_ms = c->finished_at_ms;
    }
    result_id(s, p, &after);
    *pair_id = p->id;
    *changed = !p->published || strcmp(p->published, after.p) != 0;
    buf_free(&id);
    buf_free(&after);
    buf_free(&cid);
    return 0;
}

int collector_apply_bytes(struct collector_state *s, const void *value, size_t len,
                          const char **pair_id, int *changed, struct bt_err *err) {
    *pair_id = NULL;
    *changed = 0;
    if (!value) return 0;
    Btpipe__V1__JobCompletion *c =
        btpipe__v1__job_completion__unpack(NULL, len, (const uint8_t *)value);
    if (!c)
        return bt_err_set(err, BT_EINPUT, "JobCompletion",
                          "value does not decode as JobCompletion");
    int rc = collector_apply(s, c, pair_id, changed, err);
    btpipe__v1__job_completion__free_unpacked(c, NULL);
    return rc;
}

/* YYYY-MM-DD -> YYYYMMDD. */
static int32_t date_int(const char *d) {
    return (int32_t)(atoi(d) * 10000 + atoi(d + 5) * 100 + atoi(d + 8));
}

int collector_result(struct collector_state *s, const char *pair_id, int64_t now_ms,
                     const char *producer, struct buf *value, struct buf *meta_id,
                     struct bt_err *err) {
    long i = pair_find(s, pair_id);
    if (i < 0) return bt_err_set(err, BT_ENOTFOUND, pair_id, "no such pair");
    const struct pair *p = &s->pairs[i];
    struct run_series ser;
    run_series_alloc(&ser, (int)p->npts);
    /* The value column is recompounded from the returns: tasks run apart
     * report values on their own scale, returns compose. */
    double initial = 1.0;
    if (p->npts) {
        double v0 = p->pts[0].value / (1.0 + p->pts[0].ret);
        if (isfinite(v0) && v0 > 0) initial = v0;
    }
    double v = initial;
    for (size_t k = 0; k < p->npts; k++) {
        v *= 1.0 + p->pts[k].ret;
        ser.date[k] = date_int(p->pts[k].date);
        ser.ret[k] = p->pts[k].ret;
        ser.value[k] = v;
        ser.turnover[k] = p->pts[k].turnover;
        ser.ic[k] = p->pts[k].ic;
        ser.rank_ic[k] = p->pts[k].rank_ic;
    }
    struct run_summary sum;
    metrics_from_series(&ser, initial, &sum);
    run_series_free(&ser);

    struct buf reason = BUF_INIT;
    Btpipe__V1__ResultStatus status = pair_status(s, p, &reason);
    result_id(s, p, meta_id);
    Btpipe__V1__Meta meta = BTPIPE__V1__META__INIT;
    meta.id = meta_id->p;
    meta.produced_at_ms = now_ms;
    meta.producer = (char *)producer;
    meta.schema = 1;
    Btpipe__V1__Metrics m = BTPIPE__V1__METRICS__INIT;
    m.final_value = sum.final_value;
    m.total_return = sum.total_return;
    m.annual_return = sum.annual_return;
    m.annual_volatility = sum.annual_volatility;
    m.sharpe = sum.sharpe;
    m.sortino = sum.sortino;
    m.max_drawdown = sum.max_drawdown;
    m.calmar = sum.calmar;
    m.win_rate = sum.win_rate;
    m.turnover = sum.turnover;
    m.ic_mean = sum.ic_mean;
    m.ic_std = sum.ic_std;
    m.ic_ir = sum.ic_ir;
    m.rank_ic_mean = sum.rank_ic_mean;
    m.rank_ic_std = sum.rank_ic_std;
    m.rank_ic_ir = sum.rank_ic_ir;
    m.days = (uint32_t)p->npts;
    Btpipe__V1__AggregatedResult r = BTPIPE__V1__AGGREGATED_RESULT__INIT;
    r.meta = &meta;
    r.pair_id = p->id;
    r.strategy_id = p->strategy_id;
    r.factor_id = p->factor_id;
    r.dataset = p->dataset;
    r.first_date = p->npts ? (char *)p->pts[0].date : "";
    r.last_date = p->npts ? (char *)p->pts[p->npts - 1].date : "";
    r.days = (uint32_t)p->npts;
    r.metrics = &m;
    r.status = status;
    r.status_reason = reason.p ? reason.p : "";
    r.updated_at_ms = p->updated_at_ms;
    r.completions = (uint32_t)p->nseen;
    size_t n = btpipe__v1__aggregated_result__get_packed_size(&r);
    buf_reset(value);
    buf_reserve(value, n + 1);
    btpipe__v1__aggregated_result__pack(&r, (uint8_t *)value->p);
    value->len = n;
    value->p[n] = '\0';
    buf_free(&reason);
    return 0;
}

void collector_note_published(struct collector_state *s, const char *pair_id, const char *meta_id) {
    /* A result for a pair with no completion yet (e.g. read back from the
     * topic before the completions): remember it on a bare pair. */
    char sid[256] = "", fid[256] = "", ds[256] = "";
    sscanf(pair_id, "%255[^/]/%255[^/]/%255s", sid, fid, ds);
    struct pair *p = pair_get(s, pair_id, sid, fid, ds);
    free(p->published);
    p->published = xstrdup(meta_id);
}

int collector_note_published_bytes(struct collector_state *s, const void *value, size_t len,
                                   struct bt_err *err) {
    if (!value) return 0;
    Btpipe__V1__AggregatedResult *r =
        btpipe__v1__aggregated_result__unpack(NULL, len, (const uint8_t *)value);
    if (!r)
        return bt_err_set(err, BT_EINPUT, "AggregatedResult",
                          "value does not decode as AggregatedResult");
    int rc = 0;
    if (!r->pair_id || !*r->pair_id || !r->meta || !r->meta->id)
        rc = bt_err_set(err, BT_EINPUT, "AggregatedResult.pair_id", "pair_id or meta.id is empty");
    else
        collector_note_published(s, r->pair_id, r->meta->id);
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    return rc;
}

int collector_needs_publish(struct collector_state *s, const char *pair_id) {
    long i = pair_find(s, pair_id);
    if (i < 0) return 0;
    const struct pair *p = &s->pairs[i];
    if (!p->npts && !p->ntasks) return 0; /* only known from the results topic */
    struct buf id = BUF_INIT;
    result_id(s, p, &id);
    int need = !p->published || strcmp(p->published, id.p) != 0;
    buf_free(&id);
    return need;
}

size_t collector_pair_count(const struct collector_state *s) {
    return s->npairs;
}

const char *collector_pair_at(const struct collector_state *s, size_t i) {
    return i < s->npairs ? s->pairs[i].id : NULL;
}

int collector_note_landed(struct collector_state *s, const char *dataset, const char *date) {
    if (!id_part_ok(dataset) || !is_date(date)) return 0;
    size_t i = 0;
    while (i < s->nlanded && strcmp(s->landed[i].dataset, dataset) < 0)
        i++;
    if (i < s->nlanded && !strcmp(s->landed[i].dataset, dataset)) {
        if (strcmp(s->landed[i].date, date) >= 0) return 0;
        memcpy(s->landed[i].date, date, 11);
        return 1;
    }
    s->landed = xrealloc(s->landed, (s->nlanded + 1) * sizeof *s->landed);
    memmove(s->landed + i + 1, s->landed + i, (s->nlanded - i) * sizeof *s->landed);
    s->nlanded++;
    s->landed[i].dataset = xstrdup(dataset);
    memcpy(s->landed[i].date, date, 11);
    return 1;
}

int collector_note_landed_bytes(struct collector_state *s, const void *value, size_t len,
                                const char **dataset, struct bt_err *err) {
    *dataset = NULL;
    if (!value) return 0;
    Btpipe__V1__DataIncrement *m =
        btpipe__v1__data_increment__unpack(NULL, len, (const uint8_t *)value);
    if (!m)
        return bt_err_set(err, BT_EINPUT, "DataIncrement",
                          "value does not decode as DataIncrement");
    if (collector_note_landed(s, m->dataset, m->trading_date)) {
        for (size_t i = 0; i < s->nlanded; i++)
            if (!strcmp(s->landed[i].dataset, m->dataset)) *dataset = s->landed[i].dataset;
    }
    btpipe__v1__data_increment__free_unpacked(m, NULL);
    return 0;
}

const char *collector_pair_dataset(const struct collector_state *s, size_t i) {
    return i < s->npairs ? s->pairs[i].dataset : NULL;
}
