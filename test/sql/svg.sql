-- hrm_grid_svg and hrm_trace_svg: the exact SVG of small grids, element
-- counts of larger ones, a trace's panels against hrm_trace's rows and an
-- independent count of the wrong cells, and the errors with their SQLSTATEs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- occurrences of a pattern (a regular expression) in a text
CREATE FUNCTION pg_temp.n(s text, pattern text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT count(*)::int FROM regexp_matches(s, pattern, 'g')
$$;

-- Grids ---------------------------------------------------------------------

-- A 2x2 ARC grid, exactly: the palette's colours 0, 1 / 2, 9, 10-pixel cells.
SELECT hrm_grid_svg('{{0,1},{2,9}}'::int[], cell_size => 10);
-- the default cell size is 32 pixels; 'arc' is the default task of an array
SELECT hrm_grid_svg('{{3,4,5}}'::int[]) = hrm_grid_svg('{{3,4,5}}'::int[], 'arc', 32) AS same,
       hrm_grid_svg('{{3,4,5}}'::int[]) LIKE '%width="100" height="36"%' AS size;
-- every colour of the palette, one rect per cell
SELECT pg_temp.n(hrm_grid_svg('{{0,1,2,3,4},{5,6,7,8,9}}'::int[]), '<rect') AS rects,
       (SELECT string_agg(m[1], ' ')
          FROM regexp_matches(hrm_grid_svg('{{0,1,2,3,4},{5,6,7,8,9}}'::int[]), 'fill="(#[0-9a-f]{6})"', 'g') m) AS fills;
-- a 30x30 grid: 900 cells
SELECT pg_temp.n(hrm_grid_svg(array_fill(7, ARRAY[30, 30])), '<rect') AS rects_30x30;

-- A Sudoku: one <text> per given, none for blanks; the board, thin and thick lines.
SELECT pg_temp.n(g, '<text') AS digits, pg_temp.n(g, '<rect') AS rects, pg_temp.n(g, '<path') AS paths,
       g LIKE '%width="292" height="292"%' AS size, g LIKE '%<title>sudoku grid, 9 x 9</title>%' AS title
  FROM (SELECT hrm_grid_svg('53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79') g) s;
-- the same Sudoku as text with layout, as int[81] and as int[9][9]
SELECT hrm_grid_svg(E'53..7....\n6..195...\n.98....6.\n8...6...3\n4..8.3..1\n7...2...6\n.6....28.\n...419..5\n....8..79')
     = hrm_grid_svg('53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79') AS text_layout,
       hrm_grid_svg(ARRAY(SELECT t - 1 FROM unnest(hrm_sudoku_encode(
                    '53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79')) t), 'sudoku')
     = hrm_grid_svg('53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79') AS int81,
       hrm_grid_svg('{{5,3,0,0,7,0,0,0,0},{6,0,0,1,9,5,0,0,0},{0,9,8,0,0,0,0,6,0},{8,0,0,0,6,0,0,0,3},{4,0,0,8,0,3,0,0,1},{7,0,0,0,2,0,0,0,6},{0,6,0,0,0,0,2,8,0},{0,0,0,4,1,9,0,0,5},{0,0,0,0,8,0,0,7,9}}'::int[], 'sudoku')
     = hrm_grid_svg('53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79') AS int9x9;

-- A maze, exactly: a 2x3 maze with a wall, S, G and a path cell.
SELECT hrm_grid_svg(E'S#G\noo ', cell_size => 10);
-- walls, S, G and path cells are rects (open cells are the board); as text, tokens
-- or a token grid it is the same picture
SELECT pg_temp.n(m, '<rect') - 2 AS cells, m LIKE '%<title>maze grid, 5 x 7</title>%' AS title,
       hrm_grid_svg(hrm_maze_encode(maze), 'maze') = m AS from_tokens
  FROM (SELECT E'#######\n#S  # #\n# # # #\n#   #G#\n#######' AS maze,
               hrm_grid_svg(E'#######\n#S  # #\n# # # #\n#   #G#\n#######') AS m) x;
SELECT hrm_grid_svg('{{1,3},{4,5}}'::int[], 'maze', 10) = hrm_grid_svg(E'#S\nGo', 'maze', 10) AS token_grid;
-- maze text with task NULL is told apart from a Sudoku
SELECT hrm_grid_svg(E'S G') LIKE '%maze grid, 1 x 3%' AS maze_detected;
-- NULL grid or cell size: NULL
SELECT hrm_grid_svg(NULL::text) IS NULL AS null_text, hrm_grid_svg(NULL::int[]) IS NULL AS null_array,
       hrm_grid_svg('{{1}}'::int[], NULL, NULL) IS NULL AS null_size;

-- Grid errors.
SELECT pg_temp.sqlstate($$SELECT hrm_grid_svg('123')$$) AS short_sudoku,                            -- 22P02
       pg_temp.sqlstate($$SELECT hrm_grid_svg(E'S#\nG', 'maze')$$) AS ragged_maze,                     -- 22P02
       pg_temp.sqlstate($$SELECT hrm_grid_svg('S G', 'sudoku')$$) AS maze_as_sudoku,                   -- 22P02
       pg_temp.sqlstate($$SELECT hrm_grid_svg('0123', 'arc')$$) AS arc_text,                           -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg('S G', 'chess')$$) AS unknown_task,                      -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{1}}'::int[], 'Arc')$$) AS case_sensitive,             -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{1}}'::int[], cell_size => 3)$$) AS cell_3,            -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{1}}'::int[], cell_size => 129)$$) AS cell_129;        -- 22023
SELECT pg_temp.sqlstate($$SELECT hrm_grid_svg('{1,2}'::int[])$$) AS arc_1d,                            -- 2202E
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{}'::int[])$$) AS arc_empty,                            -- 2202E
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{1,NULL}}'::int[])$$) AS arc_null,                     -- 22004
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{1,10}}'::int[])$$) AS arc_colour_10,                  -- 22003
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{-1}}'::int[])$$) AS arc_colour_neg,                   -- 22003
       pg_temp.sqlstate($$SELECT hrm_grid_svg(array_fill(0, ARRAY[31, 2]))$$) AS arc_31_rows,          -- 54000
       pg_temp.sqlstate($$SELECT hrm_grid_svg(array_fill(0, ARRAY[80]), 'sudoku')$$) AS sudoku_80,     -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg(array_fill(10, ARRAY[9, 9]), 'sudoku')$$) AS sudoku_10,  -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg('{{1,6}}'::int[], 'maze')$$) AS maze_token_6,            -- 22023
       pg_temp.sqlstate($$SELECT hrm_grid_svg(array_fill(0, ARRAY[900]), 'maze')$$) AS maze_all_pad;   -- 22023
SELECT hrm_grid_svg('{{1,10}}'::int[]);
SELECT hrm_grid_svg('S G', 'chess');

-- Traces --------------------------------------------------------------------

-- Random-weight models (test/fixtures, test/data): whatever they predict, the
-- picture must show hrm_trace's rows.
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('svg_sudoku', decode(:'w', 'base64'));
\set w `base64 -w0 test/data/solve_maze_tiny.safetensors`
SELECT hrm_import('svg_maze', decode(:'w', 'base64'));
\unset w

CREATE TEMP TABLE sp (puzzle text, solution text);
INSERT INTO sp VALUES ('53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79',
                       '534678912672195348198342567859761423426853791713924856961537284287419635345286179');

-- One panel per segment plus the input; the changed counts are hrm_trace's;
-- the wrong counts are the cells that differ from the solution.
CREATE TEMP TABLE st AS SELECT hrm_trace_svg('svg_sudoku', puzzle, max_steps => 5) AS svg FROM sp;
CREATE TEMP TABLE tr AS
SELECT t.segment, t.changed, t.q_halt,
       (SELECT count(*) FROM generate_series(1, 81) i
         WHERE substr(t.prediction, i, 1) <> substr(sp.solution, i, 1))::int AS wrong,
       (SELECT count(*) FROM generate_series(1, 81) i
         WHERE substr(sp.puzzle, i, 1) <> '.' AND substr(t.prediction, i, 1) <> substr(sp.solution, i, 1))::int AS wrong_givens
  FROM sp, hrm_trace('svg_sudoku', sp.puzzle, 5) t;
SELECT pg_temp.n(svg, '>segment [0-9]+<') AS segment_panels, pg_temp.n(svg, '>input<') AS input_panels,
       svg LIKE '%hrm_trace of model &quot;svg_sudoku&quot;: 5 segments%' AS header,
       svg LIKE '%>51 blanks<%' AS blanks, svg LIKE '%>solution known<%' AS known
  FROM st;
SELECT tr.segment, cap.changed = tr.changed AS changed_ok, cap.wrong = tr.wrong AS wrong_ok,
       abs(cap.q_halt - tr.q_halt) <= 0.0051 AS q_halt_ok
  FROM tr, st,
       LATERAL (SELECT m[1]::int AS seg, m[2]::float8 AS q_halt, m[3]::int AS changed, m[4]::int AS wrong
                  FROM regexp_matches(st.svg, '>segment ([0-9]+)</text>\n<text[^>]*>q_halt (-?[0-9.]+)</text>\n<text[^>]*>([0-9]+) changed, ([0-9]+) wrong<', 'g') m) cap
 WHERE cap.seg = tr.segment
 ORDER BY tr.segment;
-- the marks: a yellow cell per change, a red digit per wrong cell, in all panels together;
-- givens are black unless the model changed them (6 panels of 30 givens)
SELECT pg_temp.n(svg, 'fill="#fff0a0"') = (SELECT sum(changed) FROM tr) AS yellow_is_changed,
       pg_temp.n(svg, 'fill="#d62728"') = (SELECT sum(wrong) FROM tr) AS red_is_wrong,
       pg_temp.n(svg, '<text[^>]*fill="#000000"[^>]*>[1-9]<') + (SELECT sum(wrong_givens) FROM tr) = 6 * 30 AS givens_black,
       pg_temp.n(svg, '<text[^>]*fill="#1f5fbf"[^>]*>[1-9]<') + (SELECT sum(wrong - wrong_givens) FROM tr) = 5 * 51 AS filled_blue
  FROM st;
-- the solution given explicitly is the one the exact solver finds: the same picture but for a caption
SELECT replace(hrm_trace_svg('svg_sudoku', puzzle, solution, 5), '>solution given<', '>solution known<')
       = (SELECT svg FROM st) AS same_with_solution FROM sp;
-- a Sudoku with several solutions: no wrong cells are marked
SELECT svg LIKE '%>no unique solution<%' AS not_unique, pg_temp.n(svg, ' wrong<') AS wrong_captions,
       pg_temp.n(svg, '>[0-9]+ changed<') AS changed_captions
  FROM (SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), max_steps => 2) AS svg) x;
-- columns wraps the panels: 6 panels in rows of 4 are two rows
SELECT hrm_trace_svg('svg_sudoku', puzzle, max_steps => 5, columns => 4) LIKE '%<svg xmlns="http://www.w3.org/2000/svg" width="' ||
       (2 * 12 + 4 * 216 + 3 * 24)::text || '" height="%' AS four_per_row
  FROM sp;

-- A maze: the wrong cells are those off the breadth-first shortest path,
-- unless the prediction is a shortest path itself.
CREATE TEMP TABLE mz AS SELECT E'#######\n#S    #\n# ### #\n#   #G#\n#######'::text AS maze;
CREATE TEMP TABLE mst AS SELECT hrm_trace_svg('svg_maze', maze, max_steps => 4, halt => 'fixed') AS svg FROM mz;
CREATE TEMP TABLE mtr AS
SELECT t.segment, t.changed,
       CASE WHEN (hrm_maze_check(mz.maze, t.prediction)).shortest THEN 0
            ELSE (SELECT count(*) FROM generate_series(1, length(mz.maze)) i
                   WHERE substr(t.prediction, i, 1) <> substr(hrm_maze_solve(mz.maze), i, 1))::int END AS wrong
  FROM mz, hrm_trace('svg_maze', mz.maze, 4, 'fixed') t;
SELECT pg_temp.n(svg, '>segment [0-9]+<') AS segment_panels, svg LIKE '%>5 x 7 maze<%' AS caption,
       pg_temp.n(svg, 'stroke="#ffb000"') = (SELECT sum(changed) FROM mtr) AS frames_are_changed,
       pg_temp.n(svg, 'stroke="#d62728"') = (SELECT sum(wrong) FROM mtr) AS crosses_are_wrong
  FROM mst;
SELECT mtr.segment, cap.changed = mtr.changed AS changed_ok, cap.wrong = mtr.wrong AS wrong_ok
  FROM mtr, mst,
       LATERAL (SELECT m[1]::int AS seg, m[2]::int AS changed, m[3]::int AS wrong
                  FROM regexp_matches(mst.svg, '>segment ([0-9]+)</text>\n<text[^>]*>q_halt -?[0-9.]+</text>\n<text[^>]*>([0-9]+) changed, ([0-9]+) wrong<', 'g') m) cap
 WHERE cap.seg = mtr.segment
 ORDER BY mtr.segment;
-- the maze's own shortest path given as the solution
SELECT pg_temp.n(hrm_trace_svg('svg_maze', maze, hrm_maze_solve(maze), 2, 'fixed'), '>[0-9]+ changed, [0-9]+ wrong<') AS captions
  FROM mz;

-- Trace errors: the trace's own (unknown model, wrong task) and the drawing's.
SELECT pg_temp.sqlstate($$SELECT hrm_trace_svg('no_such_model', repeat('.', 81))$$) AS unknown_model,       -- 42704
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', E'S G')$$) AS maze_to_sudoku,                    -- 42809
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', '12')$$) AS bad_sudoku,                          -- 22P02
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), max_steps => 65)$$) AS steps_65, -- 22023
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), columns => 0)$$) AS columns_0,   -- 22023
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), cell_size => 200)$$) AS cell_200, -- 22023
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), halt => 'never')$$) AS bad_halt;  -- 22023
SELECT pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', (SELECT puzzle FROM sp), repeat('1', 80))$$) AS short_solution,  -- 22P02
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', (SELECT puzzle FROM sp), repeat('.', 81))$$) AS blank_solution,  -- 22023
       pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_maze', (SELECT maze FROM mz), E'S G')$$) AS maze_solution_shape;          -- 22023
-- a model whose default is more segments than a picture holds
SET hrm.default_max_steps = 65;
SELECT pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), max_steps => 0)$$) AS default_65;      -- 54000
RESET hrm.default_max_steps;
SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), max_steps => 65);
-- NULLs: NULL, except the solution (NULL = find it)
SELECT hrm_trace_svg(NULL, repeat('.', 81)) IS NULL AS null_model, hrm_trace_svg('svg_sudoku', NULL) IS NULL AS null_grid,
       hrm_trace_svg('svg_sudoku', repeat('.', 81), NULL, 1, 'fixed', 24, NULL) IS NULL AS null_columns;
-- a role without the model's rights gets hrm_trace's refusal
CREATE ROLE svg_stranger;
GRANT USAGE ON SCHEMA public TO svg_stranger;
SET ROLE svg_stranger;
SELECT pg_temp.sqlstate($$SELECT hrm_trace_svg('svg_sudoku', repeat('.', 81), max_steps => 1)$$) AS no_rights;   -- 42501
RESET ROLE;
REVOKE USAGE ON SCHEMA public FROM svg_stranger;

SELECT hrm_drop_model('svg_sudoku'), hrm_drop_model('svg_maze');
DROP ROLE svg_stranger;
