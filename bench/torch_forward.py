#!/usr/bin/python3
"""PyTorch CPU baseline for bench/bench_forward.c (issue 2, item 6).

The same HRM segment (hrm-reference.md §1: input embedding x sqrt(D) with the
puzzle slot, post-norm blocks with weightless RMSNorm, rotate-half RoPE,
non-causal softmax attention, SwiGLU, the L,L,H,L,L,H module loop of §1.8,
lm_head without the puzzle positions, Q head on position 0) in float32 on the
CPU, under torch.inference_mode, at the same shapes, batch sizes and thread
counts as the engine; the FLOP count is the engine's hrm_segment_flops.

Run it with Debian's /usr/bin/python3 (torch 1.13).  If tools/hrm_torch.py
is committed in the repository it is used (--impl auto, the default);
otherwise the compact forward below.

Threads: torch.set_num_threads(n) (OpenMP, oneDNN) AND openblas_set_num_threads(n):
this torch build (BLAS_INFO=generic) sends float32 F.linear / matmul to the
system libblas.so.3, i.e. OpenBLAS, so OPENBLAS_CORETYPE applies to it too.

Output: a table, or with --csv one line per measurement:
  torch,<model>,<threads>,<B>,<seg/s>,<ex*seg/s>,<GFLOP/s>,<impl>,<openblas corename>,<best-rep GFLOP/s>,
        <GFLOP per process CPU second>,<CPU share = CPU s / (wall s * threads)>
"""
import argparse
import ctypes
import ctypes.util
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------------------
# configuration (the engine's derived fields)
# --------------------------------------------------------------------------------------
def swiglu_width(expansion, w):
    return ((round(expansion * w * 2 / 3) + 255) // 256) * 256


def derive(cfg):
    c = dict(cfg)
    D = c["hidden_size"]
    c["head_dim"] = D // c["num_heads"]
    c["inter_size"] = swiglu_width(c.get("expansion", 4), D)
    c["P"] = -(-c["puzzle_emb_ndim"] // D) if c["puzzle_emb_ndim"] > 0 else 0
    c["S"] = c["seq_len"] + c["P"]
    return c


def tiny_config(path):
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            meta = json.loads(f.read(n)).get("__metadata__", {})
        return json.loads(meta["hrm_config"])
    except (OSError, KeyError, ValueError) as e:
        print("torch_forward: cannot read %s (%s); using the sudoku-tiny shape" % (path, e),
              file=sys.stderr)
        return dict(arch="hrm", seq_len=81, vocab_size=11, num_puzzle_identifiers=1,
                    puzzle_emb_ndim=64, H_cycles=2, L_cycles=2, H_layers=2, L_layers=2,
                    hidden_size=64, expansion=4, num_heads=2, pos_encodings="rope",
                    rms_norm_eps=1e-5, rope_theta=10000.0, halt_max_steps=16,
                    halt_exploration_prob=0.1)


def full_config():
    return dict(arch="hrm", seq_len=81, vocab_size=11, num_puzzle_identifiers=1,
                puzzle_emb_ndim=512, H_cycles=2, L_cycles=2, H_layers=4, L_layers=4,
                hidden_size=512, expansion=4, num_heads=8, pos_encodings="rope",
                rms_norm_eps=1e-5, rope_theta=10000.0, halt_max_steps=16,
                halt_exploration_prob=0.1)


def segment_flops(c, B):
    """hrm_segment_flops (src/core/nn/forward.c), term for term."""
    M = float(B) * c["S"]
    D, Iw, S = float(c["hidden_size"]), float(c["inter_size"]), float(c["S"])
    block = (2.0 * M * D * (3 * D) + 2.0 * M * D * D + 2.0 * M * D * (2 * Iw) + 2.0 * M * Iw * D
             + 4.0 * B * S * S * D)
    n_blocks = c["H_cycles"] * c["L_cycles"] * c["L_layers"] + c["H_cycles"] * c["H_layers"]
    return n_blocks * block + 2.0 * B * c["seq_len"] * D * c["vocab_size"] + 2.0 * B * D * 2


# --------------------------------------------------------------------------------------
# compact faithful forward (used when tools/hrm_torch.py is not committed)
# --------------------------------------------------------------------------------------
def rms_norm(x, eps):
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class CompactHRM:
    def __init__(self, cfg, seed=0):
        c = self.c = derive(cfg)
        g = torch.Generator().manual_seed(seed)
        D, V, I, S, hd = c["hidden_size"], c["vocab_size"], c["inter_size"], c["S"], c["head_dim"]

        def w(out, inp):
            return torch.randn(out, inp, generator=g) / math.sqrt(inp)

        def block():
            return dict(qkv=w(3 * D, D), o=w(D, D), gu=w(2 * I, D), down=w(D, I))

        self.H_init = torch.randn(D, generator=g)
        self.L_init = torch.randn(D, generator=g)
        self.embed = w(V, D)
        self.lm_head = w(V, D)
        self.q_w = torch.zeros(2, D)
        self.q_b = torch.full((2,), -5.0)
        self.puzzle = torch.zeros(c["num_puzzle_identifiers"], c["puzzle_emb_ndim"])
        self.H = [block() for _ in range(c["H_layers"])]
        self.L = [block() for _ in range(c["L_layers"])]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        fr = torch.outer(torch.arange(S, dtype=torch.float32), inv)
        emb = torch.cat((fr, fr), dim=-1)
        self.cos = emb.cos().unsqueeze(-2)  # [S, 1, hd]
        self.sin = emb.sin().unsqueeze(-2)
        self.scale = math.sqrt(D)

    def embed_inputs(self, inputs, pids):
        c = self.c
        D, P = c["hidden_size"], c["P"]
        e = F.embedding(inputs, self.embed)
        if P > 0:
            pe = self.puzzle[pids]
            pad = P * D - pe.shape[-1]
            if pad > 0:
                pe = F.pad(pe, (0, pad))
            e = torch.cat((pe.view(-1, P, D), e), dim=-2)
        return self.scale * e

    def block(self, h, wb):
        c = self.c
        B, S, D = h.shape
        nh, hd, eps = c["num_heads"], c["head_dim"], c["rms_norm_eps"]
        qkv = F.linear(h, wb["qkv"]).view(B, S, 3 * nh, hd)
        q, k, v = qkv[:, :, :nh], qkv[:, :, nh:2 * nh], qkv[:, :, 2 * nh:]
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)), dim=-1)
        o = torch.matmul(p, v).transpose(1, 2).reshape(B, S, D)
        h = rms_norm(h + F.linear(o, wb["o"]), eps)
        gate, up = F.linear(h, wb["gu"]).chunk(2, dim=-1)
        h = rms_norm(h + F.linear(F.silu(gate) * up, wb["down"]), eps)
        return h

    def module(self, blocks, z, inj):
        h = z + inj
        for wb in blocks:
            h = self.block(h, wb)
        return h

    def segment(self, z_H, z_L, x):
        c = self.c
        N, T = c["H_cycles"], c["L_cycles"]
        for i in range(N):
            for j in range(T):
                if not (i == N - 1 and j == T - 1):
                    z_L = self.module(self.L, z_L, z_H + x)
            if i != N - 1:
                z_H = self.module(self.H, z_H, z_L)
        z_L = self.module(self.L, z_L, z_H + x)
        z_H = self.module(self.H, z_H, z_L)
        logits = F.linear(z_H[:, c["P"]:], self.lm_head)
        q = F.linear(z_H[:, 0], self.q_w, self.q_b)
        return z_H, z_L, logits, q[..., 0], q[..., 1]

    def initial(self, B):
        c = self.c
        z_H = self.H_init.expand(B, c["S"], -1).contiguous()
        z_L = self.L_init.expand(B, c["S"], -1).contiguous()
        return z_H, z_L


class ToolsHRM:
    """Adapter over tools/hrm_torch.py (the project's PyTorch oracle)."""

    def __init__(self, cfg, seed=0):
        sys.path.insert(0, os.path.join(REPO, "tools"))
        import hrm_torch as H  # noqa: E402
        self.c = derive(cfg)
        self.m = H.HRM(H.HRMConfig.from_dict(dict(cfg)), dtype=torch.float32, seed=seed)
        self.m.eval()

    def embed_inputs(self, inputs, pids):
        return self.m.input_embeddings(inputs, pids)

    def segment(self, z_H, z_L, x):
        return self.m.segment(z_H, z_L, x)

    def initial(self, B):
        c = self.c
        z_H = self.m.H_init.to(torch.float32).expand(B, c["S"], -1).contiguous()
        z_L = self.m.L_init.to(torch.float32).expand(B, c["S"], -1).contiguous()
        return z_H, z_L


def tools_committed():
    try:
        out = subprocess.run(["git", "-C", REPO, "log", "--format=%h", "-1", "--",
                              "tools/hrm_torch.py"], capture_output=True, text=True, timeout=30)
        return out.returncode == 0 and out.stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return False


def make_model(cfg, impl):
    if impl == "tools" or (impl == "auto" and tools_committed()):
        try:
            return ToolsHRM(cfg), "tools/hrm_torch.py"
        except Exception as e:  # the oracle's API moved: fall back, say so
            if impl == "tools":
                raise
            print("torch_forward: tools/hrm_torch.py unusable (%s); compact forward" % e,
                  file=sys.stderr)
    return CompactHRM(cfg), "compact"


# --------------------------------------------------------------------------------------
# OpenBLAS (the library this torch's F.linear runs on)
# --------------------------------------------------------------------------------------
class OpenBLAS:
    def __init__(self):
        self.lib = None
        for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
                self.lib = lib
                break
            except (OSError, AttributeError):
                continue

    def corename(self):
        return self.lib.openblas_get_corename().decode() if self.lib else "n/a"

    def set_threads(self, n):
        if self.lib:
            self.lib.openblas_set_num_threads(n)


def set_threads(blas, n):
    torch.set_num_threads(n)
    blas.set_threads(n)


# --------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------
def time_model(model, B, reps, min_time, seed=7):
    c = model.c
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, c["vocab_size"], (B, c["seq_len"]), generator=g)
    pids = torch.zeros(B, dtype=torch.long)
    with torch.inference_mode():
        z_H, z_L = model.initial(B)
        state = [z_H, z_L]

        def seg():
            x = model.embed_inputs(inputs, pids)
            zh, zl, logits, qh, qc = model.segment(state[0], state[1], x)
            state[0], state[1] = zh, zl

        t0 = time.perf_counter()
        seg()
        per = time.perf_counter() - t0
        if per < min_time:
            n = int(math.ceil(min_time / max(per, 1e-7)))
            t0 = time.perf_counter()
            for _ in range(n):
                seg()
            per = (time.perf_counter() - t0) / n
        n = int(math.ceil(min_time / max(per, 1e-7))) if per < min_time else 1
        times, cpus = [], []
        for _ in range(reps):
            c0 = time.process_time()
            t0 = time.perf_counter()
            for _ in range(n):
                seg()
            times.append((time.perf_counter() - t0) / n)
            cpus.append((time.process_time() - c0) / n)
    return statistics.median(times), min(times), statistics.median(cpus)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["tiny", "full", "all"], default="all")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.25)
    ap.add_argument("--fixture", default=os.path.join(
        os.environ.get("HRM_FIXTURES") or os.path.join(REPO, "test", "fixtures"),
        "sudoku-tiny.weights.safetensors"))
    ap.add_argument("--impl", choices=["auto", "compact", "tools"], default="auto")
    ap.add_argument("--csv", action="store_true")
    a = ap.parse_args()
    batches = [int(x) for x in a.batches.split(",")]
    threads = [int(x) for x in a.threads.split(",")]

    blas = OpenBLAS()
    models = []
    if a.model in ("tiny", "all"):
        models.append(("sudoku-tiny", tiny_config(a.fixture)))
    if a.model in ("full", "all"):
        models.append(("sudoku-full", full_config()))

    if a.csv:
        print("torchkernel,%s,%s" % (blas.corename(), torch.__version__))
    else:
        print("PyTorch %s CPU forward benchmark (float32, inference_mode)" % torch.__version__)
        print("OpenBLAS kernel under F.linear: %s;  OPENBLAS_CORETYPE=%s" %
              (blas.corename(), os.environ.get("OPENBLAS_CORETYPE", "(unset)")))
        print("median of %d timed repetitions (>= %.2f s each) after warm-up" % (a.reps, a.min_time))
    for name, cfg in models:
        torch.manual_seed(0)
        model, impl = make_model(cfg, a.impl)
        c = model.c
        if not a.csv:
            print("\n%s (%s): hidden %d, %d heads, %d+%d layers, S = %d, %.1f MFLOP per example-segment"
                  % (name, impl, c["hidden_size"], c["num_heads"], c["H_layers"], c["L_layers"],
                     c["S"], segment_flops(c, 1) * 1e-6))
            print("%-8s %4s %10s %12s %10s %12s %7s" % ("threads", "B", "seg/s", "ex*seg/s", "GFLOP/s",
                                                     "GFLOP/CPU-s", "CPU%"))
        for th in threads:
            set_threads(blas, th)
            for B in batches:
                med, best, cpu = time_model(model, B, a.reps, a.min_time)
                gf = segment_flops(c, B) / med * 1e-9
                if a.csv:
                    print("torch,%s,%d,%d,%.6f,%.6f,%.4f,%s,%s,%.4f,%.4f,%.4f" %
                          (name, th, B, 1.0 / med, B / med, gf, impl, blas.corename(),
                           segment_flops(c, B) / best * 1e-9, segment_flops(c, B) / cpu * 1e-9,
                           cpu / (med * th)))
                else:
                    print("%-8d %4d %10.2f %12.2f %10.2f %12.1f %6.0f%%" %
                          (th, B, 1.0 / med, B / med, gf, segment_flops(c, B) / cpu * 1e-9,
                           100.0 * cpu / (med * th)))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
