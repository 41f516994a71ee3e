/**
 * Properties of the CPU reference: routing laws, metamorphic relations of the
 * fused MoE (batch invariance, expert-parallel partition, expert relabelling), format
 * and layout round trips, and agreement of the float64 oracle with the float32 fast path.
 *
 * Sizes are `small` (properties/arbitraries/size.ts); run counts scale with env
 * MOE_HARNESS_RUNS (default 1).
 */
import { fc, testProp } from '@fast-check/ava';
import type { Case, CaseSpec } from '../reference/case.js';
import { f32ArrayToBf16 } from '../reference/formats/bf16.js';
import { generateCase, dequantizeHidden } from '../reference/generate.js';
import { runReference } from '../reference/moe.js';
import type { Problem } from '../reference/problem.js';
import { dequantizeMxfp4, quantizeMxfp4 } from '../reference/quant/mxfp4.js';
import { dequantizeMxfp8, quantizeMxfp8 } from '../reference/quant/mxfp8.js';
import { dequantizeNvfp4, quantizeNvfp4 } from '../reference/quant/nvfp4.js';
import { swizzledScaleOffset, swizzledScaleSize, swizzleScales128x4, unswizzleScales128x4 } from '../reference/quant/layout.js';
import { checkSelection } from '../reference/routing/checkSelection.js';
import { routeCase, routingMethod } from '../reference/routing/registry.js';
import { routingInputFromCase } from '../reference/routing/routingInput.js';
import { errorModel } from '../harness/errorModel.js';
import { caseSpecArb, defaultArbSize, logitFamilyArb, problemArb, scaleFamilyArb, type ProblemArbOptions } from './arbitraries/index.js';
import { runs } from './runs.js';
import { sliceExperts, sliceTokens } from './support/caseSlices.js';
import { expertPermutation } from './support/permutation.js';
import { permuteExperts } from './support/permuteExperts.js';
import { hasRoutingTies } from './support/routingTies.js';
import { F32_UNIT_ROUNDOFF as U, gamma } from '../reference/formats/float.js';

/** Size class from env MOE_HARNESS_SIZE (default small). */
const SMALL: ProblemArbOptions = { size: defaultArbSize() };
const fullRange = (p: Problem): Problem => ({ ...p, localOffset: 0, localExperts: p.E });

type Families = { logit?: Case['spec']['logitFamily'][]; scale?: Case['spec']['scaleFamily'][] };

/**
 * Case specs (shown as counterexamples; the predicate generates the case): `problem`
 * options or a problem arbitrary, families free unless restricted.
 */
function specArb(problem: ProblemArbOptions | fc.Arbitrary<Problem> = SMALL, families: Families = {}): fc.Arbitrary<CaseSpec> {
  return fc.record({
    problem: problem instanceof fc.Arbitrary ? problem : problemArb(problem),
    seed: fc.nat(),
    logitFamily: families.logit ? fc.constantFrom(...families.logit) : logitFamilyArb,
    scaleFamily: families.scale ? fc.constantFrom(...families.scale) : scaleFamilyArb,
  });
}

const rowsOf = (a: Float32Array | Int32Array | Uint16Array, width: number, t0: number, t1: number) =>
  Array.from(a.subarray(t0 * width, t1 * width));

// ---------------------------------------------------------------- formats and layouts

/** Canonical block encodings: every nonzero block holds a ±max element, zero blocks use the zero scale. */
const canonicalBlocks = (elementCodes: fc.Arbitrary<number>, maxCodes: [number, number], scaleCodes: fc.Arbitrary<number>,
  block: number, zeroScale: number) =>
  fc.record({
    rows: fc.integer({ min: 1, max: 3 }),
    blocksPerRow: fc.integer({ min: 1, max: 3 }),
    seed: fc.array(fc.tuple(fc.boolean(), scaleCodes, fc.nat({ max: block - 1 }), fc.boolean(),
      fc.array(elementCodes, { minLength: block, maxLength: block })), { minLength: 9, maxLength: 9 }),
  }).map(({ rows, blocksPerRow, seed }) => {
    const n = rows * blocksPerRow;
    const codes: number[] = [];
    const scales: number[] = [];
    for (let b = 0; b < n; b++) {
      const [zero, s, at, neg, els] = seed[b]!;
      if (zero) {
        codes.push(...new Array(block).fill(0));
        scales.push(zeroScale);
      } else {
        const blk = [...els];
        blk[at] = neg ? maxCodes[1] : maxCodes[0];
        codes.push(...blk);
        scales.push(s);
      }
    }
    return { rows, cols: blocksPerRow * block, codes, scales: Uint8Array.from(scales) };
  });

const packNibbles = (codes: number[]) => {
  const out = new Uint8Array(codes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = codes[2 * i]! | (codes[2 * i + 1]! << 4);
  return out;
};
// e2m1 codes without -0 (code 8), e4m3 codes without -0 (0x80) and NaN (0x7f, 0xff).
const e2m1Code = fc.integer({ min: 0, max: 15 }).filter((c) => c !== 8);
const e4m3Code = fc.integer({ min: 0, max: 0xfe }).filter((c) => c !== 0x80 && c !== 0x7f);

testProp('quantize ∘ dequantize is the identity on canonical NVFP4, MXFP4 and MXFP8 encodings (idempotent)', [
  canonicalBlocks(e2m1Code, [7, 15], fc.integer({ min: 1, max: 0x7e }), 16, 0),
  canonicalBlocks(e2m1Code, [7, 15], fc.integer({ min: 1, max: 250 }), 32, 0),
  canonicalBlocks(e4m3Code, [0x7e, 0xfe], fc.integer({ min: 1, max: 245 }), 32, 0),
], (t, nv, mx4, mx8) => {
  const nvPacked = packNibbles(nv.codes);
  const nvX = dequantizeNvfp4(nvPacked, nv.scales, nv.rows, nv.cols, 1);
  const nvQ = quantizeNvfp4(nvX, nv.rows, nv.cols, 1);
  t.deepEqual([nvQ.packed, nvQ.scales], [nvPacked, nv.scales], 'nvfp4');
  const mx4Packed = packNibbles(mx4.codes);
  const mx4Q = quantizeMxfp4(dequantizeMxfp4(mx4Packed, mx4.scales, mx4.rows, mx4.cols), mx4.rows, mx4.cols);
  t.deepEqual([mx4Q.packed, mx4Q.scales], [mx4Packed, mx4.scales], 'mxfp4');
  const mx8Data = Uint8Array.from(mx8.codes);
  const mx8Q = quantizeMxfp8(dequantizeMxfp8(mx8Data, mx8.scales, mx8.rows, mx8.cols), mx8.rows, mx8.cols);
  t.deepEqual([mx8Q.data, mx8Q.scales], [mx8Data, mx8.scales], 'mxfp8');
}, { numRuns: runs(100) });

testProp('128x4 swizzled and linear scale layouts round-trip; padding is zero', [
  fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 3 }), fc.nat(),
], (t, rows, cols, batch, seed) => {
  const linear = new Uint8Array(batch * rows * cols);
  for (let i = 0; i < linear.length; i++) linear[i] = 1 + ((seed + i * 2654435761) >>> 24) % 255; // never 0
  const swz = swizzleScales128x4(linear, rows, cols, batch);
  const size = swizzledScaleSize(rows, cols);
  t.is(swz.length, batch * size);
  t.deepEqual(unswizzleScales128x4(swz, rows, cols, batch), linear);
  const used = new Uint8Array(swz.length);
  for (let b = 0; b < batch; b++) {
    for (let m = 0; m < rows; m++) {
      for (let k = 0; k < cols; k++) {
        const at = b * size + swizzledScaleOffset(m, k, cols);
        if (swz[at] !== linear[(b * rows + m) * cols + k]) t.fail(`(b ${b}, m ${m}, k ${k}) not at offset ${at}`);
        used[at] = 1;
      }
    }
  }
  t.true(swz.every((v, i) => used[i] === 1 || v === 0), 'padding bytes are 0');
}, { numRuns: runs(60) });

// ---------------------------------------------------------------- routing laws

testProp('renormalize == renormalize_naive up to float32 rounding, on every logit family', [
  specArb({ ...SMALL, methods: ['renormalize'] }),
], (t, spec) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const naive: Case = { ...c, spec: { ...c.spec, problem: { ...p, routing: { method: 'renormalize_naive' } } } };
  const a = routeCase(c);
  const b = routeCase(naive);
  const k = p.topK;
  for (let i = 0; i < p.T * k; i++) {
    const x = a.weights[i]!;
    const y = b.weights[i]!;
    if (!(Math.abs(x - y) <= (k + 4) * U * Math.max(x, y) + 1e-37)) t.fail(`token ${Math.floor(i / k)} slot ${i % k}: ${x} vs ${y}`);
  }
  t.pass();
}, { numRuns: runs(60) });

/** A generated case's problem, routing, routing input and k. */
function routedCase(spec: CaseSpec) {
  const c = generateCase(spec);
  const p = c.spec.problem;
  return { p, r: routeCase(c), input: routingInputFromCase(c), k: p.topK };
}

testProp('weight sums: renormalize(_naive) 1, default <= 1, deepseek_v3 routedScalingFactor (unless every s is tiny), llama4 in [0, 1]', [
  specArb(SMALL),
], (t, spec) => {
  const { p, r, input, k } = routedCase(spec);
  const method = routingMethod(p.routing.method);
  const scale = Math.fround(p.routing.routedScalingFactor ?? 1);
  for (let tok = 0; tok < p.T; tok++) {
    const w = Array.from(r.weights.subarray(tok * k, (tok + 1) * k));
    const sum = w.reduce((x, y) => x + y, 0);
    const logits = Array.from(input.logits.subarray(tok * p.E, (tok + 1) * p.E));
    const anyValid = logits.some((x) => x > -Infinity && x < Infinity);
    const where = `token ${tok} (${p.routing.method}): weights [${w.join(', ')}]`;
    t.true(w.every(Number.isFinite), where);
    if (p.routing.method === 'renormalize' || p.routing.method === 'renormalize_naive') {
      t.true(anyValid ? Math.abs(sum - 1) <= (k + 4) * U : sum === 0, where);
    } else if (p.routing.method === 'default') {
      t.true(sum <= 1 + (p.E + 2) * U && w.every((x) => x >= 0), where);
    } else if (method.usesBias) {
      const s = Array.from(r.ids.subarray(tok * k, (tok + 1) * k), (e) => 1 / (1 + Math.exp(-input.logits[tok * p.E + e]!)));
      const sumS = s.reduce((x, y) => x + y, 0);
      t.true(sum <= scale * (1 + (k + 4) * 2 * U), where);
      if (sumS >= 1e-12) t.true(Math.abs(sum - scale) <= scale * (k + 4) * 2 * U, `${where}, Σs ${sumS}`);
    } else if (method.weightPlacement === 'before_fc1') {
      t.true(w.every((x) => x >= 0 && x <= 1), where);
    }
  }
}, { numRuns: runs(60) });

testProp('deepseek_v3 weights are s_e / (Σ s + 1e-20) · scale with the UNBIASED sigmoid, nonzero whenever s is', [
  specArb({ ...SMALL, methods: ['deepseek_v3'] }, { logit: ['tiny_sigmoid', 'normal', 'all_negative', 'ties', 'neg_inf'] }),
], (t, spec) => {
  const { p, r, input, k } = routedCase(spec);
  const scale = p.routing.routedScalingFactor ?? 1;
  for (let tok = 0; tok < p.T; tok++) {
    const s = Array.from(r.ids.subarray(tok * k, (tok + 1) * k), (e) => {
      const x = input.logits[tok * p.E + e]!;
      return x === -Infinity ? 0 : 1 / (1 + Math.exp(-x));
    });
    const denom = s.reduce((x, y) => x + y, 0) + 1e-20;
    for (let j = 0; j < k; j++) {
      const want = (scale * s[j]!) / denom;
      const got = r.weights[tok * k + j]!;
      const where = `token ${tok} slot ${j}: weight ${got}, want ${want} (s = ${s[j]})`;
      t.true(Math.abs(got - want) <= (k + 16) * U * Math.abs(want) + 2 ** -126, where);
      if (s[j]! > 1e-30) t.true(got !== 0, where);
    }
  }
}, { numRuns: runs(60) });

testProp("the reference's ids are a valid top-k of its own scores, best first, exact ties to the lower index", [specArb(SMALL)], (t, spec) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const r = routeCase(c);
  const verdicts = checkSelection(routingInputFromCase(c), r.ids, { relative: 0, absolute: 0 });
  t.deepEqual(verdicts.filter((v) => !v.ok), []);
  for (let tok = 0; tok < p.T; tok++) {
    for (let j = 1; j < p.topK; j++) {
      const a = r.ids[tok * p.topK + j - 1]!;
      const b = r.ids[tok * p.topK + j]!;
      const sa = r.selectionScores[tok * p.E + a]!;
      const sb = r.selectionScores[tok * p.E + b]!;
      t.true(sa > sb || (sa === sb && a < b), `token ${tok}: slot ${j - 1} expert ${a} (${sa}) before expert ${b} (${sb})`);
    }
  }
}, { numRuns: runs(60) });

testProp('NaN logits (some entries or whole rows) never give ids outside [0, E), and outputs stay finite', [
  specArb(SMALL, { logit: ['normal', 'all_negative', 'ties', 'neg_inf', 'tiny_sigmoid', 'uniform'] }),
  fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 6 }),
], async (t, spec, hits) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const logits = c.logits.slice();
  const nan = logits instanceof Uint16Array ? 0x7fc0 : NaN;
  for (const [tRaw, eRaw, wholeRow] of hits) {
    const tok = tRaw % p.T;
    if (wholeRow) logits.fill(nan, tok * p.E, (tok + 1) * p.E);
    else logits[tok * p.E + (eRaw % p.E)] = nan;
  }
  const ex = await runReference({ ...c, logits });
  t.true(ex.routing.ids.every((id) => id >= 0 && id < p.E), `ids ${ex.routing.ids.join(',')}`);
  t.true(ex.routing.weights.every(Number.isFinite));
  t.true(ex.outputF32.every(Number.isFinite));
}, { numRuns: runs(25) });

testProp('bf16 logits route exactly like the float32 logits they decode to', [
  specArb(problemArb(SMALL).map((p) => ({ ...p, logitsDtype: 'bfloat16' as const }))),
], (t, spec) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const decoded = routingInputFromCase(c).logits;
  const f32: Case = { ...c, logits: decoded, spec: { ...c.spec, problem: { ...p, logitsDtype: 'float32' } } };
  t.deepEqual(routeCase(f32), routeCase(c));
  t.deepEqual(f32ArrayToBf16(decoded), c.logits);
}, { numRuns: runs(40) });

// ---------------------------------------------------------------- the fused MoE

testProp('batch invariance: a token\'s output and routing do not depend on the other tokens', [
  specArb(problemArb(SMALL).filter((p) => p.T >= 2)), fc.nat(), fc.nat(), fc.constantFrom('float32' as const, 'float64' as const),
], async (t, spec, a, b, precision) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const t0 = a % p.T;
  const t1 = t0 + 1 + (b % (p.T - t0));
  const full = await runReference(c, { precision });
  const part = await runReference(sliceTokens(c, t0, t1), { precision });
  t.deepEqual(Array.from(part.routing.ids), rowsOf(full.routing.ids, p.topK, t0, t1));
  t.deepEqual(Array.from(part.routing.weights), rowsOf(full.routing.weights, p.topK, t0, t1));
  t.deepEqual(Array.from(part.outputF32), rowsOf(full.outputF32, p.H, t0, t1), `tokens [${t0}, ${t1}) of ${p.T}`);
}, { numRuns: runs(20) });

testProp('expert-parallel slices partition the output: their sum equals the full output within 2·γ(k+1)·absAccum', [
  specArb(problemArb(SMALL).map(fullRange)), fc.array(fc.nat(), { maxLength: 4 }),
], async (t, spec, cutsRaw) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const cuts = [...new Set([0, ...cutsRaw.map((x) => x % p.E), p.E])].sort((x, y) => x - y);
  const full = await runReference(c);
  const sum = new Float64Array(p.T * p.H);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const slice = await runReference(sliceExperts(c, cuts[i]!, cuts[i + 1]! - cuts[i]!));
    t.deepEqual(slice.routing.ids, full.routing.ids);
    slice.outputF32.forEach((v, j) => { sum[j] += v; });
  }
  const floor = 2 * (p.topK + 1) * 2 ** -149;
  for (let j = 0; j < sum.length; j++) {
    const bound = 2 * gamma(p.topK + 1) * full.absAccum[j]! + floor;
    // Equal values pass before the difference is taken: an output that overflowed to the same
    // infinity in the full run and in the slices' sum agrees (the difference would be NaN).
    if (!(sum[j] === full.outputF32[j] || Math.abs(sum[j]! - full.outputF32[j]!) <= bound)) {
      t.fail(`element ${j} (token ${Math.floor(j / p.H)}): slices sum to ${sum[j]}, full ${full.outputF32[j]}, bound ${bound}; cuts ${cuts}`);
    }
  }
  t.pass();
}, { numRuns: runs(15) });

testProp('relabelling the experts (logits, bias and weights together) changes nothing but the ids', [
  specArb(problemArb(SMALL).map(fullRange), { logit: ['normal', 'all_negative', 'neg_inf', 'tiny_sigmoid'] }), fc.nat(),
], async (t, spec, seed) => {
  const c = generateCase(spec);
  fc.pre(!hasRoutingTies(c));
  const p = c.spec.problem;
  const input = routingInputFromCase(c);
  const groupSize = routingMethod(p.routing.method).tokenScores(input, 0).groups?.size ?? null;
  const perm = expertPermutation(p.E, seed, groupSize);
  const a = await runReference(c);
  const b = await runReference(permuteExperts(c, perm));
  t.deepEqual(Array.from(b.routing.ids), Array.from(a.routing.ids, (e) => perm[e]!), `perm ${perm.join(',')}`);
  // Weights that sum over all E experts (a softmax denominator) are summed in expert
  // order, which the relabelling changes: they may move by a few ulps, and the output with
  // them. Every other weight, and then the output, must be bit-identical.
  const wTol = 2 * (p.E + 4) * U;
  let rel = 0;
  a.routing.weights.forEach((w, i) => {
    const d = Math.abs(w - b.routing.weights[i]!);
    rel = Math.max(rel, d === 0 ? 0 : d / Math.abs(w));
  });
  t.true(rel <= wTol, `weights moved by ${rel} relative (> ${wTol})`);
  if (rel === 0) {
    t.deepEqual(b.outputF32, a.outputF32);
    t.deepEqual(b.outputBf16, a.outputBf16);
    return;
  }
  for (let j = 0; j < a.outputF32.length; j++) {
    const bound = (rel + 2 * gamma(p.topK + 1)) * a.absAccum[j]! + 2 * (p.topK + 1) * 2 ** -149;
    if (!(Math.abs(a.outputF32[j]! - b.outputF32[j]!) <= bound)) t.fail(`element ${j}: ${a.outputF32[j]} vs ${b.outputF32[j]} (bound ${bound})`);
  }
}, { numRuns: runs(15) });

testProp('zero hidden states give an all-zero output', [specArb(SMALL, { scale: ['zero_hidden'] })], async (t, spec) => {
  const c = generateCase(spec);
  t.true(dequantizeHidden(c).every((x) => x === 0), 'the zero_hidden family has zero hidden states');
  const ex = await runReference(c);
  t.true(ex.outputF32.every((x) => x === 0));
  t.true(ex.outputBf16.every((b) => (b & 0x7fff) === 0));
}, { numRuns: runs(15) });

testProp('outputs are finite for every family (float32 and bf16) while routing weights are bounded', [specArb(SMALL)], async (t, spec) => {
  const c = generateCase(spec);
  const ex = await runReference(c);
  // topk's weights are the raw logits: with the `huge` family (|logit| up to 1e30) w·y may
  // overflow float32, which is then the right answer. Bounded weights must give finite output.
  fc.pre(ex.routing.weights.every((w) => Math.abs(w) <= 2 ** 20));
  const bad = ex.outputF32.findIndex((x) => !Number.isFinite(x));
  t.is(bad, -1, `outputF32[${bad}] = ${ex.outputF32[bad]} (${c.spec.logitFamily}/${c.spec.scaleFamily})`);
  t.true(ex.outputBf16.every((b) => (b & 0x7f80) !== 0x7f80), 'bf16 output has no Inf/NaN');
}, { numRuns: runs(30) });

testProp('the float64 oracle and the float32 fast path agree within 2·γ(I+k)·absAccum plus the flip allowance', [specArb(SMALL)], async (t, spec) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const fast = await runReference(c, { precision: 'float32' });
  const oracle = await runReference(c, { precision: 'float64' });
  t.deepEqual(fast.routing, oracle.routing);
  const model = errorModel(p);
  for (let j = 0; j < fast.outputF32.length; j++) {
    const bound = 2 * gamma(p.I + p.topK) * oracle.absAccum[j]! + oracle.flipAllowance[j]! + fast.flipAllowance[j]! + model.absoluteFloor;
    // The same overflow on both sides (topk's raw `huge` logits as weights: ±Inf is then the
    // right answer) agrees; Inf - Inf would be NaN.
    const same = fast.outputF32[j] === oracle.outputF32[j];
    const d = same ? 0 : Math.abs(fast.outputF32[j]! - oracle.outputF32[j]!);
    if (!(d <= bound)) t.fail(`element ${j}: fast ${fast.outputF32[j]}, oracle ${oracle.outputF32[j]}, |d| ${d} > ${bound}`);
  }
  t.pass();
}, { numRuns: runs(20) });

testProp('forcing the reference\'s own ids reproduces it bit for bit', [specArb(SMALL)], async (t, spec) => {
  const c = generateCase(spec);
  const a = await runReference(c);
  const b = await runReference(c, { forcedIds: Int32Array.from(a.routing.ids) });
  t.deepEqual(b.routing.weights, a.routing.weights);
  t.deepEqual(b.outputF32, a.outputF32);
}, { numRuns: runs(15) });

testProp('generation and the reference are deterministic', [caseSpecArb(SMALL)], async (t, spec) => {
  const c1 = generateCase(spec);
  const c2 = generateCase(structuredClone(spec));
  t.deepEqual(c1, c2);
  const [a, b] = [await runReference(c1), await runReference(c2)];
  t.deepEqual(a.outputF32, b.outputF32);
  t.deepEqual(a.routing, b.routing);
}, { numRuns: runs(15) });
