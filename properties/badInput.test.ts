/**
 * Bad input is refused loudly: every error is a BadArgumentError that names the argument,
 * the expected and the actual value (issues 2 and 4). Generated problems are mutated in
 * one field at a time; tensors of generated cases are corrupted one at a time.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { fc, testProp } from '@fast-check/ava';
import type { Case, CaseSpec } from '../reference/case.js';
import { configProblem, CONFIG_NAMES } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { ExpertBytes } from '../reference/expertBytes.js';
import { generateCase } from '../reference/generate.js';
import { runReference } from '../reference/moe.js';
import { ROUTING_METHODS, type Problem } from '../reference/problem.js';
import { swizzleScales128x4, unswizzleScales128x4 } from '../reference/quant/layout.js';
import { dequantizeMxfp4, quantizeMxfp4 } from '../reference/quant/mxfp4.js';
import { quantizeMxfp8 } from '../reference/quant/mxfp8.js';
import { dequantizeNvfp4, nvfp4GlobalScale, quantizeNvfp4 } from '../reference/quant/nvfp4.js';
import { checkSelection } from '../reference/routing/checkSelection.js';
import { routeCase, routingMethod } from '../reference/routing/registry.js';
import { routingInputFromCase } from '../reference/routing/routingInput.js';
import { caseSpecArb, problemArb } from './arbitraries/index.js';
import { runs } from './runs.js';

/** The error of fn (sync or async), checked: BadArgumentError naming argument, expected and actual. */
async function expectBad(t: ExecutionContext, fn: () => unknown, argument: RegExp | string, actual: string): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof BadArgumentError)) {
    t.fail(`expected a BadArgumentError about ${String(argument)}, got ${err === undefined ? 'no error' : String(err)}`);
    return;
  }
  if (typeof argument === 'string') t.is(err.argument, argument, err.message);
  else t.regex(err.argument, argument, err.message);
  t.true(err.actual.includes(actual), `actual "${err.actual}" should include "${actual}" (${err.message})`);
  t.true(err.expected.length > 0 && err.message.includes(err.expected) && err.message.includes(err.argument), err.message);
}

type Mutation = { name: string; mutate: (p: Problem) => Problem; argument: RegExp | string; actual: (p: Problem) => string };

const problemMutations: Mutation[] = [
  { name: 'H not a block multiple', mutate: (p) => ({ ...p, H: p.H + 8 }), argument: /H$/, actual: (p) => String(p.H + 8) },
  { name: 'I not a block multiple', mutate: (p) => ({ ...p, I: p.I + 8 }), argument: /I$/, actual: (p) => String(p.I + 8) },
  { name: 'k > E', mutate: (p) => ({ ...p, topK: p.E + 1 }), argument: /topK$/, actual: (p) => String(p.E + 1) },
  { name: 'T = 0', mutate: (p) => ({ ...p, T: 0 }), argument: /\bT$/, actual: () => '0' },
  { name: 'EP slice past E', mutate: (p) => ({ ...p, localOffset: p.E }), argument: /localOffset/, actual: (p) => String(p.E) },
  { name: 'EP slice too long', mutate: (p) => ({ ...p, localExperts: p.E - p.localOffset + 1 }), argument: /localExperts/, actual: (p) => String(p.E - p.localOffset + 1) },
  { name: 'unknown quant mode', mutate: (p) => ({ ...p, quantMode: 'fp8' as never }), argument: /quantMode$/, actual: () => '"fp8"' },
  { name: 'unknown logits dtype', mutate: (p) => ({ ...p, logitsDtype: 'float16' as never }), argument: /logitsDtype$/, actual: () => '"float16"' },
  { name: 'unknown routing method', mutate: (p) => ({ ...p, routing: { method: 'softmax' as never } }), argument: /routing\.method$/, actual: () => '"softmax"' },
];

testProp('generateCase names the one bad field of a mutated problem', [
  caseSpecArb({ size: 'small' }), fc.constantFrom(...problemMutations),
], async (t, spec, m) => {
  const bad: CaseSpec = { ...spec, problem: m.mutate(spec.problem) };
  await expectBad(t, () => generateCase(bad), m.argument, m.actual(spec.problem));
}, { numRuns: runs(60) });

testProp('generateCase names a bad seed or family', [
  caseSpecArb({ size: 'small' }), fc.constantFrom<[Partial<CaseSpec>, RegExp, string]>(
    [{ seed: -1 }, /seed/, '-1'], [{ seed: 2 ** 32 }, /seed/, String(2 ** 32)], [{ seed: 1.5 }, /seed/, '1.5'],
    [{ logitFamily: 'gaussian' as never }, /logitFamily/, 'gaussian'], [{ scaleFamily: 'tiny' as never }, /scaleFamily/, 'tiny'],
  ),
], async (t, spec, [patch, argument, actual]) => {
  await expectBad(t, () => generateCase({ ...spec, ...patch }), argument, actual);
}, { numRuns: runs(20) });

/** Routing-level mutations a generated case can carry (the generator does not judge routing limits). */
const routingMutations: Array<{ name: string; applies: (p: Problem) => boolean; mutate: (p: Problem) => Problem; argument: RegExp | string; actual: string }> = [
  { name: 'deepseek nGroup > 8', applies: (p) => routingMethod(p.routing.method).configFields.includes('nGroup'),
    mutate: (p) => ({ ...p, routing: { ...p.routing, nGroup: 16, topkGroup: 4 } }), argument: /nGroup|E$/, actual: '16' },
  { name: 'deepseek topkGroup > nGroup', applies: (p) => routingMethod(p.routing.method).configFields.includes('nGroup'),
    mutate: (p) => ({ ...p, routing: { ...p.routing, nGroup: 1, topkGroup: 2 } }), argument: 'routing.topkGroup', actual: '2' },
  { name: 'deepseek scale not finite', applies: (p) => routingMethod(p.routing.method).configFields.includes('routedScalingFactor'),
    mutate: (p) => ({ ...p, routing: { ...p.routing, routedScalingFactor: NaN } }), argument: 'routing.routedScalingFactor', actual: 'NaN' },
  { name: 'group fields on a method without groups', applies: (p) => !routingMethod(p.routing.method).configFields.includes('nGroup'),
    mutate: (p) => ({ ...p, routing: { ...p.routing, nGroup: 2 } }), argument: 'routing.nGroup', actual: '2' },
  { name: 'k != 1 for a top-1 method', applies: (p) => routingMethod(p.routing.method).requiredTopK === 1 && p.E >= 2,
    mutate: (p) => ({ ...p, topK: 2 }), argument: 'topK', actual: '2' },
];

testProp('routing limits are refused by routeCase and runReference, naming the parameter', [
  caseSpecArb({ size: 'small' }), fc.constantFrom(...routingMutations),
], async (t, spec, m) => {
  fc.pre(m.applies(spec.problem));
  const c = generateCase(spec);
  const bad: Case = { ...c, spec: { ...c.spec, problem: m.mutate(c.spec.problem) } };
  if (bad.spec.problem.topK === c.spec.problem.topK) await expectBad(t, () => routeCase(bad), m.argument, m.actual);
  await expectBad(t, () => runReference(bad), m.argument, m.actual);
}, { numRuns: runs(30) });

/** Corruptions of one tensor of a generated case, with the argument they must name. */
const corruptions: Array<{ name: string; corrupt: (c: Case) => Case | null; argument: RegExp | string; actual: (c: Case) => string }> = [
  { name: 'logits one short', corrupt: (c) => ({ ...c, logits: c.logits.slice(1) }), argument: /logits/, actual: (c) => `(${c.logits.length - 1})` },
  { name: 'logits of the wrong dtype', corrupt: (c) => ({ ...c, logits: c.logits instanceof Float32Array ? new Uint16Array(c.logits.length) : new Float32Array(c.logits.length) }),
    argument: /logits/, actual: (c) => (c.logits instanceof Float32Array ? 'Uint16Array' : 'Float32Array') },
  { name: 'bias on a method without bias', corrupt: (c) => (c.bias === null && !routingMethod(c.spec.problem.routing.method).usesBias ? { ...c, bias: new Float32Array(c.spec.problem.E) } : null),
    argument: /bias/, actual: () => '' },
  { name: 'bias one short', corrupt: (c) => (c.bias === null ? null : { ...c, bias: c.bias.slice(1) }), argument: /bias/, actual: (c) => `(${c.spec.problem.E - 1})` },
  { name: 'fc1 weights truncated', corrupt: (c) => ({ ...c, fc1: { ...c.fc1, packed: ExpertBytes.fromContiguous(c.fc1.packed.toContiguous().subarray(1), 1) } }), argument: /fc1\.packed/, actual: (c) => `1 experts × ${c.fc1.packed.byteLength - 1} bytes` },
  { name: 'fc2 scales truncated', corrupt: (c) => ({ ...c, fc2: { ...c.fc2, scales: ExpertBytes.fromContiguous(c.fc2.scales.toContiguous().subarray(1), 1) } }), argument: /fc2\.scales/, actual: (c) => `1 experts × ${c.fc2.scales.byteLength - 1} bytes` },
  { name: 'out2Scale one short', corrupt: (c) => ({ ...c, out2Scale: c.out2Scale.slice(1) }), argument: /out2Scale/, actual: (c) => `(${c.out2Scale.length - 1})` },
];

testProp('runReference names the corrupted tensor of a case', [
  caseSpecArb({ size: 'small' }), fc.constantFrom(...corruptions),
], async (t, spec, k) => {
  const c = generateCase(spec);
  const bad = k.corrupt(c);
  fc.pre(bad !== null);
  await expectBad(t, () => runReference(bad!), k.argument, k.actual(c));
}, { numRuns: runs(40) });

testProp('forced ids of the wrong length or outside [0, E) are refused', [caseSpecArb({ size: 'small' }), fc.boolean(), fc.nat()], async (t, spec, short, at) => {
  const c = generateCase(spec);
  const p = c.spec.problem;
  const ids = routeCase(c).ids;
  if (short) {
    await expectBad(t, () => runReference(c, { forcedIds: ids.slice(1) }), /forcedIds|ids/, `(${ids.length - 1})`);
  } else {
    const bad = Int32Array.from(ids);
    bad[at % bad.length] = p.E;
    await expectBad(t, () => runReference(c, { forcedIds: bad }), /[iI]ds\[/, String(p.E));
  }
}, { numRuns: runs(20) });

test('unknown routing method and configuration names list the valid names', async (t) => {
  await expectBad(t, () => routingMethod('Renormalize'), 'routing.method', '"Renormalize"');
  const err = t.throws(() => routingMethod('x'), { instanceOf: BadArgumentError });
  for (const n of ROUTING_METHODS) t.true(err!.expected.includes(n));
  await expectBad(t, () => configProblem('deepseek-v4', 8), 'config', '"deepseek-v4"');
  const cfg = t.throws(() => configProblem('nope', 8), { instanceOf: BadArgumentError });
  for (const n of CONFIG_NAMES) t.true(cfg!.expected.includes(n));
  await expectBad(t, () => configProblem('mixtral-8x7b', 0), 'T', '0');
});

test('every SPEC §6 DeepSeek limit is refused with the parameter, the limit and the value', async (t) => {
  const ds = configProblem('deepseek-v3', 2);
  const m = routingMethod('deepseek_v3');
  const with_ = (o: Partial<Problem['routing']>, E = ds.E, topK = ds.topK): Problem =>
    ({ ...ds, E, topK, localExperts: E, routing: { ...ds.routing, ...o } });
  await expectBad(t, () => m.validate(with_({ nGroup: 16 })), 'routing.nGroup', '16');
  await expectBad(t, () => m.validate(with_({ topkGroup: 5 })), 'routing.topkGroup', '5');
  await expectBad(t, () => m.validate(with_({}, 260)), 'E', '260');
  await expectBad(t, () => m.validate(with_({}, 512)), 'E/routing.nGroup', '64');
  await expectBad(t, () => m.validate(with_({ topkGroup: 1 }, 64, 8)), 'topK', '8');
  const err = t.throws(() => m.validate(with_({ topkGroup: 1 }, 64, 8)), { instanceOf: BadArgumentError });
  t.regex(err!.expected, /topkGroup·E\/nGroup = 1·8 = 8/);
});

test('quantizers and layouts name shapes that are not block multiples and arrays of the wrong length', async (t) => {
  await expectBad(t, () => quantizeNvfp4(new Float32Array(24), 1, 24, 1), 'cols', '24');
  await expectBad(t, () => quantizeMxfp4(new Float32Array(48), 1, 48), 'cols', '48');
  await expectBad(t, () => quantizeMxfp8(new Float32Array(16), 1, 16), 'cols', '16');
  await expectBad(t, () => quantizeNvfp4(new Float32Array(31), 2, 16, 1), 'x', '(31)');
  await expectBad(t, () => dequantizeNvfp4(new Uint8Array(8), new Uint8Array(2), 1, 16, 1), 'scales', '(2)');
  await expectBad(t, () => dequantizeMxfp4(new Uint8Array(15), new Uint8Array(1), 1, 32), 'packed', '(15)');
  await expectBad(t, () => quantizeNvfp4(Float32Array.from({ length: 16 }, (_, i) => (i === 3 ? NaN : 1)), 1, 16, 1), 'x', 'NaN');
  await expectBad(t, () => nvfp4GlobalScale(-1), 'amax', '-1');
  await expectBad(t, () => swizzleScales128x4(new Uint8Array(7), 2, 4), 'linear', '(7)');
  await expectBad(t, () => unswizzleScales128x4(new Uint8Array(100), 2, 4), 'swizzled', '(100)');
});

test('checkSelection refuses ids of the wrong length', async (t) => {
  const c = generateCase({ problem: configProblem('mixtral-8x7b', 3, { H: 64, I: 64 }), seed: 1, logitFamily: 'normal', scaleFamily: 'normal' });
  await expectBad(t, () => checkSelection(routingInputFromCase(c), new Int32Array(5), { relative: 0, absolute: 0 }), 'ids', '(5)');
});

testProp('problemArb never produces a problem the reference refuses', [problemArb({ size: 'small' })], (t, p) => {
  t.notThrows(() => routingMethod(p.routing.method).validate(p));
}, { numRuns: runs(100) });
