/*-------------------------------------------------------------------------
 *
 * hrm_cache.c
 *		Loaded models, per backend.
 *
 * hrm_cache_get(name) returns the current version of a model ready for the
 * engine: the catalog row is read on every call (one indexed SPI lookup)
 * and the copy kept here is reused while its generation matches the row's.
 * hrm.model.generation comes from a sequence, so (name, generation) never
 * names two different sets of weights, even across drop and re-import.
 *
 * This is the per-backend implementation: each backend keeps up to
 * HRM_CACHE_SLOTS models in malloc'd memory, least recently used first out.
 * The shared-memory implementation replaces this file behind the same API
 * (hrm_cache_get / hrm_cache_forget in hrm_pg.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_largeobject.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "hrm_pg.h"

#define HRM_CACHE_SLOTS 8

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
	hrm_free(h->params);
	free(h->task);
	free(h);
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
	if (entry->task != NULL)
	{
		h->task = strdup(entry->task);
		if (h->task == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
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
			if (h->generation == entry.generation)
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

	for (i = 0; i < HRM_CACHE_SLOTS; i++)
	{
		if (cache_slots[i] != NULL && strcmp(cache_slots[i]->name, name) == 0)
		{
			HrmFreeHandle(cache_slots[i]);
			cache_slots[i] = NULL;
		}
	}
}
