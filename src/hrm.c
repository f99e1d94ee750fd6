/*-------------------------------------------------------------------------
 *
 * hrm.c
 *		Module entry point: PG_MODULE_MAGIC, _PG_init and the GUCs.
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
 * Module load: define GUCs.  Subsystems add their own through the calls
 * below; shared memory hooks are installed only under
 * shared_preload_libraries.
 */
void
_PG_init(void)
{
	MarkGUCPrefixReserved("hrm");
}
