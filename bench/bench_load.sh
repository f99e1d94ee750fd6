#!/usr/bin/env bash
# Load: solving clients and a training job at once (issue 14; not part of CI).
#
#   bash bench/bench_load.sh [OUT_DIR]
#
# Builds and installs the extension, then on a throwaway cluster
# (pg_virtualenv -t, a free port): imports a model (MODEL_FILE, default the
# sudoku-tiny fixture), generates PUZZLES Sudoku puzzles with 20 to 50 blanks
# in a table, starts one hrm_train job in the background worker (a new
# model with the recipe defaults, on TRAIN_PUZZLES generated puzzles,
# checkpoints every 30 s), and runs pgbench with CLIENTS clients for
# LOAD_SECONDS seconds, each transaction one
#   SELECT hrm_solve('sudoku', puzzle, views => VIEWS) FROM bench_puzzles WHERE id = <random>
# (bench/load_solve.sql).  Then it cancels the job and prints:
# throughput (tps), latency percentiles (p50, p90, p99, max, from pgbench's
# per-transaction log), the errors (failed transactions and aborted
# clients; the run fails unless 0), and the training job's
# steps, checkpoints and state (it must still be running when the load ends).
#
# Environment: LOAD_SECONDS (180), CLIENTS (8), PUZZLES (1000),
# TRAIN_PUZZLES (5000), VIEWS (1), MODEL_FILE (a safetensors file, default
# test/fixtures/sudoku-tiny.weights.safetensors), TRAIN_OPTIONS (JSON merged
# over the job's options, e.g. '{"hidden_size": 64}'), SKIP_INSTALL=1.
# OUT_DIR (default a new temporary directory) keeps the pgbench logs and
# summary.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
export LOAD_SECONDS=${LOAD_SECONDS:-180}
export CLIENTS=${CLIENTS:-8}
export PUZZLES=${PUZZLES:-1000}
export TRAIN_PUZZLES=${TRAIN_PUZZLES:-5000}
export VIEWS=${VIEWS:-1}
export MODEL_FILE=$(realpath "${MODEL_FILE:-test/fixtures/sudoku-tiny.weights.safetensors}")
export TRAIN_OPTIONS=${TRAIN_OPTIONS:-'{}'}

if [ "${2:-}" != "--inside" ]; then
    OUT_DIR=${1:-$(mktemp -d "${TMPDIR:-/tmp}/hrm_bench_load.XXXXXX")}
    mkdir -p "$OUT_DIR"
    OUT_DIR=$(cd "$OUT_DIR" && pwd)
    # the cluster's server runs as postgres; pgbench writes its logs here as the caller
    if [ "${SKIP_INSTALL:-0}" != 1 ]; then
        SUDO=""
        if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then
            SUDO="sudo"
        fi
        make -s >/dev/null
        $SUDO make -s install >/dev/null
    fi
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
OUT_DIR=$1

q() {
    psql -X -q -At -v ON_ERROR_STOP=1 "$@"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
if ! git diff --quiet HEAD 2>/dev/null; then
    commit="$commit+changes"
fi
if [ "${SKIP_INSTALL:-0}" = 1 ]; then
    commit="$commit (SKIP_INSTALL=1: the extension as installed, maybe not this tree)"
fi
threads=$(( CLIENTS < $(nproc) ? CLIENTS : $(nproc) ))
{
    echo "bench_load: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
    echo "setup: $CLIENTS pgbench clients ($threads pgbench threads, prepared statements) for $LOAD_SECONDS s,"
    echo "       hrm_solve('sudoku', puzzle, views => $VIEWS) on one of $PUZZLES generated puzzles (20-50 blanks) per transaction,"
    echo "       model $(basename "$MODEL_FILE"), hrm.threads 1; 1 hrm_train job in the background worker"
} | tee "$OUT_DIR/summary.txt"

q -v n="$PUZZLES" -v tn="$TRAIN_PUZZLES" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION hrm;
\set w `base64 -w0 "$MODEL_FILE"`
SELECT hrm_import('sudoku', decode(:'w', 'base64'), task => 'sudoku') IS NOT NULL;
CREATE TABLE bench_puzzles AS
    SELECT row_number() OVER ()::int AS id, puzzle FROM hrm_sudoku_generate(:n, 20, 50, 11);
ALTER TABLE bench_puzzles ADD PRIMARY KEY (id);
CREATE TABLE train_set AS SELECT * FROM hrm_sudoku_generate(:tn, 20, 20, 1);
ANALYZE;
SQL
echo "model: $(q -c "SELECT name || ', ' || n_params || ' parameters, ' || config FROM hrm.models WHERE name = 'sudoku'")" |
    tee -a "$OUT_DIR/summary.txt"
# one warm-up call publishes the weights in the shared cache before the clients start
q -c "SELECT hrm_solve('sudoku', puzzle) IS NOT NULL FROM bench_puzzles WHERE id = 1" >/dev/null

# The training job: it must outlast the load; it is cancelled afterwards.
minutes=$(( LOAD_SECONDS / 60 + 30 ))
options=$(q -c "SELECT jsonb_build_object('max_minutes', $minutes, 'threads', 1, 'checkpoint_every', '30s',
                                          'log_every', '10s', 'seed', 1) || '$TRAIN_OPTIONS'::jsonb")
job=$(q -c "SET client_min_messages = warning" \
        -c "SELECT job FROM hrm_train('bg', 'train_set', '$options', wait => false)")
# wait until it trains (it loads its data first)
for i in $(seq 600); do
    [ "$(q -c "SELECT coalesce((SELECT step FROM hrm.training WHERE job = $job), 0) > 0")" = t ] && break
    case "$(q -c "SELECT state FROM hrm.training WHERE job = $job")" in
        failed | cancelled | finished) break ;;
    esac
    sleep 0.5
done
step0=$(q -c "SELECT step FROM hrm.training WHERE job = $job")
echo "training: job $job, options $options, at step $step0 when the load starts" | tee -a "$OUT_DIR/summary.txt"

cat bench/load_solve.sql >"$OUT_DIR/load_solve.sql"
rm -f "$OUT_DIR"/pgbench_log.*
set +e
t0=$(date +%s.%N)
PGOPTIONS="-c hrm.threads=1" pgbench -n -M prepared -c "$CLIENTS" -j "$threads" -T "$LOAD_SECONDS" \
    -D npuzzles="$PUZZLES" -D views="$VIEWS" -f "$OUT_DIR/load_solve.sql" \
    -l --log-prefix="$OUT_DIR/pgbench_log" >"$OUT_DIR/pgbench.out" 2>"$OUT_DIR/pgbench.err"
pgbench_rc=$?
t1=$(date +%s.%N)
set -e
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The job, as the load ends, then cancelled.
state1=$(q -c "SELECT state || '|' || step || '|' || coalesce(last_checkpoint::text, '-') FROM hrm.training WHERE job = $job")
q -c "SELECT hrm_cancel($job)" >/dev/null
final=$(q -c "SELECT state || '|' || steps || '|' || round(seconds::numeric, 1) FROM hrm_wait($job)")
checkpoints=$(q -c "SELECT count(*) FROM hrm.training_log WHERE job = $job AND checkpoint")
generations=$(q -c "SELECT generation FROM hrm.model WHERE name = 'bg'" || echo "-")

# Latencies from the per-transaction logs: column 3 is the latency in
# microseconds ("failed" or "skipped" for transactions that did not complete).
cat "$OUT_DIR"/pgbench_log.* >"$OUT_DIR/transactions.log" 2>/dev/null || : >"$OUT_DIR/transactions.log"
failed_logged=$(awk '$3 == "failed" || $3 == "skipped" { n++ } END { print n + 0 }' "$OUT_DIR/transactions.log")
awk '$3 ~ /^[0-9]+$/ { print $3 / 1000 }' "$OUT_DIR/transactions.log" | sort -g >"$OUT_DIR/latencies_ms.txt"
n=$(wc -l <"$OUT_DIR/latencies_ms.txt")
pct() {
    # nearest rank
    awk -v p="$1" -v n="$n" 'BEGIN { r = int((p * n + 99) / 100); if (r < 1) r = 1 } NR == r { printf "%.1f", $1; exit }' \
        "$OUT_DIR/latencies_ms.txt"
}
mean=$(awk '{ s += $1 } END { if (NR) printf "%.1f", s / NR }' "$OUT_DIR/latencies_ms.txt")
tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$OUT_DIR/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$OUT_DIR/pgbench.out")
aborted=$(grep -c "aborted" "$OUT_DIR/pgbench.err" || true)
errors=$(( ${failed:-0} + aborted + failed_logged ))

IFS='|' read -r state_end step_end ckpt_end <<<"$state1"
IFS='|' read -r state_final steps_final seconds_final <<<"$final"
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
{
    echo
    echo "== results (machine as described above; load average $load_end at the end)"
    echo "duration:             $wall s wall, $n transactions completed"
    echo "throughput:           ${tps:-?} tps (pgbench, without connection time)"
    echo "latency (ms):         mean $mean, p50 $(pct 50), p90 $(pct 90), p99 $(pct 99), max $(awk 'END { printf "%.1f", $1 }' "$OUT_DIR/latencies_ms.txt")"
    echo "errors:               $errors (failed transactions ${failed:-?}, aborted clients $aborted, failed in the log $failed_logged; pgbench exit $pgbench_rc)"
    echo "training job $job:     $state_end when the load ended, at step $step_end (step $step0 when it began:" \
        "$(( step_end - step0 )) steps during the load, last checkpoint ${ckpt_end});" \
        "then $state_final by hrm_cancel at step $steps_final ($seconds_final s training); checkpoints committed: $checkpoints (the cancel's included); model bg at generation $generations"
} | tee -a "$OUT_DIR/summary.txt"
echo "logs and summary: $OUT_DIR"

if [ "$pgbench_rc" != 0 ]; then
    echo "--- pgbench stderr"
    tail -20 "$OUT_DIR/pgbench.err"
fi
[ "$errors" -eq 0 ] && [ "$pgbench_rc" = 0 ] && [ "$state_end" = running ] && [ "$n" -gt 0 ]
