#!/usr/bin/python3
"""PyTorch CPU baseline for bench/bench_train.c (issue 3, bench/ item).

The same training step as the engine's hrm_train_step, in float32 on the CPU:
for every row of the batch one segment with the one-step gradient (no-grad
cycles, then the last L and H calls with autograd), the ACT carry (halted rows
reset and take the new example), exploration, the extra no-grad Q-target
segment (halt_max_steps > 1), stablemax cross-entropy (float64) + 0.5 (BCE
q_halt + BCE q_continue), backward of loss / B, AdamATan2 on the dense
parameters and SignSGD on the puzzle-embedding rows.  Same configurations,
batch, data generator and FLOP count as the engine benchmark.

Two implementations (--impl, default both):
  tools  tools/hrm_torch.py's HRM.train_step (the project's PyTorch oracle, which
         passes parity with the reference fixtures), called with return_grads=False.
  lean   the same math in plain torch ops with the Python overhead taken out:
         parameters are views of ONE flat buffer and their .grad views of one flat
         gradient buffer (autograd accumulates into it in place), so AdamATan2 is 7
         whole-buffer ops instead of ~8 ops per tensor; RoPE applied to q and k in one
         op; no metric dict, no gradient clones, no state-dict lookups.  --check
         verifies that one lean step equals one tools step (loss, parameters).
The faster of the two is "the PyTorch figure" in bench/run_train.sh.

Threads: torch.set_num_threads(n), torch.set_num_interop_threads(1) AND
openblas_set_num_threads(n): this torch build (BLAS_INFO=generic) sends float32
F.linear / matmul to the system OpenBLAS, so OPENBLAS_CORETYPE applies to it too.
Run with OMP_WAIT_POLICY=PASSIVE (run_train.sh does) so that idle OpenMP workers do
not spin against OpenBLAS's threads.

Run it with Debian's /usr/bin/python3 (torch 1.13).

Output: a table, or with --csv one line per measurement:
  torch,<model>,<threads>,<B>,<steps/s>,<ex*seg/s>,<GFLOP/s>,<impl>,<openblas corename>,
        <best-repetition steps/s>,<GFLOP per step>,<reps>,<steps per rep>,<CPU s per step>
(CPU s per step: time.process_time(), all threads, as the engine's column.)
"""
import argparse
import ctypes
import ctypes.util
import math
import os
import random
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.dont_write_bytecode = True
import hrm_torch as H  # noqa: E402

POOL = 8


# --------------------------------------------------------------------------------------
# configurations and FLOPs (bench_train.c's, term for term)
# --------------------------------------------------------------------------------------
def config_small():
    return H.HRMConfig(seq_len=81, vocab_size=11, num_puzzle_identifiers=1, puzzle_emb_ndim=128,
                       hidden_size=128, num_heads=4, H_layers=2, L_layers=2, H_cycles=2, L_cycles=2,
                       halt_max_steps=8, halt_exploration_prob=0.1)


def config_full():
    return H.HRMConfig(seq_len=81, vocab_size=11, num_puzzle_identifiers=1, puzzle_emb_ndim=512,
                       hidden_size=512, num_heads=8, H_layers=4, L_layers=4, H_cycles=2, L_cycles=2,
                       halt_max_steps=16, halt_exploration_prob=0.1)


def block_flops(c, B):
    M = float(B) * c.total_seq
    D, Iw, S = float(c.hidden_size), float(c.intermediate_size), float(c.total_seq)
    return (2.0 * M * D * (3 * D) + 2.0 * M * D * D + 2.0 * M * D * (2 * Iw) + 2.0 * M * Iw * D
            + 4.0 * B * S * S * D)


def heads_flops(c, B):
    return 2.0 * B * c.seq_len * c.hidden_size * c.vocab_size + 2.0 * B * c.hidden_size * 2


def segment_flops(c, B):
    n_blocks = c.H_cycles * c.L_cycles * c.L_layers + c.H_cycles * c.H_layers
    return n_blocks * block_flops(c, B) + heads_flops(c, B)


def step_flops(c, B):
    f = segment_flops(c, B) * (2 if c.halt_max_steps > 1 else 1)
    return f + 2.0 * (c.L_layers + c.H_layers) * block_flops(c, B) + 2.0 * heads_flops(c, B)


def train_config():
    # the engine benchmark's options (bench_train.c default_train_opts)
    return H.TrainConfig(loss_type="stablemax_cross_entropy", lr=1e-4, lr_warmup_steps=10,
                         total_steps=1000, lr_min_ratio=0.1, beta1=0.9, beta2=0.95,
                         weight_decay=1.0, puzzle_emb_lr=1e-4, puzzle_emb_weight_decay=1.0)


# --------------------------------------------------------------------------------------
# Sudoku-like data (bench_train.c's generator, not bit-identical: its own RNG)
# --------------------------------------------------------------------------------------
def random_solution(r):
    digit = list(range(1, 10))
    r.shuffle(digit)
    band, stack = [0, 1, 2], [0, 1, 2]
    r.shuffle(band)
    r.shuffle(stack)
    rows, cols = [0] * 9, [0] * 9
    for b in range(3):
        inner, inner2 = [0, 1, 2], [0, 1, 2]
        r.shuffle(inner)
        r.shuffle(inner2)
        for k in range(3):
            rows[b * 3 + k] = band[b] * 3 + inner[k]
            cols[b * 3 + k] = stack[b] * 3 + inner2[k]
    return [digit[(rows[i] * 3 + rows[i] // 3 + cols[j]) % 9] for i in range(9) for j in range(9)]


def make_pool(c, B, seed=1234):
    r = random.Random(seed)
    pool = []
    for _ in range(POOL):
        inputs, labels = [], []
        for _ in range(B):
            blank = 0.55 + 0.25 * r.random()
            g = random_solution(r)
            lb = [1 + g[t % 81] for t in range(c.seq_len)]
            inputs.append([1 if r.random() < blank else v for v in lb])
            labels.append(lb)
        pool.append({"inputs": torch.tensor(inputs, dtype=torch.long),
                     "labels": torch.tensor(labels, dtype=torch.long),
                     "puzzle_identifiers": torch.zeros(B, dtype=torch.long)})
    return pool


# --------------------------------------------------------------------------------------
# implementation 1: tools/hrm_torch.py
# --------------------------------------------------------------------------------------
class ToolsTrainer:
    name = "tools"

    def __init__(self, cfg, B, seed=0):
        self.m = H.HRM(cfg, dtype=torch.float32, seed=seed)
        self.m.configure_training(train_config(), seed=seed)
        self.carry = self.m.initial_carry(B)

    def step(self, batch):
        out = self.m.train_step(self.carry, batch, return_grads=False)
        self.carry = out["carry"]
        return out["loss"]


# --------------------------------------------------------------------------------------
# implementation 2: lean plain-torch step
# --------------------------------------------------------------------------------------
def rms_norm(x, eps):
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


class LeanTrainer:
    """The reference training step in plain torch ops, from the weights of an hrm_torch model."""
    name = "lean"

    def __init__(self, cfg, B, seed=0, src=None):
        src = src if src is not None else H.HRM(cfg, dtype=torch.float32, seed=seed)
        self.c = c = cfg
        self.B = B
        self.tc = tc = train_config()
        self.D, self.nh, self.hd = c.hidden_size, c.num_heads, c.head_dim
        self.P, self.S = c.puzzle_emb_len, c.total_seq
        self.eps = c.rms_norm_eps
        self.scale = math.sqrt(c.hidden_size)
        self.attn_scale = 1.0 / math.sqrt(c.head_dim)
        self.generator = torch.Generator().manual_seed(seed)
        # dense trained tensors: views of one flat buffer, grads views of one flat buffer
        names = src.trained_names()
        n = sum(src.tensor(k).numel() for k in names)
        self.flat = torch.empty(n, dtype=torch.float32)
        self.gflat = torch.zeros(n, dtype=torch.float32)
        self.m = torch.zeros(n, dtype=torch.float32)
        self.v = torch.zeros(n, dtype=torch.float32)
        self.W = {}
        o = 0
        for k in names:
            t = src.tensor(k).detach()
            view = self.flat[o:o + t.numel()].view(t.shape)
            view.copy_(t)
            view.requires_grad_(True)
            view.grad = self.gflat[o:o + t.numel()].view(t.shape)
            self.W[k] = view
            o += t.numel()
        self.params = list(self.W.values())
        self.H_init = src.H_init.detach().clone()
        self.L_init = src.L_init.detach().clone()
        self.puzzle = src.puzzle_emb.weights.detach().clone() if src.puzzle_emb is not None else None
        cos, sin = (t.unsqueeze(-2) for t in src._cos_sin)  # [S, 1, hd]
        half = self.hd // 2
        sign = torch.cat((-torch.ones(half), torch.ones(half)))  # rotate_half(x) = cat(x2, x1) * sign
        sc = torch.cat((torch.full((self.nh, 1), self.attn_scale), torch.ones(self.nh, 1)))  # [2nh, 1]
        self.cos_qk = (cos * sc).contiguous()  # [S, 2nh, hd]
        self.sin_qk = (sin * sign * sc).contiguous()
        self.inv_D = 1.0 / c.hidden_size
        self.L_blocks = [self._block_weights("L_level", i) for i in range(c.L_layers)]
        self.H_blocks = [self._block_weights("H_level", i) for i in range(c.H_layers)]
        self.step_count = 0
        # carry: all rows halted
        S, D = self.S, self.D
        self.z_H = torch.zeros(B, S, D)
        self.z_L = torch.zeros(B, S, D)
        self.steps = torch.zeros(B, dtype=torch.int32)
        self.halted = torch.ones(B, dtype=torch.bool)
        self.data = None

    def _block_weights(self, lvl, i):
        p = "%s.layers.%d." % (lvl, i)
        return (self.W[p + "self_attn.qkv_proj.weight"], self.W[p + "self_attn.o_proj.weight"],
                self.W[p + "mlp.gate_up_proj.weight"], self.W[p + "mlp.down_proj.weight"])

    # ---- forward
    def block(self, h, w):
        Wqkv, Wo, Wgu, Wd = w
        B, S, D = h.shape
        nh, hd, half = self.nh, self.hd, self.hd // 2
        h2 = h.reshape(B * S, D)
        qkv = F.linear(h2, Wqkv).view(B, S, 3 * nh, hd)
        qk, v = qkv[:, :, :2 * nh], qkv[:, :, 2 * nh:]
        # RoPE on q and k in one op; the attention scale is folded into q's tables
        qk = qk * self.cos_qk + torch.cat((qk[..., half:], qk[..., :half]), dim=-1) * self.sin_qk
        q, k = qk[:, :, :nh].transpose(1, 2), qk[:, :, nh:].transpose(1, 2)
        p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
        o = torch.matmul(p, v.transpose(1, 2)).transpose(1, 2).reshape(B * S, D)
        # residual adds fused into the GEMM (addmm, beta = 1); one-pass norms
        h2 = self.norm(torch.addmm(h2, o, Wo.t()))
        gate, up = F.linear(h2, Wgu).chunk(2, dim=-1)
        h2 = self.norm(torch.addmm(h2, F.silu(gate) * up, Wd.t()))
        return h2.view(B, S, D)

    def norm(self, x):
        # x * rsqrt(mean(x^2) + eps) with one reduction pass over x
        ss = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
        return x * torch.rsqrt(ss.square() * self.inv_D + self.eps)

    def module(self, blocks, z, inj):
        h = z + inj
        for w in blocks:
            h = self.block(h, w)
        return h

    def embed(self, inputs, rows):
        e = F.embedding(inputs, self.W["embed_tokens.embedding_weight"])
        if rows is not None:
            pad = self.P * self.D - rows.shape[-1]
            pe = F.pad(rows, (0, pad)) if pad > 0 else rows
            e = torch.cat((pe.view(-1, self.P, self.D), e), dim=-2)
        return self.scale * e

    def segment(self, z_H, z_L, x):
        c = self.c
        with torch.no_grad():
            for i in range(c.H_cycles):
                for j in range(c.L_cycles):
                    if not (i == c.H_cycles - 1 and j == c.L_cycles - 1):
                        z_L = self.module(self.L_blocks, z_L, z_H + x)
                if i != c.H_cycles - 1:
                    z_H = self.module(self.H_blocks, z_H, z_L)
        z_L = self.module(self.L_blocks, z_L, z_H + x)
        z_H = self.module(self.H_blocks, z_H, z_L)
        logits = F.linear(z_H[:, self.P:], self.W["lm_head.weight"])
        q = F.linear(z_H[:, 0], self.W["q_head.weight"], self.W["q_head.bias"])
        return z_H, z_L, logits, q

    # ---- one training step
    def step(self, batch):
        c, tc, B = self.c, self.tc, self.B
        self.step_count += 1
        t = self.step_count
        lr = H.lr_schedule(t, tc.lr, tc.lr_warmup_steps, tc.total_steps, tc.lr_min_ratio)
        plr = H.lr_schedule(t, tc.puzzle_emb_lr, tc.lr_warmup_steps, tc.total_steps, tc.lr_min_ratio)
        self.gflat.zero_()
        # carry reset (§1.9 step 1)
        hv = self.halted.view(-1, 1, 1)
        z_H = torch.where(hv, self.H_init, self.z_H)
        z_L = torch.where(hv, self.L_init, self.z_L)
        steps = torch.where(self.halted, torch.zeros_like(self.steps), self.steps)
        if self.data is None:
            self.data = {k: v.clone() for k, v in batch.items()}
        else:
            self.data = {k: torch.where(self.halted.view((-1,) + (1,) * (v.ndim - 1)), v, self.data[k])
                         for k, v in batch.items()}
        inputs, labels, pid = self.data["inputs"], self.data["labels"], self.data["puzzle_identifiers"]
        rows = None
        if self.puzzle is not None:
            rows = self.puzzle[pid].requires_grad_(True)
        x = self.embed(inputs, rows)
        z_H, z_L, logits, q = self.segment(z_H, z_L, x)
        q_halt, q_cont = q[:, 0], q[:, 1]
        with torch.no_grad():
            z_H, z_L = z_H.detach(), z_L.detach()
            steps = steps + 1
            is_last = steps >= c.halt_max_steps
            halted = is_last
            target = None
            if c.halt_max_steps > 1:
                halted = halted | (q_halt > q_cont)
                explore = torch.rand(q_halt.shape, generator=self.generator) < c.halt_exploration_prob
                rnd = torch.randint(2, c.halt_max_steps + 1, steps.shape, generator=self.generator,
                                    dtype=steps.dtype)
                halted = halted & (steps >= explore.to(steps.dtype) * rnd)
                _, _, _, nq = self.segment(z_H, z_L, self.embed(inputs, self.puzzle[pid] if rows is not None else None))
                target = torch.sigmoid(torch.where(is_last, nq[:, 0], torch.maximum(nq[:, 0], nq[:, 1])))
            mask = labels != H.IGNORE_LABEL_ID
            counts = mask.sum(-1)
            divisor = counts.clamp_min(1).unsqueeze(-1)
            seq_correct = ((mask & (logits.argmax(-1) == labels)).sum(-1) == counts)
        # losses (stablemax CE in float64, as the reference)
        xl = logits.double()
        s = torch.where(xl < 0, 1 / (1 - xl + 1e-30), xl + 1)
        logp = torch.log(s / s.sum(-1, keepdim=True))
        lab = torch.where(mask, labels, torch.zeros_like(labels))
        tok = -torch.gather(logp, -1, lab.unsqueeze(-1)).squeeze(-1)
        lm = (torch.where(mask, tok, torch.zeros_like(tok)) / divisor).sum()
        loss = lm + 0.5 * F.binary_cross_entropy_with_logits(q_halt, seq_correct.float(), reduction="sum")
        if target is not None:
            loss = loss + 0.5 * F.binary_cross_entropy_with_logits(q_cont, target, reduction="sum")
        (loss * (1.0 / B)).backward()
        with torch.no_grad():
            # SignSGD on the touched puzzle rows (duplicates summed, lazy decay)
            if rows is not None:
                uniq, inv = torch.unique(pid, return_inverse=True)
                g = torch.zeros(uniq.shape[0], rows.shape[1]).index_add_(0, inv, rows.grad)
                self.puzzle[uniq] = self.puzzle[uniq] * (1.0 - plr * tc.puzzle_emb_weight_decay) - plr * torch.sign(g)
            # AdamATan2 on the flat dense buffer (every trained tensor has a gradient every step)
            b1, b2 = tc.beta1, tc.beta2
            self.flat.mul_(1 - lr * tc.weight_decay)
            self.m.lerp_(self.gflat, 1 - b1)
            self.v.lerp_(self.gflat.square(), 1 - b2)
            self.flat.add_(torch.atan2(self.m, self.v.sqrt().div_(math.sqrt(1 - b2 ** t))),
                           alpha=-lr / (1 - b1 ** t))
        self.z_H, self.z_L, self.steps, self.halted = z_H, z_L, steps.to(torch.int32), halted
        return float(loss) / B


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
# timing, check
# --------------------------------------------------------------------------------------
def time_trainer(tr, pool, reps, warmup, min_time):
    k = [0]

    def one():
        b = pool[k[0] % POOL]
        k[0] += 1
        return tr.step(b)

    for _ in range(warmup):
        one()
    t0 = time.perf_counter()
    one()
    per = time.perf_counter() - t0
    n = int(math.ceil(min_time / max(per, 1e-7))) if per < min_time else 1
    times, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            one()
        times.append((time.perf_counter() - t0) / n)
        cpu.append((time.process_time() - c0) / n)
    return statistics.median(times), min(times), n, statistics.median(cpu)


def check(cfg, B, steps=3):
    """lean == tools for a few steps from the same weights and data: the loss of every step and the
    gradients of every tensor (relative to the tensor's largest gradient) must agree to float
    precision.  Parameters are reported, not asserted: AdamATan2 turns a float-rounding difference
    in a near-zero gradient into a full-size (lr) step, so they may differ by up to ~lr per step."""
    torch.manual_seed(0)
    tools = ToolsTrainer(cfg, B)
    lean = LeanTrainer(cfg, B, src=H.HRM(cfg, dtype=torch.float32, seed=0))
    pool = make_pool(cfg, B)
    worst_l, worst_g, worst_p = 0.0, 0.0, 0.0
    for i in range(steps):
        out = tools.m.train_step(tools.carry, pool[i % POOL], return_grads=True)
        tools.carry = out["carry"]
        lb = lean.step(pool[i % POOL])
        worst_l = max(worst_l, abs(out["loss"] - lb) / max(abs(out["loss"]), 1e-12))
        for k, w in lean.W.items():
            ga = out["grads"][k]
            worst_g = max(worst_g, float((ga - w.grad).abs().max()) / max(float(ga.abs().max()), 1e-30))
            worst_p = max(worst_p, float((tools.m.get_parameter(k).detach() - w.detach()).abs().max()))
    ok = worst_l < 1e-5 and worst_g < 1e-4
    print("check hidden %d (%d steps, B = %d): loss rel. diff %.2e, grad rel. diff %.2e, "
          "max |param diff| %.2e (lr %.1e): %s" % (cfg.hidden_size, steps, B, worst_l, worst_g, worst_p,
                                                  tools.m.current_lr()[0], "OK" if ok else "MISMATCH"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["small", "full", "all"], default="all")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.25)
    ap.add_argument("--impl", default="tools,lean", help="comma list of tools, lean")
    ap.add_argument("--check", action="store_true", help="verify lean == tools, then exit")
    ap.add_argument("--csv", action="store_true")
    a = ap.parse_args()
    threads = [int(x) for x in a.threads.split(",")]
    impls = [x for x in a.impl.split(",") if x]
    blas = OpenBLAS()
    torch.set_num_interop_threads(1)

    models = []
    if a.model in ("small", "all"):
        models.append(("small", config_small()))
    if a.model in ("full", "all"):
        models.append(("sudoku-full", config_full()))

    if a.check:
        set_threads(blas, threads[0])
        ok = all(check(cfg, min(a.batch, 8)) for _, cfg in models)
        sys.exit(0 if ok else 1)

    if a.csv:
        print("torchkernel,%s,%s" % (blas.corename(), torch.__version__))
    else:
        print("PyTorch %s CPU training benchmark (float32)" % torch.__version__)
        print("OpenBLAS kernel under F.linear: %s;  OPENBLAS_CORETYPE=%s  OMP_WAIT_POLICY=%s" %
              (blas.corename(), os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
               os.environ.get("OMP_WAIT_POLICY", "(unset)")))
        print("median of %d timed repetitions (>= %.2f s, >= 1 step each) after %d warm-up step(s)"
              % (a.reps, a.min_time, a.warmup))
    for name, cfg in models:
        B = a.batch
        pool = make_pool(cfg, B)
        if not a.csv:
            print("\n%s: hidden %d, %d heads, %d+%d layers, S = %d, halt_max_steps %d; B = %d; "
                  "%.3f GFLOP per step" % (name, cfg.hidden_size, cfg.num_heads, cfg.H_layers,
                                           cfg.L_layers, cfg.total_seq, cfg.halt_max_steps, B,
                                           step_flops(cfg, B) * 1e-9))
            print("%-6s %-8s %4s %10s %12s %10s %10s %s" % ("impl", "threads", "B", "steps/s", "ex*seg/s",
                                                          "GFLOP/s", "cpu s/step", "(reps x steps)"))
        for th in threads:
            set_threads(blas, th)
            for impl in impls:
                torch.manual_seed(0)
                tr = ToolsTrainer(cfg, B) if impl == "tools" else LeanTrainer(cfg, B)
                med, best, n, cpu = time_trainer(tr, pool, a.reps, a.warmup, a.min_time)
                gf = step_flops(cfg, B) / med * 1e-9
                if a.csv:
                    print("torch,%s,%d,%d,%.6f,%.6f,%.4f,%s,%s,%.6f,%.6f,%d,%d,%.6f" %
                          (name, th, B, 1.0 / med, B / med, gf, impl, blas.corename(), 1.0 / best,
                           step_flops(cfg, B) * 1e-9, a.reps, n, cpu))
                else:
                    print("%-6s %-8d %4d %10.3f %12.2f %10.2f %10.3f (%d x %d)" %
                          (impl, th, B, 1.0 / med, B / med, gf, cpu, a.reps, n))
                sys.stdout.flush()
                del tr


if __name__ == "__main__":
    main()
