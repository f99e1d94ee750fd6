/*
 * bench_gemm.c — the engine's packed GEMM (src/core/nn/gemm.c) against
 * OpenBLAS's cblas_sgemm on the linear-layer shapes of the CPU-scale
 * training step, one thread, CPU time per product.
 *
 *   make bench-gemm && ./bench/bench_gemm [--reps 7]
 *
 * Shapes (N, K) of hidden 128 / SwiGLU 512: qkv (384, 128), o (128, 128),
 * gate_up (1024, 128), down (128, 512).  M = 246 (one tile of 3 examples,
 * as the engine runs them) for the packed kernel, and both M = 246 and
 * M = 2624 (the whole batch of 32, as one BLAS call per layer did) for
 * cblas_sgemm.  The weight is packed once, outside the timing, as it is
 * once per training step.  Each figure is the median of --reps runs of
 * >= 0.2 s.  Run it under both OpenBLAS settings (OPENBLAS_CORETYPE=Haswell
 * and unset): the packed kernel does not use OpenBLAS.
 */
#include "gemm.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

typedef struct shape
{
	const char *name;
	int			N,
				K;
} shape;

/* GFLOP/s of one product: median over reps runs of >= 0.2 s */
static double
measure(int which, int M, int N, int K, const float *A, const float *W, const float *Bp, float *C,
		int reps)
{
	double		r[64];
	double		flop = 2.0 * M * N * K;

	for (int i = 0; i < reps; i++)
	{
		long		n = 0;
		double		t0 = cpu_now(),
					t;

		do
		{
			if (which == 0)
				hrm_gemm_packed(M, N, K, 1.0f, A, K, Bp, 0.0f, C, N);
			else
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N);
			n++;
			t = cpu_now() - t0;
		} while (t < 0.2);
		r[i] = flop * n / t / 1e9;
	}
	qsort(r, reps, sizeof(double), cmp_double);
	return r[reps / 2];
}

int
main(int argc, char **argv)
{
	static const shape shapes[] = {
		{"qkv", 384, 128}, {"o_proj", 128, 128}, {"gate_up", 1024, 128}, {"down", 128, 512},
	};
	int			reps = 7;
	const char *core = getenv("OPENBLAS_CORETYPE");

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
	if (reps < 1 || reps > 64)
		reps = 7;
	openblas_set_num_threads(1);
	printf("packed GEMM vs cblas_sgemm, 1 thread, GFLOP/s per CPU second (median of %d)\n", reps);
	printf("OpenBLAS kernel: %s (OPENBLAS_CORETYPE=%s); packed kernel %s\n", openblas_get_corename(),
		   core ? core : "(unset)", hrm_gemm_available() ? "AVX-512" : "not built (portable loop)");
	printf("%-8s %5s %5s | %12s | %12s %13s\n", "layer", "N", "K", "packed M=246", "sgemm M=246",
		   "sgemm M=2624");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		int			N = shapes[s].N,
					K = shapes[s].K,
					M = 2624;
		float	   *A = malloc(sizeof(float) * M * K),
				   *W = malloc(sizeof(float) * N * K),
				   *C = malloc(sizeof(float) * M * N),
				   *Bp = malloc(sizeof(float) * hrm_gemm_pack_size(K, N));

		if (!A || !W || !C || !Bp)
			return 1;
		srand(7);
		for (long i = 0; i < (long) M * K; i++)
			A[i] = rand() / (float) RAND_MAX - 0.5f;
		for (long i = 0; i < (long) N * K; i++)
			W[i] = (rand() / (float) RAND_MAX - 0.5f) * 0.1f;
		hrm_gemm_pack(Bp, W, K, K, N, true);
		printf("%-8s %5d %5d | %12.1f | %12.1f %13.1f\n", shapes[s].name, N, K,
			   measure(0, 246, N, K, A, W, Bp, C, reps), measure(1, 246, N, K, A, W, Bp, C, reps),
			   measure(1, M, N, K, A, W, Bp, C, reps));
		free(A);
		free(W);
		free(C);
		free(Bp);
	}
	return 0;
}
