/*
 * maze.h — the maze task: text and token codecs, BFS shortest paths, the
 * rule checker, a generator following Lehnert et al. (the recipe behind
 * the reference's Maze-Hard set) and dihedral augmentation on tokens.
 *
 * Cells hold token values: '#' wall 1, ' ' open 2, 'S' start 3, 'G' goal 4,
 * 'o' path 5 (hrm-reference §3.3; PAD 0, vocabulary 6).
 *
 * Text: rows of equal length joined with '\n' (a trailing newline and CR
 * before LF are accepted), at most 30 rows of at most 30 characters.
 *
 * Tokens: always 900 = 30 x 30, row-major.  The reference only has 30x30
 * mazes; a smaller rows x cols maze sits in the top-left corner of the
 * 30 x 30 canvas and every other cell is PAD (0).  Decoding recovers the
 * shape from the PAD border, and rejects anything encode would not write.
 *
 * Path length is counted in cells, S and G included (Lehnert's plan
 * length); steps = cells - 1.
 */
#ifndef HRM_MAZE_H
#define HRM_MAZE_H

#include "hrm_common.h"
#include "rng.h"

#define HRM_MAZE_MAX		30
#define HRM_MAZE_SEQ		900
#define HRM_MAZE_VOCAB		6

enum
{
	HRM_MAZE_PAD = 0,
	HRM_MAZE_WALL = 1,
	HRM_MAZE_OPEN = 2,
	HRM_MAZE_START = 3,
	HRM_MAZE_GOAL = 4,
	HRM_MAZE_PATH = 5
};

typedef struct hrm_maze
{
	int			rows;
	int			cols;
	uint8_t		cell[HRM_MAZE_SEQ];	/* row-major, stride cols; token values 1..5 */
} hrm_maze;

/* Character of a cell value ('#', ' ', 'S', 'G', 'o'; '?' otherwise). */
char		hrm_maze_char(int value);

/*
 * Parse maze text.  HRM_ERR_FORMAT for a character outside "# SGo" (with
 * its row, column and byte position) or rows of different lengths;
 * HRM_ERR_LIMIT for more than 30 rows or columns; HRM_ERR_SHAPE for an
 * empty text.
 */
hrm_status	hrm_maze_parse(const char *text, size_t len, hrm_maze *m, hrm_error *err);

/*
 * Format as rows joined with '\n' (no trailing newline) plus a NUL:
 * needs rows * (cols + 1) bytes.  Returns the length without the NUL.
 */
size_t		hrm_maze_format(const hrm_maze *m, char *out);

/* 900 tokens: the maze in the top-left corner, PAD elsewhere. */
void		hrm_maze_to_tokens(const hrm_maze *m, int32_t tokens[HRM_MAZE_SEQ]);

/*
 * 900 tokens back to a maze.  size > 0 requires a size x size maze;
 * size 0 takes the shape from the PAD border.  HRM_ERR_SHAPE for a
 * length other than 900 or a shape mismatch, HRM_ERR_FORMAT for a token
 * outside 0..5 or PAD inside / a cell outside the maze rectangle.
 */
hrm_status	hrm_maze_from_tokens(const int32_t *tokens, size_t n, int size,
								 hrm_maze *m, hrm_error *err);

/*
 * Locate the single S and G of a question maze (no 'o' cells).
 * HRM_ERR_INVALID when there is not exactly one of each, or a path cell.
 */
hrm_status	hrm_maze_endpoints(const hrm_maze *m, int *start, int *goal, hrm_error *err);

/*
 * Shortest S->G path by BFS (4-neighbour).  *length receives the path
 * length in cells (0 when G is unreachable).  When solved is not NULL it
 * receives the maze with the path's inner cells marked 'o' (S and G keep
 * their letters); unchanged when unreachable.  Ties between shortest
 * paths are broken the same way every time (neighbour order up, down,
 * left, right from S).
 */
hrm_status	hrm_maze_solve(const hrm_maze *m, hrm_maze *solved, int *length, hrm_error *err);

typedef struct hrm_maze_verdict
{
	bool		valid;			/* walls/S/G unchanged; the 'o' cells join S to G, none stray */
	bool		shortest;		/* valid and as short as a shortest path */
	int			length;			/* cells on the answer's path (S and G included); 0 if invalid */
	int			shortest_length;	/* BFS length in cells; 0 if unreachable */
	char		reason[128];	/* first violated rule; "" when valid and shortest */
} hrm_maze_verdict;

/*
 * Check an answer against a question maze.  The maze must be a valid
 * question (HRM_ERR_INVALID otherwise); the verdict covers everything
 * about the answer, including a different shape.
 */
hrm_status	hrm_maze_check(const hrm_maze *maze, const hrm_maze *answer,
						   hrm_maze_verdict *verdict, hrm_error *err);

/*
 * Generator (Lehnert et al.): shuffle the size x size cells and make the
 * first k walls, k uniform in ceil(0.3 * cells)..floor(0.5 * cells)
 * (270..450 for 30x30); up to 100 times pick S
 * and G as two distinct random free cells and keep the first pair whose
 * shortest path has at least min_length cells.  One maze per wall layout.
 * Tries up to max_layouts layouts; HRM_ERR_LIMIT if none qualified (the
 * generator state then continues exactly where it stopped, so calling
 * again with the remaining budget gives the same result as one call).
 * HRM_ERR_INVALID for size outside 2..30 or min_length outside
 * 0..cells - ceil(0.3 * cells) (a path cannot be longer than the free
 * cells); lengths up to 2 accept any reachable pair.  *layouts (may be NULL) receives the layouts used.
 */
hrm_status	hrm_maze_generate(hrm_rng *rng, int size, int min_length, int max_layouts,
							  hrm_maze *maze, hrm_maze *solution, int *length,
							  int *layouts, hrm_error *err);

/*
 * Dihedral transform (grid.h ids) of the maze inside a 900-token
 * sequence: the rows x cols maze in the top-left corner becomes a
 * transformed maze in the top-left corner, PAD elsewhere.  Labels use the
 * same shape, so the same call transforms an input and its label.
 */
hrm_status	hrm_maze_transform_tokens(const int32_t *in, int32_t *out, int tid,
									  hrm_error *err);

/*
 * Training entry point: draw a transform id uniformly from 0..7 and apply
 * it to an input sequence and its label (label may be NULL).  *tid_out
 * (may be NULL) receives the id; hrm_dihedral_inverse(tid) maps a
 * prediction back.
 */
hrm_status	hrm_maze_augment_tokens(const int32_t *in, const int32_t *label,
									int32_t *out_in, int32_t *out_label,
									hrm_rng *rng, int *tid_out, hrm_error *err);

#endif							/* HRM_MAZE_H */
