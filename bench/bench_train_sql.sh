#!/usr/bin/env bash
# Training from SQL, end to end (issue 6; not part of CI):
#
#   bash bench/bench_train_sql.sh [OUT_DIR]
#
# On a throwaway cluster (pg_virtualenv): generate Sudoku puzzles with 20
# blanks in SQL (hrm_sudoku_generate), train a new model with hrm_train and
# the recipe defaults for at most BENCH_MINUTES minutes of training (default
# 20; checkpoints and their evaluations are not counted), then hrm_evaluate
# it on 1000 held-out puzzles of the same kind.  Prints the figures and the
# training curve; writes OUT_DIR/sql_curve.csv (the columns of
# bench/train_recipe's --csv, so bench/plot_curve.py can draw it) and
# OUT_DIR/sql_summary.txt.
#
# Environment: BENCH_MINUTES (20), BENCH_THREADS (2), BENCH_PUZZLES (100000
# training puzzles), BENCH_BLANKS (20, or a range such as 30-40, for both the
# training and the held-out puzzles; the held-out ones come from another
# generator seed and exclude training puzzles), BENCH_OPTIONS (extra hrm_train options as JSON, merged
# over the defaults, e.g. '{"hidden_size": 64}').  Also evaluates an ensemble: the model and
# the two kept checkpoints before its last (hrm_export_checkpoint + hrm_import), voting, plain and
# with views => 8.
set -euo pipefail

cd "$(dirname "$0")/.."
export BENCH_MINUTES=${BENCH_MINUTES:-20}
export BENCH_THREADS=${BENCH_THREADS:-2}
export BENCH_PUZZLES=${BENCH_PUZZLES:-100000}
export BENCH_OPTIONS=${BENCH_OPTIONS:-'{}'}
export BENCH_BLANKS=${BENCH_BLANKS:-20}
export OUT_DIR=$(mkdir -p "${1:-/tmp/hrm_bench_train_sql}" && cd "${1:-/tmp/hrm_bench_train_sql}" && pwd)

if [ "${2:-}" != "--inside" ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then
        SUDO="sudo"
    fi
    make -s >/dev/null
    $SUDO make -s install >/dev/null
    port=5433
    for i in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        if [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ] &&
            ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            port=$p
            break
        fi
    done
    PGPORT=$port exec pg_virtualenv -t bash "$0" "$OUT_DIR" --inside
fi

echo "bench_train_sql: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
psql -X -q -v ON_ERROR_STOP=1 -v minutes="$BENCH_MINUTES" -v threads="$BENCH_THREADS" \
     -v puzzles="$BENCH_PUZZLES" -v extra="$BENCH_OPTIONS" -v out="$OUT_DIR" \
     -v bmin="${BENCH_BLANKS%-*}" -v bmax="${BENCH_BLANKS#*-}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION hrm;
\pset footer off
\timing on
CREATE TABLE puzzles AS SELECT * FROM hrm_sudoku_generate(:puzzles, :bmin, :bmax, 1);
CREATE TABLE held_out AS
SELECT * FROM hrm_sudoku_generate(1100, :bmin, :bmax, 2) h WHERE NOT EXISTS (SELECT FROM puzzles p WHERE p.puzzle = h.puzzle) LIMIT 1000;
\timing off
SELECT (SELECT count(*) FROM puzzles) AS training_puzzles, (SELECT count(*) FROM held_out) AS held_out_puzzles;

SET client_min_messages = notice;
SELECT * FROM hrm_train('bench', 'puzzles',
                        jsonb_build_object('max_minutes', :minutes, 'threads', :threads,
                                           'checkpoint_every', '2min', 'log_every', '1min', 'progress', 60,
                                           'eval_source', 'SELECT * FROM held_out LIMIT 200')
                        || :'extra'::jsonb);
SET client_min_messages = warning;

SELECT step, round((train_seconds / 60)::numeric, 2) AS train_minutes, round((elapsed / 60)::numeric, 2) AS wall_minutes,
       round(loss::numeric, 4) AS loss, round(100 * accuracy::numeric, 1) AS "token acc %",
       round(100 * exact_accuracy::numeric, 1) AS "exact %",
       round(100 * eval_exact_accuracy::numeric, 1) AS "eval exact % (200)",
       round(100 * eval_token_accuracy::numeric, 1) AS "eval token % (200)",
       round(examples_per_second::numeric, 1) AS "examples/s"
  FROM hrm.training_log ORDER BY step;

\echo 'held-out evaluation (1000 puzzles,' :bmin '-' :bmax 'blanks):'
\timing on
CREATE TEMP TABLE final AS SELECT * FROM hrm_evaluate('bench', 'held_out');
\timing off
SELECT "rows", round(100 * exact_accuracy::numeric, 2) AS "exact %", round(100 * token_accuracy::numeric, 2) AS "token %",
       mean_segments, round(rows_per_second::numeric, 1) AS "rows/s" FROM final;
\echo 'the same with test-time scaling (views => 8: the puzzle under 8 of its symmetries, one vote):'
\timing on
CREATE TEMP TABLE final_views AS SELECT * FROM hrm_evaluate('bench', 'held_out', '{"views": 8}');
\timing off
SELECT "rows", round(100 * exact_accuracy::numeric, 2) AS "exact %", round(100 * token_accuracy::numeric, 2) AS "token %",
       mean_segments, round(rows_per_second::numeric, 1) AS "rows/s" FROM final_views;

-- an ensemble: the model and the two kept checkpoints before its last one, made models
SELECT hrm_import('bench_step_' || step, hrm_export_checkpoint('bench', step)) AS ensemble_member
  FROM (SELECT step FROM hrm.checkpoint WHERE model = 'bench' ORDER BY step DESC OFFSET 1 LIMIT 2) c ORDER BY step;
SELECT jsonb_build_object('ensemble', jsonb_agg(name ORDER BY substring(name FROM '[0-9]+$')::int DESC)) AS ens
  FROM hrm.model WHERE name LIKE 'bench\_step\_%' \gset
\echo 'the model and its two previous checkpoints, voting (ensemble):' :'ens'
\timing on
CREATE TEMP TABLE final_ens AS SELECT * FROM hrm_evaluate('bench', 'held_out', :'ens');
\timing off
SELECT "rows", round(100 * exact_accuracy::numeric, 2) AS "exact %", round(100 * token_accuracy::numeric, 2) AS "token %",
       mean_segments, round(rows_per_second::numeric, 1) AS "rows/s" FROM final_ens;
\echo 'the ensemble with views => 8:'
\timing on
CREATE TEMP TABLE final_ens_views AS SELECT * FROM hrm_evaluate('bench', 'held_out', :'ens'::jsonb || '{"views": 8}');
\timing off
SELECT "rows", round(100 * exact_accuracy::numeric, 2) AS "exact %", round(100 * token_accuracy::numeric, 2) AS "token %",
       mean_segments, round(rows_per_second::numeric, 1) AS "rows/s" FROM final_ens_views;
SELECT j.step AS steps, j.examples, round((j.seconds / 60)::numeric, 2) AS wall_minutes,
       round((l.train_seconds / 60)::numeric, 2) AS train_minutes, m.n_params, m.hyperparameters
  FROM hrm.job j JOIN hrm.model m ON m.name = j.model
  LEFT JOIN LATERAL (SELECT train_seconds FROM hrm.training_log WHERE job = j.id ORDER BY step DESC LIMIT 1) l ON true
 WHERE j.model = 'bench';

-- the curve in train_recipe's CSV columns (eval at checkpoints on 200 held-out puzzles)
\set csv :out '/sql_curve.csv'
COPY (SELECT 'sql' AS tag, round((train_seconds / 60)::numeric, 3) AS minutes, step AS steps,
             round(loss::numeric, 5) AS train_loss, round(accuracy::numeric, 5) AS train_token_acc,
             round(eval_exact_accuracy::numeric, 5) AS eval_exact, round(eval_token_accuracy::numeric, 5) AS eval_token,
             round((step / nullif(train_seconds, 0))::numeric, 3) AS steps_per_s, lr, 1 AS curriculum,
             round(epochs::numeric, 3) AS epochs
        FROM hrm.training_log WHERE checkpoint ORDER BY step) TO STDOUT WITH (FORMAT csv, HEADER) \g :csv
\set summary :out '/sql_summary.txt'
\pset tuples_only on
\pset format unaligned
SELECT format('minutes=%s steps=%s exact=%s token=%s views8_exact=%s ensemble3_exact=%s ensemble3_views8_exact=%s rows_per_s=%s params=%s',
              round((l.train_seconds / 60)::numeric, 2), j.step, round(f.exact_accuracy::numeric, 4),
              round(f.token_accuracy::numeric, 4), round(v.exact_accuracy::numeric, 4),
              round(e.exact_accuracy::numeric, 4), round(ev.exact_accuracy::numeric, 4),
              round(f.rows_per_second::numeric, 1), m.n_params)
  FROM final f, final_views v, final_ens e, final_ens_views ev, hrm.job j JOIN hrm.model m ON m.name = j.model,
       LATERAL (SELECT train_seconds FROM hrm.training_log WHERE job = j.id ORDER BY step DESC LIMIT 1) l
 WHERE j.model = 'bench' \g :summary
SQL
echo "wrote $OUT_DIR/sql_curve.csv and $OUT_DIR/sql_summary.txt"
cat "$OUT_DIR/sql_summary.txt"
