import test from 'ava';
import { fc, testProp } from '@fast-check/ava';
import { elementBound, errorModel, flipRowBudget, gamma, U, ulpBf16 } from './errorModel.js';
import { scheduleOf, scheduledDot } from './kernels/emulatedTactics.js';
import { smallProblem } from './testing.js';

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
  const a = errorModel(smallProblem({ I: 64 }));
  const b = errorModel(smallProblem({ I: 1024 }));
  t.true(b.accumulationFactor > a.accumulationFactor);
  t.true(a.accumulationFactor >= 3 * gamma(64 + 2 + 16));
  t.true(elementBound(a, 10, 1) > elementBound(a, 1, 1));
  t.is(elementBound(a, 0, 1), 0.5 * 2 ** -7 + a.absoluteFloor);
  t.is(flipRowBudget(a, 1), 1);
  t.is(flipRowBudget(a, 9), 5);
});

test('only methods with a bias get an absolute score tolerance', (t) => {
  t.is(errorModel(smallProblem()).scoreTolerance.absolute, 0);
  const ds = errorModel(smallProblem({ routing: { method: 'deepseek_v3', nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5 }, biasDtype: 'float32' }));
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
}, { numRuns: 200 });
