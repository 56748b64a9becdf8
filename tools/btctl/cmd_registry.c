/* cmd_registry.c -- see cmd_registry.h. */
#include "cmd_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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
