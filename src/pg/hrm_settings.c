/*-------------------------------------------------------------------------
 *
 * hrm_settings.c
 *		The settings every part of the glue reads (hrm.threads,
 *		hrm.max_threads, hrm.max_memory, hrm.precision, hrm.default_model):
 *		their storage and their definitions, which _PG_init makes first.
 *		A leaf module: it calls no other part of the extension.  (Settings
 *		that belong to one part are defined by that part's Init function,
 *		also called from _PG_init.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <unistd.h>

#include "utils/guc.h"

#include "hrm_pg.h"
#include "parallel.h"

/* GUC: BLAS threads per backend */
int			hrm_threads = 1;

/* GUC: the most threads hrm.threads (and a training job's "threads") may use */
int			hrm_max_threads = 1;

/* GUC: memory one engine call may plan for (MB) */
int			hrm_max_memory_mb = HRM_DEFAULT_MAX_MEMORY_MB;

/* GUC: arithmetic of the block products (hrm_precision) */
int			hrm_precision_guc = HRM_PRECISION_FLOAT32;

static const struct config_enum_entry hrm_precision_options[] = {
	{"float32", HRM_PRECISION_FLOAT32, false},
	{"bf16", HRM_PRECISION_BF16, false},
	{NULL, 0, false}
};

/* GUC: the model hrm_solve(grid) and hrm_train(table) use when none is named */
char	   *hrm_default_model = NULL;

/* The common settings (called first by _PG_init; touches no BLAS). */
void
HrmSettingsInit(void)
{
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int			default_max_threads = (int) Max(Min(ncpu, HRM_MAX_THREADS), 1);

	DefineCustomIntVariable("hrm.threads",
							"Sets the number of threads each backend uses for hrm's kernels (its worker pool and BLAS).",
							"Applied before the next hrm call in the session, capped at hrm.max_threads; these threads never call PostgreSQL.",
							&hrm_threads,
							1, 1, HRM_MAX_THREADS,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hrm.max_threads",
							"Sets the most threads one hrm call may use (caps hrm.threads and a training job's threads).",
							"Defaults to the number of CPU cores; more threads than cores only slow every call down.",
							&hrm_max_threads,
							default_max_threads, 1, HRM_MAX_THREADS,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hrm.max_memory",
							"Sets the most working memory one hrm call (or training job) may plan for.",
							"Inference, evaluation and training compute what they need before allocating and refuse a plan over this limit; model weights and training data have their own limits (hrm.shared_memory_limit, hrm.max_training_data).",
							&hrm_max_memory_mb,
							HRM_DEFAULT_MAX_MEMORY_MB, 16, INT_MAX / 2,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("hrm.precision",
							 "Sets the arithmetic of the model's matrix products in inference.",
							 "float32 (the default) or bf16: weights and activations rounded to bfloat16, sums in float32, about twice as fast on CPUs with AVX512_BF16 (elsewhere float32 runs; see hrm_cpu_features()). Training is always float32.",
							 &hrm_precision_guc,
							 HRM_PRECISION_FLOAT32, hrm_precision_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("hrm.default_model",
							   "Sets the model that hrm_solve(grid) and hrm_train(table) use when no model is named.",
							   NULL,
							   &hrm_default_model,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
}
