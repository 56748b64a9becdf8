/* cpu.c -- the engine's vector level, looked up once (contract in cpu.h). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/* -1 until looked up. Relaxed atomics: the pool's workers may all look at
 * once, and would all find the same. */
static int hw_level = -1, env_portable = -1, forced;

static int lookup_hw(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")))
        return CPU_PORTABLE;
    if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("bmi") &&
        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
        return CPU_AVX512_VBMI;
    return CPU_AVX512;
#else
    return CPU_PORTABLE;
#endif
}

enum cpu_level cpu_hw_level(void) {
    int l = __atomic_load_n(&hw_level, __ATOMIC_RELAXED);
    if (l < 0) {
        l = lookup_hw();
        __atomic_store_n(&hw_level, l, __ATOMIC_RELAXED);
    }
    return (enum cpu_level)l;
}

enum cpu_level cpu_level(void) {
    if (__atomic_load_n(&forced, __ATOMIC_RELAXED)) return CPU_PORTABLE;
    int e = __atomic_load_n(&env_portable, __ATOMIC_RELAXED);
    if (e < 0) {
        const char *v = getenv("BTPIPE_SIMD");
        e = v && strcmp(v, "portable") == 0;
        __atomic_store_n(&env_portable, e, __ATOMIC_RELAXED);
    }
    return e ? CPU_PORTABLE : cpu_hw_level();
}

void cpu_force_portable(int on) {
    __atomic_store_n(&forced, on != 0, __ATOMIC_RELAXED);
}
