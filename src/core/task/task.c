/*
 * task.c — the task table (task.h): one `static const` entry per task and
 * the small adapters between the generic code (sampler, recipe, views,
 * answer checks, text readers) and each task's codec (sudoku.c, maze.c,
 * arc.c, grid.c).
 */
#include "task.h"
#include "grid.h"
#include "maze.h"

#include <math.h>
#include <string.h>

static void
copy_reason(char *dst, size_t cap, const char *src)
{
	size_t		n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ------------------------------------------------------------------------- */
/* Sudoku */

/*
 * Augmentation of one row, ignored labels kept where they were: the
 * transform moves cells and relabels digits, so a mask (2 = supervised,
 * 0 = ignored) goes through the same transform.
 */
static hrm_status
sudoku_augment(hrm_rng *rng, int32_t *in, int32_t *lb, int T, hrm_error *err)
{
	hrm_sudoku_aug aug;
	int32_t		mask[HRM_SUDOKU_CELLS];
	bool		any_ignored = false;
	hrm_status	st;

	hrm_sudoku_aug_draw(rng, &aug);
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		mask[i] = lb[i] == HRM_IGNORE_LABEL ? 0 : 2;
		if (lb[i] == HRM_IGNORE_LABEL)
		{
			lb[i] = HRM_SUDOKU_PAD;
			any_ignored = true;
		}
	}
	st = hrm_sudoku_aug_apply_tokens(&aug, in, in, err);
	if (st == HRM_OK)
		st = hrm_sudoku_aug_apply_tokens(&aug, lb, lb, err);
	if (st == HRM_OK && any_ignored)
		st = hrm_sudoku_aug_apply_tokens(&aug, mask, mask, err);
	if (st != HRM_OK)
		return st;
	if (any_ignored)
		for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
			if (mask[i] == 0)
				lb[i] = HRM_IGNORE_LABEL;
	return HRM_OK;
}

/* Reveal blanks from the label so the row keeps `level` of its own blanks (stochastic rounding). */
static void
sudoku_reveal(hrm_rng *rng, int32_t *in, const int32_t *lb, double level)
{
	int			blanks[HRM_SUDOKU_CELLS];
	int			own = 0,
				keep;

	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		if (in[i] == HRM_SUDOKU_BLANK && lb[i] >= 2 && lb[i] <= 10)
			blanks[own++] = i;
	if (own == 0)
		return;
	keep = (int) floor(level * own + hrm_rng_uniform(rng));
	if (keep > own)
		keep = own;
	/* partial Fisher-Yates: the first own - keep entries are revealed */
	for (int k = 0; k < own - keep; k++)
	{
		int			j = k + (int) hrm_rng_below(rng, (uint64_t) (own - k));
		int			t = blanks[k];

		blanks[k] = blanks[j];
		blanks[j] = t;
		in[blanks[k]] = lb[blanks[k]];
	}
}

/*
 * The Sudoku recipe (docs/training.md): a Tiny Recursive Model (one network
 * of 2 blocks, 2 recursions of 2 latent updates and an answer update, the
 * last recursion backpropagated in full, the halting head alone deciding),
 * hidden 64 (4 heads of 16), attention over each cell's row, column and box
 * peers, ACT with up to 4 segments, and a cosine decay of the learning rate
 * to 1e-4 over the budget (steps, epochs or minutes).  At equal CPU minutes
 * hidden 64 takes about 3x the steps of hidden 128 and ends higher on 20,
 * 30-40 and 45-55 blanks; TRM ends higher than HRM of the same width on
 * 30-40 and 45-55 blanks.  "arch": "hrm" (hrm_run_opts_hrm) undoes the
 * architecture and keeps the rest.
 */
static void
sudoku_recipe(hrm_config *c, hrm_train_opts *train)
{
	if (c->seq_len == HRM_SUDOKU_CELLS)
	{
		c->arch = HRM_ARCH_TRM;
		c->H_layers = 0;
		c->no_ACT_continue = true;
		c->hidden_size = 64;
		c->num_heads = 4;
		c->attn_mask = HRM_MASK_SUDOKU;
		c->halt_max_steps = 4;
	}
	train->lr_min_ratio = 0.1;
}

static bool
sudoku_aug_is_identity(const hrm_sudoku_aug *a)
{
	hrm_sudoku_aug id;

	hrm_sudoku_aug_identity(&id);
	return memcmp(a, &id, sizeof(id)) == 0;
}

static void
sudoku_view_draw(hrm_rng *r, hrm_view *views, int n)
{
	for (int k = 1; k < n; k++)
	{
		bool		fresh;

		do
		{
			hrm_sudoku_aug_draw(r, &views[k].sudoku);
			fresh = !sudoku_aug_is_identity(&views[k].sudoku);
			for (int j = 1; j < k && fresh; j++)
				if (memcmp(&views[j].sudoku, &views[k].sudoku, sizeof(hrm_sudoku_aug)) == 0)
					fresh = false;
		} while (!fresh);
	}
}

static hrm_status
sudoku_view_transform(const hrm_view *v, bool inverse, const int32_t *in, int32_t *out, hrm_error *err)
{
	return inverse ? hrm_sudoku_aug_invert_tokens(&v->sudoku, in, out, err) :
		hrm_sudoku_aug_apply_tokens(&v->sudoku, in, out, err);
}

/* the digits, tokens 2..10 */
static int
sudoku_answer_range(int32_t input, int *lo, int *hi)
{
	*lo = HRM_SUDOKU_BLANK + 1;
	*hi = HRM_SUDOKU_VOCAB - 1;
	return -1;
}

static void
sudoku_check(const int32_t *input, const int32_t *pred, hrm_answer_verdict *v)
{
	uint8_t		puzzle[HRM_SUDOKU_CELLS],
				ans[HRM_SUDOKU_CELLS];
	hrm_sudoku_verdict sv;
	hrm_error	err;

	hrm_error_clear(&err);
	if (hrm_sudoku_from_tokens(input, HRM_SUDOKU_CELLS, puzzle, &err) != HRM_OK)
		return;
	/* tokens outside 1..10 (a whole-vocabulary decode) read as blanks */
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		ans[i] = (pred[i] >= 1 && pred[i] <= 10) ? (uint8_t) (pred[i] - 1) : 0;
	hrm_sudoku_check(puzzle, ans, &sv);
	v->known = true;
	v->valid = sv.valid;
	v->keeps_givens = sv.keeps_givens;
	copy_reason(v->reason, sizeof(v->reason), sv.reason);
}

static hrm_status
sudoku_parse_text(const char *s, size_t len, int32_t *tokens, hrm_error *err)
{
	uint8_t		cells[HRM_SUDOKU_CELLS];
	hrm_status	st = hrm_sudoku_parse(s, len, cells, err);

	if (st == HRM_OK)
		hrm_sudoku_to_tokens(cells, tokens);
	return st;
}

/* ------------------------------------------------------------------------- */
/* Maze and ARC canvases */

/*
 * Maze and ARC transforms decode their token canvases, so ignored labels
 * are PAD during the transform and PAD labels are ignored afterwards (the
 * reference's ignore_label_id 0) when the row had any.
 */
static hrm_status
canvas_augment(hrm_task task, hrm_rng *rng, int32_t *in, int32_t *lb, int T, hrm_error *err)
{
	bool		any_ignored = false;
	hrm_status	st;

	for (int i = 0; i < T; i++)
		if (lb[i] == HRM_IGNORE_LABEL)
		{
			lb[i] = 0;
			any_ignored = true;
		}
	if (task == HRM_TASK_MAZE)
		st = hrm_maze_augment_tokens(in, lb, in, lb, rng, NULL, err);
	else
		st = hrm_arc_augment_tokens(in, lb, in, lb, rng, true, NULL, err);
	if (st != HRM_OK)
		return st;
	if (any_ignored)
		for (int i = 0; i < T; i++)
			if (lb[i] == 0)
				lb[i] = HRM_IGNORE_LABEL;
	return HRM_OK;
}

static hrm_status
maze_augment(hrm_rng *rng, int32_t *in, int32_t *lb, int T, hrm_error *err)
{
	return canvas_augment(HRM_TASK_MAZE, rng, in, lb, T, err);
}

static hrm_status
arc_augment(hrm_rng *rng, int32_t *in, int32_t *lb, int T, hrm_error *err)
{
	return canvas_augment(HRM_TASK_ARC, rng, in, lb, T, err);
}

/* the 7 non-identity dihedral transforms in a random order */
static void
maze_view_draw(hrm_rng *r, hrm_view *views, int n)
{
	int			perm[HRM_DIHEDRAL_COUNT - 1];

	for (int i = 0; i < HRM_DIHEDRAL_COUNT - 1; i++)
		perm[i] = i + 1;
	for (int i = HRM_DIHEDRAL_COUNT - 2; i > 0; i--)
	{
		int			j = (int) hrm_rng_below(r, (uint64_t) i + 1);
		int			t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (int k = 1; k < n; k++)
		views[k].tid = perm[k - 1];
}

static hrm_status
maze_view_transform(const hrm_view *v, bool inverse, const int32_t *in, int32_t *out, hrm_error *err)
{
	return hrm_maze_transform_tokens(in, out, inverse ? hrm_dihedral_inverse(v->tid) : v->tid, err);
}

/* the five cell tokens where the input is not PAD; PAD stays PAD */
static int
maze_answer_range(int32_t input, int *lo, int *hi)
{
	if (input == HRM_MAZE_PAD)
		return HRM_MAZE_PAD;
	*lo = HRM_MAZE_WALL;
	*hi = HRM_MAZE_PATH;
	return -1;
}

static void
maze_check(const int32_t *input, const int32_t *pred, hrm_answer_verdict *v)
{
	hrm_maze	q,
				a;
	hrm_maze_verdict mv;
	hrm_error	err;
	int			n;

	hrm_error_clear(&err);
	if (hrm_maze_from_tokens(input, HRM_MAZE_SEQ, 0, &q, &err) != HRM_OK)
		return;
	a.rows = q.rows;
	a.cols = q.cols;
	for (int r = 0; r < q.rows; r++)
		for (int c = 0; c < q.cols; c++)
		{
			int32_t		t = pred[r * HRM_MAZE_MAX + c];

			a.cell[r * q.cols + c] = (uint8_t) ((t >= 0 && t < HRM_MAZE_VOCAB) ? t : HRM_MAZE_PAD);
		}
	if (hrm_maze_check(&q, &a, &mv, &err) != HRM_OK)
		return;					/* not a question maze (no single S and G) */
	v->known = true;
	n = q.rows * q.cols;
	/* givens: walls, S and G stay; open cells stay open or join the path */
	v->keeps_givens = true;
	for (int i = 0; i < n && v->keeps_givens; i++)
	{
		int			qc = q.cell[i],
					ac = a.cell[i];

		if (qc == HRM_MAZE_OPEN ? (ac != HRM_MAZE_OPEN && ac != HRM_MAZE_PATH) : ac != qc)
			v->keeps_givens = false;
	}
	v->valid = mv.valid && mv.shortest;
	copy_reason(v->reason, sizeof(v->reason), mv.reason);
}

static hrm_status
maze_parse_text(const char *s, size_t len, int32_t *tokens, hrm_error *err)
{
	hrm_maze	m;
	hrm_status	st = hrm_maze_parse(s, len, &m, err);

	if (st == HRM_OK)
		hrm_maze_to_tokens(&m, tokens);
	return st;
}

/* 8 x 9! transforms: distinct draws always exist for n <= 64 */
static void
arc_view_draw(hrm_rng *r, hrm_view *views, int n)
{
	for (int k = 1; k < n; k++)
	{
		bool		fresh;

		do
		{
			hrm_arc_aug_draw(r, &views[k].arc);
			fresh = memcmp(&views[k].arc, &views[0].arc, sizeof(hrm_arc_aug)) != 0;
			for (int j = 1; j < k && fresh; j++)
				if (memcmp(&views[j].arc, &views[k].arc, sizeof(hrm_arc_aug)) == 0)
					fresh = false;
		} while (!fresh);
	}
}

/* A grid of colours (row-major, at most 30x30) as a canvas at (0, 0). */
static hrm_status
arc_grid_encode(int rows, int cols, const uint8_t *cells, int32_t *tokens, hrm_error *err)
{
	hrm_arc_grid g;

	if (rows < 0 || cols < 0 || rows > HRM_ARC_MAX || cols > HRM_ARC_MAX)
		return hrm_fail(err, HRM_ERR_INVALID, "an ARC grid is at most %dx%d, not %dx%d",
						HRM_ARC_MAX, HRM_ARC_MAX, rows, cols);
	g.rows = rows;
	g.cols = cols;
	memcpy(g.cell, cells, (size_t) rows * cols);
	return hrm_arc_encode(&g, 0, 0, tokens, err);
}

/*
 * The grid of a canvas under an augmentation, re-encoded at (0, 0).  The
 * forward direction reads a well-formed input canvas; the inverse reads a
 * prediction with the reference's lenient crop (an empty crop gives an
 * all-PAD canvas).  in and out may alias.
 */
static hrm_status
arc_view_transform(const hrm_view *v, bool inverse, const int32_t *in, int32_t *out, hrm_error *err)
{
	hrm_arc_grid g,
				t;
	hrm_arc_aug inv;
	hrm_status	st;

	st = inverse ? hrm_arc_crop(in, HRM_ARC_SEQ, &g, err) :
		hrm_arc_decode(in, HRM_ARC_SEQ, &g, NULL, NULL, err);
	if (st != HRM_OK)
		return st;
	if (g.rows == 0 || g.cols == 0)
	{
		for (int i = 0; i < HRM_ARC_SEQ; i++)
			out[i] = HRM_ARC_PAD;
		return HRM_OK;
	}
	if (inverse)
		hrm_arc_aug_inverse(&v->arc, &inv);
	st = hrm_arc_aug_apply(inverse ? &inv : &v->arc, &g, &t, err);
	if (st != HRM_OK)
		return st;
	return hrm_arc_encode(&t, 0, 0, out, err);
}

/* ------------------------------------------------------------------------- */
/* the table */

static const hrm_task_ops task_table[HRM_TASK_COUNT] = {
	[HRM_TASK_GENERIC] = {
		.task = HRM_TASK_GENERIC,
		.name = "generic",
		.blank_token = -1,
		.max_views = 1,
	},
	[HRM_TASK_SUDOKU] = {
		.task = HRM_TASK_SUDOKU,
		.name = "sudoku",
		.seq_len = HRM_SUDOKU_CELLS,
		.vocab_size = HRM_SUDOKU_VOCAB,
		.grid_rows = 9,
		.grid_cols = 9,
		.grid_box = 3,
		.augment = sudoku_augment,
		.reveal = sudoku_reveal,
		.blank_token = HRM_SUDOKU_BLANK,
		.recipe = sudoku_recipe,
		.max_views = HRM_VIEWS_MAX,
		.view_draw = sudoku_view_draw,
		.view_transform = sudoku_view_transform,
		.answer_range = sudoku_answer_range,
		.check = sudoku_check,
		.parse_text = sudoku_parse_text,
	},
	[HRM_TASK_MAZE] = {
		.task = HRM_TASK_MAZE,
		.name = "maze",
		.seq_len = HRM_MAZE_SEQ,
		.vocab_size = HRM_MAZE_VOCAB,
		.grid_rows = HRM_MAZE_MAX,
		.grid_cols = HRM_MAZE_MAX,
		.augment = maze_augment,
		.blank_token = -1,
		.max_views = HRM_DIHEDRAL_COUNT,
		.view_draw = maze_view_draw,
		.view_transform = maze_view_transform,
		.answer_range = maze_answer_range,
		.check = maze_check,
		.parse_text = maze_parse_text,
	},
	[HRM_TASK_ARC] = {
		.task = HRM_TASK_ARC,
		.name = "arc",
		.seq_len = HRM_ARC_SEQ,
		.vocab_size = HRM_ARC_VOCAB,
		.grid_rows = HRM_ARC_MAX,
		.grid_cols = HRM_ARC_MAX,
		.augment = arc_augment,
		.blank_token = -1,
		.max_views = HRM_VIEWS_MAX,
		.view_draw = arc_view_draw,
		.view_transform = arc_view_transform,
		.view0_inverted = true,
		.grid_values = HRM_ARC_COLORS,
		.grid_encode = arc_grid_encode,
	},
};

void
hrm_view_identity(hrm_view *v)
{
	memset(v, 0, sizeof(*v));
	v->tid = 0;
	hrm_sudoku_aug_identity(&v->sudoku);
	hrm_arc_aug_identity(&v->arc);
}

const hrm_task_ops *
hrm_task_get(hrm_task task)
{
	if ((int) task < 0 || (int) task >= HRM_TASK_COUNT)
		return &task_table[HRM_TASK_GENERIC];
	return &task_table[task];
}

const hrm_task_ops *
hrm_task_by_name(const char *name)
{
	for (int i = 0; name != NULL && i < HRM_TASK_COUNT; i++)
		if (strcmp(name, task_table[i].name) == 0)
			return &task_table[i];
	return NULL;
}

const char *
hrm_task_name(hrm_task task)
{
	if ((int) task < 0 || (int) task >= HRM_TASK_COUNT)
		return "unknown";
	return task_table[task].name;
}

bool
hrm_task_from_name(const char *name, hrm_task *task)
{
	const hrm_task_ops *ops = hrm_task_by_name(name);

	if (ops == NULL)
		return false;
	*task = ops->task;
	return true;
}

void
hrm_task_shape(hrm_task task, int *seq_len, int *vocab_size)
{
	const hrm_task_ops *ops = hrm_task_get(task);

	if (seq_len)
		*seq_len = ops->seq_len;
	if (vocab_size)
		*vocab_size = ops->vocab_size;
}
