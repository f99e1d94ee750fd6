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
