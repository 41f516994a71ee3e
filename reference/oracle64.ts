/**
 * The float64 oracle: the fused MoE of SPEC §4 under README "Arithmetic contract" with
 * FC1 and FC2 accumulated in float64 by plain loops (no tfjs), each accumulator rounded
 * once to float32 as an exact float32 kernel would. Everything after the accumulators
 * (epilogue, re-quantization, fragility, finalize) is the float32 contract code shared
 * with the fast path; the GEMMs and the weight dequantization are not shared (the oracle
 * uses generate.ts's dequantizers, the fast path its own table decoder).
 *
 * Meant for small problems (cost T·k·3·I·H multiply-adds in plain JS, plus [T·k·H]
 * float32 scratch three times).
 */
import type { Case } from './case.js';
import { checkCase } from './checkCase.js';
import { expertEpilogue, swigluElement, type EpilogueParts } from './epilogue.js';
import { RowAnalyzer, windowRadius, type FragilityCounts } from './errorWindow.js';
import type { Expected } from './expected.js';
import { finalizeTokens } from './finalize.js';
import { dequantizeExpertWeights, dequantizeHidden } from './generate.js';
import { requantizeInPlace } from './quant/requantize.js';
import { fc2InputFormat } from './problem.js';
import { prepareReference, type ReferenceOptions } from './referenceOptions.js';
import { checkReferenceFits } from './resourceEstimate.js';
import { planSlots } from './slotPlan.js';
import { expectedFrom } from './expectedFrom.js';
import { fc1Activation, fc1ActivationRadius } from './fc1ActivationConvention.js';
import { bf16RoundingSpread, fc2AccumulatorWindow } from './bf16GemmOutputConvention.js';
import { roundBf16 } from './formats/bf16.js';

const fl = Math.fround;

/** Run the float64 oracle (synchronous). */
export function runOracle64(c: Case, opts: ReferenceOptions = {}): Expected {
  checkCase(c);
  const prep = prepareReference(c, { ...opts, precision: 'float64' });
  const p = c.spec.problem;
  checkReferenceFits(p, 'float64', 0); // before the [T, k, H] arrays (resourceEstimate.ts)
  const { T, H, I, topK: k } = p;
  const fmt = fc2InputFormat(p.quantMode);
  const { routing, rho, weightPlacement } = prep;
  const fc1Conv = prep.conventions.fc1Activation;
  const fc1Out = prep.conventions.fc1Output;
  const fc2Out = prep.conventions.fc2Output;
  /** Per-slot allowance of a declared bf16 FC2 output (bf16GemmOutputConvention.ts), else null. */
  const convY = fc2Out === 'bf16' ? new Float32Array(T * k * H) : null;
  const x = dequantizeHidden(c);
  const plan = planSlots(p, routing.ids);
  const y = new Float32Array(T * k * H);
  const absY = new Float32Array(T * k * H);
  const flipY = new Float32Array(T * k * H);
  const fragileTokens = new Uint8Array(T);
  const counts: FragilityCounts = { fragileElements: 0, fragileBlocks: 0 };
  const a = new Float32Array(I);
  const ahat = new Float32Array(I);
  const radius = new Float64Array(I);
  const delta = new Float64Array(I);
  const fragile: number[] = [];
  const parts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };
  const analyzer = new RowAnalyzer(fmt);
  let elements = 0;
  for (let l = 0; l < p.localExperts; l++) {
    const r0 = plan.start[l]!;
    const r1 = plan.start[l + 1]!;
    if (r0 === r1) continue;
    const w1 = dequantizeExpertWeights(c, 'fc1', l);
    const w2 = dequantizeExpertWeights(c, 'fc2', l);
    const ep = expertEpilogue(c, l);
    const o2s = ep.out2Scale;
    for (let rr = r0; rr < r1; rr++) {
      const row = plan.rows[rr]!;
      const t = Math.floor(row / k);
      const xo = t * H;
      const preWeight = weightPlacement === 'finalize' ? 1 : routing.weights[row]!;
      for (let i = 0; i < I; i++) {
        let accU = 0;
        let absU = 0;
        let accG = 0;
        let absG = 0;
        const ou = i * H;
        const og = (I + i) * H;
        for (let h = 0; h < H; h++) {
          const xv = x[xo + h]!;
          const pu = w1[ou + h]! * xv;
          const pg = w1[og + h]! * xv;
          accU += pu;
          absU += Math.abs(pu);
          accG += pg;
          absG += Math.abs(pg);
        }
        let r: number;
        let v: number;
        if (fc1Out === 'bf16') {
          // GEMM with bf16 output: both sides round their accumulators; the kernel's rounded
          // value lies within D of ours (bf16GemmOutputConvention.ts), which replaces ρ·S.
          const u32 = fl(accU);
          const g32 = fl(accG);
          v = swigluElement(roundBf16(u32), roundBf16(g32), preWeight, ep, parts);
          r = windowRadius(1, bf16RoundingSpread(u32, rho * absU), bf16RoundingSpread(g32, rho * absG), preWeight, ep, parts, v);
        } else {
          v = swigluElement(fl(accU), fl(accG), preWeight, ep, parts);
          r = windowRadius(rho, absU, absG, preWeight, ep, parts, v);
        }
        a[i] = fc1Activation(fc1Conv, v);
        radius[i] = fc1ActivationRadius(fc1Conv, v, r);
      }
      ahat.set(a);
      requantizeInPlace(fmt, ahat, 0, I);
      elements += I;
      fragile.length = 0;
      analyzer.analyze(a, ahat, 0, I, radius, 0, (i) => radius[i]!, (i, d) => {
        fragile.push(i);
        delta[i] = d;
      }, counts);
      if (fragile.length > 0) fragileTokens[t] = 1;
      const so = row * H;
      const ao2s = Math.abs(o2s);
      for (let h = 0; h < H; h++) {
        const wo = h * I;
        let acc = 0;
        let abs = 0;
        for (let i = 0; i < I; i++) {
          const pr = w2[wo + i]! * ahat[i]!;
          acc += pr;
          abs += Math.abs(pr);
        }
        let flip = 0;
        for (const i of fragile) flip += Math.abs(w2[wo + i]!) * delta[i]!;
        if (fc2Out === 'bf16') {
          // GEMM with bf16 output, then out2Scale: the kernel's rounded accumulator lies within
          // D of ours; D (which covers the accumulation window and the flips) is the allowance.
          const acc32 = fl(acc);
          y[so + h] = fl(roundBf16(acc32) * o2s);
          convY![so + h] = ao2s * bf16RoundingSpread(acc32, fc2AccumulatorWindow(I, abs, flip));
          flipY[so + h] = ao2s * flip;
        } else {
          y[so + h] = fl(fl(acc) * o2s);
          flipY[so + h] = ao2s * flip;
        }
        absY[so + h] = ao2s * abs;
      }
    }
  }
  const out = {
    outputF32: new Float32Array(T * H),
    absAccum: new Float32Array(T * H),
    flipAllowance: new Float32Array(T * H),
  };
  finalizeTokens(p, routing.ids, routing.weights, weightPlacement, { y, absY, flipY }, 0, T, out);
  const ex = expectedFrom(p, routing, out, fragileTokens, { elements, ...counts }, {
    precision: 'float64', backend: 'js-float64', threads: 1,
  });
  if (convY === null) return ex;
  // conventionBound[t,h] = Σ_j |w_j|·convY[t,j,h] over local slots (finalize's weights).
  const conventionBound = new Float32Array(T * H);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const row = t * k + j;
      const l = routing.ids[row]! - p.localOffset;
      if (l < 0 || l >= p.localExperts) continue;
      const aw = weightPlacement === 'finalize' ? Math.abs(routing.weights[row]!) : 1;
      for (let h = 0; h < H; h++) conventionBound[t * H + h] = conventionBound[t * H + h]! + aw * convY[row * H + h]!;
    }
  }
  return { ...ex, conventionBound };
}
