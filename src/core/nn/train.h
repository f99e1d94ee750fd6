/*
 * train.h — HRM training: the reference's one-step-gradient training step
 * with deep supervision over a persistent carry, ACT halting learned by
 * Q-learning, stablemax / softmax cross-entropy, AdamATan2 on the dense
 * parameters and sparse SignSGD on the puzzle-embedding rows.
 */
#ifndef HRM_TRAIN_H
#define HRM_TRAIN_H

#include "forward.h"
#include "rng.h"

#define HRM_IGNORE_LABEL (-100)

typedef enum hrm_loss_type
{
	HRM_LOSS_STABLEMAX = 0,
	HRM_LOSS_SOFTMAX = 1
} hrm_loss_type;

typedef struct hrm_train_opts
{
	hrm_loss_type loss_type;
	double		lr;
	int64_t		lr_warmup_steps;
	double		lr_min_ratio;
	int64_t		total_steps;	/* for the cosine schedule */
	double		beta1;
	double		beta2;
	double		weight_decay;
	double		puzzle_emb_lr;
	double		puzzle_emb_weight_decay;
	int			batch_size;		/* rows per step (the carry's size) */
	int			chunk_rows;		/* rows per forward/backward chunk; 0 = automatic */
	uint64_t	seed;			/* initialisation and exploration */
	double		ema;			/* decay of an exponential moving average of the weights (0 = none, e.g. 0.999) */
} hrm_train_opts;

/* The reference defaults (lr 1e-4, warmup 2000, min ratio 1, betas 0.9/0.95, wd 0.1, ...). */
void		hrm_train_opts_defaults(hrm_train_opts *o);

/* Sums over the rows of one step, as the reference reports them (not averaged). */
typedef struct hrm_train_metrics
{
	double		count;			/* rows that halted this step with at least one label */
	double		accuracy;		/* sum of their token accuracies */
	double		exact_accuracy; /* how many were entirely right */
	double		q_halt_accuracy;
	double		steps;			/* sum of their segment counts */
	double		lm_loss;		/* sum over all rows of the per-row mean token loss */
	double		q_halt_loss;
	double		q_continue_loss;
	double		loss;			/* (lm + 0.5 (q_halt + q_continue)) / batch_size */
	double		lr;				/* learning rate used */
	double		token_accuracy_all;	/* mean token accuracy over every row (not only halted) */
	double		exact_all;		/* fraction of all rows entirely right */
} hrm_train_metrics;

typedef struct hrm_trainer hrm_trainer;

/*
 * A trainer for a configuration.  params (lay->n_params floats) gives the
 * starting weights; NULL initialises them from opts->seed (truncated LeCun
 * normal).  The trainer owns copies of everything.
 */
hrm_status	hrm_trainer_create(hrm_trainer **out, const hrm_config *cfg, const float *params,
							   const hrm_train_opts *opts, hrm_error *err);
void		hrm_trainer_free(hrm_trainer *t);

const hrm_layout *hrm_trainer_layout(const hrm_trainer *t);
const float *hrm_trainer_params(const hrm_trainer *t);
/* The weights to evaluate and publish: the moving average when opts.ema > 0, else the weights. */
const float *hrm_trainer_eval_params(const hrm_trainer *t);
const float *hrm_trainer_grads(const hrm_trainer *t);	/* dense grads of the last backward */
const float *hrm_trainer_puzzle_grads(const hrm_trainer *t);	/* [B, ndim] */
int64_t		hrm_trainer_step(const hrm_trainer *t);
const hrm_carry *hrm_trainer_carry(const hrm_trainer *t);
size_t		hrm_trainer_bytes(const hrm_trainer *t);

/*
 * Bytes a trainer for cfg and opts allocates (hrm_trainer_create checks
 * them against hrm_set_memory_limit first), including a sampled batch of
 * hrm_run_step; SIZE_MAX for an invalid or uncountable plan.
 */
size_t		hrm_trainer_plan_bytes(const hrm_config *cfg, const hrm_train_opts *opts);

/*
 * Forward + backward of one step on the offered batch (inputs/labels
 * [B, seq_len], labels -100 = ignored; puzzle_ids [B] or NULL = 0): rows
 * whose carry halted take the new example, the others keep theirs.  Leaves
 * the gradients in the trainer; does not change the weights.
 */
hrm_status	hrm_train_backward(hrm_trainer *t, const int32_t *inputs, const int32_t *labels,
							   const int32_t *puzzle_ids, hrm_train_metrics *mt, hrm_error *err);

/* Apply the optimizers with the gradients of the last backward (advances the step counter). */
hrm_status	hrm_train_apply(hrm_trainer *t, hrm_train_metrics *mt, hrm_error *err);

/*
 * A step cancelled through hrm_set_cancel_hook returns HRM_ERR_CANCELLED
 * with the weights and optimizer state untouched, but the carry and the
 * current examples part-way through the step: call hrm_trainer_discard_step
 * before saving or continuing the trainer.
 */

/*
 * Make a trainer consistent after a cancelled step: every carry row is
 * marked halted (the next step restarts it from H_init / L_init with a new
 * example) and no gradients are pending.  The weights, optimizer state and
 * step counter are those of the last completed step.
 */
void		hrm_trainer_discard_step(hrm_trainer *t);

/* hrm_train_backward followed by hrm_train_apply. */
hrm_status	hrm_train_step(hrm_trainer *t, const int32_t *inputs, const int32_t *labels,
						   const int32_t *puzzle_ids, hrm_train_metrics *mt, hrm_error *err);

/* Learning rate at a step (counted from 1): linear warmup, then cosine to lr_min_ratio. */
double		hrm_lr_schedule(double base, int64_t step, int64_t warmup, int64_t total, double min_ratio);

/* Truncated LeCun-normal initialisation of a whole parameter buffer (reference §1.3). */
void		hrm_init_params(const hrm_layout *lay, float *params, hrm_rng *rng);

/* One draw of the reference's truncated normal (bounds +-2 sigma, std exactly sigma). */
double		hrm_trunc_normal(hrm_rng *rng, double std);

/*
 * The whole training state (weights, optimizer moments, step, RNG, carry with
 * its current examples, options, and an opaque caller blob such as a data
 * sampler's state) as one buffer; restoring it resumes bit for bit.
 */
hrm_status	hrm_trainer_save(const hrm_trainer *t, const void *extra, size_t extra_len,
							 uint8_t **out, size_t *out_len, hrm_error *err);

/*
 * Rebuild a trainer from hrm_trainer_save output.  *extra (may be NULL)
 * receives a malloc'd copy of the caller blob.
 */
hrm_status	hrm_trainer_load(hrm_trainer **out, const uint8_t *buf, size_t len,
							 void **extra, size_t *extra_len, hrm_error *err);

/* Replace the learning-rate related options of a trainer (e.g. after a resume). */
void		hrm_trainer_set_opts(hrm_trainer *t, const hrm_train_opts *opts);
const hrm_train_opts *hrm_trainer_opts(const hrm_trainer *t);

#endif							/* HRM_TRAIN_H */
