/* fuzz_csv_daily -- the daily layout reader (tokenizer, numbers, dates, cleaning
 * rules, gzip when the input starts with the gzip magic) on arbitrary bytes,
 * through the same entry point the runner uses for S3 objects. */
#include <stddef.h>
#include <stdint.h>

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct data_source src = {"fuzz.csv", data, size};
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    struct data_opts o = {0, 0, NULL};
    /* a date filter on odd sizes, so the range code runs too */
    if (size & 1) {
        o.from = 20150101;
        o.to = 20191231;
    }
    if (data_load_sources(&src, 1, DATA_LAYOUT_DAILY, &o, &p, &err) == 0) {
        /* the invariants every consumer relies on */
        for (int d = 1; d < p.ndates; d++)
            if (p.dates[d - 1] >= p.dates[d]) __builtin_trap();
        for (int s = 0; s < p.nsyms; s++)
            if (panel_find_sym(&p, p.syms[s]) != s) __builtin_trap();
    }
    panel_free(&p);
    return 0;
}
