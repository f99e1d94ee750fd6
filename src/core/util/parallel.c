/*
 * parallel.c — a persistent worker pool with static task assignment (see
 * parallel.h).
 *
 * One job at a time: the caller publishes (fn, arg, n, T) under the mutex,
 * bumps the generation and broadcasts; worker t (1..T-1) runs task t, then
 * takes the tasks left one at a time from a shared counter, and counts
 * itself done; the caller does the same as thread 0, then waits for the
 * count.  Workers past the job's T just go back to sleep.
 */
#include "parallel.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * Before sleeping, a worker waits for the next job, and the caller for
 * the workers to finish, by polling for a short while (SPIN_ROUNDS pause
 * instructions, some tens of microseconds): one puzzle on two threads runs
 * about 120 jobs per segment, a few hundred microseconds each, and a
 * wake-up through the condition variable costs more than the gap between
 * them.  The poll only reads atomics; the mutex and condition variables
 * stay the protocol, so a thread that finds nothing sleeps as before.
 */
#define SPIN_ROUNDS 4000

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;

/*
 * One wake-up per worker: a job of T threads wakes workers 1..T-1 only, so
 * the workers a larger thread count once started (hrm.threads lowered
 * again) sleep through it instead of waking and spinning on every job.
 */
static pthread_cond_t worker_go[HRM_MAX_THREADS];

static int	want_threads = 1;	/* hrm_parallel_set_threads */
static int	n_workers = 0;		/* started workers (threads 1..n_workers) */
static bool start_failed = false;

/* the current job (job_gen and job_pending written under pool_mu; atomic for the polls) */
static _Atomic unsigned long job_gen = 0;
static hrm_task_fn job_fn;
static void *job_arg;
static int	job_n;
static int	job_T;
static _Atomic int job_pending;
static _Atomic int job_next;	/* the next task not taken (tasks 0..T-1 are the threads' own) */

static bool job_busy = false;	/* a job is in flight (other callers run inline) */

static unsigned long worker_gen0[HRM_MAX_THREADS];	/* job_gen when worker t was created */

static _Thread_local int in_task = 0;
static _Thread_local int cur_thread = 0;

void
hrm_parallel_set_threads(int n)
{
	if (n < 1)
		n = 1;
	if (n > HRM_MAX_THREADS)
		n = HRM_MAX_THREADS;
	want_threads = n;
}

int
hrm_parallel_threads(void)
{
	return want_threads;
}

int
hrm_parallel_active(void)
{
	return in_task;
}

/*
 * Thread t's tasks: task t, then whichever are left (job_next), so that a
 * thread woken late or running on a slower core takes fewer of them.
 */
static void
run_share(hrm_task_fn fn, void *arg, int n, int t)
{
	in_task = 1;
	cur_thread = t;
	for (int i = t; i < n; i = atomic_fetch_add_explicit(&job_next, 1, memory_order_relaxed))
		fn(arg, i, t);
	cur_thread = 0;
	in_task = 0;
}

/* every task on the calling thread, which keeps its thread index */
static void
run_inline(hrm_task_fn fn, void *arg, int n)
{
	int			was = in_task;

	in_task = 1;
	for (int i = 0; i < n; i++)
		fn(arg, i, cur_thread);
	in_task = was;
}

static void *
worker_main(void *p)
{
	int			t = (int) (long) p;
	unsigned long seen = 0;
	bool		took_part = true;	/* in the last job: poll for the next one before sleeping */

	pthread_mutex_lock(&pool_mu);
	/* jobs published after this worker was created are its to run, even if it starts late */
	seen = worker_gen0[t];
	for (;;)
	{
		hrm_task_fn fn;
		void	   *arg;
		int			n;

		if (job_gen == seen && took_part)
		{
			/* poll a little before sleeping: the next job usually follows at once */
			pthread_mutex_unlock(&pool_mu);
			for (int i = 0; i < SPIN_ROUNDS &&
				 atomic_load_explicit(&job_gen, memory_order_acquire) == seen; i++)
				cpu_relax();
			pthread_mutex_lock(&pool_mu);
		}
		while (job_gen == seen)
			pthread_cond_wait(&worker_go[t], &pool_mu);
		seen = job_gen;
		took_part = t < job_T;
		if (!took_part)
			continue;		/* a job of fewer threads: sleep until one needs this worker */
		fn = job_fn;
		arg = job_arg;
		n = job_n;
		pthread_mutex_unlock(&pool_mu);

		run_share(fn, arg, n, t);

		pthread_mutex_lock(&pool_mu);
		if (--job_pending == 0)
			pthread_cond_signal(&pool_done);
	}
	return NULL;
}

/* Start workers up to T - 1 (under pool_mu); returns how many threads can run. */
static int
ensure_workers(int T)
{
	sigset_t	all,
				old;

	if (n_workers >= T - 1 || start_failed)
		return n_workers + 1 < T ? n_workers + 1 : T;
	/* workers inherit the mask: block everything so signals go to the caller's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (n_workers < T - 1)
	{
		pthread_t	th;
		pthread_attr_t attr;
		int			rc;

		worker_gen0[n_workers + 1] = job_gen;
		pthread_cond_init(&worker_go[n_workers + 1], NULL);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&th, &attr, worker_main, (void *) (long) (n_workers + 1));
		pthread_attr_destroy(&attr);
		if (rc != 0)
		{
			start_failed = true;
			break;
		}
		n_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n_workers + 1 < T ? n_workers + 1 : T;
}

void
hrm_parallel_for(int n, hrm_task_fn fn, void *arg)
{
	int			T = want_threads < n ? want_threads : n;

	if (n <= 0)
		return;
	if (T <= 1 || in_task)
	{
		run_inline(fn, arg, n);
		return;
	}
	pthread_mutex_lock(&pool_mu);
	if (job_busy || (T = ensure_workers(T)) <= 1)
	{
		/* another thread of the process owns the pool, or no workers */
		pthread_mutex_unlock(&pool_mu);
		run_inline(fn, arg, n);
		return;
	}
	job_busy = true;
	job_fn = fn;
	job_arg = arg;
	job_n = n;
	job_T = T;
	job_pending = T - 1;
	atomic_store_explicit(&job_next, T, memory_order_relaxed);
	job_gen++;
	for (int t = 1; t < T; t++)
		pthread_cond_signal(&worker_go[t]);
	pthread_mutex_unlock(&pool_mu);

	run_share(fn, arg, n, 0);

	for (int i = 0; i < SPIN_ROUNDS && atomic_load_explicit(&job_pending, memory_order_acquire) > 0; i++)
		cpu_relax();
	pthread_mutex_lock(&pool_mu);
	while (job_pending > 0)
		pthread_cond_wait(&pool_done, &pool_mu);
	job_busy = false;
	pthread_mutex_unlock(&pool_mu);
}
