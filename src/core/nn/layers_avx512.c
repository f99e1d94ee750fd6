/*
 * layers_avx512.c — the AVX-512 versions of the element-wise and attention
 * kernels of layers.c and layers_backward.c (softmax in registers, the
 * attention scores fused with their softmax, SwiGLU, RoPE, streaming
 * copies), compiled for AVX-512 (simd_avx512.h) and called only where the
 * CPU has it (hrm_cpu_has).  Each computes what its caller's plain loop
 * computes, in 16 lanes.
 */
#include "layers.h"
#include "gemm.h"
#include "kernels_avx512.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd_avx512.h"

/* hrm_copy_stream for dst 4-byte aligned and n >= 64 */
void
hrm_copy_stream_avx512(float *dst, const float *src, size_t n)
{
	size_t		i = 0;

	/* plain stores up to the first 64-byte boundary of dst */
	for (; ((uintptr_t) (dst + i) & 63) != 0; i++)
		dst[i] = src[i];
	for (; i + 16 <= n; i += 16)
		_mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
	for (; i < n; i++)
		dst[i] = src[i];
	/* streaming stores are weakly ordered: drain them before anyone reads dst */
	_mm_sfence();
}

void
hrm_swiglu_forward_avx512(float *out, const float *gu, int M, int Iw)
{
	for (int m = 0; m < M; m++)
	{
		const float *g = gu + (size_t) m * 2 * Iw;
		const float *u = g + Iw;
		float	   *o = out + (size_t) m * Iw;

		for (int i = 0; i < Iw; i += 16)
		{
			__mmask16	k = hrm_tail_mask(Iw, i);
			__m512		vg = _mm512_maskz_loadu_ps(k, g + i);
			__m512		vu = _mm512_maskz_loadu_ps(k, u + i);
			__m512		e = hrm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), vg));
			__m512		silu = _mm512_div_ps(vg, _mm512_add_ps(_mm512_set1_ps(1.0f), e));

			_mm512_mask_storeu_ps(o + i, k, _mm512_mul_ps(silu, vu));
		}
	}
}

/* one RoPE vector x [hd] (half = hd / 2), 16 lanes at a time; returns the lanes done (a multiple of 16) */
int
hrm_rope_vector_avx512(float *x, const float *c, const float *sn, int half)
{
	int			i = 0;

	/* the same products and sums, 16 lanes at a time */
	for (; i + 16 <= half; i += 16)
	{
		__m512		x1 = _mm512_loadu_ps(x + i);
		__m512		x2 = _mm512_loadu_ps(x + i + half);

		_mm512_storeu_ps(x + i, _mm512_sub_ps(_mm512_mul_ps(x1, _mm512_loadu_ps(c + i)),
											  _mm512_mul_ps(x2, _mm512_loadu_ps(sn + i))));
		_mm512_storeu_ps(x + i + half,
						 _mm512_add_ps(_mm512_mul_ps(x2, _mm512_loadu_ps(c + i + half)),
									   _mm512_mul_ps(x1, _mm512_loadu_ps(sn + i + half))));
	}
	return i;
}

/* lanes of 16-key group i that row r may use: the tail, and the attention mask when there is one */
static inline __mmask16
lane_mask(const uint16_t *am, int r, int nv, int n, int i)
{
	return am ? (__mmask16) (hrm_tail_mask(n, 16 * i) & am[(size_t) r * nv + i]) : hrm_tail_mask(n, 16 * i);
}

/*
 * gcc cannot see that the first nv groups of each row are always written
 * before softmax_regs reads them (softmax_rows_reg's loads, or the score
 * product): its maybe-uninitialized warning on v is a false positive.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/*
 * R rows (R <= 4) of n <= 128 floats each, held in registers across the
 * three passes (max, exp and sum, scale): one load and one store per
 * element, and R independent dependency chains (the reductions and the
 * division are long-latency) for the core to overlap.  Lanes past n, and
 * lanes the mask am (NULL: none) disallows, hold -inf; exp is zeroed
 * there, so the sums are unaffected and those probabilities are 0.
 */
static inline __attribute__((always_inline)) void
softmax_regs(__m512 v[4][8], float *x, int R, int n, const uint16_t *am)
{
	/* v: the rows' values, lanes past n = -inf; x: row r's output at x + r * n */
	__m512		vmax[4],
				vsum[4];
	int			nv = (n + 15) / 16;

	for (int r = 0; r < R; r++)
	{
		vmax[r] = _mm512_set1_ps(-INFINITY);
		for (int i = 0; i < nv; i++)
			vmax[r] = _mm512_max_ps(vmax[r], v[r][i]);
	}
	for (int r = 0; r < R; r++)
	{
		vmax[r] = _mm512_set1_ps(_mm512_reduce_max_ps(vmax[r]));
		vsum[r] = _mm512_setzero_ps();
	}
	for (int i = 0; i < nv; i++)
		for (int r = 0; r < R; r++)
		{
			v[r][i] = _mm512_maskz_mov_ps(lane_mask(am, r, nv, n, i),
										  hrm_exp16(_mm512_sub_ps(v[r][i], vmax[r])));
			vsum[r] = _mm512_add_ps(vsum[r], v[r][i]);
		}
	for (int r = 0; r < R; r++)
	{
		__m512		vinv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum[r]));

		for (int i = 0; i < nv; i++)
			_mm512_mask_storeu_ps(x + (size_t) r * n + 16 * i, hrm_tail_mask(n, 16 * i),
								  _mm512_mul_ps(v[r][i], vinv));
	}
}

static inline __attribute__((always_inline)) void
softmax_rows_reg(float *x, int R, int n, const uint16_t *am)
{
	__m512		v[4][8];
	int			nv = (n + 15) / 16;

	for (int r = 0; r < R; r++)
		for (int i = 0; i < nv; i++)
			v[r][i] = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lane_mask(am, r, nv, n, i),
										   x + (size_t) r * n + 16 * i);
	softmax_regs(v, x, R, n, am);
}

/*
 * P[R, S] = softmax(scale * Q K^T) for R <= 4 query rows (Q's row r at
 * q + r * qs) against the S <= 16 * NV <= 96 keys packed in Kp
 * (hrm_gemm_pack, [hd][32] panels): the scores stay in registers from the
 * product to the softmax.  Each score is the packed kernel's FMA chain over
 * hd then the scale, and the softmax is softmax_rows_reg's, so the bits
 * equal the product followed by hrm_softmax_rows (_masked with am).
 */
static inline __attribute__((always_inline)) void
scores_softmax_rows(float *P, int S, const float *q, size_t qs, const float *Kp, int hd,
					float scale, int R, int NV, const uint16_t *am)
{
	__m512		v[4][8];
	__m512		vs = _mm512_set1_ps(scale);

	for (int r = 0; r < R; r++)
		for (int i = 0; i < NV; i++)
			v[r][i] = _mm512_setzero_ps();
	for (int k = 0; k < hd; k++)
	{
		__m512		a[4];

		for (int r = 0; r < R; r++)
			a[r] = _mm512_set1_ps(q[(size_t) r * qs + k]);
		for (int i = 0; i < NV; i++)
		{
			__m512		b = _mm512_loadu_ps(Kp + (size_t) (i / 2) * hd * HRM_GEMM_NR + (size_t) k * HRM_GEMM_NR +
											16 * (i % 2));

			for (int r = 0; r < R; r++)
				v[r][i] = _mm512_fmadd_ps(a[r], b, v[r][i]);
		}
	}
	for (int r = 0; r < R; r++)
		for (int i = 0; i < NV; i++)
			v[r][i] = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), lane_mask(am, r, NV, S, i),
										 _mm512_mul_ps(v[r][i], vs));
	softmax_regs(v, P, R, S, am);
}

#define HRM_SCORES_CASE(nv) \
	case nv: \
		for (; s + 4 <= nq; s += 4) \
			scores_softmax_rows(P + (size_t) s * S, S, q + (size_t) s * qs, qs, Kp, hd, scale, 4, nv, \
								am ? am + (size_t) s * nv : NULL); \
		for (; s < nq; s++) \
			scores_softmax_rows(P + (size_t) s * S, S, q + (size_t) s * qs, qs, Kp, hd, scale, 1, nv, \
								am ? am + (size_t) s * nv : NULL); \
		break

/* rows [0, nq) of softmax(scale * Q K^T) into P (row stride S), S <= 96; am: the mask or NULL */
void
hrm_scores_softmax_avx512(float *P, int nq, int S, const float *q, size_t qs, const float *Kp, int hd, float scale,
			   const uint16_t *am)
{
	int			s = 0;

	switch ((S + 15) / 16)
	{
			HRM_SCORES_CASE(1);
			HRM_SCORES_CASE(2);
			HRM_SCORES_CASE(3);
			HRM_SCORES_CASE(4);
			HRM_SCORES_CASE(5);
			HRM_SCORES_CASE(6);
	}
}
#undef HRM_SCORES_CASE

void
hrm_softmax_rows_avx512(float *x, int M, int N)
{
	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		float		mx,
					inv;

		if (N <= 128)
		{
			if (m + 4 <= M)
			{
				softmax_rows_reg(r, 4, N, NULL);
				m += 3;
			}
			else
				softmax_rows_reg(r, 1, N, NULL);
			continue;
		}
		{
			__m512		vmax = _mm512_set1_ps(r[0]);
			__m512		vsum = _mm512_setzero_ps();
			__m512		vinv;

			for (int j = 0; j < N; j += 16)
				vmax = _mm512_mask_max_ps(vmax, hrm_tail_mask(N, j), vmax,
										  _mm512_maskz_loadu_ps(hrm_tail_mask(N, j), r + j));
			mx = _mm512_reduce_max_ps(vmax);
			vmax = _mm512_set1_ps(mx);
			for (int j = 0; j < N; j += 16)
			{
				__mmask16	k = hrm_tail_mask(N, j);
				__m512		e = hrm_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, r + j), vmax));

				e = _mm512_maskz_mov_ps(k, e);
				_mm512_mask_storeu_ps(r + j, k, e);
				vsum = _mm512_add_ps(vsum, e);
			}
			inv = 1.0f / _mm512_reduce_add_ps(vsum);
			vinv = _mm512_set1_ps(inv);
			for (int j = 0; j < N; j += 16)
			{
				__mmask16	k = hrm_tail_mask(N, j);

				_mm512_mask_storeu_ps(r + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, r + j), vinv));
			}
			continue;
		}
	}
}

/* hrm_softmax_rows_masked for N <= 128 */
void
hrm_softmax_rows_masked_avx512(float *x, int M, int N, const uint16_t *allow)
{
	int			nw = hrm_mask_words(N);

	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		const uint16_t *am = allow + (size_t) m * nw;

		if (m + 4 <= M)
		{
			softmax_rows_reg(r, 4, N, am);
			m += 3;
		}
		else
			softmax_rows_reg(r, 1, N, am);
	}
}

void
hrm_swiglu_backward_avx512(float *dgu, const float *da, const float *gu, int M, int Iw)
{
	for (int m = 0; m < M; m++)
	{
		const float *g = gu + (size_t) m * 2 * Iw;
		const float *u = g + Iw;
		const float *a = da + (size_t) m * Iw;
		float	   *dg = dgu + (size_t) m * 2 * Iw;
		float	   *du = dg + Iw;
		int			i = 0;

		for (; i < Iw; i += 16)
		{
			__mmask16	k = hrm_tail_mask(Iw, i);
			__m512		one = _mm512_set1_ps(1.0f);
			__m512		vg = _mm512_maskz_loadu_ps(k, g + i);
			__m512		vu = _mm512_maskz_loadu_ps(k, u + i);
			__m512		va = _mm512_maskz_loadu_ps(k, a + i);
			__m512		e = hrm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), vg));
			__m512		sg = _mm512_div_ps(one, _mm512_add_ps(one, e));
			__m512		silu = _mm512_mul_ps(vg, sg);
			__m512		t;

			_mm512_mask_storeu_ps(du + i, k, _mm512_mul_ps(va, silu));
			/* a * u * sg * (1 + g * (1 - sg)) */
			t = _mm512_fmadd_ps(vg, _mm512_sub_ps(one, sg), one);
			_mm512_mask_storeu_ps(dg + i, k, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(va, vu), sg), t));
		}
	}
}

#include "simd_avx512_end.h"
