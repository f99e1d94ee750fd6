/*
 * arc.h — the ARC task: grids, the reference's 30x30 token layout with
 * EOS borders and optional translation, a lenient crop for model outputs,
 * dihedral and colour-permutation augmentation with inverses, and loading
 * tasks from ARC-AGI JSON.
 *
 * Grids are 1..30 rows by 1..30 columns of colours 0..9, row-major.
 *
 * Tokens (hrm-reference §3.4): PAD 0, EOS 1, colour c -> c + 2;
 * vocabulary 12, sequence length 900 (30 x 30, row-major).  A grid placed
 * at offset (r, c) fills rows r.. and columns c..; an EOS row lies just
 * below it (over the grid's columns) when r + rows < 30, an EOS column
 * just right of it (over the grid's rows) when c + cols < 30; the corner
 * cell diagonal to the grid stays PAD, as does everything else.
 */
#ifndef HRM_ARC_H
#define HRM_ARC_H

#include "hrm_common.h"
#include "json.h"
#include "rng.h"

#define HRM_ARC_MAX		30
#define HRM_ARC_SEQ		900
#define HRM_ARC_VOCAB	12
#define HRM_ARC_PAD		0
#define HRM_ARC_EOS		1
#define HRM_ARC_COLORS	10

typedef struct hrm_arc_grid
{
	int			rows;
	int			cols;
	uint8_t		cell[HRM_ARC_SEQ];	/* row-major, stride cols; colours 0..9 */
} hrm_arc_grid;

/* HRM_ERR_LIMIT for a side over 30, HRM_ERR_SHAPE for an empty side, HRM_ERR_INVALID for a colour over 9. */
hrm_status	hrm_arc_grid_validate(const hrm_arc_grid *g, hrm_error *err);

/*
 * Encode at offset (row_off, col_off); the grid must fit (HRM_ERR_INVALID
 * otherwise).  Offset (0, 0) is the untranslated layout used for test
 * pairs and for inference.
 */
hrm_status	hrm_arc_encode(const hrm_arc_grid *g, int row_off, int col_off,
						   int32_t tokens[HRM_ARC_SEQ], hrm_error *err);

/*
 * Exact inverse of hrm_arc_encode: the grid and its offset (either
 * pointer may be NULL).  Anything encode would not have written is
 * HRM_ERR_FORMAT naming the first offending position (1-based);
 * a length other than 900 is HRM_ERR_SHAPE.
 */
hrm_status	hrm_arc_decode(const int32_t *tokens, size_t n, hrm_arc_grid *g,
						   int *row_off, int *col_off, hrm_error *err);

/*
 * The reference evaluator's crop, for model predictions: the largest
 * top-left rectangle, grown row by row, whose cells are all colours.
 * Never fails on content (any token outside 2..11 ends a row); the result
 * may be empty (rows = cols = 0).  HRM_ERR_SHAPE for a length other than 900.
 */
hrm_status	hrm_arc_crop(const int32_t *tokens, size_t n, hrm_arc_grid *g, hrm_error *err);

/* A uniform translation so that grids of up to max_rows x max_cols fit. */
void		hrm_arc_draw_offset(hrm_rng *rng, int max_rows, int max_cols,
								int *row_off, int *col_off);

/* ---- augmentation ---- */

typedef struct hrm_arc_aug
{
	int			tid;			/* dihedral transform id (grid.h) */
	uint8_t		colors[HRM_ARC_COLORS];	/* new colour of colour c */
} hrm_arc_aug;

void		hrm_arc_aug_identity(hrm_arc_aug *aug);

/* Reference draw: a dihedral id uniform in 0..7, then a permutation of colours 1..9 (0 fixed). */
void		hrm_arc_aug_draw(hrm_rng *rng, hrm_arc_aug *aug);

/* HRM_ERR_INVALID unless colors is a permutation of 0..9 (colour 0 may move). */
hrm_status	hrm_arc_color_perm_validate(const uint8_t colors[HRM_ARC_COLORS], hrm_error *err);

void		hrm_arc_color_perm_inverse(const uint8_t colors[HRM_ARC_COLORS],
									   uint8_t inverse[HRM_ARC_COLORS]);

/* The inverse augmentation. */
void		hrm_arc_aug_inverse(const hrm_arc_aug *aug, hrm_arc_aug *inv);

/* Apply to a grid (in and out must not alias): transform, then recolour. */
hrm_status	hrm_arc_aug_apply(const hrm_arc_aug *aug, const hrm_arc_grid *in,
							  hrm_arc_grid *out, hrm_error *err);

/*
 * Training entry point on token sequences: decode the input and label
 * canvases (900 tokens each; label may be NULL), draw an augmentation,
 * apply it to both, and re-encode them at one shared offset: a uniform
 * translation when translate is set (reference train split), else (0, 0).
 * aug_out (may be NULL) receives the augmentation.
 */
hrm_status	hrm_arc_augment_tokens(const int32_t *in, const int32_t *label,
								   int32_t *out_in, int32_t *out_label,
								   hrm_rng *rng, bool translate,
								   hrm_arc_aug *aug_out, hrm_error *err);

/* ---- ARC-AGI JSON tasks ---- */

/* What was wrong with a task document, so callers can map it to their own codes. */
typedef enum hrm_arc_issue
{
	HRM_ARC_ISSUE_NONE = 0,
	HRM_ARC_ISSUE_SYNTAX,		/* not JSON at all */
	HRM_ARC_ISSUE_NOT_OBJECT,	/* an object was expected */
	HRM_ARC_ISSUE_MISSING_KEY,	/* "train", "test", "input" or "output" absent */
	HRM_ARC_ISSUE_NOT_ARRAY,	/* an array was expected */
	HRM_ARC_ISSUE_NOT_INTEGER,	/* a cell is not an integer number */
	HRM_ARC_ISSUE_BAD_COLOR,	/* a cell is outside 0..9 */
	HRM_ARC_ISSUE_RAGGED,		/* rows of different lengths */
	HRM_ARC_ISSUE_EMPTY,		/* a grid or row with no cells */
	HRM_ARC_ISSUE_TOO_LARGE,	/* more than 30 rows or columns, or too many pairs */
	HRM_ARC_ISSUE_NOT_STRING	/* the wrapper's "id" is not a string */
} hrm_arc_issue;

typedef struct hrm_arc_pair
{
	hrm_arc_grid input;
	hrm_arc_grid output;
	bool		has_output;		/* test pairs may lack "output" (or have null) */
} hrm_arc_pair;

typedef struct hrm_arc_task
{
	char	   *id;				/* NULL unless the document had one */
	int			n_train;
	int			n_test;
	hrm_arc_pair *train;
	hrm_arc_pair *test;
} hrm_arc_task;

/* Most pairs accepted per split. */
#define HRM_ARC_MAX_PAIRS 10000

/*
 * Read a task from parsed JSON: either the ARC-AGI task object
 * {"train": [...], "test": [...]} or the wrapper {"id": ..., "task": {...}}
 * used by the shared .jsonl files.  Every "train" pair needs "input" and
 * "output"; a "test" pair may lack "output".  Errors name the JSON path
 * (e.g. train[1].input[3][4], 0-based) and set *issue (may be NULL).
 * The task must be released with hrm_arc_task_free, also after an error.
 */
hrm_status	hrm_arc_task_from_json(const hrm_json *root, hrm_arc_task *task,
								   hrm_arc_issue *issue, hrm_error *err);

/* Parse JSON text then read the task. */
hrm_status	hrm_arc_task_parse(const char *text, size_t len, hrm_arc_task *task,
							   hrm_arc_issue *issue, hrm_error *err);

void		hrm_arc_task_free(hrm_arc_task *task);

/* ---- synthetic tasks in ARC's format (arc_gen.c) ---- */

/*
 * Families of transformations, each a common ARC motif.  A task is a family
 * with its parameters drawn once (the rule); its pairs are fresh random
 * inputs with the rule's outputs.
 */
typedef enum hrm_arc_family
{
	HRM_ARC_FAM_DIHEDRAL,		/* a: one of the 7 non-identity dihedral transforms */
	HRM_ARC_FAM_RECOLOR,		/* map: 1..3 colours each sent to another */
	HRM_ARC_FAM_GRAVITY,		/* a: coloured cells slide down, up, right or left */
	HRM_ARC_FAM_SCALE,			/* a: every cell becomes an a x a block (2 or 3) */
	HRM_ARC_FAM_TILE,			/* a: 2 x 2 copies: repeated, mirrored left-right, up-down, both */
	HRM_ARC_FAM_CROP,			/* the bounding box of the one object */
	HRM_ARC_FAM_BORDER,			/* color: the outer ring painted */
	HRM_ARC_FAM_FILL,			/* color: background enclosed by outlines filled */
	HRM_ARC_FAM_SHIFT,			/* a, b: everything moved a rows and b columns (-2..2), no wrap */
	HRM_ARC_FAM_EXTEND,			/* a: seeds on one edge draw lines across, down, up, right or left */
	HRM_ARC_FAM_MAJORITY,		/* a 1 x 1 grid of the most frequent colour */
	HRM_ARC_FAMILIES
} hrm_arc_family;

/* Smallest max_side accepted (inputs have 3 to max_side rows and columns). */
#define HRM_ARC_GEN_MIN_SIDE 3

typedef struct hrm_arc_rule
{
	hrm_arc_family family;
	int			a;
	int			b;
	uint8_t		color;
	uint8_t		map[HRM_ARC_COLORS];	/* recolor: colour c becomes map[c] */
} hrm_arc_rule;

/* "dihedral", "recolor", ...; "unknown" out of range. */
const char *hrm_arc_family_name(int family);

/* The family of a name, -1 when none. */
int			hrm_arc_family_from_name(const char *name);

/* Draw a rule of family (any family when family < 0 or out of range). */
void		hrm_arc_rule_draw(hrm_rng *rng, int family, hrm_arc_rule *rule);

/* A short description of a rule, e.g. "gravity down" or "recolor 3->5". */
void		hrm_arc_rule_describe(const hrm_arc_rule *rule, char *buf, size_t n);

/*
 * One pair of the rule: a fresh input of 3..max_side rows and columns
 * (fewer where the output would pass 30) and its output.  HRM_ERR_INVALID
 * for max_side outside 3..30.
 */
hrm_status	hrm_arc_rule_example(hrm_rng *rng, const hrm_arc_rule *rule, int max_side,
								 hrm_arc_grid *in, hrm_arc_grid *out, hrm_error *err);

/*
 * Task index of the stream seed: a rule drawn from families[0..n_families)
 * (any family when n_families is 0), then n_train train pairs and n_test
 * test pairs.  A task depends only on (seed, index, families, pair counts,
 * max_side).  *rule (may be NULL) receives the rule; the task must be
 * released with hrm_arc_task_free.
 */
hrm_status	hrm_arc_generate_task(uint64_t seed, int64_t index, const int *families,
								  int n_families, int n_train, int n_test, int max_side,
								  hrm_arc_task *task, hrm_arc_rule *rule, hrm_error *err);

#endif							/* HRM_ARC_H */
