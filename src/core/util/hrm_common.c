/*
 * hrm_common.c — error records and aligned allocation for the engine.
 */
#include "hrm_common.h"

#include <pthread.h>
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

static hrm_assert_handler assert_handler = NULL;

void
hrm_set_assert_handler(hrm_assert_handler h)
{
	assert_handler = h;
}

void
hrm_assert_fail(const char *cond, const char *file, int line)
{
	if (assert_handler != NULL)
		assert_handler(cond, file, line);
	fprintf(stderr, "hrm: internal assertion failed: %s (%s:%d)\n", cond, file, line);
	abort();
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
		case HRM_ERR_MEMLIMIT:
			return "memory limit exceeded";
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

/* ------------------------------------------------------------------------- */
/* memory budget */

static size_t memory_limit = 0;

void
hrm_set_memory_limit(size_t bytes)
{
	memory_limit = bytes;
}

size_t
hrm_memory_limit(void)
{
	return memory_limit;
}

hrm_status
hrm_check_memory(size_t bytes, const char *what, hrm_error *err)
{
	if (memory_limit == 0 || bytes <= memory_limit)
		return HRM_OK;
	if (bytes == SIZE_MAX)
		return hrm_fail(err, HRM_ERR_MEMLIMIT,
						"%s needs more memory than can be addressed, over the limit of %zu MB",
						what, memory_limit >> 20);
	return hrm_fail(err, HRM_ERR_MEMLIMIT, "%s needs %zu MB, over the limit of %zu MB",
					what, (bytes + (1 << 20) - 1) >> 20, memory_limit >> 20);
}

/* ------------------------------------------------------------------------- */
/* cancellation */

static hrm_cancel_fn cancel_fn = NULL;
static void *cancel_arg = NULL;
static pthread_t cancel_owner;
/* set once the hook said stop; read by every thread (pool threads never run the hook) */
static volatile int cancel_flag = 0;

void
hrm_set_cancel_hook(hrm_cancel_fn fn, void *arg)
{
	cancel_fn = fn;
	cancel_arg = arg;
	cancel_owner = pthread_self();
	__atomic_store_n(&cancel_flag, 0, __ATOMIC_RELEASE);
}

void
hrm_cancel_clear(void)
{
	__atomic_store_n(&cancel_flag, 0, __ATOMIC_RELEASE);
}

bool
hrm_cancel_requested(void)
{
	if (__atomic_load_n(&cancel_flag, __ATOMIC_ACQUIRE))
		return true;
	if (pthread_equal(pthread_self(), cancel_owner) && cancel_fn != NULL && cancel_fn(cancel_arg) != 0)
	{
		__atomic_store_n(&cancel_flag, 1, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

hrm_status
hrm_check_cancel(const char *where, hrm_error *err)
{
	if (hrm_cancel_requested())
		return hrm_fail(err, HRM_ERR_CANCELLED, "cancelled %s", where);
	return HRM_OK;
}
