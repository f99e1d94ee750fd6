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

#define HRM_MAX_THREADS 64

typedef void (*hrm_task_fn) (void *arg, int task, int thread);

/* Pool size for the engine's kernels (1..HRM_MAX_THREADS; values out of range are clamped). */
void		hrm_parallel_set_threads(int n);
int			hrm_parallel_threads(void);

/* True inside a task (nested calls run inline). */
int			hrm_parallel_active(void);

void		hrm_parallel_for(int n, hrm_task_fn fn, void *arg);

#endif							/* HRM_PARALLEL_H */
