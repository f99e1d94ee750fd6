#!/bin/sh
# bench/bench_inference.sh — inference speed through SQL, side by side, in one run.
#
#   bench/bench_inference.sh            build + install, then everything below
#
# On a throwaway cluster (pg_virtualenv -t, a random port), for each OpenBLAS
# setting (SETTINGS: "set" = the environment as it is, "native" = with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset together, OpenBLAS's own
# kernel for the CPU), ROUNDS paired rounds (default 3) of:
#
#  1. the full-size Sudoku model (hidden 512, 8 heads, 4+4 layers, 2x2
#     cycles, seq 81 + 1, 27.3M parameters, random weights written by
#     tools/make_fixture.py), N_FULL puzzles (default 3) one by one through
#     SQL `hrm_solve` at SEGMENTS (default 16) fixed segments: hrm.threads 1
#     and 2, hrm.precision float32 and bf16, each puzzle in the four settings
#     one after the other (the order reversed every other puzzle), so that
#     the two sides of a ratio run seconds apart; then the reference PyTorch code
#     (the project's oracle tools/hrm_torch.py, bench/torch_solve.py,
#     Debian's /usr/bin/python3, float32) on the same weights and puzzles at
#     1 and 2 threads.  s/puzzle and GFLOP/s (hrm_segment_flops x segments).
#  2. a CPU-scale model (hidden 128, 4 heads, 2+2 layers, 2x2 cycles, no
#     puzzle embedding: the shape hrm_train gives Sudoku), N_SMALL puzzles
#     (default 1000), SEGMENTS_SMALL fixed segments (default 4, its
#     halt_max_steps), hrm.threads 1: one by one (`SELECT hrm_solve(m, p)
#     FROM t`) against batched (`hrm_solve_batch(m, 'SELECT id, p FROM t')`),
#     puzzles/s; both must give the same answers; and the batch again at
#     hrm.threads 2 (its tiles spread over the threads).
#  3. the SQL overhead: `SELECT hrm_solve(m, p) FROM t` over N_OVER puzzles
#     (default 200) of the CPU-scale model against the engine alone on the
#     same puzzles (bench/solve_engine.c: hrm_infer one puzzle at a time on
#     the weights packed as the extension packs them), hrm.threads 1.
#
# Every GFLOP/s is also given as a share of the kernel's peak: the packed
# kernels' rate on an in-cache product on one thread (bench/infer_helper.c;
# float32, and bf16 for the bf16 figures; x threads), measured at the start
# of each setting.  Each figure is the median over the rounds; each ratio
# the median of the per-round ratios (the two sides of a ratio run in the
# same round, one after the other).  Targets are printed next to them.
#
# Environment: ROUNDS, N_FULL, N_SMALL, N_OVER, SEGMENTS, SEGMENTS_SMALL,
# SETTINGS ("set native"), TORCH=0 (skip PyTorch), NO_BUILD=1, WORK (scratch
# directory; default a new /tmp directory; the summary is kept there as
# summary.txt and the raw figures as figures.csv).  Run it on a quiet
# machine: every figure is wall-clock.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
export ROUNDS=${ROUNDS:-3} N_FULL=${N_FULL:-3} N_SMALL=${N_SMALL:-1000} N_OVER=${N_OVER:-200}
export SEGMENTS=${SEGMENTS:-16} SEGMENTS_SMALL=${SEGMENTS_SMALL:-4} TORCH=${TORCH:-1}
PY=/usr/bin/python3
export PY

# ---------------------------------------------------------------------------
# inside the cluster: one OpenBLAS setting ($1), figures appended to $WORK/figures.csv
if [ "${1:-}" = "--inside" ]; then
	SETTING=$2
	CSV="$WORK/figures.csv"
	q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
	rec() { echo "$SETTING,$1,$2,$3" >>"$CSV"; }	# round, key, value
	field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

	q <<EOF
SET client_min_messages = warning;
CREATE EXTENSION hrm;
-- wall seconds of running a statement in this backend
CREATE FUNCTION bench_seconds(sql text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE sql;
    RETURN extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SELECT hrm_import('full', pg_read_binary_file('$WORK/full.weights.safetensors')) IS NOT NULL;
SELECT hrm_import('small', pg_read_binary_file('$WORK/small.weights.safetensors')) IS NOT NULL;
CREATE TABLE t AS SELECT id, p FROM (SELECT row_number() OVER () AS id, puzzle AS p
    FROM hrm_sudoku_generate(greatest($N_FULL, $N_SMALL, $N_OVER), 40, 55, 20260601)) s;
ANALYZE t;
EOF
	q -c "SELECT p FROM t ORDER BY id" >"$WORK/puzzles.txt"
	head -n "$N_FULL" "$WORK/puzzles.txt" >"$WORK/puzzles_full.txt"
	head -n "$N_OVER" "$WORK/puzzles.txt" >"$WORK/puzzles_over.txt"
	q -c "SELECT path || ' (' || features || ')' FROM hrm_cpu_features()" >"$WORK/$SETTING.path"
	"$WORK/infer_helper" peak 0.5 >"$WORK/$SETTING.peak"
	rec 0 peak_float32 "$(field peak_float32 "$WORK/$SETTING.peak")"
	rec 0 peak_bf16 "$(field peak_bf16 "$WORK/$SETTING.peak")"
	rec 0 openblas "$("$PY" -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p; print(l.openblas_get_corename().decode())' 2>/dev/null || echo unknown)"

	# sql_solve MODEL THREADS PRECISION N SEGMENTS -> wall seconds of solving the first N, one by one
	sql_solve() {
		q -c "SET hrm.threads = $2; SET hrm.precision = $3; SET max_parallel_workers_per_gather = 0;
		      SELECT length(hrm_solve('$1', p, 1, 'fixed')) FROM t ORDER BY id LIMIT 1" \
		  -c "SELECT bench_seconds(\$q\$SELECT count(hrm_solve('$1', p, $5, 'fixed'))
		                              FROM (SELECT p FROM t ORDER BY id LIMIT $4) s\$q\$)" | tail -n 1
	}
	# sql_solve_one MODEL THREADS PRECISION I SEGMENTS -> wall seconds of solving puzzle I (0-based)
	sql_solve_one() {
		q -c "SET hrm.threads = $2; SET hrm.precision = $3; SET max_parallel_workers_per_gather = 0;
		      SELECT length(hrm_solve('$1', p, 1, 'fixed')) FROM t ORDER BY id LIMIT 1" \
		  -c "SELECT bench_seconds(\$q\$SELECT count(hrm_solve('$1', p, $5, 'fixed'))
		                              FROM (SELECT p FROM t ORDER BY id OFFSET $4 LIMIT 1) s\$q\$)" | tail -n 1
	}
	sql_batch() {
		q -c "SET hrm.threads = $2; SET hrm.precision = $3;
		      SELECT count(*) FROM hrm_solve_batch('$1', 'SELECT id, p FROM t WHERE id <= 2', 1, 'fixed')" \
		  -c "SELECT bench_seconds(\$q\$SELECT count(*) FROM hrm_solve_batch('$1',
		          'SELECT id, p FROM t WHERE id <= $4 ORDER BY id', $5, 'fixed')\$q\$)" | tail -n 1
	}

	for r in $(seq "$ROUNDS"); do
		echo "   $SETTING: round $r of $ROUNDS ($(date +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
		# each full-size puzzle in the four settings one after the other (the order reversed every
		# other puzzle), so that the two sides of every ratio run seconds apart, not minutes
		: >"$WORK/round.txt"
		for i in $(seq 0 $((N_FULL - 1))); do
			cfgs="1_float32 2_float32 1_bf16 2_bf16"
			[ $((i % 2)) = 1 ] && cfgs="2_bf16 1_bf16 2_float32 1_float32"
			for cfg in $cfgs; do
				echo "$cfg $(sql_solve_one full "${cfg%_*}" "${cfg#*_}" "$i" "$SEGMENTS")" >>"$WORK/round.txt"
			done
		done
		for cfg in 1_float32 2_float32 1_bf16 2_bf16; do
			rec "$r" "full_t$cfg" "$(awk -v k="$cfg" '$1 == k {s += $2} END {printf "%.6f", s}' "$WORK/round.txt")"
		done
		if [ "$TORCH" = 1 ]; then
			for th in 1 2; do
				OMP_WAIT_POLICY=PASSIVE "$PY" "$ROOT/bench/torch_solve.py" --weights "$WORK/full.weights.safetensors" \
					--puzzles "$WORK/puzzles_full.txt" --segments "$SEGMENTS" --threads "$th" \
					--answers "$WORK/torch_answers.txt" >"$WORK/torch.out"
				rec "$r" "torch_t$th" "$(field seconds "$WORK/torch.out")"
			done
		fi
		rec "$r" small_one "$(sql_solve small 1 float32 "$N_SMALL" "$SEGMENTS_SMALL")"
		rec "$r" small_batch "$(sql_batch small 1 float32 "$N_SMALL" "$SEGMENTS_SMALL")"
		rec "$r" small_batch_t2 "$(sql_batch small 2 float32 "$N_SMALL" "$SEGMENTS_SMALL")"
		rec "$r" over_sql "$(sql_solve small 1 float32 "$N_OVER" "$SEGMENTS_SMALL")"
		OPENBLAS_NUM_THREADS=1 "$WORK/solve_engine" --weights "$WORK/small.weights.safetensors" \
			--puzzles "$WORK/puzzles_over.txt" --segments "$SEGMENTS_SMALL" --reps 1 >"$WORK/engine.out"
		rec "$r" over_engine "$(field median_seconds "$WORK/engine.out")"
	done

	# the answers: batched = one by one (CPU-scale model); engine float32 vs PyTorch and bf16 vs
	# float32 on the full-size model (random weights: see the note in the summary)
	q -c "SET hrm.threads = 1" -c "SELECT count(*) FROM t o JOIN hrm_solve_batch('small',
	        'SELECT id, p FROM t WHERE id <= $N_SMALL', $SEGMENTS_SMALL, 'fixed') b ON b.id = o.id
	      WHERE o.id <= $N_SMALL AND b.solution IS DISTINCT FROM hrm_solve('small', o.p, $SEGMENTS_SMALL, 'fixed')" |
		tail -n 1 >"$WORK/$SETTING.batch_mismatch"
	q -c "SELECT hrm_solve('full', p, $SEGMENTS, 'fixed') FROM t ORDER BY id LIMIT $N_FULL" >"$WORK/$SETTING.f32_answers"
	q -c "SET hrm.precision = bf16" -c "SELECT hrm_solve('full', p, $SEGMENTS, 'fixed') FROM t ORDER BY id LIMIT $N_FULL" \
		>"$WORK/$SETTING.bf16_answers"
	[ "$TORCH" = 1 ] && cp "$WORK/torch_answers.txt" "$WORK/$SETTING.torch_answers"
	exit 0
fi

# ---------------------------------------------------------------------------
export WORK=${WORK:-$(mktemp -d /tmp/hrm-bench-inference.XXXXXX)}
mkdir -p "$WORK"
SETTINGS=${SETTINGS:-set native}

if [ -z "${NO_BUILD:-}" ]; then
	echo "== build and install"
	(cd "$ROOT" && make -s && make -s install >/dev/null)
fi

echo "== engine drivers (bench/solve_engine.c, bench/infer_helper.c)"
# linked with the engine archive the extension links (build/libhrmcore.a)
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null || true)
BLAS_LIBS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
(cd "$ROOT" && make -s build/libhrmcore.a)
for prog in solve_engine infer_helper; do
	# shellcheck disable=SC2086
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -O3 -I"$ROOT/src/core/util" -I"$ROOT/src/core/nn" -I"$ROOT/src/core/task" -I"$ROOT/src/core/run" $BLAS_CFLAGS \
		-o "$WORK/$prog" "$ROOT/bench/$prog.c" "$ROOT/build/libhrmcore.a" $BLAS_LIBS -lm -lpthread
done

echo "== models (random weights, tools/make_fixture.py)"
if [ ! -f "$WORK/full.weights.safetensors" ]; then
	$PY "$ROOT/tools/make_fixture.py" --out "$WORK" --name full --batch 1 --segments 1 --seed 1 \
		--config '{"hidden_size":512,"num_heads":8,"H_layers":4,"L_layers":4,"H_cycles":2,"L_cycles":2,"expansion":4,"puzzle_emb_ndim":512,"num_puzzle_identifiers":1,"halt_max_steps":16}' \
		>/dev/null
	rm -f "$WORK/full.expected.safetensors"
fi
if [ ! -f "$WORK/small.weights.safetensors" ]; then
	$PY "$ROOT/tools/make_fixture.py" --out "$WORK" --name small --batch 1 --segments 1 --seed 2 \
		--config '{"hidden_size":128,"num_heads":4,"H_layers":2,"L_layers":2,"H_cycles":2,"L_cycles":2,"expansion":4,"puzzle_emb_ndim":0,"num_puzzle_identifiers":1,"halt_max_steps":4}' \
		>/dev/null
	rm -f "$WORK/small.expected.safetensors"
fi
"$WORK/infer_helper" flops "$WORK/full.weights.safetensors" >"$WORK/full.flops"
"$WORK/infer_helper" flops "$WORK/small.weights.safetensors" >"$WORK/small.flops"

: >"$WORK/figures.csv"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for setting in $SETTINGS; do
	echo "== OpenBLAS setting: $setting"
	port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000))
	case $setting in
	set) PGPORT=$port pg_virtualenv -t sh "$0" --inside "$setting" ;;
	native) env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PGPORT=$port pg_virtualenv -t sh "$0" --inside "$setting" ;;
	*) echo "unknown setting $setting (set, native)" >&2; exit 2 ;;
	esac
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# summary
S="$WORK/summary.txt"
FF=$(awk '$1 == "flops_per_segment" {print $2}' "$WORK/full.flops")
FS=$(awk '$1 == "flops_per_segment" {print $2}' "$WORK/small.flops")
{
	echo
	echo "== bench_inference: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
	echo "   commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' (with local changes)'),"
	echo "   load average $LOAD0 at start, $LOAD1 at the end; ROUNDS=$ROUNDS, medians over the rounds"
	echo "   full-size model: $(awk -v x="$FF" 'BEGIN {printf "%.2f", x / 1e9}') GFLOP per puzzle and segment, $N_FULL puzzles x $SEGMENTS segments, fixed halting"
	echo "   CPU-scale model (hidden 128): $(awk -v x="$FS" 'BEGIN {printf "%.3f", x / 1e9}') GFLOP per puzzle and segment, $SEGMENTS_SMALL segments"
	for setting in $SETTINGS; do
		awk -F, -v s="$setting" -v ff="$FF" -v fs="$FS" -v nf="$N_FULL" -v seg="$SEGMENTS" -v ns="$N_SMALL" \
			-v segs="$SEGMENTS_SMALL" -v no="$N_OVER" -v torch="$TORCH" \
			-v path="$(cat "$WORK/$setting.path")" -v mism="$(cat "$WORK/$setting.batch_mismatch" 2>/dev/null)" '
		function med(arr, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
			return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
		}
		# median over the rounds of one key, or of a per-round ratio a / b
		function m(k,   n, r, a) { n = 0; for (r = 1; r <= R; r++) if ((k, r) in v) a[++n] = v[k, r]; return n ? med(a, n) : -1 }
		function ratio(x, y,   n, r, a) { n = 0; for (r = 1; r <= R; r++) if ((x, r) in v && (y, r) in v && v[y, r] > 0) a[++n] = v[x, r] / v[y, r]; return n ? med(a, n) : -1 }
		function verdict(x, t, above) { if (x < 0) return "-"; return (above ? x >= t : x <= t) ? "MET" : "not met" }
		$1 == s { if ($2 == 0) p[$3] = $4; else { v[$3, $2] = $4; if ($2 > R) R = $2 } }
		END {
			pf = p["peak_float32"]; pb = p["peak_bf16"]
			printf "\n-- OpenBLAS setting \"%s\" (OpenBLAS core %s); kernels: %s\n", s, p["openblas"], path
			printf "   kernel peak, one thread: float32 %.1f GFLOP/s, bf16 %.1f GFLOP/s (packed product 240x1536x512, per CPU second)\n", pf, pb
			printf "\n   %-44s %10s %9s %9s\n", "full-size model, one puzzle at a time", "s/puzzle", "GFLOP/s", "of peak"
			split("full_t1_float32 full_t2_float32 full_t1_bf16 full_t2_bf16 torch_t1 torch_t2", keys, " ")
			split("hrm_solve, 1 thread, float32;hrm_solve, 2 threads, float32;hrm_solve, 1 thread, bf16;hrm_solve, 2 threads, bf16;PyTorch oracle, 1 thread, float32;PyTorch oracle, 2 threads, float32", names, ";")
			for (i = 1; i <= 6; i++) {
				if (keys[i] ~ /^torch/ && torch != 1) continue
				sec = m(keys[i]); if (sec <= 0) continue
				g = ff * seg * nf / sec / 1e9
				pk = (keys[i] ~ /bf16/ ? pb : pf) * (keys[i] ~ /t2/ ? 2 : 1)
				printf "   %-44s %10.3f %9.1f %8.0f%%\n", names[i], sec / nf, g, (pk > 0 ? 100 * g / pk : 0)
			}
			printf "\n   %-58s %10s   %s\n", "target", "measured", ""
			if (torch == 1) {
				x = ratio("torch_t1", "full_t1_float32")
				printf "   %-58s %9.2fx   %s\n", "full, 1 thread, float32 vs PyTorch (1 thread) >= 1.5x", x, verdict(x, 1.5, 1)
			}
			x = ff * seg * nf / m("full_t1_float32") / 1e9
			printf "   %-58s %9.1f    %s\n", "full, 1 thread, float32 >= 190 GFLOP/s", x, verdict(x, 190, 1)
			x = ratio("full_t1_float32", "full_t2_float32")
			printf "   %-58s %9.2fx   %s\n", "full, 2 threads vs 1 (float32) >= 1.8x", x, verdict(x, 1.8, 1)
			x = ratio("full_t1_bf16", "full_t2_bf16")
			printf "   %-58s %9.2fx   %s\n", "full, 2 threads vs 1 (bf16)", x, ""
			x = ratio("full_t1_float32", "full_t1_bf16")
			printf "   %-58s %9.2fx   %s\n", "full, 1 thread, bf16 vs float32 >= 1.7x", x, (pb > 0 ? verdict(x, 1.7, 1) : "(no AVX512_BF16: float32 ran)")
			x = ratio("small_one", "small_batch")
			printf "   %-58s %9.2fx   %s\n", "hidden 128: batched vs one by one >= 5x puzzles/s", x, verdict(x, 5, 1)
			printf "   %-58s %10s   %s\n", "", "", sprintf("(one by one %.1f, batched %.1f puzzles/s; %s answers differ)", ns / m("small_one"), ns / m("small_batch"), mism == "" ? "?" : mism)
			x = ratio("small_batch", "small_batch_t2")
			printf "   %-58s %9.2fx   %s\n", "hidden 128: batched, 2 threads vs 1 >= 1.8x", x, verdict(x, 1.8, 1)
			printf "   %-58s %10s   %s\n", "", "", sprintf("(batched on 2 threads %.1f puzzles/s)", ns / m("small_batch_t2"))
			r = ratio("over_sql", "over_engine"); x = 100 * (r - 1)
			# SQL a little faster than the engine alone (x < 0) is within the target too
			printf "   %-58s %9.1f%%   %s\n", "SELECT hrm_solve(p) FROM t vs the engine alone <= 5%", x, (r < 0 ? "-" : x <= 5 ? "MET" : "not met")
			printf "   %-58s %10s   %s\n", "", "", sprintf("(%d puzzles, hidden 128: SQL %.3f s, engine %.3f s; %.1f vs %.1f GFLOP/s)", no, m("over_sql"), m("over_engine"), fs * segs * no / m("over_sql") / 1e9, fs * segs * no / m("over_engine") / 1e9)
		}' "$WORK/figures.csv"
		# answers on the full-size model: agreement in cells
		agree() {
			paste -d' ' "$1" "$2" | awk '{n += 81; for (i = 1; i <= 81; i++) s += substr($1, i, 1) == substr($2, i, 1)} END {if (n) printf "%.1f%% of %d cells", 100 * s / n, n}'
		}
		echo "   answers, full-size model: bf16 = float32 on $(agree "$WORK/$setting.f32_answers" "$WORK/$setting.bf16_answers")$(
			[ "$TORCH" = 1 ] && echo "; float32 = PyTorch on $(agree "$WORK/$setting.f32_answers" "$WORK/$setting.torch_answers")")"
	done
	echo
	echo "   (The full-size model has random weights; a random recurrent model amplifies any rounding"
	echo "   difference over 16 segments, so its answer agreement says little about a trained model's:"
	echo "   the engine tests measure bf16 against float32 on a trained model, train_converges_on_4x4_sudoku.)"
} | tee "$S"
echo "(summary: $S; raw figures: $WORK/figures.csv)"
