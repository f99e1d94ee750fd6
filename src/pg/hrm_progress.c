/*-------------------------------------------------------------------------
 *
 * hrm_progress.c
 *		Progress of long calls that run in the calling backend
 *		(hrm_evaluate, hrm_solve_batch): NOTICE lines at an interval, and a
 *		row per running call in shared memory for the hrm.progress view.
 *
 * PostgreSQL's own progress reporting (pgstat_progress_*, the
 * pg_stat_progress_* views) only knows the server's commands, and
 * pgstat_report_activity would replace the query text pg_stat_activity
 * shows.  So hrm keeps its own small registry, like the training jobs'
 * (hrm_jobs.c): a fixed array of slots in the main shared memory segment
 * under one spinlock, requested through shmem_request_hook under
 * shared_preload_libraries and carved out of the spare space on first use
 * otherwise.  A call takes a slot when it begins and gives it back when it
 * ends, errors out (a memory context callback) or the backend exits (an
 * on_shmem_exit callback).  hrm.progress lists the slots with the pid, so
 * it joins pg_stat_activity for the query text.  When every slot is taken
 * a call runs without a row (its NOTICE lines still come).
 *
 * NOTICE lines: hrm.progress_interval seconds (default 5) after the call
 * began or after its previous line, before the next chunk of work; 0
 * reports before every chunk but the first, -1 never.  The message holds the
 * counts ("hrm_evaluate \"m\": 512 of 2000 rows (25%)"), the detail the
 * elapsed time, the rate and the time left.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "hrm_pg.h"

PG_FUNCTION_INFO_V1(hrm_progress_info);

#define HRM_PROGRESS_SLOTS 64
#define HRM_PROGRESS_WORD 24

typedef struct HrmProgressSlot
{
	int			pid;			/* 0: free */
	uint32		token;			/* tells the backend's calls apart */
	Oid			dboid;
	Oid			roleid;			/* session user, as in pg_stat_activity */
	char		function[HRM_PROGRESS_WORD];
	char		model[NAMEDATALEN];
	char		phase[HRM_PROGRESS_WORD];
	char		unit[HRM_PROGRESS_WORD];
	int64		done;
	int64		total;			/* < 0: unknown */
	TimestampTz started;
	TimestampTz updated;
} HrmProgressSlot;

typedef struct HrmProgressRegistry
{
	slock_t		mutex;
	HrmProgressSlot slots[HRM_PROGRESS_SLOTS];
} HrmProgressRegistry;

/* A call's own state (backend-local). */
struct HrmProgress
{
	MemoryContextCallback cb;
	bool		active;
	int			slot;			/* -1: no row (registry full) */
	uint32		token;
	char		function[HRM_PROGRESS_WORD];
	char		model[NAMEDATALEN];
	char		unit[HRM_PROGRESS_WORD];
	int64		done;
	int64		total;
	TimestampTz started;
	TimestampTz last_notice;
	ErrorData  *pending;		/* an error raised while reporting from an engine callback */
};

/* GUC: seconds between NOTICE lines; 0 = every chunk, -1 = none */
double		hrm_progress_interval = 5.0;

static HrmProgressRegistry *hrm_progress = NULL;
static uint32 hrm_progress_token = 0;
static bool hrm_progress_exit_registered = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Find or create the registry (caller holds AddinShmemInitLock). */
static void
HrmProgressInitLocked(void)
{
	bool		found;

	hrm_progress = ShmemInitStruct("hrm progress", sizeof(HrmProgressRegistry), &found);
	if (!found)
	{
		memset(hrm_progress, 0, sizeof(HrmProgressRegistry));
		SpinLockInit(&hrm_progress->mutex);
	}
}

static void
hrm_progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(HrmProgressRegistry)));
}

static void
hrm_progress_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	HrmProgressInitLocked();
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init: the GUC, and the shared memory hooks under preload. */
void
HrmProgressInit(void)
{
	DefineCustomRealVariable("hrm.progress_interval",
							 "Sets the seconds between progress NOTICE lines of hrm_evaluate and hrm_solve_batch.",
							 "0 reports before every chunk of work but the first, -1 never; the hrm.progress view shows running calls either way. hrm_train has its own \"progress\" option.",
							 &hrm_progress_interval,
							 5.0, -1.0, 86400.0,
							 PGC_USERSET,
							 GUC_UNIT_S,
							 NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = hrm_progress_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = hrm_progress_shmem_startup;
	}
}

static HrmProgressRegistry *
HrmProgressRegistryGet(void)
{
	if (hrm_progress == NULL)
	{
		LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
		HrmProgressInitLocked();
		LWLockRelease(AddinShmemInitLock);
	}
	return hrm_progress;
}

/* Backend exit: give back every slot this process still holds. */
static void
HrmProgressAtExit(int code, Datum arg)
{
	HrmProgressRegistry *r = hrm_progress;

	if (r == NULL)
		return;
	SpinLockAcquire(&r->mutex);
	for (int i = 0; i < HRM_PROGRESS_SLOTS; i++)
		if (r->slots[i].pid == MyProcPid)
			r->slots[i].pid = 0;
	SpinLockRelease(&r->mutex);
}

/* Give the slot back (no error: runs from a memory context callback too). */
static void
HrmProgressRelease(HrmProgress *p)
{
	if (!p->active)
		return;
	p->active = false;
	if (p->slot >= 0 && hrm_progress != NULL)
	{
		HrmProgressSlot *s = &hrm_progress->slots[p->slot];

		SpinLockAcquire(&hrm_progress->mutex);
		if (s->pid == MyProcPid && s->token == p->token)
			s->pid = 0;
		SpinLockRelease(&hrm_progress->mutex);
	}
}

static void
HrmProgressCallback(void *arg)
{
	HrmProgressRelease((HrmProgress *) arg);
}

/*
 * A call begins: function (e.g. "hrm_evaluate") on model, in phase,
 * counting unit ("rows", "grids") up to total (< 0: unknown).  The state
 * lives in CurrentMemoryContext; the row goes away when HrmProgressEnd runs
 * or that context is reset or deleted (an ERROR).
 */
HrmProgress *
HrmProgressBegin(const char *function, const char *model, const char *phase, const char *unit,
				 int64 total)
{
	HrmProgress *p = palloc0(sizeof(HrmProgress));
	HrmProgressRegistry *r = HrmProgressRegistryGet();
	TimestampTz now = GetCurrentTimestamp();

	if (!hrm_progress_exit_registered)
	{
		on_shmem_exit(HrmProgressAtExit, (Datum) 0);
		hrm_progress_exit_registered = true;
	}
	strlcpy(p->function, function, sizeof(p->function));
	strlcpy(p->model, model, sizeof(p->model));
	strlcpy(p->unit, unit, sizeof(p->unit));
	p->total = total;
	p->started = now;
	p->last_notice = now;
	p->token = ++hrm_progress_token;
	p->slot = -1;

	SpinLockAcquire(&r->mutex);
	for (int i = 0; i < HRM_PROGRESS_SLOTS; i++)
	{
		HrmProgressSlot *s = &r->slots[i];

		if (s->pid != 0)
			continue;
		s->pid = MyProcPid;
		s->token = p->token;
		s->dboid = MyDatabaseId;
		s->roleid = GetSessionUserId();
		strlcpy(s->function, function, sizeof(s->function));
		strlcpy(s->model, model, sizeof(s->model));
		strlcpy(s->phase, phase, sizeof(s->phase));
		strlcpy(s->unit, unit, sizeof(s->unit));
		s->done = 0;
		s->total = total;
		s->started = now;
		s->updated = now;
		p->slot = i;
		break;
	}
	SpinLockRelease(&r->mutex);

	p->active = true;
	p->cb.func = HrmProgressCallback;
	p->cb.arg = p;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &p->cb);
	return p;
}

/* Publish done (and, when phase is not NULL, a new phase and total). */
static void
HrmProgressPublish(HrmProgress *p, int64 done, const char *phase, int64 total)
{
	HrmProgressSlot *s;

	p->done = done;
	if (phase != NULL)
		p->total = total;
	if (!p->active || p->slot < 0)
		return;
	s = &hrm_progress->slots[p->slot];
	SpinLockAcquire(&hrm_progress->mutex);
	if (s->pid == MyProcPid && s->token == p->token)
	{
		s->done = done;
		s->updated = GetCurrentTimestamp();
		if (phase != NULL)
		{
			strlcpy(s->phase, phase, sizeof(s->phase));
			s->total = total;
			s->started = s->updated;
		}
	}
	SpinLockRelease(&hrm_progress->mutex);
}

/* A new phase (e.g. from reading the source to evaluating), with its total. */
void
HrmProgressPhase(HrmProgress *p, const char *phase, int64 total)
{
	HrmProgressPublish(p, 0, phase, total);
	p->started = GetCurrentTimestamp();
	p->last_notice = p->started;
}

/* Seconds as m:ss or h:mm:ss. */
static void
HrmProgressDuration(StringInfo b, double s)
{
	int64		t = (int64) (s + 0.5);

	if (t >= 3600)
		appendStringInfo(b, INT64_FORMAT ":%02d:%02d", t / 3600, (int) ((t / 60) % 60), (int) (t % 60));
	else
		appendStringInfo(b, "%d:%02d", (int) (t / 60), (int) (t % 60));
}

static void
HrmProgressNotice(HrmProgress *p, TimestampTz now)
{
	StringInfoData msg;
	StringInfoData det;
	double		elapsed = (double) (now - p->started) / USECS_PER_SEC;
	double		rate = elapsed > 0 ? p->done / elapsed : 0;

	initStringInfo(&msg);
	initStringInfo(&det);
	if (p->total >= 0)
		appendStringInfo(&msg, "%s \"%s\": " INT64_FORMAT " of " INT64_FORMAT " %s (%d%%)",
						 p->function, p->model, p->done, p->total, p->unit,
						 p->total > 0 ? (int) (p->done * 100 / p->total) : 100);
	else
		appendStringInfo(&msg, "%s \"%s\": " INT64_FORMAT " %s", p->function, p->model, p->done, p->unit);
	appendStringInfoString(&det, "elapsed ");
	HrmProgressDuration(&det, elapsed);
	appendStringInfo(&det, ", %.0f %s/s", rate, p->unit);
	if (p->total >= 0 && rate > 0)
	{
		appendStringInfoString(&det, ", ETA ");
		HrmProgressDuration(&det, (p->total - p->done) / rate);
	}
	ereport(NOTICE,
			(errmsg_internal("%s", msg.data),
			 errdetail_internal("%s", det.data)));
}

/*
 * done units are finished and more work follows: publish it, and send a
 * NOTICE when hrm.progress_interval has passed (never for done = 0).
 */
void
HrmProgressTick(HrmProgress *p, int64 done)
{
	TimestampTz now;

	HrmProgressPublish(p, done, NULL, 0);
	if (hrm_progress_interval < 0 || done <= 0)
		return;
	now = GetCurrentTimestamp();
	if (hrm_progress_interval > 0 &&
		!TimestampDifferenceExceeds(p->last_notice, now, (int) Min(hrm_progress_interval * 1000.0, (double) INT_MAX)))
		return;
	p->last_notice = now;
	HrmProgressNotice(p, now);
}

/* Publish done without a NOTICE (e.g. the work is complete). */
void
HrmProgressUpdate(HrmProgress *p, int64 done)
{
	HrmProgressPublish(p, done, NULL, 0);
}

/*
 * The engine's progress callback (run.h, views.h: between chunks, on the
 * calling thread), arg an HrmProgress: ticks before a chunk, publishes the
 * end; non-zero (stop) when an interrupt is pending or the NOTICE failed,
 * whose error HrmProgressRethrow raises once the engine has returned.
 */
int
HrmProgressEngineCb(void *arg, int64_t done, int64_t total)
{
	HrmProgress *p = (HrmProgress *) arg;
	MemoryContext cxt = CurrentMemoryContext;

	if (p->pending == NULL)
	{
		PG_TRY();
		{
			if (done > 0 && done < total)
				HrmProgressTick(p, (int64) done);
			else
				HrmProgressUpdate(p, (int64) done);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			p->pending = CopyErrorData();
			FlushErrorState();
		}
		PG_END_TRY();
	}
	return (p->pending != NULL || QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/* Raise the error an engine callback caught, if any. */
void
HrmProgressRethrow(HrmProgress *p)
{
	if (p->pending != NULL)
		ReThrowError(p->pending);
}

/* The call ends: its row goes away. */
void
HrmProgressEnd(HrmProgress *p)
{
	HrmProgressRelease(p);
}

/* ---------------------------------------------------------------------
 * hrm_progress_info(): the rows of hrm.progress
 * --------------------------------------------------------------------- */

#define HRM_PROGRESS_COLS 13

static Datum
HrmSecondsInterval(double s)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (TimeOffset) (s * USECS_PER_SEC);
	return IntervalPGetDatum(iv);
}

Datum
hrm_progress_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HrmProgressRegistry *r = HrmProgressRegistryGet();
	HrmProgressSlot *copy = palloc(sizeof(HrmProgressSlot) * HRM_PROGRESS_SLOTS);
	bool		all = superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&r->mutex);
	memcpy(copy, r->slots, sizeof(HrmProgressSlot) * HRM_PROGRESS_SLOTS);
	SpinLockRelease(&r->mutex);

	for (int i = 0; i < HRM_PROGRESS_SLOTS; i++)
	{
		HrmProgressSlot *s = &copy[i];
		Datum		values[HRM_PROGRESS_COLS];
		bool		nulls[HRM_PROGRESS_COLS];
		double		elapsed,
					busy,
					rate;

		if (s->pid == 0)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(s->pid);
		values[1] = ObjectIdGetDatum(s->dboid);
		values[2] = ObjectIdGetDatum(s->roleid);
		values[3] = CStringGetTextDatum(s->function);
		/* what another role's call works on, as pg_stat_activity's query */
		if (!all && !has_privs_of_role(GetUserId(), s->roleid))
		{
			for (int c = 4; c < HRM_PROGRESS_COLS; c++)
				nulls[c] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			continue;
		}
		elapsed = Max((double) (now - s->started) / USECS_PER_SEC, 0.0);
		busy = (double) (s->updated - s->started) / USECS_PER_SEC;
		rate = busy > 0 ? s->done / busy : 0;
		values[4] = CStringGetTextDatum(s->model);
		values[5] = CStringGetTextDatum(s->phase);
		values[6] = CStringGetTextDatum(s->unit);
		values[7] = Int64GetDatum(s->done);
		if (s->total >= 0)
			values[8] = Int64GetDatum(s->total);
		else
			nulls[8] = true;
		values[9] = TimestampTzGetDatum(s->started);
		values[10] = HrmSecondsInterval(elapsed);
		if (s->done > 0 && busy > 0)
			values[11] = Float8GetDatum(rate);
		else
			nulls[11] = true;
		if (s->total >= 0 && rate > 0)
			values[12] = HrmSecondsInterval(Max(s->total - s->done, 0) / rate);
		else
			nulls[12] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
