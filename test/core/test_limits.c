/*
 * test_limits.c — reliability limits of the engine: offsets and sizes that
 * would overflow, configuration upper bounds, the memory limit checked
 * before allocating, and cancellation inside segments and training steps.
 */
#include "check.h"

#include "arc.h"
#include "grid.h"
#include "hrm_internal.h"
#include "run.h"
#include "train.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------- */
/* integer overflow in offsets and sizes */

HRM_TEST(limits_arc_encode_offsets_do_not_overflow)
{
	hrm_arc_grid g = {.rows = 1, .cols = 1, .cell = {5}};
	/* guard cells around the token array catch a write outside it */
	int32_t		buf[3 * HRM_ARC_SEQ];
	int32_t    *t = buf + HRM_ARC_SEQ;
	hrm_error	err;
	struct
	{
		int			r,
					c;
	}			bad[] = {
		{0, INT_MAX}, {INT_MAX, 7}, {INT_MAX, INT_MAX}, {INT_MAX - 1, 0}, {0, INT_MAX - 29},
		{30, 0}, {0, 30}, {-1, 0}, {0, -1}, {INT_MIN, 0},
	};

	for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
		buf[i] = -7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		hrm_status	st = hrm_arc_encode(&g, bad[i].r, bad[i].c, t, &err);

		HRM_CHECK(st == HRM_ERR_INVALID, "offset (%d, %d) accepted (status %d)", bad[i].r, bad[i].c, st);
	}
	for (int i = 0; i < HRM_ARC_SEQ; i++)
	{
		HRM_CHECK(buf[i] == -7, "write before the token array at %d", i - HRM_ARC_SEQ);
		HRM_CHECK(buf[2 * HRM_ARC_SEQ + i] == -7, "write after the token array at %d", i);
	}
	/* the last offsets that fit still work */
	g.rows = 2;
	g.cols = 3;
	HRM_CHECK(hrm_arc_encode(&g, 28, 27, t, &err) == HRM_OK, "offset (28, 27) of a 2x3 grid: %s", err.msg);
	HRM_CHECK(hrm_arc_encode(&g, 29, 27, t, &err) == HRM_ERR_INVALID, "offset (29, 27) of a 2x3 grid accepted");
}

HRM_TEST(limits_dihedral_shape_overflow)
{
	hrm_error	err;
	int			r,
				c;

	/* rows * cols overflows an int: refused before touching the (absent) cells */
	HRM_CHECK(hrm_dihedral_apply_i32(1, NULL, 100000, 100000, NULL, &r, &c, &err) == HRM_ERR_LIMIT,
			  "a 100000x100000 grid accepted");
	HRM_CHECK(hrm_dihedral_apply_u8(0, NULL, INT_MAX, 2, NULL, &r, &c, &err) == HRM_ERR_LIMIT,
			  "an INT_MAX x 2 grid accepted");
}

/* ---------------------------------------------------------------------- */
/* configuration bounds */

static hrm_status
cfg_from(const char *extra, hrm_config *c, hrm_error *err)
{
	char		json[1024];

	snprintf(json, sizeof(json),
			 "{\"seq_len\": 81, \"vocab_size\": 11, \"hidden_size\": 64, \"num_heads\": 4, "
			 "\"puzzle_emb_ndim\": 64%s%s}", extra[0] ? ", " : "", extra);
	return hrm_config_from_json(json, strlen(json), c, err);
}

static const char arc_full_json[] =
"{\"seq_len\": 900, \"vocab_size\": 12, \"num_puzzle_identifiers\": 1000000,"
" \"puzzle_emb_ndim\": 512, \"H_cycles\": 2, \"L_cycles\": 2, \"H_layers\": 4,"
" \"L_layers\": 4, \"hidden_size\": 512, \"num_heads\": 8, \"halt_max_steps\": 16}";

static const char trm_arc_json[] =
"{\"arch\": \"trm\", \"seq_len\": 900, \"vocab_size\": 12,"
" \"num_puzzle_identifiers\": 1000000, \"puzzle_emb_ndim\": 512,"
" \"puzzle_emb_len\": 16, \"H_cycles\": 3, \"L_cycles\": 6, \"H_layers\": 0,"
" \"L_layers\": 2, \"hidden_size\": 512, \"num_heads\": 8}";

HRM_TEST(limits_config_upper_bounds)
{
	hrm_config	c;
	hrm_error	err;
	struct
	{
		const char *extra;
		const char *field;
	}			bad[] = {
		{"\"seq_len\": 20000", "seq_len"},
		{"\"seq_len\": 65536", "seq_len"},
		{"\"hidden_size\": 16384, \"num_heads\": 8", "hidden_size"},
		{"\"num_heads\": 512, \"hidden_size\": 1024", "num_heads"},
		{"\"H_cycles\": 256", "H_cycles"},
		{"\"L_cycles\": 65", "L_cycles"},
		{"\"H_layers\": 65", "H_layers"},
		{"\"L_layers\": 256", "L_layers"},
		{"\"halt_max_steps\": 4096", "halt_max_steps"},
		{"\"num_puzzle_identifiers\": 100000000", "num_puzzle_identifiers"},
		{"\"puzzle_emb_ndim\": 1048576", "puzzle_emb_ndim"},
		{"\"puzzle_emb_ndim\": 65536, \"hidden_size\": 128", "puzzle slots"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		hrm_status	st = cfg_from(bad[i].extra, &c, &err);

		HRM_CHECK(st == HRM_ERR_CONFIG, "{%s} accepted", bad[i].extra);
		HRM_CHECK(strstr(err.msg, bad[i].field) != NULL, "{%s}: \"%s\" does not name %s",
				  bad[i].extra, err.msg, bad[i].field);
	}

	/* hrm_config_validate applies the same bounds to a struct filled in code */
	HRM_REQUIRE(cfg_from("", &c, &err) == HRM_OK, "%s", err.msg);
	c.L_cycles = 256;
	HRM_CHECK(hrm_config_validate(&c, &err) == HRM_ERR_CONFIG && strstr(err.msg, "L_cycles"),
			  "L_cycles 256 validated: %s", err.msg);

	/* every real configuration still passes: the full-size HRM on ARC (900 tokens, ~1M puzzles) */
	HRM_CHECK(hrm_config_from_json(arc_full_json, strlen(arc_full_json), &c, &err) == HRM_OK,
			  "the full-size ARC configuration: %s", err.msg);
	/* TRM: 3 x 6 cycles, 16 puzzle slots */
	HRM_CHECK(hrm_config_from_json(trm_arc_json, strlen(trm_arc_json), &c, &err) == HRM_OK,
			  "the TRM ARC configuration: %s", err.msg);
	/* the bounds themselves are accepted */
	HRM_CHECK(cfg_from("\"seq_len\": 8192, \"H_cycles\": 64, \"L_cycles\": 64, \"H_layers\": 64,"
					   " \"L_layers\": 64, \"halt_max_steps\": 1024", &c, &err) == HRM_OK,
			  "the upper bounds: %s", err.msg);
}

/* ---------------------------------------------------------------------- */
/* a small random model */

typedef struct small_model
{
	hrm_config	cfg;
	hrm_layout	lay;
	float	   *params;
	hrm_model	m;
} small_model;

static bool
small_model_init(small_model *sm, const char *json, hrm_error *err)
{
	hrm_rng		r;

	memset(sm, 0, sizeof(*sm));
	if (hrm_config_from_json(json, strlen(json), &sm->cfg, err) != HRM_OK ||
		hrm_layout_init(&sm->lay, &sm->cfg, err) != HRM_OK)
		return false;
	sm->params = hrm_alloc(sm->lay.n_params, sizeof(float));
	if (sm->params == NULL)
		return false;
	hrm_rng_seed(&r, 5);
	hrm_init_params(&sm->lay, sm->params, &r);
	return hrm_model_init(&sm->m, &sm->lay, sm->params, err) == HRM_OK;
}

static void
small_model_free(small_model *sm)
{
	hrm_model_free(&sm->m);
	hrm_free(sm->params);
	hrm_layout_free(&sm->lay);
}

static const char tiny_cfg[] =
"{\"seq_len\": 16, \"vocab_size\": 6, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 0,"
" \"H_cycles\": 1, \"L_cycles\": 1, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 16,"
" \"num_heads\": 2, \"halt_max_steps\": 4}";

/* ---------------------------------------------------------------------- */
/* the memory limit */

HRM_TEST(limits_memory_plans_refused_before_allocating)
{
	small_model sm;
	hrm_error	err;
	hrm_train_opts o;
	hrm_trainer *t = NULL;
	hrm_workspace *ws;
	hrm_carry	carry;
	int32_t		in[4 * 16] = {0};
	float		logits[4 * 16 * 6],
				q[8];
	size_t		plan,
				actual;

	HRM_REQUIRE(small_model_init(&sm, tiny_cfg, &err), "%s", err.msg);

	/* plans: a trainer's estimate covers what it really allocates */
	hrm_train_opts_defaults(&o);
	o.batch_size = 8;
	plan = hrm_trainer_plan_bytes(&sm.cfg, &o);
	HRM_REQUIRE(hrm_trainer_create(&t, &sm.cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	actual = hrm_trainer_bytes(t);
	HRM_CHECK(plan >= actual && plan < 4 * actual, "trainer plan %zu vs %zu allocated", plan, actual);
	if (getenv("HRM_TEST_VERBOSE"))
		fprintf(stderr, "  trainer plan %zu bytes, %zu allocated\n", plan, actual);
	hrm_trainer_free(t);
	t = NULL;
	HRM_CHECK(hrm_workspace_bytes(&sm.m, 3) > hrm_workspace_bytes(&sm.m, 1), "workspace grows with rows");
	HRM_CHECK(hrm_infer_bytes(&sm.m, 100) > hrm_carry_bytes(&sm.cfg, 100), "inference plan includes the carry");
	/* too large to count: saturates */
	HRM_CHECK(hrm_carry_bytes(&sm.cfg, INT_MAX) < SIZE_MAX, "a real carry size");
	o.batch_size = 1000000;
	HRM_CHECK(hrm_trainer_plan_bytes(&sm.cfg, &o) > (size_t) 1000000 * 17 * 16 * 8, "a million-row trainer");

	/* under an 8 MB limit: large plans are refused with HRM_ERR_MEMLIMIT, small ones run */
	hrm_set_memory_limit((size_t) 8 << 20);
	HRM_CHECK(hrm_memory_limit() == (size_t) 8 << 20, "limit set");
	o.batch_size = 65536;
	HRM_CHECK(hrm_trainer_create(&t, &sm.cfg, NULL, &o, &err) == HRM_ERR_MEMLIMIT && t == NULL,
			  "a 65536-row trainer under 8 MB: %s", err.msg);
	HRM_CHECK(strstr(err.msg, "MB") != NULL && strstr(err.msg, "limit") != NULL, "message \"%s\"", err.msg);
	HRM_CHECK(hrm_carry_init(&carry, &sm.m, 100000, &err) == HRM_ERR_MEMLIMIT, "a 100000-row carry");
	ws = hrm_workspace_create(&sm.m, 100000, &err);
	HRM_CHECK(ws == NULL && err.code == HRM_ERR_MEMLIMIT, "a 100000-row workspace");
	{
		int32_t    *big = calloc((size_t) 20000 * 16, sizeof(int32_t));
		float	   *bl = malloc(sizeof(float) * 20000 * 16 * 6);
		float	   *bq = malloc(sizeof(float) * 20000 * 2);

		HRM_REQUIRE(big && bl && bq, "test buffers");
		HRM_CHECK(hrm_infer(&sm.m, big, NULL, 20000, NULL, bl, bq, NULL, NULL, NULL, &err) == HRM_ERR_MEMLIMIT,
				  "inference on 20000 rows under 8 MB: %s", err.msg);
		free(big);
		free(bl);
		free(bq);
	}
	HRM_CHECK(hrm_infer(&sm.m, in, NULL, 4, NULL, logits, q, NULL, NULL, NULL, &err) == HRM_OK,
			  "a small inference fits: %s", err.msg);
	o.batch_size = 4;
	HRM_CHECK(hrm_trainer_create(&t, &sm.cfg, NULL, &o, &err) == HRM_OK, "a small trainer fits: %s", err.msg);
	hrm_trainer_free(t);
	hrm_set_memory_limit(0);
	small_model_free(&sm);

	/* a long sequence: the RoPE tables and the S x S attention scratch are counted */
	HRM_REQUIRE(small_model_init(&sm, "{\"seq_len\": 8000, \"vocab_size\": 6, \"puzzle_emb_ndim\": 0,"
								 " \"H_cycles\": 1, \"L_cycles\": 1, \"H_layers\": 1, \"L_layers\": 1,"
								 " \"hidden_size\": 16, \"num_heads\": 2}", &err), "%s", err.msg);
	HRM_CHECK(hrm_workspace_bytes(&sm.m, 1) > (size_t) 8000 * 8000 * 4, "S x S scratch counted");
	hrm_set_memory_limit((size_t) 64 << 20);
	ws = hrm_workspace_create(&sm.m, 1, &err);
	HRM_CHECK(ws == NULL && err.code == HRM_ERR_MEMLIMIT, "a 256 MB workspace under 64 MB");
	hrm_set_memory_limit(0);
	small_model_free(&sm);
}

/* ---------------------------------------------------------------------- */
/* cancellation */

typedef struct cancel_state
{
	int			polls;
	int			after;			/* stop once polled this often (< 0: never) */
	double		at;				/* or once this time has passed (0: never) */
} cancel_state;

static int
cancel_hook(void *arg)
{
	cancel_state *cs = arg;

	cs->polls++;
	if (cs->after >= 0 && cs->polls > cs->after)
		return 1;
	return cs->at > 0 && now_seconds() >= cs->at;
}

/* 64 x 64 cycles of 8 + 8 layers: one segment takes minutes */
static const char slow_cfg[] =
"{\"seq_len\": 32, \"vocab_size\": 6, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 0,"
" \"H_cycles\": 64, \"L_cycles\": 64, \"H_layers\": 8, \"L_layers\": 8, \"hidden_size\": 64,"
" \"num_heads\": 2, \"halt_max_steps\": 16}";

static void
check_cancel_inference(int *hrm_failures_, small_model *sm, int threads)
{
	int32_t		in[4 * 32] = {0};
	float		logits[4 * 32 * 6],
				q[8];
	hrm_infer_opts io = {.segments = 16, .adaptive = false};
	cancel_state cs = {0, -1, 0};
	hrm_error	err;
	hrm_status	st;
	double		t0;

	hrm_set_threads(threads);
	hrm_model_pack(&sm->m, false, &err);

	/* the hook fires after 0.2 s: the call must end well within a second of that */
	cs.at = now_seconds() + 0.2;
	hrm_set_cancel_hook(cancel_hook, &cs);
	t0 = now_seconds();
	st = hrm_infer(&sm->m, in, NULL, 4, &io, logits, q, NULL, NULL, NULL, &err);
	HRM_CHECK(st == HRM_ERR_CANCELLED, "%d threads: inference not cancelled (status %d)", threads, st);
	HRM_CHECK(now_seconds() - t0 < 1.2, "%d threads: cancelled inference took %.2f s", threads,
			  now_seconds() - t0);
	HRM_CHECK(strstr(err.msg, "cancelled") != NULL, "message \"%s\"", err.msg);

	/* a single segment (hrm_segment_forward) is cancelled too */
	{
		hrm_carry	c;
		hrm_workspace *ws = hrm_workspace_create(&sm->m, 1, &err);

		HRM_REQUIRE(ws != NULL && hrm_carry_init(&c, &sm->m, 1, &err) == HRM_OK, "%s", err.msg);
		hrm_carry_reset(&c, &sm->m, NULL);
		cs.at = now_seconds() + 0.1;
		hrm_set_cancel_hook(cancel_hook, &cs);
		t0 = now_seconds();
		st = hrm_segment_forward(&sm->m, ws, &c, in, NULL, logits, q, &err);
		HRM_CHECK(st == HRM_ERR_CANCELLED && now_seconds() - t0 < 1.1,
				  "%d threads: segment status %d after %.2f s", threads, st, now_seconds() - t0);
		hrm_carry_free(&c);
		hrm_workspace_free(ws);
	}

	/* the flag stays set until cleared; without a hook nothing is cancelled */
	HRM_CHECK(hrm_cancel_requested(), "the flag is sticky");
	hrm_cancel_clear();
	hrm_set_cancel_hook(NULL, NULL);
	HRM_CHECK(!hrm_cancel_requested(), "no hook, no cancel");
	hrm_set_threads(1);
}

HRM_TEST(limits_cancel_inside_segments)
{
	small_model sm;
	hrm_error	err;

	HRM_REQUIRE(small_model_init(&sm, slow_cfg, &err), "%s", err.msg);
	check_cancel_inference(hrm_failures_, &sm, 1);
	check_cancel_inference(hrm_failures_, &sm, 2);
	small_model_free(&sm);

	/* a hook that never fires changes nothing: same outputs as without a hook */
	{
		int32_t		in[2 * 16] = {1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4};
		float		l1[2 * 16 * 6],
					l2[2 * 16 * 6],
					q1[4],
					q2[4];
		cancel_state cs = {0, -1, 0};

		HRM_REQUIRE(small_model_init(&sm, tiny_cfg, &err), "%s", err.msg);
		HRM_REQUIRE(hrm_infer(&sm.m, in, NULL, 2, NULL, l1, q1, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_set_cancel_hook(cancel_hook, &cs);
		HRM_REQUIRE(hrm_infer(&sm.m, in, NULL, 2, NULL, l2, q2, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_set_cancel_hook(NULL, NULL);
		HRM_CHECK(cs.polls > 0, "the hook was polled");
		HRM_CHECK(memcmp(l1, l2, sizeof(l1)) == 0 && memcmp(q1, q2, sizeof(q1)) == 0, "outputs changed");
		small_model_free(&sm);
	}
}

HRM_TEST(limits_cancel_training_step)
{
	hrm_config	cfg;
	hrm_train_opts o;
	hrm_error	err;
	hrm_trainer *t = NULL;
	int32_t		in[4 * 32] = {0},
				lb[4 * 32] = {0};
	cancel_state cs = {0, -1, 0};
	float	   *before;
	size_t		n;
	hrm_status	st;
	double		t0;

	HRM_REQUIRE(hrm_config_from_json(slow_cfg, strlen(slow_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&o);
	o.batch_size = 4;
	HRM_REQUIRE(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
	n = hrm_trainer_layout(t)->n_params;
	before = malloc(n * sizeof(float));
	HRM_REQUIRE(before != NULL, "copy");
	memcpy(before, hrm_trainer_params(t), n * sizeof(float));

	for (int threads = 1; threads <= 2; threads++)
	{
		hrm_set_threads(threads);
		cs.at = now_seconds() + 0.2;
		hrm_set_cancel_hook(cancel_hook, &cs);
		t0 = now_seconds();
		st = hrm_train_step(t, in, lb, NULL, NULL, &err);
		HRM_CHECK(st == HRM_ERR_CANCELLED, "%d threads: step not cancelled (status %d)", threads, st);
		HRM_CHECK(now_seconds() - t0 < 1.2, "%d threads: cancelled step took %.2f s", threads, now_seconds() - t0);
		HRM_CHECK(memcmp(before, hrm_trainer_params(t), n * sizeof(float)) == 0, "weights changed");
		HRM_CHECK(hrm_trainer_step(t) == 0, "step counter advanced");
		/* no gradients are left to apply */
		HRM_CHECK(hrm_train_apply(t, NULL, &err) == HRM_ERR_INVALID, "apply after a cancelled step");
	}
	hrm_set_cancel_hook(NULL, NULL);
	hrm_set_threads(1);
	hrm_trainer_free(t);

	/* the backward pass has its own cancellation points (per block) */
	{
		const char	cfg2[] =
			"{\"seq_len\": 8, \"vocab_size\": 6, \"puzzle_emb_ndim\": 0, \"H_cycles\": 1, \"L_cycles\": 1,"
			" \"H_layers\": 4, \"L_layers\": 4, \"hidden_size\": 16, \"num_heads\": 2, \"halt_max_steps\": 1}";
		int			polls_forward;
		cancel_state cs2 = {0, -1, 0};

		HRM_REQUIRE(hrm_config_from_json(cfg2, strlen(cfg2), &cfg, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_trainer_create(&t, &cfg, NULL, &o, &err) == HRM_OK, "%s", err.msg);
		hrm_set_cancel_hook(cancel_hook, &cs2);
		HRM_REQUIRE(hrm_train_step(t, in, lb, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		polls_forward = cs2.polls;
		/* stop at the last poll: that is inside the backward */
		cs2.polls = 0;
		cs2.after = polls_forward - 1;
		st = hrm_train_step(t, in, lb, NULL, NULL, &err);
		HRM_CHECK(st == HRM_ERR_CANCELLED, "the last poll of a step (of %d) did not cancel: %d", polls_forward, st);
		HRM_CHECK(hrm_trainer_step(t) == 1, "one step applied");
		hrm_set_cancel_hook(NULL, NULL);
		/* a discarded step leaves every row halted; training goes on from there */
		hrm_trainer_discard_step(t);
		for (int b = 0; b < 4; b++)
			HRM_CHECK(hrm_trainer_carry(t)->halted[b] == 1 && hrm_trainer_carry(t)->steps[b] == 0,
					  "row %d not restarted", b);
		HRM_CHECK(hrm_train_step(t, in, lb, NULL, NULL, &err) == HRM_OK && hrm_trainer_step(t) == 2,
				  "a step after the discarded one: %s", err.msg);
		hrm_trainer_free(t);
	}
	free(before);
}
