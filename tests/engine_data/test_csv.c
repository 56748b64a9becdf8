/* test_csv -- the tokenizer and the number/date parsers under the data layer.
 * The double parser is checked bit for bit against strtod on every numeric
 * value of the shared data and on a million random decimals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_rng.h"
#include "csv.h"
#include "data_rows.h"

static int tokenize(const char *s, struct csv_field *f, int max, int *nf, struct csv_reader *r) {
    uint32_t bad = 0;
    int st = csv_next(r, f, max, nf, &bad);
    (void)s;
    return st == CSV_EQUOTE ? -(int)bad : st;
}

static void assert_field(const struct csv_field *f, const char *want, uint32_t col) {
    char out[256];
    assert_true(csv_unescape(f, out, sizeof out) >= 0);
    assert_string_equal(out, want);
    assert_int_equal(f->col, col);
}

static void test_tokenizer_basics(void **state) {
    (void)state;
    const char *s = "a,b,c\r\n\n\"x,1\",\"say \"\"hi\"\"\",\r\nlast,\"\"\nq";
    struct csv_reader r;
    struct csv_field f[8];
    int nf;
    csv_init(&r, s, strlen(s));
    assert_int_equal(tokenize(s, f, 8, &nf, &r), CSV_RECORD);
    assert_int_equal(nf, 3);
    assert_int_equal(r.rec_line, 1);
    assert_field(&f[0], "a", 1);
    assert_field(&f[2], "c", 5);
    /* the blank line is skipped; line numbers still count it */
    assert_int_equal(tokenize(s, f, 8, &nf, &r), CSV_RECORD);
    assert_int_equal(r.rec_line, 3);
    assert_int_equal(nf, 3);
    assert_field(&f[0], "x,1", 1);
    assert_true(f[0].quoted);
    assert_field(&f[1], "say \"hi\"", 7);
    assert_true(f[1].escaped);
    assert_field(&f[2], "", 20); /* trailing comma: an empty last field */
    assert_int_equal(tokenize(s, f, 8, &nf, &r), CSV_RECORD);
    assert_int_equal(r.rec_line, 4);
    assert_int_equal(nf, 2);
    assert_field(&f[1], "", 6);
    /* no newline at the end of the input */
    assert_int_equal(tokenize(s, f, 8, &nf, &r), CSV_RECORD);
    assert_int_equal(nf, 1);
    assert_field(&f[0], "q", 1);
    assert_int_equal(tokenize(s, f, 8, &nf, &r), CSV_END);
}

static void test_tokenizer_more_fields_than_max(void **state) {
    (void)state;
    const char *s = "1,2,3,4,5\n";
    struct csv_reader r;
    struct csv_field f[2];
    int nf;
    csv_init(&r, s, strlen(s));
    assert_int_equal(tokenize(s, f, 2, &nf, &r), CSV_RECORD);
    assert_int_equal(nf, 5);
    assert_field(&f[1], "2", 3);
}

static void test_tokenizer_quote_errors(void **state) {
    (void)state;
    struct csv_reader r;
    struct csv_field f[4];
    int nf;
    const char *s1 = "a,b\nx,\"open\nmore";
    csv_init(&r, s1, strlen(s1));
    assert_int_equal(tokenize(s1, f, 4, &nf, &r), CSV_RECORD);
    assert_int_equal(tokenize(s1, f, 4, &nf, &r), -3); /* the opening quote, line 2 col 3 */
    assert_int_equal(r.line, 2);
    const char *s2 = "\"ab\"c,d\n";
    csv_init(&r, s2, strlen(s2));
    assert_int_equal(tokenize(s2, f, 4, &nf, &r), -5); /* the stray c after the quote */
    assert_int_equal(r.line, 1);
    /* a quoted field may span lines */
    const char *s3 = "\"a\nb\",c\nd\n";
    csv_init(&r, s3, strlen(s3));
    assert_int_equal(tokenize(s3, f, 4, &nf, &r), CSV_RECORD);
    assert_int_equal(nf, 2);
    assert_field(&f[0], "a\nb", 1);
    assert_int_equal(tokenize(s3, f, 4, &nf, &r), CSV_RECORD);
    assert_int_equal(r.rec_line, 3);
}

/* Compares csv_parse_double with strtod, bit for bit; returns mismatches. */
static int check_double(const char *s, size_t n) {
    char tmp[256];
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    double want = strtod(tmp, &end);
    if (end != tmp + n || n == 0) return 0; /* not a number strtod takes whole */
    double got;
    if (csv_parse_double(s, n, &got)) {
        fprintf(stderr, "refused \"%s\"\n", tmp);
        return 1;
    }
    if (memcmp(&got, &want, sizeof got)) {
        fprintf(stderr, "\"%s\": got %.17g want %.17g\n", tmp, got, want);
        return 1;
    }
    return 0;
}

static void test_double_edge_cases(void **state) {
    (void)state;
    static const char *ok[] = {"0",
                               "-0",
                               "+0",
                               "0.0",
                               "1",
                               "-1",
                               "1.",
                               ".5",
                               "17.53",
                               "7.7102839E7",
                               "459965.0000000001",
                               "112.62999725341797",
                               "49650800.0",
                               "1e22",
                               "1e23",
                               "-1e-22",
                               "9007199254740992",
                               "9007199254740993",
                               "9007199254740995",
                               "18446744073709551615",
                               "18446744073709551616",
                               "123456789012345678901234567890",
                               "0.000000000000000000000000000001234",
                               "2.2250738585072014e-308",
                               "4.9e-324",
                               "1.7976931348623157e308",
                               "1e308",
                               "1e-300",
                               "0.1",
                               "0.2",
                               "0.3",
                               "2.675",
                               "1.0000000000000002",
                               "0.99999999999999989",
                               "1e-100",
                               "1e100",
                               "1e-101",
                               "1e101",
                               "5e-324",
                               "1.00000000000000000000000000001",
                               "000000000000000000000000000123.5",
                               "3.141592653589793238462643383279",
                               "7.2117730000",
                               "1E+3",
                               "1e-0",
                               "2.5E-3",
                               "1797.6931348623157e305"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(check_double(ok[i], strlen(ok[i])), 0);
    static const char *bad[] = {"",    "-",   "+",    ".",   "1.2.3", "1e",    "1e+", " 1",   "1 ",
                                "nan", "inf", "0x10", "1,0", "--1",   "1e1.5", "e5",  "\"1\""};
    double v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(csv_parse_double(bad[i], strlen(bad[i]), &v), -1);
    /* the span is all that is read: no NUL needed, nothing past n */
    assert_int_equal(csv_parse_double("12345", 2, &v), 0);
    assert_true(v == 12.0);
}

static void test_double_random_vs_strtod(void **state) {
    (void)state;
    int bad = 0;
    char s[96];
    for (int i = 0; i < 1000000 && bad < 10; i++) {
        int nd = 1 + (int)(rng() % 20);
        int dot = (int)(rng() % (nd + 1));
        size_t k = 0;
        if (rng() & 1) s[k++] = '-';
        for (int j = 0; j < nd; j++) {
            if (j == dot) s[k++] = '.';
            s[k++] = (char)('0' + rng() % 10);
        }
        if (rng() % 4 == 0) k += (size_t)sprintf(s + k, "e%d", (int)(rng() % 80) - 40);
        bad += check_double(s, k);
    }
    /* and the shortest representations of random doubles, as printf makes them */
    for (int i = 0; i < 300000 && bad < 10; i++) {
        uint64_t bits = rng() & 0x7FFFFFFFFFFFFFFFULL;
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d)) continue;
        int n = snprintf(s, sizeof s, "%.*g", 15 + (int)(rng() % 3), d);
        bad += check_double(s, (size_t)n);
        double p = (double)(rng() % 100000000) / 100.0; /* prices like 1234.56 */
        n = snprintf(s, sizeof s, "%.17g", p);
        bad += check_double(s, (size_t)n);
    }
    assert_int_equal(bad, 0);
}

/* csv_frac_exact (the split rows' Eisel-Lemire, man * 10^-fd) gives strtod's
 * bits whenever it decides, and leaves undecided only what it says it
 * does: random mantissas of 1 to 19 digits with 1 to 19 fraction digits,
 * the edges of both ranges, and values that round up to a new power of two
 * or fall exactly halfway between two doubles. */
static void check_frac(uint64_t man, int fd, int *bad, int *undecided) {
    char s[64];
    int n = snprintf(s, sizeof s, "%llue-%d", (unsigned long long)man, fd);
    double want = strtod(s, NULL), got;
    if (csv_frac_exact(man, fd, &got)) {
        ++*undecided;
        return;
    }
    if (memcmp(&want, &got, sizeof got)) {
        if (*bad < 5)
            fprintf(stderr, "csv_frac_exact %.*s: %.17g, strtod %.17g\n", n, s, got, want);
        ++*bad;
    }
}

static void test_frac_exact_vs_strtod(void **state) {
    (void)state;
    int bad = 0, undecided = 0;
    static const uint64_t edge[] = {1,
                                    9,
                                    10,
                                    5,
                                    9007199254740991ULL,
                                    9007199254740992ULL,
                                    9007199254740993ULL,
                                    18014398509481983ULL,
                                    6655098276430136ULL * 10 + 5, /* halfway at fd 1 */
                                    9999999999999999999ULL,
                                    1000000000000000000ULL,
                                    11262999725341797ULL};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        for (int fd = 1; fd <= 19; fd++)
            check_frac(edge[i], fd, &bad, &undecided);
    for (int i = 0; i < 1000000 && bad < 5; i++) {
        int nd = 1 + (int)(rng() % 19);
        uint64_t man = 0;
        for (int j = 0; j < nd; j++)
            man = man * 10 + rng() % 10;
        if (!man) man = 1;
        check_frac(man, 1 + (int)(rng() % 19), &bad, &undecided);
    }
    assert_int_equal(bad, 0);
    /* 2 in 512 are left to the full path: far fewer than one in a hundred */
    assert_true(undecided < 20000);
}

/* csv_parse_span (a field already split at its commas) must accept exactly
 * what csv_parse_double accepts and give the same bits: random fields of
 * every length around the SSE2 shape's limits (1-7 integer digits, 15
 * fraction digits, 19 digits in all), some with a stray byte, some too
 * near the buffer's start for its 16-byte load. */
static void test_span_vs_parse_double(void **state) {
    (void)state;
    static const char odd[] = "0123456789.e-+ ,x\"";
    char buf[96];
    int bad = 0;
    for (int i = 0; i < 2000000 && bad < 10; i++) {
        memset(buf, ',', sizeof buf);
        size_t off = (size_t)(rng() % 24), len = 1 + (size_t)(rng() % 26);
        char *s = buf + off;
        size_t dot = (size_t)(rng() % (len + 1));
        for (size_t j = 0; j < len; j++)
            s[j] = (char)('0' + rng() % 10);
        if (dot < len && rng() % 4) s[dot] = '.';
        if (rng() % 8 == 0) s[rng() % len] = odd[rng() % (sizeof odd - 1)];
        double a = 0, b = 0;
        int ok_span = csv_parse_span(buf, s, len, buf + sizeof buf, &a) == s + len;
        int ok_ref = csv_parse_double(s, len, &b) == 0;
        if (ok_span != ok_ref || (ok_span && memcmp(&a, &b, sizeof a))) {
            print_error("span \"%.*s\": %d %.17g vs %d %.17g\n", (int)len, s, ok_span, a, ok_ref,
                        b);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Every numeric field of a plain or gzip CSV file, checked against strtod. */
static size_t check_file(const char *path, int *bad) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf raw = BUF_INIT, plain = BUF_INIT;
    char chunk[65536];
    size_t got, checked = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&raw, chunk, got);
    fclose(f);
    const struct buf *b = &raw;
    if (data_is_gzip(path, raw.p, raw.len)) {
        struct bt_err err = BT_ERR_INIT;
        assert_int_equal(data_gunzip(path, raw.p, raw.len, &plain, &err), 0);
        b = &plain;
    }
    struct csv_reader r;
    struct csv_field fl[32];
    int nf;
    uint32_t bc;
    csv_init(&r, b->p, b->len);
    while (csv_next(&r, fl, 32, &nf, &bc) == CSV_RECORD)
        for (int i = 0; i < nf && i < 32; i++) {
            if (fl[i].len == 0 || fl[i].p[0] == 't' || fl[i].p[0] == 'f') continue;
            double v;
            int32_t dt;
            if (csv_parse_date(fl[i].p, fl[i].len, &dt) == 0) continue;
            if (csv_parse_double(fl[i].p, fl[i].len, &v) == 0) checked++;
            *bad += check_double(fl[i].p, fl[i].len);
        }
    buf_free(&raw);
    buf_free(&plain);
    return checked;
}

static void test_double_shared_data_vs_strtod(void **state) {
    (void)state;
    static const char *files[] = {"600419.SH.csv", "600446.SH.csv", "600519.csv",
                                  "600558.SH.csv", "600559.csv",    "600560.csv"};
    char path[1024];
    int bad = 0;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/data/seed-ashare/%s", BTPIPE_SHARED_DIR, files[i]);
        checked += check_file(path, &bad);
    }
    char **list;
    size_t n;
    struct bt_err err = BT_ERR_INIT;
    snprintf(path, sizeof path, "%s/data/sp500-5y", BTPIPE_SHARED_DIR);
    const char *paths[] = {path};
    assert_int_equal(data_list_files(paths, 1, DATA_LAYOUT_YAHOO, &list, &n, &err), 0);
    assert_int_equal(n, 482);
    for (size_t i = 0; i < n; i++)
        checked += check_file(list[i], &bad);
    data_free_list(list, n);
    assert_int_equal(bad, 0);
    /* ashare: 15883 rows x 8 numbers; sp500: 592358 rows x 6 numbers (a
     * value or two that also reads as a YYYYMMDD date is skipped) */
    assert_true(checked >= 15883 * 8 + 592358 * 6 - 10);
}

static void test_dates(void **state) {
    (void)state;
    int32_t d;
    assert_int_equal(csv_parse_date("2021-07-05", 10, &d), 0);
    assert_int_equal(d, 20210705);
    assert_int_equal(csv_parse_date("20210705", 8, &d), 0);
    assert_int_equal(d, 20210705);
    assert_int_equal(csv_parse_date("2020-02-29", 10, &d), 0);
    assert_int_equal(csv_parse_date("2000-02-29", 10, &d), 0);
    static const char *bad[] = {"2019-02-29", "1900-02-29", "2021-13-01", "2021-00-10",
                                "2021-04-31", "2021-7-5",   "2021/07/05", "1799-12-31",
                                "3000-01-01", "",           "2021-07-0x", "202107051",
                                "20210732"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(csv_parse_date(bad[i], strlen(bad[i]), &d), -1);
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(data_parse_date("2019-01-02", &d, &err), 0);
    assert_int_equal(d, 20190102);
    assert_int_equal(data_parse_date("2019-01-32", &d, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "2019-01-32"));
}

/* x formatted both ways must be the same text. */
static void assert_format_like_printf(double x) {
    char mine[CSV_DOUBLE_MAX], want[64];
    int n = csv_format_double(mine, x);
    snprintf(want, sizeof want, "%.17g", x);
    if (strcmp(mine, want) != 0) fail_msg("%a: csv_format_double %s, printf %s", x, mine, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_format_double(void **st) {
    (void)st;
    /* the ends of the exact path, both printf layouts, the fallbacks, and
     * 17th-digit ties (x.25 and x.75 at 16 integer digits: half to even) */
    const double fixed[] = {0.0,
                            -0.0,
                            1.0,
                            -1.5,
                            0.1,
                            100000.0,
                            123456.789,
                            1e-4,
                            1e-5,
                            9.9999999999999995e-6,
                            1e-6,
                            1e-7,
                            1e16,
                            1e17,
                            99999999999999984.0,
                            123456789012345678.0,
                            4503599627370495.25,
                            4503599627370494.75,
                            4503599627370493.5,
                            9007199254740993.0,
                            1.7976931348623157e308,
                            2.2250738585072014e-308,
                            4.9e-324,
                            INFINITY,
                            -INFINITY,
                            NAN};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_format_like_printf(fixed[i]);
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = rng();
        double x;
        switch (i % 4) {
        case 0: memcpy(&x, &r, sizeof x); break; /* any bit pattern */
        case 1: x = (double)(r >> 11) / 9007199254740992.0 * pow(10, (int)(rng() % 30) - 12); break;
        case 2: x = (double)(int64_t)(r % 2000000001) / 100.0 - 1e7; break; /* prices */
        default: x = ldexp((double)(r >> 10), -(int)(rng() % 12)); break;   /* ties */
        }
        assert_format_like_printf(x);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_tokenizer_basics),
        cmocka_unit_test(test_tokenizer_more_fields_than_max),
        cmocka_unit_test(test_tokenizer_quote_errors),
        cmocka_unit_test(test_double_edge_cases),
        cmocka_unit_test(test_double_random_vs_strtod),
        cmocka_unit_test(test_double_shared_data_vs_strtod),
        cmocka_unit_test(test_span_vs_parse_double),
        cmocka_unit_test(test_frac_exact_vs_strtod),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
