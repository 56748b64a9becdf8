/* expr_bench.c -- CPU cost of evaluating a file of expressions over the
 * whole sp500 panel as one expr_prog: not a test (no timing is asserted),
 * the driver for profiling the evaluator. Loads once, then evaluates.
 *
 * usage: expr_bench EXPR_FILE [REPEAT] [--each|--hashes]
 * EXPR_FILE holds one expression a line ('#' lines skipped), or
 * "name<TAB>expression" lines as in alpha101.txt. Prints the CPU seconds
 * (user + system: page faults count; the machine is shared, wall time says
 * little) of the best evaluation and a hash of the results' bits, so that
 * two builds can be checked for bit-identical output; the best wall time
 * too, which is what a multi-threaded evaluation shortens. --each also times
 * every expression alone; --hashes prints each result's hash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "expr.h"
#include "expr_testdata.h"

enum { MAX_EXPRS = 1024 };

static int hashes; /* --hashes: print each result's hash */

/* User + system CPU seconds: page faults on fresh buffers are system time. */
static double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double last_wall; /* wall seconds of the last eval_once */

/* Reads the expressions of path into texts; returns their count or -1. */
static int read_exprs(const char *path, char **texts) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_EXPRS) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        texts[n++] = strdup(tab ? tab + 1 : line);
    }
    fclose(f);
    return n;
}

/* Evaluates texts[0..n) as one program; returns CPU seconds or -1. */
static double eval_once(char **texts, int n, const struct panel *p, uint64_t *sum, size_t *peak) {
    struct expr_prog *pg = expr_prog_new();
    struct bt_err err = BT_ERR_INIT;
    for (int i = 0; i < n; i++)
        if (expr_prog_add(pg, texts[i], &err) < 0) {
            fprintf(stderr, "expr %d: %s\n", i, err.msg);
            expr_prog_free(pg);
            return -1;
        }
    double t0 = cpu_now(), w0 = wall_now();
    if (expr_prog_eval(pg, p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        expr_prog_free(pg);
        return -1;
    }
    double dt = cpu_now() - t0;
    last_wall = wall_now() - w0;
    size_t cells = (size_t)p->ndates * (size_t)p->nsyms;
    /* FNV-1a over the bits of every result: equal only when bit-identical */
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        const double *v = expr_prog_result(pg, i);
        uint64_t hi = 1469598103934665603ULL;
        for (size_t c = 0; c < cells; c++) {
            uint64_t b;
            memcpy(&b, &v[c], sizeof b);
            hi = (hi ^ b) * 1099511628211ULL;
        }
        if (hashes) printf("%3d %016llx\n", i, (unsigned long long)hi);
        h = (h ^ hi) * 1099511628211ULL;
    }
    *sum = h;
    *peak = expr_prog_peak_bytes(pg);
    expr_prog_free(pg);
    return dt;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s EXPR_FILE [REPEAT] [--each|--hashes]\n", argv[0]);
        return 2;
    }
    static char *texts[MAX_EXPRS];
    int n = read_exprs(argv[1], texts), repeat = argc > 2 ? atoi(argv[2]) : 1;
    int each = argc > 3 && strcmp(argv[3], "--each") == 0;
    hashes = argc > 3 && strcmp(argv[3], "--hashes") == 0;
    if (n < 0) return 1;
    struct panel p;
    double t0 = cpu_now();
    if (td_load_sp500(td_sp500_dir(), NULL, 0, &p)) return 1;
    fprintf(stderr, "loaded %d x %d in %.2fs cpu\n", p.ndates, p.nsyms, cpu_now() - t0);
    double best = 1e300, best_wall = 1e300;
    uint64_t sum = 0;
    size_t peak = 0;
    for (int r = 0; r < (repeat > 0 ? repeat : 1); r++) {
        double dt = eval_once(texts, n, &p, &sum, &peak);
        if (dt < 0) return 1;
        if (dt < best) best = dt;
        if (last_wall < best_wall) best_wall = last_wall;
    }
    printf("%d exprs: %.3f s cpu, %.3f s wall (best of %d), peak %.1f MB, hash %016llx\n", n, best,
           best_wall, repeat, (double)peak / 1e6, (unsigned long long)sum);
    for (int i = 0; each && i < n; i++) {
        uint64_t s;
        size_t pk;
        double dt = eval_once(texts + i, 1, &p, &s, &pk);
        printf("%8.4f  %s\n", dt, texts[i]);
    }
    for (int i = 0; i < n; i++)
        free(texts[i]);
    panel_free(&p);
    return 0;
}
