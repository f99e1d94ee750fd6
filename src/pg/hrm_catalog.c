/*-------------------------------------------------------------------------
 *
 * hrm_catalog.c
 *		The model catalog: hrm_import, hrm_export, hrm_drop_model,
 *		hrm_rename_model, hrm_grant / hrm_revoke, the safetensors inspection
 *		helpers and the trigger that unlinks large objects.
 *
 * A model is one row of hrm.model plus one large object holding its
 * parameters as an F32 safetensors file with canonical tensor names and the
 * configuration in the `hrm_config` metadata (hrm_save_params with prefix
 * "").  hrm_import validates everything with the engine before anything is
 * written; the large object and the row are written in the caller's
 * transaction, so a failed import leaves nothing behind.
 *
 * Large objects are unlinked by an AFTER trigger on hrm.model and
 * hrm.checkpoint (hrm.lo_unlink_trigger), so deleting a row by any route
 * (hrm_drop_model, a replace, ON DELETE CASCADE, a superuser's DELETE)
 * leaves no orphan.
 *
 * Permissions: a model's owner and grants are those of its ACL object, an
 * empty large object (hrm.model.acl_lo, see hrm_lo.c), so PostgreSQL tracks
 * them as shared dependencies (DROP ROLE, DROP OWNED, REASSIGN OWNED,
 * pg_dump).  The owner (or a member of the owning role) or a superuser
 * replaces, renames, drops, grants and revokes a model.  Using its weights
 * (hrm_forward, hrm_solve, hrm_evaluate, hrm_export: every path that goes
 * through HrmCatalogLookup without for_update, which includes hrm_cache_get)
 * is allowed to the owner, superusers, and the roles holding SELECT on the
 * ACL object (hrm_grant; members of a granted role included; PUBLIC means
 * every role).  The check runs on every lookup, so hrm_revoke takes effect
 * at the next call of every backend.
 *
 * Writers of one name (import, rename, a training job's first checkpoint)
 * take HrmLockModelName first, so concurrent imports of a new name
 * serialise: the second one waits and then replaces the first's model (or
 * fails with 42501 if it does not own it).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "hrm_train.h"

PG_FUNCTION_INFO_V1(hrm_import);
PG_FUNCTION_INFO_V1(hrm_export);
PG_FUNCTION_INFO_V1(hrm_drop_model);
PG_FUNCTION_INFO_V1(hrm_rename_model);
PG_FUNCTION_INFO_V1(hrm_grant);
PG_FUNCTION_INFO_V1(hrm_revoke);
PG_FUNCTION_INFO_V1(hrm_safetensors_info);
PG_FUNCTION_INFO_V1(hrm_safetensors_metadata);
PG_FUNCTION_INFO_V1(hrm_lo_unlink_trigger);
PG_FUNCTION_INFO_V1(hrm_drop_extension_trigger);
PG_FUNCTION_INFO_V1(hrm_drop_owned_trigger);

/* Lock tag of HrmLockModelName: an advisory lock tag no pg_advisory_* call uses. */
#define HRM_LOCK_CLASS 0x68726d00	/* "hrm" */
#define HRM_LOCK_MODEL_NAME 0x686d	/* field4 of the pg_advisory_* functions is 1 or 2 */

/* ---------------------------------------------------------------------
 * Names and ownership
 * --------------------------------------------------------------------- */


/*
 * Model names: 1 to 63 bytes, no control characters.
 */
void
HrmCheckModelName(const char *name)
{
	size_t		len = strlen(name);
	const unsigned char *p;

	if (len == 0 || len > HRM_MAX_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name has 1 to %d bytes; this one has %zu.",
						   HRM_MAX_NAME_LEN, len)));
	for (p = (const unsigned char *) name; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid model name \"%s\"", name),
					 errdetail("Model names cannot contain control characters.")));
	}
}

/*
 * Task names: lowercase identifiers ("sudoku", "maze", "arc", ...).
 */
static void
HrmCheckTaskName(const char *task)
{
	size_t		len = strlen(task);
	const char *p;
	bool		ok = len >= 1 && len <= HRM_MAX_NAME_LEN && task[0] >= 'a' && task[0] <= 'z';

	for (p = task; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid task name \"%s\"", task),
				 errhint("A task is a lowercase identifier such as 'sudoku' or 'maze', or NULL for a generic token model.")));
}

void
HrmUnknownModel(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" does not exist", name),
			 errhint("SELECT name FROM hrm.models lists the models; hrm_import() adds one.")));
	pg_unreachable();
}

void
HrmLockModelName(const char *name)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, HRM_LOCK_CLASS,
						 hash_bytes((const unsigned char *) name, (int) strlen(name)),
						 HRM_LOCK_MODEL_NAME);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * Only the model's owner (or a member of the owning role) or a superuser may
 * replace, rename, drop, grant, revoke or train a model.
 */
void
HrmCheckOwnerOf(const char *name, Oid ownerid, Oid acl_lo, const char *action)
{
	if (superuser())
		return;
	if (OidIsValid(ownerid) && has_privs_of_role(GetUserId(), ownerid))
		return;
	if (!OidIsValid(ownerid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of model \"%s\" to %s", name, action),
				 errdetail("The ACL object of model \"%s\" (large object %u) is missing, so it has no owner.",
						   name, acl_lo),
				 errhint("A superuser can drop the model with hrm_drop_model.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("must be owner of model \"%s\" to %s", name, action),
			 errdetail("Model \"%s\" belongs to role \"%s\".", name,
					   GetUserNameFromId(ownerid, false))));
}

static void
HrmCheckModelOwner(const HrmCatalogEntry *entry, const char *action)
{
	HrmCheckOwnerOf(entry->name, entry->ownerid, entry->acl_lo, action);
}

/*
 * May role roleid use (run or export) the model?  Superusers, the owner and
 * members of the owning role, and roles with SELECT on the ACL object
 * (granted to them, to a role they are members of, or to PUBLIC).  A model
 * whose ACL object is gone can be used by superusers only.
 */
static bool
HrmMayUseModel(Oid roleid, const HrmCatalogEntry *entry)
{
	if (superuser_arg(roleid))
		return true;
	if (!OidIsValid(entry->ownerid))
		return false;
	if (has_privs_of_role(roleid, entry->ownerid))
		return true;
	return pg_largeobject_aclcheck_snapshot(entry->acl_lo, roleid, ACL_SELECT, NULL) == ACLCHECK_OK;
}

/* ---------------------------------------------------------------------
 * Forgetting cached copies (the cache registers its function at load)
 * --------------------------------------------------------------------- */

static HrmForgetHook forget_hook = NULL;

void
HrmCatalogSetForgetHook(HrmForgetHook hook)
{
	forget_hook = hook;
}

void
HrmCatalogForget(const char *name)
{
	if (forget_hook != NULL)
		forget_hook(name);
}

/* ---------------------------------------------------------------------
 * Schema (the SPI helpers are in hrm_spi.c)
 * --------------------------------------------------------------------- */

/*
 * Whether hrm.checkpoint has its "run" column: not before ALTER EXTENSION hrm
 * UPDATE from 0.1.0, whose schema this library keeps serving (training then
 * writes checkpoints without runs, as 0.1.0 did).  The caller is connected
 * to SPI.
 */
bool
HrmCheckpointHasRun(void)
{
	bool		isnull;
	int			ret;

	ret = SPI_execute("SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute"
					  " WHERE attrelid OPERATOR(pg_catalog.=) 'hrm.checkpoint'::pg_catalog.regclass"
					  " AND attname OPERATOR(pg_catalog.=) 'run' AND NOT attisdropped)", true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reading the columns of hrm.checkpoint failed: %s", SPI_result_code_string(ret));
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Look a model up; copies the row into entry (in the caller's context).
 *
 * for_update: lock the row for a change (replace, rename, drop, grant); the
 * caller checks ownership.  Otherwise the lookup is for using the model's
 * weights (the cache, hrm_export): a role that may not use it gets
 * insufficient_privilege here, so every such path is covered at once.
 */
bool
HrmCatalogLookup(const char *name, bool for_update, HrmCatalogEntry *entry)
{
	MemoryContext callercxt = CurrentMemoryContext;
	HrmUserState us;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		found = false;
	bool		allowed = true;

	values[0] = CStringGetTextDatum(name);

	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec(for_update ?
			   "SELECT m.weights, m.generation, m.acl_lo, m.task, m.arch, l.lomowner FROM hrm.model m"
			   " LEFT JOIN pg_catalog.pg_largeobject_metadata l ON l.oid OPERATOR(pg_catalog.=) m.acl_lo"
			   " WHERE m.name OPERATOR(pg_catalog.=) $1 FOR UPDATE OF m" :
			   "SELECT m.weights, m.generation, m.acl_lo, m.task, m.arch, l.lomowner FROM hrm.model m"
			   " LEFT JOIN pg_catalog.pg_largeobject_metadata l ON l.oid OPERATOR(pg_catalog.=) m.acl_lo"
			   " WHERE m.name OPERATOR(pg_catalog.=) $1",
			   1, types, values, NULL, !for_update, 1);

	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *s;

		memset(entry, 0, sizeof(*entry));
		strlcpy(entry->name, name, sizeof(entry->name));
		entry->weights = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		entry->generation = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		entry->acl_lo = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		s = SPI_getvalue(tup, desc, 4);
		entry->task = s ? MemoryContextStrdup(callercxt, s) : NULL;
		s = SPI_getvalue(tup, desc, 5);
		entry->arch = MemoryContextStrdup(callercxt, s ? s : "hrm");
		entry->ownerid = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
		if (isnull)
			entry->ownerid = InvalidOid;
		if (OidIsValid(entry->ownerid))
		{
			s = GetUserNameFromId(entry->ownerid, true);
			strlcpy(entry->owner, s ? s : "", sizeof(entry->owner));
		}
		found = true;

		/* the caller's identity, not the catalog owner's */
		if (!for_update)
			allowed = HrmMayUseModel(us.saved_userid, entry);
	}

	SPI_finish();
	HrmRestoreUser(&us);

	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for model \"%s\"", name),
				 OidIsValid(entry->ownerid) ?
				 errdetail("Model \"%s\" belongs to role \"%s\" and has not been granted to role \"%s\".",
						   name, entry->owner, GetUserNameFromId(GetUserId(), false)) :
				 errdetail("The ACL object of model \"%s\" (large object %u) is missing.", name, entry->acl_lo),
				 OidIsValid(entry->ownerid) ?
				 errhint("The owner or a superuser can allow it with SELECT hrm_grant(%s, %s);",
						 quote_literal_cstr(name),
						 quote_literal_cstr(GetUserNameFromId(GetUserId(), false))) :
				 errhint("A superuser can drop the model with hrm_drop_model.")));
	return found;
}

/* ---------------------------------------------------------------------
 * Engine steps shared by import, export and the cache
 * --------------------------------------------------------------------- */

/*
 * A file PyTorch's torch.save wrote (the reference's checkpoints) is not a
 * safetensors file: say so, and how to convert it, instead of a parse
 * error.  torch.save writes a zip archive ("PK\x03\x04"), or with the
 * legacy format a pickle (0x80, then the protocol, 2 to 5).  A safetensors
 * file starts with its header's length and the header's "{", so one whose
 * first bytes happen to look the same is not mistaken for it.
 */
static void
HrmCheckNotTorch(const uint8 *buf, size_t len, const char *what)
{
	bool		zip = len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0;
	bool		pickle = len >= 2 && buf[0] == 0x80 && buf[1] >= 2 && buf[1] <= 5;
	uint64		hlen = 0;

	if (!zip && !pickle)
		return;
	if (len >= 9)
	{
		for (int i = 7; i >= 0; i--)
			hlen = (hlen << 8) | buf[i];
		if (buf[8] == '{' && hlen <= len - 8)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("%s: this is a PyTorch checkpoint (torch.save %s), not a safetensors file",
					what, zip ? "zip archive" : "pickle"),
			 errdetail("hrm reads safetensors files; it never unpickles PyTorch files."),
			 errhint("Convert it with tools/convert_checkpoint.py to-hrm (docs/convert.md), then import the .safetensors file it writes.")));
}

/*
 * A file without "hrm_config" metadata imported without a config argument:
 * name the keys the configuration needs, what the file does carry, and
 * what its embedding suggests.
 */
static void
HrmNoConfig(const hrm_safetensors *st, const char *what)
{
	StringInfoData keys;
	StringInfoData seen;

	initStringInfo(&keys);
	for (int i = 0; i < st->n_meta; i++)
		appendStringInfo(&keys, "%s\"%s\"", i ? ", " : "", st->meta_keys[i]);
	initStringInfo(&seen);
	for (int i = 0; i < st->n_tensors; i++)
	{
		const hrm_st_tensor *t = &st->tensors[i];
		const char *c = hrm_canonical_name(t->name);

		if (t->ndim == 2 && strcmp(c, "embed_tokens.embedding_weight") == 0)
			appendStringInfo(&seen, " Its tensor \"%s\" suggests \"vocab_size\": " INT64_FORMAT
							 ", \"hidden_size\": " INT64_FORMAT ".", t->name, t->shape[0], t->shape[1]);
		else if (t->ndim == 2 && strcmp(c, "embed_pos.embedding_weight") == 0)
			appendStringInfo(&seen, " Its tensor \"%s\" suggests \"seq_len\" about " INT64_FORMAT
							 " (puzzle slots included), \"pos_encodings\": \"learned\".", t->name, t->shape[0]);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: the file has no \"hrm_config\" metadata and no config was given", what),
			 errdetail("The configuration needs at least \"seq_len\" and \"vocab_size\", and every field that differs from the defaults (\"hidden_size\", \"num_heads\", \"H_layers\", \"L_layers\", \"H_cycles\", \"L_cycles\", \"expansion\", \"pos_encodings\", \"puzzle_emb_ndim\", \"num_puzzle_identifiers\", \"halt_max_steps\", ...). The file's metadata keys: %s.%s",
					   st->n_meta > 0 ? keys.data : "none", seen.data),
			 errhint("Pass the reference's hrm_config as the config argument, e.g. hrm_import(name, file, config => '{\"seq_len\": 81, \"vocab_size\": 11, ...}'), or write the file with tools/convert_checkpoint.py to-hrm, which stores it in the metadata.")));
}

/*
 * Parse a safetensors buffer; the parsed header is freed with the current
 * memory context.  buf must outlive the result.
 */
static hrm_safetensors *
HrmParse(const void *buf, size_t len, const char *what)
{
	hrm_safetensors *st = palloc0(sizeof(hrm_safetensors));
	hrm_error	err;

	HrmCheckNotTorch((const uint8 *) buf, len, what);
	HrmTrack(st, HrmFreeSafetensors);
	hrm_error_clear(&err);
	HrmCheck(hrm_st_parse((const uint8_t *) buf, len, st, &err), &err, what);
	HrmCheckFileStrings(st, what);
	return st;
}

/* ERROR unless s (a string of a safetensors file, `role` saying which) is UTF-8. */
static void
HrmCheckUtf8(const char *s, const char *role, int index, const char *what)
{
	if (!pg_verify_mbstr(PG_UTF8, s, (int) strlen(s), true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("%s: %s %d of the header is not valid UTF-8", what, role, index + 1),
				 errhint("The JSON header of a safetensors file is UTF-8 text.")));
}

void
HrmCheckFileStrings(const hrm_safetensors *st, const char *what)
{
	int			i;

	for (i = 0; i < st->n_tensors; i++)
		HrmCheckUtf8(st->tensors[i].name, "tensor name", i, what);
	for (i = 0; i < st->n_meta; i++)
	{
		HrmCheckUtf8(st->meta_keys[i], "__metadata__ key", i, what);
		HrmCheckUtf8(st->meta_values[i], "__metadata__ value", i, what);
	}
}

char *
HrmFileText(const char *s)
{
	return pg_any_to_server(s, (int) strlen(s), PG_UTF8);
}

/*
 * Layout and parameters of a parsed file under cfg; both freed with the
 * current memory context.
 */
static float *
HrmLoadParams(const hrm_safetensors *st, const hrm_config *cfg, hrm_layout **lay_out,
			  const char *what)
{
	hrm_layout *lay = palloc0(sizeof(hrm_layout));
	HrmResource *pres;
	float	   *params;
	hrm_error	err;

	hrm_error_clear(&err);
	HrmTrack(lay, HrmFreeLayout);
	HrmCheck(hrm_layout_init(lay, cfg, &err), &err, what);

	pres = HrmTrack(NULL, HrmFreeMalloc);
	params = hrm_alloc(lay->n_params, sizeof(float));
	if (params == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: out of memory", what),
				 errdetail("The model has %zu parameters.", lay->n_params)));
	HrmAdopt(pres, params);

	HrmCheck(hrm_load_params(lay, st, params, &err), &err, what);
	*lay_out = lay;
	return params;
}

/* A malloc'd engine string, freed with the current memory context. */
static char *
HrmTrackString(char *s)
{
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	HrmTrack(s, HrmFreeMalloc);
	return s;
}

/* ---------------------------------------------------------------------
 * hrm_import(name text, weights bytea, config jsonb, task text) → text
 * --------------------------------------------------------------------- */

Datum
hrm_import(PG_FUNCTION_ARGS)
{
	char	   *name;
	bytea	   *weights;
	char	   *config_json = NULL;
	char	   *task = NULL;
	char	   *what;
	hrm_safetensors *st;
	hrm_config	cfg;
	hrm_layout *lay;
	float	   *params;
	uint8_t    *file;
	size_t		file_len;
	HrmResource *fres;
	char	   *stored_config;
	HrmCatalogEntry old;
	bool		replacing;
	Oid			loid;
	hrm_error	err;

	HrmPreventDuringRecovery("hrm_import");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("weights must not be null"),
				 errhint("Pass the bytes of a safetensors file.")));

	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HrmCheckModelName(name);
	weights = PG_GETARG_BYTEA_PP(1);
	if (!PG_ARGISNULL(2))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(2);

		if (!JB_ROOT_IS_OBJECT(jb))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("config must be a JSON object"),
					 errhint("Pass the model configuration as in the reference's hrm_config, e.g. '{\"seq_len\": 81, \"vocab_size\": 11, ...}'.")));
		config_json = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	if (!PG_ARGISNULL(3))
	{
		task = text_to_cstring(PG_GETARG_TEXT_PP(3));
		HrmCheckTaskName(task);
	}
	what = psprintf("could not import model \"%s\"", name);
	hrm_error_clear(&err);

	/* Validate everything with the engine before writing anything. */
	st = HrmParse(VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights), what);
	if (config_json != NULL)
		HrmCheck(hrm_config_from_json(config_json, strlen(config_json), &cfg, &err), &err, what);
	else if (hrm_st_meta(st, "hrm_config") == NULL)
		HrmNoConfig(st, what);
	else
		HrmCheck(hrm_config_from_safetensors(st, &cfg, &err), &err, what);
	if (task == NULL)
	{
		const char *meta_task = hrm_st_meta(st, "hrm_task");

		if (meta_task != NULL && meta_task[0] != '\0')
		{
			task = pstrdup(meta_task);
			HrmCheckTaskName(task);
		}
	}
	params = HrmLoadParams(st, &cfg, &lay, what);

	/* The stored form: F32, canonical names, configuration in the metadata. */
	fres = HrmTrack(NULL, HrmFreeMalloc);
	HrmCheck(hrm_save_params(lay, params, "", &file, &file_len, &err), &err, what);
	HrmAdopt(fres, file);
	stored_config = HrmTrackString(hrm_config_to_json(&lay->cfg));

	/*
	 * Catalog: wait for any other writer of this name (a concurrent import
	 * of a new name sees the first one's row once it commits, and replaces
	 * it), lock an existing row, check ownership, write.
	 */
	HrmLockModelName(name);
	replacing = HrmCatalogLookup(name, true, &old);
	if (replacing)
		HrmCheckModelOwner(&old, "replace it");

	loid = HrmLoWrite(file, file_len);
	HrmRelease(fres);

	{
		HrmUserState us;
		Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, OIDOID, INT8OID, INT8OID,
		TEXTOID, OIDOID};
		Datum		values[9];
		char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

		/* a new model's owner is the caller: it creates the ACL object */
		values[8] = ObjectIdGetDatum(replacing ? old.acl_lo : HrmLoCreateAcl(GetUserId()));
		values[0] = CStringGetTextDatum(name);
		values[1] = CStringGetTextDatum(hrm_arch_name(lay->cfg.arch));
		if (task != NULL)
			values[2] = CStringGetTextDatum(task);
		else
		{
			values[2] = (Datum) 0;
			nulls[2] = 'n';
		}
		values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(stored_config));
		values[4] = ObjectIdGetDatum(loid);
		values[5] = Int64GetDatum((int64) file_len);
		values[6] = Int64GetDatum((int64) lay->n_params);
		values[7] = CStringGetTextDatum("import");

		HrmBecomeCatalogOwner(&us);
		HrmSpiConnect();
		if (replacing)
		{
			/* checkpoints describe the weights being replaced */
			HrmSpiExec("DELETE FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1",
					   1, types, values, nulls, false, 0);
			/* the trigger unlinks the old large object */
			HrmSpiExec("UPDATE hrm.model SET arch = $2, task = $3, config = $4, weights = $5,"
					   " weights_bytes = $6, n_params = $7, source = $8,"
					   " hyperparameters = NULL, metrics = NULL,"
					   " generation = pg_catalog.nextval('hrm.generation_seq'::pg_catalog.regclass),"
					   " updated = pg_catalog.now()"
					   " WHERE name OPERATOR(pg_catalog.=) $1",
					   8, types, values, nulls, false, 0);
		}
		else
			HrmSpiExec("INSERT INTO hrm.model (name, arch, task, config, weights, weights_bytes,"
					   " n_params, source, acl_lo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
					   9, types, values, nulls, false, 0);
		if (SPI_processed != 1)
			elog(ERROR, "hrm.model: expected one row written for model \"%s\", got " UINT64_FORMAT,
				 name, (uint64) SPI_processed);
		SPI_finish();
		HrmRestoreUser(&us);
	}

	HrmCatalogForget(name);
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

/* ---------------------------------------------------------------------
 * hrm_export(name text) → bytea
 * --------------------------------------------------------------------- */

/*
 * Read a model's stored file; ERROR if the row's large object is gone (a
 * restore without large objects).
 */
static void *
HrmReadModelFile(const HrmCatalogEntry *entry, size_t *len)
{
	if (!LargeObjectExists(entry->weights))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" are missing", entry->name),
				 errdetail("Large object %u does not exist.", entry->weights),
				 errhint("Restore the database's large objects (pg_dump without --no-blobs), or drop the model and import it again.")));
	return HrmLoRead(entry->weights, len);
}

Datum
hrm_export(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *what = psprintf("could not export model \"%s\"", name);
	HrmCatalogEntry entry;
	void	   *buf;
	size_t		len;
	hrm_safetensors *st;
	hrm_config	cfg;
	hrm_layout *lay;
	float	   *params;
	hrm_st_out *outs;
	const char *keys[2];
	const char *vals[2];
	int			n_meta = 0;
	uint8_t    *file;
	size_t		file_len;
	HrmResource *fres;
	bytea	   *result;
	hrm_error	err;
	int			i;

	if (!HrmCatalogLookup(name, false, &entry))
		HrmUnknownModel(name);

	hrm_error_clear(&err);
	buf = HrmReadModelFile(&entry, &len);
	st = HrmParse(buf, len, what);
	HrmCheck(hrm_config_from_safetensors(st, &cfg, &err), &err, what);
	params = HrmLoadParams(st, &cfg, &lay, what);

	/* The reference's names: model.inner.<canonical name>. */
	outs = palloc0(sizeof(hrm_st_out) * Max(lay->n_tensors, 1));
	for (i = 0; i < lay->n_tensors; i++)
	{
		const hrm_tensor_info *t = &lay->tensors[i];
		int			d;

		outs[i].name = psprintf("model.inner.%s", t->name);
		outs[i].data = params + t->offset;
		outs[i].ndim = t->ndim;
		for (d = 0; d < t->ndim; d++)
			outs[i].shape[d] = t->shape[d];
	}
	keys[n_meta] = "hrm_config";
	vals[n_meta++] = HrmTrackString(hrm_config_to_json(&lay->cfg));
	if (entry.task != NULL)
	{
		keys[n_meta] = "hrm_task";
		vals[n_meta++] = entry.task;
	}

	fres = HrmTrack(NULL, HrmFreeMalloc);
	HrmCheck(hrm_st_write(outs, lay->n_tensors, keys, vals, n_meta, &file, &file_len, &err),
			 &err, what);
	HrmAdopt(fres, file);

	if (file_len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the file would be %zu bytes, more than a bytea can hold", what,
						file_len)));
	result = (bytea *) palloc(file_len + VARHDRSZ);
	SET_VARSIZE(result, file_len + VARHDRSZ);
	memcpy(VARDATA(result), file, file_len);
	HrmRelease(fres);

	PG_RETURN_BYTEA_P(result);
}

/* ---------------------------------------------------------------------
 * hrm_drop_model(name text, if_exists boolean) → boolean
 * hrm_rename_model(name text, new_name text) → text
 * --------------------------------------------------------------------- */

Datum
hrm_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		if_exists = PG_GETARG_BOOL(1);
	HrmCatalogEntry entry;
	HrmUserState us;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	HrmPreventDuringRecovery("hrm_drop_model");
	if (!HrmCatalogLookup(name, true, &entry))
	{
		if (!if_exists)
			HrmUnknownModel(name);
		ereport(NOTICE,
				(errmsg("model \"%s\" does not exist, skipping", name)));
		PG_RETURN_BOOL(false);
	}
	HrmCheckModelOwner(&entry, "drop it");

	/* ON DELETE CASCADE removes the checkpoints; triggers unlink the large objects */
	values[0] = CStringGetTextDatum(name);
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec("DELETE FROM hrm.model WHERE name OPERATOR(pg_catalog.=) $1",
			   1, types, values, NULL, false, 0);
	SPI_finish();
	HrmRestoreUser(&us);

	HrmCatalogForget(name);
	PG_RETURN_BOOL(true);
}

Datum
hrm_rename_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *new_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	HrmCatalogEntry entry;
	HrmCatalogEntry other;
	HrmUserState us;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	HrmPreventDuringRecovery("hrm_rename_model");
	HrmCheckModelName(new_name);
	/* both names, in a fixed order (no deadlock between crossed renames) */
	if (strcmp(name, new_name) < 0)
	{
		HrmLockModelName(name);
		HrmLockModelName(new_name);
	}
	else
	{
		HrmLockModelName(new_name);
		HrmLockModelName(name);
	}
	if (!HrmCatalogLookup(name, true, &entry))
		HrmUnknownModel(name);
	HrmCheckModelOwner(&entry, "rename it");
	if (strcmp(name, new_name) == 0)
		PG_RETURN_TEXT_P(cstring_to_text(new_name));
	if (HrmCatalogLookup(new_name, true, &other))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", new_name),
				 errhint("Drop it first with hrm_drop_model('%s') or choose another name.", new_name)));

	/* ON UPDATE CASCADE renames the checkpoints' model column */
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(new_name);
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec("UPDATE hrm.model SET name = $2, updated = pg_catalog.now()"
			   " WHERE name OPERATOR(pg_catalog.=) $1",
			   2, types, values, NULL, false, 0);
	SPI_finish();
	HrmRestoreUser(&us);

	HrmCatalogForget(name);
	HrmCatalogForget(new_name);
	PG_RETURN_TEXT_P(cstring_to_text(new_name));
}

/* ---------------------------------------------------------------------
 * hrm_grant(model text, role name) → boolean
 * hrm_revoke(model text, role name) → boolean
 *
 * A grant is SELECT on the model's ACL object, made by (as) its owner: the
 * grantee is an OID recorded in pg_shdepend, so a role cannot be dropped
 * while it holds a grant, and a new role of the same name starts with none.
 * --------------------------------------------------------------------- */

/* Does grantee (ACL_ID_PUBLIC for PUBLIC) hold SELECT on the ACL object itself? */
static bool
HrmHasGrant(Oid acl_lo, Oid grantee)
{
	Oid			types[2] = {OIDOID, OIDOID};
	Datum		values[2];
	bool		isnull;
	bool		has;

	values[0] = ObjectIdGetDatum(acl_lo);
	values[1] = ObjectIdGetDatum(grantee);
	HrmSpiExec("SELECT EXISTS (SELECT FROM pg_catalog.pg_largeobject_metadata l,"
			   " pg_catalog.aclexplode(l.lomacl) a WHERE l.oid OPERATOR(pg_catalog.=) $1"
			   " AND a.grantee OPERATOR(pg_catalog.=) $2"
			   " AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT')",
			   2, types, values, NULL, true, 1);
	has = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return has;
}

/* Grant or revoke the use of a model (owner or superuser); true if the grants changed. */
static bool
HrmChangeReaders(const char *name, const char *role, bool grant)
{
	HrmCatalogEntry entry;
	Oid			grantee;
	Oid			saved_userid;
	int			saved_sec_context;
	bool		had;

	/* like GRANT and REVOKE: the role must exist ('public' is every role) */
	grantee = strcmp(role, "public") == 0 ? ACL_ID_PUBLIC : get_role_oid(role, false);

	if (!HrmCatalogLookup(name, true, &entry))
		HrmUnknownModel(name);
	HrmCheckModelOwner(&entry, grant ? "grant access to it" : "revoke access to it");
	if (!OidIsValid(entry.ownerid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no ACL object", name),
				 errdetail("Large object %u is missing.", entry.acl_lo),
				 errhint("Drop the model and import it again.")));
	if (grantee == entry.ownerid)
		return false;			/* the owner always may */

	/* as the owner: the grantor of every grant is the model's owner */
	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	SetUserIdAndSecContext(entry.ownerid,
						   saved_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	HrmSpiConnect();
	had = HrmHasGrant(entry.acl_lo, grantee);
	if (had != grant)
	{
		const char *who = grantee == ACL_ID_PUBLIC ? "PUBLIC" : quote_identifier(role);

		HrmSpiExec(psprintf(grant ? "GRANT SELECT ON LARGE OBJECT %u TO %s" :
							"REVOKE SELECT ON LARGE OBJECT %u FROM %s", entry.acl_lo, who),
				   0, NULL, NULL, NULL, false, 0);
	}
	SPI_finish();
	SetUserIdAndSecContext(saved_userid, saved_sec_context);
	return had != grant;
}

Datum
hrm_grant(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Name		role = PG_GETARG_NAME(1);

	HrmPreventDuringRecovery("hrm_grant");
	PG_RETURN_BOOL(HrmChangeReaders(name, NameStr(*role), true));
}

Datum
hrm_revoke(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Name		role = PG_GETARG_NAME(1);

	HrmPreventDuringRecovery("hrm_revoke");
	PG_RETURN_BOOL(HrmChangeReaders(name, NameStr(*role), false));
}

/* ---------------------------------------------------------------------
 * hrm_safetensors_info(file bytea) → SETOF (name, dtype, shape, values)
 * hrm_safetensors_metadata(file bytea) → jsonb
 * --------------------------------------------------------------------- */

Datum
hrm_safetensors_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *file = PG_GETARG_BYTEA_PP(0);
	const char *what = "could not read safetensors file";
	hrm_safetensors *st;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	hrm_error	err;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	st = HrmParse(VARDATA_ANY(file), VARSIZE_ANY_EXHDR(file), what);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "hrm_safetensors_info row",
								   ALLOCSET_DEFAULT_SIZES);
	hrm_error_clear(&err);

	for (i = 0; i < st->n_tensors; i++)
	{
		const hrm_st_tensor *t = &st->tensors[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		Datum	   *shape;
		Datum	   *elems;
		double	   *v;
		size_t		k;
		int			d;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(rowcxt);

		if (t->numel > MaxAllocSize / sizeof(Datum))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tensor \"%s\" is too large to return as an array (%zu elements)",
							t->name, t->numel)));

		shape = palloc(sizeof(Datum) * Max(t->ndim, 1));
		for (d = 0; d < t->ndim; d++)
			shape[d] = Int32GetDatum((int32) Min(t->shape[d], (int64) PG_INT32_MAX));

		v = palloc(sizeof(double) * Max(t->numel, 1));
		HrmCheck(hrm_st_read_f64(st, t, v, &err), &err, what);
		elems = palloc(sizeof(Datum) * Max(t->numel, 1));
		for (k = 0; k < t->numel; k++)
			elems[k] = Float8GetDatum(v[k]);

		values[0] = CStringGetTextDatum(HrmFileText(t->name));
		values[1] = CStringGetTextDatum(hrm_dtype_name(t->dtype));
		values[2] = PointerGetDatum(construct_array(shape, t->ndim, INT4OID, 4, true, TYPALIGN_INT));
		values[3] = PointerGetDatum(construct_array(elems, (int) t->numel, FLOAT8OID, 8,
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	return (Datum) 0;
}

Datum
hrm_safetensors_metadata(PG_FUNCTION_ARGS)
{
	bytea	   *file = PG_GETARG_BYTEA_PP(0);
	hrm_safetensors *st;
	StringInfoData buf;
	int			i;

	st = HrmParse(VARDATA_ANY(file), VARSIZE_ANY_EXHDR(file), "could not read safetensors file");
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < st->n_meta; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, HrmFileText(st->meta_keys[i]));
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, HrmFileText(st->meta_values[i]));
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* ---------------------------------------------------------------------
 * hrm.lo_unlink_trigger(): AFTER UPDATE OR DELETE FOR EACH ROW, argument
 * the name of an oid column holding a large object.  Unlinks the old large
 * object when the row is deleted or the column changes.
 * --------------------------------------------------------------------- */

Datum
hrm_lo_unlink_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			attnum;
	bool		isnull;
	Datum		oldval;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hrm.lo_unlink_trigger() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hrm.lo_unlink_trigger() must be an AFTER ... FOR EACH ROW trigger with one argument")));

	desc = trigdata->tg_relation->rd_att;
	attnum = SPI_fnumber(desc, trigdata->tg_trigger->tgargs[0]);
	if (attnum <= 0 || TupleDescAttr(desc, attnum - 1)->atttypid != OIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("column \"%s\" of \"%s\" is not an oid column",
						trigdata->tg_trigger->tgargs[0],
						RelationGetRelationName(trigdata->tg_relation))));

	oldval = heap_getattr(trigdata->tg_trigtuple, attnum, desc, &isnull);
	if (isnull)
		return PointerGetDatum(NULL);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		newnull;
		Datum		newval = heap_getattr(trigdata->tg_newtuple, attnum, desc, &newnull);

		if (!newnull && DatumGetObjectId(newval) == DatumGetObjectId(oldval))
			return PointerGetDatum(NULL);
	}
	else if (!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		return PointerGetDatum(NULL);

	HrmLoUnlink(DatumGetObjectId(oldval));
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * Event triggers (hrm.drop_extension_trigger, hrm.drop_owned_trigger)
 * --------------------------------------------------------------------- */

/* Delete model rows by a query (as the catalog owner), forgetting their cached copies. */
static uint64
HrmDeleteModels(const char *sql)
{
	HrmUserState us;
	uint64		n;

	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	HrmSpiExec(sql, 0, NULL, NULL, NULL, false, 0);
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (name != NULL)
			HrmCatalogForget(name);
	}
	SPI_finish();
	HrmRestoreUser(&us);
	return n;
}

/* Does a DROP statement drop extension hrm (DROP EXTENSION hrm, DROP SCHEMA <its schema> CASCADE)? */
static bool
HrmDropsExtension(Node *parsetree)
{
	DropStmt   *stmt;
	char	   *ext_schema = NULL;
	ListCell   *lc;

	if (parsetree == NULL || !IsA(parsetree, DropStmt))
		return false;
	stmt = (DropStmt *) parsetree;
	if (stmt->removeType == OBJECT_SCHEMA && stmt->behavior == DROP_CASCADE)
	{
		HrmSpiConnect();
		HrmSpiExec("SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_extension e"
				   " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
				   " WHERE e.extname OPERATOR(pg_catalog.=) 'hrm'", 0, NULL, NULL, NULL, true, 1);
		if (SPI_processed == 1)
			ext_schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		ext_schema = ext_schema ? pstrdup(ext_schema) : NULL;
		SPI_finish();
		if (ext_schema == NULL)
			return false;
	}
	else if (stmt->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *obj = (Node *) lfirst(lc);

		if (!IsA(obj, String))
			continue;
		if (strcmp(strVal(obj), stmt->removeType == OBJECT_EXTENSION ? "hrm" : ext_schema) == 0)
			return true;
	}
	return false;
}

/*
 * ddl_command_start of DROP EXTENSION and DROP SCHEMA: when the statement
 * drops extension hrm, drop every model of the database first, so that
 * their large objects (weights, checkpoints, ACL objects) go with the
 * catalog instead of being left behind.  Refused while a training job of
 * the database runs.  If the DROP fails, all of this rolls back with it.
 */
Datum
hrm_drop_extension_trigger(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	int			n_live;
	int64	   *live;
	uint64		n;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hrm.drop_extension_trigger() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!HrmDropsExtension(trigdata->parsetree))
		PG_RETURN_VOID();

	live = HrmJobLiveIds(MyDatabaseId, &n_live);
	if (n_live > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot drop extension hrm while training job " INT64_FORMAT " runs", live[0]),
				 errhint("Stop it with SELECT hrm_cancel(" INT64_FORMAT ") and wait for it (hrm_wait), then drop the extension.",
						 live[0])));

	/* checkpoints first: the rows' triggers unlink each large object */
	(void) HrmDeleteModels("DELETE FROM hrm.checkpoint RETURNING NULL::pg_catalog.text");
	n = HrmDeleteModels("DELETE FROM hrm.model RETURNING name");
	HrmCatalogForget(NULL);
	if (n > 0)
		ereport(NOTICE,
				(errmsg(n == 1 ? "dropping " UINT64_FORMAT " model and its large objects" :
						"dropping " UINT64_FORMAT " models and their large objects", n)));
	PG_RETURN_VOID();
}

/*
 * sql_drop of DROP OWNED: the large objects it dropped may be models' ACL
 * objects (the role owned the model), weights or checkpoints (the role
 * owned the catalog): drop the rows that lose their large objects.
 */
Datum
hrm_drop_owned_trigger(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hrm.drop_owned_trigger() must be called as an event trigger")));

	(void) HrmDeleteModels("DELETE FROM hrm.checkpoint WHERE state OPERATOR(pg_catalog.=) ANY (ARRAY("
						   "SELECT objid FROM pg_catalog.pg_event_trigger_dropped_objects()"
						   " WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_largeobject'::pg_catalog.regclass))"
						   " RETURNING NULL::pg_catalog.text");
	(void) HrmDeleteModels("WITH d AS (SELECT pg_catalog.array_agg(objid) AS los"
						   " FROM pg_catalog.pg_event_trigger_dropped_objects()"
						   " WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_largeobject'::pg_catalog.regclass)"
						   " DELETE FROM hrm.model m USING d WHERE m.acl_lo OPERATOR(pg_catalog.=) ANY (d.los)"
						   " OR m.weights OPERATOR(pg_catalog.=) ANY (d.los) RETURNING m.name");
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * A training job's checkpoint (the worker's transaction)
 * --------------------------------------------------------------------- */

/*
 * The catalog's writes for a checkpoint of a training job, in the worker's
 * transaction (connected to SPI, as the catalog owner, the model's name
 * locked and its row checked by the caller): the weights as a new
 * generation of the model (a new row, with a new ACL object owned by
 * r->owner, when it does not exist), the checkpoint's row in its run,
 * and, for a fresh run's first checkpoint, the earlier runs' checkpoints
 * but the previous run's last (the weights the run replaces, for
 * hrm_publish_checkpoint); then the run's checkpoints beyond "keep".
 * A 0.1.0 schema (not yet updated) has no runs: as 0.1.0 did, a fresh run
 * drops every earlier checkpoint.  Returns the model's ACL object.
 */
Oid
HrmCatalogStoreCheckpoint(const HrmCheckpointRow *r)
{
	Oid			acl_lo = r->acl_lo;
	bool		has_run = HrmCheckpointHasRun();

	{
		Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, OIDOID, INT8OID, INT8OID,
		TEXTOID, TEXTOID, OIDOID};
		Datum		values[10];
		char		nulls[10];

		memset(nulls, ' ', sizeof(nulls));
		values[0] = CStringGetTextDatum(r->model);
		values[1] = CStringGetTextDatum(r->arch);
		if (r->task != NULL)
			values[2] = CStringGetTextDatum(r->task);
		else
			nulls[2] = 'n';
		values[3] = CStringGetTextDatum(r->config);
		values[4] = ObjectIdGetDatum(r->weights_lo);
		values[5] = Int64GetDatum(r->weights_bytes);
		values[6] = Int64GetDatum(r->n_params);
		values[7] = CStringGetTextDatum(r->hyperparameters);
		values[8] = CStringGetTextDatum(r->metrics);
		if (!r->exists)
			acl_lo = HrmLoCreateAcl(r->owner);
		values[9] = ObjectIdGetDatum(acl_lo);
		if (r->exists)
			HrmSpiExec("UPDATE hrm.model SET arch = $2, task = $3, config = $4::pg_catalog.jsonb,"
					   " weights = $5, weights_bytes = $6, n_params = $7, source = 'train',"
					   " hyperparameters = $8::pg_catalog.jsonb, metrics = $9::pg_catalog.jsonb,"
					   " generation = pg_catalog.nextval('hrm.generation_seq'::pg_catalog.regclass),"
					   " updated = pg_catalog.now()"
					   " WHERE name OPERATOR(pg_catalog.=) $1",
					   9, types, values, nulls, false, 0);
		else
			HrmSpiExec("INSERT INTO hrm.model (name, arch, task, config, weights, weights_bytes,"
					   " n_params, source, hyperparameters, metrics, acl_lo)"
					   " VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, $6, $7, 'train',"
					   " $8::pg_catalog.jsonb, $9::pg_catalog.jsonb, $10)",
					   10, types, values, nulls, false, 0);
	}

	{
		Oid			types[7] = {TEXTOID, INT8OID, TEXTOID, OIDOID, INT8OID, TEXTOID, INT8OID};
		Datum		values[7];

		values[0] = CStringGetTextDatum(r->model);
		values[1] = Int64GetDatum(r->step);
		values[2] = CStringGetTextDatum(r->metrics);
		values[3] = ObjectIdGetDatum(r->state_lo);
		values[4] = Int64GetDatum(r->state_bytes);
		values[5] = CStringGetTextDatum(r->hyperparameters);
		values[6] = Int64GetDatum(r->run);
		if (r->clear_old && has_run)
			HrmSpiExec("DELETE FROM hrm.checkpoint c WHERE c.model OPERATOR(pg_catalog.=) $1"
					   " AND c.run OPERATOR(pg_catalog.<>) $7"
					   " AND c.ctid OPERATOR(pg_catalog.<>)"
					   " (SELECT p.ctid FROM hrm.checkpoint p"
					   "   WHERE p.model OPERATOR(pg_catalog.=) $1 AND p.run OPERATOR(pg_catalog.<>) $7"
					   "   ORDER BY p.run DESC, p.step DESC LIMIT 1)",
					   7, types, values, NULL, false, 0);
		else if (r->clear_old)
			HrmSpiExec("DELETE FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL, false, 0);

		/* the metrics also keep the job's hyperparameters (hrm_publish_checkpoint) */
		HrmSpiExec(has_run ?
				   "INSERT INTO hrm.checkpoint (model, step, metrics, state, state_bytes, run)"
				   " VALUES ($1, $2, $3::pg_catalog.jsonb OPERATOR(pg_catalog.||)"
				   " pg_catalog.jsonb_build_object('hyperparameters', $6::pg_catalog.jsonb), $4, $5, $7)"
				   " ON CONFLICT (model, run, step) DO UPDATE SET metrics = EXCLUDED.metrics,"
				   " state = EXCLUDED.state, state_bytes = EXCLUDED.state_bytes, created = pg_catalog.now()" :
				   "INSERT INTO hrm.checkpoint (model, step, metrics, state, state_bytes)"
				   " VALUES ($1, $2, $3::pg_catalog.jsonb OPERATOR(pg_catalog.||)"
				   " pg_catalog.jsonb_build_object('hyperparameters', $6::pg_catalog.jsonb), $4, $5)"
				   " ON CONFLICT (model, step) DO UPDATE SET metrics = EXCLUDED.metrics,"
				   " state = EXCLUDED.state, state_bytes = EXCLUDED.state_bytes, created = pg_catalog.now()",
				   has_run ? 7 : 6, types, values, NULL, false, 0);
	}

	/* "keep" counts the run's checkpoints */
	if (r->keep > 0)
	{
		Oid			types[3] = {TEXTOID, INT4OID, INT8OID};
		Datum		values[3];

		values[0] = CStringGetTextDatum(r->model);
		values[1] = Int32GetDatum(r->keep);
		values[2] = Int64GetDatum(r->run);
		HrmSpiExec(has_run ?
				   "DELETE FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1 AND run OPERATOR(pg_catalog.=) $3"
				   " AND step OPERATOR(pg_catalog.<) (SELECT pg_catalog.min(step) FROM"
				   " (SELECT step FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1"
				   "  AND run OPERATOR(pg_catalog.=) $3 ORDER BY step DESC LIMIT $2) AS kept)" :
				   "DELETE FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1"
				   " AND step OPERATOR(pg_catalog.<) (SELECT pg_catalog.min(step) FROM"
				   " (SELECT step FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1"
				   "  ORDER BY step DESC LIMIT $2) AS kept)",
				   has_run ? 3 : 2, types, values, NULL, false, 0);
	}
	return acl_lo;
}

/*
 * hrm_publish_checkpoint's write: the weights rebuilt from checkpoint
 * (run, step) as a new generation of the model, with the checkpoint's
 * metrics and its job's hyperparameters (fallback_hyper, JSON, for a
 * checkpoint that did not keep them).  Runs as the catalog owner; returns the
 * new generation.  The trigger unlinks the previous weights.
 */
int64
HrmCatalogPublishCheckpoint(const char *model, int64 run, int64 step, const char *arch, const char *config,
							Oid weights_lo, int64 weights_bytes, int64 n_params, const char *fallback_hyper)
{
	HrmUserState us;
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, OIDOID, INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID};
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;
	int64		generation;

	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	values[0] = CStringGetTextDatum(model);
	values[1] = CStringGetTextDatum(arch);
	values[2] = CStringGetTextDatum(config);
	values[3] = ObjectIdGetDatum(weights_lo);
	values[4] = Int64GetDatum(weights_bytes);
	values[5] = Int64GetDatum(n_params);
	if (fallback_hyper == NULL)
		nulls[6] = 'n';
	else
		values[6] = CStringGetTextDatum(fallback_hyper);
	values[7] = Int64GetDatum(step);
	values[8] = Int64GetDatum(run);
	if (HrmSpiExec("UPDATE hrm.model m SET arch = $2, config = $3::pg_catalog.jsonb, weights = $4,"
				   " weights_bytes = $5, n_params = $6, source = 'train',"
				   " hyperparameters = COALESCE(c.metrics OPERATOR(pg_catalog.->) 'hyperparameters',"
				   "                                       $7::pg_catalog.jsonb),"
				   " metrics = c.metrics OPERATOR(pg_catalog.-) 'hyperparameters',"
				   " generation = pg_catalog.nextval('hrm.generation_seq'::pg_catalog.regclass),"
				   " updated = pg_catalog.now()"
				   " FROM hrm.checkpoint c"
				   " WHERE m.name OPERATOR(pg_catalog.=) $1 AND c.model OPERATOR(pg_catalog.=) m.name"
				   " AND c.step OPERATOR(pg_catalog.=) $8 AND c.run OPERATOR(pg_catalog.=) $9"
				   " RETURNING m.generation",
				   9, types, values, nulls, false, 0) != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
		elog(ERROR, "hrm.model: expected one row published for model \"%s\", got " UINT64_FORMAT,
			 model, (uint64) SPI_processed);
	generation = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	HrmRestoreUser(&us);
	return generation;
}
