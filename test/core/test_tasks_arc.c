/*
 * test_tasks_arc.c — ARC token layout, crop, augmentation and JSON tasks
 * (src/core/task/arc.c).
 */
#include "arc.h"
#include "check.h"
#include "grid.h"
#include "task.h"

static void
make_grid(hrm_arc_grid *g, int rows, int cols, hrm_rng *r)
{
	g->rows = rows;
	g->cols = cols;
	for (int i = 0; i < rows * cols; i++)
		g->cell[i] = (uint8_t) hrm_rng_below(r, 10);
}

static bool
grid_equal(const hrm_arc_grid *a, const hrm_arc_grid *b)
{
	return a->rows == b->rows && a->cols == b->cols &&
		memcmp(a->cell, b->cell, (size_t) a->rows * a->cols) == 0;
}

HRM_TEST(arc_encode_layout)
{
	hrm_arc_grid g = {.rows = 2, .cols = 3, .cell = {0, 1, 2, 3, 4, 9}};
	int32_t		t[900];
	hrm_error	err;
	int			n_eos = 0,
				n_col = 0;

	HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(t[0] == 2 && t[1] == 3 && t[2] == 4 && t[30] == 5 && t[31] == 6 && t[32] == 11, "colours + 2");
	HRM_CHECK(t[3] == 1 && t[33] == 1, "EOS column right of the grid");
	HRM_CHECK(t[60] == 1 && t[61] == 1 && t[62] == 1, "EOS row below the grid");
	HRM_CHECK(t[63] == 0, "corner stays PAD");
	for (int i = 0; i < 900; i++)
	{
		n_eos += t[i] == 1;
		n_col += t[i] >= 2;
	}
	HRM_CHECK(n_eos == 5 && n_col == 6, "5 EOS, 6 colours");

	/* translated */
	HRM_REQUIRE(hrm_arc_encode(&g, 4, 27, t, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(t[4 * 30 + 27] == 2 && t[5 * 30 + 29] == 11, "offset colours");
	HRM_CHECK(t[6 * 30 + 27] == 1 && t[6 * 30 + 29] == 1, "EOS row");
	HRM_CHECK(t[4 * 30 + 26] == 0, "no EOS column: the grid touches the right edge");

	/* full 30x30: no EOS at all; 30 rows x 5: EOS column only */
	g.rows = g.cols = 30;
	memset(g.cell, 7, 900);
	HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_OK, "%s", err.msg);
	n_eos = 0;
	for (int i = 0; i < 900; i++)
		n_eos += t[i] == 1;
	HRM_CHECK(n_eos == 0, "30x30 has no EOS");
	g.cols = 5;
	HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_OK, "%s", err.msg);
	n_eos = 0;
	for (int i = 0; i < 900; i++)
		n_eos += t[i] == 1;
	HRM_CHECK(n_eos == 30 && t[5] == 1 && t[29 * 30 + 5] == 1, "30x5: EOS column only");

	HRM_CHECK(hrm_arc_encode(&g, 1, 0, t, &err) == HRM_ERR_INVALID, "does not fit");
	HRM_CHECK(hrm_arc_encode(&g, 0, -1, t, &err) == HRM_ERR_INVALID, "negative offset");
	g.rows = 31;
	HRM_CHECK(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_ERR_LIMIT, "31 rows");
	g.rows = 0;
	HRM_CHECK(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_ERR_SHAPE, "0 rows");
	g.rows = 2;
	g.cell[3] = 10;
	HRM_CHECK(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_ERR_INVALID, "colour 10");
}

HRM_TEST(arc_decode_round_trip_random)
{
	hrm_rng		r;
	hrm_error	err;

	hrm_rng_seed(&r, 12345);
	for (int k = 0; k < 500; k++)
	{
		hrm_arc_grid g,
					back,
					crop;
		int32_t		t[900];
		int			rows = 1 + (int) hrm_rng_below(&r, 30),
					cols = 1 + (int) hrm_rng_below(&r, 30),
					ro,
					co,
					ro2,
					co2;

		make_grid(&g, rows, cols, &r);
		hrm_arc_draw_offset(&r, rows, cols, &ro, &co);
		HRM_REQUIRE(ro + rows <= 30 && co + cols <= 30, "offset fits");
		HRM_REQUIRE(hrm_arc_encode(&g, ro, co, t, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_arc_decode(t, 900, &back, &ro2, &co2, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(grid_equal(&g, &back) && ro == ro2 && co == co2, "round trip %dx%d at (%d,%d)",
				  rows, cols, ro, co);
		/* the evaluator crop reads untranslated grids back */
		HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_arc_crop(t, 900, &crop, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(grid_equal(&g, &crop), "crop");
	}
}

HRM_TEST(arc_decode_rejects)
{
	hrm_arc_grid g = {.rows = 2, .cols = 2, .cell = {1, 2, 3, 4}};
	int32_t		t[900],
				bad[900];
	hrm_error	err;

	HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, t, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(hrm_arc_decode(t, 899, NULL, NULL, NULL, &err) == HRM_ERR_SHAPE, "899");

	memset(bad, 0, sizeof(bad));
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "every token is PAD") != NULL, "all PAD: %s", err.msg);
	bad[40] = 1;
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "EOS token at position 41") != NULL, "EOS first: %s", err.msg);

	memcpy(bad, t, sizeof(t));
	bad[500] = 12;
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "token 12 at position 501") != NULL, "token 12: %s", err.msg);

	memcpy(bad, t, sizeof(t));
	bad[62] = 5;				/* the corner (row 2, column 2) must stay PAD */
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "position 63") != NULL, "corner: %s", err.msg);

	memcpy(bad, t, sizeof(t));
	bad[2] = 0;					/* missing EOS right of row 1 */
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "token 0 (PAD) at position 3, where a 2x2 grid at row 1, column 1 has EOS") != NULL,
			  "missing EOS: %s", err.msg);

	memcpy(bad, t, sizeof(t));
	bad[899] = 3;				/* stray colour far away */
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "position 900") != NULL, "stray: %s", err.msg);

	memcpy(bad, t, sizeof(t));
	bad[31] = 1;				/* EOS inside the grid: the grid reads as 2x2 with a hole */
	HRM_CHECK(hrm_arc_decode(bad, 900, NULL, NULL, NULL, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "EOS token at position 32 inside the 2x2 grid") != NULL, "hole: %s", err.msg);
}

HRM_TEST(arc_crop_like_reference_evaluator)
{
	int32_t		t[900];
	hrm_arc_grid g;
	hrm_error	err;

	/* a ragged prediction: row 0 has 4 colours, row 1 has 3, row 2 has 5 */
	memset(t, 0, sizeof(t));
	for (int c = 0; c < 4; c++)
		t[c] = 2 + c;
	for (int c = 0; c < 3; c++)
		t[30 + c] = 3;
	for (int c = 0; c < 5; c++)
		t[60 + c] = 4;
	HRM_REQUIRE(hrm_arc_crop(t, 900, &g, &err) == HRM_OK, "%s", err.msg);
	/* areas: 1x4 = 4, 2x3 = 6, 3x3 = 9 (width never grows back) */
	HRM_CHECK(g.rows == 3 && g.cols == 3, "crop %dx%d", g.rows, g.cols);
	HRM_CHECK(g.cell[0] == 0 && g.cell[3] == 1 && g.cell[8] == 2, "values");

	memset(t, 0, sizeof(t));
	HRM_REQUIRE(hrm_arc_crop(t, 900, &g, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(g.rows == 0 && g.cols == 0, "empty prediction");
	t[0] = 99;
	HRM_REQUIRE(hrm_arc_crop(t, 900, &g, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(g.rows * g.cols == 0, "out-of-vocabulary token stops the row");
	HRM_CHECK(hrm_arc_crop(t, 10, &g, &err) == HRM_ERR_SHAPE, "length");
}

HRM_TEST(arc_augmentation_inverse)
{
	hrm_rng		r;
	hrm_error	err;
	int			tids = 0;

	hrm_rng_seed(&r, 9);
	for (int k = 0; k < 200; k++)
	{
		hrm_arc_grid g,
					a,
					back;
		hrm_arc_aug aug,
					inv;

		make_grid(&g, 1 + (int) hrm_rng_below(&r, 30), 1 + (int) hrm_rng_below(&r, 30), &r);
		hrm_arc_aug_draw(&r, &aug);
		tids |= 1 << aug.tid;
		HRM_CHECK(aug.colors[0] == 0, "colour 0 fixed");
		HRM_CHECK(hrm_arc_color_perm_validate(aug.colors, &err) == HRM_OK, "perm");
		HRM_REQUIRE(hrm_arc_aug_apply(&aug, &g, &a, &err) == HRM_OK, "%s", err.msg);
		hrm_arc_aug_inverse(&aug, &inv);
		HRM_REQUIRE(hrm_arc_aug_apply(&inv, &a, &back, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(grid_equal(&g, &back), "inverse");
	}
	HRM_CHECK(tids == 0xFF, "all transforms drawn");
	{
		uint8_t		bad[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 8};
		uint8_t		inv[10];
		uint8_t		swap[10] = {1, 0, 2, 3, 4, 5, 6, 7, 8, 9};

		HRM_CHECK(hrm_arc_color_perm_validate(bad, &err) == HRM_ERR_INVALID, "duplicate");
		bad[9] = 10;
		HRM_CHECK(hrm_arc_color_perm_validate(bad, &err) == HRM_ERR_INVALID, "out of range");
		HRM_CHECK(hrm_arc_color_perm_validate(swap, &err) == HRM_OK, "0 may move");
		hrm_arc_color_perm_inverse(swap, inv);
		HRM_CHECK(inv[0] == 1 && inv[1] == 0 && inv[9] == 9, "inverse");
	}
}

HRM_TEST(arc_augment_tokens_shared_offset)
{
	hrm_rng		r;
	hrm_error	err;
	hrm_arc_grid in = {.rows = 3, .cols = 5},
				out = {.rows = 7, .cols = 2};
	int32_t		tin[900],
				tout[900],
				ain[900],
				aout[900];

	hrm_rng_seed(&r, 21);
	make_grid(&in, 3, 5, &r);
	make_grid(&out, 7, 2, &r);
	HRM_REQUIRE(hrm_arc_encode(&in, 0, 0, tin, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_arc_encode(&out, 0, 0, tout, &err) == HRM_OK, "%s", err.msg);
	for (int k = 0; k < 100; k++)
	{
		hrm_arc_aug aug,
					inv;
		hrm_arc_grid gi,
					go,
					bi,
					bo;
		int			ri,
					ci,
					ro,
					co;
		bool		translate = (k % 2) == 0;

		HRM_REQUIRE(hrm_arc_augment_tokens(tin, tout, ain, aout, &r, translate, &aug, &err) == HRM_OK,
					"%s", err.msg);
		HRM_REQUIRE(hrm_arc_decode(ain, 900, &gi, &ri, &ci, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_arc_decode(aout, 900, &go, &ro, &co, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(ri == ro && ci == co, "shared offset");
		if (!translate)
			HRM_CHECK(ri == 0 && ci == 0, "no translation");
		hrm_arc_aug_inverse(&aug, &inv);
		HRM_REQUIRE(hrm_arc_aug_apply(&inv, &gi, &bi, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_arc_aug_apply(&inv, &go, &bo, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(grid_equal(&bi, &in) && grid_equal(&bo, &out), "inverse recovers both grids");
	}
	tin[0] = 0;
	HRM_CHECK(hrm_arc_augment_tokens(tin, tout, ain, aout, &r, true, NULL, &err) == HRM_ERR_FORMAT,
			  "bad input canvas");
}

/* Expect a task document to fail with the given issue and message fragment. */
static bool
task_rejects(const char *json, hrm_arc_issue want, const char *needle)
{
	hrm_arc_task task;
	hrm_arc_issue issue;
	hrm_error	err;
	hrm_status	st = hrm_arc_task_parse(json, strlen(json), &task, &issue, &err);
	bool		ok = st != HRM_OK && issue == want && strstr(err.msg, needle) != NULL;

	if (!ok)
		fprintf(stderr, "    %s: status %d issue %d msg \"%s\"\n", json, (int) st, (int) issue, err.msg);
	hrm_arc_task_free(&task);
	return ok;
}

HRM_TEST(arc_task_json)
{
	const char *plain =
		"{\"train\": [{\"input\": [[1,2],[3,4]], \"output\": [[5]]},"
		"             {\"input\": [[0]], \"output\": [[9,9,9]]}],"
		" \"test\": [{\"input\": [[7,7]]}, {\"input\": [[1]], \"output\": null},"
		"           {\"input\": [[2]], \"output\": [[3]]}]}";
	const char *wrapped =
		"{\"id\": \"abc123\", \"sha256\": \"x\", \"task\": {\"train\": [], \"test\": [{\"input\": [[4]], \"output\": [[6]]}]}}";
	hrm_arc_task task;
	hrm_arc_issue issue;
	hrm_error	err;

	HRM_REQUIRE(hrm_arc_task_parse(plain, strlen(plain), &task, &issue, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(task.id == NULL && task.n_train == 2 && task.n_test == 3, "counts");
	HRM_CHECK(task.train[0].input.rows == 2 && task.train[0].input.cols == 2 &&
			  task.train[0].input.cell[3] == 4 && task.train[0].has_output &&
			  task.train[0].output.cell[0] == 5, "pair 0");
	HRM_CHECK(task.train[1].output.rows == 1 && task.train[1].output.cols == 3, "pair 1 output");
	HRM_CHECK(!task.test[0].has_output && !task.test[1].has_output && task.test[2].has_output,
			  "test outputs optional");
	hrm_arc_task_free(&task);

	HRM_REQUIRE(hrm_arc_task_parse(wrapped, strlen(wrapped), &task, &issue, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(task.id != NULL && strcmp(task.id, "abc123") == 0 && task.n_train == 0 && task.n_test == 1,
			  "wrapper");
	hrm_arc_task_free(&task);

	HRM_CHECK(task_rejects("{\"train\": [", HRM_ARC_ISSUE_SYNTAX, ""), "syntax");
	HRM_CHECK(task_rejects("[1,2]", HRM_ARC_ISSUE_NOT_OBJECT, "not an array"), "array root");
	HRM_CHECK(task_rejects("{\"test\": []}", HRM_ARC_ISSUE_MISSING_KEY, "no \"train\" key"), "no train");
	HRM_CHECK(task_rejects("{\"train\": []}", HRM_ARC_ISSUE_MISSING_KEY, "no \"test\" key"), "no test");
	HRM_CHECK(task_rejects("{\"train\": {}, \"test\": []}", HRM_ARC_ISSUE_NOT_ARRAY, "\"train\" must be an array"),
			  "train object");
	HRM_CHECK(task_rejects("{\"train\": [5], \"test\": []}", HRM_ARC_ISSUE_NOT_OBJECT, "train[0] must be an object"),
			  "pair not object");
	HRM_CHECK(task_rejects("{\"train\": [{\"output\": [[1]]}], \"test\": []}", HRM_ARC_ISSUE_MISSING_KEY,
						   "train[0] has no \"input\" key"), "no input");
	HRM_CHECK(task_rejects("{\"train\": [{\"input\": [[1]]}], \"test\": []}", HRM_ARC_ISSUE_MISSING_KEY,
						   "train[0] has no \"output\" key"), "train needs output");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [[1],[2,3]]}]}", HRM_ARC_ISSUE_RAGGED,
						   "test[0].input[1] has 2 cells, the first row has 1"), "ragged");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": []}]}", HRM_ARC_ISSUE_EMPTY,
						   "test[0].input has no rows"), "no rows");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [[]]}]}", HRM_ARC_ISSUE_EMPTY,
						   "test[0].input[0] is an empty row"), "empty row");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [[1, \"2\"]]}]}", HRM_ARC_ISSUE_NOT_INTEGER,
						   "test[0].input[0][1] must be an integer colour 0..9, not a string"), "string cell");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [[1.5]]}]}", HRM_ARC_ISSUE_NOT_INTEGER,
						   "not a fraction"), "fraction");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [[10]]}]}", HRM_ARC_ISSUE_BAD_COLOR,
						   "test[0].input[0][0] is 10"), "colour 10");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [[-1]]}]}", HRM_ARC_ISSUE_BAD_COLOR,
						   "is -1"), "colour -1");
	HRM_CHECK(task_rejects("{\"train\": [], \"test\": [{\"input\": [1, 2]}]}", HRM_ARC_ISSUE_NOT_ARRAY,
						   "test[0].input[0] must be an array of colours"), "flat grid");
	HRM_CHECK(task_rejects("{\"id\": 5, \"task\": {\"train\": [], \"test\": []}}", HRM_ARC_ISSUE_NOT_STRING,
						   "\"id\" must be a string"), "numeric id");
	HRM_CHECK(task_rejects("{\"id\": \"a\", \"task\": []}", HRM_ARC_ISSUE_NOT_OBJECT,
						   "\"task\" must be an object"), "task array");
	{
		/* 31 rows */
		char		big[400];
		int			k = snprintf(big, sizeof(big), "{\"train\": [], \"test\": [{\"input\": [");

		for (int i = 0; i < 31; i++)
			k += snprintf(big + k, sizeof(big) - k, "%s[0]", i ? "," : "");
		snprintf(big + k, sizeof(big) - k, "]}]}");
		HRM_CHECK(task_rejects(big, HRM_ARC_ISSUE_TOO_LARGE, "has 31 rows"), "31 rows");
	}
}

/*
 * Every task of the ARC-AGI evaluation sets in $HRM_DATA/arc (default
 * test/data: the first 25 and 10 tasks; HRM_DATA=DIR checks whole sets)
 * loads with its id, has demonstration and test pairs with outputs, and
 * every grid round-trips through the token codec.
 */
HRM_TEST(arc_data_every_task_loads)
{
	static const char *const files[] = {"arc_agi_1_evaluation.jsonl", "arc_agi_2_evaluation.jsonl"};

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
	{
		char		path[4096];
		size_t		len;
		char	   *text;
		int			tasks = 0,
					pairs = 0,
					bad = 0;

		snprintf(path, sizeof(path), "%s/arc/%s", hrm_test_data_dir(), files[f]);
		text = (char *) hrm_test_read_file(path, &len);
		HRM_REQUIRE(text != NULL, "cannot read %s", path);
		for (size_t at = 0; at < len;)
		{
			char	   *nl = memchr(text + at, '\n', len - at);
			size_t		end = nl ? (size_t) (nl - text) : len;
			hrm_arc_task task;
			hrm_arc_issue issue;
			hrm_error	err;

			if (end > at)
			{
				tasks++;
				if (hrm_arc_task_parse(text + at, end - at, &task, &issue, &err) != HRM_OK)
				{
					HRM_CHECK(false, "%s line %d: %s", path, tasks, err.msg);
					bad++;
				}
				else
				{
					HRM_CHECK(task.id != NULL && task.n_train > 0 && task.n_test > 0,
							  "%s line %d: id and pairs", path, tasks);
					for (int p = 0; p < task.n_train + task.n_test; p++)
					{
						const hrm_arc_pair *pr = p < task.n_train ? &task.train[p] : &task.test[p - task.n_train];
						const hrm_arc_grid *g[2] = {&pr->input, &pr->output};

						pairs++;
						HRM_CHECK(pr->has_output, "%s task %s: pair %d has no output", path, task.id, p);
						for (int k = 0; k < (pr->has_output ? 2 : 1); k++)
						{
							int32_t		t[HRM_ARC_SEQ];
							hrm_arc_grid back;

							if (hrm_arc_encode(g[k], 0, 0, t, &err) != HRM_OK ||
								hrm_arc_decode(t, HRM_ARC_SEQ, &back, NULL, NULL, &err) != HRM_OK ||
								!grid_equal(g[k], &back))
							{
								HRM_CHECK(false, "%s task %s: pair %d does not round-trip", path, task.id, p);
								bad++;
							}
						}
					}
				}
				hrm_arc_task_free(&task);
			}
			at = end + 1;
		}
		free(text);
		HRM_CHECK(tasks > 0, "%s has no tasks", path);
		printf("     %s: %d tasks, %d pairs, %d bad\n", path, tasks, pairs, bad);
	}
}

/* The task table's grid form: the ARC entry reads int[rows][cols] grids as hrm_arc_encode does. */
HRM_TEST(arc_task_grid_encode)
{
	const hrm_task_ops *ops = hrm_task_get(HRM_TASK_ARC);
	hrm_arc_grid g = {.rows = 2, .cols = 3, .cell = {0, 1, 2, 3, 4, 9}};
	uint8_t		big[31];
	int32_t		a[900],
				b[900];
	hrm_error	err;

	HRM_REQUIRE(ops->grid_encode != NULL, "ARC has a grid form");
	HRM_CHECK(ops->grid_rows == 30 && ops->grid_cols == 30 && ops->grid_values == 10, "30x30 of colours 0..9");
	HRM_REQUIRE(hrm_arc_encode(&g, 0, 0, a, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(ops->grid_encode(2, 3, g.cell, b, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(memcmp(a, b, sizeof(a)) == 0, "same canvas as hrm_arc_encode");
	memset(big, 0, sizeof(big));
	HRM_CHECK(ops->grid_encode(31, 1, big, b, &err) == HRM_ERR_INVALID, "31 rows refused");
	HRM_CHECK(hrm_task_get(HRM_TASK_SUDOKU)->grid_encode == NULL && hrm_task_get(HRM_TASK_MAZE)->grid_encode == NULL &&
			  hrm_task_get(HRM_TASK_GENERIC)->grid_encode == NULL, "only ARC has a grid form");
}

/* ---- synthetic tasks (arc_gen.c) ---- */

HRM_TEST(arc_gen_rules_by_hand)
{
	hrm_rng		r;
	hrm_arc_rule rule;
	hrm_arc_grid in,
				out;
	hrm_error	err;
	char		desc[96];

	hrm_rng_seed(&r, 11);
	for (int f = 0; f < HRM_ARC_FAMILIES; f++)
	{
		HRM_CHECK(hrm_arc_family_from_name(hrm_arc_family_name(f)) == f, "family %d's name reads back", f);
		for (int k = 0; k < 200; k++)
		{
			hrm_arc_rule_draw(&r, f, &rule);
			HRM_REQUIRE(rule.family == (hrm_arc_family) f, "family kept");
			HRM_REQUIRE(hrm_arc_rule_example(&r, &rule, 3 + k % 28, &in, &out, &err) == HRM_OK,
						"%s: %s", hrm_arc_family_name(f), err.msg);
			HRM_REQUIRE(hrm_arc_grid_validate(&in, &err) == HRM_OK && hrm_arc_grid_validate(&out, &err) == HRM_OK,
						"%s: grids valid: %s", hrm_arc_family_name(f), err.msg);
			HRM_REQUIRE(in.rows >= 3 && in.cols >= 3 && in.rows <= 3 + k % 28 && in.cols <= 3 + k % 28,
						"%s: input %dx%d within 3..%d", hrm_arc_family_name(f), in.rows, in.cols, 3 + k % 28);
			/* independent readings of each rule */
			switch (rule.family)
			{
				case HRM_ARC_FAM_DIHEDRAL:
					{
						hrm_arc_grid back;

						back.rows = back.cols = 0;
						HRM_REQUIRE(hrm_dihedral_apply_u8(hrm_dihedral_inverse(rule.a), out.cell, out.rows, out.cols,
														  back.cell, &back.rows, &back.cols, &err) == HRM_OK, "%s", err.msg);
						HRM_CHECK(grid_equal(&back, &in), "dihedral %d inverts", rule.a);
					}
					break;
				case HRM_ARC_FAM_RECOLOR:
					for (int i = 0; i < in.rows * in.cols; i++)
						HRM_REQUIRE(out.cell[i] == rule.map[in.cell[i]], "recolor cell %d", i);
					for (int c = 1; c < 10; c++)
						if (rule.map[c] != c)
						{
							bool		shown = false;

							for (int i = 0; i < in.rows * in.cols; i++)
								shown |= in.cell[i] == c;
							HRM_CHECK(shown, "recoloured colour %d appears in the input", c);
						}
					break;
				case HRM_ARC_FAM_GRAVITY:
					{
						/* same colours per line, and all at the rule's side */
						bool		vertical = rule.a < 2;
						int			lines = vertical ? in.cols : in.rows,
									len = vertical ? in.rows : in.cols;

						HRM_REQUIRE(out.rows == in.rows && out.cols == in.cols, "gravity keeps the shape");
						for (int l = 0; l < lines; l++)
						{
							int			n_in = 0,
										n_out = 0;
							uint8_t		seq_in[30],
										seq_out[30];

							for (int p = 0; p < len; p++)
							{
								uint8_t		a = in.cell[vertical ? p * in.cols + l : l * in.cols + p],
											b = out.cell[vertical ? p * in.cols + l : l * in.cols + p];

								if (a)
									seq_in[n_in++] = a;
								if (b)
									seq_out[n_out++] = b;
								/* side 0/2: the coloured cells are the last n; 1/3: the first n */
							}
							HRM_CHECK(n_in == n_out && memcmp(seq_in, seq_out, (size_t) n_in) == 0,
									  "gravity keeps each line's colours in order");
							for (int p = 0; p < len; p++)
							{
								bool		filled = (rule.a == 0 || rule.a == 2) ? p >= len - n_out : p < n_out;
								uint8_t		b = out.cell[vertical ? p * in.cols + l : l * in.cols + p];

								HRM_CHECK((b != 0) == filled, "gravity %d: line %d packed at its side", rule.a, l);
							}
						}
					}
					break;
				case HRM_ARC_FAM_SCALE:
					HRM_REQUIRE(out.rows == in.rows * rule.a && out.cols == in.cols * rule.a, "scale shape");
					for (int i = 0; i < out.rows; i++)
						for (int j = 0; j < out.cols; j++)
							HRM_REQUIRE(out.cell[i * out.cols + j] == in.cell[(i / rule.a) * in.cols + j / rule.a], "scale cell");
					break;
				case HRM_ARC_FAM_TILE:
					HRM_REQUIRE(out.rows == 2 * in.rows && out.cols == 2 * in.cols, "tile shape");
					/* the top-left quarter is the input; the others mirror or repeat it */
					for (int i = 0; i < in.rows; i++)
						for (int j = 0; j < in.cols; j++)
						{
							uint8_t		v = in.cell[i * in.cols + j];
							int			mj = (rule.a == 1 || rule.a == 3) ? 2 * in.cols - 1 - j : in.cols + j,
										mi = (rule.a == 2 || rule.a == 3) ? 2 * in.rows - 1 - i : in.rows + i;

							HRM_REQUIRE(out.cell[i * out.cols + j] == v && out.cell[i * out.cols + mj] == v &&
										out.cell[mi * out.cols + j] == v && out.cell[mi * out.cols + mj] == v,
										"tile %d cell (%d, %d)", rule.a, i, j);
						}
					break;
				case HRM_ARC_FAM_CROP:
					{
						/* the output holds every coloured cell and touches its box on all four sides */
						int			n_in = 0,
									n_out = 0;
						bool		top = false,
									bottom = false,
									left = false,
									right = false;

						for (int i = 0; i < in.rows * in.cols; i++)
							n_in += in.cell[i] != 0;
						for (int i = 0; i < out.rows; i++)
							for (int j = 0; j < out.cols; j++)
								if (out.cell[i * out.cols + j])
								{
									n_out++;
									top |= i == 0;
									bottom |= i == out.rows - 1;
									left |= j == 0;
									right |= j == out.cols - 1;
								}
						HRM_CHECK(n_in == n_out && n_in > 0 && top && bottom && left && right, "crop is the bounding box");
						HRM_CHECK(out.rows < in.rows || out.cols < in.cols, "crop is smaller");
					}
					break;
				case HRM_ARC_FAM_BORDER:
					for (int i = 0; i < in.rows; i++)
						for (int j = 0; j < in.cols; j++)
						{
							bool		ring = i == 0 || j == 0 || i == in.rows - 1 || j == in.cols - 1;

							HRM_REQUIRE(out.cell[i * in.cols + j] == (ring ? rule.color : in.cell[i * in.cols + j]),
										"border cell (%d, %d)", i, j);
						}
					break;
				case HRM_ARC_FAM_FILL:
					/* only background cells change, to the rule's colour, never on the edge */
					for (int i = 0; i < in.rows; i++)
						for (int j = 0; j < in.cols; j++)
						{
							uint8_t		a = in.cell[i * in.cols + j],
										b = out.cell[i * in.cols + j];

							HRM_REQUIRE(a == b || (a == 0 && b == rule.color && i > 0 && j > 0 &&
												  i < in.rows - 1 && j < in.cols - 1), "fill cell (%d, %d)", i, j);
							HRM_REQUIRE(a != rule.color || a == 0, "the outline colour is not the fill colour");
						}
					break;
				case HRM_ARC_FAM_SHIFT:
					for (int i = 0; i < in.rows; i++)
						for (int j = 0; j < in.cols; j++)
						{
							int			si = i - rule.a,
										sj = j - rule.b;
							uint8_t		want = si >= 0 && sj >= 0 && si < in.rows && sj < in.cols ?
								in.cell[si * in.cols + sj] : 0;

							HRM_REQUIRE(out.cell[i * in.cols + j] == want, "shift cell (%d, %d)", i, j);
						}
					break;
				case HRM_ARC_FAM_EXTEND:
					{
						int			n_in = 0;

						for (int i = 0; i < in.rows * in.cols; i++)
						{
							n_in += in.cell[i] != 0;
							HRM_REQUIRE(in.cell[i] == 0 || out.cell[i] == in.cell[i], "seeds stay");
						}
						HRM_CHECK(n_in > 0, "extend has seeds");
						/* every coloured output line is uniform */
						for (int l = 0; l < (rule.a < 2 ? in.cols : in.rows); l++)
						{
							uint8_t		first = rule.a < 2 ? out.cell[l] : out.cell[l * in.cols];

							for (int p = 0; p < (rule.a < 2 ? in.rows : in.cols); p++)
								HRM_REQUIRE((rule.a < 2 ? out.cell[p * in.cols + l] : out.cell[l * in.cols + p]) == first,
											"extend %d line %d uniform", rule.a, l);
						}
					}
					break;
				case HRM_ARC_FAM_MAJORITY:
					{
						int			count[10] = {0};

						for (int i = 0; i < in.rows * in.cols; i++)
							count[in.cell[i]]++;
						HRM_REQUIRE(out.rows == 1 && out.cols == 1 && out.cell[0] != 0, "majority is 1x1 of a colour");
						for (int c = 1; c < 10; c++)
							HRM_REQUIRE(c == out.cell[0] || count[c] < count[out.cell[0]], "majority strictly most frequent");
					}
					break;
				case HRM_ARC_FAMILIES:
					break;
			}
		}
		hrm_arc_rule_describe(&rule, desc, sizeof(desc));
		HRM_CHECK(desc[0] != '\0' && strcmp(desc, "unknown") != 0, "%s described", hrm_arc_family_name(f));
	}
	HRM_CHECK(hrm_arc_family_from_name("nope") == -1, "unknown name");
	hrm_arc_rule_draw(&r, HRM_ARC_FAM_BORDER, &rule);
	HRM_CHECK(hrm_arc_rule_example(&r, &rule, 2, &in, &out, &err) == HRM_ERR_INVALID, "max_side 2 refused");
	HRM_CHECK(hrm_arc_rule_example(&r, &rule, 31, &in, &out, &err) == HRM_ERR_INVALID, "max_side 31 refused");
}

/* fill against a reading of "inside" that does not flood: rectangles do not touch */
HRM_TEST(arc_gen_fill_encloses)
{
	hrm_arc_rule rule;
	hrm_rng		r;
	hrm_arc_grid in,
				out;
	hrm_error	err;
	bool		saw_enclosed = false;

	/* fill: every generated outline's inside is filled, its outside is not */
	hrm_rng_seed(&r, 5);
	hrm_arc_rule_draw(&r, HRM_ARC_FAM_FILL, &rule);
	for (int k = 0; k < 100; k++)
	{
		HRM_REQUIRE(hrm_arc_rule_example(&r, &rule, 12, &in, &out, &err) == HRM_OK, "%s", err.msg);
		for (int i = 1; i < in.rows - 1; i++)
			for (int j = 1; j < in.cols - 1; j++)
			{
				/* a background cell with outline cells in all four directions along its row and column is inside */
				bool		u = false,
							d = false,
							le = false,
							ri = false;

				if (in.cell[i * in.cols + j] != 0)
					continue;
				for (int p = 0; p < i; p++)
					u |= in.cell[p * in.cols + j] != 0;
				for (int p = i + 1; p < in.rows; p++)
					d |= in.cell[p * in.cols + j] != 0;
				for (int p = 0; p < j; p++)
					le |= in.cell[i * in.cols + p] != 0;
				for (int p = j + 1; p < in.cols; p++)
					ri |= in.cell[i * in.cols + p] != 0;
				/* rectangles do not touch, so inside a rectangle is exactly "enclosed on all four sides" by one */
				if (!(u && d && le && ri))
					HRM_REQUIRE(out.cell[i * in.cols + j] == 0, "an open cell stays background");
				else if (out.cell[i * in.cols + j] == rule.color)
					saw_enclosed = true;
			}
	}
	HRM_CHECK(saw_enclosed, "some outlines enclose cells");
}

HRM_TEST(arc_gen_tasks_deterministic)
{
	hrm_arc_task a,
				b,
				c;
	hrm_arc_rule ra,
				rb;
	hrm_error	err;
	int			fam[2] = {HRM_ARC_FAM_SCALE, HRM_ARC_FAM_CROP},
				seen[HRM_ARC_FAMILIES] = {0},
				bad = 99;

	HRM_REQUIRE(hrm_arc_generate_task(42, 7, NULL, 0, 3, 1, 10, &a, &ra, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_arc_generate_task(42, 7, NULL, 0, 3, 1, 10, &b, &rb, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_arc_generate_task(42, 8, NULL, 0, 3, 1, 10, &c, NULL, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(a.n_train == 3 && a.n_test == 1 && a.train[0].has_output && a.test[0].has_output, "3 + 1 pairs");
	HRM_CHECK(memcmp(&ra, &rb, sizeof(ra)) == 0, "same rule for the same (seed, index)");
	for (int k = 0; k < 3; k++)
		HRM_CHECK(grid_equal(&a.train[k].input, &b.train[k].input) && grid_equal(&a.train[k].output, &b.train[k].output),
				  "same pair %d", k);
	HRM_CHECK(!grid_equal(&a.train[0].input, &c.train[0].input), "another index, another task");
	hrm_arc_task_free(&a);
	hrm_arc_task_free(&b);
	hrm_arc_task_free(&c);

	for (int k = 0; k < 40; k++)
	{
		HRM_REQUIRE(hrm_arc_generate_task(1, k, fam, 2, 1, 0, 10, &a, &ra, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(ra.family == HRM_ARC_FAM_SCALE || ra.family == HRM_ARC_FAM_CROP, "only the families asked for");
		HRM_CHECK(a.n_test == 0, "no test pairs asked");
		hrm_arc_task_free(&a);
	}
	for (int k = 0; k < 400; k++)
	{
		HRM_REQUIRE(hrm_arc_generate_task(3, k, NULL, 0, 1, 0, 5, &a, &ra, &err) == HRM_OK, "%s", err.msg);
		seen[ra.family]++;
		hrm_arc_task_free(&a);
	}
	for (int f = 0; f < HRM_ARC_FAMILIES; f++)
		HRM_CHECK(seen[f] > 10, "family %s drawn (%d of 400)", hrm_arc_family_name(f), seen[f]);
	HRM_CHECK(hrm_arc_generate_task(3, 0, &bad, 1, 1, 0, 5, &a, NULL, &err) == HRM_ERR_INVALID, "bad family refused");
	HRM_CHECK(hrm_arc_generate_task(3, 0, NULL, 0, -1, 0, 5, &a, NULL, &err) == HRM_ERR_INVALID, "negative pairs refused");
	HRM_CHECK(hrm_arc_generate_task(3, 0, NULL, 0, 1, 0, 40, &a, NULL, &err) == HRM_ERR_INVALID, "max_side 40 refused");
}
