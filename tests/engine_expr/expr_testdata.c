/* expr_testdata.c -- see expr_testdata.h. */
#include "expr_testdata.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Next calendar day of a YYYYMMDD date. */
static int32_t next_day(int32_t ymd) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int last = mdays[m - 1] + (m == 2 && leap);
    if (++d > last) d = 1, m++;
    if (m > 12) m = 1, y++;
    return y * 10000 + m * 100 + d;
}

void td_panel(struct panel *p, int ndates, int nsyms) {
    if (panel_alloc(p, ndates, nsyms)) abort();
    /* weekdays from 2020-01-02 (a Thursday), every 37th weekday a holiday */
    int32_t day = 20200102;
    int weekday = 4, nth = 0; /* 1 = Monday */
    for (int d = 0; d < ndates;) {
        if (weekday <= 5 && ++nth % 37 != 0) p->dates[d++] = day;
        day = next_day(day);
        weekday = weekday % 7 + 1;
    }
    for (int s = 0; s < nsyms; s++) {
        char name[16];
        snprintf(name, sizeof name, "S%03d", s);
        panel_set_sym(p, s, name);
    }
}

void td_set(struct panel *p, int f, int s, const double *v, int n) {
    for (int d = 0; d < n && d < p->ndates; d++)
        p->f[f][panel_idx(p, d, s)] = v[d];
}

const char *td_sp500_dir(void) {
    static char buf[1024];
    const char *env = getenv("BTPIPE_SHARED_DIR");
    snprintf(buf, sizeof buf, "%s/data/sp500-5y", env && *env ? env : BTPIPE_SHARED_DIR);
    return buf;
}

struct row {
    int32_t date;
    double o, h, l, c, v;
};

struct series {
    char name[32];
    struct row *rows;
    int n;
};

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Empty or unparsable field -> NaN. */
static double field(const char *s) {
    if (!*s) return NAN;
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

static int read_series(const char *path, struct series *sr) {
    gzFile gz = gzopen(path, "rb");
    if (!gz) return -1;
    char line[512];
    int cap = 0;
    sr->rows = NULL;
    sr->n = 0;
    if (!gzgets(gz, line, sizeof line)) goto fail; /* header */
    while (gzgets(gz, line, sizeof line)) {
        char *f[8];
        int nf = 0;
        char *p = line;
        line[strcspn(line, "\r\n")] = '\0';
        while (nf < 8) {
            f[nf++] = p;
            char *c = strchr(p, ',');
            if (!c) break;
            *c = '\0';
            p = c + 1;
        }
        if (nf < 7) continue;
        int y, m, d;
        if (sscanf(f[0], "%d-%d-%d", &y, &m, &d) != 3) continue;
        double h = field(f[1]), l = field(f[2]), o = field(f[3]), c = field(f[4]);
        double v = field(f[5]), ac = field(f[6]);
        if (sr->n == cap) {
            cap = cap ? cap * 2 : 1024;
            sr->rows = realloc(sr->rows, (size_t)cap * sizeof *sr->rows);
        }
        struct row *r = &sr->rows[sr->n++];
        r->date = y * 10000 + m * 100 + d;
        double k = ac / c;
        int bar = c > 0 && o > 0 && h > 0 && l > 0 && v > 0 && ac > 0;
        r->o = bar ? o * k : NAN;
        r->h = bar ? h * k : NAN;
        r->l = bar ? l * k : NAN;
        r->c = bar ? c * k : NAN;
        r->v = bar ? v : NAN;
    }
    gzclose(gz);
    return 0;
fail:
    gzclose(gz);
    return -1;
}

int td_load_sp500(const char *dir, const char *const *syms, int nsyms, struct panel *p) {
    char **names = NULL;
    int nn = 0, cap = 0, rc = -1;
    struct series *ser = NULL;
    int32_t *dates = NULL;
    if (nsyms == 0) {
        DIR *dh = opendir(dir);
        if (!dh) {
            fprintf(stderr, "cannot open %s\n", dir);
            return -1;
        }
        struct dirent *de;
        while ((de = readdir(dh))) {
            char *u = strstr(de->d_name, "_data.csv.gz");
            if (!u || u[12]) continue;
            if (nn == cap) {
                cap = cap ? cap * 2 : 512;
                names = realloc(names, (size_t)cap * sizeof *names);
            }
            names[nn++] = strndup(de->d_name, (size_t)(u - de->d_name));
        }
        closedir(dh);
        qsort(names, (size_t)nn, sizeof *names, cmp_str);
    } else {
        names = calloc((size_t)nsyms, sizeof *names);
        for (int i = 0; i < nsyms; i++)
            names[nn++] = strdup(syms[i]);
        qsort(names, (size_t)nn, sizeof *names, cmp_str);
    }
    ser = calloc((size_t)nn + 1, sizeof *ser);
    size_t total = 0;
    for (int i = 0; i < nn; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s_data.csv.gz", dir, names[i]);
        snprintf(ser[i].name, sizeof ser[i].name, "%s", names[i]);
        if (read_series(path, &ser[i])) {
            fprintf(stderr, "cannot read %s\n", path);
            goto done;
        }
        total += (size_t)ser[i].n;
    }
    dates = malloc((total + 1) * sizeof *dates);
    size_t nd = 0;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < ser[i].n; k++)
            dates[nd++] = ser[i].rows[k].date;
    qsort(dates, nd, sizeof *dates, cmp_i32);
    size_t u = 0;
    for (size_t k = 0; k < nd; k++)
        if (!u || dates[u - 1] != dates[k]) dates[u++] = dates[k];
    if (panel_alloc(p, (int)u, nn)) goto done;
    memcpy(p->dates, dates, u * sizeof *dates);
    for (int i = 0; i < nn; i++) {
        panel_set_sym(p, i, ser[i].name);
        for (int k = 0; k < ser[i].n; k++) {
            const struct row *r = &ser[i].rows[k];
            int d = panel_find_date(p, r->date);
            size_t ix = panel_idx(p, d, i);
            p->f[PF_OPEN][ix] = r->o;
            p->f[PF_HIGH][ix] = r->h;
            p->f[PF_LOW][ix] = r->l;
            p->f[PF_CLOSE][ix] = r->c;
            p->f[PF_VOLUME][ix] = r->v;
            p->f[PF_VWAP][ix] = (r->h + r->l + r->c) / 3;
        }
    }
    rc = 0;
done:
    for (int i = 0; i < nn; i++) {
        free(names[i]);
        if (ser) free(ser[i].rows);
    }
    free(names);
    free(ser);
    free(dates);
    return rc;
}

void td_synth(struct panel *p, int nd, int ns) {
    td_panel(p, nd, ns);
    uint64_t x = 12345;
    for (int f = 0; f < PF_COUNT; f++)
        for (size_t i = 0; i < (size_t)nd * ns; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(x >> 11) / 9007199254740992.0;
            p->f[f][i] = (i % 97 == 13) ? NAN : 10 + 5 * u + (f == PF_VOLUME ? 1e6 * u : 0);
        }
}
