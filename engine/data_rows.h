/* data_rows.h -- the data layer's inside: declared column mappings, the row
 * table readers fill, and the grid that resolves duplicates. Not part of the
 * engine's public interface (that is data.h); shared by data_*.c and tests.
 *
 * The pipeline: each CSV object is read by its layout's column table into
 * raw rows (data_read.c) -> the rows are placed on a dates x symbols grid,
 * duplicates resolved, adjustment anchors found (data_grid.c) -> the grid is
 * turned into a panel (data_grid.c) or written as daily partitions
 * (data_import.c). */
#ifndef BTPIPE_DATA_ROWS_H
#define BTPIPE_DATA_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "data.h"

/* What a CSV column means to us. */
enum data_field {
    DF_NONE, /* ignored */
    DF_SYMBOL,
    DF_DATE,
    DF_OPEN,
    DF_HIGH,
    DF_LOW,
    DF_CLOSE,
    DF_VOLUME,
    DF_VWAP,
    DF_ADJ_FACTOR, /* cumulative factor: price * f / f(latest date) */
    DF_ADJ_CLOSE,  /* adjusted close: price * (adj_close / close) */
    DF_ISOPEN,     /* "true"/"false": false is a suspended day, no bar */
    DF_COUNT
};

#define DATA_COL_REQUIRED 1u

/* One declared column: header name (matched case-insensitively) -> field. */
struct data_colmap {
    const char *header;
    enum data_field field;
    unsigned flags;
};

struct data_layout_spec {
    enum data_layout layout;
    const char *name;
    const struct data_colmap *cols;
    size_t ncols;
    int recursive;               /* folders are searched recursively */
    const char *sym_file_suffix; /* symbol from file name before this, when the
                                    symbol column is absent or empty; NULL: never */
};

const struct data_layout_spec *data_layout_spec(enum data_layout layout);
const char *data_field_name(enum data_field f);

/* Row flags. */
enum {
    ROW_NOBAR = 1,      /* no bar that day: suspended, empty or non-positive price */
    ROW_VWAP = 2,       /* vwap came from the data */
    ROW_ADJ_FACTOR = 4, /* adj holds a cumulative factor */
    ROW_ADJ_CLOSE = 8,  /* adj holds an adjusted close */
};

struct data_date_memo;

/* One data row as read: raw (unadjusted) values, NaN where empty. 64 bytes:
 * the table is the load's biggest array, written once and read twice. */
#define DATA_MAX_SYMS ((size_t)1 << 28)
struct data_row {
    int32_t date;                    /* YYYYMMDD */
    uint32_t sym : 28;               /* interned symbol id (< DATA_MAX_SYMS) */
    uint32_t flags : 4;              /* ROW_* */
    double o, h, l, c, v, vwap, adj; /* in this order: readers index them */
};

/* A run of rows kept where a loader's per-object read left them: the grid
 * and the panel fill read them in place instead of from one merged copy. */
struct data_part {
    struct data_row *rows; /* in the table's arena, or its own when owned */
    size_t n;
    size_t off;        /* index of its first row in the whole table */
    uint32_t *sym_map; /* owned: its rows' symbol ids -> the table's */
    int owned;         /* rows is panel_big_alloc memory of its own */
};

/* A block of row memory that parts share (its rows follow this header):
 * a few big blocks fault in as huge pages where hundreds of small tables
 * would take a 4 KiB page fault each. */
struct data_arena_chunk {
    struct data_arena_chunk *next;
    char pad[56]; /* keeps the rows after it 64-byte aligned */
};

struct data_rows {
    struct data_row *rows;   /* NULL when the rows are in parts */
    size_t n, cap;           /* n: every row, in rows or in parts */
    struct data_part *parts; /* when set, rows[i] is in the part with the
                                greatest off <= i, its sym through sym_map */
    size_t nparts;
    struct data_arena_chunk *arena; /* owned: the chunks parts' rows are in */
    int rows_borrowed;              /* rows is arena memory: never freed here */
    struct buf names;               /* interned symbol names, NUL-separated */
    uint32_t *name_off;             /* per symbol id: offset into names.p */
    uint32_t *name_len;
    size_t nsyms, cap_syms;
    uint32_t *hash; /* open addressing: symbol id + 1, 0 = empty slot */
    size_t hcap;
    struct data_date_memo *dates; /* the fast path's date cache (data_read.c) */
    char **src_names;             /* per source, owned copies for error messages */
    size_t nsrc, cap_src;
    struct data_stats st;
    /* kept up as rows are added, so that the grid needs no pass of its own
     * over the row table to find its date span */
    int32_t date_min, date_max; /* of every row; meaningful when n > 0 */
    uint32_t any_flags;         /* OR of every row's flags */
};

void data_rows_init(struct data_rows *t);
void data_rows_free(struct data_rows *t);
static inline const char *data_rows_sym(const struct data_rows *t, uint32_t id) {
    return t->names.p + t->name_off[id];
}

/* Makes room for at least rows rows in all (panel_big_alloc memory). */
void data_rows_reserve(struct data_rows *t, size_t rows);

/* Interns a symbol name, returning its id. */
uint32_t data_rows_intern(struct data_rows *t, const char *s, size_t n);

/* Reads one plain (already inflated) CSV object into t. Rows are parsed in
 * place by fast paths (a row split at its commas first, else one pass over
 * it); any row they do not fully accept is re-read by the general
 * tokenizer, which also makes every error message. data_read_fast_path:
 * 1 (the default) the fast paths, with the AVX-512 row splitter when the
 * processor has it (chosen at run time); 2 the portable fast paths only
 * (what a processor without AVX-512 runs); 0 the general path only. Tests
 * and fuzzers compare all three: same panel, bit for bit, same errors. */
extern int data_read_fast_path;
/* 1 makes the loaders read sequentially; 0 (the default) reads several
 * objects on par_threads() workers. Both give the same panel and the same
 * first error; tests compare them. */
extern int data_load_threads;
int data_read_csv(struct data_rows *t, const struct data_layout_spec *spec, const char *name,
                  const char *csv, size_t len, struct bt_err *err);

/* Appends everything read into src (rows, symbols, sources, counters) to t,
 * as if src's objects had been read into t after t's own: the row order and
 * the symbol ids come out exactly as one sequential read makes them. */
void data_rows_append(struct data_rows *t, const struct data_rows *src);

/* Reads one object, inflating it first when it is gzip; scratch is reused. */
int data_read_source(struct data_rows *t, const struct data_layout_spec *spec,
                     const struct data_source *src, struct buf *scratch, struct bt_err *err);

/* A reusable gzip inflater (one per worker: allocating libdeflate's
 * decompressor per object costs more than small objects take to inflate). */
struct data_gz;
struct data_gz *data_gz_new(void);
void data_gz_free(struct data_gz *z);

/* gzip (and zlib) detection and inflation; out is reset first. Concatenated
 * gzip members are all inflated. Refuses output beyond 4 GiB (BT_ELIMIT). */
int data_is_gzip(const char *name, const void *bytes, size_t len);
int data_gunzip(const char *name, const void *in, size_t len, struct buf *out, struct bt_err *err);
int data_gunzip_gz(struct data_gz *gz, const char *name, const void *in, size_t len,
                   struct buf *out, struct bt_err *err);

/* Rows placed on a grid of every date x every symbol seen, one winner per
 * cell after the duplicate rules (docs/data.md). */
struct data_grid {
    int32_t *dates; /* ascending, every date any row has */
    int ndates;
    int nsyms;      /* = rows->nsyms */
    int32_t *win;   /* ndates*nsyms, date-major: winning row index or -1 */
    double *anchor; /* per symbol: adj_factor on its latest date (NaN: none) */
};

int data_grid_build(struct data_rows *t, struct data_grid *g, struct bt_err *err);
void data_grid_free(struct data_grid *g);

/* Adjusted values of one winning row: o, h, l, c, v, vwap; false when the row
 * is no bar. */
int data_row_adjusted(const struct data_row *r, double anchor, double out[PF_COUNT]);

/* The panel of the grid restricted to dates in [from, to] (0 = open): dates
 * that have at least one row there, symbols that have at least one row there. */
int data_build_panel(const struct data_rows *t, const struct data_grid *g, int32_t from, int32_t to,
                     struct panel *out, struct bt_err *err);

#endif
