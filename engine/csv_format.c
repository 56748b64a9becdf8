/* csv_format.c -- "%.17g" for doubles without printf (contract in csv.h).
 *
 * For x = M * 2^E (M the 53-bit significand), the 17 significant digits are
 * round(x * 10^k) for the k that puts it in [10^16, 10^17). With k in 0..22,
 * M * 10^k fits in 128 bits, so the product is exact and the rounding
 * (half to even, as glibc does in the default rounding mode) is done on
 * the bits shifted out: the digits are exactly printf's. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"

typedef unsigned __int128 u128;

#define E16 10000000000000000ULL  /* 10^16 */
#define E17 100000000000000000ULL /* 10^17 */

/* round(m * 2^e * 10^k) half to even into *q, or -1 when it would not fit
 * the exact 128-bit path. */
static int scaled_round(uint64_t m, int e, int k, uint64_t *q) {
    if (k < 0 || k > 22) return -1;
    /* 10^k from the parser's table (up to 10^16), exact in 128 bits */
    u128 p10 = k <= 16 ? (u128)csv_pow10_u64[k] : (u128)csv_pow10_u64[16] * csv_pow10_u64[k - 16];
    u128 n = (u128)m * p10;
    if (e >= 0) {
        if (e > 10 || (n << e) >> e != n) return -1;
        n <<= e;
        if (n >= (u128)E17 * 10) return -1;
        *q = (uint64_t)n;
        return 0;
    }
    int s = -e;
    if (s >= 127) return -1;
    u128 r = n >> s, rem = n - (r << s), half = (u128)1 << (s - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    if (r >= (u128)E17 * 10) return -1;
    *q = (uint64_t)r;
    return 0;
}

/* The 8 digits of v (< 10^8) into d, two at a time. */
static void digits8(uint32_t v, char *d) {
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    for (int i = 6; i >= 0; i -= 2) {
        memcpy(d + i, pairs + 2 * (v % 100), 2);
        v /= 100;
    }
}

/* The 17 digits of q (10^16 <= q < 10^17) into d: 32-bit halves, since a
 * 64-bit division per digit was most of the formatter's time. */
static void digits17(uint64_t q, char *d) {
    uint32_t hi = (uint32_t)(q / 100000000), lo = (uint32_t)(q % 100000000);
    d[0] = (char)('0' + hi / 100000000);
    digits8(hi % 100000000, d + 1);
    digits8(lo, d + 9);
}

/* %g's layout of digits d (17, first nonzero) with decimal exponent x. */
static int layout_g(char *out, int neg, const char *d, int x) {
    int nd = 17, n = 0;
    while (nd > 1 && d[nd - 1] == '0')
        nd--; /* %g drops trailing zeros */
    if (neg) out[n++] = '-';
    if (x < -4 || x >= 17) {
        out[n++] = d[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, d + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        n += snprintf(out + n, 8, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
        return n;
    }
    if (x < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -x - 1; i++)
            out[n++] = '0';
        memcpy(out + n, d, (size_t)nd);
        n += nd;
    } else {
        memcpy(out + n, d, (size_t)x + 1);
        n += x + 1;
        if (nd > x + 1) {
            out[n++] = '.';
            memcpy(out + n, d + x + 1, (size_t)(nd - x - 1));
            n += nd - x - 1;
        }
    }
    out[n] = '\0';
    return n;
}

int csv_format_double(char *out, double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int neg = (int)(bits >> 63), be = (int)(bits >> 52 & 0x7ff);
    uint64_t m = bits & ((1ULL << 52) - 1);
    /* zero, subnormals, inf and NaN: printf's own (rare) business */
    if (be == 0 || be == 0x7ff) return snprintf(out, CSV_DOUBLE_MAX, "%.17g", x);
    m |= 1ULL << 52;
    int e = be - 1075;
    /* decimal exponent of the first digit: an estimate, corrected below */
    int x10 = (int)floor((e + 52) * 0.30102999566398119521);
    uint64_t q = 0;
    for (int tries = 0; tries < 3; tries++) {
        if (scaled_round(m, e, 16 - x10, &q)) break;
        if (q < E16) {
            x10--;
        } else if (q >= E17) {
            x10++;
        } else {
            char d[17];
            digits17(q, d);
            return layout_g(out, neg, d, x10);
        }
    }
    return snprintf(out, CSV_DOUBLE_MAX, "%.17g", x);
}
