/* test_planner_integration.c -- the real planner and runner on the local stack.
 *
 * Kafka and S3 (moto) from deploy/local (settings from .stack/env; exit 77 =
 * skipped when they are not set). Everything runs under a private topic
 * prefix, dataset name and results root so that it shares the stack with
 * other tests. Real bars are put into the data bucket; a strategy and a
 * factor are registered and ten dates announced by publishing messages, as
 * ingest and btctl would. Then:
 *   - the planner backfills, the runners publish completions, and the
 *     concatenated daily points equal, bit for bit, one local run over the
 *     same range (job_run_task over file://);
 *   - one more date gives a one-day task reading the backfill's state;
 *   - a bad factor lands on the dead-letter topic with the reason;
 *   - SIGTERM: the planner exits 0 within a few seconds; a restarted
 *     planner re-submits nothing that completed and plans the next date. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "data.h"
#include "job.h"
#include "kafka.h"
#include "msg.h"
#include "storage.h"

#include "btpipe/v1/data_increment.pb-c.h"
#include "btpipe/v1/dead_letter.pb-c.h"
#include "btpipe/v1/factor_spec.pb-c.h"
#include "btpipe/v1/strategy_spec.pb-c.h"

static char tmp[128], prefix[64], dataset[64], results[256], data_root[256];
static struct config cfg;
static struct storage *st;
static struct kafka_producer *prod;
static char **dates;
static size_t ndates;
static pid_t planner_pid; /* running planner, killed by teardown if a check failed */
static int passed;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void nap_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Imports real bars to tmp, then puts each daily file into the data bucket. */
static int put_data(void) {
    const char *syms[] = {"AAPL", "AAL", "AAP", "ABBV", "ABC", "ABT"};
    char paths[6][512];
    const char *pp[6];
    for (int i = 0; i < 6; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/data/sp500-5y/%s_data.csv.gz", BTPIPE_SHARED_DIR,
                 syms[i]);
        pp[i] = paths[i];
    }
    char dir[256], uri[300];
    snprintf(dir, sizeof dir, "%s/daily", tmp);
    struct data_import_opts io = {0};
    io.from = 20170101;
    io.to = 20170119; /* 12 trading dates */
    struct bt_err err = BT_ERR_INIT;
    if (data_import(pp, 6, DATA_LAYOUT_YAHOO, &io, dir, &err)) {
        fprintf(stderr, "import: %s\n", err.msg);
        return -1;
    }
    struct storage_entry *e = NULL;
    size_t n = 0;
    snprintf(uri, sizeof uri, "file://%s/", dir);
    if (storage_list(st, uri, &e, &n, &err)) {
        fprintf(stderr, "list %s: %s\n", uri, err.msg);
        return -1;
    }
    dates = calloc(n, sizeof *dates);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(e[i].uri, '/') + 1;
        struct buf b = BUF_INIT;
        char dst[512];
        snprintf(dst, sizeof dst, "%s/%.4s/%s", data_root, base, base);
        if (storage_read(st, e[i].uri, &b, &err) || storage_write(st, dst, b.p, b.len, &err)) {
            fprintf(stderr, "upload %s: %s\n", dst, err.msg);
            return -1;
        }
        buf_free(&b);
        dates[ndates++] = strndup(base, 10);
    }
    storage_entries_free(e, n);
    qsort(dates, ndates, sizeof *dates, cmp_str);
    if (ndates != 12) fprintf(stderr, "expected 12 dates, got %zu\n", ndates);
    return ndates == 12 ? 0 : -1;
}

static int stop_planner(pid_t pid, double *secs);

static int setup(void **state) {
    (void)state;
    if (!getenv("BTPIPE_KAFKA_BROKERS") || !getenv("BTPIPE_DATA_BUCKET") ||
        !getenv("BTPIPE_RESULTS_BUCKET")) {
        fprintf(stderr, "local stack not configured (source .stack/env): skipped\n");
        exit(77);
    }
    snprintf(tmp, sizeof tmp, "/tmp/btpipe-plan-it-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    snprintf(prefix, sizeof prefix, "pt%d%ld", (int)getpid(), (long)time(NULL) % 100000);
    snprintf(dataset, sizeof dataset, "ds%s", prefix);
    snprintf(results, sizeof results, "s3://%s/%s", getenv("BTPIPE_RESULTS_BUCKET"), prefix);
    snprintf(data_root, sizeof data_root, "s3://%s/%s/daily", getenv("BTPIPE_DATA_BUCKET"),
             dataset);
    setenv("BTPIPE_TOPIC_PREFIX", prefix, 1);
    setenv("BTPIPE_RESULTS_URI", results, 1);
    setenv("BTPIPE_RUNNER_PATH", RUNNER_BIN, 1);
    setenv("BTPIPE_TASK_BACKOFF_MS", "200", 1);
    struct bt_err err = BT_ERR_INIT;
    if (config_load(&cfg, &err) || storage_new(&cfg, &st, &err) ||
        kafka_ensure_topics(&cfg, &err) || kafka_producer_new(&cfg, &prod, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return put_data();
}

static int teardown(void **state) {
    (void)state;
    if (planner_pid > 0) { /* SIGTERM first: the planner stops its runners */
        double secs;
        stop_planner(planner_pid, &secs);
    }
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (!passed)
        fprintf(stderr, "keeping %s for the logs\n", tmp);
    else if (system(cmd) != 0)
        return -1;
    kafka_producer_free(prod);
    storage_free(st);
    config_free(&cfg);
    for (size_t i = 0; i < ndates; i++)
        free(dates[i]);
    free(dates);
    return 0;
}

static pid_t start_planner(int n) {
    char log[256];
    snprintf(log, sizeof log, "%s/planner%d.log", tmp, n);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl(PLANNER_BIN, PLANNER_BIN, (char *)NULL);
        _exit(127);
    }
    planner_pid = pid;
    return pid;
}

/* SIGTERM, then the exit status within 10 s (-1 when it did not exit). */
static int stop_planner(pid_t pid, double *secs) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            clock_gettime(CLOCK_MONOTONIC, &b);
            planner_pid = 0;
            *secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        }
        nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void produce(enum topic_id t, const char *key, const ProtobufCMessage *m) {
    struct buf b = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    if (m) msg_pack(m, &b);
    assert_int_equal(kafka_produce(prod, kafka_topic_name(&cfg, t), key, strlen(key),
                                   m ? b.p : NULL, b.len, &err),
                     0);
    assert_int_equal(kafka_producer_flush(prod, 10000, &err), 0);
    buf_free(&b);
}

static void announce(size_t i) {
    Btpipe__V1__DataIncrement inc = BTPIPE__V1__DATA_INCREMENT__INIT;
    char key[128], ver[64], id[160];
    snprintf(key, sizeof key, "%s/%s", dataset, dates[i]);
    snprintf(ver, sizeof ver, "v-%s", dates[i]);
    snprintf(id, sizeof id, "%s/%s", key, ver);
    Btpipe__V1__Meta meta;
    msg_meta_fill(&meta, id, "test");
    inc.meta = &meta;
    inc.dataset = dataset;
    inc.trading_date = dates[i];
    inc.uri = data_root;
    inc.data_version = ver;
    inc.detected_at_ms = msg_now_ms();
    inc.layout = "daily";
    produce(TOPIC_DATA_LANDED, key, &inc.base);
}

/* Collected from a topic read. */
struct seen {
    Btpipe__V1__JobCompletion *c[256];
    size_t nc;
    int submitted_again; /* JobRecords SUBMITTED with attempts > 1 */
    size_t njobs;
    char dead_reason[512];
};

static int on_completion(const struct kafka_msg *m, void *ud) {
    struct seen *s = ud;
    if (!m->value || s->nc == 256) return 0;
    Btpipe__V1__JobCompletion *c = btpipe__v1__job_completion__unpack(NULL, m->value_len, m->value);
    if (c) s->c[s->nc++] = c;
    return 0;
}

static int on_job(const struct kafka_msg *m, void *ud) {
    struct seen *s = ud;
    if (!m->value) return 0;
    Btpipe__V1__JobRecord *r = btpipe__v1__job_record__unpack(NULL, m->value_len, m->value);
    if (!r) return 0;
    s->njobs++;
    if (r->state == BTPIPE__V1__JOB_STATE__JOB_STATE_SUBMITTED && r->attempts > 1)
        s->submitted_again++;
    btpipe__v1__job_record__free_unpacked(r, NULL);
    return 0;
}

static int on_dead(const struct kafka_msg *m, void *ud) {
    struct seen *s = ud;
    Btpipe__V1__DeadLetter *d = btpipe__v1__dead_letter__unpack(NULL, m->value_len, m->value);
    if (!d) return 0;
    if (strstr(d->source_topic, "factors"))
        snprintf(s->dead_reason, sizeof s->dead_reason, "%s | %s", d->reason, d->where);
    btpipe__v1__dead_letter__free_unpacked(d, NULL);
    return 0;
}

static void seen_free(struct seen *s) {
    for (size_t i = 0; i < s->nc; i++)
        btpipe__v1__job_completion__free_unpacked(s->c[i], NULL);
    memset(s, 0, sizeof *s);
}

static void read_topic(enum topic_id t, int (*fn)(const struct kafka_msg *, void *), void *ud) {
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(kafka_read_all(&cfg, kafka_topic_name(&cfg, t), fn, ud, 10000, &err), 0);
}

/* The succeeded completions of strategy sid, ordered by from_date, chain
 * [0..upto]; returns how many dates they cover contiguously. */
static size_t chain_of(struct seen *s, const char *sid, Btpipe__V1__JobCompletion **out,
                       size_t *nout) {
    size_t covered = 0;
    *nout = 0;
    for (;;) {
        if (covered == ndates) break;
        Btpipe__V1__JobCompletion *best = NULL;
        for (size_t i = 0; i < s->nc; i++) {
            Btpipe__V1__JobCompletion *c = s->c[i];
            if (c->status != BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED) continue;
            if (strcmp(c->strategy_id, sid) != 0 || strcmp(c->from_date, dates[covered]) != 0)
                continue;
            if (!best || strcmp(c->to_date, best->to_date) > 0) best = c;
        }
        if (!best) break;
        out[(*nout)++] = best;
        size_t k = covered;
        while (k < ndates && strcmp(dates[k], best->to_date) <= 0)
            k++;
        covered = k;
    }
    return covered;
}

/* Waits until both pairs' chains cover `upto` dates. */
static void wait_covered(struct seen *s, size_t upto, int timeout_s) {
    for (int i = 0; i < timeout_s * 2; i++) {
        seen_free(s);
        read_topic(TOPIC_COMPLETIONS, on_completion, s);
        Btpipe__V1__JobCompletion *ch[64];
        size_t n;
        if (chain_of(s, "sig", ch, &n) >= upto && chain_of(s, "topk", ch, &n) >= upto) return;
        nap_ms(500);
    }
    for (size_t i = 0; i < s->nc; i++)
        fprintf(stderr, "completion %s status %d %s\n", s->c[i]->task_key, s->c[i]->status,
                s->c[i]->error);
    fail_msg("dates not covered within %d s (logs in %s)", timeout_s, tmp);
}

static void test_planner_on_stack(void **state) {
    (void)state;
    const char *expr = "ts_delta(close, 3)";
    Btpipe__V1__FactorSpec f = BTPIPE__V1__FACTOR_SPEC__INIT;
    f.factor_id = "mom3";
    f.version = 1;
    f.expr = (char *)expr;
    produce(TOPIC_FACTORS, "mom3", &f.base);
    Btpipe__V1__StrategySpec s1 = BTPIPE__V1__STRATEGY_SPEC__INIT, s2 = s1;
    s1.strategy_id = "sig";
    s1.version = 1;
    s1.kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL;
    produce(TOPIC_STRATEGIES, "sig", &s1.base);
    Btpipe__V1__Param k = BTPIPE__V1__PARAM__INIT, n = BTPIPE__V1__PARAM__INIT;
    Btpipe__V1__Param *kn[] = {&k, &n};
    k.key = "k";
    k.value = "3";
    n.key = "n";
    n.value = "1";
    s2.strategy_id = "topk";
    s2.version = 1;
    s2.kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT;
    s2.params = kn;
    s2.n_params = 2;
    produce(TOPIC_STRATEGIES, "topk", &s2.base);
    for (size_t i = 0; i < 10; i++)
        announce(i);

    pid_t pl = start_planner(1);
    struct seen s = {0};
    wait_covered(&s, 10, 90);

    /* one more date: a one-day task per pair, chained on the state */
    announce(10);
    wait_covered(&s, 11, 60);
    Btpipe__V1__JobCompletion *ch[64];
    size_t nch;
    chain_of(&s, "sig", ch, &nch);
    assert_true(nch >= 2);
    assert_string_equal(ch[nch - 1]->from_date, dates[10]);
    assert_string_equal(ch[nch - 1]->to_date, dates[10]);
    assert_int_equal(ch[nch - 1]->n_points, 1);

    /* bad registration -> dead letter with the reason */
    Btpipe__V1__FactorSpec bad = BTPIPE__V1__FACTOR_SPEC__INIT;
    bad.factor_id = "broken";
    bad.version = 1;
    bad.expr = "ts_delta(close,";
    produce(TOPIC_FACTORS, "broken", &bad.base);
    for (int i = 0; i < 40; i++) {
        struct seen d = {0};
        read_topic(TOPIC_DEADLETTER, on_dead, &d);
        if (d.dead_reason[0]) {
            assert_non_null(strstr(d.dead_reason, "bad expression"));
            break;
        }
        if (i == 39) fail_msg("no dead letter for the bad factor");
        nap_ms(250);
    }

    double secs = 0;
    assert_int_equal(stop_planner(pl, &secs), 0);
    assert_true(secs < 5.0);

    /* restart: nothing completed is submitted again; the next date is planned */
    pl = start_planner(2);
    announce(11);
    wait_covered(&s, 12, 60);
    struct seen j = {0};
    read_topic(TOPIC_JOBS, on_job, &j);
    assert_int_equal(j.submitted_again, 0);
    assert_true(j.njobs > 0);
    assert_int_equal(stop_planner(pl, &secs), 0);

    /* chained results == one local run over all 12 dates, bit for bit */
    const char *sids[] = {"sig", "topk"};
    for (int p = 0; p < 2; p++) {
        Btpipe__V1__Task t = BTPIPE__V1__TASK__INIT;
        char data[300], series[300];
        snprintf(data, sizeof data, "file://%s/daily", tmp);
        snprintf(series, sizeof series, "file://%s/full-%s.csv", tmp, sids[p]);
        t.task_key = "full";
        t.strategy_id = (char *)sids[p];
        t.factor_id = "mom3";
        t.dataset = dataset;
        t.from_date = dates[0];
        t.to_date = dates[11];
        t.warmup_from = dates[0];
        t.data_version = "x";
        t.expr = (char *)expr;
        t.kind = p ? s2.kind : s1.kind;
        t.params = p ? kn : NULL;
        t.n_params = p ? 2 : 0;
        t.data_uri = data;
        t.state_in_uri = "";
        t.state_out_uri = "";
        t.series_uri = series;
        Btpipe__V1__JobCompletion *full = NULL;
        struct bt_err err = BT_ERR_INIT;
        assert_int_equal(job_run_task(st, &t, "full", 1, "test", &full, &err), 0);
        chain_of(&s, sids[p], ch, &nch);
        size_t at = 0;
        for (size_t c = 0; c < nch; c++)
            for (size_t i = 0; i < ch[c]->n_points; i++, at++) {
                const Btpipe__V1__DailyPoint *x = ch[c]->points[i], *y = full->points[at];
                assert_string_equal(x->date, y->date);
                if (memcmp(&x->value, &y->value, sizeof x->value) ||
                    memcmp(&x->ret, &y->ret, sizeof x->ret))
                    fail_msg("%s %s: %.17g vs %.17g", sids[p], x->date, x->value, y->value);
            }
        assert_int_equal(at, 12);
        job_completion_free(full);
    }
    seen_free(&s);
    passed = 1;
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_planner_on_stack)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
