/*
 * run.h — training from a dataset held in memory: compact token storage
 * with memory accounting and a held-out split, a resumable sampler
 * (shuffled epochs, on-the-fly task augmentation, a curriculum), the
 * training step on a sampled batch, and evaluation.
 *
 * A driver (bench/train_recipe.c, the PostgreSQL background worker)
 * builds an hrm_dataset, splits it, creates a trainer (train.h) and a
 * sampler over the training rows, then calls hrm_run_step until its
 * budget is spent, saving hrm_run_save() checkpoints on the way.  A run
 * resumed from a checkpoint (hrm_run_load) draws exactly the batches the
 * uninterrupted run would have drawn, so it ends with bit-identical
 * weights (at equal BLAS thread count).
 *
 * Everything random draws from hrm_rng streams derived from the seeds, and
 * the sampler's whole state is a few dozen bytes: epoch orders are
 * regenerated from (seed, epoch), not stored.
 */
#ifndef HRM_RUN_H
#define HRM_RUN_H

#include "task.h"
#include "train.h"

/* ------------------------------------------------------------------------- */
/* dataset */

/*
 * N examples of seq_len tokens: inputs and labels stored as int8 when
 * vocab_size <= 127, int16 when <= 32767, else int32 (labels may be
 * HRM_IGNORE_LABEL = -100), puzzle ids int32.  Rows are appended one at a
 * time and validated (tokens in [0, vocab), labels in [0, vocab) or -100,
 * puzzle id >= 0).
 */
typedef struct hrm_dataset
{
	int			seq_len;
	int			vocab_size;
	int			elem_size;		/* bytes per token: 1, 2 or 4 */
	int64_t		n;				/* rows held */
	int64_t		cap;			/* rows allocated */
	size_t		max_bytes;		/* 0 = no cap; else appends beyond it fail with HRM_ERR_LIMIT */
	void	   *inputs;			/* [cap, seq_len] of elem_size */
	void	   *labels;			/* [cap, seq_len] */
	int32_t    *puzzle_ids;		/* [cap] */
	int32_t		max_puzzle_id;	/* largest id appended (-1 when empty) */
} hrm_dataset;

hrm_status	hrm_dataset_init(hrm_dataset *ds, int seq_len, int vocab_size, size_t max_bytes,
							 hrm_error *err);
void		hrm_dataset_free(hrm_dataset *ds);

/* Bytes one row takes (inputs + labels + puzzle id). */
size_t		hrm_dataset_row_bytes(const hrm_dataset *ds);
/* Bytes allocated now (the figure the cap applies to). */
size_t		hrm_dataset_bytes(const hrm_dataset *ds);

/* Make room for n rows in total (HRM_ERR_LIMIT over the cap). */
hrm_status	hrm_dataset_reserve(hrm_dataset *ds, int64_t n, hrm_error *err);

/*
 * Append one example (input and label seq_len tokens each; label NULL =
 * every position ignored).  Grows geometrically, never past the cap.
 */
hrm_status	hrm_dataset_append(hrm_dataset *ds, const int32_t *input, const int32_t *label,
							   int32_t puzzle_id, hrm_error *err);

/* Row i as int32 (any output may be NULL). */
void		hrm_dataset_get(const hrm_dataset *ds, int64_t i, int32_t *input, int32_t *label,
							int32_t *puzzle_id);

/* A deterministic held-out split: row indices, each list ascending. */
typedef struct hrm_split
{
	int64_t    *train;
	int64_t		n_train;
	int64_t    *eval;
	int64_t		n_eval;
} hrm_split;

/*
 * round(n * eval_fraction) rows (at least 1 when the fraction is > 0 and
 * at least 1 row stays for training) chosen by a shuffle seeded with seed;
 * eval_fraction in [0, 1).  The same data, fraction and seed give the same
 * split.
 */
hrm_status	hrm_dataset_split(const hrm_dataset *ds, double eval_fraction, uint64_t seed,
							  hrm_split *split, hrm_error *err);
void		hrm_split_free(hrm_split *split);

/* ------------------------------------------------------------------------- */
/* sampler */

typedef struct hrm_sampler_opts
{
	hrm_task	task;
	int			batch_size;		/* rows per batch (the trainer's batch_size) */
	uint64_t	seed;			/* epoch orders and augmentation draws */
	bool		augment;		/* the task's augmentation on every drawn row (default true) */

	/*
	 * Sudoku curriculum: blank cells of the input are filled in from the
	 * label so a row keeps frac of its own blanks, frac rising linearly
	 * from curriculum_start at batch 0 to 1 at batch curriculum_steps (0 =
	 * off; the default).  Which cells are revealed is random per row.
	 */
	int64_t		curriculum_steps;
	double		curriculum_start;	/* in [0, 1]; default 0.3 */

	/*
	 * Sudoku: the loss ignores given cells (label -100 where the input is
	 * not blank) in this fraction of the rows (0 = every cell is
	 * supervised, the reference; 1 = only blanks).  Default 0.
	 */
	double		ignore_givens;
} hrm_sampler_opts;

void		hrm_sampler_opts_defaults(hrm_sampler_opts *o);

typedef struct hrm_sampler hrm_sampler;

/*
 * A sampler over rows[0..n_rows) of ds (rows NULL = every row in order).
 * The sampler keeps pointers to ds (which must outlive it and not change)
 * and copies rows.  Checks the dataset fits the task.
 */
hrm_status	hrm_sampler_create(hrm_sampler **out, const hrm_dataset *ds, const int64_t *rows,
							   int64_t n_rows, const hrm_sampler_opts *opts, hrm_error *err);
void		hrm_sampler_free(hrm_sampler *s);

const hrm_sampler_opts *hrm_sampler_options(const hrm_sampler *s);

/*
 * Draw the next batch into inputs / labels [B, seq_len] and puzzle_ids [B]:
 * the next rows of the current epoch's order (a new shuffled order when an
 * epoch ends, batches may straddle epochs), augmented, curriculum and
 * label masking applied.
 */
hrm_status	hrm_sampler_next(hrm_sampler *s, int32_t *inputs, int32_t *labels, int32_t *puzzle_ids,
							 hrm_error *err);

/* Where the sampler is. */
typedef struct hrm_sampler_pos
{
	int64_t		batches;		/* batches drawn */
	int64_t		epoch;			/* current epoch, from 0 */
	int64_t		row;			/* next position in the epoch's order */
	double		epochs;			/* fractional epochs drawn */
	double		curriculum;		/* fraction of their own blanks rows keep now (1 without curriculum) */
} hrm_sampler_pos;

void		hrm_sampler_position(const hrm_sampler *s, hrm_sampler_pos *pos);

/*
 * The sampler's whole state (options, position, RNG, a fingerprint of its
 * rows) as a small blob (malloc'd); hrm_sampler_restore puts it into a
 * sampler over the same rows, after which it draws exactly what the saved
 * one would have.  A blob of other rows (the data changed) is
 * HRM_ERR_INVALID; a damaged blob HRM_ERR_FORMAT.
 */
hrm_status	hrm_sampler_save(const hrm_sampler *s, uint8_t **out, size_t *out_len, hrm_error *err);
hrm_status	hrm_sampler_restore(hrm_sampler *s, const uint8_t *buf, size_t len, hrm_error *err);

/* ------------------------------------------------------------------------- */
/* training */

/* One step's metrics, normalised. */
typedef struct hrm_run_metrics
{
	hrm_train_metrics raw;		/* the trainer's sums */
	int64_t		step;			/* trainer step after this one */
	double		loss;			/* (lm + 0.5 (q_halt + q_continue)) / B */
	double		lm_loss;		/* mean per-row token loss */
	double		accuracy;		/* mean token accuracy of the rows that halted */
	double		exact_accuracy; /* fraction of halted rows entirely right */
	double		halted;			/* rows that halted */
	double		mean_steps;		/* mean segments of the halted rows */
	double		token_accuracy_all; /* over every row of the step */
	double		exact_all;
	double		lr;
	double		epochs;			/* sampler epochs drawn */
	double		curriculum;
} hrm_run_metrics;

/* Draw a batch from the sampler and run hrm_train_step on it. */
hrm_status	hrm_run_step(hrm_trainer *t, hrm_sampler *s, hrm_run_metrics *mt, hrm_error *err);

/*
 * A checkpoint: the trainer state with the sampler blob as its extra
 * (hrm_trainer_save); hrm_run_load rebuilds both (the sampler over the
 * given rows of ds, which must be the rows it was saved with).
 */
hrm_status	hrm_run_save(const hrm_trainer *t, const hrm_sampler *s, uint8_t **out, size_t *out_len,
						 hrm_error *err);
hrm_status	hrm_run_load(hrm_trainer **t, hrm_sampler **s, const hrm_dataset *ds, const int64_t *rows,
						 int64_t n_rows, const uint8_t *buf, size_t len, hrm_error *err);

/* ------------------------------------------------------------------------- */
/* evaluation */

/* Called between chunks; return non-zero to stop (HRM_ERR_CANCELLED). */
typedef int (*hrm_progress_cb) (void *arg, int64_t done, int64_t total);

typedef struct hrm_eval_opts
{
	int			segments;		/* <= 0: cfg.halt_max_steps */
	bool		adaptive;		/* stop a row when it halts (q_halt > q_continue) */
	int			batch_rows;		/* rows per hrm_infer call; default 256 */
	int64_t		max_rows;		/* 0 = all the rows given */

	/*
	 * Test-time scaling (views.h): each row solved under views - 1 of the
	 * task's symmetries as well, the answers decoded over the task's
	 * alphabet and voted on (views 1, the default: the reference's single
	 * pass, argmax over the whole vocabulary).  batch_rows then counts
	 * puzzles x views.
	 */
	hrm_task	task;			/* default generic (no symmetries) */
	int			views;			/* default 1 */
	uint64_t	seed;			/* of the views (default HRM_VIEWS_SEED) */

	/*
	 * An ensemble (views.h, hrm_ensemble_solve): further models of the
	 * model's layout that solve every row too and vote with it (decoding
	 * over the task's answer alphabet); NULL / 0 by default.
	 */
	const hrm_model *const *ensemble;
	int			ensemble_n;
	hrm_progress_cb progress;
	void	   *progress_arg;
} hrm_eval_opts;

void		hrm_eval_opts_defaults(hrm_eval_opts *o);

typedef struct hrm_eval_result
{
	int64_t		rows;
	double		exact_accuracy; /* rows whose every supervised token is right */
	double		token_accuracy; /* over supervised tokens (label != -100) */
	double		mean_segments;
	double		rows_per_second;
	double		seconds;
	int64_t		tokens;			/* supervised tokens */
} hrm_eval_result;

/*
 * Run inference (hrm_infer) on rows[0..n_rows) of ds (rows NULL = all),
 * chunk by chunk, and compare the argmax predictions with the labels.  A
 * row without supervised tokens counts as exact.
 */
hrm_status	hrm_evaluate(const hrm_model *m, const hrm_dataset *ds, const int64_t *rows, int64_t n_rows,
						 const hrm_eval_opts *opts, hrm_eval_result *res, hrm_error *err);

/* Bytes hrm_evaluate allocates with batch_rows rows per chunk (checked against the memory limit). */
size_t		hrm_eval_bytes(const hrm_model *m, int batch_rows);
/* The same from a configuration (packed weights or not, pool threads). */
size_t		hrm_eval_plan_bytes(const hrm_config *c, int batch_rows, bool packed, int threads);

/* ------------------------------------------------------------------------- */
/* initialisation */

/*
 * Starting weights for a new model of a task (lay->n_params floats): the
 * engine's truncated LeCun initialisation (hrm_init_params) from a
 * generator seeded with seed, and, for grid tasks (Sudoku 9x9 with 3x3
 * boxes, maze and ARC 30x30) with learned positions, a grid-aware
 * position table when grid_pos is set: the embedding of cell (r, c) is
 * the sum of a row code, a column code and (Sudoku) a box code, each a
 * truncated-normal vector, scaled so the table keeps the default std
 * 1/sqrt(D).  Cells of one row, column or box then start with correlated
 * positions, which attention can use from the first step; the table is
 * trained like any other weight.  Generic tasks, RoPE or no positions:
 * the plain initialisation.
 */
hrm_status	hrm_run_init_params(const hrm_layout *lay, hrm_task task, bool grid_pos, uint64_t seed,
								float *params, hrm_error *err);

/* ------------------------------------------------------------------------- */
/* the recipe */

/*
 * Every knob of a training run, with the defaults of the measured recipe
 * (docs/training.md): the model architecture for a new model, the
 * optimizer, the sampler, the held-out split and evaluation.
 */
typedef struct hrm_run_opts
{
	hrm_config	model;			/* architecture of a new model */
	hrm_train_opts train;		/* optimizer, schedule, batch */
	hrm_sampler_opts sampler;	/* task, augmentation, curriculum, label masking */
	bool		grid_pos;		/* hrm_run_init_params: grid-aware positions for a new model */
	double		eval_fraction;	/* held out of the data (default 0.05) */
	hrm_eval_opts eval;
} hrm_run_opts;

/*
 * The recipe for a task (seq_len / vocab_size 0 take the task's shape;
 * generic tasks must give them): architecture and training options.
 */
void		hrm_run_opts_defaults(hrm_run_opts *o, hrm_task task, int seq_len, int vocab_size);

/*
 * The recipe's Tiny Recursive Model (arch "trm") on top of
 * hrm_run_opts_defaults: the same cycles and layers (one network of
 * L_layers blocks, H_layers 0), halting on q_halt > 0 without Q-continue
 * (no_ACT_continue, the reference's default); with mlp_t, token mixing in
 * place of attention, no position encoding and no attention mask.
 */
void		hrm_run_opts_trm(hrm_run_opts *o, bool mlp_t);

/*
 * The recipe's HRM (arch "hrm") on top of hrm_run_opts_defaults or
 * hrm_run_opts_trm (for a task whose recipe chose TRM): two networks of
 * L_layers blocks each (H_layers = L_layers), halting with the Q-continue
 * target.
 */
void		hrm_run_opts_hrm(hrm_run_opts *o);

#endif							/* HRM_RUN_H */
