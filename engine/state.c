/* state.c -- writes and reads the run state file described in state.h. */
#include <ctype.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* A symbol name that the space-separated format can carry as is. */
static int sym_ok(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || !isprint((unsigned char)*s)) return 0;
    return 1;
}

int state_hexfloat(double x, char *out) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    int e = (int)(u >> 52 & 0x7ff), n = 0;
    uint64_t man = u & (((uint64_t)1 << 52) - 1);
    /* subnormals, infinities and NaNs: rare, and printf's own business */
    if (e == 0x7ff || (e == 0 && man != 0)) return snprintf(out, 32, "%a", x);
    if (u >> 63) out[n++] = '-';
    out[n++] = '0';
    out[n++] = 'x';
    out[n++] = e ? '1' : '0';
    if (man) {
        /* 13 hex digits, trailing zeros dropped as glibc does */
        int digits = 13;
        while (!(man & 15)) {
            man >>= 4;
            digits--;
        }
        out[n++] = '.';
        for (int i = digits - 1; i >= 0; i--)
            out[n + i] = "0123456789abcdef"[man & 15], man >>= 4;
        n += digits;
    }
    int ex = e ? e - 1023 : 0;
    out[n++] = 'p';
    out[n++] = ex < 0 ? '-' : '+';
    if (ex < 0) ex = -ex;
    char d[8];
    int nd = 0;
    do
        d[nd++] = (char)('0' + ex % 10), ex /= 10;
    while (ex);
    while (nd)
        out[n++] = d[--nd];
    out[n] = '\0';
    return n;
}

int state_write(const struct run_book *b, const struct panel *p, struct buf *out,
                struct bt_err *err) {
    buf_printf(out, "%s %d\nkind %s\ndate %d\nvalue %a\ncash %a\n", STATE_MAGIC, STATE_VERSION,
               run_kind_name(b->kind), (int)b->date, b->value, b->cash);
    for (int s = 0; s < b->nsyms; s++) {
        if (b->pos[s] == 0 && b->cash_s[s] == 0 && b->pend[s] == 0) continue;
        if (!sym_ok(p->syms[s]))
            return bt_err_set(err, BT_EINPUT, "state", "symbol '%s' cannot be written to a state",
                              p->syms[s] ? p->syms[s] : "");
        /* printf's %a, formatted here: a signal state lists every symbol */
        const double v[5] = {b->last_close[s], b->pos[s], b->cash_s[s], b->pend[s], b->entry[s]};
        char line[5 * 33 + 2];
        int n = 0;
        for (int i = 0; i < 5; i++) {
            line[n++] = ' ';
            n += state_hexfloat(v[i], line + n);
        }
        line[n++] = '\n';
        buf_puts(out, "sym ");
        buf_puts(out, p->syms[s]);
        buf_append(out, line, (size_t)n);
    }
    buf_puts(out, "end\n");
    return 0;
}

/* Parses one whole double token (hex or decimal, nan, inf). */
static int tok_double(char **save, double *out) {
    char *t = strtok_r(NULL, " ", save), *end;
    if (!t) return -1;
    *out = strtod(t, &end);
    return *end ? -1 : 0;
}

/* Applies one "key args" line to the book; returns 0, 1 at "end", or -1. */
static int state_line(char *line, int lineno, const struct panel *p, struct run_book *b,
                      struct bt_err *err) {
    char *save = NULL, *key = strtok_r(line, " ", &save), *end;
    char where[32];
    snprintf(where, sizeof where, "state:%d", lineno);
    if (!key) goto bad;
    if (lineno == 1) {
        char *v = strtok_r(NULL, " ", &save);
        if (strcmp(key, STATE_MAGIC) != 0 || !v)
            return bt_err_set(err, BT_EINPUT, where, "not a btpipe run state"), -1;
        if (strcmp(v, "1") != 0)
            return bt_err_set(err, BT_EINPUT, where, "state version %s is not supported (1)", v),
                   -1;
        return 0;
    }
    if (strcmp(key, "end") == 0) return 1;
    if (strcmp(key, "kind") == 0) {
        char *v = strtok_r(NULL, " ", &save);
        if (!v || strcmp(v, run_kind_name(b->kind)) != 0)
            return bt_err_set(err, BT_EINPUT, where, "state is for strategy %s, not %s",
                              v ? v : "?", run_kind_name(b->kind)),
                   -1;
    } else if (strcmp(key, "date") == 0) {
        char *v = strtok_r(NULL, " ", &save);
        long d = v ? strtol(v, &end, 10) : 0;
        if (!v || *end || d < 18000101 || d > 29991231) goto bad;
        b->date = (int32_t)d;
    } else if (strcmp(key, "value") == 0) {
        if (tok_double(&save, &b->value) || !isfinite(b->value)) goto bad;
    } else if (strcmp(key, "cash") == 0) {
        if (tok_double(&save, &b->cash) || !isfinite(b->cash)) goto bad;
    } else if (strcmp(key, "sym") == 0) {
        char *name = strtok_r(NULL, " ", &save);
        double v[5];
        if (!name) goto bad;
        /* only the last close may be NaN (no bar seen yet) */
        for (int i = 0; i < 5; i++)
            if (tok_double(&save, &v[i]) || (i > 0 && !isfinite(v[i]))) goto bad;
        int s = panel_find_sym(p, name);
        if (s < 0)
            return bt_err_set(err, BT_EINPUT, where,
                              "state holds symbol %s, which the data does not have", name),
                   -1;
        b->last_close[s] = v[0];
        b->pos[s] = v[1];
        b->cash_s[s] = v[2];
        b->pend[s] = v[3];
        b->entry[s] = v[4];
    } else {
        goto bad;
    }
    if (strtok_r(NULL, " ", &save)) goto bad;
    return 0;
bad:
    bt_err_set(err, BT_EINPUT, where, "malformed state line (key '%s')", key ? key : "");
    return -1;
}

int state_read(const void *bytes, size_t len, const struct panel *p, struct run_book *b,
               struct bt_err *err) {
    int rc = BT_EINPUT, lineno = 0, ended = 0;
    char *text = malloc(len + 1);
    if (!text) abort();
    memcpy(text, bytes, len);
    text[len] = '\0';
    if (strlen(text) != len) {
        bt_err_set(err, BT_EINPUT, "state", "state holds a NUL byte");
        goto fail;
    }
    for (int s = 0; s < b->nsyms; s++) {
        b->last_close[s] = NAN;
        b->pos[s] = b->cash_s[s] = b->pend[s] = b->entry[s] = 0;
    }
    b->date = 0;
    char *line = text;
    while (*line && !ended) {
        char *nl = strchr(line, '\n');
        if (!nl) {
            bt_err_set(err, BT_EINPUT, "state", "state is truncated (line %d)", lineno + 1);
            goto fail;
        }
        *nl = '\0';
        int r = state_line(line, ++lineno, p, b, err);
        if (r < 0) goto fail;
        ended = r == 1;
        line = nl + 1;
    }
    if (!ended) {
        bt_err_set(err, BT_EINPUT, "state", "state is truncated (no end line)");
        goto fail;
    }
    if (b->date == 0) {
        bt_err_set(err, BT_EINPUT, "state", "state has no date");
        goto fail;
    }
    rc = 0;
fail:
    free(text);
    return rc;
}
