/**
 * Deterministic problem generation: from a CaseSpec (problem, seed,
 * logit family, scale family) make every input tensor of the fused MoE, bytes exactly as
 * a kernel receives them (SPEC §1). Same spec → same bytes on every machine.
 *
 * Streams (reference/rng.ts): every tensor draws from its own named stream
 * seedrandom(`${seed}:${name}`) → xoshiro128**: 'logits', 'bias', 'hidden' (one
 * sub-stream per token row), 'fc1:e', 'fc1:e:header', 'fc2:e', 'fc2:e:header' per GLOBAL
 * expert e, and 'swiglu'. Nothing depends on the expert-parallel slice except which
 * experts are stored (and the zero_expert family's choice, made among local experts).
 *
 * See generate/logits.ts, generate/hidden.ts, generate/weights.ts, generate/calibrate.ts
 * for the families and formulas; docs/reference.md summarizes them.
 */
import type { Case, CaseSpec, Fp4Weights } from './case.js';
import type { ExpertLayoutOptions } from './expertBytes.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from './formats/bf16.js';
import { E4M3_VALUES } from './formats/e4m3.js';
import { E2M1_PAIR_VALUES } from './formats/fp4pack.js';
import { UE8M0_VALUES } from './formats/ue8m0.js';
import { BadArgumentError } from './errors.js';
import { weightBlock, type Problem } from './problem.js';
import { dequantizeNvfp4 } from './quant/nvfp4.js';
import { dequantizeMxfp8 } from './quant/mxfp8.js';
import { streamRng } from './rng.js';
import { calibrateFc2InputScale } from './generate/calibrate.js';
import { generateHidden } from './generate/hidden.js';
import { generateBias, generateLogits } from './generate/logits.js';
import { validateCaseSpec } from './generate/validateCaseSpec.js';
import { generateWeights, weightShape, type WhichWeights } from './generate/weights.js';

export { validateCaseSpec } from './generate/validateCaseSpec.js';

/**
 * zero_expert: the local expert that is the row-wise argmax (ties: lower index) of the
 * most tokens, so the zero expert is actually routed to; local index 0 if none is.
 */
function chooseZeroExpert(logits: Float32Array, p: Problem): number {
  const counts = new Int32Array(p.localExperts);
  for (let t = 0; t < p.T; t++) {
    let best = 0;
    for (let e = 1; e < p.E; e++) if (logits[t * p.E + e]! > logits[t * p.E + best]!) best = e;
    const l = best - p.localOffset;
    if (l >= 0 && l < p.localExperts) counts[l]++;
  }
  let pick = 0;
  for (let l = 1; l < p.localExperts; l++) if (counts[l]! > counts[pick]!) pick = l;
  return pick;
}

/** Per-expert SwiGLU parameters: the base values times (1 ± up to 4%), per global expert. */
function generateSwiglu(seed: number, p: Problem): Case['swiglu'] {
  if (p.activation.kind !== 'swiglu_clamped') return null;
  const { alpha, beta, limit } = p.activation;
  const rng = streamRng(seed, 'swiglu');
  const El = p.localExperts;
  const out = { alpha: new Float32Array(El), beta: new Float32Array(El), limit: new Float32Array(El) };
  for (let e = 0; e < p.localOffset + El; e++) {
    const da = 1 + 0.04 * (2 * rng.unit() - 1);
    const db = 1 + 0.04 * (2 * rng.unit() - 1);
    const dl = 1 + 0.04 * (2 * rng.unit() - 1);
    const l = e - p.localOffset;
    if (l >= 0) {
      out.alpha[l] = alpha * da;
      out.beta[l] = beta * db;
      out.limit[l] = limit * dl;
    }
  }
  return out;
}

/**
 * Generate every input tensor of a case, on this thread (generateCaseParallel: the same
 * bytes on every core). `layout` picks the weights' per-expert storage (expertBytes.ts);
 * the bytes never depend on it. Throws BadArgumentError naming a bad spec field.
 */
export function generateCase(spec: CaseSpec, layout: ExpertLayoutOptions = {}): Case {
  const { logits, bias, hidden, sumSquares, zeroLocal } = generateCaseInputs(spec);
  const { problem: p, seed, scaleFamily } = spec;
  const fc1 = generateWeights(seed, p, 'fc1', scaleFamily, zeroLocal, layout);
  const fc2 = generateWeights(seed, p, 'fc2', scaleFamily, zeroLocal, layout);
  return assembleCase(spec, logits, bias, hidden, sumSquares, fc1, fc2);
}

/** The routing inputs (logits, bias) and the zero_expert family's local expert (-1 otherwise). */
export function generateRoutingInputs(spec: CaseSpec): { logits: Case['logits']; bias: Case['bias']; zeroLocal: number } {
  validateCaseSpec(spec);
  const p = spec.problem;
  const { seed, logitFamily, scaleFamily } = spec;
  const logitsF32 = generateLogits(seed, p, logitFamily);
  const logits = p.logitsDtype === 'bfloat16' ? f32ArrayToBf16(logitsF32) : logitsF32;
  let bias: Float32Array | Uint16Array | null = null;
  if (p.biasDtype !== 'none') {
    const b = generateBias(seed, p, logitFamily);
    bias = p.biasDtype === 'bfloat16' ? f32ArrayToBf16(b) : b;
  }
  const zeroLocal = scaleFamily === 'zero_expert' ? chooseZeroExpert(logitsF32, p) : -1;
  return { logits, bias, zeroLocal };
}

/** Everything but the weights, serially (cheap next to the weights). */
export function generateCaseInputs(spec: CaseSpec): {
  logits: Case['logits']; bias: Case['bias']; hidden: Case['hidden']; sumSquares: number; zeroLocal: number;
} {
  const { logits, bias, zeroLocal } = generateRoutingInputs(spec);
  const { hidden, sumSquares } = generateHidden(spec.seed, spec.problem, spec.scaleFamily);
  return { logits, bias, hidden, sumSquares, zeroLocal };
}

/** The case from its inputs and weights (FC2's input scale calibrated, output scalars derived). */
export function assembleCase(spec: CaseSpec, logits: Case['logits'], bias: Case['bias'], hidden: Case['hidden'],
  sumSquares: number, fc1: Fp4Weights, fc2: Fp4Weights): Case {
  const p = spec.problem;
  const { seed, scaleFamily } = spec;

  const c = calibrateFc2InputScale(seed, p, scaleFamily, sumSquares);
  const { out1Scale, out1GateScale, out2Scale } = outputScalars(p.localExperts, hidden.format === 'nvfp4' ? hidden.globalScale : null, fc1.globalScale, fc2.globalScale, c);

  return {
    spec, logits, bias, hidden, fc1, fc2, out1Scale, out1GateScale, out2Scale,
    fc2InputGlobalScale: c, swiglu: generateSwiglu(seed, p),
  };
}

/** The hidden states [T, H] in q·s units (no NVFP4 global scale), float32. */
export function dequantizeHidden(c: Case): Float32Array {
  const { T, H } = c.spec.problem;
  const h = c.hidden;
  if (h.format === 'nvfp4') return dequantizeNvfp4(h.packed, h.scales, T, H, 1);
  if (h.format === 'mxfp8') return dequantizeMxfp8(h.data, h.scales, T, H);
  return bf16ArrayToF32(h.data);
}

/** Local expert l's FC1 ([2I, H]) or FC2 ([H, I]) weights in q·s units (no global scale). */
export function dequantizeExpertWeights(c: Case, which: WhichWeights, l: number): Float32Array {
  const p = c.spec.problem;
  if (which !== 'fc1' && which !== 'fc2') throw new BadArgumentError('which', "'fc1' or 'fc2'", String(which));
  if (!Number.isInteger(l) || l < 0 || l >= p.localExperts) {
    throw new BadArgumentError('l', `a local expert index in [0, ${p.localExperts - 1}]`, String(l));
  }
  const { rows, cols } = weightShape(p, which);
  const sf = weightBlock(p.quantMode);
  const w = which === 'fc1' ? c.fc1 : c.fc2;
  const scaleValues = p.quantMode === 'nvfp4' ? E4M3_VALUES : UE8M0_VALUES;
  const n = rows * cols;
  const out = new Float32Array(n);
  const packed = w.packed.expert(l);
  const scales = w.scales.expert(l);
  const half = sf / 2;
  for (let b = 0; b < n / sf; b++) {
    const s = scaleValues[scales[b]!]!;
    const p0 = b * half;
    const o = b * sf;
    for (let j = 0; j < half; j++) {
      const byte = packed[p0 + j]!;
      out[o + 2 * j] = E2M1_PAIR_VALUES[2 * byte]! * s;
      out[o + 2 * j + 1] = E2M1_PAIR_VALUES[2 * byte + 1]! * s;
    }
  }
  return out;
}

/**
 * The per-expert output scalars (docs/semantics.md §4.3): with NVFP4 activations of global
 * encode scale `a`, weights of `w1[l]`, `w2[l]` and FC2's input scale `c`:
 * out1GateScale = 1/(a·w1), out1Scale = c/(a·w1), out2Scale = 1/(c·w2); all 1 in MX and bf16
 * modes (`a` null).
 */
export function outputScalars(El: number, a: number | null, w1: ArrayLike<number>, w2: ArrayLike<number>, c: number): { out1Scale: Float32Array; out1GateScale: Float32Array; out2Scale: Float32Array } {
  const out1Scale = new Float32Array(El).fill(1);
  const out1GateScale = new Float32Array(El).fill(1);
  const out2Scale = new Float32Array(El).fill(1);
  if (a !== null) {
    for (let l = 0; l < El; l++) {
      out1GateScale[l] = 1 / (a * w1[l]!);
      out1Scale[l] = c / (a * w1[l]!);
      out2Scale[l] = 1 / (c * w2[l]!);
    }
  }
  return { out1Scale, out1GateScale, out2Scale };
}
