/*
 * fuzz_sudoku.c — libFuzzer target for the Sudoku text and token parsers,
 * and for the solver, checker and augmentation on whatever parses.
 *
 * Invariants (a violation traps):
 *   - parsed text formats back to text that parses to the same cells;
 *   - cells -> tokens -> cells is the identity;
 *   - any token sequence either decodes or fails cleanly, and a decoded one
 *     encodes back to the same tokens;
 *   - a solution the solver returns is complete, valid and keeps the givens;
 *   - augmentation followed by its inverse is the identity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sudoku.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Stop searches that run long: an arbitrary puzzle must not hang the fuzzer. */
static bool
budget(void *arg)
{
	int		   *polls = arg;

	return ++(*polls) > 25;		/* about 100k guesses */
}

static uint64_t
hash_bytes(const uint8_t *data, size_t size)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		cells[HRM_SUDOKU_CELLS],
				again[HRM_SUDOKU_CELLS],
				solution[HRM_SUDOKU_CELLS];
	int32_t		tokens[HRM_SUDOKU_CELLS];
	char		text[HRM_SUDOKU_CELLS + 1];
	hrm_error	err;

	/* the bytes as text */
	if (hrm_sudoku_parse((const char *) data, size, cells, &err) == HRM_OK)
	{
		hrm_sudoku_verdict v;
		hrm_sudoku_aug aug;
		hrm_rng		rng;
		int			polls = 0;
		int			n;

		hrm_sudoku_format(cells, text);
		CHECK(strlen(text) == HRM_SUDOKU_CELLS);
		CHECK(hrm_sudoku_parse(text, HRM_SUDOKU_CELLS, again, &err) == HRM_OK);
		CHECK(memcmp(cells, again, HRM_SUDOKU_CELLS) == 0);

		hrm_sudoku_to_tokens(cells, tokens);
		CHECK(hrm_sudoku_from_tokens(tokens, HRM_SUDOKU_CELLS, again, &err) == HRM_OK);
		CHECK(memcmp(cells, again, HRM_SUDOKU_CELLS) == 0);

		n = hrm_sudoku_count_poll(cells, 2, solution, NULL, budget, &polls);
		CHECK(n >= -1 && n <= 2);
		if (n >= 1)
		{
			hrm_sudoku_check(cells, solution, &v);
			CHECK(v.valid && v.keeps_givens && v.reason[0] == '\0');
		}
		hrm_sudoku_check(cells, cells, &v);
		CHECK(strlen(v.reason) < sizeof(v.reason));

		hrm_rng_seed(&rng, hash_bytes(data, size));
		hrm_sudoku_aug_draw(&rng, &aug);
		CHECK(hrm_sudoku_aug_validate(&aug, &err) == HRM_OK);
		hrm_sudoku_aug_apply_cells(&aug, cells, again);
		hrm_sudoku_aug_invert_cells(&aug, again, again);
		CHECK(memcmp(cells, again, HRM_SUDOKU_CELLS) == 0);
	}

	/* the bytes as a token sequence (one byte per token, shifted to reach negatives) */
	if (size >= 1)
	{
		size_t		n = size - 1 < HRM_SUDOKU_CELLS ? size - 1 : HRM_SUDOKU_CELLS;
		int32_t		in[HRM_SUDOKU_CELLS],
					out[HRM_SUDOKU_CELLS];
		size_t		claimed = data[0] % 2 ? HRM_SUDOKU_CELLS : n;

		memset(in, 0, sizeof(in));
		for (size_t i = 0; i < n; i++)
			in[i] = (int32_t) data[i + 1] - 4;
		if (hrm_sudoku_from_tokens(in, claimed, cells, &err) == HRM_OK)
		{
			hrm_sudoku_to_tokens(cells, out);
			CHECK(memcmp(in, out, sizeof(out)) == 0);
		}
		else
			CHECK(err.code == HRM_ERR_SHAPE || err.code == HRM_ERR_FORMAT);
		{
			hrm_sudoku_aug aug;
			hrm_rng		rng;

			hrm_rng_seed(&rng, size);
			hrm_sudoku_aug_draw(&rng, &aug);
			if (hrm_sudoku_aug_apply_tokens(&aug, in, out, &err) == HRM_OK)
			{
				CHECK(hrm_sudoku_aug_invert_tokens(&aug, out, out, &err) == HRM_OK);
				CHECK(memcmp(in, out, sizeof(out)) == 0);
			}
		}
	}
	return 0;
}
