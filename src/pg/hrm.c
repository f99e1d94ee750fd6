/*-------------------------------------------------------------------------
 *
 * hrm.c
 *		Module entry point: PG_MODULE_MAGIC and _PG_init, which calls every
 *		part's Init function (the common settings are in hrm_settings.c).
 *		Nothing calls back into this file: it is the root of the glue's
 *		module graph.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "hrm_pg.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

/*
 * Module load: define the settings and shared memory requests of every
 * part.  Nothing here touches BLAS: under shared_preload_libraries this
 * runs in the postmaster, and BLAS threads must only ever start in backends.
 */
void
_PG_init(void)
{
	HrmSettingsInit();
	HrmCacheInit();
	HrmShmemInit();
	HrmSolveInit();
	HrmTrainInit();
	HrmProgressInit();

	MarkGUCPrefixReserved("hrm");
}
