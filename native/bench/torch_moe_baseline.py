"""The PyTorch bf16 baseline of `npm run bench:kernel` (native/bench/benchKernel.ts runs it).

For every row of DIR/kernel.json (written by moe_bench in the same benchmark run, on the same
GPU) it times a plain PyTorch MoE over the same problem:

  - weights: random FP4 codes and block scales of the row's format, dequantized to bf16 ONCE
    (before any timing; exact, adapters/python/torch_adapter.py's dequant_fp4), held as
    [E, 2I, H] and [E, H, I];
  - routing: the row's router logits (and bias) that moe_bench wrote, routed in torch by the
    same method (torch_adapter.route); the experts chosen are compared with the ids our
    kernel returned (reported as a match fraction: "same routing");
  - timed region (CUDA events, like the native kernel's routing .. finalize): routing, sort of
    the T·k slots by expert, gather of the tokens, torch._grouped_mm FC1 (bf16), SwiGLU (the
    clamped gpt-oss form where the row says so), torch._grouped_mm FC2, routing weights, sum
    over the k slots in float32, bf16 output. The hidden states start as bf16 (our kernel's
    timed region includes their dequantization; the baseline's does not).

Repetitions: --reps timed runs after 3 warm-ups; medians reported. The same forward pass is
also captured into a CUDA graph and its replays timed (the native kernel replays a captured
graph of its pipeline); the eager time is the baseline of the issue-18 targets. Also a device-to-device copy bandwidth (torch copy_, bytes read + written)
as a cross-check of moe_bench's.

  python3 native/bench/torch_moe_baseline.py --dir DIR [--reps 7] [--out DIR/torch.json]
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "adapters", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_adapter import dequant_fp4, route  # noqa: E402

BF16, F32 = torch.bfloat16, torch.float32


def bad(option, expected, actual):
    print(f"torch_moe_baseline: {option}: expected {expected}, got {actual}", file=sys.stderr)
    sys.exit(2)


def random_weights(E, rows, K, quant, gen, dev):
    """bf16 [E, rows, K]: random e2m1 codes times random block scales, dequantized exactly,
    one expert at a time (bounded temporary memory)."""
    block = 16 if quant == "nvfp4" else 32
    mode = "nvfp4" if quant == "nvfp4" else "mx"
    out = torch.empty((E, rows, K), dtype=BF16, device=dev)
    for e in range(E):
        packed = torch.randint(0, 256, (rows, K // 2), dtype=torch.uint8, device=dev, generator=gen)
        r = torch.randint(0, 256, (rows, K // block), dtype=torch.uint8, device=dev, generator=gen)
        # Same ranges as moe_bench: e4m3 codes 16..47 (exponent field 2..5); ue8m0 122..125.
        codes = (16 + (r & 31)) if quant == "nvfp4" else (122 + (r & 3))
        out[e] = dequant_fp4(packed, codes.to(torch.uint8), block, mode)
    return out


def load_f32(path, shape, dev):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(shape)).to(dev)


def moe_forward(row, st):
    """One MoE forward pass in plain PyTorch; returns bf16 [T, H] and the routed ids."""
    T, E, k, H, I = row["T"], row["E"], row["k"], row["H"], row["I"]
    cfg = {"nGroup": row["nGroup"], "topkGroup": row["topkGroup"], "routedScalingFactor": row["routedScalingFactor"]}
    ids, w = route(row["routing"], st["logits"], k, st.get("bias"), cfg)
    flat = ids.reshape(-1).long()
    order = torch.argsort(flat, stable=True)
    counts = torch.zeros(E, dtype=torch.int64, device=flat.device).scatter_add_(0, flat, torch.ones_like(flat))
    offs = torch.cumsum(counts, 0).to(torch.int32)
    tok = order // k
    xs = st["x"][tok]
    h1 = torch._grouped_mm(xs, st["w1"].transpose(-2, -1), offs=offs)
    up, gate = h1[:, :I], h1[:, I:]
    if row["clamped"]:  # gpt-oss: alpha 1.702, beta 1, limit 7 (as moe_bench's case)
        gate = gate.float().clamp(max=7.0)
        up = up.float().clamp(-7.0, 7.0)
        a = (gate * torch.sigmoid(1.702 * gate) * (up + 1.0)).to(BF16)
    else:
        a = torch.nn.functional.silu(gate) * up
    y = torch._grouped_mm(a, st["w2"].transpose(-2, -1), offs=offs)
    wy = y.float() * w.reshape(-1)[order].unsqueeze(1)
    out = torch.zeros((T, H), dtype=F32, device=y.device).index_add_(0, tok, wy)
    return out.to(BF16), ids


def time_ms(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(reps):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        fn()
        e1.record()
        e1.synchronize()
        ms.append(e0.elapsed_time(e1))
    return ms


def time_graph_ms(fn, reps):
    """The same forward pass captured once into a CUDA graph and replayed (no host launch gaps);
    (None, reason) when torch cannot capture it."""
    try:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn()
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        return None, f"{type(e).__name__}: {e}".splitlines()[0][:200]
    return time_ms(g.replay, reps), None


def copy_bandwidth(mib, reps=9):
    n = mib << 20
    a = torch.randint(0, 256, (n,), dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = time_ms(lambda: b.copy_(a), reps, warmup=2)
    med = statistics.median(ms)
    return {"what": f"torch copy_ device-to-device, {mib} MiB, bytes read + written", "bytes": 2 * n,
            "medianMs": med, "gbps": 2 * n / (med * 1e-3) / 1e9, "ms": ms}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", default=None)
    ap.add_argument("--copy-mib", type=int, default=2048)
    a = ap.parse_args()
    if a.reps < 3 or a.reps > 1000:
        bad("--reps", "an integer in [3, 1000]", a.reps)
    kpath = os.path.join(a.dir, "kernel.json")
    if not os.path.isfile(kpath):
        bad("--dir", "a directory holding moe_bench's kernel.json", a.dir)
    if not torch.cuda.is_available():
        print("torch_moe_baseline: no CUDA device visible to torch", file=sys.stderr)
        sys.exit(3)
    if torch.cuda.get_device_capability()[0] < 9:
        print("torch_moe_baseline: torch._grouped_mm needs sm_90 or newer", file=sys.stderr)
        sys.exit(3)
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
    dev = torch.device("cuda")
    kernel = json.load(open(kpath))
    rows = kernel["rows"]
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "copyBefore": copy_bandwidth(a.copy_mib), "rows": []}
    gen = torch.Generator(device=dev)
    gen.manual_seed(1)
    by_config = {}
    for r in rows:
        by_config.setdefault(r["config"], []).append(r)
    for name, crows in by_config.items():
        r0 = crows[0]
        E, H, I, quant = r0["E"], r0["H"], r0["I"], r0["quant"]
        st = {"w1": random_weights(E, 2 * I, H, quant, gen, dev), "w2": random_weights(E, H, I, quant, gen, dev)}
        torch.cuda.synchronize()
        for row in crows:
            T = row["T"]
            stem = os.path.join(a.dir, row["files"])
            st["logits"] = load_f32(stem + ".logits.f32", (T, E), dev)
            if row["hasBias"]:
                st["bias"] = load_f32(stem + ".bias.f32", (E,), dev)
            else:
                st.pop("bias", None)
            st["x"] = torch.randn((T, H), generator=gen, device=dev).to(BF16)
            out, ids = moe_forward(row, st)
            ours = np.fromfile(stem + ".ids.i32", dtype=np.int32).reshape(T, row["k"])
            theirs = ids.cpu().numpy()
            same = float(np.mean([set(ours[t]) == set(theirs[t]) for t in range(T)]))
            finite = bool(torch.isfinite(out.float()).all().item())
            ms = time_ms(lambda: moe_forward(row, st), a.reps)
            med = statistics.median(ms)
            gms, why = time_graph_ms(lambda: moe_forward(row, st), a.reps)
            gmed = statistics.median(gms) if gms else None
            print(f"TORCH {name:<16} T={T:<5} {med:9.3f} ms eager, "
                  f"{'%.3f ms' % gmed if gmed is not None else 'n/a (' + why + ')'} CUDA graph; "
                  f"same experts {same * 100:.1f}% of tokens{'' if finite else '  NON-FINITE OUTPUT'}", flush=True)
            result["rows"].append({"config": name, "T": T, "ms": ms, "medianMs": med, "graphMs": gms,
                                   "graphMedianMs": gmed, "graphUnavailable": why, "sameExperts": same,
                                   "finite": finite})
        del st
        torch.cuda.empty_cache()
    result["copyAfter"] = copy_bandwidth(a.copy_mib)
    out = a.out or os.path.join(a.dir, "torch.json")
    with open(out, "w") as f:
        json.dump(result, f)
    print(f"torch_moe_baseline: wrote {out}; copy {result['copyBefore']['gbps']:.0f} / {result['copyAfter']['gbps']:.0f} GB/s")


if __name__ == "__main__":
    main()
