/* test_import -- per-symbol histories -> daily partitions -> the same panel,
 * bit for bit; through data_import and through the btctl binary. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"

static char *shared(const char *rel) {
    static char path[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(path[k], sizeof path[k], "%s/data/%s", BTPIPE_SHARED_DIR, rel);
    return path[k];
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir) {
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_tmp(char *out, size_t cap) {
    snprintf(out, cap, "/tmp/btpipe-import-XXXXXX");
    assert_non_null(mkdtemp(out));
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

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The files of the round trip: the three with conflicting duplicates, one
 * that stops trading (AET) and two ordinary ones. */
static const char *yahoo_files[] = {"sp500-5y/AAPL_data.csv.gz", "sp500-5y/AET_data.csv.gz",
                                    "sp500-5y/CBS_data.csv.gz",  "sp500-5y/MSFT_data.csv.gz",
                                    "sp500-5y/STI_data.csv.gz",  "sp500-5y/VIAB_data.csv.gz"};
#define NYAHOO (sizeof yahoo_files / sizeof yahoo_files[0])

static void test_yahoo_round_trip(void **state) {
    (void)state;
    const char *paths[NYAHOO];
    for (size_t i = 0; i < NYAHOO; i++)
        paths[i] = shared(yahoo_files[i]);
    char dir[64];
    make_tmp(dir, sizeof dir);
    struct data_stats st;
    size_t written = 0;
    struct data_import_opts o = {0, 0, 1, NULL, NULL, &st, &written};
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_import(paths, NYAHOO, DATA_LAYOUT_YAHOO, &o, dir, &err), 0);
    assert_int_equal(written, 1259);
    assert_int_equal(st.dup_conflict, 3);
    char p[256];
    snprintf(p, sizeof p, "%s/2015/2015-01-12.csv.gz", dir);
    assert_true(file_exists(p));
    snprintf(p, sizeof p, "%s/2020/2020-01-10.csv.gz", dir);
    assert_true(file_exists(p));

    struct panel vendor, daily;
    assert_int_equal(data_load_files(paths, NYAHOO, DATA_LAYOUT_YAHOO, NULL, &vendor, &err), 0);
    const char *d = dir;
    assert_int_equal(data_load_files(&d, 1, DATA_LAYOUT_DAILY, NULL, &daily, &err), 0);
    assert_int_equal(vendor.nsyms, 6);
    assert_panels_equal(&vendor, &daily);
    panel_free(&daily);

    panel_free(&vendor);
    /* a date range on the daily folder gives the vendor files' range: AET,
     * gone in 2018, drops out of the symbols */
    struct data_opts r = {20190101, 20191231, NULL};
    assert_int_equal(data_load_files(&d, 1, DATA_LAYOUT_DAILY, &r, &daily, &err), 0);
    assert_int_equal(data_load_files(paths, NYAHOO, DATA_LAYOUT_YAHOO, &r, &vendor, &err), 0);
    assert_int_equal(daily.dates[0], 20190102);
    assert_int_equal(daily.nsyms, 5);
    assert_panels_equal(&vendor, &daily);
    panel_free(&daily);
    panel_free(&vendor);
    rm_rf(dir);
}

static void test_ashare_round_trip_plain(void **state) {
    (void)state;
    const char *src = shared("seed-ashare");
    char dir[64];
    make_tmp(dir, sizeof dir);
    struct data_import_opts o = {0};
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_import(&src, 1, DATA_LAYOUT_ASHARE, &o, dir, &err), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/2002/2002-04-22.csv", dir);
    assert_true(file_exists(p));
    /* the suspended day keeps its row, with empty prices and its factor */
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    assert_non_null(strstr(text, "symbol,date,open,high,low,close,volume,adj_factor\n"));
    assert_non_null(strstr(text, "\n600419.SH,2002-04-22,,,,,,1\n"));
    struct panel vendor, daily;
    assert_int_equal(data_load_files(&src, 1, DATA_LAYOUT_ASHARE, NULL, &vendor, &err), 0);
    const char *d = dir;
    assert_int_equal(data_load_files(&d, 1, DATA_LAYOUT_DAILY, NULL, &daily, &err), 0);
    assert_panels_equal(&vendor, &daily);
    panel_free(&daily);
    panel_free(&vendor);
    rm_rf(dir);
}

static void test_import_range_and_errors(void **state) {
    (void)state;
    const char *src = shared("seed-ashare/600519.csv");
    char dir[64];
    make_tmp(dir, sizeof dir);
    size_t written = 0;
    struct data_import_opts o = {20210701, 20210705, 0, NULL, NULL, NULL, &written};
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_import(&src, 1, DATA_LAYOUT_ASHARE, &o, dir, &err), 0);
    assert_int_equal(written, 3); /* 1, 2 and 5 July 2021 */
    char p[256];
    snprintf(p, sizeof p, "%s/2021/2021-07-02.csv", dir);
    assert_true(file_exists(p));
    snprintf(p, sizeof p, "%s/2021/2021-06-30.csv", dir);
    assert_false(file_exists(p));
    /* bad input stops the import with the reader's position */
    const char *wrong = shared("sp500-5y/AAPL_data.csv.gz");
    assert_int_equal(data_import(&wrong, 1, DATA_LAYOUT_ASHARE, &o, dir, &err), BT_EINPUT);
    assert_non_null(strstr(err.where, "AAPL_data.csv.gz:1:1"));
    rm_rf(dir);
}

#ifdef BTCTL_PATH
static void test_btctl_import(void **state) {
    (void)state;
    char dir[64], cmd[4096];
    make_tmp(dir, sizeof dir);
    int k = snprintf(cmd, sizeof cmd, "%s data import --layout yahoo --out %s --progress",
                     BTCTL_PATH, dir);
    const char *paths[3];
    for (size_t i = 0; i < 3; i++) {
        paths[i] = shared(yahoo_files[i]);
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, " %s", paths[i]);
    }
    snprintf(cmd + k, sizeof cmd - (size_t)k, " >%s.out 2>%s.err", dir, dir);
    assert_int_equal(system(cmd), 0);
    struct panel vendor, daily;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_load_files(paths, 3, DATA_LAYOUT_YAHOO, NULL, &vendor, &err), 0);
    const char *d = dir;
    assert_int_equal(data_load_files(&d, 1, DATA_LAYOUT_DAILY, NULL, &daily, &err), 0);
    assert_panels_equal(&vendor, &daily);
    panel_free(&daily);
    panel_free(&vendor);
    /* the progress bar went to stderr, the summary to stdout */
    char p[128], text[8192];
    snprintf(p, sizeof p, "%s.err", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    remove(p);
    assert_non_null(strstr(text, "1259/1259 dates"));
    snprintf(p, sizeof p, "%s.out", dir);
    f = fopen(p, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    remove(p);
    assert_non_null(strstr(text, "into 1259 daily partitions"));
    /* usage errors and bad input exit 2 */
    snprintf(cmd, sizeof cmd, "%s data import --layout nope --out %s x.csv 2>/dev/null", BTCTL_PATH,
             dir);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof cmd, "%s data import --layout yahoo --out %s %s 2>/dev/null", BTCTL_PATH,
             dir, shared("seed-ashare/600519.csv"));
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    rm_rf(dir);
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yahoo_round_trip),
        cmocka_unit_test(test_ashare_round_trip_plain),
        cmocka_unit_test(test_import_range_and_errors),
#ifdef BTCTL_PATH
        cmocka_unit_test(test_btctl_import),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
