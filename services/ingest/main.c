/* btpipe-ingest -- notices daily bar files landing in S3 and announces them.
 *
 * Wiring only: S3 listings go into ingest_core, what it decides goes to
 * <prefix>.data.landed. An increment is marked announced only after the
 * producer flush succeeded, so a crash anywhere re-announces (same meta.id)
 * rather than loses. State comes back at start from the compacted topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_core.h"
#include "ingest_msg.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "s3.h"
#include "service.h"
#include "shutdown.h"

static const char usage[] =
    "usage: btpipe-ingest [--help]\n"
    "\n"
    "Lists s3://$BTPIPE_DATA_BUCKET/<dataset>/daily/ for every dataset, and\n"
    "publishes a DataIncrement to <prefix>.data.landed for each trading date\n"
    "that is new or whose objects changed (keys\n"
    "<dataset>/daily/YYYY/YYYY-MM-DD.csv[.gz]), in date order. See docs/ingest.md.\n"
    "\n"
    "Settings:\n"
    "  BTPIPE_DATA_BUCKET       bucket the daily bars land in (required)\n"
    "  BTPIPE_DATASETS          comma list of dataset names, e.g. sp500 (required)\n"
    "  BTPIPE_INGEST_POLL_MS    listing interval, ms (default 5000, 100..3600000)\n"
    "  AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,\n"
    "  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, BTPIPE_S3_PATH_STYLE\n"
    "                           the S3 client (docs/configuration.md)\n";

struct ingest {
    struct service svc;
    const char *bucket;
    char **datasets;
    size_t ndatasets;
    long poll_ms;
    struct ingest_state *state;
    struct kafka_producer *producer;
    struct s3_client *s3;
    const char *topic;
    struct metric *m_polls, *m_incs, *m_junk, *m_list_err, *m_produce_err, *m_known;
};

/* Splits the comma list into trimmed, non-empty names. */
static int parse_datasets(struct ingest *g, const char *list, struct bt_err *err) {
    char *copy = strdup(list), *save = NULL;
    if (!copy) abort();
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t n = strlen(t);
        while (n && t[n - 1] == ' ')
            t[--n] = '\0';
        if (!n) continue;
        if (strchr(t, '/')) {
            free(copy);
            return bt_err_set(err, BT_ECONFIG, "BTPIPE_DATASETS",
                              "BTPIPE_DATASETS: dataset name '%s' has a '/'", t);
        }
        g->datasets = realloc(g->datasets, (g->ndatasets + 1) * sizeof *g->datasets);
        if (!g->datasets) abort();
        g->datasets[g->ndatasets++] = strdup(t);
    }
    free(copy);
    if (!g->ndatasets)
        return bt_err_set(err, BT_ECONFIG, "BTPIPE_DATASETS", "BTPIPE_DATASETS names no dataset");
    return 0;
}

/* kafka_read_all callback: one announced increment back into the state. */
static int rebuild_one(const struct kafka_msg *m, void *ud) {
    struct ingest *g = ud;
    struct bt_err err = BT_ERR_INIT;
    if (ingest_msg_apply(g->state, m->value, m->value_len, &err)) {
        char where[64];
        snprintf(where, sizeof where, "%d/%lld", (int)m->partition, (long long)m->offset);
        /* The planner dead-letters bad data.landed messages; here we only skip. */
        log_event(LOG_WARN, "skipping undecodable data.landed message", "offset", where, "error",
                  err.msg, NULL);
    }
    return 0;
}

/* One listing of one dataset -> announcements. Returns 0 or an error that
 * means "try again next poll". */
static int poll_dataset(struct ingest *g, const char *dataset) {
    struct s3_listing l = {0};
    struct ingest_result r = {0};
    struct ingest_object *objs = NULL;
    struct buf prefix = BUF_INIT, uri = BUF_INIT, key = BUF_INIT, val = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    int rc;
    buf_printf(&prefix, "%s/daily/", dataset);
    if ((rc = s3_list_objects(g->s3, g->bucket, prefix.p, &l, &err))) {
        metric_add(g->m_list_err, 1);
        log_event(LOG_WARN, "listing failed", "bucket", g->bucket, "prefix", prefix.p, "error",
                  err.msg, NULL);
        goto fail;
    }
    objs = calloc(l.n ? l.n : 1, sizeof *objs);
    if (!objs) abort();
    for (size_t i = 0; i < l.n; i++) {
        objs[i].key = l.items[i].key;
        objs[i].etag = l.items[i].etag ? l.items[i].etag : "";
        objs[i].size = l.items[i].size;
        objs[i].last_modified_ms = l.items[i].last_modified_ms;
    }
    if ((rc = ingest_core_observe(g->state, dataset, objs, l.n, &r, &err))) goto fail;
    for (size_t i = 0; i < r.njunk; i++) {
        metric_add(g->m_junk, 1);
        log_event(LOG_WARN, "ignoring key outside the layout", "bucket", g->bucket, "key",
                  r.junk[i].key, "etag", r.junk[i].etag, "reason", r.junk[i].reason, NULL);
    }
    if (!r.ninc) goto fail; /* rc == 0: nothing new */
    buf_printf(&uri, "s3://%s/%s/daily", g->bucket, dataset);
    for (size_t i = 0; i < r.ninc; i++) {
        ingest_msg_encode(&r.incs[i], uri.p, g->svc.name, msg_now_ms(), &val, &key);
        if ((rc = kafka_produce(g->producer, g->topic, key.p, key.len, val.p, val.len, &err)))
            break;
    }
    if (!rc) rc = kafka_producer_flush(g->producer, 10000, &err);
    if (rc) {
        metric_add(g->m_produce_err, 1);
        log_event(LOG_ERROR, "announcing failed; retrying next poll", "error", err.msg, NULL);
        goto fail;
    }
    for (size_t i = 0; i < r.ninc; i++) {
        struct ingest_increment *inc = &r.incs[i];
        ingest_core_mark_announced(g->state, inc->dataset, inc->date, inc->data_version, NULL);
        metric_add(g->m_incs, 1);
        char nobj[32];
        snprintf(nobj, sizeof nobj, "%zu", inc->nobjects);
        log_event(LOG_INFO, "announced", "dataset", inc->dataset, "date", inc->date, "data_version",
                  inc->data_version, "objects", nobj, NULL);
    }
    metric_set(g->m_known, (double)ingest_core_announced_count(g->state));
fail:
    ingest_result_free(&r);
    free(objs);
    s3_listing_free(&l);
    buf_free(&prefix);
    buf_free(&uri);
    buf_free(&key);
    buf_free(&val);
    return rc;
}

/* Sleeps ms in short steps so that SIGTERM is honoured within ~100 ms. */
static void nap(long ms) {
    while (ms > 0 && !shutdown_requested()) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

int main(int argc, char **argv) {
    struct ingest g;
    struct bt_err err = BT_ERR_INIT;
    memset(&g, 0, sizeof g);
    int rc = service_start(&g.svc, "ingest", argc, argv, usage, &err);
    if (rc == SERVICE_EXIT_OK) return 0;
    if (rc) {
        fprintf(stderr, "btpipe-ingest: %s\n", err.msg);
        return 1;
    }
    const char *datasets = NULL;
    if ((rc = config_require(&g.svc.cfg, "BTPIPE_DATA_BUCKET", &g.bucket, &err))) goto fail;
    if ((rc = config_require(&g.svc.cfg, "BTPIPE_DATASETS", &datasets, &err))) goto fail;
    if ((rc = parse_datasets(&g, datasets, &err))) goto fail;
    if ((rc =
             config_int(&g.svc.cfg, "BTPIPE_INGEST_POLL_MS", 5000, 100, 3600000, &g.poll_ms, &err)))
        goto fail;
    g.m_polls = metrics_counter("btpipe_ingest_polls_total", "listing rounds done");
    g.m_incs = metrics_counter("btpipe_ingest_increments_total", "increments announced");
    g.m_junk = metrics_counter("btpipe_ingest_junk_keys_total", "keys outside the layout seen");
    g.m_list_err = metrics_counter("btpipe_ingest_list_errors_total", "failed S3 listings");
    g.m_produce_err =
        metrics_counter("btpipe_ingest_produce_errors_total", "failed announcement rounds");
    g.m_known = metrics_gauge("btpipe_ingest_announced_dates", "dataset dates announced so far");
    if ((rc = kafka_ensure_topics(&g.svc.cfg, &err))) goto fail;
    g.topic = kafka_topic_name(&g.svc.cfg, TOPIC_DATA_LANDED);
    if ((rc = kafka_producer_new(&g.svc.cfg, &g.producer, &err))) goto fail;
    if ((rc = s3_client_new(&g.svc.cfg, &g.s3, &err))) goto fail;
    g.state = ingest_state_new();
    if ((rc = service_read_all(&g.svc, g.topic, rebuild_one, &g, &err))) goto fail;
    metric_set(g.m_known, (double)ingest_core_announced_count(g.state));
    char known[32];
    snprintf(known, sizeof known, "%zu", ingest_core_announced_count(g.state));
    log_event(LOG_INFO, "state rebuilt", "topic", g.topic, "dates", known, NULL);
    service_set_ready(&g.svc, 1);

    while (!shutdown_requested()) {
        for (size_t i = 0; i < g.ndatasets && !shutdown_requested(); i++)
            poll_dataset(&g, g.datasets[i]); /* errors are logged, retried next round */
        metric_add(g.m_polls, 1);
        nap(g.poll_ms);
    }
    log_event(LOG_INFO, "stopping", NULL);
fail:
    if (rc) {
        log_event(LOG_ERROR, "fatal", "error", err.msg, "where", err.where, NULL);
        fprintf(stderr, "btpipe-ingest: %s\n", err.msg);
    }
    kafka_producer_free(g.producer);
    s3_client_free(g.s3);
    ingest_state_free(g.state);
    for (size_t i = 0; i < g.ndatasets; i++)
        free(g.datasets[i]);
    free(g.datasets);
    service_stop(&g.svc);
    return rc ? 1 : 0;
}
