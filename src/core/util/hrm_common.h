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
	HRM_ERR_INTERNAL,		/* can't happen: a bug */
	HRM_ERR_MEMLIMIT		/* a plan needs more memory than hrm_set_memory_limit allows */
} hrm_status;

#define HRM_ERRMSG_LEN 512

typedef struct hrm_error
{
	hrm_status	code;
	char		msg[HRM_ERRMSG_LEN];
} hrm_error;

/*
 * HRM_ASSERT(cond): an internal invariant, a bug if false (bad input is never
 * asserted: it is an hrm_status).  Compiled in only with -DHRM_ASSERT_CHECKING
 * (make ASSERT=1, the ASan flavour, CI's assertion build); a failure calls the
 * assertion handler, which must not return.  The default prints the
 * condition and its place to stderr (in a backend: the server log) and
 * aborts, as PostgreSQL's own assertions do; it is safe on any thread.  The
 * engine tests install their own to check that an assertion fires.
 */
typedef void (*hrm_assert_handler) (const char *cond, const char *file, int line);

/* Install the handler (NULL restores the default); it must not return. */
void		hrm_set_assert_handler(hrm_assert_handler h);
void		hrm_assert_fail(const char *cond, const char *file, int line) __attribute__((noreturn));

#ifdef HRM_ASSERT_CHECKING
#define HRM_ASSERT(cond) ((cond) ? (void) 0 : hrm_assert_fail(#cond, __FILE__, __LINE__))
#else
#define HRM_ASSERT(cond) ((void) 0)
#endif

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

/* Saturating size arithmetic for memory plans: SIZE_MAX stands for "too much". */
static inline size_t
hrm_sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static inline size_t
hrm_sat_mul(size_t a, size_t b)
{
	size_t		r;

	return hrm_mul_size(a, b, &r) ? r : SIZE_MAX;
}

/*
 * Memory budget.  Every entry point that allocates working memory of a
 * size derived from its inputs (hrm_carry_init, hrm_workspace_create,
 * hrm_model_init, hrm_model_pack, hrm_infer, hrm_evaluate,
 * hrm_trainer_create, hrm_trainer_load) first computes what it needs (the
 * *_bytes functions) and refuses with HRM_ERR_MEMLIMIT when that exceeds
 * the process-wide limit, before allocating anything.  0 (the default)
 * means no limit.
 */
void		hrm_set_memory_limit(size_t bytes);
size_t		hrm_memory_limit(void);

/*
 * HRM_OK if a plan of `bytes` fits the limit; else HRM_ERR_MEMLIMIT with a
 * message naming `what` and both sizes.
 */
hrm_status	hrm_check_memory(size_t bytes, const char *what, hrm_error *err);

/*
 * Cancellation.  The engine polls hrm_cancel_requested() inside its long
 * loops (per transformer block in the forward pass, the ACT loop, the
 * training step and its backward) and returns HRM_ERR_CANCELLED soon after
 * it turns true.
 *
 * hrm_set_cancel_hook(fn, arg) installs a hook for the calling thread (the
 * "owner"; NULL removes it) and clears the cancel flag.  The hook runs only
 * on the owner thread, never on the engine's pool threads: it must be cheap
 * and must not longjmp.  Once it returns non-zero the flag stays set (also
 * for the pool threads, which only read the flag) until hrm_cancel_clear()
 * or the next hrm_set_cancel_hook().  One hook per process.
 */
typedef int (*hrm_cancel_fn) (void *arg);

void		hrm_set_cancel_hook(hrm_cancel_fn fn, void *arg);
void		hrm_cancel_clear(void);
bool		hrm_cancel_requested(void);

/* HRM_ERR_CANCELLED with a message naming `where` if a cancel is pending, else HRM_OK. */
hrm_status	hrm_check_cancel(const char *where, hrm_error *err);

#endif							/* HRM_COMMON_H */
