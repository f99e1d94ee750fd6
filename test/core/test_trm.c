/*
 * test_trm.c — the Tiny Recursive Model: finite-difference checks of the
 * token-mixing (mlp_t) block's backward and of the whole TRM training
 * gradient (attention and mlp_t), the halting rule without Q-continue, and
 * the weight average over the dense weights only.
 */
#include "check.h"

#include "hrm_internal.h"
#include "layers.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

static void
fill(float *x, size_t n, hrm_rng *r, double scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float) (hrm_rng_normal(r) * scale);
}

static double
dotw(const float *a, const float *w, size_t n)
{
	double		s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double) a[i] * w[i];
	return s;
}

typedef double (*loss_fn) (void *ctx, const float *x);

/*
 * Central differences of L along unit directions that lean on the analytic
 * gradient (plus a random part after the first trial); the worst relative
 * error between <grad, d> and the difference quotient.
 */
static double
directional_check(loss_fn f, void *ctx, const float *x, const float *grad, size_t n, hrm_rng *r,
				  int trials, double h)
{
	float	   *d = malloc(sizeof(float) * n);
	float	   *xp = malloc(sizeof(float) * n);
	double		worst = 0.0,
				gn = sqrt(dotw(grad, grad, n));

	for (int t = 0; t < trials; t++)
	{
		double		analytic,
					numeric,
					rn,
					dn;

		fill(d, n, r, 1.0);
		rn = sqrt(dotw(d, d, n));
		for (size_t i = 0; i < n; i++)
			d[i] = (float) ((gn > 0 ? grad[i] / gn : 0.0) + (t == 0 ? 0.0 : 0.7 * d[i] / rn));
		dn = sqrt(dotw(d, d, n));
		for (size_t i = 0; i < n; i++)
			d[i] = (float) (d[i] / dn);
		analytic = dotw(grad, d, n);
		for (size_t i = 0; i < n; i++)
			xp[i] = x[i] + (float) h * d[i];
		numeric = f(ctx, xp);
		for (size_t i = 0; i < n; i++)
			xp[i] = x[i] - (float) h * d[i];
		numeric = (numeric - f(ctx, xp)) / (2 * h);
		worst = fmax(worst, fabs(analytic - numeric) / fmax(1e-6, fmax(fabs(numeric), fabs(analytic))));
	}
	free(d);
	free(xp);
	return worst;
}

/* ---------------------------------------------------------------------- */
/* one mlp_t block: L = sum(block(h) * w) */

static const char block_cfg[] =
"{\"arch\": \"trm\", \"seq_len\": 7, \"vocab_size\": 5, \"num_puzzle_identifiers\": 1,"
" \"puzzle_emb_ndim\": 12, \"puzzle_emb_len\": 2, \"H_cycles\": 1, \"L_cycles\": 1,"
" \"L_layers\": 1, \"hidden_size\": 12, \"num_heads\": 2, \"expansion\": 2,"
" \"pos_encodings\": \"none\", \"mlp_t\": true, \"no_ACT_continue\": true}";

typedef struct block_ctx
{
	hrm_layout	lay;
	float	   *params;			/* perturbed copy */
	const float *base;
	hrm_workspace *ws;
	const float *h0;			/* the block input */
	const float *w;
	float	   *h;
	int			B;
	size_t		off,
				n;				/* the range x stands for (n == 0: the input h) */
} block_ctx;

static double
block_loss(void *p, const float *x)
{
	block_ctx  *c = p;
	hrm_model	m;
	size_t		MD = (size_t) c->B * c->lay.cfg.S * c->lay.cfg.hidden_size;
	double		l;

	memcpy(c->params, c->base, sizeof(float) * c->lay.n_params);
	if (c->n > 0)
		memcpy(c->params + c->off, x, sizeof(float) * c->n);
	memcpy(c->h, c->n > 0 ? c->h0 : x, sizeof(float) * MD);
	if (hrm_model_init(&m, &c->lay, c->params, NULL) != HRM_OK)
		return NAN;
	hrm_block_forward(&m, &c->lay.L_blocks[0], NULL, c->h, c->B, c->ws, NULL);
	l = dotw(c->h, c->w, MD);
	hrm_model_free(&m);
	return l;
}

HRM_TEST(gradcheck_mlp_t_block)
{
	hrm_config	cfg;
	hrm_error	err;
	block_ctx	c;
	hrm_rng		r;
	hrm_model	m;
	hrm_block_acts a;
	float	   *base,
			   *grads,
			   *dh,
			   *mem,
			   *h0,
			   *w;
	size_t		MD,
				dgu;
	const hrm_block_offsets *bo;
	hrm_trm_scratch sc;
	struct
	{
		const char *name;
		size_t		off,
					n;
	}			ranges[4];

	memset(&c, 0, sizeof(c));
	HRM_REQUIRE(hrm_config_from_json(block_cfg, strlen(block_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_layout_init(&c.lay, &cfg, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(c.lay.cfg.S == 9 && c.lay.cfg.inter_size_t == 256, "S %d, token width %d",
			  c.lay.cfg.S, c.lay.cfg.inter_size_t);
	c.B = 2;
	MD = (size_t) c.B * c.lay.cfg.S * c.lay.cfg.hidden_size;
	hrm_rng_seed(&r, 11);
	base = malloc(sizeof(float) * c.lay.n_params);
	c.params = malloc(sizeof(float) * c.lay.n_params);
	grads = calloc(c.lay.n_params, sizeof(float));
	h0 = malloc(sizeof(float) * MD);
	w = malloc(sizeof(float) * MD);
	dh = malloc(sizeof(float) * MD);
	c.h = malloc(sizeof(float) * MD);
	hrm_init_params(&c.lay, base, &r);
	fill(h0, MD, &r, 1.0);
	fill(w, MD, &r, 1.0);
	c.base = base;
	c.h0 = h0;
	c.w = w;
	HRM_REQUIRE(hrm_model_init(&m, &c.lay, base, &err) == HRM_OK, "%s", err.msg);
	c.ws = hrm_workspace_create(&m, c.B, &err);
	HRM_REQUIRE(c.ws != NULL, "%s", err.msg);

	/* forward with kept activations, then the backward of L */
	bo = &c.lay.L_blocks[0];
	mem = hrm_alloc(hrm_block_acts_floats_mlp_t(&c.lay.cfg, c.B), sizeof(float));
	HRM_CHECK(hrm_block_acts_carve_mlp_t(&a, &c.lay.cfg, c.B, mem) ==
			  mem + hrm_block_acts_floats_mlp_t(&c.lay.cfg, c.B), "carved size");
	memcpy(c.h, h0, sizeof(float) * MD);
	hrm_block_forward(&m, bo, NULL, c.h, c.B, c.ws, &a);
	HRM_CHECK(fabs(dotw(c.h, w, MD) - block_loss(&c, h0)) < 1e-4, "kept-activation forward differs");
	dgu = (size_t) c.B * c.lay.cfg.hidden_size * 2 * c.lay.cfg.inter_size_t;
	if (dgu < (size_t) c.B * c.lay.cfg.S * 2 * c.lay.cfg.inter_size)
		dgu = (size_t) c.B * c.lay.cfg.S * 2 * c.lay.cfg.inter_size;
	sc.dt = malloc(sizeof(float) * MD);
	sc.dgu = malloc(sizeof(float) * dgu);
	sc.dact = malloc(sizeof(float) * dgu / 2);
	memcpy(dh, w, sizeof(float) * MD);
	hrm_block_backward_mlp_t(&m, bo, &a, dh, grads, c.B, &sc);

	/* the input, then each weight tensor of the block */
	c.n = 0;
	{
		double		e = directional_check(block_loss, &c, h0, dh, MD, &r, 4, 1e-2);

		HRM_CHECK(e < 1e-2, "mlp_t block: input gradient off by %.3g", e);
	}
	ranges[0].name = "mlp_t.gate_up_proj";
	ranges[0].off = bo->t_gate_up;
	ranges[0].n = (size_t) 2 * c.lay.cfg.inter_size_t * c.lay.cfg.S;
	ranges[1].name = "mlp_t.down_proj";
	ranges[1].off = bo->t_down;
	ranges[1].n = (size_t) c.lay.cfg.S * c.lay.cfg.inter_size_t;
	ranges[2].name = "mlp.gate_up_proj";
	ranges[2].off = bo->gate_up;
	ranges[2].n = (size_t) 2 * c.lay.cfg.inter_size * c.lay.cfg.hidden_size;
	ranges[3].name = "mlp.down_proj";
	ranges[3].off = bo->down;
	ranges[3].n = (size_t) c.lay.cfg.hidden_size * c.lay.cfg.inter_size;
	for (int i = 0; i < 4; i++)
	{
		double		e;

		c.off = ranges[i].off;
		c.n = ranges[i].n;
		e = directional_check(block_loss, &c, base + c.off, grads + c.off, c.n, &r, 4, 1e-2);
		HRM_CHECK(e < 1e-2, "mlp_t block: %s gradient off by %.3g", ranges[i].name, e);
	}
	free(sc.dt);
	free(sc.dgu);
	free(sc.dact);
	hrm_free(mem);
	hrm_workspace_free(c.ws);
	hrm_model_free(&m);
	hrm_layout_free(&c.lay);
	free(base);
	free(c.params);
	free(grads);
	free(h0);
	free(w);
	free(dh);
	free(c.h);
}

/* ---------------------------------------------------------------------- */
/* the whole TRM step: the trainer's loss as a function of the parameters */

/*
 * With H_cycles = 1 there is no no-grad recursion: the last (only)
 * recursion is backpropagated in full, so the step's gradient is the exact
 * gradient of its loss and finite differences of the whole model apply
 * (through L_cycles = 2 latent updates and the answer update of the one
 * shared network).  halt_max_steps 2: the Q-continue logit has no loss
 * (no_ACT_continue), so its head row must get no gradient.  Steps of 1e-3:
 * the recursion (three calls of two post-norm blocks) curves enough that
 * with 1e-2 the second-order term alone is ~2% of some directional
 * derivatives; with 1e-3 the worst error measured is ~2e-4.
 */
static const char trm_grad_cfg[] =
"{\"arch\": \"trm\", \"seq_len\": 6, \"vocab_size\": 5, \"num_puzzle_identifiers\": 3,"
" \"puzzle_emb_ndim\": 20, \"puzzle_emb_len\": 2, \"H_cycles\": 1, \"L_cycles\": 2,"
" \"L_layers\": 2, \"hidden_size\": 16, \"num_heads\": 2, \"halt_max_steps\": 2,"
" \"halt_exploration_prob\": 0, \"pos_encodings\": \"%s\", \"mlp_t\": %s, \"no_ACT_continue\": true}";

typedef struct model_ctx
{
	hrm_config	cfg;
	hrm_train_opts opts;
	const int32_t *in,
			   *lb,
			   *pid;
	size_t		offset,
				n;
	const float *base;
	size_t		n_params;
} model_ctx;

static double
model_loss(void *p, const float *x)
{
	model_ctx  *c = p;
	hrm_trainer *t;
	hrm_train_metrics mt;
	float	   *params = malloc(sizeof(float) * c->n_params);
	double		loss = NAN;

	memcpy(params, c->base, sizeof(float) * c->n_params);
	memcpy(params + c->offset, x, sizeof(float) * c->n);
	if (hrm_trainer_create(&t, &c->cfg, params, &c->opts, NULL) == HRM_OK)
	{
		if (hrm_train_backward(t, c->in, c->lb, c->pid, &mt, NULL) == HRM_OK)
			loss = mt.loss;
		hrm_trainer_free(t);
	}
	free(params);
	return loss;
}

static void
gradcheck_trm_model(int *hrm_failures_, const char *pos, bool mlp_t)
{
	char		js[1024];
	model_ctx	c;
	hrm_error	err;
	hrm_trainer *t;
	hrm_train_metrics mt;
	hrm_rng		r;
	int32_t		in[4 * 6],
				lb[4 * 6],
				pid[4] = {0, 2, 2, 1};
	const hrm_layout *lay;
	float	   *grads,
			   *base;

	snprintf(js, sizeof(js), trm_grad_cfg, pos, mlp_t ? "true" : "false");
	HRM_REQUIRE(hrm_config_from_json(js, strlen(js), &c.cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&c.opts);
	c.opts.batch_size = 4;
	c.opts.chunk_rows = 3;		/* two chunks */
	c.opts.seed = 5;
	hrm_rng_seed(&r, 19);
	for (int i = 0; i < 24; i++)
	{
		in[i] = (int32_t) hrm_rng_below(&r, 5);
		lb[i] = i % 7 == 3 ? HRM_IGNORE_LABEL : (int32_t) hrm_rng_below(&r, 5);
	}
	c.in = in;
	c.lb = lb;
	c.pid = pid;
	HRM_REQUIRE(hrm_trainer_create(&t, &c.cfg, NULL, &c.opts, &err) == HRM_OK, "%s", err.msg);
	lay = hrm_trainer_layout(t);
	c.n_params = lay->n_params;
	/* the Q head and the puzzle rows start at zero: give them values so every path is exercised */
	base = malloc(sizeof(float) * lay->n_params);
	memcpy(base, hrm_trainer_params(t), sizeof(float) * lay->n_params);
	for (int i = 0; i < 2 * 16 + 2; i++)
		base[lay->q_w + i] = (float) (hrm_rng_normal(&r) * 0.3);
	for (int i = 0; i < 3 * 20; i++)
		base[lay->puzzle_emb + i] = (float) (hrm_rng_normal(&r) * 0.3);
	c.base = base;
	hrm_trainer_free(t);
	HRM_REQUIRE(hrm_trainer_create(&t, &c.cfg, base, &c.opts, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_train_backward(t, in, lb, pid, &mt, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(mt.q_continue_loss == 0.0, "a Q-continue loss without ACT continue: %g", mt.q_continue_loss);
	lay = hrm_trainer_layout(t);
	grads = malloc(sizeof(float) * lay->n_params);
	memcpy(grads, hrm_trainer_grads(t), sizeof(float) * lay->n_params);
	{
		bool		zero = grads[lay->q_b + 1] == 0.0f;

		for (int k = 0; k < 16; k++)
			zero = zero && grads[lay->q_w + 16 + k] == 0.0f;
		HRM_CHECK(zero, "%s: the Q-continue row of the head has a gradient", pos);
	}
	for (int i = 0; i < lay->n_tensors; i++)
	{
		const hrm_tensor_info *ti = &lay->tensors[i];
		double		worst;

		if (ti->kind != HRM_PK_DENSE)
			continue;
		c.offset = ti->offset;
		c.n = ti->numel;
		worst = directional_check(model_loss, &c, base + ti->offset, grads + ti->offset, ti->numel, &r, 3, 1e-3);
		HRM_CHECK(worst < 2e-3, "trm %s%s: %s gradient off by %.3g", pos, mlp_t ? " mlp_t" : "",
				  ti->name, worst);
	}
	{
		const float *pg = hrm_trainer_puzzle_grads(t);
		float	   *g = calloc(3 * 20, sizeof(float));
		double		worst;

		for (int b = 0; b < 4; b++)
			for (int k = 0; k < 20; k++)
				g[pid[b] * 20 + k] += pg[b * 20 + k];
		c.offset = lay->puzzle_emb;
		c.n = 3 * 20;
		worst = directional_check(model_loss, &c, base + lay->puzzle_emb, g, 3 * 20, &r, 3, 1e-3);
		HRM_CHECK(worst < 2e-3, "trm %s: puzzle embedding gradient off by %.3g", pos, worst);
		free(g);
	}
	free(grads);
	free(base);
	hrm_trainer_free(t);
}

HRM_TEST(gradcheck_trm_model_rope)
{
	gradcheck_trm_model(hrm_failures_, "rope", false);
}

HRM_TEST(gradcheck_trm_model_mlp_t)
{
	gradcheck_trm_model(hrm_failures_, "none", true);
}

/* ---------------------------------------------------------------------- */
/* halting on q_halt > 0, and the weight average */

static const char trm_small_cfg[] =
"{\"arch\": \"trm\", \"seq_len\": 8, \"vocab_size\": 6, \"num_puzzle_identifiers\": 2,"
" \"puzzle_emb_ndim\": 16, \"puzzle_emb_len\": 1, \"H_cycles\": 2, \"L_cycles\": 2,"
" \"L_layers\": 1, \"hidden_size\": 16, \"num_heads\": 2, \"halt_max_steps\": 4,"
" \"halt_exploration_prob\": 0, \"mlp_t\": %s, \"no_ACT_continue\": true}";

static void
small_batch(hrm_rng *r, int B, int32_t *in, int32_t *lb, int32_t *pid)
{
	for (int i = 0; i < B * 8; i++)
	{
		in[i] = (int32_t) hrm_rng_below(r, 6);
		lb[i] = (in[i] + 1) % 6;
	}
	for (int b = 0; b < B; b++)
		pid[b] = (int32_t) hrm_rng_below(r, 2);
}

/*
 * The Q head's bias decides halting by itself when its weights are zero:
 * q_halt = +3 > 0 halts every row after one step although q_continue (+6)
 * is larger (the HRM rule would continue); q_halt = -3 runs every row to
 * halt_max_steps.
 */
HRM_TEST(trm_halts_on_q_halt_alone)
{
	char		js[512];
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_rng		r,
				data;
	int32_t		in[3 * 8],
				lb[3 * 8],
				pid[3];

	snprintf(js, sizeof(js), trm_small_cfg, "false");
	HRM_REQUIRE(hrm_config_from_json(js, strlen(js), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = 3;
	o.lr = 0.0;					/* the weights stay as set */
	o.weight_decay = 0.0;
	o.puzzle_emb_lr = 0.0;
	hrm_rng_seed(&data, 4);
	for (int sign = 1; sign >= -1; sign -= 2)
	{
		hrm_trainer *t;
		hrm_layout	lay;
		float	   *p;

		HRM_REQUIRE(hrm_layout_init(&lay, &cfg, &err) == HRM_OK, "%s", err.msg);
		p = hrm_alloc(lay.n_params, sizeof(float));
		hrm_rng_seed(&r, 8);
		hrm_init_params(&lay, p, &r);
		p[lay.q_b] = 3.0f * sign;
		p[lay.q_b + 1] = 6.0f;
		HRM_REQUIRE(hrm_trainer_create(&t, &cfg, p, &o, &err) == HRM_OK, "%s", err.msg);
		for (int s = 1; s <= 4; s++)
		{
			int			halted = 0,
						steps_ok = 1;

			small_batch(&data, 3, in, lb, pid);
			HRM_REQUIRE(hrm_train_step(t, in, lb, pid, NULL, &err) == HRM_OK, "%s", err.msg);
			for (int b = 0; b < 3; b++)
			{
				halted += hrm_trainer_carry(t)->halted[b];
				steps_ok &= hrm_trainer_carry(t)->steps[b] == (sign > 0 ? 1 : s);
			}
			HRM_CHECK(halted == (sign > 0 || s == 4 ? 3 : 0), "q_halt %+d, step %d: %d rows halted",
					  3 * sign, s, halted);
			HRM_CHECK(steps_ok, "q_halt %+d, step %d: step counters", 3 * sign, s);
		}
		hrm_trainer_free(t);
		hrm_free(p);
		hrm_layout_free(&lay);
	}
}

/*
 * TRM's weight average covers the trained dense weights (the reference's
 * EMA over its parameters); the puzzle embedding, a buffer there trained by
 * SignSGD, is taken as it is, and H_init / L_init never move.
 */
HRM_TEST(trm_ema_dense_weights_only)
{
	char		js[512];
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_trainer *t;
	hrm_rng		data;
	int32_t		in[4 * 8],
				lb[4 * 8],
				pid[4];
	const hrm_layout *lay;
	float	   *want;
	size_t		n;
	int			bad = 0;

	snprintf(js, sizeof(js), trm_small_cfg, "true");
	HRM_REQUIRE(hrm_config_from_json(js, strlen(js), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = 4;
	o.lr = 1e-3;
	o.lr_warmup_steps = 1;
	o.seed = 3;
	o.ema = 0.8;
	HRM_REQUIRE(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	lay = hrm_trainer_layout(t);
	n = lay->n_params;
	want = malloc(sizeof(float) * n);
	memcpy(want, hrm_trainer_params(t), sizeof(float) * n);
	hrm_rng_seed(&data, 6);
	for (int s = 0; s < 5; s++)
	{
		const float *p;

		small_batch(&data, 4, in, lb, pid);
		HRM_REQUIRE(hrm_train_step(t, in, lb, pid, NULL, &err) == HRM_OK, "%s", err.msg);
		p = hrm_trainer_params(t);
		for (size_t i = lay->dense_begin; i < lay->dense_end; i++)
			want[i] += (float) (1.0 - 0.8) * (p[i] - want[i]);
	}
	for (size_t i = lay->dense_begin; i < lay->dense_end; i++)
		bad += hrm_trainer_eval_params(t)[i] != want[i];
	HRM_CHECK(bad == 0, "%d averaged dense weights differ from the recomputed average", bad);
	HRM_CHECK(memcmp(hrm_trainer_eval_params(t) + lay->puzzle_emb, hrm_trainer_params(t) + lay->puzzle_emb,
					 sizeof(float) * (n - lay->puzzle_emb)) == 0, "the puzzle embedding was averaged");
	HRM_CHECK(memcmp(hrm_trainer_eval_params(t) + lay->puzzle_emb, want + lay->puzzle_emb,
					 sizeof(float) * (n - lay->puzzle_emb)) != 0, "the puzzle embedding did not train");
	HRM_CHECK(memcmp(hrm_trainer_eval_params(t), hrm_trainer_params(t), sizeof(float) * lay->dense_begin) == 0,
			  "H_init / L_init differ in the average");
	free(want);
	hrm_trainer_free(t);
}
