/*
 * train_recipe.c — the training bench (issue 6): generate puzzles with the
 * engine's generators (Sudoku: unique solution, --blanks blanks; --task maze:
 * --maze-size mazes whose shortest path has at least --maze-min-path
 * cells, as their shortest path), train
 * with run.h for a time budget (or a step count), evaluate on held-out
 * generated puzzles every --eval-every seconds of training, and print the
 * curve.  Evaluation time is not counted as training time.
 *
 *   make bench/train_recipe
 *   ./bench/train_recipe --minutes 20 --csv /tmp/curve.csv
 *   ./bench/train_recipe --steps 3000 --hidden 64 ...     (equal-step comparisons)
 *
 * --clock cpu measures the budget and the evaluation interval in process
 * CPU seconds instead of wall-clock seconds: at --threads 1 that is the
 * time a dedicated core would take, whatever else runs on the machine.
 * Both clocks are printed either way.
 *
 * Defaults are hrm_run_opts_defaults(task) (Sudoku unless --task: an HRM of
 * hidden 64); every knob can be overridden (--help).  --arch trm trains the
 * recipe's TRM variant (hrm_run_opts_trm: one network of --L-layers blocks,
 * --H-cycles recursions of --L-cycles latent updates and one answer update,
 * the last recursion backpropagated in full, halting on q_halt > 0); with
 * --mlp-t 1 its blocks mix tokens instead of attending (TRM-MLP).  Output lines:
 *   curve  <minutes> <steps> <train loss> <eval exact> <eval token acc> ...
 *   final  ...
 */
#include "arc.h"
#include "maze.h"
#include "run.h"
#include "sudoku.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Process CPU seconds (all threads). */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
die(const char *what, const hrm_error *err)
{
	fprintf(stderr, "train_recipe: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

typedef struct bench_opts
{
	double		minutes;		/* training-time budget (0 = none) */
	int64_t		steps;			/* step budget (0 = none) */
	double		eval_every;		/* seconds of training between evaluations */
	int64_t		eval_every_steps;	/* or steps */
	int			train_puzzles;
	int			eval_puzzles;
	int			blanks;
	int			blanks_max;		/* > blanks: each training puzzle draws its blanks in [blanks, blanks_max] */
	int			eval_blanks;	/* held-out puzzles' blanks (0 = as training) */
	int			eval_blanks_max;
	uint64_t	data_seed;
	int			threads;
	hrm_task	task;			/* sudoku (default) or maze */
	int			maze_size;		/* maze: side of the square mazes (2..30) */
	int			maze_min_path;	/* maze: shortest path of at least this many cells */
	int			arc_tasks;		/* arc: synthetic tasks (hrm_arc_generate_task), each one puzzle id */
	int			arc_pairs;		/* arc: demonstration pairs per task (trained on) */
	int			arc_test_pairs; /* arc: held-out pairs per task (evaluated) */
	int			arc_max_side;	/* arc: inputs of 3..arc_max_side rows and columns */
	int			arc_versions;	/* arc: augmented versions per task, each its own puzzle id (1 = none) */
	int			arc_families[HRM_ARC_FAMILIES];
	int			arc_n_families; /* 0: every family */
	const char *save_evals;		/* prefix of the weights saved at every evaluation */
	int			eval_segments;	/* 0 = halt_max_steps */
	bool		eval_adaptive;
	const char *csv;
	const char *tag;
	bool		auto_total;		/* set total_steps from the measured rate (cosine over the budget) */
	const char *save;			/* write the final weights (safetensors) here */
	bool		cpu_clock;		/* budget and eval schedule in process CPU time */
	const char *final_segments; /* comma list: extra final evaluations with these segment counts */
	const char *state;			/* run state (trainer + sampler): resumed from when it exists, rewritten */
	double		state_every;	/* seconds of training between state writes (0: at the end only) */
	const char *description;	/* hrm_description metadata of --save */
	int			save_max_steps; /* --save: halt_max_steps of the saved model (0: as trained) */
	const char *init;			/* start from this model file's weights and configuration */
	bool		halt_given;		/* --halt-max-steps on the command line (kept over --init's) */
} bench_opts;

/*
 * ARC: synthetic tasks (stream data_seed), train pairs as training rows,
 * test pairs as held-out rows, both under the task's puzzle id.  With
 * --arc-versions K each task also appears under K - 1 augmented versions
 * (dihedral and colours, drawn once per version), each its own id, the
 * reference's way of augmenting ARC; held-out rows are the plain version.
 * Labels outside the output grid and its EOS markers are ignored, as the
 * reference's ARC datasets do (ignore_label_id 0).
 */
static void
arc_data(const bench_opts *bo, hrm_dataset *train_ds, hrm_dataset *eval_ds)
{
	hrm_error	err;
	int64_t		copy_tokens = 0,
				all_tokens = 0,
				copy_exact = 0,
				held_out = 0;

	for (int t = 0; t < bo->arc_tasks; t++)
	{
		hrm_arc_task task;
		hrm_rng		vr;

		if (hrm_arc_generate_task(bo->data_seed, t, bo->arc_families, bo->arc_n_families, bo->arc_pairs,
								  bo->arc_test_pairs, bo->arc_max_side, &task, NULL, &err) != HRM_OK)
			die("generate ARC task", &err);
		hrm_rng_seed(&vr, bo->data_seed * 7919 + (uint64_t) t);
		for (int k = 0; k < bo->arc_versions; k++)
		{
			hrm_arc_aug aug;
			int			id = 1 + t * bo->arc_versions + k;

			if (k == 0)
				hrm_arc_aug_identity(&aug);
			else
				hrm_arc_aug_draw(&vr, &aug);
			for (int p = 0; p < task.n_train + (k == 0 ? task.n_test : 0); p++)
			{
				const hrm_arc_pair *pr = p < task.n_train ? &task.train[p] : &task.test[p - task.n_train];
				hrm_arc_grid gi,
							go;
				int32_t		in[HRM_ARC_SEQ],
							lb[HRM_ARC_SEQ];

				if (hrm_arc_aug_apply(&aug, &pr->input, &gi, &err) != HRM_OK ||
					hrm_arc_aug_apply(&aug, &pr->output, &go, &err) != HRM_OK ||
					hrm_arc_encode(&gi, 0, 0, in, &err) != HRM_OK || hrm_arc_encode(&go, 0, 0, lb, &err) != HRM_OK)
					die("encode ARC pair", &err);
				for (int i = 0; i < HRM_ARC_SEQ; i++)
					if (lb[i] == HRM_ARC_PAD)
						lb[i] = HRM_IGNORE_LABEL;
				if (hrm_dataset_append(p < task.n_train ? train_ds : eval_ds, in, lb, id, &err) != HRM_OK)
					die("append", &err);
				if (p >= task.n_train)
				{
					/* what copying the input would score */
					int			right = 0,
								scored = 0;

					for (int i = 0; i < HRM_ARC_SEQ; i++)
						if (lb[i] != HRM_IGNORE_LABEL)
						{
							scored++;
							right += in[i] == lb[i];
						}
					copy_tokens += right;
					all_tokens += scored;
					copy_exact += right == scored;
					held_out++;
				}
			}
		}
		hrm_arc_task_free(&task);
	}
	printf("# arc copy baseline (the input as the answer): exact %.4f token %.4f over %lld held-out pairs\n",
		   held_out ? (double) copy_exact / held_out : 0.0, all_tokens ? (double) copy_tokens / all_tokens : 0.0,
		   (long long) held_out);
}

/* Write buf to path atomically (path.tmp, then rename). */
static void
write_file(const char *path, const uint8_t *buf, size_t len)
{
	char		tmp[4096];
	FILE	   *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0)
	{
		perror(path);
		exit(1);
	}
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
		(buf = malloc((size_t) n + 1)) == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* --init: the model file's configuration, with the command line's halting knobs. */
static void
init_config(const bench_opts *bo, hrm_config *model)
{
	size_t		len = 0;
	uint8_t    *buf = read_file(bo->init, &len);
	hrm_safetensors st;
	hrm_config	cfg;
	hrm_error	err;

	if (buf == NULL)
	{
		perror(bo->init);
		exit(1);
	}
	if (hrm_st_parse(buf, len, &st, &err) != HRM_OK)
		die("--init", &err);
	if (hrm_config_from_safetensors(&st, &cfg, &err) != HRM_OK)
		die("--init configuration", &err);
	if (bo->halt_given)
		cfg.halt_max_steps = model->halt_max_steps;
	cfg.halt_exploration_prob = model->halt_exploration_prob;
	*model = cfg;
	hrm_st_free(&st);
	free(buf);
}

/* --init: the model file's weights into params (lay->n_params floats). */
static void
init_params(const char *path, const hrm_layout *lay, float *params)
{
	size_t		len = 0;
	uint8_t    *buf = read_file(path, &len);
	hrm_safetensors st;
	hrm_error	err;

	if (buf == NULL)
	{
		perror(path);
		exit(1);
	}
	if (hrm_st_parse(buf, len, &st, &err) != HRM_OK || hrm_load_params(lay, &st, params, &err) != HRM_OK)
		die("--init weights", &err);
	hrm_st_free(&st);
	free(buf);
	printf("# initialised from %s\n", path);
}

static void
save_state(const char *path, const hrm_trainer *tr, const hrm_sampler *smp)
{
	uint8_t    *buf;
	size_t		len;
	hrm_error	err;

	if (hrm_run_save(tr, smp, &buf, &len, &err) != HRM_OK)
		die("save state", &err);
	write_file(path, buf, len);
	hrm_free(buf);
}

/* The trainer's evaluation weights as a model file (halt_max_steps --save-max-steps when given). */
static void
save_model(const char *path, const hrm_trainer *tr, const bench_opts *bo, const char *metrics)
{
	uint8_t    *buf;
	size_t		len;
	hrm_error	err;
	const char *keys[3] = {"hrm_task", "hrm_description", "hrm_metrics"};
	const char *vals[3] = {hrm_task_name(bo->task), bo->description ? bo->description : "", metrics};
	hrm_layout	saved = *hrm_trainer_layout(tr);

	if (bo->save_max_steps > 0)
		saved.cfg.halt_max_steps = bo->save_max_steps;
	if (hrm_save_params_meta(&saved, hrm_trainer_eval_params(tr), "", keys, vals, 3, &buf, &len, &err) != HRM_OK)
		die("save", &err);
	write_file(path, buf, len);
	hrm_free(buf);
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: train_recipe [options]\n"
			"  budget:   --minutes M  --steps N  --eval-every SEC  --eval-every-steps N\n"
			"  data:     --task sudoku|maze|arc (before the model options take their defaults)\n"
			"            --blanks 20|MIN-MAX --eval-blanks N|MIN-MAX --train-puzzles N --eval-puzzles 1000 --data-seed S\n"
			"            --maze-size 2..30 (default 30) --maze-min-path L (default 0)\n"
			"            --task arc: --arc-tasks N (default 100) --arc-pairs P (3) --arc-test-pairs P (1)\n"
			"            --arc-max-side S (10) --arc-versions K (1: augmented versions per task, own ids)\n"
			"            --arc-families dihedral,recolor,... (default all)\n"
			"  model:    --arch hrm|trm --mlp-t 0|1 (trm: token mixing) --no-act-continue 0|1 (trm)\n"
			"            --puzzle-emb-ndim n --puzzle-emb-len n (trm prefix slots)\n"
			"            --hidden D --heads H --H-layers n (hrm) --L-layers n --H-cycles n --L-cycles n\n"
			"            --expansion x --halt-max-steps M --explore p --pos rope|learned|none\n"
			"            --attn-mask full|sudoku\n"
			"  optim:    --lr x --warmup n --lr-min-ratio r --total-steps n|auto --wd x --beta2 x\n"
			"            --batch B --loss stablemax|softmax --seed S --threads n --ema d (weight average)\n"
			"  init:     --grid-pos 0|1 (grid-aware learned positions)\n"
			"            --init FILE.safetensors (continue from a model: its configuration and weights;\n"
			"            --halt-max-steps and --explore still apply; other model options are ignored)\n"
			"  sampler:  --augment 0|1 --curriculum-steps n --curriculum-start f --ignore-givens f\n"
			"  eval:     --eval-segments n --eval-adaptive 0|1 --final-segments 1,2,4 (extra final evaluations)\n"
			"  output:   --csv FILE --tag NAME --save FILE.safetensors --description TEXT\n"
			"            --save-evals PREFIX (the weights of every evaluation: PREFIX.STEP.safetensors)\n"
			"            --save-max-steps N (the saved model runs N segments; its metrics measured so)\n"
			"  resume:   --state FILE (resumed from when present) --state-every SEC\n"
			"  clock:    --clock wall|cpu (budget and eval interval; default wall)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	hrm_run_opts ro;
	bench_opts bo;
	hrm_error	err;
	hrm_dataset train_ds,
				eval_ds;
	hrm_trainer *tr = NULL;
	hrm_sampler *smp = NULL;
	hrm_rng		gen;
	FILE	   *csv = NULL;
	double		t_train = 0.0,
				c_train = 0.0,
				next_eval,
				t_gen;
	int64_t		next_eval_step;
	double		loss_acc = 0.0,
				tok_acc = 0.0;
	int			loss_n = 0;
	double		best_exact = 0.0;
	double		next_state = 0.0;
	bool		resumed = false;
	char		final_metrics[256] = "{}";

	memset(&bo, 0, sizeof(bo));
	bo.task = HRM_TASK_SUDOKU;
	bo.maze_size = HRM_MAZE_MAX;
	bo.arc_tasks = 100;
	bo.arc_pairs = 3;
	bo.arc_test_pairs = 1;
	bo.arc_max_side = 10;
	bo.arc_versions = 1;
	bo.minutes = 20.0;
	bo.eval_every = 60.0;
	bo.train_puzzles = 100000;
	bo.eval_puzzles = 1000;
	bo.blanks = 20;
	bo.blanks_max = 20;
	bo.data_seed = 1;
	bo.threads = 2;
	bo.tag = "run";

	/* the architecture first: its recipe defaults go under every other knob, wherever they appear */
	{
		int			arch = -1;	/* --arch: 0 hrm, 1 trm; -1 the task recipe's */
		bool		trm,
					mlp_t = false;

		for (int i = 1; i + 1 < argc; i++)
		{
			if (strcmp(argv[i], "--arch") == 0)
			{
				if (strcmp(argv[i + 1], "trm") != 0 && strcmp(argv[i + 1], "hrm") != 0)
					usage();
				arch = strcmp(argv[i + 1], "trm") == 0;
			}
			else if (strcmp(argv[i], "--mlp-t") == 0)
				mlp_t = atoi(argv[i + 1]) != 0;
			else if (strcmp(argv[i], "--task") == 0)
			{
				if (strcmp(argv[i + 1], "sudoku") != 0 && strcmp(argv[i + 1], "maze") != 0 &&
					strcmp(argv[i + 1], "arc") != 0)
					usage();
				bo.task = strcmp(argv[i + 1], "maze") == 0 ? HRM_TASK_MAZE :
					strcmp(argv[i + 1], "arc") == 0 ? HRM_TASK_ARC : HRM_TASK_SUDOKU;
			}
		}
		hrm_run_opts_defaults(&ro, bo.task, 0, 0);
		trm = arch < 0 ? ro.model.arch == HRM_ARCH_TRM : arch == 1;
		if (mlp_t && !trm)
		{
			fprintf(stderr, "train_recipe: --mlp-t applies to --arch trm\n");
			exit(2);
		}
		if (trm)
			hrm_run_opts_trm(&ro, mlp_t);
		else if (ro.model.arch != HRM_ARCH_HRM)
			hrm_run_opts_hrm(&ro);	/* --arch hrm where a task's recipe chose TRM */
	}

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define ARG(name) (strcmp(a, name) == 0 && v != NULL && (++i, 1))
		if (ARG("--minutes"))
			bo.minutes = atof(v);
		else if (ARG("--steps"))
			bo.steps = atoll(v);
		else if (ARG("--eval-every"))
			bo.eval_every = atof(v);
		else if (ARG("--eval-every-steps"))
			bo.eval_every_steps = atoll(v);
		else if (ARG("--task"))
			;					/* read above */
		else if (ARG("--maze-size"))
			bo.maze_size = atoi(v);
		else if (ARG("--maze-min-path"))
			bo.maze_min_path = atoi(v);
		else if (ARG("--arc-tasks"))
			bo.arc_tasks = atoi(v);
		else if (ARG("--arc-pairs"))
			bo.arc_pairs = atoi(v);
		else if (ARG("--arc-test-pairs"))
			bo.arc_test_pairs = atoi(v);
		else if (ARG("--arc-max-side"))
			bo.arc_max_side = atoi(v);
		else if (ARG("--arc-versions"))
			bo.arc_versions = atoi(v) > 0 ? atoi(v) : 1;
		else if (ARG("--arc-families"))
		{
			char		buf[512];

			snprintf(buf, sizeof(buf), "%s", v);
			bo.arc_n_families = 0;
			for (char *tok = strtok(buf, ","); tok != NULL && bo.arc_n_families < HRM_ARC_FAMILIES;
				 tok = strtok(NULL, ","))
			{
				int			f = hrm_arc_family_from_name(tok);

				if (f < 0)
				{
					fprintf(stderr, "train_recipe: unknown ARC family %s\n", tok);
					return 1;
				}
				bo.arc_families[bo.arc_n_families++] = f;
			}
		}
		else if (ARG("--puzzle-emb-lr"))
			ro.train.puzzle_emb_lr = atof(v);
		else if (ARG("--blanks"))
		{
			/* N or MIN-MAX */
			bo.blanks = atoi(v);
			bo.blanks_max = strchr(v, '-') ? atoi(strchr(v, '-') + 1) : bo.blanks;
		}
		else if (ARG("--eval-blanks"))
		{
			bo.eval_blanks = atoi(v);
			bo.eval_blanks_max = strchr(v, '-') ? atoi(strchr(v, '-') + 1) : bo.eval_blanks;
		}
		else if (ARG("--attn-mask"))
			ro.model.attn_mask = strcmp(v, "sudoku") == 0 ? HRM_MASK_SUDOKU : HRM_MASK_FULL;
		else if (ARG("--train-puzzles"))
			bo.train_puzzles = atoi(v);
		else if (ARG("--eval-puzzles"))
			bo.eval_puzzles = atoi(v);
		else if (ARG("--data-seed"))
			bo.data_seed = strtoull(v, NULL, 10);
		else if (ARG("--threads"))
			bo.threads = atoi(v);
		else if (ARG("--eval-segments"))
			bo.eval_segments = atoi(v);
		else if (ARG("--eval-adaptive"))
			bo.eval_adaptive = atoi(v) != 0;
		else if (ARG("--csv"))
			bo.csv = v;
		else if (ARG("--tag"))
			bo.tag = v;
		else if (ARG("--save-evals"))
			bo.save_evals = v;
		else if (ARG("--save"))
			bo.save = v;
		else if (ARG("--state"))
			bo.state = v;
		else if (ARG("--state-every"))
			bo.state_every = atof(v);
		else if (ARG("--description"))
			bo.description = v;
		else if (ARG("--save-max-steps"))
			bo.save_max_steps = atoi(v);
		else if (ARG("--final-segments"))
			bo.final_segments = v;
		else if (ARG("--clock"))
			bo.cpu_clock = strcmp(v, "cpu") == 0;
		else if (ARG("--arch") || ARG("--mlp-t"))
			;					/* applied above */
		else if (ARG("--no-act-continue"))
			ro.model.no_ACT_continue = atoi(v) != 0;
		else if (ARG("--puzzle-emb-ndim"))
			ro.model.puzzle_emb_ndim = atoi(v);
		else if (ARG("--puzzle-emb-len"))
			ro.model.puzzle_emb_len = atoi(v);
		else if (ARG("--hidden"))
			ro.model.hidden_size = atoi(v);
		else if (ARG("--heads"))
			ro.model.num_heads = atoi(v);
		else if (ARG("--H-layers"))
			ro.model.H_layers = atoi(v);
		else if (ARG("--L-layers"))
			ro.model.L_layers = atoi(v);
		else if (ARG("--H-cycles"))
			ro.model.H_cycles = atoi(v);
		else if (ARG("--L-cycles"))
			ro.model.L_cycles = atoi(v);
		else if (ARG("--expansion"))
			ro.model.expansion = atof(v);
		else if (ARG("--halt-max-steps"))
		{
			ro.model.halt_max_steps = atoi(v);
			bo.halt_given = true;
		}
		else if (ARG("--init"))
			bo.init = v;
		else if (ARG("--explore"))
			ro.model.halt_exploration_prob = atof(v);
		else if (ARG("--pos"))
			ro.model.pos_encodings = strcmp(v, "learned") == 0 ? HRM_POS_LEARNED :
				strcmp(v, "none") == 0 ? HRM_POS_NONE : HRM_POS_ROPE;
		else if (ARG("--lr"))
			ro.train.lr = atof(v);
		else if (ARG("--warmup"))
			ro.train.lr_warmup_steps = atoll(v);
		else if (ARG("--lr-min-ratio"))
			ro.train.lr_min_ratio = atof(v);
		else if (ARG("--total-steps"))
		{
			if (strcmp(v, "auto") == 0)
				bo.auto_total = true;
			else
				ro.train.total_steps = atoll(v);
		}
		else if (ARG("--ema"))
			ro.train.ema = atof(v);
		else if (ARG("--wd"))
			ro.train.weight_decay = atof(v);
		else if (ARG("--beta2"))
			ro.train.beta2 = atof(v);
		else if (ARG("--batch"))
			ro.train.batch_size = atoi(v);
		else if (ARG("--loss"))
			ro.train.loss_type = strcmp(v, "softmax") == 0 ? HRM_LOSS_SOFTMAX : HRM_LOSS_STABLEMAX;
		else if (ARG("--seed"))
			ro.train.seed = strtoull(v, NULL, 10);
		else if (ARG("--augment"))
			ro.sampler.augment = atoi(v) != 0;
		else if (ARG("--curriculum-steps"))
			ro.sampler.curriculum_steps = atoll(v);
		else if (ARG("--curriculum-start"))
			ro.sampler.curriculum_start = atof(v);
		else if (ARG("--grid-pos"))
			ro.grid_pos = atoi(v) != 0;
		else if (ARG("--ignore-givens"))
			ro.sampler.ignore_givens = atof(v);
		else
			usage();
#undef ARG
	}
	if (bo.init != NULL)
		init_config(&bo, &ro.model);
	/* ARC: id 0 is no task; task t's version k is 1 + t * versions + k */
	if (bo.task == HRM_TASK_ARC)
		ro.model.num_puzzle_identifiers = 1 + bo.arc_tasks * bo.arc_versions;
	ro.sampler.batch_size = ro.train.batch_size;
	ro.sampler.seed = ro.train.seed;
	if (bo.steps > 0 && !bo.auto_total && ro.train.lr_min_ratio < 1.0 && ro.train.total_steps == 100000)
		ro.train.total_steps = bo.steps;
	if (hrm_config_validate(&ro.model, &err) != HRM_OK)
		die("model configuration", &err);
	hrm_set_threads(bo.threads);

	/* ---- data: generated puzzles, train and held-out from different streams ---- */
	t_gen = now();
	{
		const hrm_task_ops *tk = hrm_task_get(bo.task);

		if (hrm_dataset_init(&train_ds, tk->seq_len, tk->vocab_size, 0, &err) != HRM_OK ||
			hrm_dataset_init(&eval_ds, tk->seq_len, tk->vocab_size, 0, &err) != HRM_OK)
			die("dataset", &err);
	}
	hrm_rng_seed(&gen, bo.data_seed);
	if (bo.task == HRM_TASK_ARC)
		arc_data(&bo, &train_ds, &eval_ds);
	for (int set = 0; set < 2 && bo.task != HRM_TASK_ARC; set++)
	{
		hrm_dataset *ds = set == 0 ? &train_ds : &eval_ds;
		int			n = set == 0 ? bo.train_puzzles : bo.eval_puzzles;
		hrm_rng		r = hrm_rng_split(&gen);

		if (hrm_dataset_reserve(ds, n, &err) != HRM_OK)
			die("reserve", &err);
		int			lo = set == 0 || bo.eval_blanks == 0 ? bo.blanks : bo.eval_blanks;
		int			hi = set == 0 || bo.eval_blanks == 0 ? bo.blanks_max : bo.eval_blanks_max;

		for (int i = 0; i < n; i++)
		{
			static int32_t in[HRM_MAZE_SEQ],
						lb[HRM_MAZE_SEQ];

			if (bo.task == HRM_TASK_MAZE)
			{
				static hrm_maze maze,
							sol;
				int			len;

				if (hrm_maze_generate(&r, bo.maze_size, bo.maze_min_path, 1000000, &maze, &sol, &len, NULL,
									  &err) != HRM_OK)
					die("generate maze", &err);
				hrm_maze_to_tokens(&maze, in);
				hrm_maze_to_tokens(&sol, lb);
			}
			else
			{
				int			nb = hi > lo ? lo + (int) (hrm_rng_next(&r) % (uint64_t) (hi - lo + 1)) : lo;
				uint8_t		puz[HRM_SUDOKU_CELLS],
							sol[HRM_SUDOKU_CELLS];

				if (hrm_sudoku_generate(&r, nb, 100, puz, sol, NULL, &err) != HRM_OK)
					die("generate", &err);
				hrm_sudoku_to_tokens(puz, in);
				hrm_sudoku_to_tokens(sol, lb);
			}
			if (hrm_dataset_append(ds, in, lb, 0, &err) != HRM_OK)
				die("append", &err);
		}
	}
	t_gen = now() - t_gen;

	/* ---- model, trainer, sampler (or the saved state of an earlier run) ---- */
	if (bo.state != NULL && access(bo.state, R_OK) == 0)
	{
		size_t		len = 0;
		uint8_t    *buf = read_file(bo.state, &len);
		int64_t    *rows = malloc(sizeof(int64_t) * (size_t) train_ds.n);

		for (int64_t i = 0; i < train_ds.n; i++)
			rows[i] = i;
		if (hrm_run_load(&tr, &smp, &train_ds, rows, train_ds.n, buf, len, &err) != HRM_OK)
			die("resume", &err);
		free(rows);
		free(buf);
		printf("# resumed from %s at step %lld\n", bo.state, (long long) hrm_trainer_step(tr));
		resumed = true;
	}
	else
	{
		hrm_layout	lay;
		float	   *init;

		if (hrm_layout_init(&lay, &ro.model, &err) != HRM_OK)
			die("layout", &err);
		init = hrm_alloc(lay.n_params, sizeof(float));
		if (init == NULL)
			die("alloc", NULL);
		if (bo.init != NULL)
			init_params(bo.init, &lay, init);
		else if (hrm_run_init_params(&lay, bo.task, ro.grid_pos, ro.train.seed, init, &err) != HRM_OK)
			die("init", &err);
		if (hrm_trainer_create(&tr, &ro.model, init, &ro.train, &err) != HRM_OK)
			die("trainer", &err);
		hrm_free(init);
		hrm_layout_free(&lay);
	}
	if (smp == NULL && hrm_sampler_create(&smp, &train_ds, NULL, train_ds.n, &ro.sampler, &err) != HRM_OK)
		die("sampler", &err);

	{
		const hrm_config *c = &ro.model;

		if (bo.task == HRM_TASK_MAZE)
			printf("# task=maze maze_size=%d maze_min_path=%d\n", bo.maze_size, bo.maze_min_path);
		if (bo.task == HRM_TASK_ARC)
		{
			printf("# task=arc tasks=%d pairs=%d test_pairs=%d max_side=%d versions=%d train_rows=%lld eval_rows=%lld "
				   "puzzle_emb_ndim=%d puzzle_emb_lr=%g families=", bo.arc_tasks, bo.arc_pairs, bo.arc_test_pairs,
				   bo.arc_max_side, bo.arc_versions, (long long) train_ds.n, (long long) eval_ds.n,
				   ro.model.puzzle_emb_ndim, ro.train.puzzle_emb_lr);
			for (int f = 0; f < (bo.arc_n_families ? bo.arc_n_families : HRM_ARC_FAMILIES); f++)
				printf("%s%s", f ? "," : "", hrm_arc_family_name(bo.arc_n_families ? bo.arc_families[f] : f));
			printf("\n");
		}
		printf("# attn_mask=%s blanks=%d-%d eval_blanks=%d-%d\n", hrm_attn_mask_name(c->attn_mask), bo.blanks,
			   bo.blanks_max, bo.eval_blanks ? bo.eval_blanks : bo.blanks,
			   bo.eval_blanks ? bo.eval_blanks_max : bo.blanks_max);
		printf("# tag=%s blanks=%d train_puzzles=%d eval_puzzles=%d gen_seconds=%.1f threads=%d\n",
			   bo.tag, bo.blanks, bo.train_puzzles, bo.eval_puzzles, t_gen, bo.threads);
		printf("# model arch=%s mlp_t=%d no_ACT_continue=%d puzzle_slots=%d\n", hrm_arch_name(c->arch),
			   c->mlp_t, c->no_ACT_continue, c->P);
		printf("# model hidden=%d heads=%d H_layers=%d L_layers=%d H_cycles=%d L_cycles=%d expansion=%g "
			   "halt_max_steps=%d explore=%g pos=%s params=%zu\n",
			   c->hidden_size, c->num_heads, c->H_layers, c->L_layers, c->H_cycles, c->L_cycles,
			   c->expansion, c->halt_max_steps, c->halt_exploration_prob, hrm_pos_enc_name(c->pos_encodings),
			   hrm_trainer_layout(tr)->dense_end - hrm_trainer_layout(tr)->dense_begin);
		printf("# ema=%g\n", ro.train.ema);
		printf("# optim lr=%g warmup=%lld lr_min_ratio=%g total_steps=%s%lld wd=%g beta2=%g batch=%d loss=%s seed=%llu\n",
			   ro.train.lr, (long long) ro.train.lr_warmup_steps, ro.train.lr_min_ratio,
			   bo.auto_total ? "auto/" : "", (long long) ro.train.total_steps, ro.train.weight_decay,
			   ro.train.beta2, ro.train.batch_size,
			   ro.train.loss_type == HRM_LOSS_SOFTMAX ? "softmax" : "stablemax",
			   (unsigned long long) ro.train.seed);
		printf("# grid_pos=%d sampler augment=%d curriculum_steps=%lld curriculum_start=%g ignore_givens=%g "
			   "eval_segments=%d eval_adaptive=%d\n",
			   ro.grid_pos, ro.sampler.augment, (long long) ro.sampler.curriculum_steps, ro.sampler.curriculum_start,
			   ro.sampler.ignore_givens, bo.eval_segments, bo.eval_adaptive);
		printf("# columns: curve minutes steps train_loss train_token_acc eval_exact eval_token steps_per_s "
			   "lr curriculum epochs eval_seconds cpu_minutes (clock %s)\n", bo.cpu_clock ? "cpu" : "wall");
		fflush(stdout);
	}
	/*
	 * A resumed run continues its curve: the CSV is appended to, and the
	 * training clocks start from its last row (the budget counts the whole run).
	 */
	if (bo.csv && resumed && (csv = fopen(bo.csv, "r")) != NULL)
	{
		char		line[1024],
					last[1024] = "";

		while (fgets(line, sizeof(line), csv))
			if (line[0] != 't')
				memcpy(last, line, sizeof(line));
		fclose(csv);
		csv = NULL;
		if (last[0] != '\0')
		{
			const char *f = last;

			/* columns 1 (minutes) and 11 (cpu_minutes), 0-based */
			for (int col = 0; f != NULL; col++, f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL)
			{
				if (col == 1)
					t_train = atof(f) * 60.0;
				else if (col == 11)
					c_train = atof(f) * 60.0;
			}
			printf("# curve continues at %.2f minutes (%.2f CPU minutes)\n", t_train / 60.0, c_train / 60.0);
			csv = fopen(bo.csv, "a");
		}
	}
	if (bo.csv && csv == NULL)
	{
		csv = fopen(bo.csv, "w");
		if (csv == NULL)
		{
			perror(bo.csv);
			return 1;
		}
		fprintf(csv, "tag,minutes,steps,train_loss,train_token_acc,eval_exact,eval_token,steps_per_s,lr,curriculum,epochs,cpu_minutes\n");
	}

	next_state = bo.state_every;
	next_eval = bo.eval_every;
	next_eval_step = bo.eval_every_steps;
	{
		double		clk0 = bo.cpu_clock ? c_train : t_train;

		while (next_eval <= clk0)
			next_eval += bo.eval_every;
		while (bo.state_every > 0 && next_state <= clk0)
			next_state += bo.state_every;
		while (bo.eval_every_steps > 0 && next_eval_step <= hrm_trainer_step(tr))
			next_eval_step += bo.eval_every_steps;
	}
	/* a run resumed at its last step (--steps reached): only the final evaluations and --save */
	const bool	finished = bo.steps > 0 && hrm_trainer_step(tr) >= bo.steps;

	for (;;)
	{
		hrm_run_metrics mt;
		double		t0 = now(),
					c0 = cpu_now(),
					clk;
		int64_t		step;
		bool		stop,
					do_eval;

		memset(&mt, 0, sizeof(mt));
		if (!finished && hrm_run_step(tr, smp, &mt, &err) != HRM_OK)
			die("step", &err);
		t_train += now() - t0;
		c_train += cpu_now() - c0;
		clk = bo.cpu_clock ? c_train : t_train;
		if (bo.state != NULL && bo.state_every > 0 && clk >= next_state)
		{
			save_state(bo.state, tr, smp);
			while (next_state <= clk)
				next_state += bo.state_every;
		}
		step = hrm_trainer_step(tr);
		loss_acc += mt.loss;
		tok_acc += mt.token_accuracy_all;
		loss_n++;

		if (bo.auto_total && step == 30)
		{
			/* cosine over the whole budget: estimate the steps the budget allows */
			hrm_train_opts o = *hrm_trainer_opts(tr);

			o.total_steps = (int64_t) (bo.minutes * 60.0 / (clk / step));
			hrm_trainer_set_opts(tr, &o);
			printf("# total_steps set to %lld (%.2f steps/s)\n", (long long) o.total_steps, step / clk);
		}
		stop = (bo.minutes > 0 && clk >= bo.minutes * 60.0) || (bo.steps > 0 && step >= bo.steps);
		do_eval = stop || (bo.eval_every_steps > 0 ? step >= next_eval_step : clk >= next_eval);
		if (do_eval)
		{
			hrm_model	m;
			hrm_eval_opts eo;
			hrm_eval_result res;

			if (hrm_model_init(&m, hrm_trainer_layout(tr), hrm_trainer_eval_params(tr), &err) != HRM_OK)
				die("model", &err);
			if (hrm_model_pack(&m, false, &err) != HRM_OK)
				die("pack", &err);
			hrm_eval_opts_defaults(&eo);
			eo.segments = bo.eval_segments;
			eo.adaptive = bo.eval_adaptive;
			if (hrm_evaluate(&m, &eval_ds, NULL, eval_ds.n, &eo, &res, &err) != HRM_OK)
				die("evaluate", &err);
			hrm_model_free(&m);
			if (bo.save_evals != NULL)
			{
				char		path[4096];

				snprintf(path, sizeof(path), "%s.%06lld.safetensors", bo.save_evals, (long long) step);
				save_model(path, tr, &bo, "{}");
			}
			if (res.exact_accuracy > best_exact)
				best_exact = res.exact_accuracy;
			if (!finished)
				printf("curve %6.2f %7lld %.4f %.4f %.4f %.4f %.2f %.2e %.3f %.2f %.1f %6.2f\n",
				   t_train / 60.0, (long long) step, loss_acc / loss_n, tok_acc / loss_n,
				   res.exact_accuracy, res.token_accuracy, step / t_train, mt.lr, mt.curriculum,
				   mt.epochs, res.seconds, c_train / 60.0);
			fflush(stdout);
			if (csv && !finished)
			{
				fprintf(csv, "%s,%.3f,%lld,%.5f,%.5f,%.5f,%.5f,%.3f,%.3e,%.3f,%.3f,%.3f\n", bo.tag,
						t_train / 60.0, (long long) step, loss_acc / loss_n, tok_acc / loss_n,
						res.exact_accuracy, res.token_accuracy, step / t_train, mt.lr, mt.curriculum,
						mt.epochs, c_train / 60.0);
				fflush(csv);
			}
			loss_acc = tok_acc = 0.0;
			loss_n = 0;
			while (next_eval <= clk)
				next_eval += bo.eval_every;
			while (bo.eval_every_steps > 0 && next_eval_step <= step)
				next_eval_step += bo.eval_every_steps;
			if (stop)
			{
				snprintf(final_metrics, sizeof(final_metrics),
						 "{\"step\": %lld, \"eval_rows\": %lld, \"exact_accuracy\": %.4f, \"token_accuracy\": %.4f}",
						 (long long) step, (long long) res.rows, res.exact_accuracy, res.token_accuracy);
				printf("final tag=%s minutes=%.2f cpu_minutes=%.2f steps=%lld exact=%.4f token=%.4f "
					   "best_exact=%.4f steps_per_s=%.2f\n", bo.tag, t_train / 60.0, c_train / 60.0,
					   (long long) step, res.exact_accuracy, res.token_accuracy, best_exact, step / t_train);
				/* the saved model serves save_max_steps segments: its metrics are measured so */
				if (bo.save_max_steps > 0 &&
					hrm_model_init(&m, hrm_trainer_layout(tr), hrm_trainer_eval_params(tr), &err) == HRM_OK &&
					hrm_model_pack(&m, false, &err) == HRM_OK)
				{
					hrm_eval_result sres;

					eo.segments = bo.save_max_steps;
					eo.adaptive = 0;
					if (hrm_evaluate(&m, &eval_ds, NULL, eval_ds.n, &eo, &sres, &err) != HRM_OK)
						die("evaluate", &err);
					snprintf(final_metrics, sizeof(final_metrics),
							 "{\"step\": %lld, \"eval_rows\": %lld, \"segments\": %d, \"exact_accuracy\": %.4f, \"token_accuracy\": %.4f}",
							 (long long) step, (long long) sres.rows, bo.save_max_steps, sres.exact_accuracy,
							 sres.token_accuracy);
					hrm_model_free(&m);
				}
				for (const char *p = bo.final_segments; p != NULL && *p;)
				{
					int			segs = atoi(p);

					if (segs > 0 && hrm_model_init(&m, hrm_trainer_layout(tr), hrm_trainer_eval_params(tr), &err) == HRM_OK &&
						hrm_model_pack(&m, false, &err) == HRM_OK)
					{
						for (int adaptive = 0; adaptive <= (ro.model.halt_max_steps > 1 ? 1 : 0); adaptive++)
						{
							eo.segments = segs;
							eo.adaptive = adaptive;
							if (hrm_evaluate(&m, &eval_ds, NULL, eval_ds.n, &eo, &res, &err) != HRM_OK)
								die("evaluate", &err);
							printf("segments %d adaptive=%d exact=%.4f token=%.4f mean_segments=%.2f\n",
								   segs, adaptive, res.exact_accuracy, res.token_accuracy, res.mean_segments);
						}
						hrm_model_free(&m);
					}
					p = strchr(p, ',');
					if (p)
						p++;
				}
				break;
			}
		}
	}
	if (bo.save)
		save_model(bo.save, tr, &bo, final_metrics);
	if (bo.state != NULL)
		save_state(bo.state, tr, smp);
	if (csv)
		fclose(csv);
	hrm_sampler_free(smp);
	hrm_trainer_free(tr);
	hrm_dataset_free(&train_ds);
	hrm_dataset_free(&eval_ds);
	return 0;
}
