/*-------------------------------------------------------------------------
 *
 * hrm_train_sql.c
 *		Training from SQL: hrm_train, hrm_wait, hrm_evaluate, the training
 *		options and the reading of sources into compact token arrays.
 *
 * hrm_train(model, source, options) runs in two processes.  The calling
 * backend does everything that can fail because of what the caller asked:
 * it checks the options (unknown names and bad values are errors listing
 * what is accepted), reads the source once through a cursor into an
 * hrm_dataset (capped by hrm.max_training_data), sorts the rows into a
 * canonical order (so a table's physical order never changes a run, and a
 * resumed run sees exactly the rows it was checkpointed with), resolves
 * the model (new: architecture from the options over the recipe defaults
 * of run.h; existing: its configuration and weights; resume: its last
 * checkpoint) and claims a job slot.  It then hands the data and the
 * resolved options to a dynamic background worker (hrm_worker.c) in one
 * DSM segment and, unless told not to wait, follows the job's slot,
 * streaming NOTICE progress lines, until the job ends.
 *
 * Cancelling the waiting call (statement timeout, pg_cancel_backend, ^C,
 * or the session ending) asks the worker to stop: it commits a last
 * checkpoint and exits, so {"resume": true} continues from there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "arc.h"
#include "maze.h"
#include "sudoku.h"

#include "hrm_train.h"
#include "parallel.h"
#include "views.h"

PG_FUNCTION_INFO_V1(hrm_train_pg);
PG_FUNCTION_INFO_V1(hrm_train_default_pg);
PG_FUNCTION_INFO_V1(hrm_wait_pg);
PG_FUNCTION_INFO_V1(hrm_evaluate_pg);

/* Budget when the options give none. */
#define HRM_DEFAULT_MAX_MINUTES 10.0
/* Default NOTICE interval (seconds). */
#define HRM_DEFAULT_PROGRESS 5.0

/* ---------------------------------------------------------------------
 * Initialisation (called from _PG_init)
 * --------------------------------------------------------------------- */

void
HrmTrainInit(void)
{
	DefineCustomIntVariable("hrm.max_training_data",
							"Caps the memory that hrm_train and hrm_evaluate use to hold their data.",
							"Megabytes of token arrays read from the source; a larger source is refused.",
							&hrm_max_training_data_mb,
							1024, 1, INT_MAX / 2,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hrm.max_training_jobs",
							"Sets how many hrm training jobs may run at the same time.",
							"Each job is a background worker and counts against max_worker_processes.",
							&hrm_max_training_jobs,
							4, 1, HRM_JOB_SLOTS,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hrm.max_training_jobs_per_role",
							"Sets how many hrm training jobs one role may run at the same time (0: no limit but hrm.max_training_jobs).",
							"Counts the jobs the role started in every database; superusers are not limited. Set it per role with ALTER ROLE ... SET.",
							&hrm_max_training_jobs_per_role,
							0, 0, HRM_JOB_SLOTS,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	HrmJobsShmemInit();
}

/* ---------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------- */

typedef enum HrmOptType
{
	OT_INT,
	OT_FLOAT,
	OT_BOOL,
	OT_STRING,
	OT_EVERY,					/* steps (a number) or a duration ("30s", "5min", "1h") */
	OT_NAMES					/* a JSON array of names (or one name) */
} HrmOptType;

/* flags */
#define OF_ARCH		0x01		/* architecture of a new model */
#define OF_FROZEN	0x02		/* fixed by the checkpoint when resuming */
#define OF_RUNTIME	0x04		/* about this call only; not stored with the job */
#define OF_OPTIM	0x08		/* optimizer knob a resume may change */

typedef enum HrmOptId
{
	O_ARCH,
	O_ATTN_MASK,
	O_AUGMENT,
	O_BATCH_SIZE,
	O_BETA1,
	O_BETA2,
	O_CHECKPOINT_EVERY,
	O_CURRICULUM_START,
	O_CURRICULUM_STEPS,
	O_EMA,
	O_EPOCHS,
	O_EVAL_FRACTION,
	O_EVAL_ROWS,
	O_EVAL_SOURCE,
	O_EXPANSION,
	O_H_CYCLES,
	O_H_LAYERS,
	O_HALT_EXPLORATION_PROB,
	O_HALT_MAX_STEPS,
	O_HIDDEN_SIZE,
	O_IGNORE_GIVENS,
	O_INPUT,
	O_KEEP,
	O_L_CYCLES,
	O_L_LAYERS,
	O_LOG_EVERY,
	O_LOSS_TYPE,
	O_LR,
	O_LR_MIN_RATIO,
	O_LR_WARMUP_STEPS,
	O_MAX_MINUTES,
	O_MLP_T,
	O_NO_ACT_CONTINUE,
	O_NUM_HEADS,
	O_POS_ENCODINGS,
	O_PROGRESS,
	O_PUZZLE_EMB_LEN,
	O_PUZZLE_EMB_LR,
	O_PUZZLE_EMB_NDIM,
	O_PUZZLE_EMB_WEIGHT_DECAY,
	O_PUZZLE_ID,
	O_RESUME,
	O_SEED,
	O_STEPS,
	O_TARGET,
	O_TASK,
	O_THREADS,
	O_VOCAB_SIZE,
	O_WAIT,
	O_WEIGHT_DECAY,
	O_COUNT
} HrmOptId;

typedef struct HrmOptDef
{
	const char *name;
	HrmOptId	id;
	HrmOptType	type;
	double		min;
	double		max;
	int			flags;
	const char *choices;		/* OT_STRING: accepted values, comma-separated; NULL = any */
} HrmOptDef;

#define BIG 1e15

/* Sorted by name (the order of the hint). */
static const HrmOptDef train_opts[] = {
	{"arch", O_ARCH, OT_STRING, 0, 0, OF_ARCH | OF_FROZEN, "hrm,trm"},
	{"attn_mask", O_ATTN_MASK, OT_STRING, 0, 0, OF_ARCH | OF_FROZEN, "full,sudoku"},
	{"augment", O_AUGMENT, OT_BOOL, 0, 0, OF_FROZEN, NULL},
	{"batch_size", O_BATCH_SIZE, OT_INT, 1, 65536, OF_FROZEN, NULL},
	{"beta1", O_BETA1, OT_FLOAT, 0, 0.999999, OF_OPTIM, NULL},
	{"beta2", O_BETA2, OT_FLOAT, 0, 0.999999, OF_OPTIM, NULL},
	{"checkpoint_every", O_CHECKPOINT_EVERY, OT_EVERY, 0, BIG, 0, NULL},
	{"curriculum_start", O_CURRICULUM_START, OT_FLOAT, 0, 1, OF_FROZEN, NULL},
	{"curriculum_steps", O_CURRICULUM_STEPS, OT_INT, 0, BIG, OF_FROZEN, NULL},
	{"ema", O_EMA, OT_FLOAT, 0, 0.999999, OF_FROZEN, NULL},
	{"epochs", O_EPOCHS, OT_FLOAT, 1e-9, 1e9, 0, NULL},
	{"eval_fraction", O_EVAL_FRACTION, OT_FLOAT, 0, 0.999999, OF_FROZEN, NULL},
	{"eval_rows", O_EVAL_ROWS, OT_INT, 0, BIG, 0, NULL},
	{"eval_source", O_EVAL_SOURCE, OT_STRING, 0, 0, 0, NULL},
	{"expansion", O_EXPANSION, OT_FLOAT, 0.01, 64, OF_ARCH | OF_FROZEN, NULL},
	{"H_cycles", O_H_CYCLES, OT_INT, 1, 64, OF_ARCH | OF_FROZEN, NULL},
	{"H_layers", O_H_LAYERS, OT_INT, 1, 64, OF_ARCH | OF_FROZEN, NULL},
	{"halt_exploration_prob", O_HALT_EXPLORATION_PROB, OT_FLOAT, 0, 1, OF_ARCH | OF_FROZEN, NULL},
	{"halt_max_steps", O_HALT_MAX_STEPS, OT_INT, 1, 1024, OF_ARCH | OF_FROZEN, NULL},
	{"hidden_size", O_HIDDEN_SIZE, OT_INT, 1, 65536, OF_ARCH | OF_FROZEN, NULL},
	{"ignore_givens", O_IGNORE_GIVENS, OT_FLOAT, 0, 1, OF_FROZEN, NULL},
	{"input", O_INPUT, OT_STRING, 0, 0, OF_FROZEN, NULL},
	{"keep", O_KEEP, OT_INT, 0, 1000000, 0, NULL},
	{"L_cycles", O_L_CYCLES, OT_INT, 1, 64, OF_ARCH | OF_FROZEN, NULL},
	{"L_layers", O_L_LAYERS, OT_INT, 1, 64, OF_ARCH | OF_FROZEN, NULL},
	{"log_every", O_LOG_EVERY, OT_EVERY, 0, BIG, 0, NULL},
	{"loss_type", O_LOSS_TYPE, OT_STRING, 0, 0, OF_OPTIM, "stablemax,softmax"},
	{"lr", O_LR, OT_FLOAT, 1e-12, 100, OF_OPTIM, NULL},
	{"lr_min_ratio", O_LR_MIN_RATIO, OT_FLOAT, 0, 1, OF_OPTIM, NULL},
	{"lr_warmup_steps", O_LR_WARMUP_STEPS, OT_INT, 0, BIG, OF_OPTIM, NULL},
	{"max_minutes", O_MAX_MINUTES, OT_FLOAT, 1e-6, 1e7, 0, NULL},
	{"mlp_t", O_MLP_T, OT_BOOL, 0, 0, OF_ARCH | OF_FROZEN, NULL},
	{"no_ACT_continue", O_NO_ACT_CONTINUE, OT_BOOL, 0, 0, OF_ARCH | OF_FROZEN, NULL},
	{"num_heads", O_NUM_HEADS, OT_INT, 1, 1024, OF_ARCH | OF_FROZEN, NULL},
	{"pos_encodings", O_POS_ENCODINGS, OT_STRING, 0, 0, OF_ARCH | OF_FROZEN, "rope,learned,none"},
	{"progress", O_PROGRESS, OT_FLOAT, 0, 86400, OF_RUNTIME, NULL},
	{"puzzle_emb_len", O_PUZZLE_EMB_LEN, OT_INT, 0, HRM_MAX_PUZZLE_SLOTS, OF_ARCH | OF_FROZEN, NULL},
	{"puzzle_emb_lr", O_PUZZLE_EMB_LR, OT_FLOAT, 0, 100, OF_OPTIM, NULL},
	{"puzzle_emb_ndim", O_PUZZLE_EMB_NDIM, OT_INT, 0, 65536, OF_ARCH | OF_FROZEN, NULL},
	{"puzzle_emb_weight_decay", O_PUZZLE_EMB_WEIGHT_DECAY, OT_FLOAT, 0, 100, OF_OPTIM, NULL},
	{"puzzle_id", O_PUZZLE_ID, OT_STRING, 0, 0, OF_FROZEN, NULL},
	{"resume", O_RESUME, OT_BOOL, 0, 0, OF_RUNTIME, NULL},
	{"seed", O_SEED, OT_INT, 0, 9007199254740992.0, OF_FROZEN, NULL},
	{"steps", O_STEPS, OT_INT, 1, BIG, 0, NULL},
	{"target", O_TARGET, OT_STRING, 0, 0, OF_FROZEN, NULL},
	{"task", O_TASK, OT_STRING, 0, 0, OF_FROZEN, "sudoku,maze,arc,generic"},
	{"threads", O_THREADS, OT_INT, 1, HRM_MAX_THREADS, 0, NULL},
	{"vocab_size", O_VOCAB_SIZE, OT_INT, 2, 32767, OF_ARCH | OF_FROZEN, NULL},
	{"wait", O_WAIT, OT_BOOL, 0, 0, OF_RUNTIME, NULL},
	{"weight_decay", O_WEIGHT_DECAY, OT_FLOAT, 0, 100, OF_OPTIM, NULL},
};

/* hrm_evaluate's options */
typedef enum HrmEvalOptId
{
	E_BATCH_ROWS,
	E_HALT,
	E_INPUT,
	E_MAX_ROWS,
	E_PUZZLE_ID,
	E_SEGMENTS,
	E_TARGET,
	E_VIEWS,
	E_ENSEMBLE,
	E_COUNT
} HrmEvalOptId;

static const HrmOptDef eval_opts[] = {
	{"batch_rows", (HrmOptId) E_BATCH_ROWS, OT_INT, 1, 65536, 0, NULL},
	{"ensemble", (HrmOptId) E_ENSEMBLE, OT_NAMES, 0, 0, 0, NULL},
	{"halt", (HrmOptId) E_HALT, OT_BOOL, 0, 0, 0, NULL},
	{"input", (HrmOptId) E_INPUT, OT_STRING, 0, 0, 0, NULL},
	{"max_rows", (HrmOptId) E_MAX_ROWS, OT_INT, 1, BIG, 0, NULL},
	{"puzzle_id", (HrmOptId) E_PUZZLE_ID, OT_STRING, 0, 0, 0, NULL},
	{"segments", (HrmOptId) E_SEGMENTS, OT_INT, 1, 1024, 0, NULL},
	{"target", (HrmOptId) E_TARGET, OT_STRING, 0, 0, 0, NULL},
	{"views", (HrmOptId) E_VIEWS, OT_INT, 1, HRM_VIEWS_MAX, 0, NULL},
};

typedef struct HrmOptVal
{
	bool		given;
	double		num;			/* OT_INT, OT_FLOAT */
	bool		b;				/* OT_BOOL */
	char	   *str;			/* OT_STRING; OT_EVERY's text */
	int64		every_steps;	/* OT_EVERY */
	double		every_seconds;
	char	   *json;			/* the value as JSON text, to store it */
	char	  **names;			/* OT_NAMES */
	int			n_names;
} HrmOptVal;

typedef struct HrmOpts
{
	HrmOptVal	v[O_COUNT];
} HrmOpts;

/* "a, b, c" of a table's names */
static char *
HrmOptNames(const HrmOptDef *defs, int n)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", defs[i].name);
	return buf.data;
}

/* What a definition accepts, for messages. */
static char *
HrmOptExpects(const HrmOptDef *d)
{
	switch (d->type)
	{
		case OT_INT:
			if (d->max >= BIG)
				return psprintf("an integer of at least %.0f", d->min);
			return psprintf("an integer between %.0f and %.0f", d->min, d->max);
		case OT_FLOAT:
			return psprintf("a number between %g and %g", d->min, d->max);
		case OT_BOOL:
			return pstrdup("true or false");
		case OT_STRING:
			if (d->choices)
				return psprintf("one of %s", d->choices);
			return pstrdup("a string");
		case OT_EVERY:
			return pstrdup("a number of steps (e.g. 500) or a duration such as \"30s\", \"5min\" or \"1h\"");
		case OT_NAMES:
			return pstrdup("a JSON array of model names, e.g. [\"m_step_4000\", \"m_step_5000\"]");
	}
	return pstrdup("?");
}

static void
HrmBadOption(const char *context, const HrmOptDef *d, const char *got)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for %s option \"%s\": %s", context, d->name, got),
			 errhint("\"%s\" takes %s.", d->name, HrmOptExpects(d))));
}

/* An OT_NAMES value: one name, or an array of non-empty names (at most 64). */
static void
HrmParseNames(const char *context, const HrmOptDef *d, const JsonbValue *v, HrmOptVal *o)
{
	StringInfoData buf;

	o->names = palloc(sizeof(char *) * 64);
	o->n_names = 0;
	if (v->type == jbvString)
		o->names[o->n_names++] = pnstrdup(v->val.string.val, v->val.string.len);
	else if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
			 !JsonContainerIsScalar(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (e.type != jbvString)
				HrmBadOption(context, d, "an array holding something other than names");
			if (o->n_names == 64)
				HrmBadOption(context, d, "more than 64 names");
			o->names[o->n_names++] = pnstrdup(e.val.string.val, e.val.string.len);
		}
	}
	else
		HrmBadOption(context, d, "neither a name nor an array of names");
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < o->n_names; i++)
	{
		if (o->names[i][0] == '\0')
			HrmBadOption(context, d, "an empty name");
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, o->names[i]);
	}
	appendStringInfoChar(&buf, ']');
	o->json = buf.data;
}

/* Parse "30s", "5min", "1.5h", "500" (steps). */
static bool
HrmParseEvery(const char *s, int64 *steps, double *seconds)
{
	char	   *end;
	double		x;

	errno = 0;
	x = strtod(s, &end);
	if (end == s || errno != 0 || !(x >= 0) || isinf(x))
		return false;
	while (*end == ' ')
		end++;
	*steps = 0;
	*seconds = 0;
	if (*end == '\0' || pg_strcasecmp(end, "steps") == 0 || pg_strcasecmp(end, "step") == 0)
	{
		if (x != floor(x) || x > BIG)
			return false;
		*steps = (int64) x;
	}
	else if (pg_strcasecmp(end, "s") == 0 || pg_strcasecmp(end, "sec") == 0 ||
			 pg_strcasecmp(end, "seconds") == 0 || pg_strcasecmp(end, "second") == 0)
		*seconds = x;
	else if (pg_strcasecmp(end, "min") == 0 || pg_strcasecmp(end, "m") == 0 ||
			 pg_strcasecmp(end, "minutes") == 0 || pg_strcasecmp(end, "minute") == 0)
		*seconds = x * 60.0;
	else if (pg_strcasecmp(end, "h") == 0 || pg_strcasecmp(end, "hours") == 0 ||
			 pg_strcasecmp(end, "hour") == 0)
		*seconds = x * 3600.0;
	else
		return false;
	return true;
}

static bool
HrmChoiceOk(const char *choices, const char *s)
{
	char	   *list = pstrdup(choices);
	char	   *tok;
	char	   *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, s) == 0)
			return true;
	return false;
}

/*
 * Parse an options object against a table; vals[id] of every option found.
 * context names the function in messages ("training", "evaluation").
 */
static void
HrmParseOptions(Jsonb *jb, const HrmOptDef *defs, int ndefs, HrmOptVal *vals, const char *context)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options must be a JSON object", context),
				 errhint("Pass options such as '{\"steps\": 1000}'; accepted names: %s.",
						 HrmOptNames(defs, ndefs))));

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const HrmOptDef *d = NULL;
		HrmOptVal  *o;
		int			i;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;

		for (i = 0; i < ndefs; i++)
			if (strcmp(defs[i].name, key) == 0)
				d = &defs[i];
		if (d == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown %s option \"%s\"", context, key),
					 errhint("Accepted options: %s.", HrmOptNames(defs, ndefs))));
		o = &vals[d->id];
		memset(o, 0, sizeof(*o));

		if (v.type == jbvNull)
			continue;			/* null = the default */
		switch (d->type)
		{
			case OT_INT:
			case OT_FLOAT:
				{
					char	   *txt;

					if (v.type != jbvNumeric)
						HrmBadOption(context, d, "not a number");
					txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
					o->num = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
					if (d->type == OT_INT && o->num != floor(o->num))
						HrmBadOption(context, d, txt);
					if (!(o->num >= d->min && o->num <= d->max))
						HrmBadOption(context, d, txt);
					o->json = txt;
					break;
				}
			case OT_BOOL:
				if (v.type != jbvBool)
					HrmBadOption(context, d, "not a boolean");
				o->b = v.val.boolean;
				o->json = pstrdup(o->b ? "true" : "false");
				break;
			case OT_STRING:
				{
					StringInfoData buf;

					if (v.type != jbvString)
						HrmBadOption(context, d, "not a string");
					o->str = pnstrdup(v.val.string.val, v.val.string.len);
					if (d->choices && !HrmChoiceOk(d->choices, o->str))
						HrmBadOption(context, d, psprintf("\"%s\"", o->str));
					if (o->str[0] == '\0')
						HrmBadOption(context, d, "an empty string");
					initStringInfo(&buf);
					escape_json(&buf, o->str);
					o->json = buf.data;
					break;
				}
			case OT_EVERY:
				{
					StringInfoData buf;

					if (v.type == jbvNumeric)
						o->str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
					else if (v.type == jbvString)
						o->str = pnstrdup(v.val.string.val, v.val.string.len);
					else
						HrmBadOption(context, d, "neither a number nor a string");
					if (!HrmParseEvery(o->str, &o->every_steps, &o->every_seconds))
						HrmBadOption(context, d, psprintf("\"%s\"", o->str));
					initStringInfo(&buf);
					escape_json(&buf, o->str);
					o->json = buf.data;
					break;
				}
			case OT_NAMES:
				HrmParseNames(context, d, &v, o);
				break;
		}
		o->given = true;
	}
}

static bool
HrmOptEqual(const HrmOptVal *a, const HrmOptVal *b)
{
	if (a->given != b->given)
		return false;
	if (!a->given)
		return true;
	return strcmp(a->json, b->json) == 0;
}

/* The options to store with a job: every given one but the runtime ones. */
static char *
HrmOptionsJson(const HrmOpts *o)
{
	StringInfoData buf;
	bool		first = true;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < lengthof(train_opts); i++)
	{
		const HrmOptDef *d = &train_opts[i];
		const HrmOptVal *v = &o->v[d->id];

		if (!v->given || (d->flags & OF_RUNTIME))
			continue;
		appendStringInfo(&buf, "%s\"%s\": %s", first ? "" : ", ", d->name, v->json);
		first = false;
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* ---------------------------------------------------------------------
 * Models and checkpoints in the catalog
 * --------------------------------------------------------------------- */

typedef struct HrmModelInfo
{
	bool		exists;
	hrm_config	cfg;
	bool		has_task;
	hrm_task	task;
	char	   *task_name;
	Oid			ownerid;		/* InvalidOid if the ACL object is gone */
	Oid			acl_lo;
	Oid			weights;
} HrmModelInfo;

/* Look a model up with its configuration. */
static void
HrmGetModelInfo(const char *name, HrmModelInfo *info)
{
	MemoryContext callercxt = CurrentMemoryContext;
	HrmUserState us;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	memset(info, 0, sizeof(*info));
	values[0] = CStringGetTextDatum(name);
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec("SELECT m.config::pg_catalog.text, m.task, l.lomowner, m.weights, m.acl_lo FROM hrm.model m"
				   " LEFT JOIN pg_catalog.pg_largeobject_metadata l ON l.oid OPERATOR(pg_catalog.=) m.acl_lo"
				   " WHERE m.name OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *cfg = SPI_getvalue(tup, desc, 1);
		char	   *task = SPI_getvalue(tup, desc, 2);
		bool		isnull;
		hrm_error	err;
		hrm_status	st;

		info->exists = true;
		hrm_error_clear(&err);
		st = hrm_config_from_json(cfg, strlen(cfg), &info->cfg, &err);
		if (st != HRM_OK)
			HrmThrow(st, &err, psprintf("invalid configuration of model \"%s\"", name));
		if (task != NULL)
		{
			info->task_name = MemoryContextStrdup(callercxt, task);
			info->has_task = hrm_task_from_name(task, &info->task);
		}
		info->ownerid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		if (isnull)
			info->ownerid = InvalidOid;
		info->weights = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		info->acl_lo = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
	}
	SPI_finish();
	HrmRestoreUser(&us);
}

/*
 * The last checkpoint of a model's newest training run (a fresh run keeps the
 * previous run's newest checkpoint, for hrm_publish_checkpoint) and the
 * options stored with it.
 */
static bool
HrmLastCheckpoint(const char *model, int64 *step, int64 *run, Oid *state, char **options)
{
	MemoryContext callercxt = CurrentMemoryContext;
	HrmUserState us;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		found = false;

	values[0] = CStringGetTextDatum(model);
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	if (HrmCheckpointHasRun())
		HrmSpiExec("SELECT step, state, (metrics OPERATOR(pg_catalog.->) 'options')::pg_catalog.text, run"
					   " FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1"
					   " ORDER BY run DESC, step DESC LIMIT 1", 1, types, values, NULL, true, 1);
	else
		HrmSpiExec("SELECT step, state, (metrics OPERATOR(pg_catalog.->) 'options')::pg_catalog.text, 0::bigint"
					   " FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1"
					   " ORDER BY step DESC LIMIT 1", 1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *o;

		*step = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		*state = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		*run = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		o = SPI_getvalue(tup, desc, 3);
		*options = o ? MemoryContextStrdup(callercxt, o) : NULL;
		found = true;
	}
	SPI_finish();
	HrmRestoreUser(&us);
	return found;
}

static int64
HrmNextJobId(void)
{
	HrmUserState us;
	bool		isnull;
	int64		id;

	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec("SELECT pg_catalog.nextval('hrm.job_seq'::pg_catalog.regclass)", 0, NULL, NULL, NULL, false, 1);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	HrmRestoreUser(&us);
	return id;
}

/* ---------------------------------------------------------------------
 * Resolving a training run
 * --------------------------------------------------------------------- */

/* Apply the given architecture options to a configuration. */
static void
HrmApplyArch(const HrmOpts *o, hrm_config *c)
{
	const HrmOptVal *v = o->v;

	if (v[O_ARCH].given)
		c->arch = strcmp(v[O_ARCH].str, "trm") == 0 ? HRM_ARCH_TRM : HRM_ARCH_HRM;
	if (v[O_MLP_T].given)
		c->mlp_t = v[O_MLP_T].b;
	if (v[O_NO_ACT_CONTINUE].given)
		c->no_ACT_continue = v[O_NO_ACT_CONTINUE].b;
	if (v[O_PUZZLE_EMB_LEN].given)
		c->puzzle_emb_len = (int) v[O_PUZZLE_EMB_LEN].num;
	if (v[O_HIDDEN_SIZE].given)
		c->hidden_size = (int) v[O_HIDDEN_SIZE].num;
	if (v[O_NUM_HEADS].given)
		c->num_heads = (int) v[O_NUM_HEADS].num;
	if (v[O_H_LAYERS].given)
		c->H_layers = (int) v[O_H_LAYERS].num;
	if (v[O_L_LAYERS].given)
		c->L_layers = (int) v[O_L_LAYERS].num;
	if (v[O_H_CYCLES].given)
		c->H_cycles = (int) v[O_H_CYCLES].num;
	if (v[O_L_CYCLES].given)
		c->L_cycles = (int) v[O_L_CYCLES].num;
	if (v[O_EXPANSION].given)
		c->expansion = v[O_EXPANSION].num;
	if (v[O_HALT_MAX_STEPS].given)
		c->halt_max_steps = (int) v[O_HALT_MAX_STEPS].num;
	if (v[O_HALT_EXPLORATION_PROB].given)
		c->halt_exploration_prob = v[O_HALT_EXPLORATION_PROB].num;
	if (v[O_POS_ENCODINGS].given)
		c->pos_encodings = strcmp(v[O_POS_ENCODINGS].str, "learned") == 0 ? HRM_POS_LEARNED :
			strcmp(v[O_POS_ENCODINGS].str, "none") == 0 ? HRM_POS_NONE : HRM_POS_ROPE;
	if (v[O_ATTN_MASK].given)
		c->attn_mask = strcmp(v[O_ATTN_MASK].str, "sudoku") == 0 ? HRM_MASK_SUDOKU : HRM_MASK_FULL;
	if (v[O_PUZZLE_EMB_NDIM].given)
		c->puzzle_emb_ndim = (int) v[O_PUZZLE_EMB_NDIM].num;
	if (v[O_VOCAB_SIZE].given)
		c->vocab_size = (int) v[O_VOCAB_SIZE].num;
}

/* Architecture options given for an existing model must match it. */
static void
HrmCheckArchUnchanged(const HrmOpts *o, const hrm_config *cfg, const char *model)
{
	int			i;

	for (i = 0; i < lengthof(train_opts); i++)
	{
		const HrmOptDef *d = &train_opts[i];
		hrm_config	one = *cfg;
		HrmOpts		single;

		if (!(d->flags & OF_ARCH) || !o->v[d->id].given)
			continue;
		memset(&single, 0, sizeof(single));
		single.v[d->id] = o->v[d->id];
		HrmApplyArch(&single, &one);
		if (memcmp(&one, cfg, sizeof(hrm_config)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" already exists with another %s", model, d->name),
					 errdetail("Architecture options apply to new models; an existing model continues from its weights."),
					 errhint("Drop the option, train under a new model name, or drop the model first (hrm_drop_model).")));
	}
}

static void
HrmApplyOptim(const HrmOpts *o, hrm_train_opts *t)
{
	const HrmOptVal *v = o->v;

	if (v[O_LR].given)
		t->lr = v[O_LR].num;
	if (v[O_LR_WARMUP_STEPS].given)
		t->lr_warmup_steps = (int64) v[O_LR_WARMUP_STEPS].num;
	if (v[O_LR_MIN_RATIO].given)
		t->lr_min_ratio = v[O_LR_MIN_RATIO].num;
	if (v[O_BETA1].given)
		t->beta1 = v[O_BETA1].num;
	if (v[O_BETA2].given)
		t->beta2 = v[O_BETA2].num;
	if (v[O_WEIGHT_DECAY].given)
		t->weight_decay = v[O_WEIGHT_DECAY].num;
	if (v[O_PUZZLE_EMB_LR].given)
		t->puzzle_emb_lr = v[O_PUZZLE_EMB_LR].num;
	if (v[O_PUZZLE_EMB_WEIGHT_DECAY].given)
		t->puzzle_emb_weight_decay = v[O_PUZZLE_EMB_WEIGHT_DECAY].num;
	if (v[O_LOSS_TYPE].given)
		t->loss_type = strcmp(v[O_LOSS_TYPE].str, "softmax") == 0 ? HRM_LOSS_SOFTMAX : HRM_LOSS_STABLEMAX;
}

/*
 * Resume: the options stored with the checkpoint, with those of this call
 * on top; options the checkpoint fixes may not change.
 */
static void
HrmMergeResumeOptions(HrmOpts *o, const char *stored_json, const char *model)
{
	HrmOpts		stored;
	int			i;

	memset(&stored, 0, sizeof(stored));
	if (stored_json != NULL)
	{
		Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(stored_json)));

		HrmParseOptions(jb, train_opts, lengthof(train_opts), stored.v, "training");
	}
	for (i = 0; i < lengthof(train_opts); i++)
	{
		const HrmOptDef *d = &train_opts[i];
		HrmOptVal  *nv = &o->v[d->id];
		HrmOptVal  *sv = &stored.v[d->id];

		if (d->flags & OF_RUNTIME)
			continue;
		if (nv->given && (d->flags & OF_FROZEN) && !HrmOptEqual(nv, sv))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" cannot change when resuming model \"%s\"", d->name, model),
					 errdetail("The checkpoint was trained with %s %s.", d->name,
							   sv->given ? sv->json : "at its default"),
					 errhint("Drop the option to keep the checkpoint's value.")));
		if (!nv->given && sv->given)
			*nv = *sv;
	}
}

/* Everything the job was resolved to, as a JSON object (hrm.model.hyperparameters). */
static char *
HrmHyperJson(const HrmTrainTask *t, const char *task_name)
{
	StringInfoData b;
	const hrm_train_opts *o = &t->ro.train;
	const hrm_sampler_opts *s = &t->ro.sampler;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"task\": \"%s\", \"lr\": %.9g, \"lr_warmup_steps\": " INT64_FORMAT
					 ", \"lr_min_ratio\": %.9g, \"beta1\": %.9g, \"beta2\": %.9g, \"weight_decay\": %.9g"
					 ", \"puzzle_emb_lr\": %.9g, \"puzzle_emb_weight_decay\": %.9g, \"loss_type\": \"%s\""
					 ", \"batch_size\": %d, \"seed\": " UINT64_FORMAT ", \"augment\": %s"
					 ", \"curriculum_steps\": " INT64_FORMAT ", \"curriculum_start\": %.9g"
					 ", \"ignore_givens\": %.9g, \"eval_fraction\": %.9g, \"threads\": %d",
					 task_name, o->lr, (int64) o->lr_warmup_steps, o->lr_min_ratio, o->beta1, o->beta2,
					 o->weight_decay, o->puzzle_emb_lr, o->puzzle_emb_weight_decay,
					 o->loss_type == HRM_LOSS_SOFTMAX ? "softmax" : "stablemax",
					 o->batch_size, (uint64) o->seed, s->augment ? "true" : "false",
					 (int64) s->curriculum_steps, s->curriculum_start, s->ignore_givens,
					 t->ro.eval_fraction, t->threads);
	if (o->ema > 0)
		appendStringInfo(&b, ", \"ema\": %.9g", o->ema);
	if (t->steps > 0)
		appendStringInfo(&b, ", \"steps\": " INT64_FORMAT, t->steps);
	if (t->epochs > 0)
		appendStringInfo(&b, ", \"epochs\": %.9g", t->epochs);
	if (t->max_seconds > 0)
		appendStringInfo(&b, ", \"max_minutes\": %.9g", t->max_seconds / 60.0);
	appendStringInfoChar(&b, '}');
	return b.data;
}

static void HrmCheckPuzzleIds(const hrm_dataset *ds, int n_ids, const char *model, const char *label);

/*
 * A new model's architecture (the recipe's defaults, the options, the
 * data's shape) that the engine refuses: the engine's reason as the
 * message, what it was built from as the detail, and a hint in terms of
 * hrm_train's options rather than of a configuration to import.
 */
static void
HrmTrainArchError(const hrm_config *c, const hrm_error *err, const char *model, hrm_task task)
{
	const char *hint = NULL;
	char		field[32];
	size_t		k = 0;
	bool		rope = c->pos_encodings == HRM_POS_ROPE;

	/* the field a range error names comes first in the engine's message */
	while (k < sizeof(field) - 1 && err->msg[k] != '\0' && err->msg[k] != ' ')
	{
		field[k] = err->msg[k];
		k++;
	}
	field[k] = '\0';

	if (c->num_heads >= 1 && c->hidden_size >= 1 && c->hidden_size % c->num_heads != 0)
	{
		int			unit = c->num_heads * (rope ? 2 : 1);
		int			up = ((c->hidden_size + unit - 1) / unit) * unit;

		hint = psprintf("Choose the options hidden_size and num_heads so that num_heads divides hidden_size%s, e.g. {\"hidden_size\": %d, \"num_heads\": %d}.",
						rope ? " into heads of an even size (pos_encodings \"rope\")" : "", up, c->num_heads);
	}
	else if (rope && c->num_heads >= 1 && (c->hidden_size / c->num_heads) % 2 != 0)
		hint = psprintf("With pos_encodings \"rope\" (the default) every head needs an even size, and hidden_size / num_heads is %d: change the option hidden_size or num_heads, or set pos_encodings to \"learned\".",
						c->hidden_size / c->num_heads);
	else if (c->attn_mask == HRM_MASK_SUDOKU && c->seq_len != 81)
		hint = psprintf("The option attn_mask \"sudoku\" is for Sudoku rows of 81 cells, and these rows have %d tokens: leave attn_mask out or set it to \"full\".",
						c->seq_len);
	else if (strcmp(field, "seq_len") == 0)
		hint = psprintf("seq_len is the length of the data's rows (%d tokens here): train on rows of at most %d tokens.",
						c->seq_len, HRM_MAX_SEQ_LEN);
	else if (strcmp(field, "num_puzzle_identifiers") == 0)
		hint = "num_puzzle_identifiers is the data's largest puzzle id + 1: renumber the puzzle ids from 0.";
	else
	{
		for (int i = 0; i < lengthof(train_opts); i++)
			if ((train_opts[i].flags & OF_ARCH) && strcmp(train_opts[i].name, field) == 0)
				hint = psprintf("Change the hrm_train option \"%s\"; docs/train.md lists the architecture options and their ranges.",
								field);
		if (hint == NULL && strncmp(err->msg, "puzzle_emb_ndim", 15) == 0)
			hint = "Lower the option puzzle_emb_ndim, or raise hidden_size.";
		if (hint == NULL)
			hint = "Change the architecture options of hrm_train (hidden_size, num_heads, H_layers, L_layers, H_cycles, L_cycles, expansion, halt_max_steps, pos_encodings, attn_mask, puzzle_emb_ndim, vocab_size); docs/train.md lists their ranges.";
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid architecture for model \"%s\": %s", model, err->msg),
			 errdetail("A new model takes the %s recipe's defaults and the options given: arch %s, hidden_size %d, num_heads %d, %sL_layers %d, H_cycles %d, L_cycles %d, expansion %g, pos_encodings %s, attn_mask %s, puzzle_emb_ndim %d; seq_len %d and vocab_size %d come from the data.",
					   hrm_task_name(task), hrm_arch_name(c->arch), c->hidden_size, c->num_heads,
					   c->arch == HRM_ARCH_HRM ? psprintf("H_layers %d, ", c->H_layers) : "", c->L_layers,
					   c->H_cycles, c->L_cycles, c->expansion, hrm_pos_enc_name(c->pos_encodings),
					   hrm_attn_mask_name(c->attn_mask), c->puzzle_emb_ndim, c->seq_len, c->vocab_size),
			 errhint("%s", hint)));
}

/* Parameters of a configuration (for messages). */
static size_t
HrmParamCount(const hrm_config *cfg)
{
	hrm_layout	lay;
	size_t		n = 0;

	if (hrm_layout_init(&lay, cfg, NULL) == HRM_OK)
	{
		n = lay.n_params;
		hrm_layout_free(&lay);
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Waiting for a job
 * --------------------------------------------------------------------- */

typedef struct HrmWaitArg
{
	int			slot;
	int64		job_id;
	bool		cancel_job;
} HrmWaitArg;

/* ERROR or FATAL while waiting: stop the job if this call owns it. */
static void
HrmWaitCleanup(int code, Datum arg)
{
	HrmWaitArg *w = (HrmWaitArg *) DatumGetPointer(arg);

	if (w->cancel_job)
		HrmJobRequestCancel(w->slot, MyDatabaseId, w->job_id);
}

static void
HrmFormatDuration(StringInfo b, double s)
{
	int64		t = (int64) (s + 0.5);

	if (t >= 3600)
		appendStringInfo(b, INT64_FORMAT ":%02d:%02d", t / 3600, (int) ((t / 60) % 60), (int) (t % 60));
	else
		appendStringInfo(b, "%d:%02d", (int) (t / 60), (int) (t % 60));
}

static void
HrmProgressNotice(const HrmJobSlot *s)
{
	StringInfoData b;
	const HrmJobProgress *p = &s->p;

	initStringInfo(&b);
	appendStringInfo(&b, "job " INT64_FORMAT ": step " INT64_FORMAT, s->job_id, p->step);
	if (p->total_steps > 0)
		appendStringInfo(&b, "/" INT64_FORMAT, p->total_steps);
	if (p->step > p->start_step)
		appendStringInfo(&b, "  loss %.4f  accuracy %.1f%%  exact %.1f%%  %.0f examples/s",
						 p->loss, 100.0 * p->accuracy, 100.0 * p->exact_accuracy, p->examples_per_second);
	if (!isnan(p->eval_exact_accuracy))
		appendStringInfo(&b, "  eval exact %.1f%%", 100.0 * p->eval_exact_accuracy);
	appendStringInfoString(&b, "  elapsed ");
	HrmFormatDuration(&b, p->elapsed);
	if (p->eta >= 0)
	{
		appendStringInfoString(&b, "  ETA ");
		HrmFormatDuration(&b, p->eta);
	}
	if (p->last_checkpoint >= 0)
		appendStringInfo(&b, "  checkpoint " INT64_FORMAT, p->last_checkpoint);
	ereport(NOTICE, (errmsg_internal("%s", b.data)));
}

static bool HrmJobFromTable(int64 job_id, HrmJobSlot *out);

/*
 * Follow a job until it ends, with a NOTICE every progress seconds (0 =
 * none).  With cancel_job, an ERROR or FATAL here (a cancelled query, the
 * session ending) asks the job to stop.
 */
static void
HrmWaitJob(int slot, int64 job_id, double progress, bool cancel_job, HrmJobSlot *out)
{
	HrmWaitArg	w;
	TimestampTz last_notice = GetCurrentTimestamp();
	TimestampTz last_seen = 0;

	w.slot = slot;
	w.job_id = job_id;
	w.cancel_job = cancel_job;

	PG_ENSURE_ERROR_CLEANUP(HrmWaitCleanup, PointerGetDatum(&w));
	{
		for (;;)
		{
			TimestampTz now;

			CHECK_FOR_INTERRUPTS();
			if (!HrmJobRead(slot, MyDatabaseId, job_id, out))
			{
				/* ended, and its slot reused meanwhile: hrm.job has how */
				if (HrmJobFromTable(job_id, out))
					break;
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("training job " INT64_FORMAT " is no longer in shared memory", job_id),
						 errhint("SELECT * FROM hrm.job WHERE id = " INT64_FORMAT " shows how it ended.", job_id)));
			}
			if (out->state != HRM_JOB_STARTING && out->state != HRM_JOB_RUNNING)
				break;
			now = GetCurrentTimestamp();
			if (progress > 0 && out->p.updated != last_seen && out->state == HRM_JOB_RUNNING &&
				TimestampDifferenceExceeds(last_notice, now, (int) (progress * 1000)))
			{
				HrmProgressNotice(out);
				last_notice = now;
				last_seen = out->p.updated;
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	PG_END_ENSURE_ERROR_CLEANUP(HrmWaitCleanup, PointerGetDatum(&w));
}

#define HRM_RESULT_COLS 9

/* The result row of hrm_train / hrm_wait from a slot; ERROR for a failed job. */
static Datum
HrmJobResult(FunctionCallInfo fcinfo, const HrmJobSlot *s)
{
	TupleDesc	desc;
	Datum		values[HRM_RESULT_COLS];
	bool		nulls[HRM_RESULT_COLS];
	bool		trained = s->p.step > s->p.start_step;

	if (s->state == HRM_JOB_FAILED)
		ereport(ERROR,
				(errcode(s->sqlerrcode ? s->sqlerrcode : ERRCODE_INTERNAL_ERROR),
				 errmsg("training job " INT64_FORMAT " of model \"%s\" failed: %s", s->job_id, s->model,
						s->error),
				 s->p.last_checkpoint >= 0 ?
				 errhint("The checkpoint at step " INT64_FORMAT " is kept; {\"resume\": true} continues from it.",
						 s->p.last_checkpoint) : 0));

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(s->job_id);
	values[1] = Int64GetDatum(s->p.step);
	values[2] = Int64GetDatum(s->p.examples);
	if (trained && !isnan(s->p.loss))
	{
		values[3] = Float8GetDatum(s->p.loss);
		values[4] = Float8GetDatum(s->p.exact_accuracy);
	}
	else
		nulls[3] = nulls[4] = true;
	if (!isnan(s->p.eval_exact_accuracy))
		values[5] = Float8GetDatum(s->p.eval_exact_accuracy);
	else
		nulls[5] = true;
	values[6] = Float8GetDatum(s->p.elapsed);
	if (s->p.last_checkpoint >= 0)
		values[7] = Int64GetDatum(s->p.last_checkpoint);
	else
		nulls[7] = true;
	values[8] = CStringGetTextDatum(HrmJobStateName(s->state));
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* ---------------------------------------------------------------------
 * hrm_train
 * --------------------------------------------------------------------- */

/* Start the worker of a claimed slot; a failure frees the slot. */
static void
HrmLaunch(int slot, int64 job_id, dsm_segment *seg)
{
	PG_TRY();
	{
		HrmStartWorker(slot, job_id, seg);
	}
	PG_CATCH();
	{
		HrmJobFinish(slot, MyDatabaseId, job_id, HRM_JOB_FAILED, ERRCODE_INTERNAL_ERROR, "the job could not start");
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * What hrm_train will run, resolved in the calling backend: the options,
 * the model (and the checkpoint to resume), the data read from the source,
 * the engine's options, and the memory plan checked.  Nothing is started.
 */
typedef struct HrmTrainPlan
{
	const char *model;
	const char *source;
	HrmOpts		o;
	HrmModelInfo info;
	hrm_dataset *train;
	hrm_dataset *eval;
	hrm_run_opts ro;
	hrm_task	task;
	int64		resume_step;
	int64		resume_run;
	Oid			resume_state;
	bool		optim_given;
	bool		wait;
	double		progress;
} HrmTrainPlan;

static void
HrmTrainResolve(HrmTrainPlan *p, const char *model, const char *source, Jsonb *options, int wait_arg)
{
	HrmOptVal  *v = p->o.v;
	HrmShape	shape;
	HrmColumns	cols;
	char	   *stored_options = NULL;
	size_t		cap = (size_t) hrm_max_training_data_mb * 1024 * 1024;
	hrm_error	err;
	hrm_status	st;
	int			i;

	memset(p, 0, sizeof(*p));
	p->model = model;
	p->source = source;
	p->resume_state = InvalidOid;
	HrmCheckModelName(model);
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train a model during recovery"),
				 errhint("Train on the primary server; the models replicate to standbys.")));

	HrmParseOptions(options, train_opts, lengthof(train_opts), p->o.v, "training");
	p->wait = wait_arg >= 0 ? wait_arg != 0 : (v[O_WAIT].given ? v[O_WAIT].b : true);
	p->progress = v[O_PROGRESS].given ? v[O_PROGRESS].num : HRM_DEFAULT_PROGRESS;

	/* the model, and the checkpoint to resume from */
	HrmGetModelInfo(model, &p->info);
	if (p->info.exists)
		HrmCheckOwnerOf(model, p->info.ownerid, p->info.acl_lo, "train it");
	HrmJobCheckIdle(MyDatabaseId, model);
	for (i = 0; i < lengthof(train_opts); i++)
		if ((train_opts[i].flags & OF_OPTIM) && v[train_opts[i].id].given)
			p->optim_given = true;
	if (v[O_RESUME].given && v[O_RESUME].b)
	{
		if (!p->info.exists || !HrmLastCheckpoint(model, &p->resume_step, &p->resume_run, &p->resume_state, &stored_options))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" has no checkpoint to resume from", model),
					 errhint("Start a run without \"resume\"; it writes checkpoints as it trains.")));
		HrmMergeResumeOptions(&p->o, stored_options, model);
	}
	else if (p->info.exists)
		HrmCheckArchUnchanged(&p->o, &p->info.cfg, model);

	/* the data */
	memset(&shape, 0, sizeof(shape));
	if (v[O_TASK].given)
	{
		shape.task_known = true;
		hrm_task_from_name(v[O_TASK].str, &shape.task);
		if (p->info.exists && (p->info.has_task ? p->info.task : HRM_TASK_GENERIC) != shape.task)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" is a %s model, not %s", model,
							p->info.has_task ? p->info.task_name : "generic", v[O_TASK].str)));
	}
	else if (p->info.exists)
	{
		shape.task_known = true;
		shape.task = p->info.has_task ? p->info.task : HRM_TASK_GENERIC;
	}
	if (p->info.exists)
	{
		shape.seq_len = p->info.cfg.seq_len;
		shape.vocab_size = p->info.cfg.vocab_size;
	}
	else if (v[O_VOCAB_SIZE].given)
		shape.vocab_size = (int) v[O_VOCAB_SIZE].num;
	cols.input = v[O_INPUT].given ? v[O_INPUT].str : NULL;
	cols.target = v[O_TARGET].given ? v[O_TARGET].str : NULL;
	cols.puzzle_id = v[O_PUZZLE_ID].given ? v[O_PUZZLE_ID].str : NULL;

	p->train = HrmReadSource(source, "source", &cols, &shape, cap, 0);
	if (v[O_EVAL_SOURCE].given)
		p->eval = HrmReadSource(v[O_EVAL_SOURCE].str, "eval_source", &cols, &shape,
							 Max(cap - Min(cap, hrm_dataset_bytes(p->train)), 1), 0);
	p->task = shape.task;

	/* the engine's options: the recipe for the task, then the options */
	hrm_run_opts_defaults(&p->ro, p->task, shape.seq_len, shape.vocab_size);
	if (p->info.exists)
	{
		if (p->info.cfg.seq_len != p->train->seq_len || p->info.cfg.vocab_size < p->train->vocab_size)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the data does not fit model \"%s\"", model),
					 errdetail("The model takes %d tokens over a vocabulary of %d; the data has %d tokens.",
							   p->info.cfg.seq_len, p->info.cfg.vocab_size, p->train->seq_len)));
		p->ro.model = p->info.cfg;
	}
	else
	{
		/* the task's recipe chooses the architecture unless "arch" is given */
		bool		trm = v[O_ARCH].given ? strcmp(v[O_ARCH].str, "trm") == 0 : p->ro.model.arch == HRM_ARCH_TRM;

		/* TRM: one network of L_layers blocks; its own options need arch "trm" */
		if (trm && v[O_H_LAYERS].given)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"H_layers\" applies to arch \"hrm\""),
					 errdetail("A TRM model has one network of L_layers blocks for both of its updates%s.",
							   v[O_ARCH].given ? "" : ", and the task's recipe trains a TRM"),
					 v[O_ARCH].given ? errhint("Drop H_layers, or set L_layers.") :
					 errhint("Add \"arch\": \"hrm\" to train a Hierarchical Reasoning Model with H_layers, or drop H_layers.")));
		if (!trm && (v[O_MLP_T].given || v[O_NO_ACT_CONTINUE].given || v[O_PUZZLE_EMB_LEN].given))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" applies to arch \"trm\"",
							v[O_MLP_T].given ? "mlp_t" : v[O_NO_ACT_CONTINUE].given ? "no_ACT_continue" :
							"puzzle_emb_len"),
					 errhint("Add \"arch\": \"trm\" to train a Tiny Recursive Model.")));
		if (trm)
			hrm_run_opts_trm(&p->ro, v[O_MLP_T].given && v[O_MLP_T].b);
		else if (p->ro.model.arch != HRM_ARCH_HRM)
			hrm_run_opts_hrm(&p->ro);	/* "arch": "hrm" where the recipe chose TRM */
		HrmApplyArch(&p->o, &p->ro.model);
		/* puzzle ids only reach a model through its puzzle embedding: one as wide as the model */
		if (v[O_PUZZLE_ID].given && !v[O_PUZZLE_EMB_NDIM].given)
			p->ro.model.puzzle_emb_ndim = p->ro.model.hidden_size;
		p->ro.model.seq_len = p->train->seq_len;
		p->ro.model.vocab_size = Max(p->train->vocab_size, p->ro.model.vocab_size);
		if (v[O_VOCAB_SIZE].given)
			p->ro.model.vocab_size = (int) v[O_VOCAB_SIZE].num;
		p->ro.model.num_puzzle_identifiers = 1;
		if (p->ro.model.puzzle_emb_ndim > 0)
			p->ro.model.num_puzzle_identifiers = Max(p->train->max_puzzle_id, p->eval ? p->eval->max_puzzle_id : 0) + 1;
	}
	if (p->ro.model.puzzle_emb_ndim > 0)
	{
		HrmCheckPuzzleIds(p->train, p->ro.model.num_puzzle_identifiers, model, "source");
		if (p->eval)
			HrmCheckPuzzleIds(p->eval, p->ro.model.num_puzzle_identifiers, model, "eval_source");
	}
	hrm_error_clear(&err);
	st = hrm_config_validate(&p->ro.model, &err);
	if (st == HRM_ERR_CONFIG)
		HrmTrainArchError(&p->ro.model, &err, model, p->task);
	if (st != HRM_OK)
		HrmThrow(st, &err, psprintf("invalid architecture for model \"%s\"", model));

	HrmApplyOptim(&p->o, &p->ro.train);
	if (v[O_BATCH_SIZE].given)
		p->ro.train.batch_size = (int) v[O_BATCH_SIZE].num;
	if (v[O_EMA].given)
		p->ro.train.ema = v[O_EMA].num;
	if (v[O_SEED].given)
		p->ro.train.seed = (uint64) v[O_SEED].num;
	p->ro.sampler.batch_size = p->ro.train.batch_size;
	p->ro.sampler.seed = p->ro.train.seed;
	p->ro.sampler.task = p->task;
	if (v[O_AUGMENT].given)
		p->ro.sampler.augment = v[O_AUGMENT].b;
	if (v[O_CURRICULUM_STEPS].given)
		p->ro.sampler.curriculum_steps = (int64) v[O_CURRICULUM_STEPS].num;
	if (v[O_CURRICULUM_START].given)
		p->ro.sampler.curriculum_start = v[O_CURRICULUM_START].num;
	if (v[O_IGNORE_GIVENS].given)
		p->ro.sampler.ignore_givens = v[O_IGNORE_GIVENS].num;
	if (hrm_task_get(p->task)->reveal == NULL && (p->ro.sampler.curriculum_steps > 0 || p->ro.sampler.ignore_givens > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"curriculum_steps\" and \"ignore_givens\" apply to the sudoku task only")));
	if (p->eval != NULL)
		p->ro.eval_fraction = 0.0;
	if (v[O_EVAL_FRACTION].given)
		p->ro.eval_fraction = v[O_EVAL_FRACTION].num;
	if (p->eval == NULL && p->ro.eval_fraction > 0 && p->train->n < 2)
		p->ro.eval_fraction = 0.0;

	/*
	 * The worker's memory plan, checked here so that an oversized batch or
	 * model fails in the call (the worker checks it again before allocating).
	 */
	{
		size_t		need = hrm_trainer_plan_bytes(&p->ro.model, &p->ro.train);
		int64		held_out = p->eval ? p->eval->n : (p->ro.eval_fraction > 0 ? p->train->n : 0);

		/* the held-out evaluation at each checkpoint runs next to the trainer */
		if (held_out > 0 && need < SIZE_MAX)
		{
			hrm_layout	lay;
			hrm_error	lerr;
			int			rows = p->ro.eval.batch_rows > 0 ? p->ro.eval.batch_rows : 256;
			int64		n_eval = v[O_EVAL_ROWS].given ? (int64) v[O_EVAL_ROWS].num : 200;

			if (n_eval > 0)
				rows = (int) Min((int64) rows, Min(held_out, n_eval));
			if (hrm_layout_init(&lay, &p->ro.model, &lerr) == HRM_OK)
			{
				size_t		packs = hrm_model_pack_floats(&lay, false);

				need = hrm_sat_add(need, hrm_sat_mul(packs, sizeof(float)));
				need = hrm_sat_add(need, hrm_eval_plan_bytes(&lay.cfg, rows, packs > 0,
															 HrmEffectiveThreads(v[O_THREADS].given ? (int) v[O_THREADS].num : hrm_threads)));
				hrm_layout_free(&lay);
			}
		}

		if (need > HrmMaxMemoryBytes())
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("training model \"%s\" with batch_size %d needs %s of working memory, over hrm.max_memory (%d MB)",
							model, p->ro.train.batch_size,
							need == SIZE_MAX ? "more than can be addressed" :
							psprintf("%zu MB", (need + (1 << 20) - 1) >> 20),
							hrm_max_memory_mb),
					 errhint("Use a smaller batch_size or model, or ask a superuser to raise hrm.max_memory.")));
	}

}

/*
 * Start a resolved run: the task and its data in a DSM segment for the
 * worker, a job slot claimed and the worker launched.  Returns the job's id;
 * *slot_out is its slot, *task_out the task as submitted.
 */
static int64
HrmTrainSubmit(HrmTrainPlan *p, int *slot_out, HrmTrainTask **task_out)
{
	MemoryContext cxt = CurrentMemoryContext;
	HrmOptVal  *v = p->o.v;
	const char *model = p->model;
	const char *source = p->source;
	HrmTrainTask *t;
	char	   *options_json;
	char	   *hyper_json;
	int64		job_id;
	int			slot;
	dsm_segment *seg;
	Size		size,
				off;
	char	   *base;

	/* the task for the worker */
	job_id = HrmNextJobId();
	options_json = HrmOptionsJson(&p->o);

	t = palloc0(sizeof(HrmTrainTask));
	t->magic = HRM_TASK_MAGIC;
	t->job_id = job_id;
	t->dboid = MyDatabaseId;
	t->login_roleid = GetSessionUserId();
	t->roleid = GetUserId();
	strlcpy(t->model, model, sizeof(t->model));
	t->owner = GetUserId();
	t->acl_lo = p->info.exists ? p->info.acl_lo : InvalidOid;
	t->model_exists = p->info.exists;
	t->resume = OidIsValid(p->resume_state);
	t->resume_state = p->resume_state;
	t->resume_step = p->resume_step;
	t->run = t->resume ? p->resume_run : job_id;
	t->init_weights = p->info.exists && !t->resume ? p->info.weights : InvalidOid;
	t->ro = p->ro;
	t->ro.eval.progress = NULL;
	t->ro.eval.progress_arg = NULL;
	t->split_seed = p->ro.train.seed;
	t->eval_separate = p->eval != NULL;
	t->override_train = t->resume && p->optim_given;
	t->steps = v[O_STEPS].given ? (int64) v[O_STEPS].num : 0;
	t->epochs = v[O_EPOCHS].given ? v[O_EPOCHS].num : 0;
	t->max_seconds = v[O_MAX_MINUTES].given ? v[O_MAX_MINUTES].num * 60.0 : 0;
	if (t->steps == 0 && t->epochs == 0 && t->max_seconds == 0)
		t->max_seconds = HRM_DEFAULT_MAX_MINUTES * 60.0;
	/* the cosine schedule's horizon: the step budget */
	if (t->steps > 0)
		t->ro.train.total_steps = t->steps;
	else if (t->epochs > 0)
		t->ro.train.total_steps = Max((int64) ceil(t->epochs * p->train->n * (1.0 - p->ro.eval_fraction) /
												   p->ro.train.batch_size), 1);
	if (v[O_CHECKPOINT_EVERY].given)
	{
		t->checkpoint_steps = v[O_CHECKPOINT_EVERY].every_steps;
		t->checkpoint_seconds = v[O_CHECKPOINT_EVERY].every_seconds;
	}
	else
		t->checkpoint_seconds = 60.0;
	t->keep = v[O_KEEP].given ? (int) v[O_KEEP].num : 3;
	if (v[O_LOG_EVERY].given)
	{
		t->log_steps = v[O_LOG_EVERY].every_steps;
		t->log_seconds = v[O_LOG_EVERY].every_seconds;
	}
	else
		t->log_seconds = 10.0;
	t->eval_rows = v[O_EVAL_ROWS].given ? (int64) v[O_EVAL_ROWS].num : 200;
	t->threads = HrmEffectiveThreads(v[O_THREADS].given ? (int) v[O_THREADS].num : hrm_threads);
	t->max_memory = HrmMaxMemoryBytes();
	hyper_json = HrmHyperJson(t, hrm_task_name(p->task));

	/* one segment: the task, its texts, the token arrays */
	size = MAXALIGN(sizeof(HrmTrainTask));
	size = add_size(size, MAXALIGN(strlen(options_json) + 1));
	size = add_size(size, MAXALIGN(strlen(source) + 1));
	size = add_size(size, MAXALIGN(strlen(hyper_json) + 1));
	size = add_size(size, HrmDataSegBytes(p->train));
	size = add_size(size, HrmDataSegBytes(p->eval));

	seg = dsm_create(size, 0);
	base = dsm_segment_address(seg);
	off = MAXALIGN(sizeof(HrmTrainTask));
	t->options_off = off;
	strcpy(base + off, options_json);
	off += MAXALIGN(strlen(options_json) + 1);
	t->source_off = off;
	strcpy(base + off, source);
	off += MAXALIGN(strlen(source) + 1);
	t->hyper_off = off;
	strcpy(base + off, hyper_json);
	off += MAXALIGN(strlen(hyper_json) + 1);
	HrmDataToSeg(p->train, base, &off, &t->train);
	if (p->eval)
		HrmDataToSeg(p->eval, base, &off, &t->eval);
	Assert(off <= size);
	memcpy(base, t, sizeof(HrmTrainTask));

	slot = HrmJobClaim(job_id, MyDatabaseId, GetUserId(), model);
	HrmLaunch(slot, job_id, seg);

	/* the worker has mapped the data: ours can go */
	dsm_detach(seg);
	MemoryContextSwitchTo(cxt);

	*slot_out = slot;
	*task_out = t;
	return job_id;
}

/* hrm_train: resolve, submit, then wait for the job (or return at once). */
static Datum
HrmTrain(FunctionCallInfo fcinfo, const char *model, const char *source, Jsonb *options, int wait_arg)
{
	HrmTrainPlan p;
	HrmTrainTask *t;
	HrmJobSlot	final;
	int64		job_id;
	int			slot;

	HrmTrainResolve(&p, model, source, options, wait_arg);
	job_id = HrmTrainSubmit(&p, &slot, &t);

	if (p.progress > 0 && p.wait)
	{
		if (t->resume)
			ereport(NOTICE,
					(errmsg("job " INT64_FORMAT ": resuming model \"%s\" from step " INT64_FORMAT " on " INT64_FORMAT " rows",
							job_id, model, p.resume_step, p.train->n),
					 errdetail("SELECT * FROM hrm.training shows the job from any session.")));
		else
			ereport(NOTICE,
					(errmsg("job " INT64_FORMAT ": training %s %s model \"%s\" (%zu parameters) on " INT64_FORMAT " rows%s",
							job_id, p.info.exists ? "existing" : "new", hrm_task_name(p.task), model,
							HrmParamCount(&p.ro.model), p.train->n,
							p.eval ? " plus an eval_source" :
							p.ro.eval_fraction > 0 ? psprintf(" (" INT64_FORMAT " held out)",
															Max((int64) llround(p.train->n * p.ro.eval_fraction), 1)) : ""),
					 errdetail("SELECT * FROM hrm.training shows the job from any session.")));
	}

	if (!p.wait)
	{
		if (!HrmJobRead(slot, MyDatabaseId, job_id, &final))
			elog(ERROR, "training job " INT64_FORMAT " vanished", job_id);
		return HrmJobResult(fcinfo, &final);
	}
	HrmWaitJob(slot, job_id, p.progress, true, &final);
	return HrmJobResult(fcinfo, &final);
}

/* hrm_train(model text, source text, options jsonb DEFAULT '{}', wait boolean DEFAULT NULL) */
Datum
hrm_train_pg(PG_FUNCTION_ARGS)
{
	char	   *model;
	char	   *source;
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	int			wait = PG_ARGISNULL(3) ? -1 : (PG_GETARG_BOOL(3) ? 1 : 0);

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be null"),
				 errhint("Pass a table or view name, or a query.")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	return HrmTrain(fcinfo, model, source, options, wait);
}

/* hrm_train(source regclass): the model named by hrm.default_model */
Datum
hrm_train_default_pg(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	const char *model = hrm_default_model;
	char	   *relname = get_rel_name(relid);
	char	   *source;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);
	if (model == NULL || model[0] == '\0')
	{
		/* no default model: name it after the task of the data */
		HrmShape	shape;
		HrmColumns	cols;

		memset(&shape, 0, sizeof(shape));
		memset(&cols, 0, sizeof(cols));
		(void) HrmReadSource(source, "source", &cols, &shape, (size_t) hrm_max_training_data_mb * 1024 * 1024, 1);
		model = hrm_task_name(shape.task);
		ereport(NOTICE,
				(errmsg("hrm.default_model is not set: training model \"%s\"", model),
				 errhint("SET hrm.default_model = 'name' to train (and solve with) another model.")));
	}
	return HrmTrain(fcinfo, model, source, NULL, -1);
}

/* ---------------------------------------------------------------------
 * hrm_wait(job bigint)
 * --------------------------------------------------------------------- */

/* A double column of the current SPI row, NaN when NULL. */
static double
HrmSpiFloat(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? NAN : DatumGetFloat8(d);
}

static int64
HrmSpiInt8(int col, int64 if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? if_null : DatumGetInt64(d);
}

/*
 * A job of this database that ended long enough ago for its shared-memory
 * slot to be reused (or before a restart), as a slot read from its hrm.job
 * row; false if hrm.job has no such job.  A row still marked running
 * without a slot is a job the server lost in a restart: failed.
 */
static bool
HrmJobFromTable(int64 job_id, HrmJobSlot *out)
{
	HrmUserState us;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		found = false;

	memset(out, 0, sizeof(*out));
	values[0] = Int64GetDatum(job_id);
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec("SELECT model, state, step, COALESCE(start_step, 0), examples, train_loss,"
				   " train_exact_accuracy, eval_exact_accuracy, seconds, last_checkpoint, error, sqlstate"
				   " FROM hrm.job WHERE id OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HeapTuple	tup = SPI_tuptable->vals[0];
		char	   *model = SPI_getvalue(tup, desc, 1);
		char	   *state = SPI_getvalue(tup, desc, 2);
		char	   *error = SPI_getvalue(tup, desc, 11);
		char	   *sqlstate = SPI_getvalue(tup, desc, 12);

		out->job_id = job_id;
		out->dboid = MyDatabaseId;
		strlcpy(out->model, model ? model : "", sizeof(out->model));
		out->p.step = HrmSpiInt8(3, 0);
		out->p.start_step = HrmSpiInt8(4, 0);
		out->p.examples = HrmSpiInt8(5, 0);
		out->p.loss = HrmSpiFloat(6);
		out->p.exact_accuracy = HrmSpiFloat(7);
		out->p.eval_exact_accuracy = HrmSpiFloat(8);
		out->p.elapsed = HrmSpiFloat(9);
		if (isnan(out->p.elapsed))
			out->p.elapsed = 0;
		out->p.last_checkpoint = HrmSpiInt8(10, -1);
		if (strcmp(state, "finished") == 0)
			out->state = HRM_JOB_FINISHED;
		else if (strcmp(state, "cancelled") == 0)
			out->state = HRM_JOB_CANCELLED;
		else
		{
			out->state = HRM_JOB_FAILED;
			if (strcmp(state, "running") == 0)
			{
				/* on a standby: the job runs (or ran) on the primary */
				if (RecoveryInProgress())
					ereport(ERROR,
							(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
							 errmsg("cannot wait for training job " INT64_FORMAT " during recovery", job_id),
							 errdetail("This server is a hot standby: training jobs run on the primary, and hrm.job here shows the state replayed so far."),
							 errhint("Call hrm_wait() on the primary server.")));
				error = "interrupted: the server stopped or restarted during training";
				sqlstate = "57P01";
			}
		}
		strlcpy(out->error, error ? error : "", sizeof(out->error));
		if (sqlstate != NULL && strlen(sqlstate) == 5)
			out->sqlerrcode = MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]);
		found = true;
	}
	SPI_finish();
	HrmRestoreUser(&us);
	return found;
}

Datum
hrm_wait_pg(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	double		progress = PG_ARGISNULL(1) ? 0 : PG_GETARG_FLOAT8(1);
	int			slot = HrmJobFind(job_id, MyDatabaseId);
	HrmJobSlot	s;

	if (slot < 0)
	{
		/* ended long ago: hrm.job has how */
		if (!HrmJobFromTable(job_id, &s))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("training job " INT64_FORMAT " does not exist in database \"%s\"", job_id,
							get_database_name(MyDatabaseId)),
					 errhint("SELECT * FROM hrm.job lists the jobs of this database.")));
		return HrmJobResult(fcinfo, &s);
	}
	HrmWaitJob(slot, job_id, progress, false, &s);
	return HrmJobResult(fcinfo, &s);
}

/* ---------------------------------------------------------------------
 * hrm_evaluate(model text, source text, options jsonb DEFAULT '{}')
 * --------------------------------------------------------------------- */

/*
 * Every puzzle id of the data must be one of the model's (0 to
 * num_puzzle_identifiers - 1): the first one that is not is an error naming
 * its row (1-based, in the order the source returned it) and the range.
 */
static void
HrmCheckPuzzleIds(const hrm_dataset *ds, int n_ids, const char *model, const char *label)
{
	if (ds->max_puzzle_id < n_ids)
		return;
	for (int64 i = 0; i < ds->n; i++)
	{
		int32		id = ds->puzzle_ids[i];

		if (id < n_ids)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s row " INT64_FORMAT ": puzzle id %d is out of range for model \"%s\"",
						label, i + 1, id, model),
				 n_ids > 1 ?
				 errdetail("Model \"%s\" has %d puzzle identifiers: valid ids are 0 to %d.",
						   model, n_ids, n_ids - 1) :
				 n_ids == 1 ?
				 errdetail("Model \"%s\" has one puzzle identifier: the only valid id is 0.", model) :
				 errdetail("Model \"%s\" has no puzzle identifiers.", model),
				 errhint("Give the puzzle ids the model was trained with (the puzzle_id option names their column), or leave the option out: every row then has id 0.")));
	}
}

Datum
hrm_evaluate_pg(PG_FUNCTION_ARGS)
{
	char	   *model;
	char	   *source;
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	HrmOptVal	v[E_COUNT];
	HrmModelInfo info;
	HrmShape	shape;
	HrmColumns	cols;
	hrm_dataset *ds;
	HrmModelHandle *h;
	hrm_eval_opts eo;
	hrm_eval_result res;
	hrm_error	err;
	hrm_status	st;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	char	   *what;
	HrmProgress *prog;
	const hrm_model *const *ensemble = NULL;
	int			ensemble_n = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and source must not be null")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	what = psprintf("could not evaluate model \"%s\"", model);

	memset(v, 0, sizeof(v));
	HrmParseOptions(options, eval_opts, lengthof(eval_opts), v, "evaluation");

	HrmGetModelInfo(model, &info);
	if (!info.exists)
		HrmUnknownModel(model);
	{
		/* may the caller use the model?  (42501 before the source runs) */
		HrmCatalogEntry entry;

		if (!HrmCatalogLookup(model, false, &entry))
			HrmUnknownModel(model);
	}
	memset(&shape, 0, sizeof(shape));
	shape.task_known = true;
	shape.task = info.has_task ? info.task : HRM_TASK_GENERIC;
	shape.seq_len = info.cfg.seq_len;
	shape.vocab_size = info.cfg.vocab_size;
	cols.input = v[E_INPUT].given ? v[E_INPUT].str : NULL;
	cols.target = v[E_TARGET].given ? v[E_TARGET].str : NULL;
	cols.puzzle_id = v[E_PUZZLE_ID].given ? v[E_PUZZLE_ID].str : NULL;

	/* the data first: the source may run anything, the model handle must stay valid */
	prog = HrmProgressBegin("hrm_evaluate", model, "reading source", "rows", -1);
	ds = HrmReadSource(source, "source", &cols, &shape, (size_t) hrm_max_training_data_mb * 1024 * 1024, 0);
	HrmCheckPuzzleIds(ds, info.cfg.num_puzzle_identifiers, model, "source");

	h = hrm_cache_get(model);
	if (v[E_ENSEMBLE].given)
	{
		HrmModelHandle *members[HRM_SOLVE_ENSEMBLE_MAX];
		const hrm_model **mm = palloc(sizeof(hrm_model *) * HRM_SOLVE_ENSEMBLE_MAX);
		int			k = HrmEnsembleResolve(h, v[E_ENSEMBLE].names, v[E_ENSEMBLE].n_names, members);

		for (int j = 0; j < k; j++)
		{
			HrmCheckPuzzleIds(ds, members[j]->layout.cfg.num_puzzle_identifiers, members[j]->name, "source");
			mm[j] = &members[j]->model;
		}
		ensemble = mm;
		ensemble_n = k;
	}
	HrmEngineBegin();
	hrm_eval_opts_defaults(&eo);
	eo.ensemble = ensemble;
	eo.ensemble_n = ensemble_n;
	if ((v[E_VIEWS].given && (int) v[E_VIEWS].num > 1) || ensemble_n > 0)
	{
		/*
		 * The task's symmetries and checker (views, the ensemble's vote):
		 * the layout's task first (imported reference models have none in
		 * the catalog).
		 */
		hrm_task	task = info.has_task ? info.task : HRM_TASK_GENERIC;

		for (int t = 0; t < HRM_TASK_COUNT; t++)
		{
			/* a task of the model's shape whose answers can be checked (the vote prefers valid ones) */
			const hrm_task_ops *ops = hrm_task_get((hrm_task) t);

			if (ops->check != NULL && info.cfg.seq_len == ops->seq_len && info.cfg.vocab_size == ops->vocab_size)
				task = ops->task;
		}
		if ((int) v[E_VIEWS].num > hrm_views_limit(task))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("views %d is more than a %s model allows (%d)", (int) v[E_VIEWS].num,
							hrm_task_name(task), hrm_views_limit(task)),
					 errhint("Views are symmetries of the task: Sudoku models take up to %d, maze models up to 8, others 1.",
							 HRM_VIEWS_MAX)));
		eo.task = task;
		eo.views = v[E_VIEWS].given ? (int) v[E_VIEWS].num : 1;
	}
	if (v[E_SEGMENTS].given)
		eo.segments = (int) v[E_SEGMENTS].num;
	if (v[E_HALT].given)
		eo.adaptive = v[E_HALT].b;
	if (v[E_MAX_ROWS].given)
		eo.max_rows = (int64) v[E_MAX_ROWS].num;
	if (v[E_BATCH_ROWS].given)
		eo.batch_rows = (int) v[E_BATCH_ROWS].num;
	/* NOTICE lines and the hrm.progress row between chunks (the callback also stops on a cancel) */
	HrmProgressPhase(prog, "evaluating", eo.max_rows > 0 ? Min(eo.max_rows, ds->n) : ds->n);
	eo.progress = HrmProgressEngineCb;
	eo.progress_arg = prog;
	hrm_error_clear(&err);
	st = hrm_evaluate(&h->model, ds, NULL, ds->n, &eo, &res, &err);
	HrmProgressRethrow(prog);
	if (st == HRM_ERR_CANCELLED)
		CHECK_FOR_INTERRUPTS();
	HrmCheck(st, &err, what);
	HrmProgressEnd(prog);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	values[0] = Int64GetDatum(res.rows);
	values[1] = Float8GetDatum(res.exact_accuracy);
	values[2] = Float8GetDatum(res.token_accuracy);
	values[3] = Float8GetDatum(res.mean_segments);
	values[4] = Float8GetDatum(res.rows_per_second);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
