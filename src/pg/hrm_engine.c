/*-------------------------------------------------------------------------
 *
 * hrm_engine.c
 *		Glue between the engine (src/core) and a backend: the engine's
 *		threads, memory limit and cancellation hook before engine work
 *		(HrmEngineBegin), the mapping of engine errors onto SQLSTATEs
 *		(HrmThrow), and engine objects tied to memory contexts (HrmTrack).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "hrm_pg.h"
#include "parallel.h"

/* The thread count last handed to the BLAS library (0 = never). */
static int	hrm_threads_applied = 0;

/* hrm.threads as capped by hrm.max_threads. */
int
HrmEffectiveThreads(int requested)
{
	return Max(Min(requested, hrm_max_threads), 1);
}

/* hrm.max_memory in bytes. */
size_t
HrmMaxMemoryBytes(void)
{
	return (size_t) hrm_max_memory_mb * 1024 * 1024;
}

/*
 * The engine's cancellation hook in a backend: an interrupt that
 * CHECK_FOR_INTERRUPTS would act on (query cancel, statement timeout,
 * pg_terminate_backend).  It only reads the signal handlers' flags, so it is
 * safe anywhere inside engine code; the engine runs it on this (the main)
 * thread only, and the glue calls CHECK_FOR_INTERRUPTS once the engine has
 * returned HRM_ERR_CANCELLED (HrmThrow).
 */
static int
HrmBackendCancelHook(void *arg)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/*
 * Before engine work: hand hrm.threads (capped by hrm.max_threads) to the
 * engine's pool and the BLAS library if it changed, set the engine's memory
 * limit from hrm.max_memory and install the cancellation hook.
 */
void
HrmEngineBegin(void)
{
	int			n = HrmEffectiveThreads(hrm_threads);

	if (n != hrm_threads_applied)
	{
		hrm_set_threads(n);
		hrm_threads_applied = n;
	}
	hrm_set_memory_limit(HrmMaxMemoryBytes());
	hrm_set_cancel_hook(HrmBackendCancelHook, NULL);
}

/* ---------------------------------------------------------------------
 * Engine errors
 * --------------------------------------------------------------------- */

/*
 * SQLSTATE of an engine status.
 */
int
HrmStatusSqlstate(hrm_status st)
{
	switch (st)
	{
		case HRM_OK:
			return ERRCODE_SUCCESSFUL_COMPLETION;
		case HRM_ERR_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case HRM_ERR_INVALID:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case HRM_ERR_FORMAT:
			return ERRCODE_INVALID_BINARY_REPRESENTATION;
		case HRM_ERR_CONFIG:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case HRM_ERR_SHAPE:
			return ERRCODE_DATA_EXCEPTION;
		case HRM_ERR_VALUE:
			return ERRCODE_FLOATING_POINT_EXCEPTION;
		case HRM_ERR_LIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case HRM_ERR_UNSUPPORTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case HRM_ERR_CANCELLED:
			return ERRCODE_QUERY_CANCELED;
		case HRM_ERR_INTERNAL:
			return ERRCODE_INTERNAL_ERROR;
		case HRM_ERR_MEMLIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	}
	return ERRCODE_INTERNAL_ERROR;
}

/*
 * What to do about an engine error, as an errhint sentence.
 */
static const char *
HrmStatusHint(hrm_status st)
{
	switch (st)
	{
		case HRM_ERR_NOMEM:
			return "Free memory on the server or use a smaller model.";
		case HRM_ERR_INVALID:
			return "Check the arguments against the model's configuration.";
		case HRM_ERR_FORMAT:
			return "Pass the bytes of a safetensors file (8-byte header length, JSON header, tensor data), for example pg_read_binary_file(...) or decode(..., 'base64').";
		case HRM_ERR_CONFIG:
			return "Fix the field named in the detail, in the config argument or in the file's hrm_config metadata.";
		case HRM_ERR_SHAPE:
			return "Check that the configuration describes these weights (hidden_size, num_heads, H_layers, L_layers, vocab_size, seq_len, puzzle_emb_ndim, expansion, pos_encodings).";
		case HRM_ERR_VALUE:
			return "The weights contain NaN or infinite values; export them again from a healthy checkpoint.";
		case HRM_ERR_LIMIT:
			return "Use a smaller model or a smaller input.";
		case HRM_ERR_UNSUPPORTED:
			return "This build of hrm does not implement this feature.";
		case HRM_ERR_INTERNAL:
			return "This is a bug in hrm; please report it with the detail above.";
		case HRM_ERR_MEMLIMIT:
			return psprintf("Use a smaller batch, model or input, or ask a superuser to raise hrm.max_memory (now %d MB).",
							hrm_max_memory_mb);
		case HRM_OK:
		case HRM_ERR_CANCELLED:
			break;
	}
	return NULL;
}

/*
 * An engine message as server text: it may quote bytes of the caller's input
 * (a tensor name of a file), which need not be valid in the server encoding;
 * such bytes become '?'.
 */
static const char *
HrmMessageText(const char *msg)
{
	char	   *copy;
	char	   *p;

	if (pg_verify_mbstr(GetDatabaseEncoding(), msg, (int) strlen(msg), true))
		return msg;
	copy = pstrdup(msg);
	for (p = copy; *p; p++)
		if ((unsigned char) *p >= 0x80)
			*p = '?';
	return copy;
}

/*
 * Raise an engine error.
 */
void
HrmThrow(hrm_status st, const hrm_error *err, const char *what)
{
	const char *hint;
	const char *detail = (err != NULL && err->msg[0] != '\0') ? HrmMessageText(err->msg) : NULL;

	/*
	 * The engine stopped because an interrupt is pending: let PostgreSQL
	 * report it as it would anywhere else (57014 for a cancel or statement
	 * timeout, FATAL for pg_terminate_backend).  If it does not (interrupts
	 * held off), report the cancel ourselves.
	 */
	if (st == HRM_ERR_CANCELLED)
	{
		hrm_cancel_clear();
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement: %s", what),
				 detail ? errdetail("%s", detail) : 0));
	}
	hint = HrmStatusHint(st);

	ereport(ERROR,
			(errcode(HrmStatusSqlstate(st)),
			 errmsg("%s: %s", what, hrm_status_name(st)),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

/* ---------------------------------------------------------------------
 * Engine resources
 * --------------------------------------------------------------------- */

struct HrmResource
{
	MemoryContextCallback cb;
	void	   *ptr;
	HrmFreeFn	fn;
};

/* Memory-context reset callback: free the resource if still owned. */
static void
HrmResourceCallback(void *arg)
{
	HrmResource *res = (HrmResource *) arg;

	if (res->ptr != NULL)
	{
		void	   *p = res->ptr;

		res->ptr = NULL;
		res->fn(p);
	}
}

/*
 * Track ptr in CurrentMemoryContext: fn(ptr) runs when that context is
 * reset or deleted (normal end of the call, or abort) unless released or
 * disowned first.  ptr may be NULL and set later with HrmAdopt.
 */
HrmResource *
HrmTrack(void *ptr, HrmFreeFn fn)
{
	HrmResource *res = (HrmResource *) palloc0(sizeof(HrmResource));

	res->ptr = ptr;
	res->fn = fn;
	res->cb.func = HrmResourceCallback;
	res->cb.arg = res;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &res->cb);
	return res;
}

/* Give a tracked resource its object (allocated after HrmTrack). */
void
HrmAdopt(HrmResource *res, void *ptr)
{
	Assert(res->ptr == NULL);
	res->ptr = ptr;
}

/* Free a tracked resource now. */
void
HrmRelease(HrmResource *res)
{
	HrmResourceCallback(res);
}

/* Stop tracking: the caller owns the object from now on. */
void
HrmDisown(HrmResource *res)
{
	res->ptr = NULL;
}

void
HrmFreeSafetensors(void *st)
{
	hrm_st_free((hrm_safetensors *) st);
}

void
HrmFreeLayout(void *lay)
{
	hrm_layout_free((hrm_layout *) lay);
}

void
HrmFreeModel(void *m)
{
	hrm_model_free((hrm_model *) m);
}

void
HrmFreeCarry(void *c)
{
	hrm_carry_free((hrm_carry *) c);
}

void
HrmFreeWorkspace(void *ws)
{
	hrm_workspace_free((hrm_workspace *) ws);
}

void
HrmFreeMalloc(void *p)
{
	hrm_free(p);
}
