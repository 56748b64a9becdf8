/* cli_backtest.c -- `btpipe-runner backtest`: one factor x strategy pair. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "expr.h"

static const char backtest_usage[] =
    "usage: btpipe-runner backtest --data PATH... --layout daily|ashare|yahoo\n"
    "         --factor EXPR --strategy signal|long_short_quantile|topk_dropout\n"
    "         [--param KEY=VALUE]... [--from DATE] [--to DATE]\n"
    "         [--state-in FILE] [--state-out FILE] --out DIR\n"
    "\n"
    "Runs one factor x strategy pair and writes DIR/summary.json and DIR/series.csv.\n"
    "PATH: a CSV file, a folder of them, or a file:// URI (repeat --data or list\n"
    "several paths after it). Data before --from is the factor's warm-up.\n"
    "Parameters (defaults): cash=100000 commission=0.0002 quantiles=5 cost_bps=10\n"
    "k=50 n=5. --state-in continues the run that ended the data date before\n"
    "--from; --state-out writes the state to continue from. DATE: YYYY-MM-DD.\n"
    "Exit: 0 ok, 2 bad input, 1 other failure. See docs/engine.md.\n";

int cli_backtest_main(int argc, char **argv) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"layout", required_argument, 0, 'l'},
                                         {"factor", required_argument, 0, 'f'},
                                         {"strategy", required_argument, 0, 's'},
                                         {"param", required_argument, 0, 'p'},
                                         {"from", required_argument, 0, 'F'},
                                         {"to", required_argument, 0, 'T'},
                                         {"state-in", required_argument, 0, 'i'},
                                         {"state-out", required_argument, 0, 'o'},
                                         {"out", required_argument, 0, 'O'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct bt_err err = BT_ERR_INIT;
    struct cli_data data = {0};
    struct run_params prm;
    struct panel p = {0};
    struct run_output out = {0};
    struct buf state = BUF_INIT;
    const char *factor_text = NULL, *kind = NULL, *state_in = NULL, *state_out = NULL,
               *out_dir = NULL;
    int32_t from = 0, to = 0;
    double *factor = NULL;
    int c, rc = 0, lookback;
    enum run_kind k;
    run_params_default(&prm);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': factor_text = optarg; break;
        case 's': kind = optarg; break;
        case 'p': rc = strategy_params_parse_kv(&prm, optarg, &err); break;
        case 'i': state_in = optarg; break;
        case 'o': state_out = optarg; break;
        case 'h': fputs(backtest_usage, stdout); return CLI_OK;
        default:
            rc = cli_common_opt(c, optarg, &data, &from, &to, &out_dir, &err);
            if (rc == CLI_NOT_COMMON) {
                fputs(backtest_usage, stderr);
                return CLI_BADINPUT;
            }
        }
        if (rc) goto fail;
    }
    if ((rc = cli_data_add_rest(&data, argc, argv, optind, &err))) goto fail;
    if (!factor_text || !kind || !out_dir) {
        fprintf(stderr, "btpipe-runner backtest: --factor, --strategy and --out are required\n%s",
                backtest_usage);
        return CLI_BADINPUT;
    }
    /* fail fast on what needs no data */
    if ((rc = run_kind_parse(kind, &k, &err)) ||
        (rc = expr_lookback_text(factor_text, &lookback, &err)))
        goto fail;
    if (state_in && (rc = cli_read_file(state_in, &state, &err))) goto fail;
    if ((rc = cli_load(&data, to, &p, &err)) ||
        (rc = expr_eval_text(factor_text, &p, &factor, &err)))
        goto fail;
    if ((rc = run_pair(&p, factor, kind, &prm, from, to, state_in ? state.p : NULL, state.len, &out,
                       &err)))
        goto fail;
    if ((rc = cli_write_run(out_dir, &out, &err))) goto fail;
    if (state_out && (rc = cli_write_file(state_out, out.state, out.state_len, &err))) goto fail;
fail:
    if (rc) rc = cli_fail(&err);
    run_output_free(&out);
    free(factor);
    panel_free(&p);
    buf_free(&state);
    return rc;
}
