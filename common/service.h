/* service.h -- what every btpipe service does around its own loop.
 *
 * service_start: --help, configuration, logging (BTPIPE_LOG_LEVEL),
 * SIGTERM/SIGINT handling, topic-prefix validation and the HTTP endpoint
 * (/healthz, /readyz, /metrics). A main.c then only wires adapters to its
 * core and runs a loop that polls Kafka with short timeouts (<= 200 ms)
 * and checks shutdown_requested() between polls. */
#ifndef BTPIPE_SERVICE_H
#define BTPIPE_SERVICE_H

#include "config.h"
#include "err.h"
#include "httpd.h"

struct kafka_msg;

struct service {
    const char *name;
    struct config cfg;
    struct httpd *httpd;
};

/* The settings every service reads, for --help texts. */
extern const char service_common_help[];

/* 0: running; SERVICE_EXIT_OK: --help was printed, exit 0 now; else a BT_E*
 * code with err filled (already logged): exit non-zero. usage is printed for
 * --help before the common settings. */
#define SERVICE_EXIT_OK (-1)
int service_start(struct service *s, const char *name, int argc, char **argv, const char *usage,
                  struct bt_err *err);
void service_set_ready(struct service *s, int ready);
/* The Kafka consumer group of this service: the value of var when set,
 * else "<topic prefix>.<service name>". Deriving it from the prefix keeps
 * two deployments (or two test runs) on one cluster out of each other's
 * rebalances. Static storage, valid until the next call. */
const char *service_group_id(const struct service *s, const char *var);
/* kafka_read_all of topic (30 s per attempt), retried every 500 ms for up to
 * 60 attempts while the answer is BT_ENET and no shutdown was asked: right
 * after the topics are created the broker may not have elected a leader
 * yet. Used to rebuild state from a compacted topic at start. */
int service_read_all(const struct service *s, const char *topic,
                     int (*fn)(const struct kafka_msg *m, void *ud), void *ud, struct bt_err *err);
/* Stops the HTTP endpoint and frees the configuration. */
void service_stop(struct service *s);

#endif
