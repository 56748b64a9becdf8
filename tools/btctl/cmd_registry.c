/* cmd_registry.c -- see cmd_registry.h. */
#include "cmd_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"

int reg_config(struct config *cfg, const char *cmd) {
    struct bt_err err = BT_ERR_INIT;
    log_init("btctl", LOG_WARN);
    if (config_load(cfg, &err)) {
        fprintf(stderr, "btctl %s: %s\n", cmd, err.msg);
        return 2;
    }
    int ok = 1;
    const char *lvl = config_get(cfg, "BTPIPE_LOG_LEVEL");
    if (lvl) {
        enum log_level l = log_level_parse(lvl, &ok);
        if (ok) log_init("btctl", l);
    }
    return 0;
}

int reg_publish(const struct config *cfg, enum topic_id t, const char *key, const void *value,
                size_t len, const char *cmd) {
    struct bt_err err = BT_ERR_INIT;
    struct kafka_producer *p = NULL;
    int rc = 1;
    if (kafka_ensure_topics(cfg, &err)) goto fail;
    if (kafka_producer_new(cfg, &p, &err)) goto fail;
    if (kafka_produce(p, kafka_topic_name(cfg, t), key, strlen(key), value, len, &err)) goto fail;
    if (kafka_producer_flush(p, 15000, &err)) goto fail;
    rc = 0;
fail:
    if (rc) fprintf(stderr, "btctl %s: %s\n", cmd, err.msg);
    kafka_producer_free(p);
    return rc;
}

/* Index of key in the sorted table, or -(insertion point)-1. */
static long table_find(const struct reg_table *t, const char *key) {
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->e[mid].key, key);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/* kafka_read_all callback: later values replace earlier, tombstones delete. */
static int keep_latest(const struct kafka_msg *m, void *ud) {
    struct reg_table *t = ud;
    char *key = strndup(m->key ? (const char *)m->key : "", m->key ? m->key_len : 0);
    if (!key) abort();
    long i = table_find(t, key);
    if (i >= 0) {
        free(t->e[i].value);
        if (!m->value) {
            free(t->e[i].key);
            memmove(t->e + i, t->e + i + 1, (t->n - (size_t)i - 1) * sizeof *t->e);
            t->n--;
            free(key);
            return 0;
        }
    } else {
        if (!m->value) {
            free(key);
            return 0;
        }
        size_t at = (size_t)(-i - 1);
        t->e = realloc(t->e, (t->n + 1) * sizeof *t->e);
        if (!t->e) abort();
        memmove(t->e + at + 1, t->e + at, (t->n - at) * sizeof *t->e);
        t->n++;
        i = (long)at;
        t->e[i].key = key;
        key = NULL;
    }
    free(key);
    t->e[i].value = malloc(m->value_len ? m->value_len : 1);
    if (!t->e[i].value) abort();
    memcpy(t->e[i].value, m->value, m->value_len);
    t->e[i].len = m->value_len;
    return 0;
}

int reg_read_latest(const struct config *cfg, enum topic_id t, struct reg_table *out,
                    const char *cmd) {
    struct bt_err err = BT_ERR_INIT;
    memset(out, 0, sizeof *out);
    int rc = kafka_read_all(cfg, kafka_topic_name(cfg, t), keep_latest, out, 30000, &err);
    if (rc == BT_ENOTFOUND) return 0; /* no topic yet: nothing registered */
    if (rc) {
        fprintf(stderr, "btctl %s: %s\n", cmd, err.msg);
        return 1;
    }
    return 0;
}

void reg_table_free(struct reg_table *t) {
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].key);
        free(t->e[i].value);
    }
    free(t->e);
    memset(t, 0, sizeof *t);
}

int reg_arg(int argc, char **argv, int *i, const char *name, const char **val, const char *cmd) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0') return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "btctl %s: %s needs a value\n", cmd, name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int reg_check_id(const char *id, const char *cmd) {
    int ok = id && *id && strlen(id) <= 128;
    for (const char *p = id; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_' || *p == '-' || *p == '.';
    if (ok) return 0;
    fprintf(stderr, "btctl %s: --id '%s': use 1-128 of [A-Za-z0-9_.-]\n", cmd, id);
    return 2;
}

int reg_check_version(const char *ver, unsigned long *v, const char *cmd) {
    char *end = NULL;
    *v = strtoul(ver, &end, 10);
    if (*ver && !*end && *v >= 1 && *v <= 4294967295UL) return 0;
    fprintf(stderr, "btctl %s: --version '%s' is not a positive integer\n", cmd, ver);
    return 2;
}

int reg_register(enum topic_id t, const char *id, unsigned long v, const ProtobufCMessage *spec,
                 Btpipe__V1__Meta *meta, const char *cmd) {
    struct config cfg;
    int rc = reg_config(&cfg, cmd);
    if (rc) return rc;
    char mid[160];
    snprintf(mid, sizeof mid, "%s@%lu", id, v);
    msg_meta_fill(meta, mid, "btctl");
    struct buf val = BUF_INIT;
    msg_pack(spec, &val);
    rc = reg_publish(&cfg, t, id, val.p, val.len, cmd);
    buf_free(&val);
    config_free(&cfg);
    return rc;
}

int reg_retire(int argc, char **argv, enum topic_id t, const char *noun, const char *usage) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%s retire", noun);
    const char *id = NULL;
    for (int i = 0; i < argc; i++) {
        int r = reg_arg(argc, argv, &i, "--id", &id, cmd);
        if (r < 0) return 2;
        if (r) continue;
        fprintf(stderr, "btctl %s: unknown argument '%s'\n%s", cmd, argv[i], usage);
        return 2;
    }
    if (!id) {
        fprintf(stderr, "btctl %s: --id is required\n", cmd);
        return 2;
    }
    struct config cfg;
    int rc = reg_config(&cfg, cmd);
    if (rc) return rc;
    rc = reg_publish(&cfg, t, id, NULL, 0, cmd);
    if (!rc) printf("retired %s %s\n", noun, id);
    config_free(&cfg);
    return rc;
}

int reg_list(int argc, char **argv, enum topic_id t, const char *noun,
             void (*print)(const struct reg_table *t)) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%s list", noun);
    if (argc > 0) {
        fprintf(stderr, "btctl %s: unknown argument '%s'\n", cmd, argv[0]);
        return 2;
    }
    struct config cfg;
    struct reg_table tab;
    int rc = reg_config(&cfg, cmd);
    if (rc) return rc;
    if (!(rc = reg_read_latest(&cfg, t, &tab, cmd))) {
        print(&tab);
        reg_table_free(&tab);
    }
    config_free(&cfg);
    return rc;
}

int reg_dispatch(int argc, char **argv, const char *noun, const char *usage,
                 const struct reg_sub *subs, size_t nsubs) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        fputs(usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
    for (size_t i = 0; i < nsubs; i++)
        if (!strcmp(argv[0], subs[i].name)) return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "btctl %s: unknown subcommand '%s'\n%s", noun, argv[0], usage);
    return 2;
}
