/*
 * test_main.c — runs every registered engine test.
 */
#include "check.h"

#define MAX_TESTS 1024

static struct
{
	const char *name;
	hrm_test_fn fn;
}			tests[MAX_TESTS];
static int	n_tests;

void
hrm_test_register(const char *name, hrm_test_fn fn)
{
	if (n_tests < MAX_TESTS)
	{
		tests[n_tests].name = name;
		tests[n_tests].fn = fn;
		n_tests++;
	}
}

const char *
hrm_test_fixtures_dir(void)
{
	const char *d = getenv("HRM_FIXTURES");

	return (d != NULL && d[0] != '\0') ? d : "test/fixtures";
}

const char *
hrm_test_data_dir(void)
{
	const char *d = getenv("HRM_DATA");

	return (d != NULL && d[0] != '\0') ? d : "test/data";
}

unsigned char *
hrm_test_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) n + 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static int
cmp_tests(const void *a, const void *b)
{
	const char *x = *(const char *const *) a;
	const char *y = *(const char *const *) b;

	return strcmp(x, y);
}

int
main(int argc, char **argv)
{
	int			passed = 0,
				failed = 0;

	qsort(tests, n_tests, sizeof(tests[0]), cmp_tests);
	for (int i = 0; i < n_tests; i++)
	{
		int			failures = 0;

		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
			continue;
		tests[i].fn(&failures);
		if (failures == 0)
		{
			passed++;
			printf("ok   %s\n", tests[i].name);
		}
		else
		{
			failed++;
			printf("FAIL %s (%d checks)\n", tests[i].name, failures);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
