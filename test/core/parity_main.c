/*
 * parity_main.c — `make parity FIXTURE=<prefix>` and `make parity-all`.
 *
 *   hrm_parity <prefix>          one fixture pair
 *   hrm_parity --all <dir>       every *.weights.safetensors pair below dir
 *
 * Exits non-zero when any fixture fails or cannot be read.
 */
#include "parity.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int	n_pass,
			n_fail,
			n_skip;

static void
run_one(const char *prefix)
{
	parity_result r = hrm_parity_run(prefix, stdout);

	switch (r)
	{
		case PARITY_PASS:
			n_pass++;
			printf("PASS %s\n\n", prefix);
			break;
		case PARITY_SKIP:
			n_skip++;
			printf("SKIP %s\n\n", prefix);
			break;
		default:
			n_fail++;
			printf("FAIL %s\n\n", prefix);
			break;
	}
	fflush(stdout);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
walk(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char	  **names = NULL;
	int			n = 0,
				cap = 0;
	static const char suffix[] = ".weights.safetensors";

	if (d == NULL)
	{
		printf("cannot open %s\n", dir);
		n_fail++;
		return;
	}
	while ((e = readdir(d)) != NULL)
	{
		if (e->d_name[0] == '.')
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 16;
			names = realloc(names, sizeof(char *) * cap);
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_str);
	for (int i = 0; i < n; i++)
	{
		struct stat sb;
		size_t		len = strlen(names[i]);

		if (stat(names[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			walk(names[i]);
		else if (len > sizeof(suffix) - 1 &&
				 strcmp(names[i] + len - (sizeof(suffix) - 1), suffix) == 0)
		{
			names[i][len - (sizeof(suffix) - 1)] = '\0';
			run_one(names[i]);
		}
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--all") == 0)
		walk(argv[2]);
	else if (argc == 2)
		run_one(argv[1]);
	else
	{
		fprintf(stderr, "usage: hrm_parity <fixture prefix> | --all <directory>\n");
		return 2;
	}
	printf("parity: %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail == 0 ? 0 : 1;
}
