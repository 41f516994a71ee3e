"""Number formats of docs/semantics.md §2 in numpy: decoding tables, bf16 rounding, and the
FC2-input re-quantizers (NVFP4 blocks of 16 with the global scale already applied, MXFP8
blocks of 32 with the rounded-up ue8m0 scale, bf16), each rounding to nearest even.
"""
import numpy as np

F32 = np.float32

# e2m1 magnitudes by the low three bits; bit 3 is the sign
E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=F32)


def _e4m3_table():
    t = np.zeros(256, dtype=np.float64)
    for c in range(256):
        s = -1.0 if c & 0x80 else 1.0
        e = (c >> 3) & 0xF
        m = c & 0x7
        if e == 0xF and m == 0x7:
            t[c] = np.nan
        elif e == 0:
            t[c] = s * m * 2.0 ** -9
        else:
            t[c] = s * (1 + m / 8) * 2.0 ** (e - 7)
    return t.astype(F32)


E4M3 = _e4m3_table()
UE8M0 = np.array([2.0 ** (c - 127) if c < 255 else np.nan for c in range(256)], dtype=np.float64).astype(F32)


def unpack_e2m1(packed, scales, block, scale_table):
    """Packed e2m1 [..., n/2] (low nibble first) with block scales [..., n/block] -> float32 [..., n] (q·s, exact)."""
    lo = E2M1[packed & 0xF]
    hi = E2M1[packed >> 4]
    q = np.stack([lo, hi], axis=-1).reshape(*packed.shape[:-1], packed.shape[-1] * 2)
    s = np.repeat(scale_table[scales], block, axis=-1)
    return (q * s).astype(F32)


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(F32)


def f32_to_bf16_bits(x):
    """Round float32 to bf16 bits, nearest even; NaN stays NaN."""
    x = np.ascontiguousarray(x, dtype=F32)
    u = x.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def round_bf16(x):
    return bf16_bits_to_f32(f32_to_bf16_bits(x))


def round_e2m1(v):
    """float32 -> nearest e2m1 value (ties to the even code), saturating at ±6."""
    a = np.abs(v)
    r = np.select(
        [a <= 0.25, a < 0.75, a <= 1.25, a < 1.75, a <= 2.5, a < 3.5, a <= 5],
        [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0], 6.0).astype(F32)
    return np.copysign(r, v).astype(F32)


def round_e4m3(v):
    """float32 -> nearest e4m3 (fn) value, ties to even, saturating at ±448 (finite input)."""
    a = np.abs(v).astype(np.float64)
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
    e = np.maximum(e, -6)
    step = np.exp2(e - 3)
    q = np.rint(a / step) * step
    q = np.minimum(q, 448.0)
    return np.copysign(q, v).astype(F32)


def _blocks(a, block):
    n, I = a.shape
    return a.reshape(n, I // block, block)


def requant_nvfp4(a):
    """FC2 input, NVFP4 (blocks of 16 along the last axis; global scale already applied)."""
    b = _blocks(a, 16)
    amax = np.max(np.abs(b), axis=-1, keepdims=True)
    s = round_e4m3((amax / F32(6)).astype(F32))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (b / np.where(s > 0, s, F32(1))).astype(F32)
    out = (round_e2m1(v) * s).astype(F32)
    out = np.where(s > 0, out, F32(0))
    bad = ~np.isfinite(b).all(axis=-1, keepdims=True)
    out = np.where(bad, F32(np.nan), out)
    return out.reshape(a.shape).astype(F32)


def ue8m0_ceil_scale(amax, element_max):
    """2^ceil(log2(amax / element_max)) clamped to [2^-127, 2^127], decided by exact comparisons."""
    a = amax.astype(np.float64)
    with np.errstate(divide="ignore"):
        e = np.ceil(np.log2(np.where(a > 0, a / element_max, 2.0 ** -127)))
    e = np.clip(e, -127, 127)
    e = np.where((e > -127) & (np.exp2(e - 1) * element_max >= a), e - 1, e)
    e = np.where(np.exp2(e) * element_max < a, e + 1, e)
    return np.exp2(np.clip(e, -127, 127)).astype(F32)


def requant_mxfp8(a):
    b = _blocks(a, 32)
    amax = np.max(np.abs(b), axis=-1, keepdims=True)
    finite = np.isfinite(b).all(axis=-1, keepdims=True)
    s = ue8m0_ceil_scale(np.where(finite, amax, 0), 448.0)
    out = (round_e4m3((b / s).astype(F32)) * s).astype(F32)
    out = np.where(finite, out, F32(np.nan))
    return out.reshape(a.shape).astype(F32)


def requant(fmt, a):
    if fmt == "nvfp4":
        return requant_nvfp4(a)
    if fmt == "mxfp8":
        return requant_mxfp8(a)
    return round_bf16(a)
