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
 * Shared segment layout: HrmSegmentHeader, the configuration JSON, the flat
 * parameters at data_offset (64-byte aligned), then, where the engine's
 * packed kernels run, the block weights packed for them at pack_offset
 * (hrm_model_pack_bind; about as large again as the block weights): the
 * backend that publishes the segment packs them once, every backend then
 * computes from that one copy.  A backend whose kernels cannot use them
 * (no AVX-512) ignores them; one that finds none packs a private copy.
 * hrm.precision = bf16 adds bfloat16 packs private to the backend (half
 * the block weights' size), made the first time a call asks for them.
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

#include "cpu.h"
#include "gemm.h"

#define HRM_SEGMENT_MAGIC 0x48524d58	/* "HRMX": with packed weights */

typedef struct HrmSegmentHeader
{
	uint32		magic;
	uint32		config_len;		/* bytes of JSON after the header, without NUL */
	uint64		n_params;
	uint64		data_offset;	/* of the parameters, from the segment start */
	uint64		pack_offset;	/* of the packed block weights (0: none) */
	uint64		pack_floats;	/* hrm_model_pack_floats(layout, false) when packed */
} HrmSegmentHeader;

/* What the fill callback copies into a new segment. */
typedef struct HrmFillArg
{
	const char *config;
	size_t		config_len;
	const hrm_layout *layout;
	const float *params;
	size_t		n_params;
	size_t		data_offset;
	size_t		pack_offset;
	size_t		pack_floats;
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
	hdr->pack_offset = 0;
	hdr->pack_floats = 0;
	memcpy((char *) dst + sizeof(HrmSegmentHeader), a->config, a->config_len);
	memcpy((char *) dst + a->data_offset, a->params, a->n_params * sizeof(float));
	if (a->pack_floats > 0)
	{
		/* pack from the copy just written, with a model bound to it for the call */
		hrm_model	tmp;
		hrm_error	err;

		memset(&tmp, 0, sizeof(tmp));
		tmp.lay = a->layout;
		tmp.cfg = &a->layout->cfg;
		tmp.params = (const float *) ((char *) dst + a->data_offset);
		hrm_error_clear(&err);
		if (hrm_model_pack_bind(&tmp, (float *) ((char *) dst + a->pack_offset), true, &err) == HRM_OK &&
			tmp.wpack_floats == a->pack_floats)
		{
			hdr->pack_offset = a->pack_offset;
			hdr->pack_floats = a->pack_floats;
		}
		hrm_model_free(&tmp);
	}
}

/*
 * Give the handle's model its packed weights: the shared copy's when the
 * segment has them in the layout this backend's kernels use, else a
 * private copy (when the kernels run here at all).  h->bytes counts what
 * the handle holds.
 */
static void
HrmBindPacks(HrmModelHandle *h, char *base, const char *what, hrm_error *err)
{
	size_t		want = hrm_model_pack_floats(&h->layout, false);
	HrmSegmentHeader *hdr = base != NULL ? (HrmSegmentHeader *) base : NULL;

	h->bytes = h->layout.n_params * sizeof(float);
	if (want == 0)
		return;					/* no packed kernels here: BLAS */
	if (hdr != NULL && hdr->pack_offset != 0 && hdr->pack_floats == want)
		HrmCheck(hrm_model_pack_bind(&h->model, (float *) (base + hdr->pack_offset), false, err), err, what);
	else
	{
		HrmCheck(hrm_model_pack(&h->model, false, err), err, what);
		h->private_pack_bytes = h->model.wpack_floats * sizeof(float);
	}
	h->bytes += want * sizeof(float);
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
	h->shared = true;
	HrmCheck(hrm_model_init(&h->model, &h->layout, h->params, err), err, what);
	HrmBindPacks(h, base, what, err);
	return true;
}

/*
 * Publish the handle's private weights (and their packed form) in shared
 * memory and switch the handle over to the shared copy; returns the
 * segment's base, or NULL when the shared cache is off.
 */
static char *
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
	arg.layout = &h->layout;
	arg.params = h->params;
	arg.n_params = h->layout.n_params;
	arg.data_offset = TYPEALIGN(64, sizeof(HrmSegmentHeader) + arg.config_len);
	arg.pack_floats = hrm_model_pack_floats(&h->layout, false);
	arg.pack_offset = TYPEALIGN(64, arg.data_offset + arg.n_params * sizeof(float));
	total = arg.pack_floats > 0 ? arg.pack_offset + arg.pack_floats * sizeof(float)
		: arg.data_offset + arg.n_params * sizeof(float);
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
		return NULL;
	hrm_free(h->params);
	h->seg = seg;
	h->params = (float *) (base + ((HrmSegmentHeader *) base)->data_offset);
	h->shared = true;
	return base;
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
	char	   *base;

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
	base = HrmPublishShared(h, entry);
	HrmCheck(hrm_model_init(&h->model, &h->layout, h->params, &err), &err, what);
	HrmBindPacks(h, base, what, &err);

	/* success: the handle outlives the scratch context */
	HrmDisown(hres);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(scratch);
	return h;
}

/*
 * hrm.precision for the handle's next engine calls: bf16 packs the
 * bfloat16 weights privately the first time (where the CPU has
 * AVX512_BF16; elsewhere float32 runs, as hrm_cpu_features() reports).
 */
static HrmModelHandle *
HrmApplyPrecision(HrmModelHandle *h)
{
	if (hrm_precision_guc == HRM_PRECISION_BF16 && h->model.wpack != NULL && h->model.wpack16 == NULL &&
		hrm_gemm_bf16_available())
	{
		hrm_error	err;
		char	   *what = psprintf("could not pack model \"%s\" in bfloat16", h->name);

		hrm_error_clear(&err);
		HrmCheck(hrm_model_pack_bf16(&h->model, NULL, true, &err), &err, what);
		h->private_pack_bytes += h->model.wpack16_elems * sizeof(uint16_t);
		h->bytes += h->model.wpack16_elems * sizeof(uint16_t);
	}
	hrm_model_set_precision(&h->model, (hrm_precision) hrm_precision_guc);
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
				return HrmApplyPrecision(h);
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
	return HrmApplyPrecision(cache_slots[victim]);
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
static void
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

/*
 * hrm_cache_info() → SETOF (model, generation, bytes, mode, mapped_here,
 * published, uses, database): the shared registry (hrm_shmem.c), plus this
 * backend's private copies when the shared cache is off.
 */
PG_FUNCTION_INFO_V1(hrm_cache_info);
Datum
hrm_cache_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	HrmShmemCacheRows(rsinfo);
	HrmCachePrivateRows(rsinfo);
	return (Datum) 0;
}

/* Load time: the catalog forgets cached copies through hrm_cache_forget. */
void
HrmCacheInit(void)
{
	HrmCatalogSetForgetHook(hrm_cache_forget);
}

/*
 * hrm_cpu_features() -> (path, features, precision): the kernels this
 * backend runs ("avx512+bf16", "avx512" or "portable": BLAS and plain C),
 * the CPU features found at run time, and the arithmetic hrm.precision
 * gives here ("bf16" only where the CPU has AVX512_BF16).
 */
PG_FUNCTION_INFO_V1(hrm_cpu_features_sql);
Datum
hrm_cpu_features_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		bf16 = hrm_precision_guc == HRM_PRECISION_BF16 && hrm_gemm_bf16_available();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(hrm_cpu_path());
	values[1] = CStringGetTextDatum(hrm_cpu_features());
	values[2] = CStringGetTextDatum(bf16 ? "bf16" : "float32");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
