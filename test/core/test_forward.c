/*
 * test_forward.c — configuration, layout and inference tests.
 */
#include "check.h"
#include "parity.h"

#include "forward.h"
#include "hrm_internal.h"
#include "layers.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

static const char sudoku_full_json[] =
"{\"arch\": \"hrm\", \"seq_len\": 81, \"vocab_size\": 11, \"num_puzzle_identifiers\": 1,"
" \"puzzle_emb_ndim\": 512, \"H_cycles\": 2, \"L_cycles\": 2, \"H_layers\": 4, \"L_layers\": 4,"
" \"hidden_size\": 512, \"expansion\": 4, \"num_heads\": 8, \"pos_encodings\": \"rope\","
" \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"halt_max_steps\": 16,"
" \"halt_exploration_prob\": 0.1}";

HRM_TEST(config_swiglu_width)
{
	HRM_CHECK(hrm_swiglu_width(4.0, 512) == 1536, "512 -> %d", hrm_swiglu_width(4.0, 512));
	HRM_CHECK(hrm_swiglu_width(4.0, 64) == 256, "64 -> %d", hrm_swiglu_width(4.0, 64));
	HRM_CHECK(hrm_swiglu_width(4.0, 128) == 512, "128 -> %d", hrm_swiglu_width(4.0, 128));
	HRM_CHECK(hrm_swiglu_width(4.0, 97) == 512, "97 -> %d", hrm_swiglu_width(4.0, 97));
	HRM_CHECK(hrm_swiglu_width(4.0, 916) == 2560, "916 -> %d", hrm_swiglu_width(4.0, 916));
}

HRM_TEST(config_full_size_counts)
{
	hrm_config	c;
	hrm_layout	lay;
	hrm_error	err;

	HRM_REQUIRE(hrm_config_from_json(sudoku_full_json, strlen(sudoku_full_json), &c, &err) == HRM_OK,
				"%s", err.msg);
	HRM_CHECK(c.inter_size == 1536 && c.P == 1 && c.S == 82 && c.head_dim == 64, "derived fields");
	HRM_REQUIRE(hrm_layout_init(&lay, &c, &err) == HRM_OK, "%s", err.msg);
	/* the reference's 27,275,266 trained parameters + H_init/L_init + the 512-float puzzle table */
	HRM_CHECK(lay.dense_end - lay.dense_begin == 27275266, "dense params %zu",
			  lay.dense_end - lay.dense_begin);
	HRM_CHECK(lay.n_params == 27275266 + 2 * 512 + 512, "total %zu", lay.n_params);
	HRM_CHECK(lay.n_tensors == 39, "tensors %d (38 trained + puzzle_emb)", lay.n_tensors);
	HRM_CHECK(hrm_layout_find(&lay, "_orig_mod.model.inner.L_level.layers.3.mlp.down_proj.weight") != NULL,
			  "prefixed lookup");
	HRM_CHECK(hrm_layout_find(&lay, "L_level.layers.4.mlp.down_proj.weight") == NULL, "no layer 4");
	hrm_layout_free(&lay);
}

HRM_TEST(config_rejections)
{
	hrm_config	c;
	hrm_error	err;
	struct
	{
		const char *json;
		const char *needle;
	}			cases[] = {
		{"{\"seq_len\": 81, \"vocab_size\": 11, \"hidden_size\": 100, \"num_heads\": 8}", "not divisible"},
		{"{\"seq_len\": 81, \"vocab_size\": 11, \"hidden_sise\": 64}", "unknown config field \"hidden_sise\""},
		{"{\"seq_len\": 0, \"vocab_size\": 11}", "seq_len"},
		{"{\"vocab_size\": 11, \"hidden_size\": 64}", "missing \"seq_len\""},
		{"{\"seq_len\": 81}", "missing \"vocab_size\""},
		{"{}", "missing \"seq_len\" and \"vocab_size\""},
		{"{\"seq_len\": 81, \"vocab_size\": 1}", "vocab_size"},
		{"{\"seq_len\": 81, \"vocab_size\": 11, \"pos_encodings\": \"alibi\"}", "unknown pos_encodings"},
		{"{\"seq_len\": 81, \"vocab_size\": 11, \"arch\": \"gpt\"}", "unknown arch"},
		{"{\"seq_len\": 81.5, \"vocab_size\": 11}", "must be an integer"},
		{"{\"seq_len\": 81, \"vocab_size\": 11, \"halt_exploration_prob\": 2}", "halt_exploration_prob"},
		{"[1, 2]", "JSON object"},
		{"{\"seq_len\": 81,", "not valid JSON"},
		{"{\"seq_len\": 81, \"vocab_size\": 11, \"hidden_size\": 64, \"num_heads\": 4, \"H_layers\": 0}", "H_layers"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		hrm_status	st = hrm_config_from_json(cases[i].json, strlen(cases[i].json), &c, &err);

		HRM_CHECK(st == HRM_ERR_CONFIG, "case %zu accepted", i);
		HRM_CHECK(strstr(err.msg, cases[i].needle) != NULL, "case %zu message \"%s\" lacks \"%s\"",
				  i, err.msg, cases[i].needle);
	}
}

HRM_TEST(config_json_round_trip)
{
	hrm_config	a,
				b;
	hrm_error	err;
	char	   *js;

	HRM_REQUIRE(hrm_config_from_json(sudoku_full_json, strlen(sudoku_full_json), &a, &err) == HRM_OK,
				"%s", err.msg);
	a.pos_encodings = HRM_POS_LEARNED;
	a.halt_exploration_prob = 0.3;
	js = hrm_config_to_json(&a);
	HRM_REQUIRE(js != NULL, "to_json");
	HRM_REQUIRE(hrm_config_from_json(js, strlen(js), &b, &err) == HRM_OK, "%s (%s)", err.msg, js);
	HRM_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "round trip differs: %s", js);
	HRM_CHECK(strstr(js, "\"rms_norm_eps\": 1e-05") != NULL, "short eps form: %s", js);
	free(js);
}

/* A small random model for behavioural tests. */
typedef struct small_model
{
	hrm_layout	lay;
	float	   *params;
	hrm_model	m;
} small_model;

static bool
small_model_init(small_model *sm, const char *json, uint64_t seed)
{
	hrm_config	c;
	hrm_error	err;
	hrm_rng		r;

	if (hrm_config_from_json(json, strlen(json), &c, &err) != HRM_OK)
		return false;
	if (hrm_layout_init(&sm->lay, &c, &err) != HRM_OK)
		return false;
	sm->params = hrm_alloc(sm->lay.n_params, sizeof(float));
	hrm_rng_seed(&r, seed);
	for (size_t i = 0; i < sm->lay.n_params; i++)
		sm->params[i] = (float) (hrm_rng_normal(&r) * 0.1);
	for (size_t i = 0; i < (size_t) c.hidden_size; i++)
		sm->params[sm->lay.H_init + i] = sm->params[sm->lay.L_init + i] = (float) hrm_rng_normal(&r);
	return hrm_model_init(&sm->m, &sm->lay, sm->params, &err) == HRM_OK;
}

static void
small_model_free(small_model *sm)
{
	hrm_model_free(&sm->m);
	hrm_free(sm->params);
	hrm_layout_free(&sm->lay);
}

static const char small_json[] =
"{\"seq_len\": 10, \"vocab_size\": 7, \"num_puzzle_identifiers\": 3, \"puzzle_emb_ndim\": 40,"
" \"H_cycles\": 2, \"L_cycles\": 2, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 32,"
" \"num_heads\": 2, \"halt_max_steps\": 6}";

/* Rows are independent: a batch run equals each row run alone, through every chunking path. */
HRM_TEST(infer_rows_independent)
{
	small_model sm;
	hrm_error	err;
	int			B = 70;			/* more than one inference chunk */
	int			T = 10,
				V = 7;
	int32_t    *in = malloc(sizeof(int32_t) * B * T);
	int32_t    *pid = malloc(sizeof(int32_t) * B);
	float	   *lg = malloc(sizeof(float) * B * T * V);
	float	   *q = malloc(sizeof(float) * B * 2);
	float		lg1[10 * 7],
				q1[2];
	hrm_rng		r;
	double		mx = 0.0;

	HRM_REQUIRE(small_model_init(&sm, small_json, 7), "model");
	hrm_rng_seed(&r, 11);
	for (int i = 0; i < B * T; i++)
		in[i] = (int32_t) hrm_rng_below(&r, V);
	for (int b = 0; b < B; b++)
		pid[b] = (int32_t) hrm_rng_below(&r, 3);
	HRM_REQUIRE(hrm_infer(&sm.m, in, pid, B, NULL, lg, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	for (int b = 0; b < B; b += 23)
	{
		HRM_REQUIRE(hrm_infer(&sm.m, in + b * T, pid + b, 1, NULL, lg1, q1, NULL, NULL, NULL, &err) == HRM_OK,
					"%s", err.msg);
		for (int i = 0; i < T * V; i++)
			mx = fmax(mx, fabs(lg1[i] - lg[b * T * V + i]));
		mx = fmax(mx, fabs(q1[0] - q[2 * b]));
	}
	HRM_CHECK(mx < 1e-4, "batch vs single row differ by %g", mx);
	free(in);
	free(pid);
	free(lg);
	free(q);
	small_model_free(&sm);
}

typedef struct trace
{
	int			segments;
	int			ran_last;
} trace;

static int
count_cb(void *arg, int segment, int B, const float *logits, const float *q, const uint8_t *ran)
{
	trace	   *t = arg;
	int			n = 0;

	for (int b = 0; b < B; b++)
		n += ran[b];
	t->segments = segment;
	t->ran_last = n;
	return 0;
}

static int
stop_cb(void *arg, int segment, int B, const float *logits, const float *q, const uint8_t *ran)
{
	return segment >= 2;
}

/* Adaptive halting stops a row when q_halt > q_continue; fixed mode always runs M segments. */
HRM_TEST(infer_adaptive_halting)
{
	small_model sm;
	hrm_error	err;
	int			B = 5,
				T = 10,
				V = 7;
	int32_t		in[5 * 10] = {0},
				pid[5] = {0},
				steps[5];
	float		lg[5 * 10 * 7],
				q[10];
	hrm_infer_opts fixed = {4, false},
				adapt = {6, true};
	trace		tr = {0, 0};

	HRM_REQUIRE(small_model_init(&sm, small_json, 3), "model");
	for (int i = 0; i < B * T; i++)
		in[i] = i % V;
	HRM_REQUIRE(hrm_infer(&sm.m, in, pid, B, &fixed, lg, q, steps, count_cb, &tr, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(tr.segments == 4 && tr.ran_last == B, "fixed: %d segments, %d rows", tr.segments, tr.ran_last);
	for (int b = 0; b < B; b++)
		HRM_CHECK(steps[b] == 4, "fixed steps %d", steps[b]);

	/* q_head bias decides halting: halt > continue halts every row after one segment */
	sm.params[sm.lay.q_b] = 50.0f;
	sm.params[sm.lay.q_b + 1] = -50.0f;
	HRM_REQUIRE(hrm_infer(&sm.m, in, pid, B, &adapt, lg, q, steps, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	for (int b = 0; b < B; b++)
		HRM_CHECK(steps[b] == 1, "adaptive (halt) steps %d", steps[b]);
	/* continue > halt: every row runs to the cap */
	sm.params[sm.lay.q_b] = -50.0f;
	sm.params[sm.lay.q_b + 1] = 50.0f;
	HRM_REQUIRE(hrm_infer(&sm.m, in, pid, B, &adapt, lg, q, steps, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	for (int b = 0; b < B; b++)
		HRM_CHECK(steps[b] == 6, "adaptive (continue) steps %d", steps[b]);
	/* a callback can stop the run */
	HRM_CHECK(hrm_infer(&sm.m, in, pid, B, &adapt, lg, q, steps, stop_cb, NULL, &err) == HRM_ERR_CANCELLED,
			  "cancel");
	small_model_free(&sm);
}

/* Adaptive rows that halt keep the output of their last segment; the others match a fixed run. */
HRM_TEST(infer_adaptive_mixed_rows)
{
	small_model sm;
	hrm_error	err;
	int			B = 6,
				T = 10,
				V = 7;
	int32_t		in[6 * 10],
				pid[6] = {0, 1, 2, 0, 1, 2},
				steps[6];
	float		lg_a[6 * 10 * 7],
				q_a[12],
				lg_f[6 * 10 * 7],
				q_f[12];
	hrm_infer_opts adapt = {5, true},
				fixed;
	int			n_early = 0;

	HRM_REQUIRE(small_model_init(&sm, small_json, 5), "model");
	for (int i = 0; i < B * T; i++)
		in[i] = (i * 7 + 3) % V;
	/* make halting depend on the input through the Q weights */
	for (int i = 0; i < sm.lay.cfg.hidden_size; i++)
		sm.params[sm.lay.q_w + i] *= 20.0f;
	HRM_REQUIRE(hrm_infer(&sm.m, in, pid, B, &adapt, lg_a, q_a, steps, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
	for (int b = 0; b < B; b++)
	{
		double		mx = 0.0;

		fixed.segments = steps[b];
		fixed.adaptive = false;
		n_early += steps[b] < 5;
		HRM_REQUIRE(hrm_infer(&sm.m, in + b * T, pid + b, 1, &fixed, lg_f, q_f, NULL, NULL, NULL, &err) == HRM_OK,
					"%s", err.msg);
		for (int i = 0; i < T * V; i++)
			mx = fmax(mx, fabs(lg_f[i] - lg_a[b * T * V + i]));
		HRM_CHECK(mx < 1e-4, "row %d (steps %d): adaptive output differs from a fixed run by %g", b, steps[b], mx);
	}
	HRM_CHECK(n_early > 0 && n_early < B, "want a mix of early and late rows, got %d early", n_early);
	small_model_free(&sm);
}

HRM_TEST(infer_rejects_bad_tokens)
{
	small_model sm;
	hrm_error	err;
	int32_t		in[10] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 0},
				pid[1] = {0};
	float		lg[70],
				q[2];

	HRM_REQUIRE(small_model_init(&sm, small_json, 1), "model");
	HRM_CHECK(hrm_infer(&sm.m, in, pid, 1, NULL, lg, q, NULL, NULL, NULL, &err) == HRM_ERR_INVALID,
			  "token 7 accepted");
	HRM_CHECK(strstr(err.msg, "token 7 at position 7") != NULL, "message: %s", err.msg);
	in[7] = 1;
	pid[0] = 3;
	HRM_CHECK(hrm_infer(&sm.m, in, pid, 1, NULL, lg, q, NULL, NULL, NULL, &err) == HRM_ERR_INVALID,
			  "puzzle id 3 accepted");
	small_model_free(&sm);
}

/* Parity with the reference on both inference fixtures of test/fixtures. */
HRM_TEST(parity_reference_inference_fixtures)
{
	const char *names[] = {"sudoku-tiny", "grid-puzzle-ids"};

	for (size_t i = 0; i < 2; i++)
	{
		char		prefix[4096];
		parity_result r;

		snprintf(prefix, sizeof(prefix), "%s/%s", hrm_test_fixtures_dir(), names[i]);
		r = hrm_parity_inference(prefix, NULL);
		HRM_CHECK(r == PARITY_PASS, "%s: result %d", names[i], (int) r);
	}
}
