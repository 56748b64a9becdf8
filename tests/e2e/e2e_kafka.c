/* e2e_kafka -- the two Kafka moves the end-to-end test needs that no btpipe
 * command makes on purpose: put raw (garbage) bytes on a topic, and read
 * the dead letters back. Configuration from the environment like every
 * btpipe binary (BTPIPE_KAFKA_BROKERS, BTPIPE_TOPIC_PREFIX).
 *
 *   e2e_kafka produce NAME KEY VALUE   raw VALUE to <prefix>.NAME under KEY
 *   e2e_kafka deadletters              one line per dead letter:
 *                                      source_topic<TAB>service<TAB>reason
 *   e2e_kafka ensure                   creates the topics and waits until each
 *                                      can be read (its leader is elected) */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "btpipe/v1/dead_letter.pb-c.h"
#include "config.h"
#include "kafka.h"
#include "log.h"

static const struct {
    const char *name;
    enum topic_id id;
} topics[] = {
    {"data.landed", TOPIC_DATA_LANDED}, {"factors", TOPIC_FACTORS},
    {"strategies", TOPIC_STRATEGIES},   {"jobs", TOPIC_JOBS},
    {"completions", TOPIC_COMPLETIONS}, {"results", TOPIC_RESULTS},
    {"deadletter", TOPIC_DEADLETTER},
};

/* kafka_read_all callback that reads nothing. */
static int ignore(const struct kafka_msg *m, void *ud) {
    (void)m;
    (void)ud;
    return 0;
}

/* Creates every topic, then waits (up to 30 s) until each one reads. */
static int ensure(const struct config *cfg, struct bt_err *err) {
    int rc = kafka_ensure_topics(cfg, err);
    for (int t = 0; !rc && t < TOPIC_COUNT; t++) {
        for (int attempt = 0; attempt < 60; attempt++) {
            rc = kafka_read_all(cfg, kafka_topic_name(cfg, (enum topic_id)t), ignore, NULL, 10000,
                                err);
            if (!rc) break;
            usleep(500000);
        }
    }
    return rc;
}

/* kafka_read_all callback: prints one dead letter. */
static int print_dl(const struct kafka_msg *m, void *ud) {
    (void)ud;
    if (!m->value) return 0;
    Btpipe__V1__DeadLetter *d =
        btpipe__v1__dead_letter__unpack(NULL, m->value_len, (const uint8_t *)m->value);
    if (!d) {
        printf("?\t?\tundecodable dead letter at offset %lld\n", (long long)m->offset);
        return 0;
    }
    printf("%s\t%s\t%s\n", d->source_topic, d->service, d->reason);
    btpipe__v1__dead_letter__free_unpacked(d, NULL);
    return 0;
}

int main(int argc, char **argv) {
    struct config cfg;
    struct bt_err err = BT_ERR_INIT;
    int rc = 1;
    log_init("e2e_kafka", LOG_WARN);
    if (config_load(&cfg, &err)) {
        fprintf(stderr, "e2e_kafka: %s\n", err.msg);
        return 2;
    }
    if (argc == 5 && !strcmp(argv[1], "produce")) {
        struct kafka_producer *p = NULL;
        const char *topic = NULL;
        for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
            if (!strcmp(topics[i].name, argv[2])) topic = kafka_topic_name(&cfg, topics[i].id);
        if (!topic) {
            fprintf(stderr, "e2e_kafka: unknown topic name '%s'\n", argv[2]);
            rc = 2;
        } else if (kafka_ensure_topics(&cfg, &err) || kafka_producer_new(&cfg, &p, &err) ||
                   kafka_produce(p, topic, argv[3], strlen(argv[3]), argv[4], strlen(argv[4]),
                                 &err) ||
                   kafka_producer_flush(p, 15000, &err)) {
            fprintf(stderr, "e2e_kafka: %s\n", err.msg);
        } else {
            rc = 0;
        }
        kafka_producer_free(p);
    } else if (argc == 2 && !strcmp(argv[1], "ensure")) {
        rc = ensure(&cfg, &err);
        if (rc) fprintf(stderr, "e2e_kafka: %s\n", err.msg);
        rc = rc ? 1 : 0;
    } else if (argc == 2 && !strcmp(argv[1], "deadletters")) {
        rc = kafka_read_all(&cfg, kafka_topic_name(&cfg, TOPIC_DEADLETTER), print_dl, NULL, 30000,
                            &err);
        if (rc == BT_ENOTFOUND) rc = 0;
        if (rc) fprintf(stderr, "e2e_kafka: %s\n", err.msg);
        rc = rc ? 1 : 0;
    } else {
        fprintf(stderr, "usage: e2e_kafka produce NAME KEY VALUE | deadletters | ensure\n");
        rc = 2;
    }
    config_free(&cfg);
    return rc;
}
