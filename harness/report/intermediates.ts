/**
 * Intermediates of one output element out[t, h], recomputed by the report (never by the
 * judge) with the float64 oracle's arithmetic (reference/oracle64.ts) for token t alone:
 * for every slot j of the token (the kernel's expert choice when its ids are usable),
 * the FC1 accumulators (up and gate sums, float64 then rounded once to float32), the
 * SwiGLU activation, its re-quantized value â and the block scale of â's block, the FC2
 * output y_j[h], and the terms W2[h, i]·â_i that contribute most to y_j[h]. The finalize
 * sum of the slots is recomputed too, so the page can show that the intermediates add up
 * to the reference (`recomputed` equals oracle64's outputF32[t, h] bit for bit).
 *
 * Cost: one token's FC1 (k·2I·H multiply-adds) and one row of FC2 per slot, with only the
 * weight rows needed dequantized; the case is regenerated from its CaseSpec.
 */
import type { Case } from '../../reference/case.js';
import { expertEpilogue, swigluElement } from '../../reference/epilogue.js';
import { E4M3_VALUES } from '../../reference/formats/e4m3.js';
import { E2M1_PAIR_VALUES } from '../../reference/formats/fp4pack.js';
import { UE8M0_VALUES } from '../../reference/formats/ue8m0.js';
import { fc2InputFormat, weightBlock } from '../../reference/problem.js';
import { dequantizeMxfp8 } from '../../reference/quant/mxfp8.js';
import { dequantizeNvfp4 } from '../../reference/quant/nvfp4.js';
import { requantBlock, requantBlockScale, requantizeInPlace } from '../../reference/quant/requantize.js';
import { bf16ArrayToF32 } from '../../reference/formats/bf16.js';
import { routeCase, routingMethod } from '../../reference/routing/registry.js';
import { isLocalExpert } from '../../reference/slotPlan.js';

const fl = Math.fround;

/** Terms of y_j[h] shown per slot (largest |W2[h,i]·â_i| first). */
export const TERMS_SHOWN = 3;

export interface TermIntermediates {
  /** Index along I. */
  readonly i: number;
  /** FC1 accumulators, float32 (up: row i, gate: row I + i), in q·s units before the output scalars. */
  readonly up: number;
  readonly gate: number;
  /** SwiGLU activation a_i (float32, output scalars applied: in NVFP4 mode already times c). */
  readonly activation: number;
  /** â_i: a_i re-quantized as FC2's input. */
  readonly requantized: number;
  /** Block scale of â_i's block (null in bf16 mode: no block). */
  readonly blockScale: number | null;
  readonly block: number | null;
  /** W2[h, i] (q·s units) and its product with â_i times out2Scale. */
  readonly w2: number;
  readonly contribution: number;
}

export interface SlotIntermediates {
  readonly slot: number;
  readonly expert: number;
  /** false: the expert is not local to this call (contributes nothing). */
  readonly local: boolean;
  /** The routing weight of the slot (for the kernel's choice). */
  readonly weight: number;
  /** y_j[h] = fl(fl(W2[h]·â) · out2Scale) (0 when not local). */
  readonly fc2Out: number;
  readonly out2Scale: number;
  readonly terms: readonly TermIntermediates[];
}

export interface ElementIntermediates {
  readonly t: number;
  readonly h: number;
  /** Whose expert choice the intermediates follow. */
  readonly routedBy: 'kernel' | 'reference';
  readonly slots: readonly SlotIntermediates[];
  /** Σ_j w_j·y_j[h] in float32, slot order (before the output's bf16 rounding). */
  readonly recomputed: number;
}

/** Token t's hidden row, dequantized in q·s units (as dequantizeHidden, one row). */
function hiddenRow(c: Case, t: number): Float32Array {
  const H = c.spec.problem.H;
  const h = c.hidden;
  if (h.format === 'nvfp4') return dequantizeNvfp4(h.packed.subarray((t * H) / 2, ((t + 1) * H) / 2), h.scales.subarray((t * H) / 16, ((t + 1) * H) / 16), 1, H, 1);
  if (h.format === 'mxfp8') return dequantizeMxfp8(h.data.subarray(t * H, (t + 1) * H), h.scales.subarray((t * H) / 32, ((t + 1) * H) / 32), 1, H);
  return bf16ArrayToF32(h.data.subarray(t * H, (t + 1) * H));
}

/** Row r of local expert l's FC1 ([2I, H]) or FC2 ([H, I]) weights, q·s units (as dequantizeExpertWeights). */
function weightRow(c: Case, which: 'fc1' | 'fc2', l: number, r: number): Float32Array {
  const p = c.spec.problem;
  const cols = which === 'fc1' ? p.H : p.I;
  const sf = weightBlock(p.quantMode);
  const w = which === 'fc1' ? c.fc1 : c.fc2;
  const scaleValues = p.quantMode === 'nvfp4' ? E4M3_VALUES : UE8M0_VALUES;
  const first = r * cols;
  const packed = w.packed.expert(l);
  const scales = w.scales.expert(l);
  const out = new Float32Array(cols);
  const half = sf / 2;
  for (let b = 0; b < cols / sf; b++) {
    const s = scaleValues[scales[first / sf + b]!]!;
    const p0 = first / 2 + b * half;
    for (let j = 0; j < half; j++) {
      const byte = packed[p0 + j]!;
      out[b * sf + 2 * j] = E2M1_PAIR_VALUES[2 * byte]! * s;
      out[b * sf + 2 * j + 1] = E2M1_PAIR_VALUES[2 * byte + 1]! * s;
    }
  }
  return out;
}

/** Usable ids: k distinct ids in [0, E). */
function usable(ids: readonly number[], k: number, E: number): boolean {
  return ids.length === k && ids.every((e) => Number.isInteger(e) && e >= 0 && e < E) && new Set(ids).size === k;
}

/**
 * Intermediates of out[t, h] for the case, following `kernelIds` (token t's ids from the
 * kernel) when they are usable, else the reference's routing.
 */
export function elementIntermediates(c: Case, t: number, h: number, kernelIds?: readonly number[]): ElementIntermediates {
  const p = c.spec.problem;
  const { T, H, I, topK: k } = p;
  if (!(Number.isInteger(t) && t >= 0 && t < T)) throw new RangeError(`elementIntermediates: t = ${t}, expected an integer in [0, ${T})`);
  if (!(Number.isInteger(h) && h >= 0 && h < H)) throw new RangeError(`elementIntermediates: h = ${h}, expected an integer in [0, ${H})`);
  const reference = routeCase(c);
  const byKernel = kernelIds !== undefined && usable(kernelIds, k, p.E);
  let routing = reference;
  if (byKernel) {
    const forced = Int32Array.from(reference.ids);
    forced.set(kernelIds, t * k);
    routing = routeCase(c, { forcedIds: forced });
  }
  const { weightPlacement } = routingMethod(p.routing.method);
  const fmt = fc2InputFormat(p.quantMode);
  const x = hiddenRow(c, t);
  const slots: SlotIntermediates[] = [];
  let recomputed = 0;
  for (let j = 0; j < k; j++) {
    const e = routing.ids[t * k + j]!;
    const weight = routing.weights[t * k + j]!;
    if (!isLocalExpert(p, e)) {
      slots.push({ slot: j, expert: e, local: false, weight, fc2Out: 0, out2Scale: 0, terms: [] });
      continue;
    }
    const l = e - p.localOffset;
    const ep = expertEpilogue(c, l);
    const preWeight = weightPlacement === 'finalize' ? 1 : weight;
    const up = new Float32Array(I);
    const gate = new Float32Array(I);
    const a = new Float32Array(I);
    for (let i = 0; i < I; i++) {
      const wu = weightRow(c, 'fc1', l, i);
      const wg = weightRow(c, 'fc1', l, I + i);
      let accU = 0;
      let accG = 0;
      for (let q = 0; q < H; q++) {
        accU += wu[q]! * x[q]!;
        accG += wg[q]! * x[q]!;
      }
      up[i] = fl(accU);
      gate[i] = fl(accG);
      a[i] = swigluElement(up[i]!, gate[i]!, preWeight, ep);
    }
    const ahat = Float32Array.from(a);
    requantizeInPlace(fmt, ahat, 0, I);
    const w2 = weightRow(c, 'fc2', l, h);
    let acc = 0;
    for (let i = 0; i < I; i++) acc += w2[i]! * ahat[i]!;
    const fc2Out = fl(fl(acc) * ep.out2Scale);
    const block = requantBlock(fmt);
    const order = Array.from({ length: I }, (_, i) => i)
      .sort((u, v) => Math.abs(w2[v]! * ahat[v]!) - Math.abs(w2[u]! * ahat[u]!) || u - v)
      .slice(0, TERMS_SHOWN);
    const terms = order.map((i): TermIntermediates => {
      let blockScale: number | null = null;
      let b: number | null = null;
      if (fmt !== 'bf16') {
        b = Math.floor(i / block);
        let amax = 0;
        for (let q = b * block; q < (b + 1) * block; q++) amax = Math.max(amax, Math.abs(a[q]!));
        blockScale = requantBlockScale(fmt, amax);
      }
      return {
        i, up: up[i]!, gate: gate[i]!, activation: a[i]!, requantized: ahat[i]!, blockScale, block: b,
        w2: w2[i]!, contribution: w2[i]! * ahat[i]! * ep.out2Scale,
      };
    });
    slots.push({ slot: j, expert: e, local: true, weight, fc2Out, out2Scale: ep.out2Scale, terms });
    recomputed = fl(recomputed + fl((weightPlacement === 'finalize' ? weight : 1) * fc2Out));
  }
  return { t, h, routedBy: byKernel ? 'kernel' : 'reference', slots, recomputed };
}
