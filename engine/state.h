/* state.h -- the run book as a small versioned text file (engine-internal).
 *
 *   btpipe-run-state 1
 *   kind signal
 *   date 20210705
 *   value 0x1.86a0000000000p+16
 *   cash 0x0p+0
 *   sym 600519 LAST_CLOSE POS CASH PEND ENTRY
 *   ...
 *   end
 *
 * Doubles are C99 hex floats ("%a"), so they round-trip bit for bit. Only
 * symbols with a position, cash or a pending order are listed; a symbol not
 * listed starts empty. Lines are '\n'-terminated; the "end" line guards
 * against truncation. Version 1 is the only one so far: a reader refuses
 * versions it does not know. */
#ifndef BTPIPE_STATE_H
#define BTPIPE_STATE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "panel.h"
#include "strategy.h"

#define STATE_MAGIC "btpipe-run-state"
#define STATE_VERSION 1

/* x as printf's "%a" writes it (glibc), NUL-terminated, into out (32
 * bytes); returns the length. */
int state_hexfloat(double x, char *out);

int state_write(const struct run_book *b, const struct panel *p, struct buf *out,
                struct bt_err *err);
/* Fills b (already book_init'ed for the panel and the expected kind) from
 * the bytes. BT_EINPUT, with where = "state:LINE", for anything malformed,
 * another kind, or a symbol with holdings that the panel lacks. */
int state_read(const void *bytes, size_t len, const struct panel *p, struct run_book *b,
               struct bt_err *err);

#endif
