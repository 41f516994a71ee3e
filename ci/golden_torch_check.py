#!/usr/bin/env python3
"""Read every moe-harness golden case with torch + safetensors and re-derive its routing.

Usage:  python3 ci/golden_torch_check.py [--goldens DIR] [case ...]

For each case of goldens/manifest.json this script
  1. checks the sha256 and size of both files against the manifest,
  2. loads every tensor of both files with safetensors.torch (every dtype the goldens use:
     F32, BF16, I32, U8, F8_E4M3, scalars of shape []), checking dtypes and shapes against
     the problem,
  3. recomputes the routing of SPEC section 3 with torch in float32 (all six methods;
     ties: the lower expert index wins, done with a stable descending sort because
     torch.topk does not promise an order among equal values), and
  4. compares ids (exactly, or equal up to near-ties of the score) and weights (in
     float32 ulps) with the stored ones, printing one table row per case.

Exits 0 when every case agrees, 1 otherwise, and 0 with "skipped: ..." when torch or
safetensors is not installed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys

try:
    import torch
    from safetensors.torch import load_file
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"skipped: torch/safetensors not installed ({exc})")
    sys.exit(0)

# Weights may differ from the reference by a few float32 ulps: torch's exp/sigmoid and
# its (pairwise, vectorized) sums round differently from the reference's sequential
# float32 arithmetic (docs/arithmetic.md item 5: "exp may differ by a few ulp").
WEIGHT_ULPS = 16
# Scores within this relative distance of the k-th score count as near-ties: a
# different choice among them is valid (SPEC section 3).
TIE_RELATIVE = 2.0 ** -20

F32 = torch.float32


def ordered(x: torch.Tensor) -> torch.Tensor:
    """float32 -> int64 whose order is the float order (both zeros map to 0)."""
    bits = x.contiguous().view(torch.int32).to(torch.int64)
    return torch.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def ulp_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a.to(F32)
    b = b.to(F32)
    both_nan = torch.isnan(a) & torch.isnan(b)
    d = (ordered(torch.nan_to_num(a, nan=0.0)) - ordered(torch.nan_to_num(b, nan=0.0))).abs()
    d = torch.where(torch.isnan(a) ^ torch.isnan(b), torch.full_like(d, 2**40), d)
    return torch.where(both_nan, torch.zeros_like(d), d)


def sanitize(x: torch.Tensor) -> torch.Tensor:
    """NaN and +inf logits are invalid input; the reference treats them as -inf (masked)."""
    neg_inf = torch.full_like(x, -math.inf)
    return torch.where(torch.isnan(x) | (x == math.inf), neg_inf, x)


def rank_key(x: torch.Tensor) -> torch.Tensor:
    return torch.where(torch.isnan(x), torch.full_like(x, -math.inf), x)


def stable_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest along the last dim, best first; exact ties: lower index."""
    _, idx = torch.sort(rank_key(scores), dim=-1, descending=True, stable=True)
    return idx[..., :k]


def softmax_rows(x: torch.Tensor) -> torch.Tensor:
    """float32 softmax (max subtracted); masked entries give 0; an all-masked row gives 0s."""
    x = sanitize(x)
    m = x.max(dim=-1, keepdim=True).values
    valid_row = m != -math.inf
    e = torch.where(x == -math.inf, torch.zeros_like(x), torch.exp(x - torch.where(valid_row, m, torch.zeros_like(m))))
    s = e.sum(dim=-1, keepdim=True)
    return torch.where(valid_row, e / torch.where(valid_row, s, torch.ones_like(s)), torch.zeros_like(e))


def sigmoid_masked(x: torch.Tensor) -> torch.Tensor:
    x = sanitize(x)
    return torch.where(x == -math.inf, torch.zeros_like(x), torch.sigmoid(x))


def route(method: str, cfg: dict, logits: torch.Tensor, bias: torch.Tensor | None, k: int):
    """Returns (ids [T,k] int64, weights [T,k] float32, selection scores [T,E] float32)."""
    T, E = logits.shape
    x = sanitize(logits)
    if method in ("renormalize", "topk", "llama4"):
        scores = x.clone()
    elif method in ("default", "renormalize_naive"):
        scores = softmax_rows(logits)
        scores = torch.where(x == -math.inf, torch.full_like(scores, -math.inf), scores)
    elif method == "deepseek_v3":
        s = sigmoid_masked(logits)
        b = s + (bias if bias is not None else torch.zeros(E, dtype=F32))
        scores = torch.where(x == -math.inf, torch.full_like(b, -math.inf), b)
        n_group = int(cfg.get("nGroup", 1))
        if n_group > 1:
            keep = int(cfg["topkGroup"])
            size = E // n_group
            grouped = rank_key(scores).view(T, n_group, size)
            top2 = torch.sort(grouped, dim=-1, descending=True).values[..., :2]
            group_scores = rank_key(top2[..., 0] + top2[..., 1])
            kept = stable_topk(group_scores, keep)
            mask = torch.zeros(T, n_group, dtype=torch.bool)
            mask.scatter_(1, kept, True)
            mask = mask.unsqueeze(-1).expand(T, n_group, size).reshape(T, E)
            scores = torch.where(mask, scores, torch.full_like(scores, -math.inf))
    else:
        raise ValueError(f"unknown routing method {method!r}")

    scores = rank_key(scores)
    ids = stable_topk(scores, k)
    weights = weights_for(method, cfg, logits, ids)
    return ids, weights, scores


def weights_for(method: str, cfg: dict, logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    chosen = torch.gather(logits, 1, ids)
    if method == "default":
        return torch.gather(softmax_rows(logits), 1, ids)
    if method == "renormalize":
        return softmax_rows(chosen)
    if method == "renormalize_naive":
        p = torch.gather(softmax_rows(logits), 1, ids)
        s = p.sum(dim=-1, keepdim=True)
        return torch.where(s > 0, p / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(p))
    if method == "llama4":
        return sigmoid_masked(chosen)
    if method == "topk":
        c = sanitize(chosen)
        return torch.where(c == -math.inf, torch.zeros_like(c), c)
    if method == "deepseek_v3":
        s = sigmoid_masked(chosen)
        denom = s.sum(dim=-1, keepdim=True) + torch.tensor(1e-20, dtype=F32)
        return (s / denom) * torch.tensor(float(cfg.get("routedScalingFactor", 1.0)), dtype=F32)
    raise ValueError(f"unknown routing method {method!r}")


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_input_dtypes(p: dict) -> dict:
    """tensor name -> (torch dtype, shape) of a case's inputs (goldens/caseTensors.ts)."""
    T, H, I, E, El = p["T"], p["H"], p["I"], p["E"], p["localExperts"]
    mode = p["quantMode"]
    sf = 16 if mode == "nvfp4" else 32
    scale_dt = torch.float8_e4m3fn if mode == "nvfp4" else torch.uint8
    d = {"logits": (F32 if p["logitsDtype"] == "float32" else torch.bfloat16, (T, E))}
    if p["biasDtype"] != "none":
        d["bias"] = (F32 if p["biasDtype"] == "float32" else torch.bfloat16, (E,))
    if mode == "nvfp4":
        d["hidden.packed"] = (torch.uint8, (T, H // 2))
        d["hidden.scales"] = (torch.float8_e4m3fn, (T, H // 16))
        d["hidden.global_scale"] = (F32, ())
    elif mode == "mxfp4_mxfp8":
        d["hidden.data"] = (torch.float8_e4m3fn, (T, H))
        d["hidden.scales"] = (torch.uint8, (T, H // 32))
    else:
        d["hidden.data"] = (torch.bfloat16, (T, H))
    for w, rows, cols in (("fc1", 2 * I, H), ("fc2", H, I)):
        d[f"{w}.packed"] = (torch.uint8, (El, rows, cols // 2))
        d[f"{w}.scales"] = (scale_dt, (El, rows, cols // sf))
        d[f"{w}.global_scale"] = (F32, (El,))
    for n in ("out1_scale", "out1_gate_scale", "out2_scale"):
        d[n] = (F32, (El,))
    d["fc2_input_global_scale"] = (F32, ())
    if p["activation"]["kind"] == "swiglu_clamped":
        for n in ("alpha", "beta", "limit"):
            d[f"swiglu.{n}"] = (F32, (El,))
    return d


def expected_output_dtypes(p: dict) -> dict:
    T, H, E, k = p["T"], p["H"], p["E"], p["topK"]
    G = int(p["routing"].get("nGroup", 1)) if p["routing"]["method"] == "deepseek_v3" else 1
    return {
        "output": (torch.bfloat16, (T, H)),
        "output_f32": (F32, (T, H)),
        "routing.ids": (torch.int32, (T, k)),
        "routing.weights": (F32, (T, k)),
        "routing.selection_scores": (F32, (T, E)),
        "abs_accum": (F32, (T, H)),
        "flip_allowance": (F32, (T, H)),
        "fragile_tokens": (torch.uint8, (T,)),
        # The judge's routing evidence (goldens/expectedTensors.ts): scores before group masking
        # and exact-tie classes; grouped deepseek_v3 adds the group scores and their tie classes.
        "routing.scores": (F32, (T, E)),
        "routing.expert_tie_class": (torch.int32, (T, E)),
        **({"routing.group_scores": (F32, (T, G)), "routing.group_tie_class": (torch.int32, (T, G))} if G > 1 else {}),
    }


def check_tensors(tensors: dict, want: dict, where: str) -> list[str]:
    problems = []
    if set(tensors) != set(want):
        problems.append(f"{where}: tensors {sorted(set(tensors) ^ set(want))} missing or unexpected")
    for name, (dt, shape) in want.items():
        t = tensors.get(name)
        if t is not None and (t.dtype != dt or tuple(t.shape) != shape):
            problems.append(f"{where}: {name} is {t.dtype}{tuple(t.shape)}, expected {dt}{shape}")
    return problems


def exact_tie_violation(chosen: list, stored_scores: torch.Tensor, torch_scores: torch.Tensor) -> str | None:
    """An expert chosen over a lower-index expert with exactly the same score (stored and torch agree
    it is an exact tie): SPEC section 3 says the lower index wins, so the stored choice is wrong."""
    chosen_set = set(chosen)
    ss = rank_key(stored_scores).tolist()
    ts = rank_key(torch_scores).tolist()
    for x in chosen:
        for y in range(x):
            if y not in chosen_set and ss[y] == ss[x] and ts[y] == ts[x]:
                return f"expert {x} chosen over expert {y} with an identical score {ss[x]!r}: the lower index must win"
    return None


def check_case(entry: dict, root: str) -> tuple[str, list[str], dict]:
    name = entry["name"]
    p = entry["spec"]["problem"]
    problems: list[str] = []
    loaded = {}
    for kind in ("inputs", "expected"):
        f = entry["files"][kind]
        path = os.path.join(root, f["path"])
        if not os.path.exists(path):
            problems.append(f"{f['path']}: missing")
            continue
        size = os.path.getsize(path)
        digest = sha256(path)
        if size != f["bytes"] or digest != f["sha256"]:
            problems.append(f"{f['path']}: size {size} sha256 {digest[:12]}..., manifest {f['bytes']} {f['sha256'][:12]}...")
        loaded[kind] = load_file(path)
    if problems:
        return "FAIL", problems, {}
    problems += check_tensors(loaded["inputs"], expected_input_dtypes(p), entry["files"]["inputs"]["path"])
    problems += check_tensors(loaded["expected"], expected_output_dtypes(p), entry["files"]["expected"]["path"])
    if problems:
        return "FAIL", problems, {}

    inputs, exp = loaded["inputs"], loaded["expected"]
    logits = inputs["logits"].to(F32)  # bf16 -> float32 is exact
    bias = inputs["bias"].to(F32) if "bias" in inputs else None
    k = p["topK"]
    cfg = p["routing"]
    method = cfg["method"]
    ids, weights, scores = route(method, cfg, logits, bias, k)
    stored_ids = exp["routing.ids"].to(torch.int64)
    stored_w = exp["routing.weights"]
    stored_scores = exp["routing.selection_scores"]

    stats = {"tokens": p["T"], "id_diff_tokens": 0, "tie_tokens": 0}
    out_of_range = ((stored_ids < 0) | (stored_ids >= p["E"])).sum().item()
    if out_of_range:
        problems.append(f"{out_of_range} stored ids outside [0, {p['E']})")
    status = "ok"
    for t in range(p["T"]):
        violation = exact_tie_violation(stored_ids[t].tolist(), stored_scores[t], scores[t])
        if violation:
            problems.append(f"token {t}: {violation}")
        if torch.equal(ids[t], stored_ids[t]):
            continue
        stats["id_diff_tokens"] += 1
        # Valid only if every differing expert scores within TIE_RELATIVE of the k-th score.
        kth = rank_key(scores[t, ids[t, -1]]).item()
        tol = abs(kth) * TIE_RELATIVE if math.isfinite(kth) else 0.0
        differing = set(ids[t].tolist()) ^ set(stored_ids[t].tolist())
        near = all(abs(rank_key(scores[t, e]).item() - kth) <= tol or
                   (rank_key(scores[t, e]).item() == kth) for e in differing)
        # The same set in another order is acceptable only among equal-within-tolerance scores too.
        if not differing:
            st = [rank_key(scores[t, e]).item() for e in stored_ids[t].tolist()]
            near = all(a >= b - abs(b) * TIE_RELATIVE for a, b in zip(st, st[1:]))
        if near:
            stats["tie_tokens"] += 1
        else:
            problems.append(f"token {t}: torch ids {ids[t].tolist()} vs stored {stored_ids[t].tolist()}")
    # Weights: compared for the stored ids (the torch weights of the stored choice).
    w_for_stored = weights_for(method, cfg, logits, stored_ids)
    wd = ulp_distance(w_for_stored, stored_w)
    stats["max_weight_ulps"] = int(wd.max().item()) if wd.numel() else 0
    if stats["max_weight_ulps"] > WEIGHT_ULPS:
        t, j = divmod(int(wd.argmax().item()), k)
        problems.append(f"weights differ by {stats['max_weight_ulps']} ulps (> {WEIGHT_ULPS}) at token {t} slot {j}: "
                        f"torch {w_for_stored[t, j].item()!r} stored {stored_w[t, j].item()!r}")
    sd = ulp_distance(scores, stored_scores)
    # Scores of -inf must agree exactly; finite ones within the weight tolerance.
    stats["max_score_ulps"] = int(sd.max().item()) if sd.numel() else 0
    if stats["max_score_ulps"] > WEIGHT_ULPS:
        idx = int(sd.argmax().item())
        t, e = divmod(idx, p["E"])
        problems.append(f"selection score differs by {stats['max_score_ulps']} ulps at token {t} expert {e}: "
                        f"torch {scores[t, e].item()!r} stored {stored_scores[t, e].item()!r}")
    out = exp["output"].to(F32)
    if not torch.isfinite(out).all():
        problems.append("stored bf16 output has non-finite values")
    if problems:
        status = "FAIL"
    elif stats["tie_tokens"]:
        status = "ok (ties)"
    return status, problems, stats


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--goldens", default=os.path.join(here, "..", "goldens"), help="goldens directory (manifest.json)")
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    args = ap.parse_args()
    root = os.path.abspath(args.goldens)
    with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    entries = manifest["cases"]
    if args.cases:
        unknown = set(args.cases) - {e["name"] for e in entries}
        if unknown:
            print(f"unknown case(s): {', '.join(sorted(unknown))}")
            return 2
        entries = [e for e in entries if e["name"] in args.cases]

    print(f"torch {torch.__version__}; {len(entries)} golden cases in {root}")
    header = f"{'case':<20} {'method':<18} {'T':>4} {'E':>4} {'k':>3} {'ids':>11} {'w ulps':>7} {'s ulps':>7}  status"
    print(header)
    print("-" * len(header))
    failed = 0
    for e in entries:
        p = e["spec"]["problem"]
        try:
            status, problems, st = check_case(e, root)
        except Exception as exc:  # report and go on with the other cases
            status, problems, st = "FAIL", [f"{type(exc).__name__}: {exc}"], {}
        ids_col = f"{st['tokens'] - st['id_diff_tokens']}/{st['tokens']}" if st else "-"
        print(f"{e['name']:<20} {p['routing']['method']:<18} {p['T']:>4} {p['E']:>4} {p['topK']:>3} {ids_col:>11} "
              f"{st.get('max_weight_ulps', '-'):>7} {st.get('max_score_ulps', '-'):>7}  {status}")
        for msg in problems[:6]:
            print(f"    {msg}")
        if status == "FAIL":
            failed += 1
    print("-" * len(header))
    print(f"{len(entries) - failed} agree, {failed} disagree "
          f"(ids: equal tokens/T, ties accepted within 2^-20 relative; weights and scores within {WEIGHT_ULPS} float32 ulps)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
