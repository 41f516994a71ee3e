/**
 * The re-quantization fragility analysis: planted boundaries in every FC2-input format,
 * the window radius against brute-force perturbation of the epilogue, and the prefilter
 * (radius bounds) never changing the answer.
 */
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { swigluElement, type EpilogueParts, type ExpertEpilogue } from './epilogue.js';
import { analyzeRow, fc2BlockScale, quantizeWithScale, windowRadius, type FragilityCounts } from './errorWindow.js';
import type { Fc2InputFormat } from './problem.js';
import { requantizeInPlace } from './quant/requantize.js';

function analyze(fmt: Fc2InputFormat, values: number[], radius: number | number[], bound?: number[]) {
  const a = Float32Array.from(values);
  const ahat = a.slice();
  requantizeInPlace(fmt, ahat, 0, a.length);
  const r = Float64Array.from(values, (_, i) => (Array.isArray(radius) ? radius[i]! : radius));
  const rb = bound === undefined ? r : Float64Array.from(bound);
  const counts: FragilityCounts = { fragileElements: 0, fragileBlocks: 0 };
  const emitted: Array<[number, number]> = [];
  let asked = 0;
  analyzeRow(fmt, a, ahat, 0, a.length, rb, (i) => { asked++; return r[i]!; }, (i, d) => emitted.push([i, d]), counts);
  return { counts, emitted, asked, ahat };
}

const block = (n: number, fill: (i: number) => number) => Array.from({ length: n }, (_, i) => fill(i));

test('nvfp4: an element on an e2m1 midpoint is fragile for any positive window, with Δ one step', (t) => {
  // amax 6 → scale e4m3(1) = 1; element 1 = 0.25 is the midpoint of 0 and 0.5 (ties to even: 0).
  const row = block(16, (i) => (i === 0 ? 6 : i === 1 ? 0.25 : 1));
  t.deepEqual(analyze('nvfp4', row, 0).emitted, []);
  const r = analyze('nvfp4', row, 1e-6);
  t.deepEqual(r.emitted, [[1, 0.5]]);
  t.deepEqual(r.counts, { fragileElements: 1, fragileBlocks: 0 });
  // A window far from every boundary: nothing, and no exact radius asked for.
  const calm = analyze('nvfp4', block(16, (i) => (i === 0 ? 6 : 2)), 1e-3);
  t.deepEqual(calm.emitted, []);
  t.is(calm.asked, 0);
});

test('nvfp4: an amax on a scale rounding boundary makes the whole block fragile', (t) => {
  // e4m3 values 1 and 1.125 around amax/6; amax/6 = 1.0625 is their midpoint (ties to even: 1).
  const amax = 6 * 1.0625;
  const row = block(16, (i) => (i === 0 ? amax : i === 1 ? 2.2 : 0));
  t.is(fc2BlockScale('nvfp4', amax), 1);
  const r = analyze('nvfp4', row, 1e-5);
  t.is(r.counts.fragileBlocks, 1);
  // Element 0 (6.375/1 → 6, or 6.375/1.125 = 5.67 → 6·1.125 = 6.75): Δ = 0.75.
  // Element 1 (2.2 → 2 with scale 1; 2.2/1.125 = 1.96 → 2·1.125 = 2.25): Δ = 0.25.
  const d = new Map(r.emitted);
  t.is(d.get(0), 6.75 - 6);
  t.is(d.get(1), 2.25 - 2);
  t.false(d.has(2), 'zeros stay zero under any scale');
});

test('mxfp8: amax on a power-of-two boundary of 448 makes the block fragile; e4m3 midpoints make elements fragile', (t) => {
  // amax 448 → scale 1; just above, scale 2. 3·2^-9 is an e4m3 subnormal with scale 1
  // (3·2^-9) but rounds to 2·2^-9·2 = 2^-7 with scale 2 (1.5 → 2, ties to even).
  const row = block(32, (i) => (i === 0 ? 448 : i === 1 ? 3 * 2 ** -9 : 0));
  t.is(fc2BlockScale('mxfp8', 448), 1);
  const r = analyze('mxfp8', row, block(32, (i) => (i === 0 ? 1e-3 : i === 1 ? 1e-7 : 0)));
  t.is(r.counts.fragileBlocks, 1);
  t.deepEqual(r.emitted, [[1, 2 ** -7 - 3 * 2 ** -9]], '448 itself stays 448 under both scales');
  // 1.0625 is the midpoint of e4m3 1 and 1.125; the amax 420 is far from a scale boundary.
  const mid = analyze('mxfp8', block(32, (i) => (i === 0 ? 420 : i === 1 ? 1.0625 : 0)), 1e-6);
  t.deepEqual(mid.emitted, [[1, 0.125]]);
  t.is(mid.counts.fragileBlocks, 0);
});

test('bf16: a bf16 midpoint is fragile, its neighbours are not', (t) => {
  const midpoint = 1 + 2 ** -8; // between 1 and 1 + 2^-7
  const r = analyze('bf16', [midpoint, 1 + 2 ** -7, 3], 1e-6);
  t.deepEqual(r.emitted, [[0, 2 ** -7]]);
  t.is(r.counts.fragileBlocks, 0);
});

const ep = (o: Partial<ExpertEpilogue>): ExpertEpilogue => ({
  gateScale: 1, upScale: 1, out2Scale: 1, alpha: 1, betaC: 0, limit: Infinity, limitC: Infinity, clamped: false, ...o,
});

testProp('the window radius covers every accumulator within ρ·S (brute force)', [
  fc.double({ min: -40, max: 40, noNaN: true }), fc.double({ min: -40, max: 40, noNaN: true }),
  fc.double({ min: 1, max: 200, noNaN: true }), fc.double({ min: 1, max: 200, noNaN: true }),
  fc.boolean(), fc.double({ min: 0.25, max: 4, noNaN: true }), fc.double({ min: 0.5, max: 2, noNaN: true }),
  fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: 0.5, max: 2, noNaN: true }),
], (t, accUp, accGate, sU, sG, clamped, alpha, limit, beta, pre) => {
  const rho = 1e-4;
  const e = clamped
    ? ep({ clamped: true, alpha: Math.fround(alpha), limit: Math.fround(limit), limitC: Math.fround(limit * 2), betaC: Math.fround(beta * 2), gateScale: 0.5, upScale: 1 })
    : ep({ gateScale: 0.5, upScale: 1 });
  const su = Math.max(sU, Math.abs(accUp));
  const sg = Math.max(sG, Math.abs(accGate));
  const parts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };
  const uf = Math.fround(accUp);
  const gf = Math.fround(accGate);
  const a = swigluElement(uf, gf, Math.fround(pre), e, parts);
  const r = windowRadius(rho, su, sg, Math.fround(pre), e, parts, a);
  for (const du of [-1, -0.5, 0, 0.5, 1]) {
    for (const dg of [-1, -0.3, 0, 0.3, 1]) {
      const a2 = swigluElement(Math.fround(uf + du * rho * su), Math.fround(gf + dg * rho * sg), Math.fround(pre), e);
      if (!(Math.abs(a2 - a) <= r)) t.fail(`a = ${a}, perturbed ${a2}, radius ${r}`);
    }
  }
  t.pass();
});

testProp('radius bounds (any looser ones) never change the analysis', [
  fc.constantFrom<Fc2InputFormat>('nvfp4', 'mxfp8', 'bf16'),
  fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: 32, maxLength: 32 }),
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
  fc.array(fc.double({ min: 1, max: 50, noNaN: true }), { minLength: 32, maxLength: 32 }),
  fc.integer({ min: -12, max: -2 }),
], (t, fmt, values, rel, loosen, exp) => {
  // Values on a coarse grid hit boundaries often; radii up to 2^exp.
  const v = values.map((x) => Math.round(x * 16) / 16);
  const r = rel.map((x) => x * 2 ** exp);
  const exact = analyze(fmt, v, r);
  const loose = analyze(fmt, v, r, r.map((x, i) => x * loosen[i]!));
  t.deepEqual(loose.emitted, exact.emitted);
  t.deepEqual(loose.counts, exact.counts);
  // Every emitted Δ is a positive move; a non-emitted element cannot move within its window.
  t.true(exact.emitted.every(([, d]) => d > 0 && Number.isFinite(d)));
  if (exact.counts.fragileBlocks === 0) {
    const em = new Set(exact.emitted.map(([i]) => i));
    const B = fmt === 'nvfp4' ? 16 : fmt === 'mxfp8' ? 32 : 1;
    for (let i = 0; i < v.length; i++) {
      if (em.has(i)) continue;
      let amax = 0;
      const b0 = i - (i % B);
      for (let j = b0; j < b0 + B; j++) amax = Math.max(amax, Math.abs(Math.fround(v[j]!)));
      const s = fc2BlockScale(fmt, amax);
      const q = exact.ahat[i]!;
      t.true(quantizeWithScale(fmt, Math.fround(v[i]!) - r[i]!, s) === q, `element ${i}`);
      t.true(quantizeWithScale(fmt, Math.fround(v[i]!) + r[i]!, s) === q, `element ${i}`);
    }
  }
});
