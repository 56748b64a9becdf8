/* fuzz_state_read -- the run state parser (state_read) on arbitrary bytes,
 * for each strategy kind over a small fixed panel. A state it accepts must
 * round-trip: written back, read again and written again, the two writes
 * are the same bytes (the writer is canonical, the reader its inverse). A
 * state it refuses must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "panel.h"
#include "run.h"
#include "state.h"
#include "strategy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The panel the states name their symbols against (the seeds use these). */
static void fuzz_panel(struct panel *p) {
    static const char *syms[] = {"600519", "AAA", "BBB"};
    if (panel_alloc(p, 2, 3)) abort();
    p->dates[0] = 20210702;
    p->dates[1] = 20210705;
    for (int s = 0; s < 3; s++)
        panel_set_sym(p, s, syms[s]);
}

/* Reads data as a state of kind; on success checks the round trip. */
static void fuzz_kind(const struct panel *p, enum run_kind kind, const uint8_t *data, size_t size) {
    struct run_params prm;
    struct run_book b, b2;
    struct buf w1 = BUF_INIT, w2 = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    run_params_default(&prm);
    book_init(&b, kind, p->nsyms, &prm);
    book_init(&b2, kind, p->nsyms, &prm);
    if (state_read(data, size, p, &b, &err) != 0) {
        if (err.code != BT_EINPUT || !err.msg[0]) __builtin_trap();
        goto done;
    }
    if (state_write(&b, p, &w1, &err) != 0) __builtin_trap();
    if (state_read(w1.p, w1.len, p, &b2, &err) != 0) __builtin_trap();
    if (state_write(&b2, p, &w2, &err) != 0) __builtin_trap();
    if (w1.len != w2.len || memcmp(w1.p, w2.p, w1.len) != 0) __builtin_trap();
    if (b.date != b2.date || memcmp(&b.value, &b2.value, sizeof b.value) != 0) __builtin_trap();
done:
    buf_free(&w1);
    buf_free(&w2);
    book_free(&b);
    book_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct panel p;
    static int ready;
    if (!ready) {
        fuzz_panel(&p);
        ready = 1;
    }
    fuzz_kind(&p, RUN_SIGNAL, data, size);
    fuzz_kind(&p, RUN_LONG_SHORT_QUANTILE, data, size);
    fuzz_kind(&p, RUN_TOPK_DROPOUT, data, size);
    return 0;
}
