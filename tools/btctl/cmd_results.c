/* cmd_results.c -- btctl results list|watch: read <prefix>.results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "btctl.h"
#include "btpipe/v1/aggregated_result.pb-c.h"
#include "cmd_registry.h"
#include "shutdown.h"

static const char results_usage[] =
    "usage: btctl results list [--json]\n"
    "       btctl results watch [--timeout SECONDS] [--count N] [--json]\n"
    "\n"
    "list prints the latest AggregatedResult of every pair on <prefix>.results.\n"
    "watch prints every result from the beginning of the topic and then as it\n"
    "arrives, until N results were printed, SECONDS passed or Ctrl-C, and ends\n"
    "with the table of the latest result per pair. --json prints one JSON object\n"
    "per line instead of table rows (non-finite numbers as null).\n"
    "Configuration from the environment as for the services (BTPIPE_KAFKA_BROKERS,\n"
    "BTPIPE_TOPIC_PREFIX, BTPIPE_KAFKA_PROP_*; docs/configuration.md).\n";

static const char *status_name(Btpipe__V1__ResultStatus s) {
    switch (s) {
    case BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_CURRENT: return "current";
    case BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_LAGGING: return "lagging";
    case BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_FAILING: return "failing";
    default: return "unknown";
    }
}

static void print_header(void) {
    printf("%-40s %5s %-22s %10s %7s %9s %8s  %s\n", "PAIR", "DAYS", "FIRST..LAST", "TOTAL_RET",
           "SHARPE", "MAX_DD", "IC", "STATUS");
}

/* A number for the table: fixed decimals (scaled), or "-" when undefined
 * (a constant series has no Sharpe, a single symbol no IC). */
static const char *cell(char *b, size_t n, double v, double scale, int decimals,
                        const char *suffix) {
    if (!isfinite(v))
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.*f%s", decimals, v * scale, suffix);
    return b;
}

/* One table row; a failing pair gets its reason on the same line. */
static void print_row(const Btpipe__V1__AggregatedResult *r) {
    static const Btpipe__V1__Metrics zero = BTPIPE__V1__METRICS__INIT;
    const Btpipe__V1__Metrics *m = r->metrics ? r->metrics : &zero;
    char range[32], tr[32], sh[32], dd[32], ic[32];
    snprintf(range, sizeof range, "%s..%s", r->first_date, r->last_date);
    printf("%-40s %5u %-22s %10s %7s %9s %8s  %s%s%s\n", r->pair_id, r->days, range,
           cell(tr, sizeof tr, m->total_return, 100, 2, "%"),
           cell(sh, sizeof sh, m->sharpe, 1, 2, ""),
           cell(dd, sizeof dd, m->max_drawdown, 100, 2, "%"),
           cell(ic, sizeof ic, m->ic_mean, 1, 4, ""), status_name(r->status),
           r->status_reason && *r->status_reason ? ": " : "",
           r->status_reason ? r->status_reason : "");
}

/* A JSON number, or null when not finite (JSON has no NaN). */
static json_t *num(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static void print_json(const Btpipe__V1__AggregatedResult *r) {
    static const Btpipe__V1__Metrics zero = BTPIPE__V1__METRICS__INIT;
    const Btpipe__V1__Metrics *m = r->metrics ? r->metrics : &zero;
    json_t *mj = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i}", "final_value",
        num(m->final_value), "total_return", num(m->total_return), "annual_return",
        num(m->annual_return), "annual_volatility", num(m->annual_volatility), "sharpe",
        num(m->sharpe), "sortino", num(m->sortino), "max_drawdown", num(m->max_drawdown), "calmar",
        num(m->calmar), "win_rate", num(m->win_rate), "turnover", num(m->turnover), "ic_mean",
        num(m->ic_mean), "ic_std", num(m->ic_std), "ic_ir", num(m->ic_ir), "rank_ic_mean",
        num(m->rank_ic_mean), "rank_ic_std", num(m->rank_ic_std), "rank_ic_ir", num(m->rank_ic_ir),
        "days", (int)m->days);
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:i,s:o}", "id",
                  r->meta && r->meta->id ? r->meta->id : "", "pair_id", r->pair_id, "strategy_id",
                  r->strategy_id, "factor_id", r->factor_id, "dataset", r->dataset, "first_date",
                  r->first_date, "last_date", r->last_date, "days", (int)r->days, "status",
                  status_name(r->status), "status_reason", r->status_reason ? r->status_reason : "",
                  "updated_at_ms", (json_int_t)r->updated_at_ms, "completions", (int)r->completions,
                  "metrics", mj);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (s) printf("%s\n", s);
    free(s);
    json_decref(o);
}

/* Prints the table (or JSON lines) of a latest-per-pair table. */
static void print_table(const struct reg_table *t, int json) {
    if (!json) print_header();
    for (size_t i = 0; i < t->n; i++) {
        Btpipe__V1__AggregatedResult *r = btpipe__v1__aggregated_result__unpack(
            NULL, t->e[i].len, (const uint8_t *)t->e[i].value);
        if (!r) {
            if (!json) printf("%-40s (does not decode)\n", t->e[i].key);
            continue;
        }
        if (json)
            print_json(r);
        else
            print_row(r);
        btpipe__v1__aggregated_result__free_unpacked(r, NULL);
    }
    fflush(stdout);
}

static int results_list(int argc, char **argv) {
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        fprintf(stderr, "btctl results list: unknown argument '%s'\n%s", argv[i], results_usage);
        return 2;
    }
    struct config cfg;
    struct reg_table t;
    int rc = reg_config(&cfg, "results list");
    if (rc) return rc;
    if (!(rc = reg_read_latest(&cfg, TOPIC_RESULTS, &t, "results list"))) {
        print_table(&t, json);
        reg_table_free(&t);
    }
    config_free(&cfg);
    return rc;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keeps the latest value per key in t (the same rule as reg_read_latest). */
static void table_put(struct reg_table *t, const char *key, const void *v, size_t n) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].key, key)) {
            free(t->e[i].value);
            t->e[i].value = malloc(n ? n : 1);
            if (!t->e[i].value) abort();
            memcpy(t->e[i].value, v, n);
            t->e[i].len = n;
            return;
        }
    size_t at = 0;
    while (at < t->n && strcmp(t->e[at].key, key) < 0)
        at++;
    t->e = realloc(t->e, (t->n + 1) * sizeof *t->e);
    if (!t->e) abort();
    memmove(t->e + at + 1, t->e + at, (t->n - at) * sizeof *t->e);
    t->n++;
    t->e[at].key = strdup(key);
    t->e[at].value = malloc(n ? n : 1);
    if (!t->e[at].key || !t->e[at].value) abort();
    memcpy(t->e[at].value, v, n);
    t->e[at].len = n;
}

static int results_watch(int argc, char **argv) {
    int json = 0;
    const char *ts = NULL, *cs = NULL;
    for (int i = 0; i < argc; i++) {
        int r = 0;
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if ((r = reg_arg(argc, argv, &i, "--timeout", &ts, "results watch")) ||
            (r = reg_arg(argc, argv, &i, "--count", &cs, "results watch"))) {
            if (r < 0) return 2;
            continue;
        }
        fprintf(stderr, "btctl results watch: unknown argument '%s'\n%s", argv[i], results_usage);
        return 2;
    }
    double timeout = 0;
    long count = 0;
    char *end = NULL;
    if (ts && ((timeout = strtod(ts, &end)) <= 0 || *end)) {
        fprintf(stderr, "btctl results watch: --timeout '%s' is not a positive number\n", ts);
        return 2;
    }
    if (cs && ((count = strtol(cs, &end, 10)) <= 0 || *end)) {
        fprintf(stderr, "btctl results watch: --count '%s' is not a positive integer\n", cs);
        return 2;
    }
    struct config cfg;
    int rc = reg_config(&cfg, "results watch");
    if (rc) return rc;
    struct bt_err err = BT_ERR_INIT;
    struct kafka_consumer *c = NULL;
    struct reg_table latest = {0};
    const char *topic = kafka_topic_name(&cfg, TOPIC_RESULTS);
    char group[96];
    /* A group of its own, never committed: every watch reads from the start. */
    snprintf(group, sizeof group, "btctl-watch-%ld-%ld", (long)getpid(), (long)time(NULL));
    shutdown_install();
    rc = 1;
    if (kafka_ensure_topics(&cfg, &err)) goto fail;
    if (kafka_consumer_new(&cfg, group, &topic, 1, &c, &err)) goto fail;
    if (!json) {
        print_header();
        fflush(stdout);
    }
    double deadline = timeout > 0 ? mono_s() + timeout : 0;
    long printed = 0;
    while (!shutdown_requested() && (!count || printed < count) &&
           (!deadline || mono_s() < deadline)) {
        struct kafka_msg m;
        int got = kafka_consumer_poll(c, 200, &m, &err);
        if (got < 0) {
            fprintf(stderr, "btctl results watch: %s\n", err.msg);
            goto fail;
        }
        if (got == 0 || !m.value) continue;
        Btpipe__V1__AggregatedResult *r =
            btpipe__v1__aggregated_result__unpack(NULL, m.value_len, (const uint8_t *)m.value);
        if (!r) {
            fprintf(stderr, "btctl results watch: offset %lld does not decode\n",
                    (long long)m.offset);
            continue;
        }
        if (json)
            print_json(r);
        else
            print_row(r);
        fflush(stdout);
        table_put(&latest, r->pair_id, m.value, m.value_len);
        btpipe__v1__aggregated_result__free_unpacked(r, NULL);
        printed++;
    }
    if (!json) {
        printf("\nlatest result per pair (%zu pairs):\n", latest.n);
        print_table(&latest, 0);
    }
    rc = (count && printed < count) ? 1 : 0; /* asked for N and timed out: say so */
    if (rc)
        fprintf(stderr, "btctl results watch: %ld of %ld results before the timeout\n", printed,
                count);
fail:
    if (rc && err.msg[0]) fprintf(stderr, "btctl results watch: %s\n", err.msg);
    kafka_consumer_close(c);
    reg_table_free(&latest);
    config_free(&cfg);
    return rc;
}

int btctl_results(int argc, char **argv) {
    static const struct reg_sub subs[] = {{"list", results_list}, {"watch", results_watch}};
    return reg_dispatch(argc, argv, "results", results_usage, subs, sizeof subs / sizeof subs[0]);
}
