/* cpu.h -- which of its vector code paths the engine runs.
 *
 * Every AVX-512 loop in the engine has a portable twin that does the same
 * double operations in the same order, so both give the same bits; this
 * picks one per process. BTPIPE_SIMD=portable in the environment pins the
 * portable code: to reproduce a run of a machine without AVX-512, or to
 * rule the vector code out when chasing a bug. Valgrind, whose virtual CPU
 * has no AVX-512, runs the portable code too. */
#ifndef BTPIPE_CPU_H
#define BTPIPE_CPU_H

enum cpu_level {
    CPU_PORTABLE = 0,
    CPU_AVX512 = 1,     /* AVX-512 F, BW, DQ, VL (Skylake-SP and later) */
    CPU_AVX512_VBMI = 2 /* and VBMI, BMI1, BMI2, POPCNT (Ice Lake and later) */
};

/* The level the engine's loops may use: what the CPU has, unless
 * BTPIPE_SIMD=portable or cpu_force_portable says portable. Cheap: the
 * answer is cached, and any thread may ask at any time. */
enum cpu_level cpu_level(void);
/* What the CPU has, whatever was pinned: tests ask it before they call a
 * vector path directly. */
enum cpu_level cpu_hw_level(void);
/* Pins (1) or unpins (0) the portable code, for tests holding both paths
 * against each other; not while a run is going. */
void cpu_force_portable(int on);

#endif
