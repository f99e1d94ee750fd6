/*
 * bench_train.c — training throughput of the engine (issue 3, bench/ item).
 *
 * One training step = hrm_train_step on a batch of B rows: for every row one
 * segment with the one-step gradient (no-grad cycles, then the last L and H
 * calls with activations kept), the extra no-grad Q-target segment on the new
 * carry (halt_max_steps > 1), the losses, the backward through the heads and
 * the last H and L calls, AdamATan2 on the dense parameters and SignSGD on
 * the puzzle-embedding rows.  Reported per model and BLAS thread count:
 *
 *   steps/s       1 / (median seconds per step)
 *   ex*seg/s      B / (median seconds per step): example-segments trained per
 *                 second (the Q-target segment is part of the step's cost but
 *                 not counted as a trained example-segment)
 *   GFLOP/s       step_flops() / median seconds per step
 *   bwd / apply   median ms of hrm_train_backward and of hrm_train_apply
 *   cpu s/step    median process CPU seconds per step (all threads; at 1 thread a
 *                 measure less sensitive than wall time to other processes
 *                 taking the cores; at 2 threads it includes OpenBLAS's spinning)
 *
 * step_flops (matrix products and attention only, as hrm_segment_flops):
 *   2 x hrm_segment_flops(B)                  (the trained segment + the Q-target segment)
 *   + 2 x (L_layers + H_layers) x block(B)    (backward of the last L and H calls:
 *                                               dX and dW products, attention dV/dP/dQ/dK)
 *   + 2 x heads(B)                            (lm_head and Q head backward)
 *
 * Models: "small" = the CPU-scale config (hidden 128, 4 heads, 2+2 layers,
 * 2x2 cycles, halt_max_steps 8) and "full" = the full-size Sudoku config of
 * the reference (hidden 512, 8 heads, 4+4 layers, 2x2 cycles, halt_max_steps
 * 16); both with the Sudoku shape: seq 81 + 1 puzzle slot (puzzle_emb_ndim =
 * hidden, 1 identifier), vocab 11.  Weights: the engine's truncated LeCun
 * initialisation (seed 0).  Data: Sudoku-like batches, generated before the
 * timing: a random valid solution grid (relabelled and row/column-permuted
 * base pattern) as labels over all 81 cells (tokens 2..10), the puzzle with
 * 55-80% of the cells blanked (token 1) as inputs; a pool of batches is
 * cycled like a data loader would, so rows halting take fresh examples.
 *
 * Timing: --warmup steps, then --reps timed repetitions of n steps each (n so
 * that a repetition lasts >= --min-time, at least 1 step); seconds per step
 * are the median over repetitions.
 *
 * --memory: one training step of the full-size model at --memory-batch rows
 * (768) with --memory-threads BLAS threads; prints peak RSS (getrusage
 * ru_maxrss) before and after the step, hrm_trainer_bytes, and the time.
 *
 * Output: a table, or with --csv one line per measurement:
 *   engine,<model>,<threads>,<B>,<steps/s>,<ex*seg/s>,<GFLOP/s>,<bwd ms>,<apply ms>,<corename>,
 *          <best-repetition steps/s>,<GFLOP per step>,<reps>,<steps per rep>,<CPU s per step>
 *   memory,<model>,<threads>,<B>,<peak RSS MiB>,<trainer MiB>,<step s>,<RSS MiB before the step>,
 *          <RSS MiB after trainer_create>,<loss>
 */
#include "forward.h"
#include "hrm_internal.h"
#include "model.h"
#include "rng.h"
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* not in every cblas.h, but exported by every OpenBLAS */
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

#define MAX_LIST 16
#define MAX_REPS 256
#define POOL 8					/* batches cycled through */

typedef struct opts
{
	int			threads[MAX_LIST];
	int			n_threads;
	int			batch;
	int			reps;
	int			warmup;
	int			chunk_rows;
	double		min_time;
	bool		csv;
	bool		do_small;
	bool		do_full;
	bool		memory;
	int			memory_batch;
	int			memory_threads;
} opts;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads) */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
median(const double *v, int n)
{
	double		s[MAX_REPS];

	memcpy(s, v, sizeof(double) * n);
	qsort(s, n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static double
minimum(const double *v, int n)
{
	double		m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static int
parse_list(const char *s, int *out)
{
	int			n = 0;

	while (*s && n < MAX_LIST)
	{
		char	   *end;
		long		v = strtol(s, &end, 10);

		if (end == s || v < 1)
			return -1;
		out[n++] = (int) v;
		if (*end != ',' && *end != '\0')
			return -1;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void
die(const char *what, const hrm_error *err)
{
	fprintf(stderr, "bench_train: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

/* peak resident set size of this process so far, MiB (ru_maxrss is in KiB on Linux) */
static double
peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1.0;
	return ru.ru_maxrss / 1024.0;
}

/* ------------------------------------------------------------------------- */
/* configurations */

static void
config_small(hrm_config *c)
{
	hrm_config_defaults(c);
	c->seq_len = 81;
	c->vocab_size = 11;
	c->num_puzzle_identifiers = 1;
	c->puzzle_emb_ndim = 128;
	c->hidden_size = 128;
	c->num_heads = 4;
	c->H_layers = c->L_layers = 2;
	c->H_cycles = c->L_cycles = 2;
	c->halt_max_steps = 8;
	c->halt_exploration_prob = 0.1;
}

static void
config_full(hrm_config *c)
{
	hrm_config_defaults(c);	/* hidden 512, 8 heads, 4+4 layers, 2x2 cycles, 16 steps */
	c->seq_len = 81;
	c->vocab_size = 11;
	c->num_puzzle_identifiers = 1;
	c->puzzle_emb_ndim = 512;
}

/* ------------------------------------------------------------------------- */
/* FLOPs */

static double
block_flops(const hrm_config *c, int B)
{
	double		M = (double) B * c->S;
	double		D = c->hidden_size,
				Iw = c->inter_size,
				S = c->S;

	return 2.0 * M * D * (3 * D) + 2.0 * M * D * D + 2.0 * M * D * (2 * Iw) + 2.0 * M * Iw * D
		+ 4.0 * B * S * S * D;
}

static double
heads_flops(const hrm_config *c, int B)
{
	return 2.0 * B * c->seq_len * c->hidden_size * c->vocab_size + 2.0 * B * c->hidden_size * 2;
}

static double
step_flops(const hrm_config *c, int B)
{
	double		f = hrm_segment_flops(c, B);

	if (c->halt_max_steps > 1)
		f += hrm_segment_flops(c, B);
	return f + 2.0 * (c->L_layers + c->H_layers) * block_flops(c, B) + 2.0 * heads_flops(c, B);
}

/* ------------------------------------------------------------------------- */
/* Sudoku-like data */

/* A valid 9x9 solution: the base pattern with relabelled digits and permuted rows/columns. */
static void
random_solution(hrm_rng *r, int *grid)
{
	int			digit[9],
				rows[9],
				cols[9],
				band[3],
				stack[3];

	for (int i = 0; i < 9; i++)
		digit[i] = i + 1;
	hrm_rng_shuffle_int(r, digit, 9);
	for (int i = 0; i < 3; i++)
		band[i] = stack[i] = i;
	hrm_rng_shuffle_int(r, band, 3);
	hrm_rng_shuffle_int(r, stack, 3);
	for (int b = 0; b < 3; b++)
	{
		int			inner[3] = {0, 1, 2},
					inner2[3] = {0, 1, 2};

		hrm_rng_shuffle_int(r, inner, 3);
		hrm_rng_shuffle_int(r, inner2, 3);
		for (int k = 0; k < 3; k++)
		{
			rows[b * 3 + k] = band[b] * 3 + inner[k];
			cols[b * 3 + k] = stack[b] * 3 + inner2[k];
		}
	}
	for (int i = 0; i < 9; i++)
		for (int j = 0; j < 9; j++)
		{
			int			rr = rows[i],
						cc = cols[j];

			grid[i * 9 + j] = digit[(rr * 3 + rr / 3 + cc) % 9];
		}
}

typedef struct data_pool
{
	int			B,
				T;
	int32_t    *inputs[POOL];
	int32_t    *labels[POOL];
	int32_t    *pids;
	int			next;
} data_pool;

static void
pool_init(data_pool *dp, const hrm_config *c, int B, uint64_t seed)
{
	hrm_rng		r;
	int			grid[81];

	memset(dp, 0, sizeof(*dp));
	dp->B = B;
	dp->T = c->seq_len;
	hrm_rng_seed(&r, seed);
	for (int k = 0; k < POOL; k++)
	{
		dp->inputs[k] = malloc(sizeof(int32_t) * B * c->seq_len);
		dp->labels[k] = malloc(sizeof(int32_t) * B * c->seq_len);
		if (!dp->inputs[k] || !dp->labels[k])
			die("out of memory for the data", NULL);
		for (int b = 0; b < B; b++)
		{
			int32_t    *in = dp->inputs[k] + (size_t) b * c->seq_len;
			int32_t    *lb = dp->labels[k] + (size_t) b * c->seq_len;
			double		blank = 0.55 + 0.25 * hrm_rng_uniform(&r);	/* Sudoku-Extreme: 17-36 givens */

			random_solution(&r, grid);
			for (int t = 0; t < c->seq_len; t++)
			{
				int			d = grid[t % 81];

				lb[t] = 1 + d;	/* reference Sudoku vocab: 0 pad, 1 blank, 2..10 digits */
				in[t] = hrm_rng_uniform(&r) < blank ? 1 : 1 + d;
			}
		}
	}
	dp->pids = calloc(B, sizeof(int32_t));
	if (!dp->pids)
		die("out of memory", NULL);
}

static void
pool_free(data_pool *dp)
{
	for (int k = 0; k < POOL; k++)
	{
		free(dp->inputs[k]);
		free(dp->labels[k]);
	}
	free(dp->pids);
}

/* ------------------------------------------------------------------------- */
/* timing */

typedef struct step_times
{
	double		step,
				bwd,
				apply,
				cpu;
	double		loss;
} step_times;

static void
one_step(hrm_trainer *t, data_pool *dp, step_times *st)
{
	hrm_error	err;
	hrm_train_metrics mt;
	int			k = dp->next;
	double		t0,
				t1,
				t2,
				c0 = cpu_now();

	dp->next = (dp->next + 1) % POOL;
	t0 = now();
	if (hrm_train_backward(t, dp->inputs[k], dp->labels[k], dp->pids, &mt, &err) != HRM_OK)
		die("hrm_train_backward", &err);
	t1 = now();
	if (hrm_train_apply(t, &mt, &err) != HRM_OK)
		die("hrm_train_apply", &err);
	t2 = now();
	st->step += t2 - t0;
	st->bwd += t1 - t0;
	st->apply += t2 - t1;
	st->cpu += cpu_now() - c0;
	st->loss = mt.loss;
}

static void
default_train_opts(hrm_train_opts *to, int B, const opts *o)
{
	hrm_train_opts_defaults(to);
	to->batch_size = B;
	to->chunk_rows = o->chunk_rows;
	to->lr = 1e-4;
	to->lr_warmup_steps = 10;
	to->total_steps = 1000;
	to->lr_min_ratio = 0.1;
	to->weight_decay = 1.0;
	to->puzzle_emb_lr = 1e-4;
	to->puzzle_emb_weight_decay = 1.0;
	to->seed = 0;
}

typedef struct bench_result
{
	double		step,			/* median s per step */
				best,			/* best repetition s per step */
				bwd,			/* median s */
				apply,
				cpu;			/* median CPU seconds (all threads) per step */
	int			reps,
				per_rep;
	double		loss;
} bench_result;

static void
bench_config(const hrm_config *cfg, int threads, int B, const opts *o, bench_result *res)
{
	hrm_trainer *t;
	hrm_train_opts to;
	hrm_error	err;
	data_pool	dp;
	step_times	st;
	double		steps[MAX_REPS],
				bwd[MAX_REPS],
				apply[MAX_REPS],
				cpu[MAX_REPS];
	double		per;
	int			n;

	hrm_set_threads(threads);
	default_train_opts(&to, B, o);
	if (hrm_trainer_create(&t, cfg, NULL, &to, &err) != HRM_OK)
		die("hrm_trainer_create", &err);
	pool_init(&dp, cfg, B, 1234);

	/* warm-up (page faults, OpenBLAS buffers, the carry reaching a steady mix) */
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < o->warmup; i++)
		one_step(t, &dp, &st);
	/* calibration: one more step */
	memset(&st, 0, sizeof(st));
	one_step(t, &dp, &st);
	per = st.step;
	n = per < o->min_time ? (int) ceil(o->min_time / fmax(per, 1e-7)) : 1;

	for (int r = 0; r < o->reps; r++)
	{
		memset(&st, 0, sizeof(st));
		for (int i = 0; i < n; i++)
			one_step(t, &dp, &st);
		steps[r] = st.step / n;
		bwd[r] = st.bwd / n;
		apply[r] = st.apply / n;
		cpu[r] = st.cpu / n;
	}
	res->step = median(steps, o->reps);
	res->best = minimum(steps, o->reps);
	res->bwd = median(bwd, o->reps);
	res->apply = median(apply, o->reps);
	res->cpu = median(cpu, o->reps);
	res->reps = o->reps;
	res->per_rep = n;
	res->loss = st.loss;
	pool_free(&dp);
	hrm_trainer_free(t);
}

static void
run_model(const char *name, hrm_config *cfg, const opts *o)
{
	hrm_error	err;
	hrm_layout	lay;

	if (hrm_config_validate(cfg, &err) != HRM_OK)
		die("config", &err);
	if (hrm_layout_init(&lay, cfg, &err) != HRM_OK)
		die("layout", &err);
	if (!o->csv)
	{
		printf("\n%s: hidden %d, %d heads, %d+%d layers, %dx%d cycles, S = %d + %d, vocab %d, "
			   "SwiGLU %d, halt_max_steps %d, %.2f M parameters; B = %d; %.3f GFLOP per step\n",
			   name, cfg->hidden_size, cfg->num_heads, cfg->H_layers, cfg->L_layers, cfg->H_cycles,
			   cfg->L_cycles, cfg->seq_len, cfg->P, cfg->vocab_size, cfg->inter_size,
			   cfg->halt_max_steps, lay.n_params * 1e-6, o->batch, step_flops(cfg, o->batch) * 1e-9);
		printf("%-8s %4s %10s %12s %10s %10s %10s %10s %s\n", "threads", "B", "steps/s", "ex*seg/s",
			   "GFLOP/s", "bwd ms", "apply ms", "cpu s/step", "(reps x steps)");
	}
	hrm_layout_free(&lay);
	for (int ti = 0; ti < o->n_threads; ti++)
	{
		int			th = o->threads[ti];
		int			B = o->batch;
		bench_result r;
		double		gf;

		bench_config(cfg, th, B, o, &r);
		gf = step_flops(cfg, B) / r.step * 1e-9;
		if (o->csv)
			printf("engine,%s,%d,%d,%.6f,%.6f,%.4f,%.4f,%.4f,%s,%.6f,%.6f,%d,%d,%.6f\n", name, th, B,
				   1.0 / r.step, B / r.step, gf, r.bwd * 1e3, r.apply * 1e3, openblas_get_corename(),
				   1.0 / r.best, step_flops(cfg, B) * 1e-9, r.reps, r.per_rep, r.cpu);
		else
			printf("%-8d %4d %10.3f %12.2f %10.2f %10.2f %10.3f %10.3f (%d x %d)\n", th, B,
				   1.0 / r.step, B / r.step, gf, r.bwd * 1e3, r.apply * 1e3, r.cpu, r.reps, r.per_rep);
		fflush(stdout);
	}
}

/* ------------------------------------------------------------------------- */
/* --memory */

static void
run_memory(const opts *o)
{
	hrm_config	cfg;
	hrm_trainer *t;
	hrm_train_opts to;
	hrm_error	err;
	data_pool	dp;
	step_times	st;
	double		rss0,
				rss1,
				rss2;
	int			B = o->memory_batch;
	size_t		bytes;

	config_full(&cfg);
	if (hrm_config_validate(&cfg, &err) != HRM_OK)
		die("config", &err);
	hrm_set_threads(o->memory_threads);
	rss0 = peak_rss_mib();
	default_train_opts(&to, B, o);
	if (hrm_trainer_create(&t, &cfg, NULL, &to, &err) != HRM_OK)
		die("hrm_trainer_create", &err);
	bytes = hrm_trainer_bytes(t);
	rss1 = peak_rss_mib();
	pool_init(&dp, &cfg, B, 1234);
	if (!o->csv)
	{
		if (o->chunk_rows > 0)
			printf("\nmemory: sudoku-full, B = %d, %d BLAS thread(s), chunk_rows %d\n", B,
				   o->memory_threads, o->chunk_rows);
		else
			printf("\nmemory: sudoku-full, B = %d, %d BLAS thread(s), chunk_rows automatic\n", B,
				   o->memory_threads);
		printf("  peak RSS before the trainer:   %10.1f MiB\n", rss0);
		printf("  peak RSS after trainer_create: %10.1f MiB\n", rss1);
		printf("  hrm_trainer_bytes:             %10.1f MiB\n", bytes / 1048576.0);
		fflush(stdout);
	}
	memset(&st, 0, sizeof(st));
	one_step(t, &dp, &st);
	rss2 = peak_rss_mib();
	if (o->csv)
		printf("memory,sudoku-full,%d,%d,%.1f,%.1f,%.3f,%.1f,%.1f,%.6f\n", o->memory_threads, B,
			   rss2, bytes / 1048576.0, st.step, rss0, rss1, st.loss);
	else
	{
		printf("  one training step:             %10.1f s (backward %.1f s, apply %.2f s), loss %.4f\n",
			   st.step, st.bwd, st.apply, st.loss);
		printf("  peak RSS after the step:       %10.1f MiB = %.2f GiB (target < 8 GB = %.0f MiB): %s\n",
			   rss2, rss2 / 1024.0, 8e9 / 1048576.0, rss2 * 1048576.0 < 8e9 ? "holds" : "EXCEEDED");
	}
	fflush(stdout);
	pool_free(&dp);
	hrm_trainer_free(t);
}

/* ------------------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
			"usage: bench_train [--model small|full|all] [--threads 1,2] [--batch 32]\n"
			"                   [--reps N (>=5)] [--warmup N] [--min-time SECONDS] [--chunk-rows N]\n"
			"                   [--csv]\n"
			"       bench_train --memory [--memory-batch 768] [--memory-threads 2] [--chunk-rows N] [--csv]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	opts		o;

	memset(&o, 0, sizeof(o));
	o.n_threads = parse_list("1,2", o.threads);
	o.batch = 32;
	o.reps = 7;
	o.warmup = 2;
	o.min_time = 0.25;
	o.do_small = o.do_full = true;
	o.memory_batch = 768;
	o.memory_threads = 2;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--csv") == 0)
			o.csv = true;
		else if (strcmp(a, "--memory") == 0)
			o.memory = true;
		else if (v == NULL)
			usage();
		else if (strcmp(a, "--model") == 0)
		{
			o.do_small = strcmp(v, "small") == 0 || strcmp(v, "all") == 0;
			o.do_full = strcmp(v, "full") == 0 || strcmp(v, "all") == 0;
			if (!o.do_small && !o.do_full)
				usage();
			i++;
		}
		else if (strcmp(a, "--threads") == 0)
		{
			if ((o.n_threads = parse_list(v, o.threads)) < 1)
				usage();
			i++;
		}
		else if (strcmp(a, "--batch") == 0)
		{
			o.batch = atoi(v);
			if (o.batch < 1)
				usage();
			i++;
		}
		else if (strcmp(a, "--reps") == 0)
		{
			o.reps = atoi(v);
			if (o.reps < 1 || o.reps > MAX_REPS)
				usage();
			i++;
		}
		else if (strcmp(a, "--warmup") == 0)
		{
			o.warmup = atoi(v);
			if (o.warmup < 0)
				usage();
			i++;
		}
		else if (strcmp(a, "--min-time") == 0)
		{
			o.min_time = atof(v);
			i++;
		}
		else if (strcmp(a, "--chunk-rows") == 0)
		{
			o.chunk_rows = atoi(v);
			if (o.chunk_rows < 0)
				usage();
			i++;
		}
		else if (strcmp(a, "--memory-batch") == 0)
		{
			o.memory_batch = atoi(v);
			if (o.memory_batch < 1)
				usage();
			i++;
		}
		else if (strcmp(a, "--memory-threads") == 0)
		{
			o.memory_threads = atoi(v);
			if (o.memory_threads < 1)
				usage();
			i++;
		}
		else
			usage();
	}

	if (!o.csv)
	{
		printf("hrm engine training benchmark\n");
		printf("OpenBLAS: %s\n", openblas_get_config());
		printf("kernel (openblas_get_corename): %s;  OPENBLAS_CORETYPE=%s  OPENBLAS_L2_SIZE=%s\n",
			   openblas_get_corename(),
			   getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)",
			   getenv("OPENBLAS_L2_SIZE") ? getenv("OPENBLAS_L2_SIZE") : "(unset)");
		if (!o.memory)
			printf("median of %d timed repetitions (>= %.2f s, >= 1 step each) after %d warm-up step(s)\n",
				   o.reps, o.min_time, o.warmup);
	}
	else
		printf("kernel,%s\n", openblas_get_corename());

	if (o.memory)
	{
		run_memory(&o);
		return 0;
	}
	if (o.do_small)
	{
		hrm_config	cfg;

		config_small(&cfg);
		run_model("small", &cfg, &o);
	}
	if (o.do_full)
	{
		hrm_config	cfg;

		config_full(&cfg);
		run_model("sudoku-full", &cfg, &o);
	}
	return 0;
}
