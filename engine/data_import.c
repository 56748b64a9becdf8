/* data_import.c -- per-symbol histories -> canonical daily partitions
 * <out>/<YYYY>/<YYYY-MM-DD>.csv[.gz], the layout that lands in S3.
 *
 * Raw prices are written with the adjustment input as a column, so that
 * loading the partitions gives exactly the panel the vendor files give (the
 * round trip is tested bit for bit). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "csv.h"
#include "data_rows.h"

/* mkdir -p: creates every missing folder of path. */
static int mkdirs(const char *path, struct bt_err *err) {
    struct buf b = BUF_INIT;
    int rc = 0;
    buf_puts(&b, path);
    for (size_t i = 1; i <= b.len; i++) {
        if (b.p[i] != '/' && b.p[i] != 0) continue;
        char c = b.p[i];
        b.p[i] = 0;
        if (mkdir(b.p, 0777) && errno != EEXIST) {
            rc = bt_err_set(err, BT_EIO, b.p, "cannot create folder: %s", strerror(errno));
            break;
        }
        b.p[i] = c;
    }
    buf_free(&b);
    return rc;
}

/* Shortest %g that reads back to the same double, so files stay readable
 * ("17.53", not "17.530000000000001") and the round trip stays exact. */
static void put_num(struct buf *b, double v) {
    char s[40];
    if (v == (double)(int64_t)v && fabs(v) < 9007199254740992.0) { /* volumes: no printf */
        buf_printf(b, "%lld", (long long)v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        double back;
        if (!csv_parse_double(s, strlen(s), &back) && back == v) break;
    }
    buf_puts(b, s);
}

/* Puts ",value" or "," for NaN. */
static void put_field(struct buf *b, double v) {
    buf_putc(b, ',');
    if (!isnan(v)) put_num(b, v);
}

/* gzip-compresses in into out (reset first). */
static int gzip_buf(const struct buf *in, struct buf *out, struct bt_err *err) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    buf_reset(out);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return bt_err_set(err, BT_EINTERNAL, NULL, "deflateInit2 failed");
    size_t bound = deflateBound(&zs, in->len);
    buf_reserve(out, bound);
    zs.next_in = (Bytef *)(in->p ? in->p : "");
    zs.avail_in = (uInt)in->len;
    zs.next_out = (Bytef *)out->p;
    zs.avail_out = (uInt)bound;
    int zrc = deflate(&zs, Z_FINISH);
    out->len = bound - zs.avail_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) return bt_err_set(err, BT_EINTERNAL, NULL, "deflate failed");
    return 0;
}

/* Writes path atomically: a temp file renamed over it, so a reader (or an S3
 * sync) never sees half a partition. */
static int write_atomic(const char *path, const void *p, size_t n, struct bt_err *err) {
    struct buf tmp = BUF_INIT;
    int rc = 0;
    buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp.p, "wb");
    if (!f) {
        rc = bt_err_set(err, BT_EIO, tmp.p, "cannot create: %s", strerror(errno));
        goto fail;
    }
    int bad = fwrite(p, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp.p, path)) {
        rc = bt_err_set(err, BT_EIO, path, "write failed: %s", strerror(errno));
        unlink(tmp.p);
    }
fail:
    buf_free(&tmp);
    return rc;
}

static int cmp_sym(const void *a, const void *b, void *ctx) {
    const struct data_rows *t = ctx;
    return strcmp(data_rows_sym(t, *(const uint32_t *)a), data_rows_sym(t, *(const uint32_t *)b));
}

/* Formats one date's partition: winners of grid row d in symbol order. */
static void format_date(const struct data_rows *t, const struct data_grid *g, int d,
                        const uint32_t *order, struct buf *out) {
    size_t ns = t->nsyms;
    uint32_t kinds = 0;
    for (size_t s = 0; s < ns; s++) {
        int32_t w = g->win[(size_t)d * ns + s];
        if (w >= 0) kinds |= t->rows[w].flags;
    }
    buf_reset(out);
    buf_puts(out, "symbol,date,open,high,low,close,volume");
    if (kinds & ROW_ADJ_FACTOR) buf_puts(out, ",adj_factor");
    if (kinds & ROW_ADJ_CLOSE) buf_puts(out, ",adj_close");
    if (kinds & ROW_VWAP) buf_puts(out, ",vwap");
    buf_putc(out, '\n');
    int32_t date = g->dates[d];
    char ds[16];
    snprintf(ds, sizeof ds, "%04d-%02d-%02d", date / 10000, date / 100 % 100, date % 100);
    for (size_t i = 0; i < ns; i++) {
        uint32_t s = order[i];
        int32_t w = g->win[(size_t)d * ns + s];
        if (w < 0) continue;
        const struct data_row *r = &t->rows[w];
        int bar = !(r->flags & ROW_NOBAR);
        buf_puts(out, data_rows_sym(t, s));
        buf_putc(out, ',');
        buf_puts(out, ds);
        /* a no-bar row keeps its date and its adjustment input, nothing else */
        put_field(out, bar ? r->o : NAN);
        put_field(out, bar ? r->h : NAN);
        put_field(out, bar ? r->l : NAN);
        put_field(out, bar ? r->c : NAN);
        put_field(out, bar ? r->v : NAN);
        if (kinds & (ROW_ADJ_FACTOR | ROW_ADJ_CLOSE)) put_field(out, r->adj > 0 ? r->adj : NAN);
        if (kinds & ROW_VWAP) put_field(out, bar && (r->flags & ROW_VWAP) ? r->vwap : NAN);
        buf_putc(out, '\n');
    }
}

int data_import(const char *const *paths, size_t n, enum data_layout layout,
                const struct data_import_opts *opts, const char *out_dir, struct bt_err *err) {
    static const struct data_import_opts none = {0};
    const struct data_layout_spec *spec = data_layout_spec(layout);
    struct data_rows t;
    struct data_grid g = {0};
    struct buf file = BUF_INIT, scratch = BUF_INIT, csv = BUF_INIT, gz = BUF_INIT, path = BUF_INIT;
    char **files = NULL;
    size_t nfiles = 0, written = 0;
    uint32_t *order = NULL;
    int rc;
    if (!opts) opts = &none;
    data_rows_init(&t);
    if ((rc = data_list_files(paths, n, layout, &files, &nfiles, err))) goto fail;
    for (size_t i = 0; i < nfiles; i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f) {
            rc = bt_err_set(err, BT_EIO, files[i], "cannot open: %s", strerror(errno));
            goto fail;
        }
        buf_reset(&file);
        for (;;) {
            buf_reserve(&file, 1 << 16);
            size_t got = fread(file.p + file.len, 1, file.cap - file.len - 1, f);
            file.len += got;
            if (!got) break;
        }
        int bad = ferror(f);
        fclose(f);
        if (bad) {
            rc = bt_err_set(err, BT_EIO, files[i], "read failed");
            goto fail;
        }
        struct data_source src = {files[i], file.p, file.len};
        if ((rc = data_read_source(&t, spec, &src, &scratch, err))) goto fail;
        if (opts->progress) opts->progress(opts->progress_ctx, "read", i + 1, nfiles);
    }
    if ((rc = data_grid_build(&t, &g, err))) goto fail;
    uint32_t kinds = 0;
    for (size_t i = 0; i < t.n; i++)
        kinds |= t.rows[i].flags;
    if ((kinds & ROW_ADJ_FACTOR) && (kinds & ROW_ADJ_CLOSE)) {
        rc =
            bt_err_set(err, BT_EINPUT, NULL,
                       "import: inputs mix adj_factor and adj_close adjustment; import them apart");
        goto fail;
    }
    order = malloc((t.nsyms ? t.nsyms : 1) * sizeof *order);
    if (!order) abort();
    for (size_t s = 0; s < t.nsyms; s++)
        order[s] = (uint32_t)s;
    qsort_r(order, t.nsyms, sizeof *order, cmp_sym, &t);
    if ((rc = mkdirs(out_dir, err))) goto fail;
    int d0 = 0, d1 = g.ndates;
    while (d0 < d1 && opts->from && g.dates[d0] < opts->from)
        d0++;
    while (d1 > d0 && opts->to && g.dates[d1 - 1] > opts->to)
        d1--;
    int last_year = 0;
    for (int d = d0; d < d1; d++) {
        int32_t date = g.dates[d];
        buf_reset(&path);
        buf_printf(&path, "%s/%04d", out_dir, date / 10000);
        if (date / 10000 != last_year && (rc = mkdirs(path.p, err))) goto fail;
        last_year = date / 10000;
        buf_printf(&path, "/%04d-%02d-%02d.csv%s", date / 10000, date / 100 % 100, date % 100,
                   opts->gzip ? ".gz" : "");
        format_date(&t, &g, d, order, &csv);
        if (opts->gzip) {
            if ((rc = gzip_buf(&csv, &gz, err))) goto fail;
            rc = write_atomic(path.p, gz.p, gz.len, err);
        } else {
            rc = write_atomic(path.p, csv.p, csv.len, err);
        }
        if (rc) goto fail;
        written++;
        if (opts->progress)
            opts->progress(opts->progress_ctx, "write", (size_t)(d - d0 + 1), (size_t)(d1 - d0));
    }
    for (size_t i = 0; i < t.n; i++)
        if ((!opts->from || t.rows[i].date >= opts->from) &&
            (!opts->to || t.rows[i].date <= opts->to))
            t.st.rows_in_range++;
    if (opts->stats) *opts->stats = t.st;
fail:
    if (opts->dates_written) *opts->dates_written = written;
    free(order);
    data_grid_free(&g);
    data_free_list(files, nfiles);
    buf_free(&file);
    buf_free(&scratch);
    buf_free(&csv);
    buf_free(&gz);
    buf_free(&path);
    data_rows_free(&t);
    return rc;
}
