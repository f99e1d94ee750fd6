/*-------------------------------------------------------------------------
 *
 * hrm_pg.h
 *		Declarations shared by the PostgreSQL glue files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef HRM_PG_H
#define HRM_PG_H

#include "postgres.h"

#include "hrm_common.h"

#endif							/* HRM_PG_H */
