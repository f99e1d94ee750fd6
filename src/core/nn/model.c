/*
 * model.c — the flat parameter layout, and moving parameters in and out of
 * safetensors files with the reference's tensor names.
 */
#include "model.h"
#include "hrm_internal.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append one tensor to the layout; returns its offset. */
static size_t
add_tensor(hrm_layout *lay, int *cap, const char *name, int ndim, const int64_t *shape,
		   hrm_param_kind kind, hrm_status *st, hrm_error *err)
{
	hrm_tensor_info *t;
	size_t		numel = 1;

	if (*st != HRM_OK)
		return HRM_NO_OFFSET;
	if (lay->n_tensors == *cap)
	{
		int			ncap = *cap * 2;
		hrm_tensor_info *nt = realloc(lay->tensors, sizeof(hrm_tensor_info) * ncap);

		if (nt == NULL)
		{
			*st = hrm_fail(err, HRM_ERR_NOMEM, "out of memory building the parameter layout");
			return HRM_NO_OFFSET;
		}
		lay->tensors = nt;
		*cap = ncap;
	}
	for (int i = 0; i < ndim; i++)
	{
		if (!hrm_mul_size(numel, (size_t) shape[i], &numel))
		{
			*st = hrm_fail(err, HRM_ERR_LIMIT, "tensor %s is too large", name);
			return HRM_NO_OFFSET;
		}
	}
	t = &lay->tensors[lay->n_tensors++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->shape[i] = shape[i];
	t->numel = numel;
	t->kind = kind;
	t->offset = lay->n_params;
	if (lay->n_params > SIZE_MAX / 8 - numel)
	{
		*st = hrm_fail(err, HRM_ERR_LIMIT, "model is too large");
		return HRM_NO_OFFSET;
	}
	lay->n_params += numel;
	return t->offset;
}

#define SHAPE1(a) (const int64_t[]){(a)}
#define SHAPE2(a, b) (const int64_t[]){(a), (b)}

static void
add_blocks(hrm_layout *lay, int *cap, const char *level, int n, hrm_block_offsets *blocks,
		   hrm_status *st, hrm_error *err)
{
	const hrm_config *c = &lay->cfg;
	int64_t		D = c->hidden_size,
				I = c->inter_size,
				S = c->S,
				It = c->inter_size_t;
	char		name[HRM_NAME_LEN];

	for (int i = 0; i < n; i++)
	{
		hrm_block_offsets *b = &blocks[i];

		b->qkv = b->o = b->t_gate_up = b->t_down = HRM_NO_OFFSET;
		if (c->mlp_t)
		{
			snprintf(name, sizeof(name), "%s.layers.%d.mlp_t.gate_up_proj.weight", level, i);
			b->t_gate_up = add_tensor(lay, cap, name, 2, SHAPE2(2 * It, S), HRM_PK_DENSE, st, err);
			snprintf(name, sizeof(name), "%s.layers.%d.mlp_t.down_proj.weight", level, i);
			b->t_down = add_tensor(lay, cap, name, 2, SHAPE2(S, It), HRM_PK_DENSE, st, err);
		}
		else
		{
			snprintf(name, sizeof(name), "%s.layers.%d.self_attn.qkv_proj.weight", level, i);
			b->qkv = add_tensor(lay, cap, name, 2, SHAPE2(3 * D, D), HRM_PK_DENSE, st, err);
			snprintf(name, sizeof(name), "%s.layers.%d.self_attn.o_proj.weight", level, i);
			b->o = add_tensor(lay, cap, name, 2, SHAPE2(D, D), HRM_PK_DENSE, st, err);
		}
		snprintf(name, sizeof(name), "%s.layers.%d.mlp.gate_up_proj.weight", level, i);
		b->gate_up = add_tensor(lay, cap, name, 2, SHAPE2(2 * I, D), HRM_PK_DENSE, st, err);
		snprintf(name, sizeof(name), "%s.layers.%d.mlp.down_proj.weight", level, i);
		b->down = add_tensor(lay, cap, name, 2, SHAPE2(D, I), HRM_PK_DENSE, st, err);
	}
}

hrm_status
hrm_layout_init(hrm_layout *lay, const hrm_config *cfg, hrm_error *err)
{
	hrm_status	st = HRM_OK;
	int			cap = 64;
	int64_t		D,
				V;
	int			nH;

	memset(lay, 0, sizeof(*lay));
	lay->cfg = *cfg;
	st = hrm_config_validate(&lay->cfg, err);
	if (st != HRM_OK)
		return st;
	D = lay->cfg.hidden_size;
	V = lay->cfg.vocab_size;
	nH = hrm_arch_get(lay->cfg.arch)->H_blocks(&lay->cfg);

	lay->tensors = malloc(sizeof(hrm_tensor_info) * cap);
	lay->H_blocks = calloc(nH > 0 ? nH : 1, sizeof(hrm_block_offsets));
	lay->L_blocks = calloc(lay->cfg.L_layers, sizeof(hrm_block_offsets));
	if (lay->tensors == NULL || lay->H_blocks == NULL || lay->L_blocks == NULL)
	{
		hrm_layout_free(lay);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory building the parameter layout");
	}

	lay->H_init = add_tensor(lay, &cap, "H_init", 1, SHAPE1(D), HRM_PK_BUFFER, &st, err);
	lay->L_init = add_tensor(lay, &cap, "L_init", 1, SHAPE1(D), HRM_PK_BUFFER, &st, err);
	lay->dense_begin = lay->n_params;
	lay->embed_tokens = add_tensor(lay, &cap, "embed_tokens.embedding_weight", 2, SHAPE2(V, D),
								   HRM_PK_DENSE, &st, err);
	lay->embed_pos = HRM_NO_OFFSET;
	if (lay->cfg.pos_encodings == HRM_POS_LEARNED)
		lay->embed_pos = add_tensor(lay, &cap, "embed_pos.embedding_weight", 2,
									SHAPE2(lay->cfg.S, D), HRM_PK_DENSE, &st, err);
	lay->lm_head = add_tensor(lay, &cap, "lm_head.weight", 2, SHAPE2(V, D), HRM_PK_DENSE, &st, err);
	lay->q_w = add_tensor(lay, &cap, "q_head.weight", 2, SHAPE2(2, D), HRM_PK_DENSE, &st, err);
	lay->q_b = add_tensor(lay, &cap, "q_head.bias", 1, SHAPE1(2), HRM_PK_DENSE, &st, err);
	if (nH > 0)
		add_blocks(lay, &cap, "H_level", nH, lay->H_blocks, &st, err);
	add_blocks(lay, &cap, "L_level", lay->cfg.L_layers, lay->L_blocks, &st, err);
	lay->dense_end = lay->n_params;
	lay->puzzle_emb = HRM_NO_OFFSET;
	if (lay->cfg.puzzle_emb_ndim > 0)
		lay->puzzle_emb = add_tensor(lay, &cap, "puzzle_emb.weights", 2,
									 SHAPE2(lay->cfg.num_puzzle_identifiers, lay->cfg.puzzle_emb_ndim),
									 HRM_PK_SPARSE, &st, err);
	HRM_ASSERT(st != HRM_OK || (lay->dense_begin <= lay->dense_end && lay->dense_end <= lay->n_params));
	if (st != HRM_OK)
		hrm_layout_free(lay);
	return st;
}

void
hrm_layout_free(hrm_layout *lay)
{
	free(lay->tensors);
	free(lay->H_blocks);
	free(lay->L_blocks);
	lay->tensors = NULL;
	lay->H_blocks = NULL;
	lay->L_blocks = NULL;
	lay->n_tensors = 0;
}

const char *
hrm_canonical_name(const char *name)
{
	static const char p1[] = "_orig_mod.";
	static const char p2[] = "model.inner.";

	if (strncmp(name, p1, sizeof(p1) - 1) == 0)
		name += sizeof(p1) - 1;
	if (strncmp(name, p2, sizeof(p2) - 1) == 0)
		name += sizeof(p2) - 1;
	return name;
}

const hrm_tensor_info *
hrm_layout_find(const hrm_layout *lay, const char *name)
{
	const char *c = hrm_canonical_name(name);

	for (int i = 0; i < lay->n_tensors; i++)
		if (strcmp(lay->tensors[i].name, c) == 0)
			return &lay->tensors[i];
	return NULL;
}

hrm_status
hrm_config_from_safetensors(const hrm_safetensors *st, hrm_config *cfg, hrm_error *err)
{
	const char *json = hrm_st_meta(st, "hrm_config");

	if (json == NULL)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"the file has no \"hrm_config\" metadata; pass the configuration explicitly");
	return hrm_config_from_json(json, strlen(json), cfg, err);
}

static void
format_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
	size_t		len = 0;

	len += snprintf(buf + len, n - len, "[");
	for (int i = 0; i < ndim && len < n; i++)
		len += snprintf(buf + len, n - len, i ? ", %lld" : "%lld", (long long) shape[i]);
	if (len < n)
		snprintf(buf + len, n - len, "]");
}

hrm_status
hrm_load_params(const hrm_layout *lay, const hrm_safetensors *st, float *params, hrm_error *err)
{
	uint8_t    *seen = calloc(lay->n_tensors > 0 ? lay->n_tensors : 1, 1);
	hrm_status	rc = HRM_OK;

	if (seen == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory loading parameters");
	for (int i = 0; i < st->n_tensors && rc == HRM_OK; i++)
	{
		const hrm_st_tensor *t = &st->tensors[i];
		const hrm_tensor_info *info = hrm_layout_find(lay, t->name);
		int			idx;
		bool		same = true;

		if (info == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_SHAPE,
						  "unexpected tensor \"%s\": a model with this configuration has no such tensor",
						  t->name);
			break;
		}
		idx = (int) (info - lay->tensors);
		if (seen[idx])
		{
			rc = hrm_fail(err, HRM_ERR_SHAPE, "tensor \"%s\" appears twice (names differ only by prefix)",
						  info->name);
			break;
		}
		seen[idx] = 1;
		if (t->dtype != HRM_DT_F32 && t->dtype != HRM_DT_BF16 && t->dtype != HRM_DT_F16 &&
			t->dtype != HRM_DT_F64)
		{
			rc = hrm_fail(err, HRM_ERR_SHAPE, "tensor \"%s\" has dtype %s; weights must be F32, BF16, F16 or F64",
						  t->name, hrm_dtype_name(t->dtype));
			break;
		}
		if (t->ndim != info->ndim)
			same = false;
		for (int d = 0; same && d < info->ndim; d++)
			if (t->shape[d] != info->shape[d])
				same = false;
		if (!same)
		{
			char		want[96],
						got[96];

			format_shape(want, sizeof(want), info->ndim, info->shape);
			format_shape(got, sizeof(got), t->ndim, t->shape);
			rc = hrm_fail(err, HRM_ERR_SHAPE, "tensor \"%s\" has shape %s but the configuration needs %s",
						  t->name, got, want);
			break;
		}
		rc = hrm_st_read_f32(st, t, params + info->offset, true, err);
	}
	for (int i = 0; i < lay->n_tensors && rc == HRM_OK; i++)
		if (!seen[i])
			rc = hrm_fail(err, HRM_ERR_SHAPE, "tensor \"%s\" is missing from the file", lay->tensors[i].name);
	free(seen);
	return rc;
}

hrm_status
hrm_save_params(const hrm_layout *lay, const float *params, const char *prefix,
				uint8_t **out, size_t *out_len, hrm_error *err)
{
	return hrm_save_params_meta(lay, params, prefix, NULL, NULL, 0, out, out_len, err);
}

#define HRM_SAVE_MAX_EXTRA 16

hrm_status
hrm_save_params_meta(const hrm_layout *lay, const float *params, const char *prefix,
					 const char *const *extra_keys, const char *const *extra_vals, int n_extra,
					 uint8_t **out, size_t *out_len, hrm_error *err)
{
	hrm_st_out *ts;
	char	  **names;
	char	   *cfg_json;
	const char *keys[2 + HRM_SAVE_MAX_EXTRA] = {"hrm_config", "format"};
	const char *vals[2 + HRM_SAVE_MAX_EXTRA];
	hrm_status	rc = HRM_OK;
	size_t		plen = prefix ? strlen(prefix) : 0;

	if (n_extra < 0 || n_extra > HRM_SAVE_MAX_EXTRA)
		return hrm_fail(err, HRM_ERR_INVALID, "at most %d extra metadata entries", HRM_SAVE_MAX_EXTRA);
	for (int i = 0; i < n_extra; i++)
		if (strcmp(extra_keys[i], "hrm_config") == 0 || strcmp(extra_keys[i], "format") == 0)
			return hrm_fail(err, HRM_ERR_INVALID, "metadata key \"%s\" is written by the engine", extra_keys[i]);
	ts = calloc(lay->n_tensors > 0 ? lay->n_tensors : 1, sizeof(hrm_st_out));
	names = calloc(lay->n_tensors > 0 ? lay->n_tensors : 1, sizeof(char *));
	cfg_json = hrm_config_to_json(&lay->cfg);
	if (ts == NULL || names == NULL || cfg_json == NULL)
		rc = hrm_fail(err, HRM_ERR_NOMEM, "out of memory serializing the model");
	for (int i = 0; i < lay->n_tensors && rc == HRM_OK; i++)
	{
		const hrm_tensor_info *t = &lay->tensors[i];
		size_t		n = plen + strlen(t->name) + 1;

		names[i] = malloc(n);
		if (names[i] == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_NOMEM, "out of memory serializing the model");
			break;
		}
		snprintf(names[i], n, "%s%s", prefix ? prefix : "", t->name);
		ts[i].name = names[i];
		ts[i].data = params + t->offset;
		ts[i].ndim = t->ndim;
		for (int d = 0; d < t->ndim; d++)
			ts[i].shape[d] = t->shape[d];
	}
	if (rc == HRM_OK)
	{
		vals[0] = cfg_json;
		vals[1] = "pt";
		for (int i = 0; i < n_extra; i++)
		{
			keys[2 + i] = extra_keys[i];
			vals[2 + i] = extra_vals[i];
		}
		rc = hrm_st_write(ts, lay->n_tensors, keys, vals, 2 + n_extra, out, out_len, err);
	}
	if (names != NULL)
		for (int i = 0; i < lay->n_tensors; i++)
			free(names[i]);
	free(names);
	free(ts);
	free(cfg_json);
	return rc;
}
