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

/* One stable counting pass of the words by the byte at bit `shift` (a
 * constant once inlined); cnt is that byte's histogram. */
static inline void row_pass(const uint64_t *src, uint64_t *dst, int n, int shift, uint32_t *cnt) {
    uint32_t sum = 0;
    for (int i = 0; i < 256; i += 4) {
        uint32_t t0 = cnt[i], t1 = cnt[i + 1], t2 = cnt[i + 2], t3 = cnt[i + 3];
        cnt[i] = sum;
        cnt[i + 1] = sum + t0;
        cnt[i + 2] = sum + t0 + t1;
        cnt[i + 3] = sum + t0 + t1 + t2;
        sum += t0 + t1 + t2 + t3;
    }
    for (int i = 0; i < n; i++) {
        uint64_t v = src[i];
        dst[cnt[(v >> shift) & 255]++] = v;
    }
}

/* Neighbours whose words agree above the symbol bits (hi masks those) but
 * whose whole keys may differ (bits of the key were dropped): order them by
 * the whole key, stably (equal keys keep ascending symbols). */
static void tie_fix(const double *row, const uint64_t *w, int *sym, int n, uint64_t hi) {
    for (int i = 1; i < n; i++) {
        if ((w[i] ^ w[i - 1]) & hi) continue;
        int v = sym[i], j = i;
        uint64_t kv = sort_key(row[v]);
        for (; j > 0 && !((w[j - 1] ^ w[i]) & hi) && sort_key(row[sym[j - 1]]) > kv; j--)
            sym[j] = sym[j - 1];
        sym[j] = v;
    }
}

#define MANT ((UINT64_C(1) << 52) - 1)

/* The word of key k: the code of its top 12 bits (sign and exponent), then
 * its mantissa, then (over the low sb bits, dropping as many mantissa bits)
 * the symbol. code_of holds the codes already shifted to the top. */
int sort_order_row(const double *row, int nsyms, int *sym, uint64_t *scratch) {
    if (nsyms <= 0) return 0;
    uint64_t *a = scratch, *b = scratch + nsyms;
    int n = nsyms;
    /* NaNs too: their keys lie beyond the infinities' (+NaN above +inf,
     * -NaN below -inf), so they end up at the ends, to be cut off */
    for (int s = 0; s < n; s++)
        a[s] = sort_key(row[s]);
    /* which of the 4,096 sign-and-exponent fields occur (a cross-section
     * spans a few dozen), and which key bits vary at all */
    uint64_t seen[64], diff = 0;
    memset(seen, 0, sizeof seen);
    for (int s = 0; s < n; s++) {
        seen[a[s] >> 58] |= UINT64_C(1) << (a[s] >> 52 & 63);
        diff |= a[s] ^ a[0];
    }
    int nd = 0;
    for (int w = 0; w < 64; w++)
        for (uint64_t m = seen[w]; m; m &= m - 1)
            nd++;
    int c = nd > 1 ? 64 - __builtin_clzll((uint64_t)nd - 1) : 0;
    uint64_t code_of[4096];
    nd = 0;
    for (int w = 0; w < 64; w++)
        for (uint64_t m = seen[w]; m; m &= m - 1)
            code_of[w * 64 + __builtin_ctzll(m)] = c ? (uint64_t)nd++ << (64 - c) : 0;
    int tz = diff & MANT ? __builtin_ctzll(diff & MANT) : 52;
    int sb = n > 1 ? 64 - __builtin_clzll((uint64_t)n - 1) : 0;
    uint64_t smask = (UINT64_C(1) << sb) - 1;
    /* the mantissa sits at bits [12 - c, 64 - c); the symbol overwrites
     * the ones below sb, harmless when every key shares them */
    int exact = sb - (12 - c) <= tz;
    /* the histograms of both digits, alternate words counting into two
     * sets (a skewed digit would chain every increment on the last) */
    uint32_t cnt[2][2][256];
    memset(cnt, 0, sizeof cnt);
    int i = 0;
    for (; i + 1 < n; i += 2) {
        uint64_t k = a[i], l = a[i + 1];
        uint64_t w = code_of[k >> 52] | ((k << 12 >> c) & ~smask) | (uint64_t)i;
        uint64_t v = code_of[l >> 52] | ((l << 12 >> c) & ~smask) | (uint64_t)(i + 1);
        a[i] = w;
        a[i + 1] = v;
        cnt[0][0][w >> 48 & 255]++;
        cnt[1][0][w >> 56]++;
        cnt[0][1][v >> 48 & 255]++;
        cnt[1][1][v >> 56]++;
    }
    if (i < n) {
        uint64_t k = a[i];
        uint64_t w = code_of[k >> 52] | ((k << 12 >> c) & ~smask) | (uint64_t)i;
        a[i] = w;
        cnt[0][0][w >> 48 & 255]++;
        cnt[1][0][w >> 56]++;
    }
    uint64_t first = a[0];
    uint64_t *src = a, *dst = b;
    for (int j = 0; j < 256; j++)
        cnt[0][0][j] += cnt[0][1][j];
    if (cnt[0][0][first >> 48 & 255] != (uint32_t)n) {
        row_pass(src, dst, n, 48, cnt[0][0]);
        uint64_t *tp = src;
        src = dst, dst = tp;
    }
    for (int j = 0; j < 256; j++)
        cnt[1][0][j] += cnt[1][1][j];
    if (cnt[1][0][first >> 56] != (uint32_t)n) {
        row_pass(src, dst, n, 56, cnt[1][0]);
        uint64_t *tp = src;
        src = dst, dst = tp;
    }
    /* words equal in the radix digits: insertion by the whole word */
    uint64_t u = src[0];
    sym[0] = (int)(u & smask);
    for (int i = 1; i < n; i++) {
        uint64_t v = src[i];
        if (v > u) {
            sym[i] = (int)(v & smask);
            u = v;
            continue;
        }
        int j = i;
        do {
            src[j] = src[j - 1];
            sym[j] = sym[j - 1];
            j--;
        } while (j > 0 && src[j - 1] > v);
        src[j] = v;
        sym[j] = (int)(v & smask);
        u = src[i];
    }
    if (!exact) tie_fix(row, src, sym, n, ~smask);
    /* cut the NaNs off both ends */
    int lo = 0, hi = n;
    while (lo < hi && isnan(row[sym[lo]]))
        lo++;
    while (hi > lo && isnan(row[sym[hi - 1]]))
        hi--;
    if (lo) memmove(sym, sym + lo, (size_t)(hi - lo) * sizeof *sym);
    return hi - lo;
}
