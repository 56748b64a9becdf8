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
 * result is the correctly rounded double (as strtod gives): Clinger's exact
 * fast path, then Eisel-Lemire, then strtod for the rare rest (more than 19
 * significant digits, extreme exponents, halfway cases). Returns 0 or -1. */
int csv_parse_double(const char *s, size_t n, double *out);
/* The same grammar, reading the longest number at s (never past e): returns
 * the byte after it, or NULL when s does not start with a valid number. For
 * readers that parse in place without finding the field's end first. */
const char *csv_parse_double_prefix(const char *s, const char *e, double *out);

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

/* The Eisel-Lemire table (csv_pow10.c). */
#define CSV_POW10_MIN (-100)
#define CSV_POW10_MAX 100
extern const uint64_t csv_pow10_128[CSV_POW10_MAX - CSV_POW10_MIN + 1][2];

#endif
