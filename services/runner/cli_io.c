/* cli_io.c -- files, folders, data loading and result files for the CLI. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"

int cli_exit_code(int code) {
    switch (code) {
    case BT_OK: return CLI_OK;
    case BT_EINPUT:
    case BT_ENOTFOUND:
    case BT_ELIMIT:
    case BT_ECONFIG: return CLI_BADINPUT;
    default: return CLI_FAIL;
    }
}

int cli_fail(const struct bt_err *err) {
    if (err->where[0])
        fprintf(stderr, "btpipe-runner: %s (at %s)\n", err->msg, err->where);
    else
        fprintf(stderr, "btpipe-runner: %s\n", err->msg);
    return cli_exit_code(err->code ? err->code : BT_EINTERNAL);
}

int cli_data_add(struct cli_data *d, const char *path, struct bt_err *err) {
    if (strncmp(path, "s3://", 5) == 0)
        return bt_err_set(err, BT_EINPUT, path,
                          "s3:// data is read by the runner's job mode; the local commands "
                          "take files, folders and file:// URIs");
    if (strncmp(path, "file://", 7) == 0) path += 7;
    if (!*path) return bt_err_set(err, BT_EINPUT, "--data", "empty --data path");
    if (d->n >= (int)(sizeof d->paths / sizeof d->paths[0]))
        return bt_err_set(err, BT_ELIMIT, "--data", "too many --data paths");
    d->paths[d->n++] = path;
    return 0;
}

int cli_load(const struct cli_data *d, int32_t to, struct panel *p, struct bt_err *err) {
    struct data_opts opts = {0, to, NULL};
    if (d->n == 0) return bt_err_set(err, BT_EINPUT, "--data", "--data is required");
    if (!d->have_layout)
        return bt_err_set(err, BT_EINPUT, "--layout", "--layout is required (daily|ashare|yahoo)");
    return data_load_files(d->paths, (size_t)d->n, d->layout, &opts, p, err);
}

int cli_read_file(const char *path, struct buf *out, struct bt_err *err) {
    FILE *f = fopen(path, "rb");
    char tmp[65536];
    size_t n;
    if (!f)
        return bt_err_set(err, errno == ENOENT ? BT_EINPUT : BT_EIO, path, "cannot open %s: %s",
                          path, strerror(errno));
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(out, tmp, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return bt_err_set(err, BT_EIO, path, "cannot read %s", path);
    return 0;
}

int cli_write_file(const char *path, const void *data, size_t n, struct bt_err *err) {
    struct buf tmp = BUF_INIT;
    int rc = 0;
    buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp.p, "wb");
    if (!f) {
        rc = bt_err_set(err, BT_EIO, path, "cannot create %s: %s", tmp.p, strerror(errno));
        goto fail;
    }
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    if (fclose(f) != 0 || w != n) {
        rc = bt_err_set(err, BT_EIO, path, "cannot write %s", tmp.p);
        unlink(tmp.p);
        goto fail;
    }
    if (rename(tmp.p, path) != 0) {
        rc = bt_err_set(err, BT_EIO, path, "cannot rename %s to %s: %s", tmp.p, path,
                        strerror(errno));
        unlink(tmp.p);
    }
fail:
    buf_free(&tmp);
    return rc;
}

int cli_mkdir_p(const char *dir, struct bt_err *err) {
    struct buf b = BUF_INIT;
    buf_puts(&b, dir);
    for (char *q = b.p + 1; q && *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(b.p, 0777) != 0 && errno != EEXIST) goto fail;
        *q = '/';
    }
    if (mkdir(b.p, 0777) != 0 && errno != EEXIST) goto fail;
    buf_free(&b);
    return 0;
fail:
    bt_err_set(err, BT_EIO, dir, "cannot create folder %s: %s", b.p, strerror(errno));
    buf_free(&b);
    return BT_EIO;
}

/* A JSON number, or null for NaN and infinities (JSON has neither). */
static json_t *num(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

void cli_summary_json(const struct run_summary *s, struct buf *out) {
    json_t *o = json_object();
    json_object_set_new(o, "final_value", num(s->final_value));
    json_object_set_new(o, "total_return", num(s->total_return));
    json_object_set_new(o, "annual_return", num(s->annual_return));
    json_object_set_new(o, "annual_volatility", num(s->annual_volatility));
    json_object_set_new(o, "sharpe", num(s->sharpe));
    json_object_set_new(o, "sortino", num(s->sortino));
    json_object_set_new(o, "max_drawdown", num(s->max_drawdown));
    json_object_set_new(o, "calmar", num(s->calmar));
    json_object_set_new(o, "win_rate", num(s->win_rate));
    json_object_set_new(o, "turnover", num(s->turnover));
    json_object_set_new(o, "ic_mean", num(s->ic_mean));
    json_object_set_new(o, "ic_std", num(s->ic_std));
    json_object_set_new(o, "ic_ir", num(s->ic_ir));
    json_object_set_new(o, "rank_ic_mean", num(s->rank_ic_mean));
    json_object_set_new(o, "rank_ic_std", num(s->rank_ic_std));
    json_object_set_new(o, "rank_ic_ir", num(s->rank_ic_ir));
    json_object_set_new(o, "days", json_integer(s->days));
    json_t *q = json_array();
    for (int i = 0; i < s->nq; i++)
        json_array_append_new(q, num(s->quantile_ret[i]));
    json_object_set_new(o, "quantile_returns", q);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!text) abort();
    buf_puts(out, text);
    buf_putc(out, '\n');
    free(text);
    json_decref(o);
}

/* %.17g round-trips a double; an empty field is NaN (pandas reads it so).
 * csv_format_double writes the same text as printf, several times faster. */
static size_t csv_num(char *at, double x) {
    at[0] = ',';
    return isnan(x) ? 1 : 1 + (size_t)csv_format_double(at + 1, x);
}

/* YYYY-MM-DD of a YYYYMMDD date (years 0..9999, as "%04d-%02d-%02d"). */
static size_t csv_date(char *at, int d) {
    if (d < 0 || d > 99991231)
        return (size_t)snprintf(at, 16, "%04d-%02d-%02d", d / 10000, d / 100 % 100, d % 100);
    int y = d / 10000, m = d / 100 % 100, dd = d % 100;
    at[0] = (char)('0' + y / 1000), at[1] = (char)('0' + y / 100 % 10);
    at[2] = (char)('0' + y / 10 % 10), at[3] = (char)('0' + y % 10), at[4] = '-';
    at[5] = (char)('0' + m / 10), at[6] = (char)('0' + m % 10), at[7] = '-';
    at[8] = (char)('0' + dd / 10), at[9] = (char)('0' + dd % 10);
    return 10;
}

void cli_series_csv(const struct run_series *s, struct buf *out) {
    buf_puts(out, "date,return,value,turnover,ic,rank_ic\n");
    for (int i = 0; i < s->n; i++) {
        char line[16 + 5 * (CSV_DOUBLE_MAX + 1) + 1];
        size_t n = csv_date(line, s->date[i]);
        n += csv_num(line + n, s->ret[i]);
        n += csv_num(line + n, s->value[i]);
        n += csv_num(line + n, s->turnover[i]);
        n += csv_num(line + n, s->ic[i]);
        n += csv_num(line + n, s->rank_ic[i]);
        line[n++] = '\n';
        buf_append(out, line, n);
    }
}

int cli_write_run(const char *dir, const struct run_output *out, struct bt_err *err) {
    struct buf path = BUF_INIT, text = BUF_INIT;
    int rc;
    if ((rc = cli_mkdir_p(dir, err))) goto fail;
    cli_summary_json(&out->summary, &text);
    buf_printf(&path, "%s/summary.json", dir);
    if ((rc = cli_write_file(path.p, text.p, text.len, err))) goto fail;
    buf_reset(&text);
    buf_reset(&path);
    cli_series_csv(&out->series, &text);
    buf_printf(&path, "%s/series.csv", dir);
    rc = cli_write_file(path.p, buf_cstr(&text), text.len, err);
fail:
    buf_free(&path);
    buf_free(&text);
    return rc;
}

int cli_common_opt(int c, const char *arg, struct cli_data *d, int32_t *from, int32_t *to,
                   const char **out, struct bt_err *err) {
    switch (c) {
    case 'd': return cli_data_add(d, arg, err);
    case 'l': d->have_layout = 1; return data_layout_parse(arg, &d->layout, err);
    case 'F': return data_parse_date(arg, from, err);
    case 'T': return data_parse_date(arg, to, err);
    case 'O': *out = arg; return 0;
    default: return CLI_NOT_COMMON;
    }
}

int cli_data_add_rest(struct cli_data *d, int argc, char **argv, int first, struct bt_err *err) {
    int rc = 0;
    for (int i = first; i < argc && !rc; i++) /* --data A B C */
        rc = cli_data_add(d, argv[i], err);
    return rc;
}
