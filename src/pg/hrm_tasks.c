/*-------------------------------------------------------------------------
 *
 * hrm_tasks.c
 *		SQL functions of the task toolkit: Sudoku, maze and ARC codecs,
 *		generators, the exact Sudoku solver, rule checkers, augmentation
 *		and the ARC-AGI JSON loader.
 *
 * Everything here is glue: the engine (src/core/task/sudoku.c, maze.c, arc.c,
 * grid.c) does the work on plain C arrays; this file converts SQL values,
 * maps engine errors onto SQLSTATEs and runs the set-returning functions.
 *
 * SQLSTATEs (docs/tasks.md has the full table):
 *   22P02 invalid_text_representation   a bad character or ragged maze text
 *   22026 string_data_length_mismatch   Sudoku text without 81 cells
 *   2202E array_subscript_error         wrong token count, grid not 2-D,
 *                                       ragged or empty JSON grid
 *   22P03 invalid_binary_representation a token sequence encode would not write
 *   22004 null_value_not_allowed        NULL inside an array
 *   22003 numeric_value_out_of_range    a colour outside 0..9
 *   54000 program_limit_exceeded        more than 30 rows/columns; a
 *                                       generator that gave up
 *   22023 invalid_parameter_value       bad knobs, transform ids, colour
 *                                       maps, or a maze without one S and G
 *   2203A/22039/2203C/22036/2203F       ARC JSON: missing key, not an array,
 *                                       not an object, not an integer,
 *                                       "id" not a string
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "hrm_pg.h"

#include "arc.h"
#include "grid.h"
#include "maze.h"
#include "sudoku.h"

/* Attempts (random complete grids) per generated Sudoku before giving up. */
#define SUDOKU_MAX_ATTEMPTS 200

/* Wall layouts per generated maze before giving up, and per engine call. */
#define MAZE_MAX_LAYOUTS 100000
#define MAZE_LAYOUT_CHUNK 100

PG_FUNCTION_INFO_V1(hrm_sudoku_encode_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_decode_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_solve_exact_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_count_solutions_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_check_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_generate_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_augment_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_augment_inverse_pg);
PG_FUNCTION_INFO_V1(hrm_sudoku_augmentation_pg);
PG_FUNCTION_INFO_V1(hrm_maze_encode_pg);
PG_FUNCTION_INFO_V1(hrm_maze_decode_pg);
PG_FUNCTION_INFO_V1(hrm_maze_solve_pg);
PG_FUNCTION_INFO_V1(hrm_maze_path_length_pg);
PG_FUNCTION_INFO_V1(hrm_maze_check_pg);
PG_FUNCTION_INFO_V1(hrm_maze_generate_pg);
PG_FUNCTION_INFO_V1(hrm_maze_transform_pg);
PG_FUNCTION_INFO_V1(hrm_maze_transform_inverse_pg);
PG_FUNCTION_INFO_V1(hrm_grid_transform_pg);
PG_FUNCTION_INFO_V1(hrm_grid_transform_inverse_pg);
PG_FUNCTION_INFO_V1(hrm_arc_permute_colors_pg);
PG_FUNCTION_INFO_V1(hrm_arc_color_perm_inverse_pg);
PG_FUNCTION_INFO_V1(hrm_arc_encode_pg);
PG_FUNCTION_INFO_V1(hrm_arc_decode_pg);
PG_FUNCTION_INFO_V1(hrm_arc_crop_pg);
PG_FUNCTION_INFO_V1(hrm_arc_augment_pg);
PG_FUNCTION_INFO_V1(hrm_arc_load_pg);
PG_FUNCTION_INFO_V1(hrm_arc_generate_pg);

/* ---------------------------------------------------------------------
 * Conversions
 * --------------------------------------------------------------------- */

/*
 * The int4 elements of a token array, flattened in row-major order (any
 * number of dimensions); NULL elements are an error.
 */
static int32 *
TokensFromArray(ArrayType *arr, int *n, const char *what)
{
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", what)));
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	return (int32 *) ARR_DATA_PTR(arr);
}

/* Check the token count of a sequence. */
static void
CheckTokenCount(int n, int expected, const char *what)
{
	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s have %d tokens, expected %d", what, n, expected)));
}

/* A 1-D int[] with lower bound 1. */
static ArrayType *
IntArray(const int32 *data, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int32GetDatum(data[i]);
	return construct_array(d, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
}

/* A 2-D int[][] rows x cols with lower bounds 1. */
static ArrayType *
IntMatrix(const int32 *data, int rows, int cols)
{
	int			dims[2] = {rows, cols};
	int			lbs[2] = {1, 1};
	Datum	   *d = palloc(sizeof(Datum) * Max(rows * cols, 1));

	for (int i = 0; i < rows * cols; i++)
		d[i] = Int32GetDatum(data[i]);
	return construct_md_array(d, NULL, 2, dims, lbs, INT4OID, sizeof(int32), true, TYPALIGN_INT);
}

/* A 2-D int[][] of a grid of uint8 cells. */
static ArrayType *
CellMatrix(const uint8_t *cells, int rows, int cols)
{
	int32	   *v = palloc(sizeof(int32) * Max(rows * cols, 1));

	for (int i = 0; i < rows * cols; i++)
		v[i] = cells[i];
	return IntMatrix(v, rows, cols);
}

/* The elements and shape of a two-dimensional int[][] without nulls. */
static int32 *
GridFromArray(ArrayType *arr, int *rows, int *cols, const char *what)
{
	if (ARR_NDIM(arr) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a two-dimensional array, not %d-dimensional", what,
						ARR_NDIM(arr)),
				 errhint("Write a grid as an array of rows, for example '{{1,2},{3,4}}'::int[][].")));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", what)));
	*rows = ARR_DIMS(arr)[0];
	*cols = ARR_DIMS(arr)[1];
	return (int32 *) ARR_DATA_PTR(arr);
}

/* An ARC grid (1..30 per side, colours 0..9) from an int[][]. */
static void
ArcGridFromArray(ArrayType *arr, hrm_arc_grid *g, const char *what)
{
	int			rows,
				cols;
	int32	   *v = GridFromArray(arr, &rows, &cols, what);

	if (rows > HRM_ARC_MAX || cols > HRM_ARC_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is %dx%d, an ARC grid is at most 30x30", what, rows, cols)));
	for (int i = 0; i < rows * cols; i++)
		if (v[i] < 0 || v[i] > 9)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s has colour %d at row %d, column %d, outside 0..9",
							what, v[i], i / cols + 1, i % cols + 1)));
	g->rows = rows;
	g->cols = cols;
	for (int i = 0; i < rows * cols; i++)
		g->cell[i] = (uint8_t) v[i];
}

/* A 10-colour permutation from an int[] of 10 elements (new colour of colour 0..9). */
static void
ColorPermFromArray(ArrayType *arr, uint8_t colors[HRM_ARC_COLORS])
{
	int			n;
	int32	   *v = TokensFromArray(arr, &n, "the colour map");
	hrm_error	err;

	if (ARR_NDIM(arr) != 1 || n != HRM_ARC_COLORS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a colour map is a one-dimensional array of 10 colours, got %d elements", n),
				 errhint("Element k (1-based) is the new colour of colour k - 1, for example '{0,2,1,3,4,5,6,7,8,9}' swaps colours 1 and 2.")));
	for (int c = 0; c < HRM_ARC_COLORS; c++)
	{
		if (v[c] < 0 || v[c] > 9)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("colour map element %d is %d, outside 0..9", c + 1, v[c])));
		colors[c] = (uint8_t) v[c];
	}
	if (hrm_arc_color_perm_validate(colors, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid colour map: %s", err.msg)));
}

/* Check a dihedral transform id. */
static void
CheckTransformId(int tid)
{
	if (tid < 0 || tid >= HRM_DIHEDRAL_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transform id %d is out of range", tid),
				 errhint("Dihedral transform ids are 0..7: identity, rotations by 90, 180 and 270 degrees counter-clockwise, left-right flip, up-down flip, transpose, anti-transpose.")));
}

/* Form a composite result from values (nulls marks SQL NULLs, may be NULL). */
static Datum
MakeRecord(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc;
	bool		no_nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls ? nulls : no_nulls));
}

/* ---------------------------------------------------------------------
 * Sudoku
 * --------------------------------------------------------------------- */

/* Parse Sudoku text; what names the argument in errors. */
static void
SudokuFromText(text *t, uint8_t cells[HRM_SUDOKU_CELLS], const char *what)
{
	hrm_error	err;
	hrm_status	st = hrm_sudoku_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), cells, &err);

	if (st == HRM_ERR_SHAPE)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_LENGTH_MISMATCH),
				 errmsg("invalid %s: %s", what, err.msg),
				 errhint("Write the 81 cells row by row; digits 1-9, and \".\" or \"0\" for blanks; whitespace is ignored.")));
	if (st != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid %s: %s", what, err.msg)));
}

static text *
SudokuToText(const uint8_t cells[HRM_SUDOKU_CELLS])
{
	char		buf[HRM_SUDOKU_CELLS + 1];

	hrm_sudoku_format(cells, buf);
	return cstring_to_text(buf);
}

/* Poll callback for long searches: lets query cancel interrupt the solver. */
static bool
SudokuPoll(void *arg)
{
	CHECK_FOR_INTERRUPTS();
	return false;
}

/* hrm_sudoku_encode(puzzle text) → int[]: 81 tokens, blank 1, digit d → d + 1. */
Datum
hrm_sudoku_encode_pg(PG_FUNCTION_ARGS)
{
	uint8_t		cells[HRM_SUDOKU_CELLS];
	int32		tokens[HRM_SUDOKU_CELLS];

	SudokuFromText(PG_GETARG_TEXT_PP(0), cells, "Sudoku text");
	hrm_sudoku_to_tokens(cells, tokens);
	PG_RETURN_ARRAYTYPE_P(IntArray(tokens, HRM_SUDOKU_CELLS));
}

/* hrm_sudoku_decode(tokens int[]) → text: the exact inverse of hrm_sudoku_encode. */
Datum
hrm_sudoku_decode_pg(PG_FUNCTION_ARGS)
{
	int			n;
	int32	   *tokens = TokensFromArray(PG_GETARG_ARRAYTYPE_P(0), &n, "Sudoku tokens");
	uint8_t		cells[HRM_SUDOKU_CELLS];
	hrm_error	err;

	CheckTokenCount(n, HRM_SUDOKU_CELLS, "Sudoku tokens");
	if (hrm_sudoku_from_tokens(tokens, n, cells, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid Sudoku tokens: %s", err.msg)));
	PG_RETURN_TEXT_P(SudokuToText(cells));
}

/* hrm_sudoku_solve_exact(puzzle text) → text: a solution, NULL if there is none. */
Datum
hrm_sudoku_solve_exact_pg(PG_FUNCTION_ARGS)
{
	uint8_t		puzzle[HRM_SUDOKU_CELLS],
				solution[HRM_SUDOKU_CELLS];
	char		buf[HRM_SUDOKU_CELLS + 1];

	SudokuFromText(PG_GETARG_TEXT_PP(0), puzzle, "Sudoku puzzle");
	if (hrm_sudoku_count_poll(puzzle, 1, solution, NULL, SudokuPoll, NULL) < 1)
		PG_RETURN_NULL();
	hrm_sudoku_format(solution, buf);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

/* hrm_sudoku_count_solutions(puzzle text, max int) → int: solutions, counted up to max. */
Datum
hrm_sudoku_count_solutions_pg(PG_FUNCTION_ARGS)
{
	uint8_t		puzzle[HRM_SUDOKU_CELLS];
	int32		max = PG_GETARG_INT32(1);

	SudokuFromText(PG_GETARG_TEXT_PP(0), puzzle, "Sudoku puzzle");
	if (max < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max must be at least 1, got %d", max),
				 errhint("Counting stops at max; max = 2 tells a unique puzzle (1) from an ambiguous one (2).")));
	PG_RETURN_INT32(hrm_sudoku_count_poll(puzzle, max, NULL, NULL, SudokuPoll, NULL));
}

/* hrm_sudoku_check(puzzle, answer) → (valid, keeps_givens, reason). */
Datum
hrm_sudoku_check_pg(PG_FUNCTION_ARGS)
{
	uint8_t		puzzle[HRM_SUDOKU_CELLS],
				answer[HRM_SUDOKU_CELLS];
	hrm_sudoku_verdict v;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	SudokuFromText(PG_GETARG_TEXT_PP(0), puzzle, "Sudoku puzzle");
	SudokuFromText(PG_GETARG_TEXT_PP(1), answer, "Sudoku answer");
	hrm_sudoku_check(puzzle, answer, &v);
	values[0] = BoolGetDatum(v.valid);
	values[1] = BoolGetDatum(v.keeps_givens);
	if (v.reason[0] != '\0')
		values[2] = PointerGetDatum(cstring_to_text(v.reason));
	else
		nulls[2] = true;
	PG_RETURN_DATUM(MakeRecord(fcinfo, values, nulls));
}

typedef struct SudokuGenState
{
	hrm_rng		rng;
	int			min_blanks;
	int			max_blanks;
} SudokuGenState;

/*
 * hrm_sudoku_generate(n, blanks, seed) and
 * hrm_sudoku_generate(n, min_blanks, max_blanks, seed)
 * → SETOF (puzzle text, solution text).
 */
Datum
hrm_sudoku_generate_pg(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SudokuGenState *state;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		int32		n = PG_GETARG_INT32(0);
		int32		lo = PG_GETARG_INT32(1);
		int32		hi = PG_NARGS() == 4 ? PG_GETARG_INT32(2) : lo;
		int64		seed = PG_GETARG_INT64(PG_NARGS() - 1);
		TupleDesc	tupdesc;

		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must not be negative, got %d", n)));
		if (lo < 0 || lo > HRM_SUDOKU_MAX_BLANKS || hi < 0 || hi > HRM_SUDOKU_MAX_BLANKS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("blanks must be between 0 and %d, got %d", HRM_SUDOKU_MAX_BLANKS,
							(lo < 0 || lo > HRM_SUDOKU_MAX_BLANKS) ? lo : hi),
					 errhint("A Sudoku with a unique solution has at least 17 givens; in practice generation is fast up to about 58 blanks and works up to about 60.")));
		if (lo > hi)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("min_blanks (%d) is greater than max_blanks (%d)", lo, hi)));

		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		state = palloc(sizeof(SudokuGenState));
		hrm_rng_seed(&state->rng, (uint64_t) seed);
		state->min_blanks = lo;
		state->max_blanks = hi;
		funcctx->user_fctx = state;
		funcctx->max_calls = n;
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	state = funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		uint8_t		puzzle[HRM_SUDOKU_CELLS],
					solution[HRM_SUDOKU_CELLS];
		int			blanks = state->min_blanks;
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (state->max_blanks > state->min_blanks)
			blanks += (int) hrm_rng_below(&state->rng,
										  (uint64_t) (state->max_blanks - state->min_blanks + 1));
		for (int attempt = 1;; attempt++)
		{
			CHECK_FOR_INTERRUPTS();
			if (hrm_sudoku_generate_attempt(&state->rng, blanks, puzzle, solution))
				break;
			if (attempt >= SUDOKU_MAX_ATTEMPTS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("no uniquely solvable Sudoku with %d blanks found in %d attempts",
								blanks, SUDOKU_MAX_ATTEMPTS),
						 errdetail("Each attempt blanks cells of a random complete grid while the solution stays unique, and fails when no further cell can go."),
						 errhint("Ask for fewer blanks: up to 58 blanks nearly every attempt succeeds, at 60 about one in ten does, beyond 61 almost none.")));
		}
		values[0] = PointerGetDatum(SudokuToText(puzzle));
		values[1] = PointerGetDatum(SudokuToText(solution));
		SRF_RETURN_NEXT(funcctx,
						HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}

/* The augmentation a seed stands for (the same draw for every function). */
static void
SudokuAugFromSeed(int64 seed, hrm_sudoku_aug *aug)
{
	hrm_rng		rng;

	hrm_rng_seed(&rng, (uint64_t) seed);
	hrm_sudoku_aug_draw(&rng, aug);
}

/* hrm_sudoku_augment(puzzle, solution, seed) → (puzzle, solution); solution may be NULL. */
Datum
hrm_sudoku_augment_pg(PG_FUNCTION_ARGS)
{
	uint8_t		cells[HRM_SUDOKU_CELLS];
	hrm_sudoku_aug aug;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	SudokuAugFromSeed(PG_GETARG_INT64(2), &aug);
	SudokuFromText(PG_GETARG_TEXT_PP(0), cells, "Sudoku puzzle");
	hrm_sudoku_aug_apply_cells(&aug, cells, cells);
	values[0] = PointerGetDatum(SudokuToText(cells));
	if (PG_ARGISNULL(1))
		nulls[1] = true;
	else
	{
		SudokuFromText(PG_GETARG_TEXT_PP(1), cells, "Sudoku solution");
		hrm_sudoku_aug_apply_cells(&aug, cells, cells);
		values[1] = PointerGetDatum(SudokuToText(cells));
	}
	PG_RETURN_DATUM(MakeRecord(fcinfo, values, nulls));
}

/* hrm_sudoku_augment_inverse(grid, seed) → text: undo augmentation seed on any grid. */
Datum
hrm_sudoku_augment_inverse_pg(PG_FUNCTION_ARGS)
{
	uint8_t		cells[HRM_SUDOKU_CELLS];
	hrm_sudoku_aug aug;

	SudokuAugFromSeed(PG_GETARG_INT64(1), &aug);
	SudokuFromText(PG_GETARG_TEXT_PP(0), cells, "Sudoku grid");
	hrm_sudoku_aug_invert_cells(&aug, cells, cells);
	PG_RETURN_TEXT_P(SudokuToText(cells));
}

/* hrm_sudoku_augmentation(seed) → (digit_map, transpose, row_perm, col_perm), 1-based. */
Datum
hrm_sudoku_augmentation_pg(PG_FUNCTION_ARGS)
{
	hrm_sudoku_aug aug;
	int32		digits[9],
				rows[9],
				cols[9];
	Datum		values[4];

	SudokuAugFromSeed(PG_GETARG_INT64(0), &aug);
	for (int i = 0; i < 9; i++)
	{
		digits[i] = aug.digit_map[i + 1];
		rows[i] = aug.row_perm[i] + 1;
		cols[i] = aug.col_perm[i] + 1;
	}
	values[0] = PointerGetDatum(IntArray(digits, 9));
	values[1] = BoolGetDatum(aug.transpose);
	values[2] = PointerGetDatum(IntArray(rows, 9));
	values[3] = PointerGetDatum(IntArray(cols, 9));
	PG_RETURN_DATUM(MakeRecord(fcinfo, values, NULL));
}

/* ---------------------------------------------------------------------
 * Mazes
 * --------------------------------------------------------------------- */

/* Parse maze text; what names the argument in errors. */
static void
MazeFromText(text *t, hrm_maze *m, const char *what)
{
	hrm_error	err;
	hrm_status	st = hrm_maze_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), m, &err);

	if (st == HRM_ERR_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid %s: %s", what, err.msg)));
	if (st != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid %s: %s", what, err.msg),
				 errhint("A maze is rows of equal length joined by newlines, over the characters \"#\" (wall), \" \" (open), \"S\", \"G\" and \"o\" (path).")));
}

static text *
MazeToText(const hrm_maze *m)
{
	char	   *buf = palloc(m->rows * (m->cols + 1) + 1);
	size_t		len = hrm_maze_format(m, buf);

	return cstring_to_text_with_len(buf, (int) len);
}

/* Raise an error about a maze that is not a valid question (not one S and one G). */
static void
MazeQuestionError(const hrm_error *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid maze: %s", err->msg)));
}

/* hrm_maze_encode(maze text) → int[]: 900 tokens, the maze top-left on a PAD canvas. */
Datum
hrm_maze_encode_pg(PG_FUNCTION_ARGS)
{
	hrm_maze	m;
	int32		tokens[HRM_MAZE_SEQ];

	MazeFromText(PG_GETARG_TEXT_PP(0), &m, "maze text");
	hrm_maze_to_tokens(&m, tokens);
	PG_RETURN_ARRAYTYPE_P(IntArray(tokens, HRM_MAZE_SEQ));
}

/* hrm_maze_decode(tokens int[] [, size int]) → text. */
Datum
hrm_maze_decode_pg(PG_FUNCTION_ARGS)
{
	int			n;
	int32	   *tokens = TokensFromArray(PG_GETARG_ARRAYTYPE_P(0), &n, "maze tokens");
	int32		size = PG_NARGS() > 1 ? PG_GETARG_INT32(1) : 0;
	hrm_maze	m;
	hrm_error	err;
	hrm_status	st;

	if (PG_NARGS() > 1 && (size < 1 || size > HRM_MAZE_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("maze size must be between 1 and 30, got %d", size)));
	CheckTokenCount(n, HRM_MAZE_SEQ, "maze tokens");
	st = hrm_maze_from_tokens(tokens, n, size, &m, &err);
	if (st == HRM_ERR_SHAPE)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("invalid maze tokens: %s", err.msg)));
	if (st != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid maze tokens: %s", err.msg)));
	PG_RETURN_TEXT_P(MazeToText(&m));
}

/* hrm_maze_solve(maze text) → text: a shortest S→G path marked with 'o', NULL if none. */
Datum
hrm_maze_solve_pg(PG_FUNCTION_ARGS)
{
	hrm_maze	m,
				solved;
	int			length;
	hrm_error	err;

	MazeFromText(PG_GETARG_TEXT_PP(0), &m, "maze");
	if (hrm_maze_solve(&m, &solved, &length, &err) != HRM_OK)
		MazeQuestionError(&err);
	if (length == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(MazeToText(&solved));
}

/* hrm_maze_path_length(maze text) → int: cells on a shortest path (S, G included), NULL if none. */
Datum
hrm_maze_path_length_pg(PG_FUNCTION_ARGS)
{
	hrm_maze	m;
	int			length;
	hrm_error	err;

	MazeFromText(PG_GETARG_TEXT_PP(0), &m, "maze");
	if (hrm_maze_solve(&m, NULL, &length, &err) != HRM_OK)
		MazeQuestionError(&err);
	if (length == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(length);
}

/* hrm_maze_check(maze, answer) → (valid, shortest, reason). */
Datum
hrm_maze_check_pg(PG_FUNCTION_ARGS)
{
	hrm_maze	maze,
				answer;
	hrm_maze_verdict v;
	hrm_error	err;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	MazeFromText(PG_GETARG_TEXT_PP(0), &maze, "maze");
	MazeFromText(PG_GETARG_TEXT_PP(1), &answer, "maze answer");
	if (hrm_maze_check(&maze, &answer, &v, &err) != HRM_OK)
		MazeQuestionError(&err);
	values[0] = BoolGetDatum(v.valid);
	values[1] = BoolGetDatum(v.shortest);
	if (v.reason[0] != '\0')
		values[2] = PointerGetDatum(cstring_to_text(v.reason));
	else
		nulls[2] = true;
	PG_RETURN_DATUM(MakeRecord(fcinfo, values, nulls));
}

typedef struct MazeGenState
{
	hrm_rng		rng;
	int			size;
	int			min_length;
} MazeGenState;

/* hrm_maze_generate(n, size, min_path_length, seed) → SETOF (maze text, solution text). */
Datum
hrm_maze_generate_pg(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	MazeGenState *state;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		int32		n = PG_GETARG_INT32(0);
		int32		size = PG_GETARG_INT32(1);
		int32		min_length = PG_GETARG_INT32(2);
		int64		seed = PG_GETARG_INT64(3);
		TupleDesc	tupdesc;
		int			cells,
					most;

		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must not be negative, got %d", n)));
		if (size < 2 || size > HRM_MAZE_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("maze size must be between 2 and 30, got %d", size)));
		cells = size * size;
		most = cells - (3 * cells + 9) / 10;
		if (min_length < 0 || min_length > most)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("min_path_length must be between 0 and %d for a %dx%d maze, got %d",
							most, size, size, min_length),
					 errdetail("At least 30%% of the cells are walls, so a path has at most %d cells.",
							   most)));

		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		state = palloc(sizeof(MazeGenState));
		hrm_rng_seed(&state->rng, (uint64_t) seed);
		state->size = size;
		state->min_length = min_length;
		funcctx->user_fctx = state;
		funcctx->max_calls = n;
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	state = funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		hrm_maze	maze,
					solution;
		int			length,
					used,
					total = 0;
		hrm_error	err;
		hrm_status	st;
		Datum		values[2];
		bool		nulls[2] = {false, false};

		/*
		 * Whole wall layouts per engine call, so the result does not depend
		 * on the chunking.
		 */
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			st = hrm_maze_generate(&state->rng, state->size, state->min_length,
								   MAZE_LAYOUT_CHUNK, &maze, &solution, &length, &used, &err);
			total += used;
			if (st == HRM_OK)
				break;
			if (st != HRM_ERR_LIMIT)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("maze generation failed: %s", err.msg)));
			if (total >= MAZE_MAX_LAYOUTS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("no %dx%d maze with a shortest path of at least %d cells found in %d wall layouts",
								state->size, state->size, state->min_length, total),
						 errdetail("Each layout has 30%% to 50%% walls and tries 100 random start and goal pairs."),
						 errhint("Lower min_path_length. For 30x30 mazes, shortest paths of 110 cells need about 800 layouts each and paths much beyond 130 cells are rarely found.")));
		}
		values[0] = PointerGetDatum(MazeToText(&maze));
		values[1] = PointerGetDatum(MazeToText(&solution));
		SRF_RETURN_NEXT(funcctx,
						HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}

/* Shared body of hrm_maze_transform and its inverse. */
static Datum
MazeTransform(FunctionCallInfo fcinfo, bool inverse)
{
	hrm_maze	m,
				t;
	int32		tid = PG_GETARG_INT32(1);
	hrm_error	err;

	CheckTransformId(tid);
	MazeFromText(PG_GETARG_TEXT_PP(0), &m, "maze");
	if (inverse)
		tid = hrm_dihedral_inverse(tid);
	if (hrm_dihedral_apply_u8(tid, m.cell, m.rows, m.cols, t.cell, &t.rows, &t.cols, &err) != HRM_OK)
		elog(ERROR, "dihedral transform failed: %s", err.msg);
	PG_RETURN_TEXT_P(MazeToText(&t));
}

/* hrm_maze_transform(maze text, tid int) → text. */
Datum
hrm_maze_transform_pg(PG_FUNCTION_ARGS)
{
	return MazeTransform(fcinfo, false);
}

/* hrm_maze_transform_inverse(maze text, tid int) → text. */
Datum
hrm_maze_transform_inverse_pg(PG_FUNCTION_ARGS)
{
	return MazeTransform(fcinfo, true);
}

/* ---------------------------------------------------------------------
 * Grids and ARC
 * --------------------------------------------------------------------- */

/* Shared body of hrm_grid_transform and its inverse. */
static Datum
GridTransform(FunctionCallInfo fcinfo, bool inverse)
{
	int			rows,
				cols,
				orows,
				ocols;
	int32	   *v = GridFromArray(PG_GETARG_ARRAYTYPE_P(0), &rows, &cols, "grid");
	int32		tid = PG_GETARG_INT32(1);
	int32	   *out;
	hrm_error	err;

	CheckTransformId(tid);
	if (inverse)
		tid = hrm_dihedral_inverse(tid);
	out = palloc(sizeof(int32) * Max(rows * cols, 1));
	if (hrm_dihedral_apply_i32(tid, v, rows, cols, out, &orows, &ocols, &err) != HRM_OK)
		elog(ERROR, "dihedral transform failed: %s", err.msg);
	PG_RETURN_ARRAYTYPE_P(IntMatrix(out, orows, ocols));
}

/* hrm_grid_transform(grid int[][], tid int) → int[][]. */
Datum
hrm_grid_transform_pg(PG_FUNCTION_ARGS)
{
	return GridTransform(fcinfo, false);
}

/* hrm_grid_transform_inverse(grid int[][], tid int) → int[][]. */
Datum
hrm_grid_transform_inverse_pg(PG_FUNCTION_ARGS)
{
	return GridTransform(fcinfo, true);
}

/* hrm_arc_permute_colors(grid int[][], colors int[]) → int[][]. */
Datum
hrm_arc_permute_colors_pg(PG_FUNCTION_ARGS)
{
	hrm_arc_grid g;
	uint8_t		colors[HRM_ARC_COLORS];

	ArcGridFromArray(PG_GETARG_ARRAYTYPE_P(0), &g, "grid");
	ColorPermFromArray(PG_GETARG_ARRAYTYPE_P(1), colors);
	for (int i = 0; i < g.rows * g.cols; i++)
		g.cell[i] = colors[g.cell[i]];
	PG_RETURN_ARRAYTYPE_P(CellMatrix(g.cell, g.rows, g.cols));
}

/* hrm_arc_color_perm_inverse(colors int[]) → int[]. */
Datum
hrm_arc_color_perm_inverse_pg(PG_FUNCTION_ARGS)
{
	uint8_t		colors[HRM_ARC_COLORS],
				inv[HRM_ARC_COLORS];
	int32		out[HRM_ARC_COLORS];

	ColorPermFromArray(PG_GETARG_ARRAYTYPE_P(0), colors);
	hrm_arc_color_perm_inverse(colors, inv);
	for (int c = 0; c < HRM_ARC_COLORS; c++)
		out[c] = inv[c];
	PG_RETURN_ARRAYTYPE_P(IntArray(out, HRM_ARC_COLORS));
}

/* hrm_arc_encode(grid int[][], row_offset int, col_offset int) → int[]: 900 tokens. */
Datum
hrm_arc_encode_pg(PG_FUNCTION_ARGS)
{
	hrm_arc_grid g;
	int32		r = PG_GETARG_INT32(1);
	int32		c = PG_GETARG_INT32(2);
	int32		tokens[HRM_ARC_SEQ];
	hrm_error	err;

	ArcGridFromArray(PG_GETARG_ARRAYTYPE_P(0), &g, "grid");
	if (hrm_arc_encode(&g, r, c, tokens, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.msg),
				 errhint("Offsets are 0-based; a grid of R rows and C columns fits at row offsets 0..%d and column offsets 0..%d.",
						 HRM_ARC_MAX - g.rows, HRM_ARC_MAX - g.cols)));
	PG_RETURN_ARRAYTYPE_P(IntArray(tokens, HRM_ARC_SEQ));
}

/* Token sequence argument of the ARC decoders. */
static int32 *
ArcTokens(FunctionCallInfo fcinfo)
{
	int			n;
	int32	   *tokens = TokensFromArray(PG_GETARG_ARRAYTYPE_P(0), &n, "ARC tokens");

	CheckTokenCount(n, HRM_ARC_SEQ, "ARC tokens");
	return tokens;
}

/* hrm_arc_decode(tokens int[]) → int[][]: the exact inverse of hrm_arc_encode. */
Datum
hrm_arc_decode_pg(PG_FUNCTION_ARGS)
{
	int32	   *tokens = ArcTokens(fcinfo);
	hrm_arc_grid g;
	hrm_error	err;

	if (hrm_arc_decode(tokens, HRM_ARC_SEQ, &g, NULL, NULL, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid ARC tokens: %s", err.msg),
				 errhint("For a model's prediction, hrm_arc_crop reads the grid the way the reference evaluator does.")));
	PG_RETURN_ARRAYTYPE_P(CellMatrix(g.cell, g.rows, g.cols));
}

/* hrm_arc_crop(tokens int[]) → int[][]: the reference evaluator's crop; NULL when empty. */
Datum
hrm_arc_crop_pg(PG_FUNCTION_ARGS)
{
	int32	   *tokens = ArcTokens(fcinfo);
	hrm_arc_grid g;
	hrm_error	err;

	if (hrm_arc_crop(tokens, HRM_ARC_SEQ, &g, &err) != HRM_OK)
		elog(ERROR, "ARC crop failed: %s", err.msg);
	if (g.rows == 0 || g.cols == 0)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(CellMatrix(g.cell, g.rows, g.cols));
}

/*
 * hrm_arc_augment(input, output, seed) → (input, output, transform, colors):
 * one reference augmentation (dihedral id, then a permutation of colours
 * 1..9) applied to both grids; output may be NULL.
 */
Datum
hrm_arc_augment_pg(PG_FUNCTION_ARGS)
{
	hrm_arc_grid in,
				out;
	hrm_arc_aug aug;
	hrm_rng		rng;
	hrm_error	err;
	int32		colors[HRM_ARC_COLORS];
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	hrm_rng_seed(&rng, (uint64_t) PG_GETARG_INT64(2));
	hrm_arc_aug_draw(&rng, &aug);

	ArcGridFromArray(PG_GETARG_ARRAYTYPE_P(0), &in, "input");
	if (hrm_arc_aug_apply(&aug, &in, &out, &err) != HRM_OK)
		elog(ERROR, "ARC augmentation failed: %s", err.msg);
	values[0] = PointerGetDatum(CellMatrix(out.cell, out.rows, out.cols));
	if (PG_ARGISNULL(1))
		nulls[1] = true;
	else
	{
		ArcGridFromArray(PG_GETARG_ARRAYTYPE_P(1), &in, "output");
		if (hrm_arc_aug_apply(&aug, &in, &out, &err) != HRM_OK)
			elog(ERROR, "ARC augmentation failed: %s", err.msg);
		values[1] = PointerGetDatum(CellMatrix(out.cell, out.rows, out.cols));
	}
	values[2] = Int32GetDatum(aug.tid);
	for (int c = 0; c < HRM_ARC_COLORS; c++)
		colors[c] = aug.colors[c];
	values[3] = PointerGetDatum(IntArray(colors, HRM_ARC_COLORS));
	PG_RETURN_DATUM(MakeRecord(fcinfo, values, nulls));
}

/* SQLSTATE for what was wrong with an ARC task document. */
static int
ArcIssueSqlstate(hrm_arc_issue issue, hrm_status st)
{
	switch (issue)
	{
		case HRM_ARC_ISSUE_SYNTAX:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
		case HRM_ARC_ISSUE_NOT_OBJECT:
			return ERRCODE_SQL_JSON_OBJECT_NOT_FOUND;
		case HRM_ARC_ISSUE_MISSING_KEY:
			return ERRCODE_SQL_JSON_MEMBER_NOT_FOUND;
		case HRM_ARC_ISSUE_NOT_ARRAY:
			return ERRCODE_SQL_JSON_ARRAY_NOT_FOUND;
		case HRM_ARC_ISSUE_NOT_INTEGER:
			return ERRCODE_NON_NUMERIC_SQL_JSON_ITEM;
		case HRM_ARC_ISSUE_BAD_COLOR:
			return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		case HRM_ARC_ISSUE_RAGGED:
		case HRM_ARC_ISSUE_EMPTY:
			return ERRCODE_ARRAY_SUBSCRIPT_ERROR;
		case HRM_ARC_ISSUE_TOO_LARGE:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case HRM_ARC_ISSUE_NOT_STRING:
			return ERRCODE_SQL_JSON_SCALAR_REQUIRED;
		case HRM_ARC_ISSUE_NONE:
			break;
	}
	return st == HRM_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR;
}

/*
 * Append one split's pairs to the result tuplestore: task_id (NULL allowed),
 * split, pair_index, input, output (NULL for a pair without one), and, when
 * the result has them (hrm_arc_generate), family and rule.
 */
static void
ArcPutSplit(ReturnSetInfo *rsinfo, text *task_id, const char *split,
			const hrm_arc_pair *pairs, int n, text *family, text *rule)
{
	for (int i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		if (task_id)
			values[0] = PointerGetDatum(task_id);
		else
			nulls[0] = true;
		values[1] = CStringGetTextDatum(split);
		values[2] = Int32GetDatum(i);
		values[3] = PointerGetDatum(CellMatrix(pairs[i].input.cell, pairs[i].input.rows,
											   pairs[i].input.cols));
		if (pairs[i].has_output)
			values[4] = PointerGetDatum(CellMatrix(pairs[i].output.cell, pairs[i].output.rows,
												   pairs[i].output.cols));
		else
			nulls[4] = true;
		values[5] = PointerGetDatum(family);
		values[6] = PointerGetDatum(rule);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * hrm_arc_load(task jsonb, task_id text DEFAULT NULL)
 * → SETOF (task_id, split, pair_index, input, output).
 */
Datum
hrm_arc_load_pg(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *jb;
	char	   *json;
	hrm_arc_task task;
	hrm_arc_issue issue;
	hrm_error	err;
	hrm_status	st;
	text	   *volatile task_id = NULL;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	jb = PG_GETARG_JSONB_P(0);
	json = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	st = hrm_arc_task_parse(json, strlen(json), &task, &issue, &err);
	if (st != HRM_OK)
	{
		hrm_arc_task_free(&task);
		ereport(ERROR,
				(errcode(ArcIssueSqlstate(issue, st)),
				 errmsg("invalid ARC task: %s", err.msg),
				 errhint("An ARC task is {\"train\": [{\"input\": grid, \"output\": grid}, ...], \"test\": [...]}, or {\"id\": ..., \"task\": {...}}; a grid is 1 to 30 rows of 1 to 30 colours 0..9.")));
	}
	PG_TRY();
	{
		if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
			task_id = PG_GETARG_TEXT_PP(1);
		else if (task.id != NULL)
			task_id = cstring_to_text(task.id);
		ArcPutSplit(rsinfo, task_id, "train", task.train, task.n_train, NULL, NULL);
		ArcPutSplit(rsinfo, task_id, "test", task.test, task.n_test, NULL, NULL);
	}
	PG_FINALLY();
	{
		hrm_arc_task_free(&task);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/* Most tasks and pairs per task of one hrm_arc_generate call. */
#define ARC_GEN_MAX_TASKS 1000000
#define ARC_GEN_MAX_PAIRS 1000

/* The families named in a text[] (NULL elements and unknown names are errors). */
static int
ArcFamiliesFromArray(ArrayType *arr, int *families)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				count = 0;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("families must be a one-dimensional text array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		int			f;
		bool		dup = false;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("families must not contain nulls")));
		name = TextDatumGetCString(elems[i]);
		f = hrm_arc_family_from_name(name);
		if (f < 0)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int k = 0; k < HRM_ARC_FAMILIES; k++)
				appendStringInfo(&names, "%s%s", k ? ", " : "", hrm_arc_family_name(k));
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown ARC task family \"%s\"", name),
					 errhint("The families are %s; an empty array means all of them.", names.data)));
		}
		for (int k = 0; k < count; k++)
			dup |= families[k] == f;
		if (!dup)
			families[count++] = f;
	}
	return count;
}

/* A generated task's rows; the engine's task is freed whatever happens. */
static void
ArcGenPutTask(ReturnSetInfo *rsinfo, int32 k, hrm_arc_task *task, const hrm_arc_rule *rule)
{
	PG_TRY();
	{
		char		desc[128];
		text	   *id,
				   *fam,
				   *rl;

		hrm_arc_rule_describe(rule, desc, sizeof(desc));
		id = cstring_to_text(psprintf("%s-%06d", hrm_arc_family_name(rule->family), k));
		fam = cstring_to_text(hrm_arc_family_name(rule->family));
		rl = cstring_to_text(desc);
		ArcPutSplit(rsinfo, id, "train", task->train, task->n_train, fam, rl);
		ArcPutSplit(rsinfo, id, "test", task->test, task->n_test, fam, rl);
	}
	PG_CATCH();
	{
		hrm_arc_task_free(task);
		PG_RE_THROW();
	}
	PG_END_TRY();
	hrm_arc_task_free(task);
}

/*
 * hrm_arc_generate(n_tasks, seed, train_pairs, test_pairs, max_side, families)
 * → SETOF (task_id, split, pair_index, input, output, family, rule): synthetic
 * tasks in ARC's format (arc_gen.c), the columns of hrm_arc_load plus the
 * task's family and rule.  Task k depends only on (seed, k) and the other
 * arguments, so a larger n_tasks extends a smaller one.
 */
Datum
hrm_arc_generate_pg(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		n_tasks = PG_GETARG_INT32(0);
	int64		seed = PG_GETARG_INT64(1);
	int32		n_train = PG_GETARG_INT32(2);
	int32		n_test = PG_GETARG_INT32(3);
	int32		max_side = PG_GETARG_INT32(4);
	int			families[HRM_ARC_FAMILIES];
	int			n_families;
	MemoryContext rowcxt,
				oldcxt;

	if (n_tasks < 0 || n_tasks > ARC_GEN_MAX_TASKS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n_tasks must be between 0 and %d, got %d", ARC_GEN_MAX_TASKS, n_tasks)));
	if (n_train < 0 || n_train > ARC_GEN_MAX_PAIRS || n_test < 0 || n_test > ARC_GEN_MAX_PAIRS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("train_pairs and test_pairs must be between 0 and %d, got %d and %d",
						ARC_GEN_MAX_PAIRS, n_train, n_test)));
	if (max_side < HRM_ARC_GEN_MIN_SIDE || max_side > HRM_ARC_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_side must be between %d and %d, got %d", HRM_ARC_GEN_MIN_SIDE, HRM_ARC_MAX,
						max_side),
				 errdetail("Inputs have 3 to max_side rows and columns; outputs stay within 30 x 30.")));
	n_families = ArcFamiliesFromArray(PG_GETARG_ARRAYTYPE_P(5), families);

	InitMaterializedSRF(fcinfo, 0);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "hrm_arc_generate task", ALLOCSET_SMALL_SIZES);
	for (int32 k = 0; k < n_tasks; k++)
	{
		hrm_arc_task task;
		hrm_arc_rule rule;
		hrm_error	err;

		CHECK_FOR_INTERRUPTS();
		if (hrm_arc_generate_task((uint64_t) seed, k, families, n_families, n_train, n_test, max_side,
								  &task, &rule, &err) != HRM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("ARC task generation failed: %s", err.msg)));
		oldcxt = MemoryContextSwitchTo(rowcxt);
		ArcGenPutTask(rsinfo, k, &task, &rule);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}
