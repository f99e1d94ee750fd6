#!/usr/bin/env bash
# The hrm demo on a throwaway cluster: solve Sudoku with the shipped model,
# then train a model inside PostgreSQL.
#
#   bash tools/demo.sh
#
# installs the Debian packages it lacks (tools/install_deps.sh demo: apt-get,
# as root or with sudo, only when something is missing), builds and installs
# the extension, starts a temporary PostgreSQL 15 cluster (pg_virtualenv),
# and then, in SQL only:
#   0. loads the shipped Sudoku model (hrm_load_pretrained('sudoku')) and
#      solves a table of generated puzzles with 20, 35 and 50 blanks with
#      hrm_solve, checking every answer with hrm_sudoku_check (the rules
#      and the givens) and against the known solution;
#   1. generates Sudoku puzzles with 20 blanks (hrm_sudoku_generate: unique
#      solutions, checked by the exact solver) into a table;
#   2. trains a new model on the table with hrm_train and the recipe's
#      defaults for DEMO_MINUTES minutes (default 3), in a background worker
#      that commits checkpoints, with live NOTICE progress;
#   3. shows the training curve (hrm.training_log) and evaluates the model on
#      held-out puzzles with hrm_evaluate;
#   4. solves a few held-out puzzles (hrm_solve when it exists, else the
#      argmax of hrm_forward) and prints them as 9x9 grids with their
#      validity (hrm_sudoku_check).
# The cluster is dropped at the end.  DEMO_MINUTES and DEMO_THREADS (default:
# the number of cores, at most 4) change the budget.  docs/training.md has
# what the recipe reaches in 20 minutes and longer.
set -euo pipefail

cd "$(dirname "$0")/.."
export DEMO_MINUTES=${DEMO_MINUTES:-3}
cores=$(nproc 2>/dev/null || echo 2)
export DEMO_THREADS=${DEMO_THREADS:-$((cores > 4 ? 4 : cores))}

if [ "${1:-}" != "--inside" ]; then
    # the Debian packages it needs, when some are missing (tools/install_deps.sh)
    bash tools/install_deps.sh demo
    SUDO=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then
        SUDO="sudo"
    fi
    make -s >/dev/null
    $SUDO make -s install >/dev/null
    # a port nobody listens on, so the demo does not race other clusters for 5433
    port=5433
    for i in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        if [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ] &&
            ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            port=$p
            break
        fi
    done
    PGPORT=$port exec pg_virtualenv -t bash "$0" --inside
fi

start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v minutes="$DEMO_MINUTES" -v threads="$DEMO_THREADS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION hrm;
\pset footer off

-- a 9x9 grid (81 characters, '.' for blanks) as 11 lines of text
CREATE FUNCTION pg_temp.grid(g text) RETURNS TABLE (r int, line text) LANGUAGE sql AS $$
    SELECT k, CASE WHEN k IN (3, 7) THEN '------+-------+------'
                   ELSE concat_ws(' | ', substr(l, 1, 5), substr(l, 7, 5), substr(l, 13, 5)) END
      FROM generate_series(0, 10) k,
           LATERAL (SELECT array_to_string(ARRAY(SELECT substr(g, (k - (k > 3)::int - (k > 7)::int) * 9 + c + 1, 1)
                                                 FROM generate_series(0, 8) c), ' ') AS l) x
     ORDER BY k
$$;

SELECT EXISTS (SELECT FROM hrm_pretrained() WHERE name = 'sudoku') AS has_pretrained \gset
\if :has_pretrained
\echo
\echo '-- 0. The shipped Sudoku model: hrm_load_pretrained, then hrm_solve on new puzzles'
\echo
SELECT name, task, n_params, description FROM hrm_pretrained();
SELECT hrm_load_pretrained('sudoku', 'shipped') AS loaded;
CREATE TABLE sudoku AS
SELECT b AS blanks, g.puzzle, g.solution
  FROM unnest(ARRAY[20, 35, 50]) b, LATERAL hrm_sudoku_generate(50, b, 1000 + b) g;
\timing on
CREATE TABLE solved AS SELECT blanks, puzzle, solution, hrm_solve('shipped', puzzle) AS answer FROM sudoku;
\timing off
SELECT blanks, count(*) AS puzzles,
       count(*) FILTER (WHERE c.valid AND c.keeps_givens) AS "valid answers (hrm_sudoku_check)",
       count(*) FILTER (WHERE answer = solution) AS "equal to the solution",
       round(100.0 * count(*) FILTER (WHERE answer = solution) / count(*), 1) AS "solved %"
  FROM solved CROSS JOIN LATERAL hrm_sudoku_check(puzzle, answer) c
 GROUP BY blanks ORDER BY blanks;
\echo
\echo '-- one 50-blank puzzle and the answer of SELECT hrm_solve(''shipped'', puzzle)'
SELECT p.line AS puzzle, a.line AS "hrm_solve's answer"
  FROM (SELECT * FROM solved WHERE blanks = 50 LIMIT 1) s
  CROSS JOIN LATERAL pg_temp.grid(s.puzzle) p
  JOIN LATERAL pg_temp.grid(s.answer) a ON a.r = p.r
 ORDER BY p.r;
\else
\echo
\echo '-- 0. (no shipped model is installed: models/sudoku.safetensors is missing)'
\endif

\echo
\echo '-- 1. Sudoku puzzles generated in SQL: 20 blanks each, unique solutions'
\echo
\timing on
CREATE TABLE puzzles AS SELECT * FROM hrm_sudoku_generate(20000, 20, 1);
CREATE TABLE held_out AS
SELECT * FROM hrm_sudoku_generate(500, 20, 2) h WHERE NOT EXISTS (SELECT FROM puzzles p WHERE p.puzzle = h.puzzle);
\timing off
SELECT (SELECT count(*) FROM puzzles) AS training_puzzles, (SELECT count(*) FROM held_out) AS held_out_puzzles,
       (SELECT puzzle FROM puzzles LIMIT 1) AS "first puzzle (. = blank)";

\echo
\echo '-- 2. hrm_train: a new model with the recipe defaults, for' :minutes 'minutes, in a background worker'
\echo '--    (SELECT * FROM hrm.training shows the job from any other session meanwhile)'
\echo
SET client_min_messages = notice;
SELECT job, steps, examples, round(train_loss::numeric, 4) AS train_loss,
       round(100 * eval_exact_accuracy::numeric, 1) AS "eval exact %", round(seconds::numeric) AS seconds,
       last_checkpoint, state
  FROM hrm_train('sudoku', 'puzzles',
                 jsonb_build_object('max_minutes', :minutes, 'threads', :threads,
                                    'checkpoint_every', '1min', 'log_every', '15s', 'progress', 10));
SET client_min_messages = warning;
SELECT name, task, n_params, size, generation, source FROM hrm.models;
SELECT step, round(elapsed::numeric) AS seconds, round(loss::numeric, 4) AS loss,
       round(100 * accuracy::numeric, 1) AS "token acc %", round(100 * exact_accuracy::numeric, 1) AS "exact %",
       round(100 * eval_token_accuracy::numeric, 1) AS "eval token acc %",
       CASE WHEN checkpoint THEN 'checkpoint' ELSE '' END AS " "
  FROM hrm.training_log ORDER BY step;

\echo
\echo '-- 3. hrm_evaluate on the held-out puzzles (copying the givens alone scores 75.3% of the cells)'
\echo
SELECT "rows", round(100 * exact_accuracy::numeric, 1) AS "exact %",
       round(100 * token_accuracy::numeric, 1) AS "token accuracy %", mean_segments,
       round(rows_per_second::numeric) AS "rows/s"
  FROM hrm_evaluate('sudoku', 'held_out', '{"max_rows": 200}');

\echo
\echo '-- 4. Three held-out puzzles solved by the model: puzzle, answer, validity'
\echo
SELECT EXISTS (SELECT FROM pg_proc WHERE proname = 'hrm_solve') AS has_solve \gset
CREATE TEMP TABLE shown AS SELECT row_number() OVER () AS n, puzzle, solution FROM (SELECT * FROM held_out LIMIT 3) h;
\if :has_solve
ALTER TABLE shown ADD COLUMN answer text;
UPDATE shown SET answer = hrm_solve('sudoku', puzzle);
\else
-- the argmax of the model's logits, cell by cell (tokens 2..10 are the digits 1..9)
CREATE TEMP TABLE answers AS
SELECT s.n, string_agg(CASE WHEN a.tok >= 2 THEN (a.tok - 1)::text ELSE '.' END, '' ORDER BY a.pos) AS answer
  FROM shown s
  CROSS JOIN LATERAL (SELECT logits FROM hrm_forward('sudoku', hrm_sudoku_encode(s.puzzle)) ORDER BY segment DESC LIMIT 1) f
  CROSS JOIN LATERAL (SELECT DISTINCT ON (pos) pos, tok
                        FROM (SELECT (k - 1) / 11 AS pos, (k - 1) % 11 AS tok, x
                                FROM unnest(f.logits) WITH ORDINALITY u(x, k)) c
                       ORDER BY pos, x DESC) a
 GROUP BY s.n;
ALTER TABLE shown ADD COLUMN answer text;
UPDATE shown SET answer = a.answer FROM answers a WHERE a.n = shown.n;
\endif
SELECT CASE WHEN p.r = 0 THEN s.n::text ELSE '' END AS "#", p.line AS puzzle, a.line AS "model's answer",
       CASE WHEN p.r = 0 THEN CASE WHEN c.valid AND c.keeps_givens THEN 'solved' ELSE 'not solved' END
            WHEN p.r = 1 THEN (SELECT count(*) FROM generate_series(1, 81) i
                                WHERE substr(s.answer, i, 1) <> substr(s.solution, i, 1)) || ' of 81 cells wrong'
            WHEN p.r = 2 THEN coalesce(c.reason, '') ELSE '' END AS "hrm_sudoku_check"
  FROM shown s
  CROSS JOIN LATERAL hrm_sudoku_check(s.puzzle, s.answer) c
  CROSS JOIN LATERAL pg_temp.grid(s.puzzle) p
  JOIN LATERAL pg_temp.grid(s.answer) a ON a.r = p.r
 ORDER BY s.n, p.r;
SQL
echo
echo "demo: $(( $(date +%s) - start )) s on the throwaway cluster ($DEMO_THREADS BLAS threads)"
