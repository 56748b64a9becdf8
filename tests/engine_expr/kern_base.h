/* kern_base.h -- renames for second copies of the kernel files, built for
 * test_expr_kernels: the baseline x86-64 code (no target clones), which a
 * machine without AVX2 or AVX-512 runs, under names of its own (base_*), so
 * that one test binary holds it next to the library's dispatched clones.
 * KERN_SCALAR also turns off the time-series kernels' vector tiles, leaving
 * the plain row code (scalar_*). */
#ifndef BTPIPE_KERN_BASE_H
#define BTPIPE_KERN_BASE_H

#define EXPR_NO_CLONES 1
#ifdef KERN_SCALAR
#define EXPR_TS_NO_VEC 1
#define expr_eval_ts scalar_eval_ts
#define expr_eval_ts_scratch scalar_eval_ts_scratch
#define expr_ts_scratch_count scalar_ts_scratch_count
#else
#define expr_eval_ts base_eval_ts
#define expr_eval_ts_scratch base_eval_ts_scratch
#define expr_ts_scratch_count base_ts_scratch_count
#define expr_blocks_make base_blocks_make
#define expr_blocks_prefix_suffix base_blocks_prefix_suffix
#define expr_blocks_prefix_suffix_cols base_blocks_prefix_suffix_cols
#define expr_blocks_window_sum base_blocks_window_sum
#define expr_elem_scalar base_elem_scalar
#define expr_eval_elem base_eval_elem
#define expr_eval_cs base_eval_cs
#endif

#endif
