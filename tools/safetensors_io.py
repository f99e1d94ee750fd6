"""Tiny pure-Python safetensors reader/writer built on numpy.

Format: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian tensor data (offsets are relative to the end of the header).

Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
BF16 has no numpy dtype: on read it is widened to float32 (exact) unless
``keep_bf16=True`` (then the raw uint16 bit patterns are returned); on write,
pass a float array with ``bf16={name, ...}`` to store it rounded to bfloat16
(round-to-nearest-even), or a uint16 array of raw bits via ``BF16Bits``.
"""
import json
import struct

import numpy as np

__all__ = ["load", "load_header", "save", "bf16_round", "to_bf16_bits", "from_bf16_bits", "BF16Bits"]

_NP = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_REV = {v: k for k, v in _NP.items()}


class BF16Bits:
    """Wrapper marking a uint16 array as raw bfloat16 bit patterns for save()."""

    def __init__(self, bits):
        self.bits = np.ascontiguousarray(bits, dtype="<u2")


def to_bf16_bits(x):
    """float array -> uint16 bfloat16 bit patterns, round to nearest even (NaN kept as NaN)."""
    f = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    u = f.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():
        rounded = np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), rounded)
    return rounded.reshape(f.shape)


def from_bf16_bits(bits):
    """uint16 bfloat16 bit patterns -> float32 (exact)."""
    b = np.ascontiguousarray(bits, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32).reshape(b.shape)


def bf16_round(x):
    """Round a float array to the nearest bfloat16 value, returned as float32."""
    return from_bf16_bits(to_bf16_bits(x))


def load_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    return header, meta, 8 + n


def load(path, keep_bf16=False):
    """Return (tensors: dict name -> np.ndarray, metadata: dict str -> str, dtypes: dict name -> str)."""
    header, meta, base = load_header(path)
    with open(path, "rb") as f:
        f.seek(base)
        blob = f.read()
    out, dtypes = {}, {}
    for name, info in header.items():
        dt = info["dtype"]
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        raw = blob[b:e]
        if len(raw) != e - b:
            raise ValueError("truncated data for %s" % name)
        if dt == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").reshape(shape)
            arr = bits.copy() if keep_bf16 else from_bf16_bits(bits)
        elif dt in _NP:
            arr = np.frombuffer(raw, dtype=_NP[dt]).reshape(shape).copy()
        else:
            raise ValueError("unsupported safetensors dtype %s for %s" % (dt, name))
        out[name] = arr
        dtypes[name] = dt
    return out, meta, dtypes


def save(path, tensors, metadata=None, bf16=()):
    """Write tensors (dict name -> array or BF16Bits) in insertion order.

    Names listed in ``bf16`` are stored as BF16 (rounded to nearest even)."""
    bf16 = set(bf16)
    header, chunks, off = {}, [], 0
    for name, arr in tensors.items():
        if isinstance(arr, BF16Bits):
            dt, data, shape = "BF16", arr.bits.tobytes(), arr.bits.shape
        elif name in bf16:
            bits = to_bf16_bits(arr)
            dt, data, shape = "BF16", bits.astype("<u2").tobytes(), bits.shape
        else:
            a = np.asarray(arr)
            if a.dtype == np.bool_:
                a = a.astype("?")
            dtn = np.dtype(a.dtype).newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype
            if dtn not in _REV:
                raise ValueError("unsupported numpy dtype %s for %s" % (a.dtype, name))
            dt = _REV[dtn]
            data = np.ascontiguousarray(a, dtype=dtn).tobytes()
            shape = a.shape
        header[name] = {"dtype": dt, "shape": [int(s) for s in shape], "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    if metadata:
        header = dict([("__metadata__", {str(k): str(v) for k, v in metadata.items()})] + list(header.items()))
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)  # align data to 8 bytes (allowed by the format)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)
