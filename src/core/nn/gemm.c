/*
 * gemm.c — packed-weight SGEMM (see gemm.h).
 *
 * Blocking: rows of A in blocks of MR = 12, read in place; for each block,
 * every column panel of B ([K][32], packed weights kept in L2 by column
 * groups, or an activation read in place) runs the 12 x 32 micro-kernel:
 * per k two vector loads of B, twelve broadcasts of A, 24 FMAs into 24 zmm
 * accumulators.  Column tails are masked stores.  A row tail of 7..11 rows
 * runs as the matrix's last full block, storing only its new rows; a tail
 * of at most 6 is packed ([K][12], zero rows) for a half-height kernel.
 * Weight gradients (A given transposed) contract in chunks of 128 rows.
 */
#include "gemm.h"
#include "gemm_groups.h"
#include "hrm_common.h"
#include "cpu.h"
#include "layers.h"
#include "parallel.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels_avx512.h"

#define MR 12
#define NR HRM_GEMM_NR

static int	gemm_state = -1;	/* -1 unknown, 0 off, 1 on */

bool
hrm_gemm_available(void)
{
	if (gemm_state < 0)
	{
		const char *e = getenv("HRM_GEMM");

		gemm_state = (e != NULL && strcmp(e, "blas") == 0) ? 0 : 1;
	}
	return gemm_state == 1 && hrm_cpu_has(HRM_CPU_AVX512);
}

void
hrm_gemm_enable(bool on)
{
	gemm_state = on ? 1 : 0;
}

size_t
hrm_gemm_pack_size(int K, int N)
{
	size_t		panels = ((size_t) N + NR - 1) / NR;

	return panels * (size_t) K * NR;
}

_Atomic unsigned long hrm_gemm_rebalanced = 0;
int			hrm_gemm_owner_delay_us = 0;

unsigned long
hrm_gemm_panels_rebalanced(void)
{
	return atomic_load_explicit(&hrm_gemm_rebalanced, memory_order_relaxed);
}

void
hrm_gemm_test_owner_delay(int usec)
{
	hrm_gemm_owner_delay_us = usec > 0 ? usec : 0;
}

void
hrm_range_owner_start(int i)
{
	if (i > 0 && hrm_gemm_owner_delay_us > 0)
	{
		struct timespec ts = {hrm_gemm_owner_delay_us / 1000000, (long) (hrm_gemm_owner_delay_us % 1000000) * 1000};

		nanosleep(&ts, NULL);
	}
}

/* products below this many FLOP run on one thread */
#define PAR_MIN_FLOP (4.0 * 1024 * 1024)

/*
 * Ranges for a product: 1 (serial) unless it is worth splitting; then T
 * ranges of rows, or of columns when that balances better (few rows; not
 * for weight gradients, whose chunks run down the rows).  flop_N: the
 * product's output columns in FLOP terms (SwiGLU: both halves).
 */
int
hrm_gemm_plan(int M, int flop_N, int K, int panels, bool cols_ok, bool *by_cols)
{
	int			T = hrm_parallel_threads();
	int			blocks = (M + MR - 1) / MR;
	double		row_use,
				col_use;

	*by_cols = false;
	if (T <= 1 || hrm_parallel_active() || 2.0 * M * flop_N * K < PAR_MIN_FLOP)
		return 1;
	/* the share of T threads' time each way keeps busy */
	row_use = (double) blocks / ((double) ((blocks + T - 1) / T) * T);
	col_use = (double) panels / ((double) ((panels + T - 1) / T) * T);
	if (cols_ok && blocks < 8 * T && col_use > row_use)
	{
		*by_cols = true;
		return panels < T ? panels : T;
	}
	return blocks < T ? blocks : T;
}


void
hrm_gemm_pack(float *Bp, const float *W, int ld, int K, int N, bool trans)
{
	int			panels = (N + NR - 1) / NR;
	bool		avx = hrm_cpu_has(HRM_CPU_AVX512);

	for (int p = 0; p < panels; p++)
	{
		float	   *dst = Bp + (size_t) p * K * NR;
		int			n0 = p * NR;
		int			nw = N - n0 < NR ? N - n0 : NR;

		if (trans)
		{
			if (avx)
			{
				/* B[k][n0 + 0..31] = W[n0 + 0..31][k], 16 x 16 transposes */
				hrm_gemm_pack_panel_avx512(dst, W + (size_t) n0 * ld, ld, nw, K);
				continue;
			}
			/* B[k][n] = W[n][k]: walk W's rows so reads are sequential */
			if (nw < NR)
				memset(dst, 0, sizeof(float) * (size_t) K * NR);
			for (int j = 0; j < nw; j++)
			{
				const float *w = W + (size_t) (n0 + j) * ld;

				for (int k = 0; k < K; k++)
					dst[(size_t) k * NR + j] = w[k];
			}
		}
		else
		{
			for (int k = 0; k < K; k++)
			{
				const float *w = W + (size_t) k * ld + n0;
				float	   *d = dst + (size_t) k * NR;

				memcpy(d, w, sizeof(float) * nw);
				if (nw < NR)
					memset(d + nw, 0, sizeof(float) * (NR - nw));
			}
		}
	}
}

void
hrm_gemm_pack_swiglu(float *Bp, const float *W, int ld, int K, int Iw)
{
	bool		avx = hrm_cpu_has(HRM_CPU_AVX512);

	for (int p = 0; p < Iw / 16; p++)
	{
		float	   *dst = Bp + (size_t) p * K * NR;

		if (avx)
		{
			/* 16 gate rows to columns 0..15, the matching up rows to 16..31 */
			hrm_gemm_pack_swiglu_panel_avx512(dst, W + (size_t) (16 * p) * ld, W + (size_t) (Iw + 16 * p) * ld,
											  ld, K);
			continue;
		}
		for (int j = 0; j < 16; j++)
		{
			const float *g = W + (size_t) (16 * p + j) * ld;
			const float *u = W + (size_t) (Iw + 16 * p + j) * ld;

			for (int k = 0; k < K; k++)
			{
				dst[(size_t) k * NR + j] = g[k];
				dst[(size_t) k * NR + 16 + j] = u[k];
			}
		}
	}
}

/* ------------------------------------------------------------------------- */
/*
 * The products: the AVX-512 kernels (gemm_avx512.c) where the CPU has
 * them, else plain loops with the same FMA chain per output (the packed
 * ones) or BLAS (the unpacked ones).
 */

static void
hrm_gemm_packed_plain(int M, int N, int K, float alpha, const float *A, int lda,
				const float *Bp, float beta, float *C, int ldc)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++)
		{
			const float *b = Bp + (size_t) (n / NR) * K * NR + n % NR;
			float		s = 0.0f;

			for (int k = 0; k < K; k++)
				s = fmaf(A[(size_t) m * lda + k], b[(size_t) k * NR], s);
			if (alpha != 1.0f)
				s *= alpha;
			C[(size_t) m * ldc + n] = beta != 0.0f ? C[(size_t) m * ldc + n] + s : s;
		}
}

static void
hrm_gemm_packed_swiglu_plain(int M, int Iw, int K, const float *A, int lda, const float *Bp,
					   float *act, int ldact, float *gu)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < Iw; n++)
		{
			const float *b = Bp + (size_t) (n / 16) * K * NR + n % 16;
			float		g = 0.0f,
						u = 0.0f;

			for (int k = 0; k < K; k++)
			{
				g = fmaf(A[(size_t) m * lda + k], b[(size_t) k * NR], g);
				u = fmaf(A[(size_t) m * lda + k], b[(size_t) k * NR + 16], u);
			}
			act[(size_t) m * ldact + n] = g / (1.0f + hrm_expf(-g)) * u;
			if (gu)
			{
				gu[(size_t) m * 2 * Iw + n] = g;
				gu[(size_t) m * 2 * Iw + Iw + n] = u;
			}
		}
}

static void
hrm_gemm_packed_swiglu_bwd_plain(int M, int Iw, int K, const float *A, int lda, const float *Bp,
						   const float *gu, float *dgu)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < Iw; n++)
		{
			const float *b = Bp + (size_t) (n / NR) * K * NR + n % NR;
			const float *g = gu + (size_t) m * 2 * Iw;
			float		da = 0.0f,
						sg;

			for (int k = 0; k < K; k++)
				da = fmaf(A[(size_t) m * lda + k], b[(size_t) k * NR], da);
			sg = 1.0f / (1.0f + hrm_expf(-g[n]));
			dgu[(size_t) m * 2 * Iw + Iw + n] = da * (g[n] * sg);
			dgu[(size_t) m * 2 * Iw + n] = da * g[Iw + n] * sg * (1.0f + g[n] * (1.0f - sg));
		}
}

static void
hrm_gemm_nn_plain(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
			float beta, float *C, int ldc)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K,
				alpha, A, lda, B, ldb, beta, C, ldc);
}

static void
hrm_gemm_tn_plain(int M, int N, int K, float alpha, const float *At, int lda, const float *B, int ldb,
			float beta, float *C, int ldc)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K,
				alpha, At, lda, B, ldb, beta, C, ldc);
}

static bool
hrm_gemm_packed_mlp_plain(int M, int Iw, int D, const float *x, int ldx, const float *Bgu, const float *Bd,
					float *h, int ldh, float *gu, float *act_keep)
{
	/* no fused kernel without AVX-512: the caller runs the two products */
	return false;
}

void
hrm_gemm_packed(int M, int N, int K, float alpha, const float *A, int lda,
				const float *Bp, float beta, float *C, int ldc)
{
	HRM_ASSERT(M >= 0 && N >= 0 && K >= 0 && lda >= K && ldc >= N);
	HRM_ASSERT(A != NULL && Bp != NULL && C != NULL);
	if (hrm_cpu_has(HRM_CPU_AVX512))
		hrm_gemm_packed_avx512(M, N, K, alpha, A, lda, Bp, beta, C, ldc);
	else
		hrm_gemm_packed_plain(M, N, K, alpha, A, lda, Bp, beta, C, ldc);
}

void
hrm_gemm_packed_swiglu(int M, int Iw, int K, const float *A, int lda, const float *Bp,
					   float *act, int ldact, float *gu)
{
	HRM_ASSERT(M >= 0 && Iw >= 0 && K >= 0 && lda >= K && ldact >= Iw);
	HRM_ASSERT(A != NULL && Bp != NULL && act != NULL);
	if (hrm_cpu_has(HRM_CPU_AVX512))
		hrm_gemm_packed_swiglu_avx512(M, Iw, K, A, lda, Bp, act, ldact, gu);
	else
		hrm_gemm_packed_swiglu_plain(M, Iw, K, A, lda, Bp, act, ldact, gu);
}

void
hrm_gemm_packed_swiglu_bwd(int M, int Iw, int K, const float *A, int lda, const float *Bp,
						   const float *gu, float *dgu)
{
	HRM_ASSERT(M >= 0 && Iw >= 0 && K >= 0 && lda >= K);
	HRM_ASSERT(A != NULL && Bp != NULL && gu != NULL && dgu != NULL);
	if (hrm_cpu_has(HRM_CPU_AVX512))
		hrm_gemm_packed_swiglu_bwd_avx512(M, Iw, K, A, lda, Bp, gu, dgu);
	else
		hrm_gemm_packed_swiglu_bwd_plain(M, Iw, K, A, lda, Bp, gu, dgu);
}

void
hrm_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
			float beta, float *C, int ldc)
{
	HRM_ASSERT(M >= 0 && N >= 0 && K >= 0 && lda >= K && ldb >= N && ldc >= N);
	if (hrm_cpu_has(HRM_CPU_AVX512))
		hrm_gemm_nn_avx512(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	else
		hrm_gemm_nn_plain(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void
hrm_gemm_tn(int M, int N, int K, float alpha, const float *At, int lda, const float *B, int ldb,
			float beta, float *C, int ldc)
{
	HRM_ASSERT(M >= 0 && N >= 0 && K >= 0 && lda >= M && ldb >= N && ldc >= N);
	if (hrm_cpu_has(HRM_CPU_AVX512))
		hrm_gemm_tn_avx512(M, N, K, alpha, At, lda, B, ldb, beta, C, ldc);
	else
		hrm_gemm_tn_plain(M, N, K, alpha, At, lda, B, ldb, beta, C, ldc);
}

bool
hrm_gemm_packed_mlp(int M, int Iw, int D, const float *x, int ldx, const float *Bgu, const float *Bd,
					float *h, int ldh, float *gu, float *act_keep)
{
	if (hrm_cpu_has(HRM_CPU_AVX512))
		return hrm_gemm_packed_mlp_avx512(M, Iw, D, x, ldx, Bgu, Bd, h, ldh, gu, act_keep);
	return hrm_gemm_packed_mlp_plain(M, Iw, D, x, ldx, Bgu, Bd, h, ldh, gu, act_keep);
}

/*
 * Free the calling thread's kernel scratch (thread-local, grown on demand).
 * The pool's workers keep theirs for the process's life; a thread of the
 * caller's own that ran the kernels calls this before it exits, or the
 * scratch leaks.  Only the AVX-512 and bfloat16 kernels keep such scratch.
 */
const char *
hrm_cpu_path(void)
{
	if (!hrm_gemm_available())
		return "portable";
	return hrm_gemm_bf16_available() ? "avx512+bf16" : "avx512";
}

void
hrm_gemm_thread_release(void)
{
	if (hrm_cpu_has(HRM_CPU_AVX512))
		hrm_gemm_thread_release_avx512();
	hrm_gemm_bf16_thread_release();
}
