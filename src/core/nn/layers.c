/*
 * layers.c — forward kernels: matmul (cblas_sgemm), RMSNorm, SwiGLU, RoPE,
 * attention, softmax.  Plain loops the compiler vectorises; all matrix
 * products through BLAS.
 */
#include "layers.h"
#include "cpu.h"
#include "gemm.h"
#include "kernels_avx512.h"

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
	if (hrm_cpu_has(HRM_CPU_AVX512) && ((uintptr_t) dst & 3) == 0 && n >= 64)
	{
		hrm_copy_stream_avx512(dst, src, n);
		return;
	}
	memcpy(dst, src, sizeof(float) * n);
}

void
hrm_swiglu_forward(float *out, const float *gu, int M, int Iw)
{
	if (hrm_cpu_has(HRM_CPU_AVX512))
	{
		hrm_swiglu_forward_avx512(out, gu, M, Iw);
		return;
	}
	for (int m = 0; m < M; m++)
	{
		const float *g = gu + (size_t) m * 2 * Iw;
		const float *u = g + Iw;
		float	   *o = out + (size_t) m * Iw;

		for (int i = 0; i < Iw; i++)
			o[i] = g[i] / (1.0f + hrm_expf(-g[i])) * u[i];
	}
}

/* x[hd] rotated by position s's cos / sin rows (one head's Q or K vector) */
static inline void
rope_vector(float *x, const float *c, const float *sn, int half, bool avx)
{
	int			i = avx ? hrm_rope_vector_avx512(x, c, sn, half) : 0;

	for (; i < half; i++)
	{
		float		x1 = x[i];
		float		x2 = x[i + half];

		x[i] = x1 * c[i] - x2 * sn[i];
		x[i + half] = x2 * c[i + half] + x1 * sn[i + half];
	}
}

void
hrm_rope_forward(float *qkv, const float *cos, const float *sin, int B, int S, int NH, int hd)
{
	int			half = hd / 2;
	size_t		D = (size_t) NH * hd;
	bool		avx = hrm_cpu_has(HRM_CPU_AVX512);

	for (int b = 0; b < B; b++)
		for (int s = 0; s < S; s++)
		{
			float	   *row = qkv + ((size_t) b * S + s) * 3 * D;

			/* Q heads then K heads: 2 * NH vectors of hd */
			for (int v = 0; v < 2 * NH; v++)
				rope_vector(row + (size_t) v * hd, cos + (size_t) s * hd, sin + (size_t) s * hd, half, avx);
		}
}

void
hrm_rope_head_forward(float *qkv, const float *cos, const float *sin, int b, int h, int S, int NH, int hd)
{
	int			half = hd / 2;
	size_t		D = (size_t) NH * hd;
	bool		avx = hrm_cpu_has(HRM_CPU_AVX512);

	for (int s = 0; s < S; s++)
	{
		float	   *row = qkv + ((size_t) b * S + s) * 3 * D;

		rope_vector(row + (size_t) h * hd, cos + (size_t) s * hd, sin + (size_t) s * hd, half, avx);
		rope_vector(row + D + (size_t) h * hd, cos + (size_t) s * hd, sin + (size_t) s * hd, half, avx);
	}
}


void
hrm_softmax_rows(float *x, int M, int N)
{
	if (hrm_cpu_has(HRM_CPU_AVX512))
	{
		hrm_softmax_rows_avx512(x, M, N);
		return;
	}
	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		float		mx,
					inv;

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
	if (hrm_cpu_has(HRM_CPU_AVX512) && N <= 128)
	{
		hrm_softmax_rows_masked_avx512(x, M, N, allow);
		return;
	}
	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		const uint16_t *am = allow + (size_t) m * nw;
		float		mx = -INFINITY,
					sum = 0.0f;

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
	if (S <= 96 && hrm_cpu_has(HRM_CPU_AVX512))
		hrm_scores_softmax_avx512(P, nq, S, Q, ld, Kp, hd, scale, allow);
	else
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
