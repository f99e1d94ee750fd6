/*
 * test_train.c — the training engine: finite-difference gradient checks of
 * every op and of the whole model, schedule and initialisation, determinism,
 * save / restore / continue bit for bit, and a convergence test.
 */
#include "check.h"

#include "gemm.h"

#include "hrm_internal.h"
#include "layers.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* finite differences on single ops: L = sum(out * w) for a random w */

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

/*
 * Directional check: compare <grad, d> with (L(x + h d) - L(x - h d)) / 2h
 * along unit directions d that lean on the gradient (so the signal stands
 * well above float32 noise) plus a random component.  Returns the worst
 * relative error.
 */
typedef double (*loss_fn) (void *ctx, const float *x);

static double
directional_check(loss_fn f, void *ctx, float *x, const float *grad, size_t n, hrm_rng *r, int trials)
{
	float	   *d = malloc(sizeof(float) * n);
	float	   *xp = malloc(sizeof(float) * n);
	double		worst = 0.0,
				gn = sqrt(dotw(grad, grad, n));

	for (int t = 0; t < trials; t++)
	{
		double		analytic,
					numeric,
					h = 1e-2,
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

typedef struct op_ctx
{
	int			M,
				N,
				K;
	int			B,
				S,
				NH,
				hd;
	const float *W;
	const float *w;				/* output weights */
	float	   *out;
	float	   *aux;
	const float *cos,
			   *sin;
} op_ctx;

static double
rmsnorm_loss(void *p, const float *x)
{
	op_ctx	   *c = p;

	hrm_rmsnorm_forward(c->out, NULL, x, c->M, c->N, 1e-5f);
	return dotw(c->out, c->w, (size_t) c->M * c->N);
}

HRM_TEST(gradcheck_rmsnorm)
{
	hrm_rng		r;
	int			M = 7,
				D = 33;
	float	   *x = malloc(sizeof(float) * M * D),
			   *y = malloc(sizeof(float) * M * D),
			   *w = malloc(sizeof(float) * M * D),
			   *dx = malloc(sizeof(float) * M * D),
				rstd[7];
	op_ctx		c = {.M = M, .N = D, .w = w, .out = malloc(sizeof(float) * M * D)};

	hrm_rng_seed(&r, 1);
	fill(x, M * D, &r, 2.0);
	fill(w, M * D, &r, 1.0);
	hrm_rmsnorm_forward(y, rstd, x, M, D, 1e-5f);
	hrm_rmsnorm_backward(dx, w, y, rstd, M, D);
	HRM_CHECK(directional_check(rmsnorm_loss, &c, x, dx, M * D, &r, 5) < 1e-2, "rmsnorm gradient");
	free(x);
	free(y);
	free(w);
	free(dx);
	free(c.out);
}

static double
swiglu_loss(void *p, const float *gu)
{
	op_ctx	   *c = p;

	hrm_swiglu_forward(c->out, gu, c->M, c->N);
	return dotw(c->out, c->w, (size_t) c->M * c->N);
}

HRM_TEST(gradcheck_swiglu)
{
	hrm_rng		r;
	int			M = 5,
				I = 24;
	float	   *gu = malloc(sizeof(float) * M * 2 * I),
			   *w = malloc(sizeof(float) * M * I),
			   *dgu = malloc(sizeof(float) * M * 2 * I);
	op_ctx		c = {.M = M, .N = I, .w = w, .out = malloc(sizeof(float) * M * I)};

	hrm_rng_seed(&r, 2);
	fill(gu, M * 2 * I, &r, 1.5);
	fill(w, M * I, &r, 1.0);
	hrm_swiglu_backward(dgu, w, gu, M, I);
	HRM_CHECK(directional_check(swiglu_loss, &c, gu, dgu, M * 2 * I, &r, 5) < 1e-2, "swiglu gradient");
	free(gu);
	free(w);
	free(dgu);
	free(c.out);
}

static double
matmul_loss_x(void *p, const float *x)
{
	op_ctx	   *c = p;

	hrm_matmul_forward(c->out, x, c->W, c->M, c->N, c->K, 0.0f);
	return dotw(c->out, c->w, (size_t) c->M * c->N);
}

static double
matmul_loss_W(void *p, const float *W)
{
	op_ctx	   *c = p;

	hrm_matmul_forward(c->out, c->aux, W, c->M, c->N, c->K, 0.0f);
	return dotw(c->out, c->w, (size_t) c->M * c->N);
}

HRM_TEST(gradcheck_matmul)
{
	hrm_rng		r;
	int			M = 6,
				N = 10,
				K = 13;
	float	   *x = malloc(sizeof(float) * M * K),
			   *W = malloc(sizeof(float) * N * K),
			   *w = malloc(sizeof(float) * M * N),
			   *dx = malloc(sizeof(float) * M * K),
			   *dW = calloc(N * K, sizeof(float));
	op_ctx		c = {.M = M, .N = N, .K = K, .W = W, .w = w, .out = malloc(sizeof(float) * M * N)};

	hrm_rng_seed(&r, 3);
	fill(x, M * K, &r, 1.0);
	fill(W, N * K, &r, 1.0);
	fill(w, M * N, &r, 1.0);
	c.aux = x;
	hrm_matmul_backward(dx, dW, w, x, W, M, N, K, 0.0f);
	HRM_CHECK(directional_check(matmul_loss_x, &c, x, dx, M * K, &r, 4) < 1e-2, "matmul dx");
	HRM_CHECK(directional_check(matmul_loss_W, &c, W, dW, N * K, &r, 4) < 1e-2, "matmul dW");
	free(x);
	free(W);
	free(w);
	free(dx);
	free(dW);
	free(c.out);
}

/* attention with RoPE: L(qkv) = sum(attention(rope(qkv)) * w) */
static double
attention_loss(void *p, const float *qkv)
{
	op_ctx	   *c = p;
	size_t		n = (size_t) c->B * c->S * 3 * c->NH * c->hd;
	float	   *tmp = malloc(sizeof(float) * n);
	float	   *probs = malloc(sizeof(float) * c->S * c->S);
	double		l;

	memcpy(tmp, qkv, sizeof(float) * n);
	hrm_rope_forward(tmp, c->cos, c->sin, c->B, c->S, c->NH, c->hd);
	hrm_attention_forward(c->out, probs, false, tmp, c->B, c->S, c->NH, c->hd, NULL);
	l = dotw(c->out, c->w, (size_t) c->B * c->S * c->NH * c->hd);
	free(tmp);
	free(probs);
	return l;
}

HRM_TEST(gradcheck_attention_rope)
{
	hrm_rng		r;
	int			B = 2,
				S = 9,
				NH = 2,
				hd = 8,
				D = NH * hd;
	size_t		nq = (size_t) B * S * 3 * D;
	float	   *qkv = malloc(sizeof(float) * nq),
			   *q2 = malloc(sizeof(float) * nq),
			   *dqkv = malloc(sizeof(float) * nq),
			   *w = malloc(sizeof(float) * B * S * D),
			   *probs = malloc(sizeof(float) * B * NH * S * S),
			   *dP = malloc(sizeof(float) * S * S),
			   *cosb = malloc(sizeof(float) * S * hd),
			   *sinb = malloc(sizeof(float) * S * hd);
	op_ctx		c = {.B = B, .S = S, .NH = NH, .hd = hd, .w = w, .cos = cosb, .sin = sinb,
	.out = malloc(sizeof(float) * B * S * D)};

	hrm_rng_seed(&r, 4);
	for (int s = 0; s < S; s++)
		for (int i = 0; i < hd; i++)
		{
			double		f = 1.0 / pow(10000.0, (double) (2 * (i % (hd / 2))) / hd);

			cosb[s * hd + i] = (float) cos(s * f);
			sinb[s * hd + i] = (float) sin(s * f);
		}
	fill(qkv, nq, &r, 1.0);
	fill(w, B * S * D, &r, 1.0);
	memcpy(q2, qkv, sizeof(float) * nq);
	hrm_rope_forward(q2, cosb, sinb, B, S, NH, hd);
	hrm_attention_forward(c.out, probs, true, q2, B, S, NH, hd, NULL);
	hrm_attention_backward(dqkv, dP, w, q2, probs, B, S, NH, hd);
	hrm_rope_backward(dqkv, cosb, sinb, B, S, NH, hd);
	HRM_CHECK(directional_check(attention_loss, &c, qkv, dqkv, nq, &r, 6) < 1e-2, "attention + rope gradient");
	free(qkv);
	free(q2);
	free(dqkv);
	free(w);
	free(probs);
	free(dP);
	free(cosb);
	free(sinb);
	free(c.out);
}

/* ---------------------------------------------------------------------- */
/* the whole model: the trainer's loss as a function of the parameters */

static const char grad_cfg[] =
"{\"seq_len\": 6, \"vocab_size\": 5, \"num_puzzle_identifiers\": 3, \"puzzle_emb_ndim\": 24,"
" \"H_cycles\": 1, \"L_cycles\": 1, \"H_layers\": 1, \"L_layers\": 2, \"hidden_size\": 16,"
" \"num_heads\": 2, \"halt_max_steps\": 1, \"halt_exploration_prob\": 0, \"pos_encodings\": \"%s\"}";

/*
 * With one H and one L cycle the no-grad loop is empty, so the reference's
 * one-step gradient is the exact gradient of the loss and finite differences
 * of the whole model apply.  (With more cycles the no-grad calls also depend
 * on the weights and the one-step gradient is, by design, an approximation;
 * the training fixtures check that case against the reference.)
 */

typedef struct model_ctx
{
	hrm_config	cfg;
	hrm_train_opts opts;
	const int32_t *in,
			   *lb,
			   *pid;
	size_t		offset;			/* the parameter range being perturbed */
	size_t		n;
	float	   *base;			/* full parameter buffer */
} model_ctx;

static double
model_loss(void *p, const float *x)
{
	model_ctx  *c = p;
	hrm_trainer *t;
	hrm_error	err;
	hrm_train_metrics mt;
	const hrm_layout *lay;
	float	   *params;
	double		loss = NAN;

	/* n_params from a throwaway layout */
	{
		hrm_layout	l;

		hrm_layout_init(&l, &c->cfg, &err);
		params = malloc(sizeof(float) * l.n_params);
		memcpy(params, c->base, sizeof(float) * l.n_params);
		hrm_layout_free(&l);
	}
	memcpy(params + c->offset, x, sizeof(float) * c->n);
	if (hrm_trainer_create(&t, &c->cfg, params, &c->opts, &err) == HRM_OK)
	{
		lay = hrm_trainer_layout(t);
		(void) lay;
		if (hrm_train_backward(t, c->in, c->lb, c->pid, &mt, &err) == HRM_OK)
			loss = mt.loss;
		hrm_trainer_free(t);
	}
	free(params);
	return loss;
}

static void
gradcheck_model(int *hrm_failures_, const char *pos, hrm_loss_type loss_type)
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
	float	   *grads;

	snprintf(js, sizeof(js), grad_cfg, pos);
	HRM_REQUIRE(hrm_config_from_json(js, strlen(js), &c.cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&c.opts);
	c.opts.batch_size = 4;
	c.opts.chunk_rows = 3;		/* exercise chunking */
	c.opts.seed = 5;
	c.opts.loss_type = loss_type;
	hrm_rng_seed(&r, 9);
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
	/* give the zero-initialised Q head and puzzle rows values so every path is exercised */
	c.base = malloc(sizeof(float) * lay->n_params);
	memcpy(c.base, hrm_trainer_params(t), sizeof(float) * lay->n_params);
	for (int i = 0; i < 2 * 16 + 2; i++)
		c.base[lay->q_w + i] = (float) (hrm_rng_normal(&r) * 0.3);
	for (int i = 0; i < 3 * 24; i++)
		c.base[lay->puzzle_emb + i] = (float) (hrm_rng_normal(&r) * 0.3);
	hrm_trainer_free(t);
	HRM_REQUIRE(hrm_trainer_create(&t, &c.cfg, c.base, &c.opts, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_train_backward(t, in, lb, pid, &mt, &err) == HRM_OK, "%s", err.msg);
	lay = hrm_trainer_layout(t);
	grads = malloc(sizeof(float) * lay->n_params);
	memcpy(grads, hrm_trainer_grads(t), sizeof(float) * lay->n_params);

	/* every dense tensor separately */
	for (int i = 0; i < lay->n_tensors; i++)
	{
		const hrm_tensor_info *ti = &lay->tensors[i];
		double		worst;

		if (ti->kind != HRM_PK_DENSE)
			continue;
		c.offset = ti->offset;
		c.n = ti->numel;
		worst = directional_check(model_loss, &c, c.base + ti->offset, grads + ti->offset, ti->numel, &r, 3);
		HRM_CHECK(worst < 1e-2, "%s (%s): %s gradient off by %.3g", pos,
				  loss_type == HRM_LOSS_SOFTMAX ? "softmax" : "stablemax", ti->name, worst);
	}
	/* the puzzle rows: d loss / d row = sum over the batch rows using that id */
	{
		const float *pg = hrm_trainer_puzzle_grads(t);
		float	   *g = calloc(3 * 24, sizeof(float));
		double		worst;

		for (int b = 0; b < 4; b++)
			for (int k = 0; k < 24; k++)
				g[pid[b] * 24 + k] += pg[b * 24 + k];
		c.offset = lay->puzzle_emb;
		c.n = 3 * 24;
		worst = directional_check(model_loss, &c, c.base + lay->puzzle_emb, g, 3 * 24, &r, 3);
		HRM_CHECK(worst < 1e-2, "%s: puzzle embedding gradient off by %.3g", pos, worst);
		free(g);
	}
	free(grads);
	free(c.base);
	hrm_trainer_free(t);
}

HRM_TEST(gradcheck_model_rope_stablemax)
{
	gradcheck_model(hrm_failures_, "rope", HRM_LOSS_STABLEMAX);
}

HRM_TEST(gradcheck_model_learned_softmax)
{
	gradcheck_model(hrm_failures_, "learned", HRM_LOSS_SOFTMAX);
}

/* ---------------------------------------------------------------------- */

HRM_TEST(lr_schedule_values)
{
	/* warmup 2, total 10, min ratio 0.1: the training fixtures' schedule */
	HRM_CHECK(fabs(hrm_lr_schedule(1e-3, 1, 2, 10, 0.1) - 5e-4) < 1e-15, "step 1");
	HRM_CHECK(fabs(hrm_lr_schedule(1e-3, 2, 2, 10, 0.1) - 1e-3) < 1e-15, "step 2");
	HRM_CHECK(fabs(hrm_lr_schedule(1e-3, 3, 2, 10, 0.1) - 0.00096575) < 1e-8, "step 3 %.10g",
			  hrm_lr_schedule(1e-3, 3, 2, 10, 0.1));
	HRM_CHECK(fabs(hrm_lr_schedule(1e-3, 10, 2, 10, 0.1) - 1e-4) < 1e-15, "end");
	/* min ratio 1: constant after warmup */
	HRM_CHECK(hrm_lr_schedule(1e-4, 5000, 2000, 26040, 1.0) == 1e-4, "constant");
}

HRM_TEST(trunc_normal_statistics)
{
	hrm_rng		r;
	double		s = 0.0,
				s2 = 0.0,
				mx = 0.0;
	int			n = 200000;

	hrm_rng_seed(&r, 42);
	for (int i = 0; i < n; i++)
	{
		double		x = hrm_trunc_normal(&r, 0.5);

		s += x;
		s2 += x * x;
		mx = fmax(mx, fabs(x));
	}
	/* std exactly sigma; bounds +-2 comp_std = +-2 * 1.1368472 * sigma */
	HRM_CHECK(fabs(s / n) < 0.005, "mean %g", s / n);
	HRM_CHECK(fabs(sqrt(s2 / n) - 0.5) < 0.005, "std %g", sqrt(s2 / n));
	HRM_CHECK(mx <= 2 * 1.1368472 * 0.5 + 1e-6 && mx > 1.1, "max %g", mx);
}

/* ---------------------------------------------------------------------- */
/* determinism and exact resume */

static const char small_cfg[] =
"{\"seq_len\": 8, \"vocab_size\": 6, \"num_puzzle_identifiers\": 2, \"puzzle_emb_ndim\": 16,"
" \"H_cycles\": 2, \"L_cycles\": 2, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 16,"
" \"num_heads\": 2, \"halt_max_steps\": 4, \"halt_exploration_prob\": 0.5}";

static void
make_batch(hrm_rng *r, int B, int T, int32_t *in, int32_t *lb, int32_t *pid)
{
	for (int i = 0; i < B * T; i++)
	{
		in[i] = (int32_t) hrm_rng_below(r, 6);
		lb[i] = (in[i] + 1) % 6;
	}
	for (int b = 0; b < B; b++)
		pid[b] = (int32_t) hrm_rng_below(r, 2);
}

static bool
run_steps(hrm_trainer *t, hrm_rng *data, int from, int to, hrm_error *err)
{
	int32_t		in[5 * 8],
				lb[5 * 8],
				pid[5];

	for (int s = from; s < to; s++)
	{
		make_batch(data, 5, 8, in, lb, pid);
		if (hrm_train_step(t, in, lb, pid, NULL, err) != HRM_OK)
			return false;
	}
	return true;
}

HRM_TEST(train_deterministic_and_resume_exact)
{
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_trainer *a = NULL,
			   *b = NULL,
			   *c = NULL;
	hrm_rng		da,
				db;
	uint8_t    *state = NULL;
	size_t		len = 0;
	void	   *extra = NULL;
	size_t		extra_len = 0;
	const char	blob[] = "sampler state";
	size_t		n;

	HRM_REQUIRE(hrm_config_from_json(small_cfg, strlen(small_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = 5;
	o.chunk_rows = 2;
	o.lr = 1e-3;
	o.lr_warmup_steps = 3;
	o.total_steps = 12;
	o.lr_min_ratio = 0.1;
	o.seed = 77;
	HRM_REQUIRE(hrm_trainer_create(&a, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_trainer_create(&b, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	n = hrm_trainer_layout(a)->n_params;
	HRM_CHECK(memcmp(hrm_trainer_params(a), hrm_trainer_params(b), n * sizeof(float)) == 0, "same seed, same init");

	/* a: 12 steps straight */
	hrm_rng_seed(&da, 1);
	HRM_REQUIRE(run_steps(a, &da, 0, 12, &err), "%s", err.msg);
	/* b: 5 steps, save, destroy, load, 7 more */
	hrm_rng_seed(&db, 1);
	HRM_REQUIRE(run_steps(b, &db, 0, 5, &err), "%s", err.msg);
	HRM_REQUIRE(hrm_trainer_save(b, blob, sizeof(blob), &state, &len, &err) == HRM_OK, "%s", err.msg);
	hrm_trainer_free(b);
	HRM_REQUIRE(hrm_trainer_load(&c, state, len, &extra, &extra_len, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(extra_len == sizeof(blob) && memcmp(extra, blob, sizeof(blob)) == 0, "caller blob restored");
	HRM_CHECK(hrm_trainer_step(c) == 5, "step %lld", (long long) hrm_trainer_step(c));
	HRM_REQUIRE(run_steps(c, &db, 5, 12, &err), "%s", err.msg);
	HRM_CHECK(memcmp(hrm_trainer_params(a), hrm_trainer_params(c), n * sizeof(float)) == 0,
			  "resumed run differs from the uninterrupted one");
	HRM_CHECK(memcmp(hrm_trainer_carry(a)->z_H, hrm_trainer_carry(c)->z_H,
					 sizeof(float) * 5 * cfg.S * cfg.hidden_size) == 0, "carry differs");

	/* damaged and truncated states are refused */
	state[len / 2] ^= 0x40;
	HRM_CHECK(hrm_trainer_load(&b, state, len, NULL, NULL, &err) == HRM_ERR_FORMAT, "damaged state accepted");
	state[len / 2] ^= 0x40;
	HRM_CHECK(hrm_trainer_load(&b, state, len - 9, NULL, NULL, &err) == HRM_ERR_FORMAT, "truncated state accepted");
	HRM_CHECK(hrm_trainer_load(&b, state, 10, NULL, NULL, &err) == HRM_ERR_FORMAT, "tiny state accepted");
	free(state);
	free(extra);
	hrm_trainer_free(a);
	hrm_trainer_free(c);
}

/*
 * The weight average (opts.ema): after each step it equals
 * ema + (1 - d)(params - ema) of the previous average and the new weights
 * (recomputed here step by step), it starts at the initial weights, it is
 * what hrm_trainer_eval_params returns, and a saved state resumes it exactly.
 */
HRM_TEST(train_ema_tracks_weights_and_resumes)
{
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_trainer *a = NULL,
			   *b = NULL,
			   *c = NULL;
	hrm_rng		da,
				db;
	uint8_t    *state = NULL;
	size_t		len = 0,
				n;
	float	   *want;
	int			bad = 0;

	HRM_REQUIRE(hrm_config_from_json(small_cfg, strlen(small_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = 4;
	o.lr = 1e-3;
	o.lr_warmup_steps = 2;
	o.seed = 5;
	o.ema = 0.9;
	HRM_REQUIRE(hrm_trainer_create(&a, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_trainer_create(&b, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	n = hrm_trainer_layout(a)->n_params;
	want = malloc(sizeof(float) * n);
	memcpy(want, hrm_trainer_params(a), sizeof(float) * n);
	HRM_CHECK(memcmp(hrm_trainer_eval_params(a), want, sizeof(float) * n) == 0, "average starts at the weights");
	hrm_rng_seed(&da, 3);
	for (int s = 0; s < 6; s++)
	{
		const float *p;

		HRM_REQUIRE(run_steps(a, &da, s, s + 1, &err), "%s", err.msg);
		p = hrm_trainer_params(a);
		for (size_t i = 0; i < n; i++)
			want[i] += (float) (1.0 - 0.9) * (p[i] - want[i]);
	}
	for (size_t i = 0; i < n; i++)
		bad += hrm_trainer_eval_params(a)[i] != want[i];
	HRM_CHECK(bad == 0, "%d averaged weights differ from the recomputed average", bad);
	HRM_CHECK(memcmp(hrm_trainer_eval_params(a), hrm_trainer_params(a), sizeof(float) * n) != 0,
			  "the average equals the weights after 6 steps");

	/* b: 3 steps, save, load, 3 more: the same average as a */
	hrm_rng_seed(&db, 3);
	HRM_REQUIRE(run_steps(b, &db, 0, 3, &err), "%s", err.msg);
	HRM_REQUIRE(hrm_trainer_save(b, NULL, 0, &state, &len, &err) == HRM_OK, "%s", err.msg);
	hrm_trainer_free(b);
	HRM_REQUIRE(hrm_trainer_load(&c, state, len, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(hrm_trainer_opts(c)->ema == 0.9, "ema option restored");
	HRM_REQUIRE(run_steps(c, &db, 3, 6, &err), "%s", err.msg);
	HRM_CHECK(memcmp(hrm_trainer_eval_params(a), hrm_trainer_eval_params(c), sizeof(float) * n) == 0,
			  "resumed average differs");
	o.ema = 1.0;
	HRM_CHECK(hrm_trainer_create(&b, &cfg, NULL, &o, &err) == HRM_ERR_CONFIG, "ema 1 accepted");
	free(state);
	free(want);
	hrm_trainer_free(a);
	hrm_trainer_free(c);
}

HRM_TEST(train_rejects_bad_labels_and_options)
{
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_trainer *t = NULL;
	int32_t		in[5 * 8] = {0},
				lb[5 * 8] = {0},
				pid[5] = {0};

	HRM_REQUIRE(hrm_config_from_json(small_cfg, strlen(small_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = 0;
	HRM_CHECK(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_ERR_CONFIG, "batch 0 accepted");
	o.batch_size = 5;
	o.beta2 = 1.5;
	HRM_CHECK(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_ERR_CONFIG, "beta2 1.5 accepted");
	o.beta2 = 0.95;
	HRM_REQUIRE(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	lb[3] = 6;
	HRM_CHECK(hrm_train_step(t, in, lb, pid, NULL, &err) == HRM_ERR_INVALID, "label 6 accepted");
	lb[3] = -100;
	in[0] = -1;
	HRM_CHECK(hrm_train_step(t, in, lb, pid, NULL, &err) == HRM_ERR_INVALID, "token -1 accepted");
	in[0] = 0;
	pid[1] = 2;
	HRM_CHECK(hrm_train_step(t, in, lb, pid, NULL, &err) == HRM_ERR_INVALID, "puzzle id 2 accepted");
	hrm_trainer_free(t);
}

/* ---------------------------------------------------------------------- */
/* convergence: a small model learns 4x4 Sudoku */

/* A random 4x4 Sudoku solution (2x2 boxes) from a base grid by relabelling and row/column shuffles. */
static void
sudoku4(hrm_rng *r, int *grid)
{
	static const int base[16] = {0, 1, 2, 3, 2, 3, 0, 1, 1, 0, 3, 2, 3, 2, 1, 0};
	int			digits[4] = {0, 1, 2, 3},
				rows[4],
				cols[4],
				bands[2] = {0, 1},
				stacks[2] = {0, 1};

	hrm_rng_shuffle_int(r, digits, 4);
	hrm_rng_shuffle_int(r, bands, 2);
	hrm_rng_shuffle_int(r, stacks, 2);
	for (int i = 0; i < 2; i++)
	{
		int			sw = (int) hrm_rng_below(r, 2),
					sc = (int) hrm_rng_below(r, 2);

		rows[2 * i] = 2 * bands[i] + sw;
		rows[2 * i + 1] = 2 * bands[i] + 1 - sw;
		cols[2 * i] = 2 * stacks[i] + sc;
		cols[2 * i + 1] = 2 * stacks[i] + 1 - sc;
	}
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			grid[i * 4 + j] = digits[base[rows[i] * 4 + cols[j]]];
}

/* Tokens: blank 1, digit d (0..3) -> d + 2; vocab 6; `blanks` cells hidden. */
static void
sudoku4_example(hrm_rng *r, int blanks, int32_t *in, int32_t *lb)
{
	int			g[16],
				order[16];

	sudoku4(r, g);
	for (int i = 0; i < 16; i++)
	{
		order[i] = i;
		in[i] = g[i] + 2;
		lb[i] = g[i] + 2;
	}
	hrm_rng_shuffle_int(r, order, 16);
	for (int k = 0; k < blanks; k++)
		in[order[k]] = 1;
}

/*
 * Convergence: a 2+2-layer, hidden-64 model learns 4x4 Sudoku with 4
 * blanks to >= 95% exact in 2000 steps.  Measured: 98.8-99.8% over seeds
 * 7, 99 and 123 on both the packed-kernel and the BLAS paths.  (With 6
 * blanks the same budget ends anywhere between 93% and 99% depending on
 * the seed and the kernels' rounding: too close to the bar for a test.)
 */
HRM_TEST(train_converges_on_4x4_sudoku)
{
	static const char cfg_json[] =
		"{\"seq_len\": 16, \"vocab_size\": 6, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 64,"
		" \"H_cycles\": 2, \"L_cycles\": 2, \"H_layers\": 2, \"L_layers\": 2, \"hidden_size\": 64,"
		" \"num_heads\": 2, \"halt_max_steps\": 1, \"halt_exploration_prob\": 0}";
	const int	B = 32,
				steps = 2000,
				n_eval = 500,
				blanks = 4;
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_trainer *t;
	hrm_rng		data;
	int32_t		in[32 * 16],
				lb[32 * 16],
				pid[32] = {0};
	hrm_model	m;
	int32_t    *ein = malloc(sizeof(int32_t) * n_eval * 16),
			   *elb = malloc(sizeof(int32_t) * n_eval * 16);
	float	   *logits = malloc(sizeof(float) * n_eval * 16 * 6),
			   *q = malloc(sizeof(float) * n_eval * 2);
	int			exact = 0;

	HRM_REQUIRE(hrm_config_from_json(cfg_json, strlen(cfg_json), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = B;
	o.lr = 2e-3;
	o.lr_warmup_steps = 100;
	o.total_steps = steps;
	o.lr_min_ratio = 0.1;
	o.weight_decay = 0.1;
	o.puzzle_emb_lr = 2e-3;
	o.seed = 123;
	hrm_set_threads(1);			/* one BLAS thread: the same float sums on every run */
	HRM_REQUIRE(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	hrm_rng_seed(&data, 2024);
	for (int s = 0; s < steps; s++)
	{
		for (int b = 0; b < B; b++)
			sudoku4_example(&data, blanks, in + b * 16, lb + b * 16);
		HRM_REQUIRE(hrm_train_step(t, in, lb, pid, NULL, &err) == HRM_OK, "%s", err.msg);
	}
	/* held-out puzzles, fixed 2 segments as the reference evaluates */
	for (int i = 0; i < n_eval; i++)
		sudoku4_example(&data, blanks, ein + i * 16, elb + i * 16);
	HRM_REQUIRE(hrm_model_init(&m, hrm_trainer_layout(t), hrm_trainer_params(t), &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_infer(&m, ein, NULL, n_eval, NULL, logits, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < n_eval; i++)
	{
		bool		ok = true;

		for (int c = 0; c < 16 && ok; c++)
		{
			const float *l = logits + ((size_t) i * 16 + c) * 6;
			int			best = 0;

			for (int v = 1; v < 6; v++)
				if (l[v] > l[best])
					best = v;
			ok = best == elb[i * 16 + c];
		}
		exact += ok;
	}
	printf("     4x4 sudoku (%d blanks) after %d steps: %.1f%% exact on %d held-out puzzles\n",
		   blanks, steps, 100.0 * exact / n_eval, n_eval);
	HRM_CHECK(exact >= 0.95 * n_eval, "exact accuracy %.1f%% < 95%%", 100.0 * exact / n_eval);
	/*
	 * hrm.precision = bf16 on the trained model: the answers of the
	 * held-out puzzles equal float32's on at least 99% of the cells
	 * (measured: 100%).  (Random-weight models are no test of this: their
	 * logits are nearly tied, and a recurrent random model amplifies any
	 * rounding, float32's own summation order included.)
	 */
	if (hrm_gemm_bf16_available())
	{
		float	   *l16 = malloc(sizeof(float) * n_eval * 16 * 6);
		int			same = 0;

		HRM_REQUIRE(l16 != NULL, "alloc");
		HRM_REQUIRE(hrm_model_pack(&m, false, &err) == HRM_OK && hrm_model_pack_bf16(&m, NULL, true, &err) == HRM_OK,
					"%s", err.msg);
		HRM_REQUIRE(hrm_model_set_precision(&m, HRM_PRECISION_BF16), "bf16 not taken");
		HRM_REQUIRE(hrm_infer(&m, ein, NULL, n_eval, NULL, l16, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		for (int i = 0; i < n_eval * 16; i++)
		{
			int			a = 0,
						b = 0;

			for (int v = 1; v < 6; v++)
			{
				if (logits[(size_t) i * 6 + v] > logits[(size_t) i * 6 + a])
					a = v;
				if (l16[(size_t) i * 6 + v] > l16[(size_t) i * 6 + b])
					b = v;
			}
			same += a == b;
		}
		printf("     bf16 on the trained model: the answer equals float32's on %.2f%% of %d cells\n",
			   100.0 * same / (n_eval * 16), n_eval * 16);
		HRM_CHECK(same >= 0.99 * n_eval * 16, "bf16 agrees with float32 on %.2f%% of cells < 99%%",
				  100.0 * same / (n_eval * 16));
		free(l16);
	}
	hrm_model_free(&m);
	hrm_trainer_free(t);
	free(ein);
	free(elb);
	free(logits);
	free(q);
}
