/*
 * config.c — model configuration: defaults, JSON in and out, validation.
 */
#include "config.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hrm_config_defaults(hrm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->arch = HRM_ARCH_HRM;
	cfg->seq_len = 0;
	cfg->vocab_size = 0;
	cfg->num_puzzle_identifiers = 1;
	cfg->puzzle_emb_ndim = 512;
	cfg->puzzle_emb_len = 0;
	cfg->H_cycles = 2;
	cfg->L_cycles = 2;
	cfg->H_layers = 4;
	cfg->L_layers = 4;
	cfg->hidden_size = 512;
	cfg->num_heads = 8;
	cfg->expansion = 4.0;
	cfg->pos_encodings = HRM_POS_ROPE;
	cfg->rms_norm_eps = 1e-5;
	cfg->rope_theta = 10000.0;
	cfg->halt_max_steps = 16;
	cfg->halt_exploration_prob = 0.1;
	cfg->mlp_t = false;
	cfg->no_ACT_continue = false;
	cfg->attn_mask = HRM_MASK_FULL;
}

const char *
hrm_attn_mask_name(hrm_attn_mask m)
{
	return m == HRM_MASK_SUDOKU ? "sudoku" : "full";
}

const char *
hrm_arch_name(hrm_arch a)
{
	return a == HRM_ARCH_TRM ? "trm" : "hrm";
}

const char *
hrm_pos_enc_name(hrm_pos_enc p)
{
	switch (p)
	{
		case HRM_POS_ROPE:
			return "rope";
		case HRM_POS_LEARNED:
			return "learned";
		case HRM_POS_NONE:
			return "none";
	}
	return "rope";
}

int
hrm_swiglu_width(double expansion, int w)
{
	/* the reference: round(expansion * w * 2 / 3), then up to a multiple of 256 */
	double		raw = expansion * (double) w * 2.0 / 3.0;
	long		r = lround(raw);

	/* Python's round() is half-to-even; lround is half-away.  Fix exact halves. */
	if (fabs(raw - floor(raw) - 0.5) < 1e-12 && (r % 2) != 0)
		r -= 1;
	return (int) (((r + 255) / 256) * 256);
}

/* Integer fields of the JSON form. */
typedef struct int_field
{
	const char *name;
	size_t		off;
	int			min;
	int			max;
} int_field;

static const int_field int_fields[] = {
	{"seq_len", offsetof(hrm_config, seq_len), 1, HRM_MAX_SEQ_LEN},
	{"vocab_size", offsetof(hrm_config, vocab_size), 2, HRM_MAX_VOCAB},
	{"num_puzzle_identifiers", offsetof(hrm_config, num_puzzle_identifiers), 0, HRM_MAX_PUZZLE_IDS},
	{"puzzle_emb_ndim", offsetof(hrm_config, puzzle_emb_ndim), 0, HRM_MAX_PUZZLE_EMB_NDIM},
	{"puzzle_emb_len", offsetof(hrm_config, puzzle_emb_len), 0, HRM_MAX_PUZZLE_SLOTS},
	{"H_cycles", offsetof(hrm_config, H_cycles), 1, HRM_MAX_CYCLES},
	{"L_cycles", offsetof(hrm_config, L_cycles), 1, HRM_MAX_CYCLES},
	{"H_layers", offsetof(hrm_config, H_layers), 0, HRM_MAX_LAYERS},
	{"L_layers", offsetof(hrm_config, L_layers), 1, HRM_MAX_LAYERS},
	{"hidden_size", offsetof(hrm_config, hidden_size), 2, HRM_MAX_HIDDEN},
	{"num_heads", offsetof(hrm_config, num_heads), 1, HRM_MAX_HEADS},
	{"halt_max_steps", offsetof(hrm_config, halt_max_steps), 1, HRM_MAX_HALT_STEPS},
};

typedef struct real_field
{
	const char *name;
	size_t		off;
	double		min;
	double		max;
} real_field;

static const real_field real_fields[] = {
	{"expansion", offsetof(hrm_config, expansion), 1e-3, 64.0},
	{"rms_norm_eps", offsetof(hrm_config, rms_norm_eps), 1e-30, 1.0},
	{"rope_theta", offsetof(hrm_config, rope_theta), 1.0, 1e12},
	{"halt_exploration_prob", offsetof(hrm_config, halt_exploration_prob), 0.0, 1.0},
};

/* Reference config keys that do not affect the model maths here; accepted and ignored. */
static const char *const ignored_fields[] = {
	"name", "batch_size", "forward_dtype", "loss", "num_key_value_heads", NULL
};

static const char accepted_list[] =
	"arch, seq_len, vocab_size, num_puzzle_identifiers, puzzle_emb_ndim, puzzle_emb_len, "
	"H_cycles, L_cycles, H_layers, L_layers, hidden_size, num_heads, expansion, pos_encodings, "
	"rms_norm_eps, rope_theta, halt_max_steps, halt_exploration_prob, mlp_t, no_ACT_continue, attn_mask";

static hrm_status
read_int(const hrm_json *v, const char *name, int min, int max, int *out, hrm_error *err)
{
	if (v->type != HRM_JSON_NUMBER || !v->is_int)
		return hrm_fail(err, HRM_ERR_CONFIG, "config field \"%s\" must be an integer", name);
	if (v->integer < min || v->integer > max)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"config field \"%s\" is %lld, outside the accepted range [%d, %d]",
						name, (long long) v->integer, min, max);
	*out = (int) v->integer;
	return HRM_OK;
}

hrm_status
hrm_config_from_json(const char *json, size_t len, hrm_config *cfg, hrm_error *err)
{
	hrm_json   *root = NULL;
	hrm_status	st;

	hrm_config_defaults(cfg);
	st = hrm_json_parse(json, len, &root, err);
	if (st != HRM_OK)
		return hrm_fail(err, HRM_ERR_CONFIG, "model configuration is not valid JSON: %s",
						err ? err->msg : "");
	if (root->type != HRM_JSON_OBJECT)
	{
		hrm_json_free(root);
		return hrm_fail(err, HRM_ERR_CONFIG, "model configuration must be a JSON object");
	}

	for (size_t i = 0; i < root->count && st == HRM_OK; i++)
	{
		const char *key = root->keys[i];
		const hrm_json *v = &root->items[i];
		bool		known = false;

		for (size_t k = 0; k < sizeof(int_fields) / sizeof(int_fields[0]); k++)
		{
			if (strcmp(key, int_fields[k].name) == 0)
			{
				st = read_int(v, key, int_fields[k].min, int_fields[k].max,
							  (int *) ((char *) cfg + int_fields[k].off), err);
				known = true;
				break;
			}
		}
		if (known)
			continue;
		for (size_t k = 0; k < sizeof(real_fields) / sizeof(real_fields[0]); k++)
		{
			if (strcmp(key, real_fields[k].name) == 0)
			{
				known = true;
				if (v->type != HRM_JSON_NUMBER || !isfinite(v->number))
					st = hrm_fail(err, HRM_ERR_CONFIG, "config field \"%s\" must be a number", key);
				else if (v->number < real_fields[k].min || v->number > real_fields[k].max)
					st = hrm_fail(err, HRM_ERR_CONFIG,
								  "config field \"%s\" is %g, outside the accepted range [%g, %g]",
								  key, v->number, real_fields[k].min, real_fields[k].max);
				else
					*(double *) ((char *) cfg + real_fields[k].off) = v->number;
				break;
			}
		}
		if (known)
			continue;
		if (strcmp(key, "arch") == 0)
		{
			if (v->type != HRM_JSON_STRING)
				st = hrm_fail(err, HRM_ERR_CONFIG, "config field \"arch\" must be a string");
			else if (strcmp(v->string, "hrm") == 0 || strcmp(v->string, "hrm_v1") == 0)
				cfg->arch = HRM_ARCH_HRM;
			else if (strcmp(v->string, "trm") == 0)
				cfg->arch = HRM_ARCH_TRM;
			else
				st = hrm_fail(err, HRM_ERR_CONFIG,
							  "unknown arch \"%s\"; accepted: \"hrm\", \"trm\"", v->string);
			continue;
		}
		if (strcmp(key, "pos_encodings") == 0)
		{
			if (v->type != HRM_JSON_STRING)
				st = hrm_fail(err, HRM_ERR_CONFIG, "config field \"pos_encodings\" must be a string");
			else if (strcmp(v->string, "rope") == 0)
				cfg->pos_encodings = HRM_POS_ROPE;
			else if (strcmp(v->string, "learned") == 0)
				cfg->pos_encodings = HRM_POS_LEARNED;
			else if (strcmp(v->string, "none") == 0)
				cfg->pos_encodings = HRM_POS_NONE;
			else
				st = hrm_fail(err, HRM_ERR_CONFIG,
							  "unknown pos_encodings \"%s\"; accepted: \"rope\", \"learned\", \"none\"",
							  v->string);
			continue;
		}
		if (strcmp(key, "attn_mask") == 0)
		{
			if (v->type != HRM_JSON_STRING)
				st = hrm_fail(err, HRM_ERR_CONFIG, "config field \"attn_mask\" must be a string");
			else if (strcmp(v->string, "full") == 0)
				cfg->attn_mask = HRM_MASK_FULL;
			else if (strcmp(v->string, "sudoku") == 0)
				cfg->attn_mask = HRM_MASK_SUDOKU;
			else
				st = hrm_fail(err, HRM_ERR_CONFIG,
							  "unknown attn_mask \"%s\"; accepted: \"full\", \"sudoku\"", v->string);
			continue;
		}
		if (strcmp(key, "mlp_t") == 0 || strcmp(key, "no_ACT_continue") == 0)
		{
			bool	   *dst = strcmp(key, "mlp_t") == 0 ? &cfg->mlp_t : &cfg->no_ACT_continue;

			if (v->type != HRM_JSON_BOOL)
				st = hrm_fail(err, HRM_ERR_CONFIG, "config field \"%s\" must be true or false", key);
			else
				*dst = v->boolean;
			continue;
		}
		for (int k = 0; ignored_fields[k] != NULL; k++)
			if (strcmp(key, ignored_fields[k]) == 0)
				known = true;
		if (!known)
			st = hrm_fail(err, HRM_ERR_CONFIG, "unknown config field \"%s\"; accepted fields: %s",
						  key, accepted_list);
	}
	/* the two fields without a default name themselves, rather than fail a range check */
	if (st == HRM_OK)
	{
		bool		no_seq = hrm_json_get(root, "seq_len") == NULL;
		bool		no_vocab = hrm_json_get(root, "vocab_size") == NULL;

		if (no_seq || no_vocab)
			st = hrm_fail(err, HRM_ERR_CONFIG,
						  "model configuration is missing %s (no default: tokens per sequence and vocabulary size)",
						  no_seq && no_vocab ? "\"seq_len\" and \"vocab_size\"" :
						  no_seq ? "\"seq_len\"" : "\"vocab_size\"");
	}
	hrm_json_free(root);
	if (st != HRM_OK)
		return st;
	return hrm_config_validate(cfg, err);
}

hrm_status
hrm_config_validate(hrm_config *c, hrm_error *err)
{
	size_t		total;

/* every bound names its field (the range checks come first: later sizes derive from them) */
#define CHECK_RANGE(field, lo, hi) \
	do { \
		if (c->field < (lo) || c->field > (hi)) \
			return hrm_fail(err, HRM_ERR_CONFIG, #field " must be between %d and %d (got %d)", \
							(int) (lo), (int) (hi), c->field); \
	} while (0)

	CHECK_RANGE(seq_len, 1, HRM_MAX_SEQ_LEN);
	CHECK_RANGE(vocab_size, 2, HRM_MAX_VOCAB);
	CHECK_RANGE(hidden_size, 2, HRM_MAX_HIDDEN);
	CHECK_RANGE(num_heads, 1, HRM_MAX_HEADS);
	CHECK_RANGE(H_cycles, 1, HRM_MAX_CYCLES);
	CHECK_RANGE(L_cycles, 1, HRM_MAX_CYCLES);
	CHECK_RANGE(H_layers, 0, HRM_MAX_LAYERS);
	CHECK_RANGE(L_layers, 1, HRM_MAX_LAYERS);
	CHECK_RANGE(halt_max_steps, 1, HRM_MAX_HALT_STEPS);
	CHECK_RANGE(num_puzzle_identifiers, 0, HRM_MAX_PUZZLE_IDS);
	CHECK_RANGE(puzzle_emb_ndim, 0, HRM_MAX_PUZZLE_EMB_NDIM);
	CHECK_RANGE(puzzle_emb_len, 0, HRM_MAX_PUZZLE_SLOTS);
#undef CHECK_RANGE
	if (c->num_heads < 1 || c->hidden_size % c->num_heads != 0)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"hidden_size %d is not divisible by num_heads %d", c->hidden_size, c->num_heads);
	c->head_dim = c->hidden_size / c->num_heads;
	if (c->pos_encodings == HRM_POS_ROPE && c->head_dim % 2 != 0)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"rope needs an even head dimension; hidden_size / num_heads = %d", c->head_dim);
	if (c->arch == HRM_ARCH_HRM && c->H_layers < 1)
		return hrm_fail(err, HRM_ERR_CONFIG, "an hrm model needs H_layers >= 1");
	if (c->arch == HRM_ARCH_HRM && (c->mlp_t || c->no_ACT_continue))
		return hrm_fail(err, HRM_ERR_CONFIG, "mlp_t and no_ACT_continue apply to arch \"trm\" only");
	if (c->attn_mask == HRM_MASK_SUDOKU && c->seq_len != 81)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"attn_mask \"sudoku\" needs seq_len 81 (a 9x9 grid), got %d", c->seq_len);
	if (c->attn_mask != HRM_MASK_FULL && c->mlp_t)
		return hrm_fail(err, HRM_ERR_CONFIG, "attn_mask applies to attention, not to mlp_t models");
	if (!(c->halt_exploration_prob >= 0.0 && c->halt_exploration_prob <= 1.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "halt_exploration_prob must be between 0 and 1");
	if (!(c->rms_norm_eps > 0.0 && c->rms_norm_eps < 1.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "rms_norm_eps must be in (0, 1)");
	if (!(c->rope_theta >= 1.0 && c->rope_theta <= 1e12))
		return hrm_fail(err, HRM_ERR_CONFIG, "rope_theta must be between 1 and 1e12");
	if (!(c->expansion > 0.0 && c->expansion <= 64.0))
		return hrm_fail(err, HRM_ERR_CONFIG, "expansion must be in (0, 64]");
	if (c->puzzle_emb_ndim < 0 || c->num_puzzle_identifiers < 0)
		return hrm_fail(err, HRM_ERR_CONFIG, "puzzle_emb_ndim and num_puzzle_identifiers must not be negative");
	if (c->puzzle_emb_ndim > 0 && c->num_puzzle_identifiers < 1)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"a puzzle embedding (puzzle_emb_ndim %d) needs num_puzzle_identifiers >= 1",
						c->puzzle_emb_ndim);

	/* puzzle slots: ceil(ndim / D), or the explicit TRM length */
	if (c->arch == HRM_ARCH_TRM && c->puzzle_emb_len > 0)
	{
		if (c->puzzle_emb_ndim > c->puzzle_emb_len * c->hidden_size)
			return hrm_fail(err, HRM_ERR_CONFIG,
							"puzzle_emb_ndim %d does not fit in puzzle_emb_len %d slots of %d",
							c->puzzle_emb_ndim, c->puzzle_emb_len, c->hidden_size);
		c->P = c->puzzle_emb_len;
	}
	else
		c->P = (c->puzzle_emb_ndim + c->hidden_size - 1) / c->hidden_size;
	if (c->P > HRM_MAX_PUZZLE_SLOTS)
		return hrm_fail(err, HRM_ERR_CONFIG,
						"puzzle_emb_ndim %d takes %d puzzle slots of hidden_size %d, at most %d are accepted",
						c->puzzle_emb_ndim, c->P, c->hidden_size, HRM_MAX_PUZZLE_SLOTS);
	c->S = c->seq_len + c->P;
	c->inter_size = hrm_swiglu_width(c->expansion, c->hidden_size);
	c->inter_size_t = c->mlp_t ? hrm_swiglu_width(c->expansion, c->S) : 0;
	if (c->pos_encodings == HRM_POS_NONE && !c->mlp_t)
	{
		/* allowed: attention without positions, as the reference permits */
	}

	/* total parameters must stay addressable */
	if (!hrm_mul_size((size_t) c->num_puzzle_identifiers, (size_t) c->puzzle_emb_ndim, &total)
		|| total > ((size_t) 1 << 34))
		return hrm_fail(err, HRM_ERR_CONFIG, "puzzle embedding table is too large");
	return HRM_OK;
}

/* Shortest decimal form that reads back as the same double. */
static void
fmt_double(char *buf, size_t n, double v)
{
	for (int prec = 6; prec <= 17; prec++)
	{
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* keep it a JSON number that reads as floating point */
	if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 2 < n)
		strcat(buf, ".0");
}

char *
hrm_config_to_json(const hrm_config *c)
{
	char		exp_s[40],
				eps_s[40],
				theta_s[40],
				prob_s[40];

	hrm_strbuf	sb;

	fmt_double(exp_s, sizeof(exp_s), c->expansion);
	fmt_double(eps_s, sizeof(eps_s), c->rms_norm_eps);
	fmt_double(theta_s, sizeof(theta_s), c->rope_theta);
	fmt_double(prob_s, sizeof(prob_s), c->halt_exploration_prob);
	hrm_strbuf_init(&sb);
	hrm_strbuf_printf(&sb,
					  "{\"arch\": \"%s\", \"seq_len\": %d, \"vocab_size\": %d, "
					  "\"num_puzzle_identifiers\": %d, \"puzzle_emb_ndim\": %d, ",
					  hrm_arch_name(c->arch), c->seq_len, c->vocab_size,
					  c->num_puzzle_identifiers, c->puzzle_emb_ndim);
	if (c->arch == HRM_ARCH_TRM)
		hrm_strbuf_printf(&sb, "\"puzzle_emb_len\": %d, ", c->P);
	hrm_strbuf_printf(&sb,
					  "\"H_cycles\": %d, \"L_cycles\": %d, \"H_layers\": %d, \"L_layers\": %d, "
					  "\"hidden_size\": %d, \"expansion\": %s, \"num_heads\": %d, "
					  "\"pos_encodings\": \"%s\", \"rms_norm_eps\": %s, \"rope_theta\": %s, "
					  "\"halt_max_steps\": %d, \"halt_exploration_prob\": %s",
					  c->H_cycles, c->L_cycles, c->H_layers, c->L_layers,
					  c->hidden_size, exp_s, c->num_heads,
					  hrm_pos_enc_name(c->pos_encodings), eps_s, theta_s,
					  c->halt_max_steps, prob_s);
	if (c->arch == HRM_ARCH_TRM)
		hrm_strbuf_printf(&sb, ", \"mlp_t\": %s, \"no_ACT_continue\": %s",
						  c->mlp_t ? "true" : "false", c->no_ACT_continue ? "true" : "false");
	/* only when set: reference configurations round-trip unchanged */
	if (c->attn_mask != HRM_MASK_FULL)
		hrm_strbuf_printf(&sb, ", \"attn_mask\": \"%s\"", hrm_attn_mask_name(c->attn_mask));
	hrm_strbuf_append(&sb, "}", 1);
	if (sb.failed)
	{
		hrm_strbuf_free(&sb);
		return NULL;
	}
	return sb.data;
}
