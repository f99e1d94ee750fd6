/*
 * sudoku.c — Sudoku codecs, exact solver, checker, generator and
 * augmentation (see sudoku.h).
 *
 * The solver works on digit-major bitboards with singles and locked-
 * candidate propagation and branches on the cell with the fewest
 * candidates (see "Solver" below; docs/tasks.md has measured speeds).
 */
#include "sudoku.h"

#include <stdio.h>
#include <string.h>

#define ALL_DIGITS 0x1FFu

/*
 * Units (9 rows, 9 columns, 9 boxes) for the checker.  Generated from the
 * definitions (row r: 9r+k; column c: 9k+c; box b: (3*(b/3) + k/3)*9 +
 * 3*(b%3) + k%3); test_tasks_sudoku.c re-derives and compares them.
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


/* Exposed to the engine tests through this accessor only. */
const uint8_t *hrm_sudoku_unit_table_(void);

const uint8_t *
hrm_sudoku_unit_table_(void)
{
	return &unit_cells[0][0];
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
 *
 * Digit-major bitboards: for each digit d and band b (rows 3b..3b+2),
 * pm[d][b] holds 27 bits, bit 9 * (row % 3) + column, set where d is
 * still possible; a solved cell keeps only its digit's bit.  unsolved[b]
 * marks the cells not yet placed.
 *
 * Propagation repeats until nothing changes:
 *   - naked singles: unsolved cells with one candidate (bit-sliced counts);
 *   - per digit and band, the 9 segments (row x box, 3 cells each) that
 *     can still hold the digit must contain a permutation (one segment per
 *     row and per box); segments in no such permutation are cleared.  The
 *     same for each stack with (band x column) segments.  This covers
 *     pointing and claiming (locked candidates) and a little more;
 *   - hidden singles in rows, columns and boxes;
 *   - a digit without a place in some unit, or a cell without a digit, is
 *     a contradiction.
 * Then it branches on a cell with the fewest candidates.
 * ------------------------------------------------------------------------ */

#define BAND_BITS	0x7FFFFFFu

typedef struct solver_state
{
	uint32_t	pm[9][3];
	uint32_t	unsolved[3];
	uint32_t	dirty;			/* digits whose bitboards changed since their rules ran */
} solver_state;

typedef struct solver_ctx
{
	int			max;
	int			count;
	uint64_t	guesses;
	uint8_t    *solution;		/* first solution, may be NULL */
	hrm_sudoku_poll_fn poll;	/* asked every 4096 guesses whether to stop */
	void	   *poll_arg;
	bool		stopped;
} solver_ctx;

/*
 * allowed_table[S]: for a 3x3 grid of segments (bit 3 * line + box) of
 * which S can hold a digit, the segments that belong to some placement of
 * the digit with one segment per line and per box, i.e. to one of the six
 * permutation patterns 0x111, 0x0a1, 0x10a, 0x062, 0x08c, 0x054 contained
 * in S.  Generated from that definition; test_tasks_sudoku.c re-derives it.
 */
static const uint16_t allowed_table[512] = {
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x054, 0x054, 0x054, 0x054, 0x000, 0x000, 0x000, 0x000, 0x054, 0x054, 0x054, 0x054,
	0x000, 0x000, 0x062, 0x062, 0x000, 0x000, 0x062, 0x062, 0x000, 0x000, 0x062, 0x062,
	0x000, 0x000, 0x062, 0x062, 0x000, 0x000, 0x062, 0x062, 0x054, 0x054, 0x076, 0x076,
	0x000, 0x000, 0x062, 0x062, 0x054, 0x054, 0x076, 0x076, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x08c, 0x08c, 0x08c, 0x08c,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x08c, 0x08c, 0x08c, 0x08c, 0x000, 0x0a1, 0x000, 0x0a1, 0x000, 0x0a1, 0x000, 0x0a1,
	0x000, 0x0a1, 0x000, 0x0a1, 0x08c, 0x0ad, 0x08c, 0x0ad, 0x000, 0x0a1, 0x000, 0x0a1,
	0x000, 0x0a1, 0x000, 0x0a1, 0x000, 0x0a1, 0x000, 0x0a1, 0x08c, 0x0ad, 0x08c, 0x0ad,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x08c, 0x08c, 0x08c, 0x08c, 0x000, 0x000, 0x000, 0x000, 0x054, 0x054, 0x054, 0x054,
	0x000, 0x000, 0x000, 0x000, 0x0dc, 0x0dc, 0x0dc, 0x0dc, 0x000, 0x0a1, 0x062, 0x0e3,
	0x000, 0x0a1, 0x062, 0x0e3, 0x000, 0x0a1, 0x062, 0x0e3, 0x08c, 0x0ad, 0x0ee, 0x0ef,
	0x000, 0x0a1, 0x062, 0x0e3, 0x054, 0x0f5, 0x076, 0x0f7, 0x000, 0x0a1, 0x062, 0x0e3,
	0x0dc, 0x0fd, 0x0fe, 0x0ff, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x10a, 0x10a, 0x000, 0x000, 0x10a, 0x10a, 0x000, 0x111, 0x000, 0x111,
	0x000, 0x111, 0x000, 0x111, 0x000, 0x111, 0x10a, 0x11b, 0x000, 0x111, 0x10a, 0x11b,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x10a, 0x10a,
	0x000, 0x000, 0x10a, 0x10a, 0x000, 0x111, 0x000, 0x111, 0x000, 0x111, 0x000, 0x111,
	0x000, 0x111, 0x10a, 0x11b, 0x000, 0x111, 0x10a, 0x11b, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x10a, 0x10a, 0x000, 0x000, 0x10a, 0x10a,
	0x000, 0x111, 0x000, 0x111, 0x054, 0x155, 0x054, 0x155, 0x000, 0x111, 0x10a, 0x11b,
	0x054, 0x155, 0x15e, 0x15f, 0x000, 0x000, 0x062, 0x062, 0x000, 0x000, 0x062, 0x062,
	0x000, 0x000, 0x16a, 0x16a, 0x000, 0x000, 0x16a, 0x16a, 0x000, 0x111, 0x062, 0x173,
	0x054, 0x155, 0x076, 0x177, 0x000, 0x111, 0x16a, 0x17b, 0x054, 0x155, 0x17e, 0x17f,
	0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x10a, 0x10a,
	0x08c, 0x08c, 0x18e, 0x18e, 0x000, 0x111, 0x000, 0x111, 0x000, 0x111, 0x000, 0x111,
	0x000, 0x111, 0x10a, 0x11b, 0x08c, 0x19d, 0x18e, 0x19f, 0x000, 0x0a1, 0x000, 0x0a1,
	0x000, 0x0a1, 0x000, 0x0a1, 0x000, 0x0a1, 0x10a, 0x1ab, 0x08c, 0x0ad, 0x18e, 0x1af,
	0x000, 0x1b1, 0x000, 0x1b1, 0x000, 0x1b1, 0x000, 0x1b1, 0x000, 0x1b1, 0x10a, 0x1bb,
	0x08c, 0x1bd, 0x18e, 0x1bf, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000, 0x000,
	0x000, 0x000, 0x10a, 0x10a, 0x08c, 0x08c, 0x18e, 0x18e, 0x000, 0x111, 0x000, 0x111,
	0x054, 0x155, 0x054, 0x155, 0x000, 0x111, 0x10a, 0x11b, 0x0dc, 0x1dd, 0x1de, 0x1df,
	0x000, 0x0a1, 0x062, 0x0e3, 0x000, 0x0a1, 0x062, 0x0e3, 0x000, 0x0a1, 0x16a, 0x1eb,
	0x08c, 0x0ad, 0x1ee, 0x1ef, 0x000, 0x1b1, 0x062, 0x1f3, 0x054, 0x1f5, 0x076, 0x1f7,
	0x000, 0x1b1, 0x16a, 0x1fb, 0x0dc, 0x1fd, 0x1fe, 0x1ff,
};

/* Exposed to the engine tests through this accessor only. */
const uint16_t *hrm_sudoku_allowed_table_(void);

const uint16_t *
hrm_sudoku_allowed_table_(void)
{
	return allowed_table;
}

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

static inline uint32_t
row_mask(int r)					/* row r (0..2) of a band */
{
	return 0x1FFu << (9 * r);
}

static inline uint32_t
col_mask(int c)					/* column c (0..8) within a band */
{
	return 0x40201u << c;
}

static inline uint32_t
box_mask(int k)					/* box k (0..2) of a band */
{
	return 0x1C0E07u << (3 * k);
}

/*
 * Occupancy of the three 3-cell groups of each row of a band: bit
 * 3 * row + group is set when that group has a bit of p.
 */
static inline unsigned
band_segments(uint32_t p)
{
	uint32_t	q = (p | (p >> 1) | (p >> 2)) & 0x1249249u;	/* bit 3j: group j occupied */
	unsigned	seg = 0;

	for (int j = 0; j < 9; j++)
		seg |= ((q >> (3 * j)) & 1u) << j;
	return seg;
}

/* The cells of the segments in mask (bit 3 * row + group) of a band. */
static inline uint32_t
segment_cells(unsigned mask)
{
	uint32_t	cells = 0;

	while (mask)
	{
		int			j = __builtin_ctz(mask);

		mask &= mask - 1;
		cells |= 0x7u << (3 * j);
	}
	return cells;
}

/* Place digit d (0..8) at bit i of band b; the caller checked it is allowed. */
static inline void
assign(solver_state *s, int d, int b, int i)
{
	uint32_t	bit = 1u << i;
	int			c = i % 9;

	s->unsolved[b] &= ~bit;
	for (int e = 0; e < 9; e++)
	{
		if (s->pm[e][b] & bit)
		{
			s->pm[e][b] &= ~bit;
			s->dirty |= 1u << e;
		}
	}
	s->pm[d][b] &= ~(row_mask(i / 9) | box_mask(c / 3));
	s->pm[d][b] |= bit;
	for (int o = 0; o < 3; o++)
		if (o != b)
			s->pm[d][o] &= ~col_mask(c);
	s->dirty |= 1u << d;
}

/* Place digit d (1..9) in cell (0..80); false if it is not a candidate. */
static bool
place(solver_state *s, int cell, int d)
{
	int			b = cell / 27,
				i = cell % 27;

	if (!(s->pm[d - 1][b] & (1u << i)))
		return false;
	if (s->unsolved[b] & (1u << i))
		assign(s, d - 1, b, i);
	return true;
}

static void
state_init(solver_state *s)
{
	for (int d = 0; d < 9; d++)
		for (int b = 0; b < 3; b++)
			s->pm[d][b] = BAND_BITS;
	for (int b = 0; b < 3; b++)
		s->unsolved[b] = BAND_BITS;
	s->dirty = 0x1FF;
}

/* Apply the band and stack segment rules to digit d; -1 contradiction, 1 changed. */
static int
segment_rules(solver_state *s, int d)
{
	int			changed = 0;
	uint32_t   *pm = s->pm[d];

	/* bands: segments (row r, box k) = bit 3r + k, cells 0x7 << (9r + 3k) */
	for (int b = 0; b < 3; b++)
	{
		unsigned	seg = band_segments(pm[b]);
		unsigned	ok = allowed_table[seg];

		if (ok == 0)
			return -1;
		if (ok != seg)
		{
			pm[b] &= ~segment_cells(seg & ~ok);
			changed = 1;
		}
	}
	/* stacks: segments (band b, column c of the stack) = bit 3b + c */
	for (int st = 0; st < 3; st++)
	{
		unsigned	seg = 0,
					ok;

		for (int b = 0; b < 3; b++)
		{
			uint32_t	x = pm[b] >> (3 * st);
			uint32_t	cols = (x | (x >> 9) | (x >> 18)) & 0x7u;

			seg |= cols << (3 * b);
		}
		ok = allowed_table[seg];
		if (ok == 0)
			return -1;
		if (ok != seg)
		{
			unsigned	drop = seg & ~ok;

			while (drop)
			{
				int			j = __builtin_ctz(drop);

				drop &= drop - 1;
				pm[j / 3] &= ~col_mask(3 * st + j % 3);
			}
			changed = 1;
		}
	}
	if (changed)
		s->dirty |= 1u << d;
	return changed;
}

/* Hidden singles of digit d in rows, columns and boxes; -1, 0 or 1 as above. */
static int
hidden_singles(solver_state *s, int d)
{
	int			changed = 0;
	uint32_t	one = 0,
				two = 0,
				single_cols;

	for (int b = 0; b < 3; b++)
	{
		uint32_t	p = s->pm[d][b];

		for (int r = 0; r < 3; r++)
		{
			uint32_t	x = p & row_mask(r);
			uint32_t	row = x >> (9 * r);

			if (x == 0)
				return -1;
			two |= one & row;
			one |= row;
			if ((x & (x - 1)) == 0 && (s->unsolved[b] & x))
			{
				assign(s, d, b, __builtin_ctz(x));
				changed = 1;
			}
		}
		for (int k = 0; k < 3; k++)
		{
			uint32_t	x = s->pm[d][b] & box_mask(k);

			if (x == 0)
				return -1;
			if ((x & (x - 1)) == 0 && (s->unsolved[b] & x))
			{
				assign(s, d, b, __builtin_ctz(x));
				changed = 1;
			}
		}
	}
	if (one != 0x1FF)
		return -1;				/* a column without a place for d */
	single_cols = one & ~two;
	while (single_cols)
	{
		int			c = __builtin_ctz(single_cols);

		single_cols &= single_cols - 1;
		for (int b = 0; b < 3; b++)
		{
			uint32_t	x = s->pm[d][b] & col_mask(c);

			if (x != 0)
			{
				if (s->unsolved[b] & x)
				{
					assign(s, d, b, __builtin_ctz(x));
					changed = 1;
				}
				break;
			}
		}
	}
	return changed;
}

/* Naked singles; -1, 0 or 1 as above. */
static int
naked_singles(solver_state *s)
{
	int			changed = 0;

	for (int b = 0; b < 3; b++)
	{
		uint32_t	one = 0,
					two = 0,
					singles;

		for (int d = 0; d < 9; d++)
		{
			uint32_t	m = s->pm[d][b] & s->unsolved[b];

			two |= one & m;
			one |= m;
		}
		if (s->unsolved[b] & ~one)
			return -1;
		singles = s->unsolved[b] & ~two;
		while (singles)
		{
			int			i = __builtin_ctz(singles);
			uint32_t	bit = 1u << i;
			int			d = 0;

			singles &= singles - 1;
			/* an earlier placement in this loop may have taken the digit */
			while (d < 9 && !(s->pm[d][b] & bit))
				d++;
			if (d == 9)
				return -1;
			assign(s, d, b, i);
			changed = 1;
		}
	}
	return changed;
}

static bool
propagate(solver_state *s)
{
	while (s->dirty)
	{
		uint32_t	todo;

		if (naked_singles(s) < 0)
			return false;
		if ((s->unsolved[0] | s->unsolved[1] | s->unsolved[2]) == 0)
			return true;
		todo = s->dirty;
		s->dirty = 0;
		while (todo)
		{
			int			d = __builtin_ctz(todo);

			todo &= todo - 1;
			if (segment_rules(s, d) < 0 || hidden_singles(s, d) < 0)
				return false;
		}
	}
	return true;
}

/* Cell values of a solved state. */
static void
state_values(const solver_state *s, uint8_t out[HRM_SUDOKU_CELLS])
{
	for (int d = 0; d < 9; d++)
		for (int b = 0; b < 3; b++)
		{
			uint32_t	m = s->pm[d][b] & ~s->unsolved[b];

			while (m)
			{
				int			i = __builtin_ctz(m);

				m &= m - 1;
				out[b * 27 + i] = (uint8_t) (d + 1);
			}
		}
}

/* Depth-first search below a propagated state. */
static void
search(solver_state *s, solver_ctx *ctx)
{
	int			best_b = -1,
				best_i = -1,
				best_n = 10,
				best_score = -1;
	unsigned	mask = 0;

	if ((s->unsolved[0] | s->unsolved[1] | s->unsolved[2]) == 0)
	{
		if (ctx->count == 0 && ctx->solution != NULL)
			state_values(s, ctx->solution);
		ctx->count++;
		return;
	}
	/*
	 * Prefer a cell with exactly two candidates (bit-sliced counting),
	 * and among those the one whose digits are still open in the most
	 * unsolved peers: either branch then removes the most candidates.
	 * On the hardest collections this halves the guesses of taking the
	 * first such cell.
	 */
	for (int b = 0; b < 3; b++)
	{
		uint32_t	one = 0,
					two = 0,
					three = 0,
					pairs;

		for (int d = 0; d < 9; d++)
		{
			uint32_t	m = s->pm[d][b] & s->unsolved[b];

			three |= two & m;
			two |= one & m;
			one |= m;
		}
		pairs = two & ~three & s->unsolved[b];
		while (pairs)
		{
			int			i = __builtin_ctz(pairs),
						c = i % 9,
						score = 0;
			uint32_t	peers = row_mask(i / 9) | box_mask(c / 3);

			pairs &= pairs - 1;
			for (int d = 0; d < 9; d++)
			{
				if (!(s->pm[d][b] & (1u << i)))
					continue;
				for (int o = 0; o < 3; o++)
					score += __builtin_popcount(s->pm[d][o] & s->unsolved[o] &
												(o == b ? peers : col_mask(c)));
			}
			if (score > best_score)
			{
				best_score = score;
				best_b = b;
				best_i = i;
				best_n = 2;
			}
		}
	}
	if (best_n > 2)
	{
		for (int b = 0; b < 3; b++)
		{
			uint32_t	u = s->unsolved[b];

			while (u)
			{
				int			i = __builtin_ctz(u),
							n = 0;

				u &= u - 1;
				for (int d = 0; d < 9; d++)
					n += (s->pm[d][b] >> i) & 1;
				if (n < best_n)
				{
					best_n = n;
					best_b = b;
					best_i = i;
				}
			}
		}
	}
	for (int d = 0; d < 9; d++)
		if (s->pm[d][best_b] & (1u << best_i))
			mask |= 1u << d;

	while (mask && ctx->count < ctx->max && !ctx->stopped)
	{
		solver_state child = *s;
		int			d = __builtin_ctz(mask);

		mask &= mask - 1;
		ctx->guesses++;
		if (ctx->poll != NULL && (ctx->guesses & 4095) == 0 && ctx->poll(ctx->poll_arg))
		{
			ctx->stopped = true;
			return;
		}
		assign(&child, d, best_b, best_i);
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

/*
 * Random complete grid: depth-first fill, always at the empty cell with the
 * fewest allowed digits (first such cell in row-major order), trying its
 * digits in random order.  Deliberately independent of the solver above,
 * so that tuning the solver never changes generated puzzles.
 */
static bool
fill_random(hrm_rng *rng, uint8_t grid[HRM_SUDOKU_CELLS], uint16_t rows[9], uint16_t cols[9],
			uint16_t boxes[9], int empty)
{
	int			best = -1,
				best_n = 10;
	unsigned	allowed = 0;
	int			digits[9],
				nd = 0;

	if (empty == 0)
		return true;
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		int			r = i / 9,
					c = i % 9,
					b = (r / 3) * 3 + c / 3,
					n;
		unsigned	m;

		if (grid[i] != 0)
			continue;
		m = ALL_DIGITS & ~(rows[r] | cols[c] | boxes[b]);
		n = popcount16(m);
		if (n < best_n)
		{
			best_n = n;
			best = i;
			allowed = m;
			if (n <= 1)
				break;
		}
	}
	if (best_n == 0)
		return false;
	while (allowed)
	{
		digits[nd++] = lowest_digit(allowed);
		allowed &= allowed - 1;
	}
	hrm_rng_shuffle_int(rng, digits, nd);
	for (int k = 0; k < nd; k++)
	{
		int			r = best / 9,
					c = best % 9,
					b = (r / 3) * 3 + c / 3;
		uint16_t	bit = (uint16_t) (1u << (digits[k] - 1));

		grid[best] = (uint8_t) digits[k];
		rows[r] |= bit;
		cols[c] |= bit;
		boxes[b] |= bit;
		if (fill_random(rng, grid, rows, cols, boxes, empty - 1))
			return true;
		rows[r] &= (uint16_t) ~bit;
		cols[c] &= (uint16_t) ~bit;
		boxes[b] &= (uint16_t) ~bit;
		grid[best] = 0;
	}
	return false;
}

void
hrm_sudoku_random_solution(hrm_rng *rng, uint8_t grid[HRM_SUDOKU_CELLS])
{
	uint16_t	rows[9] = {0},
				cols[9] = {0},
				boxes[9] = {0};

	memset(grid, 0, HRM_SUDOKU_CELLS);
	/* the empty grid always has a completion, so this returns true */
	fill_random(rng, grid, rows, cols, boxes, HRM_SUDOKU_CELLS);
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
	int			b = cell / 27;
	uint32_t	bit = 1u << (cell % 27);

	if (!state_load(&s, puzzle) || !(s.unsolved[b] & bit))
		return true;			/* cannot happen for a generated grid */
	s.pm[v - 1][b] &= ~bit;
	ctx.max = 1;
	if (propagate(&s))
		search(&s, &ctx);
	return ctx.count == 0;
}

/* Rounds of local search when the greedy pass stops short of the target. */
#define LOCAL_SEARCH_ROUNDS 20

/*
 * Greedy pass: try to blank the givens of puzzle in random order, keeping
 * each removal that leaves the solution unique, never touching cell skip,
 * until made reaches blanks.  Returns the new blank count.
 */
static int
remove_greedily(hrm_rng *rng, uint8_t puzzle[HRM_SUDOKU_CELLS], int made, int blanks, int skip)
{
	int			order[HRM_SUDOKU_CELLS];
	int			n = 0;

	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		if (puzzle[i] != 0 && i != skip)
			order[n++] = i;
	hrm_rng_shuffle_int(rng, order, n);
	for (int k = 0; k < n && made < blanks; k++)
	{
		int			cell = order[k];
		int			v = puzzle[cell];

		puzzle[cell] = 0;
		if (unique_without(puzzle, cell, v))
			made++;
		else
			puzzle[cell] = (uint8_t) v;
	}
	return made;
}

bool
hrm_sudoku_generate_attempt(hrm_rng *rng, int blanks, uint8_t puzzle[HRM_SUDOKU_CELLS],
							uint8_t solution[HRM_SUDOKU_CELLS])
{
	int			made;

	hrm_sudoku_random_solution(rng, solution);
	memcpy(puzzle, solution, HRM_SUDOKU_CELLS);
	made = remove_greedily(rng, puzzle, 0, blanks, -1);

	/*
	 * The greedy pass ends at a minimal puzzle, usually with 54 to 58
	 * blanks.  To go further, put one blank back and blank greedily again;
	 * keep the result unless it has fewer blanks.
	 */
	for (int round = 0; round < LOCAL_SEARCH_ROUNDS && made < blanks; round++)
	{
		uint8_t		saved[HRM_SUDOKU_CELLS];
		int			blank_cells[HRM_SUDOKU_CELLS];
		int			nb = 0,
					cell,
					now;

		for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
			if (puzzle[i] == 0)
				blank_cells[nb++] = i;
		if (nb == 0)
			break;
		memcpy(saved, puzzle, HRM_SUDOKU_CELLS);
		cell = blank_cells[hrm_rng_below(rng, (uint64_t) nb)];
		puzzle[cell] = solution[cell];
		now = remove_greedily(rng, puzzle, made - 1, blanks, cell);
		if (now < made)
			memcpy(puzzle, saved, HRM_SUDOKU_CELLS);
		else
			made = now;
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
