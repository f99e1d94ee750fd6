/*-------------------------------------------------------------------------
 *
 * hrm_worker.c
 *		The training job: a dynamic background worker that trains a model
 *		with the engine's run.h and commits checkpoints as it goes.
 *
 * The worker is registered on demand (RegisterDynamicBackgroundWorker
 * works without shared_preload_libraries), connects to the caller's
 * database, maps the DSM segment the caller filled (HrmTrainTask: resolved
 * options and the data in canonical row order) and tells the caller it may
 * let go of it.  Then:
 *
 *   1. one transaction builds the starting state: a new trainer, an
 *      existing model's weights, or the last checkpoint (hrm_run_load: the
 *      trainer and the sampler, so the run continues bit for bit);
 *   2. it trains step by step, outside any transaction, checking the
 *      slot's cancel flag and interrupts between steps and publishing
 *      progress in the slot;
 *   3. every checkpoint interval it evaluates on held-out rows and commits,
 *      in one transaction: the checkpoint (hrm_run_save blob) as a large
 *      object in hrm.checkpoint, the weights as a new generation of the
 *      model in hrm.model (so hrm_solve and friends see the progress), a
 *      row of hrm.training_log, the job's row in hrm.job, and the pruning
 *      of checkpoints beyond "keep" (their large objects are unlinked by
 *      the catalog's trigger);
 *   4. at the end (budget spent, cancel, SIGTERM) it commits a last
 *      checkpoint, so a cancelled run loses nothing; a crash loses at most
 *      one interval.
 *
 * The engine runs only in this process's main thread; BLAS threads never
 * call PostgreSQL.  An ERROR is recorded in the slot (the waiting caller
 * re-raises it with its SQLSTATE) and in hrm.job, and ends the worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "access/xact.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "hrm_train.h"

/* What the caller puts in bgw_extra. */
typedef struct HrmWorkerExtra
{
	int64		job_id;
	Oid			dboid;			/* job ids are per database */
	dsm_handle	handle;
} HrmWorkerExtra;

/* Steps the live loss / accuracy are averaged over. */
#define HRM_RING 32

typedef struct HrmWorker
{
	int			slot;
	Oid			dboid;
	int64		job_id;
	HrmTrainTask *task;
	char	   *base;

	hrm_dataset train;
	hrm_dataset eval_ds;
	hrm_split	split;
	const int64_t *train_rows;	/* NULL = all */
	int64		n_train;
	const hrm_dataset *eval;	/* NULL = nothing held out */
	const int64_t *eval_rows;	/* NULL = all of eval */
	int64		n_eval;

	hrm_trainer *tr;
	hrm_sampler *smp;
	int			B;

	HrmJobProgress p;
	double		t0;				/* monotonic seconds when training began */
	double		train_seconds;	/* in training steps (the max_minutes budget) */
	double		step_ema;		/* seconds per step */

	double		ring_loss[HRM_RING];
	double		ring_acc[HRM_RING];
	double		ring_exact[HRM_RING];
	int			ring_n;
	int			ring_pos;

	/* the log: means since the last row */
	double		log_loss;
	double		log_acc;
	double		log_exact;
	int64		log_n;
	int64		last_log_step;
	double		last_log_time;

	int64		last_ckpt_step;
	double		last_ckpt_time;
	double		last_publish;

	bool		model_expected; /* the model row must exist at the next checkpoint */
	Oid			acl_lo;			/* the model's ACL object once it exists: its identity */
	bool		clear_old;		/* drop the checkpoints of an earlier run at the first checkpoint */

	double		stop_seen;		/* when the engine's hook first saw a stop request (0 = not yet) */
	bool		step_abandoned; /* a step was cancelled part-way (and discarded) */
} HrmWorker;

static volatile sig_atomic_t got_sigterm = false;

static void
HrmWorkerSigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

static double
HrmMono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/*
 * Seconds a stop request (hrm_cancel, a cancel of the worker, SIGTERM)
 * leaves the running step to finish on its own: a step that ends in time
 * is kept, a longer one is dropped part-way (the last checkpoint then holds
 * the weights of the step before, with a restarted carry).  Either way the
 * worker stops well within a second.
 */
#define HRM_STOP_GRACE 0.5

/*
 * The engine's cancellation hook in the worker.  The engine calls it on
 * this (the main) thread only, per transformer block; it reads the signal
 * flags and the job slot's cancel flag (under its spinlock) and never
 * raises an error.
 */
static int
HrmWorkerCancelHook(void *arg)
{
	HrmWorker  *w = (HrmWorker *) arg;
	double		now;

	if (!(got_sigterm || ProcDiePending || QueryCancelPending ||
		  HrmJobCancelRequested(w->slot, w->dboid, w->job_id)))
		return 0;
	now = HrmMono();
	if (w->stop_seen == 0)
		w->stop_seen = now;
	return now - w->stop_seen >= HRM_STOP_GRACE ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * Starting a worker (caller side)
 * --------------------------------------------------------------------- */

void
HrmStartWorker(int slot, int64 job_id, dsm_segment *seg)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	HrmWorkerExtra extra;
	BgwHandleStatus status;
	pid_t		pid;
	HrmJobSlot	s;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(w.bgw_library_name, "hrm", sizeof(w.bgw_library_name));
	strlcpy(w.bgw_function_name, "HrmTrainWorkerMain", sizeof(w.bgw_function_name));
	snprintf(w.bgw_name, sizeof(w.bgw_name), "hrm training job " INT64_FORMAT, job_id);
	strlcpy(w.bgw_type, "hrm training", sizeof(w.bgw_type));
	w.bgw_main_arg = Int32GetDatum(slot);
	w.bgw_notify_pid = MyProcPid;
	extra.job_id = job_id;
	extra.dboid = MyDatabaseId;
	extra.handle = dsm_segment_handle(seg);
	memcpy(w.bgw_extra, &extra, sizeof(extra));

	if (!RegisterDynamicBackgroundWorker(&w, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker for training job " INT64_FORMAT, job_id),
				 errhint("Every training job needs a free background worker slot; raise max_worker_processes (a restart) or wait for other workers to finish.")));

	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited while starting training job " INT64_FORMAT, job_id)));

	/* wait until the worker has mapped the segment, or is gone */
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (!HrmJobRead(slot, MyDatabaseId, job_id, &s))
			elog(ERROR, "training job " INT64_FORMAT " lost its slot", job_id);
		if (s.attached || s.state == HRM_JOB_FAILED)
			break;
		status = GetBackgroundWorkerPid(handle, &pid);
		if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
		{
			/* it may have failed and said why */
			if (HrmJobRead(slot, MyDatabaseId, job_id, &s) && (s.attached || s.state == HRM_JOB_FAILED))
				break;
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("the worker of training job " INT64_FORMAT " exited before starting", job_id),
					 errhint("The server log says why.")));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	if (s.state == HRM_JOB_FAILED && !s.attached)
		ereport(ERROR,
				(errcode(s.sqlerrcode ? s.sqlerrcode : ERRCODE_INTERNAL_ERROR),
				 errmsg("training job " INT64_FORMAT " could not start: %s", job_id, s.error)));
}

/* ---------------------------------------------------------------------
 * Metrics
 * --------------------------------------------------------------------- */

static void
HrmRingAdd(HrmWorker *w, const hrm_run_metrics *mt)
{
	w->ring_loss[w->ring_pos] = mt->loss;
	w->ring_acc[w->ring_pos] = mt->token_accuracy_all;
	w->ring_exact[w->ring_pos] = mt->exact_all;
	w->ring_pos = (w->ring_pos + 1) % HRM_RING;
	if (w->ring_n < HRM_RING)
		w->ring_n++;
	w->log_loss += mt->loss;
	w->log_acc += mt->token_accuracy_all;
	w->log_exact += mt->exact_all;
	w->log_n++;
}

static void
HrmRingMeans(const HrmWorker *w, double *loss, double *acc, double *exact)
{
	double		a = 0,
				b = 0,
				c = 0;
	int			i;

	for (i = 0; i < w->ring_n; i++)
	{
		a += w->ring_loss[i];
		b += w->ring_acc[i];
		c += w->ring_exact[i];
	}
	*loss = w->ring_n ? a / w->ring_n : NAN;
	*acc = w->ring_n ? b / w->ring_n : NAN;
	*exact = w->ring_n ? c / w->ring_n : NAN;
}

/* Fill the progress record from the trainer's state. */
static void
HrmUpdateProgress(HrmWorker *w)
{
	HrmTrainTask *t = w->task;
	HrmJobProgress *p = &w->p;
	double		elapsed = HrmMono() - w->t0;
	double		eta = -1;
	int64		total = 0;
	hrm_sampler_pos pos;

	hrm_sampler_position(w->smp, &pos);
	p->step = hrm_trainer_step(w->tr);
	p->examples = (p->step - p->start_step) * w->B;
	p->elapsed = elapsed;
	p->epochs = pos.epochs;
	HrmRingMeans(w, &p->loss, &p->accuracy, &p->exact_accuracy);
	p->examples_per_second = w->step_ema > 0 ? w->B / w->step_ema : 0;

	if (t->steps > 0)
		total = t->steps;
	if (t->epochs > 0)
	{
		int64		e = (int64) ceil(t->epochs * w->n_train / w->B);

		total = total > 0 ? Min(total, e) : e;
	}
	if (total > 0 && w->step_ema > 0)
		eta = Max(total - p->step, 0) * w->step_ema;
	if (t->max_seconds > 0)
	{
		double		left = Max(t->max_seconds - w->train_seconds, 0);

		if (eta < 0 || left < eta)
		{
			eta = left;
			if (w->step_ema > 0)
				total = p->step + (int64) (left / w->step_ema);
		}
	}
	p->total_steps = total;
	p->eta = eta;
	p->updated = GetCurrentTimestamp();
}

static void
HrmPublish(HrmWorker *w)
{
	HrmUpdateProgress(w);
	(void) HrmJobPublish(w->slot, w->dboid, w->job_id, &w->p, HRM_JOB_RUNNING);
	w->last_publish = HrmMono();
}

/* Held-out evaluation of the current weights (outside transactions). */
static void
HrmEvalNow(HrmWorker *w)
{
	hrm_model	m;
	hrm_eval_opts eo = w->task->ro.eval;
	hrm_eval_result res;
	hrm_error	err;
	hrm_status	st;
	int64		n;

	if (w->eval == NULL)
		return;
	n = w->n_eval;
	if (w->task->eval_rows > 0 && n > w->task->eval_rows)
		n = w->task->eval_rows;
	if (n <= 0)
		return;
	hrm_error_clear(&err);
	HrmCheck(hrm_model_init(&m, hrm_trainer_layout(w->tr), hrm_trainer_eval_params(w->tr), &err), &err,
			 "could not evaluate the model");
	eo.progress = NULL;
	eo.max_rows = 0;
	/* the engine's packed kernel for the evaluation too (a private copy of the block weights) */
	st = hrm_model_pack(&m, false, &err);
	if (st == HRM_OK)
		st = hrm_evaluate(&m, w->eval, w->eval_rows, n, &eo, &res, &err);
	hrm_model_free(&m);
	if (st == HRM_ERR_CANCELLED)
	{
		/* stopping: the checkpoint goes without held-out figures */
		hrm_cancel_clear();
		w->p.eval_exact_accuracy = NAN;
		w->p.eval_token_accuracy = NAN;
		return;
	}
	HrmCheck(st, &err, "could not evaluate the model");
	w->p.eval_exact_accuracy = res.exact_accuracy;
	w->p.eval_token_accuracy = res.token_accuracy;
}

/* A JSON number or null. */
static void
HrmJsonNum(StringInfo b, const char *key, double x, bool comma)
{
	if (isnan(x) || isinf(x))
		appendStringInfo(b, "%s\"%s\": null", comma ? ", " : "", key);
	else
		appendStringInfo(b, "%s\"%s\": %.9g", comma ? ", " : "", key, x);
}

/* ---------------------------------------------------------------------
 * Transactions of the worker
 * --------------------------------------------------------------------- */

static void
HrmWorkerBegin(HrmUserState *us)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	HrmBecomeCatalogOwner(us);
	HrmSpiConnect();
}

static void
HrmWorkerCommit(HrmUserState *us)
{
	SPI_finish();
	HrmRestoreUser(us);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
}

/* A write of the worker's transaction. */
static inline void
HrmExec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	(void) HrmSpiExec(sql, nargs, types, values, nulls, false, 0);
}

/* The job's row in hrm.job, from the current progress. */
static void
HrmUpdateJobRow(HrmWorker *w, const char *state, const char *error, int sqlerrcode)
{
	Oid			types[13] = {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, FLOAT8OID, INT8OID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[13];
	char		nulls[13];
	const HrmJobProgress *p = &w->p;
	bool		trained = p->step > p->start_step;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(w->job_id);
	values[1] = CStringGetTextDatum(state);
	values[2] = Int64GetDatum(p->step);
	values[3] = Int64GetDatum(p->examples);
	if (p->total_steps > 0)
		values[4] = Int64GetDatum(p->total_steps);
	else
		nulls[4] = 'n';
	if (trained && !isnan(p->loss))
	{
		values[5] = Float8GetDatum(p->loss);
		values[6] = Float8GetDatum(p->exact_accuracy);
	}
	else
		nulls[5] = nulls[6] = 'n';
	if (!isnan(p->eval_exact_accuracy))
		values[7] = Float8GetDatum(p->eval_exact_accuracy);
	else
		nulls[7] = 'n';
	values[8] = Float8GetDatum(p->elapsed);
	if (p->last_checkpoint >= 0)
		values[9] = Int64GetDatum(p->last_checkpoint);
	else
		nulls[9] = 'n';
	if (error)
		values[10] = CStringGetTextDatum(error);
	else
		nulls[10] = 'n';
	values[11] = Int64GetDatum(p->start_step);
	if (sqlerrcode != 0)
		values[12] = CStringGetTextDatum(unpack_sql_state(sqlerrcode));
	else
		nulls[12] = 'n';
	HrmExec("UPDATE hrm.job SET state = $2, step = $3, examples = $4, total_steps = $5,"
			" train_loss = $6, train_exact_accuracy = $7, eval_exact_accuracy = $8, seconds = $9,"
			" last_checkpoint = $10, error = $11, start_step = $12, sqlstate = $13,"
			" finished = CASE WHEN $2 OPERATOR(pg_catalog.<>) 'running' THEN pg_catalog.now() END"
			" WHERE id OPERATOR(pg_catalog.=) $1",
			13, types, values, nulls);
}

/* A row of hrm.training_log (means since the previous row). */
static void
HrmLogRow(HrmWorker *w, bool checkpoint)
{
	Oid			types[15] = {INT8OID, TEXTOID, INT8OID, FLOAT8OID, INT8OID, FLOAT8OID, FLOAT8OID,
		FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, BOOLOID, FLOAT8OID};
	Datum		values[15];
	char		nulls[15];
	const HrmJobProgress *p = &w->p;
	hrm_train_opts o = *hrm_trainer_opts(w->tr);
	int			i;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(w->job_id);
	values[1] = CStringGetTextDatum(w->task->model);
	values[2] = Int64GetDatum(p->step);
	values[3] = Float8GetDatum(p->elapsed);
	values[4] = Int64GetDatum(p->examples);
	if (w->log_n > 0)
	{
		values[5] = Float8GetDatum(w->log_loss / w->log_n);
		values[6] = Float8GetDatum(w->log_acc / w->log_n);
		values[7] = Float8GetDatum(w->log_exact / w->log_n);
	}
	else
		nulls[5] = nulls[6] = nulls[7] = 'n';
	values[8] = Float8GetDatum(hrm_lr_schedule(o.lr, Max(p->step, 1), o.lr_warmup_steps, o.total_steps,
											   o.lr_min_ratio));
	values[9] = Float8GetDatum(p->epochs);
	values[10] = Float8GetDatum(p->examples_per_second);
	values[11] = Float8GetDatum(p->eval_exact_accuracy);
	values[12] = Float8GetDatum(p->eval_token_accuracy);
	for (i = 3; i <= 12; i++)
		if (nulls[i] == ' ' && isnan(DatumGetFloat8(values[i])))
			nulls[i] = 'n';
	if (!checkpoint)
		nulls[11] = nulls[12] = 'n';
	values[13] = BoolGetDatum(checkpoint);
	values[14] = Float8GetDatum(w->train_seconds);
	HrmExec("INSERT INTO hrm.training_log (job, model, step, elapsed, examples, loss, accuracy,"
			" exact_accuracy, lr, epochs, examples_per_second, eval_exact_accuracy,"
			" eval_token_accuracy, checkpoint, train_seconds)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
			" ON CONFLICT (job, step) DO UPDATE SET logged = pg_catalog.now(), elapsed = EXCLUDED.elapsed,"
			" eval_exact_accuracy = COALESCE(EXCLUDED.eval_exact_accuracy, hrm.training_log.eval_exact_accuracy),"
			" eval_token_accuracy = COALESCE(EXCLUDED.eval_token_accuracy, hrm.training_log.eval_token_accuracy),"
			" checkpoint = EXCLUDED.checkpoint OR hrm.training_log.checkpoint",
			15, types, values, nulls);
	w->log_loss = w->log_acc = w->log_exact = 0;
	w->log_n = 0;
	w->last_log_step = p->step;
	w->last_log_time = HrmMono();
}

/* A log row in its own transaction. */
static void
HrmWriteLog(HrmWorker *w)
{
	HrmUserState us;

	pgstat_report_activity(STATE_RUNNING, "hrm training: writing the log");
	HrmWorkerBegin(&us);
	HrmLogRow(w, false);
	HrmUpdateJobRow(w, "running", NULL, 0);
	HrmWorkerCommit(&us);
	pgstat_report_activity(STATE_RUNNING, "hrm training");
}

/* Metrics stored with a checkpoint and the model. */
static char *
HrmMetricsJson(HrmWorker *w)
{
	StringInfoData b;
	const HrmJobProgress *p = &w->p;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"job\": " INT64_FORMAT ", \"step\": " INT64_FORMAT ", \"examples\": " INT64_FORMAT,
					 w->job_id, p->step, p->examples);
	HrmJsonNum(&b, "loss", p->loss, true);
	HrmJsonNum(&b, "accuracy", p->accuracy, true);
	HrmJsonNum(&b, "exact_accuracy", p->exact_accuracy, true);
	HrmJsonNum(&b, "eval_exact_accuracy", p->eval_exact_accuracy, true);
	HrmJsonNum(&b, "eval_token_accuracy", p->eval_token_accuracy, true);
	HrmJsonNum(&b, "epochs", p->epochs, true);
	HrmJsonNum(&b, "seconds", p->elapsed, true);
	appendStringInfo(&b, ", \"options\": %s}", w->base + w->task->options_off);
	return b.data;
}

/*
 * Commit a checkpoint: state, weights as a new model generation, the log,
 * the job row, pruning.
 */
static void
HrmCheckpoint(HrmWorker *w)
{
	HrmTrainTask *t = w->task;
	const hrm_layout *lay = hrm_trainer_layout(w->tr);
	uint8_t    *state = NULL;
	size_t		state_len = 0;
	uint8_t    *file = NULL;
	size_t		file_len = 0;
	char	   *config;
	HrmUserState us;
	hrm_error	err;
	hrm_status	st;
	int64		step = hrm_trainer_step(w->tr);

	pgstat_report_activity(STATE_RUNNING, "hrm training: evaluating");
	HrmEvalNow(w);
	HrmUpdateProgress(w);

	hrm_error_clear(&err);
	st = hrm_run_save(w->tr, w->smp, &state, &state_len, &err);
	if (st == HRM_OK)
		st = hrm_save_params(lay, hrm_trainer_eval_params(w->tr), "", &file, &file_len, &err);
	if (st != HRM_OK)
	{
		hrm_free(state);
		HrmThrow(st, &err, "could not serialize the checkpoint");
	}
	config = hrm_config_to_json(&lay->cfg);
	if (config == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	pgstat_report_activity(STATE_RUNNING, "hrm training: committing a checkpoint");
	HrmWorkerBegin(&us);
	PG_TRY();
	{
		Oid			t1[1] = {TEXTOID};
		Datum		v1[1];
		char	   *metrics = HrmMetricsJson(w);
		bool		exists;
		bool		isnull;
		Oid			row_acl = InvalidOid;
		Oid			state_loid,
					weights_loid;

		/* a concurrent import of a new name waits for this commit, or we for its */
		HrmLockModelName(t->model);
		v1[0] = CStringGetTextDatum(t->model);
		HrmExec("SELECT acl_lo FROM hrm.model WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE", 1, t1, v1, NULL);
		exists = SPI_processed == 1;
		if (exists)
			row_acl = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (!exists && w->model_expected)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" was dropped or renamed during training", t->model)));
		/* the row must still be the model this job trains, not a new one of the same name */
		if (exists && !OidIsValid(w->acl_lo))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("model \"%s\" was created by someone else during training", t->model),
					 errhint("Train under another name, or drop that model first.")));
		if (exists && row_acl != w->acl_lo)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" was dropped and created again during training", t->model)));

		state_loid = HrmLoWrite(state, state_len);
		weights_loid = HrmLoWrite(file, file_len);
		{
			HrmCheckpointRow r = {0};

			r.model = t->model;
			r.arch = hrm_arch_name(lay->cfg.arch);
			r.task = t->ro.sampler.task != HRM_TASK_GENERIC ? hrm_task_name(t->ro.sampler.task) : NULL;
			r.config = config;
			r.hyperparameters = w->base + t->hyper_off;
			r.metrics = metrics;
			r.weights_lo = weights_loid;
			r.weights_bytes = (int64) file_len;
			r.n_params = (int64) lay->n_params;
			r.exists = exists;
			r.owner = t->owner;
			r.acl_lo = row_acl;
			r.run = t->run;
			r.step = step;
			r.state_lo = state_loid;
			r.state_bytes = (int64) state_len;
			r.clear_old = w->clear_old;
			r.keep = t->keep;
			row_acl = HrmCatalogStoreCheckpoint(&r);
		}

		w->acl_lo = row_acl;
		w->p.last_checkpoint = step;
		w->p.last_checkpoint_at = GetCurrentTimestamp();
		HrmLogRow(w, true);
		HrmUpdateJobRow(w, "running", NULL, 0);
	}
	PG_FINALLY();
	{
		hrm_free(state);
		hrm_free(file);
		free(config);
	}
	PG_END_TRY();
	HrmWorkerCommit(&us);

	w->model_expected = true;
	w->clear_old = false;
	w->last_ckpt_step = step;
	w->last_ckpt_time = HrmMono();
	(void) HrmJobPublish(w->slot, w->dboid, w->job_id, &w->p, HRM_JOB_RUNNING);
	pgstat_report_activity(STATE_RUNNING, "hrm training");
}

/* ---------------------------------------------------------------------
 * Setting up
 * --------------------------------------------------------------------- */

/* Mark hrm.job rows left "running" by a crash, and insert ours. */
static void
HrmInsertJobRow(HrmWorker *w)
{
	HrmTrainTask *t = w->task;
	int			n_live;
	int64	   *live = HrmJobLiveIds(t->dboid, &n_live);
	Datum	   *d = palloc(sizeof(Datum) * Max(n_live, 1));
	Oid			types[6] = {INT8OID, TEXTOID, OIDOID, TEXTOID, TEXTOID, INT4OID};
	Datum		values[6];
	Oid			ltypes[1] = {INT8ARRAYOID};
	Datum		lvalues[1];
	int			i;

	for (i = 0; i < n_live; i++)
		d[i] = Int64GetDatum(live[i]);
	lvalues[0] = PointerGetDatum(construct_array(d, n_live, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	HrmExec("UPDATE hrm.job SET state = 'failed', finished = pg_catalog.now(),"
			" error = 'interrupted: the server stopped or restarted during training', sqlstate = '57P01'"
			" WHERE state OPERATOR(pg_catalog.=) 'running' AND id OPERATOR(pg_catalog.<>) ALL ($1)",
			1, ltypes, lvalues, NULL);

	values[0] = Int64GetDatum(w->job_id);
	values[1] = CStringGetTextDatum(t->model);
	values[2] = ObjectIdGetDatum(t->roleid);
	values[3] = CStringGetTextDatum(w->base + t->source_off);
	values[4] = CStringGetTextDatum(w->base + t->options_off);
	values[5] = Int32GetDatum(MyProcPid);
	HrmExec("INSERT INTO hrm.job (id, model, role, source, options, state, pid)"
			" VALUES ($1, $2, (SELECT rolname FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) $3),"
			" $4, $5::pg_catalog.jsonb, 'running', $6)",
			6, types, values, NULL);
}

/* The trainer and the sampler: new, from a model's weights, or from a checkpoint. */
static void
HrmBuildState(HrmWorker *w)
{
	HrmTrainTask *t = w->task;
	hrm_error	err;
	hrm_status	st;

	hrm_error_clear(&err);
	if (t->resume)
	{
		size_t		len;
		void	   *blob;

		if (!LargeObjectExists(t->resume_state))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the checkpoint at step " INT64_FORMAT " of model \"%s\" is gone",
							t->resume_step, t->model)));
		blob = HrmLoRead(t->resume_state, &len);
		st = hrm_run_load(&w->tr, &w->smp, &w->train, w->train_rows, w->n_train, blob, len, &err);
		if (st == HRM_ERR_INVALID)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("cannot resume model \"%s\": the data differs from the checkpoint's", t->model),
					 errdetail("%s", err.msg),
					 errhint("Resume with the same rows (in any order) and the same eval_fraction and seed.")));
		HrmCheck(st, &err, psprintf("could not resume model \"%s\"", t->model));
		{
			hrm_train_opts o = *hrm_trainer_opts(w->tr);

			if (t->override_train)
			{
				o.lr = t->ro.train.lr;
				o.lr_warmup_steps = t->ro.train.lr_warmup_steps;
				o.lr_min_ratio = t->ro.train.lr_min_ratio;
				o.beta1 = t->ro.train.beta1;
				o.beta2 = t->ro.train.beta2;
				o.weight_decay = t->ro.train.weight_decay;
				o.puzzle_emb_lr = t->ro.train.puzzle_emb_lr;
				o.puzzle_emb_weight_decay = t->ro.train.puzzle_emb_weight_decay;
				o.loss_type = t->ro.train.loss_type;
			}
			o.total_steps = t->ro.train.total_steps;
			hrm_trainer_set_opts(w->tr, &o);
		}
		w->p.last_checkpoint = t->resume_step;
		w->model_expected = true;
		return;
	}

	if (OidIsValid(t->init_weights))
	{
		size_t		len;
		void	   *buf = HrmLoRead(t->init_weights, &len);
		hrm_safetensors st_file;
		hrm_config	cfg;
		hrm_layout	lay;
		float	   *params;

		memset(&st_file, 0, sizeof(st_file));
		st = hrm_st_parse(buf, len, &st_file, &err);
		if (st == HRM_OK)
			st = hrm_config_from_safetensors(&st_file, &cfg, &err);
		if (st == HRM_OK)
			st = hrm_layout_init(&lay, &cfg, &err);
		if (st != HRM_OK)
		{
			hrm_st_free(&st_file);
			HrmThrow(st, &err, psprintf("could not read the weights of model \"%s\"", t->model));
		}
		params = hrm_alloc(lay.n_params, sizeof(float));
		st = params ? hrm_load_params(&lay, &st_file, params, &err) :
			hrm_fail(&err, HRM_ERR_NOMEM, "out of memory for %zu parameters", lay.n_params);
		if (st == HRM_OK)
			st = hrm_trainer_create(&w->tr, &cfg, params, &t->ro.train, &err);
		hrm_free(params);
		hrm_layout_free(&lay);
		hrm_st_free(&st_file);
		HrmCheck(st, &err, psprintf("could not train model \"%s\"", t->model));
		w->model_expected = true;
		w->clear_old = true;
	}
	else
	{
		HrmCheck(hrm_trainer_create(&w->tr, &t->ro.model, NULL, &t->ro.train, &err), &err,
				 psprintf("could not create model \"%s\"", t->model));
		w->model_expected = t->model_exists;
		w->clear_old = true;
	}
	HrmCheck(hrm_sampler_create(&w->smp, &w->train, w->train_rows, w->n_train, &t->ro.sampler, &err),
			 &err, psprintf("could not sample the data of model \"%s\"", t->model));
}

/* ---------------------------------------------------------------------
 * The worker
 * --------------------------------------------------------------------- */

/* Shared-memory exit: a job still marked active here did not end cleanly. */
static void
HrmWorkerExit(int code, Datum arg)
{
	HrmWorker  *w = (HrmWorker *) DatumGetPointer(arg);

	HrmJobFinish(w->slot, w->dboid, w->job_id, HRM_JOB_FAILED, ERRCODE_ADMIN_SHUTDOWN,
				 "the training worker was terminated");
}

/* Record a failure in hrm.job (best effort, in a new transaction). */
static void
HrmRecordFailure(HrmWorker *w, const char *msg, int sqlerrcode)
{
	PG_TRY();
	{
		HrmUserState us;

		HrmWorkerBegin(&us);
		HrmUpdateJobRow(w, "failed", msg, sqlerrcode);
		HrmWorkerCommit(&us);
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
	}
	PG_END_TRY();
}

static void
HrmTrainLoop(HrmWorker *w)
{
	HrmTrainTask *t = w->task;
	HrmJobState final = HRM_JOB_FINISHED;
	hrm_error	err;
	HrmUserState us;

	for (;;)
	{
		hrm_run_metrics mt;
		hrm_sampler_pos pos;
		double		t_step,
					now;
		int64		step = hrm_trainer_step(w->tr);
		hrm_status	st;

		/* a query cancel (pg_cancel_backend) of the worker is a cancel of the job */
		if (QueryCancelPending)
		{
			QueryCancelPending = false;
			HrmJobRequestCancel(w->slot, w->dboid, w->job_id);
		}
		CHECK_FOR_INTERRUPTS();
		if (got_sigterm || HrmJobCancelRequested(w->slot, w->dboid, w->job_id))
		{
			final = HRM_JOB_CANCELLED;
			break;
		}
		hrm_sampler_position(w->smp, &pos);
		if ((t->steps > 0 && step >= t->steps) ||
			(t->epochs > 0 && pos.epochs >= t->epochs) ||
			(t->max_seconds > 0 && w->train_seconds >= t->max_seconds))
			break;

		t_step = HrmMono();
		hrm_error_clear(&err);
		st = hrm_run_step(w->tr, w->smp, &mt, &err);
		if (st == HRM_ERR_CANCELLED)
		{
			/* stopped part-way: the weights are the last step's; the carry restarts */
			hrm_cancel_clear();
			hrm_trainer_discard_step(w->tr);
			w->step_abandoned = true;
			final = HRM_JOB_CANCELLED;
			break;
		}
		HrmCheck(st, &err, "training step failed");
		now = HrmMono();
		t_step = now - t_step;
		w->train_seconds += t_step;
		w->step_ema = w->step_ema > 0 ? 0.9 * w->step_ema + 0.1 * t_step : t_step;
		if (isnan(mt.loss) || isinf(mt.loss))
			ereport(ERROR,
					(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
					 errmsg("training diverged: the loss is not finite at step " INT64_FORMAT, mt.step),
					 errhint("Lower lr, or raise lr_warmup_steps.")));
		HrmRingAdd(w, &mt);
		step = mt.step;

		/*
		 * A fresh run with only a time budget and a decaying schedule: the
		 * cosine's horizon is the steps the budget allows at the rate of the
		 * first 30 steps (a resumed run keeps the horizon it was saved with).
		 */
		if (!t->resume && t->steps == 0 && t->epochs == 0 && t->max_seconds > 0 &&
			t->ro.train.lr_min_ratio < 1.0 && step == w->p.start_step + 30)
		{
			hrm_train_opts o = *hrm_trainer_opts(w->tr);

			o.total_steps = step + (int64) (Max(t->max_seconds - w->train_seconds, 0) /
											(w->train_seconds / 30.0));
			hrm_trainer_set_opts(w->tr, &o);
			t->ro.train.total_steps = o.total_steps;
		}

		if (now - w->last_publish >= 0.25)
			HrmPublish(w);
		/* step intervals fall on multiples of the interval, resumed or not */
		if ((t->checkpoint_steps > 0 && step % t->checkpoint_steps == 0) ||
			(t->checkpoint_seconds > 0 && now - w->last_ckpt_time >= t->checkpoint_seconds))
			HrmCheckpoint(w);
		else if ((t->log_steps > 0 && step % t->log_steps == 0) ||
				 (t->log_seconds > 0 && now - w->last_log_time >= t->log_seconds))
		{
			HrmUpdateProgress(w);
			HrmWriteLog(w);
		}
	}

	/*
	 * The last checkpoint: a run stopped between steps loses nothing.  A
	 * step abandoned part-way is dropped: the checkpoint holds the weights
	 * of the last completed step and a restarted carry (a resume from it
	 * draws new examples for every row, so it is not bit-identical to an
	 * uninterrupted run).
	 */
	HrmUpdateProgress(w);
	if (w->step_abandoned)
		ereport(LOG,
				(errmsg("training job " INT64_FORMAT " dropped step " INT64_FORMAT " part-way to stop in time; "
						"the checkpoint holds step " INT64_FORMAT " with a restarted carry",
						w->job_id, hrm_trainer_step(w->tr) + 1, hrm_trainer_step(w->tr))));
	/* (a checkpoint of this very step is already there, with the exact carry: kept) */
	if (hrm_trainer_step(w->tr) != w->last_ckpt_step)
		HrmCheckpoint(w);
	else if (w->eval != NULL && isnan(w->p.eval_exact_accuracy))
		HrmEvalNow(w);

	HrmWorkerBegin(&us);
	HrmUpdateJobRow(w, final == HRM_JOB_CANCELLED ? "cancelled" : "finished", NULL, 0);
	HrmWorkerCommit(&us);
	(void) HrmJobPublish(w->slot, w->dboid, w->job_id, &w->p, HRM_JOB_RUNNING);
	HrmJobFinish(w->slot, w->dboid, w->job_id, final, 0, NULL);
}

void
HrmTrainWorkerMain(Datum main_arg)
{
	HrmWorker  *w;
	HrmWorkerExtra extra;
	dsm_segment *seg;
	HrmTrainTask *t;

	pqsignal(SIGTERM, HrmWorkerSigterm);
	BackgroundWorkerUnblockSignals();

	w = MemoryContextAllocZero(TopMemoryContext, sizeof(HrmWorker));
	memcpy(&extra, MyBgworkerEntry->bgw_extra, sizeof(extra));
	w->slot = DatumGetInt32(main_arg);
	w->job_id = extra.job_id;
	w->dboid = extra.dboid;
	if (w->slot < 0 || w->slot >= HRM_JOB_SLOTS)
		proc_exit(1);

	seg = dsm_attach(extra.handle);
	if (seg == NULL)
	{
		HrmJobFinish(w->slot, w->dboid, w->job_id, HRM_JOB_FAILED, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					 "the training data was released before the worker started");
		proc_exit(1);
	}
	w->base = dsm_segment_address(seg);
	t = (HrmTrainTask *) w->base;
	if (t->magic != HRM_TASK_MAGIC || t->job_id != w->job_id || t->dboid != w->dboid)
	{
		HrmJobFinish(w->slot, w->dboid, w->job_id, HRM_JOB_FAILED, ERRCODE_INTERNAL_ERROR,
					 "the training task is damaged");
		proc_exit(1);
	}
	/* a private copy: the segment's header is not ours to change */
	w->task = MemoryContextAlloc(TopMemoryContext, sizeof(HrmTrainTask));
	memcpy(w->task, t, sizeof(HrmTrainTask));
	t = w->task;
	w->acl_lo = t->acl_lo;

	before_shmem_exit(HrmWorkerExit, PointerGetDatum(w));
	if (!HrmJobAttached(w->slot, w->dboid, w->job_id, MyProcPid))
		proc_exit(0);			/* cancelled before we started */

	BackgroundWorkerInitializeConnectionByOid(t->dboid, t->login_roleid, 0);
	pgstat_report_appname(psprintf("hrm training job " INT64_FORMAT, w->job_id));
	pgstat_report_activity(STATE_RUNNING, "hrm training: starting");

	PG_TRY();
	{
		HrmUserState us;
		hrm_error	err;

		hrm_set_threads(t->threads);
		/* the caller's hrm.max_memory, and stop requests reach into the engine */
		SetConfigOption("hrm.max_memory", psprintf("%zu", t->max_memory >> 20), PGC_SUSET, PGC_S_OVERRIDE);
		hrm_set_memory_limit(t->max_memory);
		hrm_set_cancel_hook(HrmWorkerCancelHook, w);

		/* the data, and the held-out rows */
		HrmDatasetFromDesc(&t->train, w->base, &w->train);
		if (t->eval_separate)
		{
			HrmDatasetFromDesc(&t->eval, w->base, &w->eval_ds);
			w->train_rows = NULL;
			w->n_train = w->train.n;
			w->eval = &w->eval_ds;
			w->eval_rows = NULL;
			w->n_eval = w->eval_ds.n;
		}
		else
		{
			hrm_error_clear(&err);
			HrmCheck(hrm_dataset_split(&w->train, t->ro.eval_fraction, t->split_seed, &w->split, &err),
					 &err, "could not hold out rows");
			w->train_rows = w->split.train;
			w->n_train = w->split.n_train;
			w->eval = w->split.n_eval > 0 ? &w->train : NULL;
			w->eval_rows = w->split.eval;
			w->n_eval = w->split.n_eval;
		}
		w->B = t->ro.train.batch_size;
		w->p.last_checkpoint = -1;
		w->p.eta = -1;
		w->p.eval_exact_accuracy = NAN;
		w->p.eval_token_accuracy = NAN;

		HrmWorkerBegin(&us);
		HrmInsertJobRow(w);
		HrmBuildState(w);
		HrmWorkerCommit(&us);

		w->p.start_step = hrm_trainer_step(w->tr);
		w->p.step = w->p.start_step;
		w->last_ckpt_step = t->resume ? t->resume_step : -1;
		w->last_log_step = w->p.start_step;
		w->t0 = HrmMono();
		w->last_ckpt_time = w->last_log_time = w->t0;
		HrmPublish(w);
		pgstat_report_activity(STATE_RUNNING, "hrm training");

		HrmTrainLoop(w);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		HrmJobFinish(w->slot, w->dboid, w->job_id, HRM_JOB_FAILED, edata->sqlerrcode, edata->message);
		HrmRecordFailure(w, edata->message, edata->sqlerrcode);
		proc_exit(1);
	}
	PG_END_TRY();

	hrm_sampler_free(w->smp);
	hrm_trainer_free(w->tr);
	hrm_split_free(&w->split);
	dsm_detach(seg);
	proc_exit(0);
}
