/*
 * layers.h — the building blocks of the network, as forward functions over
 * flat row-major float arrays (backward counterparts live in layers_backward.c).
 *
 * Notation: M rows (= B * S positions), D hidden, I SwiGLU width, NH heads,
 * hd head dim.  Weights are [out, in] (PyTorch layout): y = x W^T.
 */
#ifndef HRM_LAYERS_H
#define HRM_LAYERS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * exp(x) for float, branch-free so loops that use it vectorise: Cody-Waite
 * reduction by ln 2 and a degree-7 polynomial (max relative error ~2e-7,
 * i.e. within 2 ulp of expf).  Inputs are clamped to [-87.3, 88.7].
 */
static inline float
hrm_expf(float x)
{
	union
	{
		float		f;
		int32_t		i;
	}			u;
	float		k,
				r,
				p;

	x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
	k = __builtin_rintf(x * 1.44269504088896341f);
	r = x - k * 0.693145751953125f - k * 1.42860682030941723e-06f;
	p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f +
		r * (0.00833333377f + r * (0.00138888892f + r * 0.000198412701f))))));
	u.i = ((int32_t) k + 127) << 23;
	return p * u.f;
}


/*
 * Reductions in 16 fixed lanes: lane l sums the elements l, l + 16, ...,
 * then the lanes combine pairwise (8, 4, 2, 1).  The order is fixed, so
 * the result is deterministic and independent of the vector width the
 * compiler picks, and the loops vectorise without reassociation flags.
 */
#define HRM_LANES 16

static inline float
hrm_lanes_fold(float *acc)
{
	for (int w = HRM_LANES / 2; w >= 1; w /= 2)
		for (int l = 0; l < w; l++)
			acc[l] += acc[l + w];
	return acc[0];
}

/* sum of x[0..n) */
static inline float
hrm_sum_lanes(const float *x, int n)
{
	float		acc[HRM_LANES] = {0};
	int			j = 0;

	for (; j + HRM_LANES <= n; j += HRM_LANES)
		for (int l = 0; l < HRM_LANES; l++)
			acc[l] += x[j + l];
	for (int l = 0; j + l < n; l++)
		acc[l] += x[j + l];
	return hrm_lanes_fold(acc);
}

/* sum of x[i] * y[i] */
static inline float
hrm_dot_lanes(const float *x, const float *y, int n)
{
	float		acc[HRM_LANES] = {0};
	int			j = 0;

	for (; j + HRM_LANES <= n; j += HRM_LANES)
		for (int l = 0; l < HRM_LANES; l++)
			acc[l] += x[j + l] * y[j + l];
	for (int l = 0; j + l < n; l++)
		acc[l] += x[j + l] * y[j + l];
	return hrm_lanes_fold(acc);
}

/* max of x[0..n), n >= 1 (exact: any order gives the same value) */
static inline float
hrm_max_lanes(const float *x, int n)
{
	float		acc[HRM_LANES];
	int			j = 0;

	for (int l = 0; l < HRM_LANES; l++)
		acc[l] = x[0];
	for (; j + HRM_LANES <= n; j += HRM_LANES)
		for (int l = 0; l < HRM_LANES; l++)
			acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
	for (int l = 0; j + l < n; l++)
		acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
	for (int w = HRM_LANES / 2; w >= 1; w /= 2)
		for (int l = 0; l < w; l++)
			acc[l] = acc[l + w] > acc[l] ? acc[l + w] : acc[l];
	return acc[0];
}

/* out[M, N] = inp[M, K] @ W[N, K]^T   (beta = 0: overwrite; 1: accumulate) */
void		hrm_matmul_forward(float *out, const float *inp, const float *W, int M, int N, int K,
							   float beta);

/* out[M, D] = inp * rstd, rstd[m] = 1 / sqrt(mean(inp[m]^2) + eps); rstd may be NULL. In place allowed. */
void		hrm_rmsnorm_forward(float *out, float *rstd, const float *inp, int M, int D, float eps);

/* out = a + b, n elements (in place allowed). */
void		hrm_add_forward(float *out, const float *a, const float *b, size_t n);

/*
 * dst = src, n floats, for data read back much later (the kept
 * activations): from dst's first 64-byte boundary on, whole lines are
 * written with streaming stores, which skip reading the destination in
 * first (then an sfence); short copies and non-AVX-512 builds: memcpy.
 */
void		hrm_copy_stream(float *dst, const float *src, size_t n);

/* out[M, I] = silu(gu[:, :I]) * gu[:, I:]   with gu [M, 2I] */
void		hrm_swiglu_forward(float *out, const float *gu, int M, int I);

/*
 * RoPE (rotate-half) on the Q and K parts of qkv [B, S, 3, NH, hd] in place;
 * cos / sin are [S, hd].
 */
void		hrm_rope_forward(float *qkv, const float *cos, const float *sin, int B, int S, int NH, int hd);
/* The same for example b's head h only (its Q and K vectors at every position): the same values. */
void		hrm_rope_head_forward(float *qkv, const float *cos, const float *sin, int b, int h, int S, int NH,
								  int hd);

/*
 * Non-causal attention with scale 1/sqrt(hd):
 *   qkv [B, S, 3D] (Q | K | V, head-major inside each), out [B, S, D].
 * probs: if keep_probs, [B, NH, S, S] receives the softmax probabilities;
 * otherwise a scratch of at least S * S floats.
 * allow: NULL (every key) or the keys each query may attend to, as bits:
 * [S, hrm_mask_words(S)] 16-bit words, bit j of word w of row s = key
 * 16 w + j (every row allows at least one key).  Disallowed keys get
 * probability exactly 0 (so the backward needs no mask).
 */
static inline int
hrm_mask_words(int S)
{
	return (S + 15) / 16;
}
void		hrm_attention_forward(float *out, float *probs, bool keep_probs, const float *qkv,
								  int B, int S, int NH, int hd, const uint16_t *allow);

/*
 * The same with the engine's GEMM (gemm.h), for the first nq queries of
 * each example (nq = S: all; their output rows only are written): per
 * (row, head) K is packed and Q copied contiguous into kvp
 * (hrm_attention_scratch_floats floats), V is read in place.  Kept
 * probabilities are computed in kvp too and streamed out to probs.
 */
size_t		hrm_attention_scratch_floats(int S, int hd);
void		hrm_attention_forward_packed(float *out, float *probs, bool keep_probs, const float *qkv,
										 int B, int S, int NH, int hd, int nq, float *kvp,
										 const uint16_t *allow);
/*
 * One (example b, head h) of hrm_attention_forward_packed: probs is the
 * [nq, S] scratch when the probabilities are not kept, else the whole
 * [B, NH, S, S] record.  Heads write disjoint columns of out, so separate
 * threads may run them, each with its own kvp (and scratch probs).
 */
void		hrm_attention_head_packed(float *out, float *probs, bool keep_probs, const float *qkv,
									  int b, int h, int S, int NH, int hd, int nq, float *kvp,
									  const uint16_t *allow);

/* Row-wise softmax of x [M, N] in place. */
void		hrm_softmax_rows(float *x, int M, int N);
/* The same over the allowed entries of each row (allow as above, row m at allow + m * words); the rest become 0. */
void		hrm_softmax_rows_masked(float *x, int M, int N, const uint16_t *allow);

/* Transpose a [B, R, C] array into [B, C, R]. */
void		hrm_transpose_batched(float *out, const float *inp, int B, int R, int C);

#endif							/* HRM_LAYERS_H */

/* ---- backward passes (dy = gradient of the output) ---- */

/*
 * Linear y[M, N] = x[M, K] W[N, K]^T:
 *   dx[M, K] = dy W          (written with beta_dx: 0 overwrite, 1 accumulate; skipped if dx NULL)
 *   dW[N, K] += dy^T x       (skipped if dW NULL)
 */
void		hrm_matmul_backward(float *dx, float *dW, const float *dy, const float *x, const float *W,
								int M, int N, int K, float beta_dx);

/* Weightless RMSNorm y = x r: dx = r (dy - y mean(dy y)).  dx may alias dy. */
void		hrm_rmsnorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int M, int D);

/* SwiGLU a = silu(g) u: dgu[M, 2I] from da[M, I] and the forward input gu[M, 2I]. */
void		hrm_swiglu_backward(float *dgu, const float *da, const float *gu, int M, int I);

/* Inverse rotation of the Q and K gradients in dqkv [B, S, 3D], in place. */
void		hrm_rope_backward(float *dqkv, const float *cos, const float *sin, int B, int S, int NH, int hd);

/*
 * Attention backward: dqkv [B, S, 3D] (overwritten) from dout [B, S, D], the
 * forward qkv (after RoPE) and probs [B, NH, S, S]; dP is scratch [S, S].
 */
void		hrm_attention_backward(float *dqkv, float *dP, const float *dout, const float *qkv,
								   const float *probs, int B, int S, int NH, int hd);

/*
 * The same on the engine's GEMM (gemm.h); scratch holds
 * hrm_attention_bwd_scratch_floats(S, hd) floats.
 */
size_t		hrm_attention_bwd_scratch_floats(int S, int hd);
void		hrm_attention_backward_packed(float *dqkv, float *dP, const float *dout, const float *qkv,
										  const float *probs, int B, int S, int NH, int hd, float *scratch);
