/* bench_load -- how fast bars become a panel.
 *
 * Three numbers for one data folder: the load of the files as they are
 * (gzip included), the parse alone of the same bytes already decompressed
 * in memory (CSV throughput in MB/s, the figure the issue targets), and the
 * best of several repetitions of each so that a cold page cache or one
 * scheduler hiccup does not decide the result. Output is one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "buf.h"
#include "data.h"
#include "panel.h"

/* Monotonic seconds. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads a whole file, inflating it when it is gzip, into out. */
static int read_inflated(const char *path, struct buf *out) {
    gzFile gz = gzopen(path, "rb");
    if (!gz) return -1;
    char chunk[1 << 16];
    int n;
    while ((n = gzread(gz, chunk, sizeof chunk)) > 0) buf_append(out, chunk, (size_t)n);
    int rc = n < 0 ? -1 : 0;
    gzclose(gz);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: bench_load LAYOUT DIR [REPEAT]\n"
                        "  prints {\"load_s\":..,\"parse_s\":..,\"mb\":..,\"mb_per_s\":..}\n");
        return argc < 3 ? 2 : 0;
    }
    int repeat = argc > 3 ? atoi(argv[3]) : 5;
    struct bt_err err = BT_ERR_INIT;
    enum data_layout layout;
    if (data_layout_parse(argv[1], &layout, &err)) {
        fprintf(stderr, "bench_load: %s\n", err.msg);
        return 2;
    }
    const char *dir = argv[2];
    char **files = NULL;
    size_t nfiles = 0;
    if (data_list_files(&dir, 1, layout, &files, &nfiles, &err)) {
        fprintf(stderr, "bench_load: %s\n", err.msg);
        return 2;
    }

    double best_load = 1e30, best_parse = 1e30;
    struct panel p;
    for (int r = 0; r < repeat; r++) {
        double t0 = now_s();
        if (data_load_files(&dir, 1, layout, NULL, &p, &err)) {
            fprintf(stderr, "bench_load: %s\n", err.msg);
            return 1;
        }
        double t = now_s() - t0;
        if (t < best_load) best_load = t;
        if (r + 1 < repeat) panel_free(&p);
    }

    struct buf *raw = calloc(nfiles, sizeof *raw);
    struct data_source *srcs = calloc(nfiles, sizeof *srcs);
    size_t bytes = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (read_inflated(files[i], &raw[i])) {
            fprintf(stderr, "bench_load: cannot read %s\n", files[i]);
            return 1;
        }
        /* The bytes are inflated already: drop ".gz" so the loader, which
         * goes by the name, does not inflate them again. */
        size_t len = strlen(files[i]);
        if (len > 3 && !strcmp(files[i] + len - 3, ".gz")) files[i][len - 3] = '\0';
        srcs[i].name = files[i];
        srcs[i].bytes = raw[i].p;
        srcs[i].len = raw[i].len;
        bytes += raw[i].len;
    }
    for (int r = 0; r < repeat; r++) {
        struct panel q;
        double t0 = now_s();
        if (data_load_sources(srcs, nfiles, layout, NULL, &q, &err)) {
            fprintf(stderr, "bench_load: %s\n", err.msg);
            return 1;
        }
        double t = now_s() - t0;
        if (t < best_parse) best_parse = t;
        panel_free(&q);
    }
    double mb = (double)bytes / 1e6;
    printf("{\"files\":%zu,\"dates\":%d,\"symbols\":%d,\"load_s\":%.6f,\"parse_s\":%.6f,"
           "\"mb\":%.3f,\"mb_per_s\":%.1f}\n",
           nfiles, p.ndates, p.nsyms, best_load, best_parse, mb, mb / best_parse);
    panel_free(&p);
    for (size_t i = 0; i < nfiles; i++) buf_free(&raw[i]);
    free(raw);
    free(srcs);
    data_free_list(files, nfiles);
    return 0;
}
