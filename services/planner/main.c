/* btpipe-planner -- turns registrations, landed dates and completions into tasks.
 *
 * Wiring only (the decisions are planner_core's): rebuild the core from the
 * compacted topics, then loop: consume, let the core decide, make the
 * decisions durable (manifest written, JobRecords/completions flushed),
 * only then start the runners and commit the consumed offsets. A crash
 * anywhere repeats work with the same ids; it never loses a task. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadletter.h"
#include "executor.h"
#include "executor_batch.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "planner_core.h"
#include "planner_engine.h"
#include "service.h"
#include "shutdown.h"
#include "storage.h"

static const char usage[] =
    "usage: btpipe-planner [--help]\n"
    "\n"
    "Consumes <prefix>.factors, .strategies, .data.landed and .completions (group\n"
    "btpipe-planner), plans backtest tasks (backfill for new pairs, one task per\n"
    "new date, re-plans on corrections), writes each task's manifest to\n"
    "<results>/manifests/<plan_id>, publishes JobRecords to <prefix>.jobs and runs\n"
    "the tasks with the executor. See docs/planner.md.\n"
    "\n"
    "Settings:\n"
    "  BTPIPE_RESULTS_BUCKET   results bucket: series, state, manifests (required\n"
    "                          unless BTPIPE_RESULTS_URI is set)\n"
    "  BTPIPE_RESULTS_URI      results root instead, e.g. file:///tmp/results\n"
    "  BTPIPE_DATA_BUCKET      data root s3://<bucket>/<dataset>/daily for increments\n"
    "                          that carry no uri (optional)\n"
    "  BTPIPE_PLANNER_GROUP    consumer group (default <topic prefix>.planner)\n"
    "  BTPIPE_EXECUTOR         local (default) | aws-batch\n"
    "  BTPIPE_LOCAL_WORKERS    runner processes at once (default 2, 1..256)\n"
    "  BTPIPE_RUNNER_PATH      runner binary (default: btpipe-runner beside this\n"
    "                          binary, else ../runner/btpipe-runner)\n"
    "  BTPIPE_TASK_TIMEOUT_S   per attempt, then killed (default 3600)\n"
    "  BTPIPE_TASK_RETRIES     retries of transient failures (default 2, 0..20)\n"
    "  BTPIPE_TASK_BACKOFF_MS  first retry delay, doubling, max 60 s (default 1000)\n"
    "  BTPIPE_BATCH_JOB_QUEUE, BTPIPE_BATCH_JOB_DEFINITION  aws-batch: where and what\n"
    "                          (the definition's image holds btpipe-runner and the\n"
    "                          Kafka/S3 settings in its environment)\n"
    "  BTPIPE_BATCH_RUNNER     aws-batch: command word for the runner (btpipe-runner)\n"
    "  BTPIPE_BATCH_POLL_MS    aws-batch: DescribeJobs interval (default 5000)\n"
    "  AWS_ENDPOINT_URL_BATCH  aws-batch: endpoint override\n"
    "  AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,\n"
    "  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, BTPIPE_S3_PATH_STYLE\n"
    "                          the S3 client (manifests); runners inherit them\n"
    "\n"
    "SIGTERM/SIGINT: stops consuming, terminates running runners (tasks are\n"
    "idempotent; the next planner re-submits them), flushes, commits, exits 0.\n";

struct planner {
    struct service svc;
    struct planner_core *core;
    struct kafka_producer *prod;
    struct kafka_consumer *cons;
    struct storage *st;
    struct executor *ex;
    const char *t_factors, *t_strategies, *t_data, *t_jobs, *t_completions;
    struct planner_decisions pending; /* decided, not yet durable */
    int dirty;                        /* input arrived since the last decide */
    int marked;                       /* consumed offsets waiting for a commit */
    struct metric *m_msgs, *m_dead, *m_submitted, *m_retried, *m_failed, *m_exited_ok;
    struct metric *g_pairs, *g_current, *g_waiting, *g_stuck, *g_inflight, *g_dates;
};

/* Decodes one message of any input topic and feeds it to the core. */
static int apply_msg(struct planner *pl, const struct kafka_msg *m, struct bt_err *err) {
    const uint8_t *v = m->value;
    size_t n = m->value_len;
    char key[512];
    snprintf(key, sizeof key, "%.*s", (int)(m->key ? m->key_len : 0),
             m->key ? (const char *)m->key : "");
    int rc = 0;
    if (strcmp(m->topic, pl->t_factors) == 0) {
        Btpipe__V1__FactorSpec *f = v ? btpipe__v1__factor_spec__unpack(NULL, n, v) : NULL;
        if (v && !f) return bt_err_set(err, BT_EINPUT, "value", "does not decode as FactorSpec");
        rc = planner_core_on_factor(pl->core, key, f, err);
        if (f) btpipe__v1__factor_spec__free_unpacked(f, NULL);
    } else if (strcmp(m->topic, pl->t_strategies) == 0) {
        Btpipe__V1__StrategySpec *s = v ? btpipe__v1__strategy_spec__unpack(NULL, n, v) : NULL;
        if (v && !s) return bt_err_set(err, BT_EINPUT, "value", "does not decode as StrategySpec");
        rc = planner_core_on_strategy(pl->core, key, s, err);
        if (s) btpipe__v1__strategy_spec__free_unpacked(s, NULL);
    } else if (strcmp(m->topic, pl->t_data) == 0) {
        if (!v) return 0;
        Btpipe__V1__DataIncrement *d = btpipe__v1__data_increment__unpack(NULL, n, v);
        if (!d) return bt_err_set(err, BT_EINPUT, "value", "does not decode as DataIncrement");
        rc = planner_core_on_increment(pl->core, d, err);
        btpipe__v1__data_increment__free_unpacked(d, NULL);
    } else if (strcmp(m->topic, pl->t_jobs) == 0) {
        if (!v) return 0;
        Btpipe__V1__JobRecord *j = btpipe__v1__job_record__unpack(NULL, n, v);
        if (!j) return bt_err_set(err, BT_EINPUT, "value", "does not decode as JobRecord");
        rc = planner_core_on_job(pl->core, j, err);
        btpipe__v1__job_record__free_unpacked(j, NULL);
    } else if (strcmp(m->topic, pl->t_completions) == 0) {
        if (!v) return 0;
        Btpipe__V1__JobCompletion *c = btpipe__v1__job_completion__unpack(NULL, n, v);
        if (!c) return bt_err_set(err, BT_EINPUT, "value", "does not decode as JobCompletion");
        rc = planner_core_on_completion(pl->core, c, err);
        btpipe__v1__job_completion__free_unpacked(c, NULL);
    }
    return rc;
}

/* kafka_read_all callback: state rebuild; bad messages were (or will be)
 * dead-lettered by the group consumer, so they are only logged here. */
static int rebuild_one(const struct kafka_msg *m, void *ud) {
    struct planner *pl = ud;
    struct bt_err err = BT_ERR_INIT;
    if (apply_msg(pl, m, &err) != 0) {
        char off[64];
        snprintf(off, sizeof off, "%s/%d/%lld", m->topic, (int)m->partition, (long long)m->offset);
        log_event(LOG_DEBUG, "skipped while rebuilding", "at", off, "error", err.msg, NULL);
    }
    return 0;
}

/* Moves b's decisions to the end of a. */
static void decisions_append(struct planner_decisions *a, struct planner_decisions *b) {
    if (b->njobs) {
        a->jobs = realloc(a->jobs, (a->njobs + b->njobs) * sizeof *a->jobs);
        if (!a->jobs) abort();
        memcpy(a->jobs + a->njobs, b->jobs, b->njobs * sizeof *b->jobs);
        a->njobs += b->njobs;
    }
    if (b->ncompletions) {
        a->completions =
            realloc(a->completions, (a->ncompletions + b->ncompletions) * sizeof *a->completions);
        if (!a->completions) abort();
        memcpy(a->completions + a->ncompletions, b->completions,
               b->ncompletions * sizeof *b->completions);
        a->ncompletions += b->ncompletions;
    }
    free(b->jobs);
    free(b->completions);
    memset(b, 0, sizeof *b);
}

/* Makes the pending decisions durable, then starts what they submit and
 * commits the consumed offsets. On failure everything stays pending and is
 * tried again (same ids: repeats are harmless). */
static int apply_effects(struct planner *pl, struct bt_err *err) {
    struct planner_decisions *d = &pl->pending;
    struct buf val = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < d->njobs && !rc; i++) {
        Btpipe__V1__JobRecord *r = d->jobs[i].rec;
        buf_reset(&val);
        msg_pack(&r->base, &val);
        if (d->jobs[i].submit &&
            (rc = storage_write(pl->st, r->manifest_uri, val.p, val.len, err)) != 0)
            break;
        rc = kafka_produce(pl->prod, pl->t_jobs, r->plan_id, strlen(r->plan_id), val.p, val.len,
                           err);
    }
    for (size_t i = 0; i < d->ncompletions && !rc; i++) {
        Btpipe__V1__JobCompletion *c = d->completions[i];
        buf_reset(&val);
        msg_pack(&c->base, &val);
        rc = kafka_produce(pl->prod, pl->t_completions, c->task_key, strlen(c->task_key), val.p,
                           val.len, err);
    }
    if (!rc) rc = kafka_producer_flush(pl->prod, 10000, err);
    buf_free(&val);
    if (rc) return rc;
    for (size_t i = 0; i < d->njobs; i++) {
        Btpipe__V1__JobRecord *r = d->jobs[i].rec;
        if (!d->jobs[i].submit) continue;
        struct bt_err e2 = BT_ERR_INIT;
        if (pl->ex->ops->submit(pl->ex, r->plan_id, r->manifest_uri, &e2) != 0) {
            log_event(LOG_WARN, "not submitted", "plan_id", r->plan_id, "error", e2.msg, NULL);
            continue;
        }
        metric_add(pl->m_submitted, 1);
        char nt[16];
        snprintf(nt, sizeof nt, "%zu", r->n_tasks);
        log_event(LOG_INFO, "submitted", "plan_id", r->plan_id, "task_key",
                  r->n_tasks ? r->tasks[0]->task_key : "", "manifest", r->manifest_uri, NULL);
    }
    planner_decisions_free(d);
    if (pl->marked) {
        if ((rc = kafka_consumer_commit(pl->cons, err)) != 0) return rc;
        pl->marked = 0;
    }
    return 0;
}

/* Executor events -> log, metrics and the core's view of the plan. */
static void handle_exec_events(struct planner *pl) {
    struct executor_event ev[32];
    size_t n = pl->ex->ops->poll(pl->ex, msg_now_ms(), ev, 32);
    for (size_t i = 0; i < n; i++) {
        struct planner_decisions d = {0};
        struct bt_err err = BT_ERR_INIT;
        char att[16];
        snprintf(att, sizeof att, "%u", ev[i].attempt);
        switch (ev[i].kind) {
        case EXEC_STARTED:
            log_event(LOG_INFO, "runner started", "plan_id", ev[i].plan_id, "id", ev[i].external_id,
                      "attempt", att, NULL);
            planner_core_on_exec_started(pl->core, ev[i].plan_id, ev[i].external_id, ev[i].attempt,
                                         msg_now_ms(), &d, &err);
            break;
        case EXEC_RETRYING:
            metric_add(pl->m_retried, 1);
            log_event(LOG_WARN, "runner failed; retrying", "plan_id", ev[i].plan_id, "attempt", att,
                      "why", ev[i].error, NULL);
            break;
        case EXEC_SUCCEEDED:
            metric_add(pl->m_exited_ok, 1);
            log_event(LOG_INFO, "runner done", "plan_id", ev[i].plan_id, "attempt", att, NULL);
            break;
        case EXEC_FAILED:
            metric_add(pl->m_failed, 1);
            log_event(LOG_ERROR, ev[i].permanent ? "task rejected its input" : "task failed",
                      "plan_id", ev[i].plan_id, "attempt", att, "why", ev[i].error, NULL);
            planner_core_on_exec_failed(pl->core, ev[i].plan_id, ev[i].attempt, ev[i].permanent,
                                        ev[i].error, msg_now_ms(), &d, &err);
            break;
        }
        decisions_append(&pl->pending, &d);
    }
}

static void update_gauges(struct planner *pl) {
    struct planner_stats s;
    planner_core_stats(pl->core, &s);
    metric_set(pl->g_pairs, (double)s.pairs);
    metric_set(pl->g_current, (double)s.pairs_current);
    metric_set(pl->g_waiting, (double)s.pairs_waiting);
    metric_set(pl->g_stuck, (double)s.pairs_stuck);
    metric_set(pl->g_dates, (double)s.dates);
    metric_set(pl->g_inflight, (double)pl->ex->ops->inflight(pl->ex));
}

/* BTPIPE_RUNNER_PATH, else btpipe-runner beside us, else the build tree's. */
static int runner_path(const struct config *cfg, char *out, size_t cap) {
    const char *p = config_get(cfg, "BTPIPE_RUNNER_PATH");
    if (p) {
        snprintf(out, cap, "%s", p);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = 0;
    char *dir = dirname(self);
    snprintf(out, cap, "%s/btpipe-runner", dir);
    if (access(out, X_OK) == 0) return 0;
    snprintf(out, cap, "%s/../runner/btpipe-runner", dir);
    return 0;
}

static int setup(struct planner *pl, struct bt_err *err) {
    const struct config *cfg = &pl->svc.cfg;
    int rc;
    struct buf results = BUF_INIT, data = BUF_INIT;
    const char *ru = config_get(cfg, "BTPIPE_RESULTS_URI");
    if (ru) {
        buf_puts(&results, ru);
    } else {
        const char *bucket = NULL;
        if ((rc = config_require(cfg, "BTPIPE_RESULTS_BUCKET", &bucket, err))) goto fail;
        buf_printf(&results, "s3://%s", bucket);
    }
    const char *db = config_get(cfg, "BTPIPE_DATA_BUCKET");
    if (db) buf_printf(&data, "s3://%s", db);
    const char *exname = config_get_default(cfg, "BTPIPE_EXECUTOR", "local");
    if (strcmp(exname, "local") != 0 && strcmp(exname, "aws-batch") != 0) {
        rc = bt_err_set(err, BT_ECONFIG, "BTPIPE_EXECUTOR",
                        "BTPIPE_EXECUTOR='%.32s' is not one of local, aws-batch", exname);
        goto fail;
    }
    long workers, timeout_s, retries, backoff, poll_ms;
    if ((rc = config_int(cfg, "BTPIPE_LOCAL_WORKERS", 2, 1, 256, &workers, err))) goto fail;
    if ((rc = config_int(cfg, "BTPIPE_TASK_TIMEOUT_S", 3600, 1, 7 * 86400, &timeout_s, err)))
        goto fail;
    if ((rc = config_int(cfg, "BTPIPE_TASK_RETRIES", 2, 0, 20, &retries, err))) goto fail;
    if ((rc = config_int(cfg, "BTPIPE_TASK_BACKOFF_MS", 1000, 0, 600000, &backoff, err))) goto fail;
    if ((rc = config_int(cfg, "BTPIPE_BATCH_POLL_MS", 5000, 200, 600000, &poll_ms, err))) goto fail;
    char rpath[PATH_MAX] = "";
    if (strcmp(exname, "aws-batch") == 0) {
        struct executor_batch_config bc = {0};
        bc.job_queue = config_get(cfg, "BTPIPE_BATCH_JOB_QUEUE");
        bc.job_definition = config_get(cfg, "BTPIPE_BATCH_JOB_DEFINITION");
        bc.runner_command = config_get_default(cfg, "BTPIPE_BATCH_RUNNER", "btpipe-runner");
        bc.retries = (int)retries;
        bc.timeout_s = (int)timeout_s;
        bc.poll_ms = (int)poll_ms;
        snprintf(rpath, sizeof rpath, "%s (in Batch)", bc.runner_command);
        if ((rc = executor_batch_new(cfg, &bc, &pl->ex, err))) goto fail;
    } else {
        if (runner_path(cfg, rpath, sizeof rpath) != 0) {
            rc = bt_err_set(err, BT_ECONFIG, "BTPIPE_RUNNER_PATH", "cannot locate btpipe-runner");
            goto fail;
        }
        struct executor_local_config lc = {rpath, (int)workers, (int)timeout_s, (int)retries,
                                           (int)backoff};
        if ((rc = executor_local_new(&lc, &pl->ex, err))) goto fail;
    }

    struct planner_config pc = {0};
    pc.results_uri = results.p;
    pc.data_uri = data.len ? data.p : NULL;
    pc.executor = exname;
    pc.producer = "planner";
    planner_engine_hooks(&pc.hooks);
    if ((rc = planner_core_new(&pc, &pl->core, err))) goto fail;
    if ((rc = storage_new(cfg, &pl->st, err))) goto fail;
    if ((rc = kafka_ensure_topics(cfg, err))) goto fail;
    pl->t_factors = kafka_topic_name(cfg, TOPIC_FACTORS);
    pl->t_strategies = kafka_topic_name(cfg, TOPIC_STRATEGIES);
    pl->t_data = kafka_topic_name(cfg, TOPIC_DATA_LANDED);
    pl->t_jobs = kafka_topic_name(cfg, TOPIC_JOBS);
    pl->t_completions = kafka_topic_name(cfg, TOPIC_COMPLETIONS);
    if ((rc = kafka_producer_new(cfg, &pl->prod, err))) goto fail;
    log_event(LOG_INFO, "configured", "results", results.p, "data", data.len ? data.p : "",
              "executor", exname, "runner", rpath, NULL);
fail:
    buf_free(&results);
    buf_free(&data);
    return rc;
}

static int rebuild(struct planner *pl, struct bt_err *err) {
    const char *topics[] = {pl->t_factors, pl->t_strategies, pl->t_data, pl->t_jobs,
                            pl->t_completions};
    for (size_t i = 0; i < 5; i++) {
        int rc = service_read_all(&pl->svc, topics[i], rebuild_one, pl, err);
        if (rc) return rc;
    }
    struct planner_stats s;
    planner_core_stats(pl->core, &s);
    char f[16], st[16], d[16], t[16];
    snprintf(f, sizeof f, "%zu", s.factors);
    snprintf(st, sizeof st, "%zu", s.strategies);
    snprintf(d, sizeof d, "%zu", s.dates);
    snprintf(t, sizeof t, "%zu", s.tasks_known);
    log_event(LOG_INFO, "state rebuilt", "factors", f, "strategies", st, "dates", d, "tasks", t,
              NULL);
    return 0;
}

static void register_metrics(struct planner *pl) {
    pl->m_msgs = metrics_counter("btpipe_planner_messages_total", "input messages consumed");
    pl->m_dead = metrics_counter("btpipe_planner_deadletters_total", "messages dead-lettered");
    pl->m_submitted = metrics_counter("btpipe_planner_tasks_submitted_total", "plans submitted");
    pl->m_retried = metrics_counter("btpipe_planner_task_retries_total", "attempts retried");
    pl->m_failed = metrics_counter("btpipe_planner_tasks_failed_total", "plans given up on");
    pl->m_exited_ok =
        metrics_counter("btpipe_planner_runner_ok_total", "runner processes that exited 0");
    pl->g_pairs = metrics_gauge("btpipe_planner_pairs", "active pairs");
    pl->g_current = metrics_gauge("btpipe_planner_pairs_current", "pairs covering every date");
    pl->g_waiting = metrics_gauge("btpipe_planner_pairs_waiting", "pairs with a task running");
    pl->g_stuck = metrics_gauge("btpipe_planner_pairs_stuck", "pairs stopped by a failed task");
    pl->g_inflight = metrics_gauge("btpipe_planner_plans_inflight", "plans queued or running");
    pl->g_dates = metrics_gauge("btpipe_planner_landed_dates", "landed dates known");
}

/* Handles one consumed message: core, or dead letter. */
static void consume_one(struct planner *pl, const struct kafka_msg *m) {
    struct bt_err err = BT_ERR_INIT;
    metric_add(pl->m_msgs, 1);
    int rc = apply_msg(pl, m, &err);
    if (rc == BT_EINPUT) {
        struct bt_err e2 = BT_ERR_INIT;
        metric_add(pl->m_dead, 1);
        log_event(LOG_WARN, "dead-lettering", "topic", m->topic, "reason", err.msg, "where",
                  err.where, NULL);
        if (deadletter_send(pl->prod, &pl->svc.cfg, pl->svc.name, m, err.msg, err.where, &e2))
            log_event(LOG_ERROR, "dead letter not sent", "error", e2.msg, NULL);
    } else if (rc) {
        log_event(LOG_ERROR, "message not applied", "topic", m->topic, "error", err.msg, NULL);
    }
    kafka_consumer_mark(pl->cons, m);
    pl->marked = 1;
    pl->dirty = 1;
}

static void run_loop(struct planner *pl) {
    int64_t last_fail = 0;
    while (!shutdown_requested()) {
        struct kafka_msg m;
        struct bt_err err = BT_ERR_INIT;
        int rc = kafka_consumer_poll(pl->cons, 100, &m, &err);
        for (int k = 0; rc == 1 && k < 500; k++) {
            consume_one(pl, &m);
            rc = kafka_consumer_poll(pl->cons, 0, &m, &err);
        }
        if (rc < 0) log_event(LOG_WARN, "poll failed", "error", err.msg, NULL);
        handle_exec_events(pl);
        if (pl->dirty) {
            struct planner_decisions d = {0};
            planner_core_decide(pl->core, msg_now_ms(), &d, &err);
            decisions_append(&pl->pending, &d);
            pl->dirty = 0;
            update_gauges(pl);
        }
        if ((pl->pending.njobs || pl->pending.ncompletions || pl->marked) &&
            msg_now_ms() - last_fail > 1000) {
            if (apply_effects(pl, &err) != 0) {
                last_fail = msg_now_ms();
                log_event(LOG_ERROR, "effects not durable yet; retrying", "error", err.msg, "where",
                          err.where, NULL);
            }
        }
        if (!pl->dirty) update_gauges(pl);
    }
}

int main(int argc, char **argv) {
    struct planner pl;
    struct bt_err err = BT_ERR_INIT;
    memset(&pl, 0, sizeof pl);
    int rc = service_start(&pl.svc, "planner", argc, argv, usage, &err);
    if (rc == SERVICE_EXIT_OK) return 0;
    if (rc) {
        fprintf(stderr, "btpipe-planner: %s\n", err.msg);
        return 1;
    }
    register_metrics(&pl);
    if ((rc = setup(&pl, &err))) goto fail;
    if ((rc = rebuild(&pl, &err))) goto fail;
    const char *topics[] = {pl.t_factors, pl.t_strategies, pl.t_data, pl.t_completions};
    if ((rc = kafka_consumer_new(&pl.svc.cfg, service_group_id(&pl.svc, "BTPIPE_PLANNER_GROUP"),
                                 topics, 4, &pl.cons, &err)))
        goto fail;
    pl.dirty = 1; /* re-submit what was in flight, plan what is missing */
    service_set_ready(&pl.svc, 1);
    run_loop(&pl);
    log_event(LOG_INFO, "stopping", NULL);
fail:
    if (rc) {
        log_event(LOG_ERROR, "planner stopped", "error", err.msg, "where", err.where, NULL);
        fprintf(stderr, "btpipe-planner: %s\n", err.msg);
    }
    /* Runners first: their completions are theirs to publish; ours get flushed. */
    if (pl.ex) pl.ex->ops->free(pl.ex, 2000);
    if (pl.prod) {
        struct bt_err e2 = BT_ERR_INIT;
        if (!rc && (pl.pending.njobs || pl.pending.ncompletions || pl.marked)) {
            /* Durable effects only; nothing new gets submitted now. */
            for (size_t i = 0; i < pl.pending.njobs; i++)
                pl.pending.jobs[i].submit = 0;
            if (apply_effects(&pl, &e2))
                log_event(LOG_WARN, "last effects not durable", "error", e2.msg, NULL);
        }
        kafka_producer_flush(pl.prod, 3000, &e2);
    }
    if (pl.cons) kafka_consumer_close(pl.cons);
    if (pl.prod) kafka_producer_free(pl.prod);
    planner_decisions_free(&pl.pending);
    planner_core_free(pl.core);
    if (pl.st) storage_free(pl.st);
    service_stop(&pl.svc);
    return rc ? 1 : 0;
}
