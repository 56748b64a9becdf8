/* cli.h -- the runner's local command line: shared plumbing for the
 * backtest, batch and factor subcommands (file I/O, data loading, output
 * files). Business logic lives in the engine; this is the shell around it. */
#ifndef BTPIPE_RUNNER_CLI_H
#define BTPIPE_RUNNER_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "data.h"
#include "err.h"
#include "panel.h"
#include "run.h"

/* Exit codes (the job contract): 0 ok, 2 bad input (never worth retrying),
 * 1 anything else. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_BADINPUT = 2 };

/* bt_code -> exit code: EINPUT, ENOTFOUND, ELIMIT, ECONFIG are the caller's
 * input; everything else may succeed on a retry. */
int cli_exit_code(int code);
/* Prints "btpipe-runner: <msg> (at <where>)" to stderr; returns the exit code. */
int cli_fail(const struct bt_err *err);

/* The --data paths: files, folders or file:// URIs (s3:// is job mode's). */
struct cli_data {
    const char *paths[256];
    int n;
    enum data_layout layout;
    int have_layout;
};

int cli_data_add(struct cli_data *d, const char *path, struct bt_err *err);
/* The options every subcommand shares: --data, --layout, --from, --to and
 * --out (getopt codes 'd', 'l', 'F', 'T', 'O'). Returns CLI_NOT_COMMON when
 * c is none of them, else the status of handling it. */
#define CLI_NOT_COMMON (-1)
int cli_common_opt(int c, const char *arg, struct cli_data *d, int32_t *from, int32_t *to,
                   const char **out, struct bt_err *err);
/* Positional arguments after the options are more --data paths. */
int cli_data_add_rest(struct cli_data *d, int argc, char **argv, int first, struct bt_err *err);
/* Loads every --data path through `to` (0 = all): the whole history before
 * --from is kept as the factor's warm-up. */
int cli_load(const struct cli_data *d, int32_t to, struct panel *p, struct bt_err *err);

int cli_read_file(const char *path, struct buf *out, struct bt_err *err);
/* Writes atomically (temp file + rename). */
int cli_write_file(const char *path, const void *data, size_t n, struct bt_err *err);
int cli_mkdir_p(const char *dir, struct bt_err *err);

/* DIR/summary.json and DIR/series.csv of one run (DIR is created). */
int cli_write_run(const char *dir, const struct run_output *out, struct bt_err *err);
/* summary as JSON text (non-finite numbers become null). */
void cli_summary_json(const struct run_summary *s, struct buf *out);
void cli_series_csv(const struct run_series *s, struct buf *out);

int cli_backtest_main(int argc, char **argv);
int cli_batch_main(int argc, char **argv);
int cli_factor_main(int argc, char **argv);

#endif
