#!/bin/sh
# bench/bench_views.sh — test-time scaling and batched solving, measured in a
# database that holds a model and a table of puzzles with their solutions.
#
#   bench/bench_views.sh MODEL TABLE [psql options...]
#
# TABLE (or a view, or a parenthesised query with an alias) has the columns
# puzzle and solution (text: Sudoku or maze, as hrm_solve reads and writes
# them).  The first N rows (default all) are copied into a temporary table,
# then, in one backend without parallel workers (so one-by-one is one core,
# like the batch):
#
#   plain     one by one   SELECT hrm_solve_detail(model, puzzle) FROM t
#   plain     batched      SELECT * FROM hrm_solve_batch(model, 'SELECT id, puzzle FROM t')
#   views=V   one by one   hrm_solve_detail(model, puzzle, views => V)
#   views=V   batched      hrm_solve_batch(..., views => V)
#
# and prints for each: exact accuracy (answer = solution), rule-valid answers
# (valid and keeps_givens), seconds and puzzles/s; then the speed-up of
# batching and whether batched answers equal the one-by-one ones.
#
# Environment: VIEWS (default 8), N (rows; default all), MAX_STEPS (default 0
# = the model's), HALT (default 'default'), THREADS (hrm.threads, default
# the session's).  Run it on a quiet machine: the figures are wall-clock.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 MODEL TABLE [psql options...]" >&2
	exit 2
fi
MODEL=$1
TABLE=$2
shift 2
VIEWS=${VIEWS:-8}
N=${N:-}
MAX_STEPS=${MAX_STEPS:-0}
HALT=${HALT:-default}
THREADS=${THREADS:-}

LIMIT=""
[ -n "$N" ] && LIMIT="LIMIT $N"
SET_THREADS=""
[ -n "$THREADS" ] && SET_THREADS="SET hrm.threads = $THREADS;"

psql -X -q -v ON_ERROR_STOP=1 -v model="$MODEL" -v views="$VIEWS" -v steps="$MAX_STEPS" -v halt="$HALT" "$@" <<SQL
\pset footer off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
$SET_THREADS
CREATE TEMP TABLE bench_views_t AS
SELECT row_number() OVER () AS id, puzzle, solution FROM (SELECT puzzle, solution FROM $TABLE $LIMIT) s;
ANALYZE bench_views_t;

-- run q (returning exact, valid, rows) and time it
CREATE FUNCTION pg_temp.timed(q text, OUT exact bigint, OUT valid bigint, OUT n bigint, OUT seconds float8)
LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE q INTO exact, valid, n;
    seconds := extract(epoch FROM clock_timestamp() - t0);
END \$\$;

-- warm up: the model into this backend, the scratch allocated
SELECT count(*) AS warm FROM hrm_solve_batch(:'model', ARRAY(SELECT puzzle FROM bench_views_t ORDER BY id LIMIT 2),
                                              :steps, :'halt', :views) \gset

CREATE TEMP TABLE bench_views_one AS
SELECT t.id, 1 AS v, d.solution, d.valid AND d.keeps_givens AS ok
  FROM bench_views_t t, hrm_solve_detail(:'model', t.puzzle, :steps, :'halt') d WITH NO DATA;

CREATE TEMP TABLE bench_views_bat (LIKE bench_views_one);

CREATE TEMP TABLE bench_views_res (mode text, how text, exact bigint, valid bigint, n bigint, seconds float8);
INSERT INTO bench_views_res SELECT 'plain', 'one by one', r.* FROM pg_temp.timed(format(\$q\$
    WITH a AS (INSERT INTO bench_views_one
               SELECT t.id, 1, d.solution, d.valid AND d.keeps_givens
                 FROM bench_views_t t, hrm_solve_detail(%L, t.puzzle, %s, %L) d RETURNING *)
    SELECT count(*) FILTER (WHERE a.solution = t.solution), count(*) FILTER (WHERE a.ok), count(*)
      FROM a JOIN bench_views_t t USING (id)\$q\$, :'model', :steps, :'halt')) r;
INSERT INTO bench_views_res SELECT 'plain', 'batched', r.* FROM pg_temp.timed(format(\$q\$
    WITH b AS (INSERT INTO bench_views_bat
               SELECT id, 1, solution, valid AND keeps_givens
                 FROM hrm_solve_batch(%L, 'SELECT id, puzzle FROM bench_views_t ORDER BY id', %s, %L) RETURNING *)
    SELECT count(*) FILTER (WHERE b.solution = t.solution), count(*) FILTER (WHERE b.ok), count(*)
      FROM b JOIN bench_views_t t USING (id)\$q\$, :'model', :steps, :'halt')) r;
INSERT INTO bench_views_res SELECT 'views=' || :views, 'one by one', r.* FROM pg_temp.timed(format(\$q\$
    WITH a AS (INSERT INTO bench_views_one
               SELECT t.id, %s, d.solution, d.valid AND d.keeps_givens
                 FROM bench_views_t t, hrm_solve_detail(%L, t.puzzle, %s, %L, %s) d RETURNING *)
    SELECT count(*) FILTER (WHERE a.solution = t.solution), count(*) FILTER (WHERE a.ok), count(*)
      FROM a JOIN bench_views_t t USING (id)\$q\$, :views, :'model', :steps, :'halt', :views)) r;
INSERT INTO bench_views_res SELECT 'views=' || :views, 'batched', r.* FROM pg_temp.timed(format(\$q\$
    WITH b AS (INSERT INTO bench_views_bat
               SELECT id, %s, solution, valid AND keeps_givens
                 FROM hrm_solve_batch(%L, 'SELECT id, puzzle FROM bench_views_t ORDER BY id', %s, %L, %s) RETURNING *)
    SELECT count(*) FILTER (WHERE b.solution = t.solution), count(*) FILTER (WHERE b.ok), count(*)
      FROM b JOIN bench_views_t t USING (id)\$q\$, :views, :'model', :steps, :'halt', :views)) r;

\echo
\echo model :model, views :views, max_steps :steps, halt :halt
SELECT mode, how, n AS puzzles,
       round(100.0 * exact / nullif(n, 0), 2) AS exact_pct,
       round(100.0 * valid / nullif(n, 0), 2) AS valid_pct,
       round(seconds::numeric, 3) AS seconds,
       round((n / nullif(seconds, 0))::numeric, 2) AS puzzles_per_s
  FROM bench_views_res ORDER BY mode <> 'plain', how DESC;
SELECT o.mode, round((o.seconds / nullif(b.seconds, 0))::numeric, 2) AS batch_speedup
  FROM bench_views_res o JOIN bench_views_res b ON b.mode = o.mode AND b.how = 'batched'
 WHERE o.how = 'one by one' ORDER BY o.mode <> 'plain';
-- batched answers against the one-by-one ones (the same answers are expected)
SELECT o.v AS views, count(*) AS puzzles, count(*) FILTER (WHERE o.solution = b.solution) AS batched_equal
  FROM bench_views_one o JOIN bench_views_bat b USING (id, v)
 GROUP BY o.v ORDER BY o.v;
SQL
