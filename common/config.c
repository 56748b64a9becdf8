/* config.c -- settings from the environment first, then BTPIPE_CONFIG_FILE. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

extern char **environ;

/* A config file larger than this is a mistake (a data file named by accident). */
#define CONFIG_FILE_MAX (1u << 20)

/* A name is what a shell would accept as a variable name. */
static int name_valid(const char *s, size_t n) {
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
    return 1;
}

static int is_blank(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Appends one parsed pair; the array grows by doubling. */
static void kv_push(struct config *c, const char *k, size_t kn, const char *v, size_t vn,
                    int line) {
    if ((c->nfile & (c->nfile - 1)) == 0) { /* 0, 1, 2, 4, ...: time to grow */
        size_t cap = c->nfile ? (size_t)c->nfile * 2 : 1;
        struct config_kv *p = realloc(c->file_kv, cap * sizeof *p);
        if (!p) abort();
        c->file_kv = p;
    }
    struct config_kv *kv = &c->file_kv[c->nfile++];
    kv->key = dup_n(k, kn);
    kv->value = dup_n(v, vn);
    kv->line = line;
}

/* Parses one line (without its newline); 0 or BT_ECONFIG naming origin:line:col. */
static int parse_line(struct config *c, const char *s, size_t n, const char *origin, int line,
                      struct bt_err *err) {
    char where[300];
    size_t i = 0;
    while (i < n && is_blank(s[i]))
        i++;
    while (n > i && is_blank(s[n - 1]))
        n--;
    if (i == n || s[i] == '#') return 0;
    if (n - i > 7 && memcmp(s + i, "export", 6) == 0 && (s[i + 6] == ' ' || s[i + 6] == '\t')) {
        i += 7;
        while (i < n && is_blank(s[i]))
            i++;
    }
    const char *eq = memchr(s + i, '=', n - i);
    if (!eq) {
        snprintf(where, sizeof where, "%s:%d:%zu", origin, line, i + 1);
        return bt_err_set(err, BT_ECONFIG, where, "%s: expected NAME=value", where);
    }
    size_t kend = (size_t)(eq - s);
    size_t vstart = kend + 1;
    while (kend > i && is_blank(s[kend - 1]))
        kend--;
    if (!name_valid(s + i, kend - i)) {
        snprintf(where, sizeof where, "%s:%d:%zu", origin, line, i + 1);
        return bt_err_set(err, BT_ECONFIG, where,
                          "%s: '%.*s' is not a variable name (letters, digits, _)", where,
                          (int)(kend - i > 64 ? 64 : kend - i), s + i);
    }
    while (vstart < n && is_blank(s[vstart]))
        vstart++;
    size_t vend = n;
    if (vend - vstart >= 1 && (s[vstart] == '"' || s[vstart] == '\'')) {
        if (vend - vstart < 2 || s[vend - 1] != s[vstart]) {
            snprintf(where, sizeof where, "%s:%d:%zu", origin, line, vstart + 1);
            return bt_err_set(err, BT_ECONFIG, where, "%s: unterminated quote in value of %.*s",
                              where, (int)(kend - i), s + i);
        }
        vstart++;
        vend--;
    }
    kv_push(c, s + i, kend - i, s + vstart, vend - vstart, line);
    return 0;
}

int config_parse(struct config *c, const char *text, size_t len, const char *origin,
                 struct bt_err *err) {
    if (memchr(text, '\0', len)) {
        size_t off = (size_t)((const char *)memchr(text, '\0', len) - text);
        char where[300];
        snprintf(where, sizeof where, "%s:byte %zu", origin, off);
        return bt_err_set(err, BT_ECONFIG, where, "%s: NUL byte in a text file", where);
    }
    size_t pos = 0;
    int line = 1;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        int rc = parse_line(c, text + pos, end - pos, origin, line, err);
        if (rc) return rc;
        pos = end + 1;
        line++;
    }
    return 0;
}

int config_load(struct config *c, struct bt_err *err) {
    struct buf text = BUF_INIT;
    FILE *f = NULL;
    int rc = 0;
    c->file_kv = NULL;
    c->nfile = 0;
    c->path = NULL;
    const char *path = getenv("BTPIPE_CONFIG_FILE");
    if (!path || !*path) return 0;
    f = fopen(path, "rb");
    if (!f) {
        rc = bt_err_set(err, BT_ECONFIG, path, "BTPIPE_CONFIG_FILE=%s: cannot open: %s", path,
                        strerror(errno));
        goto fail;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_append(&text, chunk, n);
        if (text.len > CONFIG_FILE_MAX) {
            rc = bt_err_set(err, BT_ECONFIG, path, "BTPIPE_CONFIG_FILE=%s: larger than %u bytes",
                            path, CONFIG_FILE_MAX);
            goto fail;
        }
    }
    if (ferror(f)) {
        rc = bt_err_set(err, BT_ECONFIG, path, "BTPIPE_CONFIG_FILE=%s: read error", path);
        goto fail;
    }
    c->path = dup_n(path, strlen(path));
    rc = config_parse(c, buf_cstr(&text), text.len, path, err);
fail:
    if (f) fclose(f);
    buf_free(&text);
    if (rc) config_free(c);
    return rc;
}

void config_free(struct config *c) {
    for (int i = 0; i < c->nfile; i++) {
        free(c->file_kv[i].key);
        free(c->file_kv[i].value);
    }
    free(c->file_kv);
    free(c->path);
    c->file_kv = NULL;
    c->nfile = 0;
    c->path = NULL;
}

/* The last file entry for name (later lines win), or NULL. */
static const struct config_kv *file_find(const struct config *c, const char *name) {
    if (!c) return NULL;
    for (int i = c->nfile - 1; i >= 0; i--)
        if (strcmp(c->file_kv[i].key, name) == 0) return &c->file_kv[i];
    return NULL;
}

const char *config_get(const struct config *c, const char *name) {
    const char *v = getenv(name);
    if (v && *v) return v;
    const struct config_kv *kv = file_find(c, name);
    if (kv && kv->value[0]) return kv->value;
    return NULL;
}

const char *config_origin(const struct config *c, const char *name) {
    static _Thread_local char where[320];
    const char *v = getenv(name);
    if (v && *v) return "environment";
    const struct config_kv *kv = file_find(c, name);
    if (kv && kv->value[0]) {
        snprintf(where, sizeof where, "%s:%d", c->path ? c->path : "config", kv->line);
        return where;
    }
    return "default";
}

const char *config_get_default(const struct config *c, const char *name, const char *def) {
    const char *v = config_get(c, name);
    return v ? v : def;
}

int config_require(const struct config *c, const char *name, const char **out, struct bt_err *err) {
    const char *v = config_get(c, name);
    if (!v)
        return bt_err_set(err, BT_ECONFIG, name,
                          "%s is required but not set (environment or BTPIPE_CONFIG_FILE)", name);
    *out = v;
    return 0;
}

int config_int(const struct config *c, const char *name, long def, long min, long max, long *out,
               struct bt_err *err) {
    const char *v = config_get(c, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    while (end && is_blank(*end))
        end++;
    if (end == v || *end != '\0' || errno == ERANGE || isspace((unsigned char)v[0]))
        return bt_err_set(err, BT_ECONFIG, name, "%s='%.64s' (from %s) is not an integer", name, v,
                          config_origin(c, name));
    if (x < min || x > max)
        return bt_err_set(err, BT_ECONFIG, name, "%s=%ld (from %s) is outside [%ld, %ld]", name, x,
                          config_origin(c, name), min, max);
    *out = x;
    return 0;
}

int config_bool(const struct config *c, const char *name, int def, int *out, struct bt_err *err) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = config_get(c, name);
    if (!v) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = 0, 0;
    }
    return bt_err_set(err, BT_ECONFIG, name,
                      "%s='%.64s' (from %s) is not a boolean (true/false, 1/0, yes/no, on/off)",
                      name, v, config_origin(c, name));
}

void config_each_prefixed(const struct config *c, const char *prefix,
                          void (*fn)(const char *name, const char *value, void *ud), void *ud) {
    size_t pn = strlen(prefix);
    struct buf name = BUF_INIT;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || strncmp(*e, prefix, pn) != 0 || !eq[1]) continue;
        buf_reset(&name);
        buf_append(&name, *e, (size_t)(eq - *e));
        fn(name.p, eq + 1, ud);
    }
    /* File entries the environment does not override, last line per name only. */
    for (int i = 0; c && i < c->nfile; i++) {
        const struct config_kv *kv = &c->file_kv[i];
        if (strncmp(kv->key, prefix, pn) != 0 || !kv->value[0]) continue;
        if (file_find(c, kv->key) != kv) continue;
        const char *ev = getenv(kv->key);
        if (ev && *ev) continue;
        fn(kv->key, kv->value, ud);
    }
    buf_free(&name);
}
