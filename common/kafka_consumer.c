/* kafka_consumer.c -- group consumer with manual offset store and commit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"

/* Longest a commit may wait for the coordinator in normal operation. */
#define COMMIT_TIMEOUT_MS 10000
/* At close: the commit, then leaving the group. A member whose join is
 * pending behind a killed member waits for that member's session to expire;
 * shutdown must not (the group forgets us after session.timeout.ms). */
#define CLOSE_COMMIT_MS 1500
#define CLOSE_LEAVE_MS 2000
/* rd_kafka_destroy waits for a pending JoinGroup answer even when told not
 * to leave the group; past this it finishes on a thread of its own. */
#define CLOSE_DESTROY_MS 1000

/* One assigned partition and whether it has been read to its end once. */
struct part_state {
    char *topic;
    int32_t partition;
    int eof;
};

struct kafka_consumer {
    rd_kafka_t *rk;
    rd_kafka_message_t *last; /* the message handed out by the last poll */
    struct part_state *parts;
    size_t nparts;
    int assigned_once; /* a rebalance has given us an assignment (maybe empty) */
    int commit_ms;     /* bound for a commit: shorter while closing */
};

static struct part_state *part_find(struct kafka_consumer *c, const char *topic, int32_t part) {
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == part && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    return NULL;
}

static void parts_add(struct kafka_consumer *c, const rd_kafka_topic_partition_list_t *l) {
    for (int i = 0; i < l->cnt; i++) {
        if (part_find(c, l->elems[i].topic, l->elems[i].partition)) continue;
        struct part_state *p = realloc(c->parts, (c->nparts + 1) * sizeof *p);
        if (!p) abort();
        c->parts = p;
        c->parts[c->nparts].topic = strdup(l->elems[i].topic);
        if (!c->parts[c->nparts].topic) abort();
        c->parts[c->nparts].partition = l->elems[i].partition;
        c->parts[c->nparts].eof = 0;
        c->nparts++;
    }
}

static void parts_remove(struct kafka_consumer *c, const rd_kafka_topic_partition_list_t *l) {
    for (int i = 0; i < l->cnt; i++) {
        struct part_state *p = part_find(c, l->elems[i].topic, l->elems[i].partition);
        if (!p) continue;
        free(p->topic);
        *p = c->parts[--c->nparts];
    }
}

static void parts_clear(struct kafka_consumer *c) {
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].topic);
    c->nparts = 0;
}

/* rd_kafka_commit, but waiting at most timeout_ms for the answer: a
 * synchronous commit waits as long as the coordinator does. A commit that
 * times out may still land; if not, the next owner re-reads (at least once). */
static rd_kafka_resp_err_t commit_bounded(rd_kafka_t *rk, int timeout_ms) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_resp_err_t e = rd_kafka_commit_queue(rk, NULL, q, NULL, NULL);
    int64_t deadline = kafka_mono_ms() + timeout_ms;
    while (!e) {
        int64_t left = deadline - kafka_mono_ms();
        rd_kafka_event_t *ev = left > 0 ? rd_kafka_queue_poll(q, (int)left) : NULL;
        if (!ev) {
            e = RD_KAFKA_RESP_ERR__TIMED_OUT;
            break;
        }
        int done = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT;
        if (done) e = rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
        if (done) break;
    }
    rd_kafka_queue_destroy(q);
    return e;
}

/* Commits what was marked before partitions go away, so the next owner starts
 * right after the last durable effect instead of re-reading it. */
static void commit_before_revoke(struct kafka_consumer *c, rd_kafka_t *rk) {
    rd_kafka_resp_err_t e = commit_bounded(rk, c->commit_ms);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_event(LOG_WARN, "kafka commit on revoke failed", "error", rd_kafka_err2name(e), NULL);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    struct kafka_consumer *c = opaque;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto && strcmp(proto, "COOPERATIVE") == 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        parts_add(c, parts);
        c->assigned_once = 1;
    } else {
        if (!rd_kafka_assignment_lost(rk)) commit_before_revoke(c, rk);
        if (coop) {
            rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
            parts_remove(c, parts);
        } else {
            rd_kafka_assign(rk, NULL);
            parts_clear(c);
        }
    }
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    log_event(LOG_INFO,
              e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "kafka partitions assigned"
                                                        : "kafka partitions revoked",
              "partitions", n, NULL);
}

int kafka_consumer_new(const struct config *cfg, const char *group_id, const char *const *topics,
                       size_t ntopics, struct kafka_consumer **out, struct bt_err *err) {
    char errstr[512];
    rd_kafka_topic_partition_list_t *subs = NULL;
    struct kafka_consumer *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->commit_ms = COMMIT_TIMEOUT_MS;
    *out = NULL;
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, KAFKA_CONSUMER, err);
    if (!conf) goto fail;
    if (rd_kafka_conf_set(conf, "group.id", group_id, errstr, sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        bt_err_set(err, BT_ECONFIG, NULL, "kafka consumer group '%s': %s", group_id, errstr);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        bt_err_set(err, BT_ECONFIG, "BTPIPE_KAFKA_BROKERS", "kafka consumer: %s", errstr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
    if (e) {
        bt_err_set(err, BT_ENET, NULL, "kafka subscribe: %s", rd_kafka_err2str(e));
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(subs);
    *out = c;
    return 0;
fail:
    if (subs) rd_kafka_topic_partition_list_destroy(subs);
    if (c->rk) rd_kafka_destroy(c->rk);
    free(c);
    return err ? err->code : BT_ECONFIG;
}

int kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms, struct kafka_msg *msg,
                        struct bt_err *err) {
    if (c->last) {
        rd_kafka_message_destroy(c->last);
        c->last = NULL;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!m) return 0;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        struct part_state *p = part_find(c, rd_kafka_topic_name(m->rkt), m->partition);
        if (p) p->eof = 1;
        rd_kafka_message_destroy(m);
        return 0;
    }
    if (m->err) {
        char errstr[512];
        rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(c->rk, errstr, sizeof errstr);
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
        if (fatal) {
            bt_err_set(err, BT_ENET, topic, "kafka consumer fatal error: %s", errstr);
            rd_kafka_message_destroy(m);
            return -1;
        }
        /* librdkafka recovers from the rest by itself; an operator should see them. */
        log_event(LOG_WARN, "kafka consumer error", "topic", topic, "error",
                  rd_kafka_err2name(m->err), "reason", rd_kafka_err2str(m->err), NULL);
        rd_kafka_message_destroy(m);
        return 0;
    }
    c->last = m;
    rd_kafka_timestamp_type_t tstype;
    msg->topic = rd_kafka_topic_name(m->rkt);
    msg->partition = m->partition;
    msg->offset = m->offset;
    msg->key = m->key;
    msg->key_len = m->key_len;
    msg->value = m->payload;
    msg->value_len = m->payload ? m->len : 0;
    msg->timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
    return 1;
}

int kafka_consumer_at_end(struct kafka_consumer *c) {
    if (!c->assigned_once) return 0;
    for (size_t i = 0; i < c->nparts; i++)
        if (!c->parts[i].eof) return 0;
    return 1;
}

void kafka_consumer_mark(struct kafka_consumer *c, const struct kafka_msg *msg) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, msg->topic, msg->partition)->offset = msg->offset + 1;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
    if (!e && l->elems[0].err) e = l->elems[0].err;
    if (e) /* the partition was revoked meanwhile: its new owner re-reads it */
        log_event(LOG_WARN, "kafka offset store failed", "topic", msg->topic, "error",
                  rd_kafka_err2name(e), NULL);
    rd_kafka_topic_partition_list_destroy(l);
}

int kafka_consumer_commit(struct kafka_consumer *c, struct bt_err *err) {
    rd_kafka_resp_err_t e = commit_bounded(c->rk, c->commit_ms);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET) return 0;
    return bt_err_set(err, BT_ENET, NULL, "kafka commit: %s", rd_kafka_err2str(e));
}

/* The handle's last owner: frees it after rd_kafka_destroy returns. The
 * closer and the destroying thread both hold a reference; the last to let
 * go frees this struct. */
struct destroyer {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done, refs;
    int flags; /* rd_kafka_destroy_flags */
    struct kafka_consumer *c;
};

static void destroyer_release(struct destroyer *d) {
    pthread_mutex_lock(&d->lock);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (!last) return;
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->done_cv);
    free(d);
}

/* Thread body: destroys the handle, frees the consumer, says so. */
static void *destroy_main(void *arg) {
    struct destroyer *d = arg;
    struct kafka_consumer *c = d->c;
    rd_kafka_destroy_flags(c->rk, d->flags);
    parts_clear(c);
    free(c->parts);
    free(c);
    pthread_mutex_lock(&d->lock);
    d->done = 1;
    pthread_cond_signal(&d->done_cv);
    pthread_mutex_unlock(&d->lock);
    destroyer_release(d);
    return NULL;
}

/* Destroys c (and its handle), waiting at most timeout_ms; past that the
 * destruction goes on in the background. 1 when it finished in time. */
static int destroy_bounded(struct kafka_consumer *c, int flags, int timeout_ms) {
    struct destroyer *d = calloc(1, sizeof *d);
    pthread_t th;
    if (!d) abort();
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->done_cv, NULL);
    d->refs = 2;
    d->flags = flags;
    d->c = c;
    if (pthread_create(&th, NULL, destroy_main, d) != 0) {
        d->refs = 1;
        destroy_main(d); /* no thread: destroy here, unbounded but correct */
        return 1;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&d->lock);
    while (!d->done)
        if (pthread_cond_timedwait(&d->done_cv, &d->lock, &until) != 0) break;
    int done = d->done;
    pthread_mutex_unlock(&d->lock);
    if (done)
        pthread_join(th, NULL);
    else
        pthread_detach(th);
    destroyer_release(d);
    return done;
}

/* Leaves the group through rd_kafka_consumer_close_queue, serving the
 * revoke callback, for at most timeout_ms: 1 once closed, 0 if not. */
static int leave_group_bounded(struct kafka_consumer *c, int timeout_ms) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    int closed = 0;
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(c->rk, q);
    if (e) {
        log_event(LOG_WARN, "kafka consumer close", "error", rd_kafka_error_string(e), NULL);
        rd_kafka_error_destroy(e);
        goto out;
    }
    int64_t deadline = kafka_mono_ms() + timeout_ms;
    while (!(closed = rd_kafka_consumer_closed(c->rk)) && kafka_mono_ms() < deadline)
        rd_kafka_queue_poll_callback(q, 100);
out:
    rd_kafka_queue_destroy(q);
    return closed;
}

void kafka_consumer_close(struct kafka_consumer *c) {
    if (!c) return;
    struct bt_err err = BT_ERR_INIT;
    if (c->last) rd_kafka_message_destroy(c->last);
    c->last = NULL;
    c->commit_ms = CLOSE_COMMIT_MS;
    /* Without partitions there is nothing to commit, and a commit issued
     * while a join is pending would wait for that join. */
    if (c->nparts > 0 && kafka_consumer_commit(c, &err))
        log_event(LOG_WARN, "kafka commit at close failed", "error", err.msg, NULL);
    int left = leave_group_bounded(c, CLOSE_LEAVE_MS);
    /* Not left (e.g. joining behind a killed member): the coordinator drops
     * us after session.timeout.ms, and uncommitted work is re-read by the
     * next owner. Waiting longer would only delay shutdown. */
    if (!left)
        log_event(LOG_WARN, "kafka consumer did not leave its group in time; closing anyway", NULL);
    if (!destroy_bounded(c, left ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE, CLOSE_DESTROY_MS))
        log_event(LOG_WARN, "kafka consumer still closing; finishing in the background", NULL);
}
