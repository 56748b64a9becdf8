/* csv.c -- zero-copy CSV tokenizer, exact fast double parser, date parser. */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Bytes that end an unquoted field; a table keeps the hot loop branch-light. */
static const uint8_t csv_stop[256] = {[','] = 1, ['\n'] = 1, ['\r'] = 1};

void csv_init(struct csv_reader *r, const void *buf, size_t len) {
    r->p = buf;
    r->end = r->p + len;
    r->line_start = r->p;
    r->line = 1;
    r->rec_line = 1;
}

/* Consumes one line ending at p (\n, \r\n or \r) and moves to the next line. */
static const char *eat_eol(struct csv_reader *r, const char *p) {
    if (*p == '\r' && p + 1 < r->end && p[1] == '\n') p++;
    p++;
    r->line++;
    r->line_start = p;
    return p;
}

/* SWAR: a byte of x is zero -> its top bit in the result (lowest one exact). */
static inline uint64_t has_zero_byte(uint64_t x) {
    return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

/* End of an unquoted field starting at p: the first , \n or \r, 8 bytes a
 * step while 8 bytes remain (fields are short, but rows are many). */
static inline const char *scan_field(const char *p, const char *end) {
    const uint64_t comma = 0x2C2C2C2C2C2C2C2CULL, lf = 0x0A0A0A0A0A0A0A0AULL,
                   cr = 0x0D0D0D0D0D0D0D0DULL;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t m = has_zero_byte(v ^ comma) | has_zero_byte(v ^ lf) | has_zero_byte(v ^ cr);
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
    while (p < end && !csv_stop[(uint8_t)*p])
        p++;
    return p;
}

static uint32_t clamp32(size_t v) {
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int csv_next(struct csv_reader *r, struct csv_field *f, int max, int *nfields, uint32_t *bad_col) {
    const char *p = r->p, *end = r->end;
    while (p < end && (*p == '\n' || *p == '\r'))
        p = eat_eol(r, p);
    if (p >= end) {
        r->p = p;
        *nfields = 0;
        return CSV_END;
    }
    r->rec_line = r->line;
    int n = 0;
    for (;;) {
        const char *start;
        size_t len;
        uint8_t quoted = 0, escaped = 0;
        uint32_t col = clamp32((size_t)(p - r->line_start) + 1);
        if (p < end && *p == '"') {
            size_t open_line = r->line;
            const char *open_ls = r->line_start;
            quoted = 1;
            start = ++p;
            for (;;) {
                if (p >= end) {
                    /* report the opening quote: the end of input says nothing */
                    r->line = open_line;
                    r->line_start = open_ls;
                    *bad_col = col;
                    return CSV_EQUOTE;
                }
                char c = *p;
                if (c == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        escaped = 1;
                        p += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\n' || c == '\r') {
                    const char *q = eat_eol(r, p);
                    p = q;
                    continue;
                }
                p++;
            }
            len = (size_t)(p - start);
            p++; /* closing quote */
            if (p < end && !csv_stop[(uint8_t)*p]) {
                *bad_col = clamp32((size_t)(p - r->line_start) + 1);
                return CSV_EQUOTE;
            }
        } else {
            start = p;
            p = scan_field(p, end);
            len = (size_t)(p - start);
        }
        if (n < max) {
            f[n].p = start;
            f[n].len = clamp32(len);
            f[n].col = col;
            f[n].quoted = quoted;
            f[n].escaped = escaped;
        }
        if (n < 1000000) n++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end) p = eat_eol(r, p);
        break;
    }
    r->p = p;
    *nfields = n;
    return CSV_RECORD;
}

int csv_unescape(const struct csv_field *f, char *out, size_t cap) {
    size_t o = 0;
    for (uint32_t i = 0; i < f->len; i++) {
        char c = f->p[i];
        if (f->escaped && c == '"' && i + 1 < f->len && f->p[i + 1] == '"') i++;
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    if (cap == 0) return -1;
    out[o] = 0;
    return (int)o;
}

/* Exact powers of ten representable in a double (Clinger's fast path). */
const double csv_exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The rare inputs the fast paths cannot decide: strtod on a bounded copy.
 * Never inlined: its buffer would make every caller's frame big. */
__attribute__((noinline)) static int parse_double_slow(const char *s, size_t n, double *out) {
    char tmp[128];
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *endp;
    *out = strtod(tmp, &endp);
    return endp == tmp + n ? 0 : -1;
}

/* Appends the run of digits at p (never past e) to *man, returning its end.
 * Eight bytes at a time: the first non-digit byte is found by a SWAR mask,
 * and a short run (a price's "49" before the dot, the 7-digit tail of a
 * 17-digit fraction) is parsed in the same step, its digits shifted to the
 * top of the word and '0's put below them; digit by digit only in the last
 * 7 bytes of the buffer. */
static inline const char *digit_run(const char *p, const char *e, uint64_t *man) {
    static const uint64_t pow10_u64[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    while (e - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t a = v ^ 0x3030303030303030ULL; /* a digit byte becomes 0..9 */
        /* a carry out of a non-digit byte can only mark bytes after it */
        uint64_t nondigit = (a | (a + 0x0606060606060606ULL)) & 0xF0F0F0F0F0F0F0F0ULL;
        if (!nondigit) {
            *man = *man * 100000000ULL + csv_eight_digits(v);
            p += 8;
            continue;
        }
        int k = __builtin_ctzll(nondigit) >> 3;
        if (k) {
            uint64_t w = (v << (64 - 8 * k)) | (0x3030303030303030ULL >> (8 * k));
            *man = *man * pow10_u64[k] + csv_eight_digits(w);
            p += k;
        }
        return p;
    }
    for (; p < e && (unsigned)(*p - '0') < 10; p++)
        *man = *man * 10 + (uint64_t)(*p - '0');
    return p;
}

const uint64_t csv_pow10_u64[17] = {1,
                                    10,
                                    100,
                                    1000,
                                    10000,
                                    100000,
                                    1000000,
                                    10000000,
                                    100000000,
                                    1000000000,
                                    10000000000ULL,
                                    100000000000ULL,
                                    1000000000000ULL,
                                    10000000000000ULL,
                                    100000000000000ULL,
                                    1000000000000000ULL,
                                    10000000000000000ULL};

#ifdef __SSE2__
const uint8_t csv_tail_keep[32] = {0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
                                   0,   0,   0,   0,   0,   255, 255, 255, 255, 255, 255,
                                   255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
#endif

const char *csv_double_finish(uint64_t man, int exp10, int neg, const char *s, size_t n,
                              double *out) {
    if (man <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)man;
        d = exp10 < 0 ? d / csv_exact_pow10[-exp10] : d * csv_exact_pow10[exp10];
        *out = neg ? -d : d;
        return s + n;
    }
    return parse_double_slow(s, n, out) ? NULL : s + n;
}

/* Every other shape: digit runs of any length, an exponent, more than 19
 * digits. p is past the sign. Out of line so that the common shape's path
 * stays small. */
__attribute__((noinline)) static const char *parse_general(const char *s, const char *p,
                                                           const char *e, bool neg, double *out) {
    /* Accumulate every digit without overflow checks (unsigned wraps); the
     * digit count decides afterwards whether man can be trusted. */
    uint64_t man = 0;
    int exp10 = 0;
    const char *int_start = p;
    p = digit_run(p, e, &man);
    size_t ndigits = (size_t)(p - int_start);
    if (p < e && *p == '.') {
        const char *frac = ++p;
        p = digit_run(p, e, &man);
        exp10 = -(int)(p - frac);
        ndigits += (size_t)(p - frac);
    }
    if (ndigits == 0) return NULL;
    const char *mant_end = p;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
        if (p >= e || (unsigned)(*p - '0') >= 10) return NULL;
        int ev = 0;
        for (; p < e && (unsigned)(*p - '0') < 10; p++)
            if (ev < 100000) ev = ev * 10 + (*p - '0');
        exp10 += eneg ? -ev : ev;
    }
    size_t n = (size_t)(p - s);
    if (ndigits > 19) {
        /* leading zeros do not count; more than 19 significant digits do */
        for (const char *q = int_start; q < mant_end && (*q == '0' || *q == '.'); q++)
            ndigits -= *q == '0';
        if (ndigits > 19) return parse_double_slow(s, n, out) ? NULL : p;
    }
    return csv_double_exact(man, exp10, neg, s, n, out);
}

const char *csv_parse_double_prefix(const char *s, const char *e, double *out) {
    return csv_parse_number(s, e, out);
}

const char *csv_parse_double_general(const char *s, const char *e, double *out) {
    const char *p = s;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    return parse_general(s, p, e, neg, out);
}

int csv_parse_double(const char *s, size_t n, double *out) {
    return csv_parse_double_prefix(s, s + n, out) == s + n ? 0 : -1;
}

/* Two ASCII digits as a number, or -1. */
static int two_digits(const char *s) {
    unsigned a = (unsigned)(s[0] - '0'), b = (unsigned)(s[1] - '0');
    return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

int csv_parse_date(const char *s, size_t n, int32_t *out) {
    int y1, y2, m, d;
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        y1 = two_digits(s);
        y2 = two_digits(s + 2);
        m = two_digits(s + 5);
        d = two_digits(s + 8);
    } else if (n == 8) {
        y1 = two_digits(s);
        y2 = two_digits(s + 2);
        m = two_digits(s + 4);
        d = two_digits(s + 6);
    } else {
        return -1;
    }
    if (y1 < 0 || y2 < 0 || m < 1 || m > 12 || d < 1) return -1;
    int y = y1 * 100 + y2;
    if (y < 1800 || y > 2999) return -1;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return -1;
    *out = (int32_t)(y * 10000 + m * 100 + d);
    return 0;
}
