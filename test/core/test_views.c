/*
 * test_views.c — test-time scaling and the batched solve (src/core/run/views.c):
 * the views and their exact inverses, decoding, the checker, the vote, and
 * hrm_views_solve against hrm_infer run view by view.
 */
#include "arc.h"
#include "check.h"
#include "config.h"
#include "grid.h"
#include "maze.h"
#include "model.h"
#include "rng.h"
#include "sudoku.h"
#include "views.h"

#include <math.h>
#include <string.h>

static const char *PUZZLE =
"3.....79..591..3...473..6..5..842.797..96.4.398.7..2656.54.1.374..53.9....86...24";

static const char *MAZE57 =
"S      \n"
"#####  \n"
"       \n"
"  #### \n"
"      G";

HRM_TEST(views_draw_identity_distinct_deterministic)
{
	hrm_view	a[HRM_VIEWS_MAX],
				b[HRM_VIEWS_MAX],
				c[HRM_VIEWS_MAX];
	hrm_sudoku_aug id;
	hrm_error	err;
	bool		differs = false;

	hrm_sudoku_aug_identity(&id);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_SUDOKU, 64, 7, a, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_SUDOKU, 64, 7, b, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_SUDOKU, 64, 8, c, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(memcmp(&a[0].sudoku, &id, sizeof(id)) == 0, "view 0 is not the identity");
	for (int i = 0; i < 64; i++)
		HRM_CHECK(a[i].tid == b[i].tid && memcmp(&a[i].sudoku, &b[i].sudoku, sizeof(id)) == 0,
				  "same seed, other view %d", i);
	for (int i = 1; i < 64; i++)
	{
		HRM_CHECK(hrm_sudoku_aug_validate(&a[i].sudoku, &err) == HRM_OK, "view %d: %s", i, err.msg);
		HRM_CHECK(memcmp(&a[i].sudoku, &id, sizeof(id)) != 0, "view %d is the identity", i);
		for (int j = 1; j < i; j++)
			HRM_CHECK(memcmp(&a[i].sudoku, &a[j].sudoku, sizeof(id)) != 0, "views %d and %d equal", i, j);
		differs |= memcmp(&a[i].sudoku, &c[i].sudoku, sizeof(id)) != 0;
	}
	HRM_CHECK(differs, "another seed draws the same views");
	/* fewer views are a prefix of more */
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_SUDOKU, 8, 7, b, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < 8; i++)
		HRM_CHECK(memcmp(&a[i].sudoku, &b[i].sudoku, sizeof(id)) == 0, "view %d of 8 is not view %d of 64", i, i);

	/* mazes: the 8 dihedral transforms, each once, the identity first */
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_MAZE, 8, 7, a, &err) == HRM_OK, "%s", err.msg);
	{
		int			seen = 0;

		for (int i = 0; i < 8; i++)
			seen |= 1 << a[i].tid;
		HRM_CHECK(a[0].tid == 0 && seen == 0xff, "maze views: tids %x", seen);
	}
	/* limits */
	HRM_CHECK(hrm_views_limit(HRM_TASK_SUDOKU) == 64 && hrm_views_limit(HRM_TASK_MAZE) == 8 &&
			  hrm_views_limit(HRM_TASK_GENERIC) == 1 && hrm_views_limit(HRM_TASK_ARC) == 64, "limits");
	HRM_CHECK(hrm_views_draw(HRM_TASK_SUDOKU, 0, 7, a, &err) == HRM_ERR_INVALID, "0 views accepted");
	HRM_CHECK(hrm_views_draw(HRM_TASK_SUDOKU, 65, 7, a, &err) == HRM_ERR_INVALID, "65 views accepted");
	HRM_CHECK(hrm_views_draw(HRM_TASK_MAZE, 9, 7, a, &err) == HRM_ERR_INVALID, "9 maze views accepted");
	HRM_CHECK(hrm_views_draw(HRM_TASK_GENERIC, 2, 7, a, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "allows 1 to 1") != NULL, "2 generic views: %s", err.msg);
	HRM_CHECK(hrm_views_draw(HRM_TASK_GENERIC, 1, 7, a, &err) == HRM_OK, "1 generic view");
}

HRM_TEST(views_sudoku_inverse_exact)
{
	uint8_t		cells[HRM_SUDOKU_CELLS],
				sol[HRM_SUDOKU_CELLS];
	int32_t		in[HRM_SUDOKU_CELLS],
				lab[HRM_SUDOKU_CELLS],
				v[HRM_SUDOKU_CELLS],
				w[HRM_SUDOKU_CELLS];
	hrm_view	views[HRM_VIEWS_MAX];
	hrm_error	err;

	HRM_REQUIRE(hrm_sudoku_parse(PUZZLE, strlen(PUZZLE), cells, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_sudoku_solve(cells, sol), "solvable");
	hrm_sudoku_to_tokens(cells, in);
	hrm_sudoku_to_tokens(sol, lab);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_SUDOKU, 64, HRM_VIEWS_SEED, views, &err) == HRM_OK, "%s", err.msg);
	for (int k = 0; k < 64; k++)
	{
		hrm_answer_verdict vd;

		HRM_REQUIRE(hrm_view_apply(HRM_TASK_SUDOKU, &views[k], in, v, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_view_invert(HRM_TASK_SUDOKU, &views[k], v, w, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(w, in, sizeof(in)) == 0, "view %d: puzzle not restored", k);
		HRM_CHECK(k == 0 || memcmp(v, in, sizeof(in)) != 0, "view %d leaves the puzzle as it is", k);
		/* the solution under the view solves the puzzle under the view */
		HRM_REQUIRE(hrm_view_apply(HRM_TASK_SUDOKU, &views[k], lab, w, &err) == HRM_OK, "%s", err.msg);
		hrm_answer_check(HRM_TASK_SUDOKU, v, w, &vd);
		HRM_CHECK(vd.known && vd.valid && vd.keeps_givens, "view %d: %s", k, vd.reason);
		HRM_REQUIRE(hrm_view_invert(HRM_TASK_SUDOKU, &views[k], w, w, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(w, lab, sizeof(lab)) == 0, "view %d: solution not restored in place", k);
	}
}

HRM_TEST(views_maze_inverse_exact)
{
	hrm_maze	q,
				s;
	int32_t		in[HRM_MAZE_SEQ],
				lab[HRM_MAZE_SEQ],
				v[HRM_MAZE_SEQ],
				w[HRM_MAZE_SEQ];
	hrm_view	views[8];
	hrm_error	err;
	int			len;

	HRM_REQUIRE(hrm_maze_parse(MAZE57, strlen(MAZE57), &q, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_maze_solve(&q, &s, &len, &err) == HRM_OK && len == 11, "solve");
	hrm_maze_to_tokens(&q, in);
	hrm_maze_to_tokens(&s, lab);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_MAZE, 8, 1, views, &err) == HRM_OK, "%s", err.msg);
	for (int k = 0; k < 8; k++)
	{
		hrm_answer_verdict vd;
		hrm_maze	t;

		HRM_REQUIRE(hrm_view_apply(HRM_TASK_MAZE, &views[k], in, v, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_from_tokens(v, HRM_MAZE_SEQ, 0, &t, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(hrm_dihedral_swaps(views[k].tid) ? (t.rows == 7 && t.cols == 5) : (t.rows == 5 && t.cols == 7),
				  "view %d (tid %d): %dx%d", k, views[k].tid, t.rows, t.cols);
		HRM_REQUIRE(hrm_view_invert(HRM_TASK_MAZE, &views[k], v, w, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(w, in, sizeof(in)) == 0, "view %d: maze not restored", k);
		HRM_REQUIRE(hrm_view_apply(HRM_TASK_MAZE, &views[k], lab, w, &err) == HRM_OK, "%s", err.msg);
		hrm_answer_check(HRM_TASK_MAZE, v, w, &vd);
		HRM_CHECK(vd.known && vd.valid && vd.keeps_givens, "view %d: %s", k, vd.reason);
		HRM_REQUIRE(hrm_view_invert(HRM_TASK_MAZE, &views[k], w, w, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(w, lab, sizeof(lab)) == 0, "view %d: path not restored", k);
	}
	/* not a maze canvas */
	memset(v, 0, sizeof(v));
	HRM_CHECK(hrm_view_apply(HRM_TASK_MAZE, &views[1], v, w, &err) == HRM_ERR_FORMAT, "empty canvas viewed");
	HRM_CHECK(hrm_view_apply(HRM_TASK_GENERIC, &views[0], in, w, &err) == HRM_ERR_INVALID, "generic view");
}

/*
 * ARC: views are distinct (dihedral, colour permutation) pairs with colour
 * 0 fixed; applying a view to an encoded grid and inverting the result
 * gives the grid back at (0, 0); a prediction is read with the crop (junk
 * beyond the grid is dropped, an empty crop gives an all-PAD canvas).
 */
HRM_TEST(views_arc_inverse_exact)
{
	hrm_view	views[HRM_VIEWS_MAX],
				again[HRM_VIEWS_MAX];
	hrm_arc_grid g,
				t;
	hrm_error	err;
	int32_t		in[HRM_ARC_SEQ],
				v[HRM_ARC_SEQ],
				w[HRM_ARC_SEQ];
	int			swapped = 0;

	HRM_REQUIRE(hrm_views_draw(HRM_TASK_ARC, 64, 11, views, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_ARC, 64, 11, again, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(memcmp(views, again, sizeof(hrm_view) * 64) == 0, "same seed, other views");
	HRM_CHECK(views[0].arc.tid == 0, "view 0 transforms");
	for (int c = 0; c < HRM_ARC_COLORS; c++)
		HRM_CHECK(views[0].arc.colors[c] == c, "view 0 recolours %d", c);
	for (int k = 1; k < 64; k++)
	{
		HRM_CHECK(hrm_arc_color_perm_validate(views[k].arc.colors, &err) == HRM_OK && views[k].arc.colors[0] == 0,
				  "view %d: colours", k);
		for (int j = 0; j < k; j++)
			HRM_CHECK(memcmp(&views[j].arc, &views[k].arc, sizeof(hrm_arc_aug)) != 0, "views %d and %d equal", j, k);
	}
	HRM_CHECK(hrm_views_draw(HRM_TASK_ARC, 65, 11, views, &err) == HRM_ERR_INVALID, "65 ARC views accepted");
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_ARC, 64, 11, views, &err) == HRM_OK, "%s", err.msg);

	/* a 3 x 5 grid with every colour it has distinct */
	g.rows = 3;
	g.cols = 5;
	for (int i = 0; i < 15; i++)
		g.cell[i] = (uint8_t) (i % 10);
	HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, in, &err) == HRM_OK, "%s", err.msg);
	for (int k = 0; k < 64; k++)
	{
		HRM_REQUIRE(hrm_view_apply(HRM_TASK_ARC, &views[k], in, v, &err) == HRM_OK, "view %d: %s", k, err.msg);
		HRM_REQUIRE(hrm_arc_decode(v, HRM_ARC_SEQ, &t, NULL, NULL, &err) == HRM_OK, "view %d: %s", k, err.msg);
		HRM_CHECK(hrm_dihedral_swaps(views[k].arc.tid) ? (t.rows == 5 && t.cols == 3) : (t.rows == 3 && t.cols == 5),
				  "view %d: shape %dx%d", k, t.rows, t.cols);
		swapped += hrm_dihedral_swaps(views[k].arc.tid);
		HRM_CHECK(k == 0 || memcmp(v, in, sizeof(in)) != 0, "view %d leaves the grid as it is", k);
		HRM_REQUIRE(hrm_view_invert(HRM_TASK_ARC, &views[k], v, w, &err) == HRM_OK, "view %d: %s", k, err.msg);
		HRM_CHECK(memcmp(w, in, sizeof(in)) == 0, "view %d: grid not restored", k);
		/* in place */
		memcpy(w, v, sizeof(v));
		HRM_REQUIRE(hrm_view_invert(HRM_TASK_ARC, &views[k], w, w, &err) == HRM_OK, "view %d: %s", k, err.msg);
		HRM_CHECK(memcmp(w, in, sizeof(in)) == 0, "view %d: grid not restored in place", k);
	}
	HRM_CHECK(swapped > 0 && swapped < 64, "transposing views: %d of 64", swapped);

	/* a prediction with junk past its EOS row reads as its cropped grid */
	memcpy(v, in, sizeof(in));
	v[29 * 30 + 29] = 7;
	HRM_REQUIRE(hrm_view_invert(HRM_TASK_ARC, &views[0], v, w, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(memcmp(w, in, sizeof(in)) == 0, "junk beyond the crop kept");
	/* an empty crop (PAD in the corner) gives an all-PAD canvas */
	v[0] = HRM_ARC_PAD;
	HRM_REQUIRE(hrm_view_invert(HRM_TASK_ARC, &views[3], v, w, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < HRM_ARC_SEQ; i++)
		HRM_CHECK(w[i] == HRM_ARC_PAD, "empty crop: token %d at %d", w[i], i);
	/* the forward direction reads only well-formed canvases */
	HRM_CHECK(hrm_view_apply(HRM_TASK_ARC, &views[1], v, w, &err) == HRM_ERR_FORMAT, "malformed canvas viewed");
}

HRM_TEST(views_decode_alphabets_and_certainty)
{
	float		lg[HRM_SUDOKU_CELLS * HRM_SUDOKU_VOCAB];
	int32_t		in[HRM_SUDOKU_CELLS],
				pred[HRM_SUDOKU_CELLS];
	float		c;

	/* flat logits: the first digit token (2), certainty 1/9 */
	memset(lg, 0, sizeof(lg));
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		in[i] = 1;
	c = hrm_answer_decode(HRM_TASK_SUDOKU, in, lg, HRM_SUDOKU_CELLS, HRM_SUDOKU_VOCAB, pred);
	HRM_CHECK(pred[0] == 2 && pred[80] == 2 && fabsf(c - 1.0f / 9.0f) < 1e-6f, "flat: %d %g", pred[0], c);
	/* PAD and blank never win for a Sudoku; the whole vocabulary takes them */
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		lg[i * 11 + 0] = 50.0f;
		lg[i * 11 + 1] = 40.0f;
		lg[i * 11 + 7] = 30.0f;
	}
	c = hrm_answer_decode(HRM_TASK_SUDOKU, in, lg, HRM_SUDOKU_CELLS, HRM_SUDOKU_VOCAB, pred);
	HRM_CHECK(pred[5] == 7 && c > 0.999f, "digits only: %d %g", pred[5], c);
	hrm_answer_decode(HRM_TASK_GENERIC, in, lg, HRM_SUDOKU_CELLS, HRM_SUDOKU_VOCAB, pred);
	HRM_CHECK(pred[5] == 0, "whole vocabulary: %d", pred[5]);

	/* a maze: PAD outside (and not counted), cells 1..5 inside */
	{
		static float mlg[HRM_MAZE_SEQ * HRM_MAZE_VOCAB];
		int32_t		min[HRM_MAZE_SEQ],
					mp[HRM_MAZE_SEQ];
		hrm_maze	q;
		hrm_error	err;

		HRM_REQUIRE(hrm_maze_parse(MAZE57, strlen(MAZE57), &q, &err) == HRM_OK, "%s", err.msg);
		hrm_maze_to_tokens(&q, min);
		for (int i = 0; i < HRM_MAZE_SEQ; i++)
		{
			mlg[i * 6 + 0] = 100.0f;	/* PAD would win everywhere */
			mlg[i * 6 + 5] = 1.0f;
		}
		c = hrm_answer_decode(HRM_TASK_MAZE, min, mlg, HRM_MAZE_SEQ, HRM_MAZE_VOCAB, mp);
		HRM_CHECK(mp[0] == HRM_MAZE_PATH && mp[6] == HRM_MAZE_PATH && mp[7] == HRM_MAZE_PAD &&
				  mp[30 * 4 + 6] == HRM_MAZE_PATH && mp[30 * 5] == HRM_MAZE_PAD, "maze decode");
		HRM_CHECK(fabsf(c - (float) (exp(1.0) / (exp(1.0) + 4.0))) < 1e-5f, "maze certainty %g", c);
	}
}

HRM_TEST(views_check_reads_only_the_puzzle)
{
	uint8_t		cells[HRM_SUDOKU_CELLS],
				sol[HRM_SUDOKU_CELLS];
	int32_t		in[HRM_SUDOKU_CELLS],
				ans[HRM_SUDOKU_CELLS];
	hrm_answer_verdict v;
	hrm_error	err;

	HRM_REQUIRE(hrm_sudoku_parse(PUZZLE, strlen(PUZZLE), cells, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_sudoku_solve(cells, sol), "solvable");
	hrm_sudoku_to_tokens(cells, in);
	hrm_sudoku_to_tokens(sol, ans);
	hrm_answer_check(HRM_TASK_SUDOKU, in, ans, &v);
	HRM_CHECK(v.known && v.valid && v.keeps_givens && v.reason[0] == '\0', "solution: %s", v.reason);
	/* relabel two digits everywhere: still a valid grid, but the givens change */
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		ans[i] = ans[i] == 2 ? 3 : ans[i] == 3 ? 2 : ans[i];
	hrm_answer_check(HRM_TASK_SUDOKU, in, ans, &v);
	HRM_CHECK(v.known && v.valid && !v.keeps_givens && strstr(v.reason, "changes the given") != NULL,
			  "relabelled: %s", v.reason);
	ans[0] = ans[1];
	hrm_answer_check(HRM_TASK_SUDOKU, in, ans, &v);
	HRM_CHECK(v.known && !v.valid, "repeat: %s", v.reason);
	/* no checker for generic tasks, none for an input that is no puzzle */
	hrm_answer_check(HRM_TASK_GENERIC, in, ans, &v);
	HRM_CHECK(!v.known, "generic known");
	in[3] = 0;
	hrm_answer_check(HRM_TASK_SUDOKU, in, ans, &v);
	HRM_CHECK(!v.known, "PAD input known");
}

HRM_TEST(views_vote_valid_then_majority_then_certainty)
{
	/* answers of T = 2 tokens */
	int32_t		A[2] = {1, 1},
				B[2] = {2, 2},
				C[2] = {3, 3};
	int32_t		ans[6 * 2];
	bool		ok[6];
	float		cert[6];
	int			agree,
				k;

#define SET(i, X, o, c) do { memcpy(ans + 2 * (i), X, sizeof(X)); ok[i] = (o); cert[i] = (c); } while (0)
	/* a valid answer beats a larger invalid majority, and certainty */
	SET(0, B, false, 0.9f);
	SET(1, B, false, 0.9f);
	SET(2, B, false, 0.9f);
	SET(3, A, true, 0.2f);
	k = hrm_views_vote(4, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 3 && agree == 1, "valid over majority: %d (%d)", k, agree);

	/* among the valid answers the majority wins over certainty */
	SET(0, C, true, 0.99f);
	SET(1, A, true, 0.3f);
	SET(2, B, false, 0.9f);
	SET(3, A, true, 0.2f);
	SET(4, B, false, 0.9f);
	SET(5, B, false, 0.9f);
	k = hrm_views_vote(6, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 1 && agree == 2, "majority among valid: %d (%d)", k, agree);

	/* equal counts: the more certain answer, represented by its most certain view */
	SET(0, A, true, 0.5f);
	SET(1, C, true, 0.6f);
	SET(2, C, true, 0.8f);
	SET(3, A, true, 0.7f);
	k = hrm_views_vote(4, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 2 && agree == 2, "certainty breaks a tie: %d (%d)", k, agree);

	/* none valid: the majority of all views */
	SET(0, A, false, 0.9f);
	SET(1, B, false, 0.1f);
	SET(2, B, false, 0.2f);
	k = hrm_views_vote(3, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 2 && agree == 2, "majority of all: %d (%d)", k, agree);
	k = hrm_views_vote(3, 2, ans, NULL, cert, &agree);
	HRM_CHECK(k == 2 && agree == 2, "no ok flags: %d (%d)", k, agree);

	/* a full tie goes to the lowest view; one view is view 0 */
	SET(0, A, false, 0.5f);
	SET(1, B, false, 0.5f);
	k = hrm_views_vote(2, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 0 && agree == 1, "full tie: %d", k);
	k = hrm_views_vote(1, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 0 && agree == 1, "one view: %d", k);
	/* NaN certainty never wins a tie */
	SET(0, A, false, NAN);
	SET(1, B, false, 0.1f);
	k = hrm_views_vote(2, 2, ans, ok, cert, &agree);
	HRM_CHECK(k == 1, "NaN won: %d", k);
#undef SET
}

/* A random Sudoku-shaped model. */
typedef struct vmodel
{
	hrm_layout	lay;
	float	   *params;
	hrm_model	m;
} vmodel;

static bool
vmodel_init(vmodel *vm, const char *json, uint64_t seed)
{
	hrm_config	c;
	hrm_error	err;
	hrm_rng		r;

	if (hrm_config_from_json(json, strlen(json), &c, &err) != HRM_OK ||
		hrm_layout_init(&vm->lay, &c, &err) != HRM_OK)
		return false;
	vm->params = hrm_alloc(vm->lay.n_params, sizeof(float));
	hrm_rng_seed(&r, seed);
	hrm_init_params(&vm->lay, vm->params, &r);
	/* a lively head, so answers differ between views */
	for (size_t i = 0; i < (size_t) c.vocab_size * c.hidden_size; i++)
		vm->params[vm->lay.lm_head + i] = (float) (hrm_rng_normal(&r) * 0.5);
	return hrm_model_init(&vm->m, &vm->lay, vm->params, &err) == HRM_OK;
}

static void
vmodel_free(vmodel *vm)
{
	hrm_model_free(&vm->m);
	hrm_free(vm->params);
	hrm_layout_free(&vm->lay);
}

static const char sudoku_json[] =
"{\"seq_len\": 81, \"vocab_size\": 11, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 0,"
" \"H_cycles\": 1, \"L_cycles\": 2, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 32,"
" \"num_heads\": 2, \"expansion\": 2, \"halt_max_steps\": 3}";

static int
count_segments(void *arg, int segment, int B, const float *logits, const float *q, const uint8_t *ran)
{
	(*(int *) arg)++;
	return 0;
}

HRM_TEST(views_solve_matches_infer_view_by_view)
{
	vmodel		vm;
	hrm_error	err;
	hrm_rng		r;
	enum
	{
		NP = 5, NV = 8
	};
	int32_t		in[NP * 81],
				ans[NP * 81],
				one[81];
	hrm_views_row rows[NP],
				row1;
	hrm_views_opts o;
	hrm_view	views[NV];
	hrm_views_ctx *ctx = hrm_views_ctx_create();
	float		lg[81 * 11],
				q[2];
	int32_t		steps;
	int			calls = 0;

	HRM_REQUIRE(vmodel_init(&vm, sudoku_json, 3), "model");
	hrm_rng_seed(&r, 5);
	for (int p = 0; p < NP; p++)
	{
		uint8_t		puz[81],
					sol[81];

		HRM_REQUIRE(hrm_sudoku_generate(&r, 30 + p, 100, puz, sol, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_sudoku_to_tokens(puz, in + p * 81);
	}

	/* one view: exactly hrm_infer and the digit argmax, puzzle by puzzle */
	hrm_views_opts_defaults(&o);
	o.task = HRM_TASK_SUDOKU;
	HRM_REQUIRE(hrm_views_solve(&vm.m, ctx, in, NULL, NP, &o, ans, rows, &err) == HRM_OK, "%s", err.msg);
	for (int p = 0; p < NP; p++)
	{
		HRM_REQUIRE(hrm_infer(&vm.m, in + p * 81, NULL, 1, NULL, lg, q, &steps, NULL, NULL, &err) == HRM_OK,
					"%s", err.msg);
		hrm_answer_decode(HRM_TASK_SUDOKU, in + p * 81, lg, 81, 11, one);
		HRM_CHECK(memcmp(one, ans + p * 81, sizeof(one)) == 0, "puzzle %d: answer differs from hrm_infer", p);
		HRM_CHECK(rows[p].q_halt == q[0] && rows[p].q_continue == q[1] && rows[p].segments == 3 &&
				  rows[p].views == 1 && rows[p].agree == 1 && rows[p].chosen == 0 && rows[p].verdict.known,
				  "puzzle %d: row", p);
		/* one at a time through the same context */
		HRM_REQUIRE(hrm_views_solve(&vm.m, ctx, in + p * 81, NULL, 1, &o, one, &row1, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(one, ans + p * 81, sizeof(one)) == 0 && row1.q_halt == rows[p].q_halt,
				  "puzzle %d: alone differs from the batch", p);
	}

	/* eight views: each view's answer is hrm_infer on the viewed puzzle, mapped back */
	o.views = NV;
	o.chunk_rows = 16;			/* two puzzles per engine call: three calls */
	o.segment_cb = count_segments;
	o.segment_arg = &calls;
	HRM_REQUIRE(hrm_views_solve(&vm.m, ctx, in, NULL, NP, &o, ans, rows, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(calls == 3 * 3, "%d segment callbacks, expected 9", calls);
	HRM_REQUIRE(hrm_views_draw(HRM_TASK_SUDOKU, NV, o.seed, views, &err) == HRM_OK, "%s", err.msg);
	for (int p = 0; p < NP; p++)
	{
		int32_t		each[NV][81],
					x[81];
		int			same = 0,
					chosen_equal = 0;

		for (int v = 0; v < NV; v++)
		{
			HRM_REQUIRE(hrm_view_apply(HRM_TASK_SUDOKU, &views[v], in + p * 81, x, &err) == HRM_OK, "%s", err.msg);
			HRM_REQUIRE(hrm_infer(&vm.m, x, NULL, 1, NULL, lg, q, NULL, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
			hrm_answer_decode(HRM_TASK_SUDOKU, x, lg, 81, 11, x);
			HRM_REQUIRE(hrm_view_invert(HRM_TASK_SUDOKU, &views[v], x, each[v], &err) == HRM_OK, "%s", err.msg);
		}
		for (int v = 0; v < NV; v++)
			same += memcmp(each[v], ans + p * 81, sizeof(x)) == 0;
		chosen_equal = memcmp(each[rows[p].chosen], ans + p * 81, sizeof(x)) == 0;
		HRM_CHECK(chosen_equal && same == rows[p].agree && rows[p].views == NV && rows[p].agree >= 1,
				  "puzzle %d: chosen view %d, agree %d, independent matches %d", p, rows[p].chosen,
				  rows[p].agree, same);
		HRM_CHECK(rows[p].verdict.known && rows[p].segments == 3 && rows[p].certainty > 0.0f &&
				  rows[p].certainty <= 1.0f && rows[p].valid_views >= 0 && rows[p].valid_views <= NV,
				  "puzzle %d: row fields", p);
	}

	/* limits and errors */
	o.segment_cb = NULL;
	o.views = 65;
	HRM_CHECK(hrm_views_solve(&vm.m, ctx, in, NULL, NP, &o, ans, rows, &err) == HRM_ERR_INVALID, "65 views");
	o.views = 2;
	o.task = HRM_TASK_GENERIC;
	HRM_CHECK(hrm_views_solve(&vm.m, ctx, in, NULL, NP, &o, ans, rows, &err) == HRM_ERR_INVALID, "generic views");
	o.task = HRM_TASK_MAZE;
	HRM_CHECK(hrm_views_solve(&vm.m, ctx, in, NULL, NP, &o, ans, rows, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "seq_len 900") != NULL, "maze views of a Sudoku model: %s", err.msg);
	HRM_CHECK(hrm_views_ctx_bytes(ctx) > 0, "context holds nothing");

	hrm_views_ctx_free(ctx);
	vmodel_free(&vm);
}

/* hrm_evaluate with views: each row's answer is hrm_views_solve's; one view is the old evaluation. */
HRM_TEST(views_evaluate)
{
	vmodel		vm;
	hrm_error	err;
	hrm_rng		r;
	hrm_dataset ds;
	hrm_eval_opts eo;
	hrm_eval_result res1,
				res8;
	hrm_views_opts o;
	int32_t		in[6 * 81],
				lab[6 * 81],
				ans[6 * 81];
	int			exact = 0;

	HRM_REQUIRE(vmodel_init(&vm, sudoku_json, 9), "model");
	HRM_REQUIRE(hrm_dataset_init(&ds, 81, 11, 0, &err) == HRM_OK, "%s", err.msg);
	hrm_rng_seed(&r, 2);
	for (int p = 0; p < 6; p++)
	{
		uint8_t		puz[81],
					sol[81];

		HRM_REQUIRE(hrm_sudoku_generate(&r, 3, 100, puz, sol, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_sudoku_to_tokens(puz, in + p * 81);
		hrm_sudoku_to_tokens(sol, lab + p * 81);
		HRM_REQUIRE(hrm_dataset_append(&ds, in + p * 81, lab + p * 81, 0, &err) == HRM_OK, "%s", err.msg);
	}
	hrm_eval_opts_defaults(&eo);
	HRM_CHECK(eo.views == 1 && eo.task == HRM_TASK_GENERIC, "defaults");
	HRM_REQUIRE(hrm_evaluate(&vm.m, &ds, NULL, ds.n, &eo, &res1, &err) == HRM_OK, "%s", err.msg);
	eo.task = HRM_TASK_SUDOKU;
	eo.views = 8;
	eo.batch_rows = 20;			/* two puzzles per chunk */
	HRM_REQUIRE(hrm_evaluate(&vm.m, &ds, NULL, ds.n, &eo, &res8, &err) == HRM_OK, "%s", err.msg);
	hrm_views_opts_defaults(&o);
	o.task = HRM_TASK_SUDOKU;
	o.views = 8;
	HRM_REQUIRE(hrm_views_solve(&vm.m, NULL, in, NULL, 6, &o, ans, NULL, &err) == HRM_OK, "%s", err.msg);
	for (int p = 0; p < 6; p++)
		exact += memcmp(ans + p * 81, lab + p * 81, sizeof(int32_t) * 81) == 0;
	HRM_CHECK(res8.rows == 6 && fabs(res8.exact_accuracy - exact / 6.0) < 1e-12 && res8.mean_segments == 3.0,
			  "views 8: exact %g, expected %g", res8.exact_accuracy, exact / 6.0);
	HRM_CHECK(res1.rows == 6 && res1.token_accuracy > 0.0, "views 1: %g", res1.token_accuracy);
	eo.task = HRM_TASK_GENERIC;
	HRM_CHECK(hrm_evaluate(&vm.m, &ds, NULL, ds.n, &eo, &res8, &err) == HRM_ERR_INVALID, "generic views");
	hrm_dataset_free(&ds);
	vmodel_free(&vm);
}

/*
 * Ensembles: each member solves with its own views and vote, then the
 * members vote with the same rule (valid first, majority, certainty, lowest
 * member); hrm_evaluate with an ensemble scores the ensemble's answers.
 */
HRM_TEST(views_ensemble_vote_over_members)
{
	vmodel		a,
				b,
				wide;
	hrm_error	err;
	hrm_rng		r;
	hrm_dataset ds;
	enum
	{
		NP = 6, NV = 4
	};
	int32_t		in[NP * 81],
				lb[NP * 81],
				ans[NP * 81],
				ansa[NP * 81],
				ansb[NP * 81];
	hrm_views_row rows[NP],
				ra[NP],
				rb[NP];
	hrm_views_opts o;
	const hrm_model *one[1],
			   *same[2],
			   *pair[2],
			   *bad[2];
	const hrm_model *many[HRM_ENSEMBLE_MAX + 1];
	hrm_eval_opts eo;
	hrm_eval_result res;
	int64_t		right = 0;

	HRM_REQUIRE(vmodel_init(&a, sudoku_json, 3) && vmodel_init(&b, sudoku_json, 4), "models");
	HRM_REQUIRE(vmodel_init(&wide, "{\"seq_len\": 100, \"vocab_size\": 11, \"num_puzzle_identifiers\": 1,"
							" \"puzzle_emb_ndim\": 0, \"H_cycles\": 1, \"L_cycles\": 1, \"H_layers\": 1,"
							" \"L_layers\": 1, \"hidden_size\": 16, \"num_heads\": 2, \"halt_max_steps\": 1}", 5),
				"wide model");
	HRM_REQUIRE(hrm_dataset_init(&ds, 81, 11, 0, &err) == HRM_OK, "%s", err.msg);
	hrm_rng_seed(&r, 17);
	for (int p = 0; p < NP; p++)
	{
		uint8_t		puz[81],
					sol[81];

		HRM_REQUIRE(hrm_sudoku_generate(&r, 20 + p, 100, puz, sol, NULL, &err) == HRM_OK, "%s", err.msg);
		hrm_sudoku_to_tokens(puz, in + p * 81);
		hrm_sudoku_to_tokens(sol, lb + p * 81);
		HRM_REQUIRE(hrm_dataset_append(&ds, in + p * 81, lb + p * 81, 0, &err) == HRM_OK, "%s", err.msg);
	}
	hrm_views_opts_defaults(&o);
	o.task = HRM_TASK_SUDOKU;
	o.views = NV;
	HRM_REQUIRE(hrm_views_solve(&a.m, NULL, in, NULL, NP, &o, ansa, ra, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_views_solve(&b.m, NULL, in, NULL, NP, &o, ansb, rb, &err) == HRM_OK, "%s", err.msg);

	/* one member: hrm_views_solve */
	one[0] = &a.m;
	HRM_REQUIRE(hrm_ensemble_solve(one, 1, NULL, in, NULL, NP, &o, ans, rows, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(memcmp(ans, ansa, sizeof(ans)) == 0 && rows[0].agree == ra[0].agree && rows[0].member == 0,
			  "one member differs from hrm_views_solve");

	/* a model twice: its answers, every count doubled */
	same[0] = same[1] = &a.m;
	HRM_REQUIRE(hrm_ensemble_solve(same, 2, NULL, in, NULL, NP, &o, ans, rows, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(memcmp(ans, ansa, sizeof(ans)) == 0, "a model twice changed the answers");
	for (int p = 0; p < NP; p++)
		HRM_CHECK(rows[p].member == 0 && rows[p].views == 2 * NV && rows[p].agree == 2 * ra[p].agree &&
				  rows[p].valid_views == 2 * ra[p].valid_views && rows[p].chosen == ra[p].chosen,
				  "puzzle %d: row of a model twice", p);

	/* two models: the vote's rule, member by member */
	pair[0] = &a.m;
	pair[1] = &b.m;
	HRM_REQUIRE(hrm_ensemble_solve(pair, 2, NULL, in, NULL, NP, &o, ans, rows, &err) == HRM_OK, "%s", err.msg);
	for (int p = 0; p < NP; p++)
	{
		bool		oka = ra[p].verdict.valid && ra[p].verdict.keeps_givens,
					okb = rb[p].verdict.valid && rb[p].verdict.keeps_givens;
		bool		equal = memcmp(ansa + p * 81, ansb + p * 81, sizeof(int32_t) * 81) == 0;
		int			want = equal || (oka && !okb) ? 0 : (okb && !oka) ? 1 :
			rb[p].certainty > ra[p].certainty ? 1 : 0;

		HRM_CHECK(rows[p].member == want, "puzzle %d: member %d chosen, the rule says %d", p, rows[p].member, want);
		HRM_CHECK(memcmp(ans + p * 81, (want ? ansb : ansa) + p * 81, sizeof(int32_t) * 81) == 0,
				  "puzzle %d: the answer is not the chosen member's", p);
		HRM_CHECK(rows[p].views == 2 * NV && rows[p].agree == (equal ? ra[p].agree + rb[p].agree :
															   (want ? rb : ra)[p].agree) &&
				  rows[p].certainty == (want ? rb : ra)[p].certainty, "puzzle %d: row", p);
		right += memcmp(ans + p * 81, lb + p * 81, sizeof(int32_t) * 81) == 0;
	}

	/* hrm_evaluate with the ensemble scores those answers */
	hrm_eval_opts_defaults(&eo);
	eo.task = HRM_TASK_SUDOKU;
	eo.views = NV;
	eo.ensemble = &pair[1];
	eo.ensemble_n = 1;
	HRM_REQUIRE(hrm_evaluate(&a.m, &ds, NULL, ds.n, &eo, &res, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(res.rows == NP && fabs(res.exact_accuracy - (double) right / NP) < 1e-12,
			  "evaluate: exact %g, the ensemble's answers %g", res.exact_accuracy, (double) right / NP);

	/* refused: members of another layout, too many, none */
	bad[0] = &a.m;
	bad[1] = &wide.m;
	HRM_CHECK(hrm_ensemble_solve(bad, 2, NULL, in, NULL, NP, &o, ans, rows, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "takes 100 tokens") != NULL, "another layout accepted: %s", err.msg);
	for (int j = 0; j <= HRM_ENSEMBLE_MAX; j++)
		many[j] = &a.m;
	HRM_CHECK(hrm_ensemble_solve(many, HRM_ENSEMBLE_MAX + 1, NULL, in, NULL, NP, &o, ans, rows, &err) ==
			  HRM_ERR_INVALID, "%d models accepted", HRM_ENSEMBLE_MAX + 1);
	HRM_CHECK(hrm_ensemble_solve(many, 0, NULL, in, NULL, NP, &o, ans, rows, &err) == HRM_ERR_INVALID,
			  "no model accepted");
	eo.ensemble = many;
	eo.ensemble_n = HRM_ENSEMBLE_MAX;
	HRM_CHECK(hrm_evaluate(&a.m, &ds, NULL, ds.n, &eo, &res, &err) == HRM_ERR_INVALID, "evaluate: 17 models");

	hrm_dataset_free(&ds);
	vmodel_free(&a);
	vmodel_free(&b);
	vmodel_free(&wide);
}
