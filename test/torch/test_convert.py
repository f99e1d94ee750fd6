#!/usr/bin/python3
"""Tests of tools/convert_checkpoint.py (no server).

    /usr/bin/python3 test/torch/test_convert.py [-v]

Builds reference-style checkpoints itself: random tensors of small configurations with the exact key
names of the reference's state dict (`_orig_mod.model.inner.*` or `model.inner.*`), H_init / L_init
in bfloat16 and everything else in float32, saved with torch.save, next to an all_config.yaml in the
layout of the reference's yaml.dump (and a dataset.json when the case has one).  For each case:
to-hrm, then the safetensors file is checked (names, shapes, F32, values equal with bfloat16 widened
exactly, the hrm_config metadata); tools/hrm_torch.py runs the converted file and the original state
dict and must give identical outputs; to-torch gives back the original state dict (keys, order,
dtypes, values) that a module with the reference's structure loads strictly, and an all_config.yaml
that to-hrm turns back into the identical file.  Then the error cases.  Ends with
"N passed, N failed"; exit status 1 on any failure.

Tiny Recursive Models (arch "trm") are built the same way from the TRM reference's naming rules
(models/recursive_reasoning/trm.py: one L_level network, mlp_t blocks for TRM-MLP, a puzzle_emb_len
prefix) and checked the same way except the run through tools/hrm_torch.py (which has no TRM); in
its place the reference's own TRM fixtures (test/fixtures/trm/, made by the reference code) are
saved as reference checkpoints next to a reference-style all_config.yaml and converted: the result
holds exactly the fixture's tensors and configuration, which the engine's parity run checks against
the reference's outputs.
"""
import argparse
import collections
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)
import convert_checkpoint as C  # noqa: E402
import hrm_torch as H  # noqa: E402
import safetensors_io as st  # noqa: E402

try:
    import yaml
except ImportError:  # the converter has its own reader; the comparison with PyYAML is skipped
    yaml = None


class Report:
    def __init__(self, verbose=False):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %s%s" % ("ok  " if ok else "FAIL", name, ("  " + detail) if detail and (self.verbose or not ok) else ""),
              flush=True)
        return ok


# ----------------------------------------------------------------------------------------------
# reference-style checkpoints, written from the reference's naming rules (not from the converter)
# ----------------------------------------------------------------------------------------------
def ref_tensors(cfg):
    """[(name, shape)] of the reference's state dict, in its order (hrm_act_v1.py; trm.py for arch trm)."""
    D, V = cfg["hidden_size"], cfg["vocab_size"]
    inter = -(-round(cfg["expansion"] * D * 2 / 3) // 256) * 256
    trm = cfg["arch"] == "trm"
    P = cfg["puzzle_emb_len"] if trm and cfg["puzzle_emb_len"] > 0 else -(-cfg["puzzle_emb_ndim"] // D)
    S = cfg["seq_len"] + P
    inter_t = -(-round(cfg["expansion"] * S * 2 / 3) // 256) * 256
    out = [("H_init", (D,)), ("L_init", (D,)), ("embed_tokens.embedding_weight", (V, D)), ("lm_head.weight", (V, D)),
           ("q_head.weight", (2, D)), ("q_head.bias", (2,))]
    if cfg["puzzle_emb_ndim"] > 0:
        out.append(("puzzle_emb.weights", (cfg["num_puzzle_identifiers"], cfg["puzzle_emb_ndim"])))
    if cfg["pos_encodings"] == "learned":
        out.append(("embed_pos.embedding_weight", (cfg["seq_len"] + P, D)))
    for level in (("L_level",) if trm else ("H_level", "L_level")):
        for i in range(cfg[level[0] + "_layers"]):
            p = "%s.layers.%d." % (level, i)
            if trm and cfg["mlp_t"]:
                out += [(p + "mlp_t.gate_up_proj.weight", (2 * inter_t, S)), (p + "mlp_t.down_proj.weight", (S, inter_t))]
            else:
                out += [(p + "self_attn.qkv_proj.weight", (3 * D, D)), (p + "self_attn.o_proj.weight", (D, D))]
            out += [(p + "mlp.gate_up_proj.weight", (2 * inter, D)), (p + "mlp.down_proj.weight", (D, inter))]
    return out


def make_state_dict(cfg, prefix, seed):
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    for name, shape in ref_tensors(cfg):
        fan_in = shape[-1] if len(shape) > 1 else 1
        t = torch.randn(shape, generator=g, dtype=torch.float32)
        if name in ("H_init", "L_init"):
            t = t.to(torch.bfloat16)  # the reference's bfloat16 buffers
        elif name == "q_head.bias":
            t = t * 0.5
        elif name == "puzzle_emb.weights":
            t = t * 0.1
        else:
            t = t / float(np.sqrt(fan_in))
        sd[prefix + name] = t
    return sd


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = repr(v)
        return s.replace("e", ".0e", 1) if "." not in s and "e" in s else s
    return str(v)


def reference_yaml(doc, indent=0):
    """The layout of yaml.dump(config.model_dump()): block style, keys sorted."""
    out = []
    for k in sorted(doc):
        v = doc[k]
        if isinstance(v, dict):
            out.append(" " * indent + "%s:" % k)
            out.append(reference_yaml(v, indent + 2))
        elif isinstance(v, list):
            out.append(" " * indent + "%s: %s" % (k, "[]" if not v else "[" + ", ".join(map(str, v)) + "]"))
        else:
            out.append(" " * indent + "%s: %s" % (k, yaml_scalar(v)))
    return "\n".join(out)


def all_config(cfg, arch_extra=None, data_path="data/sudoku-extreme-1k-aug-1000"):
    trm = cfg.get("arch") == "trm"
    arch = {"name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1" if trm else
            "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1",
            "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"}}
    for k in ("H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "num_heads", "expansion",
              "puzzle_emb_ndim", "pos_encodings", "halt_max_steps", "halt_exploration_prob") + \
            (("mlp_t", "puzzle_emb_len", "no_ACT_continue") if trm else ()):
        arch[k] = cfg[k]
    arch.update(arch_extra or {})
    doc = {"arch": arch, "data_path": data_path, "global_batch_size": 768, "epochs": 20000, "eval_interval": 2000,
           "checkpoint_every_eval": True, "lr": 0.0001, "lr_min_ratio": 1.0, "lr_warmup_steps": 2000, "beta1": 0.9,
           "beta2": 0.95, "weight_decay": 1.0, "puzzle_emb_lr": 0.0001, "puzzle_emb_weight_decay": 1.0,
           "project_name": "Sudoku-extreme-1k-aug-1000 ACT-torch",
           "run_name": "HierarchicalReasoningModel_ACTV1 pompous-skunk",
           "checkpoint_path": "checkpoints/Sudoku-extreme-1k-aug-1000 ACT-torch/HierarchicalReasoningModel_ACTV1 pompous-skunk",
           "seed": 0, "eval_save_outputs": []}
    return reference_yaml(doc) + "\n"


def dataset_json(cfg):
    return {"pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": cfg["vocab_size"],
            "seq_len": cfg["seq_len"], "num_puzzle_identifiers": cfg["num_puzzle_identifiers"], "total_groups": 1000,
            "mean_puzzle_examples": 1.0, "sets": ["all"]}


def base_cfg(**kw):
    cfg = dict(arch="hrm", seq_len=81, vocab_size=11, num_puzzle_identifiers=3, puzzle_emb_ndim=64, H_cycles=2,
               L_cycles=2, H_layers=2, L_layers=1, hidden_size=64, expansion=4.0, num_heads=4, pos_encodings="rope",
               rms_norm_eps=1e-05, rope_theta=10000.0, halt_max_steps=4, halt_exploration_prob=0.1)
    cfg.update(kw)
    return cfg


def trm_cfg(**kw):
    """A TRM configuration in the engine's field order (hrm_config_to_json for arch trm)."""
    cfg = collections.OrderedDict(
        arch="trm", seq_len=81, vocab_size=11, num_puzzle_identifiers=1, puzzle_emb_ndim=64, puzzle_emb_len=4,
        H_cycles=2, L_cycles=3, H_layers=0, L_layers=2, hidden_size=64, expansion=4.0, num_heads=2,
        pos_encodings="rope", rms_norm_eps=1e-05, rope_theta=10000.0, halt_max_steps=4, halt_exploration_prob=0.1,
        mlp_t=False, no_ACT_continue=True)
    cfg.update(kw)
    return dict(cfg)


class NamedTensors(nn.Module):
    """A module tree holding tensors under the given dotted names (parameters, or buffers for H_init / L_init)."""

    def __init__(self, named):
        super().__init__()
        for name, t in named:
            mod = self
            parts = name.split(".")
            for p in parts[:-1]:
                if not hasattr(mod, p):
                    mod.add_module(p, nn.Module())
                mod = getattr(mod, p)
            if parts[-1] in ("H_init", "L_init", "weights"):
                mod.register_buffer(parts[-1], t.clone())
            else:
                mod.register_parameter(parts[-1], nn.Parameter(t.clone(), requires_grad=False))


# ----------------------------------------------------------------------------------------------
def convert(args):
    """Run the converter's main() in-process; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = C.main(args)
        except SystemExit as e:  # argparse errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


class RefWrapper(nn.Module):
    """A module whose state_dict keys are those of the reference's (compiled) ACTLossHead model."""

    def __init__(self, cfg, compiled):
        super().__init__()
        inner = H.HRM(H.HRMConfig.from_dict(cfg), torch.float32, init=False)
        with torch.no_grad():  # the reference's H_init / L_init buffers are bfloat16
            inner.H_init = inner.H_init.to(torch.bfloat16)
            inner.L_init = inner.L_init.to(torch.bfloat16)
        act = nn.Module()
        act.inner = inner
        head = nn.Module()
        head.model = act
        if compiled:
            self._orig_mod = head
        else:
            self.model = act


def infer_all(model, inputs, ids, segments):
    res = model.infer(inputs, ids, segments)
    return [(r["logits"], r["q_halt"], r["q_continue"]) for r in res]


def check_case(rep, tmp, name, cfg, prefix, filename, *, with_dataset, config_next_to_it, seq_len_arg=None,
               task=None, arch_extra=None, torch_prefix=None):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    trm = cfg["arch"] == "trm"
    sd = make_state_dict(cfg, prefix, seed=len(name))
    ck = os.path.join(d, filename)
    torch.save(sd, ck)
    cfg_path = os.path.join(d if config_next_to_it else os.path.join(d, "run"), "all_config.yaml")
    os.makedirs(os.path.dirname(cfg_path), exist_ok=True)
    with open(cfg_path, "w") as f:
        f.write(all_config(cfg, arch_extra))
    args = ["to-hrm", ck, "-o", os.path.join(d, "model.safetensors")]
    if not config_next_to_it:
        args += ["--config", cfg_path]
    if with_dataset:
        with open(os.path.join(d, "dataset.json"), "w") as f:
            json.dump(dataset_json(cfg), f)
        args += ["--dataset", os.path.join(d, "dataset.json")]
    if seq_len_arg is not None:
        args += ["--seq-len", str(seq_len_arg)]
    if task:
        args += ["--task", task]
    rc, out, err = convert(args)
    if not rep.check(rc == 0, "%s: to-hrm" % name, (out + err).strip()):
        return
    if err.strip():
        print("     (stderr: %s)" % err.strip())
    path = os.path.join(d, "model.safetensors")

    # the file: names, shapes, dtypes, values, metadata
    header, meta, _ = st.load_header(path)
    conv, _, dtypes = st.load(path)
    want = [("model.inner." + n, s) for n, s in ref_tensors(cfg)]
    rep.check(set(conv) == {n for n, _ in want}, "%s: tensor names (model.inner.*)" % name,
              "extra %s missing %s" % (sorted(set(conv) - {n for n, _ in want}), sorted({n for n, _ in want} - set(conv))))
    rep.check(all(tuple(conv[n].shape) == tuple(s) for n, s in want if n in conv), "%s: shapes" % name)
    rep.check(set(dtypes.values()) == {"F32"}, "%s: every tensor F32" % name, str(set(dtypes.values())))
    bad = [k for k, t in sd.items() if not np.array_equal(conv.get("model.inner." + k[len(prefix):]), t.float().numpy())]
    rep.check(not bad, "%s: values equal the checkpoint's" % name, "differ: %s" % bad[:4])
    hb = conv["model.inner.H_init"].view(np.uint32)
    rep.check(bool(np.all(hb & 0xFFFF == 0)) and np.array_equal(conv["model.inner.H_init"], sd[prefix + "H_init"].float().numpy()),
              "%s: bfloat16 H_init widened exactly (low 16 bits zero)" % name)
    got_cfg = json.loads(meta.get("hrm_config", "{}"))
    rep.check(got_cfg == cfg, "%s: hrm_config metadata" % name, "got %s" % got_cfg)
    rep.check(list(got_cfg) == (C.TRM_CONFIG_FIELDS if trm else C.CONFIG_FIELDS),
              "%s: hrm_config in the engine's field order" % name)
    rep.check(meta.get("hrm_task") == task, "%s: hrm_task metadata %r" % (name, task), "got %r" % meta.get("hrm_task"))

    # the converted file runs exactly like the original state dict (tools/hrm_torch.py; HRM only)
    if not trm:
        m_conv = H.HRM.from_safetensors(path, torch.float32)
        m_orig = H.HRM(H.HRMConfig.from_dict(cfg), torch.float32, init=False)
        m_orig.load_arrays(sd)  # strips _orig_mod. / model.inner.; bfloat16 widened exactly
        rng = np.random.default_rng(7)
        inputs = rng.integers(0, cfg["vocab_size"], size=(2, cfg["seq_len"]))
        ids = rng.integers(0, max(1, cfg["num_puzzle_identifiers"]), size=(2,))
        a = infer_all(m_conv, inputs, ids, 3)
        b = infer_all(m_orig, inputs, ids, 3)
        same = all(torch.equal(x, y) for sa, sb in zip(a, b) for x, y in zip(sa, sb))
        rep.check(same and len(a) == 3, "%s: hrm_torch outputs of the converted file == the original's (3 segments)" % name)

    # back to the reference's format
    ck2 = os.path.join(d, "back", "checkpoint")
    os.makedirs(os.path.dirname(ck2))
    targs = ["to-torch", path, "-o", ck2]
    if torch_prefix is not None:
        targs += ["--prefix", torch_prefix]
    rc, out, err = convert(targs)
    if not rep.check(rc == 0, "%s: to-torch" % name, (out + err).strip()):
        return
    rep.check("not bfloat16-representable" not in err, "%s: to-torch: no bfloat16 rounding warning" % name, err.strip())
    sd2 = torch.load(ck2, map_location="cpu", weights_only=True)
    exp_prefix = torch_prefix if torch_prefix is not None else "_orig_mod.model.inner."
    exp_keys = [exp_prefix + k[len(prefix):] for k in sd]
    rep.check(list(sd2) == exp_keys, "%s: to-torch keys and order (prefix %s)" % (name, exp_prefix))
    rep.check(all(sd2[exp_prefix + k[len(prefix):]].dtype == t.dtype for k, t in sd.items() if exp_prefix + k[len(prefix):] in sd2),
              "%s: to-torch dtypes (H_init/L_init bfloat16, others float32)" % name)
    rep.check(all(torch.equal(sd2[exp_prefix + k[len(prefix):]], t) for k, t in sd.items() if exp_prefix + k[len(prefix):] in sd2),
              "%s: to-torch values equal the original checkpoint's" % name)
    if trm:
        wrapper = NamedTensors([(exp_prefix + n, torch.zeros(s, dtype=torch.bfloat16 if n in ("H_init", "L_init")
                                                             else torch.float32)) for n, s in ref_tensors(cfg)])
    else:
        wrapper = RefWrapper(cfg, compiled=exp_prefix.startswith("_orig_mod."))
    try:
        res = wrapper.load_state_dict(sd2, strict=True)
        ok = not res.missing_keys and not res.unexpected_keys
        detail = str(res)
    except RuntimeError as e:
        ok, detail = False, str(e).splitlines()[0]
    rep.check(ok, "%s: a module with the reference's structure loads it strictly" % name, detail)

    # its all_config.yaml
    yaml_path = os.path.join(d, "back", "all_config.yaml")
    text = open(yaml_path).read()
    doc = C.simple_yaml_load(text)
    arch = doc.get("arch", {})
    required = ("data_path", "global_batch_size", "epochs", "lr", "lr_min_ratio", "lr_warmup_steps", "weight_decay",
                "beta1", "beta2", "puzzle_emb_lr", "puzzle_emb_weight_decay")
    rep.check(all(k in doc for k in required) and "name" in arch and "name" in arch.get("loss", {}),
              "%s: all_config.yaml has every field PretrainConfig requires" % name)
    rep.check(all(arch.get(k) == cfg[k] for k in ("H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "num_heads",
                                                   "expansion", "puzzle_emb_ndim", "pos_encodings", "halt_max_steps",
                                                   "halt_exploration_prob", "rms_norm_eps", "rope_theta") +
                  (("mlp_t", "puzzle_emb_len", "no_ACT_continue") if trm else ())),
              "%s: all_config.yaml arch fields" % name, str(arch))
    rep.check(arch.get("name") == ("recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1" if trm else
                                   "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"),
              "%s: all_config.yaml names the reference's model class" % name, str(arch.get("name")))
    rep.check(not ({"seq_len", "vocab_size", "num_puzzle_identifiers"} & set(arch)),
              "%s: no dataset fields under arch (the reference passes them itself)" % name)
    if yaml is not None:
        rep.check(yaml.safe_load(text) == doc, "%s: PyYAML and the built-in reader agree on all_config.yaml" % name)
        rep.check(yaml.safe_load(all_config(cfg, arch_extra)) == C.simple_yaml_load(all_config(cfg, arch_extra)),
                  "%s: PyYAML and the built-in reader agree on the reference-style all_config.yaml" % name)

    # and to-hrm again: the identical file
    args = ["to-hrm", ck2, "-o", os.path.join(d, "again.safetensors")] + (["--task", task] if task else [])
    rc, out, err = convert(args)
    if rep.check(rc == 0, "%s: to-hrm of the to-torch output" % name, (out + err).strip()):
        rep.check(open(path, "rb").read() == open(os.path.join(d, "again.safetensors"), "rb").read(),
                  "%s: round trip to-torch -> to-hrm gives identical bytes" % name)


# ----------------------------------------------------------------------------------------------
def expect_error(rep, name, args, phrase):
    rc, out, err = convert(args)
    rep.check(rc == 2 and phrase in err, "error: %s" % name, "rc=%s stderr=%s" % (rc, err.strip()))


def error_cases(rep, tmp):
    d = os.path.join(tmp, "errors")
    os.makedirs(d)
    cfg = base_cfg()
    sd = make_state_dict(cfg, "_orig_mod.model.inner.", 3)
    ck = os.path.join(d, "step_10")
    torch.save(sd, ck)
    yml = os.path.join(d, "all_config.yaml")
    with open(yml, "w") as f:
        f.write(all_config(cfg))
    out = os.path.join(d, "out.safetensors")

    expect_error(rep, "RoPE model without --seq-len or --dataset", ["to-hrm", ck, "-o", out], "--seq-len")
    ds = dict(dataset_json(cfg), vocab_size=12)
    with open(os.path.join(d, "ds.json"), "w") as f:
        json.dump(ds, f)
    expect_error(rep, "dataset.json vocab_size disagrees with embed_tokens",
                 ["to-hrm", ck, "--dataset", os.path.join(d, "ds.json"), "-o", out], "vocab_size 12")
    with open(os.path.join(d, "ds.json"), "w") as f:
        json.dump(dict(dataset_json(cfg), seq_len=82), f)
    expect_error(rep, "--seq-len and dataset.json disagree",
                 ["to-hrm", ck, "--dataset", os.path.join(d, "ds.json"), "--seq-len", "81", "-o", out], "seq_len disagrees")
    bad = os.path.join(d, "bad.yaml")
    with open(bad, "w") as f:
        f.write(all_config(dict(cfg, H_layers=4)))
    expect_error(rep, "all_config.yaml H_layers disagrees with the tensors",
                 ["to-hrm", ck, "--config", bad, "--seq-len", "81", "-o", out], "arch.H_layers")
    with open(bad, "w") as f:
        f.write(all_config(dict(cfg, num_heads=5)))
    expect_error(rep, "num_heads that does not divide hidden_size",
                 ["to-hrm", ck, "--config", bad, "--seq-len", "81", "-o", out], "not divisible")
    with open(bad, "w") as f:
        f.write(all_config(dict(cfg, expansion=8.0)))  # MLP width 512, not the checkpoint's 256
    expect_error(rep, "expansion that does not give the MLP width",
                 ["to-hrm", ck, "--config", bad, "--seq-len", "81", "-o", out], "arch.expansion")
    with open(bad, "w") as f:
        f.write(all_config(cfg, {"name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"}))
    expect_error(rep, "a TRM config for an HRM checkpoint", ["to-hrm", ck, "--config", bad, "--seq-len", "81", "-o", out],
                 "describes a TRM but the checkpoint has H_level tensors")
    with open(bad, "w") as f:
        f.write(all_config(cfg, {"name": "recursive_reasoning.trm_singlez@TinyRecursiveReasoningModel_ACTV1"}))
    expect_error(rep, "a TRM variant the engine does not have", ["to-hrm", ck, "--config", bad, "--seq-len", "81", "-o", out],
                 "handles the HRM (hrm_act_v1) and the TRM")
    tcfg = trm_cfg()
    torch.save(make_state_dict(tcfg, "_orig_mod.model.inner.", 4), os.path.join(d, "trm_ck"))
    with open(bad, "w") as f:
        f.write(all_config(dict(tcfg, mlp_t=True)))
    expect_error(rep, "a TRM config with mlp_t for attention weights",
                 ["to-hrm", os.path.join(d, "trm_ck"), "--config", bad, "--seq-len", "81", "-o", out],
                 "mlp_t is True but the checkpoint has no token-mixing")
    with open(bad, "w") as f:
        f.write(all_config(dict(tcfg, puzzle_emb_len=8)))  # a prefix of 8 (the checkpoint's is 4): fits, no tensor says so
    rc, _, err = convert(["to-hrm", os.path.join(d, "trm_ck"), "--config", bad, "--seq-len", "81", "-o", out])
    rep.check(rc == 0 and json.loads(st.load_header(out)[1]["hrm_config"])["puzzle_emb_len"] == 8,
              "TRM attention: puzzle_emb_len comes from all_config.yaml", err.strip())
    with open(bad, "w") as f:
        f.write("data_path: x\nlr: 1\n")
    expect_error(rep, "a YAML without arch", ["to-hrm", ck, "--config", bad, "--seq-len", "81", "-o", out], "no arch section")

    sd_missing = collections.OrderedDict((k, v) for k, v in sd.items() if not k.endswith("L_level.layers.0.mlp.down_proj.weight"))
    torch.save(sd_missing, os.path.join(d, "missing"))
    expect_error(rep, "a missing tensor", ["to-hrm", os.path.join(d, "missing"), "--config", yml, "--seq-len", "81",
                                           "-o", out], "missing L_level.layers.0.mlp.down_proj.weight")
    sd_extra = collections.OrderedDict(sd)
    sd_extra["_orig_mod.model.inner.H_level.layers.0.self_attn.k_norm.weight"] = torch.zeros(16)
    torch.save(sd_extra, os.path.join(d, "extra"))
    expect_error(rep, "an unexpected tensor", ["to-hrm", os.path.join(d, "extra"), "--config", yml, "--seq-len", "81",
                                               "-o", out], "unexpected H_level.layers.0.self_attn.k_norm.weight")
    sd_nan = collections.OrderedDict(sd)
    sd_nan["_orig_mod.model.inner.lm_head.weight"] = sd["_orig_mod.model.inner.lm_head.weight"].clone()
    sd_nan["_orig_mod.model.inner.lm_head.weight"][0, 0] = float("nan")
    torch.save(sd_nan, os.path.join(d, "nan"))
    expect_error(rep, "NaN weights", ["to-hrm", os.path.join(d, "nan"), "--config", yml, "--seq-len", "81", "-o", out],
                 "NaN")
    torch.save({"model": sd, "step": argparse.Namespace(step=10)}, os.path.join(d, "pickled"))
    expect_error(rep, "a pickle with objects other than tensors (weights_only)",
                 ["to-hrm", os.path.join(d, "pickled"), "--config", yml, "--seq-len", "81", "-o", out], "--trust-pickle")
    rc, _, err = convert(["to-hrm", os.path.join(d, "pickled"), "--config", yml, "--seq-len", "81", "-o", out,
                          "--trust-pickle"])
    rep.check(rc == 0, "--trust-pickle reads a {'model': state dict, ...} checkpoint", err.strip())
    expect_error(rep, "a bad --task", ["to-hrm", ck, "--config", yml, "--seq-len", "81", "--task", "Sudoku!", "-o", out],
                 "--task")

    plain = os.path.join(d, "plain.safetensors")
    st.save(plain, {"model.inner.H_init": np.zeros(64, np.float32)})
    expect_error(rep, "to-torch of a file without hrm_config", ["to-torch", plain, "-o", os.path.join(d, "x")],
                 "no hrm_config")

    # the command line: exit status 2 and the message on stderr
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_checkpoint.py"), "to-hrm", ck, "-o", out],
                       capture_output=True, text=True)
    rep.check(p.returncode == 2 and p.stderr.startswith("error: seq_len is unknown"),
              "command line: exit status 2 with the message", "rc=%d stderr=%s" % (p.returncode, p.stderr.strip()))


def other_cases(rep, tmp):
    d = os.path.join(tmp, "other")
    os.makedirs(d)
    cfg = base_cfg(num_puzzle_identifiers=2)

    # float32 H_init (a model imported as F32 or trained by hrm): to-torch rounds it and warns
    sd = make_state_dict(cfg, "model.inner.", 5)
    tensors = collections.OrderedDict((k, v.float().numpy()) for k, v in sd.items())
    tensors["model.inner.H_init"] = np.full(cfg["hidden_size"], 0.1, np.float32)
    f32 = os.path.join(d, "f32.safetensors")
    st.save(f32, tensors, metadata={"hrm_config": C.config_json(cfg)})
    rc, _, err = convert(["to-torch", f32, "-o", os.path.join(d, "f32.ckpt"), "--config-out", os.path.join(d, "f32.yaml")])
    rep.check(rc == 0 and "H_init: 64 of 64 values are not bfloat16-representable" in err and "L_init" not in err,
              "to-torch warns about H_init values that bfloat16 rounds", err.strip())
    back = torch.load(os.path.join(d, "f32.ckpt"), weights_only=True)
    h = back["_orig_mod.model.inner.H_init"]
    rep.check(h.dtype == torch.bfloat16 and torch.equal(h, torch.full((64,), 0.1).to(torch.bfloat16)),
              "to-torch stores the rounded bfloat16 H_init")

    # a safetensors input (the reference exporter's prose: _orig_mod. names, BF16 init, hrm_config metadata)
    sd = make_state_dict(cfg, "_orig_mod.model.inner.", 6)
    bits = {k: st.BF16Bits(v.view(torch.int16).numpy().view(np.uint16)) if v.dtype == torch.bfloat16 else v.numpy()
            for k, v in sd.items()}
    stin = os.path.join(d, "ref.safetensors")
    st.save(stin, bits, metadata={"hrm_config": json.dumps(cfg)})
    rc, _, err = convert(["to-hrm", stin, "-o", os.path.join(d, "from_st.safetensors")])
    ok = rc == 0
    if ok:
        conv, meta, _ = st.load(os.path.join(d, "from_st.safetensors"))
        ok = json.loads(meta["hrm_config"]) == cfg and all(
            np.array_equal(conv["model.inner." + k[len("_orig_mod.model.inner."):]], v.float().numpy()) for k, v in sd.items())
    rep.check(ok, "to-hrm of a safetensors state dict (BF16 H_init/L_init, config from its metadata)", err.strip())

    # an arch YAML as in the reference's config/arch/hrm_v1.yaml: no arch: wrapper, comments, ${.hidden_size}
    sd = make_state_dict(cfg, "_orig_mod.model.inner.", 8)
    torch.save(sd, os.path.join(d, "ck"))
    arch_yaml = os.path.join(d, "hrm_v1.yaml")
    with open(arch_yaml, "w") as f:
        f.write("name: hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1\nloss:\n  name: losses@ACTLossHead\n"
                "  loss_type: stablemax_cross_entropy\n\nhalt_exploration_prob: 0.1\nhalt_max_steps: 4\n\n"
                "H_cycles: 2\nL_cycles: 2\n\nH_layers: 2\nL_layers: 1\n\nhidden_size: 64\n"
                "num_heads: 4  # min(2, hidden_size // 64)\nexpansion: 4\n\npuzzle_emb_ndim: ${.hidden_size}\n\n"
                "pos_encodings: rope\n")
    with open(os.path.join(d, "dataset.json"), "w") as f:
        json.dump(dataset_json(cfg), f)
    rc, _, err = convert(["to-hrm", os.path.join(d, "ck"), "--config", arch_yaml, "--dataset", os.path.join(d, "dataset.json"),
                          "-o", os.path.join(d, "arch.safetensors")])
    ok = rc == 0 and json.loads(st.load_header(os.path.join(d, "arch.safetensors"))[1]["hrm_config"]) == cfg
    rep.check(ok, "to-hrm with a raw arch YAML (${.hidden_size} resolved, comments)", err.strip())

    # without PyYAML the built-in reader gives the same file
    saved = sys.modules.get("yaml")
    sys.modules["yaml"] = None  # makes `import yaml` raise ImportError
    try:
        rc, _, err = convert(["to-hrm", os.path.join(d, "ck"), "--config", arch_yaml, "--dataset",
                              os.path.join(d, "dataset.json"), "-o", os.path.join(d, "arch-noyaml.safetensors")])
    finally:
        if saved is None:
            del sys.modules["yaml"]
        else:
            sys.modules["yaml"] = saved
    rep.check(rc == 0 and open(os.path.join(d, "arch.safetensors"), "rb").read() ==
              open(os.path.join(d, "arch-noyaml.safetensors"), "rb").read(),
              "to-hrm without PyYAML (built-in YAML reader) writes the same file", err.strip())
    with open(os.path.join(d, "frac.yaml"), "w") as f:
        f.write(all_config(dict(cfg, H_layers=2.5)))
    expect_error(rep, "a fractional layer count", ["to-hrm", os.path.join(d, "ck"), "--config", os.path.join(d, "frac.yaml"),
                                                   "--seq-len", "81", "-o", os.path.join(d, "x")], "not an integer")

    # the engine's number format for the hrm_config JSON
    rep.check(C.config_json(base_cfg(expansion=2.5, rms_norm_eps=1e-6, rope_theta=1e6, halt_exploration_prob=0.0)) ==
              '{"arch": "hrm", "seq_len": 81, "vocab_size": 11, "num_puzzle_identifiers": 3, "puzzle_emb_ndim": 64, '
              '"H_cycles": 2, "L_cycles": 2, "H_layers": 2, "L_layers": 1, "hidden_size": 64, "expansion": 2.5, '
              '"num_heads": 4, "pos_encodings": "rope", "rms_norm_eps": 1e-06, "rope_theta": 1e+06, '
              '"halt_max_steps": 4, "halt_exploration_prob": 0.0}',
              "hrm_config JSON in the engine's format (src/core/nn/config.c)")


# ----------------------------------------------------------------------------------------------
def trm_reference_fixtures(rep, tmp):
    """The TRM reference's own weights (test/fixtures/trm) as a reference checkpoint: to-hrm gives them back."""
    fixtures = os.environ.get("HRM_FIXTURES") or os.path.join(HERE, "..", "fixtures")
    for fx in ("trm-tiny", "trm-mlp-tiny"):
        path = os.path.join(fixtures, "trm", fx + ".weights.safetensors")
        if not os.path.exists(path):
            rep.check(False, "reference fixture %s: %s missing" % (fx, path))
            continue
        arrays, meta, _ = st.load(path)
        ref = json.loads(meta["hrm_config"])
        d = os.path.join(tmp, "ref-" + fx)
        os.makedirs(d)
        # the state dict as pretrain.py saves it with forward_dtype float32 (the fixtures' run):
        # compiled-model keys, every tensor float32
        sd = collections.OrderedDict(("_orig_mod." + k, torch.from_numpy(np.array(v, dtype=np.float32)))
                                     for k, v in arrays.items())
        torch.save(sd, os.path.join(d, "checkpoint"))
        arch = {k: ref[k] for k in ("H_cycles", "L_cycles", "L_layers", "hidden_size", "num_heads", "expansion",
                                    "puzzle_emb_ndim", "pos_encodings", "halt_max_steps", "halt_exploration_prob",
                                    "mlp_t", "puzzle_emb_len", "no_ACT_continue")}
        arch.update(name="recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1", H_layers=0,
                    loss={"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"}, forward_dtype="float32")
        with open(os.path.join(d, "all_config.yaml"), "w") as f:
            f.write(reference_yaml({"arch": arch, "data_path": "data/sudoku-extreme-1k-aug-1000", "lr": 0.0001}) + "\n")
        with open(os.path.join(d, "dataset.json"), "w") as f:
            json.dump(dict(dataset_json(dict(ref, num_puzzle_identifiers=ref["num_puzzle_identifiers"]))), f)
        out = os.path.join(d, "model.safetensors")
        rc, _, err = convert(["to-hrm", os.path.join(d, "checkpoint"), "--dataset", os.path.join(d, "dataset.json"), "-o", out])
        if not rep.check(rc == 0, "reference fixture %s: to-hrm" % fx, err.strip()):
            continue
        conv, cmeta, _ = st.load(out)
        same = set(conv) == set(arrays) and all(np.array_equal(conv[k], np.array(arrays[k], dtype=np.float32)) for k in arrays)
        rep.check(same, "reference fixture %s: the converted file holds the reference's tensors" % fx)
        got = json.loads(cmeta["hrm_config"])
        want = dict(ref, H_layers=0)
        rep.check(got == {k: want[k] for k in C.TRM_CONFIG_FIELDS} and list(got) == C.TRM_CONFIG_FIELDS,
                  "reference fixture %s: its configuration (the engine's fields and order)" % fx, str(got))


# ----------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    rep = Report(a.verbose)
    tmp = tempfile.mkdtemp(prefix="hrm-test-convert.")
    try:
        # the released layout: a file named `checkpoint`, all_config.yaml next to it, compiled-model keys
        check_case(rep, tmp, "compiled-rope", base_cfg(), "_orig_mod.model.inner.", "checkpoint",
                   with_dataset=True, config_next_to_it=True, task="sudoku",
                   arch_extra={"forward_dtype": "bfloat16"})
        # an uncompiled model: model.inner. keys, learned positions (seq_len from the table), no puzzle
        # embedding, odd shapes (3 heads of 16, H 1 x L 2 layers, expansion 2.5), config elsewhere
        check_case(rep, tmp, "plain-learned",
                   base_cfg(pos_encodings="learned", puzzle_emb_ndim=0, num_puzzle_identifiers=1, hidden_size=48,
                            num_heads=3, H_layers=1, L_layers=2, H_cycles=3, L_cycles=1, expansion=2.5, seq_len=37,
                            vocab_size=7, halt_max_steps=5),
                   "model.inner.", "step_120", with_dataset=False, config_next_to_it=False, torch_prefix="model.inner.")
        # two puzzle slots (ndim 2*hidden - 5), 5 ids, RoPE with --seq-len
        check_case(rep, tmp, "puzzle-slots", base_cfg(puzzle_emb_ndim=123, num_puzzle_identifiers=5, seq_len=50, vocab_size=10),
                   "_orig_mod.model.inner.", "step_7", with_dataset=False, config_next_to_it=True, seq_len_arg=50)
        # TRM with attention (RoPE, 4 prefix slots), and TRM-MLP (no positions; seq_len from the mixer's width)
        check_case(rep, tmp, "trm-rope", trm_cfg(), "_orig_mod.model.inner.", "checkpoint",
                   with_dataset=True, config_next_to_it=True, task="sudoku")
        # (all_config.yaml says puzzle_emb_len 0: ceil(100 / 64) = 2 slots, written resolved as the engine does)
        check_case(rep, tmp, "trm-mlp", trm_cfg(mlp_t=True, pos_encodings="none", puzzle_emb_len=2, puzzle_emb_ndim=100,
                                                num_puzzle_identifiers=3, seq_len=30, vocab_size=7, L_cycles=2),
                   "model.inner.", "step_9", with_dataset=False, config_next_to_it=False, torch_prefix="model.inner.",
                   arch_extra={"puzzle_emb_len": 0})
        trm_reference_fixtures(rep, tmp)
        other_cases(rep, tmp)
        error_cases(rep, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed or rep.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
