/* cmd_factor.c -- btctl factor register|retire|list: the factors topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btctl.h"
#include "btpipe/v1/factor_spec.pb-c.h"
#include "cmd_registry.h"
#include "expr.h"

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
    unsigned long v = 0;
    if (reg_check_id(id, "factor register") || reg_check_version(ver, &v, "factor register"))
        return 2;
    struct bt_err err = BT_ERR_INIT;
    int lookback = 0;
    if (expr_lookback_text(expr, &lookback, &err)) {
        fprintf(stderr, "btctl factor register: --expr: %s\n  %s\n", err.msg, expr);
        return 2;
    }
    Btpipe__V1__Meta meta;
    Btpipe__V1__FactorSpec f = BTPIPE__V1__FACTOR_SPEC__INIT;
    f.meta = &meta;
    f.factor_id = (char *)id;
    f.version = (uint32_t)v;
    f.expr = (char *)expr;
    f.description = (char *)desc;
    f.universe = (char *)universe;
    f.lookback = (uint32_t)lookback; /* informative: the planner computes its own */
    int rc = reg_register(TOPIC_FACTORS, id, v, &f.base, &meta, "factor register");
    if (!rc)
        printf("registered factor %s version %lu (lookback %d days): %s\n", id, v, lookback, expr);
    return rc;
}

static int factor_retire(int argc, char **argv) {
    return reg_retire(argc, argv, TOPIC_FACTORS, "factor", factor_usage);
}

/* reg_list printer: one row per factor. */
static void factor_print(const struct reg_table *t) {
    printf("%-24s %7s %-10s %s\n", "FACTOR", "VERSION", "UNIVERSE", "EXPRESSION");
    for (size_t i = 0; i < t->n; i++) {
        Btpipe__V1__FactorSpec *f =
            btpipe__v1__factor_spec__unpack(NULL, t->e[i].len, (const uint8_t *)t->e[i].value);
        if (!f) {
            printf("%-24s %7s %-10s %s\n", t->e[i].key, "?", "", "(does not decode)");
            continue;
        }
        printf("%-24s %7u %-10s %s\n", f->factor_id, f->version,
               f->universe && *f->universe ? f->universe : "*", f->expr);
        btpipe__v1__factor_spec__free_unpacked(f, NULL);
    }
}

static int factor_list(int argc, char **argv) {
    return reg_list(argc, argv, TOPIC_FACTORS, "factor", factor_print);
}

int btctl_factor(int argc, char **argv) {
    static const struct reg_sub subs[] = {
        {"register", factor_register}, {"retire", factor_retire}, {"list", factor_list}};
    return reg_dispatch(argc, argv, "factor", factor_usage, subs, sizeof subs / sizeof subs[0]);
}
