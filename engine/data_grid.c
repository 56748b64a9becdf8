/* data_grid.c -- raw rows -> one winner per (date, symbol) -> panel.
 *
 * Placing rows on a grid (instead of sorting them) makes unsorted input free
 * and finds duplicates in one pass. The rules are in docs/data.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_rows.h"

/* Dates per block of the panel fill (see data_build_panel). */
#define DATA_PANEL_BLOCK 16

/* Dense key of a YYYYMMDD date in 1800..2999, for direct-indexed tables. */
#define DATE_KEYS (1200 * 372)
static int date_key(int32_t d) {
    int y = d / 10000, m = d / 100 % 100, dd = d % 100;
    return (y - 1800) * 372 + (m - 1) * 31 + (dd - 1);
}

void data_grid_free(struct data_grid *g) {
    free(g->dates);
    free(g->win);
    free(g->anchor);
    memset(g, 0, sizeof *g);
}

/* Two rows say the same thing: same flags and bit-identical values. */
static int rows_same(const struct data_row *a, const struct data_row *b) {
    return a->flags == b->flags && !memcmp(&a->o, &b->o, 7 * sizeof(double));
}

int data_grid_build(struct data_rows *t, struct data_grid *g, struct bt_err *err) {
    int rc = 0;
    int32_t *sparse = NULL; /* (date key - kmin) x symbol -> winning row, -1 */
    uint8_t *used = NULL;   /* per date key: some row has it */
    size_t ns = t->nsyms;
    memset(g, 0, sizeof *g);
    /* the table spans only the keys the rows use, so small inputs stay cheap;
     * one pass over the rows places them (the rows are the big array) */
    int kmin = t->n ? date_key(t->date_min) : DATE_KEYS, kmax = t->n ? date_key(t->date_max) : -1;
    uint32_t any_flags = t->any_flags;
    size_t span = kmax >= kmin ? (size_t)(kmax - kmin + 1) : 0;
    if (ns > INT32_MAX || (ns && span > ((size_t)1 << 31) / ns)) {
        rc = bt_err_set(err, BT_ELIMIT, NULL, "data: %zu days x %zu symbols is too large a panel",
                        span, ns);
        goto fail;
    }
    size_t nsparse = span * ns, ncells;
    sparse = malloc((nsparse > 0 ? nsparse : 1) * sizeof *sparse);
    used = calloc(span ? span : 1, 1);
    g->anchor = malloc((ns ? ns : 1) * sizeof *g->anchor);
    if (!sparse || !used || !g->anchor) abort();
    memset(sparse, 0xff, nsparse * sizeof *sparse); /* -1 */
    for (size_t i = 0; i < t->n; i++) {
        const struct data_row *r = &t->rows[i];
        size_t k = (size_t)(date_key(r->date) - kmin);
        used[k] = 1;
        size_t cell = k * ns + r->sym;
        int32_t w = sparse[cell];
        if (w < 0) {
            sparse[cell] = (int32_t)i;
            continue;
        }
        const struct data_row *old = &t->rows[w];
        if (rows_same(old, r)) {
            t->st.dup_exact++;
            continue;
        }
        t->st.dup_conflict++;
        /* a bar beats a no-bar row; otherwise the later row is the correction */
        if (!(old->flags & ROW_NOBAR) && (r->flags & ROW_NOBAR)) continue;
        sparse[cell] = (int32_t)i;
    }
    int nd = 0;
    for (size_t k = 0; k < span; k++)
        nd += used[k];
    g->ndates = nd;
    g->nsyms = (int)ns;
    g->dates = malloc((nd ? (size_t)nd : 1) * sizeof *g->dates);
    ncells = (size_t)nd * ns;
    g->win = malloc((ncells > 0 ? ncells : 1) * sizeof *g->win);
    if (!g->dates || !g->win) abort();
    nd = 0;
    for (size_t k = 0; k < span; k++) {
        if (!used[k]) continue;
        size_t key = k + (size_t)kmin;
        g->dates[nd] =
            (int32_t)((1800 + key / 372) * 10000 + (key % 372 / 31 + 1) * 100 + key % 31 + 1);
        memcpy(g->win + (size_t)nd * ns, sparse + k * ns, ns * sizeof *g->win);
        nd++;
    }
    for (size_t s = 0; s < t->nsyms; s++) {
        g->anchor[s] = NAN;
        /* without factor rows every anchor is NaN: skip the strided walk over
         * every cell and the cache misses into the row table it costs */
        if (!(any_flags & ROW_ADJ_FACTOR)) continue;
        for (int d = g->ndates - 1; d >= 0; d--) {
            int32_t w = g->win[(size_t)d * t->nsyms + s];
            if (w < 0) continue;
            const struct data_row *r = &t->rows[w];
            if ((r->flags & ROW_ADJ_FACTOR) && r->adj > 0) {
                g->anchor[s] = r->adj;
                break;
            }
        }
    }
fail:
    free(sparse);
    free(used);
    if (rc) data_grid_free(g);
    return rc;
}

/* The panel fill calls this per cell: inline there, exported for import. */
static inline int row_adjusted(const struct data_row *r, double anchor, double out[PF_COUNT]) {
    if (r->flags & ROW_NOBAR) return 0;
    double o = r->o, h = r->h, l = r->l, c = r->c, vw = r->vwap;
    if (r->flags & ROW_ADJ_FACTOR) {
        if (!(anchor > 0)) return 0;
        /* the workshop's price * accumadjfactor / accumadjfactor_latest, in that order */
        o = o * r->adj / anchor;
        h = h * r->adj / anchor;
        l = l * r->adj / anchor;
        c = c * r->adj / anchor;
        vw = vw * r->adj / anchor;
    } else if (r->flags & ROW_ADJ_CLOSE) {
        double k = r->adj / r->c;
        o *= k;
        h *= k;
        l *= k;
        c *= k;
        vw *= k;
    }
    out[PF_OPEN] = o;
    out[PF_HIGH] = h;
    out[PF_LOW] = l;
    out[PF_CLOSE] = c;
    out[PF_VOLUME] = r->v;
    out[PF_VWAP] = (r->flags & ROW_VWAP) ? vw : (h + l + c) / 3.0;
    return 1;
}

int data_row_adjusted(const struct data_row *r, double anchor, double out[PF_COUNT]) {
    return row_adjusted(r, anchor, out);
}

/* strcmp order of symbol ids, through the row table's names (qsort_r keeps
 * it reentrant: a runner may load in several threads). */
static int cmp_sym(const void *a, const void *b, void *ctx) {
    const struct data_rows *t = ctx;
    return strcmp(data_rows_sym(t, *(const uint32_t *)a), data_rows_sym(t, *(const uint32_t *)b));
}

int data_build_panel(const struct data_rows *t, const struct data_grid *g, int32_t from, int32_t to,
                     struct panel *out, struct bt_err *err) {
    int rc = 0;
    size_t ns = t->nsyms;
    uint32_t *syms = NULL;
    int32_t *col = NULL;        /* symbol id -> panel column, -1 when absent */
    int d0 = 0, d1 = g->ndates; /* dates in range: [d0, d1) */
    memset(out, 0, sizeof *out);
    while (d0 < d1 && from && g->dates[d0] < from)
        d0++;
    while (d1 > d0 && to && g->dates[d1 - 1] > to)
        d1--;
    syms = malloc((ns ? ns : 1) * sizeof *syms);
    col = malloc((ns ? ns : 1) * sizeof *col);
    if (!syms || !col) abort();
    size_t nkeep = 0;
    for (size_t s = 0; s < ns; s++) {
        col[s] = -1;
        for (int d = d0; d < d1; d++)
            if (g->win[(size_t)d * ns + s] >= 0) {
                syms[nkeep++] = (uint32_t)s;
                break;
            }
    }
    qsort_r(syms, nkeep, sizeof *syms, cmp_sym, (void *)t);
    for (size_t i = 0; i < nkeep; i++)
        col[syms[i]] = (int32_t)i;
    /* every date in range has a row: the grid holds only dates some row has */
    rc = panel_alloc_unfilled(out, d1 - d0, (int)nkeep);
    if (rc) {
        bt_err_set(err, rc, NULL, "data: panel of %d dates x %zu symbols is too large", d1 - d0,
                   nkeep);
        goto fail;
    }
    for (size_t i = 0; i < nkeep; i++)
        panel_set_sym(out, (int)i, data_rows_sym(t, syms[i]));
    for (int d = d0; d < d1; d++)
        out->dates[d - d0] = g->dates[d];
    /* Blocks of dates, a symbol at a time: a vendor file's rows lie one after
     * the other, so the reads walk memory in order instead of jumping a whole
     * history per cell; the block's panel rows stay in cache for the writes. */
    for (int b0 = d0; b0 < d1; b0 += DATA_PANEL_BLOCK) {
        int b1 = b0 + DATA_PANEL_BLOCK < d1 ? b0 + DATA_PANEL_BLOCK : d1;
        /* every cell of the block is visited once (each panel column is a
         * kept symbol): a cell without a bar gets its NaN here, so the panel
         * is written once (panel_alloc_unfilled) */
        for (size_t s = 0; s < ns; s++) {
            if (col[s] < 0) continue;
            for (int d = b0; d < b1; d++) {
                int32_t w = g->win[(size_t)d * ns + s];
                double v[PF_COUNT];
                size_t at = panel_idx(out, d - d0, col[s]);
                if (w < 0 || !row_adjusted(&t->rows[w], g->anchor[s], v))
                    for (int f = 0; f < PF_COUNT; f++)
                        v[f] = NAN;
                for (int f = 0; f < PF_COUNT; f++)
                    out->f[f][at] = v[f];
            }
        }
    }
fail:
    free(syms);
    free(col);
    return rc;
}
