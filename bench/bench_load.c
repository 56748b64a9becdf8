/* bench_load -- how fast bars become a panel.
 *
 * For one data folder: the load of the files as they are (gzip included),
 * and the parse alone of the same bytes already decompressed in memory (CSV
 * throughput in MB/s, the figure the issue targets), each on one thread and
 * on all of par_threads() threads, each the best of several repetitions so
 * that a cold page cache or one scheduler hiccup does not decide it.
 * Output is one JSON object:
 *   load_s         gzip files -> panel, all threads (what a run pays)
 *   load_1t_s      the same on one thread
 *   parse_s, mb_per_s   in-memory CSV -> panel on ONE thread: the headline
 *                  CSV figure (issue 3's 500 MB/s is a one-thread target)
 *   parse_threads_s, mb_per_s_threads   the same on all threads
 *   parse_cpu_s, mb_per_s_cpu   the one-thread parse by the best thread CPU
 *                  time instead of wall time: on a shared machine the wall
 *                  figure also counts the time other processes held the
 *                  core, so compare builds by this one (it still counts
 *                  the kernel's page faults, which are the load's own)
 *   threads        the thread count of the *_threads and load_s figures */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "buf.h"
#include "data.h"
#include "panel.h"
#include "par.h"

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
    while ((n = gzread(gz, chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    int rc = n < 0 ? -1 : 0;
    gzclose(gz);
    return rc;
}

/* This thread's CPU seconds, user and kernel. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best wall time of repeat loads on the given thread count: of the folder
 * dir when it is set, else of the in-memory srcs. The last panel is kept in
 * *keep when keep is set; the best CPU time of this thread in *best_cpu when
 * set (meaningful on one thread: the load then runs on the caller). Returns
 * -1 on a load error (printed). */
static double best_of(int repeat, const char *dir, const struct data_source *srcs, size_t n,
                      enum data_layout layout, int threads, struct panel *keep, double *best_cpu) {
    struct bt_err err = BT_ERR_INIT;
    double best = 1e30, bcpu = 1e30;
    par_set_threads(threads);
    for (int r = 0; r < repeat; r++) {
        struct panel q;
        double t0 = now_s(), c0 = cpu_s();
        int rc = dir ? data_load_files(&dir, 1, layout, NULL, &q, &err)
                     : data_load_sources(srcs, n, layout, NULL, &q, &err);
        if (rc) {
            fprintf(stderr, "bench_load: %s (%s)\n", err.msg, err.where);
            par_set_threads(0);
            return -1;
        }
        double t = now_s() - t0, c = cpu_s() - c0;
        if (t < best) best = t;
        if (c < bcpu) bcpu = c;
        if (keep && r + 1 == repeat)
            *keep = q;
        else
            panel_free(&q);
    }
    par_set_threads(0);
    if (best_cpu) *best_cpu = bcpu;
    return best;
}

int main(int argc, char **argv) {
    if (argc < 3 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: bench_load LAYOUT DIR [REPEAT]\n"
                        "  prints {\"load_s\":..,\"parse_s\":..,\"mb\":..,\"mb_per_s\":..}\n"
                        "  (mb_per_s: one thread; mb_per_s_threads: all threads)\n");
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

    int threads = par_threads();
    struct panel p;
    double best_load = best_of(repeat, dir, NULL, 0, layout, threads, &p, NULL);
    double best_load_1t = best_of(repeat, dir, NULL, 0, layout, 1, NULL, NULL);
    if (best_load < 0 || best_load_1t < 0) return 1;

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
    double cpu_parse;
    double best_parse = best_of(repeat, NULL, srcs, nfiles, layout, 1, NULL, &cpu_parse);
    double best_parse_n = best_of(repeat, NULL, srcs, nfiles, layout, threads, NULL, NULL);
    if (best_parse < 0 || best_parse_n < 0) return 1;
    double mb = (double)bytes / 1e6;
    printf("{\"files\":%zu,\"dates\":%d,\"symbols\":%d,\"threads\":%d,\"load_s\":%.6f,"
           "\"load_1t_s\":%.6f,\"parse_s\":%.6f,\"parse_threads_s\":%.6f,\"mb\":%.3f,"
           "\"mb_per_s\":%.1f,\"mb_per_s_threads\":%.1f,\"parse_cpu_s\":%.6f,"
           "\"mb_per_s_cpu\":%.1f}\n",
           nfiles, p.ndates, p.nsyms, threads, best_load, best_load_1t, best_parse, best_parse_n,
           mb, mb / best_parse, mb / best_parse_n, cpu_parse, mb / cpu_parse);
    panel_free(&p);
    for (size_t i = 0; i < nfiles; i++)
        buf_free(&raw[i]);
    free(raw);
    free(srcs);
    data_free_list(files, nfiles);
    return 0;
}
