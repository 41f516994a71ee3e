"""A plain CPU fused MoE in numpy following the arithmetic contract (docs/semantics.md §4,
README "Arithmetic contract"), with the accumulation order and the declared FC1-activation
convention as parameters. Shared by the numpy adapter and the PyTorch adapter's self-check.

inputs: the case's tensors as safetensors_np.Tensor by name (goldens/caseTensors.ts names).
"""
import numpy as np

from . import formats as fm
from .routing import WEIGHT_BEFORE_FC1, route

F32 = np.float32


def fc2_input_format(quant_mode):
    return {"nvfp4": "nvfp4", "mxfp4_mxfp8": "mxfp8", "mxfp4_bf16": "bf16"}[quant_mode]


def logits_f32(inputs):
    t = inputs["logits"]
    return fm.bf16_bits_to_f32(t.array) if t.dtype == "BF16" else t.array.astype(F32)


def dequant_hidden(inputs, p):
    if p["quantMode"] == "nvfp4":
        return fm.unpack_e2m1(inputs["hidden.packed"].array, inputs["hidden.scales"].array, 16, fm.E4M3)
    if p["quantMode"] == "mxfp4_mxfp8":
        d = fm.E4M3[inputs["hidden.data"].array]
        return (d * np.repeat(fm.UE8M0[inputs["hidden.scales"].array], 32, axis=-1)).astype(F32)
    return fm.bf16_bits_to_f32(inputs["hidden.data"].array)


def dequant_weights(inputs, p, which):
    """Every local expert's weights in q·s units: fc1 [El, 2I, H], fc2 [El, H, I]."""
    block = 16 if p["quantMode"] == "nvfp4" else 32
    table = fm.E4M3 if p["quantMode"] == "nvfp4" else fm.UE8M0
    return fm.unpack_e2m1(inputs[f"{which}.packed"].array, inputs[f"{which}.scales"].array, block, table)


def matmul_f32(a, b, order):
    """a [n, K] @ b.T ([m, K]) with float32 results in one of several accumulation orders:
    'blas' (numpy float32 matmul), 'f64' (float64, rounded once), 'ksplit4' (four K chunks in
    float32, chunk sums added in order)."""
    if order == "blas":
        return np.matmul(a, b.T).astype(F32)
    if order == "f64":
        return np.matmul(a.astype(np.float64), b.T.astype(np.float64)).astype(F32)
    if order == "ksplit4":
        K = a.shape[1]
        bounds = [K * i // 4 for i in range(5)]
        acc = np.zeros((a.shape[0], b.shape[0]), dtype=F32)
        for i in range(4):
            lo, hi = bounds[i], bounds[i + 1]
            if hi > lo:
                acc = (acc + np.matmul(a[:, lo:hi], b[:, lo:hi].T).astype(F32)).astype(F32)
        return acc
    raise ValueError(f"order: expected blas, f64 or ksplit4, got {order!r}")


def sigmoid_f32(x):
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(F32)


def epilogue(acc_up, acc_gate, l, inputs, clamped):
    """SwiGLU of docs/arithmetic.md item 2, float32 at every step; returns a_c [n, I]."""
    gs = F32(inputs["out1_gate_scale"].array[l])
    us = F32(inputs["out1_scale"].array[l])
    gate = (acc_gate * gs).astype(F32)
    up = (acc_up * us).astype(F32)
    if clamped:
        ratio = F32(us / gs)
        alpha = F32(inputs["swiglu.alpha"].array[l])
        limit = F32(inputs["swiglu.limit"].array[l])
        beta_c = F32(F32(inputs["swiglu.beta"].array[l]) * ratio)
        limit_c = F32(limit * ratio)
        gate = np.minimum(gate, limit).astype(F32)
        up = np.clip(up, -limit_c, limit_c).astype(F32)
        sig = sigmoid_f32((alpha * gate).astype(F32))
        lin = (up + beta_c).astype(F32)
    else:
        sig = sigmoid_f32(gate)
        lin = up
    return ((gate * sig).astype(F32) * lin).astype(F32)


def moe(inputs, p, order="blas", fc1_activation="float32", slot_order="forward", fc1_output="float32",
        fc2_output="float32"):
    """Returns (output bf16 bits [T, H], ids int32 [T, k], weights float32 [T, k]).

    fc1_output / fc1_activation / fc2_output: the declared conventions (reference/conventions.ts):
    'bf16' rounds FC1's accumulators, FC1's activation, or FC2's accumulators to bf16."""
    T, H, I, k = p["T"], p["H"], p["I"], p["topK"]
    off, El = p["localOffset"], p["localExperts"]
    method = p["routing"]["method"]
    bias = None
    if "bias" in inputs:
        bt = inputs["bias"]
        bias = fm.bf16_bits_to_f32(bt.array) if bt.dtype == "BF16" else bt.array.astype(F32)
    ids, weights = route(method, logits_f32(inputs), k, bias, p["routing"])
    before_fc1 = method in WEIGHT_BEFORE_FC1
    x = dequant_hidden(inputs, p)
    w1 = dequant_weights(inputs, p, "fc1")
    w2 = dequant_weights(inputs, p, "fc2")
    clamped = "swiglu.alpha" in inputs
    fmt = fc2_input_format(p["quantMode"])
    flat = ids.reshape(-1).astype(np.int64) - off
    y = np.zeros((T * k, H), dtype=F32)
    for l in range(El):
        rows = np.nonzero(flat == l)[0]
        if rows.size == 0:
            continue
        xs = x[rows // k]
        acc = matmul_f32(xs, w1[l], order)
        if fc1_output == "bf16":
            acc = fm.round_bf16(acc)
        au, ag = acc[:, :I], acc[:, I:]
        if before_fc1:
            w = weights.reshape(-1)[rows][:, None].astype(F32)
            au = (au * w).astype(F32)
            ag = (ag * w).astype(F32)
        a = epilogue(au, ag, l, inputs, clamped)
        if fc1_activation == "bf16":
            a = fm.round_bf16(a)
        ahat = fm.requant(fmt, a)
        acc2 = matmul_f32(ahat, w2[l], order)
        if fc2_output == "bf16":
            acc2 = fm.round_bf16(acc2)
        y[rows] = (acc2 * F32(inputs["out2_scale"].array[l])).astype(F32)
    y = y.reshape(T, k, H)
    out = np.zeros((T, H), dtype=F32)
    local = (flat >= 0) & (flat < El)
    local = local.reshape(T, k)
    slots = range(k) if slot_order == "forward" else range(k - 1, -1, -1)
    for j in slots:
        wj = np.ones((T, 1), dtype=F32) if before_fc1 else weights[:, j:j + 1].astype(F32)
        term = (wj * y[:, j, :]).astype(F32)
        out = np.where(local[:, j:j + 1], (out + term).astype(F32), out).astype(F32)
    return fm.f32_to_bf16_bits(out), ids.astype(np.int32), weights.astype(F32)
