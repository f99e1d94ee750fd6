/*
 * views.h — batched solving with test-time scaling.
 *
 * hrm_views_solve runs puzzles through the model in batches (one
 * hrm_infer_with call per chunk of rows, adaptive halting letting rows
 * leave the batch early) and, with views > 1, solves each puzzle under
 * views - 1 of its task's symmetries as well:
 *
 *   - view 0 is the puzzle itself; views 1..N-1 are drawn from a fixed
 *     seed, so the same call gives the same answers, and every puzzle of a
 *     call gets the same N transforms (a batch answers as the puzzles one
 *     by one would).  Sudoku: a digit relabelling, an optional transpose,
 *     the bands and the rows within each band, the stacks and the columns
 *     within each stack (the reference's augmentation, sudoku.h); up to 64
 *     views, all distinct.  Maze: the 8 dihedral transforms (grid.h), so
 *     up to 8 views, all distinct.  ARC: a dihedral transform and a
 *     permutation of colours 1..9 (colour 0, the background, stays), the
 *     reference's augmentation; up to 64 views, all distinct.  The grid is
 *     read from the canvas (hrm_arc_decode), transformed and re-encoded at
 *     offset (0, 0); an answer is read back with the reference's crop
 *     (hrm_arc_crop), so the vote compares the cropped grids (the
 *     reference's evaluation votes over augmented versions the same way).
 *     ARC has no checker: the vote is the majority, then certainty.
 *     Other tasks have no symmetries here: views must be 1.
 *   - every view's answer is decoded in its own frame and mapped back with
 *     the inverse transform;
 *   - one answer is chosen: among the answers that obey the task's rules
 *     and keep the givens (hrm_answer_check: it reads only the puzzle,
 *     never a solution) if there are any, else among all, the answer given
 *     by the most views; ties go to the answer with the highest certainty
 *     (the mean over the answer's cells of the largest softmax probability
 *     over the answer alphabet, the best of the views giving it), then to
 *     the lowest view.  With views = 1 the answer is view 0's: exactly the
 *     single pass.
 *
 * Nothing here makes or repairs an answer: the exact solver is never
 * called.
 */
#ifndef HRM_VIEWS_H
#define HRM_VIEWS_H

#include "arc.h"
#include "forward.h"
#include "run.h"
#include "task.h"
#include "sudoku.h"

/* The seed views are drawn from unless the caller picks another. */
#define HRM_VIEWS_SEED 20250601u

/* Default engine rows (puzzles x views) per hrm_infer call. */
#define HRM_VIEWS_CHUNK_ROWS 256

/*
 * Rows the engine runs at once inside a chunk (hrm_infer_with's sub-batch).
 * Measured on the BLAS path (1 thread): per-row time is flat or best from
 * 4 to 16 rows and 5-20% worse at 64 for hidden 64 and 128 (the
 * activations leave the cache), while hidden 512 gains 1.25x from 1 to 8
 * rows and nothing beyond.
 */
#define HRM_VIEWS_WS_ROWS 16

/* Memory bounds of one chunk: logits and token buffers, and the workspace. */
#define HRM_VIEWS_BUFFER_BYTES ((size_t) 256 << 20)
#define HRM_VIEWS_WORKSPACE_BYTES ((size_t) 128 << 20)

/* How many views a task allows: Sudoku and ARC 64, maze 8, anything else 1. */
int			hrm_views_limit(hrm_task task);

/*
 * n views of a task from seed: views[0] the identity, the others distinct
 * non-identity transforms.  HRM_ERR_INVALID when n is outside
 * 1..hrm_views_limit(task).
 */
hrm_status	hrm_views_draw(hrm_task task, int n, uint64_t seed, hrm_view *views, hrm_error *err);

/*
 * A task's seq_len tokens under a view, and back (in and out may alias).
 * Sudoku: 81 tokens 0..10; maze: a 900-token canvas as hrm_maze_encode
 * writes it (HRM_ERR_FORMAT otherwise); ARC: hrm_view_apply reads an
 * encoded grid (hrm_arc_decode, HRM_ERR_FORMAT otherwise) and
 * hrm_view_invert a prediction (hrm_arc_crop: any canvas; an empty crop
 * gives an all-PAD canvas).  Other tasks: HRM_ERR_INVALID.
 */
hrm_status	hrm_view_apply(hrm_task task, const hrm_view *v, const int32_t *in, int32_t *out,
						   hrm_error *err);
hrm_status	hrm_view_invert(hrm_task task, const hrm_view *v, const int32_t *in, int32_t *out,
							hrm_error *err);

/*
 * The answer of logits [T, V] as tokens: the argmax (lowest token on ties)
 * over the task's answer alphabet: Sudoku the digits (tokens 2..10); maze
 * the five cell tokens 1..5 where the input is not PAD, PAD elsewhere;
 * any other task the whole vocabulary.  Returns the certainty: the mean
 * over those cells (every cell but the maze's PAD) of the largest softmax
 * probability over the same alphabet, in (0, 1].
 */
float		hrm_answer_decode(hrm_task alphabet, const int32_t *input, const float *logits, int T, int V,
							  int32_t *pred);

/*
 * Check pred against the puzzle input (seq_len tokens each; Sudoku and
 * maze).  Reads the puzzle only.  known = false for other tasks and for
 * an input that is no valid puzzle of the task.
 */
void		hrm_answer_check(hrm_task task, const int32_t *input, const int32_t *pred,
							 hrm_answer_verdict *v);

/*
 * The vote among n answers [n, T] (the rule above): ok[i] marks the
 * answers that obey the rules (NULL: none), certainty[i] their certainty.
 * Returns the index of the chosen view; *agree (may be NULL) gets the
 * number of views whose answer equals it.
 */
int			hrm_views_vote(int n, int T, const int32_t *answers, const bool *ok, const float *certainty,
						   int *agree);

/* Options of hrm_views_solve. */
typedef struct hrm_views_opts
{
	hrm_task	task;			/* symmetries, alphabet and checker */
	int			views;			/* 1..hrm_views_limit(task); <= 0 means 1 */
	uint64_t	seed;			/* of views 1..N-1 (HRM_VIEWS_SEED by default) */

	/*
	 * Decode over the task's answer alphabet (hrm_answer_decode) and check
	 * the answers (true by default); false: the argmax over the whole
	 * vocabulary and no checker, which needs views = 1.
	 */
	bool		task_alphabet;
	hrm_infer_opts infer;		/* segments, adaptive halting */
	int			chunk_rows;		/* engine rows per hrm_infer call (<= 0: 256); at least views */
	hrm_segment_cb segment_cb;	/* as hrm_infer's (may be NULL) */
	void	   *segment_arg;
	hrm_progress_cb progress;	/* between chunks (may be NULL); non-zero stops */
	void	   *progress_arg;
} hrm_views_opts;

void		hrm_views_opts_defaults(hrm_views_opts *o);

/* What a puzzle's solve gives besides the answer. */
typedef struct hrm_views_row
{
	int			segments;		/* segments the chosen view ran */
	float		q_halt;			/* the chosen view's last segment */
	float		q_continue;
	float		certainty;		/* the chosen view's (hrm_answer_decode) */
	int			views;			/* views run */
	int			agree;			/* views whose answer equals the chosen one */
	int			valid_views;	/* views whose answer obeys the rules and keeps the givens */
	int			chosen;			/* the view chosen (0 = the puzzle as given) */
	int			member;			/* hrm_ensemble_solve: the model chosen (0 = the first) */
	hrm_answer_verdict verdict; /* of the chosen answer */
} hrm_views_row;

/*
 * Reusable scratch (workspace, carry, buffers) for hrm_views_solve, grown
 * as needed and rebuilt when the model's shapes or the thread count
 * change.  May be NULL in hrm_views_solve (it then makes its own).
 */
typedef struct hrm_views_ctx hrm_views_ctx;

hrm_views_ctx *hrm_views_ctx_create(void);
void		hrm_views_ctx_free(hrm_views_ctx *ctx);
/* Bytes the scratch holds now. */
size_t		hrm_views_ctx_bytes(const hrm_views_ctx *ctx);

/*
 * Puzzles per hrm_infer call: chunk_rows / views, bounded by
 * HRM_VIEWS_BUFFER_BYTES of logits and tokens, at least 1.
 */
int			hrm_views_chunk_puzzles(const hrm_model *m, const hrm_views_opts *o);

/*
 * Solve n puzzles (inputs [n, T], puzzle_ids [n] or NULL for 0): answers
 * [n, T] and rows[n] (may be NULL).  Runs chunk by chunk (progress between
 * chunks); HRM_ERR_CANCELLED when a callback stops it, HRM_ERR_INVALID for
 * a bad view count or input, HRM_ERR_NOMEM when the scratch cannot be had.
 */
hrm_status	hrm_views_solve(const hrm_model *m, hrm_views_ctx *ctx, const int32_t *inputs,
							const int32_t *puzzle_ids, int64_t n, const hrm_views_opts *o,
							int32_t *answers, hrm_views_row *rows, hrm_error *err);

/* Models an ensemble may hold. */
#define HRM_ENSEMBLE_MAX 16

/*
 * An ensemble ("model bootstrapping"): k models of one layout (the same
 * seq_len and vocab_size; for instance checkpoints of one training run)
 * solve the same puzzles, each with o's views and its own vote, and the
 * members' answers are voted on with the views' rule (hrm_views_vote:
 * answers that obey the task's rules and keep the givens first, then the
 * answer given by the most members, then the certainty, then the lowest
 * member).  ctxs[k] (NULL, or NULL entries) gives each member its scratch;
 * members of one shape may share one.  rows[i] is the chosen member's row
 * with member set, views the views run by all members, agree and
 * valid_views summed over the members whose answer is the chosen one.
 * With k = 1 this is hrm_views_solve.  Progress runs over k * n puzzles.
 * HRM_ERR_INVALID for k outside 1..HRM_ENSEMBLE_MAX or members of other
 * shapes.
 */
hrm_status	hrm_ensemble_solve(const hrm_model *const *models, int k, hrm_views_ctx *const *ctxs,
							   const int32_t *inputs, const int32_t *puzzle_ids, int64_t n,
							   const hrm_views_opts *o, int32_t *answers, hrm_views_row *rows, hrm_error *err);

#endif							/* HRM_VIEWS_H */
