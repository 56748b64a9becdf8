/* buf.h -- the one growable byte buffer every btpipe module uses.
 *
 * Always NUL-terminated after any successful append, so b->p can be handed
 * to C string functions; len never counts the terminator. Allocation failure
 * aborts: every caller would otherwise have to carry an OOM path it cannot
 * test, and a backtest that cannot allocate has nothing better to do. */
#ifndef BTPIPE_BUF_H
#define BTPIPE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *p;    /* data, NUL-terminated once anything was appended */
    size_t len; /* bytes used, excluding the terminator */
    size_t cap; /* bytes allocated */
};

#define BUF_INIT                                                                                   \
    { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the allocation */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
char *buf_detach(struct buf *b);
/* Returns a C string even for a never-appended buffer. */
const char *buf_cstr(const struct buf *b);

#endif
