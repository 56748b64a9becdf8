/* expr_lex.c -- tokens of the factor language, and positioned errors. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"

int expr_err_at(struct bt_err *err, int code, const char *text, size_t off, const char *fmt, ...) {
    int line = 1, col = 1;
    for (size_t i = 0; text && i < off && text[i]; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[400], where[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "expr:%d:%d", line, col);
    return bt_err_set(err, code, where, "%d:%d: %s", line, col, msg);
}

/* Scans a number: digits [. digits] [e[+-]digits], or . digits; the value
 * comes from strtod on a bounded copy (the C locale is never changed here). */
static int lex_number(struct expr_lexer *lx, struct expr_token *tok, struct bt_err *err) {
    const char *s = lx->text;
    size_t i = lx->pos, start = i;
    int is_int = 1;
    while (i < lx->len && isdigit((unsigned char)s[i]))
        i++;
    if (i < lx->len && s[i] == '.') {
        is_int = 0;
        i++;
        while (i < lx->len && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i < lx->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (s[j] == '+' || s[j] == '-')) j++;
        if (j < lx->len && isdigit((unsigned char)s[j])) {
            is_int = 0;
            i = j;
            while (i < lx->len && isdigit((unsigned char)s[i]))
                i++;
        }
    }
    if (i - start == 1 && s[start] == '.')
        return expr_err_at(err, BT_EINPUT, s, start, "expected a digit after '.'");
    if (i - start > 64)
        return expr_err_at(err, BT_EINPUT, s, start, "number literal longer than 64 characters");
    if (i < lx->len && (isalpha((unsigned char)s[i]) || s[i] == '_'))
        return expr_err_at(err, BT_EINPUT, s, i, "unexpected '%c' after a number", s[i]);
    char buf[72];
    memcpy(buf, s + start, i - start);
    buf[i - start] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return expr_err_at(err, BT_EINPUT, s, start, "number literal '%s' out of range", buf);
    tok->kind = ET_NUM;
    tok->num = v;
    tok->is_int = is_int;
    tok->off = start;
    tok->len = i - start;
    lx->pos = i;
    return 0;
}

int expr_lex_next(struct expr_lexer *lx, struct expr_token *tok, struct bt_err *err) {
    const char *s = lx->text;
    while (lx->pos < lx->len && isspace((unsigned char)s[lx->pos]))
        lx->pos++;
    memset(tok, 0, sizeof *tok);
    tok->off = lx->pos;
    if (lx->pos >= lx->len) {
        tok->kind = ET_END;
        return 0;
    }
    char c = s[lx->pos];
    char n = lx->pos + 1 < lx->len ? s[lx->pos + 1] : '\0';
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)n)))
        return lex_number(lx, tok, err);
    if (isalpha((unsigned char)c) || c == '_') {
        size_t i = lx->pos;
        while (i < lx->len && (isalnum((unsigned char)s[i]) || s[i] == '_'))
            i++;
        tok->kind = ET_IDENT;
        tok->len = i - lx->pos;
        lx->pos = i;
        return 0;
    }
    int kind = -1, two = 0;
    switch (c) {
    case '(': kind = ET_LPAREN; break;
    case ')': kind = ET_RPAREN; break;
    case ',': kind = ET_COMMA; break;
    case '?': kind = ET_QUEST; break;
    case ':': kind = ET_COLON; break;
    case '+': kind = ET_PLUS; break;
    case '-': kind = ET_MINUS; break;
    case '*': kind = ET_STAR; break;
    case '/': kind = ET_SLASH; break;
    case '^': kind = ET_CARET; break;
    case '<': kind = n == '=' ? (two = 1, ET_LE) : ET_LT; break;
    case '>': kind = n == '=' ? (two = 1, ET_GE) : ET_GT; break;
    case '=':
        if (n == '=') kind = ET_EQ, two = 1;
        break;
    case '!': kind = n == '=' ? (two = 1, ET_NE) : ET_NOT; break;
    case '&':
        if (n == '&') kind = ET_AND, two = 1;
        break;
    case '|':
        if (n == '|') kind = ET_OR, two = 1;
        break;
    default: break;
    }
    if (kind < 0) {
        if (c == '=' || c == '&' || c == '|')
            return expr_err_at(err, BT_EINPUT, s, lx->pos, "unexpected '%c' (did you mean '%c%c'?)",
                               c, c, c);
        if (isprint((unsigned char)c))
            return expr_err_at(err, BT_EINPUT, s, lx->pos, "unexpected character '%c'", c);
        return expr_err_at(err, BT_EINPUT, s, lx->pos, "unexpected byte 0x%02x",
                           (unsigned)(unsigned char)c);
    }
    tok->kind = kind;
    tok->len = two ? 2 : 1;
    lx->pos += tok->len;
    return 0;
}
