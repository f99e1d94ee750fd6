/*
 * gemm_avx512.c — the AVX-512 kernels of the packed-weight SGEMM (gemm.h;
 * gemm.c dispatches to them where the CPU has AVX-512, and has the plain
 * versions), compiled for AVX-512 by simd_avx512.h.
 *
 * Blocking: rows of A in blocks of MR = 12, read in place; for each block,
 * every column panel of B ([K][32], packed weights kept in L2 by column
 * groups, or an activation read in place) runs the 12 x 32 micro-kernel:
 * per k two vector loads of B, twelve broadcasts of A, 24 FMAs into 24 zmm
 * accumulators.  Column tails are masked stores.  A row tail of 7..11 rows
 * runs as the matrix's last 8, 10 or 12 rows, storing only its new rows; a tail
 * of at most 6 is packed ([K][12], zero rows) for a half-height kernel.
 * Weight gradients (A given transposed) contract in chunks of 128 rows.
 * Products are split over the pool by rows or column panels (hrm_gemm_plan).
 */
#include "gemm.h"
#include "gemm_groups.h"
#include "kernels_avx512.h"
#include "layers.h"
#include "parallel.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd_avx512.h"

#define MR 12
#define NR HRM_GEMM_NR
#define PF_DIST 16				/* rows of B (and A transposed) prefetched ahead */

/* kernel epilogues */
#define EPI_NONE 0
#define EPI_SWIGLU 1			/* C[:, 16 cols] = silu(gate half) * up half */
#define EPI_SWIGLU_BWD 2		/* C = dgu from dact (acc) and the kept projection */


/*
 * r[i][j] <- r[j][i] for a 16 x 16 block of floats: 32-bit interleaves of
 * row pairs, 64-bit interleaves of those, then two rounds of 128-bit lane
 * shuffles (64 shuffles: the attention's per-head K^T packs in 235 ns,
 * 430 with the 16-lane gathers this replaced).
 */
static inline void
transpose16(__m512 r[16])
{
	__m512		t[16],
				u[16];

	for (int i = 0; i < 8; i++)
	{
		t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
	}
	for (int i = 0; i < 4; i++)
	{
		__m512d		a = _mm512_castps_pd(t[4 * i]),
					b = _mm512_castps_pd(t[4 * i + 1]),
					c = _mm512_castps_pd(t[4 * i + 2]),
					d = _mm512_castps_pd(t[4 * i + 3]);

		/* u[4i + q]: columns q, q + 4, q + 8, q + 12 (one per 128-bit lane) of rows 4i..4i+3 */
		u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
		u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
		u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
		u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
	}
	for (int q = 0; q < 4; q++)
	{
		__m512		v0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44),
					v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE),
					w0 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44),
					w1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);

		r[q] = _mm512_shuffle_f32x4(v0, w0, 0x88);
		r[4 + q] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
		r[8 + q] = _mm512_shuffle_f32x4(v1, w1, 0x88);
		r[12 + q] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
	}
}

/*
 * dst[k * NR + j] = w[j * ld + k] for j < 16, k < K: 16 columns of a
 * packed panel from 16 rows of a row-major weight (rows from nr on are
 * zero), 16 x 16 at a time.
 */
static void
pack_half_panel(float *dst, const float *w, int ld, int nr, int K)
{
	for (int k0 = 0; k0 < K; k0 += 16)
	{
		int			kw = K - k0 < 16 ? K - k0 : 16;
		__mmask16	km = (__mmask16) ((1u << kw) - 1);
		__m512		r[16];

		for (int j = 0; j < 16; j++)
			r[j] = j < nr ? _mm512_maskz_loadu_ps(km, w + (size_t) j * ld + k0) : _mm512_setzero_ps();
		transpose16(r);
		for (int k = 0; k < kw; k++)
			_mm512_storeu_ps(dst + (size_t) (k0 + k) * NR, r[k]);
	}
}

void
hrm_gemm_pack_panel_avx512(float *dst, const float *W, int ld, int nw, int K)
{
	/* rows of W past nw: zero */
	pack_half_panel(dst, W, ld, nw, K);
	pack_half_panel(dst + 16, W + (size_t) 16 * ld, ld, nw - 16, K);
}

void
hrm_gemm_pack_swiglu_panel_avx512(float *dst, const float *gate, const float *up, int ld, int K)
{
	pack_half_panel(dst, gate, ld, 16, K);
	pack_half_panel(dst + 16, up, ld, 16, K);
}

/*
 * A per-thread buffer, grown on demand and kept for the thread's life: the
 * packed row tail (a few KB).
 */
typedef struct grow_buf
{
	float	   *p;
	size_t		cap;
} grow_buf;

static _Thread_local grow_buf abuf_tl;

static float *
buf_get(grow_buf *b, size_t n)
{
	if (n > b->cap)
	{
		float	   *p;

		free(b->p);
		b->p = NULL;
		b->cap = 0;
		/* 64-byte aligned, size rounded to the alignment */
		p = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t) 63);
		if (p == NULL)
			return NULL;
		b->p = p;
		b->cap = n;
	}
	return b->p;
}

static float *
abuf_get(size_t n)
{
	return buf_get(&abuf_tl, n);
}

/* Ap[k][r] = A[r * rs + k * ks] for r < mr, 0 for mr <= r < MR */
static void
pack_rows(float *Ap, const float *A, size_t rs, size_t ks, int mr, int K)
{
	if (mr < MR)
		memset(Ap, 0, sizeof(float) * (size_t) K * MR);
	for (int r = 0; r < mr; r++)
	{
		const float *a = A + (size_t) r * rs;

		for (int k = 0; k < K; k++)
			Ap[(size_t) k * MR + r] = a[(size_t) k * ks];
	}
}

/*
 * The SwiGLU epilogue of one row: gate | up halves of the panel, C[r, 0:16]
 * = silu(gate) * up; with keep (the caller's writable [M, 2 up]
 * projection, here at this panel's columns) the gate and up values are
 * kept too.  Read back only by the backward, after the rest of the step,
 * they go out with streaming stores when the lines are whole (keep 64-byte
 * aligned; up is a multiple of 16), which do not read the destination in
 * first (+1% on the step); the job drains them (sfence) before it returns.
 */
static inline __attribute__((always_inline)) void
swiglu_row(float *C, int ldc, float *keep, int up, int r, __m512 g, __m512 u)
{
	__m512		e = hrm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
	__m512		silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));

	_mm512_storeu_ps(C + (size_t) r * ldc, _mm512_mul_ps(silu, u));
	if (keep)
	{
		if ((((uintptr_t) keep) & 63) == 0)
		{
			_mm512_stream_ps(keep + (size_t) r * 2 * up, g);
			_mm512_stream_ps(keep + (size_t) r * 2 * up + up, u);
		}
		else
		{
			_mm512_storeu_ps(keep + (size_t) r * 2 * up, g);
			_mm512_storeu_ps(keep + (size_t) r * 2 * up + up, u);
		}
	}
}

/*
 * C[r_lo .. r_lo + mr - 1, 32] (cols masked by m0, m1) = alpha * Ap^T Bp
 * + beta * C: the block's rows from r_lo on (r_lo > 0: a row tail run as
 * the last full block of the matrix, whose first rows are already done).
 */
static inline __attribute__((always_inline)) void
kernel_12x32(int K, const float *restrict A, size_t rs, size_t ks, const float *restrict Bp, size_t bs,
			 float *C, int ldc, int r_lo, int mr, __mmask16 m0, __mmask16 m1, float alpha, float beta,
			 int epi, const float *aux, int up, bool pf, int rows, bool bmask, const float *nb,
			 const float *nl, int nlines)
{
	/*
	 * rows: 12; 8 or 10 for a row tail of 7..10 read in place (the rows
	 * past it not computed); 6 for a packed tail of at most 6
	 */
	__m512		c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps();
	__m512		c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
	__m512		c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps();
	__m512		c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
	__m512		c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps();
	__m512		c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
	__m512		c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps();
	__m512		c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
	__m512		c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps();
	__m512		c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
	__m512		cAa = _mm512_setzero_ps(), cAb = _mm512_setzero_ps();
	__m512		cBa = _mm512_setzero_ps(), cBb = _mm512_setzero_ps();

#define HRM_FMA_ROW(r, ca, cb) \
	do { \
		__m512 a_ = _mm512_set1_ps(a[(r) * rs]); \
		ca = _mm512_fmadd_ps(a_, b0, ca); \
		cb = _mm512_fmadd_ps(a_, b1, cb); \
	} while (0)

	for (int k = 0; k < K; k++)
	{
		const float *a = A + (size_t) k * ks;

		/*
		 * Fetch B's row (and A's, given transposed) PF_DIST rows ahead:
		 * read in place, the rows are far apart and the hardware
		 * prefetcher does not see them coming; packed, the panel streams
		 * from L2 and the prefetch still gains 3-4% on the training step.
		 * Measured distances: 8 and 32 both slower than 16.
		 */
		if (pf)
		{
			if (ks != 1)
			{
				_mm_prefetch((const char *) (a + PF_DIST * ks), _MM_HINT_T0);
				_mm_prefetch((const char *) (a + PF_DIST * ks + (MR - 1) * rs), _MM_HINT_T0);
			}
			_mm_prefetch((const char *) (Bp + (size_t) (k + PF_DIST) * bs), _MM_HINT_T0);
			_mm_prefetch((const char *) (Bp + (size_t) (k + PF_DIST) * bs + 16), _MM_HINT_T0);
		}
		/*
		 * nb: the same panel of the next contraction chunk (weight
		 * gradients; the first row block only), fetched into L2 while this
		 * chunk runs: its rows come from memory (kept activations), kilobytes
		 * apart, and the 16-row prefetch above is too short for that
		 * (the weight-gradient products +2-5%).
		 */
		if (nb != NULL)
		{
			_mm_prefetch((const char *) (nb + (size_t) k * bs), _MM_HINT_T1);
			_mm_prefetch((const char *) (nb + (size_t) k * bs + 16), _MM_HINT_T1);
		}
		/*
		 * nl: this call's share of the lines of the next column group
		 * (packed weights), fetched into L2 while this group runs
		 * (gemm_groups.h).
		 */
		if (nl != NULL)
			for (int q = k; q < nlines; q += K)
				_mm_prefetch((const char *) (nl + (size_t) q * 16), _MM_HINT_T1);
		/*
		 * The SwiGLU backward's epilogue reads the kept projection (g and
		 * u, 32 columns each: 4 lines a row), streamed out to memory by
		 * the forward long before: one line per k from the start of the
		 * loop, which runs long enough after to hide the misses.
		 */
		if (epi == EPI_SWIGLU_BWD && k < 4 * rows && (k >> 2) < r_lo + mr)
			_mm_prefetch((const char *) (aux + (size_t) (k >> 2) * ldc + 16 * (k & 1) + ((k >> 1) & 1) * up),
						 _MM_HINT_T0);
		/*
		 * bmask: an unpacked B's last panel ends inside its rows, so its
		 * loads are masked; packed panels (zero-padded, bs the literal NR,
		 * which frees the registers the loop spilled) and whole in-place
		 * panels load plainly (+2.3% and +0.6% on the step, with the
		 * register epilogue below).
		 */
		__m512		b0 = bmask ? _mm512_maskz_loadu_ps(m0, Bp + (size_t) k * bs) : _mm512_loadu_ps(Bp + (size_t) k * bs);
		__m512		b1 = bmask ? _mm512_maskz_loadu_ps(m1, Bp + (size_t) k * bs + 16)
			: _mm512_loadu_ps(Bp + (size_t) k * bs + 16);

		HRM_FMA_ROW(0, c0a, c0b);
		HRM_FMA_ROW(1, c1a, c1b);
		HRM_FMA_ROW(2, c2a, c2b);
		HRM_FMA_ROW(3, c3a, c3b);
		HRM_FMA_ROW(4, c4a, c4b);
		HRM_FMA_ROW(5, c5a, c5b);
		if (rows > 6)
		{
			HRM_FMA_ROW(6, c6a, c6b);
			HRM_FMA_ROW(7, c7a, c7b);
		}
		if (rows > 8)
		{
			HRM_FMA_ROW(8, c8a, c8b);
			HRM_FMA_ROW(9, c9a, c9b);
		}
		if (rows > 10)
		{
			HRM_FMA_ROW(10, cAa, cAb);
			HRM_FMA_ROW(11, cBa, cBb);
		}
	}
#undef HRM_FMA_ROW

	/*
	 * A whole block with alpha = 1 (nearly every product): the 24
	 * accumulators go to C straight from their registers.
	 */
	if (epi == EPI_NONE && rows == 12 && r_lo == 0 && mr == MR && alpha == 1.0f)
	{
#define HRM_STORE_ROW(r, ca, cb) \
		do { \
			float	   *c_ = C + (size_t) (r) * ldc; \
			__m512		x0_ = ca, x1_ = cb; \
			if (beta != 0.0f) \
			{ \
				x0_ = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c_), x0_); \
				x1_ = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c_ + 16), x1_); \
			} \
			_mm512_mask_storeu_ps(c_, m0, x0_); \
			_mm512_mask_storeu_ps(c_ + 16, m1, x1_); \
		} while (0)
		HRM_STORE_ROW(0, c0a, c0b);
		HRM_STORE_ROW(1, c1a, c1b);
		HRM_STORE_ROW(2, c2a, c2b);
		HRM_STORE_ROW(3, c3a, c3b);
		HRM_STORE_ROW(4, c4a, c4b);
		HRM_STORE_ROW(5, c5a, c5b);
		HRM_STORE_ROW(6, c6a, c6b);
		HRM_STORE_ROW(7, c7a, c7b);
		HRM_STORE_ROW(8, c8a, c8b);
		HRM_STORE_ROW(9, c9a, c9b);
		HRM_STORE_ROW(10, cAa, cAb);
		HRM_STORE_ROW(11, cBa, cBb);
#undef HRM_STORE_ROW
		return;
	}
	{
		__m512		acc[MR][2] = {
			{c0a, c0b}, {c1a, c1b}, {c2a, c2b}, {c3a, c3b}, {c4a, c4b}, {c5a, c5b},
			{c6a, c6b}, {c7a, c7b}, {c8a, c8b}, {c9a, c9b}, {cAa, cAb}, {cBa, cBb}
		};
		__m512		va = _mm512_set1_ps(alpha);

		if (epi == EPI_SWIGLU_BWD)
		{
			/*
			 * acc = dact, the gradient of silu(g) * u; aux = the kept
			 * projection (g at aux, u at aux + up, row stride ldc): write
			 * dg = dact * u * s * (1 + g * (1 - s)) and du = dact * g * s
			 * (s = sigmoid(g)) to C and C + up.
			 */
			for (int r = r_lo; r < r_lo + mr; r++)
				for (int h = 0; h < 2; h++)
				{
					__mmask16	m = h ? m1 : m0;
					const float *ga = aux + (size_t) r * ldc + 16 * h;
					float	   *c = C + (size_t) r * ldc + 16 * h;
					__m512		one = _mm512_set1_ps(1.0f);
					__m512		g = _mm512_maskz_loadu_ps(m, ga);
					__m512		u = _mm512_maskz_loadu_ps(m, ga + up);
					__m512		da = acc[r][h];
					__m512		e = hrm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
					__m512		sg = _mm512_div_ps(one, _mm512_add_ps(one, e));
					__m512		t = _mm512_fmadd_ps(g, _mm512_sub_ps(one, sg), one);

					_mm512_mask_storeu_ps(c + up, m, _mm512_mul_ps(da, _mm512_mul_ps(g, sg)));
					_mm512_mask_storeu_ps(c, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(da, u), sg), t));
				}
			return;
		}
		if (epi == EPI_SWIGLU)
		{
			for (int r = r_lo; r < r_lo + mr; r++)
				swiglu_row(C, ldc, (float *) aux, up, r, acc[r][0], acc[r][1]);
			return;
		}
		for (int r = r_lo; r < r_lo + mr; r++)
		{
			float	   *c = C + (size_t) r * ldc;
			__m512		x0 = acc[r][0],
						x1 = acc[r][1];

			if (alpha != 1.0f)
			{
				x0 = _mm512_mul_ps(x0, va);
				x1 = _mm512_mul_ps(x1, va);
			}
			if (beta != 0.0f)
			{
				x0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), x0);
				x1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), x1);
			}
			_mm512_mask_storeu_ps(c, m0, x0);
			_mm512_mask_storeu_ps(c + 16, m1, x1);
		}
	}
}

/*
 * C[M, N] = alpha * A Bp + beta * C with A's element (m, k) at
 * A[m * rs + k * ks]: rs = lda, ks = 1 for a row-major A; rs = 1, ks = lda
 * for A given transposed.  Full row blocks read A in place; the row tail is
 * packed with zero rows.  Bnext (A transposed, B in place, or NULL): B's
 * next contraction chunk, prefetched into L2 by the first row block.
 * claim (or NULL): the panels are a range shared with other threads
 * (gemm_groups.h), each group taken from its front before it runs.
 */
static void
gemm_strided_serial(int M, int N, int K, float alpha, const float *A, size_t rs, size_t ks,
					const float *B, size_t bs, size_t bpanel, float beta, float *C, int ldc,
					int epi, const float *aux, int up, const float *Bnext, hrm_range *claim)
{
	bool		swiglu = epi == EPI_SWIGLU;
	/*
	 * B's panel p starts at B + p * bpanel with rows bs apart: packed, bs =
	 * NR and bpanel = K * NR; a row-major [K, N] matrix read in place, bs =
	 * its row stride and bpanel = NR.  swiglu: N is the SwiGLU width, panels
	 * of 16 gate + 16 up columns give 16 outputs each.
	 */
	int			panels = swiglu ? N / 16 : (N + NR - 1) / NR;
	int			cstep = swiglu ? 16 : NR;

	/*
	 * Column groups: the rows stream the B panels of one group at a time, a
	 * group sized to stay in L2 (packed B at hidden 512 is 1-6 MB; re-read
	 * from L3 for every 12-row block it ran at 110-120 GFLOP/s).  Small
	 * weights are one group.
	 */
	int			nblk = (M + MR - 1) / MR;

	/* packed B (its panels contiguous) may be fetched ahead (gemm_groups.h) */
	hrm_groups	g = hrm_groups_plan(bpanel == (size_t) K * NR && bs == NR ? nblk : INT_MAX, 0, panels,
									(size_t) K * NR * sizeof(float));

	for (int pg = 0, pend, gsz = hrm_groups_first(&g);; pg = pend, gsz = hrm_groups_grow(&g, gsz))
	{
		if (claim != NULL)
		{
			/* the next group from the range's front, what other threads left of it */
			int			n = hrm_range_front(claim, gsz, &pg);

			if (n == 0)
				break;
			pend = pg + n;
		}
		else if (pg >= panels)
			break;
		else
			pend = pg + gsz < panels ? pg + gsz : panels;

		for (int r0 = 0; r0 < M; r0 += MR)
		{
			int			mr = M - r0 < MR ? M - r0 : MR;
			int			bi = r0 / MR;	/* the block's index, of nblk */
			int			tail = MR,	/* rows the kernel computes (a tail: 8, 10 or 12) */
						rb = r0,	/* the block's first row */
						r_lo = 0;	/* its first row to store */
			const float *a = A + (size_t) r0 * rs;
			size_t		ars = rs,
						aks = ks;

			if (mr < MR && mr > 6 && M >= MR)
			{
				/*
				 * A tail of 7..11 rows: the last 8, 10 or 12 rows of the
				 * matrix (the fewest that cover it; 12 unless B is packed
				 * and A row-major), A read in place,
				 * storing only the rows not done yet (recomputing a row
				 * gives the same bits, but it is not stored twice, which
				 * matters when beta = 1).  Packing the tail cost more than
				 * the few rows computed twice; one puzzle's 82 rows end in
				 * a tail of 10, which a 12-row block ran at 84 rows' cost.
				 */
				if (ks == 1 && bpanel != NR)	/* the shorter kernels: B packed, A row-major */
					tail = mr <= 8 ? 8 : mr <= 10 ? 10 : MR;
				rb = M - tail;
				r_lo = tail - mr;
				a = A + (size_t) rb * rs;
			}
			else if (mr < MR)
			{
				float	   *Ap = abuf_get((size_t) K * MR);

				if (Ap == NULL)
					abort();		/* a few KB per thread; nothing sensible to continue with */
				pack_rows(Ap, a, rs, ks, mr, K);
				a = Ap;
				ars = 1;
				aks = MR;
			}
			for (int p = pg; p < pend; p++)
			{
				int			nw = swiglu ? NR : (N - p * NR < NR ? N - p * NR : NR);
				__mmask16	m0 = nw >= 16 ? 0xFFFF : (__mmask16) ((1u << nw) - 1);
				__mmask16	m1 = nw >= 32 ? 0xFFFF : nw <= 16 ? 0 : (__mmask16) ((1u << (nw - 16)) - 1);
				const float *bp = B + (size_t) p * bpanel;
				float	   *c = C + (size_t) rb * ldc + (size_t) p * cstep;

				/* aux: C's layout (SwiGLU backward) or [M, 2 up] (kept SwiGLU projection) */
				const float *ax = aux == NULL ? NULL : swiglu ? aux + (size_t) rb * 2 * up + (size_t) p * cstep
					: aux + (size_t) rb * ldc + (size_t) p * cstep;
				bool		inplace = bpanel == NR; /* B row-major, read in place */

				/* this call's share of the next group, fetched into L2 now (kernel_12x32) */
				size_t		nfirst = 0;
				int			nlines = hrm_groups_share(&g, nblk, pg, pend, gsz, bi, p, bpanel, 16, &nfirst);
				const float *nl = nlines > 0 ? B + (size_t) pend * bpanel + nfirst : NULL;

				/*
				 * Each call names its epilogue, A layout, prefetch, height and
				 * B masking as constants, so the inlined kernel is compiled
				 * for exactly that case.  The fused products (B packed):
				 * A in place, or the packed row tail (half height up to 6).
				 */
#define HRM_FUSED(E) \
				do { \
					if (aks == 1 && tail == 10) \
						kernel_12x32(K, a, ars, 1, bp, NR, c, ldc, r_lo, mr, m0, m1, 1.0f, 0.0f, E, ax, up, true, 10, false, NULL, nl, nlines); \
					else if (aks == 1 && tail == 8) \
						kernel_12x32(K, a, ars, 1, bp, NR, c, ldc, r_lo, mr, m0, m1, 1.0f, 0.0f, E, ax, up, true, 8, false, NULL, nl, nlines); \
					else if (aks == 1) \
						kernel_12x32(K, a, ars, 1, bp, NR, c, ldc, r_lo, mr, m0, m1, 1.0f, 0.0f, E, ax, up, true, 12, false, NULL, nl, nlines); \
					else if (mr <= 6) \
						kernel_12x32(K, a, 1, MR, bp, NR, c, ldc, r_lo, mr, m0, m1, 1.0f, 0.0f, E, ax, up, false, 6, false, NULL, NULL, 0); \
					else \
						kernel_12x32(K, a, 1, MR, bp, NR, c, ldc, r_lo, mr, m0, m1, 1.0f, 0.0f, E, ax, up, false, 12, false, NULL, NULL, 0); \
				} while (0)
				if (epi == EPI_SWIGLU)
					HRM_FUSED(EPI_SWIGLU);
				else if (epi == EPI_SWIGLU_BWD)
					HRM_FUSED(EPI_SWIGLU_BWD);
#undef HRM_FUSED
				else if (ks == 1 && aks == 1 && !inplace && tail == 10)	/* x W^T on a packed weight */
					kernel_12x32(K, a, ars, 1, bp, NR, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 10, false, NULL, nl, nlines);
				else if (ks == 1 && aks == 1 && !inplace && tail == 8)
					kernel_12x32(K, a, ars, 1, bp, NR, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 8, false, NULL, nl, nlines);
				else if (ks == 1 && aks == 1 && !inplace)
					kernel_12x32(K, a, ars, 1, bp, NR, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 12, false, NULL, nl, nlines);
				else if (ks == 1 && aks == 1 && nw == NR)	/* B in place, a whole panel */
					kernel_12x32(K, a, ars, 1, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 12, false, NULL, NULL, 0);
				else if (ks == 1 && aks == 1)
					kernel_12x32(K, a, ars, 1, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 12, true, NULL, NULL, 0);
				else if (ars == 1 && aks == MR && mr <= 6)
					kernel_12x32(K, a, 1, MR, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, false, 6, true, NULL, NULL, 0);
				else if (ars == 1 && aks == MR)
					kernel_12x32(K, a, 1, MR, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, false, 12, true, NULL, NULL, 0);
				else if (ars == 1 && inplace && nw == NR)	/* A^T B: the weight gradients */
					kernel_12x32(K, a, 1, aks, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 12, false,
								 Bnext != NULL && r0 == 0 ? Bnext + (size_t) p * bpanel : NULL, NULL, 0);
				else if (ars == 1 && inplace)
					kernel_12x32(K, a, 1, aks, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, true, 12, true, NULL, NULL, 0);
				else
					kernel_12x32(K, a, ars, aks, bp, bs, c, ldc, r_lo, mr, m0, m1, alpha, beta, EPI_NONE, NULL, 0, false, 12, true, NULL, NULL, 0);
			}
		}
	}
}

static int
tn_chunk(void)
{
	static int	kc = 0;

	if (kc == 0)
	{
		const char *e = getenv("HRM_TN_KC");

		kc = e && atoi(e) > 0 ? atoi(e) : 128;
	}
	return kc;
}

/*
 * Splitting over the pool: C's rows in T contiguous ranges of whole
 * MR-row blocks, or (few rows, as in one puzzle's 82: 7 blocks split 4 + 3)
 * C's columns in T ranges of whole panels, whichever keeps the threads
 * busier; one task each (each element's result is the same whichever task
 * computes it).  Column ranges balance themselves: a thread done with its
 * own takes panels from the back of the others' (gemm_groups.h).  Only
 * products of at least PAR_MIN_FLOP are split, and never from inside a
 * task (the tiles of a module call are already spread over the threads).
 */

typedef struct gemm_job
{
	int			M,
				N,
				K,
				ranges;
	bool		by_cols;		/* the ranges split C's column panels, not its rows */
	float		alpha,
				beta;
	const float *A;
	size_t		rs,
				ks;
	const float *B;				/* packed (bs = NR, bpanel = K * NR) or row-major (bs = ldb, bpanel = NR) */
	size_t		bs,
				bpanel;
	float	   *C;
	int			ldc;
	int			epi;			/* EPI_*: fused epilogue (EPI_SWIGLU: N = the SwiGLU width) */
	const float *aux;			/* EPI_SWIGLU_BWD: the kept projection, C's layout;
								 * EPI_SWIGLU: where to keep it ([M, 2 up], or NULL) */
	int			up;				/* EPI_SWIGLU_BWD: offset of the up half */
	bool		tn;				/* contraction in KC chunks (weight gradients) */
	hrm_range  *cols;			/* by_cols: the ranges' panels not taken yet ([ranges]) */
} gemm_job;

/* Output panels of a job (SwiGLU: 16 outputs per panel). */
static int
job_panels(const gemm_job *j)
{
	return j->epi == EPI_SWIGLU ? j->N / 16 : (j->N + NR - 1) / NR;
}

static int
gemm_ranges(int M, int N, int K)
{
	bool		by_cols;

	return hrm_gemm_plan(M, N, K, (N + NR - 1) / NR, false, &by_cols);
}

static void
job_rows(const gemm_job *j, int i, int *r0, int *r1)
{
	int			blocks = (j->M + MR - 1) / MR;

	*r0 = (int) ((long) blocks * i / j->ranges) * MR;
	*r1 = (int) ((long) blocks * (i + 1) / j->ranges) * MR;
	if (*r1 > j->M)
		*r1 = j->M;
}

/*
 * Rows [r0, r1) of the job's product.  tn (the weight gradient: A given
 * transposed, contraction over thousands of batch rows) runs the
 * contraction in chunks of KC, so that the strided A block (KC lines) and
 * B's panel rows stay in L1; each chunk adds its partial sums to C.
 */
static void
job_run(const gemm_job *j, int r0, int r1)
{
	if (!j->tn)
	{
		gemm_strided_serial(r1 - r0, j->N, j->K, j->alpha, j->A + (size_t) r0 * j->rs, j->rs, j->ks,
							j->B, j->bs, j->bpanel, j->beta, j->C + (size_t) r0 * j->ldc, j->ldc,
							j->epi, j->aux == NULL ? NULL
							: j->aux + (size_t) r0 * (j->epi == EPI_SWIGLU ? 2 * (size_t) j->up : (size_t) j->ldc),
							j->up, NULL, NULL);
		if (j->epi == EPI_SWIGLU && j->aux != NULL)
			_mm_sfence();		/* the kept projection's streaming stores */
		return;
	}
	for (int k0 = 0; k0 < j->K; k0 += tn_chunk())
	{
		int			kc = j->K - k0 < tn_chunk() ? j->K - k0 : tn_chunk();

		gemm_strided_serial(r1 - r0, j->N, kc, j->alpha, j->A + (size_t) k0 * j->ks + r0, 1, j->ks,
							j->B + (size_t) k0 * j->bs, j->bs, j->bpanel, k0 == 0 ? j->beta : 1.0f,
							j->C + (size_t) r0 * j->ldc, j->ldc, EPI_NONE, NULL, 0,
							k0 + kc < j->K ? j->B + (size_t) (k0 + kc) * j->bs : NULL, NULL);
	}
}

/*
 * Column panels [p0, p1) of the job's product, every row: the same
 * kernel calls as the whole product makes for those panels (B, C and the
 * kept projection shifted to the first panel's columns).  With claim (the
 * range [p0, p1) shared with the other threads, gemm_groups.h) the groups
 * are taken from its front, and the call ends where the others' taking
 * from the back has reached.
 */
static void
job_run_cols(const gemm_job *j, int p0, int p1, hrm_range *claim)
{
	int			cstep = j->epi == EPI_SWIGLU ? 16 : NR;
	int			n0 = p0 * cstep,
				n1 = p1 * cstep < j->N ? p1 * cstep : j->N;

	gemm_strided_serial(j->M, n1 - n0, j->K, j->alpha, j->A, j->rs, j->ks,
						j->B + (size_t) p0 * j->bpanel, j->bs, j->bpanel, j->beta, j->C + n0, j->ldc,
						j->epi, j->aux == NULL ? NULL : j->aux + n0, j->up, NULL, claim);
	if (j->epi == EPI_SWIGLU && j->aux != NULL)
		_mm_sfence();
}

static void
gemm_task(void *arg, int i, int t)
{
	const gemm_job *j = arg;

	if (j->by_cols)
	{
		/* this task's range, then single panels from the back of the others' */
		hrm_range  *own = &j->cols[i];
		int			p;

		hrm_range_owner_start(i);
		job_run_cols(j, own->p0, own->p1, own);
		while ((p = hrm_range_other(j->cols, j->ranges, i)) >= 0)
		{
			atomic_fetch_add_explicit(&hrm_gemm_rebalanced, 1, memory_order_relaxed);
			job_run_cols(j, p, p + 1, NULL);
		}
	}
	else
	{
		int			r0,
					r1;

		job_rows(j, i, &r0, &r1);
		if (r1 > r0)
			job_run(j, r0, r1);
	}
}

static void
job_go(gemm_job *j)
{
	j->ranges = hrm_gemm_plan(j->M, j->epi == EPI_SWIGLU ? 2 * j->N : j->N, j->K, job_panels(j), !j->tn,
						  &j->by_cols);
	if (j->ranges <= 1)
		job_run(j, 0, j->M);
	else
	{
		hrm_range	cols[HRM_MAX_THREADS];

		if (j->by_cols)
			hrm_range_split(cols, j->ranges, job_panels(j));
		j->cols = cols;
		hrm_parallel_for(j->ranges, gemm_task, j);
	}
}

void
hrm_gemm_packed_avx512(int M, int N, int K, float alpha, const float *A, int lda,
				const float *Bp, float beta, float *C, int ldc)
{
	gemm_job	j = {.M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .A = A, .rs = (size_t) lda,
	.ks = 1, .B = Bp, .bs = NR, .bpanel = (size_t) K * NR, .C = C, .ldc = ldc};

	job_go(&j);
}

void
hrm_gemm_nn_avx512(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
			float beta, float *C, int ldc)
{
	gemm_job	j = {.M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .A = A, .rs = (size_t) lda,
	.ks = 1, .B = B, .bs = (size_t) ldb, .bpanel = NR, .C = C, .ldc = ldc};

	job_go(&j);
}

void
hrm_gemm_tn_avx512(int M, int N, int K, float alpha, const float *At, int lda, const float *B, int ldb,
			float beta, float *C, int ldc)
{
	gemm_job	j = {.M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .A = At, .rs = 1,
	.ks = (size_t) lda, .B = B, .bs = (size_t) ldb, .bpanel = NR, .C = C, .ldc = ldc, .tn = true};

	job_go(&j);
}

void
hrm_gemm_packed_swiglu_avx512(int M, int Iw, int K, const float *A, int lda, const float *Bp,
					   float *act, int ldact, float *gu)
{
	gemm_job	j = {.M = M, .N = Iw, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = A, .rs = (size_t) lda,
		.ks = 1, .B = Bp, .bs = NR, .bpanel = (size_t) K * NR, .C = act, .ldc = ldact, .epi = EPI_SWIGLU,
	.aux = gu, .up = Iw};

	job_go(&j);
}

void
hrm_gemm_packed_swiglu_bwd_avx512(int M, int Iw, int K, const float *A, int lda, const float *Bp,
						   const float *gu, float *dgu)
{
	gemm_job	j = {.M = M, .N = Iw, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = A, .rs = (size_t) lda,
	.ks = 1, .B = Bp, .bs = NR, .bpanel = (size_t) K * NR, .C = dgu, .ldc = 2 * Iw,
	.epi = EPI_SWIGLU_BWD, .aux = gu, .up = Iw};

	job_go(&j);
}

static _Thread_local grow_buf mlp_tl;

void
hrm_gemm_thread_release_avx512(void)
{
	free(abuf_tl.p);
	abuf_tl.p = NULL;
	abuf_tl.cap = 0;
	free(mlp_tl.p);
	mlp_tl.p = NULL;
	mlp_tl.cap = 0;
}

bool
hrm_gemm_packed_mlp_avx512(int M, int Iw, int D, const float *x, int ldx, const float *Bgu, const float *Bd,
					float *h, int ldh, float *gu, float *act_keep)
{
	size_t		gu_bytes = (size_t) D * 2 * Iw * sizeof(float),
				d_bytes = (size_t) Iw * ((D + NR - 1) / NR) * NR * sizeof(float);
	int			full = M / MR * MR;
	float	   *act;

	if (Iw % 16 != 0 || gu_bytes > HRM_GROUP_BYTES || d_bytes > HRM_GROUP_BYTES ||
		gemm_ranges(M, 2 * Iw, D) > 1 || (act = buf_get(&mlp_tl, (size_t) MR * Iw)) == NULL)
		return false;
	/*
	 * Each call covers one block's rows only (M <= 12: a short block is
	 * packed, never run as an overlapping full block), so x = h is safe:
	 * no call reads a row an earlier block's down projection has written.
	 */
	for (int r0 = 0; r0 < M; r0 += MR)
	{
		int			mr = r0 < full ? MR : M - full;

		gemm_strided_serial(mr, Iw, D, 1.0f, x + (size_t) r0 * ldx, (size_t) ldx, 1, Bgu, NR, (size_t) D * NR,
							0.0f, act, Iw, EPI_SWIGLU, gu ? gu + (size_t) r0 * 2 * Iw : NULL, Iw, NULL, NULL);
		gemm_strided_serial(mr, D, Iw, 1.0f, act, (size_t) Iw, 1, Bd, NR, (size_t) Iw * NR,
							1.0f, h + (size_t) r0 * ldh, ldh, EPI_NONE, NULL, 0, NULL, NULL);
		if (act_keep)
			hrm_copy_stream(act_keep + (size_t) r0 * Iw, act, (size_t) mr * Iw);
	}
	if (gu)
		_mm_sfence();
	return true;
}

#include "simd_avx512_end.h"
