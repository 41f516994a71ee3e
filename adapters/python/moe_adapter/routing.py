"""Routing methods of docs/semantics.md §3 in numpy float32: a registry keyed by method name.

Each method maps (logits [T, E] float32, bias, problem) to (ids [T, k] int32, weights
[T, k] float32). Top-k: higher score first, exact ties to the lower expert index; NaN and
+inf logits are treated as -inf (masked).
"""
import numpy as np

F32 = np.float32


def sanitize(x):
    return np.where(np.isnan(x) | (x == np.inf), F32(-np.inf), x).astype(F32)


def topk(scores, k):
    """Indices of the k largest scores per row, ties to the lower index (stable sort)."""
    key = np.where(np.isnan(scores), -np.inf, scores.astype(np.float64))
    return np.argsort(-key, axis=1, kind="stable")[:, :k].astype(np.int32)


def softmax(x):
    """Row softmax in float32: max subtracted, exp in double rounded once, sum in column order."""
    v = sanitize(x)
    m = np.max(v, axis=1, keepdims=True)
    empty = m == -np.inf
    m = np.where(empty, F32(0), m)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.where(v == -np.inf, F32(0), np.exp((v - m).astype(F32).astype(np.float64)).astype(F32)).astype(F32)
    s = np.zeros((x.shape[0], 1), dtype=F32)
    for j in range(x.shape[1]):
        s = (s + e[:, j:j + 1]).astype(F32)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (e / np.where(empty, F32(1), s)).astype(F32)
    return np.where(empty, F32(0), p).astype(F32)


def _renormalize(logits, k):
    ids = topk(sanitize(logits), k)
    chosen = np.take_along_axis(logits, ids, axis=1)
    return ids, softmax(chosen)


def _default(logits, k):
    p = softmax(logits)
    ids = topk(np.where(sanitize(logits) == -np.inf, F32(-np.inf), p), k)
    return ids, np.take_along_axis(p, ids, axis=1).astype(F32)


def _renormalize_naive(logits, k):
    p = softmax(logits)
    ids = topk(np.where(sanitize(logits) == -np.inf, F32(-np.inf), p), k)
    w = np.take_along_axis(p, ids, axis=1).astype(F32)
    s = np.zeros((w.shape[0], 1), dtype=F32)
    for j in range(k):
        s = (s + w[:, j:j + 1]).astype(F32)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w / np.where(s > 0, s, F32(1))).astype(F32)
    return ids, np.where(s > 0, out, F32(0)).astype(F32)


def _topk(logits, k):
    v = sanitize(logits)
    ids = topk(v, k)
    w = np.take_along_axis(v, ids, axis=1)
    return ids, np.where(w == -np.inf, F32(0), w).astype(F32)


def sigmoid(x):
    v = sanitize(x).astype(np.float64)
    with np.errstate(over="ignore"):
        s = (1.0 / (1.0 + np.exp(-v))).astype(F32)
    return np.where(v == -np.inf, F32(0), s).astype(F32)


def _deepseek_v3(logits, k, bias, config):
    """s = sigmoid(logit), b = s + bias; groups by the sum of their two largest b (nGroup > 1),
    the topkGroup best kept; top-k of b; weights s / (sum of chosen s + 1e-20) · scale."""
    T, E = logits.shape
    v = sanitize(logits)
    s = sigmoid(v)
    bias = np.zeros(E, F32) if bias is None else bias.astype(F32)
    b = np.where(v == -np.inf, F32(-np.inf), (s + bias[None, :]).astype(F32)).astype(F32)
    b = np.where(np.isnan(b), F32(-np.inf), b)
    n_group = int(config.get("nGroup", 1))
    if n_group > 1:
        size = E // n_group
        g = np.sort(b.reshape(T, n_group, size), axis=-1)[:, :, ::-1]
        with np.errstate(invalid="ignore"):
            gs = (g[:, :, 0] + g[:, :, 1]).astype(F32)
        kept = topk(np.where(np.isnan(gs), F32(-np.inf), gs), int(config["topkGroup"]))
        keep = np.zeros((T, n_group), bool)
        np.put_along_axis(keep, kept.astype(np.int64), True, axis=1)
        b = np.where(np.repeat(keep, size, axis=1), b, F32(-np.inf))
    ids = topk(b, k)
    chosen = np.take_along_axis(s, ids, axis=1)
    total = np.zeros((T, 1), F32)
    for j in range(k):
        total = (total + chosen[:, j:j + 1]).astype(F32)
    w = (chosen / (total + F32(1e-20)).astype(F32)).astype(F32)
    return ids, (w * F32(config.get("routedScalingFactor", 1.0))).astype(F32)


def _llama4(logits, k):
    ids = topk(sanitize(logits), k)
    return ids, sigmoid(np.take_along_axis(logits, ids, axis=1))


METHODS = {
    "default": _default,
    "renormalize": _renormalize,
    "renormalize_naive": _renormalize_naive,
    "topk": _topk,
    "llama4": _llama4,
}

# methods whose weight multiplies the token before FC1 (finalize then uses 1)
WEIGHT_BEFORE_FC1 = {"llama4"}


def route(method, logits, k, bias=None, config=None):
    """bias: float32 [E] or None; config: the problem's routing object (deepseek_v3's parameters)."""
    if method == "deepseek_v3":
        return _deepseek_v3(logits.astype(F32), k, bias, config or {})
    if method not in METHODS:
        raise KeyError(method)
    return METHODS[method](logits.astype(F32), k)
