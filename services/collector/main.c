/* btpipe-collector -- completions in, full-history results out.
 *
 * Wiring only (the merge is collector_core). At start the state is rebuilt
 * from the compacted completions topic, and the results topic is read back
 * to learn what was published; a pair whose result is stale (the previous
 * process died between merging and publishing) is published then. After
 * that the consumer group reads completions in batches: merge, publish the
 * changed pairs, flush, and only then commit the batch's offsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector_core.h"
#include "deadletter.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "service.h"
#include "shutdown.h"

static const char usage[] =
    "usage: btpipe-collector [--help]\n"
    "\n"
    "Consumes <prefix>.completions, merges each pair's daily series (newest\n"
    "completion wins a date; duplicates change nothing), and publishes the\n"
    "pair's full-history AggregatedResult to <prefix>.results (key: pair id);\n"
    "reads <prefix>.data.landed to mark pairs LAGGING behind the data.\n"
    "Undecodable completions go to <prefix>.deadletter. See docs/collector.md.\n"
    "\n"
    "Settings:\n"
    "  BTPIPE_COLLECTOR_GROUP   consumer group (default <topic prefix>.collector)\n"
    "  BTPIPE_COLLECTOR_BATCH   most completions merged per publish+commit (default 500)\n";

struct collector {
    struct service svc;
    struct collector_state *state;
    struct kafka_producer *producer;
    struct kafka_consumer *consumer;
    const char *t_completions, *t_results, *t_landed;
    char **pending; /* pairs changed since the last publish */
    size_t npending;
    struct metric *m_comp, *m_pub, *m_dead, *m_pairs, *m_err;
};

/* Remembers a changed pair once. */
static void pending_add(struct collector *c, const char *pair) {
    for (size_t i = 0; i < c->npending; i++)
        if (!strcmp(c->pending[i], pair)) return;
    c->pending = realloc(c->pending, (c->npending + 1) * sizeof *c->pending);
    if (!c->pending) abort();
    c->pending[c->npending++] = strdup(pair);
}

static void pending_clear(struct collector *c) {
    for (size_t i = 0; i < c->npending; i++)
        free(c->pending[i]);
    c->npending = 0;
}

/* Produces the result of every pending pair, flushes, and notes them
 * published. On failure nothing is noted, so the next round retries. */
static int publish_pending(struct collector *c, struct bt_err *err) {
    struct buf val = BUF_INIT, id = BUF_INIT;
    char **ids = calloc(c->npending ? c->npending : 1, sizeof *ids);
    int rc = 0;
    size_t n = 0;
    if (!ids) abort();
    for (; n < c->npending; n++) {
        const char *pair = c->pending[n];
        if ((rc = collector_result(c->state, pair, msg_now_ms(), "collector", &val, &id, err)))
            break;
        if ((rc =
                 kafka_produce(c->producer, c->t_results, pair, strlen(pair), val.p, val.len, err)))
            break;
        ids[n] = strdup(id.p);
    }
    if (!rc) rc = kafka_producer_flush(c->producer, 10000, err);
    if (!rc) {
        for (size_t i = 0; i < c->npending; i++) {
            collector_note_published(c->state, c->pending[i], ids[i]);
            metric_add(c->m_pub, 1);
            log_event(LOG_INFO, "published", "pair", c->pending[i], "id", ids[i], NULL);
        }
        pending_clear(c);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    buf_free(&val);
    buf_free(&id);
    return rc;
}

/* kafka_read_all callback for the results topic. */
static int rebuild_published(const struct kafka_msg *m, void *ud) {
    struct collector *c = ud;
    struct bt_err err = BT_ERR_INIT;
    if (collector_note_published_bytes(c->state, m->value, m->value_len, &err))
        log_event(LOG_WARN, "skipping undecodable results message", "error", err.msg, NULL);
    return 0;
}

/* kafka_read_all callback for the completions topic (bad ones were
 * dead-lettered when first consumed; here they are only skipped). */
static int rebuild_completion(const struct kafka_msg *m, void *ud) {
    struct collector *c = ud;
    struct bt_err err = BT_ERR_INIT;
    const char *pair;
    int changed;
    collector_apply_bytes(c->state, m->value, m->value_len, &pair, &changed, &err);
    return 0;
}

/* kafka_read_all callback for data.landed (bad messages there are the
 * planner's to dead-letter; here they are only skipped). */
static int rebuild_landed(const struct kafka_msg *m, void *ud) {
    struct collector *c = ud;
    struct bt_err err = BT_ERR_INIT;
    const char *ds;
    collector_note_landed_bytes(c->state, m->value, m->value_len, &ds, &err);
    return 0;
}

/* Every pair whose result is stale goes on the pending list. */
static void pend_stale(struct collector *c, const char *dataset) {
    for (size_t i = 0; i < collector_pair_count(c->state); i++) {
        const char *pair = collector_pair_at(c->state, i);
        if ((!dataset || !strcmp(collector_pair_dataset(c->state, i), dataset)) &&
            collector_needs_publish(c->state, pair))
            pending_add(c, pair);
    }
}

/* One consumed message: a landed date (pairs may lag now), or a
 * completion to merge or dead-letter. */
static int handle(struct collector *c, const struct kafka_msg *m, struct bt_err *err) {
    struct bt_err e = BT_ERR_INIT;
    const char *pair = NULL;
    int changed = 0;
    if (!strcmp(m->topic, c->t_landed)) {
        const char *ds = NULL;
        if (collector_note_landed_bytes(c->state, m->value, m->value_len, &ds, &e))
            log_event(LOG_WARN, "skipping undecodable data.landed message", "error", e.msg, NULL);
        if (ds) pend_stale(c, ds);
        return 0;
    }
    metric_add(c->m_comp, 1);
    if (collector_apply_bytes(c->state, m->value, m->value_len, &pair, &changed, &e)) {
        char off[64];
        snprintf(off, sizeof off, "%s/%d/%lld", m->topic, (int)m->partition, (long long)m->offset);
        log_event(LOG_WARN, "dead-lettering completion", "source", off, "reason", e.msg, "where",
                  e.where, NULL);
        metric_add(c->m_dead, 1);
        return deadletter_send(c->producer, &c->svc.cfg, "collector", m, e.msg, e.where, err);
    }
    if (pair && changed) pending_add(c, pair);
    return 0;
}

int main(int argc, char **argv) {
    struct collector c;
    struct bt_err err = BT_ERR_INIT;
    memset(&c, 0, sizeof c);
    int rc = service_start(&c.svc, "collector", argc, argv, usage, &err);
    if (rc == SERVICE_EXIT_OK) return 0;
    if (rc) {
        fprintf(stderr, "btpipe-collector: %s\n", err.msg);
        return 1;
    }
    long batch = 0;
    const char *group = service_group_id(&c.svc, "BTPIPE_COLLECTOR_GROUP");
    if ((rc = config_int(&c.svc.cfg, "BTPIPE_COLLECTOR_BATCH", 500, 1, 100000, &batch, &err)))
        goto fail;
    c.m_comp = metrics_counter("btpipe_collector_completions_total", "completions consumed");
    c.m_pub = metrics_counter("btpipe_collector_results_published_total", "results published");
    c.m_dead = metrics_counter("btpipe_collector_deadletters_total", "completions dead-lettered");
    c.m_err = metrics_counter("btpipe_collector_publish_errors_total", "failed publish rounds");
    c.m_pairs = metrics_gauge("btpipe_collector_pairs", "pairs known");
    if ((rc = kafka_ensure_topics(&c.svc.cfg, &err))) goto fail;
    c.t_completions = kafka_topic_name(&c.svc.cfg, TOPIC_COMPLETIONS);
    c.t_results = kafka_topic_name(&c.svc.cfg, TOPIC_RESULTS);
    c.t_landed = kafka_topic_name(&c.svc.cfg, TOPIC_DATA_LANDED);
    if ((rc = kafka_producer_new(&c.svc.cfg, &c.producer, &err))) goto fail;
    c.state = collector_new();
    if ((rc = service_read_all(&c.svc, c.t_results, rebuild_published, &c, &err))) goto fail;
    if ((rc = service_read_all(&c.svc, c.t_landed, rebuild_landed, &c, &err))) goto fail;
    if ((rc = service_read_all(&c.svc, c.t_completions, rebuild_completion, &c, &err))) goto fail;
    pend_stale(&c, NULL);
    if ((rc = publish_pending(&c, &err))) goto fail;
    metric_set(c.m_pairs, (double)collector_pair_count(c.state));
    char npairs[32];
    snprintf(npairs, sizeof npairs, "%zu", collector_pair_count(c.state));
    log_event(LOG_INFO, "state rebuilt", "pairs", npairs, NULL);
    const char *topics[] = {c.t_completions, c.t_landed};
    if ((rc = kafka_consumer_new(&c.svc.cfg, group, topics, 2, &c.consumer, &err))) goto fail;
    service_set_ready(&c.svc, 1);

    long in_batch = 0;
    while (!shutdown_requested()) {
        struct kafka_msg m;
        int got = kafka_consumer_poll(c.consumer, 200, &m, &err);
        if (got < 0) {
            log_event(LOG_WARN, "poll failed", "error", err.msg, NULL);
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (got == 1) {
            if ((rc = handle(&c, &m, &err))) {
                /* Committing later offsets would skip this message: stop, and
                 * let the restart read it again from the committed offset. */
                log_event(LOG_ERROR, "dead letter failed; stopping", "error", err.msg, NULL);
                shutdown_request();
                break;
            }
            kafka_consumer_mark(c.consumer, &m);
            if (++in_batch < batch) continue;
        }
        if (!in_batch) continue;
        /* The batch's effects are durable before its offsets are committed. */
        if (publish_pending(&c, &err) || kafka_producer_flush(c.producer, 10000, &err)) {
            metric_add(c.m_err, 1);
            log_event(LOG_ERROR, "publishing failed; retrying", "error", err.msg, NULL);
            continue;
        }
        if (kafka_consumer_commit(c.consumer, &err))
            log_event(LOG_WARN, "commit failed", "error", err.msg, NULL);
        in_batch = 0;
        metric_set(c.m_pairs, (double)collector_pair_count(c.state));
    }
    /* Finish the batch in hand so that its effects and offsets go together. */
    if (in_batch && !publish_pending(&c, &err) && !kafka_producer_flush(c.producer, 10000, &err))
        kafka_consumer_commit(c.consumer, &err);
    log_event(LOG_INFO, "stopping", NULL);
fail:
    if (rc) {
        log_event(LOG_ERROR, "fatal", "error", err.msg, "where", err.where, NULL);
        fprintf(stderr, "btpipe-collector: %s\n", err.msg);
    }
    kafka_consumer_close(c.consumer);
    kafka_producer_free(c.producer);
    collector_free(c.state);
    pending_clear(&c);
    free(c.pending);
    service_stop(&c.svc);
    return rc ? 1 : 0;
}
