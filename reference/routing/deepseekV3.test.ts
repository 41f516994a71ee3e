import test from 'ava';
import { fc, testProp } from '@fast-check/ava';
import { configProblem } from '../configs.js';
import { BadArgumentError } from '../errors.js';
import type { RoutingConfig } from '../problem.js';
import { deepseekV3Method as ds } from './deepseekV3.js';
import { f32, sigmoidF32 } from './float32.js';
import { routingInput } from './testing/fixtures.js';
import { runs } from '../../properties/runs.js';

const cfg = (o: Partial<RoutingConfig> = {}): RoutingConfig =>
  ({ method: 'deepseek_v3', nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5, ...o });

test('tiny sigmoid with a large bias: the weight comes from s itself, never from (s + bias) - bias', (t) => {
  const logits = [-18.42, -20, 3, 3];
  const bias = [12, 12, 0, 0];
  const r = ds.route(routingInput(cfg(), 4, 2, logits, bias));
  t.deepEqual(Array.from(r.ids), [0, 1]);
  const s0 = sigmoidF32(-18.42);
  const s1 = sigmoidF32(-20);
  t.true(s0 > 5e-9 && s0 < 2e-8);
  // The recovered form loses s entirely in float32: 12 + 1e-8 rounds to 12.
  t.is(f32(f32(s0 + 12) - 12), 0);
  const denom = f32(f32(s0 + s1) + f32(1e-20));
  t.deepEqual(Array.from(r.weights), [f32(f32(s0 / denom) * 2.5), f32(f32(s1 / denom) * 2.5)]);
  t.true(r.weights[0]! > 2 && r.weights[1]! > 0.3);
});

test('epsilon: when every chosen sigmoid underflows to 0, weights are 0, not NaN', (t) => {
  const r = ds.route(routingInput(cfg(), 4, 2, [-200, -150, 5, 5], [20, 20, 0, 0]));
  t.deepEqual(Array.from(r.ids), [0, 1]);
  t.is(sigmoidF32(-150), 0);
  t.deepEqual(Array.from(r.weights), [0, 0]);
});

test('group masking keeps the groups with the best two-expert sums', (t) => {
  // Groups of 2: g0 has the single best expert but the weakest pair sum but one.
  const logits = [5, -5, 1, 1, 0.5, 0.5, 0, 0];
  const r = ds.route(routingInput(cfg({ nGroup: 4, topkGroup: 2 }), 8, 3, logits, new Array(8).fill(0)));
  t.deepEqual(Array.from(r.ids), [2, 3, 4]);
  const sel = Array.from(r.selectionScores);
  for (const e of [0, 1, 6, 7]) t.is(sel[e], -Infinity, `expert ${e} outside the kept groups`);
  for (const e of [2, 3, 4, 5]) t.is(sel[e], sigmoidF32(logits[e]!));
  // Without grouping, expert 0 wins.
  t.is(ds.route(routingInput(cfg(), 8, 3, logits, null)).ids[0], 0);
});

test('group scores use b = s + bias, and group ties keep the lower group index', (t) => {
  const logits = new Array(8).fill(0);
  const tie = ds.route(routingInput(cfg({ nGroup: 4, topkGroup: 2 }), 8, 3, logits, new Array(8).fill(0)));
  t.deepEqual(Array.from(tie.ids), [0, 1, 2]);
  const biased = ds.route(routingInput(cfg({ nGroup: 4, topkGroup: 1 }), 8, 1, logits, [0, 0, 0, 0, 0, 0, 0.25, 0.25]));
  t.deepEqual(Array.from(biased.ids), [6]);
});

test('a group is scored by its two largest members, not its best one or its sum', (t) => {
  // g0 = [0.9, 0.1, 0.1, 0.1] (top-2 1.0, sum 1.2); g1 = [0.55, 0.5, 0, 0] (top-2 1.05, sum 1.05).
  const bias = [0.9, 0.1, 0.1, 0.1, 0.55, 0.5, 0, 0];
  const logits = new Array(8).fill(-200); // s = 0: b = bias exactly
  const r = ds.route(routingInput(cfg({ nGroup: 2, topkGroup: 1 }), 8, 2, logits, bias));
  t.deepEqual(Array.from(r.ids), [4, 5]);
});

const limitCases: Array<[string, RoutingConfig, number, number, string, string]> = [
  ['nGroup > 8', cfg({ nGroup: 16, topkGroup: 4 }), 256, 8, 'routing.nGroup', '16'],
  ['topkGroup > 4', cfg({ nGroup: 8, topkGroup: 5 }), 256, 8, 'routing.topkGroup', '5'],
  ['E % nGroup != 0', cfg({ nGroup: 8, topkGroup: 4 }), 100, 8, 'E', '100'],
  ['E/nGroup > 32', cfg({ nGroup: 8, topkGroup: 4 }), 512, 8, 'E/routing.nGroup', '64'],
  ['k >= topkGroup·E/nGroup', cfg({ nGroup: 8, topkGroup: 1 }), 64, 8, 'topK', '8'],
  ['topkGroup > nGroup', cfg({ nGroup: 2, topkGroup: 3 }), 16, 2, 'routing.topkGroup', '3'],
  ['nGroup = 0', cfg({ nGroup: 0 }), 16, 2, 'routing.nGroup', '0'],
  ['nGroup not an integer', cfg({ nGroup: 2.5 }), 16, 2, 'routing.nGroup', '2.5'],
  ['topkGroup missing with groups', { method: 'deepseek_v3', nGroup: 4 }, 16, 2, 'routing.topkGroup', 'undefined'],
  ['scale not finite', cfg({ routedScalingFactor: Infinity }), 16, 2, 'routing.routedScalingFactor', 'Infinity'],
  ['scale NaN', cfg({ routedScalingFactor: NaN }), 16, 2, 'routing.routedScalingFactor', 'NaN'],
  ['k > E', cfg(), 16, 17, 'topK', '17'],
];
for (const [what, config, E, k, arg, actual] of limitCases) {
  test(`limit: ${what} throws naming ${arg}, the expected and the actual value`, (t) => {
    const err = t.throws(() => ds.validateShape({ E, topK: k, config, hasBias: true }), { instanceOf: BadArgumentError });
    t.is(err!.argument, arg);
    t.true(err!.actual.includes(actual), err!.message);
    t.true(err!.expected.length > 0 && err!.message.includes(err!.expected));
    // route() checks the same limits.
    t.throws(() => ds.route(routingInput(config, E, k, new Array(E).fill(0), new Array(E).fill(0))), { instanceOf: BadArgumentError });
  });
}

test('nGroup = 1 needs only k <= E: DeepSeek-Lite (E = 72) and DeepSeek-V3 validate', (t) => {
  t.notThrows(() => ds.validate(configProblem('deepseek-lite', 3)));
  t.notThrows(() => ds.validate(configProblem('deepseek-v3', 3)));
  t.notThrows(() => ds.validateShape({ E: 72, topK: 72, config: cfg(), hasBias: false }));
});

testProp(
  'weights sum to routedScalingFactor (moderate logits)',
  [
    fc.integer({ min: 2, max: 40 }).chain((E) => fc.tuple(
      fc.constant(E), fc.integer({ min: 1, max: E }),
      fc.array(fc.float({ min: -30, max: 30, noNaN: true }), { minLength: E, maxLength: E }),
      fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: E, maxLength: E }),
    )),
    fc.double({ min: 0.25, max: 16, noNaN: true }),
  ],
  (t, [E, k, logits, bias], scale) => {
    const r = ds.route(routingInput(cfg({ routedScalingFactor: scale }), E, k, logits, bias));
    const sum = Array.from(r.weights).reduce((a, b) => a + b, 0);
    const sf = f32(scale);
    t.true(Math.abs(sum - sf) <= sf * (k + 4) * 2 ** -23, `sum ${sum} vs ${sf}`);
  },
  { numRuns: runs(150) },
);
