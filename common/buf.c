/* buf.c -- growable byte buffer. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b) {
    b->p = NULL;
    b->len = b->cap = 0;
}

void buf_free(struct buf *b) {
    free(b->p);
    buf_init(b);
}

void buf_reset(struct buf *b) {
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra) {
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "btpipe: out of memory growing a buffer to %zu bytes\n", cap);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s) {
    buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c) {
    buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *buf_detach(struct buf *b) {
    char *p = b->p;
    if (!p) {
        p = malloc(1);
        if (!p) abort();
        p[0] = '\0';
    }
    buf_init(b);
    return p;
}

const char *buf_cstr(const struct buf *b) {
    return b->p ? b->p : "";
}
