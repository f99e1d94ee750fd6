-- hrm_solve, hrm_solve_detail, hrm_trace: answers in the input's form, the
-- same argmax as hrm_forward's segments, halting modes, defaults from GUCs,
-- errors with their SQLSTATEs, parallel workers and cancellation.
--
-- The models have random weights, so their answers are whatever they
-- predict: the checks are properties that hold for any weights, and the
-- equality with the argmax of hrm_forward's logits (the real correctness
-- check of the decoding).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- Models: sudoku-tiny has the Sudoku layout (vocab 11, seq 81); test/data
-- has a tiny maze-shaped model (vocab 6, seq 900); grid-puzzle-ids (vocab
-- 12, seq 100) is a generic token model, and with seq_len 900 it has the
-- ARC layout.
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('solve_sudoku', decode(:'w', 'base64'));
\set w `base64 -w0 test/data/solve_maze_tiny.safetensors`
SELECT hrm_import('solve_maze', decode(:'w', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
SELECT hrm_import('solve_generic', decode(:'w', 'base64'));
SELECT hrm_import('solve_tagged', decode(:'w', 'base64'), task => 'scheduling');
SELECT hrm_import('solve_arc', decode(:'w', 'base64'),
                  (hrm_safetensors_metadata(decode(:'w', 'base64'))->>'hrm_config')::jsonb || '{"seq_len": 900}');
\unset w

-- The task follows the layout, else the catalog's task, else generic.
SELECT name, task AS catalog_task, hrm_solve_task(name) AS solve_task
  FROM hrm.model WHERE name LIKE 'solve\_%' ORDER BY name;

-- Sudoku --------------------------------------------------------------------

CREATE TEMP TABLE sud (id int PRIMARY KEY, puzzle text);
INSERT INTO sud VALUES
    (1, '3.....79..591..3...473..6..5..842.797..96.4.398.7..2656.54.1.374..53.9....86...24'),
    (2, '4.32......694.....57.13.4..2.1863.....59.2831.8..142..9.4..1..61563489...2.....1.'),
    (3, '..3....4684.....2....4.9..1.983..6.7..7.914.....8..19.3...4796...9685....5..3....'),
    (4, '8.9..3.71.328.75.467415.938213784..9.86......9...16....6.321.95.25.4871.491..5823'),
    (5, '53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79');

-- hrm_forward's segments for every puzzle (16 = the model's halt_max_steps),
-- with the argmax over the digit tokens (2..10) of each cell.
CREATE TEMP TABLE fwd AS
SELECT s.id, f.segment, f.q_halt, f.q_continue,
       (SELECT string_agg(a.d::text, '' ORDER BY i)
          FROM generate_series(1, 81) i,
               LATERAL (SELECT t - 2 AS d FROM generate_series(3, 11) t
                         ORDER BY f.logits[i][t] DESC, t LIMIT 1) a) AS argmax
  FROM sud s CROSS JOIN LATERAL hrm_forward('solve_sudoku', hrm_sudoku_encode(s.puzzle)) f;
SELECT count(*) AS forward_rows, count(DISTINCT id) AS puzzles, max(segment) AS segments FROM fwd;

-- The default: fixed halting, the model's 16 segments.
CREATE TEMP TABLE sol AS
SELECT s.id, s.puzzle, d.*
  FROM sud s CROSS JOIN LATERAL hrm_solve_detail('solve_sudoku', s.puzzle) d;

-- the answer's form: 81 digits; hrm_solve gives the same answer
SELECT id, length(solution) AS len, solution ~ '^[1-9]{81}$' AS digits_only, segments,
       confidence > 0 AND confidence < 1 AS confidence_in_0_1,
       solution = hrm_solve('solve_sudoku', puzzle) AS same_as_hrm_solve
  FROM sol ORDER BY id;

-- THE check: the answer is the argmax of hrm_forward's last segment, and the
-- confidence is the sigmoid of its q_halt
SELECT s.id, s.solution = f.argmax AS equals_forward_argmax,
       abs(s.confidence - 1 / (1 + exp(-f.q_halt))) < 1e-6 AS confidence_is_sigmoid_q_halt
  FROM sol s JOIN fwd f ON f.id = s.id AND f.segment = 16 ORDER BY s.id;

-- valid / keeps_givens / reason agree with the Sudoku rule checker
SELECT s.id, s.valid = c.valid AS valid_agrees, s.keeps_givens = c.keeps_givens AS givens_agree,
       s.reason IS NOT DISTINCT FROM c.reason AS reason_agrees, s.reason IS NOT NULL AS has_reason
  FROM sol s CROSS JOIN LATERAL hrm_sudoku_check(s.puzzle, s.solution) c ORDER BY s.id;

-- fewer segments: the argmax of that segment
SELECT s.id, hrm_solve('solve_sudoku', s.puzzle, max_steps => 3) = f.argmax AS three_segments
  FROM sud s JOIN fwd f ON f.id = s.id AND f.segment = 3 ORDER BY s.id;

-- The input's form: '0' blanks, whitespace and line breaks are kept; int[]
-- and int[][] come back with their dimensions and lower bounds.
SELECT hrm_solve('solve_sudoku', translate(puzzle, '.', '0')) = solution AS zero_blanks,
       hrm_solve('solve_sudoku', regexp_replace(puzzle, '(.{9})', E'\\1\n', 'g')) =
           regexp_replace(solution, '(.{9})', E'\\1\n', 'g') AS nine_lines_kept,
       hrm_solve('solve_sudoku', regexp_replace(puzzle, '(.{3})', '\1 ', 'g')) =
           regexp_replace(solution, '(.{3})', '\1 ', 'g') AS spaces_kept
  FROM sol WHERE id = 1;
CREATE TEMP TABLE arr AS
SELECT id, solution,
       (SELECT array_agg(CASE c WHEN '.' THEN 0 ELSE c::int END ORDER BY k)
          FROM unnest(string_to_array(puzzle, NULL)) WITH ORDINALITY u(c, k)) AS flat
  FROM sol;
SELECT id,
       array_dims(hrm_solve('solve_sudoku', flat)) AS flat_dims,
       array_to_string(hrm_solve('solve_sudoku', flat), '') = solution AS flat_same,
       array_dims(hrm_solve('solve_sudoku', ARRAY(SELECT flat[r * 9 + 1 : r * 9 + 9] FROM generate_series(0, 8) r))) AS grid_dims,
       array_to_string(hrm_solve('solve_sudoku', ARRAY(SELECT flat[r * 9 + 1 : r * 9 + 9] FROM generate_series(0, 8) r)), '') = solution AS grid_same
  FROM arr ORDER BY id;
SELECT array_dims(hrm_solve('solve_sudoku',
           ('[0:8][-1:7]=' || (SELECT array_agg(flat[r * 9 + 1 : r * 9 + 9]) FROM generate_series(0, 8) r)::text)::int[]))
           AS bounds_kept
  FROM arr WHERE id = 2;
SELECT (hrm_solve_detail('solve_sudoku', flat)).solution = hrm_solve('solve_sudoku', flat) AS detail_array_same
  FROM arr WHERE id = 3;

-- hrm_trace: one row per segment (fixed halting: max_steps rows); the
-- prediction of each segment is hrm_forward's argmax, its Q values are
-- hrm_forward's, the last one is the answer, and "changed" counts the cells
-- that differ from the previous prediction (from the input, for segment 1).
CREATE TEMP TABLE tr AS
SELECT s.id, t.* FROM sud s CROSS JOIN LATERAL hrm_trace('solve_sudoku', s.puzzle) t;
SELECT id, count(*) AS rows, min(segment) AS first, max(segment) AS last FROM tr GROUP BY id ORDER BY id;
SELECT count(*) AS trace_rows,
       bool_and(t.prediction = f.argmax) AS predictions_are_forward_argmax,
       bool_and(t.q_halt = f.q_halt AND t.q_continue = f.q_continue) AS q_values_are_forward
  FROM tr t JOIN fwd f USING (id, segment);
SELECT bool_and(t.prediction = s.solution) AS last_is_answer
  FROM tr t JOIN sol s USING (id) WHERE t.segment = 16;
CREATE FUNCTION pg_temp.diff(a text, b text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT count(*)::int FROM generate_series(1, length(a)) i
     WHERE substr(a, i, 1) IS DISTINCT FROM substr(b, i, 1)
$$;
SELECT bool_and(t.changed = pg_temp.diff(t.prediction,
                    coalesce(p.prediction, s.puzzle))) AS changed_counts_cells,
       sum(t.changed) FILTER (WHERE t.segment = 1) AS changed_at_segment_1
  FROM tr t JOIN sud s USING (id)
  LEFT JOIN tr p ON p.id = t.id AND p.segment = t.segment - 1;
SELECT count(*) AS rows, max(segment) AS last FROM hrm_trace('solve_sudoku', (SELECT puzzle FROM sud WHERE id = 1), max_steps => 5);

-- Adaptive halting: a row stops after the first segment with q_halt >
-- q_continue (or at max_steps); never more segments than fixed halting, and
-- the answer is the argmax of the segment it stopped at.
CREATE TEMP TABLE ada AS
SELECT s.id, d.* FROM sud s CROSS JOIN LATERAL hrm_solve_detail('solve_sudoku', s.puzzle, halt => 'adaptive') d;
SELECT a.id, a.segments <= 16 AS at_most_fixed,
       a.segments = coalesce((SELECT min(segment) FROM fwd f WHERE f.id = a.id AND f.q_halt > f.q_continue), 16)
           AS first_halting_segment,
       a.solution = f.argmax AS equals_forward_argmax
  FROM ada a JOIN fwd f ON f.id = a.id AND f.segment = a.segments ORDER BY a.id;
SELECT a.id, count(t.*) = a.segments AS trace_rows_match
  FROM ada a CROSS JOIN LATERAL hrm_trace('solve_sudoku', (SELECT puzzle FROM sud WHERE id = a.id), halt => 'adaptive') t
 GROUP BY a.id, a.segments ORDER BY a.id;
SELECT bool_and((hrm_solve_detail('solve_sudoku', puzzle, 3, 'adaptive')).segments <= 3) AS capped_by_max_steps FROM sud;

-- Defaults: hrm.default_model, hrm.default_max_steps, hrm.default_halt.
SHOW hrm.default_model;
SHOW hrm.default_max_steps;
SHOW hrm.default_halt;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('1........'::text)$$) AS no_default_model;
SELECT hrm_solve((SELECT puzzle FROM sud WHERE id = 1));
SET hrm.default_model = 'solve_sudoku';
SELECT bool_and(hrm_solve(puzzle) = solution) AS default_model_used FROM sol;
SELECT bool_and((hrm_solve_detail(flat)).solution = hrm_solve('solve_sudoku', flat)) AS default_model_arrays FROM arr;
SET hrm.default_max_steps = 3;
SELECT bool_and(d.segments = 3 AND d.solution = f.argmax) AS default_max_steps_used
  FROM sud s CROSS JOIN LATERAL hrm_solve_detail(s.puzzle) d JOIN fwd f ON f.id = s.id AND f.segment = 3;
SELECT count(*) AS trace_rows FROM hrm_trace((SELECT puzzle FROM sud WHERE id = 2));
SELECT (hrm_solve_detail((SELECT puzzle FROM sud WHERE id = 2), max_steps => 4)).segments AS explicit_wins;
SET hrm.default_halt = 'adaptive';
SELECT bool_and((hrm_solve_detail(s.puzzle, 16)).segments = a.segments) AS default_halt_used
  FROM sud s JOIN ada a USING (id);
SELECT bool_and((hrm_solve_detail(s.puzzle, 16, 'fixed')).segments = 16) AS explicit_fixed_wins FROM sud s;
SELECT pg_temp.sqlstate($$SET hrm.default_halt = 'sometimes'$$) AS bad_default_halt;
SELECT pg_temp.sqlstate($$SET hrm.default_max_steps = -1$$) AS bad_default_max_steps;
RESET hrm.default_model;
RESET hrm.default_max_steps;
RESET hrm.default_halt;

-- Mazes ---------------------------------------------------------------------

CREATE TEMP TABLE maz (id int PRIMARY KEY, maze text);
INSERT INTO maz VALUES
    (1, translate('G_____
#__S_#
#_##_#
_#_##_
__##__
__##_#', '_', ' ')),
    (2, translate('#__#___###__
_##_#_###___
__#__#__#S#_
__##_#_#_#__
____#__#G#__
__##_##_#___
__#__###___#
__#_##__#_#_
#_#_#_#__#__
_#_#__#__##_
______#_####
###_#_____#_', '_', ' ')),
    (3, (SELECT maze FROM hrm_maze_generate(1, 30, 40, 5)));

-- hrm_forward's last segment (4 = the model's halt_max_steps), argmax over
-- the maze tokens 1..5 ("#", " ", "S", "G", "o") inside the maze.
CREATE TEMP TABLE mfwd AS
SELECT m.id, f.segment,
       (SELECT string_agg(rowtext, E'\n' ORDER BY r)
          FROM (SELECT r, string_agg(substr('# SGo', a.t, 1), '' ORDER BY c) AS rowtext
                  FROM generate_series(0, array_length(string_to_array(m.maze, E'\n'), 1) - 1) r,
                       generate_series(0, length(split_part(m.maze, E'\n', 1)) - 1) c,
                       LATERAL (SELECT t FROM generate_series(1, 5) t
                                 ORDER BY f.logits[r * 30 + c + 1][t + 1] DESC, t LIMIT 1) a
                 GROUP BY r) x) AS argmax
  FROM maz m CROSS JOIN LATERAL hrm_forward('solve_maze', hrm_maze_encode(m.maze)) f;
CREATE TEMP TABLE msol AS
SELECT m.id, m.maze, d.* FROM maz m CROSS JOIN LATERAL hrm_solve_detail('solve_maze', m.maze) d;
SELECT s.id, length(s.solution) = length(s.maze) AS same_length,
       array_length(string_to_array(s.solution, E'\n'), 1) AS rows,
       length(split_part(s.solution, E'\n', 1)) AS cols,
       s.solution ~ '^[# SGo\n]+$' AS maze_alphabet,
       s.segments,
       s.solution = f.argmax AS equals_forward_argmax,
       s.solution = hrm_solve('solve_maze', s.maze) AS same_as_hrm_solve
  FROM msol s JOIN mfwd f ON f.id = s.id AND f.segment = 4 ORDER BY s.id;
-- valid means a shortest S-G path (hrm_maze_check's valid and shortest);
-- keeps_givens: walls, S and G unchanged, open cells open or on the path
SELECT s.id, s.valid = (c.valid AND c.shortest) AS valid_agrees,
       s.reason IS NOT DISTINCT FROM c.reason AS reason_agrees,
       s.keeps_givens = NOT EXISTS (
           SELECT 1 FROM generate_series(1, length(s.maze)) i
            WHERE CASE substr(s.maze, i, 1) WHEN ' ' THEN substr(s.solution, i, 1) NOT IN (' ', 'o')
                                            ELSE substr(s.solution, i, 1) <> substr(s.maze, i, 1) END)
           AS givens_agree
  FROM msol s CROSS JOIN LATERAL hrm_maze_check(s.maze, s.solution) c ORDER BY s.id;
-- a trailing newline and CRLF line ends are kept
SELECT hrm_solve('solve_maze', maze || E'\n') = solution || E'\n' AS trailing_newline,
       hrm_solve('solve_maze', replace(maze, E'\n', E'\r\n')) = replace(solution, E'\n', E'\r\n') AS crlf
  FROM msol WHERE id = 2;
SELECT count(*) AS trace_rows, bool_and(t.prediction = f.argmax) AS trace_is_forward_argmax
  FROM maz m CROSS JOIN LATERAL hrm_trace('solve_maze', m.maze) t
  JOIN mfwd f ON f.id = m.id AND f.segment = t.segment;
SELECT m.id, d.segments <= 4 AS adaptive_at_most_fixed, d.solution = f.argmax AS adaptive_equals_argmax
  FROM maz m CROSS JOIN LATERAL hrm_solve_detail('solve_maze', m.maze, halt => 'adaptive') d
  JOIN mfwd f ON f.id = m.id AND f.segment = d.segments ORDER BY m.id;
-- raw tokens work too (the generic path: argmax over the whole vocabulary)
SELECT array_length(hrm_solve('solve_maze', hrm_maze_encode(maze)), 1) AS tokens FROM maz WHERE id = 1;

-- Generic token models -------------------------------------------------------

CREATE TEMP TABLE gen AS
SELECT (SELECT array_agg((i * 7 + 3) % 12 ORDER BY i) FROM generate_series(1, 100) i) AS tokens;
SELECT array_dims(d.solution) AS dims, d.solution = (
           SELECT array_agg(a.t ORDER BY i)
             FROM generate_series(1, 100) i,
                  LATERAL (SELECT t - 1 AS t FROM generate_series(1, 12) t
                            ORDER BY f.logits[i][t] DESC, t LIMIT 1) a) AS equals_forward_argmax,
       d.segments, d.valid, d.keeps_givens, d.reason
  FROM gen g CROSS JOIN LATERAL hrm_solve_detail('solve_generic', g.tokens) d
  JOIN LATERAL hrm_forward('solve_generic', g.tokens) f ON f.segment = 4;
SELECT array_dims(hrm_solve('solve_generic', ARRAY(SELECT tokens[r * 10 + 1 : r * 10 + 10] FROM generate_series(0, 9) r)))
           AS grid_dims,
       array_to_string(hrm_solve('solve_generic', ARRAY(SELECT tokens[r * 10 + 1 : r * 10 + 10] FROM generate_series(0, 9) r)), ',')
           = array_to_string(hrm_solve('solve_generic', tokens), ',') AS grid_same
  FROM gen;
SELECT count(*) AS trace_rows FROM gen, hrm_trace('solve_generic', tokens);
SELECT array_length(hrm_solve('solve_tagged', tokens), 1) AS tagged_tokens FROM gen;
SELECT array_length(hrm_solve('solve_arc', array_fill(0, ARRAY[900]), max_steps => 1), 1) AS arc_tokens;

-- Errors -----------------------------------------------------------------------

SELECT pg_temp.sqlstate($$SELECT hrm_solve('no_such_model', '1')$$) AS unknown_model,
       pg_temp.sqlstate($$SELECT hrm_solve('no_such_model', '{1}'::int[])$$) AS unknown_model_array,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', repeat('.', 80))$$) AS sudoku_80_cells,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', repeat('.', 82))$$) AS sudoku_82_cells,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', 'x' || repeat('.', 80))$$) AS sudoku_bad_char,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', '')$$) AS sudoku_empty;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', array_fill(0, ARRAY[80]))$$) AS array_80,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', array_fill(0, ARRAY[9, 8]))$$) AS array_9x8,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', array_fill(0, ARRAY[3, 3, 9]))$$) AS array_3d,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', array_fill(10, ARRAY[81]))$$) AS digit_10,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', array_fill(-1, ARRAY[9, 9]))$$) AS digit_minus_1,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', array_fill(0, ARRAY[80]) || NULL::int)$$) AS null_cell,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', '{}'::int[])$$) AS empty_array;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', (SELECT maze FROM maz WHERE id = 1))$$) AS maze_to_sudoku_model,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', (SELECT puzzle FROM sud WHERE id = 1))$$) AS sudoku_to_maze_model,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', array_fill(0, ARRAY[9, 9]))$$) AS sudoku_array_to_maze_model,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_generic', (SELECT puzzle FROM sud WHERE id = 1))$$) AS text_to_generic_model,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_arc', 'S G')$$) AS text_to_arc_model;
-- arrays of another task's shape: named by the codec that claims them
SELECT pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', array_fill(0, ARRAY[3, 4]))$$) AS arc_array_to_maze_model,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_arc', array_fill(0, ARRAY[81]))$$) AS sudoku_array_to_arc_model,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_generic', array_fill(0, ARRAY[9, 9]))$$) AS grid_to_generic_model;
SELECT hrm_solve('solve_maze', array_fill(0, ARRAY[3, 4]));
SELECT hrm_solve('solve_arc', array_fill(0, ARRAY[81]));
SELECT hrm_solve('solve_generic', array_fill(0, ARRAY[9, 9]));
SELECT pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', E'S #\n G')$$) AS ragged_maze,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', E'S x\n  G')$$) AS maze_bad_char,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', E'S  \n   ')$$) AS maze_without_goal,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', E'SG\nGo')$$) AS maze_two_goals,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', repeat(repeat(' ', 31) || E'\n', 31))$$) AS maze_31x31,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', '')$$) AS maze_empty;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('solve_generic', array_fill(0, ARRAY[99]))$$) AS tokens_99,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_generic', array_fill(0, ARRAY[99]) || 12)$$) AS token_12_of_12,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_generic', -1 || array_fill(0, ARRAY[99]))$$) AS token_minus_1,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_maze', array_fill(6, ARRAY[900]))$$) AS maze_token_6;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', repeat('.', 81), max_steps => -1)$$) AS negative_max_steps,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', repeat('.', 81), max_steps => 65537)$$) AS huge_max_steps,
       pg_temp.sqlstate($$SELECT hrm_solve('solve_sudoku', repeat('.', 81), halt => 'sometimes')$$) AS bad_halt,
       pg_temp.sqlstate($$SELECT hrm_trace('solve_sudoku', repeat('.', 81), halt => 'Fixed')$$) AS halt_is_case_sensitive;
-- STRICT: NULL in, NULL out
SELECT hrm_solve('solve_sudoku', NULL::text) IS NULL AS null_grid,
       hrm_solve(NULL, repeat('.', 81)) IS NULL AS null_model,
       hrm_solve('solve_sudoku', repeat('.', 81), NULL) IS NULL AS null_max_steps,
       (SELECT count(*) FROM hrm_trace('solve_sudoku', NULL::text)) AS null_trace_rows;
-- the messages
SELECT hrm_solve('solve_sudoku', (SELECT maze FROM maz WHERE id = 1));
SELECT hrm_solve('solve_maze', (SELECT puzzle FROM sud WHERE id = 1));
SELECT hrm_solve('solve_sudoku', repeat('.', 80));
SELECT hrm_solve('solve_sudoku', array_fill(0, ARRAY[9, 8]));
SELECT hrm_solve('solve_generic', array_fill(0, ARRAY[99]) || 12);
SELECT hrm_solve('solve_generic', 'abc');
SELECT hrm_solve('solve_maze', E'S  \n   ');
SELECT hrm_solve('no_such_model', repeat('.', 81));
SELECT hrm_solve(repeat('.', 81));
-- errors leave nothing behind: the next call works and gives the same answer
SELECT bool_and(hrm_solve('solve_sudoku', puzzle) = solution) AS still_same FROM sol;

-- Parallel workers -------------------------------------------------------------

-- (a regular table: temporary tables are never scanned in parallel; a low
-- fillfactor spreads the 40 rows over enough pages for two workers)
CREATE TABLE solve_par WITH (fillfactor = 10) AS
SELECT g AS id, s.puzzle FROM generate_series(1, 40) g JOIN sud s ON s.id = g % 5 + 1;
ANALYZE solve_par;
SELECT relpages >= 3 AS enough_pages FROM pg_class WHERE relname = 'solve_par';
CREATE FUNCTION pg_temp.workers_launched(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
    RETURN (plan->0->'Plan'->>'Workers Launched')::int;
END $$;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE par_serial AS SELECT id, hrm_solve('solve_sudoku', puzzle, 2) AS answer FROM solve_par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT id, hrm_solve('solve_sudoku', puzzle, 2) AS answer FROM solve_par;
-- without the leader's help every row is solved in a worker
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT id, hrm_solve('solve_sudoku', puzzle, 2) AS answer FROM solve_par;
SELECT pg_temp.workers_launched($$SELECT id, hrm_solve('solve_sudoku', puzzle, 2) FROM solve_par$$) AS workers_launched;
-- the same answers as the serial run
EXPLAIN (COSTS OFF)
SELECT count(*) AS rows, count(*) FILTER (WHERE x.answer = s.answer) AS equal
  FROM (SELECT id, hrm_solve('solve_sudoku', puzzle, 2) AS answer FROM solve_par) x JOIN par_serial s USING (id);
SELECT count(*) AS rows, count(*) FILTER (WHERE x.answer = s.answer) AS equal
  FROM (SELECT id, hrm_solve('solve_sudoku', puzzle, 2) AS answer FROM solve_par) x JOIN par_serial s USING (id);
-- the default model reaches the workers (GUCs are passed on), and so do
-- hrm_solve_detail and hrm_trace
SET hrm.default_model = 'solve_sudoku';
SELECT pg_temp.workers_launched($$SELECT hrm_solve(puzzle, 2) FROM solve_par$$) AS workers_launched;
SELECT count(*) FILTER (WHERE x.answer = s.answer) AS equal_with_default_model
  FROM (SELECT id, hrm_solve(puzzle, 2) AS answer FROM solve_par) x JOIN par_serial s USING (id);
EXPLAIN (COSTS OFF) SELECT (hrm_solve_detail(puzzle, 2)).solution FROM solve_par;
SELECT count(*) FILTER (WHERE x.answer = s.answer) AS detail_equal
  FROM (SELECT id, (hrm_solve_detail(puzzle, 2)).solution AS answer FROM solve_par) x JOIN par_serial s USING (id);
EXPLAIN (COSTS OFF) SELECT t.prediction FROM solve_par, hrm_trace(puzzle, 2) t WHERE t.segment = 2;
SELECT count(*) FILTER (WHERE x.answer = s.answer) AS trace_equal
  FROM (SELECT id, t.prediction AS answer FROM solve_par, hrm_trace(puzzle, 2) t WHERE t.segment = 2) x
  JOIN par_serial s USING (id);
-- workers without the shared cache load their own copy
SET hrm.shared_cache = off;
SELECT pg_temp.workers_launched($$SELECT hrm_solve(puzzle, 2) FROM solve_par$$) AS workers_launched;
SELECT count(*) FILTER (WHERE x.answer = s.answer) AS equal_without_shared_cache
  FROM (SELECT id, hrm_solve(puzzle, 2) AS answer FROM solve_par) x JOIN par_serial s USING (id);
RESET hrm.shared_cache;
RESET hrm.default_model;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE solve_par;

-- Cancellation -----------------------------------------------------------------
-- Interrupts are checked between segments: statement_timeout stops a long
-- solve (65536 segments would take minutes) and a query over many rows.
CREATE TEMP TABLE cancelled (what text, state text, elapsed interval);
SET statement_timeout = '200ms';
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM hrm_solve('solve_sudoku', repeat('.', 81), max_steps => 65536);
    INSERT INTO cancelled VALUES ('one long solve', 'finished', clock_timestamp() - t0);
EXCEPTION WHEN query_canceled THEN
    INSERT INTO cancelled VALUES ('one long solve', SQLSTATE, clock_timestamp() - t0);
END $$;
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM count(hrm_solve('solve_sudoku', repeat('.', 81))) FROM generate_series(1, 100000);
    INSERT INTO cancelled VALUES ('many rows', 'finished', clock_timestamp() - t0);
EXCEPTION WHEN query_canceled THEN
    INSERT INTO cancelled VALUES ('many rows', SQLSTATE, clock_timestamp() - t0);
END $$;
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM count(*) FROM hrm_trace('solve_sudoku', repeat('.', 81), max_steps => 65536);
    INSERT INTO cancelled VALUES ('a long trace', 'finished', clock_timestamp() - t0);
EXCEPTION WHEN query_canceled THEN
    INSERT INTO cancelled VALUES ('a long trace', SQLSTATE, clock_timestamp() - t0);
END $$;
RESET statement_timeout;
SELECT what, state, elapsed >= interval '150 ms' AS ran_until_timeout,
       elapsed < interval '3 seconds' AS stopped_promptly
  FROM cancelled ORDER BY what;
SELECT hrm_solve('solve_sudoku', puzzle) = solution AS works_after_cancel FROM sol WHERE id = 1;

SELECT hrm_drop_model(name) FROM hrm.model WHERE name LIKE 'solve\_%' ORDER BY name;
