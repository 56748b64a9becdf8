/* job_main.c -- `btpipe-runner job`: the shell around job_run_task.
 *
 * Reads the manifest (a JobRecord) from storage, runs the chosen task(s),
 * publishes one JobCompletion per task to <prefix>.completions and flushes
 * before exiting. Exit codes are the executor contract: 0 ok, 2 bad input
 * (a REJECTED_INPUT completion was published), 1 anything else (retry). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "job.h"
#include "kafka.h"
#include "log.h"
#include "msg.h"

static const char job_usage[] =
    "usage: btpipe-runner job --manifest URI [--index N]\n"
    "\n"
    "Runs tasks of a planner manifest (a btpipe.v1.JobRecord at URI: s3://bucket/key,\n"
    "file:///path or a path): loads the task's daily bars from its data_uri, runs the\n"
    "pair over [from_date, to_date] with state_in_uri, writes series_uri and\n"
    "state_out_uri, and publishes a JobCompletion to <prefix>.completions.\n"
    "--index N runs tasks[N]; without it $AWS_BATCH_JOB_ARRAY_INDEX when set,\n"
    "else every task in order. Settings: BTPIPE_KAFKA_BROKERS, BTPIPE_TOPIC_PREFIX,\n"
    "BTPIPE_KAFKA_PROP_*, the AWS/S3 variables, BTPIPE_ATTEMPT or AWS_BATCH_JOB_ATTEMPT\n"
    "(reported in the completion), "
    "BTPIPE_LOG_LEVEL. See docs/planner.md.\n"
    "Exit: 0 ok, 2 bad input (REJECTED_INPUT published), 1 other failure.\n";

/* Parses a non-negative index, -1 when malformed. */
static long parse_index(const char *s) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 100000) return -1;
    return v;
}

/* Publishes c keyed by its task_key. */
static int publish(struct kafka_producer *p, const char *topic, const Btpipe__V1__JobCompletion *c,
                   struct bt_err *err) {
    struct buf b = BUF_INIT;
    msg_pack(&c->base, &b);
    int rc = kafka_produce(p, topic, c->task_key, strlen(c->task_key), b.p, b.len, err);
    buf_free(&b);
    return rc;
}

int runner_job_main(int argc, char **argv) {
    static const struct option opts[] = {{"manifest", required_argument, 0, 'm'},
                                         {"index", required_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *manifest = NULL, *index_s = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': manifest = optarg; break;
        case 'i': index_s = optarg; break;
        case 'h': fputs(job_usage, stdout); return CLI_OK;
        default: fputs(job_usage, stderr); return CLI_BADINPUT;
        }
    }
    if (!manifest) {
        fprintf(stderr, "btpipe-runner job: --manifest is required\n%s", job_usage);
        return CLI_BADINPUT;
    }
    if (!index_s) index_s = getenv("AWS_BATCH_JOB_ARRAY_INDEX");
    long index = -1;
    if (index_s && (index = parse_index(index_s)) < 0) {
        fprintf(stderr, "btpipe-runner job: index '%s' is not a number\n", index_s);
        return CLI_BADINPUT;
    }

    struct config cfg = {0};
    struct bt_err err = BT_ERR_INIT;
    struct storage *st = NULL;
    struct kafka_producer *prod = NULL;
    struct buf raw = BUF_INIT;
    Btpipe__V1__JobRecord *rec = NULL;
    int exit_code = CLI_OK, rc;
    uint32_t attempt = 1;
    log_init("runner", LOG_INFO);
    if ((rc = config_load(&cfg, &err))) goto fail;
    int ok = 1;
    enum log_level lvl = log_level_parse(config_get(&cfg, "BTPIPE_LOG_LEVEL"), &ok);
    if (ok) log_init("runner", lvl);
    long att = 1;
    /* The local executor says BTPIPE_ATTEMPT; AWS Batch sets AWS_BATCH_JOB_ATTEMPT. */
    const char *att_var =
        config_get(&cfg, "BTPIPE_ATTEMPT") ? "BTPIPE_ATTEMPT" : "AWS_BATCH_JOB_ATTEMPT";
    if ((rc = config_int(&cfg, att_var, 1, 1, 1000, &att, &err))) goto fail;
    attempt = (uint32_t)att;
    if ((rc = storage_new(&cfg, &st, &err))) goto fail;
    if ((rc = storage_read(st, manifest, &raw, &err))) goto fail;
    rec = btpipe__v1__job_record__unpack(NULL, raw.len, (const uint8_t *)raw.p);
    if (!rec) {
        rc = bt_err_set(&err, BT_EINPUT, manifest, "manifest %s is not a JobRecord", manifest);
        goto fail;
    }
    if (index >= 0 && (size_t)index >= rec->n_tasks) {
        rc = bt_err_set(&err, BT_EINPUT, manifest, "index %ld but the manifest has %zu tasks",
                        index, rec->n_tasks);
        goto fail;
    }
    if ((rc = kafka_producer_new(&cfg, &prod, &err))) goto fail;
    const char *topic = kafka_topic_name(&cfg, TOPIC_COMPLETIONS);
    size_t first = index >= 0 ? (size_t)index : 0;
    size_t last = index >= 0 ? (size_t)index + 1 : rec->n_tasks;
    for (size_t i = first; i < last; i++) {
        const Btpipe__V1__Task *t = rec->tasks[i];
        Btpipe__V1__JobCompletion *comp = NULL;
        struct bt_err terr = BT_ERR_INIT;
        int64_t started = msg_now_ms();
        log_event(LOG_INFO, "task started", "task_key", t->task_key, "plan_id", rec->plan_id, NULL);
        int trc = job_run_task(st, t, rec->plan_id, attempt, "runner", &comp, &terr);
        if (trc && !job_is_input_error(trc)) {
            /* Transient: no completion; the executor retries, the planner
             * reports FAILED after the last attempt. */
            log_event(LOG_ERROR, "task failed", "task_key", t->task_key, "error", terr.msg, "where",
                      terr.where, NULL);
            exit_code = CLI_FAIL;
            continue;
        }
        if (trc) {
            char why[800];
            snprintf(why, sizeof why, "%s%s%s", terr.msg, terr.where[0] ? " at " : "", terr.where);
            log_event(LOG_ERROR, "task rejected its input", "task_key", t->task_key, "error", why,
                      NULL);
            comp = job_completion_error(
                t, rec->plan_id, attempt,
                BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT, why, "runner",
                started);
            if (exit_code == CLI_OK) exit_code = CLI_BADINPUT;
        }
        rc = publish(prod, topic, comp, &err);
        if (!rc) {
            char days[16];
            snprintf(days, sizeof days, "%zu", comp->n_points);
            log_event(LOG_INFO, "task done", "task_key", t->task_key, "days", days, "series",
                      comp->series_uri, NULL);
        }
        job_completion_free(comp);
        if (rc) goto fail;
    }
    if ((rc = kafka_producer_flush(prod, 30000, &err))) goto fail;
fail:
    if (rc) {
        log_event(LOG_ERROR, "job failed", "manifest", manifest, "error", err.msg, "where",
                  err.where, NULL);
        /* A manifest that does not decode or a bad index is our input; a
         * Kafka or storage failure may pass. */
        exit_code = rc == BT_EINPUT ? CLI_BADINPUT : CLI_FAIL;
    }
    if (prod) kafka_producer_free(prod);
    if (rec) btpipe__v1__job_record__free_unpacked(rec, NULL);
    buf_free(&raw);
    storage_free(st);
    config_free(&cfg);
    return exit_code;
}
