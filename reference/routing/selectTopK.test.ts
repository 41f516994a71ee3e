import test from 'ava';
import { selectTopK } from './selectTopK.js';

const top = (scores: number[], k: number): number[] => {
  const out = new Int32Array(k);
  selectTopK(scores, 0, scores.length, k, out, 0);
  return Array.from(out);
};

test('higher score first', (t) => {
  t.deepEqual(top([0.1, 0.9, 0.5, 0.7], 3), [1, 3, 2]);
});

test('exact ties: the lower index wins and comes first', (t) => {
  t.deepEqual(top([1, 2, 2, 1, 2], 2), [1, 2]);
  t.deepEqual(top([1, 2, 2, 1, 2], 4), [1, 2, 4, 0]);
  t.deepEqual(top([3, 3, 3, 3], 4), [0, 1, 2, 3]);
});

test('-inf fills the last slots lowest index first; NaN ranks as -inf', (t) => {
  t.deepEqual(top([-Infinity, 5, -Infinity, -Infinity], 3), [1, 0, 2]);
  t.deepEqual(top([NaN, -Infinity, 1, NaN], 2), [2, 0]);
  t.deepEqual(top([NaN, NaN, NaN], 2), [0, 1]);
});

test('respects offsets', (t) => {
  const out = new Int32Array(4).fill(-7);
  selectTopK([9, 9, 1, 2, 3], 2, 3, 2, out, 1);
  t.deepEqual(Array.from(out), [-7, 2, 1, -7]);
});
