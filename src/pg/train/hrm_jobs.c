/*-------------------------------------------------------------------------
 *
 * hrm_jobs.c
 *		Training job slots in shared memory: live progress of every job for
 *		the hrm.training view, the cancel flag hrm_cancel() sets, and the
 *		rule that one model trains in one job at a time.
 *
 * The registry is a fixed array of HRM_JOB_SLOTS slots (a few kilobytes)
 * protected by one spinlock; every critical section copies a slot or a few
 * fields.  As with the shared model registry (hrm_shmem.c), it is
 * requested through shmem_request_hook under shared_preload_libraries and
 * carved out of the main segment's spare space on first use otherwise, so
 * training works without preload.
 *
 * A slot keeps a finished job's final figures until the slot is needed for
 * a new job (the oldest finished slot is reused first); the durable record
 * is the hrm.job table.  A server restart empties the registry; the next
 * worker marks hrm.job rows left "running" as failed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "hrm_train.h"

PG_FUNCTION_INFO_V1(hrm_training_jobs_pg);
PG_FUNCTION_INFO_V1(hrm_cancel_pg);

typedef struct HrmJobRegistry
{
	slock_t		mutex;
	bool		preloaded;
	HrmJobSlot	slots[HRM_JOB_SLOTS];
} HrmJobRegistry;

/* GUCs */
int			hrm_max_training_jobs = 4;
int			hrm_max_training_jobs_per_role = 0;

static HrmJobRegistry *hrm_jobs = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Find or create the registry (caller holds AddinShmemInitLock). */
static void
HrmJobsInitLocked(bool preloaded)
{
	bool		found;

	hrm_jobs = ShmemInitStruct("hrm training jobs", sizeof(HrmJobRegistry), &found);
	if (!found)
	{
		memset(hrm_jobs, 0, sizeof(HrmJobRegistry));
		SpinLockInit(&hrm_jobs->mutex);
		hrm_jobs->preloaded = preloaded;
	}
}

static void
hrm_jobs_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(HrmJobRegistry)));
}

static void
hrm_jobs_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	HrmJobsInitLocked(true);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Called from HrmTrainInit (_PG_init): chain the shared memory hooks when
 * loaded through shared_preload_libraries.
 */
void
HrmJobsShmemInit(void)
{
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = hrm_jobs_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = hrm_jobs_shmem_startup;
	}
}

/* The registry, created on first use without preload. */
static HrmJobRegistry *
HrmJobs(void)
{
	if (hrm_jobs == NULL)
	{
		LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
		HrmJobsInitLocked(false);
		LWLockRelease(AddinShmemInitLock);
	}
	return hrm_jobs;
}

const char *
HrmJobStateName(HrmJobState state)
{
	switch (state)
	{
		case HRM_JOB_FREE:
			return "free";
		case HRM_JOB_STARTING:
		case HRM_JOB_RUNNING:
			return "running";
		case HRM_JOB_FINISHED:
			return "finished";
		case HRM_JOB_CANCELLED:
			return "cancelled";
		case HRM_JOB_FAILED:
			return "failed";
	}
	return "unknown";
}

static inline bool
HrmJobActive(const HrmJobSlot *s)
{
	return s->state == HRM_JOB_STARTING || s->state == HRM_JOB_RUNNING;
}

/* Does the slot hold job job_id of database dboid?  (Job ids are per database.) */
static inline bool
HrmSlotIs(const HrmJobSlot *s, Oid dboid, int64 job_id)
{
	return s->job_id == job_id && s->dboid == dboid && s->state != HRM_JOB_FREE;
}

/* May the current role see the jobs of other databases?  (Model and role names.) */
static bool
HrmSeesAllDatabases(void)
{
	return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/* Is a process gone?  (Only ever called outside the spinlock.) */
static bool
HrmProcessGone(int pid)
{
	return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

/*
 * Mark jobs whose process is gone without saying so as failed: a worker
 * killed before its exit callback ran (normally a crash, after which the
 * restart empties the registry anyway), or a caller that died before its
 * worker started.  The liveness checks run outside the spinlock.
 */
static void
HrmJobsReap(HrmJobRegistry *r)
{
	int64		ids[HRM_JOB_SLOTS];
	Oid			dbs[HRM_JOB_SLOTS];
	int			pids[HRM_JOB_SLOTS];
	int			i;

	SpinLockAcquire(&r->mutex);
	for (i = 0; i < HRM_JOB_SLOTS; i++)
	{
		HrmJobSlot *s = &r->slots[i];

		ids[i] = HrmJobActive(s) ? s->job_id : 0;
		dbs[i] = s->dboid;
		pids[i] = s->pid > 0 ? s->pid : s->caller_pid;
	}
	SpinLockRelease(&r->mutex);

	for (i = 0; i < HRM_JOB_SLOTS; i++)
	{
		if (ids[i] == 0 || !HrmProcessGone(pids[i]))
			continue;
		SpinLockAcquire(&r->mutex);
		{
			HrmJobSlot *s = &r->slots[i];

			if (HrmSlotIs(s, dbs[i], ids[i]) && HrmJobActive(s) &&
				(s->pid > 0 ? s->pid : s->caller_pid) == pids[i])
			{
				s->state = HRM_JOB_FAILED;
				s->sqlerrcode = ERRCODE_ADMIN_SHUTDOWN;
				strlcpy(s->error, "the training worker exited unexpectedly", sizeof(s->error));
				s->finished = GetCurrentTimestamp();
			}
		}
		SpinLockRelease(&r->mutex);
	}
}

void
HrmJobCheckIdle(Oid dboid, const char *model)
{
	HrmJobRegistry *r = HrmJobs();
	int64		busy = 0;
	int			i;

	HrmJobsReap(r);
	SpinLockAcquire(&r->mutex);
	for (i = 0; i < HRM_JOB_SLOTS; i++)
	{
		HrmJobSlot *s = &r->slots[i];

		if (HrmJobActive(s) && s->dboid == dboid && strcmp(s->model, model) == 0)
			busy = s->job_id;
	}
	SpinLockRelease(&r->mutex);

	if (busy != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("model \"%s\" is being trained by job " INT64_FORMAT, model, busy),
				 errhint("Wait for it (hrm_wait(" INT64_FORMAT ")) or stop it (hrm_cancel(" INT64_FORMAT ")).",
						 busy, busy)));
}

int
HrmJobClaim(int64 job_id, Oid dboid, Oid roleid, const char *model)
{
	HrmJobRegistry *r = HrmJobs();
	int			running = 0;
	int			running_here = 0;
	int			role_running = 0;
	int			pick = -1;
	int64		busy = 0;
	TimestampTz oldest = 0;
	bool		role_limited = hrm_max_training_jobs_per_role > 0 && !superuser_arg(roleid);
	bool		claimed = false;
	int			i;

	HrmJobsReap(r);
	SpinLockAcquire(&r->mutex);
	for (i = 0; i < HRM_JOB_SLOTS; i++)
	{
		HrmJobSlot *s = &r->slots[i];

		if (HrmJobActive(s))
		{
			running++;
			if (s->dboid == dboid)
				running_here++;
			if (s->roleid == roleid)
				role_running++;
			if (s->dboid == dboid && strcmp(s->model, model) == 0)
				busy = s->job_id;
			continue;
		}
		/*
		 * A job that ended with this id in this database is from before the
		 * extension was dropped and created again (the id sequence started
		 * over): forget it, so that hrm_wait and hrm_cancel find the new job.
		 */
		if (HrmSlotIs(s, dboid, job_id))
			s->state = HRM_JOB_FREE;
		/* a free slot, else the slot of the job that finished first */
		if (s->state == HRM_JOB_FREE)
		{
			if (pick < 0 || r->slots[pick].state != HRM_JOB_FREE)
				pick = i;
		}
		else if (pick < 0 || (r->slots[pick].state != HRM_JOB_FREE && s->finished < oldest))
		{
			pick = i;
			oldest = s->finished;
		}
	}
	if (busy == 0 && running < hrm_max_training_jobs && pick >= 0 &&
		!(role_limited && role_running >= hrm_max_training_jobs_per_role))
	{
		HrmJobSlot *s = &r->slots[pick];

		memset(s, 0, sizeof(HrmJobSlot));
		s->state = HRM_JOB_STARTING;
		s->job_id = job_id;
		s->dboid = dboid;
		s->roleid = roleid;
		strlcpy(s->model, model, sizeof(s->model));
		s->caller_pid = MyProcPid;
		s->started = GetCurrentTimestamp();
		s->p.last_checkpoint = -1;
		s->p.eta = -1;
		s->p.eval_exact_accuracy = NAN;
		s->p.eval_token_accuracy = NAN;
		claimed = true;
	}
	SpinLockRelease(&r->mutex);

	if (claimed)
		return pick;
	if (busy != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("model \"%s\" is being trained by job " INT64_FORMAT, model, busy),
				 errhint("Wait for it (hrm_wait(" INT64_FORMAT ")) or stop it (hrm_cancel(" INT64_FORMAT ")).",
						 busy, busy)));
	if (running >= hrm_max_training_jobs || pick < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many training jobs"),
				 errdetail("%d training jobs are running on this server (%d in this database); hrm.max_training_jobs is %d.",
						   running, running_here, hrm_max_training_jobs),
				 errhint("Wait for a job to finish (SELECT * FROM hrm_training_jobs() lists the jobs of every database), or raise hrm.max_training_jobs (at most %d).",
						 HRM_JOB_SLOTS)));
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("too many training jobs for role \"%s\"", GetUserNameFromId(roleid, false)),
			 errdetail("The role runs %d training jobs; hrm.max_training_jobs_per_role is %d.",
					   role_running, hrm_max_training_jobs_per_role),
			 errhint("Wait for one of them to finish (SELECT * FROM hrm.training), or ask a superuser to raise hrm.max_training_jobs_per_role for the role (ALTER ROLE ... SET).")));
	pg_unreachable();
}

bool
HrmJobRead(int slot, Oid dboid, int64 job_id, HrmJobSlot *out)
{
	HrmJobRegistry *r = HrmJobs();
	bool		ok;

	HrmJobsReap(r);
	SpinLockAcquire(&r->mutex);
	ok = HrmSlotIs(&r->slots[slot], dboid, job_id);
	if (ok)
	{
		memcpy(out, &r->slots[slot], sizeof(HrmJobSlot));
	}
	SpinLockRelease(&r->mutex);
	return ok;
}

int
HrmJobFind(int64 job_id, Oid dboid)
{
	HrmJobRegistry *r = HrmJobs();
	int			found = -1;
	int			i;

	SpinLockAcquire(&r->mutex);
	for (i = 0; i < HRM_JOB_SLOTS; i++)
		if (HrmSlotIs(&r->slots[i], dboid, job_id))
			found = i;
	SpinLockRelease(&r->mutex);
	return found;
}

bool
HrmJobAttached(int slot, Oid dboid, int64 job_id, int pid)
{
	HrmJobRegistry *r = HrmJobs();
	bool		ok;

	SpinLockAcquire(&r->mutex);
	ok = HrmSlotIs(&r->slots[slot], dboid, job_id) && r->slots[slot].state == HRM_JOB_STARTING;
	if (ok)
	{
		r->slots[slot].attached = true;
		r->slots[slot].pid = pid;
	}
	SpinLockRelease(&r->mutex);
	return ok;
}

bool
HrmJobPublish(int slot, Oid dboid, int64 job_id, const HrmJobProgress *p, HrmJobState state)
{
	HrmJobRegistry *r = HrmJobs();
	bool		ok;

	SpinLockAcquire(&r->mutex);
	ok = HrmSlotIs(&r->slots[slot], dboid, job_id) && HrmJobActive(&r->slots[slot]);
	if (ok)
	{
		r->slots[slot].p = *p;
		r->slots[slot].state = state;
	}
	SpinLockRelease(&r->mutex);
	return ok;
}

void
HrmJobFinish(int slot, Oid dboid, int64 job_id, HrmJobState state, int sqlerrcode, const char *error)
{
	HrmJobRegistry *r = HrmJobs();

	SpinLockAcquire(&r->mutex);
	if (HrmSlotIs(&r->slots[slot], dboid, job_id) && HrmJobActive(&r->slots[slot]))
	{
		r->slots[slot].state = state;
		r->slots[slot].sqlerrcode = sqlerrcode;
		strlcpy(r->slots[slot].error, error ? error : "", HRM_JOB_ERROR_LEN);
		r->slots[slot].finished = GetCurrentTimestamp();
	}
	SpinLockRelease(&r->mutex);
}

bool
HrmJobRequestCancel(int slot, Oid dboid, int64 job_id)
{
	HrmJobRegistry *r = HrmJobs();
	bool		ok;

	SpinLockAcquire(&r->mutex);
	ok = HrmSlotIs(&r->slots[slot], dboid, job_id) && HrmJobActive(&r->slots[slot]);
	if (ok)
		r->slots[slot].cancel_requested = true;
	SpinLockRelease(&r->mutex);
	return ok;
}

bool
HrmJobCancelRequested(int slot, Oid dboid, int64 job_id)
{
	HrmJobRegistry *r = HrmJobs();
	bool		cancel;

	SpinLockAcquire(&r->mutex);
	cancel = !HrmSlotIs(&r->slots[slot], dboid, job_id) || r->slots[slot].cancel_requested;
	SpinLockRelease(&r->mutex);
	return cancel;
}

int64 *
HrmJobLiveIds(Oid dboid, int *n)
{
	HrmJobRegistry *r = HrmJobs();
	int64	   *ids = palloc(sizeof(int64) * HRM_JOB_SLOTS);
	int			i;

	*n = 0;
	SpinLockAcquire(&r->mutex);
	for (i = 0; i < HRM_JOB_SLOTS; i++)
		if (HrmJobActive(&r->slots[i]) && r->slots[i].dboid == dboid)
			ids[(*n)++] = r->slots[i].job_id;
	SpinLockRelease(&r->mutex);
	return ids;
}

/* ---------------------------------------------------------------------
 * hrm_training_jobs() → the rows of the hrm.training view
 * --------------------------------------------------------------------- */

#define HRM_TRAINING_COLS 19

/* A float column that is NULL when not a number. */
static inline void
PutFloat(Datum *values, bool *nulls, int i, double x)
{
	if (isnan(x))
		nulls[i] = true;
	else
		values[i] = Float8GetDatum(x);
}

Datum
hrm_training_jobs_pg(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HrmJobRegistry *r = HrmJobs();
	HrmJobSlot *copy = palloc(sizeof(HrmJobSlot) * HRM_JOB_SLOTS);
	bool		all_databases = HrmSeesAllDatabases();
	int			i;

	InitMaterializedSRF(fcinfo, 0);

	HrmJobsReap(r);
	SpinLockAcquire(&r->mutex);
	for (i = 0; i < HRM_JOB_SLOTS; i++)
		copy[i] = r->slots[i];
	SpinLockRelease(&r->mutex);

	for (i = 0; i < HRM_JOB_SLOTS; i++)
	{
		HrmJobSlot *s = &copy[i];
		Datum		values[HRM_TRAINING_COLS];
		bool		nulls[HRM_TRAINING_COLS];
		bool		active = HrmJobActive(s);

		if (s->state == HRM_JOB_FREE)
			continue;
		/* other databases' jobs (their model names) only for the privileged */
		if (s->dboid != MyDatabaseId && !all_databases)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(s->job_id);
		values[1] = ObjectIdGetDatum(s->dboid);
		values[2] = CStringGetTextDatum(s->model);
		values[3] = ObjectIdGetDatum(s->roleid);
		if (s->pid > 0 && active)
			values[4] = Int32GetDatum(s->pid);
		else
			nulls[4] = true;
		values[5] = CStringGetTextDatum(HrmJobStateName(s->state));
		values[6] = Int64GetDatum(s->p.step);
		if (s->p.total_steps > 0)
			values[7] = Int64GetDatum(s->p.total_steps);
		else
			nulls[7] = true;
		if (s->p.step > s->p.start_step)
		{
			PutFloat(values, nulls, 8, s->p.loss);
			PutFloat(values, nulls, 9, s->p.accuracy);
			PutFloat(values, nulls, 10, s->p.exact_accuracy);
			PutFloat(values, nulls, 12, s->p.examples_per_second);
		}
		else
		{
			nulls[8] = nulls[9] = nulls[10] = nulls[12] = true;
		}
		PutFloat(values, nulls, 11, s->p.eval_exact_accuracy);
		values[13] = TimestampTzGetDatum(s->started);
		if (s->p.updated != 0)
			values[14] = TimestampTzGetDatum(s->p.updated);
		else
			nulls[14] = true;
		if (s->p.last_checkpoint >= 0)
		{
			values[15] = Int64GetDatum(s->p.last_checkpoint);
			values[16] = TimestampTzGetDatum(s->p.last_checkpoint_at);
		}
		else
			nulls[15] = nulls[16] = true;
		nulls[17] = true;
		if (active && s->p.eta >= 0)
		{
			Interval   *iv = palloc0(sizeof(Interval));

			iv->time = (TimeOffset) (s->p.eta * USECS_PER_SEC);
			values[17] = IntervalPGetDatum(iv);
			nulls[17] = false;
		}
		if (s->error[0] != '\0')
			values[18] = CStringGetTextDatum(s->error);
		else
			nulls[18] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * hrm_cancel(job bigint) → boolean
 * --------------------------------------------------------------------- */

/*
 * A job of this database that is no longer in shared memory (its slot was
 * reused, or the server restarted): its row in hrm.job.  False if there is
 * none; *role receives the name of the role that started it.
 */
static bool
HrmJobRow(int64 job_id, char *state, char *role)
{
	HrmUserState us;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		found = false;

	values[0] = Int64GetDatum(job_id);
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	if (SPI_execute_with_args("SELECT state, role::pg_catalog.text FROM hrm.job WHERE id OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) < 0)
		elog(ERROR, "could not read hrm.job");
	if (SPI_processed == 1)
	{
		char	   *st = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *ro = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		strlcpy(state, st ? st : "", NAMEDATALEN);
		strlcpy(role, ro ? ro : "", NAMEDATALEN);
		found = true;
	}
	SPI_finish();
	HrmRestoreUser(&us);
	return found;
}

static void
HrmCheckJobRole(int64 job_id, Oid roleid)
{
	if (!superuser() && !(OidIsValid(roleid) && has_privs_of_role(GetUserId(), roleid)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be a member of the role that started training job " INT64_FORMAT " to cancel it",
						job_id)));
}

Datum
hrm_cancel_pg(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	int			slot;
	HrmJobSlot	s;
	char		state[NAMEDATALEN];
	char		role[NAMEDATALEN];

	/* a standby runs no jobs: its hrm.job rows are the primary's */
	HrmPreventDuringRecovery("hrm_cancel");
	slot = HrmJobFind(job_id, MyDatabaseId);
	if (slot >= 0 && HrmJobRead(slot, MyDatabaseId, job_id, &s))
	{
		HrmCheckJobRole(job_id, s.roleid);
		PG_RETURN_BOOL(HrmJobRequestCancel(slot, MyDatabaseId, job_id));
	}
	/* ended long ago (or before a restart): hrm.job has it */
	if (!HrmJobRow(job_id, state, role))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("training job " INT64_FORMAT " does not exist in database \"%s\"", job_id,
						get_database_name(MyDatabaseId)),
				 errhint("SELECT * FROM hrm.job lists the jobs of this database.")));
	HrmCheckJobRole(job_id, get_role_oid(role, true));
	PG_RETURN_BOOL(false);
}
