#!/bin/sh
# bench/solve_run.sh — the part of bench/bench_solve.sh that runs inside
# pg_virtualenv (PGHOST, PGPORT, ... set).  Expects ROOT, WORK, HRM_FIXTURES,
# REPS, N_TINY, N_FULL, REPS_FULL, BACKENDS, SKIP_TINY, SKIP_FULL, SKIP_MEMORY.
set -eu

S="$WORK/summary.txt"
: >"$S"
say() { echo "$*" | tee -a "$S"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# median of the numbers on stdin
median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# a field of the driver's output
field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

q <<EOF
SET client_min_messages = warning;
CREATE EXTENSION hrm;
-- this backend's CPU seconds (utime + stime of /proc/self/stat, 100 ticks/s)
CREATE FUNCTION bench_cpu() RETURNS float8 LANGUAGE sql AS \$\$
    SELECT (f[12]::float8 + f[13]::float8) / 100
      FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s
\$\$;
-- "wall cpu" seconds of running a statement in this backend
CREATE FUNCTION bench_seconds(sql text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
    c0 float8 := bench_cpu();
BEGIN
    EXECUTE sql;
    RETURN extract(epoch FROM clock_timestamp() - t0) || ' ' || (bench_cpu() - c0);
END \$\$;
EOF
q -c "SELECT hrm_import('tiny', pg_read_binary_file('$HRM_FIXTURES/sudoku-tiny.weights.safetensors'))" >/dev/null
if [ -z "$SKIP_FULL" ] || [ -z "$SKIP_MEMORY" ]; then
	q -c "SELECT hrm_import('full', pg_read_binary_file('$WORK/full.weights.safetensors'))" >/dev/null
fi
q -c "CREATE TABLE t AS SELECT row_number() OVER () AS id, puzzle AS p FROM hrm_sudoku_generate($N_TINY, 40, 60, 20260101)"
q -c "SELECT p FROM t ORDER BY id" >"$WORK/puzzles.txt"

say "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
say "cache mode: $(q -c 'SELECT hrm_cache_mode()'); hrm.threads = 1, OPENBLAS_NUM_THREADS = 1"
say ""

# sql_pass MODEL MAX_STEPS HALT LIMIT -> "wall cpu" seconds of one pass over the first LIMIT
# puzzles, in a session that has used the model once already (the one-time cost of a new
# backend mapping the shared copy is measured separately, by first_call)
sql_pass() {
	q -c "SET hrm.threads = 1; SET max_parallel_workers_per_gather = 0;
	      SELECT length(hrm_solve('$1', p, 1)) FROM t LIMIT 1" \
	  -c "SELECT bench_seconds(\$q\$SELECT count(hrm_solve('$1', p, $2, '$3')) FROM (SELECT p FROM t ORDER BY id LIMIT $4) s\$q\$)" |
		tail -n 1
}
# first_call MODEL: CPU milliseconds of a 1-segment solve as a new backend's first call,
# minus the same solve once the backend has used the model (medians of REPS)
first_call() {
	: >"$WORK/fc.s"
	for r in $(seq "$REPS"); do
		q -c "SET hrm.threads = 1" \
		  -c "SELECT (split_part(bench_seconds(\$q\$SELECT hrm_solve('$1', p, 1) FROM t LIMIT 1\$q\$), ' ', 2)::float8
		             - split_part(bench_seconds(\$q\$SELECT hrm_solve('$1', p, 1) FROM t LIMIT 1\$q\$), ' ', 2)::float8) * 1000" \
			>>"$WORK/fc.s"
	done
	median <"$WORK/fc.s" | awk '{printf "%.0f", $1}'
}
# engine_pass WEIGHTS SEGMENTS ADAPTIVE(0/1) LIMIT OUT -> driver output in OUT
engine_pass() {
	head -n "$4" "$WORK/puzzles.txt" >"$WORK/puzzles.$4.txt"
	if [ "$3" = 1 ]; then a=--adaptive; else a=; fi
	# shellcheck disable=SC2086
	"$WORK/solve_engine" --weights "$1" --puzzles "$WORK/puzzles.$4.txt" --segments "$2" $a --reps 1 \
		--answers "$WORK/engine_answers.txt" >"$5"
}

# compare MODEL WEIGHTS SEGMENTS HALT LIMIT REPS LABEL: alternate engine and SQL passes
compare() {
	model=$1 weights=$2 segs=$3 halt=$4 limit=$5 reps=$6 label=$7
	if [ "$halt" = adaptive ]; then ad=1; else ad=0; fi
	: >"$WORK/e.s"; : >"$WORK/q.s"; : >"$WORK/ec.s"; : >"$WORK/qc.s"
	sql_pass "$model" "$segs" "$halt" 2 >/dev/null	# warm-up: load the model
	for r in $(seq "$reps"); do
		engine_pass "$weights" "$segs" "$ad" "$limit" "$WORK/engine.out"
		field median_seconds "$WORK/engine.out" >>"$WORK/e.s"
		field median_cpu_seconds "$WORK/engine.out" >>"$WORK/ec.s"
		sql_pass "$model" "$segs" "$halt" "$limit" >"$WORK/q.one"
		cut -d' ' -f1 "$WORK/q.one" >>"$WORK/q.s"
		cut -d' ' -f2 "$WORK/q.one" >>"$WORK/qc.s"
	done
	q -c "SELECT hrm_solve('$model', p, $segs, '$halt') FROM (SELECT id, p FROM t ORDER BY id LIMIT $limit) s ORDER BY id" \
		>"$WORK/sql_answers.txt"
	if cmp -s "$WORK/sql_answers.txt" "$WORK/engine_answers.txt"; then same=identical; else same=DIFFERENT; fi
	used=$(q -c "SELECT round(avg((hrm_solve_detail('$model', p, $segs, '$halt')).segments), 2)
	             FROM (SELECT p FROM t ORDER BY id LIMIT $limit) s")
	flops=$(field flops_per_segment "$WORK/engine.out")
	awk -v label="$label" -v n="$limit" -v used="$used" -v same="$same" -v f="$flops" \
		-v e="$(median <"$WORK/e.s")" -v s="$(median <"$WORK/q.s")" \
		-v ec="$(median <"$WORK/ec.s")" -v sc="$(median <"$WORK/qc.s")" \
		-v er="$(tr '\n' ' ' <"$WORK/ec.s")" -v sr="$(tr '\n' ' ' <"$WORK/qc.s")" 'BEGIN {
		w = f * used * n / 1e9
		printf "%s: %d puzzles, %s segments used on average; medians of CPU seconds per pass (wall in brackets)\n", label, n, used
		printf "  engine (hrm_infer per puzzle): %.5f s per puzzle, %.1f GFLOP/s  [wall %.5f s, %.1f GFLOP/s]  passes (CPU s): %s\n", ec / n, w / ec, e / n, w / e, er
		printf "  SELECT hrm_solve(p) FROM t:    %.5f s per puzzle, %.1f GFLOP/s  [wall %.5f s, %.1f GFLOP/s]  passes (CPU s): %s\n", sc / n, w / sc, s / n, w / s, sr
		printf "  SQL / engine: CPU %.3f (%+.1f%%, %+.0f us per call), wall %.3f (%+.1f%%); answers %s\n", sc / ec, (sc / ec - 1) * 100, (sc - ec) / n * 1e6, s / e, (s / e - 1) * 100, same
	}' | tee -a "$S"
}

if [ -z "${SKIP_TINY:-}" ]; then
	say "== sudoku-tiny (hidden 64, 2+2 layers; $(q -c "SELECT n_params FROM hrm.model WHERE name = 'tiny'") parameters)"
	compare tiny "$HRM_FIXTURES/sudoku-tiny.weights.safetensors" 16 fixed "$N_TINY" "$REPS" "fixed halting, 16 segments"
	compare tiny "$HRM_FIXTURES/sudoku-tiny.weights.safetensors" 1 fixed "$N_TINY" "$REPS" "fixed halting, 1 segment (fixed cost per call)"
	compare tiny "$HRM_FIXTURES/sudoku-tiny.weights.safetensors" 16 adaptive "$N_TINY" "$REPS" "adaptive halting, at most 16 segments"
	say ""
fi

if [ -z "$SKIP_FULL" ]; then
	say "== full-size model (hidden 512, 8 heads, 4+4 layers, 2x2 cycles; $(q -c "SELECT n_params FROM hrm.model WHERE name = 'full'") parameters, $(q -c "SELECT pg_size_pretty(weights_bytes) FROM hrm.model WHERE name = 'full'"))"
	compare full "$WORK/full.weights.safetensors" 16 fixed "$N_FULL" "$REPS_FULL" "fixed halting, 16 segments"
	compare full "$WORK/full.weights.safetensors" 16 adaptive "$N_FULL" "$REPS_FULL" "adaptive halting, at most 16 segments"
	say "first call of a new backend (maps the shared copy, builds its layout and RoPE tables): +$(first_call full) ms CPU (median of $REPS)"
	say ""
fi

if [ -z "$SKIP_MEMORY" ]; then
	P=$(head -n 1 "$WORK/puzzles.txt")
	bytes=$(q -c "SELECT n_params * 4 FROM hrm.model WHERE name = 'full'")
	say "== memory: $BACKENDS concurrent backends solving with the full-size model ($(awk -v b="$bytes" 'BEGIN {printf "%.1f MB", b / 1048576}') of float32 parameters)"
	# smaps_rollup fields of a pid, in kB: Rss Pss Private(Clean+Dirty) Shared(Clean+Dirty)
	smaps() { awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {v+=$2} /^Shared_(Clean|Dirty):/ {s+=$2}
	               END {print r, p, v, s}' "/proc/$1/smaps_rollup"; }
	waitfor() {	# waitfor PATTERN: until BACKENDS sessions run a query matching it
		for _ in $(seq 600); do
			n=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'solve_mem' AND state = 'active' AND query LIKE '$1'")
			[ "$n" -ge "$BACKENDS" ] && return 0
			sleep 0.5
		done
		echo "timed out waiting for $1" >&2
		return 1
	}
	# publish the model first: the backends below attach to it (steady state), rather than all
	# reading the large object at once on a cold start
	q -c "SELECT length(hrm_solve('full', '$P', 1))" >/dev/null
	for cache in on off; do
		for i in $(seq "$BACKENDS"); do
			# no ON_ERROR_STOP: the cancelled first sleep is an error, then it solves
			psql -X -q >/dev/null 2>&1 <<EOF &
SET application_name = 'solve_mem';
LOAD 'hrm';
SET hrm.shared_cache = $cache;
SET hrm.threads = 1;
SELECT pg_sleep(3600.1);
SELECT length(hrm_solve('full', '$P', 1));
SELECT pg_sleep(3600.2);
EOF
		done
		waitfor '%pg_sleep(3600.1)%'
		sleep 1
		pids=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'solve_mem' ORDER BY pid")
		for pid in $pids; do echo "$pid $(smaps "$pid")"; done >"$WORK/mem_before_$cache"
		# release the first sleep: cancel it, the session moves on to solve
		q -c "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = 'solve_mem'" >/dev/null
		waitfor '%pg_sleep(3600.2)%' || true
		sleep 1
		for pid in $pids; do echo "$pid $(smaps "$pid")"; done >"$WORK/mem_after_$cache"
		q -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'solve_mem'" >/dev/null
		wait || true
		paste -d' ' "$WORK/mem_before_$cache" "$WORK/mem_after_$cache" | awk -v cache="$cache" -v model="$bytes" '
			{ n++; dr += $7 - $2; dp += $8 - $3; dv += $9 - $4; ds += $10 - $5; tp += $8 - $3
			  if (n == 1 || $9 - $4 > maxv) maxv = $9 - $4 }
			END {
				m = model / 1024
				printf "  hrm.shared_cache = %s: per backend (mean of %d): Rss +%.1f MB, Pss +%.1f MB, Private +%.1f MB (max %.1f MB), Shared +%.1f MB\n",
					cache, n, dr / n / 1024, dp / n / 1024, dv / n / 1024, maxv / 1024, ds / n / 1024
				printf "    all %d backends together (sum of Pss): +%.1f MB = %.2f x the model; Private per backend = %.2f x the model\n",
					n, tp / 1024, tp / m, dv / n / m
			}' | tee -a "$S"
	done
fi
