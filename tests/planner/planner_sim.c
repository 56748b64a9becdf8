/* planner_sim.c -- see planner_sim.h. */
#include "planner_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner_engine.h"

static void *clone_msg(const void *msg) {
    const ProtobufCMessage *m = msg;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    protobuf_c_message_pack(m, b);
    void *r = protobuf_c_message_unpack(m->descriptor, NULL, n, b);
    free(b);
    return r;
}

static void new_core(struct sim *s) {
    struct planner_config cfg = {0};
    cfg.results_uri = "s3://results";
    cfg.data_uri = "s3://data";
    cfg.executor = "local";
    cfg.producer = "sim";
    planner_engine_hooks(&cfg.hooks);
    struct bt_err err = BT_ERR_INIT;
    if (planner_core_new(&cfg, &s->core, &err) != 0) {
        fprintf(stderr, "planner_core_new: %s\n", err.msg);
        abort();
    }
}

void sim_init(struct sim *s) {
    memset(s, 0, sizeof *s);
    s->now = 1700000000000;
    new_core(s);
}

static void log_add(struct sim *s, enum sim_topic t, const char *key, void *msg) {
    s->log = realloc(s->log, (s->nlog + 1) * sizeof *s->log);
    s->log[s->nlog].topic = t;
    s->log[s->nlog].key = strdup(key);
    s->log[s->nlog].msg = msg;
    s->nlog++;
}

void sim_free(struct sim *s) {
    planner_core_free(s->core);
    for (size_t i = 0; i < s->nlog; i++) {
        free(s->log[i].key);
        if (s->log[i].msg) protobuf_c_message_free_unpacked(s->log[i].msg, NULL);
    }
    free(s->log);
    for (size_t i = 0; i < s->nrunning; i++)
        free(s->running[i]);
    free(s->running);
    for (size_t i = 0; i < s->nsubs; i++)
        protobuf_c_message_free_unpacked(&s->subs[i]->base, NULL);
    free(s->subs);
    memset(s, 0, sizeof *s);
}

/* Feeds one logged message to the current core. */
static int feed(struct sim *s, const struct sim_msg *m) {
    struct bt_err err = BT_ERR_INIT;
    switch (m->topic) {
    case SIM_FACTORS: return planner_core_on_factor(s->core, m->key, m->msg, &err);
    case SIM_STRATEGIES: return planner_core_on_strategy(s->core, m->key, m->msg, &err);
    case SIM_DATA: return planner_core_on_increment(s->core, m->msg, &err);
    case SIM_JOBS: return planner_core_on_job(s->core, m->msg, &err);
    case SIM_COMPLETIONS: return planner_core_on_completion(s->core, m->msg, &err);
    }
    return -1;
}

static int add_and_feed(struct sim *s, enum sim_topic t, const char *key, void *msg) {
    log_add(s, t, key, msg);
    return feed(s, &s->log[s->nlog - 1]);
}

int sim_factor(struct sim *s, const char *id, uint32_t ver, const char *expr,
               const char *universe) {
    Btpipe__V1__FactorSpec f = BTPIPE__V1__FACTOR_SPEC__INIT;
    f.factor_id = (char *)id;
    f.version = ver;
    f.expr = (char *)expr;
    f.universe = (char *)(universe ? universe : "");
    return add_and_feed(s, SIM_FACTORS, id, clone_msg(&f));
}

int sim_factor_tombstone(struct sim *s, const char *id) {
    return add_and_feed(s, SIM_FACTORS, id, NULL);
}

int sim_strategy(struct sim *s, const char *id, uint32_t ver, int kind, const char *const *params) {
    Btpipe__V1__StrategySpec st = BTPIPE__V1__STRATEGY_SPEC__INIT;
    Btpipe__V1__Param pv[16], *pp[16];
    char kbuf[16][64];
    size_t n = 0;
    for (; params && params[n] && n < 16; n++) {
        btpipe__v1__param__init(&pv[n]);
        const char *eq = strchr(params[n], '=');
        snprintf(kbuf[n], sizeof kbuf[n], "%.*s", (int)(eq - params[n]), params[n]);
        pv[n].key = kbuf[n];
        pv[n].value = (char *)eq + 1;
        pp[n] = &pv[n];
    }
    st.strategy_id = (char *)id;
    st.version = ver;
    st.kind = kind;
    st.n_params = n;
    st.params = pp;
    return add_and_feed(s, SIM_STRATEGIES, id, clone_msg(&st));
}

int sim_increment(struct sim *s, const char *ds, const char *date, const char *version,
                  int64_t detected) {
    Btpipe__V1__DataIncrement inc = BTPIPE__V1__DATA_INCREMENT__INIT;
    char key[64];
    snprintf(key, sizeof key, "%s/%s", ds, date);
    inc.dataset = (char *)ds;
    inc.trading_date = (char *)date;
    inc.data_version = (char *)version;
    inc.detected_at_ms = detected;
    inc.layout = "daily";
    return add_and_feed(s, SIM_DATA, key, clone_msg(&inc));
}

static long running_index(const struct sim *s, const char *plan_id) {
    for (size_t i = 0; i < s->nrunning; i++)
        if (strcmp(s->running[i], plan_id) == 0) return (long)i;
    return -1;
}

/* True when a SUCCEEDED completion for the task writing `state` is logged. */
static int state_ready(const struct sim *s, const char *state) {
    for (size_t i = 0; i < s->nsubs; i++) {
        const Btpipe__V1__Task *t = s->subs[i]->tasks[0];
        if (strcmp(t->state_out_uri, state) != 0) continue;
        for (size_t j = 0; j < s->nlog; j++) {
            const Btpipe__V1__JobCompletion *c = s->log[j].msg;
            if (s->log[j].topic == SIM_COMPLETIONS && c && strcmp(c->task_key, t->task_key) == 0 &&
                strcmp(c->data_version, t->data_version) == 0 &&
                c->status == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED)
                return 1;
        }
    }
    return 0;
}

static void violation(struct sim *s, const char *what, const char *key) {
    s->violations++;
    snprintf(s->violation, sizeof s->violation, "%s: %s", what, key);
}

static void carry_out(struct sim *s, struct planner_decisions *d) {
    for (size_t i = 0; i < d->njobs; i++) {
        Btpipe__V1__JobRecord *r = d->jobs[i].rec;
        log_add(s, SIM_JOBS, r->plan_id, clone_msg(r));
        s->last_jobs++;
        if (!d->jobs[i].submit) continue;
        const Btpipe__V1__Task *t = r->tasks[0];
        if (running_index(s, r->plan_id) >= 0) violation(s, "submitted while running", t->task_key);
        if (t->state_in_uri[0] && !state_ready(s, t->state_in_uri))
            violation(s, "submitted before its state exists", t->task_key);
        s->running = realloc(s->running, (s->nrunning + 1) * sizeof *s->running);
        s->running[s->nrunning++] = strdup(r->plan_id);
        s->subs = realloc(s->subs, (s->nsubs + 1) * sizeof *s->subs);
        s->subs[s->nsubs++] = clone_msg(r);
        s->last_subs++;
    }
    for (size_t i = 0; i < d->ncompletions; i++) {
        Btpipe__V1__JobCompletion *c = d->completions[i];
        long k = running_index(s, c->plan_id);
        if (k >= 0) {
            free(s->running[k]);
            s->running[k] = s->running[--s->nrunning];
        }
        log_add(s, SIM_COMPLETIONS, c->task_key, clone_msg(c));
    }
}

size_t sim_decide(struct sim *s) {
    struct planner_decisions d = {0};
    struct bt_err err = BT_ERR_INIT;
    s->now += 1000;
    s->last_subs = s->last_jobs = 0;
    size_t before = s->nsubs;
    if (planner_core_decide(s->core, s->now, &d, &err) != 0) violation(s, "decide failed", err.msg);
    carry_out(s, &d);
    planner_decisions_free(&d);
    return s->nsubs - before;
}

const Btpipe__V1__Task *sim_sub(const struct sim *s, size_t i) {
    if (i >= s->last_subs) return NULL;
    return s->subs[s->nsubs - s->last_subs + i]->tasks[0];
}

void sim_complete(struct sim *s, const char *plan_id, int status) {
    const Btpipe__V1__Task *t = planner_core_task(s->core, plan_id);
    if (!t) {
        violation(s, "completing an unknown plan", plan_id);
        return;
    }
    Btpipe__V1__JobCompletion c = BTPIPE__V1__JOB_COMPLETION__INIT;
    c.task_key = t->task_key;
    c.plan_id = (char *)plan_id;
    c.status = status;
    c.data_version = t->data_version;
    c.strategy_id = t->strategy_id;
    c.factor_id = t->factor_id;
    c.dataset = t->dataset;
    c.from_date = t->from_date;
    c.to_date = t->to_date;
    Btpipe__V1__JobCompletion *m = clone_msg(&c);
    long k = running_index(s, plan_id);
    if (k >= 0) {
        free(s->running[k]);
        s->running[k] = s->running[--s->nrunning];
    }
    add_and_feed(s, SIM_COMPLETIONS, m->task_key, m);
}

size_t sim_complete_all(struct sim *s) {
    size_t n = 0;
    while (s->nrunning) {
        char *id = strdup(s->running[0]);
        sim_complete(s, id, BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED);
        free(id);
        n++;
    }
    return n;
}

void sim_crash(struct sim *s, unsigned rot) {
    planner_core_free(s->core);
    new_core(s);
    for (size_t i = 0; i < s->nrunning; i++)
        free(s->running[i]);
    s->nrunning = 0;
    for (unsigned k = 0; k < 5; k++) {
        enum sim_topic t = (enum sim_topic)((k + rot) % 5);
        for (size_t i = 0; i < s->nlog; i++)
            if (s->log[i].topic == t) feed(s, &s->log[i]);
    }
}

void sim_redeliver(struct sim *s, size_t i) {
    if (i < s->nlog) feed(s, &s->log[i]);
}
