/**
 * Seeded fuzzing of the raw addon with malformed calls. Every call must throw or reject
 * with MOE_BAD_ARGUMENT / MOE_UNSUPPORTED (or, for a call the mutation happened to leave
 * valid, succeed / reach the engine: MOE_UNAVAILABLE without CUDA, MOE_CUDA without a device) — never crash the process;
 * every refusal names the argument and the expected value, and its `actual` is a correct
 * description of the value passed: exactly jsActual(value) where the refusal names the
 * mutated argument, and never a malformed description ("object(0)", "Array(4)(0)", a
 * length printed twice) anywhere.
 *
 * Scale: MOE_ADDON_FUZZ_RUNS (default 600; the figures in docs/install.md come from 10000),
 * seed MOE_FUZZ_SEED (default 14).
 */
import test from 'ava';
import fc from 'fast-check';
import { rawCase, rawProblem } from './rawArgs.js';
import { nativeBindingForTests } from './index.js';
import { addonLoadedOrSkip, tinyCase } from './testing.js';

const RUNS = Number(process.env.MOE_ADDON_FUZZ_RUNS ?? 600);
const SEED = Number(process.env.MOE_FUZZ_SEED ?? 14);

/** The correct description of an actual value (the contract binding.cc's describe() meets). */
export function jsActual(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    const points = [...v];
    return points.length <= 60 ? JSON.stringify(v) : `${JSON.stringify(points.slice(0, 60).join(''))}... (${points.length} characters)`;
  }
  if (typeof v === 'bigint') return v >= -(2n ** 63n) && v < 2n ** 63n ? `${v}n` : 'a BigInt beyond 64 bits';
  if (typeof v === 'symbol') return 'symbol';
  if (typeof v === 'function') return 'function';
  if (v instanceof DataView) return `DataView(${v.byteLength} bytes)`;
  if (ArrayBuffer.isView(v)) return `${Object.getPrototypeOf(Object.getPrototypeOf(v)) === Object.getPrototypeOf(Uint8Array.prototype) ? Object.getPrototypeOf(v).constructor.name : 'TypedArray'}(${(v as unknown as { length: number }).length})`;
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength} bytes)`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (v instanceof Promise) return 'a Promise';
  return 'object';
}

/** Descriptions that are wrong whatever the value: a length twice, a length on a non-array. */
const MALFORMED = /\)\(|^(object|function|undefined|null|symbol|true|false)\(|Array\(\d+\)\(|^$/;

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, true, false, 0, -0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 31, 1e21, 1e-7,
    123456789012345680000, 0.1, '', 'x', '"quoted"\n\ttab', 'é'.repeat(70), [], [1, 2, 3], {}, { length: 4 }, () => 1,
    Symbol('s'), 5n, 2n ** 70n, new ArrayBuffer(8), new DataView(new ArrayBuffer(3)), Promise.resolve(1), new Date(0)),
  fc.double(),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.string({ maxLength: 80 }),
  fc.nat({ max: 80 }).chain((n) => fc.constantFrom<unknown>(new Uint8Array(n), new Uint16Array(n), new Float32Array(n),
    new Int32Array(n), new Float64Array(n), new Int8Array(n), new BigInt64Array(n), new Uint8ClampedArray(n), new Array(n).fill(0))),
);

const PROBLEM_KEYS = ['T', 'H', 'I', 'E', 'topK', 'localOffset', 'localExperts', 'routingMethod', 'nGroup', 'topkGroup',
  'routedScalingFactor', 'logitsDtype', 'biasDtype', 'quantMode', 'activation'] as const;
const TENSOR_KEYS = ['logits', 'bias', 'hidden', 'hiddenScales', 'fc1Packed', 'fc1Scales', 'fc2Packed', 'fc2Scales', 'out1Scale',
  'out1GateScale', 'out2Scale', 'swigluAlpha', 'swigluBeta', 'swigluLimit'] as const;

/** The argument names a refusal of the mutated raw field may carry. */
const NAMES: Record<string, readonly string[]> = {
  routingMethod: ['problem.routingMethod', 'routing.method'], activation: ['problem.activation', 'activation.kind'],
  nGroup: ['problem.nGroup', 'routing.nGroup'], topkGroup: ['problem.topkGroup', 'routing.topkGroup'],
  routedScalingFactor: ['problem.routedScalingFactor', 'routing.routedScalingFactor'],
  hidden: ['hidden', 'hidden.packed', 'hidden.data'], hiddenScales: ['hidden.scales'], fc1Packed: ['fc1.packed'],
  fc1Scales: ['fc1.scales'], fc2Packed: ['fc2.packed'], fc2Scales: ['fc2.scales'], swigluAlpha: ['swiglu.alpha'],
  swigluBeta: ['swiglu.beta'], swigluLimit: ['swiglu.limit'],
};
const namesOf = (key: string): readonly string[] => NAMES[key] ?? [key, `problem.${key}`];

type Call =
  | { fn: 'validTactics' | 'defaultTactic' | 'streamSplit'; key: string; value: unknown; whole: boolean }
  | { fn: 'checkTactic' | 'streamSplitTactic'; key: string; value: unknown; whole: boolean }
  | { fn: 'prepare' | 'copiedInputsDigest'; key: string; value: unknown; whole: boolean }
  | { fn: 'run' | 'digest' | 'release'; key: string; value: unknown; whole: boolean };

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ fn: fc.constantFrom('validTactics', 'defaultTactic', 'streamSplit'), key: fc.constantFrom(...PROBLEM_KEYS), value: junk, whole: fc.boolean() }),
  fc.record({ fn: fc.constantFrom('checkTactic', 'streamSplitTactic'), key: fc.constantFrom('tileTokens', 'config'), value: junk, whole: fc.boolean() }),
  fc.record({ fn: fc.constantFrom('prepare', 'copiedInputsDigest'), key: fc.constantFrom(...PROBLEM_KEYS, ...TENSOR_KEYS), value: junk, whole: fc.boolean() }),
  fc.record({ fn: fc.constantFrom('run', 'digest', 'release'), key: fc.constant('handle'), value: junk, whole: fc.constant(true) }),
) as fc.Arbitrary<Call>;

interface Figures {
  calls: number; refused: number; accepted: number; exact: number; crashed: number; malformed: number; wrongActual: number;
  byCode: Record<string, number>; arguments: Set<string>;
}

test(`${RUNS} seeded malformed addon calls: every refusal names the argument, the expected and the correct actual value`, async (t) => {
  if (!addonLoadedOrSkip(t)) return;
  const raw = nativeBindingForTests();
  const enums = raw.enums();
  const base = tinyCase();
  const f: Figures = { calls: 0, refused: 0, accepted: 0, exact: 0, crashed: 0, malformed: 0, wrongActual: 0, byCode: {}, arguments: new Set() };
  const problems: string[] = [];

  await fc.assert(fc.asyncProperty(call, async (c) => {
    const problem: Record<string, unknown> = { ...rawProblem(enums, base.spec.problem) };
    const args: Record<string, unknown> = { ...rawCase(enums, base), problem };
    let subject: unknown;
    let invoke: () => unknown;
    if (c.fn === 'validTactics' || c.fn === 'defaultTactic' || c.fn === 'streamSplit') {
      if (c.whole) subject = c.value; else { problem[c.key] = c.value; subject = problem; }
      invoke = c.fn === 'streamSplit' ? () => raw.streamSplit!(subject, { tileTokens: 8, config: 3 }) : () => raw[c.fn as 'validTactics'](subject);
      if (c.whole) c = { ...c, key: 'problem' };
    } else if (c.fn === 'checkTactic' || c.fn === 'streamSplitTactic') {
      const tactic: Record<string, unknown> = { tileTokens: 8, config: c.fn === 'checkTactic' ? 0 : 3 };
      if (c.whole) subject = c.value; else { tactic[c.key] = c.value; subject = tactic; }
      invoke = c.fn === 'checkTactic' ? () => raw.checkTactic(problem, subject) : () => raw.streamSplit!(problem, subject);
      c = { ...c, key: c.whole ? 'tactic' : `tactic.${c.key}` };
    } else if (c.fn === 'prepare' || c.fn === 'copiedInputsDigest') {
      if ((PROBLEM_KEYS as readonly string[]).includes(c.key)) problem[c.key] = c.value; else args[c.key] = c.value;
      subject = c.whole && c.fn === 'prepare' ? c.value : args;
      if (c.whole && c.fn === 'prepare') c = { ...c, key: 'case' };
      invoke = c.fn === 'prepare' ? () => raw.prepare(subject) : () => raw.copiedInputsDigest!(subject, 0);
    } else {
      const opts = { tactic: { tileTokens: 8, config: 0 } };
      invoke = c.fn === 'run' ? () => raw.run(c.value, opts) : c.fn === 'digest' ? () => raw.digest(c.value) : () => raw.release(c.value);
    }
    f.calls++;
    let err: unknown = null;
    try {
      const r = invoke();
      if (r instanceof Promise) await r;
    } catch (e) {
      err = e;
    }
    if (err === null) { f.accepted++; return; }
    const e = err as { code?: unknown; argument?: unknown; expected?: unknown; actual?: unknown; message?: unknown };
    const code = String(e.code);
    f.byCode[code] = (f.byCode[code] ?? 0) + 1;
    // A mutation that left the case valid reaches the engine: no CUDA build, or no device.
    if ((code === 'MOE_UNAVAILABLE' || code === 'MOE_CUDA') && c.fn === 'prepare') { f.accepted++; return; }
    if (code !== 'MOE_BAD_ARGUMENT' && code !== 'MOE_UNSUPPORTED') {
      f.crashed++;
      problems.push(`${c.fn} ${c.key}=${jsActual(c.value)}: ${code} ${String(e.message)}`);
      return;
    }
    f.refused++;
    const [argument, expected, actual] = [String(e.argument), String(e.expected), String(e.actual)];
    f.arguments.add(argument);
    const prefix = code === 'MOE_UNSUPPORTED' ? 'unsupported ' : '';
    if (argument === '' || expected === '' || e.message !== `${prefix}${argument}: expected ${expected}, got ${actual}`) {
      problems.push(`${c.fn}: message shape: ${String(e.message)}`);
    }
    if (MALFORMED.test(actual)) {
      f.malformed++;
      problems.push(`${c.fn} ${c.key}=${jsActual(c.value)}: malformed actual in ${String(e.message)}`);
    }
    if (namesOf(c.key).includes(argument)) {
      if (actual === jsActual(c.value)) f.exact++;
      else {
        f.wrongActual++;
        problems.push(`${c.fn} ${c.key}: actual ${JSON.stringify(actual)}, the value was ${jsActual(c.value)} (${String(e.message)})`);
      }
    }
  }), { numRuns: RUNS, seed: SEED });

  t.log(`addon fuzz (seed ${SEED}): ${f.calls} calls, ${f.refused} refused (${JSON.stringify(f.byCode)}), ${f.accepted} accepted, ` +
    `${f.exact} refusals of the mutated argument with exactly the right actual value, ${f.wrongActual} with a wrong one, ` +
    `${f.malformed} malformed descriptions, ${f.crashed} other errors; ${f.arguments.size} distinct arguments named`);
  t.deepEqual(problems.slice(0, 10), [], `${problems.length} problems`);
  t.is(f.calls, RUNS);
  t.true(f.refused > RUNS / 2, 'most calls must be refusals (the generator makes malformed calls)');
});

test('jsActual (the describer contract) on examples', (t) => {
  t.is(jsActual(-0), '0');
  t.is(jsActual(1e-7), '1e-7');
  t.is(jsActual(new Int32Array(6)), 'Int32Array(6)');
  t.is(jsActual({}), 'object');
  t.is(jsActual([1, 2, 3, 4]), 'Array(4)');
});
