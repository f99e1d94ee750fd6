/*
 * model.h — the parameter layout: every tensor of the model as a (name,
 * offset, shape) entry in ONE flat float32 buffer (the llm.c layout).
 *
 * Order inside the buffer:
 *   H_init, L_init                        buffers, never trained
 *   embed_tokens, [embed_pos], lm_head,
 *   q_head.weight, q_head.bias,
 *   H_level blocks, L_level blocks        trained by AdamATan2 (one contiguous range)
 *   puzzle_emb.weights                    trained by sparse SignSGD (last, may be large)
 *
 * Canonical names are the reference's without prefixes; lookups accept the
 * `_orig_mod.` and `model.inner.` prefixes.
 */
#ifndef HRM_MODEL_H
#define HRM_MODEL_H

#include "config.h"
#include "safetensors.h"

#define HRM_NAME_LEN 96

typedef enum hrm_param_kind
{
	HRM_PK_BUFFER = 0,			/* H_init / L_init */
	HRM_PK_DENSE = 1,			/* trained by the dense optimizer */
	HRM_PK_SPARSE = 2			/* puzzle embedding rows */
} hrm_param_kind;

typedef struct hrm_tensor_info
{
	char		name[HRM_NAME_LEN]; /* canonical name */
	size_t		offset;			/* in floats from the start of the buffer */
	size_t		numel;
	int			ndim;
	int64_t		shape[4];
	hrm_param_kind kind;
} hrm_tensor_info;

/* Offsets of one transformer block's weights ([out, in] each). */
typedef struct hrm_block_offsets
{
	size_t		qkv;			/* [3D, D]      (attention blocks) */
	size_t		o;				/* [D, D]       (attention blocks) */
	size_t		t_gate_up;		/* [2 It, S]    (mlp_t blocks) */
	size_t		t_down;			/* [S, It]      (mlp_t blocks) */
	size_t		gate_up;		/* [2I, D] */
	size_t		down;			/* [D, I] */
} hrm_block_offsets;

#define HRM_NO_OFFSET ((size_t) -1)

typedef struct hrm_layout
{
	hrm_config	cfg;
	int			n_tensors;
	hrm_tensor_info *tensors;
	size_t		n_params;		/* floats in the whole buffer */
	size_t		dense_begin;	/* [dense_begin, dense_end) is the dense-trained range */
	size_t		dense_end;

	size_t		H_init;			/* [D] */
	size_t		L_init;			/* [D] */
	size_t		embed_tokens;	/* [V, D] */
	size_t		embed_pos;		/* [S, D] or HRM_NO_OFFSET */
	size_t		lm_head;		/* [V, D] */
	size_t		q_w;			/* [2, D] */
	size_t		q_b;			/* [2] */
	size_t		puzzle_emb;		/* [N_id, ndim] or HRM_NO_OFFSET */
	hrm_block_offsets *H_blocks;	/* H_layers entries */
	hrm_block_offsets *L_blocks;	/* L_layers entries */
} hrm_layout;

/* Build the layout for a validated configuration. */
hrm_status	hrm_layout_init(hrm_layout *lay, const hrm_config *cfg, hrm_error *err);
void		hrm_layout_free(hrm_layout *lay);

/* Strip the `_orig_mod.` and `model.inner.` prefixes (returns a pointer into name). */
const char *hrm_canonical_name(const char *name);

/* Tensor by name (prefixes accepted); NULL if the model has no such tensor. */
const hrm_tensor_info *hrm_layout_find(const hrm_layout *lay, const char *name);

/*
 * Read the configuration stored in a safetensors file's `hrm_config`
 * metadata.  HRM_ERR_CONFIG if absent or invalid.
 */
hrm_status	hrm_config_from_safetensors(const hrm_safetensors *st, hrm_config *cfg, hrm_error *err);

/*
 * Fill params (lay->n_params floats) from a parsed file: every tensor of the
 * layout must be present with exactly its shape (F32, BF16, F16 or F64) and
 * finite; a tensor the layout does not know is an error.
 */
hrm_status	hrm_load_params(const hrm_layout *lay, const hrm_safetensors *st, float *params,
							hrm_error *err);

/*
 * Serialize params as an F32 safetensors file with the reference's names
 * (each prefixed with `prefix`, e.g. "model.inner." or "") and the
 * configuration in the `hrm_config` metadata.  *out is malloc'd (hrm_free).
 */
hrm_status	hrm_save_params(const hrm_layout *lay, const float *params, const char *prefix,
							uint8_t **out, size_t *out_len, hrm_error *err);
/* The same with extra metadata entries (at most 16; not "hrm_config" or "format"), e.g. hrm_task. */
hrm_status	hrm_save_params_meta(const hrm_layout *lay, const float *params, const char *prefix,
								 const char *const *extra_keys, const char *const *extra_vals, int n_extra,
								 uint8_t **out, size_t *out_len, hrm_error *err);

#endif							/* HRM_MODEL_H */
