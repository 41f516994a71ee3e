import test from 'ava';
import { DEFAULT_NOISE_POLICY, measure, median, relativeSpread, relativeStandardError, type NoisePolicy } from './timing.js';

const policy: NoisePolicy = { warmup: 2, minRepeats: 5, maxRepeats: 20, batch: 5, errorLimit: 0.01 };
const scripted = (xs: readonly number[]) => {
  let i = 0;
  return async () => xs[i++ % xs.length];
};

test('median and MAD/median', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 2, 3]), 2.5);
  t.is(relativeSpread([10, 10, 10]), 0);
  t.is(relativeSpread([9, 10, 11]), 0.1);
});

test('a quiet tactic settles after the minimum repeats; warm-up runs are not timed', async (t) => {
  // warm-up samples 100, 100 would ruin the median if they were kept
  const r = await measure(scripted([100, 100, 1, 1, 1, 1, 1]), policy);
  t.is(r.repeats, 5);
  t.is(r.stop, 'settled');
  t.is(r.medianMs, 1);
  t.is(r.clock, 'kernel');
});

test("the median's standard error from MAD/median: 1.858 · spread / √n", (t) => {
  t.is(relativeStandardError([]), Infinity);
  t.is(relativeStandardError([2, 2, 2, 2]), 0);
  const xs = [9, 10, 11, 10, 10, 9, 11, 10, 12];
  t.true(Math.abs(relativeStandardError(xs) - (1.2533 * 1.4826 * relativeSpread(xs)) / 3) < 1e-12);
});

test('the defaults: 3 warm-up, at least 5 repeats, se <= 0.6% (wrong pick <= 4 se = 2.4% < 3%), cap 50', async (t) => {
  t.deepEqual(DEFAULT_NOISE_POLICY, { warmup: 3, minRepeats: 5, maxRepeats: 50, batch: 5, errorLimit: 0.006 });
  t.true(4 * DEFAULT_NOISE_POLICY.errorLimit < 0.03);
  // A spread of 1.5% (MAD/median) needs n >= (1.858 · 1.5 / 0.6)^2 = 21.6: 25 repeats with batches of 5.
  const r = await measure(scripted([1, 0.985, 1.015]), { ...DEFAULT_NOISE_POLICY, warmup: 0 });
  t.is(r.repeats, 25);
  t.is(r.stop, 'settled');
  t.true(Math.abs(r.spread - 0.015) < 1e-9);
  t.true(r.error <= 0.006 && r.error > 0.005);
  // A quiet ~1 ms kernel (spread 0.5%) stops at the minimum.
  const q = await measure(scripted([1, 0.995, 1.005]), DEFAULT_NOISE_POLICY);
  t.is(q.repeats, 5);
});

test('a noisy tactic gets more repeats until the spread settles', async (t) => {
  // 2 warm-up, then 5 noisy samples (spread 10%), then steady 1.0s: settles at 15 repeats
  const xs = [1, 1, 0.8, 1.2, 0.9, 1.1, 1.0, ...new Array<number>(20).fill(1)];
  const r = await measure(scripted(xs), policy);
  t.is(r.repeats, 10, 'after one batch the MAD is 0 of 10 samples');
  t.is(r.stop, 'settled');
});

test('a tactic that never settles stops at the cap and says so', async (t) => {
  const r = await measure(scripted([1, 2, 3]), policy);
  t.is(r.repeats, 20);
  t.is(r.stop, 'capped');
  t.true(r.spread > 0.01);
  t.true(r.error > 0.01);
});

test('no kernel time: host wall clock, reported; an error when the kernel clock is required', async (t) => {
  const r = await measure(async () => undefined, policy);
  t.is(r.clock, 'host_wall');
  await t.throwsAsync(() => measure(async () => undefined, policy, { clockFallback: 'refuse' }), { message: /reported no kernel time/ });
});

test('a bad policy is refused naming the field', async (t) => {
  await t.throwsAsync(() => measure(async () => 1, { ...policy, maxRepeats: 2 }), { name: 'BadArgumentError', message: /^max-repeats/ });
  await t.throwsAsync(() => measure(async () => 1, { ...policy, errorLimit: 0 }), { name: 'BadArgumentError', message: /^error-limit/ });
});
