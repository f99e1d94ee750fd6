/*-------------------------------------------------------------------------
 *
 * hrm_train.h
 *		In-database training: what hrm_train_sql.c (the SQL functions),
 *		hrm_jobs.c (shared-memory job slots) and hrm_worker.c (the dynamic
 *		background worker) share.
 *
 * A training job is one dynamic background worker.  The calling backend
 * reads the source into compact token arrays, sorts the rows canonically
 * (so the scan order of a table never changes a run), resolves every
 * option, and hands all of it to the worker in one DSM segment described
 * by HrmTrainTask.  The worker trains with the engine's run.h, commits
 * each checkpoint (and the model's weights as a new generation) in its own
 * transaction, and reports its progress in a shared-memory slot
 * (HrmJobSlot) that every session can read (the hrm.training view) and
 * that carries the cancel flag.
 *
 *-------------------------------------------------------------------------
 */
#ifndef HRM_TRAIN_PG_H
#define HRM_TRAIN_PG_H

#include "hrm_pg.h"

#include "datatype/timestamp.h"
#include "storage/dsm.h"

#include "run.h"

/* Job slots in shared memory (finished jobs stay visible until reused). */
#define HRM_JOB_SLOTS 16
#define HRM_JOB_ERROR_LEN 256

typedef enum HrmJobState
{
	HRM_JOB_FREE = 0,
	HRM_JOB_STARTING,			/* slot claimed, worker not yet training */
	HRM_JOB_RUNNING,
	HRM_JOB_FINISHED,
	HRM_JOB_CANCELLED,
	HRM_JOB_FAILED
} HrmJobState;

/* What the worker publishes while it trains. */
typedef struct HrmJobProgress
{
	int64		step;			/* trainer step */
	int64		start_step;		/* trainer step when this run began */
	int64		total_steps;	/* budget in steps, or an estimate; 0 = unknown */
	int64		examples;		/* examples drawn in this run */
	double		loss;			/* means over the recent steps */
	double		accuracy;		/* token accuracy */
	double		exact_accuracy; /* fraction of examples entirely right */
	double		examples_per_second;
	double		elapsed;		/* seconds of this run */
	double		eta;			/* seconds left; < 0 unknown */
	double		lr;
	double		epochs;
	double		eval_exact_accuracy;	/* last held-out evaluation; NaN = none */
	double		eval_token_accuracy;
	int64		last_checkpoint;	/* step of the last committed checkpoint; -1 none */
	TimestampTz last_checkpoint_at;
	TimestampTz updated;
} HrmJobProgress;

typedef struct HrmJobSlot
{
	HrmJobState state;
	bool		attached;		/* the worker has mapped the task segment */
	bool		cancel_requested;
	int64		job_id;
	Oid			dboid;
	Oid			roleid;			/* the role that started the job */
	char		model[NAMEDATALEN];
	int			pid;			/* worker */
	int			caller_pid;
	TimestampTz started;
	TimestampTz finished;
	HrmJobProgress p;
	int			sqlerrcode;		/* of a failed job */
	char		error[HRM_JOB_ERROR_LEN];
} HrmJobSlot;

/* ---------------------------------------------------------------------
 * The task handed to the worker (start of the DSM segment)
 * --------------------------------------------------------------------- */

#define HRM_TASK_MAGIC 0x48524d54	/* "HRMT" */

/* Token arrays of one dataset inside the segment (offsets from its start). */
typedef struct HrmDataDesc
{
	int			seq_len;
	int			vocab_size;
	int			elem_size;
	int32		max_puzzle_id;
	int64		n;
	Size		inputs_off;
	Size		labels_off;
	Size		ids_off;
} HrmDataDesc;

typedef struct HrmTrainTask
{
	uint32		magic;
	int64		job_id;
	Oid			dboid;
	Oid			login_roleid;	/* the worker connects as this role */
	Oid			roleid;			/* the role that started the job */
	char		model[NAMEDATALEN];
	Oid			owner;			/* owner of a new model (its ACL object's owner) */
	Oid			acl_lo;			/* existing model: its ACL object (the model's identity) */

	/* where the starting state comes from */
	bool		model_exists;	/* at submission */
	bool		resume;
	Oid			resume_state;	/* large object of the checkpoint resumed from */
	int64		resume_step;
	int64		run;			/* hrm.checkpoint.run of this job's checkpoints: the
								 * resumed checkpoint's, else this job's id */
	Oid			init_weights;	/* existing model (not resuming): its weights */

	/* the engine's options, resolved */
	hrm_run_opts ro;
	uint64		split_seed;
	bool		eval_separate;	/* eval rows come from eval_source */

	/* what a resume may change (options given in the resuming call) */
	bool		override_train; /* apply ro.train's learning-rate options after loading */

	/* budget (0 = none) */
	int64		steps;			/* absolute trainer step to reach */
	double		epochs;
	double		max_seconds;

	/* checkpoints and the log: every so many steps and / or seconds (0 = never) */
	int64		checkpoint_steps;
	double		checkpoint_seconds;
	int			keep;
	int64		log_steps;
	double		log_seconds;

	int64		eval_rows;		/* held-out rows evaluated at each checkpoint */
	int			threads;		/* capped by the caller's hrm.max_threads */
	Size		max_memory;		/* the caller's hrm.max_memory (bytes): the worker's limit */

	/* texts (NUL-terminated, offsets from the segment start) */
	Size		options_off;	/* the options to store (jsonb text) */
	Size		source_off;		/* the source, for hrm.job */
	Size		hyper_off;		/* every resolved knob (jsonb text) */

	HrmDataDesc train;
	HrmDataDesc eval;			/* n = 0 when eval rows are split from train */
} HrmTrainTask;

/* ---------------------------------------------------------------------
 * hrm_jobs.c
 * --------------------------------------------------------------------- */

extern int	hrm_max_training_jobs;
extern int	hrm_max_training_jobs_per_role;

/* Under shared_preload_libraries: request the slots' shared memory. */
extern void HrmJobsShmemInit(void);

/*
 * Job ids come from a sequence of each database, so a slot is always
 * addressed by (database, job id): every function below checks both.
 *
 * Claim a slot for a new job on (database, model): ERROR object_in_use if a
 * job on the model is starting or running, configuration_limit_exceeded
 * when hrm.max_training_jobs jobs run on the server or the role runs
 * hrm.max_training_jobs_per_role.  Returns the slot index.
 */
extern int	HrmJobClaim(int64 job_id, Oid dboid, Oid roleid, const char *model);

/* ERROR object_in_use if a job trains the model now (an early check). */
extern void HrmJobCheckIdle(Oid dboid, const char *model);

/* Copy a slot; false if it no longer holds job_id. */
extern bool HrmJobRead(int slot, Oid dboid, int64 job_id, HrmJobSlot *out);

/* The slot holding a job of this database; -1 if none. */
extern int	HrmJobFind(int64 job_id, Oid dboid);

/* Worker side: mark the segment mapped and the worker's pid. */
extern bool HrmJobAttached(int slot, Oid dboid, int64 job_id, int pid);

/* Worker side: publish progress (false if the slot is not ours any more). */
extern bool HrmJobPublish(int slot, Oid dboid, int64 job_id, const HrmJobProgress *p,
						  HrmJobState state);

/* Set a final state (finished, cancelled, failed with an error). */
extern void HrmJobFinish(int slot, Oid dboid, int64 job_id, HrmJobState state, int sqlerrcode,
						 const char *error);

/* Ask a job to stop; true if it was starting or running. */
extern bool HrmJobRequestCancel(int slot, Oid dboid, int64 job_id);

/* Has the job been asked to stop? */
extern bool HrmJobCancelRequested(int slot, Oid dboid, int64 job_id);

/* Live job ids of a database (palloc'd), for cleaning up stale hrm.job rows. */
extern int64 *HrmJobLiveIds(Oid dboid, int *n);

extern const char *HrmJobStateName(HrmJobState state);

/* ---------------------------------------------------------------------
 * hrm_worker.c
 * --------------------------------------------------------------------- */

/* Start the worker for a claimed slot and wait until it has mapped seg. */
extern void HrmStartWorker(int slot, int64 job_id, dsm_segment *seg);

/* The worker's entry point (bgw_function_name). */
extern PGDLLEXPORT void HrmTrainWorkerMain(Datum main_arg);

/* ---------------------------------------------------------------------
 * hrm_train_data.c
 * --------------------------------------------------------------------- */

extern int	hrm_max_training_data_mb;

/* What the data must look like (completed from the first row when unknown). */
typedef struct HrmShape
{
	bool		task_known;
	hrm_task	task;
	int			seq_len;		/* 0 = from the first row (generic) */
	int			vocab_size;		/* 0 = from the data (generic) */
} HrmShape;

/* Column names (NULL = the first, the second column; no puzzle ids). */
typedef struct HrmColumns
{
	const char *input;
	const char *target;
	const char *puzzle_id;
} HrmColumns;

/*
 * Read a source (relation name or query) into a new dataset, freed with
 * the current memory context; at most limit rows (0 = all), at most cap
 * bytes of token arrays.  label names the source in messages.
 */
extern hrm_dataset *HrmReadSource(const char *source, const char *label, const HrmColumns *cols,
								  HrmShape *shape, size_t cap, int64 limit);

/*
 * The query that reads a source (a relation name or a query), and the
 * check that a prepared source query only reads (ERROR wrong_object_type
 * otherwise); label names the source in messages.  Need executor/spi.h.
 */
extern char *HrmSourceQuery(const char *source, const char *label);
#ifdef SPI_H
extern void HrmCheckReadOnly(SPIPlanPtr plan, const char *label);
#endif

/* Bytes a dataset takes in a task segment, and the copy (canonical row order). */
extern Size HrmDataSegBytes(const hrm_dataset *ds);
extern void HrmDataToSeg(const hrm_dataset *ds, char *base, Size *off, HrmDataDesc *d);

/* The dataset view of a DataDesc inside a mapped segment (never freed). */
extern void HrmDatasetFromDesc(const HrmDataDesc *d, char *base, hrm_dataset *ds);

#endif							/* HRM_TRAIN_PG_H */
