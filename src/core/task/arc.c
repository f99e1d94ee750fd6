/*
 * arc.c — ARC grids, token layout, augmentation and JSON tasks (see arc.h).
 */
#include "arc.h"

#include "grid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hrm_status
hrm_arc_grid_validate(const hrm_arc_grid *g, hrm_error *err)
{
	if (g->rows > HRM_ARC_MAX || g->cols > HRM_ARC_MAX)
		return hrm_fail(err, HRM_ERR_LIMIT,
						"an ARC grid is at most 30x30, this one is %dx%d", g->rows, g->cols);
	if (g->rows < 1 || g->cols < 1)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"an ARC grid has at least one row and one column, this one is %dx%d",
						g->rows, g->cols);
	for (int i = 0; i < g->rows * g->cols; i++)
		if (g->cell[i] > 9)
			return hrm_fail(err, HRM_ERR_INVALID,
							"colour %d at row %d, column %d is outside 0..9",
							g->cell[i], i / g->cols + 1, i % g->cols + 1);
	return HRM_OK;
}

hrm_status
hrm_arc_encode(const hrm_arc_grid *g, int row_off, int col_off, int32_t tokens[HRM_ARC_SEQ],
			   hrm_error *err)
{
	hrm_status	st = hrm_arc_grid_validate(g, err);
	int			eos_r,
				eos_c;

	if (st != HRM_OK)
		return st;
	/* written as subtractions: row_off + rows overflows for offsets near INT_MAX */
	if (row_off < 0 || col_off < 0 || row_off > HRM_ARC_MAX - g->rows ||
		col_off > HRM_ARC_MAX - g->cols)
		return hrm_fail(err, HRM_ERR_INVALID,
						"a %dx%d grid does not fit the 30x30 canvas at offset (%d, %d)",
						g->rows, g->cols, row_off, col_off);
	for (int i = 0; i < HRM_ARC_SEQ; i++)
		tokens[i] = HRM_ARC_PAD;
	for (int r = 0; r < g->rows; r++)
		for (int c = 0; c < g->cols; c++)
			tokens[(row_off + r) * HRM_ARC_MAX + col_off + c] = g->cell[r * g->cols + c] + 2;
	eos_r = row_off + g->rows;
	eos_c = col_off + g->cols;
	if (eos_r < HRM_ARC_MAX)
		for (int c = col_off; c < eos_c; c++)
			tokens[eos_r * HRM_ARC_MAX + c] = HRM_ARC_EOS;
	if (eos_c < HRM_ARC_MAX)
		for (int r = row_off; r < eos_r; r++)
			tokens[r * HRM_ARC_MAX + eos_c] = HRM_ARC_EOS;
	return HRM_OK;
}

static const char *
token_kind(int32_t t)
{
	if (t == HRM_ARC_PAD)
		return "PAD";
	if (t == HRM_ARC_EOS)
		return "EOS";
	return "a colour";
}

hrm_status
hrm_arc_decode(const int32_t *tokens, size_t n, hrm_arc_grid *g, int *row_off, int *col_off,
			   hrm_error *err)
{
	int			first = -1,
				r0,
				c0,
				rows = 0,
				cols = 0;
	hrm_arc_grid grid;
	int32_t		expect[HRM_ARC_SEQ];
	hrm_status	st;

	if (n != HRM_ARC_SEQ)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"an ARC token sequence has 900 tokens (30x30), got %zu", n);
	for (int i = 0; i < HRM_ARC_SEQ; i++)
	{
		if (tokens[i] < 0 || tokens[i] >= HRM_ARC_VOCAB)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"token %ld at position %d is not an ARC token (0..11)",
							(long) tokens[i], i + 1);
		if (first < 0 && tokens[i] != HRM_ARC_PAD)
			first = i;
	}
	if (first < 0)
		return hrm_fail(err, HRM_ERR_FORMAT, "the token sequence holds no grid: every token is PAD");
	if (tokens[first] == HRM_ARC_EOS)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"EOS token at position %d comes before the grid's first colour", first + 1);
	r0 = first / HRM_ARC_MAX;
	c0 = first % HRM_ARC_MAX;
	while (c0 + cols < HRM_ARC_MAX && tokens[r0 * HRM_ARC_MAX + c0 + cols] >= 2)
		cols++;
	while (r0 + rows < HRM_ARC_MAX && tokens[(r0 + rows) * HRM_ARC_MAX + c0] >= 2)
		rows++;
	grid.rows = rows;
	grid.cols = cols;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
		{
			int32_t		t = tokens[(r0 + r) * HRM_ARC_MAX + c0 + c];

			if (t < 2)
				return hrm_fail(err, HRM_ERR_FORMAT,
								"%s token at position %d inside the %dx%d grid at row %d, column %d; a grid cell is a colour (2..11)",
								token_kind(t), (r0 + r) * HRM_ARC_MAX + c0 + c + 1,
								rows, cols, r0 + 1, c0 + 1);
			grid.cell[r * cols + c] = (uint8_t) (t - 2);
		}
	st = hrm_arc_encode(&grid, r0, c0, expect, err);
	if (st != HRM_OK)
		return st;
	for (int i = 0; i < HRM_ARC_SEQ; i++)
		if (tokens[i] != expect[i])
			return hrm_fail(err, HRM_ERR_FORMAT,
							"token %ld (%s) at position %d, where a %dx%d grid at row %d, column %d has %s",
							(long) tokens[i], token_kind(tokens[i]), i + 1, rows, cols,
							r0 + 1, c0 + 1, token_kind(expect[i]));
	if (g)
		*g = grid;
	if (row_off)
		*row_off = r0;
	if (col_off)
		*col_off = c0;
	return HRM_OK;
}

hrm_status
hrm_arc_crop(const int32_t *tokens, size_t n, hrm_arc_grid *g, hrm_error *err)
{
	int			num_c = HRM_ARC_MAX,
				best_area = 0,
				best_r = 0,
				best_c = 0;

	if (n != HRM_ARC_SEQ)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"an ARC token sequence has 900 tokens (30x30), got %zu", n);
	for (int num_r = 1; num_r <= HRM_ARC_MAX; num_r++)
	{
		for (int c = 0; c < num_c; c++)
		{
			int32_t		t = tokens[(num_r - 1) * HRM_ARC_MAX + c];

			if (t < 2 || t > 11)
			{
				num_c = c;
				break;
			}
		}
		if (num_r * num_c > best_area)
		{
			best_area = num_r * num_c;
			best_r = num_r;
			best_c = num_c;
		}
	}
	g->rows = best_r;
	g->cols = best_c;
	for (int r = 0; r < best_r; r++)
		for (int c = 0; c < best_c; c++)
			g->cell[r * best_c + c] = (uint8_t) (tokens[r * HRM_ARC_MAX + c] - 2);
	return HRM_OK;
}

void
hrm_arc_draw_offset(hrm_rng *rng, int max_rows, int max_cols, int *row_off, int *col_off)
{
	int			rr = HRM_ARC_MAX - max_rows + 1,
				cc = HRM_ARC_MAX - max_cols + 1;

	*row_off = rr > 1 ? (int) hrm_rng_below(rng, (uint64_t) rr) : 0;
	*col_off = cc > 1 ? (int) hrm_rng_below(rng, (uint64_t) cc) : 0;
}

/* ------------------------------------------------------------------------
 * Augmentation
 * ------------------------------------------------------------------------ */

void
hrm_arc_aug_identity(hrm_arc_aug *aug)
{
	aug->tid = 0;
	for (int c = 0; c < HRM_ARC_COLORS; c++)
		aug->colors[c] = (uint8_t) c;
}

void
hrm_arc_aug_draw(hrm_rng *rng, hrm_arc_aug *aug)
{
	int			perm[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

	aug->tid = (int) hrm_rng_below(rng, HRM_DIHEDRAL_COUNT);
	hrm_rng_shuffle_int(rng, perm, 9);
	aug->colors[0] = 0;
	for (int c = 0; c < 9; c++)
		aug->colors[c + 1] = (uint8_t) perm[c];
}

hrm_status
hrm_arc_color_perm_validate(const uint8_t colors[HRM_ARC_COLORS], hrm_error *err)
{
	int			seen = 0;

	for (int c = 0; c < HRM_ARC_COLORS; c++)
	{
		if (colors[c] > 9)
			return hrm_fail(err, HRM_ERR_INVALID,
							"colour %d maps to %d, outside 0..9", c, colors[c]);
		if (seen & (1 << colors[c]))
			return hrm_fail(err, HRM_ERR_INVALID,
							"colour %d is the image of two colours: a colour map is a permutation of 0..9",
							colors[c]);
		seen |= 1 << colors[c];
	}
	return HRM_OK;
}

void
hrm_arc_color_perm_inverse(const uint8_t colors[HRM_ARC_COLORS], uint8_t inverse[HRM_ARC_COLORS])
{
	uint8_t		tmp[HRM_ARC_COLORS];

	for (int c = 0; c < HRM_ARC_COLORS; c++)
		tmp[colors[c] % HRM_ARC_COLORS] = (uint8_t) c;
	memcpy(inverse, tmp, sizeof(tmp));
}

void
hrm_arc_aug_inverse(const hrm_arc_aug *aug, hrm_arc_aug *inv)
{
	hrm_arc_aug tmp;

	tmp.tid = hrm_dihedral_inverse(aug->tid);
	hrm_arc_color_perm_inverse(aug->colors, tmp.colors);
	*inv = tmp;
}

hrm_status
hrm_arc_aug_apply(const hrm_arc_aug *aug, const hrm_arc_grid *in, hrm_arc_grid *out,
				  hrm_error *err)
{
	hrm_status	st = hrm_arc_grid_validate(in, err);

	if (st != HRM_OK)
		return st;
	st = hrm_arc_color_perm_validate(aug->colors, err);
	if (st != HRM_OK)
		return st;
	st = hrm_dihedral_apply_u8(aug->tid, in->cell, in->rows, in->cols,
							   out->cell, &out->rows, &out->cols, err);
	if (st != HRM_OK)
		return st;
	for (int i = 0; i < out->rows * out->cols; i++)
		out->cell[i] = aug->colors[out->cell[i]];
	return HRM_OK;
}

hrm_status
hrm_arc_augment_tokens(const int32_t *in, const int32_t *label,
					   int32_t *out_in, int32_t *out_label,
					   hrm_rng *rng, bool translate, hrm_arc_aug *aug_out, hrm_error *err)
{
	hrm_arc_grid gin,
				glab,
				tin,
				tlab;
	hrm_arc_aug aug;
	int			max_r,
				max_c,
				r = 0,
				c = 0;
	int32_t		tmp[HRM_ARC_SEQ];
	hrm_status	st;

	st = hrm_arc_decode(in, HRM_ARC_SEQ, &gin, NULL, NULL, err);
	if (st != HRM_OK)
		return st;
	if (label != NULL)
	{
		st = hrm_arc_decode(label, HRM_ARC_SEQ, &glab, NULL, NULL, err);
		if (st != HRM_OK)
			return st;
	}
	hrm_arc_aug_draw(rng, &aug);
	st = hrm_arc_aug_apply(&aug, &gin, &tin, err);
	if (st != HRM_OK)
		return st;
	max_r = tin.rows;
	max_c = tin.cols;
	if (label != NULL)
	{
		st = hrm_arc_aug_apply(&aug, &glab, &tlab, err);
		if (st != HRM_OK)
			return st;
		if (tlab.rows > max_r)
			max_r = tlab.rows;
		if (tlab.cols > max_c)
			max_c = tlab.cols;
	}
	if (translate)
		hrm_arc_draw_offset(rng, max_r, max_c, &r, &c);
	st = hrm_arc_encode(&tin, r, c, tmp, err);
	if (st != HRM_OK)
		return st;
	if (label != NULL)
	{
		st = hrm_arc_encode(&tlab, r, c, out_label, err);
		if (st != HRM_OK)
			return st;
	}
	memcpy(out_in, tmp, sizeof(tmp));
	if (aug_out)
		*aug_out = aug;
	return HRM_OK;
}

/* ------------------------------------------------------------------------
 * JSON tasks
 * ------------------------------------------------------------------------ */

static hrm_status task_fail(hrm_arc_issue *issue, hrm_arc_issue what, hrm_error *err,
						   hrm_status code, const char *fmt,...)
			__attribute__((format(printf, 5, 6)));

/* Record an error with its issue kind. */
static hrm_status
task_fail(hrm_arc_issue *issue, hrm_arc_issue what, hrm_error *err, hrm_status code,
		  const char *fmt,...)
{
	char		msg[HRM_ERRMSG_LEN];
	va_list		ap;

	if (issue)
		*issue = what;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hrm_fail(err, code, "%s", msg);
}

static const char *
json_type_name(const hrm_json *v)
{
	switch (v->type)
	{
		case HRM_JSON_NULL:
			return "null";
		case HRM_JSON_BOOL:
			return "a boolean";
		case HRM_JSON_NUMBER:
			return "a number";
		case HRM_JSON_STRING:
			return "a string";
		case HRM_JSON_ARRAY:
			return "an array";
		case HRM_JSON_OBJECT:
			return "an object";
	}
	return "unknown";
}

/* Read one grid (an array of rows of integers 0..9); path names it in errors. */
static hrm_status
read_grid(const hrm_json *v, const char *path, hrm_arc_grid *g, hrm_arc_issue *issue,
		  hrm_error *err)
{
	if (v->type != HRM_JSON_ARRAY)
		return task_fail(issue, HRM_ARC_ISSUE_NOT_ARRAY, err, HRM_ERR_FORMAT,
						 "%s must be an array of rows, not %s", path, json_type_name(v));
	if (v->count == 0)
		return task_fail(issue, HRM_ARC_ISSUE_EMPTY, err, HRM_ERR_SHAPE,
						 "%s has no rows", path);
	if (v->count > HRM_ARC_MAX)
		return task_fail(issue, HRM_ARC_ISSUE_TOO_LARGE, err, HRM_ERR_LIMIT,
						 "%s has %zu rows, an ARC grid has at most 30", path, v->count);
	g->rows = (int) v->count;
	for (int r = 0; r < g->rows; r++)
	{
		const hrm_json *row = &v->items[r];

		if (row->type != HRM_JSON_ARRAY)
			return task_fail(issue, HRM_ARC_ISSUE_NOT_ARRAY, err, HRM_ERR_FORMAT,
							 "%s[%d] must be an array of colours, not %s",
							 path, r, json_type_name(row));
		if (row->count == 0)
			return task_fail(issue, HRM_ARC_ISSUE_EMPTY, err, HRM_ERR_SHAPE,
							 "%s[%d] is an empty row", path, r);
		if (row->count > HRM_ARC_MAX)
			return task_fail(issue, HRM_ARC_ISSUE_TOO_LARGE, err, HRM_ERR_LIMIT,
							 "%s[%d] has %zu columns, an ARC grid has at most 30",
							 path, r, row->count);
		if (r == 0)
			g->cols = (int) row->count;
		else if (row->count != (size_t) g->cols)
			return task_fail(issue, HRM_ARC_ISSUE_RAGGED, err, HRM_ERR_FORMAT,
							 "%s[%d] has %zu cell%s, the first row has %d: a grid is rectangular",
							 path, r, row->count, row->count == 1 ? "" : "s", g->cols);
		for (int c = 0; c < g->cols; c++)
		{
			const hrm_json *cell = &row->items[c];

			if (cell->type != HRM_JSON_NUMBER || !cell->is_int)
				return task_fail(issue, HRM_ARC_ISSUE_NOT_INTEGER, err, HRM_ERR_FORMAT,
								 "%s[%d][%d] must be an integer colour 0..9, not %s",
								 path, r, c,
								 cell->type == HRM_JSON_NUMBER ? "a fraction" : json_type_name(cell));
			if (cell->integer < 0 || cell->integer > 9)
				return task_fail(issue, HRM_ARC_ISSUE_BAD_COLOR, err, HRM_ERR_INVALID,
								 "%s[%d][%d] is %lld, a colour is 0..9",
								 path, r, c, (long long) cell->integer);
			g->cell[r * g->cols + c] = (uint8_t) cell->integer;
		}
	}
	return HRM_OK;
}

/* Read the "train" or "test" array of a task object. */
static hrm_status
read_split(const hrm_json *task, const char *name, bool output_required,
		   hrm_arc_pair **pairs, int *npairs, hrm_arc_issue *issue, hrm_error *err)
{
	const hrm_json *arr = hrm_json_get(task, name);
	char		path[64];

	if (arr == NULL)
		return task_fail(issue, HRM_ARC_ISSUE_MISSING_KEY, err, HRM_ERR_FORMAT,
						 "the task has no \"%s\" key", name);
	if (arr->type != HRM_JSON_ARRAY)
		return task_fail(issue, HRM_ARC_ISSUE_NOT_ARRAY, err, HRM_ERR_FORMAT,
						 "\"%s\" must be an array of pairs, not %s", name, json_type_name(arr));
	if (arr->count > HRM_ARC_MAX_PAIRS)
		return task_fail(issue, HRM_ARC_ISSUE_TOO_LARGE, err, HRM_ERR_LIMIT,
						 "\"%s\" has %zu pairs, at most %d are accepted", name, arr->count,
						 HRM_ARC_MAX_PAIRS);
	if (arr->count > 0)
	{
		*pairs = hrm_alloc(arr->count, sizeof(hrm_arc_pair));
		if (*pairs == NULL)
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory reading an ARC task");
	}
	*npairs = 0;
	for (size_t i = 0; i < arr->count; i++)
	{
		const hrm_json *pair = &arr->items[i];
		const hrm_json *in,
				   *out;
		hrm_arc_pair *p = &(*pairs)[i];
		char		gpath[96];
		hrm_status	st;

		snprintf(path, sizeof(path), "%s[%zu]", name, i);
		if (pair->type != HRM_JSON_OBJECT)
			return task_fail(issue, HRM_ARC_ISSUE_NOT_OBJECT, err, HRM_ERR_FORMAT,
							 "%s must be an object with \"input\" and \"output\", not %s",
							 path, json_type_name(pair));
		in = hrm_json_get(pair, "input");
		out = hrm_json_get(pair, "output");
		if (in == NULL)
			return task_fail(issue, HRM_ARC_ISSUE_MISSING_KEY, err, HRM_ERR_FORMAT,
							 "%s has no \"input\" key", path);
		snprintf(gpath, sizeof(gpath), "%s.input", path);
		st = read_grid(in, gpath, &p->input, issue, err);
		if (st != HRM_OK)
			return st;
		if (out == NULL || (out->type == HRM_JSON_NULL && !output_required))
		{
			if (output_required)
				return task_fail(issue, HRM_ARC_ISSUE_MISSING_KEY, err, HRM_ERR_FORMAT,
								 "%s has no \"output\" key", path);
			p->has_output = false;
		}
		else
		{
			snprintf(gpath, sizeof(gpath), "%s.output", path);
			st = read_grid(out, gpath, &p->output, issue, err);
			if (st != HRM_OK)
				return st;
			p->has_output = true;
		}
		*npairs = (int) i + 1;
	}
	return HRM_OK;
}

hrm_status
hrm_arc_task_from_json(const hrm_json *root, hrm_arc_task *task, hrm_arc_issue *issue,
					   hrm_error *err)
{
	const hrm_json *body = root;
	hrm_status	st;

	memset(task, 0, sizeof(*task));
	if (issue)
		*issue = HRM_ARC_ISSUE_NONE;
	if (root == NULL || root->type != HRM_JSON_OBJECT)
		return task_fail(issue, HRM_ARC_ISSUE_NOT_OBJECT, err, HRM_ERR_FORMAT,
						 "an ARC task must be a JSON object with \"train\" and \"test\", not %s",
						 root ? json_type_name(root) : "nothing");
	if (hrm_json_get(root, "train") == NULL && hrm_json_get(root, "task") != NULL)
	{
		const hrm_json *id = hrm_json_get(root, "id");

		body = hrm_json_get(root, "task");
		if (body->type != HRM_JSON_OBJECT)
			return task_fail(issue, HRM_ARC_ISSUE_NOT_OBJECT, err, HRM_ERR_FORMAT,
							 "\"task\" must be an object with \"train\" and \"test\", not %s",
							 json_type_name(body));
		if (id != NULL && id->type != HRM_JSON_NULL)
		{
			if (id->type != HRM_JSON_STRING)
				return task_fail(issue, HRM_ARC_ISSUE_NOT_STRING, err, HRM_ERR_FORMAT,
								 "\"id\" must be a string, not %s", json_type_name(id));
			task->id = malloc(id->string_len + 1);
			if (task->id == NULL)
				return hrm_fail(err, HRM_ERR_NOMEM, "out of memory reading an ARC task");
			memcpy(task->id, id->string, id->string_len + 1);
		}
	}
	st = read_split(body, "train", true, &task->train, &task->n_train, issue, err);
	if (st != HRM_OK)
		return st;
	return read_split(body, "test", false, &task->test, &task->n_test, issue, err);
}

hrm_status
hrm_arc_task_parse(const char *text, size_t len, hrm_arc_task *task, hrm_arc_issue *issue,
				   hrm_error *err)
{
	hrm_json   *root = NULL;
	hrm_status	st;

	memset(task, 0, sizeof(*task));
	st = hrm_json_parse(text, len, &root, err);
	if (st != HRM_OK)
	{
		if (issue)
			*issue = st == HRM_ERR_NOMEM ? HRM_ARC_ISSUE_NONE : HRM_ARC_ISSUE_SYNTAX;
		return st;
	}
	st = hrm_arc_task_from_json(root, task, issue, err);
	hrm_json_free(root);
	return st;
}

void
hrm_arc_task_free(hrm_arc_task *task)
{
	if (task == NULL)
		return;
	free(task->id);
	hrm_free(task->train);
	hrm_free(task->test);
	memset(task, 0, sizeof(*task));
}
