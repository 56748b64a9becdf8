/* cmd_strategy.c -- btctl strategy register|retire|list: the strategies topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btctl.h"
#include "btpipe/v1/strategy_spec.pb-c.h"
#include "cmd_registry.h"
#include "run.h"

static const char strategy_usage[] =
    "usage: btctl strategy register --id ID --kind signal|long_short_quantile|topk_dropout\n"
    "                               [--param KEY=VALUE]... [--version N] [--description TEXT]\n"
    "       btctl strategy retire --id ID\n"
    "       btctl strategy list\n"
    "\n"
    "register publishes a StrategySpec to <prefix>.strategies (key ID) after\n"
    "checking the parameters locally (cash, commission, quantiles, cost_bps, k, n);\n"
    "retire publishes a tombstone; list prints the registered strategies.\n"
    "Configuration from the environment as for the services (BTPIPE_KAFKA_BROKERS,\n"
    "BTPIPE_TOPIC_PREFIX, BTPIPE_KAFKA_PROP_*; docs/configuration.md).\n";

static const struct {
    const char *name;
    Btpipe__V1__StrategyKind kind;
} kinds[] = {
    {"signal", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL},
    {"long_short_quantile", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_LONG_SHORT_QUANTILE},
    {"topk_dropout", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT},
    {"container", BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_CONTAINER},
};

static const char *kind_name(Btpipe__V1__StrategyKind k) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == k) return kinds[i].name;
    return "?";
}

enum { MAX_PARAMS = 32 };

static int strategy_register(int argc, char **argv) {
    const char *id = NULL, *kind = NULL, *ver = "1", *desc = "", *pv = NULL;
    const char *params[MAX_PARAMS];
    size_t nparams = 0;
    for (int i = 0; i < argc; i++) {
        int r = 0;
        if ((r = reg_arg(argc, argv, &i, "--param", &pv, "strategy register"))) {
            if (r < 0) return 2;
            if (nparams == MAX_PARAMS) {
                fprintf(stderr, "btctl strategy register: at most %d --param\n", MAX_PARAMS);
                return 2;
            }
            params[nparams++] = pv;
            continue;
        }
        if ((r = reg_arg(argc, argv, &i, "--id", &id, "strategy register")) ||
            (r = reg_arg(argc, argv, &i, "--kind", &kind, "strategy register")) ||
            (r = reg_arg(argc, argv, &i, "--version", &ver, "strategy register")) ||
            (r = reg_arg(argc, argv, &i, "--description", &desc, "strategy register"))) {
            if (r < 0) return 2;
            continue;
        }
        fprintf(stderr, "btctl strategy register: unknown argument '%s'\n%s", argv[i],
                strategy_usage);
        return 2;
    }
    if (!id || !kind) {
        fprintf(stderr, "btctl strategy register: --id and --kind are required\n%s",
                strategy_usage);
        return 2;
    }
    if (reg_check_id(id, "strategy register")) return 2;
    struct bt_err err = BT_ERR_INIT;
    enum run_kind rk;
    if (run_kind_parse(kind, &rk, &err)) {
        fprintf(stderr, "btctl strategy register: --kind: %s\n", err.msg);
        return 2;
    }
    Btpipe__V1__StrategyKind pk = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_UNSPECIFIED;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].name, kind)) pk = kinds[i].kind;
    unsigned long v = 0;
    if (reg_check_version(ver, &v, "strategy register")) return 2;
    struct run_params rp;
    run_params_default(&rp);
    Btpipe__V1__Param pb[MAX_PARAMS], *pbp[MAX_PARAMS];
    char keys[MAX_PARAMS][64];
    for (size_t i = 0; i < nparams; i++) {
        if (strategy_params_parse_kv(&rp, params[i], &err)) {
            fprintf(stderr, "btctl strategy register: --param %s: %s\n", params[i], err.msg);
            return 2;
        }
        const char *eq = strchr(params[i], '=');
        snprintf(keys[i], sizeof keys[i], "%.*s", (int)(eq - params[i]), params[i]);
        btpipe__v1__param__init(&pb[i]);
        pb[i].key = keys[i];
        pb[i].value = (char *)eq + 1;
        pbp[i] = &pb[i];
    }
    Btpipe__V1__Meta meta;
    Btpipe__V1__StrategySpec s = BTPIPE__V1__STRATEGY_SPEC__INIT;
    s.meta = &meta;
    s.strategy_id = (char *)id;
    s.version = (uint32_t)v;
    s.kind = pk;
    s.n_params = nparams;
    s.params = pbp;
    s.description = (char *)desc;
    int rc = reg_register(TOPIC_STRATEGIES, id, v, &s.base, &meta, "strategy register");
    if (!rc) printf("registered strategy %s version %lu (%s)\n", id, v, kind);
    return rc;
}

static int strategy_retire(int argc, char **argv) {
    return reg_retire(argc, argv, TOPIC_STRATEGIES, "strategy", strategy_usage);
}

/* reg_list printer: one row per strategy. */
static void strategy_print(const struct reg_table *t) {
    printf("%-24s %7s %-20s %s\n", "STRATEGY", "VERSION", "KIND", "PARAMS");
    for (size_t i = 0; i < t->n; i++) {
        Btpipe__V1__StrategySpec *s =
            btpipe__v1__strategy_spec__unpack(NULL, t->e[i].len, (const uint8_t *)t->e[i].value);
        if (!s) {
            printf("%-24s %7s %-20s %s\n", t->e[i].key, "?", "", "(does not decode)");
            continue;
        }
        printf("%-24s %7u %-20s", s->strategy_id, s->version, kind_name(s->kind));
        for (size_t k = 0; k < s->n_params; k++)
            printf(" %s=%s", s->params[k]->key, s->params[k]->value);
        printf("\n");
        btpipe__v1__strategy_spec__free_unpacked(s, NULL);
    }
}

static int strategy_list(int argc, char **argv) {
    return reg_list(argc, argv, TOPIC_STRATEGIES, "strategy", strategy_print);
}

int btctl_strategy(int argc, char **argv) {
    static const struct reg_sub subs[] = {
        {"register", strategy_register}, {"retire", strategy_retire}, {"list", strategy_list}};
    return reg_dispatch(argc, argv, "strategy", strategy_usage, subs, sizeof subs / sizeof subs[0]);
}
