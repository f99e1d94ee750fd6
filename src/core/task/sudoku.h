/*
 * sudoku.h — the Sudoku task: text and token codecs, an exact solver and
 * solution counter, a rule checker, a generator of uniquely solvable
 * puzzles, and the reference dataset's augmentation with its inverse.
 *
 * Cells are uint8_t values 0..9 (0 = blank), 81 of them, row-major.
 *
 * Tokens follow the reference dataset (hrm-reference §3.2): PAD 0,
 * blank 1, digit d -> d + 1; vocabulary 11, sequence length 81.
 *
 * Text: 81 cells, row-major; '1'..'9' are digits, '.' or '0' a blank;
 * whitespace (space, tab, CR, LF) is ignored.  Formatting writes '.'
 * for blanks and no whitespace.
 *
 * Error positions in messages are 1-based (characters or tokens).
 */
#ifndef HRM_SUDOKU_H
#define HRM_SUDOKU_H

#include "hrm_common.h"
#include "rng.h"

#define HRM_SUDOKU_CELLS	81
#define HRM_SUDOKU_VOCAB	11
#define HRM_SUDOKU_PAD		0
#define HRM_SUDOKU_BLANK	1
/* A puzzle with a unique solution has at least 17 givens. */
#define HRM_SUDOKU_MAX_BLANKS 64

/* ---- codecs ---- */

/*
 * Parse text[0..len) into cells.  A character other than a digit, '.' or
 * whitespace is HRM_ERR_FORMAT (with its position); a cell count other
 * than 81 is HRM_ERR_SHAPE.
 */
hrm_status	hrm_sudoku_parse(const char *text, size_t len, uint8_t cells[HRM_SUDOKU_CELLS],
							 hrm_error *err);

/* 81 characters plus a NUL: digits, '.' for blanks. */
void		hrm_sudoku_format(const uint8_t cells[HRM_SUDOKU_CELLS],
							  char out[HRM_SUDOKU_CELLS + 1]);

/* Cells -> tokens (blank 1, digit d -> d + 1). */
void		hrm_sudoku_to_tokens(const uint8_t cells[HRM_SUDOKU_CELLS],
								 int32_t tokens[HRM_SUDOKU_CELLS]);

/*
 * Tokens -> cells.  n must be 81 (else HRM_ERR_SHAPE); every token must be
 * 1..10 (else HRM_ERR_FORMAT naming the first bad position).
 */
hrm_status	hrm_sudoku_from_tokens(const int32_t *tokens, size_t n,
								   uint8_t cells[HRM_SUDOKU_CELLS], hrm_error *err);

/* ---- exact solver ---- */

/*
 * Count the solutions of a puzzle, stopping at max (max >= 1).  Givens
 * that already conflict give 0.  When solution is not NULL and the count
 * is at least 1 it receives the first solution found.  guesses (may be
 * NULL) receives the number of branching decisions made, a difficulty
 * measure.  A cell value above 9 makes the puzzle unsolvable (0).
 */
int			hrm_sudoku_count(const uint8_t puzzle[HRM_SUDOKU_CELLS], int max,
							 uint8_t solution[HRM_SUDOKU_CELLS], uint64_t *guesses);

/*
 * As hrm_sudoku_count, with a poll callback called every 4096 guesses:
 * when it returns true the search stops and -1 is returned.  (The
 * search holds no resources, so the callback may also longjmp out.)
 */
typedef bool (*hrm_sudoku_poll_fn) (void *arg);

int			hrm_sudoku_count_poll(const uint8_t puzzle[HRM_SUDOKU_CELLS], int max,
								  uint8_t solution[HRM_SUDOKU_CELLS], uint64_t *guesses,
								  hrm_sudoku_poll_fn poll, void *poll_arg);

/* Solve: true and the (first) solution when there is one. */
bool		hrm_sudoku_solve(const uint8_t puzzle[HRM_SUDOKU_CELLS],
							 uint8_t solution[HRM_SUDOKU_CELLS]);

/* ---- rule checker ---- */

typedef struct hrm_sudoku_verdict
{
	bool		valid;			/* complete, and no row/column/box repeats a digit */
	bool		keeps_givens;	/* every given of the puzzle is unchanged */
	char		reason[96];		/* first violated rule; "" when valid and keeps_givens */
} hrm_sudoku_verdict;

/*
 * Check an answer against a puzzle.  Rules in order: no blank cell
 * ("cell r2c5 is blank"), rows, columns, boxes ("row 3 has two 7s (r3c2
 * and r3c8)"), then the givens ("cell r1c3 changes the given 5 to 6").
 * Rows, columns and boxes are numbered 1..9; boxes row-major.
 */
void		hrm_sudoku_check(const uint8_t puzzle[HRM_SUDOKU_CELLS],
							 const uint8_t answer[HRM_SUDOKU_CELLS],
							 hrm_sudoku_verdict *verdict);

/* ---- generator ---- */

/* A random complete grid (randomised depth-first fill of the empty grid). */
void		hrm_sudoku_random_solution(hrm_rng *rng, uint8_t grid[HRM_SUDOKU_CELLS]);

/*
 * One attempt: a random complete grid, then cells blanked in random order,
 * each removal kept only if the solution stays unique, until exactly
 * blanks cells are blank.  When that greedy pass reaches a minimal puzzle
 * first, up to 20 rounds of local search put one blank back and blank
 * greedily again.  Returns false when the target was not reached (the
 * caller tries again).  The outcome depends only on the generator state:
 * uniqueness is a fact, whatever solver decides it.
 */
bool		hrm_sudoku_generate_attempt(hrm_rng *rng, int blanks,
										uint8_t puzzle[HRM_SUDOKU_CELLS],
										uint8_t solution[HRM_SUDOKU_CELLS]);

/*
 * Up to max_attempts attempts.  HRM_ERR_INVALID for blanks outside
 * 0..64; HRM_ERR_LIMIT when every attempt failed.  attempts (may be NULL)
 * receives the number of attempts made.
 */
hrm_status	hrm_sudoku_generate(hrm_rng *rng, int blanks, int max_attempts,
								uint8_t puzzle[HRM_SUDOKU_CELLS],
								uint8_t solution[HRM_SUDOKU_CELLS],
								int *attempts, hrm_error *err);

/* ---- augmentation (reference build_sudoku_dataset.py semantics) ---- */

/*
 * The transform: transpose first (when set), then new cell (i, j) takes
 * old cell (row_perm[i], col_perm[j]), then digits are relabelled through
 * digit_map (digit_map[0] = 0 keeps blanks blank).  row_perm shuffles the
 * three bands and the rows within each band; col_perm the same for
 * stacks and columns.
 */
typedef struct hrm_sudoku_aug
{
	uint8_t		digit_map[10];
	bool		transpose;
	uint8_t		row_perm[9];
	uint8_t		col_perm[9];
} hrm_sudoku_aug;

void		hrm_sudoku_aug_identity(hrm_sudoku_aug *aug);

/* Draw a transform: digit permutation, transpose with probability 1/2, bands/rows, stacks/columns. */
void		hrm_sudoku_aug_draw(hrm_rng *rng, hrm_sudoku_aug *aug);

/* Check that aug holds valid permutations of the right structure. */
hrm_status	hrm_sudoku_aug_validate(const hrm_sudoku_aug *aug, hrm_error *err);

/* The inverse transform as a transform of its own (same structure). */
void		hrm_sudoku_aug_inverse(const hrm_sudoku_aug *aug, hrm_sudoku_aug *inv);

/* Apply to cells (in and out may alias). */
void		hrm_sudoku_aug_apply_cells(const hrm_sudoku_aug *aug,
									   const uint8_t in[HRM_SUDOKU_CELLS],
									   uint8_t out[HRM_SUDOKU_CELLS]);
void		hrm_sudoku_aug_invert_cells(const hrm_sudoku_aug *aug,
										const uint8_t in[HRM_SUDOKU_CELLS],
										uint8_t out[HRM_SUDOKU_CELLS]);

/*
 * Apply to 81 tokens (in and out may alias).  PAD (0) stays PAD, so
 * labels with ignored cells work; tokens outside 0..10 are HRM_ERR_FORMAT.
 */
hrm_status	hrm_sudoku_aug_apply_tokens(const hrm_sudoku_aug *aug, const int32_t *in,
										int32_t *out, hrm_error *err);
hrm_status	hrm_sudoku_aug_invert_tokens(const hrm_sudoku_aug *aug, const int32_t *in,
										 int32_t *out, hrm_error *err);

/*
 * Training entry point: draw one transform from rng and apply it to an
 * input sequence and its label (81 tokens each; label may be NULL, then
 * out_label is not touched).  aug_out (may be NULL) receives the
 * transform so a prediction can be mapped back with the invert call.
 */
hrm_status	hrm_sudoku_augment_tokens(const int32_t *in, const int32_t *label,
									  int32_t *out_in, int32_t *out_label,
									  hrm_rng *rng, hrm_sudoku_aug *aug_out,
									  hrm_error *err);

#endif							/* HRM_SUDOKU_H */
