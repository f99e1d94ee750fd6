/*
 * gemm_groups.h — how the packed products (gemm_avx512.c in float32,
 * gemm_bf16.c in bfloat16) walk their weights: by column groups, each
 * group's panels streamed by every row block while they stay in L2.
 *
 * With few row blocks (one puzzle's 82 rows are 7) on weights larger than
 * a group (the full-size model's, from memory), the product fetches ahead:
 * each kernel call prefetches its share of the *next* group into L2 while
 * the current group runs, so the weights stream in evenly instead of
 * stalling each group's first row block (which asked for them faster than
 * memory gives).  The current and the next group must both fit in L2
 * (1 MB here), hence smaller groups then, and they grow from one panel
 * (1, 2, 4, ... panels): nothing fetched the first group, so the product
 * starts by waiting for memory, and the smaller it is the shorter the
 * wait (two threads split the panels, so each range's first group is a
 * larger share of its work); each later group is at most twice the one
 * during which it is fetched.  The full-size model's one-puzzle solve on
 * one thread: +7%, measured side by side.  Taller products (training
 * tiles, batches) re-read each group over many blocks, and weights of one
 * group stay in cache: both keep the large groups and fetch nothing.
 *
 * Which rows and panels a call computes, and in what order it sums, do not
 * depend on any of this: the results are the same bits either way.
 */
#ifndef HRM_GEMM_GROUPS_H
#define HRM_GEMM_GROUPS_H

#include "parallel.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define HRM_GROUP_BYTES ((size_t) 768 * 1024)	/* packed B per column group (L2 is 1 MB) */
#define HRM_AHEAD_BLOCKS 8		/* at most this many row blocks: fetch the next group ahead */
#define HRM_AHEAD_GROUP_BYTES ((size_t) 256 * 1024) /* the largest group then (two in L2) */

/* The walk over panels [p0, p1) of panel_bytes each, by nblk row blocks. */
typedef struct hrm_groups
{
	bool		ahead;			/* fetch the next group ahead */
	int			group;			/* panels per group (the largest, when ahead) */
	int			p1;				/* one past the last panel */
} hrm_groups;

static inline hrm_groups
hrm_groups_plan(int nblk, int p0, int p1, size_t panel_bytes)
{
	hrm_groups	g;

	g.ahead = nblk <= HRM_AHEAD_BLOCKS && (size_t) (p1 - p0) * panel_bytes > HRM_GROUP_BYTES;
	g.group = (int) ((g.ahead ? HRM_AHEAD_GROUP_BYTES : HRM_GROUP_BYTES) / panel_bytes);
	if (g.group < 1)
		g.group = 1;
	g.p1 = p1;
	return g;
}

/* The first group's panels. */
static inline int
hrm_groups_first(const hrm_groups *g)
{
	return g->ahead ? 1 : g->group;
}

/* The group after one of gsz panels (up to the largest). */
static inline int
hrm_groups_grow(const hrm_groups *g, int gsz)
{
	return gsz * 2 < g->group ? gsz * 2 : g->group;
}

/*
 * The current group is panels [pg, pend) of gsz; the next one starts at
 * pend.  Of the next group's lines (line_elems elements of a 64-byte
 * line, panel_elems elements a panel), the share of call (block bi, panel
 * p) of the current group, its calls taking consecutive shares block by
 * block and panel by panel: *first (element offset from the next group's
 * start) and the count of lines; 0 when not fetching ahead or at the end.
 */
static inline int
hrm_groups_share(const hrm_groups *g, int nblk, int pg, int pend, int gsz, int bi, int p,
				 size_t panel_elems, size_t line_elems, size_t *first)
{
	int			gnext;
	size_t		lines,
				calls,
				idx,
				l0,
				l1;

	if (!g->ahead)
		return 0;
	gnext = hrm_groups_grow(g, gsz);
	if (pend + gnext > g->p1)
		gnext = g->p1 - pend;
	if (gnext <= 0)
		return 0;
	lines = (size_t) gnext * panel_elems / line_elems;
	calls = (size_t) nblk * (size_t) (pend - pg);
	idx = (size_t) bi * (size_t) (pend - pg) + (size_t) (p - pg);
	l0 = lines * idx / calls;
	l1 = lines * (idx + 1) / calls;
	*first = l0 * line_elems;
	return (int) (l1 - l0);
}

/*
 * Products split by columns balance their ranges (parallel.h, hrm_range):
 * the two cores here do not run at one speed (one puzzle on two threads
 * measured the pair's time ratio wandering from 0.6 to 1.1 over tenths of
 * a second: another tenant's load, interrupts), and a worker woken a
 * little late starts behind, so with fixed halves every product waited for
 * the slower thread.  Each thread takes its own range's groups from the
 * front, in order, as before (and fetches ahead from there); a thread done
 * with its own takes single panels from the back of the others'.  Which
 * thread computes a panel changes nothing in it: the same kernel calls on
 * the same rows, the same bits.
 *
 * gemm.c: the count of panels taken from another thread's range
 * (hrm_gemm_panels_rebalanced), and the test delay of the owners past the
 * first (hrm_gemm_test_owner_delay).
 */
extern _Atomic unsigned long hrm_gemm_rebalanced;
extern int	hrm_gemm_owner_delay_us;

/* Range i's owner starting (waits the test delay, when set). */
void		hrm_range_owner_start(int i);

#endif							/* HRM_GEMM_GROUPS_H */
