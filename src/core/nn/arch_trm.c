/*
 * arch_trm.c — the Tiny Recursive Model's segment (trm-reference.md): one
 * network (the L_layers blocks of the layout's L level; no H level), its
 * recursion for inference and training and the backward through the last
 * recursion, side by side.  (Its token-mixing mlp_t block is in trm.c.)
 *
 * A segment on the carry (z_H = y, the answer; z_L = z, the latent) with
 * input embedding x:
 *
 *   for i in 0..H_cycles-1:
 *       for j in 0..L_cycles-1:  z_L = net(z_L, z_H + x)     latent updates
 *       z_H = net(z_H, z_L)                                   answer update
 *
 * In training the first H_cycles - 1 recursions run without gradient and
 * the last keeps every call's activations: call j at acts[j * L_layers],
 * the answer update at acts[L_cycles * L_layers].  Its backward is full
 * backpropagation through that recursion; d(x) sums over the latent updates.
 */
#include "hrm_internal.h"
#include "layers.h"

#include <string.h>

static int
trm_H_blocks(const hrm_config *c)
{
	return 0;
}

static double
trm_segment_blocks(const hrm_config *c)
{
	return (double) c->H_cycles * (c->L_cycles + 1) * c->L_layers;
}

static int
trm_kept_blocks(const hrm_config *c)
{
	return c->L_layers * (c->L_cycles + 1);
}

static bool
trm_recur(const hrm_model *m, hrm_workspace *ws, hrm_carry *c, const float *x,
		  hrm_block_acts *acts, hrm_block_acts *acts_H, bool q_only)
{
	const hrm_config *cfg = m->cfg;
	const hrm_block_offsets *net = m->lay->L_blocks;
	int			B = c->B,
				nl = cfg->L_layers;
	size_t		n_el = (size_t) B * cfg->S * cfg->hidden_size;
	float	   *inj = ws->inj;

	for (int i = 0; i < cfg->H_cycles; i++)
	{
		bool		keep = acts != NULL && i == cfg->H_cycles - 1;

		for (int j = 0; j < cfg->L_cycles; j++)
		{
			if (hrm_cancel_requested())
				return false;
			hrm_add_forward(inj, c->z_H, x, n_el);		/* [B, S, D] */
			hrm_module_forward(m, net, nl, c->z_L, inj, B, ws, keep ? acts + (size_t) j * nl : NULL);
		}
		if (hrm_cancel_requested())
			return false;
		hrm_module_forward(m, net, nl, c->z_H, c->z_L, B, ws,
						   keep ? acts + (size_t) cfg->L_cycles * nl : NULL);
	}
	return true;
}

/*
 * dz in = d(final z_H); out: ch->dx = d(x).  The recursion's incoming z_H
 * and z_L are detached (they come from the no-grad recursions or the
 * carry), so the answer update passes its whole input gradient to the last
 * z_L, and the first latent update's stops at x.
 */
static const float *
trm_recur_backward(const hrm_model *m, const hrm_block_acts *acts, const hrm_block_acts *acts_H,
				   float *dz, float *grads, train_chunk *ch, int R)
{
	const hrm_config *c = m->cfg;
	const hrm_block_offsets *net = m->lay->L_blocks;
	int			nl = c->L_layers;
	size_t		n_el = (size_t) R * c->S * c->hidden_size;

	hrm_module_backward(m, net, acts + (size_t) c->L_cycles * nl, nl, dz, grads, ch, R);
	memset(ch->dx, 0, sizeof(float) * n_el);
	for (int j = c->L_cycles - 1; j >= 0; j--)
	{
		if (hrm_cancel_requested())
			return NULL;
		hrm_module_backward(m, net, acts + (size_t) j * nl, nl, dz, grads, ch, R);
		hrm_add_forward(ch->dx, ch->dx, dz, n_el);
	}
	if (hrm_cancel_requested())
		return NULL;
	return ch->dx;
}

const hrm_arch_ops hrm_arch_ops_trm = {
	.arch = HRM_ARCH_TRM,
	.name = "trm",
	.H_blocks = trm_H_blocks,
	.segment_blocks = trm_segment_blocks,
	.kept_blocks = trm_kept_blocks,
	.recur = trm_recur,
	.recur_backward = trm_recur_backward,
	.dx_buffer = true,
	.ema_dense_only = true,
};
