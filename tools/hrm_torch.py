"""A PyTorch implementation of the Hierarchical Reasoning Model (HRM), written from a
description of the reference implementation (sapientinc/HRM: the model, then the
training step), and checked against its fixtures (test/fixtures).  It is the project's
Python oracle: it reads and writes reference-style safetensors state dicts, runs
ACT inference and the reference training step (one-step gradient, ACT carry,
Q-learning target segment, stablemax/softmax losses, AdamATan2, sparse SignSGD
for the puzzle-identifier table, warmup + cosine LR schedule).

Use Debian's /usr/bin/python3 (torch 1.13, numpy).

    import hrm_torch as H
    model = H.HRM.from_safetensors("x.weights.safetensors", dtype=torch.float64)
    segs = model.infer(inputs, puzzle_ids, segments=16)     # list of dicts
    model.configure_training(H.TrainConfig(lr=1e-3, ...))
    carry = model.initial_carry(batch_size)
    out = model.train_step(carry, {"inputs":..., "labels":..., "puzzle_identifiers":...})
    carry = out["carry"]

dtype: torch.float32 or torch.float64 (parameters are stored and computed in that
dtype), or torch.bfloat16 (fp32 master weights, bf16 forward as in the reference's
default; not covered by the fixtures).
"""
import json
import math
from dataclasses import dataclass, field, asdict, fields
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import safetensors_io

IGNORE_LABEL_ID = -100
CONFIG_KEYS = ["arch", "seq_len", "vocab_size", "num_puzzle_identifiers", "puzzle_emb_ndim",
               "H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "expansion",
               "num_heads", "pos_encodings", "rms_norm_eps", "rope_theta", "halt_max_steps",
               "halt_exploration_prob"]


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------
@dataclass
class HRMConfig:
    """Architecture, field for field the `hrm_config` JSON of the fixtures."""
    arch: str = "hrm"
    seq_len: int = 81
    vocab_size: int = 11
    num_puzzle_identifiers: int = 1
    puzzle_emb_ndim: int = 512
    H_cycles: int = 2
    L_cycles: int = 2
    H_layers: int = 4
    L_layers: int = 4
    hidden_size: int = 512
    expansion: float = 4
    num_heads: int = 8
    pos_encodings: str = "rope"
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    halt_max_steps: int = 16
    halt_exploration_prob: float = 0.1

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError("unknown hrm_config fields: %s" % sorted(unknown))
        cfg = cls(**d)
        if cfg.arch != "hrm":
            raise ValueError("arch %r is not 'hrm'" % cfg.arch)
        if cfg.hidden_size % cfg.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        if cfg.pos_encodings not in ("rope", "learned", "none"):
            raise ValueError("pos_encodings must be rope or learned")
        return cfg

    @classmethod
    def from_json(cls, s):
        return cls.from_dict(json.loads(s))

    def to_dict(self):
        d = asdict(self)
        return {k: d[k] for k in CONFIG_KEYS}

    def to_json(self):
        return json.dumps(self.to_dict())

    @property
    def head_dim(self):
        return self.hidden_size // self.num_heads

    @property
    def puzzle_emb_len(self):
        return -(-self.puzzle_emb_ndim // self.hidden_size)  # ceil; 0 when disabled

    @property
    def total_seq(self):
        return self.seq_len + self.puzzle_emb_len

    @property
    def intermediate_size(self):
        n = round(self.expansion * self.hidden_size * 2 / 3)
        return -(-n // 256) * 256


@dataclass
class TrainConfig:
    """Training hyperparameters, field for field the fixtures' `train` JSON."""
    loss_type: str = "stablemax_cross_entropy"
    lr: float = 1e-4
    lr_warmup_steps: int = 2000
    total_steps: int = 26040
    lr_min_ratio: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 1.0
    puzzle_emb_lr: float = 1e-4
    puzzle_emb_weight_decay: float = 1.0

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_json(self):
        return json.dumps(asdict(self))


def lr_schedule(step, base_lr, warmup, total, min_ratio):
    """§2.4: step counts from 1; linear warmup, then cosine down to min_ratio."""
    if step < warmup:
        return base_lr * float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return base_lr * (min_ratio + max(0.0, (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))))


# --------------------------------------------------------------------------------------
# initialisation (§1.3)
# --------------------------------------------------------------------------------------
def trunc_normal_init_(tensor, std=1.0, lower=-2.0, upper=2.0, generator=None):
    """JAX-style truncated normal with the std correction so that the result has std `std`."""
    with torch.no_grad():
        if std == 0:
            return tensor.zero_()
        sqrt2 = math.sqrt(2)
        a = math.erf(lower / sqrt2)
        b = math.erf(upper / sqrt2)
        z = (b - a) / 2
        c = (2 * math.pi) ** -0.5
        pdf_u = c * math.exp(-0.5 * lower ** 2)
        pdf_l = c * math.exp(-0.5 * upper ** 2)
        comp_std = std / math.sqrt(1 - (upper * pdf_u - lower * pdf_l) / z - ((pdf_u - pdf_l) / z) ** 2)
        u = torch.empty(tensor.shape, dtype=torch.float64).uniform_(a, b, generator=generator)
        x = torch.erfinv(u) * (sqrt2 * comp_std)
        x.clamp_(lower * comp_std, upper * comp_std)
        tensor.copy_(x.to(tensor.dtype))
    return tensor


# --------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------
def _compute_dtype(fwd):
    """Precision used inside RMSNorm / RoPE / softmax: fp32 for bf16, else the forward dtype."""
    return torch.float32 if fwd in (torch.bfloat16, torch.float16) else fwd


def rms_norm(x, eps):
    cd = _compute_dtype(x.dtype)
    h = x.to(cd)
    var = h.square().mean(-1, keepdim=True)
    return (h * torch.rsqrt(var + eps)).to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class CastedLinear(nn.Module):
    def __init__(self, n_in, n_out, bias, pdtype):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, dtype=pdtype))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=pdtype)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


class CastedEmbedding(nn.Module):
    def __init__(self, n, d, pdtype):
        super().__init__()
        self.embedding_weight = nn.Parameter(torch.zeros(n, d, dtype=pdtype))


class PuzzleEmbedding(nn.Module):
    """Puzzle-identifier table: a persistent buffer trained by sparse SignSGD (§1.4, §2.3)."""

    def __init__(self, n, d, pdtype):
        super().__init__()
        self.register_buffer("weights", torch.zeros(n, d, dtype=pdtype))


class Attention(nn.Module):
    def __init__(self, cfg, pdtype):
        super().__init__()
        self.num_heads = cfg.num_heads
        self.head_dim = cfg.head_dim
        D = cfg.hidden_size
        self.qkv_proj = CastedLinear(D, 3 * D, False, pdtype)
        self.o_proj = CastedLinear(D, D, False, pdtype)

    def forward(self, h, cos_sin):
        B, S, D = h.shape
        nh, hd = self.num_heads, self.head_dim
        qkv = self.qkv_proj(h).view(B, S, 3 * nh, hd)
        q, k, v = qkv[:, :, :nh], qkv[:, :, nh:2 * nh], qkv[:, :, 2 * nh:]
        if cos_sin is not None:
            cos, sin = cos_sin  # [S, hd] in the compute dtype
            od = q.dtype
            q = q.to(cos.dtype)
            k = k.to(cos.dtype)
            q = (q * cos.unsqueeze(-2) + rotate_half(q) * sin.unsqueeze(-2)).to(od)
            k = (k * cos.unsqueeze(-2) + rotate_half(k) * sin.unsqueeze(-2)).to(od)
        # [B, S, H, hd] -> [B, H, S, hd]; non-causal, unmasked softmax attention
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        cd = _compute_dtype(h.dtype)
        scores = torch.matmul(q.to(cd), k.to(cd).transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        p = torch.softmax(scores, dim=-1)
        o = torch.matmul(p, v.to(cd)).to(h.dtype)
        o = o.transpose(1, 2).reshape(B, S, D)  # head-major concatenation
        return self.o_proj(o)


class SwiGLU(nn.Module):
    def __init__(self, cfg, pdtype):
        super().__init__()
        D, I = cfg.hidden_size, cfg.intermediate_size
        self.gate_up_proj = CastedLinear(D, 2 * I, False, pdtype)
        self.down_proj = CastedLinear(I, D, False, pdtype)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    """Post-norm transformer block with weightless RMSNorm (§1.6)."""

    def __init__(self, cfg, pdtype):
        super().__init__()
        self.eps = cfg.rms_norm_eps
        self.self_attn = Attention(cfg, pdtype)
        self.mlp = SwiGLU(cfg, pdtype)

    def forward(self, h, cos_sin):
        h = rms_norm(h + self.self_attn(h, cos_sin), self.eps)
        h = rms_norm(h + self.mlp(h), self.eps)
        return h


class ReasoningModule(nn.Module):
    def __init__(self, cfg, n_layers, pdtype):
        super().__init__()
        self.layers = nn.ModuleList([Block(cfg, pdtype) for _ in range(n_layers)])

    def forward(self, h, injection, cos_sin):
        h = h + injection
        for layer in self.layers:
            h = layer(h, cos_sin)
        return h


# --------------------------------------------------------------------------------------
# carry
# --------------------------------------------------------------------------------------
@dataclass
class Carry:
    z_H: torch.Tensor
    z_L: torch.Tensor
    steps: torch.Tensor          # int32 [B]
    halted: torch.Tensor         # bool [B]
    current_data: Dict[str, torch.Tensor]


def _as_long(x):
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.to(torch.long)


# --------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------
class HRM(nn.Module):
    def __init__(self, config: HRMConfig, dtype=torch.float32, seed: Optional[int] = 0, init=True,
                 exact_f64=False):
        super().__init__()
        self.config = cfg = config
        self.forward_dtype = dtype
        # The reference code, run with forward_dtype=float64, still builds the RoPE tables in
        # float32 and casts the Q-head output to float32; the fixtures' *_f64 tensors carry both
        # quirks, so they are kept unless exact_f64=True (tables and Q values in float64).
        self.exact_f64 = exact_f64
        pdtype = torch.float32 if dtype in (torch.bfloat16, torch.float16) else dtype
        self.param_dtype = pdtype
        D = cfg.hidden_size
        self.embed_scale = math.sqrt(D)
        self.puzzle_emb_len = cfg.puzzle_emb_len

        self.register_buffer("H_init", torch.zeros(D, dtype=pdtype))
        self.register_buffer("L_init", torch.zeros(D, dtype=pdtype))
        self.embed_tokens = CastedEmbedding(cfg.vocab_size, D, pdtype)
        self.lm_head = CastedLinear(D, cfg.vocab_size, False, pdtype)
        self.q_head = CastedLinear(D, 2, True, pdtype)
        if cfg.puzzle_emb_ndim > 0:
            self.puzzle_emb = PuzzleEmbedding(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim, pdtype)
        else:
            self.puzzle_emb = None
        if cfg.pos_encodings == "learned":
            self.embed_pos = CastedEmbedding(cfg.total_seq, D, pdtype)
        else:
            self.embed_pos = None
        self.H_level = ReasoningModule(cfg, cfg.H_layers, pdtype)
        self.L_level = ReasoningModule(cfg, cfg.L_layers, pdtype)
        self._cos_sin = self._build_rope() if cfg.pos_encodings == "rope" else None

        self.train_config = None
        self._opt_state = {}
        self._opt_step = 0
        self.generator = torch.Generator().manual_seed(0 if seed is None else seed)
        self.last_input_embeddings = None
        if init:
            self.reset_parameters(seed)

    # ---------------------------------------------------------------- construction
    def _build_rope(self):
        """§1.5 rotate-half tables [S, head_dim], computed in fp32 like the reference, then widened
        to the compute dtype (computed in float64 only with exact_f64)."""
        cd = _compute_dtype(self.forward_dtype)
        tdt = torch.float64 if (self.exact_f64 and cd == torch.float64) else torch.float32
        hd = self.config.head_dim
        inv_freq = 1.0 / (self.config.rope_theta ** (torch.arange(0, hd, 2, dtype=tdt) / hd))
        t = torch.arange(self.config.total_seq, dtype=tdt)
        freqs = torch.outer(t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(cd), emb.sin().to(cd)

    def reset_parameters(self, seed=0):
        """§1.3 truncated LeCun-normal initialisation (the reference's own init)."""
        g = torch.Generator().manual_seed(0 if seed is None else seed)
        D = self.config.hidden_size
        trunc_normal_init_(self.H_init, 1.0, generator=g)
        trunc_normal_init_(self.L_init, 1.0, generator=g)
        trunc_normal_init_(self.embed_tokens.embedding_weight, 1.0 / math.sqrt(D), generator=g)
        trunc_normal_init_(self.lm_head.weight, 1.0 / math.sqrt(D), generator=g)
        with torch.no_grad():
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
            if self.puzzle_emb is not None:
                self.puzzle_emb.weights.zero_()
        if self.embed_pos is not None:
            trunc_normal_init_(self.embed_pos.embedding_weight, 1.0 / math.sqrt(D), generator=g)
        for level in (self.H_level, self.L_level):
            for blk in level.layers:
                for lin in (blk.self_attn.qkv_proj, blk.self_attn.o_proj, blk.mlp.gate_up_proj, blk.mlp.down_proj):
                    trunc_normal_init_(lin.weight, 1.0 / math.sqrt(lin.weight.shape[1]), generator=g)

    def reference_names(self):
        """Reference state-dict names (without prefix) in the reference's order."""
        names = ["H_init", "L_init", "embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight", "q_head.bias"]
        if self.puzzle_emb is not None:
            names.append("puzzle_emb.weights")
        if self.embed_pos is not None:
            names.append("embed_pos.embedding_weight")
        for lvl, n in (("H_level", self.config.H_layers), ("L_level", self.config.L_layers)):
            for i in range(n):
                for s in ("self_attn.qkv_proj.weight", "self_attn.o_proj.weight", "mlp.gate_up_proj.weight", "mlp.down_proj.weight"):
                    names.append("%s.layers.%d.%s" % (lvl, i, s))
        return names

    def trained_names(self):
        """Names of the tensors AdamATan2 trains (model.parameters())."""
        return [n for n in self.reference_names() if n not in ("H_init", "L_init", "puzzle_emb.weights")]

    def tensor(self, name):
        return self.get_parameter(name) if name in dict(self.named_parameters()) else self.get_buffer(name)

    def export_state(self):
        """{reference name: float numpy array} (in the parameter dtype)."""
        return {n: self.tensor(n).detach().cpu().numpy().copy() for n in self.reference_names()}

    @staticmethod
    def strip_prefix(name):
        for p in ("_orig_mod.", "model.inner.", "inner."):
            if name.startswith(p):
                name = name[len(p):]
        return name

    def load_arrays(self, arrays, strict=True):
        """Load {name: numpy array or tensor}, names with or without `_orig_mod.`/`model.inner.` prefixes."""
        want = set(self.reference_names())
        seen = set()
        with torch.no_grad():
            for raw, arr in arrays.items():
                name = self.strip_prefix(raw)
                if name not in want:
                    if strict:
                        raise KeyError("unexpected tensor %s" % raw)
                    continue
                t = self.tensor(name)
                src = torch.as_tensor(np.asarray(arr)) if not torch.is_tensor(arr) else arr
                if tuple(src.shape) != tuple(t.shape):
                    raise ValueError("shape mismatch for %s: %s vs %s" % (raw, tuple(src.shape), tuple(t.shape)))
                t.copy_(src.to(t.dtype))
                seen.add(name)
        missing = want - seen
        if missing and strict:
            raise KeyError("missing tensors: %s" % sorted(missing))
        self._opt_state = {}
        return seen

    def load_state(self, path, strict=True):
        """Load a reference-style safetensors weights file (F32/F64/BF16/F16, any known prefix)."""
        arrays, meta, _ = safetensors_io.load(path)
        self.load_arrays(arrays, strict=strict)
        return meta

    @classmethod
    def from_safetensors(cls, path, dtype=torch.float32, config_override=None, **kw):
        arrays, meta, _ = safetensors_io.load(path)
        if "hrm_config" not in meta:
            raise ValueError("%s has no hrm_config metadata" % path)
        d = json.loads(meta["hrm_config"])
        if config_override:
            d.update(config_override)
        m = cls(HRMConfig.from_dict(d), dtype=dtype, init=False, **kw)
        m.load_arrays(arrays)
        return m

    # ---------------------------------------------------------------- forward pieces
    def _cs(self):
        if self._cos_sin is None:
            return None
        return self._cos_sin

    def input_embeddings(self, inputs, puzzle_ids, puzzle_rows=None):
        """§1.4: x = sqrt(D) * concat(puzzle slots, token embeddings) [+ learned positions]."""
        fd = self.forward_dtype
        cfg = self.config
        emb = F.embedding(inputs, self.embed_tokens.embedding_weight.to(fd))
        if self.puzzle_emb is not None:
            pe = (self.puzzle_emb.weights[puzzle_ids] if puzzle_rows is None else puzzle_rows).to(fd)
            pad = self.puzzle_emb_len * cfg.hidden_size - pe.shape[-1]
            if pad > 0:
                pe = F.pad(pe, (0, pad))
            emb = torch.cat((pe.view(-1, self.puzzle_emb_len, cfg.hidden_size), emb), dim=-2)
        if self.embed_pos is not None:
            emb = 0.707106781 * (emb + self.embed_pos.embedding_weight.to(fd))
        return self.embed_scale * emb

    def segment(self, z_H, z_L, x):
        """One inner forward (§1.8): no-grad cycles, then the 1-step-gradient L and H calls."""
        cfg = self.config
        cs = self._cs()
        with torch.no_grad():
            for h in range(cfg.H_cycles):
                for l in range(cfg.L_cycles):
                    if not (h == cfg.H_cycles - 1 and l == cfg.L_cycles - 1):
                        z_L = self.L_level(z_L, z_H + x, cs)
                if h != cfg.H_cycles - 1:
                    z_H = self.H_level(z_H, z_L, cs)
        z_L = self.L_level(z_L, z_H + x, cs)
        z_H = self.H_level(z_H, z_L, cs)
        logits = self.lm_head(z_H)[:, self.puzzle_emb_len:]
        q = self.q_head(z_H[:, 0])
        q = q.to(torch.float64 if (self.exact_f64 and q.dtype == torch.float64) else torch.float32)
        return z_H.detach(), z_L.detach(), logits, q[..., 0], q[..., 1]

    def initial_carry(self, batch_size):
        cfg = self.config
        z = torch.zeros(batch_size, cfg.total_seq, cfg.hidden_size, dtype=self.forward_dtype)
        return Carry(z, z.clone(), torch.zeros(batch_size, dtype=torch.int32),
                     torch.ones(batch_size, dtype=torch.bool), {})

    def _reset_carry(self, carry, batch):
        """§1.9 step 1: halted rows take H_init/L_init, steps 0 and the new batch row."""
        halted = carry.halted
        fd = self.forward_dtype
        hv = halted.view(-1, 1, 1)
        z_H = torch.where(hv, self.H_init.to(fd), carry.z_H)
        z_L = torch.where(hv, self.L_init.to(fd), carry.z_L)
        steps = torch.where(halted, torch.zeros_like(carry.steps), carry.steps)
        data = {}
        for k, v in batch.items():
            v = _as_long(v)
            if k in carry.current_data:
                old = carry.current_data[k]
                data[k] = torch.where(halted.view((-1,) + (1,) * (v.ndim - 1)), v, old)
            else:
                data[k] = v.clone()
        return z_H, z_L, steps, data

    def act_forward(self, carry, batch):
        """The ACT wrapper (§1.9).  Returns (new carry, outputs dict)."""
        cfg = self.config
        z_H, z_L, steps, data = self._reset_carry(carry, batch)
        pid = data.get("puzzle_identifiers")
        puzzle_rows = None
        if self.training and self.puzzle_emb is not None:
            # train mode: dense scratch copy of the gathered rows; its grad feeds SignSGD
            puzzle_rows = self.puzzle_emb.weights[pid].detach().clone().requires_grad_(True)
            self._local_weights, self._local_ids = puzzle_rows, pid.clone()
        x = self.input_embeddings(data["inputs"], pid, puzzle_rows)
        self.last_input_embeddings = x.detach()
        z_H, z_L, logits, q_halt, q_cont = self.segment(z_H, z_L, x)
        out = {"logits": logits, "q_halt_logits": q_halt, "q_continue_logits": q_cont}
        with torch.no_grad():
            steps = steps + 1
            is_last = steps >= cfg.halt_max_steps
            halted = is_last
            if self.training and cfg.halt_max_steps > 1:
                halted = halted | (q_halt > q_cont)
                if cfg.halt_exploration_prob > 0:
                    explore = torch.rand(q_halt.shape, generator=self.generator) < cfg.halt_exploration_prob
                    rnd = torch.randint(2, cfg.halt_max_steps + 1, steps.shape, generator=self.generator, dtype=steps.dtype)
                    min_steps = explore.to(steps.dtype) * rnd
                    halted = halted & (steps >= min_steps)
                # Q-learning target: an extra full segment on the post-step carry (§1.9, trap 12)
                x2 = self.input_embeddings(data["inputs"], pid)
                _, _, _, nq_halt, nq_cont = self.segment(z_H, z_L, x2)
                out["target_q_continue"] = torch.sigmoid(torch.where(is_last, nq_halt, torch.maximum(nq_halt, nq_cont)))
        return Carry(z_H, z_L, steps.to(torch.int32), halted, data), out

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def infer(self, inputs, puzzle_ids, segments=None):
        """Eval mode from a fresh carry, `segments` ACT calls (default halt_max_steps), no halting.

        Returns a list of dicts {logits [B, seq, V], q_halt [B], q_continue [B]} (one per segment);
        self.last_input_embeddings holds x of the last segment (identical for every segment)."""
        was = self.training
        self.eval()
        inputs = _as_long(inputs)
        puzzle_ids = _as_long(puzzle_ids)
        segments = self.config.halt_max_steps if segments is None else segments
        carry = self.initial_carry(inputs.shape[0])
        batch = {"inputs": inputs, "puzzle_identifiers": puzzle_ids}
        res = []
        x1 = None
        for _ in range(segments):
            carry, out = self.act_forward(carry, batch)
            carry.halted = torch.zeros_like(carry.halted)  # keep the carry: exactly `segments` segments
            if x1 is None:
                x1 = self.last_input_embeddings
            res.append({"logits": out["logits"], "q_halt": out["q_halt_logits"], "q_continue": out["q_continue_logits"]})
        self.first_input_embeddings = x1
        self.train(was)
        return res

    # ---------------------------------------------------------------- loss (§2.1)
    @staticmethod
    def stablemax_ce(logits, labels):
        x = logits.to(torch.float64)
        s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
        logp = torch.log(s / s.sum(-1, keepdim=True))
        valid = labels != IGNORE_LABEL_ID
        lab = torch.where(valid, labels, torch.zeros_like(labels))
        pred = torch.gather(logp, -1, lab.unsqueeze(-1)).squeeze(-1)
        return -torch.where(valid, pred, torch.zeros_like(pred))

    @staticmethod
    def softmax_ce(logits, labels):
        cd = torch.float64 if logits.dtype == torch.float64 else torch.float32
        V = logits.shape[-1]
        return F.cross_entropy(logits.to(cd).reshape(-1, V), labels.reshape(-1), ignore_index=IGNORE_LABEL_ID,
                               reduction="none").view(labels.shape)

    def loss_and_metrics(self, carry, out, loss_type):
        labels = carry.current_data["labels"]
        logits = out["logits"]
        q_halt = out["q_halt_logits"]
        with torch.no_grad():
            mask = labels != IGNORE_LABEL_ID
            counts = mask.sum(-1)
            divisor = counts.clamp_min(1).unsqueeze(-1)
            # argmax: first index on ties (torch.argmax on CPU returns the first maximal index)
            pred = torch.argmax(logits.detach(), dim=-1)
            is_correct = mask & (pred == labels)
            seq_correct = is_correct.sum(-1) == counts
            valid = carry.halted & (counts > 0)
            acc_dtype = _compute_dtype(self.forward_dtype)
            metrics = {
                "count": valid.sum(),
                "accuracy": torch.where(valid, (is_correct.to(acc_dtype) / divisor).sum(-1), torch.zeros((), dtype=acc_dtype)).sum(),
                "exact_accuracy": (valid & seq_correct).sum(),
                "q_halt_accuracy": (valid & ((q_halt >= 0) == seq_correct)).sum(),
                "steps": torch.where(valid, carry.steps, torch.zeros_like(carry.steps)).sum(),
            }
        if loss_type == "stablemax_cross_entropy":
            per_tok = self.stablemax_ce(logits, labels)
        elif loss_type == "softmax_cross_entropy":
            per_tok = self.softmax_ce(logits, labels)
        else:
            raise ValueError("unknown loss_type %r" % loss_type)
        lm_loss = (per_tok / divisor).sum()
        q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, seq_correct.to(q_halt.dtype), reduction="sum")
        q_cont_loss = torch.zeros((), dtype=q_halt.dtype)
        if "target_q_continue" in out:
            q_cont_loss = F.binary_cross_entropy_with_logits(out["q_continue_logits"], out["target_q_continue"], reduction="sum")
        metrics.update({"lm_loss": lm_loss.detach(), "q_halt_loss": q_halt_loss.detach(), "q_continue_loss": q_cont_loss.detach()})
        total = lm_loss + 0.5 * (q_halt_loss + q_cont_loss)
        return total, {k: float(v) for k, v in metrics.items()}, seq_correct

    # ---------------------------------------------------------------- optimisers (§2.3)
    def configure_training(self, tc: TrainConfig, seed: Optional[int] = None):
        self.train_config = tc
        self._opt_state = {}
        self._opt_step = 0
        if seed is not None:
            self.generator.manual_seed(seed)

    def current_lr(self, step=None):
        tc = self.train_config
        step = self._opt_step if step is None else step
        f = lambda base: lr_schedule(step, base, tc.lr_warmup_steps, tc.total_steps, tc.lr_min_ratio)
        return f(tc.lr), f(tc.puzzle_emb_lr)

    @torch.no_grad()
    def adam_atan2_step(self, lr):
        """AdamATan2 (imoneoi/adam-atan2): no eps, bias-correction 1 outside atan2, decoupled decay first."""
        tc = self.train_config
        b1, b2, wd = tc.beta1, tc.beta2, tc.weight_decay
        for name in self.trained_names():
            p = self.get_parameter(name)
            g = p.grad
            if g is None:
                continue
            st = self._opt_state.get(name)
            if st is None:
                st = self._opt_state[name] = {"step": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)}
            st["step"] += 1
            t = st["step"]
            p.mul_(1 - lr * wd)
            st["m"].lerp_(g, 1 - b1)
            st["v"].lerp_(g.square(), 1 - b2)
            step_size = lr / (1 - b1 ** t)
            bc2_sqrt = math.sqrt(1 - b2 ** t)
            p.add_(torch.atan2(st["m"], st["v"].sqrt() / bc2_sqrt), alpha=-step_size)

    @torch.no_grad()
    def sparse_signsgd_step(self, lr, grad_rows, ids):
        """SignSGD on the touched puzzle-embedding rows; duplicate ids summed, lazy decay."""
        if self.puzzle_emb is None or grad_rows is None:
            return
        wd = self.train_config.puzzle_emb_weight_decay
        uniq, inv = torch.unique(ids, return_inverse=True)
        g = torch.zeros(uniq.shape[0], grad_rows.shape[1], dtype=grad_rows.dtype).index_add_(0, inv, grad_rows)
        w = self.puzzle_emb.weights
        p = w[uniq]
        p.mul_(1.0 - lr * wd).add_(torch.sign(g), alpha=-lr)
        w[uniq] = p

    # ---------------------------------------------------------------- training step
    def train_step(self, carry, batch, return_grads=True):
        """One reference training step (pretrain.py train_batch) with global batch = B.

        batch: dict inputs [B, seq], labels [B, seq] (-100 ignored), puzzle_identifiers [B].
        Returns dict: loss (total/B, float), metrics (raw sums, like the fixtures), carry (new),
        grads ({reference name: tensor} of loss/B, plus 'puzzle_emb_rows'), lr, puzzle_emb_lr, step,
        outputs (logits / q values of this step, detached)."""
        if self.train_config is None:
            raise RuntimeError("call configure_training() first")
        self.train()
        B = int(_as_long(batch["inputs"]).shape[0])
        self._opt_step += 1
        lr, plr = self.current_lr()
        for p in self.parameters():
            p.grad = None
        new_carry, out = self.act_forward(carry, batch)
        total, metrics, seq_correct = self.loss_and_metrics(new_carry, out, self.train_config.loss_type)
        ((1.0 / B) * total).backward()
        grads = {}
        if return_grads:
            for n in self.trained_names():
                g = self.get_parameter(n).grad
                grads[n] = None if g is None else g.detach().clone()
        prow = None
        if self.puzzle_emb is not None:
            prow = self._local_weights.grad
            if prow is None:
                prow = torch.zeros_like(self._local_weights)
            grads["puzzle_emb_rows"] = prow.detach().clone()
        self.sparse_signsgd_step(plr, prow, self._local_ids if self.puzzle_emb is not None else None)
        self.adam_atan2_step(lr)
        for p in self.parameters():
            p.grad = None
        outputs = {k: v.detach() for k, v in out.items()}
        outputs["seq_correct"] = seq_correct
        return {"loss": float(total.detach()) / B, "metrics": metrics, "carry": new_carry, "grads": grads,
                "lr": lr, "puzzle_emb_lr": plr, "step": self._opt_step, "outputs": outputs}


def load_state(path, dtype=torch.float32, **kw):
    """Build an HRM from a safetensors weights file carrying `hrm_config` metadata."""
    return HRM.from_safetensors(path, dtype=dtype, **kw)


# --------------------------------------------------------------------------------------
# old copies of the training fixtures: recover the step-0 weights
# --------------------------------------------------------------------------------------
def recover_initial_weights(expected, train_cfg, prefix="model.inner."):
    """Invert step 1 of a training fixture: the step-0 weights from stepK params + step-1 grads.

    Old copies of the training fixtures had, in NAME.weights.safetensors, the parameters *after
    the last step* (identical to stepK.param.* of the last K), not the starting weights.  Step 1 of
    AdamATan2 and SignSGD is invertible given the step-1 gradients stored in the fixture:
      AdamATan2, t=1: p1 = p0*(1 - lr*wd) - lr/(1-b1) * atan2((1-b1)*g, sqrt((1-b2)*g^2)/sqrt(1-b2))
      SignSGD:        p1 = p0*(1 - plr*pwd) - plr*sign(sum of the id's gradient rows)   (touched rows)
    Returns {name without prefix: float32 numpy array}; exact to ~1 ulp of float32.
    """
    tc = train_cfg if isinstance(train_cfg, TrainConfig) else TrainConfig.from_dict(train_cfg)
    lr = lr_schedule(1, tc.lr, tc.lr_warmup_steps, tc.total_steps, tc.lr_min_ratio)
    plr = lr_schedule(1, tc.puzzle_emb_lr, tc.lr_warmup_steps, tc.total_steps, tc.lr_min_ratio)
    b1, b2 = tc.beta1, tc.beta2
    out = {}
    pp = "step1.param." + prefix
    for key, p1 in expected.items():
        if not key.startswith(pp):
            continue
        name = key[len(pp):]
        p1 = p1.astype(np.float64)
        gkey = "step1.grad." + prefix + name
        if gkey in expected:
            g = torch.from_numpy(expected[gkey].astype(np.float32))
            m = torch.zeros_like(g).lerp_(g, 1 - b1)
            v = torch.zeros_like(g).lerp_(g.square(), 1 - b2)
            upd = torch.atan2(m, v.sqrt() / math.sqrt(1 - b2)).double().numpy()
            p0 = (p1 + (lr / (1 - b1)) * upd) / (1 - lr * tc.weight_decay)
        elif name == "puzzle_emb.weights":
            ids = expected["step1.puzzle_identifiers"].astype(np.int64)
            rows = expected["step1.grad.puzzle_emb_rows"].astype(np.float32)
            G = np.zeros(p1.shape, dtype=np.float32)
            np.add.at(G, ids, rows)
            touched = np.zeros(p1.shape[0], dtype=bool)
            touched[ids] = True
            p0 = p1.copy()
            p0[touched] = (p1[touched] + plr * np.sign(G[touched])) / (1 - plr * tc.puzzle_emb_weight_decay)
        else:
            p0 = p1  # buffers without an optimiser (H_init, L_init)
        out[name] = p0.astype(np.float32)
    return out
