/*
 * fuzz_arc.c — libFuzzer target for ARC tasks in JSON (engine JSON reader
 * plus the task reader) and for the ARC token decoder and crop.
 *
 * Invariants (a violation traps):
 *   - a task that loads has only valid grids, and each grid goes through
 *     encode -> decode and encode -> crop unchanged, at any offset that fits,
 *     and encode refuses every offset that does not (INT_MIN .. INT_MAX);
 *   - augmentation followed by its inverse is the identity;
 *   - any 900-token sequence decodes or fails cleanly; a decoded one
 *     re-encodes at its offset to the same tokens; crop never fails.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static bool
same_grid(const hrm_arc_grid *a, const hrm_arc_grid *b)
{
	return a->rows == b->rows && a->cols == b->cols &&
		memcmp(a->cell, b->cell, (size_t) a->rows * a->cols) == 0;
}

static void
grid_invariants(const hrm_arc_grid *g, hrm_rng *rng)
{
	static hrm_arc_grid back,
				aug_grid;
	int32_t		tokens[HRM_ARC_SEQ];
	hrm_error	err;
	hrm_arc_aug aug,
				inv;
	int			r,
				c,
				r2,
				c2;

	CHECK(hrm_arc_grid_validate(g, &err) == HRM_OK);
	CHECK(hrm_arc_encode(g, 0, 0, tokens, &err) == HRM_OK);
	CHECK(hrm_arc_decode(tokens, HRM_ARC_SEQ, &back, &r, &c, &err) == HRM_OK);
	CHECK(same_grid(g, &back) && r == 0 && c == 0);
	CHECK(hrm_arc_crop(tokens, HRM_ARC_SEQ, &back, &err) == HRM_OK && same_grid(g, &back));

	hrm_arc_draw_offset(rng, g->rows, g->cols, &r, &c);
	CHECK(hrm_arc_encode(g, r, c, tokens, &err) == HRM_OK);
	CHECK(hrm_arc_decode(tokens, HRM_ARC_SEQ, &back, &r2, &c2, &err) == HRM_OK);
	CHECK(same_grid(g, &back) && r == r2 && c == c2);

	/* any offset, INT_MIN / INT_MAX included: encode succeeds exactly when the grid fits */
	for (int k = 0; k < 4; k++)
	{
		static const int32_t edge[] = {INT32_MIN, -1, 0, 29, 30, INT32_MAX - 29, INT32_MAX};
		uint64_t	u = hrm_rng_next(rng);
		int32_t		ro = (u & 1) ? edge[(u >> 1) % 7] : (int32_t) (uint32_t) (u >> 8);
		int32_t		co = (u & 2) ? edge[(u >> 4) % 7] : (int32_t) (uint32_t) (u >> 32);
		bool		fits = ro >= 0 && co >= 0 && ro <= HRM_ARC_MAX - g->rows && co <= HRM_ARC_MAX - g->cols;

		CHECK((hrm_arc_encode(g, ro, co, tokens, &err) == HRM_OK) == fits);
	}

	hrm_arc_aug_draw(rng, &aug);
	hrm_arc_aug_inverse(&aug, &inv);
	CHECK(hrm_arc_aug_apply(&aug, g, &aug_grid, &err) == HRM_OK);
	CHECK(hrm_arc_aug_apply(&inv, &aug_grid, &back, &err) == HRM_OK);
	CHECK(same_grid(g, &back));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hrm_arc_task task;
	hrm_arc_issue issue;
	hrm_error	err;
	hrm_rng		rng;
	int32_t		tokens[HRM_ARC_SEQ],
				again[HRM_ARC_SEQ];
	static hrm_arc_grid g;
	int			r,
				c;

	hrm_rng_seed(&rng, size);
	if (hrm_arc_task_parse((const char *) data, size, &task, &issue, &err) == HRM_OK)
	{
		CHECK(issue == HRM_ARC_ISSUE_NONE);
		for (int i = 0; i < task.n_train; i++)
		{
			CHECK(task.train[i].has_output);
			grid_invariants(&task.train[i].input, &rng);
			grid_invariants(&task.train[i].output, &rng);
		}
		for (int i = 0; i < task.n_test; i++)
		{
			grid_invariants(&task.test[i].input, &rng);
			if (task.test[i].has_output)
				grid_invariants(&task.test[i].output, &rng);
		}
	}
	else
		CHECK(issue != HRM_ARC_ISSUE_NONE || err.code == HRM_ERR_NOMEM);
	hrm_arc_task_free(&task);

	/* the bytes as a 900-token canvas: values 0..12, PAD-heavy */
	memset(tokens, 0, sizeof(tokens));
	for (size_t i = 0; i < size && i < HRM_ARC_SEQ; i++)
		tokens[i] = data[i] < 208 ? data[i] % 13 : 0;
	if (hrm_arc_decode(tokens, HRM_ARC_SEQ, &g, &r, &c, &err) == HRM_OK)
	{
		CHECK(hrm_arc_encode(&g, r, c, again, &err) == HRM_OK);
		CHECK(memcmp(tokens, again, sizeof(again)) == 0);
	}
	else
		CHECK(err.code == HRM_ERR_FORMAT);
	CHECK(hrm_arc_crop(tokens, HRM_ARC_SEQ, &g, &err) == HRM_OK);
	CHECK(g.rows >= 0 && g.rows <= HRM_ARC_MAX && g.cols >= 0 && g.cols <= HRM_ARC_MAX);
	return 0;
}
