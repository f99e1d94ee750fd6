-- Progress of hrm_evaluate and hrm_solve_batch: NOTICE lines every
-- hrm.progress_interval (0: before every chunk but the first, -1: none)
-- with their counts, and the call's row in hrm.progress while it runs (read
-- here from inside the call, by its own source query; test/specs/progress_watch.spec
-- watches it from another session).  VERBOSITY terse keeps the NOTICE lines'
-- counts and drops their detail (elapsed time, rate, ETA), which varies.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('pr_sudoku', decode(:'w', 'base64'), task => 'sudoku');
CREATE TABLE pr_puzzles AS
SELECT row_number() OVER () AS id, puzzle, solution FROM hrm_sudoku_generate(40, 20, 11);

-- the setting: seconds (a unit), default 5, -1 to 86400
SHOW hrm.progress_interval;
SET hrm.progress_interval = '1min';
SHOW hrm.progress_interval;
SET hrm.progress_interval = -2;
RESET hrm.progress_interval;

\set VERBOSITY terse
SET client_min_messages = notice;
SET hrm.progress_interval = 0;

-- hrm_evaluate: 40 rows in chunks of 16, a line before the 2nd and 3rd chunk
SELECT "rows" FROM hrm_evaluate('pr_sudoku', 'SELECT puzzle, solution FROM pr_puzzles', '{"batch_rows": 16, "segments": 2}');
-- max_rows is the total
SELECT "rows" FROM hrm_evaluate('pr_sudoku', 'SELECT puzzle, solution FROM pr_puzzles', '{"batch_rows": 10, "max_rows": 25, "segments": 2}');

-- hrm_solve_batch: with views => 8 a Sudoku batch solves 32 grids per chunk
SELECT count(*) AS solved
  FROM hrm_solve_batch('pr_sudoku', (SELECT array_agg(puzzle ORDER BY id) FROM pr_puzzles), max_steps => 2, views => 8);
SELECT count(*) AS solved
  FROM hrm_solve_batch('pr_sudoku', (SELECT array_agg(string_to_array(replace(puzzle, '.', '0'), NULL)::int[] ORDER BY id, k)
                                       FROM pr_puzzles CROSS JOIN generate_series(1, 2) k), max_steps => 2, views => 8);
-- the query form does not know its total
SELECT count(*) AS solved
  FROM hrm_solve_batch('pr_sudoku', 'SELECT id, puzzle FROM pr_puzzles CROSS JOIN generate_series(1, 3)', max_steps => 2, views => 8);

-- one chunk: nothing to report
SELECT count(*) AS solved FROM hrm_solve_batch('pr_sudoku', (SELECT array_agg(puzzle) FROM pr_puzzles), max_steps => 2);

-- -1: no lines; a long interval: no lines either (the calls take far less)
SET hrm.progress_interval = -1;
SELECT "rows" FROM hrm_evaluate('pr_sudoku', 'SELECT puzzle, solution FROM pr_puzzles', '{"batch_rows": 16, "segments": 2}');
SET hrm.progress_interval = '1h';
SELECT count(*) AS solved
  FROM hrm_solve_batch('pr_sudoku', (SELECT array_agg(puzzle ORDER BY id) FROM pr_puzzles), max_steps => 2, views => 8);
SET client_min_messages = warning;
\set VERBOSITY default

-- The running call's row, seen by its own source query as each chunk is
-- read: done counts the grids solved before (total is unknown for a query),
-- and the other columns name the call.  The query's id column carries both
-- (a volatile function, so that it reads hrm.progress for every row).
CREATE FUNCTION pg_temp.pr_seen(bigint) RETURNS integer LANGUAGE sql VOLATILE AS $$
    SELECT (done * 10 + (total IS NULL)::int
            + 2 * (function = 'hrm_solve_batch' AND model = 'pr_sudoku' AND phase = 'solving'
                   AND unit = 'grids' AND database = current_database() AND role = session_user
                   AND started <= clock_timestamp() AND elapsed >= '0'
                   AND (done = 0 OR per_second > 0) AND eta IS NULL)::int)::int
      FROM hrm.progress WHERE pid = pg_backend_pid() AND $1 > 0
$$;
SELECT id / 10 AS done_before, id % 10 AS total_unknown_and_named, count(*) AS grids
  FROM hrm_solve_batch('pr_sudoku', 'SELECT pg_temp.pr_seen(id), puzzle FROM pr_puzzles CROSS JOIN generate_series(1, 2)',
                       max_steps => 2, views => 8)
 GROUP BY id ORDER BY id;

-- hrm_evaluate reads its source in the phase "reading source"
SELECT "rows"
  FROM hrm_evaluate('pr_sudoku',
        $$SELECT puzzle, solution FROM pr_puzzles q
           WHERE EXISTS (SELECT FROM hrm.progress
                          WHERE pid = pg_backend_pid() AND function = 'hrm_evaluate' AND phase = 'reading source'
                            AND total IS NULL AND done = 0 AND q.id > 0)$$, '{"segments": 2}');

-- Calls leave no row behind: after they end, and after an error (a bad
-- grid in the second chunk, a cancelled evaluation)
SELECT count(*) AS rows_left FROM hrm.progress WHERE pid = pg_backend_pid();
SELECT count(*) FROM hrm_solve_batch('pr_sudoku',
        $$SELECT id, CASE WHEN id = 40 THEN 'bad' ELSE puzzle END FROM pr_puzzles$$, max_steps => 2, views => 8);
-- (terse: the timeout may come while the source is read, with a CONTEXT line, or later)
\set VERBOSITY terse
SET statement_timeout = '50ms';
SELECT "rows" FROM hrm_evaluate('pr_sudoku', 'SELECT puzzle, solution FROM pr_puzzles CROSS JOIN generate_series(1, 500)',
                                '{"batch_rows": 8, "segments": 16}');
RESET statement_timeout;
\set VERBOSITY default
SELECT count(*) AS rows_left FROM hrm.progress WHERE pid = pg_backend_pid();

-- hrm.progress's columns; what a role that is not the session's sees of
-- its call (as pg_stat_activity shows another role's query): the pid,
-- database, role and function, not the model or the counts
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'hrm.progress'::regclass AND attnum > 0 ORDER BY attnum;
DROP ROLE IF EXISTS pr_other;
CREATE ROLE pr_other;
SELECT hrm_grant('pr_sudoku', 'pr_other');
GRANT SELECT ON pr_puzzles TO pr_other;
CREATE FUNCTION pg_temp.pr_hidden(bigint) RETURNS integer LANGUAGE sql VOLATILE AS $$
    SELECT (function = 'hrm_solve_batch' AND role = session_user AND database = current_database()
            AND model IS NULL AND phase IS NULL AND done IS NULL AND started IS NULL)::int
      FROM hrm.progress WHERE pid = pg_backend_pid() AND $1 > 0
$$;
SET ROLE pr_other;
SELECT id AS only_pid_database_role_function, count(*) AS grids
  FROM hrm_solve_batch('pr_sudoku', 'SELECT pg_temp.pr_hidden(id), puzzle FROM pr_puzzles', max_steps => 2)
 GROUP BY id;
RESET ROLE;
REVOKE SELECT ON pr_puzzles FROM pr_other;
SELECT hrm_revoke('pr_sudoku', 'pr_other');
DROP ROLE pr_other;

SELECT hrm_drop_model('pr_sudoku');
DROP TABLE pr_puzzles;
