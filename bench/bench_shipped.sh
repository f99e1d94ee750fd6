#!/usr/bin/env bash
# Accuracy of the shipped Sudoku model (models/sudoku.safetensors; not part of CI):
#
#   bash bench/bench_shipped.sh [OUT_DIR]
#
# Builds and installs the extension (make install copies the shipped model),
# then on a throwaway cluster (pg_virtualenv -t, a free port) imports it with
# hrm_load_pretrained('sudoku') and measures it with hrm_evaluate, plain (the
# model's own segments, what hrm_solve does) and with views => VIEWS, on:
#
#   - held-out generated puzzles with 1-5 (near-complete grids, where HRM is
#     known to fail), 20, 30-40 and 45-55 blanks, N of each, from
#     hrm_sudoku_generate seeds 9101, 9120, 9130 and 9145: the model was
#     trained by tools/train_shipped_sudoku.sh on the engine generator's
#     data seeds 1 and 2 and evaluated during training on their own held-out
#     streams; these seeds were used by none;
#   - the tdoku collections in $HRM_DATA/sudoku (default test/data, the first
#     200 puzzles of each; HRM_DATA=DIR for whole collections), the first
#     TDOKU_LIMIT puzzles of each, the reference answer from the exact solver
#     (hrm_sudoku_solve_exact; the collections have unique solutions).
#
# Prints one row per set (puzzles, exact and cell accuracy plain, exact with
# views, puzzles/s of each) and writes OUT_DIR/shipped.txt.  Accuracy does
# not depend on the machine's load; the puzzles/s columns do.
#
# With ENSEMBLE=1 (the default) it also loads the shipped stage-1 model
# (hrm_load_pretrained('sudoku_stage1')) and, on the sets the model alone
# does not solve completely, measures the two voting together (hrm_evaluate's
# "ensemble"), plain and with views ("-" elsewhere: a valid answer is the
# solution, so the ensemble cannot lose a puzzle the model solves).
#
# Environment: N (500), TDOKU_LIMIT (200), VIEWS (8), THREADS (2, hrm.threads),
# SEGMENTS (empty: the model's halt_max_steps; a number evaluates that many
# segments instead), ENSEMBLE (1), SKIP_INSTALL=1.
set -euo pipefail

cd "$(dirname "$0")/.."
export N=${N:-500}
export TDOKU_LIMIT=${TDOKU_LIMIT:-200}
export VIEWS=${VIEWS:-8}
export THREADS=${THREADS:-2}
export SEGMENTS=${SEGMENTS:-}
export ENSEMBLE=${ENSEMBLE:-1}
export HRM_DATA=$(realpath "${HRM_DATA:-test/data}")

if [ "${2:-}" != "--inside" ]; then
    OUT_DIR=${1:-$(mktemp -d "${TMPDIR:-/tmp}/hrm_bench_shipped.XXXXXX")}
    mkdir -p "$OUT_DIR"
    OUT_DIR=$(cd "$OUT_DIR" && pwd)
    if [ ! -f models/sudoku.safetensors ]; then
        echo "bench_shipped: models/sudoku.safetensors is missing (tools/train_shipped_sudoku.sh makes it)" >&2
        exit 2
    fi
    SUDO=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then
        SUDO="sudo"
    fi
    if [ -z "${SKIP_INSTALL:-}" ]; then
        make -s >/dev/null
        $SUDO make -s install >/dev/null
    fi
    port=5433
    for i in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        if [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            port=$p
            break
        fi
    done
    PGPORT=$port pg_virtualenv -t bash "$0" "$OUT_DIR" --inside
    exit
fi

OUT_DIR=$1
echo "== shipped model: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), N=$N, TDOKU_LIMIT=$TDOKU_LIMIT, views $VIEWS, hrm.threads $THREADS, segments ${SEGMENTS:-model}"
sets=""
for f in "$HRM_DATA"/sudoku/tdoku_*.txt; do
    [ -f "$f" ] && sets="$sets $f"
done

{
    cat <<SQL
SET client_min_messages = warning;
CREATE EXTENSION hrm;
SET hrm.threads = $THREADS;
SET bench.views = '$VIEWS';
SET bench.segments = '$SEGMENTS';
SET bench.ensemble = '$ENSEMBLE';
SELECT hrm_load_pretrained('sudoku') AS loaded;
SELECT hrm_load_pretrained('sudoku_stage1') AS loaded WHERE current_setting('bench.ensemble') = '1';
SELECT name, n_params, config->>'hidden_size' AS hidden, config->>'halt_max_steps' AS halt_max_steps
  FROM hrm.model;
CREATE TABLE sets (name text, puzzle text, solution text);
INSERT INTO sets SELECT 'generated, 1-5 blanks', puzzle, solution FROM hrm_sudoku_generate($N, 1, 5, 9101);
INSERT INTO sets SELECT 'generated, 20 blanks', puzzle, solution FROM hrm_sudoku_generate($N, 20, 9120);
INSERT INTO sets SELECT 'generated, 30-40 blanks', puzzle, solution FROM hrm_sudoku_generate($N, 30, 40, 9130);
INSERT INTO sets SELECT 'generated, 45-55 blanks', puzzle, solution FROM hrm_sudoku_generate($N, 45, 55, 9145);
CREATE TEMP TABLE raw (line text);
SQL
    for f in $sets; do
        name=$(basename "$f" .txt)
        echo "TRUNCATE raw;"
        echo "\\copy raw FROM '$f'"
        echo "INSERT INTO sets SELECT '$name', line, hrm_sudoku_solve_exact(line)"
        echo "  FROM (SELECT line FROM raw WHERE length(line) = 81 LIMIT $TDOKU_LIMIT) r;"
    done
    cat <<'SQL'
CREATE TABLE results (name text, puzzles bigint, exact double precision, token double precision,
                      per_second double precision, views_exact double precision, views_per_second double precision,
                      ens_exact double precision, ens_views_exact double precision);
DO $$
DECLARE
    s record;
    plain record;
    v record;
    e double precision;
    ev double precision;
    ens jsonb := '{"ensemble": ["sudoku_stage1"]}';
    opts jsonb := CASE WHEN current_setting('bench.segments') = '' THEN '{}'
                       ELSE jsonb_build_object('segments', current_setting('bench.segments')::int) END;
BEGIN
    FOR s IN SELECT name, min(ctid) AS first FROM sets GROUP BY name ORDER BY first LOOP
        SELECT * INTO plain FROM hrm_evaluate('sudoku',
            format('SELECT puzzle, solution FROM sets WHERE name = %L', s.name), opts);
        SELECT * INTO v FROM hrm_evaluate('sudoku',
            format('SELECT puzzle, solution FROM sets WHERE name = %L', s.name),
            opts || jsonb_build_object('views', current_setting('bench.views')::int));
        e := NULL;
        ev := NULL;
        -- the ensemble where the model alone misses puzzles (a valid answer is the solution: it cannot lose)
        IF current_setting('bench.ensemble') = '1' AND (plain.exact_accuracy < 1 OR v.exact_accuracy < 1) THEN
            SELECT exact_accuracy INTO e FROM hrm_evaluate('sudoku',
                format('SELECT puzzle, solution FROM sets WHERE name = %L', s.name), opts || ens);
            SELECT exact_accuracy INTO ev FROM hrm_evaluate('sudoku',
                format('SELECT puzzle, solution FROM sets WHERE name = %L', s.name),
                opts || ens || jsonb_build_object('views', current_setting('bench.views')::int));
        END IF;
        INSERT INTO results VALUES (s.name, plain.rows, plain.exact_accuracy, plain.token_accuracy,
                                    plain.rows_per_second, v.exact_accuracy, v.rows_per_second,
                                    e, ev);
    END LOOP;
END $$;
\pset footer off
SELECT name AS set, puzzles, round(100 * exact::numeric, 1) AS "exact %",
       round(100 * token::numeric, 2) AS "cells %", round(per_second::numeric, 1) AS "puzzles/s",
       round(100 * views_exact::numeric, 1) AS "exact % (views)",
       round(views_per_second::numeric, 1) AS "puzzles/s (views)",
       coalesce(round(100 * ens_exact::numeric, 1)::text, '-') AS "exact % (+stage1)",
       coalesce(round(100 * ens_views_exact::numeric, 1)::text, '-') AS "exact % (+stage1, views)"
  FROM results;
SQL
} > "$OUT_DIR/shipped.sql"

psql -X -q -v ON_ERROR_STOP=1 -f "$OUT_DIR/shipped.sql" | tee "$OUT_DIR/shipped.txt"
