#!/bin/sh
# bench/run_train.sh — the engine's training throughput next to PyTorch on the CPU
# (issue 3, bench/ item); see docs/performance.md, "Training (engine)".
#
#   bench/run_train.sh                       3 rounds of the CPU-scale config, 2 of the full-size
#                                            one, 1 and 2 threads, both OpenBLAS settings, then
#                                            the batch-768 memory check
#   MODELS=small ROUNDS=5 bench/run_train.sh
#   MEMORY=0 bench/run_train.sh              without the memory check
#
# Each round runs, for both OpenBLAS kernel settings,
#   coretype   OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} (+ OPENBLAS_L2_SIZE if set):
#              the setting of the CI machines;
#   native     both variables unset: the kernel OpenBLAS picks for this CPU;
# and for every model and thread count the engine (bench/bench_train) immediately followed
# by PyTorch (bench/torch_train.py, Debian's /usr/bin/python3) on the same config, batch and
# thread count, so a slow phase of a shared machine hits both of a pair.  The settings'
# order alternates from round to round.  Each run: warm-up steps, then REPS timed
# repetitions (>= MIN_TIME s and >= 1 step each), median per run; the table gives the
# median over rounds, and the ratio engine/PyTorch is the median of the per-round ratios
# (paired runs).  "PyTorch" is the faster of its implementations in that round
# (tools/hrm_torch.py's train_step, or the lean plain-torch step; see torch_train.py).
#
# Environment: ROUNDS (3; CPU-scale config), FULL_ROUNDS (2; full-size config, ~30 s+ per
# step), THREADS (1,2), BATCH (32), REPS (5), WARMUP (2), FULL_WARMUP (0: the untimed
# calibration step is the warm-up), MIN_TIME (0.25 s), MODELS (all | small | full),
# TORCH (1; 0 skips PyTorch), TORCH_IMPLS (tools,lean), FULL_TORCH_IMPLS (lean),
# CHECK (1: torch_train.py --check first, lean == tools), MEMORY (1: one batch-768
# full-size step under the coretype setting, peak RSS), MEMORY_THREADS (2),
# PYTHON (/usr/bin/python3), TORCH_OMP_WAIT_POLICY (PASSIVE), OUT (raw CSV directory).
set -eu

cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
FULL_ROUNDS=${FULL_ROUNDS:-2}
THREADS=${THREADS:-1,2}
BATCH=${BATCH:-32}
REPS=${REPS:-5}
WARMUP=${WARMUP:-2}
FULL_WARMUP=${FULL_WARMUP:-0}
MIN_TIME=${MIN_TIME:-0.25}
MODELS=${MODELS:-all}
TORCH=${TORCH:-1}
TORCH_IMPLS=${TORCH_IMPLS:-tools,lean}
FULL_TORCH_IMPLS=${FULL_TORCH_IMPLS:-lean}
CHECK=${CHECK:-1}
MEMORY=${MEMORY:-1}
MEMORY_THREADS=${MEMORY_THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_OMP_WAIT_POLICY=${TORCH_OMP_WAIT_POLICY:-PASSIVE}
CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
L2=${OPENBLAS_L2_SIZE:-}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/hrm-bench-train.XXXXXX")}
mkdir -p "$OUT"
RAW="$OUT/raw.csv"
: > "$RAW"

case "$MODELS" in
all) models="small full" ;;
small | full) models=$MODELS ;;
*) echo "MODELS must be all, small or full" >&2; exit 2 ;;
esac

make -s bench-train >&2

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
REV=$(git rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
if [ -n "$(git status --porcelain src/core 2>/dev/null)" ]; then REV="$REV + uncommitted src/core changes"; fi
echo "source,0,rev,$REV" >> "$RAW"
echo "source,0,cpus,$(nproc)" >> "$RAW"

echo "raw results: $RAW (rounds: small $ROUNDS, full $FULL_ROUNDS; coretype setting: OPENBLAS_CORETYPE=$CORETYPE${L2:+ OPENBLAS_L2_SIZE=$L2})" >&2

if [ "$TORCH" = 1 ] && [ "$CHECK" = 1 ]; then
	echo "check: lean PyTorch step == tools/hrm_torch.py step" >&2
	for m in $models; do
		OMP_WAIT_POLICY="$TORCH_OMP_WAIT_POLICY" "$PYTHON" bench/torch_train.py --check --model "$m" \
			--threads 1 | tee -a "$OUT/check.txt" >&2
	done
fi

max_rounds=0
for m in $models; do
	if [ "$m" = small ]; then r=$ROUNDS; else r=$FULL_ROUNDS; fi
	[ "$r" -gt "$max_rounds" ] && max_rounds=$r
done

round=1
while [ "$round" -le "$max_rounds" ]; do
	if [ $((round % 2)) -eq 1 ]; then order="coretype native"; else order="native coretype"; fi
	for m in $models; do
		if [ "$m" = small ]; then
			[ "$round" -le "$ROUNDS" ] || continue
			warm=$WARMUP
			impls=$TORCH_IMPLS
		else
			[ "$round" -le "$FULL_ROUNDS" ] || continue
			warm=$FULL_WARMUP
			impls=$FULL_TORCH_IMPLS
		fi
		for s in $order; do
			for th in $(echo "$THREADS" | tr ',' ' '); do
				echo "round $round/$max_rounds: $s: $m, $th thread(s): engine" >&2
				run "$s" ./bench/bench_train --model "$m" --threads "$th" --batch "$BATCH" \
					--reps "$REPS" --warmup "$warm" --min-time "$MIN_TIME" --csv
				if [ "$TORCH" = 1 ]; then
					echo "round $round/$max_rounds: $s: $m, $th thread(s): pytorch ($impls)" >&2
					run "$s" env OMP_WAIT_POLICY="$TORCH_OMP_WAIT_POLICY" "$PYTHON" bench/torch_train.py \
						--model "$m" --threads "$th" --batch "$BATCH" --reps "$REPS" --warmup "$warm" \
						--min-time "$MIN_TIME" --impl "$impls" --csv
				fi
			done
		done
	done
	round=$((round + 1))
done

if [ "$MEMORY" = 1 ]; then
	round=0
	echo "memory: one full-size training step at batch 768 ($MEMORY_THREADS threads; minutes)" >&2
	run coretype ./bench/bench_train --memory --memory-threads "$MEMORY_THREADS" --csv
fi

"$PYTHON" - "$RAW" "$CORETYPE${L2:+ L2=$L2}" "$OUT" <<'EOF'
import collections, os, statistics, sys

raw, coretype, out = sys.argv[1], sys.argv[2], sys.argv[3]
eng = collections.defaultdict(dict)    # (setting, model, threads) -> {round: fields}
tch = collections.defaultdict(dict)    # (setting, model, threads, impl) -> {round: fields}
kern = collections.defaultdict(set)
mem = []
loads = []
rev, cpus = "?", "?"
for line in open(raw):
    f = line.strip().split(",")
    if len(f) < 3:
        continue
    setting, rnd, kind = f[0], f[1], f[2]
    if kind == "kernel":
        kern[(setting, "engine")].add(f[3])
    elif kind == "torchkernel":
        kern[(setting, "torch")].add(f[3])
    elif kind == "engine":
        # engine,<model>,<threads>,<B>,<steps/s>,<ex*seg/s>,<GFLOP/s>,<bwd ms>,<apply ms>,<core>,<best>,<GF/step>,<reps>,<per rep>,<cpu s>
        eng[(setting, f[3], int(f[4]))][rnd] = dict(B=int(f[5]), sps=float(f[6]), ex=float(f[7]),
                                                    gf=float(f[8]), bwd=float(f[9]), apply=float(f[10]),
                                                    gfstep=float(f[13]), cpu=float(f[16]))
    elif kind == "torch":
        # torch,<model>,<threads>,<B>,<steps/s>,<ex*seg/s>,<GFLOP/s>,<impl>,<core>,<best>,<GF/step>,<reps>,<per rep>,<cpu s>
        tch[(setting, f[3], int(f[4]), f[9])][rnd] = dict(B=int(f[5]), sps=float(f[6]), ex=float(f[7]),
                                                         gf=float(f[8]), cpu=float(f[15]))
    elif kind == "memory":
        # memory,sudoku-full,<threads>,<B>,<peak RSS MiB>,<trainer MiB>,<step s>,<rss before>,<rss after create>,<loss>
        mem.append(f[4:])
    elif kind == "rev":
        rev = f[3]
    elif kind == "cpus":
        cpus = f[3]
    elif kind == "load":
        loads.append(float(f[3]))

med = statistics.median
order = {"coretype": 0, "native": 1}
print()
print("source: %s" % rev)
print("OpenBLAS kernels (openblas_get_corename): " + "; ".join(
    "%s %s: %s" % (s, p, "/".join(sorted(v))) for (s, p), v in sorted(kern.items())))
print("coretype = OPENBLAS_CORETYPE=%s; native = OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset" % coretype)
if loads:
    print("load average (1 min) after the runs: median %.1f, range %.1f-%.1f on %s CPUs" %
          (med(loads), min(loads), max(loads), cpus))
print("one step = one segment per row with the 1-step gradient + the Q-target segment + backward +"
      " AdamATan2/SignSGD; ex*seg/s = B x steps/s")
print("medians over rounds (n); ratio = engine steps/s / PyTorch steps/s, median of the per-round"
      " (paired) ratios; cpu ratio = PyTorch CPU s per step / engine CPU s per step (paired)")
print()
impls = sorted({k[3] for k in tch})
hdr = ("%-8s %-11s %3s %3s %2s %8s %9s %8s %8s %8s |%s | %8s %7s %7s" %
       ("setting", "model", "thr", "B", "n", "steps/s", "ex*seg/s", "GFLOP/s", "cpu s", "GF/step",
        "".join(" %15s" % (i[:5] + " st/s  cpu") for i in impls), "pt best", "ratio", "cpu rt"))
print(hdr)
print("-" * len(hdr))
rows_out = []
for k in sorted(eng, key=lambda k: (k[1] != "small", order.get(k[0], 9), k[2])):
    e = eng[k]
    rs = sorted(e)
    es = med(e[r]["sps"] for r in rs)
    line = "%-8s %-11s %3d %3d %2d %8.3f %9.2f %8.2f %8.3f %8.1f |" % (
        k[0], k[1], k[2], e[rs[0]]["B"], len(rs), es, med(e[r]["ex"] for r in rs),
        med(e[r]["gf"] for r in rs), med(e[r]["cpu"] for r in rs), e[rs[0]]["gfstep"])
    for i in impls:
        t = tch.get(k + (i,))
        line += (" %7.3f %7.3f" % (med(v["sps"] for v in t.values()), med(v["cpu"] for v in t.values()))
                 if t else " %7s %7s" % ("-", "-"))
    # per round: the best PyTorch implementation of that round, paired with the engine's run
    ratios, cratios, best = [], [], []
    for r in rs:
        cands = [tch[k + (i,)][r] for i in impls if r in tch.get(k + (i,), {})]
        if not cands:
            continue
        b = max(cands, key=lambda v: v["sps"])
        best.append(b["sps"])
        ratios.append(e[r]["sps"] / b["sps"])
        cratios.append(min(v["cpu"] for v in cands) / e[r]["cpu"])
    if ratios:
        line += " | %8.3f %6.2fx %6.2fx" % (med(best), med(ratios), med(cratios))
    else:
        line += " | %8s %7s %7s" % ("-", "-", "-")
    print(line)
for m in mem:
    print()
    print("memory: full-size model, B = %s, %s thread(s): peak RSS %.0f MiB (%.2f GiB, %.2f GB), "
          "hrm_trainer_bytes %.0f MiB, RSS after trainer_create %.0f MiB, one step %.0f s; "
          "target < 8 GB: %s" % (m[1], m[0], float(m[2]), float(m[2]) / 1024, float(m[2]) * 1048576 / 1e9,
                                 float(m[3]), float(m[6]), float(m[4]),
                                 "holds" if float(m[2]) * 1048576 < 8e9 else "EXCEEDED"))
EOF
echo "raw results: $RAW" >&2
