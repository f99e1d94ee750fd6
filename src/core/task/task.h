/*
 * task.h — the task table: everything the engine does differently for a
 * task (Sudoku, maze, ARC, or any token sequences) is one entry of
 * hrm_task_ops, a `static const` table in task.c, in the way pgvector's
 * type-info tables keep type branches out of its build and scan code.
 *
 * The training sampler (run.c), the recipe defaults (run.c), test-time views
 * and answer checks (views.c) and the PostgreSQL glue's readers ask the
 * table; none of them branches on the task.  Adding a task is: its codec
 * (parse, encode, decode, check, augment and inverse, generator), its entry
 * here, its SQL wrappers and its tests (docs/architecture.md).
 */
#ifndef HRM_TASK_H
#define HRM_TASK_H

#include "arc.h"
#include "rng.h"
#include "sudoku.h"
#include "train.h"

typedef enum hrm_task
{
	HRM_TASK_GENERIC = 0,		/* any sequences; augmentation is the identity */
	HRM_TASK_SUDOKU = 1,		/* 81 tokens, vocab 11 (sudoku.h); digit/band/stack/transpose augmentation */
	HRM_TASK_MAZE = 2,			/* 900 tokens (maze.h); dihedral augmentation */
	HRM_TASK_ARC = 3			/* 900 tokens (arc.h); dihedral + colour permutation + translation */
} hrm_task;

#define HRM_TASK_COUNT 4

/* Most views per puzzle (Sudoku and ARC; a maze has 8). */
#define HRM_VIEWS_MAX 64

/* One transform of a puzzle (test-time views). */
typedef struct hrm_view
{
	int			tid;			/* maze: dihedral id 0..7 (grid.h) */
	hrm_sudoku_aug sudoku;		/* Sudoku: the transform (identity for view 0) */
	hrm_arc_aug arc;			/* ARC: dihedral id and colour permutation */
} hrm_view;

/* A task's verdict on an answer in token form. */
typedef struct hrm_answer_verdict
{
	bool		known;			/* the task has a checker and the input is a valid puzzle */
	bool		valid;			/* Sudoku: complete, no repeats; maze: a shortest S-G path */
	bool		keeps_givens;	/* Sudoku: givens unchanged; maze: walls/S/G kept, open cells open or path */
	char		reason[160];	/* the first rule broken ("" when valid and keeps_givens) */
} hrm_answer_verdict;

typedef struct hrm_task_ops
{
	hrm_task	task;
	const char *name;			/* "generic", "sudoku", "maze", "arc" */
	int			seq_len;		/* tokens of a puzzle (0: any) */
	int			vocab_size;		/* its vocabulary (0: any) */

	/* grid-aware learned positions (hrm_run_init_params): rows, columns, box side (0: no boxes) */
	int			grid_rows;
	int			grid_cols;
	int			grid_box;

	/* ---- training ---- */

	/*
	 * Augment one row (T tokens) in place, labels through the same transform;
	 * ignored labels (HRM_IGNORE_LABEL) stay ignored.  NULL: no augmentation.
	 */
	hrm_status	(*augment) (hrm_rng *rng, int32_t *in, int32_t *lb, int T, hrm_error *err);

	/*
	 * Puzzles with givens: reveal blanks from the label so the row keeps
	 * `level` of its own (the blank curriculum).  NULL: the task has no
	 * givens, and neither the curriculum nor ignore_givens applies.
	 */
	void		(*reveal) (hrm_rng *rng, int32_t *in, const int32_t *lb, double level);
	int			blank_token;	/* with reveal: the input token of a blank cell */

	/* The task's recipe on top of the common defaults (NULL: the common ones). */
	void		(*recipe) (hrm_config *model, hrm_train_opts *train);

	/* ---- test-time views ---- */

	int			max_views;		/* views its symmetries give (1: none) */

	/* views[1..n-1]: distinct transforms, none the identity (views[0] is the identity) */
	void		(*view_draw) (hrm_rng *r, hrm_view *views, int n);

	/* seq_len tokens under a view, or back (in and out may alias) */
	hrm_status	(*view_transform) (const hrm_view *v, bool inverse, const int32_t *in, int32_t *out,
								   hrm_error *err);

	/* with several views, view 0's answer is mapped back too (ARC: the crop) */
	bool		view0_inverted;

	/* ---- answers ---- */

	/*
	 * The answer alphabet of a cell given its input token: the argmax runs
	 * over tokens lo..hi and returns -1; or the cell's answer is fixed
	 * (returned, >= 0) and it does not count towards the certainty.  NULL:
	 * the whole vocabulary.
	 */
	int			(*answer_range) (int32_t input, int *lo, int *hi);

	/* The task's rules on an answer (reads the puzzle only); NULL: no checker. */
	void		(*check) (const int32_t *input, const int32_t *pred, hrm_answer_verdict *v);

	/* ---- text (the glue's readers) ---- */

	/* A puzzle or solution as text into seq_len tokens; NULL: the task takes integer arrays. */
	hrm_status	(*parse_text) (const char *s, size_t len, int32_t *tokens, hrm_error *err);

	/*
	 * Puzzles as two-dimensional grids of cell values (ARC: int[rows][cols]
	 * of colours): at most grid_rows x grid_cols cells (above), each value
	 * 0..grid_values-1, encoded into seq_len tokens by grid_encode (cells
	 * row-major).  NULL: the task has no grid form.
	 */
	int			grid_values;
	hrm_status	(*grid_encode) (int rows, int cols, const uint8_t *cells, int32_t *tokens, hrm_error *err);
} hrm_task_ops;

/* The identity view (every task's transform the identity). */
void		hrm_view_identity(hrm_view *v);

/* The entry of a task; an unknown value gets the generic entry. */
const hrm_task_ops *hrm_task_get(hrm_task task);

/* The entry of a name ("sudoku", ...); NULL for anything else. */
const hrm_task_ops *hrm_task_by_name(const char *name);

const char *hrm_task_name(hrm_task task);
/* "generic", "sudoku", "maze", "arc"; false for anything else. */
bool		hrm_task_from_name(const char *name, hrm_task *task);

/*
 * Sequence length and vocabulary a task requires (0 = any, for generic).
 * Sudoku 81/11, maze 900/6, ARC 900/12.
 */
void		hrm_task_shape(hrm_task task, int *seq_len, int *vocab_size);

#endif							/* HRM_TASK_H */
