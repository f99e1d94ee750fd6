/*
 * maze.c — maze codecs, BFS, checker, generator and augmentation
 * (see maze.h).
 */
#include "maze.h"

#include "grid.h"

#include <stdio.h>
#include <string.h>

/* Attempts per wall layout in the Lehnert et al. recipe. */
#define TRIES_PER_LAYOUT 100

char
hrm_maze_char(int value)
{
	switch (value)
	{
		case HRM_MAZE_WALL:
			return '#';
		case HRM_MAZE_OPEN:
			return ' ';
		case HRM_MAZE_START:
			return 'S';
		case HRM_MAZE_GOAL:
			return 'G';
		case HRM_MAZE_PATH:
			return 'o';
	}
	return '?';
}

static int
char_value(unsigned char ch)
{
	switch (ch)
	{
		case '#':
			return HRM_MAZE_WALL;
		case ' ':
			return HRM_MAZE_OPEN;
		case 'S':
			return HRM_MAZE_START;
		case 'G':
			return HRM_MAZE_GOAL;
		case 'o':
			return HRM_MAZE_PATH;
	}
	return 0;
}

/* Describe a byte for an error message: "x", or 0xNN for control and non-ASCII bytes. */
static void
describe_byte(unsigned char ch, char buf[16])
{
	if (ch >= 0x21 && ch < 0x7f && ch != '"')
		snprintf(buf, 16, "\"%c\"", ch);
	else
		snprintf(buf, 16, "0x%02x", ch);
}

/* Store the cells of one row; pos is the byte offset of the row's start. */
static hrm_status
parse_row(const char *row, size_t n, size_t pos, int r, hrm_maze *m, hrm_error *err)
{
	for (size_t j = 0; j < n; j++)
	{
		int			v = char_value((unsigned char) row[j]);

		if (v == 0)
		{
			char		what[16];

			describe_byte((unsigned char) row[j], what);
			return hrm_fail(err, HRM_ERR_FORMAT,
							"invalid character %s at row %d, column %zu (position %zu): a maze cell is one of \"#\", \" \", \"S\", \"G\", \"o\"",
							what, r + 1, j + 1, pos + j + 1);
		}
		m->cell[r * m->cols + (int) j] = (uint8_t) v;
	}
	return HRM_OK;
}

hrm_status
hrm_maze_parse(const char *text, size_t len, hrm_maze *m, hrm_error *err)
{
	size_t		start = 0;
	int			r = 0;
	hrm_status	st;

	m->rows = m->cols = 0;
	/* one trailing newline is allowed */
	if (len > 0 && text[len - 1] == '\n')
	{
		len--;
		if (len > 0 && text[len - 1] == '\r')
			len--;
	}
	if (len == 0)
		return hrm_fail(err, HRM_ERR_SHAPE, "the maze text is empty");

	/*
	 * A single line longer than 30 characters whose length is a square is
	 * read as a square maze, row-major: the reference CSV stores 30x30
	 * mazes as 900-character strings.
	 */
	if (memchr(text, '\n', len) == NULL && len > HRM_MAZE_MAX)
	{
		int			n = 1;

		while ((size_t) (n + 1) * (size_t) (n + 1) <= len && n < HRM_MAZE_MAX)
			n++;
		if ((size_t) n * (size_t) n != len)
			return hrm_fail(err, HRM_ERR_LIMIT,
							"a single-line maze of %zu characters is neither a row of at most 30 cells nor a square of at most 30x30 cells",
							len);
		m->rows = m->cols = n;
		for (int i = 0; i < n; i++)
		{
			st = parse_row(text + (size_t) i * n, (size_t) n, (size_t) i * n, i, m, err);
			if (st != HRM_OK)
				return st;
		}
		return HRM_OK;
	}

	while (start <= len)
	{
		const char *nl = memchr(text + start, '\n', len - start);
		size_t		end = nl ? (size_t) (nl - text) : len;
		size_t		n = end - start;

		if (n > 0 && text[end - 1] == '\r')
			n--;
		if (r >= HRM_MAZE_MAX)
			return hrm_fail(err, HRM_ERR_LIMIT, "the maze has more than %d rows", HRM_MAZE_MAX);
		if (r == 0)
		{
			if (n > HRM_MAZE_MAX)
				return hrm_fail(err, HRM_ERR_LIMIT,
								"the maze has %zu columns, at most %d are allowed", n, HRM_MAZE_MAX);
			if (n == 0)
				return hrm_fail(err, HRM_ERR_FORMAT, "row 1 of the maze is empty");
			m->cols = (int) n;
		}
		else if (n != (size_t) m->cols)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"row %d of the maze has %zu cells, row 1 has %d: a maze is rectangular",
							r + 1, n, m->cols);
		st = parse_row(text + start, n, start, r, m, err);
		if (st != HRM_OK)
			return st;
		r++;
		m->rows = r;
		if (nl == NULL)
			break;
		start = end + 1;
	}
	return HRM_OK;
}

size_t
hrm_maze_format(const hrm_maze *m, char *out)
{
	size_t		k = 0;

	for (int r = 0; r < m->rows; r++)
	{
		if (r > 0)
			out[k++] = '\n';
		for (int c = 0; c < m->cols; c++)
			out[k++] = hrm_maze_char(m->cell[r * m->cols + c]);
	}
	out[k] = '\0';
	return k;
}

void
hrm_maze_to_tokens(const hrm_maze *m, int32_t tokens[HRM_MAZE_SEQ])
{
	for (int i = 0; i < HRM_MAZE_SEQ; i++)
		tokens[i] = HRM_MAZE_PAD;
	for (int r = 0; r < m->rows; r++)
		for (int c = 0; c < m->cols; c++)
			tokens[r * HRM_MAZE_MAX + c] = m->cell[r * m->cols + c];
}

hrm_status
hrm_maze_from_tokens(const int32_t *tokens, size_t n, int size, hrm_maze *m, hrm_error *err)
{
	int			rows = 0,
				cols = 0;

	if (n != HRM_MAZE_SEQ)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"a maze token sequence has 900 tokens (30x30), got %zu", n);
	while (cols < HRM_MAZE_MAX && tokens[cols] != HRM_MAZE_PAD)
		cols++;
	while (rows < HRM_MAZE_MAX && tokens[rows * HRM_MAZE_MAX] != HRM_MAZE_PAD)
		rows++;

	for (int i = 0; i < HRM_MAZE_SEQ; i++)
	{
		int32_t		t = tokens[i];
		bool		inside = (i / HRM_MAZE_MAX) < rows && (i % HRM_MAZE_MAX) < cols;

		if (t < 0 || t >= HRM_MAZE_VOCAB)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"token %ld at position %d is not a maze token (0..5)", (long) t, i + 1);
		if (inside && t == HRM_MAZE_PAD)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"PAD token at position %d inside the %dx%d maze", i + 1, rows, cols);
		if (!inside && t != HRM_MAZE_PAD)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"token %ld at position %d lies outside the %dx%d maze in the top-left corner, where only PAD (0) is allowed",
							(long) t, i + 1, rows, cols);
	}
	if (rows == 0)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"the token sequence holds no maze: the first token is PAD");
	if (size > 0 && (rows != size || cols != size))
		return hrm_fail(err, HRM_ERR_SHAPE,
						"the tokens hold a %dx%d maze, expected %dx%d", rows, cols, size, size);
	m->rows = rows;
	m->cols = cols;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			m->cell[r * cols + c] = (uint8_t) tokens[r * HRM_MAZE_MAX + c];
	return HRM_OK;
}

hrm_status
hrm_maze_endpoints(const hrm_maze *m, int *start, int *goal, hrm_error *err)
{
	int			ns = 0,
				ng = 0,
				n = m->rows * m->cols;

	*start = *goal = -1;
	for (int i = 0; i < n; i++)
	{
		int			v = m->cell[i];

		if (v == HRM_MAZE_START)
		{
			if (ns++ == 0)
				*start = i;
		}
		else if (v == HRM_MAZE_GOAL)
		{
			if (ng++ == 0)
				*goal = i;
		}
		else if (v == HRM_MAZE_PATH)
			return hrm_fail(err, HRM_ERR_INVALID,
							"the maze already has a path cell \"o\" at r%dc%d; a maze to solve has only \"#\", \" \", \"S\" and \"G\"",
							i / m->cols + 1, i % m->cols + 1);
	}
	if (ns != 1)
		return hrm_fail(err, HRM_ERR_INVALID,
						"a maze has exactly one start \"S\", this one has %d", ns);
	if (ng != 1)
		return hrm_fail(err, HRM_ERR_INVALID,
						"a maze has exactly one goal \"G\", this one has %d", ng);
	return HRM_OK;
}

/*
 * BFS from src over cells that pass; dist[] gets steps (-1 unreached).
 * Stops early once stop (>= 0) is reached.  Returns dist[stop] or -1.
 */
static int
bfs(const uint8_t *passable, int rows, int cols, int src, int stop, int16_t *dist)
{
	int16_t		queue[HRM_MAZE_SEQ];
	int			head = 0,
				tail = 0,
				n = rows * cols;

	for (int i = 0; i < n; i++)
		dist[i] = -1;
	dist[src] = 0;
	queue[tail++] = (int16_t) src;
	while (head < tail)
	{
		int			cur = queue[head++];
		int			r = cur / cols,
					c = cur % cols;
		int			nb[4],
					nn = 0;

		if (cur == stop)
			return dist[cur];
		if (r > 0)
			nb[nn++] = cur - cols;
		if (r < rows - 1)
			nb[nn++] = cur + cols;
		if (c > 0)
			nb[nn++] = cur - 1;
		if (c < cols - 1)
			nb[nn++] = cur + 1;
		for (int k = 0; k < nn; k++)
		{
			int			p = nb[k];

			if (passable[p] && dist[p] < 0)
			{
				dist[p] = (int16_t) (dist[cur] + 1);
				queue[tail++] = (int16_t) p;
			}
		}
	}
	return stop >= 0 ? dist[stop] : -1;
}

hrm_status
hrm_maze_solve(const hrm_maze *m, hrm_maze *solved, int *length, hrm_error *err)
{
	int			s,
				g,
				n = m->rows * m->cols;
	uint8_t		passable[HRM_MAZE_SEQ];
	int16_t		dist[HRM_MAZE_SEQ];
	hrm_status	st = hrm_maze_endpoints(m, &s, &g, err);

	*length = 0;
	if (st != HRM_OK)
		return st;
	for (int i = 0; i < n; i++)
		passable[i] = m->cell[i] != HRM_MAZE_WALL;
	/* distances to G, so the walk from S can pick neighbours greedily */
	bfs(passable, m->rows, m->cols, g, -1, dist);
	if (dist[s] < 0)
		return HRM_OK;
	*length = dist[s] + 1;
	if (solved != NULL)
	{
		int			cur = s;

		if (solved != m)
			*solved = *m;
		while (cur != g)
		{
			int			r = cur / m->cols,
						c = cur % m->cols;
			int			next = -1;

			if (r > 0 && dist[cur - m->cols] == dist[cur] - 1)
				next = cur - m->cols;
			else if (r < m->rows - 1 && dist[cur + m->cols] == dist[cur] - 1)
				next = cur + m->cols;
			else if (c > 0 && dist[cur - 1] == dist[cur] - 1)
				next = cur - 1;
			else if (c < m->cols - 1 && dist[cur + 1] == dist[cur] - 1)
				next = cur + 1;
			if (next < 0)
				return hrm_fail(err, HRM_ERR_INTERNAL, "BFS path reconstruction failed");
			if (next != g)
				solved->cell[next] = HRM_MAZE_PATH;
			cur = next;
		}
	}
	return HRM_OK;
}

hrm_status
hrm_maze_check(const hrm_maze *maze, const hrm_maze *answer, hrm_maze_verdict *v,
			   hrm_error *err)
{
	int			s,
				g,
				n = maze->rows * maze->cols;
	int			marked_count = 0;
	uint8_t		marked[HRM_MAZE_SEQ];
	int16_t		dist[HRM_MAZE_SEQ];
	hrm_status	st;

	v->valid = false;
	v->shortest = false;
	v->length = 0;
	v->shortest_length = 0;
	v->reason[0] = '\0';
	memset(marked, 0, sizeof(marked));

	st = hrm_maze_solve(maze, NULL, &v->shortest_length, err);
	if (st != HRM_OK)
		return st;
	hrm_maze_endpoints(maze, &s, &g, NULL);

	if (answer->rows != maze->rows || answer->cols != maze->cols)
	{
		snprintf(v->reason, sizeof(v->reason), "the answer is %dx%d, the maze is %dx%d",
				 answer->rows, answer->cols, maze->rows, maze->cols);
		return HRM_OK;
	}
	for (int i = 0; i < n; i++)
	{
		int			q = maze->cell[i],
					a = answer->cell[i];

		if (q != a && !(q == HRM_MAZE_OPEN && a == HRM_MAZE_PATH))
		{
			snprintf(v->reason, sizeof(v->reason),
					 "cell r%dc%d is \"%c\" in the maze but \"%c\" in the answer",
					 i / maze->cols + 1, i % maze->cols + 1, hrm_maze_char(q), hrm_maze_char(a));
			return HRM_OK;
		}
		marked[i] = (a == HRM_MAZE_PATH || a == HRM_MAZE_START || a == HRM_MAZE_GOAL);
		marked_count += marked[i];
	}
	bfs(marked, maze->rows, maze->cols, s, -1, dist);
	if (dist[g] < 0)
	{
		snprintf(v->reason, sizeof(v->reason),
				 v->shortest_length == 0
				 ? "the marked cells do not connect S to G (G cannot be reached from S in this maze)"
				 : "the marked cells do not connect S to G");
		return HRM_OK;
	}
	for (int i = 0; i < n; i++)
	{
		if (marked[i] && dist[i] < 0)
		{
			snprintf(v->reason, sizeof(v->reason),
					 "cell r%dc%d is marked \"o\" but not connected to the path from S to G",
					 i / maze->cols + 1, i % maze->cols + 1);
			return HRM_OK;
		}
	}
	v->valid = true;
	v->length = marked_count;
	if (marked_count == v->shortest_length)
		v->shortest = true;
	else
		snprintf(v->reason, sizeof(v->reason),
				 "the path has %d cells, a shortest path has %d",
				 marked_count, v->shortest_length);
	return HRM_OK;
}

/* ------------------------------------------------------------------------
 * Generator
 * ------------------------------------------------------------------------ */

/* Label the 4-connected components of free cells; comp_size[label] = cells. */
static void
label_components(const uint8_t *free_cell, int size, int16_t *comp, int16_t *comp_size)
{
	int			n = size * size,
				next = 0;
	int16_t		stack[HRM_MAZE_SEQ];

	for (int i = 0; i < n; i++)
		comp[i] = -1;
	for (int i = 0; i < n; i++)
	{
		int			top = 0,
					count = 0;

		if (!free_cell[i] || comp[i] >= 0)
			continue;
		comp[i] = (int16_t) next;
		stack[top++] = (int16_t) i;
		while (top > 0)
		{
			int			cur = stack[--top];
			int			r = cur / size,
						c = cur % size;
			int			nb[4],
						nn = 0;

			count++;
			if (r > 0)
				nb[nn++] = cur - size;
			if (r < size - 1)
				nb[nn++] = cur + size;
			if (c > 0)
				nb[nn++] = cur - 1;
			if (c < size - 1)
				nb[nn++] = cur + 1;
			for (int k = 0; k < nn; k++)
			{
				int			p = nb[k];

				if (free_cell[p] && comp[p] < 0)
				{
					comp[p] = (int16_t) next;
					stack[top++] = (int16_t) p;
				}
			}
		}
		comp_size[next++] = (int16_t) count;
	}
}

hrm_status
hrm_maze_generate(hrm_rng *rng, int size, int min_length, int max_layouts,
				  hrm_maze *maze, hrm_maze *solution, int *length, int *layouts,
				  hrm_error *err)
{
	int			n,
				wall_lo,
				wall_hi;

	if (layouts)
		*layouts = 0;
	*length = 0;
	if (size < 2 || size > HRM_MAZE_MAX)
		return hrm_fail(err, HRM_ERR_INVALID,
						"maze size must be between 2 and %d, got %d", HRM_MAZE_MAX, size);
	n = size * size;
	/* 30% to 50% walls, rounded inward: 270..450 for 30x30 as in the recipe */
	wall_lo = (3 * n + 9) / 10;
	wall_hi = n / 2;
	if (min_length < 0 || min_length > n - wall_lo)
		return hrm_fail(err, HRM_ERR_INVALID,
						"min_path_length must be between 0 and %d for a %dx%d maze with at least %d walls, got %d",
						n - wall_lo, size, size, wall_lo, min_length);

	for (int layout = 1; layout <= max_layouts; layout++)
	{
		int			order[HRM_MAZE_SEQ];
		int16_t		free_list[HRM_MAZE_SEQ];
		uint8_t		free_cell[HRM_MAZE_SEQ];
		int16_t		comp[HRM_MAZE_SEQ],
					comp_size[HRM_MAZE_SEQ];
		int16_t		dist[HRM_MAZE_SEQ];
		int			walls,
					nfree;

		for (int i = 0; i < n; i++)
			order[i] = i;
		hrm_rng_shuffle_int(rng, order, n);
		walls = wall_lo + (int) hrm_rng_below(rng, (uint64_t) (wall_hi - wall_lo + 1));
		for (int i = 0; i < n; i++)
			free_cell[order[i]] = i >= walls;
		nfree = 0;
		for (int i = 0; i < n; i++)
			if (free_cell[i])
				free_list[nfree++] = (int16_t) i;
		label_components(free_cell, size, comp, comp_size);

		for (int t = 0; t < TRIES_PER_LAYOUT; t++)
		{
			int			a = (int) hrm_rng_below(rng, (uint64_t) nfree);
			int			b = (int) hrm_rng_below(rng, (uint64_t) (nfree - 1));
			int			s,
						g,
						d;

			if (b >= a)
				b++;
			s = free_list[a];
			g = free_list[b];
			if (comp[s] != comp[g] || comp_size[comp[s]] < min_length)
				continue;
			d = bfs(free_cell, size, size, s, g, dist);
			if (d + 1 < min_length)
				continue;

			/* accepted */
			maze->rows = maze->cols = size;
			for (int i = 0; i < n; i++)
				maze->cell[i] = free_cell[i] ? HRM_MAZE_OPEN : HRM_MAZE_WALL;
			maze->cell[s] = HRM_MAZE_START;
			maze->cell[g] = HRM_MAZE_GOAL;
			if (layouts)
				*layouts = layout;
			return hrm_maze_solve(maze, solution, length, err);
		}
	}
	if (layouts)
		*layouts = max_layouts;
	return hrm_fail(err, HRM_ERR_LIMIT,
					"no %dx%d maze with a shortest path of at least %d cells found in %d wall layouts",
					size, size, min_length, max_layouts);
}

/* ------------------------------------------------------------------------
 * Augmentation
 * ------------------------------------------------------------------------ */

hrm_status
hrm_maze_transform_tokens(const int32_t *in, int32_t *out, int tid, hrm_error *err)
{
	hrm_maze	m,
				t;
	hrm_status	st;

	if (tid < 0 || tid >= HRM_DIHEDRAL_COUNT)
		return hrm_fail(err, HRM_ERR_INVALID,
						"dihedral transform id %d is out of range (0..7)", tid);
	st = hrm_maze_from_tokens(in, HRM_MAZE_SEQ, 0, &m, err);
	if (st != HRM_OK)
		return st;
	st = hrm_dihedral_apply_u8(tid, m.cell, m.rows, m.cols, t.cell, &t.rows, &t.cols, err);
	if (st != HRM_OK)
		return st;
	hrm_maze_to_tokens(&t, out);
	return HRM_OK;
}

hrm_status
hrm_maze_augment_tokens(const int32_t *in, const int32_t *label,
						int32_t *out_in, int32_t *out_label,
						hrm_rng *rng, int *tid_out, hrm_error *err)
{
	int			tid = (int) hrm_rng_below(rng, HRM_DIHEDRAL_COUNT);
	int32_t		tmp[HRM_MAZE_SEQ];
	hrm_status	st;

	st = hrm_maze_transform_tokens(in, tmp, tid, err);
	if (st != HRM_OK)
		return st;
	if (label != NULL)
	{
		st = hrm_maze_transform_tokens(label, out_label, tid, err);
		if (st != HRM_OK)
			return st;
	}
	memcpy(out_in, tmp, sizeof(tmp));
	if (tid_out)
		*tid_out = tid;
	return HRM_OK;
}
