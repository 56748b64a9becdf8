/* panel.c -- allocation and lookups for struct panel. */
#include "panel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"

/* calloc that aborts: see buf.h for why OOM is not a status here. */
static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) abort();
    return p;
}

/* Huge pages pay off only for arrays of several of them. */
#define PANEL_HUGE ((size_t)2 << 20)

void *panel_big_alloc(size_t bytes) {
    void *a;
    if (bytes < 2 * PANEL_HUGE) {
        a = malloc(bytes ? bytes : 1);
    } else {
        size_t n = (bytes + PANEL_HUGE - 1) & ~(PANEL_HUGE - 1);
        a = aligned_alloc(PANEL_HUGE, n);
#ifdef MADV_HUGEPAGE
        if (a) (void)madvise(a, n, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    }
    if (!a) abort();
    return a;
}

int panel_alloc(struct panel *p, int ndates, int nsyms) {
    int rc = panel_alloc_unfilled(p, ndates, nsyms);
    if (rc) return rc;
    size_t cells = (size_t)ndates * (size_t)nsyms;
    for (int f = 0; f < PF_COUNT; f++)
        for (size_t i = 0; i < cells; i++)
            p->f[f][i] = NAN;
    return 0;
}

int panel_alloc_unfilled(struct panel *p, int ndates, int nsyms) {
    memset(p, 0, sizeof *p);
    if (ndates < 0 || nsyms < 0) return BT_ELIMIT;
    size_t cells = (size_t)ndates * (size_t)nsyms;
    if (ndates && cells / (size_t)ndates != (size_t)nsyms) return BT_ELIMIT;
    if (cells > ((size_t)1 << 31)) return BT_ELIMIT;
    p->ndates = ndates;
    p->nsyms = nsyms;
    p->dates = xcalloc((size_t)ndates, sizeof *p->dates);
    p->syms = xcalloc((size_t)nsyms, sizeof *p->syms);
    for (int f = 0; f < PF_COUNT; f++)
        p->f[f] = panel_big_alloc(cells * sizeof(double));
    return 0;
}

void panel_free(struct panel *p) {
    if (!p) return;
    if (p->syms)
        for (int s = 0; s < p->nsyms; s++)
            free(p->syms[s]);
    free(p->syms);
    free(p->dates);
    for (int f = 0; f < PF_COUNT; f++)
        free(p->f[f]);
    memset(p, 0, sizeof *p);
}

void panel_set_sym(struct panel *p, int s, const char *name) {
    size_t n = strlen(name);
    char *c = malloc(n + 1);
    if (!c) abort();
    memcpy(c, name, n + 1);
    free(p->syms[s]);
    p->syms[s] = c;
}

int panel_lower_date(const struct panel *p, int32_t date) {
    int lo = 0, hi = p->ndates;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (p->dates[mid] < date)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int panel_find_date(const struct panel *p, int32_t date) {
    int i = panel_lower_date(p, date);
    return i < p->ndates && p->dates[i] == date ? i : -1;
}

int panel_find_sym(const struct panel *p, const char *sym) {
    int lo = 0, hi = p->nsyms;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(p->syms[mid], sym);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
