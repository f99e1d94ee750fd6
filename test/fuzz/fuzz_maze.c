/*
 * fuzz_maze.c — libFuzzer target for the maze text and token parsers, and
 * for BFS, the checker and the dihedral token transform on what parses.
 *
 * The input is a maze text, optionally followed by a NUL byte and an
 * answer text.  Invariants (a violation traps):
 *   - parsed text formats back to text that parses to the same maze;
 *   - maze -> tokens -> maze is the identity, and so is a transform
 *     followed by its inverse;
 *   - the BFS answer to a solvable maze checks as valid and shortest;
 *   - any 900-token sequence decodes or fails cleanly, and a decoded one
 *     encodes back to the same tokens.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "maze.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static bool
same_maze(const hrm_maze *a, const hrm_maze *b)
{
	return a->rows == b->rows && a->cols == b->cols &&
		memcmp(a->cell, b->cell, (size_t) a->rows * a->cols) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	const uint8_t *nul = memchr(data, 0, size);
	size_t		len = nul ? (size_t) (nul - data) : size;
	static hrm_maze m,
				again,
				answer,
				solved;
	static char buf[HRM_MAZE_SEQ + HRM_MAZE_MAX + 1];
	int32_t		tokens[HRM_MAZE_SEQ],
				t1[HRM_MAZE_SEQ],
				t2[HRM_MAZE_SEQ];
	hrm_error	err;

	if (hrm_maze_parse(text, len, &m, &err) == HRM_OK)
	{
		size_t		n;
		int			length;
		hrm_maze_verdict v;

		CHECK(m.rows >= 1 && m.rows <= HRM_MAZE_MAX && m.cols >= 1 && m.cols <= HRM_MAZE_MAX);
		n = hrm_maze_format(&m, buf);
		CHECK(n == (size_t) m.rows * (m.cols + 1) - 1);
		CHECK(hrm_maze_parse(buf, n, &again, &err) == HRM_OK && same_maze(&m, &again));

		hrm_maze_to_tokens(&m, tokens);
		CHECK(hrm_maze_from_tokens(tokens, HRM_MAZE_SEQ, 0, &again, &err) == HRM_OK);
		CHECK(same_maze(&m, &again));
		for (int tid = 0; tid < HRM_DIHEDRAL_COUNT; tid++)
		{
			CHECK(hrm_maze_transform_tokens(tokens, t1, tid, &err) == HRM_OK);
			CHECK(hrm_maze_transform_tokens(t1, t2, hrm_dihedral_inverse(tid), &err) == HRM_OK);
			CHECK(memcmp(tokens, t2, sizeof(tokens)) == 0);
		}

		if (hrm_maze_solve(&m, &solved, &length, &err) == HRM_OK)
		{
			CHECK(length >= 0 && length <= m.rows * m.cols);
			if (length > 0)
			{
				CHECK(hrm_maze_check(&m, &solved, &v, &err) == HRM_OK);
				CHECK(v.valid && v.shortest && v.length == length && v.reason[0] == '\0');
			}
			if (nul != NULL &&
				hrm_maze_parse((const char *) nul + 1, size - len - 1, &answer, &err) == HRM_OK)
			{
				CHECK(hrm_maze_check(&m, &answer, &v, &err) == HRM_OK);
				CHECK(!v.shortest || v.valid);
				CHECK(strlen(v.reason) < sizeof(v.reason));
			}
		}
		else
			CHECK(err.code == HRM_ERR_INVALID);
	}
	else
		CHECK(err.code == HRM_ERR_FORMAT || err.code == HRM_ERR_SHAPE || err.code == HRM_ERR_LIMIT);

	/* the bytes as a token sequence: values 0..6 mostly, PAD-heavy */
	memset(tokens, 0, sizeof(tokens));
	for (size_t i = 0; i < size && i < HRM_MAZE_SEQ; i++)
		tokens[i] = data[i] < 200 ? data[i] % 7 : 0;
	if (hrm_maze_from_tokens(tokens, HRM_MAZE_SEQ, 0, &again, &err) == HRM_OK)
	{
		hrm_maze_to_tokens(&again, t1);
		CHECK(memcmp(tokens, t1, sizeof(t1)) == 0);
	}
	else
		CHECK(err.code == HRM_ERR_FORMAT || err.code == HRM_ERR_SHAPE);
	return 0;
}
