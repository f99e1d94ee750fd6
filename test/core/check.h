/*
 * check.h — a minimal self-registering test framework for the engine.
 *
 *   HRM_TEST(name) { HRM_CHECK(cond, "fmt", ...); ... }
 *
 * Tests register themselves at load time; hrm_test runs them all (or those
 * whose name contains argv[1]) and ends with "N passed, N failed".
 */
#ifndef HRM_CHECK_H
#define HRM_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

typedef void (*hrm_test_fn) (int *failures);

void		hrm_test_register(const char *name, hrm_test_fn fn);

#define HRM_TEST(name) \
	static void name(int *hrm_failures_); \
	__attribute__((constructor)) static void name##_register_(void) \
	{ hrm_test_register(#name, name); } \
	static void name(int *hrm_failures_)

#define HRM_CHECK(cond, ...) do { \
	if (!(cond)) { \
		(*hrm_failures_)++; \
		fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
	} \
} while (0)

/* Stop the current test when a precondition fails. */
#define HRM_REQUIRE(cond, ...) do { \
	if (!(cond)) { \
		HRM_CHECK(cond, __VA_ARGS__); \
		return; \
	} \
} while (0)

/* Directory of the reference fixtures ($HRM_FIXTURES, default test/fixtures). */
const char *hrm_test_fixtures_dir(void);

/* Directory of the real puzzle data ($HRM_DATA, default test/data). */
const char *hrm_test_data_dir(void);

/* Read a whole file (malloc'd); NULL if unreadable. */
unsigned char *hrm_test_read_file(const char *path, size_t *len);

#endif
