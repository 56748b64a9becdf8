/* chaos_kafka -- prints what the pipeline wrote to Kafka as JSON lines, so
 * the kill -9 test can count every completion and every published result
 * (btctl shows only the latest result per pair). Configuration from the
 * environment like every btpipe binary (BTPIPE_KAFKA_BROKERS,
 * BTPIPE_TOPIC_PREFIX).
 *
 *   chaos_kafka completions   one line per message on <prefix>.completions
 *   chaos_kafka results       one line per message on <prefix>.results
 *   chaos_kafka jobs          one line per message on <prefix>.jobs */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "btpipe/v1/aggregated_result.pb-c.h"
#include "btpipe/v1/job_completion.pb-c.h"
#include "btpipe/v1/job_record.pb-c.h"
#include "config.h"
#include "kafka.h"
#include "log.h"

/* A JSON string: our ids and dates hold no quotes or control characters,
 * but a broken message must not break the line, so escape anyway. */
static void put_str(const char *name, const char *s) {
    printf("\"%s\":\"", name);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    printf("\"");
}

/* A double exactly (round-trips), NaN and infinities as null. */
static void put_num(const char *name, double x) {
    if (isfinite(x))
        printf(",\"%s\":%.17g", name, x);
    else
        printf(",\"%s\":null", name);
}

static void put_metrics(const Btpipe__V1__Metrics *m) {
    printf(",\"metrics\":{\"days\":%u", m ? m->days : 0);
    if (m) {
        put_num("final_value", m->final_value);
        put_num("total_return", m->total_return);
        put_num("annual_return", m->annual_return);
        put_num("annual_volatility", m->annual_volatility);
        put_num("sharpe", m->sharpe);
        put_num("sortino", m->sortino);
        put_num("max_drawdown", m->max_drawdown);
        put_num("calmar", m->calmar);
        put_num("win_rate", m->win_rate);
        put_num("turnover", m->turnover);
        put_num("ic_mean", m->ic_mean);
        put_num("ic_std", m->ic_std);
        put_num("ic_ir", m->ic_ir);
        put_num("rank_ic_mean", m->rank_ic_mean);
        put_num("rank_ic_std", m->rank_ic_std);
        put_num("rank_ic_ir", m->rank_ic_ir);
    }
    printf("}");
}

/* Position and key every line starts with; tombstones say only that. */
static int put_head(const struct kafka_msg *m) {
    char key[512];
    size_t n = m->key_len < sizeof key - 1 ? m->key_len : sizeof key - 1;
    memcpy(key, m->key ? m->key : "", n);
    key[n] = '\0';
    printf("{\"partition\":%d,\"offset\":%lld,", (int)m->partition, (long long)m->offset);
    put_str("key", key);
    if (!m->value) {
        printf(",\"tombstone\":true}\n");
        return 0;
    }
    return 1;
}

static int print_completion(const struct kafka_msg *m, void *ud) {
    (void)ud;
    if (!put_head(m)) return 0;
    Btpipe__V1__JobCompletion *c =
        btpipe__v1__job_completion__unpack(NULL, m->value_len, (const uint8_t *)m->value);
    if (!c) {
        printf(",\"undecodable\":true}\n");
        return 0;
    }
    printf(",");
    put_str("id", c->meta ? c->meta->id : "");
    printf(",");
    put_str("producer", c->meta ? c->meta->producer : "");
    printf(",");
    put_str("task_key", c->task_key);
    printf(",");
    put_str("plan_id", c->plan_id);
    printf(",\"attempt\":%u,\"status\":%d,", c->attempt, (int)c->status);
    put_str("error", c->error);
    printf(",");
    put_str("strategy_id", c->strategy_id);
    printf(",");
    put_str("factor_id", c->factor_id);
    printf(",");
    put_str("dataset", c->dataset);
    printf(",");
    put_str("from_date", c->from_date);
    printf(",");
    put_str("to_date", c->to_date);
    printf(",");
    put_str("data_version", c->data_version);
    printf(",\"points\":[");
    for (size_t i = 0; i < c->n_points; i++) {
        printf(i ? ",{" : "{");
        put_str("date", c->points[i]->date);
        put_num("ret", c->points[i]->ret);
        printf("}");
    }
    printf("]}\n");
    btpipe__v1__job_completion__free_unpacked(c, NULL);
    return 0;
}

static int print_result(const struct kafka_msg *m, void *ud) {
    (void)ud;
    if (!put_head(m)) return 0;
    Btpipe__V1__AggregatedResult *r =
        btpipe__v1__aggregated_result__unpack(NULL, m->value_len, (const uint8_t *)m->value);
    if (!r) {
        printf(",\"undecodable\":true}\n");
        return 0;
    }
    printf(",");
    put_str("id", r->meta ? r->meta->id : "");
    printf(",");
    put_str("pair_id", r->pair_id);
    printf(",");
    put_str("first_date", r->first_date);
    printf(",");
    put_str("last_date", r->last_date);
    printf(",\"days\":%u,\"completions\":%u,\"status\":%d,", r->days, r->completions,
           (int)r->status);
    put_str("status_reason", r->status_reason);
    put_metrics(r->metrics);
    printf("}\n");
    btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    return 0;
}

static int print_job(const struct kafka_msg *m, void *ud) {
    (void)ud;
    if (!put_head(m)) return 0;
    Btpipe__V1__JobRecord *j =
        btpipe__v1__job_record__unpack(NULL, m->value_len, (const uint8_t *)m->value);
    if (!j) {
        printf(",\"undecodable\":true}\n");
        return 0;
    }
    printf(",");
    put_str("id", j->meta ? j->meta->id : "");
    printf(",");
    put_str("plan_id", j->plan_id);
    printf(",\"state\":%d,\"attempts\":%u,", (int)j->state, j->attempts);
    put_str("external_id", j->external_id);
    printf(",\"tasks\":[");
    for (size_t i = 0; i < j->n_tasks; i++) {
        printf(i ? "," : "");
        printf("{");
        put_str("task_key", j->tasks[i]->task_key);
        printf("}");
    }
    printf("]}\n");
    btpipe__v1__job_record__free_unpacked(j, NULL);
    return 0;
}

int main(int argc, char **argv) {
    struct config cfg;
    struct bt_err err = BT_ERR_INIT;
    int (*fn)(const struct kafka_msg *, void *) = NULL;
    enum topic_id t = TOPIC_COMPLETIONS;
    log_init("chaos_kafka", LOG_WARN);
    if (argc == 2 && !strcmp(argv[1], "completions"))
        fn = print_completion;
    else if (argc == 2 && !strcmp(argv[1], "results"))
        fn = print_result, t = TOPIC_RESULTS;
    else if (argc == 2 && !strcmp(argv[1], "jobs"))
        fn = print_job, t = TOPIC_JOBS;
    if (!fn) {
        fprintf(stderr, "usage: chaos_kafka completions|results|jobs\n");
        return 2;
    }
    if (config_load(&cfg, &err)) {
        fprintf(stderr, "chaos_kafka: %s\n", err.msg);
        return 2;
    }
    int rc = kafka_read_all(&cfg, kafka_topic_name(&cfg, t), fn, NULL, 30000, &err);
    if (rc == BT_ENOTFOUND) rc = 0;
    if (rc) fprintf(stderr, "chaos_kafka: %s\n", err.msg);
    fflush(stdout);
    config_free(&cfg);
    return rc ? 1 : 0;
}
