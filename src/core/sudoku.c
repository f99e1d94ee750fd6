/*
 * sudoku.c — Sudoku codecs, exact solver, checker, generator and
 * augmentation (see sudoku.h).
 *
 * The solver keeps a 9-bit candidate mask per cell.  Placing a digit
 * removes it from the cell's 20 peers (naked singles cascade through a
 * queue); then each of the 27 units is scanned for digits with exactly one
 * possible cell (hidden singles) or none (contradiction).  When
 * propagation stalls it branches on an unsolved cell with the fewest
 * candidates.  That is enough for the hardest public collections at tens
 * of thousands of puzzles per second (docs/tasks.md has the numbers).
 */
#include "sudoku.h"

#include <stdio.h>
#include <string.h>

#define ALL_DIGITS 0x1FFu

/*
 * Units (9 rows, 9 columns, 9 boxes) and the 20 peers of every cell.
 * Generated from the definitions (row r: 9r+k; column c: 9k+c; box b:
 * (3*(b/3) + k/3)*9 + 3*(b%3) + k%3); test_tasks_sudoku.c re-derives and
 * compares them.
 */
static const uint8_t unit_cells[27][9] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8},
	{9, 10, 11, 12, 13, 14, 15, 16, 17},
	{18, 19, 20, 21, 22, 23, 24, 25, 26},
	{27, 28, 29, 30, 31, 32, 33, 34, 35},
	{36, 37, 38, 39, 40, 41, 42, 43, 44},
	{45, 46, 47, 48, 49, 50, 51, 52, 53},
	{54, 55, 56, 57, 58, 59, 60, 61, 62},
	{63, 64, 65, 66, 67, 68, 69, 70, 71},
	{72, 73, 74, 75, 76, 77, 78, 79, 80},
	{0, 9, 18, 27, 36, 45, 54, 63, 72},
	{1, 10, 19, 28, 37, 46, 55, 64, 73},
	{2, 11, 20, 29, 38, 47, 56, 65, 74},
	{3, 12, 21, 30, 39, 48, 57, 66, 75},
	{4, 13, 22, 31, 40, 49, 58, 67, 76},
	{5, 14, 23, 32, 41, 50, 59, 68, 77},
	{6, 15, 24, 33, 42, 51, 60, 69, 78},
	{7, 16, 25, 34, 43, 52, 61, 70, 79},
	{8, 17, 26, 35, 44, 53, 62, 71, 80},
	{0, 1, 2, 9, 10, 11, 18, 19, 20},
	{3, 4, 5, 12, 13, 14, 21, 22, 23},
	{6, 7, 8, 15, 16, 17, 24, 25, 26},
	{27, 28, 29, 36, 37, 38, 45, 46, 47},
	{30, 31, 32, 39, 40, 41, 48, 49, 50},
	{33, 34, 35, 42, 43, 44, 51, 52, 53},
	{54, 55, 56, 63, 64, 65, 72, 73, 74},
	{57, 58, 59, 66, 67, 68, 75, 76, 77},
	{60, 61, 62, 69, 70, 71, 78, 79, 80},
};

static const uint8_t cell_peers[81][20] = {
	{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 19, 20, 27, 36, 45, 54, 63, 72},
	{0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 19, 20, 28, 37, 46, 55, 64, 73},
	{0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 19, 20, 29, 38, 47, 56, 65, 74},
	{0, 1, 2, 4, 5, 6, 7, 8, 12, 13, 14, 21, 22, 23, 30, 39, 48, 57, 66, 75},
	{0, 1, 2, 3, 5, 6, 7, 8, 12, 13, 14, 21, 22, 23, 31, 40, 49, 58, 67, 76},
	{0, 1, 2, 3, 4, 6, 7, 8, 12, 13, 14, 21, 22, 23, 32, 41, 50, 59, 68, 77},
	{0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 24, 25, 26, 33, 42, 51, 60, 69, 78},
	{0, 1, 2, 3, 4, 5, 6, 8, 15, 16, 17, 24, 25, 26, 34, 43, 52, 61, 70, 79},
	{0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 24, 25, 26, 35, 44, 53, 62, 71, 80},
	{0, 1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 27, 36, 45, 54, 63, 72},
	{0, 1, 2, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 28, 37, 46, 55, 64, 73},
	{0, 1, 2, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 29, 38, 47, 56, 65, 74},
	{3, 4, 5, 9, 10, 11, 13, 14, 15, 16, 17, 21, 22, 23, 30, 39, 48, 57, 66, 75},
	{3, 4, 5, 9, 10, 11, 12, 14, 15, 16, 17, 21, 22, 23, 31, 40, 49, 58, 67, 76},
	{3, 4, 5, 9, 10, 11, 12, 13, 15, 16, 17, 21, 22, 23, 32, 41, 50, 59, 68, 77},
	{6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 24, 25, 26, 33, 42, 51, 60, 69, 78},
	{6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 24, 25, 26, 34, 43, 52, 61, 70, 79},
	{6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 25, 26, 35, 44, 53, 62, 71, 80},
	{0, 1, 2, 9, 10, 11, 19, 20, 21, 22, 23, 24, 25, 26, 27, 36, 45, 54, 63, 72},
	{0, 1, 2, 9, 10, 11, 18, 20, 21, 22, 23, 24, 25, 26, 28, 37, 46, 55, 64, 73},
	{0, 1, 2, 9, 10, 11, 18, 19, 21, 22, 23, 24, 25, 26, 29, 38, 47, 56, 65, 74},
	{3, 4, 5, 12, 13, 14, 18, 19, 20, 22, 23, 24, 25, 26, 30, 39, 48, 57, 66, 75},
	{3, 4, 5, 12, 13, 14, 18, 19, 20, 21, 23, 24, 25, 26, 31, 40, 49, 58, 67, 76},
	{3, 4, 5, 12, 13, 14, 18, 19, 20, 21, 22, 24, 25, 26, 32, 41, 50, 59, 68, 77},
	{6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 26, 33, 42, 51, 60, 69, 78},
	{6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 34, 43, 52, 61, 70, 79},
	{6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 35, 44, 53, 62, 71, 80},
	{0, 9, 18, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 45, 46, 47, 54, 63, 72},
	{1, 10, 19, 27, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 45, 46, 47, 55, 64, 73},
	{2, 11, 20, 27, 28, 30, 31, 32, 33, 34, 35, 36, 37, 38, 45, 46, 47, 56, 65, 74},
	{3, 12, 21, 27, 28, 29, 31, 32, 33, 34, 35, 39, 40, 41, 48, 49, 50, 57, 66, 75},
	{4, 13, 22, 27, 28, 29, 30, 32, 33, 34, 35, 39, 40, 41, 48, 49, 50, 58, 67, 76},
	{5, 14, 23, 27, 28, 29, 30, 31, 33, 34, 35, 39, 40, 41, 48, 49, 50, 59, 68, 77},
	{6, 15, 24, 27, 28, 29, 30, 31, 32, 34, 35, 42, 43, 44, 51, 52, 53, 60, 69, 78},
	{7, 16, 25, 27, 28, 29, 30, 31, 32, 33, 35, 42, 43, 44, 51, 52, 53, 61, 70, 79},
	{8, 17, 26, 27, 28, 29, 30, 31, 32, 33, 34, 42, 43, 44, 51, 52, 53, 62, 71, 80},
	{0, 9, 18, 27, 28, 29, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 54, 63, 72},
	{1, 10, 19, 27, 28, 29, 36, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 55, 64, 73},
	{2, 11, 20, 27, 28, 29, 36, 37, 39, 40, 41, 42, 43, 44, 45, 46, 47, 56, 65, 74},
	{3, 12, 21, 30, 31, 32, 36, 37, 38, 40, 41, 42, 43, 44, 48, 49, 50, 57, 66, 75},
	{4, 13, 22, 30, 31, 32, 36, 37, 38, 39, 41, 42, 43, 44, 48, 49, 50, 58, 67, 76},
	{5, 14, 23, 30, 31, 32, 36, 37, 38, 39, 40, 42, 43, 44, 48, 49, 50, 59, 68, 77},
	{6, 15, 24, 33, 34, 35, 36, 37, 38, 39, 40, 41, 43, 44, 51, 52, 53, 60, 69, 78},
	{7, 16, 25, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 44, 51, 52, 53, 61, 70, 79},
	{8, 17, 26, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 51, 52, 53, 62, 71, 80},
	{0, 9, 18, 27, 28, 29, 36, 37, 38, 46, 47, 48, 49, 50, 51, 52, 53, 54, 63, 72},
	{1, 10, 19, 27, 28, 29, 36, 37, 38, 45, 47, 48, 49, 50, 51, 52, 53, 55, 64, 73},
	{2, 11, 20, 27, 28, 29, 36, 37, 38, 45, 46, 48, 49, 50, 51, 52, 53, 56, 65, 74},
	{3, 12, 21, 30, 31, 32, 39, 40, 41, 45, 46, 47, 49, 50, 51, 52, 53, 57, 66, 75},
	{4, 13, 22, 30, 31, 32, 39, 40, 41, 45, 46, 47, 48, 50, 51, 52, 53, 58, 67, 76},
	{5, 14, 23, 30, 31, 32, 39, 40, 41, 45, 46, 47, 48, 49, 51, 52, 53, 59, 68, 77},
	{6, 15, 24, 33, 34, 35, 42, 43, 44, 45, 46, 47, 48, 49, 50, 52, 53, 60, 69, 78},
	{7, 16, 25, 33, 34, 35, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 53, 61, 70, 79},
	{8, 17, 26, 33, 34, 35, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 62, 71, 80},
	{0, 9, 18, 27, 36, 45, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 72, 73, 74},
	{1, 10, 19, 28, 37, 46, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 72, 73, 74},
	{2, 11, 20, 29, 38, 47, 54, 55, 57, 58, 59, 60, 61, 62, 63, 64, 65, 72, 73, 74},
	{3, 12, 21, 30, 39, 48, 54, 55, 56, 58, 59, 60, 61, 62, 66, 67, 68, 75, 76, 77},
	{4, 13, 22, 31, 40, 49, 54, 55, 56, 57, 59, 60, 61, 62, 66, 67, 68, 75, 76, 77},
	{5, 14, 23, 32, 41, 50, 54, 55, 56, 57, 58, 60, 61, 62, 66, 67, 68, 75, 76, 77},
	{6, 15, 24, 33, 42, 51, 54, 55, 56, 57, 58, 59, 61, 62, 69, 70, 71, 78, 79, 80},
	{7, 16, 25, 34, 43, 52, 54, 55, 56, 57, 58, 59, 60, 62, 69, 70, 71, 78, 79, 80},
	{8, 17, 26, 35, 44, 53, 54, 55, 56, 57, 58, 59, 60, 61, 69, 70, 71, 78, 79, 80},
	{0, 9, 18, 27, 36, 45, 54, 55, 56, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74},
	{1, 10, 19, 28, 37, 46, 54, 55, 56, 63, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74},
	{2, 11, 20, 29, 38, 47, 54, 55, 56, 63, 64, 66, 67, 68, 69, 70, 71, 72, 73, 74},
	{3, 12, 21, 30, 39, 48, 57, 58, 59, 63, 64, 65, 67, 68, 69, 70, 71, 75, 76, 77},
	{4, 13, 22, 31, 40, 49, 57, 58, 59, 63, 64, 65, 66, 68, 69, 70, 71, 75, 76, 77},
	{5, 14, 23, 32, 41, 50, 57, 58, 59, 63, 64, 65, 66, 67, 69, 70, 71, 75, 76, 77},
	{6, 15, 24, 33, 42, 51, 60, 61, 62, 63, 64, 65, 66, 67, 68, 70, 71, 78, 79, 80},
	{7, 16, 25, 34, 43, 52, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 78, 79, 80},
	{8, 17, 26, 35, 44, 53, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 78, 79, 80},
	{0, 9, 18, 27, 36, 45, 54, 55, 56, 63, 64, 65, 73, 74, 75, 76, 77, 78, 79, 80},
	{1, 10, 19, 28, 37, 46, 54, 55, 56, 63, 64, 65, 72, 74, 75, 76, 77, 78, 79, 80},
	{2, 11, 20, 29, 38, 47, 54, 55, 56, 63, 64, 65, 72, 73, 75, 76, 77, 78, 79, 80},
	{3, 12, 21, 30, 39, 48, 57, 58, 59, 66, 67, 68, 72, 73, 74, 76, 77, 78, 79, 80},
	{4, 13, 22, 31, 40, 49, 57, 58, 59, 66, 67, 68, 72, 73, 74, 75, 77, 78, 79, 80},
	{5, 14, 23, 32, 41, 50, 57, 58, 59, 66, 67, 68, 72, 73, 74, 75, 76, 78, 79, 80},
	{6, 15, 24, 33, 42, 51, 60, 61, 62, 69, 70, 71, 72, 73, 74, 75, 76, 77, 79, 80},
	{7, 16, 25, 34, 43, 52, 60, 61, 62, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 80},
	{8, 17, 26, 35, 44, 53, 60, 61, 62, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79},
};

/* Exposed to the engine tests through these two accessors only. */
const uint8_t *hrm_sudoku_unit_table_(void);
const uint8_t *hrm_sudoku_peer_table_(void);

const uint8_t *
hrm_sudoku_unit_table_(void)
{
	return &unit_cells[0][0];
}

const uint8_t *
hrm_sudoku_peer_table_(void)
{
	return &cell_peers[0][0];
}

/* ------------------------------------------------------------------------
 * Codecs
 * ------------------------------------------------------------------------ */

hrm_status
hrm_sudoku_parse(const char *text, size_t len, uint8_t cells[HRM_SUDOKU_CELLS],
				 hrm_error *err)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) text[i];
		int			v;

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			continue;
		if (ch == '.' || ch == '0')
			v = 0;
		else if (ch >= '1' && ch <= '9')
			v = ch - '0';
		else if (ch >= 0x21 && ch < 0x7f)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"invalid character \"%c\" at position %zu: a Sudoku cell is a digit 1-9, or \".\" or \"0\" for a blank",
							ch, i + 1);
		else
			return hrm_fail(err, HRM_ERR_FORMAT,
							"invalid byte 0x%02x at position %zu: a Sudoku cell is a digit 1-9, or \".\" or \"0\" for a blank",
							ch, i + 1);
		if (n < HRM_SUDOKU_CELLS)
			cells[n] = (uint8_t) v;
		n++;
	}
	if (n != HRM_SUDOKU_CELLS)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"a Sudoku has 81 cells, the text has %zu", n);
	return HRM_OK;
}

void
hrm_sudoku_format(const uint8_t cells[HRM_SUDOKU_CELLS], char out[HRM_SUDOKU_CELLS + 1])
{
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		out[i] = (cells[i] >= 1 && cells[i] <= 9) ? (char) ('0' + cells[i]) : '.';
	out[HRM_SUDOKU_CELLS] = '\0';
}

void
hrm_sudoku_to_tokens(const uint8_t cells[HRM_SUDOKU_CELLS], int32_t tokens[HRM_SUDOKU_CELLS])
{
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		tokens[i] = (int32_t) cells[i] + 1;
}

hrm_status
hrm_sudoku_from_tokens(const int32_t *tokens, size_t n, uint8_t cells[HRM_SUDOKU_CELLS],
					   hrm_error *err)
{
	if (n != HRM_SUDOKU_CELLS)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"a Sudoku token sequence has 81 tokens, got %zu", n);
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		int32_t		t = tokens[i];

		if (t < 1 || t > 10)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"token %ld at position %d is not a Sudoku cell token (1 for a blank, 2..10 for digits 1..9)",
							(long) t, i + 1);
		cells[i] = (uint8_t) (t - 1);
	}
	return HRM_OK;
}

/* ------------------------------------------------------------------------
 * Solver
 * ------------------------------------------------------------------------ */

typedef struct solver_state
{
	uint16_t	cand[HRM_SUDOKU_CELLS]; /* candidate digits, bit d-1 */
	uint8_t		val[HRM_SUDOKU_CELLS];	/* 0 while unsolved */
	uint8_t		queue[HRM_SUDOKU_CELLS];	/* solved cells whose peers are not yet updated */
	int			qhead;
	int			qtail;
	int			unsolved;
} solver_state;

typedef struct solver_ctx
{
	int			max;
	int			count;
	uint64_t	guesses;
	uint8_t    *solution;		/* first solution, may be NULL */
	hrm_rng    *rng;			/* randomised branching order when not NULL */
	hrm_sudoku_poll_fn poll;	/* asked every 4096 guesses whether to stop */
	void	   *poll_arg;
	bool		stopped;
} solver_ctx;

static inline int
popcount16(unsigned x)
{
	return __builtin_popcount(x);
}

static inline int
lowest_digit(unsigned mask)
{
	return __builtin_ctz(mask) + 1;
}

/* Mark cell solved with the single digit in mask and queue it. */
static inline void
mark_solved(solver_state *s, int cell, unsigned mask)
{
	s->cand[cell] = (uint16_t) mask;
	s->val[cell] = (uint8_t) lowest_digit(mask);
	s->unsolved--;
	s->queue[s->qtail++] = (uint8_t) cell;
}

/* Place digit d (1..9) in cell; false if the digit is not a candidate there. */
static bool
place(solver_state *s, int cell, int d)
{
	unsigned	bit = 1u << (d - 1);

	if (s->val[cell] != 0)
		return s->val[cell] == d;
	if (!(s->cand[cell] & bit))
		return false;
	mark_solved(s, cell, bit);
	return true;
}

/* Empty grid: every digit possible everywhere. */
static void
state_init(solver_state *s)
{
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		s->cand[i] = ALL_DIGITS;
		s->val[i] = 0;
	}
	s->qhead = s->qtail = 0;
	s->unsolved = HRM_SUDOKU_CELLS;
}

/* Remove the digits in mask from cell; -1 on a contradiction, 1 if anything changed. */
static inline int
eliminate(solver_state *s, int cell, unsigned mask)
{
	unsigned	m = s->cand[cell];

	if (!(m & mask))
		return 0;
	m &= ~mask;
	if (m == 0)
		return -1;
	s->cand[cell] = (uint16_t) m;
	if (s->val[cell] == 0 && (m & (m - 1)) == 0)
		mark_solved(s, cell, m);
	return 1;
}

/*
 * Locked candidates.  A band (or stack) is 3 lines crossing 3 boxes in 9
 * segments of 3 cells.  A digit that, inside a box, fits only one of the
 * box's segments cannot appear in the rest of that line (pointing); a
 * digit that, along a line, fits only one segment cannot appear in the
 * rest of that box (claiming).  Returns -1 on a contradiction, 1 if any
 * candidate was removed, else 0.
 */
static int
locked_candidates(solver_state *s)
{
	int			changed = 0;

	for (int o = 0; o < 2; o++)
	{
		for (int band = 0; band < 3; band++)
		{
			unsigned	seg[3][3] = {{0}};	/* [line][box] */
			int			cell[3][3][3];

			for (int line = 0; line < 3; line++)
				for (int box = 0; box < 3; box++)
					for (int k = 0; k < 3; k++)
					{
						int			c = (o == 0)
							? (3 * band + line) * 9 + 3 * box + k
							: (3 * box + k) * 9 + 3 * band + line;

						cell[line][box][k] = c;
						seg[line][box] |= s->cand[c];
					}
			for (int line = 0; line < 3; line++)
				for (int box = 0; box < 3; box++)
				{
					unsigned	pointing = seg[line][box] &
						~(seg[(line + 1) % 3][box] | seg[(line + 2) % 3][box]);
					unsigned	claiming = seg[line][box] &
						~(seg[line][(box + 1) % 3] | seg[line][(box + 2) % 3]);

					for (int j = 1; j < 3; j++)
						for (int k = 0; k < 3; k++)
						{
							int			r;

							if (pointing && seg[line][(box + j) % 3] & pointing)
							{
								r = eliminate(s, cell[line][(box + j) % 3][k], pointing);
								if (r < 0)
									return -1;
								changed |= r;
							}
							if (claiming && seg[(line + j) % 3][box] & claiming)
							{
								r = eliminate(s, cell[(line + j) % 3][box][k], claiming);
								if (r < 0)
									return -1;
								changed |= r;
							}
						}
				}
		}
	}
	return changed;
}

/*
 * Propagate to a fixed point of naked and hidden singles and locked
 * candidates.  Returns false on a contradiction.
 */
static bool
propagate(solver_state *s)
{
	for (;;)
	{
		bool		changed = false;

		/* naked singles: drain the queue */
		while (s->qhead < s->qtail)
		{
			int			cell = s->queue[s->qhead++];
			unsigned	bit = s->cand[cell];
			const uint8_t *peers = cell_peers[cell];

			for (int k = 0; k < 20; k++)
			{
				int			p = peers[k];
				unsigned	m = s->cand[p];

				if (m & bit)
				{
					m &= ~bit;
					if (m == 0)
						return false;
					s->cand[p] = (uint16_t) m;
					if (s->val[p] == 0 && (m & (m - 1)) == 0)
						mark_solved(s, p, m);
				}
			}
		}
		s->qhead = s->qtail = 0;
		if (s->unsolved == 0)
			return true;

		/* hidden singles, and digits with no place in a unit */
		for (int u = 0; u < 27; u++)
		{
			const uint8_t *cells = unit_cells[u];
			unsigned	once = 0,
						twice = 0,
						exact;

			for (int k = 0; k < 9; k++)
			{
				unsigned	m = s->cand[cells[k]];

				twice |= once & m;
				once |= m;
			}
			if (once != ALL_DIGITS)
				return false;
			exact = once & ~twice;
			if (exact == 0)
				continue;
			for (int k = 0; k < 9; k++)
			{
				int			cell = cells[k];
				unsigned	m;

				if (s->val[cell] != 0)
					continue;
				m = s->cand[cell] & exact;
				if (m == 0)
					continue;
				if (m & (m - 1))
					return false;	/* one cell must hold two digits */
				mark_solved(s, cell, m);
				changed = true;
			}
		}
		if (!changed && s->qhead == s->qtail)
		{
			int			r = locked_candidates(s);

			if (r < 0)
				return false;
			if (r == 0)
				return true;
		}
	}
}

/* Depth-first search below a propagated state. */
static void
search(solver_state *s, solver_ctx *ctx)
{
	int			best = -1,
				best_n = 10;
	unsigned	mask;
	int			digits[9],
				nd = 0;

	if (s->unsolved == 0)
	{
		if (ctx->count == 0 && ctx->solution != NULL)
			memcpy(ctx->solution, s->val, HRM_SUDOKU_CELLS);
		ctx->count++;
		return;
	}
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		if (s->val[i] == 0)
		{
			int			n = popcount16(s->cand[i]);

			if (n < best_n)
			{
				best_n = n;
				best = i;
				if (n == 2)
					break;
			}
		}
	}
	mask = s->cand[best];
	while (mask)
	{
		digits[nd++] = lowest_digit(mask);
		mask &= mask - 1;
	}
	if (ctx->rng != NULL)
		hrm_rng_shuffle_int(ctx->rng, digits, nd);
	for (int k = 0; k < nd && ctx->count < ctx->max && !ctx->stopped; k++)
	{
		solver_state child = *s;

		ctx->guesses++;
		if (ctx->poll != NULL && (ctx->guesses & 4095) == 0 && ctx->poll(ctx->poll_arg))
		{
			ctx->stopped = true;
			return;
		}
		mark_solved(&child, best, 1u << (digits[k] - 1));
		if (propagate(&child))
			search(&child, ctx);
	}
}

/* Load givens into a fresh state; false if they conflict or are out of range. */
static bool
state_load(solver_state *s, const uint8_t puzzle[HRM_SUDOKU_CELLS])
{
	state_init(s);
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		if (puzzle[i] > 9)
			return false;
		if (puzzle[i] != 0 && !place(s, i, puzzle[i]))
			return false;
	}
	return true;
}

int
hrm_sudoku_count_poll(const uint8_t puzzle[HRM_SUDOKU_CELLS], int max,
					  uint8_t solution[HRM_SUDOKU_CELLS], uint64_t *guesses,
					  hrm_sudoku_poll_fn poll, void *poll_arg)
{
	solver_state s;
	solver_ctx	ctx = {0};

	ctx.max = max < 1 ? 1 : max;
	ctx.solution = solution;
	ctx.poll = poll;
	ctx.poll_arg = poll_arg;
	if (state_load(&s, puzzle) && propagate(&s))
		search(&s, &ctx);
	if (guesses)
		*guesses = ctx.guesses;
	return ctx.stopped ? -1 : ctx.count;
}

int
hrm_sudoku_count(const uint8_t puzzle[HRM_SUDOKU_CELLS], int max,
				 uint8_t solution[HRM_SUDOKU_CELLS], uint64_t *guesses)
{
	return hrm_sudoku_count_poll(puzzle, max, solution, guesses, NULL, NULL);
}

bool
hrm_sudoku_solve(const uint8_t puzzle[HRM_SUDOKU_CELLS], uint8_t solution[HRM_SUDOKU_CELLS])
{
	return hrm_sudoku_count(puzzle, 1, solution, NULL) == 1;
}

/* ------------------------------------------------------------------------
 * Checker
 * ------------------------------------------------------------------------ */

static const char *const digit_plural[10] = {
	"", "1s", "2s", "3s", "4s", "5s", "6s", "7s", "8s", "9s"
};

void
hrm_sudoku_check(const uint8_t puzzle[HRM_SUDOKU_CELLS], const uint8_t answer[HRM_SUDOKU_CELLS],
				 hrm_sudoku_verdict *v)
{
	static const char *const unit_kind[3] = {"row", "column", "box"};

	v->valid = true;
	v->keeps_givens = true;
	v->reason[0] = '\0';

	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		if (answer[i] < 1 || answer[i] > 9)
		{
			v->valid = false;
			snprintf(v->reason, sizeof(v->reason), "cell r%dc%d is blank", i / 9 + 1, i % 9 + 1);
			break;
		}
	}
	if (v->valid)
	{
		for (int u = 0; u < 27 && v->valid; u++)
		{
			int			seen[10];

			for (int d = 0; d < 10; d++)
				seen[d] = -1;
			for (int k = 0; k < 9; k++)
			{
				int			cell = unit_cells[u][k];
				int			d = answer[cell];

				if (seen[d] >= 0)
				{
					int			a = seen[d];

					v->valid = false;
					snprintf(v->reason, sizeof(v->reason),
							 "%s %d has two %s (r%dc%d and r%dc%d)",
							 unit_kind[u / 9], u % 9 + 1, digit_plural[d],
							 a / 9 + 1, a % 9 + 1, cell / 9 + 1, cell % 9 + 1);
					break;
				}
				seen[d] = cell;
			}
		}
	}
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		if (puzzle[i] >= 1 && puzzle[i] <= 9 && answer[i] != puzzle[i])
		{
			v->keeps_givens = false;
			if (v->valid)
			{
				if (answer[i] >= 1 && answer[i] <= 9)
					snprintf(v->reason, sizeof(v->reason),
							 "cell r%dc%d changes the given %d to %d",
							 i / 9 + 1, i % 9 + 1, puzzle[i], answer[i]);
				else
					snprintf(v->reason, sizeof(v->reason),
							 "cell r%dc%d blanks the given %d",
							 i / 9 + 1, i % 9 + 1, puzzle[i]);
			}
			break;
		}
	}
}

/* ------------------------------------------------------------------------
 * Generator
 * ------------------------------------------------------------------------ */

void
hrm_sudoku_random_solution(hrm_rng *rng, uint8_t grid[HRM_SUDOKU_CELLS])
{
	solver_state s;
	solver_ctx	ctx = {0};

	ctx.max = 1;
	ctx.solution = grid;
	ctx.rng = rng;
	state_init(&s);
	search(&s, &ctx);
	/* the empty grid always has a solution; ctx.count == 1 here */
}

/*
 * True when the puzzle (whose solution is unique with cell = v) stays
 * unique after blanking cell: no solution has another digit there.
 */
static bool
unique_without(const uint8_t puzzle[HRM_SUDOKU_CELLS], int cell, int v)
{
	solver_state s;
	solver_ctx	ctx = {0};

	if (!state_load(&s, puzzle))
		return true;			/* cannot happen for a generated grid */
	if (s.val[cell] != 0)
		return true;
	s.cand[cell] &= (uint16_t) ~(1u << (v - 1));
	if (s.cand[cell] == 0)
		return true;
	if ((s.cand[cell] & (s.cand[cell] - 1)) == 0)
		mark_solved(&s, cell, s.cand[cell]);
	ctx.max = 1;
	if (propagate(&s))
		search(&s, &ctx);
	return ctx.count == 0;
}

bool
hrm_sudoku_generate_attempt(hrm_rng *rng, int blanks, uint8_t puzzle[HRM_SUDOKU_CELLS],
							uint8_t solution[HRM_SUDOKU_CELLS])
{
	int			order[HRM_SUDOKU_CELLS];
	int			made = 0;

	hrm_sudoku_random_solution(rng, solution);
	memcpy(puzzle, solution, HRM_SUDOKU_CELLS);
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		order[i] = i;
	hrm_rng_shuffle_int(rng, order, HRM_SUDOKU_CELLS);

	for (int k = 0; k < HRM_SUDOKU_CELLS && made < blanks; k++)
	{
		int			cell = order[k];
		int			v = puzzle[cell];

		puzzle[cell] = 0;
		/*
		 * With four or fewer blanks no second solution can exist unless
		 * the blanks form a swappable rectangle; check every time anyway,
		 * it is cheap while most cells are given.
		 */
		if (unique_without(puzzle, cell, v))
			made++;
		else
			puzzle[cell] = (uint8_t) v;
	}
	return made == blanks;
}

hrm_status
hrm_sudoku_generate(hrm_rng *rng, int blanks, int max_attempts,
					uint8_t puzzle[HRM_SUDOKU_CELLS], uint8_t solution[HRM_SUDOKU_CELLS],
					int *attempts, hrm_error *err)
{
	int			a;

	if (attempts)
		*attempts = 0;
	if (blanks < 0 || blanks > HRM_SUDOKU_MAX_BLANKS)
		return hrm_fail(err, HRM_ERR_INVALID,
						"blanks must be between 0 and %d (a uniquely solvable Sudoku has at least 17 givens), got %d",
						HRM_SUDOKU_MAX_BLANKS, blanks);
	for (a = 1; a <= max_attempts; a++)
	{
		if (hrm_sudoku_generate_attempt(rng, blanks, puzzle, solution))
		{
			if (attempts)
				*attempts = a;
			return HRM_OK;
		}
	}
	if (attempts)
		*attempts = max_attempts;
	return hrm_fail(err, HRM_ERR_LIMIT,
					"no uniquely solvable Sudoku with %d blanks found in %d attempts",
					blanks, max_attempts);
}

/* ------------------------------------------------------------------------
 * Augmentation
 * ------------------------------------------------------------------------ */

void
hrm_sudoku_aug_identity(hrm_sudoku_aug *aug)
{
	for (int d = 0; d < 10; d++)
		aug->digit_map[d] = (uint8_t) d;
	aug->transpose = false;
	for (int i = 0; i < 9; i++)
		aug->row_perm[i] = aug->col_perm[i] = (uint8_t) i;
}

/* A band-respecting permutation: shuffle 3 bands, then the 3 lines of each. */
static void
draw_line_perm(hrm_rng *rng, uint8_t perm[9])
{
	int			bands[3] = {0, 1, 2};

	hrm_rng_shuffle_int(rng, bands, 3);
	for (int b = 0; b < 3; b++)
	{
		int			lines[3] = {0, 1, 2};

		hrm_rng_shuffle_int(rng, lines, 3);
		for (int k = 0; k < 3; k++)
			perm[b * 3 + k] = (uint8_t) (bands[b] * 3 + lines[k]);
	}
}

void
hrm_sudoku_aug_draw(hrm_rng *rng, hrm_sudoku_aug *aug)
{
	int			digits[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

	/* same order of draws as the reference: digits, transpose, rows, columns */
	hrm_rng_shuffle_int(rng, digits, 9);
	aug->digit_map[0] = 0;
	for (int d = 0; d < 9; d++)
		aug->digit_map[d + 1] = (uint8_t) digits[d];
	aug->transpose = hrm_rng_uniform(rng) < 0.5;
	draw_line_perm(rng, aug->row_perm);
	draw_line_perm(rng, aug->col_perm);
}

/* perm must be a permutation of 0..8 that sends each band (triple) into one band. */
static bool
line_perm_ok(const uint8_t perm[9])
{
	int			seen = 0;

	for (int b = 0; b < 3; b++)
	{
		int			band = perm[b * 3] / 3;

		for (int k = 0; k < 3; k++)
		{
			int			p = perm[b * 3 + k];

			if (p > 8 || (seen & (1 << p)) || p / 3 != band)
				return false;
			seen |= 1 << p;
		}
	}
	return true;
}

hrm_status
hrm_sudoku_aug_validate(const hrm_sudoku_aug *aug, hrm_error *err)
{
	int			seen = 0;

	if (aug->digit_map[0] != 0)
		return hrm_fail(err, HRM_ERR_INVALID, "the digit map must keep blanks (0) blank");
	for (int d = 1; d <= 9; d++)
	{
		int			m = aug->digit_map[d];

		if (m < 1 || m > 9 || (seen & (1 << m)))
			return hrm_fail(err, HRM_ERR_INVALID, "the digit map is not a permutation of 1..9");
		seen |= 1 << m;
	}
	if (!line_perm_ok(aug->row_perm))
		return hrm_fail(err, HRM_ERR_INVALID,
						"the row permutation must permute bands and the rows within bands");
	if (!line_perm_ok(aug->col_perm))
		return hrm_fail(err, HRM_ERR_INVALID,
						"the column permutation must permute stacks and the columns within stacks");
	return HRM_OK;
}

void
hrm_sudoku_aug_inverse(const hrm_sudoku_aug *aug, hrm_sudoku_aug *inv)
{
	uint8_t		rinv[9],
				cinv[9];
	hrm_sudoku_aug tmp;

	for (int i = 0; i < 9; i++)
	{
		rinv[aug->row_perm[i]] = (uint8_t) i;
		cinv[aug->col_perm[i]] = (uint8_t) i;
	}
	for (int d = 0; d < 10; d++)
		tmp.digit_map[aug->digit_map[d]] = (uint8_t) d;

	/*
	 * Forward: y[i][j] = map(x'[rp[i]][cp[j]]) with x' = x or x^T.
	 * Without transpose: x[a][b] = unmap(y[rinv[a]][cinv[b]]).
	 * With transpose: x[a][b] = x'[b][a] = unmap(y[rinv[b]][cinv[a]]),
	 * i.e. transpose y first, then rows by cinv and columns by rinv.
	 */
	tmp.transpose = aug->transpose;
	for (int i = 0; i < 9; i++)
	{
		tmp.row_perm[i] = aug->transpose ? cinv[i] : rinv[i];
		tmp.col_perm[i] = aug->transpose ? rinv[i] : cinv[i];
	}
	*inv = tmp;
}

void
hrm_sudoku_aug_apply_cells(const hrm_sudoku_aug *aug, const uint8_t in[HRM_SUDOKU_CELLS],
						   uint8_t out[HRM_SUDOKU_CELLS])
{
	uint8_t		src[HRM_SUDOKU_CELLS];

	if (aug->transpose)
	{
		for (int r = 0; r < 9; r++)
			for (int c = 0; c < 9; c++)
				src[r * 9 + c] = in[c * 9 + r];
	}
	else
		memcpy(src, in, HRM_SUDOKU_CELLS);
	for (int i = 0; i < 9; i++)
		for (int j = 0; j < 9; j++)
		{
			uint8_t		v = src[aug->row_perm[i] * 9 + aug->col_perm[j]];

			out[i * 9 + j] = v <= 9 ? aug->digit_map[v] : v;
		}
}

void
hrm_sudoku_aug_invert_cells(const hrm_sudoku_aug *aug, const uint8_t in[HRM_SUDOKU_CELLS],
							uint8_t out[HRM_SUDOKU_CELLS])
{
	hrm_sudoku_aug inv;

	hrm_sudoku_aug_inverse(aug, &inv);
	hrm_sudoku_aug_apply_cells(&inv, in, out);
}

/*
 * Token form: PAD 0 stays 0 and token t in 1..10 is cell value t - 1.
 * Values are carried as cell values offset by one so PAD survives.
 */
static hrm_status
tokens_transform(const hrm_sudoku_aug *aug, const int32_t *in, int32_t *out, hrm_error *err)
{
	uint8_t		cells[HRM_SUDOKU_CELLS];
	bool		pad[HRM_SUDOKU_CELLS];
	bool		any_pad = false;
	int32_t		padtok[HRM_SUDOKU_CELLS];

	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		int32_t		t = in[i];

		if (t < 0 || t > 10)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"token %ld at position %d is not a Sudoku token (0..10)",
							(long) t, i + 1);
		pad[i] = (t == 0);
		any_pad |= pad[i];
		cells[i] = pad[i] ? 0 : (uint8_t) (t - 1);
	}
	hrm_sudoku_aug_apply_cells(aug, cells, cells);
	if (any_pad)
	{
		/* move the PAD marks with the cells (the digit map does not touch them) */
		uint8_t		mark[HRM_SUDOKU_CELLS];
		hrm_sudoku_aug pos = *aug;

		for (int d = 0; d < 10; d++)
			pos.digit_map[d] = (uint8_t) d;
		for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
			mark[i] = pad[i] ? 1 : 0;
		hrm_sudoku_aug_apply_cells(&pos, mark, mark);
		for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
			padtok[i] = mark[i];
	}
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		out[i] = (any_pad && padtok[i]) ? 0 : (int32_t) cells[i] + 1;
	return HRM_OK;
}

hrm_status
hrm_sudoku_aug_apply_tokens(const hrm_sudoku_aug *aug, const int32_t *in, int32_t *out,
							hrm_error *err)
{
	return tokens_transform(aug, in, out, err);
}

hrm_status
hrm_sudoku_aug_invert_tokens(const hrm_sudoku_aug *aug, const int32_t *in, int32_t *out,
							 hrm_error *err)
{
	hrm_sudoku_aug inv;

	hrm_sudoku_aug_inverse(aug, &inv);
	return tokens_transform(&inv, in, out, err);
}

hrm_status
hrm_sudoku_augment_tokens(const int32_t *in, const int32_t *label,
						  int32_t *out_in, int32_t *out_label,
						  hrm_rng *rng, hrm_sudoku_aug *aug_out, hrm_error *err)
{
	hrm_sudoku_aug aug;
	hrm_status	st;
	int32_t		tmp_in[HRM_SUDOKU_CELLS];

	hrm_sudoku_aug_draw(rng, &aug);
	/* transform into a temporary so a failing label leaves out_in untouched */
	st = tokens_transform(&aug, in, tmp_in, err);
	if (st != HRM_OK)
		return st;
	if (label != NULL)
	{
		st = tokens_transform(&aug, label, out_label, err);
		if (st != HRM_OK)
			return st;
	}
	memcpy(out_in, tmp_in, sizeof(tmp_in));
	if (aug_out)
		*aug_out = aug;
	return HRM_OK;
}
