/*-------------------------------------------------------------------------
 *
 * hrm_train_data.c
 *		Reading training and evaluation data: a source (a table or view name,
 *		or a query) read once through a cursor into an hrm_dataset of compact
 *		token arrays, capped by hrm.max_training_data; its rows copied in a
 *		canonical order into the segment a training worker maps.
 *
 * Each row is (input, target[, puzzle id]): the first two columns unless
 * the options name them.  Inputs and targets are Sudoku text (81 cells),
 * maze text, integer arrays of tokens, or (ARC) 2-D integer arrays of
 * colours; the task is told from the first row when nobody said it.  A bad
 * row is an error naming the row (1-based, in the order the source
 * returned it) with a specific SQLSTATE.
 *
 * A source only reads: besides refusing statements that are not queries
 * (HrmCheckReadOnly), the cursor runs with transaction_read_only on (saved
 * and restored like a function's SET clause), so functions the query calls
 * cannot write either: INSERT, UPDATE, DELETE, nextval() and DDL there fail
 * with 25006 read_only_sql_transaction.  Writes to temporary tables are
 * still allowed, as in any read-only transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/regproc.h"


#include "hrm_train.h"

/* GUC hrm.max_training_data (defined by HrmTrainInit): MB of token arrays a source may fill */
int			hrm_max_training_data_mb = 1024;

typedef enum HrmColKind
{
	CK_TEXT,
	CK_ARRAY
} HrmColKind;

/* Does the text look like a query rather than a relation name? */
static bool
HrmSourceIsQuery(const char *s)
{
	static const char *const words[] = {"select", "with", "values", "table"};
	int			i;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '(')
		s++;
	for (i = 0; i < lengthof(words); i++)
	{
		size_t		n = strlen(words[i]);

		if (pg_strncasecmp(s, words[i], n) == 0 &&
			(s[n] == '\0' || s[n] == ' ' || s[n] == '\t' || s[n] == '\n' || s[n] == '\r' || s[n] == '(' || s[n] == '*'))
			return true;
	}
	return false;
}

/*
 * Text that cannot be a (qualified) table name but reads as a statement:
 * white space, a parenthesis or a semicolon between words, outside double
 * quotes ("INSERT INTO t ...", "CALL p()").
 */
static bool
HrmSourceIsStatement(const char *s)
{
	bool		quoted = false;
	bool		word = false;
	bool		gap = false;

	for (; *s; s++)
	{
		bool		sep = !quoted && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
									  *s == '(' || *s == ')' || *s == ';');

		if (*s == '"')
			quoted = !quoted;
		if (sep)
		{
			if (word)
				gap = true;
			continue;
		}
		if (gap)
			return true;
		word = true;
	}
	return false;
}

/* The query that reads a source. */
char *
HrmSourceQuery(const char *source, const char *label)
{
	List	   *names;
	RangeVar   *rv;
	Oid			relid;

	if (HrmSourceIsQuery(source))
		return pstrdup(source);
	if (HrmSourceIsStatement(source))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s must be a table or view name, or a query that only reads", label),
				 errhint("Pass a table or view name, or a query starting with SELECT, WITH, VALUES or TABLE.")));

	names = stringToQualifiedNameList(source);
	rv = makeRangeVarFromNameList(names);
	relid = RangeVarGetRelid(rv, AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s relation \"%s\" does not exist", label, source),
				 errhint("Pass a table or view name, or a query starting with SELECT, WITH, VALUES or TABLE.")));
	return psprintf("SELECT * FROM %s",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											   get_rel_name(relid)));
}

/* A source only reads: one SELECT (VALUES, TABLE) without data-modifying CTEs or row locks. */
void
HrmCheckReadOnly(SPIPlanPtr plan, const char *label)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);
		ListCell   *lq;

		foreach(lq, ps->query_list)
		{
			Query	   *q = lfirst_node(Query, lq);

			if (q->commandType != CMD_SELECT || q->hasModifyingCTE || q->rowMarks != NIL ||
				q->utilityStmt != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_WRONG_OBJECT_TYPE),
						 errmsg("%s must be a query that only reads", label),
						 errhint("Pass a table or view name, or a SELECT, VALUES or TABLE query without data-modifying WITH clauses or FOR UPDATE.")));
		}
	}
}

static HrmColKind
HrmColumnKind(TupleDesc desc, int attno, const char *label, const char *role)
{
	Oid			typid = getBaseType(SPI_gettypeid(desc, attno));

	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return CK_TEXT;
		case INT2ARRAYOID:
		case INT4ARRAYOID:
		case INT8ARRAYOID:
			return CK_ARRAY;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s column \"%s\" (the %s) has type %s", label,
							SPI_fname(desc, attno), role, format_type_be(SPI_gettypeid(desc, attno))),
					 errdetail("Inputs and targets are text (Sudoku or maze grids) or integer arrays (tokens, or ARC grids as 2-D arrays).")));
	}
	return CK_TEXT;
}

static int
HrmColumnNumber(TupleDesc desc, const char *name, int dflt, const char *label, const char *role)
{
	int			attno;

	if (name == NULL)
	{
		if (dflt > desc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("%s has %d column%s, not the two that hrm reads (input, target)", label,
							desc->natts, desc->natts == 1 ? "" : "s"),
					 errhint("Select the input and the target as the first two columns, or name them with the \"input\" and \"target\" options.")));
		return dflt;
	}
	attno = SPI_fnumber(desc, name);
	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s has no column \"%s\" (the %s)", label, name, role)));
	return attno;
}

/* Sudoku / maze text → tokens; false with *st and err set on failure. */
static hrm_status
HrmTextTokens(hrm_task task, const char *s, int32 *tokens, hrm_error *err)
{
	const hrm_task_ops *ops = hrm_task_get(task);

	if (ops->parse_text != NULL)
		return ops->parse_text(s, strlen(s), tokens, err);
	return hrm_fail(err, HRM_ERR_UNSUPPORTED, "task %s takes integer arrays, not text", hrm_task_name(task));
}

/*
 * One value → tokens (at most max_tokens); returns the token count.  The
 * shape (task, length) is checked by the caller.
 */
static int
HrmValueTokens(Datum value, HrmColKind kind, hrm_task task, int32 *tokens, int max_tokens,
			   int64 row, const char *label, const char *role)
{
	hrm_error	err;
	hrm_status	st;

	hrm_error_clear(&err);
	if (kind == CK_TEXT)
	{
		char	   *s = TextDatumGetCString(value);

		st = HrmTextTokens(task, s, tokens, &err);
		if (st == HRM_ERR_UNSUPPORTED)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s row " INT64_FORMAT ": the %s is text, but task %s takes integer arrays",
							label, row, role, hrm_task_name(task))));
		if (st != HRM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("%s row " INT64_FORMAT ": invalid %s %s", label, row, hrm_task_name(task), role),
					 errdetail("%s", err.msg)));
		return hrm_task_get(task)->seq_len;
	}
	else
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);
		Oid			elemtype = ARR_ELEMTYPE(arr);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;
		int			ndim = ARR_NDIM(arr);

		if (ndim > 2 || (ndim == 2 && hrm_task_get(task)->grid_encode == NULL))
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%s row " INT64_FORMAT ": the %s has %d dimensions", label, row, role, ndim),
					 errhint("Tokens are a one-dimensional integer array; only ARC grids are two-dimensional.")));
		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
		for (i = 0; i < n; i++)
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s row " INT64_FORMAT ": the %s has a null element (position %d)",
								label, row, role, i + 1)));
		if (ndim == 2)
		{
			const hrm_task_ops *ops = hrm_task_get(task);
			uint8_t    *cells = palloc(Max(n, 1));
			int			rows = ARR_DIMS(arr)[0];
			int			cols = ARR_DIMS(arr)[1];

			if (rows > ops->grid_rows || cols > ops->grid_cols)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("%s row " INT64_FORMAT ": the %s grid is %d x %d, larger than %d x %d",
								label, row, role, rows, cols, ops->grid_rows, ops->grid_cols)));
			for (i = 0; i < n; i++)
			{
				int64		x = elemtype == INT2OID ? DatumGetInt16(elems[i]) :
					elemtype == INT4OID ? DatumGetInt32(elems[i]) : DatumGetInt64(elems[i]);

				if (x < 0 || x >= ops->grid_values)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("%s row " INT64_FORMAT ": the %s grid has colour " INT64_FORMAT " (colours are 0 to %d)",
									label, row, role, x, ops->grid_values - 1)));
				cells[i] = (uint8_t) x;
			}
			st = ops->grid_encode(rows, cols, cells, tokens, &err);
			if (st != HRM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("%s row " INT64_FORMAT ": invalid %s %s grid", label, row, hrm_task_name(task), role),
						 errdetail("%s", err.msg)));
			pfree(cells);
			return ops->seq_len;
		}
		if (n > max_tokens)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s row " INT64_FORMAT ": the %s has %d tokens, more than %d", label, row,
							role, n, max_tokens)));
		for (i = 0; i < n; i++)
		{
			int64		x = elemtype == INT2OID ? DatumGetInt16(elems[i]) :
				elemtype == INT4OID ? DatumGetInt32(elems[i]) : DatumGetInt64(elems[i]);

			if (x < PG_INT32_MIN || x > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("%s row " INT64_FORMAT ": token " INT64_FORMAT " of the %s is out of range",
								label, row, x, role)));
			tokens[i] = (int32) x;
		}
		return n;
	}
}

/* Guess the task from a first input. */
static hrm_task
HrmDetectTask(Datum value, HrmColKind kind, const char *label)
{
	hrm_error	err;

	if (kind == CK_TEXT)
	{
		char	   *s = TextDatumGetCString(value);

		/* the first task whose text reader takes it (Sudoku, then maze) */
		for (int t = 0; t < HRM_TASK_COUNT; t++)
		{
			const hrm_task_ops *ops = hrm_task_get((hrm_task) t);
			int32	   *tokens;
			bool		ok;

			if (ops->parse_text == NULL)
				continue;
			tokens = palloc(sizeof(int32) * ops->seq_len);
			ok = ops->parse_text(s, strlen(s), tokens, &err) == HRM_OK;
			pfree(tokens);
			if (ok)
				return ops->task;
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("cannot tell the task from the first row of the %s", label),
				 errdetail("The input is neither a Sudoku (81 cells of digits and \".\") nor a maze (rows over \"# SGo\")."),
				 errhint("Set the \"task\" option, or pass tokens as integer arrays.")));
	}
	if (ARR_NDIM(DatumGetArrayTypeP(value)) == 2)
		for (int t = 0; t < HRM_TASK_COUNT; t++)
			if (hrm_task_get((hrm_task) t)->grid_encode != NULL)
				return (hrm_task) t;
	return HRM_TASK_GENERIC;
}

static void
HrmFreeDataset(void *p)
{
	hrm_dataset_free((hrm_dataset *) p);
	pfree(p);
}

static void
HrmDataLimit(const char *label, int64 row, size_t bytes)
{
	/* the smaller of the two limits applied */
	bool		by_memory = HrmMaxMemoryBytes() < (size_t) hrm_max_training_data_mb * 1024 * 1024 &&
		bytes >= HrmMaxMemoryBytes();
	const char *guc = by_memory ? "hrm.max_memory" : "hrm.max_training_data";

	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("%s is too large for %s (%d MB)", label, guc,
					by_memory ? hrm_max_memory_mb : hrm_max_training_data_mb),
			 errdetail("Row " INT64_FORMAT " would bring the token arrays past %zu bytes.", row, bytes),
			 errhint("Raise %s, or read fewer rows (for example with LIMIT in a source query).",
					 guc)));
}

/* Context line of errors raised while the source runs. */
static void
HrmSourceErrorContext(void *arg)
{
	errcontext("reading the %s of hrm (the source runs read-only)", (const char *) arg);
}

/*
 * Read a source into a new dataset (tracked in the current memory
 * context).  shape is completed from the data; cap bounds the dataset's
 * bytes.
 */
hrm_dataset *
HrmReadSource(const char *source, const char *label, const HrmColumns *cols, HrmShape *shape,
			  size_t cap, int64 limit)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	hrm_dataset *ds = NULL;
	HrmResource *res;
	char	   *sql = HrmSourceQuery(source, label);
	SPIPlanPtr	plan;
	Portal		portal;
	int			in_col = 0,
				tg_col = 0,
				id_col = 0;
	HrmColKind	in_kind = CK_TEXT,
				tg_kind = CK_TEXT;
	int32	   *in_tok;
	int32	   *tg_tok;
	int			max_tokens = 65536;
	int64		row = 0;
	int32		max_token = 0;
	bool		auto_vocab = false;
	int			guc_level;
	ErrorContextCallback errcb;

	/* the data is one allocation plan too: hrm.max_memory bounds it as well */
	cap = Min(cap, HrmMaxMemoryBytes());
	res = HrmTrack(NULL, HrmFreeDataset);
	in_tok = palloc(sizeof(int32) * max_tokens);
	tg_tok = palloc(sizeof(int32) * max_tokens);
	rowcxt = AllocSetContextCreate(callercxt, "hrm source row", ALLOCSET_DEFAULT_SIZES);

	HrmSpiConnect();
	plan = SPI_prepare_cursor(sql, 0, NULL, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	HrmCheckReadOnly(plan, label);

	/* read-only, functions included; an ERROR unwinds the setting with the (sub)transaction */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("transaction_read_only", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/* the context line on errors of the query itself, not on our checks of its rows */
	errcb.callback = HrmSourceErrorContext;
	errcb.arg = (void *) label;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	error_context_stack = errcb.previous;

	for (;;)
	{
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		if (limit > 0 && row >= limit)
			break;
		error_context_stack = &errcb;
		SPI_cursor_fetch(portal, true, limit > 0 ? Min(limit - row, 1000) : 1000);
		error_context_stack = errcb.previous;
		if (SPI_processed == 0)
			break;
		if (in_col == 0)
		{
			TupleDesc	desc = SPI_tuptable->tupdesc;

			in_col = HrmColumnNumber(desc, cols->input, 1, label, "input");
			tg_col = HrmColumnNumber(desc, cols->target, 2, label, "target");
			in_kind = HrmColumnKind(desc, in_col, label, "input");
			tg_kind = HrmColumnKind(desc, tg_col, label, "target");
			if (cols->puzzle_id)
			{
				Oid			t;

				id_col = HrmColumnNumber(desc, cols->puzzle_id, 0, label, "puzzle id");
				t = getBaseType(SPI_gettypeid(desc, id_col));
				if (t != INT2OID && t != INT4OID && t != INT8OID)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("%s column \"%s\" (the puzzle id) has type %s", label,
									cols->puzzle_id, format_type_be(SPI_gettypeid(desc, id_col))),
							 errdetail("Puzzle ids are integers.")));
			}
		}

		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		in_val,
						tg_val;
			int			n_in,
						n_tg;
			int32		pid = 0;
			hrm_error	err;
			hrm_status	st;
			MemoryContext old;

			row++;
			old = MemoryContextSwitchTo(rowcxt);
			in_val = SPI_getbinval(tup, desc, in_col, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s row " INT64_FORMAT ": the input is null", label, row)));
			tg_val = SPI_getbinval(tup, desc, tg_col, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s row " INT64_FORMAT ": the target is null", label, row)));
			if (id_col > 0)
			{
				Datum		d = SPI_getbinval(tup, desc, id_col, &isnull);
				Oid			t = getBaseType(SPI_gettypeid(desc, id_col));
				int64		x;

				if (isnull)
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("%s row " INT64_FORMAT ": the puzzle id is null", label, row)));
				x = t == INT2OID ? DatumGetInt16(d) : t == INT4OID ? DatumGetInt32(d) : DatumGetInt64(d);
				if (x < 0 || x >= 100000000)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("%s row " INT64_FORMAT ": puzzle id " INT64_FORMAT " is out of range",
									label, row, x),
							 errhint("Puzzle ids are 0 to 99999999.")));
				pid = (int32) x;
			}

			if (!shape->task_known)
			{
				shape->task = HrmDetectTask(in_val, in_kind, label);
				shape->task_known = true;
			}
			n_in = HrmValueTokens(in_val, in_kind, shape->task, in_tok, max_tokens, row, label, "input");
			n_tg = HrmValueTokens(tg_val, tg_kind, shape->task, tg_tok, max_tokens, row, label, "target");
			MemoryContextSwitchTo(old);

			if (ds == NULL)
			{
				int			T,
							V;

				hrm_task_shape(shape->task, &T, &V);
				if (shape->seq_len == 0)
					shape->seq_len = T > 0 ? T : n_in;
				if (shape->vocab_size == 0)
				{
					shape->vocab_size = V > 0 ? V : 32767;
					auto_vocab = V == 0;
				}
				MemoryContextSwitchTo(callercxt);
				ds = palloc0(sizeof(hrm_dataset));
				hrm_error_clear(&err);
				st = hrm_dataset_init(ds, shape->seq_len, shape->vocab_size, cap, &err);
				if (st != HRM_OK)
					HrmThrow(st, &err, psprintf("could not read the %s", label));
				HrmAdopt(res, ds);
				MemoryContextSwitchTo(old);
			}
			if (n_in != shape->seq_len || n_tg != shape->seq_len)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("%s row " INT64_FORMAT ": the %s has %d tokens, the model takes %d", label, row,
								n_in != shape->seq_len ? "input" : "target",
								n_in != shape->seq_len ? n_in : n_tg, shape->seq_len),
						 errhint("Every row must have the same length (the model's seq_len).")));
			hrm_error_clear(&err);
			st = hrm_dataset_append(ds, in_tok, tg_tok, pid, &err);
			if (st == HRM_ERR_LIMIT)
				HrmDataLimit(label, row, cap);
			if (st != HRM_OK)
				ereport(ERROR,
						(errcode(st == HRM_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("%s row " INT64_FORMAT ": %s", label, row,
								st == HRM_ERR_NOMEM ? "out of memory" : "token out of range"),
						 errdetail("%s", err.msg),
						 errhint("Tokens are 0 to vocab_size - 1 (%d here); targets may also be -100 (ignored).",
								 shape->vocab_size)));
			if (auto_vocab)
			{
				int			t;

				for (t = 0; t < shape->seq_len; t++)
				{
					max_token = Max(max_token, in_tok[t]);
					max_token = Max(max_token, tg_tok[t]);
				}
			}
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	AtEOXact_GUC(true, guc_level);
	SPI_finish();
	MemoryContextDelete(rowcxt);

	if (ds == NULL || ds->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s has no rows", label)));
	if (auto_vocab)
	{
		/* generic tokens: the vocabulary is what the data uses */
		ds->vocab_size = Max(max_token + 1, 2);
		shape->vocab_size = ds->vocab_size;
	}
	return ds;
}

/* Row comparison for the canonical order: inputs, then labels, then puzzle id. */
static int
HrmRowCmp(const void *a, const void *b, void *arg)
{
	const hrm_dataset *ds = (const hrm_dataset *) arg;
	int64		i = *(const int64 *) a;
	int64		j = *(const int64 *) b;
	size_t		rb = (size_t) ds->seq_len * ds->elem_size;
	int			c;

	c = memcmp((const char *) ds->inputs + i * rb, (const char *) ds->inputs + j * rb, rb);
	if (c != 0)
		return c;
	c = memcmp((const char *) ds->labels + i * rb, (const char *) ds->labels + j * rb, rb);
	if (c != 0)
		return c;
	if (ds->puzzle_ids[i] != ds->puzzle_ids[j])
		return ds->puzzle_ids[i] < ds->puzzle_ids[j] ? -1 : 1;
	return 0;
}

/* Bytes a dataset takes in the task segment. */
Size
HrmDataSegBytes(const hrm_dataset *ds)
{
	Size		rb;

	if (ds == NULL)
		return 0;
	rb = (Size) ds->seq_len * ds->elem_size;
	return MAXALIGN(mul_size(rb, ds->n)) * 2 + MAXALIGN(mul_size(sizeof(int32), ds->n));
}

/* Copy a dataset into the segment at *off in canonical order. */
void
HrmDataToSeg(const hrm_dataset *ds, char *base, Size *off, HrmDataDesc *d)
{
	Size		rb = (Size) ds->seq_len * ds->elem_size;
	int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(ds->n, 1));
	char	   *in,
			   *lb;
	int32	   *ids;
	int64		i;

	for (i = 0; i < ds->n; i++)
		order[i] = i;
	qsort_arg(order, ds->n, sizeof(int64), HrmRowCmp, (void *) ds);

	d->seq_len = ds->seq_len;
	d->vocab_size = ds->vocab_size;
	d->elem_size = ds->elem_size;
	d->max_puzzle_id = ds->max_puzzle_id;
	d->n = ds->n;
	d->inputs_off = *off;
	*off += MAXALIGN(rb * ds->n);
	d->labels_off = *off;
	*off += MAXALIGN(rb * ds->n);
	d->ids_off = *off;
	*off += MAXALIGN(sizeof(int32) * ds->n);
	in = base + d->inputs_off;
	lb = base + d->labels_off;
	ids = (int32 *) (base + d->ids_off);
	for (i = 0; i < ds->n; i++)
	{
		int64		r = order[i];

		memcpy(in + i * rb, (const char *) ds->inputs + r * rb, rb);
		memcpy(lb + i * rb, (const char *) ds->labels + r * rb, rb);
		ids[i] = ds->puzzle_ids[r];
	}
	pfree(order);
}

void
HrmDatasetFromDesc(const HrmDataDesc *d, char *base, hrm_dataset *ds)
{
	memset(ds, 0, sizeof(*ds));
	ds->seq_len = d->seq_len;
	ds->vocab_size = d->vocab_size;
	ds->elem_size = d->elem_size;
	ds->n = d->n;
	ds->cap = d->n;
	ds->max_bytes = 0;
	ds->inputs = base + d->inputs_off;
	ds->labels = base + d->labels_off;
	ds->puzzle_ids = (int32_t *) (base + d->ids_off);
	ds->max_puzzle_id = d->max_puzzle_id;
}

