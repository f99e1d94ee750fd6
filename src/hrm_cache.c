/*-------------------------------------------------------------------------
 *
 * hrm_cache.c
 *		Loaded models, per backend.
 *
 * hrm_cache_get(name) returns the current version of a model ready for the
 * engine: the catalog row is read on every call (one indexed SPI lookup)
 * and the copy kept here is reused while its generation and weights large
 * object match the row's.  hrm.model.generation comes from a sequence of
 * the database, so within one database (name, generation, weights) never
 * names two different sets of weights, even across drop and re-import; the
 * shared registry adds the database to the key (hrm_shmem.c), since another
 * database, or a clone made with CREATE DATABASE ... TEMPLATE, has the same
 * names, generations and OIDs for other weights.
 *
 * Each backend keeps handles for up to HRM_CACHE_SLOTS models (least
 * recently used first out).  A handle's weights normally live in the shared
 * registry of hrm_shmem.c: the first backend to use a model generation reads
 * the large object and publishes the weights once; every other backend maps
 * the same segment, reading only the small header (the configuration) to
 * build its own layout.  With hrm.shared_cache = off the handle keeps a
 * private malloc'd copy instead.
 *
 * Shared segment layout: HrmSegmentHeader, the configuration JSON, then
 * the flat parameters at data_offset (64-byte aligned).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_largeobject.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "hrm_pg.h"

#define HRM_CACHE_SLOTS 8

#define HRM_SEGMENT_MAGIC 0x48524d57	/* "HRMW" */

typedef struct HrmSegmentHeader
{
	uint32		magic;
	uint32		config_len;		/* bytes of JSON after the header, without NUL */
	uint64		n_params;
	uint64		data_offset;	/* of the parameters, from the segment start */
} HrmSegmentHeader;

/* What the fill callback copies into a new segment. */
typedef struct HrmFillArg
{
	const char *config;
	size_t		config_len;
	const float *params;
	size_t		n_params;
	size_t		data_offset;
} HrmFillArg;

static void
HrmFillSegment(void *dst, void *arg)
{
	HrmFillArg *a = (HrmFillArg *) arg;
	HrmSegmentHeader *hdr = (HrmSegmentHeader *) dst;

	hdr->magic = HRM_SEGMENT_MAGIC;
	hdr->config_len = (uint32) a->config_len;
	hdr->n_params = a->n_params;
	hdr->data_offset = a->data_offset;
	memcpy((char *) dst + sizeof(HrmSegmentHeader), a->config, a->config_len);
	memcpy((char *) dst + a->data_offset, a->params, a->n_params * sizeof(float));
}

static HrmModelHandle *cache_slots[HRM_CACHE_SLOTS];
static uint64 cache_last_used[HRM_CACHE_SLOTS];
static uint64 cache_clock = 0;

/* Free a handle and everything the engine allocated for it (tolerates a partial load). */
static void
HrmFreeHandle(void *ptr)
{
	HrmModelHandle *h = (HrmModelHandle *) ptr;

	if (h == NULL)
		return;
	hrm_model_free(&h->model);
	hrm_layout_free(&h->layout);
	if (h->seg != NULL)
		HrmShmemDetach(h->seg);
	else
		hrm_free(h->params);
	free(h->task);
	free(h);
}

/*
 * Map the shared copy of the entry's generation if one is published, and
 * bind the handle to it; false if there is none (or the cache is off).
 */
static bool
HrmAttachShared(HrmModelHandle *h, const HrmCatalogEntry *entry, const char *what, hrm_error *err)
{
	dsm_segment *seg;
	char	   *base;
	HrmSegmentHeader *hdr;
	hrm_config	cfg;

	base = HrmShmemAcquire(entry->name, entry->generation, entry->weights, 0, NULL, NULL, &seg);
	if (base == NULL)
		return false;
	h->seg = seg;
	hdr = (HrmSegmentHeader *) base;
	if (hdr->magic != HRM_SEGMENT_MAGIC)
		elog(ERROR, "shared segment of model \"%s\" is corrupted", entry->name);
	HrmCheck(hrm_config_from_json(base + sizeof(HrmSegmentHeader), hdr->config_len, &cfg, err), err, what);
	HrmCheck(hrm_layout_init(&h->layout, &cfg, err), err, what);
	if (h->layout.n_params != hdr->n_params)
		elog(ERROR, "shared segment of model \"%s\" does not match its configuration", entry->name);
	h->params = (float *) (base + hdr->data_offset);
	h->bytes = h->layout.n_params * sizeof(float);
	h->shared = true;
	HrmCheck(hrm_model_init(&h->model, &h->layout, h->params, err), err, what);
	return true;
}

/*
 * Publish the handle's private weights in shared memory and switch the
 * handle over to the shared copy (no-op when the shared cache is off).
 */
static void
HrmPublishShared(HrmModelHandle *h, const HrmCatalogEntry *entry)
{
	HrmFillArg	arg;
	char	   *config = hrm_config_to_json(&h->layout.cfg);
	char	   *base;
	dsm_segment *seg;
	Size		total;

	if (config == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	arg.config = config;
	arg.config_len = strlen(config);
	arg.params = h->params;
	arg.n_params = h->layout.n_params;
	arg.data_offset = TYPEALIGN(64, sizeof(HrmSegmentHeader) + arg.config_len);
	total = arg.data_offset + arg.n_params * sizeof(float);
	PG_TRY();
	{
		base = HrmShmemAcquire(entry->name, entry->generation, entry->weights, total, HrmFillSegment,
							   &arg, &seg);
	}
	PG_FINALLY();
	{
		free(config);
	}
	PG_END_TRY();
	if (base == NULL)
		return;
	hrm_free(h->params);
	h->seg = seg;
	h->params = (float *) (base + ((HrmSegmentHeader *) base)->data_offset);
	h->shared = true;
}

/*
 * Load a model from its large object.  Everything allocated on the way is
 * tracked in a scratch context, so an ERROR leaves no trace.
 */
static HrmModelHandle *
HrmLoadHandle(const HrmCatalogEntry *entry)
{
	MemoryContext scratch;
	MemoryContext oldcxt;
	char	   *what;
	HrmResource *hres;
	HrmModelHandle *h;
	hrm_safetensors *st;
	hrm_config	cfg;
	void	   *buf;
	size_t		len;
	hrm_error	err;

	scratch = AllocSetContextCreate(CurrentMemoryContext, "hrm model load",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(scratch);
	what = psprintf("could not load model \"%s\"", entry->name);
	hrm_error_clear(&err);

	hres = HrmTrack(NULL, HrmFreeHandle);
	h = (HrmModelHandle *) calloc(1, sizeof(HrmModelHandle));
	if (h == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	HrmAdopt(hres, h);
	strlcpy(h->name, entry->name, sizeof(h->name));
	h->generation = entry->generation;
	h->weights = entry->weights;
	if (entry->task != NULL)
	{
		h->task = strdup(entry->task);
		if (h->task == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
	}

	/* published by another backend already: map it, read nothing else */
	if (HrmAttachShared(h, entry, what, &err))
	{
		HrmDisown(hres);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(scratch);
		return h;
	}

	if (!LargeObjectExists(entry->weights))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" are missing", entry->name),
				 errdetail("Large object %u does not exist.", entry->weights),
				 errhint("Restore the database's large objects (pg_dump without --no-blobs), or drop the model and import it again.")));
	buf = HrmLoRead(entry->weights, &len);

	st = palloc0(sizeof(hrm_safetensors));
	HrmTrack(st, HrmFreeSafetensors);
	HrmCheck(hrm_st_parse((const uint8_t *) buf, len, st, &err), &err, what);
	HrmCheck(hrm_config_from_safetensors(st, &cfg, &err), &err, what);
	HrmCheck(hrm_layout_init(&h->layout, &cfg, &err), &err, what);

	h->params = hrm_alloc(h->layout.n_params, sizeof(float));
	if (h->params == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: out of memory", what),
				 errdetail("The model has %zu parameters.", h->layout.n_params)));
	h->bytes = h->layout.n_params * sizeof(float);
	HrmCheck(hrm_load_params(&h->layout, st, h->params, &err), &err, what);
	HrmPublishShared(h, entry);
	HrmCheck(hrm_model_init(&h->model, &h->layout, h->params, &err), &err, what);

	/* success: the handle outlives the scratch context */
	HrmDisown(hres);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(scratch);
	return h;
}

HrmModelHandle *
hrm_cache_get(const char *name)
{
	HrmCatalogEntry entry;
	int			i;
	int			victim = 0;

	/* loading sizes tables from the configuration: the limits apply */
	HrmEngineBegin();
	if (!HrmCatalogLookup(name, false, &entry))
	{
		hrm_cache_forget(name);
		HrmUnknownModel(name);
	}

	for (i = 0; i < HRM_CACHE_SLOTS; i++)
	{
		HrmModelHandle *h = cache_slots[i];

		if (h != NULL && strcmp(h->name, name) == 0)
		{
			/* current generation, held the way hrm.shared_cache asks */
			if (h->generation == entry.generation && h->weights == entry.weights &&
				h->shared == hrm_shared_cache)
			{
				cache_last_used[i] = ++cache_clock;
				return h;
			}
			/* stale: a newer version was published */
			HrmFreeHandle(h);
			cache_slots[i] = NULL;
		}
	}

	/* a free slot, else the least recently used one */
	for (i = 0; i < HRM_CACHE_SLOTS; i++)
	{
		if (cache_slots[i] == NULL)
		{
			victim = i;
			break;
		}
		if (cache_last_used[i] < cache_last_used[victim])
			victim = i;
	}
	if (cache_slots[victim] != NULL)
	{
		HrmFreeHandle(cache_slots[victim]);
		cache_slots[victim] = NULL;
	}

	cache_slots[victim] = HrmLoadHandle(&entry);
	cache_last_used[victim] = ++cache_clock;
	return cache_slots[victim];
}

void
hrm_cache_forget(const char *name)
{
	int			i;

	HrmShmemForget(name);

	for (i = 0; i < HRM_CACHE_SLOTS; i++)
	{
		if (cache_slots[i] != NULL && (name == NULL || strcmp(cache_slots[i]->name, name) == 0))
		{
			HrmFreeHandle(cache_slots[i]);
			cache_slots[i] = NULL;
		}
	}
}

/*
 * Rows of hrm_cache_info() for models this backend holds privately (shared
 * cache off): mode "backend".
 */
void
HrmCachePrivateRows(ReturnSetInfo *rsinfo)
{
	for (int i = 0; i < HRM_CACHE_SLOTS; i++)
	{
		HrmModelHandle *h = cache_slots[i];
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, true, true, false};
		char	   *dbname = get_database_name(MyDatabaseId);
		Name		db = (Name) palloc0(NAMEDATALEN);

		if (h == NULL || h->shared)
			continue;
		values[0] = CStringGetTextDatum(h->name);
		values[1] = Int64GetDatum(h->generation);
		values[2] = Int64GetDatum((int64) h->bytes);
		values[3] = CStringGetTextDatum("backend");
		values[4] = BoolGetDatum(true);
		values[5] = (Datum) 0;
		values[6] = (Datum) 0;
		namestrcpy(db, dbname ? dbname : "");
		values[7] = NameGetDatum(db);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}
