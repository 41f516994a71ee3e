/**
 * Re-quantization fragility (see docs/error-model.md for the derivation).
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
import { F32_UNIT_ROUNDOFF } from './formats/float.js';
import type { Fc2InputFormat } from './problem.js';

/** Bound of |d/dg [g·sigmoid(alpha·g)]| for every alpha (SiLU's derivative lies in [-0.0998, 1.0998]). */
const SILU_LIPSCHITZ = 1.1;

/** Relative slack for the kernel's epilogue arithmetic (exp/sigmoid, products): 16 ulp of a_c. */
const EPILOGUE_RELATIVE_SLACK = 16 * F32_UNIT_ROUNDOFF;

/** Default FC1 relative error window ρ = 4·sqrt(H)·2^-24 (a probabilistic float32 accumulation bound). */
export function defaultFc1RelativeError(H: number): number {
  return 4 * Math.sqrt(H) * F32_UNIT_ROUNDOFF;
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
  const dG = rho * sGate * w * Math.abs(ep.gateScale) + 4 * F32_UNIT_ROUNDOFF * Math.abs(parts.gate);
  const dU = rho * sUp * w * Math.abs(ep.upScale) + 4 * F32_UNIT_ROUNDOFF * (Math.abs(parts.lin) + Math.abs(ep.betaC));
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

/** The block scale (value) docs/arithmetic.md item 3 gives a block of FC2's input with this amax. */
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

// ------------------------------------------------------------------ fast "cannot move" test
//
// The prefilter asks, for every element, whether its bounded window [v - r̄, v + r̄] lies
// strictly inside the interval of values that re-quantize to the same â. The intervals
// (between the rounding midpoints around â's code) are tabulated; the test is done in
// double with a slack (2^-22 relative to v, more than the float32 roundings of the exact
// computation) so it can only err towards "may move", which the exact path then settles.

/** e2m1 magnitudes ×2 (0, 1, 2, 3, 4, 6, 8, 12) → [low, high) midpoints, in units of the scale. */
const E2M1_LO = new Float64Array(13).fill(NaN);
const E2M1_HI = new Float64Array(13).fill(NaN);
{
  const mags = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
  mags.forEach((m, k) => {
    E2M1_LO[2 * m] = k === 0 ? -0.25 : (mags[k - 1]! + m) / 2;
    E2M1_HI[2 * m] = k === 7 ? Infinity : (m + mags[k + 1]!) / 2;
  });
}

/** Positive e4m3 codes 0..126 → midpoints to their neighbours. */
const E4M3_LO = new Float64Array(127);
const E4M3_HI = new Float64Array(127);
for (let k = 0; k < 127; k++) {
  E4M3_LO[k] = k === 0 ? -E4M3_VALUES[1]! / 2 : (E4M3_VALUES[k - 1]! + E4M3_VALUES[k]!) / 2;
  E4M3_HI[k] = k === 126 ? Infinity : (E4M3_VALUES[k]! + E4M3_VALUES[k + 1]!) / 2;
}

const F32V = new Float32Array(1);
const U32V = new Uint32Array(F32V.buffer);

/** Slack added to a radius bound for the double-precision interval test. */
export function slack(v: number, rb: number): number {
  return rb * (1 + 2 ** -20) + Math.abs(v) * 2 ** -22 + 2 ** -146;
}

/** True when no value in [v - rr, v + rr] re-quantizes (nvfp4, scale 1/inv) to other than q. */
export function e2m1Stays(v: number, rr: number, q: number, inv: number): boolean {
  if (inv === Infinity) return true; // scale 0: everything quantizes to 0
  const c2 = Math.round(Math.abs(q) * inv * 2);
  const m = Math.abs(v);
  return (m + rr) * inv < E2M1_HI[c2]! && (c2 === 0 || (m - rr) * inv > E2M1_LO[c2]!);
}

/** Same for mxfp8 (e4m3 elements, power-of-two scale 1/inv). */
export function e4m3Stays(v: number, rr: number, q: number, inv: number): boolean {
  const code = encodeE4m3F32(Math.abs(q) * inv) & 0x7f;
  const m = Math.abs(v);
  return (m + rr) * inv < E4M3_HI[code]! && (code === 0 || (m - rr) * inv > E4M3_LO[code]!);
}

/** Same for bf16 (no scale). */
export function bf16Stays(v: number, rr: number, q: number): boolean {
  F32V[0] = Math.abs(q);
  const b = U32V[0]! >>> 16;
  const m = Math.abs(v);
  U32V[0] = (b + 1) << 16;
  const up = F32V[0]!;
  const hi = (Math.abs(q) + up) / 2;
  if (!(m + rr < hi)) return false;
  if (b === 0) return true;
  U32V[0] = (b - 1) << 16;
  const lo = (Math.abs(q) + F32V[0]!) / 2;
  return m - rr > lo;
}

/**
 * Tables of the fast prefilter (analysisKernels.ts), float64, by scale code c (0..255):
 * SV[c] the scale value; [LOX[c], HIX[c]] amax values that certainly get code c (the exact
 * interval shrunk by 2^-20 relative, so that float32 roundings in scaleCode cannot leave
 * it; empty for codes a block never gets); then by element code (0..127) EHI/ELO, the
 * "cannot move" midpoints (E2M1_HI/LO by 2·magnitude for nvfp4, E4M3_HI/LO for mxfp8).
 * Layout: SV at 0, LOX at 256, HIX at 512, EHI at 768, ELO at 896.
 */
export function prefilterTables(fmt: 'nvfp4' | 'mxfp8'): Float64Array {
  const t = new Float64Array(1024);
  t.fill(NaN, 0, 256);
  t.fill(Infinity, 256, 512);
  t.fill(-Infinity, 512, 768);
  t.fill(NaN, 768, 1024);
  const lo = 1 + 2 ** -20;
  const hi = 1 - 2 ** -20;
  if (fmt === 'nvfp4') {
    for (let c = 0; c <= 126; c++) {
      const v = E4M3_VALUES[c]!;
      t[c] = v;
      t[256 + c] = c === 0 ? -Infinity : 6 * ((E4M3_VALUES[c - 1]! + v) / 2) * lo;
      t[512 + c] = c === 126 ? 6 * 464 * hi : 6 * ((v + E4M3_VALUES[c + 1]!) / 2) * hi;
    }
    for (let c = 0; c < 13; c++) {
      t[768 + c] = E2M1_HI[c]!;
      t[896 + c] = E2M1_LO[c]!;
    }
  } else {
    for (let c = 0; c <= 254; c++) {
      t[c] = UE8M0_VALUES[c]!;
      t[256 + c] = c === 0 ? -Infinity : 448 * 2 ** (c - 128) * lo;
      t[512 + c] = 448 * 2 ** (c - 127) * hi;
    }
    for (let c = 0; c < 127; c++) {
      t[768 + c] = E4M3_HI[c]!;
      t[896 + c] = E4M3_LO[c]!;
    }
  }
  return t;
}

/**
 * Analyzes rows of FC2's input (see analyzeRow); holds its scratch so that the fast path's
 * millions of elements allocate nothing per row.
 */
export class RowAnalyzer {
  private readonly nv: boolean;
  private readonly B: number;
  private readonly exact: Float64Array;
  private readonly known: Uint8Array;

  constructor(private readonly fmt: Fc2InputFormat) {
    this.nv = fmt === 'nvfp4';
    this.B = fc2InputBlock(fmt);
    this.exact = new Float64Array(this.B);
    this.known = new Uint8Array(this.B);
  }

  /** analyzeRow with the radius bounds of element i at radiusBound[rbOff + i]. */
  analyze(
    a: Float32Array, ahat: Float32Array, off: number, len: number, radiusBound: Float64Array, rbOff: number,
    exactRadius: (i: number) => number, emit: (i: number, delta: number) => void, counts: FragilityCounts,
  ): void {
    const fmt = this.fmt;
    if (fmt === 'bf16') {
      for (let i = 0; i < len; i++) {
        const v = a[off + i]!;
        const q = ahat[off + i]!;
        if (bf16Stays(v, slack(v, radiusBound[rbOff + i]!), q)) continue;
        const d = deviation(fmt, v, exactRadius(i), q, 1);
        if (d > 0) {
          counts.fragileElements++;
          emit(i, d);
        }
      }
      return;
    }
    const { nv, B, exact, known } = this;
    let b0 = 0;
    const radiusOf = (i: number): number => {
      if (known[i - b0] === 0) {
        exact[i - b0] = exactRadius(i);
        known[i - b0] = 1;
      }
      return exact[i - b0]!;
    };
    for (b0 = 0; b0 < len; b0 += B) {
      let amax = 0;
      let hiB = 0;
      let loB = 0;
      for (let i = b0; i < b0 + B; i++) {
        const m = Math.abs(a[off + i]!);
        const rb = radiusBound[rbOff + i]!;
        if (m > amax) amax = m;
        if (m + rb > hiB) hiB = m + rb;
        if (m - rb > loB) loB = m - rb;
      }
      let c0 = scaleCode(fmt, amax);
      let c1 = c0;
      let touched = false;
      if (scaleCode(fmt, loB) !== scaleCode(fmt, hiB)) {
        // The scale may change: the exact amax window, from the elements that can be the
        // largest. Both exact ends are >= loB; an element with m + r̄ < loB reaches neither.
        known.fill(0);
        touched = true;
        let lo = loB;
        let hi = loB;
        for (let i = b0; i < b0 + B; i++) {
          const m = Math.abs(a[off + i]!);
          if (m + radiusBound[rbOff + i]! < loB) continue;
          const r = radiusOf(i);
          if (m + r > hi) hi = m + r;
          if (m - r > lo) lo = m - r;
        }
        c0 = scaleCode(fmt, lo);
        c1 = scaleCode(fmt, hi);
      }
      if (c1 !== c0) counts.fragileBlocks++;
      const s = scaleValue(fmt, c0);
      const inv = 1 / s;
      for (let i = b0; i < b0 + B; i++) {
        const v = a[off + i]!;
        const q = ahat[off + i]!;
        const rb = radiusBound[rbOff + i]!;
        let d: number;
        if (c0 === c1) {
          const rr = slack(v, rb);
          if (nv ? e2m1Stays(v, rr, q, inv) : e4m3Stays(v, rr, q, inv)) continue;
          if (!touched) {
            known.fill(0);
            touched = true;
          }
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
  new RowAnalyzer(fmt).analyze(a, ahat, off, len, radiusBound, 0, exactRadius, emit, counts);
}
