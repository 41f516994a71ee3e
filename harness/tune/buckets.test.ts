import test from 'ava';
import { bucketOf, tokenBuckets } from './buckets.js';

test('buckets are the powers of two up to the maximum', (t) => {
  t.deepEqual(tokenBuckets(4096), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
  t.deepEqual(tokenBuckets(1), [1]);
});

test('T maps to the smallest bucket holding it; beyond the maximum to the maximum', (t) => {
  const cases: Array<[number, number]> = [[1, 1], [2, 2], [3, 4], [4, 4], [5, 8], [100, 128], [128, 128], [129, 256], [4096, 4096], [5000, 4096]];
  for (const [T, b] of cases) t.is(bucketOf(T, 4096), b, `T=${T}`);
  for (let T = 1; T <= 600; T++) {
    const b = bucketOf(T, 512);
    t.true(T <= 512 ? b >= T && (b === 1 || b / 2 < T) : b === 512, `T=${T} → ${b}`);
  }
});

test('a maximum that is not a power of two, or T < 1, is refused naming the argument', (t) => {
  t.throws(() => tokenBuckets(100), { name: 'BadArgumentError', message: /max-tokens: expected a power of two.*got 100/ });
  t.throws(() => bucketOf(0, 64), { name: 'BadArgumentError', message: /^T: expected an integer >= 1, got 0/ });
});
