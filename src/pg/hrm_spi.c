/*-------------------------------------------------------------------------
 *
 * hrm_spi.c
 *		The helpers every catalog-touching part of the glue starts with:
 *		the read-only check of a hot standby and the one SPI wrapper pair.
 *		A leaf module: it calls no other part of the extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "executor/spi.h"

#include "hrm_pg.h"

void
HrmPreventDuringRecovery(const char *func)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot execute %s() during recovery", func),
				 errdetail("This server is a hot standby: its models and training jobs are replayed from the primary and are read-only here."),
				 errhint("Call %s() on the primary server; the standbys replay its changes.", func)));
}

/*
 * SPI (every caller runs as the catalog owner and schema-qualifies every
 * name): connect, and execute with arguments, an error on failure.
 */
void
HrmSpiConnect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

int
HrmSpiExec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
		   bool read_only, long limit)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, limit);

	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	return ret;
}
