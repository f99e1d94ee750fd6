
-- ---------------------------------------------------------------------------
-- 20_tasks: task toolkit (Sudoku, mazes, ARC): codecs, generators, exact
-- solver, rule checkers, augmentation, ARC-AGI loader.  docs/tasks.md.
-- ---------------------------------------------------------------------------

-- Sudoku --------------------------------------------------------------------

CREATE FUNCTION hrm_sudoku_encode(puzzle text) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_sudoku_encode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_encode(text) IS
    'hrm: Sudoku text (81 cells, "." or "0" blank) to 81 tokens: blank 1, digit d -> d + 1 (vocabulary 11, PAD 0)';

CREATE FUNCTION hrm_sudoku_decode(tokens int[]) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_sudoku_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_decode(int[]) IS
    'hrm: 81 Sudoku tokens (1..10) back to 81-character text with "." for blanks';

CREATE FUNCTION hrm_sudoku_solve_exact(puzzle text) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_sudoku_solve_exact_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_solve_exact(text) IS
    'hrm: solve a Sudoku exactly (constraint propagation and backtracking): 81 digits, or NULL when there is no solution';

CREATE FUNCTION hrm_sudoku_count_solutions(puzzle text, max int DEFAULT 2) RETURNS int
    AS 'MODULE_PATHNAME', 'hrm_sudoku_count_solutions_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_count_solutions(text, int) IS
    'hrm: number of solutions of a Sudoku, counting stops at max (1 = unique with the default max 2)';

CREATE FUNCTION hrm_sudoku_check(puzzle text, answer text,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_sudoku_check_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_check(text, text) IS
    'hrm: check a Sudoku answer: valid (complete, no repeated digit in a row, column or box), keeps_givens, and the first violated rule (NULL when both hold)';

CREATE FUNCTION hrm_sudoku_generate(n int, blanks int, seed bigint)
    RETURNS TABLE (puzzle text, solution text)
    AS 'MODULE_PATHNAME', 'hrm_sudoku_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION hrm_sudoku_generate(int, int, bigint) IS
    'hrm: n random Sudokus with exactly blanks blanks and a unique solution (checked by the exact solver); the same seed gives the same rows';

CREATE FUNCTION hrm_sudoku_generate(n int, min_blanks int, max_blanks int, seed bigint)
    RETURNS TABLE (puzzle text, solution text)
    AS 'MODULE_PATHNAME', 'hrm_sudoku_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION hrm_sudoku_generate(int, int, int, bigint) IS
    'hrm: n random uniquely solvable Sudokus, each with a blank count drawn uniformly from min_blanks..max_blanks; deterministic for a seed';

CREATE FUNCTION hrm_sudoku_augment(puzzle text, solution text, seed bigint,
                                   OUT puzzle text, OUT solution text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_sudoku_augment_pg'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_augment(text, text, bigint) IS
    'hrm: the reference Sudoku augmentation drawn from seed (digit relabel, transpose, band/row and stack/column shuffles) applied to a puzzle and its solution (which may be NULL)';

CREATE FUNCTION hrm_sudoku_augment_inverse(grid text, seed bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_sudoku_augment_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_augment_inverse(text, bigint) IS
    'hrm: undo the augmentation of hrm_sudoku_augment with the same seed, on any 81-cell grid (puzzle, solution or a model answer)';

CREATE FUNCTION hrm_sudoku_augmentation(seed bigint,
                                        OUT digit_map int[], OUT transpose boolean,
                                        OUT row_perm int[], OUT col_perm int[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_sudoku_augmentation_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_augmentation(bigint) IS
    'hrm: the augmentation a seed stands for: digit d becomes digit_map[d]; transpose first; new row i (column j) takes old row row_perm[i] (column col_perm[j]); 1-based';

-- Mazes ---------------------------------------------------------------------

CREATE FUNCTION hrm_maze_encode(maze text) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_maze_encode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_encode(text) IS
    'hrm: maze text (rows over "# SGo" joined by newlines, up to 30x30) to 900 tokens (# 1, space 2, S 3, G 4, o 5), the maze in the top-left corner of a 30x30 PAD (0) canvas';

CREATE FUNCTION hrm_maze_decode(tokens int[]) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_decode(int[]) IS
    'hrm: 900 maze tokens back to maze text; the shape comes from the PAD border';

CREATE FUNCTION hrm_maze_decode(tokens int[], size int) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_decode(int[], int) IS
    'hrm: 900 maze tokens back to maze text, requiring a size x size maze';

CREATE FUNCTION hrm_maze_solve(maze text) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_solve_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_solve(text) IS
    'hrm: the maze with a shortest S-to-G path (BFS) marked "o", or NULL when G cannot be reached';

CREATE FUNCTION hrm_maze_path_length(maze text) RETURNS int
    AS 'MODULE_PATHNAME', 'hrm_maze_path_length_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_path_length(text) IS
    'hrm: cells on a shortest S-to-G path, S and G included (steps + 1), or NULL when G cannot be reached';

CREATE FUNCTION hrm_maze_check(maze text, answer text,
                               OUT valid boolean, OUT shortest boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_maze_check_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_check(text, text) IS
    'hrm: check a maze answer: valid (walls, S and G unchanged; the "o" cells join S to G with none stray), shortest (as short as a BFS path), and the first violated rule (NULL when both hold)';

CREATE FUNCTION hrm_maze_generate(n int, size int, min_path_length int, seed bigint)
    RETURNS TABLE (maze text, solution text)
    AS 'MODULE_PATHNAME', 'hrm_maze_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION hrm_maze_generate(int, int, int, bigint) IS
    'hrm: n random size x size mazes (Lehnert et al.: 30-50% random walls, random S and G) whose shortest path has at least min_path_length cells, with that path marked "o"; deterministic for a seed';

CREATE FUNCTION hrm_maze_transform(maze text, tid int) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_transform_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_transform(text, int) IS
    'hrm: dihedral transform tid (0..7, reference ids) of maze text';

CREATE FUNCTION hrm_maze_transform_inverse(maze text, tid int) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_transform_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_transform_inverse(text, int) IS
    'hrm: undo hrm_maze_transform(maze, tid)';

-- Grids and ARC -------------------------------------------------------------

CREATE FUNCTION hrm_grid_transform(grid int[], tid int) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_grid_transform_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_grid_transform(int[], int) IS
    'hrm: dihedral transform of a 2-D grid: 0 identity, 1/2/3 rotate 90/180/270 degrees counter-clockwise, 4 left-right flip, 5 up-down flip, 6 transpose, 7 anti-transpose';

CREATE FUNCTION hrm_grid_transform_inverse(grid int[], tid int) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_grid_transform_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_grid_transform_inverse(int[], int) IS
    'hrm: undo hrm_grid_transform(grid, tid): applies transform [0,3,2,1,4,5,6,7][tid]';

CREATE FUNCTION hrm_arc_permute_colors(grid int[], colors int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_permute_colors_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_permute_colors(int[], int[]) IS
    'hrm: recolour an ARC grid: colour c becomes colors[c + 1]; colors is a permutation of 0..9';

CREATE FUNCTION hrm_arc_color_perm_inverse(colors int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_color_perm_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_color_perm_inverse(int[]) IS
    'hrm: the inverse of a colour permutation (for undoing hrm_arc_permute_colors)';

CREATE FUNCTION hrm_arc_encode(grid int[], row_offset int DEFAULT 0, col_offset int DEFAULT 0)
    RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_encode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_encode(int[], int, int) IS
    'hrm: ARC grid to 900 tokens (PAD 0, EOS 1, colour c -> c + 2) on a 30x30 canvas at the given 0-based offset, with the EOS row below and EOS column right of the grid where they fit';

CREATE FUNCTION hrm_arc_decode(tokens int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_decode(int[]) IS
    'hrm: the exact inverse of hrm_arc_encode (at any offset); any other token sequence is an error';

CREATE FUNCTION hrm_arc_crop(tokens int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_crop_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_crop(int[]) IS
    'hrm: read a predicted ARC grid as the reference evaluator does (largest top-left rectangle of colour tokens); NULL when empty';

CREATE FUNCTION hrm_arc_augment(input int[], output int[], seed bigint,
                                OUT input int[], OUT output int[],
                                OUT transform int, OUT colors int[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_arc_augment_pg'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_augment(int[], int[], bigint) IS
    'hrm: the reference ARC augmentation drawn from seed (a dihedral transform and a permutation of colours 1..9) applied to an input grid and its output (which may be NULL)';

CREATE FUNCTION hrm_arc_load(task jsonb, task_id text DEFAULT NULL)
    RETURNS TABLE (task_id text, split text, pair_index int, input int[], output int[])
    AS 'MODULE_PATHNAME', 'hrm_arc_load_pg'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION hrm_arc_load(jsonb, text) IS
    'hrm: the pairs of an ARC-AGI task ({"train": [...], "test": [...]} or the {"id": ..., "task": {...}} wrapper) as rows; pair_index is 0-based; output is NULL for test pairs without one';

CREATE FUNCTION hrm_arc_generate(n_tasks int, seed bigint, train_pairs int DEFAULT 3,
                                 test_pairs int DEFAULT 1, max_side int DEFAULT 10,
                                 families text[] DEFAULT '{}')
    RETURNS TABLE (task_id text, split text, pair_index int, input int[], output int[],
                   family text, rule text)
    AS 'MODULE_PATHNAME', 'hrm_arc_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 400;
COMMENT ON FUNCTION hrm_arc_generate(int, bigint, int, int, int, text[]) IS
    'hrm: n_tasks synthetic tasks in ARC''s format, each a rule of one family (dihedral, recolor, gravity, scale, tile, crop, border, fill, shift, extend, majority; {} = all) with train_pairs and test_pairs fresh inputs of 3..max_side rows and columns; the columns of hrm_arc_load plus family and rule; task k depends only on (seed, k) and the other arguments';
