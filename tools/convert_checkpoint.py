#!/usr/bin/python3
"""Convert HRM and TRM checkpoints between the reference PyTorch code and hrm (the PostgreSQL extension).

Run with Debian's /usr/bin/python3 (torch 1.13 and numpy; PyYAML if installed, else a small
built-in reader of the block-style YAML the reference writes).  See docs/convert.md.

    # reference checkpoint -> the safetensors file hrm_import reads
    tools/convert_checkpoint.py to-hrm CHECKPOINT [--config all_config.yaml] [--dataset dataset.json]
                                       [--seq-len N] [--task sudoku] -o model.safetensors
    # hrm_export output -> a state dict the reference code loads, and its all_config.yaml
    tools/convert_checkpoint.py to-torch MODEL.safetensors -o checkpoint [--config-out all_config.yaml]
                                       [--base-config all_config.yaml] [--prefix _orig_mod.model.inner.]

to-hrm reads what the reference's pretrain.py saves: torch.save(model.state_dict()) (a file named
step_N, or `checkpoint` in the released repositories) with keys `_orig_mod.model.inner.*` (compiled
model) or `model.inner.*`, H_init / L_init in bfloat16 and everything else in float32.  A safetensors
file with the same names is accepted too.  The architecture comes from all_config.yaml (`arch:`;
by default the one next to the checkpoint); vocab_size, seq_len and num_puzzle_identifiers are not in
it: they come from the dataset's dataset.json (--dataset) or from the tensor shapes (vocab_size from
embed_tokens [V, D], num_puzzle_identifiers from puzzle_emb.weights [N, ndim], seq_len from the
learned position table [seq_len + P, D]).  A RoPE model's weights do not depend on seq_len, so it
needs --seq-len or --dataset.  The output is byte for byte what hrm_export writes for the same model:
F32 tensors named model.inner.* in the engine's order, the configuration in the `hrm_config`
metadata (the engine's field names and number format) and, with --task, `hrm_task`.

to-torch writes an OrderedDict in the reference's state-dict order with `_orig_mod.model.inner.`
keys (--prefix model.inner. for an uncompiled model), H_init / L_init as bfloat16 (a warning says
how many values that rounds, for weights trained or imported in float32) and every other tensor
as float32, saved with torch.save; and an all_config.yaml that the reference's PretrainConfig
accepts (training fields from --base-config, else the reference's defaults) with a top-level
`hrm_model_shape` entry (seq_len, vocab_size, num_puzzle_identifiers; ignored by the reference) so
that to-hrm can convert it back without the dataset.

Tiny Recursive Models (the TinyRecursiveModels reference, models/recursive_reasoning/trm.py, arch
name recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1) convert the same way: one network
L_level (attention blocks, or token-mixing mlp_t blocks with arch.mlp_t), no H_level, the prefix
length puzzle_emb_len (the reference's default 16 when all_config.yaml leaves it out; 0 means
ceil(puzzle_emb_ndim / hidden_size)), no_ACT_continue (default true).  An mlp_t model's seq_len
comes from its token-mixing weights, so it needs neither --seq-len nor --dataset.
"""
import argparse
import collections
import json
import math
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402

PREFIXES = ("_orig_mod.", "model.inner.")
OUT_PREFIX = "model.inner."
REF_ARCH_NAME = "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"
REF_TRM_ARCH_NAME = "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"
# Defaults of the TRM reference's config class (trm.py) for its own fields.
TRM_DEFAULTS = {"mlp_t": False, "puzzle_emb_len": 16, "no_ACT_continue": True}
REF_LOSS = {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"}
# Defaults of the reference model class for fields all_config.yaml may leave out.
ARCH_DEFAULTS = {"rms_norm_eps": 1e-5, "rope_theta": 10000.0}
# Training fields of the reference's config/cfg_pretrain.yaml, for a new all_config.yaml.
TRAIN_DEFAULTS = collections.OrderedDict([
    ("data_path", "data/arc-aug-1000"), ("global_batch_size", 768), ("epochs", 100000),
    ("eval_interval", 10000), ("checkpoint_every_eval", True), ("lr", 1e-4), ("lr_min_ratio", 1.0),
    ("lr_warmup_steps", 2000), ("beta1", 0.9), ("beta2", 0.95), ("weight_decay", 0.1),
    ("puzzle_emb_weight_decay", 0.1), ("puzzle_emb_lr", 1e-2)])
TASK_DATA_PATHS = {"sudoku": "data/sudoku-extreme-1k-aug-1000", "maze": "data/maze-30x30-hard-1k",
                   "arc": "data/arc-aug-1000"}
# Field order of the engine's JSON (src/core/nn/config.c, hrm_config_to_json) for arch "hrm".
CONFIG_FIELDS = ["arch", "seq_len", "vocab_size", "num_puzzle_identifiers", "puzzle_emb_ndim",
                 "H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "expansion", "num_heads",
                 "pos_encodings", "rms_norm_eps", "rope_theta", "halt_max_steps", "halt_exploration_prob"]
# ... and for arch "trm": the prefix length after puzzle_emb_ndim, the two switches at the end.
TRM_CONFIG_FIELDS = (CONFIG_FIELDS[:5] + ["puzzle_emb_len"] + CONFIG_FIELDS[5:] + ["mlp_t", "no_ACT_continue"])
FLOAT_FIELDS = {"expansion", "rms_norm_eps", "rope_theta", "halt_exploration_prob"}
BOOL_FIELDS = {"mlp_t", "no_ACT_continue"}
INT_FIELDS = set(TRM_CONFIG_FIELDS) - FLOAT_FIELDS - BOOL_FIELDS - {"arch", "pos_encodings"}
BF16_TENSORS = ("H_init", "L_init")


class ConvertError(Exception):
    """A problem with the input, reported as `error: ...` and exit status 2."""


def warn(msg):
    print("warning: " + msg, file=sys.stderr)


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------
def fmt_double(v):
    """The engine's number format: shortest %.{6..17}g that reads back, kept floating point."""
    v = float(v)
    for prec in range(6, 18):
        s = "%.*g" % (prec, v)
        if float(s) == v:
            break
    if not any(c in s for c in ".eEn"):
        s += ".0"
    return s


def is_trm(cfg):
    return cfg.get("arch") == "trm"


def config_fields(cfg):
    return TRM_CONFIG_FIELDS if is_trm(cfg) else CONFIG_FIELDS


def config_json(cfg):
    """hrm_config JSON exactly as the engine writes it (src/core/nn/config.c)."""
    parts = []
    for k in config_fields(cfg):
        v = cfg[k]
        if k in FLOAT_FIELDS:
            parts.append('"%s": %s' % (k, fmt_double(v)))
        elif k in BOOL_FIELDS:
            parts.append('"%s": %s' % (k, "true" if v else "false"))
        elif k in INT_FIELDS:
            parts.append('"%s": %d' % (k, int(v)))
        else:
            parts.append('"%s": %s' % (k, json.dumps(v)))
    return "{" + ", ".join(parts) + "}"


def puzzle_emb_len(cfg):
    """Prefix slots: TRM's explicit puzzle_emb_len when set, else ceil(puzzle_emb_ndim / hidden_size)."""
    if is_trm(cfg) and cfg.get("puzzle_emb_len", 0) > 0:
        return cfg["puzzle_emb_len"]
    return -(-cfg["puzzle_emb_ndim"] // cfg["hidden_size"])


def intermediate_size(hidden, expansion):
    n = round(expansion * hidden * 2 / 3)
    return -(-n // 256) * 256


def layout(cfg):
    """[(name, shape)] in the engine's order (src/core/nn/model.c, hrm_layout_init)."""
    D, V = cfg["hidden_size"], cfg["vocab_size"]
    I = intermediate_size(D, cfg["expansion"])
    out = [("H_init", (D,)), ("L_init", (D,)), ("embed_tokens.embedding_weight", (V, D))]
    if cfg["pos_encodings"] == "learned":
        out.append(("embed_pos.embedding_weight", (cfg["seq_len"] + puzzle_emb_len(cfg), D)))
    out += [("lm_head.weight", (V, D)), ("q_head.weight", (2, D)), ("q_head.bias", (2,))]
    # TRM: one network (L_level); with mlp_t its blocks mix tokens over the S positions instead of attending
    levels = (("L_level", cfg["L_layers"]),) if is_trm(cfg) else (("H_level", cfg["H_layers"]), ("L_level", cfg["L_layers"]))
    S = cfg["seq_len"] + puzzle_emb_len(cfg)
    It = intermediate_size(S, cfg["expansion"])
    for level, n in levels:
        for i in range(n):
            p = "%s.layers.%d." % (level, i)
            if is_trm(cfg) and cfg["mlp_t"]:
                out += [(p + "mlp_t.gate_up_proj.weight", (2 * It, S)), (p + "mlp_t.down_proj.weight", (S, It))]
            else:
                out += [(p + "self_attn.qkv_proj.weight", (3 * D, D)), (p + "self_attn.o_proj.weight", (D, D))]
            out += [(p + "mlp.gate_up_proj.weight", (2 * I, D)), (p + "mlp.down_proj.weight", (D, I))]
    if cfg["puzzle_emb_ndim"] > 0:
        out.append(("puzzle_emb.weights", (cfg["num_puzzle_identifiers"], cfg["puzzle_emb_ndim"])))
    return out


def reference_order(cfg):
    """Tensor names in the order of the reference's state_dict()."""
    names = [n for n, _ in layout(cfg)]
    first = ["H_init", "L_init", "embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight", "q_head.bias"]
    if "puzzle_emb.weights" in names:
        first.append("puzzle_emb.weights")
    if "embed_pos.embedding_weight" in names:
        first.append("embed_pos.embedding_weight")
    return first + [n for n in names if n not in first]


def check_config(cfg):
    D, h = cfg["hidden_size"], cfg["num_heads"]
    if h <= 0 or D % h:
        raise ConvertError("hidden_size %d is not divisible by num_heads %d" % (D, h))
    if cfg["pos_encodings"] not in ("rope", "learned", "none"):
        raise ConvertError("pos_encodings %r is not rope, learned or none" % cfg["pos_encodings"])
    if cfg["pos_encodings"] == "rope" and (D // h) % 2:
        raise ConvertError("rope needs an even head dimension (hidden_size / num_heads = %d)" % (D // h))
    for k in ("seq_len", "vocab_size", "hidden_size", "H_cycles", "L_cycles", "L_layers", "halt_max_steps") + \
            (() if is_trm(cfg) else ("H_layers",)):
        if cfg[k] < 1:
            raise ConvertError("%s must be at least 1 (got %d)" % (k, cfg[k]))
    if is_trm(cfg) and cfg["puzzle_emb_ndim"] > puzzle_emb_len(cfg) * D:
        raise ConvertError("puzzle_emb_ndim %d does not fit in puzzle_emb_len %d slots of %d"
                           % (cfg["puzzle_emb_ndim"], puzzle_emb_len(cfg), D))
    if cfg["puzzle_emb_ndim"] > 0 and cfg["num_puzzle_identifiers"] < 1:
        raise ConvertError("a puzzle embedding needs num_puzzle_identifiers >= 1")


# ----------------------------------------------------------------------------------------------
# YAML: PyYAML when installed, else a reader of the block style yaml.dump writes
# ----------------------------------------------------------------------------------------------
def _scalar(s):
    s = s.strip()
    if s == "" or s in ("~", "null", "Null", "NULL"):
        return None
    if s[0] in "\"'":
        if s[0] == '"':
            return json.loads(s)
        return s[1:-1].replace("''", "'")
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if s == "[]":
        return []
    if s == "{}":
        return {}
    if s.startswith("[") and s.endswith("]"):
        return [_scalar(x) for x in s[1:-1].split(",") if x.strip()]
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def _strip_comment(line):
    out, q = [], None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in "\"'":
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(c)
    return "".join(out).rstrip()


def simple_yaml_load(text):
    """Block mappings, block lists of scalars and plain/quoted scalars: enough for all_config.yaml."""
    lines = []
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if line.strip() in ("", "---", "..."):
            continue
        lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    pos = [0]

    def block(indent):
        if pos[0] < len(lines) and lines[pos[0]][1].startswith("- "):
            seq = []
            while pos[0] < len(lines) and lines[pos[0]][0] == indent and lines[pos[0]][1].startswith("- "):
                seq.append(_scalar(lines[pos[0]][1][2:]))
                pos[0] += 1
            return seq
        node = collections.OrderedDict()
        while pos[0] < len(lines) and lines[pos[0]][0] == indent:
            text_ = lines[pos[0]][1]
            m = re.match(r"""^("[^"]*"|'[^']*'|[^:]+?)\s*:(\s+(.*))?$""", text_)
            if not m:
                raise ConvertError("cannot read YAML line %r (install python3-yaml)" % text_)
            key = _scalar(m.group(1))
            pos[0] += 1
            if m.group(3) is not None and m.group(3) != "":
                node[key] = _scalar(m.group(3))
            elif pos[0] < len(lines) and (lines[pos[0]][0] > indent or
                                          (lines[pos[0]][0] == indent and lines[pos[0]][1].startswith("- "))):
                node[key] = block(lines[pos[0]][0])
            else:
                node[key] = None
        return node

    doc = block(lines[0][0]) if lines else {}
    if pos[0] != len(lines):
        raise ConvertError("cannot read YAML near %r (install python3-yaml)" % lines[pos[0]][1])
    return doc


def load_yaml(path):
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml
    except ImportError:
        return simple_yaml_load(text)
    doc = yaml.safe_load(text)
    return doc if doc is not None else {}


def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        s = repr(v)
        if "." not in s and "e" in s:  # YAML 1.1 (PyYAML) reads 1e-05 as a string, 1.0e-05 as a float
            s = s.replace("e", ".0e", 1)
        return s
    s = str(v)
    if re.match(r"^[A-Za-z_/][A-Za-z0-9_./@-]*$", s) and s.lower() not in (
            "null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"):
        return s
    return json.dumps(s)


def dump_yaml(node, indent=0):
    """Block-style YAML of dicts, lists and scalars (keys in the given order)."""
    pad = " " * indent
    out = []
    for k, v in node.items():
        key = _yaml_scalar(k)
        if isinstance(v, dict) and v:
            out.append("%s%s:" % (pad, key))
            out.append(dump_yaml(v, indent + 2))
        elif isinstance(v, (list, tuple)):
            if not v:
                out.append("%s%s: []" % (pad, key))
            else:
                out.append("%s%s:" % (pad, key))
                out.extend("%s- %s" % (pad, _yaml_scalar(x)) for x in v)
        elif isinstance(v, dict):
            out.append("%s%s: {}" % (pad, key))
        else:
            out.append("%s%s: %s" % (pad, key, _yaml_scalar(v)))
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# reading checkpoints
# ----------------------------------------------------------------------------------------------
def is_safetensors(path):
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (1 << 28)


def load_state_dict(path, trust_pickle=False):
    """{name: (float32 numpy array, source dtype name)} from a torch checkpoint or safetensors file."""
    if is_safetensors(path):
        arrays, meta, dtypes = st.load(path)
        return {k: (np.asarray(v, dtype=np.float32) if dtypes[k] != "F64" else v, dtypes[k].lower())
                for k, v in arrays.items()}, meta
    import torch
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - report any unpickling problem the same way
        hint = "" if trust_pickle else " (if the file holds more than tensors and you trust it, pass --trust-pickle)"
        raise ConvertError("cannot load %s as a PyTorch checkpoint: %s%s" % (path, str(e).splitlines()[0], hint))
    if isinstance(obj, dict) and not any(torch.is_tensor(v) for v in obj.values()):
        for key in ("model", "state_dict", "model_state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise ConvertError("%s does not hold a state dict (a mapping of names to tensors)" % path)
    out = {}
    for k, v in obj.items():
        if not torch.is_tensor(v):
            raise ConvertError("%s: entry %r is not a tensor" % (path, k))
        v = v.detach().cpu().contiguous()
        dt = str(v.dtype).replace("torch.", "")
        if v.dtype in (torch.bfloat16, torch.float16, torch.float32):
            a = v.float().numpy()  # widening is exact
        elif v.dtype == torch.float64:
            a = v.numpy()
        else:
            raise ConvertError("%s: tensor %r has dtype %s; expected floating point" % (path, k, dt))
        out[k] = (a, dt)
    return out, {}


def strip_prefix(name):
    for p in PREFIXES:
        if name.startswith(p):
            name = name[len(p):]
    return name


# ----------------------------------------------------------------------------------------------
# to-hrm
# ----------------------------------------------------------------------------------------------
def arch_section(doc, path):
    """The arch mapping of an all_config.yaml (or of an arch YAML such as config/arch/hrm_v1.yaml)."""
    if isinstance(doc, dict) and isinstance(doc.get("arch"), dict):
        arch = dict(doc["arch"])
    elif isinstance(doc, dict) and ("H_cycles" in doc or "hidden_size" in doc):
        arch = dict(doc)
    else:
        raise ConvertError("%s has no arch section (expected the all_config.yaml the reference saves "
                           "next to its checkpoints)" % path)
    name = str(arch.get("name") or "")
    if re.search(r"trm_|transformers_baseline", name):
        raise ConvertError("%s describes arch %r; this converter handles the HRM (hrm_act_v1) and the TRM "
                           "(recursive_reasoning.trm)" % (path, name))
    # Hydra interpolations left in a raw arch file, e.g. puzzle_emb_ndim: ${.hidden_size}
    for k, v in list(arch.items()):
        if isinstance(v, str):
            m = re.match(r"^\$\{\.?([A-Za-z_]+)\}$", v.strip())
            if m and m.group(1) in arch:
                arch[k] = arch[m.group(1)]
    return arch


def _num(arch, key, cast, path):
    try:
        v = float(arch[key])
    except (TypeError, ValueError):
        raise ConvertError("%s: arch.%s = %r is not a number" % (path, key, arch[key]))
    if cast is int:
        if not v.is_integer():
            raise ConvertError("%s: arch.%s = %r is not an integer" % (path, key, arch[key]))
        return int(v)
    return v


def build_config(tensors, arch, config_path, dataset, dataset_path, seq_len_arg, shape_hint):
    """The hrm_config for the state dict, cross-checking every source."""
    names = set(tensors)
    for req in ("H_init", "embed_tokens.embedding_weight"):
        if req not in names:
            raise ConvertError("the checkpoint has no %s tensor (is it an HRM state dict?)" % req)
    D = int(tensors["H_init"].shape[0])
    V = int(tensors["embed_tokens.embedding_weight"].shape[0])
    # TRM: the arch name (all_config.yaml), the arch field (hrm_config metadata), or its own fields
    # with a state dict that has no H_level
    trm = bool(re.search(r"\btrm\b|TinyRecursive", str(arch.get("name") or ""))) or arch.get("arch") == "trm" or \
        (not any(n.startswith("H_level.") for n in names) and any(k in arch for k in TRM_DEFAULTS))
    cfg = {"arch": "trm" if trm else "hrm"}
    defaulted = []

    def from_arch(key, cast, inferred=None, default=None):
        if key in arch and arch[key] is not None:
            v = _num(arch, key, cast, config_path) if cast in (int, float) else cast(arch[key])
            if inferred is not None and v != inferred:
                raise ConvertError("%s: arch.%s is %r but the checkpoint's tensors say %r"
                                   % (config_path, key, v, inferred))
            return v
        if inferred is not None:
            return inferred
        if default is not None:
            defaulted.append(key)
            return default
        raise ConvertError("%s: arch.%s is missing and cannot be inferred from the tensors" % (config_path, key))

    layer_ids = {lvl: sorted({int(m.group(1)) for n in names for m in [re.match(lvl + r"\.layers\.(\d+)\.", n)] if m})
                 for lvl in ("H_level", "L_level")}
    cfg["hidden_size"] = from_arch("hidden_size", int, D)
    if trm:
        # the reference ignores H_layers: the engine writes 0; the checkpoint must have no H_level
        if layer_ids["H_level"]:
            raise ConvertError("%s describes a TRM but the checkpoint has H_level tensors" % config_path)
        cfg["H_layers"] = 0
        for k, dflt in TRM_DEFAULTS.items():
            if k in arch and arch[k] is not None:
                cfg[k] = _num(arch, k, int, config_path) if k == "puzzle_emb_len" else bool(arch[k])
            else:
                cfg[k] = dflt
        has_mlp_t = any(re.match(r"L_level\.layers\.\d+\.mlp_t\.", n) for n in names)
        if cfg["mlp_t"] != has_mlp_t:
            raise ConvertError("%s: mlp_t is %s but the checkpoint %s token-mixing (mlp_t) weights"
                               % (config_path, cfg["mlp_t"], "has" if has_mlp_t else "has no"))
    else:
        cfg["H_layers"] = from_arch("H_layers", int, len(layer_ids["H_level"]))
    cfg["L_layers"] = from_arch("L_layers", int, len(layer_ids["L_level"]))
    cfg["num_heads"] = from_arch("num_heads", int)
    cfg["H_cycles"] = from_arch("H_cycles", int)
    cfg["L_cycles"] = from_arch("L_cycles", int)
    cfg["halt_max_steps"] = from_arch("halt_max_steps", int)
    cfg["halt_exploration_prob"] = from_arch("halt_exploration_prob", float, default=0.1)
    cfg["rms_norm_eps"] = from_arch("rms_norm_eps", float, default=ARCH_DEFAULTS["rms_norm_eps"])
    cfg["rope_theta"] = from_arch("rope_theta", float, default=ARCH_DEFAULTS["rope_theta"])
    defaulted = [k for k in defaulted if k not in ARCH_DEFAULTS]  # those two are usually absent

    gate = "H_level.layers.0.mlp.gate_up_proj.weight"
    gate = gate if gate in names else "L_level.layers.0.mlp.gate_up_proj.weight"
    I = int(tensors[gate].shape[0]) // 2 if gate in names else None
    if "expansion" in arch and arch["expansion"] is not None:
        cfg["expansion"] = _num(arch, "expansion", float, config_path)
        if I is not None and intermediate_size(D, cfg["expansion"]) != I:
            raise ConvertError("%s: arch.expansion %g gives an MLP width of %d but the checkpoint's is %d"
                               % (config_path, cfg["expansion"], intermediate_size(D, cfg["expansion"]), I))
    elif I is not None:
        cfg["expansion"] = 1.5 * I / D
        defaulted.append("expansion (from the MLP width %d)" % I)
    else:
        raise ConvertError("%s: arch.expansion is missing" % config_path)

    has_pos = "embed_pos.embedding_weight" in names
    pos = str(arch.get("pos_encodings") or ("learned" if has_pos else "rope"))
    if (pos == "learned") != has_pos:
        raise ConvertError("%s: pos_encodings is %r but the checkpoint %s embed_pos.embedding_weight"
                           % (config_path, pos, "has" if has_pos else "has no"))
    cfg["pos_encodings"] = pos

    pe = tensors.get("puzzle_emb.weights")
    cfg["puzzle_emb_ndim"] = from_arch("puzzle_emb_ndim", int, int(pe.shape[1]) if pe is not None else 0)
    if cfg["puzzle_emb_ndim"] > 0 and pe is None:
        raise ConvertError("puzzle_emb_ndim is %d but the checkpoint has no puzzle_emb.weights" % cfg["puzzle_emb_ndim"])

    # vocab_size, num_puzzle_identifiers, seq_len: dataset.json, the shapes, --seq-len, hrm_model_shape
    ds = dataset or {}
    hint = shape_hint or {}
    cfg["vocab_size"] = V
    if "vocab_size" in ds and int(ds["vocab_size"]) != V:
        raise ConvertError("%s: vocab_size %s, but embed_tokens has %d rows" % (dataset_path, ds["vocab_size"], V))
    if pe is not None:
        cfg["num_puzzle_identifiers"] = int(pe.shape[0])
        if "num_puzzle_identifiers" in ds and int(ds["num_puzzle_identifiers"]) != cfg["num_puzzle_identifiers"]:
            raise ConvertError("%s: num_puzzle_identifiers %s, but puzzle_emb.weights has %d rows"
                               % (dataset_path, ds["num_puzzle_identifiers"], cfg["num_puzzle_identifiers"]))
    else:
        cfg["num_puzzle_identifiers"] = int(ds.get("num_puzzle_identifiers", hint.get("num_puzzle_identifiers", 1)))

    candidates = []
    if seq_len_arg is not None:
        candidates.append(("--seq-len", int(seq_len_arg)))
    if "seq_len" in ds:
        candidates.append((dataset_path, int(ds["seq_len"])))
    if has_pos:
        candidates.append(("embed_pos.embedding_weight", int(tensors["embed_pos.embedding_weight"].shape[0])
                           - puzzle_emb_len(cfg)))
    if trm and cfg["mlp_t"] and "L_level.layers.0.mlp_t.gate_up_proj.weight" in names:
        candidates.append(("L_level.layers.0.mlp_t.gate_up_proj.weight",
                           int(tensors["L_level.layers.0.mlp_t.gate_up_proj.weight"].shape[1]) - puzzle_emb_len(cfg)))
    if not candidates and "seq_len" in hint:
        candidates.append(("hrm_model_shape in " + config_path, int(hint["seq_len"])))
    if not candidates:
        raise ConvertError("seq_len is unknown: the checkpoint uses %s positions, whose weights do not depend "
                           "on the sequence length; pass --seq-len N or --dataset path/to/dataset.json "
                           "(81 for Sudoku, 900 for mazes and ARC)" % cfg["pos_encodings"])
    if len({v for _, v in candidates}) > 1:
        raise ConvertError("seq_len disagrees: " + ", ".join("%s says %d" % c for c in candidates))
    cfg["seq_len"] = candidates[0][1]
    if defaulted:
        warn("%s does not give %s; using the reference's default%s"
             % (config_path, ", ".join(defaulted), "s" if len(defaulted) > 1 else ""))
    if trm:
        cfg["puzzle_emb_len"] = puzzle_emb_len(cfg)  # resolved, as the engine writes it
    check_config(cfg)
    return {k: cfg[k] for k in config_fields(cfg)}


def to_hrm(a):
    raw, meta = load_state_dict(a.checkpoint, a.trust_pickle)
    tensors, dtypes = {}, {}
    for k, (v, dt) in raw.items():
        n = strip_prefix(k)
        if n in tensors:
            raise ConvertError("tensor %s appears twice (with and without a prefix)" % n)
        tensors[n], dtypes[n] = v, dt
    for n, v in tensors.items():
        if v.dtype == np.float64:
            v32 = v.astype(np.float32)
            if not np.array_equal(v32.astype(np.float64), v):
                warn("%s is float64; rounded to float32" % n)
            tensors[n] = v32

    config_path = a.config or os.path.join(os.path.dirname(os.path.abspath(a.checkpoint)), "all_config.yaml")
    if a.config is None and not os.path.exists(config_path):
        if "hrm_config" not in meta:
            raise ConvertError("no --config given and no all_config.yaml next to %s" % a.checkpoint)
        config_path = None
    dataset = None
    if a.dataset:
        with open(a.dataset, "r", encoding="utf-8") as f:
            dataset = json.load(f)
    if config_path is None:  # a safetensors input with the configuration in its metadata
        arch = json.loads(meta["hrm_config"])
        config_path = a.checkpoint + " (hrm_config metadata)"
        hint = {k: arch[k] for k in ("seq_len", "num_puzzle_identifiers") if k in arch}
    else:
        doc = load_yaml(config_path)
        arch = arch_section(doc, config_path)
        hint = doc.get("hrm_model_shape") if isinstance(doc.get("hrm_model_shape"), dict) else None
    cfg = build_config(tensors, arch, config_path, dataset, a.dataset, a.seq_len, hint)

    want = layout(cfg)
    want_names = {n for n, _ in want}
    extra = sorted(set(tensors) - want_names)
    missing = [n for n, _ in want if n not in tensors]
    if extra or missing:
        problems = []
        if missing:
            problems.append("missing " + ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else ""))
        if extra:
            problems.append("unexpected " + ", ".join(extra[:6]) + (" ..." if len(extra) > 6 else ""))
        raise ConvertError("the tensors do not match the configuration %s: %s" % (config_json(cfg), "; ".join(problems)))
    out = collections.OrderedDict()
    for n, shape in want:
        v = tensors[n]
        if tuple(v.shape) != tuple(shape):
            raise ConvertError("%s has shape %s; the configuration implies %s" % (n, list(v.shape), list(shape)))
        if not np.isfinite(v).all():
            raise ConvertError("%s holds NaN or infinite values" % n)
        out[OUT_PREFIX + n] = np.ascontiguousarray(v, dtype=np.float32)
    md = collections.OrderedDict([("hrm_config", config_json(cfg))])
    if a.task:
        if not re.match(r"^[a-z][a-z0-9_]*$", a.task):
            raise ConvertError("--task must be a lowercase identifier such as sudoku or maze")
        md["hrm_task"] = a.task
    st.save(a.output, out, metadata=md)
    bf = sorted(n for n, dt in dtypes.items() if dt in ("bfloat16", "bf16"))
    print("wrote %s: %d tensors, %d parameters, %s%s" % (
        a.output, len(out), sum(v.size for v in out.values()), config_json(cfg),
        ("; widened from bfloat16: " + ", ".join(bf)) if bf else ""))


# ----------------------------------------------------------------------------------------------
# to-torch
# ----------------------------------------------------------------------------------------------
def to_torch(a):
    import torch
    arrays, meta, dtypes = st.load(a.model)
    if "hrm_config" not in meta:
        raise ConvertError("%s has no hrm_config metadata (is it an hrm_export file?)" % a.model)
    cfg = json.loads(meta["hrm_config"])
    if cfg.get("arch", "hrm") not in ("hrm", "hrm_v1", "trm"):
        raise ConvertError("%s holds arch %r; this converter handles the HRM and the TRM" % (a.model, cfg.get("arch")))
    trm = cfg.get("arch") == "trm"
    unknown = set(cfg) - set(TRM_CONFIG_FIELDS if trm else CONFIG_FIELDS)
    if unknown:
        raise ConvertError("%s: unknown hrm_config fields %s (the reference has no such setting)"
                           % (a.model, sorted(unknown)))
    base = {"arch": "hrm", "num_puzzle_identifiers": 1, "puzzle_emb_ndim": 0, "H_cycles": 2, "L_cycles": 2,
            "H_layers": 4, "L_layers": 4, "hidden_size": 512, "expansion": 4.0, "num_heads": 8,
            "pos_encodings": "rope", "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "halt_max_steps": 16,
            "halt_exploration_prob": 0.1}
    if trm:
        # the engine's defaults for fields an older file may lack (puzzle_emb_len 0 = ceil(ndim / D))
        base.update(H_layers=0, puzzle_emb_len=0, mlp_t=False, no_ACT_continue=False)
    cfg = dict(base, **cfg)
    cfg["arch"] = "trm" if trm else "hrm"
    if trm:
        cfg["puzzle_emb_len"] = puzzle_emb_len(cfg)
    check_config(cfg)
    tensors = {}
    for k, v in arrays.items():
        n = strip_prefix(k)
        if n in tensors:
            raise ConvertError("tensor %s appears twice" % n)
        tensors[n] = v
    want = dict(layout(cfg))
    extra = sorted(set(tensors) - set(want))
    missing = sorted(set(want) - set(tensors))
    if extra or missing:
        raise ConvertError("%s does not match its hrm_config: missing %s, unexpected %s" % (a.model, missing, extra))
    prefix = a.prefix
    if prefix and not prefix.endswith("."):
        prefix += "."
    sd = collections.OrderedDict()
    for n in reference_order(cfg):
        v = np.asarray(tensors[n])
        if tuple(v.shape) != tuple(want[n]):
            raise ConvertError("%s has shape %s; its hrm_config implies %s" % (n, list(v.shape), list(want[n])))
        if v.dtype == np.float64:
            v32 = v.astype(np.float32)
            if not np.array_equal(v32.astype(np.float64), v):
                warn("%s is float64; rounded to float32" % n)
            v = v32
        t = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        if n in BF16_TENSORS:
            b = t.to(torch.bfloat16)
            changed = int((b.float() != t).sum())
            if changed:
                warn("%s: %d of %d values are not bfloat16-representable and were rounded (max change %.3g); "
                     "the reference stores %s in bfloat16" % (n, changed, t.numel(), float((b.float() - t).abs().max()), n))
            t = b
        sd[prefix + n] = t.clone()
    torch.save(sd, a.output)

    config_out = a.config_out or os.path.join(os.path.dirname(os.path.abspath(a.output)), "all_config.yaml")
    if os.path.abspath(config_out) == os.path.abspath(a.output):
        raise ConvertError("--config-out must differ from the checkpoint path")
    task = meta.get("hrm_task")
    if a.base_config:
        doc = load_yaml(a.base_config)
        if not isinstance(doc, dict) or not isinstance(doc.get("arch"), dict):
            raise ConvertError("%s has no arch section" % a.base_config)
        doc = collections.OrderedDict(doc)
        arch = collections.OrderedDict(doc["arch"])
    else:
        doc = collections.OrderedDict()
        arch = collections.OrderedDict([("name", REF_TRM_ARCH_NAME if trm else REF_ARCH_NAME),
                                        ("loss", collections.OrderedDict(REF_LOSS))])
    for k in ("H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "num_heads", "expansion",
              "puzzle_emb_ndim", "pos_encodings", "rms_norm_eps", "rope_theta", "halt_max_steps",
              "halt_exploration_prob") + (("mlp_t", "puzzle_emb_len", "no_ACT_continue") if trm else ()):
        v = cfg[k]
        if k == "expansion" and float(v).is_integer():
            v = int(v)
        arch[k] = v
    for k in ("seq_len", "vocab_size", "num_puzzle_identifiers"):  # the reference takes them from dataset.json
        arch.pop(k, None)
    doc["arch"] = arch
    if not a.base_config:
        for k, v in TRAIN_DEFAULTS.items():
            doc[k] = v
        if a.data_path or task in TASK_DATA_PATHS:
            doc["data_path"] = a.data_path or TASK_DATA_PATHS[task]
    elif a.data_path:
        doc["data_path"] = a.data_path
    doc["hrm_model_shape"] = collections.OrderedDict(
        [(k, cfg[k]) for k in ("seq_len", "vocab_size", "num_puzzle_identifiers")])
    header = ("# all_config.yaml for %s, written by tools/convert_checkpoint.py to-torch.\n"
              "# The reference reads seq_len, vocab_size and num_puzzle_identifiers from the dataset's\n"
              "# dataset.json (data_path); hrm_model_shape records the model's (the reference ignores it).\n"
              % os.path.basename(a.output))
    with open(config_out, "w", encoding="utf-8") as f:
        f.write(header + dump_yaml(doc) + "\n")
    print("wrote %s: %d tensors with prefix %r (H_init, L_init bfloat16), and %s"
          % (a.output, len(sd), prefix, config_out))


# ----------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(prog="convert_checkpoint.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    h = sub.add_parser("to-hrm", help="reference checkpoint -> safetensors for hrm_import")
    h.add_argument("checkpoint", help="torch.save'd state dict (step_N, checkpoint) or a safetensors file")
    h.add_argument("--config", help="all_config.yaml (default: the one next to the checkpoint)")
    h.add_argument("--dataset", help="the training set's dataset.json (vocab_size, seq_len, num_puzzle_identifiers)")
    h.add_argument("--seq-len", type=int, help="sequence length (required for RoPE models without --dataset)")
    h.add_argument("--task", help="task codec recorded in the hrm_task metadata (sudoku, maze, arc)")
    h.add_argument("--trust-pickle", action="store_true",
                   help="unpickle arbitrary objects (only for files you trust; default: tensors only)")
    h.add_argument("-o", "--output", required=True)
    t = sub.add_parser("to-torch", help="hrm_export safetensors -> reference state dict and all_config.yaml")
    t.add_argument("model", help="safetensors file with hrm_config metadata (hrm_export output)")
    t.add_argument("-o", "--output", required=True, help="checkpoint file to write (torch.save)")
    t.add_argument("--config-out", help="all_config.yaml to write (default: next to the checkpoint)")
    t.add_argument("--base-config", help="an all_config.yaml whose training fields to keep")
    t.add_argument("--data-path", help="data_path for the new all_config.yaml")
    t.add_argument("--prefix", default="_orig_mod.model.inner.",
                   help="key prefix: _orig_mod.model.inner. (compiled, default) or model.inner.")
    a = ap.parse_args(argv)
    if a.cmd is None:
        ap.print_help()
        return 2
    try:
        if a.cmd == "to-hrm":
            to_hrm(a)
        else:
            to_torch(a)
    except ConvertError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
