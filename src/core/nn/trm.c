/*
 * trm.c — the Tiny Recursive Model's token-mixing block (mlp_t, TRM-MLP):
 * its forward and backward side by side, and the layout of the activations
 * its backward keeps.  (TRM's recursion, for inference and training, and its
 * backward are in arch_trm.c.)
 *
 * An mlp_t block on h [B, S, D] (reference trm.py, TRM-MLP):
 *
 *   ht    = h^T per example                       [B*D, S]  (one row per channel)
 *   ht    = rmsnorm_S(ht + down_t(silu(gate_t) * up_t)), (gate_t | up_t) = ht W_tgu^T
 *   h     = ht^T                                  [B, S, D]
 *   h     = rmsnorm_D(h + down(silu(gate) * up))   (the channel SwiGLU, as in attention blocks)
 *
 * The sequence-axis RMSNorm normalises each channel over the S positions
 * (the reference applies it while the tensor is still transposed).
 */
#include "hrm_internal.h"
#include "layers.h"

#include <string.h>

/* ------------------------------------------------------------------------- */
/* the channel SwiGLU sublayer: h = norm(h + down(silu(gate) * up)) */

static void
channel_mlp_forward(const hrm_model *m, const hrm_block_offsets *bo, float *h, int M,
					hrm_workspace *ws, hrm_block_acts *acts)
{
	const float *W = m->params;
	int			D = m->cfg->hidden_size,
				Iw = m->cfg->inter_size;
	float	   *gu = acts ? acts->gu : ws->gu;
	float	   *act = acts ? acts->act : ws->act;

	hrm_matmul_forward(gu, h, W + bo->gate_up, M, 2 * Iw, D, 0.0f);
	hrm_swiglu_forward(act, gu, M, Iw);
	hrm_matmul_forward(ws->proj, act, W + bo->down, M, D, Iw, 0.0f);
	hrm_add_forward(h, h, ws->proj, (size_t) M * D);
	hrm_rmsnorm_forward(h, acts ? acts->rstd2 : NULL, h, M, D, (float) m->cfg->rms_norm_eps);
	if (acts)
		memcpy(acts->h_out, h, sizeof(float) * (size_t) M * D);
}

/* dh: in d(block output), out d(h_mid) */
static void
channel_mlp_backward(const hrm_model *m, const hrm_block_offsets *bo, const hrm_block_acts *a,
					 float *dh, float *grads, int M, const hrm_trm_scratch *s)
{
	const float *W = m->params;
	int			D = m->cfg->hidden_size,
				Iw = m->cfg->inter_size;

	hrm_rmsnorm_backward(dh, dh, a->h_out, a->rstd2, M, D);
	hrm_matmul_backward(s->dact, grads + bo->down, dh, a->act, W + bo->down, M, D, Iw, 0.0f);
	hrm_swiglu_backward(s->dgu, s->dact, a->gu, M, Iw);
	/* the residual path keeps dh; the MLP's input gradient is added */
	hrm_matmul_backward(dh, grads + bo->gate_up, s->dgu, a->h_mid, W + bo->gate_up, M, 2 * Iw, D, 1.0f);
}

/* ------------------------------------------------------------------------- */
/* the token-mixing block */

void
hrm_block_forward_mlp_t(const hrm_model *m, const hrm_block_offsets *bo, float *h, int B,
						hrm_workspace *ws, hrm_block_acts *acts)
{
	const hrm_config *c = m->cfg;
	const float *W = m->params;
	int			D = c->hidden_size,
				S = c->S,
				It = c->inter_size_t;
	int			M = B * S,
				R = B * D;		/* rows of the transposed layout: one per (example, channel) */
	float	   *ht = acts ? acts->ht : ws->tbuf;
	float	   *sum = acts ? acts->h_mid_t : ws->tbuf2;
	float	   *gu = acts ? acts->gu_t : ws->gu;
	float	   *act = acts ? acts->act_t : ws->act;

	if (acts)
		memcpy(acts->h_in, h, sizeof(float) * (size_t) M * D);
	/* token mixing over the sequence axis, one length-S row per channel */
	hrm_transpose_batched(ht, h, B, S, D);
	hrm_matmul_forward(gu, ht, W + bo->t_gate_up, R, 2 * It, S, 0.0f);
	hrm_swiglu_forward(act, gu, R, It);
	hrm_matmul_forward(sum, act, W + bo->t_down, R, S, It, 0.0f);
	hrm_add_forward(sum, ht, sum, (size_t) R * S);
	/* RMSNorm over the S positions of each channel, then back to [B, S, D] */
	hrm_rmsnorm_forward(sum, acts ? acts->rstd1 : NULL, sum, R, S, (float) c->rms_norm_eps);
	hrm_transpose_batched(h, sum, B, D, S);
	if (acts)
		memcpy(acts->h_mid, h, sizeof(float) * (size_t) M * D);
	channel_mlp_forward(m, bo, h, M, ws, acts);
}

void
hrm_block_backward_mlp_t(const hrm_model *m, const hrm_block_offsets *bo, const hrm_block_acts *a,
						 float *dh, float *grads, int B, const hrm_trm_scratch *s)
{
	const hrm_config *c = m->cfg;
	const float *W = m->params;
	int			D = c->hidden_size,
				S = c->S,
				It = c->inter_size_t;
	int			R = B * D;
	float	   *dt = s->dt;

	channel_mlp_backward(m, bo, a, dh, grads, B * S, s);
	/* dh = d(h_mid); into the transposed layout */
	hrm_transpose_batched(dt, dh, B, S, D);
	hrm_rmsnorm_backward(dt, dt, a->h_mid_t, a->rstd1, R, S);
	/* dt = d(ht + down_t(act_t)): the residual keeps it, the MLP adds its input gradient */
	hrm_matmul_backward(s->dact, grads + bo->t_down, dt, a->act_t, W + bo->t_down, R, S, It, 0.0f);
	hrm_swiglu_backward(s->dgu, s->dact, a->gu_t, R, It);
	hrm_matmul_backward(dt, grads + bo->t_gate_up, s->dgu, a->ht, W + bo->t_gate_up, R, 2 * It, S, 1.0f);
	hrm_transpose_batched(dh, dt, B, D, S);
}

size_t
hrm_block_acts_floats_mlp_t(const hrm_config *c, int B)
{
	size_t		M = (size_t) B * c->S,
				D = c->hidden_size,
				I = c->inter_size,
				R = (size_t) B * D,
				It = c->inter_size_t;

	return M * D * 4			/* h_in, ht, h_mid_t, h_mid */
		+ M * D					/* h_out */
		+ R * 3 * It			/* gu_t, act_t */
		+ R						/* rstd1 */
		+ M * 3 * I				/* gu, act */
		+ M;					/* rstd2 */
}

float *
hrm_block_acts_carve_mlp_t(hrm_block_acts *a, const hrm_config *c, int B, float *p)
{
	size_t		M = (size_t) B * c->S,
				D = c->hidden_size,
				I = c->inter_size,
				R = (size_t) B * D,
				It = c->inter_size_t;

	memset(a, 0, sizeof(*a));
	a->h_in = p;
	p += M * D;
	a->ht = p;
	p += M * D;
	a->gu_t = p;
	p += R * 2 * It;
	a->act_t = p;
	p += R * It;
	a->h_mid_t = p;
	p += M * D;
	a->rstd1 = p;
	p += R;
	a->h_mid = p;
	p += M * D;
	a->gu = p;
	p += M * 2 * I;
	a->act = p;
	p += M * I;
	a->h_out = p;
	p += M * D;
	a->rstd2 = p;
	p += M;
	/* attention fields are unused; they point at valid memory so offsets stay defined */
	a->qkv = a->probs = a->attn = a->h_in;
	return p;
}
