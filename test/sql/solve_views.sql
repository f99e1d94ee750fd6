-- Test-time scaling (views => N) and batched solving (hrm_solve_batch):
-- views => 1 is the single pass of before, the vote follows its rule
-- (reproduced view by view for mazes), batches answer what one-by-one
-- solves answer in input order, and bad input gives its SQLSTATE.
--
-- The models have random weights: the checks are properties that hold for
-- any weights, and equalities with other ways of computing the same answer.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('sv_sudoku', decode(:'w', 'base64'));
\set w `base64 -w0 test/data/solve_maze_tiny.safetensors`
SELECT hrm_import('sv_maze', decode(:'w', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
SELECT hrm_import('sv_generic', decode(:'w', 'base64'));
\unset w

CREATE TEMP TABLE sud (id int PRIMARY KEY, puzzle text);
INSERT INTO sud VALUES
    (1, '3.....79..591..3...473..6..5..842.797..96.4.398.7..2656.54.1.374..53.9....86...24'),
    (2, '4.32......694.....57.13.4..2.1863.....59.2831.8..142..9.4..1..61563489...2.....1.'),
    (3, '..3....4684.....2....4.9..1.983..6.7..7.914.....8..19.3...4796...9685....5..3....'),
    (4, '8.9..3.71.328.75.467415.938213784..9.86......9...16....6.321.95.25.4871.491..5823'),
    (5, '53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79');
-- near-complete puzzles too (some tiny-model answers may then be valid)
INSERT INTO sud SELECT 5 + row_number() OVER (), puzzle FROM hrm_sudoku_generate(5, 2, 7);

-- views => 1 is the single pass: the argmax of hrm_forward's last segment
CREATE TEMP TABLE fwd AS
SELECT s.id,
       (SELECT string_agg(a.d::text, '' ORDER BY i)
          FROM generate_series(1, 81) i,
               LATERAL (SELECT t - 2 AS d FROM generate_series(3, 11) t
                         ORDER BY f.logits[i][t] DESC, t LIMIT 1) a) AS argmax,
       f.q_halt
  FROM sud s CROSS JOIN LATERAL hrm_forward('sv_sudoku', hrm_sudoku_encode(s.puzzle)) f
 WHERE f.segment = 16;
CREATE TEMP TABLE one AS
SELECT s.id, s.puzzle, d.* FROM sud s CROSS JOIN LATERAL hrm_solve_detail('sv_sudoku', s.puzzle, views => 1) d;
SELECT count(*) AS puzzles,
       bool_and(o.solution = f.argmax) AS views_1_is_forward_argmax,
       bool_and(o.solution = hrm_solve('sv_sudoku', o.puzzle)) AS default_is_views_1,
       bool_and(o.solution = hrm_solve('sv_sudoku', o.puzzle, views => 1)) AS hrm_solve_views_1,
       bool_and(abs(o.confidence - 1 / (1 + exp(-f.q_halt))) < 1e-6) AS confidence_is_sigmoid_q_halt,
       bool_and(o.views_run = 1 AND o.views_agreeing = 1 AND o.segments = 16) AS one_view_ran,
       bool_and(o.certainty > 1.0 / 9 AND o.certainty <= 1) AS certainty_in_range
  FROM one o JOIN fwd f USING (id);

-- views => 8: the detail columns
CREATE TEMP TABLE eight AS
SELECT s.id, s.puzzle, d.* FROM sud s CROSS JOIN LATERAL hrm_solve_detail('sv_sudoku', s.puzzle, views => 8) d;
SELECT e.id, e.views_run, e.views_agreeing BETWEEN 1 AND 8 AS agreeing_1_to_8, e.segments,
       e.solution ~ '^[1-9]{81}$' AS digits_only,
       e.confidence > 0 AND e.confidence < 1 AS confidence_in_0_1,
       e.certainty > 1.0 / 9 AND e.certainty <= 1 AS certainty_in_range,
       (e.valid, e.keeps_givens, e.reason) IS NOT DISTINCT FROM (c.valid, c.keeps_givens, c.reason) AS verdict_is_checker,
       -- valid first: a rule-valid single pass stays rule-valid with more views
       NOT (o.valid AND o.keeps_givens) OR (e.valid AND e.keeps_givens) AS valid_kept,
       -- all views agree: then it is view 0's answer
       e.views_agreeing < 8 OR e.solution = o.solution AS unanimous_is_view_0,
       e.solution = hrm_solve('sv_sudoku', e.puzzle, views => 8) AS hrm_solve_same
  FROM eight e JOIN one o USING (id) CROSS JOIN LATERAL hrm_sudoku_check(e.puzzle, e.solution) c ORDER BY e.id;
-- reproducible, and the int[] grids give the same answers
SELECT bool_and(e.solution = (hrm_solve_detail('sv_sudoku', e.puzzle, views => 8)).solution) AS reproducible,
       bool_and(array_to_string(hrm_solve('sv_sudoku',
                    (SELECT array_agg(CASE c WHEN '.' THEN 0 ELSE c::int END ORDER BY k)
                       FROM unnest(string_to_array(e.puzzle, NULL)) WITH ORDINALITY u(c, k)), views => 8), '') = e.solution)
           AS int_array_same
  FROM eight e;
-- more views never lose a rule-valid answer that fewer views found (2 segments, to keep it quick)
SELECT count(*) AS puzzles, bool_and(NOT (a.valid AND a.keeps_givens) OR (b.valid AND b.keeps_givens)) AS valid_kept_8_to_64,
       bool_and(b.views_run = 64 AND b.views_agreeing BETWEEN a.views_agreeing AND 64 - 8 + a.views_agreeing) AS sixty_four_views,
       sum((a.valid AND a.keeps_givens)::int) AS valid_with_8, sum((b.valid AND b.keeps_givens)::int) AS valid_with_64
  FROM sud s, LATERAL hrm_solve_detail('sv_sudoku', s.puzzle, 2, views => 8) a,
       LATERAL hrm_solve_detail('sv_sudoku', s.puzzle, 2, views => 64) b
 WHERE s.id > 5;

-- Mazes: the 8 views are the 8 dihedral transforms; each view's answer and
-- certainty are reproduced by solving the transformed maze alone, and the
-- vote by SQL: rule-valid answers first, then the most views, then the
-- highest certainty.
CREATE TEMP TABLE maz (id int PRIMARY KEY, maze text);
INSERT INTO maz VALUES
    (1, translate('G_____
#__S_#
#_##_#
_#_##_
__##__
__##_#', '_', ' ')),
    (2, translate('S______
#####__
_______
__####_
______G', '_', ' ')),
    (3, (SELECT maze FROM hrm_maze_generate(1, 30, 40, 5)));
CREATE TEMP TABLE mview AS
SELECT m.id, t AS tid,
       hrm_maze_transform_inverse(d.solution, t) AS answer, d.certainty,
       d.valid AND d.keeps_givens AS ok
  FROM maz m, generate_series(0, 7) t,
       LATERAL hrm_solve_detail('sv_maze', hrm_maze_transform(m.maze, t)) d;
CREATE TEMP TABLE mvote AS
SELECT DISTINCT ON (id) id, answer, n AS agreeing
  FROM (SELECT id, answer, bool_or(ok) AS ok, count(*) AS n, max(certainty) AS best
          FROM mview GROUP BY id, answer) g
 WHERE ok OR NOT EXISTS (SELECT 1 FROM mview v WHERE v.id = g.id AND v.ok)
 ORDER BY id, n DESC, best DESC;
CREATE TEMP TABLE meight AS
SELECT m.id, m.maze, d.* FROM maz m CROSS JOIN LATERAL hrm_solve_detail('sv_maze', m.maze, views => 8) d;
SELECT e.id, e.views_run, e.views_agreeing, e.solution = v.answer AS vote_reproduced,
       e.views_agreeing = v.agreeing AS agreeing_reproduced,
       length(e.solution) = length(e.maze) AS same_shape,
       e.valid = (c.valid AND c.shortest) AS valid_is_checker,
       e.solution = hrm_solve('sv_maze', e.maze, views => 8) AS hrm_solve_same
  FROM meight e JOIN mvote v USING (id) CROSS JOIN LATERAL hrm_maze_check(e.maze, e.solution) c ORDER BY e.id;
SELECT bool_and(d.solution = hrm_solve('sv_maze', m.maze)) AS maze_views_1_unchanged
  FROM maz m CROSS JOIN LATERAL hrm_solve_detail('sv_maze', m.maze, views => 1) d;

-- Batches ---------------------------------------------------------------------

-- text[]: one row per grid in input order, what one-by-one solves give
CREATE TEMP TABLE many AS
SELECT g AS id, translate(s.puzzle, '123456789', substr('123456789123456789', g % 9 + 1, 9)) AS puzzle
  FROM generate_series(1, 300) g JOIN sud s ON s.id = g % 10 + 1;
-- (300 grids of one segment: two engine calls of 256 and 44 rows)
CREATE TEMP TABLE b1 AS
SELECT * FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(puzzle ORDER BY id) FROM many), 1);
SELECT count(*) AS rows, min(idx) AS first, max(idx) AS last,
       bool_and(b.solution = hrm_solve('sv_sudoku', m.puzzle, 1)) AS equals_one_by_one,
       bool_and((b.solution, b.segments, b.valid, b.keeps_givens, b.reason, b.views_run, b.views_agreeing)
                IS NOT DISTINCT FROM (d.solution, d.segments, d.valid, d.keeps_givens, d.reason, d.views_run, d.views_agreeing))
           AS equals_detail,
       max(abs(b.confidence - d.confidence)) < 1e-5 AS confidence_close,
       max(abs(b.certainty - d.certainty)) < 1e-5 AS certainty_close
  FROM b1 b JOIN many m ON m.id = b.idx CROSS JOIN LATERAL hrm_solve_detail('sv_sudoku', m.puzzle, 1) d;
-- rows come out in input order (a reversed array gives reversed rows)
SELECT bool_and(b.solution = hrm_solve('sv_sudoku', m.puzzle)) AS reversed_input_order
  FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(puzzle ORDER BY id DESC) FROM many WHERE id <= 7)) b
  JOIN many m ON m.id = 8 - b.idx;
-- with views (64 views: four puzzles per engine call, three calls; 2 segments) and adaptive halting
SELECT count(*) AS rows,
       bool_and((b.solution, b.segments, b.views_run, b.views_agreeing, b.valid)
                IS NOT DISTINCT FROM (d.solution, d.segments, d.views_run, d.views_agreeing, d.valid)) AS views_64_equal
  FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(puzzle ORDER BY id) FROM sud), 2, views => 64) b
  JOIN sud s ON s.id = b.idx CROSS JOIN LATERAL hrm_solve_detail('sv_sudoku', s.puzzle, 2, views => 64) d;
SELECT count(*) AS rows, bool_and(b.segments = d.segments AND b.solution = d.solution) AS adaptive_equal,
       bool_and(b.segments <= 5) AS capped
  FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(puzzle ORDER BY id) FROM sud), 5, 'adaptive') b
  JOIN sud s ON s.id = b.idx CROSS JOIN LATERAL hrm_solve_detail('sv_sudoku', s.puzzle, 5, 'adaptive') d;
-- mazes
SELECT count(*) AS rows, bool_and(b.solution = hrm_solve('sv_maze', m.maze, views => 8)) AS maze_batch_equal
  FROM hrm_solve_batch('sv_maze', (SELECT array_agg(maze ORDER BY id) FROM maz), views => 8) b JOIN maz m ON m.id = b.idx;

-- int[]: int[n][81] and int[n][9][9]; each answer has a grid's shape
CREATE TEMP TABLE ints AS
SELECT id, puzzle, (SELECT array_agg(CASE c WHEN '.' THEN 0 ELSE c::int END ORDER BY k)
                      FROM unnest(string_to_array(puzzle, NULL)) WITH ORDINALITY u(c, k)) AS flat
  FROM sud;
SELECT count(*) AS rows, min(array_dims(b.solution)) AS dims,
       bool_and(b.solution = hrm_solve('sv_sudoku', i.flat)) AS flat_equal
  FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(flat ORDER BY id) FROM ints)) b JOIN ints i ON i.id = b.idx;
SELECT count(*) AS rows, min(array_dims(b.solution)) AS dims,
       bool_and(array_to_string(b.solution, '') = hrm_solve('sv_sudoku', i.puzzle, 2, views => 8)) AS grid_equal
  FROM hrm_solve_batch('sv_sudoku',
                       (SELECT array_agg(ARRAY(SELECT flat[r * 9 + 1 : r * 9 + 9] FROM generate_series(0, 8) r) ORDER BY id)
                          FROM ints), 2, views => 8) b
  JOIN ints i ON i.id = b.idx;
SELECT count(*) AS rows, bool_and(b.solution = hrm_solve('sv_generic', g.t)) AS tokens_equal
  FROM (SELECT k, (SELECT array_agg((i * 7 + k) % 12 ORDER BY i) FROM generate_series(1, 100) i) AS t
          FROM generate_series(1, 3) k) g
  JOIN hrm_solve_batch('sv_generic', (SELECT array_agg((SELECT array_agg((i * 7 + k) % 12 ORDER BY i)
                                                           FROM generate_series(1, 100) i) ORDER BY k)
                                         FROM generate_series(1, 3) k)) b ON b.idx = g.k;

-- a query (or a table) of (id, puzzle) rows, read chunk by chunk, in its order
SELECT count(*) AS rows, bool_and(b.solution = hrm_solve('sv_sudoku', m.puzzle, 1)) AS query_equal,
       bool_and(b.ordinality = 301 - b.id) AS in_query_order
  FROM hrm_solve_batch('sv_sudoku', 'SELECT id, puzzle FROM many ORDER BY id DESC', 1) WITH ORDINALITY b
  JOIN many m USING (id);
SELECT bool_and(b.ordinality = b.idx) AS array_order
  FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(puzzle ORDER BY id) FROM many WHERE id <= 20), 1) WITH ORDINALITY b;
SELECT count(*) AS rows, bool_and(b.solution = hrm_solve('sv_sudoku', s.puzzle)) AS table_equal
  FROM hrm_solve_batch('sv_sudoku', 'sud') b JOIN sud s USING (id);
SELECT count(*) AS rows, bool_and(b.solution::int[] = hrm_solve('sv_sudoku', i.flat, 2, views => 8)) AS int_query_equal
  FROM hrm_solve_batch('sv_sudoku', 'SELECT id::bigint, flat FROM ints', 2, views => 8) b JOIN ints i USING (id);
SELECT b.id IS NULL AS null_id_kept, b.solution = hrm_solve('sv_sudoku', s.puzzle) AS solved
  FROM hrm_solve_batch('sv_sudoku', 'SELECT NULL::int, puzzle FROM sud WHERE id = 1') b, sud s WHERE s.id = 1;
-- the query may itself solve: the model is found again after every fetch
SELECT count(*) AS rows, bool_and(b.solution = hrm_solve('sv_sudoku', s.puzzle)) AS nested_equal
  FROM hrm_solve_batch('sv_sudoku', 'SELECT id, puzzle, hrm_solve(''sv_maze'', (SELECT maze FROM maz WHERE maz.id = 1)) FROM sud') b
  JOIN sud s USING (id);
-- STRICT; empty input
SELECT count(*) AS null_rows FROM hrm_solve_batch('sv_sudoku', NULL::text[]);
SELECT count(*) AS empty_rows FROM hrm_solve_batch('sv_sudoku', '{}'::text[]);
SELECT count(*) AS empty_int_rows FROM hrm_solve_batch('sv_sudoku', '{}'::int[]);
SELECT count(*) AS empty_query_rows FROM hrm_solve_batch('sv_sudoku', 'SELECT 1, puzzle FROM sud WHERE false');

-- hrm_evaluate with views: the same batched path (two segments); the task
-- comes from the model's layout
CREATE TEMP TABLE evalset AS
SELECT puzzle, solution, hrm_sudoku_encode(puzzle) AS input, hrm_sudoku_encode(solution) AS target
  FROM hrm_sudoku_generate(20, 3, 11);
SELECT e1."rows", e1.exact_accuracy = e0.exact_accuracy AND e1.token_accuracy = e0.token_accuracy AS views_1_unchanged,
       e8."rows" AS rows_8, e8.mean_segments AS segments_8,
       e8.exact_accuracy = (SELECT avg((hrm_solve('sv_sudoku', puzzle, 2, views => 8) = solution)::int) FROM evalset)
           AS exact_8_is_hrm_solve_views_8,
       e0.exact_accuracy = (SELECT avg((hrm_solve('sv_sudoku', puzzle, 2) = solution)::int) FROM evalset)
           AS exact_1_is_hrm_solve
  FROM hrm_evaluate('sv_sudoku', 'SELECT input, target FROM evalset', '{"segments": 2}') e0,
       hrm_evaluate('sv_sudoku', 'SELECT input, target FROM evalset', '{"segments": 2, "views": 1}') e1,
       hrm_evaluate('sv_sudoku', 'SELECT input, target FROM evalset', '{"segments": 2, "views": 8, "batch_rows": 20}') e8;

-- Errors -------------------------------------------------------------------------

SELECT pg_temp.sqlstate($$SELECT hrm_solve('sv_sudoku', repeat('.', 81), views => 0)$$) AS views_0,
       pg_temp.sqlstate($$SELECT hrm_solve('sv_sudoku', repeat('.', 81), views => 65)$$) AS views_65,
       pg_temp.sqlstate($$SELECT hrm_solve('sv_sudoku', repeat('.', 81), views => 64)$$) AS views_64,
       pg_temp.sqlstate($$SELECT hrm_solve_detail('sv_sudoku', repeat('.', 81), views => -1)$$) AS detail_views_minus_1,
       pg_temp.sqlstate($$SELECT hrm_solve('sv_maze', (SELECT maze FROM maz WHERE id = 1), views => 9)$$) AS maze_views_9,
       pg_temp.sqlstate($$SELECT hrm_solve('sv_maze', hrm_maze_encode((SELECT maze FROM maz WHERE id = 1)), views => 2)$$)
           AS maze_tokens_views_2,
       pg_temp.sqlstate($$SELECT hrm_solve('sv_generic', array_fill(1, ARRAY[100]), views => 2)$$) AS generic_views_2,
       pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('sv_sudoku', 'SELECT input, target FROM evalset', '{"views": 65}')$$) AS evaluate_views_65,
       pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('sv_generic', 'SELECT array_fill(1, ARRAY[100]), array_fill(1, ARRAY[100])', '{"views": 2}')$$)
           AS evaluate_generic_views_2;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81), NULL])$$) AS null_text_grid,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[array_fill(0, ARRAY[81]), array_fill(NULL::int, ARRAY[81])])$$)
           AS null_cell,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', array_fill(0, ARRAY[81]))$$) AS one_dimensional_int,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', array_fill(0, ARRAY[2, 80]))$$) AS int_2x80,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[[repeat('.', 81)]])$$) AS text_2d,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81), repeat('.', 80)])$$) AS short_grid,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81)], views => 65)$$) AS batch_views_65,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81)], halt => 'never')$$) AS batch_bad_halt,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_nothing', ARRAY[repeat('.', 81)])$$) AS unknown_model,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[(SELECT maze FROM maz WHERE id = 1)])$$) AS maze_to_sudoku;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT puzzle, id FROM sud')$$) AS text_id,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT id FROM sud')$$) AS one_column,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT id, id FROM sud')$$) AS integer_grid,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT id, NULL::text FROM sud')$$) AS null_grid,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT id, puzzle FROM sud FOR UPDATE')$$) AS locking_query,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'no_such_table')$$) AS no_table,
       pg_temp.sqlstate($$SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT id, puzzle FROM')$$) AS syntax;
-- the messages name the grid
SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81), repeat('.', 81), repeat('.', 80)]);
SELECT * FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81), NULL]);
SELECT * FROM hrm_solve_batch('sv_sudoku', 'SELECT id, CASE WHEN id = 3 THEN ''x'' ELSE puzzle END FROM sud ORDER BY id');
SELECT * FROM hrm_solve_batch('sv_sudoku', array_fill(0, ARRAY[81]));
SELECT hrm_solve('sv_maze', (SELECT maze FROM maz WHERE id = 1), views => 9);
SELECT hrm_solve('sv_generic', array_fill(1, ARRAY[100]), views => 2);
SELECT hrm_solve('sv_sudoku', repeat('.', 81), views => 65);
-- errors leave nothing behind
SELECT bool_and(hrm_solve('sv_sudoku', puzzle, views => 8) = solution) AS still_same FROM eight WHERE id <= 3;

-- Cancellation: interrupts are checked between segments and chunks
CREATE TEMP TABLE cancelled (what text, state text, elapsed interval);
SET statement_timeout = '200ms';
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM count(*) FROM hrm_solve_batch('sv_sudoku', ARRAY[repeat('.', 81)], max_steps => 65536, views => 8);
    INSERT INTO cancelled VALUES ('one long batch', 'finished', clock_timestamp() - t0);
EXCEPTION WHEN query_canceled THEN
    INSERT INTO cancelled VALUES ('one long batch', SQLSTATE, clock_timestamp() - t0);
END $$;
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM count(*) FROM hrm_solve_batch('sv_sudoku', 'SELECT g, repeat(''.'', 81) FROM generate_series(1, 10000000) g');
    INSERT INTO cancelled VALUES ('a long query', 'finished', clock_timestamp() - t0);
EXCEPTION WHEN query_canceled THEN
    INSERT INTO cancelled VALUES ('a long query', SQLSTATE, clock_timestamp() - t0);
END $$;
RESET statement_timeout;
SELECT what, state, elapsed >= interval '150 ms' AS ran_until_timeout,
       elapsed < interval '3 seconds' AS stopped_promptly
  FROM cancelled ORDER BY what;
SELECT count(*) AS works_after_cancel FROM hrm_solve_batch('sv_sudoku', (SELECT array_agg(puzzle) FROM sud), 2, views => 8);

SELECT hrm_drop_model(name) FROM hrm.model WHERE name LIKE 'sv\_%' ORDER BY name;
