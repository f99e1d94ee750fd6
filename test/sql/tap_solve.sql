\unset ECHO
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

-- pgTAP: the solving surface's declarations, settings, SQLSTATEs and the
-- basic properties of its answers.  One transaction, rolled back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(71);

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('tap_sudoku', decode(:'w', 'base64')) IS NOT NULL AS imported \gset
\set w `base64 -w0 test/data/solve_maze_tiny.safetensors`
SELECT hrm_import('tap_maze', decode(:'w', 'base64')) IS NOT NULL AS imported \gset
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
SELECT hrm_import('tap_generic', decode(:'w', 'base64')) IS NOT NULL AS imported \gset
\unset w
\set p '''53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79'''

-- Declarations ---------------------------------------------------------------
SELECT has_function('hrm_solve', ARRAY['text', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve', ARRAY['integer[]', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve', ARRAY['text', 'text', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve', ARRAY['text', 'integer[]', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve_detail', ARRAY['text', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve_detail', ARRAY['integer[]', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve_detail', ARRAY['text', 'text', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_solve_detail', ARRAY['text', 'integer[]', 'integer', 'text', 'integer', 'integer', 'text[]']);
SELECT has_function('hrm_trace', ARRAY['text', 'integer', 'text', 'integer']);
SELECT has_function('hrm_trace', ARRAY['integer[]', 'integer', 'text', 'integer']);
SELECT has_function('hrm_trace', ARRAY['text', 'text', 'integer', 'text', 'integer']);
SELECT has_function('hrm_trace', ARRAY['text', 'integer[]', 'integer', 'text', 'integer']);
SELECT has_function('hrm_solve_task', ARRAY['text']);
SELECT function_returns('hrm_solve', ARRAY['text', 'text', 'integer', 'text', 'integer', 'integer', 'text[]'], 'text');
SELECT function_returns('hrm_solve', ARRAY['text', 'integer[]', 'integer', 'text', 'integer', 'integer', 'text[]'], 'integer[]');
SELECT function_returns('hrm_trace', ARRAY['text', 'text', 'integer', 'text', 'integer'], 'setof record');
SELECT has_function('hrm_solve_batch', ARRAY['text', 'text[]', 'integer', 'text', 'integer', 'text[]']);
SELECT has_function('hrm_solve_batch', ARRAY['text', 'integer[]', 'integer', 'text', 'integer', 'text[]']);
SELECT has_function('hrm_solve_batch', ARRAY['text', 'text', 'integer', 'text', 'integer', 'text[]']);
SELECT function_returns('hrm_solve_batch', ARRAY['text', 'text[]', 'integer', 'text', 'integer', 'text[]'], 'setof record');

SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE proname IN ('hrm_solve', 'hrm_solve_detail', 'hrm_trace', 'hrm_solve_task')
              AND pronamespace = 'public'::regnamespace),
          13, 'thirteen solving functions');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE proname IN ('hrm_solve', 'hrm_solve_detail', 'hrm_trace', 'hrm_solve_task')
              AND provolatile = 's' AND proisstrict AND proparallel = 's'),
          13, 'every solving function is STABLE STRICT PARALLEL SAFE');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE proname IN ('hrm_solve', 'hrm_solve_detail', 'hrm_trace', 'hrm_solve_task')
              AND obj_description(oid, 'pg_proc') LIKE 'hrm: %'),
          13, 'every solving function has a COMMENT');
SELECT is((SELECT array_agg(DISTINCT p.proargnames[array_length(p.proargnames, 1) - 8 : array_length(p.proargnames, 1)]::text)
             FROM pg_proc p WHERE p.proname = 'hrm_solve_detail'),
          ARRAY['{solution,segments,confidence,valid,keeps_givens,reason,views_run,views_agreeing,certainty}'],
          'hrm_solve_detail returns solution, segments, confidence, valid, keeps_givens, reason, views_run, views_agreeing, certainty');
SELECT is((SELECT array_agg(DISTINCT p.proargnames[array_length(p.proargnames, 1) - 9 : array_length(p.proargnames, 1)]::text)
             FROM pg_proc p WHERE p.proname = 'hrm_solve_batch' AND p.proargtypes[1] <> 'text'::regtype),
          ARRAY['{idx,solution,segments,confidence,valid,keeps_givens,reason,views_run,views_agreeing,certainty}'],
          'hrm_solve_batch over arrays returns idx and hrm_solve_detail''s columns');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE proname = 'hrm_solve_batch' AND obj_description(oid, 'pg_proc') LIKE 'hrm: %'),
          3, 'the three hrm_solve_batch forms have a COMMENT');

-- Settings -------------------------------------------------------------------
SELECT is(current_setting('hrm.default_model'), '', 'hrm.default_model is unset by default');
SELECT is(current_setting('hrm.default_max_steps'), '0', 'hrm.default_max_steps defaults to 0 (the model''s halt_max_steps)');
SELECT is(current_setting('hrm.default_halt'), 'fixed', 'hrm.default_halt defaults to fixed');
SELECT is((SELECT enumvals FROM pg_settings WHERE name = 'hrm.default_halt'), ARRAY['fixed', 'adaptive'],
          'hrm.default_halt is an enum of fixed and adaptive');
SELECT throws_ok($$SET hrm.default_halt = 'never'$$, '22023', NULL, 'hrm.default_halt rejects other values');

-- Answers --------------------------------------------------------------------
SELECT is(hrm_solve_task('tap_sudoku'), 'sudoku', 'vocab 11, seq 81 is a Sudoku model');
SELECT is(hrm_solve_task('tap_maze'), 'maze', 'vocab 6, seq 900 is a maze model');
SELECT is(hrm_solve_task('tap_generic'), 'generic', 'other layouts are generic');
SELECT matches(hrm_solve('tap_sudoku', :p), '^[1-9]{81}$', 'a Sudoku answer is 81 digits');
SELECT is((hrm_solve_detail('tap_sudoku', :p)).solution, hrm_solve('tap_sudoku', :p),
          'hrm_solve_detail gives hrm_solve''s answer');
SELECT is((hrm_solve_detail('tap_sudoku', :p)).segments, 16, 'fixed halting runs halt_max_steps segments');
SELECT is((SELECT count(*)::int FROM hrm_trace('tap_sudoku', :p, 7)), 7, 'hrm_trace: max_steps rows with fixed halting');
SELECT is((SELECT prediction FROM hrm_trace('tap_sudoku', :p, 7) WHERE segment = 7), hrm_solve('tap_sudoku', :p, 7),
          'the last trace row is the answer');
SELECT cmp_ok((hrm_solve_detail('tap_sudoku', :p, halt => 'adaptive')).segments, '<=', 16,
              'adaptive halting never runs more segments than fixed');
SELECT is((SELECT count(*)::int FROM hrm_trace('tap_sudoku', :p, halt => 'adaptive')),
          (hrm_solve_detail('tap_sudoku', :p, halt => 'adaptive')).segments,
          'the adaptive trace has one row per segment used');
SELECT ok((SELECT (d.valid, d.keeps_givens, d.reason) IS NOT DISTINCT FROM (c.valid, c.keeps_givens, c.reason)
             FROM hrm_solve_detail('tap_sudoku', :p) d, hrm_sudoku_check(:p, d.solution) c),
          'valid, keeps_givens and reason are the Sudoku checker''s');
SELECT is(array_dims(hrm_solve('tap_sudoku', array_fill(0, ARRAY[9, 9]))), '[1:9][1:9]', 'int[9][9] in, int[9][9] out');
SELECT is(array_to_string(hrm_solve('tap_sudoku', (SELECT array_agg(CASE c WHEN '.' THEN 0 ELSE c::int END ORDER BY k)
                                                      FROM regexp_split_to_table(:p, '') WITH ORDINALITY x(c, k))), ''),
          hrm_solve('tap_sudoku', :p), 'int[81] gives the text answer''s digits');
SELECT matches(hrm_solve('tap_maze', E'S  #\n # G\n    '), E'^[# SGo]{4}\n[# SGo]{4}\n[# SGo]{4}$', 'a maze answer keeps the maze''s shape');
SELECT is((hrm_solve_detail('tap_maze', E'S  #\n # G\n    ')).segments, 4, 'the maze model runs its 4 segments');
SELECT is(array_length(hrm_solve('tap_generic', array_fill(1, ARRAY[100])), 1), 100, 'generic: one token per input token');
SELECT ok((SELECT valid IS NULL AND keeps_givens IS NULL AND reason IS NULL
             FROM hrm_solve_detail('tap_generic', array_fill(1, ARRAY[100]))),
          'generic models have no rule checker: NULL verdict');
SET LOCAL hrm.default_model = 'tap_sudoku';
SELECT is(hrm_solve(:p), hrm_solve('tap_sudoku', :p), 'hrm_solve(grid) uses hrm.default_model');
SET LOCAL hrm.default_max_steps = 2;
SELECT is((hrm_solve_detail(:p)).segments, 2, 'hrm.default_max_steps sets the default segments');
SET LOCAL hrm.default_halt = 'adaptive';
SELECT is((hrm_solve_detail(:p, 16)).segments, (hrm_solve_detail(:p, 16, 'adaptive')).segments,
          'hrm.default_halt sets the default halting');
RESET hrm.default_halt;
RESET hrm.default_max_steps;
RESET hrm.default_model;

-- SQLSTATEs ------------------------------------------------------------------
SELECT throws_ok($$SELECT hrm_solve('tap_nothing', repeat('.', 81))$$, '42704', 'model "tap_nothing" does not exist',
                 'unknown model: 42704');
SELECT throws_ok($$SELECT hrm_solve(repeat('.', 81))$$, '55000', 'no model given and hrm.default_model is not set',
                 'no model and no hrm.default_model: 55000');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', repeat('.', 80))$$, '22P02', NULL, 'Sudoku text of 80 cells: 22P02');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', 'a' || repeat('.', 80))$$, '22P02', NULL, 'a letter in a Sudoku: 22P02');
SELECT throws_ok($$SELECT hrm_solve('tap_maze', E'S  \n # \n  ')$$, '22P02', NULL, 'ragged maze rows: 22P02');
SELECT throws_ok($$SELECT hrm_solve('tap_maze', E'S x\n  G')$$, '22P02', NULL, 'a bad maze character: 22P02');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', array_fill(0, ARRAY[8, 9]))$$, '22023', NULL, 'int[8][9] Sudoku: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', array_fill(11, ARRAY[81]))$$, '22023', NULL, 'cell 11: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_generic', array_fill(12, ARRAY[100]))$$, '22023', NULL,
                 'a token outside the vocabulary: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_generic', array_fill(1, ARRAY[99]))$$, '22023', NULL, 'wrong token count: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', array_fill(NULL::int, ARRAY[81]))$$, '22004', NULL, 'NULL cells: 22004');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', E'S  #\n # G\n    ')$$, '42809', NULL, 'a maze for a Sudoku model: 42809');
SELECT throws_ok(format('SELECT hrm_solve(%L, %L)', 'tap_maze', :p), '42809', NULL, 'a Sudoku for a maze model: 42809');
SELECT throws_ok($$SELECT hrm_solve('tap_generic', 'S G')$$, '42809', NULL, 'text for a token model: 42809');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', repeat('.', 81), 0, 'eventually')$$, '22023',
                 'invalid halt mode "eventually"', 'a bad halt mode: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', repeat('.', 81), -3)$$, '22023', NULL, 'negative max_steps: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', repeat('.', 81), views => 0)$$, '22023',
                 'views must be between 1 and 64, not 0', 'views 0: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_sudoku', repeat('.', 81), views => 65)$$, '22023', NULL, 'views 65: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_maze', E'S  #\n # G\n    ', views => 9)$$, '22023', NULL,
                 'nine views of a maze: 22023');
SELECT throws_ok($$SELECT hrm_solve('tap_generic', array_fill(1, ARRAY[100]), views => 2)$$, '22023', NULL,
                 'views of a token model: 22023');

SELECT * FROM finish();
ROLLBACK;
