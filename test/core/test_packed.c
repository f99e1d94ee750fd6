/*
 * test_packed.c — the packed-weight forward and training paths (gemm.h,
 * hrm_model_pack) against the cblas_sgemm paths, and their invariances.
 *
 * The model has hidden 48 (not a multiple of the 32-column panels), head
 * dim 16 and S = 31, so every product has a column tail and row tails, and
 * B = 20 runs as several tiles of 8 examples plus a partial one.
 */
#include "check.h"

#include "forward.h"
#include "gemm.h"
#include "hrm_internal.h"
#include "parallel.h"
#include "rng.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char packed_cfg[] =
"{\"seq_len\": 30, \"vocab_size\": 9, \"num_puzzle_identifiers\": 3, \"puzzle_emb_ndim\": 48,"
" \"H_cycles\": 2, \"L_cycles\": 2, \"H_layers\": 2, \"L_layers\": 2, \"hidden_size\": 48,"
" \"num_heads\": 3, \"halt_max_steps\": 4, \"halt_exploration_prob\": 0.3}";

#define PB 20					/* batch rows */
#define PT 30					/* seq_len */

typedef struct packed_fixture
{
	hrm_layout	lay;
	float	   *params;
	int32_t		inputs[PB * PT];
	int32_t		labels[PB * PT];
	int32_t		pids[PB];
} packed_fixture;

static bool
fixture_init(packed_fixture *f, uint64_t seed)
{
	hrm_config	c;
	hrm_error	err;
	hrm_rng		r;

	if (hrm_config_from_json(packed_cfg, strlen(packed_cfg), &c, &err) != HRM_OK ||
		hrm_layout_init(&f->lay, &c, &err) != HRM_OK)
		return false;
	f->params = hrm_alloc(f->lay.n_params, sizeof(float));
	if (f->params == NULL)
		return false;
	hrm_rng_seed(&r, seed);
	hrm_init_params(&f->lay, f->params, &r);
	/*
	 * The Q head starts at zero weights (a tie between q_halt and
	 * q_continue that float rounding would break either way): give it
	 * weights so the halting decisions have margins.
	 */
	for (int i = 0; i < 2 * c.hidden_size; i++)
		f->params[f->lay.q_w + i] = (float) (0.3 * hrm_rng_normal(&r));
	for (int i = 0; i < PB * PT; i++)
	{
		f->inputs[i] = (int32_t) hrm_rng_below(&r, 9);
		f->labels[i] = (f->inputs[i] * 2 + 1) % 9;
	}
	for (int b = 0; b < PB; b++)
		f->pids[b] = (int32_t) hrm_rng_below(&r, 3);
	return true;
}

static void
fixture_free(packed_fixture *f)
{
	hrm_free(f->params);
	hrm_layout_free(&f->lay);
}

/* Two segments from the initial carry; logits [PB, PT, V] and q [PB, 2] of the second. */
static bool
two_segments(const hrm_model *m, const packed_fixture *f, float *logits, float *q, float *zH)
{
	hrm_error	err;
	hrm_carry	c;
	hrm_workspace *ws = hrm_workspace_create(m, PB, &err);
	bool		ok = ws != NULL && hrm_carry_init(&c, m, PB, &err) == HRM_OK;

	if (ok)
	{
		hrm_carry_reset(&c, m, NULL);
		for (int s = 0; s < 2 && ok; s++)
			ok = hrm_segment_forward(m, ws, &c, f->inputs, f->pids, logits, q, &err) == HRM_OK;
		if (zH != NULL)
			memcpy(zH, c.z_H, sizeof(float) * PB * m->cfg->S * m->cfg->hidden_size);
		hrm_carry_free(&c);
	}
	hrm_workspace_free(ws);
	return ok;
}

static double
max_abs(const float *x, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double) x[i]));
	return m;
}

static double
max_diff(const float *a, const float *b, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double) a[i] - (double) b[i]));
	return m;
}

/* The packed path computes the same function as the BLAS path, to float rounding. */
HRM_TEST(packed_forward_matches_blas)
{
	packed_fixture f;
	hrm_model	mp,
				mb;
	hrm_error	err;
	size_t		nl = (size_t) PB * PT * 9;
	float	   *lp = malloc(sizeof(float) * nl),
			   *lb = malloc(sizeof(float) * nl);
	float		qp[PB * 2],
				qb[PB * 2];
	double		scale;

	HRM_REQUIRE(fixture_init(&f, 11) && lp && lb, "fixture");
	if (!hrm_gemm_available())
	{
		printf("    packed kernel not built: nothing to compare\n");
		fixture_free(&f);
		free(lp);
		free(lb);
		return;
	}
	HRM_REQUIRE(hrm_model_init(&mp, &f.lay, f.params, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_model_init(&mb, &f.lay, f.params, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_model_pack(&mp, false, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(mp.wpack != NULL && mb.wpack == NULL, "only mp is packed");
	HRM_REQUIRE(two_segments(&mp, &f, lp, qp, NULL) && two_segments(&mb, &f, lb, qb, NULL), "forward");
	/*
	 * Different summation orders (one FMA chain per output vs OpenBLAS's
	 * blocking) through 2 segments x 12 block calls: allow 1e-4 of the
	 * logits' scale.
	 */
	scale = fmax(1.0, max_abs(lb, nl));
	HRM_CHECK(max_diff(lp, lb, nl) <= 1e-4 * scale, "logits differ by %.3g (scale %.3g)",
			  max_diff(lp, lb, nl), scale);
	HRM_CHECK(max_diff(qp, qb, PB * 2) <= 1e-4 * fmax(1.0, max_abs(qb, PB * 2)), "q differ by %.3g",
			  max_diff(qp, qb, PB * 2));
	/* the packs are what the packed model computes with: zeroed packs change the result */
	memset(mp.wpack, 0, sizeof(float) * mp.wpack_floats);
	HRM_REQUIRE(two_segments(&mp, &f, lp, qp, NULL), "forward");
	HRM_CHECK(max_diff(lp, lb, nl) > 1e-3 * scale, "zeroed packs did not change the logits");
	hrm_model_free(&mp);
	hrm_model_free(&mb);
	fixture_free(&f);
	free(lp);
	free(lb);
}

/* Tiling the batch does not change a bit. */
HRM_TEST(packed_tiles_bitwise)
{
	packed_fixture f;
	hrm_model	m;
	hrm_error	err;
	size_t		nl = (size_t) PB * PT * 9;
	size_t		nz;
	float	   *l0 = malloc(sizeof(float) * nl),
			   *l1 = malloc(sizeof(float) * nl);
	float	   *z0,
			   *z1;
	float		q0[PB * 2],
				q1[PB * 2];
	int			tiles[] = {1, 31, 100, 248, 100000};

	HRM_REQUIRE(fixture_init(&f, 12) && l0 && l1, "fixture");
	HRM_REQUIRE(hrm_model_init(&m, &f.lay, f.params, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_model_pack(&m, false, &err) == HRM_OK, "%s", err.msg);
	nz = (size_t) PB * m.cfg->S * m.cfg->hidden_size;
	z0 = malloc(sizeof(float) * nz);
	z1 = malloc(sizeof(float) * nz);
	HRM_REQUIRE(z0 && z1, "alloc");
	hrm_set_tile_rows(256);
	HRM_REQUIRE(two_segments(&m, &f, l0, q0, z0), "forward");
	for (size_t i = 0; i < sizeof(tiles) / sizeof(tiles[0]); i++)
	{
		hrm_set_tile_rows(tiles[i]);
		HRM_REQUIRE(two_segments(&m, &f, l1, q1, z1), "forward");
		HRM_CHECK(memcmp(l0, l1, sizeof(float) * nl) == 0, "tile rows %d: logits differ", tiles[i]);
		HRM_CHECK(memcmp(q0, q1, sizeof(q0)) == 0, "tile rows %d: q differ", tiles[i]);
		HRM_CHECK(memcmp(z0, z1, sizeof(float) * nz) == 0, "tile rows %d: z_H differs", tiles[i]);
	}
	hrm_set_tile_rows(0);
	hrm_model_free(&m);
	fixture_free(&f);
	free(l0);
	free(l1);
	free(z0);
	free(z1);
}

/* The Q-target segment (position 0 only in the last block) gives the full segment's q bit for bit. */
HRM_TEST(packed_segment_q_bitwise)
{
	packed_fixture f;
	hrm_model	m;
	hrm_error	err;
	hrm_workspace *ws;
	hrm_carry	a,
				b;
	size_t		nl = (size_t) PB * PT * 9;
	size_t		nz;
	float	   *logits = malloc(sizeof(float) * nl);
	float		qa[PB * 2],
				qb[PB * 2];

	for (int packed = 0; packed <= 1; packed++)
	{
		HRM_REQUIRE(fixture_init(&f, 13) && logits, "fixture");
		HRM_REQUIRE(hrm_model_init(&m, &f.lay, f.params, &err) == HRM_OK, "%s", err.msg);
		if (packed)
			HRM_REQUIRE(hrm_model_pack(&m, false, &err) == HRM_OK, "%s", err.msg);
		nz = (size_t) PB * m.cfg->S * m.cfg->hidden_size;
		ws = hrm_workspace_create(&m, PB, &err);
		HRM_REQUIRE(ws != NULL, "%s", err.msg);
		HRM_REQUIRE(hrm_carry_init(&a, &m, PB, &err) == HRM_OK && hrm_carry_init(&b, &m, PB, &err) == HRM_OK,
					"%s", err.msg);
		hrm_carry_reset(&a, &m, NULL);
		/* one segment to get away from the initial state, then copy */
		HRM_REQUIRE(hrm_segment_forward(&m, ws, &a, f.inputs, f.pids, logits, qa, &err) == HRM_OK, "%s", err.msg);
		memcpy(b.z_H, a.z_H, sizeof(float) * nz);
		memcpy(b.z_L, a.z_L, sizeof(float) * nz);
		HRM_REQUIRE(hrm_segment_forward(&m, ws, &a, f.inputs, f.pids, logits, qa, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_segment_q(&m, ws, &b, f.inputs, f.pids, qb, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(qa, qb, sizeof(qa)) == 0, "packed=%d: q differ (%.9g vs %.9g)", packed, qa[0], qb[0]);
		HRM_CHECK(memcmp(a.z_L, b.z_L, sizeof(float) * nz) == 0, "packed=%d: z_L differs", packed);
		for (int r = 0; r < PB; r++)
			HRM_CHECK(memcmp(a.z_H + (size_t) r * m.cfg->S * m.cfg->hidden_size,
							 b.z_H + (size_t) r * m.cfg->S * m.cfg->hidden_size,
							 sizeof(float) * m.cfg->hidden_size) == 0, "packed=%d: row %d position 0 differs",
					  packed, r);
		hrm_carry_free(&a);
		hrm_carry_free(&b);
		hrm_workspace_free(ws);
		hrm_model_free(&m);
		fixture_free(&f);
	}
	free(logits);
}

/* Training on the packed path follows the BLAS path to float rounding. */
HRM_TEST(packed_training_matches_blas)
{
	packed_fixture f;
	hrm_train_opts o;
	hrm_trainer *tp = NULL,
			   *tb = NULL;
	hrm_error	err;
	bool		was_on = hrm_gemm_available();
	size_t		n;
	double		dparam;

	if (!was_on)
	{
		printf("    packed kernel not built: nothing to compare\n");
		return;
	}
	HRM_REQUIRE(fixture_init(&f, 14), "fixture");
	hrm_train_opts_defaults(&o);
	o.batch_size = PB;
	o.chunk_rows = 7;			/* chunks of 7, 7, 6 rows: tiles and row tails inside each */
	o.lr = 1e-3;
	o.lr_warmup_steps = 0;
	o.total_steps = 10;
	o.seed = 5;
	HRM_REQUIRE(hrm_trainer_create(&tp, &f.lay.cfg, f.params, &o, &err) == HRM_OK, "%s", err.msg);
	hrm_gemm_enable(false);
	HRM_REQUIRE(hrm_trainer_create(&tb, &f.lay.cfg, f.params, &o, &err) == HRM_OK, "%s", err.msg);
	hrm_gemm_enable(true);
	for (int s = 0; s < 4; s++)
	{
		hrm_train_metrics mp,
					mb;

		HRM_REQUIRE(hrm_train_backward(tp, f.inputs, f.labels, f.pids, &mp, &err) == HRM_OK, "%s", err.msg);
		hrm_gemm_enable(false);
		HRM_REQUIRE(hrm_train_backward(tb, f.inputs, f.labels, f.pids, &mb, &err) == HRM_OK, "%s", err.msg);
		hrm_gemm_enable(true);
		HRM_REQUIRE(hrm_train_apply(tp, &mp, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_train_apply(tb, &mb, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(fabs(mp.loss - mb.loss) <= 1e-5 * fmax(1.0, fabs(mb.loss)),
				  "step %d: loss %.9g vs %.9g", s + 1, mp.loss, mb.loss);
		HRM_CHECK(mp.count == mb.count && mp.steps == mb.steps, "step %d: halting differs", s + 1);
	}
	n = hrm_trainer_layout(tp)->n_params;
	dparam = max_diff(hrm_trainer_params(tp), hrm_trainer_params(tb), n);
	/* 4 AdamATan2 steps of lr 1e-3 move a weight by at most ~4e-3; the paths agree far closer */
	HRM_CHECK(dparam <= 1e-5, "parameters differ by %.3g after 4 steps", dparam);
	hrm_trainer_free(tp);
	hrm_trainer_free(tb);
	fixture_free(&f);
}

/*
 * The pool: tiles spread over threads and products split by rows give the
 * same bits as one thread (each output element is one thread's one sum).
 */
HRM_TEST(packed_threads_bitwise)
{
	packed_fixture f;
	hrm_train_opts o;
	hrm_trainer *t1 = NULL,
			   *t2 = NULL;
	hrm_error	err;
	int			was = hrm_get_threads();
	size_t		n;

	if (!hrm_gemm_available())
	{
		/* the BLAS path promises equal bits at equal thread counts only */
		printf("    packed kernel not built: nothing to compare\n");
		return;
	}
	HRM_REQUIRE(fixture_init(&f, 15), "fixture");
	hrm_train_opts_defaults(&o);
	o.batch_size = PB;
	o.lr = 1e-3;
	o.seed = 9;
	hrm_set_threads(1);
	HRM_REQUIRE(hrm_trainer_create(&t1, &f.lay.cfg, f.params, &o, &err) == HRM_OK, "%s", err.msg);
	hrm_set_threads(2);
	HRM_REQUIRE(hrm_trainer_create(&t2, &f.lay.cfg, f.params, &o, &err) == HRM_OK, "%s", err.msg);
	for (int s = 0; s < 3; s++)
	{
		hrm_train_metrics m1,
					m2;

		hrm_set_threads(1);
		HRM_REQUIRE(hrm_train_step(t1, f.inputs, f.labels, f.pids, &m1, &err) == HRM_OK, "%s", err.msg);
		hrm_set_threads(2);
		HRM_REQUIRE(hrm_train_step(t2, f.inputs, f.labels, f.pids, &m2, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(m1.loss == m2.loss, "step %d: loss %.9g (1 thread) vs %.9g (2)", s + 1, m1.loss, m2.loss);
	}
	n = hrm_trainer_layout(t1)->n_params;
	HRM_CHECK(memcmp(hrm_trainer_params(t1), hrm_trainer_params(t2), n * sizeof(float)) == 0,
			  "parameters differ between 1 and 2 threads (max %.3g)",
			  max_diff(hrm_trainer_params(t1), hrm_trainer_params(t2), n));
	hrm_set_threads(was > 0 ? was : 1);
	hrm_trainer_free(t1);
	hrm_trainer_free(t2);
	fixture_free(&f);
}

/* ------------------------------------------------------------------------- */
/* inference on packed weights: shared copies, one puzzle over threads, bf16 */

/*
 * Packs written into a caller's buffer (as hrm_cache does into the shared
 * segment) compute exactly what the model's own packs do, and a second
 * model bound to the same buffer without writing it (another backend)
 * too.  Inference packs leave out the plain gate_up operand (the fused
 * SwiGLU one replaces it): hrm_model_pack_floats says how much is needed.
 */
HRM_TEST(packed_bind_shared_buffer_bitwise)
{
	packed_fixture f;
	hrm_model	mo,
				mw,
				mr;
	hrm_error	err;
	size_t		nl = (size_t) PB * PT * 9;
	size_t		nf;
	float	   *l0 = malloc(sizeof(float) * nl),
			   *l1 = malloc(sizeof(float) * nl),
			   *buf;
	float		q0[PB * 2],
				q1[PB * 2];

	if (!hrm_gemm_available())
	{
		printf("    packed kernel not available: nothing to compare\n");
		free(l0);
		free(l1);
		return;
	}
	HRM_REQUIRE(fixture_init(&f, 21) && l0 && l1, "fixture");
	nf = hrm_model_pack_floats(&f.lay, false);
	buf = hrm_alloc(nf, sizeof(float));
	HRM_REQUIRE(buf != NULL, "alloc");
	HRM_REQUIRE(hrm_model_init(&mo, &f.lay, f.params, &err) == HRM_OK && hrm_model_pack(&mo, false, &err) == HRM_OK,
				"%s", err.msg);
	HRM_CHECK(mo.wpack_floats == nf, "own packs %zu floats, plan %zu", mo.wpack_floats, nf);
	HRM_REQUIRE(hrm_model_init(&mw, &f.lay, f.params, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_model_pack_bind(&mw, buf, true, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(mw.wpack == buf && mw.wpack_floats == nf, "bound to the buffer");
	HRM_CHECK(memcmp(buf, mo.wpack, nf * sizeof(float)) == 0, "buffer packs differ from the model's own");
	HRM_REQUIRE(hrm_model_init(&mr, &f.lay, f.params, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_model_pack_bind(&mr, buf, false, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(two_segments(&mo, &f, l0, q0, NULL), "forward own");
	HRM_REQUIRE(two_segments(&mr, &f, l1, q1, NULL), "forward bound");
	HRM_CHECK(memcmp(l0, l1, sizeof(float) * nl) == 0 && memcmp(q0, q1, sizeof(q0)) == 0,
			  "bound packs give other results");
	/* freeing a bound model leaves the buffer alone */
	hrm_model_free(&mw);
	hrm_model_free(&mr);
	HRM_CHECK(memcmp(buf, mo.wpack, nf * sizeof(float)) == 0, "buffer changed by freeing bound models");
	hrm_model_free(&mo);
	hrm_free(buf);
	fixture_free(&f);
	free(l0);
	free(l1);
}

/* A Sudoku-shaped model big enough for its products to be split over threads. */
static const char split_cfg[] =
"{\"seq_len\": 81, \"vocab_size\": 11, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 128,"
" \"H_cycles\": 1, \"L_cycles\": 2, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 128,"
" \"num_heads\": 2, \"halt_max_steps\": 2}";

/*
 * One puzzle (and two) on two threads: the products are split by column
 * panels and the attention by heads (82 rows are 7 row blocks, which two
 * threads would share 4 : 3), and every value is the one thread's, bit for
 * bit.
 */
HRM_TEST(packed_one_puzzle_threads_bitwise)
{
	hrm_config	c;
	hrm_layout	lay;
	hrm_model	m;
	hrm_error	err;
	hrm_rng		r;
	float	   *params;
	int32_t		in[2 * 81];
	float		l1[2 * 81 * 11],
				l2[2 * 81 * 11],
				q1[4],
				q2[4];
	bool		by_cols;
	int			was = hrm_parallel_threads();
	hrm_infer_opts o = {2, false};

	if (!hrm_gemm_available())
	{
		printf("    packed kernel not available: nothing to compare\n");
		return;
	}
	HRM_REQUIRE(hrm_config_from_json(split_cfg, strlen(split_cfg), &c, &err) == HRM_OK &&
				hrm_layout_init(&lay, &c, &err) == HRM_OK, "%s", err.msg);
	params = hrm_alloc(lay.n_params, sizeof(float));
	HRM_REQUIRE(params != NULL, "alloc");
	hrm_rng_seed(&r, 31);
	hrm_init_params(&lay, params, &r);
	for (int i = 0; i < 2 * 81; i++)
		in[i] = 1 + (int32_t) hrm_rng_below(&r, 10);
	HRM_REQUIRE(hrm_model_init(&m, &lay, params, &err) == HRM_OK && hrm_model_pack(&m, false, &err) == HRM_OK,
				"%s", err.msg);
	/* the plan: one puzzle's qkv product goes by columns on two threads, a big batch by rows */
	hrm_parallel_set_threads(2);
	HRM_CHECK(hrm_gemm_plan(82, 3 * 128, 128, 12, true, &by_cols) == 2 && by_cols, "82 rows not split by columns");
	HRM_CHECK(hrm_gemm_plan(82 * 16, 3 * 128, 128, 12, true, &by_cols) == 2 && !by_cols,
			  "1312 rows not split by rows");
	for (int B = 1; B <= 2; B++)
	{
		hrm_set_threads(1);
		HRM_REQUIRE(hrm_infer(&m, in, NULL, B, &o, l1, q1, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_set_threads(2);
		HRM_REQUIRE(hrm_infer(&m, in, NULL, B, &o, l2, q2, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(l1, l2, sizeof(float) * B * 81 * 11) == 0, "B=%d: logits differ between 1 and 2 threads", B);
		HRM_CHECK(memcmp(q1, q2, sizeof(float) * B * 2) == 0, "B=%d: q differ between 1 and 2 threads", B);
	}
	hrm_set_threads(was);
	hrm_model_free(&m);
	hrm_free(params);
	hrm_layout_free(&lay);
}

/*
 * A batch of 16 on two threads (the views' sub-batch): its tiles are
 * sized so that the threads get equal shares (2 examples a tile, where one
 * thread runs 3 each), and every value is the one thread's, bit for bit.
 */
HRM_TEST(packed_batch_threads_bitwise)
{
	enum
	{
		NB = 16
	};
	hrm_config	c;
	hrm_layout	lay;
	hrm_model	m;
	hrm_error	err;
	hrm_rng		r;
	float	   *params;
	int32_t		in[NB * 81],
				pid[NB] = {0};
	float	   *l1 = malloc(sizeof(float) * NB * 81 * 11),
			   *l2 = malloc(sizeof(float) * NB * 81 * 11),
				q1[2 * NB],
				q2[2 * NB];
	int			was = hrm_parallel_threads();
	hrm_infer_opts o = {2, false};

	HRM_REQUIRE(l1 && l2, "alloc");
	if (!hrm_gemm_available())
	{
		printf("    packed kernel not available: nothing to compare\n");
		free(l1);
		free(l2);
		return;
	}
	HRM_REQUIRE(hrm_config_from_json(split_cfg, strlen(split_cfg), &c, &err) == HRM_OK &&
				hrm_layout_init(&lay, &c, &err) == HRM_OK, "%s", err.msg);
	params = hrm_alloc(lay.n_params, sizeof(float));
	HRM_REQUIRE(params != NULL, "alloc");
	hrm_rng_seed(&r, 47);
	hrm_init_params(&lay, params, &r);
	for (int i = 0; i < NB * 81; i++)
		in[i] = 1 + (int32_t) hrm_rng_below(&r, 10);
	HRM_REQUIRE(hrm_model_init(&m, &lay, params, &err) == HRM_OK && hrm_model_pack(&m, false, &err) == HRM_OK,
				"%s", err.msg);
	for (int B = NB - 1; B <= NB; B++)
	{
		hrm_set_threads(1);
		HRM_REQUIRE(hrm_infer(&m, in, pid, B, &o, l1, q1, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_set_threads(2);
		HRM_REQUIRE(hrm_infer(&m, in, pid, B, &o, l2, q2, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(l1, l2, sizeof(float) * B * 81 * 11) == 0, "B=%d: logits differ between 1 and 2 threads", B);
		HRM_CHECK(memcmp(q1, q2, sizeof(float) * B * 2) == 0, "B=%d: q differ between 1 and 2 threads", B);
	}
	hrm_set_threads(was);
	hrm_model_free(&m);
	hrm_free(params);
	hrm_layout_free(&lay);
	free(l1);
	free(l2);
}

/* bfloat16 rounding: nearest, ties to even, NaN kept, infinities exact. */
HRM_TEST(bf16_round_nearest_even)
{
	struct
	{
		float		x;
		uint16_t	want;
	}			cases[] = {
		{1.0f, 0x3f80},
		{1.0f + 1.0f / 256, 0x3f80},	/* halfway between 0x3f80 and 0x3f81: to even */
		{1.0f + 3.0f / 256, 0x3f82},	/* halfway between 0x3f81 and 0x3f82: to even */
		{1.0f + 1.0f / 256 + 1.0f / 65536, 0x3f81},	/* just above halfway */
		{-2.5f, 0xc020},
		{0.0f, 0x0000},
		{INFINITY, 0x7f80},
		{-INFINITY, 0xff80},
		{3.3961e38f, 0x7f7f},	/* rounds to the largest finite bf16, not infinity */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		HRM_CHECK(hrm_bf16_round(cases[i].x) == cases[i].want, "%.9g -> 0x%04x, want 0x%04x", cases[i].x,
				  hrm_bf16_round(cases[i].x), cases[i].want);
	HRM_CHECK(isnan(hrm_bf16_to_float(hrm_bf16_round(NAN))), "NaN not kept");
	HRM_CHECK(hrm_bf16_to_float(0x3f80) == 1.0f && hrm_bf16_to_float(0xc020) == -2.5f, "to float");
}

/*
 * The bfloat16 products equal a float64 sum of the bfloat16-rounded
 * operands (to float32 rounding), for row tails, column tails, odd K,
 * beta = 1 and the fused SwiGLU; and give the same bits on two threads.
 */
HRM_TEST(bf16_gemm_matches_rounded_reference)
{
	int			Ms[] = {1, 7, 12, 13, 82},
				Ns[] = {16, 32, 50, 96},
				Ks[] = {7, 16, 65, 128};
	hrm_rng		r;
	double		worst = 0.0;
	int			was = hrm_parallel_threads();

	if (!hrm_gemm_bf16_available())
	{
		printf("    no AVX512_BF16 here: nothing to compare\n");
		return;
	}
	hrm_rng_seed(&r, 41);
	for (size_t a = 0; a < 5; a++)
		for (size_t b = 0; b < 4; b++)
			for (size_t k = 0; k < 4; k++)
			{
				int			M = Ms[a],
							N = Ns[b],
							K = Ks[k];
				float	   *A = malloc(sizeof(float) * M * K),
						   *W = malloc(sizeof(float) * N * K),
						   *C = malloc(sizeof(float) * M * N),
						   *C2 = malloc(sizeof(float) * M * N);
				uint16_t   *Bp = hrm_alloc(hrm_gemm_pack_bf16_size(K, N), sizeof(uint16_t));

				HRM_REQUIRE(A && W && C && C2 && Bp, "alloc");
				for (int i = 0; i < M * K; i++)
					A[i] = (float) (hrm_rng_uniform(&r) - 0.5);
				for (int i = 0; i < N * K; i++)
					W[i] = (float) (hrm_rng_uniform(&r) - 0.5);
				hrm_gemm_pack_bf16(Bp, W, K, K, N);
				for (int i = 0; i < M * N; i++)
					C[i] = C2[i] = 0.25f;
				hrm_parallel_set_threads(1);
				hrm_gemm_packed_bf16(M, N, K, A, K, Bp, 1.0f, C, N);
				for (int m = 0; m < M; m++)
					for (int n = 0; n < N; n++)
					{
						double		s = 0.25;

						for (int i = 0; i < K; i++)
							s += (double) hrm_bf16_to_float(hrm_bf16_round(A[m * K + i])) *
								hrm_bf16_to_float(hrm_bf16_round(W[n * K + i]));
						worst = fmax(worst, fabs(s - C[m * N + n]));
					}
				hrm_parallel_set_threads(2);
				hrm_gemm_packed_bf16(M, N, K, A, K, Bp, 1.0f, C2, N);
				HRM_CHECK(memcmp(C, C2, sizeof(float) * M * N) == 0, "M=%d N=%d K=%d: threads change bits", M, N, K);
				free(A);
				free(W);
				free(C);
				free(C2);
				hrm_free(Bp);
			}
	HRM_CHECK(worst <= 2e-5, "bf16 product off the rounded reference by %.3g", worst);
	/* the fused SwiGLU */
	{
		int			M = 30,
					Iw = 48,
					K = 40;
		float	   *A = malloc(sizeof(float) * M * K),
				   *W = malloc(sizeof(float) * 2 * Iw * K),
				   *act = malloc(sizeof(float) * M * Iw);
		uint16_t   *Bp = hrm_alloc(hrm_gemm_pack_bf16_size(K, 2 * Iw), sizeof(uint16_t));

		HRM_REQUIRE(A && W && act && Bp, "alloc");
		for (int i = 0; i < M * K; i++)
			A[i] = (float) (hrm_rng_uniform(&r) - 0.5);
		for (int i = 0; i < 2 * Iw * K; i++)
			W[i] = (float) (hrm_rng_uniform(&r) - 0.5);
		hrm_gemm_pack_swiglu_bf16(Bp, W, K, K, Iw);
		hrm_gemm_packed_swiglu_bf16(M, Iw, K, A, K, Bp, act, Iw);
		worst = 0.0;
		for (int m = 0; m < M; m++)
			for (int n = 0; n < Iw; n++)
			{
				double		g = 0.0,
							u = 0.0;

				for (int i = 0; i < K; i++)
				{
					double		x = hrm_bf16_to_float(hrm_bf16_round(A[m * K + i]));

					g += x * hrm_bf16_to_float(hrm_bf16_round(W[n * K + i]));
					u += x * hrm_bf16_to_float(hrm_bf16_round(W[(Iw + n) * K + i]));
				}
				worst = fmax(worst, fabs(g / (1.0 + exp(-g)) * u - act[m * Iw + n]));
			}
		HRM_CHECK(worst <= 1e-5, "bf16 SwiGLU off the rounded reference by %.3g", worst);
		free(A);
		free(W);
		free(act);
		hrm_free(Bp);
	}
	hrm_parallel_set_threads(was);
}

/*
 * Weights larger than L2 (the full-size model's 512 x 1536) on a few row
 * blocks take the fetch-ahead path (smaller column groups, the next group
 * prefetched); tall products keep the large groups.  The rows of one puzzle
 * (82) must come out bitwise as the same rows of a 246-row product, and of
 * one-row products, in float32 and bf16, plain and fused SwiGLU, on one
 * thread and two; float32 within 1e-4 of a double sum.
 */
HRM_TEST(gemm_fetch_ahead_rows_bitwise)
{
	int			K = 512,
				N = 1536,
				Mt = 246,
				Mp = 82;
	hrm_rng		r;
	int			was = hrm_parallel_threads();
	float	   *A = malloc(sizeof(float) * Mt * K),
			   *W = malloc(sizeof(float) * N * K),
			   *Ct = malloc(sizeof(float) * Mt * N),
			   *Cp = malloc(sizeof(float) * Mp * N),
			   *Cr = malloc(sizeof(float) * N);
	float	   *Bp = hrm_alloc(hrm_gemm_pack_size(K, N), sizeof(float)),
			   *Bs = hrm_alloc(hrm_gemm_pack_size(K, N), sizeof(float));
	uint16_t   *Bh = hrm_alloc(hrm_gemm_pack_bf16_size(K, N), sizeof(uint16_t)),
			   *Bhs = hrm_alloc(hrm_gemm_pack_bf16_size(K, N), sizeof(uint16_t));
	double		worst = 0.0;
	bool		b16 = hrm_gemm_bf16_available();

	HRM_REQUIRE(A && W && Ct && Cp && Cr && Bp && Bs && Bh && Bhs, "alloc");
	if (!hrm_gemm_available())
	{
		printf("    no AVX-512 here: nothing to compare\n");
		goto done;
	}
	hrm_rng_seed(&r, 77);
	for (int i = 0; i < Mt * K; i++)
		A[i] = (float) (hrm_rng_uniform(&r) - 0.5);
	for (int i = 0; i < N * K; i++)
		W[i] = (float) (hrm_rng_uniform(&r) - 0.5) * 0.1f;
	hrm_gemm_pack(Bp, W, K, K, N, true);
	hrm_gemm_pack_swiglu(Bs, W, K, K, N / 2);
	if (b16)
	{
		hrm_gemm_pack_bf16(Bh, W, K, K, N);
		hrm_gemm_pack_swiglu_bf16(Bhs, W, K, K, N / 2);
	}
	for (int kind = 0; kind < 4; kind++)
	{
		/* 0: float32, 1: float32 SwiGLU, 2: bf16, 3: bf16 SwiGLU */
		int			width = kind & 1 ? N / 2 : N;

		if (kind >= 2 && !b16)
			continue;
		for (int th = 1; th <= 2; th++)
		{
			int			bad_p = 0,
						bad_r = 0;

			hrm_parallel_set_threads(th);
#define RUN(M, a, c) \
			do { \
				if (kind == 0) hrm_gemm_packed((M), N, K, 1.0f, (a), K, Bp, 0.0f, (c), N); \
				else if (kind == 1) hrm_gemm_packed_swiglu((M), N / 2, K, (a), K, Bs, (c), N / 2, NULL); \
				else if (kind == 2) hrm_gemm_packed_bf16((M), N, K, (a), K, Bh, 0.0f, (c), N); \
				else hrm_gemm_packed_swiglu_bf16((M), N / 2, K, (a), K, Bhs, (c), N / 2); \
			} while (0)
			RUN(Mt, A, Ct);
			RUN(Mp, A, Cp);
			bad_p = memcmp(Ct, Cp, sizeof(float) * Mp * width) != 0;
			for (int m = 0; m < Mp; m += 9)
			{
				RUN(1, A + (size_t) m * K, Cr);
				bad_r += memcmp(Ct + (size_t) m * width, Cr, sizeof(float) * width) != 0;
			}
#undef RUN
			HRM_CHECK(!bad_p && bad_r == 0, "kind %d, %d thread(s): 82 rows %s, %d of 10 single rows differ",
					  kind, th, bad_p ? "differ" : "equal", bad_r);
		}
	}
	/* the float32 product against a double sum */
	hrm_gemm_packed(Mp, N, K, 1.0f, A, K, Bp, 0.0f, Cp, N);
	for (int m = 0; m < Mp; m += 7)
		for (int n = 0; n < N; n += 5)
		{
			double		s = 0.0;

			for (int i = 0; i < K; i++)
				s += (double) A[m * K + i] * W[n * K + i];
			worst = fmax(worst, fabs(s - Cp[m * N + n]));
		}
	HRM_CHECK(worst <= 1e-4, "float32 product off the double sum by %.3g", worst);
done:
	hrm_parallel_set_threads(was);
	free(A);
	free(W);
	free(Ct);
	free(Cp);
	free(Cr);
	hrm_free(Bp);
	hrm_free(Bs);
	hrm_free(Bh);
	hrm_free(Bhs);
}

/*
 * hrm.precision = bf16 in the forward pass: close to float32 after one
 * segment, different bits (the products really ran in bfloat16), the same
 * bits on two threads; and a clean fallback: with the bf16 kernels off,
 * asking for bf16 says no and float32 runs.
 */
HRM_TEST(bf16_forward_close_and_fallback)
{
	packed_fixture f;
	hrm_model	m;
	hrm_error	err;
	size_t		nl = (size_t) PB * PT * 9;
	float	   *l32 = malloc(sizeof(float) * nl),
			   *l16 = malloc(sizeof(float) * nl),
			   *l16b = malloc(sizeof(float) * nl);
	float		q[PB * 2];
	hrm_infer_opts o = {1, false};
	int			was = hrm_parallel_threads();

	HRM_REQUIRE(fixture_init(&f, 23) && l32 && l16 && l16b, "fixture");
	HRM_REQUIRE(hrm_model_init(&m, &f.lay, f.params, &err) == HRM_OK && hrm_model_pack(&m, false, &err) == HRM_OK,
				"%s", err.msg);
	HRM_REQUIRE(hrm_model_pack_bf16(&m, NULL, true, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_infer(&m, f.inputs, f.pids, PB, &o, l32, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	if (hrm_gemm_bf16_available())
	{
		double		scale = fmax(1.0, max_abs(l32, nl));

		HRM_CHECK(m.wpack16 != NULL && m.wpack16_elems == hrm_model_pack16_elems(&f.lay), "bf16 packs made");
		HRM_CHECK(hrm_model_set_precision(&m, HRM_PRECISION_BF16) && m.bf16, "bf16 not taken");
		hrm_set_threads(1);
		HRM_REQUIRE(hrm_infer(&m, f.inputs, f.pids, PB, &o, l16, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_set_threads(2);
		HRM_REQUIRE(hrm_infer(&m, f.inputs, f.pids, PB, &o, l16b, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_set_threads(was);
		HRM_CHECK(memcmp(l16, l16b, sizeof(float) * nl) == 0, "bf16: threads change bits");
		HRM_CHECK(max_diff(l16, l32, nl) > 0.0, "bf16 gave float32's bits");
		/* 12 block calls of rounding to 8 significant bits: well within 5% of the logits' scale */
		HRM_CHECK(max_diff(l16, l32, nl) <= 0.05 * scale, "bf16 logits off float32 by %.3g (scale %.3g)",
				  max_diff(l16, l32, nl), scale);
		/* the fallback */
		hrm_gemm_bf16_enable(false);
		HRM_CHECK(!hrm_model_set_precision(&m, HRM_PRECISION_BF16) && !m.bf16, "bf16 taken with its kernels off");
		HRM_REQUIRE(hrm_infer(&m, f.inputs, f.pids, PB, &o, l16, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(l16, l32, sizeof(float) * nl) == 0, "fallback is not float32");
		hrm_gemm_bf16_enable(true);
	}
	else
	{
		HRM_CHECK(m.wpack16 == NULL && !hrm_model_set_precision(&m, HRM_PRECISION_BF16), "bf16 without AVX512_BF16");
		printf("    no AVX512_BF16 here: checked the fallback only\n");
	}
	hrm_model_free(&m);
	fixture_free(&f);
	free(l32);
	free(l16);
	free(l16b);
}

/*
 * The shared ranges of work (parallel.h), on one thread: the owner takes
 * groups from the front, never more than half of what is left, others
 * single items from the back; every item once.
 */
HRM_TEST(range_front_and_back)
{
	hrm_range r;
	int			first = -1,
				n;

	hrm_range_init(&r, 5, 13);	/* 8 panels, 5..12 */
	HRM_CHECK(r.p0 == 5, "p0");
	n = hrm_range_front(&r, 4, &first);
	HRM_CHECK(n == 4 && first == 0, "first take: %d at %d, want 4 at 0", n, first);
	n = hrm_range_front(&r, 4, &first);
	HRM_CHECK(n == 2 && first == 4, "second take: %d at %d, want 2 (half of 4) at 4", n, first);
	HRM_CHECK(hrm_range_back(&r) == 7, "back takes the last panel");
	n = hrm_range_front(&r, 4, &first);
	HRM_CHECK(n == 1 && first == 6, "third take: %d at %d, want 1 at 6", n, first);
	HRM_CHECK(hrm_range_back(&r) == -1 && hrm_range_front(&r, 4, &first) == 0, "nothing left");
	hrm_range_init(&r, 0, 0);
	HRM_CHECK(hrm_range_front(&r, 1, &first) == 0 && hrm_range_back(&r) == -1, "empty range");

	/* 10 items in 3 ranges (3, 3, 4); range 0's owner, done, takes the others' last items */
	{
		hrm_range	rs[3];
		int			got[5],
					k = 0,
					p;

		hrm_range_split(rs, 3, 10);
		HRM_CHECK(rs[0].p0 == 0 && rs[0].p1 == 3 && rs[1].p0 == 3 && rs[1].p1 == 6 && rs[2].p0 == 6 &&
				  rs[2].p1 == 10, "split: [%d,%d) [%d,%d) [%d,%d)", rs[0].p0, rs[0].p1, rs[1].p0, rs[1].p1,
				  rs[2].p0, rs[2].p1);
		n = hrm_range_front(&rs[1], 2, &first);
		HRM_CHECK(n == 2 && first == 0, "range 1's owner takes 2 at 0");
		while (k < 5 && (p = hrm_range_other(rs, 3, 0)) >= 0)
			got[k++] = p;
		HRM_CHECK(k == 5 && got[0] == 5 && got[1] == 9 && got[2] == 8 && got[3] == 7 && got[4] == 6,
				  "others' items: %d taken (%d %d %d %d %d), want 5 9 8 7 6", k, got[0], got[1], got[2], got[3],
				  got[4]);
		HRM_CHECK(hrm_range_other(rs, 3, 0) == -1 && hrm_range_front(&rs[0], 3, &first) == 2,
				  "nothing left of the others; range 0 still its own");
	}
}

/* Two threads on one range at once: every item taken exactly once, the owner's in order. */
typedef struct range_race
{
	hrm_range r;
	int			panels;
	_Atomic int taken[64];
	int			bad_order;
} range_race;

static void
range_race_task(void *arg, int i, int t)
{
	range_race *x = arg;
	int			first,
				n,
				next = 0,
				p;

	if (i == 0)
	{
		for (int g = 1; (n = hrm_range_front(&x->r, g, &first)) > 0; g = g < 4 ? g * 2 : 4)
		{
			x->bad_order += first != next;
			next = first + n;
			for (int k = first; k < first + n; k++)
				atomic_fetch_add(&x->taken[k], 1);
		}
	}
	else
		while ((p = hrm_range_back(&x->r)) >= 0)
			atomic_fetch_add(&x->taken[p], 1);
	(void) t;
}

HRM_TEST(range_two_threads_each_item_once)
{
	int			was = hrm_parallel_threads(),
				bad = 0,
				disorder = 0;

	hrm_parallel_set_threads(2);
	for (int rep = 0; rep < 400; rep++)
	{
		range_race x;

		x.panels = 1 + rep % 64;
		x.bad_order = 0;
		hrm_range_init(&x.r, 0, x.panels);
		for (int k = 0; k < 64; k++)
			atomic_init(&x.taken[k], 0);
		hrm_parallel_for(2, range_race_task, &x);
		for (int k = 0; k < 64; k++)
			bad += atomic_load(&x.taken[k]) != (k < x.panels ? 1 : 0);
		disorder += x.bad_order;
	}
	hrm_parallel_set_threads(was);
	HRM_CHECK(bad == 0, "%d items taken other than once", bad);
	HRM_CHECK(disorder == 0, "the owner's groups out of order %d times", disorder);
}

/* hrm_parallel_for: every task once, the first T on their own threads, the rest on any. */
typedef struct pool_count
{
	_Atomic int runs[97];
	int			thread_of[97];
} pool_count;

static void
pool_count_task(void *arg, int i, int t)
{
	pool_count *x = arg;
	volatile double s = 0.0;

	for (int k = 0; k < (i % 7) * 2000; k++)	/* uneven tasks */
		s += k;
	atomic_fetch_add(&x->runs[i], 1);
	x->thread_of[i] = t;
}

HRM_TEST(parallel_for_each_task_once)
{
	int			was = hrm_parallel_threads();
	int			ns[] = {2, 3, 17, 97};

	hrm_parallel_set_threads(2);
	for (size_t c = 0; c < sizeof(ns) / sizeof(ns[0]); c++)
		for (int rep = 0; rep < 50; rep++)
		{
			pool_count x;
			int			bad = 0;

			for (int i = 0; i < 97; i++)
				atomic_init(&x.runs[i], 0), x.thread_of[i] = -1;
			hrm_parallel_for(ns[c], pool_count_task, &x);
			for (int i = 0; i < 97; i++)
				bad += atomic_load(&x.runs[i]) != (i < ns[c] ? 1 : 0) ||
					(i < ns[c] && (x.thread_of[i] < 0 || x.thread_of[i] > 1));
			HRM_CHECK(bad == 0, "n = %d: %d tasks run other than once, or on no pool thread", ns[c], bad);
			HRM_CHECK(x.thread_of[0] == 0, "n = %d: task 0 not on the caller's thread", ns[c]);
			if (bad)
				break;
		}
	hrm_parallel_set_threads(was);
}

/*
 * Products split by columns on two threads whose second thread starts
 * late (the test delay): the caller takes panels from the back of the late
 * thread's range, and every product still gives the bits of one thread:
 * float32 on packed weights from the fetch-ahead path, fused SwiGLU with
 * its kept projection, a row-major B with a partial last panel, and bf16
 * plain and SwiGLU.
 */
HRM_TEST(gemm_rebalanced_columns_bitwise)
{
	int			K = 512,
				N = 1536,
				M = 82,
				Nr = 500;
	hrm_rng		r;
	int			was = hrm_parallel_threads();
	float	   *A = malloc(sizeof(float) * M * K),
			   *W = malloc(sizeof(float) * N * K),
			   *C1 = malloc(sizeof(float) * M * N),
			   *C2 = malloc(sizeof(float) * M * N),
			   *G1 = malloc(sizeof(float) * M * N),
			   *G2 = malloc(sizeof(float) * M * N);
	float	   *Bp = hrm_alloc(hrm_gemm_pack_size(K, N), sizeof(float)),
			   *Bs = hrm_alloc(hrm_gemm_pack_size(K, N), sizeof(float));
	uint16_t   *Bh = hrm_alloc(hrm_gemm_pack_bf16_size(K, N), sizeof(uint16_t)),
			   *Bhs = hrm_alloc(hrm_gemm_pack_bf16_size(K, N), sizeof(uint16_t));
	bool		b16 = hrm_gemm_bf16_available();
	bool		by_cols;

	HRM_REQUIRE(A && W && C1 && C2 && G1 && G2 && Bp && Bs && Bh && Bhs, "alloc");
	if (!hrm_gemm_available())
	{
		printf("    no AVX-512 here: nothing to compare\n");
		goto done;
	}
	hrm_rng_seed(&r, 91);
	for (int i = 0; i < M * K; i++)
		A[i] = (float) (hrm_rng_uniform(&r) - 0.5);
	for (int i = 0; i < N * K; i++)
		W[i] = (float) (hrm_rng_uniform(&r) - 0.5) * 0.1f;
	hrm_gemm_pack(Bp, W, K, K, N, true);
	hrm_gemm_pack_swiglu(Bs, W, K, K, N / 2);
	if (b16)
	{
		hrm_gemm_pack_bf16(Bh, W, K, K, N);
		hrm_gemm_pack_swiglu_bf16(Bhs, W, K, K, N / 2);
	}
	hrm_parallel_set_threads(2);
	HRM_REQUIRE(hrm_gemm_plan(M, N, K, N / 32, true, &by_cols) == 2 && by_cols, "82 rows not split by columns");
	for (int kind = 0; kind < 5; kind++)
	{
		/* 0: float32, 1: float32 SwiGLU (projection kept), 2: row-major B, 3: bf16, 4: bf16 SwiGLU */
		int			width = kind == 1 || kind == 4 ? N / 2 : kind == 2 ? Nr : N;
		unsigned long before;
		bool		same = true;

		if (kind >= 3 && !b16)
			continue;
#define RUN(c, g) 		do { 			if (kind == 0) hrm_gemm_packed(M, N, K, 1.0f, A, K, Bp, 0.0f, (c), N); 			else if (kind == 1) hrm_gemm_packed_swiglu(M, N / 2, K, A, K, Bs, (c), N / 2, (g)); 			else if (kind == 2) hrm_gemm_nn(M, Nr, K, 1.0f, A, K, W, N, 0.0f, (c), Nr); 			else if (kind == 3) hrm_gemm_packed_bf16(M, N, K, A, K, Bh, 0.0f, (c), N); 			else hrm_gemm_packed_swiglu_bf16(M, N / 2, K, A, K, Bhs, (c), N / 2); 		} while (0)
		hrm_parallel_set_threads(1);
		RUN(C1, G1);
		hrm_parallel_set_threads(2);
		before = hrm_gemm_panels_rebalanced();
		for (int rep = 0; rep < 6 && same; rep++)
		{
			/* late second thread on even reps, both at once on odd ones */
			hrm_gemm_test_owner_delay(rep % 2 == 0 ? 3000 : 0);
			memset(C2, 0xff, sizeof(float) * M * N);
			RUN(C2, G2);
			same = memcmp(C1, C2, sizeof(float) * M * width) == 0 &&
				(kind != 1 || memcmp(G1, G2, sizeof(float) * M * N) == 0);
		}
		hrm_gemm_test_owner_delay(0);
#undef RUN
		HRM_CHECK(same, "kind %d: two threads, rebalanced, differ from one thread", kind);
		HRM_CHECK(hrm_gemm_panels_rebalanced() > before, "kind %d: no panel taken from the late thread", kind);
	}
done:
	hrm_gemm_test_owner_delay(0);
	hrm_parallel_set_threads(was);
	free(A);
	free(W);
	free(C1);
	free(C2);
	free(G1);
	free(G2);
	hrm_free(Bp);
	hrm_free(Bs);
	hrm_free(Bh);
	hrm_free(Bhs);
}
