/*
 * hrm_common.h — error reporting and small helpers shared by the engine.
 *
 * The engine never prints, never exits and never aborts on bad input: every
 * fallible function takes an hrm_error * and returns an hrm_status.  The
 * PostgreSQL glue maps each status onto a SQLSTATE.
 */
#ifndef HRM_COMMON_H
#define HRM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef enum hrm_status
{
	HRM_OK = 0,
	HRM_ERR_NOMEM,			/* allocation failed */
	HRM_ERR_INVALID,		/* bad argument from the caller (wrong length, token out of range) */
	HRM_ERR_FORMAT,			/* malformed file or text (safetensors, JSON, grid) */
	HRM_ERR_CONFIG,			/* configuration value out of range or inconsistent */
	HRM_ERR_SHAPE,			/* tensor missing, unexpected or of the wrong shape */
	HRM_ERR_VALUE,			/* NaN / Inf where a finite number is required */
	HRM_ERR_LIMIT,			/* a size limit exceeded */
	HRM_ERR_UNSUPPORTED,	/* a valid request this build does not implement */
	HRM_ERR_CANCELLED,		/* a callback asked to stop */
	HRM_ERR_INTERNAL		/* can't happen: a bug */
} hrm_status;

#define HRM_ERRMSG_LEN 512

typedef struct hrm_error
{
	hrm_status	code;
	char		msg[HRM_ERRMSG_LEN];
} hrm_error;

/* Record an error (printf-style) and return its code; err may be NULL. */
hrm_status	hrm_fail(hrm_error *err, hrm_status code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Clear an error record. */
void		hrm_error_clear(hrm_error *err);

/* Name of a status ("invalid input", ...). */
const char *hrm_status_name(hrm_status code);

/* Allocation helpers: 64-byte aligned, zeroed; NULL on failure or overflow. */
void	   *hrm_alloc(size_t nmemb, size_t size);
void		hrm_free(void *p);

/* Overflow-checked size arithmetic: returns false on overflow. */
static inline bool
hrm_mul_size(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}

#endif							/* HRM_COMMON_H */
