/* Kafka wrappers against the real local broker (deploy/local/stack-up.sh).
 *
 * Every run uses its own topic prefix and group ids, so runs never see each
 * other's data. Brokers come from BTPIPE_KAFKA_BROKERS, else from the
 * stack's .stack/env file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "btpipe/v1/dead_letter.pb-c.h"
#include "deadletter.h"
#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"
#include "shutdown.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#define N_MSGS 20
#define WAIT_MS 60000

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes BTPIPE_KAFKA_BROKERS from the stack's env file when the caller did
 * not export it (e.g. ctest run by hand after stack-up.sh). */
static int setup_env(void **state) {
    (void)state;
    if (!getenv("BTPIPE_KAFKA_BROKERS")) {
        FILE *f = fopen(BTPIPE_SOURCE_DIR "/.stack/env", "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "BTPIPE_KAFKA_BROKERS=");
            if (!p) continue;
            p += strlen("BTPIPE_KAFKA_BROKERS=");
            p[strcspn(p, "\r\n")] = '\0';
            if (*p == '"' || *p == '\'') {
                p++;
                p[strcspn(p, "\"'")] = '\0';
            }
            setenv("BTPIPE_KAFKA_BROKERS", p, 1);
        }
        if (f) fclose(f);
    }
    if (!getenv("BTPIPE_KAFKA_BROKERS")) {
        fprintf(stderr,
                "BTPIPE_KAFKA_BROKERS is not set and %s/.stack/env has none: "
                "start the stack with deploy/local/stack-up.sh\n",
                BTPIPE_SOURCE_DIR);
        return -1;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "it-%ld-%lld", (long)getpid(), (long long)time(NULL));
    setenv("BTPIPE_TOPIC_PREFIX", prefix, 1);
    setenv("BTPIPE_TOPIC_PARTITIONS", "2", 1);
    log_init("test_kafka_it", LOG_INFO);
    return 0;
}

/* cleanup.policy of a topic as the broker reports it (DescribeConfigs). */
static void describe_cleanup_policy(const char *topic, char *out, size_t outsz) {
    struct bt_err err = BT_ERR_INIT;
    char errstr[512];
    rd_kafka_conf_t *conf = kafka_conf_new(NULL, KAFKA_ADMIN, &err);
    assert_non_null(conf);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, WAIT_MS);
    assert_non_null(ev);
    assert_int_equal(rd_kafka_event_error(ev), 0);
    size_t nres = 0, ncfg = 0;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
    assert_int_equal(nres, 1);
    assert_int_equal(rd_kafka_ConfigResource_error(rs[0]), 0);
    const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rs[0], &ncfg);
    out[0] = '\0';
    for (size_t i = 0; i < ncfg; i++)
        if (strcmp(rd_kafka_ConfigEntry_name(ce[i]), "cleanup.policy") == 0)
            snprintf(out, outsz, "%s", rd_kafka_ConfigEntry_value(ce[i]));
    rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

static void test_ensure_topics(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    if (kafka_ensure_topics(NULL, &err)) fail_msg("ensure_topics: %s", err.msg);
    if (kafka_ensure_topics(NULL, &err)) fail_msg("ensure_topics again: %s", err.msg);
    for (int t = 0; t < TOPIC_COUNT; t++) {
        char policy[64];
        describe_cleanup_policy(kafka_topic_name(NULL, (enum topic_id)t), policy, sizeof policy);
        assert_string_equal(policy, t == TOPIC_DEADLETTER ? "delete" : "compact");
    }
}

struct seen {
    int count;
    int found[N_MSGS];
    int tombstones;
};

/* Keys are "k<i>" and values "v<i>"; anything else fails the test. */
static int msg_index(const struct kafka_msg *m) {
    char key[32], val[32];
    assert_true(m->key_len < sizeof key);
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    int i = atoi(key + 1);
    assert_true(key[0] == 'k' && i >= 0 && i < N_MSGS);
    snprintf(val, sizeof val, "v%d", i);
    assert_int_equal(m->value_len, strlen(val));
    assert_memory_equal(m->value, val, m->value_len);
    return i;
}

static int count_msg(const struct kafka_msg *m, void *ud) {
    struct seen *s = ud;
    if (!m->value) {
        s->tombstones++;
        return 0;
    }
    s->found[msg_index(m)]++;
    s->count++;
    return 0;
}

static void produce_n(const char *topic) {
    struct kafka_producer *p = NULL;
    struct bt_err err = BT_ERR_INIT;
    if (kafka_producer_new(NULL, &p, &err)) fail_msg("producer: %s", err.msg);
    for (int i = 0; i < N_MSGS; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(kafka_produce(p, topic, k, strlen(k), v, strlen(v), &err), 0);
    }
    if (kafka_producer_flush(p, WAIT_MS, &err)) fail_msg("flush: %s", err.msg);
    kafka_producer_free(p);
}

static void test_group_commit_resume(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    const char *topic = kafka_topic_name(NULL, TOPIC_JOBS);
    char group[96];
    snprintf(group, sizeof group, "%s-group", getenv("BTPIPE_TOPIC_PREFIX"));
    produce_n(topic);

    /* First member: read everything, mark and commit the first half read. */
    struct kafka_consumer *c = NULL;
    if (kafka_consumer_new(NULL, group, &topic, 1, &c, &err)) fail_msg("consumer: %s", err.msg);
    assert_false(kafka_consumer_at_end(c));
    int order[N_MSGS], got = 0;
    int64_t deadline = mono_ms() + WAIT_MS;
    while (!(got == N_MSGS && kafka_consumer_at_end(c)) && mono_ms() < deadline) {
        struct kafka_msg m;
        int rc = kafka_consumer_poll(c, 200, &m, &err);
        assert_true(rc >= 0);
        if (rc == 0) continue;
        assert_true(got < N_MSGS);
        order[got++] = msg_index(&m);
        if (got <= N_MSGS / 2) kafka_consumer_mark(c, &m);
    }
    assert_int_equal(got, N_MSGS);
    assert_true(kafka_consumer_at_end(c));
    if (kafka_consumer_commit(c, &err)) fail_msg("commit: %s", err.msg);
    kafka_consumer_close(c);

    /* Second member of the same group: exactly the unmarked half, once each. */
    int expect[N_MSGS] = {0};
    for (int i = N_MSGS / 2; i < N_MSGS; i++)
        expect[order[i]] = 1;
    int again[N_MSGS] = {0}, got2 = 0;
    if (kafka_consumer_new(NULL, group, &topic, 1, &c, &err)) fail_msg("consumer: %s", err.msg);
    deadline = mono_ms() + WAIT_MS;
    while (!kafka_consumer_at_end(c) && mono_ms() < deadline) {
        struct kafka_msg m;
        int rc = kafka_consumer_poll(c, 200, &m, &err);
        assert_true(rc >= 0);
        if (rc == 1) {
            again[msg_index(&m)]++;
            got2++;
        }
    }
    assert_true(kafka_consumer_at_end(c));
    /* Nothing arrives after the end either. */
    for (int i = 0; i < 5; i++) {
        struct kafka_msg m;
        assert_int_equal(kafka_consumer_poll(c, 200, &m, &err), 0);
    }
    assert_int_equal(got2, N_MSGS - N_MSGS / 2);
    for (int i = 0; i < N_MSGS; i++)
        if (again[i] != expect[i])
            fail_msg("message k%d read %d time(s) on resume, want %d", i, again[i], expect[i]);
    kafka_consumer_close(c);

    /* read_all sees the whole topic regardless of any group. */
    struct seen s = {0};
    if (kafka_read_all(NULL, topic, count_msg, &s, WAIT_MS, &err)) fail_msg("%s", err.msg);
    assert_int_equal(s.count, N_MSGS);
    for (int i = 0; i < N_MSGS; i++)
        assert_int_equal(s.found[i], 1);
}

static void test_tombstone_and_missing_topic(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    struct kafka_producer *p = NULL;
    const char *topic = kafka_topic_name(NULL, TOPIC_FACTORS);
    if (kafka_producer_new(NULL, &p, &err)) fail_msg("producer: %s", err.msg);
    assert_int_equal(kafka_produce(p, topic, "k1", 2, "v1", 2, &err), 0);
    assert_int_equal(kafka_produce(p, topic, "k1", 2, NULL, 0, &err), 0);
    if (kafka_producer_flush(p, WAIT_MS, &err)) fail_msg("flush: %s", err.msg);
    struct seen s = {0};
    if (kafka_read_all(NULL, topic, count_msg, &s, WAIT_MS, &err)) fail_msg("%s", err.msg);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.tombstones, 1);

    /* A delivery the broker refuses (no key on a compacted topic) surfaces at flush. */
    assert_int_equal(kafka_produce(p, topic, NULL, 0, "keyless", 7, &err), 0);
    assert_int_not_equal(kafka_producer_flush(p, WAIT_MS, &err), 0);
    assert_non_null(strstr(err.msg, "failed delivery"));
    kafka_producer_free(p);

    char missing[160];
    snprintf(missing, sizeof missing, "%s.no-such-topic", getenv("BTPIPE_TOPIC_PREFIX"));
    assert_int_equal(kafka_read_all(NULL, missing, count_msg, &s, 10000, &err), BT_ENOTFOUND);
}

static int keep_last(const struct kafka_msg *m, void *ud) {
    struct kafka_msg *out = ud;
    free((void *)out->key);
    free((void *)out->value);
    *out = *m;
    out->key = m->key ? memcpy(malloc(m->key_len), m->key, m->key_len) : NULL;
    out->value = m->value ? memcpy(malloc(m->value_len), m->value, m->value_len) : NULL;
    out->topic = NULL;
    return 0;
}

static void test_deadletter_round_trip(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    struct kafka_producer *p = NULL;
    const char *src_topic = kafka_topic_name(NULL, TOPIC_STRATEGIES);
    char src_name[160];
    snprintf(src_name, sizeof src_name, "%s", src_topic);
    const unsigned char junk[] = {0x0a, 0xff, 0xff, 0x01, 0x00, 0x42};
    if (kafka_producer_new(NULL, &p, &err)) fail_msg("producer: %s", err.msg);
    assert_int_equal(kafka_produce(p, src_name, "bad", 3, junk, sizeof junk, &err), 0);
    if (kafka_producer_flush(p, WAIT_MS, &err)) fail_msg("flush: %s", err.msg);

    struct kafka_msg src = {0};
    if (kafka_read_all(NULL, src_name, keep_last, &src, WAIT_MS, &err)) fail_msg("%s", err.msg);
    src.topic = src_name;
    assert_int_equal(src.value_len, sizeof junk);
    if (deadletter_send(p, NULL, "test_kafka_it", &src, "does not decode as StrategySpec", "byte 1",
                        &err))
        fail_msg("deadletter_send: %s", err.msg);
    if (kafka_producer_flush(p, WAIT_MS, &err)) fail_msg("flush: %s", err.msg);
    kafka_producer_free(p);

    struct kafka_msg dlm = {0};
    if (kafka_read_all(NULL, kafka_topic_name(NULL, TOPIC_DEADLETTER), keep_last, &dlm, WAIT_MS,
                       &err))
        fail_msg("%s", err.msg);
    char want_key[200];
    snprintf(want_key, sizeof want_key, "%s/bad", src_name);
    assert_int_equal(dlm.key_len, strlen(want_key));
    assert_memory_equal(dlm.key, want_key, dlm.key_len);
    Btpipe__V1__DeadLetter *dl =
        btpipe__v1__dead_letter__unpack(NULL, dlm.value_len, (const uint8_t *)dlm.value);
    assert_non_null(dl);
    char want_id[200];
    snprintf(want_id, sizeof want_id, "%s/%d/%lld", src_name, (int)src.partition,
             (long long)src.offset);
    assert_string_equal(dl->meta->id, want_id);
    assert_string_equal(dl->source_topic, src_name);
    assert_int_equal(dl->partition, src.partition);
    assert_int_equal(dl->offset, src.offset);
    assert_int_equal(dl->key.len, 3);
    assert_memory_equal(dl->key.data, "bad", 3);
    assert_int_equal(dl->value.len, sizeof junk);
    assert_memory_equal(dl->value.data, junk, sizeof junk);
    assert_string_equal(dl->reason, "does not decode as StrategySpec");
    assert_string_equal(dl->where, "byte 1");
    assert_string_equal(dl->service, "test_kafka_it");
    btpipe__v1__dead_letter__free_unpacked(dl, NULL);
    free((void *)src.key);
    free((void *)src.value);
    free((void *)dlm.key);
    free((void *)dlm.value);
}

static void *send_sigterm(void *arg) {
    (void)arg;
    usleep(1000 * 1000);
    kill(getpid(), SIGTERM);
    return NULL;
}

/* The loop every service runs: short polls, the shutdown flag between them;
 * SIGTERM must end it, commit and leave the group within a few seconds. */
static void test_sigterm_ends_poll_loop(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    const char *topic = kafka_topic_name(NULL, TOPIC_RESULTS);
    struct kafka_consumer *c = NULL;
    char group[96];
    snprintf(group, sizeof group, "%s-sigterm", getenv("BTPIPE_TOPIC_PREFIX"));
    shutdown_install();
    if (kafka_consumer_new(NULL, group, &topic, 1, &c, &err)) fail_msg("consumer: %s", err.msg);
    pthread_t th;
    pthread_create(&th, NULL, send_sigterm, NULL);
    int64_t t0 = mono_ms(), stopped = 0;
    while (!shutdown_requested() && mono_ms() - t0 < 20000) {
        struct kafka_msg m;
        assert_true(kafka_consumer_poll(c, 200, &m, &err) >= 0);
    }
    stopped = mono_ms();
    pthread_join(th, NULL);
    assert_true(shutdown_requested());
    kafka_consumer_close(c);
    int64_t closed = mono_ms();
    /* signal at ~1000 ms: the loop notices within one poll, close within seconds */
    assert_true(stopped - t0 < 1000 + 500);
    assert_true(closed - stopped < 5000);
}

/* kafka_read_all callback that counts messages. */
static int count_any(const struct kafka_msg *m, void *ud) {
    (void)m;
    (*(int *)ud)++;
    return 0;
}

/* The planner's start: topics that did not exist a moment ago are created
 * and read at once, then consumed as a group. Before ensure_topics waited
 * for leaders this failed with "Not leader for partition". Three fresh
 * prefixes, because the window is a race. */
static void test_fresh_topics_read_at_once(void **state) {
    (void)state;
    char saved[128], prefix[160];
    snprintf(saved, sizeof saved, "%s", getenv("BTPIPE_TOPIC_PREFIX"));
    for (int round = 0; round < 3; round++) {
        struct bt_err err = BT_ERR_INIT;
        snprintf(prefix, sizeof prefix, "%s-fresh%d", saved, round);
        setenv("BTPIPE_TOPIC_PREFIX", prefix, 1);
        if (kafka_ensure_topics(NULL, &err)) fail_msg("ensure_topics: %s", err.msg);
        for (int t = 0; t < TOPIC_COUNT; t++) {
            int n = 0;
            if (kafka_read_all(NULL, kafka_topic_name(NULL, (enum topic_id)t), count_any, &n,
                               WAIT_MS, &err))
                fail_msg("read_all %s right after creation: %s",
                         kafka_topic_name(NULL, (enum topic_id)t), err.msg);
            assert_int_equal(n, 0);
        }
        /* A group consumer on two fresh topics: no error, reads what is there. */
        const char *topics[2] = {kafka_topic_name(NULL, TOPIC_JOBS), NULL};
        char t2[256];
        snprintf(t2, sizeof t2, "%s", kafka_topic_name(NULL, TOPIC_DATA_LANDED));
        topics[1] = t2;
        produce_n(topics[0]);
        char group[200];
        snprintf(group, sizeof group, "%s-group", prefix);
        struct kafka_consumer *c = NULL;
        if (kafka_consumer_new(NULL, group, topics, 2, &c, &err)) fail_msg("consumer: %s", err.msg);
        int got = 0;
        int64_t deadline = mono_ms() + WAIT_MS;
        while (!(got == N_MSGS && kafka_consumer_at_end(c)) && mono_ms() < deadline) {
            struct kafka_msg m;
            int rc = kafka_consumer_poll(c, 200, &m, &err);
            if (rc < 0) fail_msg("consumer poll on fresh topics: %s", err.msg);
            if (rc == 1) msg_index(&m), got++;
        }
        assert_int_equal(got, N_MSGS);
        assert_true(kafka_consumer_at_end(c));
        kafka_consumer_close(c);
    }
    setenv("BTPIPE_TOPIC_PREFIX", saved, 1);
}

/* Consumer defaults: a short session (a killed member's partitions move on
 * within 10 s), overridable like any property. */
static void test_session_timeout_default_and_override(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    char v[64];
    size_t vsz = sizeof v;
    rd_kafka_conf_t *conf = kafka_conf_new(NULL, KAFKA_CONSUMER, &err);
    assert_non_null(conf);
    assert_int_equal(rd_kafka_conf_get(conf, "session.timeout.ms", v, &vsz), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "10000");
    vsz = sizeof v;
    assert_int_equal(rd_kafka_conf_get(conf, "heartbeat.interval.ms", v, &vsz), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "1000");
    rd_kafka_conf_destroy(conf);
    setenv("BTPIPE_KAFKA_PROP_session_timeout_ms", "7000", 1);
    conf = kafka_conf_new(NULL, KAFKA_CONSUMER, &err);
    unsetenv("BTPIPE_KAFKA_PROP_session_timeout_ms");
    assert_non_null(conf);
    vsz = sizeof v;
    assert_int_equal(rd_kafka_conf_get(conf, "session.timeout.ms", v, &vsz), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "7000");
    rd_kafka_conf_destroy(conf);
}

/* Which answers are retried, and how fast: "no leader yet" is the one a
 * fresh topic gives; an unknown topic or a bad request is not retried. */
static void test_retry_policy(void **state) {
    (void)state;
    assert_true(kafka_err_transient(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION));
    assert_true(kafka_err_transient(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE));
    assert_true(kafka_err_transient(RD_KAFKA_RESP_ERR__TRANSPORT));
    assert_true(kafka_err_transient(RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS));
    assert_false(kafka_err_transient(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
    assert_false(kafka_err_transient(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
    assert_false(kafka_err_transient(RD_KAFKA_RESP_ERR_NO_ERROR));
    assert_int_equal(kafka_backoff_ms(0), 50);
    assert_int_equal(kafka_backoff_ms(1), 100);
    assert_int_equal(kafka_backoff_ms(4), 800);
    assert_int_equal(kafka_backoff_ms(5), 1000);
    assert_int_equal(kafka_backoff_ms(1000), 1000);
}

/* Child mode (argv: member GROUP TOPIC): joins GROUP, reads TOPIC to its
 * end, says "ready" on stdout, then polls until killed. */
static int run_member(const char *group, const char *topic) {
    struct bt_err err = BT_ERR_INIT;
    struct kafka_consumer *c = NULL;
    log_init("test_kafka_it_member", LOG_WARN);
    if (kafka_consumer_new(NULL, group, &topic, 1, &c, &err)) return 2;
    int said = 0;
    for (int64_t t0 = mono_ms(); mono_ms() - t0 < 120000;) {
        struct kafka_msg m;
        if (kafka_consumer_poll(c, 100, &m, &err) < 0) return 3;
        if (!said && kafka_consumer_at_end(c)) {
            printf("ready\n");
            fflush(stdout);
            said = 1;
        }
    }
    return 4;
}

/* Starts this binary as a group member; returns its pid once it has its
 * partitions. */
static pid_t spawn_member(const char *group, const char *topic) {
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl("/proc/self/exe", "test_kafka_it", "member", group, topic, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char line[32] = {0};
    FILE *f = fdopen(fd[0], "r");
    if (!fgets(line, sizeof line, f)) fail_msg("group member child said nothing");
    fclose(f);
    assert_string_equal(line, "ready\n");
    return pid;
}

/* kill -9 of a member, then a new member joins the same group: its join
 * waits for the dead member's session to expire. SIGTERM arriving then must
 * still close within a few seconds, and the group must go on afterwards. */
static void test_close_bounded_behind_killed_member(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    const char *topic = kafka_topic_name(NULL, TOPIC_COMPLETIONS);
    char group[160];
    snprintf(group, sizeof group, "%s-killed", getenv("BTPIPE_TOPIC_PREFIX"));
    produce_n(topic);
    pid_t child = spawn_member(group, topic);
    assert_int_equal(kill(child, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);

    struct kafka_consumer *c = NULL;
    if (kafka_consumer_new(NULL, group, &topic, 1, &c, &err)) fail_msg("consumer: %s", err.msg);
    for (int64_t t0 = mono_ms(); mono_ms() - t0 < 2000;) {
        struct kafka_msg m;
        assert_true(kafka_consumer_poll(c, 100, &m, &err) >= 0);
    }
    /* The situation under test: still joining behind the dead member. */
    assert_false(kafka_consumer_at_end(c));
    int64_t t0 = mono_ms();
    kafka_consumer_close(c);
    int64_t took = mono_ms() - t0;
    if (took >= 5000) fail_msg("close took %lld ms behind a killed member", (long long)took);

    /* The group recovers: a new member gets the partitions and reads all
     * (nothing was committed) once the dead sessions expire. */
    int got = 0;
    if (kafka_consumer_new(NULL, group, &topic, 1, &c, &err)) fail_msg("consumer: %s", err.msg);
    int64_t deadline = mono_ms() + WAIT_MS;
    while (!(got == N_MSGS && kafka_consumer_at_end(c)) && mono_ms() < deadline) {
        struct kafka_msg m;
        int rc = kafka_consumer_poll(c, 200, &m, &err);
        assert_true(rc >= 0);
        if (rc == 1) msg_index(&m), got++;
    }
    assert_int_equal(got, N_MSGS);
    kafka_consumer_close(c);
}

/* Deletes the topics of the current prefix. */
static void delete_topics(void) {
    struct bt_err err = BT_ERR_INIT;
    char errstr[512];
    rd_kafka_conf_t *conf = kafka_conf_new(NULL, KAFKA_ADMIN, &err);
    if (!conf) return;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) return;
    rd_kafka_DeleteTopic_t *dt[TOPIC_COUNT];
    for (int t = 0; t < TOPIC_COUNT; t++)
        dt[t] = rd_kafka_DeleteTopic_new(kafka_topic_name(NULL, (enum topic_id)t));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, dt, TOPIC_COUNT, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_DeleteTopic_destroy_array(dt, TOPIC_COUNT);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* Deletes this run's topics (and the fresh-prefix ones) so repeated runs do
 * not pile up on the broker. */
static int teardown_topics(void **state) {
    (void)state;
    char saved[128], prefix[160];
    snprintf(saved, sizeof saved, "%s", getenv("BTPIPE_TOPIC_PREFIX"));
    delete_topics();
    for (int round = 0; round < 3; round++) {
        snprintf(prefix, sizeof prefix, "%s-fresh%d", saved, round);
        setenv("BTPIPE_TOPIC_PREFIX", prefix, 1);
        delete_topics();
    }
    setenv("BTPIPE_TOPIC_PREFIX", saved, 1);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "member") == 0) return run_member(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ensure_topics),
        cmocka_unit_test(test_group_commit_resume),
        cmocka_unit_test(test_tombstone_and_missing_topic),
        cmocka_unit_test(test_deadletter_round_trip),
        cmocka_unit_test(test_sigterm_ends_poll_loop),
        cmocka_unit_test(test_fresh_topics_read_at_once),
        cmocka_unit_test(test_session_timeout_default_and_override),
        cmocka_unit_test(test_retry_policy),
        cmocka_unit_test(test_close_bounded_behind_killed_member),
    };
    return cmocka_run_group_tests(tests, setup_env, teardown_topics);
}
