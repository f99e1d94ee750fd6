/*-------------------------------------------------------------------------
 *
 * hrm_publish.c
 *		hrm_publish_checkpoint(model, step): make a kept training checkpoint
 *		the model's weights again, so that a bad retraining can be undone;
 *		hrm_export_checkpoint(model, step): its weights as a file, which
 *		hrm_import makes a model of its own (an ensemble's member).
 *
 * A training job publishes, at every checkpoint, the weights it evaluates
 * with (the moving average with option "ema", else the weights) as a new
 * generation of the model.  Publishing a checkpoint rebuilds the trainer
 * from the checkpoint's state and stores exactly those weights again, byte
 * for byte what the job published at that step, as a new generation: the
 * shared cache picks it up on the next call, the model's metrics become the
 * checkpoint's, its hyperparameters the job's that wrote it.  The previous
 * weights' large object is unlinked by the catalog's trigger; checkpoints
 * are kept (a later one can be published again).
 *
 * Checkpoints belong to a training run (hrm.checkpoint.run, the id of the
 * job that started it; resumed jobs continue their run).  A fresh run keeps
 * the previous run's newest checkpoint, so the weights a retraining replaced
 * can be published again: the optional run argument picks a run, else the
 * newest run with a checkpoint at that step.
 *
 * Only the model's owner (or a superuser) may publish: 42501.  An unknown
 * model, step or run is 42704, a model training now 55006.  A NULL model or
 * step gives NULL (as a strict function would).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "catalog/pg_largeobject.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/jsonb.h"

#include "hrm_train.h"

PG_FUNCTION_INFO_V1(hrm_publish_checkpoint);
PG_FUNCTION_INFO_V1(hrm_export_checkpoint);

static void
HrmFreeTrainer(void *t)
{
	hrm_trainer_free((hrm_trainer *) t);
}

/*
 * The hyperparameters of a checkpoint written before checkpoints carried
 * them: the optimizer's options, from the training state itself.
 */
static char *
HrmTrainerOptsJson(const hrm_train_opts *o)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"lr\": %.9g, \"lr_warmup_steps\": " INT64_FORMAT ", \"lr_min_ratio\": %.9g"
					 ", \"beta1\": %.9g, \"beta2\": %.9g, \"weight_decay\": %.9g, \"puzzle_emb_lr\": %.9g"
					 ", \"puzzle_emb_weight_decay\": %.9g, \"loss_type\": \"%s\", \"batch_size\": %d"
					 ", \"seed\": " UINT64_FORMAT,
					 o->lr, (int64) o->lr_warmup_steps, o->lr_min_ratio, o->beta1, o->beta2, o->weight_decay,
					 o->puzzle_emb_lr, o->puzzle_emb_weight_decay,
					 o->loss_type == HRM_LOSS_SOFTMAX ? "softmax" : "stablemax", o->batch_size,
					 (uint64) o->seed);
	if (o->ema > 0)
		appendStringInfo(&b, ", \"ema\": %.9g", o->ema);
	appendStringInfoChar(&b, '}');
	return b.data;
}

/* hrm_publish_checkpoint(model text, step bigint) → bigint (the new generation) */
/*
 * The trainer of a kept checkpoint of model at step (of run, or the newest
 * run with that step when any_run), rebuilt from its state: 42704 naming
 * the checkpoints there are when there is none, XX001 when its state is
 * missing or at another step.  *run gets the run, *has_hyper whether the
 * checkpoint carries the job's hyperparameters.  The trainer is freed with
 * the transaction's resources (HrmTrack).
 */
static hrm_trainer *
HrmCheckpointTrainer(const char *model, int64 step, bool any_run, int64 *run_io, bool *has_hyper_out,
					 const char *what)
{
	int64		run = *run_io;
	Oid			state_lo = InvalidOid;
	bool		has_hyper = false;
	HrmUserState us;
	StringInfoData steps;
	void	   *blob;
	size_t		blob_len;
	hrm_trainer *tr = NULL;
	HrmResource *tres;
	hrm_error	err;

	initStringInfo(&steps);
	/* the checkpoint (and, for the message, which ones there are) */
	HrmBecomeCatalogOwner(&us);
	HrmSpiConnect();
	{
		Oid			types[3] = {TEXTOID, INT8OID, INT8OID};
		Datum		values[3] = {CStringGetTextDatum(model), Int64GetDatum(step), Int64GetDatum(run)};
		char		nulls[3] = {' ', ' ', any_run ? 'n' : ' '};
		int			ret;

		ret = SPI_execute_with_args("SELECT c.state, c.metrics OPERATOR(pg_catalog.?) 'hyperparameters', c.run"
									" FROM hrm.checkpoint c WHERE c.model OPERATOR(pg_catalog.=) $1"
									" AND c.step OPERATOR(pg_catalog.=) $2"
									" AND ($3 IS NULL OR c.run OPERATOR(pg_catalog.=) $3)"
									" ORDER BY c.run DESC LIMIT 1",
									3, types, values, nulls, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "reading hrm.checkpoint failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		d;

			state_lo = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
			has_hyper = !isnull && DatumGetBool(d);
			run = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		}
		else
		{
			/* which checkpoints there are, run by run: "5, 10 (run 3); 10, 20 (run 7)" */
			ret = SPI_execute_with_args("SELECT pg_catalog.string_agg(s, '; ' ORDER BY run) FROM"
										" (SELECT run, pg_catalog.string_agg(step::pg_catalog.text, ', ' ORDER BY step)"
										"         OPERATOR(pg_catalog.||) ' (run ' OPERATOR(pg_catalog.||) run OPERATOR(pg_catalog.||) ')' AS s"
										"    FROM hrm.checkpoint WHERE model OPERATOR(pg_catalog.=) $1 GROUP BY run) AS r",
										1, types, values, NULL, true, 1);
			if (ret == SPI_OK_SELECT && SPI_processed == 1)
			{
				char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

				if (s != NULL)
					appendStringInfoString(&steps, s);
			}
		}
	}
	SPI_finish();
	HrmRestoreUser(&us);

	if (!OidIsValid(state_lo))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 any_run ?
				 errmsg("model \"%s\" has no checkpoint at step " INT64_FORMAT, model, step) :
				 errmsg("model \"%s\" has no checkpoint at step " INT64_FORMAT " of run " INT64_FORMAT,
						model, step, run),
				 steps.len > 0 ?
				 errdetail("Its checkpoints are at steps %s.", steps.data) :
				 errdetail("It has no checkpoints."),
				 errhint("hrm_train keeps the last \"keep\" checkpoints of a run and, after a new run, the previous run's last one (SELECT run, step, metrics FROM hrm.checkpoint WHERE model = %s); importing a model drops them.",
						 quote_literal_cstr(model))));
	if (!LargeObjectExists(state_lo))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s: the checkpoint's state is missing", what),
				 errdetail("Large object %u does not exist.", state_lo),
				 errhint("Restore the database's large objects (pg_dump without --no-blobs).")));

	/* the weights the job published at that step: its trainer, rebuilt */
	blob = HrmLoRead(state_lo, &blob_len);
	HrmEngineBegin();
	hrm_error_clear(&err);
	tres = HrmTrack(NULL, HrmFreeTrainer);
	HrmCheck(hrm_trainer_load(&tr, (const uint8_t *) blob, blob_len, NULL, NULL, &err), &err, what);
	HrmAdopt(tres, tr);
	pfree(blob);
	if (hrm_trainer_step(tr) != step)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s: its state is at step " INT64_FORMAT, what, (int64) hrm_trainer_step(tr))));
	*run_io = run;
	*has_hyper_out = has_hyper;
	return tr;
}

Datum
hrm_publish_checkpoint(PG_FUNCTION_ARGS)
{
	char	   *model;
	int64		step;
	bool		any_run = PG_NARGS() < 3 || PG_ARGISNULL(2);
	int64		run = any_run ? 0 : PG_GETARG_INT64(2);
	char	   *what;
	HrmCatalogEntry entry;
	bool		has_hyper = false;
	hrm_trainer *tr;
	HrmResource *fres;
	const hrm_layout *lay;
	uint8_t    *file;
	size_t		file_len;
	char	   *config;
	Oid			weights_lo;
	int64		generation;
	hrm_error	err;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	step = PG_GETARG_INT64(1);
	what = psprintf("could not publish checkpoint " INT64_FORMAT " of model \"%s\"", step, model);
	HrmCheckModelName(model);
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot publish a checkpoint during recovery"),
				 errhint("Publish it on the primary server; the models replicate to standbys.")));

	/* the model, locked, and who may change it */
	HrmLockModelName(model);
	if (!HrmCatalogLookup(model, true, &entry))
		HrmUnknownModel(model);
	HrmCheckOwnerOf(model, entry.ownerid, entry.acl_lo, "publish a checkpoint");
	/* a running job would publish its own weights over these at its next checkpoint */
	HrmJobCheckIdle(MyDatabaseId, model);

	tr = HrmCheckpointTrainer(model, step, any_run, &run, &has_hyper, what);
	lay = hrm_trainer_layout(tr);
	hrm_error_clear(&err);
	fres = HrmTrack(NULL, HrmFreeMalloc);
	HrmCheck(hrm_save_params(lay, hrm_trainer_eval_params(tr), "", &file, &file_len, &err), &err, what);
	HrmAdopt(fres, file);
	config = hrm_config_to_json(&lay->cfg);
	if (config == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	(void) HrmTrack(config, HrmFreeMalloc);

	/* a new generation of the model; the trigger unlinks the previous weights */
	weights_lo = HrmLoWrite(file, file_len);
	HrmRelease(fres);
	generation = HrmCatalogPublishCheckpoint(model, run, step, hrm_arch_name(lay->cfg.arch), config,
											 weights_lo, (int64) file_len, (int64) lay->n_params,
											 has_hyper ? NULL : HrmTrainerOptsJson(hrm_trainer_opts(tr)));

	hrm_cache_forget(model);
	PG_RETURN_INT64(generation);
}

/*
 * hrm_export_checkpoint(model, step, run) → bytea: the weights a kept
 * checkpoint published, as hrm_export gives a model's (the reference's
 * tensor names, the configuration and task in the metadata), so that
 * hrm_import can make it a model of its own, e.g. a member of an ensemble.
 * Anyone who may use the model may export its checkpoints; a NULL model or
 * step gives NULL.
 */
Datum
hrm_export_checkpoint(PG_FUNCTION_ARGS)
{
	char	   *model;
	int64		step;
	bool		any_run = PG_ARGISNULL(2);
	int64		run = any_run ? 0 : PG_GETARG_INT64(2);
	char	   *what;
	HrmCatalogEntry entry;
	bool		has_hyper;
	hrm_trainer *tr;
	const hrm_layout *lay;
	const char *keys[1] = {"hrm_task"};
	const char *vals[1];
	uint8_t    *file;
	size_t		file_len;
	HrmResource *fres;
	bytea	   *result;
	hrm_error	err;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	step = PG_GETARG_INT64(1);
	what = psprintf("could not export checkpoint " INT64_FORMAT " of model \"%s\"", step, model);
	HrmCheckModelName(model);
	/* may the caller use the model?  (42501) */
	if (!HrmCatalogLookup(model, false, &entry))
		HrmUnknownModel(model);

	tr = HrmCheckpointTrainer(model, step, any_run, &run, &has_hyper, what);
	lay = hrm_trainer_layout(tr);
	vals[0] = entry.task;
	hrm_error_clear(&err);
	fres = HrmTrack(NULL, HrmFreeMalloc);
	HrmCheck(hrm_save_params_meta(lay, hrm_trainer_eval_params(tr), "model.inner.", keys, vals,
								  entry.task != NULL ? 1 : 0, &file, &file_len, &err), &err, what);
	HrmAdopt(fres, file);
	if (file_len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the file would be %zu bytes, more than a bytea can hold", what, file_len)));
	result = (bytea *) palloc(file_len + VARHDRSZ);
	SET_VARSIZE(result, file_len + VARHDRSZ);
	memcpy(VARDATA(result), file, file_len);
	HrmRelease(fres);
	PG_RETURN_BYTEA_P(result);
}
