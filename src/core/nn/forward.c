/*
 * forward.c — HRM (and TRM) inference.
 *
 * One segment of HRM with N = H_cycles, T = L_cycles on carry (z_H, z_L):
 *
 *   x = embed(inputs, puzzle_ids)                         [B, S, D]
 *   for i in 0..N-1:
 *       for j in 0..T-1:
 *           unless (i, j) == (N-1, T-1): z_L = L(z_L, z_H + x)
 *       unless i == N-1:                 z_H = H(z_H, z_L)
 *   z_L = L(z_L, z_H + x);  z_H = H(z_H, z_L)            (the 1-step-gradient calls)
 *   logits = lm_head(z_H[:, P:]);  q = q_head(z_H[:, 0])
 *
 * A module call is h = z + injection followed by its blocks; a block is
 * post-norm attention + SwiGLU with weightless RMSNorm.  TRM uses one module
 * (L_level) for both updates: per cycle, L_cycles latent updates
 * z_L = net(z_L, z_H + x) and one answer update z_H = net(z_H, z_L).
 */
#include "hrm_internal.h"
#include "cpu.h"
#include "gemm.h"
#include "layers.h"
#include "parallel.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* model */

hrm_status
hrm_model_init(hrm_model *m, const hrm_layout *lay, const float *params, hrm_error *err)
{
	const hrm_config *c = &lay->cfg;

	memset(m, 0, sizeof(*m));
	m->lay = lay;
	m->cfg = c;
	m->params = params;
	if (c->pos_encodings == HRM_POS_ROPE)
	{
		int			hd = c->head_dim,
					half = hd / 2;
		hrm_status	st = hrm_check_memory(hrm_sat_mul((size_t) c->S * hd, 2 * sizeof(float)),
										  "the RoPE tables", err);

		if (st != HRM_OK)
			return st;
		m->rope_cos = hrm_alloc((size_t) c->S * hd, sizeof(float));
		m->rope_sin = hrm_alloc((size_t) c->S * hd, sizeof(float));
		if (m->rope_cos == NULL || m->rope_sin == NULL)
		{
			hrm_model_free(m);
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the RoPE tables");
		}
		for (int s = 0; s < c->S; s++)
			for (int i = 0; i < hd; i++)
			{
				/* column i uses frequency i mod hd/2 (rotate-half layout) */
				double		inv_freq = 1.0 / pow(c->rope_theta, (double) (2 * (i % half)) / hd);
				double		ang = (double) s * inv_freq;

				m->rope_cos[(size_t) s * hd + i] = (float) cos(ang);
				m->rope_sin[(size_t) s * hd + i] = (float) sin(ang);
			}
	}
	if (c->attn_mask != HRM_MASK_FULL)
	{
		int			nw = hrm_mask_words(c->S);

		m->attn_allow = calloc((size_t) c->S * nw, sizeof(uint16_t));
		if (m->attn_allow == NULL)
		{
			hrm_model_free(m);
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the attention mask");
		}
		hrm_attn_mask_fill(c, m->attn_allow);
	}
	return HRM_OK;
}

void
hrm_attn_mask_fill(const hrm_config *c, uint16_t *allow)
{
	int			S = c->S,
				P = c->P,
				nw = hrm_mask_words(S);

	for (int q = 0; q < S; q++)
		for (int k = 0; k < S; k++)
		{
			bool		ok = true;

			if (c->attn_mask == HRM_MASK_SUDOKU && q >= P && k >= P)
			{
				int			a = q - P,
							b = k - P;
				int			ra = a / 9,
							ca = a % 9,
							rb = b / 9,
							cb = b % 9;

				ok = ra == rb || ca == cb || (ra / 3 == rb / 3 && ca / 3 == cb / 3);
			}
			if (ok)
				allow[(size_t) q * nw + k / 16] |= (uint16_t) (1u << (k % 16));
		}
}

/* Blocks of the H module in the layout (TRM has none, whatever H_layers says). */
static int
n_H_blocks(const hrm_config *c)
{
	return hrm_arch_get(c->arch)->H_blocks(c);
}

/* The bfloat16 packs (not the arrays, which the float32 packs own). */
static void
drop_packs16(hrm_model *m)
{
	if (!m->wpack16_ext)
		hrm_free(m->wpack16);
	m->wpack16 = NULL;
	m->wpack16_elems = 0;
	m->wpack16_ext = false;
	for (int i = 0; m->H_packs != NULL && i < n_H_blocks(m->cfg); i++)
		m->H_packs[i].qkv16 = m->H_packs[i].o16 = m->H_packs[i].gate_up16 =
			m->H_packs[i].gate_up_swiglu16 = m->H_packs[i].down16 = NULL;
	for (int i = 0; m->L_packs != NULL && i < m->cfg->L_layers; i++)
		m->L_packs[i].qkv16 = m->L_packs[i].o16 = m->L_packs[i].gate_up16 =
			m->L_packs[i].gate_up_swiglu16 = m->L_packs[i].down16 = NULL;
}

static void
drop_packs(hrm_model *m)
{
	drop_packs16(m);
	if (!m->wpack_ext)
		hrm_free(m->wpack);
	free(m->H_packs);
	free(m->L_packs);
	m->wpack = NULL;
	m->wpack_ext = false;
	m->H_packs = m->L_packs = NULL;
	m->wpack_floats = 0;
}

void
hrm_model_free(hrm_model *m)
{
	hrm_free(m->rope_cos);
	hrm_free(m->rope_sin);
	free(m->attn_allow);
	m->rope_cos = m->rope_sin = NULL;
	m->attn_allow = NULL;
	drop_packs(m);
}

/*
 * Floats of one block's packs; with buf != NULL also sets *pk to them, and
 * with fill packs them (else they are already there: a shared copy).
 */
static size_t
pack_block(const hrm_model *m, const hrm_block_offsets *bo, bool bwd, float *buf, bool fill,
		   hrm_block_packs *pk)
{
	const hrm_config *c = m->cfg;
	const float *W = m->params;
	int			D = c->hidden_size,
				Iw = c->inter_size;
	struct
	{
		size_t		off;
		int			N,
					K;
		const float **fwd,
				  **back;
	}			w[4] = {
		{bo->qkv, 3 * D, D, &pk->qkv, &pk->qkv_bwd},
		{bo->o, D, D, &pk->o, &pk->o_bwd},
		{bo->gate_up, 2 * Iw, D, &pk->gate_up, &pk->gate_up_bwd},
		{bo->down, D, Iw, &pk->down, &pk->down_bwd},
	};
	size_t		n = 0;

	/* the fused gate_up + SwiGLU operand; the plain one only when there is none */
	pk->gate_up_swiglu = NULL;
	pk->gate_up = NULL;
	if (Iw % 16 == 0)
	{
		if (buf != NULL)
		{
			if (fill)
				hrm_gemm_pack_swiglu(buf + n, W + bo->gate_up, D, D, Iw);
			pk->gate_up_swiglu = buf + n;
		}
		n += hrm_gemm_pack_size(D, 2 * Iw);
	}
	for (int i = 0; i < 4; i++)
	{
		/* forward: out[M, N] = x[M, K] W^T; backward: dx[M, K] = dy[M, N] W */
		if (i != 2 || Iw % 16 != 0)
		{
			if (buf != NULL)
			{
				if (fill)
					hrm_gemm_pack(buf + n, W + w[i].off, w[i].K, w[i].K, w[i].N, true);
				*w[i].fwd = buf + n;
			}
			n += hrm_gemm_pack_size(w[i].K, w[i].N);
		}
		if (bwd)
		{
			if (buf != NULL)
			{
				if (fill)
					hrm_gemm_pack(buf + n, W + w[i].off, w[i].K, w[i].N, w[i].K, false);
				*w[i].back = buf + n;
			}
			n += hrm_gemm_pack_size(w[i].N, w[i].K);
		}
	}
	return n;
}

/* The same for the bfloat16 forward operands (uint16 elements). */
static size_t
pack_block16(const hrm_model *m, const hrm_block_offsets *bo, uint16_t *buf, bool fill,
			 hrm_block_packs *pk)
{
	const hrm_config *c = m->cfg;
	const float *W = m->params;
	int			D = c->hidden_size,
				Iw = c->inter_size;
	size_t		n = 0;

#define PACK16(field, off, K, N) \
	do { \
		if (buf != NULL) \
		{ \
			if (fill) \
				hrm_gemm_pack_bf16(buf + n, W + (off), (K), (K), (N)); \
			pk->field = buf + n; \
		} \
		n += hrm_gemm_pack_bf16_size((K), (N)); \
	} while (0)

	PACK16(qkv16, bo->qkv, D, 3 * D);
	PACK16(o16, bo->o, D, D);
	if (Iw % 16 == 0)
	{
		if (buf != NULL)
		{
			if (fill)
				hrm_gemm_pack_swiglu_bf16(buf + n, W + bo->gate_up, D, D, Iw);
			pk->gate_up_swiglu16 = buf + n;
		}
		n += hrm_gemm_pack_bf16_size(D, 2 * Iw);
	}
	else
		PACK16(gate_up16, bo->gate_up, D, 2 * Iw);
	PACK16(down16, bo->down, Iw, D);
#undef PACK16
	return n;
}

size_t
hrm_model_pack_floats(const hrm_layout *lay, bool backward)
{
	hrm_model	m;
	hrm_block_packs dummy;
	size_t		n = 0;

	if (!hrm_gemm_available() || lay->cfg.mlp_t)
		return 0;
	memset(&m, 0, sizeof(m));
	m.lay = lay;
	m.cfg = &lay->cfg;
	for (int i = 0; i < n_H_blocks(&lay->cfg); i++)
		n = hrm_sat_add(n, pack_block(&m, &lay->H_blocks[i], backward, NULL, false, &dummy));
	for (int i = 0; i < lay->cfg.L_layers; i++)
		n = hrm_sat_add(n, pack_block(&m, &lay->L_blocks[i], backward, NULL, false, &dummy));
	return n;
}

size_t
hrm_model_pack16_elems(const hrm_layout *lay)
{
	hrm_model	m;
	hrm_block_packs dummy;
	size_t		n = 0;

	if (!hrm_gemm_bf16_available() || lay->cfg.mlp_t)
		return 0;
	memset(&m, 0, sizeof(m));
	m.lay = lay;
	m.cfg = &lay->cfg;
	for (int i = 0; i < n_H_blocks(&lay->cfg); i++)
		n = hrm_sat_add(n, pack_block16(&m, &lay->H_blocks[i], NULL, false, &dummy));
	for (int i = 0; i < lay->cfg.L_layers; i++)
		n = hrm_sat_add(n, pack_block16(&m, &lay->L_blocks[i], NULL, false, &dummy));
	return n;
}

/* The per-block pointer arrays (allocated with the float32 packs). */
static hrm_status
alloc_pack_arrays(hrm_model *m, hrm_error *err)
{
	const hrm_config *c = m->cfg;

	m->H_packs = calloc(c->H_layers > 0 ? c->H_layers : 1, sizeof(hrm_block_packs));
	m->L_packs = calloc(c->L_layers > 0 ? c->L_layers : 1, sizeof(hrm_block_packs));
	if (m->H_packs == NULL || m->L_packs == NULL)
	{
		drop_packs(m);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	}
	return HRM_OK;
}

hrm_status
hrm_model_pack(hrm_model *m, bool backward, hrm_error *err)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	size_t		n = 0;

	if (!hrm_gemm_available() || c->mlp_t)
	{
		/* kernel switched off: drop packs made earlier so nothing stale is used */
		drop_packs(m);
		return HRM_OK;
	}
	if (m->wpack != NULL && !m->wpack_ext && (m->wpack_bwd || !backward))
		backward = m->wpack_bwd;	/* repack what is there */
	else
	{
		drop_packs(m);
		n = hrm_model_pack_floats(lay, backward);
		if (hrm_check_memory(hrm_sat_mul(n, sizeof(float)), "the packed weights", err) != HRM_OK)
			return HRM_ERR_MEMLIMIT;
		if (alloc_pack_arrays(m, err) != HRM_OK)
			return err->code;
		m->wpack = hrm_alloc(n, sizeof(float));
		if (m->wpack == NULL)
		{
			drop_packs(m);
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the packed weights (%zu MB)",
							(n * sizeof(float)) >> 20);
		}
		m->wpack_floats = n;
		m->wpack_bwd = backward;
	}
	n = 0;
	for (int i = 0; i < n_H_blocks(c); i++)
		n += pack_block(m, &lay->H_blocks[i], backward, m->wpack + n, true, &m->H_packs[i]);
	for (int i = 0; i < c->L_layers; i++)
		n += pack_block(m, &lay->L_blocks[i], backward, m->wpack + n, true, &m->L_packs[i]);
	/* bfloat16 packs follow the parameters too */
	if (m->wpack16 != NULL && !m->wpack16_ext)
		return hrm_model_pack_bf16(m, NULL, true, err);
	drop_packs16(m);
	return HRM_OK;
}

hrm_status
hrm_model_pack_bind(hrm_model *m, float *buf, bool fill, hrm_error *err)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	size_t		n = 0;

	drop_packs(m);
	if (!hrm_gemm_available() || c->mlp_t)
		return HRM_OK;
	if (alloc_pack_arrays(m, err) != HRM_OK)
		return err->code;
	for (int i = 0; i < n_H_blocks(c); i++)
		n += pack_block(m, &lay->H_blocks[i], false, buf + n, fill, &m->H_packs[i]);
	for (int i = 0; i < c->L_layers; i++)
		n += pack_block(m, &lay->L_blocks[i], false, buf + n, fill, &m->L_packs[i]);
	m->wpack = buf;
	m->wpack_ext = true;
	m->wpack_floats = n;
	m->wpack_bwd = false;
	return HRM_OK;
}

hrm_status
hrm_model_pack_bf16(hrm_model *m, uint16_t *buf, bool fill, hrm_error *err)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	size_t		n = hrm_model_pack16_elems(lay);

	if (m->wpack == NULL || n == 0)
	{
		/* no float32 packs (no kernel) or no AVX512_BF16: float32 it is */
		drop_packs16(m);
		return HRM_OK;
	}
	if (buf != NULL)
	{
		drop_packs16(m);
		m->wpack16 = buf;
		m->wpack16_ext = true;
	}
	else if (m->wpack16 == NULL || m->wpack16_ext)
	{
		drop_packs16(m);
		if (hrm_check_memory(hrm_sat_mul(n, sizeof(uint16_t)), "the bfloat16 weights", err) != HRM_OK)
			return HRM_ERR_MEMLIMIT;
		m->wpack16 = hrm_alloc(n, sizeof(uint16_t));
		if (m->wpack16 == NULL)
			return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the bfloat16 weights (%zu MB)",
							(n * sizeof(uint16_t)) >> 20);
		fill = true;
	}
	m->wpack16_elems = n;
	n = 0;
	for (int i = 0; i < n_H_blocks(c); i++)
		n += pack_block16(m, &lay->H_blocks[i], m->wpack16 + n, fill, &m->H_packs[i]);
	for (int i = 0; i < c->L_layers; i++)
		n += pack_block16(m, &lay->L_blocks[i], m->wpack16 + n, fill, &m->L_packs[i]);
	return HRM_OK;
}

bool
hrm_model_set_precision(hrm_model *m, hrm_precision p)
{
	m->bf16 = p == HRM_PRECISION_BF16 && m->wpack16 != NULL && hrm_gemm_bf16_available();
	return m->bf16 || p == HRM_PRECISION_FLOAT32;
}

/* ------------------------------------------------------------------------- */
/* carry */

hrm_status
hrm_carry_init(hrm_carry *c, const hrm_model *m, int B, hrm_error *err)
{
	size_t		n;
	hrm_status	st;

	memset(c, 0, sizeof(*c));
	if (B < 1)
		return hrm_fail(err, HRM_ERR_INVALID, "batch size must be at least 1");
	/* the kernels take B * S rows as an int */
	if ((size_t) B * m->cfg->S > INT32_MAX ||
		!hrm_mul_size((size_t) B * m->cfg->S, (size_t) m->cfg->hidden_size, &n))
		return hrm_fail(err, HRM_ERR_LIMIT, "a batch of %d rows of %d positions is too large", B,
						m->cfg->S);
	st = hrm_check_memory(hrm_carry_bytes(m->cfg, B), "the carry", err);
	if (st != HRM_OK)
		return st;
	c->B = B;
	c->z_H = hrm_alloc(n, sizeof(float));
	c->z_L = hrm_alloc(n, sizeof(float));
	c->steps = hrm_alloc(B, sizeof(int32_t));
	c->halted = hrm_alloc(B, 1);
	if (c->z_H == NULL || c->z_L == NULL || c->steps == NULL || c->halted == NULL)
	{
		hrm_carry_free(c);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the carry of %d rows", B);
	}
	memset(c->halted, 1, B);
	return HRM_OK;
}

size_t
hrm_carry_bytes(const hrm_config *c, int B)
{
	size_t		n = hrm_sat_mul(hrm_sat_mul((size_t) (B > 0 ? B : 0), (size_t) c->S),
								(size_t) c->hidden_size);

	return hrm_sat_add(hrm_sat_mul(n, 2 * sizeof(float)),
					   (size_t) (B > 0 ? B : 0) * (sizeof(int32_t) + 1));
}

void
hrm_carry_reset(hrm_carry *c, const hrm_model *m, const uint8_t *mask)
{
	int			S = m->cfg->S,
				D = m->cfg->hidden_size;
	const float *hi = m->params + m->lay->H_init;
	const float *li = m->params + m->lay->L_init;

	for (int b = 0; b < c->B; b++)
	{
		if (mask != NULL && !mask[b])
			continue;
		for (int s = 0; s < S; s++)
		{
			memcpy(c->z_H + ((size_t) b * S + s) * D, hi, sizeof(float) * D);
			memcpy(c->z_L + ((size_t) b * S + s) * D, li, sizeof(float) * D);
		}
		c->steps[b] = 0;
		c->halted[b] = 0;
	}
}

void
hrm_carry_free(hrm_carry *c)
{
	hrm_free(c->z_H);
	hrm_free(c->z_L);
	hrm_free(c->steps);
	hrm_free(c->halted);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------- */
/* workspace */

static size_t
ws_floats_gu(const hrm_config *c, int B)
{
	size_t		a = (size_t) B * c->S * 2 * c->inter_size;
	size_t		b = c->mlp_t ? (size_t) B * c->hidden_size * 2 * c->inter_size_t : 0;

	return a > b ? a : b;
}

/* Rows per tile of the packed forward (0: not yet read from HRM_TILE_ROWS, default 256). */
static int	tile_rows = 0;

void
hrm_set_tile_rows(int rows)
{
	tile_rows = rows > 0 ? rows : 256;
}

/* Examples per tile: about tile_rows rows, at least one. */
static int
hrm_tile_examples(const hrm_config *c)
{
	if (tile_rows == 0)
	{
		const char *e = getenv("HRM_TILE_ROWS");

		hrm_set_tile_rows(e ? atoi(e) : 0);
	}
	return tile_rows / c->S > 0 ? tile_rows / c->S : 1;
}

size_t
hrm_workspace_plan_bytes(const hrm_config *c, int B, bool packed, int threads)
{
	size_t		BSD,
				f = 0,
				gu;

	if (B < 1)
		B = 1;
	/* saturating: a plan too large to count is SIZE_MAX, which no limit admits */
	BSD = hrm_sat_mul(hrm_sat_mul((size_t) B, (size_t) c->S), (size_t) c->hidden_size);
	gu = hrm_sat_mul(hrm_sat_mul((size_t) B, (size_t) c->S), 2 * (size_t) c->inter_size);
	if (c->mlp_t)
	{
		size_t		t = hrm_sat_mul(hrm_sat_mul((size_t) B, (size_t) c->hidden_size),
									2 * (size_t) c->inter_size_t);

		gu = t > gu ? t : gu;
	}
	f = hrm_sat_add(f, hrm_sat_mul(BSD, 2));	/* x, inj */
	f = hrm_sat_add(f, hrm_sat_mul(BSD, 3));	/* qkv */
	f = hrm_sat_add(f, hrm_sat_mul((size_t) c->S, (size_t) c->S));	/* probs */
	f = hrm_sat_add(f, hrm_attention_scratch_floats(c->S, c->head_dim));	/* kvp */
	f = hrm_sat_add(f, hrm_sat_mul(BSD, 2));	/* attn, proj */
	f = hrm_sat_add(f, hrm_sat_add(gu, gu / 2));	/* gu, act */
	f = hrm_sat_add(f, hrm_sat_mul(BSD, 2));	/* tbuf, tbuf2 */
	f = hrm_sat_add(f, hrm_sat_mul((size_t) B, (size_t) c->hidden_size));	/* qz */
	f = hrm_sat_add(f, hrm_sat_mul(BSD, 2));	/* sub carry */
	f = hrm_sat_add(f, hrm_sat_mul(hrm_sat_mul((size_t) B, (size_t) c->seq_len),
								   (size_t) c->vocab_size));	/* sub logits */
	f = hrm_sat_add(f, (size_t) B * 2);
	/* the other pool threads' tile scratch (packed forward) */
	if (packed && threads > 1 && !c->mlp_t)
	{
		size_t		G = (size_t) (hrm_tile_examples(c) < B ? hrm_tile_examples(c) : B);
		size_t		GS = G * (size_t) c->S;
		size_t		per = hrm_sat_add(hrm_sat_mul(hrm_sat_mul(GS, (size_t) c->hidden_size), 4),
									  hrm_sat_mul(GS, 3 * (size_t) c->inter_size));

		per = hrm_sat_add(per, hrm_sat_mul((size_t) c->S, (size_t) c->S));
		per = hrm_sat_add(per, hrm_attention_scratch_floats(c->S, c->head_dim));
		f = hrm_sat_add(f, hrm_sat_mul(per, (size_t) (threads - 1)));
	}
	return hrm_sat_add(hrm_sat_mul(f, sizeof(float)),
					   hrm_sat_mul((size_t) B * ((size_t) c->seq_len + 1), sizeof(int32_t)));
}

size_t
hrm_workspace_bytes(const hrm_model *m, int B)
{
	return hrm_workspace_plan_bytes(m->cfg, B, m->wpack != NULL, hrm_parallel_threads());
}

hrm_workspace *
hrm_workspace_create(const hrm_model *m, int max_B, hrm_error *err)
{
	const hrm_config *c = m->cfg;
	hrm_workspace *ws;
	size_t		BSD;

	if (max_B < 1)
	{
		hrm_fail(err, HRM_ERR_INVALID, "batch size must be at least 1");
		return NULL;
	}
	/* the kernels take max_B * S rows as an int */
	if ((size_t) max_B * c->S > INT32_MAX)
	{
		hrm_fail(err, HRM_ERR_LIMIT, "a batch of %d rows of %d positions is too large", max_B, c->S);
		return NULL;
	}
	if (hrm_check_memory(hrm_workspace_bytes(m, max_B), "the forward workspace", err) != HRM_OK)
		return NULL;
	BSD = (size_t) max_B * c->S * c->hidden_size;
	ws = calloc(1, sizeof(hrm_workspace));
	if (ws == NULL)
	{
		hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the workspace");
		return NULL;
	}
	ws->max_B = max_B;
	ws->x = hrm_alloc(BSD, sizeof(float));
	ws->inj = hrm_alloc(BSD, sizeof(float));
	ws->qkv = hrm_alloc(BSD * 3, sizeof(float));
	ws->probs = hrm_alloc((size_t) c->S * c->S, sizeof(float));
	ws->kvp = hrm_alloc(hrm_attention_scratch_floats(c->S, c->head_dim), sizeof(float));
	ws->attn = hrm_alloc(BSD, sizeof(float));
	ws->proj = hrm_alloc(BSD, sizeof(float));
	ws->gu = hrm_alloc(ws_floats_gu(c, max_B), sizeof(float));
	ws->act = hrm_alloc(ws_floats_gu(c, max_B) / 2, sizeof(float));
	ws->tbuf = hrm_alloc(BSD, sizeof(float));
	ws->tbuf2 = hrm_alloc(BSD, sizeof(float));
	ws->qz = hrm_alloc((size_t) max_B * c->hidden_size, sizeof(float));
	ws->sub.z_H = hrm_alloc(BSD, sizeof(float));
	ws->sub.z_L = hrm_alloc(BSD, sizeof(float));
	ws->sub_inputs = hrm_alloc((size_t) max_B * c->seq_len, sizeof(int32_t));
	ws->sub_pids = hrm_alloc(max_B, sizeof(int32_t));
	ws->sub_logits = hrm_alloc((size_t) max_B * c->seq_len * c->vocab_size, sizeof(float));
	ws->sub_q = hrm_alloc((size_t) max_B * 2, sizeof(float));
	if (!ws->x || !ws->inj || !ws->qkv || !ws->probs || !ws->kvp || !ws->attn || !ws->proj || !ws->gu ||
		!ws->act || !ws->tbuf || !ws->tbuf2 || !ws->qz || !ws->sub.z_H || !ws->sub.z_L ||
		!ws->sub_inputs || !ws->sub_pids || !ws->sub_logits || !ws->sub_q)
	{
		hrm_workspace_free(ws);
		hrm_fail(err, HRM_ERR_NOMEM, "out of memory for a workspace of %d rows (%zu MB)",
				 max_B, hrm_workspace_bytes(m, max_B) >> 20);
		return NULL;
	}
	/* tile scratch for the other pool threads (the packed forward's parallel tiles) */
	if (hrm_parallel_threads() > 1 && !c->mlp_t && m->wpack != NULL)
	{
		int			G = hrm_tile_examples(c) < max_B ? hrm_tile_examples(c) : max_B;

		for (int t = 0; t < hrm_parallel_threads() - 1; t++)
		{
			hrm_workspace *w = calloc(1, sizeof(hrm_workspace));
			size_t		GSD = (size_t) G * c->S * c->hidden_size;

			if (w == NULL)
				break;
			w->max_B = G;
			w->qkv = hrm_alloc(GSD * 3, sizeof(float));
			w->attn = hrm_alloc(GSD, sizeof(float));
			w->gu = hrm_alloc((size_t) G * c->S * 2 * c->inter_size, sizeof(float));
			w->act = hrm_alloc((size_t) G * c->S * c->inter_size, sizeof(float));
			w->probs = hrm_alloc((size_t) c->S * c->S, sizeof(float));
			w->kvp = hrm_alloc(hrm_attention_scratch_floats(c->S, c->head_dim), sizeof(float));
			ws->thr[ws->n_thr++] = w;
			if (!w->qkv || !w->attn || !w->gu || !w->act || !w->probs || !w->kvp)
			{
				hrm_workspace_free(ws);
				hrm_fail(err, HRM_ERR_NOMEM, "out of memory for the threads' scratch");
				return NULL;
			}
		}
	}
	return ws;
}

void
hrm_workspace_free(hrm_workspace *ws)
{
	if (ws == NULL)
		return;
	hrm_free(ws->x);
	hrm_free(ws->inj);
	hrm_free(ws->qkv);
	hrm_free(ws->probs);
	hrm_free(ws->kvp);
	hrm_free(ws->attn);
	hrm_free(ws->proj);
	hrm_free(ws->gu);
	hrm_free(ws->act);
	hrm_free(ws->tbuf);
	hrm_free(ws->tbuf2);
	hrm_free(ws->qz);
	hrm_free(ws->sub.z_H);
	hrm_free(ws->sub.z_L);
	hrm_free(ws->sub_inputs);
	hrm_free(ws->sub_pids);
	hrm_free(ws->sub_logits);
	hrm_free(ws->sub_q);
	for (int t = 0; t < ws->n_thr; t++)
		hrm_workspace_free(ws->thr[t]);
	free(ws);
}

/* ------------------------------------------------------------------------- */
/* embedding */

hrm_status
hrm_check_inputs(const hrm_model *m, const int32_t *inputs, const int32_t *puzzle_ids,
				 int B, hrm_error *err)
{
	const hrm_config *c = m->cfg;

	for (int b = 0; b < B; b++)
	{
		for (int t = 0; t < c->seq_len; t++)
		{
			int32_t		v = inputs[(size_t) b * c->seq_len + t];

			if (v < 0 || v >= c->vocab_size)
				return hrm_fail(err, HRM_ERR_INVALID,
								"token %d at position %d of row %d is outside the vocabulary [0, %d)",
								v, t, b, c->vocab_size);
		}
		if (c->puzzle_emb_ndim > 0 && puzzle_ids != NULL &&
			(puzzle_ids[b] < 0 || puzzle_ids[b] >= c->num_puzzle_identifiers))
			return hrm_fail(err, HRM_ERR_INVALID,
							"puzzle id %d of row %d is outside [0, %d)",
							puzzle_ids[b], b, c->num_puzzle_identifiers);
	}
	return HRM_OK;
}

void
hrm_embed_forward(const hrm_model *m, const int32_t *inputs, const int32_t *puzzle_ids,
				  int B, float *x)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	int			D = c->hidden_size,
				S = c->S,
				P = c->P,
				T = c->seq_len;
	float		scale = sqrtf((float) D);
	const float *E = m->params + lay->embed_tokens;

	for (int b = 0; b < B; b++)
	{
		float	   *xb = x + (size_t) b * S * D;

		/* puzzle slots: the id's row zero-padded to P * D */
		if (P > 0)
		{
			memset(xb, 0, sizeof(float) * (size_t) P * D);
			if (lay->puzzle_emb != HRM_NO_OFFSET)
			{
				int			id = puzzle_ids != NULL ? puzzle_ids[b] : 0;

				memcpy(xb, m->params + lay->puzzle_emb + (size_t) id * c->puzzle_emb_ndim,
					   sizeof(float) * c->puzzle_emb_ndim);
			}
		}
		for (int t = 0; t < T; t++)
			memcpy(xb + (size_t) (P + t) * D, E + (size_t) inputs[(size_t) b * T + t] * D,
				   sizeof(float) * D);
		if (lay->embed_pos != HRM_NO_OFFSET)
		{
			const float *pos = m->params + lay->embed_pos;

			for (size_t i = 0; i < (size_t) S * D; i++)
				xb[i] = 0.707106781f * (xb[i] + pos[i]);
		}
		for (size_t i = 0; i < (size_t) S * D; i++)
			xb[i] *= scale;
	}
}

void
hrm_embed_backward(const hrm_model *m, const int32_t *inputs, int B, const float *dx, float *grads,
				   float *pgrad)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	int			D = c->hidden_size,
				P = c->P,
				T = c->seq_len,
				ndim = c->puzzle_emb_ndim;
	size_t		SD = (size_t) c->S * D;
	float		scale = sqrtf((float) D);

	for (int b = 0; b < B; b++)
	{
		const float *dxb = dx + (size_t) b * SD;	/* [S, D] */
		float		f = scale;

		/* x = scale * 0.7071 (e + pos) with learned positions, else scale * e */
		if (lay->embed_pos != HRM_NO_OFFSET)
		{
			float	   *gpos = grads + lay->embed_pos;

			f = scale * 0.707106781f;
			for (size_t k = 0; k < SD; k++)
				gpos[k] += f * dxb[k];
		}
		for (int tt = 0; tt < T; tt++)
		{
			float	   *gE = grads + lay->embed_tokens + (size_t) inputs[(size_t) b * T + tt] * D;
			const float *g = dxb + (size_t) (P + tt) * D;

			for (int k = 0; k < D; k++)
				gE[k] += f * g[k];
		}
		/* the puzzle row's gradient (its first ndim floats of the slots) */
		if (ndim > 0)
		{
			float	   *pg = pgrad + (size_t) b * ndim;

			for (int k = 0; k < ndim; k++)
				pg[k] = f * dxb[k];
		}
	}
}

/* ------------------------------------------------------------------------- */
/* blocks */

/*
 * Whether a product-level split over the pool can run here: more than one
 * thread, not inside a task already (the tiles of a batch are spread over
 * the threads instead), and scratch for every thread in the workspace.
 */
static bool
intra_parallel(const hrm_workspace *ws)
{
	int			T = hrm_parallel_threads();

	return T > 1 && !hrm_parallel_active() && ws->n_thr + 1 >= T;
}

typedef struct attn_job
{
	const hrm_model *m;
	hrm_workspace *ws;
	float	   *out;
	float	   *probs;
	bool		keep;
	float	   *qkv;
	bool		rope;			/* rotate the head's Q and K first */
	int			T;				/* threads (ranges of pairs) */
	hrm_range	pairs[HRM_MAX_THREADS];	/* thread t's (example, head) pairs */
} attn_job;

/* Pair i: example i / NH, head i % NH, on thread t's scratch. */
static void
attn_pair(const attn_job *j, int i, int t)
{
	const hrm_config *c = j->m->cfg;
	hrm_workspace *w = t == 0 ? j->ws : j->ws->thr[t - 1];

	if (j->rope)
		hrm_rope_head_forward(j->qkv, j->m->rope_cos, j->m->rope_sin, i / c->num_heads, i % c->num_heads,
							  c->S, c->num_heads, c->head_dim);

	hrm_attention_head_packed(j->out, j->keep ? j->probs : w->probs, j->keep, j->qkv, i / c->num_heads,
							  i % c->num_heads, c->S, c->num_heads, c->head_dim, c->S, w->kvp,
							  j->m->attn_allow);
}

/*
 * Task i: range i of the pairs from its front, then single pairs from the
 * back of the other ranges (parallel.h, hrm_range).
 */
static void
attn_task(void *arg, int i, int t)
{
	attn_job   *j = arg;
	int			first,
				p;

	while (hrm_range_front(&j->pairs[i], 1, &first) > 0)
		attn_pair(j, j->pairs[i].p0 + first, t);
	while ((p = hrm_range_other(j->pairs, j->T, i)) >= 0)
		attn_pair(j, p, t);
}

/*
 * The packed attention of B examples, RoPE first (rope: the model's
 * position encoding is RoPE): (example, head) pairs over the pool when
 * the products of this block are split (one puzzle on two threads), each
 * pair rotating its own head's Q and K (heads are independent, and the
 * rotation would otherwise run on one thread while the others wait), else
 * in order on this thread.  Each thread takes a contiguous range of the
 * pairs: the qkv product split its columns in contiguous ranges too, so a
 * thread's heads are mostly in its own cache (the two cores here are far
 * apart: a line from the other core's cache costs about 250 ns, and a
 * head's rows are too far apart for the hardware prefetcher; spreading the
 * pairs one by one over the threads tripled the attention's CPU time on
 * two threads); a thread done early takes pairs from the back of the
 * others'.  Each pair is the same computation either way, so the split
 * changes no value.
 */
static void
attention_packed(const hrm_model *m, hrm_workspace *ws, float *out, float *probs, bool keep,
				 float *qkv, int B, bool rope)
{
	const hrm_config *c = m->cfg;

	int			n = B * c->num_heads;

	if (intra_parallel(ws) && n > 1)
	{
		attn_job	j = {m, ws, out, probs, keep, qkv, rope};

		j.T = hrm_parallel_threads() < n ? hrm_parallel_threads() : n;
		hrm_range_split(j.pairs, j.T, n);
		hrm_parallel_for(j.T, attn_task, &j);
	}
	else
	{
		if (rope)
			hrm_rope_forward(qkv, m->rope_cos, m->rope_sin, B, c->S, c->num_heads, c->head_dim);
		hrm_attention_forward_packed(out, probs, keep, qkv, B, c->S, c->num_heads, c->head_dim, c->S,
									 ws->kvp, m->attn_allow);
	}
}

void
hrm_block_forward(const hrm_model *m, const hrm_block_offsets *bo, const hrm_block_packs *pk,
				  float *h, int B, hrm_workspace *ws, hrm_block_acts *acts)
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
	/*
	 * Kept activations: the block computes in its workspace (the tile's
	 * buffers, in L2) and streams each kept tensor out once it is used
	 * (hrm_copy_stream); writing them in place pulled every line of the
	 * record in from memory first.  The SwiGLU projection is streamed by
	 * the product's epilogue itself.
	 */
	float	   *qkv = ws->qkv;
	float	   *attn = ws->attn;
	float	   *gu = acts ? acts->gu : ws->gu;
	float	   *act = ws->act;
	float	   *probs = acts ? acts->probs : ws->probs;

	/* bfloat16 products (inference only: the kept activations are float32 training) */
	bool		b16 = pk != NULL && m->bf16 && acts == NULL && pk->qkv16 != NULL;

	if (c->mlp_t)
	{
		/* TRM-MLP: token mixing instead of attention (trm.c) */
		hrm_block_forward_mlp_t(m, bo, h, B, ws, acts);
		return;
	}
	if (acts)
		hrm_copy_stream(acts->h_in, h, MD);

	/* ---- attention sublayer: h = norm(h + o_proj(attn(qkv_proj(h)))) ---- */
	/* qkv[M, 3D] = h W_qkv^T */
	if (b16)
		hrm_gemm_packed_bf16(M, 3 * D, D, h, D, pk->qkv16, 0.0f, qkv, 3 * D);
	else if (pk)
		hrm_gemm_packed(M, 3 * D, D, 1.0f, h, D, pk->qkv, 0.0f, qkv, 3 * D);
	else
		hrm_matmul_forward(qkv, h, W + bo->qkv, M, 3 * D, D, 0.0f);
	if (pk)
		attention_packed(m, ws, attn, probs, acts != NULL, qkv, B, c->pos_encodings == HRM_POS_ROPE);
	else
	{
		if (c->pos_encodings == HRM_POS_ROPE)
			hrm_rope_forward(qkv, m->rope_cos, m->rope_sin, B, S, NH, hd);
		hrm_attention_forward(attn, probs, acts != NULL, qkv, B, S, NH, hd, m->attn_allow);
	}
	if (acts)
		hrm_copy_stream(acts->qkv, qkv, MD * 3);
	/* h += attn W_o^T (proj[M, D] then the residual add on the BLAS path) */
	if (b16)
		hrm_gemm_packed_bf16(M, D, D, attn, D, pk->o16, 1.0f, h, D);
	else if (pk)
		hrm_gemm_packed(M, D, D, 1.0f, attn, D, pk->o, 1.0f, h, D);
	else
	{
		hrm_matmul_forward(ws->proj, attn, W + bo->o, M, D, D, 0.0f);
		hrm_add_forward(h, h, ws->proj, MD);
	}
	if (acts)
		hrm_copy_stream(acts->attn, attn, MD);
	hrm_rmsnorm_forward(h, acts ? acts->rstd1 : NULL, h, M, D, eps);
	if (acts)
		hrm_copy_stream(acts->h_mid, h, MD);

	/* ---- MLP sublayer: h = norm(h + down(silu(gate) * up)) ---- */
	/* gu[M, 2I] = h W_gu^T; act = silu(gate) * up (fused, gu written only when kept) */
	/* both products row block by row block, act kept in L1 (when it applies; bit-identical) */
	if (b16)
	{
		if (pk->gate_up_swiglu16)
			hrm_gemm_packed_swiglu_bf16(M, Iw, D, h, D, pk->gate_up_swiglu16, act, Iw);
		else
		{
			hrm_gemm_packed_bf16(M, 2 * Iw, D, h, D, pk->gate_up16, 0.0f, gu, 2 * Iw);
			hrm_swiglu_forward(act, gu, M, Iw);
		}
		hrm_gemm_packed_bf16(M, D, Iw, act, Iw, pk->down16, 1.0f, h, D);
	}
	else if (!(pk && pk->gate_up_swiglu &&
		  hrm_gemm_packed_mlp(M, Iw, D, h, D, pk->gate_up_swiglu, pk->down, h, D, acts ? gu : NULL,
							  acts ? acts->act : NULL)))
	{
		if (pk && pk->gate_up_swiglu)
			hrm_gemm_packed_swiglu(M, Iw, D, h, D, pk->gate_up_swiglu, act, Iw, acts ? gu : NULL);
		else
		{
			if (pk)
				hrm_gemm_packed(M, 2 * Iw, D, 1.0f, h, D, pk->gate_up, 0.0f, gu, 2 * Iw);
			else
				hrm_matmul_forward(gu, h, W + bo->gate_up, M, 2 * Iw, D, 0.0f);
			hrm_swiglu_forward(act, gu, M, Iw);
		}
		/* h += act W_down^T */
		if (pk)
			hrm_gemm_packed(M, D, Iw, 1.0f, act, Iw, pk->down, 1.0f, h, D);
		else
		{
			hrm_matmul_forward(ws->proj, act, W + bo->down, M, D, Iw, 0.0f);
			hrm_add_forward(h, h, ws->proj, MD);
		}
		if (acts)
			hrm_copy_stream(acts->act, act, (size_t) M * Iw);
	}
	hrm_rmsnorm_forward(h, acts ? acts->rstd2 : NULL, h, M, D, eps);
	if (acts)
		hrm_copy_stream(acts->h_out, h, MD);
}

const hrm_block_packs *
hrm_packs_for(const hrm_model *m, const hrm_block_offsets *blocks)
{
	if (m->wpack == NULL)
		return NULL;
	if (blocks == m->lay->H_blocks)
		return m->H_packs;
	if (blocks == m->lay->L_blocks)
		return m->L_packs;
	return NULL;
}

/* acts of rows [b0, b0 + B) of a record laid out for the whole batch */
static hrm_block_acts
hrm_acts_at(const hrm_config *c, const hrm_block_acts *a, int b0)
{
	hrm_block_acts r = *a;
	size_t		rows = (size_t) b0 * c->S;
	size_t		MD = rows * c->hidden_size;

	r.h_in += MD;
	r.qkv += MD * 3;
	r.probs += (size_t) b0 * c->num_heads * c->S * c->S;
	r.attn += MD;
	r.h_mid += MD;
	r.rstd1 += rows;
	r.gu += rows * 2 * c->inter_size;
	r.act += rows * c->inter_size;
	r.h_out += MD;
	r.rstd2 += rows;
	return r;
}

/*
 * The last block of the Q-target segment's final H call, for position 0
 * only (the Q head reads z_H[:, 0] and nothing else of that call is used):
 * keys and values of every position, one query, then the o and MLP rows of
 * position 0.  Each step is the full block's computation restricted to
 * those rows (the packed GEMM does not depend on M or row position), so
 * z_H[:, 0] comes out bit-identical; the other positions of h are left
 * holding the block's input.
 */
static void
block_forward_row0(const hrm_model *m, const hrm_block_packs *pk, float *h, int B,
				   hrm_workspace *ws)
{
	const hrm_config *c = m->cfg;
	int			D = c->hidden_size,
				S = c->S,
				Iw = c->inter_size,
				NH = c->num_heads,
				hd = c->head_dim;
	int			M = B * S;
	int			SD = S * D;
	float		eps = (float) c->rms_norm_eps;

	hrm_gemm_packed(M, 3 * D, D, 1.0f, h, D, pk->qkv, 0.0f, ws->qkv, 3 * D);
	if (c->pos_encodings == HRM_POS_ROPE)
		hrm_rope_forward(ws->qkv, m->rope_cos, m->rope_sin, B, S, NH, hd);
	/* position 0's attention output of every example (rows 0 of attn, S * D apart) */
	hrm_attention_forward_packed(ws->attn, ws->probs, false, ws->qkv, B, S, NH, hd, 1, ws->kvp,
								 m->attn_allow);
	/* rows 0 of h are S * D apart too */
	hrm_gemm_packed(B, D, D, 1.0f, ws->attn, SD, pk->o, 1.0f, h, SD);
	for (int b = 0; b < B; b++)
		hrm_rmsnorm_forward(h + (size_t) b * SD, NULL, h + (size_t) b * SD, 1, D, eps);
	if (pk->gate_up_swiglu)
		hrm_gemm_packed_swiglu(B, Iw, D, h, SD, pk->gate_up_swiglu, ws->act, Iw, NULL);
	else
	{
		hrm_gemm_packed(B, 2 * Iw, D, 1.0f, h, SD, pk->gate_up, 0.0f, ws->gu, 2 * Iw);
		hrm_swiglu_forward(ws->act, ws->gu, B, Iw);
	}
	hrm_gemm_packed(B, D, Iw, 1.0f, ws->act, Iw, pk->down, 1.0f, h, SD);
	for (int b = 0; b < B; b++)
		hrm_rmsnorm_forward(h + (size_t) b * SD, NULL, h + (size_t) b * SD, 1, D, eps);
}

typedef struct module_job
{
	const hrm_model *m;
	const hrm_block_offsets *blocks;
	const hrm_block_packs *pk;
	int			n,
				B,
				G;
	float	   *z;
	const float *inj;
	hrm_workspace *ws;
	hrm_block_acts *acts;
	bool		row0_last;
} module_job;

/* One tile (examples [tile * G, ...)) through every block of the module. */
static void
module_tile(void *arg, int tile, int t)
{
	const module_job *j = arg;
	const hrm_config *c = j->m->cfg;
	size_t		SD = (size_t) c->S * c->hidden_size;
	int			b0 = tile * j->G;
	int			g = j->B - b0 < j->G ? j->B - b0 : j->G;
	float	   *zt = j->z + (size_t) b0 * SD;
	hrm_workspace *ws = t == 0 ? j->ws : j->ws->thr[t - 1];

	/* input injection: a single add before the first block */
	hrm_add_forward(zt, zt, j->inj + (size_t) b0 * SD, (size_t) g * SD);
	for (int i = 0; i < j->n; i++)
	{
		hrm_block_acts at;

		/* cancellation point: the caller sees the flag after the module (hrm_cancel_requested) */
		if (hrm_cancel_requested())
			return;
		if (j->acts)
			at = hrm_acts_at(c, &j->acts[i], b0);
		if (j->row0_last && j->pk && i == j->n - 1)
			block_forward_row0(j->m, &j->pk[i], zt, g, ws);
		else
			hrm_block_forward(j->m, &j->blocks[i], j->pk ? &j->pk[i] : NULL, zt, g, ws,
							  j->acts ? &at : NULL);
	}
}

/*
 * The examples the busiest of T threads runs when B examples go in tiles
 * of g (the pool hands tiles to threads as they come free: the whole
 * tiles evenly, the short last one to a thread with the least).
 */
static int
tile_makespan(int B, int g, int T)
{
	int			full = B / g,
				rem = B % g,
				most = (full + T - 1) / T * g,	/* the threads with one whole tile more */
				least = full / T * g;

	return rem == 0 ? most : (full % T != 0 ? (least + rem > most ? least + rem : most) : least + rem);
}

/*
 * Examples per tile for T threads: at most G0, and smaller (down to G0 / 2)
 * when that shortens the busiest thread's share by more than 3%: a batch
 * of 16 (the views' sub-batch) in tiles of 3 gives one thread 9 examples
 * and the other 7, in tiles of 2, 8 each.
 */
static int
balanced_tile(int B, int G0, int T)
{
	int			best = G0,
				best_span;

	if (T <= 1)
		return G0;
	best_span = tile_makespan(B, G0, T);
	for (int g = G0 - 1; g >= 1 && 2 * g >= G0; g--)
	{
		int			span = tile_makespan(B, g, T);

		if (span * 100 < best_span * 97)
			best = g, best_span = span;
	}
	return best;
}

static void
module_forward(const hrm_model *m, const hrm_block_offsets *blocks, int n,
			   float *z, const float *inj, int B, hrm_workspace *ws, hrm_block_acts *acts,
			   bool row0_last)
{
	const hrm_block_packs *pk = hrm_packs_for(m, blocks);
	module_job	j = {m, blocks, pk, n, B, B, z, inj, ws, acts, row0_last};
	int			T = 1;

	/*
	 * With packed weights the batch runs in tiles of a few examples through
	 * every block, so that each tile's activations stay in L2 from one
	 * product to the next, and the tiles are spread over the pool's threads
	 * (each with its own scratch).  Rows are independent (attention is
	 * within an example) and the packed GEMM's results do not depend on M,
	 * so neither tiling nor threads change any value.
	 */
	if (pk)
	{
		int			G0 = hrm_tile_examples(m->cfg);

		T = hrm_parallel_threads() < ws->n_thr + 1 ? hrm_parallel_threads() : ws->n_thr + 1;
		if (hrm_parallel_active())
			T = 1;
		j.G = balanced_tile(B, G0, T);
		/* the other threads' scratch holds at most thr->max_B examples */
		if (T > 1 && j.G > ws->thr[0]->max_B)
			T = 1, j.G = G0;
		/*
		 * Fewer tiles than threads (one puzzle, or two): the tiles run in
		 * turn on this thread and each product, the attention's heads
		 * among them, is split over the pool instead.
		 */
		if (T > 1 && (B + j.G - 1) / j.G < T)
			T = 1;
	}
	if (T > 1)
		hrm_parallel_for((B + j.G - 1) / j.G, module_tile, &j);
	else
		for (int tile = 0; tile * j.G < B; tile++)
			module_tile(&j, tile, 0);
}

void
hrm_module_forward(const hrm_model *m, const hrm_block_offsets *blocks, int n,
				   float *z, const float *inj, int B, hrm_workspace *ws, hrm_block_acts *acts)
{
	module_forward(m, blocks, n, z, inj, B, ws, acts, false);
}

void
hrm_module_forward_q(const hrm_model *m, const hrm_block_offsets *blocks, int n,
					 float *z, const float *inj, int B, hrm_workspace *ws, hrm_block_acts *acts,
					 bool q_only)
{
	module_forward(m, blocks, n, z, inj, B, ws, acts, q_only);
}

/*
 * The heads' products are tiny (one puzzle's logits: 81 x 11 x 512) but
 * large enough for OpenBLAS to split them over its own threads, which then
 * spin (sched_yield) for a long while waiting for more; beside the
 * engine's pool on few cores they took a quarter of the CPU from it (one
 * puzzle on two threads).  So the heads call OpenBLAS on one thread; the
 * BLAS path's block products, where its threads help, keep hrm.threads.
 */
static int
blas_one_thread(void)
{
	int			n = openblas_get_num_threads();

	if (n > 1)
		openblas_set_num_threads(1);
	return n;
}

static void
blas_threads_restore(int n)
{
	if (n > 1)
		openblas_set_num_threads(n);
}

void
hrm_heads_forward(const hrm_model *m, const float *z_H, int B, float *logits, float *q,
				  hrm_workspace *ws)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	int			D = c->hidden_size,
				S = c->S,
				P = c->P,
				T = c->seq_len,
				V = c->vocab_size;

	int			blas_n = blas_one_thread();

	if (logits != NULL)
	{
		/* logits[b] [T, V] = z_H[b, P:] W_lm^T */
		for (int b = 0; b < B; b++)
			hrm_matmul_forward(logits + (size_t) b * T * V, z_H + ((size_t) b * S + P) * D,
							   m->params + lay->lm_head, T, V, D, 0.0f);
	}
	if (q != NULL)
	{
		const float *bias = m->params + lay->q_b;

		/* q[B, 2] = z_H[:, 0] W_q^T + b  (rows of z_H are S * D apart) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 2, D,
					1.0f, z_H, S * D, m->params + lay->q_w, D, 0.0f, q, 2);
		for (int b = 0; b < B; b++)
		{
			q[2 * b] += bias[0];
			q[2 * b + 1] += bias[1];
		}
	}
	blas_threads_restore(blas_n);
}

void
hrm_heads_backward(const hrm_model *m, const float *z_H, int B, const float *dlogits, const float *dq,
				   float *dz, float *grads)
{
	const hrm_config *c = m->cfg;
	const hrm_layout *lay = m->lay;
	int			D = c->hidden_size,
				S = c->S,
				P = c->P,
				T = c->seq_len,
				V = c->vocab_size;
	size_t		SD = (size_t) S * D;
	const float *Wq = m->params + lay->q_w;
	float	   *gWq = grads + lay->q_w;

	int			blas_n = blas_one_thread();

	memset(dz, 0, sizeof(float) * (size_t) B * SD);
	/* lm_head on positions P..S-1: logits [T, V] = z_H [T, D] W^T */
	for (int b = 0; b < B; b++)
		hrm_matmul_backward(dz + ((size_t) b * S + P) * D, grads + lay->lm_head,
							dlogits + (size_t) b * T * V, z_H + ((size_t) b * S + P) * D,
							m->params + lay->lm_head, T, V, D, 0.0f);
	blas_threads_restore(blas_n);
	/* q_head on position 0: q [2] = W_q z_H[0] + b_q */
	for (int b = 0; b < B; b++)
	{
		const float *zh0 = z_H + (size_t) b * SD;
		float	   *dz0 = dz + (size_t) b * SD;
		float		d0 = dq[2 * b],
					d1 = dq[2 * b + 1];

		for (int k = 0; k < D; k++)
		{
			gWq[k] += d0 * zh0[k];
			gWq[D + k] += d1 * zh0[k];
			dz0[k] += d0 * Wq[k] + d1 * Wq[D + k];
		}
		grads[lay->q_b] += d0;
		grads[lay->q_b + 1] += d1;
	}
}

/* ------------------------------------------------------------------------- */
/* segment */

static hrm_status
segment_forward(const hrm_model *m, hrm_workspace *ws, hrm_carry *c,
				const int32_t *inputs, const int32_t *puzzle_ids,
				float *logits, float *q, bool q_only, hrm_error *err)
{
	const hrm_config *cfg = m->cfg;
	int			B = c->B;

	if (B > ws->max_B)
		return hrm_fail(err, HRM_ERR_INVALID, "batch of %d rows exceeds the workspace (%d)", B, ws->max_B);
	HRM_ASSERT(B > 0 && c->z_H != NULL && c->z_L != NULL && inputs != NULL);
	HRM_ASSERT(cfg->arch == HRM_ARCH_HRM || cfg->arch == HRM_ARCH_TRM);

	hrm_embed_forward(m, inputs, puzzle_ids, B, ws->x);

	/* the architecture's recursion; a module call stops early on cancel (module_tile) */
	if (!hrm_arch_get(cfg->arch)->recur(m, ws, c, ws->x, NULL, NULL, q_only) || hrm_cancel_requested())
		return hrm_fail(err, HRM_ERR_CANCELLED, "cancelled during a segment");
	hrm_heads_forward(m, c->z_H, B, q_only ? NULL : logits, q, ws);
	return HRM_OK;
}

hrm_status
hrm_segment_forward(const hrm_model *m, hrm_workspace *ws, hrm_carry *c,
					const int32_t *inputs, const int32_t *puzzle_ids,
					float *logits, float *q, hrm_error *err)
{
	return segment_forward(m, ws, c, inputs, puzzle_ids, logits, q, false, err);
}

hrm_status
hrm_segment_q(const hrm_model *m, hrm_workspace *ws, hrm_carry *c,
			  const int32_t *inputs, const int32_t *puzzle_ids, float *q, hrm_error *err)
{
	return segment_forward(m, ws, c, inputs, puzzle_ids, NULL, q, true, err);
}

/* ------------------------------------------------------------------------- */
/* ACT inference */

/* Rows per engine call inside hrm_infer (bounds workspace memory). */
#define HRM_INFER_CHUNK 64

hrm_status
hrm_infer(const hrm_model *m, const int32_t *inputs, const int32_t *puzzle_ids, int B,
		  const hrm_infer_opts *opts, float *logits, float *q, int32_t *steps_out,
		  hrm_segment_cb cb, void *cb_arg, hrm_error *err)
{
	hrm_carry	carry;
	hrm_workspace *ws;
	hrm_status	st;

	if (B < 1)
		return hrm_fail(err, HRM_ERR_INVALID, "batch size must be at least 1");
	st = hrm_check_inputs(m, inputs, puzzle_ids, B, err);
	if (st != HRM_OK)
		return st;
	st = hrm_check_memory(hrm_infer_bytes(m, B), "inference", err);
	if (st != HRM_OK)
		return st;
	st = hrm_carry_init(&carry, m, B, err);
	if (st != HRM_OK)
		return st;
	ws = hrm_workspace_create(m, B < HRM_INFER_CHUNK ? B : HRM_INFER_CHUNK, err);
	if (ws == NULL)
		st = err->code;
	else
		st = hrm_infer_with(m, ws, &carry, inputs, puzzle_ids, B, opts, logits, q, steps_out,
							cb, cb_arg, err);
	hrm_workspace_free(ws);
	hrm_carry_free(&carry);
	return st;
}

int
hrm_workspace_rows(const hrm_workspace *ws)
{
	return ws->max_B;
}

hrm_status
hrm_infer_with(const hrm_model *m, hrm_workspace *ws, hrm_carry *rows, const int32_t *inputs,
			   const int32_t *puzzle_ids, int B, const hrm_infer_opts *opts, float *logits,
			   float *q, int32_t *steps_out, hrm_segment_cb cb, void *cb_arg, hrm_error *err)
{
	const hrm_config *cfg = m->cfg;
	int			M = (opts != NULL && opts->segments > 0) ? opts->segments : cfg->halt_max_steps;
	bool		adaptive = opts != NULL && opts->adaptive;
	int			chunk = B < HRM_INFER_CHUNK ? B : HRM_INFER_CHUNK;
	size_t		SD = (size_t) cfg->S * cfg->hidden_size;
	size_t		TV = (size_t) cfg->seq_len * cfg->vocab_size;
	hrm_carry	carry;
	uint8_t		ran_stack[256];
	uint8_t    *ran = NULL;
	hrm_status	st;

	if (B < 1)
		return hrm_fail(err, HRM_ERR_INVALID, "batch size must be at least 1");
	if (rows->B < B)
		return hrm_fail(err, HRM_ERR_INVALID, "a carry of %d rows cannot run a batch of %d", rows->B, B);
	if (chunk > ws->max_B)
		chunk = ws->max_B;
	st = hrm_check_inputs(m, inputs, puzzle_ids, B, err);
	if (st != HRM_OK)
		return st;
	/* the first B rows of the caller's carry */
	carry = *rows;
	carry.B = B;
	/* on the stack for the usual batch sizes, so a callback may unwind through here */
	ran = B <= (int) sizeof(ran_stack) ? ran_stack : calloc(B, 1);
	if (ran == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory");
	/* the initial carry has every row halted: reset them all */
	hrm_carry_reset(&carry, m, NULL);

	for (int seg = 1; seg <= M; seg++)
	{
		int			n_active = 0;
		int			b0;

		for (int b = 0; b < B; b++)
		{
			ran[b] = !carry.halted[b];
			n_active += ran[b];
		}
		if (n_active == 0)
			break;

		/* process the active rows chunk by chunk */
		b0 = 0;
		while (b0 < B)
		{
			int			idx[HRM_INFER_CHUNK];
			int			n = 0;
			int			next = b0;
			bool		contiguous = true;

			for (; next < B && n < chunk; next++)
				if (ran[next])
				{
					if (n > 0 && idx[n - 1] != next - 1)
						contiguous = false;
					idx[n++] = next;
				}
			b0 = next;
			if (n == 0)
				continue;
			if (contiguous)
			{
				/* operate on a view of the carry in place */
				hrm_carry	view = carry;

				view.B = n;
				view.z_H = carry.z_H + (size_t) idx[0] * SD;
				view.z_L = carry.z_L + (size_t) idx[0] * SD;
				st = hrm_segment_forward(m, ws, &view, inputs + (size_t) idx[0] * cfg->seq_len,
										 puzzle_ids ? puzzle_ids + idx[0] : NULL,
										 logits + (size_t) idx[0] * TV, q + (size_t) idx[0] * 2, err);
			}
			else
			{
				/* gather the rows, run, scatter back */
				ws->sub.B = n;
				for (int k = 0; k < n; k++)
				{
					memcpy(ws->sub.z_H + k * SD, carry.z_H + (size_t) idx[k] * SD, sizeof(float) * SD);
					memcpy(ws->sub.z_L + k * SD, carry.z_L + (size_t) idx[k] * SD, sizeof(float) * SD);
					memcpy(ws->sub_inputs + (size_t) k * cfg->seq_len,
						   inputs + (size_t) idx[k] * cfg->seq_len, sizeof(int32_t) * cfg->seq_len);
					ws->sub_pids[k] = puzzle_ids ? puzzle_ids[idx[k]] : 0;
				}
				st = hrm_segment_forward(m, ws, &ws->sub, ws->sub_inputs, ws->sub_pids,
										 ws->sub_logits, ws->sub_q, err);
				for (int k = 0; k < n && st == HRM_OK; k++)
				{
					memcpy(carry.z_H + (size_t) idx[k] * SD, ws->sub.z_H + k * SD, sizeof(float) * SD);
					memcpy(carry.z_L + (size_t) idx[k] * SD, ws->sub.z_L + k * SD, sizeof(float) * SD);
					memcpy(logits + (size_t) idx[k] * TV, ws->sub_logits + k * TV, sizeof(float) * TV);
					q[2 * idx[k]] = ws->sub_q[2 * k];
					q[2 * idx[k] + 1] = ws->sub_q[2 * k + 1];
				}
			}
			if (st != HRM_OK)
				goto done;
		}

		/* halting */
		for (int b = 0; b < B; b++)
		{
			if (!ran[b])
				continue;
			carry.steps[b]++;
			if (carry.steps[b] >= M)
				carry.halted[b] = 1;
			else if (adaptive && hrm_halt_signal(cfg, q + 2 * b))
				carry.halted[b] = 1;
		}
		if (cb != NULL && cb(cb_arg, seg, B, logits, q, ran) != 0)
		{
			st = hrm_fail(err, HRM_ERR_CANCELLED, "inference cancelled after segment %d", seg);
			goto done;
		}
	}
	if (steps_out != NULL)
		memcpy(steps_out, carry.steps, sizeof(int32_t) * B);

done:
	if (ran != ran_stack)
		free(ran);
	return st;
}

/* ------------------------------------------------------------------------- */
/* accounting and threads */

size_t
hrm_infer_plan_bytes(const hrm_config *c, int B, bool packed, int threads)
{
	int			chunk = B < HRM_INFER_CHUNK ? B : HRM_INFER_CHUNK;

	return hrm_sat_add(hrm_sat_add(hrm_carry_bytes(c, B),
								   hrm_workspace_plan_bytes(c, chunk, packed, threads)),
					   (size_t) (B > 0 ? B : 0));
}

size_t
hrm_infer_bytes(const hrm_model *m, int B)
{
	return hrm_infer_plan_bytes(m->cfg, B, m->wpack != NULL, hrm_parallel_threads());
}

double
hrm_segment_flops(const hrm_config *c, int B)
{
	double		M = (double) B * c->S;
	double		D = c->hidden_size,
				Iw = c->inter_size,
				S = c->S;
	double		block = 2.0 * M * D * (3 * D) + 2.0 * M * D * D	/* qkv, o */
		+ 2.0 * M * D * (2 * Iw) + 2.0 * M * Iw * D	/* gate_up, down */
		+ 4.0 * B * S * S * D;	/* QK^T and PV over all heads */
	double		n_blocks = hrm_arch_get(c->arch)->segment_blocks(c);

	return n_blocks * block + 2.0 * B * c->seq_len * D * c->vocab_size + 2.0 * B * D * 2;
}

void
hrm_set_threads(int n)
{
	if (n > 0)
	{
		openblas_set_num_threads(n);
		hrm_parallel_set_threads(n);
	}
}

int
hrm_get_threads(void)
{
	return openblas_get_num_threads();
}
