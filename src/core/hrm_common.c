/*
 * hrm_common.c — error records and aligned allocation for the engine.
 */
#include "hrm_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hrm_status
hrm_fail(hrm_error *err, hrm_status code, const char *fmt,...)
{
	if (err != NULL)
	{
		va_list		ap;

		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void
hrm_error_clear(hrm_error *err)
{
	if (err != NULL)
	{
		err->code = HRM_OK;
		err->msg[0] = '\0';
	}
}

const char *
hrm_status_name(hrm_status code)
{
	switch (code)
	{
		case HRM_OK:
			return "ok";
		case HRM_ERR_NOMEM:
			return "out of memory";
		case HRM_ERR_INVALID:
			return "invalid input";
		case HRM_ERR_FORMAT:
			return "malformed data";
		case HRM_ERR_CONFIG:
			return "invalid configuration";
		case HRM_ERR_SHAPE:
			return "tensor shape mismatch";
		case HRM_ERR_VALUE:
			return "non-finite value";
		case HRM_ERR_LIMIT:
			return "limit exceeded";
		case HRM_ERR_UNSUPPORTED:
			return "not supported";
		case HRM_ERR_CANCELLED:
			return "cancelled";
		case HRM_ERR_INTERNAL:
			return "internal error";
	}
	return "unknown error";
}

void *
hrm_alloc(size_t nmemb, size_t size)
{
	size_t		bytes;
	void	   *p = NULL;

	if (!hrm_mul_size(nmemb, size, &bytes))
		return NULL;
	if (bytes == 0)
		bytes = 64;
	/* round up to the alignment, as aligned_alloc requires */
	if (bytes > SIZE_MAX - 63)
		return NULL;
	bytes = (bytes + 63) & ~(size_t) 63;
	p = aligned_alloc(64, bytes);
	if (p != NULL)
		memset(p, 0, bytes);
	return p;
}

void
hrm_free(void *p)
{
	free(p);
}
