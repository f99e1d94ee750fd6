/*
 * optim_avx512.c — AdamATan2 and its atan2 on 16 lanes (optim.c has the
 * scalar versions and the reasoning), compiled for AVX-512
 * (simd_avx512.h) and called only where the CPU has it.
 */
#include "optim.h"
#include "kernels_avx512.h"
#include "optim_atan.h"

#include <math.h>

#include "simd_avx512.h"

/*
 * No contraction of the moments' mul + add into FMAs here: the scalar loops
 * they must equal bit for bit (optim.c's fallback, hrm_train_apply's, the
 * tests' references) are compiled for baseline x86-64, which has no FMA,
 * so they never fuse either (explicit FMA intrinsics, as in atan2_v16, are
 * kept).
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#else
#pragma GCC optimize("fp-contract=off")
#endif

/* 16 lanes of hrm_atan2_approx: the same operations in the same order. */
static inline __m512
atan2_v16(__m512 y, __m512 x)
{
	const __m512i sign = _mm512_set1_epi32((int) 0x80000000u);
	const __m512 zero = _mm512_setzero_ps();
	__m512		ay = _mm512_abs_ps(y),
				ax = _mm512_abs_ps(x);
	__mmask16	swap = _mm512_cmp_ps_mask(ay, ax, _CMP_GT_OQ);
	__mmask16	xneg = _mm512_test_epi32_mask(_mm512_castps_si512(x), sign);
	__mmask16	flip = swap ^ xneg;
	__m512		num = _mm512_mask_blend_ps(swap, ay, ax),
				den = _mm512_mask_blend_ps(swap, ax, ay);
	__mmask16	eq = _mm512_cmp_ps_mask(num, den, _CMP_EQ_OQ);
	__mmask16	nz = _mm512_cmp_ps_mask(num, zero, _CMP_NEQ_UQ);
	__m512		t,
				z,
				t3,
				q,
				u,
				u3,
				hi,
				lo,
				A,
				E,
				B,
				r;

	/* divide only the lanes with num != den (no 0/0, inf/inf) */
	t = _mm512_maskz_mov_ps(nz, _mm512_set1_ps(1.0f));
	t = _mm512_mask_div_ps(t, (__mmask16) ~eq, num, den);

	z = _mm512_mul_ps(t, t);
	q = _mm512_set1_ps(ATAN_C9);
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C8));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C7));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C6));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C5));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C4));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C3));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C2));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C1));
	q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(ATAN_C0));
	t3 = _mm512_mul_ps(t, z);

	/* sign flips as XOR of the sign bit; offsets by mask */
	u = _mm512_castsi512_ps(_mm512_mask_xor_epi32(_mm512_castps_si512(t), flip,
												  _mm512_castps_si512(t), sign));
	u3 = _mm512_castsi512_ps(_mm512_mask_xor_epi32(_mm512_castps_si512(t3), flip,
												   _mm512_castps_si512(t3), sign));
	hi = _mm512_mask_blend_ps(swap, _mm512_maskz_mov_ps(xneg, _mm512_set1_ps(PI_HI)),
							  _mm512_set1_ps(PIO2_HI));
	lo = _mm512_mask_blend_ps(swap, _mm512_maskz_mov_ps(xneg, _mm512_set1_ps(PI_LO)),
							  _mm512_set1_ps(PIO2_LO));
	A = _mm512_add_ps(hi, u);
	E = _mm512_add_ps(_mm512_sub_ps(hi, A), u);
	B = _mm512_fmadd_ps(u3, q, lo);
	r = _mm512_add_ps(A, _mm512_add_ps(E, B));
	/* no offset (x >= 0, no swap): r = t + t^3 Q in one rounding */
	r = _mm512_mask_blend_ps((__mmask16) ~(swap | xneg), r, _mm512_fmadd_ps(u3, q, u));
	/* |y| == |x|: the correctly rounded pi/4, 3pi/4 */
	r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(1.0f), _CMP_EQ_OQ), r,
							 _mm512_mask_blend_ps(xneg, _mm512_set1_ps(PIO4),
												  _mm512_set1_ps(A3PIO4)));

	/*
	 * copysign(r, y): bitwise "sign ? y : r", truth table over the operands
	 * (r, y, sign) = (0xF0, 0xCC, 0xAA): (0xAA & 0xCC) | (~0xAA & 0xF0) = 0xD8
	 */
	return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(r),
														 _mm512_castps_si512(y),
														 sign, 0xD8));
}

/*
 * One AdamATan2 step on the lanes of mask (the others are neither read nor
 * written).  The moment and parameter formulas use vector operators, not
 * intrinsics, so that they are contracted exactly like the scalar loop (see
 * the top of the file).
 */
static inline void
adam_v16(float *p, float *m, float *v, const float *g, __mmask16 k,
		 __m512 w1, __m512 w2, __m512 decay, __m512 step_size, __m512 bc2_sqrt)
{
	__m512		gg = _mm512_maskz_loadu_ps(k, g),
				m0 = _mm512_maskz_loadu_ps(k, m),
				v0 = _mm512_maskz_loadu_ps(k, v),
				p0 = _mm512_maskz_loadu_ps(k, p);
	__m512		mm = m0 + w1 * (gg - m0);
	__m512		vv = v0 + w2 * (gg * gg - v0);
	__m512		x = _mm512_div_ps(_mm512_sqrt_ps(vv), bc2_sqrt);

	_mm512_mask_storeu_ps(m, k, mm);
	_mm512_mask_storeu_ps(v, k, vv);
	_mm512_mask_storeu_ps(p, k, p0 * decay - step_size * atan2_v16(mm, x));
}


void
hrm_adam_atan2_update_avx512(float *p, float *m, float *v, const float *g, size_t n,
							 float w1, float w2, float decay, float step_size, float bc2_sqrt)
{
	__m512		w1v = _mm512_set1_ps(w1),
				w2v = _mm512_set1_ps(w2),
				decayv = _mm512_set1_ps(decay),
				stepv = _mm512_set1_ps(step_size),
				bcv = _mm512_set1_ps(bc2_sqrt);
	size_t		i = 0;

	for (; i + 16 <= n; i += 16)
		adam_v16(p + i, m + i, v + i, g + i, (__mmask16) 0xFFFF,
				 w1v, w2v, decayv, stepv, bcv);
	if (i < n)
		adam_v16(p + i, m + i, v + i, g + i, (__mmask16) ((1u << (n - i)) - 1),
				 w1v, w2v, decayv, stepv, bcv);
}

/* every element of out = atan2(y, x) (hrm_atan2_approx's bits); returns n */
size_t
hrm_atan2_approx_n_avx512(float *out, const float *y, const float *x, size_t n)
{
	size_t		i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, atan2_v16(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
	if (i < n)
	{
		__mmask16	k = (__mmask16) ((1u << (n - i)) - 1);

		_mm512_mask_storeu_ps(out + i, k,
							  atan2_v16(_mm512_maskz_loadu_ps(k, y + i),
										_mm512_maskz_loadu_ps(k, x + i)));
		i = n;
	}
	return i;
}

#include "simd_avx512_end.h"
