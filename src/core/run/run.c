/*
 * run.c — datasets, the resumable sampler, the training step on sampled
 * batches, evaluation and the recipe's defaults (run.h).
 */
#include "run.h"
#include "parallel.h"
#include "views.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* dataset */

static inline int32_t
tok_get(const void *base, int elem, size_t i)
{
	switch (elem)
	{
		case 1:
			return ((const int8_t *) base)[i];
		case 2:
			return ((const int16_t *) base)[i];
		default:
			return ((const int32_t *) base)[i];
	}
}

static inline void
tok_set(void *base, int elem, size_t i, int32_t v)
{
	switch (elem)
	{
		case 1:
			((int8_t *) base)[i] = (int8_t) v;
			break;
		case 2:
			((int16_t *) base)[i] = (int16_t) v;
			break;
		default:
			((int32_t *) base)[i] = v;
			break;
	}
}

hrm_status
hrm_dataset_init(hrm_dataset *ds, int seq_len, int vocab_size, size_t max_bytes, hrm_error *err)
{
	memset(ds, 0, sizeof(*ds));
	ds->max_puzzle_id = -1;
	if (seq_len < 1 || seq_len > (1 << 20))
		return hrm_fail(err, HRM_ERR_INVALID, "sequence length %d is out of range (1..%d)", seq_len, 1 << 20);
	if (vocab_size < 1)
		return hrm_fail(err, HRM_ERR_INVALID, "vocabulary size %d must be at least 1", vocab_size);
	ds->seq_len = seq_len;
	ds->vocab_size = vocab_size;
	ds->elem_size = vocab_size <= 127 ? 1 : vocab_size <= 32767 ? 2 : 4;
	ds->max_bytes = max_bytes;
	return HRM_OK;
}

void
hrm_dataset_free(hrm_dataset *ds)
{
	if (ds == NULL)
		return;
	free(ds->inputs);
	free(ds->labels);
	free(ds->puzzle_ids);
	ds->inputs = ds->labels = NULL;
	ds->puzzle_ids = NULL;
	ds->n = ds->cap = 0;
}

size_t
hrm_dataset_row_bytes(const hrm_dataset *ds)
{
	return (size_t) 2 * ds->seq_len * ds->elem_size + sizeof(int32_t);
}

size_t
hrm_dataset_bytes(const hrm_dataset *ds)
{
	return (size_t) ds->cap * hrm_dataset_row_bytes(ds);
}

static hrm_status
dataset_grow(hrm_dataset *ds, int64_t want, hrm_error *err)
{
	size_t		row = hrm_dataset_row_bytes(ds);
	size_t		tok = (size_t) ds->seq_len * ds->elem_size;
	size_t		bytes;
	void	   *in,
			   *lb,
			   *pid;

	if (want <= ds->cap)
		return HRM_OK;
	if (!hrm_mul_size((size_t) want, row, &bytes) || (ds->max_bytes > 0 && bytes > ds->max_bytes))
		return hrm_fail(err, HRM_ERR_LIMIT,
						"training data of %lld rows needs %.1f MB, over the limit of %.1f MB",
						(long long) want, (double) want * row / 1048576.0,
						(double) ds->max_bytes / 1048576.0);
	in = realloc(ds->inputs, (size_t) want * tok);
	if (in == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for %lld training rows", (long long) want);
	ds->inputs = in;
	lb = realloc(ds->labels, (size_t) want * tok);
	if (lb == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for %lld training rows", (long long) want);
	ds->labels = lb;
	pid = realloc(ds->puzzle_ids, (size_t) want * sizeof(int32_t));
	if (pid == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for %lld training rows", (long long) want);
	ds->puzzle_ids = pid;
	ds->cap = want;
	return HRM_OK;
}

hrm_status
hrm_dataset_reserve(hrm_dataset *ds, int64_t n, hrm_error *err)
{
	if (n < 0)
		return hrm_fail(err, HRM_ERR_INVALID, "cannot reserve %lld rows", (long long) n);
	return dataset_grow(ds, n, err);
}

hrm_status
hrm_dataset_append(hrm_dataset *ds, const int32_t *input, const int32_t *label,
				   int32_t puzzle_id, hrm_error *err)
{
	int			T = ds->seq_len;
	size_t		base;
	hrm_status	st;

	for (int t = 0; t < T; t++)
		if (input[t] < 0 || input[t] >= ds->vocab_size)
			return hrm_fail(err, HRM_ERR_INVALID,
							"row %lld: input token %d at position %d is outside [0, %d)",
							(long long) ds->n + 1, input[t], t + 1, ds->vocab_size);
	if (label != NULL)
		for (int t = 0; t < T; t++)
			if (label[t] != HRM_IGNORE_LABEL && (label[t] < 0 || label[t] >= ds->vocab_size))
				return hrm_fail(err, HRM_ERR_INVALID,
								"row %lld: label %d at position %d is neither -100 nor in [0, %d)",
								(long long) ds->n + 1, label[t], t + 1, ds->vocab_size);
	if (puzzle_id < 0)
		return hrm_fail(err, HRM_ERR_INVALID, "row %lld: puzzle id %d is negative",
						(long long) ds->n + 1, puzzle_id);
	if (ds->n == ds->cap)
	{
		int64_t		want = ds->cap < 1024 ? 1024 : ds->cap * 2;
		size_t		row = hrm_dataset_row_bytes(ds);

		/* never grow past the cap because of doubling: clamp to what fits */
		if (ds->max_bytes > 0 && (size_t) want > ds->max_bytes / row)
			want = (int64_t) (ds->max_bytes / row);
		if (want <= ds->n)
			want = ds->n + 1;	/* over the cap: dataset_grow reports it */
		st = dataset_grow(ds, want, err);
		if (st != HRM_OK)
			return st;
	}
	base = (size_t) ds->n * T;
	for (int t = 0; t < T; t++)
	{
		tok_set(ds->inputs, ds->elem_size, base + t, input[t]);
		tok_set(ds->labels, ds->elem_size, base + t, label ? label[t] : HRM_IGNORE_LABEL);
	}
	ds->puzzle_ids[ds->n] = puzzle_id;
	if (puzzle_id > ds->max_puzzle_id)
		ds->max_puzzle_id = puzzle_id;
	ds->n++;
	return HRM_OK;
}

void
hrm_dataset_get(const hrm_dataset *ds, int64_t i, int32_t *input, int32_t *label, int32_t *puzzle_id)
{
	size_t		base = (size_t) i * ds->seq_len;

	if (input)
		for (int t = 0; t < ds->seq_len; t++)
			input[t] = tok_get(ds->inputs, ds->elem_size, base + t);
	if (label)
		for (int t = 0; t < ds->seq_len; t++)
			label[t] = tok_get(ds->labels, ds->elem_size, base + t);
	if (puzzle_id)
		*puzzle_id = ds->puzzle_ids[i];
}

static void
shuffle_i64(hrm_rng *r, int64_t *a, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--)
	{
		int64_t		j = (int64_t) hrm_rng_below(r, (uint64_t) i + 1);
		int64_t		t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

hrm_status
hrm_dataset_split(const hrm_dataset *ds, double eval_fraction, uint64_t seed, hrm_split *sp,
				  hrm_error *err)
{
	int64_t		n = ds->n,
				n_eval;
	int64_t    *perm;
	hrm_rng		r;

	memset(sp, 0, sizeof(*sp));
	if (!(eval_fraction >= 0.0 && eval_fraction < 1.0))
		return hrm_fail(err, HRM_ERR_INVALID, "eval_fraction must be in [0, 1), not %g", eval_fraction);
	if (n < 1)
		return hrm_fail(err, HRM_ERR_INVALID, "the training data has no rows");
	n_eval = (int64_t) floor((double) n * eval_fraction + 0.5);
	if (eval_fraction > 0.0 && n_eval < 1)
		n_eval = 1;
	if (n_eval > n - 1)
		n_eval = n - 1;
	perm = malloc(sizeof(int64_t) * (size_t) n);
	sp->train = malloc(sizeof(int64_t) * (size_t) (n - n_eval));
	sp->eval = malloc(sizeof(int64_t) * (size_t) (n_eval > 0 ? n_eval : 1));
	if (perm == NULL || sp->train == NULL || sp->eval == NULL)
	{
		free(perm);
		hrm_split_free(sp);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the split of %lld rows", (long long) n);
	}
	for (int64_t i = 0; i < n; i++)
		perm[i] = i;
	hrm_rng_seed(&r, seed ^ 0x5eed5b11u);
	shuffle_i64(&r, perm, n);
	memcpy(sp->eval, perm, sizeof(int64_t) * (size_t) n_eval);
	memcpy(sp->train, perm + n_eval, sizeof(int64_t) * (size_t) (n - n_eval));
	free(perm);
	sp->n_eval = n_eval;
	sp->n_train = n - n_eval;
	qsort(sp->eval, (size_t) sp->n_eval, sizeof(int64_t), cmp_i64);
	qsort(sp->train, (size_t) sp->n_train, sizeof(int64_t), cmp_i64);
	return HRM_OK;
}

void
hrm_split_free(hrm_split *sp)
{
	if (sp == NULL)
		return;
	free(sp->train);
	free(sp->eval);
	memset(sp, 0, sizeof(*sp));
}

/* ------------------------------------------------------------------------- */
/* sampler */

struct hrm_sampler
{
	const hrm_dataset *ds;
	hrm_sampler_opts opts;
	int64_t		n_rows;
	int64_t    *rows;			/* the rows sampled from (copy) */
	int64_t    *order;			/* the current epoch's permutation of rows */
	uint64_t	fingerprint;	/* of the rows' contents */
	/* state */
	int64_t		batches;
	int64_t		epoch;
	int64_t		pos;
	hrm_rng		rng;			/* augmentation, curriculum and masking draws */
};

void
hrm_sampler_opts_defaults(hrm_sampler_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->task = HRM_TASK_GENERIC;
	o->batch_size = 32;
	o->seed = 0;
	o->augment = true;
	o->curriculum_steps = 0;
	o->curriculum_start = 0.3;
	o->ignore_givens = 0.0;
}

const hrm_sampler_opts *
hrm_sampler_options(const hrm_sampler *s)
{
	return &s->opts;
}

static uint64_t
fnv_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
	{
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t
rows_fingerprint(const hrm_dataset *ds, const int64_t *rows, int64_t n)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		tok = (size_t) ds->seq_len * ds->elem_size;
	int32_t		hdr[3] = {ds->seq_len, ds->vocab_size, ds->elem_size};

	h = fnv_bytes(h, hdr, sizeof(hdr));
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		r = rows[i];

		h = fnv_bytes(h, (const uint8_t *) ds->inputs + (size_t) r * tok, tok);
		h = fnv_bytes(h, (const uint8_t *) ds->labels + (size_t) r * tok, tok);
		h = fnv_bytes(h, &ds->puzzle_ids[r], sizeof(int32_t));
	}
	return h;
}

/* The permutation of epoch e: a shuffle seeded by (seed, e) alone. */
static void
make_order(hrm_sampler *s)
{
	hrm_rng		r;

	memcpy(s->order, s->rows, sizeof(int64_t) * (size_t) s->n_rows);
	hrm_rng_seed(&r, s->opts.seed * 0x9E3779B97F4A7C15ULL + (uint64_t) s->epoch * 0xD1B54A32D192ED03ULL + 1);
	shuffle_i64(&r, s->order, s->n_rows);
}

static hrm_status
check_sampler_opts(const hrm_sampler_opts *o, const hrm_dataset *ds, hrm_error *err)
{
	int			T,
				V;

	if ((int) o->task < 0 || (int) o->task >= HRM_TASK_COUNT)
		return hrm_fail(err, HRM_ERR_CONFIG, "unknown task %d", (int) o->task);
	if (o->batch_size < 1 || o->batch_size > 1000000)
		return hrm_fail(err, HRM_ERR_CONFIG, "batch_size must be between 1 and 1000000");
	if (o->curriculum_steps < 0)
		return hrm_fail(err, HRM_ERR_CONFIG, "curriculum_steps must not be negative");
	if (!(o->curriculum_start >= 0.0 && o->curriculum_start <= 1.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "curriculum_start must be in [0, 1]");
	if (!(o->ignore_givens >= 0.0 && o->ignore_givens <= 1.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "ignore_givens must be in [0, 1]");
	if (hrm_task_get(o->task)->reveal == NULL && (o->curriculum_steps > 0 || o->ignore_givens > 0.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "curriculum and ignore_givens are defined for tasks with givens (sudoku), not %s",
						hrm_task_name(o->task));
	hrm_task_shape(o->task, &T, &V);
	if (T > 0 && (ds->seq_len != T || ds->vocab_size != V))
		return hrm_fail(err, HRM_ERR_INVALID,
						"task %s needs sequences of %d tokens over a vocabulary of %d, the data has %d and %d",
						hrm_task_name(o->task), T, V, ds->seq_len, ds->vocab_size);
	return HRM_OK;
}

hrm_status
hrm_sampler_create(hrm_sampler **out, const hrm_dataset *ds, const int64_t *rows, int64_t n_rows,
				   const hrm_sampler_opts *opts, hrm_error *err)
{
	hrm_sampler *s;
	hrm_status	st;

	*out = NULL;
	st = check_sampler_opts(opts, ds, err);
	if (st != HRM_OK)
		return st;
	if (n_rows < 1)
		return hrm_fail(err, HRM_ERR_INVALID, "no training rows to sample from");
	for (int64_t i = 0; rows != NULL && i < n_rows; i++)
		if (rows[i] < 0 || rows[i] >= ds->n)
			return hrm_fail(err, HRM_ERR_INVALID, "row index %lld is outside the data (%lld rows)",
							(long long) rows[i], (long long) ds->n);
	if (rows == NULL && n_rows > ds->n)
		return hrm_fail(err, HRM_ERR_INVALID, "%lld rows asked of data holding %lld",
						(long long) n_rows, (long long) ds->n);
	s = calloc(1, sizeof(hrm_sampler));
	if (s == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	s->ds = ds;
	s->opts = *opts;
	s->n_rows = n_rows;
	s->rows = malloc(sizeof(int64_t) * (size_t) n_rows);
	s->order = malloc(sizeof(int64_t) * (size_t) n_rows);
	if (s->rows == NULL || s->order == NULL)
	{
		hrm_sampler_free(s);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for a sampler of %lld rows", (long long) n_rows);
	}
	for (int64_t i = 0; i < n_rows; i++)
		s->rows[i] = rows ? rows[i] : i;
	s->fingerprint = rows_fingerprint(ds, s->rows, n_rows);
	hrm_rng_seed(&s->rng, opts->seed ^ 0xA5A5F00DULL);
	s->batches = s->epoch = s->pos = 0;
	make_order(s);
	*out = s;
	return HRM_OK;
}

void
hrm_sampler_free(hrm_sampler *s)
{
	if (s == NULL)
		return;
	free(s->rows);
	free(s->order);
	free(s);
}

static double
curriculum_level(const hrm_sampler *s, int64_t batch)
{
	const hrm_sampler_opts *o = &s->opts;
	double		f;

	if (hrm_task_get(o->task)->reveal == NULL || o->curriculum_steps <= 0)
		return 1.0;
	f = (double) batch / (double) o->curriculum_steps;
	if (f > 1.0)
		f = 1.0;
	return o->curriculum_start + (1.0 - o->curriculum_start) * f;
}

void
hrm_sampler_position(const hrm_sampler *s, hrm_sampler_pos *p)
{
	p->batches = s->batches;
	p->epoch = s->epoch;
	p->row = s->pos;
	p->epochs = (double) s->epoch + (double) s->pos / (double) s->n_rows;
	p->curriculum = curriculum_level(s, s->batches);
}

hrm_status
hrm_sampler_next(hrm_sampler *s, int32_t *inputs, int32_t *labels, int32_t *puzzle_ids, hrm_error *err)
{
	const hrm_sampler_opts *o = &s->opts;
	int			T = s->ds->seq_len;
	int			B = o->batch_size;
	double		level = curriculum_level(s, s->batches);
	const hrm_task_ops *ops = hrm_task_get(o->task);

	for (int b = 0; b < B; b++)
	{
		int32_t    *in = inputs + (size_t) b * T;
		int32_t    *lb = labels + (size_t) b * T;
		hrm_status	st = HRM_OK;

		if (s->pos == s->n_rows)
		{
			s->epoch++;
			s->pos = 0;
			make_order(s);
		}
		hrm_dataset_get(s->ds, s->order[s->pos++], in, lb, &puzzle_ids[b]);
		if (o->augment && ops->augment != NULL)
			st = ops->augment(&s->rng, in, lb, T, err);
		if (st != HRM_OK)
			return st;
		if (ops->reveal != NULL && level < 1.0)
			ops->reveal(&s->rng, in, lb, level);
		if (ops->reveal != NULL && o->ignore_givens > 0.0 &&
			(o->ignore_givens >= 1.0 || hrm_rng_uniform(&s->rng) < o->ignore_givens))
			for (int t = 0; t < T; t++)
				if (in[t] != ops->blank_token)
					lb[t] = HRM_IGNORE_LABEL;
	}
	s->batches++;
	return HRM_OK;
}

/*
 * Sampler blob (little-endian, fixed layout):
 *   "HRMSMPL1" | u32 bytes | u32 reserved |
 *   options: u32 task, u32 batch_size, u64 seed, u32 augment, u32 pad,
 *            i64 curriculum_steps, f64 curriculum_start, f64 ignore_givens |
 *   i64 n_rows | u64 fingerprint | i64 batches | i64 epoch | i64 pos | u64 rng[4] |
 *   u64 FNV-1a of everything before
 */
#define SAMPLER_MAGIC "HRMSMPL1"
#define SAMPLER_BLOB_BYTES (8 + 4 + 4 + 4 + 4 + 8 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8 * 4 + 8)

typedef struct blob_writer
{
	uint8_t    *p;
	size_t		off;
} blob_writer;

static void
put(blob_writer *w, const void *v, size_t n)
{
	memcpy(w->p + w->off, v, n);
	w->off += n;
}

static void
get(const uint8_t *p, size_t *off, void *v, size_t n)
{
	memcpy(v, p + *off, n);
	*off += n;
}

hrm_status
hrm_sampler_save(const hrm_sampler *s, uint8_t **out, size_t *out_len, hrm_error *err)
{
	blob_writer w;
	uint32_t	u32;
	uint64_t	h;
	int64_t		i64;

	*out = NULL;
	*out_len = 0;
	w.p = malloc(SAMPLER_BLOB_BYTES);
	w.off = 0;
	if (w.p == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	put(&w, SAMPLER_MAGIC, 8);
	u32 = SAMPLER_BLOB_BYTES;
	put(&w, &u32, 4);
	u32 = 0;
	put(&w, &u32, 4);
	u32 = (uint32_t) s->opts.task;
	put(&w, &u32, 4);
	u32 = (uint32_t) s->opts.batch_size;
	put(&w, &u32, 4);
	put(&w, &s->opts.seed, 8);
	u32 = s->opts.augment ? 1 : 0;
	put(&w, &u32, 4);
	u32 = 0;
	put(&w, &u32, 4);
	put(&w, &s->opts.curriculum_steps, 8);
	put(&w, &s->opts.curriculum_start, 8);
	put(&w, &s->opts.ignore_givens, 8);
	i64 = s->n_rows;
	put(&w, &i64, 8);
	put(&w, &s->fingerprint, 8);
	put(&w, &s->batches, 8);
	put(&w, &s->epoch, 8);
	put(&w, &s->pos, 8);
	put(&w, s->rng.s, 32);
	h = fnv_bytes(1469598103934665603ULL, w.p, w.off);
	put(&w, &h, 8);
	*out = w.p;
	*out_len = w.off;
	return HRM_OK;
}

hrm_status
hrm_sampler_restore(hrm_sampler *s, const uint8_t *buf, size_t len, hrm_error *err)
{
	size_t		off = 8;
	uint32_t	bytes,
				reserved,
				task,
				batch,
				augment,
				pad;
	uint64_t	h,
				fp;
	int64_t		n_rows,
				batches,
				epoch,
				pos;
	hrm_sampler_opts o = s->opts;
	hrm_rng		rng;
	hrm_status	st;

	if (buf == NULL || len != SAMPLER_BLOB_BYTES || memcmp(buf, SAMPLER_MAGIC, 8) != 0)
		return hrm_fail(err, HRM_ERR_FORMAT, "not a sampler state (%zu bytes)", len);
	memcpy(&h, buf + len - 8, 8);
	if (fnv_bytes(1469598103934665603ULL, buf, len - 8) != h)
		return hrm_fail(err, HRM_ERR_FORMAT, "sampler state is damaged (checksum mismatch)");
	get(buf, &off, &bytes, 4);
	get(buf, &off, &reserved, 4);
	get(buf, &off, &task, 4);
	get(buf, &off, &batch, 4);
	get(buf, &off, &o.seed, 8);
	get(buf, &off, &augment, 4);
	get(buf, &off, &pad, 4);
	get(buf, &off, &o.curriculum_steps, 8);
	get(buf, &off, &o.curriculum_start, 8);
	get(buf, &off, &o.ignore_givens, 8);
	get(buf, &off, &n_rows, 8);
	get(buf, &off, &fp, 8);
	get(buf, &off, &batches, 8);
	get(buf, &off, &epoch, 8);
	get(buf, &off, &pos, 8);
	get(buf, &off, rng.s, 32);
	if (bytes != SAMPLER_BLOB_BYTES)
		return hrm_fail(err, HRM_ERR_FORMAT, "sampler state has a bad length field");
	o.task = (hrm_task) task;
	o.batch_size = (int) batch;
	o.augment = augment != 0;
	st = check_sampler_opts(&o, s->ds, err);
	if (st != HRM_OK)
		return st;
	if (n_rows != s->n_rows || fp != s->fingerprint)
		return hrm_fail(err, HRM_ERR_INVALID,
						"the training data differs from the data the checkpoint was trained on "
						"(%lld rows then, %lld now%s)", (long long) n_rows, (long long) s->n_rows,
						n_rows == s->n_rows ? ", contents changed" : "");
	if (batches < 0 || epoch < 0 || pos < 0 || pos > n_rows)
		return hrm_fail(err, HRM_ERR_FORMAT, "sampler state holds an impossible position");
	s->opts = o;
	s->batches = batches;
	s->epoch = epoch;
	s->pos = pos;
	s->rng = rng;
	make_order(s);
	return HRM_OK;
}

/* ------------------------------------------------------------------------- */
/* training */

hrm_status
hrm_run_step(hrm_trainer *t, hrm_sampler *s, hrm_run_metrics *mt, hrm_error *err)
{
	const hrm_layout *lay = hrm_trainer_layout(t);
	int			B = hrm_trainer_opts(t)->batch_size,
				T = lay->cfg.seq_len;
	int32_t    *in,
			   *lb,
			   *pid;
	hrm_train_metrics raw;
	hrm_sampler_pos pos;
	hrm_status	st;

	if (s->opts.batch_size != B)
		return hrm_fail(err, HRM_ERR_INVALID, "sampler batch size %d differs from the trainer's %d",
						s->opts.batch_size, B);
	if (s->ds->seq_len != T)
		return hrm_fail(err, HRM_ERR_INVALID, "data sequences have %d tokens, the model takes %d",
						s->ds->seq_len, T);
	in = malloc(sizeof(int32_t) * (size_t) B * T);
	lb = malloc(sizeof(int32_t) * (size_t) B * T);
	pid = malloc(sizeof(int32_t) * (size_t) B);
	if (in == NULL || lb == NULL || pid == NULL)
	{
		st = hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
		goto done;
	}
	st = hrm_sampler_next(s, in, lb, pid, err);
	if (st == HRM_OK)
		st = hrm_train_step(t, in, lb, pid, &raw, err);
	if (st == HRM_OK && mt != NULL)
	{
		double		cnt = raw.count > 0 ? raw.count : 1.0;

		memset(mt, 0, sizeof(*mt));
		hrm_sampler_position(s, &pos);
		mt->raw = raw;
		mt->step = hrm_trainer_step(t);
		mt->loss = raw.loss;
		mt->lm_loss = raw.lm_loss / B;
		mt->accuracy = raw.accuracy / cnt;
		mt->exact_accuracy = raw.exact_accuracy / cnt;
		mt->halted = raw.count;
		mt->mean_steps = raw.steps / cnt;
		mt->token_accuracy_all = raw.token_accuracy_all;
		mt->exact_all = raw.exact_all;
		mt->lr = raw.lr;
		mt->epochs = pos.epochs;
		mt->curriculum = pos.curriculum;
	}
done:
	free(in);
	free(lb);
	free(pid);
	return st;
}

hrm_status
hrm_run_save(const hrm_trainer *t, const hrm_sampler *s, uint8_t **out, size_t *out_len, hrm_error *err)
{
	uint8_t    *blob = NULL;
	size_t		blob_len = 0;
	hrm_status	st = hrm_sampler_save(s, &blob, &blob_len, err);

	if (st != HRM_OK)
		return st;
	st = hrm_trainer_save(t, blob, blob_len, out, out_len, err);
	free(blob);
	return st;
}

hrm_status
hrm_run_load(hrm_trainer **t, hrm_sampler **s, const hrm_dataset *ds, const int64_t *rows,
			 int64_t n_rows, const uint8_t *buf, size_t len, hrm_error *err)
{
	void	   *extra = NULL;
	size_t		extra_len = 0;
	hrm_sampler_opts so;
	hrm_status	st;

	*t = NULL;
	*s = NULL;
	st = hrm_trainer_load(t, buf, len, &extra, &extra_len, err);
	if (st != HRM_OK)
		return st;
	/* the blob carries the options; create with placeholders of the right task, then restore */
	hrm_sampler_opts_defaults(&so);
	so.batch_size = hrm_trainer_opts(*t)->batch_size;
	if (extra != NULL && extra_len >= 20)
	{
		uint32_t	task;

		memcpy(&task, (const uint8_t *) extra + 16, 4);
		if (task < HRM_TASK_COUNT)
			so.task = (hrm_task) task;
	}
	st = hrm_sampler_create(s, ds, rows, n_rows, &so, err);
	if (st == HRM_OK)
		st = hrm_sampler_restore(*s, extra, extra_len, err);
	free(extra);
	if (st != HRM_OK)
	{
		hrm_sampler_free(*s);
		hrm_trainer_free(*t);
		*s = NULL;
		*t = NULL;
	}
	return st;
}

/* ------------------------------------------------------------------------- */
/* evaluation */

void
hrm_eval_opts_defaults(hrm_eval_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->segments = 0;
	o->adaptive = false;
	o->batch_rows = 256;
	o->max_rows = 0;
	o->task = HRM_TASK_GENERIC;
	o->views = 1;
	o->seed = HRM_VIEWS_SEED;
}

static double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

size_t
hrm_eval_bytes(const hrm_model *m, int batch_rows)
{
	return hrm_eval_plan_bytes(m->cfg, batch_rows, m->wpack != NULL, hrm_parallel_threads());
}

size_t
hrm_eval_plan_bytes(const hrm_config *c, int batch_rows, bool packed, int threads)
{
	size_t		R = (size_t) (batch_rows > 0 ? batch_rows : 1);
	size_t		b = hrm_infer_plan_bytes(c, (int) R, packed, threads);

	b = hrm_sat_add(b, hrm_sat_mul(R * (2 * (size_t) c->seq_len + 2), sizeof(int32_t)));
	b = hrm_sat_add(b, hrm_sat_mul(hrm_sat_add(hrm_sat_mul(R * c->seq_len, (size_t) c->vocab_size), 2 * R),
								   sizeof(float)));
	return b;
}

hrm_status
hrm_evaluate(const hrm_model *m, const hrm_dataset *ds, const int64_t *rows, int64_t n_rows,
			 const hrm_eval_opts *opts, hrm_eval_result *res, hrm_error *err)
{
	const hrm_config *c = m->cfg;
	hrm_eval_opts o;
	hrm_views_opts vo;
	const hrm_model *models[HRM_ENSEMBLE_MAX];
	hrm_views_ctx *ctxs[HRM_ENSEMBLE_MAX] = {NULL};
	size_t		bytes = 0;
	bool		have;
	int			T = c->seq_len,
				k,
				chunk;
	int32_t    *in = NULL,
			   *lb = NULL,
			   *pid = NULL,
			   *pred = NULL;
	hrm_views_row *vr = NULL;
	hrm_status	st = HRM_OK;
	int64_t		n,
				exact = 0,
				tokens = 0,
				correct = 0;
	double		seg_sum = 0.0,
				t0 = mono_seconds();

	memset(res, 0, sizeof(*res));
	if (opts)
		o = *opts;
	else
		hrm_eval_opts_defaults(&o);
	if (ds->seq_len != T)
		return hrm_fail(err, HRM_ERR_INVALID, "data sequences have %d tokens, the model takes %d",
						ds->seq_len, T);
	n = rows ? n_rows : (n_rows > 0 && n_rows < ds->n ? n_rows : ds->n);
	if (o.max_rows > 0 && n > o.max_rows)
		n = o.max_rows;
	k = 1 + (o.ensemble != NULL && o.ensemble_n > 0 ? o.ensemble_n : 0);
	if (k > HRM_ENSEMBLE_MAX)
		return hrm_fail(err, HRM_ERR_INVALID, "an ensemble has at most %d models, not %d", HRM_ENSEMBLE_MAX, k);
	models[0] = m;
	for (int j = 1; j < k; j++)
		models[j] = o.ensemble[j - 1];

	/*
	 * The batched solve of views.h: with one view the reference's argmax
	 * over the whole vocabulary, with more the task's answer alphabet and
	 * the vote.
	 */
	hrm_views_opts_defaults(&vo);
	vo.task = o.task;
	vo.views = o.views > 1 ? o.views : 1;
	vo.seed = o.seed;
	vo.task_alphabet = vo.views > 1 || k > 1;
	vo.infer.segments = o.segments;
	vo.infer.adaptive = o.adaptive;
	vo.chunk_rows = o.batch_rows > 0 ? o.batch_rows : 256;
	if (vo.chunk_rows < vo.views)
		vo.chunk_rows = vo.views;
	chunk = hrm_views_chunk_puzzles(m, &vo);
	if (chunk > n)
		chunk = n > 0 ? (int) n : 1;
	for (int j = 0; j < k; j++)
		bytes = hrm_sat_add(bytes, hrm_eval_bytes(models[j], chunk));
	if (k > 1)
		bytes = hrm_sat_add(bytes, hrm_sat_mul((size_t) k * chunk, sizeof(int32_t) * T + sizeof(hrm_views_row)));
	st = hrm_check_memory(bytes, "the evaluation", err);
	if (st != HRM_OK)
		return st;
	in = malloc(sizeof(int32_t) * (size_t) chunk * T);
	lb = malloc(sizeof(int32_t) * (size_t) chunk * T);
	pid = malloc(sizeof(int32_t) * (size_t) chunk);
	pred = malloc(sizeof(int32_t) * (size_t) chunk * T);
	vr = malloc(sizeof(hrm_views_row) * (size_t) chunk);
	have = in && lb && pid && pred && vr;
	for (int j = 0; j < k; j++)
		have = (ctxs[j] = hrm_views_ctx_create()) != NULL && have;
	if (!have)
	{
		st = hrm_fail(err, HRM_ERR_NOMEM, "out of memory for evaluation");
		goto done;
	}
	for (int64_t r0 = 0; r0 < n; r0 += chunk)
	{
		int			R = (int) (n - r0 < chunk ? n - r0 : chunk);

		if (o.progress != NULL && o.progress(o.progress_arg, r0, n) != 0)
		{
			st = hrm_fail(err, HRM_ERR_CANCELLED, "evaluation cancelled");
			goto done;
		}
		for (int b = 0; b < R; b++)
		{
			int64_t		r = rows ? rows[r0 + b] : r0 + b;

			if (r < 0 || r >= ds->n)
			{
				st = hrm_fail(err, HRM_ERR_INVALID, "row index %lld is outside the data (%lld rows)",
							  (long long) r, (long long) ds->n);
				goto done;
			}
			hrm_dataset_get(ds, r, in + (size_t) b * T, lb + (size_t) b * T, &pid[b]);
		}
		st = hrm_ensemble_solve(models, k, ctxs, in, pid, R, &vo, pred, vr, err);
		if (st != HRM_OK)
			goto done;
		for (int b = 0; b < R; b++)
		{
			bool		all = true;

			for (int t = 0; t < T; t++)
			{
				int			y = lb[(size_t) b * T + t];

				if (y == HRM_IGNORE_LABEL)
					continue;
				tokens++;
				if (pred[(size_t) b * T + t] == y)
					correct++;
				else
					all = false;
			}
			exact += all;
			seg_sum += vr[b].segments;
		}
	}
	if (o.progress != NULL)
		o.progress(o.progress_arg, n, n);
	res->rows = n;
	res->exact_accuracy = n > 0 ? (double) exact / n : 0.0;
	res->token_accuracy = tokens > 0 ? (double) correct / tokens : 0.0;
	res->mean_segments = n > 0 ? seg_sum / n : 0.0;
	res->tokens = tokens;
	res->seconds = mono_seconds() - t0;
	res->rows_per_second = res->seconds > 0 ? n / res->seconds : 0.0;
done:
	free(in);
	free(lb);
	free(pid);
	free(pred);
	free(vr);
	for (int j = 0; j < k; j++)
		hrm_views_ctx_free(ctxs[j]);
	return st;
}

/* ------------------------------------------------------------------------- */
/* initialisation */

hrm_status
hrm_run_init_params(const hrm_layout *lay, hrm_task task, bool grid_pos, uint64_t seed, float *params,
					hrm_error *err)
{
	const hrm_config *c = &lay->cfg;
	const hrm_task_ops *ops = hrm_task_get(task);
	int			rows = ops->grid_rows,
				cols = ops->grid_cols,
				box = ops->grid_box,
				D = c->hidden_size,
				ncodes;
	float	   *codes;
	hrm_rng		r;
	double		std = 1.0 / sqrt((double) D);

	hrm_rng_seed(&r, seed);
	hrm_init_params(lay, params, &r);
	if (!grid_pos || lay->embed_pos == HRM_NO_OFFSET)
		return HRM_OK;
	if (rows == 0)
		return HRM_OK;
	if (c->seq_len != rows * cols)
		return hrm_fail(err, HRM_ERR_CONFIG, "task %s needs seq_len %d for grid positions, not %d",
						hrm_task_name(task), rows * cols, c->seq_len);
	/* codes: rows, then columns, then boxes; each vector ~ std / sqrt(parts) */
	ncodes = rows + cols + (box > 0 ? (rows / box) * (cols / box) : 0);
	codes = malloc(sizeof(float) * (size_t) ncodes * D);
	if (codes == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	{
		int			parts = box > 0 ? 3 : 2;
		double		s = std / sqrt((double) parts);

		for (size_t k = 0; k < (size_t) ncodes * D; k++)
			codes[k] = (float) hrm_trunc_normal(&r, s);
	}
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++)
		{
			float	   *e = params + lay->embed_pos + (size_t) (c->P + i * cols + j) * D;
			const float *rc = codes + (size_t) i * D;
			const float *cc = codes + (size_t) (rows + j) * D;
			const float *bc = box > 0 ? codes + (size_t) (rows + cols + (i / box) * (cols / box) + j / box) * D : NULL;

			for (int k = 0; k < D; k++)
				e[k] = rc[k] + cc[k] + (bc ? bc[k] : 0.0f);
		}
	free(codes);
	return HRM_OK;
}

/* ------------------------------------------------------------------------- */
/* the recipe */

void
hrm_run_opts_defaults(hrm_run_opts *o, hrm_task task, int seq_len, int vocab_size)
{
	const hrm_task_ops *ops = hrm_task_get(task);
	int			T,
				V;
	hrm_config *c = &o->model;

	memset(o, 0, sizeof(*o));
	hrm_task_shape(task, &T, &V);
	hrm_config_defaults(c);
	c->seq_len = seq_len > 0 ? seq_len : T;
	c->vocab_size = vocab_size > 0 ? vocab_size : V;
	c->num_puzzle_identifiers = 1;
	c->puzzle_emb_ndim = 0;
	c->hidden_size = 128;
	c->num_heads = 4;
	c->H_layers = 2;
	c->L_layers = 2;
	c->H_cycles = 2;
	c->L_cycles = 2;
	c->expansion = 4.0;
	c->halt_max_steps = 1;
	c->halt_exploration_prob = 0.1;
	c->pos_encodings = HRM_POS_ROPE;
	(void) hrm_config_validate(c, NULL);

	hrm_train_opts_defaults(&o->train);
	o->train.lr = 1e-3;
	o->train.lr_warmup_steps = 100;
	o->train.lr_min_ratio = 1.0;
	o->train.total_steps = 100000;
	o->train.weight_decay = 0.1;
	o->train.puzzle_emb_lr = 1e-2;
	o->train.batch_size = 64;

	hrm_sampler_opts_defaults(&o->sampler);
	o->sampler.task = task;
	o->sampler.batch_size = o->train.batch_size;

	/* the task's own recipe (Sudoku: peer attention, ACT 4, cosine decay; docs/training.md) */
	if (ops->recipe != NULL)
	{
		ops->recipe(c, &o->train);
		(void) hrm_config_validate(c, NULL);
	}

	o->eval_fraction = 0.05;
	hrm_eval_opts_defaults(&o->eval);
}

void
hrm_run_opts_hrm(hrm_run_opts *o)
{
	hrm_config *c = &o->model;

	c->arch = HRM_ARCH_HRM;
	c->H_layers = c->L_layers;
	c->no_ACT_continue = false;
	c->mlp_t = false;
	(void) hrm_config_validate(c, NULL);
}

void
hrm_run_opts_trm(hrm_run_opts *o, bool mlp_t)
{
	hrm_config *c = &o->model;

	/* the same depth per segment as the HRM recipe: (L_cycles + 1) x L_layers blocks per recursion */
	c->arch = HRM_ARCH_TRM;
	c->H_layers = 0;
	c->no_ACT_continue = true;
	if (mlp_t)
	{
		/* TRM-MLP: token mixing over the sequence carries the positions itself */
		c->mlp_t = true;
		c->attn_mask = HRM_MASK_FULL;
		c->pos_encodings = HRM_POS_NONE;
	}
	(void) hrm_config_validate(c, NULL);
}
