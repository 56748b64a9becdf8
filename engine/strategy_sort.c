/* strategy_sort.c -- the sorts behind the per-date orders (contract in
 * strategy_sort.h): a stable radix sort anywhere, an AVX-512 bitonic sort
 * of the row where the CPU has it. */
#include <math.h>

#include "cpu.h"
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
int sort_order_row_radix(const double *row, int nsyms, int *sym, uint64_t *scratch) {
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

/* The bitonic sort below holds at most this many words (on the stack). */
#define ROW_MAX 4096

/* v against partner p lane by lane: the lanes in hi keep the larger word. */
AVX512_INLINE __m512i cx(__m512i v, __m512i p, __mmask8 hi) {
    return _mm512_mask_blend_epi64(hi, _mm512_min_epu64(v, p), _mm512_max_epu64(v, p));
}

AVX512_INLINE __m512i rev8(__m512i v) {
    return _mm512_permutexvar_epi64(_mm512_set_epi64(0, 1, 2, 3, 4, 5, 6, 7), v);
}

/* Partner lanes: lane ^ 1, lane ^ 2 and lane ^ 4 (in-lane shuffles:
 * shorter latency than a full permute). */
#define P1(v) _mm512_shuffle_epi32(v, _MM_PERM_BADC)
#define P2(v) _mm512_permutex_epi64(v, 0x4E)
#define P4(v) _mm512_shuffle_i64x2(v, v, 0x4E)

/* The half-cleaners of strides 4, 2, 1 inside one vector: a bitonic run
 * of eight comes out ascending. */
AVX512_INLINE __m512i tail8(__m512i v) {
    v = cx(v, P4(v), 0xF0);
    v = cx(v, P2(v), 0xCC);
    return cx(v, P1(v), 0xAA);
}

/* Flip step across vectors: lane l of a meets lane 7 - l of b. */
AVX512_INLINE void flip(__m512i *a, __m512i *b) {
    __m512i r = rev8(*b);
    __m512i lo = _mm512_min_epu64(*a, r), hi = _mm512_max_epu64(*a, r);
    *a = lo;
    *b = rev8(hi);
}

/* Half-cleaner step across vectors: lane l of a meets lane l of b. */
AVX512_INLINE void half(__m512i *a, __m512i *b) {
    __m512i lo = _mm512_min_epu64(*a, *b), hi = _mm512_max_epu64(*a, *b);
    *a = lo;
    *b = hi;
}

/* r[0..8) transposed as an 8x8 matrix of words: lane i of r[j] goes to
 * lane j of r[i]. */
AVX512_INLINE void transpose8(__m512i r[8]) {
    __m512i t[8], s[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_epi64(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi64(r[i], r[i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm512_shuffle_i64x2(t[i], t[i + 2], 0x88);
        s[i + 1] = _mm512_shuffle_i64x2(t[i + 1], t[i + 3], 0x88);
        s[i + 2] = _mm512_shuffle_i64x2(t[i], t[i + 2], 0xDD);
        s[i + 3] = _mm512_shuffle_i64x2(t[i + 1], t[i + 3], 0xDD);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i64x2(s[i], s[i + 4], 0x88);
        r[i + 4] = _mm512_shuffle_i64x2(s[i], s[i + 4], 0xDD);
    }
}

/* Ascending sort of 64 words held in eight registers: first each lane
 * across the eight (the 19-comparator network for eight: min and max only,
 * no shuffle), transposed into eight sorted vectors, then bitonic merges. */
AVX512_INLINE void sort64(__m512i r[8]) {
    static const unsigned char net[19][2] = {{0, 2}, {1, 3}, {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6},
                                             {3, 7}, {0, 1}, {2, 3}, {4, 5}, {6, 7}, {2, 4}, {3, 5},
                                             {1, 4}, {3, 6}, {1, 2}, {3, 4}, {5, 6}};
#pragma GCC unroll 19
    for (int i = 0; i < 19; i++)
        half(&r[net[i][0]], &r[net[i][1]]);
    transpose8(r);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2)
        flip(&r[i], &r[i + 1]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = tail8(r[i]);
    flip(&r[0], &r[3]), flip(&r[1], &r[2]), flip(&r[4], &r[7]), flip(&r[5], &r[6]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2)
        half(&r[i], &r[i + 1]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = tail8(r[i]);
    flip(&r[0], &r[7]), flip(&r[1], &r[6]), flip(&r[2], &r[5]), flip(&r[3], &r[4]);
    half(&r[0], &r[2]), half(&r[1], &r[3]), half(&r[4], &r[6]), half(&r[5], &r[7]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2)
        half(&r[i], &r[i + 1]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = tail8(r[i]);
}

/* The half-cleaners of strides 32 down to 1 over 64 words: a bitonic run
 * of 64 comes out ascending. */
AVX512_INLINE void tail64(__m512i r[8]) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        half(&r[i], &r[i + 4]);
    half(&r[0], &r[2]), half(&r[1], &r[3]), half(&r[4], &r[6]), half(&r[5], &r[7]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2)
        half(&r[i], &r[i + 1]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = tail8(r[i]);
}

/* Ascending sort of w[0..n), n a power of two >= 64, w 64-byte aligned.
 * A bitonic sort in its "flip" form: merging two sorted blocks of k / 2
 * into one of k first compares element i with element k - 1 - i, then
 * runs the half-cleaners of strides k / 4 down to 1, so every block comes
 * out ascending and no step needs a direction. Blocks of 64 are sorted in
 * registers, then each merge does its strides above 32 in memory and the
 * rest again in registers, block by block. Duplicate words would be fine;
 * the caller's are distinct anyway. */
AVX512 static void bitonic_sort(uint64_t *w, int n) {
    __m512i r[8];
    for (int b = 0; b < n; b += 64) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            r[i] = _mm512_load_si512(w + b + 8 * i);
        sort64(r);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            _mm512_store_si512(w + b + 8 * i, r[i]);
    }
    for (int k = 128; k <= n; k *= 2) {
        for (int b = 0; b < n; b += k)
            for (int a = 0; a < k / 16; a++) {
                __m512i *x = (__m512i *)(w + b + 8 * a), *y = (__m512i *)(w + b + k - 8 - 8 * a);
                __m512i u = _mm512_load_si512(x), v = _mm512_load_si512(y);
                flip(&u, &v);
                _mm512_store_si512(x, u);
                _mm512_store_si512(y, v);
            }
        for (int j = k / 4; j >= 64; j /= 2)
            for (int i = 0; i < n; i += 8) {
                if (i & j) continue;
                __m512i u = _mm512_load_si512(w + i), v = _mm512_load_si512(w + i + j);
                half(&u, &v);
                _mm512_store_si512(w + i, u);
                _mm512_store_si512(w + i + j, v);
            }
        for (int b = 0; b < n; b += 64) {
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                r[i] = _mm512_load_si512(w + b + 8 * i);
            tail64(r);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                _mm512_store_si512(w + b + 8 * i, r[i]);
        }
    }
}

/* The same order through a comparison sort: each non-NaN value's word is
 * its whole key with the symbol over the low sb bits (vectors drop the NaNs
 * as they build the words), the words are all distinct, so sorting them
 * leaves only neighbours equal above the symbol bits for tie_fix. */
AVX512 int sort_order_row_avx512(const double *row, int nsyms, int *sym, uint64_t *scratch) {
    if (nsyms > ROW_MAX) return sort_order_row_radix(row, nsyms, sym, scratch);
    if (nsyms <= 0) return 0;
    uint64_t w[ROW_MAX + 8] __attribute__((aligned(64)));
    int sb = nsyms > 1 ? 64 - __builtin_clzll((uint64_t)nsyms - 1) : 0;
    uint64_t smask = (UINT64_C(1) << sb) - 1;
    const __m512i keep = _mm512_set1_epi64((long long)~smask);
    const __m512i top = _mm512_set1_epi64((long long)(UINT64_C(1) << 63));
    __m512i idx = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i step = _mm512_set1_epi64(8);
    int m = 0;
    for (int s = 0; s < nsyms; s += 8) {
        __mmask8 in = nsyms - s >= 8 ? 0xFF : (__mmask8)((1u << (nsyms - s)) - 1);
        __m512d x = _mm512_maskz_loadu_pd(in, row + s);
        __mmask8 ok = _mm512_mask_cmp_pd_mask(in, x, x, _CMP_ORD_Q);
        /* sort_key, eight at a time */
        __m512i b = _mm512_castpd_si512(_mm512_add_pd(x, _mm512_setzero_pd()));
        __m512i k = _mm512_xor_si512(b, _mm512_or_si512(_mm512_srai_epi64(b, 63), top));
        __m512i v = _mm512_or_si512(_mm512_and_si512(k, keep), idx);
        /* compress in a register, then a plain store: a compressing
         * store to memory is microcoded and slow (w has room for it) */
        _mm512_storeu_si512(w + m, _mm512_maskz_compress_epi64(ok, v));
        m += __builtin_popcount(ok);
        idx = _mm512_add_epi64(idx, step);
    }
    if (m > 1) {
        int n = 64;
        while (n < m)
            n *= 2;
        for (int i = m; i < n; i++)
            w[i] = UINT64_MAX;
        bitonic_sort(w, n);
    }
    int i = 0;
    for (; i + 8 <= m; i += 8)
        _mm256_storeu_si256((__m256i *)(sym + i),
                            _mm512_cvtepi64_epi32(_mm512_and_si512(
                                _mm512_load_si512(w + i), _mm512_set1_epi64((long long)smask))));
    for (; i < m; i++)
        sym[i] = (int)(w[i] & smask);
    /* tie_fix, eight neighbour pairs to a test: most rows have few ties */
    for (int i = 1; i < m; i += 8) {
        __mmask8 in = m - i >= 8 ? 0xFF : (__mmask8)((1u << (m - i)) - 1);
        __m512i a = _mm512_and_si512(_mm512_maskz_loadu_epi64(in, w + i), keep);
        __m512i b = _mm512_and_si512(_mm512_maskz_loadu_epi64(in, w + i - 1), keep);
        for (unsigned eq = _mm512_mask_cmpeq_epu64_mask(in, a, b); eq; eq &= eq - 1) {
            int t = i + __builtin_ctz(eq), v = sym[t], j = t;
            uint64_t kv = sort_key(row[v]);
            for (; j > 0 && !((w[j - 1] ^ w[t]) & ~smask) && sort_key(row[sym[j - 1]]) > kv; j--)
                sym[j] = sym[j - 1];
            sym[j] = v;
        }
    }
    return m;
}

int sort_order_row(const double *row, int nsyms, int *sym, uint64_t *scratch) {
    if (cpu_level() >= CPU_AVX512) return sort_order_row_avx512(row, nsyms, sym, scratch);
    return sort_order_row_radix(row, nsyms, sym, scratch);
}

#else
int sort_order_row(const double *row, int nsyms, int *sym, uint64_t *scratch) {
    return sort_order_row_radix(row, nsyms, sym, scratch);
}

int sort_order_row_avx512(const double *row, int nsyms, int *sym, uint64_t *scratch) {
    return sort_order_row_radix(row, nsyms, sym, scratch);
}

#endif
