/*
 * test_optim.c — the polynomial atan2 and the vectorised AdamATan2 update
 * (optim.h): atan2 against double atan2 over a dense sweep of signs and
 * magnitudes (zeros, subnormals, huge, infinities, NaN), the array version
 * bit-identical to the scalar one, and the update against the scalar loop of
 * hrm_train_apply (m and v bitwise, p within a rounding bound), tails, array
 * ends and unaligned starts included.
 */
#include "check.h"
#include "optim.h"
#include "rng.h"

#include <float.h>
#include <stdbool.h>
#include <stdint.h>

static float
from_bits(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof f);
	return f;
}

static uint32_t
to_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof u);
	return u;
}

/*
 * |a - e| in units of the float ulp at the exact value e: 2^(k-23) for
 * e in [2^k, 2^(k+1)), 2^-149 below FLT_MIN.  An exact 0 (or inf) must be
 * met exactly.
 */
static double
ulp_error(float a, double e)
{
	double		ae = fabs(e),
				ulp;
	int			ex;

	if (isnan(e))
		return isnan(a) ? 0.0 : INFINITY;
	if (isinf(e))
		return ((double) a == e) ? 0.0 : INFINITY;
	if (ae < (double) FLT_MIN)
		ulp = 0x1p-149;
	else
	{
		(void) frexp(ae, &ex);	/* ae = f 2^ex, f in [0.5, 1) */
		ulp = ldexp(1.0, ex - 24);
	}
	return fabs((double) a - e) / ulp;
}

/* Running worst case of a batch of (y, x) pairs. */
typedef struct atan2_stats
{
	double		max_ulp;
	float		worst_y,
				worst_x;
	size_t		count,
				mismatches;		/* array version != scalar version (bits) */
} atan2_stats;

/*
 * Check n pairs: the array (vector) version against double atan2, and
 * against the scalar helper bit for bit.
 */
static void
check_pairs(atan2_stats *st, const float *y, const float *x, size_t n)
{
	float	   *out = malloc(sizeof(float) * (n > 0 ? n : 1));

	hrm_atan2_approx_n(out, y, x, n);
	for (size_t i = 0; i < n; i++)
	{
		double		e = ulp_error(out[i], atan2((double) y[i], (double) x[i]));

		if (e > st->max_ulp)
		{
			st->max_ulp = e;
			st->worst_y = y[i];
			st->worst_x = x[i];
		}
		if (to_bits(out[i]) != to_bits(hrm_atan2_approx(y[i], x[i])))
			st->mismatches++;
	}
	st->count += n;
	free(out);
}

/*
 * The dense sweep.  Measured on the AVX-512 build: max 1.23 ulp (about
 * 1.01 ulp when t = |y|/|x| is exact, the rest is t's own rounding);
 * exhaustively over every float t in [0, 1] with x = +-1 (4 x 1.07e9 pairs,
 * done once outside the suite) max 1.011 ulp.
 */
HRM_TEST(optim_atan2_sweep)
{
	static const int exps[] = {-149, -148, -146, -140, -130, -127, -126, -125, -100,
		-64, -30, -24, -12, -4, -2, -1, 0, 1, 2, 4, 12, 24, 30, 64, 100, 126, 127};
	static const float mants[] = {1.0f, 0x1.000002p0f, 1.25f, 1.5f, 0x1.6a09e6p0f,
		0x1.921fb6p0f, 0x1.fffffep0f};
	float	   *vals,
			   *ys,
			   *xs;
	size_t		nv = 0,
				n,
				cap = 4 * 1024 * 1024;
	atan2_stats st = {0};
	hrm_rng		r;

	vals = malloc(sizeof(float) * 1024);
	ys = malloc(sizeof(float) * cap);
	xs = malloc(sizeof(float) * cap);
	HRM_REQUIRE(vals != NULL && ys != NULL && xs != NULL, "out of memory");

	/* 1. every pair of a set of signed magnitudes (zeros, subnormals, inf) */
	for (size_t e = 0; e < sizeof(exps) / sizeof(exps[0]); e++)
		for (size_t k = 0; k < sizeof(mants) / sizeof(mants[0]); k++)
		{
			float		f = ldexpf(mants[k], exps[e]);

			vals[nv++] = f;
			vals[nv++] = -f;
		}
	vals[nv++] = 0.0f;
	vals[nv++] = -0.0f;
	vals[nv++] = INFINITY;
	vals[nv++] = -INFINITY;
	vals[nv++] = FLT_MAX;
	vals[nv++] = -FLT_MAX;
	vals[nv++] = FLT_MIN;
	vals[nv++] = -FLT_TRUE_MIN;
	n = 0;
	for (size_t i = 0; i < nv; i++)
		for (size_t j = 0; j < nv; j++)
		{
			ys[n] = vals[i];
			xs[n] = vals[j];
			n++;
		}
	check_pairs(&st, ys, xs, n);

	/* 2. t over [0, 1] (a stride through the float bit patterns), all quadrants */
	n = 0;
	for (uint32_t b = 0; b <= 0x3f800000u; b += 1021)
	{
		float		t = from_bits(b);

		ys[n] = t;
		xs[n++] = 1.0f;
		ys[n] = 1.0f;
		xs[n++] = t;
		ys[n] = -t;
		xs[n++] = -1.0f;
		ys[n] = -1.0f;
		xs[n++] = -t;
	}
	check_pairs(&st, ys, xs, n);

	/* 3. random bit patterns (every exponent and sign; NaNs replaced by inf) */
	hrm_rng_seed(&r, 20240611);
	n = 0;
	while (n < 1000000)
	{
		uint64_t	u = hrm_rng_next(&r);
		float		y = from_bits((uint32_t) u),
					x = from_bits((uint32_t) (u >> 32));

		ys[n] = isnan(y) ? copysignf(INFINITY, y) : y;
		xs[n] = isnan(x) ? copysignf(INFINITY, x) : x;
		n++;
	}
	check_pairs(&st, ys, xs, n);

	/* 4. near the diagonal |y| ~ |x| (the swap boundary) and the Adam range */
	n = 0;
	while (n < 1000000)
	{
		float		x = (float) hrm_rng_normal(&r),
					y = x * (1.0f + (float) (hrm_rng_uniform(&r) - 0.5) * 1e-5f);

		ys[n] = (hrm_rng_next(&r) & 1) ? y : -y;
		xs[n] = (hrm_rng_next(&r) & 1) ? x : -x;
		n++;
		ys[n] = (float) (hrm_rng_normal(&r) * 1e-3);
		xs[n] = fabsf((float) (hrm_rng_normal(&r) * 1e-3)) / 0.3f;
		n++;
	}
	check_pairs(&st, ys, xs, n);

	fprintf(stderr, "    atan2: %zu pairs, max %.3f ulp at (%a, %a)\n",
			st.count, st.max_ulp, (double) st.worst_y, (double) st.worst_x);
	HRM_CHECK(st.max_ulp <= 2.0, "max error %.3f ulp at y=%a x=%a",
			  st.max_ulp, (double) st.worst_y, (double) st.worst_x);
	HRM_CHECK(st.mismatches == 0, "%zu array results differ from the scalar helper",
			  st.mismatches);
	free(vals);
	free(ys);
	free(xs);
}

/* Signed zeros, infinities and NaN: exactly what atan2f gives. */
HRM_TEST(optim_atan2_special)
{
	static const float sv[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1.0f, -1.0f,
		FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_MAX, -FLT_MAX};
	size_t		ns = sizeof(sv) / sizeof(sv[0]);
	float		ys[2 * 10 * 10],
				xs[2 * 10 * 10],
				out[2 * 10 * 10];
	size_t		n = 0;

	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < ns; j++)
		{
			float		y = sv[i],
						x = sv[j];
			float		want = atan2f(y, x),
						got = hrm_atan2_approx(y, x);

			/* a zero, an infinity or a multiple of pi/4 must come out exactly */
			if (y == 0.0f || x == 0.0f || isinf(y) || isinf(x) || fabsf(y) == fabsf(x))
				HRM_CHECK(to_bits(got) == to_bits(want),
						  "atan2(%a, %a) = %a, atan2f says %a",
						  (double) y, (double) x, (double) got, (double) want);
			else
				HRM_CHECK(ulp_error(got, atan2((double) y, (double) x)) <= 2.0,
						  "atan2(%a, %a) = %a", (double) y, (double) x, (double) got);
			ys[n] = y;
			xs[n++] = x;
		}
	/* NaN in either argument */
	for (size_t i = 0; i < ns; i++)
	{
		ys[n] = NAN;
		xs[n++] = sv[i];
		ys[n] = sv[i];
		xs[n++] = NAN;
	}
	hrm_atan2_approx_n(out, ys, xs, n);
	for (size_t i = 0; i < n; i++)
	{
		float		s = hrm_atan2_approx(ys[i], xs[i]);

		if (isnan(ys[i]) || isnan(xs[i]))
			HRM_CHECK(isnan(out[i]) && isnan(s), "atan2(%a, %a) not NaN",
					  (double) ys[i], (double) xs[i]);
		else
			HRM_CHECK(to_bits(out[i]) == to_bits(s), "array atan2(%a, %a) = %a, scalar %a",
					  (double) ys[i], (double) xs[i], (double) out[i], (double) s);
	}
}

/* The loop of hrm_train_apply, verbatim (the reference for m, v, p). */
static void
adam_reference(float *p, float *m, float *v, const float *g, size_t n,
			   float w1, float w2, float decay, float step_size, float bc2_sqrt)
{
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

#define GUARD 17
#define GUARD_BITS 0xC2A5A5A5u	/* any write changes these */

typedef struct adam_case
{
	double		beta1,
				beta2,
				lr,
				weight_decay;
	int64_t		step;
} adam_case;

/*
 * Run the update on n elements starting at offset off (unaligned starts)
 * and compare with the reference; returns false on failure (after
 * reporting).  worst_rel collects max |dp| / |p_ref| over elements where
 * the step does not cancel the decayed weight.
 *
 * p tolerance: the two differ only through atan2 (ours <= 2 ulp, glibc's
 * atan2f < 1 ulp, so <= 3 ulp(a) <= 3 * 2^-23 |a| apart); then the rounded
 * product step_size * a (0.5 ulp on each side) and the rounded p (0.5 ulp on
 * each side).  Hence
 *     |dp| <= 4 * 2^-23 |step_size * a| + 2^-23 |p_ref| + 2^-149.
 * With |step_size * a| << |p| (the usual case) that is ~1.2e-7 relative.
 */
static bool
run_adam_case(int *hrm_failures_, hrm_rng *r, size_t n, size_t off, const adam_case *c,
			  double *worst_rel, double *worst_bound)
{
	size_t		tot = off + n + GUARD;
	float	   *g = malloc(sizeof(float) * tot),
			   *p = malloc(sizeof(float) * tot),
			   *m = malloc(sizeof(float) * tot),
			   *v = malloc(sizeof(float) * tot),
			   *pr = malloc(sizeof(float) * tot),
			   *mr = malloc(sizeof(float) * tot),
			   *vr = malloc(sizeof(float) * tot);
	float		w1 = (float) (1.0 - c->beta1),
				w2 = (float) (1.0 - c->beta2);
	double		bc1 = 1.0 - pow(c->beta1, (double) c->step),
				bc2 = 1.0 - pow(c->beta2, (double) c->step);
	float		step_size = (float) (c->lr / bc1),
				bc2_sqrt = (float) sqrt(bc2),
				decay = (float) (1.0 - c->lr * c->weight_decay);
	bool		ok = true;

	if (!g || !p || !m || !v || !pr || !mr || !vr)
	{
		HRM_CHECK(false, "out of memory");
		ok = false;
		goto done;
	}
	for (size_t i = 0; i < tot; i++)
	{
		uint64_t	u = hrm_rng_next(r);
		double		scale = ldexp(1.0, (int) (u % 24) - 16);	/* 2^-16 .. 2^7 */

		g[i] = (float) (hrm_rng_normal(r) * scale);
		p[i] = (float) (hrm_rng_normal(r) * 0.05);
		m[i] = (float) (hrm_rng_normal(r) * scale * 0.3);
		v[i] = (float) (fabs(hrm_rng_normal(r)) * scale * scale);
		switch ((u >> 8) % 16)
		{
			case 0:				/* a fresh moment: all zero */
				m[i] = v[i] = 0.0f;
				break;
			case 1:				/* no gradient */
				g[i] = 0.0f;
				break;
			case 2:				/* everything zero */
				g[i] = m[i] = v[i] = 0.0f;
				break;
			case 3:				/* tiny */
				g[i] = (float) (hrm_rng_normal(r) * 1e-30);
				break;
			default:
				break;
		}
		if (i < off || i >= off + n)
			p[i] = m[i] = v[i] = from_bits(GUARD_BITS);
	}
	memcpy(pr, p, sizeof(float) * tot);
	memcpy(mr, m, sizeof(float) * tot);
	memcpy(vr, v, sizeof(float) * tot);

	hrm_adam_atan2_update(p + off, m + off, v + off, g + off, n,
						  w1, w2, decay, step_size, bc2_sqrt);
	adam_reference(pr + off, mr + off, vr + off, g + off, n,
				   w1, w2, decay, step_size, bc2_sqrt);

	for (size_t i = 0; i < tot && ok; i++)
	{
		double		a,
					dp,
					bound;

		if (i < off || i >= off + n)
		{
			if (to_bits(p[i]) != GUARD_BITS || to_bits(m[i]) != GUARD_BITS ||
				to_bits(v[i]) != GUARD_BITS)
			{
				HRM_CHECK(false, "n %zu off %zu: element %zu outside the range was written",
						  n, off, i);
				ok = false;
			}
			continue;
		}
		if (to_bits(m[i]) != to_bits(mr[i]) || to_bits(v[i]) != to_bits(vr[i]))
		{
			HRM_CHECK(false, "n %zu off %zu i %zu: m %a/%a v %a/%a not bit-identical",
					  n, off, i - off, (double) m[i], (double) mr[i],
					  (double) v[i], (double) vr[i]);
			ok = false;
			continue;
		}
		/* a = atan2 of the reference, |step * a| its step */
		a = atan2((double) mr[i], sqrt((double) vr[i]) / bc2_sqrt);
		dp = fabs((double) p[i] - (double) pr[i]);
		bound = 4 * 0x1p-23 * fabs(step_size * a) + 0x1p-23 * fabs((double) pr[i]) + 0x1p-149;
		if (!(dp <= bound))
		{
			HRM_CHECK(false, "n %zu off %zu i %zu: p %a, reference %a (|dp| %.3g > %.3g)",
					  n, off, i - off, (double) p[i], (double) pr[i], dp, bound);
			ok = false;
		}
		if (dp / bound > *worst_bound)
			*worst_bound = dp / bound;
		if (fabs(step_size * a) < 0.01 * fabs((double) pr[i]) && dp / fabs((double) pr[i]) > *worst_rel)
			*worst_rel = dp / fabs((double) pr[i]);
	}
done:
	free(g);
	free(p);
	free(m);
	free(v);
	free(pr);
	free(mr);
	free(vr);
	return ok;
}

HRM_TEST(optim_adam_update)
{
	static const adam_case cases[] = {
		{0.9, 0.95, 1e-4, 0.1, 1},	/* first step: bias corrections 0.1, 0.05 */
		{0.9, 0.95, 7e-5, 1.0, 37},
		{0.9, 0.999, 1e-2, 0.0, 100000},	/* large lr, no decay */
	};
	hrm_rng		r;
	double		worst_rel = 0.0,
				worst_bound = 0.0;
	int			runs = 0;

	hrm_rng_seed(&r, 77);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		/* every tail length and a few full blocks, at three alignments */
		for (size_t n = 1; n <= 67; n++)
			for (size_t off = 0; off < 3; off++)
			{
				if (!run_adam_case(hrm_failures_, &r, n, off, &cases[c], &worst_rel, &worst_bound))
					return;
				runs++;
			}
		if (!run_adam_case(hrm_failures_, &r, 100003, c, &cases[c], &worst_rel, &worst_bound))
			return;
		runs++;
	}
	/* n = 0 touches nothing */
	hrm_adam_atan2_update(NULL, NULL, NULL, NULL, 0, 0.1f, 0.05f, 1.0f, 1e-4f, 1.0f);
	fprintf(stderr, "    adam (%s path): %d runs, m and v bit-identical, p max %.2e relative "
			"(where the step is < 1%% of p), max %.2f of the bound\n",
			hrm_optim_vectorized() ? "AVX-512" : "scalar", runs, worst_rel, worst_bound);
}
