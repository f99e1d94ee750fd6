/*
 * parallel.h — the engine's own worker threads for its kernels.
 *
 * A small persistent pool: hrm_parallel_for(n, fn, arg) runs fn(arg, i, t)
 * for every task i in [0, n) on one of T threads (T = the pool size,
 * caller included as thread 0) and returns when all are done.  Thread t
 * runs task t first, then takes the tasks left one at a time, so which
 * thread runs a task beyond the first T depends on timing: a task must
 * compute the same thing whichever thread runs it (scratch indexed by t is
 * private to the thread while the task runs).  Workers poll briefly, then
 * sleep on a condition variable between calls, block every signal (a
 * PostgreSQL backend's handlers run on its main thread only) and never
 * call anything outside the engine.  Calls from inside a task, with one
 * thread, while another thread of the process has a job in flight, or when
 * threads cannot be created run every task inline on the caller, with the
 * caller's thread index (so a nested call must not use per-thread scratch
 * of its own).
 */
#ifndef HRM_PARALLEL_H
#define HRM_PARALLEL_H

#include <stdatomic.h>
#include <stdint.h>

#define HRM_MAX_THREADS 64

typedef void (*hrm_task_fn) (void *arg, int task, int thread);

/* Pool size for the engine's kernels (1..HRM_MAX_THREADS; values out of range are clamped). */
void		hrm_parallel_set_threads(int n);
int			hrm_parallel_threads(void);

/* True inside a task (nested calls run inline). */
int			hrm_parallel_active(void);

void		hrm_parallel_for(int n, hrm_task_fn fn, void *arg);

/*
 * A range of work items (a product's column panels, the attention's heads)
 * owned by one thread and shared with the others: the owner takes items
 * from the front, in order (keeping what it computes next to what it
 * computed before, in its own cache); a thread done with its own range
 * takes single items from the back of the others', so that threads on
 * cores of different speeds, or woken late, finish together.  Every item
 * is taken exactly once.  The task that owns range i of T runs
 * hrm_range_front on it until it returns 0, then hrm_range_other until -1;
 * the job's join publishes the results.
 */
typedef struct hrm_range
{
	_Atomic uint64_t fb;		/* front (low 32 bits), back (high 32 bits): items not taken */
	int			p0,				/* the range's items: [p0, p1) */
				p1;
} hrm_range;

static inline void
hrm_range_init(hrm_range *r, int p0, int p1)
{
	r->p0 = p0;
	r->p1 = p1;
	atomic_init(&r->fb, (uint64_t) (uint32_t) (p1 - p0) << 32);
}

/* n items in T contiguous ranges r[0 .. T-1], as even as whole items allow. */
static inline void
hrm_range_split(hrm_range *r, int T, int n)
{
	for (int i = 0; i < T; i++)
		hrm_range_init(&r[i], (int) ((long) n * i / T), (int) ((long) n * (i + 1) / T));
}

/*
 * The owner: up to n items from the front, but not more than half of what
 * is left (so that near the end the others have items to take instead of
 * waiting for a whole group); how many (0: none left), the first at
 * *first (relative to p0).
 */
static inline int
hrm_range_front(hrm_range *r, int n, int *first)
{
	uint64_t	s = atomic_load_explicit(&r->fb, memory_order_relaxed);

	for (;;)
	{
		uint32_t	f = (uint32_t) s,
					b = (uint32_t) (s >> 32),
					half = (b - f + 1) / 2,
					take = half < (uint32_t) n ? half : (uint32_t) n;

		if (take == 0)
			return 0;
		if (atomic_compare_exchange_weak_explicit(&r->fb, &s, ((uint64_t) b << 32) | (f + take),
												  memory_order_relaxed, memory_order_relaxed))
		{
			*first = (int) f;
			return (int) take;
		}
	}
}

/* Another thread: the last item not taken (relative to p0), or -1. */
static inline int
hrm_range_back(hrm_range *r)
{
	uint64_t	s = atomic_load_explicit(&r->fb, memory_order_relaxed);

	for (;;)
	{
		uint32_t	f = (uint32_t) s,
					b = (uint32_t) (s >> 32);

		if (b <= f)
			return -1;
		if (atomic_compare_exchange_weak_explicit(&r->fb, &s, ((uint64_t) (b - 1) << 32) | f,
												  memory_order_relaxed, memory_order_relaxed))
			return (int) (b - 1);
	}
}

/*
 * The owner of range i of the T in r, done with its own: the last item not
 * taken of another range (its index, p0 included), or -1 when none is left.
 */
static inline int
hrm_range_other(hrm_range *r, int T, int i)
{
	for (int d = 1; d < T; d++)
	{
		hrm_range  *o = &r[(i + d) % T];
		int			p = hrm_range_back(o);

		if (p >= 0)
			return o->p0 + p;
	}
	return -1;
}

#endif							/* HRM_PARALLEL_H */
