/* btctl -- operate btpipe from a shell. */
#include <stdio.h>
#include <string.h>

#include "btctl.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"data", btctl_data, "import per-symbol histories into daily partitions"},
    {"factor", btctl_factor, "register, list or retire factors"},
    {"strategy", btctl_strategy, "register, list or retire strategies"},
    {"results", btctl_results, "read aggregated results"},
};

static void usage(FILE *to) {
    fprintf(to, "usage: btctl <command> [args]  (btctl <command> --help for more)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "btctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
