/* cli_batch.c -- `btpipe-runner batch`: many pairs over one load. */
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char batch_usage[] =
    "usage: btpipe-runner batch --data PATH... --layout daily|ashare|yahoo\n"
    "         --pairs FILE.json [--from DATE] [--to DATE] --out DIR\n"
    "\n"
    "FILE.json is a list of {\"id\": ..., \"factor\": EXPR, \"strategy\": KIND,\n"
    "\"params\": {KEY: VALUE, ...}}; each pair writes DIR/<id>/summary.json and\n"
    "DIR/<id>/series.csv. The data is loaded once and subexpressions shared by\n"
    "the factors are computed once. A failing pair does not stop the others.\n"
    "Exit: 0 all ok, 2 bad input (pairs file, or some pair's input), 1 other.\n";

/* An id is a folder name under DIR: no separators, no dot-only names. */
static int id_ok(const char *id) {
    if (!id[0] || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 200) return 0;
    for (const char *c = id; *c; c++)
        if (*c == '/' || *c == '\\' || (unsigned char)*c < 0x20) return 0;
    return 1;
}

/* Reads one pair object into spec (strings stay owned by the JSON tree). */
static int pair_parse(json_t *o, int i, struct run_pair_spec *spec, struct bt_err *err) {
    char where[64];
    snprintf(where, sizeof where, "pairs[%d]", i);
    const char *id = json_string_value(json_object_get(o, "id"));
    spec->factor = json_string_value(json_object_get(o, "factor"));
    spec->kind = json_string_value(json_object_get(o, "strategy"));
    if (!json_is_object(o) || !id || !spec->factor || !spec->kind)
        return bt_err_set(err, BT_EINPUT, where,
                          "a pair needs string fields id, factor and strategy");
    if (!id_ok(id))
        return bt_err_set(err, BT_EINPUT, where, "pair id '%s' cannot be a folder name", id);
    spec->id = id;
    run_params_default(&spec->params);
    json_t *params = json_object_get(o, "params"), *v;
    const char *key;
    if (params && !json_is_object(params) && !json_is_null(params))
        return bt_err_set(err, BT_EINPUT, where, "params must be an object");
    json_object_foreach(params, key, v) {
        char num[64];
        const char *text = num;
        if (json_is_string(v))
            text = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
        else
            return bt_err_set(err, BT_EINPUT, where, "params.%s must be a number or a string", key);
        int rc = strategy_params_parse(&spec->params, key, text, err);
        if (rc) {
            bt_err_prefix(err, "%s (%s): ", where, id);
            return rc;
        }
    }
    return 0;
}

/* A batch allocates and frees one panel-sized buffer (~5 MB) per factor
 * and intermediate, hundreds of times. glibc serves such sizes with fresh
 * mmaps, so every buffer cost page faults and the kernel zeroing its pages
 * (an eighth of a batch's time); kept in the heap, freed buffers are
 * reused as they are. */
static void batch_malloc_tuning(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

/* Where finished pairs go: each is written (and its memory given back) by
 * the worker thread that ran it, as soon as its factor is done. */
struct batch_writer {
    const char *out_dir;
    const struct run_pair_spec *specs;
    struct run_output *outs;
    const struct bt_err *errs;
    struct bt_err *werr; /* per pair: why writing it failed */
};

static void batch_write_pair(void *ctx, int i) {
    struct batch_writer *w = ctx;
    if (!w->errs[i].code) {
        struct buf path = BUF_INIT;
        buf_printf(&path, "%s/%s", w->out_dir, w->specs[i].id);
        cli_write_run(path.p, &w->outs[i], &w->werr[i]);
        buf_free(&path);
    }
    run_output_free(&w->outs[i]);
}

int cli_batch_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},  {"layout", required_argument, 0, 'l'},
        {"pairs", required_argument, 0, 'P'}, {"from", required_argument, 0, 'F'},
        {"to", required_argument, 0, 'T'},    {"out", required_argument, 0, 'O'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    struct bt_err err = BT_ERR_INIT, *errs = NULL;
    struct cli_data data = {0};
    struct panel p = {0};
    struct run_pair_spec *specs = NULL;
    struct run_output *outs = NULL;
    struct batch_writer w = {0};
    const char *pairs_file = NULL, *out_dir = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    int32_t from = 0, to = 0;
    int c, rc = 0, n = 0, worst = CLI_OK;
    optind = 1;
    batch_malloc_tuning();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'P': pairs_file = optarg; break;
        case 'h': fputs(batch_usage, stdout); return CLI_OK;
        default:
            rc = cli_common_opt(c, optarg, &data, &from, &to, &out_dir, &err);
            if (rc == CLI_NOT_COMMON) {
                fputs(batch_usage, stderr);
                return CLI_BADINPUT;
            }
        }
        if (rc) goto fail;
    }
    if ((rc = cli_data_add_rest(&data, argc, argv, optind, &err))) goto fail;
    if (!pairs_file || !out_dir) {
        fprintf(stderr, "btpipe-runner batch: --pairs and --out are required\n%s", batch_usage);
        return CLI_BADINPUT;
    }
    root = json_load_file(pairs_file, 0, &jerr);
    if (!root) {
        char where[300];
        snprintf(where, sizeof where, "%s:%d:%d", pairs_file, jerr.line, jerr.column);
        rc = bt_err_set(&err, BT_EINPUT, where, "bad pairs file: %s", jerr.text);
        goto fail;
    }
    if (!json_is_array(root) || json_array_size(root) == 0) {
        rc = bt_err_set(&err, BT_EINPUT, pairs_file, "the pairs file must be a non-empty list");
        goto fail;
    }
    n = (int)json_array_size(root);
    specs = calloc((size_t)n, sizeof *specs);
    outs = calloc((size_t)n, sizeof *outs);
    errs = calloc((size_t)n, sizeof *errs);
    if (!specs || !outs || !errs) abort();
    for (int i = 0; i < n; i++) {
        if ((rc = pair_parse(json_array_get(root, (size_t)i), i, &specs[i], &err))) goto fail;
        for (int j = 0; j < i; j++)
            if (strcmp(specs[j].id, specs[i].id) == 0) {
                rc = bt_err_set(&err, BT_EINPUT, pairs_file, "pair id '%s' appears twice",
                                specs[i].id);
                goto fail;
            }
    }
    w = (struct batch_writer){out_dir, specs, outs, errs, calloc((size_t)n, sizeof *w.werr)};
    if (!w.werr) abort();
    if ((rc = cli_load(&data, to, &p, &err)) ||
        (rc = run_many_each(&p, specs, n, from, to, outs, errs, batch_write_pair, &w, &err)))
        goto fail;
    for (int i = 0; i < n; i++) {
        if (errs[i].code) {
            bt_err_prefix(&errs[i], "pair %s: ", specs[i].id);
            int x = cli_fail(&errs[i]);
            worst = worst == CLI_FAIL || x == CLI_FAIL ? CLI_FAIL : x;
        } else if (w.werr[i].code) {
            err = w.werr[i];
            rc = err.code;
            goto fail;
        }
    }
fail:
    free(w.werr);
    if (rc) worst = cli_fail(&err);
    for (int i = 0; outs && i < n; i++)
        run_output_free(&outs[i]);
    free(outs);
    free(specs);
    free(errs);
    json_decref(root);
    panel_free(&p);
    return worst;
}
