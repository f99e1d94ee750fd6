/*
 * simd_avx512.h — the target of the engine's AVX-512 translation units
 * (gemm_avx512.c, layers_avx512.c, optim_avx512.c; gemm_bf16.c has its
 * own, with AVX512_BF16) and their shared inline helpers.
 *
 * The library is built for baseline x86-64: these files alone are compiled
 * for AVX-512 (F, BW, VL, DQ and FMA), by the pragma below rather than by
 * per-file flags, so every build of the sources (PGXS, the engine tests,
 * the fuzzers, any OPTFLAGS) gets the same.  Their functions run only where
 * cpu.h finds the CPU has those features (the callers check
 * hrm_cpu_has(HRM_CPU_AVX512)).  Include this after every other header,
 * and simd_avx512_end.h at the end of the file.
 */
#ifndef HRM_SIMD_AVX512_H
#define HRM_SIMD_AVX512_H

#if !defined(__x86_64__) || !(defined(__GNUC__) || defined(__clang__))
#error "the AVX-512 kernels need x86-64 and GCC or clang"
#endif

#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#endif

/* hrm_expf on 16 lanes: the same clamp, reduction and polynomial; 2^k by scalef */
static inline __m512
hrm_exp16(__m512 x)
{
	__m512		k,
				r,
				p;

	x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-87.3f));
	k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
							 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);
	r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860682030941723e-06f), r);
	p = _mm512_set1_ps(0.000198412701f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.00138888892f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.00833333377f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.0416666679f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.166666672f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, k);
}

/* lanes [0, n - j) of a 16-wide step starting at j */
static inline __mmask16
hrm_tail_mask(int n, int j)
{
	int			w = n - j;

	return w >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << w) - 1);
}

#endif							/* HRM_SIMD_AVX512_H */
