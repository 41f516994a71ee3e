/**
 * Semantics of every routing method on hand-made rows: chosen ids, float32 weights,
 * the tie rule, all-negative rows, -inf rows and invalid (NaN/+inf) logits.
 */
import test from 'ava';
import { ROUTING_METHODS, type RoutingConfig, type RoutingMethodName } from '../problem.js';
import { f32, sigmoidF32, softmaxF32 } from './float32.js';
import { routingMethod } from './registry.js';
import { routingInput } from './testing/fixtures.js';

const configOf = (m: RoutingMethodName): RoutingConfig =>
  m === 'deepseek_v3' ? { method: m, nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5 } : { method: m };
const kOf = (m: RoutingMethodName, k: number): number => (m === 'llama4' ? 1 : k);

function route(m: RoutingMethodName, E: number, k: number, logits: number[], bias: number[] | null = null) {
  const input = routingInput(configOf(m), E, kOf(m, k), logits, m === 'deepseek_v3' ? bias : null);
  const r = routingMethod(m).route(input);
  return { ids: Array.from(r.ids), weights: Array.from(r.weights), scores: Array.from(r.selectionScores), input };
}

const row = [1, 2, 3, 0];

test('default: top-k of softmax(all), weights are those probabilities', (t) => {
  const r = route('default', 4, 2, row);
  const p = softmaxF32(row, 0, 4, new Float32Array(4));
  t.deepEqual(r.ids, [2, 1]);
  t.deepEqual(r.weights, [p[2], p[1]]);
  t.deepEqual(r.scores, Array.from(p));
});

test('renormalize: top-k of the logits, softmax over the chosen logits', (t) => {
  const r = route('renormalize', 4, 2, row);
  const e = f32(Math.exp(-1));
  const s = f32(1 + e);
  t.deepEqual(r.ids, [2, 1]);
  t.deepEqual(r.weights, [f32(1 / s), f32(e / s)]);
  t.deepEqual(r.scores, row);
});

test('renormalize_naive: chosen probabilities divided by their float32 sum', (t) => {
  const r = route('renormalize_naive', 4, 2, row);
  const p = softmaxF32(row, 0, 4, new Float32Array(4));
  const s = f32(p[2]! + p[1]!);
  t.deepEqual(r.ids, [2, 1]);
  t.deepEqual(r.weights, [f32(p[2]! / s), f32(p[1]! / s)]);
});

test('topk: top-k of the logits, weights are the raw logits', (t) => {
  const r = route('topk', 4, 3, [0.25, -1.5, 7, 2]);
  t.deepEqual(r.ids, [2, 3, 0]);
  t.deepEqual(r.weights, [7, 2, 0.25]);
});

test('llama4: top-1 of the logits, weight sigmoid(logit), applied before FC1', (t) => {
  const r = route('llama4', 4, 1, [0.5, -2, 1.25, 1]);
  t.deepEqual(r.ids, [2]);
  t.deepEqual(r.weights, [sigmoidF32(1.25)]);
  t.is(routingMethod('llama4').weightPlacement, 'before_fc1');
  for (const m of ROUTING_METHODS) if (m !== 'llama4') t.is(routingMethod(m).weightPlacement, 'finalize', m);
});

test('deepseek_v3 (nGroup 1): largest s + bias, weights s / Σs · scale', (t) => {
  const logits = [0, 1, -1, 2];
  const bias = [0.5, 0, 1, 0];
  const r = route('deepseek_v3', 4, 2, logits, bias);
  const s = logits.map(sigmoidF32);
  // b = [1.0, 0.731, 1.269, 0.881] → ids 2 then 0.
  t.deepEqual(r.ids, [2, 0]);
  const denom = f32(f32(s[2]! + s[0]!) + f32(1e-20));
  t.deepEqual(r.weights, [f32(f32(s[2]! / denom) * 2.5), f32(f32(s[0]! / denom) * 2.5)]);
  t.deepEqual(r.scores, logits.map((x, e) => f32(sigmoidF32(x) + bias[e]!)));
});

for (const m of ROUTING_METHODS) {
  test(`${m}: exact ties are won by the lower expert index`, (t) => {
    const k = kOf(m, 2);
    t.deepEqual(route(m, 5, k, [0.5, 0.5, 0.5, 0.5, 0.5]).ids, [0, 1].slice(0, k));
    t.deepEqual(route(m, 5, k, [0.1, 0.7, 0.2, 0.7, 0.7]).ids, [1, 3].slice(0, k));
    // A tie at the cut: the second slot goes to the lower of the tied experts.
    t.deepEqual(route(m, 5, k, [0.9, 0.3, 0.1, 0.3, 0.1]).ids, [0, 1].slice(0, k));
  });

  test(`${m}: all-negative rows route like any other row`, (t) => {
    const k = kOf(m, 2);
    const r = route(m, 4, k, [-5, -1, -3, -2]);
    t.deepEqual(r.ids, [1, 3].slice(0, k));
    t.true(r.weights.every((w) => Number.isFinite(w) && w !== 0), String(r.weights));
  });

  test(`${m}: -inf logits are never chosen unless unavoidable, and then weigh 0`, (t) => {
    const k = kOf(m, 2);
    t.deepEqual(route(m, 4, k, [-Infinity, -3, -Infinity, -1]).ids, [3, 1].slice(0, k));
    const all = route(m, 4, k, [-Infinity, -Infinity, -Infinity, -Infinity]);
    t.deepEqual(all.ids, [0, 1].slice(0, k));
    t.deepEqual(all.weights, new Array(k).fill(0));
    t.true(all.scores.every((s) => s === -Infinity));
    if (k > 1) {
      const forced = route(m, 4, 3, [-Infinity, 2, -Infinity, 1]);
      t.deepEqual(forced.ids, [1, 3, 0]);
      t.is(forced.weights[2], 0);
    }
  });

  test(`${m}: NaN and +inf logits are treated as -inf; ids stay in [0, E)`, (t) => {
    const k = kOf(m, 2);
    const r = route(m, 4, k, [NaN, 1, Infinity, 0]);
    t.deepEqual(r.ids, [1, 3].slice(0, k));
    const all = route(m, 3, k, [NaN, NaN, NaN]);
    t.deepEqual(all.ids, [0, 1].slice(0, k));
    t.true(all.weights.every((w) => w === 0), String(all.weights));
    t.true(all.scores.every((s) => s === -Infinity));
  });
}

test('default ranks by the float32 probabilities: underflowed probabilities tie, masked ones stay last', (t) => {
  // p = [1, 0, 0, 0] after rounding; expert 1 is masked (-inf) so 2 wins the tie at 0 over it.
  const r = route('default', 4, 2, [0, -Infinity, -200, -300]);
  t.deepEqual(r.ids, [0, 2]);
  t.deepEqual(r.weights, [1, 0]);
});

test('every weight is a float32 value', (t) => {
  for (const m of ROUTING_METHODS) {
    const r = route(m, 6, 3, [0.1234567, -2.345678, 3.3333, 1.1111, -0.7777, 2.71828], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    t.true(r.weights.every((w) => Math.fround(w) === w), m);
  }
});
