/* log.c -- JSON lines on stderr, one event per line. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"

static char log_svc[64] = "btpipe";
static enum log_level log_min = LOG_INFO;
static FILE *log_stream; /* NULL means stderr, resolved at write time */
/* One writer at a time so lines from the HTTP thread never interleave. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *service, enum log_level min) {
    snprintf(log_svc, sizeof log_svc, "%s", service ? service : "btpipe");
    log_min = min;
}

const char *log_service(void) {
    return log_svc;
}

enum log_level log_min_level(void) {
    return log_min;
}

void log_set_stream(FILE *f) {
    log_stream = f;
}

enum log_level log_level_parse(const char *s, int *ok) {
    static const char *const names[] = {"debug", "info", "warn", "error"};
    *ok = 1;
    if (!s || !*s) return LOG_INFO;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) return (enum log_level)i;
    if (strcasecmp(s, "warning") == 0) return LOG_WARN;
    *ok = 0;
    return LOG_INFO;
}

static const char *level_name(enum log_level l) {
    switch (l) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    default: return "error";
    }
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0; /* surrogates are not characters */
    return n;
}

void log_json_string(struct buf *out, const char *s) {
    buf_putc(out, '"');
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        switch (c) {
        case '"':
            buf_puts(out, "\\\"");
            p++;
            continue;
        case '\\':
            buf_puts(out, "\\\\");
            p++;
            continue;
        case '\n':
            buf_puts(out, "\\n");
            p++;
            continue;
        case '\r':
            buf_puts(out, "\\r");
            p++;
            continue;
        case '\t':
            buf_puts(out, "\\t");
            p++;
            continue;
        case '\b':
            buf_puts(out, "\\b");
            p++;
            continue;
        case '\f':
            buf_puts(out, "\\f");
            p++;
            continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            buf_printf(out, "\\u%04x", c);
            p++;
            continue;
        }
        size_t n = utf8_len(p);
        if (n == 0) {
            buf_puts(out, "\\ufffd");
            p++;
            continue;
        }
        buf_append(out, p, n);
        p += n;
    }
    buf_putc(out, '"');
}

/* RFC 3339 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z. */
static void put_ts(struct buf *out) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    buf_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* Keys that the line itself uses; a field with one of these names is renamed. */
static int reserved_key(const char *k) {
    return !strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "svc") || !strcmp(k, "msg");
}

static void write_line(struct buf *line) {
    buf_putc(line, '\n');
    pthread_mutex_lock(&log_lock);
    FILE *f = log_stream ? log_stream : stderr;
    fwrite(line->p, 1, line->len, f);
    fflush(f);
    pthread_mutex_unlock(&log_lock);
}

void log_eventv(enum log_level lvl, const char *msg, const char *const *kv, size_t npairs) {
    if (lvl < log_min) return;
    struct buf line = BUF_INIT;
    buf_puts(&line, "{\"ts\":");
    put_ts(&line);
    buf_printf(&line, ",\"level\":\"%s\",\"svc\":", level_name(lvl));
    log_json_string(&line, log_svc);
    buf_puts(&line, ",\"msg\":");
    log_json_string(&line, msg);
    for (size_t i = 0; i < npairs; i++) {
        const char *k = kv[2 * i], *v = kv[2 * i + 1];
        if (!k) break;
        buf_putc(&line, ',');
        if (reserved_key(k)) {
            struct buf rk = BUF_INIT;
            buf_printf(&rk, "field_%s", k);
            log_json_string(&line, rk.p);
            buf_free(&rk);
        } else {
            log_json_string(&line, k);
        }
        buf_putc(&line, ':');
        if (v)
            log_json_string(&line, v);
        else
            buf_puts(&line, "null");
    }
    buf_putc(&line, '}');
    write_line(&line);
    buf_free(&line);
}

/* Up to this many key/value pairs per event; more is a programming error we truncate. */
#define LOG_MAX_PAIRS 32

void log_event(enum log_level lvl, const char *msg, ...) {
    if (lvl < log_min) return;
    const char *kv[2 * LOG_MAX_PAIRS];
    size_t n = 0;
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (!v) break; /* a NULL value is the sentinel too: never read past it */
        if (n < LOG_MAX_PAIRS) {
            kv[2 * n] = k;
            kv[2 * n + 1] = v;
            n++;
        }
    }
    va_end(ap);
    log_eventv(lvl, msg, kv, n);
}

void log_msgf(enum log_level lvl, const char *fmt, ...) {
    if (lvl < log_min) return;
    struct buf m = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&m, fmt, ap);
    va_end(ap);
    log_eventv(lvl, buf_cstr(&m), NULL, 0);
    buf_free(&m);
}
