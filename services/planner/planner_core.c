/* planner_core.c -- the core's life cycle, its own memory (jobs, completions)
 * and the decisions it hands to main.c. See planner_core.h. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "planner_internal.h"

static char *xstrdup(const char *s) {
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

void pl_hex_sha256(const void *data, size_t n, char *out, size_t nhex) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, n, md);
    static const char hx[] = "0123456789abcdef";
    if (nhex > 64) nhex = 64;
    for (size_t i = 0; i < nhex; i++)
        out[i] = hx[(md[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[nhex] = 0;
}

void planner_plan_id(const char *task_key, const char *data_version, char out[33]) {
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s/%s", task_key, data_version);
    pl_hex_sha256(b.p, b.len, out, 32);
    buf_free(&b);
}

void *pl_clone(const void *msg) {
    const ProtobufCMessage *m = msg;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) abort();
    protobuf_c_message_pack(m, b);
    void *r = protobuf_c_message_unpack(m->descriptor, NULL, n, b);
    free(b);
    if (!r) abort(); /* we just packed it: failure is a bug or OOM */
    return r;
}

void pl_free_msg(void *msg) {
    if (msg) protobuf_c_message_free_unpacked(msg, NULL);
}

int planner_core_new(const struct planner_config *cfg, struct planner_core **out,
                     struct bt_err *err) {
    *out = NULL;
    if (!cfg->results_uri || !*cfg->results_uri)
        return bt_err_set(err, BT_ECONFIG, NULL, "planner core: results_uri is required");
    if (!cfg->hooks.expr_lookback)
        return bt_err_set(err, BT_ECONFIG, NULL,
                          "planner core: an expression analyser is required");
    struct planner_core *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->results_uri = xstrdup(cfg->results_uri);
    size_t n = strlen(c->results_uri);
    while (n > 0 && c->results_uri[n - 1] == '/')
        c->results_uri[--n] = 0;
    c->data_uri = xstrdup(cfg->data_uri && *cfg->data_uri ? cfg->data_uri : c->results_uri);
    n = strlen(c->data_uri);
    while (n > 0 && c->data_uri[n - 1] == '/')
        c->data_uri[--n] = 0;
    c->executor = xstrdup(cfg->executor && *cfg->executor ? cfg->executor : "local");
    c->producer = xstrdup(cfg->producer && *cfg->producer ? cfg->producer : "planner");
    c->hooks = cfg->hooks;
    *out = c;
    return 0;
}

void planner_core_free(struct planner_core *c) {
    if (!c) return;
    for (size_t i = 0; i < c->factors.cap; i++)
        pl_factor_free(c->factors.vals[i]);
    for (size_t i = 0; i < c->strategies.cap; i++)
        pl_strategy_free(c->strategies.vals[i]);
    for (size_t i = 0; i < c->datasets.cap; i++)
        pl_dataset_free(c->datasets.vals[i]);
    for (size_t i = 0; i < c->tasks.cap; i++) {
        struct pl_task *t = c->tasks.vals[i];
        if (!t) continue;
        pl_free_msg(t->task);
        free(t->external_id);
        free(t);
    }
    for (size_t i = 0; i < c->pairs.cap; i++) {
        struct pl_pair *p = c->pairs.vals[i];
        if (!p) continue;
        free(p->t);
        free(p);
    }
    pmap_free(&c->factors);
    pmap_free(&c->strategies);
    pmap_free(&c->datasets);
    pmap_free(&c->tasks);
    pmap_free(&c->pairs);
    free(c->results_uri);
    free(c->data_uri);
    free(c->executor);
    free(c->producer);
    free(c);
}

struct pl_task *pl_task_get(struct planner_core *c, const char *plan_id) {
    return pmap_get(&c->tasks, plan_id);
}

/* Finds or creates the entry of a plan. */
static struct pl_task *task_entry(struct planner_core *c, const char *plan_id) {
    struct pl_task *t = pmap_get(&c->tasks, plan_id);
    if (t) return t;
    t = calloc(1, sizeof *t);
    if (!t) abort();
    snprintf(t->plan_id, sizeof t->plan_id, "%s", plan_id);
    pmap_put(&c->tasks, t->plan_id, t);
    return t;
}

void pl_pair_add(struct planner_core *c, struct pl_task *t) {
    char key[512];
    const Btpipe__V1__Task *k = t->task;
    snprintf(key, sizeof key, "%s@%u/%s@%u/%s", k->strategy_id, k->strategy_version, k->factor_id,
             k->factor_version, k->dataset);
    struct pl_pair *p = pmap_get(&c->pairs, key);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p) abort();
        pmap_put(&c->pairs, key, p);
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->t = realloc(p->t, p->cap * sizeof *p->t);
        if (!p->t) abort();
    }
    p->t[p->n++] = t;
    p->sorted = 0;
}

/* Grows a decisions array by one slot. */
static void *grow1(void *arr, size_t n, size_t size) {
    void *r = realloc(arr, (n + 1) * size);
    if (!r) abort();
    return r;
}

/* The Meta of a decided message; the time comes in (the core reads no clock). */
static Btpipe__V1__Meta core_meta(const struct planner_core *c, char *id, int64_t now_ms) {
    Btpipe__V1__Meta m = BTPIPE__V1__META__INIT;
    m.id = id;
    m.produced_at_ms = now_ms;
    m.producer = c->producer;
    m.schema = 1;
    return m;
}

void pl_emit_job(struct planner_core *c, struct pl_task *t, int state, int submit, int64_t now_ms,
                 const char *error, struct planner_decisions *out) {
    t->job_state = state;
    char id[128], manifest[1024];
    snprintf(id, sizeof id, "%s/%d/%u", t->plan_id, state, t->attempts);
    snprintf(manifest, sizeof manifest, "%s/manifests/%s", c->results_uri, t->plan_id);
    Btpipe__V1__Meta meta = core_meta(c, id, now_ms);
    Btpipe__V1__JobRecord r = BTPIPE__V1__JOB_RECORD__INIT;
    Btpipe__V1__Task *tasks[1] = {t->task};
    r.meta = &meta;
    r.plan_id = t->plan_id;
    r.n_tasks = 1;
    r.tasks = tasks;
    r.executor = c->executor;
    r.external_id = t->external_id ? t->external_id : "";
    r.state = state;
    r.attempts = t->attempts;
    r.planned_at_ms = t->planned_at_ms;
    r.submitted_at_ms = t->submitted_at_ms;
    if (state == BTPIPE__V1__JOB_STATE__JOB_STATE_SUCCEEDED ||
        state == BTPIPE__V1__JOB_STATE__JOB_STATE_FAILED)
        r.finished_at_ms = now_ms;
    r.manifest_uri = manifest;
    r.error = (char *)(error ? error : "");
    out->jobs = grow1(out->jobs, out->njobs, sizeof *out->jobs);
    out->jobs[out->njobs].rec = pl_clone(&r);
    out->jobs[out->njobs].submit = submit;
    out->njobs++;
}

int planner_core_on_job(struct planner_core *c, const Btpipe__V1__JobRecord *rec,
                        struct bt_err *err) {
    if (!rec) return 0;
    for (size_t i = 0; i < rec->n_tasks; i++) {
        const Btpipe__V1__Task *k = rec->tasks[i];
        char where[32];
        snprintf(where, sizeof where, "tasks[%zu]", i);
        if (!k->task_key || !*k->task_key || !k->data_version || !*k->data_version ||
            !pl_valid_id(k->strategy_id) || !pl_valid_id(k->factor_id) ||
            !pl_valid_id(k->dataset) || !pl_valid_date(k->from_date) ||
            !pl_valid_date(k->to_date) || strcmp(k->from_date, k->to_date) > 0)
            return bt_err_set(err, BT_EINPUT, where,
                              "job record %s: task lacks a key, version, ids or a date range",
                              rec->plan_id ? rec->plan_id : "");
    }
    for (size_t i = 0; i < rec->n_tasks; i++) {
        const Btpipe__V1__Task *k = rec->tasks[i];
        char pid[33];
        planner_plan_id(k->task_key, k->data_version, pid);
        struct pl_task *t = task_entry(c, pid);
        if (!t->task) {
            t->task = pl_clone(k);
            t->planned_at_ms = rec->planned_at_ms;
            pl_pair_add(c, t);
        }
        if ((int)rec->state > t->job_state) t->job_state = rec->state;
        if (rec->attempts > t->attempts) t->attempts = rec->attempts;
        if (rec->submitted_at_ms > t->submitted_at_ms) t->submitted_at_ms = rec->submitted_at_ms;
    }
    return 0;
}

int planner_core_on_completion(struct planner_core *c, const Btpipe__V1__JobCompletion *comp,
                               struct bt_err *err) {
    if (!comp) return 0;
    if (!comp->task_key || !*comp->task_key)
        return bt_err_set(err, BT_EINPUT, "task_key", "completion without a task_key");
    if (!comp->data_version || !*comp->data_version)
        return bt_err_set(err, BT_EINPUT, "data_version", "completion %s without a data_version",
                          comp->task_key);
    int st = comp->status;
    if (st != BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED &&
        st != BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_FAILED &&
        st != BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT)
        return bt_err_set(err, BT_EINPUT, "status", "completion %s: unknown status %d",
                          comp->task_key, st);
    char pid[33];
    planner_plan_id(comp->task_key, comp->data_version, pid);
    struct pl_task *t = task_entry(c, pid);
    /* A success is final whatever arrives around it; failures never undo it. */
    if (st == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED || t->completion == 0)
        t->completion = st;
    return 0;
}

/* Appends the completion the planner writes when the executor gave up. */
static void emit_failure(struct planner_core *c, struct pl_task *t, uint32_t attempts, int status,
                         const char *error, int64_t now_ms, struct planner_decisions *out) {
    const Btpipe__V1__Task *k = t->task;
    char id[1024];
    snprintf(id, sizeof id, "%s/%s", k->task_key, k->data_version);
    Btpipe__V1__Meta meta = core_meta(c, id, now_ms);
    Btpipe__V1__JobCompletion m = BTPIPE__V1__JOB_COMPLETION__INIT;
    m.meta = &meta;
    m.task_key = k->task_key;
    m.plan_id = t->plan_id;
    m.attempt = attempts;
    m.status = status;
    m.error = (char *)(error ? error : "");
    m.series_uri = "";
    m.data_version = k->data_version;
    m.started_at_ms = t->submitted_at_ms;
    m.finished_at_ms = now_ms;
    m.strategy_id = k->strategy_id;
    m.factor_id = k->factor_id;
    m.dataset = k->dataset;
    m.from_date = k->from_date;
    m.to_date = k->to_date;
    m.strategy_version = k->strategy_version;
    m.factor_version = k->factor_version;
    out->completions = grow1(out->completions, out->ncompletions, sizeof *out->completions);
    out->completions[out->ncompletions++] = pl_clone(&m);
}

int planner_core_on_exec_failed(struct planner_core *c, const char *plan_id, uint32_t attempts,
                                int permanent, const char *error, int64_t now_ms,
                                struct planner_decisions *out, struct bt_err *err) {
    struct pl_task *t = pmap_get(&c->tasks, plan_id);
    if (!t || !t->task) return bt_err_set(err, BT_ENOTFOUND, plan_id, "unknown plan %s", plan_id);
    if (t->completion == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED) return 0;
    int st = permanent ? BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT
                       : BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_FAILED;
    if (t->completion == 0) t->completion = st;
    emit_failure(c, t, attempts, t->completion, error, now_ms, out);
    pl_emit_job(c, t, BTPIPE__V1__JOB_STATE__JOB_STATE_FAILED, 0, now_ms, error, out);
    return 0;
}

int planner_core_on_exec_started(struct planner_core *c, const char *plan_id,
                                 const char *external_id, uint32_t attempt, int64_t now_ms,
                                 struct planner_decisions *out, struct bt_err *err) {
    struct pl_task *t = pmap_get(&c->tasks, plan_id);
    if (!t || !t->task) return bt_err_set(err, BT_ENOTFOUND, plan_id, "unknown plan %s", plan_id);
    (void)attempt; /* executor retries stay inside one submission (attempts) */
    free(t->external_id);
    t->external_id = xstrdup(external_id);
    if (t->completion == 0 && t->job_state < BTPIPE__V1__JOB_STATE__JOB_STATE_RUNNING)
        pl_emit_job(c, t, BTPIPE__V1__JOB_STATE__JOB_STATE_RUNNING, 0, now_ms, NULL, out);
    return 0;
}

int planner_core_decide(struct planner_core *c, int64_t now_ms, struct planner_decisions *out,
                        struct bt_err *err) {
    return pl_expand(c, now_ms, out, err);
}

void planner_decisions_free(struct planner_decisions *d) {
    for (size_t i = 0; i < d->njobs; i++)
        pl_free_msg(d->jobs[i].rec);
    for (size_t i = 0; i < d->ncompletions; i++)
        pl_free_msg(d->completions[i]);
    free(d->jobs);
    free(d->completions);
    memset(d, 0, sizeof *d);
}

void planner_core_stats(const struct planner_core *c, struct planner_stats *s) {
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < c->factors.cap; i++)
        s->factors += c->factors.vals[i] != NULL;
    for (size_t i = 0; i < c->strategies.cap; i++)
        s->strategies += c->strategies.vals[i] != NULL;
    for (size_t i = 0; i < c->datasets.cap; i++) {
        const struct pl_dataset *d = c->datasets.vals[i];
        if (!d) continue;
        s->datasets++;
        s->dates += d->n;
    }
    for (size_t i = 0; i < c->tasks.cap; i++) {
        const struct pl_task *t = c->tasks.vals[i];
        if (!t || !t->task) continue;
        s->tasks_known++;
        if (t->completion == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED)
            s->tasks_succeeded++;
        else if (t->completion)
            s->tasks_failed++;
        else if (t->submitted)
            s->tasks_inflight++;
    }
    s->pairs = c->pairs_active;
    s->pairs_current = c->pairs_current;
    s->pairs_waiting = c->pairs_waiting;
    s->pairs_stuck = c->pairs_stuck;
}

int planner_core_factor_lookback(const struct planner_core *c, const char *factor_id) {
    const struct pl_factor *f = pmap_get(&c->factors, factor_id);
    return f ? f->lookback : -1;
}

const Btpipe__V1__Task *planner_core_task(const struct planner_core *c, const char *plan_id) {
    const struct pl_task *t = pmap_get(&c->tasks, plan_id);
    return t ? t->task : NULL;
}
