/**
 * Malformed arguments must come back as errors naming the argument (BadArgumentError /
 * UnsupportedProblemError), never crash the process, never reach the GPU. Checked through
 * the public API (TypeScript checks + C++ checks) and straight against the raw binding
 * (the C++ checks alone).
 */
import { FAULTS } from '../harness/faults.js';
import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import type { Case } from '../reference/case.js';
import { BadArgumentError, UnsupportedProblemError } from '../reference/errors.js';
import type { Problem } from '../reference/problem.js';
import {
  NativeHandle, defaultTactic, inputsDigest, nativeBindingForTests, prepare, release, runMoe, validTactics,
} from './index.js';
import { tinyCase, tinyProblem } from './testing.js';
import { runs } from '../properties/runs.js';

type Mutation = { readonly what: string; readonly apply: (c: Case) => Case };

const withProblem = (what: string, over: Record<string, unknown>): Mutation => ({
  what,
  apply: (c) => ({ ...c, spec: { ...c.spec, problem: { ...c.spec.problem, ...over } as Problem } }),
});
const withField = (what: string, over: Record<string, unknown>): Mutation => ({
  what,
  apply: (c) => ({ ...c, ...over }) as Case,
});

const badNumbers: unknown[] = [0, -1, -16, 1.5, NaN, Infinity, 2 ** 40, '32', null, undefined, {}];
/** Values of the wrong type or length for a tensor that must be `ctor` of length n. */
const wrongArrays = (n: number, ctor: new (n: number) => ArrayLike<number>): unknown[] => [
  new ctor(n + 1), new ctor(Math.max(0, n - 1)), new Float32Array(n), new Uint8Array(n), new Uint16Array(n), new Int32Array(n),
  [1, 2, 3], null, 7, 'x', new Float64Array(n),
].filter((v) => !(v instanceof ctor && (v as ArrayLike<number>).length === n));

/** Every mutation makes the tiny case invalid. */
function mutations(): Mutation[] {
  const c = tinyCase();
  const p = c.spec.problem;
  const m: Mutation[] = [];
  for (const key of ['T', 'H', 'I', 'E', 'topK', 'localExperts'] as const) {
    for (const v of badNumbers) m.push(withProblem(`problem.${key}=${String(v)}`, { [key]: v }));
  }
  for (const v of [-1, 4, 1.5, NaN, 'a']) m.push(withProblem(`localOffset=${String(v)}`, { localOffset: v }));
  m.push(withProblem('H not a multiple of 16', { H: 40 }));
  m.push(withProblem('I not a multiple of 32 in MX mode', { quantMode: 'mxfp4_mxfp8', I: 48, H: 64 }));
  m.push(withProblem('topK > E', { topK: 5 }));
  m.push(withProblem('localOffset + localExperts > E', { localOffset: 1 }));
  m.push(withProblem('quantMode unknown', { quantMode: 'fp8' }));
  m.push(withProblem('logitsDtype unknown', { logitsDtype: 'float16' }));
  m.push(withProblem('biasDtype for renormalize', { biasDtype: 'float32' }));
  m.push(withProblem('routing method unknown', { routing: { method: 'softmax' } }));
  m.push(withProblem('routing not an object', { routing: 'renormalize' }));
  m.push(withProblem('llama4 with k = 2', { routing: { method: 'llama4' } }));
  m.push(withProblem('deepseek nGroup 3 does not divide E', { routing: { method: 'deepseek_v3', nGroup: 3, topkGroup: 1 } }));
  m.push(withProblem('deepseek topkGroup > nGroup', { routing: { method: 'deepseek_v3', nGroup: 2, topkGroup: 3 } }));
  m.push(withProblem('deepseek scale NaN', { routing: { method: 'deepseek_v3', routedScalingFactor: NaN } }));
  m.push(withProblem('activation kind unknown', { activation: { kind: 'gelu' } }));
  m.push(withProblem('clamped activation without swiglu tensors', { activation: { kind: 'swiglu_clamped', alpha: 1, beta: 1, limit: 7 } }));
  m.push(withProblem('E beyond the supported 1024', { E: 2048, localExperts: 2048 }));
  m.push(withProblem('topK beyond the supported 32', { E: 64, localExperts: 64, topK: 33 }));
  const sizes: Record<string, number> = {
    logits: p.T * p.E, out1Scale: p.localExperts, out1GateScale: p.localExperts, out2Scale: p.localExperts,
  };
  for (const [key, n] of Object.entries(sizes)) {
    for (const v of wrongArrays(n, Float32Array)) m.push(withField(`${key}=${String(v && (v as object).constructor?.name)}`, { [key]: v }));
  }
  m.push(withField('bias present for renormalize', { bias: new Float32Array(p.E) }));
  m.push(withField('swiglu present for plain SwiGLU', { swiglu: { alpha: new Float32Array(4), beta: new Float32Array(4), limit: new Float32Array(4) } }));
  m.push(withField('swiglu not an object', { swiglu: 5 }));
  m.push(withField('hidden format mismatch', { hidden: { format: 'bf16', data: new Uint16Array(p.T * p.H) } }));
  m.push(withField('hidden not an object', { hidden: null }));
  if (c.hidden.format === 'nvfp4') {
    const h = c.hidden;
    for (const v of wrongArrays(h.packed.length, Uint8Array)) m.push(withField('hidden.packed wrong', { hidden: { ...h, packed: v } }));
    for (const v of wrongArrays(h.scales.length, Uint8Array)) m.push(withField('hidden.scales wrong', { hidden: { ...h, scales: v } }));
  }
  for (const which of ['fc1', 'fc2'] as const) {
    const w = c[which];
    for (const v of wrongArrays(w.packed.byteLength, Uint8Array)) m.push(withField(`${which}.packed wrong`, { [which]: { ...w, packed: v } }));
    for (const v of wrongArrays(w.scales.byteLength, Uint8Array)) m.push(withField(`${which}.scales wrong`, { [which]: { ...w, scales: v } }));
  }
  m.push(withField('fc1 missing', { fc1: undefined }));
  m.push(withField('logits as bf16 for float32 dtype', { logits: new Uint16Array(p.T * p.E) }));
  return m;
}

const MUTATIONS = mutations();

function isArgumentError(e: unknown): boolean {
  return (e instanceof BadArgumentError || e instanceof UnsupportedProblemError) && e.message.length > 0;
}

test('the tiny case itself passes every check (so each mutation is what fails)', (t) => {
  const p = tinyProblem();
  t.true(validTactics(p).length > 0);
  t.truthy(defaultTactic(p));
});

testProp('prepare rejects malformed cases with an argument error', [fc.constantFrom(...MUTATIONS)], async (t, m) => {
  const bad = m.apply(tinyCase());
  const err = await t.throwsAsync(() => prepare(bad));
  t.true(isArgumentError(err), `${m.what}: ${String(err)}`);
}, { numRuns: runs(300) });

testProp('validTactics rejects malformed problems with an argument error', [fc.constantFrom(...MUTATIONS)], (t, m) => {
  const bad = m.apply(tinyCase());
  const p = bad.spec.problem;
  let threw: unknown = null;
  try {
    validTactics(p);
  } catch (e) {
    threw = e;
  }
  // Tensor mutations leave the problem valid: then validTactics must succeed.
  const problemMutated = JSON.stringify(p) !== JSON.stringify(tinyProblem()) || Number.isNaN(p.T) || Number.isNaN(p.H) ||
    Number.isNaN(p.I) || Number.isNaN(p.E) || Number.isNaN(p.topK) || Number.isNaN(p.localExperts) || Number.isNaN(p.localOffset);
  if (problemMutated && !m.what.startsWith('clamped activation')) t.true(isArgumentError(threw), `${m.what}: ${String(threw)}`);
  else t.true(threw === null || isArgumentError(threw), `${m.what}: ${String(threw)}`);
}, { numRuns: runs(150) });

/** Raw values the binding may receive from a careless caller. */
const junk = fc.oneof(
  fc.anything(),
  fc.constantFrom(null, undefined, 0, -1, NaN, Infinity, '', 'x', [], {}, new Uint8Array(3), new Float32Array(2), () => 1),
);

testProp('the raw binding rejects junk without crashing (C++ checks alone)', [junk, junk], async (t, a, b) => {
  const raw = nativeBindingForTests();
  const calls: Array<() => unknown> = [
    () => raw.validTactics(a), () => raw.defaultTactic(a), () => raw.checkTactic(a, b), () => raw.prepare(a),
    () => raw.run(a, b), () => raw.digest(a), () => raw.release(a),
  ];
  for (const call of calls) {
    let err: unknown = null;
    try {
      const r = call();
      if (r instanceof Promise) await r;
    } catch (e) {
      err = e;
    }
    t.true(err instanceof Error, `expected an error, got ${String(err)}`);
    const code = (err as { code?: unknown }).code;
    t.true(code === 'MOE_BAD_ARGUMENT' || code === 'MOE_UNSUPPORTED', `code ${String(code)}: ${String(err)}`);
  }
}, { numRuns: runs(150) });

testProp('the raw binding rejects raw cases with one field broken', [
  fc.constantFrom('T', 'H', 'I', 'E', 'topK', 'localOffset', 'localExperts', 'routingMethod', 'logitsDtype', 'biasDtype', 'quantMode', 'activation', 'nGroup'),
  fc.constantFrom<unknown>(-1, 99, 1.5, NaN, 'x', null, 2 ** 53, -(2 ** 31)),
  fc.constantFrom('logits', 'hidden', 'hiddenScales', 'fc1Packed', 'fc1Scales', 'fc2Packed', 'fc2Scales', 'out1Scale', 'out2Scale', 'swigluAlpha'),
  fc.boolean(),
], async (t, key, value, tensor, breakProblem) => {
  const raw = nativeBindingForTests();
  const c = tinyCase();
  const problem = { T: 2, H: 32, I: 32, E: 4, topK: 2, localOffset: 0, localExperts: 4, routingMethod: 1, nGroup: 1, topkGroup: 1,
    routedScalingFactor: 1, logitsDtype: 0, biasDtype: 0, quantMode: 0, activation: 0 };
  const h = c.hidden.format === 'nvfp4' ? c.hidden : null;
  const args: Record<string, unknown> = {
    problem, logits: c.logits, bias: null, hidden: h?.packed, hiddenScales: h?.scales, fc1Packed: c.fc1.packed,
    fc1Scales: c.fc1.scales, fc2Packed: c.fc2.packed, fc2Scales: c.fc2.scales, out1Scale: c.out1Scale,
    out1GateScale: c.out1GateScale, out2Scale: c.out2Scale, swigluAlpha: null, swigluBeta: null, swigluLimit: null,
  };
  if (breakProblem) (problem as Record<string, unknown>)[key] = value;
  else args[tensor] = tensor === 'swigluAlpha' ? new Float32Array(4) : new Uint8Array(5);
  // nGroup is ignored unless deepseek_v3: those mutations leave the case valid.
  if (breakProblem && key === 'nGroup') (problem as Record<string, unknown>).routingMethod = 3;
  let err: unknown = null;
  try {
    await raw.prepare(args);
  } catch (e) {
    err = e;
  }
  const code = (err as { code?: unknown } | null)?.code;
  t.true(code === 'MOE_BAD_ARGUMENT' || code === 'MOE_UNSUPPORTED', `${breakProblem ? key : tensor}: ${String(err)}`);
}, { numRuns: runs(150) });

test('runMoe, inputsDigest and release refuse what is not a prepared handle', async (t) => {
  const fake = { box: 1 } as unknown as NativeHandle;
  for (const h of [fake, null, undefined, 3, {}]) {
    const e1 = await t.throwsAsync(() => runMoe(h as NativeHandle, { tactic: { tileTokens: 8, config: 0 } }));
    t.true(e1 instanceof BadArgumentError && e1.argument === 'handle', String(e1));
    const e2 = await t.throwsAsync(() => inputsDigest(h as NativeHandle));
    t.true(e2 instanceof BadArgumentError, String(e2));
    const e3 = t.throws(() => release(h as NativeHandle));
    t.true(e3 instanceof BadArgumentError, String(e3));
  }
});

test('the release addon refuses a fault code, naming the faults build', (t) => {
  const raw = nativeBindingForTests('release');
  const err = t.throws(() => raw.run({}, { tactic: { tileTokens: 8, config: 0 }, fault: 2 }));
  t.is((err as { code?: unknown }).code, 'MOE_BAD_ARGUMENT');
  t.regex(err.message, /options\.fault.*MOE_FAULTS/);
});

test('the faults addon, where built, loads as a faults build and accepts fault codes', (t) => {
  let raw;
  try {
    raw = nativeBindingForTests('faults');
  } catch (e) {
    t.log(`faults addon not built (node native/build.mjs --faults): ${String(e)}`);
    t.pass();
    return;
  }
  t.true(raw.status().faultsBuild);
  // The fault code passes; the junk handle is what is refused.
  const err = t.throws(() => raw.run({}, { tactic: { tileTokens: 8, config: 0 }, fault: 2 }));
  t.regex(err.message, /^handle:/);
  // One past the catalog's last code (harness/faults.ts) is refused by the range check.
  const bad = t.throws(() => raw.run({}, { tactic: { tileTokens: 8, config: 0 }, fault: Math.max(...Object.values(FAULTS).map((f) => f.code)) + 1 }));
  t.regex(bad.message, /options\.fault/);
});
