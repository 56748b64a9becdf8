/* csv.h -- a zero-copy CSV tokenizer and the fast number/date parsers the
 * data loaders need.
 *
 * The tokenizer never allocates: a field is a span into the caller's buffer
 * (quotes stripped). RFC 4180 quoting is understood ("" inside a quoted field
 * is one quote; a quoted field may hold commas and newlines). A record ends
 * at \n, \r\n or \r; blank lines are skipped. Positions are 1-based line and
 * byte column of the field's first byte, for "file:line:column" errors. */
#ifndef BTPIPE_CSV_H
#define BTPIPE_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct csv_field {
    const char *p; /* first byte of the value (after an opening quote) */
    uint32_t len;  /* bytes in the value (closing quote excluded) */
    uint32_t col;  /* 1-based byte column of the field in its line */
    uint8_t quoted;
    uint8_t escaped; /* holds "" pairs: use csv_unescape before comparing */
};

struct csv_reader {
    const char *p;          /* next byte to read */
    const char *end;        /* one past the last byte */
    const char *line_start; /* first byte of the current line */
    size_t line;            /* current line number, 1-based */
    size_t rec_line;        /* line on which the last record started */
};

enum csv_status {
    CSV_END = 0,     /* no more records */
    CSV_RECORD = 1,  /* a record was read */
    CSV_EQUOTE = -1, /* bad quoting: r->line and *bad_col say where */
};

void csv_init(struct csv_reader *r, const void *buf, size_t len);

/* Reads the next record into f[0..max). *nfields receives the number of
 * fields the record really has, which can exceed max (the rest are not
 * stored) so that the caller can report "too many fields". On CSV_EQUOTE,
 * *bad_col is the 1-based column of the offending byte on line r->line.
 * Never reads past r->end. */
int csv_next(struct csv_reader *r, struct csv_field *f, int max, int *nfields, uint32_t *bad_col);

/* Copies a field's value into out (size cap, NUL-terminated, "" -> ").
 * Returns the length, or -1 when it does not fit. */
int csv_unescape(const struct csv_field *f, char *out, size_t cap);

/* Parses a decimal number: [+-]digits[.digits][(e|E)[+-]digits], at least one
 * digit in the mantissa, nothing else (no spaces, no inf/nan, no hex). The
 * result is the correctly rounded double (as strtod gives): integers exactly,
 * then Eisel-Lemire, then Clinger's exact path, then strtod for the rare
 * rest (more than 19 significant digits, extreme exponents, halfway cases).
 * Every path is exact, so which one decides never changes a bit. Returns 0
 * or -1. */
int csv_parse_double(const char *s, size_t n, double *out);
/* The same grammar, reading the longest number at s (never past e): returns
 * the byte after it, or NULL when s does not start with a valid number. For
 * readers that parse in place without finding the field's end first. */
const char *csv_parse_double_prefix(const char *s, const char *e, double *out);

/* The row loops call the number parser six times a row: a real call per
 * number (what GCC chose on its own) serialises them, inlined they overlap. */
#if defined(__GNUC__)
#define CSV_INLINE __attribute__((always_inline))
#else
#define CSV_INLINE
#endif

/* The Eisel-Lemire table (csv_pow10.c). */
#define CSV_POW10_MIN (-100)
#define CSV_POW10_MAX 100
extern const uint64_t csv_pow10_128[CSV_POW10_MAX - CSV_POW10_MIN + 1][2];

/* The number parser's pieces, inline so that a reader's row loop parses the
 * common shape without a call. csv_parse_number is csv_parse_double_prefix. */
extern const double csv_exact_pow10[23];
extern const uint64_t csv_pow10_u64[17];
/* Clinger's exact path, then strtod on s..s+n: man * 10^exp10 correctly
 * rounded, for what Eisel-Lemire cannot decide. Returns s + n or NULL. */
const char *csv_double_finish(uint64_t man, int exp10, int neg, const char *s, size_t n,
                              double *out);
/* The general grammar (any digit count, exponents), sign included. */
const char *csv_parse_double_general(const char *s, const char *e, double *out);

/* The value of 8 ASCII digits (little-endian load), as fast_float computes it. */
static inline CSV_INLINE uint64_t csv_eight_digits(uint64_t v) {
    v -= 0x3030303030303030ULL;
    v = (v * 10) + (v >> 8);
    v = (((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
         (((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >>
        32;
    return v & 0xFFFFFFFFULL;
}

/* Non-digit bytes of a little-endian word -> 0xF0 in their byte; the lowest
 * marked byte is exact (a carry out of a non-digit byte only marks bytes
 * after it). */
static inline CSV_INLINE uint64_t csv_nondigit_mask(uint64_t v) {
    uint64_t a = v ^ 0x3030303030303030ULL;
    return (a | (a + 0x0606060606060606ULL)) & 0xF0F0F0F0F0F0F0F0ULL;
}

/* The value of the first k (0..8) ASCII digits of a word: the digits shifted
 * to the top and '0's put below them. Shifts are split in two so that k = 0
 * and k = 8 need no branch (a 64-bit shift by 64 is undefined). */
static inline CSV_INLINE uint64_t csv_lead_digits(uint64_t v, int k) {
    unsigned s = (unsigned)(32 - 4 * k), z = (unsigned)(4 * k);
    uint64_t w = ((v << s) << s) | ((0x3030303030303030ULL >> z) >> z);
    return csv_eight_digits(w);
}

/* Eisel-Lemire: the correctly rounded double for man * 10^exp10, or false when
 * the 128-bit approximation cannot decide (the caller then asks strtod).
 * Follows Lemire (2021) as Go's strconv.eiselLemire64 writes it. */
static inline CSV_INLINE int csv_eisel_lemire(uint64_t man, int exp10, int neg, double *out) {
    if (exp10 < CSV_POW10_MIN || exp10 > CSV_POW10_MAX) return 0;
    int clz = __builtin_clzll(man);
    man <<= clz;
    uint64_t ret_exp2 = (uint64_t)(((217706 * exp10) >> 16) + 64 + 1023) - (uint64_t)clz;
    const uint64_t *pw = csv_pow10_128[exp10 - CSV_POW10_MIN];
    unsigned __int128 x = (unsigned __int128)man * pw[0];
    uint64_t x_hi = (uint64_t)(x >> 64), x_lo = (uint64_t)x;
    if ((x_hi & 0x1FF) == 0x1FF && x_lo + man < man) {
        unsigned __int128 y = (unsigned __int128)man * pw[1];
        uint64_t y_hi = (uint64_t)(y >> 64), y_lo = (uint64_t)y;
        uint64_t merged_hi = x_hi, merged_lo = x_lo + y_hi;
        if (merged_lo < x_lo) merged_hi++;
        if ((merged_hi & 0x1FF) == 0x1FF && merged_lo + 1 == 0 && y_lo + man < man) return 0;
        x_hi = merged_hi;
        x_lo = merged_lo;
    }
    uint64_t msb = x_hi >> 63;
    uint64_t ret_man = x_hi >> (msb + 9);
    ret_exp2 -= 1 ^ msb;
    if (x_lo == 0 && (x_hi & 0x1FF) == 0 && (ret_man & 3) == 1) return 0;
    ret_man += ret_man & 1;
    ret_man >>= 1;
    if (ret_man >> 53 > 0) {
        ret_man >>= 1;
        ret_exp2 += 1;
    }
    if (ret_exp2 - 1 >= 0x7FF - 1) return 0;
    uint64_t bits = ret_exp2 << 52 | (ret_man & 0x000FFFFFFFFFFFFFULL);
    if (neg) bits |= 0x8000000000000000ULL;
    memcpy(out, &bits, sizeof *out);
    return 1;
}

/* man * 10^exp10 (man exact, at most 19 digits) correctly rounded; s..s+n is
 * the text, for the strtod fallback. Returns s + n, or NULL. Every path is
 * exact, so which one decides never changes a bit: Eisel-Lemire first (no
 * division, and no branch on the digit count that the data would make
 * unpredictable), Clinger's exact path and strtod for what it leaves. */
static inline CSV_INLINE const char *csv_double_exact(uint64_t man, int exp10, int neg,
                                                      const char *s, size_t n, double *out) {
    if (man == 0) {
        *out = neg ? -0.0 : 0.0;
        return s + n;
    }
    if (exp10 == 0 && man <= (1ULL << 53)) {
        *out = neg ? -(double)man : (double)man;
        return s + n;
    }
    if (csv_eisel_lemire(man, exp10, neg, out)) return s + n;
    return csv_double_finish(man, exp10, neg, s, n, out);
}

/* man * 10^-fd correctly rounded, for 1 <= fd <= 19 and man != 0 (a split
 * row's usual number): Eisel-Lemire with what that shape fixes folded away
 * -- no sign, no exponent range to check, a normal result -- and the two
 * rare undecided cases merged into one wider test. Returns 0, or -1 when
 * the caller must ask csv_double_exact (which decides every case exactly,
 * so the bail-out never changes a bit). */
static inline CSV_INLINE int csv_frac_exact(uint64_t man, int fd, double *out) {
    const uint64_t *pw = csv_pow10_128[-fd - CSV_POW10_MIN];
    int clz = __builtin_clzll(man);
    man <<= clz;
    unsigned __int128 x = (unsigned __int128)man * pw[0];
    uint64_t x_hi = (uint64_t)(x >> 64);
    /* the low 9 bits all ones (a carry from the next word may come) or all
     * zeros (maybe a halfway case): 2 in 512, left to the full path */
    if (((x_hi + 1) & 0x1FF) <= 1) return -1;
    uint64_t msb = x_hi >> 63;
    uint64_t ret_man = x_hi >> (msb + 9);
    ret_man += ret_man & 1;
    ret_man >>= 1;
    uint64_t ov = ret_man >> 53; /* rounding carried into a new bit */
    ret_man >>= ov;
    uint64_t ret_exp2 =
        (uint64_t)(((217706 * -fd) >> 16) + 64 + 1023) - (uint64_t)clz - (1 ^ msb) + ov;
    uint64_t bits = ret_exp2 << 52 | (ret_man & 0x000FFFFFFFFFFFFFULL);
    memcpy(out, &bits, sizeof *out);
    return 0;
}

/* csv_parse_double_prefix, inline. The shape of nearly every price and
 * volume -- up to 7 integer digits, an optional dot and up to 15 fraction
 * digits, no exponent -- is parsed from three word loads without a loop when
 * 24 bytes are readable; anything else (or too near the end) takes the
 * general parser, which gives the same mantissa and exponent for it. */
static inline CSV_INLINE const char *csv_parse_number(const char *s, const char *e, double *out) {
    const char *p = s;
    int neg = 0;
    if (e - p >= 25) {
        neg = *p == '-';
        p += neg | (*p == '+');
        uint64_t w0, w1, w2;
        memcpy(&w0, p, 8);
        uint64_t m0 = csv_nondigit_mask(w0);
        if (m0) {
            int k = __builtin_ctzll(m0) >> 3;
            const char *q = p + k;
            uint64_t man = csv_lead_digits(w0, k);
            int fd = 0;
            if (*q == '.') {
                memcpy(&w1, q + 1, 8);
                memcpy(&w2, q + 9, 8);
                uint64_t m1 = csv_nondigit_mask(w1), m2 = csv_nondigit_mask(w2);
                int n1 = m1 ? __builtin_ctzll(m1) >> 3 : 8;
                int n2 = m1 ? 0 : (m2 ? __builtin_ctzll(m2) >> 3 : 8);
                fd = n1 + n2;
                man = (man * csv_pow10_u64[n1] + csv_lead_digits(w1, n1)) * csv_pow10_u64[n2] +
                      csv_lead_digits(w2, n2);
                q += 1 + fd;
            }
            /* 16 fraction digits may go on; k + fd > 19 may have wrapped */
            if (k + fd > 0 && k + fd <= 19 && fd < 16 && *q != 'e' && *q != 'E')
                return csv_double_exact(man, -fd, neg, s, (size_t)(q - s), out);
        }
    }
    return csv_parse_double_general(s, e, out);
}

#ifdef __SSE2__
/* 16 zero bytes then 16 0xFF: csv_tail_keep + m keeps the last m of 16. */
extern const uint8_t csv_tail_keep[32];

/* The value of the m (0..16) ASCII digits that end at end, all in one SSE2
 * register (16 bytes before end must be readable); -1 when one of them is
 * not a digit. Pairs, then fours, then eights are multiplied together
 * (pmaddwd), instead of three dependent word parses. */
static inline CSV_INLINE int csv_tail_digits(const char *end, int m, uint64_t *val) {
    __m128i v = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)(end - 16)),
                             _mm_set1_epi8('0'));
    v = _mm_and_si128(v, _mm_loadu_si128((const __m128i *)(const void *)(csv_tail_keep + m)));
    __m128i ok = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(9)), v);
    if (_mm_movemask_epi8(ok) != 0xFFFF) return -1;
    __m128i z = _mm_setzero_si128(), ten = _mm_set_epi16(1, 10, 1, 10, 1, 10, 1, 10);
    __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi8(v, z), ten);
    __m128i hi = _mm_madd_epi16(_mm_unpackhi_epi8(v, z), ten);
    __m128i t =
        _mm_madd_epi16(_mm_packs_epi32(lo, hi), _mm_set_epi16(1, 100, 1, 100, 1, 100, 1, 100));
    t = _mm_madd_epi16(_mm_packs_epi32(t, t),
                       _mm_set_epi16(1, 10000, 1, 10000, 1, 10000, 1, 10000));
    uint64_t two = (uint64_t)_mm_cvtsi128_si64(t);
    *val = (uint64_t)(uint32_t)two * 100000000ULL + (two >> 32);
    return 0;
}
#endif

/* A number whose field is known to be exactly s..s+n (a row already split
 * at its commas): csv_parse_number's result, returning s + n when the whole
 * field is the number. lo is the first readable byte (the buffer's start),
 * e one past the last. The common shape -- 1 to 8 integer digits, a dot and
 * 1 to 15 fraction digits -- reads the integer part from one word and the
 * fraction from one SSE2 register ending at the field's end; every other
 * shape goes to csv_parse_number, and both give the same exact double. */
static inline CSV_INLINE const char *csv_parse_span(const char *lo, const char *s, size_t n,
                                                    const char *e, double *out) {
#ifdef __SSE2__
    if (n >= 3 && n <= 24 && (size_t)(s - lo) + n >= 16 && e - s >= 8) {
        uint64_t w0, fr;
        memcpy(&w0, s, 8);
        uint64_t m0 = csv_nondigit_mask(w0);
        int k = m0 ? __builtin_ctzll(m0) >> 3 : 8; /* 8: s[8] must be the dot */
        int fd = (int)n - k - 1;
        if (k > 0 && fd > 0 && s[k] == '.' && fd <= 15 && k + fd <= 19 && /* s[k] in the field */
            !csv_tail_digits(s + n, fd, &fr)) {
            uint64_t man = csv_lead_digits(w0, k) * csv_pow10_u64[fd] + fr;
            return csv_double_exact(man, -fd, 0, s, n, out);
        }
    }
#endif
    (void)lo;
    return csv_parse_number(s, e, out);
}

/* Parses YYYY-MM-DD or YYYYMMDD, a real calendar date with year in
 * 1800..2999, into YYYYMMDD. Returns 0 or -1. */
int csv_parse_date(const char *s, size_t n, int32_t *out);

/* Writes x as printf("%.17g", x) would (the shortest form that always
 * round-trips a double), without the printf machinery: the result files
 * hold millions of numbers and glibc's exact multi-precision conversion was
 * most of their writing time. Doubles in [1e-6, 1e17) take an exact
 * 128-bit integer path; the rest go to snprintf. out needs CSV_DOUBLE_MAX
 * bytes; returns the length written (out is NUL-terminated). */
#define CSV_DOUBLE_MAX 32
int csv_format_double(char *out, double x);

#endif
