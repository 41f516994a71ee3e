import test from 'ava';
import { EPSILON_F32, sigmoidF32, softmaxF32 } from './float32.js';

test('softmax subtracts the max: huge logits stay finite', (t) => {
  const p = softmaxF32([1e30, 1e30, 0], 0, 3, new Float32Array(3));
  t.deepEqual(Array.from(p), [0.5, 0.5, 0]);
});

test('softmax of -inf is 0; an all-masked row is all zeros, never NaN', (t) => {
  t.deepEqual(Array.from(softmaxF32([0, -Infinity], 0, 2, new Float32Array(2))), [1, 0]);
  t.deepEqual(Array.from(softmaxF32([-Infinity, -Infinity], 0, 2, new Float32Array(2))), [0, 0]);
  t.deepEqual(Array.from(softmaxF32([NaN, Infinity, 2], 0, 3, new Float32Array(3))), [0, 0, 1]);
});

test('softmax values are float32 and follow the documented step order', (t) => {
  const x = Float32Array.from([0.3, -1.7, 2.2]);
  const p = softmaxF32(x, 0, 3, new Float32Array(3));
  const m = x[2]!;
  const e = Array.from(x, (v) => Math.fround(Math.exp(Math.fround(v - m))));
  const s = Math.fround(Math.fround(e[0]! + e[1]!) + e[2]!);
  t.deepEqual(Array.from(p), e.map((v) => Math.fround(v / s)));
});

test('sigmoid: float32, underflows to exactly 0 far left, 1 far right, 0 for -inf/NaN', (t) => {
  t.is(sigmoidF32(0), 0.5);
  t.is(sigmoidF32(-200), 0);
  t.is(sigmoidF32(200), 1);
  t.is(sigmoidF32(-Infinity), 0);
  t.is(sigmoidF32(NaN), 0);
  t.true(sigmoidF32(-18.42) > 1e-8 * 0.9 && sigmoidF32(-18.42) < 1e-8 * 1.1);
  t.is(Math.fround(sigmoidF32(0.37)), sigmoidF32(0.37));
});

test('epsilon is the float32 of 1e-20 and nonzero', (t) => {
  t.true(EPSILON_F32 > 0);
  t.is(EPSILON_F32, Math.fround(1e-20));
});
