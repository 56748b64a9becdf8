/* cli_factor.c -- `btpipe-runner factor`: the factor panel as date,symbol,value. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "expr.h"

static const char factor_usage[] =
    "usage: btpipe-runner factor --data PATH... --layout daily|ashare|yahoo\n"
    "         --expr EXPR [--from DATE] [--to DATE] --out FILE.csv\n"
    "\n"
    "Evaluates EXPR over the data and writes one row per (date, symbol) with a\n"
    "value: date,symbol,value (NaN cells are left out). --from/--to only filter\n"
    "the rows written; earlier data still feeds the windows.\n"
    "Exit: 0 ok, 2 bad input, 1 other failure.\n";

int cli_factor_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"layout", required_argument, 0, 'l'},
        {"expr", required_argument, 0, 'e'}, {"from", required_argument, 0, 'F'},
        {"to", required_argument, 0, 'T'},   {"out", required_argument, 0, 'O'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    struct bt_err err = BT_ERR_INIT;
    struct cli_data data = {0};
    struct panel p = {0};
    struct buf text = BUF_INIT;
    const char *expr = NULL, *out = NULL;
    int32_t from = 0, to = 0;
    double *f = NULL;
    int c, rc = 0, lookback;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': expr = optarg; break;
        case 'h': fputs(factor_usage, stdout); return CLI_OK;
        default:
            rc = cli_common_opt(c, optarg, &data, &from, &to, &out, &err);
            if (rc == CLI_NOT_COMMON) {
                fputs(factor_usage, stderr);
                return CLI_BADINPUT;
            }
        }
        if (rc) goto fail;
    }
    if ((rc = cli_data_add_rest(&data, argc, argv, optind, &err))) goto fail;
    if (!expr || !out) {
        fprintf(stderr, "btpipe-runner factor: --expr and --out are required\n%s", factor_usage);
        return CLI_BADINPUT;
    }
    if ((rc = expr_lookback_text(expr, &lookback, &err)) || (rc = cli_load(&data, to, &p, &err)) ||
        (rc = expr_eval_text(expr, &p, &f, &err)))
        goto fail;
    buf_puts(&text, "date,symbol,value\n");
    for (int d = 0; d < p.ndates; d++) {
        int dt = p.dates[d];
        if (from && dt < from) continue;
        for (int s = 0; s < p.nsyms; s++) {
            double v = f[panel_idx(&p, d, s)];
            if (isnan(v)) continue;
            buf_printf(&text, "%04d-%02d-%02d,%s,%.17g\n", dt / 10000, dt / 100 % 100, dt % 100,
                       p.syms[s], v);
        }
    }
    rc = cli_write_file(out, text.p, text.len, &err);
fail:
    if (rc) rc = cli_fail(&err);
    free(f);
    panel_free(&p);
    buf_free(&text);
    return rc;
}
