#!/usr/bin/python3
"""Generate HRM fixture pairs in the format of the reference fixtures (test/fixtures/README.md).

Run with Debian's /usr/bin/python3 (torch 1.13 + numpy).  Fixtures are written on demand into the
directory given on the command line; they are not committed.

    # one inference fixture
    tools/make_fixture.py --out DIR --name NAME [--config '{"hidden_size":128,...}'] \
        [--batch 3] [--segments 8] [--prefix-style model.inner|orig_mod|bare] [--bf16 none|init|all] [--seed 1]
    # one training fixture (float32, exploration off, persistent carry)
    tools/make_fixture.py --out DIR --name NAME --steps 4 [--batch 6] [--loss stablemax|softmax] \
        [--train '{"lr":1e-3,...}'] [--oracle-rows 1] [--empty-label-rows 1] [--dup-ids]
    # the standard variant set (a)-(h)
    tools/make_fixture.py --suite DIR
    # write a corrected pair for an old copy of a training fixture whose weights file holds the
    # final params (the copies in test/fixtures hold the starting weights already)
    tools/make_fixture.py --recover-initial OLD_DIR/train-tiny --out DIR

NAME.weights.safetensors: the reference state dict with `hrm_config` metadata; names prefixed
`model.inner.` (default), `_orig_mod.model.inner.` or bare; F32, or BF16 for H_init/L_init
(--bf16 init) or for every tensor (--bf16 all).  Every run uses the stored (bf16-rounded) values.
For training fixtures the weights file holds the *starting* weights.

NAME.expected.safetensors (tensor names always use the canonical `model.inner.` prefix):
  inference: inputs, puzzle_identifiers, segKK.{logits,q_halt,q_continue} (float32 run),
             segKK.{logits,q_halt,q_continue}_f64 (float64 run of the same weights, with the
             reference's fp32 RoPE tables and fp32 Q values), seg01.input_embeddings.
  training:  stepK.{inputs,labels,puzzle_identifiers} (the offered batch), stepK.loss,
             stepK.metric.*, stepK.halted, stepK.steps, stepK.lr, step1.grad.model.inner.*,
             step1.grad.puzzle_emb_rows, stepK.param.model.inner.* for K = 1 and the last step.
             Metadata `train` holds the hyperparameters; `margins` the smallest float32 decision
             margins of the run (halting, argmax vs label, q_halt sign), which are kept >= 1e-4 by
             re-drawing the data so that float32 implementations agree on every discrete decision.

Random weights are non-trivial: LeCun truncated-normal matrices, H_init/L_init std 1, and a random
Q head and puzzle-embedding table (the reference would start them at W=0, b=-5 and zeros).
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_torch as H  # noqa: E402
import safetensors_io as st  # noqa: E402

BASE_CONFIG = dict(arch="hrm", seq_len=81, vocab_size=11, num_puzzle_identifiers=1, puzzle_emb_ndim=64,
                   H_cycles=2, L_cycles=2, H_layers=2, L_layers=2, hidden_size=64, expansion=4, num_heads=2,
                   pos_encodings="rope", rms_norm_eps=1e-05, rope_theta=10000.0, halt_max_steps=16,
                   halt_exploration_prob=0.1)
BASE_TRAIN = dict(loss_type="stablemax_cross_entropy", lr=0.001, lr_warmup_steps=2, total_steps=10,
                  lr_min_ratio=0.1, beta1=0.9, beta2=0.95, weight_decay=0.1, puzzle_emb_lr=0.01,
                  puzzle_emb_weight_decay=0.1)
PREFIXES = {"model.inner": "model.inner.", "orig_mod": "_orig_mod.model.inner.", "bare": ""}
MARGIN = 1e-4
DRIFT_MAX = 2e-6  # largest float32-vs-float64 parameter difference after the last step


# ------------------------------------------------------------------------------------------
def random_model(cfg, seed, bf16="none"):
    """A float32 HRM with non-trivial random weights; bf16-stored tensors are pre-rounded."""
    m = H.HRM(cfg, torch.float32, seed=seed)  # §1.3 init for matrices, H_init, L_init
    g = torch.Generator().manual_seed(seed + 7919)
    with torch.no_grad():
        H.trunc_normal_init_(m.q_head.weight, 0.05, generator=g)
        m.q_head.bias.copy_(torch.rand(2, generator=g, dtype=torch.float64).float() * 1.6 - 0.8)
        if m.puzzle_emb is not None:
            H.trunc_normal_init_(m.puzzle_emb.weights, 0.1, generator=g)
    names = bf16_names(m, bf16)
    with torch.no_grad():
        for n in names:
            t = m.tensor(n)
            t.copy_(torch.from_numpy(st.bf16_round(t.numpy())))
    return m, names


def bf16_names(m, bf16):
    if bf16 == "init":
        return ["H_init", "L_init"]
    if bf16 == "all":
        return m.reference_names()
    return []


def write_weights(path, model, state, prefix_style, bf16_list):
    prefix = PREFIXES[prefix_style]
    tensors = {prefix + n: state[n].astype(np.float32) for n in model.reference_names()}
    st.save(path, tensors, metadata={"hrm_config": model.config.to_json()},
            bf16=[prefix + n for n in bf16_list])


def clone_f64(m32):
    m64 = H.HRM(m32.config, torch.float64, init=False)
    m64.load_arrays(m32.export_state())
    return m64


# ------------------------------------------------------------------------------------------
def random_inputs(cfg, B, rng):
    inputs = rng.integers(1, cfg.vocab_size, size=(B, cfg.seq_len)).astype(np.int32)
    npad = min(cfg.seq_len - 1, max(1, cfg.seq_len // 10))
    inputs[0, :npad] = 0  # row 0 starts with PAD tokens, as in the reference fixtures
    ids = rng.integers(0, max(1, cfg.num_puzzle_identifiers), size=(B,)).astype(np.int32)
    return inputs, ids


def make_inference(out, name, cfg, B, segments, seed, prefix_style, bf16):
    rng = np.random.default_rng(seed)
    m32, bnames = random_model(cfg, seed, bf16)
    m64 = clone_f64(m32)
    inputs, ids = random_inputs(cfg, B, rng)
    r32 = m32.infer(inputs, ids, segments)
    r64 = m64.infer(inputs, ids, segments)
    write_weights(os.path.join(out, name + ".weights.safetensors"), m32, m32.export_state(), prefix_style, bnames)
    t = {"inputs": inputs, "puzzle_identifiers": ids}
    e_max = 0.0
    for k in range(segments):
        p = "seg%02d." % (k + 1)
        a, b = r32[k], r64[k]
        t[p + "logits"] = a["logits"].numpy().astype(np.float32)
        t[p + "q_halt"] = a["q_halt"].numpy().astype(np.float32)
        t[p + "q_continue"] = a["q_continue"].numpy().astype(np.float32)
        t[p + "logits_f64"] = b["logits"].numpy().astype(np.float64)
        t[p + "q_halt_f64"] = b["q_halt"].numpy().astype(np.float64)
        t[p + "q_continue_f64"] = b["q_continue"].numpy().astype(np.float64)
        e_max = max(e_max, float(np.abs(t[p + "logits"] - t[p + "logits_f64"]).max()))
    t["seg01.input_embeddings"] = m32.first_input_embeddings.numpy().astype(np.float32)
    desc = "inference, %d segments, eval mode (no halting); generated by tools/make_fixture.py seed %d, " \
           "weights prefix %r, bf16 %s" % (segments, seed, PREFIXES[prefix_style], bf16)
    st.save(os.path.join(out, name + ".expected.safetensors"), t,
            metadata={"hrm_config": cfg.to_json(), "fixture": desc})
    return {"f32_vs_f64_max": e_max}


# ------------------------------------------------------------------------------------------
def make_batch(cfg, B, rng, dup_ids):
    inputs, _ = random_inputs(cfg, B, rng)
    labels = rng.integers(1, cfg.vocab_size, size=(B, cfg.seq_len)).astype(np.int32)
    nign = max(1, cfg.seq_len // 25)
    for b in range(B):
        labels[b, rng.choice(cfg.seq_len, nign, replace=False)] = -100
    labels[0, :max(1, cfg.seq_len // 10)] = -100  # PAD positions ignored
    n = max(1, cfg.num_puzzle_identifiers)
    if dup_ids and B >= 2 and n >= 2:
        k = max(1, min(n - 1, B // 2))
        pool = rng.choice(n, k, replace=False)
        ids = pool[rng.integers(0, k, size=B)]
        ids[:2] = pool[0]  # at least one duplicate
    else:
        ids = rng.integers(0, n, size=B)
    return {"inputs": inputs, "labels": labels, "puzzle_identifiers": ids.astype(np.int32)}


def run_training(m0, tc, batches_fn, K, oracle_rows, empty_rows, seed, dtype=torch.float32):
    """Run K steps on a copy of m0; returns (records, margins). batches_fn(k, carry) -> batch."""
    m = H.HRM(m0.config, dtype, init=False)
    m.load_arrays({k: v.astype(np.float64) if dtype == torch.float64 else v
                   for k, v in m0.export_state().items()})
    m.configure_training(tc)
    B = None
    carry = None
    recs = []
    margins = {"halting": math.inf, "argmax_label": math.inf, "q_halt_sign": math.inf}
    if m0.puzzle_emb is not None:
        margins["signsgd"] = math.inf
    for k in range(1, K + 1):
        batch = batches_fn(k)
        if carry is None:
            B = batch["inputs"].shape[0]
            carry = m.initial_carry(B)
        reset = carry.halted.numpy().copy()
        slots = [b for b in range(B) if reset[b]]
        if empty_rows and slots:
            for b in slots[:empty_rows]:
                if k % 2 == 0:
                    batch["labels"][b, :] = -100
            slots = slots[empty_rows:]
        if oracle_rows and slots:
            # labels of some incoming rows := the model's own confident predictions (dry run;
            # labels do not affect the forward), so seq_correct / exact_accuracy are exercised
            with torch.no_grad():
                m.train()
                _, o = m.act_forward(carry, {kk: v.copy() for kk, v in batch.items() if kk != "labels"})
            lg = o["logits"].numpy()
            # prefer rows that halt at this step, so their exact answer reaches the metrics
            will_halt = (o["q_halt_logits"] > o["q_continue_logits"]).numpy()
            slots = sorted(slots, key=lambda b: not will_halt[b])
            srt = np.sort(lg, -1)
            gap = srt[..., -1] - srt[..., -2]
            for b in slots[:oracle_rows]:
                lab = np.argmax(lg[b], -1).astype(np.int32)
                keep = gap[b] > 1e-2
                batch["labels"][b] = np.where(keep, lab, -100)
        out = m.train_step(carry, {kk: torch.from_numpy(v.astype(np.int64)) for kk, v in batch.items()})
        carry = out["carry"]
        o = out["outputs"]
        if "puzzle_emb_rows" in out["grads"]:
            # SignSGD steps by the sign of each id's summed gradient: an entry that is small
            # next to the step's largest would take its sign from rounding (relative margin)
            rows = out["grads"]["puzzle_emb_rows"].double().numpy()
            ids = np.asarray(batch["puzzle_identifiers"]).reshape(-1)
            sums = np.stack([rows[ids == i].sum(0) for i in np.unique(ids)])
            top = np.abs(sums).max()
            if top > 0:
                margins["signsgd"] = min(margins["signsgd"], float(np.abs(sums).min() / top))
        qh, qc = o["q_halt_logits"].numpy(), o["q_continue_logits"].numpy()
        if m.config.halt_max_steps > 1:
            not_last = carry.steps.numpy() < m.config.halt_max_steps
            if not_last.any():
                margins["halting"] = min(margins["halting"], float(np.abs(qh - qc)[not_last].min()))
        labels = carry.current_data["labels"].numpy()
        lg = o["logits"].numpy()
        mask = labels != -100
        if mask.any():
            lab = np.where(mask, labels, 0)
            lab_logit = np.take_along_axis(lg, lab[..., None], -1)[..., 0]
            other = lg.copy()
            np.put_along_axis(other, lab[..., None], -np.inf, -1)
            gap = np.abs(lab_logit - other.max(-1))
            margins["argmax_label"] = min(margins["argmax_label"], float(gap[mask].min()))
        valid = carry.halted.numpy() & mask.any(-1)
        if valid.any():
            margins["q_halt_sign"] = min(margins["q_halt_sign"], float(np.abs(qh[valid]).min()))
        recs.append({"batch": batch, "out": out, "state": m.export_state() if k in (1, K) else None,
                     "halted": carry.halted.numpy().astype(np.int32), "steps": carry.steps.numpy().astype(np.int32)})
    return recs, margins


def make_training(out, name, cfg, tcd, B, K, seed, prefix_style, bf16, oracle_rows=0, empty_rows=0,
                  dup_ids=False, attempts=25, calibrate=True):
    cfg = H.HRMConfig.from_dict(dict(cfg.to_dict(), halt_exploration_prob=0.0))
    tc = H.TrainConfig.from_dict(tcd)
    m0, bnames = random_model(cfg, seed, bf16)
    bias0 = m0.q_head.bias.detach().clone()
    for attempt in range(attempts):
        rng = np.random.default_rng(seed * 1000 + attempt)
        batches = [make_batch(cfg, B, rng, dup_ids) for _ in range(K)]
        if calibrate and cfg.halt_max_steps > 1 and B >= 2:
            # shift the halt bias so that about half of the rows halt early at step 1 (mixed carries)
            with torch.no_grad():
                m0.q_head.bias.copy_(bias0)
                m0.train()
                _, o = m0.act_forward(m0.initial_carry(B), {k: v for k, v in batches[0].items() if k != "labels"})
                d = np.sort((o["q_halt_logits"] - o["q_continue_logits"]).numpy().astype(np.float64))
                mid = B // 2
                shift = 0.5 * (d[mid - 1] + d[mid])
                m0.q_head.bias[0] -= float(shift)
                if "q_head.bias" in bnames:  # keep the stored (bf16) values the values that run
                    m0.q_head.bias.copy_(torch.from_numpy(st.bf16_round(m0.q_head.bias.numpy())))
        state0 = m0.export_state()
        recs, margins = run_training(m0, tc, lambda k: {kk: v.copy() for kk, v in batches[k - 1].items()},
                                     K, oracle_rows, empty_rows, seed)
        if not all(v >= MARGIN for v in margins.values()):
            continue
        # The same run in float64: how far float32 rounding alone moves the final parameters.
        # AdamATan2 turns a gradient entry that is mostly rounding noise into a full-size step
        # of either sign, so a run where float32 already drifts by a sizeable part of the
        # parity tolerance (1e-5) cannot be matched by another float32 implementation;
        # such runs are rejected like small decision margins.
        recs64, _ = run_training(m0, tc, lambda k: {kk: v.copy() for kk, v in batches[k - 1].items()},
                                 K, oracle_rows, empty_rows, seed, dtype=torch.float64)
        drift = max(float(np.max(np.abs(recs[-1]["state"][n].astype(np.float64) - recs64[-1]["state"][n])))
                    for n in recs[-1]["state"])
        same_halting = all((a["halted"] == b["halted"]).all() for a, b in zip(recs, recs64))
        if same_halting and drift <= DRIFT_MAX:
            margins["f32_param_drift"] = drift
            break
    else:
        print("warning: %s: margins below %g or float32 drift above %g after %d attempts: %s"
              % (name, MARGIN, DRIFT_MAX, attempts, margins))
    write_weights(os.path.join(out, name + ".weights.safetensors"), m0, state0, prefix_style, bnames)
    t = {}
    pre = "model.inner."
    for k, r in enumerate(recs, 1):
        p = "step%d." % k
        o = r["out"]
        b = r["batch"]
        t[p + "inputs"] = b["inputs"].astype(np.int32)
        t[p + "labels"] = b["labels"].astype(np.int32)
        t[p + "puzzle_identifiers"] = b["puzzle_identifiers"].astype(np.int32)
        t[p + "loss"] = np.array([o["loss"]], np.float64)
        for mk in ("count", "accuracy", "exact_accuracy", "q_halt_accuracy", "steps", "lm_loss", "q_halt_loss", "q_continue_loss"):
            t[p + "metric." + mk] = np.array([o["metrics"][mk]], np.float64)
        t[p + "halted"] = r["halted"]
        t[p + "steps"] = r["steps"]
        t[p + "lr"] = np.array([o["lr"]], np.float64)
        if k == 1:
            for n, g in o["grads"].items():
                if n != "puzzle_emb_rows":
                    t[p + "grad." + pre + n] = g.numpy().astype(np.float32)
            if "puzzle_emb_rows" in o["grads"]:
                t[p + "grad.puzzle_emb_rows"] = o["grads"]["puzzle_emb_rows"].numpy().astype(np.float32)
        if r["state"] is not None:
            for n in m0.reference_names():
                t[p + "param." + pre + n] = r["state"][n].astype(np.float32)
    desc = ("%d training steps from the same weights, batch %d, persistent carry, exploration off; stepK.* are "
            "the batch fed at step K and the state after it; grads are of loss/B; generated by tools/make_fixture.py "
            "seed %d, weights prefix %r, bf16 %s; the weights file holds the starting weights"
            % (K, B, seed, PREFIXES[prefix_style], bf16))
    st.save(os.path.join(out, name + ".expected.safetensors"), t,
            metadata={"hrm_config": cfg.to_json(), "train": json.dumps(tcd), "fixture": desc,
                      "margins": json.dumps(margins)})
    summary = {"margins": margins, "halted": [r["halted"].tolist() for r in recs],
               "exact": [recs[i]["out"]["metrics"]["exact_accuracy"] for i in range(K)]}
    return summary


# ------------------------------------------------------------------------------------------
def recover_initial(prefix_path, out):
    """Write OUT/NAME.{weights,expected}.safetensors with the step-0 weights of a reference training fixture."""
    name = os.path.basename(prefix_path)
    e, meta, _ = st.load(prefix_path + ".expected.safetensors")
    if "train" not in meta:
        raise SystemExit("%s is not a training fixture" % prefix_path)
    w0 = H.recover_initial_weights(e, json.loads(meta["train"]))
    cfg = H.HRMConfig.from_json(meta["hrm_config"])
    m = H.HRM(cfg, torch.float32, init=False)
    m.load_arrays(w0)
    os.makedirs(out, exist_ok=True)
    write_weights(os.path.join(out, name + ".weights.safetensors"), m, m.export_state(), "model.inner", [])
    shutil.copyfile(prefix_path + ".expected.safetensors", os.path.join(out, name + ".expected.safetensors"))
    print("wrote %s/%s.{weights,expected}.safetensors (step-0 weights recovered from step1.param + step1.grad)" % (out, name))


# ------------------------------------------------------------------------------------------
def suite(out):
    os.makedirs(out, exist_ok=True)
    C = lambda **kw: H.HRMConfig.from_dict(dict(BASE_CONFIG, **kw))
    jobs = [
        ("learned-pos", "a: learned position table (0.7071 blend), 8 segments",
         lambda: make_inference(out, "learned-pos", C(pos_encodings="learned", halt_max_steps=8), 3, 8, 11, "model.inner", "none")),
        ("hidden512", "b: hidden 512, 8 heads of 64, 1+1 layers, seq 16, I=1536",
         lambda: make_inference(out, "hidden512", C(hidden_size=512, num_heads=8, H_layers=1, L_layers=1, seq_len=16,
                                                    puzzle_emb_ndim=512, halt_max_steps=4), 2, 4, 12, "model.inner", "none")),
        ("puzzle-slots", "c: puzzle_emb_ndim = 3*hidden-5 = 187 (3 slots, last zero padded), 6 ids",
         lambda: make_inference(out, "puzzle-slots", C(puzzle_emb_ndim=3 * 64 - 5, num_puzzle_identifiers=6, seq_len=50,
                                                       vocab_size=10, halt_max_steps=4), 4, 4, 13, "model.inner", "none")),
        ("origmod-bf16init", "d: _orig_mod.model.inner. prefix, H_init/L_init stored as BF16",
         lambda: make_inference(out, "origmod-bf16init", C(halt_max_steps=6), 3, 6, 14, "orig_mod", "init")),
        ("odd-shapes", "e: vocab 7, seq 37, 3 heads of 16 (hidden 48), ndim 48, H 3 x L 1 cycles",
         lambda: make_inference(out, "odd-shapes", C(vocab_size=7, seq_len=37, hidden_size=48, num_heads=3, puzzle_emb_ndim=48,
                                                     H_cycles=3, L_cycles=1, H_layers=1, L_layers=2, num_puzzle_identifiers=3,
                                                     halt_max_steps=5), 3, 5, 15, "model.inner", "none")),
        ("train-learned-softmax", "f: training, learned positions, softmax CE, 4 steps, B 6",
         lambda: make_training(out, "train-learned-softmax", C(pos_encodings="learned", halt_max_steps=3),
                               dict(BASE_TRAIN, loss_type="softmax_cross_entropy"), 6, 4, 16, "model.inner", "none",
                               oracle_rows=1)),
        ("train-dup-ids", "g: training, 5 puzzle ids with duplicates in every batch, stablemax, 5 steps, B 8",
         lambda: make_training(out, "train-dup-ids", C(num_puzzle_identifiers=5, seq_len=49, vocab_size=12, puzzle_emb_ndim=96,
                                                       H_cycles=2, L_cycles=3, H_layers=1, L_layers=2, halt_max_steps=3),
                               dict(BASE_TRAIN), 8, 5, 17, "model.inner", "none", oracle_rows=1, empty_rows=1, dup_ids=True)),
        ("bf16-all-bare", "h (extra): every tensor stored as BF16, bare names (no prefix)",
         lambda: make_inference(out, "bf16-all-bare", C(halt_max_steps=4, seq_len=30), 2, 4, 18, "bare", "all")),
    ]
    t_all = time.time()
    for name, desc, fn in jobs:
        t0 = time.time()
        info = fn()
        dt = time.time() - t0
        sizes = [os.path.getsize(os.path.join(out, name + s)) for s in (".weights.safetensors", ".expected.safetensors")]
        print("%-22s %6.1fs  weights %7.2f MB  expected %6.2f MB  %s  %s"
              % (name, dt, sizes[0] / 1e6, sizes[1] / 1e6, desc, json.dumps(info)), flush=True)
    print("suite written to %s in %.1fs" % (out, time.time() - t_all))


# ------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", metavar="DIR", help="write the standard variant set into DIR")
    ap.add_argument("--recover-initial", metavar="PREFIX", help="training fixture path without the suffix")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--name", help="fixture name (NAME.weights/expected.safetensors)")
    ap.add_argument("--config", default="{}", help="JSON with hrm_config fields overriding the sudoku-tiny base")
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--segments", type=int, default=None, help="inference segments (default halt_max_steps)")
    ap.add_argument("--steps", type=int, default=0, help="training steps (0 = inference fixture)")
    ap.add_argument("--loss", choices=["stablemax", "softmax"], default=None)
    ap.add_argument("--train", default="{}", help="JSON overriding the training hyperparameters")
    ap.add_argument("--prefix-style", choices=sorted(PREFIXES), default="model.inner")
    ap.add_argument("--bf16", choices=["none", "init", "all"], default="none")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--oracle-rows", type=int, default=0, help="training: incoming rows labelled with the model's own predictions")
    ap.add_argument("--empty-label-rows", type=int, default=0, help="training: incoming rows with every label ignored (even steps)")
    ap.add_argument("--dup-ids", action="store_true", help="training: draw puzzle ids from a small pool (duplicates)")
    a = ap.parse_args()
    if a.suite:
        suite(a.suite)
        return
    if a.recover_initial:
        if not a.out:
            ap.error("--out is required")
        recover_initial(a.recover_initial, a.out)
        return
    if not (a.out and a.name):
        ap.error("--out and --name are required (or --suite DIR)")
    os.makedirs(a.out, exist_ok=True)
    cfg = H.HRMConfig.from_dict(dict(BASE_CONFIG, **json.loads(a.config)))
    t0 = time.time()
    if a.steps > 0:
        tcd = dict(BASE_TRAIN, **json.loads(a.train))
        if a.loss:
            tcd["loss_type"] = a.loss + "_cross_entropy"
        info = make_training(a.out, a.name, cfg, tcd, a.batch, a.steps, a.seed, a.prefix_style, a.bf16,
                             a.oracle_rows, a.empty_label_rows, a.dup_ids)
    else:
        if a.loss:
            ap.error("--loss applies to training fixtures (--steps)")
        info = make_inference(a.out, a.name, cfg, a.batch, a.segments or cfg.halt_max_steps, a.seed, a.prefix_style, a.bf16)
    print("wrote %s/%s.{weights,expected}.safetensors in %.1fs %s" % (a.out, a.name, time.time() - t0, json.dumps(info)))


if __name__ == "__main__":
    main()
