import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { floorLog2, pow2, roundHalfEvenNonNeg } from './float.js';

test('pow2 is exact over the whole double range, subnormals included', (t) => {
  t.is(pow2(0), 1);
  t.is(pow2(-1074), Number.MIN_VALUE);
  t.is(pow2(1023), 2 ** 1023);
  t.is(pow2(-127), 2 ** -127);
  t.throws(() => pow2(1024), { instanceOf: RangeError });
  t.throws(() => pow2(0.5), { instanceOf: RangeError });
});

test('floorLog2 is exact next to every power of two', (t) => {
  for (let k = -1070; k < 1023; k++) {
    const p = pow2(k);
    if (floorLog2(p) !== k) t.fail(`2^${k}`);
    if (k > -1022 && floorLog2(p * (1 - 2 ** -53)) !== k - 1) t.fail(`below 2^${k}`);
    if (floorLog2(p * (1 + 2 ** -52)) !== k) t.fail(`above 2^${k}`);
  }
  t.pass();
});

testProp('roundHalfEvenNonNeg: nearest integer, ties to even', [fc.integer({ min: 0, max: 1e6 }), fc.constantFrom(0, 0.25, 0.5, 0.75)], (t, i, f) => {
  const r = roundHalfEvenNonNeg(i + f);
  t.is(r, f < 0.5 ? i : f > 0.5 ? i + 1 : i % 2 === 0 ? i : i + 1);
});
