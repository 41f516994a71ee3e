import test from 'ava';
import { BadArgumentError } from '../errors.js';
import type { RoutingConfig } from '../problem.js';
import { checkSelection } from './checkSelection.js';
import { routingMethod } from './registry.js';
import { routingInput } from './testing/fixtures.js';

const tight = { relative: 0, absolute: 0 };
const loose = { relative: 1e-5, absolute: 1e-7 };
const ren: RoutingConfig = { method: 'renormalize' };

const verdict = (config: RoutingConfig, E: number, k: number, logits: number[], ids: number[],
  tol = loose, bias: number[] | null = null) =>
  checkSelection(routingInput(config, E, k, logits, bias), Int32Array.from(ids), tol);

test("the reference's own choice is accepted, token by token", (t) => {
  const logits = [0.1, 0.9, 0.5, 0.7, 3, 2, 1, 0];
  const input = routingInput(ren, 4, 2, logits);
  const r = routingMethod('renormalize').route(input);
  t.deepEqual(checkSelection(input, r.ids, tight), [{ t: 0, ok: true }, { t: 1, ok: true }]);
});

test('exact-tie swaps are accepted even with zero tolerance; slot order is not judged', (t) => {
  t.true(verdict(ren, 3, 1, [1, 1, 0.5], [1], tight)[0]!.ok);
  t.true(verdict(ren, 4, 2, [0.2, 1, 0.5, 0.5], [3, 1], tight)[0]!.ok);
  t.true(verdict(ren, 4, 2, [0.2, 1, 0.5, 0.5], [2, 1], tight)[0]!.ok);
});

test('near ties are accepted within the tolerance and rejected outside it', (t) => {
  const logits = [1, Math.fround(1 + 2 ** -20), 0];
  t.true(verdict(ren, 3, 1, logits, [0], loose)[0]!.ok);
  t.false(verdict(ren, 3, 1, logits, [0], tight)[0]!.ok);
});

test('a real difference is rejected with a reason naming token, ids and scores', (t) => {
  const v = verdict(ren, 3, 1, [0.5, 0.25, 2, 1, -1, 0.75], [2, 1]);
  t.true(v[0]!.ok);
  t.false(v[1]!.ok);
  t.is(v[1]!.t, 1);
  t.regex(v[1]!.reason!, /^token 1: ids \[1\]: expert 1 \(score -1\.0+\) chosen over expert 0 \(score 1\.0+\)/);
});

test('duplicates, ids outside [0, E) and masked experts over finite ones are rejected', (t) => {
  t.regex(verdict(ren, 4, 2, [1, 2, 3, 4], [3, 3])[0]!.reason!, /expert 3 chosen twice/);
  t.regex(verdict(ren, 4, 2, [1, 2, 3, 4], [3, -1])[0]!.reason!, /slot 1 holds -1, outside \[0, E=4\)/);
  t.regex(verdict(ren, 4, 2, [NaN, NaN, NaN, NaN], [0, 4])[0]!.reason!, /slot 1 holds 4/);
  t.regex(verdict(ren, 4, 2, [-Infinity, 2, 1, -Infinity], [1, 0])[0]!.reason!, /expert 0 \(score -Infinity\) chosen over expert 2/);
  // All-masked rows: any distinct in-range ids are fine.
  t.true(verdict(ren, 4, 2, [-Infinity, -Infinity, NaN, -Infinity], [3, 1])[0]!.ok);
});

test('default judges the probabilities: underflowed experts tie', (t) => {
  const config: RoutingConfig = { method: 'default' };
  t.true(verdict(config, 4, 2, [0, -300, -200, -250], [0, 3], tight)[0]!.ok);
  t.false(verdict(config, 4, 2, [0, -300, -200, -1], [0, 2], tight)[0]!.ok);
});

const ds = (nGroup: number, topkGroup: number): RoutingConfig =>
  ({ method: 'deepseek_v3', nGroup, topkGroup, routedScalingFactor: 2.5 });

// Groups of 4; b = bias (logits -200 make s = 0). g1 and g2 nearly tie for the second slot.
const bias = [0.9, 0.8, 0, 0, /* g1 */ 0.5, 0.4, 0.3, 0, /* g2 */ 0.45, 0.4500001, 0.3, 0, /* g3 */ 0.1, 0.1, 0, 0];
const logits = new Array(16).fill(-200);

test('deepseek_v3: a near-tied group choice is accepted and judged within the kept groups', (t) => {
  const input = routingInput(ds(4, 2), 16, 3, logits, bias);
  const ref = routingMethod('deepseek_v3').route(input);
  t.deepEqual(Array.from(ref.ids), [0, 1, 9]); // g2 sums to 0.9000001 > g1 0.9
  const judge = (ids: number[], tol = loose) => checkSelection(input, Int32Array.from(ids), tol)[0]!;
  t.true(judge([0, 1, 4]).ok, 'kept g1 instead of the near-tied g2');
  t.false(judge([0, 1, 4], tight).ok);
  t.true(judge([0, 1, 8]).ok, 'near-tied experts inside g2');
  t.regex(judge([0, 1, 5]).reason!, /expert 5 \(score 0\.4\d*\) chosen over expert 4 \(score 0\.5\d*\)/);
  t.regex(judge([0, 4, 12]).reason!, /experts from 3 groups \[0, 1, 3\], at most topkGroup=2/);
  t.false(judge([0, 12, 13]).ok, 'g3 is far from the top groups');
  t.regex(judge([0, 12, 13]).reason!, /group 3 \(score 0\.2\d*\) chosen over group/);
});

test('deepseek_v3: groups touched by fewer experts than topkGroup are completed by any valid group', (t) => {
  // k = 1: only g0 touched; the kernel may have kept g1 or g2 as the second group.
  const input = routingInput(ds(4, 2), 16, 1, logits, bias);
  t.true(checkSelection(input, Int32Array.from([0]), tight)[0]!.ok);
  t.false(checkSelection(input, Int32Array.from([4]), loose)[0]!.ok);
});

test('bad ids length or tolerance throws BadArgumentError', (t) => {
  const input = routingInput(ren, 4, 2, [1, 2, 3, 4]);
  t.throws(() => checkSelection(input, new Int32Array(3), loose), { instanceOf: BadArgumentError, message: /ids: expected Int32Array of length T·k = 1·2 = 2/ });
  t.throws(() => checkSelection(input, new Int32Array(2), { relative: -1, absolute: 0 }), { instanceOf: BadArgumentError });
});

test('deepseek_v3: groups with identical inputs tie exactly; leaving out the lower one is rejected, a near tie is not', (t) => {
  // Groups of 2 over E = 6, keep 1. g0 and g1 hold identical (logit, bias) pairs: an exact
  // group tie, the lower group (g0) must be kept. g2 differs from g1 by one float32 ulp
  // of a bias: a near tie only.
  const config = ds(3, 1);
  const l = [0.5, -0.25, 0.5, -0.25, 0.5, -0.25];
  const b = [0.125, 0, 0.125, 0, Math.fround(0.125 + 2 ** -26), 0];
  const input = routingInput(config, 6, 1, l, b);
  const ev = routingMethod('deepseek_v3').route(input).evidence;
  t.deepEqual(Array.from(ev.groups!.tieClass), [0, 0, 2]);
  t.deepEqual(Array.from(ev.expertTieClass), [0, 1, 0, 1, 4, 1]);
  const judge = (ids: number[]) => checkSelection(input, Int32Array.from(ids), loose)[0]!;
  t.true(judge([0]).ok);
  const wrong = judge([2]);
  t.false(wrong.ok, 'g1 kept while g0, tied with it exactly, was left out');
  t.regex(wrong.reason!, /kept groups \[1\] leave out a lower group with inputs identical to a kept one \(exact group tie/);
  t.true(judge([4]).ok, 'g2 is only near-tied with g0: either choice is valid');
});
