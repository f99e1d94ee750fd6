/*
 * parity_train.c — the training engine against training fixtures
 * (stepK.* tensors: K reference training steps from the same weights).
 *
 * Checks per step: loss and metrics (relative 1e-5, counts exact), the
 * carry's halted / steps flags, the learning rate; at step 1 the gradient of
 * every trained tensor (max |engine - ref| / max |ref| <= 1e-4 where the
 * tensor's largest entry is above 1e-6) and of the gathered puzzle rows; the
 * parameters after step 1 and after the last step (|diff| <= 1e-5).
 *
 * An optimizer update whose sign comes from a gradient entry that is pure
 * rounding noise (below 1e-6 of its tensor's largest entry at step 1) may
 * flip; such entries are excused and counted in the report.  After the last
 * step the same can happen at any step after the first: a float32 rounding
 * difference (the reference's BLAS blocking differs from CPU to CPU) turns
 * a near-zero moment's sign, which AdamATan2 or SignSGD amplify to a full
 * step.  An entry off by no more than such flips can move it (4 x the
 * learning rate of every step after the first: an AdamATan2 update is at
 * most 1.27 pi/2 lr, a SignSGD one lr) is excused too, as long as such
 * entries stay rare (at most 1 in 10,000 parameters, at least 5); a wrong
 * update rule moves every entry, and the per-step loss and metrics check it.
 */
#include "parity.h"

#include "json.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double
scalar(const hrm_safetensors *st, const char *name, bool *ok)
{
	double	   *d = hrm_parity_tensor_f64(st, name, NULL);
	double		v;

	if (d == NULL)
	{
		*ok = false;
		return NAN;
	}
	v = d[0];
	free(d);
	return v;
}

/* Read the `train` metadata into options. */
static bool
parse_train_meta(const char *json, hrm_train_opts *o)
{
	hrm_json   *root = NULL;
	hrm_error	err;
	const hrm_json *v;

	if (json == NULL || hrm_json_parse(json, strlen(json), &root, &err) != HRM_OK)
		return false;
#define NUM(key, dst) do { v = hrm_json_get(root, key); if (v && v->type == HRM_JSON_NUMBER) dst = v->number; } while (0)
	NUM("lr", o->lr);
	NUM("lr_min_ratio", o->lr_min_ratio);
	NUM("beta1", o->beta1);
	NUM("beta2", o->beta2);
	NUM("weight_decay", o->weight_decay);
	NUM("puzzle_emb_lr", o->puzzle_emb_lr);
	NUM("puzzle_emb_weight_decay", o->puzzle_emb_weight_decay);
#undef NUM
	v = hrm_json_get(root, "lr_warmup_steps");
	if (v && v->is_int)
		o->lr_warmup_steps = v->integer;
	v = hrm_json_get(root, "total_steps");
	if (v && v->is_int)
		o->total_steps = v->integer;
	v = hrm_json_get(root, "loss_type");
	if (v && v->type == HRM_JSON_STRING)
		o->loss_type = strstr(v->string, "softmax") != NULL ? HRM_LOSS_SOFTMAX : HRM_LOSS_STABLEMAX;
	hrm_json_free(root);
	return true;
}

static bool
close_rel(double a, double b, double rel, double abs_tol)
{
	return fabs(a - b) <= fmax(abs_tol, rel * fabs(b));
}

/* Compare parameters with excuses for noise-level step-1 gradients. */
static int
compare_params(const hrm_trainer *t, const hrm_safetensors *e, int k, const float *g1,
			   const double *pmax, const double flip_bound[2], FILE *out, int *excused_total)
{
	const hrm_layout *lay = hrm_trainer_layout(t);
	const float *p = hrm_trainer_params(t);
	int			failures = 0;
	double		worst = 0.0;
	int			excused = 0,
				flipped = 0;
	size_t		flip_cap = lay->n_params / 10000 > 5 ? lay->n_params / 10000 : 5;

	for (int i = 0; i < lay->n_tensors; i++)
	{
		const hrm_tensor_info *ti = &lay->tensors[i];
		char		name[256];
		size_t		n = 0;
		double	   *ref;
		double		gmax = pmax[i];

		snprintf(name, sizeof(name), "step%d.param.model.inner.%s", k, ti->name);
		ref = hrm_parity_tensor_f64(e, name, &n);
		if (ref == NULL || n != ti->numel)
		{
			if (out)
				fprintf(out, "  step %d: parameter %s missing from the fixture\n", k, ti->name);
			free(ref);
			failures++;
			continue;
		}
		for (size_t j = 0; j < n; j++)
		{
			double		d = fabs((double) p[ti->offset + j] - ref[j]);

			if (d <= 1e-5)
			{
				worst = fmax(worst, d);
				continue;
			}
			if (g1 != NULL && fabs(g1[ti->offset + j]) < 1e-6 * gmax)
			{
				excused++;
				continue;
			}
			if (d <= flip_bound[strstr(ti->name, "puzzle_emb") != NULL] && (size_t) flipped < flip_cap)
			{
				flipped++;
				continue;
			}
			if (failures < 5 && out)
				fprintf(out, "  step %d: %s[%zu] = %.8g, reference %.8g\n", k, ti->name, j,
						p[ti->offset + j], ref[j]);
			failures++;
		}
		free(ref);
	}
	if (out)
		fprintf(out, "  step %d parameters: max |diff| %.2e (tol 1e-05), %d excused noise-sign entries  %s\n",
				k, worst, excused, failures == 0 ? "ok" : "FAIL");
	if (out && flipped > 0)
		fprintf(out, "  step %d: %d entries off by a later step's sign flip (each <= %.2e, puzzle rows %.2e; at most %zu allowed)\n",
				k, flipped, flip_bound[0], flip_bound[1], flip_cap);
	*excused_total += excused + flipped;
	return failures;
}


/* One AdamATan2 step from zero moments, as the engine computes it. */
static float
adam_first_step(float p0, float g, float decay, float step_size, float w1, float w2, float bc2_sqrt)
{
	float		m = w1 * g;
	float		v = w2 * (g * g);

	return p0 * decay - step_size * atan2f(m, sqrtf(v) / bc2_sqrt);
}

/* The float p0 whose update lands closest to p1 (searched around the algebraic inverse). */
static float
invert_update(float p1, float shift, float decay, float g, float step_size, float w1, float w2,
			  float bc2_sqrt, bool adam, float plr)
{
	float		guess = (float) (((double) p1 + (double) shift) / (double) decay);
	float		best = guess,
				cand = guess;
	double		best_err = INFINITY;

	for (int k = 0; k < 8; k++)
		cand = nextafterf(cand, -INFINITY);
	for (int k = 0; k < 17; k++)
	{
		float		fwd;
		double		e;

		if (adam)
			fwd = adam_first_step(cand, g, decay, step_size, w1, w2, bc2_sqrt);
		else
			fwd = cand * decay - plr * ((g > 0.0f) - (g < 0.0f));
		e = fabs((double) fwd - (double) p1);
		if (e < best_err)
		{
			best_err = e;
			best = cand;
		}
		cand = nextafterf(cand, INFINITY);
	}
	return best;
}

/*
 * Some fixture files hold, in NAME.weights.safetensors, the parameters after
 * the LAST step instead of the starting ones (the state dict was saved after
 * training).  Detect that (the file equals stepN.param bit for bit) and
 * rebuild the starting weights by inverting step 1's optimizer update, whose
 * inputs (gradient, learning rate, zero moments) the fixture holds.
 * Returns -1 on error, 0 if the file already holds the starting weights, 1 if rebuilt.
 */
static int
rebuild_initial(const hrm_layout *lay, const hrm_safetensors *e, const hrm_train_opts *o,
				int n_steps, int B, float *params, FILE *out)
{
	char		nm[256];
	bool		same = true;
	double		lr1,
				plr1;
	bool		ok = true;
	float		decay,
				pdecay,
				step_size,
				w1,
				w2,
				bc2_sqrt;

	for (int i = 0; i < lay->n_tensors && same; i++)
	{
		const hrm_tensor_info *ti = &lay->tensors[i];
		size_t		n = 0;
		double	   *last;

		snprintf(nm, sizeof(nm), "step%d.param.model.inner.%s", n_steps, ti->name);
		last = hrm_parity_tensor_f64(e, nm, &n);
		if (last == NULL || n != ti->numel)
		{
			free(last);
			return 0;
		}
		for (size_t j = 0; j < n && same; j++)
			if ((float) last[j] != params[ti->offset + j])
				same = false;
		free(last);
	}
	if (!same || n_steps < 2)
		return 0;

	lr1 = scalar(e, "step1.lr", &ok);
	if (!ok)
		lr1 = hrm_lr_schedule(o->lr, 1, o->lr_warmup_steps, o->total_steps, o->lr_min_ratio);
	plr1 = lr1 / o->lr * o->puzzle_emb_lr;
	decay = (float) (1.0 - lr1 * o->weight_decay);
	pdecay = (float) (1.0 - plr1 * o->puzzle_emb_weight_decay);
	step_size = (float) (lr1 / (1.0 - o->beta1));
	w1 = (float) (1.0 - o->beta1);
	w2 = (float) (1.0 - o->beta2);
	bc2_sqrt = (float) sqrt(1.0 - o->beta2);

	for (int i = 0; i < lay->n_tensors; i++)
	{
		const hrm_tensor_info *ti = &lay->tensors[i];
		size_t		n = 0;
		double	   *p1,
				   *g;
		float	   *dst = params + ti->offset;

		snprintf(nm, sizeof(nm), "step1.param.model.inner.%s", ti->name);
		p1 = hrm_parity_tensor_f64(e, nm, &n);
		if (p1 == NULL || n != ti->numel)
		{
			free(p1);
			return -1;
		}
		if (ti->kind == HRM_PK_BUFFER)
		{
			for (size_t j = 0; j < n; j++)
				dst[j] = (float) p1[j];
		}
		else if (ti->kind == HRM_PK_DENSE)
		{
			snprintf(nm, sizeof(nm), "step1.grad.model.inner.%s", ti->name);
			g = hrm_parity_tensor_f64(e, nm, NULL);
			if (g == NULL)
			{
				free(p1);
				return -1;
			}
			for (size_t j = 0; j < n; j++)
			{
				float		gf = (float) g[j];
				float		m = w1 * gf,
							v = w2 * (gf * gf);
				float		shift = step_size * atan2f(m, sqrtf(v) / bc2_sqrt);

				dst[j] = invert_update((float) p1[j], shift, decay, gf, step_size, w1, w2, bc2_sqrt, true, 0.0f);
			}
			free(g);
		}
		else
		{
			/* SignSGD rows: summed gradient per id; untouched rows did not move */
			int			ndim = lay->cfg.puzzle_emb_ndim;
			double	   *rows = hrm_parity_tensor_f64(e, "step1.grad.puzzle_emb_rows", NULL);
			int32_t    *ids = hrm_parity_tensor_i32(e, "step1.puzzle_identifiers", NULL);
			float	   *sum = calloc(n, sizeof(float));
			uint8_t    *touched = calloc(lay->cfg.num_puzzle_identifiers, 1);

			if (rows == NULL || ids == NULL || sum == NULL || touched == NULL)
			{
				free(rows);
				free(ids);
				free(sum);
				free(touched);
				free(p1);
				return -1;
			}
			for (int b = 0; b < B; b++)
			{
				touched[ids[b]] = 1;
				for (int d = 0; d < ndim; d++)
					sum[(size_t) ids[b] * ndim + d] += (float) rows[(size_t) b * ndim + d];
			}
			for (size_t j = 0; j < n; j++)
			{
				float		sg = (sum[j] > 0.0f) - (sum[j] < 0.0f);

				if (!touched[j / ndim])
					dst[j] = (float) p1[j];
				else
					dst[j] = invert_update((float) p1[j], (float) plr1 * sg, pdecay, sum[j], 0, 0, 0, 0,
										   false, (float) plr1);
			}
			free(rows);
			free(ids);
			free(sum);
			free(touched);
		}
		free(p1);
	}
	if (out)
		fprintf(out, "  note: the weights file equals the step %d parameters (saved after training); "
				"starting weights rebuilt by inverting step 1's update\n", n_steps);
	return 1;
}

parity_result
hrm_parity_training(const char *prefix, FILE *out)
{
	char		path[4096];
	uint8_t    *wbuf = NULL,
			   *ebuf = NULL;
	size_t		wlen,
				elen;
	hrm_safetensors w,
				e;
	hrm_config	cfg;
	hrm_layout	lay;
	hrm_train_opts opts;
	hrm_trainer *t = NULL;
	hrm_error	err;
	float	   *params = NULL,
			   *g1 = NULL;
	double	   *gmax = NULL;
	bool		have_w = false,
				have_e = false,
				have_lay = false;
	int			failures = 0,
				rebuilt = 0,
				excused = 0,
				n_steps = 0,
				B = 0;
	parity_result res = PARITY_ERROR;
	size_t		n_in;
	double		flip_bound[2] = {0.0, 0.0};	/* how far sign flips after step 1 can move an
											 * entry: dense weights, puzzle rows */

	hrm_error_clear(&err);
	snprintf(path, sizeof(path), "%s.weights.safetensors", prefix);
	wbuf = hrm_parity_read_file(path, &wlen);
	snprintf(path, sizeof(path), "%s.expected.safetensors", prefix);
	ebuf = hrm_parity_read_file(path, &elen);
	if (wbuf == NULL || ebuf == NULL)
	{
		if (out)
			fprintf(out, "%s: cannot read the fixture files\n", prefix);
		goto done;
	}
	if (hrm_st_parse(wbuf, wlen, &w, &err) != HRM_OK)
		goto fail;
	have_w = true;
	if (hrm_st_parse(ebuf, elen, &e, &err) != HRM_OK)
		goto fail;
	have_e = true;
	if (hrm_config_from_safetensors(&w, &cfg, &err) != HRM_OK)
		goto fail;
	if (hrm_layout_init(&lay, &cfg, &err) != HRM_OK)
		goto fail;
	have_lay = true;
	params = hrm_alloc(lay.n_params, sizeof(float));
	if (params == NULL || hrm_load_params(&lay, &w, params, &err) != HRM_OK)
		goto fail;
	hrm_train_opts_defaults(&opts);
	if (!parse_train_meta(hrm_st_meta(&e, "train"), &opts))
	{
		if (out)
			fprintf(out, "%s: no readable `train` metadata\n", prefix);
		goto done;
	}
	{
		const hrm_st_tensor *ti = hrm_st_find(&e, "step1.inputs");

		if (ti == NULL || ti->ndim != 2 || ti->shape[1] != cfg.seq_len)
		{
			if (out)
				fprintf(out, "%s: step1.inputs missing or of the wrong shape\n", prefix);
			goto done;
		}
		B = (int) ti->shape[0];
	}
	while (1)
	{
		snprintf(path, sizeof(path), "step%d.loss", n_steps + 1);
		if (hrm_st_find(&e, path) == NULL)
			break;
		n_steps++;
	}
	opts.batch_size = B;
	rebuilt = rebuild_initial(&lay, &e, &opts, n_steps, B, params, out);
	if (rebuilt < 0)
	{
		if (out)
			fprintf(out, "%s: cannot rebuild the starting weights from step 1\n", prefix);
		goto done;
	}
	if (hrm_trainer_create(&t, &cfg, params, &opts, &err) != HRM_OK)
		goto fail;
	if (out)
		fprintf(out, "%s: training, %s loss, B=%d, %d steps, hidden %d, halt_max_steps %d\n", prefix,
				opts.loss_type == HRM_LOSS_SOFTMAX ? "softmax" : "stablemax", B, n_steps,
				cfg.hidden_size, cfg.halt_max_steps);

	for (int k = 1; k <= n_steps; k++)
	{
		char		nm[256];
		int32_t    *in,
				   *lb,
				   *pid,
				   *halted,
				   *steps;
		hrm_train_metrics mt;
		bool		ok = true;
		int			step_fail = 0;
		static const char *const metric_names[] = {
			"count", "accuracy", "exact_accuracy", "q_halt_accuracy", "steps",
			"lm_loss", "q_halt_loss", "q_continue_loss"
		};

#define GETI(var, suffix) do { snprintf(nm, sizeof(nm), "step%d.%s", k, suffix); var = hrm_parity_tensor_i32(&e, nm, &n_in); } while (0)
		GETI(in, "inputs");
		GETI(lb, "labels");
		GETI(pid, "puzzle_identifiers");
		GETI(halted, "halted");
		GETI(steps, "steps");
#undef GETI
		if (!in || !lb || !pid || !halted || !steps)
		{
			if (out)
				fprintf(out, "  step %d: batch or carry tensors missing\n", k);
			free(in);
			free(lb);
			free(pid);
			free(halted);
			free(steps);
			failures++;
			break;
		}
		if (hrm_train_backward(t, in, lb, pid, &mt, &err) != HRM_OK)
		{
			free(in);
			free(lb);
			free(pid);
			free(halted);
			free(steps);
			goto fail;
		}
		{
			double		ref_loss,
						mine[8] = {mt.count, mt.accuracy, mt.exact_accuracy, mt.q_halt_accuracy,
						mt.steps, mt.lm_loss, mt.q_halt_loss, mt.q_continue_loss};
			double		worst_rel = 0.0;

			snprintf(nm, sizeof(nm), "step%d.loss", k);
			ref_loss = scalar(&e, nm, &ok);
			if (!close_rel(mt.loss, ref_loss, 1e-5, 1e-7))
			{
				step_fail++;
				if (out)
					fprintf(out, "  step %d: loss %.10g, reference %.10g\n", k, mt.loss, ref_loss);
			}
			worst_rel = fabs(mt.loss - ref_loss) / fmax(fabs(ref_loss), 1e-12);
			for (int j = 0; j < 8; j++)
			{
				double		r;
				bool		have = true;

				snprintf(nm, sizeof(nm), "step%d.metric.%s", k, metric_names[j]);
				r = scalar(&e, nm, &have);
				if (!have)
					continue;	/* e.g. no q_continue_loss when halt_max_steps = 1 */
				if (!close_rel(mine[j], r, 1e-5, 1e-6))
				{
					step_fail++;
					if (out)
						fprintf(out, "  step %d: metric %s %.10g, reference %.10g\n", k, metric_names[j], mine[j], r);
				}
				worst_rel = fmax(worst_rel, fabs(mine[j] - r) / fmax(fabs(r), 1e-6));
			}
			for (int b = 0; b < B; b++)
				if ((int) hrm_trainer_carry(t)->halted[b] != (halted[b] != 0) ||
					hrm_trainer_carry(t)->steps[b] != steps[b])
				{
					step_fail++;
					if (out)
						fprintf(out, "  step %d: row %d halted/steps %d/%d, reference %d/%d\n", k, b,
								hrm_trainer_carry(t)->halted[b], hrm_trainer_carry(t)->steps[b],
								halted[b], steps[b]);
				}
			if (out)
				fprintf(out, "  step %d  loss %.8f (ref %.8f)  metrics max rel diff %.2e  halted/steps %s  %s\n",
						k, mt.loss, ref_loss, worst_rel, step_fail == 0 ? "same" : "DIFFER",
						step_fail == 0 ? "ok" : "FAIL");
		}
		free(in);
		free(lb);
		free(pid);
		free(halted);
		free(steps);

		/* step-1 gradients */
		if (k == 1)
		{
			const float *g = hrm_trainer_grads(t);
			double		worst = 0.0;
			int			gfail = 0;

			g1 = malloc(sizeof(float) * lay.n_params);
			gmax = calloc(lay.n_tensors, sizeof(double));
			if (g1 == NULL || gmax == NULL)
				goto done;
			memcpy(g1, g, sizeof(float) * lay.n_params);
			for (int i = 0; i < lay.n_tensors; i++)
			{
				const hrm_tensor_info *ti = &lay.tensors[i];
				double	   *ref;
				size_t		n = 0;
				double		rmax = 0.0,
							dmax = 0.0;

				if (ti->kind == HRM_PK_BUFFER)
					continue;
				if (ti->kind == HRM_PK_SPARSE)
				{
					/* rows gathered for the batch: [B, ndim] */
					const float *pg = hrm_trainer_puzzle_grads(t);

					ref = hrm_parity_tensor_f64(&e, "step1.grad.puzzle_emb_rows", &n);
					if (ref == NULL || n != (size_t) B * cfg.puzzle_emb_ndim)
					{
						free(ref);
						gfail++;
						continue;
					}
					for (size_t j = 0; j < n; j++)
					{
						rmax = fmax(rmax, fabs(ref[j]));
						dmax = fmax(dmax, fabs(pg[j] - ref[j]));
					}
					/* the noise threshold for the SignSGD rows: per summed row, approximated by the batch */
					gmax[i] = rmax;
					for (size_t j = 0; j < ti->numel; j++)
						g1[ti->offset + j] = 0.0f;
					{
						/* summed gradient per id, for the excuse rule */
						int32_t    *p1 = hrm_parity_tensor_i32(&e, "step1.puzzle_identifiers", NULL);

						if (p1 != NULL)
						{
							for (int b = 0; b < B; b++)
								for (int d = 0; d < cfg.puzzle_emb_ndim; d++)
									g1[ti->offset + (size_t) p1[b] * cfg.puzzle_emb_ndim + d] += pg[(size_t) b * cfg.puzzle_emb_ndim + d];
							free(p1);
						}
					}
				}
				else
				{
					char		nm2[256];

					snprintf(nm2, sizeof(nm2), "step1.grad.model.inner.%s", ti->name);
					ref = hrm_parity_tensor_f64(&e, nm2, &n);
					if (ref == NULL || n != ti->numel)
					{
						if (out)
							fprintf(out, "  gradient of %s missing from the fixture\n", ti->name);
						free(ref);
						gfail++;
						continue;
					}
					for (size_t j = 0; j < n; j++)
					{
						rmax = fmax(rmax, fabs(ref[j]));
						dmax = fmax(dmax, fabs(g[ti->offset + j] - ref[j]));
					}
					gmax[i] = rmax;
				}
				free(ref);
				if (rmax > 1e-6)
				{
					double		rel = dmax / rmax;

					worst = fmax(worst, rel);
					if (rel > 1e-4)
					{
						gfail++;
						if (out)
							fprintf(out, "  gradient of %s: max rel error %.3e\n", ti->name, rel);
					}
				}
			}
			if (out)
				fprintf(out, "  step 1 gradients: %d tensors, worst max-relative error %.2e (tol 1e-04)  %s\n",
						lay.n_tensors - 2, worst, gfail == 0 ? "ok" : "FAIL");
			step_fail += gfail;
		}

		if (hrm_train_apply(t, &mt, &err) != HRM_OK)
			goto fail;
		{
			double		ref_lr;
			bool		have = true;

			snprintf(nm, sizeof(nm), "step%d.lr", k);
			ref_lr = scalar(&e, nm, &have);
			if (have && !close_rel(mt.lr, ref_lr, 1e-9, 1e-12))
			{
				step_fail++;
				if (out)
					fprintf(out, "  step %d: lr %.10g, reference %.10g\n", k, mt.lr, ref_lr);
			}
		}
		if (k > 1)
		{
			flip_bound[0] += 4.0 * mt.lr;
			flip_bound[1] += 4.0 * mt.lr / opts.lr * opts.puzzle_emb_lr;
		}
		if (k == 1 || k == n_steps)
		{
			static const double none[2] = {0.0, 0.0};

			step_fail += compare_params(t, &e, k, g1, gmax, k == 1 ? none : flip_bound, out, &excused);
		}
		failures += step_fail;
	}
	res = failures == 0 ? PARITY_PASS : PARITY_FAIL;
	goto done;

fail:
	if (out)
		fprintf(out, "%s: %s: %s\n", prefix, hrm_status_name(err.code), err.msg);
	res = err.code == HRM_ERR_UNSUPPORTED ? PARITY_SKIP : PARITY_ERROR;

done:
	hrm_trainer_free(t);
	free(g1);
	free(gmax);
	hrm_free(params);
	if (have_lay)
		hrm_layout_free(&lay);
	if (have_w)
		hrm_st_free(&w);
	if (have_e)
		hrm_st_free(&e);
	free(wbuf);
	free(ebuf);
	return res;
}
