/*
 * hrm_internal.h — engine internals shared by the forward pass and the
 * trainer (not part of the public engine API).
 */
#ifndef HRM_INTERNAL_H
#define HRM_INTERNAL_H

#include "forward.h"
#include "parallel.h"

/*
 * Activations of one transformer block kept for its backward pass
 * (M = B * S rows).  Attention blocks use qkv/probs/attn; mlp_t blocks use
 * the *_t fields (sequence-mixing SwiGLU over transposed [B*D, S] rows).
 */
typedef struct hrm_block_acts
{
	float	   *h_in;			/* [M, D]   block input */
	float	   *qkv;			/* [M, 3D]  after RoPE */
	float	   *probs;			/* [B, NH, S, S] */
	float	   *attn;			/* [M, D]   attention output before o_proj */
	float	   *ht;				/* [B*D, S] mlp_t: transposed block input */
	float	   *gu_t;			/* [B*D, 2It] */
	float	   *act_t;			/* [B*D, It] */
	float	   *h_mid_t;		/* [B*D, S] mlp_t: normalised (transposed) */
	float	   *h_mid;			/* [M, D]   after the first norm */
	float	   *rstd1;			/* [M] (mlp_t: [B*D]) */
	float	   *gu;				/* [M, 2I] */
	float	   *act;			/* [M, I] */
	float	   *h_out;			/* [M, D]   block output (after the second norm) */
	float	   *rstd2;			/* [M] */
} hrm_block_acts;

struct hrm_workspace
{
	int			max_B;
	float	   *x;				/* [B, S, D] input embedding */
	float	   *inj;			/* [B, S, D] injection */
	float	   *qkv;			/* [B, S, 3D] */
	float	   *probs;			/* [S, S] scratch */
	float	   *kvp;			/* packed K and V of one head (packed attention) */
	/* scratch of pool threads 1..n_thr for the tiles of the packed forward */
	int			n_thr;
	struct hrm_workspace *thr[HRM_MAX_THREADS];
	float	   *attn;			/* [B, S, D] */
	float	   *proj;			/* [B, S, D] */
	float	   *gu;				/* [B, S, 2I] (mlp_t: max with [B*D, 2It]) */
	float	   *act;			/* [B, S, I]  (mlp_t: max with [B*D, It]) */
	float	   *tbuf;			/* [B, S, D] transposes (mlp_t) */
	float	   *tbuf2;			/* [B, S, D] */
	float	   *qz;				/* [B, D] position-0 gather for the Q head */
	/* adaptive inference: compacted rows */
	hrm_carry	sub;
	int32_t    *sub_inputs;
	int32_t    *sub_pids;
	float	   *sub_logits;
	float	   *sub_q;
};

/*
 * One attention block on h [B, S, D] in place; acts may be NULL.  pk: the
 * block's packed weights (hrm_model_pack), or NULL for cblas_sgemm.
 */
void		hrm_block_forward(const hrm_model *m, const hrm_block_offsets *bo,
							  const hrm_block_packs *pk, float *h, int B,
							  hrm_workspace *ws, hrm_block_acts *acts);

/* Rows per tile of the packed forward pass (tests and benchmarks; default 256, env HRM_TILE_ROWS). */
void		hrm_set_tile_rows(int rows);

/* The packed weights of a module's blocks (blocks = lay->H_blocks or L_blocks), or NULL. */
const hrm_block_packs *hrm_packs_for(const hrm_model *m, const hrm_block_offsets *blocks);

/*
 * A module call: h = z + inj, then n blocks; z is overwritten with the
 * result.  acts (may be NULL) is an array of n per-block records.
 */
void		hrm_module_forward(const hrm_model *m, const hrm_block_offsets *blocks, int n,
							   float *z, const float *inj, int B, hrm_workspace *ws,
							   hrm_block_acts *acts);

/* logits [B, T, V] from z_H [B, S, D] (positions P..S-1) and q [B, 2] from position 0. */
void		hrm_heads_forward(const hrm_model *m, const float *z_H, int B, float *logits, float *q,
							  hrm_workspace *ws);

/*
 * Its backward: dz [B, S, D] = d(z_H) from dlogits [B, T, V] and dq [B, 2]
 * (overwritten); the heads' weight gradients added to grads.
 */
void		hrm_heads_backward(const hrm_model *m, const float *z_H, int B, const float *dlogits,
							   const float *dq, float *dz, float *grads);

/*
 * One segment for its Q values only (the trainer's Q-target segment): q
 * [B, 2] as hrm_segment_forward computes them, bit for bit; c->z_L is the
 * segment's result, c->z_H only at position 0 (with packed weights the last
 * H block runs for position 0 alone).
 */
hrm_status	hrm_segment_q(const hrm_model *m, hrm_workspace *ws, hrm_carry *c,
						  const int32_t *inputs, const int32_t *puzzle_ids, float *q, hrm_error *err);

/* ---- TRM (trm.c) ---- */

/* Backward scratch of an mlp_t block: dt [B*S*D], dgu and dact (the larger of the channel and token widths). */
typedef struct hrm_trm_scratch
{
	float	   *dt;				/* [B*D, S] */
	float	   *dgu;			/* max([B*S, 2I], [B*D, 2It]) */
	float	   *dact;			/* max([B*S, I], [B*D, It]) */
} hrm_trm_scratch;

/* One mlp_t block (token-mixing SwiGLU + sequence-axis RMSNorm, then the channel SwiGLU) on h in place; acts may be NULL. */
void		hrm_block_forward_mlp_t(const hrm_model *m, const hrm_block_offsets *bo, float *h, int B,
									hrm_workspace *ws, hrm_block_acts *acts);
/* Its backward: dh in = d(block output), out = d(block input); weight gradients added to grads. */
void		hrm_block_backward_mlp_t(const hrm_model *m, const hrm_block_offsets *bo,
									 const hrm_block_acts *a, float *dh, float *grads, int B,
									 const hrm_trm_scratch *s);
/* Floats of one mlp_t block's kept activations for B rows, and carving them from p (returns the end). */
size_t		hrm_block_acts_floats_mlp_t(const hrm_config *c, int B);
float	   *hrm_block_acts_carve_mlp_t(hrm_block_acts *a, const hrm_config *c, int B, float *p);

/* ---- training (train.c) ---- */

/* Per-chunk buffers of a training step (R rows at a time). */
typedef struct train_chunk
{
	int			R;				/* rows */
	hrm_block_acts *acts_L;		/* [L_layers] */
	hrm_block_acts *acts_H;		/* [H_layers] */
	float	   *block_mem;		/* backing store of all acts */
	float	   *logits;			/* [R, T, V] */
	float	   *q;				/* [R, 2] */
	float	   *q_next;			/* [R, 2] */
	float	   *dlogits;		/* [R, T, V] */
	float	   *dq;				/* [R, 2] */
	float	   *dz;				/* [R, S, D] */
	float	   *dtmp;			/* [R, S, D] */
	float	   *dattn;			/* [R, S, D] */
	float	   *dqkv;			/* [R, S, 3D] */
	float	   *dgu;			/* [R, S, 2I] */
	float	   *dact;			/* [R, S, I] */
	float	   *dP;				/* [S, S] */
	float	   *dx;				/* [R, S, D] TRM: the input embedding's gradient, summed over the latent updates */
	float	   *att_scratch;	/* packed operands of the attention backward (packed path) */
	hrm_carry	tgt;			/* [R] copy of the carry for the Q-target segment */
} train_chunk;

/* Backward through a module call: dz in = d(output), out = d(z + injection); weight gradients added to grads. */
void		hrm_module_backward(const hrm_model *m, const hrm_block_offsets *blocks,
								const hrm_block_acts *acts, int n, float *dz, float *grads,
								train_chunk *ch, int B);

/* hrm_module_forward; with q_only the last block runs for position 0 alone (packed weights). */
void		hrm_module_forward_q(const hrm_model *m, const hrm_block_offsets *blocks, int n,
								 float *z, const float *inj, int B, hrm_workspace *ws,
								 hrm_block_acts *acts, bool q_only);

/* ---- architectures (arch_hrm.c, arch_trm.c) ---- */

/*
 * What an architecture does in a segment: its recursion over the carry, the
 * same code for inference (no activations kept) and training (the
 * gradient-carrying calls' activations kept), and the backward of the kept
 * calls; the heads, embeddings, losses and the ACT loop around them are
 * common.  One `const` entry per architecture (hrm_arch_get).
 */
typedef struct hrm_arch_ops
{
	hrm_arch	arch;
	const char *name;

	/* blocks of the H level in the parameter layout */
	int			(*H_blocks) (const hrm_config *c);

	/* transformer blocks a segment runs (the flop count) and whose activations a training step keeps */
	double		(*segment_blocks) (const hrm_config *c);
	int			(*kept_blocks) (const hrm_config *c);

	/*
	 * The segment's recursion on carry c (z_H, z_L [B, S, D]) given the
	 * input embedding x [B, S, D], using ws->inj as scratch.  acts_L /
	 * acts_H NULL: inference (q_only: the final z_H is needed at position 0
	 * only); otherwise the kept calls' activations (kept_blocks records in
	 * all).  false when a cancel is pending (the carry is then mid-segment).
	 */
	bool		(*recur) (const hrm_model *m, hrm_workspace *ws, hrm_carry *c, const float *x,
						  hrm_block_acts *acts_L, hrm_block_acts *acts_H, bool q_only);

	/*
	 * Backward of recur's kept calls for R rows: dz in = d(final z_H);
	 * weight gradients added to grads.  Returns d(x) [R, S, D] (dz itself,
	 * or ch->dx when dx_buffer), NULL when a cancel is pending.
	 */
	const float *(*recur_backward) (const hrm_model *m, const hrm_block_acts *acts_L,
									const hrm_block_acts *acts_H, float *dz, float *grads,
									train_chunk *ch, int R);
	bool		dx_buffer;		/* recur_backward sums d(x) in ch->dx */
	bool		ema_dense_only; /* the weight average covers the dense parameters only (TRM recipe) */
} hrm_arch_ops;

extern const hrm_arch_ops hrm_arch_ops_hrm;
extern const hrm_arch_ops hrm_arch_ops_trm;

static inline const hrm_arch_ops *
hrm_arch_get(hrm_arch arch)
{
	return arch == HRM_ARCH_TRM ? &hrm_arch_ops_trm : &hrm_arch_ops_hrm;
}

#endif							/* HRM_INTERNAL_H */
