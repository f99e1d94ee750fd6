/*
 * test_tasks_maze.c — maze codecs, BFS, checker, generator and dihedral
 * augmentation (src/core/task/maze.c, src/core/task/grid.c).
 */
#include "check.h"
#include "grid.h"
#include "maze.h"

/*
 * 5x7 maze: S top-left, G bottom-right; shortest paths have 11 cells.  BFS
 * breaks ties by trying up, down, left, right, so it turns down at the
 * first chance (column 6).
 */
static const char *SMALL =
"S      \n"
"#####  \n"
"       \n"
"  #### \n"
"      G";

static const char *SMALL_SOLVED =
"Sooooo \n"
"#####o \n"
"     oo\n"
"  ####o\n"
"      G";

static bool
parse_str(const char *s, hrm_maze *m)
{
	hrm_error	err;

	if (hrm_maze_parse(s, strlen(s), m, &err) != HRM_OK)
	{
		fprintf(stderr, "    unexpected parse error: %s\n", err.msg);
		return false;
	}
	return true;
}

static bool
maze_equal(const hrm_maze *a, const hrm_maze *b)
{
	return a->rows == b->rows && a->cols == b->cols &&
		memcmp(a->cell, b->cell, (size_t) a->rows * a->cols) == 0;
}

HRM_TEST(maze_parse_and_format)
{
	hrm_maze	m,
				m2;
	char		buf[1000];
	char		line[901];
	hrm_error	err;

	HRM_REQUIRE(parse_str(SMALL, &m), "small");
	HRM_CHECK(m.rows == 5 && m.cols == 7, "shape %dx%d", m.rows, m.cols);
	HRM_CHECK(m.cell[0] == HRM_MAZE_START && m.cell[7] == HRM_MAZE_WALL &&
			  m.cell[34] == HRM_MAZE_GOAL && m.cell[1] == HRM_MAZE_OPEN, "cells");
	hrm_maze_format(&m, buf);
	HRM_CHECK(strcmp(buf, SMALL) == 0, "format round trip");

	/* trailing newline and CRLF */
	snprintf(buf, sizeof(buf), "S #\r\n# G\r\n");
	HRM_REQUIRE(parse_str(buf, &m2), "crlf");
	HRM_CHECK(m2.rows == 2 && m2.cols == 3 && m2.cell[5] == HRM_MAZE_GOAL, "crlf cells");

	/* a single line of 900 characters is a 30x30 maze (reference CSV) */
	for (int i = 0; i < 900; i++)
		line[i] = (i % 7 == 0) ? '#' : ' ';
	line[0] = 'S';
	line[899] = 'G';
	line[900] = '\0';
	HRM_REQUIRE(parse_str(line, &m2), "900 chars");
	HRM_CHECK(m2.rows == 30 && m2.cols == 30 && m2.cell[899] == HRM_MAZE_GOAL, "30x30");
	/* a single line of at most 30 characters is one row */
	HRM_REQUIRE(parse_str("S  G", &m2), "one row");
	HRM_CHECK(m2.rows == 1 && m2.cols == 4, "1x4");

	HRM_CHECK(hrm_maze_parse("S x\nG  ", 8, &m2, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "\"x\" at row 1, column 3 (position 3)") != NULL, "bad char: %s", err.msg);
	HRM_CHECK(hrm_maze_parse("S \nG  ", 6, &m2, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "row 2 of the maze has 3 cells, row 1 has 2") != NULL, "ragged: %s", err.msg);
	HRM_CHECK(hrm_maze_parse("", 0, &m2, &err) == HRM_ERR_SHAPE, "empty");
	HRM_CHECK(hrm_maze_parse("\n", 1, &m2, &err) == HRM_ERR_SHAPE, "only a newline");
	HRM_CHECK(hrm_maze_parse("S\n\nG", 4, &m2, &err) == HRM_ERR_FORMAT, "empty row");
	memset(line, ' ', 31);
	HRM_CHECK(hrm_maze_parse(line, 31, &m2, &err) == HRM_ERR_LIMIT, "31 chars, not square");
	{
		char		tall[31 * 2];

		for (int i = 0; i < 31; i++)
		{
			tall[2 * i] = ' ';
			tall[2 * i + 1] = '\n';
		}
		HRM_CHECK(hrm_maze_parse(tall, sizeof(tall), &m2, &err) == HRM_ERR_LIMIT &&
				  strstr(err.msg, "more than 30 rows") != NULL, "31 rows: %s", err.msg);
	}
	{
		char		wide[32] = "S                              ";

		wide[31] = '\n';
		HRM_CHECK(hrm_maze_parse(wide, 32, &m2, &err) == HRM_ERR_LIMIT, "31 columns");
	}
	/* 961 = 31 * 31 characters on one line: too large */
	{
		static char big[961];

		memset(big, ' ', sizeof(big));
		HRM_CHECK(hrm_maze_parse(big, sizeof(big), &m2, &err) == HRM_ERR_LIMIT, "31x31 line");
	}
}

HRM_TEST(maze_tokens_round_trip)
{
	hrm_maze	m,
				back;
	int32_t		tokens[900];
	hrm_error	err;

	HRM_REQUIRE(parse_str(SMALL, &m), "small");
	hrm_maze_to_tokens(&m, tokens);
	HRM_CHECK(tokens[0] == 3 && tokens[1] == 2 && tokens[30] == 1 && tokens[7] == 0 &&
			  tokens[4 * 30 + 6] == 4 && tokens[5 * 30] == 0, "placement top-left, PAD elsewhere");
	HRM_REQUIRE(hrm_maze_from_tokens(tokens, 900, 0, &back, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(maze_equal(&m, &back), "round trip");
	HRM_CHECK(hrm_maze_from_tokens(tokens, 899, 0, &back, &err) == HRM_ERR_SHAPE, "899 tokens");
	HRM_CHECK(hrm_maze_from_tokens(tokens, 900, 5, &back, &err) == HRM_ERR_SHAPE &&
			  strstr(err.msg, "5x7 maze, expected 5x5") != NULL, "size check: %s", err.msg);

	tokens[2 * 30 + 3] = 0;
	HRM_CHECK(hrm_maze_from_tokens(tokens, 900, 0, &back, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "PAD token at position 64") != NULL, "PAD inside: %s", err.msg);
	tokens[2 * 30 + 3] = 2;
	tokens[10 * 30 + 10] = 1;
	HRM_CHECK(hrm_maze_from_tokens(tokens, 900, 0, &back, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "position 311 lies outside the 5x7 maze") != NULL, "outside: %s", err.msg);
	tokens[10 * 30 + 10] = 0;
	tokens[3] = 6;
	HRM_CHECK(hrm_maze_from_tokens(tokens, 900, 0, &back, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "token 6 at position 4") != NULL, "token 6: %s", err.msg);
	memset(tokens, 0, sizeof(tokens));
	HRM_CHECK(hrm_maze_from_tokens(tokens, 900, 0, &back, &err) == HRM_ERR_FORMAT, "all PAD");
}

HRM_TEST(maze_solve_bfs)
{
	hrm_maze	m,
				solved,
				want;
	int			len;
	hrm_error	err;

	HRM_REQUIRE(parse_str(SMALL, &m), "small");
	HRM_REQUIRE(parse_str(SMALL_SOLVED, &want), "small solved");
	HRM_REQUIRE(hrm_maze_solve(&m, &solved, &len, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(len == 11, "length %d", len);
	HRM_CHECK(maze_equal(&solved, &want), "marked path");

	HRM_REQUIRE(parse_str("S#G", &m), "blocked");
	HRM_CHECK(hrm_maze_solve(&m, &solved, &len, &err) == HRM_OK && len == 0, "unreachable");
	HRM_REQUIRE(parse_str("SG", &m), "adjacent");
	HRM_CHECK(hrm_maze_solve(&m, &solved, &len, &err) == HRM_OK && len == 2, "adjacent S G");

	HRM_REQUIRE(parse_str("S S G", &m), "two S");
	HRM_CHECK(hrm_maze_solve(&m, &solved, &len, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "exactly one start") != NULL, "two S: %s", err.msg);
	HRM_REQUIRE(parse_str("S   ", &m), "no G");
	HRM_CHECK(hrm_maze_solve(&m, &solved, &len, &err) == HRM_ERR_INVALID, "no G");
	HRM_REQUIRE(parse_str("SoG", &m), "has o");
	HRM_CHECK(hrm_maze_solve(&m, &solved, &len, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "r1c2") != NULL, "o in maze: %s", err.msg);
}

HRM_TEST(maze_checker_reasons)
{
	hrm_maze	m,
				a;
	hrm_maze_verdict v;
	hrm_error	err;

	HRM_REQUIRE(parse_str(SMALL, &m), "small");
	HRM_REQUIRE(parse_str(SMALL_SOLVED, &a), "solved");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(v.valid && v.shortest && v.reason[0] == '\0' && v.length == 11 &&
			  v.shortest_length == 11, "shortest: %s", v.reason);

	/* a detour: down the left through row 3 and the bottom row */
	HRM_REQUIRE(parse_str("S      \n"
						  "#####  \n"
						  "ooooooo\n"
						  "o #### \n"
						  "ooooooG", &a), "wrong");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(!v.valid && strcmp(v.reason, "the marked cells do not connect S to G") == 0,
			  "disconnected: %s", v.reason);

	HRM_REQUIRE(parse_str("Soooooo\n"
						  "#####oo\n"
						  "ooooooo\n"
						  "o #### \n"
						  "ooooooG", &a), "long");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(v.valid && !v.shortest && v.length == 24 &&
			  strcmp(v.reason, "the path has 24 cells, a shortest path has 11") == 0,
			  "long: %s", v.reason);

	HRM_REQUIRE(parse_str("Sooooo \n"
						  "#####o \n"
						  "o    oo\n"
						  "  ####o\n"
						  "      G", &a), "stray");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(!v.valid && strcmp(v.reason, "cell r3c1 is marked \"o\" but not connected to the path from S to G") == 0,
			  "stray: %s", v.reason);

	HRM_REQUIRE(parse_str("Soooooo\n"
						  "####o  \n"
						  "      o\n"
						  "  #### \n"
						  "      G", &a), "wall");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(!v.valid && strcmp(v.reason, "cell r2c5 is \"#\" in the maze but \"o\" in the answer") == 0,
			  "wall crossed: %s", v.reason);

	HRM_REQUIRE(parse_str("oooooo\nS    G", &a), "shape");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(!v.valid && strcmp(v.reason, "the answer is 2x6, the maze is 5x7") == 0, "shape: %s", v.reason);

	/* an unsolvable maze: nothing is valid */
	HRM_REQUIRE(parse_str("S#G", &m), "blocked");
	HRM_REQUIRE(parse_str("S#G", &a), "blocked answer");
	HRM_REQUIRE(hrm_maze_check(&m, &a, &v, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(!v.valid && strstr(v.reason, "cannot be reached") != NULL, "unreachable: %s", v.reason);

	/* a maze that is not a question is an error, not a verdict */
	HRM_REQUIRE(parse_str("SSG", &m), "bad maze");
	HRM_CHECK(hrm_maze_check(&m, &a, &v, &err) == HRM_ERR_INVALID, "bad question");
}

HRM_TEST(maze_generator_recipe)
{
	hrm_rng		r1,
				r2;
	hrm_error	err;

	hrm_rng_seed(&r1, 77);
	hrm_rng_seed(&r2, 77);
	for (int i = 0; i < 20; i++)
	{
		int			size = 5 + i,
					min_len = size + i,
					len1,
					len2,
					walls = 0,
					s = 0,
					g = 0;
		hrm_maze	m1,
					s1,
					m2,
					s2;
		hrm_maze_verdict v;

		HRM_REQUIRE(hrm_maze_generate(&r1, size, min_len, 100000, &m1, &s1, &len1, NULL, &err) == HRM_OK,
					"%s", err.msg);
		HRM_REQUIRE(hrm_maze_generate(&r2, size, min_len, 100000, &m2, &s2, &len2, NULL, &err) == HRM_OK,
					"%s", err.msg);
		HRM_CHECK(maze_equal(&m1, &m2) && maze_equal(&s1, &s2) && len1 == len2, "deterministic");
		HRM_CHECK(m1.rows == size && m1.cols == size, "size");
		HRM_CHECK(len1 >= min_len, "length %d >= %d", len1, min_len);
		for (int k = 0; k < size * size; k++)
		{
			walls += m1.cell[k] == HRM_MAZE_WALL;
			s += m1.cell[k] == HRM_MAZE_START;
			g += m1.cell[k] == HRM_MAZE_GOAL;
		}
		HRM_CHECK(s == 1 && g == 1, "one S and one G");
		HRM_CHECK(walls >= (3 * size * size + 9) / 10 && walls <= size * size / 2,
				  "walls %d of %d", walls, size * size);
		HRM_REQUIRE(hrm_maze_check(&m1, &s1, &v, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(v.valid && v.shortest && v.length == len1, "solution is a shortest path: %s", v.reason);
	}
}

HRM_TEST(maze_generator_limits)
{
	hrm_rng		r;
	hrm_error	err;
	hrm_maze	m,
				s;
	int			len,
				used;
	hrm_rng		a,
				b;

	hrm_rng_seed(&r, 3);
	HRM_CHECK(hrm_maze_generate(&r, 1, 2, 10, &m, &s, &len, NULL, &err) == HRM_ERR_INVALID, "size 1");
	HRM_CHECK(hrm_maze_generate(&r, 31, 2, 10, &m, &s, &len, NULL, &err) == HRM_ERR_INVALID, "size 31");
	HRM_CHECK(hrm_maze_generate(&r, 10, 71, 10, &m, &s, &len, NULL, &err) == HRM_ERR_INVALID,
			  "longer than the free cells");
	HRM_CHECK(hrm_maze_generate(&r, 10, -1, 10, &m, &s, &len, NULL, &err) == HRM_ERR_INVALID, "negative");
	HRM_CHECK(hrm_maze_generate(&r, 30, 200, 5, &m, &s, &len, &used, &err) == HRM_ERR_LIMIT && used == 5,
			  "gives up: %s", err.msg);

	/* chunked budgets reproduce one big budget */
	hrm_rng_seed(&a, 8);
	hrm_rng_seed(&b, 8);
	{
		hrm_maze	m1,
					m2,
					s2;
		int			l1,
					l2,
					u1,
					u2,
					total = 0;

		HRM_REQUIRE(hrm_maze_generate(&a, 20, 60, 100000, &m1, &s, &l1, &u1, &err) == HRM_OK, "%s", err.msg);
		for (;;)
		{
			hrm_status	st = hrm_maze_generate(&b, 20, 60, 1, &m2, &s2, &l2, &u2, &err);

			total += u2;
			if (st == HRM_OK)
				break;
			HRM_REQUIRE(st == HRM_ERR_LIMIT && total < 100000, "chunk");
		}
		HRM_CHECK(maze_equal(&m1, &m2) && l1 == l2 && u1 == total, "chunking is invisible (%d vs %d layouts)",
				  u1, total);
	}
}

HRM_TEST(maze_transform_tokens)
{
	hrm_maze	m,
				back;
	int32_t		tokens[900],
				t1[900],
				t2[900];
	hrm_error	err;

	HRM_REQUIRE(parse_str(SMALL, &m), "small");
	hrm_maze_to_tokens(&m, tokens);
	for (int tid = 0; tid < 8; tid++)
	{
		HRM_REQUIRE(hrm_maze_transform_tokens(tokens, t1, tid, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_from_tokens(t1, 900, 0, &back, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(hrm_dihedral_swaps(tid) ? (back.rows == 7 && back.cols == 5) : (back.rows == 5 && back.cols == 7),
				  "tid %d shape %dx%d", tid, back.rows, back.cols);
		HRM_REQUIRE(hrm_maze_transform_tokens(t1, t2, hrm_dihedral_inverse(tid), &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(t2, tokens, sizeof(tokens)) == 0, "tid %d inverse", tid);
	}
	HRM_CHECK(hrm_maze_transform_tokens(tokens, t1, 8, &err) == HRM_ERR_INVALID, "tid 8");
}

HRM_TEST(maze_augment_tokens_pairs)
{
	hrm_rng		r;
	hrm_maze	m,
				s;
	int			len,
				seen = 0;
	hrm_error	err;
	int32_t		in[900],
				label[900],
				oin[900],
				olab[900];

	hrm_rng_seed(&r, 4);
	HRM_REQUIRE(hrm_maze_generate(&r, 12, 15, 10000, &m, &s, &len, NULL, &err) == HRM_OK, "%s", err.msg);
	hrm_maze_to_tokens(&m, in);
	hrm_maze_to_tokens(&s, label);
	for (int k = 0; k < 40; k++)
	{
		int			tid;
		hrm_maze	am,
					as;
		hrm_maze_verdict v;

		HRM_REQUIRE(hrm_maze_augment_tokens(in, label, oin, olab, &r, &tid, &err) == HRM_OK, "%s", err.msg);
		seen |= 1 << tid;
		HRM_REQUIRE(hrm_maze_from_tokens(oin, 900, 12, &am, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_from_tokens(olab, 900, 12, &as, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_check(&am, &as, &v, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(v.valid && v.shortest, "transformed label solves transformed maze: %s", v.reason);
	}
	HRM_CHECK(seen == 0xFF, "all 8 transforms drawn: %x", seen);
}

HRM_TEST(grid_dihedral_reference_ids)
{
	/* [[1,2,3],[4,5,6]] under numpy: rot90 k=1..3, fliplr, flipud, .T, fliplr(rot90) */
	static const int32_t in[6] = {1, 2, 3, 4, 5, 6};
	static const int32_t want[8][6] = {
		{1, 2, 3, 4, 5, 6},
		{3, 6, 2, 5, 1, 4},
		{6, 5, 4, 3, 2, 1},
		{4, 1, 5, 2, 6, 3},
		{3, 2, 1, 6, 5, 4},
		{4, 5, 6, 1, 2, 3},
		{1, 4, 2, 5, 3, 6},
		{6, 3, 5, 2, 4, 1},
	};
	hrm_error	err;

	for (int tid = 0; tid < 8; tid++)
	{
		int32_t		out[6],
					back[6];
		uint8_t		u8in[6],
					u8out[6];
		int			r,
					c,
					r2,
					c2;

		HRM_REQUIRE(hrm_dihedral_apply_i32(tid, in, 2, 3, out, &r, &c, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(out, want[tid], sizeof(out)) == 0, "tid %d values", tid);
		HRM_CHECK(hrm_dihedral_swaps(tid) ? (r == 3 && c == 2) : (r == 2 && c == 3), "tid %d shape", tid);
		HRM_REQUIRE(hrm_dihedral_apply_i32(hrm_dihedral_inverse(tid), out, r, c, back, &r2, &c2, &err) == HRM_OK,
					"%s", err.msg);
		HRM_CHECK(r2 == 2 && c2 == 3 && memcmp(back, in, sizeof(in)) == 0, "tid %d inverse", tid);
		for (int i = 0; i < 6; i++)
			u8in[i] = (uint8_t) in[i];
		HRM_REQUIRE(hrm_dihedral_apply_u8(tid, u8in, 2, 3, u8out, NULL, NULL, &err) == HRM_OK, "%s", err.msg);
		for (int i = 0; i < 6; i++)
			HRM_CHECK(u8out[i] == want[tid][i], "u8 tid %d", tid);
	}
	HRM_CHECK(hrm_dihedral_inverse(8) == -1 && hrm_dihedral_inverse(-1) == -1, "bad ids");
	{
		int32_t		out[6];

		HRM_CHECK(hrm_dihedral_apply_i32(9, in, 2, 3, out, NULL, NULL, &err) == HRM_ERR_INVALID, "tid 9");
		HRM_CHECK(hrm_dihedral_apply_i32(0, in, 0, 3, out, NULL, NULL, &err) == HRM_ERR_INVALID, "empty");
	}
}
