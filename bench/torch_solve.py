#!/usr/bin/python3
"""The reference PyTorch code (the project's oracle, tools/hrm_torch.py) solving Sudoku puzzles
one by one, as hrm_solve does: for bench/bench_inference.sh.

    /usr/bin/python3 bench/torch_solve.py --weights W.safetensors --puzzles P.txt [--n N]
        [--segments 16] [--threads 1] [--answers OUT]

Each puzzle (81 characters, '.' or '0' for a blank) runs from a fresh carry for --segments
segments with the carry kept (fixed halting, batch of one), float32, under
torch.inference_mode; the answer is the argmax over the digit tokens of the last segment.
Threads: torch.set_num_threads(n) and openblas_set_num_threads(n) (this torch build sends
float32 products to the system OpenBLAS), with OMP_WAIT_POLICY=PASSIVE advised in the
environment.  One warm-up puzzle is solved first, untimed.

Prints `key value` lines: puzzles, segments, threads, seconds (wall, all puzzles),
cpu_seconds, seconds_per_puzzle, openblas (the OpenBLAS core in use).
"""
import argparse
import ctypes
import ctypes.util
import os
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import hrm_torch as H  # noqa: E402


def openblas():
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas"), "libblas.so.3"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_set_num_threads
            return lib
        except (OSError, AttributeError):
            continue
    return None


def tokens(line):
    line = line.strip()
    if len(line) != 81:
        raise SystemExit("torch_solve: a puzzle has 81 characters: %r" % line)
    return [1 if c in ".0" else int(c) + 1 for c in line]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--puzzles", required=True)
    ap.add_argument("--n", type=int, default=0, help="first N puzzles (0: all)")
    ap.add_argument("--segments", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--answers", default=None)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    lib = openblas()
    core = "unknown"
    if lib is not None:
        lib.openblas_set_num_threads(a.threads)
        try:
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
        except AttributeError:
            pass
    with open(a.puzzles) as f:
        puzzles = [tokens(l) for l in f if l.strip()]
    if a.n > 0:
        puzzles = puzzles[: a.n]
    model = H.HRM.from_safetensors(a.weights, dtype=torch.float32)
    model.eval()
    answers = []
    with torch.inference_mode():
        model.infer(torch.tensor([puzzles[0]]), torch.zeros(1, dtype=torch.long), segments=1)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        for p in puzzles:
            out = model.infer(torch.tensor([p]), torch.zeros(1, dtype=torch.long), segments=a.segments)
            logits = out[-1]["logits"][0]
            answers.append((logits[:, 2:11].argmax(-1) + 1).tolist())
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if a.answers:
        with open(a.answers, "w") as f:
            for ans in answers:
                f.write("".join(str(d) for d in ans) + "\n")
    print("puzzles %d" % len(puzzles))
    print("segments %d" % a.segments)
    print("threads %d" % a.threads)
    print("seconds %.6f" % wall)
    print("cpu_seconds %.6f" % cpu)
    print("seconds_per_puzzle %.6f" % (wall / len(puzzles)))
    print("openblas %s" % core)


if __name__ == "__main__":
    main()
