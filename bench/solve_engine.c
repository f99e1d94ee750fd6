/*
 * solve_engine.c — the engine's own per-puzzle time, next to which
 * bench/bench_solve.sh puts `SELECT hrm_solve(p) FROM t`.
 *
 * Reads a weights file (safetensors with hrm_config metadata) and Sudoku
 * puzzles (one per line, 81 cells), then solves them one by one with
 * hrm_infer (B = 1, a fresh carry each, `--segments` segments, fixed or
 * adaptive halting) exactly as hrm_solve does, decoding each answer as the
 * argmax over the digit tokens.  Repeats the whole pass --reps times and
 * prints, one `key value` per line:
 *
 *   puzzles N, segments S, flops_per_segment F (hrm_segment_flops, B = 1)
 *   rep_seconds t1 t2 ...    seconds of each full pass (wall clock)
 *   median_seconds t         median pass
 *   rep_cpu_seconds, median_cpu_seconds   the same in process CPU time
 *                            (what the pass cost, whatever else runs)
 *   seconds_per_puzzle t/N
 *   mean_segments m          segments used per puzzle (adaptive < S)
 *   gflops                   F * segments used / median pass
 *
 * With --answers FILE it writes the answers (81 digits per line) there, so
 * the script can check that the SQL path gives the same ones.  The weights
 * are packed for the engine's kernels as the extension packs them (no packs
 * where the CPU lacks AVX-512); --blas keeps them unpacked (the BLAS path),
 * --bf16 runs the products in bfloat16 (hrm.precision = bf16).
 *
 * Build: bench_solve.sh compiles it with the engine sources (src/core, every
 * .c file there) and OpenBLAS, with the flags the extension is built with,
 * so that both do exactly the same float operations.
 */
#include "forward.h"
#include "model.h"
#include "safetensors.h"
#include "sudoku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPS 64

static double
clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "solve_engine: cannot read %s\n", path);
		exit(2);
	}
	buf = malloc(n + 1);
	if (buf == NULL || fread(buf, 1, n, f) != (size_t) n)
	{
		fprintf(stderr, "solve_engine: cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static void
check(hrm_status st, const hrm_error *err, const char *what)
{
	if (st != HRM_OK)
	{
		fprintf(stderr, "solve_engine: %s: %s: %s\n", what, hrm_status_name(st), err->msg);
		exit(1);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(const double *v, int n)
{
	double		sorted[MAX_REPS];

	memcpy(sorted, v, sizeof(double) * n);
	qsort(sorted, n, sizeof(double), cmp_double);
	return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

int
main(int argc, char **argv)
{
	const char *weights = NULL,
			   *puzzles_path = NULL,
			   *answers_path = NULL;
	int			segments = 0,
				reps = 5,
				threads = 1;
	bool		adaptive = false,
				blas = false,
				bf16 = false;
	hrm_error	err;
	hrm_safetensors st;
	hrm_config	cfg;
	hrm_layout	lay;
	hrm_model	m;
	float	   *params;
	size_t		len;
	uint8_t    *wbuf;
	char	   *text,
			   *line,
			   *save = NULL;
	int32_t    *tokens = NULL;
	int			n = 0,
				cap = 0;
	float	   *logits,
				q[2];
	int32_t		steps;
	double		rep_s[MAX_REPS],
				rep_cpu[MAX_REPS];
	long		total_steps = 0;
	FILE	   *answers = NULL;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc)
			weights = argv[++i];
		else if (strcmp(argv[i], "--puzzles") == 0 && i + 1 < argc)
			puzzles_path = argv[++i];
		else if (strcmp(argv[i], "--answers") == 0 && i + 1 < argc)
			answers_path = argv[++i];
		else if (strcmp(argv[i], "--segments") == 0 && i + 1 < argc)
			segments = atoi(argv[++i]);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--adaptive") == 0)
			adaptive = true;
		else if (strcmp(argv[i], "--blas") == 0)
			blas = true;
		else if (strcmp(argv[i], "--bf16") == 0)
			bf16 = true;
		else
		{
			fprintf(stderr, "usage: solve_engine --weights FILE --puzzles FILE [--segments N] [--adaptive] [--reps N] [--threads N] [--answers FILE] [--blas | --bf16]\n");
			return 2;
		}
	}
	if (weights == NULL || puzzles_path == NULL || reps < 1 || reps > MAX_REPS)
	{
		fprintf(stderr, "solve_engine: --weights and --puzzles are required; --reps 1..%d\n", MAX_REPS);
		return 2;
	}
	hrm_set_threads(threads);

	/* the model */
	hrm_error_clear(&err);
	wbuf = read_file(weights, &len);
	check(hrm_st_parse(wbuf, len, &st, &err), &err, "parse weights");
	check(hrm_config_from_safetensors(&st, &cfg, &err), &err, "config");
	check(hrm_layout_init(&lay, &cfg, &err), &err, "layout");
	params = hrm_alloc(lay.n_params, sizeof(float));
	if (params == NULL)
		return 1;
	check(hrm_load_params(&lay, &st, params, &err), &err, "load");
	check(hrm_model_init(&m, &lay, params, &err), &err, "model");
	/* the weights packed as the extension packs them (no packs without AVX-512: BLAS) */
	if (!blas)
		check(hrm_model_pack(&m, false, &err), &err, "pack");
	if (bf16)
	{
		check(hrm_model_pack_bf16(&m, NULL, true, &err), &err, "pack bf16");
		hrm_model_set_precision(&m, HRM_PRECISION_BF16);
	}
	printf("path %s\n", m.bf16 ? "bf16" : m.wpack != NULL ? "packed" : "blas");
	if (cfg.seq_len != HRM_SUDOKU_CELLS || cfg.vocab_size != HRM_SUDOKU_VOCAB)
	{
		fprintf(stderr, "solve_engine: not a Sudoku model (seq %d, vocab %d)\n", cfg.seq_len, cfg.vocab_size);
		return 1;
	}
	if (segments <= 0)
		segments = cfg.halt_max_steps;

	/* the puzzles */
	text = read_file(puzzles_path, &len);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		uint8_t		cells[HRM_SUDOKU_CELLS];

		if (line[0] == '\0')
			continue;
		check(hrm_sudoku_parse(line, strlen(line), cells, &err), &err, "puzzle");
		if (n == cap)
		{
			cap = cap ? 2 * cap : 256;
			tokens = realloc(tokens, sizeof(int32_t) * HRM_SUDOKU_CELLS * cap);
			if (tokens == NULL)
				return 1;
		}
		hrm_sudoku_to_tokens(cells, tokens + (size_t) n * HRM_SUDOKU_CELLS);
		n++;
	}
	if (n == 0)
	{
		fprintf(stderr, "solve_engine: no puzzles\n");
		return 1;
	}

	logits = malloc(sizeof(float) * HRM_SUDOKU_CELLS * HRM_SUDOKU_VOCAB);
	if (answers_path != NULL && (answers = fopen(answers_path, "w")) == NULL)
	{
		fprintf(stderr, "solve_engine: cannot write %s\n", answers_path);
		return 2;
	}

	/* a warm-up puzzle, then the timed passes */
	{
		hrm_infer_opts o = {segments, adaptive};
		int32_t		pid = 0;

		check(hrm_infer(&m, tokens, &pid, 1, &o, logits, q, &steps, NULL, NULL, &err), &err, "infer");
	}
	for (int r = 0; r < reps; r++)
	{
		double		t0 = clock_seconds(CLOCK_MONOTONIC),
					c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);

		total_steps = 0;
		for (int i = 0; i < n; i++)
		{
			hrm_infer_opts o = {segments, adaptive};
			int32_t		pid = 0;

			check(hrm_infer(&m, tokens + (size_t) i * HRM_SUDOKU_CELLS, &pid, 1, &o, logits, q, &steps,
							NULL, NULL, &err), &err, "infer");
			total_steps += steps;
			if (answers != NULL && r == 0)
			{
				char		out[HRM_SUDOKU_CELLS + 1];

				for (int c = 0; c < HRM_SUDOKU_CELLS; c++)
				{
					const float *v = logits + (size_t) c * HRM_SUDOKU_VOCAB;
					int			best = 2;

					for (int t = 3; t < HRM_SUDOKU_VOCAB; t++)
						if (v[t] > v[best])
							best = t;
					out[c] = (char) ('0' + best - 1);
				}
				out[HRM_SUDOKU_CELLS] = '\0';
				fprintf(answers, "%s\n", out);
			}
		}
		rep_s[r] = clock_seconds(CLOCK_MONOTONIC) - t0;
		rep_cpu[r] = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	if (answers != NULL)
		fclose(answers);

	{
		double		med = median(rep_s, reps),
					med_cpu = median(rep_cpu, reps);
		double		flops = hrm_segment_flops(&cfg, 1);

		printf("puzzles %d\nsegments %d\nadaptive %d\nthreads %d\nflops_per_segment %.0f\n", n, segments,
			   adaptive ? 1 : 0, threads, flops);
		printf("rep_seconds");
		for (int r = 0; r < reps; r++)
			printf(" %.4f", rep_s[r]);
		printf("\nrep_cpu_seconds");
		for (int r = 0; r < reps; r++)
			printf(" %.4f", rep_cpu[r]);
		printf("\nmedian_seconds %.4f\nmedian_cpu_seconds %.4f\nseconds_per_puzzle %.6f\nmean_segments %.3f\ngflops %.2f\n",
			   med, med_cpu, med / n, (double) total_steps / n, flops * total_steps / med * 1e-9);
	}
	hrm_model_free(&m);
	hrm_layout_free(&lay);
	hrm_free(params);
	hrm_st_free(&st);
	free(wbuf);
	free(text);
	free(tokens);
	free(logits);
	return 0;
}
