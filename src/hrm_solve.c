/*-------------------------------------------------------------------------
 *
 * hrm_solve.c
 *		hrm_solve, hrm_solve_detail and hrm_trace: solve a puzzle with a
 *		model, the answer in the puzzle's own form.
 *
 * A grid is a Sudoku (text of 81 cells, int[81] or int[9][9]), a maze (text
 * rows of "# SG") or, for any other model, an int[] of token ids.  The
 * codec follows from the model's layout (hrm_solve_task): vocab 11 / seq 81
 * is a Sudoku model, vocab 6 / seq 900 a maze model, vocab 12 / seq 900 an
 * ARC model (token arrays), anything else reads token arrays.
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
 * Cost per call: the model comes from the cache (hrm_cache_get, shared
 * memory); the workspace and carry for one row live in a small per-backend
 * pool keyed by the model's shapes, so a query over many rows allocates
 * nothing per row but the result.  CHECK_FOR_INTERRUPTS runs between
 * segments.
 *
 * SQLSTATEs (docs/solve.md):
 *   22P02 invalid_text_representation   a text grid the model's codec cannot
 *                                       read (length, characters, ragged
 *                                       rows, more than 30x30, S/G count)
 *   22023 invalid_parameter_value       an array grid of the wrong shape or
 *                                       with values outside the alphabet /
 *                                       vocabulary; bad max_steps or halt
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
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "hrm_pg.h"

#include "maze.h"
#include "sudoku.h"

/* Upper bound on segments per solve (as hrm_forward). */
#define SOLVE_MAX_STEPS 65536

/* Workspaces kept per backend (one per distinct model shape in use). */
#define SOLVE_POOL_SLOTS 4

/* ARC layout (the reference's ARC datasets: 30x30 canvas, 10 colours + PAD + EOS). */
#define SOLVE_ARC_VOCAB 12
#define SOLVE_ARC_SEQ 900

PG_FUNCTION_INFO_V1(hrm_solve_text);
PG_FUNCTION_INFO_V1(hrm_solve_array);
PG_FUNCTION_INFO_V1(hrm_solve_detail_text);
PG_FUNCTION_INFO_V1(hrm_solve_detail_array);
PG_FUNCTION_INFO_V1(hrm_trace_text);
PG_FUNCTION_INFO_V1(hrm_trace_array);
PG_FUNCTION_INFO_V1(hrm_solve_task);

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

static char *hrm_default_model = NULL;
static int	hrm_default_max_steps = 0;
static int	hrm_default_halt = SOLVE_HALT_FIXED;

/*
 * GUCs of the solving functions; called from _PG_init.
 */
void
HrmSolveInit(void)
{
	const char *dm = GetConfigOption("hrm.default_model", true, false);

	/* hrm_train(regclass) reads the same setting; whoever runs first defines it */
	if (dm == NULL || (GetConfigOptionFlags("hrm.default_model", true) & GUC_CUSTOM_PLACEHOLDER))
		DefineCustomStringVariable("hrm.default_model",
								   "Sets the model hrm_solve(grid) uses when no model is named.",
								   NULL,
								   &hrm_default_model,
								   "",
								   PGC_USERSET,
								   0,
								   NULL, NULL, NULL);
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
 * Tasks and codecs
 * --------------------------------------------------------------------- */

typedef enum SolveCodec
{
	CODEC_SUDOKU,				/* text / int[81] / int[9][9] */
	CODEC_MAZE,					/* text rows of "# SG" */
	CODEC_TOKENS				/* int[] of token ids */
} SolveCodec;

/*
 * The task of a model, from its layout first (the Sudoku, maze and ARC
 * layouts), else its catalog task, else "generic"; *codec gets the codec
 * hrm_solve uses for text grids (CODEC_TOKENS: none).
 */
static const char *
SolveTaskOf(const HrmModelHandle *h, SolveCodec *codec)
{
	const hrm_config *cfg = &h->layout.cfg;

	*codec = CODEC_TOKENS;
	if (cfg->vocab_size == HRM_SUDOKU_VOCAB && cfg->seq_len == HRM_SUDOKU_CELLS)
	{
		*codec = CODEC_SUDOKU;
		return "sudoku";
	}
	if (cfg->vocab_size == HRM_MAZE_VOCAB && cfg->seq_len == HRM_MAZE_SEQ)
	{
		*codec = CODEC_MAZE;
		return "maze";
	}
	if (cfg->vocab_size == SOLVE_ARC_VOCAB && cfg->seq_len == SOLVE_ARC_SEQ)
		return "arc";
	if (h->task != NULL && h->task[0] != '\0')
		return h->task;
	return "generic";
}

/* What the caller asked for. */
typedef struct SolveArgs
{
	char	   *model;
	bool		is_text;
	text	   *grid_text;
	ArrayType  *grid_arr;
	int			max_steps;		/* as given: 0 = default */
	bool		adaptive;
} SolveArgs;

/* A puzzle ready for the engine, and how to give the answer back. */
typedef struct SolveProblem
{
	HrmModelHandle *h;
	const char *task;
	SolveCodec codec;			/* of this input (CODEC_TOKENS for arrays of non-Sudoku models) */
	int			seq_len;
	int			vocab;
	int			steps;			/* segments to run at most */
	bool		adaptive;
	int32	   *tokens;			/* [seq_len] */
	/* the input's form */
	bool		is_text;
	text	   *src_text;
	ArrayType  *src_arr;
	/* codec state */
	uint8_t		cells[HRM_SUDOKU_CELLS];	/* Sudoku: the puzzle */
	hrm_maze	maze;			/* maze: the question */
} SolveProblem;

/* Does a text grid look like a maze ("#", "S", "G", "o") or a Sudoku (digits, ".")? */
static void
SolveTextLooks(const char *s, size_t len, bool *maze_like, bool *sudoku_like)
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
	*maze_like = m && !d;
	*sudoku_like = d && !m;
}

static void
SolveWrongTask(const SolveProblem *p, const char *given, const char *hint) pg_attribute_noreturn();

static void
SolveWrongTask(const SolveProblem *p, const char *given, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("%s given to model \"%s\", a %s model", given, p->h->name, p->task),
			 errdetail("The model's layout is vocab_size %d, seq_len %d.", p->vocab, p->seq_len),
			 errhint("%s", hint)));
	pg_unreachable();
}

/* A hint naming what this model reads. */
static const char *
SolveHintFor(const SolveProblem *p, SolveCodec model_codec)
{
	switch (model_codec)
	{
		case CODEC_SUDOKU:
			return "A Sudoku model reads 81 cells as text (digits, \".\" or \"0\" for blanks) or as int[81] / int[9][9] (0 for blanks).";
		case CODEC_MAZE:
			return "A maze model reads text rows of \"#\" (wall), \" \" (open), \"S\" and \"G\", at most 30x30.";
		case CODEC_TOKENS:
			break;
	}
	return psprintf("Pass the model's %d token ids (0 to %d) as an int[].", p->seq_len, p->vocab - 1);
}

/* Parse a text grid with the model's codec. */
static void
SolvePrepareText(SolveProblem *p, SolveCodec model_codec)
{
	const char *s = VARDATA_ANY(p->src_text);
	size_t		len = VARSIZE_ANY_EXHDR(p->src_text);
	bool		maze_like,
				sudoku_like;
	hrm_error	err;
	int			start,
				goal;

	hrm_error_clear(&err);
	SolveTextLooks(s, len, &maze_like, &sudoku_like);
	switch (model_codec)
	{
		case CODEC_SUDOKU:
			if (maze_like)
				SolveWrongTask(p, "a maze", SolveHintFor(p, model_codec));
			if (hrm_sudoku_parse(s, len, p->cells, &err) != HRM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid Sudoku for model \"%s\"", p->h->name),
						 errdetail("%s", err.msg),
						 errhint("%s", SolveHintFor(p, model_codec))));
			hrm_sudoku_to_tokens(p->cells, p->tokens);
			break;
		case CODEC_MAZE:
			if (sudoku_like)
				SolveWrongTask(p, "a Sudoku", SolveHintFor(p, model_codec));
			if (hrm_maze_parse(s, len, &p->maze, &err) != HRM_OK ||
				hrm_maze_endpoints(&p->maze, &start, &goal, &err) != HRM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid maze for model \"%s\"", p->h->name),
						 errdetail("%s", err.msg),
						 errhint("%s", SolveHintFor(p, model_codec))));
			hrm_maze_to_tokens(&p->maze, p->tokens);
			break;
		case CODEC_TOKENS:
			SolveWrongTask(p, "a text grid", SolveHintFor(p, model_codec));
	}
	p->codec = model_codec;
}

/* Describe an array's shape for messages: "int[9][8]". */
static char *
SolveArrayShape(ArrayType *arr)
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

/* Read an int[] grid. */
static void
SolvePrepareArray(SolveProblem *p, SolveCodec model_codec)
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
				 errhint("%s", SolveHintFor(p, model_codec))));
	v = (const int32 *) ARR_DATA_PTR(arr);

	if (model_codec == CODEC_SUDOKU)
	{
		bool		shape_ok = (ARR_NDIM(arr) == 1 && n == HRM_SUDOKU_CELLS) ||
			(ARR_NDIM(arr) == 2 && ARR_DIMS(arr)[0] == 9 && ARR_DIMS(arr)[1] == 9);

		if (!shape_ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a Sudoku grid is int[81] or int[9][9], not %s", SolveArrayShape(arr)),
					 errhint("%s", SolveHintFor(p, model_codec))));
		for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		{
			if (v[i] < 0 || v[i] > 9)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("Sudoku cell %d (r%dc%d) is %d, not a digit 0-9", i + 1, i / 9 + 1,
								i % 9 + 1, v[i]),
						 errhint("%s", SolveHintFor(p, model_codec))));
			p->cells[i] = (uint8_t) v[i];
		}
		hrm_sudoku_to_tokens(p->cells, p->tokens);
		p->codec = CODEC_SUDOKU;
		return;
	}

	/* a token sequence */
	if (n != p->seq_len)
	{
		if (model_codec == CODEC_MAZE &&
			(n == HRM_SUDOKU_CELLS || (ARR_NDIM(arr) == 2 && ARR_DIMS(arr)[0] == 9 && ARR_DIMS(arr)[1] == 9)))
			SolveWrongTask(p, "a Sudoku", SolveHintFor(p, model_codec));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the grid has %d tokens but model \"%s\" reads %d", n, p->h->name, p->seq_len),
				 errhint("%s", SolveHintFor(p, CODEC_TOKENS))));
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
	p->codec = CODEC_TOKENS;
}

/*
 * Resolve the arguments of a call: model name, options; find the model and
 * encode the grid.
 */
static void
SolveGetArgs(FunctionCallInfo fcinfo, bool is_text, SolveArgs *a)
{
	int			off = PG_NARGS() == 4 ? 1 : 0;
	char	   *halt;

	memset(a, 0, sizeof(*a));
	if (off == 1)
		a->model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
	{
		/* read through the GUC machinery: hrm_train's code may own the variable */
		const char *dm = GetConfigOption("hrm.default_model", true, false);

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

	a->max_steps = PG_GETARG_INT32(off + 1);
	if (a->max_steps < 0 || a->max_steps > SOLVE_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_steps must be between 1 and %d (or 0 for the default), not %d",
						SOLVE_MAX_STEPS, a->max_steps),
				 errhint("0 means hrm.default_max_steps, and when that is 0 too the model's halt_max_steps.")));

	halt = text_to_cstring(PG_GETARG_TEXT_PP(off + 2));
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

static void
SolvePrepare(const SolveArgs *a, SolveProblem *p)
{
	SolveCodec	model_codec;
	const hrm_config *cfg;

	memset(p, 0, sizeof(*p));
	p->h = hrm_cache_get(a->model);
	cfg = &p->h->layout.cfg;
	p->task = SolveTaskOf(p->h, &model_codec);
	p->seq_len = cfg->seq_len;
	p->vocab = cfg->vocab_size;
	p->steps = a->max_steps > 0 ? a->max_steps :
		hrm_default_max_steps > 0 ? hrm_default_max_steps : cfg->halt_max_steps;
	p->adaptive = a->adaptive;
	p->tokens = palloc0(sizeof(int32) * p->seq_len);
	p->is_text = a->is_text;
	p->src_text = a->grid_text;
	p->src_arr = a->grid_arr;
	if (a->is_text)
		SolvePrepareText(p, model_codec);
	else
		SolvePrepareArray(p, model_codec);
}

/* ---------------------------------------------------------------------
 * Decoding and formatting
 * --------------------------------------------------------------------- */

/* Index of the largest of v[lo..hi] (the first one on ties). */
static inline int
SolveArgmax(const float *v, int lo, int hi)
{
	int			best = lo;

	for (int k = lo + 1; k <= hi; k++)
		if (v[k] > v[best])
			best = k;
	return best;
}

/*
 * The prediction of logits [seq_len, vocab] as tokens: the argmax over the
 * task's answer alphabet (Sudoku digits 2..10; maze cells 1..5 inside the
 * maze, PAD outside), over the whole vocabulary for token models.
 */
static void
SolveDecode(const SolveProblem *p, const float *logits, int32 *pred)
{
	int			V = p->vocab;

	switch (p->codec)
	{
		case CODEC_SUDOKU:
			for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
				pred[i] = SolveArgmax(logits + (size_t) i * V, HRM_SUDOKU_BLANK + 1, HRM_SUDOKU_VOCAB - 1);
			break;
		case CODEC_MAZE:
			for (int i = 0; i < HRM_MAZE_SEQ; i++)
			{
				int			r = i / HRM_MAZE_MAX,
							c = i % HRM_MAZE_MAX;

				pred[i] = (r < p->maze.rows && c < p->maze.cols) ?
					SolveArgmax(logits + (size_t) i * V, HRM_MAZE_WALL, HRM_MAZE_PATH) : HRM_MAZE_PAD;
			}
			break;
		case CODEC_TOKENS:
			for (int i = 0; i < p->seq_len; i++)
				pred[i] = SolveArgmax(logits + (size_t) i * V, 0, V - 1);
			break;
	}
}

/* Sudoku tokens (2..10) to cells (1..9). */
static void
SolveSudokuCells(const int32 *pred, uint8_t cells[HRM_SUDOKU_CELLS])
{
	for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
		cells[i] = (uint8_t) (pred[i] - 1);
}

/* Maze tokens back to a maze of the question's shape. */
static void
SolveMazeAnswer(const SolveProblem *p, const int32 *pred, hrm_maze *ans)
{
	ans->rows = p->maze.rows;
	ans->cols = p->maze.cols;
	for (int r = 0; r < ans->rows; r++)
		for (int c = 0; c < ans->cols; c++)
			ans->cell[r * ans->cols + c] = (uint8_t) pred[r * HRM_MAZE_MAX + c];
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

/* The prediction in the input's form. */
static Datum
SolveFormat(const SolveProblem *p, const int32 *pred)
{
	switch (p->codec)
	{
		case CODEC_SUDOKU:
			if (p->is_text)
			{
				char		chars[HRM_SUDOKU_CELLS];
				text	   *t;

				for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
					chars[i] = (char) ('0' + pred[i] - 1);
				t = SolveRewriteText(p->src_text, true, chars, HRM_SUDOKU_CELLS);
				if (t == NULL)
				{
					uint8_t		cells[HRM_SUDOKU_CELLS];
					char		buf[HRM_SUDOKU_CELLS + 1];

					SolveSudokuCells(pred, cells);
					hrm_sudoku_format(cells, buf);
					t = cstring_to_text(buf);
				}
				return PointerGetDatum(t);
			}
			else
			{
				int32		vals[HRM_SUDOKU_CELLS];

				for (int i = 0; i < HRM_SUDOKU_CELLS; i++)
					vals[i] = pred[i] - 1;
				return PointerGetDatum(SolveArrayLike(p->src_arr, vals, HRM_SUDOKU_CELLS));
			}
		case CODEC_MAZE:
			{
				hrm_maze	ans;
				int			n = p->maze.rows * p->maze.cols;
				char	   *chars = palloc(n + 1);
				text	   *t;

				SolveMazeAnswer(p, pred, &ans);
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
		case CODEC_TOKENS:
			break;
	}
	return PointerGetDatum(SolveArrayLike(p->src_arr, pred, p->seq_len));
}

/* The task's verdict on an answer: valid, keeps_givens, reason (NULL = unknown / none). */
typedef struct SolveVerdict
{
	bool		known;
	bool		valid;
	bool		keeps_givens;
	char		reason[160];
} SolveVerdict;

static void
SolveCheck(const SolveProblem *p, const int32 *pred, SolveVerdict *v)
{
	memset(v, 0, sizeof(*v));
	switch (p->codec)
	{
		case CODEC_SUDOKU:
			{
				uint8_t		ans[HRM_SUDOKU_CELLS];
				hrm_sudoku_verdict sv;

				SolveSudokuCells(pred, ans);
				hrm_sudoku_check(p->cells, ans, &sv);
				v->known = true;
				v->valid = sv.valid;
				v->keeps_givens = sv.keeps_givens;
				strlcpy(v->reason, sv.reason, sizeof(v->reason));
				break;
			}
		case CODEC_MAZE:
			{
				hrm_maze	ans;
				hrm_maze_verdict mv;
				hrm_error	err;
				int			n = p->maze.rows * p->maze.cols;

				SolveMazeAnswer(p, pred, &ans);
				hrm_error_clear(&err);
				v->known = true;
				/* givens: walls, S and G stay; open cells stay open or join the path */
				v->keeps_givens = true;
				for (int i = 0; i < n && v->keeps_givens; i++)
				{
					int			q = p->maze.cell[i],
								a = ans.cell[i];

					if (q == HRM_MAZE_OPEN ? (a != HRM_MAZE_OPEN && a != HRM_MAZE_PATH) : a != q)
						v->keeps_givens = false;
				}
				if (hrm_maze_check(&p->maze, &ans, &mv, &err) != HRM_OK)
					HrmThrow(err.code, &err, "could not check the maze answer");
				v->valid = mv.valid && mv.shortest;
				strlcpy(v->reason, mv.reason, sizeof(v->reason));
				break;
			}
		case CODEC_TOKENS:
			break;
	}
}

/* ---------------------------------------------------------------------
 * Running the model
 * --------------------------------------------------------------------- */

/* The shapes a one-row workspace and carry depend on. */
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

/* A workspace, carry and logits buffer for one row, kept for the backend. */
typedef struct SolvePoolSlot
{
	bool		used;
	SolveShape	shape;
	uint64		last_used;
	hrm_workspace *ws;
	hrm_carry	carry;
	float	   *logits;			/* [seq_len, vocab] */
} SolvePoolSlot;

static SolvePoolSlot solve_pool[SOLVE_POOL_SLOTS];
static uint64 solve_pool_clock = 0;

static void
SolvePoolFree(SolvePoolSlot *s)
{
	if (s->ws != NULL)
		hrm_workspace_free(s->ws);
	hrm_carry_free(&s->carry);
	hrm_free(s->logits);
	memset(s, 0, sizeof(*s));
}

/*
 * The pool slot for a model's shapes, created if needed (evicting the
 * least recently used one).  The slot's buffers are malloc'd and live as
 * long as the backend; nothing in them survives from one solve to the next
 * (the carry is reset at the start of every solve).
 */
static SolvePoolSlot *
SolvePoolGet(const hrm_model *m, const char *what)
{
	SolveShape	shape;
	SolvePoolSlot *s = NULL;
	hrm_error	err;
	size_t		tv = (size_t) m->cfg->seq_len * m->cfg->vocab_size;
	int			victim = 0;

	SolveShapeOf(m->cfg, &shape);
	for (int i = 0; i < SOLVE_POOL_SLOTS; i++)
	{
		if (solve_pool[i].used && memcmp(&solve_pool[i].shape, &shape, sizeof(shape)) == 0)
		{
			solve_pool[i].last_used = ++solve_pool_clock;
			return &solve_pool[i];
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
		SolvePoolFree(s);

	hrm_error_clear(&err);
	/* the whole plan first: carry, workspace and the logits of a segment */
	if (hrm_check_memory(hrm_sat_add(hrm_infer_bytes(m, 1), tv * sizeof(float)), "a segment", &err) != HRM_OK)
	{
		SolvePoolFree(s);
		HrmThrow(err.code, &err, what);
	}
	s->ws = hrm_workspace_create(m, 1, &err);
	if (s->ws == NULL)
	{
		SolvePoolFree(s);
		HrmThrow(err.code != HRM_OK ? err.code : HRM_ERR_NOMEM, &err, what);
	}
	if (hrm_carry_init(&s->carry, m, 1, &err) != HRM_OK)
	{
		SolvePoolFree(s);
		HrmThrow(err.code, &err, what);
	}
	s->logits = hrm_alloc(tv, sizeof(float));
	if (s->logits == NULL)
	{
		SolvePoolFree(s);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: out of memory", what)));
	}
	s->shape = shape;
	s->used = true;
	s->last_used = ++solve_pool_clock;
	return s;
}

/* Called after every segment with the segment's logits and Q values. */
typedef void (*SolveSegmentFn) (void *arg, int segment, const float *logits, const float *q);

/*
 * Run the model on the problem: a fresh carry, then up to p->steps
 * segments (fewer with adaptive halting).  Returns the segments run; q
 * gets the last segment's (q_halt, q_continue) and *logits_out its logits
 * (valid until the next solve).
 */
static int
SolveRun(const SolveProblem *p, SolveSegmentFn fn, void *arg, float q[2], const float **logits_out)
{
	const hrm_model *m = &p->h->model;
	const hrm_config *cfg = m->cfg;
	SolvePoolSlot *slot;
	char	   *what = psprintf("could not run model \"%s\"", p->h->name);
	int32		pid = 0;
	hrm_error	err;
	int			s;

	hrm_error_clear(&err);
	HrmCheck(hrm_check_inputs(m, p->tokens, &pid, 1, &err), &err, what);
	HrmEngineBegin();
	slot = SolvePoolGet(m, what);

	hrm_carry_reset(&slot->carry, m, NULL);
	for (s = 1; s <= p->steps; s++)
	{
		CHECK_FOR_INTERRUPTS();
		HrmCheck(hrm_segment_forward(m, slot->ws, &slot->carry, p->tokens, &pid,
									 slot->logits, q, &err), &err, what);
		if (fn != NULL)
			fn(arg, s, slot->logits, q);
		if (p->adaptive && (cfg->no_ACT_continue ? q[0] > 0.0f : q[0] > q[1]))
			break;
	}
	*logits_out = slot->logits;
	return Min(s, p->steps);
}

/* ---------------------------------------------------------------------
 * SQL functions
 * --------------------------------------------------------------------- */

static Datum
SolveCommon(FunctionCallInfo fcinfo, bool is_text)
{
	SolveArgs	a;
	SolveProblem p;
	const float *logits;
	float		q[2];
	int32	   *pred;

	SolveGetArgs(fcinfo, is_text, &a);
	SolvePrepare(&a, &p);
	SolveRun(&p, NULL, NULL, q, &logits);
	pred = palloc(sizeof(int32) * p.seq_len);
	SolveDecode(&p, logits, pred);
	return SolveFormat(&p, pred);
}

/* hrm_solve([model text,] grid text, max_steps int, halt text) → text */
Datum
hrm_solve_text(PG_FUNCTION_ARGS)
{
	return SolveCommon(fcinfo, true);
}

/* hrm_solve([model text,] grid int[], max_steps int, halt text) → int[] */
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

static Datum
SolveDetailCommon(FunctionCallInfo fcinfo, bool is_text)
{
	TupleDesc	tupdesc = SolveResultDesc(fcinfo);
	SolveArgs	a;
	SolveProblem p;
	SolveVerdict v;
	const float *logits;
	float		q[2];
	int32	   *pred;
	int			used;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	SolveGetArgs(fcinfo, is_text, &a);
	SolvePrepare(&a, &p);
	used = SolveRun(&p, NULL, NULL, q, &logits);
	pred = palloc(sizeof(int32) * p.seq_len);
	SolveDecode(&p, logits, pred);
	SolveCheck(&p, pred, &v);

	values[0] = SolveFormat(&p, pred);
	values[1] = Int32GetDatum(used);
	values[2] = Float4GetDatum((float4) (1.0 / (1.0 + exp(-(double) q[0]))));
	if (v.known)
	{
		values[3] = BoolGetDatum(v.valid);
		values[4] = BoolGetDatum(v.keeps_givens);
		if (v.reason[0] != '\0')
			values[5] = CStringGetTextDatum(v.reason);
		else
			nulls[5] = true;
	}
	else
		nulls[3] = nulls[4] = nulls[5] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * hrm_solve_detail([model text,] grid, max_steps int, halt text)
 *   → (solution, segments, confidence, valid, keeps_givens, reason)
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

/* State of hrm_trace while the segments run. */
typedef struct TraceState
{
	const SolveProblem *p;
	ReturnSetInfo *rsinfo;
	MemoryContext rowcxt;
	int32	   *prev;			/* previous prediction (the input tokens at first) */
	int32	   *cur;
} TraceState;

static void
TraceSegment(void *arg, int segment, const float *logits, const float *q)
{
	TraceState *ts = (TraceState *) arg;
	MemoryContext oldcxt;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	int			changed = 0;
	int32	   *tmp;

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
}

static Datum
TraceCommon(FunctionCallInfo fcinfo, bool is_text)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SolveArgs	a;
	SolveProblem p;
	TraceState	ts;
	const float *logits;
	float		q[2];

	SolveGetArgs(fcinfo, is_text, &a);
	InitMaterializedSRF(fcinfo, 0);
	SolvePrepare(&a, &p);

	ts.p = &p;
	ts.rsinfo = rsinfo;
	ts.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "hrm_trace row",
									  ALLOCSET_DEFAULT_SIZES);
	ts.prev = palloc(sizeof(int32) * p.seq_len);
	ts.cur = palloc(sizeof(int32) * p.seq_len);
	memcpy(ts.prev, p.tokens, sizeof(int32) * p.seq_len);
	SolveRun(&p, TraceSegment, &ts, q, &logits);
	MemoryContextDelete(ts.rowcxt);
	return (Datum) 0;
}

/*
 * hrm_trace([model text,] grid, max_steps int, halt text)
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

/* hrm_solve_task(model text) → text: the task (and codec) hrm_solve uses for a model. */
Datum
hrm_solve_task(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HrmModelHandle *h = hrm_cache_get(name);
	SolveCodec	codec;

	PG_RETURN_TEXT_P(cstring_to_text(SolveTaskOf(h, &codec)));
}
