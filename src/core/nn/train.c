/*
 * train.c — the training step.
 *
 * One step on B rows (reference hrm_act_v1.py ACT wrapper + losses.py):
 *
 *   1. rows whose carry halted: z_H, z_L <- H_init, L_init; steps <- 0; take the new example
 *   2. segment: no-grad H/L loop, then L* and H* with activations kept
 *   3. steps += 1; halted = steps >= M or q_halt > q_continue (M > 1), with
 *      exploration (prob p: min steps uniform in 2..M); Q target from an extra
 *      no-grad segment on the new carry: sigmoid(q_halt') at the last step,
 *      else sigmoid(max(q_halt', q_continue'))
 *   4. loss = sum_rows mean_tokens CE + 0.5 (BCE(q_halt, row correct) + BCE(q_continue, target))
 *      and backward of loss / B through heads, H*, L*, embeddings only
 *   5. AdamATan2 on the dense range, SignSGD on the touched puzzle rows
 *
 * TRM (reference trm.py, arch "trm"): step 2 runs H_cycles - 1 recursions
 * without gradient and the last one with full backpropagation through its
 * L_cycles + 1 calls of the one network; with no_ACT_continue (TRM's
 * default) step 3 halts on q_halt > 0 and there is no Q target segment and
 * no Q-continue loss.  The weight average (opts.ema) of a TRM model covers
 * the trained dense weights only, as the reference's EMA covers its
 * parameters: the puzzle embedding (a buffer there) is taken as it is.
 *
 * Rows are processed in chunks so the kept activations stay bounded.
 */
#include "train.h"
#include "hrm_internal.h"
#include "gemm.h"
#include "json.h"
#include "layers.h"
#include "optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct hrm_trainer
{
	hrm_layout	lay;
	hrm_train_opts opts;
	hrm_model	model;
	float	   *params;
	float	   *ema_params;		/* n_params: moving average of params (NULL unless opts.ema > 0) */
	float	   *grads;			/* n_params (dense range used) */
	float	   *adam_m;			/* n_params (dense range used) */
	float	   *adam_v;
	float	   *pgrad;			/* [B, puzzle_emb_ndim] */
	int64_t		step;
	hrm_rng		rng;
	int			B;
	hrm_carry	carry;
	int32_t    *cur_inputs;		/* [B, T] */
	int32_t    *cur_labels;		/* [B, T] */
	int32_t    *cur_pids;		/* [B] */
	int32_t    *min_steps;		/* [B] exploration */
	hrm_workspace *ws;
	train_chunk ch;
	bool		have_grads;
};

void
hrm_train_opts_defaults(hrm_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->loss_type = HRM_LOSS_STABLEMAX;
	o->lr = 1e-4;
	o->lr_warmup_steps = 2000;
	o->lr_min_ratio = 1.0;
	o->total_steps = 100000;
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->weight_decay = 0.1;
	o->puzzle_emb_lr = 1e-2;
	o->puzzle_emb_weight_decay = 0.1;
	o->batch_size = 32;
	o->chunk_rows = 0;
	o->seed = 0;
}

/* ------------------------------------------------------------------------- */
/* initialisation */

/* Inverse error function: a rational start refined by Newton steps on erf. */
static double
erfinv_d(double y)
{
	double		w,
				x;

	if (y <= -1.0)
		return -HUGE_VAL;
	if (y >= 1.0)
		return HUGE_VAL;
	w = -log((1.0 - y) * (1.0 + y));
	if (w < 5.0)
	{
		w -= 2.5;
		x = 2.81022636e-08;
		x = 3.43273939e-07 + x * w;
		x = -3.5233877e-06 + x * w;
		x = -4.39150654e-06 + x * w;
		x = 0.00021858087 + x * w;
		x = -0.00125372503 + x * w;
		x = -0.00417768164 + x * w;
		x = 0.246640727 + x * w;
		x = 1.50140941 + x * w;
	}
	else
	{
		w = sqrt(w) - 3.0;
		x = -0.000200214257;
		x = 0.000100950558 + x * w;
		x = 0.00134934322 + x * w;
		x = -0.00367342844 + x * w;
		x = 0.00573950773 + x * w;
		x = -0.0076224613 + x * w;
		x = 0.00943887047 + x * w;
		x = 1.00167406 + x * w;
		x = 2.83297682 + x * w;
	}
	x *= y;
	for (int i = 0; i < 2; i++)
	{
		double		err = erf(x) - y;

		x -= err / (1.1283791670955126 * exp(-x * x));
	}
	return x;
}

double
hrm_trunc_normal(hrm_rng *rng, double std)
{
	/* JAX-style truncated normal on [-2, 2] with the std correction */
	const double sqrt2 = 1.4142135623730951;
	const double lower = -2.0,
				upper = 2.0;
	double		a = erf(lower / sqrt2),
				b = erf(upper / sqrt2);
	double		z = (b - a) / 2.0;
	double		c = 1.0 / sqrt(2.0 * 3.14159265358979323846);
	double		pdf_u = c * exp(-0.5 * upper * upper),
				pdf_l = c * exp(-0.5 * lower * lower);
	double		comp_var = 1.0 - (upper * pdf_u - lower * pdf_l) / z - pow((pdf_u - pdf_l) / z, 2);
	double		comp_std = std / sqrt(comp_var);
	double		u,
				x;

	if (std == 0.0)
		return 0.0;
	u = a + (b - a) * hrm_rng_uniform(rng);
	x = sqrt2 * erfinv_d(u) * comp_std;
	if (x < lower * comp_std)
		x = lower * comp_std;
	if (x > upper * comp_std)
		x = upper * comp_std;
	return x;
}

void
hrm_init_params(const hrm_layout *lay, float *params, hrm_rng *rng)
{
	const hrm_config *c = &lay->cfg;

	for (int i = 0; i < lay->n_tensors; i++)
	{
		const hrm_tensor_info *t = &lay->tensors[i];
		float	   *p = params + t->offset;
		double		std;

		if (strcmp(t->name, "q_head.weight") == 0 || t->kind == HRM_PK_SPARSE)
		{
			memset(p, 0, sizeof(float) * t->numel);
			continue;
		}
		if (strcmp(t->name, "q_head.bias") == 0)
		{
			p[0] = p[1] = -5.0f;
			continue;
		}
		if (t->kind == HRM_PK_BUFFER)
		{
			/* H_init / L_init: std 1, stored as bfloat16 values by the reference */
			for (size_t k = 0; k < t->numel; k++)
			{
				float		v = (float) hrm_trunc_normal(rng, 1.0);

				p[k] = hrm_bf16_to_f32(hrm_f32_to_bf16(v));
			}
			continue;
		}
		/* LeCun: 1 / sqrt(fan_in) with fan_in the "in" dimension; embeddings 1 / sqrt(D) */
		if (t->ndim == 2 && strstr(t->name, "embedding_weight") == NULL)
			std = 1.0 / sqrt((double) t->shape[1]);
		else
			std = 1.0 / sqrt((double) c->hidden_size);
		for (size_t k = 0; k < t->numel; k++)
			p[k] = (float) hrm_trunc_normal(rng, std);
	}
}

double
hrm_lr_schedule(double base, int64_t step, int64_t warmup, int64_t total, double min_ratio)
{
	double		progress;

	if (step < warmup)
		return base * (double) step / (double) (warmup > 0 ? warmup : 1);
	if (total <= warmup)
		return base;
	progress = (double) (step - warmup) / (double) (total - warmup);
	return base * (min_ratio + fmax(0.0, (1.0 - min_ratio) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress))));
}

/* ------------------------------------------------------------------------- */
/* buffers */

static void
chunk_free(train_chunk *ch)
{
	free(ch->acts_L);
	free(ch->acts_H);
	hrm_free(ch->block_mem);
	hrm_free(ch->logits);
	hrm_free(ch->q);
	hrm_free(ch->q_next);
	hrm_free(ch->dlogits);
	hrm_free(ch->dq);
	hrm_free(ch->dz);
	hrm_free(ch->dtmp);
	hrm_free(ch->dattn);
	hrm_free(ch->dqkv);
	hrm_free(ch->dgu);
	hrm_free(ch->dact);
	hrm_free(ch->dP);
	hrm_free(ch->dx);
	hrm_free(ch->att_scratch);
	hrm_carry_free(&ch->tgt);
	memset(ch, 0, sizeof(*ch));
}

/*
 * Blocks whose activations a step keeps: HRM the last L and H calls; TRM
 * every call of the last recursion (L_cycles latent updates and the answer
 * update, each through the L_layers blocks of its one network).
 */
static int
kept_blocks(const hrm_config *c)
{
	return hrm_arch_get(c->arch)->kept_blocks(c);
}

/* SwiGLU-gradient scratch rows x widths: the channel MLP's, or the token mixer's when larger */
static size_t
dgu_floats(const hrm_config *c, int R)
{
	size_t		a = (size_t) R * c->S * 2 * c->inter_size;
	size_t		b = c->mlp_t ? (size_t) R * c->hidden_size * 2 * c->inter_size_t : 0;

	return a > b ? a : b;
}

/* floats of activation storage for one block and R rows */
static size_t
block_act_floats(const hrm_config *c, int R)
{
	size_t		M = (size_t) R * c->S,
				D = c->hidden_size,
				I = c->inter_size;

	if (c->mlp_t)
		return hrm_block_acts_floats_mlp_t(c, R);
	return M * D * 5			/* h_in, attn, h_mid, h_out, qkv/3 counted below */
		+ M * 3 * D				/* qkv */
		+ (size_t) R * c->num_heads * c->S * c->S	/* probs */
		+ M * 2 * I + M * I		/* gu, act */
		+ 2 * M;				/* rstd1, rstd2 */
}

static hrm_status
chunk_init(train_chunk *ch, const hrm_model *m, int R, hrm_error *err)
{
	const hrm_config *c = m->cfg;
	int			nH = c->arch == HRM_ARCH_HRM ? c->H_layers : 0;
	int			nL = kept_blocks(c) - nH;
	size_t		per = block_act_floats(c, R);
	size_t		M = (size_t) R * c->S,
				D = c->hidden_size,
				I = c->inter_size;
	float	   *p;
	hrm_status	st;

	memset(ch, 0, sizeof(*ch));
	ch->R = R;
	ch->acts_L = calloc(nL, sizeof(hrm_block_acts));
	ch->acts_H = calloc(nH > 0 ? nH : 1, sizeof(hrm_block_acts));
	ch->block_mem = hrm_alloc(per * (nL + nH), sizeof(float));
	if (ch->acts_L == NULL || ch->acts_H == NULL || ch->block_mem == NULL)
	{
		chunk_free(ch);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for training activations (%zu MB)",
						per * (nL + nH) * sizeof(float) >> 20);
	}
	p = ch->block_mem;
	for (int i = 0; i < nL + nH; i++)
	{
		hrm_block_acts *a = i < nL ? &ch->acts_L[i] : &ch->acts_H[i - nL];

		if (c->mlp_t)
		{
			hrm_block_acts_carve_mlp_t(a, c, R, p);
			p += per;
			continue;
		}
		a->h_in = p;
		p += M * D;
		a->qkv = p;
		p += M * 3 * D;
		a->probs = p;
		p += (size_t) R * c->num_heads * c->S * c->S;
		a->attn = p;
		p += M * D;
		a->h_mid = p;
		p += M * D;
		a->rstd1 = p;
		p += M;
		a->gu = p;
		p += M * 2 * I;
		a->act = p;
		p += M * I;
		a->h_out = p;
		p += M * D;
		a->rstd2 = p;
		p += M;
		p += M * D;				/* slack: keeps the per-block size equal to block_act_floats */
	}
	ch->logits = hrm_alloc((size_t) R * c->seq_len * c->vocab_size, sizeof(float));
	ch->dlogits = hrm_alloc((size_t) R * c->seq_len * c->vocab_size, sizeof(float));
	ch->q = hrm_alloc((size_t) R * 2, sizeof(float));
	ch->q_next = hrm_alloc((size_t) R * 2, sizeof(float));
	ch->dq = hrm_alloc((size_t) R * 2, sizeof(float));
	ch->dz = hrm_alloc(M * D, sizeof(float));
	ch->dtmp = hrm_alloc(M * D, sizeof(float));
	ch->dattn = hrm_alloc(M * D, sizeof(float));
	ch->dqkv = hrm_alloc(M * 3 * D, sizeof(float));
	ch->dgu = hrm_alloc(dgu_floats(c, R), sizeof(float));
	ch->dact = hrm_alloc(dgu_floats(c, R) / 2, sizeof(float));
	ch->dP = hrm_alloc((size_t) c->S * c->S, sizeof(float));
	ch->att_scratch = hrm_alloc(hrm_attention_bwd_scratch_floats(c->S, c->head_dim), sizeof(float));
	if (!ch->logits || !ch->dlogits || !ch->q || !ch->q_next || !ch->dq || !ch->dz || !ch->dtmp ||
		!ch->dattn || !ch->dqkv || !ch->dgu || !ch->dact || !ch->dP ||
		!ch->att_scratch)
	{
		chunk_free(ch);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for training buffers");
	}
	if (hrm_arch_get(c->arch)->dx_buffer && (ch->dx = hrm_alloc(M * D, sizeof(float))) == NULL)
	{
		chunk_free(ch);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for training buffers");
	}
	st = hrm_carry_init(&ch->tgt, m, R, err);
	if (st != HRM_OK)
		chunk_free(ch);
	return st;
}

/* Automatic chunk: keep the activations near 1 GB. */
static int
auto_chunk(const hrm_config *c, int B)
{
	int			nblocks = kept_blocks(c);
	size_t		per_row = block_act_floats(c, 1) * sizeof(float) * nblocks;
	size_t		budget = (size_t) 1 << 30;
	size_t		r = per_row > 0 ? budget / per_row : (size_t) B;

	if (r < 1)
		r = 1;
	if (r > (size_t) B)
		r = (size_t) B;
	return (int) r;
}

/* Rows per forward/backward chunk of a trainer. */
static int
trainer_chunk_rows(const hrm_config *c, const hrm_train_opts *o)
{
	int			B = o->batch_size;

	return o->chunk_rows > 0 ? (o->chunk_rows < B ? o->chunk_rows : B) : auto_chunk(c, B);
}

/* Bytes of the chunk buffers (chunk_init) for R rows. */
static size_t
chunk_bytes(const hrm_config *c, int R)
{
	int			nblocks = kept_blocks(c);
	size_t		M = hrm_sat_mul((size_t) R, (size_t) c->S),
				D = c->hidden_size;
	size_t		f = hrm_sat_mul(block_act_floats(c, R), (size_t) nblocks);

	f = hrm_sat_add(f, hrm_sat_mul(hrm_sat_mul((size_t) R * c->seq_len, (size_t) c->vocab_size), 2));
	f = hrm_sat_add(f, (size_t) R * 6);		/* q, q_next, dq */
	f = hrm_sat_add(f, hrm_sat_mul(M, 6 * D));	/* dz, dtmp, dattn, dqkv */
	f = hrm_sat_add(f, hrm_sat_add(dgu_floats(c, R), dgu_floats(c, R) / 2));	/* dgu, dact */
	if (hrm_arch_get(c->arch)->dx_buffer)
		f = hrm_sat_add(f, hrm_sat_mul(M, D));	/* dx */
	f = hrm_sat_add(f, hrm_sat_mul((size_t) c->S, (size_t) c->S));	/* dP */
	f = hrm_sat_add(f, hrm_attention_bwd_scratch_floats(c->S, c->head_dim));
	return hrm_sat_add(hrm_sat_mul(f, sizeof(float)), hrm_carry_bytes(c, R));
}

size_t
hrm_trainer_plan_bytes(const hrm_config *cfg, const hrm_train_opts *o)
{
	hrm_layout	lay;
	const hrm_config *c;
	size_t		b,
				B,
				n;
	int			R;

	if (o->batch_size < 1 || hrm_layout_init(&lay, cfg, NULL) != HRM_OK)
		return SIZE_MAX;
	c = &lay.cfg;
	B = (size_t) o->batch_size;
	R = trainer_chunk_rows(c, o);
	n = lay.n_params;
	/* params, grads and the two moments */
	b = hrm_sat_mul(n, 4 * sizeof(float));
	/* puzzle gradients, current examples, exploration */
	b = hrm_sat_add(b, hrm_sat_mul(B * (size_t) (c->puzzle_emb_ndim > 0 ? c->puzzle_emb_ndim : 1),
								   sizeof(float)));
	b = hrm_sat_add(b, hrm_sat_mul(B * (2 * (size_t) c->seq_len + 3), sizeof(int32_t)));
	/* a sampled batch (hrm_run_step) */
	b = hrm_sat_add(b, hrm_sat_mul(B * (2 * (size_t) c->seq_len + 1), sizeof(int32_t)));
	/* RoPE tables, packed weights (forward and backward) */
	if (c->pos_encodings == HRM_POS_ROPE)
		b = hrm_sat_add(b, hrm_sat_mul((size_t) c->S * c->head_dim, 2 * sizeof(float)));
	b = hrm_sat_add(b, hrm_sat_mul(hrm_model_pack_floats(&lay, true), sizeof(float)));
	/* the carry, the workspace of a chunk, the chunk's activations and gradients */
	b = hrm_sat_add(b, hrm_carry_bytes(c, o->batch_size));
	b = hrm_sat_add(b, hrm_workspace_plan_bytes(c, R, hrm_model_pack_floats(&lay, true) > 0,
												hrm_parallel_threads()));
	b = hrm_sat_add(b, chunk_bytes(c, R));
	hrm_layout_free(&lay);
	return b;
}

static hrm_status
check_opts(const hrm_train_opts *o, hrm_error *err)
{
	if (o->batch_size < 1 || o->batch_size > 1000000)
		return hrm_fail(err, HRM_ERR_CONFIG, "batch_size must be between 1 and 1000000");
	if (!(o->lr >= 0.0 && o->lr < 10.0) || !(o->puzzle_emb_lr >= 0.0 && o->puzzle_emb_lr < 10.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "learning rates must be in [0, 10)");
	if (!(o->beta1 >= 0.0 && o->beta1 < 1.0) || !(o->beta2 >= 0.0 && o->beta2 < 1.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "betas must be in [0, 1)");
	if (!(o->weight_decay >= 0.0 && o->weight_decay <= 100.0) ||
		!(o->puzzle_emb_weight_decay >= 0.0 && o->puzzle_emb_weight_decay <= 100.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "weight decays must be in [0, 100]");
	if (!(o->lr_min_ratio >= 0.0 && o->lr_min_ratio <= 1.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "lr_min_ratio must be in [0, 1]");
	if (o->lr_warmup_steps < 0 || o->total_steps < 0)
		return hrm_fail(err, HRM_ERR_CONFIG, "lr_warmup_steps and total_steps must not be negative");
	if (o->loss_type != HRM_LOSS_STABLEMAX && o->loss_type != HRM_LOSS_SOFTMAX)
		return hrm_fail(err, HRM_ERR_CONFIG, "unknown loss type");
	return HRM_OK;
}

hrm_status
hrm_trainer_create(hrm_trainer **out, const hrm_config *cfg, const float *params,
				   const hrm_train_opts *opts, hrm_error *err)
{
	hrm_trainer *t;
	hrm_status	st;
	int			B,
				R;
	size_t		n;

	*out = NULL;
	st = check_opts(opts, err);
	if (st != HRM_OK)
		return st;
	/* the whole plan against the memory limit, before allocating any of it */
	st = hrm_check_memory(hrm_trainer_plan_bytes(cfg, opts), "the training state", err);
	if (st != HRM_OK)
		return st;
	t = calloc(1, sizeof(hrm_trainer));
	if (t == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	st = hrm_layout_init(&t->lay, cfg, err);
	if (st != HRM_OK)
	{
		free(t);
		return st;
	}
	t->opts = *opts;
	B = t->B = opts->batch_size;
	n = t->lay.n_params;
	t->params = hrm_alloc(n, sizeof(float));
	t->grads = hrm_alloc(n, sizeof(float));
	t->adam_m = hrm_alloc(n, sizeof(float));
	t->adam_v = hrm_alloc(n, sizeof(float));
	t->pgrad = hrm_alloc((size_t) B * (t->lay.cfg.puzzle_emb_ndim > 0 ? t->lay.cfg.puzzle_emb_ndim : 1),
						 sizeof(float));
	t->cur_inputs = hrm_alloc((size_t) B * t->lay.cfg.seq_len, sizeof(int32_t));
	t->cur_labels = hrm_alloc((size_t) B * t->lay.cfg.seq_len, sizeof(int32_t));
	t->cur_pids = hrm_alloc(B, sizeof(int32_t));
	t->min_steps = hrm_alloc(B, sizeof(int32_t));
	if (opts->ema > 0.0)
	{
		t->ema_params = hrm_alloc(n, sizeof(float));
		if (t->ema_params == NULL)
		{
			hrm_trainer_free(t);
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the weight average (%zu parameters)", n);
		}
	}
	if (!(opts->ema >= 0.0 && opts->ema < 1.0))
	{
		hrm_trainer_free(t);
		return hrm_fail(err, HRM_ERR_CONFIG, "ema must be in [0, 1) (0 = off)");
	}
	if (!t->params || !t->grads || !t->adam_m || !t->adam_v || !t->pgrad || !t->cur_inputs ||
		!t->cur_labels || !t->cur_pids || !t->min_steps)
	{
		hrm_trainer_free(t);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the training state (%zu parameters)", n);
	}
	hrm_rng_seed(&t->rng, opts->seed);
	if (params != NULL)
		memcpy(t->params, params, sizeof(float) * n);
	else
	{
		hrm_rng		init = hrm_rng_split(&t->rng);

		hrm_init_params(&t->lay, t->params, &init);
	}
	if (t->ema_params != NULL)
		memcpy(t->ema_params, t->params, sizeof(float) * n);
	st = hrm_model_init(&t->model, &t->lay, t->params, err);
	if (st == HRM_OK)
		st = hrm_model_pack(&t->model, true, err);
	if (st == HRM_OK)
		st = hrm_carry_init(&t->carry, &t->model, B, err);
	R = trainer_chunk_rows(&t->lay.cfg, opts);
	if (st == HRM_OK)
	{
		t->ws = hrm_workspace_create(&t->model, R, err);
		if (t->ws == NULL)
			st = err ? err->code : HRM_ERR_NOMEM;
	}
	if (st == HRM_OK)
		st = chunk_init(&t->ch, &t->model, R, err);
	if (st != HRM_OK)
	{
		hrm_trainer_free(t);
		return st;
	}
	*out = t;
	return HRM_OK;
}

void
hrm_trainer_free(hrm_trainer *t)
{
	if (t == NULL)
		return;
	chunk_free(&t->ch);
	hrm_workspace_free(t->ws);
	hrm_carry_free(&t->carry);
	hrm_model_free(&t->model);
	hrm_free(t->params);
	hrm_free(t->ema_params);
	hrm_free(t->grads);
	hrm_free(t->adam_m);
	hrm_free(t->adam_v);
	hrm_free(t->pgrad);
	hrm_free(t->cur_inputs);
	hrm_free(t->cur_labels);
	hrm_free(t->cur_pids);
	hrm_free(t->min_steps);
	hrm_layout_free(&t->lay);
	free(t);
}

const hrm_layout *
hrm_trainer_layout(const hrm_trainer *t)
{
	return &t->lay;
}

const float *
hrm_trainer_params(const hrm_trainer *t)
{
	return t->params;
}

const float *
hrm_trainer_eval_params(const hrm_trainer *t)
{
	return t->ema_params ? t->ema_params : t->params;
}

const float *
hrm_trainer_grads(const hrm_trainer *t)
{
	return t->grads;
}

const float *
hrm_trainer_puzzle_grads(const hrm_trainer *t)
{
	return t->pgrad;
}

int64_t
hrm_trainer_step(const hrm_trainer *t)
{
	return t->step;
}

const hrm_carry *
hrm_trainer_carry(const hrm_trainer *t)
{
	return &t->carry;
}

const hrm_train_opts *
hrm_trainer_opts(const hrm_trainer *t)
{
	return &t->opts;
}

void
hrm_trainer_set_opts(hrm_trainer *t, const hrm_train_opts *o)
{
	int			B = t->opts.batch_size,
				chunk = t->opts.chunk_rows;
	uint64_t	seed = t->opts.seed;
	double		ema = t->opts.ema;

	t->opts = *o;
	/* the shape of the state cannot change (nor whether it keeps a weight average; its decay may) */
	if ((ema > 0.0) != (o->ema > 0.0))
		t->opts.ema = ema;
	t->opts.batch_size = B;
	t->opts.chunk_rows = chunk;
	t->opts.seed = seed;
}

void
hrm_trainer_discard_step(hrm_trainer *t)
{
	/* every row restarts from H_init / L_init with a new example at the next step */
	memset(t->carry.halted, 1, (size_t) t->B);
	memset(t->carry.steps, 0, sizeof(int32_t) * (size_t) t->B);
	t->have_grads = false;
}

size_t
hrm_trainer_bytes(const hrm_trainer *t)
{
	const hrm_config *c = &t->lay.cfg;
	int			nblocks = kept_blocks(c);

	return t->lay.n_params * sizeof(float) * 4 +
		block_act_floats(c, t->ch.R) * nblocks * sizeof(float) +
		hrm_workspace_bytes(&t->model, t->ch.R) + t->model.wpack_floats * sizeof(float) +
		(size_t) t->B * c->S * c->hidden_size * sizeof(float) * 2;
}

/* ------------------------------------------------------------------------- */
/* backward through a block and a module */

static void
block_backward(const hrm_model *m, const hrm_block_offsets *bo, const hrm_block_packs *pk,
			   const hrm_block_acts *a, float *dh, float *grads, train_chunk *ch, int B)
{
	/* dh: in = d(block output) [M, D]; out = d(block input) */
	const hrm_config *c = m->cfg;
	const float *W = m->params;
	int			D = c->hidden_size,
				S = c->S,
				Iw = c->inter_size,
				NH = c->num_heads,
				hd = c->head_dim;
	int			M = B * S;
	size_t		MD = (size_t) M * D;

	HRM_ASSERT(B > 0 && B <= ch->R && dh != NULL && grads != NULL);
	if (c->mlp_t)
	{
		/* TRM-MLP: the token-mixing block (trm.c) */
		hrm_trm_scratch sc = {ch->dattn, ch->dgu, ch->dact};

		hrm_block_backward_mlp_t(m, bo, a, dh, grads, B, &sc);
		return;
	}
	if (pk != NULL && pk->qkv_bwd == NULL)
		pk = NULL;

	/* h_out = norm(h_mid + down(act)) */
	hrm_rmsnorm_backward(dh, dh, a->h_out, a->rstd2, M, D);
	/* dact[M, I] = dh W_down; dW_down += dh^T act */
	if (pk)
	{
		/* dgu straight from the product's epilogue (dact is not stored) */
		hrm_gemm_packed_swiglu_bwd(M, Iw, D, dh, D, pk->down_bwd, a->gu, ch->dgu);
		hrm_gemm_tn(D, Iw, M, 1.0f, dh, D, a->act, Iw, 1.0f, grads + bo->down, Iw);
	}
	else
	{
		hrm_matmul_backward(ch->dact, grads + bo->down, dh, a->act, W + bo->down, M, D, Iw, 0.0f);
		hrm_swiglu_backward(ch->dgu, ch->dact, a->gu, M, Iw);
	}
	/* dh += dgu W_gu (input grad of the MLP) */
	if (pk)
	{
		hrm_gemm_tn(2 * Iw, D, M, 1.0f, ch->dgu, 2 * Iw, a->h_mid, D, 1.0f, grads + bo->gate_up, D);
		hrm_gemm_packed(M, D, 2 * Iw, 1.0f, ch->dgu, 2 * Iw, pk->gate_up_bwd, 1.0f, dh, D);
	}
	else
	{
		hrm_matmul_backward(ch->dtmp, grads + bo->gate_up, ch->dgu, a->h_mid, W + bo->gate_up, M, 2 * Iw, D, 0.0f);
		hrm_add_forward(dh, dh, ch->dtmp, MD);
	}

	/* h_mid = norm(h_in + o(attn)) */
	hrm_rmsnorm_backward(dh, dh, a->h_mid, a->rstd1, M, D);
	if (pk)
	{
		hrm_gemm_packed(M, D, D, 1.0f, dh, D, pk->o_bwd, 0.0f, ch->dattn, D);
		hrm_gemm_tn(D, D, M, 1.0f, dh, D, a->attn, D, 1.0f, grads + bo->o, D);
	}
	else
		hrm_matmul_backward(ch->dattn, grads + bo->o, dh, a->attn, W + bo->o, M, D, D, 0.0f);
	if (pk)
		hrm_attention_backward_packed(ch->dqkv, ch->dP, ch->dattn, a->qkv, a->probs, B, S, NH, hd,
									  ch->att_scratch);
	else
		hrm_attention_backward(ch->dqkv, ch->dP, ch->dattn, a->qkv, a->probs, B, S, NH, hd);
	if (c->pos_encodings == HRM_POS_ROPE)
		hrm_rope_backward(ch->dqkv, m->rope_cos, m->rope_sin, B, S, NH, hd);
	/* dh += dqkv W_qkv */
	if (pk)
	{
		hrm_gemm_tn(3 * D, D, M, 1.0f, ch->dqkv, 3 * D, a->h_in, D, 1.0f, grads + bo->qkv, D);
		hrm_gemm_packed(M, D, 3 * D, 1.0f, ch->dqkv, 3 * D, pk->qkv_bwd, 1.0f, dh, D);
	}
	else
	{
		hrm_matmul_backward(ch->dtmp, grads + bo->qkv, ch->dqkv, a->h_in, W + bo->qkv, M, 3 * D, D, 0.0f);
		hrm_add_forward(dh, dh, ch->dtmp, MD);
	}
}

void
hrm_module_backward(const hrm_model *m, const hrm_block_offsets *blocks, const hrm_block_acts *acts,
					int n, float *dz, float *grads, train_chunk *ch, int B)
{
	const hrm_block_packs *pk = hrm_packs_for(m, blocks);

	for (int i = n - 1; i >= 0; i--)
	{
		/* cancellation point; the step checks the flag after the module */
		if (hrm_cancel_requested())
			return;
		block_backward(m, &blocks[i], pk ? &pk[i] : NULL, &acts[i], dz, grads, ch, B);
	}
}

/* ------------------------------------------------------------------------- */
/* losses */

static inline double
stablemax_s(double x)
{
	return x < 0.0 ? 1.0 / (1.0 - x + 1e-30) : x + 1.0;
}

static inline double
stablemax_ds(double x)
{
	if (x < 0.0)
	{
		double		d = 1.0 - x + 1e-30;

		return 1.0 / (d * d);
	}
	return 1.0;
}

/* BCE with logits (sum reduction for one element) and its derivative. */
static inline double
bce_logits(double x, double y)
{
	return fmax(x, 0.0) - x * y + log1p(exp(-fabs(x)));
}

static inline double
sigmoid_d(double x)
{
	return x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/*
 * Token losses of one row: returns the row's mean CE and fills dl [T, V]
 * with d(mean CE)/dlogits * scale; n_valid and n_correct counted.
 */
static double
row_loss(hrm_loss_type type, const float *logits, const int32_t *labels, int T, int V,
		 float *dl, double scale, int *n_valid, int *n_correct)
{
	int			nv = 0,
				nc = 0;
	double		sum = 0.0;
	double		div;

	for (int t = 0; t < T; t++)
		if (labels[t] != HRM_IGNORE_LABEL)
			nv++;
	div = nv > 0 ? (double) nv : 1.0;
	for (int t = 0; t < T; t++)
	{
		const float *x = logits + (size_t) t * V;
		float	   *g = dl + (size_t) t * V;
		int			y = labels[t];
		int			best = 0;

		if (y == HRM_IGNORE_LABEL)
		{
			memset(g, 0, sizeof(float) * V);
			continue;
		}
		for (int v = 1; v < V; v++)
			if (x[v] > x[best])
				best = v;
		nc += best == y;
		if (type == HRM_LOSS_STABLEMAX)
		{
			double		Ssum = 0.0;

			for (int v = 0; v < V; v++)
				Ssum += stablemax_s((double) x[v]);
			sum += -(log(stablemax_s((double) x[y])) - log(Ssum));
			for (int v = 0; v < V; v++)
			{
				double		d = stablemax_ds((double) x[v]) / Ssum;

				if (v == y)
					d -= stablemax_ds((double) x[y]) / stablemax_s((double) x[y]);
				g[v] = (float) (d * scale / div);
			}
		}
		else
		{
			double		mx = x[0],
						z = 0.0;

			for (int v = 1; v < V; v++)
				mx = fmax(mx, (double) x[v]);
			for (int v = 0; v < V; v++)
				z += exp((double) x[v] - mx);
			sum += -((double) x[y] - mx - log(z));
			for (int v = 0; v < V; v++)
			{
				double		p = exp((double) x[v] - mx) / z;

				g[v] = (float) ((p - (v == y ? 1.0 : 0.0)) * scale / div);
			}
		}
	}
	*n_valid = nv;
	*n_correct = nc;
	return sum / div;
}

/* ------------------------------------------------------------------------- */
/* the step */

static hrm_status
check_batch(const hrm_trainer *t, const int32_t *inputs, const int32_t *labels,
			const int32_t *pids, hrm_error *err)
{
	const hrm_config *c = &t->lay.cfg;
	hrm_status	st = hrm_check_inputs(&t->model, inputs, pids, t->B, err);

	if (st != HRM_OK)
		return st;
	for (size_t i = 0; i < (size_t) t->B * c->seq_len; i++)
		if (labels[i] != HRM_IGNORE_LABEL && (labels[i] < 0 || labels[i] >= c->vocab_size))
			return hrm_fail(err, HRM_ERR_INVALID,
							"label %d at position %zu of row %zu is neither -100 nor in [0, %d)",
							labels[i], i % c->seq_len, i / c->seq_len, c->vocab_size);
	return HRM_OK;
}

hrm_status
hrm_train_backward(hrm_trainer *t, const int32_t *inputs, const int32_t *labels,
				   const int32_t *puzzle_ids, hrm_train_metrics *mt, hrm_error *err)
{
	const hrm_config *c = &t->lay.cfg;
	const hrm_layout *lay = &t->lay;
	const hrm_model *m = &t->model;
	train_chunk *ch = &t->ch;
	const hrm_arch_ops *arch = hrm_arch_get(c->arch);
	int			B = t->B,
				T = c->seq_len,
				V = c->vocab_size,
				S = c->S,
				D = c->hidden_size;
	int			Mmax = c->halt_max_steps;
	size_t		SD = (size_t) S * D;
	int			ndim = c->puzzle_emb_ndim;
	double		inv_B = 1.0 / (double) B;
	hrm_train_metrics acc;
	hrm_status	st;
	int32_t    *zero_pids = NULL;

	if (puzzle_ids == NULL)
	{
		zero_pids = calloc(B, sizeof(int32_t));
		if (zero_pids == NULL)
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
		puzzle_ids = zero_pids;
	}
	st = check_batch(t, inputs, labels, puzzle_ids, err);
	/* the packed weights follow the parameters (changed by the last apply, or by the caller) */
	if (st == HRM_OK)
		st = hrm_model_pack(&t->model, true, err);
	if (st != HRM_OK)
	{
		free(zero_pids);
		return st;
	}
	memset(&acc, 0, sizeof(acc));

	/* 1. halted rows take the new example and restart from H_init / L_init */
	for (int b = 0; b < B; b++)
	{
		if (!t->carry.halted[b])
			continue;
		memcpy(t->cur_inputs + (size_t) b * T, inputs + (size_t) b * T, sizeof(int32_t) * T);
		memcpy(t->cur_labels + (size_t) b * T, labels + (size_t) b * T, sizeof(int32_t) * T);
		t->cur_pids[b] = puzzle_ids[b];
	}
	hrm_carry_reset(&t->carry, m, t->carry.halted);
	free(zero_pids);

	/* exploration draws, in row order, independent of chunking */
	for (int b = 0; b < B; b++)
	{
		double		u = hrm_rng_uniform(&t->rng);
		int			k = Mmax >= 2 ? 2 + (int) hrm_rng_below(&t->rng, (uint64_t) (Mmax - 1)) : 0;

		t->min_steps[b] = (u < c->halt_exploration_prob) ? k : 0;
	}

	memset(t->grads, 0, sizeof(float) * lay->n_params);
	if (ndim > 0)
		memset(t->pgrad, 0, sizeof(float) * (size_t) B * ndim);

	for (int r0 = 0; r0 < B; r0 += ch->R)
	{
		int			R = (B - r0) < ch->R ? (B - r0) : ch->R;
		hrm_carry	view = t->carry;
		size_t		n_el = (size_t) R * SD;
		const int32_t *in = t->cur_inputs + (size_t) r0 * T;
		const int32_t *lb = t->cur_labels + (size_t) r0 * T;
		const int32_t *pid = t->cur_pids + r0;
		float	   *x = t->ws->x;
		const float *dxs;

		view.B = R;
		view.z_H = t->carry.z_H + (size_t) r0 * SD;
		view.z_L = t->carry.z_L + (size_t) r0 * SD;
		view.steps = t->carry.steps + r0;
		view.halted = t->carry.halted + r0;

/*
 * Cancellation: module calls stop early once a cancel is pending; the step
 * then returns HRM_ERR_CANCELLED with the weights untouched and the carry
 * and the current examples left mid-step (hrm_trainer_discard_step).
 */
#define STEP_CANCEL_POINT() \
	do { \
		if (hrm_cancel_requested()) \
		{ \
			t->have_grads = false; \
			return hrm_fail(err, HRM_ERR_CANCELLED, "training step cancelled"); \
		} \
	} while (0)

		/* 2. forward: the architecture's recursion, keeping the gradient-carrying calls' activations */
		STEP_CANCEL_POINT();
		hrm_embed_forward(m, in, pid, R, x);
		(void) arch->recur(m, t->ws, &view, x, ch->acts_L, ch->acts_H, false);
		STEP_CANCEL_POINT();
		hrm_heads_forward(m, view.z_H, R, ch->logits, ch->q, t->ws);

		/* 3. halting and the Q target */
		for (int b = 0; b < R; b++)
		{
			bool		is_last;

			view.steps[b]++;
			is_last = view.steps[b] >= Mmax;
			view.halted[b] = is_last;
			if (Mmax > 1)
			{
				if (hrm_halt_signal(c, ch->q + 2 * b))
					view.halted[b] = 1;
				if (view.steps[b] < t->min_steps[r0 + b])
					view.halted[b] = 0;
			}
		}
		if (Mmax > 1 && !c->no_ACT_continue)
		{
			hrm_carry	tgt = ch->tgt;

			tgt.B = R;
			memcpy(tgt.z_H, view.z_H, sizeof(float) * n_el);
			memcpy(tgt.z_L, view.z_L, sizeof(float) * n_el);
			st = hrm_segment_q(m, t->ws, &tgt, in, pid, ch->q_next, err);
			if (st != HRM_OK)
			{
				t->have_grads = false;
				return st;
			}
		}

		/* 4. losses, metrics and the output gradients (of loss / B) */
		for (int b = 0; b < R; b++)
		{
			int			nv,
						nc;
			double		lm = row_loss(t->opts.loss_type, ch->logits + (size_t) b * T * V,
									  lb + (size_t) b * T, T, V, ch->dlogits + (size_t) b * T * V,
									  inv_B, &nv, &nc);
			bool		correct = nc == nv;
			double		qh = ch->q[2 * b],
						qc = ch->q[2 * b + 1];
			bool		valid = view.halted[b] && nv > 0;

			acc.lm_loss += lm;
			acc.q_halt_loss += bce_logits(qh, correct ? 1.0 : 0.0);
			ch->dq[2 * b] = (float) (0.5 * (sigmoid_d(qh) - (correct ? 1.0 : 0.0)) * inv_B);
			ch->dq[2 * b + 1] = 0.0f;
			if (Mmax > 1 && !c->no_ACT_continue)
			{
				double		nh = ch->q_next[2 * b],
							nc2 = ch->q_next[2 * b + 1];
				double		target = sigmoid_d(view.steps[b] >= Mmax ? nh : fmax(nh, nc2));

				acc.q_continue_loss += bce_logits(qc, target);
				ch->dq[2 * b + 1] = (float) (0.5 * (sigmoid_d(qc) - target) * inv_B);
			}
			acc.token_accuracy_all += nv > 0 ? (double) nc / nv : 1.0;
			acc.exact_all += correct;
			if (valid)
			{
				acc.count += 1;
				acc.accuracy += (double) nc / nv;
				acc.exact_accuracy += correct;
				acc.q_halt_accuracy += ((qh >= 0.0) == correct);
				acc.steps += view.steps[b];
			}
		}

		/* 5. backward: heads -> the architecture's kept calls -> embeddings */
		hrm_heads_backward(m, view.z_H, R, ch->dlogits, ch->dq, ch->dz, t->grads);
		/* the architecture's backward through its kept calls: d(z_H) → d(x) */
		dxs = arch->recur_backward(m, ch->acts_L, ch->acts_H, ch->dz, t->grads, ch, R);
		STEP_CANCEL_POINT();
		/* the embeddings' backward */
		hrm_embed_backward(m, in, R, dxs, t->grads, ndim > 0 ? t->pgrad + (size_t) r0 * ndim : NULL);
	}
#undef STEP_CANCEL_POINT
	acc.loss = (acc.lm_loss + 0.5 * (acc.q_halt_loss + acc.q_continue_loss)) * inv_B;
	acc.token_accuracy_all *= inv_B;
	acc.exact_all *= inv_B;
	acc.lr = hrm_lr_schedule(t->opts.lr, t->step + 1, t->opts.lr_warmup_steps,
							 t->opts.total_steps, t->opts.lr_min_ratio);
	t->have_grads = true;
	if (mt != NULL)
		*mt = acc;
	return HRM_OK;
}

/* Sort helper for the unique puzzle ids of a batch. */
static int
cmp_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

hrm_status
hrm_train_apply(hrm_trainer *t, hrm_train_metrics *mt, hrm_error *err)
{
	const hrm_layout *lay = &t->lay;
	const hrm_train_opts *o = &t->opts;
	int64_t		step;
	double		lr,
				plr;
	/* the lerp weights as the reference computes them: 1 - beta in double, then float */
	float		w1 = (float) (1.0 - o->beta1),
				w2 = (float) (1.0 - o->beta2);
	double		bc1,
				bc2;
	float		step_size,
				bc2_sqrt,
				decay;

	if (!t->have_grads)
		return hrm_fail(err, HRM_ERR_INVALID, "no gradients: run a backward pass first");
	step = ++t->step;
	lr = hrm_lr_schedule(o->lr, step, o->lr_warmup_steps, o->total_steps, o->lr_min_ratio);
	plr = hrm_lr_schedule(o->puzzle_emb_lr, step, o->lr_warmup_steps, o->total_steps, o->lr_min_ratio);

	/* AdamATan2 on the dense range: decay, moments, atan2 step */
	bc1 = 1.0 - pow(o->beta1, (double) step);
	bc2 = 1.0 - pow(o->beta2, (double) step);
	step_size = (float) (lr / bc1);
	bc2_sqrt = (float) sqrt(bc2);
	decay = (float) (1.0 - lr * o->weight_decay);
	{
		size_t		b = lay->dense_begin;

		hrm_adam_atan2_update(t->params + b, t->adam_m + b, t->adam_v + b, t->grads + b,
							  lay->dense_end - b, w1, w2, decay, step_size, bc2_sqrt);
	}

	/* SignSGD on the touched puzzle rows (duplicates summed first), lazy decay */
	if (lay->puzzle_emb != HRM_NO_OFFSET)
	{
		int			B = t->B,
					ndim = lay->cfg.puzzle_emb_ndim;
		int32_t    *ids = malloc(sizeof(int32_t) * B);
		float	   *sum = malloc(sizeof(float) * ndim);
		float		pdecay = (float) (1.0 - plr * o->puzzle_emb_weight_decay);

		if (ids == NULL || sum == NULL)
		{
			free(ids);
			free(sum);
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
		}
		memcpy(ids, t->cur_pids, sizeof(int32_t) * B);
		qsort(ids, B, sizeof(int32_t), cmp_int32);
		for (int i = 0; i < B; i++)
		{
			float	   *w;

			if (i > 0 && ids[i] == ids[i - 1])
				continue;
			memset(sum, 0, sizeof(float) * ndim);
			for (int b = 0; b < B; b++)
				if (t->cur_pids[b] == ids[i])
					for (int k = 0; k < ndim; k++)
						sum[k] += t->pgrad[(size_t) b * ndim + k];
			w = t->params + lay->puzzle_emb + (size_t) ids[i] * ndim;
			for (int k = 0; k < ndim; k++)
			{
				float		s = (sum[k] > 0.0f) - (sum[k] < 0.0f);

				w[k] = w[k] * pdecay - (float) plr * s;
			}
		}
		free(ids);
		free(sum);
	}
	/* ema <- ema + (1 - d) (params - ema), over every parameter (TRM: the dense ones) */
	if (t->ema_params != NULL)
	{
		float		w = (float) (1.0 - o->ema);
		float	   *e = t->ema_params;
		const float *p = t->params;
		size_t		end = hrm_arch_get(lay->cfg.arch)->ema_dense_only ? lay->dense_end : lay->n_params;

		for (size_t i = 0; i < end; i++)
			e[i] += w * (p[i] - e[i]);
		if (end < lay->n_params)
			memcpy(e + end, p + end, sizeof(float) * (lay->n_params - end));
	}
	t->have_grads = false;
	if (mt != NULL)
		mt->lr = lr;
	return HRM_OK;
}

hrm_status
hrm_train_step(hrm_trainer *t, const int32_t *inputs, const int32_t *labels,
			   const int32_t *puzzle_ids, hrm_train_metrics *mt, hrm_error *err)
{
	hrm_status	st = hrm_train_backward(t, inputs, labels, puzzle_ids, mt, err);

	if (st != HRM_OK)
		return st;
	return hrm_train_apply(t, mt, err);
}

/* ------------------------------------------------------------------------- */
/* checkpoints */

/*
 * Layout of a saved state (all little-endian):
 *   "HRMSTATE" | u32 version | u32 header bytes | header JSON |
 *   sections in the header's order | u64 FNV-1a of everything before it
 * The header names the configuration, the options, the step, the RNG state
 * and each section's byte length, so a damaged or foreign buffer is refused.
 */
#define STATE_MAGIC "HRMSTATE"
#define STATE_VERSION 1

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
	{
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

typedef struct state_section
{
	const char *name;
	void	   *ptr;
	size_t		bytes;
} state_section;

/* The sections of a trainer, in order (pointers into t). */
static int
state_sections(hrm_trainer *t, state_section *s, const void *extra, size_t extra_len)
{
	const hrm_layout *lay = &t->lay;
	size_t		dense = lay->dense_end - lay->dense_begin;
	size_t		BSD = (size_t) t->B * lay->cfg.S * lay->cfg.hidden_size;
	size_t		BT = (size_t) t->B * lay->cfg.seq_len;
	int			n = 0;

	s[n++] = (state_section) {"params", t->params, lay->n_params * sizeof(float)};
	if (t->ema_params != NULL)
		s[n++] = (state_section) {"ema_params", t->ema_params, lay->n_params * sizeof(float)};
	s[n++] = (state_section) {"adam_m", t->adam_m + lay->dense_begin, dense * sizeof(float)};
	s[n++] = (state_section) {"adam_v", t->adam_v + lay->dense_begin, dense * sizeof(float)};
	s[n++] = (state_section) {"carry_z_H", t->carry.z_H, BSD * sizeof(float)};
	s[n++] = (state_section) {"carry_z_L", t->carry.z_L, BSD * sizeof(float)};
	s[n++] = (state_section) {"carry_steps", t->carry.steps, (size_t) t->B * sizeof(int32_t)};
	s[n++] = (state_section) {"carry_halted", t->carry.halted, (size_t) t->B};
	s[n++] = (state_section) {"current_inputs", t->cur_inputs, BT * sizeof(int32_t)};
	s[n++] = (state_section) {"current_labels", t->cur_labels, BT * sizeof(int32_t)};
	s[n++] = (state_section) {"current_puzzle_ids", t->cur_pids, (size_t) t->B * sizeof(int32_t)};
	s[n++] = (state_section) {"extra", (void *) extra, extra_len};
	return n;
}

static void
opts_json(hrm_strbuf *sb, const hrm_train_opts *o)
{
	hrm_strbuf_printf(sb,
					  "{\"loss_type\": \"%s\", \"lr\": %.17g, \"lr_warmup_steps\": %lld, "
					  "\"lr_min_ratio\": %.17g, \"total_steps\": %lld, \"beta1\": %.17g, \"beta2\": %.17g, "
					  "\"weight_decay\": %.17g, \"puzzle_emb_lr\": %.17g, \"puzzle_emb_weight_decay\": %.17g, "
					  "\"batch_size\": %d, \"chunk_rows\": %d, \"seed\": \"%llu\", \"ema\": %.17g}",
					  o->loss_type == HRM_LOSS_SOFTMAX ? "softmax_cross_entropy" : "stablemax_cross_entropy",
					  o->lr, (long long) o->lr_warmup_steps, o->lr_min_ratio, (long long) o->total_steps,
					  o->beta1, o->beta2, o->weight_decay, o->puzzle_emb_lr, o->puzzle_emb_weight_decay,
					  o->batch_size, o->chunk_rows, (unsigned long long) o->seed, o->ema);
}

hrm_status
hrm_trainer_save(const hrm_trainer *tc, const void *extra, size_t extra_len,
				 uint8_t **out, size_t *out_len, hrm_error *err)
{
	hrm_trainer *t = (hrm_trainer *) tc;
	state_section sec[16];
	int			n = state_sections(t, sec, extra, extra_len);
	hrm_strbuf	sb;
	char	   *cfg = hrm_config_to_json(&t->lay.cfg);
	size_t		total,
				off;
	uint8_t    *buf;
	uint32_t	u32;
	uint64_t	h;

	*out = NULL;
	*out_len = 0;
	if (cfg == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	hrm_strbuf_init(&sb);
	hrm_strbuf_printf(&sb, "{\"config\": %s, \"options\": ", cfg);
	free(cfg);
	opts_json(&sb, &t->opts);
	hrm_strbuf_printf(&sb, ", \"step\": %lld, \"rng\": [\"%llu\", \"%llu\", \"%llu\", \"%llu\"], \"sections\": [",
					  (long long) t->step,
					  (unsigned long long) t->rng.s[0], (unsigned long long) t->rng.s[1],
					  (unsigned long long) t->rng.s[2], (unsigned long long) t->rng.s[3]);
	for (int i = 0; i < n; i++)
		hrm_strbuf_printf(&sb, "%s{\"name\": \"%s\", \"bytes\": %zu}", i ? ", " : "", sec[i].name, sec[i].bytes);
	hrm_strbuf_append(&sb, "]}", 2);
	if (sb.failed)
	{
		hrm_strbuf_free(&sb);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	}
	total = 8 + 4 + 4 + sb.len + 8;
	for (int i = 0; i < n; i++)
		total += sec[i].bytes;
	buf = malloc(total);
	if (buf == NULL)
	{
		hrm_strbuf_free(&sb);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for a training state of %zu MB", total >> 20);
	}
	memcpy(buf, STATE_MAGIC, 8);
	u32 = STATE_VERSION;
	memcpy(buf + 8, &u32, 4);
	u32 = (uint32_t) sb.len;
	memcpy(buf + 12, &u32, 4);
	memcpy(buf + 16, sb.data, sb.len);
	off = 16 + sb.len;
	hrm_strbuf_free(&sb);
	for (int i = 0; i < n; i++)
	{
		if (sec[i].bytes > 0)
			memcpy(buf + off, sec[i].ptr, sec[i].bytes);
		off += sec[i].bytes;
	}
	h = fnv1a(buf, off);
	memcpy(buf + off, &h, 8);
	*out = buf;
	*out_len = total;
	return HRM_OK;
}

static bool
json_u64(const hrm_json *v, uint64_t *out)
{
	char	   *end;

	if (v == NULL || v->type != HRM_JSON_STRING)
		return false;
	*out = strtoull(v->string, &end, 10);
	return end != v->string && *end == '\0';
}

static hrm_status
opts_from_json(const hrm_json *o, hrm_train_opts *opts, hrm_error *err)
{
	const hrm_json *v;

	hrm_train_opts_defaults(opts);
	if (o == NULL || o->type != HRM_JSON_OBJECT)
		return hrm_fail(err, HRM_ERR_FORMAT, "training state: options missing");
#define NUMF(key, dst) do { \
		v = hrm_json_get(o, key); \
		if (v == NULL || v->type != HRM_JSON_NUMBER) \
		{ \
			return hrm_fail(err, HRM_ERR_FORMAT, "training state: option %s missing", key); \
		} \
		dst = v->number; \
	} while (0)
#define INTF(key, dst) do { \
		v = hrm_json_get(o, key); \
		if (v == NULL || !v->is_int) \
		{ \
			return hrm_fail(err, HRM_ERR_FORMAT, "training state: option %s missing", key); \
		} \
		dst = v->integer; \
	} while (0)
	NUMF("lr", opts->lr);
	INTF("lr_warmup_steps", opts->lr_warmup_steps);
	NUMF("lr_min_ratio", opts->lr_min_ratio);
	INTF("total_steps", opts->total_steps);
	NUMF("beta1", opts->beta1);
	NUMF("beta2", opts->beta2);
	NUMF("weight_decay", opts->weight_decay);
	NUMF("puzzle_emb_lr", opts->puzzle_emb_lr);
	NUMF("puzzle_emb_weight_decay", opts->puzzle_emb_weight_decay);
	INTF("batch_size", opts->batch_size);
	INTF("chunk_rows", opts->chunk_rows);
#undef NUMF
#undef INTF
	/* optional: states written before the weight average existed have none */
	v = hrm_json_get(o, "ema");
	if (v != NULL && v->type == HRM_JSON_NUMBER)
		opts->ema = v->number;
	v = hrm_json_get(o, "loss_type");
	opts->loss_type = (v && v->type == HRM_JSON_STRING && strstr(v->string, "softmax") != NULL)
		? HRM_LOSS_SOFTMAX : HRM_LOSS_STABLEMAX;
	if (!json_u64(hrm_json_get(o, "seed"), &opts->seed))
		return hrm_fail(err, HRM_ERR_FORMAT, "training state: seed missing");
	return HRM_OK;
}

hrm_status
hrm_trainer_load(hrm_trainer **out, const uint8_t *buf, size_t len,
				 void **extra, size_t *extra_len, hrm_error *err)
{
	uint32_t	version,
				hlen;
	uint64_t	h_stored;
	hrm_json   *root = NULL;
	hrm_config	cfg;
	hrm_train_opts opts;
	hrm_trainer *t = NULL;
	hrm_status	st;
	const hrm_json *v,
			   *secs;
	state_section sec[16];
	int			n;
	size_t		off;
	char	   *cfg_text = NULL;
	hrm_strbuf	sb;

	*out = NULL;
	if (extra)
		*extra = NULL;
	if (extra_len)
		*extra_len = 0;
	if (len < 24 || memcmp(buf, STATE_MAGIC, 8) != 0)
		return hrm_fail(err, HRM_ERR_FORMAT, "not an hrm training state (bad magic)");
	memcpy(&version, buf + 8, 4);
	memcpy(&hlen, buf + 12, 4);
	if (version != STATE_VERSION)
		return hrm_fail(err, HRM_ERR_FORMAT, "training state version %u is not supported (expected %d)",
						version, STATE_VERSION);
	if ((size_t) hlen > len - 24)
		return hrm_fail(err, HRM_ERR_FORMAT, "training state truncated (header of %u bytes)", hlen);
	memcpy(&h_stored, buf + len - 8, 8);
	if (fnv1a(buf, len - 8) != h_stored)
		return hrm_fail(err, HRM_ERR_FORMAT, "training state is damaged (checksum mismatch)");
	st = hrm_json_parse((const char *) buf + 16, hlen, &root, err);
	if (st != HRM_OK)
		return hrm_fail(err, HRM_ERR_FORMAT, "training state header: %s", err ? err->msg : "");

	/* configuration: re-serialise the object and read it back */
	v = hrm_json_get(root, "config");
	if (v == NULL || v->type != HRM_JSON_OBJECT)
	{
		st = hrm_fail(err, HRM_ERR_FORMAT, "training state: config missing");
		goto done;
	}
	hrm_strbuf_init(&sb);
	hrm_strbuf_append(&sb, "{", 1);
	for (size_t i = 0; i < v->count; i++)
	{
		const hrm_json *m = &v->items[i];

		hrm_strbuf_printf(&sb, "%s", i ? ", " : "");
		hrm_json_append_string(&sb, v->keys[i], strlen(v->keys[i]));
		hrm_strbuf_append(&sb, ": ", 2);
		if (m->type == HRM_JSON_STRING)
			hrm_json_append_string(&sb, m->string, m->string_len);
		else if (m->type == HRM_JSON_BOOL)
			hrm_strbuf_printf(&sb, "%s", m->boolean ? "true" : "false");
		else if (m->type == HRM_JSON_NUMBER && m->is_int)
			hrm_strbuf_printf(&sb, "%lld", (long long) m->integer);
		else if (m->type == HRM_JSON_NUMBER)
			hrm_strbuf_printf(&sb, "%.17g", m->number);
		else
			hrm_strbuf_printf(&sb, "null");
	}
	hrm_strbuf_append(&sb, "}", 1);
	cfg_text = sb.failed ? NULL : sb.data;
	if (cfg_text == NULL)
	{
		hrm_strbuf_free(&sb);
		st = hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
		goto done;
	}
	st = hrm_config_from_json(cfg_text, strlen(cfg_text), &cfg, err);
	free(cfg_text);
	if (st != HRM_OK)
		goto done;
	st = opts_from_json(hrm_json_get(root, "options"), &opts, err);
	if (st != HRM_OK)
		goto done;
	st = hrm_trainer_create(&t, &cfg, NULL, &opts, err);
	if (st != HRM_OK)
		goto done;
	v = hrm_json_get(root, "step");
	if (v == NULL || !v->is_int || v->integer < 0)
	{
		st = hrm_fail(err, HRM_ERR_FORMAT, "training state: step missing");
		goto done;
	}
	t->step = v->integer;
	v = hrm_json_get(root, "rng");
	if (v == NULL || v->type != HRM_JSON_ARRAY || v->count != 4 ||
		!json_u64(&v->items[0], &t->rng.s[0]) || !json_u64(&v->items[1], &t->rng.s[1]) ||
		!json_u64(&v->items[2], &t->rng.s[2]) || !json_u64(&v->items[3], &t->rng.s[3]))
	{
		st = hrm_fail(err, HRM_ERR_FORMAT, "training state: rng missing");
		goto done;
	}

	/* sections: names and sizes must match this configuration exactly */
	secs = hrm_json_get(root, "sections");
	n = state_sections(t, sec, NULL, 0);
	if (secs == NULL || secs->type != HRM_JSON_ARRAY || secs->count != (size_t) n)
	{
		st = hrm_fail(err, HRM_ERR_FORMAT, "training state: section list does not match");
		goto done;
	}
	off = 16 + hlen;
	for (int i = 0; i < n; i++)
	{
		const hrm_json *nm = hrm_json_get(&secs->items[i], "name");
		const hrm_json *by = hrm_json_get(&secs->items[i], "bytes");
		size_t		bytes;

		if (nm == NULL || nm->type != HRM_JSON_STRING || strcmp(nm->string, sec[i].name) != 0 ||
			by == NULL || !by->is_int || by->integer < 0)
		{
			st = hrm_fail(err, HRM_ERR_FORMAT, "training state: section %d should be \"%s\"", i, sec[i].name);
			goto done;
		}
		bytes = (size_t) by->integer;
		if (strcmp(sec[i].name, "extra") != 0 && bytes != sec[i].bytes)
		{
			st = hrm_fail(err, HRM_ERR_FORMAT, "training state: section \"%s\" has %zu bytes, expected %zu",
						  sec[i].name, bytes, sec[i].bytes);
			goto done;
		}
		if (bytes > len - 8 - off)
		{
			st = hrm_fail(err, HRM_ERR_FORMAT, "training state truncated in section \"%s\"", sec[i].name);
			goto done;
		}
		if (strcmp(sec[i].name, "extra") == 0)
		{
			if (extra != NULL && bytes > 0)
			{
				*extra = malloc(bytes);
				if (*extra == NULL)
				{
					st = hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
					goto done;
				}
				memcpy(*extra, buf + off, bytes);
			}
			if (extra_len)
				*extra_len = bytes;
		}
		else
			memcpy(sec[i].ptr, buf + off, bytes);
		off += bytes;
	}
	if (off != len - 8)
	{
		st = hrm_fail(err, HRM_ERR_FORMAT, "training state has %zu unexpected trailing bytes", len - 8 - off);
		goto done;
	}
	/* every carry row must be a valid state */
	for (int b = 0; b < t->B; b++)
		if (t->carry.halted[b] > 1 || t->carry.steps[b] < 0)
		{
			st = hrm_fail(err, HRM_ERR_FORMAT, "training state: carry row %d is invalid", b);
			goto done;
		}

done:
	hrm_json_free(root);
	if (st != HRM_OK)
	{
		hrm_trainer_free(t);
		if (extra && *extra)
		{
			free(*extra);
			*extra = NULL;
		}
		return st;
	}
	*out = t;
	return HRM_OK;
}
