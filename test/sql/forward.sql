-- hrm_forward against the reference: both inference fixtures, every row and
-- every segment, with the tolerance rule of the fixtures README:
--   tol_k = max(1e-4, 10 * e_k), e_k = the reference float32's own max |diff|
--   from float64 at segment k (logits and Q values together);
--   pass when the engine's max |diff| from float64 is <= tol_k, and the
--   argmax of every cell equals float64's wherever float64's top two
--   logits differ by more than 2 * tol_k.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
\set e `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.expected.safetensors"`
CREATE TEMP TABLE fx (fixture text PRIMARY KEY, weights bytea, expected bytea);
INSERT INTO fx VALUES ('sudoku-tiny', decode(:'w', 'base64'), decode(:'e', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
\set e `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.expected.safetensors"`
INSERT INTO fx VALUES ('grid-puzzle-ids', decode(:'w', 'base64'), decode(:'e', 'base64'));
\unset w
\unset e

SELECT hrm_import(fixture, weights) FROM fx ORDER BY fixture;

-- The expected tensors, and the shapes they imply.
CREATE TEMP TABLE ex AS
SELECT f.fixture, i.name, i.shape, i."values" AS v
  FROM fx f CROSS JOIN LATERAL hrm_safetensors_info(f.expected) i;
CREATE TEMP TABLE dims AS
SELECT fixture, shape[1] AS nb, shape[2] AS t, shape[3] AS voc,
       (SELECT count(*) FROM ex e2 WHERE e2.fixture = e.fixture AND e2.name ~ '^seg\d\d\.logits$') AS segments
  FROM ex e WHERE name = 'seg01.logits';
SELECT * FROM dims ORDER BY fixture;

-- One example per row of `inputs`, with its puzzle id.
CREATE TEMP TABLE inp AS
SELECT d.fixture, r.b, (i.v[r.b * d.t + 1 : (r.b + 1) * d.t])::int[] AS tokens, p.v[r.b + 1]::int AS pid
  FROM dims d
  JOIN ex i ON i.fixture = d.fixture AND i.name = 'inputs'
  JOIN ex p ON p.fixture = d.fixture AND p.name = 'puzzle_identifiers'
  CROSS JOIN LATERAL generate_series(0, d.nb - 1) AS r(b);
SELECT fixture, b, cardinality(tokens) AS tokens, pid FROM inp ORDER BY fixture, b;

-- The engine, from SQL: default segments = halt_max_steps.
CREATE TEMP TABLE eng AS
SELECT i.fixture, i.b, o.segment AS seg, o.logits, o.q_halt, o.q_continue
  FROM inp i CROSS JOIN LATERAL hrm_forward(i.fixture, i.tokens, i.pid) o;
SELECT fixture, count(DISTINCT b) AS rows, max(seg) AS segments, count(*) AS result_rows,
       min(array_dims(logits)) AS logits_dims, max(array_dims(logits)) AS same_dims
  FROM eng GROUP BY fixture ORDER BY fixture;

-- Reference values, one row per logit / Q value.
CREATE TEMP TABLE ref AS
SELECT d.fixture, substr(a.name, 4, 2)::int AS seg,
       ((u.k - 1) / (d.t * d.voc))::int AS b, ((u.k - 1) % (d.t * d.voc))::int AS idx,
       u.r32, u.r64
  FROM dims d
  JOIN ex a ON a.fixture = d.fixture AND a.name ~ '^seg\d\d\.logits$'
  JOIN ex f ON f.fixture = d.fixture AND f.name = a.name || '_f64'
  CROSS JOIN LATERAL unnest(a.v, f.v) WITH ORDINALITY AS u(r32, r64, k);
CREATE TEMP TABLE refq AS
SELECT d.fixture, substr(a.name, 4, 2)::int AS seg, split_part(a.name, '.', 2) AS q,
       (u.k - 1)::int AS b, u.r32, u.r64
  FROM dims d
  JOIN ex a ON a.fixture = d.fixture AND a.name ~ '^seg\d\d\.q_(halt|continue)$'
  JOIN ex f ON f.fixture = d.fixture AND f.name = a.name || '_f64'
  CROSS JOIN LATERAL unnest(a.v, f.v) WITH ORDINALITY AS u(r32, r64, k);
CREATE TEMP TABLE engl AS
SELECT e.fixture, e.seg, e.b, (u.k - 1)::int AS idx, u.x
  FROM eng e CROSS JOIN LATERAL unnest(e.logits) WITH ORDINALITY AS u(x, k);
ANALYZE ref;
ANALYZE refq;
ANALYZE engl;
ANALYZE eng;
SELECT fixture, count(*) AS logits_compared
  FROM ref JOIN engl USING (fixture, seg, b, idx) GROUP BY fixture ORDER BY fixture;

-- Per segment: the tolerance and the engine's error against float64.
CREATE TEMP TABLE tol AS
SELECT fixture, seg, greatest(1e-4, 10 * max(e_ref)) AS tol_k, max(e_eng) AS d_k
  FROM (SELECT r.fixture, r.seg, abs(r.r32 - r.r64) AS e_ref, abs(l.x - r.r64) AS e_eng
          FROM ref r JOIN engl l USING (fixture, seg, b, idx)
        UNION ALL
        SELECT q.fixture, q.seg, abs(q.r32 - q.r64),
               abs(CASE q.q WHEN 'q_halt' THEN e.q_halt ELSE e.q_continue END - q.r64)
          FROM refq q JOIN eng e USING (fixture, seg, b)) x
 GROUP BY fixture, seg;
SELECT fixture, seg, d_k <= tol_k AS within_tolerance FROM tol ORDER BY fixture, seg;

-- Argmax agreement wherever float64's margin is clear.
CREATE TEMP TABLE cells AS
SELECT fixture, seg, b, idx / voc AS pos, idx % voc AS tok, r.r64, l.x
  FROM ref r JOIN engl l USING (fixture, seg, b, idx) JOIN dims d USING (fixture);
WITH ranked AS (
    SELECT c.*,
           row_number() OVER (PARTITION BY fixture, seg, b, pos ORDER BY r64 DESC, tok) AS rk64,
           row_number() OVER (PARTITION BY fixture, seg, b, pos ORDER BY x DESC, tok) AS rk_eng
      FROM cells c
), per_cell AS (
    SELECT fixture, seg, b, pos,
           max(r64) FILTER (WHERE rk64 = 1) - max(r64) FILTER (WHERE rk64 = 2) AS margin,
           max(tok) FILTER (WHERE rk64 = 1) AS top64,
           max(tok) FILTER (WHERE rk_eng = 1) AS top_eng
      FROM ranked GROUP BY fixture, seg, b, pos
)
SELECT p.fixture, count(*) AS cells,
       count(*) FILTER (WHERE p.margin > 2 * t.tol_k) AS clear_cells,
       count(*) FILTER (WHERE p.margin > 2 * t.tol_k AND p.top64 <> p.top_eng) AS argmax_mismatches
  FROM per_cell p JOIN tol t USING (fixture, seg)
 GROUP BY p.fixture ORDER BY p.fixture;

-- Fewer segments give exactly the first rows of a full run; a 9x9 array is
-- read row by row like the flat one.
SELECT count(*) AS rows, bool_and(a.logits = e.logits AND a.q_halt = e.q_halt AND a.q_continue = e.q_continue) AS identical
  FROM inp i
  CROSS JOIN LATERAL hrm_forward(i.fixture, i.tokens, i.pid, segments => 3) a
  JOIN eng e ON e.fixture = i.fixture AND e.b = i.b AND e.seg = a.segment
 WHERE i.fixture = 'sudoku-tiny' AND i.b = 0;
SELECT count(*) AS rows, bool_and(a.logits = e.logits) AS identical
  FROM inp i
  CROSS JOIN LATERAL hrm_forward(i.fixture, ARRAY(SELECT i.tokens[r * 9 + 1 : r * 9 + 9] FROM generate_series(0, 8) r), i.pid, 2) a
  JOIN eng e ON e.fixture = i.fixture AND e.b = i.b AND e.seg = a.segment
 WHERE i.fixture = 'sudoku-tiny' AND i.b = 1;

-- Two BLAS threads: still within the tolerance at every segment.
SET hrm.threads = 2;
SHOW hrm.threads;
CREATE TEMP TABLE eng2 AS
SELECT i.fixture, i.b, o.segment AS seg, (u.k - 1)::int AS idx, u.x
  FROM inp i
  CROSS JOIN LATERAL hrm_forward(i.fixture, i.tokens, i.pid) o
  CROSS JOIN LATERAL unnest(o.logits) WITH ORDINALITY AS u(x, k)
 WHERE i.fixture = 'sudoku-tiny' AND i.b = 2;
ANALYZE eng2;
SELECT count(*) AS segments, bool_and(s.d2 <= t.tol_k) AS within_tolerance
  FROM (SELECT fixture, seg, max(abs(e.x - r.r64)) AS d2
          FROM eng2 e JOIN ref r USING (fixture, seg, b, idx)
         GROUP BY fixture, seg) s
  JOIN tol t USING (fixture, seg);
RESET hrm.threads;
SELECT pg_temp.sqlstate($$SET hrm.threads = 0$$) AS zero_threads;

-- Replacing a model under the same name: the next call uses the new weights.
SELECT hrm_import('swap', weights) FROM fx WHERE fixture = 'grid-puzzle-ids';
SELECT count(*) AS segments FROM inp i, hrm_forward('swap', i.tokens, i.pid) WHERE i.fixture = 'grid-puzzle-ids' AND i.b = 0;
SELECT hrm_import('swap', weights) FROM fx WHERE fixture = 'sudoku-tiny';
SELECT count(*) AS segments, bool_and(o.logits = e.logits) AS same_as_sudoku_tiny
  FROM inp i CROSS JOIN LATERAL hrm_forward('swap', i.tokens, i.pid) o
  JOIN eng e ON e.fixture = 'sudoku-tiny' AND e.b = i.b AND e.seg = o.segment
 WHERE i.fixture = 'sudoku-tiny' AND i.b = 0;
BEGIN;
SELECT hrm_drop_model('swap');
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('swap', array_fill(0, ARRAY[81]))$$) AS dropped;
ROLLBACK;
SELECT count(*) AS segments_after_rollback FROM hrm_forward('swap', array_fill(0, ARRAY[81]));
SELECT hrm_drop_model('swap');

-- Bad input, each with its SQLSTATE.
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('no such model', array_fill(0, ARRAY[81]))$$) AS unknown_model;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[80]))$$) AS too_short;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[10, 9]))$$) AS wrong_grid;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', '{}')$$) AS empty;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[80]) || 11)$$) AS token_too_big;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', -1 || array_fill(0, ARRAY[80]))$$) AS negative_token;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[80]) || NULL::int)$$) AS null_token;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[81]), 1)$$) AS puzzle_id_out_of_range;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('grid-puzzle-ids', array_fill(0, ARRAY[100]), 7)$$) AS puzzle_id_7_of_7;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('grid-puzzle-ids', array_fill(0, ARRAY[100]), 6)$$) AS puzzle_id_6_of_7;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[81]), -1)$$) AS negative_puzzle_id;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[81]), 0, 0)$$) AS zero_segments;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[81]), 0, 100000)$$) AS too_many_segments;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', NULL)$$) AS null_inputs;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward(NULL, array_fill(0, ARRAY[81]))$$) AS null_model;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[81]), NULL)$$) AS null_puzzle_id;
-- in full
SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[80]));
SELECT * FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[80]) || 11);
SELECT * FROM hrm_forward('grid-puzzle-ids', array_fill(0, ARRAY[100]), 7);

-- Cancellation is checked between segments: a long run stops at the timeout.
-- (65536 segments would take a minute or more.)
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '300ms';
SELECT count(*) FROM hrm_forward('sudoku-tiny', array_fill(0, ARRAY[81]), 0, 65536);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '5 seconds' AS stopped_promptly;

SELECT hrm_drop_model(fixture) FROM fx ORDER BY fixture;
SELECT count(*) AS models_left FROM hrm.model;
