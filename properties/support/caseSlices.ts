/**
 * Case transformations for metamorphic properties: keep a range of tokens, or an
 * expert-parallel slice of the experts. Tensor bytes are copied unchanged, so every
 * quantity the reference computes per (token, expert) stays the same. The spec's seed and
 * families no longer regenerate the result (the reference never regenerates).
 */
import type { Case, Fp4Weights, HiddenStates } from '../../reference/case.js';
import { BadArgumentError } from '../../reference/errors.js';
import { ExpertBytes } from '../../reference/expertBytes.js';
import { weightBlock, type Problem } from '../../reference/problem.js';

type Typed = Uint8Array | Uint16Array | Float32Array;

function slice<T extends Typed>(a: T, start: number, end: number): T {
  return a.slice(start, end) as T;
}

/** Bytes (or elements) per local expert of each weight tensor. */
export function perExpertSizes(p: Problem): { fc1Packed: number; fc1Scales: number; fc2Packed: number; fc2Scales: number } {
  const sf = weightBlock(p.quantMode);
  const n1 = 2 * p.I * p.H;
  const n2 = p.H * p.I;
  return { fc1Packed: n1 / 2, fc1Scales: n1 / sf, fc2Packed: n2 / 2, fc2Scales: n2 / sf };
}

function hiddenRows(h: HiddenStates, H: number, t0: number, t1: number): HiddenStates {
  switch (h.format) {
    case 'bf16':
      return { format: 'bf16', data: slice(h.data, t0 * H, t1 * H) };
    case 'nvfp4':
      return {
        format: 'nvfp4', globalScale: h.globalScale,
        packed: slice(h.packed, (t0 * H) / 2, (t1 * H) / 2), scales: slice(h.scales, (t0 * H) / 16, (t1 * H) / 16),
      };
    case 'mxfp8':
      return { format: 'mxfp8', data: slice(h.data, t0 * H, t1 * H), scales: slice(h.scales, (t0 * H) / 32, (t1 * H) / 32) };
  }
}

/** The case restricted to tokens [t0, t1). */
export function sliceTokens(c: Case, t0: number, t1: number): Case {
  const p = c.spec.problem;
  if (!(Number.isInteger(t0) && Number.isInteger(t1) && 0 <= t0 && t0 < t1 && t1 <= p.T)) {
    throw new BadArgumentError('t0, t1', `integers with 0 <= t0 < t1 <= T = ${p.T}`, `${t0}, ${t1}`);
  }
  return {
    ...c,
    spec: { ...c.spec, problem: { ...p, T: t1 - t0 } },
    logits: slice(c.logits, t0 * p.E, t1 * p.E),
    hidden: hiddenRows(c.hidden, p.H, t0, t1),
  };
}

/** Experts [l0, l1) of `x`, copied into a fresh layout. */
function expertSlice(x: ExpertBytes, l0: number, l1: number): ExpertBytes {
  return ExpertBytes.fromExperts(x.experts().slice(l0, l1));
}

function expertRange(w: Fp4Weights, l0: number, l1: number, _packed: number, _scales: number): Fp4Weights {
  return {
    packed: expertSlice(w.packed, l0, l1),
    scales: expertSlice(w.scales, l0, l1),
    globalScale: slice(w.globalScale, l0, l1),
  };
}

/** The case restricted to the global experts [offset, offset + count) (inside its own slice). */
export function sliceExperts(c: Case, offset: number, count: number): Case {
  const p = c.spec.problem;
  const l0 = offset - p.localOffset;
  const l1 = l0 + count;
  if (!(Number.isInteger(l0) && Number.isInteger(count) && count >= 1 && l0 >= 0 && l1 <= p.localExperts)) {
    throw new BadArgumentError('offset, count', `a slice inside [${p.localOffset}, ${p.localOffset + p.localExperts})`, `${offset}, ${count}`);
  }
  const s = perExpertSizes(p);
  const per = (a: Float32Array) => slice(a, l0, l1);
  return {
    ...c,
    spec: { ...c.spec, problem: { ...p, localOffset: offset, localExperts: count } },
    fc1: expertRange(c.fc1, l0, l1, s.fc1Packed, s.fc1Scales),
    fc2: expertRange(c.fc2, l0, l1, s.fc2Packed, s.fc2Scales),
    out1Scale: per(c.out1Scale),
    out1GateScale: per(c.out1GateScale),
    out2Scale: per(c.out2Scale),
    swiglu: c.swiglu === null ? null : { alpha: per(c.swiglu.alpha), beta: per(c.swiglu.beta), limit: per(c.swiglu.limit) },
  };
}
