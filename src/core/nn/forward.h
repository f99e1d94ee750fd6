/*
 * forward.h — HRM inference: one segment ("inner forward") and the ACT loop.
 *
 * Shapes: B rows, T = seq_len tokens, P puzzle slots, S = T + P positions,
 * D hidden, V vocab.  All matrices are row-major; weights stay [out, in] and
 * every product goes through cblas_sgemm with the transpose flag.
 */
#ifndef HRM_FORWARD_H
#define HRM_FORWARD_H

#include "model.h"

/*
 * One block's weights packed for the engine's GEMM (gemm.h): forward
 * operands (x W^T) and, when packed for training, backward ones (dy W).
 */
typedef struct hrm_block_packs
{
	const float *qkv,
			   *o,
			   *gate_up,
			   *down;
	const float *gate_up_swiglu;	/* gate/up interleaved for the fused SwiGLU (NULL if I % 16) */
	const float *qkv_bwd,		/* NULL unless packed with backward = true */
			   *o_bwd,
			   *gate_up_bwd,
			   *down_bwd;
	/* bfloat16 forward operands (hrm_model_pack_bf16); NULL when not packed */
	const uint16_t *qkv16,
			   *o16,
			   *gate_up16,		/* only when I % 16 (no fused SwiGLU) */
			   *gate_up_swiglu16,
			   *down16;
} hrm_block_packs;

/* Arithmetic of the block products (hrm_model_set_precision). */
typedef enum hrm_precision
{
	HRM_PRECISION_FLOAT32 = 0,
	HRM_PRECISION_BF16 = 1		/* bfloat16 weights and activations, float32 sums */
} hrm_precision;

typedef struct hrm_model
{
	const hrm_layout *lay;
	const hrm_config *cfg;		/* = &lay->cfg */
	const float *params;		/* lay->n_params floats; may live in shared memory */
	float	   *rope_cos;		/* [S, head_dim] (NULL unless rope) */
	float	   *rope_sin;		/* [S, head_dim] */
	uint16_t   *attn_allow;		/* [S, hrm_mask_words(S)] keys each query may attend to; NULL = all */
	/* packed block weights (hrm_model_pack); NULL: every product via cblas_sgemm */
	float	   *wpack;
	size_t		wpack_floats;
	bool		wpack_bwd;
	bool		wpack_ext;		/* wpack is the caller's (hrm_model_pack_bind): not freed here */
	uint16_t   *wpack16;		/* bfloat16 packs (hrm_model_pack_bf16), or NULL */
	size_t		wpack16_elems;
	bool		wpack16_ext;
	bool		bf16;			/* block products on the bfloat16 packs (hrm_model_set_precision) */
	hrm_block_packs *H_packs;	/* H_layers entries */
	hrm_block_packs *L_packs;	/* L_layers entries */
} hrm_model;

/* Bind a layout and a parameter buffer; computes the RoPE tables. */
hrm_status	hrm_model_init(hrm_model *m, const hrm_layout *lay, const float *params, hrm_error *err);
void		hrm_model_free(hrm_model *m);
/* The attention mask of cfg->attn_mask as bits (layers.h): allow [S, hrm_mask_words(S)], zeroed by the caller. */
void		hrm_attn_mask_fill(const hrm_config *c, uint16_t *allow);

/*
 * Pack the block weights for the engine's GEMM (a private copy of the
 * dense block weights, twice that with backward = true).  Does nothing
 * when the kernel is not available (gemm.h); the forward pass then uses
 * cblas_sgemm.  Call again after the parameters change: it repacks in
 * place.  The results differ from the unpacked path by summation order
 * only (float rounding).
 */
hrm_status	hrm_model_pack(hrm_model *m, bool backward, hrm_error *err);

/* Floats hrm_model_pack would allocate for a layout (0 when the kernel is not used). */
size_t		hrm_model_pack_floats(const hrm_layout *lay, bool backward);

/*
 * The forward packs in a caller's buffer of hrm_model_pack_floats(lay,
 * false) floats (64-byte aligned), e.g. next to a copy of the weights in
 * shared memory: fill = true writes them, false uses what an identical
 * call wrote there before (another process, the same layout and kernel).
 * The buffer is never freed by the model and must outlive it.  Does
 * nothing when the kernel is not available.
 */
hrm_status	hrm_model_pack_bind(hrm_model *m, float *buf, bool fill, hrm_error *err);

/*
 * bfloat16 packs of the block weights (gemm.h), for hrm.precision = bf16:
 * in buf (hrm_model_pack16_elems(lay) elements, 64-byte aligned; fill as
 * above) or, with buf = NULL, in memory of the model's own.  Needs the
 * float32 packs first (the attention and the rest stay float32); does
 * nothing where the CPU lacks AVX512_BF16 (hrm_model_pack16_elems is 0).
 */
size_t		hrm_model_pack16_elems(const hrm_layout *lay);
hrm_status	hrm_model_pack_bf16(hrm_model *m, uint16_t *buf, bool fill, hrm_error *err);

/*
 * Choose the products' arithmetic for the next calls: bf16 takes effect
 * only with bfloat16 packs on a CPU with AVX512_BF16; returns false when
 * bf16 was asked for and float32 will run instead.
 */
bool		hrm_model_set_precision(hrm_model *m, hrm_precision p);

/* The recurrent state of B rows. */
typedef struct hrm_carry
{
	int			B;
	float	   *z_H;			/* [B, S, D] */
	float	   *z_L;			/* [B, S, D] */
	int32_t    *steps;			/* [B] segments run since the last reset */
	uint8_t    *halted;			/* [B] */
} hrm_carry;

/* A carry of B rows, every row halted (the reference's initial carry). */
hrm_status	hrm_carry_init(hrm_carry *c, const hrm_model *m, int B, hrm_error *err);
/* Reset rows (mask[b] != 0, or all rows when mask is NULL) to H_init / L_init, steps 0, not halted. */
void		hrm_carry_reset(hrm_carry *c, const hrm_model *m, const uint8_t *mask);
void		hrm_carry_free(hrm_carry *c);
/* Bytes hrm_carry_init allocates for B rows (SIZE_MAX when too large to count). */
size_t		hrm_carry_bytes(const hrm_config *c, int B);

/* Scratch memory for segments of up to max_B rows. */
typedef struct hrm_workspace hrm_workspace;

hrm_workspace *hrm_workspace_create(const hrm_model *m, int max_B, hrm_error *err);
void		hrm_workspace_free(hrm_workspace *ws);
/* Bytes hrm_workspace_create allocates (with the pool threads' scratch); SIZE_MAX when too large. */
size_t		hrm_workspace_bytes(const hrm_model *m, int max_B);
/* The same from a configuration: packed = the model has packed weights, threads = pool size. */
size_t		hrm_workspace_plan_bytes(const hrm_config *c, int max_B, bool packed, int threads);

/* Check token ids in [0, V) and puzzle ids in [0, N_id); HRM_ERR_INVALID names the first bad one. */
hrm_status	hrm_check_inputs(const hrm_model *m, const int32_t *inputs, const int32_t *puzzle_ids,
							 int B, hrm_error *err);

/*
 * Input embedding x = sqrt(D) * concat(puzzle rows, token rows) (with the
 * learned-position blend when configured).  x: [B, S, D].
 */
void		hrm_embed_forward(const hrm_model *m, const int32_t *inputs, const int32_t *puzzle_ids,
							  int B, float *x);

/*
 * Its backward: dx [B, S, D] = d(x); the token (and learned-position)
 * gradients added to grads (n_params floats), the puzzle rows' gradients
 * written to pgrad [B, puzzle_emb_ndim] (may be NULL without a puzzle
 * embedding).
 */
void		hrm_embed_backward(const hrm_model *m, const int32_t *inputs, int B, const float *dx,
							   float *grads, float *pgrad);

/*
 * One segment on all B rows of the carry (rows must already be reset as
 * wanted), without gradient: updates c->z_H / c->z_L and writes
 * logits [B, T, V] (if not NULL) and q [B, 2] (q_halt, q_continue; if not NULL).
 * Does not touch c->steps / c->halted.
 */
hrm_status	hrm_segment_forward(const hrm_model *m, hrm_workspace *ws, hrm_carry *c,
								const int32_t *inputs, const int32_t *puzzle_ids,
								float *logits, float *q, hrm_error *err);

/*
 * The halting rule, one place for inference and training: a row's Q head
 * q = [q_halt, q_continue] asks to stop when q_halt > q_continue (HRM), or
 * when q_halt > 0 for models without the Q-continue head (TRM's
 * no_ACT_continue).  Callers add the step limit (and training its
 * exploration minimum).
 */
static inline bool
hrm_halt_signal(const hrm_config *c, const float *q)
{
	return c->no_ACT_continue ? q[0] > 0.0f : q[0] > q[1];
}

/* Called after every segment; return non-zero to stop (hrm_infer then returns HRM_ERR_CANCELLED). */
typedef int (*hrm_segment_cb) (void *arg, int segment, int B, const float *logits,
							   const float *q, const uint8_t *ran);

typedef struct hrm_infer_opts
{
	int			segments;		/* max segments; <= 0 means cfg.halt_max_steps */
	bool		adaptive;		/* stop a row once q_halt > q_continue (TRM: q_halt > 0) */
} hrm_infer_opts;

/*
 * ACT inference from a fresh carry: up to `segments` segments with the
 * carry kept between them.  On return logits [B, T, V] and q [B, 2] hold
 * each row's output of the last segment it ran, and steps_out [B] (may be
 * NULL) how many segments it ran.  cb (may be NULL) sees every segment's
 * full outputs; rows that did not run keep their previous values there.
 */
hrm_status	hrm_infer(const hrm_model *m, const int32_t *inputs, const int32_t *puzzle_ids, int B,
					  const hrm_infer_opts *opts, float *logits, float *q, int32_t *steps_out,
					  hrm_segment_cb cb, void *cb_arg, hrm_error *err);

/* Bytes hrm_infer allocates for B rows (carry, workspace, bookkeeping). */
size_t		hrm_infer_bytes(const hrm_model *m, int B);
/* The same from a configuration (packed weights or not, pool threads). */
size_t		hrm_infer_plan_bytes(const hrm_config *c, int B, bool packed, int threads);
/*
 * hrm_infer on caller-owned scratch, for callers that run many batches
 * (hrm_infer allocates its own): ws runs at most min(its max_B, 64) rows at
 * a time, and the first B rows of carry (carry->B >= B) are reset and
 * used.  Nothing survives from one call to the next in either.
 */
hrm_status	hrm_infer_with(const hrm_model *m, hrm_workspace *ws, hrm_carry *carry,
						   const int32_t *inputs, const int32_t *puzzle_ids, int B,
						   const hrm_infer_opts *opts, float *logits, float *q, int32_t *steps_out,
						   hrm_segment_cb cb, void *cb_arg, hrm_error *err);

/* The rows a workspace was created for (its max_B). */
int			hrm_workspace_rows(const hrm_workspace *ws);

/* FLOPs of one segment for B rows (matrix products and attention, forward only). */
double		hrm_segment_flops(const hrm_config *cfg, int B);

/* BLAS threads for this process (OpenBLAS); n <= 0 leaves the current setting. */
void		hrm_set_threads(int n);
int			hrm_get_threads(void);

#endif							/* HRM_FORWARD_H */
