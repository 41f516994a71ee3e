/**
 * The reference MoE on hand-built cases whose answer follows from obvious formulas, in
 * both precisions (float64 oracle and float32 fast path), plus its contract edges:
 * zero hidden states, expert-parallel slices, forced routing, llama4's weight on the
 * input, clamped SwiGLU with the c factor, planted re-quantization fragility, and the
 * error messages for malformed cases and options.
 */
import test from 'ava';
import type { Case, CaseSpec } from './case.js';
import { encodeE2m1 } from './formats/e2m1.js';
import { encodeE4m3, decodeE4m3 } from './formats/e4m3.js';
import { f32ArrayToBf16, bf16ToF32 } from './formats/bf16.js';
import { generateCase } from './generate.js';
import { runReference, shutdownReference, type ReferenceOptions } from './moe.js';
import type { Expected } from './expected.js';
import type { ActivationConfig, Problem, QuantMode, RoutingConfig } from './problem.js';
import { weightBlock } from './problem.js';
import { configProblem } from './configs.js';
import { runFast } from './fastpath/runFast.js';
import { F32_UNIT_ROUNDOFF as U, gamma } from './formats/float.js';
import { testProblem } from './testing/testProblem.js';
import { ExpertBytes } from './expertBytes.js';

const PRECISIONS = ['float64', 'float32'] as const;

test.after.always(() => shutdownReference());

// ------------------------------------------------------------------ hand-built cases

/** Pack values that are exactly e2m1 · s for each block's scale s (throws otherwise). */
function packExact(values: Float64Array, rows: number, cols: number, block: number, nvfp4: boolean): { packed: Uint8Array; scales: Uint8Array } {
  const packed = new Uint8Array((rows * cols) / 2);
  const scales = new Uint8Array((rows * cols) / block);
  for (let b = 0; b < (rows * cols) / block; b++) {
    let amax = 0;
    for (let j = 0; j < block; j++) amax = Math.max(amax, Math.abs(values[b * block + j]!));
    // A power-of-two scale with amax/s in (3, 6] (exact in e4m3 and ue8m0).
    const s = amax === 0 ? 1 : 2 ** Math.ceil(Math.log2(amax / 6));
    scales[b] = nvfp4 ? encodeE4m3(s) : Math.log2(s) + 127;
    for (let j = 0; j < block; j++) {
      const v = values[b * block + j]! / s;
      const code = encodeE2m1(v);
      const e = b * block + j;
      if (Math.abs(v) > 6 || Math.abs((code & 8 ? -1 : 1) * [0, 0.5, 1, 1.5, 2, 3, 4, 6][code & 7]! - v) > 0) {
        throw new Error(`value ${values[e]} is not e2m1·${s}`);
      }
      packed[e >> 1]! |= code << ((e & 1) * 4);
    }
  }
  return { packed, scales };
}

interface HandSpec {
  mode: QuantMode;
  T: number;
  H: number;
  I: number;
  E: number;
  k: number;
  routing: RoutingConfig;
  activation?: ActivationConfig;
  x: Float64Array; // [T, H], exactly representable in the hidden format
  w1: Float64Array[]; // per expert [2I, H] (rows 0..I-1 up, I..2I-1 gate)
  w2: Float64Array[]; // per expert [H, I]
  logits: Float32Array; // [T, E]
  out1Scale?: number[];
  out1GateScale?: number[];
  out2Scale?: number[];
  swiglu?: { alpha: number[]; beta: number[]; limit: number[] };
}

function handCase(s: HandSpec): Case {
  const { T, H, I, E } = s;
  const problem: Problem = testProblem({ T, H, I, E, topK: s.k, localExperts: E, routing: s.routing, quantMode: s.mode, activation: s.activation ?? { kind: 'swiglu' } });
  const nv = s.mode === 'nvfp4';
  const sf = weightBlock(s.mode);
  const weights = (ws: Float64Array[], rows: number, cols: number) => {
    const packed = new Uint8Array((E * rows * cols) / 2);
    const scales = new Uint8Array((E * rows * cols) / sf);
    ws.forEach((w, e) => {
      const q = packExact(w, rows, cols, sf, nv);
      packed.set(q.packed, (e * rows * cols) / 2);
      scales.set(q.scales, (e * rows * cols) / sf);
    });
    return { packed: ExpertBytes.fromContiguous(packed, E), scales: ExpertBytes.fromContiguous(scales, E), globalScale: new Float32Array(E).fill(1) };
  };
  let hidden: Case['hidden'];
  if (s.mode === 'nvfp4') {
    const q = packExact(s.x, T, H, 16, true);
    hidden = { format: 'nvfp4', packed: q.packed, scales: q.scales, globalScale: 1 };
  } else if (s.mode === 'mxfp4_bf16') {
    hidden = { format: 'bf16', data: f32ArrayToBf16(Float32Array.from(s.x)) };
    if (!Float32Array.from(s.x).every((v, i) => bf16ToF32(hidden.format === 'bf16' ? hidden.data[i]! : 0) === v)) throw new Error('x not bf16');
  } else {
    // MXFP8 with scale 1 (code 127): x must be e4m3 values.
    const data = new Uint8Array(T * H);
    for (let i = 0; i < T * H; i++) {
      data[i] = encodeE4m3(s.x[i]!);
      if (decodeE4m3(data[i]!) !== s.x[i]) throw new Error('x not e4m3');
    }
    hidden = { format: 'mxfp8', data, scales: new Uint8Array((T * H) / 32).fill(127) };
  }
  const arr = (v: number[] | undefined) => Float32Array.from(v ?? new Array<number>(E).fill(1));
  const spec: CaseSpec = { problem, seed: 0, logitFamily: 'normal', scaleFamily: 'normal' };
  return {
    spec, logits: s.logits, bias: null, hidden,
    fc1: weights(s.w1, 2 * I, H), fc2: weights(s.w2, H, I),
    out1Scale: arr(s.out1Scale), out1GateScale: arr(s.out1GateScale), out2Scale: arr(s.out2Scale),
    fc2InputGlobalScale: 1,
    swiglu: s.swiglu === undefined ? null : {
      alpha: Float32Array.from(s.swiglu.alpha), beta: Float32Array.from(s.swiglu.beta), limit: Float32Array.from(s.swiglu.limit),
    },
  };
}

/** FC1 with up row i = u·e_i and gate row i = g·e_i (I = H): acc_up = u·x_i, acc_gate = g·x_i. */
function diagonalFc1(H: number, u: number, g: number): Float64Array {
  const w = new Float64Array(2 * H * H);
  for (let i = 0; i < H; i++) {
    w[i * H + i] = u;
    w[(H + i) * H + i] = g;
  }
  return w;
}

function diagonal(H: number, v: number): Float64Array {
  const w = new Float64Array(H * H);
  for (let i = 0; i < H; i++) w[i * H + i] = v;
  return w;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Token t picks expert chooser(t) (logit 4, the others 0). */
function oneHotLogits(T: number, E: number, chooser: (t: number) => number): Float32Array {
  const l = new Float32Array(T * E);
  for (let t = 0; t < T; t++) l[t * E + chooser(t)] = 4;
  return l;
}

/** Compare against a formula: within `rel` relative plus a tiny absolute floor. */
function near(t: import('ava').ExecutionContext, ex: Expected, want: (tok: number, h: number) => number, rel: number, label: string): void {
  const { T, H } = ex.problem;
  let bad = '';
  for (let tok = 0; tok < T && bad === ''; tok++) {
    for (let h = 0; h < H; h++) {
      const got = ex.outputF32[tok * H + h]!;
      const w = want(tok, h);
      if (!(Math.abs(got - w) <= rel * Math.abs(w) + 1e-30)) {
        bad = `${label}: out[${tok},${h}] = ${got}, formula ${w}`;
        break;
      }
      if (ex.outputBf16[tok * H + h] !== f32ArrayToBf16(Float32Array.of(got))[0]) bad = `${label}: bf16 of out[${tok},${h}]`;
    }
  }
  t.is(bad, '');
}

const H32 = 32;
/** x[t,h] = (h - 16)/8 + t/4: exact in bf16 and e4m3. */
const xGrid = (T: number, H: number) => Float64Array.from({ length: T * H }, (_, i) => ((i % H) - 16) / 8 + Math.floor(i / H) / 4);

function twoExpertBf16(routing: RoutingConfig, logits?: Float32Array): HandSpec {
  const T = 4;
  return {
    mode: 'mxfp4_bf16', T, H: H32, I: H32, E: 2, k: 1, routing,
    x: xGrid(T, H32),
    // expert 0: up = x, gate = 2x, FC2 = identity; expert 1: up = 2x, gate = x, FC2 = -identity.
    w1: [diagonalFc1(H32, 1, 2), diagonalFc1(H32, 2, 1)],
    w2: [diagonal(H32, 1), diagonal(H32, -1)],
    logits: logits ?? oneHotLogits(T, 2, (tok) => tok % 2),
  };
}

const expert0 = (x: number) => 2 * x * sigmoid(2 * x) * x;
const expert1 = (x: number) => -(x * sigmoid(x) * 2 * x);

for (const precision of PRECISIONS) {
  test(`${precision}: hand case, bf16 activations, two experts, identity FC2 (a = silu(g·x)·u·x)`, async (t) => {
    const spec = twoExpertBf16({ method: 'renormalize' });
    const ex = await runReference(handCase(spec), { precision });
    t.deepEqual(Array.from(ex.routing.ids), [0, 1, 0, 1]);
    t.deepEqual(Array.from(ex.routing.weights), [1, 1, 1, 1]);
    // bf16 re-quantization of a (2^-9 relative) and float32 steps.
    near(t, ex, (tok, h) => (tok % 2 === 0 ? expert0 : expert1)(spec.x[tok * H32 + h]!), 2 ** -8, precision);
    t.is(ex.provenance.precision, precision);
  });

  test(`${precision}: llama4 multiplies the token by sigmoid(logit) before FC1; finalize uses 1`, async (t) => {
    const logits = new Float32Array([0.5, -1, -2, 1.5, 0.25, 0, -3, 3]); // T=4, E=2
    const spec = twoExpertBf16({ method: 'llama4' }, logits);
    const ex = await runReference(handCase(spec), { precision });
    const ids = [0, 1, 0, 1];
    t.deepEqual(Array.from(ex.routing.ids), ids);
    near(t, ex, (tok, h) => {
      const w = sigmoid(logits[tok * 2 + ids[tok]!]!);
      // Both accumulators scaled by w: (w·x) through the expert.
      return (ids[tok] === 0 ? expert0 : expert1)(w * spec.x[tok * H32 + h]!);
    }, 2 ** -8, precision);
  });

  test(`${precision}: clamped SwiGLU with c = out1Scale/out1GateScale (gate clamp L, up clamp ±L·c, beta·c)`, async (t) => {
    const T = 4;
    const x = Float64Array.from({ length: T * H32 }, (_, i) => ((i % H32) - 16) / 4 + Math.floor(i / H32) / 8);
    const alpha = 1.5, beta = 0.5, L = 1, gs = 0.5, us = 2; // c = 4
    const spec: HandSpec = {
      mode: 'mxfp4_bf16', T, H: H32, I: H32, E: 2, k: 1, routing: { method: 'renormalize' },
      activation: { kind: 'swiglu_clamped', alpha, beta, limit: L },
      x, w1: [diagonalFc1(H32, 1, 2), diagonalFc1(H32, 1, 2)], w2: [diagonal(H32, 1), diagonal(H32, 1)],
      logits: oneHotLogits(T, 2, () => 0),
      out1Scale: [us, us], out1GateScale: [gs, gs], swiglu: { alpha: [alpha, alpha], beta: [beta, beta], limit: [L, L] },
    };
    const ex = await runReference(handCase(spec), { precision });
    const c = us / gs;
    let clampedGate = 0, clampedUp = 0;
    near(t, ex, (tok, h) => {
      const xv = x[tok * H32 + h]!;
      const gate = Math.min(2 * xv * gs, L);
      const up = Math.max(-L * c, Math.min(L * c, xv * us));
      if (2 * xv * gs > L) clampedGate++;
      if (Math.abs(xv * us) > L * c) clampedUp++;
      return gate * sigmoid(alpha * gate) * (up + beta * c);
    }, 2 ** -8, precision);
    t.true(clampedGate > 0 && clampedUp > 0, 'the case exercises both clamps');
  });

  test(`${precision}: forcedIds replace the routing and the output follows`, async (t) => {
    const spec = twoExpertBf16({ method: 'renormalize' });
    const c = handCase(spec);
    const forced = Int32Array.from([1, 0, 1, 0]);
    const ex = await runReference(c, { precision, forcedIds: forced });
    t.deepEqual(Array.from(ex.routing.ids), [1, 0, 1, 0]);
    near(t, ex, (tok, h) => (tok % 2 === 0 ? expert1 : expert0)(spec.x[tok * H32 + h]!), 2 ** -8, precision);
    const plain = await runReference(c, { precision });
    t.notDeepEqual(ex.outputF32, plain.outputF32);
  });

  test(`${precision}: NVFP4 hand case: scales, c-free plain SwiGLU, out2Scale, and a planted fragile element`, async (t) => {
    // One token, I = H = 32. Gate rows: acc = 4·4 = 16, out1GateScale 2 → gate 32,
    // sigmoid(32) rounds to 1, so a = 32·accUp·(1/32) = accUp exactly.
    // accUp: element 0 = 1.5·4 = 6 (block scale e4m3(6/6) = 1), element 1 = 0.5·0.5 = 0.25:
    // exactly the e2m1 midpoint between 0 and 0.5 (ties to even: 0) — fragile for any window.
    const H = 32, I = 32;
    const x = new Float64Array(H);
    x[0] = 4; x[1] = 0.5; x[2] = 4; x[3] = 6; // x[3] = 6 gives the hidden block scale 1
    const w1 = new Float64Array(2 * I * H);
    w1[0 * H + 0] = 1.5; // up 0 = 6
    w1[1 * H + 1] = 0.5; // up 1 = 0.25
    w1[(I + 0) * H + 2] = 4; // gate 0 = 16
    w1[(I + 1) * H + 2] = 4; // gate 1 = 16
    const spec: HandSpec = {
      mode: 'nvfp4', T: 1, H, I, E: 1, k: 1, routing: { method: 'topk' }, x, w1: [w1], w2: [diagonal(H, 1)],
      logits: new Float32Array([2]), out1GateScale: [2], out1Scale: [1 / 32], out2Scale: [0.5],
    };
    const c = handCase(spec);
    const ex = await runReference(c, { precision });
    const want = new Float32Array(H);
    want[0] = 2 * 0.5 * 6; // routing weight (topk: the raw logit 2) · out2Scale · â_0
    t.deepEqual(Array.from(ex.outputF32), Array.from(want));
    t.is(ex.requant.elements, I);
    t.is(ex.requant.fragileElements, 1);
    t.is(ex.requant.fragileBlocks, 0);
    t.deepEqual(Array.from(ex.fragileTokens), [1]);
    // Δ = 0.5 (the other side of the midpoint) times |w·out2Scale·W2[h,1]| = 2·0.5·1 at h = 1 only.
    const flip = new Float32Array(H);
    flip[1] = 0.5;
    t.deepEqual(Array.from(ex.flipAllowance), Array.from(flip));
    // absAccum = |w|·|out2Scale|·Σ_i |W2[h,i]·â_i|.
    t.is(ex.absAccum[0], 6);
  });

  test(`${precision}: no fragile element → zero flip allowance`, async (t) => {
    const ex = await runReference(handCase(twoExpertBf16({ method: 'renormalize' })), { precision, fc1RelativeError: 0 });
    t.is(ex.requant.fragileElements, 0);
    t.true(ex.flipAllowance.every((v) => v === 0));
    t.true(ex.fragileTokens.every((v) => v === 0));
  });

  test(`${precision}: zero hidden states give zero output, absAccum and flip allowance (every quant mode)`, async (t) => {
    for (const quantMode of ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'] as const) {
      const problem: Problem = testProblem({ T: 3, I: 32, E: 4, localExperts: 4, quantMode });
      const ex = await runReference(generateCase({ problem, seed: 7, logitFamily: 'normal', scaleFamily: 'zero_hidden' }), { precision });
      t.true(ex.outputF32.every((v) => v === 0), quantMode);
      t.true(ex.outputBf16.every((v) => (v & 0x7fff) === 0), quantMode);
      t.true(ex.absAccum.every((v) => v === 0), quantMode);
      t.true(ex.flipAllowance.every((v) => v === 0), quantMode);
    }
  });
}

// ------------------------------------------------------------------ expert-parallel slices

function sliceExperts(c: Case, off: number, n: number): Case {
  const p = c.spec.problem;
  const sf = weightBlock(p.quantMode);
  const n1 = 2 * p.I * p.H;
  const n2 = p.H * p.I;
  const w = (x: Case['fc1'], per: number) => ({
    packed: ExpertBytes.fromExperts(x.packed.experts().slice(off, off + n)),
    scales: ExpertBytes.fromExperts(x.scales.experts().slice(off, off + n)),
    globalScale: x.globalScale.slice(off, off + n),
  });
  const s = (a: Float32Array) => a.slice(off, off + n);
  return {
    ...c,
    spec: { ...c.spec, problem: { ...p, localOffset: off, localExperts: n } },
    fc1: w(c.fc1, n1), fc2: w(c.fc2, n2),
    out1Scale: s(c.out1Scale), out1GateScale: s(c.out1GateScale), out2Scale: s(c.out2Scale),
    swiglu: c.swiglu === null ? null : { alpha: s(c.swiglu.alpha), beta: s(c.swiglu.beta), limit: s(c.swiglu.limit) },
  };
}

test('expert-parallel slices sum to the full output (within the slot-order rounding 2·γ(k)·absAccum)', async (t) => {
  const problem: Problem = testProblem({ T: 5, topK: 3, routing: { method: 'default' } });
  const c = generateCase({ problem, seed: 3, logitFamily: 'normal', scaleFamily: 'normal' });
  for (const precision of PRECISIONS) {
    const full = await runReference(c, { precision });
    const parts = await Promise.all([[0, 3], [3, 1], [4, 4]].map(([o, n]) => runReference(sliceExperts(c, o!, n!), { precision })));
    let worst = 0;
    for (let j = 0; j < full.outputF32.length; j++) {
      const sum = parts.reduce((s, e) => s + e.outputF32[j]!, 0);
      const bound = 2 * gamma(problem.topK) * full.absAccum[j]! + 1e-30;
      worst = Math.max(worst, Math.abs(sum - full.outputF32[j]!) / bound);
    }
    t.true(worst <= 1, `${precision}: worst |Σ slices - full| / bound = ${worst}`);
    // A slice contributes exactly 0 to the tokens that chose none of its experts.
    let zeroRows = 0;
    for (let tok = 0; tok < problem.T; tok++) {
      const ids = Array.from(full.routing.ids.subarray(tok * 3, tok * 3 + 3));
      if (ids.includes(3)) continue;
      zeroRows++;
      t.true(parts[1]!.outputF32.subarray(tok * 64, (tok + 1) * 64).every((v) => v === 0), `token ${tok}`);
    }
    t.true(zeroRows > 0 && zeroRows < problem.T, 'the case has tokens with and without expert 3');
  }
});

// ------------------------------------------------------------------ malformed input

test('malformed cases and options are rejected naming the field, the expected and the actual value', async (t) => {
  const good = handCase(twoExpertBf16({ method: 'renormalize' }));
  const bad = async (c: Case, opts: ReferenceOptions, pattern: RegExp) => {
    for (const precision of PRECISIONS) {
      await t.throwsAsync(runReference(c, { ...opts, precision }), { name: 'BadArgumentError', message: pattern });
    }
  };
  await bad({ ...good, fc1: { ...good.fc1, packed: ExpertBytes.fromContiguous(good.fc1.packed.toContiguous().subarray(1), 1) } }, {},
    /^case\.fc1\.packed: expected ExpertBytes of 2 experts × 1024 bytes.*got 1 experts × 2047 bytes/);
  await bad({ ...good, fc1: { ...good.fc1, packed: good.fc1.packed.toContiguous() as unknown as ExpertBytes } }, {},
    /^case\.fc1\.packed: expected ExpertBytes of 2 experts × 1024 bytes.*got Uint8Array\(2048\)/);
  await bad({ ...good, fc2: { ...good.fc2, scales: ExpertBytes.fromContiguous(new Uint8Array(good.fc2.scales.byteLength).fill(255), good.fc2.scales.count) } }, {},
    /^case\.fc2\.scales\[0\]: expected a non-NaN ue8m0 scale byte, got 0xff/);
  await bad({ ...good, hidden: { format: 'mxfp8', data: new Uint8Array(128), scales: new Uint8Array(4) } }, {},
    /^case\.hidden\.format: expected 'bf16' \(quantMode mxfp4_bf16\), got "mxfp8"/);
  await bad({ ...good, out2Scale: Float32Array.of(1, NaN) }, {}, /^case\.out2Scale\[1\]: expected a finite number, got NaN/);
  await bad({ ...good, swiglu: { alpha: new Float32Array(2), beta: new Float32Array(2), limit: new Float32Array(2) } }, {},
    /^case\.swiglu: expected null \(activation 'swiglu'\)/);
  await bad(good, { forcedIds: Int32Array.of(0, 1, 2, 0) }, /^forcedIds\[2\]: expected an expert id in \[0, 2\), got 2/);
  await bad(good, { forcedIds: Int32Array.of(0, 1) }, /^forcedIds: expected Int32Array\(4\)/);
  await bad(good, { fc1RelativeError: -1 }, /^opts\.fc1RelativeError: expected a finite number >= 0, got -1/);
  await bad(good, { threads: 0 }, /^opts\.threads: expected an integer >= 1, got 0/);
  const p = good.spec.problem;
  await bad({ ...good, spec: { ...good.spec, problem: { ...p, I: 48 } } }, {}, /^problem\.I: expected a multiple of 32 \(mxfp4_bf16 block\), got 48/);
  await t.throwsAsync(runReference(good, { precision: 'float16' as 'float32' }), { message: /^opts\.precision: expected 'float32' or 'float64', got "float16"/ });
});

test('NaN weight scales are found by the fast path\'s worker scan (any task, fc1 before fc2, before routing errors) as checkCase finds them', async (t) => {
  const problem = configProblem('qwen3-30b-a3b', 4, { E: 8, localExperts: 8, H: 1024, I: 256 });
  const c = generateCase({ problem, seed: 5, logitFamily: 'normal', scaleFamily: 'normal' });
  // One expert per chunk: the scans run per chunk, and the indices reported are global.
  const withNan = (fc1: number[], fc2: number[]): Case => {
    const s1 = c.fc1.scales.relayout({ chunkBytes: c.fc1.scales.bytesPerExpert });
    const s2 = c.fc2.scales.relayout({ chunkBytes: c.fc2.scales.bytesPerExpert });
    for (const i of fc1) s1.setAt(i, 0xff);
    for (const i of fc2) s2.setAt(i, 0x7f);
    return { ...c, fc1: { ...c.fc1, scales: s1 }, fc2: { ...c.fc2, scales: s2 } };
  };
  t.true(c.fc1.scales.byteLength > 2 * 65536, 'the scales span several scan tasks');
  t.true(c.fc1.scales.bytesPerExpert < 70001 && c.fc2.scales.bytesPerExpert < 65536, 'the NaN bytes below lie past the first chunk');
  const n1 = c.fc1.scales.byteLength;
  const cases: Array<[number[], number[], RegExp]> = [
    [[n1 - 1, 70001], [5], /^case\.fc1\.scales\[70001\]: expected a non-NaN e4m3 scale byte, got 0xff/],
    [[], [c.fc2.scales.byteLength - 3, 65536], /^case\.fc2\.scales\[65536\]: expected a non-NaN e4m3 scale byte, got 0x7f/],
  ];
  for (const [fc1, fc2, message] of cases) {
    for (const precision of PRECISIONS) {
      await t.throwsAsync(runReference(withNan(fc1, fc2), { precision }), { name: 'BadArgumentError', message }, precision);
    }
  }
  // A NaN scale is reported before a bad option or a routing error (checkCase runs first).
  for (const precision of PRECISIONS) {
    await t.throwsAsync(runReference(withNan([9], []), { precision, forcedIds: Int32Array.from({ length: 32 }, () => 99) }),
      { message: /^case\.fc1\.scales\[9\]/ }, precision);
    await t.throwsAsync(runReference(withNan([], [7]), { precision, fc1RelativeError: -1 }), { message: /^case\.fc2\.scales\[7\]/ }, precision);
  }
  await t.notThrowsAsync(runReference(c, { precision: 'float32' }));
});

test('float32: absAccum by block products equals the |W2|·|Â|ᵀ GEMM within γ(I); every other result bit for bit', async (t) => {
  const problems = [
    configProblem('qwen3-30b-a3b', 24, { E: 8, localExperts: 8, H: 256, I: 512 }),
    configProblem('deepseek-v3', 9, {
      E: 16, localExperts: 16, H: 128, I: 64, topK: 4, routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 },
    }),
    { ...configProblem('llama4-maverick', 11, { E: 8, localExperts: 4, localOffset: 4, H: 96, I: 48 }), quantMode: 'nvfp4' as const },
  ];
  for (const [i, problem] of problems.entries()) {
    const c = generateCase({ problem: { ...problem, quantMode: 'nvfp4' }, seed: 21 + i, logitFamily: 'normal', scaleFamily: 'decades' });
    const opts = { precision: 'float32' as const, fc1RelativeError: 1e-5 };
    const phases: Record<string, number>[] = [];
    const blocks = await runFast(c, opts, (info) => phases.push(info.stats.phases));
    const gemm = await runFast(c, { ...opts, fastPath: { absAccum: 'gemm' } }, (info) => phases.push(info.stats.phases));
    t.true((phases[0]!.absAccum ?? 0) > 0 && phases[1]!.absAccum === undefined, `${problem.name}: the block products ran, then the GEMM alone`);
    for (const key of ['outputF32', 'flipAllowance', 'fragileTokens', 'outputBf16'] as const) {
      t.deepEqual(Buffer.from(blocks[key].buffer, blocks[key].byteOffset, blocks[key].byteLength),
        Buffer.from(gemm[key].buffer, gemm[key].byteOffset, gemm[key].byteLength), `${problem.name} ${key}`);
    }
    // Each is within γ(I) of the exact sum per slot (then the same finalize): 2·γ(I + k + 2) apart at most.
    // (Often equal: sums of these short products are frequently exact in float32.)
    const n = problem.I + problem.topK + 2;
    const rel = (2 * n * U) / (1 - n * U);
    for (let j = 0; j < blocks.absAccum.length; j++) {
      const a = blocks.absAccum[j]!;
      const b = gemm.absAccum[j]!;
      if (!(Math.abs(a - b) <= rel * Math.max(a, b) + 2 ** -140)) t.fail(`${problem.name}: absAccum[${j}]: blocks ${a}, gemm ${b} (relative bound ${rel})`);
    }
  }
});

test('float32: the JS finalize (slot rows in plain shared memory) equals the WebAssembly finalize bit for bit', async (t) => {
  const problem = configProblem('qwen3-30b-a3b', 16, { E: 8, localExperts: 8, H: 256, I: 128 });
  for (const quantMode of ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'] as const) {
    const c = generateCase({ problem: { ...problem, quantMode }, seed: 11, logitFamily: 'normal', scaleFamily: 'normal' });
    const other = generateCase({ problem: { ...problem, quantMode }, seed: 12, logitFamily: 'normal', scaleFamily: 'normal' });
    const opts = { precision: 'float32' as const, fc1RelativeError: 1e-6 }; // some slot rows with flips, some without
    const wasm = await runReference(c, opts);
    const sab = { fastPath: { slotMemory: 'sab' as const } };
    await runReference(other, { precision: 'float32', fc1RelativeError: 3e-2, ...sab }); // leaves flip rows in the scratch
    const js = await runReference(c, { ...opts, ...sab });
    const withFlip = Array.from(wasm.fragileTokens).filter((f) => f === 1).length;
    // (bf16 re-quantization makes nearly every element fragile: the dense path writes every row)
    if (quantMode !== 'mxfp4_bf16') {
      t.true(withFlip > 0 && withFlip < problem.T, `${quantMode}: tokens with and without fragile elements (${withFlip} of ${problem.T})`);
    }
    for (const key of ['outputF32', 'absAccum', 'flipAllowance', 'fragileTokens', 'outputBf16'] as const) {
      t.deepEqual(Buffer.from(js[key].buffer, js[key].byteOffset, js[key].byteLength),
        Buffer.from(wasm[key].buffer, wasm[key].byteOffset, wasm[key].byteLength), `${quantMode} ${key}`);
    }
  }
});

test('shutdownReference from a second caller waits for the runs in flight (two benches or tests in one process)', async (t) => {
  const problem = configProblem('qwen3-30b-a3b', 16, { E: 32, localExperts: 32 });
  const c = generateCase({ problem, seed: 11, logitFamily: 'normal', scaleFamily: 'normal' });
  const alone = await runReference(c, { precision: 'float32' });
  // A shutdown from elsewhere while a run is inside the pool (several delays, so one lands
  // mid-run on any machine), then a run queued after it (which starts a new pool).
  for (const delayMs of [0, 5, 20, 60]) {
    const run = runReference(c, { precision: 'float32' });
    await new Promise((r) => setTimeout(r, delayMs));
    const down = shutdownReference();
    const after = runReference(c, { precision: 'float32' });
    const [r1, r2] = await Promise.all([run, after]);
    await down;
    t.deepEqual(r1.outputF32, alone.outputF32, `run in flight, shutdown after ${delayMs} ms`);
    t.deepEqual(r2.outputF32, alone.outputF32, `run after the shutdown (${delayMs} ms)`);
  }
});
