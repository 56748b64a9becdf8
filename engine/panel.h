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

#endif
