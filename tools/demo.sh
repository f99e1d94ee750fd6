#!/usr/bin/env bash
# The hrm demo on a throwaway cluster:
#
#   bash tools/demo.sh
#
# builds and installs the extension, starts a temporary PostgreSQL 15 cluster
# (pg_virtualenv), imports the sudoku-tiny reference model from the shared
# fixtures, runs it on the fixture's first puzzle and shows, segment by
# segment, the halting Q values, how far the logits are from the reference
# implementation's float64 result, and the predicted grid.  The cluster is
# dropped at the end.  HRM_FIXTURES overrides the fixtures directory.
set -euo pipefail

cd "$(dirname "$0")/.."
export HRM_FIXTURES=${HRM_FIXTURES:-$(cd .. && pwd)/shared/fixtures}

if [ "${1:-}" != "--inside" ]; then
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

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
\set w `base64 -w0 "$HRM_FIXTURES/sudoku-tiny.weights.safetensors"`
\set e `base64 -w0 "$HRM_FIXTURES/sudoku-tiny.expected.safetensors"`
SET client_min_messages = warning;
CREATE EXTENSION hrm;
\pset footer off

\echo
\echo '-- 1. Import a reference HRM checkpoint (safetensors, reference tensor names, config in the metadata)'
\echo
SELECT hrm_import('sudoku-tiny', decode(:'w', 'base64')) AS imported;
SELECT name, arch, n_params, size, config FROM hrm.models;

-- The fixture's inputs and the reference's float64 outputs.
CREATE TEMP TABLE ex AS
SELECT name, "values" AS v FROM hrm_safetensors_info(decode(:'e', 'base64'));
CREATE TEMP TABLE puzzle AS
SELECT (v[1:81])::int[] AS tokens FROM ex WHERE name = 'inputs';

\echo
\echo '-- 2. The input (tokens: 0 pad, 1 blank, 2..10 the digits 1..9)'
\echo
SELECT string_agg(CASE WHEN t = 1 THEN '.' WHEN t = 0 THEN '_' ELSE (t - 1)::text END, ' ' ORDER BY k) AS "input grid"
  FROM puzzle, unnest(tokens) WITH ORDINALITY u(t, k)
 GROUP BY (k - 1) / 9 ORDER BY (k - 1) / 9;

\echo
\echo '-- 3. hrm_forward: 16 segments from a fresh carry, compared with the reference (float64)'
\echo
CREATE TEMP TABLE run AS
SELECT f.* FROM puzzle p, hrm_forward('sudoku-tiny', p.tokens) f;
WITH cells AS (
    SELECT r.segment, (u.k - 1) / 11 AS pos, (u.k - 1) % 11 AS tok, u.x,
           x64.v[u.k] AS r64
      FROM run r
      CROSS JOIN LATERAL unnest(r.logits) WITH ORDINALITY u(x, k)
      JOIN ex x64 ON x64.name = format('seg%s.logits_f64', lpad(r.segment::text, 2, '0'))
), pred AS (
    SELECT DISTINCT ON (segment, pos) segment, pos, tok
      FROM cells ORDER BY segment, pos, x DESC
), grid AS (
    SELECT segment, string_agg(CASE WHEN tok <= 1 THEN '.' ELSE (tok - 1)::text END, '' ORDER BY pos) AS g
      FROM pred GROUP BY segment
)
SELECT r.segment,
       round(r.q_halt::numeric, 4) AS q_halt,
       round(r.q_continue::numeric, 4) AS q_continue,
       round((1 / (1 + exp(-r.q_halt)))::numeric, 3) AS "P(halt)",
       (SELECT to_char(max(abs(c.x - c.r64)), '9.9EEEE') FROM cells c WHERE c.segment = r.segment) AS "max |diff| vs reference",
       CASE WHEN r.segment > 1 THEN
           (SELECT count(*) FROM pred a JOIN pred b ON b.pos = a.pos AND b.segment = a.segment - 1
             WHERE a.segment = r.segment AND a.tok <> b.tok) END AS "cells changed",
       g.g AS "prediction (argmax, row by row)"
  FROM run r JOIN grid g USING (segment)
 ORDER BY r.segment;

\echo
\echo '(The fixture weights are random, so the prediction is not a solved Sudoku: the point is that'
\echo ' the extension computes what the reference PyTorch code computes, segment by segment.)'
\echo
SQL
