/* cmd_factor.c -- btctl factor register|retire|list: the factors topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btctl.h"
#include "btpipe/v1/factor_spec.pb-c.h"
#include "cmd_registry.h"
#include "expr.h"
#include "msg.h"

static const char factor_usage[] =
    "usage: btctl factor register --id ID --expr EXPR [--version N] [--universe DATASET]\n"
    "                             [--description TEXT]\n"
    "       btctl factor retire --id ID\n"
    "       btctl factor list\n"
    "\n"
    "register publishes a FactorSpec to <prefix>.factors (key ID) after checking\n"
    "the expression locally (errors give line:column); the planner backfills it.\n"
    "retire publishes a tombstone. list prints the registered factors.\n"
    "Configuration from the environment as for the services (BTPIPE_KAFKA_BROKERS,\n"
    "BTPIPE_TOPIC_PREFIX, BTPIPE_KAFKA_PROP_*; docs/configuration.md).\n";

/* An id is used inside "a/b/c" pair ids and S3 keys: keep it plain. */
static int id_ok(const char *id) {
    if (!id || !*id || strlen(id) > 128) return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

static int factor_register(int argc, char **argv) {
    const char *id = NULL, *expr = NULL, *ver = "1", *universe = "", *desc = "";
    for (int i = 0; i < argc; i++) {
        int r = 0;
        if ((r = reg_arg(argc, argv, &i, "--id", &id, "factor register")) ||
            (r = reg_arg(argc, argv, &i, "--expr", &expr, "factor register")) ||
            (r = reg_arg(argc, argv, &i, "--version", &ver, "factor register")) ||
            (r = reg_arg(argc, argv, &i, "--universe", &universe, "factor register")) ||
            (r = reg_arg(argc, argv, &i, "--description", &desc, "factor register"))) {
            if (r < 0) return 2;
            continue;
        }
        fprintf(stderr, "btctl factor register: unknown argument '%s'\n%s", argv[i], factor_usage);
        return 2;
    }
    if (!id || !expr) {
        fprintf(stderr, "btctl factor register: --id and --expr are required\n%s", factor_usage);
        return 2;
    }
    if (!id_ok(id)) {
        fprintf(stderr, "btctl factor register: --id '%s': use 1-128 of [A-Za-z0-9_.-]\n", id);
        return 2;
    }
    char *end = NULL;
    unsigned long v = strtoul(ver, &end, 10);
    if (!*ver || *end || v < 1 || v > 4294967295UL) {
        fprintf(stderr, "btctl factor register: --version '%s' is not a positive integer\n", ver);
        return 2;
    }
    struct bt_err err = BT_ERR_INIT;
    int lookback = 0;
    if (expr_lookback_text(expr, &lookback, &err)) {
        fprintf(stderr, "btctl factor register: --expr: %s\n  %s\n", err.msg, expr);
        return 2;
    }
    struct config cfg;
    int rc = reg_config(&cfg, "factor register");
    if (rc) return rc;
    char mid[160];
    snprintf(mid, sizeof mid, "%s@%lu", id, v);
    Btpipe__V1__Meta meta;
    msg_meta_fill(&meta, mid, "btctl");
    Btpipe__V1__FactorSpec f = BTPIPE__V1__FACTOR_SPEC__INIT;
    f.meta = &meta;
    f.factor_id = (char *)id;
    f.version = (uint32_t)v;
    f.expr = (char *)expr;
    f.description = (char *)desc;
    f.universe = (char *)universe;
    f.lookback = (uint32_t)lookback; /* informative: the planner computes its own */
    struct buf val = BUF_INIT;
    msg_pack(&f.base, &val);
    rc = reg_publish(&cfg, TOPIC_FACTORS, id, val.p, val.len, "factor register");
    if (!rc)
        printf("registered factor %s version %lu (lookback %d days): %s\n", id, v, lookback, expr);
    buf_free(&val);
    config_free(&cfg);
    return rc;
}

static int factor_retire(int argc, char **argv) {
    const char *id = NULL;
    for (int i = 0; i < argc; i++) {
        int r = reg_arg(argc, argv, &i, "--id", &id, "factor retire");
        if (r < 0) return 2;
        if (r) continue;
        fprintf(stderr, "btctl factor retire: unknown argument '%s'\n%s", argv[i], factor_usage);
        return 2;
    }
    if (!id) {
        fprintf(stderr, "btctl factor retire: --id is required\n");
        return 2;
    }
    struct config cfg;
    int rc = reg_config(&cfg, "factor retire");
    if (rc) return rc;
    rc = reg_publish(&cfg, TOPIC_FACTORS, id, NULL, 0, "factor retire");
    if (!rc) printf("retired factor %s\n", id);
    config_free(&cfg);
    return rc;
}

static int factor_list(int argc, char **argv) {
    if (argc > 0) {
        fprintf(stderr, "btctl factor list: unknown argument '%s'\n", argv[0]);
        return 2;
    }
    struct config cfg;
    struct reg_table t;
    int rc = reg_config(&cfg, "factor list");
    if (rc) return rc;
    if ((rc = reg_read_latest(&cfg, TOPIC_FACTORS, &t, "factor list"))) goto out;
    printf("%-24s %7s %-10s %s\n", "FACTOR", "VERSION", "UNIVERSE", "EXPRESSION");
    for (size_t i = 0; i < t.n; i++) {
        Btpipe__V1__FactorSpec *f =
            btpipe__v1__factor_spec__unpack(NULL, t.e[i].len, (const uint8_t *)t.e[i].value);
        if (!f) {
            printf("%-24s %7s %-10s %s\n", t.e[i].key, "?", "", "(does not decode)");
            continue;
        }
        printf("%-24s %7u %-10s %s\n", f->factor_id, f->version,
               f->universe && *f->universe ? f->universe : "*", f->expr);
        btpipe__v1__factor_spec__free_unpacked(f, NULL);
    }
    reg_table_free(&t);
out:
    config_free(&cfg);
    return rc;
}

int btctl_factor(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        fputs(factor_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(factor_usage, stdout);
            return 0;
        }
    if (!strcmp(argv[0], "register")) return factor_register(argc - 1, argv + 1);
    if (!strcmp(argv[0], "retire")) return factor_retire(argc - 1, argv + 1);
    if (!strcmp(argv[0], "list")) return factor_list(argc - 1, argv + 1);
    fprintf(stderr, "btctl factor: unknown subcommand '%s'\n%s", argv[0], factor_usage);
    return 2;
}
