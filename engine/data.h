/* data.h -- bars in: CSV files or in-memory objects -> struct panel.
 *
 * Three layouts, each declared as a table of column mappings (data_layout.c),
 * never hard-coded per file:
 *   daily   one file per trading date holding every symbol (the canonical
 *           layout that lands in S3: <dataset>/daily/YYYY/YYYY-MM-DD.csv.gz)
 *   ashare  one vendor file per stock (../shared/data/seed-ashare)
 *   yahoo   one vendor file per stock (../shared/data/sp500-5y)
 * Every rule (adjustment, suspension, duplicates, empty prices, zero volume)
 * is written down in docs/data.md; the tests in tests/engine_data pin them.
 *
 * The engine has no network code: the runner downloads S3 objects itself and
 * hands the bytes in as data_source values. gzip is recognised by its magic
 * bytes (or a .gz name) and inflated here. */
#ifndef BTPIPE_DATA_H
#define BTPIPE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "panel.h"

enum data_layout {
    DATA_LAYOUT_DAILY,  /* symbol,date,open,high,low,close,volume[,adj_factor|adj_close][,vwap] */
    DATA_LAYOUT_ASHARE, /* ticker,secid,tradedate,...,accumadjfactor,isopen (all quoted) */
    DATA_LAYOUT_YAHOO,  /* Date,High,Low,Open,Close,Volume,Adj Close,Name */
};

/* "daily" | "ashare" | "yahoo" -> layout. Returns 0, or BT_EINPUT (err names
 * the accepted values). */
int data_layout_parse(const char *s, enum data_layout *out, struct bt_err *err);
const char *data_layout_name(enum data_layout layout);

/* Counters a load fills in when the caller asks (data_opts.stats); they say
 * how much the cleaning rules had to do, so a caller can log it. */
struct data_stats {
    size_t files;         /* sources read */
    size_t bytes;         /* CSV bytes parsed (after gzip) */
    size_t rows;          /* data rows read (all, before the date filter) */
    size_t rows_in_range; /* rows inside [from, to] */
    size_t no_bar;        /* rows that became "no bar": empty/non-positive price, isopen false */
    size_t dup_exact;     /* exact duplicate rows dropped */
    size_t dup_conflict;  /* same symbol+date, different values: resolved by the rule */
};

struct data_opts {
    int32_t from;             /* first date kept, YYYYMMDD; 0 = open */
    int32_t to;               /* last date kept, YYYYMMDD; 0 = open */
    struct data_stats *stats; /* optional: filled when non-NULL */
};

/* One CSV object in memory. name appears in errors ("name:line:col") and a
 * name ending in .gz, or bytes starting with the gzip magic, means gzip. For
 * the yahoo layout the name also gives the symbol when a row has no Name
 * (the base name's prefix before "_data"). bytes need not be NUL-terminated. */
struct data_source {
    const char *name;
    const void *bytes;
    size_t len;
};

/* Loads paths (files or folders) into *out, which the caller frees with
 * panel_free. A folder means every *.csv and *.csv.gz in it, recursively for
 * the daily layout (YYYY/ subfolders), its top level only for the vendor
 * layouts; files are read in path order (two or more files: each read,
 * inflated and parsed as one task on the worker threads of par.h, merged in
 * path order, so the result does not depend on the thread count). opts may
 * be NULL. On error *out is
 * left empty (zeroed) and err says what and where:
 *   BT_EINPUT   malformed data; err->where = "file:line:column", the message
 *               names the column
 *   BT_EIO      a file or folder could not be read
 *   BT_ENOTFOUND no CSV file was found under the paths
 *   BT_ELIMIT   the panel would be absurdly large (> 2^31 cells) */
int data_load_files(const char *const *paths, size_t n, enum data_layout layout,
                    const struct data_opts *opts, struct panel *out, struct bt_err *err);

/* Same as data_load_files, from in-memory objects (e.g. downloaded from S3).
 * A MB or more of objects is read on the engine's worker threads (par.h),
 * one task per object; the panel, the stats and the first error in object
 * order are exactly those of a sequential read, whatever the thread count. */
int data_load_sources(const struct data_source *srcs, size_t n, enum data_layout layout,
                      const struct data_opts *opts, struct panel *out, struct bt_err *err);

/* Expands paths (files or folders) into the sorted list of CSV files the
 * loaders would read. *files_out is an array of malloc'd strings; free it with
 * data_free_list. */
int data_list_files(const char *const *paths, size_t n, enum data_layout layout, char ***files_out,
                    size_t *nfiles_out, struct bt_err *err);
void data_free_list(char **files, size_t n);

/* Called while importing: phase is "read" (done/total = files) or "write"
 * (done/total = dates). */
typedef void (*data_progress_fn)(void *ctx, const char *phase, size_t done, size_t total);

struct data_import_opts {
    int32_t from, to;          /* date filter as in data_opts; 0 = open */
    int gzip;                  /* write .csv.gz (else .csv) */
    data_progress_fn progress; /* optional */
    void *progress_ctx;
    struct data_stats *stats; /* optional */
    size_t *dates_written;    /* optional: number of partitions written */
};

/* Turns per-symbol histories (ashare or yahoo, or daily files to re-partition)
 * into canonical daily partitions <out_dir>/<YYYY>/<YYYY-MM-DD>.csv[.gz].
 * Prices are written raw, with the adjustment input carried along as a column
 * (adj_factor for ashare, adj_close for yahoo) so that loading the partitions
 * with DATA_LAYOUT_DAILY gives exactly the panel the vendor files give. Rows
 * that are no bar (suspended, empty price) are written with empty prices, so
 * the date axis survives the round trip. Existing files are overwritten. */
int data_import(const char *const *paths, size_t n, enum data_layout layout,
                const struct data_import_opts *opts, const char *out_dir, struct bt_err *err);

/* Parses YYYY-MM-DD or YYYYMMDD (a real calendar date, years 1800..2999) into
 * YYYYMMDD. Returns 0 or BT_EINPUT. */
int data_parse_date(const char *s, int32_t *out, struct bt_err *err);

#endif
