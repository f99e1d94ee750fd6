/*
 * cpu.h — what the CPU offers the engine's kernels, found at run time.
 *
 * The library is built for baseline x86-64; the AVX-512 kernels (gemm.c,
 * layers.c, optim.c) and the AVX512_BF16 ones (gemm_bf16.c) are compiled
 * for their own targets and run only where the CPU has them (CPUID, which
 * also checks that the OS saves the vector state).  HRM_CPU=portable in the
 * environment (read once) or hrm_cpu_force_portable(true) makes the engine
 * behave as on a CPU without AVX-512: the products go to BLAS and the other
 * kernels to their plain C loops (tests run that path on any machine).
 */
#ifndef HRM_CPU_H
#define HRM_CPU_H

#include <stdbool.h>

typedef enum hrm_cpu_feature
{
	HRM_CPU_AVX512 = 1,			/* AVX-512 F, BW, VL, DQ and FMA: the float32 kernels */
	HRM_CPU_AVX512BF16 = 2		/* the above and AVX512_BF16: the bfloat16 products */
} hrm_cpu_feature;

/* True when the CPU has the feature and the portable path is not forced. */
bool		hrm_cpu_has(hrm_cpu_feature f);

/* True when the CPU itself has it (whatever is forced). */
bool		hrm_cpu_detected(hrm_cpu_feature f);

/* Tests: act as a CPU without AVX-512 (true) or as detected (false). */
void		hrm_cpu_force_portable(bool on);

/* The CPU's relevant features as detected, e.g. "avx512f avx512bw avx512vl avx512dq fma avx512bf16". */
const char *hrm_cpu_features(void);

#endif							/* HRM_CPU_H */
