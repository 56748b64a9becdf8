/* err.c -- error values. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bt_err_set(struct bt_err *err, int code, const char *where, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->where, sizeof err->where, "%s", where ? where : "");
    return code;
}

void bt_err_clear(struct bt_err *err) {
    if (!err) return;
    err->code = 0;
    err->msg[0] = err->where[0] = '\0';
}

void bt_err_prefix(struct bt_err *err, const char *fmt, ...) {
    if (!err) return;
    char pre[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s%s", pre, old);
}

const char *bt_code_name(int code) {
    switch (code) {
    case BT_OK: return "ok";
    case BT_EINPUT: return "bad_input";
    case BT_EIO: return "io";
    case BT_ENET: return "network";
    case BT_ENOTFOUND: return "not_found";
    case BT_ECONFIG: return "config";
    case BT_EAUTH: return "auth";
    case BT_ELIMIT: return "limit";
    default: return "internal";
    }
}
