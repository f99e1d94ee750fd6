/*-------------------------------------------------------------------------
 *
 * hrm_solve.c
 *		hrm_solve, hrm_solve_detail and hrm_trace: solve a puzzle with a
 *		model, the answer in the puzzle's own form.
 *
 * A grid is a Sudoku (text of 81 cells, int[81] or int[9][9]), a maze (text
 * rows of "# SG"), an ARC grid (int[rows][cols] of colours 0..9, at most
 * 30x30; the answer is the predicted grid, cropped as the reference's
 * evaluator crops it) or, for any other model, an int[] of token ids.  The
 * codec follows from the model's layout (hrm_solve_task): vocab 11 / seq 81
 * is a Sudoku model, vocab 6 / seq 900 a maze model, vocab 12 / seq 900 an
 * ARC model (grids, or its 900 tokens as an int[900]), anything else reads
 * token arrays.  puzzle_id selects the puzzle embedding (ARC models learn
 * one per task; 0 for the others).
 *
 * A solve is the reference's evaluation: a fresh carry, then up to
 * max_steps segments with the carry kept between them; with halt
 * 'adaptive' the row stops after the first segment whose q_halt exceeds
 * q_continue.  The answer is the argmax of the last segment's logits, taken
 * over the task's answer alphabet (digits for a Sudoku; wall, open, S, G and
 * path inside the maze), so it always has the input's form; a trained
 * model puts its argmax there anyway.  Generic models take the argmax over
 * the whole vocabulary.
 *
 * views => N (test-time scaling) also solves the puzzle under N - 1 of its
 * task's symmetries and votes (views.h); hrm_solve_batch solves many grids
 * (a text[], an int[n][...] or a query's (id, grid) rows) one chunk of rows
 * per engine call.  Every one of them, hrm_trace too, runs the engine's one
 * batched solve, hrm_views_solve (src/core/run/views.c): the ACT loop, the
 * decoding, the views and the vote live there; this file parses, formats
 * and reports.
 *
 * Cost per call: the model comes from the cache (hrm_cache_get, shared
 * memory); the scratch of one-puzzle solves (workspace, carry, buffers)
 * lives in a small per-backend pool keyed by the model's shapes, so a query
 * over many rows allocates nothing per row but the result; a batch has its
 * own for the call.  Interrupts stop the engine between segments (a
 * callback) and a batch between chunks.
 *
 * SQLSTATEs (docs/solve.md):
 *   22P02 invalid_text_representation   a text grid the model's codec cannot
 *                                       read (length, characters, ragged
 *                                       rows, more than 30x30, S/G count)
 *   22023 invalid_parameter_value       an array grid of the wrong shape or
 *                                       with values outside the alphabet /
 *                                       vocabulary; bad max_steps, halt or
 *                                       views (1..64; maze 8; tokens 1)
 *   22003 numeric_value_out_of_range    puzzle_id outside 0..num_puzzle_identifiers-1
 *   42804 datatype_mismatch             hrm_solve_batch's query columns
 *   22004 null_value_not_allowed        NULL inside an array grid
 *   42704 undefined_object              no such model
 *   42809 wrong_object_type             a grid of another task (a maze for
 *                                       a Sudoku model, text for a token model)
 *   55000 object_not_in_prerequisite_state  no model given and
 *                                       hrm.default_model unset
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "hrm_pg.h"
#include "hrm_train.h"

#include "arc.h"
#include "maze.h"
#include "sudoku.h"
#include "views.h"

/* Upper bound on segments per solve (as hrm_forward). */
#define SOLVE_MAX_STEPS 65536

/*
 * Workspaces kept per backend (one per distinct model shape in use): at
 * least as many as the models one call may use (an ensemble), so that one
 * call's scratch is never evicted while it runs.
 */
#define SOLVE_POOL_SLOTS 8
StaticAssertDecl(SOLVE_POOL_SLOTS >= HRM_SOLVE_ENSEMBLE_MAX + 1, "a call's models must fit the pool");
StaticAssertDecl(HRM_SOLVE_ENSEMBLE_MAX + 1 <= HRM_ENSEMBLE_MAX, "the engine's ensembles must hold a call's models");

PG_FUNCTION_INFO_V1(hrm_solve_text);
PG_FUNCTION_INFO_V1(hrm_solve_array);
PG_FUNCTION_INFO_V1(hrm_solve_detail_text);
PG_FUNCTION_INFO_V1(hrm_solve_detail_array);
PG_FUNCTION_INFO_V1(hrm_trace_text);
PG_FUNCTION_INFO_V1(hrm_trace_array);
PG_FUNCTION_INFO_V1(hrm_solve_task);
PG_FUNCTION_INFO_V1(hrm_solve_batch_text);
PG_FUNCTION_INFO_V1(hrm_solve_batch_array);
PG_FUNCTION_INFO_V1(hrm_solve_batch_query);

/* ---------------------------------------------------------------------
 * GUCs
 * --------------------------------------------------------------------- */

typedef enum SolveHalt
{
	SOLVE_HALT_FIXED = 0,
	SOLVE_HALT_ADAPTIVE = 1
} SolveHalt;

static const struct config_enum_entry solve_halt_options[] = {
	{"fixed", SOLVE_HALT_FIXED, false},
	{"adaptive", SOLVE_HALT_ADAPTIVE, false},
	{NULL, 0, false}
};

static int	hrm_default_max_steps = 0;
static int	hrm_default_halt = SOLVE_HALT_FIXED;

/*
 * GUCs of the solving functions; called from _PG_init.
 */
void
HrmSolveInit(void)
{
	DefineCustomIntVariable("hrm.default_max_steps",
							"Sets the default number of segments (max_steps) of hrm_solve.",
							"0 uses each model's halt_max_steps.",
							&hrm_default_max_steps,
							0, 0, SOLVE_MAX_STEPS,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("hrm.default_halt",
							 "Sets the default halting mode of hrm_solve.",
							 "fixed always runs max_steps segments (the reference); adaptive stops once q_halt > q_continue.",
							 &hrm_default_halt,
							 SOLVE_HALT_FIXED,
							 solve_halt_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Codecs: a grid's forms in SQL, one table entry per task
 * --------------------------------------------------------------------- */

/* What the caller asked for. */
typedef struct SolveArgs
{
	char	   *model;
	bool		is_text;
	text	   *grid_text;
	ArrayType  *grid_arr;
	int			max_steps;		/* as given: 0 = default */
	bool		adaptive;
	int			views;			/* 1..HRM_VIEWS_MAX */
	int32		puzzle_id;		/* the puzzle embedding's row */
	ArrayType  *ensemble;		/* text[] of further models (NULL or empty: none) */
} SolveArgs;

typedef struct SolveCodecOps SolveCodecOps;

/* A puzzle ready for the engine, and how to give the answer back. */
typedef struct SolveProblem
{
	HrmModelHandle *h;
	int			n_members;		/* further models of an ensemble */
	HrmModelHandle *members[HRM_SOLVE_ENSEMBLE_MAX];
	const char *task;
	const SolveCodecOps *codec; /* of this input (the token codec for token arrays) */
	int			seq_len;
	int			vocab;
	int			steps;			/* segments to run at most */
	bool		adaptive;
	int			views;			/* test-time scaling: 1 = the single pass */
	int32		puzzle_id;
	hrm_task	alphabet;		/* of this input's codec: answer alphabet, symmetries, checker */
	int32	   *tokens;			/* [seq_len] */
	/* the input's form */
	bool		is_text;
	text	   *src_text;
	ArrayType  *src_arr;
	/* what the codec keeps of the input to format the answer */
	union
	{
		uint8_t		cells[HRM_SUDOKU_CELLS];	/* Sudoku: the puzzle */
		hrm_maze	maze;		/* maze: the question */
	}			st;
} SolveProblem;

/*
 * A codec: how hrm_solve reads and writes one task's grids.  The engine's
 * task entry (task.h) gives the layout that selects the codec, the answer
 * alphabet, symmetries and checker; the codec adds the SQL forms.  Adding a
 * task is one more entry of solve_codecs (and its SQL wrappers and tests);
 * nothing below branches on the task.
 */
struct SolveCodecOps
{
	hrm_task	task;			/* the engine's task of this codec's grids */
	const char *given;			/* how an error names a grid of this task ("a Sudoku") */
	const char *kind;			/* how the views error names one ("sudoku grid") */
	const char *hint;			/* what a model of this task reads (NULL: its token ids) */
	const char *views_hint;		/* when views exceed the task's (NULL: the common hint) */
	const char *label;			/* grid codecs: how an error names the grid ("ARC") */
	const char *cell_value;		/* and a cell's value ("colour") */

	/* Text that is plainly this task's (and no other's); NULL: no text form. */
	bool		(*text_looks) (const char *s, size_t len);

	/* An array of this task's own shape; NULL: no array form of its own. */
	bool		(*array_looks) (const ArrayType *arr);

	/* Read a text grid into p->tokens and p->st (ereport on bad text); NULL: no text form. */
	void		(*read_text) (SolveProblem *p, const char *s, size_t len);

	/*
	 * Read an int4 array (no nulls; values v[0..n)) into p->tokens and p->st:
	 * true when read, false when the array is to be read as token ids.
	 * NULL: arrays are token ids.
	 */
	bool		(*read_array) (SolveProblem *p, const ArrayType *arr, const int32 *v, int n);

	/* The prediction (tokens, decoded over the task's alphabet) in the input's form. */
	Datum		(*format) (const SolveProblem *p, const int32 *pred);
};

/* Does a text grid use maze characters ("#", "S", "G", "o") and/or Sudoku ones (digits, ".")? */
static void
SolveTextChars(const char *s, size_t len, bool *maze_chars, bool *digit_chars)
{
	bool		m = false,
				d = false;

	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '#' || c == 'S' || c == 'G' || c == 'o')
			m = true;
		else if ((c >= '0' && c <= '9') || c == '.')
			d = true;
	}
	*maze_chars = m;
	*digit_chars = d;
}

static void
SolveWrongTask(const SolveProblem *p, const char *given, const char *hint) pg_attribute_noreturn();

static void
SolveWrongTask(const SolveProblem *p, const char *given, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("%s given to model \"%s\", %s %s model", given, p->h->name,
					strchr("aeiou", p->task[0]) != NULL && p->task[0] != '\0' ? "an" : "a", p->task),
			 errdetail("The model's layout is vocab_size %d, seq_len %d.", p->vocab, p->seq_len),
			 errhint("%s", hint)));
	pg_unreachable();
}

/* A hint naming what a model of codec c reads. */
static const char *
SolveHintFor(const SolveProblem *p, const SolveCodecOps *c)
{
	if (c->hint != NULL)
		return c->hint;
	return psprintf("Pass the model's %d token ids (0 to %d) as an int[].", p->seq_len, p->vocab - 1);
}

/* Describe an array's shape for messages: "int[9][8]". */
static char *
SolveArrayShape(const ArrayType *arr)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "int[");
	for (int i = 0; i < ARR_NDIM(arr); i++)
		appendStringInfo(&buf, "%s%d", i > 0 ? "][" : "", ARR_DIMS(arr)[i]);
	if (ARR_NDIM(arr) == 0)
		appendStringInfoChar(&buf, '0');
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * Copy the input text, replacing its cell characters in order with
 * chars[0..n): everything else (whitespace, line breaks) stays, so the
 * answer has the input's layout.
 */
static text *
SolveRewriteText(const text *src, bool is_cell_ws, const char *chars, int n)
{
	const char *s = VARDATA_ANY(src);
	size_t		len = VARSIZE_ANY_EXHDR(src);
	text	   *out = (text *) palloc(VARHDRSZ + len);
	char	   *d = VARDATA(out);
	int			k = 0;

	SET_VARSIZE(out, VARHDRSZ + len);
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];
		bool		sep = is_cell_ws ? (c == ' ' || c == '\t' || c == '\n' || c == '\r') :
			(c == '\n' || c == '\r');

		if (!sep && k < n)
			d[i] = chars[k++];
		else
			d[i] = c;
	}
	if (k != n)
		return NULL;			/* cannot happen for text the codec accepted */
	return out;
}

/* An int4 array with the dimensions and lower bounds of src. */
static ArrayType *
SolveArrayLike(const ArrayType *src, const int32 *vals, int n)
{
	int			ndim = ARR_NDIM(src);
	size_t		nbytes = ARR_OVERHEAD_NONULLS(ndim) + sizeof(int32) * (size_t) n;
	ArrayType  *a = (ArrayType *) palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = ndim;
	a->dataoffset = 0;
	a->elemtype = INT4OID;
	memcpy(ARR_DIMS(a), ARR_DIMS(src), sizeof(int) * ndim);
	memcpy(ARR_LBOUND(a), ARR_LBOUND(src), sizeof(int) * ndim);
	memcpy(ARR_DATA_PTR(a), vals, sizeof(int32) * (size_t) n);
	return a;
}

/* ---- Sudoku: 81 cells as text (digits, "." or "0"), int[81] or int[9][9] ---- */

static bool
SudokuTextLooks(const char *s, size_t len)
{
	bool		m,
				d;

	SolveTextChars(s, len, &m, &d);
	return d && !m;
}

static bool
SudokuArrayLooks(const ArrayType *arr)
{
	return (ARR_NDIM(arr) == 1 && ARR_DIMS(arr)[0] == HRM_SUDOKU_CELLS) ||
		(ARR_NDIM(arr) == 2 && ARR_DIMS(arr)[0] == 9 && ARR_DIMS(arr)[1] == 9);
}

static void
SudokuReadText(SolveProblem *p, const char *s, size_t len)
{
	hrm_error	err;

	hrm_error_clear(&err);
	if (hrm_sudoku_parse(s, len, p->st.cells, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid Sudoku for model \"%s\"", p->h->name),
				 errdetail("%s", err.msg),
				 errhint("%s", SolveHintFor(p, p->codec))));
	hrm_sudoku_to_tokens(p->st.cells, p->tokens);
}

static bool
SudokuReadArray(SolveProblem *p, const ArrayType *arr, const int32 *v, int n)
{
	if (!SudokuArrayLooks(arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a Sudoku grid is int[81] or int[9][9], not %s", SolveArrayShape(arr)),
				 errhint("%s", SolveHintFor(p, p->codec))));
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
	{
		if (v[i] < 0 || v[i] > 9)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Sudoku cell %d (r%dc%d) is %d, not a digit 0-9", i + 1, i / 9 + 1,
							i % 9 + 1, v[i]),
					 errhint("%s", SolveHintFor(p, p->codec))));
		p->st.cells[i] = (uint8_t) v[i];
	}
	hrm_sudoku_to_tokens(p->st.cells, p->tokens);
	return true;
}

/* Tokens 2..10 back to digits, in the input's form. */
static Datum
SudokuFormat(const SolveProblem *p, const int32 *pred)
{
	int32		vals[HRM_SUDOKU_CELLS];
	char		chars[HRM_SUDOKU_CELLS + 1];
	text	   *t;

	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		vals[i] = pred[i] - 1;
	if (!p->is_text)
		return PointerGetDatum(SolveArrayLike(p->src_arr, vals, HRM_SUDOKU_CELLS));
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		chars[i] = (char) ('0' + vals[i]);
	t = SolveRewriteText(p->src_text, true, chars, HRM_SUDOKU_CELLS);
	if (t == NULL)
	{
		uint8_t		cells[HRM_SUDOKU_CELLS];

		for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
			cells[i] = (uint8_t) vals[i];
		hrm_sudoku_format(cells, chars);
		t = cstring_to_text(chars);
	}
	return PointerGetDatum(t);
}

/* ---- maze: text rows of "# SG" (arrays are token ids) ---- */

static bool
MazeTextLooks(const char *s, size_t len)
{
	bool		m,
				d;

	SolveTextChars(s, len, &m, &d);
	return m && !d;
}

static void
MazeReadText(SolveProblem *p, const char *s, size_t len)
{
	hrm_error	err;
	int			start,
				goal;

	hrm_error_clear(&err);
	if (hrm_maze_parse(s, len, &p->st.maze, &err) != HRM_OK ||
		hrm_maze_endpoints(&p->st.maze, &start, &goal, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid maze for model \"%s\"", p->h->name),
				 errdetail("%s", err.msg),
				 errhint("%s", SolveHintFor(p, p->codec))));
	hrm_maze_to_tokens(&p->st.maze, p->tokens);
}

/* The predicted cells inside the question's rectangle, as text of its layout. */
static Datum
MazeFormat(const SolveProblem *p, const int32 *pred)
{
	hrm_maze	ans;
	int			n = p->st.maze.rows * p->st.maze.cols;
	char	   *chars = palloc(n + 1);
	text	   *t;

	ans.rows = p->st.maze.rows;
	ans.cols = p->st.maze.cols;
	for (int r = 0; r < ans.rows; r++)
		for (int c = 0; c < ans.cols; c++)
			ans.cell[r * ans.cols + c] = (uint8_t) pred[r * HRM_MAZE_MAX + c];
	for (int i = 0; i < n; i++)
		chars[i] = hrm_maze_char(ans.cell[i]);
	t = SolveRewriteText(p->src_text, false, chars, n);
	if (t == NULL)
	{
		char	   *buf = palloc(ans.rows * (ans.cols + 1) + 1);

		hrm_maze_format(&ans, buf);
		t = cstring_to_text(buf);
	}
	return PointerGetDatum(t);
}

/* ---- grids of cell values, int[rows][cols] (ARC: colours 0..9, at most 30x30) ---- */

static bool
GridArrayLooks(const ArrayType *arr)
{
	return ARR_NDIM(arr) == 2;
}

/* A two-dimensional array through the task's grid_encode (task.h). */
static bool
GridReadArray(SolveProblem *p, const ArrayType *arr, const int32 *v, int n)
{
	const hrm_task_ops *ops = hrm_task_get(p->codec->task);
	uint8_t    *cells;
	hrm_error	err;
	int			rows,
				cols;

	if (!GridArrayLooks(arr))
		return false;
	rows = ARR_DIMS(arr)[0];
	cols = ARR_DIMS(arr)[1];
	if (rows > ops->grid_rows || cols > ops->grid_cols)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is at most %dx%d, not %dx%d", p->codec->given, ops->grid_rows, ops->grid_cols,
						rows, cols),
				 errhint("%s", SolveHintFor(p, p->codec))));
	cells = palloc(Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (v[i] < 0 || v[i] >= ops->grid_values)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s cell [%d][%d] is %d, not a %s 0-%d", p->codec->label, i / cols + 1,
							i % cols + 1, v[i], p->codec->cell_value, ops->grid_values - 1),
					 errhint("%s", SolveHintFor(p, p->codec))));
		cells[i] = (uint8_t) v[i];
	}
	hrm_error_clear(&err);
	if (ops->grid_encode(rows, cols, cells, p->tokens, &err) != HRM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s grid for model \"%s\"", p->codec->label, p->h->name),
				 errdetail("%s", err.msg),
				 errhint("%s", SolveHintFor(p, p->codec))));
	pfree(cells);
	return true;
}

/*
 * An ARC prediction as int[rows][cols]: the reference evaluator's crop
 * (the largest top-left rectangle of colours); an empty array when the
 * model put no colour in the corner.
 */
static Datum
ArcFormat(const SolveProblem *p, const int32 *pred)
{
	hrm_arc_grid g;
	hrm_error	err;
	int			dims[2],
				lbs[2] = {1, 1};
	Datum	   *d;

	hrm_error_clear(&err);
	if (hrm_arc_crop(pred, HRM_ARC_SEQ, &g, &err) != HRM_OK || g.rows == 0 || g.cols == 0)
		return PointerGetDatum(construct_empty_array(INT4OID));
	dims[0] = g.rows;
	dims[1] = g.cols;
	d = palloc(sizeof(Datum) * g.rows * g.cols);
	for (int i = 0; i < g.rows * g.cols; i++)
		d[i] = Int32GetDatum(g.cell[i]);
	return PointerGetDatum(construct_md_array(d, NULL, 2, dims, lbs, INT4OID, sizeof(int32), true,
											  TYPALIGN_INT));
}

/* ---- token ids: int[seq_len], any model ---- */

static Datum
TokensFormat(const SolveProblem *p, const int32 *pred)
{
	return PointerGetDatum(SolveArrayLike(p->src_arr, pred, p->seq_len));
}

/* The codecs of the tasks with grids; a model of another layout reads token ids. */
static const SolveCodecOps solve_codecs[] = {
	{
		.task = HRM_TASK_SUDOKU,
		.given = "a Sudoku",
		.kind = "sudoku grid",
		.hint = "A Sudoku model reads 81 cells as text (digits, \".\" or \"0\" for blanks) or as int[81] / int[9][9] (0 for blanks).",
		.text_looks = SudokuTextLooks,
		.array_looks = SudokuArrayLooks,
		.read_text = SudokuReadText,
		.read_array = SudokuReadArray,
		.format = SudokuFormat,
	},
	{
		.task = HRM_TASK_MAZE,
		.given = "a maze",
		.kind = "maze grid",
		.hint = "A maze model reads text rows of \"#\" (wall), \" \" (open), \"S\" and \"G\", at most 30x30.",
		.views_hint = "A maze has 8 symmetries (the dihedral transforms): use views => 8 or fewer.",
		.text_looks = MazeTextLooks,
		.read_text = MazeReadText,
		.format = MazeFormat,
	},
	{
		.task = HRM_TASK_ARC,
		.given = "an ARC grid",
		.kind = "arc grid",
		.hint = "An ARC model reads a grid as int[rows][cols] of colours 0 to 9 (at most 30x30), or its 900 token ids as int[900].",
		.label = "ARC",
		.cell_value = "colour",
		.array_looks = GridArrayLooks,
		.read_array = GridReadArray,
		.format = ArcFormat,
	},
};

static const SolveCodecOps solve_tokens_codec = {
	.task = HRM_TASK_GENERIC,
	.given = "token ids",
	.kind = "token grid",
	.format = TokensFormat,
};

/*
 * The codec of a model: the task whose layout (vocab_size, seq_len) it
 * has, else token ids.  *task gets the task's name, else the model's
 * catalog task, else "generic".
 */
static const SolveCodecOps *
SolveCodecOf(const HrmModelHandle *h, const char **task)
{
	const hrm_config *cfg = &h->layout.cfg;

	for (size_t i = 0; i < lengthof(solve_codecs); i++)
	{
		const hrm_task_ops *t = hrm_task_get(solve_codecs[i].task);

		if (cfg->vocab_size == t->vocab_size && cfg->seq_len == t->seq_len)
		{
			*task = t->name;
			return &solve_codecs[i];
		}
	}
	*task = h->task != NULL && h->task[0] != '\0' ? h->task : "generic";
	return &solve_tokens_codec;
}

/* Does another task's codec claim this text / array?  Its wrong-task error. */
static void
SolveOtherTask(const SolveProblem *p, const SolveCodecOps *mc, const char *s, size_t len,
			   const ArrayType *arr)
{
	for (size_t i = 0; i < lengthof(solve_codecs); i++)
	{
		const SolveCodecOps *c = &solve_codecs[i];

		if (c == mc)
			continue;
		if (arr == NULL ? (c->text_looks != NULL && c->text_looks(s, len)) :
			(c->array_looks != NULL && c->array_looks(arr)))
			SolveWrongTask(p, c->given, SolveHintFor(p, mc));
	}
}

/* Parse a text grid with the model's codec mc. */
static void
SolvePrepareText(SolveProblem *p, const SolveCodecOps *mc)
{
	const char *s = VARDATA_ANY(p->src_text);
	size_t		len = VARSIZE_ANY_EXHDR(p->src_text);

	if (mc->read_text == NULL)
		SolveWrongTask(p, "a text grid", SolveHintFor(p, mc));
	SolveOtherTask(p, mc, s, len, NULL);
	p->codec = mc;
	mc->read_text(p, s, len);
}

/* Read an int[] grid: the model's codec's own form, else token ids. */
static void
SolvePrepareArray(SolveProblem *p, const SolveCodecOps *mc)
{
	ArrayType  *arr = p->src_arr;
	int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	const int32 *v;

	if (ARR_ELEMTYPE(arr) != INT4OID)
		elog(ERROR, "hrm_solve: grid array of type %u, expected int4", ARR_ELEMTYPE(arr));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the grid must not contain nulls"),
				 errhint("%s", SolveHintFor(p, mc))));
	v = (const int32 *) ARR_DATA_PTR(arr);

	p->codec = mc;
	if (mc->read_array != NULL && mc->read_array(p, arr, v, n))
		return;

	/* token ids */
	if (n != p->seq_len)
	{
		if (mc != &solve_tokens_codec)
			SolveOtherTask(p, mc, NULL, 0, arr);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the grid has %d tokens but model \"%s\" reads %d", n, p->h->name, p->seq_len),
				 errhint("%s", SolveHintFor(p, mc->read_array != NULL ? mc : &solve_tokens_codec))));
	}
	for (int i = 0; i < n; i++)
	{
		if (v[i] < 0 || v[i] >= p->vocab)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("token %d at position %d is out of the vocabulary of model \"%s\"",
							v[i], i + 1, p->h->name),
					 errdetail("Token ids run from 0 to %d (vocab_size %d).", p->vocab - 1, p->vocab)));
		p->tokens[i] = v[i];
	}
	p->codec = &solve_tokens_codec;
}

/* Check a views argument. */
static int
SolveViewsArg(int views)
{
	if (views < 1 || views > HRM_VIEWS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("views must be between 1 and %d, not %d", HRM_VIEWS_MAX, views),
				 errhint("views => 1 is the single pass; Sudoku and ARC models take up to %d views, maze models up to 8.",
						 HRM_VIEWS_MAX)));
	return views;
}

/* Check and resolve max_steps and halt. */
static void
SolveStepsHalt(SolveArgs *a, int max_steps, const char *halt)
{
	a->max_steps = max_steps;
	if (a->max_steps < 0 || a->max_steps > SOLVE_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_steps must be between 1 and %d (or 0 for the default), not %d",
						SOLVE_MAX_STEPS, a->max_steps),
				 errhint("0 means hrm.default_max_steps, and when that is 0 too the model's halt_max_steps.")));

	if (strcmp(halt, "fixed") == 0)
		a->adaptive = false;
	else if (strcmp(halt, "adaptive") == 0)
		a->adaptive = true;
	else if (strcmp(halt, "default") == 0 || halt[0] == '\0')
		a->adaptive = hrm_default_halt == SOLVE_HALT_ADAPTIVE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid halt mode \"%s\"", halt),
				 errhint("Use 'fixed' (always max_steps segments, the reference), 'adaptive' (stop once q_halt > q_continue) or 'default' (hrm.default_halt).")));
}

/*
 * Resolve the arguments of a call: model name, options.  has_views: the
 * function takes views after halt (hrm_solve, hrm_solve_detail; not
 * hrm_trace).
 */
static void
SolveGetArgs(FunctionCallInfo fcinfo, bool is_text, bool has_views, SolveArgs *a)
{
	/*
	 * (grid, max_steps, halt[, views][, puzzle_id]), after the model if
	 * named.  The model is named when the second argument is the grid, not
	 * max_steps (an integer).  puzzle_id came with 0.2.0: the 0.1.0
	 * functions, which the library still serves until ALTER EXTENSION hrm
	 * UPDATE, lack it.
	 */
	Oid			second = get_fn_expr_argtype(fcinfo->flinfo, 1);
	int			fixed = has_views ? 4 : 3;
	int			off;

	/* ensemble (after puzzle_id) came with 0.2.0 too, for the functions with views */
	if (OidIsValid(second))
		off = second != INT4OID ? 1 : 0;
	else
		off = PG_NARGS() == fixed + (has_views ? 3 : 2) ? 1 : 0;

	memset(a, 0, sizeof(*a));
	if (off == 1)
		a->model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
	{
		/* read through the GUC machinery: hrm_train's code may own the variable */
		const char *dm = hrm_default_model;

		if (dm == NULL || dm[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no model given and hrm.default_model is not set"),
					 errhint("SET hrm.default_model = 'name' (SELECT name FROM hrm.models lists the models), or pass the model: hrm_solve('name', grid).")));
		a->model = pstrdup(dm);
	}
	a->is_text = is_text;
	if (is_text)
		a->grid_text = PG_GETARG_TEXT_PP(off);
	else
		a->grid_arr = PG_GETARG_ARRAYTYPE_P(off);
	SolveStepsHalt(a, PG_GETARG_INT32(off + 1), text_to_cstring(PG_GETARG_TEXT_PP(off + 2)));
	a->views = has_views ? SolveViewsArg(PG_GETARG_INT32(off + 3)) : 1;
	a->puzzle_id = PG_NARGS() > off + fixed ? PG_GETARG_INT32(off + fixed) : 0;
	a->ensemble = has_views && PG_NARGS() > off + fixed + 1 ? PG_GETARG_ARRAYTYPE_P(off + fixed + 1) : NULL;
}

/*
 * The further models of an ensemble (names, n of them) for model h: each
 * from the cache, the caller's right to use it checked there (42501),
 * refused when unknown (42704), named twice or the model itself (22023),
 * too many (54000) or of another task or layout (42809).  hrm_evaluate's
 * "ensemble" option comes here too.  Returns how many.
 */
int
HrmEnsembleResolve(HrmModelHandle *h, char **names, int n, HrmModelHandle **members)
{
	const char *task;
	const char *mtask;
	const SolveCodecOps *mc = SolveCodecOf(h, &task);

	if (n > HRM_SOLVE_ENSEMBLE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an ensemble takes at most %d further models, not %d", HRM_SOLVE_ENSEMBLE_MAX, n),
				 errhint("Keep the models that answer best: the newest checkpoints of a run usually do.")));
	for (int i = 0; i < n; i++)
	{
		const hrm_config *c = &h->layout.cfg;
		const hrm_config *mcfg;

		if (strcmp(names[i], h->name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" is both the model and a member of its ensemble", names[i]),
					 errhint("The ensemble lists the further models; the model itself always votes.")));
		for (int j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("model \"%s\" is named twice in the ensemble", names[i]),
						 errhint("Name each model once.")));
		HrmCheckModelName(names[i]);
		members[i] = hrm_cache_get(names[i]);
		mcfg = &members[i]->layout.cfg;
		if (SolveCodecOf(members[i], &mtask) != mc || mcfg->seq_len != c->seq_len ||
			mcfg->vocab_size != c->vocab_size)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("model \"%s\" of the ensemble is a %s model of %d tokens over %d, model \"%s\" a %s model of %d over %d",
							names[i], mtask, mcfg->seq_len, mcfg->vocab_size, h->name, task, c->seq_len,
							c->vocab_size),
					 errhint("An ensemble's models solve the same task with the same layout, e.g. checkpoints of one training run made models with hrm_import(name, hrm_export_checkpoint(model, step)).")));
	}
	return n;
}

/* The names of a text[] argument (NULL elements refused: 22004). */
static char **
SolveNames(ArrayType *arr, const char *what, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **names;

	*n = 0;
	if (arr == NULL || ARR_NDIM(arr) == 0)
		return NULL;
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional text[] of model names", what),
				 errhint("Pass ARRAY['model_a', 'model_b'].")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	names = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("model %d of %s is null", i + 1, what),
					 errhint("Name every model of the ensemble (array_remove(names, NULL) drops the NULLs).")));
		names[i] = TextDatumGetCString(elems[i]);
	}
	return names;
}

/*
 * The model and options of a call (no grid yet): find the model, resolve
 * the segments.  Returns the model's codec.
 */
static const SolveCodecOps *
SolvePrepareModel(const SolveArgs *a, SolveProblem *p)
{
	const hrm_config *cfg;
	const SolveCodecOps *mc;

	memset(p, 0, sizeof(*p));
	p->h = hrm_cache_get(a->model);
	cfg = &p->h->layout.cfg;
	mc = SolveCodecOf(p->h, &p->task);
	p->seq_len = cfg->seq_len;
	p->vocab = cfg->vocab_size;
	p->steps = a->max_steps > 0 ? a->max_steps :
		hrm_default_max_steps > 0 ? hrm_default_max_steps : cfg->halt_max_steps;
	p->adaptive = a->adaptive;
	p->views = a->views;
	p->is_text = a->is_text;
	p->puzzle_id = a->puzzle_id;
	{
		int			n;
		char	  **names = SolveNames(a->ensemble, "the ensemble", &n);

		p->n_members = HrmEnsembleResolve(p->h, names, n, p->members);
	}
	for (int i = 0; i <= p->n_members; i++)
	{
		const HrmModelHandle *h = i == 0 ? p->h : p->members[i - 1];

		cfg = &h->layout.cfg;
		if (a->puzzle_id < 0 || a->puzzle_id >= Max(cfg->num_puzzle_identifiers, 1))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("puzzle_id %d is out of range for model \"%s\"", a->puzzle_id, h->name),
					 errdetail("Puzzle identifiers run from 0 to %d (num_puzzle_identifiers %d).",
							   Max(cfg->num_puzzle_identifiers, 1) - 1, cfg->num_puzzle_identifiers),
					 errhint("ARC models learn one puzzle embedding per task: pass the task's identifier from training; other models take 0.")));
	}
	return mc;
}

/* Encode the grid of p (p->src_text or p->src_arr) into p->tokens. */
static void
SolvePrepareGrid(SolveProblem *p, const SolveCodecOps *mc)
{
	p->tokens = palloc0(sizeof(int32) * p->seq_len);
	if (p->is_text)
		SolvePrepareText(p, mc);
	else
		SolvePrepareArray(p, mc);
	p->alphabet = p->codec->task;
	if (p->views > hrm_views_limit(p->alphabet))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("views => %d is more than a %s for model \"%s\" allows (%d)", p->views,
						p->codec->kind, p->h->name, hrm_views_limit(p->alphabet)),
				 errhint("%s", p->codec->views_hint != NULL ? p->codec->views_hint :
						 "Views are symmetries of the task: Sudoku grids (text or int[]) and ARC grids (int[rows][cols]) take up to 64, mazes given as text up to 8; token arrays take views => 1.")));
}

static void
SolvePrepare(const SolveArgs *a, SolveProblem *p)
{
	const SolveCodecOps *mc = SolvePrepareModel(a, p);

	p->src_text = a->grid_text;
	p->src_arr = a->grid_arr;
	SolvePrepareGrid(p, mc);
}

/*
 * The prediction of logits [seq_len, vocab] as tokens: the argmax over the
 * task's answer alphabet (Sudoku digits 2..10; maze cells 1..5 inside the
 * maze, PAD outside), over the whole vocabulary for token models
 * (hrm_answer_decode).
 */
static void
SolveDecode(const SolveProblem *p, const float *logits, int32 *pred)
{
	(void) hrm_answer_decode(p->alphabet, p->tokens, logits, p->seq_len, p->vocab, pred);
}

/* The prediction in the input's form. */
static Datum
SolveFormat(const SolveProblem *p, const int32 *pred)
{
	return p->codec->format(p, pred);
}

/* ---------------------------------------------------------------------
 * Running the model
 * --------------------------------------------------------------------- */

/* The shapes a solve's scratch depends on. */
typedef struct SolveShape
{
	int			v[20];
} SolveShape;

static void
SolveShapeOf(const hrm_config *c, SolveShape *k)
{
	int			i = 0;

	memset(k, 0, sizeof(*k));
	k->v[i++] = (int) c->arch;
	k->v[i++] = c->seq_len;
	k->v[i++] = c->vocab_size;
	k->v[i++] = c->num_puzzle_identifiers;
	k->v[i++] = c->puzzle_emb_ndim;
	k->v[i++] = c->puzzle_emb_len;
	k->v[i++] = c->H_cycles;
	k->v[i++] = c->L_cycles;
	k->v[i++] = c->H_layers;
	k->v[i++] = c->L_layers;
	k->v[i++] = c->hidden_size;
	k->v[i++] = c->num_heads;
	k->v[i++] = (int) c->pos_encodings;
	k->v[i++] = c->mlp_t ? 1 : 0;
	k->v[i++] = c->head_dim;
	k->v[i++] = c->inter_size;
	k->v[i++] = c->inter_size_t;
	k->v[i++] = c->P;
	k->v[i++] = c->S;
	Assert(i <= lengthof(k->v));
}

/*
 * The scratch of one-puzzle solves (workspace, carry, buffers: an
 * hrm_views_ctx), kept for the backend per model shape, so a query over
 * many rows allocates nothing per row but the result.
 */
typedef struct SolvePoolSlot
{
	bool		used;
	SolveShape	shape;
	uint64		last_used;
	hrm_views_ctx *ctx;
} SolvePoolSlot;

static SolvePoolSlot solve_pool[SOLVE_POOL_SLOTS];
static uint64 solve_pool_clock = 0;

/*
 * The pool's scratch for a model's shapes, created if needed (evicting the
 * least recently used slot).  The buffers are malloc'd and live as long as
 * the backend; nothing in them survives from one solve to the next.
 */
static hrm_views_ctx *
SolvePoolGet(const hrm_model *m)
{
	SolveShape	shape;
	SolvePoolSlot *s;
	int			victim = 0;

	SolveShapeOf(m->cfg, &shape);
	for (int i = 0; i < SOLVE_POOL_SLOTS; i++)
	{
		if (solve_pool[i].used && memcmp(&solve_pool[i].shape, &shape, sizeof(shape)) == 0)
		{
			solve_pool[i].last_used = ++solve_pool_clock;
			return solve_pool[i].ctx;
		}
	}
	for (int i = 0; i < SOLVE_POOL_SLOTS; i++)
	{
		if (!solve_pool[i].used)
		{
			victim = i;
			break;
		}
		if (solve_pool[i].last_used < solve_pool[victim].last_used)
			victim = i;
	}
	s = &solve_pool[victim];
	if (s->used)
		hrm_views_ctx_free(s->ctx);
	memset(s, 0, sizeof(*s));
	s->ctx = hrm_views_ctx_create();
	if (s->ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for the solving scratch")));
	s->shape = shape;
	s->used = true;
	s->last_used = ++solve_pool_clock;
	return s->ctx;
}

/* Between segments and chunks: stop cleanly when an interrupt is pending. */
static int
SolveInterruptPending(void)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

static int
SolveSegmentStop(void *arg, int segment, int B, const float *logits, const float *q, const uint8_t *ran)
{
	return SolveInterruptPending();
}

static int
SolveProgressStop(void *arg, int64_t done, int64_t total)
{
	return SolveInterruptPending();
}

/* Engine options of a solve. */
static void
SolveViewsOpts(const SolveProblem *p, hrm_views_opts *o)
{
	hrm_views_opts_defaults(o);
	o->task = p->alphabet;
	o->views = p->views;
	o->task_alphabet = true;
	o->infer.segments = p->steps;
	o->infer.adaptive = p->adaptive;
	o->segment_cb = SolveSegmentStop;
	o->progress = SolveProgressStop;
}

/*
 * Run the engine's batched solve (hrm_ensemble_solve over hrm_views_solve:
 * one ACT loop for one puzzle, a batch, views; then the ensemble's vote) on
 * n puzzles tokens [n, seq_len] of the kind of p, with scratch ctxs (one
 * per model of p; NULL: the backend's pool); answers [n, seq_len] and rows
 * [n].  o may override the options (NULL: SolveViewsOpts(p)).
 */
static void
SolveRunMany(const SolveProblem *p, hrm_views_ctx *const *ctxs, const int32 *tokens, int n,
			 const hrm_views_opts *o, int32 *answers, hrm_views_row *rows)
{
	const hrm_model *models[HRM_SOLVE_ENSEMBLE_MAX + 1];
	hrm_views_ctx *pool[HRM_SOLVE_ENSEMBLE_MAX + 1];
	int			k = 1 + p->n_members;
	char	   *what = k == 1 ? psprintf("could not run model \"%s\"", p->h->name) :
		psprintf("could not run the ensemble of model \"%s\"", p->h->name);
	hrm_views_opts opts;
	hrm_error	err;
	hrm_status	st;
	int32	   *pids;

	if (o == NULL)
	{
		SolveViewsOpts(p, &opts);
		o = &opts;
	}
	hrm_error_clear(&err);
	HrmEngineBegin();
	models[0] = &p->h->model;
	for (int j = 1; j < k; j++)
		models[j] = &p->members[j - 1]->model;
	if (ctxs == NULL)
	{
		/* the pool holds a scratch per shape; a call's own are never evicted (SOLVE_POOL_SLOTS) */
		for (int j = 0; j < k; j++)
			pool[j] = SolvePoolGet(models[j]);
		ctxs = pool;
	}
	/* one puzzle: its puzzle_id; a batch: every grid takes p's (0) */
	pids = palloc(sizeof(int32) * Max(n, 1));
	for (int i = 0; i < n; i++)
		pids[i] = p->puzzle_id;
	st = hrm_ensemble_solve(models, k, ctxs, tokens, pids, n, o, answers, rows, &err);
	if (st == HRM_ERR_CANCELLED)
		CHECK_FOR_INTERRUPTS();
	HrmCheck(st, &err, what);
}

/* ---------------------------------------------------------------------
 * SQL functions
 * --------------------------------------------------------------------- */

static Datum
SolveCommon(FunctionCallInfo fcinfo, bool is_text)
{
	SolveArgs	a;
	SolveProblem p;
	hrm_views_row row;
	int32	   *pred;

	SolveGetArgs(fcinfo, is_text, true, &a);
	SolvePrepare(&a, &p);
	pred = palloc(sizeof(int32) * p.seq_len);
	SolveRunMany(&p, NULL, p.tokens, 1, NULL, pred, &row);
	return SolveFormat(&p, pred);
}

/* hrm_solve([model text,] grid text, max_steps int, halt text, views int, puzzle_id int) → text */
Datum
hrm_solve_text(PG_FUNCTION_ARGS)
{
	return SolveCommon(fcinfo, true);
}

/* hrm_solve([model text,] grid int[], max_steps int, halt text, views int, puzzle_id int) → int[] */
Datum
hrm_solve_array(PG_FUNCTION_ARGS)
{
	return SolveCommon(fcinfo, false);
}

/* The blessed result descriptor of a composite-returning call, cached in fn_extra. */
static TupleDesc
SolveResultDesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	MemoryContext oldcxt;

	if (fcinfo->flinfo->fn_extra != NULL)
		return (TupleDesc) fcinfo->flinfo->fn_extra;
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
	MemoryContextSwitchTo(oldcxt);
	fcinfo->flinfo->fn_extra = tupdesc;
	return tupdesc;
}

/* Columns of hrm_solve_detail (and of each row of hrm_solve_batch after its first). */
#define SOLVE_DETAIL_COLS 9

/*
 * The detail columns of an answer: solution, segments, confidence (the
 * sigmoid of the chosen view's last q_halt), valid, keeps_givens, reason,
 * views, agreeing, certainty.  solution_text: give the solution as text
 * (an int[] answer in its text form).
 */
static void
SolveDetailValues(const SolveProblem *p, const int32 *pred, const hrm_views_row *row, bool solution_text,
				  Datum *values, bool *nulls)
{
	const hrm_answer_verdict *v = &row->verdict;

	for (int i = 0; i < SOLVE_DETAIL_COLS; i++)
		nulls[i] = false;
	values[0] = SolveFormat(p, pred);
	if (solution_text && !p->is_text)
	{
		Oid			out;
		bool		isvarlena;

		getTypeOutputInfo(INT4ARRAYOID, &out, &isvarlena);
		values[0] = CStringGetTextDatum(OidOutputFunctionCall(out, values[0]));
	}
	values[1] = Int32GetDatum(row->segments);
	values[2] = Float4GetDatum((float4) (1.0 / (1.0 + exp(-(double) row->q_halt))));
	if (v->known)
	{
		values[3] = BoolGetDatum(v->valid);
		values[4] = BoolGetDatum(v->keeps_givens);
		if (v->reason[0] != '\0')
			values[5] = CStringGetTextDatum(v->reason);
		else
			nulls[5] = true;
	}
	else
		nulls[3] = nulls[4] = nulls[5] = true;
	values[6] = Int32GetDatum(row->views);
	values[7] = Int32GetDatum(row->agree);
	values[8] = Float4GetDatum(row->certainty);
}

static Datum
SolveDetailCommon(FunctionCallInfo fcinfo, bool is_text)
{
	TupleDesc	tupdesc = SolveResultDesc(fcinfo);
	SolveArgs	a;
	SolveProblem p;
	hrm_views_row row;
	int32	   *pred;
	Datum		values[SOLVE_DETAIL_COLS];
	bool		nulls[SOLVE_DETAIL_COLS];

	SolveGetArgs(fcinfo, is_text, true, &a);
	SolvePrepare(&a, &p);
	pred = palloc(sizeof(int32) * p.seq_len);
	SolveRunMany(&p, NULL, p.tokens, 1, NULL, pred, &row);
	SolveDetailValues(&p, pred, &row, false, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * hrm_solve_detail([model text,] grid, max_steps int, halt text, views int, puzzle_id int)
 *   → (solution, segments, confidence, valid, keeps_givens, reason, views, agreeing, certainty)
 */
Datum
hrm_solve_detail_text(PG_FUNCTION_ARGS)
{
	return SolveDetailCommon(fcinfo, true);
}

Datum
hrm_solve_detail_array(PG_FUNCTION_ARGS)
{
	return SolveDetailCommon(fcinfo, false);
}

/* ---------------------------------------------------------------------
 * hrm_trace: the same solve, one row per segment
 * --------------------------------------------------------------------- */

typedef struct TraceState
{
	const SolveProblem *p;
	ReturnSetInfo *rsinfo;
	MemoryContext rowcxt;
	int32	   *prev;			/* previous prediction (the input tokens at first) */
	int32	   *cur;
} TraceState;

/* After every segment (one row, one view): emit the prediction. */
static int
TraceSegment(void *arg, int segment, int B, const float *logits, const float *q, const uint8_t *ran)
{
	TraceState *ts = (TraceState *) arg;
	MemoryContext oldcxt;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	int			changed = 0;
	int32	   *tmp;

	if (SolveInterruptPending())
		return 1;
	if (!ran[0])
		return 0;
	SolveDecode(ts->p, logits, ts->cur);
	for (int i = 0; i < ts->p->seq_len; i++)
		changed += ts->cur[i] != ts->prev[i];

	oldcxt = MemoryContextSwitchTo(ts->rowcxt);
	values[0] = Int32GetDatum(segment);
	values[1] = SolveFormat(ts->p, ts->cur);
	values[2] = Int32GetDatum(changed);
	values[3] = Float4GetDatum(q[0]);
	values[4] = Float4GetDatum(q[1]);
	tuplestore_putvalues(ts->rsinfo->setResult, ts->rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(ts->rowcxt);

	tmp = ts->prev;
	ts->prev = ts->cur;
	ts->cur = tmp;
	return 0;
}

static Datum
TraceCommon(FunctionCallInfo fcinfo, bool is_text)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SolveArgs	a;
	SolveProblem p;
	TraceState	ts;
	hrm_views_opts o;
	hrm_views_row row;
	int32	   *pred;

	SolveGetArgs(fcinfo, is_text, false, &a);
	InitMaterializedSRF(fcinfo, 0);
	SolvePrepare(&a, &p);

	ts.p = &p;
	ts.rsinfo = rsinfo;
	ts.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "hrm_trace row",
									  ALLOCSET_DEFAULT_SIZES);
	ts.prev = palloc(sizeof(int32) * p.seq_len);
	ts.cur = palloc(sizeof(int32) * p.seq_len);
	pred = palloc(sizeof(int32) * p.seq_len);
	memcpy(ts.prev, p.tokens, sizeof(int32) * p.seq_len);
	SolveViewsOpts(&p, &o);
	o.segment_cb = TraceSegment;
	o.segment_arg = &ts;
	SolveRunMany(&p, NULL, p.tokens, 1, &o, pred, &row);
	MemoryContextDelete(ts.rowcxt);
	return (Datum) 0;
}

/*
 * hrm_trace([model text,] grid, max_steps int, halt text, puzzle_id int)
 *   → SETOF (segment, prediction, changed, q_halt, q_continue)
 */
Datum
hrm_trace_text(PG_FUNCTION_ARGS)
{
	return TraceCommon(fcinfo, true);
}

Datum
hrm_trace_array(PG_FUNCTION_ARGS)
{
	return TraceCommon(fcinfo, false);
}

/* ---------------------------------------------------------------------
 * hrm_solve_batch: many grids, one engine call per chunk
 * --------------------------------------------------------------------- */

/* Which grid of a batch an error is about (an error context line). */
typedef struct BatchErrPos
{
	int64		index;			/* 1-based position in the input */
	bool		has_id;
	bool		id_null;
	int64		id;
} BatchErrPos;

static void
BatchErrContext(void *arg)
{
	BatchErrPos *pos = (BatchErrPos *) arg;

	if (pos->index <= 0)
		return;
	if (!pos->has_id)
		errcontext("grid " INT64_FORMAT " of hrm_solve_batch", pos->index);
	else if (pos->id_null)
		errcontext("row " INT64_FORMAT " (id NULL) of hrm_solve_batch's query", pos->index);
	else
		errcontext("row " INT64_FORMAT " (id " INT64_FORMAT ") of hrm_solve_batch's query", pos->index, pos->id);
}

static void
BatchFreeCtx(void *ptr)
{
	hrm_views_ctx_free((hrm_views_ctx *) ptr);
}

/* State of one hrm_solve_batch call. */
typedef struct BatchState
{
	SolveArgs	args;
	SolveProblem model;			/* the model and options (no grid) */
	const SolveCodecOps *model_codec;
	int64		generation;		/* of the model when the batch began */
	hrm_views_opts opts;
	hrm_views_ctx *ctxs[HRM_SOLVE_ENSEMBLE_MAX + 1];	/* this call's scratch, one per model */
	char	   *member_name[HRM_SOLVE_ENSEMBLE_MAX];	/* the ensemble's, as given */
	int64		member_generation[HRM_SOLVE_ENSEMBLE_MAX];
	int			chunk;			/* puzzles per engine call */
	ReturnSetInfo *rsinfo;
	MemoryContext chunkcxt;		/* grids and answers of one chunk */
	ErrorContextCallback errcb;
	BatchErrPos pos;
	/* the chunk */
	int			n;
	SolveProblem *probs;		/* [chunk] */
	int64	   *index;			/* [chunk] 1-based input positions */
	bool	   *id_null;		/* [chunk] */
	int64	   *ids;			/* [chunk] (query form) */
	int32	   *tokens;			/* [chunk, seq_len] */
	int32	   *answers;		/* [chunk, seq_len] */
	hrm_views_row *rows;		/* [chunk] */
	bool		has_id;
	HrmProgress *prog;			/* NOTICE lines, the hrm.progress row */
	int64		done;			/* grids solved */
} BatchState;

/*
 * Arguments of hrm_solve_batch(model, grids | query, max_steps, halt,
 * views[, ensemble]); the tuplestore, the models and the scratch.
 */
static void
BatchBegin(FunctionCallInfo fcinfo, BatchState *b, bool is_text, bool has_id)
{
	MemoryContext cxt = CurrentMemoryContext;

	memset(b, 0, sizeof(*b));
	b->args.model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	b->args.is_text = is_text;
	SolveStepsHalt(&b->args, PG_GETARG_INT32(2), text_to_cstring(PG_GETARG_TEXT_PP(3)));
	b->args.views = SolveViewsArg(PG_GETARG_INT32(4));
	/* 0.1.0's hrm_solve_batch has no ensemble */
	b->args.ensemble = PG_NARGS() > 5 ? PG_GETARG_ARRAYTYPE_P(5) : NULL;
	b->has_id = has_id;

	InitMaterializedSRF(fcinfo, 0);
	b->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	b->model_codec = SolvePrepareModel(&b->args, &b->model);
	b->generation = b->model.h->generation;
	b->model.alphabet = b->model_codec->task;
	SolveViewsOpts(&b->model, &b->opts);
	b->chunk = hrm_views_chunk_puzzles(&b->model.h->model, &b->opts);

	for (int j = 0; j < b->model.n_members; j++)
	{
		b->member_name[j] = pstrdup(b->model.members[j]->name);
		b->member_generation[j] = b->model.members[j]->generation;
	}
	for (int j = 0; j <= b->model.n_members; j++)
	{
		b->ctxs[j] = hrm_views_ctx_create();
		if (b->ctxs[j] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory for the batch's scratch")));
		(void) HrmTrack(b->ctxs[j], BatchFreeCtx);
	}
	b->probs = palloc0(sizeof(SolveProblem) * b->chunk);
	b->index = palloc0(sizeof(int64) * b->chunk);
	b->id_null = palloc0(sizeof(bool) * b->chunk);
	b->ids = palloc0(sizeof(int64) * b->chunk);
	b->tokens = palloc(sizeof(int32) * (size_t) b->chunk * b->model.seq_len);
	b->answers = palloc(sizeof(int32) * (size_t) b->chunk * b->model.seq_len);
	b->rows = palloc(sizeof(hrm_views_row) * b->chunk);
	b->chunkcxt = AllocSetContextCreate(cxt, "hrm_solve_batch chunk", ALLOCSET_DEFAULT_SIZES);

	b->errcb.callback = BatchErrContext;
	b->errcb.arg = &b->pos;
	b->errcb.previous = error_context_stack;
	error_context_stack = &b->errcb;
	b->prog = HrmProgressBegin("hrm_solve_batch", b->args.model, "solving", "grids", -1);
}

static void
BatchEnd(BatchState *b)
{
	error_context_stack = b->errcb.previous;
	MemoryContextDelete(b->chunkcxt);
	HrmProgressEnd(b->prog);
}

/*
 * Add a grid to the chunk (in chunkcxt): parse and encode it as hrm_solve
 * would.  index: its 1-based position in the input.
 */
static void
BatchAdd(BatchState *b, int64 index, bool id_null, int64 id, text *grid_text, ArrayType *grid_arr)
{
	SolveProblem *p = &b->probs[b->n];
	MemoryContext old = MemoryContextSwitchTo(b->chunkcxt);

	b->pos.index = index;
	b->pos.has_id = b->has_id;
	b->pos.id_null = id_null;
	b->pos.id = id;
	*p = b->model;
	p->src_text = grid_text;
	p->src_arr = grid_arr;
	SolvePrepareGrid(p, b->model_codec);
	memcpy(b->tokens + (size_t) b->n * p->seq_len, p->tokens, sizeof(int32) * p->seq_len);
	b->index[b->n] = index;
	b->id_null[b->n] = id_null;
	b->ids[b->n] = id;
	b->n++;
	MemoryContextSwitchTo(old);
}

/* Solve the chunk in one engine call and emit its rows in input order. */
static void
BatchFlush(BatchState *b)
{
	MemoryContext old;
	int			T = b->model.seq_len;

	if (b->n == 0)
		return;
	b->pos.index = 0;			/* an engine error is about the batch, not one grid */
	CHECK_FOR_INTERRUPTS();
	HrmProgressTick(b->prog, b->done);
	old = MemoryContextSwitchTo(b->chunkcxt);
	SolveRunMany(&b->model, b->ctxs, b->tokens, b->n, &b->opts, b->answers, b->rows);
	b->done += b->n;
	HrmProgressUpdate(b->prog, b->done);
	for (int i = 0; i < b->n; i++)
	{
		Datum		values[SOLVE_DETAIL_COLS + 1];
		bool		nulls[SOLVE_DETAIL_COLS + 1];

		if (b->has_id)
		{
			values[0] = Int64GetDatum(b->ids[i]);
			nulls[0] = b->id_null[i];
		}
		else
		{
			values[0] = Int32GetDatum((int32) b->index[i]);
			nulls[0] = false;
		}
		SolveDetailValues(&b->probs[i], b->answers + (size_t) i * T, &b->rows[i], b->has_id,
						  values + 1, nulls + 1);
		tuplestore_putvalues(b->rsinfo->setResult, b->rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->chunkcxt);
	b->n = 0;
}

/* hrm_solve_batch(model text, grids text[], max_steps, halt, views) → SETOF (idx, detail columns) */
Datum
hrm_solve_batch_text(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	BatchState	b;
	Datum	   *elems;
	bool	   *enulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grids must be a one-dimensional text[], not %d-dimensional", ARR_NDIM(arr)),
				 errhint("Pass ARRAY[grid1, grid2, ...] or array_agg(puzzle ORDER BY id).")));
	BatchBegin(fcinfo, &b, true, false);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	HrmProgressPhase(b.prog, "solving", n);
	for (int i = 0; i < n; i++)
	{
		if (enulls[i])
		{
			b.pos.index = i + 1;
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("grid %d of the batch is null", i + 1),
					 errhint("Leave NULLs out of the array (array_remove(grids, NULL)), or solve them apart.")));
		}
		BatchAdd(&b, i + 1, false, 0, DatumGetTextPP(elems[i]), NULL);
		if (b.n == b.chunk)
			BatchFlush(&b);
	}
	BatchFlush(&b);
	BatchEnd(&b);
	return (Datum) 0;
}

/*
 * hrm_solve_batch(model text, grids int[], max_steps, halt, views): one grid
 * per element of the first dimension (int[n][81], int[n][9][9],
 * int[n][seq_len], ...); each answer has the shape of a grid.
 */
Datum
hrm_solve_batch_array(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	BatchState	b;
	int			ndim = ARR_NDIM(arr);
	int			count,
				per;
	bits8	   *nullmap;
	const int32 *data;

	if (ARR_ELEMTYPE(arr) != INT4OID)
		elog(ERROR, "hrm_solve_batch: grid array of type %u, expected int4", ARR_ELEMTYPE(arr));
	if (ndim == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grids must hold one grid per element of their first dimension, not be one int[%d]",
						ARR_DIMS(arr)[0]),
				 errhint("Pass an int[n][81], int[n][9][9] or int[n][seq_len] array, e.g. ARRAY[grid1, grid2]; one grid is hrm_solve's.")));
	BatchBegin(fcinfo, &b, false, false);
	if (ndim == 0)
	{
		BatchEnd(&b);
		return (Datum) 0;
	}
	count = ARR_DIMS(arr)[0];
	per = ArrayGetNItems(ndim - 1, ARR_DIMS(arr) + 1);
	HrmProgressPhase(b.prog, "solving", count);
	nullmap = ARR_NULLBITMAP(arr);
	if (nullmap != NULL)
	{
		for (int64 k = 0; k < (int64) count * per; k++)
			if (!(nullmap[k / 8] & (1 << (k % 8))))
			{
				b.pos.index = k / per + 1;
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("grid " INT64_FORMAT " of the batch contains a null", k / per + 1),
						 errhint("Every cell must be a number (0 for a blank Sudoku cell).")));
			}
	}
	data = (const int32 *) ARR_DATA_PTR(arr);
	for (int i = 0; i < count; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(b.chunkcxt);
		size_t		nbytes = ARR_OVERHEAD_NONULLS(ndim - 1) + sizeof(int32) * (size_t) per;
		ArrayType  *g = (ArrayType *) palloc0(nbytes);

		SET_VARSIZE(g, nbytes);
		g->ndim = ndim - 1;
		g->dataoffset = 0;
		g->elemtype = INT4OID;
		memcpy(ARR_DIMS(g), ARR_DIMS(arr) + 1, sizeof(int) * (ndim - 1));
		memcpy(ARR_LBOUND(g), ARR_LBOUND(arr) + 1, sizeof(int) * (ndim - 1));
		memcpy(ARR_DATA_PTR(g), data + (size_t) i * per, sizeof(int32) * (size_t) per);
		MemoryContextSwitchTo(old);
		BatchAdd(&b, i + 1, false, 0, NULL, g);
		if (b.n == b.chunk)
			BatchFlush(&b);
	}
	BatchFlush(&b);
	BatchEnd(&b);
	return (Datum) 0;
}

/*
 * hrm_solve_batch(model text, query text, max_steps, halt, views): the
 * grids of a query's rows (first column an integer id, second the grid as
 * text or int[]), read by a cursor chunk by chunk; one row per query row
 * in the query's order: (id bigint, detail columns; the solution as text).
 */
Datum
hrm_solve_batch_query(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *sql = HrmSourceQuery(source, "hrm_solve_batch query");
	BatchState	b;
	SPIPlanPtr	plan;
	Portal		portal;
	Oid			id_type = InvalidOid,
				grid_type = InvalidOid;
	int64		row = 0;
	int			guc_level;

	/* the grid column's type decides the codec: peek at the plan first */
	HrmSpiConnect();
	plan = SPI_prepare_cursor(sql, 0, NULL, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("hrm_solve_batch query could not be prepared: %s", SPI_result_code_string(SPI_result))));
	HrmCheckReadOnly(plan, "hrm_solve_batch query");

	/*
	 * Read-only as a training source is, functions the query calls included
	 * (25006): the setting holds while the cursor runs and is restored after
	 * it; an ERROR unwinds it with the (sub)transaction.
	 */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("transaction_read_only", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	{
		TupleDesc	desc = portal->tupDesc;

		if (desc == NULL || desc->natts < 2)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("hrm_solve_batch query must return (id, puzzle) columns, it returns %d",
							desc ? desc->natts : 0),
					 errhint("SELECT id, puzzle FROM ...: an integer id, then the grid as text or int[].")));
		id_type = getBaseType(TupleDescAttr(desc, 0)->atttypid);
		grid_type = getBaseType(TupleDescAttr(desc, 1)->atttypid);
		if (id_type != INT2OID && id_type != INT4OID && id_type != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the first column of hrm_solve_batch's query (the id) has type %s, not an integer type",
							format_type_be(TupleDescAttr(desc, 0)->atttypid)),
					 errhint("Select an integer id first, e.g. row_number() OVER () or a serial key.")));
		if (grid_type != TEXTOID && grid_type != VARCHAROID && grid_type != INT4ARRAYOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the second column of hrm_solve_batch's query (the grid) has type %s",
							format_type_be(TupleDescAttr(desc, 1)->atttypid)),
					 errhint("A grid is text (Sudoku, maze) or integer[] (Sudoku, token sequences).")));
	}

	BatchBegin(fcinfo, &b, grid_type != INT4ARRAYOID, true);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, b.chunk);
		if (SPI_processed == 0)
			break;
		/* the query may have run anything: find the models again, and insist on one version */
		for (int j = 0; j <= b.model.n_members; j++)
		{
			const char *name = j == 0 ? b.args.model : b.member_name[j - 1];
			HrmModelHandle *h = hrm_cache_get(name);

			if (h->generation != (j == 0 ? b.generation : b.member_generation[j - 1]))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("model \"%s\" changed while hrm_solve_batch ran", name),
						 errhint("Run the batch again; its answers would come from two versions of the model.")));
			if (j == 0)
				b.model.h = h;
			else
				b.model.members[j - 1] = h;
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		id_null,
						g_null;
			Datum		idd = SPI_getbinval(tup, desc, 1, &id_null);
			Datum		gd = SPI_getbinval(tup, desc, 2, &g_null);
			int64		id = 0;
			MemoryContext old;
			text	   *gt = NULL;
			ArrayType  *ga = NULL;

			row++;
			if (!id_null)
				id = id_type == INT2OID ? DatumGetInt16(idd) : id_type == INT4OID ? DatumGetInt32(idd) :
					DatumGetInt64(idd);
			b.pos.index = row;
			b.pos.has_id = true;
			b.pos.id_null = id_null;
			b.pos.id = id;
			if (g_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("the grid of row " INT64_FORMAT " of the query is null", row),
						 errhint("Filter NULL grids out of the query (WHERE puzzle IS NOT NULL).")));
			old = MemoryContextSwitchTo(b.chunkcxt);
			if (grid_type == INT4ARRAYOID)
				ga = DatumGetArrayTypePCopy(gd);
			else
				gt = (text *) PG_DETOAST_DATUM_COPY(gd);
			MemoryContextSwitchTo(old);
			BatchAdd(&b, row, id_null, id, gt, ga);
		}
		SPI_freetuptable(SPI_tuptable);
		BatchFlush(&b);
	}
	SPI_cursor_close(portal);
	AtEOXact_GUC(true, guc_level);
	BatchEnd(&b);
	SPI_finish();
	return (Datum) 0;
}

/* hrm_solve_task(model text) → text: the task (and codec) hrm_solve uses for a model. */
Datum
hrm_solve_task(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HrmModelHandle *h = hrm_cache_get(name);
	const char *task;

	(void) SolveCodecOf(h, &task);
	PG_RETURN_TEXT_P(cstring_to_text(task));
}
