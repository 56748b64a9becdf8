/* bench_data_load -- how fast the data layer loads the shared data.
 *
 *   bench_data_load [SHARED_DIR]
 *
 * Prints: the whole sp500-5y load from .csv.gz files; the same bytes already
 * inflated in memory (the CSV parsing rate, the >= 500 MB/s target); the
 * seed-ashare load. Each timing is the best of 5 runs, in CPU time of this
 * process (CLOCK_PROCESS_CPUTIME_ID), so that other work on the machine
 * does not count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "data_rows.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const struct bt_err *e) {
    fprintf(stderr, "%s: %s: %s (%s)\n", what, bt_code_name(e->code), e->msg, e->where);
    return 1;
}

int main(int argc, char **argv) {
    const char *shared = argc > 1 ? argv[1] : BTPIPE_SHARED_DIR;
    char sp[1024], ash[1024];
    snprintf(sp, sizeof sp, "%s/data/sp500-5y", shared);
    snprintf(ash, sizeof ash, "%s/data/seed-ashare", shared);
    struct bt_err err = BT_ERR_INIT;
    struct panel p;
    struct data_stats st;
    struct data_opts o = {0, 0, &st};
    const char *paths[1] = {sp};

    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        if (data_load_files(paths, 1, DATA_LAYOUT_YAHOO, &o, &p, &err)) return fail("sp500", &err);
        double t = now() - t0;
        if (t < best) best = t;
        if (i < 4) panel_free(&p);
    }
    printf("sp500-5y from .csv.gz: %zu files, %zu rows, %.1f MB CSV, %d dates x %d symbols: "
           "%.3f s\n",
           st.files, st.rows, st.bytes / 1e6, p.ndates, p.nsyms, best);
    panel_free(&p);

    /* the same data inflated into memory: parsing alone */
    char **files;
    size_t nfiles;
    if (data_list_files(paths, 1, DATA_LAYOUT_YAHOO, &files, &nfiles, &err))
        return fail("list", &err);
    struct data_source *srcs = calloc(nfiles, sizeof *srcs);
    struct buf *bufs = calloc(nfiles, sizeof *bufs);
    size_t total = 0;
    for (size_t i = 0; i < nfiles; i++) {
        FILE *f = fopen(files[i], "rb");
        struct buf raw = BUF_INIT;
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_append(&raw, chunk, got);
        fclose(f);
        if (data_gunzip(files[i], raw.p, raw.len, &bufs[i], &err)) return fail("gunzip", &err);
        buf_free(&raw);
        /* a plain name so that nothing is taken for gzip */
        srcs[i].name = files[i];
        srcs[i].bytes = bufs[i].p;
        srcs[i].len = bufs[i].len;
        size_t n = strlen(files[i]);
        files[i][n - 3] = 0; /* drop .gz */
        total += bufs[i].len;
    }
    best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        if (data_load_sources(srcs, nfiles, DATA_LAYOUT_YAHOO, NULL, &p, &err))
            return fail("sp500 plain", &err);
        double t = now() - t0;
        if (t < best) best = t;
        panel_free(&p);
    }
    printf("sp500-5y plain CSV in memory -> panel: %.1f MB in %.3f s = %.0f MB/s\n", total / 1e6,
           best, total / 1e6 / best);

    /* the reader alone (tokenize + numbers + dates + symbols), no grid */
    best = 1e9;
    for (int i = 0; i < 5; i++) {
        struct data_rows t;
        data_rows_init(&t);
        const struct data_layout_spec *spec = data_layout_spec(DATA_LAYOUT_YAHOO);
        double t0 = now();
        for (size_t k = 0; k < nfiles; k++)
            if (data_read_csv(&t, spec, srcs[k].name, srcs[k].bytes, srcs[k].len, &err))
                return fail("read", &err);
        double dt = now() - t0;
        if (dt < best) best = dt;
        data_rows_free(&t);
    }
    printf("sp500-5y plain CSV, reader only: %.0f MB/s\n", total / 1e6 / best);
    for (size_t i = 0; i < nfiles; i++)
        buf_free(&bufs[i]);
    free(bufs);
    free(srcs);
    data_free_list(files, nfiles);

    paths[0] = ash;
    best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        if (data_load_files(paths, 1, DATA_LAYOUT_ASHARE, &o, &p, &err))
            return fail("ashare", &err);
        double t = now() - t0;
        if (t < best) best = t;
        if (i < 4) panel_free(&p);
    }
    printf("seed-ashare: %zu rows, %.1f MB, %d dates x %d symbols: %.4f s (%.0f MB/s)\n", st.rows,
           st.bytes / 1e6, p.ndates, p.nsyms, best, st.bytes / 1e6 / best);
    panel_free(&p);
    return 0;
}
