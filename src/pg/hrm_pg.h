/*-------------------------------------------------------------------------
 *
 * hrm_pg.h
 *		Declarations shared by the PostgreSQL glue files.
 *
 * The glue is thin: it parses SQL values, finds the model, calls the engine
 * (src/core, no PostgreSQL headers) and turns engine errors into
 * ereport(ERROR) with a specific SQLSTATE.  Engine memory is malloc'd; every
 * engine object the glue creates is tracked by a memory-context callback
 * (HrmTrack) so that an ERROR anywhere frees it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef HRM_PG_H
#define HRM_PG_H

#include "postgres.h"

#include "fmgr.h"

#include "hrm_common.h"
#include "config.h"
#include "forward.h"
#include "model.h"
#include "safetensors.h"

/* Longest model name (bytes); names are also keys of the shared cache. */
#define HRM_MAX_NAME_LEN (NAMEDATALEN - 1)

/* ---------------------------------------------------------------------
 * hrm.c: GUCs, engine error mapping, engine resources
 * --------------------------------------------------------------------- */

/* hrm_settings.c: the common settings (defined first by _PG_init) */
extern void HrmSettingsInit(void);
extern int	hrm_threads;
extern int	hrm_max_threads;
extern int	hrm_precision_guc;	/* hrm.precision: an hrm_precision (forward.h) */
extern int	hrm_max_memory_mb;
extern char *hrm_default_model;	/* hrm.default_model ("" when unset) */

/* Default of hrm.max_memory (MB). */
#define HRM_DEFAULT_MAX_MEMORY_MB 4096

/*
 * Before engine work: apply hrm.threads (capped by hrm.max_threads) to the
 * engine's pool and BLAS, hrm.max_memory to the engine's memory limit, and
 * install the hook that lets the engine stop on a pending interrupt.
 */
extern void HrmEngineBegin(void);

/* A thread count capped by hrm.max_threads (at least 1). */
extern int	HrmEffectiveThreads(int requested);

/* hrm.max_memory in bytes. */
extern size_t HrmMaxMemoryBytes(void);

/* SQLSTATE for an engine status. */
extern int	HrmStatusSqlstate(hrm_status st);

/*
 * Raise the engine error err (status st) as an ERROR: errmsg is
 * "<what>: <status phrase>", errdetail the engine's message, errhint what to
 * fix.
 */
extern void HrmThrow(hrm_status st, const hrm_error *err, const char *what) pg_attribute_noreturn();

/* Raise on any status but HRM_OK. */
#define HrmCheck(st, err, what) \
	do { \
		hrm_status	hrm_st_ = (st); \
		if (hrm_st_ != HRM_OK) \
			HrmThrow(hrm_st_, (err), (what)); \
	} while (0)

/*
 * An engine object (or malloc'd buffer) whose free function runs when the
 * memory context it was tracked in is reset or deleted, including on ERROR;
 * HrmRelease frees it earlier, HrmDisown hands it over to the caller.
 */
typedef void (*HrmFreeFn) (void *ptr);
typedef struct HrmResource HrmResource;

extern HrmResource *HrmTrack(void *ptr, HrmFreeFn fn);
extern void HrmAdopt(HrmResource *res, void *ptr);
extern void HrmRelease(HrmResource *res);
extern void HrmDisown(HrmResource *res);

/* Free functions for the engine types, usable with HrmTrack. */
extern void HrmFreeSafetensors(void *st);	/* hrm_safetensors * (palloc'd struct) */
extern void HrmFreeLayout(void *lay);	/* hrm_layout * (palloc'd struct) */
extern void HrmFreeModel(void *m);	/* hrm_model * (palloc'd struct) */
extern void HrmFreeCarry(void *c);	/* hrm_carry * (palloc'd struct) */
extern void HrmFreeWorkspace(void *ws); /* hrm_workspace * */
extern void HrmFreeMalloc(void *p); /* hrm_alloc'd / engine-malloc'd buffer */

/* ---------------------------------------------------------------------
 * hrm_lo.c: large objects (be_lo_* + bare lo_read/lo_write)
 * --------------------------------------------------------------------- */

/* Run catalog and large-object work as the owner of the hrm catalog. */
typedef struct HrmUserState
{
	Oid			saved_userid;
	int			saved_sec_context;
} HrmUserState;

extern Oid	HrmCatalogOwner(void);
extern void HrmBecomeCatalogOwner(HrmUserState *state);
extern void HrmRestoreUser(const HrmUserState *state);

/* Write len bytes into a new large object; returns its OID. */
extern Oid	HrmLoWrite(const void *data, size_t len);

/*
 * A new empty large object owned by role owner: a model's ACL object
 * (hrm.model.acl_lo), whose owner and ACL are the model's owner and grants,
 * so that PostgreSQL records them in pg_shdepend.
 */
extern Oid	HrmLoCreateAcl(Oid owner);

/* Read a whole large object into a palloc'd (huge) buffer. */
extern void *HrmLoRead(Oid loid, size_t *len);

/*
 * Unlink a large object (no error if it no longer exists).  No permission
 * check: callers are the catalog's triggers, which only the catalog owner
 * and superusers can fire.
 */
extern void HrmLoUnlink(Oid loid);

/* ---------------------------------------------------------------------
 * hrm_catalog.c: the hrm.model catalog
 * --------------------------------------------------------------------- */

typedef struct HrmCatalogEntry
{
	char		name[NAMEDATALEN];
	Oid			weights;		/* large object */
	int64		generation;
	Oid			acl_lo;			/* the ACL object: its owner and grants are the model's */
	Oid			ownerid;		/* owner of acl_lo; InvalidOid if acl_lo is gone */
	char		owner[NAMEDATALEN]; /* its name, for messages */
	char	   *task;			/* palloc'd; NULL for generic token models */
	char	   *arch;			/* palloc'd */
} HrmCatalogEntry;

/*
 * Look a model up in hrm.model; false if absent.  With for_update the row is
 * locked until the end of the transaction.
 */
extern bool HrmCatalogLookup(const char *name, bool for_update, HrmCatalogEntry *entry);
extern bool HrmCheckpointHasRun(void);

/* A training job's checkpoint, as the catalog stores it (HrmCatalogStoreCheckpoint). */
typedef struct HrmCheckpointRow
{
	const char *model;
	const char *arch;
	const char *task;			/* NULL: generic */
	const char *config;			/* JSON */
	const char *hyperparameters;	/* JSON */
	const char *metrics;		/* JSON */
	Oid			weights_lo;
	int64		weights_bytes;
	int64		n_params;
	bool		exists;			/* the model's row exists (else it is created) */
	Oid			owner;			/* a new row's owner */
	Oid			acl_lo;			/* an existing row's ACL object */
	int64		run;
	int64		step;
	Oid			state_lo;
	int64		state_bytes;
	bool		clear_old;		/* a fresh run's first checkpoint */
	int			keep;			/* checkpoints kept per run (0: all) */
} HrmCheckpointRow;
extern Oid	HrmCatalogStoreCheckpoint(const HrmCheckpointRow *r);
extern int64 HrmCatalogPublishCheckpoint(const char *model, int64 run, int64 step, const char *arch,
										 const char *config, Oid weights_lo, int64 weights_bytes,
										 int64 n_params, const char *fallback_hyper);
/*
 * Models' weights cached elsewhere (the cache, hrm_cache.c) are forgotten
 * when the catalog replaces, renames or drops a model: the cache registers
 * its forget function at load (HrmCacheInit), so the catalog calls no
 * module above it.  NULL name: every model of the database.
 */
typedef void (*HrmForgetHook) (const char *name);
extern void HrmCatalogSetForgetHook(HrmForgetHook hook);
extern void HrmCatalogForget(const char *name);

/* hrm_spi.c — the SPI helpers of every glue module: connect, and execute with arguments (ERROR on failure). */
extern void HrmSpiConnect(void);
extern int	HrmSpiExec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
					   bool read_only, long limit);

/* ERROR (undefined_object) for an unknown model name. */
extern void HrmUnknownModel(const char *name) pg_attribute_noreturn();

/*
 * Strings of a safetensors file (tensor names, metadata keys and values) are
 * UTF-8 by the format: ERROR character_not_in_repertoire if one is not, so
 * that no invalid byte sequence reaches a text or jsonb value.
 */
extern void HrmCheckFileStrings(const hrm_safetensors *st, const char *what);

/* A checked string of a safetensors file in the server encoding. */
extern char *HrmFileText(const char *s);

/* Check that a text is an acceptable model name (ERROR invalid_name). */
extern void HrmCheckModelName(const char *name);

/*
 * ERROR read_only_sql_transaction (25006) on a hot standby, where the
 * catalog, the weights and the jobs are replayed from the primary: func is
 * the SQL function that would write.
 */
extern void HrmPreventDuringRecovery(const char *func);

/*
 * ERROR insufficient_privilege unless the current role may change a model
 * whose ACL object acl_lo is owned by ownerid (a member of the owner, or a
 * superuser); action says what for ("replace it", "train it").
 */
extern void HrmCheckOwnerOf(const char *name, Oid ownerid, Oid acl_lo, const char *action);

/*
 * Serialise writers of one model name in this database (a transaction-level
 * lock): concurrent imports, renames and first training checkpoints of a
 * new name run one after the other instead of failing on the primary key.
 */
extern void HrmLockModelName(const char *name);

/* ---------------------------------------------------------------------
 * hrm_cache.c: loaded models (per backend for now; shared memory later)
 * --------------------------------------------------------------------- */

typedef struct HrmModelHandle
{
	char		name[NAMEDATALEN];
	int64		generation;		/* hrm.model.generation this copy was loaded from */
	Oid			weights;		/* and its weights large object */
	char	   *task;			/* NULL for generic token models */
	size_t		bytes;			/* parameter bytes, with the packed weights the model uses */
	size_t		private_pack_bytes; /* of those, packed in this backend (not shared) */
	hrm_layout	layout;
	hrm_model	model;			/* bound to layout and params */
	float	   *params;			/* layout.n_params floats (in seg when shared) */
	bool		shared;			/* params live in a shared segment */
	struct dsm_segment *seg;	/* this backend's mapping of it */
} HrmModelHandle;

/* Models a backend keeps loaded (least recently used goes first). */
#define HRM_CACHE_SLOTS 8

/*
 * The current version of a model, loaded if needed.  ERROR (undefined_object)
 * if there is no such model.  The handle stays valid until the model is
 * forgotten (hrm_cache_forget) or HRM_CACHE_SLOTS other models have been
 * fetched since: a call may hold up to HRM_CACHE_SLOTS handles at once.
 */
extern HrmModelHandle *hrm_cache_get(const char *name);

/*
 * Ensembles (hrm_solve's ensemble argument, hrm_evaluate's option): the
 * further models one call may use besides its model, all held at once.
 */
#define HRM_SOLVE_ENSEMBLE_MAX (HRM_CACHE_SLOTS - 1)

/*
 * The further models of an ensemble of h (names, n of them; hrm_solve.c):
 * checked and fetched from the cache; returns n.
 */
extern int	HrmEnsembleResolve(HrmModelHandle *h, char **names, int n, HrmModelHandle **members);

/* Drop this backend's copy of a model, and the shared one (after drop / replace / rename; NULL: all). */
extern void hrm_cache_forget(const char *name);

/* Registers hrm_cache_forget with the catalog (called from _PG_init). */
extern void HrmCacheInit(void);

/* ---------------------------------------------------------------------
 * hrm_shmem.c: one copy of each model's weights per cluster
 * --------------------------------------------------------------------- */

extern int	hrm_shared_memory_limit_mb;
extern bool hrm_shared_cache;

/* GUCs and, under shared_preload_libraries, the shared memory hooks. */
extern void HrmShmemInit(void);

/* Rows of hrm_cache_info() for the shared registry (the caller materialised rsinfo). */
struct ReturnSetInfo;
extern void HrmShmemCacheRows(struct ReturnSetInfo *rsinfo);

/* "preload", "dynamic" or "backend". */
extern const char *HrmShmemMode(void);

/*
 * Map the shared copy of model name of this database (MyDatabaseId) at
 * (generation, weights large object); if it is not published and fill is
 * given, create a segment of `bytes`, fill it and publish it.  NULL when
 * the shared cache is off, or (fill NULL) when nothing is published.
 */
extern void *HrmShmemAcquire(const char *name, int64 generation, Oid weights, Size bytes,
							 void (*fill) (void *dst, void *arg), void *arg,
							 struct dsm_segment **seg_out);
extern void HrmShmemDetach(struct dsm_segment *seg);

/* Unpublish every generation of a model of this database (NULL: every model). */
extern void HrmShmemForget(const char *name);

/* ---------------------------------------------------------------------
 * hrm_train_sql.c, hrm_jobs.c, hrm_worker.c: training (private: hrm_train.h)
 * --------------------------------------------------------------------- */

/* GUCs (hrm.max_training_data, hrm.max_training_jobs, hrm.max_training_jobs_per_role) and the job slots. */
extern void HrmTrainInit(void);

/* hrm_solve.c: GUCs of hrm_solve (hrm.default_max_steps, hrm.default_halt) */
extern void HrmSolveInit(void);

/* ---------------------------------------------------------------------
 * hrm_progress.c: progress of hrm_evaluate and hrm_solve_batch (NOTICE
 * lines every hrm.progress_interval, a row of the hrm.progress view)
 * --------------------------------------------------------------------- */

extern double hrm_progress_interval;

/* The GUC hrm.progress_interval and, under preload, the shared memory hooks. */
extern void HrmProgressInit(void);

typedef struct HrmProgress HrmProgress;

/*
 * A call begins (function, model, phase, the unit it counts, its total or
 * -1); its row goes away at HrmProgressEnd or when CurrentMemoryContext is
 * reset (an ERROR).
 */
extern HrmProgress *HrmProgressBegin(const char *function, const char *model, const char *phase,
									 const char *unit, int64 total);
extern void HrmProgressPhase(HrmProgress *p, const char *phase, int64 total);
/* done units finished, more follow: publish, and NOTICE at the interval. */
extern void HrmProgressTick(HrmProgress *p, int64 done);
/* Publish only. */
extern void HrmProgressUpdate(HrmProgress *p, int64 done);
/* An engine progress callback (hrm_progress_cb) over an HrmProgress. */
extern int	HrmProgressEngineCb(void *arg, int64_t done, int64_t total);
/* After the engine returned: raise an error its callback caught. */
extern void HrmProgressRethrow(HrmProgress *p);
extern void HrmProgressEnd(HrmProgress *p);

#endif							/* HRM_PG_H */
