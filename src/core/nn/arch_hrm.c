/*
 * arch_hrm.c — the Hierarchical Reasoning Model's segment (hrm-reference.md
 * §3): its recursion over the carry for inference and training, and the
 * backward of the one-step gradient, side by side.
 *
 * A segment on the carry (z_H, z_L) [B, S, D] with input embedding x:
 *
 *   for i in 0..N-1, j in 0..T-1 (N = H_cycles, T = L_cycles):
 *       z_L = L(z_L, z_H + x)            L_layers blocks; injection summed in
 *       z_H = H(z_H, z_L)  after each j loop
 *
 * Every call but the last L and the last H runs without gradient; those two
 * keep their activations in training, and the backward goes through them
 * alone (the one-step gradient): d(z_H*) → H → d(z_L*) → L → d(x), the
 * incoming z_H and z_L being detached.
 */
#include "hrm_internal.h"
#include "layers.h"

static int
hrm_H_blocks(const hrm_config *c)
{
	return c->H_layers;
}

static double
hrm_segment_blocks(const hrm_config *c)
{
	return (double) c->H_cycles * c->L_cycles * c->L_layers + (double) c->H_cycles * c->H_layers;
}

static int
hrm_kept_blocks(const hrm_config *c)
{
	return c->L_layers + c->H_layers;
}

static bool
hrm_recur(const hrm_model *m, hrm_workspace *ws, hrm_carry *c, const float *x,
		  hrm_block_acts *acts_L, hrm_block_acts *acts_H, bool q_only)
{
	const hrm_config *cfg = m->cfg;
	const hrm_layout *lay = m->lay;
	int			B = c->B,
				N = cfg->H_cycles,
				T = cfg->L_cycles;
	size_t		n_el = (size_t) B * cfg->S * cfg->hidden_size;
	float	   *inj = ws->inj;

	/* without gradient: every call but the last L and the last H */
	for (int i = 0; i < N; i++)
	{
		if (hrm_cancel_requested())
			return false;
		for (int j = 0; j < T; j++)
		{
			if (hrm_cancel_requested())
				return false;
			if (i == N - 1 && j == T - 1)
				continue;
			hrm_add_forward(inj, c->z_H, x, n_el);		/* [B, S, D] */
			hrm_module_forward(m, lay->L_blocks, cfg->L_layers, c->z_L, inj, B, ws, NULL);
		}
		if (i != N - 1)
			hrm_module_forward(m, lay->H_blocks, cfg->H_layers, c->z_H, c->z_L, B, ws, NULL);
	}
	/* the last L and H calls, which carry the gradient in training */
	if (hrm_cancel_requested())
		return false;
	hrm_add_forward(inj, c->z_H, x, n_el);
	hrm_module_forward(m, lay->L_blocks, cfg->L_layers, c->z_L, inj, B, ws, acts_L);
	if (hrm_cancel_requested())
		return false;
	hrm_module_forward_q(m, lay->H_blocks, cfg->H_layers, c->z_H, c->z_L, B, ws, acts_H, q_only);
	return true;
}

static const float *
hrm_recur_backward(const hrm_model *m, const hrm_block_acts *acts_L, const hrm_block_acts *acts_H,
				   float *dz, float *grads, train_chunk *ch, int R)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;

	/* dz: d(z_H*) [R, S, D] → d(H input) = d(z_L*) (z_H was detached) */
	hrm_module_backward(m, lay->H_blocks, acts_H, c->H_layers, dz, grads, ch, R);
	if (hrm_cancel_requested())
		return NULL;
	/* → d(L input) = d(x) (z_L and z_H detached) */
	hrm_module_backward(m, lay->L_blocks, acts_L, c->L_layers, dz, grads, ch, R);
	if (hrm_cancel_requested())
		return NULL;
	return dz;
}

const hrm_arch_ops hrm_arch_ops_hrm = {
	.arch = HRM_ARCH_HRM,
	.name = "hrm",
	.H_blocks = hrm_H_blocks,
	.segment_blocks = hrm_segment_blocks,
	.kept_blocks = hrm_kept_blocks,
	.recur = hrm_recur,
	.recur_backward = hrm_recur_backward,
	.dx_buffer = false,
	.ema_dense_only = false,
};
