#!/bin/sh
# bench/bench_solve.sh — solving from SQL, measured against the engine itself.
#
#   bench/bench_solve.sh            build + install, then everything below
#
# On a throwaway cluster (pg_virtualenv), single BLAS thread everywhere:
#
#  1. sudoku-tiny (the reference fixture), N_TINY puzzles (default 200):
#     `SELECT hrm_solve('tiny', p) FROM t` against bench/solve_engine.c,
#     which runs hrm_infer on the same puzzles one by one (the engine's own
#     per-puzzle time); REPS alternating passes each (default 5), medians;
#     the answers of both must be identical.  Also at max_steps 1, where the
#     fixed cost per call shows most, and with adaptive halting.
#  2. the full-size Sudoku model (hidden 512, 8 heads, 4+4 layers, 2x2
#     cycles, 27M parameters, random weights written by tools/make_fixture.py):
#     seconds per puzzle at 16 segments and GFLOP/s, SQL and engine;
#     adaptive against fixed halting.
#  3. memory: 8 concurrent backends each solving with the full-size model;
#     what each adds (from /proc/<pid>/smaps_rollup: Rss, Pss, Private),
#     with the shared cache and with hrm.shared_cache = off.
#
# Environment: REPS, N_TINY, N_FULL (puzzles for the full model, default 5),
# REPS_FULL (default 3), BACKENDS (default 8), PRELOAD=1 (run the cluster
# with shared_preload_libraries = hrm), NO_BUILD=1, SKIP_TINY=1, SKIP_FULL=1,
# SKIP_MEMORY=1, WORK (scratch directory; default a new /tmp directory),
# HRM_FIXTURES.  The summary is printed and kept in $WORK/summary.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export HRM_FIXTURES=${HRM_FIXTURES:-$ROOT/test/fixtures}
export WORK=${WORK:-$(mktemp -d /tmp/hrm-bench-solve.XXXXXX)}
export ROOT REPS=${REPS:-5} N_TINY=${N_TINY:-200} N_FULL=${N_FULL:-5} REPS_FULL=${REPS_FULL:-3}
export BACKENDS=${BACKENDS:-8} SKIP_TINY=${SKIP_TINY:-} SKIP_FULL=${SKIP_FULL:-} SKIP_MEMORY=${SKIP_MEMORY:-}
PY=/usr/bin/python3
mkdir -p "$WORK"

if [ -z "${NO_BUILD:-}" ]; then
	echo "== build and install"
	(cd "$ROOT" && make -s && make -s install >/dev/null)
fi

echo "== engine driver (bench/solve_engine.c)"
# Linked with the engine archive the extension itself links (build/libhrmcore.a),
# so the driver and hrm_solve run the same compiled engine, bit for bit.
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null || true)
BLAS_LIBS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
(cd "$ROOT" && make -s build/libhrmcore.a)
# shellcheck disable=SC2086
cc -std=c11 -D_POSIX_C_SOURCE=200809L -O3 -I"$ROOT/src/core/util" -I"$ROOT/src/core/nn" -I"$ROOT/src/core/task" -I"$ROOT/src/core/run" $BLAS_CFLAGS \
	-o "$WORK/solve_engine" "$ROOT/bench/solve_engine.c" "$ROOT/build/libhrmcore.a" $BLAS_LIBS -lm -lpthread

# the memory section uses the full-size model too
if { [ -z "$SKIP_FULL" ] || [ -z "$SKIP_MEMORY" ]; } && [ ! -f "$WORK/full.weights.safetensors" ]; then
	echo "== full-size model (random weights, tools/make_fixture.py)"
	$PY "$ROOT/tools/make_fixture.py" --out "$WORK" --name full --batch 1 --segments 1 --seed 1 \
		--config '{"hidden_size":512,"num_heads":8,"H_layers":4,"L_layers":4,"H_cycles":2,"L_cycles":2,"expansion":4,"puzzle_emb_ndim":512,"num_puzzle_identifiers":1,"halt_max_steps":16}' \
		>/dev/null
	rm -f "$WORK/full.expected.safetensors"
fi

# One BLAS thread for the driver (the server side sets hrm.threads = 1).
export OPENBLAS_NUM_THREADS=1
if [ -n "${PRELOAD:-}" ]; then
	pg_virtualenv -t -o shared_preload_libraries=hrm -o max_connections=40 sh "$ROOT/bench/solve_run.sh"
else
	pg_virtualenv -t -o max_connections=40 sh "$ROOT/bench/solve_run.sh"
fi
echo
echo "== summary ($WORK/summary.txt)"
cat "$WORK/summary.txt"
