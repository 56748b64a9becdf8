/* test_rng.h -- a small deterministic generator (xorshift64*) for
 * reproducible test cases; each test file gets its own sequence, from
 * TEST_RNG_SEED when it defines one before including this. */
#ifndef BTPIPE_TEST_RNG_H
#define BTPIPE_TEST_RNG_H

#include <stdint.h>

#ifndef TEST_RNG_SEED
#define TEST_RNG_SEED 0x9E3779B97F4A7C15ULL
#endif

static uint64_t rng_state = TEST_RNG_SEED;
static inline uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

#endif
