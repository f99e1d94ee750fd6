/*
 * test_gemm.c — the packed-weight SGEMM (gemm.h): values against a double
 * reference over many shapes and both pack modes, strides and the cells they
 * must leave alone, bitwise row independence, the beta = 1 accumulation, the
 * packed layout and the run-time switch; the packed attention (scores and
 * softmax fused in registers for S <= 96) equal to its products composed.
 */
#include "check.h"
#include "forward.h"
#include "gemm.h"
#include "layers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Bit patterns: a non-NaN sentinel for cells that must not be written, and a
 * quiet NaN for inputs that must not be read (A/W stride padding, and C's
 * block when beta = 0 — C is then output only, as in BLAS). */
#define SENTINEL_BITS 0xC2A5A5A5u	/* about -82.8: any write changes the bits */
#define POISON_BITS	  0x7FC0BEEFu

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

static void
fill_bits(float *p, size_t n, uint32_t bits)
{
	float		f = from_bits(bits);

	for (size_t i = 0; i < n; i++)
		p[i] = f;
}

/* splitmix64: a deterministic stream, uniform floats in [-1, 1). */
static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s;
}

static float
rng_uniform(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return (float) ((double) (z >> 40) / 8388608.0 - 1.0);	/* 24 bits */
}

static void *
xmalloc(size_t bytes)
{
	void	   *p = malloc(bytes == 0 ? 1 : bytes);

	if (p == NULL)
	{
		fprintf(stderr, "test_gemm: out of memory\n");
		abort();
	}
	return p;
}

/*
 * A random weight for a K x N product, W with row stride ld (padding
 * poisoned), as the caller hands it to hrm_gemm_pack: [N, ld] when trans,
 * [K, ld] otherwise.  Bd gets the logical B[k][n] in double, [K][N].
 */
static float *
make_weight(int K, int N, bool trans, int ld, double *Bd)
{
	int			rows = trans ? N : K;
	int			cols = trans ? K : N;
	float	   *W = xmalloc(sizeof(float) * (size_t) rows * ld);

	fill_bits(W, (size_t) rows * ld, POISON_BITS);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			W[(size_t) r * ld + c] = rng_uniform();
	for (int k = 0; k < K; k++)
		for (int n = 0; n < N; n++)
			Bd[(size_t) k * N + n] = trans ? W[(size_t) n * ld + k] : W[(size_t) k * ld + n];
	return W;
}

/* A random A[M, K] with row stride lda, padding poisoned. */
static float *
make_act(int M, int K, int lda)
{
	float	   *A = xmalloc(sizeof(float) * (size_t) M * lda);

	fill_bits(A, (size_t) M * lda, POISON_BITS);
	for (int m = 0; m < M; m++)
		for (int k = 0; k < K; k++)
			A[(size_t) m * lda + k] = rng_uniform();
	return A;
}

/*
 * Reference: S[m][n] = sum_k A[m][k] B[k][n] and Sabs = sum_k |A||B|, both in
 * double (k outer, n inner: each n is its own exact-order double sum).
 */
static void
ref_products(int M, int N, int K, const float *A, int lda, const double *Bd,
			 double *S, double *Sabs)
{
	for (int m = 0; m < M; m++)
	{
		double	   *s = S + (size_t) m * N;
		double	   *sa = Sabs + (size_t) m * N;

		for (int n = 0; n < N; n++)
			s[n] = sa[n] = 0.0;
		for (int k = 0; k < K; k++)
		{
			double		a = A[(size_t) m * lda + k];
			double		aa = fabs(a);
			const double *b = Bd + (size_t) k * N;

			for (int n = 0; n < N; n++)
			{
				s[n] += a * b[n];
				sa[n] += aa * fabs(b[n]);
			}
		}
	}
}

/* Guard cells on each side of C's [M, ldc] storage. */
#define GUARD 37

/* Test 1 over one shape, both alphas and both betas.  Returns failures. */
static int
check_shape(int M, int N, int K, bool trans, const float *Bp, const double *Bd,
			int lda, int ldc)
{
	static const float alphas[2] = {1.0f, 0.17677f};
	float	   *A = make_act(M, K, lda);
	double	   *S = xmalloc(sizeof(double) * (size_t) M * N);
	double	   *Sabs = xmalloc(sizeof(double) * (size_t) M * N);
	size_t		csz = (size_t) M * ldc + 2 * GUARD;
	float	   *Cbuf = xmalloc(sizeof(float) * csz);
	float	   *C0 = xmalloc(sizeof(float) * (size_t) M * N);
	float	   *C = Cbuf + GUARD;	/* also makes C 4-byte (not 64-byte) aligned */
	int			fails = 0;

	ref_products(M, N, K, A, lda, Bd, S, Sabs);
	for (size_t i = 0; i < (size_t) M * N; i++)
		C0[i] = rng_uniform();

	for (int ai = 0; ai < 2; ai++)
		for (int beta = 0; beta <= 1; beta++)
		{
			float		alpha = alphas[ai];
			int			bad = 0,
						touched = 0;
			double		worst = 0.0;
			int			wm = -1,
						wn = -1;

			fill_bits(Cbuf, csz, SENTINEL_BITS);
			for (int m = 0; m < M; m++)
				for (int n = 0; n < N; n++)
					C[(size_t) m * ldc + n] = beta ? C0[(size_t) m * N + n] : from_bits(POISON_BITS);

			hrm_gemm_packed(M, N, K, alpha, A, lda, Bp, (float) beta, C, ldc);

			for (int m = 0; m < M; m++)
				for (int n = 0; n < N; n++)
				{
					size_t		i = (size_t) m * N + n;
					double		c0 = beta ? (double) C0[i] : 0.0;
					double		want = (double) alpha * S[i] + c0;
					double		got = C[(size_t) m * ldc + n];

					/*
					 * Tolerance: |diff| <= 1e-5 * (|alpha| sum_k |a_k b_k| + |beta C0|) + 1e-30,
					 * i.e. 1e-5 * sum_k |a||b| scaled by alpha, plus the final C0 + x
					 * add, which rounds relative to |C0| (not to the products) when
					 * beta = 1.  isnan(got) fails too (a read of poisoned input).
					 */
					double		tol = 1e-5 * (fabs((double) alpha) * Sabs[i] + fabs(c0)) + 1e-30;
					double		d = fabs(got - want);

					if (!(d <= tol))
					{
						if (bad == 0 || d / tol > worst)
						{
							worst = d / tol;
							wm = m;
							wn = n;
						}
						bad++;
					}
				}
			for (size_t j = 0; j < csz; j++)
			{
				ptrdiff_t	off = (ptrdiff_t) j - GUARD;
				bool		inside = off >= 0 && off < (ptrdiff_t) M * ldc &&
					(off % ldc) < N;

				if (!inside && to_bits(Cbuf[j]) != SENTINEL_BITS)
					touched++;
			}
			if (bad != 0 || touched != 0)
			{
				fprintf(stderr, "  FAIL gemm M=%d N=%d K=%d trans=%d lda=%d ldc=%d alpha=%g beta=%d: "
						"%d wrong (worst at [%d,%d], %.3g x tol), %d cells outside [M,N] written\n",
						M, N, K, (int) trans, lda, ldc, alpha, beta, bad, wm, wn, worst, touched);
				fails++;
			}
		}
	free(A);
	free(S);
	free(Sabs);
	free(Cbuf);
	free(C0);
	return fails;
}

static const int shape_M[] = {1, 5, 11, 12, 13, 25, 82, 246};
static const int shape_N[] = {1, 7, 16, 17, 31, 32, 33, 64, 82, 96, 128, 384};
static const int shape_K[] = {1, 3, 32, 82, 128, 512};

#define COUNT(a) ((int) (sizeof(a) / sizeof((a)[0])))

/*
 * Test 1: every (M, N, K) of the lists above, both pack modes, alpha 1 and
 * 0.17677, beta 0 and 1.  Strides cycle: the weight's ld is tight or padded,
 * lda and ldc are padded by 0..3 and by 16 (the tight case included), and the
 * packed buffer is sometimes offset by one float (no alignment assumed).
 */
HRM_TEST(gemm_matches_double_reference)
{
	int			shape = 0,
				total_fail = 0,
				runs = 0;

	rng_seed(0x5EED0001);
	for (int t = 0; t < 2; t++)
	{
		bool		trans = t == 0;

		for (int ni = 0; ni < COUNT(shape_N); ni++)
			for (int ki = 0; ki < COUNT(shape_K); ki++)
			{
				int			N = shape_N[ni],
							K = shape_K[ki];
				int			ldw = (trans ? K : N) + (ni + ki) % 3 * 5;	/* +0, +5, +10 */
				double	   *Bd = xmalloc(sizeof(double) * (size_t) K * N);
				float	   *W = make_weight(K, N, trans, ldw, Bd);
				size_t		psz = hrm_gemm_pack_size(K, N);
				int			boff = (ni + ki + t) % 2;
				float	   *Pbuf = xmalloc(sizeof(float) * (psz + 1));
				float	   *Bp = Pbuf + boff;

				fill_bits(Pbuf, psz + 1, SENTINEL_BITS);
				hrm_gemm_pack(Bp, W, ldw, K, N, trans);
				for (int mi = 0; mi < COUNT(shape_M); mi++)
				{
					static const int pads[5] = {1, 0, 16, 3, 2};
					int			lda = K + pads[shape % 5];
					int			ldc = N + pads[(shape + 2) % 5];

					total_fail += check_shape(shape_M[mi], N, K, trans, Bp, Bd, lda, ldc);
					runs += 4;
					shape++;
				}
				free(W);
				free(Bd);
				free(Pbuf);
			}
	}
	HRM_CHECK(total_fail == 0, "%d of %d products wrong (details above)", total_fail, runs);
}

/* Pack W ([N, K] when trans, else [K, N], tight) into a fresh buffer. */
static float *
packed_of(const float *W, int K, int N, bool trans)
{
	float	   *Bp = xmalloc(sizeof(float) * hrm_gemm_pack_size(K, N));

	hrm_gemm_pack(Bp, W, trans ? K : N, K, N, trans);
	return Bp;
}

/*
 * Test 2: rows do not depend on M or on their position.  All M rows in one
 * call equal (bitwise) the same rows computed in splits [0,7), [7,30),
 * [30,M), in splits of 12 offset by 5, and one row per call.
 */
HRM_TEST(gemm_rows_independent)
{
	static const int cases[][3] = {	/* M, N, K */
		{82, 17, 3}, {82, 82, 82}, {246, 384, 128}, {41, 96, 512}, {31, 33, 1}
	};

	rng_seed(0x5EED0002);
	for (int c = 0; c < COUNT(cases); c++)
		for (int t = 0; t < 2; t++)
			for (int beta = 0; beta <= 1; beta++)
			{
				int			M = cases[c][0],
							N = cases[c][1],
							K = cases[c][2];
				bool		trans = t == 0;
				float		alpha = (c % 2) ? 0.17677f : 1.0f;
				int			lda = K + 3,
							ldc = N + 5;
				double	   *Bd = xmalloc(sizeof(double) * (size_t) K * N);
				float	   *W = make_weight(K, N, trans, trans ? K : N, Bd);
				float	   *Bp = packed_of(W, K, N, trans);
				float	   *A = make_act(M, K, lda);
				size_t		csz = (size_t) M * ldc + GUARD; /* slack: an overrun fails, not crashes */
				float	   *C0 = xmalloc(sizeof(float) * csz);
				float	   *Call = xmalloc(sizeof(float) * csz);
				float	   *Csplit = xmalloc(sizeof(float) * csz);
				float	   *Cby12 = xmalloc(sizeof(float) * csz);
				float	   *Crow = xmalloc(sizeof(float) * csz);
				int			cuts[4] = {0, 7, 30, M};
				int			mism_split = 0,
							mism_12 = 0,
							mism_row = 0;

				for (size_t i = 0; i < csz; i++)
					C0[i] = rng_uniform();
				memcpy(Call, C0, sizeof(float) * csz);
				memcpy(Csplit, C0, sizeof(float) * csz);
				memcpy(Cby12, C0, sizeof(float) * csz);
				memcpy(Crow, C0, sizeof(float) * csz);

				hrm_gemm_packed(M, N, K, alpha, A, lda, Bp, (float) beta, Call, ldc);
				for (int s = 0; s < 3; s++)
				{
					int			r0 = cuts[s] < M ? cuts[s] : M;
					int			r1 = cuts[s + 1] < M ? cuts[s + 1] : M;

					if (r1 > r0)
						hrm_gemm_packed(r1 - r0, N, K, alpha, A + (size_t) r0 * lda, lda, Bp,
										(float) beta, Csplit + (size_t) r0 * ldc, ldc);
				}
				for (int r0 = 0; r0 < M;)
				{
					int			r1 = r0 == 0 ? 5 : r0 + 12;

					if (r1 > M)
						r1 = M;
					hrm_gemm_packed(r1 - r0, N, K, alpha, A + (size_t) r0 * lda, lda, Bp,
									(float) beta, Cby12 + (size_t) r0 * ldc, ldc);
					r0 = r1;
				}
				/* single rows, in reverse order for good measure */
				for (int m = M - 1; m >= 0; m--)
					hrm_gemm_packed(1, N, K, alpha, A + (size_t) m * lda, lda, Bp,
									(float) beta, Crow + (size_t) m * ldc, ldc);

				for (int m = 0; m < M; m++)
				{
					size_t		o = (size_t) m * ldc;

					mism_split += memcmp(Call + o, Csplit + o, sizeof(float) * N) != 0;
					mism_12 += memcmp(Call + o, Cby12 + o, sizeof(float) * N) != 0;
					mism_row += memcmp(Call + o, Crow + o, sizeof(float) * N) != 0;
				}
				HRM_CHECK(mism_split == 0 && mism_12 == 0 && mism_row == 0,
						  "M=%d N=%d K=%d trans=%d beta=%d: rows differing from the one-call result: "
						  "%d (split 0/7/30), %d (blocks of 12 from 5), %d (one row per call)",
						  M, N, K, (int) trans, beta, mism_split, mism_12, mism_row);
				free(Bd);
				free(W);
				free(Bp);
				free(A);
				free(C0);
				free(Call);
				free(Csplit);
				free(Cby12);
				free(Crow);
			}
}

/*
 * Test 3: beta = 1, alpha = 1 is C + (A B) rounded once in float: bitwise
 * equal to a beta = 0 product into a temporary added to C elementwise.
 */
HRM_TEST(gemm_beta_one_is_float_add)
{
	static const int cases[][3] = {	/* M, N, K */
		{1, 1, 1}, {13, 33, 82}, {25, 96, 512}, {82, 384, 32}, {12, 7, 128}
	};

	rng_seed(0x5EED0003);
	for (int c = 0; c < COUNT(cases); c++)
		for (int t = 0; t < 2; t++)
		{
			int			M = cases[c][0],
						N = cases[c][1],
						K = cases[c][2];
			bool		trans = t == 0;
			int			lda = K + 1,
						ldc = N + 2;
			double	   *Bd = xmalloc(sizeof(double) * (size_t) K * N);
			float	   *W = make_weight(K, N, trans, trans ? K : N, Bd);
			float	   *Bp = packed_of(W, K, N, trans);
			float	   *A = make_act(M, K, lda);
			size_t		csz = (size_t) M * ldc + GUARD; /* slack: an overrun fails, not crashes */
			float	   *C = xmalloc(sizeof(float) * csz);
			float	   *T = xmalloc(sizeof(float) * csz);
			float	   *E = xmalloc(sizeof(float) * csz);
			int			mism = 0;

			for (size_t i = 0; i < csz; i++)
			{
				/* magnitudes from 1/64 to 64 so the add's rounding matters */
				C[i] = rng_uniform() * ldexpf(1.0f, (int) (i % 13) - 6);
				E[i] = C[i];
			}
			fill_bits(T, csz, POISON_BITS);
			hrm_gemm_packed(M, N, K, 1.0f, A, lda, Bp, 0.0f, T, ldc);
			hrm_gemm_packed(M, N, K, 1.0f, A, lda, Bp, 1.0f, C, ldc);
			for (int m = 0; m < M; m++)
				for (int n = 0; n < N; n++)
				{
					size_t		i = (size_t) m * ldc + n;
					float		want = E[i] + T[i];

					mism += to_bits(C[i]) != to_bits(want);
				}
			HRM_CHECK(mism == 0, "M=%d N=%d K=%d trans=%d: %d of %d cells differ from C + (beta=0 result)",
					  M, N, K, (int) trans, mism, M * N);
			free(Bd);
			free(W);
			free(Bp);
			free(A);
			free(C);
			free(T);
			free(E);
		}
}

/*
 * Test 4: hrm_gemm_pack_size(K, N) = ceil(N / 32) * 32 * K; the packed buffer
 * is panels of 32 columns, each [K][32], B[k][n] at
 * (n / 32) * K * 32 + k * 32 + n % 32, the padded columns exactly +0.0, and
 * nothing past pack_size written.
 */
HRM_TEST(gemm_pack_layout)
{
	static const int Ks[] = {1, 3, 32, 82, 128, 512};
	static const int Ns[] = {1, 7, 16, 17, 31, 32, 33, 64, 82, 96, 128, 384};
	int			size_bad = 0,
				val_bad = 0,
				pad_bad = 0,
				over_bad = 0,
				reported = 0;

	HRM_CHECK(HRM_GEMM_NR == 32, "HRM_GEMM_NR = %d", HRM_GEMM_NR);
	rng_seed(0x5EED0004);
	for (int ki = 0; ki < COUNT(Ks); ki++)
		for (int ni = 0; ni < COUNT(Ns); ni++)
			for (int t = 0; t < 2; t++)
			{
				int			K = Ks[ki],
							N = Ns[ni];
				bool		trans = t == 0;
				int			ld = (trans ? K : N) + 4 * t + ki % 2;
				size_t		want = (size_t) ((N + 31) / 32) * 32 * (size_t) K;
				size_t		psz = hrm_gemm_pack_size(K, N);
				double	   *Bd = xmalloc(sizeof(double) * (size_t) K * N);
				float	   *W = make_weight(K, N, trans, ld, Bd);
				float	   *Bp = xmalloc(sizeof(float) * (want + GUARD));
				int			vb = 0,
							pb = 0,
							ob = 0;

				if (psz != want)
				{
					size_bad++;
					fprintf(stderr, "    pack_size(%d, %d) = %zu, want %zu\n", K, N, psz, want);
				}
				fill_bits(Bp, want + GUARD, SENTINEL_BITS);
				hrm_gemm_pack(Bp, W, ld, K, N, trans);
				for (int p = 0; p < (N + 31) / 32; p++)
					for (int k = 0; k < K; k++)
						for (int j = 0; j < 32; j++)
						{
							int			n = p * 32 + j;
							float		v = Bp[(size_t) p * K * 32 + (size_t) k * 32 + j];

							if (n < N)
								vb += to_bits(v) != to_bits((float) Bd[(size_t) k * N + n]);
							else
								pb += to_bits(v) != 0u; /* +0.0 exactly */
						}
				for (size_t i = want; i < want + GUARD; i++)
					ob += to_bits(Bp[i]) != SENTINEL_BITS;
				if ((vb | pb | ob) != 0 && reported++ < 5)
					fprintf(stderr, "    K=%d N=%d trans=%d ld=%d: %d values, %d pads, %d past the end wrong\n",
							K, N, (int) trans, ld, vb, pb, ob);
				val_bad += vb;
				pad_bad += pb;
				over_bad += ob;
				free(Bd);
				free(W);
				free(Bp);
			}
	HRM_CHECK(size_bad == 0, "%d pack sizes wrong", size_bad);
	HRM_CHECK(val_bad == 0, "%d packed values differ from B[k][n]", val_bad);
	HRM_CHECK(pad_bad == 0, "%d padded columns not +0.0", pad_bad);
	HRM_CHECK(over_bad == 0, "%d floats written past pack_size", over_bad);
}

/*
 * Threads: the row-block buffer is per thread; four threads computing
 * different products at once (different K, so buffers differ) reproduce the
 * single-threaded results bitwise.
 */
typedef struct
{
	int			M,
				N,
				K,
				reps;
	const float *A,
			   *Bp;
	float	   *C;
	const float *want;
	int			mism;
} gemm_job;

static pthread_barrier_t gemm_job_start;

static void *
gemm_job_run(void *arg)
{
	gemm_job   *j = arg;

	pthread_barrier_wait(&gemm_job_start);	/* all threads run together */
	for (int r = 0; r < j->reps; r++)
	{
		memset(j->C, 0, sizeof(float) * (size_t) j->M * j->N);
		hrm_gemm_packed(j->M, j->N, j->K, 1.0f, j->A, j->K, j->Bp, 0.0f, j->C, j->N);
		j->mism += memcmp(j->C, j->want, sizeof(float) * (size_t) j->M * j->N) != 0;
	}
	hrm_gemm_thread_release();	/* a thread of our own: its scratch goes with it */
	return NULL;
}

HRM_TEST(gemm_threads_bitwise)
{
	enum
	{
		NJ = 4
	};
	static const int shp[NJ][3] = {{37, 82, 512}, {61, 130, 3}, {49, 96, 128}, {50, 33, 82}};
	gemm_job	jobs[NJ];
	pthread_t	th[NJ];
	float	   *bufs[NJ][4];

	rng_seed(0x5EED0005);
	for (int i = 0; i < NJ; i++)
	{
		int			M = shp[i][0],
					N = shp[i][1],
					K = shp[i][2];
		double	   *Bd = xmalloc(sizeof(double) * (size_t) K * N);
		float	   *W = make_weight(K, N, false, N, Bd);

		bufs[i][0] = make_act(M, K, K);
		bufs[i][1] = packed_of(W, K, N, false);
		bufs[i][2] = xmalloc(sizeof(float) * ((size_t) M * N + GUARD));
		bufs[i][3] = xmalloc(sizeof(float) * ((size_t) M * N + GUARD));
		hrm_gemm_packed(M, N, K, 1.0f, bufs[i][0], K, bufs[i][1], 0.0f, bufs[i][3], N);
		/* about equal work per thread (~600M FMAs), so they overlap throughout */
		jobs[i] = (gemm_job) {M, N, K, 1 + 600000000 / (M * N * K), bufs[i][0], bufs[i][1], bufs[i][2], bufs[i][3], 0};
		free(Bd);
		free(W);
	}
	HRM_REQUIRE(pthread_barrier_init(&gemm_job_start, NULL, NJ) == 0, "pthread_barrier_init");
	for (int i = 0; i < NJ; i++)
		HRM_REQUIRE(pthread_create(&th[i], NULL, gemm_job_run, &jobs[i]) == 0, "pthread_create");
	for (int i = 0; i < NJ; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&gemm_job_start);
	for (int i = 0; i < NJ; i++)
	{
		HRM_CHECK(jobs[i].mism == 0, "thread %d (M=%d N=%d K=%d): %d of %d runs differ",
				  i, jobs[i].M, jobs[i].N, jobs[i].K, jobs[i].mism, jobs[i].reps);
		for (int b = 0; b < 4; b++)
			free(bufs[i][b]);
	}
}

/*
 * Test 5: hrm_gemm_enable overrides the environment.  When the kernel is
 * available, enable(false) hides it and enable(true) brings it back; when it
 * is not, enable(false) keeps it off.  The initial state is restored.
 */
HRM_TEST(gemm_enable_switch)
{
	bool		initial = hrm_gemm_available();

	hrm_gemm_enable(false);
	HRM_CHECK(!hrm_gemm_available(), "available after enable(false)");
	if (initial)
	{
		hrm_gemm_enable(true);
		HRM_CHECK(hrm_gemm_available(), "not available after enable(true)");
		hrm_gemm_enable(false);
		HRM_CHECK(!hrm_gemm_available(), "available after a second enable(false)");
	}
	hrm_gemm_enable(initial);
	HRM_CHECK(hrm_gemm_available() == initial, "state not restored");
}

/*
 * The unpacked-B products (B read in place: hrm_gemm_nn, hrm_gemm_tn) and
 * the fused SwiGLU product against double
 * references, over shapes with row, column and contraction tails (tn's
 * contraction runs in 64-row chunks: K up to 200 crosses three of them).
 */
HRM_TEST(gemm_unpacked_and_fused_products)
{
	static const int Ms[] = {1, 13, 82};
	static const int Ns[] = {7, 32, 50};
	static const int Ks[] = {5, 64, 200};
	int			bad = 0;

	rng_seed(77);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			for (int c = 0; c < 3; c++)
			{
				int			M = Ms[a],
							N = Ns[b],
							K = Ks[c];
				int			ldb = N + 3,
							lda = K + 2,
							ldat = M + 5,
							ldc = N + 1;
				double	   *Bd = xmalloc(sizeof(double) * K * N);
				float	   *W = make_weight(K, N, false, ldb, Bd);
				float	   *A = make_act(M, K, lda);
				float	   *At = xmalloc(sizeof(float) * (size_t) K * ldat);
				double	   *S = xmalloc(sizeof(double) * M * N),
						   *Sa = xmalloc(sizeof(double) * M * N);
				float	   *C = xmalloc(sizeof(float) * (size_t) M * ldc);

				for (int k = 0; k < K; k++)
					for (int m = 0; m < M; m++)
						At[(size_t) k * ldat + m] = A[(size_t) m * lda + k];
				ref_products(M, N, K, A, lda, Bd, S, Sa);
				for (int which = 0; which < 2; which++)
				{
					for (size_t i = 0; i < (size_t) M * ldc; i++)
						C[i] = 0.5f;	/* beta = 1 adds to this */
					if (which == 0)
						hrm_gemm_nn(M, N, K, 1.0f, A, lda, W, ldb, 1.0f, C, ldc);
					else
						hrm_gemm_tn(M, N, K, 1.0f, At, ldat, W, ldb, 1.0f, C, ldc);
					for (int m = 0; m < M; m++)
					{
						for (int n = 0; n < N; n++)
						{
							double		want = 0.5 + S[(size_t) m * N + n];
							double		tol = 1e-5 * (Sa[(size_t) m * N + n] + 0.5) + 1e-30;

							if (fabs(C[(size_t) m * ldc + n] - want) > tol && bad++ < 5)
								HRM_CHECK(false, "product %d M=%d N=%d K=%d [%d,%d]: %.9g vs %.9g",
										  which, M, N, K, m, n, C[(size_t) m * ldc + n], want);
						}
						for (int n = N; n < ldc; n++)
							if (C[(size_t) m * ldc + n] != 0.5f && bad++ < 5)
								HRM_CHECK(false, "product %d wrote past N at [%d,%d]", which, m, n);
					}
				}
				free(Bd);
				free(W);
				free(A);
				free(At);
				free(S);
				free(Sa);
				free(C);
			}
	HRM_CHECK(bad == 0, "%d entries out of tolerance", bad);

	/* fused SwiGLU: act = silu(A Wg^T) * (A Wu^T) from a [2 Iw, K] gate_up weight */
	{
		int			M = 29,
					Iw = 48,
					K = 40;
		double	   *Bd = xmalloc(sizeof(double) * K * 2 * Iw);
		float	   *W = make_weight(K, 2 * Iw, true, K, Bd);	/* [2 Iw, K] */
		float	   *A = make_act(M, K, K);
		float	   *Bp = xmalloc(sizeof(float) * hrm_gemm_pack_size(K, 2 * Iw));
		double	   *S = xmalloc(sizeof(double) * M * 2 * Iw),
				   *Sa = xmalloc(sizeof(double) * M * 2 * Iw);
		float	   *act = xmalloc(sizeof(float) * M * Iw);
		double		worst = 0.0;

		hrm_gemm_pack_swiglu(Bp, W, K, K, Iw);
		ref_products(M, 2 * Iw, K, A, K, Bd, S, Sa);
		hrm_gemm_packed_swiglu(M, Iw, K, A, K, Bp, act, Iw, NULL);
		for (int m = 0; m < M; m++)
			for (int n = 0; n < Iw; n++)
			{
				double		g = S[(size_t) m * 2 * Iw + n],
							u = S[(size_t) m * 2 * Iw + Iw + n];
				double		want = g / (1.0 + exp(-g)) * u;

				worst = fmax(worst, fabs(act[(size_t) m * Iw + n] - want) / (fabs(want) + 1e-3));
			}
		/* float rounding of the two sums, exp and the division: a few 1e-6 relative */
		HRM_CHECK(worst < 1e-4, "fused SwiGLU off by %.3g (relative)", worst);

		/*
		 * Keeping the projection: gu equals the unfused packed product and
		 * act equals hrm_swiglu_forward of it, bit for bit (the training
		 * forward keeps gu for the backward and must match the blocks that
		 * do not keep it).
		 */
		{
			float	   *gu = xmalloc(sizeof(float) * M * 2 * Iw),
					   *gu_ref = xmalloc(sizeof(float) * M * 2 * Iw),
					   *act2 = xmalloc(sizeof(float) * M * Iw),
					   *act_ref = xmalloc(sizeof(float) * M * Iw),
					   *Bn = xmalloc(sizeof(float) * hrm_gemm_pack_size(K, 2 * Iw));

			hrm_gemm_pack(Bn, W, K, K, 2 * Iw, true);
			hrm_gemm_packed(M, 2 * Iw, K, 1.0f, A, K, Bn, 0.0f, gu_ref, 2 * Iw);
			hrm_swiglu_forward(act_ref, gu_ref, M, Iw);
			fill_bits(gu, (size_t) M * 2 * Iw, SENTINEL_BITS);
			hrm_gemm_packed_swiglu(M, Iw, K, A, K, Bp, act2, Iw, gu);
			HRM_CHECK(memcmp(gu, gu_ref, sizeof(float) * M * 2 * Iw) == 0,
					  "kept projection differs from the unfused product");
			HRM_CHECK(memcmp(act2, act_ref, sizeof(float) * M * Iw) == 0,
					  "fused SwiGLU with the projection kept differs from hrm_swiglu_forward");
			HRM_CHECK(memcmp(act2, act, sizeof(float) * M * Iw) == 0,
					  "keeping the projection changed the activation");
			free(gu);
			free(gu_ref);
			free(act2);
			free(act_ref);
			free(Bn);
		}
		free(Bd);
		free(W);
		free(A);
		free(Bp);
		free(S);
		free(Sa);
		free(act);
	}
}

/*
 * hrm_attention_forward_packed keeps the scores of up to 4 query rows in
 * registers from Q K^T through the softmax when S <= 96: its output and
 * probabilities must equal, bit for bit, the same products run one after
 * the other (packed Q K^T, hrm_softmax_rows, P V), for every S (all six
 * register widths and their tails, and the S > 96 path), head dim, first-nq
 * query count and batch.
 */
HRM_TEST(attention_fused_equals_composed)
{
	static const int Ss[] = {1, 5, 16, 17, 31, 33, 48, 63, 64, 65, 82, 95, 96, 97, 130};
	static const int hds[] = {8, 32, 64};
	int			bad = 0,
				cases = 0;

	rng_seed(4242);
	for (size_t si = 0; si < sizeof(Ss) / sizeof(Ss[0]); si++)
		for (size_t hi = 0; hi < sizeof(hds) / sizeof(hds[0]); hi++)
		{
			int			S = Ss[si],
						hd = hds[hi],
						NH = 2,
						B = 2;
			int			D = NH * hd,
						ld = 3 * D;
			float		scale = 1.0f / sqrtf((float) hd);
			size_t		nqkv = (size_t) B * S * ld;
			float	   *qkv = xmalloc(sizeof(float) * nqkv);
			float	   *kvp = xmalloc(sizeof(float) * hrm_attention_scratch_floats(S, hd));
			float	   *Kp = xmalloc(sizeof(float) * hrm_gemm_pack_size(hd, S));
			float	   *P = xmalloc(sizeof(float) * (size_t) B * NH * S * S);
			float	   *Pw = xmalloc(sizeof(float) * (size_t) S * S);
			float	   *out = xmalloc(sizeof(float) * (size_t) B * S * D);
			float	   *want = xmalloc(sizeof(float) * (size_t) B * S * D);
			float	   *Qc = xmalloc(sizeof(float) * (size_t) S * hd);

			for (size_t i = 0; i < nqkv; i++)
				qkv[i] = 3.0f * rng_uniform();
			for (int nq = S; nq >= 1; nq = nq > 5 ? 5 : nq - 4)
			{
				bool		keep = nq == S;

				hrm_attention_forward_packed(out, P, keep, qkv, B, S, NH, hd, nq, kvp, NULL);
				for (int b = 0; b < B; b++)
					for (int h = 0; h < NH; h++)
					{
						const float *base = qkv + (size_t) b * S * ld;
						const float *got_p = keep ? P + ((size_t) b * NH + h) * S * S : NULL;

						hrm_gemm_pack(Kp, base + D + (size_t) h * hd, ld, hd, S, true);
						for (int q = 0; q < nq; q++)
							memcpy(Qc + (size_t) q * hd, base + (size_t) q * ld + (size_t) h * hd,
								   sizeof(float) * hd);
						hrm_gemm_packed(nq, S, hd, scale, Qc, hd, Kp, 0.0f, Pw, S);
						hrm_softmax_rows(Pw, nq, S);
						hrm_gemm_nn(nq, hd, S, 1.0f, Pw, S, base + 2 * D + (size_t) h * hd, ld, 0.0f,
									want + (size_t) b * S * D + (size_t) h * hd, D);
						if (got_p && memcmp(got_p, Pw, sizeof(float) * (size_t) S * S) != 0 && bad++ < 5)
							HRM_CHECK(false, "probabilities differ: S=%d hd=%d b=%d h=%d", S, hd, b, h);
					}
				for (int b = 0; b < B; b++)
					for (int q = 0; q < nq; q++)
					{
						size_t		o = ((size_t) b * S + q) * D;

						if (memcmp(out + o, want + o, sizeof(float) * D) != 0 && bad++ < 5)
							HRM_CHECK(false, "output differs: S=%d hd=%d nq=%d b=%d row %d", S, hd, nq, b, q);
					}
				cases++;
				if (nq == 1)
					break;
			}
			free(qkv);
			free(kvp);
			free(Kp);
			free(P);
			free(Pw);
			free(out);
			free(want);
			free(Qc);
		}
	HRM_CHECK(cases > 60, "only %d cases ran", cases);
	HRM_CHECK(bad == 0, "%d attention results differ from the composed products", bad);
}

/*
 * Masked attention (config attn_mask): both paths (BLAS and packed, fused
 * scores for S <= 96 and the product + softmax beyond) against a direct
 * double-precision evaluation of softmax over the allowed keys only;
 * disallowed keys must get probability exactly 0.  Masks: the Sudoku
 * peers (with 0 and 2 puzzle slots) and random masks with the diagonal kept.
 */
HRM_TEST(attention_masked_matches_direct)
{
	static const int Ss[] = {81, 83, 17, 100};
	int			bad = 0,
				cases = 0;

	rng_seed(777);
	for (size_t si = 0; si < sizeof(Ss) / sizeof(Ss[0]); si++)
		for (int path = 0; path < 2; path++)
		{
			int			S = Ss[si],
						hd = 16,
						NH = 2,
						B = 2;
			int			D = NH * hd,
						ld = 3 * D,
						nw = hrm_mask_words(S);
			size_t		nqkv = (size_t) B * S * ld;
			float	   *qkv = xmalloc(sizeof(float) * nqkv);
			float	   *kvp = xmalloc(sizeof(float) * hrm_attention_scratch_floats(S, hd));
			float	   *P = xmalloc(sizeof(float) * (size_t) B * NH * S * S);
			float	   *out = xmalloc(sizeof(float) * (size_t) B * S * D);
			uint16_t   *allow = calloc((size_t) S * nw, sizeof(uint16_t));
			double	   *p = xmalloc(sizeof(double) * S);

			if (S == 81 || S == 83)
			{
				hrm_config	c;

				hrm_config_defaults(&c);
				c.seq_len = 81;
				c.vocab_size = 11;
				c.hidden_size = 64;
				c.num_heads = 4;
				c.puzzle_emb_ndim = S == 83 ? 128 : 0;
				c.attn_mask = HRM_MASK_SUDOKU;
				HRM_CHECK(hrm_config_validate(&c, NULL) == HRM_OK && c.S == S, "sudoku config");
				hrm_attn_mask_fill(&c, allow);
			}
			else
				for (int q = 0; q < S; q++)
					for (int k = 0; k < S; k++)
						if (k == q || rng_uniform() < 0.3f)
							allow[(size_t) q * nw + k / 16] |= (uint16_t) (1u << (k % 16));
			for (size_t i = 0; i < nqkv; i++)
				qkv[i] = 3.0f * rng_uniform();
			if (path == 0)
				hrm_attention_forward(out, P, true, qkv, B, S, NH, hd, allow);
			else
				hrm_attention_forward_packed(out, P, true, qkv, B, S, NH, hd, S, kvp, allow);
			for (int b = 0; b < B; b++)
				for (int h = 0; h < NH; h++)
					for (int q = 0; q < S; q++)
					{
						const float *Q = qkv + ((size_t) b * S + q) * ld + (size_t) h * hd;
						const float *Pr = P + (((size_t) b * NH + h) * S + q) * S;
						double		mx = -INFINITY,
									sum = 0.0;
						int			peers = 0;

						for (int k = 0; k < S; k++)
						{
							const float *K = qkv + ((size_t) b * S + k) * ld + D + (size_t) h * hd;
							double		d = 0.0;

							for (int i = 0; i < hd; i++)
								d += (double) Q[i] * K[i];
							p[k] = d / sqrt((double) hd);
							if ((allow[(size_t) q * nw + k / 16] >> (k % 16)) & 1)
								mx = p[k] > mx ? p[k] : mx;
						}
						for (int k = 0; k < S; k++)
						{
							bool		ok = (allow[(size_t) q * nw + k / 16] >> (k % 16)) & 1;

							p[k] = ok ? exp(p[k] - mx) : 0.0;
							sum += p[k];
							peers += ok;
							if (!ok && Pr[k] != 0.0f && bad++ < 5)
								HRM_CHECK(false, "S=%d path %d: disallowed key %d of query %d has p=%g",
										  S, path, k, q, Pr[k]);
						}
						if (S == 81 && q == 40 && peers != 21 && bad++ < 5)
							HRM_CHECK(false, "the centre cell has %d allowed keys, want 21", peers);
						for (int i = 0; i < hd; i++)
						{
							double		o = 0.0;

							for (int k = 0; k < S; k++)
								o += p[k] / sum * qkv[((size_t) b * S + k) * ld + 2 * D + (size_t) h * hd + i];
							if (fabs(o - out[((size_t) b * S + q) * D + (size_t) h * hd + i]) > 1e-4 * (1 + fabs(o))
								&& bad++ < 5)
								HRM_CHECK(false, "S=%d path %d: output (%d,%d,%d,%d) %g, want %g", S, path,
										  b, h, q, i, out[((size_t) b * S + q) * D + (size_t) h * hd + i], o);
						}
					}
			cases++;
			free(qkv);
			free(kvp);
			free(P);
			free(out);
			free(allow);
			free(p);
		}
	HRM_CHECK(cases == 8, "only %d cases ran", cases);
	HRM_CHECK(bad == 0, "%d masked attention results differ", bad);
}

/*
 * Every output of the packed product is one FMA chain over k = 0..K-1 from
 * zero, bit for bit (fmaf in order is the reference), whatever the
 * contraction length, for plain products, beta = 1, alpha, the row tail,
 * the fused SwiGLU (with its kept projection) and a weight wide enough to
 * be split into column groups (K * N * 4 bytes > 768 KB).
 */
HRM_TEST(gemm_long_contraction_one_chain)
{
	static const int cases[][3] = {	/* M, N, K */
		{13, 40, 255}, {13, 40, 256}, {13, 40, 257}, {30, 64, 512}, {7, 96, 700}, {25, 1100, 1536},
		{23, 40, 300}, {12, 33, 64}
	};
	int			bad = 0;

	rng_seed(0x10C4A1);
	for (int c = 0; c < COUNT(cases); c++)
		for (int variant = 0; variant < 3; variant++)
		{
			int			M = cases[c][0],
						N = cases[c][1],
						K = cases[c][2];
			float		alpha = variant == 2 ? 0.37f : 1.0f;
			float		beta = variant == 1 ? 1.0f : 0.0f;
			double	   *Bd = xmalloc(sizeof(double) * (size_t) K * N);
			float	   *W = make_weight(K, N, true, K, Bd);
			float	   *Bp = xmalloc(sizeof(float) * hrm_gemm_pack_size(K, N));
			float	   *A = make_act(M, K, K);
			float	   *C = xmalloc(sizeof(float) * (size_t) M * N);
			float	   *C0 = xmalloc(sizeof(float) * (size_t) M * N);

			for (size_t i = 0; i < (size_t) M * N; i++)
				C[i] = C0[i] = rng_uniform();
			hrm_gemm_pack(Bp, W, K, K, N, true);
			hrm_gemm_packed(M, N, K, alpha, A, K, Bp, beta, C, N);
			for (int m = 0; m < M; m++)
				for (int n = 0; n < N; n++)
				{
					float		s = 0.0f;

					for (int k = 0; k < K; k++)
						s = fmaf(A[(size_t) m * K + k], W[(size_t) n * K + k], s);
					if (alpha != 1.0f)
						s *= alpha;
					if (beta != 0.0f)
						s = C0[(size_t) m * N + n] + s;
					if (to_bits(s) != to_bits(C[(size_t) m * N + n]) && bad++ < 5)
						HRM_CHECK(false, "M=%d N=%d K=%d variant %d [%d,%d]: %.9g, one chain gives %.9g",
								  M, N, K, variant, m, n, C[(size_t) m * N + n], s);
				}
			free(Bd);
			free(W);
			free(Bp);
			free(A);
			free(C);
			free(C0);
		}

	/* fused SwiGLU over a long contraction: kept gu is the chain, act is SwiGLU of it */
	{
		int			M = 19,
					Iw = 64,
					K = 600;
		double	   *Bd = xmalloc(sizeof(double) * (size_t) K * 2 * Iw);
		float	   *W = make_weight(K, 2 * Iw, true, K, Bd);
		float	   *A = make_act(M, K, K);
		float	   *Bp = xmalloc(sizeof(float) * hrm_gemm_pack_size(K, 2 * Iw));
		float	   *gu = xmalloc(sizeof(float) * M * 2 * Iw),
				   *act = xmalloc(sizeof(float) * M * Iw),
				   *act_ref = xmalloc(sizeof(float) * M * Iw);

		hrm_gemm_pack_swiglu(Bp, W, K, K, Iw);
		hrm_gemm_packed_swiglu(M, Iw, K, A, K, Bp, act, Iw, gu);
		for (int m = 0; m < M; m++)
			for (int n = 0; n < 2 * Iw; n++)
			{
				float		s = 0.0f;

				for (int k = 0; k < K; k++)
					s = fmaf(A[(size_t) m * K + k], W[(size_t) n * K + k], s);
				if (to_bits(s) != to_bits(gu[(size_t) m * 2 * Iw + n]) && bad++ < 5)
					HRM_CHECK(false, "fused SwiGLU K=%d: kept projection [%d,%d] is not the one chain", K, m, n);
			}
		hrm_swiglu_forward(act_ref, gu, M, Iw);
		HRM_CHECK(memcmp(act, act_ref, sizeof(float) * M * Iw) == 0,
				  "fused SwiGLU over a blocked contraction differs from SwiGLU of its projection");
		free(Bd);
		free(W);
		free(A);
		free(Bp);
		free(gu);
		free(act);
		free(act_ref);
	}
	HRM_CHECK(bad == 0, "%d outputs differ from the single FMA chain", bad);
}

/*
 * RoPE's 16-lane path computes the same products and sums as the
 * rotate-half formula, x1 cos - x2 sin and x2 cos' + x1 sin', in float:
 * bit for bit, for head dims with and without a scalar remainder, on Q and
 * K of every head and nothing of V.
 */
HRM_TEST(rope_vector_path_bitwise)
{
	static const int hds[] = {8, 32, 40, 64};
	int			bad = 0;

	rng_seed(0x80BE);
	for (int h = 0; h < COUNT(hds); h++)
	{
		int			hd = hds[h],
					NH = 3,
					S = 7,
					B = 2,
					half = hd / 2;
		size_t		D = (size_t) NH * hd,
					n = (size_t) B * S * 3 * D;
		float	   *cs = xmalloc(sizeof(float) * S * hd),
				   *sn = xmalloc(sizeof(float) * S * hd),
				   *x = xmalloc(sizeof(float) * n),
				   *want = xmalloc(sizeof(float) * n);

		for (int i = 0; i < S * hd; i++)
		{
			cs[i] = rng_uniform();
			sn[i] = rng_uniform();
		}
		for (size_t i = 0; i < n; i++)
			x[i] = want[i] = 4.0f * rng_uniform();
		for (int b = 0; b < B; b++)
			for (int s = 0; s < S; s++)
				for (int v = 0; v < 2 * NH; v++)
				{
					float	   *w = want + ((size_t) b * S + s) * 3 * D + (size_t) v * hd;
					const float *c = cs + (size_t) s * hd,
							   *si = sn + (size_t) s * hd;

					for (int i = 0; i < half; i++)
					{
						float		x1 = w[i],
									x2 = w[i + half];
						float		p1 = x1 * c[i],
									p2 = x2 * si[i],
									p3 = x2 * c[i + half],
									p4 = x1 * si[i + half];

						w[i] = p1 - p2;
						w[i + half] = p3 + p4;
					}
				}
		hrm_rope_forward(x, cs, sn, B, S, NH, hd);
		for (size_t i = 0; i < n; i++)
			if (to_bits(x[i]) != to_bits(want[i]) && bad++ < 5)
				HRM_CHECK(false, "hd=%d element %zu: %.9g vs %.9g", hd, i, x[i], want[i]);
		free(cs);
		free(sn);
		free(x);
		free(want);
	}
	HRM_CHECK(bad == 0, "%d RoPE outputs differ from the rotate-half formula", bad);
}

/*
 * hrm_copy_stream: every length around the 16-float step, destination
 * aligned and not (plain stores up to the first 64-byte boundary, then
 * streaming stores), and nothing outside [dst, dst + n) is touched.
 */
HRM_TEST(copy_stream_exact)
{
	int			bad = 0;
	float	   *src = xmalloc(sizeof(float) * 200);
	float	   *buf = aligned_alloc(64, sizeof(float) * 256);

	HRM_CHECK(buf != NULL, "out of memory");
	if (buf == NULL)
		return;
	for (int i = 0; i < 200; i++)
		src[i] = rng_uniform() - 0.5f;
	static const int offs[] = {0, 1, 5, 15};

	for (int oi = 0; oi < COUNT(offs); oi++)
		for (size_t n = 0; n <= 100; n++)
		{
			int			off = offs[oi];
			float	   *dst = buf + off;

			for (int i = 0; i < 256; i++)
				buf[i] = -7.0f;
			hrm_copy_stream(dst, src + 3, n);
			for (size_t i = 0; i < n; i++)
				if (to_bits(dst[i]) != to_bits(src[3 + i]) && bad++ < 5)
					HRM_CHECK(false, "off %d n %zu: element %zu differs", off, n, i);
			for (size_t i = n + off; i < 256; i++)
				if (buf[i] != -7.0f && bad++ < 5)
					HRM_CHECK(false, "off %d n %zu: wrote past the end at %zu", off, n, i - off);
			for (int i = 0; i < off; i++)
				if (buf[i] != -7.0f && bad++ < 5)
					HRM_CHECK(false, "off %d n %zu: wrote before the start", off, n);
		}
	HRM_CHECK(bad == 0, "%d copy faults", bad);
	free(src);
	free(buf);
}

/* hrm_gemm_pack_swiglu's layout: panel p, row k = 16 gate then 16 up weights of outputs 16p.. */
HRM_TEST(gemm_pack_swiglu_layout)
{
	static const int Ks[] = {1, 3, 17, 32, 128, 200};
	static const int Iws[] = {16, 48};
	int			bad = 0;

	rng_seed(0x5EED0005);
	for (int a = 0; a < COUNT(Ks); a++)
		for (int b = 0; b < COUNT(Iws); b++)
		{
			int			K = Ks[a],
						Iw = Iws[b],
						ld = K + 3;
			float	   *W = xmalloc(sizeof(float) * (size_t) 2 * Iw * ld);
			float	   *Bp = xmalloc(sizeof(float) * hrm_gemm_pack_size(K, 2 * Iw));

			for (size_t i = 0; i < (size_t) 2 * Iw * ld; i++)
				W[i] = rng_uniform();
			hrm_gemm_pack_swiglu(Bp, W, ld, K, Iw);
			for (int p = 0; p < Iw / 16; p++)
				for (int k = 0; k < K; k++)
					for (int j = 0; j < 32; j++)
					{
						int			row = j < 16 ? 16 * p + j : Iw + 16 * p + j - 16;
						float		v = Bp[((size_t) p * K + k) * 32 + j];

						if (to_bits(v) != to_bits(W[(size_t) row * ld + k]) && bad++ < 5)
							HRM_CHECK(false, "K=%d Iw=%d panel %d k %d col %d: %g vs %g", K, Iw, p, k, j,
									  v, W[(size_t) row * ld + k]);
					}
			free(W);
			free(Bp);
		}
	HRM_CHECK(bad == 0, "%d packed SwiGLU weights misplaced", bad);
}

/*
 * hrm_gemm_packed_mlp (the MLP row block by row block) against the two
 * products it replaces, hrm_gemm_packed_swiglu then hrm_gemm_packed with
 * beta = 1: h, the kept projection and the kept activation bit for bit, for
 * row counts around the 12-row block and its tails, with x a separate
 * matrix and x = h (the block's in-place call), and D with a column tail.
 */
HRM_TEST(gemm_mlp_fused_equals_two_products)
{
	static const int Ms[] = {1, 5, 6, 7, 11, 12, 13, 24, 29, 164, 246};
	static const int Ds[] = {32, 40};
	int			bad = 0,
				ran = 0;

	rng_seed(0x5EED0006);
	for (int di = 0; di < COUNT(Ds); di++)
		for (int mi = 0; mi < COUNT(Ms); mi++)
			for (int inplace = 0; inplace < 2; inplace++)
				for (int keep = 0; keep < 2; keep++)
				{
					int			M = Ms[mi],
								D = Ds[di],
								Iw = 48;
					double	   *Bd = xmalloc(sizeof(double) * (size_t) D * 2 * Iw);
					float	   *Wgu = make_weight(D, 2 * Iw, true, D, Bd);	/* [2 Iw, D] */
					double	   *Bd2 = xmalloc(sizeof(double) * (size_t) Iw * D);
					float	   *Wd = make_weight(Iw, D, true, Iw, Bd2);	/* [D, Iw] */
					float	   *Bgu = xmalloc(sizeof(float) * hrm_gemm_pack_size(D, 2 * Iw));
					float	   *Bdn = xmalloc(sizeof(float) * hrm_gemm_pack_size(Iw, D));
					float	   *x = make_act(M, D, D);
					float	   *h0 = make_act(M, D, D);
					float	   *h = xmalloc(sizeof(float) * (size_t) M * D),
							   *h_ref = xmalloc(sizeof(float) * (size_t) M * D);
					float	   *gu = xmalloc(sizeof(float) * (size_t) M * 2 * Iw),
							   *gu_ref = xmalloc(sizeof(float) * (size_t) M * 2 * Iw);
					float	   *act = xmalloc(sizeof(float) * (size_t) M * Iw),
							   *act_ref = xmalloc(sizeof(float) * (size_t) M * Iw);
					const float *xin;
					bool		done;

					hrm_gemm_pack_swiglu(Bgu, Wgu, D, D, Iw);
					hrm_gemm_pack(Bdn, Wd, Iw, Iw, D, true);
					/* the reference: the two products, as the block ran them */
					memcpy(h_ref, inplace ? x : h0, sizeof(float) * (size_t) M * D);
					hrm_gemm_packed_swiglu(M, Iw, D, inplace ? h_ref : x, D, Bgu, act_ref, Iw, gu_ref);
					hrm_gemm_packed(M, D, Iw, 1.0f, act_ref, Iw, Bdn, 1.0f, h_ref, D);

					memcpy(h, inplace ? x : h0, sizeof(float) * (size_t) M * D);
					xin = inplace ? h : x;
					fill_bits(gu, (size_t) M * 2 * Iw, SENTINEL_BITS);
					fill_bits(act, (size_t) M * Iw, SENTINEL_BITS);
					done = hrm_gemm_packed_mlp(M, Iw, D, xin, D, Bgu, Bdn, h, D, keep ? gu : NULL,
											   keep ? act : NULL);
#ifdef __AVX512F__
					HRM_CHECK(done || !hrm_gemm_available(), "M=%d D=%d: the fused MLP declined", M, D);
#endif
					if (!done)
						HRM_CHECK(memcmp(h, inplace ? x : h0, sizeof(float) * (size_t) M * D) == 0,
								  "M=%d D=%d: declined but wrote h", M, D);
					else
					{
						ran++;
						if (memcmp(h, h_ref, sizeof(float) * (size_t) M * D) != 0 && bad++ < 5)
							HRM_CHECK(false, "M=%d D=%d inplace=%d keep=%d: h differs from the two products",
									  M, D, inplace, keep);
						if (keep && memcmp(gu, gu_ref, sizeof(float) * (size_t) M * 2 * Iw) != 0 && bad++ < 5)
							HRM_CHECK(false, "M=%d D=%d inplace=%d: kept projection differs", M, D, inplace);
						if (keep && memcmp(act, act_ref, sizeof(float) * (size_t) M * Iw) != 0 && bad++ < 5)
							HRM_CHECK(false, "M=%d D=%d inplace=%d: kept activation differs", M, D, inplace);
						if (!keep && (to_bits(gu[0]) != SENTINEL_BITS || to_bits(act[0]) != SENTINEL_BITS))
							HRM_CHECK(false, "M=%d D=%d: wrote a kept buffer it was not given", M, D);
					}
					free(Bd);
					free(Wgu);
					free(Bd2);
					free(Wd);
					free(Bgu);
					free(Bdn);
					free(x);
					free(h0);
					free(h);
					free(h_ref);
					free(gu);
					free(gu_ref);
					free(act);
					free(act_ref);
				}
	HRM_CHECK(bad == 0, "%d fused MLP results differ", bad);
#ifdef __AVX512F__
	HRM_CHECK(ran > 0 || !hrm_gemm_available(), "the fused MLP never ran");
#endif
	/* Iw not a multiple of 16: declined, nothing written */
	{
		float		h1[12] = {0};

		HRM_CHECK(!hrm_gemm_packed_mlp(1, 24, 12, h1, 12, h1, h1, h1, 12, NULL, NULL), "Iw = 24 accepted");
	}
}

/* ---- internal assertions (HRM_ASSERT): fire in assertion builds only ---- */

#include <setjmp.h>

static jmp_buf assert_jmp;
static char assert_cond[256];

static void
assert_to_jmp(const char *cond, const char *file, int line)
{
	snprintf(assert_cond, sizeof(assert_cond), "%s", cond);
	longjmp(assert_jmp, 1);
}

HRM_TEST(test_internal_assertions)
{
	float		a[4] = {0},
				b[4] = {0},
				c[4] = {0};
	volatile int fired = 0;

	hrm_set_assert_handler(assert_to_jmp);
	assert_cond[0] = '\0';
	if (setjmp(assert_jmp) == 0)
	{
#ifdef HRM_ASSERT_CHECKING
		/* a product whose leading dimension is shorter than a row (lda 1 < K 2): a caller's bug */
		hrm_gemm_nn(0, 2, 2, 1.0f, a, 1, b, 2, 0.0f, c, 2);
#else
		/* compiled out: the condition is not even evaluated */
		HRM_ASSERT((fired = 2) == 0);
#endif
	}
	else
		fired = 1;
	hrm_set_assert_handler(NULL);
#ifdef HRM_ASSERT_CHECKING
	HRM_CHECK(fired == 1, "HRM_ASSERT did not fire on lda < K in an assertion build");
	HRM_CHECK(strstr(assert_cond, "lda >= K") != NULL, "assertion text: '%s'", assert_cond);
#else
	HRM_CHECK(fired == 0, "HRM_ASSERT is active in a build without assertions (fired=%d)", fired);
#endif
	/* a valid product still runs with the handler restored */
	a[0] = 2.0f;
	b[0] = 3.0f;
	hrm_gemm_nn(1, 1, 1, 1.0f, a, 1, b, 1, 0.0f, c, 1);
	HRM_CHECK(c[0] == 6.0f, "1x1 product after the assertion check: %g", c[0]);
}
