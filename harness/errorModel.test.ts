import test from 'ava';
import { fc, testProp } from '@fast-check/ava';
import { f32ToBf16 } from '../reference/formats/bf16.js';
import { BF16_OVERFLOW_THRESHOLD, elementBound, errorModel, flipRowBudget, infinityIsCorrect, ulpBf16 } from './errorModel.js';
import { scheduleOf, scheduledDot } from './kernels/emulatedTactics.js';
import { testProblem } from '../reference/testing/testProblem.js';
import { F32_UNIT_ROUNDOFF as U, gamma } from '../reference/formats/float.js';
import { runs } from '../properties/runs.js';

test('ulpBf16 is the bf16 spacing of the binade, 2^-133 in the subnormal range', (t) => {
  t.is(ulpBf16(1), 2 ** -7);
  t.is(ulpBf16(1.99), 2 ** -7);
  t.is(ulpBf16(-2), 2 ** -6);
  t.is(ulpBf16(3e-39), 2 ** -133);
  t.is(ulpBf16(0), 2 ** -133);
  t.true(Number.isNaN(ulpBf16(NaN)));
});

test('gamma follows n·u/(1-n·u) and the bound grows with I, k and absAccum', (t) => {
  t.is(gamma(1), U / (1 - U));
  const a = errorModel(testProblem({ I: 64 }));
  const b = errorModel(testProblem({ I: 1024 }));
  t.true(b.accumulationFactor > a.accumulationFactor);
  t.true(a.accumulationFactor >= 3 * gamma(64 + 2 + 16));
  t.true(elementBound(a, 10, 1) > elementBound(a, 1, 1));
  t.is(elementBound(a, 0, 1), 0.5 * 2 ** -7 + a.absoluteFloor);
  t.is(flipRowBudget(a, 1), 1);
  t.is(flipRowBudget(a, 9), 5);
});

test('only methods with a bias get an absolute score tolerance', (t) => {
  t.is(errorModel(testProblem()).scoreTolerance.absolute, 0);
  const ds = errorModel(testProblem({ routing: { method: 'deepseek_v3', nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5 }, biasDtype: 'float32' }));
  t.true(ds.scoreTolerance.absolute > 0);
});

// The derivation's core claim: float32 sums of exact products in any round-to-nearest
// order stay within γ(n-1)·Σ|x| of the exact sum, and a truncating MMA-like chain within
// 2·γ(n+16)·Σ|x|; so kernel and reference differ by at most 3·γ(n+16)·Σ|x|.
testProp('float32 accumulation orders stay within γ(n-1)·Σ|terms| (RNE) or 2γ(n+16)·Σ|terms| (truncating MMA chain)', [
  fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 ** 31 }),
], (t, n, config, seed) => {
  let s = seed;
  const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const a = new Float32Array(n).map(() => Math.fround((rnd() - 0.5) * 2 ** Math.floor(rnd() * 20 - 10)));
  const b = new Float32Array(n).map(() => Math.fround((rnd() - 0.5) * 8));
  let exact = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    exact += a[i]! * b[i]!;
    abs += Math.abs(a[i]! * b[i]!);
  }
  const got = scheduledDot(a, 0, b, 0, n, scheduleOf(config));
  const bound = config === 2 ? 2 * gamma(n + 16) : gamma(n);
  t.true(Math.abs(got - exact) <= bound * abs + 2 ** -140, `n=${n} config=${config}: ${got} vs ${exact}`);
}, { numRuns: runs(200) });

test('BF16_OVERFLOW_THRESHOLD is the smallest magnitude that rounds to infinity in bf16', (t) => {
  const below = (x: number): number => { const f = new Float32Array([x]); new Uint32Array(f.buffer)[0]! -= 1; return f[0]!; };
  t.is(Math.fround(BF16_OVERFLOW_THRESHOLD), BF16_OVERFLOW_THRESHOLD, 'a float32 value');
  t.is(f32ToBf16(BF16_OVERFLOW_THRESHOLD), 0x7f80);
  t.is(f32ToBf16(-BF16_OVERFLOW_THRESHOLD), 0xff80);
  t.is(f32ToBf16(below(BF16_OVERFLOW_THRESHOLD)), 0x7f7f, 'the float32 just below rounds to the largest finite bf16');
});

test('infinityIsCorrect: the same infinity within reach of the threshold, or a reference that overflowed; nothing else', (t) => {
  const m = errorModel(testProblem());
  const X = BF16_OVERFLOW_THRESHOLD;
  t.true(infinityIsCorrect(m, Infinity, 3.5e38, 1e30));
  t.true(infinityIsCorrect(m, -Infinity, -3.5e38, 1e30));
  t.true(infinityIsCorrect(m, Infinity, Infinity, Infinity), 'the reference\'s own float32 arithmetic overflowed the same way');
  t.false(infinityIsCorrect(m, -Infinity, Infinity, Infinity), 'opposite sign');
  t.false(infinityIsCorrect(m, -Infinity, 3.5e38, 1e30), 'opposite sign');
  t.false(infinityIsCorrect(m, Infinity, 1e38, 1e38), 'finite reference inside the threshold by more than its reach');
  t.false(infinityIsCorrect(m, NaN, Infinity, Infinity), 'NaN is never correct');
  t.false(infinityIsCorrect(m, Infinity, NaN, 1), 'nor is Inf where the reference is NaN');
  t.false(infinityIsCorrect(m, Infinity, 0, 0));
  // Just inside: correct exactly when the reach carries the reference across X.
  const inside = X * (1 - 2 ** -20);
  const reachFor = (absAccum: number): number => m.accumulationFactor * absAccum + m.absoluteFloor;
  const need = (X - inside) / m.accumulationFactor;
  t.true(reachFor(need * 1.01) >= X - inside);
  t.true(infinityIsCorrect(m, Infinity, inside, need * 1.01));
  t.false(infinityIsCorrect(m, Infinity, inside, need * 0.99));
});
