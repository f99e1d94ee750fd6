/*
 * views.c — batched solving with test-time scaling (views.h).
 */
#include "views.h"
#include "parallel.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* views */

int
hrm_views_limit(hrm_task task)
{
	return hrm_task_get(task)->max_views;
}

hrm_status
hrm_views_draw(hrm_task task, int n, uint64_t seed, hrm_view *views, hrm_error *err)
{
	const hrm_task_ops *ops = hrm_task_get(task);
	hrm_rng		r;

	if (n < 1 || n > ops->max_views)
		return hrm_fail(err, HRM_ERR_INVALID, "%d views asked of a %s puzzle, which allows 1 to %d",
						n, hrm_task_name(task), ops->max_views);
	for (int k = 0; k < n; k++)
		hrm_view_identity(&views[k]);
	hrm_rng_seed(&r, seed ^ 0x76696577735eedULL);
	if (ops->view_draw != NULL)
		ops->view_draw(&r, views, n);
	return HRM_OK;
}

static hrm_status
view_transform(hrm_task task, const hrm_view *v, bool inverse, const int32_t *in, int32_t *out,
			   hrm_error *err)
{
	const hrm_task_ops *ops = hrm_task_get(task);

	if (ops->view_transform == NULL)
		return hrm_fail(err, HRM_ERR_INVALID, "a %s puzzle has no symmetries to view it under",
						hrm_task_name(task));
	return ops->view_transform(v, inverse, in, out, err);
}

hrm_status
hrm_view_apply(hrm_task task, const hrm_view *v, const int32_t *in, int32_t *out, hrm_error *err)
{
	return view_transform(task, v, false, in, out, err);
}

hrm_status
hrm_view_invert(hrm_task task, const hrm_view *v, const int32_t *in, int32_t *out, hrm_error *err)
{
	return view_transform(task, v, true, in, out, err);
}

/* ------------------------------------------------------------------------- */
/* decoding and checking */

/* argmax of x[lo..hi] (first on ties) and the softmax probability it has over that range */
static inline int
argmax_prob(const float *x, int lo, int hi, double *prob)
{
	int			best = lo;
	double		sum = 0.0;

	for (int k = lo + 1; k <= hi; k++)
		if (x[k] > x[best])
			best = k;
	for (int k = lo; k <= hi; k++)
		sum += exp((double) x[k] - (double) x[best]);
	*prob = (sum > 0.0 && isfinite(sum)) ? 1.0 / sum : 0.0;
	return best;
}

float
hrm_answer_decode(hrm_task alphabet, const int32_t *input, const float *logits, int T, int V,
				  int32_t *pred)
{
	const hrm_task_ops *ops = hrm_task_get(alphabet);
	/* the task's alphabet applies to a model of the task's vocabulary; else the whole vocabulary */
	bool		own = ops->answer_range != NULL && V == ops->vocab_size;
	double		sum = 0.0,
				p;
	int			cells = 0;

	for (int i = 0; i < T; i++)
	{
		const float *x = logits + (size_t) i * V;
		int			lo = 0,
					hi = V - 1;

		if (own)
		{
			int			fixed = ops->answer_range(input[i], &lo, &hi);

			if (fixed >= 0)
			{
				pred[i] = fixed;
				continue;
			}
		}
		pred[i] = argmax_prob(x, lo, hi, &p);
		sum += p;
		cells++;
	}
	return cells > 0 ? (float) (sum / cells) : 0.0f;
}

void
hrm_answer_check(hrm_task task, const int32_t *input, const int32_t *pred, hrm_answer_verdict *v)
{
	const hrm_task_ops *ops = hrm_task_get(task);

	memset(v, 0, sizeof(*v));
	if (ops->check != NULL)
		ops->check(input, pred, v);
}

/* ------------------------------------------------------------------------- */
/* the vote */

static uint64_t
answer_hash(const int32_t *a, int T)
{
	uint64_t	h = 1469598103934665603ULL;

	for (int i = 0; i < T; i++)
	{
		h ^= (uint32_t) a[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int
hrm_views_vote(int n, int T, const int32_t *answers, const bool *ok, const float *certainty, int *agree)
{
	uint64_t	hash[HRM_VIEWS_MAX];
	bool		any_ok = false;
	int			best = 0,
				best_count = -1;
	float		best_cert = -INFINITY;

	if (n > HRM_VIEWS_MAX)
		n = HRM_VIEWS_MAX;
	if (n <= 1)
	{
		if (agree)
			*agree = n;
		return 0;
	}
	for (int i = 0; i < n; i++)
	{
		hash[i] = answer_hash(answers + (size_t) i * T, T);
		if (ok != NULL && ok[i])
			any_ok = true;
	}
#define ELIGIBLE(i) (!any_ok || ok[i])
#define SAME(i, j) (hash[i] == hash[j] && memcmp(answers + (size_t) (i) * T, answers + (size_t) (j) * T, sizeof(int32_t) * (size_t) T) == 0)
	for (int i = 0; i < n; i++)
	{
		bool		first = true;
		int			count = 0,
					rep = i;
		float		gcert = -INFINITY;

		if (!ELIGIBLE(i))
			continue;
		for (int j = 0; j < i && first; j++)
			if (ELIGIBLE(j) && SAME(i, j))
				first = false;
		if (!first)
			continue;			/* counted with its first view */
		for (int j = i; j < n; j++)
			if (ELIGIBLE(j) && SAME(i, j))
			{
				float		c = certainty ? certainty[j] : 0.0f;

				count++;
				if (c > gcert)	/* NaN never wins */
				{
					gcert = c;
					rep = j;
				}
			}
		if (count > best_count || (count == best_count && gcert > best_cert))
		{
			best = rep;
			best_count = count;
			best_cert = gcert;
		}
	}
	if (agree)
	{
		int			a = 0;

		for (int j = 0; j < n; j++)
			a += SAME(best, j);
		*agree = a;
	}
#undef ELIGIBLE
#undef SAME
	return best;
}

/* ------------------------------------------------------------------------- */
/* scratch */

struct hrm_views_ctx
{
	/* the shapes and thread count the scratch was made for */
	int			T,
				V,
				S,
				D,
				key[8];
	int			threads;
	hrm_workspace *ws;
	hrm_carry	carry;			/* carry.B rows */
	int			rows;			/* rows the buffers hold */
	int32_t    *in;				/* [rows, T] view inputs */
	int32_t    *pid;			/* [rows] */
	float	   *logits;			/* [rows, T, V] */
	float	   *q;				/* [rows, 2] */
	int32_t    *steps;			/* [rows] */
	int32_t    *pred;			/* [rows, T] answers in the view's frame */
	int32_t    *ans;			/* [rows, T] answers mapped back */
	float	   *cert;			/* [rows] */
	bool	   *ok;				/* [rows] */
	size_t		bytes;
};

hrm_views_ctx *
hrm_views_ctx_create(void)
{
	return calloc(1, sizeof(hrm_views_ctx));
}

static void
ctx_release(hrm_views_ctx *c)
{
	hrm_workspace_free(c->ws);
	hrm_carry_free(&c->carry);
	free(c->in);
	free(c->pid);
	free(c->logits);
	free(c->q);
	free(c->steps);
	free(c->pred);
	free(c->ans);
	free(c->cert);
	free(c->ok);
	memset(c, 0, sizeof(*c));
}

void
hrm_views_ctx_free(hrm_views_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx_release(ctx);
	free(ctx);
}

size_t
hrm_views_ctx_bytes(const hrm_views_ctx *ctx)
{
	return ctx ? ctx->bytes : 0;
}

/* bytes of the per-row buffers */
static size_t
row_bytes(int T, int V)
{
	return (size_t) T * V * sizeof(float) + (size_t) T * 3 * sizeof(int32_t) +
		2 * sizeof(float) + 2 * sizeof(int32_t) + sizeof(float) + sizeof(bool);
}

int
hrm_views_chunk_puzzles(const hrm_model *m, const hrm_views_opts *o)
{
	int			N = o->views > 1 ? o->views : 1;
	int64_t		rows = o->chunk_rows > 0 ? o->chunk_rows : HRM_VIEWS_CHUNK_ROWS;
	int64_t		cap = (int64_t) (HRM_VIEWS_BUFFER_BYTES / row_bytes(m->cfg->seq_len, m->cfg->vocab_size));

	if (rows > cap)
		rows = cap;
	return rows / N >= 1 ? (int) (rows / N) : 1;
}

/* Make the scratch hold rows rows of model m. */
static hrm_status
ctx_reserve(hrm_views_ctx *c, const hrm_model *m, int rows, hrm_error *err)
{
	const hrm_config *cfg = m->cfg;
	int			key[8] = {cfg->H_layers, cfg->L_layers, cfg->num_heads, cfg->head_dim, cfg->inter_size,
	cfg->inter_size_t, cfg->mlp_t ? 1 : 0, cfg->P};
	int			T = cfg->seq_len,
				V = cfg->vocab_size;
	int			ws_rows;
	size_t		per_row = row_bytes(T, V),
				total,
				ws1;

	if (c->T != T || c->V != V || c->S != cfg->S || c->D != cfg->hidden_size ||
		memcmp(c->key, key, sizeof(key)) != 0 || c->threads != hrm_parallel_threads())
		ctx_release(c);			/* made for other shapes (or threads): start again */
	c->T = T;
	c->V = V;
	c->S = cfg->S;
	c->D = cfg->hidden_size;
	memcpy(c->key, key, sizeof(key));
	c->threads = hrm_parallel_threads();

	/* the workspace: up to HRM_VIEWS_WS_ROWS rows per engine call, within its memory bound */
	ws1 = hrm_workspace_bytes(m, 1);
	ws_rows = rows < HRM_VIEWS_WS_ROWS ? rows : HRM_VIEWS_WS_ROWS;
	if (ws1 > 0 && (size_t) ws_rows * ws1 > HRM_VIEWS_WORKSPACE_BYTES)
		ws_rows = (int) (HRM_VIEWS_WORKSPACE_BYTES / ws1) > 1 ? (int) (HRM_VIEWS_WORKSPACE_BYTES / ws1) : 1;
	/* the whole plan against the engine's memory limit before anything is allocated */
	if (!hrm_mul_size(per_row, (size_t) rows, &total))
		return hrm_fail(err, HRM_ERR_LIMIT, "a chunk of %d rows is too large", rows);
	{
		hrm_status	st = hrm_check_memory(hrm_sat_add(hrm_sat_add(total, (size_t) ws_rows * ws1),
													  hrm_infer_bytes(m, rows)),
										  "a segment", err);

		if (st != HRM_OK)
		{
			ctx_release(c);
			return st;
		}
	}
	if (c->ws == NULL || hrm_workspace_rows(c->ws) < ws_rows)
	{
		hrm_workspace_free(c->ws);
		c->ws = hrm_workspace_create(m, ws_rows, err);
		if (c->ws == NULL)
		{
			ctx_release(c);
			return err->code != HRM_OK ? err->code : HRM_ERR_NOMEM;
		}
	}
	if (c->carry.B < rows)
	{
		hrm_status	st;

		hrm_carry_free(&c->carry);
		st = hrm_carry_init(&c->carry, m, rows, err);
		if (st != HRM_OK)
		{
			ctx_release(c);
			return st;
		}
	}
	if (c->rows < rows)
	{
		if (!hrm_mul_size(per_row, (size_t) rows, &total))
			return hrm_fail(err, HRM_ERR_LIMIT, "a chunk of %d rows is too large", rows);
		free(c->in);
		free(c->pid);
		free(c->logits);
		free(c->q);
		free(c->steps);
		free(c->pred);
		free(c->ans);
		free(c->cert);
		free(c->ok);
		c->in = malloc(sizeof(int32_t) * (size_t) rows * T);
		c->pid = malloc(sizeof(int32_t) * (size_t) rows);
		c->logits = malloc(sizeof(float) * (size_t) rows * T * V);
		c->q = malloc(sizeof(float) * (size_t) rows * 2);
		c->steps = malloc(sizeof(int32_t) * (size_t) rows);
		c->pred = malloc(sizeof(int32_t) * (size_t) rows * T);
		c->ans = malloc(sizeof(int32_t) * (size_t) rows * T);
		c->cert = malloc(sizeof(float) * (size_t) rows);
		c->ok = malloc(sizeof(bool) * (size_t) rows);
		if (!c->in || !c->pid || !c->logits || !c->q || !c->steps || !c->pred || !c->ans || !c->cert || !c->ok)
		{
			ctx_release(c);
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for a batch of %d rows (%.1f MB)",
							rows, (double) total / 1048576.0);
		}
		c->rows = rows;
	}
	c->bytes = (size_t) c->rows * per_row + hrm_workspace_bytes(m, hrm_workspace_rows(c->ws)) +
		(size_t) c->carry.B * cfg->S * cfg->hidden_size * 2 * sizeof(float);
	return HRM_OK;
}

/* ------------------------------------------------------------------------- */
/* solving */

void
hrm_views_opts_defaults(hrm_views_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->task = HRM_TASK_GENERIC;
	o->views = 1;
	o->seed = HRM_VIEWS_SEED;
	o->task_alphabet = true;
	o->chunk_rows = HRM_VIEWS_CHUNK_ROWS;
}

hrm_status
hrm_views_solve(const hrm_model *m, hrm_views_ctx *ctx, const int32_t *inputs,
				const int32_t *puzzle_ids, int64_t n, const hrm_views_opts *o,
				int32_t *answers, hrm_views_row *rows, hrm_error *err)
{
	const hrm_config *cfg = m->cfg;
	int			T = cfg->seq_len,
				V = cfg->vocab_size;
	int			N = o->views > 1 ? o->views : 1;
	hrm_view	views[HRM_VIEWS_MAX];
	const hrm_task_ops *tops = hrm_task_get(o->task);
	hrm_task	alphabet;
	bool		check;
	hrm_views_ctx *own = NULL;
	int			P;
	hrm_status	st = HRM_OK;

	if (n < 0)
		return hrm_fail(err, HRM_ERR_INVALID, "cannot solve %lld puzzles", (long long) n);
	if (N > 1 && !o->task_alphabet)
		return hrm_fail(err, HRM_ERR_INVALID, "views > 1 decode over the task's answer alphabet");
	if (N > 1 && tops->seq_len > 0 && (T != tops->seq_len || V != tops->vocab_size))
		return hrm_fail(err, HRM_ERR_INVALID, "a %s model has seq_len %d and vocab_size %d, not %d and %d",
						tops->name, tops->seq_len, tops->vocab_size, T, V);
	st = hrm_views_draw(o->task, N, o->seed, views, err);
	if (st != HRM_OK)
		return st;
	alphabet = o->task_alphabet ? o->task : HRM_TASK_GENERIC;
	check = hrm_task_get(alphabet)->check != NULL;
	if (n == 0)
		return HRM_OK;
	if (ctx == NULL)
	{
		own = ctx = hrm_views_ctx_create();
		if (ctx == NULL)
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	}
	P = hrm_views_chunk_puzzles(m, o);
	if (P > n)
		P = (int) n;
	st = ctx_reserve(ctx, m, P * N, err);
	if (st != HRM_OK)
		goto done;

	for (int64_t p0 = 0; p0 < n; p0 += P)
	{
		int			Pc = (int) (n - p0 < P ? n - p0 : P);
		int			R = Pc * N;

		if (o->progress != NULL && o->progress(o->progress_arg, p0, n) != 0)
		{
			st = hrm_fail(err, HRM_ERR_CANCELLED, "solving cancelled after %lld puzzles", (long long) p0);
			goto done;
		}
		/* every puzzle under every view: rows p*N .. p*N + N-1 */
		for (int i = 0; i < Pc; i++)
		{
			const int32_t *src = inputs + (size_t) (p0 + i) * T;

			for (int v = 0; v < N; v++)
			{
				int32_t    *dst = ctx->in + (size_t) (i * N + v) * T;

				ctx->pid[i * N + v] = puzzle_ids ? puzzle_ids[p0 + i] : 0;
				if (v == 0)
					memcpy(dst, src, sizeof(int32_t) * T);
				else if ((st = hrm_view_apply(o->task, &views[v], src, dst, err)) != HRM_OK)
				{
					hrm_fail(err, st, "puzzle %lld is no %s puzzle to view: %s", (long long) (p0 + i + 1),
							 hrm_task_name(o->task), err->msg);
					goto done;
				}
			}
		}
		st = hrm_infer_with(m, ctx->ws, &ctx->carry, ctx->in, ctx->pid, R, &o->infer, ctx->logits,
							ctx->q, ctx->steps, o->segment_cb, o->segment_arg, err);
		if (st != HRM_OK)
			goto done;

		for (int i = 0; i < Pc; i++)
		{
			const int32_t *src = inputs + (size_t) (p0 + i) * T;
			int			base = i * N,
						chosen,
						agree,
						nvalid = 0;

			for (int v = 0; v < N; v++)
			{
				int			r = base + v;
				int32_t    *pred = ctx->pred + (size_t) r * T;
				int32_t    *ans = ctx->ans + (size_t) r * T;

				ctx->cert[r] = hrm_answer_decode(alphabet, ctx->in + (size_t) r * T,
												 ctx->logits + (size_t) r * T * V, T, V, pred);
				/*
				 * An ARC answer is compared as its cropped grid once there
				 * are several views, view 0's too (identity transform).
				 */
				if (v == 0 && !(tops->view0_inverted && N > 1))
					memcpy(ans, pred, sizeof(int32_t) * T);
				else if ((st = hrm_view_invert(o->task, &views[v], pred, ans, err)) != HRM_OK)
					goto done;
				ctx->ok[r] = false;
				if (check && N > 1)
				{
					hrm_answer_verdict vd;

					hrm_answer_check(o->task, src, ans, &vd);
					ctx->ok[r] = vd.known && vd.valid && vd.keeps_givens;
					nvalid += ctx->ok[r];
				}
			}
			chosen = hrm_views_vote(N, T, ctx->ans + (size_t) base * T, ctx->ok + base, ctx->cert + base, &agree);
			memcpy(answers + (size_t) (p0 + i) * T, ctx->ans + (size_t) (base + chosen) * T, sizeof(int32_t) * T);
			if (rows != NULL)
			{
				hrm_views_row *out = &rows[p0 + i];
				int			r = base + chosen;

				memset(out, 0, sizeof(*out));
				out->segments = ctx->steps[r];
				out->q_halt = ctx->q[2 * r];
				out->q_continue = ctx->q[2 * r + 1];
				out->certainty = ctx->cert[r];
				out->views = N;
				out->agree = agree;
				out->chosen = chosen;
				if (check)
				{
					hrm_answer_check(o->task, src, answers + (size_t) (p0 + i) * T, &out->verdict);
					if (N == 1)
						nvalid = out->verdict.known && out->verdict.valid && out->verdict.keeps_givens;
				}
				out->valid_views = nvalid;
			}
		}
	}
	if (o->progress != NULL)
		o->progress(o->progress_arg, n, n);
done:
	hrm_views_ctx_free(own);
	return st;
}

/* ------------------------------------------------------------------------- */
/* ensembles */

/* A member's progress, as progress over the whole ensemble. */
typedef struct ensemble_progress
{
	const hrm_views_opts *o;
	int			member;
	int64_t		n;
	int			k;
} ensemble_progress;

static int
ensemble_progress_cb(void *arg, int64_t done, int64_t total)
{
	ensemble_progress *e = arg;

	return e->o->progress(e->o->progress_arg, (int64_t) e->member * e->n + done, (int64_t) e->k * e->n);
}

hrm_status
hrm_ensemble_solve(const hrm_model *const *models, int k, hrm_views_ctx *const *ctxs,
				   const int32_t *inputs, const int32_t *puzzle_ids, int64_t n,
				   const hrm_views_opts *o, int32_t *answers, hrm_views_row *rows, hrm_error *err)
{
	int			T;
	int32_t    *ans = NULL;		/* [k, n, T] the members' answers */
	hrm_views_row *mrows = NULL;	/* [k, n] */
	int32_t    *cand = NULL;	/* [k, T] one puzzle's answers */
	bool		ok[HRM_ENSEMBLE_MAX];
	float		cert[HRM_ENSEMBLE_MAX];
	hrm_status	st = HRM_OK;

	if (k < 1 || k > HRM_ENSEMBLE_MAX)
		return hrm_fail(err, HRM_ERR_INVALID, "an ensemble has 1 to %d models, not %d", HRM_ENSEMBLE_MAX, k);
	T = models[0]->cfg->seq_len;
	for (int j = 1; j < k; j++)
		if (models[j]->cfg->seq_len != T || models[j]->cfg->vocab_size != models[0]->cfg->vocab_size)
			return hrm_fail(err, HRM_ERR_INVALID,
							"model %d of the ensemble takes %d tokens over %d, the first %d over %d", j + 1,
							models[j]->cfg->seq_len, models[j]->cfg->vocab_size, T, models[0]->cfg->vocab_size);
	if (k == 1)
		return hrm_views_solve(models[0], ctxs ? ctxs[0] : NULL, inputs, puzzle_ids, n, o, answers, rows, err);
	if (n < 0)
		return hrm_fail(err, HRM_ERR_INVALID, "cannot solve %lld puzzles", (long long) n);
	if (n == 0)
		return HRM_OK;

	ans = malloc(sizeof(int32_t) * (size_t) k * (size_t) n * T);
	mrows = malloc(sizeof(hrm_views_row) * (size_t) k * (size_t) n);
	cand = malloc(sizeof(int32_t) * (size_t) k * T);
	if (ans == NULL || mrows == NULL || cand == NULL)
	{
		st = hrm_fail(err, HRM_ERR_NOMEM, "out of memory for an ensemble of %d models on %lld puzzles", k,
					  (long long) n);
		goto done;
	}
	for (int j = 0; j < k; j++)
	{
		hrm_views_opts mo = *o;
		ensemble_progress ep = {o, j, n, k};

		if (o->progress != NULL)
		{
			mo.progress = ensemble_progress_cb;
			mo.progress_arg = &ep;
		}
		st = hrm_views_solve(models[j], ctxs ? ctxs[j] : NULL, inputs, puzzle_ids, n, &mo,
							 ans + (size_t) j * n * T, mrows + (size_t) j * n, err);
		if (st != HRM_OK)
			goto done;
	}

	for (int64_t i = 0; i < n; i++)
	{
		int			chosen,
					agree;

		for (int j = 0; j < k; j++)
		{
			const hrm_views_row *r = &mrows[(size_t) j * n + i];

			memcpy(cand + (size_t) j * T, ans + ((size_t) j * n + i) * T, sizeof(int32_t) * T);
			ok[j] = r->verdict.known && r->verdict.valid && r->verdict.keeps_givens;
			cert[j] = r->certainty;
		}
		chosen = hrm_views_vote(k, T, cand, ok, cert, &agree);
		memcpy(answers + (size_t) i * T, cand + (size_t) chosen * T, sizeof(int32_t) * T);
		if (rows != NULL)
		{
			hrm_views_row *out = &rows[i];

			*out = mrows[(size_t) chosen * n + i];
			out->member = chosen;
			out->views = 0;
			out->agree = 0;
			out->valid_views = 0;
			for (int j = 0; j < k; j++)
			{
				const hrm_views_row *r = &mrows[(size_t) j * n + i];

				out->views += r->views;
				if (memcmp(cand + (size_t) j * T, cand + (size_t) chosen * T, sizeof(int32_t) * T) == 0)
				{
					out->agree += r->agree;
					out->valid_views += r->valid_views;
				}
			}
		}
	}
done:
	free(ans);
	free(mrows);
	free(cand);
	return st;
}
