/* fuzz_csv_common.h -- the body shared by the CSV reader fuzzers: load the
 * input as one in-memory object, check the panel's invariants, and load it
 * again with the reader's fast path off and with only its portable fast
 * paths: all must agree exactly (same status, same error position and
 * message, bit-identical panel). */
#ifndef BTPIPE_FUZZ_CSV_COMMON_H
#define BTPIPE_FUZZ_CSV_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data.h"
#include "data_rows.h"

static int fuzz_panels_equal(const struct panel *a, const struct panel *b) {
    if (a->ndates != b->ndates || a->nsyms != b->nsyms) return 0;
    if (a->ndates && memcmp(a->dates, b->dates, sizeof(int32_t) * a->ndates)) return 0;
    for (int s = 0; s < a->nsyms; s++)
        if (strcmp(a->syms[s], b->syms[s])) return 0;
    size_t cells = (size_t)a->ndates * a->nsyms;
    for (int f = 0; f < PF_COUNT; f++)
        if (cells && memcmp(a->f[f], b->f[f], sizeof(double) * cells)) return 0;
    return 1;
}

static void fuzz_csv_load(const char *name, enum data_layout layout, const uint8_t *data,
                          size_t size) {
    struct data_source src = {name, data, size};
    struct panel p, q;
    struct bt_err err = BT_ERR_INIT;
    struct data_opts o = {0, 0, NULL};
    /* a date filter on odd sizes, so the range code runs too */
    if (size & 1) {
        o.from = 20150101;
        o.to = 20191231;
    }
    data_read_fast_path = 1;
    int rc = data_load_sources(&src, 1, layout, &o, &p, &err);
    if (rc == 0) {
        /* the invariants every consumer relies on */
        for (int d = 1; d < p.ndates; d++)
            if (p.dates[d - 1] >= p.dates[d]) __builtin_trap();
        for (int s = 0; s < p.nsyms; s++)
            if (panel_find_sym(&p, p.syms[s]) != s) __builtin_trap();
    }
    /* 0: the general path; 2: the portable fast paths, which a machine
     * without AVX-512 runs instead of the AVX-512 row splitter */
    for (int mode = 0; mode <= 2; mode += 2) {
        struct bt_err err2 = BT_ERR_INIT;
        data_read_fast_path = mode;
        int rc2 = data_load_sources(&src, 1, layout, &o, &q, &err2);
        data_read_fast_path = 1;
        if (rc != rc2 || strcmp(err.where, err2.where) || strcmp(err.msg, err2.msg))
            __builtin_trap();
        if (rc == 0 && !fuzz_panels_equal(&p, &q)) __builtin_trap();
        panel_free(&q);
    }
    panel_free(&p);
}

#endif
