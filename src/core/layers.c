/*
 * layers.c — forward kernels: matmul (cblas_sgemm), RMSNorm, SwiGLU, RoPE,
 * attention, softmax.  Plain loops the compiler vectorises; all matrix
 * products through BLAS.
 */
#include "layers.h"
#include "gemm.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

void
hrm_matmul_forward(float *out, const float *inp, const float *W, int M, int N, int K, float beta)
{
	/* out[M,N] = inp[M,K] W[N,K]^T */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K,
				1.0f, inp, K, W, K, beta, out, N);
}

void
hrm_rmsnorm_forward(float *out, float *rstd, const float *inp, int M, int D, float eps)
{
	for (int m = 0; m < M; m++)
	{
		const float *x = inp + (size_t) m * D;
		float	   *y = out + (size_t) m * D;
		float		ss = hrm_dot_lanes(x, x, D);
		float		r;

		r = 1.0f / sqrtf(ss / (float) D + eps);
		for (int i = 0; i < D; i++)
			y[i] = x[i] * r;
		if (rstd != NULL)
			rstd[m] = r;
	}
}

void
hrm_add_forward(float *out, const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

void
hrm_copy_stream(float *dst, const float *src, size_t n)
{
#ifdef __AVX512F__
	if (((uintptr_t) dst & 3) == 0 && n >= 64)
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
		return;
	}
#endif
	memcpy(dst, src, sizeof(float) * n);
}

void
hrm_swiglu_forward(float *out, const float *gu, int M, int Iw)
{
	for (int m = 0; m < M; m++)
	{
		const float *g = gu + (size_t) m * 2 * Iw;
		const float *u = g + Iw;
		float	   *o = out + (size_t) m * Iw;
		int			i = 0;

#ifdef __AVX512F__
		for (; i < Iw; i += 16)
		{
			__mmask16	k = hrm_tail_mask(Iw, i);
			__m512		vg = _mm512_maskz_loadu_ps(k, g + i);
			__m512		vu = _mm512_maskz_loadu_ps(k, u + i);
			__m512		e = hrm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), vg));
			__m512		silu = _mm512_div_ps(vg, _mm512_add_ps(_mm512_set1_ps(1.0f), e));

			_mm512_mask_storeu_ps(o + i, k, _mm512_mul_ps(silu, vu));
		}
#endif
		for (; i < Iw; i++)
			o[i] = g[i] / (1.0f + hrm_expf(-g[i])) * u[i];
	}
}

void
hrm_rope_forward(float *qkv, const float *cos, const float *sin, int B, int S, int NH, int hd)
{
	int			half = hd / 2;
	size_t		D = (size_t) NH * hd;

	for (int b = 0; b < B; b++)
		for (int s = 0; s < S; s++)
		{
			const float *c = cos + (size_t) s * hd;
			const float *sn = sin + (size_t) s * hd;
			float	   *row = qkv + ((size_t) b * S + s) * 3 * D;

			/* Q heads then K heads: 2 * NH vectors of hd */
			for (int v = 0; v < 2 * NH; v++)
			{
				float	   *x = row + (size_t) v * hd;
				int			i = 0;

#ifdef __AVX512F__
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
#endif
				for (; i < half; i++)
				{
					float		x1 = x[i];
					float		x2 = x[i + half];

					x[i] = x1 * c[i] - x2 * sn[i];
					x[i + half] = x2 * c[i + half] + x1 * sn[i + half];
				}
			}
		}
}

#ifdef __AVX512F__
/* lanes of 16-key group i that row r may use: the tail, and the attention mask when there is one */
static inline __mmask16
lane_mask(const uint16_t *am, int r, int nv, int n, int i)
{
	return am ? (__mmask16) (hrm_tail_mask(n, 16 * i) & am[(size_t) r * nv + i]) : hrm_tail_mask(n, 16 * i);
}

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
static void
scores_softmax(float *P, int nq, int S, const float *q, size_t qs, const float *Kp, int hd, float scale,
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
#endif

void
hrm_softmax_rows(float *x, int M, int N)
{
	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		float		mx,
					inv;

#ifdef __AVX512F__
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
#endif
		mx = hrm_max_lanes(r, N);
		for (int j = 0; j < N; j++)
			r[j] = hrm_expf(r[j] - mx);
		inv = 1.0f / hrm_sum_lanes(r, N);
		for (int j = 0; j < N; j++)
			r[j] *= inv;
	}
}

static inline bool
mask_bit(const uint16_t *row, int j)
{
	return (row[j >> 4] >> (j & 15)) & 1;
}

void
hrm_softmax_rows_masked(float *x, int M, int N, const uint16_t *allow)
{
	int			nw = hrm_mask_words(N);

	if (allow == NULL)
	{
		hrm_softmax_rows(x, M, N);
		return;
	}
	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		const uint16_t *am = allow + (size_t) m * nw;
		float		mx = -INFINITY,
					sum = 0.0f;

#ifdef __AVX512F__
		if (N <= 128)
		{
			if (m + 4 <= M)
			{
				softmax_rows_reg(r, 4, N, am);
				m += 3;
			}
			else
				softmax_rows_reg(r, 1, N, am);
			continue;
		}
#endif
		for (int j = 0; j < N; j++)
			if (mask_bit(am, j) && r[j] > mx)
				mx = r[j];
		for (int j = 0; j < N; j++)
		{
			r[j] = mask_bit(am, j) ? hrm_expf(r[j] - mx) : 0.0f;
			sum += r[j];
		}
		for (int j = 0; j < N; j++)
			r[j] *= 1.0f / sum;
	}
}

void
hrm_attention_forward(float *out, float *probs, bool keep_probs, const float *qkv,
					  int B, int S, int NH, int hd, const uint16_t *allow)
{
	int			D = NH * hd;
	int			ld = 3 * D;
	float		scale = 1.0f / sqrtf((float) hd);

	for (int b = 0; b < B; b++)
	{
		const float *base = qkv + (size_t) b * S * ld;

		for (int h = 0; h < NH; h++)
		{
			const float *Q = base + (size_t) h * hd;
			const float *K = base + D + (size_t) h * hd;
			const float *V = base + 2 * D + (size_t) h * hd;
			float	   *P = keep_probs ? probs + ((size_t) b * NH + h) * S * S : probs;
			float	   *O = out + (size_t) b * S * D + (size_t) h * hd;

			/* P[S,S] = scale * Q K^T */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hd,
						scale, Q, ld, K, ld, 0.0f, P, S);
			hrm_softmax_rows_masked(P, S, S, allow);
			/* O[S,hd] = P V */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hd, S,
						1.0f, P, S, V, ld, 0.0f, O, D);
		}
	}
}

size_t
hrm_attention_scratch_floats(int S, int hd)
{
	/* packed K^T, contiguous Q, one head's probabilities when they are kept */
	return hrm_gemm_pack_size(hd, S) + (size_t) S * hd + (size_t) S * S;
}

void
hrm_attention_head_packed(float *out, float *probs, bool keep_probs, const float *qkv,
						  int b, int h, int S, int NH, int hd, int nq, float *kvp, const uint16_t *allow)
{
	int			D = NH * hd;
	int			ld = 3 * D;
	float		scale = 1.0f / sqrtf((float) hd);
	float	   *Kp = kvp;
	float	   *Qc = kvp + hrm_gemm_pack_size(hd, S);
	float	   *Ps = Qc + (size_t) S * hd;
	const float *base = qkv + (size_t) b * S * ld;
	const float *Q = base + (size_t) h * hd;
	float	   *P = keep_probs ? Ps : probs;
	float	   *O = out + (size_t) b * S * D + (size_t) h * hd;

	/* K^T as [hd, S] panels */
	hrm_gemm_pack(Kp, base + D + (size_t) h * hd, ld, hd, S, true);
	/* P[nq,S] = softmax(scale * Q K^T) */
#ifdef __AVX512F__
	if (S <= 96)
		scores_softmax(P, nq, S, Q, ld, Kp, hd, scale, allow);
	else
#endif
	{
		/* Q rows contiguous: the kernel reads 12 rows of A at once, 3D-float strides at half speed */
		for (int s = 0; s < nq; s++)
			memcpy(Qc + (size_t) s * hd, Q + (size_t) s * ld, sizeof(float) * hd);
		hrm_gemm_packed(nq, S, hd, scale, Qc, hd, Kp, 0.0f, P, S);
		hrm_softmax_rows_masked(P, nq, S, allow);
	}
	/* O[nq,hd] = P V (V read in place) */
	hrm_gemm_nn(nq, hd, S, 1.0f, P, S, base + 2 * D + (size_t) h * hd, ld, 0.0f, O, D);
	/*
	 * Kept probabilities: computed in the scratch (in L1 for P V) and then
	 * streamed out to the record the backward reads.
	 */
	if (keep_probs)
		hrm_copy_stream(probs + ((size_t) b * NH + h) * S * S, P, (size_t) nq * S);
}

void
hrm_attention_forward_packed(float *out, float *probs, bool keep_probs, const float *qkv,
							 int B, int S, int NH, int hd, int nq, float *kvp, const uint16_t *allow)
{
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			hrm_attention_head_packed(out, probs, keep_probs, qkv, b, h, S, NH, hd, nq, kvp, allow);
}

void
hrm_transpose_batched(float *out, const float *inp, int B, int R, int C)
{
	for (int b = 0; b < B; b++)
	{
		const float *x = inp + (size_t) b * R * C;
		float	   *y = out + (size_t) b * R * C;

		for (int r = 0; r < R; r++)
			for (int c = 0; c < C; c++)
				y[(size_t) c * R + r] = x[(size_t) r * C + c];
	}
}
