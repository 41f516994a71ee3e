"""A small safetensors reader and writer on numpy (no safetensors package needed).

Layout: 8 bytes little-endian header length N, N bytes of UTF-8 JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the data buffer. bf16 and fp8 tensors are returned as their raw bits (uint16 / uint8)
together with their dtype name, since numpy has no such types.
"""
import json
import struct

import numpy as np

# safetensors dtype -> numpy dtype holding its bits or values (little-endian)
DTYPES = {
    "BOOL": np.dtype("bool"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "F8_E4M3": np.dtype("u1"), "F8_E5M2": np.dtype("u1"), "F8_E8M0": np.dtype("u1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
    "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"),
}

# numpy dtype -> default safetensors name (for writing plain arrays)
_NAME_OF = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "uint16": "U16", "int16": "I16", "float16": "F16",
            "uint32": "U32", "int32": "I32", "float32": "F32", "uint64": "U64", "int64": "I64", "float64": "F64"}


class Tensor:
    """An array plus its safetensors dtype name (BF16 / F8_* arrays hold raw bits)."""
    __slots__ = ("dtype", "array")

    def __init__(self, dtype, array):
        if dtype not in DTYPES:
            raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {dtype!r}")
        array = np.require(array, requirements="C")  # keeps 0-d scalars 0-d (ascontiguousarray would not)
        if array.dtype.itemsize != DTYPES[dtype].itemsize:
            raise ValueError(f"array for {dtype}: expected itemsize {DTYPES[dtype].itemsize}, got {array.dtype}")
        self.dtype = dtype
        self.array = array


def read(path):
    """(tensors: dict name -> Tensor, metadata: dict) from a .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    return parse(data, str(path))


def parse(data, source="safetensors"):
    if len(data) < 8:
        raise ValueError(f"{source}: expected at least 8 bytes, got {len(data)}")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > 100_000_000:
        raise ValueError(f"{source}: header length {n} exceeds the file ({len(data)} bytes)")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, h in header.items():
        dt = h["dtype"]
        if dt not in DTYPES:
            raise ValueError(f"{source}: tensor {name}: unknown dtype {dt!r}")
        shape = tuple(int(d) for d in h["shape"])
        b, e = h["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if e - b != count * DTYPES[dt].itemsize or base + e > len(data):
            raise ValueError(f"{source}: tensor {name}: offsets {b}..{e} do not fit {dt}{list(shape)}")
        arr = np.frombuffer(data, dtype=DTYPES[dt], count=count, offset=base + b).reshape(shape).copy()
        out[name] = Tensor(dt, arr)
    return out, meta


def dumps(tensors, metadata=None):
    """Bytes of a .safetensors file. tensors: name -> Tensor or numpy array (plain dtypes)."""
    items = []
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            arr = np.require(t, requirements="C")
            t = Tensor(_NAME_OF[arr.dtype.name], arr)
        items.append((name, t))
    # largest element first, then by name: every tensor starts aligned to its element size
    items.sort(key=lambda it: (-DTYPES[it[1].dtype].itemsize, it[0]))
    header = {}
    off = 0
    for name, t in items:
        nbytes = t.array.size * DTYPES[t.dtype].itemsize
        header[name] = {"dtype": t.dtype, "shape": list(t.array.shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    parts = [struct.pack("<Q", len(hb)), hb]
    parts += [t.array.astype(DTYPES[t.dtype], copy=False).tobytes() for _, t in items]
    return b"".join(parts)


def write(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(dumps(tensors, metadata))
