/*-------------------------------------------------------------------------
 *
 * hrm_forward_sql.c
 *		hrm_forward(model, inputs, puzzle_id, segments): the raw outputs of
 *		the HRM, one row per segment.
 *
 * One example, a fresh carry (H_init / L_init), `segments` segments with
 * the carry kept between them and no halting: exactly what the reference
 * does in eval mode.  Each row holds the segment's logits as a 2-D real[]
 * [seq_len][vocab] (lower bounds 1) and the two Q values.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "hrm_pg.h"

PG_FUNCTION_INFO_V1(hrm_forward);

/* Upper bound on segments per call (the reference uses 16). */
#define HRM_MAX_SEGMENTS 65536

/*
 * A real[] of rows × cols floats, row-major, lower bounds 1.
 */
static ArrayType *
HrmFloatMatrix(const float *data, int rows, int cols)
{
	int			dims[2] = {rows, cols};
	int			lbs[2] = {1, 1};
	size_t		n = (size_t) rows * cols;
	size_t		nbytes = ARR_OVERHEAD_NONULLS(2) + n * sizeof(float4);
	ArrayType  *a;

	a = (ArrayType *) palloc0(nbytes);
	SET_VARSIZE(a, nbytes);
	a->ndim = 2;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	memcpy(ARR_DIMS(a), dims, sizeof(dims));
	memcpy(ARR_LBOUND(a), lbs, sizeof(lbs));
	memcpy(ARR_DATA_PTR(a), data, n * sizeof(float4));
	return a;
}

/*
 * The inputs as seq_len int32 tokens (the array flattened in row-major
 * order), checked against the model's vocabulary.
 */
static int32 *
HrmCheckTokens(ArrayType *arr, const HrmModelHandle *h)
{
	const hrm_config *cfg = &h->layout.cfg;
	int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	int32	   *tokens;
	int			i;

	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("inputs must not contain nulls")));
	if (n != cfg->seq_len)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("inputs have %d tokens but model \"%s\" expects %d", n, h->name,
						cfg->seq_len),
				 errhint("Pass seq_len token ids, as a flat array or row by row.")));

	tokens = (int32 *) ARR_DATA_PTR(arr);
	for (i = 0; i < n; i++)
	{
		if (tokens[i] < 0 || tokens[i] >= cfg->vocab_size)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("token %d at position %d is out of the vocabulary of model \"%s\"",
							tokens[i], i + 1, h->name),
					 errdetail("Token ids run from 0 to %d (vocab_size %d).",
							   cfg->vocab_size - 1, cfg->vocab_size)));
	}
	return tokens;
}

/* The rows of hrm_forward: one per segment, written as the ACT loop runs. */
typedef struct ForwardRows
{
	ReturnSetInfo *rsinfo;
	const hrm_config *cfg;
	MemoryContext rowcxt;
} ForwardRows;

/* hrm_segment_cb: the segment's logits and Q values as a row (may ERROR: the loop unwinds) */
static int
ForwardRow(void *arg, int segment, int B, const float *logits, const float *q, const uint8_t *ran)
{
	ForwardRows *fr = (ForwardRows *) arg;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	MemoryContext oldcxt = MemoryContextSwitchTo(fr->rowcxt);

	values[0] = Int32GetDatum(segment);
	values[1] = PointerGetDatum(HrmFloatMatrix(logits, fr->cfg->seq_len, fr->cfg->vocab_size));
	values[2] = Float4GetDatum(q[0]);
	values[3] = Float4GetDatum(q[1]);
	tuplestore_putvalues(fr->rsinfo->setResult, fr->rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(fr->rowcxt);
	return 0;
}

Datum
hrm_forward(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	ArrayType  *arr;
	int32		puzzle_id;
	int			segments;
	char	   *what;
	HrmModelHandle *h;
	const hrm_model *m;
	const hrm_config *cfg;
	int32	   *tokens;
	hrm_carry  *carry;
	HrmResource *wres;
	hrm_workspace *ws;
	float	   *logits;
	float		q[2];
	ForwardRows rows;
	hrm_infer_opts opts;
	hrm_error	err;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("inputs must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("puzzle_id must not be null"),
				 errhint("Use 0 for models without puzzle identifiers.")));

	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	arr = PG_GETARG_ARRAYTYPE_P(1);
	puzzle_id = PG_GETARG_INT32(2);

	InitMaterializedSRF(fcinfo, 0);

	h = hrm_cache_get(name);
	m = &h->model;
	cfg = &h->layout.cfg;
	what = psprintf("could not run model \"%s\"", name);

	segments = PG_ARGISNULL(3) ? cfg->halt_max_steps : PG_GETARG_INT32(3);
	if (segments < 1 || segments > HRM_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segments must be between 1 and %d, not %d", HRM_MAX_SEGMENTS, segments),
				 errhint("Pass NULL for the model's halt_max_steps (%d).", cfg->halt_max_steps)));

	/* each row returns seq_len x vocab_size logits as one array */
	if ((Size) cfg->seq_len * cfg->vocab_size > (MaxAllocSize - ARR_OVERHEAD_NONULLS(2)) / sizeof(float4))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the logits of model \"%s\" (%d x %d) are too large to return as an array",
						name, cfg->seq_len, cfg->vocab_size),
				 errhint("Use hrm_solve, which returns the decoded answer only.")));

	tokens = HrmCheckTokens(arr, h);
	if (puzzle_id < 0 || puzzle_id >= Max(cfg->num_puzzle_identifiers, 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("puzzle_id %d is out of range for model \"%s\"", puzzle_id, name),
				 errdetail("Puzzle identifiers run from 0 to %d (num_puzzle_identifiers %d).",
						   Max(cfg->num_puzzle_identifiers, 1) - 1,
						   cfg->num_puzzle_identifiers)));
	hrm_error_clear(&err);
	HrmCheck(hrm_check_inputs(m, tokens, &puzzle_id, 1, &err), &err, what);

	HrmEngineBegin();

	/* the whole plan: carry, workspace and the logits of a segment */
	HrmCheck(hrm_check_memory(hrm_sat_add(hrm_infer_bytes(m, 1),
										  (size_t) cfg->seq_len * cfg->vocab_size * sizeof(float)),
							  "a segment", &err), &err, what);

	/* the caller's carry and workspace for one row; the ACT loop resets the carry */
	carry = palloc0(sizeof(hrm_carry));
	HrmTrack(carry, HrmFreeCarry);
	HrmCheck(hrm_carry_init(carry, m, 1, &err), &err, what);

	wres = HrmTrack(NULL, HrmFreeWorkspace);
	ws = hrm_workspace_create(m, 1, &err);
	if (ws == NULL)
		HrmThrow(err.code != HRM_OK ? err.code : HRM_ERR_NOMEM, &err, what);
	HrmAdopt(wres, ws);

	logits = palloc(sizeof(float) * (size_t) cfg->seq_len * cfg->vocab_size);
	rows.rsinfo = rsinfo;
	rows.cfg = cfg;
	rows.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "hrm_forward row",
										ALLOCSET_DEFAULT_SIZES);
	/* every segment, fixed (no halting): the segment callback returns each one's outputs */
	opts.segments = segments;
	opts.adaptive = false;
	HrmCheck(hrm_infer_with(m, ws, carry, tokens, &puzzle_id, 1, &opts, logits, q, NULL,
							ForwardRow, &rows, &err), &err, what);

	HrmRelease(wres);
	return (Datum) 0;
}
