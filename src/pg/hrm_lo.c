/*-------------------------------------------------------------------------
 *
 * hrm_lo.c
 *		Model storage in large objects.
 *
 * Large objects are written and read only through the be_lo_* fmgr entry
 * points (DirectFunctionCall) plus the bare lo_read / lo_write, never
 * through inv_* directly: be-fsstubs.c closes pg_largeobject at the end of
 * the transaction only when one of its own entry points ran (the private
 * lo_cleanup_needed flag), so direct inv_* use leaks relcache references.
 *
 * Ownership: the large objects holding weights and checkpoints belong to
 * the owner of the hrm catalog (the role that created the extension); only
 * it and superusers can read or write them directly.  The SQL functions
 * check who may use, replace or drop a model and then do the catalog and
 * large-object work as the catalog owner.
 *
 * Who owns a model and who was granted its use is what PostgreSQL knows
 * about one more large object per model, its ACL object (hrm.model.acl_lo):
 * empty, created by (or as) the model's owner, with one SELECT grant per
 * hrm_grant.  Owner and grantees are thereby recorded in pg_shdepend like
 * any object's: DROP ROLE refuses while a role owns or was granted a model
 * (2BP01), REASSIGN OWNED hands models over, DROP OWNED drops them (the
 * catalog's sql_drop event trigger removes the rows) and revokes grants,
 * and pg_dump writes ALTER LARGE OBJECT ... OWNER TO and GRANT for them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_largeobject.h"
#include "libpq/be-fsstubs.h"
#include "libpq/libpq-fs.h"
#include "miscadmin.h"
#include "storage/large_object.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "hrm_pg.h"

/* Bytes per lo_read / lo_write call; interrupts are checked between chunks. */
#define HRM_LO_CHUNK (1024 * 1024)

/*
 * The owner of hrm.model (the role that created the extension).
 */
Oid
HrmCatalogOwner(void)
{
	Oid			nsp = get_namespace_oid("hrm", false);
	Oid			relid = get_relname_relid("model", nsp);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"hrm.model\" does not exist"),
				 errhint("Run CREATE EXTENSION hrm in this database.")));

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Switch to the catalog owner for catalog and large-object work, as a
 * security-restricted operation (no user code can run with the borrowed
 * identity).  An ERROR restores the previous identity at (sub)transaction
 * abort; otherwise call HrmRestoreUser.
 */
void
HrmBecomeCatalogOwner(HrmUserState *state)
{
	Oid			owner = HrmCatalogOwner();

	GetUserIdAndSecContext(&state->saved_userid, &state->saved_sec_context);
	SetUserIdAndSecContext(owner,
						   state->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
HrmRestoreUser(const HrmUserState *state)
{
	SetUserIdAndSecContext(state->saved_userid, state->saved_sec_context);
}

/*
 * Write len bytes into a new large object and return its OID.  The large
 * object is transactional: if the transaction aborts, it never existed.
 */
Oid
HrmLoWrite(const void *data, size_t len)
{
	HrmUserState us;
	Oid			loid;
	int32		fd;
	size_t		off;

	HrmBecomeCatalogOwner(&us);

	loid = DatumGetObjectId(DirectFunctionCall1(be_lo_creat, Int32GetDatum(-1)));
	fd = DatumGetInt32(DirectFunctionCall2(be_lo_open,
										   ObjectIdGetDatum(loid),
										   Int32GetDatum(INV_WRITE)));

	for (off = 0; off < len; off += HRM_LO_CHUNK)
	{
		int			n = (int) Min((size_t) HRM_LO_CHUNK, len - off);
		int			written;

		CHECK_FOR_INTERRUPTS();
		written = lo_write(fd, (const char *) data + off, n);
		if (written != n)
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("could not write large object %u: wrote %d of %d bytes",
							loid, written, n)));
	}

	DirectFunctionCall1(be_lo_close, Int32GetDatum(fd));

	HrmRestoreUser(&us);
	return loid;
}

/*
 * A new, empty large object owned by role owner (created under the owner's
 * identity, as a security-restricted operation).
 */
Oid
HrmLoCreateAcl(Oid owner)
{
	Oid			saved_userid;
	int			saved_sec_context;
	Oid			loid;

	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	SetUserIdAndSecContext(owner,
						   saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	loid = DatumGetObjectId(DirectFunctionCall1(be_lo_creat, Int32GetDatum(-1)));
	SetUserIdAndSecContext(saved_userid, saved_sec_context);
	return loid;
}

/*
 * Read a whole large object into a palloc'd buffer (huge allocation
 * allowed) in CurrentMemoryContext.
 */
void *
HrmLoRead(Oid loid, size_t *len)
{
	HrmUserState us;
	int32		fd;
	int64		size;
	char	   *buf;
	size_t		off;

	HrmBecomeCatalogOwner(&us);

	fd = DatumGetInt32(DirectFunctionCall2(be_lo_open,
										   ObjectIdGetDatum(loid),
										   Int32GetDatum(INV_READ)));
	size = DatumGetInt64(DirectFunctionCall3(be_lo_lseek64,
											 Int32GetDatum(fd),
											 Int64GetDatum(0),
											 Int32GetDatum(SEEK_END)));
	if (size < 0 || !AllocHugeSizeIsValid((Size) size))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("large object %u is too large to load (" INT64_FORMAT " bytes)",
						loid, size)));
	DirectFunctionCall3(be_lo_lseek64,
						Int32GetDatum(fd),
						Int64GetDatum(0),
						Int32GetDatum(SEEK_SET));

	buf = MemoryContextAllocHuge(CurrentMemoryContext, size > 0 ? (Size) size : 1);
	for (off = 0; off < (size_t) size; off += HRM_LO_CHUNK)
	{
		int			n = (int) Min((size_t) HRM_LO_CHUNK, (size_t) size - off);
		int			got;

		CHECK_FOR_INTERRUPTS();
		got = lo_read(fd, buf + off, n);
		if (got != n)
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("could not read large object %u: read %d of %d bytes at offset %zu",
							loid, got, n, off)));
	}

	DirectFunctionCall1(be_lo_close, Int32GetDatum(fd));

	HrmRestoreUser(&us);
	*len = (size_t) size;
	return buf;
}

/*
 * Unlink a large object if it still exists.  inv_drop, not be_lo_unlink:
 * an ACL object belongs to the model's owner, not to the catalog owner, and
 * the callers (the catalog's triggers) have checked who may drop it.
 * inv_drop leaves nothing for be-fsstubs.c to clean up at the end of the
 * transaction (this module never keeps descriptors open across calls).
 */
void
HrmLoUnlink(Oid loid)
{
	if (!OidIsValid(loid) || !LargeObjectExists(loid))
		return;
	(void) inv_drop(loid);
}
