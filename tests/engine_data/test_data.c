/* test_data -- the three layouts on the real shared files and on small
 * in-memory cases: adjustment, suspension, sorting, duplicates, empty prices,
 * zero volume, date ranges, gzip and exact error positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "data_rows.h"
#include "par.h"

static char *shared(const char *rel) {
    static char path[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/data/%s", BTPIPE_SHARED_DIR, rel);
    return path[k];
}

static double at(const struct panel *p, int field, int32_t date, const char *sym) {
    int d = panel_find_date(p, date), s = panel_find_sym(p, sym);
    assert_true(d >= 0);
    assert_true(s >= 0);
    return p->f[field][panel_idx(p, d, s)];
}

static int count_nan(const struct panel *p, int field, int s) {
    int n = 0;
    for (int d = 0; d < p->ndates; d++)
        n += isnan(p->f[field][panel_idx(p, d, s)]);
    return n;
}

static void assert_ascending(const struct panel *p) {
    for (int d = 1; d < p->ndates; d++)
        assert_true(p->dates[d - 1] < p->dates[d]);
    for (int s = 1; s < p->nsyms; s++)
        assert_true(strcmp(p->syms[s - 1], p->syms[s]) < 0);
}

/* Loads one in-memory CSV; returns the status and leaves err filled. */
static int load_mem(const char *name, const char *csv, enum data_layout layout,
                    const struct data_opts *o, struct panel *p, struct bt_err *err) {
    struct data_source src = {name, csv, strlen(csv)};
    bt_err_clear(err);
    return data_load_sources(&src, 1, layout, o, p, err);
}

/* ---- A-share layout on the real files ---- */

static void test_ashare_600519(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    const char *path = shared("seed-ashare/600519.csv");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_ASHARE, NULL, &p, &err), 0);
    assert_int_equal(p.ndates, 608);
    assert_int_equal(p.nsyms, 1);
    assert_string_equal(p.syms[0], "600519.SH"); /* from secid */
    assert_int_equal(p.dates[0], 20190102);
    assert_int_equal(p.dates[607], 20210705);
    assert_int_equal(count_nan(&p, PF_CLOSE, 0), 0);
    /* 2019-01-02: raw 609.98/612.0/595.01/598.98, factor 7.211773; the file's
     * latest factor (2021-07-05) is 7.473751. price * f / f_latest: */
    assert_true(at(&p, PF_OPEN, 20190102, "600519.SH") == 588.598321584436);
    assert_true(at(&p, PF_HIGH, 20190102, "600519.SH") == 590.5475143605935);
    assert_true(at(&p, PF_LOW, 20190102, "600519.SH") == 574.1530662086548);
    assert_true(at(&p, PF_CLOSE, 20190102, "600519.SH") == 577.9839054766476);
    assert_true(at(&p, PF_VOLUME, 20190102, "600519.SH") == 6228649.0);
    /* vwap: the typical price of the adjusted bar */
    assert_true(fabs(at(&p, PF_VWAP, 20190102, "600519.SH") -
                     (590.5475143605935 + 574.1530662086548 + 577.9839054766476) / 3) < 1e-12);
    /* on the latest date the factor ratio is 1: prices are the raw ones */
    assert_true(at(&p, PF_CLOSE, 20210705, "600519.SH") == 1994.0);
    panel_free(&p);
}

static void test_ashare_suspended_and_unsorted(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    struct data_stats st;
    struct data_opts o = {0, 0, &st};
    const char *path = shared("seed-ashare/600419.SH.csv");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_ASHARE, &o, &p, &err), 0);
    assert_int_equal(p.ndates, 4859);
    assert_int_equal(st.rows, 4859);
    assert_ascending(&p); /* the file's rows are not sorted */
    assert_int_equal(p.dates[0], 20010628);
    assert_int_equal(p.dates[p.ndates - 1], 20210705);
    /* isopen false: no bar, in every field */
    for (int f = 0; f < PF_COUNT; f++)
        assert_int_equal(count_nan(&p, f, 0), 392);
    assert_true(isnan(at(&p, PF_CLOSE, 20020422, "600419.SH")));
    assert_int_equal(st.no_bar, 392);
    /* first row: 29.8 * 1.0 / 3.239636 (factor on 2021-07-05) */
    assert_true(at(&p, PF_CLOSE, 20010628, "600419.SH") == 9.19856428314786);
    panel_free(&p);
}

static void test_ashare_folder(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    const char *path = shared("seed-ashare");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_ASHARE, NULL, &p, &err), 0);
    assert_int_equal(p.nsyms, 6);
    static const char *want[] = {"600419.SH", "600446.SH", "600519.SH",
                                 "600558.SH", "600559.SH", "600560.SH"};
    for (int s = 0; s < 6; s++)
        assert_string_equal(p.syms[s], want[s]);
    assert_ascending(&p);
    assert_int_equal(p.dates[0], 20010227); /* 600558 starts first */
    int s446 = panel_find_sym(&p, "600446.SH"), s558 = panel_find_sym(&p, "600558.SH");
    /* suspended days plus the days before listing */
    int before446 = panel_lower_date(&p, 20031224);
    assert_int_equal(count_nan(&p, PF_CLOSE, s446), 187 + before446);
    assert_int_equal(count_nan(&p, PF_CLOSE, s558), 166 + (p.ndates - 4941));
    panel_free(&p);
}

/* ---- Yahoo layout on the whole sp500-5y set ---- */

static void test_yahoo_sp500(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    struct data_stats st;
    struct data_opts o = {0, 0, &st};
    const char *path = shared("sp500-5y");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_YAHOO, &o, &p, &err), 0);
    assert_int_equal(st.files, 482);
    assert_int_equal(st.rows, 592358);
    assert_int_equal(p.ndates, 1259);
    assert_int_equal(p.nsyms, 482);
    assert_int_equal(p.dates[0], 20150112);
    assert_int_equal(p.dates[1258], 20200110);
    assert_ascending(&p);
    /* the README says 474-481 a date; the files themselves hold 464-477 rows a
     * date, and every one of them is a bar once duplicates are resolved */
    int lo = 1 << 30, hi = 0;
    for (int d = 0; d < p.ndates; d++) {
        int n = 0;
        for (int s = 0; s < p.nsyms; s++)
            n += !isnan(p.f[PF_CLOSE][panel_idx(&p, d, s)]);
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    assert_int_equal(lo, 464);
    assert_int_equal(hi, 477);
    /* three (symbol, date) pairs appear twice with different values */
    assert_int_equal(st.dup_conflict, 3);
    assert_int_equal(st.dup_exact, 0);
    /* AAPL 2015-01-12: o/h/l/c x (Adj Close / Close) = x (100.38079071044922 / 109.25) */
    assert_true(at(&p, PF_OPEN, 20150112, "AAPL") == 103.45882728446362);
    assert_true(at(&p, PF_HIGH, 20150112, "AAPL") == 103.4863906820487);
    assert_true(at(&p, PF_LOW, 20150112, "AAPL") == 99.96732572663375);
    assert_true(at(&p, PF_CLOSE, 20150112, "AAPL") == 100.38079071044922);
    assert_true(at(&p, PF_VOLUME, 20150112, "AAPL") == 49650800.0);
    assert_true(at(&p, PF_VWAP, 20150112, "AAPL") == 101.27816903971056);
    /* CBS 2019-12-04: a real bar, then an all-zero row: the bar wins */
    assert_true(at(&p, PF_CLOSE, 20191204, "CBS") == 40.77000045776367);
    /* STI 2019-12-06 twice, the second with a corrected low and volume: it wins */
    assert_true(at(&p, PF_VOLUME, 20191206, "STI") == 18980771.0);
    assert_true(at(&p, PF_VOLUME, 20191204, "VIAB") == 41869884.0);
    /* AET's last day traded nothing: a bar with volume 0 */
    assert_true(at(&p, PF_VOLUME, 20181129, "AET") == 0.0);
    assert_true(at(&p, PF_CLOSE, 20181129, "AET") == 212.6999969482422);
    assert_true(isnan(at(&p, PF_CLOSE, 20181130, "AET"))); /* delisted */
    panel_free(&p);
}

static void test_date_range(void **state) {
    (void)state;
    struct panel full, part;
    struct bt_err err = BT_ERR_INIT;
    struct data_opts o = {20200101, 20200630, NULL};
    const char *path = shared("seed-ashare");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_ASHARE, NULL, &full, &err), 0);
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_ASHARE, &o, &part, &err), 0);
    assert_int_equal(part.dates[0], 20200102);
    assert_int_equal(part.dates[part.ndates - 1], 20200630);
    int d0 = panel_find_date(&full, 20200102);
    assert_int_equal(part.ndates, panel_lower_date(&full, 20200701) - d0);
    /* the range changes which bars are kept, never their values: the
     * adjustment anchor is the latest date of the whole input */
    assert_int_equal(part.nsyms, full.nsyms);
    for (int f = 0; f < PF_COUNT; f++)
        assert_memory_equal(part.f[f], full.f[f] + (size_t)d0 * full.nsyms,
                            sizeof(double) * part.ndates * part.nsyms);
    panel_free(&part);
    /* a range outside the data: an empty panel, not an error */
    struct data_opts none = {19900101, 19901231, NULL};
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_ASHARE, &none, &part, &err), 0);
    assert_int_equal(part.ndates, 0);
    assert_int_equal(part.nsyms, 0);
    panel_free(&part);
    panel_free(&full);
}

/* ---- cleaning rules on small in-memory inputs (daily layout) ---- */

static void test_daily_sort_dedupe(void **state) {
    (void)state;
    const char *csv = "symbol,date,open,high,low,close,volume\n"
                      "BBB,2020-01-03,10,11,9,10.5,100\n"
                      "AAA,2020-01-03,1,2,0.5,1.5,10\n"
                      "AAA,2020-01-02,1,2,0.5,1.25,10\n"
                      "AAA,2020-01-03,1.0,2,0.50,1.5,10.0\n" /* exact duplicate (same values) */
                      "BBB,2020-01-02,10,11,9,10,100\n"
                      "BBB,2020-01-02,10,11,9,10.25,120\n" /* conflict: the later row wins */
                      "CCC,2020-01-02,5,5,5,5,0\n"         /* zero volume: still a bar */
                      "CCC,2020-01-03,,,,,\n"              /* empty: no bar */
                      "DDD,2020-01-02,3,3,3,3,7\n"
                      "DDD,2020-01-02,0,0,0,0,0\n"   /* a later zero row loses to the bar */
                      "EEE,2020-01-02,-1,2,1,2,5\n"; /* non-positive price: no bar */
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    struct data_stats st;
    struct data_opts o = {0, 0, &st};
    assert_int_equal(load_mem("mem.csv", csv, DATA_LAYOUT_DAILY, &o, &p, &err), 0);
    assert_int_equal(p.ndates, 2);
    assert_int_equal(p.nsyms, 5);
    assert_string_equal(p.syms[0], "AAA");
    assert_string_equal(p.syms[4], "EEE");
    assert_int_equal(p.dates[0], 20200102);
    assert_true(at(&p, PF_CLOSE, 20200102, "AAA") == 1.25);
    assert_true(at(&p, PF_CLOSE, 20200103, "AAA") == 1.5);
    assert_true(at(&p, PF_CLOSE, 20200102, "BBB") == 10.25);
    assert_true(at(&p, PF_VOLUME, 20200102, "BBB") == 120);
    assert_true(at(&p, PF_VOLUME, 20200102, "CCC") == 0);
    assert_true(at(&p, PF_CLOSE, 20200102, "CCC") == 5);
    assert_true(isnan(at(&p, PF_CLOSE, 20200103, "CCC")));
    assert_true(isnan(at(&p, PF_VOLUME, 20200103, "CCC")));
    assert_true(at(&p, PF_CLOSE, 20200102, "DDD") == 3);
    assert_true(isnan(at(&p, PF_OPEN, 20200102, "EEE")));
    /* unadjusted daily layout: vwap is the typical price */
    assert_true(at(&p, PF_VWAP, 20200103, "BBB") == (11 + 9 + 10.5) / 3.0);
    assert_int_equal(st.dup_exact, 1);
    assert_int_equal(st.dup_conflict, 2);
    assert_int_equal(st.rows, 11);
    panel_free(&p);
}

static void test_daily_adjustment(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    /* adj_factor: anchored at each symbol's latest date in the load */
    const char *f = "symbol,date,open,high,low,close,volume,adj_factor,vwap\n"
                    "X,20200102,10,12,8,10,100,1,10.5\n"
                    "X,20200103,10,12,8,10,100,2,\n"
                    "Y,20200102,4,4,4,4,1,3,\n";
    assert_int_equal(load_mem("f.csv", f, DATA_LAYOUT_DAILY, NULL, &p, &err), 0);
    assert_true(at(&p, PF_CLOSE, 20200102, "X") == 5.0);
    assert_true(at(&p, PF_HIGH, 20200102, "X") == 6.0);
    assert_true(at(&p, PF_VWAP, 20200102, "X") == 5.25); /* from the data, adjusted */
    assert_true(at(&p, PF_VWAP, 20200103, "X") == (12.0 + 8 + 10) / 3); /* empty: typical price */
    assert_true(at(&p, PF_VOLUME, 20200102, "X") == 100);               /* volume as is */
    assert_true(at(&p, PF_CLOSE, 20200102, "Y") == 4.0);
    panel_free(&p);
    /* adj_close: o/h/l/c scaled by adj_close / close */
    const char *c = "symbol,date,open,high,low,close,volume,adj_close\n"
                    "X,20200102,10,12,8,10,100,5\n"
                    "Y,20200102,10,12,8,10,100,\n"; /* empty adjustment: no bar */
    assert_int_equal(load_mem("c.csv", c, DATA_LAYOUT_DAILY, NULL, &p, &err), 0);
    assert_true(at(&p, PF_OPEN, 20200102, "X") == 5.0);
    assert_true(at(&p, PF_HIGH, 20200102, "X") == 6.0);
    assert_true(isnan(at(&p, PF_OPEN, 20200102, "Y")));
    panel_free(&p);
}

static void test_yahoo_symbol_from_file_name(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    const char *csv = "Date,High,Low,Open,Close,Volume,Adj Close\n"
                      "2020-01-02,2,1,1.5,2,10,1\n";
    assert_int_equal(load_mem("some/where/BRK-B_data.csv", csv, DATA_LAYOUT_YAHOO, NULL, &p, &err),
                     0);
    assert_string_equal(p.syms[0], "BRK-B");
    assert_true(at(&p, PF_OPEN, 20200102, "BRK-B") == 0.75);
    panel_free(&p);
    const char *named = "Date,High,Low,Open,Close,Volume,Adj Close,Name\n"
                        "2020-01-02,2,1,1.5,2,10,1,\n"
                        "2020-01-03,2,1,1.5,2,10,1,ZZ\n";
    assert_int_equal(load_mem("QQ_data.csv", named, DATA_LAYOUT_YAHOO, NULL, &p, &err), 0);
    assert_int_equal(p.nsyms, 2); /* an empty Name falls back to the file name */
    assert_string_equal(p.syms[0], "QQ");
    assert_string_equal(p.syms[1], "ZZ");
    panel_free(&p);
}

/* ---- in-memory sources and gzip ---- */

static void gzip_string(const char *s, unsigned char *out, size_t *outlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)s;
    zs.avail_in = (uInt)strlen(s);
    zs.next_out = out;
    zs.avail_out = (uInt)*outlen;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = zs.total_out;
    deflateEnd(&zs);
}

static void assert_panels_equal(const struct panel *a, const struct panel *b) {
    assert_int_equal(a->ndates, b->ndates);
    assert_int_equal(a->nsyms, b->nsyms);
    assert_memory_equal(a->dates, b->dates, sizeof(int32_t) * a->ndates);
    for (int s = 0; s < a->nsyms; s++)
        assert_string_equal(a->syms[s], b->syms[s]);
    for (int f = 0; f < PF_COUNT; f++)
        assert_memory_equal(a->f[f], b->f[f], sizeof(double) * a->ndates * a->nsyms);
}

static void test_sources_and_gzip(void **state) {
    (void)state;
    const char *d1 = "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,2,1,2,3\n";
    const char *d2 = "symbol,date,open,high,low,close,volume\nA,2020-01-03,2,3,2,3,4\n"
                     "B,2020-01-03,5,5,5,5,5\n";
    unsigned char gz1[512], gz2[1024];
    size_t n1 = sizeof gz1, n2 = sizeof gz2;
    gzip_string(d1, gz1, &n1);
    gzip_string(d2, gz2, &n2);
    struct data_source plain[2] = {{"2020-01-02.csv", d1, strlen(d1)},
                                   {"2020-01-03.csv", d2, strlen(d2)}};
    /* one found by its .gz name, one only by its magic bytes */
    struct data_source packed[2] = {{"2020-01-02.csv.gz", gz1, n1}, {"s3-object", gz2, n2}};
    struct panel a, b;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_load_sources(plain, 2, DATA_LAYOUT_DAILY, NULL, &a, &err), 0);
    assert_int_equal(data_load_sources(packed, 2, DATA_LAYOUT_DAILY, NULL, &b, &err), 0);
    assert_int_equal(a.ndates, 2);
    assert_int_equal(a.nsyms, 2);
    assert_panels_equal(&a, &b);
    panel_free(&b);
    /* concatenated gzip members are one stream */
    unsigned char cat[1536];
    memcpy(cat, gz1, n1);
    memcpy(cat + n1, gz2 + 0, n2);
    /* d2 has its own header line: the joined text then has a header row in the
     * middle, which must be refused as a bad date, at its line and column */
    struct data_source joined = {"joined.csv.gz", cat, n1 + n2};
    assert_int_equal(data_load_sources(&joined, 1, DATA_LAYOUT_DAILY, NULL, &b, &err), BT_EINPUT);
    assert_string_equal(err.where, "joined.csv.gz:3:8");
    /* a truncated gzip object is bad input */
    struct data_source cut = {"cut.csv.gz", gz2, n2 / 2};
    assert_int_equal(data_load_sources(&cut, 1, DATA_LAYOUT_DAILY, NULL, &b, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "gzip"));
    panel_free(&a);
}

static void test_gzip_files_equal_plain(void **state) {
    (void)state;
    /* a Yahoo file loaded from .csv.gz and from its inflated bytes */
    struct panel a, b;
    struct bt_err err = BT_ERR_INIT;
    const char *path = shared("sp500-5y/MSFT_data.csv.gz");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_YAHOO, NULL, &a, &err), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf raw = BUF_INIT, plain = BUF_INIT;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&raw, chunk, got);
    fclose(f);
    assert_int_equal(data_gunzip(path, raw.p, raw.len, &plain, &err), 0);
    struct data_source src = {"MSFT_data.csv", plain.p, plain.len};
    assert_int_equal(data_load_sources(&src, 1, DATA_LAYOUT_YAHOO, NULL, &b, &err), 0);
    assert_int_equal(a.ndates, 1259);
    assert_panels_equal(&a, &b);
    panel_free(&a);
    panel_free(&b);
    buf_free(&raw);
    buf_free(&plain);
}

/* The whole-buffer inflate takes a single member sized by its trailer;
 * everything else goes to zlib, with zlib's errors. */
static void test_gzip_fallbacks(void **state) {
    (void)state;
    const char *d = "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,2,1,2,3\n";
    size_t dl = strlen(d);
    unsigned char gz[512], two[1024];
    size_t n = sizeof gz;
    gzip_string(d, gz, &n);
    struct buf out = BUF_INIT;
    struct bt_err err = BT_ERR_INIT;
    /* one member: exact bytes, NUL-terminated */
    assert_int_equal(data_gunzip("a.gz", gz, n, &out, &err), 0);
    assert_int_equal(out.len, dl);
    assert_memory_equal(out.p, d, dl);
    assert_int_equal(out.p[out.len], 0);
    /* two members: both inflated */
    memcpy(two, gz, n);
    memcpy(two + n, gz, n);
    assert_int_equal(data_gunzip("b.gz", two, 2 * n, &out, &err), 0);
    assert_int_equal(out.len, 2 * dl);
    assert_memory_equal(out.p + dl, d, dl);
    /* trailing bytes that are not a member are ignored, as zlib always did */
    memcpy(two + n, "junk", 4);
    assert_int_equal(data_gunzip("c.gz", two, n + 4, &out, &err), 0);
    assert_int_equal(out.len, dl);
    /* a trailer whose size lies: refused (zlib's length check) */
    memcpy(two, gz, n);
    two[n - 4] ^= 1;
    assert_int_equal(data_gunzip("d.gz", two, n, &out, &err), BT_EINPUT);
    assert_string_equal(err.where, "d.gz");
    assert_non_null(strstr(err.msg, "gzip"));
    /* a size claim no deflate stream can make is not trusted for the buffer */
    memcpy(two, gz, n);
    two[n - 1] = 0x7f;
    assert_int_equal(data_gunzip("e.gz", two, n, &out, &err), BT_EINPUT);
    /* a bad CRC */
    memcpy(two, gz, n);
    two[n - 8] ^= 0xff;
    assert_int_equal(data_gunzip("f.gz", two, n, &out, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "gzip"));
    /* truncated: the same message zlib gave before */
    assert_int_equal(data_gunzip("g.gz", gz, n - 6, &out, &err), BT_EINPUT);
    assert_string_equal(err.msg, "gzip: truncated stream");
    /* a big object (several deflate blocks) round-trips */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 20000; i++)
        buf_printf(&big, "S%d,2020-01-02,%d.25,%d.5,1,2,%d\n", i % 97, i, i + 1, i * 7);
    size_t cap = big.len + 1024;
    unsigned char *bz = malloc(cap);
    assert_non_null(bz);
    size_t bn = cap;
    gzip_string(big.p, bz, &bn);
    assert_int_equal(data_gunzip("big.gz", bz, bn, &out, &err), 0);
    assert_int_equal(out.len, big.len);
    assert_memory_equal(out.p, big.p, big.len);
    free(bz);
    buf_free(&big);
    buf_free(&out);
}

/* The in-place fast path and the general tokenizer path read the same data
 * into the same panel, bit for bit. */
static void test_fast_path_matches_general_path(void **state) {
    (void)state;
    static const struct {
        const char *rel;
        enum data_layout layout;
    } sets[] = {{"seed-ashare", DATA_LAYOUT_ASHARE}, {"sp500-5y", DATA_LAYOUT_YAHOO}};
    for (size_t i = 0; i < 2; i++) {
        struct panel a, b;
        struct bt_err err = BT_ERR_INIT;
        const char *path = shared(sets[i].rel);
        assert_int_equal(data_load_files(&path, 1, sets[i].layout, NULL, &a, &err), 0);
        data_read_fast_path = 0;
        int rc = data_load_files(&path, 1, sets[i].layout, NULL, &b, &err);
        data_read_fast_path = 1;
        assert_int_equal(rc, 0);
        assert_panels_equal(&a, &b);
        panel_free(&b);
        /* the portable fast paths too, where the AVX-512 one would run */
        data_read_fast_path = 2;
        rc = data_load_files(&path, 1, sets[i].layout, NULL, &b, &err);
        data_read_fast_path = 1;
        assert_int_equal(rc, 0);
        assert_panels_equal(&a, &b);
        panel_free(&a);
        panel_free(&b);
    }
}

/* Loads srcs (or, when srcs is NULL, the folder dir) sequentially and on 2
 * and 3 worker threads: same status, same error (code, message,
 * file:line:column), same stats and a bit-identical panel. */
static void assert_threads_agree_on(const struct data_source *srcs, size_t n, const char *dir,
                                    enum data_layout layout) {
    struct panel a, b;
    struct data_stats sa, sb;
    struct data_opts oa = {0, 0, &sa}, ob = {0, 0, &sb};
    struct bt_err ea = BT_ERR_INIT, eb = BT_ERR_INIT;
    memset(&sa, 0, sizeof sa);
    /* the reference: every step on one thread (the grid and the panel fill
     * run on par.h's workers even when the objects are read sequentially) */
    data_load_threads = 1;
    par_set_threads(1);
    int ra = srcs ? data_load_sources(srcs, n, layout, &oa, &a, &ea)
                  : data_load_files(&dir, 1, layout, &oa, &a, &ea);
    data_load_threads = 0;
    for (int threads = 2; threads <= 3; threads++) {
        par_set_threads(threads);
        memset(&sb, 0, sizeof sb);
        eb = (struct bt_err)BT_ERR_INIT;
        int rb = srcs ? data_load_sources(srcs, n, layout, &ob, &b, &eb)
                      : data_load_files(&dir, 1, layout, &ob, &b, &eb);
        assert_int_equal(ra, rb);
        assert_int_equal(ea.code, eb.code);
        assert_string_equal(ea.msg, eb.msg);
        assert_string_equal(ea.where, eb.where);
        if (!ra) {
            assert_memory_equal(&sa, &sb, sizeof sa);
            assert_panels_equal(&a, &b);
        }
        panel_free(&b);
    }
    par_set_threads(0);
    panel_free(&a);
}

static void assert_threads_agree(const struct data_source *srcs, size_t n) {
    assert_threads_agree_on(srcs, n, NULL, DATA_LAYOUT_YAHOO);
}

/* The real folders read from disk (read + gunzip + parse per file on the
 * worker threads): the panel and stats do not depend on the thread count,
 * set by par_set_threads or by BTPIPE_THREADS. */
static void test_folder_threads_match_one(void **state) {
    (void)state;
    assert_threads_agree_on(NULL, 0, shared("sp500-5y"), DATA_LAYOUT_YAHOO);
    assert_threads_agree_on(NULL, 0, shared("seed-ashare"), DATA_LAYOUT_ASHARE);
    /* BTPIPE_THREADS is the default par_threads reads */
    struct panel a, b;
    struct bt_err err = BT_ERR_INIT;
    const char *dir = shared("seed-ashare");
    setenv("BTPIPE_THREADS", "1", 1);
    assert_int_equal(par_threads(), 1);
    assert_int_equal(data_load_files(&dir, 1, DATA_LAYOUT_ASHARE, NULL, &a, &err), 0);
    setenv("BTPIPE_THREADS", "3", 1);
    assert_int_equal(par_threads(), 3);
    assert_int_equal(data_load_files(&dir, 1, DATA_LAYOUT_ASHARE, NULL, &b, &err), 0);
    unsetenv("BTPIPE_THREADS");
    assert_true(a.ndates > 100);
    assert_panels_equal(&a, &b);
    panel_free(&a);
    panel_free(&b);
}

/* A folder with a bad file among good ones: whatever the thread count, the
 * error is the first bad file's, in path order. */
static void test_folder_first_error_wins(void **state) {
    (void)state;
    char dir[] = "/tmp/btpipe-data-threads-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *good = "Date,High,Low,Open,Close,Volume,Adj Close,Name\n"
                       "2020-01-02,2,1,1.5,1.75,100,1.7,%s\n2020-01-03,2,1,1.5,1.5,100,1.45,%s\n";
    char path[512], sym[16], body[512];
    for (int i = 0; i < 12; i++) {
        snprintf(sym, sizeof sym, "S%02d", i);
        snprintf(path, sizeof path, "%s/%s_data.csv", dir, sym);
        snprintf(body, sizeof body, good, sym, sym);
        if (i == 5) body[60] = 'x';  /* bad number on line 2 */
        if (i == 9) body[100] = '"'; /* a later error must not win */
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(body, f);
        fclose(f);
    }
    assert_threads_agree_on(NULL, 0, dir, DATA_LAYOUT_YAHOO);
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    const char *d = dir;
    par_set_threads(3);
    assert_int_equal(data_load_files(&d, 1, DATA_LAYOUT_YAHOO, NULL, &p, &err), BT_EINPUT);
    par_set_threads(0);
    assert_non_null(strstr(err.where, "S05_data.csv:2:"));
    for (int i = 0; i < 12; i++) {
        snprintf(path, sizeof path, "%s/S%02d_data.csv", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

/* Two reader threads give exactly the sequential result, duplicates across
 * the split and the first error in source order included. */
static void test_two_threads_match_one(void **state) {
    (void)state;
    const char *dir = shared("sp500-5y");
    char **files = NULL;
    size_t nf = 0;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_list_files(&dir, 1, DATA_LAYOUT_YAHOO, &files, &nf, &err), 0);
    assert_true(nf > 100);
    size_t n = nf + 1;
    struct buf *plain = calloc(n, sizeof *plain);
    struct data_source *srcs = calloc(n, sizeof *srcs);
    assert_non_null(plain);
    assert_non_null(srcs);
    for (size_t i = 0; i < nf; i++) {
        FILE *f = fopen(files[i], "rb");
        assert_non_null(f);
        struct buf raw = BUF_INIT;
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_append(&raw, chunk, got);
        fclose(f);
        assert_int_equal(data_gunzip(files[i], raw.p, raw.len, &plain[i], &err), 0);
        buf_free(&raw);
        size_t len = strlen(files[i]);
        if (len > 3 && !strcmp(files[i] + len - 3, ".gz")) files[i][len - 3] = '\0';
        srcs[i] = (struct data_source){files[i], plain[i].p, plain[i].len};
    }
    /* the first file again at the end: exact duplicates across the split */
    srcs[nf] = srcs[0];
    assert_threads_agree(srcs, n);
    /* a conflicting duplicate: the same file with one close changed */
    struct buf alt = BUF_INIT;
    buf_append(&alt, plain[0].p, plain[0].len);
    char *comma = memchr(alt.p + 60, ',', alt.len - 60);
    assert_non_null(comma);
    comma[1] = comma[1] == '9' ? '8' : '9';
    srcs[nf].bytes = alt.p;
    assert_threads_agree(srcs, n);
    /* errors in the second half, then in both halves: the first one wins */
    struct buf bad1 = BUF_INIT, bad2 = BUF_INIT;
    buf_append(&bad2, plain[nf - 3].p, plain[nf - 3].len);
    bad2.p[200] = 'x';
    srcs[nf - 3].bytes = bad2.p;
    assert_threads_agree(srcs, n);
    data_load_threads = 2;
    assert_int_equal(data_load_sources(srcs, n, DATA_LAYOUT_YAHOO, NULL, &(struct panel){0}, &err),
                     BT_EINPUT);
    assert_non_null(strstr(err.where, files[nf - 3]));
    buf_append(&bad1, plain[2].p, plain[2].len);
    bad1.p[300] = '"';
    srcs[2].bytes = bad1.p;
    assert_threads_agree(srcs, n);
    assert_int_equal(data_load_sources(srcs, n, DATA_LAYOUT_YAHOO, NULL, &(struct panel){0}, &err),
                     BT_EINPUT);
    assert_non_null(strstr(err.where, files[2]));
    data_load_threads = 2;
    buf_free(&alt);
    buf_free(&bad1);
    buf_free(&bad2);
    for (size_t i = 0; i < nf; i++)
        buf_free(&plain[i]);
    free(plain);
    free(srcs);
    data_free_list(files, nf);
}

/* Daily objects that share dates and symbols (each symbol first seen in a
 * different order per object), with exact, conflicting and no-bar
 * duplicates across objects and an adj_factor to anchor: the merge of the
 * per-object tables, the grid (its duplicate rules split by date blocks)
 * and the panel fill (split by date blocks) give the one-thread panel and
 * stats at 2 and 3 threads, whether the objects are read in parallel or
 * sequentially, with and without a date range, and the rules still hold. */
static void test_threads_merge_grid_fill(void **state) {
    (void)state;
    enum { NSRC = 36, NDAY = 12, NSYM = 6000 };
    struct buf body[NSRC];
    struct data_source srcs[NSRC];
    char name[NSRC][32];
    for (int i = 0; i < NSRC; i++) {
        int day = i % NDAY, copy = i / NDAY;
        buf_init(&body[i]);
        buf_puts(&body[i], "symbol,date,open,high,low,close,volume,adj_factor\n");
        for (int k = 0; k < NSYM; k++) {
            int sym = (k + i * 37) % NSYM;
            double close = 10 + sym % 7 + day + (copy == 2 && sym % 5 == 0);
            if (copy == 2 && sym % 5 == 1) /* no bar: loses to the bar */
                buf_printf(&body[i], "S%04d,202001%02d,,,,,,\n", sym, day + 2);
            else
                buf_printf(&body[i], "S%04d,202001%02d,%g,%g,%g,%g,%d,%g\n", sym, day + 2,
                           close - 0.5, close + 1, close - 1, close, 100 + sym,
                           1 + day * 0.01 + sym % 3);
        }
        snprintf(name[i], sizeof name[i], "d%02d.csv", i);
        srcs[i] = (struct data_source){name[i], body[i].p, body[i].len};
    }
    /* read on the workers; more rows and cells than one task of the grid
     * and of the fill take, so that those are split too */
    assert_true(body[0].len * NSRC > ((size_t)1 << 20));
    assert_true(NSRC * NSYM > 65536 && NDAY * NSYM > 65536);
    assert_threads_agree_on(srcs, NSRC, NULL, DATA_LAYOUT_DAILY);
    int32_t ranges[][2] = {{20200103, 20200107}, {20200105, 0}, {0, 20200102}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        struct panel a, b;
        struct data_stats sa, sb;
        struct data_opts oa = {ranges[r][0], ranges[r][1], &sa}, ob = oa;
        struct bt_err err = BT_ERR_INIT;
        ob.stats = &sb;
        data_load_threads = 1;
        par_set_threads(1);
        assert_int_equal(data_load_sources(srcs, NSRC, DATA_LAYOUT_DAILY, &oa, &a, &err), 0);
        for (int seq = 0; seq <= 1; seq++) {
            data_load_threads = seq;
            par_set_threads(3);
            assert_int_equal(data_load_sources(srcs, NSRC, DATA_LAYOUT_DAILY, &ob, &b, &err), 0);
            assert_memory_equal(&sa, &sb, sizeof sa);
            assert_panels_equal(&a, &b);
            panel_free(&b);
        }
        data_load_threads = 0;
        par_set_threads(0);
        assert_true(sa.rows_in_range < sa.rows);
        panel_free(&a);
    }
    /* the rules, at 2 threads */
    struct panel p;
    struct data_stats st;
    struct data_opts o = {0, 0, &st};
    struct bt_err err = BT_ERR_INIT;
    par_set_threads(2);
    assert_int_equal(data_load_sources(srcs, NSRC, DATA_LAYOUT_DAILY, &o, &p, &err), 0);
    par_set_threads(0);
    assert_int_equal(p.ndates, NDAY);
    assert_int_equal(p.nsyms, NSYM);
    assert_int_equal(st.rows, NSRC * NSYM);
    assert_int_equal(st.rows_in_range, NSRC * NSYM);
    /* the second copy repeats the first; the third repeats 3 symbols in 5 */
    assert_int_equal(st.dup_exact, NDAY * NSYM + NDAY * NSYM / 5 * 3);
    assert_int_equal(st.dup_conflict, NDAY * NSYM / 5 * 2);
    /* on the latest date the factor is its own anchor: raw prices */
    assert_true(at(&p, PF_CLOSE, 20200113, "S0000") == 22.0); /* the later row won */
    assert_true(at(&p, PF_CLOSE, 20200113, "S0001") == 22.0); /* the bar beat no bar */
    assert_true(at(&p, PF_CLOSE, 20200113, "S0002") == 23.0);
    /* earlier dates: price * factor / factor(latest) */
    assert_true(at(&p, PF_CLOSE, 20200102, "S0003") == 13.0 * 1.0 / 1.11);
    assert_true(at(&p, PF_VOLUME, 20200102, "S5999") == 6099);
    panel_free(&p);
    for (int i = 0; i < NSRC; i++)
        buf_free(&body[i]);
}

/* Loads one object with the fast paths on and off: same status, same error
 * (message and file:line:column), bit-identical panel. */
static void assert_paths_agree(const char *csv, size_t len, enum data_layout layout) {
    struct data_source src = {"mut_data.csv", csv, len};
    struct panel a, b;
    struct bt_err ea = BT_ERR_INIT, eb = BT_ERR_INIT;
    data_read_fast_path = 1;
    int ra = data_load_sources(&src, 1, layout, NULL, &a, &ea);
    data_read_fast_path = 0;
    int rb = data_load_sources(&src, 1, layout, NULL, &b, &eb);
    data_read_fast_path = 1;
    assert_int_equal(ra, rb);
    assert_string_equal(ea.msg, eb.msg);
    assert_string_equal(ea.where, eb.where);
    if (!ra) assert_panels_equal(&a, &b);
    panel_free(&b);
    /* the portable fast paths (what a machine without AVX-512 runs) */
    struct bt_err ec = BT_ERR_INIT;
    data_read_fast_path = 2;
    int rc = data_load_sources(&src, 1, layout, NULL, &b, &ec);
    data_read_fast_path = 1;
    assert_int_equal(ra, rc);
    assert_string_equal(ea.msg, ec.msg);
    assert_string_equal(ea.where, ec.where);
    if (!ra) assert_panels_equal(&a, &b);
    panel_free(&a);
    panel_free(&b);
}

/* Numbers of every shape near the row splitters' limits (digit counts,
 * where the dot is, leading zeros, no dot, a dot at an end, too long, a
 * stray byte), each alone in a row that the splitters reach (more than 264
 * bytes before the end), read by the AVX-512 splitter where the processor
 * has one, the portable one and the general path: the same panel, bit for
 * bit, and the same error. */
static void test_split_number_shapes(void **state) {
    (void)state;
    static const char *shapes[] = {
        "1",
        "12345678",
        "1234567890123456789",
        "12345678901234567890",
        "0.5",
        ".5",
        "5.",
        "0.0",
        "0",
        "00000000000000000001.5",
        "1.000000000000000001",
        "1.0000000000000000001",
        "123456789012345678.9",
        "1234567890123456789.0",
        "9999999999999999999",
        "18446744073709551615",
        "112.62999725341797",
        "51.060001373291016",
        "6655098276430136.5",
        "9007199254740993",
        "0.000000000000000001",
        "0.0000000000000000001",
        "3.4028234663852886e38",
        "1..5",
        "1.5.",
        "1x5",
        "-1.5",
        "+1.5",
        " 1.5",
        "1e5",
    };
    size_t ns = sizeof shapes / sizeof *shapes;
    for (size_t i = 0; i < ns; i++) {
        struct buf csv = BUF_INIT;
        buf_puts(&csv, "Date,High,Low,Open,Close,Volume,Adj Close,Name\n");
        for (int d = 0; d < 12; d++)
            buf_printf(&csv, "2015-01-%02d,%s,%s,1.25,%s,%s,%s,AAL\n", d + 2, shapes[i],
                       shapes[(i + (size_t)d) % ns], shapes[(i + 3) % ns], shapes[i],
                       shapes[(i * 7 + (size_t)d) % ns]);
        assert_paths_agree(csv.p, csv.len, DATA_LAYOUT_YAHOO);
        buf_free(&csv);
    }
}

/* The row splitter (lines split at their commas before parsing) stands in
 * front of the one-pass fast path: every byte of a long text is replaced in
 * turn by bytes that change a row's shape (separators, quotes, signs, an
 * exponent, a dot, CR) and both paths must still agree. */
static void test_split_rows_match_general_path(void **state) {
    (void)state;
    struct buf csv = BUF_INIT;
    buf_puts(&csv, "Date,High,Low,Open,Close,Volume,Adj Close,Name\n");
    for (int i = 0; i < 24; i++)
        buf_printf(&csv,
                   "2015-01-%02d,%d.45000076293945,49.2,-51.06,%d.5800018310546875,%s,47.%d,%s\r\n",
                   i + 2, 50 + i, 49 + i, i % 3 ? "18261300.0" : "", i, i % 5 ? "AAL" : "");
    /* a long line (past the splitter's reach) and a quoted field */
    buf_puts(&csv, "2015-02-02,1.000000000000000000000000000000000000000000000000000000000001,"
                   "1,1,1,1,1,\"AAL\"\n2015-02-03,1,1,1,1,1,1,AAL");
    char *m = malloc(csv.len + 1);
    assert_non_null(m);
    static const char subst[] = {',', '\n', '\r', '"', '-', '+', 'e', '.', 'x', '0', ' '};
    for (size_t pos = 47; pos < csv.len; pos += 3) {
        char c = subst[pos % sizeof subst];
        memcpy(m, csv.p, csv.len);
        m[pos] = c;
        assert_paths_agree(m, csv.len, DATA_LAYOUT_YAHOO);
    }
    assert_paths_agree(csv.p, csv.len, DATA_LAYOUT_YAHOO);
    free(m);
    buf_free(&csv);
}

/* ---- malformed input: exact positions and column names ---- */

struct bad_case {
    enum data_layout layout;
    const char *csv;
    const char *where;
    const char *in_msg;
};

static void test_malformed(void **state) {
    (void)state;
    static const struct bad_case cases[] = {
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,2x,1,2,3\n",
         "bad.csv:2:16", "column \"high\": bad number \"2x\""},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,2,1,2\n",
         "bad.csv:2:21", "expected 7 fields, found 6"},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,2,1,2,3,9\n",
         "bad.csv:2:24", "expected 7 fields, found 8"},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume\n\nA,2020-02-30,1,2,1,2,3\n",
         "bad.csv:3:3", "column \"date\": bad date \"2020-02-30\""},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,volume\nA,2020-01-02,1,2,1,3\n",
         "bad.csv:1:1", "missing column \"close\""},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,2,1,2,-3\n",
         "bad.csv:2:22", "column \"volume\": negative volume \"-3\""},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume\n,2020-01-02,1,2,1,2,3\n",
         "bad.csv:2:1", "column \"symbol\": bad symbol \"\""},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume,close\n", "bad.csv:1:40",
         "column \"close\" appears twice"},
        {DATA_LAYOUT_DAILY, "symbol,date,open,high,low,close,volume,adj_factor,adj_close\n",
         "bad.csv:1:51", "both present"},
        {DATA_LAYOUT_DAILY, "", "bad.csv:1:1", "no header"},
        {DATA_LAYOUT_ASHARE,
         "\"ticker\",\"secid\",\"tradedate\",\"openprice\",\"highestprice\",\"lowestprice\","
         "\"closeprice\",\"turnovervol\",\"turnovervalue\",\"accumadjfactor\",\"isopen\"\n"
         "\"600519\",\"600519.SH\",\"2019-01-02\",\"609.98\",\"612.0\",\"595.01\",\"598.98\","
         "\"6228649.0\",\"3.7E9\",\"7.2\",\"yes\"\n",
         "bad.csv:2:96", "column \"isopen\": expected true or false, found \"yes\""},
        {DATA_LAYOUT_ASHARE,
         "\"ticker\",\"secid\",\"tradedate\",\"openprice\",\"highestprice\",\"lowestprice\","
         "\"closeprice\",\"turnovervol\",\"turnovervalue\",\"isopen\"\n",
         "bad.csv:1:1", "missing column \"accumadjfactor\""},
        {DATA_LAYOUT_ASHARE,
         "\"ticker\",\"secid\",\"tradedate\",\"openprice\",\"highestprice\",\"lowestprice\","
         "\"closeprice\",\"turnovervol\",\"turnovervalue\",\"accumadjfactor\",\"isopen\"\n"
         "\"600519\",\"600519.SH\",\"2019-01-02\",\"609.98\",\"612.0\",\"595.01\",\"598.98\","
         "\"6228649.0\",\"3.7E9\",\"7.2,\"true\"\n",
         "bad.csv:2:96", "unterminated or stray quote"},
        {DATA_LAYOUT_YAHOO,
         "Date,High,Low,Open,Close,Volume,Adj Close,Name\n2015-01-12,1,1,1,1,1,1,A\n"
         "2015-01-13,1,1,1,1,1,1e,A\n",
         "bad.csv:3:22", "column \"Adj Close\": bad number \"1e\""},
        {DATA_LAYOUT_YAHOO, "Date,High,Low,Open,Close,Volume,Adj Close,Name\n,1,1,1,1,1,1,A\n",
         "bad.csv:2:1", "column \"Date\": bad date \"\""},
    };
    for (size_t k = 0; k < 2 * sizeof cases / sizeof cases[0]; k++) {
        size_t i = k / 2;
        data_read_fast_path = (int)(k % 2); /* both paths give the same error */
        struct panel p;
        struct bt_err err = BT_ERR_INIT;
        int rc = load_mem("bad.csv", cases[i].csv, cases[i].layout, NULL, &p, &err);
        if (rc != BT_EINPUT || strcmp(err.where, cases[i].where) ||
            !strstr(err.msg, cases[i].in_msg))
            fprintf(stderr, "case %zu: rc %d where \"%s\" msg \"%s\"\n", i, rc, err.where, err.msg);
        assert_int_equal(rc, BT_EINPUT);
        assert_string_equal(err.where, cases[i].where);
        assert_non_null(strstr(err.msg, cases[i].in_msg));
        /* a failed load leaves an empty panel that is safe to free */
        assert_int_equal(p.ndates, 0);
        assert_null(p.dates);
        panel_free(&p);
    }
    data_read_fast_path = 1;
}

static void test_files_errors(void **state) {
    (void)state;
    struct panel p;
    struct bt_err err = BT_ERR_INIT;
    const char *missing = "/nonexistent/btpipe/x.csv";
    assert_int_equal(data_load_files(&missing, 1, DATA_LAYOUT_DAILY, NULL, &p, &err), BT_ENOTFOUND);
    assert_string_equal(err.where, missing);
    /* a folder with no CSV in it */
    const char *empty = BTPIPE_SOURCE_DIR "/engine";
    assert_int_equal(data_load_files(&empty, 1, DATA_LAYOUT_ASHARE, NULL, &p, &err), BT_ENOTFOUND);
    /* a vendor file read with the wrong layout names the missing column */
    const char *path = shared("seed-ashare/600519.csv");
    assert_int_equal(data_load_files(&path, 1, DATA_LAYOUT_YAHOO, NULL, &p, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "missing column \"Date\""));
    assert_non_null(strstr(err.where, "600519.csv:1:1"));
    enum data_layout l;
    assert_int_equal(data_layout_parse("yahoo", &l, &err), 0);
    assert_int_equal(l, DATA_LAYOUT_YAHOO);
    assert_int_equal(data_layout_parse("ashare", &l, &err), 0);
    assert_int_equal(l, DATA_LAYOUT_ASHARE);
    assert_int_equal(data_layout_parse("daily", &l, &err), 0);
    assert_int_equal(l, DATA_LAYOUT_DAILY);
    assert_int_equal(data_layout_parse("csv", &l, &err), BT_EINPUT);
    assert_string_equal(data_layout_name(DATA_LAYOUT_ASHARE), "ashare");
}

static void test_panel_helpers(void **state) {
    (void)state;
    struct panel p;
    assert_int_equal(panel_alloc(&p, 3, 2), 0);
    assert_true(isnan(p.f[PF_VWAP][5]));
    p.dates[0] = 20200102;
    p.dates[1] = 20200106;
    p.dates[2] = 20200107;
    panel_set_sym(&p, 0, "AAA");
    panel_set_sym(&p, 1, "BB");
    panel_set_sym(&p, 1, "BBB"); /* replacing frees the old name */
    assert_int_equal(panel_find_date(&p, 20200106), 1);
    assert_int_equal(panel_find_date(&p, 20200103), -1);
    assert_int_equal(panel_lower_date(&p, 20200103), 1);
    assert_int_equal(panel_lower_date(&p, 20200101), 0);
    assert_int_equal(panel_lower_date(&p, 20200108), 3);
    assert_int_equal(panel_find_sym(&p, "BBB"), 1);
    assert_int_equal(panel_find_sym(&p, "AAA"), 0);
    assert_int_equal(panel_find_sym(&p, "AA"), -1);
    panel_free(&p);
    panel_free(&p); /* twice is harmless */
    assert_int_equal(panel_alloc(&p, -1, 2), BT_ELIMIT);
    assert_int_equal(panel_alloc(&p, 1 << 20, 1 << 20), BT_ELIMIT);
    assert_int_equal(panel_alloc(&p, 0, 0), 0);
    panel_free(&p);
}

/* Writes body to dir/name, gzip when the name ends in .gz. */
static void write_file(const char *dir, const char *name, const char *body) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = strlen(name);
    if (n > 3 && !strcmp(name + n - 3, ".gz")) {
        gzFile z = gzopen(path, "wb");
        assert_non_null(z);
        assert_int_equal(gzwrite(z, body, (unsigned)strlen(body)), (int)strlen(body));
        assert_int_equal(gzclose(z), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(body, 1, strlen(body), f), strlen(body));
        assert_int_equal(fclose(f), 0);
    }
}

/* Loads dir with the loader's flat table (data_load_threads = 1) and with
 * its per-file parts read in place by the grid and the fill (at 1 and 2
 * threads): same status, error, stats and panel. Returns the flat status. */
static int assert_parts_match_flat(const char *dir, const struct data_opts *o, struct panel *out,
                                   struct bt_err *err) {
    struct data_stats sa, sb;
    struct data_opts oa = *o, ob = *o;
    oa.stats = &sa;
    ob.stats = &sb;
    data_load_threads = 1;
    int ra = data_load_files(&dir, 1, DATA_LAYOUT_DAILY, &oa, out, err);
    data_load_threads = 0;
    for (int th = 1; th <= 2; th++) {
        struct panel b;
        struct bt_err eb = BT_ERR_INIT;
        par_set_threads(th);
        int rb = data_load_files(&dir, 1, DATA_LAYOUT_DAILY, &ob, &b, &eb);
        par_set_threads(0);
        assert_int_equal(ra, rb);
        assert_string_equal(err->msg, eb.msg);
        assert_string_equal(err->where, eb.where);
        if (!ra) {
            assert_memory_equal(&sa, &sb, sizeof sa);
            assert_panels_equal(out, &b);
        }
        panel_free(&b);
    }
    return ra;
}

/* Rows left in the per-file tables (not merged into one): empty files first,
 * between and last, one symbol across several files (so the fill's part
 * lookups miss), gzip and plain, duplicates across files, an anchor from a
 * later file, a date range, and the first error in file order. */
static void test_parts_match_flat_table(void **state) {
    (void)state;
    char dir[] = "/tmp/btpipe-data-parts-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *head = "symbol,date,open,high,low,close,volume,adj_factor\n";
    char body[1024];
    write_file(dir, "f00.csv", head);
    snprintf(body, sizeof body,
             "%sS1,20200102,1,2,0.5,1.5,100,1\nS1,20200103,1,2,0.5,1.6,100,1\n"
             "S1,20200106,1,2,0.5,1.7,100,1\nS2,20200102,3,4,2,3.5,10,1\n"
             "S2,20200103,3,4,2,3.25,10,1\n",
             head);
    write_file(dir, "f01.csv", body);
    write_file(dir, "f02.csv", head);
    snprintf(body, sizeof body,
             "%sS1,20200103,1,2,0.5,99,100,1\nS2,20200103,3,4,2,3.25,10,1\n"
             "S3,20200102,5,6,4,5.5,7,1\nS3,20200106,5,6,4,5.75,7,1\n",
             head);
    write_file(dir, "f03.csv.gz", body);
    snprintf(body, sizeof body, "%sS1,20200107,1,2,0.5,1.8,100,2\nS3,20200106,,,,,,\n", head);
    write_file(dir, "f04.csv", body);
    write_file(dir, "f05.csv", head);

    struct panel p;
    struct data_stats st;
    struct data_opts o = {0, 0, &st};
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(assert_parts_match_flat(dir, &o, &p, &err), 0);
    assert_int_equal(p.ndates, 4);
    assert_int_equal(p.nsyms, 3);
    o.stats = &st;
    data_load_threads = 0;
    par_set_threads(2);
    panel_free(&p);
    assert_int_equal(
        data_load_files((const char *const[]){dir}, 1, DATA_LAYOUT_DAILY, &o, &p, &err), 0);
    par_set_threads(0);
    assert_int_equal(st.files, 6);
    assert_int_equal(st.rows, 11);
    assert_int_equal(st.dup_exact, 1);    /* S2 on the 3rd */
    assert_int_equal(st.dup_conflict, 2); /* S1 on the 3rd; S3's no bar on the 6th */
    /* the later file's correction, adjusted by the anchor of the last file */
    assert_true(at(&p, PF_CLOSE, 20200103, "S1") == 99.0 * 1 / 2);
    assert_true(at(&p, PF_CLOSE, 20200107, "S1") == 1.8);
    assert_true(at(&p, PF_CLOSE, 20200103, "S2") == 3.25); /* the exact duplicate */
    assert_true(at(&p, PF_CLOSE, 20200106, "S3") == 5.75); /* the bar beat no bar */
    panel_free(&p);

    /* a range: rows counted from every part */
    struct data_opts r = {20200103, 20200106, &st};
    assert_int_equal(assert_parts_match_flat(dir, &r, &p, &err), 0);
    assert_int_equal(p.ndates, 2);
    panel_free(&p);

    /* two bad files: the first in file order is reported */
    snprintf(body, sizeof body, "%sS9,20200102,1,2,x,1.5,100,1\n", head);
    write_file(dir, "f02.csv", body);
    write_file(dir, "f04.csv", body);
    assert_int_equal(assert_parts_match_flat(dir, &o, &p, &err), BT_EINPUT);
    assert_non_null(strstr(err.where, "f02.csv:2:"));
    const char *names[] = {"f00.csv", "f01.csv", "f02.csv", "f03.csv.gz", "f04.csv", "f05.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);

    /* a part that outgrows its room in a chunk is copied out and owned;
     * the chunk's memory (here the stack) is never freed by the table */
    struct data_row room[2] = {{.date = 20200102, .c = 1.5}, {.date = 20200103, .c = 2.5}};
    struct data_rows t;
    data_rows_init(&t);
    t.rows = room;
    t.cap = t.n = 2;
    t.rows_borrowed = 1;
    data_rows_reserve(&t, 3);
    assert_int_equal(t.rows_borrowed, 0);
    assert_true(t.rows != room && t.cap >= 3);
    assert_int_equal(t.rows[1].date, 20200103);
    assert_true(t.rows[1].c == 2.5);
    data_rows_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ashare_600519),
        cmocka_unit_test(test_ashare_suspended_and_unsorted),
        cmocka_unit_test(test_ashare_folder),
        cmocka_unit_test(test_yahoo_sp500),
        cmocka_unit_test(test_date_range),
        cmocka_unit_test(test_daily_sort_dedupe),
        cmocka_unit_test(test_daily_adjustment),
        cmocka_unit_test(test_yahoo_symbol_from_file_name),
        cmocka_unit_test(test_sources_and_gzip),
        cmocka_unit_test(test_gzip_files_equal_plain),
        cmocka_unit_test(test_gzip_fallbacks),
        cmocka_unit_test(test_folder_threads_match_one),
        cmocka_unit_test(test_folder_first_error_wins),
        cmocka_unit_test(test_fast_path_matches_general_path),
        cmocka_unit_test(test_split_rows_match_general_path),
        cmocka_unit_test(test_split_number_shapes),
        cmocka_unit_test(test_two_threads_match_one),
        cmocka_unit_test(test_threads_merge_grid_fill),
        cmocka_unit_test(test_parts_match_flat_table),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_files_errors),
        cmocka_unit_test(test_panel_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
