/*
 * bench_tasks.c — speed of the task toolkit engine (no PostgreSQL):
 *
 *   - the Sudoku generator (uniquely solvable puzzles, blanks 40..55 and
 *     fixed counts), in puzzles/s;
 *   - the exact Sudoku solver on the four public tdoku collections in
 *     $HRM_DATA/sudoku (default test/data, the first 200 puzzles of each;
 *     the whole files with HRM_DATA=DIR), solving (stop at the first
 *     solution) and proving uniqueness (count up to 2), in puzzles/s;
 *   - the maze generator at 30x30 for several min_path_length values;
 *   - token augmentation as the training loop calls it.
 *
 * Every figure is the median of --runs runs (default 5) of CPU time of this
 * process (CLOCK_PROCESS_CPUTIME_ID), single-threaded, so other load on the
 * machine changes it little.  Usage:
 *
 *   bench_tasks [--runs N] [--quick] [sudoku files...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arc.h"
#include "maze.h"
#include "sudoku.h"

#define MAX_RUNS 31

static int	runs = 5;
static bool quick = false;

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---------------------------------------------------------------------------
 * Sudoku generator
 * --------------------------------------------------------------------------- */

/* Puzzles per CPU second for blanks uniform in lo..hi. */
static double
gen_rate(int lo, int hi, int n, uint64_t seed, double *attempts_per_puzzle)
{
	hrm_rng		rng;
	double		t0,
				t;
	long		attempts = 0;

	hrm_rng_seed(&rng, seed);
	t0 = cpu_seconds();
	for (int i = 0; i < n; i++)
	{
		uint8_t		p[81],
					s[81];
		int			blanks = lo + (hi > lo ? (int) hrm_rng_below(&rng, (uint64_t) (hi - lo + 1)) : 0);
		int			a;

		if (hrm_sudoku_generate(&rng, blanks, 1000, p, s, &a, NULL) != HRM_OK)
		{
			fprintf(stderr, "generator gave up at %d blanks\n", blanks);
			exit(1);
		}
		attempts += a;
	}
	t = cpu_seconds() - t0;
	if (attempts_per_puzzle)
		*attempts_per_puzzle = (double) attempts / n;
	return n / t;
}

static void
bench_generator(void)
{
	static const struct
	{
		int			lo,
					hi,
					n;
	}			cases[] = {
		{40, 55, 2000}, {40, 40, 2000}, {45, 45, 2000}, {50, 50, 2000},
		{55, 55, 1000}, {56, 56, 500}, {58, 58, 200}, {60, 60, 100},
	};

	printf("\nSudoku generator (unique solution verified by the exact solver), median of %d runs\n", runs);
	printf("  %-14s %12s %12s %14s\n", "blanks", "puzzles", "puzzles/s", "attempts/puzzle");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		double		rate[MAX_RUNS],
					att = 0;
		int			n = quick ? (cases[c].n + 9) / 10 : cases[c].n;
		char		label[32];

		for (int r = 0; r < runs; r++)
			rate[r] = gen_rate(cases[c].lo, cases[c].hi, n, 1000 + r, &att);
		if (cases[c].lo == cases[c].hi)
			snprintf(label, sizeof(label), "%d", cases[c].lo);
		else
			snprintf(label, sizeof(label), "%d..%d", cases[c].lo, cases[c].hi);
		printf("  %-14s %12d %12.0f %14.2f\n", label, n, median(rate, runs), att);
	}
}

/* ---------------------------------------------------------------------------
 * Sudoku solver
 * --------------------------------------------------------------------------- */

typedef struct puzzle_set
{
	char		name[128];
	int			n;
	uint8_t    *cells;			/* n * 81 */
} puzzle_set;

static bool
load_set(const char *path, puzzle_set *set)
{
	FILE	   *f = fopen(path, "r");
	char		line[512];
	int			cap = 1024;
	const char *base = strrchr(path, '/');

	if (f == NULL)
		return false;
	snprintf(set->name, sizeof(set->name), "%s", base ? base + 1 : path);
	set->n = 0;
	set->cells = malloc((size_t) cap * 81);
	while (fgets(line, sizeof(line), f))
	{
		hrm_error	err;

		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (set->n == cap)
		{
			cap *= 2;
			set->cells = realloc(set->cells, (size_t) cap * 81);
		}
		if (hrm_sudoku_parse(line, strlen(line), set->cells + (size_t) set->n * 81, &err) != HRM_OK)
		{
			fprintf(stderr, "%s line %d: %s\n", path, set->n + 1, err.msg);
			exit(1);
		}
		set->n++;
	}
	fclose(f);
	return true;
}

static void
bench_solver_set(const puzzle_set *set)
{
	double		solve[MAX_RUNS],
				count[MAX_RUNS];
	uint64_t	guesses1 = 0,
				guesses2 = 0;
	int			not_unique = 0;
	int			n = quick ? (set->n < 2000 ? set->n : 2000) : set->n;

	for (int r = 0; r < runs; r++)
	{
		double		t0 = cpu_seconds();

		guesses1 = 0;
		for (int i = 0; i < n; i++)
		{
			uint8_t		s[81];
			uint64_t	g;

			hrm_sudoku_count(set->cells + (size_t) i * 81, 1, s, &g);
			guesses1 += g;
		}
		solve[r] = n / (cpu_seconds() - t0);

		t0 = cpu_seconds();
		guesses2 = 0;
		not_unique = 0;
		for (int i = 0; i < n; i++)
		{
			uint64_t	g;

			if (hrm_sudoku_count(set->cells + (size_t) i * 81, 2, NULL, &g) != 1)
				not_unique++;
			guesses2 += g;
		}
		count[r] = n / (cpu_seconds() - t0);
	}
	printf("  %-38s %7d %12.0f %8.1f %12.0f %8.1f %6d\n", set->name, n,
		   median(solve, runs), (double) guesses1 / n,
		   median(count, runs), (double) guesses2 / n, not_unique);
}

static void
bench_solver(int nfiles, char **files)
{
	static const char *const defaults[] = {
		"tdoku_17_clue.txt", "tdoku_magictour_top1465.txt",
		"tdoku_forum_hardest_1905_11plus.txt", "tdoku_forum_hardest_1106.txt",
	};
	const char *data = getenv("HRM_DATA");

	if (data == NULL || data[0] == '\0')
		data = "test/data";
	printf("\nExact Sudoku solver, median of %d runs (solve: stop at the first solution; unique: count up to 2)\n", runs);
	printf("  %-38s %7s %12s %8s %12s %8s %6s\n", "collection", "puzzles", "solve/s", "guesses",
		   "unique/s", "guesses", "!=1");
	if (nfiles == 0)
	{
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		{
			char		path[1024];
			puzzle_set set;

			snprintf(path, sizeof(path), "%s/sudoku/%s", data, defaults[i]);
			if (!load_set(path, &set))
			{
				printf("  %-38s (not found: %s)\n", defaults[i], path);
				continue;
			}
			bench_solver_set(&set);
			free(set.cells);
		}
	}
	for (int i = 0; i < nfiles; i++)
	{
		puzzle_set	set;

		if (!load_set(files[i], &set))
		{
			printf("  %s: cannot read\n", files[i]);
			continue;
		}
		bench_solver_set(&set);
		free(set.cells);
	}
}

/* ---------------------------------------------------------------------------
 * Maze generator
 * --------------------------------------------------------------------------- */

static void
bench_maze(void)
{
	static const struct
	{
		int			size,
					min_len,
					n;
	}			cases[] = {
		{30, 30, 500}, {30, 60, 200}, {30, 90, 40}, {30, 110, 20}, {10, 20, 2000},
	};

	printf("\nMaze generator (Lehnert et al. recipe, BFS), median of %d runs\n", runs);
	printf("  %-8s %-10s %8s %12s %16s\n", "size", "min_len", "mazes", "mazes/s", "layouts/maze");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		double		rate[MAX_RUNS];
		long		layouts = 0;
		int			n = quick ? (cases[c].n + 3) / 4 : cases[c].n;

		for (int r = 0; r < runs; r++)
		{
			hrm_rng		rng;
			double		t0;

			hrm_rng_seed(&rng, 77 + r);
			layouts = 0;
			t0 = cpu_seconds();
			for (int i = 0; i < n; i++)
			{
				hrm_maze	m,
							s;
				int			len,
							used;
				hrm_error	err;

				if (hrm_maze_generate(&rng, cases[c].size, cases[c].min_len, 1000000, &m, &s,
									  &len, &used, &err) != HRM_OK)
				{
					fprintf(stderr, "%s\n", err.msg);
					exit(1);
				}
				layouts += used;
			}
			rate[r] = n / (cpu_seconds() - t0);
		}
		printf("  %-8d %-10d %8d %12.1f %16.1f\n", cases[c].size, cases[c].min_len, n,
			   median(rate, runs), (double) layouts / n);
	}
}

/* ---------------------------------------------------------------------------
 * Augmentation on tokens
 * --------------------------------------------------------------------------- */

static void
bench_augment(void)
{
	hrm_rng		rng;
	double		sud[MAX_RUNS],
				maze[MAX_RUNS],
				arc[MAX_RUNS];
	int			n = quick ? 20000 : 200000;
	uint8_t		p[81],
				s[81];
	int32_t		in[HRM_ARC_SEQ],
				lab[HRM_ARC_SEQ],
				oin[HRM_ARC_SEQ],
				olab[HRM_ARC_SEQ];
	hrm_maze	m,
				ms;
	hrm_arc_grid gi = {.rows = 12, .cols = 17},
				go = {.rows = 20, .cols = 9};
	int			len;

	hrm_rng_seed(&rng, 5);
	hrm_sudoku_generate(&rng, 50, 100, p, s, NULL, NULL);
	hrm_maze_generate(&rng, 30, 60, 100000, &m, &ms, &len, NULL, NULL);
	for (int i = 0; i < gi.rows * gi.cols; i++)
		gi.cell[i] = (uint8_t) hrm_rng_below(&rng, 10);
	for (int i = 0; i < go.rows * go.cols; i++)
		go.cell[i] = (uint8_t) hrm_rng_below(&rng, 10);

	for (int r = 0; r < runs; r++)
	{
		double		t0;

		hrm_sudoku_to_tokens(p, in);
		hrm_sudoku_to_tokens(s, lab);
		t0 = cpu_seconds();
		for (int i = 0; i < n; i++)
			hrm_sudoku_augment_tokens(in, lab, oin, olab, &rng, NULL, NULL);
		sud[r] = n / (cpu_seconds() - t0);

		hrm_maze_to_tokens(&m, in);
		hrm_maze_to_tokens(&ms, lab);
		t0 = cpu_seconds();
		for (int i = 0; i < n; i++)
			hrm_maze_augment_tokens(in, lab, oin, olab, &rng, NULL, NULL);
		maze[r] = n / (cpu_seconds() - t0);

		hrm_arc_encode(&gi, 0, 0, in, NULL);
		hrm_arc_encode(&go, 0, 0, lab, NULL);
		t0 = cpu_seconds();
		for (int i = 0; i < n; i++)
			hrm_arc_augment_tokens(in, lab, oin, olab, &rng, true, NULL, NULL);
		arc[r] = n / (cpu_seconds() - t0);
	}
	printf("\nToken augmentation (input + label pairs per second), median of %d runs\n", runs);
	printf("  %-44s %12.0f\n", "Sudoku (relabel, transpose, shuffles)", median(sud, runs));
	printf("  %-44s %12.0f\n", "maze 30x30 (dihedral)", median(maze, runs));
	printf("  %-44s %12.0f\n", "ARC 12x17 -> 20x9 (dihedral, colours, shift)", median(arc, runs));
}

int
main(int argc, char **argv)
{
	char	  **files = malloc(sizeof(char *) * (argc + 1));
	int			nfiles = 0;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
		{
			runs = atoi(argv[++i]);
			if (runs < 1)
				runs = 1;
			if (runs > MAX_RUNS)
				runs = MAX_RUNS;
		}
		else if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else
			files[nfiles++] = argv[i];
	}
	printf("bench_tasks: CPU time of one thread; %s\n", quick ? "quick (reduced sizes)" : "full sizes");
	bench_generator();
	bench_solver(nfiles, files);
	bench_maze();
	bench_augment();
	free(files);
	return 0;
}
