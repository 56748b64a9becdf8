/* strategy_sort.c -- the stable radix sort behind the per-date orders
 * (contract in strategy_sort.h). */
#include <math.h>

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

/* One stable counting pass of packed (key << 32 | symbol) values by the key
 * byte at bit `shift`; cnt is that byte's histogram. */
static void row_pass(const uint64_t *src, uint64_t *dst, int n, int shift, uint32_t *cnt) {
    uint32_t sum = 0;
    for (int i = 0; i < 256; i++) {
        uint32_t t = cnt[i];
        cnt[i] = sum;
        sum += t;
    }
    for (int i = 0; i < n; i++) {
        uint64_t v = src[i];
        dst[cnt[(v >> shift) & 255]++] = v;
    }
}

int sort_order_row(const double *row, int nsyms, int *sym, uint64_t *scratch) {
    uint64_t *a = scratch, *b = scratch + (nsyms > 0 ? nsyms : 1);
    uint32_t diff = 0, k0 = 0;
    int n = 0;
    /* key and symbol packed in one word, so each pass moves one value */
    for (int s = 0; s < nsyms; s++) {
        uint32_t k = (uint32_t)(sort_key(row[s]) >> 32);
        a[n] = (uint64_t)k << 32 | (uint32_t)s;
        n += !isnan(row[s]);
    }
    if (n > 0) k0 = (uint32_t)(a[0] >> 32);
    for (int i = 1; i < n; i++)
        diff |= (uint32_t)(a[i] >> 32) ^ k0;
    /* the histograms of the three low key bytes in one pass (the top one,
     * sign and high exponent, rarely varies: its own pass when it does),
     * alternate values counting into two sets: a skewed byte would
     * otherwise chain every increment on the one before */
    uint32_t cnt[4][2][256];
    memset(cnt, 0, sizeof cnt);
    int i = 0;
    for (; i + 1 < n; i += 2) {
        uint32_t k = (uint32_t)(a[i] >> 32), l = (uint32_t)(a[i + 1] >> 32);
        cnt[0][0][k & 255]++;
        cnt[1][0][k >> 8 & 255]++;
        cnt[2][0][k >> 16 & 255]++;
        cnt[0][1][l & 255]++;
        cnt[1][1][l >> 8 & 255]++;
        cnt[2][1][l >> 16 & 255]++;
    }
    if (i < n) {
        uint32_t k = (uint32_t)(a[i] >> 32);
        cnt[0][0][k & 255]++;
        cnt[1][0][k >> 8 & 255]++;
        cnt[2][0][k >> 16 & 255]++;
    }
    if (diff >> 24)
        for (i = 0; i < n; i++)
            cnt[3][0][a[i] >> 56]++;
    uint64_t *src = a, *dst = b;
    for (int byte = 0; byte < 4; byte++) {
        if (!(diff >> (8 * byte) & 255)) continue; /* a byte every key shares orders nothing */
        for (int j = 0; j < 256; j++)
            cnt[byte][0][j] += cnt[byte][1][j];
        row_pass(src, dst, n, 32 + 8 * byte, cnt[byte][0]);
        uint64_t *t = src;
        src = dst, dst = t;
    }
    for (int i = 0; i < n; i++)
        sym[i] = (int)(uint32_t)src[i];
    /* neighbours equal in the upper half: order them by the whole key,
     * stably (equal keys keep ascending symbols) */
    for (int i = 1; i < n; i++) {
        if (src[i] >> 32 != src[i - 1] >> 32) continue;
        int v = sym[i], j = i;
        uint64_t kv = sort_key(row[v]);
        for (; j > 0 && src[j - 1] >> 32 == src[i] >> 32 && sort_key(row[sym[j - 1]]) > kv; j--)
            sym[j] = sym[j - 1];
        sym[j] = v;
    }
    return n;
}
