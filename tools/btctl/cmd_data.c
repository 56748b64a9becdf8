/* cmd_data.c -- `btctl data import`: per-symbol histories -> daily partitions.
 * A thin shell over data_import (engine/data.h): argument parsing and the
 * progress bar live here, every rule lives in the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btctl.h"
#include "data.h"

static void usage(FILE *to) {
    fprintf(
        to,
        "usage: btctl data import --layout ashare|yahoo|daily --out DIR [--from DATE] [--to DATE]\n"
        "                         [--plain] [--progress] FILE|DIR...\n"
        "\n"
        "Reads per-symbol histories (a folder means every .csv/.csv.gz in it) and writes\n"
        "one file per trading date, DIR/YYYY/YYYY-MM-DD.csv.gz, holding every symbol:\n"
        "symbol,date,open,high,low,close,volume plus adj_factor (ashare) or adj_close\n"
        "(yahoo), raw prices, so that `--layout daily` loads the same panel. Rules:\n"
        "docs/data.md.\n"
        "\n"
        "  --layout L     input layout\n"
        "  --out DIR      output folder (created; existing partitions are overwritten)\n"
        "  --from DATE    first date to write (YYYY-MM-DD or YYYYMMDD)\n"
        "  --to DATE      last date to write\n"
        "  --plain        write .csv instead of .csv.gz\n"
        "  --progress     draw the progress bar even when stderr is not a terminal\n");
}

struct progress {
    int on;
    const char *phase; /* phase of the bar being drawn, to end it with a newline */
    int last_pct;      /* redraw only when the percentage moves */
};

/* Draws "read  [#####.....]  120/482" in place on stderr. */
static void draw(void *ctx, const char *phase, size_t done, size_t total) {
    struct progress *pg = ctx;
    if (!pg->on) return;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pg->phase && !strcmp(pg->phase, phase) && pct == pg->last_pct) return;
    if (pg->phase && strcmp(pg->phase, phase)) fputc('\n', stderr);
    pg->phase = phase;
    pg->last_pct = pct;
    enum { WIDTH = 40 };
    size_t fill = total ? done * WIDTH / total : WIDTH;
    char bar[WIDTH + 1];
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r%-5s [%s] %zu/%zu %s", phase, bar, done, total,
            !strcmp(phase, "read") ? "files" : "dates");
    fflush(stderr);
}

/* Maps an error code to the btctl exit contract: 2 for bad input. */
static int fail(const struct bt_err *err) {
    fprintf(stderr, "btctl data import: %s%s%s (%s)\n", err->msg, err->where[0] ? " at " : "",
            err->where, bt_code_name(err->code));
    return err->code == BT_EINPUT || err->code == BT_ENOTFOUND ? 2 : 1;
}

static int cmd_import(int argc, char **argv) {
    const char *layout_s = NULL, *out = NULL;
    struct data_import_opts o = {0};
    struct progress pg = {isatty(2), NULL, -1};
    struct data_stats st;
    struct bt_err err = BT_ERR_INIT;
    size_t written = 0;
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    size_t npaths = 0;
    int rc = 2;
    if (!paths) return 1;
    o.gzip = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "--layout") && has_val) {
            layout_s = argv[++i];
        } else if (!strcmp(a, "--out") && has_val) {
            out = argv[++i];
        } else if ((!strcmp(a, "--from") || !strcmp(a, "--to")) && has_val) {
            int32_t *dst = a[2] == 'f' ? &o.from : &o.to;
            if (data_parse_date(argv[++i], dst, &err)) {
                fprintf(stderr, "btctl data import: %s: %s\n", a, err.msg);
                goto done;
            }
        } else if (!strcmp(a, "--plain")) {
            o.gzip = 0;
        } else if (!strcmp(a, "--progress")) {
            pg.on = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "btctl data import: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            goto done;
        } else {
            paths[npaths++] = a;
        }
    }
    enum data_layout layout;
    if (!layout_s || !out || npaths == 0) {
        fprintf(stderr,
                "btctl data import: --layout, --out and at least one FILE or DIR are needed\n");
        usage(stderr);
        goto done;
    }
    if (data_layout_parse(layout_s, &layout, &err)) {
        fprintf(stderr, "btctl data import: --layout: %s\n", err.msg);
        goto done;
    }
    if (o.from && o.to && o.from > o.to) {
        fprintf(stderr, "btctl data import: --from is after --to\n");
        goto done;
    }
    o.progress = draw;
    o.progress_ctx = &pg;
    o.stats = &st;
    o.dates_written = &written;
    int r = data_import(paths, npaths, layout, &o, out, &err);
    if (pg.on && pg.phase) fputc('\n', stderr);
    if (r) {
        rc = fail(&err);
        goto done;
    }
    printf("imported %zu rows from %zu files into %zu daily partitions under %s "
           "(%zu no-bar rows, %zu exact duplicates dropped, %zu conflicting duplicates resolved)\n",
           st.rows_in_range, st.files, written, out, st.no_bar, st.dup_exact, st.dup_conflict);
    rc = 0;
done:
    free(paths);
    return rc;
}

int btctl_data(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (!strcmp(argv[0], "import")) return cmd_import(argc - 1, argv + 1);
    fprintf(stderr, "btctl data: unknown subcommand '%s'\n", argv[0]);
    usage(stderr);
    return 2;
}
