/*
 * arc_gen.c — synthetic tasks in ARC's format (see arc.h): a family of
 * transformations, its parameters drawn once per task (the task's rule),
 * and fresh random inputs for every pair, each paired with the rule's
 * output.  The families are small, well-known ARC motifs, so a model can
 * be trained and measured on ARC-shaped data that is not the ARC-AGI
 * evaluation set.
 */
#include "arc.h"
#include "grid.h"

#include <stdio.h>
#include <string.h>

static const char *const family_names[HRM_ARC_FAMILIES] = {
	[HRM_ARC_FAM_DIHEDRAL] = "dihedral",
	[HRM_ARC_FAM_RECOLOR] = "recolor",
	[HRM_ARC_FAM_GRAVITY] = "gravity",
	[HRM_ARC_FAM_SCALE] = "scale",
	[HRM_ARC_FAM_TILE] = "tile",
	[HRM_ARC_FAM_CROP] = "crop",
	[HRM_ARC_FAM_BORDER] = "border",
	[HRM_ARC_FAM_FILL] = "fill",
	[HRM_ARC_FAM_SHIFT] = "shift",
	[HRM_ARC_FAM_EXTEND] = "extend",
	[HRM_ARC_FAM_MAJORITY] = "majority",
};

static const char *const side_names[4] = {"down", "up", "right", "left"};

const char *
hrm_arc_family_name(int family)
{
	return family >= 0 && family < HRM_ARC_FAMILIES ? family_names[family] : "unknown";
}

int
hrm_arc_family_from_name(const char *name)
{
	for (int f = 0; f < HRM_ARC_FAMILIES; f++)
		if (strcmp(name, family_names[f]) == 0)
			return f;
	return -1;
}

static int
draw_range(hrm_rng *r, int lo, int hi)
{
	return hi <= lo ? lo : lo + (int) hrm_rng_below(r, (uint64_t) (hi - lo + 1));
}

/* a colour in 1..9 other than the ones set in avoid (a bit mask) */
static uint8_t
draw_color(hrm_rng *r, unsigned avoid)
{
	uint8_t		c;

	do
		c = (uint8_t) draw_range(r, 1, 9);
	while (avoid & (1u << c));
	return c;
}

void
hrm_arc_rule_draw(hrm_rng *r, int family, hrm_arc_rule *rule)
{
	memset(rule, 0, sizeof(*rule));
	if (family < 0 || family >= HRM_ARC_FAMILIES)
		family = (int) hrm_rng_below(r, HRM_ARC_FAMILIES);
	rule->family = (hrm_arc_family) family;
	for (int c = 0; c < HRM_ARC_COLORS; c++)
		rule->map[c] = (uint8_t) c;
	switch (rule->family)
	{
		case HRM_ARC_FAM_DIHEDRAL:
			rule->a = draw_range(r, 1, HRM_DIHEDRAL_COUNT - 1);
			break;
		case HRM_ARC_FAM_RECOLOR:
			{
				/* 1..3 colours, each sent to another colour */
				int			k = draw_range(r, 1, 3);
				unsigned	used = 0;

				for (int i = 0; i < k; i++)
				{
					uint8_t		from = draw_color(r, used),
								to = draw_color(r, 1u << from);

					used |= 1u << from;
					rule->map[from] = to;
				}
				rule->a = k;
			}
			break;
		case HRM_ARC_FAM_GRAVITY:
		case HRM_ARC_FAM_EXTEND:
			rule->a = draw_range(r, 0, 3);
			break;
		case HRM_ARC_FAM_SCALE:
			rule->a = draw_range(r, 2, 3);
			break;
		case HRM_ARC_FAM_TILE:
			rule->a = draw_range(r, 0, 3);
			break;
		case HRM_ARC_FAM_BORDER:
		case HRM_ARC_FAM_FILL:
			rule->color = draw_color(r, 0);
			break;
		case HRM_ARC_FAM_SHIFT:
			do
			{
				rule->a = draw_range(r, -2, 2);
				rule->b = draw_range(r, -2, 2);
			} while (rule->a == 0 && rule->b == 0);
			break;
		case HRM_ARC_FAM_CROP:
		case HRM_ARC_FAM_MAJORITY:
		case HRM_ARC_FAMILIES:
			break;
	}
}

void
hrm_arc_rule_describe(const hrm_arc_rule *rule, char *buf, size_t n)
{
	static const char *const tile_modes[4] = {"repeat 2x2", "mirror left-right", "mirror up-down",
	"mirror 4 ways"};
	static const char *const dihedral[HRM_DIHEDRAL_COUNT] = {"identity", "rotate 90 counter-clockwise",
		"rotate 180", "rotate 90 clockwise", "flip left-right", "flip up-down", "transpose",
	"anti-transpose"};

	switch (rule->family)
	{
		case HRM_ARC_FAM_DIHEDRAL:
			snprintf(buf, n, "%s", dihedral[rule->a & 7]);
			break;
		case HRM_ARC_FAM_RECOLOR:
			{
				size_t		len = (size_t) snprintf(buf, n, "recolor");

				for (int c = 1; c < HRM_ARC_COLORS && len < n; c++)
					if (rule->map[c] != c)
						len += (size_t) snprintf(buf + len, n - len, " %d->%d", c, rule->map[c]);
			}
			break;
		case HRM_ARC_FAM_GRAVITY:
			snprintf(buf, n, "gravity %s", side_names[rule->a & 3]);
			break;
		case HRM_ARC_FAM_SCALE:
			snprintf(buf, n, "scale x%d", rule->a);
			break;
		case HRM_ARC_FAM_TILE:
			snprintf(buf, n, "tile %s", tile_modes[rule->a & 3]);
			break;
		case HRM_ARC_FAM_CROP:
			snprintf(buf, n, "crop to the object");
			break;
		case HRM_ARC_FAM_BORDER:
			snprintf(buf, n, "border %d", rule->color);
			break;
		case HRM_ARC_FAM_FILL:
			snprintf(buf, n, "fill enclosed %d", rule->color);
			break;
		case HRM_ARC_FAM_SHIFT:
			snprintf(buf, n, "shift %+d rows %+d columns", rule->a, rule->b);
			break;
		case HRM_ARC_FAM_EXTEND:
			snprintf(buf, n, "extend lines %s", side_names[rule->a & 3]);
			break;
		case HRM_ARC_FAM_MAJORITY:
			snprintf(buf, n, "most frequent colour");
			break;
		case HRM_ARC_FAMILIES:
			snprintf(buf, n, "unknown");
			break;
	}
}

/* cells of colour 1..9 with probability density, else 0 */
static void
random_grid(hrm_rng *r, hrm_arc_grid *g, int rows, int cols, double density)
{
	g->rows = rows;
	g->cols = cols;
	for (int i = 0; i < rows * cols; i++)
		g->cell[i] = hrm_rng_uniform(r) < density ? draw_color(r, 0) : 0;
}

/*
 * Cell p of line l of a grid: lines are columns when vertical (p counts
 * rows), else rows (p counts columns).
 */
static inline int
line_cell(int cols, bool vertical, int l, int p)
{
	return vertical ? p * cols + l : l * cols + p;
}

/*
 * Gravity toward side d (0 down, 1 up, 2 right, 3 left): the coloured
 * cells of each column (or row) slide to that side keeping their order.
 */
static void
apply_gravity(const hrm_arc_grid *in, int d, hrm_arc_grid *out)
{
	bool		vertical = d < 2;
	int			lines = vertical ? in->cols : in->rows,
				len = vertical ? in->rows : in->cols;

	*out = *in;
	memset(out->cell, 0, (size_t) in->rows * in->cols);
	for (int l = 0; l < lines; l++)
	{
		int			put = 0;

		/* walk from the far side toward the near side, stacking at the near side */
		for (int k = 0; k < len; k++)
		{
			int			p = (d == 0 || d == 2) ? len - 1 - k : k;
			int			idx = line_cell(in->cols, vertical, l, p);

			if (in->cell[idx] != 0)
			{
				int			q = (d == 0 || d == 2) ? len - 1 - put : put;

				out->cell[line_cell(in->cols, vertical, l, q)] = in->cell[idx];
				put++;
			}
		}
	}
}

/* the background cells (0) not joined to the edge through background cells */
static void
apply_fill(const hrm_arc_grid *in, uint8_t color, hrm_arc_grid *out)
{
	int			n = in->rows * in->cols;
	int			stack[HRM_ARC_SEQ],
				top = 0;
	bool		seen[HRM_ARC_SEQ];

	*out = *in;
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < n; i++)
	{
		int			rr = i / in->cols,
					cc = i % in->cols;

		if (in->cell[i] == 0 && (rr == 0 || cc == 0 || rr == in->rows - 1 || cc == in->cols - 1))
		{
			seen[i] = true;
			stack[top++] = i;
		}
	}
	while (top > 0)
	{
		int			i = stack[--top],
					rr = i / in->cols,
					cc = i % in->cols;
		const int	dr[4] = {1, -1, 0, 0},
					dc[4] = {0, 0, 1, -1};

		for (int k = 0; k < 4; k++)
		{
			int			r2 = rr + dr[k],
						c2 = cc + dc[k],
						j = r2 * in->cols + c2;

			if (r2 >= 0 && c2 >= 0 && r2 < in->rows && c2 < in->cols && !seen[j] && in->cell[j] == 0)
			{
				seen[j] = true;
				stack[top++] = j;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (in->cell[i] == 0 && !seen[i])
			out->cell[i] = color;
}

/* hollow rectangles of colour o (1..3 of them, not touching), on a blank grid */
static void
draw_outlines(hrm_rng *r, hrm_arc_grid *g, int rows, int cols, uint8_t o)
{
	int			want = draw_range(r, 1, 3),
				placed = 0;

	g->rows = rows;
	g->cols = cols;
	memset(g->cell, 0, (size_t) rows * cols);
	for (int tries = 0; tries < 50 && placed < want; tries++)
	{
		int			h = draw_range(r, 3, rows < 6 ? rows : 6),
					w = draw_range(r, 3, cols < 6 ? cols : 6),
					r0 = draw_range(r, 0, rows - h),
					c0 = draw_range(r, 0, cols - w);
		bool		clear = true;

		/* the rectangle and a ring of one cell around it must be blank */
		for (int i = r0 - 1; i <= r0 + h && clear; i++)
			for (int j = c0 - 1; j <= c0 + w && clear; j++)
				if (i >= 0 && j >= 0 && i < rows && j < cols && g->cell[i * cols + j] != 0)
					clear = false;
		if (!clear)
			continue;
		for (int i = r0; i < r0 + h; i++)
			for (int j = c0; j < c0 + w; j++)
				if (i == r0 || j == c0 || i == r0 + h - 1 || j == c0 + w - 1)
					g->cell[i * cols + j] = o;
		placed++;
	}
}

hrm_status
hrm_arc_rule_example(hrm_rng *r, const hrm_arc_rule *rule, int max_side,
					 hrm_arc_grid *in, hrm_arc_grid *out, hrm_error *err)
{
	int			lo = 3,
				hi = max_side,
				rows,
				cols;

	if (max_side < HRM_ARC_GEN_MIN_SIDE || max_side > HRM_ARC_MAX)
		return hrm_fail(err, HRM_ERR_INVALID, "max_side must be between %d and %d, got %d",
						HRM_ARC_GEN_MIN_SIDE, HRM_ARC_MAX, max_side);
	if (rule->family == HRM_ARC_FAM_SCALE)
		hi = max_side < HRM_ARC_MAX / rule->a ? max_side : HRM_ARC_MAX / rule->a;
	else if (rule->family == HRM_ARC_FAM_TILE)
		hi = max_side < HRM_ARC_MAX / 2 ? max_side : HRM_ARC_MAX / 2;
	rows = draw_range(r, lo, hi);
	cols = draw_range(r, lo, hi);

	switch (rule->family)
	{
		case HRM_ARC_FAM_DIHEDRAL:
			random_grid(r, in, rows, cols, 0.3 + 0.4 * hrm_rng_uniform(r));
			out->rows = out->cols = 0;
			return hrm_dihedral_apply_u8(rule->a, in->cell, rows, cols, out->cell, &out->rows,
										 &out->cols, err);
		case HRM_ARC_FAM_RECOLOR:
			random_grid(r, in, rows, cols, 0.4 + 0.4 * hrm_rng_uniform(r));
			/* every recoloured colour shows at least once, in cells of its own (a partial shuffle) */
			{
				int			pos[HRM_ARC_SEQ],
							n = rows * cols,
							used = 0;

				for (int i = 0; i < n; i++)
					pos[i] = i;
				for (int c = 1; c < HRM_ARC_COLORS; c++)
					if (rule->map[c] != c)
					{
						int			j = used + (int) hrm_rng_below(r, (uint64_t) (n - used)),
									t = pos[j];

						pos[j] = pos[used];
						pos[used++] = t;
						in->cell[t] = (uint8_t) c;
					}
			}
			*out = *in;
			for (int i = 0; i < rows * cols; i++)
				out->cell[i] = rule->map[in->cell[i]];
			return HRM_OK;
		case HRM_ARC_FAM_GRAVITY:
			random_grid(r, in, rows, cols, 0.15 + 0.3 * hrm_rng_uniform(r));
			apply_gravity(in, rule->a, out);
			return HRM_OK;
		case HRM_ARC_FAM_SCALE:
			random_grid(r, in, rows, cols, 0.4 + 0.4 * hrm_rng_uniform(r));
			out->rows = rows * rule->a;
			out->cols = cols * rule->a;
			for (int i = 0; i < out->rows; i++)
				for (int j = 0; j < out->cols; j++)
					out->cell[i * out->cols + j] = in->cell[(i / rule->a) * cols + j / rule->a];
			return HRM_OK;
		case HRM_ARC_FAM_TILE:
			random_grid(r, in, rows, cols, 0.4 + 0.4 * hrm_rng_uniform(r));
			out->rows = 2 * rows;
			out->cols = 2 * cols;
			for (int i = 0; i < out->rows; i++)
				for (int j = 0; j < out->cols; j++)
				{
					int			si = i % rows,
								sj = j % cols;

					/* mirrored copies read the source backwards in their half */
					if ((rule->a == 1 || rule->a == 3) && j >= cols)
						sj = cols - 1 - sj;
					if ((rule->a == 2 || rule->a == 3) && i >= rows)
						si = rows - 1 - si;
					out->cell[i * out->cols + j] = in->cell[si * cols + sj];
				}
			return HRM_OK;
		case HRM_ARC_FAM_CROP:
			{
				int			h = draw_range(r, 1, rows - 1),
							w = draw_range(r, 1, cols - 1),
							r0 = draw_range(r, 0, rows - h),
							c0 = draw_range(r, 0, cols - w),
							minr = HRM_ARC_MAX,
							minc = HRM_ARC_MAX,
							maxr = -1,
							maxc = -1;

				in->rows = rows;
				in->cols = cols;
				memset(in->cell, 0, (size_t) rows * cols);
				for (int i = r0; i < r0 + h; i++)
					for (int j = c0; j < c0 + w; j++)
						if (hrm_rng_uniform(r) < 0.75)
							in->cell[i * cols + j] = draw_color(r, 0);
				in->cell[(r0 + h / 2) * cols + c0 + w / 2] = draw_color(r, 0);
				for (int i = 0; i < rows; i++)
					for (int j = 0; j < cols; j++)
						if (in->cell[i * cols + j] != 0)
						{
							minr = i < minr ? i : minr;
							maxr = i > maxr ? i : maxr;
							minc = j < minc ? j : minc;
							maxc = j > maxc ? j : maxc;
						}
				out->rows = maxr - minr + 1;
				out->cols = maxc - minc + 1;
				for (int i = 0; i < out->rows; i++)
					for (int j = 0; j < out->cols; j++)
						out->cell[i * out->cols + j] = in->cell[(minr + i) * cols + minc + j];
			}
			return HRM_OK;
		case HRM_ARC_FAM_BORDER:
			random_grid(r, in, rows, cols, 0.2 + 0.4 * hrm_rng_uniform(r));
			*out = *in;
			for (int i = 0; i < rows; i++)
				for (int j = 0; j < cols; j++)
					if (i == 0 || j == 0 || i == rows - 1 || j == cols - 1)
						out->cell[i * cols + j] = rule->color;
			return HRM_OK;
		case HRM_ARC_FAM_FILL:
			draw_outlines(r, in, rows, cols, draw_color(r, 1u << rule->color));
			apply_fill(in, rule->color, out);
			return HRM_OK;
		case HRM_ARC_FAM_SHIFT:
			random_grid(r, in, rows, cols, 0.3 + 0.4 * hrm_rng_uniform(r));
			*out = *in;
			memset(out->cell, 0, (size_t) rows * cols);
			for (int i = 0; i < rows; i++)
				for (int j = 0; j < cols; j++)
				{
					int			i2 = i + rule->a,
								j2 = j + rule->b;

					if (i2 >= 0 && j2 >= 0 && i2 < rows && j2 < cols)
						out->cell[i2 * cols + j2] = in->cell[i * cols + j];
				}
			return HRM_OK;
		case HRM_ARC_FAM_EXTEND:
			{
				/* seeds on the edge opposite the direction, each drawing a line across */
				int			d = rule->a;
				bool		vertical = d < 2;
				int			lines = vertical ? cols : rows,
							len = vertical ? rows : cols,
							src = (d == 0 || d == 2) ? 0 : len - 1,
							seeds = 0;

				in->rows = out->rows = rows;
				in->cols = out->cols = cols;
				memset(in->cell, 0, (size_t) rows * cols);
				while (seeds == 0)
					for (int l = 0; l < lines; l++)
						if (hrm_rng_uniform(r) < 0.35)
						{
							in->cell[line_cell(cols, vertical, l, src)] = draw_color(r, 0);
							seeds++;
						}
				memcpy(out->cell, in->cell, (size_t) rows * cols);
				for (int l = 0; l < lines; l++)
				{
					uint8_t		c = in->cell[line_cell(cols, vertical, l, src)];

					for (int p = 0; p < len && c != 0; p++)
						out->cell[line_cell(cols, vertical, l, p)] = c;
				}
			}
			return HRM_OK;
		case HRM_ARC_FAM_MAJORITY:
			{
				int			count[HRM_ARC_COLORS],
							best;
				bool		tie;

				do
				{
					random_grid(r, in, rows, cols, 0.4 + 0.4 * hrm_rng_uniform(r));
					memset(count, 0, sizeof(count));
					for (int i = 0; i < rows * cols; i++)
						count[in->cell[i]]++;
					best = 1;
					tie = false;
					for (int c = 2; c < HRM_ARC_COLORS; c++)
						if (count[c] > count[best])
						{
							best = c;
							tie = false;
						}
						else if (count[c] == count[best])
							tie = true;
				} while (tie || count[best] == 0);
				out->rows = out->cols = 1;
				out->cell[0] = (uint8_t) best;
			}
			return HRM_OK;
		case HRM_ARC_FAMILIES:
			break;
	}
	return hrm_fail(err, HRM_ERR_INVALID, "unknown ARC task family %d", (int) rule->family);
}

hrm_status
hrm_arc_generate_task(uint64_t seed, int64_t index, const int *families, int n_families,
					  int n_train, int n_test, int max_side, hrm_arc_task *task,
					  hrm_arc_rule *rule, hrm_error *err)
{
	hrm_rng		r;
	hrm_arc_rule local;
	int			family;
	hrm_status	st = HRM_OK;

	memset(task, 0, sizeof(*task));
	if (rule == NULL)
		rule = &local;
	if (n_train < 0 || n_test < 0 || n_train > HRM_ARC_MAX_PAIRS || n_test > HRM_ARC_MAX_PAIRS)
		return hrm_fail(err, HRM_ERR_INVALID, "pairs per task must be between 0 and %d, got %d and %d",
						HRM_ARC_MAX_PAIRS, n_train, n_test);
	for (int i = 0; i < n_families; i++)
		if (families[i] < 0 || families[i] >= HRM_ARC_FAMILIES)
			return hrm_fail(err, HRM_ERR_INVALID, "unknown ARC task family %d", families[i]);
	/* every task its own stream: task k is the same whatever the count */
	hrm_rng_seed(&r, seed ^ ((uint64_t) index * 0xd1b54a32d192ed03ULL));
	family = n_families > 0 ? families[hrm_rng_below(&r, (uint64_t) n_families)] : -1;
	hrm_arc_rule_draw(&r, family, rule);
	task->train = hrm_alloc((size_t) (n_train > 0 ? n_train : 1), sizeof(hrm_arc_pair));
	task->test = hrm_alloc((size_t) (n_test > 0 ? n_test : 1), sizeof(hrm_arc_pair));
	if (task->train == NULL || task->test == NULL)
	{
		hrm_arc_task_free(task);
		return hrm_fail(err, HRM_ERR_NOMEM, "out of memory for %d + %d ARC pairs", n_train, n_test);
	}
	for (int k = 0; k < n_train + n_test && st == HRM_OK; k++)
	{
		hrm_arc_pair *p = k < n_train ? &task->train[k] : &task->test[k - n_train];

		st = hrm_arc_rule_example(&r, rule, max_side, &p->input, &p->output, err);
		p->has_output = true;
		if (k < n_train)
			task->n_train = k + 1;
		else
			task->n_test = k - n_train + 1;
	}
	if (st != HRM_OK)
		hrm_arc_task_free(task);
	return st;
}
