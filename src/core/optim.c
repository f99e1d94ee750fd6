/*
 * optim.c — the AdamATan2 update, vectorised with AVX-512 when available,
 * and the polynomial atan2 behind it.
 *
 * atan2(y, x), for any signs:
 *
 *  1. Reduce to one octant.  With a = |y|, b = |x|, let swap = (a > b) and
 *     t = min(a, b) / max(a, b), so t is in [0, 1] and r = atan(t) in
 *     [0, pi/4].  The angle is then
 *
 *         x >= 0, no swap:  r                x < 0, no swap:  pi - r
 *         x >= 0, swap:     pi/2 - r         x < 0, swap:     pi/2 + r
 *
 *     i.e. off + s * r with off in {0, pi/2, pi} and s = -1 exactly when
 *     swap != (x < 0); the sign of y is put on last (atan2 is odd in y,
 *     signed zeros included).  "x < 0" is x's sign bit, so x = -0 counts as
 *     negative, which gives atan2(+-0, -0) = +-pi as C requires.  0/0 and
 *     inf/inf (a == b) are not divided: t = 1 when a == b != 0 (both
 *     infinite: the +-pi/4 and +-3pi/4 cases), t = 0 when both are zero.
 *     A NaN makes t NaN, which propagates.
 *
 *  2. atan(t) = t + t^3 Q(t^2) on [0, 1], Q a degree-9 polynomial (so the
 *     whole is odd of degree 21) fitted by a Remez exchange for minimax
 *     *relative* error, with the coefficients rounded to float one at a
 *     time, lowest first, and the higher ones refitted after each rounding.
 *     Approximation error: 4.5e-10 relative (< 0.01 ulp), so what is left is
 *     rounding: t itself (0.5 ulp; atan's condition number t / ((1+t^2)
 *     atan t) is <= 1), the small correction t^3 Q (<= 27% of the result,
 *     evaluated by Horner with FMA) and the final additions.
 *
 *  3. off + s * r without losing the offset's precision: off = hi + lo with
 *     hi the float nearest pi/2 (pi) and lo the rest.  With u = s * t,
 *     A = hi + u and its exact rounding error E = (hi - A) + u (Fast2Sum,
 *     valid since |hi| >= |u|), the angle is
 *         A + (E + (lo + s * t^3 Q))
 *     so pi/2 - r for r near pi/4 (x >= 0, |y| > |x|: the result and r then
 *     have the same exponent) costs one rounding at the result's scale, not
 *     two.  Without an offset the angle is fma(t^3, Q, t), one rounding.
 *     t == 1 (|y| == |x|, infinities included) returns pi/4 or 3pi/4 rounded
 *     to nearest, as atan2f does; the polynomial alone is 0.63 ulp off there.
 *
 *     Error: the rounding of t is worth up to 0.5 ulp(t) / (1 + t^2) at the
 *     result, and ulp(t) can be twice ulp(atan t) (t just above 1/4 or 1/2),
 *     so with the last rounding the bound is about 1.5 ulp.  Measured:
 *     1.44 ulp on test_optim.c's sweep, 1.50 ulp on 1e9 random pairs with
 *     |y| / |x| in [2^-4, 2^4], 1.15 ulp when only t is rounded (every float
 *     y in [0, 1] times 1e30 against x = 1e30) and 0.99 ulp when t is exact
 *     (every float y in [0, 1] against x = +-1, and y = +-1 against every
 *     such x).
 *     Taking t's rounding error into account (r += (num - t den) /
 *     (den (1 + t^2))) brings the maximum to 1.03 ulp but costs a third
 *     division, 17% of the update's time, so it is not done.
 *
 * The scalar hrm_atan2_approx does the very same float operations, FMA where
 * the vector code uses FMA (fmaf), so both give the same bits.  No product
 * there feeds an addition, so -ffp-contract cannot change either.
 *
 * The update's m and v must be bit-identical to the plain scalar loop
 * (hrm_train_apply).  Whether gcc contracts "m + w1 * (g - m)" into an FMA
 * depends on the language mode: -std=c11 (the engine tests) implies
 * -ffp-contract=off, the GNU default of the extension build implies
 * -ffp-contract=fast (m = fma(w1, g - m, m), v = fma(w2, fms(g, g, v), v)).
 * The vector path therefore writes those formulas as the same expressions
 * with GNU C vector operators on __m512, instead of choosing between
 * _mm512_fmadd_ps and _mm512_mul_ps + _mm512_add_ps: the compiler contracts
 * them, or not, exactly as it does the scalar loop (gcc in its
 * widening-multiply pass for both; clang, whose default fuses within one
 * expression only, likewise).  test_optim.c checks the bits.
 */
#include "optim.h"

#include <math.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

/*
 * Q(z) coefficients, lowest first: atan(t) ~ t + t^3 (C0 + C1 z + ... + C9 z^9),
 * z = t^2, t in [0, 1]; max relative error 4.5e-10 with these float values.
 * (C0 is -1/3 nudged by the fit, and so on down the Taylor series.)
 */
#define ATAN_C0		(-0x1.555552p-2f)
#define ATAN_C1		(0x1.99981cp-3f)
#define ATAN_C2		(-0x1.24762p-3f)
#define ATAN_C3		(0x1.c5117p-4f)
#define ATAN_C4		(-0x1.6953bcp-4f)
#define ATAN_C5		(0x1.150ap-4f)
#define ATAN_C6		(-0x1.7080bap-5f)
#define ATAN_C7		(0x1.75304p-6f)
#define ATAN_C8		(-0x1.e6a0ecp-8f)
#define ATAN_C9		(0x1.29687ep-10f)

/* pi/2 and pi as float + float remainder */
#define PIO2_HI		(0x1.921fb6p+0f)
#define PIO2_LO		(-0x1.777a5cp-25f)
#define PI_HI		(0x1.921fb6p+1f)
#define PI_LO		(-0x1.777a5cp-24f)
/* pi/4 and 3pi/4 rounded to float */
#define PIO4		(0x1.921fb6p-1f)
#define A3PIO4		(0x1.2d97c8p+1f)

bool
hrm_optim_vectorized(void)
{
#ifdef __AVX512F__
	return true;
#else
	return false;
#endif
}

float
hrm_atan2_approx(float y, float x)
{
	float		ay = fabsf(y),
				ax = fabsf(x);
	bool		swap = ay > ax;
	bool		xneg = signbit(x) != 0;
	bool		flip = swap != xneg;
	float		num = swap ? ax : ay,
				den = swap ? ay : ax;
	float		t,
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

	/* t = min/max in [0, 1]; no 0/0 or inf/inf */
	if (num == den)
		t = (num != 0.0f) ? 1.0f : 0.0f;
	else
		t = num / den;

	/* Q(t^2) by Horner */
	z = t * t;
	q = ATAN_C9;
	q = fmaf(q, z, ATAN_C8);
	q = fmaf(q, z, ATAN_C7);
	q = fmaf(q, z, ATAN_C6);
	q = fmaf(q, z, ATAN_C5);
	q = fmaf(q, z, ATAN_C4);
	q = fmaf(q, z, ATAN_C3);
	q = fmaf(q, z, ATAN_C2);
	q = fmaf(q, z, ATAN_C1);
	q = fmaf(q, z, ATAN_C0);
	t3 = t * z;

	/* off + s * (t + t^3 Q) */
	u = flip ? -t : t;
	u3 = flip ? -t3 : t3;
	hi = swap ? PIO2_HI : (xneg ? PI_HI : 0.0f);
	lo = swap ? PIO2_LO : (xneg ? PI_LO : 0.0f);
	if (t == 1.0f)
		r = (hi == 0.0f) ? PIO4 : A3PIO4;	/* |y| == |x| (see above) */
	else if (hi == 0.0f)
		r = fmaf(u3, q, u);		/* no offset: one rounding */
	else
	{
		A = hi + u;
		E = (hi - A) + u;
		B = fmaf(u3, q, lo);
		r = A + (E + B);
	}

	return copysignf(r, y);
}

#ifdef __AVX512F__

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

#endif							/* __AVX512F__ */

void
hrm_adam_atan2_update(float *p, float *m, float *v, const float *g, size_t n,
					  float w1, float w2, float decay, float step_size, float bc2_sqrt)
{
#ifdef __AVX512F__
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
#else
	for (size_t i = 0; i < n; i++)
	{
		float		gi = g[i];
		float		mm = m[i] + w1 * (gi - m[i]);
		float		vv = v[i] + w2 * (gi * gi - v[i]);

		m[i] = mm;
		v[i] = vv;
		p[i] = p[i] * decay - step_size * atan2f(mm, sqrtf(vv) / bc2_sqrt);
	}
#endif
}

void
hrm_atan2_approx_n(float *out, const float *y, const float *x, size_t n)
{
	size_t		i = 0;

#ifdef __AVX512F__
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
#endif
	for (; i < n; i++)
		out[i] = hrm_atan2_approx(y[i], x[i]);
}
