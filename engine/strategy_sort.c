/* strategy_sort.c -- the stable radix sort behind the per-date orders
 * (contract in strategy_sort.h). */
#include "strategy_sort.h"

/* Stable LSD radix sort of (key, val) by 32-bit key, bytes all keys share
 * skipped. Returns whether the result sits in ktmp/vtmp (odd pass count). */
static int radix_u32(uint32_t *key, int *val, int n, uint32_t *ktmp, int *vtmp) {
    uint32_t cnt[4][256];
    memset(cnt, 0, sizeof cnt);
    for (int i = 0; i < n; i++) {
        uint32_t k = key[i];
        cnt[0][k & 255]++;
        cnt[1][k >> 8 & 255]++;
        cnt[2][k >> 16 & 255]++;
        cnt[3][k >> 24]++;
    }
    uint32_t *ks = key, *kd = ktmp;
    int *vs = val, *vd = vtmp, swapped = 0;
    for (int b = 0; b < 4; b++) {
        uint32_t *c = cnt[b];
        if (c[(ks[0] >> (8 * b)) & 255] == (uint32_t)n) continue;
        uint32_t sum = 0;
        for (int i = 0; i < 256; i++) {
            uint32_t t = c[i];
            c[i] = sum;
            sum += t;
        }
        for (int i = 0; i < n; i++) {
            uint32_t at = c[(ks[i] >> (8 * b)) & 255]++;
            kd[at] = ks[i];
            vd[at] = vs[i];
        }
        uint32_t *kt = ks;
        int *vt = vs;
        ks = kd, vs = vd, kd = kt, vd = vt;
        swapped = !swapped;
    }
    return swapped;
}

void sort_order_doubles(const double *x, int *sym, int n, uint32_t *key, int *tmp) {
    if (n < 2) return;
    for (int i = 0; i < n; i++)
        key[i] = (uint32_t)(sort_key(x[sym[i]]) >> 32);
    if (radix_u32(key, sym, n, key + n, tmp)) {
        memcpy(key, key + n, (size_t)n * sizeof *key);
        memcpy(sym, tmp, (size_t)n * sizeof *sym);
    }
    /* neighbours equal in the upper half: order them by the whole key,
     * stably (equal keys keep ascending symbols) */
    for (int i = 1; i < n; i++) {
        if (key[i] != key[i - 1]) continue;
        int v = sym[i], j = i;
        uint64_t kv = sort_key(x[v]);
        for (; j > 0 && key[j - 1] == key[i] && sort_key(x[sym[j - 1]]) > kv; j--)
            sym[j] = sym[j - 1];
        sym[j] = v;
    }
}
