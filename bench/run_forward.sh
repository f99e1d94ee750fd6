#!/bin/sh
# bench/run_forward.sh — the engine's forward throughput next to cblas_sgemm on the
# same shapes and next to PyTorch on the CPU (issue 2, item 6); see docs/performance.md.
#
#   bench/run_forward.sh                 3 rounds, both models, B = 1,8,32,64, 1 and 2 threads
#   ROUNDS=5 BATCHES=1,8 bench/run_forward.sh
#   PROFILE=1 bench/run_forward.sh       also the per-op profile of the full-size model
#                                        (at PROFILE_BATCHES, default 8,32)
#
# Each round runs, for both OpenBLAS kernel settings,
#   coretype   OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} (+ OPENBLAS_L2_SIZE if set):
#              the setting of the CI machines;
#   native     both variables unset: the kernel OpenBLAS picks for this CPU;
# the engine (bench/bench_forward) and PyTorch (bench/torch_forward.py, Debian's
# /usr/bin/python3).  Settings and programs alternate inside every round, so slow
# phases of a shared machine hit all of them; the table is the median over rounds
# of each run's median (each run: >= REPS timed repetitions after warm-up).
#
# Environment: ROUNDS (3), BATCHES (1,8,32,64), BATCHES_FULL (= BATCHES; the full-size model's), THREADS (1,2), REPS (5), MIN_TIME (0.25 s),
# MODELS (all | tiny | full), TORCH (1; 0 skips PyTorch), PYTHON (/usr/bin/python3),
# TORCH_IMPL (auto: tools/hrm_torch.py when committed, else the script's compact forward),
# HRM_FIXTURES (test/fixtures: sudoku-tiny's configuration),
# TORCH_OMP_WAIT_POLICY (PASSIVE: without it, torch's idle OpenMP threads spin against
# OpenBLAS's threads at 2 threads), OUT (directory for the raw CSV; default a new temp dir).
set -eu

cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
BATCHES=${BATCHES:-1,8,32,64}
BATCHES_FULL=${BATCHES_FULL:-$BATCHES}
THREADS=${THREADS:-1,2}
REPS=${REPS:-5}
MIN_TIME=${MIN_TIME:-0.25}
MODELS=${MODELS:-all}
TORCH=${TORCH:-1}
PROFILE=${PROFILE:-0}
PROFILE_BATCHES=${PROFILE_BATCHES:-8,32}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_OMP_WAIT_POLICY=${TORCH_OMP_WAIT_POLICY:-PASSIVE}
CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
L2=${OPENBLAS_L2_SIZE:-}
TORCH_IMPL=${TORCH_IMPL:-auto}
HRM_FIXTURES=${HRM_FIXTURES:-$(pwd)/test/fixtures}
export HRM_FIXTURES
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/hrm-bench-forward.XXXXXX")}
mkdir -p "$OUT"
RAW="$OUT/raw.csv"
: > "$RAW"

make -s bench-forward >&2

# run SETTING CMD...: CMD under the kernel setting, CSV lines prefixed with setting,round
run() {
	setting=$1
	shift
	if [ "$setting" = native ]; then
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"
	elif [ -n "$L2" ]; then
		env OPENBLAS_CORETYPE="$CORETYPE" OPENBLAS_L2_SIZE="$L2" "$@"
	else
		env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$CORETYPE" "$@"
	fi | sed "s/^/$setting,$round,/" >> "$RAW"
	# the machine's load after each run (the benchmark itself counts for about 1-2)
	echo "$setting,$round,load,$(cut -d' ' -f1 /proc/loadavg)" >> "$RAW"
}

# what was measured: the commit, and whether the engine sources differ from it
# (SOURCE_REV names it when this is not a git checkout, e.g. a `git archive` snapshot)
REV=${SOURCE_REV:-$(git rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")}
if [ -n "$(git status --porcelain src/core 2>/dev/null)" ]; then REV="$REV + uncommitted src/core changes"; fi
echo "source,0,rev,$REV" >> "$RAW"

COMMON="--threads $THREADS --reps $REPS --min-time $MIN_TIME --csv"
case $MODELS in
	tiny) RUNS="tiny:$BATCHES" ;;
	full) RUNS="full:$BATCHES_FULL" ;;
	*) RUNS="tiny:$BATCHES full:$BATCHES_FULL" ;;
esac
echo "raw results: $RAW ($ROUNDS rounds; coretype setting: OPENBLAS_CORETYPE=$CORETYPE${L2:+ OPENBLAS_L2_SIZE=$L2})" >&2
round=1
while [ "$round" -le "$ROUNDS" ]; do
	# alternate the order of the settings from round to round
	if [ $((round % 2)) -eq 1 ]; then order="coretype native"; else order="native coretype"; fi
	for s in $order; do
		for r in $RUNS; do
			model=${r%%:*}
			batches=${r#*:}
			echo "round $round/$ROUNDS: $s: $model: engine" >&2
			# shellcheck disable=SC2086
			run "$s" ./bench/bench_forward --model "$model" --batches "$batches" $COMMON
			if [ "$TORCH" = 1 ]; then
				echo "round $round/$ROUNDS: $s: $model: pytorch" >&2
				# shellcheck disable=SC2086
				run "$s" env OMP_WAIT_POLICY="$TORCH_OMP_WAIT_POLICY" "$PYTHON" bench/torch_forward.py \
					--impl "$TORCH_IMPL" --model "$model" --batches "$batches" $COMMON
			fi
		done
	done
	round=$((round + 1))
done

if [ "$PROFILE" = 1 ]; then
	round=0
	for s in coretype native; do
		echo "profile: $s" >&2
		run "$s" ./bench/bench_forward --model full --batches "$PROFILE_BATCHES" --threads "$THREADS" \
			--reps "$REPS" --min-time "$MIN_TIME" --csv --profile
	done
fi

"$PYTHON" - "$RAW" "$CORETYPE${L2:+ L2=$L2}" <<'EOF'
import collections, statistics, sys

raw, coretype = sys.argv[1], sys.argv[2]
eng = collections.defaultdict(list)    # (setting, model, threads, B) -> rows
tch = collections.defaultdict(list)
prof = collections.defaultdict(list)
kern = collections.defaultdict(set)
loads = []
rev = "?"
for line in open(raw):
    f = line.strip().split(",")
    if len(f) < 3:
        continue
    setting, rnd, kind = f[0], f[1], f[2]
    if kind == "kernel":
        kern[(setting, "engine")].add(f[3])
    elif kind == "torchkernel":
        kern[(setting, "torch")].add(f[3])
    elif kind == "engine" and rnd != "0":
        eng[(setting, f[3], int(f[4]), int(f[5]))].append(f[6:])
    elif kind == "torch":
        tch[(setting, f[3], int(f[4]), int(f[5]))].append(f[6:])
    elif kind == "rev":
        rev = f[3]
    elif kind == "load":
        loads.append(float(f[3]))
    elif kind == "profile":
        prof[(setting, f[3], int(f[4]), int(f[5]))].append(f[6:])

med = lambda rows, i: statistics.median(float(r[i]) for r in rows)
order = {"coretype": 0, "native": 1}
print()
print("source: %s" % rev)
print("OpenBLAS kernels (openblas_get_corename): " + "; ".join(
    "%s %s: %s" % (s, p, "/".join(sorted(v))) for (s, p), v in sorted(kern.items())))
print("coretype = OPENBLAS_CORETYPE=%s; native = OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset" % coretype)
if loads:
    print("load average (1 min) after the runs: median %.1f, range %.1f-%.1f on %s CPUs" %
          (statistics.median(loads), min(loads), max(loads), __import__("os").cpu_count()))
print("medians over rounds (n = rounds); GFLOP/s from hrm_segment_flops; sgemm = cblas_sgemm on the"
      " block's shapes (FLOP-weighted); ratio = engine/sgemm (median of paired repetitions)")
print()
hdr = ("%-8s %-11s %3s %3s %2s %9s %10s %8s %8s %6s %9s %8s %7s" %
       ("setting", "model", "thr", "B", "n", "seg/s", "ex*seg/s", "GFLOP/s", "sgemm", "ratio",
        "torch s/s", "torch GF", "eng/pt"))
keys = sorted(eng, key=lambda k: (k[1] != "sudoku-tiny", order.get(k[0], 9), k[2], k[3]))
print("wall clock")
print(hdr)
print("-" * len(hdr))
for k in keys:
    rows = eng[k]
    seg, ex, gf, sg, ratio = (med(rows, i) for i in range(5))
    t = tch.get(k)
    ts = "%9.2f %8.2f %6.2fx" % (med(t, 0), med(t, 2), seg / med(t, 0)) if t else "%9s %8s %7s" % ("-", "-", "-")
    print("%-8s %-11s %3d %3d %2d %9.2f %10.2f %8.2f %8.2f %5.0f%% %s" %
          (k[0], k[1], k[2], k[3], len(rows), seg, ex, gf, sg, 100 * ratio, ts))
print()
print("process CPU time (GFLOP per CPU second, all threads; CPU% = CPU s / (wall s x threads):")
print("the share of the cores the run actually got on this shared machine)")
hdr = ("%-8s %-11s %3s %3s %2s %8s %8s %6s %5s %9s %5s %7s" %
       ("setting", "model", "thr", "B", "n", "eng GF", "sgemm", "ratio", "CPU%", "torch GF", "CPU%", "eng/pt"))
print(hdr)
print("-" * len(hdr))
for k in keys:
    rows = eng[k]
    if len(rows[0]) < 15:
        continue
    cg, cs, cr, csh = (med(rows, i) for i in range(11, 15))
    t = tch.get(k)
    ts = ("%9.2f %4.0f%% %6.2fx" % (med(t, 6), 100 * med(t, 7), cg / med(t, 6))
          if t and len(t[0]) >= 8 else "%9s %5s %7s" % ("-", "-", "-"))
    print("%-8s %-11s %3d %3d %2d %8.2f %8.2f %5.0f%% %4.0f%% %s" %
          (k[0], k[1], k[2], k[3], len(rows), cg, cs, 100 * cr, 100 * csh, ts))
if prof:
    print()
    print("profile (full-size; ms per segment, share of the instrumented total, GFLOP/s)")
    for k in sorted(prof, key=lambda k: (order.get(k[0], 9), k[2], k[3])):
        print("  %s, %d thread(s), B = %d:" % (k[0], k[2], k[3]))
        for r in prof[k]:
            gfs = float(r[3])
            print("    %-20s %10.2f %6.1f%% %s" % (r[0], float(r[1]), float(r[2]),
                                                 ("%8.1f" % gfs) if gfs > 0 else ""))
EOF
