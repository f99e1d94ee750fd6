/*-------------------------------------------------------------------------
 *
 * hrm_pretrained.c
 *		hrm_pretrained() and hrm_load_pretrained(): the models that ship with
 *		the extension.
 *
 * `make install` copies models/<name>.safetensors of the source tree into
 * <sharedir>/hrm_models/.  Each file is an ordinary hrm_export-style file
 * (F32, reference tensor names, hrm_config metadata) with three more
 * metadata entries: hrm_task, hrm_description and hrm_metrics (what the
 * project measured for it, as JSON).  hrm_load_pretrained imports one into
 * the catalog through hrm_import, so it is owned by the caller and behaves
 * like any other model.
 *
 * Only that directory is read, and only names of lower-case letters, digits
 * and underscores, so no caller can name another file of the server.
 *
 * SQLSTATEs:
 *   22023 invalid_parameter_value   a pretrained name with other characters
 *   42704 undefined_object          no pretrained model of that name
 *   58P01 undefined_file            the directory is missing (not installed)
 *   54000 program_limit_exceeded    a file over the size limit
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <dirent.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "hrm_pg.h"

PG_FUNCTION_INFO_V1(hrm_pretrained);
PG_FUNCTION_INFO_V1(hrm_load_pretrained);

extern Datum hrm_import(PG_FUNCTION_ARGS);

/* Largest file read (the shipped models are a few MB). */
#define PRETRAINED_MAX_BYTES ((Size) 256 * 1024 * 1024)
#define PRETRAINED_SUFFIX ".safetensors"

static char *
PretrainedDir(void)
{
	char		share[MAXPGPATH];

	get_share_path(my_exec_path, share);
	return psprintf("%s/hrm_models", share);
}

static bool
PretrainedNameOk(const char *name)
{
	size_t		n = strlen(name);

	if (n == 0 || n > HRM_MAX_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

/* The file's bytes as a bytea; NULL when it does not exist. */
static bytea *
PretrainedRead(const char *path, const char *name)
{
	struct stat stt;
	FILE	   *f;
	bytea	   *b;

	if (stat(path, &stt) != 0)
	{
		if (errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat pretrained model \"%s\": %m", name)));
	}
	if ((Size) stt.st_size > PRETRAINED_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pretrained model \"%s\" is %lld bytes, over the limit of %zu",
						name, (long long) stt.st_size, (size_t) PRETRAINED_MAX_BYTES)));
	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open pretrained model \"%s\": %m", name)));
	b = palloc(VARHDRSZ + stt.st_size);
	SET_VARSIZE(b, VARHDRSZ + stt.st_size);
	if (fread(VARDATA(b), 1, stt.st_size, f) != (size_t) stt.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read pretrained model \"%s\"", name)));
	FreeFile(f);
	return b;
}

static int
name_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/* Names of the installed models, sorted. */
static List *
PretrainedNames(const char *dir, bool missing_ok)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	List	   *names = NIL;
	size_t		sl = strlen(PRETRAINED_SUFFIX);

	if (d == NULL && errno == ENOENT && missing_ok)
		return NIL;
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		n = strlen(de->d_name);
		char	   *name;

		CHECK_FOR_INTERRUPTS();
		if (n <= sl || strcmp(de->d_name + n - sl, PRETRAINED_SUFFIX) != 0)
			continue;
		name = pnstrdup(de->d_name, n - sl);
		if (PretrainedNameOk(name))
			names = lappend(names, name);
	}
	FreeDir(d);
	list_sort(names, name_cmp);
	return names;
}

static Datum
MetaJsonb(const char *s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(HrmFileText(s)));
}

/* ---------------------------------------------------------------------
 * hrm_pretrained() → SETOF (name, task, description, n_params, bytes, config, metrics)
 * --------------------------------------------------------------------- */
Datum
hrm_pretrained(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dir = PretrainedDir();
	List	   *names;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	names = PretrainedNames(dir, true);
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		char	   *path = psprintf("%s/%s%s", dir, name, PRETRAINED_SUFFIX);
		char	   *what = psprintf("could not read pretrained model \"%s\"", name);
		bytea	   *file = PretrainedRead(path, name);
		hrm_safetensors *st = palloc0(sizeof(hrm_safetensors));
		hrm_config	cfg;
		hrm_layout	lay;
		hrm_error	err;
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		const char *task,
				   *desc,
				   *metrics,
				   *config;

		if (file == NULL)
			continue;			/* removed meanwhile */
		hrm_error_clear(&err);
		HrmTrack(st, HrmFreeSafetensors);
		HrmCheck(hrm_st_parse((const uint8_t *) VARDATA(file), VARSIZE(file) - VARHDRSZ, st, &err),
				 &err, what);
		HrmCheckFileStrings(st, what);
		task = hrm_st_meta(st, "hrm_task");
		desc = hrm_st_meta(st, "hrm_description");
		metrics = hrm_st_meta(st, "hrm_metrics");
		config = hrm_st_meta(st, "hrm_config");
		values[0] = CStringGetTextDatum(name);
		nulls[1] = task == NULL || task[0] == '\0';
		if (!nulls[1])
			values[1] = CStringGetTextDatum(task);
		nulls[2] = desc == NULL;
		if (!nulls[2])
			values[2] = CStringGetTextDatum(HrmFileText(desc));
		HrmCheck(hrm_config_from_safetensors(st, &cfg, &err), &err, what);
		HrmCheck(hrm_layout_init(&lay, &cfg, &err), &err, what);
		values[3] = Int64GetDatum((int64) lay.n_params);
		hrm_layout_free(&lay);
		values[4] = Int64GetDatum((int64) (VARSIZE(file) - VARHDRSZ));
		nulls[5] = config == NULL;
		if (!nulls[5])
			values[5] = MetaJsonb(config);
		nulls[6] = metrics == NULL || metrics[0] == '\0';
		if (!nulls[6])
			values[6] = MetaJsonb(metrics);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(file);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * hrm_load_pretrained(pretrained text, name text DEFAULT NULL) → text
 * --------------------------------------------------------------------- */
Datum
hrm_load_pretrained(PG_FUNCTION_ARGS)
{
	char	   *pretrained;
	char	   *target;
	char	   *dir = PretrainedDir();
	char	   *path;
	bytea	   *file;
	struct stat stt;
	LOCAL_FCINFO(imp, 4);

	HrmPreventDuringRecovery("hrm_load_pretrained");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pretrained model name must not be null"),
				 errhint("SELECT name FROM hrm_pretrained() lists them.")));
	pretrained = text_to_cstring(PG_GETARG_TEXT_PP(0));
	target = PG_ARGISNULL(1) ? pretrained : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PretrainedNameOk(pretrained))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a pretrained model name", pretrained),
				 errdetail("Pretrained model names consist of lower-case letters, digits and underscores."),
				 errhint("SELECT name FROM hrm_pretrained() lists them.")));
	if (stat(dir, &stt) != 0 || !S_ISDIR(stt.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("no pretrained models are installed"),
				 errdetail("The directory \"%s\" does not exist.", dir),
				 errhint("Run \"make install\" from the hrm source tree.")));
	path = psprintf("%s/%s%s", dir, pretrained, PRETRAINED_SUFFIX);
	file = PretrainedRead(path, pretrained);
	if (file == NULL)
	{
		List	   *names = PretrainedNames(dir, true);
		StringInfoData sb;
		ListCell   *lc;

		initStringInfo(&sb);
		foreach(lc, names)
			appendStringInfo(&sb, "%s%s", sb.len ? ", " : "", (char *) lfirst(lc));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pretrained model \"%s\" does not exist", pretrained),
				 errhint("Installed pretrained models: %s.", sb.len ? sb.data : "none")));
	}

	/* hrm_import(target, file, NULL, NULL): the task comes from the file's metadata */
	InitFunctionCallInfoData(*imp, fcinfo->flinfo, 4, PG_GET_COLLATION(), NULL, NULL);
	imp->args[0].value = CStringGetTextDatum(target);
	imp->args[0].isnull = false;
	imp->args[1].value = PointerGetDatum(file);
	imp->args[1].isnull = false;
	imp->args[2].value = (Datum) 0;
	imp->args[2].isnull = true;
	imp->args[3].value = (Datum) 0;
	imp->args[3].isnull = true;
	return hrm_import(imp);
}
