/*
 * layers_backward.c — backward passes of the kernels in layers.c.
 */
#include "layers.h"
#include "cpu.h"
#include "gemm.h"
#include "kernels_avx512.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void
hrm_matmul_backward(float *dx, float *dW, const float *dy, const float *x, const float *W,
					int M, int N, int K, float beta_dx)
{
	/* dx[M,K] = dy[M,N] W[N,K] */
	if (dx != NULL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N,
					1.0f, dy, N, W, K, beta_dx, dx, K);
	/* dW[N,K] += dy^T[N,M] x[M,K] */
	if (dW != NULL)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M,
					1.0f, dy, N, x, K, 1.0f, dW, K);
}

void
hrm_rmsnorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int M, int D)
{
	for (int m = 0; m < M; m++)
	{
		const float *g = dy + (size_t) m * D;
		const float *o = y + (size_t) m * D;
		float	   *d = dx + (size_t) m * D;
		float		dot = hrm_dot_lanes(g, o, D);
		float		r = rstd[m];
		float		mean;

		mean = dot / (float) D;
		for (int i = 0; i < D; i++)
			d[i] = r * (g[i] - o[i] * mean);
	}
}

void
hrm_swiglu_backward(float *dgu, const float *da, const float *gu, int M, int Iw)
{
	if (hrm_cpu_has(HRM_CPU_AVX512))
	{
		hrm_swiglu_backward_avx512(dgu, da, gu, M, Iw);
		return;
	}
	for (int m = 0; m < M; m++)
	{
		const float *g = gu + (size_t) m * 2 * Iw;
		const float *u = g + Iw;
		const float *a = da + (size_t) m * Iw;
		float	   *dg = dgu + (size_t) m * 2 * Iw;
		float	   *du = dg + Iw;
		int			i = 0;

		for (; i < Iw; i++)
		{
			float		sg = 1.0f / (1.0f + hrm_expf(-g[i]));
			float		silu = g[i] * sg;

			du[i] = a[i] * silu;
			dg[i] = a[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
		}
	}
}

void
hrm_rope_backward(float *dqkv, const float *cos, const float *sin, int B, int S, int NH, int hd)
{
	int			half = hd / 2;
	size_t		D = (size_t) NH * hd;

	for (int b = 0; b < B; b++)
		for (int s = 0; s < S; s++)
		{
			const float *c = cos + (size_t) s * hd;
			const float *sn = sin + (size_t) s * hd;
			float	   *row = dqkv + ((size_t) b * S + s) * 3 * D;

			for (int v = 0; v < 2 * NH; v++)
			{
				float	   *x = row + (size_t) v * hd;

				for (int i = 0; i < half; i++)
				{
					/* forward: y1 = x1 c1 - x2 s1 ; y2 = x2 c2 + x1 s2 */
					float		g1 = x[i];
					float		g2 = x[i + half];

					x[i] = g1 * c[i] + g2 * sn[i + half];
					x[i + half] = g2 * c[i + half] - g1 * sn[i];
				}
			}
		}
}

void
hrm_attention_backward(float *dqkv, float *dP, const float *dout, const float *qkv,
					   const float *probs, int B, int S, int NH, int hd)
{
	int			D = NH * hd;
	int			ld = 3 * D;
	float		scale = 1.0f / sqrtf((float) hd);

	for (int b = 0; b < B; b++)
	{
		const float *base = qkv + (size_t) b * S * ld;
		float	   *dbase = dqkv + (size_t) b * S * ld;

		for (int h = 0; h < NH; h++)
		{
			const float *Q = base + (size_t) h * hd;
			const float *K = base + D + (size_t) h * hd;
			const float *V = base + 2 * D + (size_t) h * hd;
			float	   *dQ = dbase + (size_t) h * hd;
			float	   *dK = dbase + D + (size_t) h * hd;
			float	   *dV = dbase + 2 * D + (size_t) h * hd;
			const float *P = probs + ((size_t) b * NH + h) * S * S;
			const float *dO = dout + (size_t) b * S * D + (size_t) h * hd;

			/* dV[S,hd] = P^T dO */
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, hd, S,
						1.0f, P, S, dO, D, 0.0f, dV, ld);
			/* dP[S,S] = dO V^T */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hd,
						1.0f, dO, D, V, ld, 0.0f, dP, S);
			/* dS = P * (dP - rowsum(dP * P)), scaled by the softmax scale */
			for (int i = 0; i < S; i++)
			{
				const float *p = P + (size_t) i * S;
				float	   *g = dP + (size_t) i * S;
				float		dot = hrm_dot_lanes(g, p, S);

				for (int j = 0; j < S; j++)
					g[j] = scale * p[j] * (g[j] - dot);
			}
			/* dQ[S,hd] = dS K ; dK[S,hd] = dS^T Q */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hd, S,
						1.0f, dP, S, K, ld, 0.0f, dQ, ld);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, hd, S,
						1.0f, dP, S, Q, ld, 0.0f, dK, ld);
		}
	}
}

size_t
hrm_attention_bwd_scratch_floats(int S, int hd)
{
	/* V^T packed, dO contiguous */
	return hrm_gemm_pack_size(hd, S) + (size_t) S * hd;
}

void
hrm_attention_backward_packed(float *dqkv, float *dP, const float *dout, const float *qkv,
							  const float *probs, int B, int S, int NH, int hd, float *scratch)
{
	int			D = NH * hd;
	int			ld = 3 * D;
	float		scale = 1.0f / sqrtf((float) hd);
	float	   *Vt = scratch;
	float	   *dOc = Vt + hrm_gemm_pack_size(hd, S);

	for (int b = 0; b < B; b++)
	{
		const float *base = qkv + (size_t) b * S * ld;
		float	   *dbase = dqkv + (size_t) b * S * ld;

		for (int h = 0; h < NH; h++)
		{
			const float *Q = base + (size_t) h * hd;
			const float *K = base + D + (size_t) h * hd;
			const float *V = base + 2 * D + (size_t) h * hd;
			float	   *dQ = dbase + (size_t) h * hd;
			float	   *dK = dbase + D + (size_t) h * hd;
			float	   *dV = dbase + 2 * D + (size_t) h * hd;
			const float *P = probs + ((size_t) b * NH + h) * S * S;
			const float *dO = dout + (size_t) b * S * D + (size_t) h * hd;

			/* V^T packed; dO's rows contiguous (it is the A of dO V^T); K, Q, dO read in place */
			hrm_gemm_pack(Vt, V, ld, hd, S, true);
			for (int s = 0; s < S; s++)
				for (int i = 0; i < hd; i++)
					dOc[(size_t) s * hd + i] = dO[(size_t) s * D + i];
			/* dV[S,hd] = P^T dO */
			hrm_gemm_tn(S, hd, S, 1.0f, P, S, dO, D, 0.0f, dV, ld);
			/* dP[S,S] = dO V^T */
			hrm_gemm_packed(S, S, hd, 1.0f, dOc, hd, Vt, 0.0f, dP, S);
			/* dS = P * (dP - rowsum(dP * P)), scaled by the softmax scale */
			for (int i = 0; i < S; i++)
			{
				const float *p = P + (size_t) i * S;
				float	   *g = dP + (size_t) i * S;
				float		dot = hrm_dot_lanes(g, p, S);

				for (int j = 0; j < S; j++)
					g[j] = scale * p[j] * (g[j] - dot);
			}
			/* dQ[S,hd] = dS K ; dK[S,hd] = dS^T Q */
			hrm_gemm_nn(S, hd, S, 1.0f, dP, S, K, ld, 0.0f, dQ, ld);
			hrm_gemm_tn(S, hd, S, 1.0f, dP, S, Q, ld, 0.0f, dK, ld);
		}
	}
}
