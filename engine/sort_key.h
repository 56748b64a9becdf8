/* sort_key.h -- the one order-preserving map from doubles to unsigned keys
 * behind the engine's radix sorts (cross-sectional rank, per-date orders).
 * Engine-internal. */
#ifndef BTPIPE_SORT_KEY_H
#define BTPIPE_SORT_KEY_H

#include <stdint.h>
#include <string.h>

/* a < b <=> sort_key(a) < sort_key(b) for non-NaN doubles, and -0.0 and 0.0
 * get the same key because they compare equal (ties must stay ties). */
static inline uint64_t sort_key(double x) {
    uint64_t b;
    /* + 0.0 turns -0.0 into 0.0 and leaves every other value as it is */
    x += 0.0;
    memcpy(&b, &x, sizeof b);
    /* negatives: every bit flipped; the rest: the sign bit set */
    return b ^ ((uint64_t)((int64_t)b >> 63) | (uint64_t)1 << 63);
}

#endif
