/* service.c -- the start-up and shut-down every service shares. */
#include "service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "kafka_conf.h"
#include "log.h"
#include "shutdown.h"
#include "version.h"

const char service_common_help[] =
    "Common settings (environment first, then the file named by BTPIPE_CONFIG_FILE;\n"
    "docs/configuration.md lists every variable):\n"
    "  BTPIPE_KAFKA_BROKERS     bootstrap brokers, host:port[,...] (required)\n"
    "  BTPIPE_KAFKA_PROP_<name> any librdkafka property, '_' for '.', '__' for '_'\n"
    "  BTPIPE_TOPIC_PREFIX      topic name prefix (default btpipe)\n"
    "  BTPIPE_HTTP_ADDR         /healthz /readyz /metrics address (default 127.0.0.1:0)\n"
    "  BTPIPE_LOG_LEVEL         debug|info|warn|error (default info)\n"
    "  BTPIPE_CONFIG_FILE       NAME=value file read after the environment\n";

int service_start(struct service *s, const char *name, int argc, char **argv, const char *usage,
                  struct bt_err *err) {
    int rc, ok = 1;
    memset(s, 0, sizeof *s);
    s->name = name;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s %s\n\n%s\n%s", name, btpipe_version(), usage ? usage : "",
                   service_common_help);
            return SERVICE_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", name, btpipe_version());
            return SERVICE_EXIT_OK;
        }
    }
    log_init(name, LOG_INFO);
    if ((rc = config_load(&s->cfg, err))) goto fail;
    const char *lvl = config_get(&s->cfg, "BTPIPE_LOG_LEVEL");
    enum log_level l = log_level_parse(lvl, &ok);
    if (!ok) {
        rc = bt_err_set(err, BT_ECONFIG, "BTPIPE_LOG_LEVEL",
                        "BTPIPE_LOG_LEVEL='%.32s' is not one of debug, info, warn, error", lvl);
        goto fail;
    }
    log_init(name, l);
    if ((rc = kafka_topic_prefix_check(&s->cfg, err))) goto fail;
    shutdown_install();
    if ((rc = httpd_start(&s->cfg, name, &s->httpd, err))) goto fail;
    log_event(LOG_INFO, "started", "version", btpipe_version(), NULL);
    return 0;
fail:
    log_event(LOG_ERROR, "cannot start", "error", err ? err->msg : "", "where",
              err ? err->where : "", NULL);
    service_stop(s);
    return rc;
}

void service_set_ready(struct service *s, int ready) {
    httpd_set_ready(s->httpd, ready);
}

void service_stop(struct service *s) {
    if (s->httpd) httpd_stop(s->httpd);
    s->httpd = NULL;
    config_free(&s->cfg);
}

const char *service_group_id(const struct service *s, const char *var) {
    static char group[300];
    const char *v = config_get(&s->cfg, var);
    if (v) return v;
    snprintf(group, sizeof group, "%s.%s",
             config_get_default(&s->cfg, "BTPIPE_TOPIC_PREFIX", "btpipe"), s->name);
    return group;
}

int service_read_all(const struct service *s, const char *topic,
                     int (*fn)(const struct kafka_msg *m, void *ud), void *ud, struct bt_err *err) {
    int rc = 0;
    for (int attempt = 0; attempt < 60 && !shutdown_requested(); attempt++) {
        rc = kafka_read_all(&s->cfg, topic, fn, ud, 30000, err);
        if (rc != BT_ENET) return rc;
        log_event(LOG_WARN, "reading topic failed; retrying", "topic", topic, "error", err->msg,
                  NULL);
        struct timespec ts = {0, 500000000L};
        nanosleep(&ts, NULL);
    }
    return rc;
}
