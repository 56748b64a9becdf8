/* data_grid.c -- raw rows -> one winner per (date, symbol) -> panel.
 *
 * Placing rows on a grid (instead of sorting them) makes unsorted input free
 * and finds duplicates in one pass. The rules are in docs/data.md. */
#include <math.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "data_rows.h"
#include "par.h"

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

/* The table's rows as parts: its own when the loader kept them apart, else
 * one part holding all of them (ids already the table's). */
static const struct data_part *rows_parts(const struct data_rows *t, struct data_part *whole,
                                          size_t *np) {
    if (t->parts) {
        *np = t->nparts;
        return t->parts;
    }
    *whole = (struct data_part){t->rows, t->n, 0, NULL, 0};
    *np = 1;
    return whole;
}

/* The part holding row i (< t->n): the last with off <= i, which is never
 * an empty one. */
static size_t part_of(const struct data_part *ps, size_t np, size_t i) {
    size_t lo = 0, hi = np; /* ps[lo].off <= i < ps[hi].off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps[mid].off <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Row i, *hint being the part the last lookup found: the rows of one
 * symbol mostly come from one part, so the search is rarely needed. */
static inline const struct data_row *row_at(const struct data_part *ps, size_t np, size_t i,
                                            size_t *hint) {
    size_t p = *hint;
    if (i < ps[p].off || i - ps[p].off >= ps[p].n) *hint = p = part_of(ps, np, i);
    return &ps[p].rows[i - ps[p].off];
}

/* The grid's big arrays, in huge pages where the system gives them: fresh
 * memory either way (a load's first touch of them), so a fault per 2 MiB
 * instead of one per 4 KiB; small ones come from malloc. */
#define GRID_HUGE ((size_t)2 << 20)
static void *grid_alloc(size_t bytes) {
    if (bytes < GRID_HUGE / 2) {
        void *p = malloc(bytes ? bytes : 1);
        if (!p) abort();
        return p;
    }
    size_t n = (bytes + GRID_HUGE - 1) & ~(GRID_HUGE - 1);
    void *p = aligned_alloc(GRID_HUGE, n);
    if (!p) abort();
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return p;
}

/* Rows per task of the grid's first pass; fewer rows than this (or panel
 * cells, for the fill) are done in one task on the calling thread, where
 * waking the workers would cost more than they save. */
#define GRID_CHUNK 65536

/* The grid build's state, shared by its tasks. */
struct grid_job {
    struct data_rows *t;
    struct data_grid *g;
    const struct data_part *ps; /* the rows, by part */
    size_t np;
    int kmin;
    uint64_t *cellkey; /* per row: (date key - kmin) << 32 | symbol id */
    uint8_t *used;     /* per date key: some row has it */
    int32_t *kidx;     /* per date key: its grid date index */
    int nblocks;       /* tasks of the second pass */
    size_t (*dups)[2]; /* per block: exact, conflicting duplicates */
};

/* First pass over a chunk of rows: each row's date key (the one division
 * heavy step) and the date keys in use. */
static void grid_keys(void *ctx, int task, int worker) {
    (void)worker;
    struct grid_job *j = ctx;
    size_t i0 = (size_t)task * GRID_CHUNK, i1 = i0 + GRID_CHUNK;
    if (i1 > j->t->n) i1 = j->t->n;
    for (size_t i = i0, p = i0 < i1 ? part_of(j->ps, j->np, i0) : 0; i < i1; p++) {
        const struct data_part *pt = &j->ps[p];
        size_t e = pt->off + pt->n < i1 ? pt->off + pt->n : i1;
        const struct data_row *r = pt->rows + (i - pt->off);
        for (; i < e; i++, r++) {
            uint32_t k = (uint32_t)(date_key(r->date) - j->kmin);
            /* chunks share date keys: relaxed atomic stores keep it
             * race-free at the cost of a plain store */
            __atomic_store_n(&j->used[k], 1, __ATOMIC_RELAXED);
            j->cellkey[i] = (uint64_t)k << 32 | (pt->sym_map ? pt->sym_map[r->sym] : r->sym);
        }
    }
}

/* Second pass, one block of grid dates: every row of those dates, in row
 * order, placed by the duplicate rules. A cell belongs to exactly one block
 * and sees its rows in the order a single pass would, so the winners and
 * the counts do not depend on how the dates are split. */
static void grid_place(void *ctx, int task, int worker) {
    (void)worker;
    struct grid_job *j = ctx;
    struct data_rows *t = j->t;
    struct data_grid *g = j->g;
    size_t ns = (size_t)g->nsyms;
    int q0 = (int)((int64_t)g->ndates * task / j->nblocks);
    int q1 = (int)((int64_t)g->ndates * (task + 1) / j->nblocks);
    size_t exact = 0, conflict = 0, hint = 0;
    if (q0 < q1) {
        memset(g->win + (size_t)q0 * ns, 0xff, (size_t)(q1 - q0) * ns * sizeof *g->win); /* -1 */
        uint64_t lo = (uint64_t)(date_key(g->dates[q0]) - j->kmin) << 32;
        uint64_t hi =
            q1 < g->ndates ? (uint64_t)(date_key(g->dates[q1]) - j->kmin) << 32 : UINT64_MAX;
        for (size_t i = 0; i < t->n; i++) {
            uint64_t ck = j->cellkey[i];
            if (ck < lo || ck >= hi) continue;
            size_t cell = (size_t)j->kidx[ck >> 32] * ns + (uint32_t)ck;
            int32_t w = g->win[cell];
            if (w < 0) {
                g->win[cell] = (int32_t)i;
                continue;
            }
            const struct data_row *old = row_at(j->ps, j->np, (size_t)w, &hint);
            const struct data_row *r = row_at(j->ps, j->np, i, &hint);
            if (rows_same(old, r)) {
                exact++;
                continue;
            }
            conflict++;
            /* a bar beats a no-bar row; otherwise the later row is the correction */
            if (!(old->flags & ROW_NOBAR) && (r->flags & ROW_NOBAR)) continue;
            g->win[cell] = (int32_t)i;
        }
    }
    j->dups[task][0] = exact;
    j->dups[task][1] = conflict;
}

/* Anchors of a block of symbols: the factor on each one's latest bar. */
static void grid_anchor(void *ctx, int task, int worker) {
    (void)worker;
    struct grid_job *j = ctx;
    struct data_grid *g = j->g;
    size_t ns = (size_t)g->nsyms, hint = 0;
    size_t s0 = ns * (size_t)task / (size_t)j->nblocks,
           s1 = ns * (size_t)(task + 1) / (size_t)j->nblocks;
    for (size_t s = s0; s < s1; s++) {
        g->anchor[s] = NAN;
        for (int d = g->ndates - 1; d >= 0; d--) {
            int32_t w = g->win[(size_t)d * ns + s];
            if (w < 0) continue;
            const struct data_row *r = row_at(j->ps, j->np, (size_t)w, &hint);
            if ((r->flags & ROW_ADJ_FACTOR) && r->adj > 0) {
                g->anchor[s] = r->adj;
                break;
            }
        }
    }
}

int data_grid_build(struct data_rows *t, struct data_grid *g, struct bt_err *err) {
    int rc = 0;
    struct data_part whole;
    struct grid_job j = {t, g, NULL, 0, 0, NULL, NULL, NULL, 1, NULL};
    size_t ns = t->nsyms;
    j.ps = rows_parts(t, &whole, &j.np);
    memset(g, 0, sizeof *g);
    /* the tables span only the keys the rows use, so small inputs stay cheap */
    int kmin = t->n ? date_key(t->date_min) : DATE_KEYS, kmax = t->n ? date_key(t->date_max) : -1;
    size_t span = kmax >= kmin ? (size_t)(kmax - kmin + 1) : 0;
    if (ns > INT32_MAX || (ns && span > ((size_t)1 << 31) / ns)) {
        rc = bt_err_set(err, BT_ELIMIT, NULL, "data: %zu days x %zu symbols is too large a panel",
                        span, ns);
        goto fail;
    }
    j.kmin = kmin;
    j.cellkey = grid_alloc(t->n * sizeof *j.cellkey);
    j.used = calloc(span ? span : 1, 1);
    j.kidx = malloc((span ? span : 1) * sizeof *j.kidx);
    g->anchor = malloc((ns ? ns : 1) * sizeof *g->anchor);
    if (!j.cellkey || !j.used || !j.kidx || !g->anchor) abort();
    par_run((int)((t->n + GRID_CHUNK - 1) / GRID_CHUNK), grid_keys, &j);
    int nd = 0;
    for (size_t k = 0; k < span; k++) {
        j.kidx[k] = nd;
        nd += j.used[k];
    }
    g->ndates = nd;
    g->nsyms = (int)ns;
    g->dates = malloc((nd ? (size_t)nd : 1) * sizeof *g->dates);
    size_t ncells = (size_t)nd * ns;
    g->win = grid_alloc(ncells * sizeof *g->win);
    if (!g->dates || !g->win) abort();
    for (size_t k = 0; k < span; k++) {
        if (!j.used[k]) continue;
        size_t key = k + (size_t)kmin;
        g->dates[j.kidx[k]] =
            (int32_t)((1800 + key / 372) * 10000 + (key % 372 / 31 + 1) * 100 + key % 31 + 1);
    }
    /* each block scans the whole key array: one block per thread (no more
     * than there are dates), the split being irrelevant to the result */
    j.nblocks = t->n < GRID_CHUNK ? 1 : par_threads();
    if (j.nblocks > nd) j.nblocks = nd > 0 ? nd : 1;
    j.dups = calloc((size_t)j.nblocks, sizeof *j.dups);
    if (!j.dups) abort();
    par_run(j.nblocks, grid_place, &j);
    for (int b = 0; b < j.nblocks; b++) {
        t->st.dup_exact += j.dups[b][0];
        t->st.dup_conflict += j.dups[b][1];
    }
    /* without factor rows every anchor is NaN: skip the strided walk over
     * every cell and the cache misses into the row table it costs */
    if (t->any_flags & ROW_ADJ_FACTOR) {
        j.nblocks = t->n < GRID_CHUNK || ns < 2 ? 1 : par_threads();
        if ((size_t)j.nblocks > ns) j.nblocks = (int)ns;
        par_run(j.nblocks, grid_anchor, &j);
    } else {
        for (size_t s = 0; s < ns; s++)
            g->anchor[s] = NAN;
    }
fail:
    free(j.cellkey);
    free(j.used);
    free(j.kidx);
    free(j.dups);
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

/* The panel fill's inputs, shared by its tasks. */
struct fill_job {
    const struct data_rows *t;
    const struct data_part *ps; /* the rows, by part */
    size_t np;
    const struct data_grid *g;
    struct panel *out;
    const int32_t *col; /* symbol id -> panel column, -1 when absent */
    int d0, d1;         /* grid dates in range: [d0, d1) */
    int dates_per_task; /* DATA_PANEL_BLOCK, or all of them for a small panel */
};

/* Fills one task's dates, DATA_PANEL_BLOCK at a time, a symbol at a time: a vendor
 * file's rows lie one after the other, so the reads walk memory in order
 * instead of jumping a whole history per cell; the block's panel rows stay
 * in cache for the writes. Blocks write disjoint cells, each with the same
 * arithmetic, so they run on the workers (the fresh panel's page faults
 * with them) and the panel does not depend on the thread count. */
static void fill_block(void *ctx, int task, int worker) {
    (void)worker;
    const struct fill_job *j = ctx;
    const struct data_rows *t = j->t;
    const struct data_grid *g = j->g;
    struct panel *out = j->out;
    size_t ns = t->nsyms, hint = 0;
    int r0 = j->d0 + task * j->dates_per_task;
    int r1 = r0 + j->dates_per_task < j->d1 ? r0 + j->dates_per_task : j->d1;
    for (int b0 = r0; b0 < r1; b0 += DATA_PANEL_BLOCK) {
        int b1 = b0 + DATA_PANEL_BLOCK < r1 ? b0 + DATA_PANEL_BLOCK : r1;
        /* every cell of the block is visited once (each panel column is a
         * kept symbol): a cell without a bar gets its NaN here, so the
         * panel is written once (panel_alloc_unfilled) */
        for (size_t s = 0; s < ns; s++) {
            if (j->col[s] < 0) continue;
            for (int d = b0; d < b1; d++) {
                int32_t w = g->win[(size_t)d * ns + s];
                double v[PF_COUNT];
                size_t at = panel_idx(out, d - j->d0, j->col[s]);
                if (w < 0 || !row_adjusted(row_at(j->ps, j->np, (size_t)w, &hint), g->anchor[s], v))
                    for (int f = 0; f < PF_COUNT; f++)
                        v[f] = NAN;
                for (int f = 0; f < PF_COUNT; f++)
                    out->f[f][at] = v[f];
            }
        }
    }
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
    int per = (size_t)(d1 - d0) * nkeep < GRID_CHUNK ? d1 - d0 : DATA_PANEL_BLOCK;
    struct data_part whole;
    struct fill_job fj = {t, NULL, 0, g, out, col, d0, d1, per > 0 ? per : 1};
    fj.ps = rows_parts(t, &whole, &fj.np);
    par_run((d1 - d0 + fj.dates_per_task - 1) / fj.dates_per_task, fill_block, &fj);
fail:
    free(syms);
    free(col);
    return rc;
}
