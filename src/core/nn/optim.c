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
 * (hrm_train_apply).  The vector path (optim_avx512.c) writes those
 * formulas as the same expressions with GNU C vector operators on __m512
 * and is compiled without contraction into FMAs, like the scalar loops,
 * which are built for baseline x86-64 (no FMA instruction to contract
 * into).  A build with OPTFLAGS=-march=native in a mode that contracts
 * (gcc's GNU default, clang's default within an expression) may fuse the
 * scalar loops and not the vector path: the last bits of m and v can then
 * differ between them.  test_optim.c checks the bits.
 */
#include "optim.h"
#include "hrm_common.h"
#include "cpu.h"
#include "kernels_avx512.h"
#include "optim_atan.h"

#include <math.h>

bool
hrm_optim_vectorized(void)
{
	return hrm_cpu_has(HRM_CPU_AVX512);
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


void
hrm_adam_atan2_update(float *p, float *m, float *v, const float *g, size_t n,
					  float w1, float w2, float decay, float step_size, float bc2_sqrt)
{
	HRM_ASSERT(n == 0 || (p != NULL && m != NULL && v != NULL && g != NULL));
	if (hrm_cpu_has(HRM_CPU_AVX512))
	{
		hrm_adam_atan2_update_avx512(p, m, v, g, n, w1, w2, decay, step_size, bc2_sqrt);
		return;
	}
	for (size_t i = 0; i < n; i++)
	{
		float		gi = g[i];
		float		mm = m[i] + w1 * (gi - m[i]);
		float		vv = v[i] + w2 * (gi * gi - v[i]);

		m[i] = mm;
		v[i] = vv;
		p[i] = p[i] * decay - step_size * atan2f(mm, sqrtf(vv) / bc2_sqrt);
	}
}

void
hrm_atan2_approx_n(float *out, const float *y, const float *x, size_t n)
{
	size_t		i = 0;

	if (hrm_cpu_has(HRM_CPU_AVX512))
		i = hrm_atan2_approx_n_avx512(out, y, x, n);
	for (; i < n; i++)
		out[i] = hrm_atan2_approx(y[i], x[i]);
}
