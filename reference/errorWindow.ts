/**
 * Re-quantization fragility (see .helpers/README-moe.md for the derivation).
 *
 * A kernel's FC1 accumulators may differ from the reference's by up to ρ·S, where S is
 * the absolute-value sum Σ_h |W1[r,h]·x̂[h]| of the accumulator and ρ the FC1 relative
 * error window. Propagated through the epilogue this gives every FC2-input element a_c
 * a window [a_c - r, a_c + r]. The element is fragile when its window holds a rounding
 * boundary of FC2's input format; a block is fragile when the window of its amax holds a
 * boundary of the block-scale rounding (then every element may be quantized with another
 * scale). For each element, Δ = the largest |â' - â| over every value â' the kernel could
 * produce (any scale the block may get, any a_c in the window); Δ > 0 marks it fragile.
 *
 * Cheap by construction: the caller passes an upper bound of every radius (cheap, e.g.
 * Cauchy–Schwarz on the FC1 sums); only elements and blocks whose bounded window could
 * hold a boundary ask for their exact radius (one dot product pair each).
 */
import type { EpilogueParts, ExpertEpilogue } from './epilogue.js';
import { roundBf16 } from './formats/bf16.js';
import { roundE2m1 } from './formats/e2m1.js';
import { E4M3_VALUES, encodeE4m3F32, roundE4m3F32 } from './formats/e4m3.js';
import { UE8M0_VALUES, ue8m0CeilScale } from './formats/ue8m0.js';

export type Fc2InputFormat = 'nvfp4' | 'mxfp8' | 'bf16';

/** float32 unit roundoff. */
export const U32_ROUNDOFF = 2 ** -24;

/** Bound of |d/dg [g·sigmoid(alpha·g)]| for every alpha (SiLU's derivative lies in [-0.0998, 1.0998]). */
export const SILU_LIPSCHITZ = 1.1;

/** Relative slack for the kernel's epilogue arithmetic (exp/sigmoid, products): 16 ulp of a_c. */
export const EPILOGUE_RELATIVE_SLACK = 16 * U32_ROUNDOFF;

/** Default FC1 relative error window ρ = 4·sqrt(H)·2^-24 (a probabilistic float32 accumulation bound). */
export function defaultFc1RelativeError(H: number): number {
  return 4 * Math.sqrt(H) * U32_ROUNDOFF;
}

const fl = Math.fround;

/**
 * Radius of a_c's window. sUp, sGate: absolute-value sums of the raw FC1 accumulators
 * (or upper bounds of them: the radius grows monotonically with both); preWeight the
 * llama4 weight (1 otherwise); ep the expert's epilogue constants; parts and a the
 * epilogue's values for this element.
 *
 * With f(g) = g·sigmoid(alpha·g): |f'(g)| = |s + alpha·g·s·(1-s)| (s = sigmoid(alpha·g))
 * and |f''| <= |alpha|/2 everywhere, so over the gate window |Δf| <= (|f'(g)| + |alpha|·δG/2)·δG
 * (never more than SILU_LIPSCHITZ·δG). The clamps are 1-Lipschitz.
 */
export function windowRadius(
  rho: number, sUp: number, sGate: number, preWeight: number, ep: ExpertEpilogue,
  parts: EpilogueParts, a: number,
): number {
  const w = Math.abs(preWeight);
  const dG = rho * sGate * w * Math.abs(ep.gateScale) + 4 * U32_ROUNDOFF * Math.abs(parts.gate);
  const dU = rho * sUp * w * Math.abs(ep.upScale) + 4 * U32_ROUNDOFF * (Math.abs(parts.lin) + Math.abs(ep.betaC));
  const s = parts.sig;
  const u = ep.alpha * parts.gate;
  let slope = Math.abs(s + u * s * (1 - s)) * (1 + 1e-6) + 1e-7 + 0.5 * Math.abs(ep.alpha) * dG;
  if (slope > SILU_LIPSCHITZ) slope = SILU_LIPSCHITZ;
  const dSilu = slope * dG;
  return dSilu * (Math.abs(parts.lin) + dU) + Math.abs(parts.silu) * dU
    + EPILOGUE_RELATIVE_SLACK * Math.abs(a) + 4 * 2 ** -149;
}

/** Block length of FC2's input format (1 for bf16: no block scale). */
export function fc2InputBlock(fmt: Fc2InputFormat): number {
  return fmt === 'nvfp4' ? 16 : fmt === 'mxfp8' ? 32 : 1;
}

/** Scale code of a block with this amax (positive codes are monotone in amax). */
function scaleCode(fmt: Fc2InputFormat, amax: number): number {
  return fmt === 'nvfp4' ? encodeE4m3F32(fl(amax / 6)) : ue8m0CeilScale(amax, 448);
}

function scaleValue(fmt: Fc2InputFormat, code: number): number {
  return fmt === 'nvfp4' ? E4M3_VALUES[code]! : UE8M0_VALUES[code]!;
}

/** The block scale (value) README contract item 3 gives a block of FC2's input with this amax. */
export function fc2BlockScale(fmt: Fc2InputFormat, amax: number): number {
  return fmt === 'bf16' ? 1 : scaleValue(fmt, scaleCode(fmt, amax));
}

/** The re-quantized value of x (any number; rounded to float32 first) with block scale s. */
export function quantizeWithScale(fmt: Fc2InputFormat, x: number, s: number): number {
  if (fmt === 'bf16') return roundBf16(x);
  if (s === 0) return 0;
  const r = fl(fl(x) / s);
  return fmt === 'nvfp4' ? roundE2m1(r) * s : roundE4m3F32(r) * s;
}

function deviation(fmt: Fc2InputFormat, a: number, r: number, ahat: number, s: number): number {
  const lo = Math.abs(quantizeWithScale(fmt, a - r, s) - ahat);
  const hi = Math.abs(quantizeWithScale(fmt, a + r, s) - ahat);
  return lo > hi ? lo : hi;
}

export interface FragilityCounts {
  fragileElements: number;
  fragileBlocks: number;
}

/** Largest deviation over the scale codes c0..c1 for the window [a - r, a + r]. */
function maxDeviation(fmt: Fc2InputFormat, a: number, r: number, ahat: number, c0: number, c1: number): number {
  let d = 0;
  for (let code = c0; code <= c1; code++) {
    const dc = deviation(fmt, a, r, ahat, scaleValue(fmt, code));
    if (dc > d) d = dc;
  }
  return d;
}

/**
 * Analyze one row of FC2's input: a[off..off+len) the float32 a_c values, ahat the
 * reference's re-quantized values, radiusBound[0..len) upper bounds of the radii (indices
 * relative to off), exactRadius(i) the radius of element i (relative index; called at most
 * once per element, only where the bound cannot decide). emit(i, Δ) is called once per
 * fragile element, in increasing i. len must be a multiple of the format's block.
 *
 * Exact radii are asked for only where they can change the answer: an element whose
 * bounded window holds no boundary is not fragile; a block whose bounded amax window
 * holds no scale boundary keeps its scale; for the amax window only elements that can be
 * the largest matter; in a fragile block, an element whose deviation is the same for
 * r = 0 and for the bound needs no exact radius (the deviation grows monotonically with r).
 */
export function analyzeRow(
  fmt: Fc2InputFormat, a: Float32Array, ahat: Float32Array, off: number, len: number,
  radiusBound: Float64Array, exactRadius: (i: number) => number, emit: (i: number, delta: number) => void,
  counts: FragilityCounts,
): void {
  if (fmt === 'bf16') {
    for (let i = 0; i < len; i++) {
      const v = a[off + i]!;
      const q = ahat[off + i]!;
      const rb = radiusBound[i]!;
      if (roundBf16(v - rb) === q && roundBf16(v + rb) === q) continue;
      const d = deviation(fmt, v, exactRadius(i), q, 1);
      if (d > 0) {
        counts.fragileElements++;
        emit(i, d);
      }
    }
    return;
  }
  const B = fc2InputBlock(fmt);
  const exact = new Float64Array(B); // NaN: not computed yet
  let b0 = 0;
  const radiusOf = (i: number): number => {
    let r = exact[i - b0]!;
    if (r !== r) {
      r = exactRadius(i);
      exact[i - b0] = r;
    }
    return r;
  };
  for (b0 = 0; b0 < len; b0 += B) {
    let amax = 0;
    let hiB = 0;
    let loB = 0;
    for (let i = b0; i < b0 + B; i++) {
      const m = Math.abs(a[off + i]!);
      const rb = radiusBound[i]!;
      if (m > amax) amax = m;
      if (m + rb > hiB) hiB = m + rb;
      if (m - rb > loB) loB = m - rb;
    }
    let c0 = scaleCode(fmt, amax);
    let c1 = c0;
    exact.fill(NaN);
    if (scaleCode(fmt, loB) !== scaleCode(fmt, hiB)) {
      // The scale may change: the exact amax window, from the elements that can be the
      // largest. Both exact ends are >= loB; an element with m + r̄ < loB reaches neither.
      let lo = loB;
      let hi = loB;
      for (let i = b0; i < b0 + B; i++) {
        const m = Math.abs(a[off + i]!);
        if (m + radiusBound[i]! < loB) continue;
        const r = radiusOf(i);
        if (m + r > hi) hi = m + r;
        if (m - r > lo) lo = m - r;
      }
      c0 = scaleCode(fmt, lo);
      c1 = scaleCode(fmt, hi);
    }
    if (c1 !== c0) counts.fragileBlocks++;
    const s = scaleValue(fmt, c0);
    for (let i = b0; i < b0 + B; i++) {
      const v = a[off + i]!;
      const q = ahat[off + i]!;
      const rb = radiusBound[i]!;
      let d: number;
      if (c0 === c1) {
        if (quantizeWithScale(fmt, v - rb, s) === q && quantizeWithScale(fmt, v + rb, s) === q) continue;
        d = deviation(fmt, v, radiusOf(i), q, s);
      } else {
        const d0 = maxDeviation(fmt, v, 0, q, c0, c1);
        d = maxDeviation(fmt, v, rb, q, c0, c1);
        if (d !== d0) d = maxDeviation(fmt, v, radiusOf(i), q, c0, c1);
      }
      if (d > 0) {
        counts.fragileElements++;
        emit(i, d);
      }
    }
  }
}
