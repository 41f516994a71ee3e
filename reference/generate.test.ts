import test from 'ava';
import type { CaseSpec, LogitFamily, ScaleFamily } from './case.js';
import { caseDigest } from './caseDigest.js';
import { configProblem } from './configs.js';
import { BadArgumentError } from './errors.js';
import { bf16ArrayToF32, roundBf16 } from './formats/bf16.js';
import { E4M3_VALUES } from './formats/e4m3.js';
import { dequantizeHidden, dequantizeExpertWeights, generateCase } from './generate.js';
import { CODE_COUNTS } from './generate/weights.js';
import type { Problem } from './problem.js';
import { dequantizeMxfp4 } from './quant/mxfp4.js';
import { dequantizeMxfp8, quantizeMxfp8 } from './quant/mxfp8.js';
import { dequantizeNvfp4, nvfp4GlobalScale, quantizeNvfp4 } from './quant/nvfp4.js';
import { testProblem } from './testing/testProblem.js';

const base: Problem = testProblem({ T: 24, I: 32, E: 16, topK: 4, localExperts: 16 });
const deepseek: Problem = {
  ...base, E: 32, topK: 6, biasDtype: 'float32',
  routing: { method: 'deepseek_v3', nGroup: 8, topkGroup: 3, routedScalingFactor: 2.5 },
};
const spec = (problem: Problem, over: Partial<CaseSpec> = {}): CaseSpec =>
  ({ problem, seed: 7, logitFamily: 'normal', scaleFamily: 'normal', ...over });
const logitsOf = (c: ReturnType<typeof generateCase>): Float32Array =>
  c.logits instanceof Uint16Array ? bf16ArrayToF32(c.logits) : c.logits;
const rows = (a: Float32Array, E: number): Float32Array[] =>
  Array.from({ length: a.length / E }, (_, t) => a.subarray(t * E, (t + 1) * E));

test('same spec → identical bytes; another seed → different bytes', (t) => {
  const s = spec({ ...base, quantMode: 'mxfp4_mxfp8' });
  t.is(caseDigest(generateCase(s)), caseDigest(generateCase(s)));
  t.not(caseDigest(generateCase(s)), caseDigest(generateCase({ ...s, seed: 8 })));
});

test('pinned sha256 of small cases (a change of the generator must be deliberate)', (t) => {
  // If this fails after an intended change of generation, update the digests and say so.
  const pinned: Array<[CaseSpec, string]> = [
    [spec(base), 'e2ea94b76b14c7912ffb6f01b428c1cf3c73b5827b43028ce60e25a08850a3da'],
    [spec({ ...deepseek, logitsDtype: 'bfloat16', biasDtype: 'bfloat16', quantMode: 'mxfp4_mxfp8', activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }, { logitFamily: 'neg_inf', scaleFamily: 'zero_blocks' }), '990123d5a18246bf7ddbc2eb9c338d2a38f5942a14b3b7de0e6cb6dec69851d2'],
    [spec({ ...base, quantMode: 'mxfp4_bf16' }, { seed: 123, logitFamily: 'huge', scaleFamily: 'decades' }), '9728acdf76e78ba405ee1d9c5282ba347c099a3f7808824f24ec173090fd82b9'],
  ];
  for (const [s, digest] of pinned) t.is(caseDigest(generateCase(s)), digest, JSON.stringify(s));
});

test('tensor shapes and dtypes follow SPEC §1 for every quant mode', (t) => {
  for (const quantMode of ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'] as const) {
    const p = { ...base, quantMode, localOffset: 4, localExperts: 6 };
    const c = generateCase(spec(p));
    const sf = quantMode === 'nvfp4' ? 16 : 32;
    t.is(c.logits.length, p.T * p.E);
    t.is(c.bias, null);
    t.is(c.fc1.packed.byteLength, 6 * 2 * p.I * p.H / 2);
    t.is(c.fc1.scales.byteLength, 6 * 2 * p.I * p.H / sf);
    t.is(c.fc2.packed.byteLength, 6 * p.H * p.I / 2);
    t.is(c.fc2.scales.byteLength, 6 * p.H * p.I / sf);
    t.is(c.out1Scale.length, 6);
    t.is(c.hidden.format, quantMode === 'nvfp4' ? 'nvfp4' : quantMode === 'mxfp4_mxfp8' ? 'mxfp8' : 'bf16');
    t.is(dequantizeHidden(c).length, p.T * p.H);
    t.is(c.swiglu, null);
  }
});

test('NVFP4 output scalars: 1/(a·w1), c/(a·w1), 1/(c·w2) in float32; MX modes all 1 and c = 1', (t) => {
  const c = generateCase(spec(base));
  if (c.hidden.format !== 'nvfp4') return t.fail();
  const a = c.hidden.globalScale;
  const cc = c.fc2InputGlobalScale;
  t.true(cc > 0 && Number.isFinite(cc) && cc !== 1);
  for (let l = 0; l < base.localExperts; l++) {
    const w1 = c.fc1.globalScale[l]!;
    const w2 = c.fc2.globalScale[l]!;
    t.is(c.out1GateScale[l], Math.fround(1 / (a * w1)));
    t.is(c.out1Scale[l], Math.fround(cc / (a * w1)));
    t.is(c.out2Scale[l], Math.fround(1 / (cc * w2)));
  }
  for (const quantMode of ['mxfp4_mxfp8', 'mxfp4_bf16'] as const) {
    const m = generateCase(spec({ ...base, quantMode }));
    t.is(m.fc2InputGlobalScale, 1);
    for (const arr of [m.out1Scale, m.out1GateScale, m.out2Scale, m.fc1.globalScale, m.fc2.globalScale]) t.true(arr.every((x) => x === 1));
  }
});

test('dequantize helpers equal the block dequantizers in q·s units', (t) => {
  const n = generateCase(spec(base));
  if (n.hidden.format !== 'nvfp4') return t.fail();
  t.deepEqual(dequantizeHidden(n), dequantizeNvfp4(n.hidden.packed, n.hidden.scales, base.T, base.H, 1));
  const per1 = 2 * base.I * base.H;
  t.deepEqual(dequantizeExpertWeights(n, 'fc1', 3), dequantizeNvfp4(n.fc1.packed.toContiguous().subarray(3 * per1 / 2, 4 * per1 / 2), n.fc1.scales.toContiguous().subarray(3 * per1 / 16, 4 * per1 / 16), 2 * base.I, base.H, 1));
  const m = generateCase(spec({ ...base, quantMode: 'mxfp4_mxfp8' }));
  if (m.hidden.format !== 'mxfp8') return t.fail();
  t.deepEqual(dequantizeHidden(m), dequantizeMxfp8(m.hidden.data, m.hidden.scales, base.T, base.H));
  const per2 = base.H * base.I;
  t.deepEqual(dequantizeExpertWeights(m, 'fc2', 2), dequantizeMxfp4(m.fc2.packed.toContiguous().subarray(2 * per2 / 2, 3 * per2 / 2), m.fc2.scales.toContiguous().subarray(2 * per2 / 32, 3 * per2 / 32), base.H, base.I));
  t.is(t.throws(() => dequantizeExpertWeights(m, 'fc2', 16), { instanceOf: BadArgumentError })?.argument, 'l');
});

test('hidden states are the real quantizers\' output: re-quantizing their dequantized values reproduces them', (t) => {
  const n = generateCase(spec(base));
  if (n.hidden.format !== 'nvfp4') return t.fail();
  const { T, H } = base;
  const a = n.hidden.globalScale;
  t.is(a, nvfp4GlobalScale(Math.max(...Array.from(dequantizeNvfp4(n.hidden.packed, n.hidden.scales, T, H, a), Math.abs))));
  const again = quantizeNvfp4(dequantizeNvfp4(n.hidden.packed, n.hidden.scales, T, H, a), T, H, a);
  t.deepEqual(again.scales, n.hidden.scales);
  t.deepEqual(again.packed, n.hidden.packed);
  const m = generateCase(spec({ ...base, quantMode: 'mxfp4_mxfp8' }));
  if (m.hidden.format !== 'mxfp8') return t.fail();
  const xm = dequantizeHidden(m);
  const qm = quantizeMxfp8(xm, T, H);
  t.deepEqual(dequantizeMxfp8(qm.data, qm.scales, T, H), xm);
  for (let b = 0; b < m.hidden.scales.length; b++) {
    let qmax = 0;
    for (let i = 0; i < 32; i++) qmax = Math.max(qmax, Math.abs(E4M3_VALUES[m.hidden.data[b * 32 + i]!]!));
    t.true(qmax >= 224 || m.hidden.scales[b] === 0, 'each block\'s maximum sits in the top binade');
  }
});

test('an expert-parallel slice holds the same experts, logits, hidden states and c as the full problem', (t) => {
  for (const quantMode of ['nvfp4', 'mxfp4_mxfp8'] as const) {
    const full = generateCase(spec({ ...base, quantMode, activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }));
    const part = generateCase(spec({ ...base, quantMode, localOffset: 5, localExperts: 7, activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }));
    const per1 = (2 * base.I * base.H) / 2;
    t.deepEqual(part.fc1.packed.toContiguous(), full.fc1.packed.toContiguous().subarray(5 * per1, 12 * per1));
    t.deepEqual(part.fc2.globalScale, full.fc2.globalScale.subarray(5, 12));
    t.deepEqual(part.out2Scale, full.out2Scale.subarray(5, 12));
    t.deepEqual(part.swiglu?.alpha, full.swiglu?.alpha.subarray(5, 12));
    t.deepEqual(part.logits, full.logits);
    t.deepEqual(part.hidden, full.hidden);
    t.is(part.fc2InputGlobalScale, full.fc2InputGlobalScale);
  }
});

test('weights: codes follow the bell-shaped table, NVFP4 scales lie in the 32…448 band', (t) => {
  const c = generateCase(spec({ ...base, H: 256, I: 128, E: 4, localExperts: 4 }));
  const counts = new Array(8).fill(0);
  for (const b of c.fc1.packed.toContiguous()) { counts[b & 7]++; counts[(b >> 4) & 7]++; }
  const total = c.fc1.packed.toContiguous().length * 2;
  for (let m = 0; m < 8; m++) t.true(Math.abs(counts[m] / total - CODE_COUNTS[m]! / 128) < 0.01, `magnitude code ${m}`);
  for (const s of c.fc1.scales.toContiguous()) t.true(E4M3_VALUES[s]! >= 32 && E4M3_VALUES[s]! <= 448);
});

test('swiglu_clamped: per-expert arrays within ±4% of the base values, different per expert', (t) => {
  const c = generateCase(spec({ ...base, activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }));
  const sw = c.swiglu!;
  for (const [arr, v] of [[sw.alpha, 1.702], [sw.beta, 1], [sw.limit, 7]] as const) {
    t.is(arr.length, base.localExperts);
    for (const x of arr) t.true(Math.abs(x / v - 1) <= 0.0401);
    t.true(new Set(arr).size > base.localExperts / 2);
  }
});

// ---- logit families ----

const family = (logitFamily: LogitFamily, p: Problem = base, over: Partial<CaseSpec> = {}) => generateCase(spec(p, { logitFamily, ...over }));

test('ties: at most 3 distinct values and many rows tie at the top-k boundary; bf16 keeps the ties', (t) => {
  for (const logitsDtype of ['float32', 'bfloat16'] as const) {
    const c = family('ties', { ...base, T: 64, logitsDtype });
    const l = logitsOf(c);
    t.true(new Set(l).size <= 3);
    let tiedRows = 0;
    for (const r of rows(l, base.E)) {
      const s = Array.from(r).sort((a, b) => b - a);
      if (s[base.topK - 1] === s[base.topK]) tiedRows++;
    }
    t.true(tiedRows > 32, `${tiedRows} of 64 rows tie at the boundary`);
  }
});

test('all_negative: every logit < 0 (float32 and bf16)', (t) => {
  for (const logitsDtype of ['float32', 'bfloat16'] as const) t.true(logitsOf(family('all_negative', { ...base, logitsDtype })).every((x) => x < 0));
});

test('huge: finite magnitudes from 1e4 to about 1e30, both signs', (t) => {
  for (const logitsDtype of ['float32', 'bfloat16'] as const) {
    const l = logitsOf(family('huge', { ...base, logitsDtype }));
    t.true(l.every((x) => Number.isFinite(x) && Math.abs(x) >= 1e4 && Math.abs(x) < 2e30));
    t.true(l.some((x) => x < 0) && l.some((x) => x > 1e25));
  }
});

test('tiny_sigmoid: logits in [-25, -18] (sigmoid 1e-11…1e-8) and biases in [5, 12]', (t) => {
  const c = family('tiny_sigmoid', deepseek);
  t.true(logitsOf(c).every((x) => x >= -25 && x <= -18));
  t.true((c.bias as Float32Array).every((b) => b >= 5 && b <= 12));
});

test('neg_inf: some -inf, at least topK finite per row (some rows exactly topK); deepseek groups keep enough', (t) => {
  const c = family('neg_inf', { ...base, T: 64 });
  let exact = 0;
  let inf = 0;
  for (const r of rows(logitsOf(c), base.E)) {
    const finite = r.filter(Number.isFinite).length;
    t.true(finite >= base.topK);
    if (finite === base.topK) exact++;
    inf += r.filter((x) => x === -Infinity).length;
    t.false(r.some((x) => Number.isNaN(x) || x === Infinity));
  }
  t.true(inf > 0 && exact > 0);
  // DeepSeek: E 32 in 8 groups of 4, topkGroup 3, k 6 → every group keeps >= max(2, ceil(6/3)) = 2 finite.
  const d = family('neg_inf', { ...deepseek, T: 64, logitsDtype: 'bfloat16' });
  for (const r of rows(logitsOf(d), deepseek.E)) {
    for (let g = 0; g < 8; g++) t.true(r.subarray(4 * g, 4 * g + 4).filter(Number.isFinite).length >= 2);
  }
});

test('uniform: every logit of a row equal; bias uniform', (t) => {
  const c = family('uniform', deepseek);
  for (const r of rows(logitsOf(c), deepseek.E)) t.true(r.every((x) => x === r[0]));
  t.is(new Set(c.bias as Float32Array).size, 1);
});

test('bias exists exactly when biasDtype is not none; bf16 bias is the rounded float32 bias', (t) => {
  const f = family('normal', deepseek);
  const b = family('normal', { ...deepseek, biasDtype: 'bfloat16' });
  t.true(f.bias instanceof Float32Array);
  t.true(b.bias instanceof Uint16Array);
  t.deepEqual(Array.from(bf16ArrayToF32(b.bias as Uint16Array)), Array.from(f.bias as Float32Array, roundBf16));
  const l = family('normal', { ...deepseek, logitsDtype: 'bfloat16' });
  t.true(l.logits instanceof Uint16Array);
  t.deepEqual(Array.from(logitsOf(l)), Array.from(f.logits as Float32Array, roundBf16));
});

// ---- scale families ----

const scales = (scaleFamily: ScaleFamily, p: Problem = base) => generateCase(spec(p, { scaleFamily }));

test('zero_hidden: all hidden zero (scales 0, codes 0, a = 1) and c = 1', (t) => {
  const c = scales('zero_hidden');
  if (c.hidden.format !== 'nvfp4') return t.fail();
  t.true(c.hidden.packed.every((b) => b === 0) && c.hidden.scales.every((b) => b === 0));
  t.is(c.hidden.globalScale, 1);
  t.is(c.fc2InputGlobalScale, 1);
  const m = scales('zero_hidden', { ...base, quantMode: 'mxfp4_bf16' });
  t.true(dequantizeHidden(m).every((x) => x === 0));
});

test('zero_expert: exactly one local expert is all zero with global scale 1, and it is routed to', (t) => {
  for (const quantMode of ['nvfp4', 'mxfp4_mxfp8'] as const) {
    const p = { ...base, quantMode };
    const c = scales('zero_expert', p);
    const per1 = p.I * p.H; // packed bytes of one FC1 expert
    const zero: number[] = [];
    for (let l = 0; l < p.localExperts; l++) {
      if (c.fc1.packed.toContiguous().subarray(l * per1, (l + 1) * per1).every((b) => b === 0)) zero.push(l);
    }
    t.is(zero.length, 1);
    const z = zero[0]!;
    t.true(c.fc2.scales.toContiguous().subarray(z * p.H * p.I / (quantMode === 'nvfp4' ? 16 : 32), (z + 1) * p.H * p.I / (quantMode === 'nvfp4' ? 16 : 32)).every((b) => b === 0));
    t.is(c.fc1.globalScale[z], 1);
    t.true(dequantizeExpertWeights(c, 'fc2', z).every((x) => x === 0));
    const l = logitsOf(c);
    t.true(rows(l, p.E).some((r) => r.indexOf(Math.max(...r)) === z), 'some token has it as top-1');
  }
});

test('zero_blocks: all-zero blocks (scale 0, codes 0) in hidden states and weights', (t) => {
  const c = scales('zero_blocks');
  if (c.hidden.format !== 'nvfp4') return t.fail();
  const zeroScale = (s: Uint8Array, packed: Uint8Array, bytes: number) => {
    let n = 0;
    for (let b = 0; b < s.length; b++) {
      if (s[b] === 0) {
        n++;
        if (!packed.subarray(b * bytes, (b + 1) * bytes).every((x) => x === 0)) return -1;
      }
    }
    return n;
  };
  t.true(zeroScale(c.hidden.scales, c.hidden.packed, 8) > 0);
  t.true(zeroScale(c.fc1.scales.toContiguous(), c.fc1.packed.toContiguous(), 8) > 0);
  t.true(zeroScale(c.fc2.scales.toContiguous(), c.fc2.packed.toContiguous(), 8) > 0);
  const m = scales('zero_blocks', { ...base, quantMode: 'mxfp4_mxfp8' });
  t.true(zeroScale(m.fc1.scales.toContiguous(), m.fc1.packed.toContiguous(), 16) > 0);
  if (m.hidden.format !== 'mxfp8') return t.fail();
  t.true(dequantizeHidden(m).subarray(0, 32).every((x) => x === 0), 'token 0 block 0 is zero');
});

test('decades: per-token magnitudes and expert global scales spread over several decades', (t) => {
  const p = { ...base, T: 64, E: 32, localExperts: 32 };
  const c = scales('decades', p);
  if (c.hidden.format !== 'nvfp4') return t.fail();
  const x = dequantizeHidden(c);
  const amax: number[] = [];
  for (let tk = 0; tk < p.T; tk++) amax.push(Math.max(...Array.from(x.subarray(tk * p.H, (tk + 1) * p.H), Math.abs)));
  const nz = amax.filter((a) => a > 0);
  t.true(Math.max(...nz) / Math.min(...nz) > 1e3, 'token magnitudes span > 3 decades (after NVFP4 flushing)');
  const w = Array.from(c.fc1.globalScale);
  t.true(Math.max(...w) / Math.min(...w) > 1e3, 'expert global scales span > 3 decades');
  const n = scales('normal', p);
  const wn = Array.from(n.fc1.globalScale);
  t.true(Math.max(...wn) / Math.min(...wn) < 8);
  const m = scales('decades', { ...p, quantMode: 'mxfp4_bf16' });
  const codes = Array.from(m.fc1.scales.toContiguous()).filter((s) => s > 0);
  t.true(Math.max(...codes) - Math.min(...codes) >= 12, 'MX scale bands shifted by many binades');
});

// ---- validation ----

test('bad specs throw BadArgumentError naming the field, expected and actual', (t) => {
  const cases: Array<[Partial<Problem> | Partial<CaseSpec>, string, boolean]> = [
    [{ H: 72 }, 'spec.problem.H', true], // nvfp4 needs 16 | H? 72 = 4.5·16
    [{ I: 40 }, 'spec.problem.I', true],
    [{ topK: 17 }, 'spec.problem.topK', true],
    [{ T: 0 }, 'spec.problem.T', true],
    [{ localOffset: 16 }, 'spec.problem.localOffset', true],
    [{ localOffset: 10, localExperts: 7 }, 'spec.problem.localExperts', true],
    [{ quantMode: 'fp8' as 'nvfp4' }, 'spec.problem.quantMode', true],
    [{ seed: -1 }, 'spec.seed', false],
    [{ seed: 1.5 }, 'spec.seed', false],
    [{ logitFamily: 'gaussian' as LogitFamily }, 'spec.logitFamily', false],
    [{ scaleFamily: 'big' as ScaleFamily }, 'spec.scaleFamily', false],
  ];
  for (const [over, arg, inProblem] of cases) {
    const s = inProblem ? spec({ ...base, ...(over as Partial<Problem>) }) : { ...spec(base), ...(over as Partial<CaseSpec>) };
    const err = t.throws(() => generateCase(s), { instanceOf: BadArgumentError }, arg);
    t.is(err?.argument, arg);
    t.regex(err!.message, /expected .+, got .+/);
  }
  // MX modes need H and I multiples of 32.
  const err = t.throws(() => generateCase(spec({ ...base, H: 48, quantMode: 'mxfp4_bf16' })), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'spec.problem.H');
  t.regex(err!.message, /multiple of 32/);
});

test('a standard configuration generates (deepseek-lite shape, T = 4, two local experts)', (t) => {
  const p = configProblem('deepseek-lite', 4, { localOffset: 70, localExperts: 2 });
  const c = generateCase(spec(p, { logitFamily: 'tiny_sigmoid' }));
  t.is(c.fc1.packed.byteLength, 2 * 2 * p.I * p.H / 2);
  t.true(c.bias instanceof Float32Array);
});
