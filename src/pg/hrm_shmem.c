/*-------------------------------------------------------------------------
 *
 * hrm_shmem.c
 *		One copy of each model's weights per cluster, in dynamic shared
 *		memory, attached by every backend that uses the model.
 *
 * A small registry struct in the main shared memory segment maps (database,
 * model name, generation, weights large object) to a pinned DSM segment
 * holding that version's flat float32 parameter buffer.  Model names,
 * generations (a sequence of each database) and large object OIDs are all
 * per database, and a database cloned with CREATE DATABASE ... TEMPLATE
 * starts with its source's names, generations and OIDs: only the database
 * OID tells two databases' models apart, so it is part of every key, and a
 * backend only ever finds, evicts or forgets the models of its own
 * database.  Slots of databases that no longer exist are released at the
 * next publication.  With shared_preload_libraries = 'hrm' the
 * registry is requested through shmem_request_hook ("preload" mode);
 * without preload it is carved out of the main segment's spare space the
 * first time a backend needs it ("dynamic" mode), the way pgvector finds
 * its lock tranche.  Either way the weights themselves live in DSM
 * segments, so the registry stays a few kilobytes.
 *
 * Publishing a new generation of a model unpins the old segment: backends
 * still mapping it keep it alive until they detach, which they do on their
 * next call when they see the new generation.  The registry's LWLock
 * protects the slots; the segments are read-only once published.
 *
 * hrm.shared_memory_limit caps the bytes of all published segments; an old
 * model is evicted (least recently published first) to make room, and a
 * model larger than the cap is an error that says which setting to raise.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "hrm_pg.h"

#define HRM_SHMEM_SLOTS 32

typedef struct HrmSharedSlot
{
	bool		in_use;
	Oid			dboid;			/* the model's database */
	char		name[NAMEDATALEN];
	int64		generation;
	Oid			weights;		/* hrm.model.weights of this generation */
	dsm_handle	handle;
	Size		bytes;
	TimestampTz published;
	uint64		uses;			/* attaches since publication (approximate) */
} HrmSharedSlot;

typedef struct HrmSharedState
{
	int			tranche_id;
	LWLock		lock;
	bool		preloaded;
	Size		total_bytes;
	HrmSharedSlot slots[HRM_SHMEM_SLOTS];
} HrmSharedState;

/* GUCs */
int			hrm_shared_memory_limit_mb = 1024;
bool		hrm_shared_cache = true;

static HrmSharedState *hrm_shared = NULL;
static bool hrm_preload_mode = false;
static bool tranche_registered = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Find or create the registry struct (caller holds AddinShmemInitLock). */
static void
HrmSharedInitLocked(bool preloaded)
{
	bool		found;

	hrm_shared = ShmemInitStruct("hrm shared models", sizeof(HrmSharedState), &found);
	if (!found)
	{
		memset(hrm_shared, 0, sizeof(HrmSharedState));
		hrm_shared->tranche_id = LWLockNewTrancheId();
		LWLockInitialize(&hrm_shared->lock, hrm_shared->tranche_id);
		hrm_shared->preloaded = preloaded;
	}
}

static void
hrm_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(HrmSharedState)));
}

static void
hrm_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	HrmSharedInitLocked(true);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Called from _PG_init: GUCs, and the shared memory hooks when loaded
 * through shared_preload_libraries.
 */
void
HrmShmemInit(void)
{
	DefineCustomIntVariable("hrm.shared_memory_limit",
							"Caps the shared memory that hrm uses for model weights.",
							"Megabytes over all models; older models are evicted to make room, and a model larger than the limit is an error.",
							&hrm_shared_memory_limit_mb,
							1024, 1, INT_MAX / 2,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("hrm.shared_cache",
							 "Shares model weights between backends through shared memory.",
							 "When off, each backend keeps its own copy of the models it uses.",
							 &hrm_shared_cache,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	if (process_shared_preload_libraries_in_progress)
	{
		hrm_preload_mode = true;
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = hrm_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = hrm_shmem_startup;
	}
}

/* The registry, created on first use without preload. */
static HrmSharedState *
HrmShared(void)
{
	if (hrm_shared == NULL)
	{
		LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
		HrmSharedInitLocked(false);
		LWLockRelease(AddinShmemInitLock);
	}
	if (!tranche_registered)
	{
		LWLockRegisterTranche(hrm_shared->tranche_id, "hrm");
		tranche_registered = true;
	}
	return hrm_shared;
}

/* "preload", "dynamic" or "backend" (shared cache off). */
const char *
HrmShmemMode(void)
{
	if (!hrm_shared_cache)
		return "backend";
	if (hrm_preload_mode || (hrm_shared != NULL && hrm_shared->preloaded))
		return "preload";
	return "dynamic";
}

/* Unpublish slot i (exclusive lock held): the segment goes once nobody maps it. */
static void
HrmSlotRelease(HrmSharedState *s, int i)
{
	HrmSharedSlot *slot = &s->slots[i];

	if (!slot->in_use)
		return;
	dsm_unpin_segment(slot->handle);
	s->total_bytes -= slot->bytes;
	slot->in_use = false;
}

/* Is slot a model of this database named name? */
static inline bool
HrmSlotOfModel(const HrmSharedSlot *slot, const char *name)
{
	return slot->in_use && slot->dboid == MyDatabaseId && strcmp(slot->name, name) == 0;
}

/* Slot of (this database, name, generation, weights), or -1 (lock held). */
static int
HrmSlotFind(HrmSharedState *s, const char *name, int64 generation, Oid weights)
{
	for (int i = 0; i < HRM_SHMEM_SLOTS; i++)
		if (HrmSlotOfModel(&s->slots[i], name) && s->slots[i].generation == generation &&
			s->slots[i].weights == weights)
			return i;
	return -1;
}

/*
 * Release the slots of databases that were dropped (nobody can use them
 * again).  The catalog lookups run before the exclusive lock is taken.
 */
static void
HrmReleaseDroppedDatabases(HrmSharedState *s)
{
	Oid			dbs[HRM_SHMEM_SLOTS];
	bool		gone[HRM_SHMEM_SLOTS];
	bool		any = false;
	int			i;

	LWLockAcquire(&s->lock, LW_SHARED);
	for (i = 0; i < HRM_SHMEM_SLOTS; i++)
		dbs[i] = s->slots[i].in_use ? s->slots[i].dboid : InvalidOid;
	LWLockRelease(&s->lock);
	for (i = 0; i < HRM_SHMEM_SLOTS; i++)
	{
		gone[i] = OidIsValid(dbs[i]) && dbs[i] != MyDatabaseId &&
			!SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dbs[i]));
		any |= gone[i];
	}
	if (!any)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (i = 0; i < HRM_SHMEM_SLOTS; i++)
		if (gone[i] && s->slots[i].in_use && s->slots[i].dboid == dbs[i])
			HrmSlotRelease(s, i);
	LWLockRelease(&s->lock);
}

/* Map a published segment into this backend for good. */
static dsm_segment *
HrmMapSegment(dsm_handle handle)
{
	dsm_segment *seg = dsm_find_mapping(handle);

	if (seg == NULL)
	{
		seg = dsm_attach(handle);
		if (seg != NULL)
			dsm_pin_mapping(seg);
	}
	return seg;
}

/*
 * The shared copy of (this database, name, generation, weights) mapped into
 * this backend: attach it if published, else create it with fill(dst, arg)
 * writing `bytes` bytes and publish it.  Returns NULL when the shared cache
 * is off (the caller keeps a private copy).  *seg_out receives the mapping
 * (detach with HrmShmemDetach).
 */
void *
HrmShmemAcquire(const char *name, int64 generation, Oid weights, Size bytes,
				void (*fill) (void *dst, void *arg), void *arg, dsm_segment **seg_out)
{
	HrmSharedState *s;
	dsm_segment *seg = NULL;
	dsm_segment *mine;
	Size		limit = (Size) hrm_shared_memory_limit_mb * 1024 * 1024;
	int			i;

	*seg_out = NULL;
	if (!hrm_shared_cache)
		return NULL;
	s = HrmShared();

	/* published already? */
	LWLockAcquire(&s->lock, LW_SHARED);
	i = HrmSlotFind(s, name, generation, weights);
	if (i >= 0)
	{
		seg = HrmMapSegment(s->slots[i].handle);
		s->slots[i].uses++;		/* a statistic: a lost update is harmless */
	}
	LWLockRelease(&s->lock);
	if (seg != NULL)
	{
		*seg_out = seg;
		return dsm_segment_address(seg);
	}

	if (fill == NULL)
		return NULL;			/* lookup only */

	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" needs %zu MB of shared memory, more than hrm.shared_memory_limit (%d MB)",
						name, (bytes + 1024 * 1024 - 1) / (1024 * 1024), hrm_shared_memory_limit_mb),
				 errhint("Raise hrm.shared_memory_limit, or set hrm.shared_cache = off to keep a copy per backend.")));

	/* build the new segment outside the lock */
	mine = dsm_create(bytes, DSM_CREATE_NULL_IF_MAXSEGMENTS);
	if (mine == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not create a shared memory segment of %zu MB for model \"%s\"",
						bytes / (1024 * 1024), name),
				 errhint("Too many dynamic shared memory segments are in use; set hrm.shared_cache = off or raise max_connections.")));
	fill(dsm_segment_address(mine), arg);
	HrmReleaseDroppedDatabases(s);

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	i = HrmSlotFind(s, name, generation, weights);
	if (i >= 0)
	{
		/* another backend published it meanwhile: use theirs */
		seg = HrmMapSegment(s->slots[i].handle);
		LWLockRelease(&s->lock);
		dsm_detach(mine);
		if (seg == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("shared copy of model \"%s\" vanished while attaching", name),
					 errhint("Retry the statement.")));
		*seg_out = seg;
		return dsm_segment_address(seg);
	}
	/* older generations of this model (of this database) go */
	for (i = 0; i < HRM_SHMEM_SLOTS; i++)
		if (HrmSlotOfModel(&s->slots[i], name))
			HrmSlotRelease(s, i);
	/* make room: evict the oldest publications first */
	while (s->total_bytes + bytes > limit)
	{
		int			oldest = -1;

		for (i = 0; i < HRM_SHMEM_SLOTS; i++)
			if (s->slots[i].in_use &&
				(oldest < 0 || s->slots[i].published < s->slots[oldest].published))
				oldest = i;
		if (oldest < 0)
			break;
		HrmSlotRelease(s, oldest);
	}
	/* a free slot (evict the oldest if the table is full) */
	for (i = 0; i < HRM_SHMEM_SLOTS; i++)
		if (!s->slots[i].in_use)
			break;
	if (i == HRM_SHMEM_SLOTS)
	{
		int			oldest = 0;

		for (int k = 1; k < HRM_SHMEM_SLOTS; k++)
			if (s->slots[k].published < s->slots[oldest].published)
				oldest = k;
		HrmSlotRelease(s, oldest);
		i = oldest;
	}
	dsm_pin_segment(mine);
	dsm_pin_mapping(mine);
	s->slots[i].in_use = true;
	s->slots[i].dboid = MyDatabaseId;
	strlcpy(s->slots[i].name, name, NAMEDATALEN);
	s->slots[i].generation = generation;
	s->slots[i].weights = weights;
	s->slots[i].handle = dsm_segment_handle(mine);
	s->slots[i].bytes = bytes;
	s->slots[i].published = GetCurrentTimestamp();
	s->slots[i].uses = 1;
	s->total_bytes += bytes;
	LWLockRelease(&s->lock);

	*seg_out = mine;
	return dsm_segment_address(mine);
}

/* Drop this backend's mapping of a segment. */
void
HrmShmemDetach(dsm_segment *seg)
{
	if (seg != NULL)
		dsm_detach(seg);
}

/*
 * Unpublish every generation of a model of this database (after drop,
 * rename or replace); name NULL: every model of this database.
 */
void
HrmShmemForget(const char *name)
{
	HrmSharedState *s;

	if (hrm_shared == NULL && !hrm_preload_mode)
		return;					/* nothing was ever published from here */
	s = HrmShared();
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < HRM_SHMEM_SLOTS; i++)
		if (name == NULL ? (s->slots[i].in_use && s->slots[i].dboid == MyDatabaseId) :
			HrmSlotOfModel(&s->slots[i], name))
			HrmSlotRelease(s, i);
	LWLockRelease(&s->lock);
}

/*
 * The shared registry's rows of hrm_cache_info() (hrm_cache.c).  Models of
 * other databases (their names) are shown only to superusers and
 * pg_read_all_stats.
 */
void
HrmShmemCacheRows(ReturnSetInfo *rsinfo)
{
	HrmSharedState *s;
	HrmSharedSlot copy[HRM_SHMEM_SLOTS];
	bool		all_databases = superuser() ||
		has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	s = HrmShared();
	LWLockAcquire(&s->lock, LW_SHARED);
	memcpy(copy, s->slots, sizeof(copy));
	LWLockRelease(&s->lock);
	for (int i = 0; i < HRM_SHMEM_SLOTS; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {false};
		char	   *dbname;

		if (!copy[i].in_use || (copy[i].dboid != MyDatabaseId && !all_databases))
			continue;
		values[0] = CStringGetTextDatum(copy[i].name);
		values[1] = Int64GetDatum(copy[i].generation);
		values[2] = Int64GetDatum((int64) copy[i].bytes);
		values[3] = CStringGetTextDatum(s->preloaded ? "preload" : "dynamic");
		values[4] = BoolGetDatum(dsm_find_mapping(copy[i].handle) != NULL);
		values[5] = TimestampTzGetDatum(copy[i].published);
		values[6] = Int64GetDatum((int64) copy[i].uses);
		dbname = get_database_name(copy[i].dboid);
		if (dbname != NULL)
		{
			Name		n = (Name) palloc0(NAMEDATALEN);

			namestrcpy(n, dbname);
			values[7] = NameGetDatum(n);
		}
		else
			nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* hrm_cache_mode() → text */
PG_FUNCTION_INFO_V1(hrm_cache_mode);
Datum
hrm_cache_mode(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(HrmShmemMode()));
}
