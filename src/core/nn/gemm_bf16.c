/*
 * gemm_bf16.c — products on weights packed in bfloat16 (see gemm.h).
 *
 * Layout: panels of HRM_GEMM_NR = 32 output columns as in the float32
 * packing, each [K2][32][2] with K2 = ceil(K / 2): for contraction pair kk,
 * column n holds (W[n][2 kk], W[n][2 kk + 1]) rounded to nearest-even
 * bfloat16 (zero past K and past N).  One pair row of a panel is 128 bytes,
 * two vectors of 16 columns x 2 values: what vdpbf16ps multiplies against a
 * broadcast pair of A, adding both products into a float32 lane.
 *
 * A (activations, float32) is converted once per product to bfloat16 pairs
 * (round to nearest even, vcvtne2ps2bf16), row-major, zero rows past M up
 * to a multiple of 12; the 12 x 32 kernel then runs 24 vdpbf16ps per pair
 * (2 loads of B, 12 broadcasts of A) into 24 float32 accumulators, a short
 * last block 20, 16 or 12.
 * Each output is one sum in a fixed order, so (as for the float32 kernel)
 * results do not depend on M, on the row's position or on the threads.
 *
 * Only this file is compiled for AVX512_BF16 (a target pragma below);
 * callers check hrm_gemm_bf16_available() (a run-time CPU test) first.
 */
#include "gemm.h"
#include "gemm_groups.h"
#include "cpu.h"
#include "layers.h"
#include "parallel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NR HRM_GEMM_NR
#define MR 12

static bool bf16_off = false;	/* hrm_gemm_bf16_enable(false) */

bool
hrm_gemm_bf16_available(void)
{
	return !bf16_off && hrm_cpu_has(HRM_CPU_AVX512BF16) && hrm_gemm_available();
}

void
hrm_gemm_bf16_enable(bool on)
{
	bf16_off = !on;
}

size_t
hrm_gemm_pack_bf16_size(int K, int N)
{
	size_t		panels = ((size_t) N + NR - 1) / NR;

	return panels * (((size_t) K + 1) / 2) * NR * 2;
}

uint16_t
hrm_bf16_round(float x)
{
	uint32_t	u;

	memcpy(&u, &x, sizeof(u));
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t) ((u >> 16) | 0x0040u);	/* NaN stays a (quiet) NaN */
	u += 0x7fffu + ((u >> 16) & 1u);	/* round to nearest, ties to even */
	return (uint16_t) (u >> 16);
}

float
hrm_bf16_to_float(uint16_t h)
{
	uint32_t	u = (uint32_t) h << 16;
	float		x;

	memcpy(&x, &u, sizeof(x));
	return x;
}

/* One panel: columns w0[j] (j < nw, each a row of K values of the weight), the rest zero. */
static void
pack_panel16(uint16_t *dst, const float *const *cols, int nw, int K)
{
	int			K2 = (K + 1) / 2;

	for (int kk = 0; kk < K2; kk++)
		for (int j = 0; j < NR; j++)
		{
			uint16_t   *d = dst + ((size_t) kk * NR + j) * 2;
			int			k = 2 * kk;

			d[0] = j < nw ? hrm_bf16_round(cols[j][k]) : 0;
			d[1] = j < nw && k + 1 < K ? hrm_bf16_round(cols[j][k + 1]) : 0;
		}
}

void
hrm_gemm_pack_bf16(uint16_t *Bp, const float *W, int ld, int K, int N)
{
	size_t		psz = hrm_gemm_pack_bf16_size(K, NR);

	for (int p = 0; p * NR < N; p++)
	{
		const float *cols[NR];
		int			nw = N - p * NR < NR ? N - p * NR : NR;

		for (int j = 0; j < nw; j++)
			cols[j] = W + (size_t) (p * NR + j) * ld;
		pack_panel16(Bp + (size_t) p * psz, cols, nw, K);
	}
}

void
hrm_gemm_pack_swiglu_bf16(uint16_t *Bp, const float *W, int ld, int K, int Iw)
{
	size_t		psz = hrm_gemm_pack_bf16_size(K, NR);

	for (int p = 0; p < Iw / 16; p++)
	{
		const float *cols[NR];

		/* 16 gate rows to columns 0..15, the matching up rows to 16..31 */
		for (int j = 0; j < 16; j++)
		{
			cols[j] = W + (size_t) (16 * p + j) * ld;
			cols[16 + j] = W + (size_t) (Iw + 16 * p + j) * ld;
		}
		pack_panel16(Bp + (size_t) p * psz, cols, NR, K);
	}
}

/* A's converted rows, per calling thread, kept for the thread's life. */
static _Thread_local uint32_t *abuf16;
static _Thread_local size_t abuf16_cap;

/* Free the calling thread's converted rows (hrm_gemm_thread_release). */
void
hrm_gemm_bf16_thread_release(void)
{
	free(abuf16);
	abuf16 = NULL;
	abuf16_cap = 0;
}

/* ------------------------------------------------------------------------- */
/* the kernels: AVX512_BF16 (and what it implies) for the rest of the file */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HRM_BF16_KERNELS 1
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")
#endif

#define EPI_NONE 0
#define EPI_SWIGLU 1

/* hrm_exp16 (layers.h) for this file's target */
static inline __m512
exp16_bf(__m512 x)
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

/*
 * A [M, K] float32 (row stride lda) to bf16 pairs, row-major:
 * Ap[r * K2 + kk] = the pair kk of row r (A[r][2 kk] in the low half,
 * A[r][2 kk + 1] in the high half); rows past M (up to the next multiple
 * of MR) are zero.  32 values of a row are one conversion and one store.
 */
static void
convert_a(uint32_t *Ap, const float *A, int lda, int M, int K)
{
	int			K2 = (K + 1) / 2;
	int			Mp = (M + MR - 1) / MR * MR;

	for (int r = 0; r < Mp; r++)
	{
		uint32_t   *d = Ap + (size_t) r * K2;
		const float *a = A + (size_t) r * lda;

		if (r >= M)
		{
			memset(d, 0, sizeof(uint32_t) * (size_t) K2);
			continue;
		}
		for (int k = 0; k < K; k += 32)
		{
			int			w = K - k < 32 ? K - k : 32;
			__mmask16	m0 = w >= 16 ? 0xFFFF : (__mmask16) ((1u << w) - 1);
			__mmask16	m1 = w >= 32 ? 0xFFFF : w <= 16 ? 0 : (__mmask16) ((1u << (w - 16)) - 1);
			__m512		lo = _mm512_maskz_loadu_ps(m0, a + k),
						hi = _mm512_maskz_loadu_ps(m1, a + k + 16);
			/* cvtne2ps2bf16(hi, lo): lo's 16 values in the low half, in order (nearest even) */
			__m512bh	v = _mm512_cvtne2ps_pbh(hi, lo);
			int			n = (w + 1) / 2;

			_mm512_mask_storeu_epi32(d + k / 2, (__mmask16) (n >= 16 ? 0xFFFF : (1u << n) - 1), (__m512i) v);
		}
	}
}

/*
 * C[0 .. mr - 1, 32 columns (masks m0, m1)] = Ap-block^T Bp (+ C when
 * beta); SwiGLU: act[r, 0:16] = silu(gate) * up.  A: the block's first
 * row of the converted rows (convert_a, K2 pairs a row); rows: how many
 * of its rows the kernel computes (12, or 10, 8, 6 for a short last block:
 * one puzzle's 82 rows end in 10), at least mr.
 */
static inline __attribute__((always_inline)) void
kernel16_12x32(int K2, const uint32_t *restrict A, const uint16_t *restrict Bp, float *C, int ldc,
			   int mr, __mmask16 m0, __mmask16 m1, float beta, int epi, const uint16_t *nl, int nlines,
			   int rows)
{
	__m512		acc[MR][2];

	for (int r = 0; r < MR; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_ps();
	for (int kk = 0; kk < K2; kk++)
	{
		__m512bh	b0 = (__m512bh) _mm512_loadu_si512((const void *) (Bp + (size_t) kk * 2 * NR));
		__m512bh	b1 = (__m512bh) _mm512_loadu_si512((const void *) (Bp + (size_t) kk * 2 * NR + NR));

		_mm_prefetch((const char *) (Bp + (size_t) (kk + 8) * 2 * NR), _MM_HINT_T0);
		_mm_prefetch((const char *) (Bp + (size_t) (kk + 8) * 2 * NR + NR), _MM_HINT_T0);
		/* this call's share of the next group, into L2 (gemm_groups.h) */
		if (nl != NULL)
			for (int q = kk; q < nlines; q += K2)
				_mm_prefetch((const char *) (nl + (size_t) q * 32), _MM_HINT_T1);
#pragma GCC unroll 12
		for (int r = 0; r < rows; r++)
		{
			__m512bh	a = (__m512bh) _mm512_set1_epi32((int) A[(size_t) r * K2 + kk]);

			acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
			acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
		}
	}
	if (epi == EPI_SWIGLU)
	{
		for (int r = 0; r < mr; r++)
		{
			__m512		g = acc[r][0];
			__m512		e = exp16_bf(_mm512_sub_ps(_mm512_setzero_ps(), g));
			__m512		silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));

			_mm512_storeu_ps(C + (size_t) r * ldc, _mm512_mul_ps(silu, acc[r][1]));
		}
		return;
	}
	for (int r = 0; r < mr; r++)
	{
		float	   *c = C + (size_t) r * ldc;
		__m512		x0 = acc[r][0],
					x1 = acc[r][1];

		if (beta != 0.0f)
		{
			x0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), x0);
			x1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), x1);
		}
		_mm512_mask_storeu_ps(c, m0, x0);
		_mm512_mask_storeu_ps(c + 16, m1, x1);
	}
}

typedef struct gemm16_job
{
	int			M,
				N,				/* output columns (SwiGLU: its width) */
				K,
				ranges;
	bool		by_cols;
	const uint32_t *Ap;			/* converted A, [Mp, K2] */
	const uint16_t *Bp;
	float		beta;
	float	   *C;
	int			ldc;
	int			epi;
	hrm_range  *cols;			/* by_cols: the ranges' panels not taken yet ([ranges]) */
} gemm16_job;

static int
job16_panels(const gemm16_job *j)
{
	return j->epi == EPI_SWIGLU ? j->N / 16 : (j->N + NR - 1) / NR;
}

/*
 * Rows [r0, r1) (multiples of MR, r1 may pass M) by panels [p0, p1); with
 * claim (the range [p0, p1) shared with other threads, gemm_groups.h) each
 * group is taken from its front first.
 */
static void
run16(const gemm16_job *j, int r0, int r1, int p0, int p1, hrm_range *claim)
{
	int			K2 = (j->K + 1) / 2;
	size_t		psz = (size_t) K2 * 2 * NR;
	int			cstep = j->epi == EPI_SWIGLU ? 16 : NR;
	int			rend = r1 < j->M ? r1 : j->M;
	int			nblk = (rend - r0 + MR - 1) / MR;

	/* column groups, fetched ahead on few row blocks (gemm_groups.h) */
	hrm_groups	g = hrm_groups_plan(nblk, p0, p1, psz * sizeof(uint16_t));

	for (int pg = p0, pend, gsz = hrm_groups_first(&g);; pg = pend, gsz = hrm_groups_grow(&g, gsz))
	{
		if (claim != NULL)
		{
			int			n = hrm_range_front(claim, gsz, &pg);

			if (n == 0)
				break;
			pg += p0;
			pend = pg + n;
		}
		else if (pg >= p1)
			break;
		else
			pend = pg + gsz < p1 ? pg + gsz : p1;

		for (int rb = r0; rb < rend; rb += MR)
		{
			int			mr = j->M - rb < MR ? j->M - rb : MR;
			int			bi = (rb - r0) / MR;
			const uint32_t *a = j->Ap + (size_t) rb * K2;	/* the block's first row */
			int			rows = mr > 10 ? 12 : mr > 8 ? 10 : mr > 6 ? 8 : 6;

			for (int p = pg; p < pend; p++)
			{
				/* this call's share of the next group, into L2 (kernel16_12x32) */
				size_t		nfirst = 0;
				int			nlines = hrm_groups_share(&g, nblk, pg, pend, gsz, bi, p, psz, 32, &nfirst);
				const uint16_t *nl = nlines > 0 ? j->Bp + (size_t) pend * psz + nfirst : NULL;

				int			nw = j->epi == EPI_SWIGLU ? NR : (j->N - p * NR < NR ? j->N - p * NR : NR);
				__mmask16	m0 = nw >= 16 ? 0xFFFF : (__mmask16) ((1u << nw) - 1);
				__mmask16	m1 = nw >= 32 ? 0xFFFF : nw <= 16 ? 0 : (__mmask16) ((1u << (nw - 16)) - 1);
				float	   *c = j->C + (size_t) rb * j->ldc + (size_t) p * cstep;
				const uint16_t *b = j->Bp + (size_t) p * psz;

				/* rows and the epilogue as constants: each case its own inlined kernel */
#define K16(BETA, EPI) \
				do { \
					if (rows == 12) \
						kernel16_12x32(K2, a, b, c, j->ldc, mr, m0, m1, BETA, EPI, nl, nlines, 12); \
					else if (rows == 10) \
						kernel16_12x32(K2, a, b, c, j->ldc, mr, m0, m1, BETA, EPI, nl, nlines, 10); \
					else if (rows == 8) \
						kernel16_12x32(K2, a, b, c, j->ldc, mr, m0, m1, BETA, EPI, nl, nlines, 8); \
					else \
						kernel16_12x32(K2, a, b, c, j->ldc, mr, m0, m1, BETA, EPI, nl, nlines, 6); \
				} while (0)
				if (j->epi == EPI_SWIGLU)
					K16(0.0f, EPI_SWIGLU);
				else if (j->beta != 0.0f)
					K16(1.0f, EPI_NONE);
				else
					K16(0.0f, EPI_NONE);
#undef K16
			}
		}
	}
}

static void
task16(void *arg, int i, int t)
{
	const gemm16_job *j = arg;

	if (j->by_cols)
	{
		/* this task's range, then single panels from the back of the others' */
		hrm_range  *own = &j->cols[i];
		int			p;

		hrm_range_owner_start(i);
		run16(j, 0, j->M, own->p0, own->p1, own);
		while ((p = hrm_range_other(j->cols, j->ranges, i)) >= 0)
		{
			atomic_fetch_add_explicit(&hrm_gemm_rebalanced, 1, memory_order_relaxed);
			run16(j, 0, j->M, p, p + 1, NULL);
		}
	}
	else
	{
		int			blocks = (j->M + MR - 1) / MR;

		run16(j, (int) ((long) blocks * i / j->ranges) * MR, (int) ((long) blocks * (i + 1) / j->ranges) * MR,
			  0, job16_panels(j), NULL);
	}
}

static void
go16(gemm16_job *j, const float *A, int lda)
{
	int			K2 = (j->K + 1) / 2;
	size_t		need = (size_t) ((j->M + MR - 1) / MR * MR) * K2;

	if (need > abuf16_cap)
	{
		free(abuf16);
		abuf16_cap = 0;
		abuf16 = aligned_alloc(64, (need * sizeof(uint32_t) + 63) & ~(size_t) 63);
		if (abuf16 == NULL)
			abort();			/* the converted activations of one product: nothing sensible to continue with */
		abuf16_cap = need;
	}
	convert_a(abuf16, A, lda, j->M, j->K);
	j->Ap = abuf16;
	j->ranges = hrm_gemm_plan(j->M, j->epi == EPI_SWIGLU ? 2 * j->N : j->N, j->K, job16_panels(j), true,
							  &j->by_cols);
	if (j->ranges <= 1)
		run16(j, 0, j->M, 0, job16_panels(j), NULL);
	else
	{
		hrm_range	cols[HRM_MAX_THREADS];

		if (j->by_cols)
			hrm_range_split(cols, j->ranges, job16_panels(j));
		j->cols = cols;
		hrm_parallel_for(j->ranges, task16, j);
	}
}

void
hrm_gemm_packed_bf16(int M, int N, int K, const float *A, int lda, const uint16_t *Bp, float beta,
					 float *C, int ldc)
{
	gemm16_job	j = {.M = M, .N = N, .K = K, .Bp = Bp, .beta = beta, .C = C, .ldc = ldc, .epi = EPI_NONE};

	if (M > 0)
		go16(&j, A, lda);
}

void
hrm_gemm_packed_swiglu_bf16(int M, int Iw, int K, const float *A, int lda, const uint16_t *Bp,
							float *act, int ldact)
{
	gemm16_job	j = {.M = M, .N = Iw, .K = K, .Bp = Bp, .beta = 0.0f, .C = act, .ldc = ldact, .epi = EPI_SWIGLU};

	if (M > 0)
		go16(&j, A, lda);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else							/* no x86-64 target attributes: never available */

void
hrm_gemm_packed_bf16(int M, int N, int K, const float *A, int lda, const uint16_t *Bp, float beta,
					 float *C, int ldc)
{
	abort();
}

void
hrm_gemm_packed_swiglu_bf16(int M, int Iw, int K, const float *A, int lda, const uint16_t *Bp,
							float *act, int ldact)
{
	abort();
}
#endif
