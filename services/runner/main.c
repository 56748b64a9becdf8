/* main.c -- btpipe-runner: dispatches to the local commands (backtest,
 * batch, factor) and, later, the S3/Kafka job mode. No logic lives here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: btpipe-runner COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  backtest  run one factor x strategy pair over local data\n"
    "  batch     run many pairs over one load of the data\n"
    "  factor    write a factor's values as date,symbol,value\n"
    "  job       S3/Kafka job mode (see docs)\n"
    "\n"
    "btpipe-runner COMMAND --help describes each. Exit: 0 ok, 2 bad input, 1 other.\n";

#ifdef BTPIPE_RUNNER_JOB
/* Job mode (services/runner/job*.c) is built in when its sources exist:
 * the CMakeLists defines BTPIPE_RUNNER_JOB then. */
int runner_job_main(int argc, char **argv);
#endif

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_BADINPUT : CLI_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "backtest") == 0) return cli_backtest_main(argc - 1, argv + 1);
    if (strcmp(cmd, "batch") == 0) return cli_batch_main(argc - 1, argv + 1);
    if (strcmp(cmd, "factor") == 0) return cli_factor_main(argc - 1, argv + 1);
    if (strcmp(cmd, "job") == 0) {
#ifdef BTPIPE_RUNNER_JOB
        return runner_job_main(argc - 1, argv + 1);
#else
        fputs("btpipe-runner: job mode is not built into this binary\n", stderr);
        return CLI_FAIL;
#endif
    }
    fprintf(stderr, "btpipe-runner: unknown command '%s'\n%s", cmd, usage);
    return CLI_BADINPUT;
}
