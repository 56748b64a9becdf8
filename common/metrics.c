/* metrics.c -- a fixed registry of counters and gauges, Prometheus text out. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Services register a handful of series; a fixed table keeps pointers stable. */
#define METRICS_MAX 512

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric {
    char *name; /* full series name, labels included */
    char *help;
    enum metric_type type;
    _Atomic uint64_t bits; /* the double's bits: C11 has no atomic double add */
};

static struct metric metrics_table[METRICS_MAX];
static _Atomic int metrics_count;
/* Registration and rendering take it; updates never do. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
/* Returned when the table is full, so callers never get NULL; not rendered. */
static struct metric metrics_overflow;

static uint64_t to_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static char *xstrdup(const char *s) {
    char *p = strdup(s ? s : "");
    if (!p) abort();
    return p;
}

static struct metric *metric_register(const char *name, const char *help, enum metric_type t) {
    pthread_mutex_lock(&metrics_lock);
    int n = atomic_load(&metrics_count);
    struct metric *m = NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(metrics_table[i].name, name) == 0) m = &metrics_table[i];
    if (!m && n < METRICS_MAX) {
        m = &metrics_table[n];
        m->name = xstrdup(name);
        m->help = xstrdup(help);
        m->type = t;
        atomic_store(&m->bits, to_bits(0.0));
        atomic_store(&metrics_count, n + 1);
    }
    pthread_mutex_unlock(&metrics_lock);
    return m ? m : &metrics_overflow;
}

struct metric *metrics_counter(const char *name, const char *help) {
    return metric_register(name, help, METRIC_COUNTER);
}

struct metric *metrics_gauge(const char *name, const char *help) {
    return metric_register(name, help, METRIC_GAUGE);
}

void metric_add(struct metric *m, double v) {
    uint64_t old = atomic_load(&m->bits);
    while (!atomic_compare_exchange_weak(&m->bits, &old, to_bits(from_bits(old) + v)))
        ;
}

void metric_set(struct metric *m, double v) {
    atomic_store(&m->bits, to_bits(v));
}

double metric_value(const struct metric *m) {
    return from_bits(atomic_load(&((struct metric *)m)->bits));
}

/* Length of the family name: the series name up to its label set. */
static size_t family_len(const char *name) {
    const char *b = strchr(name, '{');
    return b ? (size_t)(b - name) : strlen(name);
}

/* HELP text escapes only backslash and newline in the text format. */
static void put_help(struct buf *out, const char *s) {
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(out, "\\\\");
        else if (*s == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *s);
    }
}

/* Prometheus spells non-finite values its own way. */
static void put_value(struct buf *out, double v) {
    if (isnan(v))
        buf_puts(out, "NaN");
    else if (isinf(v))
        buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        buf_printf(out, "%.0f", v);
    else
        buf_printf(out, "%.17g", v);
}

void metrics_render(struct buf *out) {
    pthread_mutex_lock(&metrics_lock);
    int n = atomic_load(&metrics_count);
    char *done = calloc((size_t)n + 1, 1);
    if (!done) abort();
    /* All series of one family must be adjacent, under one HELP/TYPE pair. */
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        const struct metric *f = &metrics_table[i];
        size_t fl = family_len(f->name);
        buf_printf(out, "# HELP %.*s ", (int)fl, f->name);
        put_help(out, f->help);
        buf_printf(out, "\n# TYPE %.*s %s\n", (int)fl, f->name,
                   f->type == METRIC_COUNTER ? "counter" : "gauge");
        for (int j = i; j < n; j++) {
            const struct metric *m = &metrics_table[j];
            if (done[j] || family_len(m->name) != fl || strncmp(m->name, f->name, fl) != 0)
                continue;
            done[j] = 1;
            buf_printf(out, "%s ", m->name);
            put_value(out, metric_value(m));
            buf_putc(out, '\n');
        }
    }
    free(done);
    pthread_mutex_unlock(&metrics_lock);
}
