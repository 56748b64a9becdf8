/* data_load.c -- files, folders and in-memory objects -> panel. The only
 * file-system code of the data layer besides data_import.c. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "csv.h"
#include "data_rows.h"

#define DATA_MAX_DEPTH 8

struct list {
    char **v;
    size_t n, cap;
};

/* Appends a copy of s. */
static void list_add(struct list *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) abort();
    }
    size_t n = strlen(s);
    char *c = malloc(n + 1);
    if (!c) abort();
    memcpy(c, s, n + 1);
    l->v[l->n++] = c;
}

void data_free_list(char **files, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name the loaders read from a folder: *.csv or *.csv.gz. */
static int is_csv_name(const char *s) {
    size_t n = strlen(s);
    if (n > 3 && !strcmp(s + n - 3, ".gz")) n -= 3;
    return n > 4 && !strncasecmp(s + n - 4, ".csv", 4);
}

/* Collects the CSV files under dir (recursing when asked), unsorted. */
static int walk(const char *dir, int recursive, int depth, struct list *l, struct bt_err *err) {
    DIR *d = opendir(dir);
    if (!d) return bt_err_set(err, BT_EIO, dir, "cannot open folder: %s", strerror(errno));
    struct dirent *e;
    int rc = 0;
    struct buf path = BUF_INIT;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., hidden and temp files */
        buf_reset(&path);
        buf_printf(&path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path.p, &st)) continue; /* vanished or dangling link */
        if (S_ISDIR(st.st_mode)) {
            if (!recursive) continue;
            if (depth >= DATA_MAX_DEPTH) {
                rc = bt_err_set(err, BT_ELIMIT, path.p, "folders nested deeper than %d",
                                DATA_MAX_DEPTH);
                goto fail;
            }
            if ((rc = walk(path.p, recursive, depth + 1, l, err))) goto fail;
        } else if (S_ISREG(st.st_mode) && is_csv_name(e->d_name)) {
            list_add(l, path.p);
        }
    }
fail:
    buf_free(&path);
    closedir(d);
    return rc;
}

int data_list_files(const char *const *paths, size_t n, enum data_layout layout, char ***files_out,
                    size_t *nfiles_out, struct bt_err *err) {
    const struct data_layout_spec *spec = data_layout_spec(layout);
    struct list l = {0};
    int rc = 0;
    *files_out = NULL;
    *nfiles_out = 0;
    if (!spec) return bt_err_set(err, BT_EINPUT, NULL, "unknown layout %d", (int)layout);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st)) {
            rc = bt_err_set(err, errno == ENOENT ? BT_ENOTFOUND : BT_EIO, paths[i], "%s",
                            strerror(errno));
            goto fail;
        }
        if (S_ISDIR(st.st_mode)) {
            size_t first = l.n;
            /* strip trailing slashes so that names come out clean */
            struct buf dir = BUF_INIT;
            buf_puts(&dir, paths[i]);
            while (dir.len > 1 && dir.p[dir.len - 1] == '/')
                dir.p[--dir.len] = 0;
            rc = walk(dir.p, spec->recursive, 0, &l, err);
            buf_free(&dir);
            if (rc) goto fail;
            if (l.n > first) qsort(l.v + first, l.n - first, sizeof *l.v, cmp_str);
        } else {
            list_add(&l, paths[i]);
        }
    }
    if (l.n == 0) {
        rc = bt_err_set(err, BT_ENOTFOUND, n ? paths[0] : NULL, "no .csv or .csv.gz file found");
        goto fail;
    }
    *files_out = l.v;
    *nfiles_out = l.n;
    return 0;
fail:
    data_free_list(l.v, l.n);
    return rc;
}

/* Reads a whole file into b (reset first). */
static int read_file(const char *path, struct buf *b, struct bt_err *err) {
    int rc = 0;
    buf_reset(b);
    FILE *f = fopen(path, "rb");
    if (!f) return bt_err_set(err, BT_EIO, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0) buf_reserve(b, (size_t)st.st_size);
    for (;;) {
        buf_reserve(b, 1 << 16);
        size_t got = fread(b->p + b->len, 1, b->cap - b->len - 1, f);
        b->len += got;
        b->p[b->len] = 0;
        if (got == 0) break;
    }
    if (ferror(f)) rc = bt_err_set(err, BT_EIO, path, "read failed: %s", strerror(errno));
    fclose(f);
    return rc;
}

/* Rows -> grid -> panel, with the stats the caller asked for. */
static int finish(struct data_rows *t, const struct data_opts *opts, struct panel *out,
                  struct bt_err *err) {
    struct data_grid g;
    int32_t from = opts ? opts->from : 0, to = opts ? opts->to : 0;
    int rc = data_grid_build(t, &g, err);
    if (rc) return rc;
    for (size_t i = 0; i < t->n; i++)
        if ((!from || t->rows[i].date >= from) && (!to || t->rows[i].date <= to))
            t->st.rows_in_range++;
    rc = data_build_panel(t, &g, from, to, out, err);
    data_grid_free(&g);
    if (!rc && opts && opts->stats) *opts->stats = t->st;
    return rc;
}

int data_load_files(const char *const *paths, size_t n, enum data_layout layout,
                    const struct data_opts *opts, struct panel *out, struct bt_err *err) {
    const struct data_layout_spec *spec = data_layout_spec(layout);
    struct data_rows t;
    struct buf file = BUF_INIT, scratch = BUF_INIT;
    char **files = NULL;
    size_t nfiles = 0;
    int rc;
    memset(out, 0, sizeof *out);
    data_rows_init(&t);
    if ((rc = data_list_files(paths, n, layout, &files, &nfiles, err))) goto fail;
    for (size_t i = 0; i < nfiles; i++) {
        if ((rc = read_file(files[i], &file, err))) goto fail;
        struct data_source src = {files[i], file.p ? file.p : "", file.len};
        if ((rc = data_read_source(&t, spec, &src, &scratch, err))) goto fail;
    }
    rc = finish(&t, opts, out, err);
fail:
    data_free_list(files, nfiles);
    buf_free(&file);
    buf_free(&scratch);
    data_rows_free(&t);
    return rc;
}

/* Threads data_load_sources may read with (the caller's own included); 1
 * reads sequentially. Tests set it to compare the two. */
int data_load_threads = 2;

/* Below this many bytes a second thread costs more than it saves. */
#define DATA_PAR_MIN_BYTES ((size_t)4 << 20)

/* One contiguous run of sources read into its own row table. */
struct read_part {
    const struct data_layout_spec *spec;
    const struct data_source *srcs;
    size_t n;
    struct data_rows t;
    struct bt_err err;
    int rc;
};

/* Reads a part's sources in order, stopping at the first error. */
static void *read_part_run(void *arg) {
    struct read_part *p = arg;
    struct buf scratch = BUF_INIT;
    for (size_t i = 0; i < p->n && !p->rc; i++)
        p->rc = data_read_source(&p->t, p->spec, &p->srcs[i], &scratch, &p->err);
    buf_free(&scratch);
    return NULL;
}

/* Reads srcs into t, on two threads when there is enough to split: each half
 * into its own table, the second appended to the first, and the first
 * error in source order reported, so the result is the sequential one. */
static int read_sources(struct data_rows *t, const struct data_layout_spec *spec,
                        const struct data_source *srcs, size_t n, struct bt_err *err) {
    size_t total = 0, half = 0, acc = 0;
    for (size_t i = 0; i < n; i++)
        total += srcs[i].len;
    while (half < n && acc + srcs[half].len / 2 < total / 2)
        acc += srcs[half++].len;
    pthread_t th;
    struct read_part b = {spec, srcs + half, n - half, {0}, BT_ERR_INIT, 0};
    data_rows_init(&b.t); /* before the thread starts: it owns b from then on */
    if (data_load_threads < 2 || n < 2 || total < DATA_PAR_MIN_BYTES || half == 0 || half == n ||
        pthread_create(&th, NULL, read_part_run, &b)) {
        struct read_part all = {spec, srcs, n, *t, BT_ERR_INIT, 0};
        data_rows_free(&b.t);
        read_part_run(&all);
        *t = all.t;
        if (all.rc && err) *err = all.err;
        return all.rc;
    }
    struct read_part a = {spec, srcs, half, *t, BT_ERR_INIT, 0};
    read_part_run(&a);
    pthread_join(th, NULL);
    *t = a.t;
    int rc = a.rc ? a.rc : b.rc;
    if (rc && err) *err = a.rc ? a.err : b.err;
    if (!rc) data_rows_append(t, &b.t);
    data_rows_free(&b.t);
    return rc;
}

int data_load_sources(const struct data_source *srcs, size_t n, enum data_layout layout,
                      const struct data_opts *opts, struct panel *out, struct bt_err *err) {
    const struct data_layout_spec *spec = data_layout_spec(layout);
    struct data_rows t;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!spec) return bt_err_set(err, BT_EINPUT, NULL, "unknown layout %d", (int)layout);
    data_rows_init(&t);
    if ((rc = read_sources(&t, spec, srcs, n, err))) goto fail;
    rc = finish(&t, opts, out, err);
fail:
    data_rows_free(&t);
    return rc;
}

int data_parse_date(const char *s, int32_t *out, struct bt_err *err) {
    if (s && !csv_parse_date(s, strlen(s), out)) return 0;
    return bt_err_set(err, BT_EINPUT, NULL, "bad date '%s' (YYYY-MM-DD or YYYYMMDD)", s ? s : "");
}
