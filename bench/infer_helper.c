/*
 * infer_helper.c — figures bench/bench_inference.sh needs from the engine.
 *
 *   infer_helper flops WEIGHTS      FLOP of one segment for one puzzle
 *                                   (hrm_segment_flops, B = 1) of the model
 *                                   in a safetensors file (hrm_config)
 *   infer_helper peak [SECONDS]     the packed kernels' rate on one thread:
 *                                   a product of 240 x 1536 x 512 (in L2,
 *                                   the shape of the full model's gate_up
 *                                   on three puzzles), float32 and, where the
 *                                   CPU has AVX512_BF16, bfloat16; best of
 *                                   5 runs of SECONDS (default 0.5) of
 *                                   CPU time each (GFLOP per CPU second)
 *   infer_helper path               the kernels this machine runs
 *
 * Output: `key value` lines.
 */
#include "cpu.h"
#include "forward.h"
#include "gemm.h"
#include "model.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* process CPU seconds: the rate while the thread has the core, whatever else runs */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int
flops(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	long		n;
	uint8_t    *buf;
	hrm_safetensors st;
	hrm_config	cfg;
	hrm_error	err;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "infer_helper: cannot read %s\n", path);
		return 1;
	}
	buf = malloc((size_t) n);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
		return 1;
	fclose(f);
	if (hrm_st_parse(buf, (size_t) n, &st, &err) != HRM_OK ||
		hrm_config_from_safetensors(&st, &cfg, &err) != HRM_OK)
	{
		fprintf(stderr, "infer_helper: %s: %s\n", path, err.msg);
		return 1;
	}
	printf("flops_per_segment %.0f\n", hrm_segment_flops(&cfg, 1));
	printf("hidden %d\nparams_layers %d+%d\n", cfg.hidden_size, cfg.H_layers, cfg.L_layers);
	return 0;
}

static double
rate(bool bf16, double seconds)
{
	int			M = 240,
				N = 1536,
				K = 512;
	float	   *A = malloc(sizeof(float) * M * K),
			   *W = malloc(sizeof(float) * N * K),
			   *C = malloc(sizeof(float) * M * N);
	float	   *Bp = hrm_alloc(hrm_gemm_pack_size(K, N), sizeof(float));
	uint16_t   *Bh = hrm_alloc(hrm_gemm_pack_bf16_size(K, N), sizeof(uint16_t));
	double		best = 0.0;

	if (!A || !W || !C || !Bp || !Bh)
		exit(1);
	for (int i = 0; i < M * K; i++)
		A[i] = (float) (((long) i * 7919) % 1000) / 1000.0f - 0.5f;
	for (int i = 0; i < N * K; i++)
		W[i] = (float) (((long) i * 104729) % 1000) / 1000.0f - 0.5f;
	hrm_gemm_pack(Bp, W, K, K, N, true);
	hrm_gemm_pack_bf16(Bh, W, K, K, N);
	for (int r = 0; r < 5; r++)
	{
		double		t0 = now(),
					t;
		long		calls = 0;

		do
		{
			if (bf16)
				hrm_gemm_packed_bf16(M, N, K, A, K, Bh, 0.0f, C, N);
			else
				hrm_gemm_packed(M, N, K, 1.0f, A, K, Bp, 0.0f, C, N);
			calls++;
		} while ((t = now() - t0) < seconds);
		if (2.0 * M * N * K * calls / t / 1e9 > best)
			best = 2.0 * M * N * K * calls / t / 1e9;
	}
	free(A);
	free(W);
	free(C);
	hrm_free(Bp);
	hrm_free(Bh);
	return best;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "flops") == 0)
		return flops(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "peak") == 0)
	{
		double		s = argc > 2 ? atof(argv[2]) : 0.5;

		hrm_set_threads(1);
		if (!hrm_gemm_available())
		{
			printf("peak_float32 0\npeak_bf16 0\n");
			return 0;
		}
		printf("peak_float32 %.1f\n", rate(false, s));
		printf("peak_bf16 %.1f\n", hrm_gemm_bf16_available() ? rate(true, s) : 0.0);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "path") == 0)
	{
		printf("path %s\nfeatures %s\n", hrm_cpu_path(), hrm_cpu_features());
		return 0;
	}
	fprintf(stderr, "usage: infer_helper flops WEIGHTS | peak [SECONDS] | path\n");
	return 2;
}
