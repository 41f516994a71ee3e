/**
 * The WebAssembly analysis kernels (wasm/analysis.wat) against their JS twins: the same
 * bits for the exact FC1 absolute sums, FC2-input re-quantization (special values
 * included) and the prefilter's radius bounds and flags; and the prefilter's soundness:
 * a block it leaves unflagged is one where RowAnalyzer emits and counts nothing, whatever
 * the exact radii below the bounds are. Also: the committed module is what analysis.wat
 * assembles to.
 */
import { readFileSync } from 'node:fs';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { loadMatrixEngine } from '../backend.js';
import { swigluElement, type EpilogueParts, type ExpertEpilogue } from '../epilogue.js';
import { fc2InputBlock, RowAnalyzer, type FragilityCounts } from '../errorWindow.js';
import { F32_UNIT_ROUNDOFF } from '../formats/float.js';
import type { Fc2InputFormat } from '../problem.js';
import type { ScaleByteFormat } from '../checkCase.js';
import { jsAnalysisKernels } from './jsAnalysisKernels.js';
import { finalizeKernel } from './finalizeJob.js';
import { Wasm } from './wasmRuntime.js';
import type { EngineMatrix, MatrixEngine } from './matrixEngine.js';
import { runs } from '../../properties/runs.js';

let engine: Promise<MatrixEngine> | null = null;
const getEngine = () => (engine ??= loadMatrixEngine().then((e) => e.engine));

const f32 = Math.fround;
const bits = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A small deterministic generator (values spread over many binades, some special). */
function gen(seed: number) {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return {
    u,
    value(): number {
      const k = u();
      if (k < 0.05) return 0;
      if (k < 0.08) return -0;
      const sign = u() < 0.5 ? -1 : 1;
      if (k < 0.15) return sign * 2 ** (-140 + 20 * u()); // tiny and subnormal
      if (k < 0.2) return sign * 6 * 2 ** (-12 + 4 * u()); // around nvfp4's zero-scale edge
      return sign * 2 ** (-8 + 16 * u());
    },
  };
}

function fill(m: EngineMatrix, values: ArrayLike<number>): EngineMatrix {
  m.view().set(values);
  return m;
}

test('the committed analysisModule.ts is what analysis.wat assembles to', async (t) => {
  // @ts-expect-error: a plain JS build script without types
  const { assembleAnalysisModule, assembleFinalizeModule, moduleSource } = await import('./wasm/build.mjs');
  const want = moduleSource(await assembleAnalysisModule(), await assembleFinalizeModule()) as string;
  t.is(readFileSync(new URL('./wasm/analysisModule.ts', import.meta.url), 'utf8'), want,
    'stale: run node reference/fastpath/wasm/build.mjs and commit analysisModule.ts');
});

test('the wasm engine runs the SIMD analysis kernels here', async (t) => {
  const e = await getEngine();
  t.is(e.kernels.name, 'wasm-simd');
});

testProp('absDots: wasm lanes equal the JS sums bit for bit', [fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 6 }), fc.nat()], async (t, h4, rows, seed) => {
  const e = await getEngine();
  const g = gen(seed);
  const H = 4 * h4;
  const w = fill(e.alloc(rows, H), Array.from({ length: rows * H }, () => f32(g.value())));
  const x = fill(e.alloc(2, H), Array.from({ length: 2 * H }, () => f32(g.value())));
  const xRow = Math.floor(g.u() * 2);
  const uRow = Math.floor(g.u() * rows);
  const gRow = Math.floor(g.u() * rows);
  const got = new Float64Array(4);
  const want = new Float64Array(4);
  e.kernels.absDots(w, uRow, gRow, x, xRow, got);
  jsAnalysisKernels.absDots(w, uRow, gRow, x, xRow, want);
  t.deepEqual(bits(got), bits(want));
  w.dispose();
  x.dispose();
}, { numRuns: runs(60) });

testProp('requant: wasm equals requantizeInPlace bit for bit (NaN, infinities, zero and tiny blocks)', [
  fc.constantFrom<Fc2InputFormat>('nvfp4', 'mxfp8', 'bf16'), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 3 }), fc.nat(),
], async (t, fmt, blocks, offBlocks, seed) => {
  const e = await getEngine();
  const g = gen(seed);
  const B = Math.max(1, fc2InputBlock(fmt));
  const len = B * blocks;
  const off = B * offBlocks;
  const values = Array.from({ length: off + len }, () => f32(g.value()));
  for (let b = 0; b < blocks; b++) { // some special blocks
    const k = g.u();
    const at = off + b * B + Math.floor(g.u() * B);
    if (k < 0.08) values[at] = NaN;
    else if (k < 0.14) values[at] = g.u() < 0.5 ? Infinity : -Infinity;
    else if (k < 0.22) for (let i = 0; i < B; i++) values[off + b * B + i] = 0;
    else if (k < 0.3) for (let i = 0; i < B; i++) values[off + b * B + i] = f32(values[off + b * B + i]! * 2 ** -120);
  }
  const src = fill(e.alloc(1, off + len), values);
  const got = fill(e.alloc(1, off + len), new Float32Array(off + len).fill(7));
  const want = fill(e.alloc(1, off + len), new Float32Array(off + len).fill(7));
  e.kernels.requant(fmt, src, got, off, len);
  jsAnalysisKernels.requant(fmt, src, want, off, len);
  t.deepEqual(bits(got.view()), bits(want.view()));
  t.deepEqual(Array.from(src.view()).map(String), values.map(String), 'the source is not changed');
  [src, got, want].forEach((m) => m.dispose());
}, { numRuns: runs(80) });

const epilogueArb = fc.record({
  clamped: fc.boolean(),
  gateScale: fc.double({ min: 1e-3, max: 4, noNaN: true }),
  upScale: fc.double({ min: 1e-3, max: 4, noNaN: true }),
  alpha: fc.double({ min: 0.5, max: 2, noNaN: true }),
  beta: fc.double({ min: -1, max: 1, noNaN: true }),
  limit: fc.double({ min: 0.5, max: 10, noNaN: true }),
}).map(({ clamped, gateScale, upScale, alpha, beta, limit }): ExpertEpilogue => {
  const gs = f32(gateScale);
  const us = f32(upScale);
  if (!clamped) return { gateScale: gs, upScale: us, out2Scale: 1, alpha: 1, betaC: 0, limit: Infinity, limitC: Infinity, clamped: false };
  const ratio = f32(us / gs);
  return { gateScale: gs, upScale: us, out2Scale: 1, alpha: f32(alpha), betaC: f32(f32(beta) * ratio), limit: f32(limit), limitC: f32(f32(limit) * ratio), clamped: true };
});

testProp('prefilter: wasm radius bounds and flags equal the JS twin; unflagged blocks hold nothing for RowAnalyzer', [
  fc.constantFrom<Fc2InputFormat>('nvfp4', 'mxfp8', 'bf16'), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }),
  fc.constantFrom(1e-4, 4 * Math.sqrt(2048) * F32_UNIT_ROUNDOFF, 2e-3, 3e-2), fc.boolean(), epilogueArb, fc.nat(),
], async (t, fmt, n, rBlocks, rho, llama4, ep, seed) => {
  const e = await getEngine();
  const g = gen(seed);
  const B = fmt === 'bf16' ? 1 : fc2InputBlock(fmt);
  const R = (fmt === 'bf16' ? 16 : B) * rBlocks;
  const offTokens = 1; // the chunk sits after another chunk, as in the pipeline
  const off = offTokens * R;
  const total = off + n * R;
  const a = e.alloc(1, total), ahat = e.alloc(1, total);
  const gate = e.alloc(1, n * R), sig = e.alloc(1, n * R), lin = e.alloc(1, n * R);
  const pre = Float64Array.from({ length: n }, () => (llama4 ? f32(0.05 + g.u()) : 1));
  const xn = Float64Array.from({ length: n }, () => 0.5 + 4 * g.u());
  const norm = Float64Array.from({ length: 2 * R }, () => 0.1 + 2 * g.u());
  const parts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };
  const av = new Float32Array(total), gv = new Float32Array(n * R), sv = new Float32Array(n * R), lv = new Float32Array(n * R);
  for (let p = 0; p < n; p++) {
    for (let r = 0; r < R; r++) {
      const acc = () => f32((g.u() - 0.5) * 2 ** (-6 + 10 * g.u()));
      av[off + p * R + r] = swigluElement(acc(), acc(), pre[p]!, ep, parts);
      gv[p * R + r] = parts.gate;
      sv[p * R + r] = parts.sig;
      lv[p * R + r] = parts.lin;
    }
  }
  fill(a, av); fill(gate, gv); fill(sig, sv); fill(lin, lv);
  const chunk = { n, R, off, a, ahat, gate, sig, lin, norm, pre, xn, rho, ep };
  e.kernels.requant(fmt, a, ahat, off, n * R);
  const got = e.kernels.prefilter(fmt, chunk);
  const gotRadius = Float64Array.from(got.radius.subarray(0, n * R));
  const gotFlags = Uint8Array.from(got.flags.subarray(0, (n * R) / B));
  const want = jsAnalysisKernels.prefilter(fmt, chunk);
  t.deepEqual(bits(gotRadius), bits(want.radius.subarray(0, n * R)));
  t.deepEqual(Array.from(gotFlags), Array.from(want.flags.subarray(0, (n * R) / B)));
  // Soundness: an unflagged block asks for no exact radius and holds nothing, for exact
  // radii anywhere below the bounds.
  const analyzer = new RowAnalyzer(fmt);
  const av2 = a.view(), qv = ahat.view();
  for (let b = 0; b < gotFlags.length; b++) {
    if (gotFlags[b] !== 0) continue;
    const counts: FragilityCounts = { fragileElements: 0, fragileBlocks: 0 };
    let asked = 0;
    let emitted = 0;
    const frac = g.u();
    analyzer.analyze(av2, qv, off + b * B, B, gotRadius, b * B, (i) => { asked++; return gotRadius[b * B + i]! * frac; }, () => { emitted++; }, counts);
    t.is(emitted + counts.fragileElements + counts.fragileBlocks, 0, `block ${b} was left unflagged but holds fragile elements`);
    t.is(asked, 0, `block ${b} was left unflagged but RowAnalyzer asks for an exact radius there`);
  }
  [a, ahat, gate, sig, lin].forEach((m) => m.dispose());
}, { numRuns: runs(80) });

test('prefilter refuses a slice that was not re-quantized just before', async (t) => {
  const e = await getEngine();
  const m = () => e.alloc(1, 32);
  const ep: ExpertEpilogue = { gateScale: 1, upScale: 1, out2Scale: 1, alpha: 1, betaC: 0, limit: Infinity, limitC: Infinity, clamped: false };
  const a = m(), ahat = m();
  e.kernels.requant('nvfp4', a, ahat, 0, 16);
  t.throws(() => e.kernels.prefilter('nvfp4', {
    n: 1, R: 16, off: 16, a, ahat, gate: m(), sig: m(), lin: m(), norm: new Float64Array(32), pre: new Float64Array(1), xn: new Float64Array(1), rho: 0, ep,
  }), { message: /must follow requant of the same slice/ });
});

testProp('flips: wasm sparse flip allowance equals the JS twin bit for bit, and W2 gives what |W2| gives', [
  fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 5 }), fc.nat(),
], async (t, nh, I, groupsN, row0, seed) => {
  const e = await getEngine();
  const g = gen(seed);
  const signed = Array.from({ length: (row0 + nh) * I }, () => f32(g.value()));
  const w = fill(e.alloc(row0 + nh, I), signed);
  const aw = fill(e.alloc(row0 + nh, I), signed.map(Math.abs));
  const start = [0];
  const col: number[] = [];
  const coef: number[] = [];
  for (let k = 0; k < groupsN; k++) {
    const m = 1 + Math.floor(g.u() * 7);
    for (let j = 0; j < m; j++) {
      col.push(Math.floor(g.u() * I));
      coef.push(g.u() * 2 ** (-30 + 40 * g.u()));
    }
    start.push(col.length);
  }
  const groups = { count: groupsN, start: Int32Array.from(start), col: Int32Array.from(col), coef: Float64Array.from(coef) };
  const got = Float32Array.from(e.kernels.flips(w, row0, nh, groups));
  const want = Float32Array.from(jsAnalysisKernels.flips(w, row0, nh, groups));
  t.is(got.length, groupsN * nh);
  t.deepEqual(bits(got), bits(want));
  t.deepEqual(bits(Float32Array.from(e.kernels.flips(aw, row0, nh, groups))), bits(got), 'wasm: W2 and |W2| give the same bits');
  t.deepEqual(bits(Float32Array.from(jsAnalysisKernels.flips(aw, row0, nh, groups))), bits(want), 'JS: W2 and |W2| give the same bits');
  w.dispose();
  aw.dispose();
}, { numRuns: runs(60) });

testProp('transpose: wasm equals the JS twin bit for bit (copy with |·| copy, float32 scaling)', [
  fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom<'copy' | 'scale'>('copy', 'scale'), fc.boolean(),
  fc.integer({ min: 0, max: 5 }), fc.nat(),
], async (t, rows, cols, f, withAbs, off, seed) => {
  const e = await getEngine();
  const g = gen(seed);
  const src = fill(e.alloc(1, off + rows * cols), Array.from({ length: off + rows * cols }, () => f32(g.value())));
  const scale = f32(g.value());
  const out = () => fill(e.alloc(1, off + rows * cols), new Float32Array(off + rows * cols).fill(3));
  const [d1, d2, j1, j2] = [out(), out(), out(), out()];
  e.kernels.transpose({ src, srcOff: off, rows, cols, dst: d1, dstOff: off, abs: withAbs ? { dst: d2, off } : null, f, scale });
  jsAnalysisKernels.transpose({ src, srcOff: off, rows, cols, dst: j1, dstOff: off, abs: withAbs ? { dst: j2, off } : null, f, scale });
  t.deepEqual(bits(d1.view()), bits(j1.view()));
  t.deepEqual(bits(d2.view()), bits(j2.view()));
  const v = src.view();
  t.is(j1.view()[off + (cols - 1) * rows + (rows - 1)], f === 'copy' ? v[off + rows * cols - 1] : f32(v[off + rows * cols - 1]! * scale));
  [src, d1, d2, j1, j2].forEach((m) => m.dispose());
}, { numRuns: runs(60) });

test("the WebAssembly exp returns Math.exp's bits (V8's fdlibm port), also around its range edges", async (t) => {
  // @ts-expect-error: a plain JS build script without types
  const { assembleAnalysisModule } = await import('./wasm/build.mjs');
  const bytes = (await assembleAnalysisModule()) as Uint8Array;
  const mem = new Wasm.Memory({ initial: 1, maximum: 1, shared: false });
  const k = new Wasm.Instance(new Wasm.Module(bytes), { env: { mem } }).exports as unknown as {
    exp(x: number): number; exp2test(p: number): void;
  };
  const m = new Float64Array(mem.buffer);
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  const key = (x: number) => { f[0] = x; return Number.isNaN(x) ? 'NaN' : u[0]!.toString(16); };
  const g = gen(20261126);
  const xs: number[] = [0, -0, 1, -1, NaN, Infinity, -Infinity, 709.782712893384, -745.1332191019411, -708.4, 2 ** -28, 700, -700];
  for (const base of [0.5 * Math.LN2, 1.5 * Math.LN2, 2 ** -28, 1, 700, 709.782712893384, -708.3964185322641, -745.1332191019411]) {
    f[0] = base;
    const b0 = u[0]!;
    for (let d = -200n; d <= 200n; d++) {
      u[0] = b0 + d;
      xs.push(f[0]!, -f[0]!);
    }
  }
  for (let i = 0; i < 40000; i++) xs.push((g.u() - 0.5) * (g.u() < 0.5 ? 8 : 1500), Math.fround((g.u() - 0.5) * 60));
  let bad = 0;
  for (let i = 0; i + 1 < xs.length; i += 2) {
    const [x0, x1] = [xs[i]!, xs[i + 1]!];
    m[0] = x0;
    m[1] = x1;
    k.exp2test(0);
    for (const [x, got] of [[x0, k.exp(x0)], [x1, k.exp(x1)], [x0, m[0]!], [x1, m[1]!]] as const) {
      if (key(got) !== key(Math.exp(x)) && bad++ < 5) t.fail(`exp(${x}) = ${got}, Math.exp gives ${Math.exp(x)}`);
    }
  }
  t.is(bad, 0);
});

/** The bits of a float32 array with every NaN as +NaN (the sign of a NaN made by an
 * operation is the hardware's choice, in JS as in WebAssembly). */
const bitsNanCanonical = (a: Float32Array) => bits(Float32Array.from(a, (x) => (Number.isNaN(x) ? NaN : x)));

testProp('epilogue: wasm SwiGLU (and its parts) equals swigluElement bit for bit (NaN sign aside)', [
  fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), epilogueArb, fc.nat(),
], async (t, n, r4, withPre, ep, seed) => {
  const e = await getEngine();
  const g = gen(seed);
  const R = 4 * r4;
  const c = fill(e.alloc(2 * R, n), Array.from({ length: 2 * R * n }, () => {
    const k = g.u();
    return k < 0.03 ? 0 : k < 0.05 ? (g.u() < 0.5 ? Infinity : -Infinity) : k < 0.06 ? NaN : f32((g.u() - 0.5) * 2 ** (-20 + 40 * g.u()));
  }));
  const pre = withPre ? Float32Array.from({ length: n }, (_, p) => (p === 0 ? 1 : f32(g.u() * 2))) : null;
  const off = R; // the chunk after another one
  const mk = () => fill(e.alloc(1, off + n * R), new Float32Array(off + n * R).fill(5));
  const [aw, aj] = [mk(), mk()];
  const pw = [mk(), mk(), mk()] as const;
  const pj = [mk(), mk(), mk()] as const;
  e.kernels.epilogue(c, n, R, pre, aw, off, pw, ep);
  jsAnalysisKernels.epilogue(c, n, R, pre, aj, off, pj, ep);
  t.deepEqual(bitsNanCanonical(aw.view()), bitsNanCanonical(aj.view()));
  for (let i = 0; i < 3; i++) t.deepEqual(bitsNanCanonical(pw[i]!.view()), bitsNanCanonical(pj[i]!.view()));
  [c, aw, aj, ...pw, ...pj].forEach((m) => m.dispose());
}, { numRuns: runs(80) });

testProp('finalize kernel: slot sums in a shared memory equal finalize.ts\'s float32/float64 steps (NaN sign aside)', [
  fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.nat(),
], (t, slots, h4, outputOnly, seed) => {
  const g = gen(seed);
  const H = 4 * h4;
  const mem = new Wasm.Memory({ initial: 1, maximum: 65536, shared: true });
  const slot = finalizeKernel(mem);
  const f = new Float32Array(mem.buffer);
  const rows = Array.from({ length: slots }, () => [0, 1, 2].map(() => Float32Array.from({ length: H }, () => {
    const v = f32(g.value());
    return g.u() < 0.02 ? NaN : v;
  })));
  const ws = rows.map(() => f32(g.value()));
  // JS: finalize.ts's arithmetic
  const want = [new Float32Array(H), new Float32Array(H), new Float32Array(H)];
  rows.forEach(([y, ay, fy], j) => {
    const w = ws[j]!;
    for (let h = 0; h < H; h++) {
      want[0]![h] = f32(want[0]![h]! + f32(w * y![h]!));
      if (outputOnly) continue;
      want[1]![h] = want[1]![h]! + Math.abs(w) * ay![h]!;
      want[2]![h] = want[2]![h]! + Math.abs(w) * fy![h]!;
    }
  });
  // wasm: sums at 0, 1, 2 (·H floats), slot rows after them
  rows.forEach(([y, ay, fy], j) => {
    f.set(y!, (3 + 3 * j) * H);
    f.set(ay!, (4 + 3 * j) * H);
    f.set(fy!, (5 + 3 * j) * H);
    slot(0, 4 * H, 8 * H, 4 * (3 + 3 * j) * H, 4 * (4 + 3 * j) * H, 4 * (5 + 3 * j) * H, H, ws[j]!, Math.abs(ws[j]!), outputOnly ? 1 : 0, 1);
  });
  for (let i = 0; i < 3; i++) t.deepEqual(bitsNanCanonical(f.subarray(i * H, (i + 1) * H)), bitsNanCanonical(want[i]!));
}, { numRuns: runs(80) });

testProp('nanScan: wasm finds the first NaN scale byte as firstNanScale does (e4m3 and ue8m0, any alignment)', [
  fc.constantFrom<ScaleByteFormat>('e4m3', 'ue8m0'), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 7 }), fc.array(fc.nat(), { maxLength: 3 }), fc.nat(),
], async (t, format, len, start, nanAt, seed) => {
  const nvfp4 = format === 'e4m3';
  const e = await getEngine();
  const g = gen(seed);
  const buf = Uint8Array.from({ length: start + len }, () => {
    const b = Math.floor(g.u() * 256);
    return nvfp4 ? ((b & 0x7f) === 0x7f ? b - 1 : b) : Math.min(b, 254);
  });
  for (const i of nanAt) if (len > 0) buf[start + (i % len)] = nvfp4 ? (g.u() < 0.5 ? 0x7f : 0xff) : 0xff;
  const bytes = buf.subarray(start);
  t.is(e.kernels.nanScan(bytes, format), jsAnalysisKernels.nanScan(bytes, format));
  t.is(jsAnalysisKernels.nanScan(bytes, format), nanAt.length === 0 || len === 0 ? -1 : Math.min(...nanAt.map((i) => i % len)));
}, { numRuns: runs(100) });
