/* data_read.c -- one CSV object -> raw rows, driven by the layout's declared
 * column table. Validation happens here, so every error can say exactly
 * where: "file:line:column" and the column's name. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "cpu.h"
#include "csv.h"
#include "data_rows.h"

int data_read_fast_path = 1;

#define DATA_MAX_COLS 64
#define DATA_MAX_SYM 64

/* realloc that aborts: see buf.h for why OOM is not a status here. */
static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

void data_rows_init(struct data_rows *t) {
    memset(t, 0, sizeof *t);
    buf_init(&t->names);
}

void data_rows_reserve(struct data_rows *t, size_t rows) {
    if (rows <= t->cap) return;
    if (rows < 2 * t->cap) rows = 2 * t->cap;
    if (rows < 4096) rows = 4096;
    struct data_row *r = panel_big_alloc(rows * sizeof *r);
    if (t->n) memcpy(r, t->rows, t->n * sizeof *r);
    if (!t->rows_borrowed) free(t->rows);
    t->rows_borrowed = 0;
    t->rows = r;
    t->cap = rows;
}

/* Every file of a per-symbol layout repeats the same date strings: an
 * open-addressed table of 10-byte date strings already validated by
 * csv_parse_date spares re-parsing them. A hit needs all 10 bytes equal, so
 * it gives exactly what the parser gave. Full at half its slots (then new
 * strings are just parsed), so probes stay short. */
#define DATE_MEMO_BITS 13
struct data_date_memo {
    size_t used;
    struct {
        uint64_t head; /* bytes 0..7 */
        uint32_t tail; /* bytes 8..9, | 1 << 16 when the slot is used */
        int32_t date;
    } slot[1u << DATE_MEMO_BITS];
};

/* A 10-byte date at p (p..p+10 readable) -> YYYYMMDD through the memo; -1
 * when csv_parse_date refuses it. */
static inline int memo_date(struct data_date_memo *m, const char *p, int32_t *out) {
    const size_t mask = (1u << DATE_MEMO_BITS) - 1;
    uint64_t head;
    uint16_t t2;
    memcpy(&head, p, 8);
    memcpy(&t2, p + 8, 2);
    uint32_t tail = (uint32_t)t2 | 1u << 16;
    /* multiply before mixing in the tail: a plain xor would fold the month
     * digits onto the day digits and make months collide */
    uint64_t h = (head * 0x9E3779B97F4A7C15ULL ^ tail) * 0xC2B2AE3D27D4EB4FULL;
    size_t i = (size_t)(h >> (64 - DATE_MEMO_BITS));
    for (; m->slot[i].tail; i = (i + 1) & mask)
        if (m->slot[i].head == head && m->slot[i].tail == tail) {
            *out = m->slot[i].date;
            return 0;
        }
    if (csv_parse_date(p, 10, out)) return -1;
    if (m->used < (mask + 1) / 2) {
        m->slot[i].head = head;
        m->slot[i].tail = tail;
        m->slot[i].date = *out;
        m->used++;
    }
    return 0;
}

/* YYYY-MM-DD at p (10 bytes readable) -> YYYYMMDD, exactly csv_parse_date's
 * answer, from two loads and no table: cheaper than the memo's probe into a
 * table bigger than L1, which was a twentieth of the load. -1 on refusal. */
static inline int date10(const char *p, int32_t *out) {
    uint64_t w;
    uint16_t t2;
    memcpy(&w, p, 8);
    memcpy(&t2, p + 8, 2);
    /* digits -> 0..9, the dashes -> 0; anything else leaves a byte that the
     * nibble test or the dash test below catches */
    uint64_t a = w ^ 0x2D30302D30303030ULL;
    uint32_t b = (uint32_t)t2 ^ 0x3030u;
    if ((a & 0xF0F0F0F0F0F0F0F0ULL) |
        (((a & 0x0F0F0F0F0F0F0F0FULL) + 0x0606060606060606ULL) & 0x1010101010101010ULL) |
        (a & 0xFF0000FF00000000ULL) | (b & 0xF0F0u) | (((b & 0x0F0Fu) + 0x0606u) & 0x1010u))
        return -1;
    int y = (int)(a & 0xFF) * 1000 + (int)(a >> 8 & 0xFF) * 100 + (int)(a >> 16 & 0xFF) * 10 +
            (int)(a >> 24 & 0xFF);
    int m = (int)(a >> 40 & 0xFF) * 10 + (int)(a >> 48 & 0xFF);
    int d = (int)(b & 0xFF) * 10 + (int)(b >> 8);
    static const int8_t mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1800 || y > 2999 || m < 1 || m > 12 || d < 1) return -1;
    if (d > mdays[m] && !(m == 2 && d == 29 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
        return -1;
    *out = (int32_t)(y * 10000 + m * 100 + d);
    return 0;
}

void data_rows_free(struct data_rows *t) {
    free(t->dates);
    if (!t->rows_borrowed) free(t->rows);
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].owned) free(t->parts[i].rows);
        free(t->parts[i].sym_map);
    }
    free(t->parts);
    while (t->arena) {
        struct data_arena_chunk *next = t->arena->next;
        free(t->arena);
        t->arena = next;
    }
    buf_free(&t->names);
    free(t->name_off);
    free(t->name_len);
    free(t->hash);
    for (size_t i = 0; i < t->nsrc; i++)
        free(t->src_names[i]);
    free(t->src_names);
    memset(t, 0, sizeof *t);
}

/* FNV-1a: symbols are short, so a simple byte hash is fast enough. */
static uint32_t sym_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Doubles the hash table and re-inserts every symbol. */
static void rehash(struct data_rows *t) {
    /* small at first: a per-file table (one per object) mostly holds one symbol */
    size_t cap = t->hcap ? t->hcap * 2 : 64;
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) abort();
    for (size_t id = 0; id < t->nsyms; id++) {
        size_t i = sym_hash(data_rows_sym(t, (uint32_t)id), t->name_len[id]) & (cap - 1);
        while (h[i])
            i = (i + 1) & (cap - 1);
        h[i] = (uint32_t)id + 1;
    }
    free(t->hash);
    t->hash = h;
    t->hcap = cap;
}

uint32_t data_rows_intern(struct data_rows *t, const char *s, size_t n) {
    if ((t->nsyms + 1) * 2 > t->hcap) rehash(t);
    size_t i = sym_hash(s, n) & (t->hcap - 1);
    for (; t->hash[i]; i = (i + 1) & (t->hcap - 1)) {
        uint32_t id = t->hash[i] - 1;
        if (t->name_len[id] == n && !memcmp(data_rows_sym(t, id), s, n)) return id;
    }
    if (t->nsyms == t->cap_syms) {
        t->cap_syms = t->cap_syms ? t->cap_syms * 2 : 16;
        t->name_off = xrealloc(t->name_off, t->cap_syms * sizeof *t->name_off);
        t->name_len = xrealloc(t->name_len, t->cap_syms * sizeof *t->name_len);
    }
    uint32_t id = (uint32_t)t->nsyms++;
    t->name_off[id] = (uint32_t)t->names.len;
    t->name_len[id] = (uint32_t)n;
    buf_append(&t->names, s, n);
    buf_putc(&t->names, 0);
    t->hash[i] = id + 1;
    return id;
}

/* memcmp(a, b, n) == 0 without a libc call for each row's short symbol. */
static inline bool same_bytes(const char *a, const char *b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) return false;
    }
    for (; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Keeps a copy of the source's name for error messages; returns its index. */
static uint32_t add_src(struct data_rows *t, const char *name) {
    if (t->nsrc == t->cap_src) {
        t->cap_src = t->cap_src ? t->cap_src * 2 : 64;
        t->src_names = xrealloc(t->src_names, t->cap_src * sizeof *t->src_names);
    }
    size_t n = strlen(name);
    char *c = xrealloc(NULL, n + 1);
    memcpy(c, name, n + 1);
    t->src_names[t->nsrc] = c;
    return (uint32_t)t->nsrc++;
}

/* Sets err to a BT_EINPUT at name:line:col. */
static int input_error(struct bt_err *err, const char *name, size_t line, uint32_t col,
                       const char *fmt, const char *a, const char *b) {
    char where[256];
    snprintf(where, sizeof where, "%s:%zu:%u", name, line, col);
    return bt_err_set(err, BT_EINPUT, where, fmt, a, b);
}

/* A printable excerpt of a bad value for an error message. */
static const char *excerpt(const struct csv_field *f, char *out, size_t cap) {
    size_t n = f->len < cap - 1 ? f->len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (f->p[i] >= 32 && f->p[i] < 127) ? f->p[i] : '?';
    out[n] = 0;
    return out;
}

/* The symbol a file name implies: base name without .gz/.csv, cut before the
 * layout's suffix ("AAPL_data.csv.gz" -> "AAPL"). */
static size_t sym_from_name(const char *name, const char *suffix, char *out, size_t cap) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".gz")) n -= 3;
    if (n > 4 && !strncasecmp(base + n - 4, ".csv", 4)) n -= 4;
    for (size_t i = 0; suffix && i + strlen(suffix) <= n; i++)
        if (!strncmp(base + i, suffix, strlen(suffix))) {
            n = i;
            break;
        }
    if (n >= cap) n = 0;
    memcpy(out, base, n);
    out[n] = 0;
    return n;
}

/* A symbol must be safe to write back unquoted into a daily partition. */
static bool sym_ok(const char *s, size_t n) {
    if (n == 0 || n > DATA_MAX_SYM) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 33 || c == ',' || c == '"' || c == 127) return false;
    }
    return true;
}

/* Header cell equals a declared name, ignoring case and surrounding spaces. */
static bool header_is(const struct csv_field *f, const char *want) {
    const char *p = f->p;
    size_t n = f->len;
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return strlen(want) == n && !strncasecmp(p, want, n);
}

/* Index of a numeric field among the row's doubles o..adj, or -1. */
static int field_slot(enum data_field f) {
    switch (f) {
    case DF_OPEN: return 0;
    case DF_HIGH: return 1;
    case DF_LOW: return 2;
    case DF_CLOSE: return 3;
    case DF_VOLUME: return 4;
    case DF_VWAP: return 5;
    case DF_ADJ_FACTOR:
    case DF_ADJ_CLOSE: return 6;
    default: return -1;
    }
}

/* Skips the value of a field that starts at p, quoted or not, and returns
 * where it ends (the closing quote, or the delimiter); NULL when the field
 * holds something only the general path handles ("" escapes, newlines). */
static const char *skip_value(const char *p, const char *e, int quoted) {
    if (!quoted) {
        while (p < e && *p != ',' && *p != '\n' && *p != '\r')
            p++;
        return p;
    }
    while (p < e && *p != '"' && *p != '\n' && *p != '\r')
        p++;
    if (p >= e || *p != '"' || (p + 1 < e && p[1] == '"')) return NULL;
    return p;
}

/* The common row, parsed in place in one pass: every field valid, no ""
 * escapes, no newline inside quotes, the right field count. Returns 1 with
 * r, *sym and the reader advanced past the row; 0 to hand the row, from its
 * start, to the general path, which then reports any error precisely. */
static int fast_row(struct csv_reader *rd, const enum data_field *map, const int8_t *slot, int nf,
                    struct data_row *r, const char **sym, size_t *sym_len,
                    struct data_date_memo *memo) {
    const char *p = rd->p, *e = rd->end;
    double *num = &r->o;
    if (p >= e || *p == '\n' || *p == '\r') return 0;
    for (int i = 0; i < nf; i++) {
        int q = p < e && *p == '"';
        p += q;
        enum data_field f = map[i];
        if (slot[i] >= 0) {
            double *dst = num + slot[i];
            if (p >= e || *p == ',' || *p == '"' || *p == '\n' || *p == '\r') {
                /* empty: stays NaN (an unquoted '"' here sends the row to the general path) */
                if (!q && p < e && *p == '"') return 0;
            } else if (!(p = csv_parse_number(p, e, dst))) {
                return 0;
            }
        } else if (f == DF_DATE) {
            size_t n = (e - p >= 10 && p[4] == '-') ? 10 : 8;
            if ((size_t)(e - p) < n) return 0;
            if (n == 10 ? memo_date(memo, p, &r->date) : csv_parse_date(p, n, &r->date)) return 0;
            p += n;
        } else {
            const char *start = p;
            if (!(p = skip_value(p, e, q))) return 0;
            size_t n = (size_t)(p - start);
            if (f == DF_SYMBOL) {
                if (!sym_ok(start, n)) return 0; /* empty or bad: the general path decides */
                *sym = start;
                *sym_len = n;
            } else if (f == DF_ISOPEN) {
                if ((n == 5 && !strncasecmp(start, "false", 5)) || (n == 1 && *start == '0'))
                    r->flags |= ROW_NOBAR;
                else if (!((n == 4 && !strncasecmp(start, "true", 4)) || (n == 1 && *start == '1')))
                    return 0;
            }
        }
        if (q) {
            if (p >= e || *p != '"') return 0;
            p++;
        }
        if (i < nf - 1) {
            if (p >= e || *p != ',') return 0;
            p++;
        }
    }
    if (r->v < 0) return 0; /* refused by the general path, with its position */
    if (p < e) {
        if (*p == '\r')
            p += (p + 1 < e && p[1] == '\n') ? 2 : 1;
        else if (*p == '\n')
            p++;
        else
            return 0;
    }
    rd->rec_line = rd->line;
    rd->line++;
    rd->line_start = p;
    rd->p = p;
    return 1;
}

/* A line of up to DATA_SPLIT_MAX bytes is split at its commas before any
 * field is parsed: the fields' starts then come from one scan of
 * independent word loads instead of from the end of the previous number,
 * so the processor parses several numbers of the row at once. */
#define DATA_SPLIT_BLOCKS 4
#define DATA_SPLIT_MAX (64 * DATA_SPLIT_BLOCKS)

/* A split row's field that is not a number (date, symbol, is-open flag),
 * with fast_row's rules; 0, or -1 to refuse the row. Shared by both row
 * splitters. */
static inline CSV_INLINE int split_text_field(enum data_field f, const char *fp, size_t n,
                                              struct data_row *r, const char **sym,
                                              size_t *sym_len) {
    switch (f) {
    case DF_DATE:
        if (n == 10 && fp[4] == '-') {
            if (date10(fp, &r->date)) return -1;
        } else if (n != 8 || fp[4] == '-' || csv_parse_date(fp, 8, &r->date)) {
            return -1;
        }
        break;
    case DF_SYMBOL:
        if (!sym_ok(fp, n)) return -1;
        *sym = fp;
        *sym_len = n;
        break;
    case DF_ISOPEN:
        if ((n == 5 && !strncasecmp(fp, "false", 5)) || (n == 1 && *fp == '0'))
            r->flags |= ROW_NOBAR;
        else if (!((n == 4 && !strncasecmp(fp, "true", 4)) || (n == 1 && *fp == '1')))
            return -1;
        break;
    default: break;
    }
    return 0;
}

/* The end of a split row at q (its \n or \r): moves the reader to the next
 * line. Returns 1, or 0 to refuse the row (a negative volume is refused so
 * that the general path reports it). */
static inline CSV_INLINE int split_row_done(struct csv_reader *rd, const char *q,
                                            const struct data_row *r) {
    if (r->v < 0) return 0;
    q += (*q == '\r' && q[1] == '\n') ? 2 : 1;
    rd->rec_line = rd->line;
    rd->line++;
    rd->line_start = q;
    rd->p = q;
    return 1;
}

/* The unquoted row split first, then its fields parsed, with exactly the
 * rules of fast_row (which it stands in front of). Returns 1 with the row
 * read; 0 when the row is not that simple (a quote, a long line, the end of
 * the buffer near, any field fast_row would refuse): the caller then resets
 * the row and asks fast_row. */
static int split_row(struct csv_reader *rd, const char *lo, const enum data_field *map,
                     const int8_t *slot, int nf, struct data_row *r, const char **sym,
                     size_t *sym_len) {
#ifndef __SSE2__
    (void)rd, (void)lo, (void)map, (void)slot, (void)nf, (void)r, (void)sym, (void)sym_len;
    return 0;
#else
    const char *p = rd->p, *e = rd->end;
    uint64_t cm[DATA_SPLIT_BLOCKS];
    int nb, eol = -1;
    if (nf > 32 || e - p < DATA_SPLIT_MAX + 8) return 0;
    for (nb = 0; nb < DATA_SPLIT_BLOCKS; nb++) {
        uint64_t c = 0, stop = 0;
        for (int w = 0; w < 4; w++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 64 * nb + 16 * w));
            __m128i st = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
            c |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')))
                 << (16 * w);
            stop |= (uint64_t)(uint32_t)_mm_movemask_epi8(st) << (16 * w);
        }
        cm[nb] = c;
        if (stop) {
            int k = __builtin_ctzll(stop);
            if (p[64 * nb + k] == '"') return 0;
            cm[nb] &= k == 63 ? ~0ULL >> 1 : (1ULL << k) - 1;
            eol = 64 * nb + k;
            break;
        }
    }
    if (eol <= 0) return 0; /* no end in reach, or a blank line */
    int start[33], end[33], f = 0;
    start[0] = 0;
    for (int b = 0; b <= nb; b++)
        for (uint64_t m = cm[b]; m; m &= m - 1) {
            if (f >= nf - 1) return 0;
            end[f] = 64 * b + __builtin_ctzll(m);
            start[f + 1] = end[f] + 1;
            f++;
        }
    if (f != nf - 1) return 0;
    end[nf - 1] = eol;
    double *num = &r->o;
    for (int i = 0; i < nf; i++) {
        const char *fp = p + start[i];
        size_t n = (size_t)(end[i] - start[i]);
        if (slot[i] >= 0) {
            if (n && csv_parse_span(lo, fp, n, e, num + slot[i]) != fp + n) return 0;
            continue;
        }
        if (split_text_field(map[i], fp, n, r, sym, sym_len)) return 0;
    }
    return split_row_done(rd, p + eol, r);
#endif
}

#if defined(__x86_64__) && defined(__GNUC__) && defined(__SSE2__)
#define DATA_AVX512 1
#define DATA_AVX512_TARGET                                                                         \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,bmi,bmi2,lzcnt,popcnt")))

/* The digits of a 1..20-byte field s..s+n that holds only digits and at most
 * one dot between digits, at most 19 digits: *man gets their value and *fd
 * the count after the dot; -1 for any other shape. The 32 bytes ending at
 * the field's end must be readable. One register does it all: the dot is
 * found and squeezed out with a byte permute (VBMI), and the digits are
 * multiplied together in pairs, fours and eights as csv_tail_digits does,
 * instead of the word-at-a-time parse and the checks around it. */
static inline CSV_INLINE DATA_AVX512_TARGET int span_digits_avx512(const char *s, uint32_t n,
                                                                   uint64_t *man, int *fd) {
    /* memory operands, not constants rebuilt in registers for every number */
    static const union {
        uint8_t b[3][32];
        __m256i v[3];
    } k = {{{[0 ... 31] = '0'}, {[0 ... 31] = '.'}, {[0 ... 31] = 9}}};
    /* byte permutes that close the digits up over a dot in lane dp (row
     * dp + 1; row 0: no dot): lanes up to the dot take their left neighbour */
    static const union {
        uint8_t b[33][32];
        __m256i v[33];
    } close = {{
#define DATA_CLOSE_ROW(dp)                                                                         \
    {0 - (0 <= dp),   1 - (1 <= dp),   2 - (2 <= dp),   3 - (3 <= dp),   4 - (4 <= dp),            \
     5 - (5 <= dp),   6 - (6 <= dp),   7 - (7 <= dp),   8 - (8 <= dp),   9 - (9 <= dp),            \
     10 - (10 <= dp), 11 - (11 <= dp), 12 - (12 <= dp), 13 - (13 <= dp), 14 - (14 <= dp),          \
     15 - (15 <= dp), 16 - (16 <= dp), 17 - (17 <= dp), 18 - (18 <= dp), 19 - (19 <= dp),          \
     20 - (20 <= dp), 21 - (21 <= dp), 22 - (22 <= dp), 23 - (23 <= dp), 24 - (24 <= dp),          \
     25 - (25 <= dp), 26 - (26 <= dp), 27 - (27 <= dp), 28 - (28 <= dp), 29 - (29 <= dp),          \
     30 - (30 <= dp), 31 - (31 <= dp)}
        DATA_CLOSE_ROW(-1), DATA_CLOSE_ROW(0),  DATA_CLOSE_ROW(1),  DATA_CLOSE_ROW(2),
        DATA_CLOSE_ROW(3),  DATA_CLOSE_ROW(4),  DATA_CLOSE_ROW(5),  DATA_CLOSE_ROW(6),
        DATA_CLOSE_ROW(7),  DATA_CLOSE_ROW(8),  DATA_CLOSE_ROW(9),  DATA_CLOSE_ROW(10),
        DATA_CLOSE_ROW(11), DATA_CLOSE_ROW(12), DATA_CLOSE_ROW(13), DATA_CLOSE_ROW(14),
        DATA_CLOSE_ROW(15), DATA_CLOSE_ROW(16), DATA_CLOSE_ROW(17), DATA_CLOSE_ROW(18),
        DATA_CLOSE_ROW(19), DATA_CLOSE_ROW(20), DATA_CLOSE_ROW(21), DATA_CLOSE_ROW(22),
        DATA_CLOSE_ROW(23), DATA_CLOSE_ROW(24), DATA_CLOSE_ROW(25), DATA_CLOSE_ROW(26),
        DATA_CLOSE_ROW(27), DATA_CLOSE_ROW(28), DATA_CLOSE_ROW(29), DATA_CLOSE_ROW(30),
        DATA_CLOSE_ROW(31)
#undef DATA_CLOSE_ROW
    }};
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + n - 32));
    __m256i d = _mm256_sub_epi8(v, k.v[0]);
    uint32_t field = ~0u << (32 - n);
    uint32_t dot = _mm256_cmpeq_epi8_mask(v, k.v[1]) & field;
    uint32_t dig = _mm256_cmple_epu8_mask(d, k.v[2]) & field;
    /* the field's first lane and its last must be digits: no ".5" or "5." */
    uint32_t ends = (field & -field) | 0x80000000u;
    if ((dig | dot) != field || (dot & (dot - 1)) || (dot & ends)) return -1;
    int row = dot ? (int)_tzcnt_u32(dot) + 1 : 0;
    uint32_t nd = n - (dot != 0);
    if (nd > 19) return -1;
    __m256i x = _mm256_maskz_permutexvar_epi8(~0u << (32 - nd), close.v[row], d);
    __m256i t = _mm256_maddubs_epi16(x, _mm256_set1_epi16(0x010A));
    t = _mm256_madd_epi16(t, _mm256_set1_epi32(0x00010064));
    t = _mm256_madd_epi16(_mm256_packus_epi32(t, t), _mm256_set1_epi32(0x00012710));
    /* eight-digit groups: lane 1 holds digits 8..15, 4 and 5 digits 16..31 */
    uint64_t h1 = (uint32_t)_mm_extract_epi32(_mm256_castsi256_si128(t), 1);
    uint64_t h23 = (uint64_t)_mm_cvtsi128_si64(_mm256_extracti128_si256(t, 1));
    *man = h1 * 10000000000000000ULL + (uint32_t)h23 * 100000000ULL + (h23 >> 32);
    *fd = dot ? 32 - row : 0;
    return 0;
}

/* split_row for processors with AVX-512 (F, BW, VL, VBMI): the same rows
 * accepted, the same values (every number path is exact), the line found
 * with 64-byte compares into masks and the common numbers parsed by
 * span_digits_avx512. data_read_csv picks it at run time. */
static DATA_AVX512_TARGET int split_row_avx512(struct csv_reader *rd, const char *lo,
                                               const enum data_field *map, const int8_t *slot,
                                               int nf, struct data_row *r, const char **sym,
                                               size_t *sym_len) {
    const char *p = rd->p, *e = rd->end;
    uint64_t cm[DATA_SPLIT_BLOCKS];
    int nb, eol = -1;
    if (nf > 32 || e - p < DATA_SPLIT_MAX + 8) return 0;
    for (nb = 0; nb < DATA_SPLIT_BLOCKS; nb++) {
        __m512i v = _mm512_loadu_si512((const void *)(p + 64 * nb));
        uint64_t stop = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')) |
                        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r')) |
                        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'));
        cm[nb] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(','));
        if (stop) {
            int k = (int)_tzcnt_u64(stop);
            if (p[64 * nb + k] == '"') return 0;
            cm[nb] = _bzhi_u64(cm[nb], (unsigned)k);
            eol = 64 * nb + k;
            break;
        }
    }
    if (eol <= 0) return 0; /* no end in reach, or a blank line */
    int cnt = 0;
    for (int b = 0; b <= nb; b++)
        cnt += (int)_mm_popcnt_u64(cm[b]);
    if (cnt != nf - 1) return 0;
    /* field i spans [start, end): each end is the next comma, the last the eol */
    int start = 0, b = 0, nq = 0;
    uint64_t m = cm[0];
    double *num = &r->o;
    /* the numbers' digits first, their conversion after: each number's
     * chain of dependent steps is long, and apart the processor overlaps
     * more of them */
    uint64_t qman[32];
    int qfd[32];
    const char *qp[32];
    uint32_t qn[32];
    double *qdst[32];
    for (int i = 0; i < nf; i++) {
        int end;
        if (i == nf - 1) {
            end = eol;
        } else {
            while (!m)
                m = cm[++b];
            end = 64 * b + (int)_tzcnt_u64(m);
            m = _blsr_u64(m);
        }
        const char *fp = p + start;
        uint32_t n = (uint32_t)(end - start);
        start = end + 1;
        if (slot[i] >= 0) {
            if (!n) continue; /* empty: stays NaN */
            double *dst = num + slot[i];
            uint64_t man;
            int fd;
            if (n <= 20 && fp + n - lo >= 32 && !span_digits_avx512(fp, n, &man, &fd)) {
                qman[nq] = man;
                qfd[nq] = fd;
                qp[nq] = fp;
                qn[nq] = n;
                qdst[nq++] = dst;
            } else if (csv_parse_span(lo, fp, n, e, dst) != fp + n) {
                return 0;
            }
            continue;
        }
        if (split_text_field(map[i], fp, n, r, sym, sym_len)) return 0;
    }
    /* fd <= 18 here (19 digits at most); 0 or a whole number: the full path */
    for (int i = 0; i < nq; i++)
        if ((!qman[i] || !qfd[i] || csv_frac_exact(qman[i], qfd[i], qdst[i])) &&
            !csv_double_exact(qman[i], -qfd[i], 0, qp[i], qn[i], qdst[i]))
            return 0;
    return split_row_done(rd, p + eol, r);
}

#else
/* No AVX-512 build: never chosen (use512 is 0), here only to compile. */
static int split_row_avx512(struct csv_reader *rd, const char *lo, const enum data_field *map,
                            const int8_t *slot, int nf, struct data_row *r, const char **sym,
                            size_t *sym_len) {
    (void)rd, (void)lo, (void)map, (void)slot, (void)nf, (void)r, (void)sym, (void)sym_len;
    return 0;
}
#endif

int data_read_csv(struct data_rows *t, const struct data_layout_spec *spec, const char *name,
                  const char *csv, size_t len, struct bt_err *err) {
    struct csv_reader rd;
    struct csv_field f[DATA_MAX_COLS + 1];
    enum data_field map[DATA_MAX_COLS];
    const char *colname[DATA_MAX_COLS];
    int have[DF_COUNT] = {0};
    char tmp[128], file_sym[DATA_MAX_SYM + 1];
    int nf = 0, n = 0;
    uint32_t bad_col = 0;
    add_src(t, name);
    t->st.files++;
    t->st.bytes += len;

    if (len >= 3 && !memcmp(csv, "\xEF\xBB\xBF", 3)) csv += 3, len -= 3; /* UTF-8 BOM */
    csv_init(&rd, csv, len);
    int st = csv_next(&rd, f, DATA_MAX_COLS + 1, &nf, &bad_col);
    if (st == CSV_EQUOTE)
        return input_error(err, name, rd.line, bad_col, "header: unterminated or stray quote%s%s",
                           "", "");
    if (st == CSV_END)
        return input_error(err, name, 1, 1, "empty file: no header line%s%s", "", "");
    if (nf > DATA_MAX_COLS) {
        char where[256];
        snprintf(where, sizeof where, "%s:%zu:%u", name, rd.rec_line, f[DATA_MAX_COLS].col);
        return bt_err_set(err, BT_ELIMIT, where, "header has more than %d columns", DATA_MAX_COLS);
    }
    int8_t slot[DATA_MAX_COLS];
    for (int i = 0; i < nf; i++) {
        map[i] = DF_NONE;
        colname[i] = "";
        for (size_t k = 0; k < spec->ncols; k++) {
            if (!header_is(&f[i], spec->cols[k].header)) continue;
            if (have[spec->cols[k].field])
                return input_error(err, name, rd.rec_line, f[i].col,
                                   "column \"%s\" appears twice%s", spec->cols[k].header, "");
            have[spec->cols[k].field] = i + 1;
            map[i] = spec->cols[k].field;
            colname[i] = spec->cols[k].header;
        }
    }
    for (size_t k = 0; k < spec->ncols; k++)
        if ((spec->cols[k].flags & DATA_COL_REQUIRED) && !have[spec->cols[k].field])
            return input_error(err, name, rd.rec_line, 1, "missing column \"%s\" (layout %s)",
                               spec->cols[k].header, spec->name);
    if (have[DF_ADJ_FACTOR] && have[DF_ADJ_CLOSE])
        return input_error(err, name, rd.rec_line, f[have[DF_ADJ_CLOSE] - 1].col,
                           "columns \"%s\" and \"%s\" both present: use one adjustment",
                           "adj_factor", "adj_close");
    size_t file_sym_len = spec->sym_file_suffix ? sym_from_name(name, spec->sym_file_suffix,
                                                                file_sym, sizeof file_sym)
                                                : 0;
    if (!have[DF_SYMBOL] && !sym_ok(file_sym, file_sym_len))
        return input_error(err, name, rd.rec_line, 1,
                           "no symbol column and no symbol in the file name (want SYMBOL%s.csv)%s",
                           spec->sym_file_suffix ? spec->sym_file_suffix : "", "");
    uint32_t base_flags = have[DF_ADJ_FACTOR]  ? ROW_ADJ_FACTOR
                          : have[DF_ADJ_CLOSE] ? ROW_ADJ_CLOSE
                                               : 0;
    for (int i = 0; i < nf; i++)
        slot[i] = (int8_t)field_slot(map[i]);
    uint32_t last_sym = UINT32_MAX; /* rows of a vendor file share a symbol */
#ifdef DATA_AVX512
    const int use512 = data_read_fast_path == 1 && cpu_level() >= CPU_AVX512_VBMI;
#else
    const int use512 = 0;
#endif
    if (!t->dates && !(t->dates = calloc(1, sizeof *t->dates))) abort();

    for (;;) {
        /* parsed in place at the table's end; t->n moves on only when it is kept */
        if (t->n == t->cap) data_rows_reserve(t, t->n + 1);
        struct data_row *rp = &t->rows[t->n];
        rp->date = 0;
        rp->sym = 0;
        rp->flags = base_flags & 15;
        rp->o = rp->h = rp->l = rp->c = rp->v = rp->vwap = rp->adj = NAN;
        const char *sym = NULL;
        size_t sym_len = 0;
        size_t line;
        if (use512
                ? split_row_avx512(&rd, csv, map, slot, nf, rp, &sym, &sym_len)
                : data_read_fast_path && split_row(&rd, csv, map, slot, nf, rp, &sym, &sym_len)) {
            line = rd.rec_line;
            goto parsed;
        }
        rp->flags = base_flags & 15; /* split_row may have filled some of the row */
        rp->o = rp->h = rp->l = rp->c = rp->v = rp->vwap = rp->adj = NAN;
        sym = NULL;
        sym_len = 0;
        if (data_read_fast_path && fast_row(&rd, map, slot, nf, rp, &sym, &sym_len, t->dates)) {
            line = rd.rec_line;
            goto parsed;
        }
        rp->flags = base_flags & 15; /* the fast path may have set ROW_NOBAR */
        st = csv_next(&rd, f, nf + 1, &n, &bad_col);
        if (st == CSV_END) break;
        if (st == CSV_EQUOTE)
            return input_error(err, name, rd.line, bad_col, "unterminated or stray quote%s%s", "",
                               "");
        line = rd.rec_line;
        if (n != nf) {
            char a[32], b[32];
            snprintf(a, sizeof a, "%d", nf);
            snprintf(b, sizeof b, "%d", n);
            uint32_t col =
                n > nf ? f[nf].col : f[n - 1].col + f[n - 1].len + (f[n - 1].quoted ? 2 : 0);
            return input_error(err, name, line, col, "expected %s fields, found %s", a, b);
        }
        rp->o = rp->h = rp->l = rp->c = rp->v = rp->vwap = rp->adj =
            NAN; /* the fast path may have filled some */
        bool have_date = false;
        for (int i = 0; i < nf; i++) {
            const struct csv_field *c = &f[i];
            double *dst = NULL;
            switch (map[i]) {
            case DF_NONE: continue;
            case DF_SYMBOL:
                if (c->escaped) {
                    int k = csv_unescape(c, tmp, sizeof tmp);
                    sym = tmp;
                    sym_len = k < 0 ? sizeof tmp : (size_t)k;
                } else {
                    sym = c->p;
                    sym_len = c->len;
                }
                if (sym_len == 0 && file_sym_len) break; /* fall back to the file name */
                if (!sym_ok(sym, sym_len))
                    return input_error(err, name, line, c->col,
                                       "column \"%s\": bad symbol \"%s\" (1-64 printable "
                                       "characters, no comma, quote or space)",
                                       colname[i], excerpt(c, tmp, 48));
                continue;
            case DF_DATE:
                if (csv_parse_date(c->p, c->len, &rp->date))
                    return input_error(err, name, line, c->col,
                                       "column \"%s\": bad date \"%s\" (YYYY-MM-DD or YYYYMMDD)",
                                       colname[i], excerpt(c, tmp, 48));
                have_date = true;
                continue;
            case DF_OPEN: dst = &rp->o; break;
            case DF_HIGH: dst = &rp->h; break;
            case DF_LOW: dst = &rp->l; break;
            case DF_CLOSE: dst = &rp->c; break;
            case DF_VOLUME: dst = &rp->v; break;
            case DF_VWAP: dst = &rp->vwap; break;
            case DF_ADJ_FACTOR:
            case DF_ADJ_CLOSE: dst = &rp->adj; break;
            case DF_ISOPEN:
                if (c->len == 4 && !strncasecmp(c->p, "true", 4)) continue;
                if (c->len == 1 && c->p[0] == '1') continue;
                if ((c->len == 5 && !strncasecmp(c->p, "false", 5)) ||
                    (c->len == 1 && c->p[0] == '0')) {
                    rp->flags |= ROW_NOBAR;
                    continue;
                }
                return input_error(err, name, line, c->col,
                                   "column \"%s\": expected true or false, found \"%s\"",
                                   colname[i], excerpt(c, tmp, 48));
            case DF_COUNT: continue;
            }
            if (!dst) continue;
            if (c->len == 0) continue; /* empty: stays NaN */
            if (csv_parse_double(c->p, c->len, dst))
                return input_error(err, name, line, c->col, "column \"%s\": bad number \"%s\"",
                                   colname[i], excerpt(c, tmp, 48));
        }
        if (!have_date)
            return input_error(err, name, line, f[have[DF_DATE] - 1].col,
                               "column \"%s\": empty date%s", colname[have[DF_DATE] - 1], "");
    parsed:
        if (!sym || sym_len == 0) {
            sym = file_sym;
            sym_len = file_sym_len;
        }
        if (!sym_len)
            return input_error(err, name, line, have[DF_SYMBOL] ? f[have[DF_SYMBOL] - 1].col : 1,
                               "empty symbol%s%s", "", "");
        if (rp->v < 0)
            return input_error(err, name, line, f[have[DF_VOLUME] - 1].col,
                               "column \"%s\": negative volume \"%s\"",
                               colname[have[DF_VOLUME] - 1],
                               excerpt(&f[have[DF_VOLUME] - 1], tmp, 48));
        if (last_sym != UINT32_MAX && t->name_len[last_sym] == sym_len &&
            same_bytes(data_rows_sym(t, last_sym), sym, sym_len))
            rp->sym = last_sym;
        else
            rp->sym = last_sym = data_rows_intern(t, sym, sym_len);
        if (t->nsyms > DATA_MAX_SYMS)
            return input_error(err, name, line, 1, "more than 2^28 symbols%s%s", "", "");
        /* no bar: a price, the volume or the adjustment input missing or not positive */
        if (!(rp->o > 0 && rp->h > 0 && rp->l > 0 && rp->c > 0 && rp->v >= 0))
            rp->flags |= ROW_NOBAR;
        if (base_flags && !(rp->adj > 0)) rp->flags |= ROW_NOBAR;
        if (rp->vwap > 0) rp->flags |= ROW_VWAP;
        if (rp->flags & ROW_NOBAR) t->st.no_bar++;
        if (!t->n || rp->date < t->date_min) t->date_min = rp->date;
        if (!t->n || rp->date > t->date_max) t->date_max = rp->date;
        t->any_flags |= rp->flags;
        t->st.rows++;
        t->n++;
    }
    return 0;
}

void data_rows_append(struct data_rows *t, const struct data_rows *src) {
    uint32_t *sym_map = xrealloc(NULL, (src->nsyms ? src->nsyms : 1) * sizeof *sym_map);
    /* src ids are in order of first appearance, so interning them in id order
     * hands out new ids in the order a sequential read would have */
    for (size_t id = 0; id < src->nsyms; id++)
        sym_map[id] = data_rows_intern(t, data_rows_sym(src, (uint32_t)id), src->name_len[id]);
    for (size_t i = 0; i < src->nsrc; i++)
        add_src(t, src->src_names[i]);
    data_rows_reserve(t, t->n + src->n);
    if (src->n) {
        if (!t->n || src->date_min < t->date_min) t->date_min = src->date_min;
        if (!t->n || src->date_max > t->date_max) t->date_max = src->date_max;
        t->any_flags |= src->any_flags;
    }
    for (size_t i = 0; i < src->n; i++) {
        struct data_row r = src->rows[i];
        r.sym = sym_map[r.sym];
        t->rows[t->n++] = r;
    }
    t->st.files += src->st.files;
    t->st.bytes += src->st.bytes;
    t->st.rows += src->st.rows;
    t->st.rows_in_range += src->st.rows_in_range;
    t->st.no_bar += src->st.no_bar;
    t->st.dup_exact += src->st.dup_exact;
    t->st.dup_conflict += src->st.dup_conflict;
    free(sym_map);
}

int data_read_source(struct data_rows *t, const struct data_layout_spec *spec,
                     const struct data_source *src, struct buf *scratch, struct bt_err *err) {
    const char *name = src->name ? src->name : "(memory)";
    if (data_is_gzip(name, src->bytes, src->len)) {
        int rc = data_gunzip(name, src->bytes, src->len, scratch, err);
        if (rc) return rc;
        return data_read_csv(t, spec, name, scratch->p ? scratch->p : "", scratch->len, err);
    }
    return data_read_csv(t, spec, name, src->bytes ? src->bytes : "", src->len, err);
}
