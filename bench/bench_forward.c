/*
 * bench_forward.c — inference throughput of the engine (issue 2, item 6).
 *
 * For each model shape (sudoku-tiny from the fixture's metadata, and the
 * full-size Sudoku config: hidden 512, 8 heads, 4+4 layers, 2x2 cycles,
 * seq 81 + 1 puzzle slot, vocab 11, random weights), each BLAS thread count
 * and each batch size B, it measures:
 *
 *   engine   hrm_segment_forward on B rows: segments/s, example-segments/s
 *            and GFLOP/s (hrm_segment_flops), median of --reps timed
 *            repetitions after a warm-up;
 *   sgemm    cblas_sgemm alone on the SAME shapes a block runs, M = B*S rows,
 *            weights [out, in] with the transposed-weight call:
 *              qkv     [M, D]  x [3D, D]^T
 *              o       [M, D]  x [D, D]^T
 *              gate_up [M, D]  x [2I, D]^T
 *              down    [M, I]  x [D, I]^T
 *            each timed (median of --reps), the rate FLOP-weighted over the
 *            four: sum(flops) / sum(times);
 *   ratio    engine GFLOP/s / sgemm GFLOP/s.
 *
 * --profile (instead of the table) times every op of the segment separately
 * (the same kernel calls as src/core/nn/forward.c and layers.c, with timers
 * around them), alternating with plain segments, and prints where the time
 * goes.  --whatif (instead of the table) times variants of the segment
 * that each change one thing (see struct whatif), against the plain one.
 *
 * Output: a human-readable table, or with --csv one line per measurement:
 *   engine,<model>,<threads>,<B>,<seg/s>,<ex*seg/s>,<GFLOP/s>,<sgemm GFLOP/s>,<ratio>,<corename>,
 *          <sgemm qkv>,<o>,<gate_up>,<down>,<best-repetition GFLOP/s>,
 *          <engine GFLOP per CPU-s>,<sgemm GFLOP per CPU-s>,<CPU-time ratio>,<engine CPU share>
 * The CPU-time figures (process CPU time, all threads) do not count the time
 * the process waits for a core on a shared machine; at 1 thread they are the
 * rate the engine runs at when it has the core.
 * Engine and sgemm repetitions alternate, so both see the same machine load;
 * the ratio is the median of the per-repetition ratios.
 */
#include "forward.h"
#include "hrm_internal.h"
#include "layers.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* not in every cblas.h, but exported by every OpenBLAS */
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

#define MAX_LIST 16

typedef struct opts
{
	int			batches[MAX_LIST];
	int			n_batches;
	int			threads[MAX_LIST];
	int			n_threads;
	int			reps;
	double		min_time;		/* seconds per timed repetition (at least one segment) */
	bool		csv;
	bool		profile;
	bool		whatif;
	bool		do_tiny;
	bool		do_full;
	bool		no_sgemm;
	const char *fixture;
} opts;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads). */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int
parse_list(const char *s, int *out)
{
	int			n = 0;

	while (*s && n < MAX_LIST)
	{
		char	   *end;
		long		v = strtol(s, &end, 10);

		if (end == s || v < 1)
			return -1;
		out[n++] = (int) v;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return n;
}

static void
die(const char *what, const hrm_error *err)
{
	fprintf(stderr, "bench_forward: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

/* ------------------------------------------------------------------------- */
/* models */

typedef struct bench_model
{
	const char *name;
	hrm_layout	lay;
	float	   *params;
	hrm_model	m;
	bool		from_fixture;	/* weights read from the fixture (else random) */
} bench_model;

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc(n > 0 ? n : 1);
	if (buf != NULL && fread(buf, 1, n, f) != (size_t) n)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Random weights: N(0, 1/fan_in) for [out, in] matrices; N(0, 1) for H_init / L_init. */
static void
random_params(const hrm_layout *lay, float *p, uint64_t seed)
{
	hrm_rng		r;

	hrm_rng_seed(&r, seed);
	for (int t = 0; t < lay->n_tensors; t++)
	{
		const hrm_tensor_info *ti = &lay->tensors[t];
		double		std;

		if (ti->kind == HRM_PK_SPARSE)
			std = 0.0;			/* the reference's puzzle embedding starts at zero */
		else if (ti->ndim == 1)
			std = strstr(ti->name, "bias") ? 0.0 : 1.0;
		else
			std = 1.0 / sqrt((double) ti->shape[ti->ndim - 1]);
		for (size_t i = 0; i < ti->numel; i++)
			p[ti->offset + i] = (float) (std * hrm_rng_normal(&r));
	}
}

static void
model_setup(bench_model *bm, const char *name, hrm_config *cfg, const hrm_safetensors *st)
{
	hrm_error	err;

	memset(bm, 0, sizeof(*bm));
	bm->name = name;
	if (hrm_config_validate(cfg, &err) != HRM_OK)
		die("config", &err);
	if (hrm_layout_init(&bm->lay, cfg, &err) != HRM_OK)
		die("layout", &err);
	bm->params = hrm_alloc(bm->lay.n_params, sizeof(float));
	if (bm->params == NULL)
		die("out of memory for the parameters", NULL);
	if (st != NULL && hrm_load_params(&bm->lay, st, bm->params, &err) == HRM_OK)
		bm->from_fixture = true;
	else
		random_params(&bm->lay, bm->params, 20240611);
	if (hrm_model_init(&bm->m, &bm->lay, bm->params, &err) != HRM_OK)
		die("model", &err);
}

static void
model_free(bench_model *bm)
{
	hrm_model_free(&bm->m);
	hrm_free(bm->params);
	hrm_layout_free(&bm->lay);
}

/* sudoku-tiny: the configuration in the fixture's metadata (and its weights). */
static void
setup_tiny(bench_model *bm, const char *path)
{
	hrm_config	cfg;
	hrm_error	err;
	size_t		len = 0;
	uint8_t    *buf = read_file(path, &len);
	hrm_safetensors st;

	if (buf != NULL && hrm_st_parse(buf, len, &st, &err) == HRM_OK)
	{
		if (hrm_config_from_safetensors(&st, &cfg, &err) != HRM_OK)
			die(path, &err);
		model_setup(bm, "sudoku-tiny", &cfg, &st);
		hrm_st_free(&st);
		free(buf);
		return;
	}
	fprintf(stderr, "bench_forward: cannot read %s; using the sudoku-tiny shape with random weights\n", path);
	free(buf);
	hrm_config_defaults(&cfg);
	cfg.seq_len = 81;
	cfg.vocab_size = 11;
	cfg.num_puzzle_identifiers = 1;
	cfg.puzzle_emb_ndim = 64;
	cfg.hidden_size = 64;
	cfg.num_heads = 2;
	cfg.H_layers = cfg.L_layers = 2;
	cfg.H_cycles = cfg.L_cycles = 2;
	model_setup(bm, "sudoku-tiny", &cfg, NULL);
}

/* The full-size Sudoku model of the reference (hrm_v1.yaml), random weights. */
static void
setup_full(bench_model *bm)
{
	hrm_config	cfg;

	hrm_config_defaults(&cfg);
	cfg.seq_len = 81;
	cfg.vocab_size = 11;
	cfg.num_puzzle_identifiers = 1;
	cfg.puzzle_emb_ndim = 512;
	cfg.hidden_size = 512;
	cfg.num_heads = 8;
	cfg.H_layers = cfg.L_layers = 4;
	cfg.H_cycles = cfg.L_cycles = 2;
	model_setup(bm, "sudoku-full", &cfg, NULL);
}

/* ------------------------------------------------------------------------- */
/* engine timing */

typedef struct run_state
{
	const hrm_model *m;
	hrm_workspace *ws;
	hrm_carry	carry;
	int32_t    *inputs;
	int32_t    *pids;
	float	   *logits;
	float	   *q;
} run_state;

static void
run_init(run_state *rs, const hrm_model *m, int B)
{
	const hrm_config *c = m->cfg;
	hrm_error	err;
	hrm_rng		r;

	memset(rs, 0, sizeof(*rs));
	rs->m = m;
	if (hrm_carry_init(&rs->carry, m, B, &err) != HRM_OK)
		die("carry", &err);
	rs->ws = hrm_workspace_create(m, B, &err);
	if (rs->ws == NULL)
		die("workspace", &err);
	rs->inputs = malloc(sizeof(int32_t) * B * c->seq_len);
	rs->pids = calloc(B, sizeof(int32_t));
	rs->logits = malloc(sizeof(float) * B * c->seq_len * c->vocab_size);
	rs->q = malloc(sizeof(float) * B * 2);
	if (!rs->inputs || !rs->pids || !rs->logits || !rs->q)
		die("out of memory", NULL);
	hrm_rng_seed(&r, 7);
	for (int i = 0; i < B * c->seq_len; i++)
		rs->inputs[i] = (int32_t) hrm_rng_below(&r, c->vocab_size);
	hrm_carry_reset(&rs->carry, m, NULL);
}

static void
run_free(run_state *rs)
{
	hrm_carry_free(&rs->carry);
	hrm_workspace_free(rs->ws);
	free(rs->inputs);
	free(rs->pids);
	free(rs->logits);
	free(rs->q);
}

static void
run_segment(run_state *rs)
{
	hrm_error	err;

	if (hrm_segment_forward(rs->m, rs->ws, &rs->carry, rs->inputs, rs->pids, rs->logits, rs->q,
							&err) != HRM_OK)
		die("segment", &err);
}

/* Segments per timed repetition so that one lasts >= min_time (after a warm-up). */
static int
calibrate_engine(run_state *rs, const opts *o, double *per_out)
{
	double		t0,
				per;

	t0 = now();
	run_segment(rs);
	per = now() - t0;
	if (per < o->min_time)
	{
		/* short segments: warm up for about min_time more */
		int			n = (int) ceil(o->min_time / fmax(per, 1e-7));

		t0 = now();
		for (int i = 0; i < n; i++)
			run_segment(rs);
		per = (now() - t0) / n;
	}
	*per_out = per;
	return per < o->min_time ? (int) ceil(o->min_time / fmax(per, 1e-7)) : 1;
}

/* Wall seconds per segment; CPU seconds per segment in *cpu (may be NULL). */
static double
time_engine_rep(run_state *rs, int n, double *cpu)
{
	double		c0 = cpu_now(),
				t0 = now(),
				t;

	for (int i = 0; i < n; i++)
		run_segment(rs);
	t = (now() - t0) / n;
	if (cpu)
		*cpu = (cpu_now() - c0) / n;
	return t;
}

/* ------------------------------------------------------------------------- */
/* sgemm on the block's shapes */

/* out[M,N] = A[M,K] W[N,K]^T, the engine's hrm_matmul_forward call. */
typedef struct gemm_op
{
	const char *name;
	int			M,
				N,				/* out */
				K;				/* in */
	float	   *A,
			   *W,
			   *C;
	int			n;				/* calls per timed repetition */
} gemm_op;

static void
gemm_call(const gemm_op *g)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->M, g->N, g->K,
				1.0f, g->A, g->K, g->W, g->K, 0.0f, g->C, g->N);
}

static void
gemm_ops_init(gemm_op *g, const hrm_config *c, int B, const opts *o)
{
	int			M = B * c->S,
				D = c->hidden_size,
				Iw = c->inter_size;
	gemm_op		shapes[4] = {{"qkv", M, 3 * D, D}, {"o", M, D, D}, {"gate_up", M, 2 * Iw, D},
	{"down", M, D, Iw}};
	hrm_rng		r;

	hrm_rng_seed(&r, 11);
	for (int i = 0; i < 4; i++)
	{
		double		t0,
					per;

		g[i] = shapes[i];
		g[i].A = hrm_alloc((size_t) g[i].M * g[i].K, sizeof(float));
		g[i].W = hrm_alloc((size_t) g[i].N * g[i].K, sizeof(float));
		g[i].C = hrm_alloc((size_t) g[i].M * g[i].N, sizeof(float));
		if (!g[i].A || !g[i].W || !g[i].C)
			die("out of memory for the sgemm operands", NULL);
		for (size_t k = 0; k < (size_t) g[i].M * g[i].K; k++)
			g[i].A[k] = (float) hrm_rng_normal(&r);
		for (size_t k = 0; k < (size_t) g[i].N * g[i].K; k++)
			g[i].W[k] = (float) (hrm_rng_normal(&r) / sqrt(g[i].K));
		/* warm-up and calibration: a repetition of one shape lasts >= min_time / 4 */
		gemm_call(&g[i]);
		t0 = now();
		gemm_call(&g[i]);
		gemm_call(&g[i]);
		per = (now() - t0) / 2;
		g[i].n = per < o->min_time / 4 ? (int) ceil(o->min_time / 4 / fmax(per, 1e-8)) : 1;
	}
}

static void
gemm_ops_free(gemm_op *g)
{
	for (int i = 0; i < 4; i++)
	{
		hrm_free(g[i].A);
		hrm_free(g[i].W);
		hrm_free(g[i].C);
	}
}

/* One repetition: wall seconds per call of each shape into t[4], CPU seconds into c[4]. */
static void
time_gemm_rep(const gemm_op *g, double *t, double *c)
{
	for (int i = 0; i < 4; i++)
	{
		double		c0 = cpu_now(),
					t0 = now();

		for (int k = 0; k < g[i].n; k++)
			gemm_call(&g[i]);
		t[i] = (now() - t0) / g[i].n;
		c[i] = (cpu_now() - c0) / g[i].n;
	}
}

static double
gemm_flops(const gemm_op *g)
{
	return 2.0 * g->M * g->N * g->K;
}

/*
 * Engine and sgemm measured in alternation, repetition by repetition, so both
 * see the same machine load.  Returns medians: seconds per segment, the
 * FLOP-weighted sgemm rate (GFLOP/s), the per-shape sgemm rates and the
 * median of the per-repetition ratios engine/sgemm.
 */
typedef struct pair_result
{
	double		seg;			/* s per segment (median) */
	double		seg_min;		/* s per segment (best repetition) */
	double		sgemm;			/* GFLOP/s (median over repetitions of the weighted rate) */
	double		shape[4];		/* GFLOP/s per shape (median) */
	double		ratio;			/* median of per-repetition engine/sgemm */
	/* the same on process CPU time (robust to a shared machine at 1 thread) */
	double		cpu_gf;			/* engine GFLOP per CPU second (median) */
	double		cpu_sgemm;		/* sgemm GFLOP per CPU second (median) */
	double		cpu_ratio;		/* median of per-repetition engine/sgemm on CPU time */
	double		cpu_share;		/* engine CPU seconds / (wall seconds * threads) (median) */
} pair_result;

static void
time_pair(run_state *rs, const hrm_config *c, int B, int threads, const opts *o, pair_result *res)
{
	gemm_op		g[4];
	double		seg[64],
				seg_sorted[64],
				sg[64],
				ratio[64],
				shape[4][64],
				cgf[64],
				csg[64],
				cratio[64],
				cshare[64],
				per;
	double		fseg = hrm_segment_flops(c, B),
				fg = 0;
	int			n = calibrate_engine(rs, o, &per);

	memset(res, 0, sizeof(*res));
	if (!o->no_sgemm)
	{
		gemm_ops_init(g, c, B, o);
		for (int i = 0; i < 4; i++)
			fg += gemm_flops(&g[i]);
	}
	for (int r = 0; r < o->reps; r++)
	{
		double		cpu;

		seg[r] = time_engine_rep(rs, n, &cpu);
		cgf[r] = fseg / cpu * 1e-9;
		cshare[r] = cpu / (seg[r] * threads);
		if (!o->no_sgemm)
		{
			double		t[4],
						ct[4],
						tt = 0,
						ctt = 0;

			time_gemm_rep(g, t, ct);
			for (int i = 0; i < 4; i++)
			{
				tt += t[i];
				ctt += ct[i];
				shape[i][r] = gemm_flops(&g[i]) / t[i] * 1e-9;
			}
			sg[r] = fg / tt * 1e-9;
			ratio[r] = (fseg / seg[r] * 1e-9) / sg[r];
			csg[r] = fg / ctt * 1e-9;
			cratio[r] = cgf[r] / csg[r];
		}
	}
	memcpy(seg_sorted, seg, sizeof(double) * o->reps);
	res->seg = median(seg_sorted, o->reps);
	res->seg_min = seg_sorted[0];
	res->cpu_gf = median(cgf, o->reps);
	res->cpu_share = median(cshare, o->reps);
	if (!o->no_sgemm)
	{
		res->cpu_sgemm = median(csg, o->reps);
		res->cpu_ratio = median(cratio, o->reps);
		res->sgemm = median(sg, o->reps);
		res->ratio = median(ratio, o->reps);
		for (int i = 0; i < 4; i++)
			res->shape[i] = median(shape[i], o->reps);
		gemm_ops_free(g);
	}
}

/* ------------------------------------------------------------------------- */
/* profile: the segment op by op with timers (same calls as forward.c) */

enum
{
	OP_EMBED, OP_INJECT, OP_QKV, OP_ROPE, OP_QK, OP_SOFTMAX, OP_PV, OP_O, OP_ADD, OP_NORM,
	OP_GATE_UP, OP_SWIGLU, OP_DOWN, OP_HEADS, N_OPS
};
static const char *op_names[N_OPS] = {
	"embed", "injection add", "gemm qkv", "rope", "attn QK^T gemm", "attn softmax", "attn PV gemm",
	"gemm o", "residual add", "rmsnorm", "gemm gate_up", "swiglu (expf)", "gemm down", "heads"
};

/*
 * What-if variants of the segment (--whatif), for the engine owner: the same
 * calls with one change each, to measure a proposal before it is made.
 *   attn1    the attention's per-head sgemm calls at 1 BLAS thread
 *            (openblas_set_num_threads(1) around the attention loop);
 *   beta1    o_proj and down_proj accumulate into the residual with beta = 1
 *            (no proj buffer, no separate residual add pass);
 *   (and, at 2+ threads, the rows split over threads: see split_part)
 *   vred     softmax and RMSNorm with their reductions (max, sum, sum of
 *            squares) over 16 independent partial accumulators, so they
 *            vectorise without -ffast-math (layers.c's single accumulators
 *            leave a sequential dependency chain of float adds).
 */
typedef struct whatif
{
	bool		attn1;
	bool		beta1;
	bool		vred;
} whatif;

#define VL 16

/* hrm_softmax_rows with lane-parallel reductions (same math, other summation order). */
static void
softmax_rows_vred(float *x, int M, int N)
{
	for (int m = 0; m < M; m++)
	{
		float	   *r = x + (size_t) m * N;
		float		mxv[VL],
					sv[VL],
					mx,
					sum = 0.0f,
					inv;
		int			j;

		for (int l = 0; l < VL; l++)
			mxv[l] = r[0];
		for (j = 0; j + VL <= N; j += VL)
			for (int l = 0; l < VL; l++)
				mxv[l] = r[j + l] > mxv[l] ? r[j + l] : mxv[l];
		mx = mxv[0];
		for (int l = 1; l < VL; l++)
			mx = mxv[l] > mx ? mxv[l] : mx;
		for (; j < N; j++)
			mx = r[j] > mx ? r[j] : mx;
		for (j = 0; j < N; j++)
			r[j] = hrm_expf(r[j] - mx);
		for (int l = 0; l < VL; l++)
			sv[l] = 0.0f;
		for (j = 0; j + VL <= N; j += VL)
			for (int l = 0; l < VL; l++)
				sv[l] += r[j + l];
		for (int l = 0; l < VL; l++)
			sum += sv[l];
		for (; j < N; j++)
			sum += r[j];
		inv = 1.0f / sum;
		for (j = 0; j < N; j++)
			r[j] *= inv;
	}
}

/* hrm_rmsnorm_forward (rstd not kept) with a lane-parallel sum of squares. */
static void
rmsnorm_vred(float *out, const float *inp, int M, int D, float eps)
{
	for (int m = 0; m < M; m++)
	{
		const float *x = inp + (size_t) m * D;
		float	   *y = out + (size_t) m * D;
		float		sv[VL] = {0},
					ss = 0.0f,
					r;
		int			i;

		for (i = 0; i + VL <= D; i += VL)
			for (int l = 0; l < VL; l++)
				sv[l] += x[i + l] * x[i + l];
		for (int l = 0; l < VL; l++)
			ss += sv[l];
		for (; i < D; i++)
			ss += x[i] * x[i];
		r = 1.0f / sqrtf(ss / (float) D + eps);
		for (i = 0; i < D; i++)
			y[i] = x[i] * r;
	}
}

typedef struct prof
{
	double		t[N_OPS];
	double		flops[N_OPS];
	whatif		w;
	int			threads;
} prof;

#define TIMED(p, op, stmt) do { double t__ = now(); stmt; (p)->t[op] += now() - t__; } while (0)

static void
prof_attention(prof *p, bool vred, float *out, float *probs, const float *qkv, int B, int S, int NH, int hd)
{
	int			D = NH * hd;
	int			ld = 3 * D;
	float		scale = 1.0f / sqrtf((float) hd);

	for (int b = 0; b < B; b++)
	{
		const float *base = qkv + (size_t) b * S * ld;

		for (int h = 0; h < NH; h++)
		{
			const float *Q = base + (size_t) h * hd;
			const float *K = base + D + (size_t) h * hd;
			const float *V = base + 2 * D + (size_t) h * hd;
			float	   *O = out + (size_t) b * S * D + (size_t) h * hd;

			TIMED(p, OP_QK, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hd,
										scale, Q, ld, K, ld, 0.0f, probs, S));
			if (vred)
				TIMED(p, OP_SOFTMAX, softmax_rows_vred(probs, S, S));
			else
				TIMED(p, OP_SOFTMAX, hrm_softmax_rows(probs, S, S));
			TIMED(p, OP_PV, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hd, S,
										1.0f, probs, S, V, ld, 0.0f, O, D));
		}
	}
	p->flops[OP_QK] += 2.0 * B * NH * S * S * hd;
	p->flops[OP_PV] += 2.0 * B * NH * S * S * hd;
}

static void
prof_block(prof *p, const hrm_model *m, const hrm_block_offsets *bo, float *h, int B, hrm_workspace *ws)
{
	const hrm_config *c = m->cfg;
	const float *W = m->params;
	int			D = c->hidden_size,
				S = c->S,
				Iw = c->inter_size,
				NH = c->num_heads,
				hd = c->head_dim;
	int			M = B * S;
	float		eps = (float) c->rms_norm_eps;
	size_t		MD = (size_t) M * D;

	TIMED(p, OP_QKV, hrm_matmul_forward(ws->qkv, h, W + bo->qkv, M, 3 * D, D, 0.0f));
	if (c->pos_encodings == HRM_POS_ROPE)
		TIMED(p, OP_ROPE, hrm_rope_forward(ws->qkv, m->rope_cos, m->rope_sin, B, S, NH, hd));
	if (p->w.attn1 && p->threads > 1)
		openblas_set_num_threads(1);
	prof_attention(p, p->w.vred, ws->attn, ws->probs, ws->qkv, B, S, NH, hd);
	if (p->w.attn1 && p->threads > 1)
		openblas_set_num_threads(p->threads);
	if (p->w.beta1)
		TIMED(p, OP_O, hrm_matmul_forward(h, ws->attn, W + bo->o, M, D, D, 1.0f));
	else
	{
		TIMED(p, OP_O, hrm_matmul_forward(ws->proj, ws->attn, W + bo->o, M, D, D, 0.0f));
		TIMED(p, OP_ADD, hrm_add_forward(h, h, ws->proj, MD));
	}
	if (p->w.vred)
		TIMED(p, OP_NORM, rmsnorm_vred(h, h, M, D, eps));
	else
		TIMED(p, OP_NORM, hrm_rmsnorm_forward(h, NULL, h, M, D, eps));
	TIMED(p, OP_GATE_UP, hrm_matmul_forward(ws->gu, h, W + bo->gate_up, M, 2 * Iw, D, 0.0f));
	TIMED(p, OP_SWIGLU, hrm_swiglu_forward(ws->act, ws->gu, M, Iw));
	if (p->w.beta1)
		TIMED(p, OP_DOWN, hrm_matmul_forward(h, ws->act, W + bo->down, M, D, Iw, 1.0f));
	else
	{
		TIMED(p, OP_DOWN, hrm_matmul_forward(ws->proj, ws->act, W + bo->down, M, D, Iw, 0.0f));
		TIMED(p, OP_ADD, hrm_add_forward(h, h, ws->proj, MD));
	}
	if (p->w.vred)
		TIMED(p, OP_NORM, rmsnorm_vred(h, h, M, D, eps));
	else
		TIMED(p, OP_NORM, hrm_rmsnorm_forward(h, NULL, h, M, D, eps));
	p->flops[OP_QKV] += 2.0 * M * D * 3 * D;
	p->flops[OP_O] += 2.0 * M * D * D;
	p->flops[OP_GATE_UP] += 2.0 * M * D * 2 * Iw;
	p->flops[OP_DOWN] += 2.0 * M * Iw * D;
}

static void
prof_module(prof *p, const hrm_model *m, const hrm_block_offsets *blocks, int n, float *z,
			const float *inj, int B, hrm_workspace *ws)
{
	TIMED(p, OP_INJECT, hrm_add_forward(z, z, inj, (size_t) B * m->cfg->S * m->cfg->hidden_size));
	for (int i = 0; i < n; i++)
		prof_block(p, m, &blocks[i], z, B, ws);
}

/* One HRM segment, exactly the call sequence of hrm_segment_forward. */
static void
prof_segment(prof *p, run_state *rs)
{
	const hrm_model *m = rs->m;
	const hrm_config *cfg = m->cfg;
	const hrm_layout *lay = m->lay;
	hrm_workspace *ws = rs->ws;
	hrm_carry  *c = &rs->carry;
	int			B = c->B,
				N = cfg->H_cycles,
				T = cfg->L_cycles;
	size_t		n_el = (size_t) B * cfg->S * cfg->hidden_size;

	TIMED(p, OP_EMBED, hrm_embed_forward(m, rs->inputs, rs->pids, B, ws->x));
	for (int i = 0; i < N; i++)
	{
		for (int j = 0; j < T; j++)
		{
			if (i == N - 1 && j == T - 1)
				continue;
			TIMED(p, OP_INJECT, hrm_add_forward(ws->inj, c->z_H, ws->x, n_el));
			prof_module(p, m, lay->L_blocks, cfg->L_layers, c->z_L, ws->inj, B, ws);
		}
		if (i != N - 1)
			prof_module(p, m, lay->H_blocks, cfg->H_layers, c->z_H, c->z_L, B, ws);
	}
	TIMED(p, OP_INJECT, hrm_add_forward(ws->inj, c->z_H, ws->x, n_el));
	prof_module(p, m, lay->L_blocks, cfg->L_layers, c->z_L, ws->inj, B, ws);
	prof_module(p, m, lay->H_blocks, cfg->H_layers, c->z_H, c->z_L, B, ws);
	TIMED(p, OP_HEADS, hrm_heads_forward(m, c->z_H, B, rs->logits, rs->q, ws));
}

/* The block shape (gemm_op index) an op runs, or -1. */
static int
op_shape(int op)
{
	switch (op)
	{
		case OP_QKV:
			return 0;
		case OP_O:
			return 1;
		case OP_GATE_UP:
			return 2;
		case OP_DOWN:
			return 3;
		default:
			return -1;
	}
}

/*
 * Instrumented and plain segments and the isolated sgemm calls on the block's
 * shapes alternate (o->reps repetitions each, after a warm-up); every op's
 * time is the median over the repetitions.
 */
static void
run_profile(const bench_model *bm, int threads, int B, const opts *o)
{
	const hrm_config *c = bm->m.cfg;
	run_state	rs;
	prof		p;
	double		per,
				seg,
				segs[64],
				iso[4][64],
				iso_med[4],
				op_t[N_OPS][64],
				total = 0,
				gemm_t = 0,
				gemm_f = 0;
	int			n;
	gemm_op		g[4];

	if (c->arch != HRM_ARCH_HRM)
		return;
	hrm_set_threads(threads);
	run_init(&rs, &bm->m, B);
	n = calibrate_engine(&rs, o, &per);
	gemm_ops_init(g, c, B, o);
	memset(&p, 0, sizeof(p));
	p.threads = threads;
	prof_segment(&p, &rs);		/* warm-up of the instrumented path */
	for (int r = 0; r < o->reps; r++)
	{
		memset(&p, 0, sizeof(p));
		p.threads = threads;
		for (int i = 0; i < n; i++)
			prof_segment(&p, &rs);
		for (int k = 0; k < N_OPS; k++)
			op_t[k][r] = p.t[k] / n;
		segs[r] = time_engine_rep(&rs, n, NULL);
		{
			double		t[4],
						ct[4];

			time_gemm_rep(g, t, ct);
			for (int i = 0; i < 4; i++)
				iso[i][r] = gemm_flops(&g[i]) / t[i] * 1e-9;
		}
	}
	seg = median(segs, o->reps);
	for (int i = 0; i < 4; i++)
		iso_med[i] = median(iso[i], o->reps);
	gemm_ops_free(g);
	for (int k = 0; k < N_OPS; k++)
	{
		p.t[k] = median(op_t[k], o->reps);
		p.flops[k] /= n;
		total += p.t[k];
		if (p.flops[k] > 0)
		{
			gemm_t += p.t[k];
			gemm_f += p.flops[k];
		}
	}
	if (o->csv)
	{
		for (int k = 0; k < N_OPS; k++)
			printf("profile,%s,%d,%d,%s,%.6f,%.2f,%.3f,%.3f\n", bm->name, threads, B, op_names[k],
				   p.t[k] * 1e3, 100.0 * p.t[k] / total,
				   p.flops[k] > 0 ? p.flops[k] / p.t[k] * 1e-9 : 0.0,
				   op_shape(k) >= 0 ? iso_med[op_shape(k)] : 0.0);
		printf("profile,%s,%d,%d,all gemms,%.6f,%.2f,%.3f\n", bm->name, threads, B, gemm_t * 1e3,
			   100.0 * gemm_t / total, gemm_f / gemm_t * 1e-9);
		printf("profile,%s,%d,%d,instrumented total,%.6f,100,%.3f\n", bm->name, threads, B,
			   total * 1e3, hrm_segment_flops(c, B) / total * 1e-9);
		printf("profile,%s,%d,%d,uninstrumented,%.6f,%.2f,%.3f\n", bm->name, threads, B, seg * 1e3,
			   100.0 * seg / total, hrm_segment_flops(c, B) / seg * 1e-9);
	}
	else
	{
		printf("\nprofile: %s, %d thread(s), B = %d, median of %d x %d segment(s) (kernel %s)\n",
			   bm->name, threads, B, o->reps, n, openblas_get_corename());
		printf("  %-18s %12s %7s %10s %16s\n", "op", "ms/segment", "share", "GFLOP/s",
			   "isolated sgemm");
		for (int k = 0; k < N_OPS; k++)
		{
			printf("  %-18s %12.3f %6.1f%%", op_names[k], p.t[k] * 1e3, 100.0 * p.t[k] / total);
			if (p.flops[k] > 0)
				printf(" %10.1f", p.flops[k] / p.t[k] * 1e-9);
			if (op_shape(k) >= 0)
				printf(" %16.1f", iso_med[op_shape(k)]);
			printf("\n");
		}
		printf("  %-18s %12.3f %6.1f%% %10.1f\n", "all gemms", gemm_t * 1e3, 100.0 * gemm_t / total,
			   gemm_f / gemm_t * 1e-9);
		printf("  %-18s %12.3f %6.1f%% %10.1f\n", "instrumented total", total * 1e3, 100.0,
			   hrm_segment_flops(c, B) / total * 1e-9);
		printf("  %-18s %12.3f %6.1f%% %10.1f\n", "uninstrumented", seg * 1e3, 100.0 * seg / total,
			   hrm_segment_flops(c, B) / seg * 1e-9);
	}
	fflush(stdout);
	run_free(&rs);
}

/*
 * What-if "row split": the B rows cut into `threads` contiguous parts, each
 * run by its own thread through hrm_segment_forward (own workspace, a view of
 * the carry) with OpenBLAS at 1 thread, i.e. data parallelism over rows
 * instead of OpenBLAS splitting every sgemm call.
 */
typedef struct split_part
{
	const hrm_model *m;
	hrm_workspace *ws;
	hrm_carry	view;
	const int32_t *inputs;
	const int32_t *pids;
	float	   *logits;
	float	   *q;
	int			n;				/* segments to run */
	hrm_status	st;
} split_part;

static void *
split_worker(void *arg)
{
	split_part *sp = arg;
	hrm_error	err;

	sp->st = HRM_OK;
	for (int i = 0; i < sp->n && sp->st == HRM_OK; i++)
		sp->st = hrm_segment_forward(sp->m, sp->ws, &sp->view, sp->inputs, sp->pids, sp->logits,
									 sp->q, &err);
	return NULL;
}

#define MAX_SPLIT 16

typedef struct split_state
{
	int			parts;
	split_part	sp[MAX_SPLIT];
} split_state;

static void
split_init(split_state *ss, run_state *rs, int parts)
{
	const hrm_config *c = rs->m->cfg;
	int			B = rs->carry.B,
				b0 = 0;
	size_t		SD = (size_t) c->S * c->hidden_size;
	hrm_error	err;

	ss->parts = parts < B ? parts : B;
	for (int k = 0; k < ss->parts; k++)
	{
		int			rows = B / ss->parts + (k < B % ss->parts);
		split_part *sp = &ss->sp[k];

		memset(sp, 0, sizeof(*sp));
		sp->m = rs->m;
		sp->ws = hrm_workspace_create(rs->m, rows, &err);
		if (sp->ws == NULL)
			die("workspace", &err);
		sp->view = rs->carry;
		sp->view.B = rows;
		sp->view.z_H = rs->carry.z_H + (size_t) b0 * SD;
		sp->view.z_L = rs->carry.z_L + (size_t) b0 * SD;
		sp->inputs = rs->inputs + (size_t) b0 * c->seq_len;
		sp->pids = rs->pids + b0;
		sp->logits = rs->logits + (size_t) b0 * c->seq_len * c->vocab_size;
		sp->q = rs->q + (size_t) b0 * 2;
		b0 += rows;
	}
}

static void
split_free(split_state *ss)
{
	for (int k = 0; k < ss->parts; k++)
		hrm_workspace_free(ss->sp[k].ws);
}

/* n segments on all rows, split over the parts; wall seconds per segment. */
static double
split_run(split_state *ss, int n, int threads)
{
	pthread_t	th[MAX_SPLIT];
	double		t0;

	openblas_set_num_threads(1);
	t0 = now();
	for (int k = 0; k < ss->parts; k++)
	{
		ss->sp[k].n = n;
		if (pthread_create(&th[k], NULL, split_worker, &ss->sp[k]) != 0)
			die("pthread_create", NULL);
	}
	for (int k = 0; k < ss->parts; k++)
		pthread_join(th[k], NULL);
	t0 = (now() - t0) / n;
	openblas_set_num_threads(threads);
	for (int k = 0; k < ss->parts; k++)
		if (ss->sp[k].st != HRM_OK)
			die("segment (row split)", NULL);
	return t0;
}

/* Max |difference| between one plain segment and one row-split segment from the same carry. */
static double
split_check(run_state *rs, split_state *ss, int threads)
{
	const hrm_config *c = rs->m->cfg;
	size_t		n = (size_t) rs->carry.B * c->S * c->hidden_size;
	float	   *zh = malloc(sizeof(float) * n),
			   *zl = malloc(sizeof(float) * n),
			   *ref = malloc(sizeof(float) * n);
	double		d = 0;

	if (!zh || !zl || !ref)
		die("out of memory", NULL);
	memcpy(zh, rs->carry.z_H, sizeof(float) * n);
	memcpy(zl, rs->carry.z_L, sizeof(float) * n);
	run_segment(rs);
	memcpy(ref, rs->carry.z_H, sizeof(float) * n);
	memcpy(rs->carry.z_H, zh, sizeof(float) * n);
	memcpy(rs->carry.z_L, zl, sizeof(float) * n);
	split_run(ss, 1, threads);
	for (size_t i = 0; i < n; i++)
		d = fmax(d, fabs((double) ref[i] - rs->carry.z_H[i]));
	free(zh);
	free(zl);
	free(ref);
	return d;
}

/* The what-if variants against the plain segment, repetitions interleaved. */
static void
run_whatif(const bench_model *bm, int threads, int B, const opts *o)
{
#define NV 5
	static const whatif variants[NV] = {{false, false, false}, {true, false, false},
	{false, true, false}, {false, false, true}, {true, true, true}};
	static const char *names[NV] = {"as committed (profiled)", "attention at 1 BLAS thread",
	"o/down gemm beta=1 into residual", "vectorised reductions", "all three"};
	const hrm_config *c = bm->m.cfg;
	double		t[NV][64],
				plain[64],
				split[64],
				split_diff = 0,
				per,
				base;
	run_state	rs;
	split_state ss;
	bool		do_split = threads > 1 && B > 1;
	int			n;

	if (c->arch != HRM_ARCH_HRM)
		return;
	hrm_set_threads(threads);
	run_init(&rs, &bm->m, B);
	n = calibrate_engine(&rs, o, &per);
	if (do_split)
	{
		split_init(&ss, &rs, threads);
		split_diff = split_check(&rs, &ss, threads);
		split_run(&ss, 1, threads);		/* warm-up */
	}
	for (int r = 0; r < o->reps; r++)
	{
		plain[r] = time_engine_rep(&rs, n, NULL);
		if (do_split)
			split[r] = split_run(&ss, n, threads);
		for (int v = 0; v < NV; v++)
		{
			prof		p;
			double		t0;

			memset(&p, 0, sizeof(p));
			p.w = variants[v];
			p.threads = threads;
			t0 = now();
			for (int i = 0; i < n; i++)
				prof_segment(&p, &rs);
			t[v][r] = (now() - t0) / n;
		}
	}
	base = median(t[0], o->reps);
	if (o->csv)
	{
		printf("whatif,%s,%d,%d,plain hrm_segment_forward,%.6f,1.0000\n", bm->name, threads, B,
			   median(plain, o->reps) * 1e3);
		for (int v = 0; v < NV; v++)
		{
			double		m = median(t[v], o->reps);

			printf("whatif,%s,%d,%d,%s,%.6f,%.4f\n", bm->name, threads, B, names[v], m * 1e3, base / m);
		}
		if (do_split)
			printf("whatif,%s,%d,%d,rows split over threads (1 BLAS thread each),%.6f,%.4f,%.3g\n",
				   bm->name, threads, B, median(split, o->reps) * 1e3,
				   median(plain, o->reps) / median(split, o->reps), split_diff);
	}
	else
	{
		printf("\nwhat-if: %s, %d thread(s), B = %d, median of %d x %d segment(s) (kernel %s)\n",
			   bm->name, threads, B, o->reps, n, openblas_get_corename());
		printf("  %-34s %12.3f ms %10.1f GFLOP/s\n", "plain hrm_segment_forward",
			   median(plain, o->reps) * 1e3, hrm_segment_flops(c, B) / median(plain, o->reps) * 1e-9);
		for (int v = 0; v < NV; v++)
		{
			double		m = median(t[v], o->reps);

			printf("  %-34s %12.3f ms %10.1f GFLOP/s  x%.3f\n", names[v], m * 1e3,
				   hrm_segment_flops(c, B) / m * 1e-9, base / m);
		}
		if (do_split)
		{
			double		m = median(split, o->reps);

			printf("  %-34s %12.3f ms %10.1f GFLOP/s  x%.3f vs plain (max |dz_H| %.3g)\n",
				   "rows split over threads, 1 BLAS", m * 1e3, hrm_segment_flops(c, B) / m * 1e-9,
				   median(plain, o->reps) / m, split_diff);
		}
	}
	fflush(stdout);
	if (do_split)
		split_free(&ss);
	run_free(&rs);
}

/* ------------------------------------------------------------------------- */

static void
bench_model_run(const bench_model *bm, const opts *o)
{
	const hrm_config *c = bm->m.cfg;

	if (!o->csv && !o->profile && !o->whatif)
	{
		printf("\n%s: hidden %d, %d heads, %d+%d layers, %dx%d cycles, S = %d + %d, vocab %d, "
			   "SwiGLU %d, %s weights; %.1f MFLOP per example-segment\n",
			   bm->name, c->hidden_size, c->num_heads, c->H_layers, c->L_layers, c->H_cycles,
			   c->L_cycles, c->seq_len, c->P, c->vocab_size, c->inter_size,
			   bm->from_fixture ? "fixture" : "random", hrm_segment_flops(c, 1) * 1e-6);
		printf("%-8s %4s %10s %12s %10s %10s %7s   %s%s\n", "threads", "B", "seg/s", "ex*seg/s",
			   "GFLOP/s", "sgemm", "ratio", "sgemm by shape qkv/o/gate_up/down (GFLOP/s)",
			   "   per CPU-s: engine/sgemm GFLOP, ratio, engine CPU share");
	}
	for (int ti = 0; ti < o->n_threads && !o->profile && !o->whatif; ti++)
	{
		int			th = o->threads[ti];

		hrm_set_threads(th);
		for (int bi = 0; bi < o->n_batches; bi++)
		{
			int			B = o->batches[bi];
			run_state	rs;
			pair_result pr;
			double		gf;

			run_init(&rs, &bm->m, B);
			time_pair(&rs, c, B, th, o, &pr);
			run_free(&rs);
			gf = hrm_segment_flops(c, B) / pr.seg * 1e-9;
			if (o->csv)
				printf("engine,%s,%d,%d,%.6f,%.6f,%.4f,%.4f,%.4f,%s,%.3f,%.3f,%.3f,%.3f,%.4f,"
					   "%.4f,%.4f,%.4f,%.4f\n",
					   bm->name, th, B, 1.0 / pr.seg, B / pr.seg, gf, pr.sgemm, pr.ratio,
					   openblas_get_corename(), pr.shape[0], pr.shape[1], pr.shape[2], pr.shape[3],
					   hrm_segment_flops(c, B) / pr.seg_min * 1e-9,
					   pr.cpu_gf, pr.cpu_sgemm, pr.cpu_ratio, pr.cpu_share);
			else
				printf("%-8d %4d %10.2f %12.2f %10.2f %10.2f %6.0f%%   %.0f/%.0f/%.0f/%.0f"
					   "   %.1f/%.1f %4.0f%% %5.0f%%\n",
					   th, B, 1.0 / pr.seg, B / pr.seg, gf, pr.sgemm, 100.0 * pr.ratio,
					   pr.shape[0], pr.shape[1], pr.shape[2], pr.shape[3],
					   pr.cpu_gf, pr.cpu_sgemm, 100.0 * pr.cpu_ratio, 100.0 * pr.cpu_share);
			fflush(stdout);
		}
	}
	if (o->profile)
		for (int ti = 0; ti < o->n_threads; ti++)
			for (int bi = 0; bi < o->n_batches; bi++)
				run_profile(bm, o->threads[ti], o->batches[bi], o);
	if (o->whatif)
		for (int ti = 0; ti < o->n_threads; ti++)
			for (int bi = 0; bi < o->n_batches; bi++)
				run_whatif(bm, o->threads[ti], o->batches[bi], o);
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: bench_forward [--model tiny|full|all] [--batches 1,8,32,64] [--threads 1,2]\n"
			"                     [--reps N (>=5)] [--min-time SECONDS] [--fixture PATH]\n"
			"                     [--csv] [--profile] [--whatif] [--no-sgemm]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	opts		o;
	const char *fx_dir = getenv("HRM_FIXTURES");
	static char fx_path[4096];

	memset(&o, 0, sizeof(o));
	o.n_batches = parse_list("1,8,32,64", o.batches);
	o.n_threads = parse_list("1,2", o.threads);
	o.reps = 5;
	o.min_time = 0.25;
	o.do_tiny = o.do_full = true;
	snprintf(fx_path, sizeof(fx_path), "%s/sudoku-tiny.weights.safetensors",
			 fx_dir && *fx_dir ? fx_dir : "test/fixtures");
	o.fixture = fx_path;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--csv") == 0)
			o.csv = true;
		else if (strcmp(a, "--profile") == 0)
			o.profile = true;
		else if (strcmp(a, "--whatif") == 0)
			o.whatif = true;
		else if (strcmp(a, "--no-sgemm") == 0)
			o.no_sgemm = true;
		else if (v == NULL)
			usage();
		else if (strcmp(a, "--model") == 0)
		{
			o.do_tiny = strcmp(v, "tiny") == 0 || strcmp(v, "all") == 0;
			o.do_full = strcmp(v, "full") == 0 || strcmp(v, "all") == 0;
			if (!o.do_tiny && !o.do_full)
				usage();
			i++;
		}
		else if (strcmp(a, "--batches") == 0)
		{
			if ((o.n_batches = parse_list(v, o.batches)) < 1)
				usage();
			i++;
		}
		else if (strcmp(a, "--threads") == 0)
		{
			if ((o.n_threads = parse_list(v, o.threads)) < 1)
				usage();
			i++;
		}
		else if (strcmp(a, "--reps") == 0)
		{
			o.reps = atoi(v);
			if (o.reps < 1 || o.reps > 64)
				usage();
			i++;
		}
		else if (strcmp(a, "--min-time") == 0)
		{
			o.min_time = atof(v);
			i++;
		}
		else if (strcmp(a, "--fixture") == 0)
		{
			o.fixture = v;
			i++;
		}
		else
			usage();
	}

	if (!o.csv)
	{
		printf("hrm engine forward benchmark\n");
		printf("OpenBLAS: %s\n", openblas_get_config());
		printf("kernel (openblas_get_corename): %s;  OPENBLAS_CORETYPE=%s  OPENBLAS_L2_SIZE=%s\n",
			   openblas_get_corename(),
			   getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)",
			   getenv("OPENBLAS_L2_SIZE") ? getenv("OPENBLAS_L2_SIZE") : "(unset)");
		printf("median of %d timed repetitions (>= %.2f s each) after warm-up\n", o.reps, o.min_time);
	}
	else
		printf("kernel,%s\n", openblas_get_corename());

	if (o.do_tiny)
	{
		bench_model bm;

		setup_tiny(&bm, o.fixture);
		bench_model_run(&bm, &o);
		model_free(&bm);
	}
	if (o.do_full)
	{
		bench_model bm;

		setup_full(&bm);
		bench_model_run(&bm, &o);
		model_free(&bm);
	}
	return 0;
}
