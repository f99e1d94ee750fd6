/*
 * bench_ensemble.c — do ensembles of a model's checkpoints answer better
 * than its last checkpoint?  (The answer-quality issue's "model
 * bootstrapping" question.)
 *
 * Generates held-out Sudoku puzzles (the engine's generator, --data-seed
 * never used in training), solves them with every model file given, each
 * through hrm_views_solve (--views N test-time views, --segments fixed
 * segments), and prints the exact accuracy of each model alone, then of
 * ensembles: the last k models for every k >= 2, voting with the rule
 * views use (hrm_views_vote: answers that obey the rules first, then the
 * majority, then the certainty).  "any" is the share of puzzles that at
 * least one member answers right (the most a vote could get).
 *
 *   make bench/bench_ensemble
 *   ./bench/bench_ensemble --blanks 45-55 --puzzles 500 --segments 16 a.safetensors b.safetensors ...
 *
 * Models are given oldest first.  Every model must be a Sudoku model.
 */
#include "run.h"
#include "safetensors.h"
#include "sudoku.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MODELS 32

static void
check(hrm_status st, const hrm_error *err, const char *what)
{
	if (st != HRM_OK)
	{
		fprintf(stderr, "bench_ensemble: %s: %s\n", what, err->msg);
		exit(1);
	}
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
		(buf = malloc((size_t) n + 1)) == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* One model file solved on every puzzle: answers [n, 81], rule-abiding and certainty per puzzle. */
typedef struct member
{
	const char *path;
	int32_t    *answers;
	bool	   *ok;
	float	   *certainty;
	int64_t		right;
} member;

static void
solve_with(member *mb, const int32_t *inputs, const int32_t *labels, int n, int views, int segments)
{
	hrm_error	err;
	size_t		len;
	uint8_t    *buf = read_file(mb->path, &len);
	hrm_safetensors st;
	hrm_config	cfg;
	hrm_layout	lay;
	hrm_model	m;
	float	   *params;
	hrm_views_opts o;
	hrm_views_row *rows = malloc(sizeof(hrm_views_row) * (size_t) n);

	hrm_error_clear(&err);
	check(hrm_st_parse(buf, len, &st, &err), &err, "parse");
	check(hrm_config_from_safetensors(&st, &cfg, &err), &err, "config");
	if (cfg.seq_len != HRM_SUDOKU_CELLS || cfg.vocab_size != HRM_SUDOKU_VOCAB)
	{
		fprintf(stderr, "bench_ensemble: %s is not a Sudoku model\n", mb->path);
		exit(1);
	}
	check(hrm_layout_init(&lay, &cfg, &err), &err, "layout");
	params = hrm_alloc(lay.n_params, sizeof(float));
	check(hrm_load_params(&lay, &st, params, &err), &err, "weights");
	check(hrm_model_init(&m, &lay, params, &err), &err, "model");
	check(hrm_model_pack(&m, false, &err), &err, "pack");

	hrm_views_opts_defaults(&o);
	o.task = HRM_TASK_SUDOKU;
	o.views = views;
	o.infer.segments = segments > 0 ? segments : cfg.halt_max_steps;
	o.infer.adaptive = false;
	mb->answers = malloc(sizeof(int32_t) * (size_t) n * HRM_SUDOKU_CELLS);
	mb->ok = malloc(sizeof(bool) * (size_t) n);
	mb->certainty = malloc(sizeof(float) * (size_t) n);
	check(hrm_views_solve(&m, NULL, inputs, NULL, n, &o, mb->answers, rows, &err), &err, "solve");
	mb->right = 0;
	for (int i = 0; i < n; i++)
	{
		mb->ok[i] = rows[i].verdict.known && rows[i].verdict.valid && rows[i].verdict.keeps_givens;
		mb->certainty[i] = rows[i].certainty;
		mb->right += memcmp(mb->answers + (size_t) i * HRM_SUDOKU_CELLS, labels + (size_t) i * HRM_SUDOKU_CELLS,
							sizeof(int32_t) * HRM_SUDOKU_CELLS) == 0;
	}
	hrm_model_free(&m);
	hrm_free(params);
	hrm_layout_free(&lay);
	hrm_st_free(&st);
	free(buf);
	free(rows);
}

int
main(int argc, char **argv)
{
	int			blanks = 45,
				blanks_max = 55,
				n = 500,
				views = 1,
				segments = 0,
				threads = 2;
	uint64_t	data_seed = 7;
	member		mb[MAX_MODELS];
	int			k = 0;
	int32_t    *inputs,
			   *labels;
	hrm_rng		rng;
	hrm_error	err;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--blanks") == 0 && v != NULL)
		{
			blanks = atoi(v);
			blanks_max = strchr(v, '-') ? atoi(strchr(v, '-') + 1) : blanks;
			i++;
		}
		else if (strcmp(a, "--puzzles") == 0 && v != NULL)
			n = atoi(argv[++i]);
		else if (strcmp(a, "--views") == 0 && v != NULL)
			views = atoi(argv[++i]);
		else if (strcmp(a, "--segments") == 0 && v != NULL)
			segments = atoi(argv[++i]);
		else if (strcmp(a, "--threads") == 0 && v != NULL)
			threads = atoi(argv[++i]);
		else if (strcmp(a, "--data-seed") == 0 && v != NULL)
			data_seed = strtoull(argv[++i], NULL, 10);
		else if (a[0] == '-' || k == MAX_MODELS)
		{
			fprintf(stderr, "usage: bench_ensemble [--blanks 45-55] [--puzzles 500] [--views 1] [--segments n]\n"
					"                      [--threads 2] [--data-seed 7] model.safetensors ... (oldest first, at most %d)\n",
					MAX_MODELS);
			return 2;
		}
		else
			mb[k++].path = a;
	}
	if (k == 0 || n <= 0 || blanks_max < blanks)
	{
		fprintf(stderr, "bench_ensemble: give at least one model, puzzles > 0 and MIN <= MAX blanks\n");
		return 2;
	}
	hrm_set_threads(threads);

	inputs = malloc(sizeof(int32_t) * (size_t) n * HRM_SUDOKU_CELLS);
	labels = malloc(sizeof(int32_t) * (size_t) n * HRM_SUDOKU_CELLS);
	hrm_rng_seed(&rng, data_seed);
	for (int i = 0; i < n; i++)
	{
		int			nb = blanks + (int) (hrm_rng_next(&rng) % (uint64_t) (blanks_max - blanks + 1));
		uint8_t		puz[HRM_SUDOKU_CELLS],
					sol[HRM_SUDOKU_CELLS];

		check(hrm_sudoku_generate(&rng, nb, 100, puz, sol, NULL, &err), &err, "generate");
		hrm_sudoku_to_tokens(puz, inputs + (size_t) i * HRM_SUDOKU_CELLS);
		hrm_sudoku_to_tokens(sol, labels + (size_t) i * HRM_SUDOKU_CELLS);
	}
	printf("# %d puzzles, %d-%d blanks, data seed %llu, views %d, segments %d (0: each model's)\n", n, blanks,
		   blanks_max, (unsigned long long) data_seed, views, segments);

	for (int j = 0; j < k; j++)
	{
		solve_with(&mb[j], inputs, labels, n, views, segments);
		printf("model %-2d %-50s exact %6.2f%%\n", j + 1, mb[j].path, 100.0 * mb[j].right / n);
		fflush(stdout);
	}

	/* ensembles of the last m members, m = 2..k */
	for (int m = 2; m <= k; m++)
	{
		int32_t    *cand = malloc(sizeof(int32_t) * (size_t) m * HRM_SUDOKU_CELLS);
		bool	   *ok = malloc(sizeof(bool) * (size_t) m);
		float	   *cert = malloc(sizeof(float) * (size_t) m);
		int64_t		right = 0,
					any = 0;

		for (int i = 0; i < n; i++)
		{
			const int32_t *lb = labels + (size_t) i * HRM_SUDOKU_CELLS;
			bool		some = false;
			int			c;

			for (int j = 0; j < m; j++)
			{
				const member *x = &mb[k - m + j];
				const int32_t *ans = x->answers + (size_t) i * HRM_SUDOKU_CELLS;

				memcpy(cand + (size_t) j * HRM_SUDOKU_CELLS, ans, sizeof(int32_t) * HRM_SUDOKU_CELLS);
				ok[j] = x->ok[i];
				cert[j] = x->certainty[i];
				some |= memcmp(ans, lb, sizeof(int32_t) * HRM_SUDOKU_CELLS) == 0;
			}
			c = hrm_views_vote(m, HRM_SUDOKU_CELLS, cand, ok, cert, NULL);
			right += memcmp(cand + (size_t) c * HRM_SUDOKU_CELLS, lb, sizeof(int32_t) * HRM_SUDOKU_CELLS) == 0;
			any += some;
		}
		printf("ensemble of the last %-2d exact %6.2f%%   any member right %6.2f%%\n", m, 100.0 * right / n,
			   100.0 * any / n);
		free(cand);
		free(ok);
		free(cert);
	}
	return 0;
}
