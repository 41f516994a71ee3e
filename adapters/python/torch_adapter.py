"""A PyTorch fused MoE for GPU hosts, served through moe-harness's process protocol: a kernel
we did not write. Routing in torch (float32), FP4/MX weights dequantized exactly to bf16 in
torch (e2m1·scale has at most 6 significant bits), FC1 and FC2 as bf16 GEMMs with bf16 output
in three formulations (the tactics):

  grouped_mm   torch._grouped_mm over the expert-sorted rows (offs = cumulative ends)
  mm_loop      one torch.mm per expert
  bmm_padded   torch.bmm over [El, max rows, ·], padded with zeros

Every formulation writes bf16 GEMM outputs, so the adapter declares the conventions
fc1Output=bf16 and fc2Output=bf16 (docs/conventions.md); the epilogue, FC2-input
re-quantization and finalize run in float32.

  node dist/harness/cli.js check --kernel cmd:"python3 adapters/python/torch_adapter.py"
  python3 adapters/python/torch_adapter.py --self-check     # agreement with the numpy MoE
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from moe_adapter import Adapter, BadTactic, RunResult, Unsupported, serve  # noqa: E402
from moe_adapter.grouping import group_plan, padded_index  # noqa: E402

TACTICS = ("grouped_mm", "mm_loop", "bmm_padded")
F32, BF16 = torch.float32, torch.bfloat16
E2M1 = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=F32)


def dev():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def t(a, dtype=None):
    a = np.ascontiguousarray(a)
    if a.dtype == np.uint16:  # bf16 bits: torch's uint16 supports few ops; int16 holds the same bits
        a = a.view(np.int16)
    x = torch.from_numpy(a).to(dev())
    return x if dtype is None else x.to(dtype)


def scale_values(codes, mode):
    if mode == "nvfp4":
        return codes.view(torch.float8_e4m3fn).to(F32)
    return torch.exp2(codes.to(F32) - 127)


def dequant_fp4(packed, scales, block, mode):
    """Packed e2m1 [..., n/2] + block scales [..., n/block] -> bf16 [..., n], exact."""
    lut = E2M1.to(packed.device)
    q = torch.stack([lut[(packed & 0xF).long()], lut[(packed >> 4).long()]], dim=-1).flatten(-2)
    s = scale_values(scales, mode).repeat_interleave(block, dim=-1)
    return (q * s).to(BF16)


def bf16_bits_to_f32(bits):
    """bf16 bits (an int16 tensor, as t() makes them) -> float32, exactly."""
    return bits.view(BF16).to(F32)


def round_e2m1(v):
    a = v.abs()
    r = torch.full_like(a, 6.0)
    for bound, val, incl in ((5, 4, True), (3.5, 3, False), (2.5, 2, True), (1.75, 1.5, False), (1.25, 1, True),
                             (0.75, 0.5, False), (0.25, 0, True)):
        r = torch.where(a <= bound if incl else a < bound, torch.tensor(float(val), device=a.device), r)
    return torch.copysign(r, v)


def round_e4m3(v):
    return v.clamp(-448, 448).to(torch.float8_e4m3fn).to(F32)


def ue8m0_ceil(amax, element_max):
    a = amax.double()
    e = torch.ceil(torch.log2(torch.where(a > 0, a / element_max, torch.full_like(a, 2.0 ** -127)))).clamp(-127, 127)
    e = torch.where((e > -127) & (torch.exp2(e - 1) * element_max >= a), e - 1, e)
    e = torch.where(torch.exp2(e) * element_max < a, e + 1, e)
    return torch.exp2(e.clamp(-127, 127)).to(F32)


def requant(fmt, a):
    """FC2 input (float32 [n, I]) fake-quantized, as in docs/semantics.md §4 step 4; returns bf16 (exact)."""
    if fmt == "bf16":
        return a.to(BF16)
    block = 16 if fmt == "nvfp4" else 32
    b = a.view(a.shape[0], -1, block)
    amax = b.abs().amax(dim=-1, keepdim=True)
    finite = torch.isfinite(b).all(dim=-1, keepdim=True)
    if fmt == "nvfp4":
        s = round_e4m3(amax / 6)
        q = round_e2m1(b / torch.where(s > 0, s, torch.ones_like(s))) * s
        q = torch.where(s > 0, q, torch.zeros_like(q))
    else:
        s = ue8m0_ceil(torch.where(finite, amax, torch.zeros_like(amax)), 448.0)
        q = round_e4m3(b / s) * s
    q = torch.where(finite, q, torch.full_like(q, float("nan")))
    return q.view_as(a).to(BF16)


def route_deepseek(v, k, bias, cfg):
    """deepseek_v3 (SPEC §3): b = sigmoid + bias, group masking by the two largest b, weights from the unbiased s."""
    T, E = v.shape
    ninf = torch.full_like(v, -float("inf"))
    s = torch.where(v == -float("inf"), torch.zeros_like(v), torch.sigmoid(v))
    b = torch.where(v == -float("inf"), ninf, s + (bias if bias is not None else 0))
    b = torch.where(torch.isnan(b), ninf, b)
    n_group = int(cfg.get("nGroup", 1))
    if n_group > 1:
        size = E // n_group
        top2 = torch.sort(b.view(T, n_group, size), dim=-1, descending=True).values[:, :, :2]
        gs = (top2[:, :, 0] + top2[:, :, 1]).nan_to_num(nan=-float("inf"))
        kept = torch.sort(gs, dim=-1, descending=True, stable=True).indices[:, :int(cfg["topkGroup"])]
        keep = torch.zeros((T, n_group), dtype=torch.bool, device=v.device).scatter_(1, kept, True)
        b = torch.where(keep.repeat_interleave(size, dim=1), b, ninf)
    ids = torch.sort(b, dim=-1, descending=True, stable=True).indices[:, :k]
    chosen = torch.gather(s, 1, ids)
    w = chosen / (chosen.sum(dim=-1, keepdim=True) + 1e-20) * float(cfg.get("routedScalingFactor", 1.0))
    return ids.to(torch.int32), w.to(F32)


def route(method, logits, k, bias=None, cfg=None):
    v = torch.where(torch.isnan(logits) | (logits == float("inf")), torch.full_like(logits, -float("inf")), logits)
    if method == "deepseek_v3":
        return route_deepseek(v, k, bias, cfg or {})
    if method in ("renormalize", "topk", "llama4"):
        score = v
    else:  # default, renormalize_naive: rank by the softmax probabilities
        score = torch.softmax(v, dim=-1).nan_to_num(0.0)
        score = torch.where(v == -float("inf"), torch.full_like(score, -float("inf")), score)
    ids = torch.sort(score, dim=-1, descending=True, stable=True).indices[:, :k]
    chosen = torch.gather(v, 1, ids)
    if method == "renormalize":
        w = torch.softmax(chosen, dim=-1).nan_to_num(0.0)
    elif method == "topk":
        w = torch.where(chosen == -float("inf"), torch.zeros_like(chosen), chosen)
    elif method == "llama4":
        w = torch.sigmoid(chosen)
    else:
        w = torch.gather(torch.softmax(v, dim=-1).nan_to_num(0.0), 1, ids)
        if method == "renormalize_naive":
            s = w.sum(dim=-1, keepdim=True)
            w = torch.where(s > 0, w / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(w))
    return ids.to(torch.int32), w.to(F32)


def gemm_bf16(tactic, x, w, counts, offs):
    """x bf16 [n, K] (rows grouped by expert), w bf16 [El, N, K] -> bf16 [n, N], one formulation per tactic."""
    if tactic == "grouped_mm":
        return torch._grouped_mm(x, w.transpose(-2, -1), offs=offs)
    if tactic == "mm_loop":
        out = torch.empty((x.shape[0], w.shape[1]), dtype=BF16, device=x.device)
        start = 0
        for l, c in enumerate(counts.tolist()):
            if c:
                out[start:start + c] = torch.mm(x[start:start + c], w[l].t())
            start += c
        return out
    if tactic == "bmm_padded":
        M, e_of, s_of = padded_index(counts.cpu().numpy())
        pad = torch.zeros((w.shape[0], M, x.shape[1]), dtype=BF16, device=x.device)
        e_of, s_of = t(e_of).long(), t(s_of).long()
        pad[e_of, s_of] = x
        return torch.bmm(pad, w.transpose(1, 2))[e_of, s_of]
    raise BadTactic(f"tactic: expected one of {', '.join(TACTICS)}, got {tactic!r}")


class TorchAdapter(Adapter):
    name = "torch-moe"
    version = f"torch-{torch.__version__}"
    conventions = {"fc1Output": "bf16", "fc2Output": "bf16"}
    routing_methods = ("default", "renormalize", "renormalize_naive", "deepseek_v3", "topk", "llama4")

    def __init__(self):
        self.device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu (torch without CUDA)"
        # GEMMs accumulate in float32 (no bf16 partial reductions), as the declared conventions assume.
        torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False

    def tactics(self, problem):
        unavailable = []
        tactics = list(TACTICS)
        if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] < 9:
            tactics.remove("grouped_mm")
            unavailable.append({"label": "grouped_mm", "reason": "torch._grouped_mm needs a CUDA device of sm_90 or newer"})
        elif problem["H"] % 8 or problem["I"] % 8:
            tactics.remove("grouped_mm")
            unavailable.append({"label": "grouped_mm", "reason": f"H and I must be multiples of 8 (16-byte rows), got {problem['H']}, {problem['I']}"})
        return tactics, unavailable

    def prepare(self, inputs, p):
        mode = p["quantMode"]
        if p["routing"]["method"] not in self.routing_methods:
            raise Unsupported(f"routing {p['routing']['method']}")
        block = 16 if mode == "nvfp4" else 32
        wmode = "nvfp4" if mode == "nvfp4" else "mx"
        st = {"p": p, "fmt": {"nvfp4": "nvfp4", "mxfp4_mxfp8": "mxfp8", "mxfp4_bf16": "bf16"}[mode]}
        st["w1"] = dequant_fp4(t(inputs["fc1.packed"].array), t(inputs["fc1.scales"].array), block, wmode)
        st["w2"] = dequant_fp4(t(inputs["fc2.packed"].array), t(inputs["fc2.scales"].array), block, wmode)
        if mode == "nvfp4":
            x = dequant_fp4(t(inputs["hidden.packed"].array), t(inputs["hidden.scales"].array), 16, "nvfp4")
        elif mode == "mxfp4_mxfp8":
            d = t(inputs["hidden.data"].array).view(torch.float8_e4m3fn).to(F32)
            x = (d * scale_values(t(inputs["hidden.scales"].array), "mx").repeat_interleave(32, dim=-1)).to(BF16)
        else:
            x = bf16_bits_to_f32(t(inputs["hidden.data"].array)).to(BF16)
        st["x"] = x
        lg = inputs["logits"]
        st["logits"] = bf16_bits_to_f32(t(lg.array)) if lg.dtype == "BF16" else t(lg.array, F32)
        if "bias" in inputs:
            bt = inputs["bias"]
            st["bias"] = bf16_bits_to_f32(t(bt.array)) if bt.dtype == "BF16" else t(bt.array, F32)
        for name in ("out1_scale", "out1_gate_scale", "out2_scale", "swiglu.alpha", "swiglu.beta", "swiglu.limit"):
            if name in inputs:
                st[name] = t(inputs[name].array, F32)
        return st

    def run(self, st, tactic, poison):
        if tactic not in TACTICS:
            raise BadTactic(f"tactic: expected one of {', '.join(TACTICS)}, got {tactic!r}")
        p = st["p"]
        T, H, I, k, El = p["T"], p["H"], p["I"], p["topK"], p["localExperts"]
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        ids, w = route(p["routing"]["method"], st["logits"], k, st.get("bias"), p["routing"])
        rows, experts, counts, offs = group_plan(ids.cpu().numpy(), p["localOffset"], El)
        if rows.size == 0:  # no slot routed to this slice: the output is all zeros
            zeros = np.zeros((T, H), np.uint16)
            return RunResult(zeros, ids.cpu().numpy(), w.cpu().numpy(), executed_tactic=tactic)
        rows_t, ex_t = t(rows).long(), t(experts).long()
        counts_t, offs_t = t(counts), t(offs)
        xs = st["x"][rows_t // k]
        h1 = gemm_bf16(tactic, xs, st["w1"], counts_t, offs_t).to(F32)   # bf16 accumulators
        up, gate = h1[:, :I], h1[:, I:]
        before_fc1 = p["routing"]["method"] == "llama4"
        if before_fc1:
            wr = w.reshape(-1)[rows_t][:, None]
            up, gate = up * wr, gate * wr
        gs, us = st["out1_gate_scale"][ex_t][:, None], st["out1_scale"][ex_t][:, None]
        gate, up = gate * gs, up * us
        if "swiglu.alpha" in st:
            ratio = us / gs
            lim = st["swiglu.limit"][ex_t][:, None]
            gate = torch.minimum(gate, lim)
            up = torch.maximum(torch.minimum(up, lim * ratio), -(lim * ratio))
            a = gate * torch.sigmoid(st["swiglu.alpha"][ex_t][:, None] * gate) * (up + st["swiglu.beta"][ex_t][:, None] * ratio)
        else:
            a = gate * torch.sigmoid(gate) * up
        ahat = requant(st["fmt"], a)
        y = gemm_bf16(tactic, ahat, st["w2"], counts_t, offs_t).to(F32) * st["out2_scale"][ex_t][:, None]
        slots = torch.zeros((T * k, H), dtype=F32, device=y.device)
        slots[rows_t] = y
        slots = slots.view(T, k, H)
        out = torch.zeros((T, H), dtype=F32, device=y.device)
        for j in range(k):
            out = out + (slots[:, j] if before_fc1 else w[:, j:j + 1] * slots[:, j])
        out_bf16 = out.to(BF16)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) * 1e3
        bits = out_bf16.view(torch.int16).cpu().numpy().view(np.uint16)
        return RunResult(bits, ids.cpu().numpy(), w.cpu().numpy(), executed_tactic=tactic, ms=ms)


def self_check():
    """Bit-exact checks of the pieces against the numpy package (no tolerance anywhere): weight and
    hidden dequantization, FC2-input re-quantization in the three formats, routing ids; then every
    tactic runs on a synthetic case and writes finite bf16 output with those ids. The numbers
    themselves are judged by the harness, against the reference, under the declared conventions."""
    from moe_adapter import formats as fm
    from moe_adapter import safetensors_np as stnp
    from moe_adapter.routing import route as np_route
    rng = np.random.default_rng(1)
    failures = []

    def same(name, a, b):
        a, b = np.asarray(a), np.asarray(b)
        eq = a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))
        print(f"{name}: {'bit-identical' if eq else 'DIFFERENT'}")
        if not eq:
            failures.append(name)

    packed = rng.integers(0, 256, (4, 64, 32), dtype=np.uint8)
    for mode, codes, table, block in (("nvfp4", rng.integers(0, 0x7F, (4, 64, 4), dtype=np.uint8), fm.E4M3, 16),
                                      ("mx", rng.integers(100, 140, (4, 64, 2), dtype=np.uint8), fm.UE8M0, 32)):
        got = dequant_fp4(t(packed), t(codes), block, mode).to(F32).cpu().numpy()
        same(f"dequant {mode}", got, fm.unpack_e2m1(packed, codes, block, table))
    a = (rng.standard_normal((64, 256)) * np.exp2(rng.integers(-8, 8, (64, 1)))).astype(np.float32)
    for fmt in ("nvfp4", "mxfp8", "bf16"):
        same(f"requant {fmt}", requant(fmt, t(a)).to(F32).cpu().numpy(), fm.requant(fmt, a))
    logits = rng.standard_normal((97, 64)).astype(np.float32)
    for method in ("default", "renormalize", "renormalize_naive", "topk", "llama4"):
        same(f"routing ids {method}", route(method, t(logits), 4)[0].cpu().numpy(), np_route(method, logits, 4)[0])
    bias = rng.standard_normal(64).astype(np.float32)
    cfg = {"nGroup": 8, "topkGroup": 4, "routedScalingFactor": 2.5}
    same("routing ids deepseek_v3", route("deepseek_v3", t(logits), 8, t(bias), cfg)[0].cpu().numpy(),
         np_route("deepseek_v3", logits, 8, bias, cfg)[0])

    T, H, I, E, k = 37, 256, 128, 8, 2
    p = {"T": T, "H": H, "I": I, "E": E, "topK": k, "localOffset": 0, "localExperts": E, "quantMode": "mxfp4_bf16",
         "routing": {"method": "renormalize"}}
    bits = (rng.standard_normal((T, H)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    inputs = {
        "logits": stnp.Tensor("F32", rng.standard_normal((T, E)).astype(np.float32)),
        "hidden.data": stnp.Tensor("BF16", bits),
        "fc1.packed": stnp.Tensor("U8", rng.integers(0, 256, (E, 2 * I, H // 2), dtype=np.uint8)),
        "fc1.scales": stnp.Tensor("U8", rng.integers(120, 124, (E, 2 * I, H // 32), dtype=np.uint8)),
        "fc2.packed": stnp.Tensor("U8", rng.integers(0, 256, (E, H, I // 2), dtype=np.uint8)),
        "fc2.scales": stnp.Tensor("U8", rng.integers(120, 124, (E, H, I // 32), dtype=np.uint8)),
    }
    for n in ("out1_scale", "out1_gate_scale", "out2_scale"):
        inputs[n] = stnp.Tensor("F32", np.ones(E, np.float32))
    ad = TorchAdapter()
    st = ad.prepare(inputs, p)
    tactics, unavailable = ad.tactics(p)
    ids_np = np_route("renormalize", inputs["logits"].array, k)[0]
    for tac in tactics:
        r = ad.run(st, tac, 0x7FA5)
        out = (r.output.astype(np.uint32) << 16).view(np.float32)
        ok = bool(np.isfinite(out).all()) and r.executed_tactic == tac and np.array_equal(r.ids, ids_np)
        print(f"tactic {tac}: {'ran, finite output, ids as numpy' if ok else 'FAILED'} ({r.ms:.2f} ms)")
        if not ok:
            failures.append(f"tactic {tac}")
    for u in unavailable:
        print(f"tactic {u['label']}: not runnable here: {u['reason']}")
    print("self-check", "PASSED" if not failures else f"FAILED: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--self-check", action="store_true", help="compare every tactic with the numpy MoE and exit")
    if ap.parse_args().self_check:
        sys.exit(self_check())
    serve(TorchAdapter())
