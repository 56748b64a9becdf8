/* panel.h -- the engine's one data structure: dates x symbols, columnar.
 *
 * Each field is a dense ndates*nsyms array of doubles, date-major
 * (index d*nsyms + s), so that a cross-sectional operator walks contiguous
 * memory and a time-series operator keeps one running state per symbol
 * while it sweeps the rows in order. NaN means "no bar": not listed yet,
 * delisted, suspended, or a refused value. Prices are adjusted (see
 * docs/data.md for the convention of each layout). */
#ifndef BTPIPE_PANEL_H
#define BTPIPE_PANEL_H

#include <stddef.h>
#include <stdint.h>

enum panel_field {
    PF_OPEN,
    PF_HIGH,
    PF_LOW,
    PF_CLOSE,
    PF_VOLUME,
    PF_VWAP, /* from the data when it has one, else typical price (h+l+c)/3 */
    PF_COUNT
};

struct panel {
    int ndates;
    int nsyms;
    int32_t *dates;      /* YYYYMMDD, strictly ascending */
    char **syms;         /* symbol names, strictly ascending (strcmp) */
    double *f[PF_COUNT]; /* ndates*nsyms each */
};

static inline size_t panel_idx(const struct panel *p, int d, int s) {
    return (size_t)d * (size_t)p->nsyms + (size_t)s;
}

/* Allocates an ndates x nsyms panel: dates zeroed (the caller fills them in
 * ascending order), syms all NULL (set them with panel_set_sym), every field
 * NaN. Returns 0, or BT_ELIMIT when the dimensions are negative or the cell
 * count would not fit (the panel is left zeroed). Allocation failure aborts,
 * as in buf.h. */
int panel_alloc(struct panel *p, int ndates, int nsyms);
/* panel_alloc without the NaN fill: the fields hold garbage until the caller
 * writes every cell (the loader fills its panel block by block, so the
 * cells are written once, while in cache, instead of twice). */
int panel_alloc_unfilled(struct panel *p, int ndates, int nsyms);
/* Memory for one big array (a panel field, the loader's row table), backed
 * by transparent huge pages where the kernel allows it: first touching a
 * fresh 30 MB panel page by page was a sixth of a load's time in the
 * kernel. Release it with free(); never NULL (aborts, as in buf.h). */
void *panel_big_alloc(size_t bytes);
/* Frees everything panel_alloc made, including each syms[i], and zeroes *p.
 * Safe on a zeroed panel and twice in a row. */
void panel_free(struct panel *p);
/* Copies name into syms[s] (freeing what was there). */
void panel_set_sym(struct panel *p, int s, const char *name);
/* Index of date (YYYYMMDD) in p->dates, or -1. Binary search. */
int panel_find_date(const struct panel *p, int32_t date);
/* First index whose date is >= date (ndates when none): for range starts. */
int panel_lower_date(const struct panel *p, int32_t date);
/* Index of sym in p->syms, or -1. Binary search (syms are strcmp-sorted). */
int panel_find_sym(const struct panel *p, const char *sym);

#endif
