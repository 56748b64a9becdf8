/* data_load.c -- files, folders and in-memory objects -> panel. The only
 * file-system code of the data layer besides data_import.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "data_rows.h"
#include "par.h"

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

/* Reads a whole file into b (reset first): plain read(2) into a buffer
 * sized by fstat, no stdio buffer to allocate (and fault in) per file. */
static int read_file(const char *path, struct buf *b, struct bt_err *err) {
    int rc = 0;
    buf_reset(b);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bt_err_set(err, BT_EIO, path, "cannot open: %s", strerror(errno));
    struct stat st;
    /* + 1: the read of 0 that ends a file of the size fstat gave needs room */
    if (fstat(fd, &st) == 0 && st.st_size > 0) buf_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        if (b->cap - b->len < 2) buf_reserve(b, 1 << 16);
        ssize_t got = read(fd, b->p + b->len, b->cap - b->len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            rc = bt_err_set(err, BT_EIO, path, "read failed: %s", strerror(errno));
            break;
        }
        b->len += (size_t)got;
        b->p[b->len] = 0;
        if (got == 0) break;
    }
    close(fd);
    return rc;
}

/* Rows -> grid -> panel, with the stats the caller asked for. */
static int finish(struct data_rows *t, const struct data_opts *opts, struct panel *out,
                  struct bt_err *err) {
    struct data_grid g;
    int32_t from = opts ? opts->from : 0, to = opts ? opts->to : 0;
    int rc = data_grid_build(t, &g, err);
    if (rc) return rc;
    if (!from && !to) { /* every row: spare the pass over the table */
        t->st.rows_in_range += t->n;
    } else {
        struct data_part whole = {t->rows, t->n, 0, NULL, 0};
        const struct data_part *ps = t->parts ? t->parts : &whole;
        size_t np = t->parts ? t->nparts : 1;
        for (size_t p = 0; p < np; p++)
            for (size_t i = 0; i < ps[p].n; i++)
                if ((!from || ps[p].rows[i].date >= from) && (!to || ps[p].rows[i].date <= to))
                    t->st.rows_in_range++;
    }
    rc = data_build_panel(t, &g, from, to, out, err);
    data_grid_free(&g);
    if (!rc && opts && opts->stats) *opts->stats = t->st;
    return rc;
}

/* Threads the loaders read with: 0 (the default) means par_threads(), 1
 * reads sequentially. Tests set it to compare. */
int data_load_threads = 0;

/* Below this many bytes of in-memory objects a second thread costs more
 * than it saves. */
#define DATA_PAR_MIN_BYTES ((size_t)1 << 20)

/* What each worker thread reuses from one object to the next. */
struct load_worker {
    struct buf file, scratch;
    struct data_date_memo *memo;
    struct data_gz *gz;              /* made on the worker's first gzip object */
    struct data_arena_chunk *chunks; /* the parts' rows; the first is filled */
    size_t used, cap;                /* bytes of the first chunk */
};

/* Row memory the parts are cut from, ARENA_CHUNK bytes at a time (a
 * multiple of the 2 MiB huge page). Each worker fills its own chunk: a part
 * is parsed straight at the chunk's free end, and the chunk moves on by the
 * rows it kept, so no part needs its row count known beforehand. */
#define ARENA_CHUNK ((size_t)8 << 20)

/* A row is rarely under 32 bytes of CSV: an object's rows are expected to
 * need 2 bytes of row table per byte of CSV. Fewer bytes left than that
 * start a new chunk (a part outgrowing its room is copied out by the
 * table's own growth: correct, only slower). */
#define ARENA_EST(len) (((len) / 32 + 16) * sizeof(struct data_row))

/* Puts the worker's free room (at least want bytes) into the empty table t. */
static void arena_take(struct data_arena_chunk **chunks, size_t *used, size_t *cap,
                       struct data_rows *t, size_t want) {
    if (!*chunks || *cap - *used < want) {
        size_t size = want + sizeof **chunks > ARENA_CHUNK / 2
                          ? want + sizeof **chunks /* its own: untouched room costs nothing */
                          : ARENA_CHUNK;
        struct data_arena_chunk *c = panel_big_alloc(size);
        c->next = *chunks;
        *chunks = c;
        *used = sizeof *c;
        *cap = size;
    }
    t->rows = (struct data_row *)((char *)*chunks + *used);
    t->cap = (*cap - *used) / sizeof(struct data_row);
    t->rows_borrowed = 1;
}

/* Objects (files to read, or in-memory sources) read one task each into a
 * row table of their own; merged in object order afterwards. */
struct load_job {
    const struct data_layout_spec *spec;
    char **files;                   /* files to read, or NULL */
    const struct data_source *srcs; /* in-memory objects when files is NULL */
    struct data_rows *parts;        /* per object */
    struct bt_err *errs;            /* per object */
    int *rcs;                       /* per object */
    struct load_worker *w;          /* per worker */
    size_t first_bad;               /* lowest failed object so far (atomic) */
};

/* Inflates (when gzip) and parses one object into the empty table t, at
 * the free end of the worker's chunk: no doubling copies, and the rows land
 * in memory that faults in as huge pages. */
static int load_object(struct load_job *j, struct load_worker *w, struct data_rows *t,
                       const struct data_source *src, struct bt_err *err) {
    const char *name = src->name ? src->name : "(memory)";
    const char *csv = src->bytes ? src->bytes : "";
    size_t len = src->len;
    if (data_is_gzip(name, src->bytes, src->len)) {
        if (!w->gz) w->gz = data_gz_new();
        int rc = data_gunzip_gz(w->gz, name, src->bytes, src->len, &w->scratch, err);
        if (rc) return rc;
        csv = w->scratch.p ? w->scratch.p : "";
        len = w->scratch.len;
    }
    arena_take(&w->chunks, &w->used, &w->cap, t, ARENA_EST(len));
    int rc = data_read_csv(t, j->spec, name, csv, len, err);
    if (t->rows_borrowed) w->used += t->n * sizeof(struct data_row);
    return rc;
}

/* Reads one object: the file (when files are read), gunzip, parse. */
static void load_task(void *ctx, int task, int worker) {
    struct load_job *j = ctx;
    struct load_worker *w = &j->w[worker];
    struct data_rows *t = &j->parts[task];
    struct bt_err *err = &j->errs[task];
    data_rows_init(t);
    /* an earlier object failed: its error is the one reported, this one's
     * rows would be dropped (objects before it still run, so the first
     * error is always found whatever the thread count) */
    if ((size_t)task > __atomic_load_n(&j->first_bad, __ATOMIC_RELAXED)) return;
    struct data_source src;
    int rc = 0;
    if (j->files) {
        rc = read_file(j->files[task], &w->file, err);
        src = (struct data_source){j->files[task], w->file.p ? w->file.p : "", w->file.len};
    } else {
        src = j->srcs[task];
    }
    t->dates = w->memo; /* the date memo is a pure cache: share it per worker */
    if (!rc) rc = load_object(j, w, t, &src, err);
    w->memo = t->dates;
    t->dates = NULL;
    j->rcs[task] = rc;
    if (rc) {
        size_t cur = __atomic_load_n(&j->first_bad, __ATOMIC_RELAXED);
        while ((size_t)task < cur &&
               !__atomic_compare_exchange_n(&j->first_bad, &cur, (size_t)task, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
        }
    }
}

/* Gives t every part's symbols, sources and counters in part order (so the
 * ids are those of a sequential read) and takes over the parts' rows where
 * they are, each with its symbol id map: the grid and the fill read them
 * in place, sparing a copy of every row into a fresh table. */
static void merge_parts(struct data_rows *t, struct data_rows *parts, size_t n) {
    t->parts = calloc(n ? n : 1, sizeof *t->parts);
    if (!t->parts) abort();
    t->nparts = n;
    size_t rows = t->n;
    for (size_t i = 0; i < n; i++) {
        struct data_rows *p = &parts[i];
        struct data_rows head = *p;
        head.n = 0; /* symbols, sources and counters only */
        data_rows_append(t, &head);
        uint32_t *map = malloc((p->nsyms ? p->nsyms : 1) * sizeof *map);
        if (!map) abort();
        /* already interned: these are lookups returning the ids just given */
        for (size_t id = 0; id < p->nsyms; id++)
            map[id] = data_rows_intern(t, data_rows_sym(p, (uint32_t)id), p->name_len[id]);
        if (p->n) {
            if (rows == 0 || p->date_min < t->date_min) t->date_min = p->date_min;
            if (rows == 0 || p->date_max > t->date_max) t->date_max = p->date_max;
            t->any_flags |= p->any_flags;
        }
        /* rows_borrowed: in a chunk; else it outgrew its room: its own */
        t->parts[i] = (struct data_part){p->rows, p->n, rows, map, !p->rows_borrowed};
        p->rows = NULL;
        p->n = p->cap = 0;
        p->rows_borrowed = 0;
        rows += t->parts[i].n;
    }
    t->n = rows;
}

/* Reads n objects into t, exactly as reading them one after the other into
 * t would: the parts are appended in object order (data_rows_append keeps
 * row order and symbol ids), and the error is the first in object order. */
static int load_parallel(struct data_rows *t, const struct data_layout_spec *spec, char **files,
                         const struct data_source *srcs, size_t n, struct bt_err *err) {
    int nw = par_threads();
    struct load_job j;
    memset(&j, 0, sizeof j);
    j.spec = spec;
    j.files = files;
    j.srcs = srcs;
    j.first_bad = (size_t)-1;
    j.parts = calloc(n, sizeof *j.parts);
    j.errs = calloc(n, sizeof *j.errs);
    j.rcs = calloc(n, sizeof *j.rcs);
    j.w = calloc((size_t)nw, sizeof *j.w);
    if (!j.parts || !j.errs || !j.rcs || !j.w) abort();
    for (size_t i = 0; i < n; i++)
        j.errs[i] = (struct bt_err)BT_ERR_INIT;
    par_run((int)n, load_task, &j);
    int rc = 0;
    if (j.first_bad < n) {
        rc = j.rcs[j.first_bad];
        if (err) *err = j.errs[j.first_bad];
    } else {
        merge_parts(t, j.parts, n);
        for (int w = 0; w < nw; w++) /* the chunks go with the rows */
            while (j.w[w].chunks) {
                struct data_arena_chunk *c = j.w[w].chunks;
                j.w[w].chunks = c->next;
                c->next = t->arena;
                t->arena = c;
            }
    }
    for (size_t i = 0; i < n; i++)
        data_rows_free(&j.parts[i]);
    for (int w = 0; w < nw; w++) {
        buf_free(&j.w[w].file);
        buf_free(&j.w[w].scratch);
        free(j.w[w].memo);
        data_gz_free(j.w[w].gz);
        while (j.w[w].chunks) { /* not handed to t: an object failed */
            struct data_arena_chunk *next = j.w[w].chunks->next;
            free(j.w[w].chunks);
            j.w[w].chunks = next;
        }
    }
    free(j.parts);
    free(j.errs);
    free(j.rcs);
    free(j.w);
    return rc;
}

/* Whether to read n objects one task each (on the worker threads when
 * there are several): their row tables are then kept as parts, which also
 * spares one thread the doubling copies of a single growing table. */
static int load_in_parallel(size_t n) {
    return n >= 2 && data_load_threads != 1 && n <= (size_t)INT32_MAX;
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
    if (load_in_parallel(nfiles)) {
        if ((rc = load_parallel(&t, spec, files, NULL, nfiles, err))) goto fail;
    } else {
        for (size_t i = 0; i < nfiles; i++) {
            if ((rc = read_file(files[i], &file, err))) goto fail;
            struct data_source src = {files[i], file.p ? file.p : "", file.len};
            if ((rc = data_read_source(&t, spec, &src, &scratch, err))) goto fail;
        }
    }
    rc = finish(&t, opts, out, err);
fail:
    data_free_list(files, nfiles);
    buf_free(&file);
    buf_free(&scratch);
    data_rows_free(&t);
    return rc;
}

int data_load_sources(const struct data_source *srcs, size_t n, enum data_layout layout,
                      const struct data_opts *opts, struct panel *out, struct bt_err *err) {
    const struct data_layout_spec *spec = data_layout_spec(layout);
    struct data_rows t;
    struct buf scratch = BUF_INIT;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!spec) return bt_err_set(err, BT_EINPUT, NULL, "unknown layout %d", (int)layout);
    data_rows_init(&t);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += srcs[i].len;
    /* on one thread, one table sized from the bytes is as cheap as parts */
    if (load_in_parallel(n) && par_threads() > 1 && total >= DATA_PAR_MIN_BYTES) {
        if ((rc = load_parallel(&t, spec, NULL, srcs, n, err))) goto fail;
    } else {
        /* a row is rarely under 48 bytes: one allocation, no copies as it grows */
        data_rows_reserve(&t, total / 48);
        for (size_t i = 0; i < n; i++)
            if ((rc = data_read_source(&t, spec, &srcs[i], &scratch, err))) goto fail;
    }
    rc = finish(&t, opts, out, err);
fail:
    buf_free(&scratch);
    data_rows_free(&t);
    return rc;
}

int data_parse_date(const char *s, int32_t *out, struct bt_err *err) {
    if (s && !csv_parse_date(s, strlen(s), out)) return 0;
    return bt_err_set(err, BT_EINPUT, NULL, "bad date '%s' (YYYY-MM-DD or YYYYMMDD)", s ? s : "");
}
