/*
 * config.h — the model configuration (the reference's hrm_config / arch YAML).
 *
 * Field names follow the reference exactly, so a configuration round-trips
 * through JSON (the `hrm_config` safetensors metadata) unchanged.
 */
#ifndef HRM_CONFIG_H
#define HRM_CONFIG_H

#include "hrm_common.h"

typedef enum hrm_arch
{
	HRM_ARCH_HRM = 0,			/* two modules H and L, 1-step gradient */
	HRM_ARCH_TRM = 1			/* one shared module, full last-cycle gradient */
} hrm_arch;

typedef enum hrm_pos_enc
{
	HRM_POS_ROPE = 0,
	HRM_POS_LEARNED = 1,
	HRM_POS_NONE = 2
} hrm_pos_enc;

/*
 * Which keys a query position may attend to (not in the reference, which
 * always attends to every position; "full" keeps its maths exactly).
 * HRM_MASK_SUDOKU: a cell attends to its 20 row, column and box peers and
 * itself (seq_len 81, row-major 9x9), and every puzzle-embedding slot;
 * the slots attend to everything.
 */
typedef enum hrm_attn_mask
{
	HRM_MASK_FULL = 0,
	HRM_MASK_SUDOKU = 1
} hrm_attn_mask;

/*
 * Upper bounds of a configuration, checked before anything is sized from
 * it.  Far above every published HRM / TRM configuration (the full-size
 * HRM: seq_len 900, hidden 512, 8 heads, 4 + 4 layers, 2 x 2 cycles, 16
 * steps, about a million ARC puzzle identifiers), low enough that no size
 * derived from them overflows.
 */
#define HRM_MAX_SEQ_LEN			8192
#define HRM_MAX_VOCAB			65536
#define HRM_MAX_HIDDEN			8192
#define HRM_MAX_HEADS			256
#define HRM_MAX_LAYERS			64
#define HRM_MAX_CYCLES			64
#define HRM_MAX_HALT_STEPS		1024
#define HRM_MAX_PUZZLE_IDS		(1 << 24)
#define HRM_MAX_PUZZLE_EMB_NDIM	65536
#define HRM_MAX_PUZZLE_SLOTS	256

typedef struct hrm_config
{
	hrm_arch	arch;
	int			seq_len;		/* tokens per example (without puzzle slots) */
	int			vocab_size;
	int			num_puzzle_identifiers;
	int			puzzle_emb_ndim;	/* 0 disables the puzzle embedding */
	int			puzzle_emb_len; /* TRM: explicit slot count; 0 = ceil(ndim / D) */
	int			H_cycles;
	int			L_cycles;
	int			H_layers;		/* 0 for TRM (one shared module, L_level) */
	int			L_layers;
	int			hidden_size;
	int			num_heads;
	double		expansion;
	hrm_pos_enc pos_encodings;
	double		rms_norm_eps;
	double		rope_theta;
	int			halt_max_steps;
	double		halt_exploration_prob;
	bool		mlp_t;			/* TRM: token-mixing MLP instead of attention */
	bool		no_ACT_continue;	/* TRM: halt on q_halt > 0, no Q-continue */
	hrm_attn_mask attn_mask;	/* "attn_mask": full (default) or sudoku peers */

	/* derived by hrm_config_validate() */
	int			head_dim;		/* hidden_size / num_heads */
	int			inter_size;		/* SwiGLU width over channels */
	int			inter_size_t;	/* SwiGLU width over the sequence (mlp_t) */
	int			P;				/* puzzle-embedding slots */
	int			S;				/* seq_len + P */
} hrm_config;

/* The reference defaults (hidden 512, 8 heads, 4+4 layers, 2x2 cycles, 16 steps); sizes of the data left 0. */
void		hrm_config_defaults(hrm_config *cfg);

/*
 * Read a configuration from JSON text (an object); missing fields keep the
 * defaults, unknown fields are an error that lists the accepted names.
 * Validates (hrm_config_validate) before returning.
 */
hrm_status	hrm_config_from_json(const char *json, size_t len, hrm_config *cfg, hrm_error *err);

/* Check ranges and consistency and fill in the derived fields. */
hrm_status	hrm_config_validate(hrm_config *cfg, hrm_error *err);

/* The configuration as a JSON object (malloc'd, NUL-terminated); NULL on OOM. */
char	   *hrm_config_to_json(const hrm_config *cfg);

/* SwiGLU width rule: round(expansion * w * 2 / 3) rounded up to a multiple of 256. */
int			hrm_swiglu_width(double expansion, int w);

const char *hrm_arch_name(hrm_arch a);
const char *hrm_pos_enc_name(hrm_pos_enc p);
const char *hrm_attn_mask_name(hrm_attn_mask m);

#endif							/* HRM_CONFIG_H */
