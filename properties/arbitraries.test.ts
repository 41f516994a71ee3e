/** The arbitraries produce valid, varied problems, and shrink towards simple shapes. */
import test from 'ava';
import { fc, testProp } from '@fast-check/ava';
import { CONFIG_NAMES } from '../reference/configs.js';
import { weightBlock } from '../reference/problem.js';
import { routingMethod } from '../reference/routing/registry.js';
import { caseSpecArb, configProblemArb, problemArb, SIZE_LIMITS, TOKEN_COUNTS } from './arbitraries/index.js';
import { runs } from './runs.js';

testProp('every generated problem is valid for its routing method and within its size class', [problemArb({ size: 'medium' })], (t, p) => {
  t.notThrows(() => routingMethod(p.routing.method).validate(p));
  const L = SIZE_LIMITS.medium;
  t.true(p.T >= 1 && p.T <= L.maxT);
  t.is(p.H % weightBlock(p.quantMode), 0);
  t.is(p.I % weightBlock(p.quantMode), 0);
  t.true(p.H <= L.maxH + 16 && p.I <= L.maxI + 16);
  t.true(p.localExperts >= 1 && p.localOffset >= 0 && p.localOffset + p.localExperts <= p.E);
  t.true(p.E <= L.maxE && p.topK <= p.E);
}, { numRuns: runs(300) });

test('the small class covers the interesting corners', (t) => {
  const sample = fc.sample(problemArb({ size: 'small' }), { numRuns: 3000, seed: 42 });
  const has = (f: (p: (typeof sample)[number]) => boolean, what: string) => t.true(sample.some(f), what);
  for (const m of ['default', 'renormalize', 'renormalize_naive', 'deepseek_v3', 'llama4', 'topk']) {
    has((p) => p.routing.method === m, m);
  }
  has((p) => (p.routing.nGroup ?? 1) > 1, 'grouped deepseek');
  has((p) => p.routing.method === 'deepseek_v3' && p.biasDtype === 'bfloat16', 'bf16 bias');
  has((p) => p.logitsDtype === 'bfloat16', 'bf16 logits');
  has((p) => p.localOffset > 0, 'EP slice with nonzero offset');
  has((p) => p.localExperts < p.E, 'partial EP slice');
  has((p) => p.H % 64 === 32, 'H = 64n + 32');
  has((p) => p.H % 32 === 16, 'H = 32n + 16');
  for (const T of TOKEN_COUNTS.filter((x) => x <= SIZE_LIMITS.small.maxT)) has((p) => p.T === T, `T = ${T}`);
  for (const q of ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16']) has((p) => p.quantMode === q, q);
  has((p) => p.activation.kind === 'swiglu_clamped', 'clamped SwiGLU');
});

test('shrinking acts on the shape: a failure at T >= 7 shrinks to T = 7 with the simplest rest', (t) => {
  const out = fc.check(fc.property(problemArb({ size: 'small' }), (p) => p.T < 7), { seed: 7, numRuns: 1000 });
  t.true(out.failed);
  const p = out.counterexample![0];
  t.is(p.T, 7);
  t.is(p.routing.method, 'default');
  t.deepEqual([p.H, p.E, p.topK, p.localOffset, p.localExperts], [16, 1, 1, 0, 1]);
  t.is(p.quantMode, 'nvfp4');
});

test('configProblemArb yields the SPEC §6 configurations at the requested T', (t) => {
  const names = new Set(fc.sample(configProblemArb(5), { numRuns: 200, seed: 1 }).map((p) => {
    t.is(p.T, 5);
    t.notThrows(() => routingMethod(p.routing.method).validate(p));
    return p.name;
  }));
  t.deepEqual([...names].sort(), [...CONFIG_NAMES].sort());
});

testProp('caseSpecArb carries a uint seed and both families', [caseSpecArb()], (t, s) => {
  t.true(Number.isInteger(s.seed) && s.seed >= 0);
  t.is(typeof s.logitFamily, 'string');
  t.is(typeof s.scaleFamily, 'string');
}, { numRuns: runs(50) });
