/* planner_expand.c -- the per-pair walk that turns the core's state into tasks.
 *
 * See planner_core.h for the rules. The walk is the only place that creates
 * tasks, so every way a task comes to be (new date, new pair, correction,
 * late date, restart) goes through the same few lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "planner_internal.h"

void pl_task_version(const struct pl_dataset *ds, size_t from, size_t to, char out[33]) {
    struct buf b = BUF_INIT;
    buf_printf(&b, "btpipe-task-v1\n%s\nfrom=%s", ds->d[to].chain, ds->d[from].date);
    pl_hex_sha256(b.p, b.len, out, 32);
    buf_free(&b);
}

static int cmp_task(const void *a, const void *b) {
    const Btpipe__V1__Task *x = (*(struct pl_task *const *)a)->task;
    const Btpipe__V1__Task *y = (*(struct pl_task *const *)b)->task;
    int r = strcmp(x->from_date, y->from_date);
    if (r) return r;
    r = strcmp(y->to_date, x->to_date); /* longer first */
    if (r) return r;
    return strcmp(x->data_version, y->data_version);
}

/* Prefers what lets the walk go furthest without new work: a succeeded task,
 * then one in flight, then a failed one (which stops the pair). */
static int rank_of(const struct pl_task *t) {
    if (t->completion == BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED) return 3;
    if (t->completion == 0) return 2;
    return 1;
}

/* The current task starting at ds->d[i], or NULL. *pos is the pair's sorted
 * cursor: the walk only moves forward in date, so it never rescans. */
static struct pl_task *find_current(struct pl_pair *p, size_t *pos, const struct pl_dataset *ds,
                                    size_t i) {
    const char *date = ds->d[i].date;
    while (*pos < p->n && strcmp(p->t[*pos]->task->from_date, date) < 0)
        (*pos)++;
    struct pl_task *best = NULL;
    for (size_t k = *pos; k < p->n && strcmp(p->t[k]->task->from_date, date) == 0; k++) {
        struct pl_task *t = p->t[k];
        long to = pl_date_index(ds, t->task->to_date);
        if (to < (long)i) continue;
        char dv[33];
        pl_task_version(ds, i, (size_t)to, dv);
        if (strcmp(dv, t->task->data_version) != 0) continue;
        if (!best || rank_of(t) > rank_of(best)) best = t; /* sorted: longer first on ties */
    }
    return best;
}

/* Builds and records the task over [ds->d[i], last landed date]. */
static struct pl_task *new_task(struct planner_core *c, const struct pl_strategy *s,
                                const struct pl_factor *f, const struct pl_dataset *ds, size_t i,
                                const struct pl_task *prev, int64_t now_ms) {
    size_t last = ds->n - 1;
    size_t w = (size_t)f->lookback + 1 > i ? 0 : i - ((size_t)f->lookback + 1);
    char dv[33];
    pl_task_version(ds, i, last, dv);
    char pair[512];
    snprintf(pair, sizeof pair, "%s@%u/%s@%u/%s", s->id, s->version, f->id, f->version, ds->name);
    struct buf key = BUF_INIT, data = BUF_INIT, state = BUF_INIT, series = BUF_INIT;
    buf_printf(&key, "%s/%s..%s", pair, ds->d[i].date, ds->d[last].date);
    if (ds->uri[0])
        buf_puts(&data, ds->uri);
    else
        buf_printf(&data, "%s/%s/daily", c->data_uri, ds->name);
    buf_printf(&state, "%s/state/%s/%s/%s", c->results_uri, pair, ds->d[last].date, dv);
    buf_printf(&series, "%s/series/%s/%s_%s/%s.csv", c->results_uri, pair, ds->d[i].date,
               ds->d[last].date, dv);

    Btpipe__V1__Task t = BTPIPE__V1__TASK__INIT;
    t.task_key = key.p;
    t.strategy_id = s->id;
    t.strategy_version = s->version;
    t.factor_id = f->id;
    t.factor_version = f->version;
    t.dataset = ds->name;
    t.from_date = (char *)ds->d[i].date;
    t.to_date = (char *)ds->d[last].date;
    t.warmup_from = (char *)ds->d[w].date;
    t.data_version = dv;
    t.expr = f->expr;
    t.kind = s->spec->kind;
    t.n_params = s->spec->n_params;
    t.params = s->spec->params;
    t.data_uri = data.p;
    t.state_in_uri = prev ? prev->task->state_out_uri : "";
    t.state_out_uri = state.p;
    t.series_uri = series.p;
    t.layout = "daily";

    struct pl_task *pt = calloc(1, sizeof *pt);
    if (!pt) abort();
    planner_plan_id(t.task_key, dv, pt->plan_id);
    pt->task = pl_clone(&t);
    pt->planned_at_ms = now_ms;
    buf_free(&key);
    buf_free(&data);
    buf_free(&state);
    buf_free(&series);
    /* A task with this plan_id may be known from a completion only. */
    struct pl_task *known = pl_task_get(c, pt->plan_id);
    if (known) {
        if (known->task) { /* cannot happen: find_current would have found it */
            pl_free_msg(pt->task);
            free(pt);
            return known;
        }
        known->task = pt->task;
        known->planned_at_ms = now_ms;
        free(pt);
        pt = known;
    } else {
        pmap_put(&c->tasks, pt->plan_id, pt);
    }
    pl_pair_add(c, pt);
    return pt;
}

enum walk_end { WALK_CURRENT, WALK_WAITING, WALK_STUCK };

/* Walks one pair; appends what to publish/submit. Returns how the walk ended. */
static enum walk_end walk_pair(struct planner_core *c, const struct pl_strategy *s,
                               const struct pl_factor *f, const struct pl_dataset *ds,
                               int64_t now_ms, struct planner_decisions *out) {
    char key[512];
    snprintf(key, sizeof key, "%s@%u/%s@%u/%s", s->id, s->version, f->id, f->version, ds->name);
    struct pl_pair *p = pmap_get(&c->pairs, key);
    if (p && !p->sorted) {
        qsort(p->t, p->n, sizeof *p->t, cmp_task);
        p->sorted = 1;
    }
    struct pl_pair empty = {0};
    if (!p) p = &empty;
    size_t i = 0, pos = 0;
    struct pl_task *prev = NULL;
    while (i < ds->n) {
        struct pl_task *t = find_current(p, &pos, ds, i);
        if (!t) {
            /* Released only behind a succeeded predecessor: it needs its state. */
            if (prev &&
                prev->completion != BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED)
                return WALK_WAITING;
            t = new_task(c, s, f, ds, i, prev, now_ms);
            if (p == &empty) p = pmap_get(&c->pairs, key);
        }
        if (t->completion == 0) {
            if (!t->submitted) {
                t->submitted = 1;
                t->attempts++;
                t->submitted_at_ms = now_ms;
                pl_emit_job(c, t, BTPIPE__V1__JOB_STATE__JOB_STATE_SUBMITTED, 1, now_ms, NULL, out);
            }
            return WALK_WAITING;
        }
        if (t->completion != BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED) {
            if (t->job_state != BTPIPE__V1__JOB_STATE__JOB_STATE_FAILED)
                pl_emit_job(c, t, BTPIPE__V1__JOB_STATE__JOB_STATE_FAILED, 0, now_ms, NULL, out);
            return WALK_STUCK;
        }
        if (t->job_state != BTPIPE__V1__JOB_STATE__JOB_STATE_SUCCEEDED)
            pl_emit_job(c, t, BTPIPE__V1__JOB_STATE__JOB_STATE_SUCCEEDED, 0, now_ms, NULL, out);
        prev = t;
        i = (size_t)pl_date_index(ds, t->task->to_date) + 1;
    }
    return WALK_CURRENT;
}

int pl_expand(struct planner_core *c, int64_t now_ms, struct planner_decisions *out,
              struct bt_err *err) {
    (void)err;
    size_t ns, nf, nd;
    const char **sk = pmap_sorted_keys(&c->strategies, &ns);
    const char **fk = pmap_sorted_keys(&c->factors, &nf);
    const char **dk = pmap_sorted_keys(&c->datasets, &nd);
    c->pairs_active = c->pairs_current = c->pairs_waiting = c->pairs_stuck = 0;
    for (size_t di = 0; di < nd; di++) {
        const struct pl_dataset *ds = pmap_get(&c->datasets, dk[di]);
        if (!ds->n) continue;
        for (size_t si = 0; si < ns; si++) {
            const struct pl_strategy *s = pmap_get(&c->strategies, sk[si]);
            for (size_t fi = 0; fi < nf; fi++) {
                const struct pl_factor *f = pmap_get(&c->factors, fk[fi]);
                if (f->universe[0] && strcmp(f->universe, ds->name) != 0) continue;
                c->pairs_active++;
                switch (walk_pair(c, s, f, ds, now_ms, out)) {
                case WALK_CURRENT: c->pairs_current++; break;
                case WALK_WAITING: c->pairs_waiting++; break;
                case WALK_STUCK: c->pairs_stuck++; break;
                }
            }
        }
    }
    free(sk);
    free(fk);
    free(dk);
    return 0;
}
