/*-------------------------------------------------------------------------
 *
 * hrm_svg.c
 *		Pictures as SVG text: hrm_grid_svg draws a Sudoku, a maze or an ARC
 *		grid; hrm_trace_svg draws a model's reasoning (hrm_trace) segment by
 *		segment, the cells that changed and the wrong ones marked.
 *
 * The SVG is plain text (open it in a browser, or write it from psql with
 * \o file.svg or \copy ... TO); every coordinate is an integer and colours
 * are fixed, so the same input always gives the same bytes.
 *
 * Drawing:
 *   Sudoku  a 9x9 board, thin cell lines and thick box lines; digits in
 *           black (givens), blue (filled in by the model), red (wrong);
 *           changed cells on a yellow background.
 *   maze    walls dark grey, open cells white, S green, G purple, the path
 *           ("o") blue; changed cells framed in amber, wrong cells crossed
 *           in red.
 *   ARC     the ARC 10-colour palette (0 black, 1 blue, 2 red, 3 green,
 *           4 yellow, 5 grey, 6 magenta, 7 orange, 8 light blue,
 *           9 maroon) with grey cell lines.
 *
 * hrm_trace_svg runs hrm_trace through SPI (with the caller's rights, so a
 * model the caller may not use is refused as hrm_trace refuses it), then
 * draws the input and one panel per segment.  A cell is wrong where the
 * prediction differs from the reference answer: the solution argument, or
 * else the exact solver's solution of a Sudoku with exactly one, or the
 * breadth-first shortest path of a maze; a maze prediction that is itself
 * a valid shortest path has no wrong cells.
 *
 * Sizes are bounded: grids are at most 30x30, cell_size 4..128, at most
 * 64 segments and 64 panels per row, so an SVG is at most a few MB.
 *
 * SQLSTATEs (docs/sql.md):
 *   22P02 invalid_text_representation   a text grid (or solution) that is
 *                                       neither Sudoku nor maze text
 *   22023 invalid_parameter_value       unknown task, cell_size, columns
 *                                       or max_steps out of range, a
 *                                       Sudoku array of the wrong shape or
 *                                       values, maze tokens outside 1..5,
 *                                       ARC given as text, a solution of
 *                                       another shape
 *   2202E array_subscript_error         an ARC or maze array that is not
 *                                       two-dimensional (or empty)
 *   22004 null_value_not_allowed        a NULL inside an array
 *   22003 numeric_value_out_of_range    an ARC colour outside 0..9
 *   54000 program_limit_exceeded        more than 30 rows or columns; a
 *                                       trace of more than 64 segments
 *   (hrm_trace's own errors: 42704, 42501, 42809, 22P02, ...)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "hrm_pg.h"

#include "maze.h"
#include "sudoku.h"

PG_FUNCTION_INFO_V1(hrm_grid_svg_text);
PG_FUNCTION_INFO_V1(hrm_grid_svg_array);
PG_FUNCTION_INFO_V1(hrm_trace_svg);

#define SVG_MAX_SIDE 30
#define SVG_MAX_CELLS (SVG_MAX_SIDE * SVG_MAX_SIDE)
#define SVG_MIN_CELL 4
#define SVG_MAX_CELL 128
#define SVG_MAX_SEGMENTS 64
#define SVG_MAX_COLUMNS 64

/* Colours. */
#define C_INK "#000000"
#define C_BOARD "#ffffff"
#define C_THIN "#999999"
#define C_FILLED "#1f5fbf"
#define C_WRONG "#d62728"
#define C_CHANGED_BG "#fff0a0"
#define C_CHANGED_FRAME "#ffb000"
#define C_WALL "#333333"
#define C_START "#2ca02c"
#define C_GOAL "#9467bd"
#define C_PATH "#4a90d9"
#define C_ARC_LINE "#555555"
#define C_CAPTION "#333333"

static const char *const arc_palette[10] = {
	"#000000", "#0074d9", "#ff4136", "#2ecc40", "#ffdc00",
	"#aaaaaa", "#f012be", "#ff851b", "#7fdbff", "#870c25"
};

typedef enum SvgKind
{
	SVG_SUDOKU,
	SVG_MAZE,
	SVG_ARC
} SvgKind;

/* A grid to draw: Sudoku digits 0..9 (0 blank), maze tokens 1..5, ARC colours 0..9. */
typedef struct SvgGrid
{
	SvgKind		kind;
	int			rows;
	int			cols;
	uint8		cell[SVG_MAX_CELLS];
} SvgGrid;

/* Per-cell marks (any may be NULL). */
typedef struct SvgMarks
{
	const bool *given;			/* Sudoku: drawn in black; other digits in blue */
	const bool *changed;
	const bool *wrong;
} SvgMarks;

static const char *
SvgKindName(SvgKind k)
{
	return k == SVG_SUDOKU ? "sudoku" : k == SVG_MAZE ? "maze" : "arc";
}

/* ---------------------------------------------------------------------
 * Drawing
 * --------------------------------------------------------------------- */

/* Append s with the XML special characters escaped. */
static void
SvgAppendEscaped(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

/* <text> at (x, y) (baseline), anchored at its middle or start. */
static void
SvgText(StringInfo buf, int x, int y, int size, const char *fill, bool middle, const char *s)
{
	appendStringInfo(buf, "<text x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"%s\"%s>", x, y, size, fill,
					 middle ? " text-anchor=\"middle\"" : "");
	SvgAppendEscaped(buf, s);
	appendStringInfoString(buf, "</text>\n");
}

static void
SvgRect(StringInfo buf, int x, int y, int w, int h, const char *fill)
{
	appendStringInfo(buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x, y, w, h, fill);
}

/* The amber frame of a changed cell and the red cross of a wrong one. */
static void
SvgCellMarks(StringInfo buf, const SvgGrid *g, const SvgMarks *m, int x0, int y0, int cs)
{
	int			inset = Max(1, cs / 10);
	int			sw = Max(1, cs / 8);

	for (int i = 0; i < g->rows * g->cols; i++)
	{
		int			x = x0 + (i % g->cols) * cs,
					y = y0 + (i / g->cols) * cs;

		if (m->changed && m->changed[i])
			appendStringInfo(buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
							 "stroke=\"" C_CHANGED_FRAME "\" stroke-width=\"%d\"/>\n",
							 x + inset, y + inset, cs - 2 * inset, cs - 2 * inset, sw);
		if (m->wrong && m->wrong[i])
			appendStringInfo(buf, "<path d=\"M%d %dL%d %dM%d %dL%d %d\" stroke=\"" C_WRONG "\" stroke-width=\"%d\"/>\n",
							 x + 2 * inset, y + 2 * inset, x + cs - 2 * inset, y + cs - 2 * inset,
							 x + cs - 2 * inset, y + 2 * inset, x + 2 * inset, y + cs - 2 * inset, sw);
	}
}

static void
SvgDrawSudoku(StringInfo buf, const SvgGrid *g, const SvgMarks *m, int x0, int y0, int cs)
{
	int			side = 9 * cs;
	int			font = Max(4, cs * 3 / 5);

	SvgRect(buf, x0, y0, side, side, C_BOARD);
	for (int i = 0; i < 81; i++)
		if (m->changed && m->changed[i])
			SvgRect(buf, x0 + (i % 9) * cs, y0 + (i / 9) * cs, cs, cs, C_CHANGED_BG);

	/* thin cell lines, then thick box lines and the border */
	appendStringInfoString(buf, "<path d=\"");
	for (int k = 1; k < 9; k++)
		if (k % 3 != 0)
			appendStringInfo(buf, "M%d %dv%dM%d %dh%d", x0 + k * cs, y0, side, x0, y0 + k * cs, side);
	appendStringInfoString(buf, "\" stroke=\"" C_THIN "\" stroke-width=\"1\"/>\n");
	appendStringInfoString(buf, "<path d=\"");
	for (int k = 0; k <= 9; k += 3)
		appendStringInfo(buf, "M%d %dv%dM%d %dh%d", x0 + k * cs, y0, side, x0, y0 + k * cs, side);
	appendStringInfo(buf, "\" stroke=\"" C_INK "\" stroke-width=\"%d\"/>\n", Max(2, cs / 12));

	for (int i = 0; i < 81; i++)
	{
		char		d[2] = {0, 0};
		const char *fill = C_INK;

		if (g->cell[i] == 0)
			continue;
		d[0] = (char) ('0' + g->cell[i]);
		if (m->wrong && m->wrong[i])
			fill = C_WRONG;
		else if (m->given && !m->given[i])
			fill = C_FILLED;
		SvgText(buf, x0 + (i % 9) * cs + cs / 2, y0 + (i / 9) * cs + (cs * 7 + 5) / 10, font, fill, true, d);
	}
}

static void
SvgDrawMaze(StringInfo buf, const SvgGrid *g, const SvgMarks *m, int x0, int y0, int cs)
{
	int			font = Max(4, cs * 3 / 5);

	SvgRect(buf, x0, y0, g->cols * cs, g->rows * cs, C_BOARD);
	for (int i = 0; i < g->rows * g->cols; i++)
	{
		const char *fill;
		int			x = x0 + (i % g->cols) * cs,
					y = y0 + (i / g->cols) * cs;

		switch (g->cell[i])
		{
			case HRM_MAZE_WALL:
				fill = C_WALL;
				break;
			case HRM_MAZE_START:
				fill = C_START;
				break;
			case HRM_MAZE_GOAL:
				fill = C_GOAL;
				break;
			case HRM_MAZE_PATH:
				fill = C_PATH;
				break;
			default:
				continue;		/* open: the board's white */
		}
		SvgRect(buf, x, y, cs, cs, fill);
		if (g->cell[i] == HRM_MAZE_START || g->cell[i] == HRM_MAZE_GOAL)
			SvgText(buf, x + cs / 2, y + (cs * 7 + 5) / 10, font, C_BOARD, true,
					g->cell[i] == HRM_MAZE_START ? "S" : "G");
	}
	appendStringInfo(buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"" C_INK "\" stroke-width=\"1\"/>\n",
					 x0, y0, g->cols * cs, g->rows * cs);
	SvgCellMarks(buf, g, m, x0, y0, cs);
}

static void
SvgDrawArc(StringInfo buf, const SvgGrid *g, const SvgMarks *m, int x0, int y0, int cs)
{
	appendStringInfoString(buf, "<g stroke=\"" C_ARC_LINE "\" stroke-width=\"1\">\n");
	for (int i = 0; i < g->rows * g->cols; i++)
		SvgRect(buf, x0 + (i % g->cols) * cs, y0 + (i / g->cols) * cs, cs, cs, arc_palette[g->cell[i]]);
	appendStringInfoString(buf, "</g>\n");
	SvgCellMarks(buf, g, m, x0, y0, cs);
}

/* Draw g with its top-left corner at (x0, y0). */
static void
SvgDrawGrid(StringInfo buf, const SvgGrid *g, const SvgMarks *m, int x0, int y0, int cs)
{
	switch (g->kind)
	{
		case SVG_SUDOKU:
			SvgDrawSudoku(buf, g, m, x0, y0, cs);
			break;
		case SVG_MAZE:
			SvgDrawMaze(buf, g, m, x0, y0, cs);
			break;
		case SVG_ARC:
			SvgDrawArc(buf, g, m, x0, y0, cs);
			break;
	}
}

/* The opening <svg> element: size, font, and a <title>. */
static void
SvgOpen(StringInfo buf, int width, int height, const char *title)
{
	appendStringInfo(buf,
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
					 "font-family=\"DejaVu Sans, Verdana, sans-serif\">\n",
					 width, height, width, height);
	appendStringInfoString(buf, "<title>");
	SvgAppendEscaped(buf, title);
	appendStringInfoString(buf, "</title>\n");
}

/* ---------------------------------------------------------------------
 * Reading grids
 * --------------------------------------------------------------------- */

static void
SvgCheckCellSize(int cs)
{
	if (cs < SVG_MIN_CELL || cs > SVG_MAX_CELL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cell_size must be between %d and %d pixels, not %d", SVG_MIN_CELL, SVG_MAX_CELL, cs)));
}

static SvgKind
SvgKindFromName(const char *task)
{
	if (strcmp(task, "sudoku") == 0)
		return SVG_SUDOKU;
	if (strcmp(task, "maze") == 0)
		return SVG_MAZE;
	if (strcmp(task, "arc") == 0)
		return SVG_ARC;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown task \"%s\"", task),
			 errhint("The task is 'sudoku', 'maze' or 'arc' (or NULL: text is read as a Sudoku or a maze, an integer[] as an ARC grid).")));
	pg_unreachable();
}

/* Maze text has a wall, S, G or path character; Sudoku text has none. */
static bool
SvgTextLooksMaze(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '#' || s[i] == 'S' || s[i] == 'G' || s[i] == 'o')
			return true;
	return false;
}

/* Parse a text grid as kind (SVG_SUDOKU or SVG_MAZE); what names it in errors. */
static void
SvgParseText(const char *s, size_t len, SvgKind kind, SvgGrid *g, const char *what)
{
	hrm_error	err;

	hrm_error_clear(&err);
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	if (kind == SVG_SUDOKU)
	{
		uint8_t		cells[HRM_SUDOKU_CELLS];

		if (hrm_sudoku_parse(s, len, cells, &err) != HRM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("%s is not a Sudoku", what),
					 errdetail("%s", err.msg),
					 errhint("A Sudoku is 81 cells row by row: 1-9, \".\" or \"0\" for a blank; whitespace is ignored.")));
		g->rows = g->cols = 9;
		memcpy(g->cell, cells, HRM_SUDOKU_CELLS);
	}
	else if (kind == SVG_MAZE)
	{
		hrm_maze	mz;

		if (hrm_maze_parse(s, len, &mz, &err) != HRM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("%s is not a maze", what),
					 errdetail("%s", err.msg),
					 errhint("A maze is rows of \"#\" (wall), \" \" (open), \"S\", \"G\" and \"o\" (path), joined by newlines, at most 30x30.")));
		g->rows = mz.rows;
		g->cols = mz.cols;
		memcpy(g->cell, mz.cell, (size_t) mz.rows * mz.cols);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an ARC grid is drawn from an integer[][], not from text"),
				 errhint("Pass the grid as an array of rows of colours 0-9, for example '{{0,1},{2,3}}'::int[][].")));
}

/* The elements of an int[] without nulls. */
static const int32 *
SvgArrayValues(ArrayType *arr, int *n)
{
	if (ARR_ELEMTYPE(arr) != INT4OID)
		elog(ERROR, "hrm_grid_svg: array of type %u, expected int4", ARR_ELEMTYPE(arr));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the grid must not contain nulls")));
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	return (const int32 *) ARR_DATA_PTR(arr);
}

/* Rows and columns of a two-dimensional array grid of at most 30x30. */
static void
SvgArrayShape2D(ArrayType *arr, int *rows, int *cols, const char *task)
{
	if (ARR_NDIM(arr) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("a%s %s grid must be a two-dimensional array, not %d-dimensional",
						strcmp(task, "ARC") == 0 ? "n" : "", task, ARR_NDIM(arr)),
				 errhint("Write a grid as an array of rows, for example '{{0,1},{2,3}}'::int[][].")));
	*rows = ARR_DIMS(arr)[0];
	*cols = ARR_DIMS(arr)[1];
	if (*rows > SVG_MAX_SIDE || *cols > SVG_MAX_SIDE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the grid is %dx%d; at most 30x30 can be drawn", *rows, *cols)));
}

static void
SvgParseArray(ArrayType *arr, SvgKind kind, SvgGrid *g)
{
	int			n;
	const int32 *v = SvgArrayValues(arr, &n);

	memset(g, 0, sizeof(*g));
	g->kind = kind;
	if (kind == SVG_SUDOKU)
	{
		if (!((ARR_NDIM(arr) == 1 && n == 81) ||
			  (ARR_NDIM(arr) == 2 && ARR_DIMS(arr)[0] == 9 && ARR_DIMS(arr)[1] == 9)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a Sudoku grid is int[81] or int[9][9]"),
					 errhint("Use 0 for a blank cell.")));
		for (int i = 0; i < 81; i++)
		{
			if (v[i] < 0 || v[i] > 9)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("Sudoku cell %d (r%dc%d) is %d, not a digit 0-9", i + 1, i / 9 + 1, i % 9 + 1, v[i])));
			g->cell[i] = (uint8) v[i];
		}
		g->rows = g->cols = 9;
		return;
	}
	if (kind == SVG_MAZE && ARR_NDIM(arr) == 1 && n == HRM_MAZE_SEQ)
	{
		/* 900 tokens as hrm_maze_encode writes them: the shape from the PAD border */
		hrm_maze	mz;
		hrm_error	err;

		hrm_error_clear(&err);
		if (hrm_maze_from_tokens(v, (size_t) n, 0, &mz, &err) != HRM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid maze tokens"),
					 errdetail("%s", err.msg)));
		g->rows = mz.rows;
		g->cols = mz.cols;
		memcpy(g->cell, mz.cell, (size_t) mz.rows * mz.cols);
		return;
	}
	SvgArrayShape2D(arr, &g->rows, &g->cols, kind == SVG_MAZE ? "maze" : "ARC");
	for (int i = 0; i < n; i++)
	{
		if (kind == SVG_MAZE && (v[i] < HRM_MAZE_WALL || v[i] > HRM_MAZE_PATH))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("maze cell at row %d, column %d is %d, not a maze token 1-5", i / g->cols + 1,
							i % g->cols + 1, v[i]),
					 errhint("Maze tokens: 1 wall, 2 open, 3 S, 4 G, 5 path (hrm_maze_encode); or pass the maze as text.")));
		if (kind == SVG_ARC && (v[i] < 0 || v[i] > 9))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the grid has colour %d at row %d, column %d, outside 0..9", v[i], i / g->cols + 1,
							i % g->cols + 1)));
		g->cell[i] = (uint8) v[i];
	}
}

/* The single grid's picture: the grid with a 2-pixel margin. */
static text *
SvgGridPicture(const SvgGrid *g, int cs)
{
	StringInfoData buf;
	SvgMarks	none = {NULL, NULL, NULL};
	int			pad = 2;
	char	   *title = psprintf("%s grid, %d x %d", SvgKindName(g->kind), g->rows, g->cols);

	initStringInfo(&buf);
	SvgOpen(&buf, g->cols * cs + 2 * pad, g->rows * cs + 2 * pad, title);
	SvgDrawGrid(&buf, g, &none, pad, pad, cs);
	appendStringInfoString(&buf, "</svg>\n");
	return cstring_to_text_with_len(buf.data, buf.len);
}

/*
 * hrm_grid_svg(grid text, task text DEFAULT NULL, cell_size int DEFAULT 32) → text
 */
Datum
hrm_grid_svg_text(PG_FUNCTION_ARGS)
{
	text	   *t;
	const char *s;
	size_t		len;
	SvgKind		kind;
	SvgGrid		g;
	int			cs;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	t = PG_GETARG_TEXT_PP(0);
	cs = PG_GETARG_INT32(2);
	SvgCheckCellSize(cs);
	s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	if (PG_ARGISNULL(1))
		kind = SvgTextLooksMaze(s, len) ? SVG_MAZE : SVG_SUDOKU;
	else
		kind = SvgKindFromName(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	SvgParseText(s, len, kind, &g, "the grid");
	PG_RETURN_TEXT_P(SvgGridPicture(&g, cs));
}

/*
 * hrm_grid_svg(grid integer[], task text DEFAULT NULL, cell_size int DEFAULT 32) → text
 */
Datum
hrm_grid_svg_array(PG_FUNCTION_ARGS)
{
	SvgKind		kind;
	SvgGrid		g;
	int			cs;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	cs = PG_GETARG_INT32(2);
	SvgCheckCellSize(cs);
	kind = PG_ARGISNULL(1) ? SVG_ARC : SvgKindFromName(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	SvgParseArray(PG_GETARG_ARRAYTYPE_P(0), kind, &g);
	PG_RETURN_TEXT_P(SvgGridPicture(&g, cs));
}

/* ---------------------------------------------------------------------
 * hrm_trace_svg
 * --------------------------------------------------------------------- */

typedef struct TracePanel
{
	int			segment;
	float4		q_halt;
	SvgGrid		grid;
	bool		changed[SVG_MAX_CELLS];
	bool		wrong[SVG_MAX_CELLS];
	int			n_changed;
	int			n_wrong;
} TracePanel;

/* Poll of the exact solver: stop on cancel. */
static bool
SvgSolverPoll(void *arg)
{
	CHECK_FOR_INTERRUPTS();
	return false;
}

/*
 * The reference answer of a trace: the solution given, else the unique
 * solution of a Sudoku (false if it has none or several), else a
 * breadth-first shortest path of a maze (false if G is unreachable).
 */
static bool
TraceReference(const SvgGrid *input, text *solution, SvgGrid *ref)
{
	if (solution != NULL)
	{
		SvgParseText(VARDATA_ANY(solution), VARSIZE_ANY_EXHDR(solution), input->kind, ref, "the solution");
		if (ref->rows != input->rows || ref->cols != input->cols)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the solution is %dx%d but the grid is %dx%d", ref->rows, ref->cols, input->rows,
							input->cols)));
		if (input->kind == SVG_SUDOKU)
			for (int i = 0; i < 81; i++)
				if (ref->cell[i] == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("the solution has a blank at r%dc%d", i / 9 + 1, i % 9 + 1),
							 errhint("A solution is a complete grid: 81 digits 1-9.")));
		return true;
	}
	*ref = *input;
	if (input->kind == SVG_SUDOKU)
	{
		uint8_t		puzzle[81],
					sol[81];

		memcpy(puzzle, input->cell, 81);
		if (hrm_sudoku_count_poll(puzzle, 2, sol, NULL, SvgSolverPoll, NULL) != 1)
			return false;
		memcpy(ref->cell, sol, 81);
		return true;
	}
	else
	{
		hrm_maze	mz,
					solved;
		int			length = 0;
		hrm_error	err;

		hrm_error_clear(&err);
		mz.rows = input->rows;
		mz.cols = input->cols;
		memcpy(mz.cell, input->cell, (size_t) input->rows * input->cols);
		if (hrm_maze_solve(&mz, &solved, &length, &err) != HRM_OK || length == 0)
			return false;
		memcpy(ref->cell, solved.cell, (size_t) input->rows * input->cols);
		return true;
	}
}

/* Is a maze prediction a valid shortest path (then nothing in it is wrong)? */
static bool
TraceMazeIsShortest(const SvgGrid *input, const SvgGrid *pred)
{
	hrm_maze	q,
				a;
	hrm_maze_verdict v;
	hrm_error	err;

	hrm_error_clear(&err);
	q.rows = a.rows = input->rows;
	q.cols = a.cols = input->cols;
	memcpy(q.cell, input->cell, (size_t) input->rows * input->cols);
	memcpy(a.cell, pred->cell, (size_t) pred->rows * pred->cols);
	if (hrm_maze_check(&q, &a, &v, &err) != HRM_OK)
		return false;
	return v.valid && v.shortest;
}

/*
 * hrm_trace_svg(model text, grid text, solution text DEFAULT NULL,
 *               max_steps int DEFAULT 0, halt text DEFAULT 'default',
 *               cell_size int DEFAULT 24, columns int DEFAULT 8) → text
 */
Datum
hrm_trace_svg(PG_FUNCTION_ARGS)
{
	text	   *model_t,
			   *grid_t,
			   *solution_t;
	int			max_steps,
				cs,
				columns;
	const char *halt;
	SvgGrid		input,
				ref;
	bool		has_ref;
	bool		given[SVG_MAX_CELLS];
	TracePanel *panels;
	int			n_panels = 0;
	MemoryContext callcxt = CurrentMemoryContext;
	char	   *schema;
	char	   *query;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, INT4OID, TEXTOID};
	Datum		args[4];
	int			ret;
	int			n_cells;
	StringInfoData buf;

	for (int i = 0; i < 7; i++)
		if (i != 2 && PG_ARGISNULL(i))
			PG_RETURN_NULL();
	model_t = PG_GETARG_TEXT_PP(0);
	grid_t = PG_GETARG_TEXT_PP(1);
	solution_t = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	max_steps = PG_GETARG_INT32(3);
	halt = text_to_cstring(PG_GETARG_TEXT_PP(4));
	cs = PG_GETARG_INT32(5);
	columns = PG_GETARG_INT32(6);

	SvgCheckCellSize(cs);
	if (columns < 1 || columns > SVG_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("columns must be between 1 and %d, not %d", SVG_MAX_COLUMNS, columns),
				 errhint("columns is the number of panels (the input, then one per segment) in a row.")));
	if (max_steps > SVG_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hrm_trace_svg draws at most %d segments, not %d", SVG_MAX_SEGMENTS, max_steps),
				 errhint("Pass max_steps => %d or fewer; hrm_trace returns any number of segments as rows.",
						 SVG_MAX_SEGMENTS)));

	/* run the trace first: it checks the model, the rights, the grid and the options */
	schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	if (schema == NULL)
		elog(ERROR, "hrm_trace_svg: the function's schema is gone");
	query = psprintf("SELECT segment, prediction, q_halt FROM %s.hrm_trace($1, $2, $3, $4) ORDER BY segment",
					 quote_identifier(schema));
	args[0] = PointerGetDatum(model_t);
	args[1] = PointerGetDatum(grid_t);
	args[2] = Int32GetDatum(max_steps);
	args[3] = CStringGetTextDatum(halt);

	HrmSpiConnect();
	ret = SPI_execute_with_args(query, 4, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hrm_trace_svg: hrm_trace failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > SVG_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the trace has " UINT64_FORMAT " segments; hrm_trace_svg draws at most %d", SPI_processed,
						SVG_MAX_SEGMENTS),
				 errhint("Pass max_steps => %d or fewer.", SVG_MAX_SEGMENTS)));

	/* hrm_trace accepted the grid, so it is a Sudoku or a maze and parses */
	{
		const char *s = VARDATA_ANY(grid_t);
		size_t		len = VARSIZE_ANY_EXHDR(grid_t);

		SvgParseText(s, len, SvgTextLooksMaze(s, len) ? SVG_MAZE : SVG_SUDOKU, &input, "the grid");
	}
	n_cells = input.rows * input.cols;
	for (int i = 0; i < n_cells; i++)
		given[i] = input.kind == SVG_SUDOKU && input.cell[i] != 0;

	panels = MemoryContextAllocZero(callcxt, sizeof(TracePanel) * (SPI_processed + 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		seg = SPI_getbinval(tup, desc, 1, &isnull);
		Datum		pred = SPI_getbinval(tup, desc, 2, &isnull);
		Datum		qh = SPI_getbinval(tup, desc, 3, &isnull);
		text	   *pt = DatumGetTextPP(pred);
		TracePanel *p = &panels[n_panels++];

		CHECK_FOR_INTERRUPTS();
		p->segment = DatumGetInt32(seg);
		p->q_halt = DatumGetFloat4(qh);
		SvgParseText(VARDATA_ANY(pt), VARSIZE_ANY_EXHDR(pt), input.kind, &p->grid, "the prediction");
	}
	SPI_finish();

	has_ref = TraceReference(&input, solution_t, &ref);
	for (int k = 0; k < n_panels; k++)
	{
		TracePanel *p = &panels[k];
		const SvgGrid *prev = k == 0 ? &input : &panels[k - 1].grid;
		bool		check = has_ref && !(input.kind == SVG_MAZE && solution_t == NULL &&
										 TraceMazeIsShortest(&input, &p->grid));

		for (int i = 0; i < n_cells; i++)
		{
			p->changed[i] = p->grid.cell[i] != prev->cell[i];
			p->wrong[i] = check && p->grid.cell[i] != ref.cell[i];
			p->n_changed += p->changed[i];
			p->n_wrong += p->wrong[i];
		}
	}

	/* layout: a header line, then rows of panels (title, grid, two caption lines), then the legend */
	{
		int			font = Max(10, cs * 3 / 5);
		int			line = font + font / 3 + 2;
		int			margin = Max(4, cs / 2);
		int			gap = Max(8, cs);
		int			grid_w = input.cols * cs,
					grid_h = input.rows * cs;
		int			panel_w = Max(grid_w, 11 * font);
		int			panel_h = line + grid_h + 2 * line;
		int			n_all = n_panels + 1;
		int			per_row = Min(columns, n_all);
		int			n_rows = (n_all + per_row - 1) / per_row;
		int			width = 2 * margin + per_row * panel_w + (per_row - 1) * gap;
		int			top = margin + line + line / 2;
		int			height = top + n_rows * panel_h + (n_rows - 1) * gap + 3 * line + margin;
		char	   *model = text_to_cstring(model_t);
		char	   *title = psprintf("hrm_trace of model \"%s\": %d segment%s", model, n_panels,
									 n_panels == 1 ? "" : "s");
		int			legend_y;

		initStringInfo(&buf);
		SvgOpen(&buf, width, height, title);
		SvgRect(&buf, 0, 0, width, height, C_BOARD);
		SvgText(&buf, margin, margin + font, font, C_INK, false, title);

		for (int k = 0; k < n_all; k++)
		{
			int			col = k % per_row,
						row = k / per_row;
			int			px = margin + col * (panel_w + gap);
			int			py = top + row * (panel_h + gap);
			int			gx = px + (panel_w - grid_w) / 2;
			int			mid = px + panel_w / 2;
			char	   *head,
					   *cap1,
					   *cap2;

			CHECK_FOR_INTERRUPTS();
			if (k == 0)
			{
				SvgMarks	m = {NULL, NULL, NULL};
				int			blanks = 0;

				for (int i = 0; i < n_cells; i++)
					blanks += input.kind == SVG_SUDOKU && input.cell[i] == 0;
				head = pstrdup("input");
				if (input.kind == SVG_SUDOKU)
					cap1 = psprintf("%d blank%s", blanks, blanks == 1 ? "" : "s");
				else
					cap1 = psprintf("%d x %d maze", input.rows, input.cols);
				if (solution_t != NULL)
					cap2 = pstrdup("solution given");
				else if (input.kind == SVG_SUDOKU)
					cap2 = pstrdup(has_ref ? "solution known" : "no unique solution");
				else
					cap2 = pstrdup(has_ref ? "shortest path known" : "G cannot be reached");
				SvgDrawGrid(&buf, &input, &m, gx, py + line, cs);
			}
			else
			{
				TracePanel *p = &panels[k - 1];
				SvgMarks	m = {given, p->changed, has_ref ? p->wrong : NULL};

				head = psprintf("segment %d", p->segment);
				cap1 = psprintf("q_halt %.2f", (double) p->q_halt);
				if (has_ref)
					cap2 = psprintf("%d changed, %d wrong", p->n_changed, p->n_wrong);
				else
					cap2 = psprintf("%d changed", p->n_changed);
				SvgDrawGrid(&buf, &p->grid, &m, gx, py + line, cs);
			}
			SvgText(&buf, mid, py + font, font, C_INK, true, head);
			SvgText(&buf, mid, py + line + grid_h + line, font, C_CAPTION, true, cap1);
			SvgText(&buf, mid, py + line + grid_h + 2 * line, font, C_CAPTION, true, cap2);
		}

		legend_y = top + n_rows * panel_h + (n_rows - 1) * gap + line;
		if (input.kind == SVG_SUDOKU)
			SvgText(&buf, margin, legend_y + font, font, C_CAPTION, false,
					has_ref ? "black: given; blue: filled in by the model; red: wrong; yellow: changed since the previous panel" :
					"black: given; blue: filled in by the model; yellow: changed since the previous panel");
		else
			SvgText(&buf, margin, legend_y + font, font, C_CAPTION, false,
					has_ref ? "blue: the predicted path; amber frame: changed since the previous panel; red cross: wrong" :
					"blue: the predicted path; amber frame: changed since the previous panel");
		appendStringInfoString(&buf, "</svg>\n");
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
